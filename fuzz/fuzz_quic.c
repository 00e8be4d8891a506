/* fuzz_quic.c -- libFuzzer target for QUIC: Initial parsing and 1-RTT
 * decryption.
 *
 * Random bytes never pass AEAD authentication, so neither the frame
 * parsers nor CRYPTO and STREAM reassembly could be reached through the
 * datagram entry points alone. This target includes quic.c to reach its
 * static functions: each input is split in two. The first part goes
 * through quic_datagram (long-header parsing, coalescing, key derivation
 * from whatever DCID it carries) and through the 1-RTT decryptor as it
 * came (long headers, Handshake packets that fail to authenticate). The
 * second goes straight to quic.c's frame parser as if it had decrypted,
 * and is also cut into chunks that are sealed here as 1-RTT packets with
 * keys derived from a fixed key log entry (the cipher suite chosen by the
 * first byte; a chunk's top bit moves to the next key generation, as a
 * key update does) and fed to quic_decrypt_datagram: header protection,
 * packet numbers, AEAD, key updates, the frame walker and per-stream
 * reassembly all run on fuzzer-chosen plaintext.
 */
#include "../src/proto/quic.c"

#include "decrypt/keylog.h"
#include "decrypt/quic_decrypt.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define R32 "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
#define R48 "100102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
#define S32A "a877a82fd5f89ba622eb03dc5868fd00a31cc2eb8646b362a75bc14893a8ef07"
#define S32B "a1bfa69e7051fd609946fd9431a51992617c4ddb9c1269c9c0b70cc91b297751"
#define S48A S32A "0102030405060708090a0b0c0d0e0f10"
#define S48B S32B "0102030405060708090a0b0c0d0e0f10"
static const char keys[] =
    "CLIENT_TRAFFIC_SECRET_0 " R32 " " S32A "\n"
    "SERVER_TRAFFIC_SECRET_0 " R32 " " S32B "\n"
    "CLIENT_HANDSHAKE_TRAFFIC_SECRET " R32 " " S32B "\n"
    "SERVER_HANDSHAKE_TRAFFIC_SECRET " R32 " " S32A "\n"
    "CLIENT_TRAFFIC_SECRET_0 " R48 " " S48A "\n"
    "SERVER_TRAFFIC_SECRET_0 " R48 " " S48B "\n";

#define GENS 4
struct fixed {
    struct keylog *kl;
    struct quic_decrypt_stats st;
    struct quic_decrypt_engine *e;
    struct quic_keys k[3][2][GENS]; /* [suite][dir][generation] */
};
static const uint16_t suite_ids[3] = { 0x1301, 0x1302, 0x1303 };

static void unhex(const char *h, uint8_t *out, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned v = 0;
        sscanf(h + 2 * i, "%2x", &v);
        out[i] = (uint8_t)v;
    }
}

static void fixed_keys(struct fixed *f)
{
    static const char *const sec[2][2] = { { S32A, S32B }, { S48A, S48B } };
    for (int su = 0; su < 3; su++) {
        const struct tls_suite *s = tls_suite_find(suite_ids[su]);
        size_t n = su == 1 ? 48 : 32;
        for (int d = 0; d < 2; d++) {
            uint8_t secret[48], next[48];
            unhex(sec[su == 1][d], secret, n);
            for (int g = 0; g < GENS; g++) {
                quic_keys_derive(s, false, secret, n, &f->k[su][d][g]);
                memcpy(f->k[su][d][g].hp, f->k[su][d][0].hp, 32);
                quic_secret_update(s, false, secret, n, next);
                memcpy(secret, next, n);
            }
        }
    }
}

static struct fixed *fixed_get(void)
{
    static struct fixed f;
    if (!f.e) {
        f.kl = keylog_new(8);
        keylog_add_text(f.kl, keys, strlen(keys), "fuzz");
        f.e = quic_decrypt_engine_new(f.kl, 1 << 20, &f.st);
        fixed_keys(&f);
    }
    return &f;
}

static void scid_of(struct quic_decrypt_engine *e, struct quic_decrypt *q,
                    int dir)
{
    /* an Initial long header: the decryptor learns each side's 5-byte ID */
    uint8_t d[40] = { 0xc0, 0, 0, 0, 1, 0, 5, 'x', '_', 'c', 'i', 'd', 0, 16 };
    d[7] = dir ? 's' : 'c';
    quic_decrypt_datagram(e, q, dir, d, 14 + 16, NULL, NULL);
}

/* The second part, in chunks [h][(h & 0x7f) * 8 + 1 bytes], each sealed
 * as a 1-RTT packet of alternating direction. */
static void one_rtt(struct fixed *f, int su, const uint8_t *p, size_t n)
{
    struct tls_session *t = calloc(1, sizeof(*t));
    struct quic_decrypt *q = quic_decrypt_new(f->e);
    if (!t || !q) {
        free(t);
        quic_decrypt_free(f->e, q);
        return;
    }
    t->have_ch = t->have_sh = true;
    unhex(su == 1 ? R48 : R32, t->ch.random, 32);
    t->sh.cipher = suite_ids[su];
    t->quic.version = 1;
    quic_decrypt_hello(f->e, q, t);
    scid_of(f->e, q, 0);
    scid_of(f->e, q, 1);
    const struct tls_suite *s = tls_suite_find(suite_ids[su]);
    static uint8_t pkt[2048];
    uint64_t pn[2] = { 0, 0 };
    int gen[2] = { 0, 0 };
    for (int dir = 0; n > 0; dir ^= 1) {
        uint8_t h = *p++;
        n--;
        size_t len = (size_t)(h & 0x7f) * 8 + 1;
        if (len > n)
            len = n;
        if ((h & 0x80) && gen[dir] < GENS - 1)
            gen[dir]++;
        pkt[0] = (uint8_t)(0x41 | ((gen[dir] & 1) << 2)); /* 2-byte pn */
        memcpy(pkt + 1, dir ? "c_cid" : "s_cid", 5);
        pkt[6] = (uint8_t)(pn[dir] >> 8);
        pkt[7] = (uint8_t)pn[dir];
        memcpy(pkt + 8, p, len);
        size_t plen = len < 4 ? 4 : len;
        memset(pkt + 8 + len, 0, plen - len);
        if (quic_seal_short(f->e, s, &f->k[su][dir][gen[dir]], pkt, 8, plen,
                            pn[dir]))
            quic_decrypt_datagram(f->e, q, dir, pkt, 8 + plen + 16, NULL, NULL);
        pn[dir]++;
        p += len;
        n -= len;
    }
    quic_decrypt_free(f->e, q);
    free(t);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct tls_pool *pool;
    static struct tls_stats tst;
    static struct quic_stats qst;
    if (!pool)
        pool = tls_pool_new(4 * TLS_HS_BUF + 4 * sizeof(struct tls_session));
    struct fixed *f = fixed_get();
    if (size < 2 || !f->e)
        return 0;
    struct tls_session *s = tls_session_new(pool, &tst);
    if (!s)
        return 0;
    size_t cut = data[0] % size;
    quic_datagram(pool, s, 0, data + 1, cut, &qst, &tst);
    int dir = data[0] & 1;
    frames(pool, s, dir, cur_make(data + 1 + cut, size - 1 - cut), &qst, &tst);
    tls_session_release(pool, s);

    struct quic_decrypt *q = quic_decrypt_new(f->e);
    if (q) {
        struct tls_session *t = calloc(1, sizeof(*t));
        if (t) {
            t->have_ch = t->have_sh = true;
            unhex(R32, t->ch.random, 32);
            t->sh.cipher = 0x1301;
            quic_decrypt_hello(f->e, q, t);
            quic_decrypt_datagram(f->e, q, dir, data + 1, cut, NULL, NULL);
            free(t);
        }
        quic_decrypt_free(f->e, q);
    }
    one_rtt(f, (data[0] >> 1) % 3, data + 1 + cut, size - 1 - cut);
    return 0;
}
