#!/bin/sh
# Short libFuzzer run over the MIME rewriter (fuzz/fuzz_mime_rewrite.c),
# after replaying every input that once broke it (fuzz/regressions/
# mime-rewrite-*), seeded with a few messages: nested multiparts with an
# attached message (CRLF and bare LF), a single-part attachment, quoted-
# printable and 7bit text with URLs, base64 HTML, a line near 998 bytes,
# more parts than the cap. A crash, sanitizer report, leak or broken
# invariant (a kept message that does not come back byte for byte, a
# rewrite that does not parse back to the same tree minus what was
# stripped, a bad URL left in a defanged part, a writer's failure not
# reported) fails and leaves the input in build-fuzz/.
set -u
root=${NIGHTJAR_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
. "$root/tests/sanitizers.sh"
command -v clang >/dev/null || { echo "skipped: clang is not installed"; exit 77; }
cd "$root" || exit 1
make -j2 -C fuzz ../build-fuzz/fuzz_mime_rewrite >/dev/null 2>build-fuzz-mime-rewrite.log ||
    { cat build-fuzz-mime-rewrite.log; exit 1; }
rm -f build-fuzz-mime-rewrite.log
for r in fuzz/regressions/mime-rewrite-*; do
    [ -f "$r" ] || continue
    ./build-fuzz/fuzz_mime_rewrite "$r" >build-fuzz/mime-rewrite-regression.log 2>&1 ||
        { echo "regression $r fails again:"; tail -20 build-fuzz/mime-rewrite-regression.log; exit 1; }
done
d=build-fuzz/mime-rewrite-corpus
mkdir -p "$d"
printf 'From: a@example.com\r\nSubject: =?UTF-8?B?w6k=?=\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary="o"\r\n\r\npreamble\r\n--o\r\nContent-Type: multipart/alternative; boundary=i\r\n\r\n--i\r\nContent-Type: text/plain; charset=us-ascii\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\nVisit http://evil.example/p?a=3D1 now.=\r\n and https://good.example/ too\r\n--i\r\nContent-Type: text/html\r\n\r\n<a href="https://x.example/q?a=1&amp;b=2">x</a>\r\n--i--\r\n--o\r\nContent-Type: application/octet-stream; name="x.bin"\r\nContent-Disposition: attachment;\r\n filename*0*=UTF-8'"''"'r%%C3%%A9s;\r\n filename*1="e.pdf"\r\nContent-Transfer-Encoding: base64\r\n\r\naGVsbG8g\r\nd29ybGQ=\r\n--o\r\nContent-Type: message/rfc822\r\n\r\nSubject: inner\r\nContent-Type: application/zip; name="a.zip"\r\n\r\nPK\003\004zip\r\n--o--\r\nepilogue\r\n' > "$d/nested"
tr -d '\r' < "$d/nested" > "$d/nested-lf"
printf 'Received: from x\r\nFrom: a@example.com\r\nContent-Type: application/x-dosexec;\r\n name="run.exe"\r\nContent-Transfer-Encoding: base64\r\nContent-Disposition: attachment; filename="run.exe"\r\n\r\nTVqQAAMAAAAEAAAA\r\n' > "$d/single"
printf 'Content-Type: multipart/alternative; boundary=h\r\n\r\n--h\r\nContent-Type: text/html; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\nPGEgaHJlZj0iaHR0cDovL2V2aWwuZXhhbXBsZS9wYXkiPmh0dHA6Ly9ldmlsLmV4YW1wbGUvcGF5\r\nPC9hPiBodHRwczovL2dvb2QuZXhhbXBsZS8=\r\n--h--\r\n' > "$d/html-base64"
{ printf 'Content-Type: text/plain\n\nstart '; head -c 940 /dev/zero | tr '\0' x
  printf ' http://a.b.c.d.e.f.g.h.evil.example/p?u=http://evil.example/ end\n'; } > "$d/long-line"
{ printf 'Content-Type: multipart/mixed; boundary=w\n\n--w\n\nhttp://evil.example/\n'
  i=0; while [ $i -lt 300 ]; do printf -- '--w\n\nx\n'; i=$((i + 1)); done
  printf -- '--w--\n'; } > "$d/wide"
secs=${FUZZ_SECONDS:-15}
./build-fuzz/fuzz_mime_rewrite "$d" -max_total_time="$secs" -max_len=8192 \
    -dict=fuzz/mime_rewrite.dict -artifact_prefix=build-fuzz/ -print_final_stats=1 \
    >build-fuzz/mime-rewrite-run.log 2>&1
rc=$?
echo "fuzz_mime_rewrite: $(grep -E 'number_of_executed_units' build-fuzz/mime-rewrite-run.log)"
[ $rc -eq 0 ] || { tail -30 build-fuzz/mime-rewrite-run.log; exit 1; }
exit 0
