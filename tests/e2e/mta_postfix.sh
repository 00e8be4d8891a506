#!/bin/sh
# mta_postfix.sh -- nightjar-mta (the sanitizer build) with Debian's
# Postfix on both sides, as docs/mta.md deploys it: a private Postfix
# instance (tests/e2e/lib/postfix.sh: its own config, queue and Maildirs
# under the test's directory, nothing of a system Postfix) with two smtpd
# ports on 127.0.0.1 -- IN, the Internet-facing one, whose mail goes
# through nightjar-mta as an after-queue content_filter
# (smtp:[127.0.0.1]:NJPORT), and BACK, where nightjar-mta delivers and
# Postfix's virtual agent writes the Maildir. The mails are made with
# Python's email package (a text part with a line starting with a dot, a
# random 200 KB binary attachment, base64) and sent with swaks --data, so
# the bytes sent are known. Three runs of the server, each on a queue of
# its own:
#   reject (default)  swaks -> nightjar-mta -> Postfix -> Maildir: the
#                     clean mail arrives, and after the headers Postfix's
#                     delivery adds (Return-Path, X-Original-To,
#                     Delivered-To, its Received) it is exactly
#                     "X-Nightjar-Verdict: clean" CRLF and the bytes sent;
#                     its attachment, decoded with the email package, is
#                     the file attached. The EICAR mail: 550 5.7.1, never
#                     in the Maildir. One connection to Postfix
#                     (mta.relay-connections=1), kept for the next mail;
#                     BACK drops it after 1 s idle (smtpd_timeout): a mail
#                     sent 1.5 s later goes out on a new one at once --
#                     every delivery record of the run is "delivered" at
#                     attempt 1.
#                     swaks -> Postfix IN -> nightjar-mta -> Postfix BACK:
#                     the clean mail arrives (verdict clean, attachment
#                     identical); Postfix's log says nightjar-mta's 250
#                     ("queued as") took it, and its queue is empty after.
#                     The EICAR mail: Postfix takes it (250), nightjar-mta
#                     refuses it (550 5.7.1), Postfix bounces it: the
#                     sender's Maildir gets the bounce naming 5.7.1, the
#                     recipient's never the mail, the queue empties.
#   quarantine        the EICAR mail: 250, kept in QUEUE/quarantine/,
#                     never in the Maildir (a clean mail sent after it is).
#   tag               the EICAR mail arrives with "X-Nightjar-Verdict:
#                     malicious" and an X-Nightjar-Reason at the top, then
#                     the bytes sent.
#   strip             the EICAR mail arrives with the attachment replaced
#                     by a note naming it, every other byte as sent,
#                     parsing as MIME without defect.
# The server must stop with exit 0 on SIGTERM each time. Every check runs
# and each mismatch is one FAIL line. Needs root (Postfix's daemons run as
# postfix, its Maildirs are written as nobody) and the postfix package.
# mta_crash.sh has the kill -9 property; its next hop is the test's sink,
# slowed down so the queue holds mail, which Postfix would not add to.
. "$(dirname "$0")/lib/common.sh"
command -v swaks >/dev/null 2>&1 ||
    skip "swaks is not installed (scripts/install-deps.sh)"
command -v postfix >/dev/null 2>&1 ||
    skip "postfix is not installed (scripts/install-deps.sh)"
[ "$(id -u)" -eq 0 ] || skip "needs root (a private Postfix instance)"
. "$(dirname "$0")/lib/mta_common.sh"
. "$(dirname "$0")/lib/postfix.sh"
trap 'postfix_stop; mta_cleanup' EXIT
chmod 711 "$WORK" # Postfix's daemons (postfix, nobody) reach their directory

CHECK="python3 $LIB/mta_check.py"
ports=$(free_ports 3) || fail "no free port on 127.0.0.1"
set -- $ports
PORT=$1 PF_IN=$2 PF_BACK=$3
f=$WORK/files
mkdir -p "$f"
python3 - "$f" <<'PY' || fail "could not write the test's messages"
import random, sys
from email.message import EmailMessage
from email.policy import SMTP
d = sys.argv[1]
att = random.Random(23).randbytes(200 * 1024)
open(d + "/payload.bin", "wb").write(att)
eicar = b"X5O!P%@AP[4\\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*"
open(d + "/eicar.com", "wb").write(eicar)
for name, subject, data, fname in (
        ("clean", "mta-postfix clean 5d20", att, "payload.bin"),
        ("up-clean", "mta-postfix upstream-clean 6a31", att, "payload.bin"),
        ("eicar", "mta-postfix eicar 7b42", eicar, "eicar.com"),
        ("up-eicar", "mta-postfix upstream-eicar 8c53", eicar, "eicar.com"),
        ("eicar-q", "mta-postfix eicar-quarantine 9d64", eicar, "eicar.com"),
        ("canary", "mta-postfix canary ae75", b"nothing to see\n", "note.txt"),
        ("canary-q", "mta-postfix canary-quarantine c097", b"nothing\n", "note.txt"),
        ("eicar-t", "mta-postfix eicar-tag bf86", eicar, "eicar.com"),
        ("eicar-s", "mta-postfix eicar-strip 3f19", eicar, "eicar.com")):
    m = EmailMessage(policy=SMTP)
    m["Date"] = "Mon, 1 Dec 2025 10:00:00 +0000"
    m["From"] = "Sender <sender@sender.nightjar.test>"
    m["To"] = "Receiver <rcpt@rcpt.nightjar.test>"
    m["Subject"] = subject
    m["Message-ID"] = "<%s@sender.nightjar.test>" % subject.replace(" ", ".")
    m.set_content("The file is attached.\n.a line that starts with a dot\n")
    m.add_attachment(data, maintype="application", subtype="octet-stream", filename=fname)
    open("%s/%s.eml" % (d, name), "wb").write(bytes(m) + b".\r\n")
PY

postfix_setup "$WORK/postfix"
postfix_listen "$PF_IN" -o "content_filter=smtp:[127.0.0.1]:$PORT"
# BACK drops a connection idle for 1 s (421 4.4.2): the one nightjar-mta
# keeps for its next mail is gone when that mail comes
postfix_listen "$PF_BACK" -o smtpd_timeout=1s
postfix_start
MAIL=$WORK/postfix/mail/rcpt
BOUNCES=$WORK/postfix/mail/sender

run=0
begin() {
    run=$((run + 1))
    Q=$WORK/queue$run ERR=$WORK/mta$run.err
    start_mta "$ERR" "$PORT" "$PF_BACK" "$Q" -o "$WORK/eve$run.json" "$@"
}
# drained SECONDS -- Postfix's queue empties within SECONDS
drained() {
    _end=$(($(date +%s) + $1))
    while [ "$(postfix_queued)" -gt 0 ]; do
        [ "$(date +%s)" -lt "$_end" ] || {
            bad "Postfix still holds $(postfix_queued) messages after $1 s: $(postfix_log_tail)"
            return 0; }
        sleep 0.2
    done
}

echo "== run 1: mta.action reject (the default), one connection to Postfix"
begin -s mta.relay-connections=1
send eicar "550 5.7.1" --data "@$f/eicar.eml"
send clean 250 --data "@$f/clean.eml"
check "delivery to Postfix" $CHECK wait "$MAIL" 30 "mta-postfix clean 5d20"
check "the clean mail in the Maildir" $CHECK clean "$MAIL" "mta-postfix clean 5d20" "$f/clean.eml"
check "its attachment" $CHECK attachment "$MAIL" "mta-postfix clean 5d20" "$f/payload.bin"
sleep 1.5 # Postfix closes the connection nightjar-mta keeps
send canary 250 --data "@$f/canary.eml"
check "a mail after the kept connection was closed" $CHECK wait "$MAIL" 30 "mta-postfix canary ae75"
grep -q "timeout after END-OF-MESSAGE from" "$WORK/postfix/maillog" ||
    bad "Postfix did not time out the connection nightjar-mta kept: $(postfix_log_tail)"

echo "-- Postfix upstream (content_filter smtp:[127.0.0.1]:$PORT)"
send_to "$PF_IN" up-eicar 250 --data "@$f/up-eicar.eml"
send_to "$PF_IN" up-clean 250 --data "@$f/up-clean.eml"
check "through Postfix, nightjar-mta, Postfix" $CHECK wait "$MAIL" 30 "mta-postfix upstream-clean 6a31"
check "its attachment" $CHECK attachment "$MAIL" "mta-postfix upstream-clean 6a31" "$f/payload.bin"
check "Postfix's bounce of the refused mail" $CHECK wait "$BOUNCES" 30 "mta-postfix upstream-eicar 8c53"
drained 15
log=$WORK/postfix/maillog
up=$(grep -l "upstream-clean 6a31" "$MAIL"/new/* 2>/dev/null | head -1)
[ -z "$up" ] || grep -q '^X-Nightjar-Verdict: clean$' "$up" ||
    bad "upstream-clean: no \"X-Nightjar-Verdict: clean\" in what arrived"
grep -qE "relay=127\.0\.0\.1\[127\.0\.0\.1\]:$PORT, .*status=sent \(250 2\.0\.0 Ok: queued as " "$log" ||
    bad "Postfix's log has no delivery to nightjar-mta answered \"250 ... queued as\": $(grep "relay=127.0.0.1\[127.0.0.1\]:$PORT" "$log" | tail -2)"
grep -qE "relay=127\.0\.0\.1\[127\.0\.0\.1\]:$PORT, .*status=bounced \(.*550 5\.7\.1" "$log" ||
    bad "Postfix's log has no bounce of nightjar-mta's 550 5.7.1: $(grep "relay=127.0.0.1\[127.0.0.1\]:$PORT" "$log" | tail -2)"
b=$(grep -l "upstream-eicar 8c53" "$BOUNCES"/new/* 2>/dev/null | head -1)
[ -z "$b" ] || grep -q "5\.7\.1" "$b" || bad "Postfix's bounce does not name 5.7.1"
check "refused mail" $CHECK absent "$MAIL" "mta-postfix eicar 7b42" "mta-postfix upstream-eicar 8c53"
stop_mta "$ERR"
n=$(grep '"event_type":"mta_delivery"' "$WORK/eve$run.json" | grep -vc '"status":"delivered".*"attempt":1,' || true)
[ "$n" -eq 0 ] || bad "$n delivery records not \"delivered\" at the first attempt: a closed kept connection must be opened again at once"

echo "== run 2: mta.action quarantine"
begin -s mta.action=quarantine
send eicar-q 250 --data "@$f/eicar-q.eml"
send canary-q 250 --data "@$f/canary-q.eml"
check "delivery after the quarantined mail" $CHECK wait "$MAIL" 30 "mta-postfix canary-quarantine c097"
check "quarantined" $CHECK quarantined "$Q/quarantine" "mta-postfix eicar-quarantine 9d64"
check "quarantined mail" $CHECK absent "$MAIL" "mta-postfix eicar-quarantine 9d64"
stop_mta "$ERR"

echo "== run 3: mta.action tag"
begin -s mta.action=tag
send eicar-t 250 --data "@$f/eicar-t.eml"
check "the tagged mail" $CHECK wait "$MAIL" 30 "mta-postfix eicar-tag bf86"
check "the tagged mail in the Maildir" $CHECK tagged "$MAIL" "mta-postfix eicar-tag bf86" "$f/eicar-t.eml"
stop_mta "$ERR"

echo "== run 4: mta.action strip"
begin -s mta.action=strip
send eicar-s 250 --data "@$f/eicar-s.eml"
check "the stripped mail" $CHECK wait "$MAIL" 30 "mta-postfix eicar-strip 3f19"
check "the stripped mail in the Maildir" $CHECK stripped "$MAIL" "mta-postfix eicar-strip 3f19" \
    "$f/eicar-s.eml" eicar.com "$f/eicar.com" - -
stop_mta "$ERR"

drained 10
echo "Maildir: $(postfix_mails rcpt | wc -l) messages for rcpt, $(postfix_mails sender | wc -l) bounces for the sender"
[ "$nfail" -eq 0 ] || fail "$nfail checks above failed"
echo "mta_postfix: ok"
