#!/usr/bin/env python3
"""Seeds for fuzz_tls and fuzz_quic from real captures, through tshark:
TLS records as they crossed TCP, certificates, ClientHello bodies, DTLS and
QUIC datagrams. Usage: seed_tls.py TLS_DIR QUIC_DIR CAPTURE..."""
import os
import subprocess
import sys

tls_dir, quic_dir, files = sys.argv[1], sys.argv[2], sys.argv[3:]
os.makedirs(tls_dir, exist_ok=True)
os.makedirs(quic_dir, exist_ok=True)
n = 0


def fields(path, filt, field):
    r = subprocess.run(["tshark", "-n", "-r", path, "-Y", filt, "-T", "fields",
                        "-e", field], capture_output=True, text=True)
    for line in r.stdout.splitlines()[:40]:
        for h in line.split(","):
            h = h.replace(":", "")
            if h:
                yield bytes.fromhex(h)


def chunked(mode, data):
    out = bytes([mode])
    for i in range(0, len(data), 200):
        part = data[i:i + 200]
        out += bytes([len(part) - 1]) + part
    return out


def write(d, b):
    global n
    with open(os.path.join(d, "seed-%05d" % n), "wb") as f:
        f.write(b)
    n += 1


for path in files:
    for p in fields(path, "tls.handshake", "tcp.payload"):
        write(tls_dir, chunked(0, p))
    for p in fields(path, "tls.handshake.type == 11", "tls.handshake.certificate"):
        write(tls_dir, bytes([2]) + p)
    for p in fields(path, "dtls", "udp.payload"):
        write(tls_dir, chunked(1, p))
    for p in fields(path, "quic", "udp.payload"):
        write(quic_dir, bytes([len(p) % 251]) + p + p[:64])
print("%d seeds" % n)
