#!/usr/bin/env python3
"""seed_http2.py DIR -- a few HTTP/2 conversations for fuzz_http2, made here
(not captured): in the target's record format (control byte: bit 0 the
direction, bit 1 a hole; then a 16-bit length and the bytes), the client
preface left to the target. Header blocks are HPACK by hand: static-table
indexes, literals with and without indexing, a dynamic-table reference."""
import gzip
import os
import struct
import sys


def frame(ftype, flags, sid, payload=b""):
    return struct.pack(">I", len(payload))[1:] + bytes([ftype, flags]) + \
        struct.pack(">I", sid) + payload


def lit(name, value, index=False):
    """literal header field, new name (with incremental indexing or not)"""
    def s(b):
        assert len(b) < 127
        return bytes([len(b)]) + b
    return (b"\x40" if index else b"\x00") + s(name.encode()) + s(value.encode())


def rec(direction, data, hole=False):
    return bytes([direction | (2 if hole else 0)]) + struct.pack(">H", len(data)) + \
        (b"" if hole else data)


SETTINGS = frame(4, 0, 0)
ACK = frame(4, 1, 0)
GET = b"\x82\x86" + lit(":path", "/a.txt") + lit(":authority", "example.com", True) + \
    lit("user-agent", "seed/1")
OK = b"\x88" + lit("content-type", "text/plain") + lit("server", "seed")


def simple():
    c = SETTINGS + frame(1, 0x5, 1, GET)
    s = SETTINGS + ACK + frame(1, 0x4, 1, OK) + frame(0, 0, 1, b"hello ") + \
        frame(0, 1, 1, b"world")
    return rec(0, c) + rec(1, s[:20]) + rec(1, s[20:])


def continuation_padding():
    blk = GET
    hdr = bytes([2]) + b"\x00\x00\x00\x00\x0f" + blk[:4] + b"\x00\x00"
    c = SETTINGS + frame(1, 0x1 | 0x8 | 0x20, 3, hdr) + frame(9, 0, 3, blk[4:9]) + \
        frame(9, 0x4, 3, blk[9:])
    # a second request reusing the dynamic-table entry (:authority, index 62)
    c += frame(1, 0x5, 5, b"\x82\x86\x84\xbe")
    s = frame(1, 0x4, 3, OK) + frame(0, 0x1 | 0x8, 3, b"\x03abc\x00\x00\x00") + \
        frame(1, 0x5, 5, b"\x8d")
    return rec(0, c) + rec(1, s)


def gzip_body():
    body = gzip.compress(b"nightjar " * 500)
    c = SETTINGS + frame(1, 0x5, 1, GET)
    s = frame(1, 0x4, 1, OK + lit("content-encoding", "gzip")) + \
        frame(0, 0, 1, body[:100]) + frame(0, 1, 1, body[100:])
    return rec(0, c) + rec(1, s)


def control():
    table = struct.pack(">HI", 1, 8192) + struct.pack(">HI", 5, 32768)
    c = frame(4, 0, 0, table) + frame(1, 0x4, 1, GET) + frame(8, 0, 1, b"\x00\x01\x00\x00") + \
        frame(6, 0, 0, b"12345678") + frame(2, 0, 1, b"\x00\x00\x00\x00\x20") + \
        frame(3, 0, 1, b"\x00\x00\x00\x08")
    s = frame(1, 0x4, 1, b"\x3f\xe1\x3f" + OK) + frame(0, 0, 1, b"partial") + \
        frame(7, 0, 0, b"\x00\x00\x00\x01\x00\x00\x00\x00debug")
    return rec(0, c) + rec(1, s) + rec(1, b"", hole=False) + rec(1, b"\x00" * 10, hole=True)


def push():
    c = SETTINGS + frame(1, 0x5, 1, GET)
    pp = struct.pack(">I", 2) + b"\x82\x86" + lit(":path", "/style.css") + \
        lit(":authority", "example.com")
    s = frame(5, 0x4, 1, pp) + frame(1, 0x4, 1, OK) + frame(0, 1, 1, b"page") + \
        frame(1, 0x4, 2, OK) + frame(0, 1, 2, b"css")
    return rec(0, c) + rec(1, s)


def upgraded():
    # bit 6 of the first control byte: starts as after an h2c upgrade
    s = SETTINGS + frame(1, 0x4, 1, OK) + frame(0, 1, 1, b"upgraded")
    return bytes([0x40 | 1]) + struct.pack(">H", len(s)) + s + rec(0, SETTINGS)


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    for f in (simple, continuation_padding, gzip_body, control, push, upgraded):
        with open(os.path.join(out, "seed-" + f.__name__), "wb") as fh:
            fh.write(f())


if __name__ == "__main__":
    main()
