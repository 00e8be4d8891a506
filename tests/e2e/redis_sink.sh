#!/bin/sh
# redis_sink.sh -- EVE into Redis (eve-log.filetype=redis), against Debian's
# redis-server on 127.0.0.1, on a free port, without persistence.
#
# 1. The shipped captures, once into a file and once into Redis in each
#    mode: list (LPUSH), rpush, channel (PUBLISH, with redis-cli SUBSCRIBE
#    listening) and stream (XADD MAXLEN ~ N * event JSON). Redis holds
#    exactly one entry per record of the file, each valid JSON and equal to
#    the file's record, in order (the stats record is compared without its
#    timing and its output section, which describes the sink itself).
# 2. A live run on lo (BPF on three ports we make connections to) while
#    Redis is killed (SIGKILL) and started again: the connections made
#    before, during and after are all there, once each, and the sensor
#    counts the reconnect. What Redis held before it was killed is read just
#    before the kill, since it keeps nothing on disk.
# 3. The same with a 16 KiB spool and more connections during the outage
#    than it holds: the overflow is dropped and counted, and records written
#    plus records dropped equal records made; before and after, nothing is
#    missing.
. "$(dirname "$0")/lib/common.sh"
need_root
command -v redis-server >/dev/null || skip "redis-server is not installed"
command -v redis-cli >/dev/null || skip "redis-cli is not installed"
command -v python3 >/dev/null || skip "python3 is not installed"

redis_pid="" srv_pid="" nj_pid="" sub_pid=""
cleanup() {
    for p in $nj_pid $sub_pid $srv_pid $redis_pid; do
        kill -9 "$p" 2>/dev/null
    done
    rm -rf "$WORK"
}
trap cleanup EXIT

RPORT=$(free_ports 1)
rcli() { redis-cli -h 127.0.0.1 -p "$RPORT" "$@"; }

start_redis() {
    redis-server --bind 127.0.0.1 --port "$RPORT" --save "" --appendonly no \
        --dir "$WORK" --logfile "$WORK/redis.log" --daemonize no &
    redis_pid=$!
    i=0
    until [ "$(rcli PING 2>/dev/null)" = "PONG" ]; do
        i=$((i + 1))
        [ $i -lt 100 ] || fail "redis-server did not start on port $RPORT: $(tail -3 "$WORK/redis.log")"
        sleep 0.1
    done
}
start_redis

# ---- 1. captures, each mode ---------------------------------------------
S=$root/samples
# one worker: the records are compared in order with the file run's, and
# several workers write them in an order of their own each run
pcaps="--workers 1 -r $S/demo.pcap -r $S/demo-content.pcap -r $S/demo-detection.pcap"
# shellcheck disable=SC2086
exits 0 "file run" "$WORK/file.err" "$NJ" $pcaps -o "$WORK/file.json"
records=$(grep -c . "$WORK/file.json")
[ "$records" -gt 50 ] || fail "the file run wrote only $records records"

# compare.py FILE ENTRIES TYPE: entries (one JSON text a line, in the order
# they were written) against the file's records
cat > "$WORK/compare.py" <<'PY'
import json, sys
want = [l.rstrip("\n") for l in open(sys.argv[1])]
got = [l.rstrip("\n") for l in open(sys.argv[2])]
sink = sys.argv[3]
if len(got) != len(want):
    sys.exit("FAIL: %d entries in Redis, %d records in the file" % (len(got), len(want)))
def steady(rec):
    st = rec["stats"]
    st.pop("output")
    st.get("eta", {}).pop("score_usec_mean", None)
    return rec
for i, (w, g) in enumerate(zip(want, got)):
    try:
        gj = json.loads(g)
    except ValueError as e:
        sys.exit("FAIL: entry %d is not JSON (%s): %.80s" % (i, e, g))
    if gj.get("event_type") == "stats":
        out = gj["stats"]["output"]
        if out["sink"]["type"] != sink:
            sys.exit("FAIL: stats record says sink %s" % out["sink"]["type"])
        if steady(gj) != steady(json.loads(w)):
            sys.exit("FAIL: entry %d: the stats record differs from the file's" % i)
    elif g != w:
        sys.exit("FAIL: entry %d differs from the file's record:\n  %.200s\n  %.200s" % (i, g, w))
PY

for mode in list rpush channel stream; do
    key=nj-$mode
    if [ $mode = channel ]; then
        rcli --raw SUBSCRIBE "$key" > "$WORK/sub.txt" 2>&1 &
        sub_pid=$!
        i=0
        until [ "$(rcli --raw PUBSUB NUMSUB "$key" | tail -1)" = 1 ]; do
            i=$((i + 1)); [ $i -lt 100 ] || fail "redis-cli SUBSCRIBE did not subscribe"
            sleep 0.1
        done
    fi
    # shellcheck disable=SC2086
    exits 0 "redis $mode run" "$WORK/$mode.err" "$NJ" $pcaps \
        --set eve-log.filetype=redis --set eve-log.redis.port="$RPORT" \
        --set eve-log.redis.mode=$mode --set eve-log.redis.key="$key"
    grep -q "EVE output: redis 127.0.0.1:$RPORT.*: $records records written, 0 dropped" "$WORK/$mode.err" ||
        fail "redis $mode: summary: $(grep 'EVE output' "$WORK/$mode.err")"
    case $mode in
        list)
            [ "$(rcli LLEN "$key")" = "$records" ] || fail "list: LLEN $(rcli LLEN "$key"), want $records"
            rcli --raw LRANGE "$key" 0 -1 | tac > "$WORK/entries" ;;   # LPUSH: newest first
        rpush)
            rcli --raw LRANGE "$key" 0 -1 > "$WORK/entries" ;;
        channel)
            i=0   # every message reached the subscriber
            while [ "$(grep -c '^message$' "$WORK/sub.txt")" -lt "$records" ] && [ $i -lt 50 ]; do
                i=$((i + 1)); sleep 0.1
            done
            kill "$sub_pid"; wait "$sub_pid" 2>/dev/null; sub_pid=""
            awk '/^message$/ { getline; getline; print }' "$WORK/sub.txt" > "$WORK/entries" ;;
        stream)
            [ "$(rcli XLEN "$key")" = "$records" ] || fail "stream: XLEN $(rcli XLEN "$key"), want $records"
            # id, field, value: one field per entry, named eve (as Suricata names it)
            rcli --raw XRANGE "$key" - + > "$WORK/xrange"
            [ "$(awk 'NR % 3 == 2' "$WORK/xrange" | sort -u)" = eve ] ||
                fail "stream entries have fields other than 'eve'"
            awk 'NR % 3 == 0' "$WORK/xrange" > "$WORK/entries" ;;
    esac
    python3 "$WORK/compare.py" "$WORK/file.json" "$WORK/entries" redis || fail "redis $mode"
    echo "redis $mode: $records entries, each equal to the file's record"
done
# stream trimming is asked for: MAXLEN ~ 10 keeps about 10 (Redis trims whole
# nodes of entries: make them small so that it shows)
rcli CONFIG SET stream-node-max-entries 5 >/dev/null
# shellcheck disable=SC2086
exits 0 "redis stream-maxlen run" "$WORK/maxlen.err" "$NJ" $pcaps \
    --set eve-log.filetype=redis --set eve-log.redis.port="$RPORT" \
    --set eve-log.redis.mode=stream --set eve-log.redis.key=nj-trim \
    --set eve-log.redis.stream-maxlen=10
trimmed=$(rcli XLEN nj-trim)
[ "$trimmed" -ge 10 ] && [ "$trimmed" -le 15 ] ||
    fail "stream-maxlen=10 kept $trimmed of $records entries"
# a key of another type: Redis refuses every record; they are counted, not retried
rcli SET nj-string x >/dev/null
# shellcheck disable=SC2086
exits 0 "redis refused run" "$WORK/refused.err" "$NJ" -r "$S/demo.pcap" \
    --set eve-log.filetype=redis --set eve-log.redis.port="$RPORT" \
    --set eve-log.redis.key=nj-string
grep -q "Redis refused a record: WRONGTYPE" "$WORK/refused.err" ||
    fail "a refused record was not reported: $(cat "$WORK/refused.err")"
grep -q "0 records written, 21 dropped (spool full 0, left at exit 0, refused 21)" "$WORK/refused.err" ||
    fail "refused records not counted: $(grep 'EVE output' "$WORK/refused.err")"

# ---- 2 and 3. live, with Redis killed and started again -------------------
P1=$(free_ports 1) P2=$(free_ports 1) P3=$(free_ports 1)
cat > "$WORK/traffic.py" <<'PY'
# server PORT...: echo on each port; client PORT N GAP: N connections
import socket, sys, threading, time
def serve(port):
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", port)); s.listen(64)
    while True:
        c, _ = s.accept()
        try:
            c.sendall(c.recv(100))
        finally:
            c.close()
if sys.argv[1] == "server":
    for p in sys.argv[2:]:
        threading.Thread(target=serve, args=(int(p),), daemon=True).start()
    time.sleep(600)
else:
    port, n, gap = int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
    for i in range(n):
        c = socket.create_connection(("127.0.0.1", port), timeout=5)
        c.sendall(b"hello %d" % i); c.recv(100); c.close()
        time.sleep(gap)
PY
python3 "$WORK/traffic.py" server "$P1" "$P2" "$P3" &
srv_pid=$!
sleep 0.5

# flows KEY PORT: flow records to PORT in the list KEY
flows() { rcli --raw LRANGE "$1" 0 -1 | grep '"event_type":"flow"' | grep -c "\"dest_port\":$2,"; }
wait_flows() { # KEY PORT N
    i=0
    while [ "$(flows "$1" "$2")" -lt "$3" ]; do
        i=$((i + 1))
        [ $i -lt 300 ] || fail "$1: $(flows "$1" "$2") flows to port $2 reached Redis, want $3"
        sleep 0.1
    done
}

# live NAME SPOOL N_DURING: one live run; leaves NAME.before, NAME.after
live() {
    name=$1 spool=$2 during=$3
    "$NJ" -i lo -f "tcp and (port $P1 or port $P2 or port $P3)" \
        --set eve-log.filetype=redis --set eve-log.redis.port="$RPORT" \
        --set eve-log.redis.mode=rpush --set eve-log.redis.key="$name" \
        --set eve-log.spool="$spool" --set eve-log.stats-interval=0 \
        --set flow.timeouts.tcp-closed=1 2>"$WORK/$name.err" &
    nj_pid=$!
    i=0
    until grep -qs "internal networks" "$WORK/$name.err"; do
        i=$((i + 1)); [ $i -lt 200 ] || fail "$name: the sensor did not start: $(cat "$WORK/$name.err")"
        sleep 0.1
    done
    sleep 1
    # spaced, so a small spool is never full while Redis is up
    python3 "$WORK/traffic.py" client "$P1" 20 0.3 || fail "$name: traffic before"
    wait_flows "$name" "$P1" 20
    rcli --raw LRANGE "$name" 0 -1 > "$WORK/$name.before"   # Redis keeps nothing
    kill -9 "$redis_pid"; wait "$redis_pid" 2>/dev/null
    python3 "$WORK/traffic.py" client "$P2" "$during" 0.02 || fail "$name: traffic during"
    sleep 3    # the flows end, the sensor finds Redis gone and spools
    start_redis
    i=0        # the sensor finds it again (backoff at most 5 s)
    until grep -q "EVE output redis.*: connected" "$WORK/$name.err"; do
        i=$((i + 1)); [ $i -lt 150 ] || fail "$name: no reconnect: $(cat "$WORK/$name.err")"
        sleep 0.1
    done
    python3 "$WORK/traffic.py" client "$P3" 20 0.3 || fail "$name: traffic after"
    wait_flows "$name" "$P3" 20
    kill -INT "$nj_pid"
    wait "$nj_pid"; rc=$?; nj_pid=""
    [ "$rc" -eq 0 ] || fail "$name: sensor: $(exit_meaning "$rc"): $(what_went_wrong "$WORK/$name.err")"
    rcli --raw LRANGE "$name" 0 -1 > "$WORK/$name.after"
}

# check.py BEFORE AFTER SUMMARY P1 P2 P3 N_DURING EXPECT_DROPS
cat > "$WORK/check.py" <<'PY'
import json, re, sys
before, after, summary = sys.argv[1:4]
p1, p2, p3, during, drops = (int(x) for x in sys.argv[4:9])
recs = []
for path in (before, after):
    for line in open(path):
        recs.append(json.loads(line))          # every entry is JSON
flows = [r for r in recs if r["event_type"] == "flow"]
ids = [r["flow_id"] for r in flows]
dup = len(ids) - len(set(ids))
by = {p: sum(1 for r in flows if r["dest_port"] == p) for p in (p1, p2, p3)}
stats = [r for r in recs if r["event_type"] == "stats"]
m = re.search(r"EVE output: redis \S+ \(rpush \S+\): (\d+) records written, (\d+) dropped"
              r".*, (\d+) reconnects", open(summary).read())
problems = []
if not m:
    problems.append("no summary line")
    m = re.match(r"(\d+) (\d+) (\d+)", "-1 -1 -1")
written, dropped, reconnects = (int(x) for x in m.groups())
if dup:
    problems.append("%d flows twice" % dup)
if by[p1] != 20 or by[p3] != 20:
    problems.append("flows before/after the outage: %d and %d, want 20 and 20" % (by[p1], by[p3]))
if len(stats) != 1:
    problems.append("%d stats records" % len(stats))
else:
    out = stats[0]["stats"]["output"]
    made = out["records"] + out["write_errors"] + 1      # + the stats record
    if written != len(recs):
        problems.append("summary says %d written, Redis holds %d" % (written, len(recs)))
    if written + dropped != made:
        problems.append("%d written + %d dropped != %d made" % (written, dropped, made))
    if out["sink"]["reconnects"] < 1 or reconnects < 1:
        problems.append("reconnect not counted (%s)" % out["sink"])
    if drops:
        if not dropped or out["sink"]["dropped_spool_full"] != dropped or by[p2] + dropped != during:
            problems.append("drops: %d in the summary, %s in stats, %d of %d flows during the outage kept"
                            % (dropped, out["sink"], by[p2], during))
    elif dropped or by[p2] != during:
        problems.append("%d dropped, %d of %d flows during the outage kept" % (dropped, by[p2], during))
if problems:
    sys.exit("FAIL: " + "; ".join(problems))
print("%d entries (%d before the kill), flows %d/%d/%d before/during/after, "
      "%d dropped, %d reconnects" % (len(recs), sum(1 for _ in open(before)),
                                     by[p1], by[p2], by[p3], dropped, reconnects))
PY

live nj-live 16mb 20
python3 "$WORK/check.py" "$WORK/nj-live.before" "$WORK/nj-live.after" "$WORK/nj-live.err" \
    "$P1" "$P2" "$P3" 20 0 > "$WORK/live.out" || fail "live restart: $(cat "$WORK/live.out")"
echo "restart, 16 MiB spool: $(cat "$WORK/live.out")"

live nj-small 16kb 60
python3 "$WORK/check.py" "$WORK/nj-small.before" "$WORK/nj-small.after" "$WORK/nj-small.err" \
    "$P1" "$P2" "$P3" 60 1 > "$WORK/small.out" || fail "small spool: $(cat "$WORK/small.out")"
echo "restart, 16 KiB spool: $(cat "$WORK/small.out")"
echo "redis sink: every mode equals the file; a Redis restart loses nothing the spool held"
