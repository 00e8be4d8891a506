/* quic_frames.c -- walking the frames of a decrypted QUIC packet (see
 * quic_frames.h). Frame layouts are RFC 9000 section 19 and RFC 9221
 * section 4; QUIC v2 (RFC 9369) keeps them unchanged. */
#include "proto/quic_frames.h"

uint64_t quic_varint(cursor_t *c)
{
    uint8_t b = cur_u8(c);
    uint64_t v = b & 0x3f;
    unsigned extra = (1u << (b >> 6)) - 1;
    for (unsigned i = 0; i < extra; i++)
        v = (v << 8) | cur_u8(c);
    return cur_ok(c) ? v : 0;
}

static void skip_varints(cursor_t *c, unsigned n)
{
    for (unsigned i = 0; i < n; i++)
        quic_varint(c);
}

/* A length-prefixed run of bytes (NEW_TOKEN, reason phrases). */
static void skip_prefixed(cursor_t *c)
{
    uint64_t n = quic_varint(c);
    if (n > cur_left(c))
        cur_fail(c);
    else
        cur_skip(c, (size_t)n);
}

static void skip_ack(cursor_t *c, bool ecn)
{
    skip_varints(c, 2);              /* largest acknowledged, ack delay */
    uint64_t ranges = quic_varint(c);
    quic_varint(c);                  /* first ACK range */
    /* each range is at least two bytes: a count larger than what is left
     * is a lie, refused before the loop rather than spun through */
    if (ranges > cur_left(c) / 2) {
        cur_fail(c);
        return;
    }
    for (uint64_t i = 0; i < ranges && cur_ok(c); i++)
        skip_varints(c, 2);          /* gap, ACK range length */
    if (ecn)
        skip_varints(c, 3);          /* ECT0, ECT1, ECN-CE counts */
}

static void stream_frame(cursor_t *c, uint64_t type,
                         const struct quic_frame_sink *sink)
{
    uint64_t id = quic_varint(c);
    uint64_t off = (type & 0x04) ? quic_varint(c) : 0;
    uint64_t len = (type & 0x02) ? quic_varint(c) : cur_left(c);
    if (!cur_ok(c) || len > cur_left(c)) {
        cur_fail(c);
        return;
    }
    const uint8_t *d = cur_bytes(c, (size_t)len);
    if (sink && sink->stream)
        sink->stream(sink->ctx, id, off, d, (size_t)len, type & 0x01);
}

static void crypto_frame(cursor_t *c, const struct quic_frame_sink *sink)
{
    uint64_t off = quic_varint(c);
    uint64_t len = quic_varint(c);
    if (!cur_ok(c) || len > cur_left(c)) {
        cur_fail(c);
        return;
    }
    const uint8_t *d = cur_bytes(c, (size_t)len);
    if (sink && sink->crypto)
        sink->crypto(sink->ctx, off, d, (size_t)len);
}

static void new_connection_id(cursor_t *c)
{
    skip_varints(c, 2);              /* sequence, retire prior to */
    uint8_t len = cur_u8(c);
    if (len < 1 || len > 20)
        cur_fail(c);
    cur_skip(c, len);
    cur_skip(c, 16);                 /* stateless reset token */
}

/* One frame of a known type; false when the type has no known layout. */
static bool one_frame(cursor_t *c, uint64_t type,
                      const struct quic_frame_sink *sink)
{
    if (type >= 0x08 && type <= 0x0f) {
        stream_frame(c, type, sink);
        return true;
    }
    switch (type) {
    case 0x00: /* PADDING: a run of zeros is read at once */
        while (cur_left(c) && cur_peek(c, 0) == 0)
            cur_skip(c, 1);
        return true;
    case 0x01: /* PING */
    case 0x1e: /* HANDSHAKE_DONE */
        return true;
    case 0x02: case 0x03: skip_ack(c, type == 0x03); return true;
    case 0x04: skip_varints(c, 3); return true; /* RESET_STREAM */
    case 0x05: skip_varints(c, 2); return true; /* STOP_SENDING */
    case 0x06: crypto_frame(c, sink); return true;
    case 0x07: skip_prefixed(c); return true;   /* NEW_TOKEN */
    case 0x10:                                  /* MAX_DATA */
    case 0x12: case 0x13:                       /* MAX_STREAMS */
    case 0x14:                                  /* DATA_BLOCKED */
    case 0x16: case 0x17:                       /* STREAMS_BLOCKED */
    case 0x19:                                  /* RETIRE_CONNECTION_ID */
        skip_varints(c, 1);
        return true;
    case 0x11:                                  /* MAX_STREAM_DATA */
    case 0x15:                                  /* STREAM_DATA_BLOCKED */
        skip_varints(c, 2);
        return true;
    case 0x18: new_connection_id(c); return true;
    case 0x1a: case 0x1b: cur_skip(c, 8); return true; /* PATH_* */
    case 0x1c:                      /* CONNECTION_CLOSE (transport) */
        skip_varints(c, 2);         /* error code, frame type */
        skip_prefixed(c);
        return true;
    case 0x1d:                      /* CONNECTION_CLOSE (application) */
        skip_varints(c, 1);
        skip_prefixed(c);
        return true;
    case 0x30: cur_skip(c, cur_left(c)); return true; /* DATAGRAM to the end */
    case 0x31: skip_prefixed(c); return true;         /* DATAGRAM with length */
    default:
        return false;
    }
}

enum quic_walk_result quic_frames_walk(cursor_t c,
                                       const struct quic_frame_sink *sink,
                                       unsigned *n_frames)
{
    unsigned n = 0;
    while (cur_ok(&c) && cur_left(&c) > 0) {
        uint64_t type = quic_varint(&c);
        if (!cur_ok(&c))
            break;
        if (!one_frame(&c, type, sink)) {
            *n_frames = n;
            return QW_UNKNOWN;
        }
        if (cur_ok(&c))
            n++;
    }
    *n_frames = n;
    return cur_ok(&c) ? QW_OK : QW_MALFORMED;
}
