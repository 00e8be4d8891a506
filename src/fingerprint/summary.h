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

struct tls_summary {
    char sni[TLS_SNI_LEN];
    char ja3[33], ja3s[33];
    char ja4[JA4_LEN];
    uint16_t version;          /* negotiated, 0 if unknown */
    uint16_t cipher;
    uint8_t leaf_sha1[20];
    bool has_ja3, has_ja3s, has_ja4, has_cipher, has_leaf;
    bool self_signed, complete, quic, dtls;
};

void tls_summarize(const struct tls_session *s, struct tls_summary *out);

#endif
