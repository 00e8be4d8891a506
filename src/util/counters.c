/* counters.c -- the counter registry (see counters.h). */
#include "util/counters.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DEPTH_MAX 8

enum kind { K_U64, K_FN, K_DOUBLE, K_SECTION };

struct entry {
    char *name;
    enum kind kind;
    const uint64_t *u64;
    uint64_t (*fn)(const void *ctx);
    double (*dbl)(const void *ctx);
    void (*section)(struct json *j, const void *ctx);
    const void *ctx;
    bool copy;     /* every registry holds the same value: merged, the first's */
};

struct counters {
    struct entry *e;
    unsigned n, cap;
};

struct counters *counters_new(void) { return calloc(1, sizeof(struct counters)); }

void counters_free(struct counters *r)
{
    if (!r)
        return;
    for (unsigned i = 0; i < r->n; i++)
        free(r->e[i].name);
    free(r->e);
    free(r);
}

static struct entry *add(struct counters *r, const char *name, enum kind k)
{
    if (!r)
        return NULL;
    if (r->n == r->cap) {
        unsigned cap = r->cap ? r->cap * 2 : 64;
        struct entry *e = realloc(r->e, cap * sizeof(*e));
        if (!e)
            return NULL;
        r->e = e;
        r->cap = cap;
    }
    struct entry *x = &r->e[r->n];
    memset(x, 0, sizeof(*x));
    if (!(x->name = strdup(name)))
        return NULL;
    x->kind = k;
    r->n++;
    return x;
}

bool counters_u64(struct counters *r, const char *name, const uint64_t *value)
{
    struct entry *x = add(r, name, K_U64);
    if (x)
        x->u64 = value;
    return x != NULL;
}

bool counters_fn(struct counters *r, const char *name,
                 uint64_t (*get)(const void *ctx), const void *ctx)
{
    struct entry *x = add(r, name, K_FN);
    if (x) {
        x->fn = get;
        x->ctx = ctx;
    }
    return x != NULL;
}

bool counters_double(struct counters *r, const char *name,
                     double (*get)(const void *ctx), const void *ctx)
{
    struct entry *x = add(r, name, K_DOUBLE);
    if (x) {
        x->dbl = get;
        x->ctx = ctx;
    }
    return x != NULL;
}

bool counters_section(struct counters *r, const char *name,
                      void (*write)(struct json *j, const void *ctx),
                      const void *ctx)
{
    struct entry *x = add(r, name, K_SECTION);
    if (x) {
        x->section = write;
        x->ctx = ctx;
    }
    return x != NULL;
}

bool counters_u64f(struct counters *r, const uint64_t *value, const char *fmt, ...)
{
    char name[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(name, sizeof(name), fmt, ap);
    va_end(ap);
    return counters_u64(r, name, value);
}

unsigned counters_count(const struct counters *r) { return r ? r->n : 0; }

static uint64_t value_of(const struct entry *x)
{
    return x->kind == K_U64 ? *x->u64 : x->kind == K_FN ? x->fn(x->ctx) : 0;
}

bool counters_get(const struct counters *r, const char *name, uint64_t *out)
{
    for (unsigned i = 0; r && i < r->n; i++)
        if ((r->e[i].kind == K_U64 || r->e[i].kind == K_FN) &&
            !strcmp(r->e[i].name, name)) {
            *out = value_of(&r->e[i]);
            return true;
        }
    return false;
}

/* Splits "a.b.c" into its segments (pointers into buf). */
static int split(char *buf, char **seg)
{
    int n = 0;
    for (char *p = buf; p && n < DEPTH_MAX;) {
        seg[n++] = p;
        char *dot = strchr(p, '.');
        if (dot)
            *dot++ = '\0';
        p = dot;
    }
    return n;
}

/* The entry of another registry that stands for x (registries built by
 * the same code hold the same names in the same order: index first). */
static const struct entry *twin(const struct counters *r, unsigned i,
                                const struct entry *x)
{
    if (i < r->n && !strcmp(r->e[i].name, x->name))
        return &r->e[i];
    for (unsigned k = 0; k < r->n; k++)
        if (!strcmp(r->e[k].name, x->name))
            return &r->e[k];
    return NULL;
}

/* Counters that are a moment's reading, not a count: the largest, not
 * the sum, over the registries. */
static bool is_max(const char *name) { return !strcmp(name, "uptime"); }

bool counters_mark_copy(struct counters *r, const char *name)
{
    for (unsigned i = 0; r && i < r->n; i++)
        if (!strcmp(r->e[i].name, name)) {
            r->e[i].copy = true;
            return true;
        }
    return false;
}

static uint64_t merged_u64(const struct counters *const *regs, unsigned n,
                           unsigned i)
{
    const struct entry *x = &regs[0]->e[i];
    uint64_t v = value_of(x);
    for (unsigned k = 1; k < n && !x->copy; k++) {
        const struct entry *y = twin(regs[k], i, x);
        uint64_t w = y && (y->kind == K_U64 || y->kind == K_FN) ? value_of(y) : 0;
        v = is_max(x->name) ? (w > v ? w : v) : v + w;
    }
    return v;
}

static double merged_double(const struct counters *const *regs, unsigned n,
                            unsigned i)
{
    const struct entry *x = &regs[0]->e[i];
    double sum = x->dbl(x->ctx);
    unsigned m = 1;
    for (unsigned k = 1; k < n; k++) {
        const struct entry *y = twin(regs[k], i, x);
        if (y && y->kind == K_DOUBLE)
            sum += y->dbl(y->ctx), m++;
    }
    return sum / m; /* a mean of means: the doubles are per-event means */
}

void counters_write(const struct counters *r, struct json *j)
{
    counters_write_merged(&r, 1, j);
}

void counters_write_merged(const struct counters *const *regs, unsigned nregs,
                           struct json *j)
{
    const struct counters *r = nregs ? regs[0] : NULL;
    char open_buf[256] = "", cur_buf[256];
    char *open_seg[DEPTH_MAX];
    int depth = 0; /* objects open beyond the caller's */
    for (unsigned i = 0; r && i < r->n; i++) {
        const struct entry *x = &r->e[i];
        snprintf(cur_buf, sizeof(cur_buf), "%s", x->name);
        char *seg[DEPTH_MAX];
        int n = split(cur_buf, seg);
        int common = 0;
        while (common < depth && common < n - 1 &&
               !strcmp(open_seg[common], seg[common]))
            common++;
        for (; depth > common; depth--)
            json_obj_close(j);
        /* open the prefixes this entry needs, remembering their names */
        char *w = open_buf;
        size_t left = sizeof(open_buf);
        for (int k = 0; k < common; k++) {
            size_t l = strlen(open_seg[k]) + 1;
            memmove(w, open_seg[k], l);
            open_seg[k] = w;
            w += l;
            left -= l;
        }
        for (int k = common; k < n - 1; k++) {
            json_key(j, seg[k]);
            json_obj_open(j);
            size_t l = strlen(seg[k]) + 1;
            if (l > left)
                l = left;
            memcpy(w, seg[k], l);
            w[l - 1] = '\0';
            open_seg[depth++] = w;
            w += l;
            left -= l;
        }
        const char *leaf = seg[n - 1];
        switch (x->kind) {
        case K_U64:
        case K_FN:
            json_kv_u64(j, leaf, merged_u64(regs, nregs, i));
            break;
        case K_DOUBLE:
            json_kv_double(j, leaf, merged_double(regs, nregs, i), 3);
            break;
        case K_SECTION:
            json_key(j, leaf);
            x->section(j, x->ctx);
            break;
        }
    }
    for (; depth > 0; depth--)
        json_obj_close(j);
}
