#!/usr/bin/env python3
"""Conformance: DNS, HTTP and SMTP fields agree with Arkime's expected
sessions (../shared/corpus/arkime/NAME.test) where Arkime records the same
thing. Sessions are matched to nightjar's flows by Community ID (sessions
of one reused 5-tuple together); for each matched session these sets must
be equal (case-insensitively where Arkime lower-cases), both ways -- a
field Arkime leaves empty must be empty in nightjar's records too:
  dns     query names and types, response status, answer addresses
  http    Host values, methods, status codes, User-Agents, paths
  email   SMTP HELO, envelope and header addresses (Arkime's src/dst),
          subjects (decoded), Message-IDs, attachment names, MD5 and
          SHA-256 of attachments
and every DNS, HTTP and SMTP record nightjar writes must belong to a
session Arkime has that kind of data for. A missing arkime/ folder, an
expected file that does not parse, one whose capture is missing (unless it
lists no session) and a nightjar exit other than 0/1 are failures.

Arkime's HTTP body hashes are of the body before content decoding
(nightjar's, like tshark's objects, after), so they are not compared here;
app_fields.py compares HTTP objects with tshark's. Differences by design,
each named with its session in the output: Arkime writes the DNS root as
<root>, IDNs decoded (nightjar: "." and the xn-- wire form; compared after
decoding) and two response codes by other names (NOTIMPL, BADSIG_VERS);
lists interim 1xx statuses; keeps a request's path only with a Host header
and a CONNECT's authority only as its uri; keeps blanks nightjar drops in
subjects (folding between RFC 2047 encoded words, a second blank after the
colon); and records nothing for some things nightjar logs (GAPS below:
requests with RPC_IN_DATA/RPC_OUT_DATA, a request target with a space, a
response it did not parse, hashes of its overflow test, DNS messages
without a question). Sessions of protocols nightjar does not read
(SKIPPED: HTTP inside TLS/QUIC, HTTP/2, HTTP over SCTP, TLS inside OpenVPN,
mail over IMAP) are counted, not compared.
Usage: arkime_app.py [--subset] NIGHTJAR ARKIME_DIR
Exit 0 when everything agrees and the floors are met (--subset: no floors).
"""
import collections
import glob
import json
import os
import re
import sys
import tempfile

from common import Failure, finish, nightjar, options

# Floors for the whole corpus, measured (2026-11) on arkime/ (197 captures
# with their .test): 197 captures, 83 dns / 82 http / 26 email sessions
# compared, with 199 / 349 / 114 non-empty fields.
FLOORS = {"captures": (190, "measured 197"),
          "dns": (78, "measured 83"), "http": (78, "measured 82"), "email": (24, "measured 26"),
          "dns fields": (190, "measured 199"), "http fields": (330, "measured 349"),
          "email fields": (108, "measured 114")}

# Arkime's names for two response codes (RFC 6895 names the first NotImp,
# and code 16 is BADVERS in an EDNS answer, BADSIG in a TSIG one)
ARKIME_RCODE = {"NOTIMPL": "NOTIMP", "BADSIG_VERS": "BADVERS"}
RPC_METHODS = {"RPC_IN_DATA", "RPC_OUT_DATA"}


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
        by_cid = collections.defaultdict(list)
        # attachments' MD5 is compared: files.hashes "auto" (the default)
        # computes it only when a feed holds MD5s
        for e in nightjar(nj, pcap, os.path.join(tmp, "eve.json"),
                          ["--set", "files.hashes=md5,sha1,sha256"]):
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
    s = collections.defaultdict(set)
    for e in evs:
        if e["event_type"] != "dns":
            continue
        d = e["dns"]
        if "rrname" in d:  # Arkime's queryHost is the first question too
            s["query"].add((dns_name(d["rrname"]), d.get("rrtype", "")))
        if d["type"] == "answer":
            s["status"].add(d.get("rcode", ""))
            for a in d.get("answers", []) + d.get("authorities", []) + d.get("additionals", []):
                if a["rrtype"] in ("A", "AAAA") and a.get("rdata"):
                    s["ip"].add(a["rdata"])
    return s


def arkime_dns(b, want):
    for x in b.get("dns") or []:
        if "queryHost" in x and "qt" in x:
            want["query"].add((dns_name(x["queryHost"]), x["qt"]))
        if x.get("status"):
            want["status"].add(ARKIME_RCODE.get(x["status"], x["status"]))
        for a in x.get("answers", []):
            if a.get("type") in ("A", "AAAA") and "ip" in a:
                want["ip"].add(a["ip"])


def arkime_http(b, want):
    h = b["http"]
    want["host"] |= {hostname(x) for x in h.get("host", []) if x}
    want["method"] |= set(h.get("method", []))
    # Arkime lists interim 1xx statuses, nightjar the final one (101 is final)
    want["statuscode"] |= {c for c in h.get("statuscode", []) if not 100 <= c < 200 or c == 101}
    want["useragent"] |= {x for x in h.get("useragent", []) if x}
    want["path"] |= set(h.get("path", []))
    if not h.get("path"):
        # Arkime keeps the path only with a Host header (else its uri is the
        # path), and the authority of a CONNECT only as its uri
        want["path"] |= {u.split("?")[0] for u in h.get("uri", [])
                         if u.startswith("/") and not h.get("host") or "CONNECT" in h.get("method", [])}
    want["uri"] |= set(h.get("uri", []))


def arkime_email(b, want):
    m = b["email"]
    for k in ("smtpHello", "src", "dst"):
        want[k] |= lower(m.get(k, []))
    for k in ("subject", "id", "filename", "md5", "sha256"):
        want[k] |= {x for x in m.get(k, []) if x}


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
            s["url"].add(h["url"])
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


def compare(cid, want, got, problems, counts, kind, notes):
    """Every field of WANT equals nightjar's, both ways: a field Arkime left
    empty must be empty in nightjar too, unless a named reason says Arkime
    does not record it there."""
    counts[kind] += 1
    for field, values in want.items():
        mine = got.get(field, set())
        if not values and not mine:
            continue
        counts[kind + " fields"] += 1
        if set(values) == set(mine):
            continue
        if field == "subject" and {v.strip() for v in values} == mine:
            # "Subject:  x": Arkime drops one blank after the colon, nightjar all
            counts["subject_leading_blank"] += 1
            notes.append("subject_leading_blank: %s: arkime %s, nightjar %s"
                         % (cid, sorted(values), sorted(mine)))
            continue
        if field == "subject" and {re.sub(r"\s{2,}", "", v) for v in values} == mine:
            # Arkime keeps the folding blanks (CRLF SP SP -> two blanks)
            # between RFC 2047 encoded words; RFC 2047 section 6.2 (and
            # nightjar) drops them
            counts["subject_whitespace"] += 1
            notes.append("subject_whitespace: %s: arkime %s, nightjar %s"
                         % (cid, sorted(values), sorted(mine)))
            continue
        if field == "filename" and len(values) == len(mine) and all(
                any(v.startswith(m) and len(m) >= 255 for v in values) or m in values
                for m in mine):
            counts["long_filename"] += 1  # nightjar keeps 255 bytes of a name
            notes.append("long_filename: %s: %d names cut at 255 bytes"
                         % (cid, len(mine - values)))
            continue
        problems.append("%s %s %s: arkime %s, nightjar %s"
                        % (cid, kind, field, sorted(values), sorted(mine)))


def arkime_gaps(kind, want, got, protos):
    """Fields Arkime records nothing for, by design, in this session: a
    list of (reason, fields)."""
    gaps = []
    if kind == "http":
        if not want["method"] and got["method"] and got["method"] <= RPC_METHODS \
                and "rpc-over-http" in protos:
            # Arkime's HTTP parser drops a request whose method it does not
            # know (RPC over HTTP); it keeps the response
            gaps.append(("rpc_over_http_request", ("host", "method", "useragent", "path")))
        elif not want["method"] and want["uri"] and got["url"] and all(
                any(u.startswith(a + " ") for a in want["uri"]) for u in got["url"]):
            # a request target with a space: Arkime's uri stops at it and
            # it records no method or path
            gaps.append(("arkime_uri_with_space", ("method", "path")))
        if not want["statuscode"] and got["statuscode"] and want["method"]:
            gaps.append(("arkime_no_response", ("statuscode",)))
    if kind == "dns" and not want["status"] and not want["ip"] and want["query"] \
            and (got["status"] or got["ip"]):
        gaps.append(("arkime_no_response", ("status", "ip")))
    if kind == "email" and not want["md5"] and got["md5"] and \
            any(len(f) > 255 for f in want["filename"]):
        # Arkime hashes no part of a message whose attachment name is
        # longer than it keeps (its buffer-overflow test)
        gaps.append(("arkime_no_hash_long_name", ("md5", "sha256")))
    return gaps


def load_test(test):
    """Arkime's expected sessions; an expected file that does not parse is
    a failure, never a capture with nothing to compare."""
    try:
        with open(test) as fp:
            doc = json.load(fp)
    except (OSError, ValueError) as e:
        raise Failure("%s: unparsable expected file: %s" % (test, e))
    # sessions2 is the name older Arkime versions gave the same list
    sessions = doc.get("sessions3", doc.get("sessions2")) if isinstance(doc, dict) else None
    if not isinstance(sessions, list) or not all(
            isinstance(s, dict) and isinstance(s.get("body"), dict) for s in sessions):
        raise Failure("%s: unparsable expected file: no list of sessions with a body" % test)
    return [s["body"] for s in sessions]


SKIPPED = {
    "http_over_tls": "Arkime fills http.host from the TLS SNI or QUIC (tls_fingerprints "
                     "compares SNI); nightjar sees no HTTP inside",
    "http2": "HTTP/2 (prior knowledge or ALPN h2): nightjar parses HTTP/1.x",
    "http_over_sctp": "nightjar does not reassemble SCTP",
    "http_inside_openvpn": "Arkime reads the TLS inside OpenVPN (its SNI as http.host); "
                           "nightjar does not unwrap OpenVPN",
    "email_over_imap": "Arkime reads mail headers in IMAP; nightjar parses SMTP mail",
}


def skipped_session(b):
    """The name of a session Arkime reads that nightjar does not by design,
    or None."""
    protos = set(b.get("protocol", []))
    if b.get("email") and "imap" in protos and "smtp" not in protos:
        return "email_over_imap"
    if b.get("http"):
        if "sctp" in protos:
            return "http_over_sctp"
        if "openvpn" in protos:
            return "http_inside_openvpn"
        if "http2" in protos:
            return "http2"
        if protos & {"tls", "quic"} and set(b["http"]) <= {"host", "hostCnt"}:
            return "http_over_tls"
    return None


def main():
    subset, args = options(sys.argv[1:], "arkime_app.py [--subset] NIGHTJAR ARKIME_DIR")
    nj, d = args[0], args[1]
    if not os.path.isdir(d):
        print("FAIL %s is missing: Arkime's expected sessions are the reference of this test" % d)
        return 1
    counts, bad = collections.Counter(), 0
    tests = sorted(glob.glob(os.path.join(d, "*.test")))
    for test in tests:
        name = os.path.basename(test)
        problems, notes = [], []
        try:
            sessions = load_test(test)
            pcap = test[:-5] + ".pcap"
            if not os.path.exists(pcap):
                if sessions:
                    raise Failure("%s: %d expected sessions, no capture %s"
                                  % (test, len(sessions), os.path.basename(pcap)))
                counts["expected files without capture or session"] += 1
                print("by design: %s has no capture and lists no session" % name)
                continue
            by_cid = nightjar_events(nj, pcap)
        except Failure as e:
            bad += 1
            print("FAIL %s" % e)
            continue
        counts["captures"] += 1
        # sessions on one 5-tuple (a reused port) share a Community ID: their
        # fields together are what nightjar's records of that ID must show
        groups = collections.defaultdict(list)
        for b in sessions:
            why = skipped_session(b)
            cid = b.get("network", {}).get("community_id")
            if why:
                counts[why] += 1
                notes.append("%s: session %s (%s)" % (why, cid, ",".join(b.get("protocol", []))))
            groups[cid].append((b, why))
        for cid, group in groups.items():
            evs = by_cid.get(cid, [])
            protos = {p for b, _ in group for p in b.get("protocol", [])}
            for kind, read, mine in (("dns", arkime_dns, dns_sets), ("http", arkime_http, http_sets),
                                     ("email", arkime_email, email_sets)):
                has = [b for b, why in group if b.get(kind) and not why]
                if not has:
                    continue
                want = collections.defaultdict(set)
                for b in has:
                    read(b, want)
                got = mine(evs)
                if kind == "email" and not want["filename"]:
                    # Arkime hashes text parts too; nightjar extracts attachments
                    want["md5"] = want["sha256"] = got["md5"] = got["sha256"] = set()
                for why, fields in arkime_gaps(kind, want, got, protos):
                    counts[why] += 1
                    notes.append("%s: %s %s: nightjar's %s not compared (%s)" % (
                        why, cid, kind, ", ".join(fields),
                        "; ".join("%s=%s" % (f, sorted(got[f])) for f in fields if got[f])[:200]))
                    for f in fields:
                        want[f] = got[f] = set()
                want.pop("uri", None)
                got.pop("url", None)
                compare(cid, want, got, problems, counts, kind, notes)
        # the other way: every DNS, HTTP and SMTP record nightjar writes is
        # about a session Arkime has that kind of data for
        for cid, evs in by_cid.items():
            for kind, et in (("dns", "dns"), ("http", "http"), ("email", "smtp")):
                mine = [e for e in evs if e["event_type"] == et]
                if not mine or any(b.get(kind) for b, _ in groups.get(cid, [])):
                    continue
                if kind == "dns" and all("rrname" not in e["dns"] and "queries" not in e["dns"]
                                         for e in mine):
                    # Arkime makes a DNS session of a message with a question
                    counts["dns_without_question"] += len(mine)
                    notes.append("dns_without_question: %s: %d messages without a question"
                                 % (cid, len(mine)))
                    continue
                problems.append("%s: nightjar has %d %s records, Arkime no %s session"
                                % (cid, len(mine), et, kind))
        if problems:
            bad += 1
            print("DIFF %s" % name)
            for p in problems[:6]:
                print("  " + p[:400])
            if len(problems) > 6:
                print("  ... %d more" % (len(problems) - 6))
        for n in notes:
            print("  by design: %s: %s" % (name, n))
    print("arkime app fields: %d captures, %d dns / %d http / %d email sessions compared "
          "(%d / %d / %d non-empty fields); %d captures differ"
          % (counts["captures"], counts["dns"], counts["http"], counts["email"],
             counts["dns fields"], counts["http fields"], counts["email fields"], bad))
    print("by design: %d subjects equal but for the folding blanks Arkime keeps between RFC 2047 "
          "encoded words (RFC 2047 6.2 drops them); %d subjects with two blanks after the colon "
          "(Arkime drops one); %d file names longer than nightjar keeps (255 bytes); %d expected "
          "files without a capture that list no session"
          % (counts["subject_whitespace"], counts["subject_leading_blank"], counts["long_filename"],
             counts["expected files without capture or session"]))
    print("by design, what Arkime records nothing for: " + "; ".join(
        "%d %s (%s)" % (counts[k], k, v) for k, v in GAPS.items()))
    print("by design, sessions not compared: " + "; ".join(
        "%d %s (%s)" % (counts[k], k, v) for k, v in SKIPPED.items()))
    return finish("arkime_app", counts, FLOORS, subset, bad)


GAPS = {
    "rpc_over_http_request": "requests with RPC_IN_DATA/RPC_OUT_DATA, which Arkime's HTTP parser drops",
    "arkime_uri_with_space": "method and path of a request target with a space",
    "arkime_no_response": "responses Arkime did not parse (nightjar's and tshark's agree: app_fields)",
    "arkime_no_hash_long_name": "hashes of a message with an attachment name over 255 bytes",
    "dns_without_question": "DNS messages without a question",
}


if __name__ == "__main__":
    sys.exit(main())
