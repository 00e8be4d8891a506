#!/usr/bin/env python3
"""tls_beacon.py SRC_ADDR HOST PORT COUNT -- a TLS client that checks in
like an implant: from SRC_ADDR, COUNT connections to HOST:PORT, no SNI (the
server is an address), certificate not verified, one check-in line sent and
the answer read, 4-6 s apart, TLS 1.2 (Python's ssl module: OpenSSL
underneath)."""
import random
import socket
import ssl
import sys
import time

src, host, port, count = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE
ctx.maximum_version = ssl.TLSVersion.TLSv1_2  # as .NET and Go implants often do: the certificate shows
for i in range(count):
    try:
        raw = socket.create_connection((host, port), timeout=5, source_address=(src, 0))
        with ctx.wrap_socket(raw) as s:  # no server_hostname: no SNI
            s.sendall(b"checkin id=4f2a host=WS-023 seq=%d\n" % i)
            s.recv(4096)
    except OSError:
        pass
    if i + 1 < count:
        time.sleep(random.uniform(4, 6))
