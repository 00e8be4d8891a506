#!/usr/bin/env python3
"""seed_icap.py DIR -- seeds for fuzz_icap: whole ICAP conversations
(OPTIONS, RESPMOD with and without previews, Allow: 204, 206 or neither,
a body past the fuzz server's 2 KiB icap.max-body, REQMOD to the
indicator domain and with an upload, a refused method, several requests
pipelined on one connection). The first byte of each file is the piece
size the target delivers them in."""
import os
import sys


def respmod(body, preview=None, allow="204"):
    req = b"GET http://dl.example.net/a/setup.exe HTTP/1.1\r\nHost: dl.example.net\r\n\r\n"
    res = (b"HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\n"
           b"Content-Length: %d\r\n\r\n" % len(body))
    head = (b"RESPMOD icap://127.0.0.1/scan ICAP/1.0\r\nHost: x\r\n"
            b"Encapsulated: req-hdr=0, res-hdr=%d, res-body=%d\r\n"
            % (len(req), len(req) + len(res)))
    if allow:
        head += b"Allow: " + allow.encode() + b"\r\n"
    if preview is None:
        return head + b"\r\n" + req + res + b"%x\r\n" % len(body) + body + b"\r\n0\r\n\r\n"
    head += b"Preview: %d\r\n" % preview
    first = body[:preview]
    out = head + b"\r\n" + req + res
    if first:
        out += b"%x\r\n" % len(first) + first + b"\r\n"
    out += b"0; ieof\r\n\r\n" if len(body) <= preview else b"0\r\n\r\n"
    rest = body[preview:]
    if rest:
        out += b"%x\r\n" % len(rest) + rest + b"\r\n0\r\n\r\n"
    return out


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    evil = b"GET http://evil.test/x HTTP/1.1\r\nHost: evil.test\r\n\r\n"
    post = b"POST http://up.example/u HTTP/1.1\r\nHost: up.example\r\n\r\n"
    seeds = {
        "options": b"OPTIONS icap://127.0.0.1/scan ICAP/1.0\r\nHost: x\r\n\r\n",
        "respmod": respmod(b"MZ" + b"A" * 300),
        "preview": respmod(b"B" * 100, preview=40),
        "preview_ieof": respmod(b"C" * 10, preview=40, allow="204, 206"),
        "over_cap_unmodified": respmod(bytes(range(256)) * 12, allow=""),
        "partial_206": respmod(b"D" * 500, allow="206"),
        "reqmod_indicator": b"REQMOD icap://127.0.0.1/scan ICAP/1.0\r\n"
                            b"Encapsulated: req-hdr=0, null-body=%d\r\n\r\n" % len(evil) + evil,
        "reqmod_upload": b"REQMOD icap://127.0.0.1/scan ICAP/1.0\r\nX-Client-IP: 10.0.0.9\r\n"
                         b"Encapsulated: req-hdr=0, req-body=%d\r\n\r\n" % len(post) + post +
                         b"5\r\nhello\r\n0\r\n\r\n",
        "bad_method": b"BOGUS icap://127.0.0.1/scan ICAP/1.0\r\n\r\n",
    }
    seeds["pipelined"] = seeds["options"] + seeds["respmod"] + seeds["reqmod_indicator"]
    for name, data in seeds.items():
        with open(os.path.join(out, name), "wb") as f:
            f.write(bytes([5 if name != "pipelined" else 63]) + data)


if __name__ == "__main__":
    main()
