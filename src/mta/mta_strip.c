/* mta_strip.c -- the strip action's rewrite (see mta_strip.h). */
#include "mta/mta_strip.h"

#include <stdio.h>
#include <string.h>

#include "frontend/judge.h"
#include "util/digest.h"

#define SHA256_ONLY (1u << DIGEST_SHA256)

void strip_parts_note(struct strip_parts *b, const uint8_t *data, size_t len,
                      const char *reason)
{
    if (b->n == STRIP_PARTS_MAX) {
        b->over_cap++;
        return;
    }
    struct file_hashes h;
    digest3_buffer(SHA256_ONLY, data, len, &h);
    for (unsigned i = 0; i < b->n; i++)
        if (!memcmp(b->p[i].sha256, h.sha256, 32))
            return;
    memcpy(b->p[b->n].sha256, h.sha256, 32);
    snprintf(b->p[b->n].reason, sizeof(b->p[b->n].reason), "%s", reason);
    b->n++;
}

struct strip_ctx {
    const struct strip_parts *bad;
    struct judge *j;
    struct buf *out;
    bool write_failed;
};

static bool write_out(void *ctx, const uint8_t *p, size_t n)
{
    struct strip_ctx *x = ctx;
    if (!buf_add(x->out, p, n))
        x->write_failed = true;
    return !x->write_failed;
}

static struct mime_decision decide(void *ctx, const struct mime_leaf *leaf)
{
    struct strip_ctx *x = ctx;
    struct mime_decision d = { MIME_KEEP, NULL };
    if (x->bad->n && leaf->len) {
        struct file_hashes h;
        digest3_buffer(SHA256_ONLY, leaf->data, leaf->len, &h);
        for (unsigned i = 0; i < x->bad->n; i++)
            if (!memcmp(x->bad->p[i].sha256, h.sha256, 32)) {
                d.action = MIME_STRIP;
                d.reason = x->bad->p[i].reason;
                return d;
            }
    }
    if (leaf->defangable)
        d.action = MIME_DEFANG;
    return d;
}

static bool bad_url(void *ctx, const char *url, size_t len)
{
    struct strip_ctx *x = ctx;
    char u[2048];
    if (len >= sizeof(u))
        return false;
    memcpy(u, url, len);
    u[len] = '\0';
    return judge_url_listed(x->j, u);
}

bool mta_strip(const uint8_t *msg, size_t len, const struct strip_parts *bad,
               struct judge *j, struct buf *out, struct strip_result *res,
               struct mime_rewrite_stats *st)
{
    out->len = 0;
    memset(res, 0, sizeof(*res));
    struct strip_ctx x = { bad, j, out, false };
    struct mime_rewrite_ops ops = { write_out, decide, bad_url, &x };
    struct mime_rewrite_result r;
    res->status = mime_rewrite(msg, len, &ops, &r, st);
    res->stripped = r.stripped;
    res->defanged = r.defanged;
    res->urls_defanged = r.urls_defanged;
    res->caps_hit = r.depth_over_cap || r.parts_over_cap;
    return res->status == MIME_REWRITE_OK && r.changed;
}
