#!/bin/sh
# icap_squid.sh -- nightjar-icap behind a real Squid (RFC 3507 as Squid 5
# speaks it), everything on 127.0.0.1. Squid sends every request to
# icap://127.0.0.1:PORT/scan for REQMOD and every response for RESPMOD
# (bypass=off: an ICAP failure is an error page, never a silent pass;
# preview on; the client's address in X-Client-IP) and resolves the test
# names from a hosts file of its own: clean-nightjar.test and
# evil-nightjar.test, both 127.0.0.1, where lib/icap_web.py serves (paced
# like a remote server: Squid 5 stalls RESPMOD behind a fast origin, see there)
#   clean.bin    1 MiB of (seeded) random bytes: bigger than any preview,
#                and bigger than Squid buffers, so it sends no Allow: 204
#   clean.txt    a small text file (the whole body fits in the preview)
#   eicar.txt    the EICAR test file (shipped rule EICAR_Test_File)
#   tools.txt    300 KB of clean text, then Mimikatz strings (shipped rule
#                Mimikatz_Strings) -- far past the preview: the whole body
#                must be scanned
#   listed.bin   random bytes whose SHA-256 the intel feed lists
# curl (from 127.0.0.2, so X-Client-IP differs from the ICAP peer
# 127.0.0.1) fetches them through Squid. Expected: the clean files arrive
# byte-identical; the other three are a 403 block page; a request to
# evil-nightjar.test (a domain in the feed) is a 403 block page and never
# reaches the web server; EVE has an icap record for every transaction
# with its verdict and src_ip 127.0.0.2, the SHA-256 of the blocked files,
# and an alert naming the rule or indicator for every block. nightjar-icap
# runs with the shipped rules by default (no --yara). Needs root (Squid
# switches to the proxy user) and squid.
set -eu
. "$(dirname "$0")/lib/common.sh"
[ "$(id -u)" -eq 0 ] || skip "needs root (squid switches to the proxy user)"
command -v squid >/dev/null 2>&1 || skip "squid is not installed (scripts/install-deps.sh)"
for t in curl python3; do
    command -v "$t" >/dev/null 2>&1 || skip "$t is not installed"
done
id proxy >/dev/null 2>&1 || skip "no proxy user (the squid package creates it)"
. "$root/tests/e2e/lib/icap_common.sh"

ports=$(free_ports 3) || fail "no free ports on 127.0.0.1"
set -- $ports
[ $# -eq 3 ] || fail "no free ports on 127.0.0.1 ($ports)"
ICAP_PORT=$1 SQUID_PORT=$2 WEB_PORT=$3
WEB=http://clean-nightjar.test:$WEB_PORT
EVIL=http://evil-nightjar.test:$WEB_PORT

# the files served
www=$WORK/www
mkdir -p "$www"
python3 - "$www" <<'PY'
import random, sys
d = sys.argv[1]
r = random.Random(7)
open(d + "/clean.bin", "wb").write(b"\x00nj" + r.randbytes((1 << 20) - 3))
open(d + "/listed.bin", "wb").write(b"\x00nj" + r.randbytes(4093))
open(d + "/clean.txt", "w").write("a small clean text file, served through Squid\n")
open(d + "/ready.txt", "w").write("ready\n")
with open(d + "/tools.txt", "w") as f:
    for i in range(6000):
        f.write("line %05d of a long and entirely ordinary report\n" % i)
    f.write("mimikatz 2.2.0 (x64) by gentilkiwi\nmimikatz # sekurlsa::logonpasswords\n")
PY
printf '%s' 'X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*' \
    > "$www/eicar.txt"
listed_sha=$(sha256sum "$www/listed.bin" | cut -d' ' -f1)
{
    echo "# nightjar icap_squid.sh test feed"
    echo "evil-nightjar.test"
    echo "$listed_sha"
} > "$WORK/intel.list"

# the web server, logging every request it gets (lib/icap_web.py paces
# the bodies: Squid 5 stalls RESPMOD when a fast origin fills its buffer)
: > "$WORK/web.log"
python3 "$root/tests/e2e/lib/icap_web.py" 127.0.0.1 "$WEB_PORT" "$www" "$WORK/web.log" 90 \
    >"$WORK/web.err" 2>&1 &
bg_pids="$bg_pids $!"
wait_for 30 "the web server listening on $WEB_PORT" port_open "$WEB_PORT"

start_icap "$WORK/icap.err" "$ICAP_PORT" --intel "list:$WORK/intel.list" -o "$WORK/eve.json"

# Squid: no cache, no cache_dir, its files in a directory the proxy user
# owns (WORK itself only traversable), names from its own hosts file, DNS
# (never needed) only to 127.0.0.1, no pinger
sq=$WORK/squid
mkdir -p "$sq"
chmod 711 "$WORK"
printf '127.0.0.1 clean-nightjar.test evil-nightjar.test\n' > "$sq/hosts"
cat > "$sq/squid.conf" <<EOF
http_port 127.0.0.1:$SQUID_PORT
visible_hostname nightjar-e2e.test
pid_filename $sq/squid.pid
access_log stdio:$sq/access.log
cache_log $sq/cache.log
cache_store_log none
coredump_dir $sq
netdb_filename none
pinger_enable off
# 93,2: why an ICAP transaction failed ("callException: ...")
debug_options ALL,1 93,2
hosts_file $sq/hosts
dns_nameservers 127.0.0.1
udp_incoming_address 127.0.0.1
udp_outgoing_address 127.0.0.1
cache deny all
shutdown_lifetime 1 seconds
acl e2e_clients src 127.0.0.0/8
http_access allow e2e_clients
http_access deny all

icap_enable on
icap_send_client_ip on
icap_preview_enable on
icap_service nj_req reqmod_precache icap://127.0.0.1:$ICAP_PORT/scan bypass=off
icap_service nj_resp respmod_precache icap://127.0.0.1:$ICAP_PORT/scan bypass=off
adaptation_access nj_req allow all
adaptation_access nj_resp allow all
EOF
chown -R proxy:proxy "$sq"
squid -N -n "nje2e$$" -f "$sq/squid.conf" >"$sq/stdout" 2>&1 &
squid_pid=$!
bg_pids="$bg_pids $squid_pid"

# fetch OUT URL -- through Squid, from 127.0.0.2; prints the HTTP status
# (000: no answer)
fetch() {
    curl -s --noproxy '' -x "http://127.0.0.1:$SQUID_PORT" --interface 127.0.0.2 \
        --max-time 20 -o "$1" -w '%{http_code}' "$2" 2>/dev/null || true
}
# squid_why FILE -- for a FAIL line: Squid's error page name in the answer
# and the last ICAP exception or warning in its cache.log
squid_why() {
    _e=$(grep -o 'ERR_[A-Z_]*' "$1" 2>/dev/null | head -1)
    _x=$(grep -E "callException|WARNING|ERROR" "$sq/cache.log" 2>/dev/null |
         grep -v "check failed: prime" | tail -1 | sed 's/.*| //')
    printf ' (Squid: %s%s)' "${_e:-no error page}" "${_x:+; cache.log: $_x}"
}
squid_listening() {
    alive "$squid_pid" || fail "squid exited: $(tail -5 "$sq/cache.log" "$sq/stdout" 2>/dev/null)"
    grep -q "Accepting HTTP Socket connections" "$sq/cache.log"
}
wait_for 30 "squid accepting connections" squid_listening
code=$(fetch "$WORK/ready.out" "$WEB/ready.txt")
[ "$code" = 200 ] ||
    fail "first request through Squid: HTTP $code, want 200$(squid_why "$WORK/ready.out")$(icap_note "$WORK/icap.err")"
cmp -s "$WORK/ready.out" "$www/ready.txt" || fail "ready.txt through Squid differs"

got=$WORK/got
mkdir -p "$got"
for f in clean.bin clean.txt; do
    code=$(fetch "$got/$f" "$WEB/$f")
    [ "$code" = 200 ] ||
        fail "$f through Squid: HTTP $code, want 200$(squid_why "$got/$f")$(icap_note "$WORK/icap.err")"
    cmp -s "$got/$f" "$www/$f" ||
        fail "$f through Squid is not byte-identical ($(wc -c < "$got/$f") bytes, want $(wc -c < "$www/$f"))"
done
blocked() {  # blocked NAME URL
    code=$(fetch "$got/$1" "$2")
    [ "$code" = 403 ] ||
        fail "$2 through Squid: HTTP $code, want 403 (blocked)$(squid_why "$got/$1")$(icap_note "$WORK/icap.err")"
    grep -q "blocked by nightjar" "$got/$1" ||
        fail "$2: the 403 is not nightjar's block page: $(head -c 300 "$got/$1")"
}
blocked eicar.txt "$WEB/eicar.txt"
blocked tools.txt "$WEB/tools.txt"
blocked listed.bin "$WEB/listed.bin"
blocked evil.html "$EVIL/payload/stage2.html"
# the web server served every file (so a block was nightjar's, not a
# failed fetch) and never saw the request REQMOD refused
for f in clean.bin clean.txt eicar.txt tools.txt listed.bin; do
    grep -q "^GET /$f HTTP" "$WORK/web.log" || fail "the web server never served /$f"
done
if grep -q "stage2" "$WORK/web.log"; then
    fail "the request to evil-nightjar.test reached the web server: $(grep stage2 "$WORK/web.log")"
fi

# stop Squid, then the server (its EVE complete)
kill -TERM "$squid_pid"
squid_gone() { ! alive "$squid_pid"; }
wait_for 15 "squid stopping" squid_gone
stop_icap "$WORK/icap.err"

python3 - "$WORK/eve.json" "$www" "$listed_sha" <<'PY' || exit 1
import hashlib, json, os, sys
eve, www, listed_sha = sys.argv[1:]
problems = []
def want(cond, what):
    if not cond:
        problems.append(what)
try:
    ev = [json.loads(l) for l in open(eve) if l.strip()]
except (OSError, ValueError) as e:
    print("FAIL: EVE file %s: %s" % (eve, e))
    sys.exit(1)
sha = lambda n: hashlib.sha256(open(os.path.join(www, n), "rb").read()).hexdigest()
icap = [e for e in ev if e.get("event_type") == "icap"]
alerts = [e for e in ev if e.get("event_type") == "alert"]
if not icap:
    print("FAIL: no icap records in EVE (%d records)" % len(ev))
    sys.exit(1)

def sha256s(o):
    """every value of a "sha256" key anywhere in o"""
    out = set()
    if isinstance(o, dict):
        for k, v in o.items():
            if k == "sha256" and isinstance(v, str):
                out.add(v.lower())
            else:
                out |= sha256s(v)
    elif isinstance(o, list):
        for v in o:
            out |= sha256s(v)
    return out
all_sha = sha256s(ev)

want(any(e["icap"].get("method") == "OPTIONS" for e in icap),
     "no icap record of Squid's OPTIONS request")
for e in icap:
    i = e["icap"]
    if i.get("method") in ("REQMOD", "RESPMOD"):
        want(i.get("verdict") in ("pass", "block") and isinstance(i.get("status"), int),
             "icap record without verdict/status: %s" % i)

def records(path, method):
    return [e for e in icap if e["icap"].get("method") == method and
            str(e["icap"].get("url", "")).endswith(path)]

# path: (REQMOD verdict, RESPMOD verdict or None: no RESPMOD at all)
cases = {
    "/ready.txt": ("pass", "pass"),
    "/clean.bin": ("pass", "pass"),
    "/clean.txt": ("pass", "pass"),
    "/eicar.txt": ("pass", "block"),
    "/tools.txt": ("pass", "block"),
    "/listed.bin": ("pass", "block"),
    "/payload/stage2.html": ("block", None),
}
for path, (rq, rs) in cases.items():
    for method, verdict in (("REQMOD", rq), ("RESPMOD", rs)):
        got = records(path, method)
        if verdict is None:
            want(not got, "%s: a RESPMOD record after REQMOD blocked it: %s" % (path, got))
            continue
        want(len(got) == 1, "%s: %d %s records, want 1" % (path, len(got), method))
        for e in got:
            i = e["icap"]
            want(i.get("verdict") == verdict, "%s %s: verdict %s, want %s" % (method, path, i.get("verdict"), verdict))
            # a pass: 204, 200 (the message unchanged), or 206 with the
            # original body (Squid offers Allow: 206 when the service does)
            ok = (200,) if verdict == "block" else (200, 204, 206)
            want(i.get("status") in ok, "%s %s: ICAP status %s, want %s" %
                 (method, path, i.get("status"), " or ".join(map(str, ok))))
            want(e.get("src_ip") == "127.0.0.2",
                 "%s %s: src_ip %s, want 127.0.0.2 (Squid's X-Client-IP)" % (method, path, e.get("src_ip")))
want(sum(1 for e in icap if e["icap"].get("method") in ("REQMOD", "RESPMOD")) ==
     sum(1 if rs is None else 2 for rq, rs in cases.values()),
     "icap REQMOD/RESPMOD records: %s" % [(e["icap"].get("method"), e["icap"].get("url")) for e in icap])

# the blocked files were hashed (the 300 KB one as a whole); a hash given
# for a clean file is its own
for n in ("eicar.txt", "tools.txt", "listed.bin"):
    want(sha(n) in all_sha, "the SHA-256 of %s (%s) is nowhere in EVE" % (n, sha(n)))
for n in ("clean.bin", "clean.txt"):
    given = sha256s(records("/" + n, "RESPMOD"))
    want(not given or given == {sha(n)}, "%s: hashes %s, want %s" % (n, given, sha(n)))

# an alert for every block, naming its rule or indicator, none for the rest
names = {"EICAR_Test_File": 1, "Mimikatz_Strings": 1, listed_sha: 1, "evil-nightjar.test": 1}
for name, n in names.items():
    hit = [a for a in alerts if name in json.dumps(a)]
    want(len(hit) >= n, "no alert naming %s" % name)
for a in alerts:
    text = json.dumps(a)
    want(a.get("src_ip") == "127.0.0.2", "alert src_ip %s, want 127.0.0.2: %s" % (a.get("src_ip"), text[:300]))
    # the incident's "host compromised" alert sums up the blocks' findings
    if a.get("nightjar", {}).get("evidence", {}).get("kind") != "compromise":
        want(any(name in text for name in names), "an alert naming none of the blocks: %s" % text[:400])
    want("/clean." not in text and "/ready.txt" not in text, "an alert on clean content: %s" % text[:400])
if problems:
    print("FAIL: " + "\n  ".join(problems))
    sys.exit(1)
print("icap through squid: %d icap records (%d blocked), %d alerts; clean files byte-identical"
      % (len(icap), sum(1 for e in icap if e["icap"].get("verdict") == "block"), len(alerts)))
PY
