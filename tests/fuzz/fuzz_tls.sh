#!/bin/sh
# A short libFuzzer run over the TLS/DTLS/certificate parsers, seeded with
# real handshakes from the corpus when it is there (the QUIC datagram seeds
# made here serve tests/fuzz/fuzz_quic.sh, which runs fuzz_quic). A crash,
# sanitizer report or leak fails the test and leaves the input in
# build-fuzz/.
set -u
root=${NIGHTJAR_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
. "$root/tests/sanitizers.sh"
command -v clang >/dev/null || { echo "skipped: clang is not installed"; exit 77; }
cd "$root" || exit 1
make -j2 -C fuzz >/dev/null 2>build-fuzz-tls.log || { cat build-fuzz-tls.log; exit 1; }
rm -f build-fuzz-tls.log
mkdir -p build-fuzz/tls-corpus build-fuzz/quic-corpus
if [ -d ../shared/corpus ] && command -v tshark >/dev/null && \
   [ -z "$(ls build-fuzz/tls-corpus)" ]; then
    python3 fuzz/seed_tls.py build-fuzz/tls-corpus build-fuzz/quic-corpus \
        ../shared/corpus/ja4/pcap/tls12.pcap ../shared/corpus/arkime/openssl-tls1_2.pcap \
        ../shared/corpus/arkime/tls-split-client-hello.pcap ../shared/corpus/arkime/cloudshark-dtls1.pcap \
        ../shared/corpus/ja4/pcap/quic-tls-handshake.pcapng ../shared/corpus/arkime/quicietfooo.pcap \
        ../shared/corpus/arkime/ssl-selfsign.pcap ../shared/corpus/arkime/arkime_synthetic.pcap
fi
secs=${FUZZ_SECONDS:-25}
rc=0
for t in tls; do
    ./build-fuzz/fuzz_$t build-fuzz/$t-corpus -max_total_time="$secs" -max_len=8192 \
        -artifact_prefix=build-fuzz/ -print_final_stats=1 >build-fuzz/$t-run.log 2>&1 || rc=1
    echo "fuzz_$t: $(grep -E 'number_of_executed_units' build-fuzz/$t-run.log)"
    [ $rc -eq 0 ] || { tail -30 build-fuzz/$t-run.log; exit 1; }
done
exit 0
