#!/bin/sh
# benign_silence.sh -- the false-positive side: the sensor with its default
# settings over every capture ../shared/corpus/labelled/labels.csv calls
# benign (browsers, QUIC, video calls, messaging, SSH, RDP, VPNs, IoT,
# cloud databases, Windows Update, mail, DNS ...) raises no alert and opens
# no incident.
#
# One exception, named and scoped to what it excuses: benign-dns.pcap is a
# collection of DNS traffic "of many kinds", and three of its conversations
# are DNS tunnels (dns2tcp under tunnel.phd, iodine under pirate.sea --
# iodine's documented example domain, NULL records --, dnscat2 under
# dnscat.): the
# dns_tunnel alerts about exactly those are expected, printed, and any
# other alert in that capture still fails. At least 30 benign captures
# must be read (the corpus only grows).
set -eu
. "$(dirname "$0")/lib/common.sh"
corpus=${NIGHTJAR_CORPUS:-$root/../shared/corpus}
[ -f "$corpus/labelled/labels.csv" ] ||
    skip "$corpus/labelled is missing (the public captures this test reads)"
python3 - "$NJ" "$corpus/labelled" <<'PY' || fail "an alert on benign traffic"
import csv, json, os, subprocess, sys
nj, d = sys.argv[1], sys.argv[2]
EXPECTED = {  # capture -> (finding, a name the alert's evidence must show)
    "benign-dns.pcap": [("dns_tunnel", "tunnel.phd"), ("dns_tunnel", "pirate.sea"),
                        ("dns_tunnel", "dnscat.")],
}
rows = [r for r in csv.DictReader(open(os.path.join(d, "labels.csv"))) if r["label"] == "benign"]
bad, excused, n = [], [], 0
for r in rows:
    p = subprocess.run([nj, "-q", "-r", os.path.join(d, r["file"]), "-o", "-"],
                       capture_output=True, text=True)
    if p.returncode != 0:
        sys.exit("%s: nightjar exited %d: %s" % (r["file"], p.returncode, p.stderr[-300:]))
    n += 1
    for line in p.stdout.splitlines():
        e = json.loads(line)
        if e["event_type"] == "alert":
            x = (e.get("nightjar") or {}).get("evidence") or {}
            what = x.get("finding") or x.get("kind") or e["alert"]["signature"]
            ok = [w for w in EXPECTED.get(r["file"], [])
                  if w[0] == what and w[1] in x.get("detail", "")]
            (excused if ok else bad).append((r["file"], e["alert"]["signature"],
                                             x.get("detail", "")[:160]))
        elif e["event_type"] == "incident" and e["incident"]["state"] == "opened":
            if not all(k in ("dns_tunnel",) for k in e["incident"]["evidence"]) or \
                    r["file"] not in EXPECTED:
                bad.append((r["file"], "incident", ",".join(e["incident"]["evidence"])))
for f, sig, det in excused:
    print("EXPECTED %s: %s -- %s" % (f, sig, det))
for f, sig, det in bad:
    print("ALERT %s: %s -- %s" % (f, sig, det))
print("%d benign captures read, %d alerts (%d expected, named above)" % (
    n, len(bad) + len(excused), len(excused)))
if n < 30:
    sys.exit("fewer benign captures than the 30 this test was written for")
sys.exit(1 if bad else 0)
PY
