/* clock.h -- the two clocks every part reads: wall time (for records and
 * what is compared with traffic time) and monotonic time (for timeouts,
 * never set back). Microseconds. */
#ifndef NIGHTJAR_CLOCK_H
#define NIGHTJAR_CLOCK_H

#include <stdint.h>
#include <time.h>

static inline uint64_t wall_usec(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static inline uint64_t mono_usec(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

#endif
