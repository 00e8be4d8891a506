#!/bin/sh
# make-eta-traffic.sh OUTDIR -- labelled encrypted traffic made on
# 127.0.0.1 for training the ETA model: four "beacon" captures (curl
# fetching the same small file over TLS every 0.25 s, like an implant
# checking in) and four "browsing" captures (the same curl fetching pages
# of 2-200 KB at irregular moments). Same TLS client, server and
# certificate on both sides, so only behaviour tells them apart. Writes
# OUTDIR/beacon-N.pcap and OUTDIR/browse-N.pcap (N = 1..4).
set -eu
out=$1
here=$(cd "$(dirname "$0")" && pwd)
. "$here/background.sh"
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$work/key.pem" -out "$work/cert.pem" \
    -days 2 -subj "/CN=eta.nightjar.test" >/dev/null 2>&1
mkdir -p "$work/www"
head -c 48 /dev/urandom | base64 > "$work/www/beacon.txt"
i=0
for kb in 2 5 9 14 22 31 47 64 90 120 160 200; do
    i=$((i + 1))
    head -c $((kb * 1024)) /dev/urandom > "$work/www/page$i.bin"
done
# --immediate-mode: without it, packets reach tcpdump in blocks up to 1 s
# late, and the last ones are lost when it is stopped
tcpdump -i lo --immediate-mode -U -s 0 -B 16384 -w "$work/all.pcap" "host 127.0.0.1 and portrange 14431-14438" \
    >/dev/null 2>"$work/tcpdump.log" &
pids="$pids $!"
for port in 14431 14432 14433 14434 14435 14436 14437 14438; do
    (cd "$work/www" && exec openssl s_server -accept "127.0.0.1:$port" -cert "$work/cert.pem" \
        -key "$work/key.pem" -WWW -quiet) >/dev/null 2>&1 &
    pids="$pids $!"
done
for _ in $(seq 1 50); do
    grep -q "listening on" "$work/tcpdump.log" 2>/dev/null &&
        curl -sk -o /dev/null "https://127.0.0.1:14438/page1.bin" 2>/dev/null && break
    sleep 0.1
done
sleep 0.3
beacon() {
    for _ in $(seq 1 14); do
        curl -sk -o /dev/null "https://127.0.0.1:$1/beacon.txt" || true
        sleep 0.25
    done
}
browse() {
    seed=$1
    for n in $(seq 1 10); do
        seed=$(( (seed * 1103515245 + 12345) % 2147483648 ))
        page=$(( seed % 12 + 1 ))
        curl -sk -o /dev/null "https://127.0.0.1:$2/page$page.bin" || true
        seed=$(( (seed * 1103515245 + 12345) % 2147483648 ))
        # gaps of 0 to 1.2 s, and now and then two pages back to back
        [ $(( seed % 4 )) -eq 0 ] || sleep "0.$(( seed % 12 ))"
    done
}
beacon 14431 & b1=$!
beacon 14432 & b2=$!
beacon 14433 & b3=$!
beacon 14434 & b4=$!
browse 11 14435 & w1=$!
browse 23 14436 & w2=$!
browse 37 14437 & w3=$!
browse 41 14438 & w4=$!
wait $b1 $b2 $b3 $b4 $w1 $w2 $w3 $w4
sleep 0.5
stop_background
n=0
for port in 14431 14432 14433 14434; do
    n=$((n + 1))
    tcpdump -r "$work/all.pcap" -w "$out/beacon-$n.pcap" "port $port" 2>/dev/null
done
n=0
for port in 14435 14436 14437 14438; do
    n=$((n + 1))
    tcpdump -r "$work/all.pcap" -w "$out/browse-$n.pcap" "port $port" 2>/dev/null
done
