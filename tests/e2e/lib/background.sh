# background.sh -- sourced by the traffic makers: a work directory, and the
# background processes (servers, tcpdump) they start, which go -- with the
# directory -- when the script ends, however it ends. Add each process with
# pids="$pids $!"; stop_background ends them early (e.g. to flush tcpdump).
work=$(mktemp -d)
pids=""
stop_background() {
    for p in $pids; do kill "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
    pids=""
}
cleanup() {
    stop_background
    rm -rf "$work"
}
trap cleanup EXIT INT TERM
