#!/bin/sh
# Live capture on the loopback interface with a BPF filter; SIGINT stops the
# sensor cleanly and every open flow is written out, with a final stats
# record; stats records come every second (eve-log.stats-interval=1) with
# the kernel's capture counters. Also SIGTERM; and both again with
# --workers 2 (the reader thread and two workers stop as cleanly).
. "$(dirname "$0")/lib/common.sh"
need_root
command -v openssl >/dev/null || skip "openssl is not installed"
port=28543
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$WORK/k.pem" -out "$WORK/c.pem" \
    -days 1 -subj /CN=live.test >/dev/null 2>&1
openssl s_server -accept "127.0.0.1:$port" -cert "$WORK/c.pem" -key "$WORK/k.pem" \
    -www -quiet >/dev/null 2>&1 &
srv=$!
for run in INT:1 TERM:1 INT:2 TERM:2; do
    sig=${run%:*} workers=${run#*:}
    eve=$WORK/live-$sig-$workers.json
    "$NJ" -i lo -f "tcp port $port" -o "$eve" --set eve-log.stats-interval=1 \
        --workers "$workers" 2>"$WORK/err-$sig" &
    nj=$!
    sleep 2.5
    # one connection that finishes, one that is still open when we stop
    printf 'GET / HTTP/1.0\r\n\r\n' | timeout 5 openssl s_client -quiet \
        -connect "127.0.0.1:$port" >/dev/null 2>&1 || true
    (sleep 3 | timeout 5 openssl s_client -quiet -connect "127.0.0.1:$port" \
        >/dev/null 2>&1) &
    cl=$!
    sleep 1
    kill -"$sig" "$nj"
    wait "$nj"; rc=$?
    kill "$cl" 2>/dev/null; wait "$cl" 2>/dev/null
    [ "$rc" -eq 0 ] || { kill $srv; fail "SIG$sig: $(exit_meaning "$rc"): $(what_went_wrong "$WORK/err-$sig")"; }
    flows=$(grep -c '"event_type":"flow"' "$eve")
    [ "$flows" -ge 2 ] || { kill $srv; fail "SIG$sig: expected >= 2 flows, got $flows"; }
    grep -q '"reason":"shutdown"' "$eve" || { kill $srv; fail "SIG$sig: open flow not flushed"; }
    stats=$(grep -c '"event_type":"stats"' "$eve")
    [ "$stats" -ge 3 ] || { kill $srv; fail "SIG$sig: $stats stats records in 3 s at 1/s"; }
    grep '"event_type":"stats"' "$eve" | tail -1 | grep -q '"kernel_packets":[1-9]' ||
        { kill $srv; fail "SIG$sig: no kernel counters in stats"; }
    grep '"event_type":"flow"' "$eve" | grep -v "\"dest_port\":$port" | grep -q . &&
        { kill $srv; fail "SIG$sig: BPF filter let other traffic in"; }
done
kill $srv 2>/dev/null
echo "live capture: flows flushed on SIGINT and SIGTERM, with 1 and 2 workers"
