#!/usr/bin/env python3
"""mta_flood.py -- many small numbered mails to nightjar-mta as fast as a
few connections go, each one's fate written down; then what the next hop
got, checked against it (mta_crash.sh).

  mta_flood.py send PORT TOTAL LOG [--threads T] [--seconds S]
                    [--kill-at K --kill-pid PID]
      Mails 1..TOTAL ("Subject: nightjar-flood N of TOTAL"), taken in
      order by T connections (default 4; several mails per connection).
      One line per mail in LOG, flushed at once:
        N accepted ID   250 to the end of the message (queued as ID)
        N refused       no connection (the server is down): not sent
        N failed WHERE  the connection broke, or a refusal, before the
                        end of the message was sent: not sent whole
        N unknown       the end of the message went out, no reply came:
                        it may or may not have been queued
        N answered CODE the end of the message was answered CODE (not 250)
      After a broken connection or a refusal, that connection waits 0.2 s
      and goes on with the next number: a mail is tried once. Stops after
      S seconds (default 120) whatever is left. With --kill-at, the K-th
      250 makes it send SIGKILL to PID at once (the other connections
      are then in the middle of their mails) and note "K killed PID".
  mta_flood.py check LOG SINKDIR TOTAL SECONDS
      Waits up to SECONDS until the next hop (mta_sink.py's DIR) has every
      accepted mail, then counts. FAIL: an accepted mail missing; a mail
      delivered that was never sent whole (refused or failed); a delivered
      mail that is not the mail sent (after X-Nightjar-* header lines at
      the top, the bytes sent exactly); a mail delivered without the
      "X-Nightjar-Verdict: clean" line. Duplicates are counted, allowed
      (at-least-once).
"""
import hashlib
import os
import re
import signal
import socket
import sys
import threading
import time


def message(n, total):
    body = b"".join(b"mail %d of %d, line %d: %s\r\n" % (
        n, total, i, hashlib.sha256(b"%d-%d" % (n, i)).hexdigest().encode()) for i in range(6))
    return (b"Date: Mon, 1 Dec 2025 10:00:00 +0000\r\n"
            b"From: flood@sender.nightjar.test\r\n"
            b"To: sink@rcpt.nightjar.test\r\n"
            b"Subject: nightjar-flood %d of %d\r\n"
            b"Message-ID: <flood-%d@sender.nightjar.test>\r\n"
            b"\r\n" % (n, total, n) + body)


class Broken(Exception):
    pass


class Client:
    def __init__(self, port):
        self.port = port
        self.s = None
        self.f = None

    def reply(self):
        code = None
        while True:
            try:
                l = self.f.readline(4096)
            except OSError as e:
                raise Broken("no reply: %s" % e)
            if not l:
                raise Broken("connection closed")
            m = re.match(rb"^(\d{3})([ -]?)(.*)", l)
            if not m:
                raise Broken("not a reply: %r" % l[:60])
            code = int(m.group(1))
            if m.group(2) != b"-":
                return code, m.group(3).strip().decode("utf-8", "replace")

    def cmd(self, line, want, where):
        try:
            self.s.sendall(line)
        except OSError as e:
            raise Broken("%s: %s" % (where, e))
        code, text = self.reply()
        if code != want:
            raise Broken("%s answered %d" % (where, code))
        return text

    def connect(self):
        self.s = socket.create_connection(("127.0.0.1", self.port), timeout=20)
        self.f = self.s.makefile("rb")
        code, _ = self.reply()
        if code != 220:
            raise Broken("greeting %d" % code)
        self.cmd(b"EHLO flood.nightjar.test\r\n", 250, "EHLO")

    def close(self):
        if self.s:
            try:
                self.s.close()
            except OSError:
                pass
        self.s = self.f = None


def send(port, total, logpath, threads=4, seconds=120.0, kill_at=0, kill_pid=0):
    log = open(logpath, "a")
    lock = threading.Lock()
    nxt = [1]
    accepted = [0]
    deadline = time.time() + seconds

    def note(line):
        with lock:
            log.write(line + "\n")
            log.flush()

    def take():
        with lock:
            if nxt[0] > total or time.time() > deadline:
                return None
            nxt[0] += 1
            return nxt[0] - 1

    def worker():
        c = Client(port)
        while True:
            n = take()
            if n is None:
                break
            if c.s is None:
                try:
                    c.connect()
                except (OSError, Broken):
                    c.close()
                    note("%d refused" % n)
                    time.sleep(0.2)
                    continue
            data = message(n, total)
            data = re.sub(rb"(^|\n)\.", rb"\1..", data) + b".\r\n"
            stage = "MAIL"
            try:
                c.cmd(b"MAIL FROM:<flood@sender.nightjar.test>\r\n", 250, "MAIL")
                stage = "RCPT"
                c.cmd(b"RCPT TO:<sink@rcpt.nightjar.test>\r\n", 250, "RCPT")
                stage = "DATA"
                c.cmd(b"DATA\r\n", 354, "DATA")
                stage = "the message"
                try:
                    c.s.sendall(data)
                except OSError as e:
                    raise Broken("sending the message: %s" % e)
                stage = "end"
                code, text = c.reply()
            except Broken as e:
                c.close()
                if stage == "end":
                    note("%d unknown" % n)
                else:
                    note("%d failed %s" % (n, str(e).replace(" ", "_")))
                time.sleep(0.2)
                continue
            if code == 250:
                m = re.search(r"queued as <?([^ <>]+)", text)
                with lock:
                    log.write("%d accepted %s\n" % (n, m.group(1) if m else "-"))
                    accepted[0] += 1
                    if kill_at and accepted[0] == kill_at:
                        os.kill(kill_pid, signal.SIGKILL)
                        log.write("%d killed %d\n" % (kill_at, kill_pid))
                    log.flush()
            else:
                note("%d answered %d" % (n, code))
        if c.s:
            try:
                c.s.sendall(b"QUIT\r\n")
            except OSError:
                pass
            c.close()

    ts = [threading.Thread(target=worker) for _ in range(threads)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()


def read_log(path):
    fate = {}
    for l in open(path):
        w = l.split()
        if len(w) >= 2 and w[1] != "killed":
            fate[int(w[0])] = w[1]
    return fate


def sink_mails(d):
    """{number: [message bytes, ...]} of the flood's mails in d."""
    got = {}
    for name in os.listdir(d):
        if not re.match(r"^msg-\d+\.json$", name):
            continue
        with open(os.path.join(d, name[:-5] + ".eml"), "rb") as f:
            data = f.read()
        m = re.search(rb"^Subject: nightjar-flood (\d+) of", data, re.M)
        if m:
            got.setdefault(int(m.group(1)), []).append(data)
    return got


def check(logpath, sinkdir, total, seconds):
    fate = read_log(logpath)
    accepted = sorted(n for n, s in fate.items() if s == "accepted")
    end = time.time() + seconds
    t0 = time.time()
    while True:
        got = sink_mails(sinkdir)
        missing = [n for n in accepted if n not in got]
        if not missing or time.time() > end:
            break
        time.sleep(0.5)
    took = time.time() - t0
    fails = []
    kinds = {}
    for s in fate.values():
        kinds[s] = kinds.get(s, 0) + 1
    dups = sum(len(v) - 1 for v in got.values())
    print("sent: %d mails tried of %d: %s" % (
        len(fate), total, ", ".join("%d %s" % (v, k) for k, v in sorted(kinds.items()))))
    print("next hop: %d distinct mails of the flood (%d deliveries, %d duplicates), "
          "%d of the %d accepted (waited %.1f s)" % (
              len(got), sum(len(v) for v in got.values()), dups,
              len([n for n in accepted if n in got]), len(accepted), took))
    if missing:
        fails.append("%d accepted (250) mails never reached the next hop within %d s: %s"
                     % (len(missing), seconds, " ".join(map(str, missing[:30]))))
    never = sorted(n for n in got if fate.get(n) in ("refused", "failed", None))
    if never:
        fails.append("%d mails delivered that were never sent whole (refused, broken "
                     "off, or never tried): %s" % (len(never), " ".join(
                         "%d(%s)" % (n, fate.get(n, "not tried")) for n in never[:30])))
    answered = sorted(n for n, s in fate.items() if s == "answered")
    if answered:
        fails.append("%d mails answered other than 250 (clean mail): %s"
                     % (len(answered), " ".join(map(str, answered[:30]))))
    bad = []
    for n, copies in sorted(got.items()):
        want = message(n, total)
        for data in copies:
            if not data.startswith(b"X-Nightjar-Verdict: clean\r\n"):
                bad.append("%d: no X-Nightjar-Verdict: clean line first (%r)" % (n, data[:60]))
                continue
            rest = data[len(b"X-Nightjar-Verdict: clean\r\n"):]
            if rest != want:
                bad.append("%d: not the mail sent (%d bytes, sent %d)" % (n, len(rest), len(want)))
    if bad:
        fails.append("%d deliveries are not the mail sent: %s" % (len(bad), "; ".join(bad[:5])))
    for f in fails:
        print("FAIL: %s" % f)
    return 1 if fails else 0


def main(a):
    if a[1] == "send":
        opts = {"--threads": 4, "--seconds": 120.0, "--kill-at": 0, "--kill-pid": 0}
        rest = a[2:]
        pos = []
        while rest:
            if rest[0] in opts:
                opts[rest[0]] = type(opts[rest[0]])(rest[1])
                rest = rest[2:]
            else:
                pos.append(rest[0])
                rest = rest[1:]
        send(int(pos[0]), int(pos[1]), pos[2], opts["--threads"], opts["--seconds"],
             opts["--kill-at"], opts["--kill-pid"])
        return 0
    if a[1] == "check":
        return check(a[2], a[3], int(a[4]), float(a[5]))
    sys.exit("mta_flood.py: send or check")


if __name__ == "__main__":
    sys.exit(main(sys.argv))
