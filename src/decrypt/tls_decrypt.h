/* tls_decrypt.h -- passive decryption of TLS sessions over TCP.
 *
 * The engine (one per worker) holds what opens sessions: the key log
 * (keylog.h), RSA server keys (rsa_keys.h) and a cache of TLS <= 1.2
 * master secrets by session ID and by ticket hash, so that an abbreviated
 * handshake resumes what a full one opened. A session (one per TCP flow
 * that starts with a TLS hello, and only when the engine has secrets to
 * try) follows the records of both directions however TCP cut them: the
 * hellos and the RSA ClientKeyExchange in clear (with the transcript hash
 * extended master secrets need), then every protected record.
 *
 * TLS <= 1.2: the master secret comes from the key log's CLIENT_RANDOM,
 * from an RSA premaster (an "RSA" key log line, or the server's private
 * key), or from the resumption cache; the key block follows (PRF), and
 * each side's records are opened from its ChangeCipherSpec on. TLS 1.3:
 * the handshake traffic secrets open the encrypted handshake; each side
 * switches to its application secret after its Finished; KeyUpdate moves
 * a side to its next secret. Application data comes out through the
 * callback, in order, per direction; nothing that fails to authenticate
 * is passed on. A session with no key, a cipher suite nightjar cannot
 * open, a TCP gap or records that stop authenticating is counted and left
 * encrypted.
 *
 * Memory: a session's fixed part is small; the buffer a record split over
 * segments is gathered in (at most TLS_RECORD_MAX bytes per direction) is
 * taken only when a record is split, and all of it is counted against the
 * engine's memcap. This file decrypts; it never parses what the
 * cleartext says and never writes output.
 */
#ifndef NIGHTJAR_TLS_DECRYPT_H
#define NIGHTJAR_TLS_DECRYPT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TLS_RECORD_MAX (16384 + 2048)

struct keylog;
struct rsa_keys;

struct tls_decrypt_stats {
    uint64_t sessions, sessions_keyed, sessions_without_key;
    uint64_t sessions_unsupported_cipher, sessions_over_memcap;
    uint64_t resumed, rsa_opened, rsa_failed, cache_replaced;
    uint64_t records, records_auth_failed, records_too_long, records_truncated;
    uint64_t bytes;
    uint64_t key_updates, gaps, early_data_skipped;
};

struct tls_decrypt_engine;
struct tls_decrypt;

/* keylog and rsa may be NULL (not both, or nothing is ever opened); the
 * engine does not own them. memcap: bytes of sessions and buffers. */
struct tls_decrypt_engine *tls_decrypt_engine_new(struct keylog *keylog,
                                                  const struct rsa_keys *rsa,
                                                  uint64_t memcap);
void tls_decrypt_engine_free(struct tls_decrypt_engine *e);
const struct tls_decrypt_stats *tls_decrypt_engine_stats(
    const struct tls_decrypt_engine *e);
uint64_t tls_decrypt_engine_memory(const struct tls_decrypt_engine *e);

/* The server of the connection (for RSA keys bound to an address). */
struct tls_server_id {
    uint8_t addr[16];    /* as struct ip_addr: IPv4 in the first 4 bytes */
    uint16_t port;
};

/* A new session (NULL and counted over the memcap). */
struct tls_decrypt *tls_decrypt_new(struct tls_decrypt_engine *e,
                                    const struct tls_server_id *server);
void tls_decrypt_free(struct tls_decrypt_engine *e, struct tls_decrypt *s);

/* Application data, in order, of direction dir (as given to feed). */
typedef void (*tls_plain_fn)(void *ctx, int dir, const uint8_t *data,
                             size_t len);

/* The bytes of direction dir (0: the flow's client) in stream order. */
void tls_decrypt_feed(struct tls_decrypt_engine *e, struct tls_decrypt *s,
                      int dir, const uint8_t *data, size_t len,
                      tls_plain_fn fn, void *ctx);
/* Bytes missing in direction dir: the records cannot be followed on. */
void tls_decrypt_gap(struct tls_decrypt_engine *e, struct tls_decrypt *s,
                     int dir);

/* The protocol the server chose by ALPN ("" when none). */
const char *tls_decrypt_alpn(const struct tls_decrypt *s);
/* Some record of the session was opened. */
bool tls_decrypt_opened(const struct tls_decrypt *s);

struct counters;
/* Registers "tls_decrypt.*". */
void tls_decrypt_counters(const struct tls_decrypt_engine *e,
                          struct counters *r);

#endif
