#!/usr/bin/env python3
"""Conformance: the Community ID of nightjar's ICMP and ICMPv6 flows equals
tshark's communityid, both ways, over every capture given:
  - every ICMP/ICMPv6 message tshark gives a communityid for (requests,
    responses, one-way messages, errors -- whose flow is that of their own
    addresses and type --, neighbour discovery, messages inside tunnels)
    has the Community ID of one of nightjar's ICMP flows;
  - every ICMP flow nightjar logs has a Community ID tshark gives for one of
    the capture's messages (so an empty or failed tshark cannot pass).
Differences by design, named with capture and frame in the output:
  - tshark_malformed: tshark gives no communityid for a frame it calls
    malformed (the exception stops it first); nightjar must still have an
    ICMP flow between the frame's innermost addresses, and that flow is not
    required to be among tshark's.
  - behind_ah: tshark reads past an IPsec AH header (AH then IP then ICMP);
    nightjar's flow is the AH one between the outer addresses, which must
    exist.
Usage: icmp_community_id.py [--subset] NIGHTJAR CAPTURE...
Exit 0 when everything agrees and the floor is met (--subset: no floor).
"""
import collections
import multiprocessing
import os
import sys
import tempfile

from common import Failure, finish, nightjar, options, tshark

# Floors for the whole corpus, measured on its 361 captures (2026-11):
# 2,553 ICMP/ICMPv6 messages compared (879 request/response/one-way, 1,144
# errors, 366 neighbour discovery, 164 in tunnels) and 373 nightjar ICMP
# flows.
FLOORS = {"ICMP messages": (2400, "measured 2,553"),
          "ICMP flows": (350, "measured 373")}
FIELDS = ("frame.number", "frame.protocols", "ip.src", "ip.dst", "ipv6.src", "ipv6.dst",
          "communityid", "_ws.malformed")


def tshark_icmp(path):
    args = ["--enable-protocol", "communityid", "-Y", "icmp || icmpv6", "-T", "fields",
            "-E", "separator=/t", "-E", "occurrence=a", "-E", "aggregator=,"]
    for f in FIELDS:
        args += ["-e", f]
    rows = []
    for line in tshark(path, args).splitlines():
        c = (line.split("\t") + [""] * len(FIELDS))[:len(FIELDS)]
        stack = c[1].split(":")
        proto = None
        for p in stack:
            if p in ("icmp", "icmpv6"):
                proto = p
                break
        # the innermost IP layer before the first ICMP header
        ips = [p for p in stack[:stack.index(proto)] if p in ("ip", "ipv6")]
        v4, v6 = (c[2].split(","), c[3].split(",")), (c[4].split(","), c[5].split(","))
        pairs = []  # (src, dst) of each IP layer, in order
        n = {"ip": 0, "ipv6": 0}
        for p in stack:
            if p in n:
                src, dst = v4 if p == "ip" else v6
                j = n[p]
                n[p] += 1
                pairs.append((src[j] if j < len(src) else "", dst[j] if j < len(dst) else ""))
        inner = pairs[len(ips) - 1] if ips else ("", "")
        rows.append({"frame": int(c[0]), "stack": stack, "proto": proto,
                     "pair": frozenset(inner), "outer": frozenset(pairs[0]) if pairs else None,
                     "cid": c[6].split(",")[-1], "malformed": bool(c[7])})
    return rows


def check(job):
    nj, path = job
    counts, problems, notes = collections.Counter(), [], []
    try:
        with tempfile.TemporaryDirectory() as tmp:
            events = nightjar(nj, path, os.path.join(tmp, "eve.json"))
        rows = tshark_icmp(path)
    except Failure as e:
        return path, counts, [str(e)], notes
    flows = [e for e in events if e["event_type"] == "flow"]
    icmp = [e for e in flows if e["proto"] in ("ICMP", "IPv6-ICMP")]
    ncids = {e["community_id"] for e in icmp}
    tcids, excused_pairs = set(), set()
    for r in rows:
        proto = "IPv6-ICMP" if r["proto"] == "icmpv6" else "ICMP"
        if r["cid"]:
            tcids.add(r["cid"])
            counts["ICMP messages"] += 1
            if r["cid"] in ncids:
                continue
            st = r["stack"]
            if "ah" in st and st.index("ah") + 1 < len(st) and st[st.index("ah") + 1] in ("ip", "ipv6") \
                    and any(e["proto"] == "AH" and {e["src_ip"], e["dest_ip"]} == r["outer"]
                            for e in flows):
                counts["behind_ah"] += 1
                notes.append("behind_ah: frame %d (%s), nightjar's AH flow %s"
                             % (r["frame"], ":".join(st), sorted(r["outer"])))
                continue
            problems.append("frame %d %s %s: tshark communityid %s, nightjar's ICMP flows: %s"
                            % (r["frame"], sorted(r["pair"]), ":".join(r["stack"]), r["cid"],
                               sorted(e["community_id"] for e in icmp
                                      if {e["src_ip"], e["dest_ip"]} == r["pair"])))
        elif r["malformed"]:
            match = [e for e in icmp if e["proto"] == proto and {e["src_ip"], e["dest_ip"]} == r["pair"]]
            if match:
                counts["tshark_malformed"] += 1
                excused_pairs.add((proto, r["pair"]))
                notes.append("tshark_malformed: frame %d %s: no communityid; nightjar's flow %s"
                             % (r["frame"], sorted(r["pair"]), match[0]["community_id"]))
            else:
                problems.append("frame %d %s: tshark malformed (no communityid), nightjar has no %s flow"
                                % (r["frame"], sorted(r["pair"]), proto))
        else:
            problems.append("frame %d %s %s: tshark gives no communityid"
                            % (r["frame"], sorted(r["pair"]), ":".join(r["stack"])))
    for e in icmp:
        if e["community_id"] in tcids:
            continue
        if (e["proto"], frozenset((e["src_ip"], e["dest_ip"]))) in excused_pairs:
            continue
        problems.append("nightjar flow %s -> %s %s type %s: community_id %s, no message tshark shows has it"
                        % (e["src_ip"], e["dest_ip"], e["proto"], e.get("icmp_type"),
                           e["community_id"]))
    counts["ICMP flows"] += len(icmp)
    return path, counts, problems, notes


def main():
    subset, args = options(sys.argv[1:], "icmp_community_id.py [--subset] NIGHTJAR CAPTURE...")
    nj, files = args[0], args[1:]
    total, bad = collections.Counter(), 0
    with multiprocessing.Pool(int(os.environ.get("JOBS", os.cpu_count() or 1))) as pool:
        results = pool.map(check, [(nj, f) for f in files], 1)
    for path, counts, problems, notes in results:
        total.update(counts)
        name = os.path.relpath(path)
        if problems:
            bad += 1
            print("FAIL %s: %d problems, %d messages" % (name, len(problems), counts["ICMP messages"]))
            for p in problems[:5]:
                print("     " + p)
            if len(problems) > 5:
                print("     ... %d more" % (len(problems) - 5))
        elif counts["ICMP messages"] or counts["ICMP flows"]:
            print("ok   %s: %d messages, %d flows" % (name, counts["ICMP messages"], counts["ICMP flows"]))
        for n in notes:
            print("     by design: " + n)
    print("%d captures, %d ICMP messages and %d nightjar ICMP flows compared, %d captures differ"
          % (len(files), total["ICMP messages"], total["ICMP flows"], bad))
    print("by design: %d frames tshark calls malformed and gives no communityid (nightjar's flow "
          "exists); %d messages behind an IPsec AH header (nightjar's flow is the AH one)"
          % (total["tshark_malformed"], total["behind_ah"]))
    return finish("icmp_community_id", total, FLOORS, subset, bad)


if __name__ == "__main__":
    sys.exit(main())
