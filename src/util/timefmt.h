/* timefmt.h -- one timestamp format for every record and every message:
 * "2024-05-01T10:00:00.123456+0000" (UTC, microseconds, Suricata's).
 * Pure but for a per-thread cache of the last second formatted.
 */
#ifndef NIGHTJAR_TIMEFMT_H
#define NIGHTJAR_TIMEFMT_H

#include <stddef.h>
#include <stdint.h>

/* len >= 32; shorter: buf gets "". */
void time_format(uint64_t usec, char *buf, size_t len);

#endif
