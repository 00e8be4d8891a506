/* tcp_stream.c -- TCP reassembly (see tcp_stream.h for the policy).
 *
 * Queued data lives in chunks of STREAM_CHUNK bytes; a segment longer than
 * that is stored as several consecutive chunks, so the pool never needs an
 * allocation of a size it has not seen. Chunks come from a free list; the
 * pool only calls malloc while it is growing towards its memcap.
 */
#include "flow/tcp_stream.h"
#include "util/counters.h"

#include <stdlib.h>
#include <string.h>

#define STREAM_CHUNK 2048u

#define SEQ_LT(a, b) ((int32_t)((a) - (b)) < 0)
#define SEQ_LEQ(a, b) ((int32_t)((a) - (b)) <= 0)

struct stream_seg {
    struct stream_seg *next;
    uint32_t seq;
    uint16_t len;
    uint8_t data[STREAM_CHUNK];
};

struct stream_engine {
    struct stream_config cfg;
    struct stream_sink sink;
    struct stream_stats st;
    struct stream_seg *free_list;
    uint64_t max_chunks;
};

struct stream_engine *stream_engine_new(const struct stream_config *cfg,
                                        const struct stream_sink *sink)
{
    struct stream_engine *e = calloc(1, sizeof(*e));
    if (!e)
        return NULL;
    e->cfg = *cfg;
    e->sink = *sink;
    e->max_chunks = cfg->memcap / sizeof(struct stream_seg);
    return e;
}

void stream_engine_free(struct stream_engine *e)
{
    if (!e)
        return;
    while (e->free_list) {
        struct stream_seg *n = e->free_list->next;
        free(e->free_list);
        e->free_list = n;
    }
    free(e);
}

const struct stream_stats *stream_engine_stats(const struct stream_engine *e)
{
    return &e->st;
}

uint64_t stream_engine_memory(const struct stream_engine *e)
{
    return e->st.chunks_allocated * sizeof(struct stream_seg);
}

void stream_init(struct tcp_stream *s) { memset(s, 0, sizeof(*s)); }

static struct stream_seg *chunk_get(struct stream_engine *e)
{
    struct stream_seg *c = e->free_list;
    if (c) {
        e->free_list = c->next;
    } else {
        if (e->st.chunks_allocated >= e->max_chunks)
            return NULL;
        c = malloc(sizeof(*c));
        if (!c)
            return NULL;
        e->st.chunks_allocated++;
    }
    e->st.chunks_in_use++;
    c->next = NULL;
    return c;
}

static void chunk_put(struct stream_engine *e, struct stream_seg *c)
{
    c->next = e->free_list;
    e->free_list = c;
    e->st.chunks_in_use--;
}

/* Hands len bytes at seq == next_seq to the sink, honouring the depth. */
static void deliver(struct stream_engine *e, struct tcp_stream *s, int dir,
                    void *ctx, const uint8_t *data, uint32_t len)
{
    s->next_seq += len;
    if (s->flags & STREAM_F_DEPTH)
        return;
    if (e->cfg.depth && s->delivered + len >= e->cfg.depth) {
        len = (uint32_t)(e->cfg.depth - s->delivered);
        s->flags |= STREAM_F_DEPTH;
        e->st.depth_reached++;
    }
    s->delivered += len;
    if (len && e->sink.data)
        e->sink.data(ctx, dir, data, len);
}

static void report_gap(struct stream_engine *e, struct tcp_stream *s, int dir,
                       void *ctx, uint32_t len)
{
    s->next_seq += len;
    s->gaps++;
    s->gap_bytes += len;
    e->st.gaps++;
    if (e->sink.gap && !(s->flags & STREAM_F_DEPTH))
        e->sink.gap(ctx, dir, len);
}

static void free_queue_head(struct stream_engine *e, struct tcp_stream *s)
{
    struct stream_seg *c = s->ooo;
    s->ooo = c->next;
    s->ooo_segs--;
    s->ooo_bytes -= c->len;
    chunk_put(e, c);
}

/* Delivers queued chunks that now line up with next_seq. */
static void drain(struct stream_engine *e, struct tcp_stream *s, int dir,
                  void *ctx)
{
    while (s->ooo && SEQ_LEQ(s->ooo->seq, s->next_seq)) {
        struct stream_seg *c = s->ooo;
        uint32_t skip = s->next_seq - c->seq;
        if (skip < c->len)
            deliver(e, s, dir, ctx, c->data + skip, c->len - skip);
        free_queue_head(e, s);
    }
}

/* Gives up on the hole before the first queued chunk. */
static void skip_hole(struct stream_engine *e, struct tcp_stream *s, int dir,
                      void *ctx)
{
    if (!s->ooo)
        return;
    report_gap(e, s, dir, ctx, s->ooo->seq - s->next_seq);
    drain(e, s, dir, ctx);
}

/* Copies the bytes of [seq, seq+len) that no queued chunk holds yet into new
 * chunks, in order. Returns false when a bound stopped it. */
static bool enqueue(struct stream_engine *e, struct tcp_stream *s,
                    uint32_t seq, const uint8_t *data, uint32_t len)
{
    struct stream_seg **link = &s->ooo;
    uint32_t end = seq + len;
    while (SEQ_LT(seq, end)) {
        while (*link && SEQ_LEQ((*link)->seq + (*link)->len, seq))
            link = &(*link)->next;
        struct stream_seg *next = *link;
        if (next && SEQ_LEQ(next->seq, seq)) { /* first wins */
            uint32_t have = next->seq + next->len - seq;
            if (have > end - seq)
                have = end - seq;
            if (memcmp(next->data + (seq - next->seq), data, have) != 0)
                e->st.overlap_mismatch++;
            e->st.overlaps++;
            seq += have;
            data += have;
            continue;
        }
        uint32_t room = next && SEQ_LT(next->seq, end) ? next->seq - seq
                                                      : end - seq;
        if (room > STREAM_CHUNK)
            room = STREAM_CHUNK;
        if (e->cfg.max_queued && s->ooo_bytes + room > e->cfg.max_queued) {
            e->st.per_flow_cap++;
            return false;
        }
        struct stream_seg *c = chunk_get(e);
        if (!c) {
            e->st.memcap_hit++;
            return false;
        }
        c->seq = seq;
        c->len = (uint16_t)room;
        memcpy(c->data, data, room);
        c->next = next;
        *link = c;
        link = &c->next;
        s->ooo_segs++;
        s->ooo_bytes += room;
        seq += room;
        data += room;
    }
    return true;
}

static void stream_start(struct stream_engine *e, struct tcp_stream *s,
                         uint8_t flags, uint32_t seq)
{
    s->flags |= STREAM_F_SEQ_KNOWN;
    if (flags & 0x02 /* SYN */) {
        s->next_seq = seq + 1;
    } else {
        s->next_seq = seq;
        s->flags |= STREAM_F_MIDSTREAM;
        e->st.midstream++;
    }
}

void stream_segment(struct stream_engine *e, struct tcp_stream *s, int dir,
                    void *ctx, uint8_t tcp_flags, uint32_t seq,
                    const uint8_t *data, uint32_t len)
{
    if (!len && !(tcp_flags & 0x03)) /* pure ACK / RST: nothing to order */
        return;
    e->st.segments++;
    if (!(s->flags & STREAM_F_SEQ_KNOWN))
        stream_start(e, s, tcp_flags, seq);
    if (tcp_flags & 0x02)
        seq++; /* the SYN takes one sequence number; data follows it */
    if (tcp_flags & 0x01) {
        s->flags |= STREAM_F_FIN;
        s->fin_seq = seq + len;
    }
    if (s->flags & STREAM_F_DONE || !len)
        return;
    uint32_t end = seq + len;
    if (SEQ_LEQ(end, s->next_seq)) {
        e->st.retransmits++;
        return;
    }
    if (SEQ_LEQ(seq, s->next_seq)) {
        uint32_t skip = s->next_seq - seq;
        if (skip)
            e->st.overlaps++;
        e->st.in_order++;
        deliver(e, s, dir, ctx, data + skip, len - skip);
        drain(e, s, dir, ctx);
    } else if (s->flags & STREAM_F_DEPTH) {
        return; /* nothing more will be delivered; do not hold memory */
    } else {
        e->st.queued++;
        /* When a bound is hit, give up the oldest hole and retry; with
         * nothing queued to give up, give up the hole before this segment. */
        while (SEQ_LT(s->next_seq, seq) && !enqueue(e, s, seq, data, len)) {
            if (s->ooo)
                skip_hole(e, s, dir, ctx);
            else
                report_gap(e, s, dir, ctx, seq - s->next_seq);
        }
        if (SEQ_LEQ(seq, s->next_seq) && SEQ_LT(s->next_seq, end)) {
            uint32_t skip = s->next_seq - seq;
            deliver(e, s, dir, ctx, data + skip, len - skip);
        }
        drain(e, s, dir, ctx);
    }
    if ((s->flags & STREAM_F_FIN) && s->next_seq == s->fin_seq)
        s->flags |= STREAM_F_DONE;
}

void stream_finish(struct stream_engine *e, struct tcp_stream *s, int dir,
                   void *ctx)
{
    while (s->ooo)
        skip_hole(e, s, dir, ctx);
}

void stream_counters(const struct stream_engine *e, struct counters *r)
{
    const struct stream_stats *s = stream_engine_stats(e);
    counters_u64(r, "tcp_reassembly.segments", &s->segments);
    counters_u64(r, "tcp_reassembly.in_order", &s->in_order);
    counters_u64(r, "tcp_reassembly.queued", &s->queued);
    counters_u64(r, "tcp_reassembly.retransmits", &s->retransmits);
    counters_u64(r, "tcp_reassembly.overlaps", &s->overlaps);
    counters_u64(r, "tcp_reassembly.overlap_mismatch", &s->overlap_mismatch);
    counters_u64(r, "tcp_reassembly.gaps", &s->gaps);
    counters_u64(r, "tcp_reassembly.per_flow_cap", &s->per_flow_cap);
    counters_u64(r, "tcp_reassembly.memcap_hit", &s->memcap_hit);
    counters_u64(r, "tcp_reassembly.depth_reached", &s->depth_reached);
    counters_u64(r, "tcp_reassembly.midstream", &s->midstream);
    counters_u64(r, "tcp_reassembly.chunks_in_use", &s->chunks_in_use);
}
