/* x509.h -- the facts of a certificate that stay in the clear.
 *
 * One DER certificate in, a fixed-size record out: subject and issuer in
 * RFC 2253-like one-line form (as Suricata logs them), serial, validity,
 * SANs, SHA-1 and SHA-256 of the DER, self-signed or not, key type and size.
 * The DER is read by hand with util/der.h (bounded, no allocation); what
 * each field holds is exactly what OpenSSL's decoding and printing gave
 * before (tests/unit/test_x509.c compares the two on every kind of
 * certificate). OpenSSL is still asked for the digests, for the
 * self-signed check when issuer and subject may be the same name, and for
 * keys of rarer types.
 */
#ifndef NIGHTJAR_X509_H
#define NIGHTJAR_X509_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define X509_NAME_LEN 256
#define X509_MAX_SANS 8
#define X509_SAN_LEN 96

struct x509_info {
    char subject[X509_NAME_LEN];
    char issuer[X509_NAME_LEN];
    char serial[80];          /* hex, colon-separated, upper case */
    int64_t not_before, not_after; /* seconds since the epoch */
    uint8_t sha1[20], sha256[32];
    bool self_signed;
    char key_type[16];        /* "RSA", "EC", "Ed25519", ... */
    int key_bits;
    uint8_t n_sans;
    uint16_t total_sans;
    char sans[X509_MAX_SANS][X509_SAN_LEN];
};

struct x509_cache_stats {
    uint64_t hits, misses;
    uint64_t replaced;        /* a miss that took the slot of another certificate */
};

/* Parsed certificates, by the SHA-256 of their DER: one per worker (it is
 * the caller's, never shared), so no state is global. */
struct x509_cache;
struct x509_cache *x509_cache_new(void);
void x509_cache_free(struct x509_cache *c);
const struct x509_cache_stats *x509_cache_stats(const struct x509_cache *c);

/* Returns false (and leaves *out zeroed but for the hashes) when the DER
 * does not parse. The hashes are of the bytes given, always. cache may be
 * NULL (no caching). */
bool x509_parse(struct x509_cache *cache, const uint8_t *der, size_t len,
                struct x509_info *out);

/* "AA:BB:..." of a digest; buf >= 3 * n bytes. */
void hex_colon(const uint8_t *d, size_t n, char *buf, size_t len);

#endif
