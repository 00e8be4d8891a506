#!/bin/sh
# Per-conversation packet/byte totals and Community IDs equal tshark's, over
# every capture in ../shared/corpus (see conv_totals.py for the method and
# the differences by design).
set -eu
root=${NIGHTJAR_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
corpus=${NIGHTJAR_CORPUS:-$root/../shared/corpus}
if [ ! -d "$corpus" ]; then
    echo "skipped: $corpus is missing (the public captures this test reads)"
    exit 77
fi
command -v tshark >/dev/null || { echo "skipped: tshark is not installed"; exit 77; }
nj=$root/build-asan/nightjar
[ -x "$nj" ] || nj=$root/build/nightjar
find "$corpus" -type f \( -name '*.pcap' -o -name '*.pcapng' -o -name '*.cap' \) |
    sort > "${TMPDIR:-/tmp}/nj-corpus-list.$$"
set +e
python3 "$root/tests/conformance/conv_totals.py" "$nj" $(cat "${TMPDIR:-/tmp}/nj-corpus-list.$$")
rc=$?
rm -f "${TMPDIR:-/tmp}/nj-corpus-list.$$"
exit $rc
