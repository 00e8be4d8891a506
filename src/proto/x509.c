/* x509.c -- certificate facts through OpenSSL (see x509.h). */
#include "proto/x509.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/sha.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "util/digest.h"

void hex_colon(const uint8_t *d, size_t n, char *buf, size_t len)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t o = 0;
    for (size_t i = 0; i < n && o + 3 <= len; i++) {
        if (i)
            buf[o++] = ':';
        buf[o++] = hex[d[i] >> 4];
        buf[o++] = hex[d[i] & 15];
    }
    if (len)
        buf[o < len ? o : len - 1] = 0;
}

/* One-line name in the order the certificate has it, "C=US, O=X, CN=y",
 * as Suricata writes tls.subject and tls.issuerdn. */
static void name_line(X509_NAME *name, char *out, size_t len)
{
    out[0] = 0;
    BIO *b = BIO_new(BIO_s_mem());
    if (!b)
        return;
    X509_NAME_print_ex(b, name, 0,
                       (XN_FLAG_ONELINE & ~XN_FLAG_SPC_EQ & ~ASN1_STRFLGS_ESC_MSB) |
                           ASN1_STRFLGS_UTF8_CONVERT);
    int n = BIO_read(b, out, (int)len - 1);
    out[n > 0 ? n : 0] = 0;
    BIO_free(b);
}

static int64_t asn1_time_epoch(const ASN1_TIME *t)
{
    struct tm tm;
    memset(&tm, 0, sizeof(tm));
    if (!t || ASN1_TIME_to_tm(t, &tm) != 1)
        return 0;
    return (int64_t)timegm(&tm);
}

static void sans(X509 *x, struct x509_info *out)
{
    GENERAL_NAMES *names = X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL);
    if (!names)
        return;
    int n = sk_GENERAL_NAME_num(names);
    for (int i = 0; i < n; i++) {
        GENERAL_NAME *g = sk_GENERAL_NAME_value(names, i);
        char buf[X509_SAN_LEN];
        buf[0] = 0;
        if (g->type == GEN_DNS) {
            const unsigned char *s = ASN1_STRING_get0_data(g->d.dNSName);
            int l = ASN1_STRING_length(g->d.dNSName);
            snprintf(buf, sizeof(buf), "%.*s", l, (const char *)s);
        } else if (g->type == GEN_IPADD) {
            const unsigned char *s = ASN1_STRING_get0_data(g->d.iPAddress);
            int l = ASN1_STRING_length(g->d.iPAddress);
            if (l == 4)
                snprintf(buf, sizeof(buf), "%u.%u.%u.%u", s[0], s[1], s[2], s[3]);
        } else {
            continue;
        }
        out->total_sans++;
        if (buf[0] && out->n_sans < X509_MAX_SANS)
            memcpy(out->sans[out->n_sans++], buf, sizeof(buf));
    }
    GENERAL_NAMES_free(names);
}

static void key_facts(X509 *x, struct x509_info *out)
{
    EVP_PKEY *k = X509_get0_pubkey(x);
    if (!k)
        return;
    out->key_bits = EVP_PKEY_get_bits(k);
    const char *t;
    switch (EVP_PKEY_get_base_id(k)) {
    case EVP_PKEY_RSA: t = "RSA"; break;
    case EVP_PKEY_EC: t = "EC"; break;
    case EVP_PKEY_DSA: t = "DSA"; break;
    case EVP_PKEY_ED25519: t = "Ed25519"; break;
    case EVP_PKEY_ED448: t = "Ed448"; break;
    default: t = "other"; break;
    }
    snprintf(out->key_type, sizeof(out->key_type), "%s", t);
}

/* OpenSSL 3's d2i_X509 also decodes the public key through its provider
 * machinery, tens of microseconds a certificate. The same certificates come
 * back all day (every client of a server gets the same chain), so parsed
 * results are kept in a direct-mapped cache keyed by the SHA-256 of the DER:
 * a repeat costs one hash and one copy. Bounded, allocated once. */
#define X509_CACHE_SLOTS 1024

struct x509_cache {
    struct x509_cache_slot {
        bool used, ok;
        struct x509_info info;
    } slot[X509_CACHE_SLOTS];
    struct x509_cache_stats st;
};

struct x509_cache *x509_cache_new(void) { return calloc(1, sizeof(struct x509_cache)); }
void x509_cache_free(struct x509_cache *c) { free(c); }

const struct x509_cache_stats *x509_cache_stats(const struct x509_cache *c)
{
    return &c->st;
}

static bool parse_der(const uint8_t *der, size_t len, struct x509_info *out);

bool x509_parse(struct x509_cache *cache, const uint8_t *der, size_t len,
                struct x509_info *out)
{
    uint8_t sha256[32];
    digest(DIGEST_SHA256, der, len, sha256);
    struct x509_cache_slot *c = NULL;
    if (cache) {
        c = &cache->slot[((uint32_t)sha256[0] << 8 | sha256[1]) % X509_CACHE_SLOTS];
        if (c->used && memcmp(c->info.sha256, sha256, 32) == 0) {
            cache->st.hits++;
            *out = c->info;
            return c->ok;
        }
        cache->st.misses++;
    }
    bool ok = parse_der(der, len, out);
    memcpy(out->sha256, sha256, 32);
    if (c) {
        c->used = true;
        c->ok = ok;
        c->info = *out;
    }
    return ok;
}

static bool parse_der(const uint8_t *der, size_t len, struct x509_info *out)
{
    memset(out, 0, sizeof(*out));
    digest(DIGEST_SHA1, der, len, out->sha1);
    const unsigned char *p = der;
    X509 *x = d2i_X509(NULL, &p, (long)len);
    if (!x)
        return false;
    name_line(X509_get_subject_name(x), out->subject, sizeof(out->subject));
    name_line(X509_get_issuer_name(x), out->issuer, sizeof(out->issuer));
    const ASN1_INTEGER *serial = X509_get0_serialNumber(x);
    if (serial)
        hex_colon(ASN1_STRING_get0_data(serial),
                  (size_t)ASN1_STRING_length(serial), out->serial,
                  sizeof(out->serial));
    out->not_before = asn1_time_epoch(X509_get0_notBefore(x));
    out->not_after = asn1_time_epoch(X509_get0_notAfter(x));
    out->self_signed = X509_check_issued(x, x) == X509_V_OK;
    sans(x, out);
    key_facts(x, out);
    X509_free(x);
    return true;
}
