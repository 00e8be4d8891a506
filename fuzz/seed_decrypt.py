#!/usr/bin/env python3
"""Seeds for fuzz_decrypt: TLS sessions run in memory with Python's ssl
module (OpenSSL), each side's bytes recorded in order and the secrets taken
from the key log it writes, in the target's input format (see
fuzz_decrypt.c). Usage: seed_decrypt.py DIR CERT KEY"""
import os
import ssl
import sys
import tempfile

out, cert, key = sys.argv[1], sys.argv[2], sys.argv[3]
os.makedirs(out, exist_ok=True)
LABELS = ["CLIENT_HANDSHAKE_TRAFFIC_SECRET", "SERVER_HANDSHAKE_TRAFFIC_SECRET",
          "CLIENT_TRAFFIC_SECRET_0", "SERVER_TRAFFIC_SECRET_0"]


def session(version, ciphers, n):
    klog = tempfile.NamedTemporaryFile(delete=False)
    klog.close()
    sc = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    sc.load_cert_chain(cert, key)
    cc = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    cc.check_hostname = False
    cc.verify_mode = ssl.CERT_NONE
    cc.keylog_filename = klog.name
    for c in (sc, cc):
        c.minimum_version = c.maximum_version = version
        if ciphers:
            c.set_ciphers(ciphers)
    bio = [ssl.MemoryBIO() for _ in range(4)]
    cli = cc.wrap_bio(bio[0], bio[1])
    srv = sc.wrap_bio(bio[2], bio[3], server_side=True)
    chunks = []

    def pump():
        for src, dst, d in ((bio[1], bio[2], 0), (bio[3], bio[0], 1)):
            b = src.read()
            if b:
                chunks.append((d, b))
                dst.write(b)

    def step(obj):
        try:
            obj.do_handshake()
        except ssl.SSLWantReadError:
            pass
    for _ in range(10):
        step(cli)
        pump()
        step(srv)
        pump()
    cli.write(b"GET /x HTTP/1.1\r\nHost: fuzz\r\n\r\n")
    pump()
    srv.read(1000)
    srv.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
    pump()
    cli.read(1000)
    secrets = {}
    for line in open(klog.name):
        p = line.split()
        if len(p) == 3:
            secrets[p[0]] = bytes.fromhex(p[2])
    os.unlink(klog.name)
    l13 = len(secrets.get(LABELS[0], b"")) or 32
    blob = bytes([l13]) + secrets.get("CLIENT_RANDOM", b"").ljust(48, b"\0")
    for lab in LABELS:
        blob += secrets.get(lab, b"")[:48].ljust(48, b"\0")
    for d, b in chunks:
        for i in range(0, len(b), 65535):
            part = b[i:i + 65535]
            blob += bytes([d, len(part) >> 8, len(part) & 255]) + part
    with open(os.path.join(out, "session-%d" % n), "wb") as f:
        f.write(blob)


cases = [(ssl.TLSVersion.TLSv1_3, None), (ssl.TLSVersion.TLSv1_2, "ECDHE-RSA-AES128-GCM-SHA256"),
         (ssl.TLSVersion.TLSv1_2, "ECDHE-RSA-CHACHA20-POLY1305"), (ssl.TLSVersion.TLSv1_2, "AES128-SHA256"),
         (ssl.TLSVersion.TLSv1_2, "AES128-CCM8")]
for i, (v, c) in enumerate(cases):
    session(v, c, i)
