#!/usr/bin/env python3
"""evaluate-behaviour.py -- per-host precision and recall of nightjar's
behaviour models and incidents on the labelled captures of
../shared/corpus/labelled (labels.csv names the infected hosts of each),
and the alerts they raise on the benign captures.

A host counts as flagged when a behaviour alert names it (view
"behaviour"), or when it is in an incident of at least the given level
(view "incident", which also counts the ETA model's findings). Infected
hosts are the positives; every other internal host seen in a capture is a
negative. Captures are evaluated one at a time (hosts are never joined
across captures: the sandboxes reuse addresses).

    python3 scripts/evaluate-behaviour.py [--sensor build/nightjar] [--set NAME=VALUE ...]
"""
import argparse
import collections
import csv
import json
import os
import subprocess
import sys

here = os.path.dirname(os.path.abspath(__file__))
ap = argparse.ArgumentParser()
ap.add_argument("--sensor", default=os.path.join(here, "..", "build", "nightjar"))
ap.add_argument("--corpus", default=os.path.join(here, "..", "..", "shared", "corpus", "labelled"))
ap.add_argument("--set", action="append", default=[])
ap.add_argument("--level", default="low", choices=["low", "medium", "high"])
args = ap.parse_args()
labels = os.path.join(args.corpus, "labels.csv")
if not os.path.exists(labels):
    sys.exit("evaluate-behaviour: %s is missing" % labels)
levels = {"low": 1, "medium": 2, "high": 3}
totals = {v: collections.Counter() for v in ("behaviour", "incident")}
benign_alerts = collections.Counter()
c2_named = collections.Counter()
rows = []
for row in csv.DictReader(open(labels)):
    cmd = [args.sensor, "-q", "-r", os.path.join(args.corpus, row["file"]), "-o", "-"]
    for s in args.set:
        cmd += ["--set", s]
    out = subprocess.run(cmd, capture_output=True, text=True).stdout
    victims = set(h for h in row["victim_hosts"].split(";") if h)
    servers = set(h for h in row["malicious_servers"].split(";") if h)
    hosts, flagged = set(), {"behaviour": set(), "incident": set()}
    kinds = collections.Counter()
    for line in out.splitlines():
        r = json.loads(line)
        t = r["event_type"]
        if t == "alert" and r["nightjar"]["evidence"].get("kind") == "behavior":
            ev = r["nightjar"]["evidence"]
            flagged["behaviour"].add(ev["host"])
            kinds[ev["finding"]] += 1
            c2_named[ev.get("peer") in servers] += 1
        elif t == "incident" and levels.get(r["incident"]["level"], 0) >= levels[args.level]:
            flagged["incident"].update(r["incident"]["hosts"])
        elif t == "stats":
            pass
    # the internal hosts of the capture: sources of flow records in home nets
    for line in out.splitlines():
        r = json.loads(line)
        if r["event_type"] == "flow":
            for k in ("src_ip", "dest_ip"):
                ip = r.get(k, "")
                if ip.startswith(("10.", "192.168.")) or any(
                        ip.startswith("172.%d." % i) for i in range(16, 32)):
                    hosts.add(ip)
    hosts |= victims
    for view in totals:
        f = flagged[view] & hosts
        totals[view]["tp"] += len(f & victims)
        totals[view]["fp"] += len(f - victims)
        totals[view]["fn"] += len(victims - f)
        totals[view]["tn"] += len(hosts - victims - f)
    if row["label"] == "benign":
        benign_alerts[row["file"]] += sum(kinds.values())
    rows.append((row["file"], row["label"], sorted(victims), sorted(flagged["behaviour"] & hosts),
                 sorted(flagged["incident"] & hosts), dict(kinds)))
for f, label, v, b, i, k in rows:
    if b or i or v:
        print("%-34s %-9s victims %-30s behaviour %-30s incident %-30s %s" % (
            f, label, ",".join(v)[:30], ",".join(b)[:30], ",".join(i)[:30], k))
for view, c in totals.items():
    p = c["tp"] / (c["tp"] + c["fp"]) if c["tp"] + c["fp"] else float("nan")
    r = c["tp"] / (c["tp"] + c["fn"]) if c["tp"] + c["fn"] else float("nan")
    print("%s: TP %d FP %d FN %d TN %d  precision %.3f recall %.3f" % (
        view, c["tp"], c["fp"], c["fn"], c["tn"], p, r))
print("behaviour alerts whose peer is a labelled malicious server: %d of %d" % (
    c2_named[True], c2_named[True] + c2_named[False]))
n_benign = sum(1 for r in rows if r[1] == "benign")
print("benign captures: %d, behaviour alerts on them: %d (in %d captures)" % (
    n_benign, sum(benign_alerts.values()), sum(1 for v in benign_alerts.values() if v)))
