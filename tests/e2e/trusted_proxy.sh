#!/bin/sh
# trusted_proxy.sh -- the sensor behind a TLS-terminating proxy, end to end
# on 127.0.0.1 with real traffic captured by tcpdump on lo.
#
# Trusted proxies: curl from 127.0.0.1 plays the proxy and sends requests
# naming their client in X-Forwarded-For or Forwarded to a python origin
# server; curl from 127.0.0.2 (not trusted) sends a forged X-Forwarded-For.
# A Zeek intel feed lists the domain proxied.test, and one proxied request
# fetches the EICAR file. With anomaly.trusted-proxies=127.0.0.1 each
# intel and YARA alert carries "xff": the forwarded client, and the
# incident it joined names that client; the forged header moves nothing;
# without the setting every finding stays with 127.0.0.1 / 127.0.0.2.
#
# Decrypted feed: plain HTTP served on 127.0.0.1:443. Without the setting
# the anomaly proto_mismatch ("HTTP on TCP port 443, where TLS is
# expected") is reported; with capture.decrypted-feed=yes (or the port
# listed in capture.decrypted-feed-ports) it is not, and the flow and http
# records of that flow carry "decrypted_feed": true.
set -eu
. "$(dirname "$0")/lib/common.sh"
need_root
for t in tcpdump curl python3; do
    command -v "$t" >/dev/null 2>&1 || skip "$t is not installed"
done
ORIGIN=19280 TLSPORT=443
pids=""
cleanup() {
    for p in $pids; do kill "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
    [ -n "${KEEP:-}" ] || rm -rf "$WORK"
}
trap cleanup EXIT INT TERM
if python3 -c "import socket,sys; s=socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind(('127.0.0.1', $TLSPORT))" 2>/dev/null; then :; else
    fail "127.0.0.1:$TLSPORT is taken: the decrypted-feed check needs plain HTTP on 443"
fi
mkdir -p "$WORK/www"
echo "page" > "$WORK/www/index.html"
printf '%s' 'X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*' \
    > "$WORK/www/eicar.txt"
tcpdump -i lo --immediate-mode -U -s 0 -B 16384 -w "$WORK/proxy.pcap" \
    "port $ORIGIN or port $TLSPORT" >/dev/null 2>"$WORK/tcpdump.log" &
pids="$pids $!"
(cd "$WORK/www" && exec python3 -m http.server "$ORIGIN" --bind 127.0.0.1) >/dev/null 2>&1 &
pids="$pids $!"
(cd "$WORK/www" && exec python3 -m http.server "$TLSPORT" --bind 127.0.0.1) >/dev/null 2>&1 &
pids="$pids $!"
for _ in $(seq 1 50); do
    grep -q "listening on" "$WORK/tcpdump.log" 2>/dev/null &&
        curl -s -o /dev/null "http://127.0.0.1:$ORIGIN/" 2>/dev/null &&
        python3 -c "import socket; socket.create_connection(('127.0.0.1', $TLSPORT), 1)" \
            2>/dev/null && break  # a bare connection: no HTTP on 443 yet
    sleep 0.1
done
sleep 0.3
get() { # get FROM HOST PATH [HEADER...]
    _from=$1 _host=$2 _path=$3
    shift 3
    curl -s -o /dev/null --interface "$_from" -H "Host: $_host" "$@" \
        "http://127.0.0.1:$ORIGIN$_path" || fail "curl $_host$_path failed"
}
# through the trusted proxy: one client, a chain, Forwarded with IPv6
get 127.0.0.1 a.proxied.test /index.html -H "X-Forwarded-For: 10.9.8.7"
get 127.0.0.1 d.proxied.test /index.html \
    -H "X-Forwarded-For: 6.6.6.6, 10.9.8.8, 127.0.0.1"
get 127.0.0.1 c.proxied.test /index.html -H 'Forwarded: for="[2001:db8::7]:5555"'
get 127.0.0.1 files.example.test /eicar.txt -H "X-Forwarded-For: 10.9.8.9"
# from a host that is no proxy, a forged header
get 127.0.0.2 b.proxied.test /index.html -H "X-Forwarded-For: 10.6.6.6"
# plain HTTP on 443, as on the decrypted side of an interception box
curl -s -o /dev/null "http://127.0.0.1:$TLSPORT/index.html" || fail "curl :443 failed"
sleep 1
kill $pids 2>/dev/null || true
wait 2>/dev/null || true
pids=""

printf '#fields\tindicator\tindicator_type\tmeta.source\tmeta.desc\tmeta.url\n' > "$WORK/feed.intel"
printf 'proxied.test\tIntel::DOMAIN\te2e\tbad site\t-\n' >> "$WORK/feed.intel"
run() { # run OUT SETTING...
    _out=$1
    shift
    exits 0 "nightjar $*" "$WORK/run.log" "$NJ" -q -r "$WORK/proxy.pcap" \
        --intel "zeek,name=e2e:$WORK/feed.intel" \
        -s anomaly.home-nets=127.0.0.0/8,10.0.0.0/8,2001:db8::/32 "$@" -o "$_out"
}
run "$WORK/trusted.json" -s anomaly.trusted-proxies=127.0.0.1
run "$WORK/plain.json"
run "$WORK/feed.json" -s capture.decrypted-feed=yes
run "$WORK/ports.json" -s capture.decrypted-feed-ports=443

python3 - "$WORK" "$ORIGIN" <<'PY' || exit 1
import json, os, sys
work, origin = sys.argv[1], int(sys.argv[2])

def load(name):
    return [json.loads(l) for l in open(os.path.join(work, name))]

def fail(msg):
    print("FAIL: " + msg)
    sys.exit(1)

def attribution(ev):
    """{request host name: (alert xff, incident hosts)} for each alert"""
    incidents = {}
    for e in ev:
        if e["event_type"] == "incident":
            incidents.setdefault(e["incident"]["id"], e["incident"]["hosts"])
    out = {}
    for e in ev:
        if e["event_type"] != "alert" or e["nightjar"]["evidence"]["kind"] == "compromise":
            continue
        name = e.get("http", {}).get("hostname") or e["nightjar"]["evidence"].get("value")
        inc = e["nightjar"]["evidence"].get("incident_id")
        out[name] = (e.get("xff"), incidents.get(inc), e["src_ip"])
    return out

def check(ev, want, what):
    got = attribution(ev)
    if got != want:
        fail("%s: want %s, got %s" % (what, want, got))

trusted, plain = load("trusted.json"), load("plain.json")
check(trusted, {
    "a.proxied.test": ("10.9.8.7", ["10.9.8.7"], "127.0.0.1"),
    "d.proxied.test": ("10.9.8.8", ["10.9.8.8"], "127.0.0.1"),
    "c.proxied.test": ("2001:db8::7", ["2001:db8::7"], "127.0.0.1"),
    "files.example.test": ("10.9.8.9", ["10.9.8.9"], "127.0.0.1"),
    "b.proxied.test": (None, ["127.0.0.2"], "127.0.0.2"),
}, "trusted proxy 127.0.0.1")
check(plain, {
    "a.proxied.test": (None, ["127.0.0.1"], "127.0.0.1"),
    "d.proxied.test": (None, ["127.0.0.1"], "127.0.0.1"),
    "c.proxied.test": (None, ["127.0.0.1"], "127.0.0.1"),
    "files.example.test": (None, ["127.0.0.1"], "127.0.0.1"),
    "b.proxied.test": (None, ["127.0.0.2"], "127.0.0.2"),
}, "no trusted proxy")
# the proxy is no longer "compromised" by what its clients did: without the
# setting its intel and YARA findings agree on one host
def compromised(ev):
    return [e["nightjar"]["evidence"]["host"] for e in ev if e["event_type"] == "alert"
            and e["nightjar"]["evidence"]["kind"] == "compromise"]
if compromised(plain) != ["127.0.0.1"] or compromised(trusted) != []:
    fail("compromised hosts: want 127.0.0.1 without and none with trusted proxies, "
         "got %s and %s" % (compromised(plain), compromised(trusted)))
# the EICAR alert is the YARA rule's
yara = [e for e in trusted if e["event_type"] == "alert" and
        e["nightjar"]["evidence"]["kind"] == "yara"]
if [e["alert"]["signature_id"] for e in yara] != [9100001]:
    fail("want one EICAR alert, got %s" % [e["alert"] for e in yara])
# http and fileinfo records: "xff" the resolved client, "http.xff" the header
http = {e["http"]["hostname"]: (e.get("xff"), e["http"].get("xff"), e["http"].get("forwarded"))
        for e in trusted if e["event_type"] == "http" and e["dest_port"] == origin}
want = {"a.proxied.test": ("10.9.8.7", "10.9.8.7", None),
        "d.proxied.test": ("10.9.8.8", "6.6.6.6, 10.9.8.8, 127.0.0.1", None),
        "c.proxied.test": ("2001:db8::7", None, 'for="[2001:db8::7]:5555"'),
        "files.example.test": ("10.9.8.9", "10.9.8.9", None),
        "b.proxied.test": (None, "10.6.6.6", None)}
for k, v in want.items():
    if http.get(k) != v:
        fail("http record of %s: want %s, got %s" % (k, v, http.get(k)))
fi = [e.get("xff") for e in trusted if e["event_type"] == "fileinfo"
      and e["http"]["hostname"] == "files.example.test"]
if fi != ["10.9.8.9"]:
    fail("fileinfo of the EICAR download: want xff 10.9.8.9, got %s" % fi)
if any("xff" in e for e in plain):
    fail("without trusted proxies a record carries a top-level xff")
st = [e["stats"] for e in trusted if e["event_type"] == "stats"][-1]
if (st["proxy"]["resolved"], st["proxy"]["untrusted"]) != (4, 1):
    fail("stats.proxy: want 4 resolved, 1 untrusted, got %s" % st["proxy"])

# decrypted feed
def mismatches(ev):
    return [e["anomaly"]["detail"] for e in ev if e["event_type"] == "anomaly"
            and e["anomaly"]["event"] == "proto_mismatch"]

def on_443(ev, kinds):
    return sorted((e["event_type"], e.get("decrypted_feed")) for e in ev
                  if e["event_type"] in kinds and e.get("dest_port") == 443
                  and e.get("app_proto") == "http")

if mismatches(plain) != ["http on TCP port 443, where TLS is expected"]:
    fail("without decrypted-feed: want one proto_mismatch, got %s" % mismatches(plain))
if on_443(plain, ("flow", "http")) != [("flow", None), ("http", None)]:
    fail("without decrypted-feed the records say decrypted_feed: %s" % on_443(plain, ("flow", "http")))
for name in ("feed.json", "ports.json"):
    ev = load(name)
    if mismatches(ev):
        fail("%s: a proto_mismatch on a decrypted feed: %s" % (name, mismatches(ev)))
    if on_443(ev, ("flow", "http")) != [("flow", True), ("http", True)]:
        fail("%s: records on 443: %s" % (name, on_443(ev, ("flow", "http"))))
ports = load("ports.json")
other = {e.get("decrypted_feed") for e in ports
         if e["event_type"] == "flow" and e["dest_port"] == origin}
if other != {None}:
    fail("decrypted-feed-ports=443 marked flows to port %d: %s" % (origin, other))
alerts_feed = {e.get("decrypted_feed") for e in load("feed.json") if e["event_type"] == "alert"}
if alerts_feed != {True}:
    fail("decrypted-feed=yes: alert records carry decrypted_feed %s" % alerts_feed)
print("ok: findings of proxied requests go to the forwarded client (IPv4, a chain, "
      "Forwarded IPv6, a YARA file), a forged header moves nothing; HTTP on 443 of a "
      "decrypted feed is no mismatch and its records say decrypted_feed")
PY
