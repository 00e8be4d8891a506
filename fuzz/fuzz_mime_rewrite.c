/* fuzz_mime_rewrite.c -- libFuzzer target for the MIME rewriter
 * (src/proto/mime_rewrite.c). Each input is a message, rewritten three
 * times:
 *   1. every leaf kept: the output is the input, byte for byte, and
 *      nothing is said to have changed;
 *   2. decisions derived from each leaf's index and content (a text leaf
 *      is defanged or stripped, any other kept, stripped, or -- ignored --
 *      defanged) and a URL oracle derived from the URL's bytes: the output
 *      parses back with mime_parse() to as many parts, with exactly the
 *      stripped attachments gone, and with no URL the oracle calls bad
 *      (every text part was defanged or replaced by a note); nothing
 *      changed means the input came back;
 *   3. the same with the writer failing at a call picked by the input:
 *      the rewrite fails with MIME_REWRITE_WRITE_FAILED exactly when run 2
 *      needed that many calls, and writes nothing after the failure.
 * A broken invariant aborts.
 */
#include <stdlib.h>
#include <string.h>

#include "proto/mime.h"
#include "proto/mime_rewrite.h"
#include "util/buf.h"
#include "util/text.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct run {
    struct buf out;
    unsigned calls, fail_at;  /* write number fail_at (from 1) fails */
    bool failed;
    bool policy;              /* false: keep everything */
    uint32_t seed;
    unsigned stripped_attachments;
};

static bool on_write(void *ctx, const uint8_t *p, size_t n)
{
    struct run *r = ctx;
    if (r->failed)
        abort(); /* a write after a failed one */
    if (++r->calls == r->fail_at) {
        r->failed = true;
        return false;
    }
    if (!n || !buf_add(&r->out, p, n))
        abort(); /* nothing empty is handed out */
    return true;
}

static bool oracle(uint32_t seed, const char *url, size_t len)
{
    return (fnv1a(seed, url, len) & 3) != 0; /* three in four are bad */
}

static bool on_url(void *ctx, const char *url, size_t len)
{
    const struct run *r = ctx;
    if (strlen(url) != len)
        abort();
    return oracle(r->seed, url, len);
}

static struct mime_decision on_leaf(void *ctx, const struct mime_leaf *l)
{
    struct run *r = ctx;
    struct mime_decision d = { MIME_KEEP, "fuzz" };
    if (!r->policy)
        return d;
    uint32_t h = fnv1a(r->seed ^ l->index, l->data, l->len < 32 ? l->len : 32);
    if (l->defangable)
        d.action = h % 4 ? MIME_DEFANG : MIME_STRIP;
    else
        d.action = (enum mime_action)(h % 3);
    if (d.action == MIME_STRIP && l->attachment)
        r->stripped_attachments++;
    return d;
}

static void rewrite(struct run *r, const uint8_t *data, size_t size,
                    struct mime_rewrite_result *res, enum mime_rewrite_status *s)
{
    static struct mime_rewrite_stats st;
    const struct mime_rewrite_ops ops = { on_write, on_leaf, on_url, r };
    *s = mime_rewrite(data, size, &ops, res, &st);
    if (*s != MIME_REWRITE_OK && *s != MIME_REWRITE_WRITE_FAILED)
        abort();
    if (*s == MIME_REWRITE_OK && res->bytes_out != r->out.len)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct mime_rewrite_result res;
    enum mime_rewrite_status s;
    struct run keep = { .fail_at = 0 };
    rewrite(&keep, data, size, &res, &s);
    if (s != MIME_REWRITE_OK || res.changed || keep.out.len != size ||
        (size && memcmp(keep.out.p, data, size)))
        abort();
    buf_free(&keep.out);

    uint32_t seed = size ? fnv1a(FNV1A_SEED, data, size < 8 ? size : 8) : 1;
    struct run pol = { .policy = true, .seed = seed };
    rewrite(&pol, data, size, &res, &s);
    if (s != MIME_REWRITE_OK)
        abort();
    if (!res.changed && (pol.out.len != size || (size && memcmp(pol.out.p, data, size))))
        abort();
    static struct email_info in, out;
    struct mime_stats sin = { 0 }, sout = { 0 };
    mime_parse(data, size, &in, NULL, NULL, &sin);
    mime_parse(pol.out.p ? pol.out.p : (const uint8_t *)"", pol.out.len, &out,
               NULL, NULL, &sout);
    if (out.parts != in.parts || out.depth_over_cap != in.depth_over_cap ||
        out.parts_over_cap != in.parts_over_cap)
        abort();
    if (sout.attachments + pol.stripped_attachments != sin.attachments)
        abort();
    for (unsigned i = 0; i < out.n_urls; i++)
        if (oracle(seed, out.urls[i], strlen(out.urls[i])))
            abort();
    unsigned calls = pol.calls;
    buf_free(&pol.out);

    struct run fail = { .policy = true, .seed = seed,
                        .fail_at = 1 + (size ? data[size - 1] % 4 : 0) };
    rewrite(&fail, data, size, &res, &s);
    if ((s == MIME_REWRITE_WRITE_FAILED) != (fail.fail_at <= calls))
        abort();
    buf_free(&fail.out);
    return 0;
}
