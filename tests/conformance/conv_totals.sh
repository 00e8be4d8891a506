#!/bin/sh
# Per-conversation packet/byte totals and Community IDs equal tshark's, over
# every capture in ../shared/corpus (see conv_totals.py for the method and
# the differences by design).
set -eu
. "$(dirname "$0")/corpus.inc"
# shellcheck disable=SC2086
exec python3 "$root/tests/conformance/conv_totals.py" "$NJ" $CAPTURES
