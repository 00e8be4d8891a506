#!/bin/sh
# bench/x509.sh -- the cost of reading a new certificate: the sensor's DER
# reader against the OpenSSL path it replaced, on every distinct certificate
# of the corpus capture, in the same run (bench/x509.c; it also requires
# both to give the same fields for each). Not a test. Run `make bench` (or
# bench/run.sh) first for bench/out/corpus.pcap.
set -eu
cd "$(dirname "$0")/.."
out=bench/out
mkdir -p "$out"
make -s build/libnightjar.a
cc -O2 -std=c11 -D_GNU_SOURCE -Isrc -Itests/unit -o "$out/x509" bench/x509.c \
    build/libnightjar.a -lcrypto
cap=$out/corpus.pcap
[ -f "$cap" ] || { echo "bench: no $cap (run bench/run.sh first)"; exit 0; }
certs=$out/certs.hex
if [ ! -s "$certs" ]; then
    tshark -r "$cap" -Y tls.handshake.certificate -T fields -e tls.handshake.certificate \
        2>/dev/null | tr ',' '\n' | grep -v '^$' | sort -u > "$certs"
fi
"$out/x509" "$certs"
