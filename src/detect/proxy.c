/* proxy.c -- trusted proxies' clients and the decrypted feed (see
 * proxy.h). The chain is parsed again each time a transaction's client is
 * asked for (a few hundred bytes at most): nothing is kept per
 * transaction, so the answer cannot go stale or leak between requests of
 * different clients sharing one proxy connection.
 */
#include "detect/proxy.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "flow/flow_table.h"
#include "proto/forwarded.h"
#include "proto/http.h"
#include "util/counters.h"

static bool parse_header(const char *s, uint8_t *out)
{
    static const struct { const char *name; uint8_t v; } names[] = {
        { "auto", PROXY_HDR_AUTO },
        { "x-forwarded-for", PROXY_HDR_XFF },
        { "forwarded", PROXY_HDR_FORWARDED },
    };
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        if (!strcasecmp(s, names[i].name)) {
            *out = names[i].v;
            return true;
        }
    return false;
}

static bool parse_ports(struct proxy_view *pv, const char *list, char *err,
                        size_t errlen)
{
    for (const char *p = list; *p;) {
        size_t skip = strspn(p, ", \t");
        p += skip;
        if (!*p)
            break;
        size_t n = strcspn(p, ", \t");
        char *end;
        long port = strtol(p, &end, 10);
        if (end != p + n || port < 1 || port > 65535) {
            snprintf(err, errlen, "capture.decrypted-feed-ports: '%.*s' is no "
                     "port (1..65535)", (int)(n > 32 ? 32 : n), p);
            return false;
        }
        if (pv->n_feed_ports >= PROXY_FEED_PORTS_MAX) {
            snprintf(err, errlen, "capture.decrypted-feed-ports: more than %d "
                     "ports", PROXY_FEED_PORTS_MAX);
            return false;
        }
        pv->feed_ports[pv->n_feed_ports++] = (uint16_t)port;
        p += n;
    }
    return true;
}

bool proxy_view_init(struct proxy_view *pv, const char *proxies,
                     const char *header, bool feed_all, const char *feed_ports,
                     char *err, size_t errlen)
{
    memset(pv, 0, sizeof(*pv));
    char msg[256];
    if (!home_net_parse(&pv->trusted, proxies, msg, sizeof(msg))) {
        snprintf(err, errlen, "anomaly.trusted-proxies: %s", msg);
        return false;
    }
    if (!parse_header(header, &pv->header)) {
        snprintf(err, errlen, "anomaly.trusted-proxy-header: '%s' is none of "
                 "auto, x-forwarded-for, forwarded", header);
        return false;
    }
    pv->feed_all = feed_all;
    return parse_ports(pv, feed_ports, err, errlen);
}

enum walk { WALK_NONE, WALK_CLIENT, WALK_HIDDEN };

/* Right to left: the first hop that is no trusted proxy is the client. */
static enum walk walk_chain(const struct proxy_view *pv,
                            const struct fwd_chain *c, uint8_t *v,
                            struct ip_addr *out)
{
    for (int i = (int)c->n - 1; i >= 0; i--) {
        const struct fwd_hop *h = &c->hop[i];
        if (h->kind != FWD_HOP_ADDR)
            return WALK_HIDDEN;
        bool trusted = home_net_contains(&pv->trusted, h->v, &h->addr);
        if (trusted && i == 0 && c->over_cap)
            return WALK_HIDDEN; /* the client was among the hops not kept */
        if (!trusted || i == 0) {
            *v = h->v;
            *out = h->addr; /* all trusted: the leftmost */
            return WALK_CLIENT;
        }
    }
    return WALK_NONE;
}

/* st may be NULL: the question was asked again for the same transaction */
#define COUNT(st, field)          \
    do {                          \
        if (st)                   \
            (st)->field++;        \
    } while (0)

/* One header's verdict: WALK_CLIENT with the client, or why not. */
static enum walk from_header(const struct proxy_view *pv, const char *value,
                             bool truncated, bool xff, uint8_t *v,
                             struct ip_addr *out, struct proxy_stats *st)
{
    if (!value[0])
        return WALK_NONE;
    if (truncated) {
        COUNT(st, truncated);
        return WALK_HIDDEN;
    }
    struct fwd_chain c;
    if (xff)
        fwd_parse_xff(value, strlen(value), &c);
    else
        fwd_parse_forwarded(value, strlen(value), &c);
    if (c.over_cap)
        COUNT(st, hops_over_cap);
    enum walk w = walk_chain(pv, &c, v, out);
    if (w == WALK_HIDDEN)
        COUNT(st, hidden);
    return w;
}

bool proxy_client_of(const struct proxy_view *pv, uint8_t v,
                     const struct ip_addr *peer, const struct http_tx *tx,
                     uint8_t *ov, struct ip_addr *out, struct proxy_stats *st)
{
    bool has = tx->xff[0] || tx->forwarded[0];
    if (!pv->trusted.n || !home_net_contains(&pv->trusted, v, peer)) {
        if (has && pv->trusted.n)
            COUNT(st, untrusted);
        return false;
    }
    uint8_t xv = 0, fv = 0;
    struct ip_addr xa, fa;
    enum walk x = pv->header == PROXY_HDR_FORWARDED ? WALK_NONE
                : from_header(pv, tx->xff, tx->xff_truncated, true, &xv, &xa, st);
    enum walk f = pv->header == PROXY_HDR_XFF ? WALK_NONE
                : from_header(pv, tx->forwarded, tx->forwarded_truncated, false,
                              &fv, &fa, st);
    if (x == WALK_NONE && f == WALK_NONE) {
        COUNT(st, no_header);
        return false;
    }
    if (x == WALK_HIDDEN || f == WALK_HIDDEN)
        return false;
    /* auto with both headers: they must agree, or neither is believed (a
     * client may add the header its proxy does not write) */
    if (x == WALK_CLIENT && f == WALK_CLIENT &&
        (xv != fv || memcmp(&xa, &fa, sizeof(xa)))) {
        COUNT(st, conflicts);
        return false;
    }
    *ov = x == WALK_CLIENT ? xv : fv;
    *out = x == WALK_CLIENT ? xa : fa;
    COUNT(st, resolved);
    return true;
}

/* An IPv4 address as ::ffff:a.b.c.d. */
static void map_v6(struct ip_addr *a)
{
    uint8_t v4[4];
    memcpy(v4, a->b, 4);
    memset(a->b, 0, sizeof(a->b));
    a->b[10] = a->b[11] = 0xff;
    memcpy(a->b + 12, v4, 4);
}

struct event_subject proxy_http_subject(const struct proxy_view *pv,
                                        struct flow *f, const struct http_tx *tx,
                                        struct proxy_stats *st)
{
    struct event_subject s = event_subject_of(f);
    uint8_t v;
    struct ip_addr client;
    if (!tx || !proxy_client_of(pv, s.ip_version, &s.client, tx, &v, &client, st))
        return s;
    s.forwarded = true;
    s.client = client;
    s.client_port = 0; /* the proxy's port, not the client's */
    if (v != s.ip_version) {
        if (v == 4)
            map_v6(&s.client);
        else
            map_v6(&s.server);
        v = 6;
    }
    s.ip_version = v;
    return s;
}

bool proxy_feed_covers(const struct proxy_view *pv, const struct flow *f)
{
    if (pv->feed_all)
        return true;
    uint16_t port = flow_port(f, 1);
    for (unsigned i = 0; i < pv->n_feed_ports; i++)
        if (pv->feed_ports[i] == port)
            return true;
    return false;
}

void proxy_counters(const struct proxy_view *pv, struct counters *r)
{
    counters_u64(r, "proxy.resolved", &pv->st.resolved);
    counters_u64(r, "proxy.no_header", &pv->st.no_header);
    counters_u64(r, "proxy.hidden", &pv->st.hidden);
    counters_u64(r, "proxy.truncated", &pv->st.truncated);
    counters_u64(r, "proxy.conflicts", &pv->st.conflicts);
    counters_u64(r, "proxy.hops_over_cap", &pv->st.hops_over_cap);
    counters_u64(r, "proxy.untrusted", &pv->st.untrusted);
}
