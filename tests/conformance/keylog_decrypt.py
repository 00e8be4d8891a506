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
decoding with the same key log (tests/e2e/lib/h2_check.py), and so do
their objects: per connection and stream, the sha256 of every body nightjar
extracts equals that of tshark's body (its reassembled body, or the one DATA
frame's), decoded as its content-encoding says (gzip or deflate).

Usage: keylog_decrypt.py NIGHTJAR KEYLOG_DIR"""
import hashlib
import json
import os
import subprocess
import sys
import tempfile
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "e2e", "lib"))
from common import Failure, nightjar, tshark  # noqa: E402
import h2_check  # noqa: E402

FLOOR_CONNECTIONS = 18     # measured: 18 (illustrated TLS 1.2, 1.3; mercury 16)
FLOOR_BYTES = 350000       # measured: 363,305 bytes of cleartext
FLOOR_REQUESTS = 18        # measured: 19 HTTP/2 requests (mercury)
FLOOR_OBJECTS = 18         # measured: 19 HTTP/2 bodies


def as_list(x):
    return [] if x is None else x if isinstance(x, list) else [x]


def decode(body, encoding):
    """What decodes of a body (a cut one decodes up to the cut)."""
    if encoding == "gzip":
        return zlib.decompressobj(16 + zlib.MAX_WBITS).decompress(body)
    if encoding == "deflate":
        try:
            return zlib.decompressobj().decompress(body)
        except zlib.error:
            return zlib.decompressobj(-zlib.MAX_WBITS).decompress(body)
    return body


def find(x, name):
    """The first value of a field anywhere under x."""
    if isinstance(x, dict):
        if name in x:
            return x[name]
        x = list(x.values())
    if isinstance(x, list):
        for v in x:
            r = find(v, name)
            if r:
                return r
    return None


def tshark_objects(pcap, keys):
    """(client port, stream) -> set of body sha256s, from tshark's frames."""
    out = tshark(pcap, ["-o", "tls.keylog_file:" + keys, "-Y", "http2", "-T", "json",
                        "--no-duplicate-keys", "-J", "tcp http2"])
    bodies, whole, enc, decoded = {}, {}, {}, set()
    for pkt in json.loads(out):
        layers = pkt["_source"]["layers"]
        tcp = layers["tcp"]
        to_client = tcp["tcp.srcport"] == "443"
        port = int(tcp["tcp.dstport"] if to_client else tcp["tcp.srcport"])
        for h2 in as_list(layers.get("http2")):
            for st in as_list(h2.get("http2.stream")):
                sid = int(st.get("http2.streamid", "0"))
                key = (port, sid, to_client)
                for h in as_list(st.get("http2.header")):
                    if isinstance(h, dict) and h.get("http2.header.name") == "content-encoding":
                        enc[key] = h.get("http2.header.value")
                if st.get("http2.type") == "0":
                    # a one-frame body tshark decoded itself sits under a
                    # "Content-encoded entity body" subtree
                    dec = [v for k, v in st.items() if k.startswith("Content-encoded entity body")]
                    data = find(dec, "http2.data.data") if dec else st.get("http2.data.data")
                    if data:
                        if dec:
                            decoded.add(key)
                        bodies[key] = bodies.get(key, b"") + bytes.fromhex(data.replace(":", ""))
                r = find(st, "http2.body.reassembled.data")   # a body over many frames
                if r:
                    whole[key] = bytes.fromhex(r.replace(":", ""))
    bodies.update(whole)
    decoded -= set(whole)
    res = {}
    for (port, sid, to_client), body in bodies.items():
        if body:
            if (port, sid, to_client) not in decoded:
                body = decode(body, enc.get((port, sid, to_client), "identity"))
            res.setdefault((port, sid), set()).add(hashlib.sha256(body).hexdigest())
    return res


def nightjar_objects(records):
    res = {}
    for r in records:
        if r.get("event_type") == "fileinfo" and "http2" in r.get("http", {}):
            key = (r["src_port"], r["http"]["http2"]["stream_id"])
            if r["fileinfo"].get("size"):
                res.setdefault(key, set()).add(r["fileinfo"]["sha256"])
    return res


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
    bad, compared, total, requests, objects = [], 0, 0, 0, 0
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
        want_obj, got_obj = tshark_objects(pcap, keys), nightjar_objects(records)
        for k in sorted(set(want_obj) | set(got_obj)):
            if want_obj.get(k) != got_obj.get(k):
                bad.append("%s connection %s stream %s: bodies tshark %s, nightjar %s"
                           % (name, k[0], k[1], want_obj.get(k), got_obj.get(k)))
            objects += len(want_obj.get(k, ()))
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
    print("keylog decryption: %d connections, %d bytes of cleartext, %d HTTP/2 requests, "
          "%d objects equal to tshark's (floors %d, %d, %d, %d)"
          % (compared, total, requests, objects, FLOOR_CONNECTIONS, FLOOR_BYTES,
             FLOOR_REQUESTS, FLOOR_OBJECTS))
    if (bad or compared < FLOOR_CONNECTIONS or total < FLOOR_BYTES or
            requests < FLOOR_REQUESTS or objects < FLOOR_OBJECTS):
        sys.exit(1)


if __name__ == "__main__":
    try:
        main()
    except Failure as e:
        print("FAIL %s" % e)
        sys.exit(1)
