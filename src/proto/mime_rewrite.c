/* mime_rewrite.c -- a message rewritten part by part (see mime_rewrite.h).
 *
 * The output is the input with some ranges replaced. The walk keeps
 * `copied`, how far the input has gone out; a part that changes first
 * writes the input up to its start, then its new bytes, then moves
 * `copied` past its end. Whatever is never replaced -- delimiters,
 * preamble, epilogue, malformed bytes, everything past a cap -- thus
 * leaves exactly as it came without ever being re-assembled from parsed
 * pieces, which is what makes a clean message come out byte-identical.
 * The cheaper-looking alternative, regenerating each part from what was
 * parsed, loses folding, odd spacing and every malformed byte.
 *
 * A defanged part is written in two passes over its decoded content: the
 * first asks bad_url about each URL and keeps where the bad ones are (and,
 * for 7bit/8bit, measures the longest line the rewrite would make, since
 * the Content-Transfer-Encoding field comes before the body); the second
 * streams the content, rewritten on the fly, through an encoder into the
 * output buffer. The rewritten content is never held whole.
 */
#include "proto/mime_rewrite.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/digest.h"
#include "util/text.h"

#define OUT_BUF 8192
#define LINE_MAX_7BIT 998  /* RFC 5322 2.1.1, the line break not counted */
#define QP_LINE 76         /* RFC 2045 6.7, a soft break's '=' included */
#define B64_LINE 76
#define TRAILING_PUNCT ".,;:!?)]" /* off a URL's end, as mime.c does */

/* --- output: buffered, through the caller's write ----------------------- */

struct out {
    bool (*write)(void *ctx, const uint8_t *p, size_t n);
    void *ctx;
    bool failed;         /* write said false: nothing more goes out */
    uint8_t last;        /* the last byte written; '\n' before any */
    size_t n;
    uint64_t bytes;      /* handed to write and accepted */
    uint8_t buf[OUT_BUF];
};

static void out_send(struct out *o, const uint8_t *p, size_t n)
{
    if (o->failed || !n)
        return;
    if (!o->write(o->ctx, p, n))
        o->failed = true;
    else
        o->bytes += n;
}

static void out_flush(struct out *o)
{
    out_send(o, o->buf, o->n);
    o->n = 0;
}

static void out_put(struct out *o, const void *p, size_t n)
{
    if (o->failed || !n)
        return;
    o->last = ((const uint8_t *)p)[n - 1];
    if (o->n + n > sizeof(o->buf))
        out_flush(o);
    if (n >= sizeof(o->buf)) { /* a long run of the input goes as it is */
        out_send(o, p, n);
        return;
    }
    memcpy(o->buf + o->n, p, n);
    o->n += n;
}

static void out_str(struct out *o, const char *s)
{
    out_put(o, s, strlen(s));
}

static void out_eol(struct out *o, bool crlf)
{
    out_put(o, crlf ? "\r\n" : "\n", crlf ? 2 : 1);
}

/* A header field of ours: "Name: value" and the line break. */
static void out_field(struct out *o, bool crlf, const char *field)
{
    out_str(o, field);
    out_eol(o, crlf);
}

/* --- encoders: the rewritten content on its way out ---------------------- */

enum enc_kind { ENC_COPY, ENC_QP, ENC_B64, ENC_MEASURE };

struct enc {
    struct out *o;
    enum enc_kind kind;
    bool crlf;           /* the line break written (QP, base64) */
    size_t col;          /* bytes on the line so far */
    size_t longest;      /* ENC_MEASURE: the longest line, break excluded */
    uint8_t prev;        /* ENC_MEASURE: the byte before */
    int ws;              /* QP: a blank held until we know whether the line
                            ends after it (then it is encoded); -1 none */
    bool cr;             /* QP, CRLF: a CR held until we know whether an LF
                            follows (a line break) or not (=0D) */
    uint8_t grp[3];      /* base64: the group in progress */
    unsigned ng;
};

static const char hex_upper[] = "0123456789ABCDEF";
static const char b64_digits[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static void enc_init(struct enc *e, struct out *o, enum enc_kind kind, bool crlf)
{
    memset(e, 0, sizeof(*e));
    e->o = o;
    e->kind = kind;
    e->crlf = crlf;
    e->ws = -1;
}

static void measure(struct enc *e, const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (p[i] == '\n') {
            size_t l = e->col - (e->col && e->prev == '\r');
            if (l > e->longest)
                e->longest = l;
            e->col = 0;
        } else {
            e->col++;
        }
        e->prev = p[i];
    }
}

static void qp_line_break(struct enc *e)
{
    out_eol(e->o, e->crlf);
    e->col = 0;
}

/* One byte, literal or as =XX, after a soft break if the line is full. A
 * line never starts with a literal '-' (a line of ours must never read as
 * a delimiter, whatever the boundary) or '.' (SMTP's end of data). */
static void qp_token(struct enc *e, uint8_t c, bool literal)
{
    if (e->col + (literal ? 1 : 3) > QP_LINE - 1) {
        out_put(e->o, "=", 1);
        qp_line_break(e);
    }
    if (e->col == 0 && (c == '-' || c == '.'))
        literal = false;
    if (literal) {
        out_put(e->o, &c, 1);
        e->col += 1;
    } else {
        char q[3] = { '=', hex_upper[c >> 4], hex_upper[c & 15] };
        out_put(e->o, q, 3);
        e->col += 3;
    }
}

static void qp_held_blank(struct enc *e, bool line_ends)
{
    if (e->ws < 0)
        return;
    uint8_t c = (uint8_t)e->ws;
    e->ws = -1;
    qp_token(e, c, !line_ends); /* a blank ending a line is encoded */
}

static void qp_byte(struct enc *e, uint8_t c)
{
    if (e->cr) {
        e->cr = false;
        if (c == '\n') {
            qp_held_blank(e, true);
            qp_line_break(e);
            return;
        }
        qp_held_blank(e, false);
        qp_token(e, '\r', false);
    }
    if (c == '\r' && e->crlf) {
        e->cr = true;
    } else if (c == '\n' && !e->crlf) {
        qp_held_blank(e, true);
        qp_line_break(e);
    } else if (c == ' ' || c == '\t') {
        qp_held_blank(e, false);
        e->ws = c;
    } else {
        qp_held_blank(e, false);
        qp_token(e, c, c >= 33 && c <= 126 && c != '=');
    }
}

static void b64_group(struct enc *e)
{
    if (!e->ng)
        return;
    if (e->col + 4 > B64_LINE) {
        out_eol(e->o, e->crlf);
        e->col = 0;
    }
    uint32_t v = (uint32_t)e->grp[0] << 16;
    if (e->ng > 1)
        v |= (uint32_t)e->grp[1] << 8;
    if (e->ng > 2)
        v |= e->grp[2];
    char q[4] = { b64_digits[v >> 18], b64_digits[(v >> 12) & 63],
                  e->ng > 1 ? b64_digits[(v >> 6) & 63] : '=',
                  e->ng > 2 ? b64_digits[v & 63] : '=' };
    out_put(e->o, q, 4);
    e->col += 4;
    e->ng = 0;
}

static void enc_put(struct enc *e, const void *data, size_t n)
{
    const uint8_t *p = data;
    switch (e->kind) {
    case ENC_COPY:
        out_put(e->o, p, n);
        break;
    case ENC_MEASURE:
        measure(e, p, n);
        break;
    case ENC_QP:
        for (size_t i = 0; i < n; i++)
            qp_byte(e, p[i]);
        break;
    case ENC_B64:
        for (size_t i = 0; i < n; i++) {
            e->grp[e->ng++] = p[i];
            if (e->ng == 3)
                b64_group(e);
        }
        break;
    }
}

static void enc_end(struct enc *e)
{
    if (e->kind == ENC_MEASURE) {
        if (e->col > e->longest)
            e->longest = e->col;
    } else if (e->kind == ENC_QP) {
        if (e->cr) {
            e->cr = false;
            qp_held_blank(e, false);
            qp_token(e, '\r', false);
        } else {
            qp_held_blank(e, true);
        }
    } else if (e->kind == ENC_B64) {
        b64_group(e);
    }
}

/* --- transfer encodings that do not decode cleanly ------------------------ */

static bool b64_digit(uint8_t c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
           (c >= '0' && c <= '9') || c == '+' || c == '/';
}

/* Bytes outside the alphabet, digits after the padding (mime.c stops at
 * the first '='), or a lone digit at the end lose data. */
static bool b64_clean(const uint8_t *b, size_t n)
{
    size_t digits = 0;
    bool padded = false;
    for (size_t i = 0; i < n; i++) {
        uint8_t c = b[i];
        if (c == '\r' || c == '\n' || c == ' ' || c == '\t')
            continue;
        if (c == '=') {
            padded = true;
        } else if (!b64_digit(c) || padded) {
            return false;
        } else {
            digits++;
        }
    }
    return digits % 4 != 1;
}

static bool hex_digit(uint8_t c)
{
    return (c >= '0' && c <= '9') || ((c | 0x20) >= 'a' && (c | 0x20) <= 'f');
}

/* An '=' that is neither a soft break nor =XX is kept as it is by mime.c
 * and read otherwise by others. */
static bool qp_clean(const uint8_t *b, size_t n)
{
    for (const uint8_t *p = memchr(b, '=', n); p; ) {
        size_t i = (size_t)(p - b), left = n - i - 1;
        bool soft = (left >= 1 && p[1] == '\n') ||
                    (left >= 2 && p[1] == '\r' && p[2] == '\n');
        bool hex = left >= 2 && hex_digit(p[1]) && hex_digit(p[2]);
        if (!soft && !hex)
            return false;
        p = left ? memchr(p + 1, '=', left) : NULL;
    }
    return true;
}

/* --- the walk ------------------------------------------------------------- */

struct span {            /* a bad URL in a content being defanged */
    size_t at;           /* its scheme; "://" ends at host */
    size_t host, host_end;
};

/* what is allocated once per call */
struct scratch {
    struct out out;
    char val[MIME_HDR_VALUE_MAX];
};

struct rw {
    const uint8_t *msg;
    size_t len;
    const struct mime_rewrite_ops *ops;
    struct mime_rewrite_result *res;
    enum mime_rewrite_status status;
    size_t copied;        /* msg[0, copied) is written out or replaced */
    bool crlf;            /* the message's line break, for a part that has
                             none of its own */
    unsigned leaves;
    char *val;            /* header value scratch */
    struct out *out;
    struct span *spans;   /* a content's bad URLs, in order */
    size_t nspans, spans_cap;
};

/* What the fields of an entity say beyond struct mime_part. */
struct fields {
    char cte[32];         /* the Content-Transfer-Encoding token, lower case */
    bool mime_version;
    size_t end;           /* where the last field ends: a blank line closed
                             the block if the body starts later */
};

/* A leaf entity: msg[off, off + len), its body from off + body. */
struct entity {
    size_t off, len, body;
    unsigned depth;
    bool message;         /* the whole body of a message: its fields are
                             the message's own */
    bool unclosed;        /* that message's header block ran to its end
                             with no blank line: this part is empty and
                             starts right after the last field */
    bool crlf;
    const struct mime_part *pt;
    const struct fields *f;
};

static bool running(const struct rw *r)
{
    return r->status == MIME_REWRITE_OK && !r->out->failed;
}

static void on_field(void *ctx, const char *name, const char *val,
                     size_t start, size_t end)
{
    struct fields *f = ctx;
    (void)start;
    f->end = end;
    if (!strcmp(name, "content-transfer-encoding")) {
        size_t n = strcspn(val, "; \t(");
        text_copy(f->cte, sizeof(f->cte), val, n);
        for (char *c = f->cte; *c; c++)
            if (*c >= 'A' && *c <= 'Z')
                *c = (char)(*c + 32);
    } else if (!strcmp(name, "mime-version")) {
        f->mime_version = true;
    }
}

/* --- replacing: input up to the start, new bytes, skip to the end --------- */

static void replace_begin(struct rw *r, size_t off)
{
    out_put(r->out, r->msg + r->copied, off - r->copied);
    r->copied = off;
}

static void replace_end(struct rw *r, size_t end)
{
    r->copied = end;
    r->res->changed = true;
}

enum { DROP_CT = 1, DROP_CTE = 2, DROP_CD = 4 };

struct field_copy {
    struct rw *r;
    size_t off;
    unsigned drop;
};

/* A field is the one dropped whatever blanks precede its colon, which
 * some readers accept ("Content-Type :"). */
static bool field_is(const char *name, const char *want)
{
    size_t n = strlen(want);
    if (strncmp(name, want, n))
        return false;
    return name[n + strspn(name + n, " \t")] == '\0';
}

static void copy_field(void *ctx, const char *name, const char *val,
                       size_t start, size_t end)
{
    struct field_copy *c = ctx;
    (void)val;
    unsigned which = field_is(name, "content-type") ? DROP_CT
                   : field_is(name, "content-transfer-encoding") ? DROP_CTE
                   : field_is(name, "content-disposition") ? DROP_CD : 0;
    if (!(which & c->drop))
        out_put(c->r->out, c->r->msg + c->off + start, end - start);
}

/* The entity's fields as they came, but those in drop; then a line break
 * if the last one kept did not end with one, so fields can follow. */
static void write_fields_except(struct rw *r, const struct entity *e,
                                unsigned drop)
{
    struct mime_part pt;
    struct field_copy c = { r, e->off, drop };
    mime_headers(r->msg + e->off, e->len, &pt, r->val, copy_field, &c);
    if (r->out->last != '\n')
        out_eol(r->out, e->crlf);
}

static bool entity_ends_line(const struct rw *r, const struct entity *e)
{
    return e->len > e->body && r->msg[e->off + e->len - 1] == '\n';
}

/* --- URLs ----------------------------------------------------------------- */

static bool push_span(struct rw *r, size_t at, size_t host, size_t host_end)
{
    if (r->nspans == r->spans_cap) {
        size_t cap = r->spans_cap ? r->spans_cap * 2 : 16;
        struct span *s = realloc(r->spans, cap * sizeof(*s));
        if (!s) {
            r->status = MIME_REWRITE_NO_MEMORY;
            return false;
        }
        r->spans = s;
        r->spans_cap = cap;
    }
    /* a URL inside the last one's host ends that host where it starts */
    if (r->nspans && r->spans[r->nspans - 1].host_end > at)
        r->spans[r->nspans - 1].host_end = at;
    r->spans[r->nspans++] = (struct span){ at, host, host_end };
    return true;
}

/* The bad URLs of d[0, n) into r->spans (every URL when all). After a bad
 * one the search goes on from its host, so a URL inside it (a redirect's
 * target) is judged too: once the outer scheme is defanged, mime_parse()
 * would find the inner one. False when out of memory. */
static bool find_bad_urls(struct rw *r, const uint8_t *d, size_t n, bool all)
{
    const struct mime_rewrite_ops *ops = r->ops;
    struct mime_url u;
    size_t pos = 0;
    r->nspans = 0;
    while (mime_url_next(d, n, &pos, &u)) {
        if (!all && !(ops->bad_url && ops->bad_url(ops->ctx, u.url, u.len)))
            continue;
        size_t end = u.end;
        while (end > u.host && memchr(TRAILING_PUNCT, d[end - 1],
                                      sizeof(TRAILING_PUNCT) - 1))
            end--;
        size_t h = u.host;
        while (h < end && d[h] != '/' && d[h] != '?' && d[h] != '#')
            h++;
        if (!push_span(r, u.start, u.host, h))
            return false;
        pos = u.host;
    }
    return true;
}

/* d[0, n) with the URLs in r->spans defanged, into e: "http" -> "hxxp",
 * each dot of the host -> "[.]". */
static void defang_emit(const struct rw *r, const uint8_t *d, size_t n,
                        struct enc *e)
{
    size_t prev = 0;
    for (size_t i = 0; i < r->nspans; i++) {
        const struct span *s = &r->spans[i];
        enc_put(e, d + prev, s->at - prev);
        uint8_t scheme[8];
        size_t k = s->host - s->at;
        for (size_t j = 0; j < k; j++) {
            uint8_t c = d[s->at + j];
            scheme[j] = c == 't' ? 'x' : c == 'T' ? 'X' : c;
        }
        enc_put(e, scheme, k);
        for (size_t p = s->host; p < s->host_end;) {
            const uint8_t *dot = memchr(d + p, '.', s->host_end - p);
            size_t q = dot ? (size_t)(dot - d) : s->host_end;
            enc_put(e, d + p, q - p);
            if (dot) {
                enc_put(e, "[.]", 3);
                q++;
            }
            p = q;
        }
        prev = s->host_end;
    }
    enc_put(e, d + prev, n - prev);
}

/* The longest line d[0, n) would have, defanged. */
static size_t longest_line(const struct rw *r, const uint8_t *d, size_t n)
{
    struct enc m;
    enc_init(&m, NULL, ENC_MEASURE, false);
    defang_emit(r, d, n, &m);
    enc_end(&m);
    return m.longest;
}

/* --- STRIP ---------------------------------------------------------------- */

/* At most max bytes of s, cut on a UTF-8 character boundary, control
 * bytes as '?': the note is one line whatever the name says. */
static size_t note_piece(char *dst, size_t cap, const char *s, size_t max)
{
    size_t n = strlen(s);
    if (n > max)
        n = max;
    if (n >= cap)
        n = cap - 1;
    if (n < strlen(s))
        while (n && ((uint8_t)s[n] & 0xc0) == 0x80)
            n--;
    for (size_t i = 0; i < n; i++) {
        uint8_t c = (uint8_t)s[i];
        dst[i] = c < 0x20 || c == 0x7f ? '?' : (char)c;
    }
    dst[n] = '\0';
    return n;
}

static size_t note_text(char *note, size_t cap, const struct mime_part *pt,
                        const uint8_t *data, size_t n, const char *reason)
{
    char name[256], type[128], why[256], hex[65];
    uint8_t sha[32];
    digest(DIGEST_SHA256, data, n, sha);
    hex_lower(sha, sizeof(sha), hex);
    note_piece(name, sizeof(name), pt->filename, 200);
    note_piece(type, sizeof(type), pt->type[0] ? pt->type : "text/plain", 100);
    note_piece(why, sizeof(why), reason ? reason : "", 200);
    int k;
    if (name[0])
        k = snprintf(note, cap, "nightjar removed the attachment \"%s\" (%s, "
                     "%zu bytes, sha256 %s)%s%s", name, type, n, hex,
                     why[0] ? ": " : "", why);
    else
        k = snprintf(note, cap, "nightjar removed a part (%s, %zu bytes, "
                     "sha256 %s)%s%s", type, n, hex, why[0] ? ": " : "", why);
    return k < 0 ? 0 : (size_t)k < cap ? (size_t)k : cap - 1;
}

static bool ascii_line(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if ((uint8_t)s[i] < 0x20 || (uint8_t)s[i] > 0x7e)
            return false;
    return true;
}

/* The part becomes a note: new fields (a message keeps its others), the
 * note, and a line break where one is needed. Any URL in the note
 * (a file name can be one) is defanged, bad or not. */
static void strip(struct rw *r, const struct entity *e, const uint8_t *data,
                  size_t n, const char *reason)
{
    char note[1024];
    size_t nl = note_text(note, sizeof(note), e->pt, data, n, reason);
    if (!find_bad_urls(r, (const uint8_t *)note, nl, true))
        return;
    bool seven = ascii_line(note, nl) &&
                 longest_line(r, (const uint8_t *)note, nl) <= LINE_MAX_7BIT;
    struct out *o = r->out;
    replace_begin(r, e->off);
    if (e->unclosed) { /* the enclosing block ends before the note */
        if (o->last != '\n')
            out_eol(o, e->crlf);
        out_eol(o, e->crlf);
    }
    if (e->message) {
        write_fields_except(r, e, DROP_CT | DROP_CTE | DROP_CD);
        if (!e->f->mime_version)
            out_field(o, e->crlf, "MIME-Version: 1.0");
    }
    out_field(o, e->crlf, "Content-Type: text/plain; charset=utf-8");
    out_field(o, e->crlf, seven ? "Content-Transfer-Encoding: 7bit"
                                : "Content-Transfer-Encoding: quoted-printable");
    out_field(o, e->crlf, "Content-Disposition: inline");
    out_eol(o, e->crlf);
    struct enc enc;
    enc_init(&enc, o, seven ? ENC_COPY : ENC_QP, e->crlf);
    defang_emit(r, (const uint8_t *)note, nl, &enc);
    enc_end(&enc);
    /* a part that ended with a line break keeps it; so does an empty
     * part with a delimiter right after it, which must stay at the start
     * of a line */
    if (entity_ends_line(r, e) || (!e->len && e->off < r->len))
        out_eol(o, e->crlf);
    replace_end(r, e->off + e->len);
    r->res->stripped++;
}

/* --- DEFANG --------------------------------------------------------------- */

static void defang(struct rw *r, const struct entity *e, const uint8_t *data,
                   size_t n)
{
    if (!find_bad_urls(r, data, n, false) || !r->nspans)
        return;
    enum enc_kind kind = e->pt->cte == MIME_CTE_BASE64 ? ENC_B64
                       : e->pt->cte == MIME_CTE_QP ? ENC_QP : ENC_COPY;
    bool to_qp = kind == ENC_COPY && longest_line(r, data, n) > LINE_MAX_7BIT;
    struct out *o = r->out;
    replace_begin(r, e->off);
    if (to_qp) {
        kind = ENC_QP;
        write_fields_except(r, e, DROP_CTE);
        if (e->message && !e->f->mime_version)
            out_field(o, e->crlf, "MIME-Version: 1.0");
        out_field(o, e->crlf, "Content-Transfer-Encoding: quoted-printable");
        out_eol(o, e->crlf);
    } else {
        out_put(o, r->msg + e->off, e->body); /* fields and blank line */
    }
    struct enc enc;
    enc_init(&enc, o, kind, e->crlf);
    defang_emit(r, data, n, &enc);
    enc_end(&enc);
    if (kind == ENC_B64 && entity_ends_line(r, e))
        out_eol(o, e->crlf);
    replace_end(r, e->off + e->len);
    r->res->defanged++;
    r->res->urls_defanged += (unsigned)r->nspans;
}

/* --- the tree ------------------------------------------------------------- */

/* The entity's own line break (that of its first line), else the
 * message's. */
static bool entity_crlf(const struct rw *r, size_t off, size_t len)
{
    const uint8_t *nl = len ? memchr(r->msg + off, '\n', len) : NULL;
    if (!nl)
        return r->crlf;
    return nl > r->msg + off && nl[-1] == '\r';
}

static void leaf(struct rw *r, struct entity *e)
{
    const struct mime_part *pt = e->pt;
    const uint8_t *raw = r->msg + e->off + e->body;
    size_t rawlen = e->len - e->body, n = rawlen;
    const uint8_t *data = raw;
    uint8_t *dec = NULL;
    bool bad = false;
    if (pt->cte != MIME_CTE_IDENTITY) {
        dec = malloc(rawlen ? rawlen : 1);
        if (!dec) {
            r->status = MIME_REWRITE_NO_MEMORY;
            return;
        }
        if (pt->cte == MIME_CTE_BASE64) {
            n = mime_base64_decode(raw, rawlen, dec);
            bad = !b64_clean(raw, rawlen);
        } else {
            n = mime_qp_decode(raw, rawlen, dec);
            bad = !qp_clean(raw, rawlen);
        }
        data = dec;
    }
    r->res->bad_encoding += bad;
    struct mime_leaf v = {
        .index = r->leaves++, .depth = e->depth, .content_type = pt->type,
        .filename = pt->filename, .cte = e->f->cte,
        .encoding = (enum mime_cte)pt->cte,
        .text = !pt->type[0] || !strcmp(pt->type, "text/plain") ||
                !strcmp(pt->type, "text/html"),
        .html = !strcmp(pt->type, "text/html"),
        .defangable = mime_part_is_text(pt),
        .attachment = mime_part_is_attachment(pt),
        .bad_encoding = bad, .data = data, .len = n,
    };
    r->res->leaves++;
    struct mime_decision d = { MIME_KEEP, NULL };
    if (r->ops->decide)
        d = r->ops->decide(r->ops->ctx, &v);
    e->crlf = entity_crlf(r, e->off, e->len);
    if (d.action == MIME_STRIP)
        strip(r, e, data, n, d.reason);
    else if (d.action == MIME_DEFANG && v.defangable)
        defang(r, e, data, n);
    free(dec);
}

static void entity(struct rw *r, size_t off, size_t len, unsigned depth,
                   bool message, bool unclosed);

static void multipart(struct rw *r, size_t off, size_t len, const char *bound,
                      unsigned depth)
{
    struct mime_multipart m;
    size_t start, stop;
    mime_multipart_begin(&m, r->msg + off, len, bound);
    while (running(r) && mime_multipart_next(&m, &start, &stop)) {
        if (r->res->parts >= MIME_MAX_PARTS) {
            r->res->parts_over_cap = true; /* the rest goes out as it is */
            return;
        }
        entity(r, off + start, stop - start, depth + 1, false, false);
    }
}

/* Mirrors mime.c's entity(): the same caps at the same places, so the
 * leaves asked about are the ones mime_parse() reports. */
static void entity(struct rw *r, size_t off, size_t len, unsigned depth,
                   bool message, bool unclosed)
{
    if (!running(r))
        return;
    if (depth > MIME_MAX_DEPTH) {
        r->res->depth_over_cap = true;
        return;
    }
    r->res->parts++;
    struct mime_part pt;
    struct fields f;
    memset(&f, 0, sizeof(f));
    size_t body = mime_headers(r->msg + off, len, &pt, r->val, on_field, &f);
    if (body > len)
        body = len;
    if (!strncmp(pt.type, "multipart/", 10) && pt.boundary[0]) {
        multipart(r, off + body, len - body, pt.boundary, depth);
    } else if (!strcmp(pt.type, "message/rfc822")) {
        entity(r, off + body, len - body, depth + 1, true, body == f.end);
    } else {
        struct entity e = { off, len, body, depth, message, unclosed, false,
                            &pt, &f };
        leaf(r, &e);
    }
}

static void count(struct mime_rewrite_stats *st,
                  const struct mime_rewrite_result *res,
                  enum mime_rewrite_status status)
{
    st->messages++;
    st->parts += res->parts;
    st->stripped += res->stripped;
    st->defanged += res->defanged;
    st->urls_defanged += res->urls_defanged;
    st->depth_over_cap += res->depth_over_cap;
    st->parts_over_cap += res->parts_over_cap;
    st->bad_encoding += res->bad_encoding;
    st->write_failed += status == MIME_REWRITE_WRITE_FAILED;
    st->no_memory += status == MIME_REWRITE_NO_MEMORY;
}

enum mime_rewrite_status mime_rewrite(const uint8_t *msg, size_t len,
                                      const struct mime_rewrite_ops *ops,
                                      struct mime_rewrite_result *res,
                                      struct mime_rewrite_stats *st)
{
    memset(res, 0, sizeof(*res));
    struct scratch *s = malloc(sizeof(*s));
    if (!s) {
        count(st, res, MIME_REWRITE_NO_MEMORY);
        return MIME_REWRITE_NO_MEMORY;
    }
    s->out.write = ops->write;
    s->out.ctx = ops->ctx;
    s->out.failed = false;
    s->out.last = '\n';
    s->out.n = 0;
    s->out.bytes = 0;
    /* SMTP's line break unless the message says otherwise */
    const uint8_t *nl = len ? memchr(msg, '\n', len) : NULL;
    struct rw r = {
        .msg = msg, .len = len, .ops = ops, .res = res,
        .status = MIME_REWRITE_OK, .crlf = !nl || (nl > msg && nl[-1] == '\r'),
        .val = s->val, .out = &s->out,
    };
    if (len)
        entity(&r, 0, len, 0, true, false);
    if (r.status == MIME_REWRITE_OK) {
        out_put(r.out, msg + r.copied, len - r.copied);
        out_flush(r.out);
        if (r.out->failed)
            r.status = MIME_REWRITE_WRITE_FAILED;
    }
    res->bytes_out = r.out->bytes;
    free(r.spans);
    free(s);
    count(st, res, r.status);
    return r.status;
}

const char *mime_rewrite_status_name(enum mime_rewrite_status s)
{
    switch (s) {
    case MIME_REWRITE_OK:
        return "ok";
    case MIME_REWRITE_WRITE_FAILED:
        return "write failed";
    case MIME_REWRITE_NO_MEMORY:
        return "out of memory";
    }
    return "?";
}
