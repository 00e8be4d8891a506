#!/usr/bin/env python3
"""Conformance: QUIC 1-RTT decryption with a key log gives the stream data
tshark gives, and nothing without the key log. For every capture of the
corpus's keylog/ folder that has a NAME.keys beside it and QUIC traffic:
  - tshark (-o tls.keylog_file) decrypts it; its STREAM frames of
    client-initiated bidirectional streams, put in order per stream and
    direction, are the reference cleartext; its short-header packets the
    reference count of 1-RTT packets;
  - nightjar --keylog must open as many 1-RTT packets (quic.decrypted_1rtt)
    with no authentication failure, deliver exactly the reference's number
    of stream bytes (quic.stream_bytes), mark the flow "decrypted": true,
    and -- through a YARA rule made of each direction's cleartext, per
    stream -- raise one alert per rule in the right direction: the bytes
    it delivered are tshark's bytes;
  - nightjar without --keylog must open nothing and raise none of those
    alerts (the rules cannot match anything but the cleartext);
  - nightjar with one 1-RTT secret damaged must count authentication
    failures for that side and pass none of its bytes on.
Usage: quic_decrypt.py [--subset] NIGHTJAR CORPUS_DIR
Exit 0 when everything agrees and the floors are met (--subset: no floor).
"""
import collections
import json
import os
import sys
import tempfile

from common import Failure, finish, nightjar, options, tshark

# Floors for the corpus (2026-11: illustrated-quic, one connection, "ping"
# to the server and "pong" back on stream 0): captures, stream directions
# and cleartext bytes compared.
FLOORS = {"QUIC captures": (1, "measured 1"),
          "stream directions": (2, "measured 2"),
          "stream bytes": (8, "measured 8")}


def as_list(v):
    return v if isinstance(v, list) else [v] if v is not None else []


def reference(path, keys):
    """tshark's view: ({(dir, stream id): bytes in order}, 1-RTT packets)."""
    out = tshark(path, ["-o", "tls.keylog_file:" + keys, "--no-duplicate-keys",
                        "-Y", "quic", "-T", "json"])
    pieces = collections.defaultdict(dict)
    short = 0
    client_port = None
    for pkt in json.loads(out or "[]"):
        layers = pkt["_source"]["layers"]
        udp = layers.get("udp", {})
        sport = udp.get("udp.srcport")
        if client_port is None:
            client_port = sport
        d = 0 if sport == client_port else 1
        for q in as_list(layers.get("quic")):
            if "quic.short" not in q:
                continue
            short += 1
            for fr in as_list(q.get("quic.frame")):
                t = int(as_list(fr.get("quic.frame_type"))[0])
                if not 8 <= t <= 15:
                    continue
                sid = int(fr["quic.stream.stream_id"])
                if sid % 4:
                    continue  # nightjar follows client-initiated bidi streams
                off = int(fr.get("quic.stream.offset", "0"))
                data = bytes.fromhex(fr.get("quic.stream_data", "").replace(":", ""))
                pieces[(d, sid)][off] = data
    streams = {}
    for k, by_off in pieces.items():
        buf = bytearray()
        for off in sorted(by_off):
            data = by_off[off]
            if off <= len(buf):
                buf[off:off + len(data)] = data
        streams[k] = bytes(buf)
    return streams, short


def yara_rules(streams, folder):
    """One rule per direction and stream: its first 64 cleartext bytes."""
    names = {}
    with open(os.path.join(folder, "quic.yar"), "w") as fp:
        for (d, sid), data in sorted(streams.items()):
            if not data:
                continue
            name = "quic_%s_stream%d" % ("c2s" if d == 0 else "s2c", sid)
            fp.write("rule %s { strings: $a = { %s } condition: $a }\n"
                     % (name, " ".join("%02x" % b for b in data[:64])))
            names[name] = "to_server" if d == 0 else "to_client"
    return names


def stats_of(records):
    st = [r for r in records if r.get("event_type") == "stats"]
    return st[-1]["stats"].get("quic", {}) if st else {}


def alerts_of(records):
    return {r["nightjar"]["evidence"]["rule"]: r["nightjar"]["evidence"].get("direction")
            for r in records if r.get("event_type") == "alert"
            and r.get("nightjar", {}).get("evidence", {}).get("kind") == "yara"}


def damaged_keys(keys, folder):
    """The key log with the client's 1-RTT secret changed in one digit."""
    path = os.path.join(folder, "damaged.keys")
    with open(keys) as src, open(path, "w") as dst:
        for line in src:
            f = line.split()
            if len(f) == 3 and f[0].endswith("CLIENT_TRAFFIC_SECRET_0"):
                f[2] = ("1" if f[2][0] != "1" else "2") + f[2][1:]
                line = " ".join(f) + "\n"
            dst.write(line)
    return path


def check(nj, path, keys, counts, bad):
    streams, short = reference(path, keys)
    if not short:
        return
    name = os.path.basename(path)
    counts["QUIC captures"] += 1
    with tempfile.TemporaryDirectory() as tmp:
        rules = yara_rules(streams, tmp)
        eve = os.path.join(tmp, "eve.json")
        want = sum(len(v) for v in streams.values())
        counts["stream directions"] += len(streams)
        counts["stream bytes"] += want

        recs = nightjar(nj, path, eve, ["--keylog", keys, "--yara", tmp])
        q, got = stats_of(recs), alerts_of(recs)
        if q.get("decrypted_1rtt") != short or q.get("auth_failed_1rtt"):
            bad.append("%s: 1-RTT packets opened %s, failed %s; tshark decrypted %d"
                       % (name, q.get("decrypted_1rtt"), q.get("auth_failed_1rtt"), short))
        if q.get("stream_bytes", 0) + q.get("h3_stream_bytes", 0) != want:
            bad.append("%s: stream bytes %s, tshark %d" % (name, q.get("stream_bytes"), want))
        for rule, direction in rules.items():
            if got.get(rule) != direction:
                bad.append("%s: tshark's cleartext (%s) not delivered %s: %s"
                           % (name, rule, direction, got.get(rule)))
        if not any(r.get("event_type") == "flow" and r.get("decrypted") for r in recs):
            bad.append("%s: no flow record says decrypted" % name)

        os.unlink(eve)
        recs = nightjar(nj, path, eve, ["--yara", tmp])
        q, got = stats_of(recs), alerts_of(recs)
        if q.get("decrypted_1rtt", 0) or q.get("stream_bytes", 0) or got:
            bad.append("%s: without the key log: %s 1-RTT packets, %s stream bytes, alerts %s"
                       % (name, q.get("decrypted_1rtt"), q.get("stream_bytes"), sorted(got)))

        os.unlink(eve)
        recs = nightjar(nj, path, eve, ["--keylog", damaged_keys(keys, tmp), "--yara", tmp])
        q, got = stats_of(recs), alerts_of(recs)
        client_rules = [r for r, d in rules.items() if d == "to_server"]
        if not q.get("auth_failed_1rtt") or any(r in got for r in client_rules):
            bad.append("%s: damaged client secret: %s auth failures, alerts %s"
                       % (name, q.get("auth_failed_1rtt"), sorted(got)))


def main():
    subset, args = options(sys.argv[1:], "quic_decrypt.py [--subset] NIGHTJAR CORPUS_DIR")
    nj, corpus = args[0], args[1]
    folder = os.path.join(corpus, "keylog")
    counts, bad = collections.Counter(), []
    for f in sorted(os.listdir(folder)) if os.path.isdir(folder) else []:
        stem, ext = os.path.splitext(f)
        keys = os.path.join(folder, stem + ".keys")
        if ext not in (".pcap", ".pcapng") or not os.path.exists(keys):
            continue
        try:
            check(nj, os.path.join(folder, f), keys, counts, bad)
        except Failure as e:
            bad.append(str(e))
    for b in bad:
        print("FAIL " + b)
    return finish("quic_decrypt", counts, FLOORS, subset, bad)


if __name__ == "__main__":
    sys.exit(main())
