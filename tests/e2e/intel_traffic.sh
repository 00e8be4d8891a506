#!/bin/sh
# intel_traffic.sh -- threat intelligence end to end on 127.0.0.1: dig asks
# a test resolver for beacon.c2.evil.test, openssl s_client connects (TLS
# 1.2, SNI beacon.c2.evil.test) to an s_server whose certificate names
# c2.evil.test; before that, dig and curl do the same for
# benign.nightjar.test. A
# Zeek intel feed names the domain evil.test, that certificate's SHA-1 and
# the client's JA3 (as tshark computes it). Expected: the alerts for the
# lookup, for the TLS connection by the name it resolved from, for the
# certificate and for the JA3 -- and none for the benign lookup and fetch.
set -eu
. "$(dirname "$0")/lib/common.sh"
need_root
for t in tcpdump dig curl openssl tshark python3; do
    command -v "$t" >/dev/null 2>&1 || skip "$t is not installed"
done
lib=$root/tests/e2e/lib
TLS_PORT=19443 HTTP_PORT=19080
pids=""
cleanup() {
    for p in $pids; do kill "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$WORK"
}
trap cleanup EXIT INT TERM
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$WORK/key.pem" -out "$WORK/cert.pem" \
    -days 2 -subj "/CN=c2.evil.test" -addext "subjectAltName=DNS:c2.evil.test,DNS:*.c2.evil.test" \
    >/dev/null 2>&1
sha1=$(openssl x509 -in "$WORK/cert.pem" -noout -fingerprint -sha1 | cut -d= -f2 | tr -d : | tr A-F a-f)
mkdir -p "$WORK/www" && echo "benign page" > "$WORK/www/index.html"
# --immediate-mode: without it, packets reach tcpdump in blocks up to 1 s
# late, and the last ones are lost when it is stopped
tcpdump -i lo --immediate-mode -U -s 0 -B 16384 -w "$WORK/intel.pcap" \
    "host 127.0.0.1 and (port $TLS_PORT or port $HTTP_PORT or port 53)" \
    >/dev/null 2>"$WORK/tcpdump.log" &
pids="$pids $!"
openssl s_server -accept "127.0.0.1:$TLS_PORT" -cert "$WORK/cert.pem" -key "$WORK/key.pem" \
    -www -quiet >/dev/null 2>&1 &
pids="$pids $!"
(cd "$WORK/www" && exec python3 -m http.server "$HTTP_PORT" --bind 127.0.0.1) >/dev/null 2>&1 &
pids="$pids $!"
python3 "$lib/dns_responder.py" 127.0.0.1 53 4 30 &
pids="$pids $!"
for _ in $(seq 1 50); do
    grep -q "listening on" "$WORK/tcpdump.log" 2>/dev/null &&
        curl -s -o /dev/null "http://127.0.0.1:$HTTP_PORT/" 2>/dev/null && break
    sleep 0.1
done
sleep 0.3
# benign first: every name resolves to 127.0.0.1 here, and the latest
# answer for an address names it, so the order keeps the two apart
dig +tries=1 +time=2 @127.0.0.1 benign.nightjar.test A >/dev/null
curl -s -o /dev/null -H "Host: benign.nightjar.test" "http://127.0.0.1:$HTTP_PORT/index.html"
dig +tries=1 +time=2 @127.0.0.1 beacon.c2.evil.test A >/dev/null
printf 'GET / HTTP/1.0\r\n\r\n' | timeout 10 openssl s_client -quiet -tls1_2 \
    -connect "127.0.0.1:$TLS_PORT" -servername beacon.c2.evil.test >/dev/null 2>&1 || true
sleep 1
kill $pids 2>/dev/null || true
wait 2>/dev/null || true
pids=""

# the client's JA3, as tshark computes it
ja3=$(tshark -n -r "$WORK/intel.pcap" -Y "tls.handshake.type == 1" -T fields \
      -e tls.handshake.ja3 2>/dev/null | head -1)
[ -n "$ja3" ] || fail "tshark found no ClientHello in the capture"
printf '#fields\tindicator\tindicator_type\tmeta.source\tmeta.desc\tmeta.url\n' > "$WORK/feed.intel"
printf 'evil.test\tIntel::DOMAIN\te2e\tC2 domain\t-\n' >> "$WORK/feed.intel"
printf '%s\tIntel::CERT_HASH\te2e\tC2 certificate\t-\n' "$sha1" >> "$WORK/feed.intel"
printf '%s\tIntel::JA3\te2e\tbot client\t-\n' "$ja3" >> "$WORK/feed.intel"
printf 'unrelated.example\tIntel::DOMAIN\te2e\tnot in this traffic\t-\n' >> "$WORK/feed.intel"

"$NJ" -q -r "$WORK/intel.pcap" --intel "zeek,name=e2e-feed:$WORK/feed.intel" \
    -o "$WORK/eve.json" || fail "nightjar: $(exit_meaning $?)"
python3 - "$WORK/eve.json" "$sha1" "$ja3" <<'PY' || exit 1
import json, sys
eve, sha1, ja3 = sys.argv[1:]
ev = [json.loads(l) for l in open(eve)]
alerts = [e for e in ev if e["event_type"] == "alert"]
benign = {e["flow_id"] for e in ev if e["event_type"] in ("http", "dns") and
          "benign" in (e.get("http", {}).get("hostname", "") + e.get("dns", {}).get("rrname", ""))}
got = sorted((a["nightjar"]["evidence"]["event"], a["nightjar"]["evidence"]["field"],
              a["nightjar"]["evidence"]["indicator"], a["nightjar"]["evidence"]["match"])
             for a in alerts)
want = sorted([
    ("dns", "dns.rrname", "evil.test", "subdomain"),
    ("flow", "dest_ip", "evil.test", "resolved"),
    ("tls", "tls.certificates.fingerprint", sha1, "exact"),
    ("tls", "tls.ja3.hash", ja3, "exact"),
])
problems = []
if got != want:
    problems.append("alerts: want\n    %s\n  got\n    %s" % ("\n    ".join(map(str, want)),
                                                          "\n    ".join(map(str, got))))
for a in alerts:
    e = a["nightjar"]["evidence"]
    if a["alert"]["category"] != "Threat intelligence match" or e["feed"] != "e2e-feed":
        problems.append("alert shape: %s" % a["alert"])
    if e["match"] == "resolved" and "resolved from beacon.c2.evil.test" not in e["path"]:
        problems.append("resolved path: %s" % e["path"])
    if a["flow_id"] in benign or "benign" in e["value"]:
        problems.append("an alert on the benign traffic: %s" % e)
tls = [a for a in alerts if a["nightjar"]["evidence"]["event"] in ("tls", "flow")]
if len({a["flow_id"] for a in tls}) != 1:
    problems.append("the TLS alerts are not all on the one TLS flow")
flows = [e for e in ev if e["event_type"] == "flow" and e["flow"]["alerted"]]
if len(flows) != 2:
    problems.append("flows marked alerted: %d, want 2 (the lookup and the TLS connection)" % len(flows))
stats = [e for e in ev if e["event_type"] == "stats"][-1]["stats"]["intel"]
if stats["indicators"] != 4 or stats["feeds"][0]["format"] != "zeek":
    problems.append("stats.intel: %s" % stats)
if problems:
    print("FAIL: " + "\n  ".join(problems))
    sys.exit(1)
print("intel end to end: %d alerts (lookup, resolved address, certificate, JA3), none on "
      "benign traffic" % len(alerts))
PY
