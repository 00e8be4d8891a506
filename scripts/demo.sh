#!/bin/sh
# demo.sh -- runs the sensor on the shipped sample and shows what it found.
# samples/demo.pcap is real loopback traffic made by
# tests/e2e/lib/make-traffic.sh (TLS 1.3 and 1.2, HTTP, DNS).
set -eu
cd "$(dirname "$0")/.."
eve=build/demo-eve.json
rm -f "$eve"
echo "== build/nightjar -r samples/demo.pcap -o $eve"
./build/nightjar -r samples/demo.pcap -o "$eve" 2>&1
echo
echo "== the TLS handshakes it read (tls events, summarised):"
python3 - "$eve" <<'PY'
import json, sys
for line in open(sys.argv[1]):
    ev = json.loads(line)
    if ev["event_type"] != "tls":
        continue
    t = ev["tls"]
    print("  %s:%s -> %s:%s  %s  sni=%s  ja4=%s  ja3=%s  cert=%s%s" % (
        ev["src_ip"], ev["src_port"], ev["dest_ip"], ev["dest_port"],
        t.get("version"), t.get("sni"), t.get("ja4"), t.get("ja3", {}).get("hash"),
        t.get("subject", "(encrypted in TLS 1.3)"),
        " self-signed" if t.get("certificates", [{}])[0].get("self_signed") else ""))
PY
echo
echo "== one flow record, as written (one JSON object per line in $eve):"
grep '"event_type":"flow"' "$eve" | grep '"app_proto":"tls"' | head -1
echo
echo "EVE log written to $(pwd)/$eve"
