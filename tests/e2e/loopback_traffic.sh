#!/bin/sh
# End to end on real traffic: TLS 1.3 and 1.2 (openssl s_server/s_client),
# HTTP (curl against python's http.server) and DNS (dig against a small
# responder), all on 127.0.0.1, captured with tcpdump; the sensor (ASan build)
# must find every flow with the right application protocol, client and
# server, TCP state, features, and the same packet/byte totals and Community
# IDs as tshark.
. "$(dirname "$0")/lib/common.sh"
need_root
command -v tcpdump >/dev/null || skip "tcpdump is not installed"
command -v tshark >/dev/null || skip "tshark is not installed"
pcap=$WORK/loopback.pcap
TLS_PORT=28443 HTTP_PORT=28080 DNS_PORT=28053 \
    sh "$root/tests/e2e/lib/make-traffic.sh" "$pcap" || fail "could not make traffic"
eve=$WORK/eve.json
"$NJ" -r "$pcap" -o "$eve" --set eve-log.stats-interval=0 2>"$WORK/err" ||
    fail "nightjar failed: $(exit_meaning $?): $(what_went_wrong "$WORK/err")"

grep '"event_type":"flow"' "$eve" > "$WORK/flows.json"
tls=$(grep -c '"dest_port":28443' "$WORK/flows.json")
assert_eq "$tls" 2 "TLS flows"
assert_eq "$(grep '"dest_port":28443' "$WORK/flows.json" | grep -c '"app_proto":"tls"')" 2 "TLS detected"
assert_eq "$(grep '"dest_port":28443' "$WORK/flows.json" | grep -c '"initiator":"syn"')" 2 "client by SYN"
assert_eq "$(grep '"dest_port":28443' "$WORK/flows.json" | grep -c '"state":"closed"')" 2 "TCP closed"
# the TLS events: one per connection, SNI, versions, the self-signed cert
grep '"event_type":"tls"' "$eve" > "$WORK/tls.json"
assert_eq "$(grep -c . "$WORK/tls.json")" 2 "tls events"
assert_eq "$(grep -c '"sni":"demo.nightjar.test"' "$WORK/tls.json")" 2 "SNI"
assert_eq "$(grep -c '"version":"TLS 1.3"' "$WORK/tls.json")" 1 "a TLS 1.3 handshake"
grep '"version":"TLS 1.2"' "$WORK/tls.json" | grep -q '"subject":"CN=demo.nightjar.test"' ||
    fail "TLS 1.2 handshake without its certificate subject"
grep '"version":"TLS 1.2"' "$WORK/tls.json" | grep -q '"self_signed":true' ||
    fail "self-signed certificate not recognised"
grep '"dest_port":28443' "$WORK/flows.json" | grep -q '"ja4":"t1' || fail "flow record lacks JA4"
python3 "$root/tests/conformance/tls_fingerprints.py" --subset "$NJ" "$pcap" || fail "TLS differs from tshark"
http=$(grep '"dest_port":28080' "$WORK/flows.json" | grep -c '"app_proto":"http"')
[ "$http" -ge 2 ] || fail "HTTP flows: expected >= 2 detected, got $http"
dns=$(grep '"dest_port":28053' "$WORK/flows.json" | grep -c '"proto":"UDP"')
assert_eq "$dns" 2 "DNS flows"
# the 50 kB download shows in the features: server sent more than 50000 bytes
grep '"dest_port":28080' "$WORK/flows.json" | grep -q '"payload_bytes":5[0-9][0-9][0-9][0-9]' ||
    fail "no HTTP flow with the 50 kB body in features.toclient.payload_bytes"
grep '"dest_port":28443' "$WORK/flows.json" | grep -q '"splt_len":\[[0-9]' || fail "no SPLT on TLS flows"
grep -q '"event_type":"stats"' "$eve" || fail "no stats record"
grep '"event_type":"stats"' "$eve" | grep -q '"invalid":0' || fail "decoder found invalid packets"
# totals and Community IDs equal tshark's on the same packets
python3 "$root/tests/conformance/conv_totals.py" --subset "$NJ" "$pcap" || fail "differs from tshark"
echo "loopback traffic: $tls TLS, $http HTTP, $dns DNS flows; totals equal tshark's"
