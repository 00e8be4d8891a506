/* icap_scan.h -- content detection for the ICAP server on worker threads.
 *
 * Hashing, typing and YARA-scanning a body is most of what a transaction
 * costs; the event loop must not wait for it. A pool of worker threads
 * (icap.workers, default one per CPU) each owns its own content engine
 * (rules compiled once per worker; libyara scans with shared nothing, and
 * the engines' caches are never touched by two threads). The loop submits
 * a finished body; a worker hashes what was kept (unless the digests were
 * streamed because the body outgrew the cap), inspects it, and queues the
 * job as done; an eventfd in the loop's epoll set says so, and the loop
 * collects the results in submission order per worker. A gzip or deflate
 * body (Content-Encoding) is inflated first, up to decoded_max bytes, so
 * rules see what the browser will: its hashes are then those of the
 * inflated file when all of it was inflated, else of the bytes as sent. With 0 workers a
 * submitted job runs at once in the caller (tests, the fuzz target).
 *
 * Rule reloads (SIGHUP, or a rule file whose size, time or name changed,
 * looked at every few seconds) reach every worker before its next job;
 * the generation number changes with each successful reload.
 *
 * This module runs content detection; it never speaks ICAP, never judges
 * findings and never writes output.
 */
#ifndef NIGHTJAR_ICAP_SCAN_H
#define NIGHTJAR_ICAP_SCAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "content/content.h"

struct icap_scan_job {
    /* in */
    const uint8_t *buf;       /* the kept bytes, valid until done */
    size_t len;
    uint64_t size;            /* the whole body's length */
    bool have_hashes;         /* hashes below were streamed: use them */
    struct file_hashes hashes;
    bool truncated;           /* bigger than what was kept */
    uint8_t encoding;         /* enum http_encoding of the body */
    size_t decoded_max;       /* decoded bytes kept, then cut */
    void *owner;              /* the caller's, handed back when done */
    /* out */
    bool decoded;             /* r is about the inflated body */
    bool decode_cut;          /* ...which was longer than decoded_max */
    uint64_t file_size;       /* the length of what was judged */
    struct content_result r;
    struct icap_scan_job *next;
};

struct icap_scan_stats {
    uint64_t jobs, queued_max, rule_reloads, rule_reload_failures;
};

struct icap_scan;

/* workers: threads (0: scan in the caller). NULL with err set when the
 * rules do not compile or a thread cannot start. */
struct icap_scan *icap_scan_new(const struct content_config *cfg, unsigned workers,
                                char *err, size_t errlen);
/* Waits for the jobs in progress, stops the workers. */
void icap_scan_free(struct icap_scan *p);

/* The eventfd that becomes readable when jobs are done (-1 without workers). */
int icap_scan_fd(const struct icap_scan *p);
unsigned icap_scan_workers(const struct icap_scan *p);

/* Hands a job over; without workers it is done when this returns (and
 * true is returned: collect it yourself). False: queued. */
bool icap_scan_submit(struct icap_scan *p, struct icap_scan_job *job);
/* Calls fn for every job done since the last call (the loop's thread). */
void icap_scan_collect(struct icap_scan *p,
                       void (*fn)(void *ctx, struct icap_scan_job *job), void *ctx);

/* Every few seconds from the loop: reloads rules whose files changed, or
 * all when asked (SIGHUP). */
void icap_scan_poll(struct icap_scan *p, uint64_t wall_usec, bool reload);
uint64_t icap_scan_generation(const struct icap_scan *p);
unsigned icap_scan_hash_mask(const struct icap_scan *p);

/* Counters summed over the workers' engines, for the stats record. */
struct counters;
void icap_scan_counters(struct icap_scan *p, struct counters *r);

#endif
