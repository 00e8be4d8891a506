#!/usr/bin/env python3
"""mta_sink.py -- the next hop nightjar-mta relays to in the end-to-end
tests: an SMTP server on a loopback address that keeps every message it
accepts, whatever connection it came on.

smtp_sink.py (beside it) names a message by its connection and serves one
connection at a time, so a relay that sends several messages on one
connection, or opens several connections, would overwrite or wait; this
one serves each connection in a thread of its own and numbers messages.

Each accepted message is OUTDIR/msg-N.eml (exactly the bytes of the
message: dot-stuffing undone, nothing added) and OUTDIR/msg-N.json (the
envelope: mail_from, rcpt_to, the MAIL parameters, the connection's
number). Both are complete before the 250 is sent (written under another
name, then renamed, .json last), so a file a test sees is whole and a
relay that got 250 has its message stored.

EHLO answers PIPELINING, 8BITMIME, SMTPUTF8, SIZE and ENHANCEDSTATUSCODES;
commands may be pipelined (replies are sent as each command is read).

With --tls CERT KEY, EHLO also offers STARTTLS (until TLS is up); the
envelope then says "tls": the version and cipher Python's ssl module
negotiated ("TLSv1.3", ...), or null for a message taken in the clear.

Usage: mta_sink.py HOST PORT OUTDIR [--seconds T] [--delay S]
                   [--tls CERT KEY] [--tls-break MODE] [--refuse-rcpt ADDR]
  --seconds T   exit after T seconds (default 900): a safety net, the test
                kills it before
  --delay S     wait S seconds before answering each end of data (a slow
                next hop: the relay's queue fills)
  --refuse-rcpt ADDR  answer RCPT TO:<ADDR> with 550 5.1.1 (repeatable)
  --tls CERT KEY  offer STARTTLS with this PEM certificate and key
  --tls-break MODE  offer STARTTLS (a certificate is not needed) but never
                let it work, while taking mail in the clear as ever -- so
                a relay that falls back to the clear is caught delivering:
                  garbage  220, then, to the ClientHello, bytes that are
                           no TLS, then close
                  refuse   454 4.7.0 to STARTTLS
                  inject   220 and, in the same write, a second reply (a
                           response injection the client must not read
                           as if it came inside TLS)
Prints "mta_sink listening on HOST:PORT" on stdout once it accepts.
"""
import argparse
import json
import os
import socket
import sys
import threading
import time

ap = argparse.ArgumentParser()
ap.add_argument("host")
ap.add_argument("port", type=int)
ap.add_argument("outdir")
ap.add_argument("--seconds", type=float, default=900)
ap.add_argument("--delay", type=float, default=0.0)
ap.add_argument("--tls", nargs=2, metavar=("CERT", "KEY"))
ap.add_argument("--tls-break", choices=("garbage", "refuse", "inject"))
ap.add_argument("--refuse-rcpt", action="append", default=[])
args = ap.parse_args()
tls_ctx = None
if args.tls:
    import ssl
    tls_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    tls_ctx.load_cert_chain(args.tls[0], args.tls[1])

lock = threading.Lock()
seq = [0]
conns = [0]


def next_number(counter):
    with lock:
        counter[0] += 1
        return counter[0]


def store(data, envelope):
    n = next_number(seq)
    base = os.path.join(args.outdir, "msg-%d" % n)
    with open(base + ".eml.tmp", "wb") as f:
        f.write(data)
    os.rename(base + ".eml.tmp", base + ".eml")
    envelope["number"] = n
    with open(base + ".json.tmp", "w") as f:
        json.dump(envelope, f)
    os.rename(base + ".json.tmp", base + ".json")
    return n


def serve(held, cn):
    conn = held[0]
    f = conn.makefile("rwb")

    def say(line):
        f.write(line.encode() + b"\r\n")
        f.flush()

    say("220 sink.nightjar.test ESMTP nightjar mta test sink")
    mail_from = None
    mail_params = []
    rcpts = []
    tls = None               # (version, cipher) once STARTTLS is done
    offer_tls = bool(tls_ctx or args.tls_break)
    while True:
        line = f.readline(4096)
        if not line:
            return
        words = line.rstrip(b"\r\n").decode("utf-8", "replace")
        cmd = words.split(" ", 1)[0].upper()
        if cmd in ("EHLO", "HELO"):
            mail_from, rcpts = None, []
            if cmd == "HELO":
                say("250 sink.nightjar.test")
                continue
            say("250-sink.nightjar.test\r\n250-PIPELINING\r\n250-8BITMIME\r\n"
                "250-SMTPUTF8\r\n250-SIZE 104857600\r\n%s250 ENHANCEDSTATUSCODES"
                % ("250-STARTTLS\r\n" if offer_tls and not tls else ""))
        elif cmd == "STARTTLS" and offer_tls and not tls:
            if args.tls_break == "refuse":
                say("454 4.7.0 TLS not available now")
                continue
            if args.tls_break == "inject":
                say("220 2.0.0 Ready to start TLS\r\n250 2.0.0 injected before TLS")
                continue       # and then whatever comes (no TLS here)
            say("220 2.0.0 Ready to start TLS")
            if args.tls_break == "garbage":
                # after the client's first TLS bytes, so that the garbage
                # answers its ClientHello: sent at once, it could arrive
                # with the 220 in one read, and a loaded client would rightly
                # take it for a reply injected before TLS
                conn.settimeout(10)
                try:
                    conn.recv(1)
                except OSError:
                    return
                conn.sendall(b"this is not a TLS ServerHello\r\n" * 4)
                return
            conn = tls_ctx.wrap_socket(conn, server_side=True)
            held[0] = conn
            f = conn.makefile("rwb")
            tls = (conn.version(), conn.cipher()[0])
            mail_from, rcpts = None, []
        elif cmd == "MAIL":
            rest = words[5:]
            if not rest.upper().startswith("FROM:"):
                say("501 5.5.4 syntax: MAIL FROM:<address>")
                continue
            rest = rest[5:].strip()
            addr, _, params = rest.partition(">")
            mail_from = addr.lstrip("<")
            mail_params = params.split()
            rcpts = []
            say("250 2.1.0 ok")
        elif cmd == "RCPT":
            if mail_from is None:
                say("503 5.5.1 MAIL first")
                continue
            rest = words[5:]
            if not rest.upper().startswith("TO:"):
                say("501 5.5.4 syntax: RCPT TO:<address>")
                continue
            addr = rest[3:].strip().partition(">")[0].lstrip("<")
            if addr.lower() in (a.lower() for a in args.refuse_rcpt):
                say("550 5.1.1 <%s>: Recipient address rejected: no such user" % addr)
                continue
            rcpts.append(addr)
            say("250 2.1.5 ok")
        elif cmd == "DATA":
            if mail_from is None or not rcpts:
                say("503 5.5.1 MAIL and RCPT first")
                continue
            say("354 go ahead")
            body = []
            complete = False
            while True:
                l = f.readline(1 << 20)
                if not l:
                    break
                if l in (b".\r\n", b".\n"):
                    complete = True
                    break
                body.append(l[1:] if l.startswith(b".") else l)
            if not complete:
                return          # the connection ended mid-message: nothing kept
            if args.delay:
                time.sleep(args.delay)
            n = store(b"".join(body), {"mail_from": mail_from, "params": mail_params,
                                       "rcpt_to": rcpts, "connection": cn,
                                       "tls": {"version": tls[0], "cipher": tls[1]}
                                       if tls else None})
            mail_from, rcpts = None, []
            say("250 2.0.0 ok: queued as sink-%d" % n)
        elif cmd == "RSET":
            mail_from, rcpts = None, []
            say("250 2.0.0 ok")
        elif cmd == "NOOP":
            say("250 2.0.0 ok")
        elif cmd == "QUIT":
            say("221 2.0.0 bye")
            return
        else:
            say("502 5.5.2 not implemented")


def handle(c, cn):
    c.settimeout(60)
    # replies go out as they are written (no Nagle wait on the relay's ACK)
    c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    held = [c]                # the connection, wrapped in TLS after STARTTLS
    try:
        serve(held, cn)
    except OSError:          # ssl.SSLError is one
        pass
    finally:
        held[0].close()


srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind((args.host, args.port))
srv.listen(64)
srv.settimeout(0.5)
print("mta_sink listening on %s:%d" % (args.host, args.port), flush=True)
deadline = time.time() + args.seconds
while time.time() < deadline:
    try:
        c, _ = srv.accept()
    except socket.timeout:
        continue
    threading.Thread(target=handle, args=(c, next_number(conns)), daemon=True).start()
sys.exit(0)
