#!/bin/sh
# TLS from real stacks on 127.0.0.1: openssl s_server/s_client with TLS 1.2
# (ECDHE and plain RSA key exchange) and TLS 1.3 (two cipher suites), a
# certificate signed by a CA made here and a self-signed one, curl, and
# STARTTLS over a real SMTP exchange. The sensor (ASan build) must log one
# tls event per handshake with the negotiated version and cipher, the
# certificate facts, and the same JA3/JA3S/SNI/certificates as tshark.
. "$(dirname "$0")/lib/common.sh"
need_root
for t in tcpdump tshark openssl curl; do
    command -v $t >/dev/null || skip "$t is not installed"
done
cd "$WORK" || exit 1
# a CA, a server certificate it signs, and a self-signed certificate
openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem -days 2 \
    -subj "/CN=nightjar test CA" >/dev/null 2>&1
openssl req -newkey rsa:2048 -nodes -keyout srv.key -out srv.csr \
    -subj "/CN=site.nightjar.test" >/dev/null 2>&1
printf 'subjectAltName=DNS:site.nightjar.test,DNS:alt.nightjar.test\n' > ext.cnf
openssl x509 -req -in srv.csr -CA ca.pem -CAkey ca.key -CAcreateserial \
    -out srv.pem -days 2 -extfile ext.cnf >/dev/null 2>&1
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -keyout self.key -out self.pem -days 2 -subj "/CN=self.nightjar.test" >/dev/null 2>&1
pids=""
cleanup() { for p in $pids; do kill "$p" 2>/dev/null; done; wait 2>/dev/null; rm -rf "$WORK"; }
trap cleanup EXIT
# --immediate-mode: without it, packets reach tcpdump in blocks up to 1 s
# late, and the last ones are lost when it is stopped
tcpdump -i lo --immediate-mode -U -s 0 -w tls.pcap "host 127.0.0.1 and portrange 29440-29449" \
    >/dev/null 2>td.log &
pids="$pids $!"
openssl s_server -accept 127.0.0.1:29443 -cert srv.pem -key srv.key -www -quiet \
    >/dev/null 2>&1 &
pids="$pids $!"
openssl s_server -accept 127.0.0.1:29444 -cert self.pem -key self.key -www -quiet \
    >/dev/null 2>&1 &
pids="$pids $!"
python3 "$root/tests/e2e/lib/smtp_starttls.py" 127.0.0.1 29445 srv.pem srv.key 1 30 &
pids="$pids $!"
for _ in $(seq 1 50); do grep -q listening td.log 2>/dev/null && break; sleep 0.1; done
sleep 0.5
get() { printf 'GET / HTTP/1.0\r\n\r\n' | timeout 10 openssl s_client -quiet "$@" >/dev/null 2>&1 || true; }
get -connect 127.0.0.1:29443 -servername site.nightjar.test -tls1_2 -cipher ECDHE-RSA-AES128-GCM-SHA256
get -connect 127.0.0.1:29443 -servername site.nightjar.test -tls1_2 -cipher AES256-SHA
get -connect 127.0.0.1:29443 -servername site.nightjar.test -tls1_3 -ciphersuites TLS_AES_256_GCM_SHA384
get -connect 127.0.0.1:29443 -servername site.nightjar.test -tls1_3 -ciphersuites TLS_CHACHA20_POLY1305_SHA256
get -connect 127.0.0.1:29444 -servername self.nightjar.test -tls1_2
curl -sk --max-time 10 -o /dev/null --resolve curl.nightjar.test:29443:127.0.0.1 \
    https://curl.nightjar.test:29443/ || true
printf 'EHLO client.test\r\nMAIL FROM:<a@client.test>\r\nRCPT TO:<b@nightjar.test>\r\nDATA\r\nSubject: hi\r\n\r\nhello\r\n.\r\nQUIT\r\n' |
    timeout 10 openssl s_client -quiet -starttls smtp -connect 127.0.0.1:29445 \
        -servername mail.nightjar.test >/dev/null 2>&1 || true
sleep 1
"$NJ" -q -r tls.pcap -o eve.json || fail "nightjar failed: $(exit_meaning $?)"
grep '"event_type":"tls"' eve.json > tls.json
n=$(grep -c . tls.json)
assert_eq "$n" 7 "tls events (one per handshake)"
ev() { grep "$1" tls.json; }
# negotiated versions and ciphers (as numbers: 0xc02f 0x0035 0x1302 0x1303)
ev '"cipher":49199' | grep -q '"version":"TLS 1.2"' || fail "ECDHE-RSA-AES128-GCM-SHA256 over TLS 1.2"
ev '"cipher":53' | grep -q '"version":"TLS 1.2"' || fail "AES256-SHA over TLS 1.2"
ev '"cipher":4866' | grep -q '"version":"TLS 1.3"' || fail "TLS_AES_256_GCM_SHA384"
ev '"cipher":4867' | grep -q '"version":"TLS 1.3"' || fail "TLS_CHACHA20_POLY1305_SHA256"
# certificates in the clear (TLS 1.2): the CA-signed one and the self-signed one
ev '"cipher":49199' | grep -q '"issuerdn":"CN=nightjar test CA"' || fail "CA-signed issuer"
ev '"cipher":49199' | grep -q '"self_signed":false' || fail "CA-signed taken for self-signed"
ev '"cipher":49199' | grep -q '"sans":\["site.nightjar.test","alt.nightjar.test"\]' || fail "SANs"
ev '"cipher":49199' | grep -q '"key_type":"RSA","key_bits":2048' || fail "RSA key facts"
ev '"sni":"self.nightjar.test"' | grep -q '"self_signed":true' || fail "self-signed certificate"
ev '"sni":"self.nightjar.test"' | grep -q '"key_type":"EC","key_bits":256' || fail "EC key facts"
ev '"sni":"curl.nightjar.test"' | grep -q '"ja4":"t1' || fail "curl's handshake"
ev '"handshake_complete":true' >/dev/null || fail "no complete handshake"
# STARTTLS: the SMTP flow carries the TLS handshake
ev '"sni":"mail.nightjar.test"' | grep -q '"app_proto":"smtp"' || fail "STARTTLS in SMTP"
python3 "$root/tests/conformance/tls_fingerprints.py" --subset "$NJ" "$WORK/tls.pcap" || fail "differs from tshark"
echo "real TLS stacks: $n handshakes, versions, ciphers, certificates and STARTTLS as expected"
