/* json.c -- the JSON writer (see json.h). */
#include "util/json.h"
#include "util/text.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void json_init(struct json *j)
{
    memset(j, 0, sizeof(*j));
    json_reset(j);
}

void json_free(struct json *j)
{
    free(j->buf);
    j->buf = NULL;
    j->cap = j->len = 0;
}

void json_reset(struct json *j)
{
    j->len = 0;
    j->depth = 0;
    j->first[0] = true;
    j->after_key = false;
    j->oom = false;
    if (j->buf)
        j->buf[0] = 0;
}

static bool grow(struct json *j, size_t n)
{
    size_t cap = j->cap ? j->cap : 1024;
    while (cap < j->len + n + 1)
        cap *= 2;
    char *b = realloc(j->buf, cap);
    if (!b) {
        j->oom = true;
        return false;
    }
    j->buf = b;
    j->cap = cap;
    return true;
}

/* Room for n more bytes and the terminating NUL. */
static inline bool reserve(struct json *j, size_t n)
{
    return j->len + n + 1 <= j->cap || grow(j, n);
}

static inline void put(struct json *j, const char *s, size_t n)
{
    if (!reserve(j, n))
        return;
    memcpy(j->buf + j->len, s, n);
    j->len += n;
    j->buf[j->len] = 0;
}

static inline void putc_(struct json *j, char c)
{
    if (!reserve(j, 1))
        return;
    j->buf[j->len++] = c;
    j->buf[j->len] = 0;
}

/* Writes the comma before a value unless it follows a key or opens a
 * container. */
static void sep(struct json *j)
{
    if (j->after_key) {
        j->after_key = false;
        return;
    }
    if (!j->first[j->depth])
        putc_(j, ',');
    j->first[j->depth] = false;
}

static void open_(struct json *j, char c)
{
    sep(j);
    putc_(j, c);
    if (j->depth < JSON_MAX_DEPTH - 1)
        j->depth++;
    j->first[j->depth] = true;
}

static void close_(struct json *j, char c)
{
    putc_(j, c);
    if (j->depth > 0)
        j->depth--;
}

void json_obj_open(struct json *j) { open_(j, '{'); }
void json_obj_close(struct json *j) { close_(j, '}'); }
void json_arr_open(struct json *j) { open_(j, '['); }
void json_arr_close(struct json *j) { close_(j, ']'); }

/* Length of a valid UTF-8 sequence starting at s (n bytes left), or 0. */
static size_t utf8_len(const unsigned char *s, size_t n)
{
    if (s[0] < 0x80)
        return 1;
    size_t len = (s[0] & 0xe0) == 0xc0 ? 2 : (s[0] & 0xf0) == 0xe0 ? 3
               : (s[0] & 0xf8) == 0xf0 ? 4 : 0;
    if (!len || len > n || (len == 2 && s[0] < 0xc2))
        return 0;
    for (size_t i = 1; i < len; i++)
        if ((s[i] & 0xc0) != 0x80)
            return 0;
    if (len == 3 && s[0] == 0xe0 && s[1] < 0xa0)
        return 0; /* overlong */
    if (len == 3 && s[0] == 0xed && s[1] >= 0xa0)
        return 0; /* surrogate */
    if (len == 4 && ((s[0] == 0xf0 && s[1] < 0x90) || s[0] > 0xf4 ||
                     (s[0] == 0xf4 && s[1] >= 0x90)))
        return 0;
    return len;
}

/* True for bytes written as they are: printable ASCII but '"' and '\\'. */
#define PLAIN_16(v) v, v, v, v, v, v, v, v, v, v, v, v, v, v, v, v
static const bool plain_byte[256] = {
    PLAIN_16(0), PLAIN_16(0),                               /* controls */
    1, 1, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,         /* 0x22 '"' */
    PLAIN_16(1), PLAIN_16(1),
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 1, 1, 1,         /* 0x5c '\\' */
    PLAIN_16(1),
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0,         /* 0x7f DEL */
    PLAIN_16(0), PLAIN_16(0), PLAIN_16(0), PLAIN_16(0),     /* not ASCII */
    PLAIN_16(0), PLAIN_16(0), PLAIN_16(0), PLAIN_16(0),
};
#undef PLAIN_16

static inline bool plain(unsigned char c) { return plain_byte[c]; }

static void put_escaped(struct json *j, const char *str, size_t n)
{
    const unsigned char *s = (const unsigned char *)str;
    putc_(j, '"');
    for (size_t i = 0; i < n;) {
        size_t run = i;
        while (run < n && plain(s[run]))
            run++;
        if (run > i) { /* the common case: one copy for the whole run */
            put(j, (const char *)s + i, run - i);
            i = run;
            continue;
        }
        unsigned char c = s[i];
        char esc[8];
        switch (c) {
        case '"': put(j, "\\\"", 2); i++; continue;
        case '\\': put(j, "\\\\", 2); i++; continue;
        case '\n': put(j, "\\n", 2); i++; continue;
        case '\r': put(j, "\\r", 2); i++; continue;
        case '\t': put(j, "\\t", 2); i++; continue;
        default: break;
        }
        size_t l = c >= 0x80 ? utf8_len(s + i, n - i) : 0;
        if (!l) { /* control byte, DEL, or not UTF-8: \u00XX of the byte */
            snprintf(esc, sizeof(esc), "\\u%04x", c);
            put(j, esc, 6);
            i++;
            continue;
        }
        put(j, (const char *)s + i, l);
        i += l;
    }
    putc_(j, '"');
}

/* Keys are nightjar's own constant ASCII names: written as they are. */
void json_keyn(struct json *j, const char *key, size_t n)
{
    sep(j);
    if (!reserve(j, n + 3))
        return;
    j->buf[j->len++] = '"';
    memcpy(j->buf + j->len, key, n);
    j->len += n;
    j->buf[j->len++] = '"';
    j->buf[j->len++] = ':';
    j->buf[j->len] = 0;
    j->after_key = true;
}

void json_strn(struct json *j, const char *s, size_t n)
{
    sep(j);
    put_escaped(j, s, n);
}

void json_str(struct json *j, const char *s) { json_strn(j, s, strlen(s)); }

void json_u64(struct json *j, uint64_t v)
{
    char b[24];
    char *p = text_u64(v, b + sizeof(b));
    sep(j);
    put(j, p, (size_t)(b + sizeof(b) - p));
}

/* Fixed-point with up to `decimals` digits, trailing zeros trimmed (one kept
 * after the point). Values too large for the fast path go to snprintf. */
void json_double(struct json *j, double v, int decimals)
{
    if (!isfinite(v)) {
        json_nil(j);
        return;
    }
    static const double pow10[] = { 1, 10, 100, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9 };
    if (decimals < 0)
        decimals = 0;
    if (decimals > 9)
        decimals = 9;
    double a = fabs(v);
    char b[64];
    size_t n;
    if (a < 1e9) {
        uint64_t scaled = (uint64_t)llround(a * pow10[decimals]);
        uint64_t ip = scaled / (uint64_t)pow10[decimals];
        uint64_t fp = scaled % (uint64_t)pow10[decimals];
        char *end = b + 40, *p = text_u64(ip, end);
        if (v < 0 && scaled)
            *--p = '-';
        n = (size_t)(end - p);
        memmove(b, p, n);
        if (decimals > 0) {
            b[n++] = '.';
            char frac[16];
            for (int i = decimals - 1; i >= 0; i--) {
                frac[i] = (char)('0' + fp % 10);
                fp /= 10;
            }
            int keep = decimals;
            while (keep > 1 && frac[keep - 1] == '0')
                keep--;
            memcpy(b + n, frac, (size_t)keep);
            n += (size_t)keep;
        }
    } else {
        n = (size_t)snprintf(b, sizeof(b), "%.*f", decimals, v);
    }
    sep(j);
    put(j, b, n);
}

void json_float(struct json *j, float v)
{
    if (!isfinite(v)) {
        json_nil(j);
        return;
    }
    char b[32];
    int n = snprintf(b, sizeof(b), "%.9g", (double)v);
    sep(j);
    put(j, b, (size_t)n);
}

void json_bool(struct json *j, bool v)
{
    sep(j);
    put(j, v ? "true" : "false", v ? 4 : 5);
}

void json_nil(struct json *j)
{
    sep(j);
    put(j, "null", 4);
}

