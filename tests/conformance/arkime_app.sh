#!/bin/sh
# DNS, HTTP and SMTP fields agree with Arkime's expected sessions in
# ../shared/corpus/arkime (see arkime_app.py for the method).
set -eu
. "$(dirname "$0")/corpus.inc"
exec python3 "$root/tests/conformance/arkime_app.py" "$NJ" "$corpus/arkime"
