/* http2.h -- HTTP/2 (RFC 9113) over a reassembled stream, seen passively.
 *
 * One struct http2_state per connection, fed each direction's bytes in
 * order (dir 0 client to server, 1 server to client): h2c with prior
 * knowledge (the client preface first), the rest of a connection after an
 * "Upgrade: h2c" 101 (http2_upgrade()), or the plaintext of a TLS session
 * whose ALPN said "h2". Frames are read by this file with the bounded
 * cursor: the 9-byte frame header, SETTINGS (HEADER_TABLE_SIZE,
 * MAX_FRAME_SIZE), HEADERS and CONTINUATION (padding, the PRIORITY flag),
 * PUSH_PROMISE, DATA (padding), PRIORITY, RST_STREAM, GOAWAY and
 * WINDOW_UPDATE; PING and unknown frame types are skipped. Header blocks
 * are decoded with libnghttp2's HPACK inflater, one per direction, fed
 * each fragment as it arrives (a passive observer cannot use an
 * nghttp2_session: it never sent the requests).
 *
 * Each stream becomes a struct http_tx (proto/http.h) -- :method, :path,
 * :authority or Host, the same header fields as HTTP/1, :status, the
 * stream id, RST_STREAM error codes, the priority weight -- handed to the
 * same struct http_callbacks: every DATA body becomes a struct nj_file
 * (gzip and deflate content encodings decoded, as http.c does) and the
 * transaction is done when both sides ended the stream, it was reset, it
 * was evicted, or the connection ended.
 *
 * Caps, all counted when hit: HTTP2_STREAMS_MAX streams tracked at once
 * (the oldest is reported as it is to make room), HTTP2_BODIES_MAX bodies
 * extracted at once (a body past it is counted in its length, not kept),
 * HTTP2_BLOCK_MAX bytes of one header block and HTTP_HEADERS_MAX fields
 * (past them the fields are not recorded; past the block cap the
 * connection is no longer parsed), HTTP2_TABLE_MAX for a dynamic table a
 * SETTINGS frame asks for, and frames longer than the receiver's
 * MAX_FRAME_SIZE (counted, still read: nothing but a few bytes of a
 * control frame is ever buffered). A frame that breaks the framing, an
 * HPACK error or a hole outside a DATA payload ends the parsing of the
 * connection; the streams open then are reported at the end.
 *
 * All state is in the struct (streams from a fixed table); the HPACK
 * inflaters are made once per connection and libnghttp2 allocates the
 * header fields and dynamic-table entries it decodes. This file parses
 * HTTP/2; it never writes output, never judges content and never answers.
 */
#ifndef NIGHTJAR_HTTP2_H
#define NIGHTJAR_HTTP2_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto/http.h"

#define HTTP2_STREAMS_MAX 32
#define HTTP2_BODIES_MAX 8
#define HTTP2_BLOCK_MAX 65536
#define HTTP2_TABLE_MAX 65536

/* the client connection preface (RFC 9113 3.4) */
#define HTTP2_PREFACE "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
#define HTTP2_PREFACE_LEN 24

#define HTTP2_ERRORS(X) \
    X(bad_preface) X(bad_frame) X(hpack_errors) X(streams_over_cap) \
    X(bodies_over_cap) X(block_over_cap) X(headers_over_cap) \
    X(value_truncated) X(name_over_cap) X(frame_over_max) X(table_size_over_cap) \
    X(unknown_stream) X(lost_sync)

struct http2_stats {
    uint64_t frames, streams, requests, responses, bodies;
    uint64_t settings, rst_streams, goaways, push_promises;
#define HTTP2_STAT_FIELD(n) uint64_t n;
    HTTP2_ERRORS(HTTP2_STAT_FIELD)
#undef HTTP2_STAT_FIELD
    struct http_stats body;       /* decompress_* of bodies */
};

struct http2_state;

struct http2_state *http2_state_new(void);
void http2_state_free(struct http2_state *h);
/* Back to a new connection, keeping file buffers and zlib contexts. */
void http2_state_reset(struct http2_state *h);
size_t http2_state_size(void);

/* dir: 0 client to server, 1 server to client (a client preface from
 * direction 1 turns the parser around). Returns false once the stream is
 * not (or no longer) HTTP/2. */
bool http2_feed(struct http2_state *h, int dir, const uint8_t *data,
                size_t len, uint64_t now_usec, const struct http_limits *lim,
                const struct http_callbacks *cb, void *ctx,
                struct http2_stats *st);

/* len bytes missing in direction dir: inside a DATA payload the body is
 * marked incomplete and framing goes on after the hole; anywhere else the
 * connection is no longer parsed. */
void http2_gap(struct http2_state *h, int dir, uint64_t len,
               const struct http_callbacks *cb, void *ctx,
               struct http2_stats *st);

/* End of the connection: open bodies and streams are reported. */
void http2_finish(struct http2_state *h, const struct http_callbacks *cb,
                  void *ctx, struct http2_stats *st);

/* A fresh state takes over after an h2c upgrade: req (the HTTP/1.1
 * request) becomes stream 1, half closed by the client, whose response
 * follows in HTTP/2; server_dir is the flow direction the 101 came from. */
void http2_upgrade(struct http2_state *h, const struct http_tx *req,
                   int server_dir, uint64_t now_usec, struct http2_stats *st);

#endif
