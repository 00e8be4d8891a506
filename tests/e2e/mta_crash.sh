#!/bin/sh
# mta_crash.sh -- nightjar-mta (the sanitizer build) must not lose a mail
# it said 250 to. 300 small numbered mails are sent over four connections
# as fast as they go (lib/mta_flood.py, which writes down each mail's
# fate) to a server relaying to the test's next hop (lib/mta_sink.py,
# slowed to 20 ms a message so the queue holds mail); when about half have
# been accepted the client kills the server with SIGKILL at once (its other
# connections are in the middle of mails) and goes on (connections
# refused meanwhile are noted, those mails are not sent); a second later
# the server is started again on the same queue directory and takes the
# rest. Then, within 60 s, the next hop must hold every mail that got a
# 250, byte for byte as sent after the added verdict header (a duplicate is
# allowed -- delivery is at-least-once -- a missing one is not), and
# nothing that was never sent whole. The counts are printed; the restarted
# server must stop with exit 0 on SIGTERM. All on 127.0.0.1.
. "$(dirname "$0")/lib/common.sh"
. "$(dirname "$0")/lib/mta_common.sh"

TOTAL=300
ports=$(free_ports 2) || fail "no free port on 127.0.0.1"
set -- $ports
PORT=$1 SINKPORT=$2
Q=$WORK/queue LOG=$WORK/flood.log
: > "$LOG"
start_sink "$WORK/sink" "$SINKPORT" --delay 0.02
start_mta "$WORK/mta1.err" "$PORT" "$SINKPORT" "$Q" -o "$WORK/eve1.json"

python3 "$LIB/mta_flood.py" send "$PORT" "$TOTAL" "$LOG" --threads 4 --seconds 150 \
    --kill-at $((TOTAL / 2)) --kill-pid "$mta_pid" > "$WORK/flood.out" 2>&1 &
flood_pid=$!
bg_pids="$flood_pid"

accepted() { grep -c ' accepted' "$LOG" || true; }
# the client kills the server with its 150th 250 (within 60 s)
end=$(($(date +%s) + 60))
while alive "$mta_pid"; do
    alive "$flood_pid" || fail "the client ended before half the mails were accepted: $(accepted) accepted; $(tail -3 "$WORK/flood.out")"
    [ "$(date +%s)" -lt "$end" ] ||
        fail "only $(accepted) of $TOTAL mails accepted in 60 s"
    sleep 0.05
done
rc=0
wait "$mta_pid" || rc=$?
mta_pid=""
grep -q ' killed ' "$LOG" ||
    fail "nightjar-mta died before it was killed ($(exit_meaning "$rc")): $(what_went_wrong "$WORK/mta1.err")"
[ "$rc" -eq 137 ] || fail "nightjar-mta killed with SIGKILL: $(exit_meaning "$rc"), expected 137"
at_kill=$(accepted)
waiting=$(find "$Q" -type f 2>/dev/null | wc -l)
delivered=$(ls "$WORK/sink" | grep -c '\.eml$' || true)
echo "killed (SIGKILL) at the $(grep ' killed ' "$LOG" | cut -d' ' -f1)th 250 of $TOTAL mails; $at_kill accepted by then; the next hop had $delivered; $waiting files in the queue directory"

sleep 1          # down for a while: the client's connections are refused
start_mta "$WORK/mta2.err" "$PORT" "$SINKPORT" "$Q" -o "$WORK/eve2.json"
echo "restarted: $(grep -m1 'listening on' "$WORK/mta2.err")"

# the client ends by itself (150 s at most)
end=$(($(date +%s) + 170))
while alive "$flood_pid"; do
    [ "$(date +%s)" -lt "$end" ] || fail "the client still runs after 170 s"
    sleep 0.2
done
wait "$flood_pid" || fail "the client failed: $(tail -3 "$WORK/flood.out")"
bg_pids=""
after=$(($(accepted) - at_kill))
echo "after the restart: $after more mails accepted"

result=0
python3 "$LIB/mta_flood.py" check "$LOG" "$WORK/sink" "$TOTAL" 60 || result=1
# never vacuous: mail must have been taken before the kill and after the restart
[ "$at_kill" -ge $((TOTAL / 3)) ] || { echo "FAIL: only $at_kill mails accepted before the kill"; result=1; }
[ "$after" -ge $((TOTAL / 10)) ] ||
    { echo "FAIL: only $after mails accepted after the restart$(mta_note "$WORK/mta2.err")"; result=1; }
left=$(find "$Q" -name '*.msg' 2>/dev/null | wc -l)
echo "queue directory after delivery: $left message files left"
stop_mta "$WORK/mta2.err"
for e in eve1 eve2; do
    echo "EVE $e: $(grep -c '"delivered"' "$WORK/$e.json" || true) records saying delivered, $(grep -c '"deferred"' "$WORK/$e.json" || true) deferred"
done
[ "$result" -eq 0 ] || fail "mail accepted with 250 was lost or changed across a SIGKILL (above)"
echo "mta_crash: ok"
