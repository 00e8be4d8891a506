#!/usr/bin/env python3
"""A minimal SMTP server with STARTTLS, on a loopback address, for tests.

Speaks just enough SMTP (220 greeting, EHLO with STARTTLS, STARTTLS, then
EHLO/MAIL/RCPT/DATA/QUIT inside TLS) for a real client to upgrade and send
one message. Serves at most N connections or T seconds, then exits.
Usage: smtp_starttls.py HOST PORT CERT KEY [N] [T]
"""
import socket
import ssl
import sys
import time

host, port, cert, key = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
limit = int(sys.argv[5]) if len(sys.argv) > 5 else 1
deadline = time.time() + (float(sys.argv[6]) if len(sys.argv) > 6 else 30)
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(cert, key)
srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind((host, port))
srv.listen(4)
srv.settimeout(1)


def serve(conn):
    f = conn.makefile("rwb")
    def say(line):
        f.write(line.encode() + b"\r\n")
        f.flush()
    say("220 mail.nightjar.test ESMTP test server")
    tls = False
    in_data = False
    while True:
        line = f.readline()
        if not line:
            return
        cmd = line.strip().upper()
        if in_data:
            if line.strip() == b".":
                in_data = False
                say("250 2.0.0 queued")
            continue
        if cmd.startswith(b"EHLO") or cmd.startswith(b"HELO"):
            f.write(b"250-mail.nightjar.test\r\n")
            say("250 STARTTLS" if not tls else "250 8BITMIME")
        elif cmd == b"STARTTLS" and not tls:
            say("220 2.0.0 Ready to start TLS")
            conn = ctx.wrap_socket(conn, server_side=True)
            f = conn.makefile("rwb")
            tls = True
        elif cmd.startswith(b"MAIL") or cmd.startswith(b"RCPT"):
            say("250 2.1.0 ok")
        elif cmd == b"DATA":
            say("354 go ahead")
            in_data = True
        elif cmd == b"QUIT":
            say("221 2.0.0 bye")
            return
        else:
            say("502 5.5.2 not implemented")


served = 0
while served < limit and time.time() < deadline:
    try:
        conn, _ = srv.accept()
    except socket.timeout:
        continue
    try:
        serve(conn)
    except (ssl.SSLError, OSError):
        pass
    finally:
        conn.close()
    served += 1
