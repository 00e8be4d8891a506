/* summary.c -- a session's summary for flow records (see summary.h). */
#include "fingerprint/summary.h"

#include <string.h>
#include <strings.h>

#include "fingerprint/ja3.h"
#include "util/text.h"

_Static_assert(sizeof(struct tls_summary) <= TLS_SMALL_OBJ,
               "a summary must fit the pool's small objects");

/* Offered suites that are broken or unauthenticated: NULL, EXPORT, anon,
 * RC4, DES, 3DES (IANA registry). */
static const uint16_t weak_suites[] = {
    0x0000, 0x0001, 0x0002, 0x0003, 0x0004, 0x0005, 0x0006, 0x0008, 0x0009,
    0x000a, 0x000b, 0x000c, 0x000d, 0x000e, 0x000f, 0x0010, 0x0011, 0x0012,
    0x0013, 0x0014, 0x0015, 0x0016, 0x0017, 0x0018, 0x0019, 0x001a, 0x001b,
    0x002c, 0x002d, 0x002e, 0x0034, 0x003a, 0x003b, 0x0046, 0x006c, 0x006d,
    0xc001, 0xc002, 0xc003, 0xc006, 0xc007, 0xc008, 0xc00b, 0xc00c, 0xc00d,
    0xc010, 0xc011, 0xc012, 0xc015, 0xc016, 0xc017, 0xc018, 0xc019,
};

static bool in_list(uint16_t v, const uint16_t *l, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (l[i] == v)
            return true;
    return false;
}

/* AEAD: TLS 1.3 suites, GCM, CCM, ChaCha20-Poly1305. */
static bool suite_aead(uint16_t c)
{
    return (c >= 0x1301 && c <= 0x1305) || (c >= 0x009c && c <= 0x00a7) ||
           (c >= 0xc02b && c <= 0xc032) || (c >= 0xc09c && c <= 0xc0af) ||
           (c >= 0xcca8 && c <= 0xccae);
}

/* Forward secrecy: TLS 1.3, or an (EC)DHE key exchange. */
static const uint16_t fs_suites[] = {
    0x0033, 0x0039, 0x0067, 0x006b, 0x009e, 0x009f, 0x00a2, 0x00a3,
    0xc009, 0xc00a, 0xc013, 0xc014, 0xc023, 0xc024, 0xc027, 0xc028,
    0xc02b, 0xc02c, 0xc02f, 0xc030, 0xc09e, 0xc09f, 0xc0ac, 0xc0ad,
    0xcca8, 0xcca9, 0xccaa, 0xccac, 0xccad,
};

static bool suite_fs(uint16_t c)
{
    return (c >= 0x1301 && c <= 0x1305) ||
           in_list(c, fs_suites, sizeof(fs_suites) / sizeof(fs_suites[0]));
}

static uint16_t ext_flag(uint16_t type)
{
    switch (type) {
    case 0: return TLS_EXT_FLAG_SNI;
    case 16: return TLS_EXT_FLAG_ALPN;
    case 35: return TLS_EXT_FLAG_SESSION_TICKET;
    case 43: return TLS_EXT_FLAG_SUPPORTED_VERS;
    case 51: return TLS_EXT_FLAG_KEY_SHARE;
    case 5: return TLS_EXT_FLAG_STATUS_REQUEST;
    case 23: return TLS_EXT_FLAG_EXT_MASTER;
    case 0xff01: return TLS_EXT_FLAG_RENEGOTIATION;
    case 21: return TLS_EXT_FLAG_PADDING;
    case 0xfe0d: return TLS_EXT_FLAG_ECH;
    case 41: return TLS_EXT_FLAG_PSK;
    default: return tls_is_grease(type) ? TLS_EXT_FLAG_GREASE : 0;
    }
}

/* "*.example.com" covers "a.example.com" (one label), as RFC 6125 says. */
static bool name_covers(const char *pattern, const char *name)
{
    if (pattern[0] == '*' && pattern[1] == '.') {
        const char *dot = strchr(name, '.');
        return dot && dot != name && strcasecmp(pattern + 1, dot) == 0;
    }
    return strcasecmp(pattern, name) == 0;
}

static int8_t sni_matches(const char *sni, const struct x509_info *leaf)
{
    for (int i = 0; i < leaf->n_sans && i < X509_MAX_SANS; i++)
        if (name_covers(leaf->sans[i], sni))
            return 1;
    const char *cn = strstr(leaf->subject, "CN=");
    if (!cn)
        return 0;
    char buf[X509_SAN_LEN];
    size_t n = strcspn(cn + 3, ",/");
    text_copy(buf, sizeof(buf), cn + 3, n);
    return name_covers(buf, sni) ? 1 : 0;
}

static void client_facts(const struct tls_client_hello *ch,
                         struct tls_facts *t)
{
    t->has_ch = true;
    t->n_ciphers = ch->n_ciphers;
    t->n_exts = ch->n_exts;
    t->n_groups = ch->n_groups;
    t->n_sig_algs = ch->n_sig_algs;
    t->n_alpn = (uint8_t)(ch->n_alpn > 255 ? 255 : ch->n_alpn);
    t->session_id_len = ch->session_id_len;
    t->client_max_version = ch->legacy_version;
    for (unsigned i = 0; i < ch->n_versions && i < TLS_MAX_SHORT; i++)
        if (!tls_is_grease(ch->versions[i]) &&
            ch->versions[i] > t->client_max_version)
            t->client_max_version = ch->versions[i];
    unsigned nc = ch->n_ciphers < TLS_MAX_LIST ? ch->n_ciphers : TLS_MAX_LIST;
    for (unsigned i = 0; i < nc; i++) {
        if (tls_is_grease(ch->ciphers[i]))
            t->ext_flags |= TLS_EXT_FLAG_GREASE;
        else if (in_list(ch->ciphers[i], weak_suites,
                         sizeof(weak_suites) / sizeof(weak_suites[0])) &&
                 t->weak_ciphers < 255)
            t->weak_ciphers++;
    }
    unsigned ne = ch->n_exts < TLS_MAX_LIST ? ch->n_exts : TLS_MAX_LIST;
    for (unsigned i = 0; i < ne; i++)
        t->ext_flags |= ext_flag(ch->exts[i]);
    for (unsigned i = 0; i < ch->n_alpn && i < TLS_MAX_ALPN; i++) {
        const uint8_t *a = ch->alpn[i];
        if (ch->alpn_len[i] == 2 && memcmp(a, "h2", 2) == 0)
            t->alpn_h2 = 1;
        else if (ch->alpn_len[i] == 8 && memcmp(a, "http/1.1", 8) == 0)
            t->alpn_http11 = 1;
    }
}

static void cert_facts(const struct tls_session *s, struct tls_facts *t)
{
    const struct x509_info *leaf = &s->certs[0];
    t->has_cert = true;
    t->cert_not_before = leaf->not_before;
    t->cert_not_after = leaf->not_after;
    t->cert_key_bits = (uint16_t)(leaf->key_bits > 65535 ? 65535
                                  : leaf->key_bits < 0 ? 0 : leaf->key_bits);
    t->cert_sans = (uint8_t)(leaf->total_sans > 255 ? 255 : leaf->total_sans);
    t->chain_len = s->chain_len;
    t->sni_cert_match = s->ch.sni[0] ? sni_matches(s->ch.sni, leaf) : -1;
}

static void summarize_facts(const struct tls_session *s, struct tls_facts *t)
{
    t->sni_cert_match = -1;
    if (s->have_ch)
        client_facts(&s->ch, t);
    if (s->have_sh) {
        t->has_sh = true;
        t->cipher_aead = suite_aead(s->sh.cipher);
        t->cipher_fs = suite_fs(s->sh.cipher);
    }
    if (s->n_certs)
        cert_facts(s, t);
}

void tls_summarize(const struct tls_session *s, struct tls_summary *out)
{
    char str[JA3_STR_MAX]; /* the JA3 string, hashed then dropped */
    memset(out, 0, sizeof(*out));
    memcpy(out->sni, s->ch.sni, sizeof(out->sni));
    out->quic = s->quic.is_quic;
    out->dtls = s->dtls;
    out->complete = s->complete;
    if (s->have_ch) {
        if (!s->ch.sslv2) {
            ja3_client(&s->ch, str, sizeof(str), out->ja3);
            out->has_ja3 = true;
        }
        ja4_client(&s->ch, out->quic ? 'q' : out->dtls ? 'd' : 't', out->ja4);
        out->has_ja4 = true;
    }
    if (s->have_sh_first) {
        ja3_server(&s->sh_first, str, sizeof(str), out->ja3s);
        out->has_ja3s = true;
    }
    if (s->have_sh) {
        out->version = s->sh.selected_version;
        out->cipher = s->sh.cipher;
        out->has_cipher = true;
    } else if (s->have_ch) {
        out->version = s->ch.legacy_version;
    }
    if (s->n_certs) {
        memcpy(out->leaf_sha1, s->certs[0].sha1, 20);
        out->self_signed = s->certs[0].self_signed;
        out->has_leaf = true;
    }
    summarize_facts(s, &out->facts);
}
