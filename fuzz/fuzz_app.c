/* fuzz_app.c -- libFuzzer target for the cleartext application parsers:
 * DNS messages, HTTP/1.x streams (framing, chunks, gzip/deflate), SMTP
 * sessions and the MIME messages they carry.
 *
 * The first byte picks the parser; for the stream parsers the rest is cut
 * into chunks at the positions the following bytes choose, alternating
 * directions where a marker byte says so, so the state machines see every
 * split of their input. Small limits make the caps (files, decompression,
 * messages) reachable. Transactions and files are checked for the
 * invariants the callers rely on.
 */
#include <assert.h>
#include <stdint.h>
#include <string.h>

#include "proto/dns.h"
#include "proto/http.h"
#include "proto/mime.h"
#include "proto/smtp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct file_buffers bufs;
static volatile uint8_t sink;

static void on_file(void *ctx, const struct http_tx *tx, int dir,
                    struct nj_file *f)
{
    (void)ctx;
    (void)dir;
    assert(tx->seq > 0);
    assert(f->len <= f->max);
    struct content_result r;
    file_end(f, NULL, &r);
}

static void on_http_tx(void *ctx, const struct http_tx *tx)
{
    (void)ctx;
    assert(strlen(tx->uri) < sizeof(tx->uri));
    assert(strlen(tx->host) < sizeof(tx->host));
}

static void on_attachment(void *ctx, const char *name, const char *type,
                          const uint8_t *d, size_t n)
{
    (void)ctx;
    (void)type;
    assert(strlen(name) < 256);
    for (size_t i = 0; i < n; i++) /* the buffer must be readable */
        sink ^= d[i];
}

static void on_smtp_tx(void *ctx, const struct smtp_tx *tx, const uint8_t *msg,
                       size_t len)
{
    (void)ctx;
    static struct email_info em;
    static struct mime_stats mst;
    assert(tx->n_rcpt <= SMTP_MAX_RCPT);
    if (msg)
        mime_parse(msg, len, &em, on_attachment, NULL, &mst);
}

/* Feeds data in chunks: a byte 0xff flips the direction, other bytes are
 * data; chunk lengths come from the low bits of the bytes themselves. */
static void chunks(const uint8_t *d, size_t n,
                   void (*feed)(void *, int, const uint8_t *, size_t), void *st)
{
    int dir = 0;
    size_t i = 0;
    while (i < n) {
        if (d[i] == 0xff) {
            dir ^= 1;
            i++;
            continue;
        }
        size_t len = 1 + (d[i] & 0x3f);
        size_t end = i;
        while (end < n && end - i < len && d[end] != 0xff)
            end++;
        feed(st, dir, d + i, end - i);
        i = end;
    }
}

static const struct http_callbacks http_cb = { on_file, on_http_tx };
static struct http_limits lim = { 4096, 1 << 20, 50, &bufs, 0 };
static struct http_stats hst;

static void http_chunk(void *st, int dir, const uint8_t *d, size_t n)
{
    http_feed(st, dir, d, n, 1, &lim, &http_cb, NULL, &hst);
}

static const struct smtp_callbacks smtp_cb = { on_smtp_tx };
static struct smtp_stats sst;

static void smtp_chunk(void *st, int dir, const uint8_t *d, size_t n)
{
    smtp_feed(st, dir, d, n, 1, 8192, &smtp_cb, NULL, &sst);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    uint8_t mode = data[0] % 4;
    data++;
    size--;
    if (mode == 0) {
        static struct dns_msg m;
        static struct dns_stats st;
        if (dns_parse(data, size, &m, &st)) {
            assert(m.n_rrs <= DNS_MAX_RRS);
            for (unsigned i = 0; i < m.n_rrs; i++)
                assert(strlen(m.rr[i].name) < DNS_NAME_MAX);
        }
    } else if (mode == 1) {
        struct http_state *h = http_state_new();
        chunks(data, size, http_chunk, h);
        http_gap(h, 1, size % 7, &http_cb, NULL, &hst);
        http_finish(h, &http_cb, NULL, &hst);
        http_state_reset(h);
        http_state_free(h);
    } else if (mode == 2) {
        struct smtp_state *s = smtp_state_new();
        chunks(data, size, smtp_chunk, s);
        smtp_finish(s, &smtp_cb, NULL, &sst);
        smtp_state_free(s);
    } else {
        static struct email_info em;
        static struct mime_stats mst;
        mime_parse(data, size, &em, on_attachment, NULL, &mst);
        assert(em.n_urls <= MIME_MAX_URLS);
    }
    return 0;
}
