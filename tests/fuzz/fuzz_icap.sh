#!/bin/sh
# Short libFuzzer run over the ICAP server's request handling (fuzz/
# fuzz_icap.c: heads, Encapsulated, encapsulated HTTP heads, chunked bodies
# and previews, every kind of answer), seeded with whole conversations from
# fuzz/seed_icap.py. A crash, sanitizer report or leak fails the test and
# leaves the input in build-fuzz/.
set -u
root=${NIGHTJAR_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
. "$root/tests/sanitizers.sh"
command -v clang >/dev/null || { echo "skipped: clang is not installed"; exit 77; }
cd "$root" || exit 1
make -j2 -C fuzz ../build-fuzz/fuzz_icap >/dev/null 2>build-fuzz-icap.log || { cat build-fuzz-icap.log; exit 1; }
rm -f build-fuzz-icap.log
mkdir -p build-fuzz/icap-corpus
python3 fuzz/seed_icap.py build-fuzz/icap-corpus || exit 1
secs=${FUZZ_SECONDS:-15}
./build-fuzz/fuzz_icap build-fuzz/icap-corpus -max_total_time="$secs" -max_len=8192 \
    -artifact_prefix=build-fuzz/ -print_final_stats=1 >build-fuzz/icap-run.log 2>&1
rc=$?
echo "fuzz_icap: $(grep -E 'number_of_executed_units' build-fuzz/icap-run.log)"
[ $rc -eq 0 ] || { tail -30 build-fuzz/icap-run.log; exit 1; }
exit 0
