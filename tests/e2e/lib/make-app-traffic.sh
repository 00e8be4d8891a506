#!/bin/sh
# make-app-traffic.sh OUT.pcap FILESDIR -- real cleartext application
# traffic on 127.0.0.1, captured by tcpdump, for content detection.
#
# Starts, on loopback only: the test DNS responder, an HTTP server
# (lib/http_server.py) and an SMTP sink (lib/smtp_sink.py). Then:
#   dig        A and TXT queries for www.nightjar.test (A answers 127.0.0.1)
#   curl       GET /f/eicar.txt (Content-Length), /gz/clean.txt (gzip,
#              chunked) on one keep-alive connection; /dl/report.bin (read
#              until close, Content-Disposition); POST of upload.txt
#   swaks      one multipart mail: text body with a URL, the EICAR file and
#              report.bin attached, an RFC 2047 subject
# FILESDIR receives the files served and sent (eicar.txt, clean.txt,
# report.bin, upload.txt) and the message the sink got (mail/msg-1.eml), so
# tests can compare hashes. Needs root for tcpdump.
set -eu
out=$1
files=$2
here=$(cd "$(dirname "$0")" && pwd)
HTTP_PORT=${HTTP_PORT:-18081} SMTP_PORT=${SMTP_PORT:-18025} DNS_PORT=${DNS_PORT:-53}
. "$here/background.sh"

mkdir -p "$files/mail"
# the EICAR test file is written here, never kept in the repository
printf '%s' 'X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*' \
    > "$files/eicar.txt"
i=0
while [ $i -lt 400 ]; do
    echo "line $i of a clean, compressible text file served gzip-encoded"
    i=$((i + 1))
done > "$files/clean.txt"
head -c "${REPORT_BYTES:-120000}" /dev/urandom > "$files/report.bin"
echo "an uploaded form body, nothing to see" > "$files/upload.txt"

# --immediate-mode: without it, packets reach tcpdump in blocks up to 1 s
# late, and the last ones are lost when it is stopped
tcpdump -i lo --immediate-mode -U -s 0 -B 65536 -w "$out" \
    "host 127.0.0.1 and (port $HTTP_PORT or port $SMTP_PORT or port $DNS_PORT)" \
    >/dev/null 2>"$work/tcpdump.log" &
pids="$pids $!"
python3 "$here/http_server.py" 127.0.0.1 "$HTTP_PORT" "$files" 40 &
pids="$pids $!"
python3 "$here/smtp_sink.py" 127.0.0.1 "$SMTP_PORT" "$files/mail" 1 40 &
pids="$pids $!"
python3 "$here/dns_responder.py" 127.0.0.1 "$DNS_PORT" 4 40 &
pids="$pids $!"

for _ in $(seq 1 50); do
    grep -q "listening on" "$work/tcpdump.log" 2>/dev/null &&
        curl -s -o /dev/null "http://127.0.0.1:$HTTP_PORT/none" 2>/dev/null && break
    sleep 0.1
done
sleep 0.3

dig +tries=1 +time=2 @127.0.0.1 -p "$DNS_PORT" www.nightjar.test A >/dev/null || true
dig +tries=1 +time=2 @127.0.0.1 -p "$DNS_PORT" www.nightjar.test TXT >/dev/null || true
curl -s -o /dev/null -o /dev/null "http://127.0.0.1:$HTTP_PORT/f/eicar.txt" \
    "http://127.0.0.1:$HTTP_PORT/gz/clean.txt"
curl -s -o /dev/null --http1.0 "http://127.0.0.1:$HTTP_PORT/dl/report.bin"
curl -s -o /dev/null --data-binary "@$files/upload.txt" \
    -H "Content-Type: text/plain" "http://127.0.0.1:$HTTP_PORT/upload"
swaks --server "127.0.0.1:$SMTP_PORT" --helo client.nightjar.test \
    --from alice@nightjar.test --to bob@nightjar.test,carol@nightjar.test \
    --header 'Subject: =?UTF-8?B?UmFwcG9ydCDDqXTDqQ==?= quarterly' \
    --body 'Please read https://login.nightjar.test/reset?id=42 today.' \
    --attach-type text/plain --attach-name eicar.txt --attach "@$files/eicar.txt" \
    --attach-type application/octet-stream --attach-name report.bin \
    --attach "@$files/report.bin" >/dev/null 2>&1 || echo "swaks failed" >&2
sleep 1
# tcpdump reports what the kernel dropped when it stops; a test that needs
# every byte can see it on stderr
echo "made $out: DNS on $DNS_PORT, HTTP on $HTTP_PORT, SMTP on $SMTP_PORT"
