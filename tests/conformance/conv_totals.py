#!/usr/bin/env python3
"""Conformance: nightjar's per-conversation packet and byte totals equal
tshark's, for every TCP and UDP conversation in every capture given.

For each capture:
  1. tshark -q -z conv,tcp -z conv,udp lists the conversations and their
     frame counts per direction (exact; its byte columns are rounded to kB
     above 10000, so they are only compared where printed exactly).
  2. tshark -T fields gives each frame's length and protocol stack; walking
     the stack the way tshark's conversation taps do (each tcp/udp layer
     counts the whole frame for the nearest ip/ipv6 layer above it) gives the
     exact bytes. Step 1 checks that this walk reproduces tshark's table.
  3. nightjar reads the capture; its EVE flow records are summed per
     directed endpoint pair and compared with the tshark totals, and each
     flow's community_id must be one tshark's communityid field gives for
     the frames of that conversation.

Differences by design, each named in the output when it applies:
  - ip-fragments: tshark counts a fragmented datagram once, in the frame
    that completed it; nightjar counts every fragment frame (they all
    crossed the wire). The expectation adds the other fragments' frames.
  - tunnel-outer: for VXLAN(-GPE), Geneve and GTP-U, nightjar's flow is the inner
    one; tshark also lists the outer UDP conversation, which nightjar does not
    keep as a flow. Those outer conversations are left out.
Usage: conv_totals.py NIGHTJAR CAPTURE...
Exit 0 when every capture agrees, 1 otherwise.
"""
import collections
import json
import multiprocessing
import os
import re
import subprocess
import sys
import tempfile

TUNNEL_PROTOS = {"vxlan", "geneve", "gtp", "ip", "ipv6"}  # what nightjar opens
CONV_RE = re.compile(
    r"^(\S+):(\d+)\s+<->\s+(\S+):(\d+)\s+(\d+)\s+(\d+) (bytes|kB|MB|GB)\s+"
    r"(\d+)\s+(\d+) (bytes|kB|MB|GB)\s+(\d+)")
FIELDS = ["frame.number", "frame.len", "frame.protocols", "ip.src", "ip.dst",
          "ipv6.src", "ipv6.dst", "tcp.srcport", "tcp.dstport", "udp.srcport",
          "udp.dstport", "ip.fragment", "ipv6.fragment", "udp.length", "communityid"]


def tshark(args):
    r = subprocess.run(["tshark", "-n"] + args, capture_output=True, text=True)
    return r.stdout


def conv_table(path):
    """{(proto, A, B): (frames B->A, bytes, frames A->B, bytes)}; bytes is
    None when tshark rounded it."""
    out = tshark(["-r", path, "-q", "-z", "conv,tcp", "-z", "conv,udp"])
    table, proto = {}, None
    for line in out.splitlines():
        if line.startswith("TCP Conversations"):
            proto = "TCP"
        elif line.startswith("UDP Conversations"):
            proto = "UDP"
        m = CONV_RE.match(line)
        if not m or not proto:
            continue
        a = (m.group(1), int(m.group(2)))
        b = (m.group(3), int(m.group(4)))
        ba_bytes = int(m.group(6)) if m.group(7) == "bytes" else None
        ab_bytes = int(m.group(9)) if m.group(10) == "bytes" else None
        key = (proto, a, b)
        prev = table.get(key, (0, 0, 0, 0))
        table[key] = (prev[0] + int(m.group(5)),
                      None if ba_bytes is None or prev[1] is None else prev[1] + ba_bytes,
                      prev[2] + int(m.group(8)),
                      None if ab_bytes is None or prev[3] is None else prev[3] + ab_bytes)
    return table


def frame_walk(path):
    """Directed totals {(proto, src, dst): [frames, bytes]} as the taps count
    them, plus the fragment frames to add, and tunnel-outer conversations."""
    args = ["-r", path, "--enable-protocol", "communityid", "-T", "fields", "-E", "separator=/t",
            "-E", "occurrence=a", "-E", "aggregator=,"]
    for f in FIELDS:
        args += ["-e", f]
    out = tshark(args)
    totals = collections.defaultdict(lambda: [0, 0])
    cids = collections.defaultdict(set)
    tunnel_outer = set()
    frame_len = {}
    reassembled = collections.defaultdict(list)  # frame -> fragment frames
    frame_keys = {}
    for line in out.splitlines():
        col = line.split("\t")
        if len(col) < len(FIELDS):
            col += [""] * (len(FIELDS) - len(col))
        num, flen = int(col[0]), int(col[1])
        frame_len[num] = flen
        stack = col[2].split(":")
        lists = {f: (col[i].split(",") if col[i] else [])
                 for i, f in enumerate(FIELDS) if i >= 3}
        for f in ("ip.fragment", "ipv6.fragment"):  # on the completing frame
            for v in lists[f]:
                if v and int(v) != num:
                    reassembled[num].append(int(v))
        n = {"ip": 0, "ipv6": 0, "tcp": 0, "udp": 0}
        last_ip = None
        keys = []
        for i, p in enumerate(stack):
            if p in ("icmp", "icmpv6"):
                break  # headers quoted in an ICMP error are not counted
            if p in ("ip", "ipv6"):
                j = n[p]
                n[p] += 1
                src, dst = lists[p + ".src"], lists[p + ".dst"]
                last_ip = (src[j], dst[j]) if j < len(src) and j < len(dst) else None
            elif p in ("tcp", "udp"):
                j = n[p]
                n[p] += 1
                sp, dp = lists[p + ".srcport"], lists[p + ".dstport"]
                if last_ip is None or j >= len(sp) or j >= len(dp):
                    continue
                ulen = lists["udp.length"]
                if p == "udp" and j < len(ulen) and ulen[j] and int(ulen[j]) < 8:
                    continue  # tshark stops before its tap: not counted
                key = (p.upper(), (last_ip[0], int(sp[j])), (last_ip[1], int(dp[j])))
                totals[key][0] += 1
                totals[key][1] += flen
                keys.append(key)
                if lists["communityid"]:
                    cids[key].add(lists["communityid"][-1])
                if p == "udp" and any(q in TUNNEL_PROTOS for q in stack[i + 1:i + 2]):
                    tunnel_outer.add(key)
        frame_keys[num] = keys
    # fragments: nightjar counts the other fragments of a datagram too
    fragment_extra = collections.defaultdict(lambda: [0, 0])
    for done, frags in reassembled.items():
        for key in frame_keys.get(done, [])[-1:]:
            for fr in set(frags):
                fragment_extra[key][0] += 1
                fragment_extra[key][1] += frame_len.get(fr, 0)
    return totals, fragment_extra, tunnel_outer, cids


def nightjar_totals(nightjar, path):
    with tempfile.NamedTemporaryFile(suffix=".json") as eve:
        r = subprocess.run([nightjar, "-q", "-r", path, "-o", eve.name],
                           capture_output=True, text=True)
        if r.returncode not in (0, 1):
            raise RuntimeError("nightjar exit %d: %s" % (r.returncode, r.stderr))
        totals = collections.defaultdict(lambda: [0, 0])
        cids = collections.defaultdict(set)
        with open(eve.name) as fp:
            for line in fp:
                ev = json.loads(line)
                if ev.get("event_type") != "flow" or ev["proto"] not in ("TCP", "UDP"):
                    continue
                c = (ev["src_ip"], ev["src_port"])
                s = (ev["dest_ip"], ev["dest_port"])
                fl = ev["flow"]
                totals[(ev["proto"], c, s)][0] += fl["pkts_toserver"]
                totals[(ev["proto"], c, s)][1] += fl["bytes_toserver"]
                totals[(ev["proto"], s, c)][0] += fl["pkts_toclient"]
                totals[(ev["proto"], s, c)][1] += fl["bytes_toclient"]
                cids[(ev["proto"], c, s)].add(ev["community_id"])
                cids[(ev["proto"], s, c)].add(ev["community_id"])
        return totals, cids


def check(nightjar, path):
    """Returns (conversations compared, problems, notes)."""
    problems, notes = [], set()
    conv = conv_table(path)
    walk, frag_extra, tunnel_outer, t_cids = frame_walk(path)
    # 1. our walk reproduces tshark's conversation table, direction by
    #    direction (tshark may list the two directions as two rows)
    directed = collections.defaultdict(lambda: [0, 0])
    for (proto, a, b), (f_ba, by_ba, f_ab, by_ab) in conv.items():
        for key, f, by in (((proto, a, b), f_ab, by_ab), ((proto, b, a), f_ba, by_ba)):
            directed[key][0] += f
            directed[key][1] = None if by is None or directed[key][1] is None \
                else directed[key][1] + by
    for key, (f, by) in directed.items():
        w = walk.get(key, [0, 0])
        if w[0] != f or (by is not None and by != w[1]):
            problems.append("tshark's field walk disagrees with its conv table "
                            "for %s %s -> %s: walk %s, conv %s" %
                            (key[0], key[1], key[2], w, (f, by)))
    # 2. nightjar equals tshark, direction by direction
    nj, nj_cids = nightjar_totals(nightjar, path)
    compared = 0
    for (proto, a, b) in conv:
        pair = {(proto, a, b), (proto, b, a)}
        if pair & tunnel_outer:
            notes.add("tunnel-outer")
            continue
        compared += 1
        for key in ((proto, a, b), (proto, b, a)):
            want = list(walk.get(key, [0, 0]))
            extra = frag_extra.get(key)
            if extra:
                notes.add("ip-fragments")
                want = [want[0] + extra[0], want[1] + extra[1]]
            if key in nj_cids and t_cids.get(key) and \
                    not nj_cids[key] <= t_cids[key]:
                problems.append("%s %s -> %s: community_id %s, tshark %s" %
                                (proto, key[1], key[2], sorted(nj_cids[key]),
                                 sorted(t_cids[key])))
            got = nj.get(key, [0, 0])
            if list(got) != want:
                problems.append("%s %s:%d -> %s:%d: tshark %d frames %d bytes, "
                                "nightjar %d frames %d bytes" %
                                (proto, key[1][0], key[1][1], key[2][0], key[2][1],
                                 want[0], want[1], got[0], got[1]))
    return compared, problems, notes


def check_safe(job):
    nightjar, path = job
    try:
        return path, check(nightjar, path)
    except Exception as e:  # a crash of either tool is a failure
        return path, (0, ["error: %s" % e], set())


def main():
    nightjar, files = sys.argv[1], sys.argv[2:]
    bad = 0
    total = 0
    jobs = int(os.environ.get("JOBS", os.cpu_count() or 1))
    with multiprocessing.Pool(jobs) as pool:
        results = pool.map(check_safe, [(nightjar, f) for f in files], 1)
    for path, (n, problems, notes) in results:
        total += n
        name = os.path.relpath(path)
        tag = (" [by design: %s]" % ", ".join(sorted(notes))) if notes else ""
        if problems:
            bad += 1
            print("FAIL %s: %d conversations%s" % (name, n, tag))
            for p in problems[:10]:
                print("     " + p)
            if len(problems) > 10:
                print("     ... %d more" % (len(problems) - 10))
        else:
            print("ok   %s: %d conversations%s" % (name, n, tag))
    print("%d captures, %d conversations compared, %d captures differ" %
          (len(files), total, bad))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
