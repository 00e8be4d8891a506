#!/usr/bin/env python3
"""anomaly_lab.py -- traffic for the anomaly end-to-end test, made inside a
network namespace of its own (tests/e2e/anomaly_traffic.sh creates it, with
local routes for 10.0.0.0/16, 198.51.100.0/24 and 203.0.113.0/24 on its
loopback, so every address below is a real endpoint and nothing leaves).

Phase 1, "normal" (LEARN seconds): hosts 10.0.0.5, .6, .9 and .66 fetch
pages of 2-20 KB from 198.51.100.20:80 with a person's think times
(exponential, mean 1.2 s); .9 also posts small forms. Phase 2: .5 and .6 go on as before, while the attacker
10.0.0.66 sweeps 10.0.1.1-40 on port 445, then connects to 10.0.0.9's SMB
port (lateral movement); 10.0.0.9 then beacons to 198.51.100.10:443 every
0.5 s and uploads 24 MB to 203.0.113.50:8080 (exfiltration). Prints the
wall-clock time phase 2 starts (for splitting the capture)."""
import random
import socket
import socketserver
import sys
import threading
import time

LEARN = float(sys.argv[1]) if len(sys.argv) > 1 else 20.0
rng = random.Random(7)


class Page(socketserver.BaseRequestHandler):
    """Reads a request (and its body, if any) and answers with as many
    bytes as the path asks for: GET /N."""
    def handle(self):
        s = self.request
        s.settimeout(10)
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = s.recv(65536)
            if not chunk:
                return
            data += chunk
        head, _, body = data.partition(b"\r\n\r\n")
        length = 0
        for line in head.split(b"\r\n")[1:]:
            if line.lower().startswith(b"content-length:"):
                length = int(line.split(b":")[1])
        while len(body) < length:
            chunk = s.recv(1 << 20)
            if not chunk:
                break
            body += chunk
        try:
            size = int(head.split(b" ")[1].strip(b"/") or b"100")
        except ValueError:
            size = 100
        s.sendall(b"HTTP/1.0 200 OK\r\nContent-Length: %d\r\n\r\n" % size + b"x" * size)


class Smb(socketserver.BaseRequestHandler):
    def handle(self):
        self.request.settimeout(5)
        try:
            self.request.recv(4096)
            self.request.sendall(b"\x00\x00\x00\x45\xfeSMB" + b"\x00" * 64)
        except OSError:
            pass


class Server(socketserver.ThreadingTCPServer):
    allow_reuse_address = True
    daemon_threads = True


def serve(addr, handler):
    srv = Server(addr, handler)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    return srv


BROWSER = (b"User-Agent: Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 "
           b"(KHTML, like Gecko) Chrome/120.0 Safari/537.36\r\n"
           b"Accept: text/html,*/*;q=0.8\r\nAccept-Language: en-GB,en;q=0.9\r\n")


def request(src, dst, port, path, body=b"", headers=b""):
    s = socket.socket()
    s.settimeout(10)
    s.bind((src, 0))
    try:
        s.connect((dst, port))
        method = b"POST" if body else b"GET"
        s.sendall(b"%s /%s HTTP/1.0\r\nHost: lab\r\n%sContent-Length: %d\r\n\r\n"
                  % (method, path.encode(), headers, len(body)) + body)
        while s.recv(65536):
            pass
    except OSError:
        pass
    finally:
        s.close()


def browse(host, until, posts=False):
    # a person's think times: exponential (mean 1.2 s, squeezed into a
    # short test), with now and then two pages back to back; a browser's
    # request headers
    mine = random.Random(host)
    while time.time() < until:
        request(host, "198.51.100.20", 80, str(mine.randint(2000, 20000)), headers=BROWSER)
        if posts and mine.random() < 0.5:
            request(host, "198.51.100.20", 80, "200", b"f" * mine.randint(300, 1500),
                    headers=BROWSER)
        if mine.random() < 0.2:
            continue
        time.sleep(min(mine.expovariate(1 / 1.2), 6))


def probe(src, dst, port):
    s = socket.socket()
    s.settimeout(1)
    s.bind((src, 0))
    try:
        s.connect((dst, port))
    except OSError:
        pass
    finally:
        s.close()


def main():
    serve(("198.51.100.20", 80), Page)
    serve(("198.51.100.10", 443), Page)
    serve(("203.0.113.50", 8080), Page)
    serve(("10.0.0.9", 445), Smb)
    time.sleep(0.5)
    start = time.time()
    normal = [threading.Thread(target=browse, args=(h, start + LEARN + 30, h == "10.0.0.9"))
              for h in ("10.0.0.5", "10.0.0.6")]
    learning = [threading.Thread(target=browse, args=(h, start + LEARN, h == "10.0.0.9"))
                for h in ("10.0.0.9", "10.0.0.66")]
    for t in normal + learning:
        t.start()
    for t in learning:
        t.join()
    time.sleep(2)
    print("%.6f" % time.time(), flush=True)  # phase 2 starts
    for i in range(1, 41):                    # the sweep
        probe("10.0.0.66", "10.0.1.%d" % i, 445)
        time.sleep(0.02)
    time.sleep(1)
    request("10.0.0.66", "10.0.0.9", 445, "x")  # lateral movement (SMB)
    time.sleep(1)
    for _ in range(14):                       # beaconing
        request("10.0.0.9", "198.51.100.10", 443, "180", b"b" * 64)
        time.sleep(0.5)
    request("10.0.0.9", "203.0.113.50", 8080, "120", b"z" * (24 << 20))  # exfiltration
    for t in normal:
        t.join()
    time.sleep(1)


if __name__ == "__main__":
    main()
