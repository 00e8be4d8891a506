#!/bin/sh
# Short libFuzzer run over nightjar-mta's SMTP command parser and DATA
# reader (fuzz/fuzz_smtp_command.c), seeded with a few commands and a
# dot-stuffed message. A crash, sanitizer report or broken invariant (a
# refusal without a 4xx/5xx code, more bytes handed out than read) fails.
set -u
root=${NIGHTJAR_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
. "$root/tests/sanitizers.sh"
command -v clang >/dev/null || { echo "skipped: clang is not installed"; exit 77; }
cd "$root" || exit 1
make -j2 -C fuzz ../build-fuzz/fuzz_smtp_command >/dev/null 2>build-fuzz-smtp.log || { cat build-fuzz-smtp.log; exit 1; }
rm -f build-fuzz-smtp.log
d=build-fuzz/smtp-command-corpus
mkdir -p "$d"
printf '\001\005MAIL FROM:<a@b.example> SIZE=10 BODY=8BITMIME' > "$d/mail"
printf '\001\005RCPT TO:<@r.example:c@[192.0.2.1]>' > "$d/rcpt"
printf '\001\005EHLO mx.example.org' > "$d/ehlo"
printf '\000\003Subject: x\r\n\r\n..dot\r\n.x\r\n.\r\nQUIT\r\n' > "$d/data"
printf '\000\001a\nb\n.\rz\r\n.\n' > "$d/data-lf"
secs=${FUZZ_SECONDS:-15}
./build-fuzz/fuzz_smtp_command "$d" -max_total_time="$secs" -max_len=2048 \
    -artifact_prefix=build-fuzz/ -print_final_stats=1 >build-fuzz/smtp-command-run.log 2>&1
rc=$?
echo "fuzz_smtp_command: $(grep -E 'number_of_executed_units' build-fuzz/smtp-command-run.log)"
[ $rc -eq 0 ] || { tail -30 build-fuzz/smtp-command-run.log; exit 1; }
exit 0
