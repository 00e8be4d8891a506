#!/bin/sh
# Passive TLS decryption of real sessions on 127.0.0.1: openssl s_server
# (-HTTP, its key log written with -keylogfile) and s_client/curl fetch
# files over every TLS 1.3 suite, TLS 1.2 AEAD suites (GCM, ChaCha20, CCM,
# CCM_8), CBC with encrypt-then-MAC and without, TLS 1.1 and 1.0, resumed
# sessions (ticket and session ID), a KeyUpdate, and an RSA key exchange
# opened with the server's key (--rsa-key). With the key log, every
# request is an http event marked decrypted, every body a fileinfo whose
# sha256 is the served file's, the EICAR file alerts; the same requests
# and objects as tshark decrypts with the same secrets. Without the key
# log none of it appears; a wrong RSA key and garbage key log lines are
# counted and the run goes on. Live on lo, a key log the server writes
# while the sensor runs is followed as it grows.
. "$(dirname "$0")/lib/common.sh"
need_root
for t in tcpdump tshark openssl curl python3; do
    command -v $t >/dev/null || skip "$t is not installed"
done
cd "$WORK" || exit 1
P=29460        # s_server with its key log (all suites)
PR=29461       # s_server for the RSA key exchange (no key log used)
openssl req -x509 -newkey rsa:2048 -nodes -keyout srv.key -out srv.pem -days 2 \
    -subj "/CN=dec.nightjar.test" >/dev/null 2>&1
openssl genrsa -out wrong.key 2048 >/dev/null 2>&1
# the bodies, and what s_server -HTTP sends: each file with its headers
# (a Content-Length, so that tshark too sees each response end)
mkdir body www
printf 'X5O!P%%@AP[4\\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*' > body/eicar.com
i=0
for name in t13a t13b t13c t13d t13e t12gcm t12cha t12ccm t12ccm8 t12cbc t12mte \
            t11 t10 tick1 tick2 sid1 sid2 kupd curl rsa rsa2 rsa3 rsa4; do
    i=$((i + 1))
    head -c $((700 + i * 997)) /dev/urandom | base64 > "body/$name.txt"
done
for f in body/*; do
    printf 'HTTP/1.0 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: %s\r\n\r\n' \
        "$(wc -c < "$f")" > "www/$(basename "$f")"
    cat "$f" >> "www/$(basename "$f")"
done
pids=""
cleanup() { for p in $pids; do kill "$p" 2>/dev/null; done; wait 2>/dev/null; rm -rf "$WORK"; }
trap cleanup EXIT
tcpdump -i lo --immediate-mode -U -s 0 -w dec.pcap "host 127.0.0.1 and (port $P or port $PR)" \
    >/dev/null 2>td.log &
pids="$pids $!"
(cd www && exec openssl s_server -accept 127.0.0.1:$P -cert ../srv.pem -key ../srv.key \
    -HTTP -quiet -keylogfile ../server.keys -cipher 'ALL:@SECLEVEL=0' \
    -ciphersuites 'TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256:TLS_AES_128_CCM_SHA256:TLS_AES_128_CCM_8_SHA256' \
    >/dev/null 2>&1) &
pids="$pids $!"
(cd www && exec openssl s_server -accept 127.0.0.1:$PR -cert ../srv.pem -key ../srv.key \
    -HTTP -quiet -cipher AES256-SHA -no_tls1_3 >/dev/null 2>&1) &
pids="$pids $!"
for _ in $(seq 1 50); do grep -q listening td.log 2>/dev/null && break; sleep 0.1; done
for port in $P $PR; do
    for _ in $(seq 1 100); do port_open $port && break; sleep 0.1; done
done
sleep 0.5
# get FILE [s_client options]: one request on a new connection
get() {
    f=$1; shift
    printf 'GET /%s HTTP/1.0\r\n\r\n' "$f" |
        timeout 10 openssl s_client -quiet -connect 127.0.0.1:$P "$@" >/dev/null 2>&1 || true
}
get t13a.txt -tls1_3 -ciphersuites TLS_AES_128_GCM_SHA256
get t13b.txt -tls1_3 -ciphersuites TLS_AES_256_GCM_SHA384
get t13c.txt -tls1_3 -ciphersuites TLS_CHACHA20_POLY1305_SHA256
get t13d.txt -tls1_3 -ciphersuites TLS_AES_128_CCM_SHA256
get t13e.txt -tls1_3 -ciphersuites TLS_AES_128_CCM_8_SHA256
get eicar.com -tls1_3
get t12gcm.txt -tls1_2 -cipher ECDHE-RSA-AES256-GCM-SHA384
get t12cha.txt -tls1_2 -cipher ECDHE-RSA-CHACHA20-POLY1305
get t12ccm.txt -tls1_2 -cipher AES128-CCM
get t12ccm8.txt -tls1_2 -cipher AES256-CCM8
get t12cbc.txt -tls1_2 -cipher ECDHE-RSA-AES128-SHA256
get t12mte.txt -tls1_2 -cipher ECDHE-RSA-AES256-SHA -no_etm
get t11.txt -tls1_1 -cipher 'ECDHE-RSA-AES128-SHA:@SECLEVEL=0'
get t10.txt -tls1 -cipher 'AES128-SHA:@SECLEVEL=0'
# resumption: by ticket, then by session ID (no tickets)
get tick1.txt -tls1_2 -cipher ECDHE-RSA-AES128-GCM-SHA256 -sess_out tick.sess
get tick2.txt -tls1_2 -cipher ECDHE-RSA-AES128-GCM-SHA256 -sess_in tick.sess
get sid1.txt -tls1_2 -cipher ECDHE-RSA-AES128-GCM-SHA256 -no_ticket -sess_out sid.sess
get sid2.txt -tls1_2 -cipher ECDHE-RSA-AES128-GCM-SHA256 -no_ticket -sess_in sid.sess
# TLS 1.3 KeyUpdate ("K": this side updates and asks the peer to), then
# the request under the new keys
(printf 'K\n'; sleep 0.5; printf 'GET /kupd.txt HTTP/1.0\r\n\r\n'; sleep 1) |
    timeout 10 openssl s_client -tls1_3 -connect 127.0.0.1:$P >kupd.out 2>&1 || true
SSLKEYLOGFILE=$WORK/curl.keys curl -sk --max-time 10 -o /dev/null \
    "https://127.0.0.1:$P/curl.txt" || true
# RSA key exchange, opened only with the server's key: a full handshake,
# then resumed by ticket; a full one without tickets, resumed by ID (the
# master secret comes from the sensor's own cache of earlier sessions)
rsa() {
    f=$1; shift
    printf 'GET /%s HTTP/1.0\r\n\r\n' "$f" |
        timeout 10 openssl s_client -quiet -connect 127.0.0.1:$PR -tls1_2 \
            -cipher AES256-SHA "$@" >/dev/null 2>&1 || true
}
rsa rsa.txt -sess_out rsa.sess
rsa rsa2.txt -sess_in rsa.sess
rsa rsa3.txt -no_ticket -sess_out rsa3.sess
rsa rsa4.txt -no_ticket -sess_in rsa3.sess
sleep 1
grep -q KEYUPDATE kupd.out || fail "s_client did not send its KeyUpdate: $(tail -3 kupd.out)"
# the key logs as given to the sensor: the server's and curl's, and
# garbage lines that must be counted, not fatal
cat server.keys curl.keys > all.keys
printf 'this is not a key log line\nCLIENT_RANDOM zz 00\n' >> all.keys

run() { "$NJ" -q -r dec.pcap -s eve-log.stats-interval=0 "$@" ||
            fail "nightjar $*: $(exit_meaning $?)"; }
run -o plain.json
run -o dec.json --keylog all.keys --rsa-key "srv.key:127.0.0.1:$PR" 2>dec.err
run -o wrong.json --keylog server.keys --rsa-key "wrong.key:127.0.0.1:$PR" 2>wrong.err

# without secrets: nothing of the cleartext
assert_eq "$(count '"event_type":"http"' plain.json)" 0 "http events without a key log"
assert_eq "$(count '"event_type":"fileinfo"' plain.json)" 0 "files without a key log"
assert_eq "$(count '"signature_id":9100001' plain.json)" 0 "EICAR alerts without a key log"

# with them: every request, every object, the alert
ok=0
for f in body/*; do
    name=$(basename "$f")
    grep '"event_type":"http"' dec.json | grep -q "\"url\":\"/$name\"" ||
        fail "no decrypted http event for /$name"
    sum=$(sha256sum "$f" | cut -d' ' -f1)
    grep '"event_type":"fileinfo"' dec.json | grep -q "\"sha256\":\"$sum\"" ||
        fail "no fileinfo with the sha256 of /$name"
    ok=$((ok + 1))
done
grep '"event_type":"http"' dec.json | grep -v -q '"decrypted":true' &&
    fail "an http event is not marked decrypted"
grep -q '"signature_id":9100001' dec.json || fail "the EICAR download over TLS did not alert"
grep -q "not in the NSS key log format" dec.err || fail "garbage key log lines not reported"
[ "$(grep -c "not in the NSS key log format" dec.err)" -eq 1 ] || fail "reported more than once"
st() { python3 -c "
import json,sys
for l in open(sys.argv[1]):
    d = json.loads(l)
    if d.get('event_type') == 'stats':
        s = d['stats']
for k in sys.argv[2].split('.'):
    s = s.get(k, 0) if isinstance(s, dict) else 0
print(s)" "$1" "$2"; }
assert_eq "$(st dec.json keylog.bad_lines)" 2 "keylog.bad_lines"
assert_eq "$(st dec.json tls_decrypt.records_auth_failed)" 0 "records that failed to open"
assert_eq "$(st dec.json tls_decrypt.rsa_opened)" 2 "RSA premasters opened"
assert_eq "$(st dec.json tls_decrypt.resumed)" 2 "sessions resumed from the sensor's cache"
[ "$(st dec.json tls_decrypt.key_updates)" -ge 2 ] || fail "key updates: $(st dec.json tls_decrypt.key_updates)"
# a wrong RSA key: counted, the session left encrypted, the rest decrypted
assert_eq "$(st wrong.json tls_decrypt.rsa_failed)" 2 "a wrong RSA key counted"
assert_eq "$(grep -c 'no --rsa-key opened' wrong.err)" 1 "a wrong RSA key reported once"
grep '"event_type":"http"' wrong.json | grep -q '"url":"/rsa.txt"' &&
    fail "a wrong RSA key decrypted something"
grep '"event_type":"http"' wrong.json | grep -q '"url":"/t13a.txt"' ||
    fail "a wrong RSA key stopped the other sessions"

# tshark with the same secrets: the same requests, the same objects
tsh() { tshark -r dec.pcap -o tls.keylog_file:all.keys -o "uat:rsa_keys:\"$WORK/srv.key\",\"\"" \
             -d tls.port==$P,http -d tls.port==$PR,http "$@" 2>/dev/null; }
tsh -Y http.request -T fields -e http.request.uri | sort > tshark.urls
grep '"event_type":"http"' dec.json | sed 's/.*"url":"\([^"]*\)".*/\1/' | sort > nj.urls
diff tshark.urls nj.urls > urls.diff || fail "requests differ from tshark: $(cat urls.diff)"
mkdir objs
tsh -q --export-objects "http,$WORK/objs" >/dev/null
(cd objs && sha256sum -- * | cut -d' ' -f1 | sort) > tshark.sums
grep '"event_type":"fileinfo"' dec.json | sed 's/.*"sha256":"\([0-9a-f]*\)".*/\1/' | sort > nj.sums
diff tshark.sums nj.sums > sums.diff || fail "objects differ from tshark's export: $(cat sums.diff)"
# live: the sensor on lo follows a key log the client writes as sessions
# start, as a browser writes SSLKEYLOGFILE: a client logs each secret
# before it sends the records it protects. (A server's log is no stand-in:
# OpenSSL's s_server logs the client's application secret only once it has
# read the client's Finished, which the client's first request can beat --
# docs/decryption.md)
PL=29462
: > live.keys
"$NJ" -q -i lo -f "tcp port $PL" --keylog live.keys -o live.json 2>live.err &
nj=$!
pids="$pids $nj"
(cd www && exec openssl s_server -accept 127.0.0.1:$PL -cert ../srv.pem -key ../srv.key \
    -HTTP -quiet >/dev/null 2>&1) &
pids="$pids $!"
for _ in $(seq 1 100); do port_open $PL && break; sleep 0.1; done
sleep 2
for v in -tls1_2 -tls1_3; do
    f=t13a.txt; [ "$v" = -tls1_2 ] && f=t12gcm.txt
    printf 'GET /%s HTTP/1.0\r\n\r\n' "$f" |
        timeout 10 openssl s_client -quiet -connect 127.0.0.1:$PL $v \
            -keylogfile live.keys >/dev/null 2>&1 || true
    sleep 0.3
done
grep -q CLIENT_TRAFFIC_SECRET_0 live.keys || fail "s_client wrote no TLS 1.3 secrets"
sleep 1
kill -INT "$nj"
wait "$nj" || fail "live nightjar: $(what_went_wrong live.err)"
for f in t12gcm.txt t13a.txt; do
    grep '"event_type":"http"' live.json | grep -q "\"url\":\"/$f\"" ||
        fail "live capture: /$f not decrypted with the growing key log"
done
echo "decrypted $ok requests over TLS 1.0-1.3, every suite family, resumption, KeyUpdate and RSA; same requests and objects as tshark ($(wc -l < tshark.urls) requests); live capture with a growing key log"
