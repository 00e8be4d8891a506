#!/usr/bin/env python3
"""Conformance: FTP commands and their arguments equal what tshark reports,
connection by connection, in the same order, over every capture given; and
the FTP exfiltration captures give what a detector needs.

For each capture:
  tshark: every frame it dissects as an FTP request gives (command,
      argument) -- `tshark -Y "ftp.request == 1" -e ftp.request.command -e
      ftp.request.arg` -- grouped by connection (client address and port,
      server address and port) in frame order.
  nightjar: the `ftp` events of the same connection in tx_id order give
      (command, command_data). PASS is compared as "***": nightjar never
      writes the password (and the password tshark shows must be nowhere in
      nightjar's output).
  Equal lists count as compared. tshark reads one line per TCP segment, so
  where a segment holds several commands (pipelining), a command is split
  over segments, a segment is retransmitted or Telnet bytes come before a
  command (IAC IP before ABOR), its list differs by design: then the lines
  of the request segments tshark dissected (in sequence order, each byte
  once) must equal nightjar's list, and the reason is counted by name.
  A connection whose server tshark never saw answer gets no ftp event from
  nightjar (it does not take a stream for FTP without a reply): counted.
  Connections nightjar parses that tshark does not (FTP off port 21) are
  counted, not failures.
Exfiltration: labelled/hawkeye-01.pcap and labelled/agenttesla-f9421792.pcap
  must give a STOR with the file name tshark shows, answered 226, after a
  login, and PASS as "***".
Fails when tshark or nightjar fails (nightjar: an exit code other than 0,
or 1 for "alerts raised"), when any list differs without a named reason,
or when fewer commands are compared than FLOOR (measured on the corpus).
Usage: ftp_fields.py NIGHTJAR CAPTURE...   Exit 0 when everything agrees.
"""
import collections
import json
import multiprocessing
import os
import subprocess
import sys
import tempfile

# commands compared equal on ../shared/corpus (361 captures) when this test
# was written: 24 (arkime ftp and synthetic, the AgentTesla and HawkEye
# exfiltration); fewer means something stopped being compared
FLOOR = 24
EXFIL = {"hawkeye-01.pcap", "agenttesla-f9421792.pcap"}
SANITIZER_EXITS = {86: "AddressSanitizer", 87: "UndefinedBehaviorSanitizer"}


def tshark_rows(path):
    """(rows, cut_short, error): one row per FTP frame, whether the capture
    ends in a partial packet, or an error text when tshark failed. A capture
    cut short is read to its last whole packet (as nightjar does), not a
    failure."""
    fields = ["ip.src", "ipv6.src", "tcp.srcport", "ip.dst", "ipv6.dst", "tcp.dstport",
              "ftp.request", "ftp.request.command", "ftp.request.arg", "ftp.response.code",
              "tcp.seq_raw", "tcp.payload"]
    cmd = ["tshark", "-n", "-r", path, "-Y", "ftp", "-T", "fields",
           "-E", "occurrence=a", "-E", "aggregator=\x1f", "-E", "separator=\t"]
    for f in fields:
        cmd += ["-e", f]
    r = subprocess.run(cmd, capture_output=True)
    err = r.stderr.decode("utf-8", "replace")
    cut = "cut short in the middle of a packet" in err
    if r.returncode != 0 and not cut:
        return None, False, "tshark exited %d: %s" % (r.returncode, err.strip()[-300:])
    rows = []
    for line in r.stdout.decode("utf-8", "surrogateescape").splitlines():
        v = line.split("\t")
        v += [""] * (len(fields) - len(v))
        rows.append(dict(zip(fields, v)))
    return rows, cut, None


def last(v):
    parts = [x for x in v.split("\x1f") if x]
    return parts[-1] if parts else ""


def strip_telnet(b):
    """Telnet commands before an FTP command (IAC IP, IAC DM, ...)."""
    while len(b) >= 2 and b[0] == 0xff:
        b = b[3:] if 0xfb <= b[1] <= 0xfe else b[2:]
    return b


def command_of(line):
    """(VERB, argument) of one client line, as nightjar reads it."""
    verb, _, arg = line.partition(b" ")
    verb = verb.decode("latin-1").upper()
    arg = arg.decode("utf-8", "replace")
    if verb == "PASS" and arg:
        arg = "***"
    return verb, arg


def tshark_conns(rows):
    """Per connection: the commands tshark shows, the request segments
    (sequence number, bytes) and whether any reply was seen."""
    conns = collections.defaultdict(lambda: {"cmds": [], "segs": [], "replied": False,
                                             "passwords": set()})
    for r in rows:
        src = last(r["ip.src"]) or last(r["ipv6.src"])
        dst = last(r["ip.dst"]) or last(r["ipv6.dst"])
        sp, dp = last(r["tcp.srcport"]), last(r["tcp.dstport"])
        if not (src and dst and sp and dp):
            continue
        if last(r["ftp.request"]) in ("1", "True"):
            c = conns[(src, int(sp), dst, int(dp))]
            verb = last(r["ftp.request.command"])
            arg = last(r["ftp.request.arg"])
            if verb.upper() == "PASS" and arg:
                c["passwords"].add(arg)
                arg = "***"
            c["cmds"].append((verb.upper(), arg))
            payload = last(r["tcp.payload"]).replace(":", "")
            seq = last(r["tcp.seq_raw"])
            if payload and seq:
                c["segs"].append((int(seq), bytes.fromhex(payload)))
        elif last(r["ftp.response.code"]):
            conns[(dst, int(dp), src, int(sp))]["replied"] = True
    return conns


def relined(segs):
    """The commands in the request segments: in sequence order, each byte
    once, cut at line ends (what nightjar reads), and why tshark's own list
    differs."""
    why = set()
    stream, end = b"", None
    for seq, data in sorted(segs, key=lambda s: s[0]):
        if end is not None and seq < end:
            why.add("retransmitted segments")
            data = data[end - seq:]
            seq = end
            if not data:
                continue
        if data.count(b"\n") > 1:
            why.add("several commands in one segment")
        if not data.endswith(b"\n"):
            why.add("a command split over segments")
        stream += data
        end = seq + len(data)
    cmds = []
    for line in stream.split(b"\n"):
        line = line.rstrip(b"\r")
        bare = strip_telnet(line)
        if bare != line:
            why.add("Telnet bytes before a command")
        if bare:
            cmds.append(command_of(bare))
    return cmds, why


def nightjar_conns(events):
    conns = collections.defaultdict(list)
    for e in sorted((e for e in events if e["event_type"] == "ftp"),
                    key=lambda e: (e["flow_id"], e["tx_id"])):
        f = e["ftp"]
        conns[(e["src_ip"], e["src_port"], e["dest_ip"], e["dest_port"])].append(
            (f["command"], f.get("command_data", "")))
    return conns


def exfil_checks(name, events, passwords):
    ftp = [e["ftp"] for e in events if e["event_type"] == "ftp"]
    problems = []
    stors = [f for f in ftp if f["command"] == "STOR"]
    if not stors:
        problems.append("%s: no ftp STOR event" % name)
    for f in stors:
        if not f.get("command_data"):
            problems.append("%s: STOR without its file name: %s" % (name, f))
        if "226" not in f.get("completion_code", []) or f.get("reply_received") != "yes":
            problems.append("%s: STOR not answered 226: %s" % (name, f))
        if not f.get("logged_in"):
            problems.append("%s: STOR not after a login: %s" % (name, f))
    passes = [f for f in ftp if f["command"] == "PASS"]
    if not passes or any(f.get("command_data") != "***" for f in passes):
        problems.append("%s: PASS not written as ***: %s" % (name, passes))
    if not passwords:
        problems.append("%s: tshark shows no password" % name)
    return problems, [f["command_data"] for f in stors if f.get("command_data")]


def check(args):
    nj, path = args
    notes, problems = collections.Counter(), []
    rows, cut, err = tshark_rows(path)
    if err:
        return path, [err], notes, []
    notes["cut_short"] += cut
    with tempfile.TemporaryDirectory() as tmp:
        eve = os.path.join(tmp, "eve.json")
        r = subprocess.run([nj, "-q", "-r", path, "-o", eve], capture_output=True, text=True)
        if r.returncode != 0:
            what = SANITIZER_EXITS.get(r.returncode, "nightjar")
            return path, ["%s: exit %d: %s" % (what, r.returncode, r.stderr.strip()[-600:])], \
                notes, []
        text = open(eve, encoding="utf-8").read() if os.path.exists(eve) else ""
    events = [json.loads(l) for l in text.splitlines()]
    tc, nc = tshark_conns(rows), nightjar_conns(events)
    passwords = set()
    for k, c in tc.items():
        passwords |= c["passwords"]
        notes["connections"] += 1
        n = nc.get(k)
        if n is None and (k[2], k[3], k[0], k[1]) in nc:
            notes["reversed"] += 1  # the capture starts with the server
            n = nc[(k[2], k[3], k[0], k[1])]
        n = n or []
        if c["cmds"] == n:
            notes["commands"] += len(n)
            notes["arguments"] += sum(1 for _, a in n if a)
            continue
        if not n and not c["replied"]:
            notes["no_reply"] += 1
            continue
        lines, why = relined(c["segs"])
        if lines == n and why:
            notes["relined_commands"] += len(n)
            for w in why:
                notes["why:" + w] += 1
            continue
        problems.append("%s:%d -> %s:%d: tshark %s, nightjar %s" % (k + (c["cmds"], n)))
    for k in nc:
        if k not in tc and (k[2], k[3], k[0], k[1]) not in tc:
            notes["only_nightjar"] += 1
    for pw in passwords:
        if len(pw) >= 4 and pw in text:
            problems.append("a password tshark shows is in nightjar's output")
    stored = []
    name = os.path.basename(path)
    if name in EXFIL:
        p, stored = exfil_checks(name, events, passwords)
        problems += p
        notes["exfil:" + name] += 1
    return path, problems, notes, stored


def main():
    nj, caps = sys.argv[1], sys.argv[2:]
    total, bad, stored = collections.Counter(), 0, []
    with multiprocessing.Pool(os.cpu_count() or 2) as pool:
        for path, problems, notes, st in pool.imap_unordered(check, [(nj, c) for c in caps]):
            total.update(notes)
            stored += st
            if problems:
                bad += 1
                print("DIFF %s" % path)
                for p in problems[:8]:
                    print("  " + p)
                if len(problems) > 8:
                    print("  ... %d more" % (len(problems) - 8))
    missing = sorted(EXFIL - {k[6:] for k in total if k.startswith("exfil:")})
    print("ftp fields vs tshark: %d captures, %d FTP connections, %d commands (%d with an "
          "argument) equal; %d connections nightjar parses that tshark does not dissect; "
          "%d captures differ" % (len(caps), total["connections"], total["commands"],
                                  total["arguments"], total["only_nightjar"], bad))
    print("by design: %d commands equal once tshark's segments are read as lines (%s); "
          "%d connections whose server never answered (no ftp events); %d connections "
          "whose first packet came from the server; %d captures cut short in a packet "
          "(read to the last whole one)"
          % (total["relined_commands"],
             ", ".join("%s: %d" % (k[4:], v) for k, v in sorted(total.items())
                       if k.startswith("why:")) or "none",
             total["no_reply"], total["reversed"], total["cut_short"]))
    print("exfiltration: STOR %s" % ", ".join(sorted(stored)))
    rc = 1 if bad else 0
    if missing:
        print("FAIL: the exfiltration captures %s were not among those read" % ", ".join(missing))
        rc = 1
    if total["commands"] < FLOOR:
        print("FAIL: %d commands compared, fewer than the %d measured on the corpus"
              % (total["commands"], FLOOR))
        rc = 1
    sys.exit(rc)


if __name__ == "__main__":
    main()
