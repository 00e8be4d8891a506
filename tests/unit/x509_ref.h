/* x509_ref.h -- the reference for proto/x509.c: how nightjar read a
 * certificate before it had its own DER reader, through OpenSSL's d2i_X509
 * and its printers, kept here unchanged so that tests can require the new
 * reader to give the same struct x509_info. Not linked into the sensor.
 */
#ifndef NIGHTJAR_X509_REF_H
#define NIGHTJAR_X509_REF_H

#include <stdio.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "proto/x509.h"
#include "util/digest.h"

static void ref_name_line(X509_NAME *name, char *out, size_t len)
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

static int64_t ref_time(const ASN1_TIME *t)
{
    struct tm tm;
    memset(&tm, 0, sizeof(tm));
    if (!t || ASN1_TIME_to_tm(t, &tm) != 1)
        return 0;
    return (int64_t)timegm(&tm);
}

static void ref_sans(X509 *x, struct x509_info *out)
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

static void ref_key_facts(X509 *x, struct x509_info *out)
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

/* x509_parse() as it was, without the cache. */
static bool x509_parse_openssl(const uint8_t *der, size_t len, struct x509_info *out)
{
    memset(out, 0, sizeof(*out));
    digest(DIGEST_SHA1, der, len, out->sha1);
    digest(DIGEST_SHA256, der, len, out->sha256);
    const unsigned char *p = der;
    X509 *x = d2i_X509(NULL, &p, (long)len);
    if (!x)
        return false;
    ref_name_line(X509_get_subject_name(x), out->subject, sizeof(out->subject));
    ref_name_line(X509_get_issuer_name(x), out->issuer, sizeof(out->issuer));
    const ASN1_INTEGER *serial = X509_get0_serialNumber(x);
    if (serial)
        hex_colon(ASN1_STRING_get0_data(serial),
                  (size_t)ASN1_STRING_length(serial), out->serial,
                  sizeof(out->serial));
    out->not_before = ref_time(X509_get0_notBefore(x));
    out->not_after = ref_time(X509_get0_notAfter(x));
    out->self_signed = X509_check_issued(x, x) == X509_V_OK;
    ref_sans(x, out);
    ref_key_facts(x, out);
    X509_free(x);
    return true;
}

#endif
