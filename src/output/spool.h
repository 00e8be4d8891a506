/* spool.h -- a bounded ring of records between the packet thread and a
 * sink's writer thread.
 *
 * The packet thread pushes a record (a copy of its bytes) and never waits:
 * when the ring has no room the record is dropped and counted. The writer
 * thread looks at the records at the front without taking them out
 * (spool_peek), sends them, and only then takes out those that left
 * (spool_pop), so a record whose sending failed stays first in line for the
 * next connection. One producer may push while one consumer peeks and pops;
 * the mutex guards the indexes only, never a copy or a send, so the packet
 * thread waits at most for a few index updates.
 *
 * Records are stored whole and contiguous (a 4-byte length, the bytes,
 * padding to 8): one that does not fit before the end of the buffer starts
 * again at the front and the tail is skipped, so a reader always gets one
 * pointer per record. The cost is up to one record's size of capacity.
 */
#ifndef NIGHTJAR_SPOOL_H
#define NIGHTJAR_SPOOL_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

struct spool_rec {
    const char *data;
    size_t len;
};

struct spool {
    char *buf;
    size_t cap;          /* bytes, a multiple of 8 */
    size_t r, w;         /* read and write offsets */
    size_t used;         /* bytes taken, skipped tails included */
    uint64_t records;    /* records in the ring */
    uint64_t bytes;      /* their lengths added up */
    uint64_t pushed;     /* ever accepted */
    uint64_t dropped;    /* refused: no room, or larger than the ring */
    bool woken;          /* spool_wake since the last wait */
    pthread_mutex_t mu;
    pthread_cond_t cv;   /* a record arrived, or spool_wake */
    pthread_cond_t room; /* records were taken out */
};

/* cap is rounded down to a multiple of 8; false if it cannot be had. */
bool spool_init(struct spool *s, size_t cap);
void spool_free(struct spool *s);

/* Copies a record in. False (and counted as dropped) when it does not fit. */
bool spool_push(struct spool *s, const void *rec, size_t len);
/* The same, waiting up to wait_usec for room (reading a capture file: no
 * packet is lost by waiting, so records are not dropped for speed). */
bool spool_push_wait(struct spool *s, const void *rec, size_t len,
                     uint64_t wait_usec);
/* The same for a record made of two parts, stored as one (a sink's own
 * header, such as a message key, before the record's bytes). */
bool spool_push2_wait(struct spool *s, const void *head, size_t head_len,
                      const void *body, size_t body_len, uint64_t wait_usec);

/* Up to max records from the front, their lengths adding up to at most
 * max_bytes (the first is given whatever its size); they stay in the ring
 * and their bytes stay valid until spool_pop. Consumer only. */
size_t spool_peek(struct spool *s, struct spool_rec *out, size_t max,
                  size_t max_bytes);

/* Takes the first n records out. Consumer only. */
void spool_pop(struct spool *s, size_t n);

/* Empties the ring; returns how many records were in it. */
uint64_t spool_clear(struct spool *s);

/* Waits until the ring holds a record, spool_wake is called, or the
 * CLOCK_MONOTONIC time `until` passes (NULL: no limit). True if it holds a
 * record. */
bool spool_wait(struct spool *s, const struct timespec *until);

/* Sleeps until `until` (CLOCK_MONOTONIC) or spool_wake, whichever first;
 * records arriving do not end it. */
void spool_sleep(struct spool *s, const struct timespec *until);

/* Ends the current or next wait or sleep. */
void spool_wake(struct spool *s);

/* A consistent copy of the counters. */
struct spool_stats {
    uint64_t records, bytes, pushed, dropped;
    size_t used, cap;
};
void spool_stats(struct spool *s, struct spool_stats *out);

#endif
