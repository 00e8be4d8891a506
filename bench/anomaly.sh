#!/bin/sh
# bench/anomaly.sh -- what host baselines cost: bytes per profile, the
# tables' memory and peak RSS for 100,000 hosts, and the time per flow
# against building the same flows alone (bench/anomaly_hosts.c), then the
# whole sensor with the anomaly detector on and off on the corpus capture
# bench/run.sh builds. Not a test.
set -eu
cd "$(dirname "$0")/.."
. bench/common.sh
out=bench/out
mkdir -p "$out"
make -s build/nightjar build/libnightjar.a
cc -O2 -std=c11 -D_GNU_SOURCE -Isrc -o "$out/anomaly_hosts" bench/anomaly_hosts.c \
    build/libnightjar.a -lpcap -lcrypto -lyaml -lyara -lmagic -lz -ljansson -lpthread -lm
"$out/anomaly_hosts" 100000
cap=$out/corpus.pcap
[ -f "$cap" ] || { echo "bench: no $cap (run make bench first)"; exit 0; }
t_off=$(median ./build/nightjar -q -r "$cap" -o /dev/null --workers 1 --set anomaly.enabled=no)
t_on=$(median ./build/nightjar -q -r "$cap" -o /dev/null --workers 1)
printf '  nightjar on %s: anomaly detector off %7.3f s, on %7.3f s (%+.1f%%)\n' \
    "$cap" "$t_off" "$t_on" "$(echo "($t_on - $t_off) * 100 / $t_off" | bc -l)"
