/* test_mime_rewrite.c -- the MIME rewriter nightjar-mta strips attachments
 * and defangs URLs with: a clean message leaves byte for byte, a stripped
 * part becomes a note (and nothing else moves), a defanged part is encoded
 * again the way it came, the result parses back to the same tree minus
 * what was removed, and malformed input or a failing writer ends cleanly.
 */
#include "proto/mime.h"
#include "proto/mime_rewrite.h"
#include "testing.h"
#include "util/buf.h"

/* --- harness -------------------------------------------------------------- */

struct sink {
    struct buf b;
    int calls, fail_at;    /* write number fail_at (from 1) says false */
};

static bool sink_write(void *ctx, const uint8_t *p, size_t n)
{
    struct sink *s = ctx;
    if (++s->calls == s->fail_at)
        return false;
    return buf_add(&s->b, p, n);
}

#define MAX_LEAVES 320

/* What the decide callback answers and what it was shown. */
struct policy {
    struct sink sink;
    enum mime_action all;                 /* for leaves not in act[] */
    int act[MAX_LEAVES];                  /* 0: all; else action + 1 */
    const char *reason;
    const char *bad;                      /* a URL containing it is bad */
    unsigned n;                           /* leaves shown */
    struct mime_leaf seen[MAX_LEAVES];
    char types[MAX_LEAVES][64], names[MAX_LEAVES][64], ctes[MAX_LEAVES][32];
    char data[MAX_LEAVES][64];            /* the first decoded bytes */
    unsigned urls_asked;
};

static struct mime_decision decide(void *ctx, const struct mime_leaf *l)
{
    struct policy *p = ctx;
    if (p->n < MAX_LEAVES) {
        unsigned i = p->n;
        p->seen[i] = *l;
        snprintf(p->types[i], sizeof(p->types[i]), "%s", l->content_type);
        snprintf(p->names[i], sizeof(p->names[i]), "%s", l->filename);
        snprintf(p->ctes[i], sizeof(p->ctes[i]), "%s", l->cte);
        size_t k = l->len < 63 ? l->len : 63;
        memcpy(p->data[i], l->data, k);
        p->data[i][k] = '\0';
    }
    p->n++;
    struct mime_decision d = { p->all, p->reason };
    if (l->index < MAX_LEAVES && p->act[l->index])
        d.action = (enum mime_action)(p->act[l->index] - 1);
    return d;
}

static bool bad_url(void *ctx, const char *url, size_t len)
{
    struct policy *p = ctx;
    p->urls_asked++;
    CHECK_EQ(strlen(url), len);
    return p->bad && strstr(url, p->bad);
}

static struct mime_rewrite_stats st;
static struct mime_rewrite_result res;

static enum mime_rewrite_status run(struct policy *p, const char *msg, size_t len)
{
    const struct mime_rewrite_ops ops = { sink_write, decide, bad_url, p };
    enum mime_rewrite_status s =
        mime_rewrite((const uint8_t *)msg, len, &ops, &res, &st);
    buf_add(&p->sink.b, "", 1); /* NUL-terminated for strstr; not counted */
    p->sink.b.len--;
    return s;
}

static struct policy *policy_new(enum mime_action all)
{
    struct policy *p = calloc(1, sizeof(*p));
    p->all = all;
    return p;
}

static void policy_free(struct policy *p)
{
    buf_free(&p->sink.b);
    free(p);
}

static bool same(const struct policy *p, const char *want, size_t n)
{
    if (p->sink.b.len == n && !memcmp(p->sink.b.p, want, n))
        return true;
    fprintf(stderr, "  output (%zu bytes):\n%.*s\n  expected (%zu bytes):\n%.*s\n",
            p->sink.b.len, (int)p->sink.b.len, (const char *)p->sink.b.p, n,
            (int)n, want);
    return false;
}
#define SAME(p, lit) same((p), (lit), sizeof(lit) - 1)

static const char *out_text(const struct policy *p)
{
    return (const char *)p->sink.b.p;
}

static struct email_info em_in, em_out;
static struct mime_stats mst;

static void parse(const char *msg, size_t len, struct email_info *em)
{
    mime_parse((const uint8_t *)msg, len, em, NULL, NULL, &mst);
}

static bool has_url(const struct email_info *em, const char *url)
{
    for (unsigned i = 0; i < em->n_urls; i++)
        if (!strcmp(em->urls[i], url))
            return true;
    return false;
}

/* The body of the part whose fields contain marker, decoded as declared. */
static size_t part_body(const char *msg, const char *marker, uint8_t *out,
                        bool b64)
{
    const char *m = strstr(msg, marker);
    if (!m)
        return 0;
    const char *body = strstr(m, "\r\n\r\n");
    if (!body)
        return 0;
    body += 4;
    const char *end = strstr(body, "\r\n--");
    size_t n = end ? (size_t)(end - body) : strlen(body);
    return b64 ? mime_base64_decode((const uint8_t *)body, n, out)
               : mime_qp_decode((const uint8_t *)body, n, out);
}

/* Every line of s at most max bytes, the line break not counted. */
static size_t longest_line(const char *s)
{
    size_t longest = 0;
    while (*s) {
        size_t n = strcspn(s, "\r\n");
        if (n > longest)
            longest = n;
        s += n;
        s += strspn(s, "\r\n") ? (*s == '\r' && s[1] == '\n' ? 2 : 1) : 0;
    }
    return longest;
}

/* --- messages ------------------------------------------------------------- */

static const char nested[] =
    "From: \"Doe, John\" <john@example.com>\r\n"
    "To: a@example.org, \"B\" <b@example.org>\r\n"
    "Subject: =?ISO-8859-1?Q?Caf=E9?= =?UTF-8?B?IOKCrA==?=\r\n"
    " folded\r\n"
    "MIME-Version: 1.0\r\n"
    "Content-Type: multipart/mixed; boundary=\"outer\"\r\n"
    "\r\n"
    "preamble\r\n"
    "--outer\r\n"
    "Content-Type: multipart/alternative; boundary=inner\r\n"
    "\r\n"
    "--inner\r\n"
    "Content-Type: text/plain; charset=us-ascii\r\n"
    "Content-Transfer-Encoding: quoted-printable\r\n"
    "\r\n"
    "Visit http://evil.example/path?a=3D1 now.=\r\n"
    "\r\n"
    "--inner\r\n"
    "Content-Type: text/html\r\n"
    "\r\n"
    "<a href=\"https://x.example/q?a=1&amp;b=2\">x</a>\r\n"
    "--inner--\r\n"
    "--outer\r\n"
    "Content-Type: application/octet-stream; name=\"ignored.bin\"\r\n"
    "Content-Disposition: attachment;\r\n"
    " filename*0*=UTF-8''r%C3%A9sum;\r\n"
    " filename*1=\"e.pdf\"\r\n"
    "Content-Transfer-Encoding: base64\r\n"
    "\r\n"
    "aGVsbG8g\r\n"
    "d29ybGQ=\r\n"
    "--outer\r\n"
    "Content-Type: message/rfc822\r\n"
    "\r\n"
    "Subject: inner mail\r\n"
    "Content-Type: application/zip; name=\"=?UTF-8?Q?a=5Fb.zip?=\"\r\n"
    "\r\n"
    "PK\x03\x04zip\r\n"
    "--outer--\r\n"
    "epilogue\r\n";

static const char *const shapes[] = {
    /* single part, CRLF, with URLs */
    "From: a@example.com\r\nSubject: hi\r\n\r\nsee http://evil.example/x and "
    "https://good.example/\r\n",
    /* bare LF, no MIME at all */
    "From: a@example.com\nSubject: hi\n\nsee http://evil.example/x\n.\n",
    /* multipart/mixed with preamble and epilogue, blanks after a delimiter */
    "Content-Type: multipart/mixed; boundary=b\r\n\r\nThis is a preamble.\r\n"
    "--b  \r\nContent-Type: text/plain\r\n\r\nhttp://evil.example/a\r\n\r\n"
    "--b\r\nContent-Type: application/pdf; name=x.pdf\r\n"
    "Content-Transfer-Encoding: base64\r\n\r\nJVBERi0xLjQK\r\n--b--\r\n"
    "epilogue http://evil.example/epi\r\n",
    /* missing final boundary */
    "Content-Type: multipart/mixed; boundary=\"zz\"\r\n\r\n--zz\r\n"
    "Content-Type: text/plain\r\n\r\nhttp://evil.example/u\r\n--zz\r\n"
    "Content-Type: application/zip\r\n\r\nPK\x03\x04 truncated",
    /* multipart without a boundary parameter */
    "Content-Type: multipart/mixed\r\n\r\n--x\r\nContent-Type: text/plain\r\n"
    "\r\nhttp://evil.example/v\r\n--x--\r\n",
    /* bad base64: stray bytes, data after the padding */
    "Content-Type: text/plain\r\nContent-Transfer-Encoding: base64\r\n\r\n"
    "aHR0cDovL2V2aWwuZXhhbXBsZS93!!\r\nYQ==aGVsbG8=\r\n",
    /* QP with soft breaks, a broken escape and a URL across a break */
    "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: "
    "Quoted-Printable\r\n\r\nline one =C3=A9 http://ev=\r\nil.example/q =ZZ\r\n"
    "trailing =20\r\n",
    /* headers only: no blank line, no final line break */
    "From: a@example.com\r\nSubject: nothing",
    /* folded fields, odd spacing, a close delimiter with junk after it */
    "Subject: a\r\n  folded\r\nContent-Type:   multipart/mixed;\r\n\tboundary"
    "=\"sp ace\"\r\n\r\n--sp ace\r\nContent-Type : text/plain\r\n\r\nx\r\n"
    "--sp ace--junk\r\ntrailing\r\n",
    /* message/rfc822 with a single-part body, LF */
    "Content-Type: message/rfc822\n\nSubject: inner\nContent-Type: text/html\n\n"
    "<a href=\"http://evil.example/in\">in</a>\n",
    /* NUL, 8-bit bytes, bare CR, an empty part */
    "Content-Type: multipart/mixed; boundary=q\r\n\r\n--q\r\n\r\n--q\r\n"
    "Content-Type: text/plain; charset=latin1\r\nContent-Transfer-Encoding: "
    "8bit\r\n\r\ncaf\xe9\r bare CR \x00 NUL http://evil.example/z\r\n--q--",
    /* a delimiter at the very end with no line break */
    "Content-Type: multipart/alternative; boundary=e\r\n\r\n--e\r\n"
    "Content-Type: text/plain\r\n\r\nhttp://evil.example/w\r\n--e",
};

/* A leaf under `levels` nested multiparts: at depth `levels`. */
static size_t deep_message(char *out, size_t cap, int levels)
{
    size_t n = 0;
    for (int i = 0; i < levels; i++)
        n += (size_t)snprintf(out + n, cap - n, "Content-Type: multipart/mixed; "
                              "boundary=b%d\r\n\r\n--b%d\r\n", i, i);
    n += (size_t)snprintf(out + n, cap - n, "Content-Type: application/zip\r\n"
                          "\r\nPK deep\r\n");
    return n;
}

/* A multipart of more parts than MIME_MAX_PARTS. */
static size_t wide_message(char *out, size_t cap, int parts)
{
    size_t n = (size_t)snprintf(out, cap, "Content-Type: multipart/mixed; "
                                "boundary=w\r\n\r\n");
    for (int i = 0; i < parts; i++)
        n += (size_t)snprintf(out + n, cap - n, "--w\r\nContent-Type: "
                              "application/octet-stream; name=f%d.bin\r\n\r\n"
                              "part %d\r\n", i, i);
    n += (size_t)snprintf(out + n, cap - n, "--w--\r\n");
    return n;
}

/* The same message with every CRLF a bare LF. */
static size_t to_lf(const char *in, size_t n, char *out)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i++)
        if (!(in[i] == '\r' && i + 1 < n && in[i + 1] == '\n'))
            out[o++] = in[i];
    return o;
}

/* --- KEEP ----------------------------------------------------------------- */

static void check_identity(const char *msg, size_t len, const char *what)
{
    /* kept outright; defang asked but no URL bad; no decide at all */
    for (int mode = 0; mode < 3; mode++) {
        struct policy *p = policy_new(mode == 1 ? MIME_DEFANG : MIME_KEEP);
        p->bad = NULL;
        const struct mime_rewrite_ops ops = { sink_write, mode == 2 ? NULL : decide,
                                              bad_url, p };
        enum mime_rewrite_status s =
            mime_rewrite((const uint8_t *)msg, len, &ops, &res, &st);
        CHECK_EQ(s, MIME_REWRITE_OK);
        bool ok = p->sink.b.len == len && (!len || !memcmp(p->sink.b.p, msg, len));
        if (!ok)
            fprintf(stderr, "  not identical: %s (mode %d)\n", what, mode);
        CHECK(ok);
        CHECK(!res.changed);
        CHECK_EQ(res.bytes_out, len);
        CHECK_EQ(res.stripped + res.defanged, 0);
        policy_free(p);
    }
}

static void test_keep_copies_every_shape_byte_for_byte(void)
{
    static char big[64 * 1024], lf[64 * 1024];
    for (size_t i = 0; i < sizeof(shapes) / sizeof(shapes[0]); i++) {
        size_t n = strlen(shapes[i]);
        if (i == 10) /* the one with a NUL inside */
            n = strlen(shapes[i]) + 1 + strlen(shapes[i] + strlen(shapes[i]) + 1);
        char what[32];
        snprintf(what, sizeof(what), "shape %zu", i);
        check_identity(shapes[i], n, what);
        size_t m = to_lf(shapes[i], n, lf);
        snprintf(what, sizeof(what), "shape %zu, LF", i);
        check_identity(lf, m, what);
    }
    check_identity(nested, sizeof(nested) - 1, "nested");
    check_identity(lf, to_lf(nested, sizeof(nested) - 1, lf), "nested, LF");
    check_identity("", 0, "empty");
    check_identity(big, deep_message(big, sizeof(big), MIME_MAX_DEPTH + 5), "deep");
    check_identity(big, wide_message(big, sizeof(big), MIME_MAX_PARTS + 40), "wide");
}

/* The decide callback sees each leaf as mime_parse() does, in order. */
static void test_leaves_are_shown_decoded_in_document_order(void)
{
    struct policy *p = policy_new(MIME_KEEP);
    REQUIRE(run(p, nested, sizeof(nested) - 1) == MIME_REWRITE_OK);
    CHECK_EQ(p->n, 4);
    CHECK_EQ(res.leaves, 4);
    CHECK_EQ(res.parts, 7); /* mixed, alternative, 2 texts, pdf, rfc822, zip */
    CHECK_EQ(p->seen[0].index, 0);
    CHECK_EQ(p->seen[0].depth, 2);
    CHECK_STR(p->types[0], "text/plain");
    CHECK_STR(p->ctes[0], "quoted-printable");
    CHECK(p->seen[0].text && !p->seen[0].html && p->seen[0].defangable);
    CHECK(!p->seen[0].attachment);
    CHECK_STR(p->data[0], "Visit http://evil.example/path?a=1 now.");
    CHECK_STR(p->types[1], "text/html");
    CHECK(p->seen[1].html && p->seen[1].text);
    CHECK_EQ(p->seen[2].depth, 1);
    CHECK_STR(p->names[2], "r\xc3\xa9sume.pdf");
    CHECK_STR(p->ctes[2], "base64");
    CHECK_EQ(p->seen[2].encoding, MIME_CTE_BASE64);
    CHECK(p->seen[2].attachment && !p->seen[2].text && !p->seen[2].defangable);
    CHECK_EQ(p->seen[2].len, 11);
    CHECK_STR(p->data[2], "hello world");
    CHECK(!p->seen[2].bad_encoding);
    CHECK_EQ(p->seen[3].index, 3);
    CHECK_EQ(p->seen[3].depth, 2);
    CHECK_STR(p->names[3], "a_b.zip");
    CHECK_STR(p->types[3], "application/zip");
    CHECK_STR(p->ctes[3], "");
    policy_free(p);
}

/* --- STRIP ---------------------------------------------------------------- */

static const char invoice[] =
    "From: a@example.com\r\n"
    "Subject: invoice\r\n"
    "MIME-Version: 1.0\r\n"
    "Content-Type: multipart/mixed; boundary=\"b1\"\r\n"
    "\r\n"
    "--b1\r\n"
    "Content-Type: text/plain\r\n"
    "\r\n"
    "See attached.\r\n"
    "--b1\r\n"
    "Content-Type: application/x-dosexec; name=\"invoice.exe\"\r\n"
    "Content-Disposition: attachment; filename=\"invoice.exe\"\r\n"
    "Content-Transfer-Encoding: base64\r\n"
    "\r\n"
    "TVqQAAMAAAAEAAAA\r\n"
    "--b1--\r\n";

static void test_strip_attachment_in_mixed(void)
{
    struct policy *p = policy_new(MIME_KEEP);
    p->act[1] = MIME_STRIP + 1;
    p->reason = "EICAR-like executable";
    REQUIRE(run(p, invoice, sizeof(invoice) - 1) == MIME_REWRITE_OK);
    CHECK(SAME(p,
        "From: a@example.com\r\n"
        "Subject: invoice\r\n"
        "MIME-Version: 1.0\r\n"
        "Content-Type: multipart/mixed; boundary=\"b1\"\r\n"
        "\r\n"
        "--b1\r\n"
        "Content-Type: text/plain\r\n"
        "\r\n"
        "See attached.\r\n"
        "--b1\r\n"
        "Content-Type: text/plain; charset=utf-8\r\n"
        "Content-Transfer-Encoding: 7bit\r\n"
        "Content-Disposition: inline\r\n"
        "\r\n"
        "nightjar removed the attachment \"invoice.exe\" (application/x-dosexec, "
        "12 bytes, sha256 d930a77b4e5a6df96f8be687f754be90fa6da7939406d214814a8"
        "0393847ce1b): EICAR-like executable\r\n"
        "--b1--\r\n"));
    CHECK(res.changed);
    CHECK_EQ(res.stripped, 1);
    CHECK_EQ(res.bytes_out, p->sink.b.len);
    parse(invoice, sizeof(invoice) - 1, &em_in);
    parse(out_text(p), p->sink.b.len, &em_out);
    CHECK_EQ(em_in.n_attachments, 1);
    CHECK_EQ(em_out.n_attachments, 0);
    CHECK_EQ(em_out.parts, em_in.parts);
    CHECK_STR(em_out.subject, "invoice");
    policy_free(p);
}

static const char alternative_in_mixed[] =
    "Subject: nested\r\n"
    "Content-Type: multipart/mixed; boundary=mix\r\n"
    "\r\n"
    "--mix\r\n"
    "Content-Type: multipart/alternative; boundary=alt\r\n"
    "\r\n"
    "--alt\r\n"
    "Content-Type: text/plain\r\n"
    "\r\n"
    "hello\r\n"
    "--alt\r\n"
    "Content-Type: image/png; name=\"logo.png\"\r\n"
    "Content-ID: <logo>\r\n"
    "Content-Transfer-Encoding: base64\r\n"
    "\r\n"
    "iVBORw0KGgo=\r\n"
    "\r\n"
    "--alt--\r\n"
    "--mix\r\n"
    "Content-Type: application/zip; name=\"keep.zip\"\r\n"
    "\r\n"
    "PK\r\n"
    "--mix--\r\n";

static void test_strip_in_alternative_inside_mixed(void)
{
    struct policy *p = policy_new(MIME_KEEP);
    p->act[1] = MIME_STRIP + 1;
    REQUIRE(run(p, alternative_in_mixed, sizeof(alternative_in_mixed) - 1) ==
            MIME_REWRITE_OK);
    CHECK_EQ(p->seen[1].depth, 2);
    /* the png had a blank line before the delimiter: the note keeps it */
    CHECK(SAME(p,
        "Subject: nested\r\n"
        "Content-Type: multipart/mixed; boundary=mix\r\n"
        "\r\n"
        "--mix\r\n"
        "Content-Type: multipart/alternative; boundary=alt\r\n"
        "\r\n"
        "--alt\r\n"
        "Content-Type: text/plain\r\n"
        "\r\n"
        "hello\r\n"
        "--alt\r\n"
        "Content-Type: text/plain; charset=utf-8\r\n"
        "Content-Transfer-Encoding: 7bit\r\n"
        "Content-Disposition: inline\r\n"
        "\r\n"
        "nightjar removed the attachment \"logo.png\" (image/png, 8 bytes, sha256 "
        "4c4b6a3be1314ab86138bef4314dde022e600960d8689a2c8f8631802d20dab6)\r\n"
        "\r\n"
        "--alt--\r\n"
        "--mix\r\n"
        "Content-Type: application/zip; name=\"keep.zip\"\r\n"
        "\r\n"
        "PK\r\n"
        "--mix--\r\n"));
    parse(out_text(p), p->sink.b.len, &em_out);
    CHECK_EQ(em_out.n_attachments, 1);
    CHECK_STR(em_out.attachments[0], "keep.zip");
    policy_free(p);
}

/* In an attached message, the inner message's own fields stay. */
static void test_strip_body_of_attached_message(void)
{
    struct policy *p = policy_new(MIME_KEEP);
    p->act[3] = MIME_STRIP + 1;
    p->reason = "archive with an executable";
    REQUIRE(run(p, nested, sizeof(nested) - 1) == MIME_REWRITE_OK);
    const char *want =
        "--outer\r\n"
        "Content-Type: message/rfc822\r\n"
        "\r\n"
        "Subject: inner mail\r\n"
        "MIME-Version: 1.0\r\n"
        "Content-Type: text/plain; charset=utf-8\r\n"
        "Content-Transfer-Encoding: 7bit\r\n"
        "Content-Disposition: inline\r\n"
        "\r\n"
        "nightjar removed the attachment \"a_b.zip\" (application/zip, 7 bytes, "
        "sha256 1171d55c61a4107d133a28904611ae09f32c15bc1cfb951caa9388bbc9ae16e9"
        "): archive with an executable\r\n"
        "--outer--\r\n"
        "epilogue\r\n";
    const char *at = strstr(nested, "--outer\r\nContent-Type: message/rfc822");
    REQUIRE(at);
    size_t head = (size_t)(at - nested);
    CHECK_EQ(p->sink.b.len, head + strlen(want));
    CHECK(p->sink.b.len >= head && !memcmp(p->sink.b.p, nested, head));
    CHECK(strstr(out_text(p), want) != NULL);
    parse(nested, sizeof(nested) - 1, &em_in);
    parse(out_text(p), p->sink.b.len, &em_out);
    CHECK_EQ(em_in.n_attachments, 2);
    CHECK_EQ(em_out.n_attachments, 1);
    CHECK_STR(em_out.attachments[0], "r\xc3\xa9sume.pdf");
    CHECK_EQ(em_out.parts, em_in.parts);
    CHECK_EQ(em_out.n_urls, em_in.n_urls);
    policy_free(p);
}

static const char single[] =
    "Received: from mx.example by relay.example; Mon, 2 Nov 2026 10:00:00 +0000\r\n"
    "From: a@example.com\r\n"
    "Subject: payload\r\n"
    "MIME-Version: 1.0\r\n"
    "Content-Type: application/octet-stream;\r\n"
    "  name=\"run.js\"\r\n"
    "Content-Transfer-Encoding: base64\r\n"
    "Content-Disposition: attachment; filename=\"run.js\"\r\n"
    "X-After:   kept as it was\r\n"
    "\r\n"
    "YWxlcnQoMSk7\r\n";

/* The whole body of a single-part message: only the three content fields
 * change, every other field stays where and as it was. */
static void test_strip_whole_body_of_single_part_message(void)
{
    struct policy *p = policy_new(MIME_STRIP);
    p->reason = "script";
    REQUIRE(run(p, single, sizeof(single) - 1) == MIME_REWRITE_OK);
    CHECK(SAME(p,
        "Received: from mx.example by relay.example; Mon, 2 Nov 2026 10:00:00 +0000\r\n"
        "From: a@example.com\r\n"
        "Subject: payload\r\n"
        "MIME-Version: 1.0\r\n"
        "X-After:   kept as it was\r\n"
        "Content-Type: text/plain; charset=utf-8\r\n"
        "Content-Transfer-Encoding: 7bit\r\n"
        "Content-Disposition: inline\r\n"
        "\r\n"
        "nightjar removed the attachment \"run.js\" (application/octet-stream, "
        "9 bytes, sha256 e63170ac02b4515e3ba056d583f8820816f10fc5f5c3e42fa0e51ea"
        "6ee02d980): script\r\n"));
    parse(out_text(p), p->sink.b.len, &em_out);
    CHECK_EQ(em_out.n_attachments, 0);
    CHECK_STR(em_out.content_type, "text/plain; charset=utf-8");
    policy_free(p);

    /* bare LF in, bare LF out; MIME-Version added where it was missing */
    static char lf[1024];
    size_t n = to_lf(single, sizeof(single) - 1, lf);
    char *mv = strstr(lf, "MIME-Version: 1.0\n");
    REQUIRE(mv);
    memmove(mv, mv + 18, n - (size_t)(mv + 18 - lf));
    n -= 18;
    p = policy_new(MIME_STRIP);
    REQUIRE(run(p, lf, n) == MIME_REWRITE_OK);
    CHECK(memchr(p->sink.b.p, '\r', p->sink.b.len) == NULL);
    CHECK(strstr(out_text(p), "X-After:   kept as it was\nMIME-Version: 1.0\n"
                              "Content-Type: text/plain; charset=utf-8\n") != NULL);
    CHECK(strstr(out_text(p), "9 bytes") != NULL);
    policy_free(p);
}

/* A file name is the sender's: a URL in it is defanged in the note, and a
 * line break in it does not break the note's line. */
static void test_strip_note_is_one_line_without_live_urls(void)
{
    static const char msg[] =
        "Content-Type: multipart/mixed; boundary=n\r\n\r\n"
        "--n\r\n"
        "Content-Type: application/octet-stream\r\n"
        "Content-Disposition: attachment; filename*=UTF-8''http%3A%2F%2Fevil.example"
        "%2Fa.exe%0D%0A--n\r\n"
        "\r\n"
        "MZ\r\n"
        "--n--\r\n";
    struct policy *p = policy_new(MIME_STRIP);
    p->reason = "see https://good.example/why\r\nnow";
    REQUIRE(run(p, msg, sizeof(msg) - 1) == MIME_REWRITE_OK);
    CHECK(strstr(out_text(p), "\"hxxp://evil[.]example/a.exe?\?--n\" "
                              "(application/octet-stream, 2 bytes") != NULL);
    CHECK(strstr(out_text(p), "): see hxxps://good[.]example/why?\?now\r\n--n--") != NULL);
    parse(out_text(p), p->sink.b.len, &em_out);
    CHECK_EQ(em_out.n_urls, 0);
    CHECK_EQ(em_out.n_attachments, 0);
    CHECK_EQ(em_out.parts, 2);
    policy_free(p);
}

/* --- DEFANG --------------------------------------------------------------- */

static void test_defang_7bit_text_in_place(void)
{
    static const char msg[] =
        "Subject: links\r\n"
        "Content-Type: text/plain\r\n"
        "\r\n"
        "Log in at HTTP://login.evil.example:8080/a.php?x=1. Docs: "
        "https://good.example/d.html\r\n"
        "(also https://www.evil.example) or http://evil.example.\r\n";
    struct policy *p = policy_new(MIME_DEFANG);
    p->bad = "evil.example";
    REQUIRE(run(p, msg, sizeof(msg) - 1) == MIME_REWRITE_OK);
    CHECK(SAME(p,
        "Subject: links\r\n"
        "Content-Type: text/plain\r\n"
        "\r\n"
        "Log in at HXXP://login[.]evil[.]example:8080/a.php?x=1. Docs: "
        "https://good.example/d.html\r\n"
        "(also hxxps://www[.]evil[.]example) or hxxp://evil[.]example.\r\n"));
    CHECK_EQ(p->urls_asked, 4);
    CHECK_EQ(res.defanged, 1);
    CHECK_EQ(res.urls_defanged, 3);
    parse(out_text(p), p->sink.b.len, &em_out);
    CHECK_EQ(em_out.n_urls, 1);
    CHECK(has_url(&em_out, "https://good.example/d.html"));
    policy_free(p);
}

static void test_defang_quoted_printable_text(void)
{
    struct policy *p = policy_new(MIME_KEEP);
    p->act[0] = MIME_DEFANG + 1;
    p->bad = "evil.example";
    REQUIRE(run(p, nested, sizeof(nested) - 1) == MIME_REWRITE_OK);
    /* "=3D" stays, the soft break at the end goes (it decoded to nothing) */
    CHECK(strstr(out_text(p),
        "Content-Transfer-Encoding: quoted-printable\r\n"
        "\r\n"
        "Visit hxxp://evil[.]example/path?a=3D1 now.\r\n"
        "--inner\r\n") != NULL);
    CHECK_EQ(p->sink.b.len, sizeof(nested) - 1 + 2 - 3);
    parse(out_text(p), p->sink.b.len, &em_out);
    CHECK(!has_url(&em_out, "http://evil.example/path?a=1"));
    CHECK(has_url(&em_out, "https://x.example/q?a=1&b=2"));
    CHECK_EQ(em_out.n_attachments, 2);
    policy_free(p);

    /* a long line: soft breaks at most 76 wide, decoding to the text */
    static const char longqp[] =
        "Content-Type: multipart/mixed; boundary=L\r\n\r\n--L\r\n"
        "Content-Type: text/plain; charset=utf-8\r\n"
        "Content-Transfer-Encoding: quoted-printable\r\n\r\n"
        "Bonjour, r=C3=A9glez =C3=A0 http://pay.evil.example/invoice?id=3D42&ref=\r\n"
        "=3Dxyz avant lundi ; sinon http://evil.example/ est l=C3=A0.  Tabs\t\r\n"
        "--L\r\nContent-Type: text/plain\r\n\r\n--L in text\r\n--L--\r\n";
    p = policy_new(MIME_DEFANG);
    p->bad = "evil.example";
    REQUIRE(run(p, longqp, sizeof(longqp) - 1) == MIME_REWRITE_OK);
    CHECK_EQ(res.urls_defanged, 2);
    CHECK(longest_line(out_text(p)) <= 76);
    uint8_t dec[512];
    size_t n = part_body(out_text(p), "quoted-printable", dec, false);
    static const char want[] =
        "Bonjour, r\xc3\xa9glez \xc3\xa0 hxxp://pay[.]evil[.]example/invoice?id=42&ref"
        "=xyz avant lundi ; sinon hxxp://evil[.]example/ est l\xc3\xa0.  Tabs\t";
    CHECK_EQ(n, sizeof(want) - 1);
    CHECK(n == sizeof(want) - 1 && !memcmp(dec, want, n));
    CHECK(strstr(out_text(p), "Tabs=09\r\n--L\r\n") != NULL); /* blank at the end */
    parse(out_text(p), p->sink.b.len, &em_out);
    CHECK_EQ(em_out.n_urls, 0);
    CHECK_EQ(em_out.parts, 3);
    policy_free(p);

    /* a soft break lands before "--L" (mid-line in the text): the new line
     * must not read as a delimiter, so its '-' is encoded */
    static char dash[1024];
    int k = snprintf(dash, sizeof(dash),
        "Content-Type: multipart/mixed; boundary=L\r\n\r\n--L\r\n"
        "Content-Transfer-Encoding: quoted-printable\r\n\r\n"
        "http://evil.example/ %.*s--L and more\r\n=2E\r\n--L\r\n\r\nx\r\n--L--\r\n",
        52, "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
    p = policy_new(MIME_DEFANG);
    p->bad = "evil.example";
    REQUIRE(run(p, dash, (size_t)k) == MIME_REWRITE_OK);
    CHECK(strstr(out_text(p), "=\r\n=2D-L and more\r\n=2E\r\n--L\r\n") != NULL);
    parse(out_text(p), p->sink.b.len, &em_out);
    CHECK_EQ(em_out.parts, 3);
    policy_free(p);
}

static const char html_b64[] =
    "Subject: pay\r\n"
    "MIME-Version: 1.0\r\n"
    "Content-Type: multipart/alternative; boundary=\"h\"\r\n"
    "\r\n"
    "--h\r\n"
    "Content-Type: text/html; charset=utf-8\r\n"
    "Content-Transfer-Encoding: base64\r\n"
    "\r\n"
    "PGh0bWw+PGJvZHk+PHA+UGF5IGF0IDxhIGhyZWY9Imh0dHA6Ly9ldmlsLmV4YW1wbGUvcGF5Ij5o\r\n"
    "dHRwOi8vZXZpbC5leGFtcGxlL3BheTwvYT4gb3IgcmVhZCA8YSBocmVmPSJodHRwczovL2RvY3Mu\r\n"
    "Z29vZC5leGFtcGxlL2ZhcSI+dGhlIEZBUTwvYT4uPC9wPjwvYm9keT48L2h0bWw+DQo=\r\n"
    "--h--\r\n";

static void test_defang_base64_html_href(void)
{
    struct policy *p = policy_new(MIME_DEFANG);
    p->bad = "evil.example";
    REQUIRE(run(p, html_b64, sizeof(html_b64) - 1) == MIME_REWRITE_OK);
    CHECK(SAME(p,
        "Subject: pay\r\n"
        "MIME-Version: 1.0\r\n"
        "Content-Type: multipart/alternative; boundary=\"h\"\r\n"
        "\r\n"
        "--h\r\n"
        "Content-Type: text/html; charset=utf-8\r\n"
        "Content-Transfer-Encoding: base64\r\n"
        "\r\n"
        "PGh0bWw+PGJvZHk+PHA+UGF5IGF0IDxhIGhyZWY9Imh4eHA6Ly9ldmlsWy5dZXhhbXBsZS9wYXki\r\n"
        "Pmh4eHA6Ly9ldmlsWy5dZXhhbXBsZS9wYXk8L2E+IG9yIHJlYWQgPGEgaHJlZj0iaHR0cHM6Ly9k\r\n"
        "b2NzLmdvb2QuZXhhbXBsZS9mYXEiPnRoZSBGQVE8L2E+LjwvcD48L2JvZHk+PC9odG1sPg0K\r\n"
        "--h--\r\n"));
    CHECK_EQ(res.urls_defanged, 2);
    uint8_t dec[512];
    size_t n = part_body(out_text(p), "base64", dec, true);
    REQUIRE(n > 0 && n < sizeof(dec));
    dec[n] = '\0';
    CHECK(strstr((char *)dec, "<a href=\"hxxp://evil[.]example/pay\">hxxp://evil[.]"
                              "example/pay</a>") != NULL);
    parse(out_text(p), p->sink.b.len, &em_out);
    CHECK_EQ(em_out.n_urls, 1);
    CHECK_STR(em_out.urls[0], "https://docs.good.example/faq");
    policy_free(p);
}

/* A 7bit line that would pass 998 bytes: quoted-printable instead, and the
 * Content-Transfer-Encoding field says so (replaced, or added). */
static void test_long_7bit_line_turns_quoted_printable(void)
{
    static char msg[4096], text[2048];
    size_t t = 0;
    t += (size_t)snprintf(text + t, sizeof(text) - t, "start ");
    while (t < 950)
        t += (size_t)snprintf(text + t, sizeof(text) - t, "x");
    t += (size_t)snprintf(text + t, sizeof(text) - t,
                          " http://a.b.c.d.e.f.g.h.evil.example/p end");
    CHECK(t <= 998); /* the line is legal as it came */
    for (int with_field = 0; with_field < 2; with_field++) {
        size_t n = (size_t)snprintf(msg, sizeof(msg),
            "Subject: long\r\n"
            "Content-Type: multipart/mixed; boundary=z\r\n\r\n"
            "--z\r\n"
            "Content-Type: text/plain; charset=us-ascii\r\n"
            "%s"
            "X-Keep: me\r\n"
            "\r\n"
            "%s\r\n"
            "second line\r\n"
            "--z--\r\n",
            with_field ? "Content-Transfer-Encoding: 7bit\r\n" : "", text);
        struct policy *p = policy_new(MIME_DEFANG);
        p->bad = "evil.example";
        REQUIRE(run(p, msg, n) == MIME_REWRITE_OK);
        CHECK(strstr(out_text(p),
            "--z\r\n"
            "Content-Type: text/plain; charset=us-ascii\r\n"
            "X-Keep: me\r\n"
            "Content-Transfer-Encoding: quoted-printable\r\n"
            "\r\n") != NULL);
        CHECK(strstr(out_text(p), "7bit") == NULL);
        CHECK(longest_line(out_text(p)) <= 76);
        uint8_t dec[2048];
        size_t d = part_body(out_text(p), "quoted-printable", dec, false);
        char want[2048];
        int w = snprintf(want, sizeof(want), "%.*s hxxp://a[.]b[.]c[.]d[.]e[.]f"
                         "[.]g[.]h[.]evil[.]example/p end\r\nsecond line",
                         (int)(t - strlen(" http://a.b.c.d.e.f.g.h.evil.example/p end")),
                         text);
        CHECK_EQ(d, w);
        CHECK(d == (size_t)w && !memcmp(dec, want, d));
        parse(out_text(p), p->sink.b.len, &em_out);
        CHECK_EQ(em_out.n_urls, 0);
        CHECK_EQ(em_out.parts, 2);
        policy_free(p);
    }
}

/* A redirect's target inside a bad URL, or a URL inside a bad URL's host,
 * is judged too: it would be found once the outer one is defanged. */
static void test_defang_urls_inside_urls(void)
{
    static const char msg[] =
        "Content-Type: text/plain\n\n"
        "go http://t.co.example/r?u=http://evil.example/x.\n"
        "or http://a.http://evil.example/y\n"
        "but https://good.example/?next=http://evil.example/z stays\n";
    struct policy *p = policy_new(MIME_DEFANG);
    p->bad = "t.co.example";
    /* bad: the redirector (and what it hides is asked about) */
    REQUIRE(run(p, msg, sizeof(msg) - 1) == MIME_REWRITE_OK);
    CHECK(strstr(out_text(p), "go hxxp://t[.]co[.]example/r?u=http://evil.example/x.\n")
          != NULL);
    CHECK_EQ(p->urls_asked, 4);
    policy_free(p);

    p = policy_new(MIME_DEFANG);
    p->bad = "evil.example";
    REQUIRE(run(p, msg, sizeof(msg) - 1) == MIME_REWRITE_OK);
    CHECK(SAME(p,
        "Content-Type: text/plain\n\n"
        "go hxxp://t[.]co[.]example/r?u=hxxp://evil[.]example/x.\n"
        "or hxxp://a[.]hxxp://evil[.]example/y\n"
        "but hxxps://good[.]example/?next=hxxp://evil[.]example/z stays\n"));
    parse(out_text(p), p->sink.b.len, &em_out);
    CHECK_EQ(em_out.n_urls, 0);
    policy_free(p);
}

/* --- everything at once, read back ------------------------------------------ */

static void test_rewritten_message_parses_back_minus_what_was_removed(void)
{
    struct policy *p = policy_new(MIME_DEFANG);
    p->act[2] = MIME_STRIP + 1;                  /* the pdf */
    p->bad = "evil.example";
    REQUIRE(run(p, nested, sizeof(nested) - 1) == MIME_REWRITE_OK);
    CHECK_EQ(res.stripped, 1);
    CHECK_EQ(res.defanged, 1);
    struct mime_stats before = mst;
    parse(nested, sizeof(nested) - 1, &em_in);
    parse(out_text(p), p->sink.b.len, &em_out);
    CHECK_EQ(em_out.parts, em_in.parts);
    CHECK_EQ(mst.parts - before.parts, 2 * em_in.parts);
    CHECK_STR(em_out.subject, em_in.subject);
    CHECK_STR(em_out.from, em_in.from);
    CHECK_EQ(em_out.n_to, em_in.n_to);
    CHECK_EQ(em_in.n_attachments, 2);
    CHECK_EQ(em_out.n_attachments, 1);
    CHECK_STR(em_out.attachments[0], "a_b.zip");
    CHECK(has_url(&em_in, "http://evil.example/path?a=1"));
    CHECK(!has_url(&em_out, "http://evil.example/path?a=1"));
    CHECK(has_url(&em_out, "https://x.example/q?a=1&b=2"));
    CHECK_EQ(em_out.n_urls, 1);
    /* the delimiters, preamble and epilogue are where they were */
    CHECK(strstr(out_text(p), "\r\n\r\npreamble\r\n--outer\r\n") != NULL);
    CHECK(strstr(out_text(p), "\r\n--outer--\r\nepilogue\r\n") != NULL);
    policy_free(p);
}

/* --- malformed input, caps, failures --------------------------------------- */

static void test_malformed_input_copies_through(void)
{
    /* unterminated multipart: the last part runs to the end; stripped, the
     * note ends the message */
    struct policy *p = policy_new(MIME_STRIP);
    REQUIRE(run(p, shapes[3], strlen(shapes[3])) == MIME_REWRITE_OK);
    CHECK_EQ(res.stripped, 2);
    CHECK(strstr(out_text(p), "(application/zip, 14 bytes, sha256 ") != NULL);
    parse(out_text(p), p->sink.b.len, &em_out);
    CHECK_EQ(em_out.parts, 3);
    CHECK_EQ(em_out.n_attachments, 0);
    policy_free(p);

    /* a multipart without a boundary is one leaf, as mime_parse() has it */
    p = policy_new(MIME_KEEP);
    REQUIRE(run(p, shapes[4], strlen(shapes[4])) == MIME_REWRITE_OK);
    CHECK_EQ(p->n, 1);
    CHECK_STR(p->types[0], "multipart/mixed");
    CHECK(p->seen[0].attachment);
    policy_free(p);

    /* bad base64: said so, counted, and what decodes is what is judged */
    p = policy_new(MIME_KEEP);
    uint64_t before = st.bad_encoding;
    REQUIRE(run(p, shapes[5], strlen(shapes[5])) == MIME_REWRITE_OK);
    CHECK(p->seen[0].bad_encoding);
    CHECK_EQ(res.bad_encoding, 1);
    CHECK_EQ(st.bad_encoding, before + 1);
    CHECK(same(p, shapes[5], strlen(shapes[5])));
    policy_free(p);
    static const char lone[] = "Content-Transfer-Encoding: base64\r\n\r\n"
                               "aGVsbG8gd29y\r\nbGQhY\r\n";
    p = policy_new(MIME_KEEP);
    REQUIRE(run(p, lone, sizeof(lone) - 1) == MIME_REWRITE_OK);
    CHECK(p->seen[0].bad_encoding); /* a digit alone at the end */
    CHECK_STR(p->data[0], "hello world!");
    policy_free(p);
    p = policy_new(MIME_DEFANG);
    p->bad = "evil.example";
    REQUIRE(run(p, shapes[5], strlen(shapes[5])) == MIME_REWRITE_OK);
    CHECK(strstr(out_text(p), "\r\n\r\naHh4cDovL2V2aWxbLl1leGFtcGxlL3dh\r\n") != NULL);
    policy_free(p);

    /* an empty part: its delimiter follows at once, and must still start a
     * line after the note (found by fuzz_mime_rewrite) */
    static const char empty[] =
        "Content-Type: multipart/mixed; boundary=e\r\n\r\n--e\r\n--e\r\n"
        "Content-Type: text/plain\r\n\r\nhttp://evil.example/\r\n--e--\r\n";
    p = policy_new(MIME_KEEP);
    p->act[0] = MIME_STRIP + 1;
    REQUIRE(run(p, empty, sizeof(empty) - 1) == MIME_REWRITE_OK);
    CHECK(strstr(out_text(p), "b855)\r\n--e\r\nContent-Type: text/plain\r\n") != NULL);
    parse(empty, sizeof(empty) - 1, &em_in);
    parse(out_text(p), p->sink.b.len, &em_out);
    CHECK_EQ(em_out.parts, em_in.parts);
    CHECK_EQ(em_out.n_urls, 1);
    policy_free(p);

    /* an attached message whose header block never ends: the message in
     * it is empty, and its note must not land among those fields (found by
     * fuzz_mime_rewrite) */
    static const char unclosed[] =
        "Content-Type: multipart/mixed; boundary=u\r\n\r\n--u\r\n"
        "Content-Type: message/rfc822\r\nX-No-Blank: line\r\n--u--\r\n";
    p = policy_new(MIME_STRIP);
    REQUIRE(run(p, unclosed, sizeof(unclosed) - 1) == MIME_REWRITE_OK);
    CHECK_EQ(res.stripped, 1);
    CHECK(strstr(out_text(p), "X-No-Blank: line\r\n\r\nMIME-Version: 1.0\r\n"
                              "Content-Type: text/plain; charset=utf-8\r\n") != NULL);
    parse(unclosed, sizeof(unclosed) - 1, &em_in);
    parse(out_text(p), p->sink.b.len, &em_out);
    CHECK_EQ(em_in.parts, 3);
    CHECK_EQ(em_out.parts, 3);
    policy_free(p);

    /* every shape, every action: no crash, a result that parses */
    static char lf[4096];
    for (size_t i = 0; i < sizeof(shapes) / sizeof(shapes[0]); i++)
        for (int a = MIME_STRIP; a <= MIME_DEFANG; a++) {
            size_t n = i == 10 ? strlen(shapes[i]) + 1 + strlen(shapes[i] + strlen(shapes[i]) + 1)
                               : strlen(shapes[i]);
            for (int lfmode = 0; lfmode < 2; lfmode++) {
                const char *m = shapes[i];
                if (lfmode) {
                    n = to_lf(shapes[i], n, lf);
                    m = lf;
                }
                p = policy_new((enum mime_action)a);
                p->bad = "evil";
                CHECK_EQ(run(p, m, n), MIME_REWRITE_OK);
                parse(m, n, &em_in);
                parse(out_text(p), p->sink.b.len, &em_out);
                CHECK_EQ(em_out.parts, em_in.parts);
                for (unsigned u = 0; u < em_out.n_urls; u++)
                    CHECK(!strstr(em_out.urls[u], "evil"));
                if (lfmode)
                    CHECK(memmem(p->sink.b.p, p->sink.b.len, "\r\n", 2) == NULL ||
                          memmem(m, n, "\r\n", 2) != NULL);
                policy_free(p);
            }
        }
}

static void test_past_the_caps_the_rest_is_copied_and_counted(void)
{
    static char big[64 * 1024];
    /* the deepest leaf mime_parse() reads is the deepest one asked about */
    size_t n = deep_message(big, sizeof(big), MIME_MAX_DEPTH);
    struct policy *p = policy_new(MIME_STRIP);
    REQUIRE(run(p, big, n) == MIME_REWRITE_OK);
    CHECK(!res.depth_over_cap);
    CHECK_EQ(p->n, 1);
    CHECK_EQ(p->seen[0].depth, MIME_MAX_DEPTH);
    CHECK_EQ(res.stripped, 1);
    parse(big, n, &em_in);
    CHECK_EQ(em_in.n_attachments, 1);
    policy_free(p);
    n = deep_message(big, sizeof(big), MIME_MAX_DEPTH + 1);
    p = policy_new(MIME_STRIP);
    uint64_t before = st.depth_over_cap;
    REQUIRE(run(p, big, n) == MIME_REWRITE_OK);
    CHECK(res.depth_over_cap);
    CHECK_EQ(st.depth_over_cap, before + 1);
    CHECK_EQ(p->n, 0);
    CHECK(same(p, big, n));
    parse(big, n, &em_in);
    CHECK_EQ(em_in.n_attachments, 0);
    policy_free(p);

    n = wide_message(big, sizeof(big), MIME_MAX_PARTS + 40);
    p = policy_new(MIME_STRIP);
    before = st.parts_over_cap;
    REQUIRE(run(p, big, n) == MIME_REWRITE_OK);
    CHECK(res.parts_over_cap);
    CHECK_EQ(st.parts_over_cap, before + 1);
    CHECK_EQ(res.parts, MIME_MAX_PARTS);
    CHECK_EQ(res.stripped, MIME_MAX_PARTS - 1);
    /* the last part asked about is stripped, the first past the cap is not */
    char last[64], next[64];
    snprintf(last, sizeof(last), "\"f%d.bin\"", MIME_MAX_PARTS - 2);
    snprintf(next, sizeof(next), "name=f%d.bin\r\n\r\npart %d\r\n",
             MIME_MAX_PARTS - 1, MIME_MAX_PARTS - 1);
    CHECK(strstr(out_text(p), last) != NULL);
    CHECK(strstr(out_text(p), next) != NULL);
    const char *tail = strstr(big, next);
    REQUIRE(tail);
    size_t tl = n - (size_t)(tail - big);
    CHECK(p->sink.b.len > tl &&
          !memcmp(p->sink.b.p + p->sink.b.len - tl, tail, tl));
    policy_free(p);
}

/* The writer failing at any call ends the rewrite with that status, and
 * nothing leaks (the ASan build checks). */
static void test_failing_writer_fails_cleanly(void)
{
    static char big[256 * 1024];
    size_t n = (size_t)snprintf(big, sizeof(big),
        "Content-Type: multipart/mixed; boundary=f\r\n\r\n--f\r\n"
        "Content-Type: text/plain\r\nContent-Transfer-Encoding: quoted-printable"
        "\r\n\r\n");
    while (n < 100 * 1024)
        n += (size_t)snprintf(big + n, sizeof(big) - n,
                              "see http://evil.example/%zu =3D ok\r\n", n);
    n += (size_t)snprintf(big + n, sizeof(big) - n,
        "--f\r\nContent-Type: application/zip\r\n\r\nPK\r\n--f--\r\n");
    struct policy *p = policy_new(MIME_DEFANG);
    p->act[1] = MIME_STRIP + 1;
    p->bad = "evil";
    REQUIRE(run(p, big, n) == MIME_REWRITE_OK);
    int calls = p->sink.calls;
    CHECK(calls > 5);
    policy_free(p);
    uint64_t before = st.write_failed;
    for (int k = 1; k <= calls; k++) {
        p = policy_new(MIME_DEFANG);
        p->act[1] = MIME_STRIP + 1;
        p->bad = "evil";
        p->sink.fail_at = k;
        CHECK_EQ(run(p, big, n), MIME_REWRITE_WRITE_FAILED);
        CHECK_EQ(p->sink.calls, k); /* nothing written after the failure */
        CHECK_EQ(res.bytes_out, p->sink.b.len); /* what was accepted */
        policy_free(p);
    }
    CHECK_EQ(st.write_failed, before + (uint64_t)calls);
    /* a small message: its one write fails */
    p = policy_new(MIME_KEEP);
    p->sink.fail_at = 1;
    CHECK_EQ(run(p, invoice, sizeof(invoice) - 1), MIME_REWRITE_WRITE_FAILED);
    CHECK_EQ(res.bytes_out, 0);
    CHECK_STR(mime_rewrite_status_name(MIME_REWRITE_WRITE_FAILED), "write failed");
    policy_free(p);
}

static void test_stats_add_up_over_messages(void)
{
    struct mime_rewrite_stats zero = { 0 };
    st = zero;
    struct policy *p = policy_new(MIME_KEEP);
    p->act[1] = MIME_STRIP + 1;
    run(p, invoice, sizeof(invoice) - 1);
    policy_free(p);
    p = policy_new(MIME_DEFANG);
    p->bad = "evil.example";
    run(p, html_b64, sizeof(html_b64) - 1);
    policy_free(p);
    CHECK_EQ(st.messages, 2);
    CHECK_EQ(st.parts, 3 + 2);
    CHECK_EQ(st.stripped, 1);
    CHECK_EQ(st.defanged, 1);
    CHECK_EQ(st.urls_defanged, 2);
    CHECK_EQ(st.write_failed + st.no_memory + st.bad_encoding, 0);
}

TEST_LIST(test_keep_copies_every_shape_byte_for_byte,
          test_leaves_are_shown_decoded_in_document_order,
          test_strip_attachment_in_mixed,
          test_strip_in_alternative_inside_mixed,
          test_strip_body_of_attached_message,
          test_strip_whole_body_of_single_part_message,
          test_strip_note_is_one_line_without_live_urls,
          test_defang_7bit_text_in_place,
          test_defang_quoted_printable_text,
          test_defang_base64_html_href,
          test_long_7bit_line_turns_quoted_printable,
          test_defang_urls_inside_urls,
          test_rewritten_message_parses_back_minus_what_was_removed,
          test_malformed_input_copies_through,
          test_past_the_caps_the_rest_is_copied_and_counted,
          test_failing_writer_fails_cleanly,
          test_stats_add_up_over_messages)
