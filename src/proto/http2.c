/* http2.c -- HTTP/2 connection parser (see http2.h).
 *
 * Each direction is a frame reader with four phases: the 9-byte frame
 * header, the payload's fixed prefix (pad length, priority, promised
 * stream id, or one SETTINGS entry / the fields of a control frame), the
 * payload proper (a DATA body, streamed into the stream's file, or a
 * header-block fragment, streamed into that direction's HPACK inflater),
 * and the padding, skipped. Only the frame header and the prefix -- never
 * more than 9 bytes -- are gathered across chunks; everything else is used
 * where it lies, so a frame split at any byte costs nothing.
 *
 * Header fields go through http.c's own mapping (http_tx_header), so an
 * HTTP/2 transaction has exactly the fields an HTTP/1 one would, and bodies
 * through its body decoder (struct http_body: file, gzip/deflate).
 */
#include "proto/http2.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <nghttp2/nghttp2.h>

#include "util/cursor.h"
#include "util/text.h"

enum frame_type {
    FT_DATA = 0, FT_HEADERS, FT_PRIORITY, FT_RST_STREAM, FT_SETTINGS,
    FT_PUSH_PROMISE, FT_PING, FT_GOAWAY, FT_WINDOW_UPDATE, FT_CONTINUATION
};

#define FL_END_STREAM 0x01
#define FL_ACK 0x01
#define FL_END_HEADERS 0x04
#define FL_PADDED 0x08
#define FL_PRIORITY 0x20

#define SET_HEADER_TABLE_SIZE 1
#define SET_MAX_FRAME_SIZE 5
#define FRAME_SIZE_DEFAULT 16384
#define TABLE_SIZE_DEFAULT 4096
#define NAME_MAX_LEN 128

enum phase { PH_HEADER, PH_PREFIX, PH_BODY, PH_PAD };

struct h2_stream {
    bool used;
    uint32_t id;
    uint64_t order;              /* when it was opened: the oldest goes first */
    bool ended[2];               /* END_STREAM seen from each side */
    bool head_done[2];           /* final headers seen: another block is trailers */
    bool no_body[2];             /* a body that found no slot: not kept */
    int8_t body[2];              /* index into bodies[], -1 none */
    uint8_t enc[2];              /* enum http_encoding of each side */
    struct http_tx tx;
};

struct h2_dir {
    uint8_t phase;               /* enum phase */
    uint8_t hdr[9];
    uint8_t got;                 /* bytes of hdr or pre gathered */
    uint8_t type, flags;
    uint32_t sid;
    uint32_t left;               /* payload bytes still to come */
    uint8_t pre[9];
    uint8_t pre_need;
    uint32_t body_left, pad_left;
    uint32_t max_frame;          /* frames this side sends may be this long */
    int frame_stream;            /* index of the frame's stream, as last found */
    uint32_t preface_got;        /* client side: preface bytes matched */
    /* the header block in progress (HEADERS or PUSH_PROMISE, then
     * CONTINUATION): its stream, as which side's fields, its size */
    bool in_block, block_end_stream, block_record;
    uint32_t block_sid;
    int block_stream;            /* index into streams[], -1: decode only */
    uint8_t block_side;
    uint32_t block_bytes;
    uint16_t block_fields;
    nghttp2_hd_inflater *hd;
    size_t table_max, table_want; /* HPACK table size accepted, asked for */
};

struct http2_state {
    struct h2_dir d[2];
    struct h2_stream s[HTTP2_STREAMS_MAX];
    struct http_body bodies[HTTP2_BODIES_MAX];
    bool body_used[HTTP2_BODIES_MAX];
    uint64_t next_seq, next_order;
    bool started, swapped, stopped;
    uint64_t now;
    const struct http_limits *lim;
    const struct http_callbacks *cb;
    void *ctx;
    struct http2_stats *st;
    char value[HTTP_LINE_MAX];   /* one header value, terminated */
};

struct http2_state *http2_state_new(void)
{
    struct http2_state *h = calloc(1, sizeof(*h));
    if (!h)
        return NULL;
    for (int i = 0; i < HTTP2_BODIES_MAX; i++)
        if (!http_body_prepare(&h->bodies[i])) {
            http2_state_free(h);
            return NULL;
        }
    http2_state_reset(h);
    return h;
}

size_t http2_state_size(void) { return sizeof(struct http2_state); }

static void dir_init(struct h2_dir *d)
{
    if (d->hd)
        nghttp2_hd_inflate_del(d->hd);
    memset(d, 0, sizeof(*d));
    d->max_frame = FRAME_SIZE_DEFAULT;
    d->table_max = TABLE_SIZE_DEFAULT;
    d->block_stream = -1;
}

void http2_state_reset(struct http2_state *h)
{
    for (int i = 0; i < 2; i++)
        dir_init(&h->d[i]);
    for (int i = 0; i < HTTP2_BODIES_MAX; i++) {
        http_body_reset(&h->bodies[i]);
        h->body_used[i] = false;
    }
    memset(h->s, 0, sizeof(h->s));
    h->next_seq = h->next_order = 0;
    h->started = h->swapped = h->stopped = false;
}

void http2_state_free(struct http2_state *h)
{
    if (!h)
        return;
    for (int i = 0; i < 2; i++)
        if (h->d[i].hd)
            nghttp2_hd_inflate_del(h->d[i].hd);
    for (int i = 0; i < HTTP2_BODIES_MAX; i++)
        http_body_free(&h->bodies[i]);
    free(h);
}

/* --- streams ----------------------------------------------------------- */

static struct h2_stream *stream_find(struct http2_state *h, uint32_t id)
{
    for (int i = 0; i < HTTP2_STREAMS_MAX; i++)
        if (h->s[i].used && h->s[i].id == id)
            return &h->s[i];
    return NULL;
}

/* The stream of direction d's current frame: the slot found for it last
 * (prefix_done, once per frame) when it still holds that stream, else a
 * search -- not one search per chunk of a DATA frame. */
static struct h2_stream *frame_stream(struct http2_state *h, struct h2_dir *d)
{
    if (d->frame_stream >= 0 && d->frame_stream < HTTP2_STREAMS_MAX) {
        struct h2_stream *s = &h->s[d->frame_stream];
        if (s->used && s->id == d->sid)
            return s;
    }
    struct h2_stream *s = stream_find(h, d->sid);
    d->frame_stream = s ? (int)(s - h->s) : -1;
    return s;
}

/* The body of side `side` ends: its file goes to the caller. */
static void body_close(struct http2_state *h, struct h2_stream *s, int side,
                       bool cut)
{
    int b = s->body[side];
    if (b < 0)
        return;
    struct http_body *bd = &h->bodies[b];
    if (cut)
        bd->file.gap = true;
    bd->open = false;
    if (bd->file.size || bd->file.gap) {
        h->st->bodies++;
        h->cb->file_done(h->ctx, &s->tx, side, &bd->file);
    }
    h->body_used[b] = false;
    s->body[side] = -1;
}

/* The transaction is over (both sides ended, reset, evicted or the
 * connection ended): bodies first, then the transaction, then the slot. */
static void stream_done(struct http2_state *h, struct h2_stream *s)
{
    for (int side = 0; side < 2; side++) {
        body_close(h, s, side, !s->ended[side]);
        if (h->d[side].block_stream == (int)(s - h->s))
            h->d[side].block_stream = -1; /* its block is decoded, not kept */
    }
    s->tx.req_done = true;
    s->tx.resp_done = true;
    h->cb->tx_done(h->ctx, &s->tx);
    s->used = false;
}

static void stream_check_done(struct http2_state *h, struct h2_stream *s)
{
    if (s->ended[0] && s->ended[1])
        stream_done(h, s);
}

static struct h2_stream *stream_oldest(struct http2_state *h)
{
    struct h2_stream *o = &h->s[0];
    for (int i = 1; i < HTTP2_STREAMS_MAX; i++)
        if (h->s[i].order < o->order)
            o = &h->s[i];
    return o;
}

static struct h2_stream *stream_open(struct http2_state *h, uint32_t id)
{
    struct h2_stream *s = NULL;
    for (int i = 0; i < HTTP2_STREAMS_MAX && !s; i++)
        if (!h->s[i].used)
            s = &h->s[i];
    if (!s) {
        h->st->streams_over_cap++;
        s = stream_oldest(h);
        stream_done(h, s);
    }
    memset(s, 0, sizeof(*s));
    s->used = true;
    s->id = id;
    s->order = ++h->next_order;
    s->body[0] = s->body[1] = -1;
    s->tx.seq = ++h->next_seq;
    s->tx.req_usec = h->now;
    s->tx.http2 = true;
    s->tx.stream_id = id;
    snprintf(s->tx.protocol, sizeof(s->tx.protocol), "HTTP/2");
    h->st->streams++;
    return s;
}

/* --- header fields ----------------------------------------------------- */

static bool is(const uint8_t *name, size_t n, const char *want)
{
    return strlen(want) == n && memcmp(name, want, n) == 0;
}

static uint16_t status_of(const char *v, size_t vl)
{
    if (vl != 3)
        return 0;
    uint16_t st = 0;
    for (int i = 0; i < 3; i++) {
        if (v[i] < '0' || v[i] > '9')
            return 0;
        st = (uint16_t)(st * 10 + (v[i] - '0'));
    }
    return st;
}

static void pseudo_field(struct http_tx *t, int side, const uint8_t *name,
                         size_t n, const char *v, size_t vl)
{
    if (side == 0 && is(name, n, ":method"))
        text_copy(t->method, sizeof(t->method), v, vl);
    else if (side == 0 && is(name, n, ":path"))
        text_copy(t->uri, sizeof(t->uri), v, vl);
    else if (side == 0 && is(name, n, ":authority") && !t->host[0])
        text_copy(t->host, sizeof(t->host), v, vl);
    else if (side == 1 && is(name, n, ":status"))
        t->status = status_of(v, vl);
}

/* One decoded field of the block in progress in direction d. */
static void field(struct http2_state *h, struct h2_dir *d, const nghttp2_nv *nv)
{
    if (!d->block_record || d->block_stream < 0)
        return;
    struct h2_stream *s = &h->s[d->block_stream];
    int side = d->block_side;
    if (++d->block_fields > HTTP_HEADERS_MAX) {
        if (d->block_fields == HTTP_HEADERS_MAX + 1) {
            h->st->headers_over_cap++;
            s->tx.headers_truncated = true;
        }
        return;
    }
    size_t vl = nv->valuelen;
    if (vl >= sizeof(h->value)) {
        h->st->value_truncated++;
        vl = sizeof(h->value) - 1;
    }
    memcpy(h->value, nv->value, vl);
    h->value[vl] = '\0';
    if (nv->namelen && nv->name[0] == ':') {
        pseudo_field(&s->tx, side, nv->name, nv->namelen, h->value, vl);
        return;
    }
    if (nv->namelen > NAME_MAX_LEN) {
        h->st->name_over_cap++; /* a header name no parser reads: skipped */
        return;
    }
    char name[NAME_MAX_LEN + 1];
    memcpy(name, nv->name, nv->namelen);
    name[nv->namelen] = '\0';
    struct http_framing fr = { .enc = s->enc[side] };
    http_tx_header(&s->tx, &fr, side, name, nv->namelen, h->value, vl);
    s->enc[side] = fr.enc;
}

/* Feeds a fragment of the block to the direction's inflater; final at
 * END_HEADERS. False on an HPACK error (the table is lost). */
static bool hpack_feed(struct http2_state *h, struct h2_dir *d,
                       const uint8_t *p, size_t n, bool final)
{
    for (;;) {
        nghttp2_nv nv;
        int flags = 0;
        ssize_t rv = nghttp2_hd_inflate_hd2(d->hd, &nv, &flags, p, n, final);
        if (rv < 0 || (size_t)rv > n) {
            h->st->hpack_errors++;
            return false;
        }
        if (rv > 0) {             /* the final call may have no bytes */
            p += rv;
            n -= (size_t)rv;
        }
        if (flags & NGHTTP2_HD_INFLATE_EMIT)
            field(h, d, &nv);
        if (flags & NGHTTP2_HD_INFLATE_FINAL) {
            nghttp2_hd_inflate_end_headers(d->hd);
            return true;
        }
        if (!(flags & NGHTTP2_HD_INFLATE_EMIT) && n == 0)
            return true;
    }
}

/* A block starts: the inflater takes a bigger table the peer allowed. */
static bool block_begin(struct http2_state *h, struct h2_dir *d, uint32_t sid,
                        int stream, int side, bool end_stream)
{
    if (!d->hd && nghttp2_hd_inflate_new(&d->hd) != 0)
        return false;
    if (d->table_want > d->table_max) {
        if (nghttp2_hd_inflate_change_table_size(d->hd, d->table_want) == 0)
            d->table_max = d->table_want;
    }
    d->in_block = true;
    d->block_sid = sid;
    d->block_stream = stream;
    d->block_side = (uint8_t)side;
    d->block_end_stream = end_stream;
    d->block_record = stream >= 0 && !h->s[stream].head_done[side];
    d->block_bytes = 0;
    d->block_fields = 0;
    return true;
}

/* END_HEADERS: the fields are all in (false: the block did not end
 * where a field does). */
static bool block_end(struct http2_state *h, struct h2_dir *d)
{
    d->in_block = false;
    if (!hpack_feed(h, d, NULL, 0, true))
        return false;
    if (d->block_stream < 0)
        return true;
    struct h2_stream *s = &h->s[d->block_stream];
    int side = d->block_side;
    if (d->block_record && side == 0) {
        s->head_done[0] = true;
        h->st->requests++;
    } else if (d->block_record && s->tx.status >= 200) {
        s->head_done[1] = true;
        s->tx.have_response = true;
        s->tx.resp_usec = h->now;
        h->st->responses++;
    }
    if (d->block_end_stream) {
        body_close(h, s, side, false);
        s->ended[side] = true;
        stream_check_done(h, s);
    }
    return true;
}

/* --- frames ------------------------------------------------------------ */

/* Only DATA, HEADERS and PUSH_PROMISE define PADDED (0x08); on any other
 * frame the bit is undefined and ignored (RFC 9113 section 4.1). */
static bool padded(const struct h2_dir *d)
{
    return (d->flags & FL_PADDED) &&
           (d->type == FT_DATA || d->type == FT_HEADERS || d->type == FT_PUSH_PROMISE);
}

/* The payload's prefix: how many bytes precede the body proper. */
static uint8_t prefix_len(const struct h2_dir *d)
{
    uint8_t pad = padded(d) ? 1 : 0;
    switch (d->type) {
    case FT_DATA: return pad;
    case FT_HEADERS: return (uint8_t)(pad + ((d->flags & FL_PRIORITY) ? 5 : 0));
    case FT_PUSH_PROMISE: return (uint8_t)(pad + 4);
    case FT_PRIORITY: return 5;
    case FT_RST_STREAM: return 4;
    case FT_GOAWAY: return 8;
    case FT_WINDOW_UPDATE: return 4;
    case FT_SETTINGS: return d->left >= 6 ? 6 : 0;
    default: return 0;
    }
}

static bool frame_header(struct http2_state *h, int dir)
{
    struct h2_dir *d = &h->d[dir];
    cursor_t c = cur_make(d->hdr, sizeof(d->hdr));
    d->left = cur_u24be(&c);
    d->type = cur_u8(&c);
    d->flags = cur_u8(&c);
    d->sid = cur_u32be(&c) & 0x7fffffffu;
    h->st->frames++;
    h->st->settings += d->type == FT_SETTINGS && !(d->flags & FL_ACK);
    if (d->left > d->max_frame)
        h->st->frame_over_max++;
    if (d->in_block && (d->type != FT_CONTINUATION || d->sid != d->block_sid))
        return false;             /* a header block must be contiguous */
    if (!d->in_block && d->type == FT_CONTINUATION)
        return false;
    bool needs_stream = d->type == FT_DATA || d->type == FT_HEADERS ||
                        d->type == FT_PRIORITY || d->type == FT_RST_STREAM ||
                        d->type == FT_PUSH_PROMISE || d->type == FT_CONTINUATION;
    if (needs_stream && d->sid == 0)
        return false;
    if ((d->type == FT_SETTINGS || d->type == FT_GOAWAY) && d->sid != 0)
        return false;
    d->pre_need = prefix_len(d);
    if (d->pre_need > d->left)
        return false;
    d->got = 0;
    d->phase = PH_PREFIX;
    return true;
}

static void settings_entry(struct http2_state *h, int dir, cursor_t *c)
{
    uint16_t id = cur_u16be(c);
    uint32_t v = cur_u32be(c);
    struct h2_dir *peer = &h->d[dir ^ 1]; /* what it says shapes the other side */
    if (id == SET_HEADER_TABLE_SIZE) {
        if (v > HTTP2_TABLE_MAX) {
            h->st->table_size_over_cap++;
            v = HTTP2_TABLE_MAX;
        }
        if (v > peer->table_want)
            peer->table_want = v;
    } else if (id == SET_MAX_FRAME_SIZE && v >= FRAME_SIZE_DEFAULT &&
               v <= 0xffffffu) {
        peer->max_frame = v;
    }
}

/* Where the payload proper goes once the prefix is read. */
static bool prefix_done(struct http2_state *h, int dir)
{
    struct h2_dir *d = &h->d[dir];
    cursor_t c = cur_make(d->pre, d->pre_need);
    uint32_t pad = padded(d) ? cur_u8(&c) : 0;
    d->left -= d->pre_need;
    if (pad > d->left)
        return false;
    d->pad_left = pad;
    d->body_left = d->left - pad;
    struct h2_stream *s = d->sid ? frame_stream(h, d) : NULL;
    switch (d->type) {
    case FT_DATA:
        if (!s)
            h->st->unknown_stream++;
        break;
    case FT_HEADERS: {
        if (d->flags & FL_PRIORITY) {
            cur_skip(&c, 4);
            uint16_t w = (uint16_t)(cur_u8(&c) + 1);
            if (s || (s = stream_open(h, d->sid)))
                s->tx.h2_weight = w;
        }
        if (!s)
            s = stream_open(h, d->sid);
        int side = dir;
        if (!block_begin(h, d, d->sid, (int)(s - h->s), side,
                         (d->flags & FL_END_STREAM) != 0))
            return false;
        break;
    }
    case FT_PUSH_PROMISE: {
        uint32_t promised = cur_u32be(&c) & 0x7fffffffu;
        h->st->push_promises++;
        if (dir != 1 || promised == 0)
            return false;
        struct h2_stream *p = stream_open(h, promised);
        p->ended[0] = true;       /* a promised request has no body */
        if (!block_begin(h, d, d->sid, (int)(p - h->s), 0, false))
            return false;
        break;
    }
    case FT_PRIORITY:
        cur_skip(&c, 4);
        if (s)
            s->tx.h2_weight = (uint16_t)(cur_u8(&c) + 1);
        break;
    case FT_RST_STREAM:
        h->st->rst_streams++;
        if (s) {
            /* a client's reset crosses the server's frames already on
             * their way: the response that follows still belongs here;
             * the server's reset is its last word */
            s->tx.h2_rst[dir] = true;
            s->tx.h2_error[dir] = cur_u32be(&c);
            s->ended[dir] = true;
            if (dir == 1 || s->ended[1])
                stream_done(h, s);
        }
        break;
    case FT_SETTINGS:
        if (d->pre_need == 6) {
            if (!(d->flags & FL_ACK))
                settings_entry(h, dir, &c);
            if (d->left >= 6) {   /* the next entry */
                d->pre_need = 6;
                d->got = 0;
                return true;
            }
        }
        break;
    case FT_GOAWAY:
        h->st->goaways++;
        break;
    default:
        break;
    }
    d->phase = PH_BODY;
    return true;
}

/* DATA for a stream: into its body, taking a body slot on first bytes. */
static void data_bytes(struct http2_state *h, int dir, const uint8_t *p, size_t n)
{
    struct h2_dir *d = &h->d[dir];
    struct h2_stream *s = n ? frame_stream(h, d) : NULL;
    if (!s)
        return;
    *(dir ? &s->tx.resp_body_len : &s->tx.req_body_len) += n;
    if (s->body[dir] < 0 && !s->no_body[dir]) {
        for (int i = 0; i < HTTP2_BODIES_MAX && s->body[dir] < 0; i++)
            if (!h->body_used[i]) {
                h->body_used[i] = true;
                s->body[dir] = (int8_t)i;
                http_body_begin(&h->bodies[i], &s->tx, s->enc[dir], h->lim);
            }
        if (s->body[dir] < 0) {
            h->st->bodies_over_cap++;
            s->no_body[dir] = true;
        }
    }
    if (s->body[dir] >= 0)
        http_body_write(&h->bodies[s->body[dir]], p, n, h->lim, &h->st->body);
}

static bool block_bytes(struct http2_state *h, struct h2_dir *d,
                        const uint8_t *p, size_t n)
{
    d->block_bytes += (uint32_t)n;
    if (d->block_bytes > HTTP2_BLOCK_MAX) {
        h->st->block_over_cap++;
        if (d->block_stream >= 0)
            h->s[d->block_stream].tx.headers_truncated = true;
        return false;
    }
    return hpack_feed(h, d, p, n, false);
}

/* The payload proper, as far as this chunk has it. */
static bool body_bytes(struct http2_state *h, int dir, const uint8_t *p, size_t n)
{
    struct h2_dir *d = &h->d[dir];
    d->body_left -= (uint32_t)n;
    switch (d->type) {
    case FT_DATA:
        data_bytes(h, dir, p, n);
        return true;
    case FT_HEADERS:
    case FT_PUSH_PROMISE:
    case FT_CONTINUATION:
        return block_bytes(h, d, p, n);
    default:
        return true;              /* skipped: GOAWAY debug data, PING, ... */
    }
}

/* The frame is over (padding included). */
static bool frame_end(struct http2_state *h, int dir)
{
    struct h2_dir *d = &h->d[dir];
    d->phase = PH_HEADER;
    d->got = 0;
    if ((d->type == FT_HEADERS || d->type == FT_PUSH_PROMISE ||
         d->type == FT_CONTINUATION) && (d->flags & FL_END_HEADERS)) {
        return block_end(h, d);
    } else if (d->type == FT_DATA && (d->flags & FL_END_STREAM)) {
        struct h2_stream *s = frame_stream(h, d);
        if (s) {
            body_close(h, s, dir, false);
            s->ended[dir] = true;
            stream_check_done(h, s);
        }
    }
    return true;
}

/* Gathers up to `need` bytes into buf (have: already there); true once
 * complete. */
static bool gather(cursor_t *c, uint8_t *buf, uint8_t *have, uint8_t need)
{
    size_t k = need - *have;
    if (k > cur_left(c))
        k = cur_left(c);
    cur_copy(c, buf + *have, k);
    *have = (uint8_t)(*have + k);
    return *have == need;
}

/* One step of direction dir's reader over c; false when the framing broke. */
static bool step(struct http2_state *h, int dir, cursor_t *c)
{
    struct h2_dir *d = &h->d[dir];
    switch (d->phase) {
    case PH_HEADER:
        if (gather(c, d->hdr, &d->got, sizeof(d->hdr)) && !frame_header(h, dir)) {
            h->st->bad_frame++;
            return false;
        }
        return true;
    case PH_PREFIX:
        if (gather(c, d->pre, &d->got, d->pre_need) && !prefix_done(h, dir)) {
            h->st->bad_frame++;
            return false;
        }
        return true;
    case PH_BODY: {
        size_t k = d->body_left < cur_left(c) ? d->body_left : cur_left(c);
        if (k && !body_bytes(h, dir, cur_bytes(c, k), k))
            return false;
        if (d->body_left == 0)
            d->phase = PH_PAD;
        return true;
    }
    case PH_PAD: {
        size_t k = d->pad_left < cur_left(c) ? d->pad_left : cur_left(c);
        cur_skip(c, k);
        d->pad_left -= (uint32_t)k;
        return d->pad_left || frame_end(h, dir);
    }
    default:
        return false;
    }
}

/* A phase that is complete without another byte (a frame with no payload,
 * no padding, a prefix just gathered) moves on at once, so a frame that
 * ends a chunk takes effect before the next chunk. */
static bool can_advance(const struct h2_dir *d)
{
    switch (d->phase) {
    case PH_PREFIX: return d->got == d->pre_need;
    case PH_BODY: return d->body_left == 0;
    case PH_PAD: return d->pad_left == 0;
    default: return false;
    }
}

/* The client side starts with the preface, matched across chunks. */
static bool preface(struct http2_state *h, struct h2_dir *d, cursor_t *c)
{
    while (d->preface_got < HTTP2_PREFACE_LEN && cur_left(c)) {
        if (cur_u8(c) != (uint8_t)HTTP2_PREFACE[d->preface_got]) {
            h->st->bad_preface++;
            return false;
        }
        d->preface_got++;
    }
    return true;
}

static void orient(struct http2_state *h, int dir, const uint8_t *data,
                   size_t len)
{
    h->started = true;
    if (dir == 1 && len && data[0] == 'P')
        h->swapped = true;        /* the flow's "client" is the server */
}

bool http2_feed(struct http2_state *h, int dir, const uint8_t *data,
                size_t len, uint64_t now, const struct http_limits *lim,
                const struct http_callbacks *cb, void *ctx,
                struct http2_stats *st)
{
    if (h->stopped)
        return false;
    if (!h->started)
        orient(h, dir, data, len);
    dir ^= h->swapped;
    h->now = now;
    h->lim = lim;
    h->cb = cb;
    h->ctx = ctx;
    h->st = st;
    struct h2_dir *d = &h->d[dir];
    cursor_t c = cur_make(data, len);
    if (dir == 0 && !preface(h, d, &c)) {
        h->stopped = true;
        return false;
    }
    while (cur_left(&c) || can_advance(d)) {
        if (!step(h, dir, &c)) {
            h->stopped = true;
            return false;
        }
    }
    return true;
}

void http2_gap(struct http2_state *h, int dir, uint64_t len,
               const struct http_callbacks *cb, void *ctx,
               struct http2_stats *st)
{
    if (h->stopped || !h->started)
        return;
    dir ^= h->swapped;
    h->cb = cb;
    h->ctx = ctx;
    h->st = st;
    struct h2_dir *d = &h->d[dir];
    if (d->phase == PH_BODY && d->type == FT_DATA && len <= d->body_left) {
        struct h2_stream *s = stream_find(h, d->sid);
        if (s) {
            *(dir ? &s->tx.resp_body_len : &s->tx.req_body_len) += len;
            if (s->body[dir] >= 0) {
                struct http_body *b = &h->bodies[s->body[dir]];
                b->file.gap = true;
                b->z_dead = b->enc != HTTP_ENC_NONE; /* no inflating across it */
            }
        }
        d->body_left -= (uint32_t)len;
        if (d->body_left == 0)
            d->phase = PH_PAD;
        return;
    }
    st->lost_sync++;
    h->stopped = true;
}

void http2_finish(struct http2_state *h, const struct http_callbacks *cb,
                  void *ctx, struct http2_stats *st)
{
    h->cb = cb;
    h->ctx = ctx;
    h->st = st;
    /* in the order they were opened */
    for (;;) {
        struct h2_stream *o = NULL;
        for (int i = 0; i < HTTP2_STREAMS_MAX; i++)
            if (h->s[i].used && (!o || h->s[i].order < o->order))
                o = &h->s[i];
        if (!o)
            break;
        stream_done(h, o);
    }
}

void http2_upgrade(struct http2_state *h, const struct http_tx *req,
                   int server_dir, uint64_t now, struct http2_stats *st)
{
    h->started = true;
    h->swapped = server_dir == 0;
    h->now = now;
    h->st = st;
    struct h2_stream *s = stream_open(h, 1);
    uint64_t seq = s->tx.seq;
    s->tx = *req;
    s->tx.seq = seq;
    s->tx.http2 = true;
    s->tx.stream_id = 1;
    snprintf(s->tx.protocol, sizeof(s->tx.protocol), "HTTP/2");
    s->tx.status = 0;
    s->tx.have_response = false;
    s->tx.req_done = s->tx.resp_done = false;
    s->tx.resp_body_len = 0;
    s->tx.resp_content_type[0] = s->tx.location[0] = s->tx.server[0] = '\0';
    s->tx.upgrade_h2c = 0;
    s->ended[0] = s->head_done[0] = true;
}
