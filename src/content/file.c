/* file.c -- a file in transit (see file.h). */
#include "content/file.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static size_t class_size(unsigned c, size_t max)
{
    size_t n = (size_t)16384 << c;
    return n < max ? n : max;
}

static unsigned class_for(size_t need, size_t max)
{
    unsigned c = 0;
    while (c + 1 < FILE_BUF_CLASSES && class_size(c, max) < need)
        c++;
    return c;
}

static uint8_t *buf_take(struct file_buffers *b, unsigned c, size_t size)
{
    if (b && b->n[c]) {
        b->idle_bytes -= size;
        b->used_bytes += size;
        return b->idle[c][--b->n[c]];
    }
    uint8_t *p = malloc(size);
    if (p && b)
        b->used_bytes += size;
    return p;
}

static void buf_give(struct file_buffers *b, uint8_t *p, size_t size,
                     size_t max)
{
    if (!p)
        return;
    unsigned c = class_for(size, max);
    if (b)
        b->used_bytes -= size;
    if (b && class_size(c, max) == size && b->n[c] < FILE_BUF_IDLE) {
        b->idle[c][b->n[c]++] = p;
        b->idle_bytes += size;
        return;
    }
    free(p);
}

void file_buffers_free(struct file_buffers *b)
{
    for (unsigned c = 0; c < FILE_BUF_CLASSES; c++)
        while (b->n[c])
            free(b->idle[c][--b->n[c]]);
    b->idle_bytes = 0;
}

bool file_prepare(struct nj_file *f)
{
    return digest3_begin(&f->d, DIGEST_ALL);
}

void file_begin(struct nj_file *f, const char *name, size_t max,
                struct file_buffers *bufs, unsigned hash_mask)
{
    if (f->buf) /* a file that was never ended */
        buf_give(f->bufs, f->buf, f->cap, f->max);
    f->buf = NULL;
    f->cap = 0;
    f->bufs = bufs;
    snprintf(f->name, sizeof(f->name), "%s", name ? name : "");
    f->size = 0;
    f->len = 0;
    f->max = max;
    f->truncated = f->gap = false;
    f->open = digest3_begin(&f->d, hash_mask);
}

void file_write(struct nj_file *f, const uint8_t *data, size_t len)
{
    if (!f->open || !len)
        return;
    digest3_update(&f->d, data, len);
    f->size += len;
    size_t keep = f->len < f->max ? f->max - f->len : 0;
    if (keep > len)
        keep = len;
    if (keep < len)
        f->truncated = true;
    if (!keep)
        return;
    if (f->len + keep > f->cap) {
        unsigned c = class_for(f->len + keep, f->max);
        size_t cap = class_size(c, f->max);
        uint8_t *nb = buf_take(f->bufs, c, cap);
        if (!nb) {
            f->truncated = true;
            return;
        }
        if (f->len)
            memcpy(nb, f->buf, f->len);
        buf_give(f->bufs, f->buf, f->cap, f->max);
        f->buf = nb;
        f->cap = cap;
    }
    memcpy(f->buf + f->len, data, keep);
    f->len += keep;
}

void file_end(struct nj_file *f, struct content_engine *e,
              struct content_result *r)
{
    if (!f->open)
        return;
    f->open = false;
    struct file_hashes h;
    digest3_end(&f->d, &h);
    if (e) {
        content_inspect(e, f->buf, f->len, &h, !f->truncated && !f->gap, r);
    } else {
        memset(r, 0, sizeof(*r));
        r->h = h;
    }
    if (!e || f->truncated) /* typed from its beginning only */
        file_type_sniff(f->buf, f->len, f->size, &r->type);
    buf_give(f->bufs, f->buf, f->cap, f->max);
    f->buf = NULL;
    f->cap = 0;
}

void file_free(struct nj_file *f)
{
    buf_give(f->bufs, f->buf, f->cap, f->max);
    f->buf = NULL;
    f->cap = f->len = 0;
    digest3_free(&f->d);
}
