/* test_quic_1rtt.c -- QUIC 1-RTT decryption with key log secrets: the
 * published vectors (RFC 9001 A.5, RFC 9000 A.3), the frame walker, and a
 * connection followed end to end through quic_decrypt_datagram with
 * packets sealed here from the same secrets: streams put back in order,
 * key updates, packets that do not authenticate, HTTP/3 counted only. */
#include "testing.h"

#include <unistd.h>

#include "decrypt/keylog.h"
#include "decrypt/quic_decrypt.h"
#include "proto/quic_frames.h"
#include "proto/tls.h"

static size_t unhex(const char *h, uint8_t *out, size_t cap)
{
    size_t n = 0;
    for (; h[0] && h[1] && n < cap; h += 2) {
        unsigned v;
        if (sscanf(h, "%2x", &v) != 1)
            break;
        out[n++] = (uint8_t)v;
    }
    return n;
}

/* ---- RFC 9000 A.3: packet numbers ------------------------------------- */

static void test_pn_decode_rfc9000_example(void)
{
    /* "if the highest successfully authenticated packet had a packet
     * number of 0xa82f30ea, then a packet containing a 16-bit value of
     * 0x9b32 will be decoded as 0xa82f9b32" */
    CHECK_EQ(quic_pn_decode(0xa82f30ea, true, 0x9b32, 2), 0xa82f9b32u);
}

static void test_pn_decode_wraps_and_starts(void)
{
    CHECK_EQ(quic_pn_decode(0, false, 0, 1), 0u);        /* first packet */
    CHECK_EQ(quic_pn_decode(0, false, 5, 1), 5u);
    CHECK_EQ(quic_pn_decode(0xff, true, 0x01, 1), 0x101u);  /* next window */
    CHECK_EQ(quic_pn_decode(0x101, true, 0xff, 1), 0xffu);  /* reordered back */
    CHECK_EQ(quic_pn_decode(654360563, true, 0x00bff4, 3), 654360564u);
}

/* ---- RFC 9001 A.5: ChaCha20-Poly1305 short header packet --------------- */

static const char a5_secret[] =
    "9ac312a7f877468ebe69422748ad00a15443f18203a07d6060f688f30f21632b";

static void test_rfc9001_a5_keys(void)
{
    const struct tls_suite *s = tls_suite_find(0x1303);
    REQUIRE(s);
    uint8_t secret[32], want[32], ku[32];
    unhex(a5_secret, secret, 32);
    struct quic_keys k;
    REQUIRE(quic_keys_derive(s, false, secret, 32, &k));
    unhex("c6d98ff3441c3fe1b2182094f69caa2ed4b716b65488960a7a984979fb23e1c8", want, 32);
    CHECK(!memcmp(k.key, want, 32));
    unhex("e0459b3474bdd0e44a41c144", want, 12);
    CHECK(!memcmp(k.iv, want, 12));
    unhex("25a282b9e82f06f21f488917a4fc8f1b73573685608597d0efcb076b0ab7a7a4", want, 32);
    CHECK(!memcmp(k.hp, want, 32));
    REQUIRE(quic_secret_update(s, false, secret, 32, ku));
    unhex("1223504755036d556342ee9361d253421a826c9ecdf3c7148684b36b714881f9", want, 32);
    CHECK(!memcmp(ku, want, 32));
}

static void test_rfc9001_a5_packet_opens(void)
{
    const struct tls_suite *s = tls_suite_find(0x1303);
    struct quic_decrypt_stats st = { 0 };
    struct quic_decrypt_engine *e = quic_decrypt_engine_new(NULL, 1 << 20, &st);
    REQUIRE(s && e);
    uint8_t secret[32], pkt[64], out[64];
    unhex(a5_secret, secret, 32);
    struct quic_keys k;
    REQUIRE(quic_keys_derive(s, false, secret, 32, &k));
    size_t n = unhex("4cfe4189655e5cd55c41f69080575d7999c25a5bfb", pkt, sizeof(pkt));
    size_t out_len = 0;
    uint64_t pn = 0;
    int phase = -1;
    CHECK(quic_open_short(e, s, &k, pkt, n, 0, 654360563, true, out, &out_len,
                          &pn, &phase));
    CHECK_EQ(pn, 654360564u);
    CHECK_EQ(out_len, 1u);
    CHECK_EQ(out[0], 0x01);                     /* a PING frame */
    CHECK_EQ(phase, 0);
    /* one bit changed anywhere in the protected payload: refused */
    pkt[6] ^= 0x01;
    CHECK(!quic_open_short(e, s, &k, pkt, n, 0, 654360563, true, out,
                           &out_len, &pn, &phase));
    /* and sealing the PING again gives the published packet back */
    uint8_t again[64] = { 0x42, 0x00, 0xbf, 0xf4, 0x01 };
    REQUIRE(quic_seal_short(e, s, &k, again, 4, 1, 654360564));
    unhex("4cfe4189655e5cd55c41f69080575d7999c25a5bfb", pkt, sizeof(pkt));
    CHECK(!memcmp(again, pkt, n));
    quic_decrypt_engine_free(e);
}

/* RFC 9369 A.5: the same packet with QUIC v2's labels */
static void test_rfc9369_a5_v2_packet(void)
{
    const struct tls_suite *s = tls_suite_find(0x1303);
    struct quic_decrypt_stats st = { 0 };
    struct quic_decrypt_engine *e = quic_decrypt_engine_new(NULL, 1 << 20, &st);
    REQUIRE(s && e);
    uint8_t secret[32], want[32], ku[32], pkt[64], out[64];
    unhex(a5_secret, secret, 32);
    struct quic_keys k;
    CHECK(quic_keys_derive(s, true, secret, 32, &k));
    unhex("3bfcddd72bcf02541d7fa0dd1f5f9eeea817e09a6963a0e6c7df0f9a1bab90f2", want, 32);
    CHECK(!memcmp(k.key, want, 32));
    unhex("a6b5bc6ab7dafce30ffff5dd", want, 12);
    CHECK(!memcmp(k.iv, want, 12));
    unhex("d659760d2ba434a226fd37b35c69e2da8211d10c4f12538787d65645d5d1b8e2", want, 32);
    CHECK(!memcmp(k.hp, want, 32));
    CHECK(quic_secret_update(s, true, secret, 32, ku));
    unhex("c69374c49e3d2a9466fa689e49d476db5d0dfbc87d32ceeaa6343fd0ae4c7d88", want, 32);
    CHECK(!memcmp(ku, want, 32));
    size_t n = unhex("5558b1c60ae7b6b932bc27d786f4bc2bb20f2162ba", pkt, sizeof(pkt));
    size_t out_len = 0;
    uint64_t pn = 0;
    int phase = -1;
    CHECK(quic_open_short(e, s, &k, pkt, n, 0, 654360563, true, out, &out_len,
                          &pn, &phase));
    CHECK_EQ(pn, 654360564u);
    CHECK(out_len == 1 && out[0] == 0x01);
    quic_decrypt_engine_free(e);
}

/* ---- frames ------------------------------------------------------------ */

struct seen {
    int n;
    uint64_t id[16], off[16];
    size_t len[16];
    bool fin[16];
    char data[16][16];
    int crypto;
};

static void seen_stream(void *ctx, uint64_t id, uint64_t off,
                        const uint8_t *d, size_t len, bool fin)
{
    struct seen *s = ctx;
    if (s->n >= 16)
        return;
    s->id[s->n] = id;
    s->off[s->n] = off;
    s->len[s->n] = len;
    s->fin[s->n] = fin;
    memcpy(s->data[s->n], d, len < 15 ? len : 15);
    s->n++;
}

static void seen_crypto(void *ctx, uint64_t off, const uint8_t *d, size_t len)
{
    (void)off, (void)d, (void)len;
    ((struct seen *)ctx)->crypto++;
}

static void test_frames_walk_every_type(void)
{
    static const uint8_t p[] = {
        0x00, 0x00, 0x00,                         /* PADDING */
        0x01,                                     /* PING */
        0x02, 0x10, 0x00, 0x01, 0x00, 0x01, 0x02, /* ACK, one extra range */
        0x03, 0x05, 0x00, 0x00, 0x00, 1, 2, 3,    /* ACK_ECN */
        0x04, 0x04, 0x00, 0x10,                   /* RESET_STREAM */
        0x05, 0x04, 0x00,                         /* STOP_SENDING */
        0x06, 0x00, 0x02, 'h', 'i',               /* CRYPTO */
        0x07, 0x03, 't', 'o', 'k',                /* NEW_TOKEN */
        0x10, 0x44, 0x00,                         /* MAX_DATA */
        0x11, 0x00, 0x40, 0x50,                   /* MAX_STREAM_DATA */
        0x12, 0x10, 0x13, 0x10,                   /* MAX_STREAMS bidi, uni */
        0x14, 0x01, 0x15, 0x00, 0x01,             /* DATA_BLOCKED, STREAM_DATA_BLOCKED */
        0x16, 0x01, 0x17, 0x01,                   /* STREAMS_BLOCKED */
        0x18, 0x01, 0x00, 0x04, 1, 2, 3, 4,       /* NEW_CONNECTION_ID */
        0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15,
        0x19, 0x00,                               /* RETIRE_CONNECTION_ID */
        0x1a, 1, 2, 3, 4, 5, 6, 7, 8,             /* PATH_CHALLENGE */
        0x1b, 1, 2, 3, 4, 5, 6, 7, 8,             /* PATH_RESPONSE */
        0x1e,                                     /* HANDSHAKE_DONE */
        0x31, 0x02, 'd', 'g',                     /* DATAGRAM with length */
        0x0a, 0x00, 0x04, 'p', 'i', 'n', 'g',     /* STREAM LEN */
        0x0f, 0x04, 0x05, 0x02, 'a', 'b',         /* STREAM OFF LEN FIN */
        0x0c, 0x08, 0x07, 'x',                    /* STREAM OFF, no LEN */
    };
    /* the last STREAM has no LEN: it runs to the end ("x") */
    struct seen s = { 0 };
    struct quic_frame_sink sink = { seen_stream, seen_crypto, &s };
    unsigned frames = 0;
    CHECK_EQ(quic_frames_walk(cur_make(p, sizeof(p)), &sink, &frames), QW_OK);
    CHECK_EQ(frames, 25u);
    CHECK_EQ(s.crypto, 1);
    REQUIRE(s.n == 3);
    CHECK(s.id[0] == 0 && s.off[0] == 0 && s.len[0] == 4 && !s.fin[0]);
    CHECK_STR(s.data[0], "ping");
    CHECK(s.id[1] == 4 && s.off[1] == 5 && s.len[1] == 2 && s.fin[1]);
    CHECK_STR(s.data[1], "ab");
    CHECK(s.id[2] == 8 && s.off[2] == 7 && s.len[2] == 1 && !s.fin[2]);
}

static void test_frames_close_and_datagram_to_end(void)
{
    static const uint8_t p[] = {
        0x1c, 0x0a, 0x08, 0x03, 'b', 'y', 'e',    /* CONNECTION_CLOSE */
        0x1d, 0x00, 0x00,                         /* CONNECTION_CLOSE (app) */
        0x30, 'a', 'n', 'y',                      /* DATAGRAM to the end */
    };
    unsigned frames = 0;
    CHECK_EQ(quic_frames_walk(cur_make(p, sizeof(p)), NULL, &frames), QW_OK);
    CHECK_EQ(frames, 3u);
}

static void test_frames_refuse_lies_and_unknown_types(void)
{
    static const uint8_t too_long[] = { 0x0a, 0x00, 0x10, 'p' };
    static const uint8_t acks[] = { 0x02, 0x00, 0x00, 0x3f, 0x00, 0x00 };
    static const uint8_t unknown[] = { 0x01, 0x40, 0xaf, 0x00 };
    static const uint8_t bad_cid[] = { 0x18, 0x01, 0x00, 0x00 };
    struct seen s = { 0 };
    struct quic_frame_sink sink = { seen_stream, NULL, &s };
    unsigned frames = 0;
    CHECK_EQ(quic_frames_walk(cur_make(too_long, sizeof(too_long)), &sink, &frames),
             QW_MALFORMED);
    CHECK_EQ(s.n, 0);
    CHECK_EQ(quic_frames_walk(cur_make(acks, sizeof(acks)), &sink, &frames),
             QW_MALFORMED);
    CHECK_EQ(quic_frames_walk(cur_make(unknown, sizeof(unknown)), &sink, &frames),
             QW_UNKNOWN);
    CHECK_EQ(frames, 1u);
    CHECK_EQ(quic_frames_walk(cur_make(bad_cid, sizeof(bad_cid)), &sink, &frames),
             QW_MALFORMED);
}

/* ---- a connection, end to end ----------------------------------------- */

#define RANDOM_HEX "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
static const char keys_text[] =
    "CLIENT_HANDSHAKE_TRAFFIC_SECRET " RANDOM_HEX
    " b8902ab5f9fe52fdec3aea54e9293e4b8eabf955fcd88536bf44b8b584f14982\n"
    "SERVER_HANDSHAKE_TRAFFIC_SECRET " RANDOM_HEX
    " 88ad8d3b0986a71965a28d108b0f40ffffe629284a6028c80ddc5dc083b3f5d1\n"
    "QUIC_CLIENT_TRAFFIC_SECRET_0 " RANDOM_HEX
    " a877a82fd5f89ba622eb03dc5868fd00a31cc2eb8646b362a75bc14893a8ef07\n"
    "QUIC_SERVER_TRAFFIC_SECRET_0 " RANDOM_HEX
    " a1bfa69e7051fd609946fd9431a51992617c4ddb9c1269c9c0b70cc91b297751\n";

struct conn {
    struct keylog *kl;
    struct quic_decrypt_stats st;
    struct quic_decrypt_engine *e;
    struct quic_decrypt *s;
    struct tls_session t;
    const struct tls_suite *suite;
    struct quic_keys k[2][3];     /* [dir][generation] */
    char got[2][256];
    size_t got_len[2];
    uint64_t pn[2];
};

static void collect(void *ctx, int dir, uint64_t id, const uint8_t *d, size_t n)
{
    struct conn *c = ctx;
    (void)id;
    if (c->got_len[dir] + n < sizeof(c->got[dir])) {
        memcpy(c->got[dir] + c->got_len[dir], d, n);
        c->got_len[dir] += n;
    }
}

/* An Initial packet whose only use here is its SCID (the decrypt layer
 * leaves Initial packets to quic.c). */
static void initial_from(struct conn *c, int dir, const char *scid)
{
    uint8_t d[64] = { 0xc0, 0, 0, 0, 1, 4, 9, 9, 9, 9 };
    size_t n = 10, l = strlen(scid);
    d[n++] = (uint8_t)l;
    memcpy(d + n, scid, l);
    n += l;
    d[n++] = 0;               /* token */
    d[n++] = 20;              /* length */
    n += 20;
    quic_decrypt_datagram(c->e, c->s, dir, d, n, collect, c);
}

/* keyfile: follow this key log file instead of the secrets above. */
static bool conn_open_with(struct conn *c, const char *alpn, const char *keyfile)
{
    memset(c, 0, sizeof(*c));
    c->kl = keylog_new(16);
    if (!c->kl)
        return false;
    char err[256];
    if (keyfile && !keylog_add_file(c->kl, keyfile, err, sizeof(err)))
        return false;
    if (!keyfile)
        keylog_add_text(c->kl, keys_text, strlen(keys_text), "test");
    c->e = quic_decrypt_engine_new(c->kl, 1 << 20, &c->st);
    c->s = c->e ? quic_decrypt_new(c->e) : NULL;
    c->suite = tls_suite_find(0x1301);
    if (!c->s || !c->suite)
        return false;
    c->t.have_ch = c->t.have_sh = true;
    unhex(RANDOM_HEX, c->t.ch.random, 32);
    c->t.sh.cipher = 0x1301;
    c->t.quic.version = 1;
    c->t.ch.n_alpn = 1;
    c->t.ch.alpn_len[0] = (uint8_t)strlen(alpn);
    memcpy(c->t.ch.alpn[0], alpn, strlen(alpn));
    quic_decrypt_hello(c->e, c->s, &c->t);
    static const char *sec[2] = {
        "a877a82fd5f89ba622eb03dc5868fd00a31cc2eb8646b362a75bc14893a8ef07",
        "a1bfa69e7051fd609946fd9431a51992617c4ddb9c1269c9c0b70cc91b297751" };
    for (int d = 0; d < 2; d++) {
        uint8_t s0[32], s1[32], s2[32];
        unhex(sec[d], s0, 32);
        if (!quic_keys_derive(c->suite, false, s0, 32, &c->k[d][0]) ||
            !quic_secret_update(c->suite, false, s0, 32, s1) ||
            !quic_keys_derive(c->suite, false, s1, 32, &c->k[d][1]) ||
            !quic_secret_update(c->suite, false, s1, 32, s2) ||
            !quic_keys_derive(c->suite, false, s2, 32, &c->k[d][2]))
            return false;
        memcpy(c->k[d][1].hp, c->k[d][0].hp, 16);
        memcpy(c->k[d][2].hp, c->k[d][0].hp, 16);
    }
    initial_from(c, 0, "c_cid");   /* the client goes by 5 bytes */
    initial_from(c, 1, "s_cid");   /* the server too */
    return true;
}

static bool conn_open(struct conn *c, const char *alpn)
{
    return conn_open_with(c, alpn, NULL);
}

static void conn_close(struct conn *c)
{
    if (c->e) {
        quic_decrypt_free(c->e, c->s);
        quic_decrypt_engine_free(c->e);
    }
    keylog_free(c->kl);
}

/* A 1-RTT packet of dir with frames; gen: key generation (its phase bit
 * is gen & 1); corrupt: one bit of the tag flipped. */
static void send_1rtt(struct conn *c, int dir, int gen, const uint8_t *frames,
                      size_t n, bool corrupt)
{
    uint8_t p[512];
    uint64_t pn = c->pn[dir]++;
    p[0] = (uint8_t)(0x40 | ((gen & 1) << 2) | 0x01); /* 2-byte packet number */
    memcpy(p + 1, dir == 0 ? "s_cid" : "c_cid", 5);
    p[6] = (uint8_t)(pn >> 8);
    p[7] = (uint8_t)pn;
    memcpy(p + 8, frames, n);
    if (n < 4) { /* room for the header protection sample */
        memset(p + 8 + n, 0, 4 - n);
        n = 4;
    }
    if (!quic_seal_short(c->e, c->suite, &c->k[dir][gen], p, 8, n, pn))
        return;
    if (corrupt)
        p[8 + n + 15] ^= 0x80;
    quic_decrypt_datagram(c->e, c->s, dir, p, 8 + n + 16, collect, c);
}

static void stream(struct conn *c, int dir, uint64_t id, uint64_t off,
                   const char *text, bool fin)
{
    uint8_t f[64] = { (uint8_t)(0x0e | fin), (uint8_t)id, 0x40 | (uint8_t)(off >> 8),
                      (uint8_t)off, (uint8_t)strlen(text) };
    memcpy(f + 5, text, strlen(text));
    send_1rtt(c, dir, 0, f, 5 + strlen(text), false);
}

static void test_streams_come_out_in_order(void)
{
    struct conn c;
    REQUIRE(conn_open(&c, "hq-interop"));
    stream(&c, 0, 0, 6, "world", true);     /* ahead of its time: kept */
    stream(&c, 0, 0, 0, "hello ", false);   /* fills the hole: both go out */
    stream(&c, 0, 0, 0, "hello ", false);   /* a retransmission: nothing new */
    stream(&c, 1, 0, 0, "pong", true);
    stream(&c, 0, 2, 0, "uni", false);      /* client unidirectional: counted */
    stream(&c, 0, 0, 0, "hello ", false);   /* late, after the stream ended */
    CHECK_EQ(c.got_len[0], 11u);
    CHECK(!memcmp(c.got[0], "hello world", 11));
    CHECK_EQ(c.got_len[1], 4u);
    CHECK(!memcmp(c.got[1], "pong", 4));
    CHECK_EQ(c.st.decrypted_1rtt, 6u);
    CHECK_EQ(c.st.stream_bytes, 15u);
    CHECK_EQ(c.st.streams_over_cap, 0u);
    CHECK_EQ(c.st.stream_bytes_other, 3u);
    CHECK_EQ(c.st.decrypt_sessions_keyed, 1u);
    CHECK(quic_decrypt_opened(c.s));
    CHECK_STR(quic_decrypt_alpn(c.s), "hq-interop");
    conn_close(&c);
}

static void test_key_update_followed(void)
{
    struct conn c;
    REQUIRE(conn_open(&c, "hq-interop"));
    uint8_t ping[] = { 0x01 };
    send_1rtt(&c, 0, 0, ping, 1, false);
    uint8_t f[] = { 0x0b, 0x00, 0x03, 'a', 'b', 'c' };   /* STREAM 0, LEN, FIN */
    send_1rtt(&c, 0, 1, f, sizeof(f), false);           /* phase flips: gen 1 */
    CHECK_EQ(c.st.key_updates, 1u);
    CHECK_EQ(c.got_len[0], 3u);
    send_1rtt(&c, 0, 2, ping, 1, false);                /* and flips back: gen 2 */
    CHECK_EQ(c.st.key_updates, 2u);
    CHECK_EQ(c.st.decrypted_1rtt, 3u);
    CHECK_EQ(c.st.auth_failed_1rtt, 0u);
    conn_close(&c);
}

static void test_unauthenticated_packet_counted_never_passed(void)
{
    struct conn c;
    REQUIRE(conn_open(&c, "hq-interop"));
    uint8_t f[] = { 0x0a, 0x00, 0x04, 'e', 'v', 'i', 'l' };
    send_1rtt(&c, 0, 0, f, sizeof(f), true);
    CHECK_EQ(c.st.auth_failed_1rtt, 1u);
    CHECK_EQ(c.st.decrypted_1rtt, 0u);
    CHECK_EQ(c.got_len[0], 0u);
    CHECK(!quic_decrypt_opened(c.s));
    conn_close(&c);
}

static void test_http3_counted_not_passed(void)
{
    struct conn c;
    REQUIRE(conn_open(&c, "h3"));
    stream(&c, 0, 0, 0, "GET-ish", true);
    CHECK_EQ(c.st.decrypted_1rtt, 1u);
    CHECK_EQ(c.st.h3_streams, 1u);
    CHECK_EQ(c.st.h3_stream_bytes, 7u);
    CHECK_EQ(c.got_len[0], 0u);
    conn_close(&c);
}

static void test_out_of_order_cap_counted(void)
{
    struct conn c;
    REQUIRE(conn_open(&c, "hq-interop"));
    for (int i = 1; i <= QD_PENDING + 1; i++)
        stream(&c, 0, 0, (uint64_t)i * 10, "0123456789", false);
    CHECK_EQ(c.st.stream_ranges_over_cap, 1u);
    stream(&c, 0, 0, 0, "0123456789", false);
    CHECK_EQ(c.got_len[0], 0u);    /* the direction has a hole: not followed */
    conn_close(&c);
}

static void test_streams_cap_counted(void)
{
    struct conn c;
    REQUIRE(conn_open(&c, "hq-interop"));
    for (int i = 0; i <= QD_STREAMS; i++)       /* one stream more than kept */
        stream(&c, 0, (uint64_t)i * 4, 0, "x", false);
    CHECK_EQ(c.st.streams_over_cap, 1u);
    CHECK_EQ(c.got_len[0], (size_t)QD_STREAMS);
    conn_close(&c);
}

static void test_no_secrets_no_plaintext(void)
{
    struct conn c;
    REQUIRE(conn_open(&c, "hq-interop"));
    /* another connection: a client random the key log does not have */
    struct quic_decrypt *other = quic_decrypt_new(c.e);
    REQUIRE(other);
    struct quic_decrypt *mine = c.s;
    c.s = other;
    c.t.ch.random[0] ^= 1;
    quic_decrypt_hello(c.e, c.s, &c.t);
    initial_from(&c, 0, "c_cid");
    initial_from(&c, 1, "s_cid");
    stream(&c, 0, 0, 0, "hidden", false);
    CHECK_EQ(c.st.decrypt_sessions_without_key, 1u);
    CHECK_EQ(c.st.packets_without_keys, 1u);
    CHECK_EQ(c.got_len[0], 0u);
    quic_decrypt_free(c.e, other);
    c.s = mine;
    conn_close(&c);
}

static void test_key_log_read_again_as_it_grows(void)
{
    char path[] = "/tmp/nj-quic-keylog-XXXXXX";
    int fd = mkstemp(path);
    REQUIRE(fd >= 0);
    close(fd);
    struct conn c;
    bool opened = conn_open_with(&c, "hq-interop", path);
    CHECK(opened);
    if (opened) {
        stream(&c, 0, 0, 0, "early", false);   /* the secrets are not there yet */
        CHECK_EQ(c.st.packets_without_keys, 1u);
        FILE *fp = fopen(path, "a");
        if (fp) {
            fputs(keys_text, fp);
            fclose(fp);
        }
        usleep(150 * 1000);                   /* the key log's read interval */
        c.pn[0] = 0;
        stream(&c, 0, 0, 0, "early", false);  /* the same data, sent again */
        CHECK_EQ(c.st.decrypted_1rtt, 1u);
        CHECK_EQ(c.got_len[0], 5u);
    }
    conn_close(&c);
    unlink(path);
}

TEST_LIST(test_pn_decode_rfc9000_example, test_pn_decode_wraps_and_starts,
          test_rfc9001_a5_keys, test_rfc9001_a5_packet_opens, test_rfc9369_a5_v2_packet,
          test_frames_walk_every_type, test_frames_close_and_datagram_to_end,
          test_frames_refuse_lies_and_unknown_types,
          test_streams_come_out_in_order, test_key_update_followed,
          test_unauthenticated_packet_counted_never_passed,
          test_http3_counted_not_passed, test_out_of_order_cap_counted, test_streams_cap_counted,
          test_no_secrets_no_plaintext, test_key_log_read_again_as_it_grows)
