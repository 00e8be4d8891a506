#!/usr/bin/env python3
"""Seeds for fuzz_app from real captures: DNS messages (mode 0), HTTP,
SMTP and FTP conversations (modes 1, 2 and 4: the client's and server's
bytes in order, with 0xff where the direction changes; a conversation the
server opens, as SMTP and FTP do, starts with 0xff, since the harness
starts on the client's side) and the mail messages inside them (mode 3),
MS-RPC on its own port and SMB conversations (modes 5 and 6);
and a few made-up FTP sessions for what the captures lack (pipelining,
multi-line replies, EPSV/PORT/EPRT, AUTH TLS).
Usage: seed_app.py OUTDIR CAPTURE...   (needs tshark)"""
import hashlib
import os
import subprocess
import sys

out = sys.argv[1]
os.makedirs(out, exist_ok=True)


def save(mode, data):
    blob = bytes([mode]) + data[:16384]
    with open(os.path.join(out, hashlib.sha1(blob).hexdigest()), "wb") as f:
        f.write(blob)


def fields(path, flt, fs):
    cmd = ["tshark", "-n", "-r", path, "-Y", flt, "-T", "fields"]
    for f in fs:
        cmd += ["-e", f]
    r = subprocess.run(cmd, capture_output=True, text=True)
    return [l.split("\t") for l in r.stdout.splitlines()]


def is_ftp(segs):
    if b"FTP" in segs[0][1][:256].upper():
        return True
    # a client that logs in; IRC also says USER, with " :real name"
    return any(d[:5].upper() == b"USER " and b" :" not in d for _, d in segs)


for path in sys.argv[2:]:
    for (p,) in fields(path, "dns && udp", ["udp.payload"])[:50]:
        if p:  # a datagram inside ICMP gives two payloads: the outer one
            save(0, bytes.fromhex(p.split(",")[0].replace(":", "")))
    convs = {}
    for stream, sport, payload in fields(path, "tcp.len > 0", ["tcp.stream", "tcp.srcport", "tcp.payload"]):
        if payload:
            convs.setdefault(stream, []).append(
                (sport, bytes.fromhex(payload.split(",")[0].replace(":", ""))))
    ftp = [k for k, segs in convs.items() if is_ftp(segs)][:5]
    for k in list(convs)[:20] + [k for k in ftp if k not in list(convs)[:20]]:
        segs = convs[k]
        server_first = segs[0][1][:3].isdigit()
        blob, last = (b"\xff" if server_first else b""), segs[0][0]
        for sport, data in segs:
            if sport != last:
                blob += b"\xff"
                last = sport
            blob += data.replace(b"\xff", b"\xfe")
        if k in ftp:
            mode = 4
        elif segs[0][1][:3] == b"\x05\x00\x0b":
            mode = 5  # MS-RPC on its own port
        elif segs[0][1][4:8] in (b"\xfeSMB", b"\xffSMB"):
            mode = 6  # SMB (0xff stays a direction marker: SMB1 turns 0xfe)
        elif segs[0][1][:4] in (b"220 ", b"220-", b"EHLO", b"HELO"):
            mode = 2
        else:
            mode = 1
        save(mode, blob)
        if mode == 2 and b"\r\n\r\n" in blob:
            save(3, blob[blob.find(b"DATA\r\n") + 6:] if b"DATA\r\n" in blob else blob)

# made up: what the captures in the corpus do not show; each part is one
# turn of the conversation, the server's first
for turns in (
    [b"220-multi\r\n220 line greeting\r\n", b"USER a\r\nPASS b\r\nSYST\r\nFEAT\r\n",
     b"331 pw\r\n230 in\r\n215 UNIX\r\n211-Features:\r\n EPSV\r\n MLSD\r\n211 End\r\n",
     b"EPSV\r\n", b"229 Entering Extended Passive Mode (|||50001|)\r\n", b"RETR x.bin\r\n",
     b"150 Opening\r\n226 Done\r\n", b"QUIT\r\n", b"221 Bye\r\n"],
    [b"220 FTP\r\n", b"USER u\r\n", b"331 pw\r\n", b"PASS p\r\n", b"230 ok\r\n",
     b"PORT 10,0,0,5,4,1\r\nSTOR a\r\nEPRT |2|2001:db8::1|5282|\r\nAPPE b\r\n",
     b"200 PORT ok\r\n150 go\r\n226 ok\r\n200 EPRT ok\r\n150 go\r\n226 ok\r\n"],
    [b"220 FTP\r\n", b"AUTH TLS\r\n", b"234 AUTH TLS OK.\r\n", b"\x16\x03\x01\x00\x05hello"],
    [b"220 FTP\r\n", b"USER u\r\n", b"331 pw\r\n", b"PASS p\r\n", b"230 ok\r\n", b"PASV\r\n",
     b"227 Entering Passive Mode (192,168,1,2,19,137)\r\n", b"STOU\r\n",
     b"150 FILE: x\r\n226 ok\r\n"],
):
    save(4, b"".join(b"\xff" + t for t in turns))
