/* spsc.h -- a bounded single-producer/single-consumer ring of
 * variable-length records (the worker threads' packet queues,
 * sensor/workers.c).
 *
 * One thread writes, one thread reads; nothing else may touch a ring. The
 * buffer is allocated once (a power of two of bytes); a record is an 8-byte
 * length header and its bytes rounded up to 8, so a packet is copied in
 * place and nothing is allocated per record. A record never wraps: when
 * the space left before the end is too short, a wrap marker fills it and
 * the record starts at offset 0. The two positions only grow (they are
 * byte counts since the start, masked to index); each side keeps its own
 * and publishes it with a release store, and reads the other's with an
 * acquire load, so the bytes of a record are visible before its header
 * is. The ring never blocks and never waits: a full ring is the
 * producer's to handle (wait, or drop and count), an empty one the
 * consumer's (sleep: the doorbell below).
 *
 * Cheaper option not taken: fixed-size slots (one index per slot) would be
 * simpler, but a slot big enough for a 64 KiB GRO'd frame wastes the ring
 * on 60-byte ACKs; a byte ring holds as many packets as fit.
 */
#ifndef NIGHTJAR_SPSC_H
#define NIGHTJAR_SPSC_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define SPSC_ALIGN 8u
#define SPSC_WRAP UINT64_MAX /* header of the filler before the end */

struct spsc {
    uint8_t *buf;
    size_t cap, mask;              /* bytes, a power of two */
    _Alignas(64) _Atomic size_t head; /* written up to (producer's) */
    size_t head_pending;           /* producer: reserved, not yet published */
    size_t tail_seen;              /* producer: the consumer's last tail */
    _Alignas(64) _Atomic size_t tail; /* read up to (consumer's) */
    size_t head_seen;              /* consumer: the producer's last head */
    size_t peeked;                 /* consumer: the record being read, bytes */
};

static inline size_t spsc_round(size_t n)
{
    return (n + SPSC_ALIGN - 1) & ~(size_t)(SPSC_ALIGN - 1);
}

/* cap: rounded up to a power of two, at least 4 KiB. */
static inline bool spsc_init(struct spsc *r, size_t cap)
{
    size_t c = 4096;
    while (c < cap)
        c <<= 1;
    memset(r, 0, sizeof(*r));
    r->buf = aligned_alloc(64, c);
    if (!r->buf)
        return false;
    r->cap = c;
    r->mask = c - 1;
    atomic_init(&r->head, 0);
    atomic_init(&r->tail, 0);
    return true;
}

static inline void spsc_free(struct spsc *r)
{
    free(r->buf);
    r->buf = NULL;
}

/* The largest record a ring takes: half of it, so one always fits once
 * the ring is empty, wherever its positions are. */
static inline size_t spsc_max_record(const struct spsc *r)
{
    return r->cap / 2 - SPSC_ALIGN;
}

/* Producer: free bytes by the consumer's tail last seen (stale means
 * less, never more: look again only when it is not enough). */
static inline size_t spsc_free_bytes(const struct spsc *r, size_t head)
{
    return r->cap - (head - r->tail_seen);
}

/* Producer: room for a record of len bytes, or NULL when the ring is full
 * (or len is over spsc_max_record). The record is the consumer's only
 * after spsc_commit(). */
static inline void *spsc_reserve(struct spsc *r, size_t len)
{
    if (len > spsc_max_record(r))
        return NULL;
    size_t need = SPSC_ALIGN + spsc_round(len);
    size_t head = r->head_pending;
    size_t off = head & r->mask;
    size_t pad = off + need > r->cap ? r->cap - off : 0;
    if (spsc_free_bytes(r, head) < pad + need) {
        r->tail_seen = atomic_load_explicit(&r->tail, memory_order_acquire);
        if (spsc_free_bytes(r, head) < pad + need)
            return NULL;
    }
    if (pad) {
        uint64_t wrap = SPSC_WRAP;
        memcpy(r->buf + off, &wrap, sizeof(wrap));
        head += pad;
        off = 0;
    }
    uint64_t hdr = len;
    memcpy(r->buf + off, &hdr, sizeof(hdr));
    r->head_pending = head + need;
    return r->buf + off + SPSC_ALIGN;
}

/* Producer: publishes every record reserved since the last commit. */
static inline void spsc_commit(struct spsc *r)
{
    atomic_store_explicit(&r->head, r->head_pending, memory_order_release);
}

/* Consumer: the oldest record and its length, or NULL when empty. The
 * record stays valid until spsc_release(). */
static inline const void *spsc_peek(struct spsc *r, size_t *len)
{
    size_t tail = atomic_load_explicit(&r->tail, memory_order_relaxed);
    if (tail == r->head_seen) {
        r->head_seen = atomic_load_explicit(&r->head, memory_order_acquire);
        if (tail == r->head_seen)
            return NULL;
    }
    size_t off = tail & r->mask;
    uint64_t hdr;
    memcpy(&hdr, r->buf + off, sizeof(hdr));
    size_t skipped = 0;
    if (hdr == SPSC_WRAP) {
        skipped = r->cap - off;
        off = 0;
        memcpy(&hdr, r->buf, sizeof(hdr));
    }
    r->peeked = skipped + SPSC_ALIGN + spsc_round((size_t)hdr);
    *len = (size_t)hdr;
    return r->buf + off + SPSC_ALIGN;
}

/* Consumer: gives the record from spsc_peek() back to the producer. */
static inline void spsc_release(struct spsc *r)
{
    size_t tail = atomic_load_explicit(&r->tail, memory_order_relaxed);
    atomic_store_explicit(&r->tail, tail + r->peeked, memory_order_release);
    r->peeked = 0;
}

/* Either side: nothing published is left unread (a snapshot). */
static inline bool spsc_empty(struct spsc *r)
{
    return atomic_load_explicit(&r->tail, memory_order_acquire) ==
           atomic_load_explicit(&r->head, memory_order_acquire);
}

#endif
