/* buf.h -- a growable byte buffer for what is built or held whole (an
 * answer being written, a body being kept): append, append formatted,
 * free. Grows by doubling; a failed allocation leaves it as it was and
 * says so. Owns its bytes; never does I/O.
 */
#ifndef NIGHTJAR_BUF_H
#define NIGHTJAR_BUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct buf {
    uint8_t *p;
    size_t len, cap;
};

bool buf_reserve(struct buf *b, size_t more);
bool buf_add(struct buf *b, const void *d, size_t n);
bool buf_printf(struct buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void buf_free(struct buf *b);

#endif
