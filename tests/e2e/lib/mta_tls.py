#!/usr/bin/env python3
"""mta_tls.py -- STARTTLS conversations with a running nightjar-mta (RFC
3207), byte by byte, each reply checked; the TLS side is Python's ssl
module, not verifying the server's throwaway certificate.

  mta_tls.py offer PORT
      EHLO offers STARTTLS; STARTTLS with an argument: 501 5.5.4; inside a
      mail transaction (after MAIL): 503 5.5.1; then (after RSET) 220
      2.0.0 and a handshake, TLS 1.3; the session starts over (4.2): MAIL
      before EHLO 503; EHLO inside TLS does not offer STARTTLS; a second
      STARTTLS 503 5.5.1; a whole mail goes (250 queued as). Prints
      "queued ID" and "tls VERSION CIPHER".
  mta_tls.py inject PORT
      CVE-2011-0411: "STARTTLS\\r\\nRSET\\r\\nEHLO evil.test\\r\\nMAIL
      FROM:<inject@evil.test>\\r\\n" in one write. Only the 220 may come
      back in the clear; then the handshake, and the first reply inside
      TLS must be the one to the client's own first command (HELP, 214),
      and RCPT then 503 (no EHLO and no MAIL ran). Then the same with the
      injected line in a second write right after STARTTLS: either the
      handshake fails (the server read it as TLS: not TLS) or it is never
      answered either.
  mta_tls.py require PORT
      mta.tls-require: EHLO offers STARTTLS; MAIL, RSET and VRFY before it
      530 5.7.0 "Must issue a STARTTLS command first"; NOOP 250; after
      STARTTLS, EHLO, MAIL and RCPT 250.
  mta_tls.py versions PORT
      TLS 1.2 works (TLSv1.2); a client offering at most TLS 1.1 is
      refused in the handshake (skipped, "tls1.1 untestable", when this
      Python's OpenSSL cannot offer TLS 1.1 at all).
  mta_tls.py garbage PORT
      STARTTLS, 220, then bytes that are no ClientHello: the server closes
      the connection (within 10 s) and answers nothing in the clear.
  mta_tls.py concurrent PORT N TIMEOUT
      Two sessions stall in their handshakes (one silent after the 220,
      one with 3 bytes of a record header); meanwhile N sessions, all at
      once, do STARTTLS, EHLO, NOOP and QUIT over TLS: every one must
      finish within 30 s. Then the stalled ones must be closed by the
      server within TIMEOUT + 5 s (mta.timeout) and not before TIMEOUT - 1.

Mismatches are printed as "FAIL: ..." lines (all of them); exit 1 then.
"""
import re
import socket
import ssl
import sys
import threading
import time

fails = []


class Ended(Exception):
    """The conversation cannot go on."""


def fail(what):
    fails.append(what)
    print("FAIL: %s" % what, flush=True)


def client_ctx(minv=ssl.TLSVersion.TLSv1_2, maxv=ssl.TLSVersion.MAXIMUM_SUPPORTED):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    ctx.minimum_version = minv
    ctx.maximum_version = maxv
    return ctx


class Conn:
    def __init__(self, port, timeout=30):
        self.s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = b""
        self.tls = False

    def send(self, data):
        self.s.sendall(data)

    def line(self, what):
        while b"\n" not in self.buf:
            try:
                d = self.s.recv(4096)
            except (OSError, ssl.SSLError) as e:
                fail("%s: no reply (%s)" % (what, e))
                raise Ended()
            if not d:
                fail("%s: the connection ended without a reply" % what)
                raise Ended()
            self.buf += d
        l, _, self.buf = self.buf.partition(b"\n")
        return l.rstrip(b"\r").decode("utf-8", "replace")

    def reply(self, what):
        """(code, [text lines]) of one whole reply."""
        lines = []
        while True:
            l = self.line(what)
            m = re.match(r"^(\d{3})([ -]?)(.*)$", l)
            if not m:
                fail("%s: not an SMTP reply line: %r" % (what, l))
                raise Ended()
            lines.append(m.group(3))
            if m.group(2) != "-":
                return int(m.group(1)), lines

    def expect(self, what, code, status=None, text=None):
        got, lines = self.reply(what)
        if got != code:
            fail("%s: answered %d %s, expected %d" % (what, got, " | ".join(lines), code))
        elif status and not lines[-1].startswith(status + " "):
            fail("%s: %d %s, expected the enhanced status %s" % (what, got, lines[-1], status))
        elif text and text not in lines[-1]:
            fail("%s: %d %s, expected it to say %r" % (what, got, lines[-1], text))
        return got, lines

    def cmd(self, line, code, status=None, text=None):
        self.send(line.encode() + b"\r\n")
        return self.expect(line, code, status, text)

    def nothing_more(self, what, secs=0.5):
        """No byte arrives for secs (what the server must not have said)."""
        if self.buf:
            fail("%s: the server said more: %r" % (what, self.buf[:200]))
            return
        self.s.settimeout(secs)
        try:
            d = self.s.recv(4096)
            if d:
                fail("%s: the server said more: %r" % (what, d[:200]))
        except socket.timeout:
            pass
        except (OSError, ssl.SSLError):
            pass
        finally:
            self.s.settimeout(30)

    def starttls(self, ctx=None):
        if self.buf:
            fail("STARTTLS: bytes in the clear after the 220: %r" % self.buf[:200])
            self.buf = b""
        try:
            self.s = (ctx or client_ctx()).wrap_socket(self.s)
        except (OSError, ssl.SSLError) as e:
            fail("the TLS handshake failed: %s" % e)
            raise Ended()
        self.tls = True
        return self.s.version(), self.s.cipher()[0]

    def close(self):
        try:
            self.s.close()
        except OSError:
            pass


def ehlo(c, name="client.nightjar.test"):
    code, lines = c.cmd("EHLO " + name, 250)
    return [l.upper() for l in lines[1:]]


def greet(port):
    c = Conn(port)
    c.expect("the greeting", 220)
    return c


def do_offer(port):
    c = greet(port)
    try:
        ext = ehlo(c)
        if "STARTTLS" not in ext:
            fail("EHLO does not offer STARTTLS: %s" % ext)
        c.cmd("STARTTLS now", 501, "5.5.4")
        c.cmd("MAIL FROM:<s@sender.nightjar.test>", 250)
        c.cmd("STARTTLS", 503, "5.5.1")
        c.cmd("RSET", 250)
        c.cmd("STARTTLS", 220, "2.0.0", "Ready to start TLS")
        version, cipher = c.starttls()
        print("tls %s %s" % (version, cipher))
        if version != "TLSv1.3":
            fail("STARTTLS negotiated %s, expected TLSv1.3 (both sides offer it)" % version)
        c.cmd("MAIL FROM:<s@sender.nightjar.test>", 503, "5.5.1")  # HELO forgotten
        ext = ehlo(c)
        if "STARTTLS" in ext:
            fail("EHLO inside TLS still offers STARTTLS: %s" % ext)
        c.cmd("STARTTLS", 503, "5.5.1")
        c.cmd("MAIL FROM:<s@sender.nightjar.test>", 250)
        c.cmd("RCPT TO:<r@rcpt.nightjar.test>", 250)
        c.cmd("DATA", 354)
        c.send(b"Subject: mta-tls offer 5e0a\r\n\r\nsent inside TLS by mta_tls.py\r\n.\r\n")
        code, lines = c.expect("the end of data", 250)
        m = re.search(r"queued as <?([^ <>]+)", lines[-1])
        print("queued %s" % (m.group(1) if m else "-"))
        c.cmd("QUIT", 221)
    except Ended:
        pass
    c.close()


def do_inject(port):
    # one write: the classic injection
    c = greet(port)
    try:
        ehlo(c)
        c.send(b"STARTTLS\r\nRSET\r\nEHLO evil.test\r\nMAIL FROM:<inject@evil.test>\r\n")
        c.expect("STARTTLS (with commands pipelined after it)", 220, "2.0.0")
        c.nothing_more("after the 220 to STARTTLS, in the clear")
        c.starttls()
        c.send(b"HELP\r\n")
        code, lines = c.reply("HELP, the first command inside TLS")
        if code != 214:
            fail("the first reply inside TLS is %d %s, not HELP's 214: a command "
                 "pipelined in the clear after STARTTLS was run inside TLS "
                 "(CVE-2011-0411)" % (code, " | ".join(lines)))
        c.cmd("RCPT TO:<r@rcpt.nightjar.test>", 503)   # no EHLO, no MAIL ran
        c.nothing_more("after RCPT inside TLS")
        c.cmd("QUIT", 221)
        if not fails:
            print("inject: the pipelined RSET, EHLO and MAIL were never answered")
    except Ended:
        pass
    c.close()
    # two writes: STARTTLS, then at once (before the 220) the injection
    c = greet(port)
    try:
        ehlo(c)
        c.send(b"STARTTLS\r\n")
        c.send(b"RSET\r\nMAIL FROM:<inject@evil.test>\r\n")
        c.expect("STARTTLS (with commands in a second write)", 220, "2.0.0")
        c.nothing_more("after the 220 to STARTTLS, in the clear")
        # the server either read the injection with the STARTTLS line (and
        # dropped it) or reads it now as TLS, which it is not, and closes;
        # the client may think its handshake done (TLS 1.3 finishes on the
        # client's side first) and learn of the close only when it reads
        try:
            c.s = client_ctx().wrap_socket(c.s)
            c.s.sendall(b"HELP\r\n")
            first = c.s.recv(4096)
        except (OSError, ssl.SSLError) as e:
            first, why = b"", "%s" % type(e).__name__
        else:
            why = "closed"
        if not first:
            print("inject, two writes: the server broke the handshake (%s): the injected "
                  "bytes reached TLS as what they are, no TLS" % why)
            c.close()
            return
        c.buf = first
        code, lines = c.reply("HELP, the first command inside TLS (two writes)")
        if code != 214:
            fail("two writes: the first reply inside TLS is %d %s, not HELP's 214"
                 % (code, " | ".join(lines)))
        c.cmd("RCPT TO:<r@rcpt.nightjar.test>", 503)
        c.cmd("QUIT", 221)
        print("inject, two writes: dropped before the handshake")
    except Ended:
        pass
    c.close()


def do_require(port):
    c = greet(port)
    try:
        ext = ehlo(c)
        if "STARTTLS" not in ext:
            fail("EHLO does not offer STARTTLS: %s" % ext)
        for line in ("MAIL FROM:<s@sender.nightjar.test>", "RSET", "VRFY postmaster"):
            c.cmd(line, 530, "5.7.0", "Must issue a STARTTLS command first")
        c.cmd("NOOP", 250)
        c.cmd("STARTTLS", 220, "2.0.0")
        c.starttls()
        ehlo(c)
        c.cmd("MAIL FROM:<s@sender.nightjar.test>", 250)
        c.cmd("RCPT TO:<r@rcpt.nightjar.test>", 250)
        c.cmd("RSET", 250)
        c.cmd("QUIT", 221)
        print("require: 530 before STARTTLS, mail taken after it")
    except Ended:
        pass
    c.close()


def do_versions(port):
    c = greet(port)
    try:
        ehlo(c)
        c.cmd("STARTTLS", 220)
        v, cipher = c.starttls(client_ctx(ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_2))
        if v != "TLSv1.2":
            fail("a TLS 1.2 client got %s" % v)
        ehlo(c)
        c.cmd("QUIT", 221)
        print("tls1.2 %s" % cipher)
    except Ended:
        pass
    c.close()
    try:
        import warnings
        warnings.simplefilter("ignore", DeprecationWarning)
        old = client_ctx(ssl.TLSVersion.TLSv1, ssl.TLSVersion.TLSv1_1)
        old.set_ciphers("DEFAULT:@SECLEVEL=0")
    except (ValueError, ssl.SSLError) as e:
        print("tls1.1 untestable (%s)" % e)
        return
    c = greet(port)
    try:
        ehlo(c)
        c.cmd("STARTTLS", 220)
        try:
            s = old.wrap_socket(c.s)
            fail("a client offering at most TLS 1.1 got %s" % s.version())
            s.close()
        except ssl.SSLError as e:
            if "NO_PROTOCOLS_AVAILABLE" in str(e) or "no protocols available" in str(e):
                print("tls1.1 untestable (%s)" % e)
            else:
                print("tls1.1 refused: %s" % e)
        except OSError as e:
            print("tls1.1 refused: %s" % e)
    except Ended:
        pass
    c.close()


def closed_within(c, secs):
    """True when the server closes c within secs (EOF or a reset)."""
    c.s.settimeout(secs)
    end = time.time() + secs
    try:
        while time.time() < end:
            d = c.s.recv(4096)
            if not d:
                return True
            c.buf += d
    except socket.timeout:
        return False
    except OSError:
        return True
    return False


def do_garbage(port):
    c = greet(port)
    try:
        ehlo(c)
        c.cmd("STARTTLS", 220)
        c.send(b"GET / HTTP/1.0\r\nHost: not-tls.nightjar.test\r\n\r\n")
        if not closed_within(c, 10):
            fail("bytes that are no ClientHello after STARTTLS: the connection is still "
                 "open after 10 s")
        elif c.buf and not c.buf.startswith(b"\x15"):   # a TLS alert is fine
            fail("bytes that are no ClientHello: answered in the clear: %r" % c.buf[:100])
        else:
            print("garbage: the connection was closed")
    except Ended:
        pass
    c.close()


def do_concurrent(port, n, timeout):
    stallers = []
    for extra in (b"", b"\x16\x03\x01"):
        c = greet(port)
        try:
            ehlo(c)
            c.cmd("STARTTLS", 220)
            if extra:
                c.send(extra)
            stallers.append(c)
        except Ended:
            c.close()
    t0 = time.time()
    done = []
    lock = threading.Lock()

    def one(i):
        c = None
        try:
            c = Conn(port)
            c.expect("session %d: greeting" % i, 220)
            ehlo(c, "c%d.nightjar.test" % i)
            c.cmd("STARTTLS", 220)
            c.starttls()
            ehlo(c, "c%d.nightjar.test" % i)
            c.cmd("NOOP", 250)
            c.cmd("QUIT", 221)
            with lock:
                done.append(time.time() - t0)
        except (Ended, OSError) as e:
            if not isinstance(e, Ended):
                fail("session %d: %s" % (i, e))
        finally:
            if c:
                c.close()

    threads = [threading.Thread(target=one, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    if len(done) != n:
        fail("%d of %d sessions finished STARTTLS while two handshakes stalled" % (len(done), n))
    elif max(done) > 30:
        fail("the sessions took %.1f s while two handshakes stalled" % max(done))
    else:
        print("concurrent: %d sessions over TLS in %.2f s while two handshakes stalled"
              % (n, max(done)))
    for i, c in enumerate(stallers):
        left = timeout + 5 - (time.time() - t0)
        if not closed_within(c, max(left, 0.1)):
            fail("stalled handshake %d: still open %d s after STARTTLS (mta.timeout %d)"
                 % (i, timeout + 5, timeout))
        else:
            after = time.time() - t0
            if after < timeout - 1:
                fail("stalled handshake %d: closed after %.1f s, before mta.timeout (%d s)"
                     % (i, after, timeout))
            else:
                print("stalled handshake %d: closed after %.1f s" % (i, after))
        c.close()


def main(a):
    what, port = a[1], int(a[2])
    if what == "offer":
        do_offer(port)
    elif what == "inject":
        do_inject(port)
    elif what == "require":
        do_require(port)
    elif what == "versions":
        do_versions(port)
    elif what == "garbage":
        do_garbage(port)
    elif what == "concurrent":
        do_concurrent(port, int(a[3]), int(a[4]))
    else:
        sys.exit("mta_tls.py: unknown conversation %s" % what)
    return 1 if fails else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
