#!/bin/sh
# kafka_sink.sh -- EVE into Kafka (eve-log.filetype=kafka), against
# librdkafka's mock cluster (tests/tools/kafka_mock: 3 brokers on
# 127.0.0.1, the topic made with 6 partitions), since no broker is packaged
# here.
#
# 1. The shipped captures, once into a file and once into Kafka: the topic
#    holds exactly the file's records (count and content; the stats record
#    without its timing and its output section), each message's key is the
#    host the record is about (worked out here from the JSON, independently
#    of the sensor), every record of one host is on one partition, and in
#    the order of the file.
# 2. No broker: the brokers named are a port nothing listens on. The run
#    ends within the drain time (5 s, no hang) with exit 0, and the summary
#    counts every record as dropped (left at exit), none written. (Reading a
#    file, the sensor waits up to 30 s for room in a full spool rather than
#    drop, so a small spool is tested where it does not wait: the unit test
#    test_sink_kafka, and a live capture.)
# 3. The cluster goes away in the middle: the sensor reads demo.pcap, then
#    a fifo, then demo-detection.pcap; while it waits on the fifo, records
#    of the first capture are delivered and the cluster is killed; then the
#    fifo gets demo-content.pcap. The sensor ends with exit 0 within the drain time, what came
#    after the kill is dropped and counted, and written + dropped equal the
#    records made.
. "$(dirname "$0")/lib/common.sh"
command -v python3 >/dev/null || skip "python3 is not installed"
MOCK=$root/build/tools/kafka_mock
[ -x "$MOCK" ] || fail "no $MOCK: run make"

mock_pid="" hold_pid="" nj_pid=""
cleanup() {
    for p in $nj_pid $mock_pid $hold_pid; do
        kill "$p" 2>/dev/null
    done
    rm -rf "$WORK"
}
trap cleanup EXIT

# start_mock NAME TOPIC: a cluster whose bootstrap address lands in $BOOT
start_mock() {
    mkfifo "$WORK/$1.in"
    sleep 3600 > "$WORK/$1.in" &      # its stdin: open until we kill it
    hold_pid=$!
    "$MOCK" serve 3 "$2" 6 < "$WORK/$1.in" > "$WORK/$1.boot" 2> "$WORK/$1.err" &
    mock_pid=$!
    i=0
    until [ -s "$WORK/$1.boot" ]; do
        i=$((i + 1))
        if ! kill -0 "$mock_pid" 2>/dev/null; then
            wait "$mock_pid"; rc=$?
            [ "$rc" -eq 77 ] && skip "librdkafka's mock cluster is missing: $(cat "$WORK/$1.boot")"
            fail "kafka_mock serve: exit $rc: $(cat "$WORK/$1.err")"
        fi
        [ $i -lt 100 ] || fail "kafka_mock did not start"
        sleep 0.1
    done
    grep -q '^skipped:' "$WORK/$1.boot" && skip "$(cat "$WORK/$1.boot")"
    BOOT=$(head -1 "$WORK/$1.boot")
}
stop_mock() {
    kill "$mock_pid" "$hold_pid" 2>/dev/null
    i=0   # librdkafka's teardown may wait on a client: 5 s, then it is killed
    while kill -0 "$mock_pid" 2>/dev/null && [ $i -lt 50 ]; do
        i=$((i + 1)); sleep 0.1
    done
    kill -9 "$mock_pid" 2>/dev/null
    wait "$mock_pid" 2>/dev/null
    mock_pid="" hold_pid=""
}

# ---- 1. captures into the file and into the topic ------------------------
S=$root/samples
pcaps="-r $S/demo.pcap -r $S/demo-content.pcap -r $S/demo-detection.pcap"
# shellcheck disable=SC2086
exits 0 "file run" "$WORK/file.err" "$NJ" $pcaps -o "$WORK/file.json"
records=$(grep -c . "$WORK/file.json")
[ "$records" -gt 50 ] || fail "the file run wrote only $records records"

start_mock m1 eve
# shellcheck disable=SC2086
exits 0 "kafka run" "$WORK/kafka.err" "$NJ" $pcaps \
    -s eve-log.filetype=kafka -s eve-log.kafka.brokers="$BOOT" \
    -s eve-log.kafka.topic=eve -s eve-log.kafka.options=compression.codec=lz4
grep -q "EVE output: kafka .*(topic eve): $records records written, 0 dropped" "$WORK/kafka.err" ||
    fail "kafka: summary: $(grep 'EVE output' "$WORK/kafka.err")"
"$MOCK" consume "$BOOT" eve > "$WORK/messages" 2> "$WORK/consume.err" ||
    fail "kafka_mock consume: $(cat "$WORK/consume.err")"
stop_mock

# compare.py FILE MESSAGES: messages (partition, offset, key, value) against
# the file's records
cat > "$WORK/compare.py" <<'PY'
import collections, json, sys
want = [l.rstrip("\n") for l in open(sys.argv[1])]
msgs = []
for l in open(sys.argv[2]):
    p, off, key, value = l.rstrip("\n").split("\t", 3)
    msgs.append((int(p), int(off), "" if key == "-" else key, value))
def steady(rec):
    st = rec["stats"]
    st.pop("output")
    st.get("eta", {}).pop("score_usec_mean", None)
    return rec
def host(rec):
    """The host a record is about, as docs/eve.md defines the key."""
    t = rec["event_type"]
    if t == "stats":
        return ""
    if t == "incident":
        return rec["incident"]["hosts"][0]
    ev = rec.get("nightjar", {}).get("evidence", {})
    if "host" in ev:                      # behaviour and compromise alerts
        return ev["host"]
    if t == "anomaly":
        return rec["anomaly"]["host"]
    return rec["src_ip"]
def norm(text):
    r = json.loads(text)
    return json.dumps(steady(r) if r["event_type"] == "stats" else r, sort_keys=True)
problems = []
if len(msgs) != len(want):
    problems.append("%d messages, %d records in the file" % (len(msgs), len(want)))
got_set = collections.Counter(norm(m[3]) for m in msgs)
want_set = collections.Counter(norm(w) for w in want)
if got_set != want_set:
    problems.append("%d records of the file missing from the topic, %d messages not in the file"
                    % (sum((want_set - got_set).values()), sum((got_set - want_set).values())))
# keys: the host of each record
bad = [(m[2], host(json.loads(m[3]))) for m in msgs if m[2] != host(json.loads(m[3]))]
if bad:
    problems.append("%d keys are not the record's host, e.g. key %r for %r" % (len(bad), bad[0][0], bad[0][1]))
# one host, one partition, in the file's order
parts = collections.defaultdict(set)
for m in msgs:
    parts[m[2]].add(m[0])
split = {h: sorted(p) for h, p in parts.items() if len(p) > 1}
if split:
    problems.append("hosts on several partitions: %s" % split)
file_order = collections.defaultdict(list)
for w in want:
    file_order[host(json.loads(w))].append(norm(w))
topic_order = collections.defaultdict(list)
for m in sorted(msgs, key=lambda m: (m[0], m[1])):
    topic_order[m[2]].append(norm(m[3]))
for h in file_order:
    if h and file_order[h] != topic_order.get(h):
        problems.append("host %s: its records are not in the file's order" % h)
if len([h for h in parts if h]) < 3:
    problems.append("only %d hosts: the test shows nothing" % len(parts))
if problems:
    sys.exit("FAIL: " + "; ".join(problems))
print("%d messages on %d partitions, %d hosts, each on one partition in order"
      % (len(msgs), len({m[0] for m in msgs}), len([h for h in parts if h])))
PY
python3 "$WORK/compare.py" "$WORK/file.json" "$WORK/messages" > "$WORK/compare.out" 2>&1 ||
    fail "kafka: $(cat "$WORK/compare.out")"
echo "kafka: $(cat "$WORK/compare.out"), equal to the file's records"

# ---- 2. no broker --------------------------------------------------------
DEAD=127.0.0.1:$(free_ports 1)
start=$(date +%s)
# shellcheck disable=SC2086
exits 0 "kafka run, no broker" "$WORK/dead.err" "$NJ" $pcaps \
    -s eve-log.filetype=kafka -s eve-log.kafka.brokers="$DEAD" \
    -s eve-log.kafka.topic=eve
took=$(($(date +%s) - start))
[ "$took" -lt 20 ] || fail "no broker: the run took $took s"
grep -q "Connection refused" "$WORK/dead.err" || fail "no broker: the outage was not said: $(cat "$WORK/dead.err")"
grep -q "EVE output: kafka $DEAD (topic eve): 0 records written, $records dropped (spool full 0, left at exit $records, refused 0, delivery failed 0)" "$WORK/dead.err" ||
    fail "no broker: summary: $(grep 'EVE output' "$WORK/dead.err")"
echo "kafka, no broker: $records records dropped and counted, the run ended in $took s"

# ---- 3. the cluster goes away mid-run -------------------------------------
# shellcheck disable=SC2086
exits 0 "file run, for part 3" "$WORK/file3.err" "$NJ" -r "$S/demo.pcap" \
    -r "$S/demo-content.pcap" -r "$S/demo-detection.pcap" -o "$WORK/file3.json"
made=$(grep -c . "$WORK/file3.json")
start_mock m2 eve
mkfifo "$WORK/rest.pcap"
"$NJ" -r "$S/demo.pcap" -r "$WORK/rest.pcap" -r "$S/demo-detection.pcap" \
    -s eve-log.filetype=kafka \
    -s eve-log.kafka.brokers="$BOOT" -s eve-log.kafka.topic=eve \
    > "$WORK/gone.err" 2>&1 &
nj_pid=$!
i=0   # records of the first capture reach the cluster
until "$MOCK" consume "$BOOT" eve 2>/dev/null | grep -q event_type; do
    i=$((i + 1)); [ $i -lt 20 ] || fail "cluster gone: nothing reached the cluster before the kill"
    sleep 0.2
done
stop_mock
# the sensor opens the fifo after the first capture; if it has died, the
# open would wait for good
timeout 30 sh -c 'cat "$1" > "$2"' _ "$S/demo-content.pcap" "$WORK/rest.pcap" ||
    fail "cluster gone: the sensor did not read the fifo: $(what_went_wrong "$WORK/gone.err")"
start=$(date +%s)
wait "$nj_pid"; rc=$?; nj_pid=""
took=$(($(date +%s) - start))
[ "$rc" -eq 0 ] || fail "cluster gone: sensor: $(exit_meaning "$rc"): $(what_went_wrong "$WORK/gone.err")"
[ "$took" -lt 20 ] || fail "cluster gone: the run took $took s after the kill"
python3 - "$WORK/gone.err" "$made" <<'PY' || fail "cluster gone: $(grep 'EVE output' "$WORK/gone.err")"
import re, sys
m = re.search(r"EVE output: kafka \S+ \(topic eve\): (\d+) records written, (\d+) dropped", open(sys.argv[1]).read())
made = int(sys.argv[2])
if not m or int(m.group(1)) + int(m.group(2)) != made or not int(m.group(1)) or not int(m.group(2)):
    sys.exit(1)
print("kafka, cluster gone mid-run: %s written + %s dropped = %d made" % (m.group(1), m.group(2), made))
PY
echo "kafka sink: the topic equals the file, keyed by host; drops are counted"
