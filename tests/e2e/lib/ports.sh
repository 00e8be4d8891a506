# ports.sh -- sourced by common.sh (the end-to-end scripts) and by the
# benchmarks that start servers (bench/mta.sh): free loopback ports.
# Defines a function; runs nothing.

# free_ports N -- N distinct TCP ports free on 127.0.0.1 right now
free_ports() {
    python3 - "$1" <<'PY'
import socket, sys
socks = []
for _ in range(int(sys.argv[1])):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    socks.append(s)
print(" ".join(str(s.getsockname()[1]) for s in socks))
PY
}
