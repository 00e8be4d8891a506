#!/bin/sh
# Community IDs of ICMP and ICMPv6 flows equal tshark's communityid, over
# every capture in ../shared/corpus (see icmp_community_id.py).
set -eu
. "$(dirname "$0")/corpus.inc"
# shellcheck disable=SC2086
exec python3 "$root/tests/conformance/icmp_community_id.py" "$NJ" $CAPTURES
