/* quic_frames.h -- the frames of a decrypted QUIC packet (RFC 9000
 * section 19, DATAGRAM from RFC 9221), walked one after another.
 *
 * The walker knows the layout of every frame type of QUIC v1 and v2, so
 * it can step over the ones nobody here reads (ACK with or without ECN
 * counts, RESET_STREAM, STOP_SENDING, NEW_TOKEN, the MAX_* and *_BLOCKED
 * family, NEW_CONNECTION_ID, RETIRE_CONNECTION_ID, PATH_CHALLENGE and
 * PATH_RESPONSE, CONNECTION_CLOSE of both kinds, HANDSHAKE_DONE, DATAGRAM)
 * and hand out the two that carry data: STREAM (with every combination of
 * its OFF, LEN and FIN bits) and CRYPTO. A frame type it does not know
 * (an extension such as ACK_FREQUENCY) ends the walk: its length cannot
 * be known, so nothing after it can be trusted to start a frame.
 *
 * Every read goes through the cursor; a frame that claims more bytes than
 * the packet holds makes the walk fail. This file parses; it keeps no
 * state and never decrypts.
 */
#ifndef NIGHTJAR_QUIC_FRAMES_H
#define NIGHTJAR_QUIC_FRAMES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/cursor.h"

/* A QUIC variable-length integer (RFC 9000 section 16); 0 and the cursor
 * invalid when it does not fit. */
uint64_t quic_varint(cursor_t *c);

struct quic_frame_sink {
    /* STREAM data of stream id at offset; fin: the stream ends after it */
    void (*stream)(void *ctx, uint64_t id, uint64_t offset,
                   const uint8_t *data, size_t len, bool fin);
    /* CRYPTO data at offset */
    void (*crypto)(void *ctx, uint64_t offset, const uint8_t *data,
                   size_t len);
    void *ctx;
};

enum quic_walk_result {
    QW_OK,        /* every frame read to the end of the payload */
    QW_UNKNOWN,   /* a frame type without a known layout stopped the walk */
    QW_MALFORMED, /* a frame did not fit */
};

/* Walks the frames of one decrypted payload; *n_frames counts the frames
 * read. Either callback may be NULL. */
enum quic_walk_result quic_frames_walk(cursor_t c,
                                       const struct quic_frame_sink *sink,
                                       unsigned *n_frames);

#endif
