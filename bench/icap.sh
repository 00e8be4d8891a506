#!/bin/sh
# bench/icap.sh -- throughput and latency of nightjar's ICAP server
# (build/nightjar-icap) against c-icap's echo service, under the same load
# in the same run. Not a test: it prints figures and whether the targets
# hold, and exits 0 whatever they are.
#
# The load (bench/icap_load.c) is CONNECTIONS persistent connections
# (default 16) each sending RESPMOD transactions back to back for DURATION
# seconds (default 10, after WARMUP seconds, default 2): an HTTP GET, a
# 200 response of application/octet-stream and a BODY-byte body (default
# 16384, pseudo-random, matching nothing) in one chunk, "Allow: 204", no
# preview. Latency runs from the first byte sent to the last byte of the
# response; "unanswered" counts transactions the server never finished.
#
# c-icap 0.5.10 runs with its echo service only, as one process of 32
# threads (the fastest layout found on 2 cores; its config is written to
# bench/out/c-icap/), and answers each transaction with 200 and the body
# echoed back: the cost of an ICAP round trip with no scanning. nightjar
# runs with its default settings (YARA scanning on) and should answer 204.
# Targets: nightjar's tx/s at least c-icap echo's, p99 at most 5 ms,
# nothing unanswered. Everything listens on 127.0.0.1 only.
set -eu
cd "$(dirname "$0")/.."
DURATION=${DURATION:-10}
CONNECTIONS=${CONNECTIONS:-16}
BODY=${BODY:-16384}
WARMUP=${WARMUP:-2}
out=bench/out
ci=$out/c-icap
ci_port=1345
nj_port=1346
mkdir -p "$ci"
if ! command -v c-icap >/dev/null; then
    echo "bench: installing c-icap"
    apt-get install -y -qq c-icap >/dev/null
fi
cc -O2 -o "$out/icap_load" bench/icap_load.c -lpthread -lm

server=""
stop_server() {
    [ -n "$server" ] || return 0
    kill -TERM "$server" 2>/dev/null || true
    wait "$server" 2>/dev/null || true
    server=""
}
trap stop_server EXIT
trap 'exit 130' INT TERM

port_free() {
    [ -z "$(ss -Hltn "sport = :$1")" ] || { echo "bench: port $1 is in use" >&2; exit 1; }
}
# options PORT SERVICE: whether the server answers OPTIONS with 200
options() {
    python3 - "$1" "$2" <<'PY'
import socket, sys
port, svc = sys.argv[1], sys.argv[2]
try:
    s = socket.create_connection(("127.0.0.1", int(port)), timeout=1)
    s.sendall(("OPTIONS icap://127.0.0.1:%s%s ICAP/1.0\r\nHost: 127.0.0.1:%s\r\n"
               "Encapsulated: null-body=0\r\n\r\n" % (port, svc, port)).encode())
    sys.exit(0 if s.recv(64).startswith(b"ICAP/1.0 200") else 1)
except OSError:
    sys.exit(1)
PY
}
# wait_ready NAME LOG TEST...: until TEST succeeds (30 s at most)
wait_ready() {
    name=$1 log=$2
    shift 2
    for _ in $(seq 1 300); do
        "$@" && return 0
        kill -0 "$server" 2>/dev/null || { echo "bench: $name exited:" >&2; cat "$log" >&2; exit 1; }
        sleep 0.1
    done
    echo "bench: $name did not get ready in 30 s:" >&2
    cat "$log" >&2
    exit 1
}
# load NAME PORT SERVICE: one load run, its output in $out/icap-NAME.txt
load() {
    "$out/icap_load" --host 127.0.0.1 --port "$2" --service "$3" --name "$1" \
        --connections "$CONNECTIONS" --duration "$DURATION" --warmup "$WARMUP" \
        --body "$BODY" > "$out/icap-$1.txt" || true
    grep -q '^RESULT ' "$out/icap-$1.txt" || { echo "bench: icap_load failed against $1" >&2; exit 1; }
    grep -v '^RESULT ' "$out/icap-$1.txt"
}
# field NAME KEY: a value of the RESULT line of a load run
field() {
    awk -v k="$2" '/^RESULT / { for (i = 2; i <= NF; i++) { split($i, a, "=");
        if (a[1] == k) print a[2] } }' "$out/icap-$1.txt"
}
row() {
    printf '  %-26s %9s %8s %8s %11s %7s\n' "$1" "$(field "$1" tx_per_s)" \
        "$(field "$1" p50_ms)" "$(field "$1" p99_ms)" "$(field "$1" unanswered)" "$(field "$1" errors)"
}

# c-icap, echo service only. One child process of 32 threads: c-icap gives
# a connection a thread for its lifetime, so 16 keep-alive connections need
# 16 free threads; more processes only add context switches on 2 cores.
cat > "$ci/c-icap.conf" <<EOF
Port 127.0.0.1:$ci_port
PidFile $PWD/$ci/c-icap.pid
CommandsSocket $PWD/$ci/c-icap.ctl
TmpDir $PWD/$ci
ServerLog $PWD/$ci/server.log
DebugLevel 0
StartServers 1
MaxServers 1
ThreadsPerChild 32
MinSpareThreads 4
MaxSpareThreads 32
MaxRequestsPerChild 0
MaxKeepAliveRequests -1
KeepAliveTimeout 600
Timeout 300
Pipelining on
MaxMemObject 131072
ModulesDir /usr/lib/x86_64-linux-gnu/c_icap
ServicesDir /usr/lib/x86_64-linux-gnu/c_icap
Service echo srv_echo.so
EOF
port_free $ci_port
c-icap -N -f "$ci/c-icap.conf" > "$ci/stdout.log" 2>&1 &
server=$!
wait_ready c-icap "$ci/server.log" options $ci_port /echo
ci_name="c-icap-$(c-icap -V 2>&1 | head -1)-echo"
echo "$CONNECTIONS connections, $BODY-byte bodies, $DURATION s (+$WARMUP s warm-up) each:"
load "$ci_name" $ci_port /echo
stop_server

nj=build/nightjar-icap
if [ ! -x "$nj" ]; then
    echo "bench: $nj is not built; c-icap echo only"
    printf '  %-26s %9s %8s %8s %11s %7s\n' tool tx/s "p50 ms" "p99 ms" unanswered errors
    row "$ci_name"
    exit 0
fi
port_free $nj_port
rm -f "$out/icap-eve.json"
"$nj" --listen 127.0.0.1:$nj_port -o "$out/icap-eve.json" 2> "$out/nightjar-icap.log" &
server=$!
wait_ready nightjar-icap "$out/nightjar-icap.log" grep -q 'listening on' "$out/nightjar-icap.log"
load nightjar-icap $nj_port /scan
stop_server

printf '  %-26s %9s %8s %8s %11s %7s\n' tool tx/s "p50 ms" "p99 ms" unanswered errors
row "$ci_name"
row nightjar-icap
ci_tps=$(field "$ci_name" tx_per_s)
nj_tps=$(field nightjar-icap tx_per_s)
nj_p99=$(field nightjar-icap p99_ms)
nj_lost=$(field nightjar-icap unanswered)
yes_no() { if [ "$1" = 1 ]; then echo yes; else echo NO; fi; }
printf '  nightjar/c-icap echo tx/s: %.2f\n' "$(echo "$nj_tps / $ci_tps" | bc -l)"
echo "  targets: tx/s >= c-icap echo's: $(yes_no "$(echo "$nj_tps >= $ci_tps" | bc)");" \
    "p99 <= 5 ms: $(yes_no "$(echo "$nj_p99 <= 5" | bc)"); unanswered 0: $(yes_no "$([ "$nj_lost" = 0 ] && echo 1)")"
