#!/bin/sh
# run.sh -- runs every nightjar test and ends with "N passed, N failed".
#
# Unit tests: each binary in build/tests (plain build) and build-asan/tests
# (AddressSanitizer + UndefinedBehaviorSanitizer); each test case counts.
# Scripts: tests/e2e, tests/conformance and tests/fuzz (*.sh), each one test; a script
# exits 0 (pass), 77 (skipped: it says why) or anything else (fail). Scripts
# use the sanitizer build of the sensor when it exists, so the real binaries
# also run under ASan+UBSan against real traffic.
#   --unit-only   only the unit tests of build/
set -u
cd "$(dirname "$0")/.." || exit 2
ROOT=$(pwd)
passed=0 failed=0 skipped=0
failures=""

run_unit_dir() {
    dir=$1
    [ -d "$dir" ] || return 0
    for t in "$dir"/test_*; do
        [ -x "$t" ] || continue
        out=$("$t" 2>&1); rc=$?
        line=$(printf '%s\n' "$out" | grep -E '^[^ ]+: [0-9]+ passed, [0-9]+ failed$' | tail -1)
        p=$(printf '%s' "$line" | sed -E 's/.*: ([0-9]+) passed.*/\1/')
        f=$(printf '%s' "$line" | sed -E 's/.* ([0-9]+) failed$/\1/')
        if [ -z "$line" ]; then p=0; f=1; fi
        if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi   # crashed/leaked
        passed=$((passed + p)); failed=$((failed + f))
        if [ "$f" -ne 0 ]; then
            printf '%s\n' "$out" | sed 's/^/    /'
            failures="$failures $t"
            echo "FAIL $t"
        else
            echo "ok   $t ($p cases)"
        fi
    done
}

run_scripts() {
    for s in tests/e2e/*.sh tests/conformance/*.sh tests/fuzz/*.sh; do
        [ -f "$s" ] || continue
        log=$(mktemp)
        NIGHTJAR_ROOT=$ROOT sh "$s" >"$log" 2>&1; rc=$?
        case $rc in
            0) passed=$((passed + 1)); echo "ok   $s" ;;
            77) skipped=$((skipped + 1)); echo "SKIP $s: $(tail -1 "$log")" ;;
            *) failed=$((failed + 1)); failures="$failures $s"
               echo "FAIL $s (exit $rc)"; tail -40 "$log" | sed 's/^/    /' ;;
        esac
        rm -f "$log"
    done
}

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

run_unit_dir build/tests
if [ "${1:-}" != "--unit-only" ]; then
    run_unit_dir build-asan/tests
    run_scripts
fi
[ -n "$failures" ] && echo "failed:$failures"
if [ "$skipped" -gt 0 ]; then
    echo "$passed passed, $failed failed, $skipped skipped"
else
    echo "$passed passed, $failed failed"
fi
[ "$failed" -eq 0 ]
