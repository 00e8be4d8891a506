/* test_decrypt.c -- passive TLS decryption against real TLS: OpenSSL's
 * libssl runs client and server in memory (each side's bytes recorded in
 * the order they were sent, its secrets through the key log callback), and
 * the recorded session goes through tls_decrypt whole and cut at every
 * byte. Also the key log parser (labels, garbage, caps, a growing file),
 * pcapng Decryption Secrets Blocks, and what happens to a tampered record
 * and to a session without a key. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "decrypt/keylog.h"
#include "decrypt/rsa_keys.h"
#include "decrypt/tls_crypto.h"
#include "decrypt/tls_decrypt.h"
#include "util/counters.h"
#include "util/json.h"
#include "testing.h"

/* --- a recorded session --------------------------------------------------- */

#define REC_MAX 64
#define BUF_MAX 65536

struct chunk {
    int dir;
    size_t off, len;
};

struct recording {
    uint8_t bytes[BUF_MAX];
    size_t used;
    struct chunk c[REC_MAX * 4];
    size_t n;
    char keylog[8192];
    size_t keylog_len;
    uint8_t plain[2][BUF_MAX]; /* what came out of decryption */
    size_t plain_len[2];
    size_t resp_chunk;         /* the chunk with the first response */
};

static struct recording rec;
static EVP_PKEY *server_key;
static X509 *server_cert;
static char key_path[64];

static void keylog_cb(const SSL *ssl, const char *line)
{
    (void)ssl;
    size_t n = strlen(line);
    if (rec.keylog_len + n + 1 < sizeof(rec.keylog)) {
        memcpy(rec.keylog + rec.keylog_len, line, n);
        rec.keylog_len += n;
        rec.keylog[rec.keylog_len++] = '\n';
    }
}

/* Moves what one side wrote to the other side, recording it. */
static void pump(SSL *from, SSL *to, int dir)
{
    BIO *w = SSL_get_wbio(from), *r = SSL_get_rbio(to);
    uint8_t buf[16384];
    int n;
    while ((n = BIO_read(w, buf, sizeof(buf))) > 0) {
        if (rec.used + (size_t)n > BUF_MAX || rec.n >= REC_MAX * 4)
            return;
        memcpy(rec.bytes + rec.used, buf, (size_t)n);
        rec.c[rec.n++] = (struct chunk){ dir, rec.used, (size_t)n };
        rec.used += (size_t)n;
        BIO_write(r, buf, n);
    }
}

static void setup_keys(void)
{
    server_key = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
    server_cert = X509_new();
    X509_set_version(server_cert, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(server_cert), 1);
    X509_gmtime_adj(X509_getm_notBefore(server_cert), 0);
    X509_gmtime_adj(X509_getm_notAfter(server_cert), 86400);
    X509_set_pubkey(server_cert, server_key);
    X509_NAME *nm = X509_get_subject_name(server_cert);
    X509_NAME_add_entry_by_txt(nm, "CN", MBSTRING_ASC,
                               (const unsigned char *)"decrypt.test", -1, -1, 0);
    X509_set_issuer_name(server_cert, nm);
    X509_sign(server_cert, server_key, EVP_sha256());
    snprintf(key_path, sizeof(key_path), "/tmp/nj-test-rsa-%d.pem", (int)getpid());
    FILE *fp = fopen(key_path, "w");
    if (fp) {
        PEM_write_PrivateKey(fp, server_key, NULL, NULL, 0, NULL, NULL);
        fclose(fp);
    }
    CHECK(server_key && fp);
}

static void teardown_keys(void)
{
    EVP_PKEY_free(server_key);
    X509_free(server_cert);
    unlink(key_path);
}

struct session_opts {
    int version;               /* TLS1_2_VERSION, TLS1_3_VERSION */
    const char *ciphers;       /* TLS <= 1.2 list, or NULL */
    const char *suites;        /* TLS 1.3 list, or NULL */
    bool no_etm;
    bool key_update;
    SSL_SESSION *resume;       /* resume this session */
    SSL_SESSION **keep;        /* the client's session, for later */
};

static SSL_CTX *ctx_for(bool server, const struct session_opts *o)
{
    SSL_CTX *c = SSL_CTX_new(server ? TLS_server_method() : TLS_client_method());
    SSL_CTX_set_min_proto_version(c, o->version);
    SSL_CTX_set_max_proto_version(c, o->version);
    SSL_CTX_set_security_level(c, 0);
    if (o->ciphers)
        SSL_CTX_set_cipher_list(c, o->ciphers);
    if (o->suites)
        SSL_CTX_set_ciphersuites(c, o->suites);
    if (o->no_etm)
        SSL_CTX_set_options(c, SSL_OP_NO_ENCRYPT_THEN_MAC);
    SSL_CTX_set_keylog_callback(c, keylog_cb);
    if (server) {
        SSL_CTX_use_certificate(c, server_cert);
        SSL_CTX_use_PrivateKey(c, server_key);
        SSL_CTX_set_session_id_context(c, (const unsigned char *)"t", 1);
    }
    return c;
}

/* One session: handshake, a request, a response (and a KeyUpdate and a
 * second exchange when asked). The server context is shared across calls
 * for resumption. */
static SSL_CTX *shared_server;
static bool run_session(const struct session_opts *o, const char *req,
                        const char *resp)
{
    memset(&rec, 0, sizeof(rec));
    SSL_CTX *cc = ctx_for(false, o);
    SSL_CTX *sc = shared_server ? shared_server : ctx_for(true, o);
    SSL *c = SSL_new(cc), *s = SSL_new(sc);
    SSL_set_bio(c, BIO_new(BIO_s_mem()), BIO_new(BIO_s_mem()));
    SSL_set_bio(s, BIO_new(BIO_s_mem()), BIO_new(BIO_s_mem()));
    SSL_set_connect_state(c);
    SSL_set_accept_state(s);
    if (o->resume)
        SSL_set_session(c, o->resume);
    for (int i = 0; i < 20 && !(SSL_is_init_finished(c) && SSL_is_init_finished(s)); i++) {
        SSL_do_handshake(c);
        pump(c, s, 0);
        SSL_do_handshake(s);
        pump(s, c, 1);
    }
    bool ok = SSL_is_init_finished(c) && SSL_is_init_finished(s);
    char buf[4096];
    for (int round = 0; ok && round < (o->key_update ? 2 : 1); round++) {
        if (round == 1) {
            SSL_key_update(c, SSL_KEY_UPDATE_REQUESTED);
        }
        SSL_write(c, req, (int)strlen(req));
        pump(c, s, 0);
        ok = SSL_read(s, buf, sizeof(buf)) == (int)strlen(req);
        SSL_write(s, resp, (int)strlen(resp));
        if (round == 0)
            rec.resp_chunk = rec.n;
        pump(s, c, 1);
        ok = ok && SSL_read(c, buf, sizeof(buf)) == (int)strlen(resp);
        pump(c, s, 0);
    }
    SSL_shutdown(c);                     /* a clean end keeps it resumable */
    pump(c, s, 0);
    SSL_shutdown(s);
    pump(s, c, 1);
    if (o->keep)
        *o->keep = SSL_get1_session(c);
    SSL_free(c);
    SSL_free(s);
    SSL_CTX_free(cc);
    if (!shared_server)
        SSL_CTX_free(sc);
    ERR_clear_error();
    return ok;
}

static void on_plain(void *ctx, int dir, const uint8_t *d, size_t n)
{
    (void)ctx;
    if (rec.plain_len[dir] + n <= BUF_MAX) {
        memcpy(rec.plain[dir] + rec.plain_len[dir], d, n);
        rec.plain_len[dir] += n;
    }
}

/* Feeds the recording in pieces of at most step bytes (0: as sent). */
static void replay(struct tls_decrypt_engine *e, size_t step)
{
    struct tls_server_id srv = { { 127, 0, 0, 1 }, 443 };
    struct tls_decrypt *s = tls_decrypt_new(e, &srv);
    rec.plain_len[0] = rec.plain_len[1] = 0;
    for (size_t i = 0; s && i < rec.n; i++) {
        const uint8_t *p = rec.bytes + rec.c[i].off;
        size_t left = rec.c[i].len;
        while (left) {
            size_t k = step && step < left ? step : left;
            tls_decrypt_feed(e, s, rec.c[i].dir, p, k, on_plain, NULL);
            p += k;
            left -= k;
        }
    }
    tls_decrypt_free(e, s);
}

static bool plain_is(int dir, const char *want, int times)
{
    size_t n = strlen(want);
    if (rec.plain_len[dir] != n * (size_t)times)
        return false;
    for (int i = 0; i < times; i++)
        if (memcmp(rec.plain[dir] + i * n, want, n))
            return false;
    return true;
}

static const char *REQ = "GET /secret HTTP/1.1\r\nHost: decrypt.test\r\n\r\n";
static const char *RESP = "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello";

/* The recording opened with its key log, whole and byte by byte. */
static void check_opens(const struct session_opts *o, int times)
{
    CHECK(run_session(o, REQ, RESP));
    struct keylog *kl = keylog_new(0);
    keylog_add_text(kl, rec.keylog, rec.keylog_len, "test");
    struct tls_decrypt_engine *e = tls_decrypt_engine_new(kl, NULL, 1 << 24);
    replay(e, 0);
    CHECK(plain_is(0, REQ, times));
    CHECK(plain_is(1, RESP, times));
    replay(e, 1);
    CHECK(plain_is(0, REQ, times));
    CHECK(plain_is(1, RESP, times));
    CHECK_EQ(tls_decrypt_engine_stats(e)->records_auth_failed, 0);
    CHECK_EQ(tls_decrypt_engine_memory(e), 0);
    tls_decrypt_engine_free(e);
    keylog_free(kl);
}

static void tls13_suites(void)
{
    const char *suites[] = { "TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384",
                             "TLS_CHACHA20_POLY1305_SHA256",
                             "TLS_AES_128_CCM_SHA256", "TLS_AES_128_CCM_8_SHA256" };
    for (size_t i = 0; i < sizeof(suites) / sizeof(*suites); i++) {
        struct session_opts o = { .version = TLS1_3_VERSION, .suites = suites[i] };
        check_opens(&o, 1);
    }
}

static void tls12_suites(void)
{
    const char *ciphers[] = { "ECDHE-RSA-AES128-GCM-SHA256", "ECDHE-RSA-AES256-GCM-SHA384",
                              "ECDHE-RSA-CHACHA20-POLY1305", "AES128-CCM", "AES256-CCM8",
                              "ECDHE-RSA-AES128-SHA256", "ECDHE-RSA-AES256-SHA384",
                              "AES128-SHA" };  /* Debian's OpenSSL has no 3DES suite */
    for (size_t i = 0; i < sizeof(ciphers) / sizeof(*ciphers); i++) {
        struct session_opts o = { .version = TLS1_2_VERSION, .ciphers = ciphers[i] };
        check_opens(&o, 1);
        o.no_etm = true;
        check_opens(&o, 1);
    }
}

static void tls10_and_11_cbc(void)
{
    struct session_opts o = { .version = TLS1_VERSION, .ciphers = "AES128-SHA:@SECLEVEL=0" };
    check_opens(&o, 1);
    o.version = TLS1_1_VERSION;
    check_opens(&o, 1);
}

static void tls13_keyupdate(void)
{
    struct session_opts o = { .version = TLS1_3_VERSION, .key_update = true };
    CHECK(run_session(&o, REQ, RESP));
    struct keylog *kl = keylog_new(0);
    keylog_add_text(kl, rec.keylog, rec.keylog_len, "test");
    struct tls_decrypt_engine *e = tls_decrypt_engine_new(kl, NULL, 1 << 24);
    replay(e, 7);
    CHECK(plain_is(0, REQ, 2));
    CHECK(plain_is(1, RESP, 2));
    CHECK_EQ(tls_decrypt_engine_stats(e)->key_updates, 2);
    tls_decrypt_engine_free(e);
    keylog_free(kl);
}

/* RSA key exchange opened with the server's key (extended master secret:
 * the transcript hash), then its resumption from the engine's cache. */
static void rsa_and_resumption(void)
{
    struct session_opts o = { .version = TLS1_2_VERSION, .ciphers = "AES256-SHA" };
    shared_server = ctx_for(true, &o);
    SSL_SESSION *sess = NULL;
    o.keep = &sess;
    CHECK(run_session(&o, REQ, RESP));
    struct rsa_keys *rk = rsa_keys_new();
    char err[256], spec[128];
    snprintf(spec, sizeof(spec), "%s:127.0.0.1:443", key_path);
    CHECK(rsa_keys_add(rk, spec, err, sizeof(err)));
    struct tls_decrypt_engine *e = tls_decrypt_engine_new(NULL, rk, 1 << 24);
    replay(e, 3);
    CHECK(plain_is(0, REQ, 1));
    CHECK(plain_is(1, RESP, 1));
    CHECK_EQ(tls_decrypt_engine_stats(e)->rsa_opened, 1);
    o.keep = NULL;
    o.resume = sess;
    CHECK(run_session(&o, REQ, RESP));
    replay(e, 0);
    CHECK(plain_is(0, REQ, 1));
    CHECK_EQ(tls_decrypt_engine_stats(e)->resumed, 1);
    /* the key bound to another server is not tried */
    struct rsa_keys *other = rsa_keys_new();
    snprintf(spec, sizeof(spec), "%s:[::1]:8443", key_path);
    CHECK(rsa_keys_add(other, spec, err, sizeof(err)));
    struct tls_decrypt_engine *e2 = tls_decrypt_engine_new(NULL, other, 1 << 24);
    o.resume = NULL;
    CHECK(run_session(&o, REQ, RESP));
    replay(e2, 0);
    CHECK_EQ(rec.plain_len[0], 0);
    CHECK_EQ(tls_decrypt_engine_stats(e2)->sessions_without_key, 1);
    CHECK(!rsa_keys_add(other, "/nonexistent.pem", err, sizeof(err)));
    CHECK(!rsa_keys_add(other, "x.pem:1.2.3.4", err, sizeof(err)));
    tls_decrypt_engine_free(e);
    tls_decrypt_engine_free(e2);
    rsa_keys_free(rk);
    rsa_keys_free(other);
    SSL_SESSION_free(sess);
    SSL_CTX_free(shared_server);
    shared_server = NULL;
}

/* A changed byte in an application record: counted, nothing passed on. */
static void tampered_record(void)
{
    struct session_opts o = { .version = TLS1_3_VERSION };
    CHECK(run_session(&o, REQ, RESP));
    struct keylog *kl = keylog_new(0);
    keylog_add_text(kl, rec.keylog, rec.keylog_len, "test");
    struct tls_decrypt_engine *e = tls_decrypt_engine_new(kl, NULL, 1 << 24);
    struct chunk *resp = &rec.c[rec.resp_chunk];
    CHECK_EQ(resp->dir, 1);
    rec.bytes[resp->off + resp->len - 3] ^= 0x40;   /* in the AEAD tag */
    replay(e, 0);
    CHECK(plain_is(0, REQ, 1));
    CHECK_EQ(rec.plain_len[1], 0);
    CHECK(tls_decrypt_engine_stats(e)->records_auth_failed >= 1);
    tls_decrypt_engine_free(e);
    keylog_free(kl);
}

/* The response cut in the middle of its record: counted, nothing of it. */
static void truncated_record(void)
{
    struct session_opts o = { .version = TLS1_2_VERSION };
    CHECK(run_session(&o, REQ, RESP));
    struct keylog *kl = keylog_new(0);
    keylog_add_text(kl, rec.keylog, rec.keylog_len, "test");
    struct tls_decrypt_engine *e = tls_decrypt_engine_new(kl, NULL, 1 << 24);
    rec.c[rec.resp_chunk].len -= 10;
    rec.n = rec.resp_chunk + 1;
    replay(e, 0);
    CHECK(plain_is(0, REQ, 1));
    CHECK_EQ(rec.plain_len[1], 0);
    CHECK_EQ(tls_decrypt_engine_stats(e)->records_truncated, 1);
    CHECK_EQ(tls_decrypt_engine_memory(e), 0);
    tls_decrypt_engine_free(e);
    keylog_free(kl);
}

static void no_key(void)
{
    struct session_opts o = { .version = TLS1_2_VERSION };
    CHECK(run_session(&o, REQ, RESP));
    struct keylog *kl = keylog_new(0);
    struct tls_decrypt_engine *e = tls_decrypt_engine_new(kl, NULL, 1 << 24);
    replay(e, 0);
    CHECK_EQ(rec.plain_len[0] + rec.plain_len[1], 0);
    CHECK_EQ(tls_decrypt_engine_stats(e)->sessions_without_key, 1);
    /* and over the memcap: refused, counted */
    struct tls_decrypt_engine *tiny = tls_decrypt_engine_new(kl, NULL, 16);
    struct tls_server_id srv = { { 0 }, 1 };
    CHECK(tls_decrypt_new(tiny, &srv) == NULL);
    CHECK_EQ(tls_decrypt_engine_stats(tiny)->sessions_over_memcap, 1);
    tls_decrypt_engine_free(tiny);
    tls_decrypt_engine_free(e);
    keylog_free(kl);
}

/* --- the key log ----------------------------------------------------------- */

static const char *CR = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";

static void keylog_lines(void)
{
    struct keylog *kl = keylog_new(0);
    char text[2048];
    snprintf(text, sizeof(text),
             "# a comment\r\n"
             "CLIENT_RANDOM %s %096d\r\n"
             "CLIENT_HANDSHAKE_TRAFFIC_SECRET %s %064d\n"
             "QUIC_SERVER_TRAFFIC_SECRET_0 %s %064d\n"
             "EXPORTER_SECRET %s %064d\n"
             "RSA 0102030405060708 %096d\n"
             "CLIENT_RANDOM %s 00\n"            /* short secret */
             "BOGUS_LABEL %s %064d\n"
             "CLIENT_RANDOM 1234 %096d\n"       /* short random */
             "not a key log line at all\n"
             "CLIENT_TRAFFIC_SECRET_0 %s %064d",  /* no final newline */
             CR, 1, CR, 2, CR, 3, CR, 4, 5, CR, CR, 6, 7, CR, 8);
    keylog_add_text(kl, text, strlen(text), "test");
    const struct keylog_stats *st = keylog_stats(kl);
    CHECK_EQ(st->bad_lines, 4);
    CHECK_EQ(st->secrets, 4);
    CHECK_EQ(st->rsa_premasters, 1);
    CHECK_EQ(keylog_count(kl), 1);
    uint8_t cr[32];
    for (int i = 0; i < 32; i++)
        cr[i] = (uint8_t)i;
    const struct keylog_entry *e = keylog_find(kl, cr);
    REQUIRE(e);
    CHECK_EQ(e->have, (1 << KL_MASTER) | (1 << KL_CLIENT_HS) | (1 << KL_SERVER_AP) |
                          (1 << KL_CLIENT_AP));
    CHECK_EQ(e->len[KL_MASTER], 48);
    CHECK_EQ(e->secret[KL_MASTER][47], 0x01);
    CHECK_EQ(e->len[KL_CLIENT_HS], 32);
    uint8_t prefix[8] = { 1, 2, 3, 4, 5, 6, 7, 8 }, pms[48];
    CHECK(keylog_find_rsa(kl, prefix, pms));
    CHECK_EQ(pms[47], 0x05);
    cr[0] = 0xff;
    CHECK(keylog_find(kl, cr) == NULL);
    keylog_free(kl);
}

static void keylog_cap(void)
{
    struct keylog *kl = keylog_new(3);
    char line[200];
    for (int i = 0; i < 5; i++) {
        snprintf(line, sizeof(line), "CLIENT_RANDOM %062d%02d %096d\n", 0, i, 1);
        keylog_add_text(kl, line, strlen(line), "test");
    }
    CHECK_EQ(keylog_count(kl), 3);
    CHECK_EQ(keylog_stats(kl)->entries_over_cap, 2);
    keylog_free(kl);
}

/* A followed file: new lines are read when it grows, a line is taken only
 * once complete, a truncated file is read again from the start. */
static void keylog_follows_file(void)
{
    char path[64], err[128];
    snprintf(path, sizeof(path), "/tmp/nj-test-keylog-%d", (int)getpid());
    FILE *fp = fopen(path, "w");
    REQUIRE(fp);
    fprintf(fp, "CLIENT_RANDOM %s %096d\nCLIENT_RANDOM %062d", CR, 1, 0);
    fclose(fp);
    struct keylog *kl = keylog_new(0);
    CHECK(keylog_add_file(kl, path, err, sizeof(err)));
    CHECK_EQ(keylog_count(kl), 1);
    fp = fopen(path, "a");
    fprintf(fp, "77 %096d\n", 2);
    fclose(fp);
    usleep(20000);
    CHECK(keylog_refresh(kl));
    CHECK_EQ(keylog_count(kl), 2);
    CHECK_EQ(keylog_stats(kl)->bad_lines, 0);
    CHECK(!keylog_refresh(kl));          /* unchanged (and too soon) */
    fp = fopen(path, "w");
    fprintf(fp, "CLIENT_RANDOM %062d88 %096d\n", 0, 3);
    fclose(fp);
    usleep(20000);
    CHECK(keylog_refresh(kl));
    CHECK_EQ(keylog_stats(kl)->truncations, 1);
    CHECK_EQ(keylog_count(kl), 3);
    /* merged over workers (each follows the file): the reads once, the
     * lookups summed */
    uint64_t reloads = keylog_stats(kl)->reloads;
    CHECK(reloads >= 2);
    struct counters *r1 = counters_new(), *r2 = counters_new();
    REQUIRE(r1 && r2);
    keylog_counters(kl, r1);
    keylog_counters(kl, r2);
    const struct counters *regs[2] = { r1, r2 };
    struct json j;
    json_init(&j);
    json_obj_open(&j);
    counters_write_merged(regs, 2, &j);
    json_obj_close(&j);
    char want[64];
    snprintf(want, sizeof(want), "\"reloads\":%llu,", (unsigned long long)reloads);
    CHECK(j.buf && strstr(j.buf, want));
    snprintf(want, sizeof(want), "\"files_read\":%llu,",
             (unsigned long long)keylog_stats(kl)->files_read);
    CHECK(j.buf && strstr(j.buf, want));
    json_free(&j);
    counters_free(r1);
    counters_free(r2);
    CHECK(!keylog_add_file(kl, "/nonexistent/keys", err, sizeof(err)));
    keylog_free(kl);
    unlink(path);
}

static void put32(FILE *fp, uint32_t v) { fwrite(&v, 4, 1, fp); }

/* SHB, IDB, DSB (TLS key log), EPB: the secrets come out of the DSB. */
static void pcapng_secrets(void)
{
    char path[64], text[256];
    snprintf(path, sizeof(path), "/tmp/nj-test-dsb-%d.pcapng", (int)getpid());
    int tl = snprintf(text, sizeof(text), "CLIENT_RANDOM %s %096d\n", CR, 9);
    uint32_t pad = (uint32_t)((4 - tl % 4) % 4), dsb_len = 12 + 8 + (uint32_t)tl + pad;
    FILE *fp = fopen(path, "wb");
    REQUIRE(fp);
    put32(fp, 0x0A0D0D0A); put32(fp, 28); put32(fp, 0x1A2B3C4D);
    put32(fp, 1); put32(fp, 0xffffffff); put32(fp, 0xffffffff); put32(fp, 28);
    put32(fp, 1); put32(fp, 20); put32(fp, 1); put32(fp, 65535); put32(fp, 20);
    put32(fp, 0x0000000A); put32(fp, dsb_len); put32(fp, 0x544c534b);
    put32(fp, (uint32_t)tl);
    fwrite(text, 1, (size_t)tl, fp);
    fwrite("\0\0\0", 1, pad, fp);
    put32(fp, dsb_len);
    put32(fp, 6); put32(fp, 32); put32(fp, 0); put32(fp, 0); put32(fp, 0);
    put32(fp, 0); put32(fp, 0); put32(fp, 32);
    fclose(fp);
    struct keylog *kl = keylog_new(0);
    CHECK_EQ(keylog_add_pcapng_secrets(kl, path), 1);
    CHECK_EQ(keylog_count(kl), 1);
    /* a classic pcap file has none */
    fp = fopen(path, "wb");
    put32(fp, 0xa1b2c3d4); put32(fp, 0x00040002); put32(fp, 0); put32(fp, 0);
    put32(fp, 65535); put32(fp, 1);
    fclose(fp);
    CHECK_EQ(keylog_add_pcapng_secrets(kl, path), 0);
    CHECK_EQ(keylog_add_pcapng_secrets(kl, "/nonexistent.pcapng"), -1);
    keylog_free(kl);
    unlink(path);
}

static void suites_table(void)
{
    CHECK(tls_suite_find(0x1301) && tls_suite_find(0x1301)->tls13);
    CHECK(tls_suite_find(0xc02f) && !tls_suite_find(0xc02f)->rsa_kx);
    CHECK(tls_suite_find(0x0035) && tls_suite_find(0x0035)->rsa_kx);
    CHECK(tls_suite_find(0x0005) == NULL);   /* RC4: not opened */
}

TEST_LIST_FIXTURE(setup_keys, teardown_keys, tls13_suites, tls12_suites,
                  tls10_and_11_cbc, tls13_keyupdate, rsa_and_resumption,
                  tampered_record, truncated_record, no_key, keylog_lines, keylog_cap,
                  keylog_follows_file, pcapng_secrets, suites_table)
