/* eta_history.h -- when a client connected to a server before, for the
 * periodicity features (BotFinder-style).
 *
 * A fixed-size, 4-way set-associative table keyed by (client address,
 * server address, server port, IP protocol) keeps the start times and
 * client byte counts of the last ETA_HISTORY_CONNS connections of each
 * pair. When a flow ends its connection is added and the pair's statistics
 * come back: mean and coefficient of variation of the intervals between
 * starts (starts within 50 ms of each other are one event: a burst of
 * parallel connections), a Fourier regularity score over those events, and
 * the variation of the client's byte counts. A full set replaces its least recently used pair (counted
 * in `evicted`). A pair takes an entry only at its second connection: its
 * first is remembered apart (16 bytes, four for each entry, in sets of
 * four where the oldest goes first; one pushed out by another pair's is
 * counted in `firsts_forgotten`), so
 * pairs that connect once -- most of them -- do not push out those that
 * repeat. Allocated once; never allocates after eta_history_new.
 */
#ifndef NIGHTJAR_ETA_HISTORY_H
#define NIGHTJAR_ETA_HISTORY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "eta/eta_features.h"
#include "flow/flow.h"

#define ETA_HISTORY_CONNS 16

struct eta_history_stats {
    uint64_t pairs_new;        /* first connections of a pair (remembered) */
    uint64_t pairs_kept;       /* pairs given an entry: a second connection */
    uint64_t updates, evicted; /* connections added; entries pushed out */
    uint64_t firsts_forgotten; /* a first connection pushed out by another */
};

struct eta_history;

/* pairs: rounded up to a multiple of 4 (0: the table is off). */
struct eta_history *eta_history_new(uint32_t pairs);
void eta_history_free(struct eta_history *h);
uint64_t eta_history_memory(const struct eta_history *h);
const struct eta_history_stats *eta_history_stats(const struct eta_history *h);

/* Adds the finished flow f and, when out is not NULL and the pair has
 * had at least min_conns connections, fills out with the pair's statistics
 * (the costly part: only for flows someone reads them for). Returns true
 * when out was filled. */
bool eta_history_add(struct eta_history *h, const struct flow *f,
                     struct eta_pair_stats *out, uint32_t min_conns);

/* The statistics of n connection starts (microseconds, any order) and
 * client byte counts; exposed for tests. */
void eta_pair_compute(const uint64_t *starts, const uint32_t *bytes,
                      uint32_t n, struct eta_pair_stats *out);

/* Registers "eta.pairs_new" and "eta.pairs_evicted". */
struct counters;
void eta_history_counters(const struct eta_history *h, struct counters *r);

#endif
