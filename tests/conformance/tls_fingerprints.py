#!/usr/bin/env python3
"""Conformance of nightjar's TLS, DTLS and QUIC metadata against three
references.

For every capture given:
  tshark  -- per TCP connection, DTLS or QUIC flow (client -> server
             address/port), the JA3 of the first ClientHello, the JA3S of
             the first ServerHello, the SNI, and the SHA-1 of each
             certificate (from the certificate bytes) must equal nightjar's
             tls event; the other way, every TLS/QUIC event nightjar writes
             must be about a connection tshark shows a handshake of (for
             one on a port tshark does not try, tshark is asked again with
             -d PORT,tls/quic/dtls and out-of-order reassembly, then
             compared like the others).
  FoxIO   -- for captures in a pcap/ folder beside FoxIO's expected/, every
             stream's JA4.1 in expected/NAME.json must equal nightjar's
             tls.ja4 for that connection.
  Arkime  -- for captures with NAME.test beside them (every capture in
             arkime/), each session's ja3, ja3s, ja4 and certificate SHA-1s
             must be among nightjar's.
A nightjar exit other than 0/1, a tshark exit other than 0, a missing
expected/ folder or expected file and an expected file that does not parse
are failures. Exceptions are named (EXCEPTION, with the connection),
counted, and never silently dropped; those that are nightjar bugs not fixed
yet are named PENDING-*.
Usage: tls_fingerprints.py [--subset] NIGHTJAR CAPTURE...
Exit 0 when everything agrees and the floors are met (--subset: no floors).
"""
import collections
import hashlib
import json
import multiprocessing
import os
import sys
import tempfile

from common import Failure, finish, nightjar, options, tshark

# Floors for the whole corpus, measured on its 361 captures (2026-11): 5,229
# values compared with tshark (JA3, JA3S, SNI, certificate chains), 150
# FoxIO JA4s, 166 Arkime values, and 1,669 nightjar TLS/QUIC events matched
# to tshark's handshakes.
FLOORS = {"tshark values": (5000, "measured 5,229"),
          "FoxIO JA4s": (145, "measured 150"),
          "Arkime values": (160, "measured 166"),
          "nightjar TLS events": (1600, "measured 1,669")}

FIELDS = ["ip.src", "ipv6.src", "tcp.srcport", "udp.srcport",
          "ip.dst", "ipv6.dst", "tcp.dstport", "udp.dstport"]
for _p in ("tls", "dtls"):
    FIELDS += [_p + ".handshake.type", _p + ".handshake.ja3", _p + ".handshake.ja3s",
               _p + ".handshake.extensions_server_name", _p + ".handshake.certificate"]


def last(v):
    return v.split(",")[-1] if v else ""


def tshark_tls(path, decode_as=()):
    """({(client ip, port, server ip, port): {ja3, ja3s, sni, certs}},
    {the same 4-tuples and those with no value}): TLS over TCP, in
    QUIC Initial packets and DTLS, in one pass. The client is the sender of
    the ClientHello. A connection (or a reused 4-tuple) keeps the first
    value of each, as tshark shows it. DECODE_AS: (tcp|udp, port, protocol)
    for tshark's -d."""
    conns, client_of, seen = {}, {}, set()
    args = ["-Y", "tls.handshake.type || dtls.handshake.type", "-T", "fields",
            "-E", "separator=/t", "-E", "occurrence=a", "-E", "aggregator=;"]
    for t, port, proto in decode_as:
        args += ["-d", "%s.port==%d,%s" % (t, port, proto)]
    if decode_as:  # (and it reassembles segments that came out of order)
        args += ["-o", "tcp.reassemble_out_of_order:TRUE"]
    for f in FIELDS:
        args += ["-e", f]
    for line in tshark(path, args).splitlines():
        c = (line.split("\t") + [""] * len(FIELDS))[:len(FIELDS)]
        tcp = bool(last(c[2]))
        src = (last(c[0]) or last(c[1]), last(c[2]) or last(c[3]))
        dst = (last(c[4]) or last(c[5]), last(c[6]) or last(c[7]))
        if not src[0] or not src[1]:
            continue
        src, dst = (src[0], int(src[1])), (dst[0], int(dst[1]))
        h = c[8:13] if c[8] or tcp else c[13:18]  # tls.* or dtls.*
        pair = frozenset((src, dst))
        types = h[0].split(";")
        if "1" in types:
            client_of.setdefault(pair, src)
        client = client_of.get(pair)
        from_client = client == src
        key = (src + dst) if from_client or client is None else (dst + src)
        d = conns.setdefault(key, {})
        seen.add(key)
        if "1" in types and h[1] and from_client:
            d.setdefault("ja3", h[1].split(";")[0])
            if h[3]:
                d.setdefault("sni", h[3].split(";")[0])
        if "2" in types and h[2] and not from_client:
            # after a HelloRetryRequest there are two ServerHellos
            d.setdefault("ja3s", set()).update(h[2].split(";"))
        if "11" in types and h[4] and not from_client and "certs" not in d:
            d["certs"] = [hashlib.sha1(bytes.fromhex(x.replace(":", ""))).hexdigest()
                          for x in h[4].split(";") if x]
    return {k: v for k, v in conns.items() if v}, seen


def nightjar_tls(nj, path):
    with tempfile.TemporaryDirectory() as tmp:
        events = nightjar(nj, path, os.path.join(tmp, "eve.json"))
    conns = collections.defaultdict(list)
    for ev in events:
        kind = ev.get("event_type")
        if kind not in ("tls", "quic"):
            continue
        key = (ev["src_ip"], ev.get("src_port", 0), ev["dest_ip"], ev.get("dest_port", 0))
        conns[key].append(dict(ev[kind], _event=kind, _proto=ev.get("proto")))
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


def compare_tshark(path, nj, counts, notes):
    problems = []
    tconns, seen = tshark_tls(path)
    # TLS on a port tshark does not try: nightjar detects it from content;
    # tshark is asked again with those ports decoded as TLS / QUIC / DTLS
    # (and reassembling out-of-order segments, which nightjar does)
    unseen = [k for k in nj if k not in seen and (k[2], k[3], k[0], k[1]) not in seen]
    if unseen:
        decode = sorted({("tcp", k[3], "tls") if nj[k][0]["_proto"] == "TCP" else
                         ("udp", k[3], "quic" if nj[k][0]["_event"] == "quic" else "dtls")
                         for k in unseen})
        more, more_seen = tshark_tls(path, decode)
        for k in unseen:
            for key in (k, (k[2], k[3], k[0], k[1])):
                if key in more_seen:
                    seen.add(key)
                    counts["decoded-as"] += 1
                    notes.append("decoded-as: %s: tshark reads the handshake when told to "
                                 "(-d %s)" % (key, " -d ".join("%s.port==%d,%s" % d for d in decode)))
                    if key in more:
                        tconns[key] = more[key]
    for key, want in tconns.items():
        # the TLS client is not always the flow's client (mid-stream pick-up);
        # a reused 4-tuple gives several events: one of them must agree
        got = nj.get(key, []) + nj.get((key[2], key[3], key[0], key[1]), [])
        for what, value in want.items():
            counts["tshark values"] += 1
            if not got:
                problems.append("%s %s: tshark %s, nightjar has no tls event" % (key, what, value))
                break
            have = [nj_value(t, what) for t in got]
            if what == "certs" and not any(have) and all(
                    "TLS 1.3" in (t.get("version"), t.get("tls_version")) for t in got):
                # TLS 1.3 sends certificates encrypted; tshark shows them only
                # because the capture embeds the session secrets (nightjar
                # must then have none)
                counts["tls13-certs-need-decryption"] += 1
                notes.append("tls13-certs-need-decryption: %s: %d certificates tshark decrypted"
                             % (key, len(value)))
                continue
            if not any(h == value or (isinstance(value, set) and h in value) for h in have):
                problems.append("%s %s: tshark %s, nightjar %s" % (key, what, value, have))
    # the other way: every TLS/QUIC event nightjar writes is about a
    # connection tshark shows a handshake of (an empty tshark cannot pass)
    for key, evs in nj.items():
        counts["nightjar TLS events"] += len(evs)
        if key in seen or (key[2], key[3], key[0], key[1]) in seen:
            continue
        problems.append("%s: nightjar has %d %s events (SNI %s), tshark shows no handshake"
                        % (key, len(evs), evs[0]["_event"],
                           ", ".join(sorted({str(t.get("sni")) for t in evs}))))
    return problems


def compare_ja4(path, nj, counts, notes):
    """FoxIO's captures (a pcap/ folder beside expected/) against their
    expected JA4s."""
    d = os.path.dirname(path)
    if os.path.basename(d) != "pcap":
        return []
    expected = os.path.join(os.path.dirname(d), "expected")
    if not os.path.isdir(expected):
        return ["%s is missing: FoxIO's expected JA4s are a reference of this test" % expected]
    exp = os.path.join(expected, os.path.basename(path) + ".json")
    if not os.path.exists(exp):
        if ".notest." in os.path.basename(path):
            counts["ja4-notest"] += 1  # FoxIO's name for a capture without expected output
            notes.append("ja4-notest: no expected JSON, as FoxIO's file name says")
            return []
        return ["%s: no expected JSON %s" % (path, exp)]
    try:
        with open(exp) as fp:
            streams = json.load(fp)
        if not isinstance(streams, list) or not all(isinstance(x, dict) for x in streams):
            raise ValueError("not a list of streams")
    except ValueError as e:
        return ["%s: unparsable expected file: %s" % (exp, e)]
    problems = []
    for st in streams:
        want = st.get("JA4.1")
        if not want:
            continue
        key = (st["src"], int(st["srcport"]), st["dst"], int(st["dstport"]))
        counts["FoxIO JA4s"] += 1
        got = [t.get("ja4") for t in nj.get(key, [])]
        if want in got:
            continue
        problems.append("%s JA4: expected %s, nightjar %s" % (key, want, got or "no tls event"))
    return problems


def compare_arkime(path, nj, counts, notes):
    """Arkime's captures (NAME.test beside NAME.pcap in arkime/)."""
    if not path.endswith(".pcap"):
        return []
    test = path[:-5] + ".test"
    if not os.path.exists(test):
        if os.path.basename(os.path.dirname(path)) == "arkime":
            return ["%s: no expected sessions %s" % (path, test)]
        return []
    try:
        with open(test) as fp:
            doc = json.load(fp)
        sessions = doc.get("sessions3", doc.get("sessions2"))
        if not isinstance(sessions, list):
            raise ValueError("no list of sessions")
    except (ValueError, AttributeError) as e:
        return ["%s: unparsable expected file: %s" % (test, e)]
    problems = []
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
            # Arkime reads the TLS inside OpenVPN's reliability layer
            counts["tls-inside-openvpn"] += 1
            notes.append("tls-inside-openvpn: %s:%s -> %s:%s (%s)"
                         % (src + dst + (",".join(protos),)))
            continue
        for field in ("ja3", "ja3s", "ja4"):
            for want in tls.get(field, []):
                counts["Arkime values"] += 1
                have = [nj_value(t, field) for t in (got or [])]
                if want not in have:
                    problems.append("arkime %s:%s %s: expected %s, nightjar %s" %
                                    (src[0], src[1], field, want, have or "no tls event"))
        for cert in b.get("cert", []):
            h = cert.get("hash", "").replace(":", "")
            if not h:
                continue
            counts["Arkime values"] += 1
            have = [c for t in (got or []) for c in nj_value(t, "certs")]
            if h not in have:
                problems.append("arkime %s:%s cert %s missing" % (src[0], src[1], h))
    return problems


def check(job):
    nj, path = job
    counts, notes = collections.Counter(), []
    try:
        conns = nightjar_tls(nj, path)
        problems = compare_tshark(path, conns, counts, notes)
        problems += compare_ja4(path, conns, counts, notes)
        problems += compare_arkime(path, conns, counts, notes)
        return path, counts, problems, notes
    except Failure as e:
        return path, counts, [str(e)], notes


WHY = {
    "tls13-certs-need-decryption": "by design: encrypted on the wire",
    "tls-inside-openvpn": "OpenVPN's TLS channel is not unwrapped yet",
    "ja4-notest": "FoxIO's captures named .notest. have no expected output",
    "decoded-as": "connections on ports tshark does not read as TLS unless told to; compared",
}


def main():
    subset, args = options(sys.argv[1:], "tls_fingerprints.py [--subset] NIGHTJAR CAPTURE...")
    nj, files = args[0], args[1:]
    with multiprocessing.Pool(int(os.environ.get("JOBS", os.cpu_count() or 1))) as pool:
        results = pool.map(check, [(nj, f) for f in files], 1)
    bad, total = 0, collections.Counter()
    values = ("tshark values", "FoxIO JA4s", "Arkime values")
    for path, counts, problems, notes in results:
        total.update(counts)
        n = sum(counts[k] for k in values)
        if problems:
            bad += 1
            print("FAIL %s: %d values" % (os.path.relpath(path), n))
            for p in problems[:8]:
                print("     " + p)
            if len(problems) > 8:
                print("     ... %d more" % (len(problems) - 8))
        elif n:
            print("ok   %s: %d values" % (os.path.relpath(path), n))
        for note in notes:
            print("     EXCEPTION %s: %s" % (os.path.relpath(path), note))
    for what, why in WHY.items():
        print("EXCEPTION %s: %d (%s)" % (what, total[what], why))
    print("%d captures, %d values compared (%d with tshark, %d FoxIO JA4s, %d with Arkime), "
          "%d nightjar TLS/QUIC events matched to tshark's handshakes, %d captures differ"
          % (len(files), sum(total[k] for k in values), total["tshark values"], total["FoxIO JA4s"],
             total["Arkime values"], total["nightjar TLS events"], bad))
    return finish("tls_fingerprints", total, FLOORS, subset, bad)


if __name__ == "__main__":
    sys.exit(main())
