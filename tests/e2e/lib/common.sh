# common.sh -- shared by the end-to-end scripts: which binary, temp dirs,
# and small assertions that say what they expected.
root=${NIGHTJAR_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
NJ=$root/build-asan/nightjar
[ -x "$NJ" ] || NJ=$root/build/nightjar
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

fail() { echo "FAIL: $*"; exit 1; }
skip() { echo "skipped: $*"; exit 77; }
need_root() { [ "$(id -u)" -eq 0 ] || skip "needs root (tcpdump / raw capture)"; }
# count of EVE records matching a grep pattern
count() { grep -c -- "$1" "$2" || true; }
# assert_eq ACTUAL EXPECTED WHAT
assert_eq() { [ "$1" = "$2" ] || fail "$3: expected $2, got $1"; }
