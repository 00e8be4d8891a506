#!/bin/sh
# --workers 2 (and 3) give the same EVE records as --workers 1, order
# aside, over labelled/ and behaviour/ of ../shared/corpus (method and
# normalisation: workers_equal.py). Uses the plain build: three runs of
# every capture under ASan take several minutes on two cores; the ASan
# build is exercised by the e2e scripts with --workers. YARA is off (the
# same rules on every worker; compiling them each run would be most of
# the time). NJ_WORKERS_ALL=1: the whole corpus.
#
# With mergecap (tshark's package), also one big capture: see below.
set -eu
root=${NIGHTJAR_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
. "$root/tests/sanitizers.sh"
corpus=${NIGHTJAR_CORPUS:-$root/../shared/corpus}
if [ ! -d "$corpus" ]; then
    echo "skipped: $corpus is missing (the public captures this test reads)"
    exit 77
fi
NJ=$root/build/nightjar
[ -x "$NJ" ] || { echo "FAIL: $NJ is missing: run make"; exit 1; }
if [ "${NJ_WORKERS_ALL:-0}" = 1 ]; then
    dirs=$corpus
else
    dirs="$corpus/labelled $corpus/behaviour"
fi
# shellcheck disable=SC2086
CAPTURES=$(find -L $dirs -type f \( -name '*.pcap' -o -name '*.pcapng' -o -name '*.cap' \) | sort)
# and TCP in IP fragments between two internal hosts (the reader's
# fragment placement, sensor/workers.c frag_client)
frag=$corpus/arkime/socks5-http-302-frag.pcap
if [ "${NJ_WORKERS_ALL:-0}" != 1 ] && [ -f "$frag" ]; then
    CAPTURES="$CAPTURES
$frag"
fi
# and, first (the first capture also runs with three workers),
# labelled/'s Ethernet captures merged into one file of some 90 MB, whose
# plan is walked in parts (sensor/workers.c plan_split: one a worker, 16
# MiB each at least), each starting mid-file, and in which one address
# is several hosts of several captures
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
if command -v mergecap >/dev/null && command -v capinfos >/dev/null; then
    # shellcheck disable=SC2046
    ether=$(capinfos -T -E -r $(find -L "$corpus/labelled" -type f \( -name '*.pcap' -o \
        -name '*.pcapng' -o -name '*.cap' \) | sort) 2>/dev/null | awk -F'\t' '$2 == "ether" {print $1}')
    # shellcheck disable=SC2086
    if [ -n "$ether" ] && mergecap -F pcap -s 65535 -w "$tmp/labelled-merged.pcap" $ether 2>/dev/null; then
        CAPTURES="$tmp/labelled-merged.pcap
$CAPTURES"
    fi
fi
case $CAPTURES in
*labelled-merged.pcap*) ;;
*) echo "not checked: the merged capture of labelled/ (no mergecap, or nothing to merge)" ;;
esac
# shellcheck disable=SC2086
python3 "$root/tests/conformance/workers_equal.py" "$NJ" $CAPTURES
