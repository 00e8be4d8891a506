/* proxy.h -- the sensor behind a TLS-terminating proxy or interception
 * box: whom a proxied HTTP transaction speaks for, and which flows come
 * from a decrypted feed.
 *
 * Trusted proxies (anomaly.trusted-proxies): when the client of an HTTP
 * transaction is one of them and the request names its own client in
 * X-Forwarded-For or Forwarded, the real client is the rightmost hop of
 * that chain that is not itself a trusted proxy -- every hop to its left
 * was written by a host nobody vouches for, and may be forged. A hidden
 * hop ("unknown", an obfuscated identifier) on the way ends the walk with
 * no client; a chain whose every hop is trusted names its leftmost. Which
 * header is read is anomaly.trusted-proxy-header: x-forwarded-for,
 * forwarded, or auto (whichever the request carries; when it carries both
 * they must name the same client). A header from a client that is not a
 * trusted proxy never changes anything. proxy_http_subject() is the one
 * place the detectors get "the client this transaction speaks for".
 *
 * Decrypted feed (capture.decrypted-feed, capture.decrypted-feed-ports):
 * the flows of a feed where cleartext on TLS ports is expected (the
 * decrypted side of an interception box, or its decrypted mirror port).
 *
 * This file decides attribution and coverage; it never parses headers
 * (proto/forwarded.c does), never emits findings and never writes output.
 */
#ifndef NIGHTJAR_PROXY_H
#define NIGHTJAR_PROXY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "detect/finding.h"
#include "detect/home_net.h"

struct http_tx;
struct counters;

#define PROXY_FEED_PORTS_MAX 64

enum proxy_header { PROXY_HDR_AUTO, PROXY_HDR_XFF, PROXY_HDR_FORWARDED };

/* What happened to the transactions of trusted proxies (counted once per
 * transaction, when the pipeline asks with stats). */
struct proxy_stats {
    uint64_t resolved;        /* a real client named */
    uint64_t no_header;       /* a trusted proxy's request without the header */
    uint64_t hidden;          /* the walk stopped at "unknown" or an obfuscated hop */
    uint64_t truncated;       /* the header was longer than kept: not used */
    uint64_t conflicts;       /* auto: the two headers named different clients */
    uint64_t hops_over_cap;   /* chains longer than FWD_HOPS_MAX */
    uint64_t untrusted;       /* a header from a client that is no trusted proxy: ignored */
};

struct proxy_view {
    struct home_net trusted;  /* anomaly.trusted-proxies */
    uint8_t header;           /* enum proxy_header */
    bool feed_all;            /* capture.decrypted-feed */
    uint16_t n_feed_ports;
    uint16_t feed_ports[PROXY_FEED_PORTS_MAX]; /* capture.decrypted-feed-ports */
    struct proxy_stats st;
};

/* From the settings' text: proxies (addresses and networks, comma- or
 * space-separated), header ("auto", "x-forwarded-for", "forwarded"), the
 * whole feed decrypted, the decrypted ports (comma- or space-separated).
 * False with a message naming the setting and the bad entry. */
bool proxy_view_init(struct proxy_view *pv, const char *proxies,
                     const char *header, bool feed_all, const char *feed_ports,
                     char *err, size_t errlen);

/* The client a transaction from peer (v, addr) speaks for: true with
 * (*ov, *out) when peer is a trusted proxy and the chosen header names a
 * client by the rule above. st (may be NULL) counts the outcome. */
bool proxy_client_of(const struct proxy_view *pv, uint8_t v,
                     const struct ip_addr *peer, const struct http_tx *tx,
                     uint8_t *ov, struct ip_addr *out, struct proxy_stats *st);

/* The subject of an HTTP transaction on flow f: the flow's, with the
 * client replaced by the one it speaks for (forwarded set) when there is
 * one. When the two addresses' families differ the IPv4 one is written
 * as an IPv4-mapped IPv6 address, so both are of one family. */
struct event_subject proxy_http_subject(const struct proxy_view *pv,
                                        struct flow *f, const struct http_tx *tx,
                                        struct proxy_stats *st);

/* Is flow f (at its first packet) on the decrypted feed? */
bool proxy_feed_covers(const struct proxy_view *pv, const struct flow *f);

/* "proxy.*" counters. */
void proxy_counters(const struct proxy_view *pv, struct counters *r);

#endif
