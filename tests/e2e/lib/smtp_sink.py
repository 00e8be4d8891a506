#!/usr/bin/env python3
"""A plain SMTP server on a loopback address that keeps what it receives.

Accepts EHLO/HELO, MAIL, RCPT, DATA, RSET, NOOP and QUIT (no STARTTLS,
no AUTH) and writes every message it accepts to OUTDIR/msg-N.eml, so a
test can compare what nightjar extracted with what the server got.
Serves at most N connections or T seconds, then exits.
Usage: smtp_sink.py HOST PORT OUTDIR [N] [T]
"""
import os
import socket
import sys
import time

host, port, outdir = sys.argv[1], int(sys.argv[2]), sys.argv[3]
limit = int(sys.argv[4]) if len(sys.argv) > 4 else 1
deadline = time.time() + (float(sys.argv[5]) if len(sys.argv) > 5 else 30)
srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind((host, port))
srv.listen(4)
srv.settimeout(0.5)
count = 0


def serve(conn, n):
    f = conn.makefile("rwb")

    def say(line):
        f.write(line.encode() + b"\r\n")
        f.flush()

    say("220 sink.nightjar.test ESMTP nightjar test sink")
    while True:
        line = f.readline()
        if not line:
            return
        cmd = line.strip().split(b" ", 1)[0].upper()
        if cmd in (b"EHLO", b"HELO"):
            say("250-sink.nightjar.test")
            say("250-PIPELINING")
            say("250 8BITMIME")
        elif cmd in (b"MAIL", b"RCPT", b"RSET", b"NOOP"):
            say("250 OK")
        elif cmd == b"DATA":
            say("354 go ahead")
            body = []
            while True:
                l = f.readline()
                if not l or l in (b".\r\n", b".\n"):
                    break
                body.append(l[1:] if l.startswith(b"..") else l)
            with open(os.path.join(outdir, "msg-%d.eml" % n), "wb") as out:
                out.write(b"".join(body))
            say("250 queued as %d" % n)
        elif cmd == b"QUIT":
            say("221 bye")
            return
        else:
            say("502 not implemented")


while count < limit and time.time() < deadline:
    try:
        c, _ = srv.accept()
    except socket.timeout:
        continue
    c.settimeout(10)
    count += 1
    try:
        serve(c, count)
    except OSError:
        pass
    c.close()
