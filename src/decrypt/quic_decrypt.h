/* quic_decrypt.h -- passive decryption of QUIC Handshake and 1-RTT packets
 * with the secrets of a key log (RFC 9001, QUIC v2 RFC 9369).
 *
 * quic.c reads the Initial packets anyone can open and hands their
 * ClientHello and ServerHello to the TLS parser; this module takes over
 * from there when the sensor has a key log. The ClientHello's random is
 * the key log's key, the ServerHello's cipher suite says how to use the
 * secrets: CLIENT/SERVER_HANDSHAKE_TRAFFIC_SECRET open the Handshake
 * packets, CLIENT/SERVER_TRAFFIC_SECRET_0 the 1-RTT (short header)
 * packets. From each secret come key, iv and hp ("quic key", "quic iv",
 * "quic hp"; "quicv2 ..." for v2) with the suite's hash; AES-128-GCM,
 * AES-256-GCM and ChaCha20-Poly1305, header protection with AES-ECB or
 * ChaCha20 (RFC 9001 5.4.3, 5.4.4), all through OpenSSL.
 *
 * Per packet: header protection removed, the packet number rebuilt from
 * the largest one seen in its space and direction (RFC 9000 A.3), the
 * AEAD opened with the header as associated data. A short header's
 * Destination Connection ID is as long as the ID the receiving side chose
 * in its own long-header packets. Key updates (RFC 9001 section 6): the
 * next generation ("quic ku") is tried when the key phase bit flips, the
 * previous one is kept for packets reordered across the update. Packets
 * coalesced in one datagram are each read. A packet that does not
 * authenticate is counted and its bytes are never passed on.
 *
 * The 1-RTT frames are walked (proto/quic_frames.h). The server's
 * Handshake CRYPTO stream is read far enough to find the ALPN its
 * EncryptedExtensions chose. STREAM data of client-initiated
 * bidirectional streams is put back in order per stream and direction,
 * in a few tracked streams (QD_STREAMS) with a few out-of-order pieces
 * (QD_PENDING, in a QD_ARENA-byte area per connection); a cap hit is
 * counted and that direction of the stream is no longer followed. The
 * in-order bytes go to the caller's callback -- except HTTP/3 ("h3",
 * "h3-*"), whose streams (QPACK-compressed frames) are counted, not
 * parsed or passed on.
 *
 * Memory: one fixed-size state per QUIC connection with a known client
 * random, taken from a free list and counted against the engine's memcap;
 * nothing is allocated per packet. This file decrypts and reassembles; it
 * never interprets what the streams say and never writes output.
 */
#ifndef NIGHTJAR_QUIC_DECRYPT_H
#define NIGHTJAR_QUIC_DECRYPT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "decrypt/tls_crypto.h"

#define QD_STREAMS 8      /* client-initiated bidirectional streams followed at once */
#define QD_PENDING 8      /* out-of-order STREAM pieces kept per connection */
#define QD_ARENA 4096     /* bytes those pieces may hold */
#define QD_EE_BUF 512     /* server Handshake CRYPTO bytes read for the ALPN */

#define QUIC_DECRYPT_STATS(X)                                              \
    X(decrypt_sessions) X(decrypt_sessions_keyed)                          \
    X(decrypt_sessions_without_key) X(decrypt_unsupported_cipher)          \
    X(decrypt_over_memcap) X(decrypted_handshake) X(auth_failed_handshake) \
    X(decrypted_1rtt) X(auth_failed_1rtt) X(key_updates)                   \
    X(packets_without_keys) X(zero_rtt_skipped) X(decrypt_malformed)       \
    X(unknown_frames) X(stream_frames) X(stream_bytes)                     \
    X(stream_bytes_other) X(h3_streams) X(h3_stream_bytes)                 \
    X(streams_over_cap) X(stream_ranges_over_cap) X(ended_over_cap)       \
    X(coalesced_over_cap) X(ee_over_cap) X(key_lookups_over_cap)           \
    X(key_update_failed)

struct quic_decrypt_stats {
#define X(n) uint64_t n;
    QUIC_DECRYPT_STATS(X)
#undef X
};

/* The keys of one direction and generation (RFC 9001 5.1). */
struct quic_keys {
    uint8_t key[32], iv[12], hp[32];
};

struct keylog;
struct tls_session;
struct quic_decrypt_engine;
struct quic_decrypt;

/* keylog: not owned; stats: the pipeline's (registered whether or not an
 * engine exists). memcap: bytes of connection states. */
struct quic_decrypt_engine *quic_decrypt_engine_new(struct keylog *keylog,
                                                    uint64_t memcap,
                                                    struct quic_decrypt_stats *st);
void quic_decrypt_engine_free(struct quic_decrypt_engine *e);
uint64_t quic_decrypt_engine_memory(const struct quic_decrypt_engine *e);

/* A connection's state (NULL and counted over the memcap). */
struct quic_decrypt *quic_decrypt_new(struct quic_decrypt_engine *e);
void quic_decrypt_free(struct quic_decrypt_engine *e, struct quic_decrypt *s);

/* What the handshake parser learnt: the client random, the cipher suite,
 * the version and the ALPN offered. Called again as it learns more. */
void quic_decrypt_hello(struct quic_decrypt_engine *e, struct quic_decrypt *s,
                        const struct tls_session *t);

/* In-order bytes of a client-initiated bidirectional stream, direction dir
 * (0: from the client). */
typedef void (*quic_plain_fn)(void *ctx, int dir, uint64_t stream_id,
                              const uint8_t *data, size_t len);

/* One UDP payload of direction dir (0: the flow's client). */
void quic_decrypt_datagram(struct quic_decrypt_engine *e,
                           struct quic_decrypt *s, int dir,
                           const uint8_t *data, size_t len, quic_plain_fn fn,
                           void *ctx);

/* The ALPN the server chose (its EncryptedExtensions), or the client's
 * first offer when that could not be read; "" when none. */
const char *quic_decrypt_alpn(const struct quic_decrypt *s);
/* Some 1-RTT packet of the connection was opened. */
bool quic_decrypt_opened(const struct quic_decrypt *s);

/* ---- the pieces, for the tests and the fuzzer ---------------------------- */

/* The packet number a truncated one of pn_len bytes stands for, given
 * the largest seen in its space (RFC 9000 A.3); have_largest false: none
 * seen yet. */
uint64_t quic_pn_decode(uint64_t largest, bool have_largest,
                        uint64_t truncated, unsigned pn_len);

/* key, iv and hp from a traffic secret (v2: the "quicv2" labels). */
bool quic_keys_derive(const struct tls_suite *s, bool v2, const uint8_t *secret,
                      size_t secret_len, struct quic_keys *k);
/* The next generation's secret ("quic ku"/"quicv2 ku"), same length. */
bool quic_secret_update(const struct tls_suite *s, bool v2,
                        const uint8_t *secret, size_t secret_len,
                        uint8_t *next);

/* Removes header protection from a short-header packet whose DCID is
 * dcid_len bytes and opens it; the payload goes to out (len bytes at
 * least), its length to *out_len. *pn and *phase say what the header
 * held. For tests: the engine's own path is quic_decrypt_datagram. */
bool quic_open_short(struct quic_decrypt_engine *e, const struct tls_suite *s,
                     const struct quic_keys *k, const uint8_t *pkt,
                     size_t len, size_t dcid_len, uint64_t largest, bool have_largest,
                     uint8_t *out, size_t *out_len, uint64_t *pn,
                     int *phase);

/* Protects a short-header packet (header: first byte, DCID, pn_len bytes
 * of packet number; payload after it, with room for the 16-byte tag) in
 * place; the inverse of quic_open_short, for building test packets. */
bool quic_seal_short(struct quic_decrypt_engine *e, const struct tls_suite *s,
                     const struct quic_keys *k, uint8_t *pkt,
                     size_t header_len, size_t payload_len, uint64_t pn);

struct counters;
/* Registers the decryption counters under "quic." */
void quic_decrypt_counters(const struct quic_decrypt_stats *st,
                           struct counters *r);

#endif
