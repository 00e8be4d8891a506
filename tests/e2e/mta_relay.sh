#!/bin/sh
# mta_relay.sh -- nightjar-mta (the sanitizer build) between swaks and a
# next hop of the test's own (lib/mta_sink.py, keeping every message), all
# on 127.0.0.1, with the shipped YARA rules and a plain list feed naming
# evil-nightjar.test. Seven runs of the server, each on a queue of its own:
#   reject (default)  EHLO's keywords; a clean mail with a random 200 KB
#                     binary attachment (swaks --attach): it arrives, the
#                     attachment decoded byte-identical; a clean MIME mail
#                     sent as is (swaks --data: the attachment, a line
#                     starting with a dot, a clean URL): it arrives as
#                     "X-Nightjar-Verdict: clean" CRLF and the message
#                     byte-identical; the EICAR test file attached, and a
#                     mail with a URL on the listed domain: 550 5.7.1, the
#                     sink gets nothing; swaks --pipeline, and RFC 2920
#                     pipelining byte by byte (two messages, commands after
#                     the end of data, 8BITMIME and an SMTPUTF8 address):
#                     delivered identical to their recipients; 105
#                     recipients: 250 for 100, 452 4.5.3 for the rest, the
#                     mail delivered to the 100; an unknown command 500,
#                     RCPT and DATA before MAIL 503.
#   quarantine        the EICAR and the listed-URL mails: 250, kept under
#                     QUEUE/quarantine/, never delivered (a clean mail sent
#                     after them is).
#   tag               both delivered with "X-Nightjar-Verdict: malicious"
#                     and an X-Nightjar-Reason at the top, then the message
#                     byte-identical.
#   strip             a mail with a listed URL in its text, a clean
#                     attachment and EICAR: 250, delivered tagged
#                     malicious with EICAR replaced by a note naming it, the
#                     URL defanged, every other byte as sent, the clean
#                     attachment byte-identical, the whole parsing as MIME
#                     without defect; the same from a listed sender (a
#                     header cannot be stripped): 550 5.7.1 (the fallback);
#                     a clean mail delivered.
#   bounces           the next hop refuses one recipient (550 5.1.1): the
#                     mail goes to the other, and the sender gets one
#                     delivery status notification (from <>, a
#                     multipart/report naming the refused recipient with
#                     Status 5.1.1 and holding the mail's header); a mail
#                     to that recipient alone is held and bounced; from the
#                     null sender, held and never bounced.
#   max-size 100kb    EHLO's SIZE 100 KB; a 150 KB mail: 552, not
#                     delivered; MAIL FROM with SIZE=200000: 552; 12
#                     sessions reset right after their mail's dot (the
#                     server committing it: freed when the commit is
#                     done); a small mail still goes.
#   retries           the next hop down (mta.retry-min=1, mta.retry-max=2):
#                     a mail is taken (250), a delivery record says
#                     deferred; the next hop comes up and gets it.
# Each run's EVE: one smtp record per received message with mta.verdict,
# mta.action and mta.queue_id (its "queued as" ID), a delivered
# mta_delivery record for what went out and none for what did not, an
# alert naming EICAR and one naming the listed domain where they were
# found, none for clean mail. The server must stop with exit 0 on SIGTERM
# each time. Every check runs and each mismatch is one FAIL line; plumbing
# that breaks (a server that does not start) stops the script at once.
. "$(dirname "$0")/lib/common.sh"
command -v swaks >/dev/null 2>&1 ||
    skip "swaks is not installed (scripts/install-deps.sh)"
. "$(dirname "$0")/lib/mta_common.sh"

CHECK="python3 $LIB/mta_check.py"
DIALOG="python3 $LIB/mta_dialog.py"

ports=$(free_ports 3) || fail "no free port on 127.0.0.1"
set -- $ports
PORT=$1 SINKPORT=$2 DOWNPORT=$3
RELAY=$SINKPORT
f=$WORK/files
mkdir -p "$f"
echo "# mta_relay.sh test feed" > "$WORK/feed.txt"
echo "evil-nightjar.test" >> "$WORK/feed.txt"
printf '%s' 'X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*' > "$f/eicar.com"

# the messages sent as they are (swaks --data files end in CRLF . CRLF)
python3 - "$f" <<'PY' || fail "could not write the test's messages"
import base64, os, random, sys
d = sys.argv[1]
r = random.Random(17)
att = r.randbytes(200 * 1024)
open(d + "/payload.bin", "wb").write(att)
eicar = open(d + "/eicar.com", "rb").read()

def b64(data):
    s = base64.b64encode(data)
    return b"\r\n".join(s[i:i + 76] for i in range(0, len(s), 76)) + b"\r\n"

def mime(subject, text, name, data):
    return (b"Date: Mon, 1 Dec 2025 10:00:00 +0000\r\n"
            b"From: Sender <sender@sender.nightjar.test>\r\n"
            b"To: Receiver <rcpt@rcpt.nightjar.test>\r\n"
            b"Subject: " + subject + b"\r\n"
            b"Message-ID: <" + subject.replace(b" ", b".") + b"@sender.nightjar.test>\r\n"
            b"MIME-Version: 1.0\r\n"
            b"Content-Type: multipart/mixed; boundary=\"nj-boundary-5c1e\"\r\n"
            b"\r\n"
            b"This is a multi-part message in MIME format.\r\n"
            b"--nj-boundary-5c1e\r\n"
            b"Content-Type: text/plain; charset=us-ascii\r\n"
            b"\r\n" + text +
            b"--nj-boundary-5c1e\r\n"
            b"Content-Type: application/octet-stream; name=\"" + name + b"\"\r\n"
            b"Content-Disposition: attachment; filename=\"" + name + b"\"\r\n"
            b"Content-Transfer-Encoding: base64\r\n"
            b"\r\n" + b64(data) +
            b"--nj-boundary-5c1e--\r\n")

def plain(subject, text):
    return (b"Date: Mon, 1 Dec 2025 10:00:00 +0000\r\n"
            b"From: sender@sender.nightjar.test\r\n"
            b"To: rcpt@rcpt.nightjar.test\r\n"
            b"Subject: " + subject + b"\r\n"
            b"\r\n" + text)

def swaks_file(name, msg):
    open(d + "/" + name, "wb").write(msg + b".\r\n")

text = (b"The report is attached; the documentation is at http://www.example.org/docs/.\r\n"
        b".a line that starts with a dot\r\n"
        b"..and one with two\r\n"
        b"\r\n" + b"x" * 990 + b"\r\n")
swaks_file("clean-data.eml", mime(b"mta-relay clean-data 41a7", text, b"report.bin", att))
url = b"Your invoice: http://evil-nightjar.test/invoice/7781.php?id=3\r\nRegards\r\n"
swaks_file("intel.eml", plain(b"mta-relay intel-url 52c0", url))
swaks_file("intel-q.eml", plain(b"mta-relay intel-quarantine 93d1", url))
swaks_file("intel-t.eml", plain(b"mta-relay intel-tag 0b6e", url))
swaks_file("eicar-t.eml", mime(b"mta-relay eicar-tag 7e12", b"see attached\r\n", b"eicar.com", eicar))
# strip: a text part with a listed URL, a clean attachment and EICAR
strip = mime(b"mta-relay strip 2e6a", url, b"eicar.com", eicar)
cut = strip.rfind(b"--nj-boundary-5c1e\r\nContent-Type: application")
strip = (strip[:cut] + b"--nj-boundary-5c1e\r\n"
         b"Content-Type: application/octet-stream; name=\"payload.bin\"\r\n"
         b"Content-Disposition: attachment; filename=\"payload.bin\"\r\n"
         b"Content-Transfer-Encoding: base64\r\n\r\n" + b64(att) + strip[cut:])
swaks_file("strip.eml", strip)
# ...and the same from a listed domain: a header cannot be stripped
swaks_file("strip-from.eml", strip.replace(b"Sender <sender@sender.nightjar.test>",
                                           b"Sender <billing@evil-nightjar.test>")
                                  .replace(b"mta-relay strip 2e6a", b"mta-relay strip-from 8b17"))
# big: 150 KB of text, over a 100 KB limit
big = b"".join(b"line %05d of a long and entirely harmless message, padding it out\r\n" % i
               for i in range(2300))
swaks_file("big.eml", plain(b"mta-relay too-big 6f3b", big))
# the byte-by-byte ones: exact bytes, no dot line
open(d + "/pipe1.eml", "wb").write(plain(b"mta-relay raw-pipe-1 c44d",
    b"first pipelined message\r\n.dot-started line\r\n"))
open(d + "/pipe2.eml", "wb").write(plain(b"mta-relay raw-pipe-2 d9e0",
    "second pipelined message, 8-bit: Grüße aus Köln, ĉu vi?\r\n".encode()))
open(d + "/rcpts.eml", "wb").write(plain(b"mta-relay many-rcpts 1f88",
    b"to a hundred recipients, and five too many\r\n"))
PY

# one run of the server: start it on a queue of its own
run=0
begin() {
    run=$((run + 1)) run_nfail=$nfail
    Q=$WORK/queue$run EVE=$WORK/eve$run.json ERR=$WORK/mta$run.err EXPECT=$WORK/expect$run
    : > "$EXPECT"
    start_mta "$ERR" "$PORT" "$RELAY" "$Q" --intel "list:$WORK/feed.txt" \
        --yara "$root/rules" -o "$EVE" "$@"
}
expect() { echo "$*" >> "$EXPECT"; }

# finish -- waits (15 s at most; 3 s when this run failed already) until
# EVE has a delivery record saying delivered for each message expected to
# go out, then stops the server (exit 0) and checks this run's EVE
finish() {
    _want=$(grep -cE '^msg .* (deliver|tag|strip) ' "$EXPECT" || true)
    _end=$(($(date +%s) + 15))
    [ "$nfail" -eq "$run_nfail" ] || _end=$(($(date +%s) + 3))
    while [ "$(date +%s)" -lt "$_end" ]; do
        _n=$(grep -c '"delivered"' "$EVE" 2>/dev/null)
        [ "${_n:-0}" -lt "$_want" ] || break
        sleep 0.2
    done
    stop_mta "$ERR"
    check "EVE, run $run" $CHECK eve "$EVE" "$EXPECT"
}

# in_queue DIR MARKER -- a file under DIR holding MARKER
in_queue() {
    grep -rlF -- "$2" "$1" 2>/dev/null | head -1
}

start_sink "$WORK/sink" "$SINKPORT" --refuse-rcpt nobody@rcpt.nightjar.test
S=$WORK/sink

echo "== run 1: mta.action reject (the default)"
begin
check "EHLO" $DIALOG ehlo "$PORT"
send clean-attach 250 --header "Subject: mta-relay clean-attach 9b21" \
    --attach-name payload.bin --attach "@$f/payload.bin"
expect msg clean-attach clean deliver "$QID"
send clean-data 250 --data "@$f/clean-data.eml"
expect msg clean-data clean deliver "$QID"
send eicar-reject "550 5.7.1" --header "Subject: mta-relay eicar-reject 3a9f" \
    --attach-name eicar.com --attach "@$f/eicar.com"
expect msg eicar-reject malicious reject -
expect alert eicar-reject EICAR
send intel-reject "550 5.7.1" --data "@$f/intel.eml"
expect msg intel-reject malicious reject -
expect alert intel-reject evil-nightjar.test
send swaks-pipeline 250 --pipeline --to pa@rcpt.nightjar.test,pb@rcpt.nightjar.test \
    --header "Subject: mta-relay swaks-pipeline e620"
expect msg swaks-pipeline clean deliver "$QID"
# swaks pipelined only if DATA went out before MAIL's reply came back
awk '/^ -> MAIL FROM/ { m = 1; next } m && /^<-/ { exit 1 } m && /^ -> DATA/ { exit 0 }' \
    "$WORK/swaks-pipeline.swaks" ||
    bad "swaks --pipeline did not pipeline (PIPELINING not advertised?): $(transcript swaks-pipeline)"
out=$($DIALOG pipeline "$PORT" "$f/pipe1.eml" "$f/pipe2.eml" 2>&1) ||
    nfail=$((nfail + $(printf '%s\n' "$out" | grep -c '^FAIL: ')))
printf '%s\n' "$out" | grep '^FAIL: ' || true
for i in 1 2; do
    qid=$(printf '%s\n' "$out" | sed -n "s/^queued $i //p")
    expect msg "raw-pipe-$i" clean deliver "${qid:--}"
done
out=$($DIALOG rcpts "$PORT" "$f/rcpts.eml" 100 5 2>&1) ||
    nfail=$((nfail + $(printf '%s\n' "$out" | grep -c '^FAIL: ')))
printf '%s\n' "$out" | grep -v '^queued ' || true
qid=$(printf '%s\n' "$out" | sed -n 's/^queued //p')
expect msg many-rcpts clean deliver "${qid:--}"
check "unknown command, commands out of order" $DIALOG protocol "$PORT"
send canary-1 250 --header "Subject: mta-relay canary-1 aa01"
expect msg canary-1 clean deliver "$QID"

check "delivery" $CHECK wait "$S" 30 "mta-relay clean-attach 9b21" "mta-relay clean-data 41a7" \
    "mta-relay swaks-pipeline e620" "mta-relay raw-pipe-1 c44d" "mta-relay raw-pipe-2 d9e0" \
    "mta-relay many-rcpts 1f88" "mta-relay canary-1 aa01"
sleep 1          # what was refused has had time to go wrongly
check "refused mail delivered" $CHECK absent "$S" "mta-relay eicar-reject 3a9f" \
    "mta-relay intel-url 52c0" "EICAR-STANDARD-ANTIVIRUS-TEST-FILE"
check "clean attachment" $CHECK attachment "$S" "mta-relay clean-attach 9b21" "$f/payload.bin"
check "clean message" $CHECK clean "$S" "mta-relay clean-data 41a7" "$f/clean-data.eml"
check "clean attachment (MIME part)" $CHECK attachment "$S" "mta-relay clean-data 41a7" \
    "$f/payload.bin" report.bin
check "pipelined 1" $CHECK clean "$S" "mta-relay raw-pipe-1 c44d" "$f/pipe1.eml"
check "pipelined 2" $CHECK clean "$S" "mta-relay raw-pipe-2 d9e0" "$f/pipe2.eml"
check "pipelined 1 envelope" $CHECK envelope "$S" "mta-relay raw-pipe-1 c44d" \
    pipe-a@rcpt.nightjar.test pipe-b@rcpt.nightjar.test
check "pipelined 2 envelope" $CHECK envelope "$S" "mta-relay raw-pipe-2 d9e0" \
    "jörg@rcpt.nightjar.test" pipe-c@rcpt.nightjar.test
check "swaks pipeline envelope" $CHECK envelope "$S" "mta-relay swaks-pipeline e620" \
    pa@rcpt.nightjar.test pb@rcpt.nightjar.test
check "100 recipients" $CHECK rcpts "$S" "mta-relay many-rcpts 1f88" 1 100
q=$(in_queue "$Q/active" "mta-relay eicar-reject 3a9f"; in_queue "$Q/active" "mta-relay intel-url 52c0")
[ -z "$q" ] || bad "a rejected message waits in the queue for delivery: $q"
finish

echo "== run 2: mta.action quarantine"
begin -s mta.action=quarantine
send eicar-quarantine 250 --header "Subject: mta-relay eicar-quarantine 5d2b" \
    --attach-name eicar.com --attach "@$f/eicar.com"
expect msg eicar-quarantine malicious quarantine "$QID"
expect alert eicar-quarantine EICAR
send intel-quarantine 250 --data "@$f/intel-q.eml"
expect msg intel-quarantine malicious quarantine "$QID"
expect alert intel-quarantine evil-nightjar.test
send canary-2 250 --header "Subject: mta-relay canary-2 aa02"
expect msg canary-2 clean deliver "$QID"
check "delivery" $CHECK wait "$S" 30 "mta-relay canary-2 aa02"
sleep 1
check "quarantined mail delivered" $CHECK absent "$S" "mta-relay eicar-quarantine 5d2b" \
    "mta-relay intel-quarantine 93d1"
if [ -d "$Q/quarantine" ]; then
    check "quarantine" $CHECK quarantined "$Q/quarantine" "mta-relay eicar-quarantine 5d2b" \
        "mta-relay intel-quarantine 93d1"
else
    bad "no $Q/quarantine directory: $(ls "$Q" 2>&1 | tr '\n' ' ')"
fi
finish

echo "== run 3: mta.action tag"
begin -s mta.action=tag
send eicar-tag 250 --data "@$f/eicar-t.eml"
expect msg eicar-tag malicious tag "$QID"
expect alert eicar-tag EICAR
send intel-tag 250 --data "@$f/intel-t.eml"
expect msg intel-tag malicious tag "$QID"
expect alert intel-tag evil-nightjar.test
check "delivery" $CHECK wait "$S" 30 "mta-relay eicar-tag 7e12" "mta-relay intel-tag 0b6e"
check "tagged EICAR" $CHECK tagged "$S" "mta-relay eicar-tag 7e12" "$f/eicar-t.eml"
check "tagged URL" $CHECK tagged "$S" "mta-relay intel-tag 0b6e" "$f/intel-t.eml"
finish

echo "== run 3b: mta.action strip"
begin -s mta.action=strip
send strip 250 --data "@$f/strip.eml"
expect msg strip malicious strip "$QID"
expect alert strip EICAR
send strip-from "550 5.7.1" --data "@$f/strip-from.eml"
expect msg strip-from malicious reject -
send canary-3b 250 --header "Subject: mta-relay canary-3b aa3b"
expect msg canary-3b clean deliver "$QID"
check "delivery" $CHECK wait "$S" 30 "mta-relay strip 2e6a" "mta-relay canary-3b aa3b"
check "stripped" $CHECK stripped "$S" "mta-relay strip 2e6a" "$f/strip.eml" eicar.com \
    "$f/eicar.com" "$f/payload.bin" evil-nightjar.test
sleep 1
check "a mail from a listed sender delivered" $CHECK absent "$S" "mta-relay strip-from 8b17"
finish

echo "== run 3c: bounces (the next hop refuses nobody@rcpt.nightjar.test)"
begin
send bounce 250 --to rcpt@rcpt.nightjar.test,nobody@rcpt.nightjar.test \
    --header "Subject: mta-relay bounce 61d0"
expect msg bounce clean deliver "$QID"
send bounce-all 250 --to nobody@rcpt.nightjar.test --header "Subject: mta-relay bounce-all 71e4"
# (it and bounce-null below: taken, then refused by the next hop)
expect maybe bounce-all clean deliver 2
# from the null sender: held, never a bounce
swaks_to bounce-null "$PORT" --from "<>" --to nobody@rcpt.nightjar.test \
    --header "Subject: mta-relay bounce-null 81f5"
case $(data_reply bounce-null) in 250*) ;; *) bad "bounce-null: $(data_reply bounce-null)" ;; esac
check "delivery" $CHECK wait "$S" 30 "mta-relay bounce 61d0"
end=$(($(date +%s) + 20))
until [ "$(grep -lF -- "mta-relay bounce" "$S"/*.eml 2>/dev/null | wc -l)" -ge 3 ] ||
      [ "$(date +%s)" -ge "$end" ]; do sleep 0.2; done
sleep 1
check "the bounce for one refused recipient" $CHECK bounce "$S" "mta-relay bounce 61d0" \
    sender@sender.nightjar.test nobody@rcpt.nightjar.test 5.1.1
check "the bounce for the only recipient" $CHECK bounce "$S" "mta-relay bounce-all 71e4" \
    sender@sender.nightjar.test nobody@rcpt.nightjar.test 5.1.1
check "the mail, and its bounce" $CHECK count "$S" "mta-relay bounce 61d0" 2
check "no bounce from the null sender" $CHECK count "$S" "mta-relay bounce-null 81f5" 0
[ -n "$(in_queue "$Q/hold" "mta-relay bounce-all 71e4")" ] ||
    bad "bounce-all: the refused mail is not in QUEUE/hold"
finish
check "stats, bounces" $CHECK stats "$EVE" "mta.delivery.bounces==2" "mta.delivery.failed==2"

echo "== run 4: mta.max-size 100kb"
begin -s mta.max-size=100kb
check "EHLO, 100 KB" $DIALOG ehlo "$PORT" 100000 102400
# refused at MAIL (if swaks declared SIZE) or at the end of the message
swaks_to too-big "$PORT" --from sender@sender.nightjar.test --to rcpt@rcpt.nightjar.test \
    --data "@$f/big.eml"
r=$(grep -E '^<(-|\*\*) +5[0-9][0-9] ' "$WORK/too-big.swaks" | head -1 | sed -E 's/^<(-|\*\*) +//')
case $r in
    552*) ;;
    *) bad "150 KB over a 100 KB SIZE: answered \"${r:-$(data_reply too-big)}\", expected 552 (swaks exit $swaks_rc: $(transcript too-big))$(mta_note "$ERR")" ;;
esac
expect maybe too-big "*" "*"
check "SIZE declared" $DIALOG size "$PORT" 200000
# sessions reset right after their mail's dot: the server, committing it,
# must free them (the sanitizer build checks for leaks at stop) and go on
check "sessions reset while committing" $DIALOG hangup "$PORT" 12
expect maybe hangup clean deliver 12
send canary-4 250 --header "Subject: mta-relay canary-4 aa04"
expect msg canary-4 clean deliver "$QID"
expect noalerts
check "delivery" $CHECK wait "$S" 30 "mta-relay canary-4 aa04"
sleep 1
check "too big delivered" $CHECK absent "$S" "mta-relay too-big 6f3b"
finish
echo "reset sessions freed after their commit: $(grep -o '"closed_while_committing":[0-9]*' "$EVE" | tail -1 | cut -d: -f2) of 12"

echo "== run 5: the next hop down, then up (mta.retry-min=1, mta.retry-max=2)"
stop_sink
RELAY=$DOWNPORT
begin -s mta.retry-min=1 -s mta.retry-max=2
send retry 250 --header "Subject: mta-relay retry 77c3"
expect msg retry clean deliver "$QID"
end=$(($(date +%s) + 20))
until grep '"deferred"' "$EVE" 2>/dev/null | grep -qF -- "$QID"; do
    [ "$(date +%s)" -lt "$end" ] || {
        bad "retry: no delivery record saying deferred for $QID within 20 s of the next hop being down"
        break
    }
    sleep 0.2
done
start_sink "$WORK/sink5" "$DOWNPORT"
check "delivery after a retry" $CHECK wait "$WORK/sink5" 30 "mta-relay retry 77c3"
finish
stop_sink
echo "next hop: $(ls "$S" "$WORK/sink5" | grep -c '\.eml$') messages"
[ "$nfail" -eq 0 ] || fail "$nfail checks above failed"
echo "mta_relay: ok"
