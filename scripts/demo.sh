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
echo "== one TLS flow record, as written (one JSON object per line in $eve):"
grep '"app_proto":"tls"' "$eve" | head -1
echo
echo "EVE log written to $(pwd)/$eve"
