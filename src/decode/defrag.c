/* defrag.c -- bounded IP fragment reassembly (see defrag.h for the policy).
 *
 * Fragments are rare on real networks, so trackers are found by a linear
 * scan of a small fixed array: simpler than a hash and never slower at the
 * sizes we allow. Coverage is a bitmap of 8-byte units, the granularity of
 * the fragment offset field, so "which bytes do we already have" is exact.
 */
#include "decode/defrag.h"
#include "util/table_mem.h"

#include <stdlib.h>
#include <string.h>

#define DEFRAG_MAX_DATAGRAM 65535u
#define DEFRAG_UNITS ((DEFRAG_MAX_DATAGRAM + 7) / 8 + 1)

struct defrag_tracker {
    bool active;
    struct defrag_key key;
    uint64_t first_usec;
    uint32_t total_len;      /* known once the last fragment arrived */
    bool have_last;
    uint32_t frames;
    uint64_t wire_bytes;
    uint8_t *buf;            /* DEFRAG_MAX_DATAGRAM bytes, lazily allocated */
    uint8_t have[(DEFRAG_UNITS + 7) / 8];
};

struct defrag {
    struct defrag_config cfg;
    struct defrag_tracker *t;
    uint64_t memory;
};

struct defrag *defrag_new(const struct defrag_config *cfg)
{
    struct defrag *d = calloc(1, sizeof(*d));
    if (!d)
        return NULL;
    d->cfg = *cfg;
    if (d->cfg.max_trackers == 0)
        d->cfg.max_trackers = 1;
    d->t = table_mem_alloc(d->cfg.max_trackers, sizeof(*d->t));
    if (!d->t) {
        free(d);
        return NULL;
    }
    d->memory = sizeof(*d) + d->cfg.max_trackers * sizeof(*d->t);
    return d;
}

void defrag_free(struct defrag *d)
{
    if (!d)
        return;
    for (uint32_t i = 0; i < d->cfg.max_trackers; i++)
        free(d->t[i].buf);
    table_mem_free(d->t, d->cfg.max_trackers, sizeof(*d->t));
    free(d);
}

uint64_t defrag_memory(const struct defrag *d) { return d ? d->memory : 0; }

static bool key_eq(const struct defrag_key *a, const struct defrag_key *b)
{
    return a->id == b->id && a->proto == b->proto &&
           a->ip_version == b->ip_version &&
           memcmp(&a->src, &b->src, sizeof(a->src)) == 0 &&
           memcmp(&a->dst, &b->dst, sizeof(a->dst)) == 0;
}

static void tracker_reset(struct defrag_tracker *t)
{
    t->active = false;
    t->have_last = false;
    t->total_len = 0;
    t->frames = 0;
    t->wire_bytes = 0;
    memset(t->have, 0, sizeof(t->have));
}

/* Finds the tracker for k, or claims one: a free or timed-out slot first,
 * else the oldest (counted as an eviction). */
static struct defrag_tracker *tracker_get(struct defrag *d,
                                          const struct defrag_key *k,
                                          uint64_t now, struct decode_stats *st)
{
    struct defrag_tracker *free_slot = NULL, *oldest = NULL;
    uint64_t timeout = (uint64_t)d->cfg.timeout_sec * 1000000u;
    for (uint32_t i = 0; i < d->cfg.max_trackers; i++) {
        struct defrag_tracker *t = &d->t[i];
        if (t->active && now - t->first_usec > timeout && now > t->first_usec) {
            st->frag_timeouts++;
            tracker_reset(t);
        }
        if (!t->active) {
            if (!free_slot)
                free_slot = t;
            continue;
        }
        if (key_eq(&t->key, k))
            return t;
        if (!oldest || t->first_usec < oldest->first_usec)
            oldest = t;
    }
    struct defrag_tracker *t = free_slot;
    if (!t) {
        st->frag_evicted++;
        t = oldest;
        tracker_reset(t);
    }
    if (!t->buf) {
        t->buf = malloc(DEFRAG_MAX_DATAGRAM);
        if (!t->buf)
            return NULL;
        d->memory += DEFRAG_MAX_DATAGRAM;
    }
    t->active = true;
    t->key = *k;
    t->first_usec = now;
    return t;
}

static bool unit_have(const struct defrag_tracker *t, uint32_t u)
{
    return t->have[u >> 3] & (1u << (u & 7));
}

static void unit_set(struct defrag_tracker *t, uint32_t u)
{
    t->have[u >> 3] |= (uint8_t)(1u << (u & 7));
}

/* Copies the units of [offset, offset+len) we do not have yet; returns true
 * when some unit was already there (an overlap). */
static bool tracker_fill(struct defrag_tracker *t, uint32_t offset,
                         const uint8_t *data, uint32_t len)
{
    bool overlap = false;
    uint32_t end = offset + len;
    for (uint32_t u = offset / 8; u * 8 < end; u++) {
        uint32_t from = u * 8 > offset ? u * 8 : offset;
        uint32_t to = (u + 1) * 8 < end ? (u + 1) * 8 : end;
        if (unit_have(t, u)) {
            overlap = true;
            continue;
        }
        memcpy(t->buf + from, data + (from - offset), to - from);
        /* a unit counts as had only when complete, or when it is the tail */
        if (to == (u + 1) * 8 || to == end)
            unit_set(t, u);
    }
    return overlap;
}

static bool tracker_complete(const struct defrag_tracker *t)
{
    if (!t->have_last)
        return false;
    uint32_t units = (t->total_len + 7) / 8;
    for (uint32_t u = 0; u < units; u++)
        if (!unit_have(t, u))
            return false;
    return true;
}

bool defrag_add(struct defrag *d, const struct defrag_key *k, uint64_t now_usec,
                uint32_t offset, bool more, const uint8_t *data, uint32_t len,
                uint32_t wire_len, struct decode_stats *st,
                struct defrag_done *done)
{
    st->fragments++;
    if ((uint64_t)offset + len > DEFRAG_MAX_DATAGRAM) {
        st->err[DECODE_ERR_frag_too_big]++;
        return false;
    }
    if (more && (len == 0 || (len & 7) != 0)) {
        st->err[DECODE_ERR_frag_bad]++; /* non-final fragments are 8n bytes */
        return false;
    }
    struct defrag_tracker *t = tracker_get(d, k, now_usec, st);
    if (!t)
        return false;
    if (!more) {
        if (t->have_last && t->total_len != offset + len) {
            st->err[DECODE_ERR_frag_bad]++;
            return false;
        }
        t->have_last = true;
        t->total_len = offset + len;
    } else if (t->have_last && offset + len > t->total_len) {
        st->err[DECODE_ERR_frag_bad]++;
        return false;
    }
    if (tracker_fill(t, offset, data, len))
        st->err[DECODE_ERR_frag_overlap]++;
    t->frames++;
    t->wire_bytes += wire_len;
    if (!tracker_complete(t))
        return false;
    done->payload = t->buf;
    done->len = t->total_len;
    done->frames = t->frames;
    done->wire_bytes = t->wire_bytes;
    st->frag_reassembled++;
    tracker_reset(t); /* the buffer stays valid until it is claimed again */
    return true;
}
