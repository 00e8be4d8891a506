#!/bin/sh
# JA3, JA3S, SNI and certificate SHA-1s equal tshark's, JA4 equals FoxIO's
# expected outputs, and JA3/JA3S/JA4/certificates agree with Arkime's expected
# sessions, over every capture in ../shared/corpus (see tls_fingerprints.py;
# exceptions are named and counted in its output).
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
list=$(find "$corpus" -type f \( -name '*.pcap' -o -name '*.pcapng' -o -name '*.cap' \) | sort)
# shellcheck disable=SC2086
exec python3 "$root/tests/conformance/tls_fingerprints.py" "$nj" $list
