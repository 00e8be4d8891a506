/* json.c -- the JSON writer (see json.h). */
#include "output/json.h"

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

static bool reserve(struct json *j, size_t n)
{
    if (j->len + n + 1 <= j->cap)
        return true;
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

static void put(struct json *j, const char *s, size_t n)
{
    if (!reserve(j, n))
        return;
    memcpy(j->buf + j->len, s, n);
    j->len += n;
    j->buf[j->len] = 0;
}

static void putc_(struct json *j, char c) { put(j, &c, 1); }

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

static void put_escaped(struct json *j, const char *str, size_t n)
{
    const unsigned char *s = (const unsigned char *)str;
    putc_(j, '"');
    for (size_t i = 0; i < n;) {
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
        if (c < 0x20 || c == 0x7f) {
            snprintf(esc, sizeof(esc), "\\u%04x", c);
            put(j, esc, 6);
            i++;
            continue;
        }
        size_t l = utf8_len(s + i, n - i);
        if (!l) {
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

void json_key(struct json *j, const char *key)
{
    sep(j);
    put_escaped(j, key, strlen(key));
    putc_(j, ':');
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
    int n = snprintf(b, sizeof(b), "%llu", (unsigned long long)v);
    sep(j);
    put(j, b, (size_t)n);
}

void json_i64(struct json *j, int64_t v)
{
    char b[24];
    int n = snprintf(b, sizeof(b), "%lld", (long long)v);
    sep(j);
    put(j, b, (size_t)n);
}

void json_double(struct json *j, double v, int decimals)
{
    if (!isfinite(v)) {
        json_null(j);
        return;
    }
    char b[64];
    int n = snprintf(b, sizeof(b), "%.*f", decimals, v);
    /* trim trailing zeros, keep at least one digit after the point */
    if (decimals > 0) {
        while (n > 2 && b[n - 1] == '0' && b[n - 2] != '.')
            n--;
    }
    sep(j);
    put(j, b, (size_t)n);
}

void json_bool(struct json *j, bool v)
{
    sep(j);
    put(j, v ? "true" : "false", v ? 4 : 5);
}

void json_null(struct json *j)
{
    sep(j);
    put(j, "null", 4);
}

void json_raw(struct json *j, const char *s)
{
    sep(j);
    put(j, s, strlen(s));
}

void json_kv_str(struct json *j, const char *k, const char *v)
{
    json_key(j, k);
    json_str(j, v);
}

void json_kv_u64(struct json *j, const char *k, uint64_t v)
{
    json_key(j, k);
    json_u64(j, v);
}

void json_kv_double(struct json *j, const char *k, double v, int decimals)
{
    json_key(j, k);
    json_double(j, v, decimals);
}

void json_kv_bool(struct json *j, const char *k, bool v)
{
    json_key(j, k);
    json_bool(j, v);
}
