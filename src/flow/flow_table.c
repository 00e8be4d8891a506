/* flow_table.c -- flow lookup, TCP state, timeouts and eviction.
 *
 * Design (see flow_table.h): a power-of-two bucket array with intrusive
 * chains, sized once from the memory cap; one LRU list per timeout class, so
 * expiry looks only at list heads. Flows are carved from chunks of
 * FLOW_CHUNK and recycled through a free list: once the table has grown to
 * its working size, a packet costs one hash, one chain walk and a few
 * pointer moves, and nothing is allocated.
 *
 * Time is packet time. Expiry runs about once per second of packet time,
 * and a lookup that finds a flow whose timeout already passed ends it first,
 * so a late packet never joins a flow that should have been over.
 */
#include "flow/flow_table.h"
#include "util/table_mem.h"
#include "util/hash.h"
#include "util/counters.h"

#include <stdlib.h>
#include <string.h>

#define FLOW_CHUNK 256

enum tclass {
    TC_TCP_NEW, TC_TCP_EST, TC_TCP_CLOSED, TC_UDP_NEW, TC_UDP_EST, TC_ICMP,
    TC_OTHER, TC_COUNT
};

struct flow_list {
    struct flow *head, *tail;
    bool unordered;   /* a flow came after one seen later: time stepped back */
};

struct flow_chunk {
    struct flow_chunk *next;
    unsigned char mem[];
};

struct flow_table {
    struct flow_config cfg;
    flow_end_fn on_end;
    void *ctx;
    struct flow **buckets;
    uint32_t mask;
    size_t fsize;               /* bytes per flow, SPLT included */
    uint64_t max_flows;
    uint64_t allocated;         /* flows carved so far */
    struct flow *free_list;
    struct flow_chunk *chunks;
    struct flow_list lists[TC_COUNT];
    uint64_t timeout_usec[TC_COUNT];
    uint64_t now;               /* time of the packet being handled */
    uint64_t next_expire;
    bool external_clock;      /* checkpoints come from flow_table_advance() only */
    uint64_t id_counter;
    uint64_t packet_ordinal;    /* external clock: the packet being handled */
    struct flow_table_stats st;
};

size_t flow_size(const struct flow_config *cfg)
{
    return sizeof(struct flow) + cfg->splt_len * sizeof(struct splt_entry);
}

struct flow_table *flow_table_new(const struct flow_config *cfg,
                                  flow_end_fn on_end, void *ctx)
{
    flow_features_init();
    struct flow_table *t = calloc(1, sizeof(*t));
    if (!t)
        return NULL;
    t->cfg = *cfg;
    t->on_end = on_end;
    t->ctx = ctx;
    t->fsize = (flow_size(cfg) + 15) & ~(size_t)15;
    t->max_flows = cfg->memcap / t->fsize;
    if (t->max_flows < 1)
        t->max_flows = 1;
    uint64_t nb = 1024;
    while (nb < t->max_flows && nb < (1ull << 30))
        nb <<= 1;
    t->buckets = table_mem_alloc(nb, sizeof(*t->buckets));
    if (!t->buckets) {
        free(t);
        return NULL;
    }
    t->mask = (uint32_t)(nb - 1);
    const uint32_t secs[TC_COUNT] = {
        cfg->timeout_tcp_new, cfg->timeout_tcp_established,
        cfg->timeout_tcp_closed, cfg->timeout_udp_new,
        cfg->timeout_udp_established, cfg->timeout_icmp, cfg->timeout_other,
    };
    for (int i = 0; i < TC_COUNT; i++)
        t->timeout_usec[i] = secs[i] * 1000000ull;
    return t;
}

void flow_table_free(struct flow_table *t)
{
    if (!t)
        return;
    while (t->chunks) {
        struct flow_chunk *n = t->chunks->next;
        free(t->chunks);
        t->chunks = n;
    }
    table_mem_free(t->buckets, (size_t)t->mask + 1, sizeof(*t->buckets));
    free(t);
}

const struct flow_table_stats *flow_table_stats(const struct flow_table *t)
{
    return &t->st;
}

uint64_t flow_table_memory(const struct flow_table *t)
{
    return sizeof(*t) + (uint64_t)(t->mask + 1) * sizeof(*t->buckets) +
           t->allocated * t->fsize;
}

const struct ip_addr *flow_addr(const struct flow *f, int end)
{
    return (end == 0) == (f->client_is_lo != 0) ? &f->key.lo : &f->key.hi;
}

uint16_t flow_port(const struct flow *f, int end)
{
    return (end == 0) == (f->client_is_lo != 0) ? f->key.lo_port
                                                : f->key.hi_port;
}

/* ---- hashing ------------------------------------------------------------ */

static uint32_t key_hash(const struct flow_key *k)
{
    uint64_t w[sizeof(*k) / 8];
    memcpy(w, k, sizeof(w));
    uint64_t h = 0x9e3779b97f4a7c15ull;
    for (size_t i = 0; i < sizeof(w) / 8; i++)
        h = fmix64(h ^ w[i]);
    return (uint32_t)h;
}

_Static_assert(sizeof(struct flow_key) % 8 == 0, "flow_key is hashed in words");

/* Builds the normalised key; returns true when the packet's source is the
 * key's `lo` end. */
static bool key_from_packet(const struct packet *p, struct flow_key *k)
{
    memset(k, 0, sizeof(*k));
    uint16_t sport = p->sport, dport = p->dport;
    if (p->proto == 1 || p->proto == 58)
        icmp_ports(p->proto, (uint8_t)p->sport, (uint8_t)p->dport, &sport,
                   &dport);
    int c = memcmp(p->src.b, p->dst.b, sizeof(p->src.b));
    bool src_lo = c < 0 || (c == 0 && sport <= dport);
    k->lo = src_lo ? p->src : p->dst;
    k->hi = src_lo ? p->dst : p->src;
    k->lo_port = src_lo ? sport : dport;
    k->hi_port = src_lo ? dport : sport;
    k->proto = p->proto;
    k->ip_version = p->ip_version;
    k->tunnel = p->tunnel;
    k->tunnel_id = p->tunnel_id;
    for (int i = 0; i < p->vlan_count && i < DECODE_MAX_VLANS; i++)
        k->vlan[i] = p->vlan[i];
    return src_lo;
}

/* ---- lists -------------------------------------------------------------- */

static void list_unlink(struct flow_table *t, struct flow *f)
{
    struct flow_list *l = &t->lists[f->tclass];
    if (f->lprev)
        f->lprev->lnext = f->lnext;
    else
        l->head = f->lnext;
    if (f->lnext)
        f->lnext->lprev = f->lprev;
    else
        l->tail = f->lprev;
    f->lprev = f->lnext = NULL;
}

static void list_append(struct flow_table *t, struct flow *f, uint8_t tc)
{
    struct flow_list *l = &t->lists[tc];
    if (l->tail && l->tail->last_usec > f->last_usec)
        l->unordered = true;
    f->tclass = tc;
    f->lnext = NULL;
    f->lprev = l->tail;
    if (l->tail)
        l->tail->lnext = f;
    else
        l->head = f;
    l->tail = f;
}

static uint8_t tclass_of(const struct flow *f)
{
    switch (f->key.proto) {
    case 6:
        if (f->state == FLOW_STATE_CLOSED)
            return TC_TCP_CLOSED;
        return f->state == FLOW_STATE_ESTABLISHED ? TC_TCP_EST : TC_TCP_NEW;
    case 17:
        return f->state == FLOW_STATE_NEW ? TC_UDP_NEW : TC_UDP_EST;
    case 1:
    case 58:
        return TC_ICMP;
    default:
        return TC_OTHER;
    }
}

/* ---- life and death ----------------------------------------------------- */

static void flow_end(struct flow_table *t, struct flow *f,
                     enum flow_end_reason reason)
{
    struct flow **pp = &t->buckets[f->hash & t->mask];
    while (*pp && *pp != f)
        pp = &(*pp)->hnext;
    if (*pp)
        *pp = f->hnext;
    list_unlink(t, f);
    t->st.ended++;
    t->st.active--;
    t->st.by_reason[reason]++;
    if (t->on_end)
        t->on_end(t->ctx, f, reason);
    f->hnext = t->free_list;
    t->free_list = f;
}

/* The flow to give up when the table is full: the oldest closed TCP flow,
 * else the oldest half-open one, else the oldest of all. */
static struct flow *eviction_victim(struct flow_table *t)
{
    static const uint8_t order[] = { TC_TCP_CLOSED, TC_TCP_NEW, TC_UDP_NEW };
    for (size_t i = 0; i < sizeof(order); i++)
        if (t->lists[order[i]].head)
            return t->lists[order[i]].head;
    struct flow *oldest = NULL;
    for (int i = 0; i < TC_COUNT; i++) {
        struct flow *h = t->lists[i].head;
        if (h && (!oldest || h->last_usec < oldest->last_usec))
            oldest = h;
    }
    return oldest;
}

static struct flow *flow_alloc(struct flow_table *t)
{
    if (!t->free_list && t->allocated < t->max_flows) {
        uint64_t n = t->max_flows - t->allocated;
        if (n > FLOW_CHUNK)
            n = FLOW_CHUNK;
        struct flow_chunk *c = malloc(sizeof(*c) + n * t->fsize);
        if (c) {
            c->next = t->chunks;
            t->chunks = c;
            for (uint64_t i = 0; i < n; i++) {
                struct flow *f = (struct flow *)(c->mem + i * t->fsize);
                f->hnext = t->free_list;
                t->free_list = f;
            }
            t->allocated += n;
        }
    }
    if (!t->free_list) {
        struct flow *v = eviction_victim(t);
        if (!v)
            return NULL;
        t->st.evicted++;
        flow_end(t, v, FLOW_END_FORCED);
    }
    struct flow *f = t->free_list;
    t->free_list = f->hnext;
    return f;
}

static struct flow *flow_create(struct flow_table *t, const struct packet *p,
                                const struct flow_key *k, uint32_t hash,
                                bool src_lo)
{
    struct flow *f = flow_alloc(t);
    if (!f)
        return NULL;
    memset(f, 0, sizeof(*f));
    f->key = *k;
    f->hash = hash;
    f->initiator = INIT_FIRST_PACKET;
    bool client_is_src = true;
    if (p->proto == 6 && (p->tcp_flags & TCP_SYN)) {
        client_is_src = !(p->tcp_flags & TCP_ACK);
        f->initiator = client_is_src ? INIT_SYN : INIT_SYNACK;
    }
    f->client_is_lo = client_is_src == src_lo;
    f->first_usec = f->last_usec = p->ts_usec;
    /* one table: flows counted; worker tables: the reader's number of the
     * packet that made the flow (unique and the same on any worker) */
    uint64_t nth = t->external_clock ? t->packet_ordinal : ++t->id_counter;
    f->id = fmix64(hash ^ p->ts_usec ^ (nth << 40)) &
            ((1ull << 53) - 1);
    for (int d = 0; d < 2; d++) {
        f->dir[d].size_min = UINT32_MAX;
        f->dir[d].iat_min = UINT32_MAX;
        f->dir[d].wscale = 0xff;
        stream_init(&f->stream[d]);
    }
    struct flow **b = &t->buckets[hash & t->mask];
    f->hnext = *b;
    *b = f;
    list_append(t, f, tclass_of(f));
    t->st.created++;
    t->st.active++;
    return f;
}

static void tcp_state(struct flow *f, const struct packet *p, int dir)
{
    if (p->tcp_flags & TCP_RST)
        f->tcp_rst = 1;
    if (p->tcp_flags & TCP_FIN)
        f->tcp_fin[dir] = 1;
    if (f->tcp_rst || (f->tcp_fin[0] && f->tcp_fin[1]))
        f->state = FLOW_STATE_CLOSED;
    else if (f->state == FLOW_STATE_NEW && f->dir[0].pkts && f->dir[1].pkts)
        f->state = FLOW_STATE_ESTABLISHED;
}

static struct flow *flow_lookup(struct flow_table *t, const struct flow_key *k,
                                uint32_t hash)
{
    for (struct flow *f = t->buckets[hash & t->mask]; f; f = f->hnext)
        if (f->hash == hash && memcmp(&f->key, k, sizeof(*k)) == 0)
            return f;
    return NULL;
}

/* The same SYN again (same sender, same sequence number): a retransmission
 * within the connection, not a new connection on the same ports. */
static bool syn_retransmission(const struct flow *f, const struct packet *p,
                               bool src_lo)
{
    const struct flow_dir *d = &f->dir[src_lo == (f->client_is_lo != 0) ? 0 : 1];
    return d->syn_seen && d->syn_seq == p->tcp_seq;
}

struct flow *flow_table_packet(struct flow_table *t, const struct packet *p,
                               int *dir)
{
    /* Time is the current packet's. Captures merged from several sources
     * can step back in time; then nothing is expired until time passes
     * the newest flow again, rather than everything at once. */
    if (t->external_clock)
        t->now = p->ts_usec;
    else
        flow_table_advance(t, p->ts_usec);
    struct flow_key k;
    bool src_lo = key_from_packet(p, &k);
    uint32_t hash = key_hash(&k);
    struct flow *f = flow_lookup(t, &k, hash);
    if (f && t->now > f->last_usec &&
        t->now - f->last_usec > t->timeout_usec[f->tclass]) {
        flow_end(t, f, FLOW_END_TIMEOUT);
        f = NULL;
    }
    /* a new SYN on a connection past its handshake is a new connection on
     * the same ports (a retransmitted SYN only happens while still new) */
    if (f && f->key.proto == 6 && f->state != FLOW_STATE_NEW &&
        (p->tcp_flags & (TCP_SYN | TCP_ACK)) == TCP_SYN &&
        !syn_retransmission(f, p, src_lo)) {
        t->st.tcp_reuse++;
        flow_end(t, f, FLOW_END_TCP_REUSE);
        f = NULL;
    }
    if (!f) {
        f = flow_create(t, p, &k, hash, src_lo);
        if (!f)
            return NULL;
    }
    *dir = (src_lo == (f->client_is_lo != 0)) ? 0 : 1;
    if (p->ts_usec > f->last_usec)
        f->last_usec = p->ts_usec;
    flow_features_update(f, p, *dir, t->cfg.splt_len);
    if (f->key.proto == 6)
        tcp_state(f, p, *dir);
    else if (f->state == FLOW_STATE_NEW && f->dir[0].pkts && f->dir[1].pkts)
        f->state = FLOW_STATE_ESTABLISHED;
    list_unlink(t, f);
    list_append(t, f, tclass_of(f));
    return f;
}

void flow_table_advance(struct flow_table *t, uint64_t now_usec)
{
    t->now = now_usec;
    if (t->now >= t->next_expire || t->now + 2000000 < t->next_expire) {
        flow_table_expire(t, t->now);
        t->next_expire = t->now + 1000000;
    }
}

void flow_table_set_external_clock(struct flow_table *t)
{
    t->external_clock = true;
}

void flow_table_set_packet_ordinal(struct flow_table *t, uint64_t n)
{
    t->packet_ordinal = n;
}

static bool idle(const struct flow_table *t, const struct flow *f, int tc)
{
    return t->now > f->last_usec && t->now - f->last_usec > t->timeout_usec[tc];
}

/* A list out of last-seen order (time stepped back: a capture made of
 * several, concatenated): the first flow still active does not say that
 * those after it are, so every flow is looked at -- what expires must not
 * depend on which other flows share the table (a worker holds some of
 * them). Counted; the list is in order again once the walk finds it so. */
static void expire_unordered(struct flow_table *t, struct flow_list *l, int tc)
{
    t->st.expiry_full_walks++;
    bool ordered = true;
    uint64_t prev = 0;
    for (struct flow *f = l->head, *next; f; f = next) {
        next = f->lnext;
        if (idle(t, f, tc)) {
            flow_end(t, f, FLOW_END_TIMEOUT);
            continue;
        }
        ordered = ordered && f->last_usec >= prev;
        prev = f->last_usec;
    }
    l->unordered = !ordered;
}

void flow_table_expire(struct flow_table *t, uint64_t now_usec)
{
    t->now = now_usec;
    for (int i = 0; i < TC_COUNT; i++) {
        struct flow_list *l = &t->lists[i];
        if (l->unordered) {
            expire_unordered(t, l, i);
            continue;
        }
        struct flow *f;
        while ((f = l->head) && idle(t, f, i))
            flow_end(t, f, FLOW_END_TIMEOUT);
    }
}

void flow_table_flush(struct flow_table *t, enum flow_end_reason reason)
{
    for (int i = 0; i < TC_COUNT; i++)
        while (t->lists[i].head)
            flow_end(t, t->lists[i].head, reason);
}

const char *flow_state_name(enum flow_state s)
{
    static const char *const n[] = { "new", "established", "closed" };
    return n[s];
}

const char *flow_end_reason_name(enum flow_end_reason r)
{
    static const char *const n[] = { "timeout", "forced", "shutdown",
                                     "tcp_reuse" };
    return n[r];
}

const char *flow_initiator_name(enum flow_initiator i)
{
    static const char *const n[] = { "syn", "synack", "first_packet" };
    return n[i];
}

void flow_table_counters(const struct flow_table *t, struct counters *r)
{
    const struct flow_table_stats *f = flow_table_stats(t);
    counters_u64(r, "flow.created", &f->created);
    counters_u64(r, "flow.ended", &f->ended);
    counters_u64(r, "flow.active", &f->active);
    counters_u64(r, "flow.evicted", &f->evicted);
    counters_u64(r, "flow.tcp_reuse", &f->tcp_reuse);
    counters_u64(r, "flow.expiry_full_walks", &f->expiry_full_walks);
    for (int i = 0; i < 4; i++)
        counters_u64f(r, &f->by_reason[i], "flow.end_reason.%s",
                      flow_end_reason_name((enum flow_end_reason)i));
}
