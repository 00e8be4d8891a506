/* tls.c -- TLS record and handshake parsing (see tls.h for the contract).
 *
 * The session layer is a small state machine per direction: read a 5-byte
 * record header (possibly across chunks), then the record's bytes. Handshake
 * records are appended to the direction's reassembly buffer and complete
 * messages are cut from its front; other record types only move the state
 * (ChangeCipherSpec, Alert, ApplicationData). An SSLv2-compatible hello is
 * recognised at the very start of the client direction.
 */
#include "proto/tls.h"

#include <openssl/evp.h>
#include "proto/x509.h"
#include "util/counters.h"

#include "util/digest.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *const tls_error_names[TLS_ERR_COUNT] = {
#define X(n) #n,
    TLS_ERRORS(X)
#undef X
};

#define TLS_RECORD_MAX (16384 + 2048) /* plaintext max + expansion */

const char *tls_version_name(uint16_t v, char *buf, size_t len)
{
    switch (v) {
    case 0x0002: return "SSLv2";
    case 0x0300: return "SSLv3";
    case 0x0301: return "TLSv1";
    case 0x0302: return "TLS 1.1";
    case 0x0303: return "TLS 1.2";
    case 0x0304: return "TLS 1.3";
    case 0xfeff: return "DTLS 1.0";
    case 0xfefd: return "DTLS 1.2";
    case 0xfefc: return "DTLS 1.3";
    default: snprintf(buf, len, "0x%04x", v); return buf;
    }
}

/* ---- hello parsing ------------------------------------------------------ */

static void u16_list(cursor_t c, uint16_t *out, uint16_t *n, size_t cap,
                     bool *truncated)
{
    while (cur_left(&c) >= 2) {
        uint16_t v = cur_u16be(&c);
        if (*n < cap)
            out[(*n)++] = v;
        else
            *truncated = true;
    }
}

static void parse_sni(cursor_t e, struct tls_client_hello *ch)
{
    cursor_t list = cur_sub(&e, cur_u16be(&e));
    while (cur_ok(&list) && cur_left(&list) >= 3) {
        uint8_t type = cur_u8(&list);
        uint16_t len = cur_u16be(&list);
        const uint8_t *name = cur_bytes(&list, len);
        if (!name)
            return;
        if (type == 0 && !ch->sni[0]) {
            size_t n = len < TLS_SNI_LEN - 1 ? len : TLS_SNI_LEN - 1;
            memcpy(ch->sni, name, n);
            ch->sni[n] = 0;
        }
    }
}

static void parse_alpn(cursor_t e, struct tls_client_hello *ch)
{
    cursor_t list = cur_sub(&e, cur_u16be(&e));
    while (cur_ok(&list) && cur_left(&list) >= 1) {
        uint8_t len = cur_u8(&list);
        const uint8_t *p = cur_bytes(&list, len);
        if (!p)
            return;
        if (ch->n_alpn == 0) {
            ch->alpn0_full_len = len;
            ch->alpn0_last = len ? p[len - 1] : 0;
        }
        if (ch->n_alpn < TLS_MAX_ALPN) {
            size_t n = len < TLS_ALPN_LEN ? len : TLS_ALPN_LEN;
            memcpy(ch->alpn[ch->n_alpn], p, n);
            ch->alpn_len[ch->n_alpn] = (uint8_t)n;
            ch->n_alpn++;
        }
    }
}

static bool parse_ch_extension(uint16_t type, cursor_t e,
                               struct tls_client_hello *ch)
{
    bool t = false;
    switch (type) {
    case 0x0000: ch->has_sni = true; parse_sni(e, ch); break;
    case 0x000a: u16_list(cur_sub(&e, cur_u16be(&e)), ch->groups,
                          &ch->n_groups, TLS_MAX_LIST, &t); break;
    case 0x000b: {
        uint8_t n = cur_u8(&e);
        const uint8_t *f = cur_bytes(&e, n);
        for (unsigned i = 0; f && i < n; i++) {
            if (ch->n_ec_formats < TLS_MAX_SHORT)
                ch->ec_formats[ch->n_ec_formats++] = f[i];
            else
                t = true;
        }
        break;
    }
    case 0x000d: u16_list(cur_sub(&e, cur_u16be(&e)), ch->sig_algs,
                          &ch->n_sig_algs, TLS_MAX_LIST, &t); break;
    case 0x0010: parse_alpn(e, ch); break;
    case 0x0023: ch->has_session_ticket = true; break;
    case 0x0029: ch->has_psk = true; break;
    case 0x002a: ch->has_early_data = true; break;
    case 0x002b: {
        cursor_t l = cur_sub(&e, cur_u8(&e));
        u16_list(l, ch->versions, &ch->n_versions, TLS_MAX_SHORT, &t);
        break;
    }
    case 0x0033: {
        cursor_t l = cur_sub(&e, cur_u16be(&e));
        while (cur_ok(&l) && cur_left(&l) >= 4) {
            uint16_t g = cur_u16be(&l);
            cur_skip(&l, cur_u16be(&l));
            if (!cur_ok(&l))
                break;
            if (ch->n_key_shares < TLS_MAX_SHORT)
                ch->key_shares[ch->n_key_shares++] = g;
            else
                t = true;
        }
        break;
    }
    default: break;
    }
    if (t)
        ch->truncated_lists = true;
    return true;
}

/* The extension block that ends both hellos: every type is recorded in
 * order (up to TLS_MAX_LIST) and each body handed to `each`. A length that
 * runs past its block refuses the whole hello. */
typedef void (*extension_fn)(void *ctx, uint16_t type, cursor_t body);

static bool walk_extensions(cursor_t *c, uint16_t *types, uint16_t *n,
                            bool *truncated, extension_fn each, void *ctx,
                            struct tls_stats *st)
{
    if (cur_left(c) < 2)
        return true; /* no extensions at all */
    cursor_t exts = cur_sub(c, cur_u16be(c));
    if (!cur_ok(&exts)) {
        st->err[TLS_ERR_extension_malformed]++;
        return false;
    }
    while (cur_left(&exts) >= 4) {
        uint16_t type = cur_u16be(&exts);
        cursor_t e = cur_sub(&exts, cur_u16be(&exts));
        if (!cur_ok(&e)) {
            st->err[TLS_ERR_extension_malformed]++;
            return false;
        }
        if (*n < TLS_MAX_LIST)
            types[(*n)++] = type;
        else
            *truncated = true;
        each(ctx, type, e);
    }
    return true;
}

static void ch_extension(void *ctx, uint16_t type, cursor_t e)
{
    parse_ch_extension(type, e, ctx);
}

static bool parse_client_hello(cursor_t c, struct tls_client_hello *ch,
                               struct tls_stats *st, bool dtls);

bool tls_parse_client_hello(cursor_t c, struct tls_client_hello *ch,
                            struct tls_stats *st)
{
    return parse_client_hello(c, ch, st, false);
}

bool dtls_parse_client_hello(cursor_t c, struct tls_client_hello *ch,
                             struct tls_stats *st)
{
    return parse_client_hello(c, ch, st, true);
}

static bool parse_client_hello(cursor_t c, struct tls_client_hello *ch,
                               struct tls_stats *st, bool dtls)
{
    uint16_t record_version = ch->record_version;
    memset(ch, 0, sizeof(*ch));
    ch->record_version = record_version;
    ch->legacy_version = cur_u16be(&c);
    cur_copy(&c, ch->random, 32); /* the key log's key */
    ch->session_id_len = cur_u8(&c);
    cur_skip(&c, ch->session_id_len);
    if (dtls)
        cur_skip(&c, cur_u8(&c)); /* cookie */
    cursor_t ciphers = cur_sub(&c, cur_u16be(&c));
    cursor_t comp = cur_sub(&c, cur_u8(&c));
    if (!cur_ok(&c) || !cur_ok(&ciphers) || !cur_ok(&comp) ||
        (cur_left(&ciphers) & 1)) {
        st->err[TLS_ERR_hello_malformed]++;
        return false;
    }
    u16_list(ciphers, ch->ciphers, &ch->n_ciphers, TLS_MAX_LIST,
             &ch->truncated_lists);
    if (!walk_extensions(&c, ch->exts, &ch->n_exts, &ch->truncated_lists,
                         ch_extension, ch, st))
        return false;
    if (ch->truncated_lists)
        st->err[TLS_ERR_lists_truncated]++;
    st->client_hellos++;
    return true;
}

static void sh_extension(void *ctx, uint16_t type, cursor_t e)
{
    struct tls_server_hello *sh = ctx;
    if (type == 0x002b && cur_left(&e) == 2) {
        sh->selected_version = cur_u16be(&e);
    } else if (type == 0x0010) {
        cursor_t l = cur_sub(&e, cur_u16be(&e));
        uint8_t n = cur_u8(&l);
        const uint8_t *p = cur_bytes(&l, n);
        if (p) {
            size_t k = n < TLS_ALPN_LEN - 1 ? n : TLS_ALPN_LEN - 1;
            memcpy(sh->alpn, p, k);
            sh->alpn[k] = 0;
            sh->alpn_len = (uint8_t)k;
        }
    }
}

bool tls_parse_server_hello(cursor_t c, struct tls_server_hello *sh,
                            struct tls_stats *st)
{
    static const uint8_t hrr_random[32] = {
        0xcf, 0x21, 0xad, 0x74, 0xe5, 0x9a, 0x61, 0x11, 0xbe, 0x1d, 0x8c,
        0x02, 0x1e, 0x65, 0xb8, 0x91, 0xc2, 0xa2, 0x11, 0x16, 0x7a, 0xbb,
        0x8c, 0x5e, 0x07, 0x9e, 0x09, 0xe2, 0xc8, 0xa8, 0x33, 0x9c,
    };
    memset(sh, 0, sizeof(*sh));
    sh->legacy_version = cur_u16be(&c);
    const uint8_t *random = cur_bytes(&c, 32);
    /* TLS 1.3 drafts before 22 (version 0x7fXX) had no session id and no
     * compression method in the ServerHello */
    bool draft = (sh->legacy_version & 0xff00) == 0x7f00 ||
                 sh->legacy_version == 0x0304;
    if (!draft)
        cur_skip(&c, cur_u8(&c)); /* session id */
    sh->cipher = cur_u16be(&c);
    if (!draft)
        cur_skip(&c, 1); /* compression */
    if (!cur_ok(&c)) {
        st->err[TLS_ERR_hello_malformed]++;
        return false;
    }
    sh->hello_retry = memcmp(random, hrr_random, 32) == 0;
    sh->selected_version = sh->legacy_version;
    if (!walk_extensions(&c, sh->exts, &sh->n_exts, &sh->truncated_lists,
                         sh_extension, sh, st))
        return false;
    st->server_hellos++;
    return true;
}

/* ---- pool --------------------------------------------------------------- */

struct pool_item {
    struct pool_item *next;
};

struct tls_pool {
    struct pool_item *free_sessions, *free_bufs, *free_small;
    uint64_t memcap, used;
    /* the worker's own scratch state, so nothing in proto/ is global */
    struct x509_cache *certs;       /* parsed certificates by SHA-256 */
    uint8_t *quic_plain;            /* a decrypted QUIC packet */
    EVP_CIPHER_CTX *cipher;         /* QUIC header protection and AEAD */
};

struct tls_pool *tls_pool_new(uint64_t memcap)
{
    struct tls_pool *p = calloc(1, sizeof(*p));
    if (!p)
        return NULL;
    p->memcap = memcap;
    p->certs = x509_cache_new();
    p->quic_plain = malloc(TLS_QUIC_PLAIN_MAX);
    p->cipher = EVP_CIPHER_CTX_new();
    if (!p->certs || !p->quic_plain || !p->cipher) {
        tls_pool_free(p);
        return NULL;
    }
    return p;
}

uint8_t *tls_pool_quic_plain(struct tls_pool *p) { return p->quic_plain; }
void *tls_pool_cipher(struct tls_pool *p) { return p->cipher; }

static void free_list(struct pool_item *i)
{
    while (i) {
        struct pool_item *n = i->next;
        free(i);
        i = n;
    }
}

void tls_pool_free(struct tls_pool *p)
{
    if (!p)
        return;
    free_list(p->free_sessions);
    free_list(p->free_bufs);
    free_list(p->free_small);
    x509_cache_free(p->certs);
    free(p->quic_plain);
    EVP_CIPHER_CTX_free(p->cipher);
    free(p);
}

uint64_t tls_pool_memory(const struct tls_pool *p) { return p ? p->used : 0; }

static void *pool_get(struct tls_pool *p, struct pool_item **list, size_t size)
{
    struct pool_item *i = *list;
    if (i) {
        *list = i->next;
        return i;
    }
    if (p->used + size > p->memcap)
        return NULL;
    void *m = malloc(size);
    if (m)
        p->used += size;
    return m;
}

static void pool_put(struct pool_item **list, void *m)
{
    struct pool_item *i = m;
    i->next = *list;
    *list = i;
}

void *tls_pool_small_get(struct tls_pool *p, struct tls_stats *st)
{
    void *m = pool_get(p, &p->free_small, TLS_SMALL_OBJ);
    if (!m)
        st->err[TLS_ERR_buffers_exhausted]++;
    return m;
}

void tls_pool_small_put(struct tls_pool *p, void *m)
{
    if (m)
        pool_put(&p->free_small, m);
}

struct tls_session *tls_session_new(struct tls_pool *p, struct tls_stats *st)
{
    struct tls_session *s = pool_get(p, &p->free_sessions, sizeof(*s));
    if (!s) {
        st->err[TLS_ERR_buffers_exhausted]++;
        return NULL;
    }
    memset(s, 0, sizeof(*s));
    s->cert_cache = p->certs;
    s->client_dir = -1;
    st->sessions++;
    return s;
}

static void release_buf(struct tls_pool *p, struct tls_session *s, int dir)
{
    if (s->dir[dir].hs) {
        pool_put(&p->free_bufs, s->dir[dir].hs);
        s->dir[dir].hs = NULL;
        s->dir[dir].hs_len = 0;
    }
}

void tls_session_release(struct tls_pool *p, struct tls_session *s)
{
    if (!s)
        return;
    release_buf(p, s, 0);
    release_buf(p, s, 1);
    pool_put(&p->free_sessions, s);
}

/* ---- session ------------------------------------------------------------ */

static void parse_certificates(struct tls_session *s, cursor_t c,
                               struct tls_stats *st)
{
    cursor_t list = cur_sub(&c, cur_u24be(&c));
    if (!cur_ok(&list)) {
        st->err[TLS_ERR_certificate_malformed]++;
        return;
    }
    s->chain_len = 0;
    s->n_certs = 0;
    while (cur_left(&list) >= 3) {
        uint32_t len = cur_u24be(&list);
        const uint8_t *der = cur_bytes(&list, len);
        if (!der) {
            st->err[TLS_ERR_certificate_malformed]++;
            return;
        }
        if (s->n_certs < TLS_MAX_CERTS) {
            /* the fields come from x509.c's own DER reader (OpenSSL only
             * for rarer keys and the self-signed check); still, only the
             * first certificates are read in full, the rest are hashed */
            struct x509_info *x = &s->certs[s->n_certs++];
            if (!x509_parse(s->cert_cache, der, len, x))
                st->err[TLS_ERR_certificate_malformed]++;
            if (s->chain_len < TLS_MAX_CHAIN)
                memcpy(s->chain_sha1[s->chain_len], x->sha1, 20);
        } else if (s->chain_len < TLS_MAX_CHAIN) {
            digest(DIGEST_SHA1, der, len, s->chain_sha1[s->chain_len]);
        } else {
            st->err[TLS_ERR_chain_over_cap]++;
        }
        if (s->chain_len < 255)
            s->chain_len++;
        st->certificates++;
    }
}

/* The TLS client is whoever sends the ClientHello: usually the flow's
 * client, but not in a capture picked up mid-connection. */
static void handle_message(struct tls_session *s, int dir, uint8_t type,
                           cursor_t body, struct tls_stats *st)
{
    bool from_client = s->client_dir < 0 ? type == 1 : dir == s->client_dir;
    if (type == 1 && !s->have_ch && (s->client_dir < 0 || from_client)) {
        s->ch.record_version = s->ch.record_version ? s->ch.record_version
                                                    : 0x0301;
        s->have_ch = s->dtls ? dtls_parse_client_hello(body, &s->ch, st)
                             : tls_parse_client_hello(body, &s->ch, st);
        if (s->have_ch)
            s->client_dir = (int8_t)dir;
    } else if (type == 2 && !s->have_sh && !from_client) {
        s->have_sh = tls_parse_server_hello(body, &s->sh, st);
        if (s->have_sh && !s->have_sh_first) {
            /* JA3S is of the first ServerHello, a HelloRetryRequest
             * included, as tshark and the other references compute it */
            s->sh_first = s->sh;
            s->have_sh_first = true;
        }
        if (s->have_sh && (s->sh.selected_version == 0x0304 ||
                           (s->sh.selected_version & 0xff00) == 0x7f00) &&
            !s->sh.hello_retry)
            s->dir[dir].encrypted = true; /* the rest is encrypted */
        if (s->have_sh && s->sh.hello_retry)
            s->have_sh = false; /* the real ServerHello follows */
    } else if (type == 11 && !from_client && s->n_certs == 0) {
        parse_certificates(s, body, st);
    }
}

void tls_session_message(struct tls_session *s, int dir, uint8_t type,
                         const uint8_t *body, size_t len, struct tls_stats *st)
{
    handle_message(s, dir, type, cur_make(body, len), st);
}

size_t tls_session_messages(struct tls_session *s, int dir, const uint8_t *buf,
                            size_t len, struct tls_stats *st)
{
    size_t off = 0;
    while (len - off >= 4) {
        const uint8_t *m = buf + off;
        uint32_t n = ((uint32_t)m[1] << 16) | ((uint32_t)m[2] << 8) | m[3];
        if (len - off - 4 < n)
            break;
        handle_message(s, dir, m[0], cur_make(m + 4, n), st);
        off += 4 + n;
    }
    return off;
}

uint8_t *tls_session_buffer(struct tls_pool *p, struct tls_session *s, int dir,
                            struct tls_stats *st)
{
    if (!s->dir[dir].hs) {
        s->dir[dir].hs = pool_get(p, &p->free_bufs, TLS_HS_BUF);
        if (!s->dir[dir].hs)
            st->err[TLS_ERR_buffers_exhausted]++;
    }
    return s->dir[dir].hs;
}

/* Cuts complete handshake messages off the front of the buffer. */
static void drain_messages(struct tls_session *s, int dir, struct tls_stats *st)
{
    struct tls_dir_state *d = &s->dir[dir];
    uint32_t off = 0;
    while (d->hs_len - off >= 4 && !d->encrypted) {
        const uint8_t *m = d->hs + off;
        uint32_t len = ((uint32_t)m[1] << 16) | ((uint32_t)m[2] << 8) | m[3];
        if (4 + len > TLS_HS_BUF) {
            st->err[TLS_ERR_message_too_big]++;
            d->hs_skip = 4 + len - (d->hs_len - off);
            off = d->hs_len;
            break;
        }
        if (d->hs_len - off < 4 + len)
            break;
        handle_message(s, dir, m[0], cur_make(m + 4, len), st);
        off += 4 + len;
    }
    if (off) {
        memmove(d->hs, d->hs + off, d->hs_len - off);
        d->hs_len -= off;
    }
}

static void handshake_bytes(struct tls_pool *p, struct tls_session *s, int dir,
                            const uint8_t *data, size_t n, struct tls_stats *st)
{
    struct tls_dir_state *d = &s->dir[dir];
    if (d->hs_skip) {
        size_t k = n < d->hs_skip ? n : d->hs_skip;
        d->hs_skip -= (uint32_t)k;
        data += k;
        n -= k;
    }
    if (!n || d->encrypted)
        return;
    if (!d->hs) {
        d->hs = pool_get(p, &p->free_bufs, TLS_HS_BUF);
        if (!d->hs) {
            st->err[TLS_ERR_buffers_exhausted]++;
            d->stopped = true;
            return;
        }
        d->hs_len = 0;
    }
    while (n) {
        size_t room = TLS_HS_BUF - d->hs_len;
        size_t k = n < room ? n : room;
        memcpy(d->hs + d->hs_len, data, k);
        d->hs_len += (uint32_t)k;
        data += k;
        n -= k;
        drain_messages(s, dir, st);
        if (d->hs_skip && n) { /* an oversized message: drop the rest of it */
            size_t skip = n < d->hs_skip ? n : d->hs_skip;
            d->hs_skip -= (uint32_t)skip;
            data += skip;
            n -= skip;
        }
        if (d->encrypted)
            break;
    }
}

static void record_done(struct tls_pool *p, struct tls_session *s, int dir,
                        struct tls_stats *st)
{
    struct tls_dir_state *d = &s->dir[dir];
    if (d->rec_type == 20) {
        /* ChangeCipherSpec: encrypted from here in TLS <= 1.2. In TLS 1.3
         * it is a no-op for middleboxes, sent also around a
         * HelloRetryRequest, before any ServerHello we keep. */
        s->ccs[dir] = true;
        if (s->have_sh && s->sh.selected_version < 0x0304)
            d->encrypted = true;
    } else if (d->rec_type == 23) {
        s->appdata[dir] = true;
        d->encrypted = true;
    }
    if (d->encrypted)
        release_buf(p, s, dir);
    if (!s->complete && s->appdata[0] && s->appdata[1] && s->have_sh) {
        s->complete = true;
        st->handshakes_complete++;
    }
}

static void alert_bytes(struct tls_session *s, int dir, const uint8_t *data,
                        size_t n, uint32_t offset, struct tls_stats *st)
{
    /* only clear-text alerts are readable: level then description */
    if (s->dir[dir].encrypted)
        return;
    if (s->n_alerts >= TLS_MAX_ALERTS) {
        if (offset == 0 && n)
            st->err[TLS_ERR_alerts_over_cap]++;
        return;
    }
    for (size_t i = 0; i < n; i++) {
        uint32_t pos = offset + (uint32_t)i;
        if (pos == 0) {
            s->alerts[s->n_alerts].dir = (uint8_t)dir;
            s->alerts[s->n_alerts].level = data[i];
        } else if (pos == 1) {
            s->alerts[s->n_alerts].description = data[i];
            s->n_alerts++;
            st->alerts++;
            return;
        }
    }
}

/* SSLv2-compatible ClientHello: 2-byte length with the high bit, type 1,
 * version, then cipher specs of 3 bytes. Only the first record, client side. */
static bool sslv2_hello(struct tls_session *s, const uint8_t *data, size_t n,
                        struct tls_stats *st)
{
    if (n < 11 || !(data[0] & 0x80) || data[2] != 0x01)
        return false;
    cursor_t c = cur_make(data + 2, n - 2);
    cur_skip(&c, 1);
    struct tls_client_hello *ch = &s->ch;
    memset(ch, 0, sizeof(*ch));
    ch->sslv2 = true;
    ch->legacy_version = cur_u16be(&c);
    uint16_t spec_len = cur_u16be(&c);
    uint16_t sid_len = cur_u16be(&c);
    uint16_t chal_len = cur_u16be(&c);
    cursor_t specs = cur_sub(&c, spec_len);
    cur_skip(&c, sid_len);
    cur_skip(&c, chal_len);
    while (cur_ok(&specs) && cur_left(&specs) >= 3) {
        uint32_t v = cur_u24be(&specs);
        if (v <= 0xffff && ch->n_ciphers < TLS_MAX_LIST)
            ch->ciphers[ch->n_ciphers++] = (uint16_t)v;
    }
    s->have_ch = true;
    st->client_hellos++;
    return true;
}

void tls_session_feed(struct tls_pool *p, struct tls_session *s, int dir,
                      const uint8_t *data, size_t len, struct tls_stats *st)
{
    struct tls_dir_state *d = &s->dir[dir];
    if (!s->have_ch && d->hdr_have == 0 && d->rec_left == 0 &&
        len && (data[0] & 0x80) && sslv2_hello(s, data, len, st)) {
        s->client_dir = (int8_t)dir;
        d->stopped = true; /* the rest of an SSLv2 session is not ours */
        return;
    }
    while (len && !d->stopped) {
        if (d->rec_left == 0) {
            /* gather the 5-byte record header */
            size_t k = 5 - d->hdr_have;
            if (k > len)
                k = len;
            memcpy(d->hdr + d->hdr_have, data, k);
            d->hdr_have = (uint8_t)(d->hdr_have + k);
            data += k;
            len -= k;
            if (d->hdr_have < 5)
                return;
            d->hdr_have = 0;
            d->rec_type = d->hdr[0];
            d->rec_left = ((uint32_t)d->hdr[3] << 8) | d->hdr[4];
            if (d->rec_type < 20 || d->rec_type > 24 || d->hdr[1] != 3) {
                st->err[TLS_ERR_bad_record_type]++;
                d->stopped = true;
                release_buf(p, s, dir);
                return;
            }
            if (d->rec_left > TLS_RECORD_MAX) {
                st->err[TLS_ERR_record_too_long]++;
                d->stopped = true;
                release_buf(p, s, dir);
                return;
            }
            if (d->rec_type == 22 && !s->have_ch && s->client_dir < 0 &&
                !s->ch.record_version)
                s->ch.record_version = (uint16_t)((d->hdr[1] << 8) | d->hdr[2]);
            if (d->rec_left == 0) {
                record_done(p, s, dir, st);
                continue;
            }
        }
        size_t k = len < d->rec_left ? len : d->rec_left;
        uint32_t offset = 0;
        if (d->rec_type == 21)
            offset = (((uint32_t)d->hdr[3] << 8) | d->hdr[4]) - d->rec_left;
        if (d->rec_type == 22 && !d->encrypted)
            handshake_bytes(p, s, dir, data, k, st);
        else if (d->rec_type == 21)
            alert_bytes(s, dir, data, k, offset, st);
        d->rec_left -= (uint32_t)k;
        data += k;
        len -= k;
        if (d->rec_left == 0)
            record_done(p, s, dir, st);
    }
}

void tls_session_gap(struct tls_pool *p, struct tls_session *s, int dir)
{
    s->dir[dir].stopped = true;
    release_buf(p, s, dir);
}

bool tls_session_ready(const struct tls_session *s)
{
    /* both hellos and application data both ways: the event can say the
     * handshake completed. Anything less is logged when the flow ends. */
    return s->have_ch && s->have_sh && s->complete;
}

void tls_counters(const struct tls_stats *t, const struct tls_pool *pool,
                  struct counters *r)
{
    counters_u64(r, "tls.sessions", &t->sessions);
    counters_u64(r, "tls.client_hellos", &t->client_hellos);
    counters_u64(r, "tls.server_hellos", &t->server_hellos);
    counters_u64(r, "tls.certificates", &t->certificates);
    counters_u64(r, "tls.handshakes_complete", &t->handshakes_complete);
    counters_u64(r, "tls.alerts", &t->alerts);
    counters_u64(r, "tls.certificate_cache_hits", &x509_cache_stats(pool->certs)->hits);
    counters_u64(r, "tls.certificate_cache_misses",
                 &x509_cache_stats(pool->certs)->misses);
    counters_u64(r, "tls.certificate_cache_replaced",
                 &x509_cache_stats(pool->certs)->replaced);
    for (int i = 0; i < TLS_ERR_COUNT; i++)
        counters_u64f(r, &t->err[i], "tls.errors.%s", tls_error_names[i]);
}
