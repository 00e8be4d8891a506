/* tls.h -- TLS handshakes as seen from the wire, without decrypting.
 *
 * Two layers. The hello parsers (tls_parse_client_hello, _server_hello) turn
 * one handshake message body into a typed record; QUIC calls them too, on
 * the ClientHello it decrypts from Initial packets. The session layer
 * (tls_session_*) follows the records of one TCP connection in both
 * directions, however they are cut: handshake messages split over records
 * and segments, several messages in one record, SSLv2-compatible hellos. It
 * collects ClientHello, ServerHello, the certificates of TLS <= 1.2, alerts,
 * and whether the handshake completed; it stops reading a direction once
 * that direction is encrypted.
 *
 * Every length is checked through the cursor type; malformed messages are
 * counted by reason in tls_stats and the session stops trusting that
 * direction. Handshake reassembly uses one fixed-size buffer per direction
 * from a memory-capped pool, given back as soon as the direction is done.
 * Nothing here decides whether a handshake is malicious.
 */
#ifndef NIGHTJAR_TLS_H
#define NIGHTJAR_TLS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto/x509.h"
#include "util/cursor.h"

#define TLS_MAX_LIST 512       /* ciphers, extensions, groups, ... kept */
#define TLS_MAX_SHORT 32       /* versions, key shares, point formats */
#define TLS_MAX_ALPN 8
#define TLS_ALPN_LEN 64
#define TLS_SNI_LEN 256
#define TLS_MAX_CERTS 2        /* certificates parsed in full: leaf, issuer */
#define TLS_MAX_CHAIN 16       /* certificates whose hashes are kept */
#define TLS_MAX_ALERTS 4

struct tls_client_hello {
    uint16_t legacy_version;   /* the ClientHello's version field */
    uint16_t record_version;   /* the record layer's (0 for QUIC) */
    uint16_t n_ciphers, n_exts, n_groups, n_sig_algs, n_versions;
    uint16_t n_key_shares, n_alpn;
    uint8_t n_ec_formats;
    bool sslv2;                /* arrived as an SSLv2-compatible hello */
    bool truncated_lists;      /* a list was longer than we keep */
    bool has_sni;
    bool has_session_ticket, has_psk, has_early_data;
    uint8_t session_id_len;
    uint16_t ciphers[TLS_MAX_LIST];
    uint16_t exts[TLS_MAX_LIST];
    uint16_t groups[TLS_MAX_LIST];
    uint16_t sig_algs[TLS_MAX_LIST];
    uint16_t versions[TLS_MAX_SHORT];
    uint16_t key_shares[TLS_MAX_SHORT];
    uint8_t ec_formats[TLS_MAX_SHORT];
    char sni[TLS_SNI_LEN];     /* NUL-terminated; bytes as sent */
    uint8_t alpn_len[TLS_MAX_ALPN];
    uint8_t alpn[TLS_MAX_ALPN][TLS_ALPN_LEN]; /* raw bytes, first ones */
    uint8_t alpn0_full_len;    /* length of the first ALPN as sent */
    uint8_t alpn0_last;        /* its last byte (it may be cut above) */
    uint8_t random[32];        /* the key log's key (QUIC decryption) */
};

struct tls_server_hello {
    uint16_t legacy_version;
    uint16_t selected_version; /* supported_versions, or legacy_version */
    uint16_t cipher;
    uint16_t n_exts;
    bool hello_retry;
    bool truncated_lists;
    uint16_t exts[TLS_MAX_LIST];
    uint8_t alpn_len;
    char alpn[TLS_ALPN_LEN];
};

/* Why a message or record was refused. */
#define TLS_ERRORS(X)        \
    X(record_too_long)       \
    X(bad_record_type)       \
    X(hello_malformed)       \
    X(extension_malformed)   \
    X(certificate_malformed) \
    X(message_too_big)       \
    X(lists_truncated)       \
    X(buffers_exhausted)     \
    X(alerts_over_cap)       \
    X(chain_over_cap)        \
    X(fragments_over_cap)

enum tls_error {
#define X(n) TLS_ERR_##n,
    TLS_ERRORS(X)
#undef X
    TLS_ERR_COUNT
};

struct tls_stats {
    uint64_t sessions, client_hellos, server_hellos, certificates;
    uint64_t handshakes_complete, alerts;
    uint64_t err[TLS_ERR_COUNT];
};

extern const char *const tls_error_names[TLS_ERR_COUNT];

/* Parse one handshake message body (after the 4-byte header). */
bool tls_parse_client_hello(cursor_t body, struct tls_client_hello *ch,
                            struct tls_stats *st);
bool tls_parse_server_hello(cursor_t body, struct tls_server_hello *sh,
                            struct tls_stats *st);
/* DTLS's ClientHello has a cookie after the session id. */
bool dtls_parse_client_hello(cursor_t body, struct tls_client_hello *ch,
                             struct tls_stats *st);

/* GREASE values (RFC 8701): 0x?a?a with equal bytes. */
static inline bool tls_is_grease(uint16_t v)
{
    return (v & 0x0f0f) == 0x0a0a && (v >> 8) == (v & 0xff);
}

/* "TLS 1.2", "TLSv1", "SSLv3", ... as Suricata names them. */
const char *tls_version_name(uint16_t v, char *buf, size_t len);

/* ---- sessions ------------------------------------------------------------ */

/* What QUIC adds to a session: the Initial keys (RFC 9001 section 5.2)
 * and where the CRYPTO stream of each direction stands. See quic.h. */
struct quic_crypto_stream {
    uint32_t contiguous;             /* CRYPTO bytes from offset 0 */
    uint32_t consumed;               /* handed to the message parser */
    uint8_t n_ranges;
    uint32_t range[8][2];            /* received [start, end) */
};

struct tls_quic {
    bool is_quic;
    bool keys_ready;
    uint8_t dcid_len;
    uint32_t version;
    uint8_t dcid[20];
    uint8_t key[2][16], iv[2][12], hp[2][16];
    struct quic_crypto_stream crypto[2];
    uint32_t packets, initials, decrypted, undecryptable;
};

struct tls_alert {
    uint8_t dir, level, description;
};

struct tls_session {
    struct tls_client_hello ch;
    struct tls_server_hello sh;
    struct tls_server_hello sh_first; /* a HelloRetryRequest, if one came */
    bool have_ch, have_sh, have_sh_first;
    int8_t client_dir;               /* direction that sent ClientHello */
    struct x509_cache *cert_cache;   /* the pool's (the worker's); may be NULL */
    uint8_t n_certs;
    uint8_t chain_len;               /* certificates in the message */
    struct x509_info certs[TLS_MAX_CERTS];
    uint8_t chain_sha1[TLS_MAX_CHAIN][20];
    uint8_t n_alerts;
    struct tls_alert alerts[TLS_MAX_ALERTS];
    bool ccs[2], appdata[2];
    bool complete;
    bool logged;                     /* the tls event was written */
    bool dtls;                       /* the session is DTLS over UDP */
    struct tls_quic quic;
    struct tls_dir_state {
        uint8_t hdr[5];
        uint8_t hdr_have;
        uint8_t rec_type;
        uint32_t rec_left;
        bool stopped;                /* malformed or not TLS: ignore */
        bool encrypted;              /* nothing more in the clear */
        uint8_t *hs;                 /* handshake bytes being reassembled */
        uint32_t hs_len;
        uint32_t hs_skip;            /* bytes of an oversized message to drop */
    } dir[2];
};

struct tls_pool;

/* buffers: handshake reassembly buffers of TLS_HS_BUF bytes, at most
 * memcap bytes in all. */
#define TLS_HS_BUF 32768
struct tls_pool *tls_pool_new(uint64_t memcap);
/* The worker's scratch for QUIC (quic.c): a buffer of TLS_QUIC_PLAIN_MAX
 * bytes for a decrypted packet, and a cipher context (EVP_CIPHER_CTX). */
#define TLS_QUIC_PLAIN_MAX 65536
uint8_t *tls_pool_quic_plain(struct tls_pool *p);
void *tls_pool_cipher(struct tls_pool *p);
void tls_pool_free(struct tls_pool *p);
uint64_t tls_pool_memory(const struct tls_pool *p);

/* Small objects (flow summaries) from the same memory cap. */
#define TLS_SMALL_OBJ 512
void *tls_pool_small_get(struct tls_pool *p, struct tls_stats *st);
void tls_pool_small_put(struct tls_pool *p, void *m);

/* A session from the pool (NULL and counted when the pool is exhausted). */
struct tls_session *tls_session_new(struct tls_pool *p, struct tls_stats *st);
void tls_session_release(struct tls_pool *p, struct tls_session *s);

/* Bytes of direction dir (0 client, 1 server) in stream order. */
void tls_session_feed(struct tls_pool *p, struct tls_session *s, int dir,
                      const uint8_t *data, size_t len, struct tls_stats *st);

/* Complete handshake messages at the start of buf (QUIC's CRYPTO stream):
 * handled, and their length returned. */
size_t tls_session_messages(struct tls_session *s, int dir, const uint8_t *buf,
                            size_t len, struct tls_stats *st);

/* One whole handshake message (DTLS, after its own reassembly). */
void tls_session_message(struct tls_session *s, int dir, uint8_t type,
                         const uint8_t *body, size_t len, struct tls_stats *st);

/* The handshake reassembly buffer of a direction, from the pool (QUIC
 * writes CRYPTO data into it by offset); NULL and counted when exhausted. */
uint8_t *tls_session_buffer(struct tls_pool *p, struct tls_session *s, int dir,
                            struct tls_stats *st);

/* A hole in the stream: the direction cannot be followed any more. */
void tls_session_gap(struct tls_pool *p, struct tls_session *s, int dir);

/* Enough seen to log: both hellos and the handshake completed. */
bool tls_session_ready(const struct tls_session *s);

struct counters;
/* Registers the TLS counters under "tls" (the pool's certificate cache). */
void tls_counters(const struct tls_stats *t, const struct tls_pool *pool,
                  struct counters *r);

#endif
