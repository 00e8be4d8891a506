/* text.h -- the small string helpers every parser and writer needs: a
 * bounded copy that always terminates, FNV-1a for stable ids and small
 * hash tables, and numbers as digits without printf (fingerprints and EVE
 * write thousands a second). Header-only; never allocates.
 */
#ifndef NIGHTJAR_TEXT_H
#define NIGHTJAR_TEXT_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* Copies len bytes of src into dst[n] (cut to n - 1) and terminates it. */
static inline void text_copy(char *dst, size_t n, const char *src, size_t len)
{
    if (!n)
        return;
    if (len >= n)
        len = n - 1;
    memcpy(dst, src, len);
    dst[len] = '\0';
}

#define FNV1A_SEED 2166136261u

static inline uint32_t fnv1a(uint32_t h, const void *p, size_t n)
{
    const uint8_t *b = p;
    for (size_t i = 0; i < n; i++)
        h = (h ^ b[i]) * 16777619u;
    return h;
}

static inline uint32_t fnv1a_str(uint32_t h, const char *s)
{
    return fnv1a(h, s, strlen(s));
}

/* The decimal digits of v, written backwards so that they end at end;
 * returns where they start (at most 20 digits). */
static inline char *text_u64(uint64_t v, char *end)
{
    char *p = end;
    do {
        *--p = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    return p;
}

#endif
