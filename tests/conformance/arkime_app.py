#!/usr/bin/env python3
"""Conformance: DNS, HTTP and SMTP fields agree with Arkime's expected
sessions (../shared/corpus/arkime/NAME.test) where Arkime records the same
thing. Sessions are matched to nightjar's flows by Community ID; for each
matched session these sets must be equal (case-insensitively where Arkime
lower-cases):
  dns     query names and types, response status, answer addresses
  http    Host values, methods, status codes, User-Agents, paths
  email   SMTP HELO, envelope and header addresses (Arkime's src/dst),
          subjects (decoded), Message-IDs, attachment names, MD5 and
          SHA-256 of attachments
Arkime's HTTP body hashes are of the body before content decoding
(nightjar's, like tshark's objects, after), so they are not compared here;
app_fields.py compares HTTP objects with tshark's. Differences by design:
Arkime writes the DNS root as <root> and IDNs decoded (nightjar: "." and
the xn-- wire form; compared after decoding), lists interim 1xx statuses,
fills http.host from TLS SNI (only cleartext HTTP sessions are compared),
and hashes text parts of mail (mail hashes are compared for messages with
attachments), keeps the blanks between RFC 2047 encoded words (compared
without blanks); HTTP over SCTP is not reassembled by nightjar.
Usage: arkime_app.py NIGHTJAR ARKIME_DIR.   Exit 0 when everything agrees.
"""
import collections
import glob
import json
import os
import subprocess
import sys
import tempfile

DNS_STATUS = {"NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP", "REFUSED"}


def lower(xs):
    return {x.lower() for x in xs if x}


def hostname(h):
    """Host without a port; Arkime keeps both forms, nightjar the header."""
    h = h.lower()
    if h.startswith("["):
        return h.split("]")[0] + "]"
    return h.rsplit(":", 1)[0] if h.count(":") == 1 else h


def nightjar_events(nj, pcap):
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "eve.json")
        subprocess.run([nj, "-q", "-r", pcap, "-o", out], capture_output=True)
        by_cid = collections.defaultdict(list)
        if os.path.exists(out):
            for line in open(out):
                e = json.loads(line)
                if "community_id" in e:
                    by_cid[e["community_id"]].append(e)
        return by_cid


def dns_name(n):
    """Arkime writes the root as <root> and IDNs decoded; nightjar keeps the
    wire form (xn--...)."""
    n = n.lower()
    if n in (".", "<root>"):
        return "<root>"
    try:
        return n.encode("ascii").decode("idna") if "xn--" in n else n
    except (UnicodeError, ValueError):
        return n


def dns_sets(evs):
    q, st, ips = set(), set(), set()
    for e in evs:
        if e["event_type"] != "dns":
            continue
        d = e["dns"]
        if "rrname" in d:
            q.add((dns_name(d["rrname"]), d.get("rrtype", "")))
        if d["type"] == "answer":
            st.add(d.get("rcode", ""))
            for a in d.get("answers", []) + d.get("authorities", []) + d.get("additionals", []):
                if a["rrtype"] in ("A", "AAAA") and a.get("rdata"):
                    ips.add(a["rdata"])
    return q, st, ips


def arkime_dns(b):
    q, st, ips = set(), set(), set()
    for x in b.get("dns") or []:
        if "queryHost" in x and "qt" in x:
            q.add((dns_name(x["queryHost"]), x["qt"]))
        if x.get("status") in DNS_STATUS:
            st.add(x["status"])
        for a in x.get("answers", []):
            if a.get("type") in ("A", "AAAA") and "ip" in a:
                ips.add(a["ip"])
    return q, st, ips


def http_sets(evs):
    s = collections.defaultdict(set)
    for e in evs:
        if e["event_type"] != "http":
            continue
        h = e["http"]
        if h.get("hostname"):
            s["host"].add(hostname(h["hostname"]))
        if h.get("http_method"):
            s["method"].add(h["http_method"])
        if "status" in h:
            s["statuscode"].add(h["status"])
        if h.get("http_user_agent"):
            s["useragent"].add(h["http_user_agent"])
        if h.get("url"):
            s["path"].add(h["url"].split("?")[0])
    return s


def email_sets(evs):
    s = collections.defaultdict(set)
    for e in evs:
        if e["event_type"] == "smtp":
            sm, em = e.get("smtp", {}), e.get("email", {})
            if sm.get("helo"):
                s["smtpHello"].add(sm["helo"].lower())
            for a in [sm.get("mail_from", ""), em.get("from", "")]:
                if a:
                    s["src"].add(a.lower())
            for a in sm.get("rcpt_to", []) + em.get("to", []) + em.get("cc", []):
                s["dst"].add(a.lower())
            if em.get("subject"):
                s["subject"].add(em["subject"])
            if em.get("message_id"):
                s["id"].add(em["message_id"])
            for n in em.get("attachment", []):
                if n:
                    s["filename"].add(n)
        if e["event_type"] == "fileinfo" and e.get("app_proto") == "smtp":
            s["md5"].add(e["fileinfo"]["md5"])
            s["sha256"].add(e["fileinfo"]["sha256"])
    return s


def squeeze(xs):
    return {"".join(x.split()) for x in xs}


def compare(name, want, got, problems, counts, kind):
    for field, values in want.items():
        if not values:
            continue
        counts[kind] += 1
        if field == "subject" and squeeze(values) == squeeze(got.get(field, set())):
            # Arkime keeps the folding blanks between RFC 2047 encoded words;
            # RFC 2047 section 6.2 (and nightjar) drops them
            counts["subject_whitespace"] += 1
            continue
        mine = got.get(field, set())
        if field == "filename" and len(values) == len(mine) and all(
                any(v.startswith(m) and len(m) >= 255 for v in values) or m in values
                for m in mine):
            counts["long_filename"] += 1  # nightjar keeps 255 bytes of a name
            continue
        if set(values) != set(mine):
            problems.append("%s %s: arkime %s, nightjar %s" % (kind, field, sorted(values),
                                                            sorted(got.get(field, set()))))


def main():
    nj, d = sys.argv[1], sys.argv[2]
    counts, bad, captures = collections.Counter(), 0, 0
    for test in sorted(glob.glob(os.path.join(d, "*.test"))):
        doc = json.load(open(test))
        sessions = [s["body"] for s in doc.get("sessions3", [])]
        if not any(b.get("dns") or b.get("http") or b.get("email") for b in sessions):
            continue
        captures += 1
        by_cid = nightjar_events(nj, test[:-5] + ".pcap")
        problems = []
        for b in sessions:
            cid = b.get("network", {}).get("community_id")
            evs = by_cid.get(cid, [])
            if b.get("dns"):
                aq, ast, aips = arkime_dns(b)
                nq, nst, nips = dns_sets(evs)
                compare(test, {"query": aq, "status": ast, "ip": aips},
                        {"query": nq, "status": nst, "ip": nips}, problems, counts, "dns")
            protos = set(b.get("protocol", []))
            if b.get("http") and "http" in protos and not protos & {"tls", "quic", "http2", "sctp"}:
                # Arkime also fills http.host from TLS SNI and QUIC; compare
                # only cleartext HTTP/1.x sessions
                h = b["http"]
                want = {"host": {hostname(x) for x in h.get("host", []) if x},
                        "method": set(h.get("method", [])),
                        # Arkime lists interim 1xx statuses, nightjar the final one
                        "statuscode": {c for c in h.get("statuscode", []) if not 100 <= c < 200},
                        "useragent": {x for x in h.get("useragent", []) if x},
                        "path": set(h.get("path", []))}
                compare(test, want, http_sets(evs), problems, counts, "http")
            if b.get("email") and "smtp" in b.get("protocol", []):
                m = b["email"]
                want = {k: (lower(m.get(k, [])) if k in ("src", "dst", "smtpHello")
                            else {x for x in m.get(k, []) if x})
                        for k in ("smtpHello", "src", "dst", "subject", "id", "filename", "md5", "sha256")}
                if not m.get("filename"):
                    # Arkime hashes text parts too; nightjar extracts attachments
                    want["md5"] = want["sha256"] = set()
                compare(test, want, email_sets(evs), problems, counts, "email")
        if problems:
            bad += 1
            print("DIFF %s" % os.path.basename(test))
            for p in problems[:6]:
                print("  " + p[:400])
    print("arkime app fields: %d captures, %d dns / %d http / %d email field sets compared; "
          "%d captures differ" % (captures, counts["dns"], counts["http"], counts["email"], bad))
    print("by design: %d subjects equal but for the blanks between encoded words (RFC 2047 6.2); "
          "%d file names longer than nightjar keeps (255 bytes)"
          % (counts["subject_whitespace"], counts["long_filename"]))
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
