/* dtls.c -- DTLS handshake reassembly (see dtls.h).
 *
 * Fragments of one message are copied into the direction's handshake
 * buffer at their offset; the byte ranges received are tracked in the
 * session's small range list (the same one QUIC uses for CRYPTO data), and
 * the message is parsed once it is whole. One message per direction is
 * reassembled at a time: a fragment of a later message starts over.
 */
#include "proto/dtls.h"

#include <string.h>

#include "proto/quic.h"
#include "util/cursor.h"

static void fragment(struct tls_pool *p, struct tls_session *s, int dir,
                     uint8_t type, uint32_t length, uint16_t seq, uint32_t off,
                     const uint8_t *data, uint32_t n, struct tls_stats *st)
{
    if (off == 0 && n == length) { /* the common case: a whole message */
        tls_session_message(s, dir, type, data, n, st);
        return;
    }
    if ((uint64_t)off + n > length || length > TLS_HS_BUF) {
        st->err[TLS_ERR_message_too_big]++;
        return;
    }
    struct quic_crypto_stream *cs = &s->quic.crypto[dir];
    /* the range list is reset when a new message starts */
    if (cs->consumed != ((uint32_t)seq << 8 | type) + 1) {
        memset(cs, 0, sizeof(*cs));
        cs->consumed = ((uint32_t)seq << 8 | type) + 1;
    }
    uint8_t *buf = tls_session_buffer(p, s, dir, st);
    if (!buf)
        return;
    memcpy(buf + off, data, n);
    if (!crypto_ranges_add(cs, off, off + n))
        st->err[TLS_ERR_fragments_over_cap]++;
    if (cs->contiguous == length) {
        tls_session_message(s, dir, type, buf, length, st);
        memset(cs, 0, sizeof(*cs));
    }
}

void dtls_datagram(struct tls_pool *p, struct tls_session *s, int dir,
                   const uint8_t *data, size_t len, struct tls_stats *st)
{
    s->dtls = true;
    cursor_t c = cur_make(data, len);
    while (cur_left(&c) >= 13) {
        uint8_t type = cur_u8(&c);
        uint16_t version = cur_u16be(&c);
        uint16_t epoch = cur_u16be(&c);
        cur_skip(&c, 6); /* sequence number */
        cursor_t rec = cur_sub(&c, cur_u16be(&c));
        /* 0xfeXX, or 0x0100: OpenSSL's pre-standard DTLS ("DTLS1_BAD_VER") */
        if (!cur_ok(&c) || ((version >> 8) != 0xfe && version != 0x0100)) {
            st->err[TLS_ERR_bad_record_type]++;
            return;
        }
        if (type != 22 || epoch != 0)
            continue; /* alerts, CCS, and everything encrypted */
        while (cur_left(&rec) >= 12) {
            uint8_t mtype = cur_u8(&rec);
            uint32_t mlen = cur_u24be(&rec);
            uint16_t seq = cur_u16be(&rec);
            uint32_t off = cur_u24be(&rec);
            uint32_t flen = cur_u24be(&rec);
            const uint8_t *body = cur_bytes(&rec, flen);
            if (!body) {
                st->err[TLS_ERR_hello_malformed]++;
                break;
            }
            if (mtype == 1 || mtype == 2 || mtype == 11)
                fragment(p, s, dir, mtype, mlen, seq, off, body, flen, st);
        }
    }
}
