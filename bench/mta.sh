#!/bin/sh
# bench/mta.sh -- how fast nightjar-mta (build/nightjar-mta: default
# settings, inspection on with the shipped YARA rules) relays mail, against
# Postfix relaying the same load to the same kind of next hop in the same
# run. Not a test: it prints figures and whether the targets hold, and
# exits 0 whatever they are.
#
# The load is Postfix's smtp-source: MAILS mails (default 2000) of SIZE
# bytes (default 20000) over SESSIONS parallel sessions (default 16), a new
# connection for each mail, sent to 127.0.0.1:
#   smtp-source -s 16 -m 2000 -l 20000 -f a@x -t b@y 127.0.0.1:PORT
# The next hop is Postfix's smtp-sink, counting the mails it receives (-c):
# the time from the first connection until it has all MAILS is the time to
# relay them -- accepted, queued durably and delivered ("accepted in": until
# smtp-source had its last 250). Each relay runs RUNS times (default 3) and
# the median counts.
#   postfix   a private Debian Postfix (tests/e2e/lib/postfix.sh; its stock
#             queue: each mail fsync'd before the 250), relayhost the sink
#   nightjar  build/nightjar-mta, a fresh queue directory each run (the
#             250 after the message, its envelope and the directory are
#             fsync'd), --relay the sink, its EVE log written; its peak
#             RSS (VmHWM)
# Then LARGE mails (default 4) of LARGE_SIZE bytes (default 20000000, just
# under smtp.message-max, so judged whole) at once, and one of 45 MB (over
# smtp.message-max: judged on its first 20 MB, delivered "unjudged"),
# through nightjar-mta: its peak RSS shows memory stays bounded whatever
# the size. Targets: nightjar's mails/s at least Postfix's; every mail
# delivered. Needs root (Postfix) and the postfix package; all on
# 127.0.0.1.
#
# BASELINE=path/to/an/older/nightjar-mta adds that binary to each round
# (same load, same sink) and prints nightjar-mta's mails/s over it: a
# change's A/B. KEEP=1 leaves the temporary directory (Postfix's log, the
# EVE log, the queues) behind.
set -eu
cd "$(dirname "$0")/.."
. bench/common.sh
MAILS=${MAILS:-2000}
SIZE=${SIZE:-20000}
SESSIONS=${SESSIONS:-16}
LARGE=${LARGE:-4}
LARGE_SIZE=${LARGE_SIZE:-20000000}
nj=build/nightjar-mta
[ -x "$nj" ] || { echo "bench: $nj is not built (make)" >&2; exit 1; }
fail() { echo "bench: $*" >&2; exit 1; }
[ "$(id -u)" -eq 0 ] || fail "needs root (a private Postfix)"
if ! command -v smtp-source >/dev/null 2>&1; then
    echo "bench: installing postfix"
    sh scripts/install-deps.sh >/dev/null
fi
. tests/e2e/lib/daemon.sh
. tests/e2e/lib/ports.sh
. tests/e2e/lib/postfix.sh

# Postfix's daemons must reach its directory: a temporary one, 711
tmp=$(mktemp -d)
chmod 711 "$tmp"
sink_pid="" mta_pid=""
cleanup() {
    postfix_stop
    # shellcheck disable=SC2086
    end_all $sink_pid $mta_pid
    [ -n "${KEEP:-}" ] || rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
set -- $(free_ports 3)
PF_PORT=$1 NJ_PORT=$2 SINK_PORT=$3

# start_sink -- smtp-sink on SINK_PORT, counting the mails it takes (-c)
start_sink() {
    smtp-sink -u nobody -c "127.0.0.1:$SINK_PORT" 256 > "$tmp/sink.out" 2>&1 &
    sink_pid=$!
    for _ in $(seq 1 100); do
        _postfix_takes "$SINK_PORT" 2>/dev/null && return 0
        sleep 0.05
    done
    fail "smtp-sink did not listen on 127.0.0.1:$SINK_PORT: $(cat "$tmp/sink.out")"
}
stop_sink() {
    kill "$sink_pid" 2>/dev/null || true
    wait "$sink_pid" 2>/dev/null || true
    sink_pid=""
}

# relay PORT COUNT LENGTH -- smtp-source sends COUNT mails of LENGTH bytes
# to 127.0.0.1:PORT; prints "SENT DONE": seconds until smtp-source was
# through (every mail accepted) and until the sink had them all (its last
# "mesg=N", read every 10 ms; 120 s at most)
relay() {
    start_sink
    python3 - "$1" "$2" "$3" "$SESSIONS" "$tmp/sink.out" "$tmp/source.out" <<'PY' ||
import os, re, subprocess, sys, time
port, count, length, sessions, sink, log = sys.argv[1:]
t0 = time.monotonic()
src = subprocess.Popen(["smtp-source", "-s", sessions, "-m", count, "-l", length,
                        "-f", "a@x", "-t", "b@y", "127.0.0.1:" + port],
                       stdout=open(log, "wb"), stderr=subprocess.STDOUT)
sent = None
with open(sink, "rb") as f:
    while True:
        f.seek(max(0, os.path.getsize(sink) - 64))
        got = re.findall(rb"mesg=(\d+)", f.read())
        if got and int(got[-1]) >= int(count):
            break
        if sent is None and src.poll() is not None:
            sent = time.monotonic() - t0
        if time.monotonic() - t0 > 120:
            sys.exit("the sink did not get %s mails in 120 s" % count)
        time.sleep(0.01)
done = time.monotonic() - t0
if src.wait() != 0:
    sys.exit("smtp-source failed: " + open(log).read()[-300:])
print("%.3f %.3f" % (sent if sent is not None else done, done))
PY
        { stop_sink; fail "relaying to 127.0.0.1:$1 failed (above)"; }
    stop_sink
}

# start_nightjar [BINARY] -- build/nightjar-mta, or BINARY
start_nightjar() {
    rm -rf "$tmp/njq"
    : > "$tmp/nightjar.err"
    "${1:-$nj}" --listen "127.0.0.1:$NJ_PORT" --relay "127.0.0.1:$SINK_PORT" \
        --queue "$tmp/njq" -o "$tmp/eve.json" 2> "$tmp/nightjar.err" &
    mta_pid=$!
    for _ in $(seq 1 300); do
        grep -q "listening on" "$tmp/nightjar.err" && return 0
        alive "$mta_pid" || fail "nightjar-mta exited: $(tail -3 "$tmp/nightjar.err")"
        sleep 0.05
    done
    fail "nightjar-mta did not listen in 15 s"
}
# stop_nightjar -- its peak RSS in KB into $tmp/nj.rss
stop_nightjar() {
    awk '/^VmHWM:/ { print $2 }' "/proc/$mta_pid/status" >> "$tmp/nj.rss"
    kill -TERM "$mta_pid"
    wait "$mta_pid" || fail "nightjar-mta did not stop with exit 0: $(tail -3 "$tmp/nightjar.err")"
    mta_pid=""
}

median_of() { sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }

postfix_setup "$tmp/postfix"
postfix_set "relayhost = [127.0.0.1]:$SINK_PORT"
postfix_listen "$PF_PORT"
postfix_start
pf_name="postfix-$(postconf -d -h mail_version)"

echo "$MAILS mails of $SIZE bytes, $SESSIONS sessions (smtp-source), to smtp-sink; median of $RUNS runs:"
: > "$tmp/pf.times"
: > "$tmp/nj.times"
: > "$tmp/nj.rss"
: > "$tmp/base.times"
for i in $(seq 1 "$RUNS"); do
    relay "$PF_PORT" "$MAILS" "$SIZE" >> "$tmp/pf.times"
    # the sink has them all; the queue manager removes the last ones now
    for _ in $(seq 1 50); do [ "$(postfix_queued)" -eq 0 ] && break; sleep 0.1; done
    [ "$(postfix_queued)" -eq 0 ] || fail "postfix's queue is not empty 5 s after the run"
    start_nightjar
    relay "$NJ_PORT" "$MAILS" "$SIZE" >> "$tmp/nj.times"
    stop_nightjar
    [ -z "$(find "$tmp/njq/active" -type f)" ] || fail "nightjar-mta's queue is not empty after the run"
    base=""
    if [ -n "${BASELINE:-}" ]; then
        start_nightjar "$BASELINE"
        relay "$NJ_PORT" "$MAILS" "$SIZE" >> "$tmp/base.times"
        kill -TERM "$mta_pid"
        wait "$mta_pid" || true
        mta_pid=""
        base=", baseline $(tail -1 "$tmp/base.times" | cut -d' ' -f2) s"
    fi
    echo "  run $i: $pf_name $(tail -1 "$tmp/pf.times" | cut -d' ' -f2) s, nightjar-mta $(tail -1 "$tmp/nj.times" | cut -d' ' -f2) s$base"
done
postfix_stop
pf_t=$(cut -d' ' -f2 "$tmp/pf.times" | median_of)
nj_t=$(cut -d' ' -f2 "$tmp/nj.times" | median_of)
pf_acc=$(cut -d' ' -f1 "$tmp/pf.times" | median_of)
nj_acc=$(cut -d' ' -f1 "$tmp/nj.times" | median_of)
nj_rss=$(median_of < "$tmp/nj.rss")
pf_rate=$(echo "$MAILS / $pf_t" | bc -l)
nj_rate=$(echo "$MAILS / $nj_t" | bc -l)
printf '  %-22s %9s %12s %11s %10s\n' relay "all in s" "accepted in" "mails/s" "peak RSS"
printf '  %-22s %9.2f %12.2f %11.0f %10s\n' "$pf_name" "$pf_t" "$pf_acc" "$pf_rate" -
printf '  %-22s %9.2f %12.2f %11.0f %7s MB\n' nightjar-mta "$nj_t" "$nj_acc" "$nj_rate" \
    "$(echo "$nj_rss / 1024" | bc)"
if [ -n "${BASELINE:-}" ]; then
    b_t=$(cut -d' ' -f2 "$tmp/base.times" | median_of)
    b_acc=$(cut -d' ' -f1 "$tmp/base.times" | median_of)
    b_rate=$(echo "$MAILS / $b_t" | bc -l)
    printf '  %-22s %9.2f %12.2f %11.0f %10s\n' baseline "$b_t" "$b_acc" "$b_rate" -
fi
printf '  nightjar-mta/postfix mails/s: %.2f\n' "$(echo "$nj_rate / $pf_rate" | bc -l)"
[ -z "${BASELINE:-}" ] ||
    printf '  nightjar-mta/baseline mails/s: %.2f\n' "$(echo "$nj_rate / $b_rate" | bc -l)"

# large mails: LARGE at once, then one over smtp.message-max
start_nightjar
relay "$NJ_PORT" "$LARGE" "$LARGE_SIZE" > "$tmp/large.times"
relay "$NJ_PORT" 1 45000000 >> "$tmp/large.times"
: > "$tmp/nj.rss"
stop_nightjar
large_rss=$(cat "$tmp/nj.rss")
large_t=$(sed -n 1p "$tmp/large.times" | cut -d' ' -f2)
huge_t=$(sed -n 2p "$tmp/large.times" | cut -d' ' -f2)
printf '  nightjar-mta, %s mails of %s bytes at once: %.2f s; one of 45000000: %.2f s; peak RSS %s MB\n' \
    "$LARGE" "$LARGE_SIZE" "$large_t" "$huge_t" "$(echo "$large_rss / 1024" | bc)"
yes_no() { if [ "$1" = 1 ]; then echo yes; else echo NO; fi; }
echo "  target: mails/s >= postfix's: $(yes_no "$(echo "$nj_rate >= $pf_rate" | bc)")"
