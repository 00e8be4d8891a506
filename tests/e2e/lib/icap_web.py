#!/usr/bin/env python3
"""icap_web.py HOST PORT DIR LOG [T] -- the origin server of
tests/e2e/icap_squid.sh: serves the files of DIR (GET /NAME, Content-Length,
keep-alive) on a loopback address for at most T seconds (default 60), and
appends every request line it receives to LOG ("GET /NAME HTTP/1.1"), so a
test can tell that a request never reached it.

Bodies are paced like a remote server's: the first 8 KiB, a 0.3 s pause,
then 8 KiB every 2 ms (1 MiB in about half a second). Squid 5 (Debian 12)
stalls a RESPMOD transaction until read_timeout when the origin fills its
64 KiB adaptation buffer while it waits for the ICAP server's answer to the
preview, or fills it to the last byte in one read (Squid bug 5352, fixed in
later releases) -- on loopback a file bigger than 64 KiB arrives that fast
and every ICAP server that reads the whole body would hang there. The
pacing keeps Squid's buffer from filling; it changes nothing that reaches
the ICAP server."""
import http.server
import os
import sys
import threading
import time

host, port, root, log = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
lifetime = float(sys.argv[5]) if len(sys.argv) > 5 else 60
lock = threading.Lock()
PIECE = 8192


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True   # the head and the pieces go out as written

    def log_message(self, *args):
        pass

    def do_GET(self):
        with lock, open(log, "a") as f:
            f.write(self.requestline + "\n")
        path = os.path.join(root, os.path.basename(self.path.split("?")[0]))
        if not os.path.isfile(path):
            self.send_error(404)
            return
        data = open(path, "rb").read()
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data[:PIECE])
        self.wfile.flush()
        if len(data) > PIECE:
            time.sleep(0.3)
        for i in range(PIECE, len(data), PIECE):
            self.wfile.write(data[i:i + PIECE])
            self.wfile.flush()
            time.sleep(0.002)


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True


srv = Server((host, port), Handler)
threading.Thread(target=srv.serve_forever, daemon=True).start()
time.sleep(lifetime)
srv.shutdown()
