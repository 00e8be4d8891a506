/* quic.c -- QUIC Initial decryption and CRYPTO reassembly (see quic.h).
 *
 * Key schedule (RFC 9001 5.2, RFC 9369 3.3.1): initial_secret =
 * HKDF-Extract(salt(version), client DCID); each side's secret is
 * HKDF-Expand-Label(initial_secret, "client in" / "server in", 32); from it
 * key (16), iv (12) and hp (16) with the labels "quic key", "quic iv",
 * "quic hp" ("quicv2 ..." for v2). Header protection is AES-128-ECB over a
 * 16-byte sample; the payload is AES-128-GCM with the packet number XORed
 * into the IV and the header as associated data.
 *
 * Decrypted bytes go to the TLS pool's scratch buffer (the worker's own:
 * nothing here is global); CRYPTO data is copied into the session's
 * handshake buffer at its offset. The pool's cipher context is reused.
 *
 * Handshake and 1-RTT packets are skipped here (this file has no secrets):
 * decrypt/quic_decrypt.c opens them when a key log has the session's.
 */
#include "proto/quic.h"
#include "util/counters.h"

#include <stdio.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "util/cursor.h"

#define QUIC_V1 0x00000001u
#define QUIC_V2 0x6b3343cfu

static const uint8_t salt_v1[20] = {
    0x38, 0x76, 0x2c, 0xf7, 0xf5, 0x59, 0x34, 0xb3, 0x4d, 0x17,
    0x9a, 0xe6, 0xa4, 0xc8, 0x0c, 0xad, 0xcc, 0xbb, 0x7f, 0x0a,
};
static const uint8_t salt_v2[20] = {
    0x0d, 0xed, 0xe3, 0xde, 0xf7, 0x00, 0xa6, 0xdb, 0x81, 0x93,
    0x81, 0xbe, 0x6e, 0x26, 0x9d, 0xcb, 0xf9, 0xbd, 0x2e, 0xd9,
};
static const uint8_t salt_d29[20] = { /* drafts 29-32 */
    0xaf, 0xbf, 0xec, 0x28, 0x99, 0x93, 0xd2, 0x4c, 0x9e, 0x97,
    0x86, 0xf1, 0x9c, 0x61, 0x11, 0xe0, 0x43, 0x90, 0xa8, 0x99,
};
static const uint8_t salt_d23[20] = { /* drafts 23-28 */
    0xc3, 0xee, 0xf7, 0x12, 0xc7, 0x2e, 0xbb, 0x5a, 0x11, 0xa7,
    0xd2, 0x43, 0x2b, 0xb4, 0x63, 0x65, 0xbe, 0xf9, 0xf5, 0x02,
};

const char *quic_version_name(uint32_t v, char *buf, size_t len)
{
    if (v == QUIC_V1)
        return "1";
    if (v == QUIC_V2)
        return "2";
    if ((v & 0xffffff00u) == 0xff000000u) {
        snprintf(buf, len, "draft-%u", v & 0xff);
        return buf;
    }
    snprintf(buf, len, "0x%08x", v);
    return buf;
}

static const uint8_t *version_salt(uint32_t v)
{
    if (v == QUIC_V1)
        return salt_v1;
    if (v == QUIC_V2)
        return salt_v2;
    if ((v & 0xffffff00u) == 0xff000000u) {
        unsigned d = v & 0xff;
        if (d >= 29 && d <= 32)
            return salt_d29;
        if (d >= 23 && d <= 28)
            return salt_d23;
    }
    return NULL;
}

/* Packet types of a long header: v2 rotated them. */
static bool is_initial(uint32_t v, uint8_t b0)
{
    unsigned t = (b0 >> 4) & 3;
    return v == QUIC_V2 ? t == 1 : t == 0;
}

static bool is_retry(uint32_t v, uint8_t b0)
{
    unsigned t = (b0 >> 4) & 3;
    return v == QUIC_V2 ? t == 0 : t == 3;
}

/* HKDF-Expand-Label for outputs of at most 32 bytes (one HMAC block). */
static void expand_label(const uint8_t secret[32], const char *label,
                         uint8_t *out, size_t out_len)
{
    uint8_t info[64];
    size_t n = 0, l = strlen(label);
    info[n++] = (uint8_t)(out_len >> 8);
    info[n++] = (uint8_t)out_len;
    info[n++] = (uint8_t)(6 + l);
    memcpy(info + n, "tls13 ", 6);
    n += 6;
    memcpy(info + n, label, l);
    n += l;
    info[n++] = 0; /* empty context */
    info[n++] = 1; /* T(1) counter */
    uint8_t t[32];
    unsigned int tl = 0;
    HMAC(EVP_sha256(), secret, 32, info, n, t, &tl);
    memcpy(out, t, out_len);
}

static bool derive_keys(struct tls_quic *q, uint32_t version,
                        const uint8_t *dcid, size_t dcid_len)
{
    const uint8_t *salt = version_salt(version);
    if (!salt)
        return false;
    uint8_t initial[32], secret[32];
    unsigned int n = 0;
    HMAC(EVP_sha256(), salt, 20, dcid, dcid_len, initial, &n);
    bool v2 = version == QUIC_V2;
    for (int side = 0; side < 2; side++) {
        expand_label(initial, side == 0 ? "client in" : "server in", secret, 32);
        expand_label(secret, v2 ? "quicv2 key" : "quic key", q->key[side], 16);
        expand_label(secret, v2 ? "quicv2 iv" : "quic iv", q->iv[side], 12);
        expand_label(secret, v2 ? "quicv2 hp" : "quic hp", q->hp[side], 16);
    }
    q->keys_ready = true;
    q->version = version;
    return true;
}

static bool hp_mask(EVP_CIPHER_CTX *c, const uint8_t hp[16],
                    const uint8_t sample[16], uint8_t mask[16])
{
    int n = 0;
    return c && EVP_EncryptInit_ex(c, EVP_aes_128_ecb(), NULL, hp, NULL) == 1 &&
           EVP_CIPHER_CTX_set_padding(c, 0) == 1 &&
           EVP_EncryptUpdate(c, mask, &n, sample, 16) == 1 && n == 16;
}

static bool aead_open(EVP_CIPHER_CTX *c, const uint8_t key[16],
                      const uint8_t nonce[12], const uint8_t *aad,
                      size_t aad_len, const uint8_t *ct, size_t ct_len,
                      uint8_t *out)
{
    if (ct_len < 16)
        return false;
    int n = 0, m = 0;
    size_t body = ct_len - 16;
    return c && EVP_DecryptInit_ex(c, EVP_aes_128_gcm(), NULL, key, nonce) == 1 &&
           EVP_DecryptUpdate(c, NULL, &n, aad, (int)aad_len) == 1 &&
           EVP_DecryptUpdate(c, out, &n, ct, (int)body) == 1 &&
           EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_TAG, 16,
                               (void *)(ct + body)) == 1 &&
           EVP_DecryptFinal_ex(c, out + n, &m) == 1;
}

static uint64_t varint(cursor_t *c)
{
    uint8_t b = cur_u8(c);
    uint64_t v = b & 0x3f;
    unsigned extra = (1u << (b >> 6)) - 1;
    for (unsigned i = 0; i < extra; i++)
        v = (v << 8) | cur_u8(c);
    return v;
}

/* ---- CRYPTO stream ------------------------------------------------------ */

bool crypto_ranges_add(struct quic_crypto_stream *cs, uint32_t start,
                       uint32_t end)
{
    bool kept = true;
    /* merge into existing ranges; the list stays small and unsorted */
    for (int again = 1; again;) {
        again = 0;
        for (unsigned i = 0; i < cs->n_ranges; i++) {
            uint32_t *r = cs->range[i];
            if (start <= r[1] && end >= r[0]) {
                start = start < r[0] ? start : r[0];
                end = end > r[1] ? end : r[1];
                cs->range[i][0] = cs->range[cs->n_ranges - 1][0];
                cs->range[i][1] = cs->range[cs->n_ranges - 1][1];
                cs->n_ranges--;
                again = 1;
                break;
            }
        }
    }
    if (cs->n_ranges < 8) {
        cs->range[cs->n_ranges][0] = start;
        cs->range[cs->n_ranges][1] = end;
        cs->n_ranges++;
    } else {
        kept = false;
    }
    for (unsigned i = 0; i < cs->n_ranges; i++)
        if (cs->range[i][0] == 0)
            cs->contiguous = cs->range[i][1];
    return kept;
}

static void crypto_data(struct tls_pool *p, struct tls_session *s, int dir,
                        uint64_t offset, const uint8_t *data, size_t len,
                        struct quic_stats *qst, struct tls_stats *tst)
{
    if (offset + len > TLS_HS_BUF) {
        qst->crypto_out_of_window++;
        return;
    }
    uint8_t *buf = tls_session_buffer(p, s, dir, tst);
    if (!buf || !len)
        return;
    struct tls_quic *q = &s->quic;
    memcpy(buf + offset, data, len);
    if (!crypto_ranges_add(&q->crypto[dir], (uint32_t)offset,
                           (uint32_t)(offset + len)))
        tst->err[TLS_ERR_fragments_over_cap]++;
    uint32_t have = q->crypto[dir].contiguous, done = q->crypto[dir].consumed;
    if (have > done)
        q->crypto[dir].consumed += (uint32_t)tls_session_messages(
            s, dir, buf + done, have - done, tst);
}

static void frames(struct tls_pool *p, struct tls_session *s, int dir,
                   cursor_t c, struct quic_stats *qst, struct tls_stats *tst)
{
    while (cur_ok(&c) && cur_left(&c) > 0) {
        uint64_t type = varint(&c);
        switch (type) {
        case 0x00: /* PADDING */
        case 0x01: /* PING */
            break;
        case 0x02:
        case 0x03: { /* ACK */
            varint(&c);
            varint(&c);
            uint64_t n = varint(&c);
            varint(&c);
            for (uint64_t i = 0; i < n && cur_ok(&c); i++) {
                varint(&c);
                varint(&c);
            }
            if (type == 0x03) {
                varint(&c);
                varint(&c);
                varint(&c);
            }
            break;
        }
        case 0x06: { /* CRYPTO */
            uint64_t off = varint(&c);
            uint64_t len = varint(&c);
            const uint8_t *d = cur_bytes(&c, (size_t)len);
            if (!d) {
                qst->malformed++;
                return;
            }
            crypto_data(p, s, dir, off, d, (size_t)len, qst, tst);
            break;
        }
        default: /* CONNECTION_CLOSE and anything else ends our reading */
            return;
        }
    }
}

/* ---- packets ------------------------------------------------------------ */


/* One long-header packet at the start of c; returns the bytes it took, or 0
 * when the rest of the datagram cannot be read. */
static size_t long_packet(struct tls_pool *p, struct tls_session *s, int dir,
                          cursor_t c, struct quic_stats *qst,
                          struct tls_stats *tst)
{
    struct tls_quic *q = &s->quic;
    const uint8_t *start = c.p;
    size_t avail = cur_left(&c);
    uint8_t b0 = cur_u8(&c);
    uint32_t version = cur_u32be(&c);
    if (!cur_ok(&c))
        return 0;
    if (version == 0) {
        qst->version_negotiation++;
        return 0;
    }
    uint8_t dcid_len = cur_u8(&c);
    const uint8_t *dcid = cur_bytes(&c, dcid_len);
    uint8_t scid_len = cur_u8(&c);
    cur_skip(&c, scid_len);
    if (!cur_ok(&c) || dcid_len > 20 || scid_len > 20) {
        qst->malformed++;
        return 0;
    }
    qst->long_packets++;
    if (!version_salt(version)) {
        qst->unknown_version++;
        return 0;
    }
    if (is_retry(version, b0)) {
        qst->retry++;
        return 0;
    }
    bool initial = is_initial(version, b0);
    if (initial)
        cur_skip(&c, (size_t)varint(&c)); /* token */
    uint64_t length = varint(&c);
    if (!cur_ok(&c) || length > cur_left(&c)) {
        qst->malformed++;
        return 0;
    }
    size_t pn_offset = (size_t)(c.p - start);
    size_t total = pn_offset + (size_t)length;
    if (!initial)
        return total; /* Handshake / 0-RTT: keys we do not have */
    qst->initials++;
    q->initials++;
    if (!q->keys_ready) {
        /* keys come from the DCID of the client's first Initial */
        if (dir != 0 && !q->keys_ready) {
            qst->auth_failed++;
            return total;
        }
        if (!derive_keys(q, version, dcid, dcid_len))
            return total;
        memcpy(q->dcid, dcid, dcid_len);
        q->dcid_len = dcid_len;
    }
    int side = dir; /* 0 client keys, 1 server keys */
    if (length < 4 + 16 || pn_offset + 4 + 16 > avail || total > TLS_QUIC_PLAIN_MAX) {
        qst->malformed++;
        return total;
    }
    uint8_t mask[16];
    EVP_CIPHER_CTX *cipher = tls_pool_cipher(p);
    if (!hp_mask(cipher, q->hp[side], start + pn_offset + 4, mask))
        return total;
    uint8_t header[1 + 4 + 1 + 20 + 1 + 20 + 8 + 8 + 4 + 2048];
    if (pn_offset + 4 > sizeof(header)) {
        qst->malformed++;
        return total;
    }
    memcpy(header, start, pn_offset + 4);
    header[0] ^= mask[0] & 0x0f;
    size_t pn_len = (header[0] & 3) + 1;
    uint32_t pn = 0;
    for (size_t i = 0; i < pn_len; i++) {
        header[pn_offset + i] ^= mask[1 + i];
        pn = (pn << 8) | header[pn_offset + i];
    }
    uint8_t nonce[12];
    memcpy(nonce, q->iv[side], 12);
    for (int i = 0; i < 4; i++)
        nonce[11 - i] ^= (uint8_t)(pn >> (8 * i));
    const uint8_t *ct = start + pn_offset + pn_len;
    size_t ct_len = total - pn_offset - pn_len;
    uint8_t *plain = tls_pool_quic_plain(p);
    if (!aead_open(cipher, q->key[side], nonce, header, pn_offset + pn_len, ct,
                   ct_len, plain)) {
        qst->auth_failed++;
        q->undecryptable++;
        return total;
    }
    qst->decrypted++;
    q->decrypted++;
    frames(p, s, dir, cur_make(plain, ct_len - 16), qst, tst);
    return total;
}

void quic_datagram(struct tls_pool *p, struct tls_session *s, int dir,
                   const uint8_t *data, size_t len, struct quic_stats *qst,
                   struct tls_stats *tst)
{
    qst->datagrams++;
    s->quic.is_quic = true;
    s->quic.packets++;
    cursor_t c = cur_make(data, len);
    /* coalesced packets: long headers one after another; a short header
     * (or anything unreadable) ends the datagram for us */
    for (int i = 0; i < 8 && cur_left(&c) > 0; i++) {
        if (!(cur_peek(&c, 0) & 0x80)) {
            qst->short_packets++;
            return;
        }
        size_t used = long_packet(p, s, dir, c, qst, tst);
        if (!used || used > cur_left(&c))
            return;
        cur_skip(&c, used);
    }
}

void quic_counters(const struct quic_stats *q, struct counters *r)
{
    counters_u64(r, "quic.datagrams", &q->datagrams);
    counters_u64(r, "quic.long_packets", &q->long_packets);
    counters_u64(r, "quic.short_packets", &q->short_packets);
    counters_u64(r, "quic.initials", &q->initials);
    counters_u64(r, "quic.decrypted", &q->decrypted);
    counters_u64(r, "quic.auth_failed", &q->auth_failed);
    counters_u64(r, "quic.unknown_version", &q->unknown_version);
    counters_u64(r, "quic.retry", &q->retry);
    counters_u64(r, "quic.version_negotiation", &q->version_negotiation);
    counters_u64(r, "quic.malformed", &q->malformed);
    counters_u64(r, "quic.crypto_out_of_window", &q->crypto_out_of_window);
}
