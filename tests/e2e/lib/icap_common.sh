# icap_common.sh -- sourced (after common.sh) by the ICAP end-to-end
# scripts: which nightjar-icap, free loopback ports, background processes
# that go when the script ends however it ends, and starting and stopping
# the server with a bound on every wait.
#
# NIGHTJAR_ICAP names the server binary (to point the scripts at another
# build); by default the sanitizer build, else the plain one, as common.sh
# picks nightjar. The server is started as
#   $ICAP --listen 127.0.0.1:PORT [ARGS...] -o EVE
# and is ready when its stderr says "listening on"; SIGTERM stops it and it
# must then exit 0 (a sanitizer report is 86/87, tests/sanitizers.sh).

if [ -n "${NIGHTJAR_ICAP:-}" ]; then
    ICAP=$NIGHTJAR_ICAP
    [ -x "$ICAP" ] || fail "NIGHTJAR_ICAP=$ICAP is not an executable file"
else
    ICAP=$root/build-asan/nightjar-icap
    [ -x "$ICAP" ] || ICAP=$root/build/nightjar-icap
    [ -x "$ICAP" ] || fail "no nightjar-icap in build-asan/ or build/: run make"
fi

. "$root/tests/e2e/lib/daemon.sh"

# background processes, ended (and WORK removed) when the script ends
bg_pids=""
icap_pid=""
icap_cleanup() {
    # shellcheck disable=SC2086
    end_all $bg_pids $icap_pid
    rm -rf "$WORK"
}
trap icap_cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM




# start_icap ERRLOG PORT ARGS... -- starts the server (ARGS after --listen),
# waits (20 s at most) until it says "listening on"; icap_pid is its pid
start_icap() {
    _err=$1 _port=$2
    shift 2
    "$ICAP" --listen "127.0.0.1:$_port" "$@" 2>"$_err" &
    icap_pid=$!
    _end=$(($(date +%s) + 20))
    until grep -q "listening on" "$_err" 2>/dev/null; do
        if ! alive "$icap_pid"; then
            _rc=0
            wait "$icap_pid" || _rc=$?
            icap_pid=""
            fail "nightjar-icap did not start ($(exit_meaning "$_rc")): $(what_went_wrong "$_err")"
        fi
        [ "$(date +%s)" -lt "$_end" ] ||
            fail "nightjar-icap did not say \"listening on\" within 20 s: $(tail -3 "$_err")"
        sleep 0.1
    done
}

# icap_note ERRLOG -- for a FAIL line about an answer: nothing while the
# server runs, else that it died and what its stderr says (a sanitizer's
# summary, or its last lines)
icap_note() {
    if [ -n "$icap_pid" ] && ! alive "$icap_pid"; then
        printf '; nightjar-icap died: %s' "$(what_went_wrong "$1" | tr '\n' ' ')"
    fi
}

# stop_icap ERRLOG -- SIGTERM; the server must exit 0 within 20 s (the
# sanitizer build checks for leaks at exit)
stop_icap() {
    [ -n "$icap_pid" ] || return 0
    alive "$icap_pid" || {
        _rc=0
        wait "$icap_pid" || _rc=$?
        icap_pid=""
        fail "nightjar-icap died before SIGTERM ($(exit_meaning "$_rc")): $(what_went_wrong "$1")"
    }
    kill -TERM "$icap_pid"
    _end=$(($(date +%s) + 20))
    while alive "$icap_pid"; do
        [ "$(date +%s)" -lt "$_end" ] || fail "nightjar-icap still running 20 s after SIGTERM"
        sleep 0.1
    done
    _rc=0
    wait "$icap_pid" || _rc=$?
    icap_pid=""
    [ "$_rc" -eq 0 ] ||
        fail "nightjar-icap on SIGTERM: $(exit_meaning "$_rc"), expected exit 0: $(what_went_wrong "$1")"
}
