#!/bin/sh
# run.sh -- runs every nightjar test; the last line is
# "N passed, N failed, N skipped" and the exit status is 0 only when
# nothing failed.
#
# Unit tests: each binary in build/tests (plain build) and build-asan/tests
# (AddressSanitizer + UndefinedBehaviorSanitizer); each test case counts,
# and a binary that exits nonzero (a crash, a sanitizer report) fails even
# when its cases passed. Scripts: tests/e2e, tests/conformance and
# tests/fuzz (*.sh), each one test, in two lanes side by side (see
# run_scripts); a script exits 0 (pass), 77 (skipped:
# its last line says why) or anything else (fail). Scripts use the
# sanitizer build of the sensor, so the real binaries also run under
# ASan+UBSan against real traffic; tests/sanitizers.sh gives their reports
# exit codes of their own (86, 87).
#
# Skips: without root, the end-to-end scripts that capture traffic skip;
# without network namespaces, the anomaly test; without clang, the fuzz
# runs; without ../shared/corpus (or $NIGHTJAR_CORPUS), the conformance
# scripts. On a developer's machine a skip is counted apart and listed,
# with its reason, in a SKIPPED block before the last line. In CI (CI=true
# or CI=1) nothing may skip: a skip is a failure.
#
# A missing build is a failure, never "0 passed, 0 failed": run make first
# (make test builds both and then runs this).
#
# A hang is a failure too, never a CI run that times out with nothing said:
# each unit binary and each script runs under timeout(1), which ends its
# whole process group -- NIGHTJAR_TEST_TIMEOUT seconds (default 1200; the
# slowest script takes about 3 minutes here) for a script, a quarter of it
# for a unit binary.
#   --unit-only   only the unit tests of build/
set -u
cd "$(dirname "$0")/.." || exit 2
ROOT=$(pwd)
. "$ROOT/tests/sanitizers.sh"
passed=0 failed=0 skipped=0
failures=""
skips=""          # one "script<TAB>reason" line per skipped script
case "${CI:-}" in
    true|TRUE|True|1|yes) ci=1 ;;
    *) ci=0 ;;
esac
nl='
'

test_timeout=${NIGHTJAR_TEST_TIMEOUT:-1200}
unit_timeout=$((test_timeout / 4))

# what an exit status says, for the FAIL line (124: timeout(1) ended it)
exit_meaning() {
    case $1 in
        124) echo "exit 124: timed out, stopped after ${2:-$test_timeout} s" ;;
        "$NJ_ASAN_EXIT") echo "exit $1: AddressSanitizer report" ;;
        "$NJ_UBSAN_EXIT") echo "exit $1: UndefinedBehaviorSanitizer report" ;;
        *) if [ "$1" -gt 128 ]; then
               echo "exit $1: killed by signal $(($1 - 128))"
           else
               echo "exit $1"
           fi ;;
    esac
}

# a sanitizer's first lines (what and where) when they come before the
# last 40 lines of a log, which are printed anyway
sanitizer_lines() {
    n=$(wc -l < "$1")
    [ "$n" -gt 40 ] || return 0
    head -n $((n - 40)) "$1" |
        grep -E "ERROR: (Address|Leak)Sanitizer|SUMMARY: (Address|UndefinedBehavior)Sanitizer|runtime error:" |
        head -5 | sed 's/^/    > /'
}

# missing builds: say what to run, count them failed, stop
need() {
    missing=""
    for f in "$@"; do
        [ -e "$f" ] || missing="$missing $f"
    done
    [ -z "$missing" ] && return 0
    for f in $missing; do
        echo "FAIL $f is missing: build first -- 'make all asan', or 'make test' (builds both, then runs this)"
        failed=$((failed + 1))
    done
    echo "$passed passed, $failed failed, $skipped skipped"
    exit 1
}

run_unit_dir() {
    dir=$1
    for src in tests/unit/test_*.c; do
        t=$dir/$(basename "$src" .c)
        if [ ! -x "$t" ]; then
            failed=$((failed + 1)); failures="$failures $t"
            echo "FAIL $t is missing: the build is stale or broken, run make"
            continue
        fi
        log=$(mktemp)
        timeout -k 10 "$unit_timeout" "$t" >"$log" 2>&1; rc=$?
        line=$(grep -E '^[^ ]+: [0-9]+ passed, [0-9]+ failed$' "$log" | tail -1)
        p=$(printf '%s' "$line" | sed -E 's/.*: ([0-9]+) passed.*/\1/')
        f=$(printf '%s' "$line" | sed -E 's/.* ([0-9]+) failed$/\1/')
        if [ -z "$line" ]; then p=0; f=1; fi
        if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi   # crashed/leaked
        passed=$((passed + p)); failed=$((failed + f))
        if [ "$f" -ne 0 ]; then
            sed 's/^/    /' "$log"
            failures="$failures $t"
            if [ "$rc" -ne 0 ]; then
                echo "FAIL $t ($(exit_meaning "$rc" "$unit_timeout"))"
            else
                echo "FAIL $t"
            fi
        else
            echo "ok   $t ($p cases)"
        fi
        rm -f "$log"
    done
}

# One script: its verdict on stdout as one write (lanes share stdout), and
# a line in the lane's results file: "pass", "fail SCRIPT" or
# "skip SCRIPT<TAB>REASON".
run_script() {
    s=$1 results=$2
    log=$(mktemp)
    t0=$(date +%s)
    NIGHTJAR_ROOT=$ROOT timeout -k 10 "$test_timeout" sh "$s" >"$log" 2>&1; rc=$?
    took="$(($(date +%s) - t0)) s"
    reason=$(grep '^skipped: ' "$log" | tail -1 | sed 's/^skipped: //')
    [ -n "$reason" ] || reason=$(tail -1 "$log")
    case $rc in
        0) echo pass >>"$results"; echo "ok   $s ($took)" ;;
        77) if [ "$ci" -eq 1 ]; then
                echo "fail $s" >>"$results"
                echo "FAIL $s (skipped, and CI=$CI allows no skip: $reason)"
            else
                printf 'skip %s\t%s\n' "$s" "$reason" >>"$results"
                echo "SKIP $s: $reason"
            fi ;;
        *) echo "fail $s" >>"$results"
           out=$(echo "FAIL $s ($(exit_meaning "$rc"), $took)"
                 sanitizer_lines "$log"
                 tail -40 "$log" | sed 's/^/    /')
           printf '%s\n' "$out" ;;
    esac
    rm -f "$log"
}

run_lane() {
    results=$1; shift
    for s in "$@"; do
        [ -f "$s" ] || continue
        run_script "$s" "$results"
    done
}

# The scripts run in two lanes side by side (NIGHTJAR_TEST_JOBS=1: one
# after the other): the end-to-end scripts, which make traffic and time
# things, in one; the conformance and fuzz scripts, which mostly compute,
# in the other -- so on two cores neither waits for the other.
run_scripts() {
    resdir=$(mktemp -d)
    if [ "${NIGHTJAR_TEST_JOBS:-2}" -gt 1 ]; then
        run_lane "$resdir/a" tests/e2e/*.sh &
        lane=$!
        run_lane "$resdir/b" tests/conformance/*.sh tests/fuzz/*.sh
        wait "$lane"
    else
        run_lane "$resdir/a" tests/e2e/*.sh tests/conformance/*.sh tests/fuzz/*.sh
    fi
    cat "$resdir"/a "$resdir"/b 2>/dev/null > "$resdir/all"
    passed=$((passed + $(grep -c '^pass$' "$resdir/all")))
    failed=$((failed + $(grep -c '^fail ' "$resdir/all")))
    skipped=$((skipped + $(grep -c '^skip ' "$resdir/all")))
    for f in $(sed -n 's/^fail //p' "$resdir/all"); do
        failures="$failures $f"
    done
    skips="$skips$(sed -n 's/^skip //p' "$resdir/all")"
    [ -n "$skips" ] && skips="$skips$nl"
    rm -rf "$resdir"
}

if [ "${1:-}" = "--unit-only" ]; then
    need build/tests
    run_unit_dir build/tests
else
    need build/tests build/nightjar build/nightjar-train \
         build-asan/tests build-asan/nightjar build-asan/nightjar-train
    run_unit_dir build/tests
    run_unit_dir build-asan/tests
    run_scripts
fi
[ -n "$failures" ] && echo "failed:$failures"
if [ "$skipped" -gt 0 ]; then
    echo "########################################################################"
    echo "SKIPPED: $skipped tests did not run -- this is not a full pass"
    printf '%s' "$skips" | while IFS='	' read -r s why; do
        printf '  %-40s %s\n' "$s" "$why"
    done
    echo "Each needs what its reason names (root, network namespaces, clang,"
    echo "../shared/corpus). In CI (CI=true) a skip is a failure."
    echo "########################################################################"
fi
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
