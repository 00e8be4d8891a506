/* summary.h -- what a flow record keeps of a TLS/DTLS/QUIC handshake.
 *
 * Once the tls event is written, the parsed session (about 11 KB with its
 * lists and certificates) goes back to the pool and the flow keeps this
 * summary (under 512 bytes) for its flow record, however long it lives.
 * Built by a pure function of the parsed session.
 */
#ifndef NIGHTJAR_TLS_SUMMARY_H
#define NIGHTJAR_TLS_SUMMARY_H

#include <stdbool.h>
#include <stdint.h>

#include "fingerprint/ja4.h"
#include "proto/tls.h"

/* Handshake facts the encrypted-traffic model reads (docs/eta.md): counts
 * and classes, never names. */
#define TLS_EXT_FLAG_SNI            0x0001
#define TLS_EXT_FLAG_ALPN           0x0002
#define TLS_EXT_FLAG_SESSION_TICKET 0x0004
#define TLS_EXT_FLAG_SUPPORTED_VERS 0x0008
#define TLS_EXT_FLAG_KEY_SHARE      0x0010
#define TLS_EXT_FLAG_STATUS_REQUEST 0x0020
#define TLS_EXT_FLAG_EXT_MASTER     0x0040
#define TLS_EXT_FLAG_RENEGOTIATION  0x0080
#define TLS_EXT_FLAG_GREASE         0x0100
#define TLS_EXT_FLAG_PADDING        0x0200
#define TLS_EXT_FLAG_ECH            0x0400
#define TLS_EXT_FLAG_PSK            0x0800

struct tls_facts {
    int64_t cert_not_before, cert_not_after; /* leaf, seconds since epoch */
    uint16_t client_max_version;   /* highest version offered */
    uint16_t n_ciphers, n_exts, n_groups, n_sig_algs;
    uint16_t ext_flags;            /* TLS_EXT_FLAG_* offered by the client */
    uint16_t cert_key_bits;
    uint8_t n_alpn, session_id_len;
    uint8_t weak_ciphers;          /* offered NULL/EXPORT/anon/RC4/DES/3DES */
    uint8_t alpn_h2, alpn_http11;  /* offered */
    uint8_t cipher_aead, cipher_fs;/* the chosen suite */
    uint8_t chain_len, cert_sans;
    int8_t sni_cert_match;         /* 1/0; -1 when no SNI or no certificate */
    bool has_ch, has_sh, has_cert;
};

struct tls_summary {
    char sni[TLS_SNI_LEN];
    char ja3[33], ja3s[33];
    char ja4[JA4_LEN];
    uint16_t version;          /* negotiated, 0 if unknown */
    uint16_t cipher;
    uint8_t leaf_sha1[20];
    bool has_ja3, has_ja3s, has_ja4, has_cipher, has_leaf;
    bool self_signed, complete, quic, dtls;
    struct tls_facts facts;
};

void tls_summarize(const struct tls_session *s, struct tls_summary *out);

#endif
