/* forwarded.h -- the client chain a proxy writes into a request:
 * X-Forwarded-For and RFC 7239 Forwarded.
 *
 * Each proxy a request crosses appends the address it received the
 * request from, so the header reads left to right from the first client to
 * the last hop: "X-Forwarded-For: 203.0.113.7, 10.0.0.5" or
 * "Forwarded: for=203.0.113.7;proto=https, for=\"[2001:db8::1]:4711\"".
 * This file turns one such value into a bounded chain of hops, each an
 * address (IPv4 or IPv6; a port, brackets and quotes are taken off) or
 * hidden -- "unknown", an obfuscated identifier ("_hidden"), an element
 * without for=, or anything that is no address. Several header lines are
 * one list (the HTTP parser joins them with ", ").
 *
 * Cap: FWD_HOPS_MAX hops; beyond it the leftmost are dropped (the
 * rightmost, written by the nearest proxies, are the ones that can be
 * trusted) and over_cap is set.
 *
 * It parses; it never decides which hop is the client (detect/proxy.c
 * does, from the proxies the operator trusts) and never allocates.
 */
#ifndef NIGHTJAR_FORWARDED_H
#define NIGHTJAR_FORWARDED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "decode/decode.h"

#define FWD_HOPS_MAX 16

enum fwd_hop_kind { FWD_HOP_ADDR, FWD_HOP_HIDDEN };

struct fwd_hop {
    uint8_t kind;            /* enum fwd_hop_kind */
    uint8_t v;               /* 4 or 6 for an address */
    struct ip_addr addr;
};

struct fwd_chain {
    uint8_t n;
    bool over_cap;           /* hops beyond FWD_HOPS_MAX were dropped (left) */
    struct fwd_hop hop[FWD_HOPS_MAX]; /* leftmost (first client) first */
};

/* An address as proxies write it: "192.0.2.1", "192.0.2.1:80",
 * "2001:db8::1", "[2001:db8::1]", "[2001:db8::1]:443", optionally in
 * double quotes, surrounding blanks ignored. False for anything else. */
bool fwd_parse_addr(const char *s, size_t len, uint8_t *v, struct ip_addr *a);

/* An X-Forwarded-For value (comma-separated addresses). */
void fwd_parse_xff(const char *s, size_t len, struct fwd_chain *c);

/* A Forwarded value (RFC 7239: comma-separated elements of
 * semicolon-separated name=value pairs, values tokens or quoted
 * strings); each element is one hop, its for= parameter the address. */
void fwd_parse_forwarded(const char *s, size_t len, struct fwd_chain *c);

#endif
