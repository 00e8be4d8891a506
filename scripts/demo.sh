#!/bin/sh
# demo.sh -- runs the sensor on the shipped samples and shows what it found.
# samples/demo.pcap is real loopback traffic made by
# tests/e2e/lib/make-traffic.sh (TLS 1.3 and 1.2, HTTP, DNS);
# samples/demo-content.pcap by tests/e2e/lib/make-app-traffic.sh (dig, curl
# fetching the EICAR test file and clean files, swaks sending a mail with
# attachments). The shipped YARA rules in rules/ are loaded. Then
# samples/demo-detection.pcap, made by tests/e2e/lib/make-infection-traffic.sh
# in a network namespace: a workstation downloads an unsigned executable
# dressed as invoice.png from a bare address, then checks in over TLS every
# few seconds to a server with a self-signed default certificate -- found
# and joined into one high incident.
set -eu
cd "$(dirname "$0")/.."
eve=build/demo-eve.json
rm -f "$eve"
echo "== build/nightjar -r samples/demo.pcap -r samples/demo-content.pcap --yara rules/ -o $eve"
./build/nightjar -r samples/demo.pcap -r samples/demo-content.pcap --yara rules/ \
    -o "$eve" 2>&1
echo
python3 - "$eve" <<'PY'
import json, sys
ev = [json.loads(l) for l in open(sys.argv[1])]
def show(title, kind, fmt):
    rows = [fmt(e) for e in ev if e["event_type"] == kind]
    print("== %s (%d %s events):" % (title, len(rows), kind))
    for r in rows:
        print("  " + r)
    print()
show("alerts", "alert", lambda e: "%s:%s -> %s:%s  [%s] %s  file=%s sha256=%s..." % (
    e["src_ip"], e["src_port"], e["dest_ip"], e["dest_port"], e["app_proto"],
    e["alert"]["signature"], e.get("fileinfo", {}).get("filename"),
    e.get("fileinfo", {}).get("sha256", "")[:16]))
show("TLS handshakes", "tls", lambda e: "%s:%s -> %s:%s  %s  sni=%s  ja4=%s  ja3=%s" % (
    e["src_ip"], e["src_port"], e["dest_ip"], e["dest_port"], e["tls"].get("version"),
    e["tls"].get("sni"), e["tls"].get("ja4"), e["tls"].get("ja3", {}).get("hash")))
show("DNS", "dns", lambda e: "%s %s %s %s %s" % (
    e["dns"]["type"], e["dns"].get("rrname"), e["dns"].get("rrtype"), e["dns"].get("rcode", ""),
    " ".join(a.get("rdata", "") for a in e["dns"].get("answers", []))))
show("HTTP", "http", lambda e: "%s %s%s -> %s  %s bytes%s" % (
    e["http"].get("http_method"), e["http"].get("hostname", ""), e["http"].get("url"),
    e["http"].get("status"), e["http"].get("length"),
    "  (server looked up as %s)" % e["dest_name"]["rrname"] if "dest_name" in e else ""))
show("mail", "smtp", lambda e: "from %s to %s  subject %r  attachments %s  urls %s" % (
    e["smtp"].get("mail_from"), ",".join(e["smtp"].get("rcpt_to", [])),
    e["email"].get("subject"), e["email"].get("attachment"), e["email"].get("url")))
show("incidents", "incident", lambda e: "#%s %-8s level %-6s score %3s  hosts %s  stages %s  evidence %s" % (
    e["incident"]["id"], e["incident"]["state"], e["incident"]["level"], e["incident"]["score"],
    ",".join(e["incident"]["hosts"]), ",".join(e["incident"]["stages"]),
    ",".join(e["incident"]["evidence"])))
show("files", "fileinfo", lambda e: "%-12s %-28s %7d bytes  sha256 %s..." % (
    e["app_proto"], e["fileinfo"]["filename"] or "-", e["fileinfo"]["size"],
    e["fileinfo"]["sha256"][:16]))
PY
echo "EVE log written to $(pwd)/$eve"
echo
det=build/demo-detection-eve.json
rm -f "$det"
echo "== build/nightjar -r samples/demo-detection.pcap -o $det"
./build/nightjar -r samples/demo-detection.pcap -o "$det" 2>&1 | head -3
echo
python3 - "$det" <<'PY'
import json, sys
ev = [json.loads(l) for l in open(sys.argv[1])]
print("== what nightjar found (alerts, with their evidence):")
for e in ev:
    if e["event_type"] != "alert":
        continue
    x = e["nightjar"]["evidence"]
    print("  %s:%s -> %s:%s  %s" % (e["src_ip"], e.get("src_port", ""), e.get("dest_ip", ""),
                                   e.get("dest_port", ""), e["alert"]["signature"]))
    if x.get("detail"):
        print("      " + x["detail"])
    if x.get("indicators"):
        print("      indicators: " + ", ".join(x["indicators"]))
    if x.get("kind") == "compromise":
        print("      incident %s, detectors %s, stages %s" % (
            x["incident_id"], ", ".join(x["detectors"]), ", ".join(x["stages"])))
print()
print("== incidents:")
for e in ev:
    if e["event_type"] == "incident" and e["incident"]["state"] == "closed":
        i = e["incident"]
        print("  #%s level %s, score %s, hosts %s, stages %s, evidence %s" % (
            i["id"], i["level"], i["score"], ",".join(i["hosts"]), ",".join(i["stages"]),
            ",".join(i["evidence"])))
PY
echo "EVE log written to $(pwd)/$det"
