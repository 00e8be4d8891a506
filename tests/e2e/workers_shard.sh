#!/bin/sh
# workers_shard.sh -- between two internal hosts, a worker keeps the flows
# of the client its SYN names, even when the client's port is the lower
# one (sensor/workers.c, turned_client).
#
# The attack: a scanner inside the network probes 30 internal hosts on
# TCP 445 from source port 53 (nmap --source-port 53, a firewall evasion),
# and talks to a database on port 5432 from port 1030. By the ports alone
# the client would be the higher-port end -- each target -- so with two
# workers the probes were split between them by target and each worker's
# scan tracker saw about 15 hosts, under the 20 that make a scan: one
# worker named the scan, two did not. Now every run (one worker, two, two
# reading stdin) names it, and one and two workers give the same records.
#
# And UDP between internal hosts on one port at both ends (NTP 123,
# NetBIOS 137 and 138, IKE 500...: even_client): the flow belongs to its
# first datagram's sender, as the flow table says. By the pair of
# addresses those flows sat on either worker, and the sender's profile
# missed the ones on the other: a host that used six such services was
# said to use three when it then opened a new TCP port. A datagram of
# such a flow in IP fragments goes with the flow's others.
. "$(dirname "$0")/lib/common.sh"
command -v python3 >/dev/null || skip "python3 is not installed"

python3 - "$WORK" <<'PY'
import os, struct, sys

def csum(b):
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16:
        s = (s & 0xffff) + (s >> 16)
    return ~s & 0xffff

def ip(a):
    return bytes(int(x) for x in a.split("."))

def ipv4(src, dst, proto, l4, ident=1, frag=0x4000):
    iph = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(l4), ident, frag, 64, proto, 0,
                      ip(src), ip(dst))
    iph = iph[:10] + struct.pack("!H", csum(iph)) + iph[12:]
    return b"\x02\0\0\0\0\x02" + b"\x02\0\0\0\0\x01" + b"\x08\x00" + iph + l4

def tcp(src, dst, sport, dport, flags, seq, ack, payload=b""):
    hdr = struct.pack("!HHIIBBHHH", sport, dport, seq, ack, 5 << 4, flags, 65535, 0, 0)
    pseudo = ip(src) + ip(dst) + struct.pack("!BBH", 0, 6, len(hdr) + len(payload))
    c = csum(pseudo + hdr + payload)
    return ipv4(src, dst, 6, hdr[:16] + struct.pack("!H", c) + hdr[18:] + payload)

def udp(src, dst, sp, dp, payload):
    return ipv4(src, dst, 17, struct.pack("!HHHH", sp, dp, 8 + len(payload), 0) + payload)

def udp_fragments(src, dst, sp, dp, payload, ident):
    # one datagram in two IP fragments: the UDP header and 24 bytes, then the rest
    l4 = struct.pack("!HHHH", sp, dp, 8 + len(payload), 0) + payload
    return [ipv4(src, dst, 17, l4[:32], ident, 0x2000), ipv4(src, dst, 17, l4[32:], ident, 4)]

def write(name, frames):
    with open(os.path.join(sys.argv[1], name), "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xa1b2c3d4, 2, 4, 0, 0, 65535, 1))
        for ts, fr in frames:
            f.write(struct.pack("<IIII", int(ts), int((ts % 1) * 1e6), len(fr), len(fr)) + fr)

SYN, ACK, PSH, FIN = 0x02, 0x10, 0x08, 0x01

def conversation(frames, t, client, server, cp, sp, request, answer, seq=0):
    """A TCP conversation, answered and closed; the time after it."""
    for src, dst, a, b, fl, pl in [
            (client, server, cp, sp, SYN, b""), (server, client, sp, cp, SYN | ACK, b""),
            (client, server, cp, sp, ACK, b""), (client, server, cp, sp, PSH | ACK, request),
            (server, client, sp, cp, PSH | ACK, answer),
            (client, server, cp, sp, FIN | ACK, b""), (server, client, sp, cp, FIN | ACK, b""),
            (client, server, cp, sp, ACK, b"")]:
        frames.append((t, tcp(src, dst, a, b, fl, seq, seq, pl)))
        t += 0.01
    return t

# scan.pcap: a conversation with the database from a low port, then the
# sweep: SYNs from port 53 to 30 hosts on 445, none answered
frames = []
scanner, db = "10.1.0.5", "10.1.0.9"
t = conversation(frames, 1700000000.0, scanner, db, 1030, 5432,
                 b"\0\0\0\x08\x04\xd2\x16\x2f", b"N")
for i in range(30):
    frames.append((t, tcp(scanner, "10.1.1.%d" % (10 + i), 53, 445, SYN, 7 + i, 0)))
    t += 0.1
write("scan.pcap", frames)

# even.pcap: six services, each with another internal host, on one port
# both ways, the second answer of each in IP fragments (IKE with its
# certificates); five minutes later, when those flows have ended, a new
# TCP port outside
frames = []
t = 1700000000.0
host = "10.1.0.5"
for i, port in enumerate([123, 137, 138, 500, 520, 1900]):
    peer = "10.1.2.%d" % (20 + i)
    for k in range(3):
        frames.append((t, udp(host, peer, port, port, b"q" * 48)))
        t += 0.01
        if k == 1:
            for fr in udp_fragments(peer, host, port, port, b"a" * 200, 100 + i):
                frames.append((t, fr))
                t += 0.001
        else:
            frames.append((t, udp(peer, host, port, port, b"a" * 48)))
        t += 0.5
conversation(frames, t + 300, host, "198.51.100.7", 50000, 8081, b"hello", b"world", seq=1)
write("even.pcap", frames)
PY

scan_named() { # scan_named EVE LABEL
    grep '"event_type":"alert"' "$1" | grep -q '"src_ip":"10.1.0.5".*one port on many hosts' ||
        fail "$2: the sweep from source port 53 was not named a scan: $(grep -c . "$1") records"
}
exits 0 "one worker" "$WORK/1.err" "$NJ" -r "$WORK/scan.pcap" --workers 1 -o "$WORK/1.json"
scan_named "$WORK/1.json" "one worker"
exits 0 "two workers" "$WORK/2.err" "$NJ" -r "$WORK/scan.pcap" --workers 2 -o "$WORK/2.json"
scan_named "$WORK/2.json" "two workers"
exits 0 "two workers, stdin" "$WORK/s.err" sh -c '"$1" -r - --workers 2 -o "$2" < "$3"' _ \
    "$NJ" "$WORK/s.json" "$WORK/scan.pcap"
scan_named "$WORK/s.json" "two workers reading stdin"
python3 "$root/tests/e2e/lib/same_records.py" "$WORK/1.json" "$WORK/2.json" > "$WORK/cmp.out" 2>&1 ||
    fail "one and two workers differ: $(cat "$WORK/cmp.out")"
grep -q "31 internal connections opened from the lower port, 0 forgotten" "$WORK/2.err" ||
    fail "two workers: summary: $(grep 'workers:' "$WORK/2.err")"

for n in 1 2; do
    exits 0 "one port both ways, $n worker(s)" "$WORK/even$n.err" "$NJ" -r "$WORK/even.pcap" \
        --workers $n --set anomaly.learning-period=1 -o "$WORK/even$n.json"
    grep -q "first use of TCP port 8081 by this host (it uses 6 others)" "$WORK/even$n.json" ||
        fail "$n worker(s): the host's six services on one port both ways are not all in its profile: $(grep -o 'first use of TCP[^"]*' "$WORK/even$n.json")"
done
python3 "$root/tests/e2e/lib/same_records.py" "$WORK/even1.json" "$WORK/even2.json" \
    > "$WORK/cmp.out" 2>&1 ||
    fail "one port both ways: one and two workers differ: $(cat "$WORK/cmp.out")"
grep -q "6 internal UDP flows on one port at both ends, 0 forgotten while alive" "$WORK/even2.err" ||
    fail "one port both ways: summary: $(grep 'workers:' "$WORK/even2.err")"
echo "workers_shard: the sweep from port 53 is one scan on one worker, with one worker or two; UDP on one port both ways is its first sender's"
