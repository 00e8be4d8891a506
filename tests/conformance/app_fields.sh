#!/bin/sh
# DNS and HTTP fields and extracted HTTP objects equal tshark's, over every
# capture in ../shared/corpus (see app_fields.py for the method).
set -eu
. "$(dirname "$0")/corpus.inc"
# shellcheck disable=SC2086
exec python3 "$root/tests/conformance/app_fields.py" "$NJ" $CAPTURES
