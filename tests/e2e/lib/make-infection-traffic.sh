#!/bin/sh
# make-infection-traffic.sh OUT.pcap [BEACONS [MILD]] -- what an infection looks
# like on the wire, made with real tools inside a network namespace this
# script creates (loopback only: nothing leaves the machine), captured by
# tcpdump. samples/demo-detection.pcap was made with it.
#
# The namespace's loopback answers for 10.0.0.0/16 (the "internal" network)
# and 198.51.100.0/24 (TEST-NET-2, "the Internet"). Then:
#   1. delivery: the workstation 10.0.0.23 fetches http://198.51.100.7/invoice.png
#      with curl -- the server is asked for by address, and the "image" is an
#      unsigned Windows executable (a minimal PE made by lib/tiny_pe.py);
#   2. command and control: the same workstation connects BEACONS times
#      (default 10) to 198.51.100.9:7443 (lib/tls_beacon.py, Python's ssl),
#      without SNI, every 4-6 s, to an openssl s_server whose certificate is
#      self-signed with OpenSSL's default subject (Internet Widgits Pty
#      Ltd), sends a check-in line and reads the answer;
#   3. ordinary traffic around it: a second workstation 10.0.0.31 fetches a
#      page and a PNG that is a PNG from 198.51.100.20 by name (Host header),
#      with a browser's User-Agent and Accept-Language.
# MILD=mild makes the same traffic just under every line instead: the
# "invoice.png" is a PNG, and the TLS server on port 8443 (a service port)
# presents a self-signed certificate for a host name (beacons.example.net,
# not OpenSSL's default subject) -- a client that checks in twice.
# Needs root (network namespace, tcpdump), curl, openssl, python3.
set -eu
out=$1
beacons=${2:-10}
mild=${3:-}
here=$(cd "$(dirname "$0")" && pwd)
. "$here/background.sh"
ns=nj-infect-$$
cleanup_ns() { ip netns del "$ns" 2>/dev/null || true; }
trap 'stop_background; cleanup_ns; rm -rf "$work"' EXIT INT TERM
ip netns add "$ns"
ip -n "$ns" link set lo up
for net in 10.0.0.0/16 198.51.100.0/24; do
    ip -n "$ns" route add local "$net" dev lo table local
done
in_ns() { ip netns exec "$ns" "$@"; }

mkdir -p "$work/www"
if [ "$mild" = mild ]; then
    python3 -c 'import base64,sys; open(sys.argv[1],"wb").write(base64.b64decode(
"iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg=="))' \
        "$work/www/invoice.png"
    subject="/CN=beacons.example.net"
    port=8443
else
    python3 "$here/tiny_pe.py" "$work/www/invoice.png"
    subject="/C=AU/ST=Some-State/O=Internet Widgits Pty Ltd"
    port=7443
fi
printf '<html><body>quarterly figures</body></html>\n' > "$work/www/index.html"
# a real PNG (1x1), so the ordinary fetch is an image that is an image
python3 -c 'import base64,sys; open(sys.argv[1],"wb").write(base64.b64decode(
"iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg=="))' \
    "$work/www/logo.png"
openssl req -x509 -newkey rsa:2048 -nodes -days 30 -keyout "$work/key.pem" \
    -out "$work/cert.pem" -subj "$subject" \
    >/dev/null 2>&1

# started with ip netns exec itself, which execs them: through in_ns, "&"
# would fork a subshell, $! would be its pid, and killing it would leave
# tcpdump and the servers running in a namespace deleted under them
ip netns exec "$ns" tcpdump -i lo -U -s 0 -B 32768 -w "$out" 'tcp' >/dev/null 2>"$work/tcpdump.log" &
pids="$pids $!"
ip netns exec "$ns" python3 -m http.server --bind 198.51.100.7 80 --directory "$work/www" \
    >/dev/null 2>&1 &
pids="$pids $!"
ip netns exec "$ns" python3 -m http.server --bind 198.51.100.20 80 --directory "$work/www" \
    >/dev/null 2>&1 &
pids="$pids $!"
# -rev: the server answers each line reversed, like a controller answering
ip netns exec "$ns" openssl s_server -quiet -rev -accept "198.51.100.9:$port" -cert "$work/cert.pem" \
    -key "$work/key.pem" >/dev/null 2>&1 &
pids="$pids $!"
for _ in $(seq 1 50); do
    grep -q "listening on" "$work/tcpdump.log" 2>/dev/null &&
        in_ns curl -s -o /dev/null http://198.51.100.20/ 2>/dev/null && break
    sleep 0.1
done
sleep 0.5

browser="Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36"
in_ns curl -s -o /dev/null -o /dev/null --interface 10.0.0.31 -A "$browser" \
    -H "Accept-Language: en-GB,en;q=0.9" -H "Host: intranet-news.example" \
    http://198.51.100.20/index.html http://198.51.100.20/logo.png
in_ns curl -s -o /dev/null --interface 10.0.0.23 -A "$browser" \
    -H "Accept-Language: en-GB,en;q=0.9" http://198.51.100.7/invoice.png
in_ns python3 "$here/tls_beacon.py" 10.0.0.23 198.51.100.9 "$port" "$beacons"
sleep 1
stop_background
