#!/usr/bin/env python3
"""evaluate-hosts.py -- does nightjar, with its default settings, tell which
hosts are infected? The honest, host-level evaluation of docs/detection.md.

For every capture of ../shared/corpus/labelled (labels.csv: file, label,
victim_hosts, malicious_servers, family) the sensor runs with default
settings, one capture at a time (the sandboxes reuse addresses: hosts are
never joined across captures), and this reports:

  * per capture: the infected hosts found (an alert, or an incident, that
    names the victim), by which detectors, and the time from the capture's
    first packet to the first alert about a victim;
  * benign captures with any alert (labelled/ benign rows, and every
    capture elsewhere in the corpus without a malicious label: arkime/,
    ja4/, keylog/); behaviour/ and stratosphere/ hold attacks and are
    reported apart, never counted as benign;
  * per flow: ROC AUC and TPR at FPR 1e-3 of the combined verdict. A
    flow's verdict is graded by the strongest alert about it -- 1.0 for a
    strong finding, 0.99 for severity 1, 0.98 for 2, 0.97 for 3 -- else
    0.9 x its ETA score. "About it" is reported two ways: alerts that name
    the flow (its flow_id), and also alerts whose evidence names the pair
    of hosts the flow joins (the sensor's verdict on the pair, applied to
    all the pair's flows). Positives are the flows joining a victim and a
    malicious server; negatives the flows of benign labelled captures
    (with and without benign-facetime.pcap, whose 6,000 one-packet flows
    dominate); flows of infected captures to unlabelled servers are left
    out (sandbox background, not verified benign).

Anything trained is judged leave-one-family-out: with --lofo REPORT (the
report directory of `sh scripts/train-default-model.sh --lofo --report
REPORT`) the sensor gets, for every capture, the model of the fold that
held it out (REPORT/metrics.json names them): a malicious capture is
judged by a model that never saw its family, a benign one by a model that
never saw it. Without --lofo the built-in model judges captures it was
trained on, and the report says "in-sample".

    python3 scripts/evaluate-hosts.py [--sensor build/nightjar] [--corpus DIR]
        [--lofo REPORT] [--set NAME=VALUE ...] [--json OUT] [--quiet]
"""
import argparse
import bisect
import collections
import csv
import json
import multiprocessing
import os
import re
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))


def family_key(family):
    """The family with any parenthetical removed, trimmed, case-folded."""
    return re.sub(r"\s+", " ", re.sub(r"\([^)]*\)", "", family or "")).strip().casefold()


def parse_args():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sensor", default=os.path.join(HERE, "..", "build", "nightjar"))
    ap.add_argument("--corpus", default=os.path.join(HERE, "..", "..", "shared", "corpus"))
    ap.add_argument("--lofo", metavar="REPORT",
                    help="report directory of train-default-model.sh --lofo")
    ap.add_argument("--set", action="append", default=[])
    ap.add_argument("--json", help="write the figures as JSON here")
    ap.add_argument("--quiet", action="store_true", help="totals only")
    ap.add_argument("--only", help="regular expression: captures to run")
    return ap.parse_args()


def run_sensor(job):
    sensor, path, model, sets = job
    cmd = [sensor, "-q", "-r", path, "-o", "-"]
    if model:
        cmd += ["--model", model]
    for s in sets:
        cmd += ["--set", s]
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode not in (0, 1):
        raise SystemExit("evaluate-hosts: %s exited %d on %s: %s" %
                         (sensor, r.returncode, path, r.stderr[-400:]))
    return [json.loads(l) for l in r.stdout.splitlines() if l.strip()]


def ts(s):
    """EVE timestamp -> seconds since the epoch (only differences are
    used). Captures with garbage clocks reach years past 9999, which
    datetime cannot hold: those are computed by hand."""
    m = re.match(r"(\d+)-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)(?:\.(\d+))?", s)
    y, mo, d, h, mi, sec = (int(x) for x in m.groups()[:6])
    frac = float("0." + m.group(7)) if m.group(7) else 0.0
    # days since 1970-01-01 in the proleptic Gregorian calendar
    y2 = y - (mo <= 2)
    era = y2 // 400
    yoe = y2 - era * 400
    doy = (153 * (mo + (-3 if mo > 2 else 9)) + 2) // 5 + d - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    days = era * 146097 + doe - 719468
    return days * 86400 + h * 3600 + mi * 60 + sec + frac


def alert_hosts(e):
    """(host, peer) an alert is about: its evidence when it says, else the
    flow's two ends."""
    ev = (e.get("nightjar") or {}).get("evidence") or {}
    if ev.get("host"):
        return {ev["host"]}, ev.get("peer")
    return {e.get("src_ip"), e.get("dest_ip")} - {None}, None


def detector_of(e):
    ev = (e.get("nightjar") or {}).get("evidence") or {}
    kind = ev.get("kind")
    if kind == "behavior":
        return ev.get("finding", "behavior")
    if kind:
        return kind
    return "content" if e["alert"].get("signature", "").startswith("YARA") else "alert"


def grade(e):
    """How sure an alert is: strong 1.0, then by severity."""
    ev = (e.get("nightjar") or {}).get("evidence") or {}
    if ev.get("strong"):
        return 1.0
    return {1: 0.99, 2: 0.98}.get(e["alert"].get("severity"), 0.97)


def judge(events, victims, servers):
    """What the sensor said about one capture."""
    first = None
    found = collections.defaultdict(set)       # victim -> detectors
    t_first = {}
    alerts, flows_alerted, pairs_alerted = [], {}, {}
    for e in events:
        if e.get("event_type") == "flow":
            t = ts(e["flow"]["start"])
            first = t if first is None or t < first else first
    for e in events:
        t = e.get("event_type")
        if t == "alert":
            alerts.append(e)
            g = grade(e)
            if "flow_id" in e and (e["nightjar"]["evidence"].get("kind") != "compromise"):
                flows_alerted[e["flow_id"]] = max(g, flows_alerted.get(e["flow_id"], 0))
            hosts, peer = alert_hosts(e)
            if peer:
                k = frozenset((next(iter(hosts)), peer))
                pairs_alerted[k] = max(g, pairs_alerted.get(k, 0))
            for v in victims & hosts:
                found[v].add(detector_of(e))
                at = ts(e["timestamp"])
                t_first[v] = min(t_first.get(v, at), at)
        elif t == "incident":
            for v in victims & set(e["incident"].get("hosts", [])):
                found[v].add("incident:" + e["incident"]["level"])
                at = ts(e["timestamp"])
                t_first[v] = min(t_first.get(v, at), at)
    scores = []  # (label, score, facetime-free) per flow
    for e in events:
        if e.get("event_type") != "flow":
            continue
        a, b = e.get("src_ip"), e.get("dest_ip")
        if victims or servers:
            mal = (a in victims and b in servers) or (b in victims and a in servers)
        else:
            mal = False
        eta = 0.9 * (e.get("eta") or {}).get("score", 0.0)
        by_flow = max(eta, flows_alerted.get(e.get("flow_id"), 0))
        by_pair = max(by_flow, pairs_alerted.get(frozenset((a, b)), 0))
        scores.append((mal, by_flow, by_pair))
    return {
        "found": {v: sorted(d) for v, d in found.items()},
        "delay": {v: (t_first[v] - first) if first is not None else None for v in t_first},
        "alerts": len(alerts),
        "alert_kinds": dict(collections.Counter(detector_of(e) for e in alerts)),
        "scores": scores,
    }


def roc(pos, neg):
    """ROC AUC (ties count half) and TPR at FPR <= 1e-3 (with whether the
    number of negatives makes 1e-3 measurable)."""
    if not pos or not neg:
        return float("nan"), float("nan"), False
    neg_sorted = sorted(neg)
    auc = 0.0
    for p in pos:
        lo = bisect.bisect_left(neg_sorted, p)
        hi = bisect.bisect_right(neg_sorted, p)
        auc += lo + 0.5 * (hi - lo)
    auc /= len(pos) * len(neg)
    allowed = int(len(neg) * 1e-3)  # negatives that may score above the threshold
    desc = sorted(neg, reverse=True)
    # the threshold: just above the (allowed+1)-th highest negative
    thr = desc[allowed] if allowed < len(desc) else -1
    tpr = sum(1 for p in pos if p > thr) / len(pos)
    return auc, tpr, len(neg) >= 1000


def main():
    args = parse_args()
    labelled = os.path.join(args.corpus, "labelled")
    rows = list(csv.DictReader(open(os.path.join(labelled, "labels.csv"))))
    model_of = {}
    if args.lofo:
        m = json.load(open(os.path.join(args.lofo, "metrics.json")))["leave_one_family_out"]
        files = {f["fold"]: f["model_file"] for f in m["per_family"]}
        for fold in m["per_fold"]:
            for src in fold["held_out_sources"]:
                model_of[os.path.basename(src)] = files[fold["fold"]]
    jobs, meta = [], []
    for r in rows:
        if args.only and not re.search(args.only, r["file"]):
            continue
        model = None
        if args.lofo:
            model = model_of.get(r["file"])
            if not model or not os.path.exists(model):
                sys.exit("evaluate-hosts: no held-out model for %s (%s)" % (r["file"], model))
        jobs.append((args.sensor, os.path.join(labelled, r["file"]), model, args.set))
        meta.append(("labelled", r))
    for sub in ("arkime", "ja4", "keylog", "behaviour", "stratosphere"):
        d = os.path.join(args.corpus, sub)
        if args.only:
            continue
        for root, _, files in os.walk(d):
            for f in sorted(files):
                if f.endswith((".pcap", ".pcapng", ".cap")):
                    jobs.append((args.sensor, os.path.join(root, f), None, args.set))
                    meta.append((sub, {"file": os.path.relpath(os.path.join(root, f), args.corpus)}))
    with multiprocessing.Pool(os.cpu_count() or 2) as pool:
        results = pool.map(run_sensor, jobs, 1)

    tot = collections.Counter()
    by_detector = collections.Counter()
    delays, pos, neg, neg_noft = [], [], [], []
    benign_alerting, attack_lines, per_capture = [], [], []
    for (where, r), events in zip(meta, results):
        if where == "labelled":
            victims = set(h for h in r["victim_hosts"].split(";") if h)
            servers = set(h for h in r["malicious_servers"].split(";") if h)
            j = judge(events, victims, servers)
            if r["label"] == "malicious":
                tot["victims"] += len(victims)
                tot["found"] += len(j["found"])
                tot["captures_malicious"] += 1
                tot["captures_caught"] += bool(j["found"])
                for dets in j["found"].values():
                    for d in set(x.split(":")[0] for x in dets):
                        by_detector[d] += 1
                delays += [d for d in j["delay"].values() if d is not None]
                pos += [(f, p) for m, f, p in j["scores"] if m]
                per_capture.append((r["file"], family_key(r["family"]), len(victims),
                                    j["found"], j["delay"], j["alert_kinds"]))
            else:
                tot["benign_labelled"] += 1
                neg += [(f, p) for m, f, p in j["scores"]]
                if r["file"] != "benign-facetime.pcap":
                    neg_noft += [(f, p) for m, f, p in j["scores"]]
                if j["alerts"]:
                    benign_alerting.append((r["file"], j["alert_kinds"]))
                    tot["benign_labelled_alerting"] += 1
        else:
            j = judge(events, set(), set())
            if where in ("behaviour", "stratosphere"):
                attack_lines.append((r["file"], j["alert_kinds"]))
                continue
            tot["benign_other"] += 1
            if j["alerts"]:
                benign_alerting.append((r["file"], j["alert_kinds"]))
                tot["benign_other_alerting"] += 1

    col = lambda xs, i: [x[i] for x in xs]
    auc, tpr, measurable = roc(col(pos, 1), col(neg, 1))
    auc2, tpr2, measurable2 = roc(col(pos, 1), col(neg_noft, 1))
    fauc, ftpr, _ = roc(col(pos, 0), col(neg, 0))
    fauc2, ftpr2, _ = roc(col(pos, 0), col(neg_noft, 0))
    benign_n = tot["benign_labelled"] + tot["benign_other"]
    benign_bad = tot["benign_labelled_alerting"] + tot["benign_other_alerting"]
    delays.sort()
    out = {
        "trained_models": "leave-one-family-out" if args.lofo else "in-sample (built-in model)",
        "infected_hosts": tot["victims"], "infected_hosts_found": tot["found"],
        "infected_captures": tot["captures_malicious"], "infected_captures_caught": tot["captures_caught"],
        "hosts_found_by_detector": dict(by_detector),
        "median_seconds_to_first_alert": delays[len(delays) // 2] if delays else None,
        "benign_captures": benign_n, "benign_captures_alerting": benign_bad,
        "benign_labelled": tot["benign_labelled"], "benign_labelled_alerting": tot["benign_labelled_alerting"],
        "benign_elsewhere": tot["benign_other"], "benign_elsewhere_alerting": tot["benign_other_alerting"],
        "flows_malicious": len(pos), "flows_benign": len(neg),
        "flow_auc": auc, "flow_tpr_at_fpr_1e-3": tpr, "fpr_1e-3_measurable": measurable,
        "flow_auc_without_facetime": auc2, "flow_tpr_at_fpr_1e-3_without_facetime": tpr2,
        "flow_only_auc": fauc, "flow_only_tpr_at_fpr_1e-3": ftpr,
        "flow_only_auc_without_facetime": fauc2, "flow_only_tpr_at_fpr_1e-3_without_facetime": ftpr2,
        "fpr_1e-3_measurable_without_facetime": measurable2,
        "captures": [{"file": f, "family": fam, "victims": nv, "found": found,
                      "seconds_to_first_alert": dl, "alerts": ak}
                     for f, fam, nv, found, dl, ak in per_capture],
        "benign_alerting": [{"file": f, "alerts": k} for f, k in benign_alerting],
        "attacks_elsewhere": [{"file": f, "alerts": k} for f, k in attack_lines],
    }
    if not args.quiet:
        print("%-32s %-22s %5s  %-40s %s" % ("capture", "family", "found", "by", "first alert after"))
        for f, fam, nv, found, dl, ak in per_capture:
            by = ",".join(sorted(set(d for v in found.values() for d in v)))
            first = min(dl.values()) if dl else None
            print("%-32s %-22s %2d/%-2d  %-40s %s" % (
                f[:32], fam[:22], len(found), nv, by[:40] or "-",
                "%.0f s" % first if first is not None else "-"))
        print()
        for f, k in benign_alerting:
            print("benign capture alerts: %s %s" % (f, k))
        for f, k in attack_lines:
            print("attack capture (not benign): %s %s" % (f, k or "no alert"))
        print()
    print("models: %s" % out["trained_models"])
    print("infected hosts found: %d of %d (%.1f%%); infected captures with a finding: %d of %d" % (
        tot["found"], tot["victims"], 100.0 * tot["found"] / max(1, tot["victims"]),
        tot["captures_caught"], tot["captures_malicious"]))
    print("hosts found per detector: %s" % ", ".join("%s %d" % kv for kv in by_detector.most_common()))
    if delays:
        print("time from first packet to first alert on a victim: median %.0f s" % delays[len(delays) // 2])
    print("benign captures with any alert: %d of %d (%.1f%% silent): labelled %d of %d, elsewhere %d of %d" % (
        benign_bad, benign_n, 100.0 * (benign_n - benign_bad) / max(1, benign_n),
        tot["benign_labelled_alerting"], tot["benign_labelled"],
        tot["benign_other_alerting"], tot["benign_other"]))
    print("flows: %d malicious, %d benign (%d without facetime)" % (len(pos), len(neg), len(neg_noft)))
    print("per flow, combined verdict on the pair: ROC AUC %.3f, TPR at FPR 1e-3 %.3f%s; without facetime: AUC %.3f, TPR %.3f%s" % (
        auc, tpr, "" if measurable else " (not measurable)", auc2, tpr2,
        "" if measurable2 else " (fewer than 1,000 benign flows: not measurable)"))
    print("per flow, alerts naming the flow only: ROC AUC %.3f, TPR at FPR 1e-3 %.3f; without facetime: AUC %.3f, TPR %.3f" % (
        fauc, ftpr, fauc2, ftpr2))
    if args.json:
        with open(args.json, "w") as fp:
            json.dump(out, fp, indent=1, sort_keys=True)


if __name__ == "__main__":
    main()
