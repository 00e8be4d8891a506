/* json.h -- a small streaming JSON writer into a reusable buffer.
 *
 * The writer keeps commas and nesting right so callers only say what they
 * write. Strings are escaped per RFC 8259; bytes that are not valid UTF-8
 * are written as \u00XX of the byte, so output is always valid JSON. The
 * buffer grows when a record needs more and is then reused: one record, no
 * allocation. Non-finite doubles are written as null.
 */
#ifndef NIGHTJAR_JSON_H
#define NIGHTJAR_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define JSON_MAX_DEPTH 32

struct json {
    char *buf;
    size_t len, cap;
    int depth;
    bool first[JSON_MAX_DEPTH]; /* no element written yet at this depth */
    bool after_key;
    bool oom;                   /* an allocation failed: record is invalid */
};

void json_init(struct json *j);
void json_free(struct json *j);
void json_reset(struct json *j);

void json_obj_open(struct json *j);
void json_obj_close(struct json *j);
void json_arr_open(struct json *j);
void json_arr_close(struct json *j);
void json_keyn(struct json *j, const char *key, size_t n);
static inline void json_key_(struct json *j, const char *key)
{
    json_keyn(j, key, __builtin_strlen(key));
}
/* With a string literal the length is known at compile time. */
#define json_key(j, key) json_key_((j), (key))

void json_str(struct json *j, const char *s);
void json_strn(struct json *j, const char *s, size_t n);
void json_u64(struct json *j, uint64_t v);
void json_double(struct json *j, double v, int decimals);
/* A float with enough digits (%.9g) to read back the same float. */
void json_float(struct json *j, float v);
void json_bool(struct json *j, bool v);
/* null (not json_null: jansson, linked in the same programs, has that name) */
void json_nil(struct json *j);

/* key + value shorthands; inline so a literal key's length folds away */
static inline void json_kv_str(struct json *j, const char *k, const char *v)
{
    json_key(j, k);
    json_str(j, v);
}

static inline void json_kv_u64(struct json *j, const char *k, uint64_t v)
{
    json_key(j, k);
    json_u64(j, v);
}

static inline void json_kv_double(struct json *j, const char *k, double v,
                                  int decimals)
{
    json_key(j, k);
    json_double(j, v, decimals);
}

static inline void json_kv_bool(struct json *j, const char *k, bool v)
{
    json_key(j, k);
    json_bool(j, v);
}

#endif
