#!/usr/bin/env python3
"""Seeds for fuzz_app from real captures: DNS messages (mode 0), HTTP and
SMTP conversations (modes 1 and 2: the client's and server's bytes in order,
with 0xff where the direction changes) and the mail messages inside them
(mode 3). Usage: seed_app.py OUTDIR CAPTURE...   (needs tshark)"""
import hashlib
import os
import subprocess
import sys

out = sys.argv[1]
os.makedirs(out, exist_ok=True)


def save(mode, data):
    blob = bytes([mode]) + data[:16384]
    with open(os.path.join(out, hashlib.sha1(blob).hexdigest()), "wb") as f:
        f.write(blob)


def fields(path, flt, fs):
    cmd = ["tshark", "-n", "-r", path, "-Y", flt, "-T", "fields"]
    for f in fs:
        cmd += ["-e", f]
    r = subprocess.run(cmd, capture_output=True, text=True)
    return [l.split("\t") for l in r.stdout.splitlines()]


for path in sys.argv[2:]:
    for (p,) in fields(path, "dns && udp", ["udp.payload"])[:50]:
        if p:
            save(0, bytes.fromhex(p.replace(":", "")))
    convs = {}
    for stream, sport, payload in fields(path, "tcp.len > 0", ["tcp.stream", "tcp.srcport", "tcp.payload"]):
        if payload:
            convs.setdefault(stream, []).append((sport, bytes.fromhex(payload.replace(":", ""))))
    for segs in list(convs.values())[:20]:
        blob, last = b"", segs[0][0]
        for sport, data in segs:
            if sport != last:
                blob += b"\xff"
                last = sport
            blob += data.replace(b"\xff", b"\xfe")
        mode = 2 if segs[0][1][:4] in (b"220 ", b"220-", b"EHLO", b"HELO") else 1
        save(mode, blob)
        if mode == 2 and b"\r\n\r\n" in blob:
            save(3, blob[blob.find(b"DATA\r\n") + 6:] if b"DATA\r\n" in blob else blob)
