/* http.c -- HTTP/1.x stream parser (see http.h).
 *
 * Each direction is a small state machine: start line, headers, then a
 * body framed by Content-Length, chunks or the end of the connection. Lines
 * are assembled in a per-direction buffer only as far as needed; body
 * bytes are never copied except into the file being kept.
 */
#include "proto/http.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <zlib.h>

#include "util/line.h"
#include "util/text.h"

enum hstate {
    HS_START, HS_HEADERS, HS_BODY_CL, HS_CHUNK_SIZE, HS_CHUNK_DATA,
    HS_CHUNK_CRLF, HS_TRAILERS, HS_BODY_CLOSE, HS_STOP
};

struct http_dir {
    uint8_t state;              /* enum hstate */
    struct http_framing fr;     /* of the current message */
    bool no_body;
    uint64_t remaining;
    uint32_t nheaders, header_bytes;
    struct line lp;             /* the line in progress */
    size_t last_len;            /* length of the line just completed */
    struct http_tx *tx;
    struct http_body body;
    char line[HTTP_LINE_MAX];
};

struct http_state {
    struct http_dir d[2];
    struct http_tx tx[HTTP_MAX_PENDING];   /* ring of open transactions */
    unsigned head, count;
    uint64_t next_seq;
    bool stopped;
    bool started;    /* a first start line was seen */
    bool swapped;    /* the flow's "client" is the HTTP server */
    struct http_tx *upgraded;   /* the 101 that took an h2c upgrade */
    size_t upgrade_rest;        /* bytes of the last feed after its headers */
    int upgrade_dir;
};

struct http_state *http_state_new(void)
{
    struct http_state *h = calloc(1, sizeof(struct http_state));
    if (h && (!http_body_prepare(&h->d[0].body) ||
              !http_body_prepare(&h->d[1].body))) {
        http_state_free(h);
        return NULL;
    }
    return h;
}

size_t http_state_size(void) { return sizeof(struct http_state); }

void http_state_reset(struct http_state *h)
{
    struct http_body b[2];
    for (int i = 0; i < 2; i++)
        b[i] = h->d[i].body;
    memset(h, 0, sizeof(*h));
    for (int i = 0; i < 2; i++) {
        h->d[i].body = b[i];      /* same address: zlib's state stays valid */
        http_body_reset(&h->d[i].body);
    }
}

void http_state_free(struct http_state *h)
{
    if (!h)
        return;
    for (int i = 0; i < 2; i++)
        http_body_free(&h->d[i].body);
    free(h);
}

/* --- transactions ------------------------------------------------------ */

static struct http_tx *ring_at(struct http_state *h, unsigned i)
{
    return &h->tx[(h->head + i) % HTTP_MAX_PENDING];
}

static void release_done(struct http_state *h)
{
    while (h->count) {
        struct http_tx *t = ring_at(h, 0);
        if (!(t->resp_done && t->req_done))
            break;
        h->head = (h->head + 1) % HTTP_MAX_PENDING;
        h->count--;
    }
}

/* The oldest transaction leaves whatever state it is in. */
static void force_oldest(struct http_state *h, const struct http_callbacks *cb,
                         void *ctx)
{
    struct http_tx *t = ring_at(h, 0);
    if (!t->resp_done)
        cb->tx_done(ctx, t);
    for (int i = 0; i < 2; i++)
        if (h->d[i].tx == t)
            h->d[i].tx = NULL;
    h->head = (h->head + 1) % HTTP_MAX_PENDING;
    h->count--;
}

static struct http_tx *tx_new(struct http_state *h, uint64_t now,
                              const struct http_callbacks *cb, void *ctx,
                              struct http_stats *st)
{
    if (h->count == HTTP_MAX_PENDING) {
        st->pending_over_cap++;
        force_oldest(h, cb, ctx);
    }
    struct http_tx *t = ring_at(h, h->count++);
    memset(t, 0, sizeof(*t));
    t->seq = ++h->next_seq;
    t->req_usec = now;
    return t;
}

/* --- start lines ------------------------------------------------------- */

static bool is_token_char(char ch)
{
    return isalpha((unsigned char)ch) || ch == '-' || ch == '_';
}

/* "METHOD SP target SP HTTP/x.y" */
static bool parse_request_line(const char *l, struct http_tx *t)
{
    size_t m = 0;
    while (is_token_char(l[m]) && m < sizeof(t->method) - 1)
        m++;
    if (!m || l[m] != ' ')
        return false;
    text_copy(t->method, sizeof(t->method), l, m);
    const char *uri = l + m + 1;
    const char *sp = strrchr(uri, ' ');
    if (!sp || strncmp(sp + 1, "HTTP/", 5) != 0)
        return false;
    text_copy(t->uri, sizeof(t->uri), uri, (size_t)(sp - uri));
    text_copy(t->protocol, sizeof(t->protocol), sp + 1, strlen(sp + 1));
    return true;
}

/* "HTTP/x.y SP NNN [SP reason]" */
static bool parse_status_line(const char *l, uint16_t *status)
{
    if (strncmp(l, "HTTP/", 5) != 0)
        return false;
    const char *sp = strchr(l, ' ');
    if (!sp || !isdigit((unsigned char)sp[1]) || !isdigit((unsigned char)sp[2]) ||
        !isdigit((unsigned char)sp[3]))
        return false;
    *status = (uint16_t)((sp[1] - '0') * 100 + (sp[2] - '0') * 10 + (sp[3] - '0'));
    return true;
}

/* --- headers ----------------------------------------------------------- */

/* filename= or filename*= (RFC 6266 / 5987: charset'lang'pct-encoded) */
static void disposition_filename(const char *v, char *out, size_t outlen)
{
    const char *p = strcasestr(v, "filename");
    if (!p)
        return;
    p += 8;
    bool ext = *p == '*';
    if (ext)
        p++;
    while (*p == ' ')
        p++;
    if (*p++ != '=')
        return;
    while (*p == ' ')
        p++;
    if (ext) {
        const char *q = strchr(p, '\'');
        q = q ? strchr(q + 1, '\'') : NULL;
        if (!q)
            return;
        p = q + 1;
        size_t o = 0;
        for (; *p && *p != ';' && o + 1 < outlen; p++) {
            if (*p == '%' && isxdigit((unsigned char)p[1]) &&
                isxdigit((unsigned char)p[2])) {
                char hx[3] = { p[1], p[2], 0 };
                out[o++] = (char)strtol(hx, NULL, 16);
                p += 2;
            } else {
                out[o++] = *p;
            }
        }
        out[o] = '\0';
        return;
    }
    char quote = *p == '"' ? *p++ : 0;
    size_t o = 0;
    for (; *p && o + 1 < outlen; p++) {
        if (quote ? *p == '"' : (*p == ';' || *p == ' '))
            break;
        out[o++] = *p;
    }
    out[o] = '\0';
}

static bool name_is(const char *name, size_t n, const char *want)
{
    return strlen(want) == n && strncasecmp(name, want, n) == 0;
}

static void request_header_seen(struct http_tx *t, const char *l, size_t n)
{
    static const struct { const char *name; uint16_t bit; } known[] = {
        { "accept", HTTP_HDR_ACCEPT },
        { "accept-language", HTTP_HDR_ACCEPT_LANGUAGE },
        { "accept-encoding", HTTP_HDR_ACCEPT_ENCODING },
        { "cookie", HTTP_HDR_COOKIE },
        { "referer", HTTP_HDR_REFERER },
        { "connection", HTTP_HDR_CONNECTION },
        { "cache-control", HTTP_HDR_CACHE_CONTROL },
    };
    if (t->req_header_count < UINT8_MAX)
        t->req_header_count++;
    for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++)
        if (name_is(l, n, known[i].name))
            t->req_headers |= known[i].bit;
}

/* A header line split at its colon; false when it is no header. */
static bool split_header(const char *l, size_t *n, const char **v, size_t *vl)
{
    const char *colon = strchr(l, ':');
    if (!colon || colon == l)
        return false;
    *n = (size_t)(colon - l);
    *v = colon + 1;
    while (**v == ' ' || **v == '\t')
        (*v)++;
    *vl = strlen(*v);
    while (*vl && ((*v)[*vl - 1] == ' ' || (*v)[*vl - 1] == '\t'))
        (*vl)--;
    return true;
}

/* The framing a header sets: length, chunking, content encoding. */
static void framing_header(struct http_framing *fr, const char *l, size_t n,
                           const char *v)
{
    if (name_is(l, n, "content-length")) {
        char *end;
        unsigned long long cl = strtoull(v, &end, 10);
        if (end != v) {
            fr->have_cl = true;
            fr->cl = cl;
        }
    } else if (name_is(l, n, "transfer-encoding")) {
        if (strcasestr(v, "chunked"))
            fr->chunked = true;
    } else if (name_is(l, n, "content-encoding")) {
        if (strncasecmp(v, "gzip", 4) == 0 || strncasecmp(v, "x-gzip", 6) == 0)
            fr->enc = HTTP_ENC_ZLIB_OR_GZIP;
        else if (strncasecmp(v, "deflate", 7) == 0)
            fr->enc = HTTP_ENC_DEFLATE;
    }
}

/* A list header that may come in several lines (X-Forwarded-For,
 * Forwarded): the lines are one list, joined by ", " (RFC 9110 5.3). A
 * value that does not fit is marked truncated, since its cut-off right end
 * is the part a reader of the chain needs. */
static void list_append(char *dst, size_t n, bool *truncated, const char *v,
                        size_t vl)
{
    size_t used = strlen(dst);
    size_t sep = used ? 2 : 0;
    if (used + sep + vl >= n) {
        *truncated = true;
        return;
    }
    memcpy(dst + used, ", ", sep);
    memcpy(dst + used + sep, v, vl);
    dst[used + sep + vl] = 0;
}

/* The fields of the transaction a header fills. */
static void tx_header(struct http_tx *t, int dir, const char *l, size_t n,
                      const char *v, size_t vl)
{
    if (dir == 0)
        request_header_seen(t, l, n);
    if (name_is(l, n, "upgrade") && strcasestr(v, "h2c"))
        t->upgrade_h2c |= dir ? HTTP_H2C_CHOSEN : HTTP_H2C_OFFERED;
    if (name_is(l, n, "content-disposition"))
        disposition_filename(v, t->filename, sizeof(t->filename));
    else if (name_is(l, n, "content-type"))
        text_copy(dir ? t->resp_content_type : t->req_content_type,
                   sizeof(t->resp_content_type), v, vl);
    else if (dir == 0 && name_is(l, n, "host"))
        text_copy(t->host, sizeof(t->host), v, vl);
    else if (dir == 0 && name_is(l, n, "user-agent"))
        text_copy(t->user_agent, sizeof(t->user_agent), v, vl);
    else if (dir == 0 && name_is(l, n, "referer"))
        text_copy(t->referer, sizeof(t->referer), v, vl);
    else if (dir == 0 && name_is(l, n, "x-forwarded-for"))
        list_append(t->xff, sizeof(t->xff), &t->xff_truncated, v, vl);
    else if (dir == 0 && name_is(l, n, "forwarded"))
        list_append(t->forwarded, sizeof(t->forwarded), &t->forwarded_truncated,
                    v, vl);
    else if (dir == 1 && name_is(l, n, "location"))
        text_copy(t->location, sizeof(t->location), v, vl);
    else if (dir == 1 && name_is(l, n, "server"))
        text_copy(t->server, sizeof(t->server), v, vl);
}

void http_tx_header(struct http_tx *t, struct http_framing *fr, int dir,
                    const char *name, size_t n, const char *v, size_t vl)
{
    framing_header(fr, name, n, v);
    tx_header(t, dir, name, n, v, vl);
}

static void header(struct http_dir *d, int dir, const char *l)
{
    size_t n, vl;
    const char *v;
    if (!split_header(l, &n, &v, &vl))
        return;
    framing_header(&d->fr, l, n, v);
    if (d->tx)
        tx_header(d->tx, dir, l, n, v, vl);
}

bool http_head_parse(struct http_tx *t, int dir, const char *block, size_t len,
                     struct http_framing *fr, struct http_stats *st)
{
    memset(fr, 0, sizeof(*fr));
    char line[HTTP_LINE_MAX];
    size_t off = 0;
    unsigned lines = 0;
    bool cut;
    while (line_next(block, len, &off, line, sizeof(line), &cut)) {
        size_t ll = strlen(line);
        if (cut)
            st->line_truncated++;
        if (lines++ == 0) {
            bool ok = dir == 0 ? parse_request_line(line, t)
                               : parse_status_line(line, &t->status);
            if (!ok) {
                st->not_http++;
                return false;
            }
            if (dir == 1)
                t->have_response = true;
            continue;
        }
        if (!ll)
            break;
        if (lines > HTTP_HEADERS_MAX) {
            st->headers_over_cap++;
            t->headers_truncated = true;
            break;
        }
        size_t n, vl;
        const char *v;
        if (split_header(line, &n, &v, &vl)) {
            framing_header(fr, line, n, v);
            tx_header(t, dir, line, n, v, vl);
        }
    }
    if (lines)
        dir == 0 ? st->requests++ : st->responses++;
    return lines > 0;
}

/* --- bodies ------------------------------------------------------------ */

static const char *uri_basename(const char *uri, char *buf, size_t n)
{
    size_t len = strcspn(uri, "?#");
    const char *b = uri;
    for (size_t i = 0; i < len; i++)
        if (uri[i] == '/')
            b = uri + i + 1;
    text_copy(buf, n, b, (size_t)(uri + len - b));
    return buf;
}

bool http_body_prepare(struct http_body *b)
{
    return file_prepare(&b->file);
}

void http_body_free(struct http_body *b)
{
    if (b->z_ready)
        inflateEnd(&b->z);
    b->z_ready = false;
    file_free(&b->file);
}

void http_body_reset(struct http_body *b)
{
    b->open = false;
    b->file.open = false;
}

void http_body_begin(struct http_body *b, const struct http_tx *tx,
                     uint8_t enc, const struct http_limits *lim)
{
    char name[FILE_NAME_MAX] = "";
    if (tx && tx->filename[0])
        snprintf(name, sizeof(name), "%s", tx->filename);
    else if (tx)
        uri_basename(tx->uri, name, sizeof(name));
    file_begin(&b->file, name, lim->file_max, lim->bufs, lim->hash_mask);
    b->open = true;
    b->enc = enc;
    b->z_in = b->z_out = 0;
    b->z_dead = b->z_raw_tried = false;
    if (enc != HTTP_ENC_NONE) {
        int wbits = enc == HTTP_ENC_DEFLATE ? 15 : 15 + 32;
        if (!b->z_ready) {
            b->z_ready = inflateInit2(&b->z, wbits) == Z_OK;
            b->z_dead = !b->z_ready;
        } else {
            b->z_dead = inflateReset2(&b->z, wbits) != Z_OK;
        }
    }
}

static void inflate_into_file(struct http_body *b, const uint8_t *data,
                              size_t len, const struct http_limits *lim,
                              struct http_stats *st)
{
    uint8_t out[16384];
    b->z.next_in = (Bytef *)(uintptr_t)data;
    b->z.avail_in = (uInt)len;
    while (b->z.avail_in && !b->z_dead) {
        b->z.next_out = out;
        b->z.avail_out = sizeof(out);
        int rc = inflate(&b->z, Z_NO_FLUSH);
        size_t got = sizeof(out) - b->z.avail_out;
        if (rc == Z_DATA_ERROR && b->enc == HTTP_ENC_DEFLATE && !b->z_raw_tried &&
            b->z_out == 0 && got == 0) {
            /* "deflate" sent as raw deflate, as some servers do */
            b->z_raw_tried = true;
            inflateReset2(&b->z, -15);
            b->z.next_in = (Bytef *)(uintptr_t)data;
            b->z.avail_in = (uInt)len;
            continue;
        }
        b->z_out += got;
        file_write(&b->file, out, got);
        if (rc == Z_STREAM_END)
            break;
        if (rc != Z_OK && rc != Z_BUF_ERROR) {
            st->decompress_errors++;
            b->z_dead = true;
        } else if (b->z_out > lim->decompress_max) {
            st->decompress_over_cap++;
            b->z_dead = true;
        } else if (b->z_out > (1u << 20) &&
                   b->z_out / (b->z_in + len - b->z.avail_in + 1) > lim->decompress_ratio) {
            st->decompression_bombs++;
            b->z_dead = true;
        }
        if (rc == Z_BUF_ERROR && got == 0)
            break;
    }
    if (b->z_dead)
        b->file.truncated = true;
    b->z_in += len;
}

void http_body_write(struct http_body *b, const uint8_t *data, size_t len,
                     const struct http_limits *lim, struct http_stats *st)
{
    if (!b->open)
        return;
    if (b->enc != HTTP_ENC_NONE)
        inflate_into_file(b, data, len, lim, st);
    else
        file_write(&b->file, data, len);
}

static void body_begin(struct http_dir *d, const struct http_limits *lim)
{
    http_body_begin(&d->body, d->tx, d->fr.enc, lim);
}

static void body_data(struct http_dir *d, int dir, const uint8_t *data,
                      size_t len, const struct http_limits *lim,
                      struct http_stats *st)
{
    if (d->tx) {
        if (dir)
            d->tx->resp_body_len += len;
        else
            d->tx->req_body_len += len;
    }
    http_body_write(&d->body, data, len, lim, st);
}

/* The message in direction dir is complete. */
static void message_done(struct http_state *h, int dir,
                         const struct http_callbacks *cb, void *ctx,
                         struct http_stats *st)
{
    struct http_dir *d = &h->d[dir];
    if (d->body.open) {
        d->body.open = false;
        if (d->body.file.size || d->body.file.gap) {
            st->bodies++;
            if (d->tx)
                cb->file_done(ctx, d->tx, dir, &d->body.file);
        }
    }
    d->state = HS_START;
    struct http_tx *t = d->tx;
    d->tx = NULL;
    if (!t)
        return;
    if (dir == 0) {
        t->req_done = true;
    } else {
        t->resp_done = true;
        cb->tx_done(ctx, t);
    }
    release_done(h);
}

/* --- the state machine ------------------------------------------------- */

static void reset_message(struct http_dir *d)
{
    d->fr.chunked = d->fr.have_cl = d->no_body = false;
    d->fr.enc = HTTP_ENC_NONE;
    d->fr.cl = 0;
    d->nheaders = d->header_bytes = 0;
}

static struct http_tx *oldest_unanswered(struct http_state *h)
{
    for (unsigned i = 0; i < h->count; i++) {
        struct http_tx *t = ring_at(h, i);
        if (!t->have_response)
            return t;
    }
    return NULL;
}

static bool start_line(struct http_state *h, int dir, uint64_t now,
                       const struct http_callbacks *cb, void *ctx,
                       struct http_stats *st)
{
    struct http_dir *d = &h->d[dir];
    const char *l = d->line;
    if (!d->last_len)
        return true; /* stray CRLF between messages */
    if (strlen(l) != d->last_len)
        return false; /* NUL bytes: not a start line */
    reset_message(d);
    if (dir == 0) {
        struct http_tx scratch;
        if (!parse_request_line(l, &scratch))
            return false;
        struct http_tx *t = tx_new(h, now, cb, ctx, st);
        memcpy(t->method, scratch.method, sizeof(t->method));
        memcpy(t->uri, scratch.uri, sizeof(t->uri));
        memcpy(t->protocol, scratch.protocol, sizeof(t->protocol));
        d->tx = t;
        st->requests++;
    } else {
        uint16_t status;
        if (!parse_status_line(l, &status))
            return false;
        struct http_tx *t = oldest_unanswered(h);
        if (!t) {
            st->response_without_request++;
            t = tx_new(h, now, cb, ctx, st);
            t->req_done = true;
        }
        t->status = status;
        t->resp_usec = now;
        if (status >= 200 || status == 101)
            t->have_response = true;
        const char *sp = strchr(l, ' ');
        if (!t->protocol[0])
            text_copy(t->protocol, sizeof(t->protocol), l, (size_t)(sp - l));
        d->tx = t;
        st->responses++;
    }
    d->state = HS_HEADERS;
    return true;
}

/* Headers are over: decide how the body is framed. */
static bool headers_done(struct http_state *h, int dir,
                         const struct http_limits *lim,
                         const struct http_callbacks *cb, void *ctx,
                         struct http_stats *st)
{
    struct http_dir *d = &h->d[dir];
    struct http_tx *t = d->tx;
    if (dir == 1 && t) {
        bool connect_ok = !strcasecmp(t->method, "CONNECT") &&
                          t->status >= 200 && t->status < 300;
        if (t->status == 101 || connect_ok) {
            t->resp_done = true;
            cb->tx_done(ctx, t);
            h->stopped = true; /* a tunnel or another protocol follows */
            if (t->status == 101 && t->upgrade_h2c ==
                                    (HTTP_H2C_OFFERED | HTTP_H2C_CHOSEN))
                h->upgraded = t;
            return false;
        }
        if (t->status < 200) { /* interim response: the real one follows */
            d->tx = NULL;
            d->state = HS_START;
            return true;
        }
        if (!strcasecmp(t->method, "HEAD") || t->status == 204 ||
            t->status == 304)
            d->no_body = true;
    }
    if (d->no_body || (!d->fr.chunked && (!d->fr.have_cl || d->fr.cl == 0) &&
                       (dir == 0 || (d->fr.have_cl && d->fr.cl == 0)))) {
        message_done(h, dir, cb, ctx, st);
        return true;
    }
    body_begin(d, lim);
    if (d->fr.chunked) {
        d->state = HS_CHUNK_SIZE;
    } else if (d->fr.have_cl) {
        d->remaining = d->fr.cl;
        d->state = HS_BODY_CL;
    } else {
        d->state = HS_BODY_CLOSE; /* response read until the connection ends */
    }
    return true;
}

/* Takes bytes into d->line up to LF; true when a line is complete. */
static bool take_line(struct http_dir *d, const uint8_t *data, size_t len,
                      size_t *used, struct http_stats *st)
{
    bool cut;
    bool done = line_take(&d->lp, d->line, sizeof(d->line), data, len, used,
                          &cut, &d->last_len);
    st->line_truncated += cut;
    d->header_bytes += (uint32_t)*used;
    return done;
}

static bool chunk_size_line(struct http_dir *d, struct http_stats *st)
{
    char *end;
    unsigned long long n = strtoull(d->line, &end, 16);
    if (end == d->line) {
        st->bad_chunk++;
        return false;
    }
    d->remaining = n;
    d->state = n ? HS_CHUNK_DATA : HS_TRAILERS;
    return true;
}

/* One step of the machine over data; returns bytes consumed, or
 * (size_t)-1 when this stream is no longer parsed. */
static size_t step(struct http_state *h, int dir, const uint8_t *data,
                   size_t len, uint64_t now, const struct http_limits *lim,
                   const struct http_callbacks *cb, void *ctx,
                   struct http_stats *st)
{
    struct http_dir *d = &h->d[dir];
    size_t used = len;
    switch (d->state) {
    case HS_START:
    case HS_HEADERS:
    case HS_CHUNK_SIZE:
    case HS_CHUNK_CRLF:
    case HS_TRAILERS:
        if (!take_line(d, data, len, &used, st))
            break;
        if (d->state == HS_START) {
            if (!start_line(h, dir, now, cb, ctx, st)) {
                st->not_http++;
                return (size_t)-1;
            }
        } else if (d->state == HS_HEADERS) {
            if (!d->line[0]) {
                if (!headers_done(h, dir, lim, cb, ctx, st)) {
                    h->upgrade_rest = len - used;
                    return (size_t)-1;
                }
            } else if (++d->nheaders > HTTP_HEADERS_MAX ||
                       d->header_bytes > HTTP_HEADER_BYTES_MAX) {
                st->headers_over_cap++;
                if (d->tx)
                    d->tx->headers_truncated = true;
                return (size_t)-1;
            } else {
                header(d, dir, d->line);
            }
        } else if (d->state == HS_CHUNK_SIZE) {
            if (!chunk_size_line(d, st))
                return (size_t)-1;
        } else if (d->state == HS_CHUNK_CRLF) {
            d->state = HS_CHUNK_SIZE;
        } else if (!d->line[0]) { /* end of trailers */
            message_done(h, dir, cb, ctx, st);
        }
        break;
    case HS_BODY_CL:
    case HS_CHUNK_DATA: {
        size_t n = len < d->remaining ? len : (size_t)d->remaining;
        body_data(d, dir, data, n, lim, st);
        d->remaining -= n;
        used = n;
        if (d->remaining == 0) {
            if (d->state == HS_CHUNK_DATA)
                d->state = HS_CHUNK_CRLF;
            else
                message_done(h, dir, cb, ctx, st);
        }
        break;
    }
    case HS_BODY_CLOSE:
        body_data(d, dir, data, len, lim, st);
        break;
    default:
        return (size_t)-1;
    }
    return used;
}

/* A capture that starts mid-connection may have made the server the flow's
 * client: a status line first from direction 0 (or a request line from 1)
 * turns the parser around for the rest of the flow. */
static void orient(struct http_state *h, int dir, const uint8_t *d, size_t n)
{
    h->started = true;
    if ((dir == 0 && n >= 5 && !memcmp(d, "HTTP/", 5)) ||
        (dir == 1 && n >= 5 && d[0] >= 'A' && d[0] <= 'Z' &&
         memcmp(d, "HTTP/", 5) != 0))
        h->swapped = true;
}

bool http_feed(struct http_state *h, int dir, const uint8_t *data,
               size_t len, uint64_t now, const struct http_limits *lim,
               const struct http_callbacks *cb, void *ctx,
               struct http_stats *st)
{
    if (h->stopped)
        return false;
    if (!h->started)
        orient(h, dir, data, len);
    dir ^= h->swapped;
    while (len) {
        size_t used = step(h, dir, data, len, now, lim, cb, ctx, st);
        if (used == (size_t)-1) {
            h->stopped = true;
            h->upgrade_dir = dir ^ h->swapped;
            return false;
        }
        data += used;
        len -= used;
    }
    return true;
}

uint64_t http_body_ahead(const struct http_state *h, int dir)
{
    if (!h->started || h->stopped)
        return 0;
    const struct http_dir *d = &h->d[dir ^ h->swapped];
    switch (d->state) {
    case HS_BODY_CL:
        return d->remaining;
    case HS_CHUNK_SIZE: case HS_CHUNK_DATA: case HS_CHUNK_CRLF:
    case HS_BODY_CLOSE:
        return HTTP_BODY_UNBOUNDED;
    default:
        return 0;
    }
}

void http_gap(struct http_state *h, int dir, uint64_t len,
              const struct http_callbacks *cb, void *ctx,
              struct http_stats *st)
{
    dir ^= h->swapped;
    struct http_dir *d = &h->d[dir];
    bool framed = d->state == HS_BODY_CL || d->state == HS_CHUNK_DATA;
    if ((framed && len <= d->remaining) || d->state == HS_BODY_CLOSE) {
        d->body.file.gap = true;
        d->body.z_dead = d->body.enc != HTTP_ENC_NONE; /* cannot inflate across a hole */
        if (framed) {
            if (d->tx)
                *(dir ? &d->tx->resp_body_len : &d->tx->req_body_len) += len;
            d->remaining -= len;
            if (d->remaining == 0) {
                if (d->state == HS_CHUNK_DATA)
                    d->state = HS_CHUNK_CRLF;
                else
                    message_done(h, dir, cb, ctx, st);
            }
        }
        return;
    }
    h->stopped = true; /* lost our place in the framing */
}

void http_finish(struct http_state *h, const struct http_callbacks *cb,
                 void *ctx, struct http_stats *st)
{
    for (int dir = 0; dir < 2; dir++) {
        struct http_dir *d = &h->d[dir];
        if (d->state == HS_BODY_CLOSE) {
            message_done(h, dir, cb, ctx, st);
        } else if (d->body.open) {
            d->body.file.gap = true; /* the body was cut off */
            message_done(h, dir, cb, ctx, st);
        }
    }
    while (h->count)
        force_oldest(h, cb, ctx);
}

const struct http_tx *http_h2c_upgrade(const struct http_state *h,
                                       size_t *rest, int *server_dir)
{
    if (!h->upgraded)
        return NULL;
    *rest = h->upgrade_rest;
    *server_dir = h->upgrade_dir;
    return h->upgraded;
}
