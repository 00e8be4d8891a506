#!/usr/bin/env python3
"""h2_check.py EVE PCAP PORT -- nightjar's HTTP/2 transactions against
tshark's decoding of the same capture.

From tshark (-d tcp.port==PORT,http2, JSON without duplicate keys) it takes
every HEADERS and PUSH_PROMISE frame: per connection (the client's port)
and stream id, the request's :method, :path and :authority (a PUSH_PROMISE
gives them to the promised stream) and the response's :status. From the EVE
file it takes every http event with an http2 object. Both sets must be
equal, field by field; any difference is printed and the exit status is 1.
Prints the number of transactions compared."""
import json
import subprocess
import sys


def as_list(x):
    if x is None:
        return []
    return x if isinstance(x, list) else [x]


def headers_of(stream):
    """name -> value of a HEADERS/PUSH_PROMISE frame's decoded fields."""
    out = {}
    for h in as_list(stream.get("http2.header")):
        if isinstance(h, dict):
            n, v = h.get("http2.header.name"), h.get("http2.header.value")
            if n is not None and n not in out:
                out[n] = v
    return out


def tshark_txs(pcap, port, keylog=None):
    """keylog: HTTP/2 inside TLS, opened with this key log (ALPN h2)."""
    how = ["-o", "tls.keylog_file:" + keylog] if keylog else ["-d", f"tcp.port=={port},http2"]
    js = subprocess.run(
        ["tshark", "-r", pcap] + how + ["-Y", "http2",
         "-T", "json", "--no-duplicate-keys", "-J", "tcp http2"],
        check=True, capture_output=True, text=True).stdout
    txs = {}
    for pkt in json.loads(js):
        layers = pkt["_source"]["layers"]
        tcp = layers["tcp"]
        sport, dport = int(tcp["tcp.srcport"]), int(tcp["tcp.dstport"])
        client = dport if sport == port else sport
        for h2 in as_list(layers.get("http2")):
            for s in as_list(h2.get("http2.stream")):
                ftype = s.get("http2.type")
                if ftype not in ("1", "5"):
                    continue
                sid = int(s.get("http2.streamid", "0"))
                if ftype == "5":
                    sid = int(s.get("http2.push_promise.promised_stream_id", "0"))
                hd = headers_of(s)
                t = txs.setdefault((client, sid), {})
                for k, name in ((":method", "http_method"), (":path", "url"),
                                (":authority", "hostname")):
                    if k in hd:
                        t[name] = hd[k]
                if ":status" in hd and int(hd[":status"]) >= 200:
                    t["status"] = int(hd[":status"])
    return txs


def nightjar_txs(eve, port):
    with open(eve) as f:
        return nightjar_txs_of([json.loads(line) for line in f], port)


def nightjar_txs_of(records, port):
    txs = {}
    for r in records:
        if r.get("event_type") != "http" or "http2" not in r["http"]:
            continue
        client = r["src_port"] if r["dest_port"] == port else r["dest_port"]
        h = r["http"]
        t = {k: h[k] for k in ("http_method", "url", "hostname", "status") if k in h}
        txs[(client, h["http2"]["stream_id"])] = t
    return txs


def main():
    eve, pcap, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
    want, got = tshark_txs(pcap, port), nightjar_txs(eve, port)
    bad = 0
    for k in sorted(set(want) | set(got)):
        if want.get(k) != got.get(k):
            print(f"connection {k[0]} stream {k[1]}: tshark {want.get(k)} nightjar {got.get(k)}")
            bad += 1
    print(f"{len(want)} transactions from tshark, {len(got)} from nightjar, {bad} differ")
    sys.exit(1 if bad or not want else 0)


if __name__ == "__main__":
    main()
