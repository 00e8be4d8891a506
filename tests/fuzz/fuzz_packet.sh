#!/bin/sh
# A short libFuzzer run over the whole per-packet path (decode, flows,
# reassembly, detection, EVE), seeded with real frames. Any crash, sanitizer
# report or leak fails the test and leaves the input in build-fuzz/.
set -u
root=${NIGHTJAR_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
. "$root/tests/sanitizers.sh"
command -v clang >/dev/null || { echo "skipped: clang is not installed"; exit 77; }
cd "$root" || exit 1
make -j2 -C fuzz >/dev/null 2>build-fuzz.log || { cat build-fuzz.log; rm -f build-fuzz.log; exit 1; }
rm -f build-fuzz.log
corpus=build-fuzz/corpus
mkdir -p "$corpus"
seeds="samples/demo.pcap"
for f in ja4/pcap/gre-erspan-vxlan.pcap arkime/gtp-iphone.pcap arkime/nflog.pcap \
         arkime/80211http.pcap arkime/pppoe.pcap arkime/mpls-basic.pcap \
         arkime/dot1ad.pcap arkime/ipv6-in-ipv4.pcap labelled/benign-dns.pcap \
         ja4/pcap/tcpdump-geneve.pcap arkime/socks5-http-302-frag.pcap; do
    [ -f "../shared/corpus/$f" ] && seeds="$seeds ../shared/corpus/$f"
done
python3 fuzz/seed_corpus.py "$corpus" $seeds
# inputs that once broke something must keep passing
./build-fuzz/fuzz_packet fuzz/regressions/* >build-fuzz/regressions.log 2>&1 ||
    { tail -20 build-fuzz/regressions.log; exit 1; }
secs=${FUZZ_SECONDS:-45}
./build-fuzz/fuzz_packet "$corpus" -max_total_time="$secs" -max_len=4096 \
    -artifact_prefix=build-fuzz/ -print_final_stats=1 >build-fuzz/last-run.log 2>&1
rc=$?
tail -25 build-fuzz/last-run.log
# libFuzzer's own error exit code is 77, which tests/run.sh reads as a skip
[ $rc -eq 0 ] || { echo "fuzz_packet: exit $rc"; exit 1; }
exit 0
