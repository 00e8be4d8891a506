/* quic_decrypt.c -- QUIC Handshake and 1-RTT packets opened with key log
 * secrets, and the streams they carry put back in order (see
 * quic_decrypt.h).
 *
 * The ciphers are fetched from OpenSSL once per engine and one cipher
 * context serves every packet: fetching per packet (as EVP_CIPHER_fetch
 * does) would allocate on the packet path. Decrypted payloads go to the
 * engine's scratch buffer, are walked at once, and are not kept; only
 * out-of-order STREAM pieces are copied, into the connection's arena.
 */
#include "decrypt/quic_decrypt.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "decrypt/keylog.h"
#include "proto/quic_frames.h"
#include "proto/tls.h"
#include "util/counters.h"
#include "util/cursor.h"

#define QUIC_V1 0x00000001u
#define QUIC_V2 0x6b3343cfu

#define QD_COALESCED 8     /* packets read from one datagram */
#define QD_LOOKUPS 64      /* key log lookups before a connection gives up */
#define QD_ENDED 16        /* streams remembered as ended, after their slot is freed */
#define QD_HDR_MAX 64      /* a Handshake or short header, packet number included */
#define QD_PLAIN_MAX 65536

enum { SP_HANDSHAKE, SP_APP, SP_N };     /* packet number spaces we open */
enum { PT_INITIAL, PT_0RTT, PT_HANDSHAKE, PT_RETRY };

struct qd_dir {
    struct quic_keys hs;                 /* Handshake */
    struct quic_keys ap[2];              /* 1-RTT: current, next generation */
    struct quic_keys prev;               /* the generation before current */
    uint8_t next_secret[TLS_SECRET_MAX]; /* the secret of ap[1] */
    uint8_t phase;                       /* key phase of ap[0] */
    bool have_prev;
    bool have_scid;                      /* the ID this side chose is known */
    uint8_t scid_len;
    bool have_largest[SP_N];
    uint64_t largest[SP_N];
};

/* One client-initiated bidirectional stream, both directions. */
struct qd_stream {
    bool used;
    uint64_t id;
    uint64_t next[2];                    /* next offset to deliver */
    uint64_t fin_at[2];                  /* where it ends, once known */
    bool fin[2], broken[2];
};

/* An out-of-order piece: len bytes at arena + at. */
struct qd_piece {
    bool used;
    uint8_t slot, dir;
    uint16_t len, at;
    uint64_t off;
};

struct quic_decrypt {
    struct quic_decrypt *next_free;
    struct quic_decrypt_stats *st;       /* the engine's, for the caps */
    const struct tls_suite *suite;
    uint32_t version;
    uint8_t client_random[32];
    bool have_random, dead, hs_keys, ap_keys, opened, counted_no_key;
    uint8_t lookups;
    bool alpn_from_server, h3;
    char alpn[TLS_ALPN_LEN];
    struct qd_dir d[2];
    uint16_t ee_have;                    /* server Handshake CRYPTO from 0 */
    bool ee_done;
    uint8_t ee[QD_EE_BUF];
    struct qd_stream streams[QD_STREAMS];
    uint64_t ended[QD_ENDED];            /* id + 1 of streams done; 0: none */
    uint8_t ended_next;
    struct qd_piece pieces[QD_PENDING];
    uint16_t arena_used;
    uint8_t arena[QD_ARENA];
};

struct quic_decrypt_engine {
    struct keylog *keylog;
    struct quic_decrypt_stats *st;
    uint64_t memcap, mem;
    struct quic_decrypt *free_list;
    EVP_CIPHER_CTX *ctx;
    EVP_CIPHER *aes128gcm, *aes256gcm, *chachapoly;
    EVP_CIPHER *aes128ecb, *aes256ecb, *chacha20;
    uint8_t plain[QD_PLAIN_MAX];
};

/* ---- engine ------------------------------------------------------------ */

struct quic_decrypt_engine *quic_decrypt_engine_new(struct keylog *keylog,
                                                    uint64_t memcap,
                                                    struct quic_decrypt_stats *st)
{
    struct quic_decrypt_engine *e = calloc(1, sizeof(*e));
    if (!e)
        return NULL;
    e->keylog = keylog;
    e->st = st;
    e->memcap = memcap;
    e->ctx = EVP_CIPHER_CTX_new();
    e->aes128gcm = EVP_CIPHER_fetch(NULL, "AES-128-GCM", NULL);
    e->aes256gcm = EVP_CIPHER_fetch(NULL, "AES-256-GCM", NULL);
    e->chachapoly = EVP_CIPHER_fetch(NULL, "ChaCha20-Poly1305", NULL);
    e->aes128ecb = EVP_CIPHER_fetch(NULL, "AES-128-ECB", NULL);
    e->aes256ecb = EVP_CIPHER_fetch(NULL, "AES-256-ECB", NULL);
    e->chacha20 = EVP_CIPHER_fetch(NULL, "ChaCha20", NULL);
    if (!e->ctx || !e->aes128gcm || !e->aes256gcm || !e->chachapoly ||
        !e->aes128ecb || !e->aes256ecb || !e->chacha20) {
        quic_decrypt_engine_free(e);
        return NULL;
    }
    return e;
}

void quic_decrypt_engine_free(struct quic_decrypt_engine *e)
{
    if (!e)
        return;
    while (e->free_list) {
        struct quic_decrypt *s = e->free_list;
        e->free_list = s->next_free;
        free(s);
    }
    EVP_CIPHER_CTX_free(e->ctx);
    EVP_CIPHER_free(e->aes128gcm);
    EVP_CIPHER_free(e->aes256gcm);
    EVP_CIPHER_free(e->chachapoly);
    EVP_CIPHER_free(e->aes128ecb);
    EVP_CIPHER_free(e->aes256ecb);
    EVP_CIPHER_free(e->chacha20);
    OPENSSL_cleanse(e->plain, sizeof(e->plain));
    free(e);
}

uint64_t quic_decrypt_engine_memory(const struct quic_decrypt_engine *e)
{
    return e ? e->mem : 0;
}

/* States are kept on a free list once made: the memory stays counted, and
 * a warm sensor takes no allocation for a new connection. */
struct quic_decrypt *quic_decrypt_new(struct quic_decrypt_engine *e)
{
    struct quic_decrypt *s = e->free_list;
    if (s) {
        e->free_list = s->next_free;
    } else if (e->mem + sizeof(*s) > e->memcap || !(s = malloc(sizeof(*s)))) {
        e->st->decrypt_over_memcap++;
        return NULL;
    } else {
        e->mem += sizeof(*s);
    }
    memset(s, 0, sizeof(*s));
    s->st = e->st;
    e->st->decrypt_sessions++;
    return s;
}

void quic_decrypt_free(struct quic_decrypt_engine *e, struct quic_decrypt *s)
{
    if (!s)
        return;
    OPENSSL_cleanse(s, sizeof(*s));
    s->next_free = e->free_list;
    e->free_list = s;
}

const char *quic_decrypt_alpn(const struct quic_decrypt *s)
{
    return s->alpn;
}

bool quic_decrypt_opened(const struct quic_decrypt *s)
{
    return s->opened;
}

/* ---- keys -------------------------------------------------------------- */

static bool is_v2(uint32_t v)
{
    return v == QUIC_V2;
}

bool quic_keys_derive(const struct tls_suite *s, bool v2, const uint8_t *secret,
                      size_t secret_len, struct quic_keys *k)
{
    enum tls_hash h = (enum tls_hash)s->prf;
    return tls13_expand_label(h, secret, secret_len, v2 ? "quicv2 key" : "quic key",
                              k->key, s->key_len) &&
           tls13_expand_label(h, secret, secret_len, v2 ? "quicv2 iv" : "quic iv",
                              k->iv, 12) &&
           tls13_expand_label(h, secret, secret_len, v2 ? "quicv2 hp" : "quic hp",
                              k->hp, s->key_len);
}

bool quic_secret_update(const struct tls_suite *s, bool v2,
                        const uint8_t *secret, size_t secret_len,
                        uint8_t *next)
{
    return tls13_expand_label((enum tls_hash)s->prf, secret, secret_len,
                              v2 ? "quicv2 ku" : "quic ku", next, secret_len);
}

/* The 1-RTT keys of a direction: generation 0 now, 1 ready for an update. */
static bool app_keys(const struct tls_suite *su, bool v2, struct qd_dir *d,
                     const uint8_t *secret, size_t n)
{
    if (!quic_keys_derive(su, v2, secret, n, &d->ap[0]) ||
        !quic_secret_update(su, v2, secret, n, d->next_secret) ||
        !quic_keys_derive(su, v2, d->next_secret, n, &d->ap[1]))
        return false;
    memcpy(d->ap[1].hp, d->ap[0].hp, sizeof(d->ap[1].hp)); /* hp never changes */
    d->phase = 0;
    return true;
}

/* After the peer moved to ap[1]: it becomes current, the one after it
 * is derived, the old one kept for reordered packets. */
static bool rotate_keys(const struct tls_suite *su, bool v2, struct qd_dir *d)
{
    size_t n = tls_hash_len((enum tls_hash)su->prf);
    uint8_t next[TLS_SECRET_MAX];
    d->prev = d->ap[0];
    d->have_prev = true;
    d->ap[0] = d->ap[1];
    d->phase ^= 1;
    bool ok = quic_secret_update(su, v2, d->next_secret, n, next) &&
              quic_keys_derive(su, v2, next, n, &d->ap[1]);
    memcpy(d->ap[1].hp, d->ap[0].hp, sizeof(d->ap[1].hp));
    memcpy(d->next_secret, next, n);
    OPENSSL_cleanse(next, sizeof(next));
    return ok;
}

static bool secret_ok(const struct keylog_entry *k, enum keylog_secret w,
                      size_t n)
{
    return (k->have & (1u << w)) && k->len[w] == n;
}

/* Looks the connection's secrets up (again, while some are missing). */
static void find_keys(struct quic_decrypt_engine *e, struct quic_decrypt *s)
{
    if (!s->suite || !s->have_random || !e->keylog)
        return;
    if (s->lookups >= QD_LOOKUPS) {
        if (s->lookups == QD_LOOKUPS) { /* counted once, when it gives up */
            s->lookups++;
            e->st->key_lookups_over_cap++;
        }
        return;
    }
    s->lookups++;
    const struct keylog_entry *k = keylog_find(e->keylog, s->client_random);
    /* a browser's SSLKEYLOGFILE may not have the secrets yet: read what
     * it gained (one stat at most every 100 ms) and look again */
    if ((!k || !(k->have & (1u << KL_CLIENT_AP))) && keylog_refresh(e->keylog))
        k = keylog_find(e->keylog, s->client_random);
    size_t n = tls_hash_len((enum tls_hash)s->suite->prf);
    bool v2 = is_v2(s->version);
    if (k && !s->hs_keys && secret_ok(k, KL_CLIENT_HS, n) &&
        secret_ok(k, KL_SERVER_HS, n))
        s->hs_keys =
            quic_keys_derive(s->suite, v2, k->secret[KL_CLIENT_HS], n, &s->d[0].hs) &&
            quic_keys_derive(s->suite, v2, k->secret[KL_SERVER_HS], n, &s->d[1].hs);
    if (k && !s->ap_keys && secret_ok(k, KL_CLIENT_AP, n) &&
        secret_ok(k, KL_SERVER_AP, n)) {
        s->ap_keys = app_keys(s->suite, v2, &s->d[0], k->secret[KL_CLIENT_AP], n) &&
                     app_keys(s->suite, v2, &s->d[1], k->secret[KL_SERVER_AP], n);
        if (s->ap_keys)
            e->st->decrypt_sessions_keyed++;
    }
}

static const EVP_CIPHER *aead_of(const struct quic_decrypt_engine *e,
                                 const struct tls_suite *s)
{
    if (s->kind == TC_CHACHA)
        return e->chachapoly;
    return s->key_len == 32 ? e->aes256gcm : e->aes128gcm;
}

/* ---- packet protection ------------------------------------------------- */

/* The 5-byte header protection mask (RFC 9001 5.4.3, 5.4.4). */
static bool hp_mask(struct quic_decrypt_engine *e, const struct tls_suite *s,
                    const uint8_t *hp, const uint8_t sample[16],
                    uint8_t mask[16])
{
    static const uint8_t zeros[16];
    int n = 0;
    if (s->kind == TC_CHACHA) /* counter (LE) and nonce are the sample */
        return EVP_EncryptInit_ex(e->ctx, e->chacha20, NULL, hp, sample) == 1 &&
               EVP_EncryptUpdate(e->ctx, mask, &n, zeros, 5) == 1 && n == 5;
    return EVP_EncryptInit_ex(e->ctx, s->key_len == 32 ? e->aes256ecb : e->aes128ecb,
                              NULL, hp, NULL) == 1 &&
           EVP_CIPHER_CTX_set_padding(e->ctx, 0) == 1 &&
           EVP_EncryptUpdate(e->ctx, mask, &n, sample, 16) == 1 && n == 16;
}

static void make_nonce(const uint8_t iv[12], uint64_t pn, uint8_t nonce[12])
{
    memcpy(nonce, iv, 12);
    for (int i = 0; i < 8; i++)
        nonce[11 - i] ^= (uint8_t)(pn >> (8 * i));
}

static bool aead(struct quic_decrypt_engine *e, const struct tls_suite *s,
                 const struct quic_keys *k, uint64_t pn, const uint8_t *aad,
                 size_t aad_len, const uint8_t *in, size_t len, uint8_t *out,
                 bool seal)
{
    uint8_t nonce[12];
    make_nonce(k->iv, pn, nonce);
    int n = 0, m = 0;
    EVP_CIPHER_CTX *c = e->ctx;
    if (seal)
        return EVP_EncryptInit_ex(c, aead_of(e, s), NULL, k->key, nonce) == 1 &&
               EVP_EncryptUpdate(c, NULL, &n, aad, (int)aad_len) == 1 &&
               EVP_EncryptUpdate(c, out, &n, in, (int)len) == 1 &&
               EVP_EncryptFinal_ex(c, out + n, &m) == 1 &&
               EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_AEAD_GET_TAG, 16, out + len) == 1;
    if (len < 16)
        return false;
    size_t body = len - 16;
    return EVP_DecryptInit_ex(c, aead_of(e, s), NULL, k->key, nonce) == 1 &&
           EVP_DecryptUpdate(c, NULL, &n, aad, (int)aad_len) == 1 &&
           EVP_DecryptUpdate(c, out, &n, in, (int)body) == 1 &&
           EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_AEAD_SET_TAG, 16,
                               (void *)(in + body)) == 1 &&
           EVP_DecryptFinal_ex(c, out + n, &m) == 1;
}

uint64_t quic_pn_decode(uint64_t largest, bool have_largest,
                        uint64_t truncated, unsigned pn_len)
{
    uint64_t expected = have_largest ? largest + 1 : 0;
    uint64_t win = (uint64_t)1 << (pn_len * 8), hwin = win / 2, mask = win - 1;
    uint64_t cand = (expected & ~mask) | truncated;
    if (cand + hwin <= expected && cand < ((uint64_t)1 << 62) - win)
        return cand + win;
    if (cand > expected + hwin && cand >= win)
        return cand - win;
    return cand;
}

/* A packet with its header protection removed. */
struct qd_hdr {
    uint8_t h[QD_HDR_MAX];   /* the header up to the packet number, in clear */
    size_t len;              /* pn_off + pn_len: the associated data */
    uint64_t truncated;
    unsigned pn_len;
};

static bool unprotect(struct quic_decrypt_engine *e, const struct tls_suite *s,
                      const uint8_t *hp, const uint8_t *pkt, size_t len,
                      size_t pn_off, bool is_long, struct qd_hdr *q)
{
    uint8_t mask[16];
    if (pn_off + 4 + 16 > len || pn_off + 4 > sizeof(q->h) ||
        !hp_mask(e, s, hp, pkt + pn_off + 4, mask))
        return false;
    memcpy(q->h, pkt, pn_off + 4);
    q->h[0] ^= mask[0] & (is_long ? 0x0f : 0x1f);
    q->pn_len = (q->h[0] & 3) + 1u;
    q->truncated = 0;
    for (unsigned i = 0; i < q->pn_len; i++) {
        q->h[pn_off + i] ^= mask[1 + i];
        q->truncated = (q->truncated << 8) | q->h[pn_off + i];
    }
    q->len = pn_off + q->pn_len;
    return true;
}

bool quic_open_short(struct quic_decrypt_engine *e, const struct tls_suite *s,
                     const struct quic_keys *k, const uint8_t *pkt, size_t len,
                     size_t dcid_len, uint64_t largest, bool have_largest,
                     uint8_t *out, size_t *out_len, uint64_t *pn, int *phase)
{
    struct qd_hdr q;
    if (!unprotect(e, s, k->hp, pkt, len, 1 + dcid_len, false, &q))
        return false;
    *pn = quic_pn_decode(largest, have_largest, q.truncated, q.pn_len);
    *phase = (q.h[0] >> 2) & 1;
    if (!aead(e, s, k, *pn, q.h, q.len, pkt + q.len, len - q.len, out, false))
        return false;
    *out_len = len - q.len - 16;
    return true;
}

bool quic_seal_short(struct quic_decrypt_engine *e, const struct tls_suite *s,
                     const struct quic_keys *k, uint8_t *pkt,
                     size_t header_len, size_t payload_len, uint64_t pn)
{
    uint8_t tmp[QD_PLAIN_MAX];
    size_t pn_len = (pkt[0] & 3) + 1u, pn_off = header_len - pn_len;
    if (payload_len > sizeof(tmp) || header_len < pn_len + 1 ||
        pn_off + 4 + 16 > header_len + payload_len + 16)
        return false;
    memcpy(tmp, pkt + header_len, payload_len);
    if (!aead(e, s, k, pn, pkt, header_len, tmp, payload_len, pkt + header_len,
              true))
        return false;
    uint8_t mask[16];
    if (!hp_mask(e, s, k->hp, pkt + pn_off + 4, mask))
        return false;
    pkt[0] ^= mask[0] & 0x1f;
    for (size_t i = 0; i < pn_len; i++)
        pkt[pn_off + i] ^= mask[1 + i];
    return true;
}

/* ---- the server's ALPN ------------------------------------------------- */

static void set_alpn(struct quic_decrypt *s, const uint8_t *p, size_t n)
{
    if (n >= sizeof(s->alpn))
        n = sizeof(s->alpn) - 1;
    memcpy(s->alpn, p, n);
    s->alpn[n] = 0;
    s->h3 = n >= 2 && p[0] == 'h' && p[1] == '3' && (n == 2 || p[2] == '-');
}

/* EncryptedExtensions (RFC 8446 4.3.1), the first message of the server's
 * Handshake CRYPTO stream: the ALPN extension (16) it carries. */
static void parse_ee(struct quic_decrypt *s)
{
    cursor_t c = cur_make(s->ee, s->ee_have);
    uint8_t type = cur_u8(&c);
    uint32_t len = cur_u24be(&c);
    if (!cur_ok(&c) || len > cur_left(&c)) {
        s->ee_done = type != 8 || len + 4 > QD_EE_BUF;
        if (type == 8 && len + 4 > QD_EE_BUF)
            s->st->ee_over_cap++;    /* the server's ALPN is not read */
        return; /* not all there yet, or never will be */
    }
    s->ee_done = true;
    if (type != 8)
        return;
    cursor_t body = cur_sub(&c, len);
    cursor_t exts = cur_sub(&body, cur_u16be(&body));
    while (cur_ok(&exts) && cur_left(&exts) >= 4) {
        uint16_t et = cur_u16be(&exts);
        cursor_t ext = cur_sub(&exts, cur_u16be(&exts));
        if (et != 16)
            continue;
        cursor_t list = cur_sub(&ext, cur_u16be(&ext));
        uint8_t n = cur_u8(&list);
        const uint8_t *p = cur_bytes(&list, n);
        if (p && n) {
            set_alpn(s, p, n);
            s->alpn_from_server = true;
        }
        return;
    }
}

static void ee_crypto(struct quic_decrypt *s, uint64_t off, const uint8_t *d,
                      size_t len)
{
    if (s->ee_done || off > s->ee_have || off >= QD_EE_BUF)
        return;
    size_t n = len;
    if (off + n > QD_EE_BUF)
        n = QD_EE_BUF - (size_t)off;
    memcpy(s->ee + off, d, n);
    if (off + n > s->ee_have)
        s->ee_have = (uint16_t)(off + n);
    parse_ee(s);
}

/* ---- streams ----------------------------------------------------------- */

struct walk {
    struct quic_decrypt_engine *e;
    struct quic_decrypt *s;
    int dir;
    quic_plain_fn fn;
    void *ctx;
};

static void emit(struct walk *w, struct qd_stream *st, const uint8_t *d,
                 size_t n)
{
    if (!n)
        return;
    w->e->st->stream_bytes += n;
    st->next[w->dir] += n;
    if (w->fn)
        w->fn(w->ctx, w->dir, st->id, d, n);
}

static bool stream_ended(const struct quic_decrypt *s, uint64_t id)
{
    for (int i = 0; i < QD_ENDED; i++)
        if (s->ended[i] == id + 1)
            return true;
    return false;
}

/* The slot of a stream, a new one for a stream not seen, or NULL (the
 * slots are all taken, or the stream ended: a late retransmission of
 * what was delivered, which must not come out twice). */
static struct qd_stream *stream_slot(struct quic_decrypt *s, uint64_t id,
                                     bool *ended)
{
    struct qd_stream *free_slot = NULL;
    for (int i = 0; i < QD_STREAMS; i++) {
        if (s->streams[i].used && s->streams[i].id == id)
            return &s->streams[i];
        if (!s->streams[i].used && !free_slot)
            free_slot = &s->streams[i];
    }
    if ((*ended = stream_ended(s, id)))
        return NULL;
    if (free_slot) {
        memset(free_slot, 0, sizeof(*free_slot));
        free_slot->used = true;
        free_slot->id = id;
    }
    return free_slot;
}

static void piece_drop(struct quic_decrypt *s, struct qd_piece *p)
{
    p->used = false;
    for (int i = 0; i < QD_PENDING; i++)
        if (s->pieces[i].used)
            return;
    s->arena_used = 0; /* all pieces gone: the arena starts over */
}

/* A stream whose both directions ended (or stopped being followed) gives
 * its slot back, with any pieces it still had. */
static void stream_release_if_done(struct quic_decrypt *s, struct qd_stream *st)
{
    for (int d = 0; d < 2; d++)
        if (!st->broken[d] && !(st->fin[d] && st->next[d] >= st->fin_at[d]))
            return;
    uint8_t slot = (uint8_t)(st - s->streams);
    for (int i = 0; i < QD_PENDING; i++)
        if (s->pieces[i].used && s->pieces[i].slot == slot)
            piece_drop(s, &s->pieces[i]);
    st->used = false;
    if (s->ended[s->ended_next])
        s->st->ended_over_cap++;     /* the oldest ended stream forgotten */
    s->ended[s->ended_next] = st->id + 1;
    s->ended_next = (uint8_t)((s->ended_next + 1) % QD_ENDED);
}

/* Pieces that now touch the delivered edge go out, in offset order. */
static void pieces_drain(struct walk *w, struct qd_stream *st)
{
    struct quic_decrypt *s = w->s;
    uint8_t slot = (uint8_t)(st - s->streams);
    for (bool again = true; again;) {
        again = false;
        for (int i = 0; i < QD_PENDING; i++) {
            struct qd_piece *p = &s->pieces[i];
            if (!p->used || p->slot != slot || p->dir != w->dir ||
                p->off > st->next[w->dir])
                continue;
            uint64_t end = p->off + p->len;
            if (end > st->next[w->dir]) {
                size_t skip = (size_t)(st->next[w->dir] - p->off);
                emit(w, st, s->arena + p->at + skip, p->len - skip);
            }
            piece_drop(s, p);
            again = true;
        }
    }
}

static void piece_keep(struct walk *w, struct qd_stream *st, uint64_t off,
                       const uint8_t *d, size_t n)
{
    struct quic_decrypt *s = w->s;
    struct qd_piece *p = NULL;
    for (int i = 0; i < QD_PENDING && !p; i++)
        if (!s->pieces[i].used)
            p = &s->pieces[i];
    if (!p || n > (size_t)(QD_ARENA - s->arena_used)) {
        /* the bytes before it will come, but these never again: the
         * direction of this stream has a hole and is no longer followed */
        w->e->st->stream_ranges_over_cap++;
        st->broken[w->dir] = true;
        for (int i = 0; i < QD_PENDING; i++)
            if (s->pieces[i].used && s->pieces[i].slot == st - s->streams &&
                s->pieces[i].dir == w->dir)
                piece_drop(s, &s->pieces[i]);
        return;
    }
    p->used = true;
    p->slot = (uint8_t)(st - s->streams);
    p->dir = (uint8_t)w->dir;
    p->off = off;
    p->len = (uint16_t)n;
    p->at = s->arena_used;
    memcpy(s->arena + p->at, d, n);
    s->arena_used = (uint16_t)(s->arena_used + n);
}

static void on_stream(void *ctx, uint64_t id, uint64_t off, const uint8_t *d,
                      size_t n, bool fin)
{
    struct walk *w = ctx;
    struct quic_decrypt_stats *st = w->e->st;
    st->stream_frames++;
    if ((id & 3) != 0) {             /* unidirectional or server-initiated */
        st->stream_bytes_other += n;
        return;
    }
    if (w->s->h3) {                  /* QPACK and HTTP/3 frames: not parsed */
        st->h3_stream_bytes += n;
        st->h3_streams += off == 0 && w->dir == 0;
        return;
    }
    bool ended = false;
    struct qd_stream *ss = stream_slot(w->s, id, &ended);
    if (!ss) {
        st->streams_over_cap += !ended;
        return;
    }
    int dir = w->dir;
    if (fin && !ss->fin[dir]) {
        ss->fin[dir] = true;
        ss->fin_at[dir] = off + n;
    }
    if (!ss->broken[dir] && off + n > ss->next[dir]) {
        if (off > ss->next[dir]) {
            piece_keep(w, ss, off, d, n);
        } else {
            size_t skip = (size_t)(ss->next[dir] - off);
            emit(w, ss, d + skip, n - skip);
            pieces_drain(w, ss);
        }
    }
    stream_release_if_done(w->s, ss);
}

static void on_crypto(void *ctx, uint64_t off, const uint8_t *d, size_t n)
{
    struct walk *w = ctx;
    if (w->dir == 1)
        ee_crypto(w->s, off, d, n);
}

static void walk_frames(struct walk *w, const uint8_t *p, size_t n, int space)
{
    struct quic_frame_sink sink = {
        space == SP_APP ? on_stream : NULL,
        space == SP_HANDSHAKE ? on_crypto : NULL, w };
    unsigned frames = 0;
    enum quic_walk_result r = quic_frames_walk(cur_make(p, n), &sink, &frames);
    if (r == QW_UNKNOWN)
        w->e->st->unknown_frames++;
    else if (r == QW_MALFORMED)
        w->e->st->decrypt_malformed++;
}

/* ---- packets ----------------------------------------------------------- */

/* Opens a packet of space sp with keys k; the largest packet number of
 * its space moves only when it authenticates. */
static bool open_with(struct walk *w, const struct quic_keys *k, int sp,
                      const uint8_t *pkt, size_t len, const struct qd_hdr *q,
                      uint64_t pn)
{
    struct qd_dir *d = &w->s->d[w->dir];
    if (!aead(w->e, w->s->suite, k, pn, q->h, q->len, pkt + q->len,
              len - q->len, w->e->plain, false))
        return false;
    if (!d->have_largest[sp] || pn > d->largest[sp])
        d->largest[sp] = pn;
    d->have_largest[sp] = true;
    return true;
}

static void handshake_packet(struct walk *w, const uint8_t *pkt, size_t len,
                             size_t pn_off)
{
    struct quic_decrypt *s = w->s;
    struct qd_dir *d = &s->d[w->dir];
    struct qd_hdr q;
    if (!s->hs_keys)
        find_keys(w->e, s);
    if (!s->hs_keys) {
        w->e->st->packets_without_keys++;
        return;
    }
    if (!unprotect(w->e, s->suite, d->hs.hp, pkt, len, pn_off, true, &q)) {
        w->e->st->decrypt_malformed++;
        return;
    }
    uint64_t pn = quic_pn_decode(d->largest[SP_HANDSHAKE],
                                 d->have_largest[SP_HANDSHAKE], q.truncated,
                                 q.pn_len);
    if (!open_with(w, &d->hs, SP_HANDSHAKE, pkt, len, &q, pn)) {
        w->e->st->auth_failed_handshake++;
        return;
    }
    w->e->st->decrypted_handshake++;
    walk_frames(w, w->e->plain, len - q.len - 16, SP_HANDSHAKE);
}

/* The keys of the packet's key phase: current, else the next generation
 * (a key update, kept only when it authenticates), else the previous one
 * (a packet sent before the update, arriving after it). */
static bool open_app(struct walk *w, const uint8_t *pkt, size_t len,
                     const struct qd_hdr *q, uint64_t pn)
{
    struct qd_dir *d = &w->s->d[w->dir];
    int phase = (q->h[0] >> 2) & 1;
    if (phase == d->phase)
        return open_with(w, &d->ap[0], SP_APP, pkt, len, q, pn);
    if (open_with(w, &d->ap[1], SP_APP, pkt, len, q, pn)) {
        if (!rotate_keys(w->s->suite, is_v2(w->s->version), d)) {
            w->e->st->key_update_failed++;   /* the next keys are not sound */
            w->s->dead = true;
        }
        w->e->st->key_updates++;
        return true;
    }
    return d->have_prev && open_with(w, &d->prev, SP_APP, pkt, len, q, pn);
}

static void short_packet(struct walk *w, const uint8_t *pkt, size_t len)
{
    struct quic_decrypt *s = w->s;
    struct qd_dir *d = &s->d[w->dir];
    const struct qd_dir *peer = &s->d[!w->dir];
    struct qd_hdr q;
    if (!s->ap_keys)
        find_keys(w->e, s);
    if (!s->ap_keys || !peer->have_scid) {
        w->e->st->packets_without_keys++;
        if (!s->ap_keys && !s->counted_no_key) {
            s->counted_no_key = true;
            w->e->st->decrypt_sessions_without_key++;
        }
        return;
    }
    if (!unprotect(w->e, s->suite, d->ap[0].hp, pkt, len, 1u + peer->scid_len,
                   false, &q)) {
        w->e->st->decrypt_malformed++;
        return;
    }
    uint64_t pn = quic_pn_decode(d->largest[SP_APP], d->have_largest[SP_APP],
                                 q.truncated, q.pn_len);
    if (!open_app(w, pkt, len, &q, pn)) {
        w->e->st->auth_failed_1rtt++;
        return;
    }
    w->e->st->decrypted_1rtt++;
    s->opened = true;
    walk_frames(w, w->e->plain, len - q.len - 16, SP_APP);
}

static int long_type(uint32_t version, uint8_t b0)
{
    unsigned t = (b0 >> 4) & 3;
    return is_v2(version) ? (int)((t + 3) & 3) : (int)t; /* v2 rotated them */
}

static bool version_known(uint32_t v)
{
    return v == QUIC_V1 || v == QUIC_V2 ||
           (v >= 0xff00001du && v <= 0xff000020u); /* drafts 29-32 */
}

/* One long-header packet at the start of c: the bytes it takes, or 0
 * when the rest of the datagram cannot be read. */
static size_t long_packet(struct walk *w, cursor_t c)
{
    const uint8_t *start = c.p;
    uint8_t b0 = cur_u8(&c);
    uint32_t version = cur_u32be(&c);
    cur_skip(&c, cur_u8(&c));                 /* DCID */
    uint8_t scid_len = cur_u8(&c);
    cur_skip(&c, scid_len);
    if (!cur_ok(&c) || version == 0 || !version_known(version) || scid_len > 20)
        return 0;
    struct qd_dir *d = &w->s->d[w->dir];
    d->scid_len = scid_len;                   /* the ID this side goes by */
    d->have_scid = true;
    /* the server may answer a v1 Initial in v2 (compatible version
     * negotiation, RFC 9368): its version names the key labels */
    if (w->dir == 1 && !w->s->hs_keys && !w->s->ap_keys)
        w->s->version = version;
    int type = long_type(version, b0);
    if (type == PT_RETRY)
        return 0;
    if (type == PT_INITIAL) {
        uint64_t tok = quic_varint(&c);
        if (tok > cur_left(&c))
            return 0;
        cur_skip(&c, (size_t)tok);
    }
    uint64_t length = quic_varint(&c);
    if (!cur_ok(&c) || length > cur_left(&c)) {
        w->e->st->decrypt_malformed++;
        return 0;
    }
    size_t pn_off = (size_t)(c.p - start), total = pn_off + (size_t)length;
    if (type == PT_HANDSHAKE)
        handshake_packet(w, start, total, pn_off);
    else if (type == PT_0RTT)
        w->e->st->zero_rtt_skipped++;
    return total;                             /* Initial: quic.c's */
}

void quic_decrypt_datagram(struct quic_decrypt_engine *e,
                           struct quic_decrypt *s, int dir,
                           const uint8_t *data, size_t len, quic_plain_fn fn,
                           void *ctx)
{
    if (s->dead || !s->suite)
        return;
    struct walk w = { e, s, dir, fn, ctx };
    cursor_t c = cur_make(data, len);
    for (int i = 0; i < QD_COALESCED && cur_left(&c) > 0; i++) {
        uint8_t b0 = cur_peek(&c, 0);
        if (!(b0 & 0x80)) {
            /* a short header runs to the end of the datagram; without the
             * fixed bit it is the zeros a sender pads a datagram with
             * after its coalesced packets (grease_quic_bit, RFC 9287, is
             * rare enough to be read the same way) */
            if (b0 & 0x40)
                short_packet(&w, c.p, cur_left(&c));
            return;
        }
        size_t used = long_packet(&w, c);
        if (!used)
            return;
        cur_skip(&c, used);
    }
    if (cur_left(&c) > 0)
        e->st->coalesced_over_cap++;     /* more packets than are read */
}

/* ---- what the handshake told ------------------------------------------- */

void quic_decrypt_hello(struct quic_decrypt_engine *e, struct quic_decrypt *s,
                        const struct tls_session *t)
{
    if (t->have_ch && !s->have_random) {
        memcpy(s->client_random, t->ch.random, 32);
        s->have_random = true;
        if (!s->alpn_from_server && t->ch.n_alpn)
            set_alpn(s, t->ch.alpn[0], t->ch.alpn_len[0]);
    }
    if (t->quic.version && !s->version)
        s->version = t->quic.version;
    if (t->have_sh && !s->suite && !s->dead) {
        const struct tls_suite *su = tls_suite_find(t->sh.cipher);
        if (!su || !su->tls13 || (su->kind != TC_GCM && su->kind != TC_CHACHA)) {
            e->st->decrypt_unsupported_cipher++;
            s->dead = true;
            return;
        }
        s->suite = su;
    }
}

void quic_decrypt_counters(const struct quic_decrypt_stats *st,
                           struct counters *r)
{
#define X(n) counters_u64(r, "quic." #n, &st->n);
    QUIC_DECRYPT_STATS(X)
#undef X
}
