/* tls_decrypt.c -- following a TLS session's records and opening them with
 * secrets from the key log, an RSA server key or an earlier session. See
 * tls_decrypt.h for the design; tls_crypto.c does the cryptography. */
#include "decrypt/tls_decrypt.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "decrypt/keylog.h"
#include "decrypt/rsa_keys.h"
#include "decrypt/tls_crypto.h"
#include "util/counters.h"
#include "util/cursor.h"

#define HS_KEEP_MAX 16384       /* a handshake message read whole */
#define CACHE_SLOTS 4096        /* resumable TLS <= 1.2 sessions */
#define FAILS_MAX 4             /* records in a row that do not open */
#define ENC_PMS_MAX 512

enum { REC_CCS = 20, REC_ALERT = 21, REC_HANDSHAKE = 22, REC_APPDATA = 23,
       REC_HEARTBEAT = 24 };
enum { HS_CLIENT_HELLO = 1, HS_SERVER_HELLO = 2, HS_NEW_TICKET = 4,
       HS_CKE = 16, HS_FINISHED = 20, HS_KEY_UPDATE = 24 };
enum phase { PH_CLEAR, PH_HS13, PH_APP };

static const uint8_t hrr_random[32] = {
    0xCF, 0x21, 0xAD, 0x74, 0xE5, 0x9A, 0x61, 0x11, 0xBE, 0x1D, 0x8C,
    0x02, 0x1E, 0x65, 0xB8, 0x91, 0xC2, 0xA2, 0x11, 0x16, 0x7A, 0xBB,
    0x8C, 0x5E, 0x07, 0x9E, 0x09, 0xE2, 0xC8, 0xA8, 0x33, 0x9C,
};

struct cache_slot {
    uint8_t key[32];
    uint8_t master[48];
    bool used;
};

struct tls_decrypt_engine {
    struct keylog *keylog;
    const struct rsa_keys *rsa;
    uint64_t memcap, mem;
    struct tls_record_crypto *crypto;
    uint8_t plain[TLS_RECORD_MAX + 256];
    struct cache_slot cache[CACHE_SLOTS];
    struct tls_decrypt_stats st;
};

struct td_dir {
    uint8_t hdr[5];
    uint8_t hdr_have;
    uint32_t body_len, body_have;
    uint8_t *buf;               /* a record split over segments */
    uint8_t hs_hdr[4];
    uint8_t hs_hdr_have;
    uint32_t hs_len, hs_have;
    bool hs_keep;               /* the message is gathered in hs */
    uint8_t *hs;
    uint8_t phase;              /* enum phase */
    bool dead;
    uint8_t fails;
    bool finished, key_update;  /* TLS 1.3: switch after this record */
    uint64_t unkeyed_records;   /* protected records passed without keys */
    struct tls_dir_keys keys;
};

struct tls_decrypt {
    struct tls_server_id server;
    int8_t client_dir;
    bool have_ch, have_sh, keyed, opened, given_up, rsa_tried;
    bool ems_c, ems_s, etm_c, etm_s, ch_ticket, have_nst, have_session_hash;
    uint8_t ch_sid_len, sh_sid_len;
    uint16_t version, enc_pms_len;
    const struct tls_suite *suite;
    uint8_t client_random[32], server_random[32];
    uint8_t ch_sid[32], sh_sid[32];
    uint8_t ticket_hash[32], nst_hash[32];
    uint8_t master[48];
    uint8_t session_hash[EVP_MAX_MD_SIZE];
    uint8_t session_hash_len;
    uint8_t ap_secret[2][TLS_SECRET_MAX]; /* TLS 1.3, by direction */
    uint8_t ap_len[2];
    uint8_t enc_pms[ENC_PMS_MAX];
    char alpn[32];
    EVP_MD_CTX *transcript;     /* only when an RSA premaster may come */
    uint8_t *ch_copy;           /* the ClientHello, until the hash is chosen */
    uint32_t ch_copy_len;
    struct td_dir d[2];
};

/* --- engine -------------------------------------------------------------- */

struct tls_decrypt_engine *tls_decrypt_engine_new(struct keylog *keylog,
                                                  const struct rsa_keys *rsa,
                                                  uint64_t memcap)
{
    struct tls_decrypt_engine *e = calloc(1, sizeof(*e));
    if (!e)
        return NULL;
    e->keylog = keylog;
    e->rsa = rsa;
    e->memcap = memcap;
    if (!(e->crypto = tls_record_crypto_new())) {
        free(e);
        return NULL;
    }
    return e;
}

void tls_decrypt_engine_free(struct tls_decrypt_engine *e)
{
    if (!e)
        return;
    tls_record_crypto_free(e->crypto);
    OPENSSL_cleanse(e->cache, sizeof(e->cache));
    free(e);
}

const struct tls_decrypt_stats *tls_decrypt_engine_stats(
    const struct tls_decrypt_engine *e)
{
    return &e->st;
}

uint64_t tls_decrypt_engine_memory(const struct tls_decrypt_engine *e)
{
    return e->mem;
}

static void *take(struct tls_decrypt_engine *e, size_t n)
{
    if (e->mem + n > e->memcap)
        return NULL;
    void *p = malloc(n);
    if (p)
        e->mem += n;
    return p;
}

static void give(struct tls_decrypt_engine *e, void *p, size_t n)
{
    if (!p)
        return;
    OPENSSL_cleanse(p, n);
    free(p);
    e->mem -= n;
}

static struct cache_slot *cache_slot(struct tls_decrypt_engine *e,
                                     const uint8_t key[32])
{
    uint32_t h;
    memcpy(&h, key, 4);
    return &e->cache[h % CACHE_SLOTS];
}

static void cache_put(struct tls_decrypt_engine *e, const uint8_t key[32],
                      const uint8_t master[48])
{
    struct cache_slot *c = cache_slot(e, key);
    if (c->used && memcmp(c->key, key, 32))
        e->st.cache_replaced++;
    memcpy(c->key, key, 32);
    memcpy(c->master, master, 48);
    c->used = true;
}

static bool cache_get(struct tls_decrypt_engine *e, const uint8_t key[32],
                      uint8_t master[48])
{
    struct cache_slot *c = cache_slot(e, key);
    if (!c->used || memcmp(c->key, key, 32))
        return false;
    memcpy(master, c->master, 48);
    return true;
}

static void sha256(const uint8_t *d, size_t n, uint8_t out[32])
{
    unsigned ol = 0;
    EVP_Digest(d, n, out, &ol, EVP_sha256(), NULL);
}

/* The cache key of a session ID (its length is part of it). */
static void sid_key(const uint8_t *sid, uint8_t len, uint8_t key[32])
{
    uint8_t b[33];
    b[0] = len;
    memcpy(b + 1, sid, len);
    sha256(b, (size_t)len + 1, key);
}

/* --- sessions ------------------------------------------------------------ */

struct tls_decrypt *tls_decrypt_new(struct tls_decrypt_engine *e,
                                    const struct tls_server_id *server)
{
    struct tls_decrypt *s = take(e, sizeof(*s));
    if (!s) {
        e->st.sessions_over_memcap++;
        return NULL;
    }
    memset(s, 0, sizeof(*s));
    s->server = *server;
    s->client_dir = -1;
    e->st.sessions++;
    return s;
}

/* What goes to stderr once per process, not once per engine: with
 * --workers N each worker has an engine, and one report is what "reported
 * once" promises (the counters say how often). */
static atomic_bool told_rsa, told_truncated;

/* A record cut short by the end of the capture or the connection. */
static void truncated(struct tls_decrypt_engine *e)
{
    e->st.records_truncated++;
    if (atomic_exchange(&told_truncated, true))
        return;
    fprintf(stderr, "nightjar: a TLS record being decrypted was cut short "
            "(counted in tls_decrypt.records_truncated; reported once)\n");
}

void tls_decrypt_free(struct tls_decrypt_engine *e, struct tls_decrypt *s)
{
    if (!s)
        return;
    if (s->have_ch && !s->keyed && !s->given_up && s->have_sh)
        e->st.sessions_without_key++;
    for (int d = 0; d < 2; d++)
        if (s->keyed && !s->d[d].dead && s->d[d].hdr_have)
            truncated(e);
    for (int d = 0; d < 2; d++) {
        give(e, s->d[d].buf, TLS_RECORD_MAX);
        give(e, s->d[d].hs, HS_KEEP_MAX + 4);
    }
    give(e, s->ch_copy, HS_KEEP_MAX + 4);
    EVP_MD_CTX_free(s->transcript);
    give(e, s, sizeof(*s));
}

const char *tls_decrypt_alpn(const struct tls_decrypt *s) { return s->alpn; }
bool tls_decrypt_opened(const struct tls_decrypt *s) { return s->opened; }

static int server_dir(const struct tls_decrypt *s) { return 1 - s->client_dir; }

/* --- hellos -------------------------------------------------------------- */

static void client_ext(struct tls_decrypt *s, uint16_t type, cursor_t *x)
{
    if (type == 0x0017)
        s->ems_c = true;
    else if (type == 0x0016)
        s->etm_c = true;
    else if (type == 0x0023 && cur_left(x) > 0) {
        sha256(x->p, cur_left(x), s->ticket_hash);
        s->ch_ticket = true;
    }
}

static void server_ext(struct tls_decrypt *s, uint16_t type, cursor_t *x)
{
    if (type == 0x0017)
        s->ems_s = true;
    else if (type == 0x0016)
        s->etm_s = true;
    else if (type == 0x002b && cur_left(x) == 2)
        s->version = cur_u16be(x);
    else if (type == 0x0010) {
        cur_u16be(x);
        uint8_t n = cur_u8(x);
        const uint8_t *p = cur_bytes(x, n);
        if (p && n < sizeof(s->alpn)) {
            memcpy(s->alpn, p, n);
            s->alpn[n] = 0;
        }
    }
}

/* The extensions block: each one to fn. */
static bool walk_exts(struct tls_decrypt *s, cursor_t *c,
                      void (*fn)(struct tls_decrypt *, uint16_t, cursor_t *))
{
    if (!cur_left(c))
        return true;
    cursor_t exts = cur_sub(c, cur_u16be(c));
    while (cur_ok(&exts) && cur_left(&exts) >= 4) {
        uint16_t type = cur_u16be(&exts);
        cursor_t x = cur_sub(&exts, cur_u16be(&exts));
        if (!cur_ok(&x))
            return false;
        fn(s, type, &x);
    }
    return cur_ok(&exts);
}

static void client_hello(struct tls_decrypt *s, int dir, cursor_t c)
{
    if (s->have_ch && s->client_dir != dir)
        return;
    cur_skip(&c, 2);
    if (!cur_copy(&c, s->client_random, 32))
        return;
    s->ch_sid_len = cur_u8(&c);
    if (s->ch_sid_len > 32 || !cur_copy(&c, s->ch_sid, s->ch_sid_len))
        return;
    cur_skip(&c, cur_u16be(&c));       /* cipher suites */
    cur_skip(&c, cur_u8(&c));          /* compression methods */
    if (!cur_ok(&c) || !walk_exts(s, &c, client_ext))
        return;
    s->have_ch = true;
    s->client_dir = (int8_t)dir;
}

static void transcript_start(struct tls_decrypt_engine *e, struct tls_decrypt *s);

static void server_hello(struct tls_decrypt_engine *e, struct tls_decrypt *s,
                         int dir, cursor_t c)
{
    if (!s->have_ch || dir == s->client_dir)
        return;
    uint16_t legacy = cur_u16be(&c);
    uint8_t random[32];
    if (!cur_copy(&c, random, 32))
        return;
    if (!memcmp(random, hrr_random, 32))
        return;                        /* HelloRetryRequest: a second follows */
    memcpy(s->server_random, random, 32);
    s->sh_sid_len = cur_u8(&c);
    if (s->sh_sid_len > 32 || !cur_copy(&c, s->sh_sid, s->sh_sid_len))
        return;
    uint16_t cipher = cur_u16be(&c);
    cur_skip(&c, 1);
    s->version = legacy;
    if (!cur_ok(&c) || !walk_exts(s, &c, server_ext))
        return;
    s->have_sh = true;
    s->suite = tls_suite_find(cipher);
    if (!s->suite || s->suite->tls13 != (s->version == TLS_V13) ||
        s->version < TLS_V10) {
        e->st.sessions_unsupported_cipher++;
        s->given_up = true;
        return;
    }
    transcript_start(e, s);
}

/* --- the transcript, for extended master secrets with an RSA premaster --- */

static void transcript_start(struct tls_decrypt_engine *e, struct tls_decrypt *s)
{
    if (!s->ch_copy || s->suite->tls13 || !s->suite->rsa_kx)
        return;
    const EVP_MD *md = s->version < TLS_V12 ? EVP_md5_sha1()
                       : s->suite->prf == TH_SHA384 ? EVP_sha384()
                                                    : EVP_sha256();
    s->transcript = EVP_MD_CTX_new();
    if (s->transcript && EVP_DigestInit_ex(s->transcript, md, NULL) != 1) {
        EVP_MD_CTX_free(s->transcript);
        s->transcript = NULL;
    }
    if (s->transcript)
        EVP_DigestUpdate(s->transcript, s->ch_copy, s->ch_copy_len);
    give(e, s->ch_copy, HS_KEEP_MAX + 4);
    s->ch_copy = NULL;
}

static void transcript_add(struct tls_decrypt *s, const uint8_t *d, size_t n)
{
    if (s->transcript && !s->have_session_hash)
        EVP_DigestUpdate(s->transcript, d, n);
}

static void transcript_close(struct tls_decrypt *s)
{
    unsigned n = 0;
    if (!s->transcript || s->have_session_hash)
        return;
    if (EVP_DigestFinal_ex(s->transcript, s->session_hash, &n) == 1) {
        s->session_hash_len = (uint8_t)n;
        s->have_session_hash = true;
    }
}

/* The ClientHello is kept when an RSA premaster could be opened later:
 * the hash it starts is chosen only by the ServerHello. */
static void keep_client_hello(struct tls_decrypt_engine *e, struct tls_decrypt *s,
                              const uint8_t *msg, size_t n)
{
    bool rsa_possible = rsa_keys_for(e->rsa, &s->server) ||
                        (e->keylog && keylog_stats(e->keylog)->rsa_premasters);
    if (!rsa_possible || s->ch_copy || n > HS_KEEP_MAX + 4)
        return;
    if ((s->ch_copy = take(e, HS_KEEP_MAX + 4))) {
        memcpy(s->ch_copy, msg, n);
        s->ch_copy_len = (uint32_t)n;
    }
}

/* --- keys ---------------------------------------------------------------- */

static void remember_session(struct tls_decrypt_engine *e, struct tls_decrypt *s)
{
    uint8_t key[32];
    if (s->sh_sid_len) {
        sid_key(s->sh_sid, s->sh_sid_len, key);
        cache_put(e, key, s->master);
    }
    if (s->have_nst)
        cache_put(e, s->nst_hash, s->master);
}

static void rsa_failed(struct tls_decrypt_engine *e, const struct tls_decrypt *s)
{
    e->st.rsa_failed++;
    if (atomic_exchange(&told_rsa, true))
        return;
    fprintf(stderr, "nightjar: no --rsa-key opened the premaster secret of a "
            "session to port %u (counted in tls_decrypt.rsa_failed; reported "
            "once): a wrong key, or not this server's\n", s->server.port);
}

/* The master secret of a TLS <= 1.2 session, wherever it can come from. */
static bool find_master(struct tls_decrypt_engine *e, struct tls_decrypt *s)
{
    const struct keylog_entry *k =
        e->keylog ? keylog_find(e->keylog, s->client_random) : NULL;
    if (k && (k->have & (1u << KL_MASTER))) {
        memcpy(s->master, k->secret[KL_MASTER], 48);
        return true;
    }
    uint8_t pms[48], key[32];
    bool ems = s->ems_c && s->ems_s;
    if (s->enc_pms_len >= 8 && (!ems || s->have_session_hash)) {
        bool got = e->keylog && keylog_find_rsa(e->keylog, s->enc_pms, pms);
        if (!got && !s->rsa_tried && rsa_keys_for(e->rsa, &s->server)) {
            s->rsa_tried = true;
            got = rsa_keys_decrypt(e->rsa, &s->server, s->enc_pms,
                                   s->enc_pms_len, pms);
            if (got)
                e->st.rsa_opened++;
            else
                rsa_failed(e, s);
        }
        enum tls_hash prf = s->version < TLS_V12 ? TH_MD5_SHA1
                                                 : (enum tls_hash)s->suite->prf;
        if (got && tls_master_secret(prf, pms, s->client_random, s->server_random,
                                     ems, s->session_hash,
                                     s->session_hash_len, s->master)) {
            OPENSSL_cleanse(pms, sizeof(pms));
            return true;
        }
    }
    if (s->enc_pms_len)
        return false;                 /* a full handshake: nothing to resume */
    if (s->ch_ticket && cache_get(e, s->ticket_hash, s->master)) {
        e->st.resumed++;
        return true;
    }
    if (s->ch_sid_len && s->ch_sid_len == s->sh_sid_len &&
        !memcmp(s->ch_sid, s->sh_sid, s->ch_sid_len)) {
        sid_key(s->sh_sid, s->sh_sid_len, key);
        if (cache_get(e, key, s->master)) {
            e->st.resumed++;
            return true;
        }
    }
    return false;
}

static void keyed(struct tls_decrypt_engine *e, struct tls_decrypt *s)
{
    s->keyed = true;
    e->st.sessions_keyed++;
    for (int d = 0; d < 2; d++)
        s->d[d].keys.seq = s->d[d].unkeyed_records;
}

static bool key_tls12(struct tls_decrypt_engine *e, struct tls_decrypt *s)
{
    struct tls_dir_keys k[2];
    if (!find_master(e, s) ||
        !tls12_keys(s->suite, s->version, s->master, s->client_random,
                    s->server_random, k))
        return false;
    s->d[s->client_dir].keys = k[0];
    s->d[server_dir(s)].keys = k[1];
    OPENSSL_cleanse(k, sizeof(k));
    remember_session(e, s);
    keyed(e, s);
    return true;
}

static bool key_tls13(struct tls_decrypt_engine *e, struct tls_decrypt *s)
{
    const struct keylog_entry *k =
        e->keylog ? keylog_find(e->keylog, s->client_random) : NULL;
    unsigned need = 1u << KL_CLIENT_HS | 1u << KL_SERVER_HS;
    if (!k || (k->have & need) != need)
        return false;
    int c = s->client_dir, sv = server_dir(s);
    if (!tls13_keys(s->suite, k->secret[KL_CLIENT_HS], k->len[KL_CLIENT_HS],
                    &s->d[c].keys) ||
        !tls13_keys(s->suite, k->secret[KL_SERVER_HS], k->len[KL_SERVER_HS],
                    &s->d[sv].keys))
        return false;
    const int ap[2] = { KL_CLIENT_AP, KL_SERVER_AP };
    for (int side = 0; side < 2; side++) {
        int d = side == 0 ? c : sv;
        if (k->have & (1u << ap[side])) {
            memcpy(s->ap_secret[d], k->secret[ap[side]], k->len[ap[side]]);
            s->ap_len[d] = k->len[ap[side]];
        }
    }
    s->d[c].phase = s->d[sv].phase = PH_HS13;
    keyed(e, s);
    return true;
}

/* Keys for a session that has none yet; the key log is read again (it may
 * have grown since) when the first attempt fails. */
static bool try_keys(struct tls_decrypt_engine *e, struct tls_decrypt *s)
{
    if (s->keyed)
        return true;
    if (!s->have_sh || s->given_up)
        return false;
    bool (*fn)(struct tls_decrypt_engine *, struct tls_decrypt *) =
        s->suite->tls13 ? key_tls13 : key_tls12;
    if (fn(e, s))
        return true;
    return e->keylog && keylog_refresh(e->keylog) && fn(e, s);
}

/* --- handshake messages -------------------------------------------------- */

static void handshake_message(struct tls_decrypt_engine *e, struct tls_decrypt *s,
                              int dir, uint8_t type, const uint8_t *msg,
                              size_t n)
{
    cursor_t c = cur_make(msg + 4, n - 4);
    struct td_dir *d = &s->d[dir];
    if (d->phase == PH_HS13) {
        if (type == HS_FINISHED)
            d->finished = true;
        return;
    }
    if (d->phase == PH_APP) {
        if (type == HS_KEY_UPDATE)
            d->key_update = true;
        return;
    }
    switch (type) {
    case HS_CLIENT_HELLO:
        client_hello(s, dir, c);
        if (s->have_ch && s->client_dir == dir)
            keep_client_hello(e, s, msg, n);
        break;
    case HS_SERVER_HELLO:
        server_hello(e, s, dir, c);
        if (s->have_sh && !s->given_up && s->suite->tls13)
            try_keys(e, s);
        break;
    case HS_CKE:
        if (dir == s->client_dir && s->suite && s->suite->rsa_kx) {
            uint16_t l = cur_u16be(&c);
            if (cur_ok(&c) && l == cur_left(&c) && l <= ENC_PMS_MAX) {
                memcpy(s->enc_pms, c.p, l);
                s->enc_pms_len = l;
            }
        }
        break;
    case HS_NEW_TICKET:
        cur_skip(&c, 4);
        if (dir != s->client_dir && cur_left(&c) >= 2) {
            uint16_t l = cur_u16be(&c);
            if (l && l <= cur_left(&c)) {
                sha256(c.p, l, s->nst_hash);
                s->have_nst = true;
                if (s->keyed)
                    cache_put(e, s->nst_hash, s->master);
            }
        }
        break;
    }
}

static bool keeps(uint8_t type)
{
    return type == HS_CLIENT_HELLO || type == HS_SERVER_HELLO ||
           type == HS_NEW_TICKET || type == HS_CKE || type == HS_FINISHED ||
           type == HS_KEY_UPDATE;
}

/* A complete kept message: the transcript takes the ClientKeyExchange
 * before it is read (the session hash ends with it), the hellos after (the
 * ServerHello chooses the hash the ClientHello goes into). */
static void hs_complete(struct tls_decrypt_engine *e, struct tls_decrypt *s,
                        int dir, struct td_dir *d)
{
    size_t n = 4 + d->hs_len;
    bool clear = d->phase == PH_CLEAR;
    if (clear && d->hs_hdr[0] == HS_CKE) {
        transcript_add(s, d->hs, n);
        transcript_close(s);
        handshake_message(e, s, dir, HS_CKE, d->hs, n);
        return;
    }
    handshake_message(e, s, dir, d->hs_hdr[0], d->hs, n);
    if (clear && d->hs_hdr[0] != HS_CLIENT_HELLO)
        transcript_add(s, d->hs, n);
}

/* Handshake bytes of one direction, cut anywhere. */
static void hs_bytes(struct tls_decrypt_engine *e, struct tls_decrypt *s,
                     int dir, const uint8_t *p, size_t n)
{
    struct td_dir *d = &s->d[dir];
    while (n) {
        if (d->hs_hdr_have < 4) {
            d->hs_hdr[d->hs_hdr_have++] = *p++;
            n--;
            if (d->hs_hdr_have < 4)
                continue;
            d->hs_len = (uint32_t)d->hs_hdr[1] << 16 | (uint32_t)d->hs_hdr[2] << 8 |
                        d->hs_hdr[3];
            d->hs_have = 0;
            d->hs_keep = keeps(d->hs_hdr[0]) && d->hs_len <= HS_KEEP_MAX &&
                         (d->hs || (d->hs = take(e, HS_KEEP_MAX + 4)));
            if (!d->hs && keeps(d->hs_hdr[0]) && d->hs_len <= HS_KEEP_MAX)
                e->st.sessions_over_memcap++;
            if (d->hs_keep)
                memcpy(d->hs, d->hs_hdr, 4);
            else if (d->phase == PH_CLEAR)
                transcript_add(s, d->hs_hdr, 4);
        }
        size_t k = d->hs_len - d->hs_have;
        if (k > n)
            k = n;
        if (d->hs_keep)
            memcpy(d->hs + 4 + d->hs_have, p, k);
        else if (d->phase == PH_CLEAR)
            transcript_add(s, p, k);
        d->hs_have += (uint32_t)k;
        p += k;
        n -= k;
        if (d->hs_have == d->hs_len) {
            if (d->hs_keep)
                hs_complete(e, s, dir, d);
            d->hs_hdr_have = 0;
        }
    }
}

/* --- protected records --------------------------------------------------- */

static bool open_with(struct tls_decrypt_engine *e, struct tls_decrypt *s,
                      struct tls_dir_keys *k, const uint8_t hdr[5],
                      const uint8_t *body, size_t len, size_t *out_len,
                      uint8_t *type)
{
    bool etm = s->etm_c && s->etm_s;
    return tls_record_open(e->crypto, s->suite, s->version, etm, k, hdr, body,
                           len, e->plain, out_len, type);
}

/* TLS 1.3: a record the handshake keys do not open may be the first under
 * the application keys (when the Finished was not seen). */
static bool open_hs13(struct tls_decrypt_engine *e, struct tls_decrypt *s,
                      int dir, const uint8_t hdr[5], const uint8_t *body,
                      size_t len, size_t *out_len, uint8_t *type)
{
    struct td_dir *d = &s->d[dir];
    if (open_with(e, s, &d->keys, hdr, body, len, out_len, type))
        return true;
    struct tls_dir_keys ap;
    if (!s->ap_len[dir] ||
        !tls13_keys(s->suite, s->ap_secret[dir], s->ap_len[dir], &ap) ||
        !open_with(e, s, &ap, hdr, body, len, out_len, type))
        return false;
    d->keys = ap;
    d->phase = PH_APP;
    return true;
}

static void after_record(struct tls_decrypt_engine *e, struct tls_decrypt *s,
                         int dir)
{
    struct td_dir *d = &s->d[dir];
    if (d->finished) {
        d->finished = false;
        d->hs_hdr_have = 0;
        if (s->ap_len[dir] &&
            tls13_keys(s->suite, s->ap_secret[dir], s->ap_len[dir], &d->keys))
            d->phase = PH_APP;
        else
            d->dead = true;
    }
    if (d->key_update) {
        d->key_update = false;
        d->hs_hdr_have = 0;
        if (tls13_key_update(s->suite, &d->keys))
            e->st.key_updates++;
        else
            d->dead = true;
    }
}

static void protected_record(struct tls_decrypt_engine *e, struct tls_decrypt *s,
                             int dir, const uint8_t hdr[5], const uint8_t *body,
                             size_t len, tls_plain_fn fn, void *ctx)
{
    struct td_dir *d = &s->d[dir];
    if (!try_keys(e, s)) {
        d->unkeyed_records++;
        return;
    }
    size_t n = 0;
    uint8_t type = hdr[0];
    bool ok = d->phase == PH_HS13
                  ? open_hs13(e, s, dir, hdr, body, len, &n, &type)
                  : open_with(e, s, &d->keys, hdr, body, len, &n, &type);
    if (!ok) {
        e->st.records_auth_failed++;
        if (d->phase != PH_HS13 && ++d->fails >= FAILS_MAX)
            d->dead = true;
        return;
    }
    d->fails = 0;
    e->st.records++;
    s->opened = true;
    if (type == REC_APPDATA && n) {
        e->st.bytes += n;
        fn(ctx, dir, e->plain, n);
    } else if (type == REC_HANDSHAKE && s->suite->tls13) {
        hs_bytes(e, s, dir, e->plain, n);
    }
    after_record(e, s, dir);
}

/* One whole record of direction dir. */
static void record(struct tls_decrypt_engine *e, struct tls_decrypt *s, int dir,
                   const uint8_t hdr[5], const uint8_t *body, size_t len,
                   tls_plain_fn fn, void *ctx)
{
    struct td_dir *d = &s->d[dir];
    uint8_t type = hdr[0];
    bool tls13 = s->have_sh && s->suite && s->suite->tls13;
    if (type == REC_CCS) {
        if (!tls13 && d->phase == PH_CLEAR) {
            d->phase = PH_APP;
            d->hs_hdr_have = 0;
            if (s->have_sh && !s->given_up)
                try_keys(e, s);
        }
        return;
    }
    if (type == REC_HEARTBEAT)
        return;
    if (d->phase == PH_CLEAR && !(tls13 && type == REC_APPDATA)) {
        if (type == REC_HANDSHAKE)
            hs_bytes(e, s, dir, body, len);
        return;
    }
    if (!s->have_sh || s->given_up) {
        if (type == REC_APPDATA && s->have_ch && dir == s->client_dir)
            e->st.early_data_skipped++;   /* 0-RTT before the ServerHello */
        return;
    }
    protected_record(e, s, dir, hdr, body, len, fn, ctx);
}

static bool header_ok(const uint8_t h[5], uint32_t len)
{
    return h[0] >= REC_CCS && h[0] <= REC_HEARTBEAT && h[1] == 3 &&
           len <= TLS_RECORD_MAX;
}

void tls_decrypt_feed(struct tls_decrypt_engine *e, struct tls_decrypt *s,
                      int dir, const uint8_t *data, size_t len,
                      tls_plain_fn fn, void *ctx)
{
    struct td_dir *d = &s->d[dir & 1];
    dir &= 1;
    while (len && !d->dead && !s->given_up) {
        if (d->hdr_have < 5) {
            d->hdr[d->hdr_have++] = *data++;
            len--;
            if (d->hdr_have < 5)
                continue;
            d->body_len = (uint32_t)d->hdr[3] << 8 | d->hdr[4];
            d->body_have = 0;
            if (!header_ok(d->hdr, d->body_len)) {
                e->st.records_too_long++;
                d->dead = true;
                return;
            }
        }
        size_t want = d->body_len - d->body_have;
        if (d->body_have == 0 && len >= want) {       /* whole: in place */
            record(e, s, dir, d->hdr, data, want, fn, ctx);
            data += want;
            len -= want;
            d->hdr_have = 0;
            continue;
        }
        if (!d->buf && !(d->buf = take(e, TLS_RECORD_MAX))) {
            e->st.sessions_over_memcap++;
            d->dead = true;
            return;
        }
        size_t k = want < len ? want : len;
        memcpy(d->buf + d->body_have, data, k);
        d->body_have += (uint32_t)k;
        data += k;
        len -= k;
        if (d->body_have == d->body_len) {
            record(e, s, dir, d->hdr, d->buf, d->body_len, fn, ctx);
            d->hdr_have = 0;
        }
    }
}

void tls_decrypt_gap(struct tls_decrypt_engine *e, struct tls_decrypt *s,
                     int dir)
{
    if (!s->d[dir & 1].dead) {
        s->d[dir & 1].dead = true;
        e->st.gaps++;
    }
}

void tls_decrypt_counters(const struct tls_decrypt_engine *e,
                          struct counters *r)
{
    const struct tls_decrypt_stats *st = &e->st;
#define C(n) counters_u64(r, "tls_decrypt." #n, &st->n);
    C(sessions) C(sessions_keyed) C(sessions_without_key)
    C(sessions_unsupported_cipher) C(sessions_over_memcap) C(resumed)
    C(rsa_opened) C(rsa_failed) C(cache_replaced) C(records)
    C(records_auth_failed) C(records_too_long) C(records_truncated) C(bytes) C(key_updates)
    C(gaps) C(early_data_skipped)
#undef C
}
