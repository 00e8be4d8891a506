/* http.h -- HTTP/1.0 and 1.1 over a reassembled TCP stream.
 *
 * One struct http_state per flow, fed each direction's bytes in order. It
 * reads request and status lines and headers, pairs responses with
 * requests in order (pipelining and keep-alive), follows Content-Length,
 * chunked and read-until-close bodies, and decodes gzip and deflate
 * content encodings with zlib. Every body becomes a struct nj_file (the
 * decoded bytes); the caller is told when a file ends and when a
 * transaction is complete. After a successful CONNECT or a 101 upgrade the
 * stream is no longer HTTP and the parser stops (the caller's TLS probe
 * then reads the tunnel).
 *
 * Caps, all counted when hit: a header line is kept up to HTTP_LINE_MAX
 * bytes, a header block up to HTTP_HEADER_BYTES_MAX bytes and
 * HTTP_HEADERS_MAX lines (then the flow is no longer parsed), pending
 * requests up to HTTP_MAX_PENDING, and decoded bodies up to the decompress
 * limit and ratio (a decompression bomb stops being inflated).
 *
 * This file parses HTTP; it never writes output and never judges content.
 */
#ifndef NIGHTJAR_HTTP_H
#define NIGHTJAR_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <zlib.h>

#include "content/file.h"

#define HTTP_LINE_MAX 4096
#define HTTP_HEADERS_MAX 128
#define HTTP_HEADER_BYTES_MAX 65536
#define HTTP_MAX_PENDING 4

struct http_tx {
    uint64_t seq;                 /* 1, 2, ... within the flow */
    uint64_t req_usec, resp_usec;
    char method[24];
    char protocol[16];
    char uri[2048];
    char host[256];
    char user_agent[256];
    char referer[512];
    char req_content_type[128];
    char xff[256];                /* X-Forwarded-For, lines joined by ", " */
    char forwarded[256];          /* Forwarded (RFC 7239), likewise */
    char resp_content_type[128];
    char location[512];
    char server[128];
    char filename[FILE_NAME_MAX]; /* Content-Disposition of either side */
    uint16_t status;
    bool have_response;
    bool req_done, resp_done;
    uint64_t req_body_len, resp_body_len; /* message bodies, before decoding */
    uint16_t req_headers;         /* HTTP_HDR_* the request carried */
    uint8_t req_header_count;     /* header lines of the request */
    bool headers_truncated;
    bool xff_truncated, forwarded_truncated; /* longer than kept: not used */
    uint8_t upgrade_h2c;          /* HTTP_H2C_*: an h2c upgrade offered/taken */
    /* HTTP/2 (proto/http2.c): the stream, what RST_STREAM said each way
     * and the weight a PRIORITY (or HEADERS priority) gave it */
    bool http2;
    uint32_t stream_id;
    bool h2_rst[2];
    uint32_t h2_error[2];
    uint16_t h2_weight;           /* 1-256; 0: none given */
};

#define HTTP_H2C_OFFERED 0x01     /* the request said Upgrade: h2c */
#define HTTP_H2C_CHOSEN  0x02     /* the response said Upgrade: h2c */

/* request headers whose presence tells a browser from a bot */
#define HTTP_HDR_ACCEPT          0x0001
#define HTTP_HDR_ACCEPT_LANGUAGE 0x0002
#define HTTP_HDR_ACCEPT_ENCODING 0x0004
#define HTTP_HDR_COOKIE          0x0008
#define HTTP_HDR_REFERER         0x0010
#define HTTP_HDR_CONNECTION      0x0020
#define HTTP_HDR_CACHE_CONTROL   0x0040

#define HTTP_ERRORS(X) \
    X(line_truncated) X(headers_over_cap) X(pending_over_cap) \
    X(bad_chunk) X(decompress_errors) X(decompression_bombs) \
    X(decompress_over_cap) X(not_http) X(response_without_request)

struct http_stats {
    uint64_t requests, responses, bodies;
#define HTTP_STAT_FIELD(n) uint64_t n;
    HTTP_ERRORS(HTTP_STAT_FIELD)
#undef HTTP_STAT_FIELD
};

struct http_limits {
    size_t file_max;              /* decoded body bytes kept per file */
    uint64_t decompress_max;      /* decoded bytes per body, then stop */
    uint32_t decompress_ratio;    /* decoded/encoded beyond 1 MiB, then stop */
    struct file_buffers *bufs;    /* where kept bytes live; may be NULL */
    unsigned hash_mask;           /* digests of bodies; 0 for all */
};

/* How a message's body is framed and encoded, from its headers. */
enum http_encoding { HTTP_ENC_NONE, HTTP_ENC_ZLIB_OR_GZIP, HTTP_ENC_DEFLATE };
struct http_framing {
    bool have_cl, chunked;
    uint64_t cl;
    uint8_t enc;                  /* enum http_encoding */
};

/* One body being turned into a file: the file, and the zlib stream that
 * decodes a gzip or deflate content encoding into it. http.c keeps one per
 * direction; proto/http2.c one per open stream body. Bytes past the
 * decompress limit or ratio are counted and not inflated. */
struct http_body {
    bool open;
    uint8_t enc;                  /* enum http_encoding */
    bool z_ready, z_dead, z_raw_tried;
    uint64_t z_in, z_out;
    z_stream z;
    struct nj_file file;
};

/* Makes the digest contexts now (false: out of memory); free releases the
 * zlib state and the file's contexts. */
bool http_body_prepare(struct http_body *b);
void http_body_free(struct http_body *b);
/* A new body for tx (named from its Content-Disposition or URI), encoded
 * enc, kept up to lim. */
void http_body_begin(struct http_body *b, const struct http_tx *tx,
                     uint8_t enc, const struct http_limits *lim);
void http_body_write(struct http_body *b, const uint8_t *data, size_t len,
                     const struct http_limits *lim, struct http_stats *st);
/* Back to closed, keeping the zlib stream and digest contexts. */
void http_body_reset(struct http_body *b);

/* One header (name n bytes, value v of vl bytes, NUL-terminated) of a
 * request (dir 0) or response (dir 1): the fields of t it fills and the
 * framing it sets, as a header line of HTTP/1.x would. */
void http_tx_header(struct http_tx *t, struct http_framing *fr, int dir,
                    const char *name, size_t n, const char *v, size_t vl);

struct http_callbacks {
    /* A body ended; the file is complete or cut (f->truncated, f->gap). */
    void (*file_done)(void *ctx, const struct http_tx *tx, int dir,
                      struct nj_file *f);
    /* Response complete (or the flow ended with the request unanswered). */
    void (*tx_done)(void *ctx, const struct http_tx *tx);
};

struct http_state;

struct http_state *http_state_new(void);
void http_state_free(struct http_state *h);
/* Back to a new connection, keeping file buffers and zlib contexts, so a
 * pooled state is reused without allocating. */
void http_state_reset(struct http_state *h);
size_t http_state_size(void);

/* dir: 0 client to server, 1 server to client. Returns false once the
 * stream is not (or no longer) HTTP. */
bool http_feed(struct http_state *h, int dir, const uint8_t *data,
               size_t len, uint64_t now_usec, const struct http_limits *lim,
               const struct http_callbacks *cb, void *ctx,
               struct http_stats *st);

/* How many of the next bytes of direction dir are message body (the app
 * layer's stream window leaves those to the files they make): 0 outside
 * a body; a Content-Length body's remaining bytes, so what follows its end
 * in the same chunk (the next message's start line and headers) is not
 * body; HTTP_BODY_UNBOUNDED for a body read until the connection closes,
 * or a chunked one (its end is known only at its last chunk). */
#define HTTP_BODY_UNBOUNDED UINT64_MAX
uint64_t http_body_ahead(const struct http_state *h, int dir);

/* len bytes missing in direction dir: inside a body of known length the
 * file is marked incomplete and framing goes on after the hole; a hole in
 * headers, or longer than what the body had left, ends parsing. */
void http_gap(struct http_state *h, int dir, uint64_t len,
              const struct http_callbacks *cb, void *ctx,
              struct http_stats *st);

/* End of the flow: bodies read until close end here; transactions still
 * open are reported. */
void http_finish(struct http_state *h, const struct http_callbacks *cb,
                 void *ctx, struct http_stats *st);

/* One header block handed over whole (an ICAP client's encapsulated
 * req-hdr, dir 0, or res-hdr, dir 1): its start line and headers fill t's
 * fields as a stream's would, and fr says how the body is framed. False
 * when the start line is not HTTP. Counted in st as a stream's headers. */
/* After a 101 that took an h2c upgrade (HTTP_H2C_CHOSEN on the request
 * that offered it) the HTTP/1 parser stops; this returns that transaction
 * and, in *rest, how many bytes at the end of the last http_feed() call
 * came after the 101's headers (the first HTTP/2 bytes), and in
 * *server_dir the flow direction the 101 came from. NULL otherwise. */
const struct http_tx *http_h2c_upgrade(const struct http_state *h,
                                       size_t *rest, int *server_dir);

bool http_head_parse(struct http_tx *t, int dir, const char *block, size_t len,
                     struct http_framing *fr, struct http_stats *st);

#endif
