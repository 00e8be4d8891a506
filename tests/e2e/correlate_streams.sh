#!/bin/sh
# correlate_streams.sh -- `nightjar correlate`: two sensors, one host seen by
# both, one central incident, whether their EVE travels through Kafka
# (librdkafka's mock cluster, tests/tools/kafka_mock), Redis (Debian's
# redis-server on 127.0.0.1, a free port, no persistence) or a file.
#
# The case: labelled/agenttesla-f9421792.pcap, one infected host
# (192.168.100.164) that logs in to an outside FTP server in the clear and
# uploads its loot (cleartext_exfil, 35 points), and talks to ip-api.com
# like a bot (c2_channel, 40 points). Split by BPF into the FTP control
# connection (sensor A: "tcp port 21") and everything else (sensor B), as
# two links each with a sensor would see it: each sensor alone opens one
# incident that stays "medium" and never writes the host-compromised
# alert; together the two independent detectors make one incident "high"
# (score 75) and one compromise alert. Splitting by packet ranges was the
# other choice, not taken: it cuts connections in two and changes what each
# half's detectors see. The two sensors run one after the other, so every
# transport carries the same records in the same order, and the central
# output must then be the same, byte for byte, from each.
#
# 1. Each sensor alone: one incident, medium, no compromise alert.
# 2. --from FILE (the two EVE files concatenated) and --from - (stdin):
#    exactly opened (medium) / escalated (high, 75, both kinds) /
#    compromise alert 9500001 / closed (end of input) for incident 1 and
#    the host, at the records' traffic times; the summary counts every
#    record, the 2 findings and the 4 skipped sensor incident records; a
#    garbage line is counted as malformed and changes nothing.
# 3. --from kafka: the sensors produce to one topic (6 partitions); the
#    correlator, a consumer group member, writes the same output; run again
#    in the same group it reads nothing (offsets committed), in a new group
#    everything again.
# 4. --from redis: stream mode (XREADGROUP; again in the same group:
#    nothing, all acknowledged) and list mode (popped in push order): the
#    same output.
# 5. Errors, exit 2 with a message: no --from, a missing file, brokers or a
#    Redis server that do not answer.
. "$(dirname "$0")/lib/common.sh"
command -v python3 >/dev/null || skip "python3 is not installed"
command -v tcpdump >/dev/null || skip "tcpdump is not installed"
command -v redis-server >/dev/null || skip "redis-server is not installed"
command -v redis-cli >/dev/null || skip "redis-cli is not installed"
corpus=${NIGHTJAR_CORPUS:-$root/../shared/corpus}
CAP=$corpus/labelled/agenttesla-f9421792.pcap
[ -f "$CAP" ] || skip "$CAP is missing (the public captures this test reads)"
MOCK=$root/build/tools/kafka_mock
[ -x "$MOCK" ] || fail "no $MOCK: run make"
HOST=192.168.100.164

mock_pid="" hold_pid="" redis_pid=""
cleanup() {
    for p in $mock_pid $hold_pid $redis_pid; do
        kill "$p" 2>/dev/null
    done
    rm -rf "$WORK"
}
trap cleanup EXIT


# correlate WHAT OUTFILE ARGS... -- nightjar correlate, exit 0 expected;
# its stderr (the summary) in OUTFILE.err
correlate() {
    _what=$1 _out=$2
    shift 2
    rm -f "$_out"
    exits 0 "$_what" "$_out.err" "$NJ" correlate "$@" -o "$_out"
}

# summary_is ERRFILE RECORDS FINDINGS SKIPPED MALFORMED -- the counts said
summary_is() {
    grep -q ": $2 records read: $3 findings, $4 skipped (the sensors' own incidents and host-compromised alerts), [0-9]* other, $5 malformed" "$1" ||
        fail "summary: expected $2 records, $3 findings, $4 skipped, $5 malformed: $(cat "$1")"
}

# ---- 1. two sensors, each alone below high --------------------------------
tcpdump -r "$CAP" -w "$WORK/ftp.pcap" 'tcp port 21' 2>/dev/null || fail "tcpdump could not split $CAP"
tcpdump -r "$CAP" -w "$WORK/rest.pcap" 'not tcp port 21' 2>/dev/null || fail "tcpdump could not split $CAP"
exits 0 "sensor A" "$WORK/a.err" "$NJ" -r "$WORK/ftp.pcap" -o "$WORK/a.json"
exits 0 "sensor B" "$WORK/b.err" "$NJ" -r "$WORK/rest.pcap" -o "$WORK/b.json"
for s in a b; do
    assert_eq "$(count '"event_type":"incident".*"state":"opened"' "$WORK/$s.json")" 1 "sensor $s: incidents opened"
    assert_eq "$(count '"level":"high"' "$WORK/$s.json")" 0 "sensor $s: high incident records"
    assert_eq "$(count '"signature_id":9500001' "$WORK/$s.json")" 0 "sensor $s: compromise alerts"
done
grep -q '"finding":"cleartext_exfil"' "$WORK/a.json" || fail "sensor A: no cleartext_exfil finding"
grep -q '"finding":"c2_channel"' "$WORK/b.json" || fail "sensor B: no c2_channel finding"
cat "$WORK/a.json" "$WORK/b.json" > "$WORK/ab.json"
records=$(grep -c . "$WORK/ab.json")
echo "two sensors: A (FTP) and B (the rest) each open one medium incident for $HOST"

# sensors_to NAME ARGS...: sensor A on the FTP half and B on the rest,
# each with ARGS (its sink), exit 0 expected
sensors_to() {
    name=$1
    shift
    for s in a b; do
        pcap=$WORK/ftp.pcap
        [ $s = b ] && pcap=$WORK/rest.pcap
        exits 0 "sensor $s to $name" "$WORK/$s-$name.err" "$NJ" -r "$pcap" "$@"
    done
}

# ---- 2. from a file --------------------------------------------------------
correlate "--from FILE" "$WORK/file.json" --from "$WORK/ab.json"
summary_is "$WORK/file.json.err" "$records" 2 4 0
grep -q "incidents: 1 opened, 1 high (host compromised), 1 escalated, 1 closed; 4 EVE records written" "$WORK/file.json.err" ||
    fail "--from FILE: summary: $(cat "$WORK/file.json.err")"
python3 - "$WORK/file.json" "$HOST" "$WORK/a.json" <<'PY' || fail "--from FILE: the central records are wrong"
import json, sys
recs = [json.loads(l) for l in open(sys.argv[1])]
host = sys.argv[2]
def bad(msg):
    sys.exit("FAIL: %s; records: %s" % (msg, json.dumps(recs)[:2000]))
if len(recs) != 4:
    bad("%d records, expected 4" % len(recs))
# an incident's id is a hash of its first host and opening time: the
# central incident opened with sensor A's finding, so it has the id sensor
# A gave its own incident for the host
a_ids = {json.loads(l)["incident"]["id"] for l in open(sys.argv[3])
         if '"event_type":"incident"' in l}
if len(a_ids) != 1:
    bad("sensor A: incident ids %s, expected one" % a_ids)
iid = a_ids.pop()
if not 0 < iid < 2 ** 53:
    bad("incident id %s out of range" % iid)
want = [("opened", "medium", 35, 1, ["cleartext_exfil"], "2024-03-07T19:00:49.565184+0000"),
        ("escalated", "high", 75, 2, ["c2_channel", "cleartext_exfil"], "2024-03-07T19:00:50.615632+0000")]
for r, (state, level, score, findings, evidence, ts) in zip(recs[:2], want):
    i = r.get("incident", {})
    got = (r["event_type"], i.get("id"), i.get("state"), i.get("level"), i.get("score"),
           i.get("findings"), i.get("hosts"), i.get("evidence"), r["timestamp"])
    exp = ("incident", iid, state, level, score, findings, [host], evidence, ts)
    if got != exp:
        bad("expected %s, got %s" % (exp, got))
a = recs[2]
ev = a.get("nightjar", {}).get("evidence", {})
got = (a["event_type"], a.get("alert", {}).get("signature_id"), ev.get("host"), ev.get("incident_id"),
       ev.get("score"), sorted(ev.get("detectors", [])), a["timestamp"])
exp = ("alert", 9500001, host, iid, 75, ["c2_channel", "cleartext_exfil"], "2024-03-07T19:00:50.615632+0000")
if got != exp:
    bad("compromise alert: expected %s, got %s" % (exp, got))
c = recs[3].get("incident", {})
got = (c.get("id"), c.get("state"), c.get("reason"), c.get("level"), c.get("hosts"), recs[3]["timestamp"])
exp = (iid, "closed", "end of input", "high", [host], "2024-03-07T19:03:01.358272+0000")
if got != exp:
    bad("closed: expected %s, got %s" % (exp, got))
PY
echo "--from FILE: one incident (sensor A's id) for $HOST: opened medium, escalated high (75), compromise alert, closed"

rm -f "$WORK/stdin.json"
"$NJ" correlate --from - -o "$WORK/stdin.json" < "$WORK/ab.json" > "$WORK/stdin.err" 2>&1 ||
    fail "--from -: $(exit_meaning $?): $(what_went_wrong "$WORK/stdin.err")"
cmp -s "$WORK/stdin.json" "$WORK/file.json" || fail "--from - differs from --from FILE"
{ echo 'not json at all'; cat "$WORK/ab.json"; echo '{"event_type":"alert"'; } > "$WORK/junk.json"
correlate "--from FILE with garbage" "$WORK/junk-out.json" --from "$WORK/junk.json"
summary_is "$WORK/junk-out.json.err" $((records + 2)) 2 4 2
cmp -s "$WORK/junk-out.json" "$WORK/file.json" || fail "garbage lines changed the incidents"
echo "--from -: the same; 2 garbage lines counted as malformed, nothing else changed"

# ---- 3. from kafka ---------------------------------------------------------
mkfifo "$WORK/mock.in"
sleep 3600 > "$WORK/mock.in" &       # the mock's stdin: open until we kill it
hold_pid=$!
"$MOCK" serve 3 eve 6 < "$WORK/mock.in" > "$WORK/mock.boot" 2> "$WORK/mock.err" &
mock_pid=$!
i=0
until [ -s "$WORK/mock.boot" ]; do
    i=$((i + 1))
    if ! kill -0 "$mock_pid" 2>/dev/null; then
        wait "$mock_pid"; rc=$?
        [ "$rc" -eq 77 ] && skip "librdkafka's mock cluster is missing: $(cat "$WORK/mock.boot")"
        fail "kafka_mock serve: exit $rc: $(cat "$WORK/mock.err")"
    fi
    [ $i -lt 100 ] || fail "kafka_mock did not start"
    sleep 0.1
done
grep -q '^skipped:' "$WORK/mock.boot" && skip "$(cat "$WORK/mock.boot")"
BOOT=$(head -1 "$WORK/mock.boot")
KAFKA="-s eve-log.kafka.brokers=$BOOT -s eve-log.kafka.topic=eve"
# shellcheck disable=SC2086
sensors_to kafka -s eve-log.filetype=kafka $KAFKA
# shellcheck disable=SC2086
correlate "--from kafka" "$WORK/kafka.json" --from kafka $KAFKA --idle-exit 3
summary_is "$WORK/kafka.json.err" "$records" 2 4 0
cmp -s "$WORK/kafka.json" "$WORK/file.json" ||
    fail "--from kafka differs from --from FILE: $(diff "$WORK/kafka.json" "$WORK/file.json" | head -5)"
# shellcheck disable=SC2086
correlate "--from kafka, again" "$WORK/kafka2.json" --from kafka $KAFKA --idle-exit 3
summary_is "$WORK/kafka2.json.err" 0 0 0 0
assert_eq "$(grep -c . "$WORK/kafka2.json")" 0 "--from kafka again in the same group: records written"
# shellcheck disable=SC2086
correlate "--from kafka, another group" "$WORK/kafka3.json" --from kafka $KAFKA \
    --set correlate.group=second-centre --idle-exit 3
cmp -s "$WORK/kafka3.json" "$WORK/file.json" || fail "--from kafka in a new group differs from --from FILE"
grep -q "group second-centre" "$WORK/kafka3.json.err" || fail "the group is not named: $(cat "$WORK/kafka3.json.err")"
echo "--from kafka: the same incident; offsets committed (nothing again in the group), all again in a new group"

# ---- 4. from redis ---------------------------------------------------------
RPORT=$(free_ports 1)
start_redis() {
    redis-server --bind 127.0.0.1 --port "$RPORT" --save "" --appendonly no \
        --dir "$WORK" --logfile "$WORK/redis.log" --daemonize no &
    redis_pid=$!
    i=0
    until [ "$(redis-cli -h 127.0.0.1 -p "$RPORT" PING 2>/dev/null)" = "PONG" ]; do
        i=$((i + 1))
        [ $i -lt 100 ] || fail "redis-server did not start on port $RPORT: $(tail -3 "$WORK/redis.log")"
        sleep 0.1
    done
}
start_redis
for mode in stream list; do
    REDIS="-s eve-log.redis.server=127.0.0.1 -s eve-log.redis.port=$RPORT -s eve-log.redis.mode=$mode -s eve-log.redis.key=eve-$mode"
    # shellcheck disable=SC2086
    sensors_to "redis-$mode" -s eve-log.filetype=redis $REDIS
    # shellcheck disable=SC2086
    correlate "--from redis ($mode)" "$WORK/redis-$mode.json" --from redis $REDIS --idle-exit 1
    summary_is "$WORK/redis-$mode.json.err" "$records" 2 4 0
    cmp -s "$WORK/redis-$mode.json" "$WORK/file.json" ||
        fail "--from redis ($mode) differs from --from FILE: $(diff "$WORK/redis-$mode.json" "$WORK/file.json" | head -5)"
    # shellcheck disable=SC2086
    correlate "--from redis ($mode), again" "$WORK/redis-$mode-2.json" --from redis $REDIS --idle-exit 1
    summary_is "$WORK/redis-$mode-2.json.err" 0 0 0 0
done
assert_eq "$(redis-cli -h 127.0.0.1 -p "$RPORT" XPENDING eve-stream nightjar-correlate | head -1)" 0 "stream entries left unacknowledged"
assert_eq "$(redis-cli -h 127.0.0.1 -p "$RPORT" XLEN eve-stream)" "$records" "stream length (the correlator never writes to it)"
echo "--from redis: stream (every entry acknowledged) and list: the same incident"

# Redis goes away under a waiting correlator and comes back: it connects
# again and reads what the sensors then write
REDIS="-s eve-log.redis.server=127.0.0.1 -s eve-log.redis.port=$RPORT -s eve-log.redis.mode=list -s eve-log.redis.key=eve-back"
# shellcheck disable=SC2086
"$NJ" correlate --from redis $REDIS --idle-exit 6 -o "$WORK/redis-back.json" \
    2>"$WORK/redis-back.json.err" &
cpid=$!
sleep 0.5
kill "$redis_pid"
wait "$redis_pid" 2>/dev/null || true
sleep 2
start_redis
# shellcheck disable=SC2086
sensors_to redis-back -s eve-log.filetype=redis $REDIS
wait "$cpid" || fail "the correlator across a Redis restart exited $?: $(cat "$WORK/redis-back.json.err")"
grep -q "connecting again" "$WORK/redis-back.json.err" ||
    fail "the correlator did not see Redis go: $(cat "$WORK/redis-back.json.err")"
# a connect after the loss, not the first one
awk '/connecting again/ { lost = 1 } lost && /: connected/ { ok = 1 } END { exit !ok }' \
    "$WORK/redis-back.json.err" ||
    fail "the correlator did not connect again: $(cat "$WORK/redis-back.json.err")"
cmp -s "$WORK/redis-back.json" "$WORK/file.json" ||
    fail "--from redis across a Redis restart differs from --from FILE"
echo "--from redis: Redis stopped and started again under the correlator: it connected again, the same incident"

# ---- 5. errors -------------------------------------------------------------
expect2() { # expect2 WHAT PATTERN ARGS...
    _what=$1 _pat=$2
    shift 2
    exits 2 "$_what" "$WORK/err.out" "$NJ" correlate "$@" -o "$WORK/never.json"
    grep -q -- "$_pat" "$WORK/err.out" || fail "$_what: no '$_pat' in: $(cat "$WORK/err.out")"
}
DEAD=$(free_ports 1)
expect2 "no --from" "--from is required"
expect2 "missing file" "cannot read $WORK/none.json" --from "$WORK/none.json"
expect2 "no brokers" "cannot reach the brokers" --from kafka -s eve-log.kafka.brokers="127.0.0.1:$DEAD"
expect2 "empty topic" "cannot be empty" --from kafka -s eve-log.kafka.topic=
expect2 "options that would store offsets before records are handled" \
    "enable.auto.offset.store=true cannot be used" --from kafka \
    -s eve-log.kafka.options=enable.auto.offset.store=true
expect2 "a group set in the options" "correlate.group" --from kafka \
    -s eve-log.kafka.options="linger.ms=5, group.id=elsewhere"
expect2 "no redis" "Connection refused" --from redis -s eve-log.redis.port="$DEAD"
expect2 "bad redis mode" "eve-log.redis.mode" --from redis -s eve-log.redis.mode=carrier-pigeon
[ ! -e "$WORK/never.json" ] || fail "an output was made by a run that failed to start"
echo "errors: exit 2 with a message for no --from, a missing file, no brokers, an empty topic, Kafka options that would break delivery, no Redis, a bad mode"
echo "correlate: two sensors' findings about one host make one central incident, from a file, Kafka and Redis alike"
