#!/usr/bin/env python3
"""mta_check.py -- what nightjar-mta delivered to the test's next hop
(mta_sink.py's DIR: msg-N.eml, msg-N.json) and what it logged (EVE).
A message is found by a MARKER, a string only it holds (its Subject).
Mismatches are printed as "FAIL: ..." lines (all of them); exit 1 then.

  wait DIR SECONDS MARKER...     each MARKER arrives within SECONDS
  absent DIR MARKER...           no message holds any MARKER
  clean DIR MARKER SENT          delivered once: the line
                                 "X-Nightjar-Verdict: clean" CRLF, then the
                                 bytes of SENT exactly
  tagged DIR MARKER SENT         delivered once: "X-Nightjar-Verdict:
                                 malicious" and a non-empty
                                 "X-Nightjar-Reason:" at the top, then SENT
  attachment DIR MARKER FILE [NAME]
                                 delivered once; its MIME part named NAME
                                 (FILE's name), decoded, is FILE's bytes
  rcpts DIR MARKER FIRST N       the envelope recipients of its deliveries
                                 are rcpt-FIRST.. rcpt-(FIRST+N-1)@rcpt.nightjar.test
  envelope DIR MARKER RCPT...    the envelope recipients are exactly RCPT...
  quarantined QDIR MARKER...     a file under QDIR (the queue's
                                 quarantine/) holds each MARKER
  eve EVE EXPECT                 the EVE records against EXPECT's lines:
      msg NAME VERDICT ACTION QID   one smtp record (mta.verdict, mta.action,
                                    mta.queue_id QID, or none when QID is -);
                                    a delivered mta_delivery record for QID
                                    when ACTION is deliver or tag, none for
                                    quarantine
      maybe NAME VERDICT ACTION [N] at most one (N) such smtp record (either
                                    may be *): a refusal that may be logged;
                                    those naming both are matched first
      alert NAME TEXT               an alert record holding TEXT
      noalerts                      no alert record at all
    The smtp records of received messages (those with mta.verdict) must
    be exactly the msg lines (and maybe lines): one per message.

  tls EVE QID VERSION             the smtp record of QID says it came over
                                 TLS VERSION ("TLS 1.3": tls.version, a
                                 tls.cipher, smtp.starttls), or, with
                                 VERSION none, in the clear (neither)
  delivery EVE QID STATUS VERSION VERIFIED [TEXT]
                                 an mta_delivery record of QID with STATUS
                                 (delivered, deferred, ...), over TLS
                                 VERSION (none: in the clear) with
                                 tls.verified VERIFIED (yes, no, - for
                                 either), whose reply holds TEXT; for a
                                 status other than delivered, no record
                                 says delivered
  stats EVE NAME>=N|NAME==N...   the last stats record's counters (dotted
                                 names under "stats")
  sink_tls DIR MARKER VERSION    the message was delivered once, over
                                 Python's TLS VERSION ("TLSv1.3"; none: in
                                 the clear), as the sink's envelope says

SENT is a message's exact bytes; a file ending in CRLF "." CRLF (as
swaks --data takes it) is the message before that dot line.

DIR may also be a Maildir that Postfix's virtual delivery agent writes
(it has new/; tests/e2e/lib/postfix.sh): each message there must begin
with the headers Postfix adds, in its order -- Return-Path, X-Original-To,
Delivered-To and its one Received line (folded) "by postfix.nightjar.test
(Postfix)" -- which are taken off, and its LF line ends are read as CRLF;
what is left is what nightjar-mta handed to Postfix. The envelope is
Return-Path and Delivered-To.
"""
import email
import email.policy
import json
import os
import re
import sys
import time

fails = []


def fail(what):
    if what in fails:  # a check that polls finds the same thing again
        return
    fails.append(what)
    print("FAIL: %s" % what, flush=True)


POSTFIX_ADDS = (b"return-path:", b"x-original-to:", b"delivered-to:", b"received:")


def unwrap_postfix(name, data):
    """(what Postfix was handed as CRLF bytes, envelope) of a Maildir file."""
    lines = data.split(b"\n")
    heads, i = [], 0
    for want in POSTFIX_ADDS:
        if i >= len(lines) or not lines[i].lower().startswith(want):
            fail("%s: header %d is %r, expected %s as Postfix's virtual delivery adds it"
                 % (name, len(heads) + 1, lines[i][:60] if i < len(lines) else b"",
                    want.decode()))
            return data, {"mail_from": "", "rcpt_to": []}
        h = lines[i]
        i += 1
        while i < len(lines) and lines[i][:1] in (b" ", b"\t"):
            h += b" " + lines[i].strip()
            i += 1
        heads.append(h)
    if b"by postfix.nightjar.test (Postfix)" not in heads[3]:
        fail("%s: its Received line is not the test's Postfix's: %r" % (name, heads[3][:160]))

    def value(h):
        return h.split(b":", 1)[1].strip().strip(b"<>").decode("utf-8", "replace")
    env = {"mail_from": value(heads[0]), "rcpt_to": [value(heads[2])]}
    return b"\r\n".join(lines[i:]), env


def maildir(d):
    out = []
    for sub in ("new", "cur"):
        p = os.path.join(d, sub)
        for name in sorted(os.listdir(p)) if os.path.isdir(p) else []:
            with open(os.path.join(p, name), "rb") as f:
                data, env = unwrap_postfix(name, f.read())
            out.append((len(out), data, env))
    return out


def sink(d):
    """[(number, bytes, envelope)] of every whole message in d."""
    if os.path.isdir(os.path.join(d, "new")) or not os.path.isdir(d):
        return maildir(d)
    out = []
    for name in os.listdir(d):
        m = re.match(r"^msg-(\d+)\.json$", name)
        if not m:
            continue
        n = int(m.group(1))
        with open(os.path.join(d, "msg-%d.eml" % n), "rb") as f:
            data = f.read()
        with open(os.path.join(d, name)) as f:
            env = json.load(f)
        out.append((n, data, env))
    return sorted(out, key=lambda t: t[0])


def holding(d, marker):
    mk = marker.encode()
    return [t for t in sink(d) if mk in t[1]]


def sent_bytes(path):
    data = open(path, "rb").read()
    if data.endswith(b"\r\n.\r\n"):
        data = data[:-3]
    return data


def once(d, marker):
    found = holding(d, marker)
    if len(found) != 1:
        fail("%s: delivered %d times, expected once" % (marker, len(found)))
    return found[0] if found else None


def first_diff(a, b):
    n = next((i for i in range(min(len(a), len(b))) if a[i] != b[i]), min(len(a), len(b)))
    return "differs at byte %d of %d (sent %d): got %r, sent %r" % (
        n, len(a), len(b), a[max(0, n - 20):n + 20], b[max(0, n - 20):n + 20])


def added_headers(data):
    """The X-Nightjar-* header lines at the top (with their folded lines)
    and the rest."""
    lines = data.split(b"\r\n")
    i = 0
    heads = []
    while i < len(lines) and lines[i].lower().startswith(b"x-nightjar-"):
        h = lines[i]
        i += 1
        while i < len(lines) and lines[i][:1] in (b" ", b"\t"):
            h += b"\r\n" + lines[i]
            i += 1
        heads.append(h)
    return heads, b"\r\n".join(lines[i:])


def cmd_wait(d, secs, markers):
    end = time.time() + float(secs)
    while True:
        got = sink(d)
        missing = [m for m in markers if not any(m.encode() in t[1] for t in got)]
        if not missing:
            return
        if time.time() > end:
            for m in missing:
                fail("%s: not delivered to the next hop within %s s" % (m, secs))
            return
        time.sleep(0.2)


def cmd_absent(d, markers):
    for m in markers:
        found = holding(d, m)
        if found:
            fail("%s: delivered to the next hop (%s), expected not" % (
                m, ", ".join("msg-%d" % t[0] for t in found)))


def cmd_clean(d, marker, sent):
    t = once(d, marker)
    if not t:
        return
    want = sent_bytes(sent)
    head = b"X-Nightjar-Verdict: clean\r\n"
    if not t[1].startswith(head):
        fail("%s: does not begin with %r: %r" % (marker, head, t[1][:80]))
        return
    if t[1][len(head):] != want:
        fail("%s: after the added header, not byte-identical to what was sent: %s"
             % (marker, first_diff(t[1][len(head):], want)))


def cmd_tagged(d, marker, sent):
    t = once(d, marker)
    if not t:
        return
    heads, rest = added_headers(t[1])
    verdicts = [h for h in heads if h.lower().startswith(b"x-nightjar-verdict:")]
    reasons = [h for h in heads if h.lower().startswith(b"x-nightjar-reason:")]
    if [v.split(b":", 1)[1].strip() for v in verdicts] != [b"malicious"]:
        fail("%s: tagged, expected one \"X-Nightjar-Verdict: malicious\" at the top, got %r"
             % (marker, heads or t[1][:80]))
    if len(reasons) != 1 or not reasons[0].split(b":", 1)[1].strip():
        fail("%s: tagged, expected one non-empty X-Nightjar-Reason at the top, got %r"
             % (marker, heads or t[1][:80]))
    else:
        print("%s: %s" % (marker, reasons[0].decode("utf-8", "replace")))
    want = sent_bytes(sent)
    if rest != want:
        fail("%s: after the added headers, not byte-identical to what was sent: %s"
             % (marker, first_diff(rest, want)))


def defang(data, host):
    """What the strip action makes of a listed URL: hxxp, the host's dots
    bracketed."""
    return data.replace(b"http://" + host, b"hxxp://" + host.replace(b".", b"[.]"))


def cmd_stripped(d, marker, sent, name, removed, kept, host):
    """The mail delivered once, tagged malicious; the part named `name`
    (whose decoded bytes were `removed`) replaced by a note naming it, the
    URLs of `host` defanged ("-": none to defang), every other byte as
    sent: the part `kept` decodes to what was attached ("-": none), and the whole
    parses as MIME with no defect."""
    t = once(d, marker)
    if not t:
        return
    heads, rest = added_headers(t[1])
    verdicts = [h.split(b":", 1)[1].strip() for h in heads
                if h.lower().startswith(b"x-nightjar-verdict:")]
    if verdicts != [b"malicious"]:
        fail("%s: stripped, expected \"X-Nightjar-Verdict: malicious\" at the top, got %r"
             % (marker, heads))
    want = sent_bytes(sent)
    host = b"" if host == "-" else host.encode()
    # the part: from after its delimiter line to the next delimiter
    at = max(want.find(b'name="' + name.encode() + b'"'),
             want.find(b'filename="' + name.encode() + b'"'))
    line = want.rfind(b"\r\n--", 0, at)
    start = want.find(b"\r\n", line + 2) + 2 if at >= 0 and line >= 0 else -1
    end = want.find(b"\r\n--", at) if start > 0 else -1
    if start < 0 or end < 0:
        fail("%s: the sent message has no part named %s" % (marker, name))
        return
    head, tail = (defang(want[:start], host) if host else want[:start]), want[end:]
    if not rest.startswith(head):
        fail("%s: before the stripped part, not what was sent (URLs defanged): %s"
             % (marker, first_diff(rest[:len(head)], head)))
    if not rest.endswith(tail):
        fail("%s: after the stripped part, not what was sent: %s"
             % (marker, first_diff(rest[len(rest) - len(tail):], tail)))
    if host and (b"http://" + host in rest or
                 b"hxxp://" + host.replace(b".", b"[.]") not in rest):
        fail("%s: the URLs of %s are not defanged" % (marker, host.decode()))
    msg = email.message_from_bytes(rest, policy=email.policy.default)
    defects = list(msg.defects) + [x for p in msg.walk() for x in p.defects]
    if defects:
        fail("%s: the stripped mail does not parse cleanly: %r" % (marker, defects))
    leaves = [p for p in msg.walk() if not p.is_multipart()]
    blobs = [p.get_payload(decode=True) or b"" for p in leaves]
    if any(removed in b for b in blobs):
        fail("%s: the removed part's bytes are still in the mail" % marker)
    notes = [b for b in blobs if name.encode() in b and b"removed" in b]
    if len(notes) != 1:
        fail("%s: expected one text part naming %s as removed, got %d" % (marker, name, len(notes)))
    else:
        print("%s: %s" % (marker, notes[0].decode("utf-8", "replace").strip()[:200]))
    if kept == "-":
        return
    kept_name = os.path.basename(kept)
    att = [p for p in leaves if p.get_filename() == kept_name]
    if len(att) != 1 or att[0].get_payload(decode=True) != open(kept, "rb").read():
        fail("%s: the attachment %s did not arrive byte-identical" % (marker, kept_name))


def cmd_bounce(d, marker, sender, failed, status):
    """One delivery status notification about the mail marked `marker`:
    from the null sender to `sender`, a multipart/report of report-type
    delivery-status that parses without defect, its message/delivery-status
    naming `failed` with Action: failed and Status `status`, and the failed
    mail's header (its marker) as text/rfc822-headers."""
    found = [t for t in sink(d) if t[2].get("mail_from") == "" and
             b"text/rfc822-headers" in t[1] and marker.encode() in t[1]]
    if len(found) != 1:
        fail("%s: %d bounces, expected 1" % (marker, len(found)))
        return
    n, data, env = found[0]
    if env.get("rcpt_to") != [sender]:
        fail("%s: the bounce went to %r, expected [%r]" % (marker, env.get("rcpt_to"), sender))
    heads, rest = added_headers(data)
    msg = email.message_from_bytes(rest, policy=email.policy.default)
    defects = list(msg.defects) + [x for p in msg.walk() for x in p.defects]
    if defects:
        fail("%s: the bounce does not parse cleanly: %r" % (marker, defects))
    if msg.get_content_type() != "multipart/report" or \
            msg.get_param("report-type") != "delivery-status":
        fail("%s: the bounce is %s, expected multipart/report; report-type=delivery-status"
             % (marker, msg.get("Content-Type")))
        return
    parts = msg.get_payload()
    types = [p.get_content_type() for p in parts]
    if types != ["text/plain", "message/delivery-status", "text/rfc822-headers"]:
        fail("%s: the bounce's parts are %r" % (marker, types))
        return
    # message/delivery-status: groups of fields, the per-message one first
    groups = parts[1].get_payload()
    fields = [dict((k.lower(), str(v)) for k, v in g.items()) for g in groups]
    per_rcpt = [g for g in fields[1:] if g.get("final-recipient", "").endswith(failed)]
    if len(per_rcpt) != 1:
        fail("%s: the delivery status names %r, expected %s"
             % (marker, [g.get("final-recipient") for g in fields[1:]], failed))
        return
    g = per_rcpt[0]
    if g.get("action") != "failed" or g.get("status") != status:
        fail("%s: Action %r Status %r, expected failed %s" % (marker, g.get("action"),
                                                              g.get("status"), status))
    if "reporting-mta" not in fields[0]:
        fail("%s: no Reporting-MTA in the delivery status" % marker)
    hdrs = parts[2].get_payload(decode=True) or parts[2].get_content().encode()
    if marker.encode() not in hdrs:
        fail("%s: the failed mail's header is not in the bounce" % marker)
    print("%s: bounce msg-%d: %s" % (marker, n, g.get("diagnostic-code", "")))


def cmd_count(d, marker, want):
    """Exactly `want` messages holding marker (bounces included)."""
    n = len(holding(d, marker))
    if n != int(want):
        fail("%s: %d messages hold it, expected %s" % (marker, n, want))


def cmd_attachment(d, marker, path, name=None):
    t = once(d, marker)
    if not t:
        return
    want = open(path, "rb").read()
    msg = email.message_from_bytes(t[1], policy=email.policy.compat32)
    name = name or os.path.basename(path)
    parts = [p for p in msg.walk() if not p.is_multipart() and p.get_filename() == name]
    if len(parts) != 1:
        fail("%s: %d MIME parts named %s, expected 1" % (marker, len(parts), name))
        return
    got = parts[0].get_payload(decode=True) or b""
    if got != want:
        fail("%s: the attachment %s decoded is not what was attached: %s"
             % (marker, name, first_diff(got, want)))


def rcpts_of(d, marker):
    found = holding(d, marker)
    if not found:
        fail("%s: not delivered" % marker)
    got = []
    for t in found:
        got += t[2]["rcpt_to"]
    return found, got


def cmd_rcpts(d, marker, first, n):
    found, got = rcpts_of(d, marker)
    want = ["rcpt-%03d@rcpt.nightjar.test" % i for i in range(first, first + n)]
    if found and sorted(got) != sorted(want):
        extra = sorted(set(got) - set(want))
        missing = sorted(set(want) - set(got))
        fail("%s: delivered to %d recipients in %d deliveries, expected the %d accepted "
             "(missing %s, extra %s, duplicated %d)" % (
                 marker, len(got), len(found), n, missing[:5], extra[:5],
                 len(got) - len(set(got))))


def cmd_envelope(d, marker, want):
    found, got = rcpts_of(d, marker)
    if found and sorted(got) != sorted(want):
        fail("%s: delivered to %s, expected %s" % (marker, got, want))


def cmd_quarantined(qdir, markers):
    blobs = []
    for base, _, files in os.walk(qdir):
        for f in files:
            with open(os.path.join(base, f), "rb") as fh:
                blobs.append(fh.read())
    for m in markers:
        if not any(m.encode() in b for b in blobs):
            fail("%s: not in %s (%d files there)" % (m, qdir, len(blobs)))


def find_key(obj, key):
    """Every value of key anywhere in obj."""
    out = []
    if isinstance(obj, dict):
        for k, v in obj.items():
            if k == key:
                out.append(v)
            out += find_key(v, key)
    elif isinstance(obj, list):
        for v in obj:
            out += find_key(v, key)
    return out


def cmd_eve(path, expect):
    recs = []
    try:
        lines = open(path, "rb").read().splitlines()
    except OSError as e:
        fail("EVE: %s" % e)
        return
    for i, l in enumerate(lines, 1):
        try:
            recs.append(json.loads(l))
        except ValueError:
            fail("EVE line %d is not JSON: %r" % (i, l[:120]))
    msgs, maybes, alerts, noalerts = [], [], [], False
    for l in open(expect):
        w = l.split()
        if not w:
            continue
        if w[0] == "msg":
            msgs.append(w[1:5])
        elif w[0] == "maybe":
            maybes.append((w[1], w[2], w[3], int(w[4]) if len(w) > 4 else 1))
        elif w[0] == "alert":
            alerts.append((w[1], " ".join(w[2:])))
        elif w[0] == "noalerts":
            noalerts = True

    def mta(r):
        return r.get("mta") if isinstance(r.get("mta"), dict) else {}

    smtp = [r for r in recs if r.get("event_type") == "smtp" and "verdict" in mta(r)
            and "delivery" not in mta(r)]
    deliveries = [r for r in recs if r.get("event_type") == "mta_delivery" or
                  (r.get("event_type") == "smtp" and "delivery" in mta(r))]
    alert_recs = [r for r in recs if r.get("event_type") == "alert"]
    print("EVE %s: %d records, %d smtp (received messages), %d deliveries, %d alerts" % (
        os.path.basename(path), len(recs), len(smtp), len(deliveries), len(alert_recs)))

    for r in smtp:
        m = mta(r)
        # unjudged / refuse: a message refused before it could be judged
        # (over mta.max-size, a 451), as docs/mta.md says
        if m.get("verdict") not in ("clean", "malicious", "unjudged"):
            fail("EVE: smtp record with mta.verdict %r" % m.get("verdict"))
        if m.get("action") not in ("deliver", "reject", "quarantine", "tag", "strip",
                                   "refuse"):
            fail("EVE: smtp record with mta.action %r" % m.get("action"))
    for r in deliveries:
        st = [s for s in find_key(r, "status") if s in ("delivered", "deferred", "failed")]
        if not st:
            fail("EVE: a delivery record without status delivered|deferred|failed: %s"
                 % json.dumps(r)[:300])

    unmatched = list(smtp)
    for name, verdict, action, qid in msgs:
        if qid != "-":
            mine = [r for r in smtp if mta(r).get("queue_id") == qid]
            if len(mine) != 1:
                fail("EVE: %s (queued as %s): %d smtp records with that mta.queue_id, "
                     "expected 1" % (name, qid, len(mine)))
        else:
            mine = [r for r in unmatched if mta(r).get("verdict") == verdict and
                    mta(r).get("action") == action]
            if not mine:
                fail("EVE: %s: no smtp record with mta.verdict %s, mta.action %s"
                     % (name, verdict, action))
            elif mta(mine[0]).get("queue_id"):
                qid = str(mta(mine[0]).get("queue_id"))   # what it names must not go out
        for r in mine[:1]:
            got = (mta(r).get("verdict"), mta(r).get("action"))
            if got != (verdict, action):
                fail("EVE: %s: mta.verdict %s, mta.action %s; expected %s, %s"
                     % (name, got[0], got[1], verdict, action))
            if r in unmatched:
                unmatched.remove(r)
        if qid == "-":
            continue
        delivered = [r for r in deliveries
                     if (qid in find_key(r, "queue_id") or
                         (not find_key(r, "queue_id") and qid in json.dumps(r)))
                     and "delivered" in find_key(r, "status")]
        if action in ("deliver", "tag") and not delivered:
            fail("EVE: %s (queued as %s): no delivery record with status delivered"
                 % (name, qid))
        if action in ("quarantine", "reject") and delivered:
            fail("EVE: %s (queued as %s, %s): a delivery record says delivered"
                 % (name, qid, action))
    for name, verdict, action, most in sorted(maybes, key=lambda m: m[1:3].count("*")):
        mine = [r for r in unmatched if verdict in ("*", mta(r).get("verdict")) and
                action in ("*", mta(r).get("action"))]
        if len(mine) > most:
            fail("EVE: %s: %d smtp records with verdict %s, action %s, expected at most %d"
                 % (name, len(mine), verdict, action, most))
        for r in mine[:most]:
            unmatched.remove(r)
    for r in unmatched:
        fail("EVE: an smtp record of no message sent (or a second one): %s"
             % json.dumps(r)[:300])
    for name, text in alerts:
        if not any(text.lower() in json.dumps(r).lower() for r in alert_recs):
            fail("EVE: %s: no alert record mentions %s" % (name, text))
    if noalerts and alert_recs:
        fail("EVE: %d alert records, expected none (only clean mail): %s"
             % (len(alert_recs), json.dumps(alert_recs[0])[:300]))


def eve_records(path):
    recs = []
    for l in open(path, "rb").read().splitlines():
        try:
            recs.append(json.loads(l))
        except ValueError:
            pass
    return recs


def cmd_tls(path, qid, version):
    mine = [r for r in eve_records(path) if r.get("event_type") == "smtp" and
            isinstance(r.get("mta"), dict) and r["mta"].get("queue_id") == qid]
    if len(mine) != 1:
        fail("EVE: %d smtp records for %s, expected 1" % (len(mine), qid))
        return
    r = mine[0]
    tls = r.get("tls")
    starttls = (r.get("smtp") or {}).get("starttls")
    if version == "none":
        if tls is not None or starttls:
            fail("EVE: %s came in the clear, its record says tls %s, smtp.starttls %s"
                 % (qid, tls, starttls))
        return
    if not isinstance(tls, dict) or tls.get("version") != version:
        fail("EVE: %s: tls %s, expected version %s" % (qid, json.dumps(tls), version))
    elif not tls.get("cipher"):
        fail("EVE: %s: tls without a cipher: %s" % (qid, json.dumps(tls)))
    if starttls is not True:
        fail("EVE: %s: smtp.starttls is %s, expected true" % (qid, starttls))


def cmd_delivery(path, qid, status, version, verified, text=None):
    recs = [r["mta_delivery"] for r in eve_records(path)
            if r.get("event_type") == "mta_delivery" and
            r.get("mta_delivery", {}).get("queue_id") == qid]
    mine = [d for d in recs if d.get("status") == status]
    if status != "delivered" and any(d.get("status") == "delivered" for d in recs):
        fail("EVE: %s was delivered, expected %s only: %s" % (qid, status, json.dumps(recs)[:400]))
    if not mine:
        fail("EVE: no mta_delivery record of %s says %s (%s)" % (
            qid, status, "; ".join("%s: %s" % (d.get("status"), d.get("reply")) for d in recs)
            or "none at all"))
        return
    d = mine[-1]
    tls = d.get("tls")
    if version == "none":
        if tls is not None:
            fail("EVE: %s %s in the clear, but its record says tls %s" % (qid, status, tls))
    elif not isinstance(tls, dict) or tls.get("version") != version or not tls.get("cipher"):
        fail("EVE: %s %s: tls %s, expected version %s and a cipher" % (
            qid, status, json.dumps(tls), version))
    elif verified != "-" and tls.get("verified") is not (verified == "yes"):
        fail("EVE: %s %s: tls.verified %s, expected %s" % (qid, status, tls.get("verified"),
                                                           verified))
    if text and text.lower() not in str(d.get("reply", "")).lower():
        fail("EVE: %s %s: reply %r does not say %r" % (qid, status, d.get("reply"), text))
    else:
        print("EVE: %s %s: %s" % (qid, status, d.get("reply")))


def cmd_stats(path, exprs):
    stats = [r for r in eve_records(path) if r.get("event_type") == "stats"]
    if not stats:
        fail("EVE: no stats record")
        return
    st = stats[-1].get("stats", {})
    for e in exprs:
        m = re.match(r"^([\w.]+)(>=|==)(\d+)$", e)
        if not m:
            fail("stats: cannot read %r" % e)
            continue
        v = st
        for k in m.group(1).split("."):
            v = v.get(k) if isinstance(v, dict) else None
        n = int(m.group(3))
        if not isinstance(v, int) or (v < n if m.group(2) == ">=" else v != n):
            fail("stats: %s is %s, expected %s%d" % (m.group(1), v, m.group(2), n))


def cmd_sink_tls(d, marker, version):
    t = once(d, marker)
    if not t:
        return
    tls = t[2].get("tls")
    got = tls.get("version") if isinstance(tls, dict) else "none"
    if got != version:
        fail("%s: the next hop took it over TLS %s, expected %s" % (marker, got, version))


def main(a):
    what = a[1]
    if what == "wait":
        cmd_wait(a[2], a[3], a[4:])
    elif what == "absent":
        cmd_absent(a[2], a[3:])
    elif what == "clean":
        cmd_clean(a[2], a[3], a[4])
    elif what == "tagged":
        cmd_tagged(a[2], a[3], a[4])
    elif what == "stripped":
        cmd_stripped(a[2], a[3], a[4], a[5], open(a[6], "rb").read(), a[7], a[8])
    elif what == "bounce":
        cmd_bounce(a[2], a[3], a[4], a[5], a[6])
    elif what == "count":
        cmd_count(a[2], a[3], a[4])
    elif what == "attachment":
        cmd_attachment(a[2], a[3], a[4], *a[5:6])
    elif what == "rcpts":
        cmd_rcpts(a[2], a[3], int(a[4]), int(a[5]))
    elif what == "envelope":
        cmd_envelope(a[2], a[3], a[4:])
    elif what == "quarantined":
        cmd_quarantined(a[2], a[3:])
    elif what == "eve":
        cmd_eve(a[2], a[3])
    elif what == "tls":
        cmd_tls(a[2], a[3], a[4])
    elif what == "delivery":
        cmd_delivery(a[2], a[3], a[4], a[5], a[6], *a[7:8])
    elif what == "stats":
        cmd_stats(a[2], a[3:])
    elif what == "sink_tls":
        cmd_sink_tls(a[2], a[3], a[4])
    else:
        sys.exit("mta_check.py: unknown check %s" % what)
    return 1 if fails else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
