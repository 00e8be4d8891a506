#!/bin/sh
# bench/live.sh -- the packet rate at which live capture starts to drop.
# Not a test. Two network namespaces joined by a veth pair
# (tests/e2e/lib/veth_lab.sh); tests/tools/udpgen in one sends 64-byte UDP
# datagrams over 200 flows to the other, where the sensor reads the veth
# end (defaults: AF_PACKET), at rising rates for SECONDS each (default 3).
# The datagrams go out as whole frames through a packet socket that
# bypasses the sender's UDP/IP stack and qdisc (udpgen -i), addressed to
# another MAC as on a SPAN port: twice the rate the UDP stack
# reaches on one core (GEN=udp: through it). For each rate: what the
# generator reached, what the kernel says the sensor received and dropped
# (the last stats record). The lowest rate with drops is the answer; the
# generator shares the machine's cores with the sensor (one of two here),
# so with as many workers as cores this is a lower bound.
#
#   sh bench/live.sh                    # capture.method afpacket, 1 worker
#   WORKERS=2 sh bench/live.sh
#   NJ_ARGS="-s capture.method=pcap" sh bench/live.sh
#   GEN=udp RATES="100000 0" sh bench/live.sh
#   CHURN=1 sh bench/live.sh           # every packet a new flow (udpgen -c)
set -u
cd "$(dirname "$0")/.." || exit 1
root=$(pwd)
[ "$(id -u)" -eq 0 ] || { echo "bench/live.sh: needs root (network namespaces)" >&2; exit 1; }
make -s build/nightjar build/tools/udpgen >/dev/null || exit 1
. tests/e2e/lib/veth_lab.sh
RATES=${RATES:-"100000 200000 400000 600000 800000 1200000 0"}
SECONDS_EACH=${SECONDS:-3}
WORKERS=${WORKERS:-1}
out=$(mktemp -d)
trap 'veth_lab_down; rm -rf "$out"' EXIT
veth_lab_up || { echo "bench/live.sh: cannot make the namespaces" >&2; exit 1; }
ip netns exec "$LAB_A" python3 -c '
import socket, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("10.231.0.1", 9))
time.sleep(3600)' &
sink=$!
# the sensor's CPU time so far, in clock ticks (user + system, every thread)
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat" 2>/dev/null || echo 0; }
hz=$(getconf CLK_TCK)
printf '%-10s %12s %12s %12s %8s %10s\n' "rate" "sent/s" "received" "dropped" "drop %" "sensor CPU"
for r in $RATES; do
    # shellcheck disable=SC2086
    ip netns exec "$LAB_A" build/nightjar -q -i "$LAB_VA" -o "$out/eve.json" \
        -s eve-log.stats-interval=1 --workers "$WORKERS" ${NJ_ARGS:-} 2>"$out/err" &
    nj=$!
    sleep 1.5
    t0=$(cpu_ticks $nj)
    raw="-i $LAB_VB"
    [ "${GEN:-raw}" = udp ] && raw=""
    [ "${CHURN:-0}" = 1 ] && raw="$raw -c -b 5000"
    # shellcheck disable=SC2086
    sent=$(ip netns exec "$LAB_B" build/tools/udpgen -s "$LAB_SRCS" -d 10.231.0.1 -P 9 \
        -f 20 -n 0 -t "$SECONDS_EACH" -r "$r" -l 64 $raw | sed -n 's/.*(\([0-9]*\) pps).*/\1/p')
    t1=$(cpu_ticks $nj)
    sleep 1
    kill -INT $nj; wait $nj
    grep '"event_type":"stats"' "$out/eve.json" | tail -1 > "$out/last"
    rcv=$(sed -n 's/.*"kernel_packets":\([0-9]*\).*/\1/p' "$out/last")
    drp=$(sed -n 's/.*"kernel_drops":\([0-9]*\).*/\1/p' "$out/last")
    pct=$(awk -v d="${drp:-0}" -v n="${rcv:-0}" 'BEGIN { printf "%.2f", n ? 100 * d / n : 0 }')
    # its CPU while the generator ran, in cores (1.00: one core busy)
    cpu=$(awk -v a="$t0" -v b="$t1" -v hz="$hz" -v s="$SECONDS_EACH" 'BEGIN { printf "%.2f", (b - a) / hz / s }')
    printf "%-10s %12s %12s %12s %8s %10s\n" "$( [ "$r" = 0 ] && echo max || echo "$r")" "$sent" "${rcv:-?}" "${drp:-?}" "$pct" "$cpu"
    rm -f "$out/eve.json"
done
kill $sink 2>/dev/null
