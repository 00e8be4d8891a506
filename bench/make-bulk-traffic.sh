#!/bin/sh
# make-bulk-traffic.sh OUT.pcap [MB] -- real TCP traffic at Ethernet MTU.
#
# Two network namespaces joined by a veth pair (MTU 1500), addresses
# 10.77.0.1 (server) and 10.77.0.2 (client), private to this machine. The
# server runs openssl s_server -WWW and python's http.server over a file of
# random bytes; the client downloads it over TLS and plain HTTP, several
# connections at a time, until about MB megabytes (default 220) crossed the
# link; tcpdump in the client namespace writes OUT.pcap. Needs root.
set -eu
out=$1
mb=${2:-220}
ns_s=nj-bench-srv ns_c=nj-bench-cli
work=$(mktemp -d)
cleanup() {
    ip netns pids $ns_s 2>/dev/null | xargs -r kill 2>/dev/null || true
    ip netns pids $ns_c 2>/dev/null | xargs -r kill 2>/dev/null || true
    sleep 0.3
    ip netns del $ns_s 2>/dev/null || true
    ip netns del $ns_c 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT INT TERM
cleanup 2>/dev/null || true
work=$(mktemp -d)
ip netns add $ns_s
ip netns add $ns_c
ip link add nj-veth-s type veth peer name nj-veth-c
ip link set nj-veth-s netns $ns_s
ip link set nj-veth-c netns $ns_c
ip -n $ns_s addr add 10.77.0.1/24 dev nj-veth-s
ip -n $ns_c addr add 10.77.0.2/24 dev nj-veth-c
for ns in $ns_s $ns_c; do ip -n $ns link set lo up; done
ip -n $ns_s link set nj-veth-s up mtu 1500
ip -n $ns_c link set nj-veth-c up mtu 1500
# real segment sizes on the wire: no offloads merging segments
ip netns exec $ns_s ethtool -K nj-veth-s tso off gso off gro off >/dev/null 2>&1 || true
ip netns exec $ns_c ethtool -K nj-veth-c tso off gso off gro off >/dev/null 2>&1 || true

mkdir -p "$work/www"
head -c $((20 * 1048576)) /dev/urandom > "$work/www/file.bin"
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$work/k.pem" -out "$work/c.pem" \
    -days 1 -subj /CN=bench.nightjar.test >/dev/null 2>&1
(cd "$work/www" && ip netns exec $ns_s openssl s_server -accept 10.77.0.1:8443 \
    -cert "$work/c.pem" -key "$work/k.pem" -WWW -quiet >/dev/null 2>&1) &
(cd "$work/www" && ip netns exec $ns_s python3 -m http.server 8080 --bind 10.77.0.1 \
    >/dev/null 2>&1) &
ip netns exec $ns_c tcpdump -i nj-veth-c -B 131072 -s 0 -w "$out" tcp >/dev/null 2>"$work/td.log" &
for _ in $(seq 1 50); do grep -q listening "$work/td.log" 2>/dev/null && break; sleep 0.1; done
sleep 1
rounds=$(( (mb + 79) / 80 ))   # each round: 2 TLS + 2 HTTP downloads of 20 MB
for r in $(seq 1 "$rounds"); do
    (
        for proto in https:8443 http:8080 https:8443 http:8080; do
            ip netns exec $ns_c curl -sk -o /dev/null --max-time 120 \
                "${proto%%:*}://10.77.0.1:${proto#*:}/file.bin" &
        done
        wait
    )
done
sleep 1
ip netns pids $ns_c | xargs -r kill -INT 2>/dev/null || true   # tcpdump flushes
sleep 0.5
grep -E "dropped" "$work/td.log" | sed 's/^/tcpdump: /' || true
echo "made $out"
