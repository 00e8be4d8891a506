#!/bin/sh
# FTP commands and arguments equal tshark's, connection by connection, over
# every capture in ../shared/corpus; the FTP exfiltration captures give
# their STOR with the file name and PASS as "***" (see ftp_fields.py).
set -eu
. "$(dirname "$0")/corpus.inc"
. "$root/tests/sanitizers.sh"
# shellcheck disable=SC2086
exec python3 "$root/tests/conformance/ftp_fields.py" "$NJ" $CAPTURES
