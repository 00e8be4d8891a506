/* spool.c -- the bounded record ring (see spool.h).
 *
 * The producer copies a record in while holding the mutex: the consumer
 * holds it only to move indexes, so the copy never waits behind a send, and
 * one lock is simpler to get right than a lock-free ring for a single
 * producer whose records are a few kilobytes. The consumer reads the
 * records it peeked without the lock: they lie in the taken part of the
 * ring, which the producer never writes until spool_pop gives it back.
 */
#include "output/spool.h"

#include <time.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define SKIP UINT32_MAX /* "the rest of the buffer is unused: go to 0" */

static size_t rec_size(size_t len) { return (4 + len + 7) & ~(size_t)7; }

static uint32_t hdr_at(const struct spool *s, size_t pos)
{
    uint32_t h;
    memcpy(&h, s->buf + pos, 4);
    return h;
}

static void hdr_put(struct spool *s, size_t pos, uint32_t h)
{
    memcpy(s->buf + pos, &h, 4);
}

bool spool_init(struct spool *s, size_t cap)
{
    memset(s, 0, sizeof(*s));
    cap &= ~(size_t)7;
    if (cap < 16)
        return false;
    s->buf = malloc(cap);
    if (!s->buf)
        return false;
    s->cap = cap;
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&s->cv, &ca);
    pthread_cond_init(&s->room, &ca);
    pthread_condattr_destroy(&ca);
    pthread_mutex_init(&s->mu, NULL);
    return true;
}

void spool_free(struct spool *s)
{
    if (!s->buf)
        return;
    pthread_mutex_destroy(&s->mu);
    pthread_cond_destroy(&s->cv);
    pthread_cond_destroy(&s->room);
    free(s->buf);
    s->buf = NULL;
}

/* Where a record of `need` bytes goes, or -1: the caller holds the lock. */
static long place(struct spool *s, size_t need)
{
    if (s->used == 0)
        s->r = s->w = 0; /* empty: start at the front, all of it free */
    bool wrapped = s->used > 0 && s->w <= s->r;
    if (wrapped)
        return need <= s->r - s->w ? (long)s->w : -1;
    size_t tail = s->cap - s->w;
    if (need <= tail)
        return (long)s->w;
    if (need > s->r)
        return -1;
    if (tail) { /* a multiple of 8, so the marker fits */
        hdr_put(s, s->w, SKIP);
        s->used += tail;
    }
    s->w = 0;
    return 0;
}

bool spool_push(struct spool *s, const void *rec, size_t len)
{
    return spool_push_wait(s, rec, len, 0);
}

bool spool_push_wait(struct spool *s, const void *rec, size_t len,
                     uint64_t wait_usec)
{
    return spool_push2_wait(s, NULL, 0, rec, len, wait_usec);
}

bool spool_push2_wait(struct spool *s, const void *head, size_t head_len,
                      const void *body, size_t body_len, uint64_t wait_usec)
{
    size_t len = head_len + body_len;
    size_t need = rec_size(len);
    pthread_mutex_lock(&s->mu);
    long at = len < SKIP && need <= s->cap ? place(s, need) : -1;
    if (at < 0 && wait_usec && len < SKIP && need <= s->cap) {
        struct timespec until;
        clock_gettime(CLOCK_MONOTONIC, &until);
        until.tv_sec += (time_t)(wait_usec / 1000000u);
        until.tv_nsec += (long)(wait_usec % 1000000u) * 1000;
        if (until.tv_nsec >= 1000000000L) {
            until.tv_sec++;
            until.tv_nsec -= 1000000000L;
        }
        while ((at = place(s, need)) < 0 &&
               pthread_cond_timedwait(&s->room, &s->mu, &until) == 0)
            ;
    }
    if (at < 0) {
        s->dropped++;
        pthread_mutex_unlock(&s->mu);
        return false;
    }
    hdr_put(s, (size_t)at, (uint32_t)len);
    if (head_len)
        memcpy(s->buf + at + 4, head, head_len);
    memcpy(s->buf + at + 4 + head_len, body, body_len);
    s->w = (size_t)at + need;
    if (s->w == s->cap)
        s->w = 0;
    s->used += need;
    s->bytes += len;
    s->pushed++;
    if (s->records++ == 0)
        pthread_cond_signal(&s->cv);
    pthread_mutex_unlock(&s->mu);
    return true;
}

size_t spool_peek(struct spool *s, struct spool_rec *out, size_t max,
                  size_t max_bytes)
{
    pthread_mutex_lock(&s->mu);
    size_t pos = s->r, left = s->used, n = 0, total = 0;
    while (n < max && left > 0) {
        if (pos == s->cap)
            pos = 0;
        uint32_t h = hdr_at(s, pos);
        if (h == SKIP) {
            left -= s->cap - pos;
            pos = 0;
            continue;
        }
        if (n > 0 && total + h > max_bytes)
            break;
        out[n].data = s->buf + pos + 4;
        out[n].len = h;
        n++;
        total += h;
        pos += rec_size(h);
        left -= rec_size(h);
    }
    pthread_mutex_unlock(&s->mu);
    return n;
}

/* Takes the first record out; the caller holds the lock. */
static void pop_one(struct spool *s)
{
    if (s->r == s->cap)
        s->r = 0;
    uint32_t h = hdr_at(s, s->r);
    if (h == SKIP) {
        s->used -= s->cap - s->r;
        s->r = 0;
        h = hdr_at(s, 0);
    }
    s->r += rec_size(h);
    if (s->r == s->cap)
        s->r = 0;
    s->used -= rec_size(h);
    s->records--;
    s->bytes -= h;
}

void spool_pop(struct spool *s, size_t n)
{
    pthread_mutex_lock(&s->mu);
    for (size_t i = 0; i < n && s->records; i++)
        pop_one(s);
    if (s->records == 0)
        s->used = s->r = s->w = 0; /* a skipped tail may remain: drop it */
    pthread_cond_broadcast(&s->room);
    pthread_mutex_unlock(&s->mu);
}

uint64_t spool_clear(struct spool *s)
{
    pthread_mutex_lock(&s->mu);
    uint64_t n = s->records;
    s->records = s->bytes = 0;
    s->used = s->r = s->w = 0;
    pthread_mutex_unlock(&s->mu);
    return n;
}

bool spool_wait(struct spool *s, const struct timespec *until)
{
    pthread_mutex_lock(&s->mu);
    while (s->records == 0 && !s->woken) {
        if (!until)
            pthread_cond_wait(&s->cv, &s->mu);
        else if (pthread_cond_timedwait(&s->cv, &s->mu, until) == ETIMEDOUT)
            break;
    }
    s->woken = false;
    bool any = s->records > 0;
    pthread_mutex_unlock(&s->mu);
    return any;
}

void spool_sleep(struct spool *s, const struct timespec *until)
{
    pthread_mutex_lock(&s->mu);
    while (!s->woken)
        if (pthread_cond_timedwait(&s->cv, &s->mu, until) == ETIMEDOUT)
            break;
    s->woken = false;
    pthread_mutex_unlock(&s->mu);
}

void spool_wake(struct spool *s)
{
    pthread_mutex_lock(&s->mu);
    s->woken = true;
    pthread_cond_broadcast(&s->cv);
    pthread_mutex_unlock(&s->mu);
}

void spool_stats(struct spool *s, struct spool_stats *out)
{
    pthread_mutex_lock(&s->mu);
    out->records = s->records;
    out->bytes = s->bytes;
    out->pushed = s->pushed;
    out->dropped = s->dropped;
    out->used = s->used;
    out->cap = s->cap;
    pthread_mutex_unlock(&s->mu);
}
