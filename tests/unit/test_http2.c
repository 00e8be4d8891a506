/* test_http2.c -- HTTP/2 framing, HPACK, streams and bodies: connections
 * built by hand (header blocks from libnghttp2's HPACK deflater), fed
 * whole, a byte at a time and split at every byte, and the caps that stop
 * hostile ones. */
#include <nghttp2/nghttp2.h>
#include <zlib.h>

#include "proto/http2.h"
#include "testing.h"

#define MAX_TX 64

static struct http2_stats st;
static struct http_tx txs[MAX_TX];
static int ntx;
static struct {
    int dir;
    uint32_t stream;
    char name[FILE_NAME_MAX];
    uint64_t size;
    bool gap, truncated;
    struct file_hashes h;
} files[MAX_TX];
static int nfiles;

static void on_file(void *ctx, const struct http_tx *tx, int dir,
                    struct nj_file *f)
{
    (void)ctx;
    struct content_result r;
    file_end(f, NULL, &r);
    if (nfiles < MAX_TX) {
        files[nfiles].dir = dir;
        files[nfiles].stream = tx->stream_id;
        snprintf(files[nfiles].name, FILE_NAME_MAX, "%s", f->name);
        files[nfiles].size = f->size;
        files[nfiles].gap = f->gap;
        files[nfiles].truncated = f->truncated;
        files[nfiles].h = r.h;
        nfiles++;
    }
}

static void on_tx(void *ctx, const struct http_tx *tx)
{
    (void)ctx;
    if (ntx < MAX_TX)
        txs[ntx++] = *tx;
}

static const struct http_callbacks cb = { on_file, on_tx };
static struct http_limits lim = { 1 << 20, 100u << 20, 1000, NULL, 0 };

static void reset(void)
{
    ntx = nfiles = 0;
    memset(txs, 0, sizeof(txs));
    memset(&st, 0, sizeof(st));
}

/* --- building connections ---------------------------------------------- */

struct wire {
    uint8_t b[1 << 18];
    size_t n;
};

static struct wire cli, srv;
static nghttp2_hd_deflater *def[2];

static void wire_reset(void)
{
    cli.n = srv.n = 0;
    for (int i = 0; i < 2; i++) {
        if (def[i])
            nghttp2_hd_deflate_del(def[i]);
        nghttp2_hd_deflate_new(&def[i], 4096);
    }
}

static void put(struct wire *w, const void *p, size_t n)
{
    if (w->n + n > sizeof(w->b))
        abort();
    if (n)
        memcpy(w->b + w->n, p, n);
    w->n += n;
}

static void frame(struct wire *w, uint8_t type, uint8_t flags, uint32_t sid,
                  const void *payload, size_t len)
{
    uint8_t h[9] = { (uint8_t)(len >> 16), (uint8_t)(len >> 8), (uint8_t)len,
                     type, flags, (uint8_t)(sid >> 24), (uint8_t)(sid >> 16),
                     (uint8_t)(sid >> 8), (uint8_t)sid };
    put(w, h, 9);
    put(w, payload, len);
}

/* name/value pairs, NULL-terminated, into an HPACK block */
static size_t hpack(int dir, const char *const *nv, uint8_t *out, size_t cap)
{
    nghttp2_nv a[256];
    size_t n = 0;
    for (; nv[2 * n]; n++) {
        a[n].name = (uint8_t *)(uintptr_t)nv[2 * n];
        a[n].namelen = strlen(nv[2 * n]);
        a[n].value = (uint8_t *)(uintptr_t)nv[2 * n + 1];
        a[n].valuelen = strlen(nv[2 * n + 1]);
        a[n].flags = NGHTTP2_NV_FLAG_NONE;
    }
    ssize_t r = nghttp2_hd_deflate_hd(def[dir], out, cap, a, n);
    if (r < 0)
        abort();
    return (size_t)r;
}

static void headers(int dir, uint32_t sid, uint8_t flags, const char *const *nv)
{
    uint8_t blk[16384];
    size_t n = hpack(dir, nv, blk, sizeof(blk));
    frame(dir ? &srv : &cli, 1, (uint8_t)(flags | 0x4), sid, blk, n);
}

static void data(int dir, uint32_t sid, uint8_t flags, const void *p, size_t n)
{
    frame(dir ? &srv : &cli, 0, flags, sid, p, n);
}

static void preface(void)
{
    put(&cli, HTTP2_PREFACE, HTTP2_PREFACE_LEN);
    frame(&cli, 4, 0, 0, NULL, 0);              /* empty SETTINGS */
    frame(&srv, 4, 0, 0, NULL, 0);
    frame(&srv, 4, 1, 0, NULL, 0);              /* ACK */
}

static const char *const get_a[] = {
    ":method", "GET", ":path", "/files/a.txt?x=1", ":scheme", "http",
    ":authority", "example.com", "user-agent", "nghttp2/test",
    "accept", "*/*", "referer", "http://r.example/", NULL,
};
static const char *const ok_text[] = {
    ":status", "200", "content-type", "text/plain", "server", "h2srv",
    NULL,
};

static void feed_all(struct http2_state *h, int dir, const struct wire *w)
{
    http2_feed(h, dir, w->b, w->n, 1, &lim, &cb, NULL, &st);
}

/* --- cases ------------------------------------------------------------- */

static void simple_conn(void)
{
    wire_reset();
    preface();
    headers(0, 1, 0x1, get_a);
    headers(1, 1, 0, ok_text);
    data(1, 1, 0, "hello ", 6);
    data(1, 1, 0x1, "world", 5);
}

static void check_simple(void)
{
    CHECK_EQ(ntx, 1);
    CHECK_STR(txs[0].method, "GET");
    CHECK_STR(txs[0].uri, "/files/a.txt?x=1");
    CHECK_STR(txs[0].host, "example.com");
    CHECK_STR(txs[0].user_agent, "nghttp2/test");
    CHECK_STR(txs[0].referer, "http://r.example/");
    CHECK_STR(txs[0].protocol, "HTTP/2");
    CHECK_STR(txs[0].resp_content_type, "text/plain");
    CHECK_STR(txs[0].server, "h2srv");
    CHECK(txs[0].http2);
    CHECK_EQ(txs[0].stream_id, 1);
    CHECK_EQ(txs[0].status, 200);
    CHECK(txs[0].have_response);
    CHECK_EQ(txs[0].resp_body_len, 11);
    CHECK(txs[0].req_headers & HTTP_HDR_ACCEPT);
    CHECK(txs[0].req_headers & HTTP_HDR_REFERER);
    CHECK_EQ(nfiles, 1);
    CHECK_EQ(files[0].dir, 1);
    CHECK_EQ(files[0].size, 11);
    CHECK_STR(files[0].name, "a.txt");
    CHECK(!files[0].gap);
    CHECK_EQ(st.hpack_errors + st.bad_frame + st.bad_preface, 0);
}

static void test_stream_becomes_http_transaction(void)
{
    reset();
    simple_conn();
    struct http2_state *h = http2_state_new();
    REQUIRE(h);
    feed_all(h, 0, &cli);
    feed_all(h, 1, &srv);
    check_simple();
    CHECK_EQ(st.streams, 1);
    CHECK_EQ(st.requests, 1);
    CHECK_EQ(st.responses, 1);
    CHECK_EQ(st.settings, 2);   /* the two non-ACK SETTINGS */
    http2_finish(h, &cb, NULL, &st);
    CHECK_EQ(ntx, 1);           /* nothing left open */
    http2_state_free(h);
}

static void test_byte_at_a_time(void)
{
    reset();
    simple_conn();
    struct http2_state *h = http2_state_new();
    REQUIRE(h);
    for (size_t i = 0; i < cli.n; i++)
        http2_feed(h, 0, cli.b + i, 1, 1, &lim, &cb, NULL, &st);
    for (size_t i = 0; i < srv.n; i++)
        http2_feed(h, 1, srv.b + i, 1, 1, &lim, &cb, NULL, &st);
    check_simple();
    http2_state_free(h);
}

/* Both sides cut in two at every byte: the same transaction every time. */
static void test_split_at_every_byte(void)
{
    simple_conn();
    struct http2_state *h = http2_state_new();
    REQUIRE(h);
    int bad = 0;
    for (size_t k = 0; k <= srv.n; k++) {
        reset();
        http2_state_reset(h);
        size_t kc = k < cli.n ? k : cli.n;
        http2_feed(h, 0, cli.b, kc, 1, &lim, &cb, NULL, &st);
        http2_feed(h, 0, cli.b + kc, cli.n - kc, 1, &lim, &cb, NULL, &st);
        http2_feed(h, 1, srv.b, k, 1, &lim, &cb, NULL, &st);
        http2_feed(h, 1, srv.b + k, srv.n - k, 1, &lim, &cb, NULL, &st);
        bad += ntx != 1 || nfiles != 1 || files[0].size != 11 ||
               strcmp(txs[0].uri, "/files/a.txt?x=1") != 0 || txs[0].status != 200;
    }
    CHECK_EQ(bad, 0);
    http2_state_free(h);
}

/* A request block in HEADERS (padded, with a priority) and two
 * CONTINUATION frames, cut mid-field. */
static void test_continuation_padding_priority(void)
{
    reset();
    wire_reset();
    preface();
    uint8_t blk[4096];
    size_t n = hpack(0, get_a, blk, sizeof(blk));
    REQUIRE(n > 12);
    uint8_t first[64];
    size_t a = 5, b = 9;     /* fragments: [0,5) [5,9) [9,n) */
    first[0] = 3;            /* pad length */
    memset(first + 1, 0, 4); /* stream dependency */
    first[5] = 15;           /* weight 16 */
    memcpy(first + 6, blk, a);
    memset(first + 6 + a, 0, 3);
    frame(&cli, 1, 0x1 | 0x8 | 0x20, 3, first, 6 + a + 3);
    frame(&cli, 9, 0, 3, blk + a, b - a);
    frame(&cli, 9, 0x4, 3, blk + b, n - b);
    headers(1, 3, 0, ok_text);
    uint8_t padded[32] = { 4 };
    memcpy(padded + 1, "abcdef", 6);
    frame(&srv, 0, 0x1 | 0x8, 3, padded, 1 + 6 + 4);
    struct http2_state *h = http2_state_new();
    REQUIRE(h);
    feed_all(h, 0, &cli);
    feed_all(h, 1, &srv);
    CHECK_EQ(ntx, 1);
    CHECK_EQ(txs[0].stream_id, 3);
    CHECK_STR(txs[0].uri, "/files/a.txt?x=1");
    CHECK_STR(txs[0].user_agent, "nghttp2/test");
    CHECK_EQ(txs[0].h2_weight, 16);
    CHECK_EQ(txs[0].resp_body_len, 6);   /* padding is not body */
    CHECK_EQ(nfiles, 1);
    CHECK_EQ(files[0].size, 6);
    CHECK_EQ(st.bad_frame + st.hpack_errors, 0);
    http2_state_free(h);
}

static size_t gzip_of(const uint8_t *in, size_t n, uint8_t *out, size_t cap)
{
    z_stream z;
    memset(&z, 0, sizeof(z));
    deflateInit2(&z, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY);
    z.next_in = (Bytef *)(uintptr_t)in;
    z.avail_in = (uInt)n;
    z.next_out = out;
    z.avail_out = (uInt)cap;
    deflate(&z, Z_FINISH);
    size_t got = cap - z.avail_out;
    deflateEnd(&z);
    return got;
}

/* A gzip body in several DATA frames on one stream while another stream's
 * plain body interleaves: each file is the decoded bytes of its stream. */
static void test_gzip_and_interleaved_bodies(void)
{
    reset();
    wire_reset();
    preface();
    static uint8_t plain[20000], gz[30000];
    for (size_t i = 0; i < sizeof(plain); i++)
        plain[i] = (uint8_t)("nightjar"[i % 8] + (i / 1000));
    size_t gn = gzip_of(plain, sizeof(plain), gz, sizeof(gz));
    REQUIRE(gn > 0 && gn < sizeof(gz));
    static const char *const get_b[] = { ":method", "GET", ":path", "/b.bin",
        ":scheme", "http", ":authority", "example.com", NULL };
    static const char *const gz_hdr[] = { ":status", "200",
        "content-encoding", "gzip", NULL };
    headers(0, 1, 0x1, get_a);
    headers(0, 3, 0x1, get_b);
    headers(1, 1, 0, gz_hdr);
    headers(1, 3, 0, ok_text);
    size_t half = gn / 2;
    data(1, 1, 0, gz, half);
    data(1, 3, 0, "xyz", 3);
    data(1, 1, 0x1, gz + half, gn - half);
    data(1, 3, 0x1, "!", 1);
    struct http2_state *h = http2_state_new();
    REQUIRE(h);
    feed_all(h, 0, &cli);
    for (size_t i = 0; i < srv.n; i += 7) /* in odd pieces */
        http2_feed(h, 1, srv.b + i, srv.n - i < 7 ? srv.n - i : 7, 1, &lim,
                   &cb, NULL, &st);
    CHECK_EQ(ntx, 2);
    CHECK_EQ(nfiles, 2);
    struct file_hashes want;
    digest3_buffer(0, plain, sizeof(plain), &want);
    for (int i = 0; i < nfiles; i++) {
        if (files[i].stream == 1) {
            CHECK_EQ(files[i].size, sizeof(plain));
            CHECK(!memcmp(files[i].h.sha256, want.sha256, sizeof(want.sha256)));
        } else {
            CHECK_EQ(files[i].stream, 3);
            CHECK_EQ(files[i].size, 4);
            CHECK_STR(files[i].name, "b.bin");
        }
    }
    CHECK_EQ(txs[0].stream_id, 1);           /* stream 1 ended first */
    CHECK_EQ(txs[0].resp_body_len, gn);      /* on the wire, still encoded */
    CHECK_EQ(st.body.decompress_errors, 0);
    http2_state_free(h);
}

/* The client cancels a download: the server's frames already on their
 * way still belong to the stream, so it ends with the connection (or the
 * server's END_STREAM / reset); the transaction says it was cancelled,
 * its body is marked cut. */
static void test_rst_stream(void)
{
    reset();
    wire_reset();
    preface();
    headers(0, 1, 0x1, get_a);
    headers(1, 1, 0, ok_text);
    data(1, 1, 0, "partial", 7);
    uint8_t code[4] = { 0, 0, 0, 8 };        /* CANCEL */
    frame(&cli, 3, 0, 1, code, 4);
    struct http2_state *h = http2_state_new();
    REQUIRE(h);
    feed_all(h, 1, &srv);
    feed_all(h, 0, &cli);
    CHECK_EQ(ntx, 0);
    CHECK_EQ(st.rst_streams, 1);
    http2_finish(h, &cb, NULL, &st);
    CHECK_EQ(ntx, 1);
    CHECK(txs[0].h2_rst[0]);
    CHECK(!txs[0].h2_rst[1]);
    CHECK_EQ(txs[0].h2_error[0], 8);
    CHECK_EQ(txs[0].status, 200);
    CHECK_EQ(nfiles, 1);
    CHECK(files[0].gap);
    CHECK_EQ(files[0].size, 7);
    http2_state_free(h);
}

/* A pushed resource: its request comes in the PUSH_PROMISE, its response
 * on the promised stream. */
static void test_push_promise(void)
{
    reset();
    wire_reset();
    preface();
    headers(0, 1, 0x1, get_a);
    static const char *const promised[] = { ":method", "GET", ":path",
        "/style.css", ":scheme", "http", ":authority", "example.com", NULL };
    uint8_t pp[512] = { 0, 0, 0, 2 };
    size_t n = hpack(1, promised, pp + 4, sizeof(pp) - 4);
    frame(&srv, 5, 0x4, 1, pp, 4 + n);
    headers(1, 1, 0, ok_text);
    data(1, 1, 0x1, "page", 4);
    headers(1, 2, 0, ok_text);
    data(1, 2, 0x1, "css!", 4);
    struct http2_state *h = http2_state_new();
    REQUIRE(h);
    feed_all(h, 0, &cli);
    feed_all(h, 1, &srv);
    CHECK_EQ(ntx, 2);
    CHECK_EQ(st.push_promises, 1);
    CHECK_EQ(txs[1].stream_id, 2);
    CHECK_STR(txs[1].uri, "/style.css");
    CHECK_STR(txs[1].method, "GET");
    CHECK_EQ(txs[1].status, 200);
    CHECK_EQ(nfiles, 2);
    CHECK_STR(files[1].name, "style.css");
    http2_state_free(h);
}

/* The client lets the server use a bigger HPACK table: the server's blocks
 * then start with a size update the inflater must accept. */
static void test_settings_header_table_size(void)
{
    reset();
    wire_reset();
    put(&cli, HTTP2_PREFACE, HTTP2_PREFACE_LEN);
    uint8_t set[6] = { 0, 1, 0, 0, 0x40, 0 }; /* HEADER_TABLE_SIZE 16384 */
    frame(&cli, 4, 0, 0, set, 6);
    nghttp2_hd_deflate_change_table_size(def[1], 16384);
    headers(0, 1, 0x1, get_a);
    headers(1, 1, 0x1, ok_text);
    struct http2_state *h = http2_state_new();
    REQUIRE(h);
    feed_all(h, 0, &cli);
    feed_all(h, 1, &srv);
    CHECK_EQ(st.hpack_errors, 0);
    CHECK_EQ(ntx, 1);
    CHECK_EQ(txs[0].status, 200);
    http2_state_free(h);
}

/* HTTP/1.1 with Upgrade: h2c, a 101, and the response to that first
 * request on stream 1 in the same segment as the 101. */
static void test_h2c_upgrade(void)
{
    reset();
    wire_reset();
    struct http_state *h1 = http_state_new();
    struct http2_state *h = http2_state_new();
    REQUIRE(h1 && h);
    struct http_stats st1;
    memset(&st1, 0, sizeof(st1));
    static const char req[] = "GET /up.txt HTTP/1.1\r\nHost: h2c.example\r\n"
        "Connection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\n"
        "HTTP2-Settings: AAMAAABkAAQAoAAAAAIAAAAA\r\n\r\n";
    CHECK(http_feed(h1, 0, (const uint8_t *)req, sizeof(req) - 1, 1, &lim, &cb,
                    NULL, &st1));
    static const char sw[] = "HTTP/1.1 101 Switching Protocols\r\n"
        "Connection: Upgrade\r\nUpgrade: h2c\r\n\r\n";
    put(&srv, sw, sizeof(sw) - 1);
    frame(&srv, 4, 0, 0, NULL, 0);
    headers(1, 1, 0, ok_text);
    data(1, 1, 0x1, "upgraded", 8);
    CHECK(!http_feed(h1, 1, srv.b, srv.n, 2, &lim, &cb, NULL, &st1));
    size_t rest = 0;
    int sdir = -1;
    const struct http_tx *up = http_h2c_upgrade(h1, &rest, &sdir);
    REQUIRE(up);
    CHECK_EQ(rest, srv.n - (sizeof(sw) - 1));
    CHECK_EQ(sdir, 1);
    CHECK_EQ(ntx, 1);        /* the 101 itself, as HTTP/1.1 */
    CHECK_EQ(txs[0].status, 101);
    http2_upgrade(h, up, sdir, 2, &st);
    CHECK(http2_feed(h, 1, srv.b + srv.n - rest, rest, 2, &lim, &cb, NULL, &st));
    put(&cli, HTTP2_PREFACE, HTTP2_PREFACE_LEN);
    frame(&cli, 4, 0, 0, NULL, 0);
    CHECK(http2_feed(h, 0, cli.b, cli.n, 3, &lim, &cb, NULL, &st));
    CHECK_EQ(ntx, 2);
    CHECK(txs[1].http2);
    CHECK_EQ(txs[1].stream_id, 1);
    CHECK_STR(txs[1].uri, "/up.txt");
    CHECK_STR(txs[1].host, "h2c.example");
    CHECK_EQ(txs[1].status, 200);
    CHECK_EQ(nfiles, 1);
    CHECK_EQ(files[0].size, 8);
    http_state_free(h1);
    http2_state_free(h);
}

/* More open streams than the table holds: the oldest are reported to make
 * room, and counted. */
static void test_streams_over_cap(void)
{
    reset();
    wire_reset();
    preface();
    for (uint32_t i = 0; i < HTTP2_STREAMS_MAX + 5; i++)
        headers(0, 1 + 2 * i, 0x1, get_a);
    struct http2_state *h = http2_state_new();
    REQUIRE(h);
    feed_all(h, 0, &cli);
    CHECK_EQ(st.streams_over_cap, 5);
    CHECK_EQ(ntx, 5);
    CHECK_EQ(txs[0].stream_id, 1);
    http2_finish(h, &cb, NULL, &st);
    CHECK_EQ(ntx, HTTP2_STREAMS_MAX + 5);
    http2_state_free(h);
}

/* More bodies at once than there are slots: the extra one is counted in
 * its length, not kept. */
static void test_bodies_over_cap(void)
{
    reset();
    wire_reset();
    preface();
    for (uint32_t i = 0; i < HTTP2_BODIES_MAX + 1; i++) {
        headers(0, 1 + 2 * i, 0x1, get_a);
        headers(1, 1 + 2 * i, 0, ok_text);
        data(1, 1 + 2 * i, 0, "x", 1);
    }
    struct http2_state *h = http2_state_new();
    REQUIRE(h);
    feed_all(h, 0, &cli);
    feed_all(h, 1, &srv);
    CHECK_EQ(st.bodies_over_cap, 1);
    http2_finish(h, &cb, NULL, &st);
    CHECK_EQ(nfiles, HTTP2_BODIES_MAX);
    CHECK_EQ(ntx, HTTP2_BODIES_MAX + 1);
    CHECK_EQ(txs[HTTP2_BODIES_MAX].resp_body_len, 1);
    http2_state_free(h);
}

/* Too many fields, then a block past HTTP2_BLOCK_MAX. */
static void test_header_caps(void)
{
    reset();
    wire_reset();
    preface();
    static char names[200][16];
    static const char *nv[2 * 210];
    size_t k = 0;
    nv[k++] = ":method"; nv[k++] = "GET";
    nv[k++] = ":path"; nv[k++] = "/many";
    static char long_name[200];             /* over the 128 a name is kept to */
    memset(long_name, 'n', sizeof(long_name) - 1);
    nv[k++] = long_name; nv[k++] = "v";
    for (int i = 0; i < 199; i++) {
        snprintf(names[i], sizeof(names[i]), "x-h%d", i);
        nv[k++] = names[i];
        nv[k++] = "v";
    }
    nv[k] = NULL;
    headers(0, 1, 0x1, nv);
    struct http2_state *h = http2_state_new();
    REQUIRE(h);
    feed_all(h, 0, &cli);
    CHECK_EQ(st.headers_over_cap, 1);
    CHECK_EQ(st.name_over_cap, 1);
    CHECK_EQ(st.hpack_errors, 0);
    /* a block of 80 KB in CONTINUATION frames of one big value each (a
     * run of 'a' is 5 bits a byte in Huffman: 5 KB a frame) */
    static char big[8000];
    memset(big, 'a', sizeof(big) - 1);
    static const char *const bignv[] = { "x-big", big, NULL };
    frame(&cli, 1, 0, 3, NULL, 0);
    size_t start = cli.n;
    for (int i = 0; i < 16; i++) {
        uint8_t blk[9000];
        size_t n = hpack(0, bignv, blk, sizeof(blk));
        frame(&cli, 9, i == 15 ? 0x4 : 0, 3, blk, n);
    }
    CHECK(!http2_feed(h, 0, cli.b + start - 9, cli.n - start + 9, 1, &lim, &cb,
                      NULL, &st));
    CHECK_EQ(st.block_over_cap, 1);
    http2_finish(h, &cb, NULL, &st);
    CHECK_EQ(ntx, 2);
    CHECK(txs[1].headers_truncated);
    http2_state_free(h);
}

/* Not HTTP/2, or broken framing: the parser stops and says why. */
static void test_garbage(void)
{
    reset();
    struct http2_state *h = http2_state_new();
    REQUIRE(h);
    static const char get[] = "GET / HTTP/1.1\r\n\r\n";
    CHECK(!http2_feed(h, 0, (const uint8_t *)get, sizeof(get) - 1, 1, &lim,
                      &cb, NULL, &st));
    CHECK_EQ(st.bad_preface, 1);
    CHECK(!http2_feed(h, 0, (const uint8_t *)get, 1, 1, &lim, &cb, NULL, &st));

    http2_state_reset(h);
    wire_reset();
    put(&cli, HTTP2_PREFACE, HTTP2_PREFACE_LEN);
    frame(&cli, 0, 0, 0, "x", 1);   /* DATA on stream 0 */
    CHECK(!http2_feed(h, 0, cli.b, cli.n, 1, &lim, &cb, NULL, &st));
    CHECK_EQ(st.bad_frame, 1);

    http2_state_reset(h);
    wire_reset();
    put(&cli, HTTP2_PREFACE, HTTP2_PREFACE_LEN);
    uint8_t junk[5] = { 0x7f, 0xff, 0xff, 0xff, 0xff }; /* bad HPACK index */
    frame(&cli, 1, 0x5, 1, junk, sizeof(junk));
    CHECK(!http2_feed(h, 0, cli.b, cli.n, 1, &lim, &cb, NULL, &st));
    CHECK_EQ(st.hpack_errors, 1);
    http2_finish(h, &cb, NULL, &st);

    /* pseudo-random bytes after a preface: whatever happens, no crash */
    uint32_t x = 12345;
    for (int round = 0; round < 200; round++) {
        http2_state_reset(h);
        uint8_t buf[512];
        memcpy(buf, HTTP2_PREFACE, HTTP2_PREFACE_LEN);
        for (size_t i = HTTP2_PREFACE_LEN; i < sizeof(buf); i++) {
            x = x * 1103515245u + 12345u;
            buf[i] = (uint8_t)(x >> 16);
            if (i % 9 == 0)
                buf[i] = 0;   /* short lengths, so frames are reached */
        }
        http2_feed(h, 0, buf, sizeof(buf), 1, &lim, &cb, NULL, &st);
        http2_feed(h, 1, buf + HTTP2_PREFACE_LEN, sizeof(buf) - HTTP2_PREFACE_LEN,
                   1, &lim, &cb, NULL, &st);
        http2_finish(h, &cb, NULL, &st);
    }
    http2_state_free(h);
}

/* A hole inside a DATA payload marks the file cut; framing goes on. */
static void test_gap_in_data(void)
{
    reset();
    wire_reset();
    preface();
    headers(0, 1, 0x1, get_a);
    headers(1, 1, 0, ok_text);
    size_t before = srv.n;
    data(1, 1, 0x1, "0123456789", 10);
    struct http2_state *h = http2_state_new();
    REQUIRE(h);
    feed_all(h, 0, &cli);
    http2_feed(h, 1, srv.b, before + 9 + 3, 1, &lim, &cb, NULL, &st);
    http2_gap(h, 1, 4, &cb, NULL, &st);
    http2_feed(h, 1, srv.b + before + 9 + 7, 3, 1, &lim, &cb, NULL, &st);
    CHECK_EQ(ntx, 1);
    CHECK_EQ(txs[0].resp_body_len, 10);
    CHECK_EQ(nfiles, 1);
    CHECK(files[0].gap);
    CHECK_EQ(files[0].size, 6);
    CHECK_EQ(st.lost_sync, 0);
    http2_state_free(h);
}

static void teardown(void)
{
    for (int i = 0; i < 2; i++)
        if (def[i])
            nghttp2_hd_deflate_del(def[i]);
}

static void setup(void) {}

TEST_LIST_FIXTURE(setup, teardown, test_stream_becomes_http_transaction,
                  test_byte_at_a_time, test_split_at_every_byte,
                  test_continuation_padding_priority,
                  test_gzip_and_interleaved_bodies, test_rst_stream,
                  test_push_promise, test_settings_header_table_size,
                  test_h2c_upgrade, test_streams_over_cap,
                  test_bodies_over_cap, test_header_caps, test_garbage,
                  test_gap_in_data)
