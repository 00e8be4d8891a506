#!/usr/bin/env python3
"""mta_dialog.py -- conversations with a running nightjar-mta that swaks
cannot hold, byte by byte, each reply checked. Every reply to a command
(not the greeting, not EHLO's, not 354) must carry an RFC 3463 enhanced
status code of the reply's class, since EHLO advertises
ENHANCEDSTATUSCODES (RFC 2034).

  mta_dialog.py ehlo PORT [MIN MAX]
      EHLO: 250 with PIPELINING, SIZE <n>, 8BITMIME, SMTPUTF8 and
      ENHANCEDSTATUSCODES; with MIN MAX, MIN <= n <= MAX.
  mta_dialog.py pipeline PORT MSG1 MSG2
      RFC 2920: MAIL, RCPT, RCPT, DATA in one write; then MSG1, its dot,
      MAIL (BODY=8BITMIME SMTPUTF8), RCPT (a UTF-8 local part, RFC 6531),
      RCPT (ASCII), DATA in one write; then MSG2 (8-bit), its dot and QUIT
      in one write. Every reply in order. Prints "queued 1 ID" and
      "queued 2 ID".
  mta_dialog.py rcpts PORT MSG N EXTRA
      MAIL, N + EXTRA recipients (rcpt-NNN@rcpt.nightjar.test): the first
      N 250, the rest 452 (RFC 5321 4.5.3.1.10); DATA and MSG: 250.
      Prints "queued ID".
  mta_dialog.py protocol PORT
      An unknown command: 500, and the session goes on (NOOP 250); RCPT
      before MAIL: 503; DATA before MAIL: 503; QUIT 221.
  mta_dialog.py size PORT BYTES
      MAIL FROM with SIZE=BYTES over the limit: 552 (RFC 1870); the
      session goes on (RSET 250).
  mta_dialog.py hangup PORT N
      N sessions, four at a time, each sending a small mail ("Subject:
      mta-relay hangup I") and its dot, then resetting the connection
      (RST) without waiting for the answer -- while the server commits
      the mail, mostly. Only the replies up to 354 are checked.

A MSG file is the message's exact bytes (CRLF lines, no dot line); it is
dot-stuffed here. Mismatches are printed as "FAIL: ..." lines (all of
them) and the exit status is then 1.
"""
import re
import socket
import struct
import sys
import threading

fails = []


class Ended(Exception):
    """The conversation cannot go on (no reply, or no SMTP reply)."""


def fail(what):
    fails.append(what)
    print("FAIL: %s" % what, flush=True)


class Conn:
    def __init__(self, port):
        self.s = socket.create_connection(("127.0.0.1", port), timeout=30)
        self.f = self.s.makefile("rb")

    def send(self, data):
        self.s.sendall(data)

    def reply(self, what):
        """One reply: (code, [text lines]); (0, []) when the connection ended."""
        lines = []
        while True:
            try:
                l = self.f.readline(4096)
            except OSError as e:
                fail("%s: no reply (%s)" % (what, e))
                raise Ended()
            if not l:
                fail("%s: the connection ended without a reply" % what)
                raise Ended()
            l = l.rstrip(b"\r\n").decode("utf-8", "replace")
            m = re.match(r"^(\d{3})([ -])(.*)$", l) or re.match(r"^(\d{3})()()$", l)
            if not m:
                fail("%s: not an SMTP reply line: %r" % (what, l))
                raise Ended()
            lines.append(m.group(3))
            if m.group(2) != "-":
                return int(m.group(1)), lines

    def expect(self, what, want, enhanced=True):
        """A reply whose code is in want (an int, or a tuple of them)."""
        code, lines = self.reply(what)
        wants = want if isinstance(want, tuple) else (want,)
        text = " / ".join(lines)
        if code not in wants:
            fail("%s: answered %d %s, expected %s" % (what, code, text,
                                                      " or ".join(map(str, wants))))
        elif enhanced and code // 100 in (2, 4, 5):
            m = re.match(r"^(\d)\.\d{1,3}\.\d{1,3}( |$)", lines[0] if lines else "")
            if not m or int(m.group(1)) != code // 100:
                fail("%s: %d %s carries no enhanced status code %d.x.x "
                     "(ENHANCEDSTATUSCODES is advertised: RFC 2034)" % (what, code, text, code // 100))
        return code, text

    def close(self):
        try:
            self.s.close()
        except OSError:
            pass


def greet(port):
    c = Conn(port)
    c.expect("greeting", 220, enhanced=False)
    return c


def ehlo(c, what="EHLO"):
    c.send(b"EHLO client.nightjar.test\r\n")
    code, lines = c.reply(what)
    if code != 250:
        fail("%s: answered %d %s, expected 250" % (what, code, " / ".join(lines)))
    return lines[1:]


def stuff(msg):
    """The message as DATA sends it: dot-stuffed, ending CRLF . CRLF."""
    if not msg.endswith(b"\r\n"):
        msg += b"\r\n"
    out = re.sub(rb"(^|\n)\.", rb"\1..", msg)
    return out + b".\r\n"


def queued(text, what):
    m = re.search(r"queued as <?([^ <>]+)>?", text)
    if not m:
        fail("%s: the 250 does not say \"queued as <ID>\": %s" % (what, text))
        return "-"
    return m.group(1)


def cmd_ehlo(port, lo=None, hi=None):
    c = greet(port)
    kw = ehlo(c)
    words = {l.split(" ")[0].upper(): l for l in kw}
    for k in ("PIPELINING", "SIZE", "8BITMIME", "SMTPUTF8", "ENHANCEDSTATUSCODES"):
        if k not in words:
            fail("EHLO does not advertise %s: %s" % (k, " / ".join(kw)))
    if "SIZE" in words:
        m = re.match(r"^SIZE (\d+)$", words["SIZE"], re.I)
        if not m:
            fail("EHLO's SIZE has no maximum: %r" % words["SIZE"])
        elif lo is not None and not lo <= int(m.group(1)) <= hi:
            fail("EHLO's SIZE is %s, expected %d to %d" % (m.group(1), lo, hi))
    c.send(b"QUIT\r\n")
    c.expect("QUIT", 221)
    c.close()


def cmd_pipeline(port, m1, m2):
    msg1, msg2 = open(m1, "rb").read(), open(m2, "rb").read()
    c = greet(port)
    ehlo(c)
    c.send(b"MAIL FROM:<pipe@sender.nightjar.test>\r\n"
           b"RCPT TO:<pipe-a@rcpt.nightjar.test>\r\n"
           b"RCPT TO:<pipe-b@rcpt.nightjar.test>\r\n"
           b"DATA\r\n")
    c.expect("pipelined MAIL", 250)
    c.expect("pipelined RCPT 1", 250)
    c.expect("pipelined RCPT 2", 250)
    c.expect("pipelined DATA", 354, enhanced=False)
    c.send(stuff(msg1) +
           b"MAIL FROM:<pipe@sender.nightjar.test> BODY=8BITMIME SMTPUTF8\r\n" +
           "RCPT TO:<jörg@rcpt.nightjar.test>\r\n".encode() +
           b"RCPT TO:<pipe-c@rcpt.nightjar.test>\r\n"
           b"DATA\r\n")
    code, t = c.expect("end of the first pipelined message", 250)
    if code == 250:
        print("queued 1 %s" % queued(t, "the first pipelined message"))
    c.expect("MAIL pipelined after a message", 250)
    c.expect("RCPT TO:<jörg@...> (UTF-8 local part, MAIL had SMTPUTF8) pipelined after a message", 250)
    c.expect("RCPT (ASCII) pipelined after a message", 250)
    c.expect("DATA pipelined after a message", 354, enhanced=False)
    c.send(stuff(msg2) + b"QUIT\r\n")
    code, t = c.expect("end of the second pipelined message", 250)
    if code == 250:
        print("queued 2 %s" % queued(t, "the second pipelined message"))
    c.expect("QUIT pipelined after a message", 221)
    c.close()


def cmd_rcpts(port, m, n, extra):
    msg = open(m, "rb").read()
    c = greet(port)
    ehlo(c)
    c.send(b"MAIL FROM:<many@sender.nightjar.test>\r\n")
    c.expect("MAIL", 250)
    codes = []
    for i in range(1, n + extra + 1):
        c.send(b"RCPT TO:<rcpt-%03d@rcpt.nightjar.test>\r\n" % i)
        code, text = c.reply("RCPT %d" % i)
        codes.append(code)
        want = 250 if i <= n else 452
        if code != want:
            fail("RCPT %d of %d: answered %d %s, expected %d" % (i, n + extra, code,
                                                             " / ".join(text), want))
        elif code == 452 and not re.match(r"^4\.5\.3\b", text[0] if text else ""):
            # RFC 3463: 4.5.3 too many recipients
            fail("RCPT %d: 452 without 4.5.3: %s" % (i, " / ".join(text)))
    print("rcpt codes: %d x 250, %d x 452, others %s" % (
        codes.count(250), codes.count(452), sorted(set(codes) - {250, 452})), file=sys.stderr)
    c.send(b"DATA\r\n")
    c.expect("DATA", 354, enhanced=False)
    c.send(stuff(msg))
    code, t = c.expect("end of the message to %d recipients" % n, 250)
    if code == 250:
        print("queued %s" % queued(t, "the message to many recipients"))
    c.send(b"QUIT\r\n")
    c.expect("QUIT", 221)
    c.close()


def cmd_protocol(port):
    c = greet(port)
    ehlo(c)
    c.send(b"XYZZY plugh\r\n")
    c.expect("an unknown command (XYZZY)", 500)
    c.send(b"NOOP\r\n")
    c.expect("NOOP after an unknown command", 250)
    c.send(b"RCPT TO:<early@rcpt.nightjar.test>\r\n")
    c.expect("RCPT before MAIL", 503)
    c.send(b"DATA\r\n")
    c.expect("DATA before MAIL", 503)
    c.send(b"QUIT\r\n")
    c.expect("QUIT", 221)
    c.close()


def cmd_size(port, nbytes):
    c = greet(port)
    ehlo(c)
    c.send(b"MAIL FROM:<big@sender.nightjar.test> SIZE=%d\r\n" % nbytes)
    c.expect("MAIL FROM with SIZE=%d, over the maximum" % nbytes, 552)
    c.send(b"RSET\r\n")
    c.expect("RSET after a refused MAIL", 250)
    c.send(b"QUIT\r\n")
    c.expect("QUIT", 221)
    c.close()


def cmd_hangup(port, n):
    def one(i):
        try:
            c = greet(port)
            ehlo(c)
            c.send(b"MAIL FROM:<sender@sender.nightjar.test>\r\n")
            c.expect("MAIL", 250)
            c.send(b"RCPT TO:<rcpt@rcpt.nightjar.test>\r\n")
            c.expect("RCPT", 250)
            c.send(b"DATA\r\n")
            c.expect("DATA", 354, enhanced=False)
            c.send(stuff(b"Subject: mta-relay hangup %d\r\n\r\ngone before the answer\r\n"
                         % i))
            c.s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            c.f.close()  # else the reader keeps the socket open
            c.close()
        except Ended:
            pass
        except OSError as e:
            fail("hangup %d: %s" % (i, e))

    for first in range(0, n, 4):
        ts = [threading.Thread(target=one, args=(i,)) for i in range(first, min(n, first + 4))]
        for t in ts:
            t.start()
        for t in ts:
            t.join()


def main(argv):
    what, port = argv[1], int(argv[2])
    try:
        if what == "ehlo":
            cmd_ehlo(port, *(int(x) for x in argv[3:5]))
        elif what == "pipeline":
            cmd_pipeline(port, argv[3], argv[4])
        elif what == "rcpts":
            cmd_rcpts(port, argv[3], int(argv[4]), int(argv[5]))
        elif what == "protocol":
            cmd_protocol(port)
        elif what == "size":
            cmd_size(port, int(argv[3]))
        elif what == "hangup":
            cmd_hangup(port, int(argv[3]))
        else:
            sys.exit("mta_dialog.py: unknown conversation %s" % what)
    except Ended:
        pass
    except OSError as e:
        fail("%s: %s" % (what, e))
    return 1 if fails else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
