#!/usr/bin/env python3
"""icap_protocol.py PORT EVE FEED PID -- speaks ICAP to a running
nightjar-icap byte by byte and checks every answer against RFC 3507 and
the server's contract (docs/icap.md). Started by tests/e2e/icap_protocol.sh
with --intel list:FEED (evil-nightjar.test), icap.max-body=64kb,
icap.timeout=2, icap.max-connections=6.

Each check prints "FAIL: what" and the script exits 1 on the first.
"""
import json
import os
import signal
import socket
import sys
import time

PORT = int(sys.argv[1])
EVE, FEED, PID = sys.argv[2], sys.argv[3], int(sys.argv[4])
EICAR = (b"X5O!P%@AP[4\\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*")


def fail(what):
    print("FAIL: " + what)
    sys.exit(1)


def check(cond, what):
    if not cond:
        fail(what)


def conn():
    s = socket.create_connection(("127.0.0.1", PORT), timeout=10)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s


class Reader:
    """Reads ICAP answers off a socket, whole: head, encapsulated heads,
    chunked body (with its last-chunk extension)."""

    def __init__(self, s):
        self.s, self.buf = s, b""

    def more(self):
        d = self.s.recv(65536)
        if not d:
            raise EOFError
        self.buf += d

    def until(self, sep):
        while sep not in self.buf:
            self.more()
        i = self.buf.index(sep) + len(sep)
        out, self.buf = self.buf[:i], self.buf[i:]
        return out

    def take(self, n):
        while len(self.buf) < n:
            self.more()
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def answer(self):
        head = self.until(b"\r\n\r\n").decode("latin-1")
        lines = head.split("\r\n")
        status = int(lines[0].split()[1])
        hdrs = {}
        for l in lines[1:]:
            if ":" in l:
                k, v = l.split(":", 1)
                hdrs[k.strip().lower()] = v.strip()
        a = {"status": status, "line": lines[0], "headers": hdrs,
             "heads": b"", "body": None, "last_ext": ""}
        enc = hdrs.get("encapsulated", "")
        if status == 100 or not enc:
            return a
        parts = dict(p.strip().split("=") for p in enc.split(","))
        bodykey = [k for k in parts if k.endswith("body")][0]
        a["heads"] = self.take(int(parts[bodykey]))
        if bodykey == "null-body":
            return a
        body = b""
        while True:
            line = self.until(b"\r\n").decode("latin-1").strip()
            size_s, _, ext = line.partition(";")
            size = int(size_s, 16)
            if size == 0:
                a["last_ext"] = ext.strip()
                self.until(b"\r\n")
                break
            body += self.take(size)
            self.take(2)
        a["body"] = body
        return a

    def closed(self, secs=3):
        self.s.settimeout(secs)
        try:
            return self.s.recv(1) == b""
        except (ConnectionResetError, socket.timeout):
            return False


REQ = b"GET http://www.example.net/files/%s HTTP/1.1\r\nHost: www.example.net\r\nUser-Agent: Mozilla/5.0\r\n\r\n"


def respmod(name, body, allow="204", preview=None, client="10.20.30.40", extra=b"",
            res_extra=b""):
    req = REQ % name
    res = (b"HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\n" + res_extra +
           b"Content-Length: %d\r\n\r\n" % len(body))
    head = (b"RESPMOD icap://127.0.0.1:%d/scan ICAP/1.0\r\nHost: 127.0.0.1\r\n"
            b"X-Client-IP: %s\r\nEncapsulated: req-hdr=0, res-hdr=%d, res-body=%d\r\n"
            % (PORT, client.encode(), len(req), len(req) + len(res)))
    if allow:
        head += b"Allow: %s\r\n" % allow.encode()
    if preview is not None:
        head += b"Preview: %d\r\n" % preview
    return head + extra + b"\r\n" + req + res, res


def chunked(body):
    return (b"%x\r\n" % len(body) + body + b"\r\n" if body else b"") + b"0\r\n\r\n"


def reqmod(url, host):
    req = b"GET %s HTTP/1.1\r\nHost: %s\r\n\r\n" % (url, host)
    return (b"REQMOD icap://127.0.0.1:%d/scan ICAP/1.0\r\nX-Client-IP: 10.20.30.41\r\n"
            b"Allow: 204\r\nEncapsulated: req-hdr=0, null-body=%d\r\n\r\n" % (PORT, len(req)) + req)


OPTIONS = b"OPTIONS icap://127.0.0.1:%d/scan ICAP/1.0\r\nHost: 127.0.0.1\r\n\r\n" % PORT


def test_options():
    s = conn()
    s.sendall(OPTIONS)
    a = Reader(s).answer()
    h = a["headers"]
    check(a["status"] == 200, "OPTIONS: status %d" % a["status"])
    for k in ("methods", "istag", "allow", "preview", "transfer-preview",
              "options-ttl", "max-connections", "encapsulated", "transfer-complete"):
        check(k in h, "OPTIONS: no %s header" % k)
    check("RESPMOD" in h["methods"] and "REQMOD" in h["methods"], "OPTIONS Methods: " + h["methods"])
    check("204" in h["allow"], "OPTIONS Allow: " + h["allow"])
    check(h["max-connections"] == "6", "OPTIONS Max-Connections %s, set 6" % h["max-connections"])
    check(h["istag"].startswith('"') and len(h["istag"]) <= 34, "ISTag not a quoted token of <= 32")
    return h["istag"]


def test_pipelined_keepalive():
    """three requests in one write, three answers in order, one connection"""
    s = conn()
    r = Reader(s)
    clean = os.urandom(3000)
    head, _ = respmod(b"report.bin", clean)
    s.sendall(OPTIONS + head + chunked(clean) + reqmod(b"http://evil-nightjar.test/get", b"evil-nightjar.test"))
    a1, a2, a3 = r.answer(), r.answer(), r.answer()
    check(a1["status"] == 200 and "methods" in a1["headers"], "pipelined: first answer is not OPTIONS'")
    check(a2["status"] == 204, "pipelined: clean RESPMOD got %d, not 204: %r %r" % (a2["status"], a2["heads"][:300], (a2["body"] or b"")[:600]))
    check(a3["status"] == 200 and b"403 Forbidden" in a3["heads"], "pipelined: indicator REQMOD not answered with a 403")
    check(b"blocked by nightjar" in a3["body"], "block page text missing")
    check(b"evil-nightjar.test" in a3["body"], "block page does not name the URL")
    # the connection is still usable
    s.sendall(OPTIONS)
    check(r.answer()["status"] == 200, "connection not kept alive after three transactions")


def test_preview():
    s = conn()
    r = Reader(s)
    body = os.urandom(5000)
    head, _ = respmod(b"big.bin", body, preview=1024)
    s.sendall(head + b"400\r\n" + body[:1024] + b"\r\n0\r\n\r\n")
    a = r.answer()
    check(a["status"] == 100, "preview: expected 100 Continue, got %d" % a["status"])
    s.sendall(chunked(body[1024:]))
    a = r.answer()
    check(a["status"] == 204, "after 100 Continue: expected 204, got %d" % a["status"])
    # ieof: the preview held it all -> no 100
    small = b"hello, plain text"
    head, _ = respmod(b"small.txt", small, preview=1024)
    s.sendall(head + b"%x\r\n" % len(small) + small + b"\r\n0; ieof\r\n\r\n")
    a = r.answer()
    check(a["status"] == 204, "ieof preview: expected 204 at once, got %d" % a["status"])
    # EICAR inside an ieof preview: blocked without the rest
    head, _ = respmod(b"eicar.com", EICAR, preview=1024)
    s.sendall(head + b"%x\r\n" % len(EICAR) + EICAR + b"\r\n0; ieof\r\n\r\n")
    a = r.answer()
    check(a["status"] == 200 and b"403" in a["heads"], "EICAR in a preview not blocked")


def test_unmodified_without_204():
    s = conn()
    r = Reader(s)
    body = os.urandom(20000)
    head, res = respmod(b"data.bin", body, allow="")
    s.sendall(head + chunked(body))
    a = r.answer()
    check(a["status"] == 200, "no Allow: expected 200 with the message, got %d" % a["status"])
    check(a["body"] == body, "no Allow: the body came back changed (%d bytes)" % len(a["body"] or b""))
    check(a["heads"] == res, "no Allow: the response head came back changed")
    # Allow: 206 alone: Squid would refuse a 206 there, so the message comes back
    head, res = respmod(b"data.bin", body, allow="206")
    s.sendall(head + chunked(body))
    a = r.answer()
    check(a["status"] == 200 and a["body"] == body,
          "Allow: 206 without 204: expected 200 with the message, got %d" % a["status"])


def test_gzip_is_judged_inflated():
    import gzip
    s = conn()
    r = Reader(s)
    packed = gzip.compress(b"<html>" + EICAR + b"</html>" * 50)
    head, _ = respmod(b"page.html", packed, res_extra=b"Content-Encoding: gzip\r\n")
    s.sendall(head + chunked(packed))
    a = r.answer()
    check(a["status"] == 200 and b"403" in a["heads"], "gzip-encoded EICAR not blocked (judged compressed?)")
    clean = gzip.compress(b"<html>hello</html>" * 100)
    head, _ = respmod(b"page2.html", clean, res_extra=b"Content-Encoding: gzip\r\n")
    s.sendall(head + chunked(clean))
    check(r.answer()["status"] == 204, "clean gzip page not passed")


def test_over_cap_relayed():
    """100 KiB against icap.max-body=64kb, no 204/206: streamed back whole"""
    s = conn()
    r = Reader(s)
    body = os.urandom(100 * 1024)
    head, _ = respmod(b"huge.bin", body, allow="")
    parts = [body[i:i + 8192] for i in range(0, len(body), 8192)]
    pieces = b"".join(b"%x\r\n" % len(p) + p + b"\r\n" for p in parts) + b"0\r\n\r\n"
    s.sendall(head + pieces)
    a = r.answer()
    check(a["status"] == 200 and a["body"] == body, "over icap.max-body: not relayed byte for byte")


def test_malformed():
    cases = [
        (b"HELLO\r\n\r\n", 400, "garbage"),
        (b"RESPMOD icap://127.0.0.1/nothere ICAP/1.0\r\nEncapsulated: null-body=0\r\n\r\n", 404, "unknown service"),
        (b"RESPMOD icap://127.0.0.1/scan ICAP/1.1\r\n\r\n", 505, "version"),
        (b"PUT icap://127.0.0.1/scan ICAP/1.0\r\n\r\n", 405, "method"),
        (b"RESPMOD icap://127.0.0.1/scan ICAP/1.0\r\nEncapsulated: res-hdr=0, res-body=19\r\n\r\n"
         b"HTTP/1.1 200 OK\r\n\r\nzz\r\nxx\r\n", 400, "bad chunk"),
        (b"RESPMOD icap://127.0.0.1/scan ICAP/1.0\r\nEncapsulated: res-hdr=0, res-body=6\r\n\r\n"
         b"NOPE\r\n0\r\n\r\n", 400, "encapsulated head not HTTP"),
    ]
    for data, want, what in cases:
        s = conn()
        r = Reader(s)
        s.sendall(data)
        a = r.answer()
        check(a["status"] == want, "%s: expected %d, got %d" % (what, want, a["status"]))
        check(r.closed(), "%s: connection not closed after %d" % (what, want))
    s = conn()
    s.sendall(b"X" * 20000)  # a head with no end, past its cap
    a = Reader(s).answer()
    check(a["status"] == 400, "endless head: expected 400, got %d" % a["status"])


def test_stall_times_out():
    s = conn()
    r = Reader(s)
    body = os.urandom(4000)
    head, _ = respmod(b"slow.bin", body)
    s.sendall(head + b"fa0\r\n" + body[:100])  # then nothing
    t0 = time.time()
    a = r.answer()
    took = time.time() - t0
    check(a["status"] == 204, "stalled client: fail open should answer 204, got %d" % a["status"])
    check(1.5 <= took <= 6, "stalled client answered after %.1f s (icap.timeout=2)" % took)
    check(r.closed(), "stalled client: connection not closed")


def test_max_connections():
    held = [conn() for _ in range(6)]
    for h in held:
        h.sendall(OPTIONS)
        Reader(h).answer()
    extra = conn()
    a = Reader(extra).answer()
    check(a["status"] == 503, "7th connection over Max-Connections 6: got %d, not 503" % a["status"])
    for h in held:
        h.close()
    time.sleep(0.5)


def test_istag_follows_reload(before):
    os.kill(PID, signal.SIGHUP)
    deadline = time.time() + 10
    while time.time() < deadline:
        s = conn()
        s.sendall(OPTIONS)
        tag = Reader(s).answer()["headers"]["istag"]
        s.close()
        if tag != before:
            return
        time.sleep(0.2)
    fail("ISTag still %s 10 s after SIGHUP" % before)


def test_eve():
    time.sleep(1.0)  # the log is flushed every 250 ms
    recs = [json.loads(l) for l in open(EVE)]
    icap = [r for r in recs if r["event_type"] == "icap"]
    alerts = [r for r in recs if r["event_type"] == "alert"]
    check(len(icap) >= 15, "EVE: only %d icap events" % len(icap))
    blocked = [r for r in icap if r["icap"]["verdict"] == "block"]
    check(len(blocked) >= 2, "EVE: %d blocked icap events, expected the indicator REQMOD and EICAR" % len(blocked))
    check(any(r["src_ip"] == "10.20.30.40" for r in icap), "EVE: X-Client-IP not the src_ip")
    check(any(r["icap"].get("failed") and r["icap"].get("fail_mode") == "open" for r in icap),
          "EVE: the over-cap or stalled transaction is not logged as failed, fail open")
    eicar = [r for r in icap if r["icap"].get("url", "").endswith("eicar.com")]
    check(eicar and eicar[0].get("fileinfo", {}).get("sha256") ==
          "275a021bbfb6489e54d471899f7db9d1663fc695ec2fe2a2c4538aabf651fd0f",
          "EVE: EICAR's icap event lacks its SHA-256")
    check(any(a["alert"]["action"] == "blocked" and "EICAR" in a["alert"]["signature"] for a in alerts),
          "EVE: no blocked EICAR alert")
    check(any(a["alert"]["action"] == "blocked" and "evil-nightjar.test" in a["alert"]["signature"]
              for a in alerts), "EVE: no blocked indicator alert")
    check(any(r["event_type"] == "incident" and "10.20.30.40" in r["incident"]["hosts"] for r in recs),
          "EVE: the client's findings joined no incident")
    errors = [r for r in icap if r["icap"]["verdict"] == "error"]
    check(len(errors) >= 6, "EVE: %d refused requests logged, expected >= 6" % len(errors))


STEP = ["start"]


def step(fn, *args):
    STEP[0] = fn.__name__
    return fn(*args)


def main():
    tag = step(test_options)
    for t in (test_pipelined_keepalive, test_preview, test_unmodified_without_204,
              test_gzip_is_judged_inflated, test_over_cap_relayed, test_malformed, test_stall_times_out,
              test_max_connections):
        step(t)
    step(test_istag_follows_reload, tag)
    step(test_eve)
    print("icap_protocol: every answer as expected")


if __name__ == "__main__":
    try:
        main()
    except (EOFError, ConnectionError, socket.timeout) as e:
        fail("%s: the server closed or stalled where it should answer: %r" % (STEP[0], e))
