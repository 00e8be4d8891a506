#!/bin/sh
# bench/eta.sh -- the cost of the encrypted-traffic model: scoring per flow
# (bench/eta_score.c: the sensor's tree walker against XGBoost's C API on
# the same flows, in the same run) and the whole sensor with the model on
# and off (median of RUNS runs) on the corpus capture bench/run.sh builds.
# Not a test. Run `make bench` first for bench/out/corpus.pcap.
set -eu
cd "$(dirname "$0")/.."
. bench/common.sh
out=bench/out
mkdir -p "$out"
make -s build/nightjar build/libnightjar.a build/libnightjar-train.a
cc -O2 -std=c11 -D_GNU_SOURCE -Isrc -o "$out/eta_score" bench/eta_score.c \
    build/libnightjar-train.a build/libnightjar.a \
    -lpcap -lcrypto -lyaml -lyara -lmagic -lz -ljansson -lpthread -lm -lxgboost
labelled=../shared/corpus/labelled
[ -d "$labelled" ] || { echo "bench: $labelled is missing" >&2; exit 1; }
"$out/eta_score" models/eta-default.json "$labelled"/*.pcap*
cap=$out/corpus.pcap
[ -f "$cap" ] || { echo "bench: no $cap (run make bench first)"; exit 0; }
scored=$(./build/nightjar -r "$cap" -o - -q | grep '"event_type":"stats"' | tail -1 |
    python3 -c 'import json,sys; s=json.load(sys.stdin)["stats"]["eta"]; print(s["flows"], s["scored"], s["alerts"])')
t_off=$(median ./build/nightjar -q -r "$cap" -o /dev/null --workers 1 --set eta.enabled=no)
t_on=$(median ./build/nightjar -q -r "$cap" -o /dev/null --workers 1)
set -- $scored
echo "$cap: $1 flows ended, $2 scored, $3 ETA alerts"
printf '  nightjar, model off %7.3f s; model on %7.3f s: %.1f%% more (features, history, scoring)\n' \
    "$t_off" "$t_on" "$(echo "($t_on - $t_off) * 100 / $t_off" | bc -l)"
