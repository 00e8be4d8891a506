# mta_common.sh -- sourced (after common.sh) by the nightjar-mta end-to-end
# scripts: which nightjar-mta, free loopback ports, the next hop it relays
# to (mta_sink.py), background processes that go when the script ends
# however it ends, starting and stopping the server with a bound on every
# wait, reading swaks' transcripts, sending a mail that must be answered
# a given way (send, send_to) and counting failed checks (bad, check).
#
# NIGHTJAR_MTA names the server binary (to point the scripts at another
# build); by default the sanitizer build, else the plain one, as common.sh
# picks nightjar. The server is started as
#   $MTA --listen 127.0.0.1:PORT --relay 127.0.0.1:SINKPORT --queue DIR [ARGS...]
# and is ready when its stderr says "listening on"; SIGTERM stops it and it
# must then exit 0 (a sanitizer report is 86/87, tests/sanitizers.sh).

if [ -n "${NIGHTJAR_MTA:-}" ]; then
    MTA=$NIGHTJAR_MTA
    [ -x "$MTA" ] || fail "NIGHTJAR_MTA=$MTA is not an executable file"
else
    MTA=$root/build-asan/nightjar-mta
    [ -x "$MTA" ] || MTA=$root/build/nightjar-mta
    [ -x "$MTA" ] || fail "no nightjar-mta in build-asan/ or build/: run make"
fi
command -v python3 >/dev/null 2>&1 || skip "python3 is not installed"
LIB=$root/tests/e2e/lib

. "$root/tests/e2e/lib/daemon.sh"

# background processes (the sink, clients), ended with the server (and
# WORK removed) when the script ends
bg_pids=""
mta_pid=""
sink_pid=""
mta_cleanup() {
    # shellcheck disable=SC2086
    end_all $bg_pids $sink_pid $mta_pid
    rm -rf "$WORK"
}
trap mta_cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM




# start_sink DIR PORT [ARGS...] -- mta_sink.py keeping messages in DIR
# (created); waits (10 s at most) until it listens; sink_pid is its pid
start_sink() {
    _dir=$1 _port=$2
    shift 2
    mkdir -p "$_dir"
    python3 "$LIB/mta_sink.py" 127.0.0.1 "$_port" "$_dir" "$@" >"$_dir.log" 2>&1 &
    sink_pid=$!
    _end=$(($(date +%s) + 10))
    until grep -q "mta_sink listening" "$_dir.log" 2>/dev/null; do
        alive "$sink_pid" || fail "the test's SMTP sink did not start: $(tail -3 "$_dir.log")"
        [ "$(date +%s)" -lt "$_end" ] || fail "the test's SMTP sink did not listen within 10 s"
        sleep 0.1
    done
}

# stop_sink -- ends the sink (it keeps nothing in memory: all is in DIR)
stop_sink() {
    [ -n "$sink_pid" ] || return 0
    kill "$sink_pid" 2>/dev/null || true
    wait "$sink_pid" 2>/dev/null || true
    sink_pid=""
}

# start_mta ERRLOG PORT SINKPORT QUEUEDIR ARGS... -- starts the server,
# waits (30 s at most: the sanitizer build compiling the rules is slow)
# until it says "listening on"; mta_pid is its pid
start_mta() {
    _err=$1 _port=$2 _relay=$3 _queue=$4
    shift 4
    "$MTA" --listen "127.0.0.1:$_port" --relay "127.0.0.1:$_relay" --queue "$_queue" \
        "$@" 2>"$_err" &
    mta_pid=$!
    _end=$(($(date +%s) + 30))
    until grep -q "listening on" "$_err" 2>/dev/null; do
        if ! alive "$mta_pid"; then
            _rc=0
            wait "$mta_pid" || _rc=$?
            mta_pid=""
            fail "nightjar-mta did not start ($(exit_meaning "$_rc")): $(what_went_wrong "$_err")"
        fi
        [ "$(date +%s)" -lt "$_end" ] ||
            fail "nightjar-mta did not say \"listening on\" within 30 s: $(tail -3 "$_err")"
        sleep 0.1
    done
}

# mta_note ERRLOG -- for a FAIL line about an answer: nothing while the
# server runs, else that it died and what its stderr says
mta_note() {
    if [ -n "$mta_pid" ] && ! alive "$mta_pid"; then
        printf '; nightjar-mta died: %s' "$(what_went_wrong "$1" | tr '\n' ' ')"
    fi
}

# stop_mta ERRLOG -- SIGTERM; the server must exit 0 within 30 s (it may
# finish a delivery first; the sanitizer build checks for leaks at exit)
stop_mta() {
    [ -n "$mta_pid" ] || return 0
    alive "$mta_pid" || {
        _rc=0
        wait "$mta_pid" || _rc=$?
        mta_pid=""
        fail "nightjar-mta died before SIGTERM ($(exit_meaning "$_rc")): $(what_went_wrong "$1")"
    }
    kill -TERM "$mta_pid"
    _end=$(($(date +%s) + 30))
    while alive "$mta_pid"; do
        [ "$(date +%s)" -lt "$_end" ] || fail "nightjar-mta still running 30 s after SIGTERM"
        sleep 0.1
    done
    _rc=0
    wait "$mta_pid" || _rc=$?
    mta_pid=""
    [ "$_rc" -eq 0 ] ||
        fail "nightjar-mta on SIGTERM: $(exit_meaning "$_rc"), expected exit 0: $(what_went_wrong "$1")"
}

# swaks_to NAME PORT ARGS... -- swaks to 127.0.0.1:PORT (DATA summarised),
# its transcript in $WORK/NAME.swaks; sets swaks_rc to its exit status
swaks_to() {
    _name=$1 _port=$2
    shift 2
    swaks_rc=0
    swaks -n --server "127.0.0.1:$_port" --timeout 60 "$@" >"$WORK/$_name.swaks" 2>&1 ||
        swaks_rc=$?
}

# data_reply NAME -- the server's reply to the end of the message in
# swaks' transcript NAME (the line after "N lines sent", hint removed:
# "<-" and "<**" in the clear, "<~" and "<~*" inside TLS); empty when there
# was none
data_reply() {
    awk '/^ [-~]> [0-9]+ lines sent/ { want = 1; next }
         want && /^<(-|~|\*\*|~\*) / { sub(/^<(-|~|\*\*|~\*) +/, ""); print; exit }' "$WORK/$1.swaks"
}

# queue_id REPLY -- the ID of a "250 ... queued as ID" reply, else empty
queue_id() {
    printf '%s\n' "$1" | sed -n 's/^250 .*queued as <\{0,1\}\([^ <>]*\)>\{0,1\}.*$/\1/p'
}

# transcript NAME -- the last lines of swaks' transcript, for a FAIL line
transcript() {
    grep -E '^(<|\*\*\*|===)' "$WORK/$1.swaks" | tail -4 | tr '\n' '|'
}

# Checks that go on after a mismatch: each FAIL line counts in nfail;
# the script ends with  [ "$nfail" -eq 0 ] || fail "..."
nfail=0
bad() { echo "FAIL: $*"; nfail=$((nfail + 1)); }
# check WHAT CMD... -- CMD prints its own FAIL lines; count them
check() {
    _what=$1
    shift
    _out=$("$@" 2>&1)
    _rc=$?
    [ -z "$_out" ] || printf '%s\n' "$_out"
    if [ "$_rc" -ne 0 ]; then
        _n=$(printf '%s\n' "$_out" | grep -c '^FAIL: ')
        [ "$_n" -gt 0 ] || { echo "FAIL: $_what (exit $_rc)"; _n=1; }
        nfail=$((nfail + _n))
    fi
    return 0
}

# send_to PORT NAME WANT SWAKS-ARGS... -- swaks to 127.0.0.1:PORT; the
# reply to the end of the message must begin with WANT (a code, or code
# and enhanced status), else a FAIL line (bad); QID is then its queue ID
# ("-" when none). mta_note names ERR, the server's stderr.
send_to() {
    _p=$1 _n=$2 _want=$3
    shift 3
    swaks_to "$_n" "$_p" --from sender@sender.nightjar.test --to rcpt@rcpt.nightjar.test "$@"
    _r=$(data_reply "$_n")
    QID=$(queue_id "$_r")
    [ -n "$QID" ] || QID=-
    case "$_r" in
        "$_want"*) ;;
        *) bad "$_n: the end of the message was answered \"$_r\", expected $_want (swaks exit $swaks_rc: $(transcript "$_n"))$(mta_note "$ERR")"
           return 0 ;;
    esac
    case $_want in
        250*) [ "$QID" != - ] || bad "$_n: 250 without \"queued as <ID>\": $_r"
              [ "$swaks_rc" -eq 0 ] || bad "$_n: swaks exit $swaks_rc: $(transcript "$_n")" ;;
        5*) [ "$swaks_rc" -eq 26 ] ||
              bad "$_n: swaks exit $swaks_rc, expected 26 (mail refused after DATA)" ;;
    esac
}

# send NAME WANT SWAKS-ARGS... -- send_to nightjar-mta's PORT
send() {
    send_to "$PORT" "$@"
}
