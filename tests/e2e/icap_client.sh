#!/bin/sh
# icap_client.sh -- nightjar-icap against a second, independent ICAP
# client: c-icap-client (Debian package c-icap), on 127.0.0.1. Every
# request carries X-Client-IP: 192.0.2.7. The server runs with its own
# rule directory (the shipped rules/default.yar and a rule of this test's)
# and a plain list feed (a domain, a URL, a file's SHA-256). Checked:
#   OPTIONS      200 with Methods (REQMOD and RESPMOD), ISTag, Allow: 204,
#                Preview, Transfer-Preview: *, Options-TTL, Max-Connections;
#                the same ISTag twice
#   RESPMOD      a 1 MiB clean file with a preview (-w 1024) and without
#                (-nopreview): 204; without Allow: 204 (-no204), and with
#                Allow: 206 alone (as Squid asks for big bodies): 200 and
#                the message byte-identical; a small clean file: 204;
#                EICAR and Mimikatz strings (shipped rules), a 200 KB file
#                whose end this test's rule matches and the listed file:
#                200 with an HTTP 403 block page
#   REQMOD       a subdomain of the listed domain and the listed URL, with
#                and without preview: 200 with an HTTP 403 block page; a
#                clean URL, and a POST with a clean body: 204
#   reload       a domain added to the feed, SIGHUP: OPTIONS answers a new
#                ISTag and a request to that domain, passed before, is
#                blocked; SIGTERM stops the server with exit 0
#   EVE          one icap record per transaction (method, url, status,
#                verdict, src_ip 192.0.2.7), one per OPTIONS, the blocked
#                files' SHA-256, an alert naming the rule or indicator of
#                every block and none for clean traffic.
set -eu
. "$(dirname "$0")/lib/common.sh"
command -v c-icap-client >/dev/null 2>&1 ||
    skip "c-icap-client is not installed (package c-icap, scripts/install-deps.sh)"
command -v python3 >/dev/null 2>&1 || skip "python3 is not installed"
. "$root/tests/e2e/lib/icap_common.sh"

PORT=$(free_ports 1) || fail "no free port on 127.0.0.1"
CLIENT_IP=192.0.2.7

f=$WORK/files
mkdir -p "$f" "$WORK/rules" "$WORK/out"
python3 - "$f" <<'PY'
import random, sys
d = sys.argv[1]
r = random.Random(11)
open(d + "/clean.bin", "wb").write(b"\x00nj" + r.randbytes((1 << 20) - 3))
open(d + "/listed.bin", "wb").write(b"\x00nj" + r.randbytes(5000))
open(d + "/clean.txt", "w").write("a small clean text file for c-icap-client\n")
open(d + "/tools.txt", "w").write("mimikatz 2.2.0 (x64) by gentilkiwi\nmimikatz # sekurlsa::logonpasswords\n")
with open(d + "/marker.txt", "w") as out:
    for i in range(4000):
        out.write("line %04d of an ordinary document, nothing to see\n" % i)
    out.write("nightjar-icap-e2e-marker 5f0c81d2\n")
PY
printf '%s' 'X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*' \
    > "$f/eicar.txt"
cp "$root/rules/default.yar" "$WORK/rules/default.yar"
cat > "$WORK/rules/icap_e2e.yar" <<'EOF'
rule Nightjar_ICAP_E2E_Marker : test
{
    meta:
        description = "icap_client.sh test marker"
        severity = 3
    strings:
        $m = "nightjar-icap-e2e-marker 5f0c81d2"
    condition:
        $m
}
EOF
listed_sha=$(sha256sum "$f/listed.bin" | cut -d' ' -f1)
feed=$WORK/intel.list
{
    echo "# icap_client.sh test feed"
    echo "evil-nightjar.test"
    echo "http://files.clean-nightjar.test/dl/stage2.bin"
    echo "$listed_sha"
} > "$feed"

start_icap "$WORK/icap.err" "$PORT" --intel "list:$feed" --yara "$WORK/rules" -o "$WORK/eve.json"

# what EVE must hold: one "METHOD URL VERDICT STATUS" line per transaction
expect=$WORK/expect
: > "$expect"
invocations=0

# client NAME ARGS... -- c-icap-client (headers printed, body to
# out/NAME.body) with X-Client-IP; its output in out/NAME.txt
client() {
    _name=$1
    shift
    invocations=$((invocations + 1))
    rm -f "$WORK/out/$_name.body"
    _rc=0
    timeout 30 c-icap-client -i 127.0.0.1 -p "$PORT" -s scan -v \
        -x "X-Client-IP: $CLIENT_IP" -o "$WORK/out/$_name.body" "$@" \
        >"$WORK/out/$_name.txt" 2>&1 || _rc=$?
    [ "$_rc" -eq 0 ] ||
        fail "c-icap-client $*: exit $_rc: $(tail -3 "$WORK/out/$_name.txt")$(icap_note "$WORK/icap.err")"
}
# has NAME REGEX WHAT -- the output of client NAME matches REGEX
has() {
    grep -Eq "$2" "$WORK/out/$1.txt" ||
        fail "$3$(icap_note "$WORK/icap.err") -- c-icap-client printed:
$(sed 's/^/  | /' "$WORK/out/$1.txt" | head -30)"
}
istag() { sed -n 's/^[[:space:]]*ISTag:[[:space:]]*//p' "$WORK/out/$1.txt" | head -1 | tr -d '\r'; }

# OPTIONS
client options1 -method OPTIONS
has options1 '^[[:space:]]*ICAP/1\.0 200' "OPTIONS: no ICAP 200"
for h in 'Methods:.*REQMOD' 'Methods:.*RESPMOD' 'ISTag: *"?[^" ]+' 'Allow:.*204' \
         'Preview: *[0-9]+' 'Transfer-Preview: *\*' 'Options-TTL: *[0-9]+' 'Max-Connections: *[0-9]+'; do
    has options1 "^[[:space:]]*$h" "OPTIONS: no header matching '$h'"
done
tag1=$(istag options1)
client options2
[ "$(istag options2)" = "$tag1" ] || fail "ISTag changed between two OPTIONS: $tag1, then $(istag options2)"

# pass NAME METHOD URL STATUS ARGS... -- a transaction nightjar passes
pass() {
    _n=$1 _m=$2 _u=$3 _s=$4
    shift 4
    if [ "$_m" = RESPMOD ]; then client "$_n" -resp "$_u" "$@"; else client "$_n" -req "$_u" "$@"; fi
    echo "$_m $_u pass $_s" >> "$expect"
    if [ "$_s" = 204 ]; then
        has "$_n" '^[[:space:]]*ICAP/1\.0 204' "$_m $_u ($*): want ICAP 204"
        has "$_n" 'No modification needed' "$_m $_u ($*): c-icap-client did not take it as unmodified"
    else
        has "$_n" '^[[:space:]]*ICAP/1\.0 200' "$_m $_u ($*): want ICAP 200"
        if grep -q "403 Forbidden\|blocked by nightjar" "$WORK/out/$_n.txt" "$WORK/out/$_n.body" 2>/dev/null; then
            fail "$_m $_u ($*): clean content answered with a block page"
        fi
    fi
}
# block NAME METHOD URL ARGS... -- a transaction nightjar blocks: ICAP 200
# carrying an HTTP 403 with the block page
block() {
    _n=$1 _m=$2 _u=$3
    shift 3
    if [ "$_m" = RESPMOD ]; then client "$_n" -resp "$_u" "$@"; else client "$_n" -req "$_u" "$@"; fi
    is_block "$_n" "$_m" "$_u" "$*"
}
# is_block NAME METHOD URL ARGS -- client NAME's answer is a block
is_block() {
    echo "$2 $3 block 200" >> "$expect"
    has "$1" '^[[:space:]]*ICAP/1\.0 200' "$2 $3 ($4): want ICAP 200"
    has "$1" '^[[:space:]]*HTTP/1\.[01] 403' "$2 $3 ($4): want an encapsulated HTTP 403"
    grep -q "blocked by nightjar" "$WORK/out/$1.body" 2>/dev/null ||
        fail "$2 $3 ($4): the body is not the block page: $(head -c 300 "$WORK/out/$1.body" 2>/dev/null)"
}

W=http://files.clean-nightjar.test
# RESPMOD
pass resp-clean-preview RESPMOD "$W/r/clean-preview.bin" 204 -f "$f/clean.bin" -w 1024
pass resp-clean-nopreview RESPMOD "$W/r/clean-nopreview.bin" 204 -f "$f/clean.bin" -nopreview
pass resp-small-preview RESPMOD "$W/r/small-preview.txt" 204 -f "$f/clean.txt" -w 1024
for mode in preview nopreview; do
    if [ $mode = preview ]; then pv="-w 1024"; else pv="-nopreview"; fi
    pass "resp-no204-$mode" RESPMOD "$W/r/no204-$mode.bin" 200 -f "$f/clean.bin" $pv -no204
    cmp -s "$WORK/out/resp-no204-$mode.body" "$f/clean.bin" ||
        fail "RESPMOD without Allow: 204 ($pv): the body returned is not the file sent"
    has "resp-no204-$mode" '^[[:space:]]*HTTP/1\.[01] 200' "RESPMOD -no204 $pv: the HTTP status changed"
    # Allow: 206 without 204, as Squid sends it for a body over 64 KiB: a
    # 206 is allowed only as the answer to the preview ("Allow: 204, 206"
    # would allow it after), and a scanner that read the whole body must
    # answer 200 with the message unchanged -- Squid fails a 206 there
    # ("check failed: state.allowedPostview206", HTTP 500 to the browser)
    client "resp-206-$mode" -resp "$W/r/allow206-$mode.bin" -f "$f/clean.bin" $pv -no204 -206
    echo "RESPMOD $W/r/allow206-$mode.bin pass 200" >> "$expect"
    has "resp-206-$mode" '^[[:space:]]*ICAP/1\.0 200' \
        "RESPMOD of 1 MiB with Allow: 206 but not 204 ($pv): want ICAP 200, the message unmodified (a 206 after the preview needs Allow: 204, 206)"
    cmp -s "$WORK/out/resp-206-$mode.body" "$f/clean.bin" ||
        fail "RESPMOD with Allow: 206 but not 204 ($pv): the body returned is not the file sent"
    block "resp-eicar-$mode" RESPMOD "$W/r/eicar-$mode.txt" -f "$f/eicar.txt" $pv
    block "resp-marker-$mode" RESPMOD "$W/r/marker-$mode.txt" -f "$f/marker.txt" $pv
    block "resp-listed-$mode" RESPMOD "$W/r/listed-$mode.bin" -f "$f/listed.bin" $pv
    # REQMOD
    block "req-domain-$mode" REQMOD "http://www.evil-nightjar.test/payload/$mode.html" $pv
    block "req-url-$mode" REQMOD "$W/dl/stage2.bin" $pv
    pass "req-clean-$mode" REQMOD "$W/dl/other-$mode.bin" 204 $pv
done
pass req-post REQMOD "$W/upload/form" 204 -f "$f/clean.txt" -method POST -w 1024
block resp-tools RESPMOD "$W/r/tools.txt" -f "$f/tools.txt" -w 1024

# reload: a domain added to the feed and SIGHUP; the feeds are read again
# on a thread, so ask until the domain is blocked (15 s at most; every
# answer until then must be a pass, and is one more EVE record), then
# OPTIONS must show a new ISTag, the same twice
pass req-late-before REQMOD "http://late-nightjar.test/before" 204 -w 1024
echo "late-nightjar.test" >> "$feed"
kill -HUP "$icap_pid"
n=0
while :; do
    u="http://late-nightjar.test/after-$n"
    client "req-late-$n" -req "$u" -w 1024
    grep -Eq '^[[:space:]]*ICAP/1\.0 204' "$WORK/out/req-late-$n.txt" || break
    echo "REQMOD $u pass 204" >> "$expect"
    n=$((n + 1))
    [ $n -lt 30 ] ||
        fail "late-nightjar.test still passes 15 s after it was added to the feed and SIGHUP$(icap_note "$WORK/icap.err")"
    sleep 0.5
done
is_block "req-late-$n" REQMOD "$u" "-w 1024, after SIGHUP"
client options-reload1
client options-reload2
tag2=$(istag options-reload1)
[ -n "$tag2" ] || fail "OPTIONS after SIGHUP has no ISTag"
[ "$tag2" != "$tag1" ] || fail "ISTag still $tag1 after the feed changed, SIGHUP and the new feed in use"
[ "$(istag options-reload2)" = "$tag2" ] ||
    fail "ISTag changed between two OPTIONS after the reload: $tag2, then $(istag options-reload2)"

stop_icap "$WORK/icap.err"

python3 - "$WORK/eve.json" "$expect" "$invocations" "$CLIENT_IP" "$f" "$listed_sha" <<'PY' || exit 1
import collections, hashlib, json, os, sys
eve, expect, invocations, client_ip, files, listed_sha = sys.argv[1:]
problems = []
def want(cond, what):
    if not cond:
        problems.append(what)
try:
    ev = [json.loads(l) for l in open(eve) if l.strip()]
except (OSError, ValueError) as e:
    print("FAIL: EVE file %s: %s" % (eve, e))
    sys.exit(1)
icap = [e for e in ev if e.get("event_type") == "icap"]
alerts = [e for e in ev if e.get("event_type") == "alert"]
if not icap:
    print("FAIL: no icap records in EVE (%d records)" % len(ev))
    sys.exit(1)
sha = lambda n: hashlib.sha256(open(os.path.join(files, n), "rb").read()).hexdigest()

def sha256s(o):
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

# every transaction once, with its verdict and ICAP status
want_tx = collections.Counter(tuple(l.split()) for l in open(expect) if l.strip())
got_tx = collections.Counter()
for e in icap:
    i = e["icap"]
    if i.get("method") == "OPTIONS":
        continue
    got_tx[(str(i.get("method")), str(i.get("url")), str(i.get("verdict")), str(i.get("status")))] += 1
    want(e.get("src_ip") == client_ip, "%s %s: src_ip %s, want %s (X-Client-IP)" %
         (i.get("method"), i.get("url"), e.get("src_ip"), client_ip))
for tx in sorted(set(want_tx) | set(got_tx)):
    want(want_tx[tx] == got_tx[tx], "icap record (method url verdict status) %s: %d in EVE, want %d"
         % (" ".join(tx), got_tx[tx], want_tx[tx]))
options = [e for e in icap if e["icap"].get("method") == "OPTIONS"]
want(len(options) == int(invocations),
     "icap OPTIONS records: %d, want %s (one per c-icap-client run)" % (len(options), invocations))

# hashes: the blocked files', and a clean file's, where given, its own
all_sha = sha256s(ev)
for n in ("eicar.txt", "tools.txt", "marker.txt", "listed.bin"):
    want(sha(n) in all_sha, "the SHA-256 of %s (%s) is nowhere in EVE" % (n, sha(n)))
for e in icap:
    url = str(e["icap"].get("url"))
    if e["icap"].get("method") == "RESPMOD" and any(p in url for p in ("/r/clean-", "/r/no204-", "/r/allow206-")):
        given = sha256s(e)
        want(not given or given == {sha("clean.bin")}, "%s: hashes %s, want %s"
             % (e["icap"].get("url"), given, sha("clean.bin")))

# alerts: at least one per block naming what blocked it, none for the rest
names = {"EICAR_Test_File": 2, "Mimikatz_Strings": 1, "Nightjar_ICAP_E2E_Marker": 2, listed_sha: 2,
         "evil-nightjar.test": 2, "files.clean-nightjar.test/dl/stage2.bin": 2,
         "late-nightjar.test": 1}
for name, n in names.items():
    hit = [a for a in alerts if name in json.dumps(a)]
    want(len(hit) >= n, "alerts naming %s: %d, want %d" % (name, len(hit), n))
for a in alerts:
    text = json.dumps(a)
    want(a.get("src_ip") == client_ip, "alert src_ip %s, want %s: %s" % (a.get("src_ip"), client_ip, text[:300]))
    # the incident's "host compromised" alert sums up the blocks' findings
    if a.get("nightjar", {}).get("evidence", {}).get("kind") != "compromise":
        want(any(name in text for name in names), "an alert naming none of the blocks: %s" % text[:400])
    want(not any(p in text for p in ("/r/clean-", "/r/small-", "/r/no204-", "/r/allow206-", "/dl/other-",
                                     "/upload/form", "/before")),
         "an alert on clean traffic: %s" % text[:400])
if problems:
    print("FAIL: " + "\n  ".join(problems))
    sys.exit(1)
print("icap with c-icap-client: %d transactions, %d OPTIONS, %d alerts; ISTag changed on reload"
      % (sum(want_tx.values()), len(options), len(alerts)))
PY
