# daemon.sh -- sourced by the end-to-end libraries of the servers the tests
# start (icap_common.sh, mta_common.sh): whether a process lives, waiting
# with a bound, and ending processes however the
# script ends (SIGTERM, then SIGKILL after 5 s).

# alive PID -- the process exists and is not a zombie (kill -0 succeeds on
# a zombie: a child that exited but was not waited for)
alive() {
    [ -r "/proc/$1/stat" ] || return 1
    _st=$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -c1)
    [ -n "$_st" ] && [ "$_st" != Z ]
}

# wait_for SECONDS WHAT CMD... -- runs CMD every 0.1 s until it succeeds;
# fails naming WHAT after SECONDS
wait_for() {
    _secs=$1 _what=$2
    shift 2
    _end=$(($(date +%s) + _secs))
    while ! "$@" >/dev/null 2>&1; do
        [ "$(date +%s)" -lt "$_end" ] || fail "$_what: not within $_secs s"
        sleep 0.1
    done
}

# end_all PID... -- SIGTERM to each; SIGKILL whatever ignored it for 5 s
end_all() {
    for p in "$@"; do kill "$p" 2>/dev/null || true; done
    _end=$(($(date +%s) + 5))
    for p in "$@"; do
        while alive "$p" && [ "$(date +%s)" -lt "$_end" ]; do sleep 0.1; done
        alive "$p" && kill -KILL "$p" 2>/dev/null || true
    done
}
