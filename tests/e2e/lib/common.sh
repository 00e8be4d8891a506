# common.sh -- shared by the end-to-end scripts: which binaries, the
# sanitizers' exit codes, temp dirs, and small assertions that say what they
# expected.
#
# Exit codes of the sensor and of nightjar-train: 0 ran, 1 nothing could be
# read (or training failed), 2 usage or configuration error; 86 and 87 are
# AddressSanitizer and UndefinedBehaviorSanitizer reports (tests/sanitizers.sh),
# anything above 128 a signal. A script checks the exact status it expects:
# "any nonzero" is never taken for an expected error, so a sanitizer report
# or a crash after the output was written still fails the test.
root=${NIGHTJAR_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
. "$root/tests/sanitizers.sh"
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

fail() { echo "FAIL: $*"; exit 1; }
skip() { echo "skipped: $*"; exit 77; }
need_root() { [ "$(id -u)" -eq 0 ] || skip "needs root (tcpdump / raw capture)"; }
# count of EVE records matching a grep pattern
count() { grep -c -- "$1" "$2" || true; }
# port_open PORT [ADDR] -- something accepts TCP connections there (a server
# started in the background is ready; with two test lanes side by side a
# start can take a while)
port_open() {
    python3 -c 'import socket, sys; socket.create_connection((sys.argv[2], int(sys.argv[1])), 1).close()' \
        "$1" "${2:-127.0.0.1}" 2>/dev/null
}
. "$root/tests/e2e/lib/ports.sh"

# assert_eq ACTUAL EXPECTED WHAT
assert_eq() { [ "$1" = "$2" ] || fail "$3: expected $2, got $1"; }

# exit_meaning RC -- what an exit status of the sensor or trainer says
exit_meaning() {
    case $1 in
        0) echo "exit 0" ;;
        1) echo "exit 1 (nothing read, or failed)" ;;
        2) echo "exit 2 (usage or configuration error)" ;;
        "$NJ_ASAN_EXIT") echo "exit $1: AddressSanitizer report" ;;
        "$NJ_UBSAN_EXIT") echo "exit $1: UndefinedBehaviorSanitizer report" ;;
        *) if [ "$1" -gt 128 ] 2>/dev/null; then
               echo "exit $1: killed by signal $(($1 - 128))"
           else
               echo "exit $1"
           fi ;;
    esac
}

# what_went_wrong FILE -- a sanitizer's summary lines from a stderr log,
# or else its last lines
what_went_wrong() {
    if grep -qE "^SUMMARY: |runtime error:" "$1"; then
        grep -E "^SUMMARY: |runtime error:" "$1" | head -3
    else
        tail -5 "$1"
    fi
}

# exits WANT WHAT OUTFILE CMD... -- runs CMD with stdout and stderr in
# OUTFILE; fails, naming WHAT, unless it exits with WANT exactly
exits() {
    _want=$1 _what=$2 _out=$3
    shift 3
    _rc=0
    "$@" >"$_out" 2>&1 || _rc=$?
    [ "$_rc" = "$_want" ] ||
        fail "$_what: $(exit_meaning "$_rc"), expected $_want: $(what_went_wrong "$_out")"
}

# the binaries: the sanitizer build when there is one
NJ=$root/build-asan/nightjar
[ -x "$NJ" ] || NJ=$root/build/nightjar
[ -x "$NJ" ] || fail "no nightjar in build-asan/ or build/: run make"
TRAIN=$root/build-asan/nightjar-train
[ -x "$TRAIN" ] || TRAIN=$root/build/nightjar-train
