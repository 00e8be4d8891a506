/* fuzz_http2.c -- libFuzzer target for the HTTP/2 parser (proto/http2.c):
 * its frame reader, HPACK through libnghttp2, streams and bodies.
 *
 * The input is a list of records: a control byte, a 16-bit big-endian
 * length, then (for data) that many bytes. Bit 0 of the control byte is
 * the direction (0 client, 1 server); bit 1 makes the record a hole of
 * `length` bytes instead of data. The first control byte also picks the
 * start: bit 7 clear puts the client connection preface in front of the
 * client's bytes (so the fuzzer need not find its 24 bytes), bit 6 set
 * starts as after an h2c upgrade (stream 1 open, half closed by the
 * client). Small limits make the body caps and the decompression limits
 * reachable. Transactions and files are checked for the invariants the
 * callers rely on.
 */
#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proto/http2.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct file_buffers bufs;
static volatile uint8_t sink;

static void on_file(void *ctx, const struct http_tx *tx, int dir,
                    struct nj_file *f)
{
    (void)ctx;
    assert(tx->http2 && tx->stream_id > 0 && tx->seq > 0);
    assert(dir == 0 || dir == 1);
    assert(f->len <= f->max && f->len <= f->size);
    struct content_result r;
    file_end(f, NULL, &r);
    sink ^= r.h.sha256[0];
}

static void on_tx(void *ctx, const struct http_tx *tx)
{
    (void)ctx;
    assert(tx->http2 && tx->stream_id > 0 && tx->seq > 0);
    assert(memchr(tx->uri, 0, sizeof(tx->uri)) && memchr(tx->host, 0, sizeof(tx->host)));
    assert(!strcmp(tx->protocol, "HTTP/2"));
    sink ^= (uint8_t)tx->status ^ (uint8_t)tx->uri[0];
}

static const struct http_callbacks cb = { on_file, on_tx };

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct http2_state *h;
    static struct http2_stats st;
    if (!h && !(h = http2_state_new()))
        return 0;
    http2_state_reset(h);
    struct http_limits lim = { 4096, 65536, 10, &bufs, 0 };
    if (size && (data[0] & 0x40)) {
        struct http_tx up;
        memset(&up, 0, sizeof(up));
        up.seq = 1;
        memcpy(up.method, "GET", 4);
        memcpy(up.uri, "/up", 4);
        http2_upgrade(h, &up, 1, 1, &st);
    }
    if (size && !(data[0] & 0x80))
        http2_feed(h, 0, (const uint8_t *)HTTP2_PREFACE, HTTP2_PREFACE_LEN, 1,
                   &lim, &cb, NULL, &st);
    size_t i = 0;
    while (i + 3 <= size) {
        uint8_t ctl = data[i];
        size_t len = (size_t)data[i + 1] << 8 | data[i + 2];
        i += 3;
        int dir = ctl & 1;
        if (ctl & 2) {
            http2_gap(h, dir, len, &cb, NULL, &st);
            continue;
        }
        if (len > size - i)
            len = size - i;
        http2_feed(h, dir, data + i, len, 1, &lim, &cb, NULL, &st);
        i += len;
    }
    http2_finish(h, &cb, NULL, &st);
    return 0;
}
