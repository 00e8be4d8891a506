# postfix.sh -- sourced by the scripts that run a private Postfix
# (tests/e2e/mta_postfix.sh, bench/mta.sh): an instance of Debian's
# postfix package that is no system service -- its own config directory,
# queue and data directories and Maildirs under one directory, smtpd only
# on the 127.0.0.1 ports it is told, logging to a file of its own. The
# system's /etc/postfix (there may be none: the package is installed with
# "No configuration") is neither read nor changed. Needs root (Postfix's
# daemons run as the postfix user, its queue directory belongs to root)
# and the caller's fail().
#
#   postfix_setup DIR         main.cf and master.cf in DIR/conf: the queue
#                             in DIR/spool, the log DIR/maillog; mail for
#                             the virtual domains rcpt.nightjar.test and
#                             sender.nightjar.test goes to the Maildirs
#                             DIR/mail/USER/ (rcpt@ to rcpt/, sink@ to
#                             sink/, sender@ to sender/); other domains
#                             are relayed for 127.0.0.0/8 (relayhost)
#   postfix_set NAME=VALUE... main.cf settings (postconf -e)
#   postfix_listen PORT [-o NAME=VALUE]...
#                             an smtpd on 127.0.0.1:PORT, with overrides
#                             (content_filter=smtp:[127.0.0.1]:N makes it
#                             the upstream of a filter)
#   postfix_start             postfix check, postfix start; waits (10 s at
#                             most) until every smtpd port takes a
#                             connection; postfix_pid is its master
#   postfix_stop              postfix stop; waits for the master (10 s,
#                             then SIGKILL); run by postfix_cleanup too
#   postfix_queued            how many messages its queue holds (incoming,
#                             active, deferred, hold, maildrop)
#   postfix_mails USER        the files delivered to DIR/mail/USER/new/
#
# The directory's parent must be traversable (mode 711 at least) by the
# postfix user, which reads the queue, and by nobody, as which the
# virtual delivery agent writes the Maildirs.

postfix_dir="" postfix_pid="" postfix_ports=""

postfix_setup() {
    command -v postfix >/dev/null 2>&1 && [ -x /usr/sbin/smtp-sink ] ||
        fail "postfix is not installed (scripts/install-deps.sh)"
    id postfix >/dev/null 2>&1 && getent group postdrop >/dev/null 2>&1 ||
        fail "no postfix user or postdrop group: the postfix package is not set up"
    postfix_dir=$1
    _d=$1
    mkdir -p "$_d/conf" "$_d/spool" "$_d/data" "$_d/mail" || fail "cannot make $_d"
    chown postfix "$_d/data" && chown nobody:nogroup "$_d/mail" ||
        fail "cannot give $_d/data to postfix and $_d/mail to nobody (root?)"
    cat > "$_d/conf/main.cf" <<EOF
# a private instance for nightjar's tests (tests/e2e/lib/postfix.sh)
compatibility_level = 3.6
queue_directory = $_d/spool
data_directory = $_d/data
mail_owner = postfix
setgid_group = postdrop
maillog_file = $_d/maillog
maillog_file_prefixes = $_d
myhostname = postfix.nightjar.test
mydomain = nightjar.test
mydestination =
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
smtp_host_lookup = native
disable_dns_lookups = yes
alias_maps =
alias_database =
biff = no
local_header_rewrite_clients =
message_size_limit = 0
virtual_mailbox_limit = 0
virtual_mailbox_domains = rcpt.nightjar.test sender.nightjar.test
virtual_mailbox_base = $_d/mail
virtual_mailbox_maps = inline:{ rcpt@rcpt.nightjar.test=rcpt/, sink@rcpt.nightjar.test=sink/, sender@sender.nightjar.test=sender/ }
virtual_uid_maps = static:$(id -u nobody)
virtual_gid_maps = static:$(getent group nogroup | cut -d: -f3)
EOF
    # Debian's services, none chrooted (the chroot would need copies of
    # /etc files), no pickup from a maildrop nobody writes to
    cat > "$_d/conf/master.cf" <<'EOF'
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
proxywrite unix -       -       n       -       1       proxymap
smtp      unix  -       -       n       -       -       smtp
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
virtual   unix  -       n       n       -       -       virtual
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
EOF
}

postfix_set() {
    postconf -c "$postfix_dir/conf" -e "$@" || fail "postconf -e $*"
}

postfix_listen() {
    _port=$1
    shift
    printf '127.0.0.1:%s inet n - n - - smtpd\n' "$_port" >> "$postfix_dir/conf/master.cf"
    while [ $# -ge 2 ] && [ "$1" = -o ]; do
        printf '  -o %s\n' "$2" >> "$postfix_dir/conf/master.cf"
        shift 2
    done
    [ $# -eq 0 ] || fail "postfix_listen: '$*' is not -o NAME=VALUE"
    postfix_ports="$postfix_ports $_port"
}

# postfix_log_tail -- the last lines of its log, for a FAIL line
postfix_log_tail() {
    tail -3 "$postfix_dir/maillog" 2>/dev/null | tr '\n' '|'
}

_postfix_takes() {
    python3 -c 'import socket, sys; socket.create_connection(("127.0.0.1", int(sys.argv[1])), 1).close()' "$1"
}

postfix_start() {
    postfix -c "$postfix_dir/conf" check >"$postfix_dir/start.out" 2>&1 ||
        fail "postfix check: $(cat "$postfix_dir/start.out") $(postfix_log_tail)"
    postfix -c "$postfix_dir/conf" start >>"$postfix_dir/start.out" 2>&1 ||
        fail "postfix start: $(cat "$postfix_dir/start.out") $(postfix_log_tail)"
    postfix_pid=$(tr -dc 0-9 < "$postfix_dir/spool/pid/master.pid" 2>/dev/null)
    [ -n "$postfix_pid" ] || fail "postfix started without a master.pid: $(postfix_log_tail)"
    for _p in $postfix_ports; do
        _end=$(($(date +%s) + 10))
        until _postfix_takes "$_p" 2>/dev/null; do
            alive "$postfix_pid" || fail "postfix's master died: $(postfix_log_tail)"
            [ "$(date +%s)" -lt "$_end" ] ||
                fail "postfix's smtpd on 127.0.0.1:$_p: no connection within 10 s"
            sleep 0.1
        done
    done
}

postfix_stop() {
    [ -n "$postfix_pid" ] || return 0
    postfix -c "$postfix_dir/conf" stop >/dev/null 2>&1 || true
    _end=$(($(date +%s) + 10))
    while alive "$postfix_pid" && [ "$(date +%s)" -lt "$_end" ]; do sleep 0.1; done
    alive "$postfix_pid" && kill -KILL "$postfix_pid" 2>/dev/null
    postfix_pid=""
}

postfix_queued() {
    for _q in incoming active deferred hold maildrop; do
        find "$postfix_dir/spool/$_q" -type f
    done | wc -l
}

postfix_mails() {
    find "$postfix_dir/mail/$1/new" -type f 2>/dev/null | sort
}
