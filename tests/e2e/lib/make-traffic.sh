#!/bin/sh
# make-traffic.sh OUT.pcap -- real traffic on 127.0.0.1, captured by tcpdump.
#
# Starts, on loopback only: an OpenSSL TLS server, a Python HTTP server and a
# tiny DNS responder; then runs openssl s_client (TLS 1.3 and 1.2), curl (two
# requests on one keep-alive connection) and dig against them, and writes
# what tcpdump saw to OUT.pcap. Prints what it made. Used by the end-to-end
# test and to regenerate samples/demo.pcap. Needs root for tcpdump.
set -eu
out=$1
here=$(cd "$(dirname "$0")" && pwd)
. "$here/background.sh"

TLS_PORT=${TLS_PORT:-18443} HTTP_PORT=${HTTP_PORT:-18080} DNS_PORT=${DNS_PORT:-53}

openssl req -x509 -newkey rsa:2048 -nodes -keyout "$work/key.pem" \
    -out "$work/cert.pem" -days 2 -subj "/CN=demo.nightjar.test" \
    -addext "subjectAltName=DNS:demo.nightjar.test" >/dev/null 2>&1
mkdir -p "$work/www"
head -c 50000 /dev/urandom > "$work/www/blob.bin"
echo "hello from nightjar's test server" > "$work/www/index.html"

# --immediate-mode: without it, packets reach tcpdump in blocks up to 1 s
# late, and the last ones are lost when it is stopped
tcpdump -i lo --immediate-mode -U -s 0 -w "$out" \
    "host 127.0.0.1 and (port $TLS_PORT or port $HTTP_PORT or port $DNS_PORT)" \
    >/dev/null 2>"$work/tcpdump.log" &
pids="$pids $!"
openssl s_server -accept "127.0.0.1:$TLS_PORT" -cert "$work/cert.pem" \
    -key "$work/key.pem" -www -quiet >/dev/null 2>&1 &
pids="$pids $!"
(cd "$work/www" && exec python3 -m http.server "$HTTP_PORT" --bind 127.0.0.1) \
    >/dev/null 2>&1 &
pids="$pids $!"
python3 "$here/dns_responder.py" 127.0.0.1 "$DNS_PORT" 4 30 &
pids="$pids $!"

# wait for tcpdump and the servers to listen
for _ in $(seq 1 50); do
    grep -q "listening on" "$work/tcpdump.log" 2>/dev/null &&
        curl -s -o /dev/null "http://127.0.0.1:$HTTP_PORT/" 2>/dev/null && break
    sleep 0.1
done
sleep 0.3

printf 'GET / HTTP/1.0\r\n\r\n' | timeout 10 openssl s_client -quiet \
    -connect "127.0.0.1:$TLS_PORT" -servername demo.nightjar.test \
    -tls1_3 >/dev/null 2>&1 || true
printf 'GET / HTTP/1.0\r\n\r\n' | timeout 10 openssl s_client -quiet \
    -connect "127.0.0.1:$TLS_PORT" -servername demo.nightjar.test \
    -tls1_2 >/dev/null 2>&1 || true
curl -s -o /dev/null -o /dev/null "http://127.0.0.1:$HTTP_PORT/index.html" \
    "http://127.0.0.1:$HTTP_PORT/blob.bin"
if command -v dig >/dev/null 2>&1; then
    dig +tries=1 +time=2 @127.0.0.1 -p "$DNS_PORT" demo.nightjar.test A >/dev/null || true
    dig +tries=1 +time=2 @127.0.0.1 -p "$DNS_PORT" demo.nightjar.test TXT >/dev/null || true
else
    python3 - "$DNS_PORT" <<'PY'
import socket, struct, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.settimeout(2)
for qtype in (1, 16):
    q = struct.pack("!HHHHHH", 0x1234 + qtype, 0x0100, 1, 0, 0, 0)
    q += b"\x04demo\x08nightjar\x04test\x00" + struct.pack("!HH", qtype, 1)
    s.sendto(q, ("127.0.0.1", int(sys.argv[1])))
    try: s.recvfrom(4096)
    except socket.timeout: pass
PY
fi
sleep 0.5
echo "made $out: TLS 1.3 + TLS 1.2 on $TLS_PORT, HTTP on $HTTP_PORT, DNS on $DNS_PORT"
