#!/bin/sh
# QUIC 1-RTT decryption with a key log: the stream data nightjar delivers
# equals tshark's (byte counts, and YARA rules made of tshark's cleartext
# that alert only when nightjar delivered it), nothing is opened without
# the key log, and a damaged secret gives counted failures, no bytes (see
# quic_decrypt.py). Reads the keylog/ captures of ../shared/corpus.
set -eu
. "$(dirname "$0")/corpus.inc"
exec python3 "$root/tests/conformance/quic_decrypt.py" "$NJ" "$corpus"
