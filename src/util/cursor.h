/* cursor.h -- the one bounds-checked reader every parser in nightjar uses.
 *
 * A cursor is a [p, end) window over bytes that really exist. Every read
 * advances it; a read past the end does not crash and does not need an `if`
 * at the call site: the cursor turns invalid (p == NULL), every later read
 * returns 0, and the caller checks once, at the end, with cur_ok().
 *
 * Sub-parsers get a cursor cut to the declared length of their field with
 * cur_sub(), so a lying length inside a structure can never make them read
 * outside it (the idea comes from Mercury's datum).
 *
 * This file owns reading. It must never allocate, print, or keep a pointer
 * past the lifetime of the bytes it was made over.
 */
#ifndef NIGHTJAR_CURSOR_H
#define NIGHTJAR_CURSOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

typedef struct cursor {
    const uint8_t *p;   /* next byte to read; NULL once a read failed */
    const uint8_t *end; /* one past the last readable byte */
} cursor_t;

static inline cursor_t cur_make(const uint8_t *buf, size_t len)
{
    cursor_t c = { buf, buf ? buf + len : NULL };
    return c;
}

static inline bool cur_ok(const cursor_t *c) { return c->p != NULL; }

static inline size_t cur_left(const cursor_t *c)
{
    return c->p ? (size_t)(c->end - c->p) : 0;
}

static inline void cur_fail(cursor_t *c) { c->p = NULL; c->end = NULL; }

/* Ensure n more bytes are there; on failure the cursor turns invalid. */
static inline bool cur_need(cursor_t *c, size_t n)
{
    if (c->p && (size_t)(c->end - c->p) >= n)
        return true;
    cur_fail(c);
    return false;
}

static inline void cur_skip(cursor_t *c, size_t n)
{
    if (cur_need(c, n))
        c->p += n;
}

static inline uint8_t cur_u8(cursor_t *c)
{
    if (!cur_need(c, 1))
        return 0;
    return *c->p++;
}

static inline uint16_t cur_u16be(cursor_t *c)
{
    if (!cur_need(c, 2))
        return 0;
    uint16_t v = (uint16_t)((c->p[0] << 8) | c->p[1]);
    c->p += 2;
    return v;
}

static inline uint16_t cur_u16le(cursor_t *c)
{
    if (!cur_need(c, 2))
        return 0;
    uint16_t v = (uint16_t)((c->p[1] << 8) | c->p[0]);
    c->p += 2;
    return v;
}

static inline uint32_t cur_u24be(cursor_t *c)
{
    if (!cur_need(c, 3))
        return 0;
    uint32_t v = ((uint32_t)c->p[0] << 16) | ((uint32_t)c->p[1] << 8) | c->p[2];
    c->p += 3;
    return v;
}

static inline uint32_t cur_u32be(cursor_t *c)
{
    if (!cur_need(c, 4))
        return 0;
    uint32_t v = ((uint32_t)c->p[0] << 24) | ((uint32_t)c->p[1] << 16) |
                 ((uint32_t)c->p[2] << 8) | c->p[3];
    c->p += 4;
    return v;
}

static inline uint32_t cur_u32le(cursor_t *c)
{
    if (!cur_need(c, 4))
        return 0;
    uint32_t v = ((uint32_t)c->p[3] << 24) | ((uint32_t)c->p[2] << 16) |
                 ((uint32_t)c->p[1] << 8) | c->p[0];
    c->p += 4;
    return v;
}

/* Returns a pointer to n bytes and advances, or NULL (cursor invalid). */
static inline const uint8_t *cur_bytes(cursor_t *c, size_t n)
{
    if (!cur_need(c, n))
        return NULL;
    const uint8_t *b = c->p;
    c->p += n;
    return b;
}

static inline bool cur_copy(cursor_t *c, void *dst, size_t n)
{
    const uint8_t *b = cur_bytes(c, n);
    if (!b)
        return false;
    memcpy(dst, b, n);
    return true;
}

/* Takes n bytes off c and returns a cursor over exactly those bytes. If c
 * does not have n bytes, both c and the result are invalid. */
static inline cursor_t cur_sub(cursor_t *c, size_t n)
{
    cursor_t s = { NULL, NULL };
    const uint8_t *b = cur_bytes(c, n);
    if (b) {
        s.p = b;
        s.end = b + n;
    }
    return s;
}

/* Looks at the byte `off` ahead without consuming; 0 when not there. */
static inline uint8_t cur_peek(const cursor_t *c, size_t off)
{
    return (c->p && (size_t)(c->end - c->p) > off) ? c->p[off] : 0;
}

#endif
