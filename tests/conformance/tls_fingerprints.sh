#!/bin/sh
# JA3, JA3S, SNI and certificate SHA-1s equal tshark's, JA4 equals FoxIO's
# expected outputs, and JA3/JA3S/JA4/certificates agree with Arkime's expected
# sessions, over every capture in ../shared/corpus (see tls_fingerprints.py;
# exceptions are named and counted in its output).
set -eu
. "$(dirname "$0")/corpus.inc"
# shellcheck disable=SC2086
exec python3 "$root/tests/conformance/tls_fingerprints.py" "$NJ" $CAPTURES
