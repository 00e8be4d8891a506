#!/bin/sh
# intel_reload.sh -- live capture on lo with a STIX feed, reloaded by SIGHUP
# while the sensor runs: a connection whose SNI the first version of the
# feed does not name gets no alert; after the feed is rewritten and SIGHUP
# sent, the same SNI alerts; after the feed is broken and SIGHUP sent, the
# previous version keeps working and the sensor says why. The sensor never
# stops and the kernel drops nothing.
. "$(dirname "$0")/lib/common.sh"
need_root
command -v openssl >/dev/null || skip "openssl is not installed"
port=28643
feed=$WORK/feed.json
stix() {
    printf '{"type":"bundle","id":"bundle--1","objects":[{"type":"indicator",'
    printf '"spec_version":"2.1","id":"indicator--1","pattern_type":"stix",'
    printf '"pattern":"[domain-name:value = '"'%s'"']"}]}\n' "$1"
}
stix old.reload.test > "$feed"
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$WORK/k.pem" -out "$WORK/c.pem" \
    -days 1 -subj /CN=reload.test >/dev/null 2>&1
openssl s_server -accept "127.0.0.1:$port" -cert "$WORK/c.pem" -key "$WORK/k.pem" \
    -www -quiet >/dev/null 2>&1 &
srv=$!
connect() {
    printf 'GET / HTTP/1.0\r\n\r\n' | timeout 5 openssl s_client -quiet \
        -connect "127.0.0.1:$port" -servername "$1" >/dev/null 2>&1 || true
}
eve=$WORK/eve.json
"$NJ" -i lo -f "tcp port $port" -o "$eve" --intel "stix,name=live:$feed" \
    --set eve-log.stats-interval=1 2>"$WORK/err" &
nj=$!
sleep 2
connect a.new.reload.test                 # not in the feed yet
sleep 0.5
stix new.reload.test > "$feed"
kill -HUP "$nj"
sleep 1.5
connect b.new.reload.test                 # in the reloaded feed
sleep 0.5
echo '{"type":"bundle","objects":[{"type":' > "$feed"
kill -HUP "$nj"
sleep 1.5
connect c.new.reload.test                 # the broken feed keeps the last good one
sleep 1
kill -INT "$nj"
wait "$nj"; rc=$?
kill "$srv" 2>/dev/null
[ "$rc" -eq 0 ] || fail "sensor: $(exit_meaning "$rc"): $(what_went_wrong "$WORK/err")"
grep -q "keeping the previous version" "$WORK/err" ||
    fail "the broken feed was not reported: $(cat "$WORK/err")"
python3 - "$eve" <<'PY' || exit 1
import json, sys
ev = [json.loads(l) for l in open(sys.argv[1])]
alerts = sorted(a["nightjar"]["evidence"]["value"] for a in ev if a["event_type"] == "alert")
problems = []
if alerts != ["b.new.reload.test", "c.new.reload.test"]:
    problems.append("alerts on SNIs %s, want b. and c.new.reload.test" % alerts)
st = [e for e in ev if e["event_type"] == "stats"][-1]["stats"]
feed = st["intel"]["feeds"][0]
if feed["loads"] != 3 or feed["failures"] != 1 or not feed.get("last_error"):
    problems.append("feed status %s" % feed)
if st["capture"]["kernel_drops"]:
    problems.append("kernel drops %d" % st["capture"]["kernel_drops"])
if problems:
    print("FAIL: " + "; ".join(problems))
    sys.exit(1)
print("intel reload: live sensor picked up the new feed on SIGHUP, kept it when "
      "the next one was broken, no drops")
PY
