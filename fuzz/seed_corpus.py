#!/usr/bin/env python3
"""Writes fuzz seeds from pcap files: each frame becomes one input file
(first byte: the index of the capture's link type in fuzz_packet.c's
table). Usage: seed_corpus.py OUTDIR CAPTURE... (classic pcap only; pcapng
files are skipped)."""
import os
import struct
import sys

LINKTYPES = [1, 113, 276, 0, 108, 12, 228, 229, 239, 105, 127, 107, 9, 104]
RAW = {101: 12, 14: 12}

out, files = sys.argv[1], sys.argv[2:]
os.makedirs(out, exist_ok=True)
n = 0
for path in files:
    with open(path, "rb") as f:
        head = f.read(24)
        if len(head) < 24:
            continue
        magic = struct.unpack("<I", head[:4])[0]
        if magic in (0xa1b2c3d4, 0xa1b23c4d):
            e = "<"
        elif magic in (0xd4c3b2a1, 0x4d3cb2a1):
            e = ">"
        else:
            continue
        lt = RAW.get(struct.unpack(e + "I", head[20:24])[0] & 0xffff,
                     struct.unpack(e + "I", head[20:24])[0] & 0xffff)
        if lt not in LINKTYPES:
            continue
        idx = LINKTYPES.index(lt)
        for i in range(200):
            rec = f.read(16)
            if len(rec) < 16:
                break
            caplen = struct.unpack(e + "I", rec[8:12])[0]
            data = f.read(caplen)
            if len(data) < caplen:
                break
            with open(os.path.join(out, "seed-%05d" % n), "wb") as o:
                o.write(bytes([idx]) + data)
            n += 1
print("%d seeds" % n)
