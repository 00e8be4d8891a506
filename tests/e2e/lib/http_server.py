#!/usr/bin/env python3
"""An HTTP/1.1 server on a loopback address for the end-to-end tests.

Serves the files of DIR three ways, so one run exercises the framings
nightjar has to follow:
  /f/NAME    Content-Length, as stored
  /gz/NAME   gzip content encoding, chunked transfer encoding
  /dl/NAME   read-until-close (HTTP/1.0 style, no length) with a
             Content-Disposition file name
POST bodies are read and answered with 201. Keep-alive is on.
Usage: http_server.py HOST PORT DIR [T]
"""
import gzip
import http.server
import os
import sys
import threading
import time

host, port, root = sys.argv[1], int(sys.argv[2]), sys.argv[3]
lifetime = float(sys.argv[4]) if len(sys.argv) > 4 else 30


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def do_GET(self):
        parts = self.path.split("/", 2)
        if len(parts) != 3 or parts[1] not in ("f", "gz", "dl"):
            self.send_error(404)
            return
        path = os.path.join(root, os.path.basename(parts[2]))
        if not os.path.isfile(path):
            self.send_error(404)
            return
        data = open(path, "rb").read()
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        if parts[1] == "f":
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        elif parts[1] == "gz":
            z = gzip.compress(data, mtime=0)
            self.send_header("Content-Encoding", "gzip")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for i in range(0, len(z), 1000):
                piece = z[i:i + 1000]
                self.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece))
            self.wfile.write(b"0\r\n\r\n")
        else:
            self.send_header("Content-Disposition",
                             'attachment; filename="%s"' % os.path.basename(path))
            self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(data)
            self.close_connection = True

    def do_POST(self):
        n = int(self.headers.get("Content-Length", "0"))
        self.rfile.read(n)
        self.send_response(201)
        self.send_header("Content-Length", "0")
        self.end_headers()


srv = http.server.ThreadingHTTPServer((host, port), Handler)
threading.Thread(target=srv.serve_forever, daemon=True).start()
time.sleep(lifetime)
srv.shutdown()
