#!/bin/sh
# containment.sh -- the response, for real: the sensor runs live inside a
# network namespace (ip netns exec: every nftables object it makes lives
# and dies with the namespace, none on this machine), on the namespace's
# loopback, which answers for 10.0.0.0/16 (internal) and 198.51.100.0/24
# ("the Internet"), with response.contain: nftables, response.dry-run: no,
# response.timeout: 20 and 10.0.0.40 on response.allowlist. Then, with
# curl and Python's http.server (nothing leaves the namespace):
#   1. 10.0.0.40 (allowlisted) and 10.0.0.23 each fetch an unsigned PE
#      named invoice.png from http://198.51.100.7/ -- a strong delivery
#      finding, a high incident for each;
#   2. 10.0.0.23 is in the set (nft list set), 10.0.0.40 is not;
#   3. 10.0.0.23's packets are dropped (its curl times out) while 10.0.0.31
#      and 10.0.0.40 fetch the same page;
#   4. 10.0.0.24 downloads the same, is contained, and its element is
#      deleted by hand: a release, reason removed;
#   5. after the timeout the kernel drops 10.0.0.23's element, its curl works
#      again, and the sensor says so (a release, reason timeout);
#   6. SIGINT stops the sensor with exit 0; its EVE log has, for 10.0.0.23,
#      one contain (success, the set, the timeout, the incident of the
#      host's compromise alert) and one release (reason timeout, about 20 s
#      later); one skip-allowlisted for 10.0.0.40; a contain and a release
#      (removed) for 10.0.0.24; nothing for 10.0.0.31.
# Prints when each step was seen.
set -eu
. "$(dirname "$0")/lib/common.sh"
need_root
for t in ip nft curl python3; do
    command -v "$t" >/dev/null 2>&1 || skip "$t is not installed"
done
lib=$root/tests/e2e/lib
ns=nj-contain-$$
table=njtest$$           # a name no real firewall uses: checked absent below
timeout=20
ip netns add "$ns" 2>/dev/null || skip "cannot create a network namespace"
pids="" nj=""
cleanup() {
    [ -n "$nj" ] && kill "$nj" 2>/dev/null
    for p in $pids; do kill "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
    ip netns del "$ns" 2>/dev/null || true
    rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 1' INT TERM
in_ns() { ip netns exec "$ns" "$@"; }   # not for "&": $! would be a subshell
now() { date +%H:%M:%S.%N | cut -c1-12; }
ip -n "$ns" link set lo up
for net in 10.0.0.0/16 198.51.100.0/24; do
    ip -n "$ns" route add local "$net" dev lo table local
done

mkdir -p "$WORK/www"
python3 "$lib/tiny_pe.py" "$WORK/www/invoice.png"
printf '<html><body>quarterly figures</body></html>\n' > "$WORK/www/index.html"
for a in 198.51.100.7 198.51.100.20; do
    ip netns exec "$ns" python3 -m http.server --bind "$a" 80 --directory "$WORK/www" \
        >/dev/null 2>&1 &
    pids="$pids $!"
done

eve=$WORK/eve.json
# ip netns exec execs the sensor: $! is its pid (through in_ns, a subshell's)
ip netns exec "$ns" "$NJ" -i lo -o "$eve" --set eve-log.stats-interval=0 \
    --set response.contain=nftables --set response.dry-run=no \
    --set response.timeout=$timeout --set response.allowlist=10.0.0.40 \
    --set response.nftables.table="$table" 2>"$WORK/nj.err" &
nj=$!
# ready: the table is set up before capture starts; then the packet socket
ready=0
for _ in $(seq 1 100); do
    kill -0 "$nj" 2>/dev/null || break
    if in_ns nft list table inet "$table" >/dev/null 2>&1 &&
       [ "$(in_ns cat /proc/net/packet | wc -l)" -gt 1 ] &&
       in_ns curl -s -o /dev/null --max-time 2 http://198.51.100.20/index.html &&
       in_ns curl -s -o /dev/null --max-time 2 http://198.51.100.7/index.html; then
        ready=1
        break
    fi
    sleep 0.1
done
if [ "$ready" -ne 1 ]; then
    kill -0 "$nj" 2>/dev/null || { wait "$nj" || rc=$?; nj="";
        fail "the sensor stopped at start: $(exit_meaning "${rc:-0}"): $(what_went_wrong "$WORK/nj.err")"; }
    fail "the sensor's capture or the web servers did not come up"
fi
nft list table inet "$table" >/dev/null 2>&1 && fail "table $table exists outside the namespace"
echo "$(now) sensor up, table inet $table in the namespace"

fetch() { # fetch FROM URL -- curl's exit status, 3 s at most
    in_ns curl -s -o /dev/null --max-time 3 --interface "$1" "$2"
}
in_set() { in_ns nft list set inet "$table" contained4 | grep -qw "$1"; }
page=http://198.51.100.20/index.html
fetch 10.0.0.31 "$page" || fail "10.0.0.31 cannot fetch the page before anything happened"
fetch 10.0.0.40 http://198.51.100.7/invoice.png || fail "10.0.0.40: fetching invoice.png failed"
fetch 10.0.0.23 http://198.51.100.7/invoice.png || fail "10.0.0.23: fetching invoice.png failed"
echo "$(now) 10.0.0.40 and 10.0.0.23 fetched invoice.png (an unsigned PE)"

for _ in $(seq 1 100); do
    in_set 10.0.0.23 && break
    sleep 0.1
done
in_set 10.0.0.23 || fail "10.0.0.23 never went into the set: $(in_ns nft list set inet "$table" contained4)"
t_contain=$(date +%s)
echo "$(now) 10.0.0.23 in set inet $table contained4:"
in_ns nft list set inet "$table" contained4 | sed 's/^/    /'
in_set 10.0.0.40 && fail "10.0.0.40 is allowlisted, yet in the set"

rc=0; fetch 10.0.0.23 "$page" || rc=$?
[ "$rc" -eq 28 ] || fail "10.0.0.23 is contained, yet its curl ended with $rc (28: timed out)"
fetch 10.0.0.31 "$page" || fail "10.0.0.31 cannot fetch the page while 10.0.0.23 is contained"
fetch 10.0.0.40 "$page" || fail "10.0.0.40 (allowlisted) cannot fetch the page"
echo "$(now) drop verified: 10.0.0.23's curl timed out; 10.0.0.31's and 10.0.0.40's worked"
grep -q '"action":"contain"' "$eve" || fail "no contain event in the EVE log while contained"

# released early by hand (the sensor looks every 10 s: seen before 10.0.0.23's timeout): a third host, contained, its element deleted
fetch 10.0.0.24 http://198.51.100.7/invoice.png || fail "10.0.0.24: fetching invoice.png failed"
for _ in $(seq 1 100); do
    in_set 10.0.0.24 && break
    sleep 0.1
done
in_set 10.0.0.24 || fail "10.0.0.24 never went into the set"
in_ns nft delete element inet "$table" contained4 '{ 10.0.0.24 }'
echo "$(now) 10.0.0.24 contained too; its element deleted by hand"

for _ in $(seq 1 $((timeout * 10 + 100))); do
    in_set 10.0.0.23 || break
    sleep 0.1
done
in_set 10.0.0.23 && fail "10.0.0.23 is still in the set $(($(date +%s) - t_contain)) s after it went in"
echo "$(now) the element is gone ($(($(date +%s) - t_contain)) s after it was seen in the set)"
fetch 10.0.0.23 "$page" || fail "10.0.0.23's element is gone, yet its curl fails"
echo "$(now) 10.0.0.23 fetches the page again"
for _ in $(seq 1 $(((10 + 5) * 10))); do  # the sensor looks at least every 10 s
    [ "$(count '"action":"release"' "$eve")" -ge 2 ] && break
    sleep 0.1
done
[ "$(count '"action":"release"' "$eve")" -ge 2 ] || fail "no release event for each element gone"
echo "$(now) the sensor reported both releases"

kill -INT "$nj"
rc=0; wait "$nj" || rc=$?
nj=""
[ "$rc" -eq 0 ] || fail "the sensor on SIGINT: $(exit_meaning "$rc"): $(what_went_wrong "$WORK/nj.err")"

python3 - "$eve" "$table" "$timeout" <<'PY' || fail "the EVE log is not as expected"
import json, sys
from datetime import datetime
path, table, timeout = sys.argv[1], sys.argv[2], int(sys.argv[3])
recs = [json.loads(l) for l in open(path)]
def ts(r):
    return datetime.strptime(r["timestamp"], "%Y-%m-%dT%H:%M:%S.%f%z").timestamp()
comp = {a["nightjar"]["evidence"]["host"]: a["nightjar"]["evidence"]["incident_id"]
        for a in recs if a["event_type"] == "alert"
        and a["alert"]["signature_id"] == 9500001}
assert set(comp) == {"10.0.0.23", "10.0.0.24", "10.0.0.40"}, comp
resp = [r for r in recs if r["event_type"] == "response"]
for r in resp:
    print("   ", r["timestamp"], json.dumps(r["response"], sort_keys=True))
acts = sorted((r["response"]["host"], r["response"]["action"]) for r in resp)
assert acts == [("10.0.0.23", "contain"), ("10.0.0.23", "release"),
                ("10.0.0.24", "contain"), ("10.0.0.24", "release"),
                ("10.0.0.40", "skip-allowlisted")], acts
by = {(r["response"]["host"], r["response"]["action"]): r for r in resp}
c = by[("10.0.0.23", "contain")]
cr = c["response"]
assert cr["success"] is True and cr["dry_run"] is False and "error" not in cr, cr
assert (cr["family"], cr["table"], cr["set"], cr["timeout"]) == ("inet", table, "contained4", timeout), cr
assert cr["incident_id"] == comp["10.0.0.23"], (cr, comp)
assert cr["command"] == "add element inet %s contained4 { 10.0.0.23 timeout %ds }" % (table, timeout), cr
assert c["src_ip"] == "10.0.0.23"
s = by[("10.0.0.40", "skip-allowlisted")]["response"]
assert s["incident_id"] == comp["10.0.0.40"] and s["success"] is True, s
rel = by[("10.0.0.23", "release")]
rr = rel["response"]
assert rr["reason"] == "timeout" and rr["incident_id"] == cr["incident_id"], rr
took = ts(rel) - ts(c)
assert timeout - 1 <= took <= timeout + 12, took
assert not any("10.0.0.31" == r["response"]["host"] for r in resp)
r24 = by[("10.0.0.24", "release")]["response"]
assert r24["reason"] == "removed" and r24["incident_id"] == comp["10.0.0.24"], r24
assert by[("10.0.0.24", "contain")]["response"]["success"] is True
print("contain -> release: %.1f s of traffic time (timeout %d s)" % (took, timeout))
PY
echo "containment: 10.0.0.23 contained, dropped, released after ${timeout} s; 10.0.0.24's removal seen; 10.0.0.40 allowlisted, never contained"
