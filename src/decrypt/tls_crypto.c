/* tls_crypto.c -- cipher suites, key derivation and record opening for
 * passive TLS decryption, all through OpenSSL. See tls_crypto.h. */
#include "decrypt/tls_crypto.h"

#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>

#define S12(id, kind, key, blk, mac, prf, rsa, name) \
    { id, kind, key, blk, mac, prf, rsa, false, name }
#define S13(id, kind, key, prf, name) \
    { id, kind, key, 0, 0, prf, false, true, name }

static const struct tls_suite suites[] = {
    /* TLS 1.3 (RFC 8446 B.4) */
    S13(0x1301, TC_GCM, 16, TH_SHA256, "AES-128-GCM"),
    S13(0x1302, TC_GCM, 32, TH_SHA384, "AES-256-GCM"),
    S13(0x1303, TC_CHACHA, 32, TH_SHA256, "ChaCha20-Poly1305"),
    S13(0x1304, TC_CCM, 16, TH_SHA256, "AES-128-CCM"),
    S13(0x1305, TC_CCM8, 16, TH_SHA256, "AES-128-CCM"),
    /* AES-GCM (RFC 5288, 5289) */
    S12(0x009C, TC_GCM, 16, 0, 0, TH_SHA256, true, "AES-128-GCM"),
    S12(0x009D, TC_GCM, 32, 0, 0, TH_SHA384, true, "AES-256-GCM"),
    S12(0x009E, TC_GCM, 16, 0, 0, TH_SHA256, false, "AES-128-GCM"),
    S12(0x009F, TC_GCM, 32, 0, 0, TH_SHA384, false, "AES-256-GCM"),
    S12(0xC02B, TC_GCM, 16, 0, 0, TH_SHA256, false, "AES-128-GCM"),
    S12(0xC02C, TC_GCM, 32, 0, 0, TH_SHA384, false, "AES-256-GCM"),
    S12(0xC02F, TC_GCM, 16, 0, 0, TH_SHA256, false, "AES-128-GCM"),
    S12(0xC030, TC_GCM, 32, 0, 0, TH_SHA384, false, "AES-256-GCM"),
    /* ChaCha20-Poly1305 (RFC 7905) */
    S12(0xCCA8, TC_CHACHA, 32, 0, 0, TH_SHA256, false, "ChaCha20-Poly1305"),
    S12(0xCCA9, TC_CHACHA, 32, 0, 0, TH_SHA256, false, "ChaCha20-Poly1305"),
    S12(0xCCAA, TC_CHACHA, 32, 0, 0, TH_SHA256, false, "ChaCha20-Poly1305"),
    /* AES-CCM (RFC 6655, 7251) */
    S12(0xC09C, TC_CCM, 16, 0, 0, TH_SHA256, true, "AES-128-CCM"),
    S12(0xC09D, TC_CCM, 32, 0, 0, TH_SHA256, true, "AES-256-CCM"),
    S12(0xC09E, TC_CCM, 16, 0, 0, TH_SHA256, false, "AES-128-CCM"),
    S12(0xC09F, TC_CCM, 32, 0, 0, TH_SHA256, false, "AES-256-CCM"),
    S12(0xC0A0, TC_CCM8, 16, 0, 0, TH_SHA256, true, "AES-128-CCM"),
    S12(0xC0A1, TC_CCM8, 32, 0, 0, TH_SHA256, true, "AES-256-CCM"),
    S12(0xC0AC, TC_CCM, 16, 0, 0, TH_SHA256, false, "AES-128-CCM"),
    S12(0xC0AD, TC_CCM, 32, 0, 0, TH_SHA256, false, "AES-256-CCM"),
    S12(0xC0AE, TC_CCM8, 16, 0, 0, TH_SHA256, false, "AES-128-CCM"),
    S12(0xC0AF, TC_CCM8, 32, 0, 0, TH_SHA256, false, "AES-256-CCM"),
    /* CBC with HMAC (RFC 5246, 5289, 4492) */
    S12(0x000A, TC_CBC, 24, 8, TH_SHA1, TH_SHA256, true, "DES-EDE3-CBC"),
    S12(0x002F, TC_CBC, 16, 16, TH_SHA1, TH_SHA256, true, "AES-128-CBC"),
    S12(0x0035, TC_CBC, 32, 16, TH_SHA1, TH_SHA256, true, "AES-256-CBC"),
    S12(0x003C, TC_CBC, 16, 16, TH_SHA256, TH_SHA256, true, "AES-128-CBC"),
    S12(0x003D, TC_CBC, 32, 16, TH_SHA256, TH_SHA256, true, "AES-256-CBC"),
    S12(0x0033, TC_CBC, 16, 16, TH_SHA1, TH_SHA256, false, "AES-128-CBC"),
    S12(0x0039, TC_CBC, 32, 16, TH_SHA1, TH_SHA256, false, "AES-256-CBC"),
    S12(0x0067, TC_CBC, 16, 16, TH_SHA256, TH_SHA256, false, "AES-128-CBC"),
    S12(0x006B, TC_CBC, 32, 16, TH_SHA256, TH_SHA256, false, "AES-256-CBC"),
    S12(0xC009, TC_CBC, 16, 16, TH_SHA1, TH_SHA256, false, "AES-128-CBC"),
    S12(0xC00A, TC_CBC, 32, 16, TH_SHA1, TH_SHA256, false, "AES-256-CBC"),
    S12(0xC013, TC_CBC, 16, 16, TH_SHA1, TH_SHA256, false, "AES-128-CBC"),
    S12(0xC014, TC_CBC, 32, 16, TH_SHA1, TH_SHA256, false, "AES-256-CBC"),
    S12(0xC023, TC_CBC, 16, 16, TH_SHA256, TH_SHA256, false, "AES-128-CBC"),
    S12(0xC024, TC_CBC, 32, 16, TH_SHA384, TH_SHA384, false, "AES-256-CBC"),
    S12(0xC027, TC_CBC, 16, 16, TH_SHA256, TH_SHA256, false, "AES-128-CBC"),
    S12(0xC028, TC_CBC, 32, 16, TH_SHA384, TH_SHA384, false, "AES-256-CBC"),
};

const struct tls_suite *tls_suite_find(uint16_t id)
{
    for (size_t i = 0; i < sizeof(suites) / sizeof(suites[0]); i++)
        if (suites[i].id == id)
            return &suites[i];
    return NULL;
}

/* --- what records are opened with ------------------------------------- */

#define N_SUITES (sizeof(suites) / sizeof(suites[0]))

struct tls_record_crypto {
    EVP_CIPHER_CTX *ctx;
    EVP_CIPHER *cipher[N_SUITES];   /* by index in suites[] */
    EVP_MAC *hmac;
    EVP_MAC_CTX *mac;
};

void tls_record_crypto_free(struct tls_record_crypto *rc)
{
    if (!rc)
        return;
    EVP_CIPHER_CTX_free(rc->ctx);
    for (size_t i = 0; i < N_SUITES; i++)
        EVP_CIPHER_free(rc->cipher[i]);
    EVP_MAC_CTX_free(rc->mac);
    EVP_MAC_free(rc->hmac);
    OPENSSL_free(rc);
}

/* A suite whose cipher the provider lacks is left NULL: its records do
 * not open (and are counted as such), the others do. */
struct tls_record_crypto *tls_record_crypto_new(void)
{
    struct tls_record_crypto *rc = OPENSSL_zalloc(sizeof(*rc));
    if (!rc)
        return NULL;
    rc->ctx = EVP_CIPHER_CTX_new();
    rc->hmac = EVP_MAC_fetch(NULL, "HMAC", NULL);
    rc->mac = rc->hmac ? EVP_MAC_CTX_new(rc->hmac) : NULL;
    for (size_t i = 0; i < N_SUITES; i++)
        rc->cipher[i] = EVP_CIPHER_fetch(NULL, suites[i].cipher, NULL);
    if (!rc->ctx || !rc->mac) {
        tls_record_crypto_free(rc);
        return NULL;
    }
    return rc;
}

static const EVP_CIPHER *cipher_of(const struct tls_record_crypto *rc,
                                   const struct tls_suite *s)
{
    return rc->cipher[s - suites];
}

static const char *hash_name(enum tls_hash h)
{
    switch (h) {
    case TH_MD5_SHA1: return "MD5-SHA1";
    case TH_SHA1: return "SHA1";
    case TH_SHA256: return "SHA256";
    case TH_SHA384: return "SHA384";
    }
    return "SHA256";
}

size_t tls_hash_len(enum tls_hash h)
{
    switch (h) {
    case TH_MD5_SHA1: return 36;
    case TH_SHA1: return 20;
    case TH_SHA256: return 32;
    case TH_SHA384: return 48;
    }
    return 32;
}

/* --- key derivation ------------------------------------------------------ */

static bool kdf_derive(const char *kdf_name, OSSL_PARAM *params, uint8_t *out,
                       size_t out_len)
{
    EVP_KDF *kdf = EVP_KDF_fetch(NULL, kdf_name, NULL);
    EVP_KDF_CTX *kctx = kdf ? EVP_KDF_CTX_new(kdf) : NULL;
    bool ok = kctx && EVP_KDF_derive(kctx, out, out_len, params) == 1;
    EVP_KDF_CTX_free(kctx);
    EVP_KDF_free(kdf);
    return ok;
}

bool tls_prf(enum tls_hash h, const uint8_t *secret, size_t secret_len,
             const char *label, const uint8_t *seed, size_t seed_len,
             uint8_t *out, size_t out_len)
{
    uint8_t full[160];
    size_t ll = strlen(label);
    if (ll + seed_len > sizeof(full))
        return false;
    memcpy(full, label, ll);
    memcpy(full + ll, seed, seed_len);
    OSSL_PARAM p[4];
    p[0] = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST,
                                            (char *)hash_name(h), 0);
    p[1] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SECRET,
                                             (void *)secret, secret_len);
    p[2] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SEED, full,
                                             ll + seed_len);
    p[3] = OSSL_PARAM_construct_end();
    return kdf_derive("TLS1-PRF", p, out, out_len);
}

bool tls_master_secret(enum tls_hash prf, const uint8_t pms[48],
                       const uint8_t client_random[32],
                       const uint8_t server_random[32], bool extended_ms,
                       const uint8_t *session_hash, size_t hash_len,
                       uint8_t master[48])
{
    if (extended_ms)
        return tls_prf(prf, pms, 48, "extended master secret", session_hash,
                       hash_len, master, 48);
    uint8_t seed[64];
    memcpy(seed, client_random, 32);
    memcpy(seed + 32, server_random, 32);
    return tls_prf(prf, pms, 48, "master secret", seed, 64, master, 48);
}

/* The fixed part of an AEAD nonce taken from the key block. */
static size_t implicit_iv_len(const struct tls_suite *s)
{
    switch (s->kind) {
    case TC_CHACHA: return 12;
    case TC_CBC: return s->block;   /* used by TLS 1.0 only */
    default: return 4;
    }
}

bool tls12_keys(const struct tls_suite *s, uint16_t version,
                const uint8_t master[48], const uint8_t client_random[32],
                const uint8_t server_random[32], struct tls_dir_keys keys[2])
{
    size_t mac = s->kind == TC_CBC ? tls_hash_len((enum tls_hash)s->mac) : 0;
    size_t ivl = implicit_iv_len(s);
    uint8_t seed[64], block[2 * (TLS_MAC_MAX + TLS_KEY_MAX + TLS_IV_MAX)];
    size_t need = 2 * (mac + s->key_len + ivl);
    memcpy(seed, server_random, 32);
    memcpy(seed + 32, client_random, 32);
    enum tls_hash prf = version < TLS_V12 ? TH_MD5_SHA1 : (enum tls_hash)s->prf;
    if (!tls_prf(prf, master, 48, "key expansion", seed, 64, block, need))
        return false;
    memset(keys, 0, 2 * sizeof(*keys));
    const uint8_t *p = block;
    for (int d = 0; d < 2; d++, p += mac)
        memcpy(keys[d].mac_key, p, mac);
    for (int d = 0; d < 2; d++, p += s->key_len)
        memcpy(keys[d].key, p, s->key_len);
    for (int d = 0; d < 2; d++, p += ivl)
        memcpy(keys[d].iv, p, ivl);
    keys[0].ready = keys[1].ready = true;
    OPENSSL_cleanse(block, sizeof(block));
    return true;
}

bool tls13_expand_label(enum tls_hash h, const uint8_t *secret, size_t secret_len,
                        const char *label, uint8_t *out, size_t out_len)
{
    uint8_t info[64];
    size_t ll = strlen(label), n = 0;
    if (ll + 10 > sizeof(info))
        return false;
    info[n++] = (uint8_t)(out_len >> 8);
    info[n++] = (uint8_t)out_len;
    info[n++] = (uint8_t)(6 + ll);
    memcpy(info + n, "tls13 ", 6);
    n += 6;
    memcpy(info + n, label, ll);
    n += ll;
    info[n++] = 0;
    int mode = EVP_KDF_HKDF_MODE_EXPAND_ONLY;
    OSSL_PARAM p[5];
    p[0] = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST,
                                            (char *)hash_name(h), 0);
    p[1] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, (void *)secret,
                                             secret_len);
    p[2] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, info, n);
    p[3] = OSSL_PARAM_construct_int(OSSL_KDF_PARAM_MODE, &mode);
    p[4] = OSSL_PARAM_construct_end();
    return kdf_derive("HKDF", p, out, out_len);
}

bool tls13_keys(const struct tls_suite *s, const uint8_t *secret,
                size_t secret_len, struct tls_dir_keys *k)
{
    if (secret_len > TLS_SECRET_MAX)
        return false;
    memset(k, 0, sizeof(*k));
    enum tls_hash h = (enum tls_hash)s->prf;
    if (!tls13_expand_label(h, secret, secret_len, "key", k->key, s->key_len) ||
        !tls13_expand_label(h, secret, secret_len, "iv", k->iv, 12))
        return false;
    memcpy(k->secret, secret, secret_len);
    k->secret_len = (uint8_t)secret_len;
    k->ready = true;
    return true;
}

bool tls13_key_update(const struct tls_suite *s, struct tls_dir_keys *k)
{
    uint8_t next[TLS_SECRET_MAX];
    size_t n = k->secret_len;
    if (!tls13_expand_label((enum tls_hash)s->prf, k->secret, n, "traffic upd",
                            next, n))
        return false;
    bool ok = tls13_keys(s, next, n, k);
    OPENSSL_cleanse(next, sizeof(next));
    return ok;
}

/* --- records ------------------------------------------------------------- */

static void put_u64(uint8_t *p, uint64_t v)
{
    for (int i = 7; i >= 0; i--, v >>= 8)
        p[i] = (uint8_t)v;
}

static size_t tag_len(const struct tls_suite *s)
{
    return s->kind == TC_CCM8 ? 8 : 16;
}

/* One AEAD open: nonce (12), aad, ciphertext ct (with the tag after it). */
static bool aead_open(struct tls_record_crypto *rc, const struct tls_suite *s,
                      const uint8_t *key, const uint8_t nonce[12],
                      const uint8_t *aad, size_t aad_len, const uint8_t *ct,
                      size_t len, uint8_t *out)
{
    size_t tl = tag_len(s);
    if (len < tl)
        return false;
    size_t n = len - tl;
    EVP_CIPHER_CTX *c = rc->ctx;
    const EVP_CIPHER *ciph = cipher_of(rc, s);
    bool ccm = s->kind == TC_CCM || s->kind == TC_CCM8;
    /* a cipher the provider lacked at start opens nothing */
    int ol = 0;
    bool ok = ciph && EVP_DecryptInit_ex(c, ciph, NULL, NULL, NULL) == 1 &&
              EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_AEAD_SET_IVLEN, 12, NULL) == 1;
    if (ok && ccm)
        ok = EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_AEAD_SET_TAG, (int)tl,
                                 (void *)(ct + n)) == 1;
    ok = ok && EVP_DecryptInit_ex(c, NULL, NULL, key, nonce) == 1;
    if (ok && ccm)
        ok = EVP_DecryptUpdate(c, NULL, &ol, NULL, (int)n) == 1;
    ok = ok && EVP_DecryptUpdate(c, NULL, &ol, aad, (int)aad_len) == 1 &&
         EVP_DecryptUpdate(c, out, &ol, ct, (int)n) == 1 && (size_t)ol == n;
    if (ok && !ccm) {
        int fl = 0;
        ok = EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_AEAD_SET_TAG, (int)tl,
                                 (void *)(ct + n)) == 1 &&
             EVP_DecryptFinal_ex(c, out + n, &fl) == 1;
    }
    return ok;
}

static bool open_tls13(struct tls_record_crypto *c, const struct tls_suite *s,
                       struct tls_dir_keys *k, const uint8_t hdr[5],
                       const uint8_t *body, size_t len, uint8_t *out,
                       size_t *out_len, uint8_t *type)
{
    uint8_t nonce[12], seq[8];
    memcpy(nonce, k->iv, 12);
    put_u64(seq, k->seq);
    for (int i = 0; i < 8; i++)
        nonce[4 + i] ^= seq[i];
    if (!aead_open(c, s, k->key, nonce, hdr, 5, body, len, out))
        return false;
    size_t n = len - tag_len(s);
    while (n && out[n - 1] == 0)   /* padding, then the real type */
        n--;
    if (n == 0)
        return false;
    *type = out[n - 1];
    *out_len = n - 1;
    return true;
}

/* seq || type || version || length: the AAD of TLS 1.2 and the MAC's head */
static void pseudo_header(uint8_t h[13], uint64_t seq, uint8_t type,
                          uint16_t version, size_t len)
{
    put_u64(h, seq);
    h[8] = type;
    h[9] = (uint8_t)(version >> 8);
    h[10] = (uint8_t)version;
    h[11] = (uint8_t)(len >> 8);
    h[12] = (uint8_t)len;
}

static bool open_aead12(struct tls_record_crypto *c, const struct tls_suite *s,
                        struct tls_dir_keys *k, const uint8_t hdr[5],
                        const uint8_t *body, size_t len, uint8_t *out,
                        size_t *out_len)
{
    uint8_t nonce[12], aad[13];
    if (s->kind == TC_CHACHA) {
        uint8_t seq[8];
        memcpy(nonce, k->iv, 12);
        put_u64(seq, k->seq);
        for (int i = 0; i < 8; i++)
            nonce[4 + i] ^= seq[i];
    } else {
        if (len < 8)
            return false;
        memcpy(nonce, k->iv, 4);
        memcpy(nonce + 4, body, 8);   /* the explicit part */
        body += 8;
        len -= 8;
    }
    if (len < tag_len(s))
        return false;
    size_t n = len - tag_len(s);
    pseudo_header(aad, k->seq, hdr[0], (uint16_t)(hdr[1] << 8 | hdr[2]), n);
    if (!aead_open(c, s, k->key, nonce, aad, 13, body, len, out))
        return false;
    *out_len = n;
    return true;
}

/* HMAC over the pseudo-header then the data, compared with expect; the
 * two parts go to the MAC as they are, without gathering them first. */
static bool mac_ok(struct tls_record_crypto *rc, const struct tls_suite *s,
                   const struct tls_dir_keys *k, const uint8_t head[13],
                   const uint8_t *data, size_t n, const uint8_t *expect)
{
    size_t want = tls_hash_len((enum tls_hash)s->mac), ml = 0;
    uint8_t md[EVP_MAX_MD_SIZE];
    OSSL_PARAM p[2];
    p[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST,
                                            (char *)hash_name((enum tls_hash)s->mac), 0);
    p[1] = OSSL_PARAM_construct_end();
    if (EVP_MAC_init(rc->mac, k->mac_key, want, p) != 1 ||
        EVP_MAC_update(rc->mac, head, 13) != 1 ||
        EVP_MAC_update(rc->mac, data, n) != 1 ||
        EVP_MAC_final(rc->mac, md, &ml, sizeof(md)) != 1 || ml != want)
        return false;
    return CRYPTO_memcmp(md, expect, want) == 0;
}

static bool cbc_decrypt(struct tls_record_crypto *rc, const struct tls_suite *s,
                        const uint8_t *key, const uint8_t *iv,
                        const uint8_t *ct, size_t n, uint8_t *out)
{
    const EVP_CIPHER *ciph = cipher_of(rc, s);
    EVP_CIPHER_CTX *c = rc->ctx;
    int ol = 0;
    return ciph && EVP_DecryptInit_ex(c, ciph, NULL, key, iv) == 1 &&
           EVP_CIPHER_CTX_set_padding(c, 0) == 1 &&
           EVP_DecryptUpdate(c, out, &ol, ct, (int)n) == 1 && (size_t)ol == n;
}

static bool open_cbc(struct tls_record_crypto *c, const struct tls_suite *s,
                     uint16_t version, bool etm, struct tls_dir_keys *k,
                     const uint8_t hdr[5], const uint8_t *body, size_t len,
                     uint8_t *out, size_t *out_len)
{
    size_t bs = s->block, ml = tls_hash_len((enum tls_hash)s->mac);
    uint16_t ver = (uint16_t)(hdr[1] << 8 | hdr[2]);
    uint8_t head[13];
    if (etm) {                 /* RFC 7366: the MAC covers IV + ciphertext */
        if (len < ml + bs)
            return false;
        len -= ml;
        pseudo_header(head, k->seq, hdr[0], ver, len);
        if (!mac_ok(c, s, k, head, body, len, body + len))
            return false;
    }
    bool explicit_iv = version >= TLS_V11;
    const uint8_t *iv = explicit_iv ? body : k->iv;
    const uint8_t *ct = explicit_iv ? body + bs : body;
    size_t n = explicit_iv ? len - bs : len;
    if (len < bs || n == 0 || n % bs)
        return false;
    if (!cbc_decrypt(c, s, k->key, iv, ct, n, out))
        return false;
    if (!explicit_iv)
        memcpy(k->iv, ct + n - bs, bs);   /* TLS 1.0 chains the IV */
    size_t pad = out[n - 1];
    if (pad + 1 > n)
        return false;
    for (size_t i = 0; i <= pad; i++)
        if (out[n - 1 - i] != pad)
            return false;
    n -= pad + 1;
    if (!etm) {
        if (n < ml)
            return false;
        n -= ml;
        pseudo_header(head, k->seq, hdr[0], ver, n);
        if (!mac_ok(c, s, k, head, out, n, out + n))
            return false;
    }
    *out_len = n;
    return true;
}

bool tls_record_open(struct tls_record_crypto *c, const struct tls_suite *s,
                     uint16_t version, bool etm, struct tls_dir_keys *k,
                     const uint8_t hdr[5], const uint8_t *body, size_t len,
                     uint8_t *out, size_t *out_len, uint8_t *type)
{
    bool ok;
    *type = hdr[0];
    if (!k->ready)
        return false;
    if (s->tls13)
        ok = open_tls13(c, s, k, hdr, body, len, out, out_len, type);
    else if (s->kind == TC_CBC)
        ok = open_cbc(c, s, version, etm, k, hdr, body, len, out, out_len);
    else
        ok = open_aead12(c, s, k, hdr, body, len, out, out_len);
    if (ok)
        k->seq++;
    return ok;
}
