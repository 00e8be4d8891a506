/* timefmt.h -- one timestamp format for every record and every message:
 * "2024-05-01T10:00:00.123456+0000" (UTC, microseconds, Suricata's).
 * Pure but for a per-thread cache of the last second formatted; and the
 * parser of that format (EVE read back by the correlator).
 */
#ifndef NIGHTJAR_TIMEFMT_H
#define NIGHTJAR_TIMEFMT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* len >= 32; shorter: buf gets "". */
void time_format(uint64_t usec, char *buf, size_t len);

/* The inverse: "2024-05-01T10:00:00[.frac][+HHMM|-HHMM|Z]" (any number of
 * fraction digits, microseconds kept) to microseconds since the epoch.
 * False for anything else, or a time before 1970. */
bool time_parse(const char *s, uint64_t *usec);

/* Days in month 1..12 of a proleptic Gregorian year. */
int time_days_in_month(int64_t year, int month);

#endif
