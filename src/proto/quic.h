/* quic.h -- the clear-text side of QUIC: Initial packets (RFC 9000/9001,
 * QUIC v2 RFC 9369, and the last drafts), decrypted to reach the TLS hellos.
 *
 * Initial packets are encrypted with keys anyone can derive from the
 * client's first Destination Connection ID (HKDF with a published salt), so
 * an observer can read the ClientHello and ServerHello they carry. This
 * module derives those keys, removes header protection, opens the AEAD with
 * OpenSSL, walks the frames, reassembles CRYPTO data by offset (out of order
 * and across packets and coalesced datagrams), and hands complete handshake
 * messages to the TLS parser. Versions it cannot decrypt, short-header
 * packets, Retry and version negotiation are counted and skipped; nothing
 * that fails to authenticate is trusted.
 *
 * Everything after the Initial packets needs the session's secrets: with
 * a key log, decrypt/quic_decrypt.c takes the ClientHello's random and
 * the ServerHello's cipher suite from here and opens the Handshake and
 * 1-RTT packets itself (docs/decryption.md, QUIC). This module stays the
 * keyless part and stops reading once both hellos are in.
 */
#ifndef NIGHTJAR_QUIC_H
#define NIGHTJAR_QUIC_H

#include <stddef.h>
#include <stdint.h>

#include "proto/tls.h"

struct quic_stats {
    uint64_t datagrams, long_packets, short_packets, initials;
    uint64_t decrypted, auth_failed, unknown_version, retry, version_negotiation;
    uint64_t malformed, crypto_out_of_window;
};

/* One UDP payload of direction dir (0 = flow client). */
void quic_datagram(struct tls_pool *p, struct tls_session *s, int dir,
                   const uint8_t *data, size_t len, struct quic_stats *qst,
                   struct tls_stats *tst);

/* Adds [start, end) to the byte ranges received of a CRYPTO stream (or a
 * DTLS message) and updates how much is contiguous from offset 0. Returns
 * false when the range could not be kept (eight disjoint ranges already). */
bool crypto_ranges_add(struct quic_crypto_stream *cs, uint32_t start,
                       uint32_t end);

/* The version as text: "1", "2", "draft-29", or hex. */
const char *quic_version_name(uint32_t v, char *buf, size_t len);

struct counters;
/* Registers the QUIC counters under "quic". */
void quic_counters(const struct quic_stats *q, struct counters *r);

#endif
