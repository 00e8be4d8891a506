#!/bin/sh
# mta_tls.sh -- STARTTLS in nightjar-mta (the sanitizer build), both ways,
# all on 127.0.0.1, with throwaway certificates made here (openssl req):
# one for nightjar-mta, one for the test's next hop (lib/mta_sink.py --tls,
# Python's ssl module) naming localhost and 127.0.0.1, one naming only
# other.nightjar.test. Five runs of the server, each on a queue of its own:
#   offered           --tls-cert/--tls-key; the next hop offers STARTTLS,
#                     mta.relay-tls may (the default) with
#                     mta.relay-tls-verify against the next hop's
#                     certificate. A raw STARTTLS dialogue (EHLO offers it;
#                     501 with an argument, 503 inside a transaction; TLS
#                     1.3; the session starts over; no STARTTLS in EHLO
#                     inside TLS, a second one 503; a mail), swaks --tls,
#                     swaks in the clear, swaks --tls with 1.5 MB of random
#                     bytes attached: each arrives (the attachment
#                     byte-identical), over TLS 1.3 at the next hop, the
#                     smtp record saying tls.version "TLS 1.3" (none for
#                     the clear one), the delivery record TLS 1.3 and
#                     verified; openssl s_client -starttls smtp says
#                     TLSv1.3; the CVE-2011-0411 injection (commands
#                     pipelined after STARTTLS in one write, and in a
#                     second) is never answered inside TLS; TLS 1.2 works,
#                     TLS 1.1 is refused; bytes that are no ClientHello
#                     close the session; 20 sessions go through STARTTLS
#                     while two handshakes stall, and those two are closed
#                     after mta.timeout (4 s). The stats record counts the
#                     handshakes, the failures, the timeouts, the dropped
#                     cleartext.
#   required          mta.tls-require: 530 5.7.0 before STARTTLS (a raw
#                     dialogue, and swaks in the clear: its MAIL refused),
#                     swaks --tls delivered. SIGHUP serves a renewed
#                     certificate; after one with a file that is no
#                     certificate, stderr says so and the renewed one stays.
#   encrypt           mta.relay-tls encrypt towards a next hop without
#                     STARTTLS: the mail is taken (250), deferred with the
#                     reason, still in QUEUE/active, never delivered.
#   broken            mta.relay-tls may towards next hops that offer
#                     STARTTLS and break it, one after the other on the same
#                     port (garbage after 220; 454 to STARTTLS; a second
#                     reply sent with the 220, an injection): each attempt
#                     deferred with its reason, nothing delivered in the
#                     clear (each of them takes mail in the clear); then a
#                     next hop whose TLS works gets it, over TLS.
#   verify            mta.relay-tls-verify with a CA naming only
#                     other.nightjar.test: its certificate on 127.0.0.1 is
#                     deferred (address mismatch); the next hop's own,
#                     untrusted, is deferred (certificate verify failed:
#                     self-signed);
#                     the mail stays queued.
# The server must stop with exit 0 (no sanitizer report, no leak) on
# SIGTERM each time. Every check runs and each mismatch is one FAIL line.
. "$(dirname "$0")/lib/common.sh"
command -v swaks >/dev/null 2>&1 ||
    skip "swaks is not installed (scripts/install-deps.sh)"
perl -MNet::SSLeay -e1 >/dev/null 2>&1 ||
    skip "swaks cannot speak TLS: Net::SSLeay is missing (libnet-ssleay-perl, scripts/install-deps.sh)"
command -v openssl >/dev/null 2>&1 || skip "openssl is not installed"
. "$(dirname "$0")/lib/mta_common.sh"   # also nfail, bad and check
CHECK="python3 $LIB/mta_check.py"
TLSD="python3 $LIB/mta_tls.py"

ports=$(free_ports 2) || fail "no free port on 127.0.0.1"
set -- $ports
PORT=$1 SINKPORT=$2

# the certificates: throwaway, a day long
C=$WORK/certs
mkdir -p "$C"
mkcert() { # NAME SUBJECT SAN
    openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj "$2" -addext "subjectAltName=$3" \
        -keyout "$C/$1.key" -out "$C/$1.pem" >"$C/$1.log" 2>&1 ||
        fail "openssl req could not make a certificate: $(tail -2 "$C/$1.log")"
}
mkcert mta /CN=localhost "DNS:localhost,IP:127.0.0.1"
mkcert hop /CN=localhost "DNS:localhost,IP:127.0.0.1"
mkcert other /CN=other.nightjar.test "DNS:other.nightjar.test"

run=0
begin() {
    run=$((run + 1)) run_nfail=$nfail
    Q=$WORK/queue$run EVE=$WORK/eve$run.json ERR=$WORK/mta$run.err EXPECT=$WORK/expect$run
    : > "$EXPECT"
    start_mta "$ERR" "$PORT" "$SINKPORT" "$Q" --yara none -o "$EVE" "$@"
}
expect() { echo "$*" >> "$EXPECT"; }

# send NAME WANT SWAKS-ARGS... -- as mta_relay.sh: the reply to the end of
# the message must begin with WANT; QID its queue ID
send() {
    _n=$1 _want=$2
    shift 2
    swaks_to "$_n" "$PORT" --from sender@sender.nightjar.test --to rcpt@rcpt.nightjar.test \
        --header "Subject: mta-tls $_n" "$@"
    _r=$(data_reply "$_n")
    QID=$(queue_id "$_r")
    [ -n "$QID" ] || QID=-
    case "$_r" in
        "$_want"*) ;;
        *) bad "$_n: the end of the message was answered \"$_r\", expected $_want (swaks exit $swaks_rc: $(transcript "$_n"))$(mta_note "$ERR")" ;;
    esac
}

# tls_started NAME -- swaks' transcript NAME says TLS started
tls_started() {
    grep -q '^=== TLS started' "$WORK/$1.swaks" ||
        bad "$1: swaks --tls did not start TLS: $(transcript "$1")"
}

# wait_delivery QID STATUS TEXT -- an mta_delivery record of QID saying
# STATUS whose line holds TEXT, within 20 s
wait_delivery() {
    _end=$(($(date +%s) + 20))
    until grep '"mta_delivery"' "$EVE" 2>/dev/null | grep -F -- "\"$1\"" |
            grep -F "\"$2\"" | grep -qiF -- "$3"; do
        [ "$(date +%s)" -lt "$_end" ] || {
            bad "no delivery record of $1 saying $2 and \"$3\" within 20 s: $(grep -F -- "$1" "$EVE" | grep mta_delivery | tail -2)"
            return 0
        }
        sleep 0.2
    done
    echo "$1 $2: $(grep '"mta_delivery"' "$EVE" | grep -F -- "\"$1\"" | grep -F "\"$2\"" |
        grep -iF -- "$3" | tail -1 | sed 's/.*"reply": *"\([^"]*\)".*/\1/')"
}

# in_active QID -- the message waits in QUEUE/active
in_active() {
    ls "$Q/active" 2>/dev/null | grep -qF -- "$1" ||
        bad "$1 is not waiting in $Q/active: $(ls "$Q/active" 2>&1 | tr '\n' ' ')"
}

# finish -- stops the server (exit 0) and checks this run's EVE
finish() {
    stop_mta "$ERR"
    check "EVE, run $run" $CHECK eve "$EVE" "$EXPECT"
}

echo "== run 1: STARTTLS offered, the next hop offers it too (relay-tls may, verified)"
start_sink "$WORK/sink1" "$SINKPORT" --tls "$C/hop.pem" "$C/hop.key"
begin --tls-cert "$C/mta.pem" --tls-key "$C/mta.key" -s mta.timeout=4 \
    -s mta.relay-tls-verify=yes -s "mta.relay-tls-ca=$C/hop.pem"
grep -q "STARTTLS: offered" "$ERR" || bad "the start line does not say STARTTLS is offered: $(head -1 "$ERR")"
out=$($TLSD offer "$PORT" 2>&1) || nfail=$((nfail + $(printf '%s\n' "$out" | grep -c '^FAIL: ')))
printf '%s\n' "$out"
q1=$(printf '%s\n' "$out" | sed -n 's/^queued //p')
expect msg raw-offer clean deliver "${q1:--}"
send swaks-tls 250 --tls
tls_started swaks-tls
q2=$QID
expect msg swaks-tls clean deliver "$q2"
send swaks-clear 250
q3=$QID
expect msg swaks-clear clean deliver "$q3"
head -c 1500000 /dev/urandom > "$WORK/big.bin" || fail "no random bytes"
send swaks-big 250 --tls --attach-name big.bin --attach "@$WORK/big.bin"
tls_started swaks-big
expect msg swaks-big clean deliver "$QID"
s_client=$(printf 'QUIT\r\n' | openssl s_client -starttls smtp -connect "127.0.0.1:$PORT" \
    -brief 2>&1 </dev/null)
case $s_client in
    *"Protocol version: TLSv1.3"*) echo "openssl s_client -starttls smtp: TLSv1.3" ;;
    *) bad "openssl s_client -starttls smtp did not get TLS 1.3: $(printf '%s' "$s_client" | head -5 | tr '\n' '|')" ;;
esac
check "injection after STARTTLS" $TLSD inject "$PORT"
check "TLS versions" $TLSD versions "$PORT"
check "not TLS after STARTTLS" $TLSD garbage "$PORT"
check "stalled handshakes" $TLSD concurrent "$PORT" 20 4
check "delivery" $CHECK wait "$WORK/sink1" 30 "mta-tls offer 5e0a" "mta-tls swaks-tls" \
    "mta-tls swaks-clear" "mta-tls swaks-big"
check "1.5 MB over TLS both ways" $CHECK attachment "$WORK/sink1" "mta-tls swaks-big" \
    "$WORK/big.bin"
for m in "mta-tls offer 5e0a" "mta-tls swaks-tls" "mta-tls swaks-clear" "mta-tls swaks-big"; do
    check "the delivery leg of $m" $CHECK sink_tls "$WORK/sink1" "$m" TLSv1.3
done
check "EVE tls, raw" $CHECK tls "$EVE" "${q1:--}" "TLS 1.3"
check "EVE tls, swaks --tls" $CHECK tls "$EVE" "$q2" "TLS 1.3"
check "EVE tls, swaks in the clear" $CHECK tls "$EVE" "$q3" none
for q in "${q1:--}" "$q2" "$q3"; do
    check "EVE delivery over TLS" $CHECK delivery "$EVE" "$q" delivered "TLS 1.3" yes
done
finish
check "stats, run 1" $CHECK stats "$EVE" "mta.tls.handshakes_ok>=26" \
    "mta.tls.handshakes_failed>=3" "mta.tls.handshake_timeouts>=2" \
    "mta.tls.cleartext_discarded>=1" "mta.delivery.tls.handshakes_ok>=1" \
    "mta.delivery.tls.handshakes_failed==0" "mta.delivery.delivered>=4"
stop_sink

echo "== run 2: mta.tls-require"
start_sink "$WORK/sink2" "$SINKPORT"
begin --tls-cert "$C/mta.pem" --tls-key "$C/mta.key" -s mta.tls-require=yes
check "530 before STARTTLS" $TLSD require "$PORT"
swaks_to clear-refused "$PORT" --from sender@sender.nightjar.test --to rcpt@rcpt.nightjar.test \
    --header "Subject: mta-tls clear-refused"
grep -q '^<\*\* *530 5\.7\.0 Must issue a STARTTLS command first' "$WORK/clear-refused.swaks" ||
    bad "swaks in the clear under mta.tls-require: no 530 5.7.0 to MAIL: $(transcript clear-refused)"
send swaks-required 250 --tls
tls_started swaks-required
expect msg swaks-required clean deliver "$QID"
check "delivery" $CHECK wait "$WORK/sink2" 30 "mta-tls swaks-required"
# SIGHUP: a renewed certificate is taken; one that does not load is not,
# and the one in use stays
subject() {
    printf 'QUIT\r\n' | openssl s_client -starttls smtp -connect "127.0.0.1:$PORT" 2>/dev/null |
        sed -n 's/^subject=.*CN *= *\([^,]*\).*$/\1/p'
}
cp "$C/other.pem" "$C/mta.pem"
cp "$C/other.key" "$C/mta.key"
kill -HUP "$mta_pid"
_end=$(($(date +%s) + 10))
until [ "$(subject)" = other.nightjar.test ]; do
    [ "$(date +%s)" -lt "$_end" ] || { bad "SIGHUP: the renewed certificate is not served: CN=$(subject)"; break; }
    sleep 0.3
done
echo "not a certificate" > "$C/mta.pem"
kill -HUP "$mta_pid"
_end=$(($(date +%s) + 10))
until grep -q "SIGHUP: mta.tls-cert.*stays in use" "$ERR"; do
    [ "$(date +%s)" -lt "$_end" ] || { bad "SIGHUP with a broken certificate: stderr does not say the old one stays: $(tail -2 "$ERR")"; break; }
    sleep 0.2
done
[ "$(subject)" = other.nightjar.test ] ||
    bad "after a SIGHUP with a broken certificate, the one in use is gone: CN=$(subject)"
finish
check "stats, run 2" $CHECK stats "$EVE" "mta.tls.required_refused>=4" "mta.tls.handshakes_ok>=2"
check "refused in the clear" $CHECK absent "$WORK/sink2" "mta-tls clear-refused"
stop_sink

echo "== run 3: mta.relay-tls encrypt, the next hop offers no STARTTLS"
start_sink "$WORK/sink3" "$SINKPORT"
begin -s mta.relay-tls=encrypt
send encrypt 250
q=$QID
wait_delivery "$q" deferred "does not offer STARTTLS"
in_active "$q"
check "EVE deferred" $CHECK delivery "$EVE" "$q" deferred none - "mta.relay-tls: encrypt"
sleep 1
check "delivered in the clear" $CHECK absent "$WORK/sink3" "mta-tls encrypt"
stop_mta "$ERR"
check "stats, run 3" $CHECK stats "$EVE" "mta.delivery.tls.not_offered>=1" "mta.delivery.delivered==0"
stop_sink

echo "== run 4: mta.relay-tls may, next hops that break STARTTLS, then one that does not"
start_sink "$WORK/sink4a" "$SINKPORT" --tls-break garbage
begin -s mta.retry-min=1 -s mta.retry-max=1
send broken 250
q=$QID
wait_delivery "$q" deferred "STARTTLS: TLS handshake"
stop_sink
start_sink "$WORK/sink4b" "$SINKPORT" --tls-break refuse
wait_delivery "$q" deferred "STARTTLS refused: 454"
stop_sink
start_sink "$WORK/sink4c" "$SINKPORT" --tls-break inject
wait_delivery "$q" deferred "response injection"
stop_sink
in_active "$q"
for d in sink4a sink4b sink4c; do
    check "$d: delivered in the clear" $CHECK absent "$WORK/$d" "mta-tls broken"
done
start_sink "$WORK/sink4d" "$SINKPORT" --tls "$C/hop.pem" "$C/hop.key"
check "delivery over TLS after the broken ones" $CHECK wait "$WORK/sink4d" 30 "mta-tls broken"
check "over TLS" $CHECK sink_tls "$WORK/sink4d" "mta-tls broken" TLSv1.3
wait_delivery "$q" delivered "TLS 1.3"
check "EVE delivered" $CHECK delivery "$EVE" "$q" delivered "TLS 1.3" no
stop_mta "$ERR"
check "stats, run 4" $CHECK stats "$EVE" "mta.delivery.tls.handshakes_failed>=3" \
    "mta.delivery.tls.handshakes_ok>=1" "mta.delivery.delivered==1"
stop_sink

echo "== run 5: mta.relay-tls-verify, certificates that do not verify"
start_sink "$WORK/sink5a" "$SINKPORT" --tls "$C/other.pem" "$C/other.key"
begin -s mta.retry-min=1 -s mta.retry-max=1 -s mta.relay-tls-verify=yes \
    -s "mta.relay-tls-ca=$C/other.pem"
send verify 250
q=$QID
wait_delivery "$q" deferred "IP address mismatch"
stop_sink
start_sink "$WORK/sink5b" "$SINKPORT" --tls "$C/hop.pem" "$C/hop.key"
wait_delivery "$q" deferred "certificate verify failed (self-signed certificate)"
in_active "$q"
for d in sink5a sink5b; do
    check "$d: delivered unverified" $CHECK absent "$WORK/$d" "mta-tls verify"
done
stop_mta "$ERR"
stop_sink

[ "$nfail" -eq 0 ] || fail "$nfail checks above failed"
echo "mta_tls: ok"
