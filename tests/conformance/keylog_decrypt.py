#!/usr/bin/env python3
"""Passive TLS decryption against tshark on the corpus's key log captures
(../shared/corpus/keylog: NAME.pcap with NAME.keys).

For every TCP connection, the application data nightjar opens with the key
log (the flow record's bytes_decrypted_toserver/_toclient) must equal, byte
count for byte count and direction for direction, what tshark decrypts
with the same key log (-z follow,tls,raw). The same capture with the key
log injected as pcapng Decryption Secrets Blocks (editcap
--inject-secrets) must give the same without --keylog; without secrets
nothing is decrypted. The HTTP/2 requests in the cleartext (method, path,
authority and status per connection and stream) equal tshark's HTTP/2
decoding with the same key log (tests/e2e/lib/h2_check.py).

Usage: keylog_decrypt.py NIGHTJAR KEYLOG_DIR"""
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "e2e", "lib"))
from common import Failure, nightjar, tshark  # noqa: E402
import h2_check  # noqa: E402

FLOOR_CONNECTIONS = 18     # measured: 18 (illustrated TLS 1.2, 1.3; mercury 16)
FLOOR_BYTES = 350000       # measured: 363,305 bytes of cleartext
FLOOR_REQUESTS = 18        # measured: 20 HTTP/2 requests (mercury)


def streams(path):
    """tcp.stream -> (client port, server port), from the SYNs."""
    out = tshark(path, ["-Y", "tcp.flags.syn == 1 && tcp.flags.ack == 0", "-T", "fields",
                        "-e", "tcp.stream", "-e", "tcp.srcport", "-e", "tcp.dstport"])
    m = {}
    for line in out.splitlines():
        s, sp, dp = line.split("\t")
        m.setdefault(int(s), (int(sp), int(dp)))
    return m


def follow(path, keys, ids):
    """tcp.stream -> [bytes to server, bytes to client] tshark decrypts."""
    args = ["-o", "tls.keylog_file:" + keys, "-q"]
    for i in ids:
        args += ["-z", "follow,tls,raw,%d" % i]
    out = tshark(path, args)
    res, cur, node0 = {}, None, None
    for line in out.splitlines():
        if line.startswith("Filter: tcp.stream eq "):
            cur = int(line.split()[-1])
            res[cur] = [0, 0]
        elif line.startswith("Node 0: "):
            node0 = line[8:].rsplit(":", 1)[1]
        elif cur is not None and line.strip() and not line.startswith(("=", "Follow", "Node")):
            n = len(line.strip()) // 2
            indented = line.startswith("\t")
            res[cur].append((node0, indented, n))
    return res


def tshark_bytes(fol, ports):
    """[to server, to client] from follow's lines: node 0 is whoever spoke first."""
    out = {}
    for s, entries in fol.items():
        if s not in ports:
            continue
        cport, sport = ports[s]
        tot = [0, 0]
        for e in entries[2:]:
            node0, indented, n = e
            from_node0 = not indented
            node0_is_client = node0 == str(cport)
            to_server = from_node0 == node0_is_client
            tot[0 if to_server else 1] += n
        out[(cport, sport)] = tot
    return out


def nightjar_bytes(records):
    out = {}
    for r in records:
        if r.get("event_type") == "flow" and r.get("proto") == "TCP":
            f = r["flow"]
            out[(r["src_port"], r["dest_port"])] = [f.get("bytes_decrypted_toserver", 0),
                                                    f.get("bytes_decrypted_toclient", 0)]
    return out


def main():
    nj, kdir = sys.argv[1], sys.argv[2]
    bad, compared, total, requests = [], 0, 0, 0
    tmp = tempfile.mkdtemp()
    names = sorted(f[:-5] for f in os.listdir(kdir) if f.endswith(".keys"))
    for name in names:
        pcap = os.path.join(kdir, name + ".pcap")
        keys = os.path.join(kdir, name + ".keys")
        if not os.path.exists(pcap):
            continue
        ports = streams(pcap)
        if not ports:
            continue                       # QUIC: no TCP (quic_decrypt.sh)
        want = tshark_bytes(follow(pcap, keys, sorted(ports)), ports)
        eve = os.path.join(tmp, name + ".json")
        records = nightjar(nj, pcap, eve, ["--keylog", keys])
        got = nightjar_bytes(records)
        want_tx = h2_check.tshark_txs(pcap, 443, keylog=keys)
        got_tx = h2_check.nightjar_txs_of(records, 443)
        for k in sorted(set(want_tx) | set(got_tx)):
            if want_tx.get(k) != got_tx.get(k):
                bad.append("%s connection %s stream %s: tshark %s, nightjar %s"
                           % (name, k[0], k[1], want_tx.get(k), got_tx.get(k)))
        requests += len(want_tx)
        plain = nightjar_bytes(nightjar(nj, pcap, eve, []))
        dsb = os.path.join(tmp, name + ".pcapng")
        subprocess.run(["editcap", "--inject-secrets", "tls," + keys, pcap, dsb], check=True,
                       capture_output=True)
        injected = nightjar_bytes(nightjar(nj, dsb, eve, []))
        for conn, w in sorted(want.items()):
            g = got.get(conn, [0, 0])
            if g != w:
                bad.append("%s %s: nightjar decrypted %s bytes, tshark %s" % (name, conn, g, w))
            if injected.get(conn, [0, 0]) != w:
                bad.append("%s %s: from the pcapng's secrets %s, tshark %s"
                           % (name, conn, injected.get(conn), w))
            if plain.get(conn, [0, 0]) != [0, 0]:
                bad.append("%s %s: decrypted without secrets" % (name, conn))
            if sum(w):
                compared += 1
                total += sum(w)
        for conn, g in got.items():
            if conn not in want and sum(g):
                bad.append("%s %s: decrypted %s, tshark nothing" % (name, conn, g))
    for b in bad[:20]:
        print("FAIL " + b)
    print("keylog decryption: %d connections, %d bytes of cleartext, %d HTTP/2 requests "
          "equal to tshark's (floors %d, %d, %d)" % (compared, total, requests,
                                                    FLOOR_CONNECTIONS, FLOOR_BYTES,
                                                    FLOOR_REQUESTS))
    if bad or compared < FLOOR_CONNECTIONS or total < FLOOR_BYTES or requests < FLOOR_REQUESTS:
        sys.exit(1)


if __name__ == "__main__":
    try:
        main()
    except Failure as e:
        print("FAIL %s" % e)
        sys.exit(1)
