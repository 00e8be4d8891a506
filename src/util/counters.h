/* counters.h -- the counter registry: every module registers, once at
 * set-up, what it counts under a dotted name ("tcp_reassembly.gaps",
 * "intel.alerts"), and the stats record is the registry written out as
 * nested JSON objects -- so the writer knows no module, and a module's new
 * counter shows up without touching output.
 *
 * An entry is a pointer to a live uint64_t, a function computing a value
 * (memory in use, a mean), or a section function for what is not a number
 * (the list of intel feeds). Names are copied at registration; counters
 * with a common prefix must be registered together (they are written in
 * registration order, one object per prefix). Registration allocates;
 * reading never does. The registry owns no counter and never changes one.
 */
#ifndef NIGHTJAR_COUNTERS_H
#define NIGHTJAR_COUNTERS_H

#include <stdbool.h>
#include <stdint.h>

#include "util/json.h"

struct counters;

struct counters *counters_new(void);
void counters_free(struct counters *r);

/* A live counter. */
bool counters_u64(struct counters *r, const char *name, const uint64_t *value);
/* A value computed when the record is written. */
bool counters_fn(struct counters *r, const char *name,
                 uint64_t (*get)(const void *ctx), const void *ctx);
bool counters_double(struct counters *r, const char *name,
                     double (*get)(const void *ctx), const void *ctx);
/* name: the key the section writes its own value under (an object, an
 * array, a string). */
bool counters_section(struct counters *r, const char *name,
                      void (*write)(struct json *j, const void *ctx),
                      const void *ctx);
/* printf-style names, for counters in a table ("anomaly.findings.%s"). */
bool counters_u64f(struct counters *r, const uint64_t *value, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

unsigned counters_count(const struct counters *r);
/* The value of a numeric counter by name (tests, summaries); false when
 * there is none. */
bool counters_get(const struct counters *r, const char *name, uint64_t *out);

/* name holds what every worker's registry holds a copy of (rules loaded,
 * indicators, feed swaps): merged, it is the first registry's value, not
 * the sum. False when no such name is registered. */
bool counters_mark_copy(struct counters *r, const char *name);

/* Writes every entry as nested members of the object open in j. */
void counters_write(const struct counters *r, struct json *j);
/* The same over several registries with the same names (one per worker
 * thread): counts are summed, "uptime" is the largest, copies
 * (counters_mark_copy) and sections are the first registry's, means are
 * averaged. */
void counters_write_merged(const struct counters *const *regs, unsigned nregs,
                           struct json *j);

#endif
