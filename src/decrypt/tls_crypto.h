/* tls_crypto.h -- the cryptography of TLS records, through OpenSSL: the
 * cipher suites nightjar can open, key derivation (the TLS 1.0-1.2 PRF,
 * the master secret from a premaster, TLS 1.3's HKDF-Expand-Label and key
 * updates) and opening one record (AES-GCM, AES-CCM and CCM_8,
 * ChaCha20-Poly1305, AES-CBC and 3DES-CBC with HMAC-SHA1/SHA256/SHA384,
 * MAC-then-encrypt or encrypt-then-MAC).
 *
 * A record that does not authenticate (AEAD tag, HMAC or CBC padding) is
 * refused: the caller counts it and never passes its bytes on. Every
 * length is checked before use; outputs go to buffers the caller sized.
 * This file computes; it keeps no state beyond the keys it is handed and
 * the OpenSSL objects it fetched once (tls_record_crypto), and never
 * parses handshakes.
 */
#ifndef NIGHTJAR_TLS_CRYPTO_H
#define NIGHTJAR_TLS_CRYPTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum tls_cipher_kind { TC_GCM, TC_CCM, TC_CCM8, TC_CHACHA, TC_CBC };
enum tls_hash { TH_MD5_SHA1, TH_SHA1, TH_SHA256, TH_SHA384 };

struct tls_suite {
    uint16_t id;
    uint8_t kind;        /* enum tls_cipher_kind */
    uint8_t key_len;     /* bytes */
    uint8_t block;       /* CBC block size (16 AES, 8 3DES) */
    uint8_t mac;         /* enum tls_hash of the record MAC (CBC) */
    uint8_t prf;         /* enum tls_hash of the PRF / HKDF */
    bool rsa_kx;         /* the premaster travels RSA-encrypted */
    bool tls13;
    const char *cipher;  /* OpenSSL's name */
};

/* The suite of a ServerHello's cipher, or NULL when it cannot be opened. */
const struct tls_suite *tls_suite_find(uint16_t id);

/* TLS record protocol versions, as on the wire. */
#define TLS_V10 0x0301
#define TLS_V11 0x0302
#define TLS_V12 0x0303
#define TLS_V13 0x0304

/* The keys of one direction. */
#define TLS_KEY_MAX 32
#define TLS_IV_MAX 16
#define TLS_MAC_MAX 48
#define TLS_SECRET_MAX 48
struct tls_dir_keys {
    bool ready;
    uint64_t seq;
    uint8_t key[TLS_KEY_MAX];
    uint8_t iv[TLS_IV_MAX];        /* AEAD salt/nonce base; CBC IV (TLS 1.0) */
    uint8_t mac_key[TLS_MAC_MAX];
    uint8_t secret[TLS_SECRET_MAX];/* TLS 1.3 traffic secret (key updates) */
    uint8_t secret_len;
};

size_t tls_hash_len(enum tls_hash h);

/* The PRF of TLS 1.0-1.2 (RFC 5246 section 5, RFC 2246 for MD5-SHA1). */
bool tls_prf(enum tls_hash h, const uint8_t *secret, size_t secret_len,
             const char *label, const uint8_t *seed, size_t seed_len,
             uint8_t *out, size_t out_len);
/* The master secret: from the randoms, or from the session hash when
 * extended_ms (RFC 7627). */
bool tls_master_secret(enum tls_hash prf, const uint8_t pms[48],
                       const uint8_t client_random[32],
                       const uint8_t server_random[32], bool extended_ms,
                       const uint8_t *session_hash, size_t hash_len,
                       uint8_t master[48]);
/* Both directions' keys of a TLS <= 1.2 session from its master secret;
 * keys[0] the client's, keys[1] the server's. Sequence numbers start at 0. */
bool tls12_keys(const struct tls_suite *s, uint16_t version,
                const uint8_t master[48], const uint8_t client_random[32],
                const uint8_t server_random[32], struct tls_dir_keys keys[2]);

/* HKDF-Expand-Label (RFC 8446 section 7.1) with an empty context;
 * prefix is "tls13 " for TLS and QUIC v1. */
bool tls13_expand_label(enum tls_hash h, const uint8_t *secret, size_t secret_len,
                        const char *label, uint8_t *out, size_t out_len);
/* A TLS 1.3 direction's key and IV from its traffic secret. */
bool tls13_keys(const struct tls_suite *s, const uint8_t *secret,
                size_t secret_len, struct tls_dir_keys *k);
/* After a KeyUpdate: the next traffic secret and its keys. */
bool tls13_key_update(const struct tls_suite *s, struct tls_dir_keys *k);

/* What opening records needs, made once per engine (one per worker): a
 * cipher context, every cipher of the suite table fetched from OpenSSL's
 * provider up front, and an HMAC context -- nothing is fetched or
 * allocated per record. */
struct tls_record_crypto;
struct tls_record_crypto *tls_record_crypto_new(void);
void tls_record_crypto_free(struct tls_record_crypto *rc);

/* Opens one record (its 5-byte header hdr and its body) into out (at
 * least len bytes). TLS 1.3: *type is the inner content type and the
 * padding is removed. etm: encrypt-then-MAC was negotiated (CBC). The
 * sequence number advances only when the record authenticates. */
bool tls_record_open(struct tls_record_crypto *rc, const struct tls_suite *s,
                     uint16_t version, bool etm, struct tls_dir_keys *k,
                     const uint8_t hdr[5], const uint8_t *body, size_t len,
                     uint8_t *out, size_t *out_len, uint8_t *type);

#endif
