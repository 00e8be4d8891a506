#!/usr/bin/env python3
"""Conformance: DNS and HTTP fields, and extracted HTTP objects, equal what
tshark reports for the same captures.

For each capture:
  DNS (port 53, UDP and TCP), both ways: every message tshark decodes and
      every message nightjar logs is a (flow, direction, id, question names,
      question types) of the other, and every response has the same rcode
      and the same A, AAAA and CNAME values (all sections together, as
      tshark's dns.a/aaaa/cname fields). tshark prints a name's bytes
      outside printable ASCII lossily, so for those messages the question
      is read from the UDP payload tshark gives (exact).
  HTTP: for every TCP connection tshark dissects as HTTP, the requests
      (method, Host, URI) and the response status codes, in order, equal
      nightjar's http events of that connection. A connection nightjar
      parses as HTTP that tshark does not is asked of tshark again with its
      port decoded as HTTP (-d), then compared the same way.
  Objects: every object `tshark --export-objects http` writes has the
      SHA-256 of a file nightjar extracted from that capture (tshark, like
      nightjar, exports bodies de-chunked and decompressed). An object that
      has not is explained only by what was seen on its own connection
      (tshark names an object without a URI object<frame>: the frame gives
      the connection; a named one is matched to the requests whose URI
      gives that name).
A nightjar exit other than 0/1 (86/87: a sanitizer's error) and a tshark
exit other than 0 are failures. Differences by design are named, with the
capture, flow and count, in the output; nightjar bugs not fixed yet are
named PENDING with the same detail.
Usage: app_fields.py [--subset] NIGHTJAR CAPTURE...
Exit 0 when everything agrees and the floors are met (--subset: no floors).
"""
import collections
import hashlib
import multiprocessing
import os
import posixpath
import re
import sys
import tempfile

from common import Failure, finish, nightjar, options, tshark

# Floors for the whole corpus, measured on its 361 captures (2026-11): DNS
# messages compared whole (tshark's 5,673 and nightjar's 5,680, each matched
# to the other), 7,565 HTTP requests on 1,230 connections, 4,667 HTTP objects
# exported by tshark.
FLOORS = {"DNS messages": (5400, "measured 5,673"),
          "nightjar DNS messages": (5400, "measured 5,680"),
          "HTTP requests": (7200, "measured 7,565"),
          "HTTP connections": (1170, "measured 1,230"),
          "HTTP objects": (4400, "measured 4,667")}

TYPES = {"A": 1, "NS": 2, "CNAME": 5, "SOA": 6, "NULL": 10, "PTR": 12, "HINFO": 13,
         "MX": 15, "TXT": 16, "RP": 17, "SIG": 24, "KEY": 25, "AAAA": 28, "LOC": 29,
         "SRV": 33, "NAPTR": 35, "DNAME": 39, "OPT": 41, "DS": 43, "RRSIG": 46,
         "NSEC": 47, "DNSKEY": 48, "NSEC3": 50, "NSEC3PARAM": 51, "TLSA": 52,
         "SVCB": 64, "HTTPS": 65, "SPF": 99, "TKEY": 249, "TSIG": 250, "IXFR": 251,
         "AXFR": 252, "ANY": 255, "URI": 256, "CAA": 257}
RCODES = ["NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP", "REFUSED",
          "YXDOMAIN", "YXRRSET", "NXRRSET", "NOTAUTH", "NOTZONE"]
# tshark asked again about connections it did not dissect as nightjar did:
# reassembling TCP segments that came out of order (nightjar always does;
# tshark 4.0 only when told to), and showing a message without waiting for
# its whole body (nightjar logs a request whose body never came)
AGAIN = ["-o", "tcp.reassemble_out_of_order:TRUE", "-o", "http.desegment_body:FALSE"]
DNS_REJECTS = ("truncated_message", "bad_name", "name_loop", "bad_pointer", "bad_rdata", "not_dns")


def tshark_fields(path, dfilter, fields, extra=()):
    args = list(extra) + ["-Y", dfilter, "-T", "fields", "-E", "occurrence=a",
                          "-E", "aggregator=\x1f", "-E", "separator=\t"]
    for f in fields:
        args += ["-e", f]
    return [(l.split("\t") + [""] * len(fields))[:len(fields)]
            for l in tshark(path, args).splitlines()]


def split(v):
    return [x for x in v.split("\x1f") if x] if v else []


def innermost(stack, r, i4, i6):
    """(src, dst) of the last IP layer of a frame, from the ip.* (i4) and
    ipv6.* (i6) columns of row r."""
    ips = [p for p in stack if p in ("ip", "ipv6")]
    if not ips:
        return None
    i = i4 if ips[-1] == "ip" else i6
    src, dst = split(r[i]), split(r[i + 1])
    return (src[-1], dst[-1]) if src and dst else None


def flow_of(proto, a, ap, b, bp):
    """A connection without its orientation."""
    return (proto,) + tuple(sorted([(a, int(ap)), (b, int(bp))]))


def flow_name(f):
    return "%s %s:%d <-> %s:%d" % (f[0], f[1][0], f[1][1], f[2][0], f[2][1])


# ---------------------------------------------------------------- DNS

def tshark_name(n):
    return "." if n == "<Root>" else n


def dig_name(labels):
    """A name as nightjar (and dig) writes it."""
    out = []
    for lab in labels:
        s = ""
        for ch in lab:
            if ch in (0x2e, 0x5c):
                s += "\\" + chr(ch)
            elif ch <= 0x20 or ch >= 0x7f:
                s += "\\%03d" % ch
            else:
                s += chr(ch)
        out.append(s)
    return ".".join(out) or "."


def wire_questions(msg):
    """[(labels, qtype)] of a DNS message's questions, or None."""
    if len(msg) < 12:
        return None
    qd, off, out = int.from_bytes(msg[4:6], "big"), 12, []
    if qd > 16:
        return None  # not a message anybody sends: keep tshark's reading
    for _ in range(qd):
        labels, end, jumps = [], None, 0
        while True:
            if off >= len(msg) or sum(len(x) + 1 for x in labels) > 255:
                return None
            n = msg[off]
            if n & 0xc0 == 0xc0:
                if off + 1 >= len(msg) or jumps > 32:
                    return None
                end = end or off + 2
                off = ((n & 0x3f) << 8) | msg[off + 1]
                jumps += 1
                continue
            if n == 0:
                end = end or off + 1
                break
            labels.append(msg[off + 1:off + 1 + n])
            off += 1 + n
        if end + 4 > len(msg):
            return None
        out.append((labels, int.from_bytes(msg[end:end + 2], "big")))
        off = end + 4
    return out


DNS_FIELDS = ["frame.number", "frame.protocols", "ip.src", "ip.dst", "ipv6.src", "ipv6.dst",
              "udp.srcport", "udp.dstport", "tcp.srcport", "tcp.dstport",
              "dns.flags.response", "dns.id", "dns.qry.name", "dns.qry.type",
              "dns.flags.rcode", "dns.a", "dns.aaaa", "dns.cname", "_ws.malformed", "udp.payload"]


def dns_tshark(path):
    """(full keys, header-and-question keys of messages tshark could not
    decode whole)."""
    rows = tshark_fields(path, "dns && (udp.port==53 || tcp.port==53) && !icmp && !icmpv6",
                         DNS_FIELDS)
    full, partial = collections.Counter(), collections.Counter()
    for r in rows:
        stack = r[1].split(":")
        ips = innermost(stack, r, 2, 4)
        tcp = bool(split(r[8]))
        sp, dp = (split(r[8]) or split(r[6]))[-1:], (split(r[9]) or split(r[7]))[-1:]
        if not ips or not sp or not dp:
            continue
        flow = flow_of("TCP" if tcp else "UDP", ips[0], sp[0], ips[1], dp[0])
        resp, ids = split(r[10]), split(r[11])
        names = [tshark_name(n) for n in split(r[12])]
        types = [int(t) for t in split(r[13])]
        if any(ord(ch) < 33 or ord(ch) > 126 or ch == "\\" for ch in r[12]) and split(r[19]):
            # tshark prints a name's bytes outside printable ASCII lossily:
            # read the questions from the (UDP) payload
            qs = wire_questions(bytes.fromhex(split(r[19])[-1]))
            if qs is not None:
                names, types = [dig_name(l) for l, _ in qs], [t for _, t in qs]
        if not ids:
            continue
        head = (flow, resp[0] in ("1", "True"), int(ids[0], 0), tuple(names), tuple(types))
        if r[18] or len(ids) != 1:
            # tshark could not decode the message whole (it shows the header
            # and question), or the frame holds several messages (TCP):
            # only the header and question are compared
            partial[(head, "malformed" if r[18] else "several")] += 1
            continue
        key = head
        if head[1]:
            key += (int(split(r[14])[0]) if split(r[14]) else 0,
                    tuple(sorted(split(r[15]))), tuple(sorted(split(r[16]))),
                    tuple(sorted(split(r[17]))))
        full[key] += 1
    return full, partial


def rtype(name):
    return TYPES.get(name, int(name) if name.isdigit() else -1)


def dns_nightjar(events):
    out = collections.Counter()
    for e in events:
        if e["event_type"] != "dns" or 53 not in (e.get("src_port"), e.get("dest_port")):
            continue
        d = e["dns"]
        flow = flow_of(e["proto"], e["src_ip"], e["src_port"], e["dest_ip"], e["dest_port"])
        qs = d.get("queries") or ([d] if "rrname" in d else [])
        key = (flow, d["type"] == "answer", d["id"], tuple(q["rrname"] for q in qs),
               tuple(rtype(q["rrtype"]) for q in qs))
        if key[1]:
            recs = d.get("answers", []) + d.get("authorities", []) + d.get("additionals", [])
            # records without data (UPDATE deletions) have none to compare
            vals = {t: sorted(r["rdata"] for r in recs if r["rrtype"] == t and r.get("rdata"))
                    for t in ("A", "AAAA", "CNAME")}
            rc = d.get("rcode", "")
            # tshark's dns.flags.rcode is the header's 4 bits; nightjar adds
            # the EDNS extended bits (RFC 6891), so compare the low 4
            code = (RCODES.index(rc) if rc in RCODES else 16 if rc == "BADVERS"
                    else int(rc) if rc.isdigit() else -1)
            key += (code & 0xf if code >= 0 else -1,
                    tuple(vals["A"]), tuple(vals["AAAA"]), tuple(vals["CNAME"]))
        out[key] += 1
    return out


def check_dns(path, events, counts, problems, notes):
    td, partial = dns_tshark(path)
    nd = dns_nightjar(events)
    counts["DNS messages"] += sum(td.values())  # compared whole; PARTIAL are named below
    counts["nightjar DNS messages"] += sum(nd.values())
    t_only, n_only = td - nd, nd - td
    # messages tshark decoded only in part: nightjar's message with that
    # header and question, if it logged one
    n_heads = collections.defaultdict(list)
    for k, c in n_only.items():
        n_heads[k[:5]].extend([k] * c)
    excused = collections.Counter()
    for (head, why), c in partial.items():
        for _ in range(c):
            if n_heads.get(head):
                n_only[n_heads[head].pop()] -= 1
                excused["dns_%s_compared_in_part" % why, head[0]] += 1
            else:
                excused["dns_%s_not_logged" % why, head[0]] += 1
    n_only = +n_only
    stats = next((e["stats"] for e in events if e["event_type"] == "stats"), {})
    rejected = sum(stats.get("dns", {}).get(k, 0) for k in DNS_REJECTS)
    flows_logged = {k[0] for k in nd}
    not_logged = 0
    for (why, flow), c in list(excused.items()):
        if why.endswith("_not_logged") and flow in flows_logged:
            not_logged += c  # nightjar rejected them: its stats count them
    for k, c in t_only.items():
        problems.append("dns %s: tshark %s, nightjar %s" % (
            flow_name(k[0]), k[1:], [x[1:] for x in n_only if x[:3] == k[:3]] or "nothing"))
    for k, c in n_only.items():
        problems.append("dns %s: nightjar %s (x%d), tshark %s" % (
            flow_name(k[0]), k[1:], c, [x[1:] for x in t_only if x[:3] == k[:3]] or "nothing"))
    if not_logged > rejected:
        problems.append("dns: %d messages tshark decodes are not in nightjar's log, but its stats "
                        "count %d rejected" % (not_logged, rejected))
    for (why, flow), c in excused.items():
        counts[why] += c
        notes.append("%s: %s: %d messages" % (why, flow_name(flow), c))
    return td


# ---------------------------------------------------------------- HTTP

HTTP_FIELDS = ["frame.number", "frame.protocols", "ip.src", "ip.dst", "ipv6.src", "ipv6.dst",
               "tcp.srcport", "tcp.dstport", "sctp.srcport", "sctp.dstport",
               "http.request.method", "http.host", "http.request.uri", "http.response.code",
               "tcp.analysis.retransmission"]


def http_tshark(path, decode_as=(), again=False):
    extra = list(AGAIN) if again else []
    for port in decode_as:
        extra += ["-d", "tcp.port==%d,http" % port]
    rows = tshark_fields(path, "http.request || http.response", HTTP_FIELDS, extra)
    conns = collections.defaultdict(lambda: {"req": [], "status": [], "retrans": 0})
    for r in rows:
        ips = innermost(r[1].split(":"), r, 2, 4)
        tcp = bool(split(r[6]))
        sp, dp = (split(r[6]) or split(r[8]))[-1:], (split(r[7]) or split(r[9]))[-1:]
        if not (ips and sp and dp):
            continue
        proto = "TCP" if tcp else "SCTP"
        src, dst = (proto, ips[0], int(sp[0])), (proto, ips[1], int(dp[0]))
        methods, hosts, uris, codes = split(r[10]), split(r[11]), split(r[12]), split(r[13])
        if methods:
            c = conns[src + dst[1:]]
            for i, m in enumerate(methods):
                c["req"].append((m, hosts[i] if i < len(hosts) else "",
                                 uris[i] if i < len(uris) else ""))
        for code in codes:
            c = conns[dst + src[1:]]
            if 100 <= int(code) < 200 and int(code) != 101:
                continue  # interim responses: nightjar logs the final one
            if r[14]:
                # a retransmission of a segment already seen: tshark
                # dissects the response in it again
                c["retrans"] += 1
                continue
            c["status"].append(int(code))
    return conns


def http_nightjar(events):
    conns = collections.defaultdict(lambda: {"req": [], "status": []})
    # HTTP/1 only: tshark's http dissector is compared with it; HTTP/2
    # streams (http.http2) are tshark's http2 dissector's, checked by
    # tests/e2e/http2_traffic.sh (lib/h2_check.py)
    for e in sorted((e for e in events if e["event_type"] == "http" and
                     "http2" not in e["http"]),
                    key=lambda e: (e["flow_id"], e["tx_id"])):
        h = e["http"]
        c = conns[(e["proto"], e["src_ip"], e["src_port"], e["dest_ip"], e["dest_port"])]
        if "http_method" in h:
            c["req"].append((h["http_method"], h.get("hostname", ""), h.get("url", "")))
        if "status" in h:
            c["status"].append(h["status"])
    return conns


def subsequence(a, b):
    it = iter(b)
    return all(x in it for x in a)


def http_difference(t, n):
    """The name of a difference by design between tshark's and nightjar's
    view of one connection, or None."""
    if len(t["req"]) == len(n["req"]) and all(
            a == b or (a[:2] == b[:2] and b[2].startswith(a[2] + " "))
            for a, b in zip(t["req"], n["req"])) and t["status"] == n["status"]:
        return "http_uri_with_space"  # tshark ends the URI at the first space
    if subsequence(t["req"], n["req"]) and subsequence(t["status"], n["status"]) and \
            len(n["status"]) <= len(n["req"]) + 1:
        # every message tshark dissected is there, in order; tshark gave up on
        # the others (a response after lost or out-of-window segments, a
        # capture without the handshake)
        return "http_tshark_dissected_fewer"
    return None


def reverse(k):
    return (k[0], k[3], k[4], k[1], k[2])


def check_http(path, events, counts, problems, notes):
    th, nh = http_tshark(path), http_nightjar(events)
    flows = {flow_of(e["proto"], e["src_ip"], e["src_port"], e["dest_ip"], e["dest_port"]): e
             for e in events if e["event_type"] == "flow" and "src_port" in e}
    th_first = dict(th)  # the view tshark exported objects with
    # connections nightjar parses as HTTP that tshark does not dissect (a
    # port tshark does not try), and connections where the two differ: ask
    # tshark again (AGAIN), with those ports as HTTP
    only_nj = [k for k in nh if k not in th and reverse(k) not in th]
    differ = [k for k, c in th.items() if k[0] == "TCP" and (c["req"], c["status"]) !=
              tuple(nh.get(k, nh.get(reverse(k), {})).get(x) for x in ("req", "status"))]
    if only_nj or differ:
        ports = sorted({k[4] for k in only_nj if k[0] == "TCP"})
        again = http_tshark(path, ports, again=True)
        for k in only_nj:
            for kk in (k, reverse(k)):
                if kk in again:
                    th[kk] = again[kk]
                    counts["http_decoded_as"] += 1
                    notes.append("http_decoded_as: %s: tshark dissects it when asked again "
                                 "(-d tcp.port==%d,http %s)" % (flow_name(flow_of(*kk)), k[4],
                                                                " ".join(AGAIN)))
        for k in differ:
            n = nh.get(k, nh.get(reverse(k)))
            if n and k in again and (again[k]["req"], again[k]["status"]) == (n["req"], n["status"]):
                th[k] = again[k]
                counts["http_asked_again"] += 1
                notes.append("http_asked_again: %s: tshark dissects every message when asked "
                             "again (%s)" % (flow_name(flow_of(*k)), " ".join(AGAIN)))
    for k, c in th.items():
        if c["retrans"]:
            counts["http_retransmitted_responses"] += c["retrans"]
            notes.append("http_retransmitted_responses: %s: %d responses in retransmitted "
                         "segments (tshark dissects them again)" % (flow_name(flow_of(*k)), c["retrans"]))
        if not c["req"] and not c["status"]:
            continue
        if k[0] == "SCTP":
            f = flows.get(flow_of(*k))
            if f and f["proto"] == "SCTP" and k not in nh and reverse(k) not in nh:
                counts["http_over_sctp"] += len(c["req"])
                notes.append("http_over_sctp: %s: %d requests (nightjar does not reassemble SCTP)"
                             % (flow_name(flow_of(*k)), len(c["req"])))
                continue
        counts["HTTP requests"] += len(c["req"])
        counts["HTTP connections"] += 1
        if k not in nh and reverse(k) in nh:
            # the flow's first packet came from the HTTP server (a capture
            # that starts mid-connection, a reverse tunnel): nightjar's
            # records keep the flow's orientation
            counts["http_reversed_flows"] += 1
            notes.append("http_reversed_flows: %s" % flow_name(flow_of(*k)))
            k = reverse(k)
        n = nh.get(k, {"req": [], "status": []})
        if c["req"] == n["req"] and c["status"] == n["status"]:
            continue
        why = http_difference(c, n)
        if why:
            counts[why] += 1
            notes.append("%s: %s: tshark %d requests / %d responses, nightjar %d / %d"
                         % (why, flow_name(flow_of(*k)), len(c["req"]), len(c["status"]),
                            len(n["req"]), len(n["status"])))
        else:
            problems.append("http %s: tshark %s, nightjar %s"
                            % (flow_name(flow_of(*k)), {x: c[x] for x in ("req", "status")}, dict(n)))
    for k, n in nh.items():
        if k not in th and reverse(k) not in th:
            problems.append("http %s: nightjar %s, tshark dissects no HTTP there even as HTTP"
                            % (flow_name(flow_of(*k)), dict(n)))
    return th_first, nh, flows


# ---------------------------------------------------------------- objects

EO_REJECT = set('<>:"/\\|?*') | {chr(c) for c in range(1, 32)}


def eo_name(uri):
    """The file name tshark's export gives a body of a request for URI
    (the last path segment of what it was sent as, unsafe characters as
    %xx)."""
    base = posixpath.basename(uri) or uri
    return "".join("%%%02x" % ord(ch) if ch in EO_REJECT else ch for ch in base)


def undup(name):
    """A name without the (n) tshark adds to the n-th copy."""
    return re.sub(r"\(\d+\)(?=(\.[^.]*)?$)", "", name, count=1)


def objects_tshark(path, tmp):
    """[(file name, bytes, SHA-256)] of every non-empty object tshark
    exports (copies of one body on several connections each count)."""
    d = os.path.join(tmp, "objects")
    os.makedirs(d, exist_ok=True)
    tshark(path, ["-q", "--export-objects", "http," + d])
    objects = []
    for f in sorted(os.listdir(d)):
        with open(os.path.join(d, f), "rb") as fp:
            data = fp.read()
        if data:
            objects.append((f, data, hashlib.sha256(data).hexdigest()))
    return objects


def check_objects(path, events, tmp, th, nh, flows, counts, problems, notes):
    objects = objects_tshark(path, tmp)
    counts["HTTP objects"] += len(objects)
    files = [e for e in events if e["event_type"] == "fileinfo" and e.get("app_proto") == "http"]
    nhash = {e["fileinfo"]["sha256"] for e in files}
    left = [o for o in objects if o[2] not in nhash]
    if not left:
        return
    # the connection of each object tshark named by its frame
    frames = sorted({int(n[6:]) for n, _, _ in left if re.fullmatch(r"object\d+", n)})
    conn_of = {}
    if frames:
        for r in tshark_fields(path, "frame.number in {%s}" % ",".join(map(str, frames)),
                               ["frame.number", "frame.protocols", "ip.src", "ip.dst", "ipv6.src",
                                "ipv6.dst", "tcp.srcport", "tcp.dstport", "sctp.srcport",
                                "sctp.dstport"]):
            ips = innermost(r[1].split(":"), r, 2, 4)
            sp, dp = (split(r[6]) or split(r[8]))[-1:], (split(r[7]) or split(r[9]))[-1:]
            if ips and sp and dp:
                conn_of[int(r[0])] = flow_of("TCP" if split(r[6]) else "SCTP",
                                             ips[0], sp[0], ips[1], dp[0])
    by_flow_t = collections.defaultdict(lambda: {"req": [], "status": []})
    for k, c in th.items():
        f = by_flow_t[flow_of(*k)]
        f["req"] += c["req"]
        f["status"] += c["status"]
    by_flow_n = collections.defaultdict(lambda: {"req": [], "status": []})
    for k, c in nh.items():
        f = by_flow_n[flow_of(*k)]
        f["req"] += c["req"]
        f["status"] += c["status"]
    excused, pieces = collections.Counter(), collections.Counter()
    for name, data, h in left:
        if re.fullmatch(r"object\d+", name):
            f = conn_of.get(int(name[6:]))
            cands = [f] if f else []
        else:
            # the connections with a request whose URI gives this name
            cands = [fl for fl, c in by_flow_t.items()
                     if any(eo_name(u) == undup(name) for _, _, u in c["req"])]
        why = None
        for f in cands:
            nf = flows.get(f, {})
            t, n = by_flow_t.get(f, {"req": [], "status": []}), by_flow_n.get(f, {"req": [], "status": []})
            if f[0] == "SCTP" and nf.get("proto") == "SCTP" and not n["req"]:
                why = "objects_over_sctp"  # nightjar does not reassemble SCTP
            elif 101 in t["status"] and 101 in n["status"]:
                why = "objects_after_upgrade"  # after 101 nightjar stops parsing HTTP
            elif name.startswith("object") and not t["req"] and not t["status"] and \
                    not n["req"] and not n["status"] and nf.get("app_proto") not in (None, "http"):
                # tshark dissected no HTTP message on the connection, only
                # "continuation" bytes on an HTTP port, and nightjar found
                # another protocol there (or none): not an HTTP body
                why = "objects_not_http"
            elif not name.startswith("object") and len(t["status"]) < len(t["req"]):
                # tshark could not reassemble the response and wrote pieces
                # of its body as sent; nightjar has the transaction, whose
                # body (as sent) holds all the pieces, and each piece is in
                # nightjar's file when that file is complete and stored
                want = [e for e in files if flow_of(e["proto"], e["src_ip"], e["src_port"],
                                                    e["dest_ip"], e["dest_port"]) == f
                        and eo_name(e["http"].get("url", "")) == undup(name)]
                for e in want:
                    sent = max(e["http"].get("length", 0), e["fileinfo"]["size"])
                    if pieces[f, undup(name)] + len(data) <= sent and in_store(tmp, e, data):
                        pieces[f, undup(name)] += len(data)
                        why = "objects_tshark_partial"
                        break
            if why:
                excused[why, f, nf.get("app_proto", "-")] += 1
                break
        if not why:
            problems.append("http object %s (%s, %d bytes, connection %s) exported by tshark, "
                            "not extracted" % (h, name, len(data),
                                               ", ".join(flow_name(f) for f in cands) or "unknown"))
    for (why, f, app), c in excused.items():
        counts[why] += c
        notes.append("%s: %s (nightjar: %s): %d objects" % (why, flow_name(f), app, c))


def in_store(tmp, e, data):
    """DATA is in the file nightjar stored (complete files only); one it did
    not store (it had gaps) cannot be checked further."""
    sha = e["fileinfo"]["sha256"]
    p = os.path.join(tmp, "files", sha[:2], sha)
    if not os.path.exists(p):
        return e["fileinfo"].get("gaps", False)
    with open(p, "rb") as fp:
        return data in fp.read()


# ---------------------------------------------------------------- main

def check(args):
    nj, path = args
    counts, problems, notes = collections.Counter(), [], []
    try:
        with tempfile.TemporaryDirectory() as tmp:
            events = nightjar(nj, path, os.path.join(tmp, "eve.json"),
                              ["--filestore", os.path.join(tmp, "files")])
            check_dns(path, events, counts, problems, notes)
            th, nh, flows = check_http(path, events, counts, problems, notes)
            check_objects(path, events, tmp, th, nh, flows, counts, problems, notes)
    except Failure as e:
        problems.append(str(e))
    return path, problems, notes, counts


BY_DESIGN = [
    ("dns_malformed_compared_in_part", "DNS messages tshark could not decode whole (header and "
     "question compared with nightjar's)"),
    ("dns_malformed_not_logged", "DNS messages tshark calls malformed that nightjar does not log "
     "(rejected and counted in its stats, or in a flow it does not parse as DNS)"),
    ("dns_several_compared_in_part", "DNS messages sharing a frame (header and question compared)"),
    ("dns_several_not_logged", "DNS messages sharing a frame that nightjar does not log"),
    ("http_decoded_as", "HTTP connections tshark dissects only when asked again (-d for a port "
     "it does not try; out-of-order reassembly, bodies not awaited)"),
    ("http_asked_again", "HTTP connections tshark dissects whole only when asked again "
     "(out-of-order reassembly, bodies not awaited; compared with that)"),
    ("http_reversed_flows", "HTTP connections whose first packet came from the server (compared "
     "with the flow's orientation)"),
    ("http_uri_with_space", "connections with a URI with a space (tshark stops at it, nightjar "
     "keeps the request target up to ' HTTP/')"),
    ("http_retransmitted_responses", "responses in retransmitted segments (tshark dissects them "
     "again; not counted)"),
    ("http_tshark_dissected_fewer", "connections where tshark dissected only some of the messages "
     "nightjar parsed (all of tshark's are there, in order)"),
    ("http_over_sctp", "HTTP requests over SCTP (not reassembled by nightjar)"),
    ("objects_tshark_partial", "tshark objects that are pieces of a body tshark could not "
     "reassemble (in nightjar's file of that transaction)"),
    ("objects_not_http", "tshark objects of non-HTTP bytes on an HTTP port (no HTTP message on "
     "the connection for tshark, another protocol for nightjar)"),
    ("objects_over_sctp", "tshark objects over SCTP (not reassembled by nightjar)"),
    ("objects_after_upgrade", "tshark objects after a 101 upgrade"),
]


def main():
    subset, args = options(sys.argv[1:], "app_fields.py [--subset] NIGHTJAR CAPTURE...")
    nj, caps = args[0], args[1:]
    total, bad = collections.Counter(), 0
    with multiprocessing.Pool(int(os.environ.get("JOBS", os.cpu_count() or 2))) as pool:
        for path, problems, notes, counts in pool.imap_unordered(check, [(nj, c) for c in caps]):
            total.update(counts)
            if problems:
                bad += 1
                print("DIFF %s" % path)
                for p in problems[:8]:
                    print("  " + p[:600])
                if len(problems) > 8:
                    print("  ... %d more" % (len(problems) - 8))
            for n in notes:
                print("  %s %s: %s" % ("PENDING" if n.startswith("PENDING") else "by design",
                                       os.path.relpath(path), n))
    print("app fields vs tshark: %d captures, %d DNS messages of tshark's and %d of nightjar's "
          "compared whole, "
          "%d HTTP requests on %d connections, %d HTTP objects; %d captures differ"
          % (len(caps), total["DNS messages"], total["nightjar DNS messages"],
             total["HTTP requests"], total["HTTP connections"], total["HTTP objects"], bad))
    print("by design: " + "; ".join("%d %s" % (total[k], v) for k, v in BY_DESIGN))
    return finish("app_fields", total, FLOORS, subset, bad)


if __name__ == "__main__":
    sys.exit(main())
