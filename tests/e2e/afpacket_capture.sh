#!/bin/sh
# Live capture through AF_PACKET (capture.method: afpacket) on a veth pair
# between two network namespaces made here -- no real interface, no other
# address. A UDP generator (tests/tools/udpgen) in one namespace sends to an
# echo server in the other, from ten addresses and many ports.
#   - fanout: two sockets in one PACKET_FANOUT_HASH group each get part of
#     the traffic and no connection is split between them (both directions
#     on one socket); in "pair" mode (the classic BPF program on the address
#     pair) no address pair is split and both sockets get some.
#   - the sensor reading with AF_PACKET and the sensor reading with libpcap
#     at the same time write the same flows, packet for packet, and the
#     AF_PACKET one reports its kernel counters without drops.
. "$(dirname "$0")/lib/common.sh"
need_root
command -v ip >/dev/null || skip "iproute2 is not installed"
UDPGEN=$root/build/tools/udpgen
FANOUT=$root/build/tools/fanout_check
[ -x "$UDPGEN" ] && [ -x "$FANOUT" ] || fail "build/tools/udpgen and fanout_check are missing: run make"
. "$root/tests/e2e/lib/veth_lab.sh"
pids=""
cleanup() {
    for p in $pids; do kill "$p" 2>/dev/null; done
    wait 2>/dev/null
    veth_lab_down
    rm -rf "$WORK"
}
trap cleanup EXIT
ip netns add "njprobe$$" 2>/dev/null || skip "cannot create a network namespace"
ip netns del "njprobe$$"
veth_lab_up || fail "cannot set up the veth pair between two namespaces"
A=$LAB_A B=$LAB_B VA=$LAB_VA srcs=$LAB_SRCS
ip netns exec "$A" python3 -c '
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("10.231.0.1", 7))
while True:
    d, a = s.recvfrom(2048)
    s.sendto(d, a)
' &
pids="$pids $!"
sleep 1
# neighbours resolved before counting: one packet from each address
ip netns exec "$B" "$UDPGEN" -s "$srcs" -d 10.231.0.1 -P 7 -f 1 -b 30000 -n 10 >/dev/null ||
    fail "udpgen could not send"
sleep 0.5

fanout() {   # fanout MODE: the checker's report while 10 x 20 flows echo
    ip netns exec "$A" "$FANOUT" "$VA" "$1" 2 4 > "fanout-$1.txt" &
    fp=$!
    for _ in $(seq 1 50); do grep -q ready "fanout-$1.txt" 2>/dev/null && break; sleep 0.1; done
    ip netns exec "$B" "$UDPGEN" -s "$srcs" -d 10.231.0.1 -P 7 -f 20 -b 31000 -n 2000 -r 2000 \
        >/dev/null || fail "udpgen"
    wait "$fp" || fail "fanout_check $1 failed: $(cat "fanout-$1.txt")"
}
field() { sed -n "s/^$2 \([0-9]*\) split \([0-9]*\)$/\1 \2/p" "$1"; }
sock() { sed -n "s/^socket $2: \([0-9]*\) packets$/\1/p" "$1"; }
cd "$WORK" || exit 1
fanout hash
set -- $(field fanout-hash.txt connections)
[ "${1:-0}" -ge 200 ] || fail "hash fanout: $1 connections seen, expected >= 200: $(cat fanout-hash.txt)"
assert_eq "$2" 0 "hash fanout: connections split between sockets"
[ "$(sock fanout-hash.txt 0)" -gt 0 ] && [ "$(sock fanout-hash.txt 1)" -gt 0 ] ||
    fail "hash fanout: a socket got nothing: $(cat fanout-hash.txt)"
fanout pair
set -- $(field fanout-pair.txt pairs)
[ "${1:-0}" -ge 10 ] || fail "pair fanout: $1 address pairs, expected >= 10"
assert_eq "$2" 0 "pair fanout: address pairs split between sockets"
[ "$(sock fanout-pair.txt 0)" -gt 0 ] && [ "$(sock fanout-pair.txt 1)" -gt 0 ] ||
    fail "pair fanout: a socket got nothing: $(cat fanout-pair.txt)"

# the sensor: AF_PACKET and libpcap side by side on the same traffic
for m in afpacket pcap; do
    ip netns exec "$A" "$NJ" -q -i "$VA" -o "$m.json" -s capture.method=$m \
        -s eve-log.stats-interval=1 2>"$m.err" &
    eval "nj_$m=$!"
    pids="$pids $!"
done
sleep 2
ip netns exec "$B" "$UDPGEN" -s "$srcs" -d 10.231.0.1 -P 7 -f 5 -b 32000 -n 5000 -r 5000 \
    >/dev/null || fail "udpgen"
sleep 1.5
# shellcheck disable=SC2154
kill -INT "$nj_afpacket" "$nj_pcap"
wait "$nj_afpacket" || fail "nightjar (afpacket): $(what_went_wrong afpacket.err)"
wait "$nj_pcap" || fail "nightjar (pcap): $(what_went_wrong pcap.err)"
grep -q "reading it with libpcap" afpacket.err && fail "AF_PACKET fell back to libpcap: $(cat afpacket.err)"
flows() {
    python3 -c "
import json, sys
out = []
for l in open(sys.argv[1]):
    r = json.loads(l)
    if r.get('event_type') == 'flow' and r.get('proto') == 'UDP' and r.get('dest_port') == 7:
        f = r['flow']
        out.append('%s:%s %d %d' % (r['src_ip'], r['src_port'], f['pkts_toserver'], f['pkts_toclient']))
print('\n'.join(sorted(out)))" "$1"
}
flows afpacket.json > af.flows
flows pcap.json > pc.flows
assert_eq "$(grep -c ":32[0-9][0-9][0-9] " af.flows)" 50 "flows seen through AF_PACKET"
assert_eq "$(awk '{s += $2} END {print s}' af.flows)" 5000 "packets to the echo server"
assert_eq "$(awk '{s += $3} END {print s}' af.flows)" 5000 "packets echoed back"
diff af.flows pc.flows > flows.diff || fail "AF_PACKET and libpcap differ: $(head -5 flows.diff)"
last=$(grep '"event_type":"stats"' afpacket.json | tail -1)
echo "$last" | grep -q '"kernel_packets":[1-9]' || fail "no kernel counters from AF_PACKET"
echo "$last" | grep -q '"kernel_drops":0' || fail "AF_PACKET dropped packets at 5000/s: $last"
echo "AF_PACKET: fanout by connection and by address pair splits nothing; the same $(wc -l < af.flows) flows as libpcap, no drops"
