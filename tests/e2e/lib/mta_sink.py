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

Usage: mta_sink.py HOST PORT OUTDIR [--seconds T] [--delay S]
  --seconds T   exit after T seconds (default 900): a safety net, the test
                kills it before
  --delay S     wait S seconds before answering each end of data (a slow
                next hop: the relay's queue fills)
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
args = ap.parse_args()

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


def serve(conn, cn):
    f = conn.makefile("rwb")

    def say(line):
        f.write(line.encode() + b"\r\n")
        f.flush()

    say("220 sink.nightjar.test ESMTP nightjar mta test sink")
    mail_from = None
    mail_params = []
    rcpts = []
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
                "250-SMTPUTF8\r\n250-SIZE 104857600\r\n250 ENHANCEDSTATUSCODES")
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
                                       "rcpt_to": rcpts, "connection": cn})
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
    try:
        serve(c, cn)
    except OSError:
        pass
    finally:
        c.close()


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
