#!/bin/sh
# infection_traffic.sh -- delivery, a TLS command-and-control channel and
# the incident that joins them, end to end, on traffic made with real tools
# in a network namespace (lib/make-infection-traffic.sh: curl, Python's
# http.server, openssl s_server, a Python TLS client), on both sides of the
# lines:
#   infection: an unsigned PE served as invoice.png from an address, then
#     10 TLS check-ins without SNI to a self-signed default-subject
#     certificate on port 7443 -- a strong delivery alert naming the lie,
#     a c2_channel alert naming its indicators, one "host compromised"
#     alert, one high incident; the workstation that only browses is
#     never named.
#   just under: the same with a real PNG and two check-ins to a
#     self-signed certificate for a host name on port 8443 -- no alert at
#     all (the channel's evidence stays under detect.c2-min-score).
set -eu
. "$(dirname "$0")/lib/common.sh"
need_root
for t in ip tcpdump curl openssl python3; do
    command -v "$t" >/dev/null 2>&1 || skip "$t is not installed"
done
ip netns add "nj-probe-$$" 2>/dev/null || skip "cannot create a network namespace"
ip netns del "nj-probe-$$"
lib=$root/tests/e2e/lib

sh "$lib/make-infection-traffic.sh" "$WORK/infection.pcap" 10 ||
    fail "making the infection traffic failed"
exits 0 "nightjar on the infection" "$WORK/nj.log" "$NJ" -q -r "$WORK/infection.pcap" -o "$WORK/infection.json"
python3 - "$WORK/infection.json" <<'PY' || fail "infection: findings not as expected"
import json, sys
recs = [json.loads(l) for l in open(sys.argv[1])]
alerts = [r for r in recs if r["event_type"] == "alert"]
def ev(r):
    return r["nightjar"]["evidence"]
kinds = sorted(ev(a).get("finding", ev(a)["kind"]) for a in alerts)
print("alerts:", kinds)
delivery = [a for a in alerts if ev(a).get("finding") == "delivery"]
assert len(delivery) == 1, delivery
d = ev(delivery[0])
assert d["host"] == "10.0.0.23" and d.get("strong"), d
for i in ("unsigned", "name_lies", "type_lies", "by_address"):
    assert i in d["indicators"], (i, d["indicators"])
c2 = [a for a in alerts if ev(a).get("finding") == "c2_channel"]
assert c2, "no c2_channel alert"
last = ev(c2[-1])
assert last["peer"] == "198.51.100.9" and last["port"] == 7443, last
for i in ("no_name", "self_signed", "placeholder_cert", "odd_port", "repeated"):
    assert i in last["indicators"], (i, last["indicators"])
comp = [a for a in alerts if a["alert"]["signature_id"] == 9500001]
assert len(comp) == 1 and ev(comp[0])["host"] == "10.0.0.23", comp
assert all(a["nightjar"]["evidence"].get("host", a["src_ip"]) == "10.0.0.23" for a in alerts)
assert not any("10.0.0.31" in (a["src_ip"], a.get("dest_ip")) for a in alerts)
closed = [r["incident"] for r in recs if r["event_type"] == "incident"
          and r["incident"]["state"] == "closed"]
assert len(closed) == 1 and closed[0]["level"] == "high", closed
assert {"delivery", "c2_channel"} <= set(closed[0]["evidence"]), closed[0]
print("incident:", closed[0]["level"], closed[0]["score"], closed[0]["evidence"])
PY

sh "$lib/make-infection-traffic.sh" "$WORK/mild.pcap" 2 mild ||
    fail "making the mild traffic failed"
exits 0 "nightjar on the mild traffic" "$WORK/nj.log" "$NJ" -q -r "$WORK/mild.pcap" -o "$WORK/mild.json"
python3 - "$WORK/mild.json" <<'PY' || fail "just under the lines: something alerted"
import json, sys
recs = [json.loads(l) for l in open(sys.argv[1])]
alerts = [r["alert"]["signature"] for r in recs if r["event_type"] == "alert"]
assert not alerts, alerts
assert any(r["event_type"] == "tls" and r["dest_port"] == 8443 for r in recs)
assert any(r["event_type"] == "fileinfo" and r["fileinfo"]["filename"] == "invoice.png"
           for r in recs)
print("just under: no alert")
PY
echo "infection: delivery, C2 channel, one high incident; just under: silent"
