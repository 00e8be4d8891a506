#!/bin/sh
# icap_protocol.sh -- nightjar-icap (the sanitizer build) spoken to byte by
# byte (tests/e2e/lib/icap_protocol.py): OPTIONS and its headers, three
# pipelined requests on one persistent connection, previews with 100
# Continue and ieof, answers when 204 is not allowed (the message back
# unmodified, also when only 206 is: nightjar never sends 206), a body past
# icap.max-body streamed back whole, 400/404/405/505 with the connection
# closed, a stalled client answered by the fail mode after icap.timeout,
# 503 past icap.max-connections, an ISTag that changes on SIGHUP, and the
# EVE events (icap, blocked alerts, the client's incident). The server
# must then stop cleanly on SIGTERM.
. "$(dirname "$0")/lib/common.sh"
. "$(dirname "$0")/lib/icap_common.sh"
port=$(free_ports 1)
echo evil-nightjar.test > "$WORK/feed.txt"
start_icap "$WORK/err" "$port" -o "$WORK/eve.json" --intel "list:$WORK/feed.txt" \
    -s icap.max-body=64kb -s icap.timeout=2 -s icap.max-connections=6
python3 "$root/tests/e2e/lib/icap_protocol.py" "$port" "$WORK/eve.json" \
    "$WORK/feed.txt" "$icap_pid" || fail "the conversation above$(icap_note "$WORK/err")"
stop_icap "$WORK/err"

# fail closed: what cannot be judged is blocked, and logged as such
port=$(free_ports 1)
start_icap "$WORK/err2" "$port" -o "$WORK/eve2.json" --fail-closed -s icap.max-body=16kb
python3 - "$port" <<'PY' || fail "fail closed$(icap_note "$WORK/err2")"
import os, socket, sys
port = int(sys.argv[1])
body = os.urandom(40000)
req = b"GET http://www.example.net/x.bin HTTP/1.1\r\nHost: www.example.net\r\n\r\n"
res = b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(body)
msg = (b"RESPMOD icap://127.0.0.1/scan ICAP/1.0\r\nAllow: 204\r\nEncapsulated: req-hdr=0, "
       b"res-hdr=%d, res-body=%d\r\n\r\n" % (len(req), len(req) + len(res)) + req + res +
       b"%x\r\n" % len(body) + body + b"\r\n0\r\n\r\n")
s = socket.create_connection(("127.0.0.1", port), timeout=10)
s.sendall(msg)
got = b""
while b"0\r\n\r\n" not in got:
    d = s.recv(65536)
    if not d:
        break
    got += d
if not got.startswith(b"ICAP/1.0 200") or b"403 Forbidden" not in got or b"larger than icap.max-body" not in got:
    print("FAIL: fail closed: a body over icap.max-body was not blocked: %r" % got[:200])
    sys.exit(1)
PY
stop_icap "$WORK/err2"
grep -q '"fail_mode":"closed"' "$WORK/eve2.json" || fail "fail closed: not logged with fail_mode closed"
grep -q 'fail closed' "$WORK/err2" || fail "fail closed: not said at start"
echo "icap_protocol: ok"
