#!/bin/sh
# A capture on standard input (-r -, as tcpdump -r -) reads as the file
# does, with one worker and two (the reader thread then shards it). A
# SIGHUP while the pipe is quiet -- a feed reload, an EVE log rotation --
# must not end the input: it is done at the next packet and every packet
# is still read (it used to stop the read as "damaged capture ...
# Interrupted system call"). A SIGTERM there still ends the run, exit 0.
. "$(dirname "$0")/lib/common.sh"
demo=$root/samples/demo.pcap
size=$(wc -c < "$demo")
half=$((size / 2))
exits 0 "the file" "$WORK/file.out" "$NJ" -r "$demo" -o "$WORK/file.json" --workers 1
want=$(sed -n 's/^nightjar: \([0-9]*\) packets.*/\1/p' "$WORK/file.out")
[ -n "$want" ] && [ "$want" -gt 0 ] || fail "no packet count from the file: $(cat "$WORK/file.out")"
flows=$(count '"event_type":"flow"' "$WORK/file.json")

# pipe: the capture's first half, a pause, the rest; the sensor reads the
# fifo as its standard input
feed() { # feed PAUSE
    head -c "$half" "$demo"
    sleep "$1"
    tail -c +"$((half + 1))" "$demo"
}
for w in 1 2; do
    mkfifo "$WORK/in$w"
    "$NJ" -r - -o "$WORK/hup$w.json" --workers "$w" < "$WORK/in$w" > "$WORK/hup$w.out" 2>&1 &
    pid=$!
    feed 3 > "$WORK/in$w" &
    writer=$!
    sleep 1.5
    kill -HUP "$pid"
    wait "$writer"
    rc=0
    wait "$pid" || rc=$?
    [ "$rc" = 0 ] || fail "--workers $w: $(exit_meaning "$rc"): $(what_went_wrong "$WORK/hup$w.out")"
    grep -q "damaged\|Interrupted" "$WORK/hup$w.out" &&
        fail "--workers $w: the SIGHUP ended the input: $(grep -v '^  ' "$WORK/hup$w.out")"
    got=$(sed -n 's/^nightjar: \([0-9]*\) packets.*/\1/p' "$WORK/hup$w.out")
    assert_eq "$got" "$want" "--workers $w: packets read from the pipe across a SIGHUP"
    assert_eq "$(count '"event_type":"flow"' "$WORK/hup$w.json")" "$flows" \
        "--workers $w: flow records from the pipe"
    # the SIGHUP was honoured: the EVE file was opened again
    python3 - "$WORK/hup$w.json" <<'EOF' || fail "--workers $w: no EVE reopen counted after the SIGHUP"
import json, sys
stats = [json.loads(l)["stats"] for l in open(sys.argv[1]) if '"event_type":"stats"' in l]
sys.exit(0 if stats and stats[-1]["output"]["sink"]["reconnects"] >= 1 else 1)
EOF
done

# SIGTERM while the pipe is quiet: the run ends, exit 0, what came is kept
mkfifo "$WORK/term"
"$NJ" -r - -o "$WORK/term.json" --workers 1 < "$WORK/term" > "$WORK/term.out" 2>&1 &
pid=$!
feed 4 > "$WORK/term" &
writer=$!
sleep 1.5
kill -TERM "$pid"
rc=0
wait "$pid" || rc=$?
kill "$writer" 2>/dev/null
wait "$writer" 2>/dev/null
[ "$rc" = 0 ] || fail "SIGTERM: $(exit_meaning "$rc"): $(what_went_wrong "$WORK/term.out")"
got=$(sed -n 's/^nightjar: \([0-9]*\) packets.*/\1/p' "$WORK/term.out")
[ -n "$got" ] && [ "$got" -gt 0 ] && [ "$got" -lt "$want" ] ||
    fail "SIGTERM: expected part of the $want packets, got '$got'"
echo "stdin: -r - reads a pipe as the file ($want packets, one and two workers), a SIGHUP reopens the EVE file without ending the input, a SIGTERM ends it"
