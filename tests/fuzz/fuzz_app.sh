#!/bin/sh
# Short libFuzzer run over the DNS, HTTP, SMTP, MIME, FTP and MS-RPC parsers, seeded
# with real conversations from the corpus when it is there, after replaying
# every input that once crashed them (fuzz/regressions/app-*). A crash,
# sanitizer report, failed invariant or leak fails the test and leaves the
# input in build-fuzz/.
set -u
root=${NIGHTJAR_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
. "$root/tests/sanitizers.sh"
command -v clang >/dev/null || { echo "skipped: clang is not installed"; exit 77; }
cd "$root" || exit 1
make -j2 -C fuzz ../build-fuzz/fuzz_app >/dev/null 2>build-fuzz-app.log || { cat build-fuzz-app.log; exit 1; }
rm -f build-fuzz-app.log
for r in fuzz/regressions/app-*; do
    [ -f "$r" ] || continue
    ./build-fuzz/fuzz_app "$r" >build-fuzz/app-regression.log 2>&1 ||
        { echo "regression $r fails again:"; tail -20 build-fuzz/app-regression.log; exit 1; }
done
mkdir -p build-fuzz/app-corpus
c=../shared/corpus
if [ -d "$c" ] && command -v tshark >/dev/null && [ -z "$(ls build-fuzz/app-corpus)" ]; then
    python3 fuzz/seed_app.py build-fuzz/app-corpus $c/arkime/smtp-zip.pcap \
        $c/arkime/http-content-gzip.pcap $c/arkime/dns-https.pcap $c/arkime/dns-tcp.pcap \
        $c/arkime/smtp-subject-utf8-q.pcap $c/arkime/http-100-continue.pcap \
        $c/arkime/wireshark-bdat.pcap $c/arkime/dns-mx.pcap $c/arkime/smtp-moloch-bof.pcap \
        $c/labelled/benign-dns.pcap $c/behaviour/lateral-psexec_cmd.pcap \
        $c/behaviour/lateral-wmiexec.pcap
fi
# FTP (mode 4) from the FTP exfiltration captures and the made-up sessions,
# in a directory of their own so a corpus grown before FTP gets them too
mkdir -p build-fuzz/app-ftp-seeds
if [ -d "$c" ] && command -v tshark >/dev/null && [ -z "$(ls build-fuzz/app-ftp-seeds)" ]; then
    python3 fuzz/seed_app.py build-fuzz/app-ftp-seeds $c/labelled/hawkeye-01.pcap \
        $c/labelled/agenttesla-f9421792.pcap $c/arkime/ftp.pcap
fi
secs=${FUZZ_SECONDS:-30}
# NJ_FUZZ_APP_MODE=ftp (dns, http, smtp, mime) keeps the run on one parser
./build-fuzz/fuzz_app build-fuzz/app-corpus build-fuzz/app-ftp-seeds \
    -max_total_time="$secs" -max_len=16384 \
    -artifact_prefix=build-fuzz/ -print_final_stats=1 >build-fuzz/app-run.log 2>&1
rc=$?
echo "fuzz_app: $(grep -E 'number_of_executed_units' build-fuzz/app-run.log)"
[ $rc -eq 0 ] || { tail -30 build-fuzz/app-run.log; exit 1; }
exit 0
