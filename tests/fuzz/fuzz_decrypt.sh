#!/bin/sh
# A short libFuzzer run over passive TLS decryption (fuzz/fuzz_decrypt.c),
# seeded with TLS 1.2 and 1.3 sessions recorded in memory with their
# secrets (fuzz/seed_decrypt.py), so mutations reach the key derivation,
# record opening, KeyUpdate and resumption paths behind authentication.
# A crash, sanitizer report or leak fails the test and leaves the input in
# build-fuzz/.
set -u
root=${NIGHTJAR_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
. "$root/tests/sanitizers.sh"
command -v clang >/dev/null || { echo "skipped: clang is not installed"; exit 77; }
cd "$root" || exit 1
make -j2 -C fuzz ../build-fuzz/fuzz_decrypt >/dev/null 2>build-fuzz-decrypt.log ||
    { cat build-fuzz-decrypt.log; exit 1; }
rm -f build-fuzz-decrypt.log
corpus=build-fuzz/decrypt-corpus
if [ ! -d "$corpus" ] || [ -z "$(ls "$corpus")" ]; then
    tmp=$(mktemp -d)
    openssl req -x509 -newkey rsa:2048 -nodes -keyout "$tmp/k.pem" -out "$tmp/c.pem" \
        -days 1 -subj /CN=fuzz.test >/dev/null 2>&1
    python3 fuzz/seed_decrypt.py "$corpus" "$tmp/c.pem" "$tmp/k.pem" || { rm -rf "$tmp"; exit 1; }
    rm -rf "$tmp"
fi
secs=${FUZZ_SECONDS:-20}
./build-fuzz/fuzz_decrypt "$corpus" -max_total_time="$secs" -max_len=16384 \
    -artifact_prefix=build-fuzz/ -print_final_stats=1 >build-fuzz/decrypt-run.log 2>&1 ||
    { tail -30 build-fuzz/decrypt-run.log; exit 1; }
echo "fuzz_decrypt: $(grep -E 'number_of_executed_units' build-fuzz/decrypt-run.log)"
