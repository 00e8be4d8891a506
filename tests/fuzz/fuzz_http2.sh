#!/bin/sh
# Short libFuzzer run over the HTTP/2 parser (frames, HPACK, streams,
# bodies), seeded with conversations fuzz/seed_http2.py makes, after
# replaying every input that once crashed it (fuzz/regressions/http2-*). A
# crash, sanitizer report, failed invariant or leak fails the test and
# leaves the input in build-fuzz/.
set -u
root=${NIGHTJAR_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
. "$root/tests/sanitizers.sh"
command -v clang >/dev/null || { echo "skipped: clang is not installed"; exit 77; }
command -v python3 >/dev/null || { echo "skipped: python3 is not installed"; exit 77; }
cd "$root" || exit 1
make -j2 -C fuzz ../build-fuzz/fuzz_http2 >/dev/null 2>build-fuzz-http2.log ||
    { cat build-fuzz-http2.log; exit 1; }
rm -f build-fuzz-http2.log
for r in fuzz/regressions/http2-*; do
    [ -f "$r" ] || continue
    ./build-fuzz/fuzz_http2 "$r" >build-fuzz/http2-regression.log 2>&1 ||
        { echo "regression $r fails again:"; tail -20 build-fuzz/http2-regression.log; exit 1; }
done
mkdir -p build-fuzz/http2-corpus
python3 fuzz/seed_http2.py build-fuzz/http2-corpus || exit 1
secs=${FUZZ_SECONDS:-20}
./build-fuzz/fuzz_http2 build-fuzz/http2-corpus -max_total_time="$secs" -max_len=8192 \
    -artifact_prefix=build-fuzz/ -print_final_stats=1 >build-fuzz/http2-run.log 2>&1
rc=$?
echo "fuzz_http2: $(grep -E 'number_of_executed_units' build-fuzz/http2-run.log)"
[ $rc -eq 0 ] || { tail -30 build-fuzz/http2-run.log; exit 1; }
exit 0
