/* eve_source_file.c -- EVE records from a file or standard input, one a
 * line, to its end (see eve_source.h). Owns the FILE and the line buffer;
 * never seeks, so a pipe or a fifo reads as well as a file; a blank line
 * is skipped, not a record.
 */
#include "correlate/eve_source.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct file_source {
    struct eve_source base;
    FILE *fp;
    bool own_fp;
    char *line;
    size_t cap;
};

static enum source_result file_next(struct eve_source *s, const char **rec,
                                    size_t *len, unsigned wait_ms)
{
    struct file_source *f = (struct file_source *)s;
    (void)wait_ms;
    for (;;) {
        errno = 0;
        ssize_t n = getline(&f->line, &f->cap, f->fp);
        if (n < 0)
            return ferror(f->fp) && errno != EINTR ? SOURCE_FAILED : SOURCE_END;
        while (n > 0 && (f->line[n - 1] == '\n' || f->line[n - 1] == '\r'))
            n--;
        if (n == 0)
            continue;
        *rec = f->line;
        *len = (size_t)n;
        return SOURCE_RECORD;
    }
}

static void file_done(struct eve_source *s, bool wrote)
{
    (void)s, (void)wrote;    /* a file keeps no position for anyone */
}

static void file_close(struct eve_source *s)
{
    struct file_source *f = (struct file_source *)s;
    if (f->own_fp)
        fclose(f->fp);
    free(f->line);
    free(f);
}

static const struct eve_source_ops file_ops = {
    .next = file_next, .done = file_done, .close = file_close,
};

struct eve_source *eve_source_file(const char *path, char *err, size_t errlen)
{
    struct file_source *f = calloc(1, sizeof(*f));
    if (!f) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    f->base.ops = &file_ops;
    bool in = !strcmp(path, "-");
    f->fp = in ? stdin : fopen(path, "r");
    if (!f->fp) {
        snprintf(err, errlen, "cannot read %s: %s", path, strerror(errno));
        free(f);
        return NULL;
    }
    f->own_fp = !in;
    snprintf(f->base.desc, sizeof(f->base.desc), "%s",
             in ? "standard input" : path);
    return &f->base;
}
