/* test_tls.c -- TLS hellos, sessions cut every which way, certificates,
 * and the JA3 / JA3S / JA4 values their authors define. */
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "fingerprint/ja3.h"
#include "fingerprint/ja4.h"
#include "pktbuild.h"
#include "proto/tls.h"
#include "testing.h"

static struct tls_stats st;

/* A ClientHello body with the JA4 spec's example lists and GREASE. */
static size_t build_client_hello(uint8_t *out, const char *sni)
{
    static const uint16_t ciphers[] = { 0x0a0a, 0x1301, 0x1302, 0x1303, 0xc02b,
        0xc02f, 0xc02c, 0xc030, 0xcca9, 0xcca8, 0xc013, 0xc014, 0x009c, 0x009d,
        0x002f, 0x0035 };
    static const uint16_t sigs[] = { 0x0403, 0x0804, 0x0401, 0x0503, 0x0805,
                                     0x0501, 0x0806, 0x0601 };
    struct pb b = { .len = 0 };
    pb_u16(&b, 0x0303);
    for (int i = 0; i < 32; i++)
        pb_u8(&b, (uint8_t)i);
    pb_u8(&b, 0);                                   /* session id */
    pb_u16(&b, sizeof(ciphers));
    for (size_t i = 0; i < sizeof(ciphers) / 2; i++)
        pb_u16(&b, ciphers[i]);
    pb_u8(&b, 1); pb_u8(&b, 0);                     /* compression */
    size_t ext_len_at = b.len;
    pb_u16(&b, 0);
    /* extensions in the spec's order: 001b,0000,0033,0010,4469,0017,002d,
     * 000d,0005,0023,0012,002b,ff01,000b,000a,0015, GREASE first */
    pb_u16(&b, 0x2a2a); pb_u16(&b, 0);
    pb_u16(&b, 0x001b); pb_u16(&b, 3); pb_u8(&b, 2); pb_u16(&b, 2);
    size_t n = strlen(sni);
    pb_u16(&b, 0x0000); pb_u16(&b, (uint16_t)(n + 5)); pb_u16(&b, (uint16_t)(n + 3));
    pb_u8(&b, 0); pb_u16(&b, (uint16_t)n); pb_bytes(&b, sni, n);
    pb_u16(&b, 0x0033); pb_u16(&b, 2 + 4 + 32); pb_u16(&b, 4 + 32);
    pb_u16(&b, 0x001d); pb_u16(&b, 32);
    for (int i = 0; i < 32; i++)
        pb_u8(&b, 7);
    pb_u16(&b, 0x0010); pb_u16(&b, 14); pb_u16(&b, 12);
    pb_u8(&b, 2); pb_bytes(&b, "h2", 2); pb_u8(&b, 8); pb_bytes(&b, "http/1.1", 8);
    pb_u16(&b, 0x4469); pb_u16(&b, 0);
    pb_u16(&b, 0x0017); pb_u16(&b, 0);
    pb_u16(&b, 0x002d); pb_u16(&b, 2); pb_u8(&b, 1); pb_u8(&b, 1);
    pb_u16(&b, 0x000d); pb_u16(&b, 2 + sizeof(sigs)); pb_u16(&b, sizeof(sigs));
    for (size_t i = 0; i < sizeof(sigs) / 2; i++)
        pb_u16(&b, sigs[i]);
    pb_u16(&b, 0x0005); pb_u16(&b, 0);
    pb_u16(&b, 0x0023); pb_u16(&b, 0);
    pb_u16(&b, 0x0012); pb_u16(&b, 0);
    pb_u16(&b, 0x002b); pb_u16(&b, 5); pb_u8(&b, 4); pb_u16(&b, 0x0304); pb_u16(&b, 0x0303);
    pb_u16(&b, 0xff01); pb_u16(&b, 1); pb_u8(&b, 0);
    pb_u16(&b, 0x000b); pb_u16(&b, 2); pb_u8(&b, 1); pb_u8(&b, 0);
    pb_u16(&b, 0x000a); pb_u16(&b, 8); pb_u16(&b, 6);
    pb_u16(&b, 0x4a4a); pb_u16(&b, 0x001d); pb_u16(&b, 0x0017);
    pb_u16(&b, 0x0015); pb_u16(&b, 0);
    pb_put16(&b, ext_len_at, (uint16_t)(b.len - ext_len_at - 2));
    memcpy(out, b.b, b.len);
    return b.len;
}

/* Wraps a handshake message into one record. */
static size_t record(uint8_t *out, uint8_t hs_type, const uint8_t *body,
                     size_t n)
{
    out[0] = 22; out[1] = 3; out[2] = 1;
    out[3] = (uint8_t)((n + 4) >> 8); out[4] = (uint8_t)(n + 4);
    out[5] = hs_type;
    out[6] = (uint8_t)(n >> 16); out[7] = (uint8_t)(n >> 8); out[8] = (uint8_t)n;
    memcpy(out + 9, body, n);
    return n + 9;
}

static void client_hello_fields_are_parsed(void)
{
    uint8_t body[1024];
    size_t n = build_client_hello(body, "example.com");
    struct tls_client_hello ch;
    memset(&ch, 0, sizeof(ch));
    CHECK(tls_parse_client_hello(cur_make(body, n), &ch, &st));
    CHECK_EQ(ch.legacy_version, 0x0303);
    CHECK_EQ(ch.n_ciphers, 16);
    CHECK_EQ(ch.n_exts, 17);
    CHECK_STR(ch.sni, "example.com");
    CHECK_EQ(ch.n_alpn, 2);
    CHECK(memcmp(ch.alpn[1], "http/1.1", 8) == 0);
    CHECK_EQ(ch.n_versions, 2);
    CHECK_EQ(ch.versions[0], 0x0304);
    CHECK_EQ(ch.n_key_shares, 1);
    CHECK_EQ(ch.key_shares[0], 0x001d);
    CHECK_EQ(ch.n_sig_algs, 8);
    CHECK_EQ(ch.n_groups, 3);
    CHECK(ch.has_session_ticket);
}

static void ja4_matches_the_spec_example(void)
{
    uint8_t body[1024];
    size_t n = build_client_hello(body, "example.com");
    struct tls_client_hello ch;
    memset(&ch, 0, sizeof(ch));
    tls_parse_client_hello(cur_make(body, n), &ch, &st);
    char ja4[JA4_LEN];
    ja4_client(&ch, 't', ja4);
    CHECK_STR(ja4, "t13d1516h2_8daaf6152771_e5627efa2ab1");
    ja4_client(&ch, 'q', ja4);
    CHECK_EQ(ja4[0], 'q');
    ch.has_sni = false;
    ch.n_alpn = 0;
    ja4_client(&ch, 't', ja4);
    CHECK_STR(ja4, "t13i151600_8daaf6152771_e5627efa2ab1");
}

static void ja3_leaves_out_grease_and_keeps_order(void)
{
    uint8_t body[1024];
    size_t n = build_client_hello(body, "example.com");
    struct tls_client_hello ch;
    memset(&ch, 0, sizeof(ch));
    tls_parse_client_hello(cur_make(body, n), &ch, &st);
    char str[JA3_STR_MAX], hash[33];
    ja3_client(&ch, str, sizeof(str), hash);
    CHECK_STR(str, "771,4865-4866-4867-49195-49199-49196-49200-52393-52392-"
                   "49171-49172-156-157-47-53,27-0-51-16-17513-23-45-13-5-35-"
                   "18-43-65281-11-10-21,29-23,0");
    /* md5 of that string */
    unsigned char md[16];
    unsigned int mdn;
    EVP_Digest(str, strlen(str), md, &mdn, EVP_md5(), NULL);
    char want[33];
    for (int i = 0; i < 16; i++)
        snprintf(want + 2 * i, 3, "%02x", md[i]);
    CHECK_STR(hash, want);
    struct tls_server_hello sh;
    memset(&sh, 0, sizeof(sh));
    sh.legacy_version = 0x0303;
    sh.cipher = 0xc02f;
    sh.exts[0] = 0xff01; sh.exts[1] = 0x0a0a; sh.exts[2] = 0x000b;
    sh.n_exts = 3;
    ja3_server(&sh, str, sizeof(str), hash);
    CHECK_STR(str, "771,49199,65281-11");
}

/* A whole session, fed one byte at a time, then all at once. */
static void session_survives_any_cut(void)
{
    uint8_t body[1024], stream[2048];
    size_t n = build_client_hello(body, "cut.example");
    size_t len = record(stream, 1, body, n);
    for (int mode = 0; mode < 3; mode++) {
        struct tls_pool *p = tls_pool_new(1 << 20);
        struct tls_session *s = tls_session_new(p, &st);
        if (mode == 0)
            for (size_t i = 0; i < len; i++)
                tls_session_feed(p, s, 0, stream + i, 1, &st);
        else if (mode == 1)
            tls_session_feed(p, s, 0, stream, len, &st);
        else { /* split over two records: 5-byte headers each */
            uint8_t two[2100];
            size_t half = (n + 4) / 2, o = 0;
            uint8_t hs[1100];
            hs[0] = 1; hs[1] = 0; hs[2] = (uint8_t)(n >> 8); hs[3] = (uint8_t)n;
            memcpy(hs + 4, body, n);
            size_t parts[2] = { half, n + 4 - half }, off = 0;
            for (int r = 0; r < 2; r++) {
                two[o++] = 22; two[o++] = 3; two[o++] = 1;
                two[o++] = (uint8_t)(parts[r] >> 8); two[o++] = (uint8_t)parts[r];
                memcpy(two + o, hs + off, parts[r]);
                o += parts[r];
                off += parts[r];
            }
            tls_session_feed(p, s, 0, two, o, &st);
        }
        CHECK(s->have_ch);
        CHECK_STR(s->ch.sni, "cut.example");
        CHECK_EQ(s->ch.record_version, 0x0301);
        tls_session_release(p, s);
        tls_pool_free(p);
    }
}

static void malformed_lengths_are_refused_and_counted(void)
{
    uint8_t body[1024];
    size_t n = build_client_hello(body, "x.example");
    struct tls_client_hello ch;
    memset(&ch, 0, sizeof(ch));
    uint64_t before = st.err[TLS_ERR_hello_malformed] + st.err[TLS_ERR_extension_malformed];
    /* every truncation of the hello is refused or parsed within bounds */
    for (size_t cut = 0; cut < 80; cut++)
        tls_parse_client_hello(cur_make(body, cut), &ch, &st);
    CHECK(st.err[TLS_ERR_hello_malformed] + st.err[TLS_ERR_extension_malformed] > before);
    /* an extension length running past the block */
    body[n - 1] = 0xff;
    body[n - 2] = 0xff;
    before = st.err[TLS_ERR_extension_malformed];
    CHECK(!tls_parse_client_hello(cur_make(body, n), &ch, &st));
    CHECK_EQ(st.err[TLS_ERR_extension_malformed], before + 1);
    /* a record longer than TLS allows stops the direction */
    struct tls_pool *p = tls_pool_new(1 << 20);
    struct tls_session *s = tls_session_new(p, &st);
    const uint8_t huge[5] = { 22, 3, 3, 0xff, 0xff };
    before = st.err[TLS_ERR_record_too_long];
    tls_session_feed(p, s, 0, huge, 5, &st);
    CHECK_EQ(st.err[TLS_ERR_record_too_long], before + 1);
    CHECK(s->dir[0].stopped);
    tls_session_release(p, s);
    tls_pool_free(p);
}

static void absurd_extension_counts_are_bounded(void)
{
    /* 20000 empty extensions: parsed, kept up to the cap, counted */
    static uint8_t body[100000];
    struct pb h = { .len = 0 };
    pb_u16(&h, 0x0303);
    memcpy(body, h.b, 2);
    size_t o = 2;
    memset(body + o, 0, 32); o += 32;
    body[o++] = 0;
    body[o++] = 0; body[o++] = 2; body[o++] = 0x13; body[o++] = 0x01;
    body[o++] = 1; body[o++] = 0;
    size_t count = 16000;
    body[o++] = (uint8_t)((count * 4) >> 8); body[o++] = (uint8_t)(count * 4);
    for (size_t i = 0; i < count; i++) {
        body[o++] = (uint8_t)(i >> 8); body[o++] = (uint8_t)i;
        body[o++] = 0; body[o++] = 0;
    }
    struct tls_client_hello ch;
    memset(&ch, 0, sizeof(ch));
    uint64_t before = st.err[TLS_ERR_lists_truncated];
    CHECK(tls_parse_client_hello(cur_make(body, o), &ch, &st));
    CHECK_EQ(ch.n_exts, TLS_MAX_LIST);
    CHECK(ch.truncated_lists);
    CHECK_EQ(st.err[TLS_ERR_lists_truncated], before + 1);
}

static void pool_is_bounded(void)
{
    struct tls_pool *p = tls_pool_new(sizeof(struct tls_session) + 100);
    struct tls_session *a = tls_session_new(p, &st);
    uint64_t before = st.err[TLS_ERR_buffers_exhausted];
    struct tls_session *b = tls_session_new(p, &st);
    CHECK(a != NULL);
    CHECK(b == NULL);
    CHECK_EQ(st.err[TLS_ERR_buffers_exhausted], before + 1);
    tls_session_release(p, a);
    CHECK(tls_session_new(p, &st) == a); /* reused, not allocated */
    tls_session_release(p, a);
    tls_pool_free(p);
}

static void certificates_are_read_and_cached(void)
{
    EVP_PKEY *k = EVP_RSA_gen(2048);
    X509 *x = X509_new();
    X509_set_version(x, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(x), 0x1234);
    X509_gmtime_adj(X509_getm_notBefore(x), 0);
    X509_gmtime_adj(X509_getm_notAfter(x), 86400);
    X509_set_pubkey(x, k);
    X509_NAME *name = X509_get_subject_name(x);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                               (const unsigned char *)"unit.nightjar.test", -1, -1, 0);
    X509_set_issuer_name(x, name);
    X509_EXTENSION *ext = X509V3_EXT_conf_nid(NULL, NULL, NID_subject_alt_name,
                                              "DNS:a.test,DNS:b.test");
    X509_add_ext(x, ext, -1);
    X509_EXTENSION_free(ext);
    X509_sign(x, k, EVP_sha256());
    unsigned char *der = NULL;
    int len = i2d_X509(x, &der);
    struct x509_info info;
    struct x509_cache *cache = x509_cache_new();
    REQUIRE(cache != NULL);
    CHECK(x509_parse(cache, der, (size_t)len, &info));
    CHECK(strstr(info.subject, "CN=unit.nightjar.test") != NULL);
    CHECK(info.self_signed);
    CHECK_STR(info.serial, "12:34");
    CHECK_EQ(info.n_sans, 2);
    CHECK_STR(info.sans[1], "b.test");
    CHECK_STR(info.key_type, "RSA");
    CHECK_EQ(info.key_bits, 2048);
    CHECK(info.not_after - info.not_before == 86400);
    unsigned char sha1[20];
    EVP_Digest(der, (size_t)len, sha1, NULL, EVP_sha1(), NULL);
    CHECK(memcmp(info.sha1, sha1, 20) == 0);
    CHECK(!x509_parse(cache, der, (size_t)len / 2, &info)); /* truncated DER */
    /* the same certificate again: from the worker's cache, the same fields */
    struct x509_info again;
    CHECK(x509_parse(cache, der, (size_t)len, &again));
    CHECK_EQ(x509_cache_stats(cache)->hits, 1);
    CHECK(strstr(again.subject, "CN=unit.nightjar.test") != NULL && again.n_sans == 2);
    CHECK(x509_parse(NULL, der, (size_t)len, &again)); /* no cache: parsed anyway */
    x509_cache_free(cache);
    OPENSSL_free(der);
    X509_free(x);
    EVP_PKEY_free(k);
}

TEST_LIST(client_hello_fields_are_parsed, ja4_matches_the_spec_example,
          ja3_leaves_out_grease_and_keeps_order, session_survives_any_cut,
          malformed_lengths_are_refused_and_counted,
          absurd_extension_counts_are_bounded, pool_is_bounded,
          certificates_are_read_and_cached)
