/* tcp_stream.h -- per-direction TCP reassembly into an in-order byte stream.
 *
 * Each direction of a TCP flow has a struct tcp_stream. Segments that arrive
 * in order are handed straight to the sink and never copied; segments that
 * arrive early are copied into fixed-size chunks from a global, memory-capped
 * pool and delivered when the hole before them fills. Overlaps keep the
 * bytes seen first (data already delivered or queued wins; a retransmission
 * that disagrees with queued bytes is counted as overlap_mismatch). When a
 * hole cannot be filled -- the per-flow queue or the global pool is full,
 * or the flow ends -- the sink is told about the gap and delivery goes on
 * after it. Streams picked up mid-connection start at the first byte seen.
 *
 * This file knows sequence numbers and bytes; it never knows what the bytes
 * mean, never looks at flows, and never allocates once the pool is warm.
 */
#ifndef NIGHTJAR_TCP_STREAM_H
#define NIGHTJAR_TCP_STREAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct stream_seg;

struct tcp_stream {
    uint32_t next_seq;      /* next byte to deliver */
    uint32_t fin_seq;       /* sequence number of the FIN, when seen */
    uint8_t flags;          /* STREAM_F_* */
    uint16_t ooo_segs;      /* chunks queued */
    uint32_t ooo_bytes;     /* bytes queued out of order */
    uint64_t delivered;     /* bytes handed to the sink */
    uint32_t gaps;          /* holes reported to the sink */
    uint64_t gap_bytes;     /* bytes in those holes */
    struct stream_seg *ooo; /* queued chunks, sorted by seq */
};

#define STREAM_F_SEQ_KNOWN 0x01
#define STREAM_F_MIDSTREAM 0x02 /* picked up without seeing the SYN */
#define STREAM_F_FIN 0x04       /* FIN seen */
#define STREAM_F_DONE 0x08      /* everything up to the FIN delivered */
#define STREAM_F_DEPTH 0x10     /* depth reached: no more delivery */

/* Where the bytes go. `ctx` is what the caller passed to stream_segment. */
struct stream_sink {
    void (*data)(void *ctx, int dir, const uint8_t *data, size_t len);
    void (*gap)(void *ctx, int dir, uint64_t len);
};

struct stream_config {
    uint64_t memcap;          /* bytes of queued out-of-order data, global */
    uint64_t max_queued;      /* bytes of queued data per direction */
    uint64_t depth;           /* bytes delivered per direction; 0 = all */
};

struct stream_stats {
    uint64_t segments;        /* segments with data or SYN/FIN */
    uint64_t in_order;
    uint64_t queued;          /* segments stored out of order */
    uint64_t retransmits;     /* segments entirely before next_seq */
    uint64_t overlaps;        /* segments partly before next_seq / queued */
    uint64_t overlap_mismatch;/* overlapping bytes that differed */
    uint64_t gaps;            /* holes reported */
    uint64_t per_flow_cap;    /* a direction's queue was full */
    uint64_t memcap_hit;      /* the global pool was full */
    uint64_t depth_reached;   /* directions that hit the depth */
    uint64_t midstream;       /* directions picked up without a SYN */
    uint64_t chunks_in_use, chunks_allocated;
};

struct stream_engine;

struct stream_engine *stream_engine_new(const struct stream_config *cfg,
                                        const struct stream_sink *sink);
void stream_engine_free(struct stream_engine *e);
const struct stream_stats *stream_engine_stats(const struct stream_engine *e);
uint64_t stream_engine_memory(const struct stream_engine *e);

void stream_init(struct tcp_stream *s);

/* One TCP segment of direction `dir` (0 = to server, 1 = to client). */
void stream_segment(struct stream_engine *e, struct tcp_stream *s, int dir,
                    void *ctx, uint8_t tcp_flags, uint32_t seq,
                    const uint8_t *data, uint32_t len);

/* End of the flow: deliver what is queued, reporting the holes, and give
 * the chunks back. */
void stream_finish(struct stream_engine *e, struct tcp_stream *s, int dir,
                   void *ctx);

struct counters;
/* Registers the reassembly counters under "tcp_reassembly". */
void stream_counters(const struct stream_engine *e, struct counters *r);

#endif
