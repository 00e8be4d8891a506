#!/usr/bin/env python3
"""Conformance: DNS and HTTP fields, and extracted HTTP objects, equal what
tshark reports for the same captures.

For each capture:
  DNS (port 53, UDP and TCP): every message tshark decodes is a
      (direction, id, query name, query type) that nightjar logs too, and
      every response has the same rcode and the same A, AAAA and CNAME
      values (all sections together, as tshark's dns.a/aaaa/cname fields).
  HTTP: for every TCP connection tshark dissects as HTTP, the requests
      (method, Host, URI) and the response status codes, in order, equal
      nightjar's http events of that connection. Connections nightjar parses
      that tshark does not (HTTP on ports tshark does not try) are counted
      and named, not failures.
  Objects: every object `tshark --export-objects http` writes has the
      SHA-256 of a file nightjar extracted from that capture (tshark, like
      nightjar, exports bodies de-chunked and decompressed).
Differences by design are named in the output.
Usage: app_fields.py NIGHTJAR CAPTURE...   Exit 0 when everything agrees.
"""
import collections
import hashlib
import json
import multiprocessing
import os
import re
import subprocess
import sys
import tempfile

TYPES = {"A": 1, "NS": 2, "CNAME": 5, "SOA": 6, "NULL": 10, "PTR": 12, "HINFO": 13,
         "MX": 15, "TXT": 16, "RP": 17, "SIG": 24, "KEY": 25, "AAAA": 28, "LOC": 29,
         "SRV": 33, "NAPTR": 35, "DNAME": 39, "OPT": 41, "DS": 43, "RRSIG": 46,
         "NSEC": 47, "DNSKEY": 48, "NSEC3": 50, "NSEC3PARAM": 51, "TLSA": 52,
         "SVCB": 64, "HTTPS": 65, "SPF": 99, "TKEY": 249, "TSIG": 250, "IXFR": 251,
         "AXFR": 252, "ANY": 255, "URI": 256, "CAA": 257}
RCODES = ["NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP", "REFUSED",
          "YXDOMAIN", "YXRRSET", "NXRRSET", "NOTAUTH", "NOTZONE"]


def tshark_fields(path, dfilter, fields):
    cmd = ["tshark", "-n", "-r", path, "-Y", dfilter, "-T", "fields",
           "-E", "occurrence=a", "-E", "aggregator=\x1f", "-E", "separator=\t"]
    for f in fields:
        cmd += ["-e", f]
    out = subprocess.run(cmd, capture_output=True, text=True).stdout
    return [l.split("\t") for l in out.splitlines()]


def split(v):
    return [x for x in v.split("\x1f") if x] if v else []


def tshark_name(n):
    return "." if n == "<Root>" else n


def dns_tshark(path):
    rows = tshark_fields(path, "dns && (udp.port==53 || tcp.port==53) && !icmp && !icmpv6",
                         ["dns.flags.response", "dns.id", "dns.qry.name", "dns.qry.type",
                          "dns.flags.rcode", "dns.a", "dns.aaaa", "dns.cname", "_ws.malformed"])
    out = collections.Counter()
    for r in rows:
        r += [""] * (9 - len(r))
        if r[8]:
            # tshark shows the header of a message it could not decode;
            # nightjar rejects such a message (counted in its stats)
            out["malformed"] += 1
            continue
        resp, ids, names, types = split(r[0]), split(r[1]), split(r[2]), split(r[3])
        # a frame can hold several DNS messages (TCP); take the simple ones
        if len(ids) != 1 or len(names) > 1:
            continue
        key = (resp[0] in ("1", "True"), int(ids[0], 0),
               tshark_name(names[0]) if names else "", int(types[0]) if types else 0)
        if key[0]:
            key += (int(split(r[4])[0]) if split(r[4]) else 0,
                    tuple(sorted(split(r[5]))), tuple(sorted(split(r[6]))),
                    tuple(sorted(split(r[7]))))
        out[key] += 1
    return out


def rtype(name):
    return TYPES.get(name, int(name) if name.isdigit() else -1)


def dns_nightjar(events):
    out = collections.Counter()
    for e in events:
        if e["event_type"] != "dns" or 53 not in (e.get("src_port"), e.get("dest_port")):
            continue
        d = e["dns"]
        if d.get("queries"):
            continue  # several questions: tshark's rows are skipped too
        key = (d["type"] == "answer", d["id"], d.get("rrname", ""),
               rtype(d["rrtype"]) if "rrtype" in d else 0)
        if key[0]:
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


def conn_key(a, ap, b, bp):
    return (a, int(ap), b, int(bp))


def http_tshark(path):
    rows = tshark_fields(path, "http.request || http.response",
                         ["ip.src", "ipv6.src", "tcp.srcport", "ip.dst", "ipv6.dst",
                          "tcp.dstport", "http.request.method", "http.host",
                          "http.request.uri", "http.response.code"])
    conns = collections.defaultdict(lambda: {"req": [], "status": []})
    for r in rows:
        r += [""] * (10 - len(r))
        src = split(r[0])[-1:] or split(r[1])[-1:]
        dst = split(r[3])[-1:] or split(r[4])[-1:]
        sp, dp = split(r[2])[-1:], split(r[5])[-1:]
        if not (src and dst and sp and dp):
            continue
        methods, hosts, uris, codes = split(r[6]), split(r[7]), split(r[8]), split(r[9])
        if methods:
            c = conns[conn_key(src[0], sp[0], dst[0], dp[0])]
            for i, m in enumerate(methods):
                c["req"].append((m, hosts[i] if i < len(hosts) else "",
                                 uris[i] if i < len(uris) else ""))
        for code in codes:
            if 100 <= int(code) < 200 and int(code) != 101:
                continue  # interim responses: nightjar logs the final one
            conns[conn_key(dst[0], dp[0], src[0], sp[0])]["status"].append(int(code))
    return conns


def http_nightjar(events):
    conns = collections.defaultdict(lambda: {"req": [], "status": []})
    for e in sorted((e for e in events if e["event_type"] == "http"),
                    key=lambda e: (e["flow_id"], e["tx_id"])):
        h = e["http"]
        c = conns[conn_key(e["src_ip"], e["src_port"], e["dest_ip"], e["dest_port"])]
        if "http_method" in h:
            c["req"].append((h["http_method"], h.get("hostname", ""), h.get("url", "")))
        if "status" in h:
            c["status"].append(h["status"])
    return conns


def http_difference(t, n):
    """The name of a difference by design between tshark's and nightjar's
    view of one connection, or None."""
    if len(t["req"]) == len(n["req"]) and all(
            a == b or (a[:2] == b[:2] and b[2].startswith(a[2] + " "))
            for a, b in zip(t["req"], n["req"])) and t["req"] != n["req"] and \
            t["status"] == n["status"]:
        return "http_uri_with_space"  # tshark ends the URI at the first space
    if t["req"] == n["req"] and len(n["status"]) == len(n["req"]) and \
            len(t["status"]) > len(n["status"]) and set(t["status"]) == set(n["status"]):
        return "http_retransmitted_responses"  # tshark dissects them twice
    if subsequence(t["req"], n["req"]) and subsequence(t["status"], n["status"]) and \
            len(n["status"]) <= len(n["req"]) + 1:
        # every message tshark dissected is there, in order; tshark gave up on
        # the others (a response after lost or out-of-window segments, a
        # capture without the handshake)
        return "http_tshark_dissected_fewer"
    return None


def subsequence(a, b):
    it = iter(b)
    return all(x in it for x in a)


def objects_tshark(path, tmp):
    d = os.path.join(tmp, "objects")
    os.makedirs(d, exist_ok=True)
    subprocess.run(["tshark", "-n", "-r", path, "-q", "--export-objects", "http," + d],
                   capture_output=True)
    hashes = {}
    for f in os.listdir(d):
        data = open(os.path.join(d, f), "rb").read()
        if data:
            hashes[hashlib.sha256(data).hexdigest()] = (f, len(data))
    return hashes


def check(args):
    nj, path = args
    with tempfile.TemporaryDirectory() as tmp:
        eve = os.path.join(tmp, "eve.json")
        r = subprocess.run([nj, "-q", "-r", path, "-o", eve], capture_output=True, text=True)
        if r.returncode not in (0, 1):
            return path, ["nightjar exited %d: %s" % (r.returncode, r.stderr.strip()[-300:])], {}
        events = [json.loads(l) for l in open(eve)] if os.path.exists(eve) else []
        problems, notes = [], collections.Counter()
        td, nd = dns_tshark(path), dns_nightjar(events)
        notes["dns_malformed"] = td.pop("malformed", 0)
        notes["dns"] = sum(td.values())
        for k in td - nd:
            if any(ord(ch) < 33 or ord(ch) > 126 for ch in k[2]):
                notes["dns_names_escaped"] += 1  # tshark prints raw bytes, nightjar \DDD
                continue
            problems.append("dns: tshark %s, nightjar %s" % (k, [x for x in nd if x[:4] == k[:4]]))
        th, nh = http_tshark(path), http_nightjar(events)
        for k, c in th.items():
            notes["http_requests"] += len(c["req"])
            rk = (k[2], k[3], k[0], k[1])
            if k not in nh and rk in nh:
                # the flow's first packet came from the HTTP server (a capture
                # that starts mid-connection, a reverse tunnel): nightjar's
                # records keep the flow's orientation
                notes["http_reversed_flows"] += 1
                k = rk
            n = nh.get(k, {"req": [], "status": []})
            if c["req"] == n["req"] and c["status"] == n["status"]:
                continue
            why = http_difference(c, n)
            if why:
                notes[why] += 1
            else:
                problems.append("http %s: tshark %s, nightjar %s" % (k, dict(c), dict(n)))
        for k in nh:
            if k not in th and (k[2], k[3], k[0], k[1]) not in th:
                notes["http_connections_only_nightjar"] += 1
        to = objects_tshark(path, tmp)
        nhash = collections.Counter(e["fileinfo"]["sha256"] for e in events
                                    if e["event_type"] == "fileinfo" and e.get("app_proto") == "http")
        notes["objects"] = len(to)
        sizes = {e["fileinfo"]["size"] for e in events if e["event_type"] == "fileinfo"}
        names = {e["fileinfo"]["filename"] for e in events
                 if e["event_type"] == "fileinfo" and e["fileinfo"]["filename"]}
        sctp = any(e["event_type"] == "flow" and e.get("proto") == "SCTP" for e in events)
        h2c = any(e["event_type"] == "http" and e["http"].get("status") == 101 for e in events)
        for h, (name, size) in to.items():
            if h in nhash:
                continue
            if name.startswith("object") and name[6:].isdigit() and size not in sizes \
                    and not any(e["event_type"] == "http" and e["http"].get("length") == size
                                for e in events):
                notes["objects_not_http"] += 1  # tshark exports other protocols' bytes on HTTP ports
            elif re.sub(r"\(\d+\)", "", name).split("%3f")[0] in names:
                # tshark wrote a piece of a body it could not reassemble (numbered
                # copies of one URI); nightjar has that transaction's file
                notes["objects_tshark_partial"] += 1
            elif sctp:
                notes["objects_over_sctp"] += 1  # nightjar does not reassemble SCTP
            elif h2c:
                notes["objects_http2_upgrade"] += 1  # after 101 to h2c nightjar stops
            else:
                problems.append("http object %s (%s, %d bytes) exported by tshark, not extracted"
                                % (h, name, size))
        return path, problems, notes


def main():
    nj, caps = sys.argv[1], sys.argv[2:]
    total, bad = collections.Counter(), 0
    with multiprocessing.Pool(os.cpu_count() or 2) as pool:
        for path, problems, notes in pool.imap_unordered(check, [(nj, c) for c in caps]):
            total.update(notes)
            if problems:
                bad += 1
                print("DIFF %s" % path)
                for p in problems[:8]:
                    print("  " + p)
                if len(problems) > 8:
                    print("  ... %d more" % (len(problems) - 8))
    print("app fields vs tshark: %d captures, %d DNS messages, %d HTTP requests, %d HTTP objects; "
          "%d HTTP connections on ports tshark does not dissect; %d captures differ"
          % (len(caps), total["dns"], total["http_requests"], total["objects"],
             total["http_connections_only_nightjar"], bad))
    print("by design: %d DNS names with bytes outside printable ASCII (tshark prints them raw, "
          "nightjar escapes them as \\DDD, as dig does) not compared; %d malformed DNS messages "
          "(tshark shows their header, nightjar rejects them)"
          % (total["dns_names_escaped"], total["dns_malformed"]))
    print("by design: %d HTTP connections whose first packet came from the server (compared "
          "with the flow's orientation); %d URIs with a space (tshark stops at it, nightjar keeps "
          "the request target up to ' HTTP/'); %d connections where tshark counts retransmitted "
          "responses again; %d connections where tshark dissected only some of the messages nightjar "
          "parsed (all of tshark's are there, in order); tshark objects not compared: %d pieces of bodies "
          "tshark could not reassemble (nightjar has the transaction's file), %d from non-HTTP bytes on HTTP ports, "
          "%d over SCTP (not reassembled by nightjar), %d after an HTTP/2 upgrade"
          % (total["http_reversed_flows"], total["http_uri_with_space"],
             total["http_retransmitted_responses"], total["http_tshark_dissected_fewer"],
             total["objects_tshark_partial"], total["objects_not_http"],
             total["objects_over_sctp"], total["objects_http2_upgrade"]))
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
