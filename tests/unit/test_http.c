/* test_http.c -- HTTP/1.x framing, pairing and decoding, fed whole and one
 * byte at a time, and the caps that stop hostile streams. */
#include <zlib.h>

#include "app/app_layer.h"
#include "detect/finding.h"
#include "flow/flow.h"
#include "proto/app_detect.h"
#include "proto/http.h"
#include "testing.h"

#define MAX_TX 16

static struct http_stats st;
static struct http_tx txs[MAX_TX];
static int ntx;
static struct {
    int dir;
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
    (void)tx;
    struct content_result r;
    file_end(f, NULL, &r);
    if (nfiles < MAX_TX) {
        files[nfiles].dir = dir;
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
}

static void feed(struct http_state *h, int dir, const char *s, size_t n,
                 bool bytewise)
{
    if (!bytewise) {
        http_feed(h, dir, (const uint8_t *)s, n, 1, &lim, &cb, NULL, &st);
        return;
    }
    for (size_t i = 0; i < n; i++)
        http_feed(h, dir, (const uint8_t *)s + i, 1, 1, &lim, &cb, NULL, &st);
}

#define FEED(h, dir, lit, bw) feed((h), (dir), (lit), sizeof(lit) - 1, (bw))

static void pipelined(bool bytewise)
{
    reset();
    struct http_state *h = http_state_new();
    FEED(h, 0, "GET /a.txt?x=1 HTTP/1.1\r\nHost: example.com\r\n"
               "User-Agent: test/1.0\r\nReferer: http://r.example/\r\n\r\n"
               "POST /up HTTP/1.1\r\nHost: example.com\r\nContent-Length: 5\r\n"
               "Content-Type: text/plain\r\n\r\nhello", bytewise);
    FEED(h, 1, "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Type: text/plain\r\n\r\nabc"
               "HTTP/1.1 201 Created\r\nTransfer-Encoding: chunked\r\n\r\n"
               "2\r\nxy\r\n1;ext=1\r\nz\r\n0\r\nTrailer: 1\r\n\r\n", bytewise);
    http_finish(h, &cb, NULL, &st);
    http_state_free(h);
    CHECK_EQ(ntx, 2);
    CHECK_STR(txs[0].method, "GET");
    CHECK_STR(txs[0].uri, "/a.txt?x=1");
    CHECK_STR(txs[0].host, "example.com");
    CHECK_STR(txs[0].user_agent, "test/1.0");
    CHECK_STR(txs[0].referer, "http://r.example/");
    CHECK_STR(txs[0].protocol, "HTTP/1.1");
    CHECK_EQ(txs[0].status, 200);
    CHECK_EQ(txs[0].resp_body_len, 3);
    CHECK_STR(txs[0].resp_content_type, "text/plain");
    CHECK_STR(txs[1].method, "POST");
    CHECK_EQ(txs[1].status, 201);
    CHECK_EQ(txs[1].req_body_len, 5);
    CHECK_EQ(txs[1].resp_body_len, 3);
    CHECK_EQ(nfiles, 3);
    CHECK_EQ(files[0].dir, 0);          /* the POST body, sent first */
    CHECK_STR(files[0].name, "up");
    CHECK_EQ(files[0].size, 5);
    CHECK_STR(files[1].name, "a.txt");
    CHECK_EQ(files[1].dir, 1);
    CHECK_EQ(files[1].size, 3);
    CHECK_EQ(files[2].size, 3);         /* "xyz" de-chunked */
    uint8_t want[32];
    digest(DIGEST_SHA256, "xyz", 3, want);
    CHECK(memcmp(files[2].h.sha256, want, 32) == 0);
}

static void test_pipelining_whole(void) { pipelined(false); }
static void test_pipelining_byte_by_byte(void) { pipelined(true); }

static size_t gzip_of(const uint8_t *in, size_t n, uint8_t *out, size_t cap,
                      int wbits)
{
    z_stream z;
    memset(&z, 0, sizeof(z));
    deflateInit2(&z, 9, Z_DEFLATED, wbits, 8, Z_DEFAULT_STRATEGY);
    z.next_in = (Bytef *)(uintptr_t)in;
    z.avail_in = (uInt)n;
    z.next_out = out;
    z.avail_out = (uInt)cap;
    deflate(&z, Z_FINISH);
    size_t got = cap - z.avail_out;
    deflateEnd(&z);
    return got;
}

static void encoded(const char *encoding, int wbits)
{
    reset();
    static uint8_t plain[50000], gz[60000];
    for (size_t i = 0; i < sizeof(plain); i++)
        plain[i] = (uint8_t)("abcdefgh"[i % 8] + (i / 1000) % 3);
    size_t gl = gzip_of(plain, sizeof(plain), gz, sizeof(gz), wbits);
    char head[256];
    int hl = snprintf(head, sizeof(head), "HTTP/1.1 200 OK\r\nContent-Encoding: %s\r\n"
                      "Content-Length: %zu\r\n\r\n", encoding, gl);
    struct http_state *h = http_state_new();
    FEED(h, 0, "GET /z HTTP/1.1\r\nHost: h\r\n\r\n", false);
    feed(h, 1, head, (size_t)hl, false);
    for (size_t i = 0; i < gl; i += 7) /* odd-sized pieces */
        feed(h, 1, (const char *)gz + i, gl - i < 7 ? gl - i : 7, false);
    http_state_free(h);
    CHECK_EQ(ntx, 1);
    CHECK_EQ(nfiles, 1);
    CHECK_EQ(files[0].size, sizeof(plain));
    uint8_t want[32];
    digest(DIGEST_SHA256, plain, sizeof(plain), want);
    CHECK(memcmp(files[0].h.sha256, want, 32) == 0);
    CHECK_EQ(txs[0].resp_body_len, gl); /* length on the wire */
}

static void test_gzip_body(void) { encoded("gzip", 31); }
static void test_deflate_zlib_body(void) { encoded("deflate", 15); }
static void test_deflate_raw_body(void) { encoded("deflate", -15); }

static void test_decompression_bomb_stops(void)
{
    reset();
    size_t n = 64u << 20;
    uint8_t *zeros = calloc(1, n), *gz = malloc(1 << 20);
    size_t gl = gzip_of(zeros, n, gz, 1 << 20, 31);
    char head[256];
    int hl = snprintf(head, sizeof(head), "HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\n"
                      "Content-Length: %zu\r\n\r\n", gl);
    struct http_limits small = { 1 << 20, 100u << 20, 100, NULL, 0 };
    struct http_state *h = http_state_new();
    http_feed(h, 0, (const uint8_t *)"GET / HTTP/1.1\r\n\r\n", 18, 1, &small, &cb, NULL, &st);
    uint64_t bombs = st.decompression_bombs;
    http_feed(h, 1, (const uint8_t *)head, (size_t)hl, 1, &small, &cb, NULL, &st);
    http_feed(h, 1, gz, gl, 1, &small, &cb, NULL, &st);
    http_state_free(h);
    CHECK_EQ(st.decompression_bombs, bombs + 1);
    CHECK_EQ(nfiles, 1);
    CHECK(files[0].truncated);
    CHECK(files[0].size < (8u << 20)); /* stopped early, not 64 MiB */
    CHECK_EQ(ntx, 1);                  /* the transaction still completes */
    free(zeros);
    free(gz);
}

static void test_head_304_and_100_continue(void)
{
    reset();
    struct http_state *h = http_state_new();
    FEED(h, 0, "HEAD /x HTTP/1.1\r\nHost: h\r\n\r\nGET /y HTTP/1.1\r\nHost: h\r\n\r\n"
               "PUT /z HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n", false);
    FEED(h, 1, "HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n"   /* HEAD: no body */
               "HTTP/1.1 304 Not Modified\r\nContent-Length: 10\r\n\r\n"
               "HTTP/1.1 100 Continue\r\n\r\n", false);
    FEED(h, 0, "ok", false);
    FEED(h, 1, "HTTP/1.1 204 No Content\r\n\r\n", false);
    http_state_free(h);
    CHECK_EQ(ntx, 3);
    CHECK_EQ(txs[0].status, 200);
    CHECK_EQ(txs[1].status, 304);
    CHECK_EQ(txs[2].status, 204);
    CHECK_STR(txs[2].method, "PUT");
    CHECK_EQ(nfiles, 1); /* only the PUT body */
}

static void test_read_until_close_and_connect(void)
{
    reset();
    struct http_state *h = http_state_new();
    FEED(h, 0, "GET /dl HTTP/1.0\r\n\r\n", false);
    FEED(h, 1, "HTTP/1.0 200 OK\r\nContent-Disposition: attachment; "
               "filename=\"report q1.pdf\"\r\n\r\n%PDF-1.4 body", false);
    http_finish(h, &cb, NULL, &st);
    http_state_free(h);
    CHECK_EQ(ntx, 1);
    CHECK_EQ(nfiles, 1);
    CHECK_STR(files[0].name, "report q1.pdf");
    CHECK_EQ(files[0].size, 13);
    CHECK(!files[0].gap);

    reset();
    h = http_state_new();
    FEED(h, 0, "CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n", false);
    FEED(h, 1, "HTTP/1.1 200 Connection established\r\n\r\n", false);
    CHECK(!http_feed(h, 0, (const uint8_t *)"\x16\x03\x01", 3, 1, &lim, &cb, NULL, &st));
    http_state_free(h);
    CHECK_EQ(ntx, 1);
    CHECK_STR(txs[0].uri, "example.com:443");
}

static void test_endless_headers_are_capped(void)
{
    reset();
    struct http_state *h = http_state_new();
    FEED(h, 0, "GET / HTTP/1.1\r\n", false);
    uint64_t over = st.headers_over_cap;
    bool alive = true;
    for (int i = 0; i < 1000 && alive; i++)
        alive = http_feed(h, 0, (const uint8_t *)"X-A: b\r\n", 8, 1, &lim, &cb, NULL, &st);
    CHECK(!alive);
    CHECK_EQ(st.headers_over_cap, over + 1);
    http_state_free(h);
    /* one endless line is kept to the cap and counted once */
    h = http_state_new();
    uint64_t trunc = st.line_truncated;
    FEED(h, 0, "GET /", false);
    for (int i = 0; i < 2000; i++)
        http_feed(h, 0, (const uint8_t *)"aaaaaaaa", 8, 1, &lim, &cb, NULL, &st);
    CHECK_EQ(st.line_truncated, trunc + 1);
    http_state_free(h);
}

static void test_not_http_stops(void)
{
    struct http_state *h = http_state_new();
    uint64_t n = st.not_http;
    CHECK(!http_feed(h, 0, (const uint8_t *)"\x00\x01garbage\r\n", 11, 1, &lim, &cb, NULL, &st));
    CHECK_EQ(st.not_http, n + 1);
    http_state_free(h);
}

static void test_gap_in_body_marks_file(void)
{
    reset();
    struct http_state *h = http_state_new();
    FEED(h, 0, "GET /g HTTP/1.1\r\n\r\n", false);
    FEED(h, 1, "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n123", false);
    http_gap(h, 1, 4, &cb, NULL, &st);            /* 4 of the 10 are lost */
    FEED(h, 1, "890", false);                     /* the body ends here */
    FEED(h, 0, "GET /h HTTP/1.1\r\n\r\n", false);
    FEED(h, 1, "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n", false);
    http_finish(h, &cb, NULL, &st);
    http_state_free(h);
    CHECK_EQ(nfiles, 1);
    CHECK(files[0].gap);
    CHECK_EQ(files[0].size, 6);
    CHECK_EQ(ntx, 2);                             /* framing survived the hole */
    CHECK_EQ(txs[1].status, 404);
    CHECK_EQ(txs[0].resp_body_len, 10);
}

/* What the stream window is told is body, direction by direction: the
 * rest of a Content-Length body exactly (what follows its end is the next
 * message's), a chunked or close-delimited one all of it, headers none. */
static void test_body_ahead(void)
{
    reset();
    struct http_state *h = http_state_new();
    REQUIRE(h != NULL);
    CHECK_EQ(http_body_ahead(h, 0), 0);
    FEED(h, 0, "POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n", false);
    CHECK_EQ(http_body_ahead(h, 0), 10);
    CHECK_EQ(http_body_ahead(h, 1), 0);
    FEED(h, 0, "0123", false);
    CHECK_EQ(http_body_ahead(h, 0), 6);
    FEED(h, 0, "456789GET /b HTTP/1.1\r\nHost: x\r\n", false);
    CHECK_EQ(http_body_ahead(h, 0), 0); /* in the next request's headers */
    FEED(h, 1, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", false);
    CHECK(http_body_ahead(h, 1) == HTTP_BODY_UNBOUNDED);
    FEED(h, 1, "3\r\nabc\r\n0\r\n\r\n", false);
    CHECK_EQ(http_body_ahead(h, 1), 0);
    FEED(h, 1, "HTTP/1.0 200 OK\r\n\r\n", false); /* until the close */
    CHECK(http_body_ahead(h, 1) == HTTP_BODY_UNBOUNDED);
    http_state_free(h);
}

static int window_hits;
static void on_content_finding(void *ctx, const struct finding *fd)
{
    (void)ctx;
    if (fd->kind == FINDING_content && fd->sid == 9199101)
        window_hits++;
}

/* The app layer's stream window on a keep-alive connection: a chunk that
 * starts inside a Content-Length body and goes on into the next request's
 * headers has those headers scanned (the body's rest is left to its file);
 * a header rule finds them. */
static void test_window_after_body_in_one_chunk(void)
{
    char rules_path[] = "/tmp/nj-window-XXXXXX";
    int fd = mkstemp(rules_path);
    REQUIRE(fd >= 0);
    const char rule[] = "rule Second_Header { meta: sid = 9199101\n"
                        "  strings: $h = \"X-Second: marker\" condition: $h }\n";
    CHECK(write(fd, rule, sizeof(rule) - 1) == (ssize_t)(sizeof(rule) - 1));
    close(fd);
    struct nj_config c;
    config_defaults(&c);
    c.content.magic = false;
    snprintf(c.content.yara_path, sizeof(c.content.yara_path), "%s", rules_path);
    char err[256];
    struct app_layer *al = app_layer_new(&c, err, sizeof(err));
    REQUIRE(al != NULL);
    app_layer_set_finding_sink(al, on_content_finding, NULL);
    struct flow *f = calloc(1, sizeof(*f));
    REQUIRE(f != NULL);
    f->app_proto = APP_HTTP;
    const char one[] = "POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhe";
    const char two[] = "lloGET /b HTTP/1.1\r\nHost: x\r\nX-Second: marker\r\n\r\n";
    window_hits = 0;
    app_stream_data(al, f, 0, (const uint8_t *)one, sizeof(one) - 1, 10);
    app_stream_data(al, f, 0, (const uint8_t *)two, sizeof(two) - 1, 11);
    app_flow_end(al, f, 12);
    CHECK_EQ(window_hits, 1);
    app_layer_free(al);
    free(f);
    unlink(rules_path);
}

TEST_LIST(test_pipelining_whole, test_pipelining_byte_by_byte, test_gzip_body,
          test_deflate_zlib_body, test_deflate_raw_body,
          test_decompression_bomb_stops, test_head_304_and_100_continue,
          test_read_until_close_and_connect, test_endless_headers_are_capped,
          test_not_http_stops, test_gap_in_body_marks_file, test_body_ahead,
          test_window_after_body_in_one_chunk)
