#!/bin/sh
# bench/run.sh -- throughput of nightjar against a bare libpcap read loop and
# against ndpiReader, on the same capture, in one run. Not a test.
#
# The capture (bench/out/bench.pcap, >= 200 MB) is real traffic: every
# Ethernet capture of ../shared/corpus (cut to 65535 bytes a frame) merged, then the merge repeated with
# its timestamps shifted (editcap -t) until it passes the size, so flows
# start, live and end as they did on the wire. Each tool reads it RUNS times
# (default 3), in rounds of every tool once; the median wall time gives
# packets/s and Gbit/s, and the
# ratios are against the pcap loop measured in the same run. nightjar also
# runs with tls.enabled=no, which shows what TLS/QUIC parsing costs, with
# the DNS/HTTP/SMTP parsers off (what the application layer costs: parsing,
# hashing and typing every file), without the shipped YARA rules that are on
# by default (--yara none: what scanning files and the first 64 KiB of
# cleartext streams costs), with the lean file settings a busy link would
# use (SHA-256 only, no libmagic), and with the encrypted-traffic model off
# (bench/eta.sh has its per-flow cost). Every nightjar line runs one worker
# (--workers 1: the per-packet cost) but the "2 workers" one; the sensor's
# default is a worker per core.
#
# Also, in the same run: nightjar with every parser and detector off (flows
# only, against the loop), and Suricata 7 when it is installed
# (bench/suricata.yaml: EVE flow/tls/dns/http, no rules).
#
# BASELINE=path/to/an/older/nightjar adds that binary to the same run (with
# BASELINE_ARGS, default none) and prints nightjar's time over it: a
# change's A/B. A build from before YARA was on by default compares with
# the "no YARA" ratio.
set -eu
cd "$(dirname "$0")/.."
. bench/common.sh
MIN_MB=${MIN_MB:-200}
out=bench/out
mkdir -p "$out"
corpus=../shared/corpus
[ -d "$corpus" ] || { echo "bench: $corpus is missing" >&2; exit 1; }
for tool in mergecap editcap capinfos; do
    command -v $tool >/dev/null || { echo "bench: needs $tool (tshark's package)" >&2; exit 1; }
done
if ! command -v ndpiReader >/dev/null; then
    echo "bench: installing libndpi-bin for ndpiReader"
    apt-get install -y -qq libndpi-bin >/dev/null
fi
cc -O2 -o "$out/pcap_loop" bench/pcap_loop.c -lpcap
pcap=$out/corpus.pcap
if [ ! -f "$pcap" ] || [ "$(($(wc -c < "$pcap") / 1048576))" -lt "$MIN_MB" ]; then
    # one pcap per Ethernet capture (libpcap wants one link type and one
    # snap length per file), then one merge in time order
    rm -rf "$out/parts"; mkdir -p "$out/parts"
    n=0
    for f in $(find "$corpus" -type f \( -name '*.pcap' -o -name '*.pcapng' \) | sort); do
        [ "$(capinfos -T -E -r "$f" 2>/dev/null | cut -f2 | tail -1)" = "ether" ] || continue
        n=$((n + 1))
        editcap -F pcap -s 65535 "$f" "$out/parts/$n.pcap" 2>/dev/null || rm -f "$out/parts/$n.pcap"
    done
    mergecap -F pcap -w "$out/base.pcap" "$out"/parts/*.pcap
    rm -rf "$out/parts"
    cp "$out/base.pcap" "$pcap"
    i=1
    while [ "$(($(wc -c < "$pcap") / 1048576))" -lt "$MIN_MB" ]; do
        editcap -F pcap -t $((i * 86400)) "$out/base.pcap" "$out/shift.pcap"
        mergecap -F pcap -a -w "$out/next.pcap" "$pcap" "$out/shift.pcap"
        mv "$out/next.pcap" "$pcap"
        i=$((i + 1))
    done
    rm -f "$out/base.pcap" "$out/shift.pcap"
fi
bulk=$out/bulk.pcap
if [ ! -f "$bulk" ]; then
    sh bench/make-bulk-traffic.sh "$bulk" "$MIN_MB"
fi

report() {
    printf '  %-34s %7.3f s %11.0f pkts/s %7.3f Gbit/s  %6.2fx the loop\n' \
        "$1" "$2" "$(echo "$pkts / $2" | bc -l)" \
        "$(echo "$bytes * 8 / $2 / 1000000000" | bc -l)" "$(echo "$2 / $t_loop" | bc -l)"
}
# Every column is timed once a round, RUNS rounds, and takes the median of
# its RUNS times: a slow spell of a shared machine then falls on every
# column alike (timed RUNS times in a row, one spell could skew one ratio).
add() { printf '%s\t%s\n' "$1" "$2" >> "$out/jobs"; }
time_rounds() {
    rm -rf "$out/times"; mkdir -p "$out/times"
    tab=$(printf '\t')
    for _ in $(seq 1 "$RUNS"); do
        while IFS="$tab" read -r key cmd; do
            s=$(date +%s.%N)
            eval "$cmd" </dev/null >/dev/null 2>&1
            e=$(date +%s.%N)
            echo "$e - $s" | bc -l >> "$out/times/$key"
        done < "$out/jobs"
    done
}
med() { sort -n "$out/times/$1" | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
NJ='./build/nightjar -q -r "$cap" -o /dev/null'
for cap in "$bulk" "$pcap"; do
    set -- $("$out/pcap_loop" "$cap")
    pkts=$1 bytes=$5   # captured bytes: some corpus frames claim absurd wire lengths
    flows=$(./build/nightjar -r "$cap" -o /dev/null 2>&1 | awk '/^  flows:/ {print $2}')
    echo "$cap: $(($(wc -c < "$cap") / 1048576)) MB, $pkts packets, $bytes bytes captured, $flows flows"
    rm -f "$out/jobs"
    add loop '"$out/pcap_loop" "$cap"'
    # one worker on every line but the workers' own: the per-packet cost
    add nj "$NJ --workers 1"
    add w2 "$NJ --workers 2"
    add notls "$NJ --set tls.enabled=no --workers 1"
    add noapp "$NJ --set app-layer.http.enabled=no --set app-layer.smtp.enabled=no --set app-layer.dns.enabled=no --workers 1"
    add noyara "$NJ --yara none --workers 1"
    [ -z "${BASELINE:-}" ] || add base '"$BASELINE" -q -r "$cap" -o /dev/null ${BASELINE_ARGS:-}'
    add noeta "$NJ --set eta.enabled=no --workers 1"
    add lean "$NJ --set files.magic=no --set files.hashes=sha256 --workers 1"
    add ndpi 'ndpiReader -q -i "$cap"'
    # flows only: decode, flows, reassembly and the flow records; every
    # parser, scanner and detector off
    add flows "$NJ --yara none --set tls.enabled=no --set app-layer.http.enabled=no --set app-layer.http2.enabled=no --set app-layer.smtp.enabled=no --set app-layer.dns.enabled=no --set app-layer.ftp.enabled=no --set app-layer.dcerpc.enabled=no --set eta.enabled=no --set anomaly.enabled=no --workers 1"
    if command -v suricata >/dev/null; then
        rm -rf "$out/suri"; mkdir -p "$out/suri"
        add suri 'suricata -c bench/suricata.yaml -r "$cap" -l "$out/suri" -k none --runmode autofp'
    fi
    time_rounds
    t_loop=$(med loop) t_nj=$(med nj) t_w2=$(med w2) t_notls=$(med notls)
    t_noapp=$(med noapp) t_noyara=$(med noyara) t_noeta=$(med noeta)
    t_lean=$(med lean) t_ndpi=$(med ndpi) t_flows=$(med flows)
    [ -z "${BASELINE:-}" ] || t_base=$(med base)
    t_suri=""
    [ ! -f "$out/times/suri" ] || t_suri=$(med suri)
    echo "  median of $RUNS interleaved runs:"
    report "libpcap read loop" "$t_loop"
    report "nightjar (1 worker)" "$t_nj"
    report "nightjar, 2 workers" "$t_w2"
    printf '  nightjar, 2 workers: %.2fx the speed of 1 worker (same run)\n' \
        "$(echo "$t_nj / $t_w2" | bc -l)"
    # each round's own ratio (the two ran a few seconds apart): how far
    # the machine moves it
    paste "$out/times/nj" "$out/times/w2" | awk '{ print $1 / $2 }' | sort -n | awk '
        { r[NR] = $1 }
        END { printf "  per round: %.2fx to %.2fx, the middle half %.2fx to %.2fx (%d rounds)\n",
              r[1], r[NR], r[int((NR + 3) / 4)], r[int((3 * NR + 3) / 4)], NR }'
    report "nightjar, no TLS/QUIC" "$t_notls"
    report "nightjar, no DNS/HTTP/SMTP" "$t_noapp"
    report "nightjar, no YARA" "$t_noyara"
    [ -z "${BASELINE:-}" ] || report "baseline: $BASELINE ${BASELINE_ARGS:-}" "$t_base"
    report "nightjar, ETA model off" "$t_noeta"
    report "nightjar, sha256 only, no libmagic" "$t_lean"
    report "ndpiReader" "$t_ndpi"
    report "nightjar, flows only" "$t_flows"
    [ -z "$t_suri" ] || report "Suricata (EVE flow/tls/dns/http, no rules)" "$t_suri"
    [ -n "$t_suri" ] || echo "  (Suricata is not installed: apt-get install -t bookworm-backports suricata)"
    [ -z "$t_suri" ] || printf '  nightjar/Suricata time: %.2f (below 1: nightjar is faster)\n' \
        "$(echo "$t_nj / $t_suri" | bc -l)"
    printf '  nightjar flows only / libpcap loop: %.2f\n' "$(echo "$t_flows / $t_loop" | bc -l)"
    printf '  nightjar/ndpiReader time: %.2f (below 1: nightjar is faster); TLS/QUIC parsing: %.0f%% of nightjar'"'"'s time\n' \
        "$(echo "$t_nj / $t_ndpi" | bc -l)" "$(echo "($t_nj - $t_notls) * 100 / $t_nj" | bc -l)"
    printf '  DNS/HTTP/SMTP parsing and file hashing/typing: %.0f%% of nightjar'"'"'s time; the YARA rules %.0f%%\n' \
        "$(echo "($t_nj - $t_noapp) * 100 / $t_nj" | bc -l)" "$(echo "($t_nj - $t_noyara) * 100 / $t_nj" | bc -l)"
    [ -z "${BASELINE:-}" ] ||
        printf '  nightjar/baseline time: %.3f (default), %.3f (no YARA)\n' \
            "$(echo "$t_nj / $t_base" | bc -l)" "$(echo "$t_noyara / $t_base" | bc -l)"
done
