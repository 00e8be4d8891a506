/* test_x509.c -- the certificate reader gives what OpenSSL gave.
 *
 * proto/x509.c reads the DER by hand; tests/unit/x509_ref.h is how nightjar
 * read certificates before, through d2i_X509 and OpenSSL's printers. Every
 * certificate made here -- keys of every type the sensor names, names with
 * every character that is escaped or quoted, every string type, multi-valued
 * RDNs, unknown OIDs, serials of every sign and length, UTCTime and
 * GeneralizedTime with and without seconds, fractions and offsets, SANs of
 * every kind -- must come out of both as the same struct x509_info. Then
 * malformed DER (cut at every byte, lengths past the end, indefinite
 * lengths, nesting bombs, random damage) must be refused without reading
 * outside the buffer (run it under build-asan), and random damage the new
 * reader accepts must be what OpenSSL accepted too, with the same fields.
 */
#include <stdint.h>
#include <stdlib.h>

#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "proto/x509.h"
#include "testing.h"
#include "x509_ref.h"

enum { K_RSA1024, K_RSA2048, K_RSA4096, K_P256, K_P384, K_P521, K_K256, K_P224,
       K_BP256, K_BP384, K_BP512, K_ED25519, K_ED448, K_DSA, K_X25519, K_PSS, K_N };
static EVP_PKEY *keys[K_N];
static size_t n_compared;

static EVP_PKEY *ec_key(const char *curve) { return EVP_PKEY_Q_keygen(NULL, NULL, "EC", curve); }

static void setup(void)
{
    keys[K_RSA1024] = EVP_RSA_gen(1024);
    keys[K_RSA2048] = EVP_RSA_gen(2048);
    keys[K_RSA4096] = EVP_RSA_gen(4096);
    keys[K_P256] = ec_key("P-256");
    keys[K_P384] = ec_key("P-384");
    keys[K_P521] = ec_key("P-521");
    keys[K_K256] = ec_key("secp256k1");
    keys[K_P224] = ec_key("P-224");
    keys[K_BP256] = ec_key("brainpoolP256r1");
    keys[K_BP384] = ec_key("brainpoolP384r1");
    keys[K_BP512] = ec_key("brainpoolP512r1");
    keys[K_ED25519] = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
    keys[K_ED448] = EVP_PKEY_Q_keygen(NULL, NULL, "ED448");
    keys[K_X25519] = EVP_PKEY_Q_keygen(NULL, NULL, "X25519");
    EVP_PKEY_CTX *psc = EVP_PKEY_CTX_new_from_name(NULL, "RSA-PSS", NULL);
    if (psc && EVP_PKEY_keygen_init(psc) > 0 && EVP_PKEY_CTX_set_rsa_keygen_bits(psc, 2048) > 0)
        EVP_PKEY_keygen(psc, &keys[K_PSS]);
    EVP_PKEY_CTX_free(psc);
    EVP_PKEY_CTX *pc = EVP_PKEY_CTX_new_from_name(NULL, "DSA", NULL);
    EVP_PKEY *params = NULL;
    if (pc && EVP_PKEY_paramgen_init(pc) > 0 &&
        EVP_PKEY_CTX_set_dsa_paramgen_bits(pc, 1024) > 0 &&
        EVP_PKEY_paramgen(pc, &params) > 0) {
        EVP_PKEY_CTX *kc = EVP_PKEY_CTX_new(params, NULL);
        if (kc && EVP_PKEY_keygen_init(kc) > 0)
            EVP_PKEY_keygen(kc, &keys[K_DSA]);
        EVP_PKEY_CTX_free(kc);
    }
    EVP_PKEY_free(params);
    EVP_PKEY_CTX_free(pc);
    for (int i = 0; i < K_N; i++)
        REQUIRE(keys[i] != NULL);
}

static void teardown(void)
{
    for (int i = 0; i < K_N; i++)
        EVP_PKEY_free(keys[i]);
    fprintf(stderr, "  %zu certificates compared with the OpenSSL reference\n", n_compared);
}

/* ---- comparing the two readers ---- */

static bool same(const struct x509_info *a, const struct x509_info *b, bool quiet)
{
    bool ok = true;
#define FIELD_STR(f) if (strcmp(a->f, b->f)) { ok = false; if (!quiet) fprintf(stderr, "    " #f ": new \"%s\" ref \"%s\"\n", a->f, b->f); }
#define FIELD_INT(f) if (a->f != b->f) { ok = false; if (!quiet) fprintf(stderr, "    " #f ": new %lld ref %lld\n", (long long)a->f, (long long)b->f); }
    FIELD_STR(subject) FIELD_STR(issuer) FIELD_STR(serial) FIELD_STR(key_type)
    FIELD_INT(not_before) FIELD_INT(not_after) FIELD_INT(self_signed)
    FIELD_INT(key_bits) FIELD_INT(n_sans) FIELD_INT(total_sans)
    for (int i = 0; i < X509_MAX_SANS; i++)
        FIELD_STR(sans[i])
    if (memcmp(a->sha1, b->sha1, 20) || memcmp(a->sha256, b->sha256, 32)) {
        ok = false;
        if (!quiet)
            fprintf(stderr, "    digests differ\n");
    }
    return ok;
}

/* Both readers over the same bytes: the same verdict and the same fields. */
static bool equivalent(const uint8_t *der, size_t len, bool quiet)
{
    struct x509_info mine, ref;
    bool ok_mine = x509_parse(NULL, der, len, &mine);
    bool ok_ref = x509_parse_openssl(der, len, &ref);
    n_compared++;
    if (ok_mine != ok_ref) {
        if (!quiet)
            fprintf(stderr, "    parsed: new %d, OpenSSL %d\n", ok_mine, ok_ref);
        return false;
    }
    return same(&mine, &ref, quiet);
}

#define CHECK_EQUIVALENT(der, len) CHECK(equivalent(der, len, false))

/* ---- making certificates ---- */

struct ava {
    const char *oid;            /* short name or dotted */
    int type;                   /* V_ASN1_* or MBSTRING_* */
    const char *value;
    int len;                    /* -1: strlen */
    bool same_rdn;              /* joins the previous RDN */
};

struct spec {
    EVP_PKEY *key, *signer;     /* signer NULL: the key itself */
    const struct ava *subject, *issuer; /* issuer NULL: the subject */
    const unsigned char *serial; size_t serial_len; /* INTEGER contents */
    int time_type;              /* V_ASN1_UTCTIME or V_ASN1_GENERALIZEDTIME */
    const char *not_before, *not_after;
    const char *san;            /* X509V3 config form, or NULL */
    const char *san2;           /* a second subjectAltName extension */
    const char *key_usage;
};

static const struct ava default_name[] = {
    { "C", MBSTRING_ASC, "US", -1, false }, { "O", MBSTRING_ASC, "Nightjar Test", -1, false },
    { "CN", MBSTRING_ASC, "test.example", -1, false }, { NULL, 0, NULL, 0, false } };

static X509_NAME *make_name(const struct ava *a)
{
    X509_NAME *n = X509_NAME_new();
    for (; a && a->oid; a++) {
        ASN1_OBJECT *o = OBJ_txt2obj(a->oid, 0);
        X509_NAME_add_entry_by_OBJ(n, o, a->type, (const unsigned char *)a->value,
                                   a->len, -1, a->same_rdn ? -1 : 0);
        ASN1_OBJECT_free(o);
    }
    return n;
}

static void set_time(ASN1_TIME *t, int type, const char *s)
{
    ASN1_STRING_set(t, s, (int)strlen(s));
    t->type = type;
}

static int make_cert(const struct spec *sp, unsigned char **der)
{
    X509 *x = X509_new();
    X509_set_version(x, 2);
    static const unsigned char one[] = { 0x01 };
    ASN1_INTEGER *serial = NULL;
    const unsigned char *sbytes = sp->serial ? sp->serial : one;
    size_t slen = sp->serial ? sp->serial_len : 1;
    unsigned char enc[300] = { 0x02, (unsigned char)slen };
    memcpy(enc + 2, sbytes, slen);
    const unsigned char *p = enc;
    serial = d2i_ASN1_INTEGER(NULL, &p, (long)slen + 2);
    if (serial)
        X509_set_serialNumber(x, serial);
    ASN1_INTEGER_free(serial);
    int tt = sp->time_type ? sp->time_type : V_ASN1_UTCTIME;
    set_time(X509_getm_notBefore(x), tt, sp->not_before ? sp->not_before : "240101000000Z");
    set_time(X509_getm_notAfter(x), tt, sp->not_after ? sp->not_after : "350101000000Z");
    X509_set_pubkey(x, sp->key);
    X509_NAME *subj = make_name(sp->subject ? sp->subject : default_name);
    X509_NAME *iss = sp->issuer ? make_name(sp->issuer) : X509_NAME_dup(subj);
    X509_set_subject_name(x, subj);
    X509_set_issuer_name(x, iss);
    X509_NAME_free(subj);
    X509_NAME_free(iss);
    X509V3_CTX ctx;
    X509V3_set_ctx(&ctx, x, x, NULL, NULL, 0);
    const char *exts[][2] = { { "subjectAltName", sp->san }, { "subjectAltName", sp->san2 },
                              { "keyUsage", sp->key_usage } };
    for (size_t i = 0; i < 3; i++) {
        if (!exts[i][1])
            continue;
        X509_EXTENSION *e = X509V3_EXT_nconf(NULL, &ctx, exts[i][0], exts[i][1]);
        if (e)
            X509_add_ext(x, e, -1);
        else
            fprintf(stderr, "    (extension %s=%s not made)\n", exts[i][0], exts[i][1]);
        X509_EXTENSION_free(e);
    }
    EVP_PKEY *signer = sp->signer ? sp->signer : sp->key;
    int id = EVP_PKEY_get_base_id(signer);
    bool no_md = id == EVP_PKEY_ED25519 || id == EVP_PKEY_ED448;
    X509_sign(x, signer, no_md ? NULL : EVP_sha256());
    *der = NULL;
    int len = i2d_X509(x, der);
    X509_free(x);
    return len;
}

static bool spec_equivalent(const struct spec *sp)
{
    unsigned char *der;
    int len = make_cert(sp, &der);
    if (len <= 0)
        return false;
    bool ok = equivalent(der, (size_t)len, false);
    OPENSSL_free(der);
    return ok;
}

/* ---- the cases ---- */

static void every_key_type_reads_the_same(void)
{
    for (int k = 0; k < K_N; k++) {
        struct spec sp = { .key = keys[k], .signer = k == K_X25519 ? keys[K_P256] : NULL };
        CHECK(spec_equivalent(&sp));
        /* issued by another key: not self-signed, names differ */
        static const struct ava ca[] = { { "CN", MBSTRING_ASC, "Test CA", -1, false },
                                         { NULL, 0, NULL, 0, false } };
        struct spec issued = { .key = keys[k], .signer = keys[K_P256], .issuer = ca };
        CHECK(spec_equivalent(&issued));
    }
    struct x509_info info;
    unsigned char *der;
    struct spec sp = { .key = keys[K_RSA4096] };
    int len = make_cert(&sp, &der);
    CHECK(x509_parse(NULL, der, (size_t)len, &info));
    CHECK_STR(info.key_type, "RSA");
    CHECK_EQ(info.key_bits, 4096);
    CHECK(info.self_signed);
    OPENSSL_free(der);
}

static void names_print_as_openssl_printed_them(void)
{
    static const char *values[] = {
        "plain", "a,b", "a+b", "say \"hi\"", "back\\slash", "#hash", "in#side", " lead",
        "trail ", " ", "#", "<tag>;", "x", "ctl\x01\x1f\x7f", "Z\xc3\xbcrich",
        "\xe6\x97\xa5\xe6\x9c\xac", "\xf0\x9f\x90\xa6 bird", "=eq=", "a  b", "",
    };
    for (size_t i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
        struct ava n[] = { { "CN", V_ASN1_UTF8STRING, values[i], -1, false },
                           { "O", V_ASN1_PRINTABLESTRING, values[i], -1, false },
                           { "OU", V_ASN1_IA5STRING, values[i], -1, false },
                           { NULL, 0, NULL, 0, false } };
        struct spec sp = { .key = keys[K_P256], .subject = n };
        CHECK(spec_equivalent(&sp));
    }
    /* every ASCII character first, in the middle and last */
    for (int c = 1; c < 128; c++) {
        char v[3][4] = { { (char)c, 'x', 0 }, { 'x', (char)c, 'x', 0 }, { 'x', (char)c, 0 } };
        struct ava n[] = { { "CN", V_ASN1_UTF8STRING, v[0], -1, false },
                           { "O", V_ASN1_T61STRING, v[1], -1, false },
                           { "L", V_ASN1_PRINTABLESTRING, v[2], -1, false },
                           { NULL, 0, NULL, 0, false } };
        struct spec sp = { .key = keys[K_P256], .subject = n };
        CHECK(spec_equivalent(&sp));
    }
    /* string types, Latin-1 octets, multi-valued RDNs, unknown OIDs */
    static const struct ava kinds[] = {
        { "C", V_ASN1_PRINTABLESTRING, "DE", -1, false },
        { "ST", V_ASN1_T61STRING, "caf\xe9", -1, false },
        { "L", V_ASN1_BMPSTRING, "\x00M\x00\xfc\x4e\x2d", 6, false },
        { "O", V_ASN1_UNIVERSALSTRING, "\0\0\0A\0\x01\xf4\x26", 8, false },
        { "OU", V_ASN1_NUMERICSTRING, "12 34", -1, false },
        { "OU", V_ASN1_UTF8STRING, "second", -1, true },
        { "UID", V_ASN1_UTF8STRING, "third, same RDN", -1, true },
        { "1.2.3.4.5.6.7", V_ASN1_UTF8STRING, "unknown oid", -1, false },
        { "2.999.18446744073709551617", V_ASN1_IA5STRING, "big arc", -1, false },
        { "1.3.6.1.4.1.311.60.2.1.3", V_ASN1_PRINTABLESTRING, "US", -1, false },
        { "2.5.4.65", V_ASN1_UTF8STRING, "pseudonym", -1, false },
        { "2.5.4.72", V_ASN1_UTF8STRING, "role", -1, false },
        { "emailAddress", V_ASN1_IA5STRING, "a@b.example", -1, false },
        { "DC", V_ASN1_IA5STRING, "example", -1, false },
        { "serialNumber", V_ASN1_PRINTABLESTRING, "123", -1, false },
        { "street", V_ASN1_UTF8STRING, "1 Main St", -1, false },
        { "2.5.4.45", V_ASN1_BIT_STRING, "\x05\xa0", 2, false },
        { "1.2.3", V_ASN1_SEQUENCE, "\x30\x03\x02\x01\x05", 5, false },
        { "CN", V_ASN1_UTF8STRING, "last", -1, false },
        { NULL, 0, NULL, 0, false } };
    struct spec sp = { .key = keys[K_RSA2048], .subject = kinds };
    CHECK(spec_equivalent(&sp));
    /* longer than the 255 characters kept: cut at the same place */
    char long_value[400];
    memset(long_value, 'n', sizeof(long_value) - 1);
    long_value[sizeof(long_value) - 1] = 0;
    long_value[250] = ',';
    long_value[252] = '\xc3';
    long_value[253] = '\xa9';
    struct ava longer[] = { { "CN", V_ASN1_UTF8STRING, long_value, -1, false },
                            { NULL, 0, NULL, 0, false } };
    struct spec sp2 = { .key = keys[K_P256], .subject = longer };
    CHECK(spec_equivalent(&sp2));
    struct spec empty = { .key = keys[K_P256], .subject = &default_name[3] };
    CHECK(spec_equivalent(&empty));
}

static void serials_print_their_magnitude(void)
{
    static const struct { unsigned char b[48]; size_t n; } serials[] = {
        { { 0x00 }, 1 }, { { 0x01 }, 1 }, { { 0x7f }, 1 }, { { 0x00, 0x80 }, 2 },
        { { 0x00, 0xff }, 2 }, { { 0x01, 0x00 }, 2 }, { { 0xff }, 1 }, { { 0x80 }, 1 },
        { { 0xff, 0x7f }, 2 }, { { 0xff, 0x00 }, 2 }, { { 0x80, 0x00, 0x00 }, 3 },
        { { 0xfe, 0x00, 0x01 }, 3 },
        { { 0x3a, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb, 0xcc,
            0xdd, 0xee, 0xff, 0x10, 0x20, 0x30, 0x40 }, 20 },
        { { 0x9a, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb, 0xcc,
            0xdd, 0xee, 0xff, 0x10, 0x20, 0x30, 0x00 }, 20 },
        { { 0x00, 0x9a, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb,
            0xcc, 0xdd, 0xee, 0xff, 0x10, 0x20, 0x30, 0x40, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10,
            11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27 }, 48 },
        { { 0xc5, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
            0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0 }, 41 },
        { { 0xc5, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
            0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1 }, 41 },
        { { 0x00, 0x00, 0x01 }, 3 }, /* redundant padding: refused by both */
        { { 0xff, 0x80 }, 2 },       /* likewise */
    };
    for (size_t i = 0; i < sizeof(serials) / sizeof(serials[0]); i++) {
        struct spec sp = { .key = keys[K_P256], .serial = serials[i].b,
                           .serial_len = serials[i].n };
        CHECK(spec_equivalent(&sp));
    }
}

static void times_read_as_asn1_time_to_tm(void)
{
    static const struct { int type; const char *t; } times[] = {
        { V_ASN1_UTCTIME, "700101000000Z" }, { V_ASN1_UTCTIME, "491231235959Z" },
        { V_ASN1_UTCTIME, "500101000000Z" }, { V_ASN1_UTCTIME, "2401011200Z" },
        { V_ASN1_UTCTIME, "240101120000+0130" }, { V_ASN1_UTCTIME, "240101120000-1200" },
        { V_ASN1_UTCTIME, "240229120000Z" }, { V_ASN1_UTCTIME, "230229120000Z" },
        { V_ASN1_UTCTIME, "241332000000Z" }, { V_ASN1_UTCTIME, "240101246000Z" },
        { V_ASN1_UTCTIME, "240101120000" }, { V_ASN1_UTCTIME, "240101120000+1300" },
        { V_ASN1_UTCTIME, "24010112000Z" }, { V_ASN1_UTCTIME, "240101120000ZZ" },
        { V_ASN1_UTCTIME, "2401011200+0100" }, { V_ASN1_UTCTIME, "" },
        { V_ASN1_GENERALIZEDTIME, "20500101000000Z" },
        { V_ASN1_GENERALIZEDTIME, "99991231235959Z" },
        { V_ASN1_GENERALIZEDTIME, "99991231235959-0100" },
        { V_ASN1_GENERALIZEDTIME, "19000101000000+0100" },
        { V_ASN1_GENERALIZEDTIME, "16001231120000Z" },
        { V_ASN1_GENERALIZEDTIME, "20500101000000.123Z" },
        { V_ASN1_GENERALIZEDTIME, "20500101000000.Z" },
        { V_ASN1_GENERALIZEDTIME, "205001010000Z" },
        { V_ASN1_GENERALIZEDTIME, "20500101000000.5+0230" },
        { V_ASN1_GENERALIZEDTIME, "21000229000000Z" },
        { V_ASN1_GENERALIZEDTIME, "20000229000000Z" },
    };
    for (size_t i = 0; i < sizeof(times) / sizeof(times[0]); i++) {
        struct spec sp = { .key = keys[K_P256], .time_type = times[i].type,
                           .not_before = times[i].t, .not_after = times[i].t };
        if (!spec_equivalent(&sp)) {
            fprintf(stderr, "    time %s\n", times[i].t);
            CHECK(false);
        }
    }
}

static void sans_are_counted_and_listed_alike(void)
{
    static const char *sans[] = {
        "DNS:a.example,DNS:b.example,IP:192.0.2.1,IP:2001:db8::1",
        "email:x@example.com,URI:http://example.com/,DNS:c.example",
        "DNS:1.example,DNS:2.example,DNS:3.example,DNS:4.example,DNS:5.example,"
        "DNS:6.example,DNS:7.example,DNS:8.example,DNS:9.example,IP:10.0.0.1",
        "DNS:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
        "aaaaaaaaaaaaaaaaaaaa.example",
        "RID:1.2.3.4,otherName:1.2.3.4;UTF8:hello,DNS:d.example",
        "IP:::1,IP:0.0.0.0",
    };
    for (size_t i = 0; i < sizeof(sans) / sizeof(sans[0]); i++) {
        struct spec sp = { .key = keys[K_P256], .san = sans[i] };
        CHECK(spec_equivalent(&sp));
    }
    /* two subjectAltName extensions: OpenSSL's lookup gave none */
    struct spec two = { .key = keys[K_P256], .san = "DNS:a.example", .san2 = "DNS:b.example" };
    CHECK(spec_equivalent(&two));
}

static void self_signed_is_decided_as_before(void)
{
    /* a key that may not sign certificates: not self-signed for OpenSSL */
    struct spec ku = { .key = keys[K_P256], .key_usage = "digitalSignature" };
    CHECK(spec_equivalent(&ku));
    struct spec ku_ca = { .key = keys[K_P256], .key_usage = "keyCertSign,cRLSign" };
    CHECK(spec_equivalent(&ku_ca));
    /* the same name in other case, spacing and string type */
    static const struct ava a[] = { { "CN", V_ASN1_UTF8STRING, "Foo  Bar", -1, false },
                                    { NULL, 0, NULL, 0, false } };
    static const struct ava b[] = { { "CN", V_ASN1_PRINTABLESTRING, " foo bar ", -1, false },
                                    { NULL, 0, NULL, 0, false } };
    struct spec sp = { .key = keys[K_RSA2048], .subject = a, .issuer = b };
    CHECK(spec_equivalent(&sp));
    struct x509_info info;
    unsigned char *der;
    int len = make_cert(&sp, &der);
    CHECK(x509_parse(NULL, der, (size_t)len, &info) && info.self_signed);
    OPENSSL_free(der);
    /* signed by another key under the same name: still "self-signed" for
     * X509_check_issued (no signature is checked) */
    struct spec other = { .key = keys[K_P256], .signer = keys[K_P384] };
    CHECK(spec_equivalent(&other));
}

/* ---- malformed DER ---- */

static bool rejected(const uint8_t *der, size_t len)
{
    /* a heap copy of exactly len bytes: ASan sees any read past it */
    uint8_t *copy = malloc(len ? len : 1);
    memcpy(copy, der, len);
    struct x509_info info;
    bool ok = x509_parse(NULL, copy, len, &info);
    free(copy);
    return !ok;
}

static void truncated_certificates_are_refused_at_every_byte(void)
{
    struct spec specs[] = { { .key = keys[K_P256], .san = "DNS:a.example,IP:10.1.2.3" },
                            { .key = keys[K_RSA1024] }, { .key = keys[K_ED25519] } };
    for (size_t s = 0; s < sizeof(specs) / sizeof(specs[0]); s++) {
        unsigned char *der;
        int len = make_cert(&specs[s], &der);
        REQUIRE(len > 0);
        size_t refused = 0;
        for (int cut = 0; cut < len; cut++)
            refused += rejected(der, (size_t)cut);
        CHECK_EQ(refused, len);
        OPENSSL_free(der);
    }
}

static void lengths_past_the_end_and_indefinite_are_refused(void)
{
    /* an RSA key: damage in an EC point would be read differently */
    struct spec sp = { .key = keys[K_RSA1024], .san = "DNS:a.example" };
    unsigned char *der;
    int len = make_cert(&sp, &der);
    REQUIRE(len > 0 && der[0] == 0x30 && der[1] == 0x82);
    uint8_t *b = malloc((size_t)len);
    /* the outer length one more than there is */
    memcpy(b, der, (size_t)len);
    unsigned outer = (unsigned)(der[2] << 8 | der[3]) + 1;
    b[2] = (uint8_t)(outer >> 8);
    b[3] = (uint8_t)outer;
    CHECK(rejected(b, (size_t)len));
    /* every TLV inside: its length set to 0x7f, 0x80 (indefinite), 0x84
     * with a huge value, or one more than its true length */
    size_t checked = 0;
    for (int off = 4; off + 1 < len; off++) {
        uint8_t forms[][5] = { { 0x80 }, { 0x84, 0xff, 0xff, 0xff, 0xf0 }, { 0x89 } };
        for (size_t f = 0; f < 3; f++) {
            memcpy(b, der, (size_t)len);
            size_t n = f == 1 ? 5 : 1;
            if ((size_t)off + n >= (size_t)len)
                continue;
            memcpy(b + off, forms[f], n);
            struct x509_info mine;
            uint8_t *copy = malloc((size_t)len);
            memcpy(copy, b, (size_t)len);
            bool ok = x509_parse(NULL, copy, (size_t)len, &mine);
            free(copy);
            /* one of these octets may not have been a length at all; an
             * indefinite or absurd length where one was is never read */
            if (ok && !equivalent(b, (size_t)len, false)) {
                fprintf(stderr, "    length form %zu at offset %d\n", f, off);
                CHECK(false);
            }
            checked++;
        }
    }
    CHECK(checked > 0);
    /* the certificate as BER, outer length indefinite: OpenSSL read it,
     * the DER reader does not */
    uint8_t *ber = malloc((size_t)len + 2);
    ber[0] = 0x30;
    ber[1] = 0x80;
    memcpy(ber + 2, der + 4, (size_t)len - 4);
    ber[len - 2] = ber[len - 1] = 0;
    CHECK(rejected(ber, (size_t)len));
    free(ber);
    free(b);
    OPENSSL_free(der);
}

/* Every SEQUENCE and SET in primitive form, one at a time: read as OpenSSL
 * read it -- a SEQUENCE OF or SET OF (a Name, its RDNs, the extensions,
 * GeneralNames) accepted, a SEQUENCE refused. */
static void primitive_sequences_are_read_as_openssl_read_them(void)
{
    struct spec specs[] = { { .key = keys[K_RSA1024], .san = "DNS:a.example,IP:10.1.2.3",
                              .key_usage = "digitalSignature" },
                            { .key = keys[K_ED25519], .san = "DNS:a.example,email:a@b.example,DNS:b.example" } };
    for (size_t s = 0; s < sizeof(specs) / sizeof(specs[0]); s++) {
        unsigned char *der;
        int len = make_cert(&specs[s], &der);
        REQUIRE(len > 0);
        uint8_t *b = malloc((size_t)len);
        size_t tried = 0, accepted = 0;
        for (int off = 0; off < len; off++) {
            if (der[off] != 0x30 && der[off] != 0x31)
                continue;
            memcpy(b, der, (size_t)len);
            b[off] &= (uint8_t)~0x20;
            struct x509_info mine;
            accepted += x509_parse(NULL, b, (size_t)len, &mine) && mine.n_sans == 2;
            tried++;
            if (!equivalent(b, (size_t)len, false)) {
                fprintf(stderr, "    constructed bit cleared at offset %d\n", off);
                CHECK(false);
            }
        }
        /* at least the issuer, the subject, their RDNs, the extensions and
         * the GeneralNames read (the count also takes 0x30/0x31 octets that
         * were data, a time's digits); equivalence is the assertion */
        fprintf(stderr, "  %zu SEQUENCEs and SETs in primitive form, %zu read\n", tried, accepted);
        CHECK(accepted >= 6);
        CHECK(tried > accepted);
        free(b);
        OPENSSL_free(der);
    }
}

static void nesting_bombs_cost_one_skip(void)
{
    /* 100,000 nested SEQUENCEs where a certificate should be */
    size_t depth = 100000, len = depth * 6;
    uint8_t *bomb = malloc(len);
    for (size_t i = 0; i < depth; i++) {
        size_t inner = len - (i + 1) * 6;
        uint8_t *p = bomb + i * 6;
        p[0] = 0x30; p[1] = 0x84;
        p[2] = (uint8_t)(inner >> 24); p[3] = (uint8_t)(inner >> 16);
        p[4] = (uint8_t)(inner >> 8); p[5] = (uint8_t)inner;
    }
    CHECK(rejected(bomb, len));
    /* and as a name's value, which is printed as #hex, never descended */
    uint8_t *value = malloc(2000);
    size_t vlen = 0, levels = 300;
    for (size_t i = 0; i < levels; i++) {
        size_t inner = (levels - i - 1) * 4;
        value[vlen++] = 0x30; value[vlen++] = 0x82;
        value[vlen++] = (uint8_t)(inner >> 8); value[vlen++] = (uint8_t)inner;
    }
    struct ava n[] = { { "1.2.3.4", V_ASN1_SEQUENCE, (const char *)value, (int)vlen, false },
                       { NULL, 0, NULL, 0, false } };
    struct spec sp = { .key = keys[K_P256], .subject = n };
    CHECK(spec_equivalent(&sp));
    free(value);
    free(bomb);
}

/* Keys for the random damage, fixed so that its certificates are the same
 * bytes every run (RSA PKCS#1 v1.5 and Ed25519 sign deterministically; the
 * P-256 certificate is signed with the Ed25519 key): the damage, seeded,
 * lands on the same bytes every run, and what it finds, it finds every
 * run -- not in one CI run of ten. Test keys, made for this file. */
static const char FIXED_P256[] =
    "-----BEGIN PRIVATE KEY-----\n"
    "MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgUWB5S/WsN3KBHJKy\n"
    "7+dXZdCyX1NpJsSHu0UhoGOep8GhRANCAAS3ElaT2TyoXDg08jrZXXOzp0u6oU/e\n"
    "n7wFv5OQoBeedmWaLMBnd/SFXBmuNK1z5H2N1TodBO+vulabf8pxZ//z\n"
    "-----END PRIVATE KEY-----\n";
static const char FIXED_RSA2048[] =
    "-----BEGIN PRIVATE KEY-----\n"
    "MIIEvgIBADANBgkqhkiG9w0BAQEFAASCBKgwggSkAgEAAoIBAQC+l33WFEmB+Yqi\n"
    "G/RxvqfqV49QMLbQSUXNUwlyEEPkXDczmCrVVpCX+rfSH01pYZkbp5qu3kOKmh70\n"
    "AZPmRuEhgrks2BaDs7UqWBgUq9qR3YzPv9HVY2nnPEOmXXuzipyfXDgpJyX908u3\n"
    "7uJNM8jaQTYEoRUWjSHH7uh5Ql3fN1W4bVewHJomS54BoZRocZ0MbbnmLYgZnTuC\n"
    "AjhqrcLgTvKViujWOzYW34aDhXDzk85lztvJRv6wth86B8tuCccqG6LXiGuVW31v\n"
    "tRKfJ++EbmBqo4guO5SMICKP+WqONcUmh0fFqJ9pcx7OdLIfx8oreDjGRZg8ra6L\n"
    "jAEpIsmBAgMBAAECggEAAnogtHUtZx6zzuDBqUuftVCQitZH6U910OHv4lZka0as\n"
    "YJq++owI9TJDkBhZIzrctP1nLWJImumfEsheMGBkQlvj5070Ydgtl+M5hlddLGA7\n"
    "3Pujed4NRu9MXklXx2OpUGz3FmSdSs4P7JkEV71i0mewbSMdbXredK4VAeCO0DCO\n"
    "1nCdGI6bxGM3yYgvQnZr6HJG4qgiebRqUvDZuuH7Iwxd0CokEYzUd+gLosbwIQ8A\n"
    "XMm49pGhWnjOj/Dm2FLpyRNetKLrXluccf+eL6Dgdic2ojKqP/+c4YyT1Zf0YJpc\n"
    "AIj0m0IdowxtgfnjAOBOZ2JGCnyNTuH7MzIQ9vFsSQKBgQDw+M2SMX2EUM8FU0lA\n"
    "5aADKOTdgJ4e0Z413Qua5wIEMgKWg4xgPE8tkmLphQlWHaSVyjA/BuAk050eBD2Y\n"
    "6XcmpGVoI1PFcWJ2wDsXHsb59E5JK46UD9m7qI2PnC7Cr9OzpU9LwXGVoP/EnA1G\n"
    "6jF8/HDas/2nZG3xuqdquY/RqQKBgQDKelpcutmcwh45fURysNyRhoqcRhAbuWmd\n"
    "F1EwX2/P4xT0Fy8sh15KwpaoJI/T2yz+9OqqFG3DFkJGSJsnd6RwgykX++d44vjH\n"
    "0f3pT4/Qcr99VwcpF5Cj58ngmzePgsKdSyYM+aZUGX0S/IYoDYIMAbzy8CC40L+U\n"
    "yhExRI7QGQKBgQCTOO8fqmztMhHJRyEyLRid1ZY+Xh485gSrE+nLMefheExseOKC\n"
    "yVX2mcEkussBegrcGTNwzlqTJVaQyDZ5/el2CmqKPUspDiUCOF/huEQI4mISAjKR\n"
    "8z0rkccrPlizSYkl8JGJzx3+NOcOz+isstiZbAHnHKCUbJ9fWJKAee6MQQKBgAPF\n"
    "tctGe+lswG1nxQ+x9doMPKbes0wg7zPLDGsvTAD+hRRrHijhOMOBzpbBX6Cd07/I\n"
    "Rlr22HirAH8YuTNKCllCSFC3E7/v0py+b9GZ9t72VFT8exir5Lj5B4zUt3tH/2I4\n"
    "1TOmrw+gDfF9nO5AGi0pFyEbkjB/SyJ1hU56rYJ5AoGBANOHbGDzIF33JOEoPKZO\n"
    "FTYQiQu2wIR50mzDbWO34RmEMpB2ZqucgJmWgThKnH1lLoZqYs1wDU1gZ2j1t8EM\n"
    "fTGnN+nqGFWCSdDU7AiTbnhy6G5xgY/SXfxV3ItcILckRi3WM+psY47wLbKtAT2/\n"
    "Q6ZDCH3/s5sbPMb1RYTJyH+G\n"
    "-----END PRIVATE KEY-----\n";
static const char FIXED_ED25519[] =
    "-----BEGIN PRIVATE KEY-----\n"
    "MC4CAQAwBQYDK2VwBCIEICw14Mg/4liZ9miHyVI+80kQLWOn6fvXEs5Un/5i1zkh\n"
    "-----END PRIVATE KEY-----\n";

static EVP_PKEY *fixed_key(const char *pem)
{
    BIO *b = BIO_new_mem_buf(pem, -1);
    EVP_PKEY *k = b ? PEM_read_bio_PrivateKey(b, NULL, NULL, NULL) : NULL;
    BIO_free(b);
    return k;
}

/* Random damage to real certificates: never a read out of bounds, and
 * what the DER reader accepts OpenSSL accepted, with the same fields --
 * but where OpenSSL's decoder checked what this reader does not (an EC
 * point on its curve) or accepted BER the DER reader refuses. */
static void random_damage_never_reads_outside_and_agrees(void)
{
    EVP_PKEY *p256 = fixed_key(FIXED_P256), *rsa = fixed_key(FIXED_RSA2048),
             *ed = fixed_key(FIXED_ED25519);
    REQUIRE(p256 && rsa && ed);
    struct spec specs[] = { { .key = p256, .signer = ed, .san = "DNS:a.example,IP:10.1.2.3" },
                            { .key = rsa, .subject = NULL },
                            { .key = ed, .san = "email:a@b.example" } };
    srand(7);
    size_t trials = 0, accepted = 0, differ = 0, new_only = 0, off_curve = 0;
    for (size_t s = 0; s < sizeof(specs) / sizeof(specs[0]); s++) {
        unsigned char *der;
        int len = make_cert(&specs[s], &der);
        REQUIRE(len > 0);
        uint8_t *b = malloc((size_t)len);
        for (int t = 0; t < 3000; t++) {
            memcpy(b, der, (size_t)len);
            int hits = 1 + rand() % 3;
            for (int h = 0; h < hits; h++)
                b[rand() % len] = (uint8_t)(rand() % 4 ? rand() : b[rand() % len] ^ 0x80);
            struct x509_info mine, ref;
            uint8_t *copy = malloc((size_t)len);
            memcpy(copy, b, (size_t)len);
            bool ok_mine = x509_parse(NULL, copy, (size_t)len, &mine);
            free(copy);
            bool ok_ref = x509_parse_openssl(b, (size_t)len, &ref);
            trials++;
            accepted += ok_mine;
            if (ok_mine && !ok_ref) {
                new_only++;
                if (new_only < 5) {
                    fprintf(stderr, "    accepted where OpenSSL refused: ");
                    for (int i = 0; i < len; i++)
                        fprintf(stderr, "%02x", b[i]);
                    fprintf(stderr, "\n");
                }
            } else if (ok_mine && !same(&mine, &ref, true)) {
                /* an EC point of the right form and length that is not on
                 * its curve: OpenSSL's decoder gave no key, this reader
                 * names the curve's key */
                if (strcmp(mine.key_type, "EC") == 0 && !ref.key_type[0]) {
                    memcpy(ref.key_type, mine.key_type, sizeof(ref.key_type));
                    ref.key_bits = mine.key_bits;
                    off_curve++;
                    if (same(&mine, &ref, true))
                        continue;
                }
                differ++;
                if (differ < 5) {
                    same(&mine, &ref, false);
                    fprintf(stderr, "    read otherwise than OpenSSL: ");
                    for (int i = 0; i < len; i++)
                        fprintf(stderr, "%02x", b[i]);
                    fprintf(stderr, "\n");
                }
            }
        }
        free(b);
        OPENSSL_free(der);
    }
    fprintf(stderr, "  random damage: %zu trials, %zu accepted, %zu accepted only by the "
            "DER reader, %zu with other fields, %zu EC points off their curve\n", trials,
            accepted, new_only, differ, off_curve);
    CHECK_EQ(new_only, 0);
    CHECK_EQ(differ, 0);
    EVP_PKEY_free(p256);
    EVP_PKEY_free(rsa);
    EVP_PKEY_free(ed);
}

TEST_LIST_FIXTURE(setup, teardown, every_key_type_reads_the_same,
                  names_print_as_openssl_printed_them, serials_print_their_magnitude,
                  times_read_as_asn1_time_to_tm, sans_are_counted_and_listed_alike,
                  self_signed_is_decided_as_before,
                  truncated_certificates_are_refused_at_every_byte,
                  lengths_past_the_end_and_indefinite_are_refused,
                  primitive_sequences_are_read_as_openssl_read_them,
                  nesting_bombs_cost_one_skip, random_damage_never_reads_outside_and_agrees)
