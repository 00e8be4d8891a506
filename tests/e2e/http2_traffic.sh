#!/bin/sh
# End to end on real HTTP/2 traffic: nghttpd (h2c, no TLS, 127.0.0.1 only,
# with padding and a server push) answers nghttp (several files on one
# connection, then an upload) and curl --http2-prior-knowledge, captured
# with tcpdump on lo. The sensor (ASan build) must find every HTTP/2
# connection, log each stream as an http event with the exact method, url,
# hostname, status and http2.stream_id, give every body as a fileinfo record
# whose SHA-256 is the served (or uploaded) file's, and agree with tshark's
# decoding of the same capture on every stream.
. "$(dirname "$0")/lib/common.sh"
need_root
for t in tcpdump tshark nghttpd nghttp curl; do
    command -v $t >/dev/null || skip "$t is not installed (nghttp2-server, nghttp2-client)"
done
. "$root/tests/e2e/lib/background.sh"
trap 'cleanup; rm -rf "$WORK"' EXIT INT TERM
PORT=${H2_PORT:-28092}
www=$WORK/www
mkdir -p "$www"
echo "hello from nightjar's HTTP/2 test" > "$www/index.html"
head -c 70000 /dev/urandom > "$www/blob.bin"
seq 1 3000 > "$www/numbers.txt"
head -c 5000 /dev/urandom > "$WORK/upload.bin"
pcap=$WORK/h2.pcap

# a 16 MiB kernel buffer: the test lanes keep both cores busy
tcpdump -i lo --immediate-mode -U -s 0 -B 16384 -w "$pcap" "host 127.0.0.1 and port $PORT" \
    >/dev/null 2>"$WORK/tcpdump.log" &
pids="$pids $!"
# -b: padding on every frame; -p: /numbers.txt pushed with /index.html
nghttpd --no-tls -a 127.0.0.1 -b 16 -p /index.html=/numbers.txt -d "$www" "$PORT" \
    >"$WORK/nghttpd.log" 2>&1 &
pids="$pids $!"
for _ in $(seq 1 50); do
    grep -q "listening on" "$WORK/tcpdump.log" 2>/dev/null &&
        curl -s -o /dev/null --http2-prior-knowledge "http://127.0.0.1:$PORT/index.html" 2>/dev/null &&
        break
    sleep 0.1
done
sleep 0.3
# the readiness probe above is a connection of its own: capture starts
# before it, so it is counted below (4 connections in all)
base=http://127.0.0.1:$PORT
nghttp -n "$base/index.html" "$base/blob.bin" "$base/missing.txt" ||
    fail "nghttp could not fetch"
nghttp -n -d "$WORK/upload.bin" "$base/blob.bin" || fail "nghttp could not upload"
curl -s --http2-prior-knowledge -o "$WORK/got.txt" "$base/numbers.txt" ||
    fail "curl could not fetch"
cmp -s "$WORK/got.txt" "$www/numbers.txt" || fail "curl got something else"
sleep 0.5
stop_background
# a capture that lost packets says nothing of the sensor: say so instead
dropped=$(sed -n 's/^\([0-9][0-9]*\) packets dropped by kernel.*/\1/p' "$WORK/tcpdump.log")
[ "${dropped:-0}" -eq 0 ] || fail "tcpdump lost $dropped packets: the capture is incomplete"

eve=$WORK/eve.json
"$NJ" -r "$pcap" -o "$eve" --set eve-log.stats-interval=0 2>"$WORK/err" ||
    fail "nightjar failed: $(exit_meaning $?): $(what_went_wrong "$WORK/err")"

grep '"event_type":"flow"' "$eve" > "$WORK/flows.json"
assert_eq "$(count '"app_proto":"http2"' "$WORK/flows.json")" 4 "HTTP/2 flows"
grep '"event_type":"http"' "$eve" > "$WORK/http.json"
# probe (curl): index.html; nghttp: index.html (+ pushed numbers.txt),
# blob.bin, missing.txt; upload: blob.bin; curl: numbers.txt. curl turns
# server push off (SETTINGS_ENABLE_PUSH 0), nghttp does not.
assert_eq "$(grep -c . "$WORK/http.json")" 7 "http events"
assert_eq "$(count '"protocol":"HTTP/2"' "$WORK/http.json")" 7 "protocol HTTP/2"
assert_eq "$(count "\"hostname\":\"127.0.0.1:$PORT\"" "$WORK/http.json")" 7 "hostname"
assert_eq "$(count '"url":"/index.html","http_user_agent":"nghttp2/' "$WORK/http.json")" 1 \
    "nghttp's GET /index.html"
line() { grep "\"url\":\"$1\"" "$WORK/http.json" | grep -- "$2"; }
line /missing.txt '"http_method":"GET"' | grep -q '"status":404' ||
    fail "GET /missing.txt without its 404"
line /blob.bin '"http_method":"POST"' | grep -q '"request_body_length":5000' ||
    fail "the upload is not a POST /blob.bin with 5000 request bytes"
line /blob.bin '"http_method":"GET"' | grep -q '"status":200,.*"length":70000' ||
    fail "GET /blob.bin without its 200 and 70000 bytes"
# pushed streams are even, the server's; curl's only stream is 1
assert_eq "$(count '"url":"/numbers.txt".*"http2":{"stream_id":2,' "$WORK/http.json")" 1 \
    "pushed /numbers.txt on stream 2"
assert_eq "$(count '"http_user_agent":"curl/[^"]*".*"http2":{"stream_id":1,' "$WORK/http.json")" 2 \
    "curl's streams 1 (probe and fetch)"

# every body is the file served or uploaded
grep '"event_type":"fileinfo"' "$eve" > "$WORK/files.json"
sha() { sha256sum "$1" | cut -d' ' -f1; }
files_with() { count "\"sha256\":\"$(sha "$1")\"" "$WORK/files.json"; }
assert_eq "$(files_with "$www/index.html")" 2 "index.html bodies"
assert_eq "$(files_with "$www/numbers.txt")" 2 "numbers.txt bodies (pushed, fetched)"
[ "$(files_with "$www/blob.bin")" -eq 2 ] ||
    fail "blob.bin bodies (GET and POST's answer): $(files_with "$www/blob.bin") of 2; the files: $(sed 's/.*"fileinfo":\({[^}]*}\).*/\1/' "$WORK/files.json" | tr '\n' ' ')"
assert_eq "$(files_with "$WORK/upload.bin")" 1 "the uploaded body"
assert_eq "$(grep -c . "$WORK/files.json")" 8 "fileinfo records (missing.txt's 404 page too)"
assert_eq "$(count '"gap":true\|"truncated":true' "$WORK/files.json")" 0 "cut files"
grep '"event_type":"stats"' "$eve" > "$WORK/stats.json"
for c in bad_preface bad_frame hpack_errors lost_sync unknown_stream; do
    grep -q "\"$c\":0" "$WORK/stats.json" || fail "http2.$c is not 0"
done
grep -q '"push_promises":1' "$WORK/stats.json" || fail "http2.push_promises is not 1"

# the same streams, field by field, as tshark decodes them
python3 "$root/tests/e2e/lib/h2_check.py" "$eve" "$pcap" "$PORT" > "$WORK/check.log" ||
    fail "differs from tshark: $(cat "$WORK/check.log")"
echo "http2 traffic: 4 connections, 7 streams, 8 bodies by SHA-256; $(tail -1 "$WORK/check.log")"
