/* icmp_tunnel.c -- echo that does not echo (see icmp_tunnel.h). */
#include "detect/icmp_tunnel.h"
#include "util/table_mem.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/counters.h"
#include "util/text.h"

#define WAYS 4
#define RING 32

struct echo_pair {
    uint32_t hash;                 /* 0: free */
    uint8_t v;
    struct ip_addr a, b;           /* a < b */
    uint32_t last_seen;
    uint32_t req[RING];            /* hashes of recent requests */
    uint8_t next;
    uint16_t requests, replies, mismatched, stuck;
    uint16_t data_max;
    uint32_t last_idseq[2];        /* per sender (0: a, 1: b) */
    uint32_t last_req[2];
    uint8_t reported;
};

struct icmp_tunnel {
    struct home_net home;
    struct echo_pair *slot;
    uint32_t sets;
    finding_fn sink;
    void *ctx;
    struct icmp_tunnel_stats st;
};

struct icmp_tunnel *icmp_tunnel_new(uint32_t pairs, const struct home_net *home,
                                    finding_fn sink, void *ctx)
{
    struct icmp_tunnel *t = calloc(1, sizeof(*t));
    if (!t)
        return NULL;
    t->home = *home;
    t->sink = sink;
    t->ctx = ctx;
    t->sets = (pairs + WAYS - 1) / WAYS ? (pairs + WAYS - 1) / WAYS : 1;
    t->slot = table_mem_alloc((size_t)t->sets * WAYS, sizeof(*t->slot));
    if (!t->slot) {
        free(t);
        return NULL;
    }
    return t;
}

void icmp_tunnel_free(struct icmp_tunnel *t)
{
    if (t)
        table_mem_free(t->slot, (size_t)t->sets * WAYS, sizeof(*t->slot));
    free(t);
}

uint64_t icmp_tunnel_memory(const struct icmp_tunnel *t)
{
    return t ? sizeof(*t) + (uint64_t)t->sets * WAYS * sizeof(*t->slot) : 0;
}

const struct icmp_tunnel_stats *icmp_tunnel_stats(const struct icmp_tunnel *t)
{
    return &t->st;
}

static struct echo_pair *pair_of(struct icmp_tunnel *t, const struct packet *p,
                                 uint32_t now, int *sender)
{
    size_t n = p->ip_version == 6 ? 16 : 4;
    bool swap = memcmp(p->src.b, p->dst.b, n) > 0;
    const struct ip_addr *a = swap ? &p->dst : &p->src, *b = swap ? &p->src : &p->dst;
    *sender = swap;
    uint32_t h = fnv1a(fnv1a(FNV1A_SEED, a, sizeof(*a)), b, sizeof(*b));
    h = h ? h : 1;
    struct echo_pair *set = &t->slot[(size_t)(h % t->sets) * WAYS], *victim = &set[0];
    for (int i = 0; i < WAYS; i++) {
        if (set[i].hash == h && set[i].v == p->ip_version &&
            !memcmp(&set[i].a, a, sizeof(*a)) && !memcmp(&set[i].b, b, sizeof(*b)))
            return &set[i];
        if (!set[i].hash || (victim->hash && set[i].last_seen < victim->last_seen))
            victim = &set[i];
    }
    if (victim->hash)
        t->st.pairs_evicted++;
    memset(victim, 0, sizeof(*victim));
    victim->hash = h;
    victim->v = p->ip_version;
    victim->a = *a;
    victim->b = *b;
    victim->last_seen = now;
    return victim;
}

static void report(struct icmp_tunnel *t, struct echo_pair *e, const struct flow *f,
                   uint64_t now, bool mismatch, bool stuck)
{
    e->reported = 1;
    t->st.tunnels++;
    const struct ip_addr *end[2] = { &e->a, &e->b };
    bool in[2] = { home_net_contains(&t->home, e->v, &e->a),
                   home_net_contains(&t->home, e->v, &e->b) };
    for (int i = 0; i < 2; i++) {
        if (!in[i] && (in[0] || in[1] || i == 1))
            continue; /* internal ends; the first when none is */
        struct finding fd;
        memset(&fd, 0, sizeof(fd));
        fd.kind = FINDING_icmp_tunnel;
        fd.stage = finding_kind_stage[FINDING_icmp_tunnel];
        fd.severity = 1;
        fd.strong = true;
        fd.ip_version = e->v;
        fd.host = *end[i];
        fd.peer = *end[!i];
        fd.has_peer = true;
        fd.peer_internal = in[!i];
        fd.ts_usec = now;
        fd.flow = f;
        fd.observed = mismatch ? e->mismatched : e->stuck;
        fd.baseline = mismatch ? e->replies : e->requests;
        fd.deviation = NAN;
        fd.unit = mismatch ? "replies" : "requests";
        snprintf(fd.indicators, sizeof(fd.indicators), "%s%s%s",
                 mismatch ? "echo_mismatch" : "", mismatch && stuck ? " " : "",
                 stuck ? "sequence_stuck" : "");
        snprintf(fd.detail, sizeof(fd.detail),
                 "%u of %u echo replies do not carry the data of their request; "
                 "%u requests carry new data under an unchanged sequence number "
                 "(%u requests, up to %u bytes of data): a ping never does either, "
                 "a tunnel does", e->mismatched, e->replies, e->stuck, e->requests,
                 e->data_max);
        if (t->sink)
            t->sink(t->ctx, &fd);
    }
}

void icmp_tunnel_packet(struct icmp_tunnel *t, const struct flow *f,
                        const struct packet *p)
{
    bool v6 = p->proto == 58;
    uint8_t type = (uint8_t)p->sport;
    bool request = type == (v6 ? 128 : 8), reply = type == (v6 ? 129 : 0);
    if (!t || (!request && !reply) || p->payload_len < 4 || p->payload_truncated)
        return;
    t->st.echoes++;
    int sender;
    uint32_t now = (uint32_t)(p->ts_usec / 1000000u);
    struct echo_pair *e = pair_of(t, p, now, &sender);
    e->last_seen = now;
    uint32_t data = p->payload_len - 4;
    if (data > e->data_max)
        e->data_max = data > UINT16_MAX ? UINT16_MAX : (uint16_t)data;
    /* identifier, sequence and data: what the reply must give back */
    uint32_t h = fnv1a(FNV1A_SEED, p->payload, p->payload_len) | 1u;
    if (request) {
        uint32_t idseq = (uint32_t)p->payload[0] << 24 | (uint32_t)p->payload[1] << 16 |
                         (uint32_t)p->payload[2] << 8 | p->payload[3];
        if (e->last_req[sender] && idseq == e->last_idseq[sender] &&
            h != e->last_req[sender])
            e->stuck += e->stuck < UINT16_MAX;
        e->last_idseq[sender] = idseq;
        e->last_req[sender] = h;
        e->req[e->next++ % RING] = h;
        e->requests += e->requests < UINT16_MAX;
    } else {
        e->replies += e->replies < UINT16_MAX;
        bool found = false;
        for (int i = 0; i < RING; i++)
            found |= e->req[i] == h;
        /* a reply to a request the capture never saw is no evidence */
        if (!found && e->requests)
            e->mismatched += e->mismatched < UINT16_MAX;
    }
    bool mismatch = e->replies >= 3 && e->mismatched * 2 >= e->replies;
    bool stuck = e->stuck >= 3;
    if (!e->reported && (mismatch || stuck))
        report(t, e, f, p->ts_usec, mismatch, stuck);
}

void icmp_tunnel_counters(const struct icmp_tunnel *t, struct counters *r)
{
    counters_u64(r, "detect.icmp_tunnel.echoes", &t->st.echoes);
    counters_u64(r, "detect.icmp_tunnel.pairs_evicted", &t->st.pairs_evicted);
    counters_u64(r, "detect.icmp_tunnel.tunnels", &t->st.tunnels);
}
