#!/bin/sh
# Passive TLS decryption equal to tshark's, connection by connection and
# byte for byte, on the corpus's key log captures -- with --keylog, and
# with the key log injected into the capture as pcapng Decryption Secrets
# Blocks (see keylog_decrypt.py).
set -eu
. "$(dirname "$0")/corpus.inc"
command -v editcap >/dev/null || { echo "skipped: editcap (wireshark-common) is not installed"; exit 77; }
exec python3 "$root/tests/conformance/keylog_decrypt.py" "$NJ" "$corpus/keylog"
