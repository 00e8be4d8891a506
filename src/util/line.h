/* line.h -- assembling text lines from a byte stream that arrives in
 * pieces, for the line-oriented protocols (HTTP headers, SMTP).
 *
 * A struct line keeps the bytes of the line in progress in a buffer the
 * caller owns, up to its size; a longer line keeps its start and is marked
 * truncated (the caller counts that once per line). line_take() consumes
 * input up to and including the next LF and says whether the line is now
 * complete; the complete line has its CR/LF removed and is NUL-terminated.
 * Never allocates, never reads past the input.
 */
#ifndef NIGHTJAR_LINE_H
#define NIGHTJAR_LINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

struct line {
    size_t len;        /* bytes kept of the line in progress */
    bool truncated;    /* the line in progress is longer than the buffer */
};

/* *used: bytes consumed; *cut: set when this call first truncated the
 * line; *done_len: length of the completed line. True when complete. */
static inline bool line_take(struct line *l, char *buf, size_t size,
                             const uint8_t *d, size_t n, size_t *used,
                             bool *cut, size_t *done_len)
{
    const uint8_t *lf = memchr(d, '\n', n);
    size_t take = lf ? (size_t)(lf - d) + 1 : n;
    *used = take;
    *cut = false;
    size_t room = size - 1 - l->len;
    size_t copy = take < room ? take : room;
    if (copy < take && !l->truncated) {
        l->truncated = true;
        *cut = true;
    }
    memcpy(buf + l->len, d, copy);
    l->len += copy;
    if (!lf)
        return false;
    size_t k = l->len;
    while (k && (buf[k - 1] == '\n' || buf[k - 1] == '\r'))
        k--;
    buf[k] = '\0';
    *done_len = k;
    l->len = 0;
    l->truncated = false;
    return true;
}

/* A block held whole (a header block), line by line: copies the line at
 * *off (CR/LF removed, NUL-terminated, at most size - 1 bytes: *cut says
 * it was longer) into buf and moves *off past it. False at the end. */
static inline bool line_next(const char *block, size_t len, size_t *off,
                             char *buf, size_t size, bool *cut)
{
    if (*off >= len)
        return false;
    const char *lf = memchr(block + *off, '\n', len - *off);
    size_t end = lf ? (size_t)(lf - block) : len;
    size_t ll = end - *off;
    if (ll && block[*off + ll - 1] == '\r')
        ll--;
    *cut = ll >= size;
    if (*cut)
        ll = size - 1;
    memcpy(buf, block + *off, ll);
    buf[ll] = '\0';
    *off = end + 1;
    return true;
}

#endif
