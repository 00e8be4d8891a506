#!/bin/sh
# A libFuzzer run over QUIC: Initial parsing (frames and CRYPTO
# reassembly) and 1-RTT decryption, whose packets the target seals itself
# with a fixed key log entry so that header protection, packet numbers,
# key updates, the frame walker and stream reassembly run on
# fuzzer-chosen plaintext (fuzz/fuzz_quic.c). Seeded with QUIC datagrams
# from the corpus when it is there. A crash, sanitizer report or leak
# fails the test and leaves the input in build-fuzz/.
set -u
root=${NIGHTJAR_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
. "$root/tests/sanitizers.sh"
command -v clang >/dev/null || { echo "skipped: clang is not installed"; exit 77; }
cd "$root" || exit 1
make -j2 -C fuzz ../build-fuzz/fuzz_quic >/dev/null 2>build-fuzz-quic.log || { cat build-fuzz-quic.log; exit 1; }
rm -f build-fuzz-quic.log
mkdir -p build-fuzz/quic-corpus build-fuzz/tls-seed-scratch
if [ -d ../shared/corpus ] && command -v tshark >/dev/null && \
   [ -z "$(ls build-fuzz/quic-corpus)" ]; then
    python3 fuzz/seed_tls.py build-fuzz/tls-seed-scratch build-fuzz/quic-corpus \
        ../shared/corpus/ja4/pcap/quic-tls-handshake.pcapng ../shared/corpus/arkime/quicietfooo.pcap \
        ../shared/corpus/keylog/illustrated-quic.pcap
fi
secs=${FUZZ_SECONDS:-25}
./build-fuzz/fuzz_quic build-fuzz/quic-corpus -max_total_time="$secs" -max_len=8192 \
    -artifact_prefix=build-fuzz/ -print_final_stats=1 >build-fuzz/quic-run.log 2>&1 || {
    tail -30 build-fuzz/quic-run.log; exit 1; }
echo "fuzz_quic: $(grep -E 'number_of_executed_units' build-fuzz/quic-run.log)"
exit 0
