#!/usr/bin/env python3
"""Conformance: the Community ID of nightjar's ICMP and ICMPv6 flows equals
tshark's communityid for the messages in them (request/response pairs, and
one-way messages, which keep their direction). ICMP errors are left out:
they quote another packet's headers and belong to no conversation of theirs.
Usage: icmp_community_id.py NIGHTJAR CAPTURE..."""
import collections
import json
import multiprocessing
import os
import subprocess
import sys
import tempfile

ERRORS4 = {3, 4, 5, 11, 12}
ERRORS6 = {1, 2, 3, 4}


def first(v):
    return v.split(",")[0] if v else ""


def tshark_icmp(path):
    args = ["tshark", "-n", "-r", path, "--enable-protocol", "communityid",
            "-Y", "icmp || icmpv6", "-T", "fields", "-E", "separator=/t"]
    for f in ("ip.src", "ip.dst", "ipv6.src", "ipv6.dst", "icmp.type",
              "icmpv6.type", "communityid", "frame.protocols"):
        args += ["-e", f]
    out = subprocess.run(args, capture_output=True, text=True).stdout
    want = []
    for line in out.splitlines():
        c = (line.split("\t") + [""] * 8)[:8]
        stack = c[7].split(":")
        if "gre" in stack or "udp" in stack or stack.count("ip") + stack.count("ipv6") > 1:
            continue  # tunnelled, or an error quoting a packet
        v6 = bool(c[5])
        t = int(first(c[5] if v6 else c[4]) or -1)
        if t < 0 or t in (ERRORS6 if v6 else ERRORS4) or (v6 and 133 <= t <= 137):
            continue
        src, dst = (first(c[2]), first(c[3])) if v6 else (first(c[0]), first(c[1]))
        cid = c[6].split(",")[-1]
        if src and cid:
            want.append(((frozenset((src, dst)), 58 if v6 else 1), cid))
    return want


def nightjar_icmp(nightjar, path):
    with tempfile.NamedTemporaryFile(suffix=".json") as eve:
        subprocess.run([nightjar, "-q", "-r", path, "-o", eve.name],
                       capture_output=True)
        got = collections.defaultdict(set)
        for line in open(eve.name):
            ev = json.loads(line)
            if ev.get("event_type") == "flow" and ev["proto"] in ("ICMP", "IPv6-ICMP"):
                key = (frozenset((ev["src_ip"], ev["dest_ip"])),
                       58 if ev["proto"] == "IPv6-ICMP" else 1)
                got[key].add(ev["community_id"])
        return got


def check(job):
    nightjar, path = job
    want = tshark_icmp(path)
    if not want:
        return path, 0, [], {}
    got = nightjar_icmp(nightjar, path)
    return path, len(want), [(k, c) for k, c in want if c not in got.get(k, ())], got


def main():
    nightjar, files = sys.argv[1], sys.argv[2:]
    total = bad = 0
    with multiprocessing.Pool(int(os.environ.get("JOBS", os.cpu_count() or 1))) as pool:
        results = pool.map(check, [(nightjar, f) for f in files], 1)
    for path, n, problems, got in results:
        total += n
        if problems:
            bad += 1
            print("FAIL %s: %d of %d messages" % (os.path.relpath(path), len(problems), n))
            for (k, cid) in problems[:5]:
                print("     %s proto %d: tshark %s, nightjar %s" %
                      (sorted(k[0]), k[1], cid, sorted(got.get(k, ()))))
        elif n:
            print("ok   %s: %d messages" % (os.path.relpath(path), n))
    print("%d ICMP messages compared, %d captures differ" % (total, bad))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
