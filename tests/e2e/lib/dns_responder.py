#!/usr/bin/env python3
"""A tiny authoritative DNS responder on 127.0.0.1 for the end-to-end tests.

Answers every A query with 127.0.0.1 and every other type with NXDOMAIN,
for at most N queries or T seconds, then exits. Only for tests: it listens
on the loopback address it is given and nowhere else.
"""
import socket
import struct
import sys
import time

host, port = sys.argv[1], int(sys.argv[2])
limit = int(sys.argv[3]) if len(sys.argv) > 3 else 10
deadline = time.time() + (float(sys.argv[4]) if len(sys.argv) > 4 else 20)

s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((host, port))
s.settimeout(0.5)
answered = 0
while answered < limit and time.time() < deadline:
    try:
        q, peer = s.recvfrom(4096)
    except socket.timeout:
        continue
    if len(q) < 12:
        continue
    qid, flags, qd = struct.unpack("!HHH", q[:6])
    # question: walk the name, then type and class
    i = 12
    while i < len(q) and q[i] != 0:
        i += q[i] + 1
    question = q[12:i + 5]
    qtype = struct.unpack("!H", q[i + 1:i + 3])[0] if i + 3 <= len(q) else 0
    if qtype == 1:
        answer = b"\xc0\x0c" + struct.pack("!HHIH", 1, 1, 300, 4) + socket.inet_aton("127.0.0.1")
        resp = struct.pack("!HHHHHH", qid, 0x8180, 1, 1, 0, 0) + question + answer
    else:
        resp = struct.pack("!HHHHHH", qid, 0x8183, 1, 0, 0, 0) + question
    s.sendto(resp, peer)
    answered += 1
