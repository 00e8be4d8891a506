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
     the frames of that conversation (tshark must give one).
  4. Every TCP/UDP flow nightjar logs is one of tshark's conversations, so
     a tshark that lists nothing (or fails: its exit status is checked)
     cannot pass.
  5. Every flow of another IP protocol (GRE, ESP, AH, SCTP, OSPF, ...;
     ICMP is icmp_community_id.py's) has the Community ID the spec gives
     (computed here) and one tshark gives for a frame of the capture.

Differences by design, each named in the output when it applies:
  - ip-fragments: tshark counts a fragmented datagram once, in the frame
    that completed it; nightjar counts every fragment frame (they all
    crossed the wire). The expectation adds the other fragments' frames
    (each direction where this happened is listed).
  - tunnel-outer: for VXLAN(-GPE), Geneve and GTP-U, nightjar's flow is the inner
    one; tshark also lists the outer UDP conversation, which nightjar does not
    keep as a flow. Those outer conversations are left out when nightjar
    has no flow for them (they are listed); their inner conversations are
    compared like any other.
  - behind-ah: tshark reads past an IPsec AH header, so its communityid is
    the inner packet's; nightjar's flow is the AH one (spec-checked).
  - tshark-no-communityid: tshark 4.0 gives none for some frames (IPv6
    ESP); nightjar's is checked against the spec only.
Usage: conv_totals.py [--subset] NIGHTJAR CAPTURE...
Exit 0 when every capture agrees and the floors are met (--subset: no
floors), 1 otherwise.
"""
import base64
import collections
import hashlib
import ipaddress
import multiprocessing
import os
import re
import struct
import sys
import tempfile

from common import Failure, finish, nightjar, options, tshark

# Floors for the whole corpus, measured on its 361 captures (2026-11):
# 16,610 conversations, 21,839 directions with a Community ID, 16,993
# nightjar TCP/UDP flows and 118 flows of other IP protocols compared.
FLOORS = {"conversations": (16000, "measured 16,610"),
          "community ids": (21000, "measured 21,839"),
          "nightjar flows": (16300, "measured 16,993"),
          "other flows": (100, "measured 118")}

TUNNEL_PROTOS = {"vxlan", "geneve", "gtp", "ip", "ipv6"}  # what nightjar opens
CONV_RE = re.compile(
    r"^(\S+):(\d+)\s+<->\s+(\S+):(\d+)\s+(\d+)\s+(\d+) (bytes|kB|MB|GB)\s+"
    r"(\d+)\s+(\d+) (bytes|kB|MB|GB)\s+(\d+)")
FIELDS = ["frame.number", "frame.len", "frame.protocols", "ip.src", "ip.dst",
          "ipv6.src", "ipv6.dst", "tcp.srcport", "tcp.dstport", "udp.srcport",
          "udp.dstport", "ip.fragment", "ipv6.fragment", "udp.length", "communityid"]


def conv_table(path):
    """{(proto, A, B): (frames B->A, bytes, frames A->B, bytes)}; bytes is
    None when tshark rounded it."""
    out = tshark(path, ["-q", "-z", "conv,tcp", "-z", "conv,udp"])
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
    args = ["--enable-protocol", "communityid", "-T", "fields", "-E", "separator=/t",
            "-E", "occurrence=a", "-E", "aggregator=,"]
    for f in FIELDS:
        args += ["-e", f]
    out = tshark(path, args)
    totals = collections.defaultdict(lambda: [0, 0])
    cids = collections.defaultdict(set)
    tunnel_outer = set()
    # every communityid; address pairs of frames read past an AH header, of
    # other frames without a communityid
    other = {"cids": set(), "ah": set(), "no_cid": set()}
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
        other["cids"].update(lists["communityid"])
        for i, p in enumerate(stack):
            if p in ("icmp", "icmpv6"):
                break  # headers quoted in an ICMP error are not counted
            if p in ("ip", "ipv6"):
                j = n[p]
                n[p] += 1
                src, dst = lists[p + ".src"], lists[p + ".dst"]
                last_ip = (src[j], dst[j]) if j < len(src) and j < len(dst) else None
            elif p == "ah" and last_ip and stack[i + 1:i + 2] in (["ip"], ["ipv6"]):
                other["ah"].add(frozenset(last_ip))
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
        if not lists["communityid"] and last_ip and not keys:
            other["no_cid"].add(frozenset(last_ip))
    # fragments: nightjar counts the other fragments of a datagram too
    fragment_extra = collections.defaultdict(lambda: [0, 0])
    for done, frags in reassembled.items():
        for key in frame_keys.get(done, [])[-1:]:
            for fr in set(frags):
                fragment_extra[key][0] += 1
                fragment_extra[key][1] += frame_len.get(fr, 0)
    return totals, fragment_extra, tunnel_outer, cids, other


# the names nightjar's flow records give IP protocols
PROTO_NUMBERS = {"IGMP": 2, "GRE": 47, "ESP": 50, "AH": 51, "OSPF": 89, "PIM": 103,
                 "VRRP": 112, "SCTP": 132}


def spec_community_id(src, dst, proto, sport=None, dport=None, seed=0):
    """Community ID v1 (seed 0, nightjar's default): SHA-1 of seed, the two
    endpoints in order (address, then port), protocol, pad, and the ports
    of a protocol that has them (SCTP here)."""
    a, b = ipaddress.ip_address(src).packed, ipaddress.ip_address(dst).packed
    if (a, sport or 0) > (b, dport or 0):
        a, b, sport, dport = b, a, dport, sport
    ports = struct.pack(">HH", sport, dport) if sport is not None else b""
    digest = hashlib.sha1(struct.pack(">H", seed) + a + b + bytes([proto, 0]) + ports).digest()
    return "1:" + base64.b64encode(digest).decode()


def nightjar_totals(nj, path):
    with tempfile.TemporaryDirectory() as tmp:
        events = nightjar(nj, path, os.path.join(tmp, "eve.json"))
    totals = collections.defaultdict(lambda: [0, 0])
    cids = collections.defaultdict(set)
    flows, tunnels, other = [], set(), []
    for ev in events:
        if ev.get("event_type") == "flow" and ev.get("tunnel"):
            tunnels.add(ev["tunnel"]["type"])
        if ev.get("event_type") == "flow" and ev["proto"] not in ("TCP", "UDP", "ICMP", "IPv6-ICMP"):
            other.append(ev)
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
        flows.append((ev["proto"], c, s))
    return totals, cids, flows, tunnels, other


def check(nj, path):
    """Returns (counts, problems, notes)."""
    problems, notes, counts = [], [], collections.Counter()
    conv = conv_table(path)
    walk, frag_extra, tunnel_outer, t_cids, t_other = frame_walk(path)
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
    nj_totals, nj_cids, nj_flows, nj_tunnels, nj_other = nightjar_totals(nj, path)
    outer = set()
    for (proto, a, b) in conv:
        pair = {(proto, a, b), (proto, b, a)}
        if pair & tunnel_outer and not any(k in nj_cids for k in pair):
            # nightjar's flows are the inner ones; it keeps no flow of the
            # outer UDP conversation (one that it did keep is compared)
            outer.add((proto, a, b))
            counts["tunnel-outer"] += 1
            continue
        counts["conversations"] += 1
        for key in ((proto, a, b), (proto, b, a)):
            want = list(walk.get(key, [0, 0]))
            extra = frag_extra.get(key)
            if extra:
                counts["ip-fragments"] += 1
                notes.append("ip-fragments: %s %s:%d -> %s:%d: %d fragment frames (%d bytes) added"
                             % (key[0], key[1][0], key[1][1], key[2][0], key[2][1],
                                extra[0], extra[1]))
                want = [want[0] + extra[0], want[1] + extra[1]]
            if key in nj_cids and want[0]:
                # every conversation nightjar has a flow for must have
                # tshark's communityid too: without it nothing is compared
                counts["community ids"] += 1
                if not t_cids.get(key):
                    problems.append("%s %s -> %s: tshark gives no communityid, nightjar %s"
                                    % (proto, key[1], key[2], sorted(nj_cids[key])))
                elif t_cids.get(key) and not nj_cids[key] <= t_cids[key]:
                    problems.append("%s %s -> %s: community_id %s, tshark %s" %
                                    (proto, key[1], key[2], sorted(nj_cids[key]),
                                     sorted(t_cids[key])))
            got = nj_totals.get(key, [0, 0])
            if list(got) != want:
                problems.append("%s %s:%d -> %s:%d: tshark %d frames %d bytes, "
                                "nightjar %d frames %d bytes" %
                                (proto, key[1][0], key[1][1], key[2][0], key[2][1],
                                 want[0], want[1], got[0], got[1]))
    if outer:
        notes.append("tunnel-outer: %d outer UDP conversations (%s) left out; nightjar has "
                     "their inner flows: %s" % (len(outer), ", ".join(
                         "%s:%d <-> %s:%d" % (a[0], a[1], b[0], b[1]) for _, a, b in sorted(outer)[:3]),
                         ", ".join(sorted(nj_tunnels)) or "none"))
    # 3. every flow nightjar logs is a conversation tshark lists (so a
    #    tshark that listed nothing cannot pass)
    for key in nj_flows:
        if key not in directed and (key[0], key[2], key[1]) not in directed:
            problems.append("%s %s:%d -> %s:%d: nightjar flow, not among tshark's conversations"
                            % (key[0], key[1][0], key[1][1], key[2][0], key[2][1]))
    counts["nightjar flows"] += len(nj_flows)
    # 5. the Community ID of every flow of another IP protocol (GRE, ESP,
    #    SCTP with its ports, OSPF, ...; ICMP has icmp_community_id.py) is one
    #    tshark gives for the capture's frames, and the one the Community ID
    #    spec gives
    for ev in nj_other:
        counts["other flows"] += 1
        pair = frozenset((ev["src_ip"], ev["dest_ip"]))
        num = PROTO_NUMBERS.get(ev["proto"], int(ev["proto"]) if ev["proto"].isdigit() else None)
        spec = spec_community_id(ev["src_ip"], ev["dest_ip"], num, ev.get("src_port"),
                                 ev.get("dest_port")) if num is not None else None
        if spec != ev["community_id"]:
            problems.append("%s %s -> %s: community_id %s, the spec gives %s"
                            % (ev["proto"], ev["src_ip"], ev["dest_ip"], ev["community_id"], spec))
        elif ev["community_id"] in t_other["cids"]:
            continue
        elif ev["proto"] == "AH" and pair in t_other["ah"]:
            # tshark reads past the AH header (its communityid is the inner
            # packet's); nightjar's flow is the AH one
            counts["behind-ah"] += 1
            notes.append("behind-ah: %s -> %s: tshark's frames are read past AH"
                         % (ev["src_ip"], ev["dest_ip"]))
        elif pair in t_other["no_cid"]:
            # tshark gives no communityid for these frames (IPv6 ESP, for
            # one); nightjar's equals the one computed here from the spec
            counts["tshark-no-communityid"] += 1
            notes.append("tshark-no-communityid: %s %s -> %s: nightjar's %s is the spec's"
                         % (ev["proto"], ev["src_ip"], ev["dest_ip"], ev["community_id"]))
        else:
            problems.append("%s %s -> %s: community_id %s, no frame tshark shows has it"
                            % (ev["proto"], ev["src_ip"], ev["dest_ip"], ev["community_id"]))
    return counts, problems, notes


def check_safe(job):
    nj, path = job
    try:
        return path, check(nj, path)
    except Failure as e:  # a tool failed on the capture: nothing compared
        return path, (collections.Counter(), [str(e)], [])


def main():
    subset, args = options(sys.argv[1:], "conv_totals.py [--subset] NIGHTJAR CAPTURE...")
    nj, files = args[0], args[1:]
    bad = 0
    total = collections.Counter()
    jobs = int(os.environ.get("JOBS", os.cpu_count() or 1))
    with multiprocessing.Pool(jobs) as pool:
        results = pool.map(check_safe, [(nj, f) for f in files], 1)
    for path, (counts, problems, notes) in results:
        total.update(counts)
        name = os.path.relpath(path)
        if problems:
            bad += 1
            print("FAIL %s: %d conversations" % (name, counts["conversations"]))
            for p in problems[:10]:
                print("     " + p)
            if len(problems) > 10:
                print("     ... %d more" % (len(problems) - 10))
        else:
            print("ok   %s: %d conversations" % (name, counts["conversations"]))
        for n in notes:
            print("     by design: %s" % n)
    print("%d captures, %d conversations (%d directions with a community id), %d nightjar TCP/UDP "
          "flows and %d flows of other IP protocols compared, %d captures differ" %
          (len(files), total["conversations"], total["community ids"], total["nightjar flows"],
           total["other flows"], bad))
    print("by design: %d directions with IP fragments (nightjar counts every fragment frame, tshark "
          "the datagram once); %d outer tunnel conversations (VXLAN, Geneve, GTP-U: nightjar's "
          "flow is the inner one); %d flows of other protocols whose frames tshark gives no "
          "communityid (nightjar's is the spec's); %d AH flows tshark reads past"
          % (total["ip-fragments"], total["tunnel-outer"], total["tshark-no-communityid"],
             total["behind-ah"]))
    return finish("conv_totals", total, FLOORS, subset, bad)


if __name__ == "__main__":
    sys.exit(main())
