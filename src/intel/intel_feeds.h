/* intel_feeds.h -- the feeds a sensor was given, and reloading them while
 * packets keep flowing.
 *
 * Every feed (a --intel FILE, or each file of an --intel-dir directory) is
 * read into its own intel_set. A reload (SIGHUP, or a feed file whose size
 * or modification time changed, checked every few seconds) re-reads the
 * changed feeds on a separate thread; the packet thread, between two
 * packets, swaps each new set in and frees the old one, so no packet waits
 * and none is dropped. A feed that fails to read keeps its previous set,
 * and the reason is kept for the stats record and printed. At start-up a
 * feed that fails is an error.
 *
 * This file owns feed lifecycles; it never matches traffic.
 */
#ifndef NIGHTJAR_INTEL_FEEDS_H
#define NIGHTJAR_INTEL_FEEDS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "intel/feed.h"
#include "intel/intel.h"

#define INTEL_MAX_FEEDS 64

struct intel_feed_status {
    char name[128];
    char path[FEED_PATH_MAX];
    char format[16];
    uint64_t indicators, invalid, unsupported, duplicates;
    char unsupported_example[160];
    uint64_t loads, failures;
    char last_error[256];
    double load_seconds;
};

struct intel_feeds;

/* specs: "--intel" arguments (feed.h syntax); dir: "" or a directory;
 * log: where a load reports invalid lines or a failed reload (stderr; NULL
 * for a worker other than the first, whose copy would say it again). */
struct intel_feeds *intel_feeds_new(const char *const *specs, int n,
                                    const char *dir, FILE *log, char *err,
                                    size_t errlen);
void intel_feeds_free(struct intel_feeds *f);

/* Between packets: swaps in what a finished reload built; starts a reload
 * when one was asked for or a file changed (checked every check_sec of
 * wall time). Cheap when there is nothing to do. */
void intel_feeds_poll(struct intel_feeds *f, uint64_t wall_usec);
void intel_feeds_request_reload(struct intel_feeds *f);
/* Waits for a reload in progress and swaps it in (tests, shutdown). */
void intel_feeds_wait(struct intel_feeds *f);

int intel_feeds_count(const struct intel_feeds *f);
const struct intel_set *intel_feeds_set(const struct intel_feeds *f, int i);
const struct intel_feed_status *intel_feeds_status(const struct intel_feeds *f,
                                                   int i);
uint64_t intel_feeds_total(const struct intel_feeds *f);
uint64_t intel_feeds_memory(const struct intel_feeds *f);
uint64_t intel_feeds_swaps(const struct intel_feeds *f);
/* Whether a loaded set holds indicators of type t; it may change with
 * every swap (intel_feeds_swaps). False for NULL (no feeds). */
bool intel_feeds_hold(const struct intel_feeds *f, enum ioc_type t);

#endif
