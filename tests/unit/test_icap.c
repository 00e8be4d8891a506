/* test_icap.c -- the ICAP request parser (heads, Encapsulated, chunked
 * bodies with previews) and the HTTP heads it carries. */
#include <string.h>

#include "icap/icap_proto.h"
#include "proto/http.h"
#include "testing.h"

static struct icap_request r;
static char err[256];

static int parse(const char *head)
{
    size_t n = icap_head_length((const uint8_t *)head, strlen(head));
    if (!n)
        return -1;
    return icap_parse_head(head, n, &r, err, sizeof(err));
}

static void test_head_length_needs_the_empty_line(void)
{
    const char *h = "OPTIONS icap://127.0.0.1/scan ICAP/1.0\r\nHost: x\r\n\r\nREST";
    CHECK_EQ(icap_head_length((const uint8_t *)h, strlen(h)), strlen(h) - 4);
    CHECK_EQ(icap_head_length((const uint8_t *)h, strlen(h) - 6), 0);
    const char *bare = "OPTIONS /scan ICAP/1.0\n\n";
    CHECK_EQ(icap_head_length((const uint8_t *)bare, strlen(bare)), strlen(bare));
}

static void test_options_and_its_service(void)
{
    CHECK_EQ(parse("OPTIONS icap://icap.example:1344/scan?x=1 ICAP/1.0\r\n"
                   "Host: icap.example\r\nEncapsulated: null-body=0\r\n\r\n"), 0);
    CHECK_EQ(r.method, ICAP_OPTIONS);
    CHECK_STR(r.service, "/scan");
    CHECK_STR(r.host, "icap.example");
    CHECK_EQ(r.heads_len, 0);
    /* without Encapsulated too (RFC 3507 4.10) */
    CHECK_EQ(parse("OPTIONS icap://h/scan ICAP/1.0\r\n\r\n"), 0);
    CHECK_EQ(r.body, ICAP_NULL_BODY);
}

static void test_respmod_sections_and_headers(void)
{
    CHECK_EQ(parse("RESPMOD icap://h/scan ICAP/1.0\r\nHost: h\r\n"
                   "Encapsulated: req-hdr=0, res-hdr=137, res-body=296\r\n"
                   "Preview: 1024\r\nAllow: 204, 206\r\nX-Client-IP: 10.1.2.3\r\n"
                   "X-Client-Username: alice\r\n\r\n"), 0);
    CHECK_EQ(r.method, ICAP_RESPMOD);
    CHECK_EQ(r.off[ICAP_REQ_HDR], 0);
    CHECK_EQ(r.off[ICAP_RES_HDR], 137);
    CHECK_EQ(r.off[ICAP_RES_BODY], 296);
    CHECK_EQ(r.body, ICAP_RES_BODY);
    CHECK_EQ(r.heads_len, 296);
    CHECK_EQ(r.preview, 1024);
    CHECK(r.allow_204 && r.allow_206);
    CHECK_STR(r.client_ip, "10.1.2.3");
    CHECK_STR(r.client_user, "alice");
    size_t start, len;
    CHECK(icap_section_span(&r, ICAP_RES_HDR, &start, &len));
    CHECK_EQ(start, 137);
    CHECK_EQ(len, 159);
    CHECK(!icap_section_span(&r, ICAP_REQ_BODY, &start, &len));
}

static void test_reqmod_and_client_from_forwarded_for(void)
{
    CHECK_EQ(parse("REQMOD icap://h/scan ICAP/1.0\r\nEncapsulated: req-hdr=0, "
                   "null-body=170\r\nX-Forwarded-For: 192.0.2.7, 10.0.0.1\r\n"
                   "Connection: close\r\n\r\n"), 0);
    CHECK_EQ(r.method, ICAP_REQMOD);
    CHECK_EQ(r.body, ICAP_NULL_BODY);
    CHECK_STR(r.client_ip, "192.0.2.7");
    CHECK(r.close);
    CHECK(!r.allow_204);
    CHECK_EQ(r.preview, -1);
}

static void test_refusals_name_their_status(void)
{
    CHECK_EQ(parse("GET /scan ICAP/1.0\r\n\r\n"), 405);
    CHECK_EQ(parse("RESPMOD icap://h/scan ICAP/2.0\r\n\r\n"), 505);
    CHECK_EQ(parse("RESPMOD icap://h/scan HTTP/1.1\r\n\r\n"), 400);
    CHECK_EQ(parse("RESPMOD icap://h/scan ICAP/1.0\r\n\r\n"), 400); /* no Encapsulated */
    CHECK(strstr(err, "Encapsulated") != NULL);
    CHECK_EQ(parse("RESPMOD icap://h/scan ICAP/1.0\r\nEncapsulated: res-hdr=10, "
                   "res-body=5\r\n\r\n"), 400);            /* out of order */
    CHECK_EQ(parse("RESPMOD icap://h/scan ICAP/1.0\r\nEncapsulated: res-hdr=3, "
                   "res-body=50\r\n\r\n"), 400);           /* does not start at 0 */
    CHECK_EQ(parse("REQMOD icap://h/scan ICAP/1.0\r\nEncapsulated: res-hdr=0, "
                   "res-body=50\r\n\r\n"), 400);           /* not a request */
    CHECK_EQ(parse("RESPMOD icap://h/scan ICAP/1.0\r\nEncapsulated: res-hdr=0, "
                   "res-body=50, null-body=60\r\n\r\n"), 400); /* two bodies */
    CHECK_EQ(parse("RESPMOD icap://h/scan ICAP/1.0\r\nEncapsulated: res-hdr=0, "
                   "res-body=99999999\r\n\r\n"), 400);     /* past the cap */
    CHECK_EQ(parse("RESPMOD icap://h/scan ICAP/1.0\r\nEncapsulated: res-hdr=0, "
                   "res-body=50\r\nPreview: x\r\n\r\n"), 400);
    CHECK_EQ(parse("RESPMOD icap://h/scan ICAP/1.0\r\nno colon here\r\n\r\n"), 400);
    CHECK_EQ(parse("RESPMOD icap://h/scan ICAP/1.0\r\nEncapsulated: junk=0\r\n\r\n"), 400);
}

/* --- chunks ---------------------------------------------------------- */

static char got[4096];
static size_t got_len;

static void collect(void *ctx, const uint8_t *d, size_t n)
{
    (void)ctx;
    memcpy(got + got_len, d, n);
    got_len += n;
}

/* feeds s one byte at a time, as a slow network would */
static ssize_t feed_bytewise(struct icap_chunks *c, const char *s)
{
    size_t i = 0, n = strlen(s);
    while (i < n && c->state != CH_DONE) {
        ssize_t u = icap_chunks_feed(c, (const uint8_t *)s + i, 1, collect, NULL,
                                     err, sizeof(err));
        if (u < 0)
            return -1;
        i += (size_t)u;
    }
    return (ssize_t)i;
}

static void test_chunks_whole_and_in_pieces(void)
{
    const char *body = "5\r\nhello\r\n7;name=v\r\n, world\r\n0\r\n\r\nNEXT";
    struct icap_chunks c;
    icap_chunks_reset(&c);
    got_len = 0;
    ssize_t u = icap_chunks_feed(&c, (const uint8_t *)body, strlen(body), collect,
                                 NULL, err, sizeof(err));
    CHECK_EQ(u, (ssize_t)strlen(body) - 4); /* stops before the next message */
    CHECK_EQ(c.state, CH_DONE);
    CHECK(!c.ieof);
    CHECK_EQ(got_len, 12);
    CHECK(!memcmp(got, "hello, world", 12));
    icap_chunks_reset(&c);
    got_len = 0;
    CHECK_EQ(feed_bytewise(&c, body), (ssize_t)strlen(body) - 4);
    CHECK_EQ(got_len, 12);
    CHECK_EQ(c.total, 12);
}

static void test_preview_end_and_ieof(void)
{
    struct icap_chunks c;
    icap_chunks_reset(&c);
    got_len = 0;
    CHECK(feed_bytewise(&c, "4\r\nabcd\r\n0\r\n\r\n") > 0);
    CHECK_EQ(c.state, CH_DONE);
    CHECK(!c.ieof); /* more may follow after 100 Continue */
    icap_chunks_reset(&c);
    CHECK(feed_bytewise(&c, "2\r\nef\r\n0; ieof\r\n\r\n") > 0);
    CHECK(c.ieof);
    CHECK_EQ(got_len, 6);
}

static void test_bad_chunks_fail(void)
{
    struct icap_chunks c;
    const char *bad[] = {
        "zz\r\nhello\r\n", "5\r\nhelloX\r\n", "5 junk\r\nhello\r\n",
        "ffffffffffffffffff\r\n",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        icap_chunks_reset(&c);
        got_len = 0;
        CHECK_EQ(icap_chunks_feed(&c, (const uint8_t *)bad[i], strlen(bad[i]),
                                  collect, NULL, err, sizeof(err)), -1);
    }
    char longline[600];
    memset(longline, '1', sizeof(longline) - 1);
    longline[sizeof(longline) - 1] = '\0';
    icap_chunks_reset(&c);
    CHECK_EQ(icap_chunks_feed(&c, (const uint8_t *)longline, strlen(longline),
                              collect, NULL, err, sizeof(err)), -1);
    CHECK(strstr(err, "longer") != NULL);
}

static void test_encapsulated_http_heads(void)
{
    const char *req = "GET http://dl.example.net/x/setup.exe?a=1 HTTP/1.1\r\n"
                      "Host: dl.example.net\r\nUser-Agent: curl/8.0\r\n\r\n";
    const char *res = "HTTP/1.1 200 OK\r\nContent-Type: image/png\r\n"
                      "Content-Length: 1234\r\nContent-Disposition: attachment; "
                      "filename=\"a.png\"\r\n\r\n";
    struct http_tx tx;
    memset(&tx, 0, sizeof(tx));
    struct http_framing fr;
    struct http_stats st = { 0 };
    CHECK(http_head_parse(&tx, 0, req, strlen(req), &fr, &st));
    CHECK(http_head_parse(&tx, 1, res, strlen(res), &fr, &st));
    CHECK_STR(tx.method, "GET");
    CHECK_STR(tx.host, "dl.example.net");
    CHECK_STR(tx.user_agent, "curl/8.0");
    CHECK_EQ(tx.status, 200);
    CHECK_STR(tx.resp_content_type, "image/png");
    CHECK_STR(tx.filename, "a.png");
    CHECK(fr.have_cl && fr.cl == 1234);
    CHECK_EQ(st.requests, 1);
    CHECK_EQ(st.responses, 1);
    CHECK(!http_head_parse(&tx, 1, "NOT HTTP\r\n\r\n", 12, &fr, &st));
    CHECK_EQ(st.not_http, 1);
}

TEST_LIST(test_head_length_needs_the_empty_line, test_options_and_its_service,
          test_respmod_sections_and_headers,
          test_reqmod_and_client_from_forwarded_for,
          test_refusals_name_their_status, test_chunks_whole_and_in_pieces,
          test_preview_end_and_ieof, test_bad_chunks_fail,
          test_encapsulated_http_heads)
