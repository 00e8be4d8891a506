#!/bin/sh
# anomaly_traffic.sh -- host baselines, behaviour models and incidents end
# to end, on real traffic made inside a network namespace this test creates
# (lib/anomaly_lab.py: a normal period of web fetches by four internal
# hosts, then a /24 sweep on 445, an SMB connection from the scanner to a
# workstation, that workstation beaconing out every 0.5 s and uploading
# 24 MB to a new server), captured with tcpdump inside the namespace.
#
# Expected, with a 15 s learning period: the sweep, the lateral movement,
# the beaconing and the exfiltration are each found, as alerts naming the
# right hosts; the scanner and the workstation end in one incident that
# reaches "high"; nothing at all is reported before the attack starts, and
# nothing ever about the two hosts that only browse. Then the baseline
# state: learned from the normal half alone (--state DIR) and loaded for
# the attack half, it still knows the scanner, so the SMB connection is
# lateral movement; without the state the scanner is a new host, still
# learning, and the same connection is not reported.
set -eu
. "$(dirname "$0")/lib/common.sh"
need_root
for t in ip tcpdump python3; do
    command -v "$t" >/dev/null 2>&1 || skip "$t is not installed"
done
ns=nj-anomaly-$$
cleanup() {
    [ -n "${tdpid:-}" ] && kill "$tdpid" 2>/dev/null || true
    wait 2>/dev/null || true
    ip netns del "$ns" 2>/dev/null || true
    rm -rf "$WORK"
}
trap cleanup EXIT INT TERM
ip netns add "$ns" || skip "cannot create a network namespace"
ip -n "$ns" link set lo up
for net in 10.0.0.0/16 198.51.100.0/24 203.0.113.0/24; do
    ip -n "$ns" route add local "$net" dev lo table local
done
# --immediate-mode: without it, packets reach tcpdump in blocks up to 1 s
# late, and the last ones are lost when it is stopped
ip netns exec "$ns" tcpdump -i lo --immediate-mode -U -s 0 -B 32768 -w "$WORK/lab.pcap" tcp \
    >/dev/null 2>"$WORK/tcpdump.log" &
tdpid=$!
for _ in $(seq 1 50); do
    grep -q "listening on" "$WORK/tcpdump.log" 2>/dev/null && break
    sleep 0.1
done
ip netns exec "$ns" python3 "$root/tests/e2e/lib/anomaly_lab.py" 20 > "$WORK/phase2.txt" ||
    fail "the lab traffic failed"
sleep 1
kill "$tdpid"
wait "$tdpid" 2>/dev/null || true
tdpid=""
split=$(cat "$WORK/phase2.txt")
run() { "$NJ" -q --set anomaly.learning-period=15 "$@"; }
run -r "$WORK/lab.pcap" -o "$WORK/eve.json" || fail "sensor run failed: $(exit_meaning $?)"
python3 - "$WORK/eve.json" "$split" <<'PY' || fail "findings not as expected"
import json, sys
from datetime import datetime
recs = [json.loads(l) for l in open(sys.argv[1])]
split = float(sys.argv[2])
def ts(r):
    return datetime.strptime(r["timestamp"], "%Y-%m-%dT%H:%M:%S.%f%z").timestamp()
alerts = [r for r in recs if r["event_type"] == "alert"]
anomalies = [r for r in recs if r["event_type"] == "anomaly"]
incidents = [r for r in recs if r["event_type"] == "incident"]
def ev(r):
    return r["nightjar"]["evidence"] if r["event_type"] == "alert" else r["anomaly"]
found = {}
for r in alerts:
    e = ev(r)
    if e.get("kind") == "behavior":
        found.setdefault(e["finding"], []).append(e)
print("alerts:", {k: len(v) for k, v in found.items()},
      "anomalies:", sorted(set(r["anomaly"]["event"] for r in anomalies)))
def one(kind, host, peer=None):
    hits = [e for e in found.get(kind, []) if e["host"] == host and (peer is None or e.get("peer") == peer)]
    assert hits, "no %s finding for %s (%s)" % (kind, host, found.get(kind))
    return hits[0]
scan = one("scan_horizontal", "10.0.0.66")
assert scan["port"] == 445 and scan["observed"] >= 20, scan
lat = one("lateral_movement", "10.0.0.66", "10.0.0.9")
beacon = one("beaconing", "10.0.0.9", "198.51.100.10")
exfil = one("exfiltration", "10.0.0.9", "203.0.113.50")
assert exfil["observed"] >= 24 << 20 and exfil["deviation"] > 6, exfil
# quiet: nothing before the attack, nothing ever about the browsing hosts
early = [r for r in alerts + anomalies if ts(r) < split - 1]
assert not early, "findings during the normal period: %s" % early[:2]
quiet = [r for r in alerts + anomalies if ev(r).get("host") in ("10.0.0.5", "10.0.0.6")]
assert not quiet, "findings about hosts that only browse: %s" % quiet[:2]
# one incident holds the scanner and the workstation, and reaches high
ids = {scan["incident_id"], lat["incident_id"], beacon["incident_id"], exfil["incident_id"]}
assert len(ids) == 1, ids
inc = [r["incident"] for r in incidents if r["incident"]["id"] in ids]
states = [i["state"] for i in inc]
assert states[0] == "opened" and "escalated" in states and states[-1] == "closed", states
last = inc[-1]
assert last["level"] == "high", last
assert set(last["hosts"]) == {"10.0.0.66", "10.0.0.9"}, last["hosts"]
for stage in ("reconnaissance", "lateral_movement", "command_and_control", "exfiltration"):
    assert stage in last["stages"], (stage, last["stages"])
stats = [r for r in recs if r["event_type"] == "stats"][-1]["stats"]
assert stats["anomaly"]["hosts"] >= 4 and stats["memory"]["anomaly"] > 0, stats["anomaly"]
print("incident", last["id"], last["level"], last["score"], last["stages"])
PY
# the baseline state across a restart
python3 - "$WORK/lab.pcap" "$split" "$WORK/normal.pcap" "$WORK/attack.pcap" <<'PY'
import struct, sys
data = open(sys.argv[1], "rb").read()
split = float(sys.argv[2])
end = "<" if data[:4] == b"\xd4\xc3\xb2\xa1" else ">"
head, off = data[:24], 24
outs = [open(sys.argv[3], "wb"), open(sys.argv[4], "wb")]
for o in outs:
    o.write(head)
while off + 16 <= len(data):
    sec, usec, incl, orig = struct.unpack(end + "IIII", data[off:off + 16])
    rec = data[off:off + 16 + incl]
    outs[sec + usec / 1e6 >= split].write(rec)
    off += 16 + incl
PY
mkdir -p "$WORK/state"
run --state "$WORK/state" -r "$WORK/normal.pcap" -o "$WORK/normal.json" ||
    fail "normal half: $(exit_meaning $?)"
[ -s "$WORK/state/baseline.state" ] || fail "no baseline state written"
[ "$(count '"event_type":"alert"' "$WORK/normal.json")" = 0 ] || fail "alerts in the normal half"
run --state "$WORK/state" -r "$WORK/attack.pcap" -o "$WORK/with.json" ||
    fail "attack half with state: $(exit_meaning $?)"
run -r "$WORK/attack.pcap" -o "$WORK/without.json" ||
    fail "attack half without state: $(exit_meaning $?)"
[ "$(count '"finding":"lateral_movement"' "$WORK/with.json")" -ge 1 ] ||
    fail "with the saved baseline, the SMB connection was not lateral movement"
[ "$(count '"finding":"lateral_movement"' "$WORK/without.json")" = 0 ] ||
    fail "without a baseline, a new host's first connection was reported"
grep -q '"state_loaded_hosts":[1-9]' "$WORK/with.json" || fail "stats do not show the loaded state"
echo "anomaly: scan, lateral movement, beaconing and exfiltration found; one high incident; quiet normal period; state survives a restart"
