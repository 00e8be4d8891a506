/* timefmt.c -- UTC timestamps with microseconds (see timefmt.h). */
#include "util/timefmt.h"

#include <ctype.h>
#include <stdio.h>
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

/* Digits of the fraction after the '.', as microseconds; *end past them. */
static unsigned fraction_usec(const char *p, const char **end)
{
    unsigned us = 0, scale = 100000;
    for (; isdigit((unsigned char)*p); p++) {
        us += (unsigned)(*p - '0') * scale;
        scale /= 10;
    }
    *end = p;
    return us;
}

/* "+HHMM", "-HHMM", "+HH:MM" or "Z" as seconds east of UTC. */
static bool zone_offset(const char *p, long *secs)
{
    int hh, mm, n = 0;
    if (!strcmp(p, "Z")) {
        *secs = 0;
        return true;
    }
    if ((*p != '+' && *p != '-') ||
        (sscanf(p + 1, "%2d%2d%n", &hh, &mm, &n) != 2 &&
         sscanf(p + 1, "%2d:%2d%n", &hh, &mm, &n) != 2) ||
        p[1 + n] || hh > 23 || mm > 59)
        return false;
    *secs = (hh * 3600L + mm * 60L) * (*p == '-' ? -1 : 1);
    return true;
}

int time_days_in_month(int64_t year, int month)
{
    static const int days[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
    bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    return month == 2 && leap ? 29 : days[month - 1];
}

/* "YYYY-MM-DDTHH:MM:SS": digits and separators where they belong, so that
 * sscanf's %2d cannot take a sign or a space ("T-1:00", "T 1:00"). */
static bool time_shape(const char *s)
{
    static const char shape[] = "dddd-dd-ddTdd:dd:dd";
    for (size_t i = 0; i < sizeof(shape) - 1; i++)
        if (shape[i] == 'd' ? !isdigit((unsigned char)s[i]) : s[i] != shape[i])
            return false;
    return true;
}

bool time_parse(const char *s, uint64_t *usec)
{
    struct tm tm;
    int n = 0;
    memset(&tm, 0, sizeof(tm));
    if (!time_shape(s))
        return false;
    if (sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d%n", &tm.tm_year, &tm.tm_mon,
               &tm.tm_mday, &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &n) != 6 ||
        n != 19 || tm.tm_mon < 1 || tm.tm_mon > 12 || tm.tm_mday < 1 ||
        tm.tm_mday > time_days_in_month(tm.tm_year, tm.tm_mon) || tm.tm_hour > 23 ||
        tm.tm_min > 59 || tm.tm_sec > 60)
        return false;
    const char *p = s + n;
    unsigned us = 0;
    if (*p == '.')
        us = fraction_usec(p + 1, &p);
    long zone;
    if (!zone_offset(p, &zone))
        return false;
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    long long secs = (long long)timegm(&tm) - zone;
    if (secs < 0)
        return false;
    *usec = (uint64_t)secs * 1000000u + us;
    return true;
}
