/* timefmt.c -- UTC timestamps with microseconds (see timefmt.h). */
#include "util/timefmt.h"

#include <string.h>
#include <time.h>

void time_format(uint64_t usec, char *buf, size_t len)
{
    static __thread time_t cached_secs = -1;
    static __thread char cached[32];
    time_t secs = (time_t)(usec / 1000000);
    if (secs != cached_secs) {
        struct tm tm;
        gmtime_r(&secs, &tm);
        strftime(cached, sizeof(cached), "%Y-%m-%dT%H:%M:%S", &tm);
        cached_secs = secs;
    }
    unsigned us = (unsigned)(usec % 1000000);
    size_t n = strlen(cached);
    if (len < n + 13) { /* "." + 6 digits + "+0000" + NUL */
        if (len)
            buf[0] = 0;
        return;
    }
    memcpy(buf, cached, n);
    buf[n++] = '.';
    for (int i = 5; i >= 0; i--) {
        buf[n + (size_t)i] = (char)('0' + us % 10);
        us /= 10;
    }
    memcpy(buf + n + 6, "+0000", 6);
}
