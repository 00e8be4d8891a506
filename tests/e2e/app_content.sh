#!/bin/sh
# app_content.sh -- real DNS, HTTP and SMTP on 127.0.0.1 through the sensor:
# dig against a test resolver, curl against a local web server (a file a
# YARA rule matches, clean files gzip-chunked, read-until-close and
# uploaded), swaks sending a multipart mail with attachments to a local
# SMTP sink. Checks the dns/http/smtp events, that every extracted file has
# the SHA-256 of the file that was served or sent, that the EICAR file
# alerts (once per flow) and nothing else does, that the file store holds
# the files, and that flows after the lookup carry the name they resolved.
set -eu
. "$(dirname "$0")/lib/common.sh"
need_root
for t in tcpdump dig curl swaks python3; do
    command -v "$t" >/dev/null 2>&1 || skip "$t is not installed"
done
sh "$root/tests/e2e/lib/make-app-traffic.sh" "$WORK/app.pcap" "$WORK/files" >/dev/null
"$NJ" -q -r "$WORK/app.pcap" --yara "$root/rules" --filestore "$WORK/store" \
    -o "$WORK/eve.json" || fail "nightjar: $(exit_meaning $?)"
python3 - "$WORK/eve.json" "$WORK/files" "$WORK/store" <<'PY' || exit 1
import hashlib, json, os, sys
eve, files, store = sys.argv[1:]
ev = [json.loads(l) for l in open(eve)]
def sha(p): return hashlib.sha256(open(os.path.join(files, p), "rb").read()).hexdigest()
problems = []
def want(cond, what):
    if not cond: problems.append(what)
by = lambda t: [e for e in ev if e["event_type"] == t]

dns = by("dns")
q = [(d["dns"]["rrname"], d["dns"]["rrtype"]) for d in dns if d["dns"]["type"] == "query"]
want(("www.nightjar.test", "A") in q and ("www.nightjar.test", "TXT") in q, "dns queries: %s" % q)
ans = [d["dns"] for d in dns if d["dns"]["type"] == "answer"]
a = [x for x in ans if x["rrtype"] == "A"]
want(a and a[0]["rcode"] == "NOERROR" and a[0]["answers"][0]["rdata"] == "127.0.0.1",
     "dns A answer: %s" % a)
want(any(x["rrtype"] == "TXT" and x["rcode"] == "NXDOMAIN" for x in ans), "dns TXT NXDOMAIN")

http = {h["http"]["url"]: h["http"] for h in by("http")}
for url, method, status in (("/f/eicar.txt", "GET", 200), ("/gz/clean.txt", "GET", 200),
                            ("/dl/report.bin", "GET", 200), ("/upload", "POST", 201)):
    h = http.get(url)
    want(h and h["http_method"] == method and h.get("status") == status,
         "http %s: %s" % (url, h))

fi = by("fileinfo")
def file_for(name, proto):
    return [f for f in fi if f["fileinfo"]["filename"] == name and f["app_proto"] == proto]
for name, src, proto in (("eicar.txt", "eicar.txt", "http"), ("clean.txt", "clean.txt", "http"),
                         ("report.bin", "report.bin", "http"), ("upload", "upload.txt", "http"),
                         ("eicar.txt", "eicar.txt", "smtp"), ("report.bin", "report.bin", "smtp")):
    got = file_for(name, proto)
    want(len(got) == 1 and got[0]["fileinfo"]["sha256"] == sha(src),
         "%s file %s: sha256 %s, want %s" % (proto, name,
         [g["fileinfo"]["sha256"] for g in got], sha(src)))
    if got:
        h = got[0]["fileinfo"]["sha256"]
        p = os.path.join(store, h[:2], h)
        want(os.path.isfile(p) and hashlib.sha256(open(p, "rb").read()).hexdigest() == h,
             "file store lacks %s (%s)" % (name, p))

alerts = by("alert")
sigs = sorted((a["app_proto"], a["alert"]["signature_id"], a["fileinfo"]["filename"]) for a in alerts)
want(sigs == [("http", 9100001, "eicar.txt"), ("smtp", 9100001, "eicar.txt")],
     "alerts: want the EICAR file once over HTTP and once in mail, got %s" % sigs)
for a in alerts:
    want(a["nightjar"]["evidence"]["rule"] == "EICAR_Test_File" and
         a["fileinfo"]["sha256"] == sha("eicar.txt"), "alert evidence: %s" % a.get("nightjar"))

# the two content alerts are one incident of the client (initial access)
inc = [e["incident"] for e in by("incident")]
want([i["state"] for i in inc] == ["opened", "closed"] and
     inc[-1]["evidence"] == ["content"] and inc[-1]["alerts"] == 2 and
     inc[-1]["stages"] == ["initial_access"], "incidents: %s" % inc)

smtp = by("smtp")
want(len(smtp) == 1, "smtp events: %d" % len(smtp))
if smtp:
    s, m = smtp[0]["smtp"], smtp[0]["email"]
    want(s["helo"] == "client.nightjar.test" and s["mail_from"] == "alice@nightjar.test" and
         s["rcpt_to"] == ["bob@nightjar.test", "carol@nightjar.test"], "smtp envelope: %s" % s)
    want(m["status"] == "PARSE_DONE" and m["subject"] == "Rapport \u00e9t\u00e9 quarterly",
         "email subject: %s" % m.get("subject"))
    want(m.get("attachment") == ["eicar.txt", "report.bin"], "attachments: %s" % m.get("attachment"))
    want("https://login.nightjar.test/reset?id=42" in m.get("url", []), "urls: %s" % m.get("url"))

named = [e for e in ev if e["event_type"] == "http" and
         e.get("dest_name", {}).get("rrname") == "www.nightjar.test"]
want(len(named) >= 3, "http events naming the resolved server: %d" % len(named))
if problems:
    print("FAIL: " + "\n  ".join(problems))
    sys.exit(1)
print("app content: %d dns, %d http, %d files, %d alerts, %d smtp; hashes equal the sources"
      % (len(dns), len(http), len(fi), len(alerts), len(smtp)))
PY

# The stream window: what HTTP/1 carries around its bodies -- request lines
# and headers -- is scanned in the raw stream (a rule on curl's User-Agent
# header alerts on each HTTP connection), while the bodies are left to the
# files they make (scanned dechunked and decoded; counted as
# stream_window_body_bytes).
mkdir -p "$WORK/rules-ua"
cat > "$WORK/rules-ua/ua.yar" <<'YAR'
rule Curl_User_Agent { meta: sid = 9199001
  strings: $ua = "User-Agent: curl/" condition: $ua }
YAR
"$NJ" -q -r "$WORK/app.pcap" --yara "$WORK/rules-ua" -o "$WORK/eve-ua.json" ||
    fail "nightjar with a header rule: $(exit_meaning $?)"
python3 - "$WORK/eve-ua.json" <<'PY' || exit 1
import json, sys
ev = [json.loads(l) for l in open(sys.argv[1])]
ua = [e for e in ev if e["event_type"] == "alert" and e["alert"]["signature_id"] == 9199001]
http_flows = {e["flow_id"] for e in ev if e["event_type"] == "http"}
alerted = {e["flow_id"] for e in ua}
if not http_flows or alerted != http_flows or len(ua) != len(http_flows):
    sys.exit("FAIL: the User-Agent rule alerted on %d flows, once each wanted on the %d "
             "HTTP flows" % (len(alerted), len(http_flows)))
if any("fileinfo" in e for e in ua):
    sys.exit("FAIL: a header rule alerted on a file: %s" % ua)
st = [e for e in ev if e["event_type"] == "stats"][-1]["stats"]["content"]
if not st["stream_window_body_bytes"] > 0:
    sys.exit("FAIL: no HTTP body bytes were left to their files: %s" % st)
print("stream window: the header rule alerted once on each of the %d HTTP flows; "
      "%d body bytes left to the files" % (len(http_flows), st["stream_window_body_bytes"]))
PY
