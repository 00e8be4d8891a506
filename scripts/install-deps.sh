#!/bin/sh
# install-deps.sh -- install the Debian packages nightjar builds and tests
# with, if any are missing. Safe to run again: it only calls apt-get when a
# package is not installed. Needs root (or sudo) on a Debian 12 machine.
set -eu

# build: compiler, libpcap, OpenSSL, libyaml, libyara, libmagic, zlib, jansson,
# libpsl, XGBoost, libnftables (the response talks to nftables through it),
# libnghttp2 (the HPACK decoder of the HTTP/2 parser),
# hiredis (the Redis EVE sink), librdkafka (the Kafka EVE sink)
BUILD="gcc make libc6-dev pkg-config libpcap-dev libssl-dev libyaml-dev libyara-dev libmagic-dev zlib1g-dev libjansson-dev libpsl-dev libxgboost-dev libnftables-dev libhiredis-dev libnghttp2-dev librdkafka-dev"
# tests: real traffic, peers to compare against, fuzzing, nftables, a Redis
# server for the Redis sink, Squid and c-icap (ICAP clients and the
# benchmark's baseline), Net::SSLeay for swaks --tls (only recommended by
# swaks, and recommends are not installed), Postfix (nightjar-mta's peer on
# both sides in the tests, the mail benchmark's baseline, smtp-source and
# smtp-sink)
TEST="tshark tcpdump openssl curl python3 clang libclang-rt-14-dev iproute2 bind9-dnsutils swaks libnet-ssleay-perl nftables redis-server squid c-icap postfix nghttp2-server nghttp2-client"
# NIGHTJAR_DEPS=build installs only what the build needs
case "${NIGHTJAR_DEPS:-all}" in
    build) WANT="$BUILD" ;;
    *) WANT="$BUILD $TEST" ;;
esac

missing=""
for p in $WANT; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed"; then
        missing="$missing $p"
    fi
done
[ -z "$missing" ] && exit 0

echo "nightjar: installing missing Debian packages:$missing"
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null 2>&1 || {
        echo "nightjar: need root to install:$missing" >&2; exit 1; }
    SUDO=sudo
fi
export DEBIAN_FRONTEND=noninteractive
# tshark asks whether non-root users may capture; answer no, without a prompt
echo "wireshark-common wireshark-common/install-setuid boolean false" |
    $SUDO debconf-set-selections 2>/dev/null || true
# Postfix installs unconfigured (no main.cf asked for): the tests and the
# benchmark run private instances with a config directory of their own
echo "postfix postfix/main_mailer_type select No configuration" |
    $SUDO debconf-set-selections 2>/dev/null || true
$SUDO apt-get update -qq
# the packages' daemons (squid on *:3128, c-icap, redis, postfix) must not
# start on their own: the tests run their own on 127.0.0.1. policy-rc.d answers
# "not now" to every service start while installing.
policy=/usr/sbin/policy-rc.d
own_policy=""
if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' | $SUDO tee "$policy" >/dev/null
    $SUDO chmod 755 "$policy"
    own_policy=1
fi
rc=0
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $missing || rc=$?
[ -z "$own_policy" ] || $SUDO rm -f "$policy"
exit $rc
