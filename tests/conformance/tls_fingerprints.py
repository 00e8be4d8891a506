#!/usr/bin/env python3
"""Conformance of nightjar's TLS and QUIC metadata against three references.

For every capture given:
  tshark  -- per TCP connection or QUIC flow (client -> server address/port),
             the JA3 of the first ClientHello, the JA3S of the first
             ServerHello, the SNI, and the SHA-1 of each certificate (from
             tls.handshake.certificate bytes) must equal nightjar's tls event.
  FoxIO   -- for captures with ../ja4/expected/NAME.json, every stream's
             JA4.1 must equal nightjar's tls.ja4 for that connection.
  Arkime  -- for captures with NAME.test beside them, each session's ja3,
             ja3s, ja4 and certificate SHA-1s must be among nightjar's.

Exceptions are named (PENDING) and listed, never silently dropped.
Usage: tls_fingerprints.py NIGHTJAR CAPTURE...
"""
import collections
import hashlib
import json
import multiprocessing
import os
import subprocess
import sys
import tempfile

FIELDS = ["ip.src", "ipv6.src", "PROTO.srcport", "ip.dst", "ipv6.dst", "PROTO.dstport",
          "tls.handshake.type", "tls.handshake.ja3", "tls.handshake.ja3s",
          "tls.handshake.extensions_server_name", "tls.handshake.certificate"]


def last(v):
    return v.split(",")[-1] if v else ""


def tshark_tls(path):
    """{(client ip, port, server ip, port): {ja3, ja3s, sni, certs}}; the
    client is the sender of the ClientHello. A connection (or a reused
    4-tuple) keeps the first value of each, as tshark shows it."""
    conns, client_of = {}, {}
    for proto in ("tcp", "udp"):  # TLS over TCP, and in QUIC Initial packets
        tshark_pass(path, proto, conns, client_of)
    return {k: v for k, v in conns.items() if v}


def tshark_pass(path, proto, conns, client_of):
    filt = "tcp && tls.handshake" if proto == "tcp" else "quic && tls.handshake"
    args = ["tshark", "-n", "-r", path, "-Y", filt, "-T", "fields",
            "-E", "separator=/t", "-E", "occurrence=a", "-E", "aggregator=;"]
    for f in FIELDS:
        args += ["-e", f.replace("PROTO", proto)]
    out = subprocess.run(args, capture_output=True, text=True).stdout
    for line in out.splitlines():
        c = (line.split("\t") + [""] * len(FIELDS))[:len(FIELDS)]
        src = (last(c[0]) or last(c[1]), last(c[2]))
        dst = (last(c[3]) or last(c[4]), last(c[5]))
        if not src[0] or not src[1]:
            continue
        src, dst = (src[0], int(src[1])), (dst[0], int(dst[1]))
        pair = frozenset((src, dst))
        types = c[6].split(";")
        if "1" in types:
            client_of.setdefault(pair, src)
        client = client_of.get(pair)
        from_client = client == src
        key = (src + dst) if from_client or client is None else (dst + src)
        d = conns.setdefault(key, {})
        if "1" in types and c[7] and from_client:
            d.setdefault("ja3", c[7].split(";")[0])
            if c[9]:
                d.setdefault("sni", c[9].split(";")[0])
        if "2" in types and c[8] and not from_client:
            # after a HelloRetryRequest there are two ServerHellos
            d.setdefault("ja3s", set()).update(c[8].split(";"))
        if "11" in types and c[10] and not from_client and "certs" not in d:
            d["certs"] = [hashlib.sha1(bytes.fromhex(h.replace(":", ""))).hexdigest()
                          for h in c[10].split(";") if h]


def nightjar_tls(nightjar, path):
    with tempfile.NamedTemporaryFile(suffix=".json") as eve:
        r = subprocess.run([nightjar, "-q", "-r", path, "-o", eve.name],
                           capture_output=True, text=True)
        if r.returncode not in (0, 1):
            raise RuntimeError("nightjar exit %d: %s" % (r.returncode, r.stderr[-500:]))
        conns = collections.defaultdict(list)
        with open(eve.name) as fp:
            for line in fp:
                ev = json.loads(line)
                kind = ev.get("event_type")
                if kind not in ("tls", "quic"):
                    continue
                key = (ev["src_ip"], ev.get("src_port", 0), ev["dest_ip"], ev.get("dest_port", 0))
                conns[key].append(ev[kind])
        return conns


def nj_value(t, what):
    if what == "ja3":
        return t.get("ja3", {}).get("hash")
    if what == "ja3s":
        return t.get("ja3s", {}).get("hash")
    if what == "sni":
        return t.get("sni")
    if what == "certs":
        return [s.replace(":", "") for s in t.get("chain_sha1", [])]
    if what == "ja4":
        return t.get("ja4")


def compare_tshark(path, nj, pending):
    problems, n = [], 0
    for key, want in tshark_tls(path).items():
        # the TLS client is not always the flow's client (mid-stream pick-up);
        # a reused 4-tuple gives several events: one of them must agree
        got = nj.get(key, []) + nj.get((key[2], key[3], key[0], key[1]), [])
        for what, value in want.items():
            n += 1
            if not got:
                problems.append("%s %s: tshark %s, nightjar has no tls event" % (key, what, value))
                break
            have = [nj_value(t, what) for t in got]
            if what == "certs" and all("TLS 1.3" in (t.get("version"), t.get("tls_version"))
                                       for t in got):
                # TLS 1.3 sends certificates encrypted; tshark shows them only
                # because the capture embeds the session secrets
                pending["tls13-certs-need-decryption"] += 1
                continue
            if not any(h == value or (isinstance(value, set) and h in value) for h in have):
                problems.append("%s %s: tshark %s, nightjar %s" % (key, what, value, have))
    return n, problems


def compare_ja4(path, nj, pending):
    exp = os.path.join(os.path.dirname(path), "..", "expected",
                       os.path.basename(path) + ".json")
    if not os.path.exists(exp):
        return 0, []
    problems, n = [], 0
    for s in json.load(open(exp)):
        want = s.get("JA4.1")
        if not want:
            continue
        key = (s["src"], int(s["srcport"]), s["dst"], int(s["dstport"]))
        n += 1
        got = [t.get("ja4") for t in nj.get(key, [])]
        if want in got:
            continue
        problems.append("%s JA4: expected %s, nightjar %s" % (key, want, got or "no tls event"))
    return n, problems


def compare_arkime(path, nj, pending):
    test = path[:-5] + ".test" if path.endswith(".pcap") else None
    if not test or not os.path.exists(test):
        return 0, []
    problems, n = [], 0
    try:
        sessions = json.load(open(test)).get("sessions3", [])
    except ValueError:
        return 0, []
    for sess in sessions:
        b = sess.get("body", {})
        tls = b.get("tls")
        if not tls:
            continue
        src = (b.get("source", {}).get("ip"), b.get("source", {}).get("port"))
        dst = (b.get("destination", {}).get("ip"), b.get("destination", {}).get("port"))
        got = nj.get((src[0], src[1], dst[0], dst[1])) or nj.get((dst[0], dst[1], src[0], src[1]))
        protos = b.get("protocol", [])
        if not got and "openvpn" in protos:
            pending["tls-inside-openvpn"] += 1  # Arkime reads TLS in OpenVPN
            continue
        for field in ("ja3", "ja3s", "ja4"):
            for want in tls.get(field, []):
                n += 1
                have = [nj_value(t, field) for t in (got or [])]
                if want not in have:
                    problems.append("arkime %s:%s %s: expected %s, nightjar %s" %
                                    (src[0], src[1], field, want, have or "no tls event"))
        for cert in b.get("cert", []):
            h = cert.get("hash", "").replace(":", "")
            if not h:
                continue
            n += 1
            have = [c for t in (got or []) for c in nj_value(t, "certs")]
            if h not in have:
                problems.append("arkime %s:%s cert %s missing" % (src[0], src[1], h))
    return n, problems


def check(job):
    nightjar, path = job
    pending = collections.Counter()
    try:
        nj = nightjar_tls(nightjar, path)
        n1, p1 = compare_tshark(path, nj, pending)
        n2, p2 = compare_ja4(path, nj, pending)
        n3, p3 = compare_arkime(path, nj, pending)
        return path, n1 + n2 + n3, p1 + p2 + p3, pending
    except Exception as e:
        return path, 0, ["error: %s" % e], pending


def main():
    nightjar, files = sys.argv[1], sys.argv[2:]
    with multiprocessing.Pool(int(os.environ.get("JOBS", os.cpu_count() or 1))) as pool:
        results = pool.map(check, [(nightjar, f) for f in files], 1)
    bad, total, pend = 0, 0, collections.Counter()
    for path, n, problems, pending in results:
        total += n
        pend.update(pending)
        if problems:
            bad += 1
            print("FAIL %s: %d values" % (os.path.relpath(path), n))
            for p in problems[:8]:
                print("     " + p)
            if len(problems) > 8:
                print("     ... %d more" % (len(problems) - 8))
        elif n:
            print("ok   %s: %d values" % (os.path.relpath(path), n))
    why = {
        "tls13-certs-need-decryption": "by design: encrypted on the wire",
        "tls-inside-openvpn": "OpenVPN's TLS channel is not unwrapped yet",
    }
    for what, count in sorted(pend.items()):
        print("EXCEPTION %s: %d (%s)" % (what, count, why.get(what, "")))
    print("%d captures, %d values compared, %d captures differ" % (len(files), total, bad))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
