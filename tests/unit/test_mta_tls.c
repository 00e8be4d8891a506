/* test_mta_tls.c -- nightjar-mta's TLS (src/mta/mta_tls.c): certificates
 * and keys that do not load or do not match are refused with the setting
 * named, an expired one warned about; a server handshake driven step by
 * step on a non-blocking socket meets the delivery client's blocking one
 * (TLS 1.3, a cipher's standard name), bytes cross both ways however the
 * writes are cut; the client verifies the chain and the name or address,
 * gives up on a silent peer at its deadline, and nothing older than TLS
 * 1.2 is accepted. Certificates are made here, in memory, with OpenSSL. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "mta/mta_tls.h"
#include "testing.h"

static char dir[64], cert[128], key[128], key2[128], old_cert[128];
static char err[1200], warn[1200];

/* A self-signed certificate for CN=localhost, DNS:localhost and
 * IP:127.0.0.1, valid from `from` to `to` days from now, and its key. */
static int write_cert(const char *cpath, const char *kpath, long from, long to)
{
    EVP_PKEY *pk = EVP_EC_gen("P-256");
    X509 *x = X509_new();
    if (!pk || !x)
        return -1;
    X509_set_version(x, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
    X509_gmtime_adj(X509_getm_notBefore(x), from * 86400);
    X509_gmtime_adj(X509_getm_notAfter(x), to * 86400);
    X509_set_pubkey(x, pk);
    X509_NAME *n = X509_get_subject_name(x);
    X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC, (const unsigned char *)"localhost",
                               -1, -1, 0);
    X509_set_issuer_name(x, n);
    X509V3_CTX v3;
    X509V3_set_ctx_nodb(&v3);
    X509V3_set_ctx(&v3, x, x, NULL, NULL, 0);
    X509_EXTENSION *ext = X509V3_EXT_conf_nid(NULL, &v3, NID_subject_alt_name,
                                              "DNS:localhost,IP:127.0.0.1");
    X509_add_ext(x, ext, -1);
    X509_EXTENSION_free(ext);
    X509_sign(x, pk, EVP_sha256());
    FILE *c = fopen(cpath, "w"), *k = fopen(kpath, "w");
    int ok = c && k && PEM_write_X509(c, x) && PEM_write_PrivateKey(k, pk, NULL, NULL, 0,
                                                                     NULL, NULL);
    if (c)
        fclose(c);
    if (k)
        fclose(k);
    X509_free(x);
    EVP_PKEY_free(pk);
    return ok ? 0 : -1;
}

static void setup(void)
{
    signal(SIGPIPE, SIG_IGN); /* as the front ends do: a peer gone is an error */
    snprintf(dir, sizeof(dir), "/tmp/nj-mta-tls-XXXXXX");
    REQUIRE(mkdtemp(dir) != NULL);
    snprintf(cert, sizeof(cert), "%s/cert.pem", dir);
    snprintf(key, sizeof(key), "%s/key.pem", dir);
    snprintf(old_cert, sizeof(old_cert), "%s/old.pem", dir);
    snprintf(key2, sizeof(key2), "%s/key2.pem", dir);
    REQUIRE(write_cert(cert, key, -1, 1) == 0);
    REQUIRE(write_cert(old_cert, key2, -10, -2) == 0); /* expired; key2 not cert's */
}

static void teardown(void)
{
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    CHECK(system(cmd) == 0);
}

static void test_certificates_that_do_not_load_are_refused_with_their_setting(void)
{
    struct mta_tls_ctx *t = mta_tls_server_new(cert, key, warn, sizeof(warn), err, sizeof(err));
    CHECK(t != NULL);
    CHECK_STR(warn, "");
    mta_tls_ctx_free(t);

    char missing[160];
    snprintf(missing, sizeof(missing), "%s/none.pem", dir);
    CHECK(mta_tls_server_new(missing, key, warn, sizeof(warn), err, sizeof(err)) == NULL);
    CHECK(strstr(err, "mta.tls-cert") && strstr(err, "No such file"));
    CHECK(mta_tls_server_new(key, key, warn, sizeof(warn), err, sizeof(err)) == NULL);
    CHECK(strstr(err, "mta.tls-cert") && strstr(err, "not a PEM certificate"));
    CHECK(mta_tls_server_new(cert, key2, warn, sizeof(warn), err, sizeof(err)) == NULL);
    CHECK(strstr(err, "mta.tls-key") != NULL);

    t = mta_tls_server_new(old_cert, key2, warn, sizeof(warn), err, sizeof(err));
    CHECK(t != NULL);
    CHECK(strstr(warn, "expired") != NULL);
    mta_tls_ctx_free(t);

    CHECK(mta_tls_client_new(true, missing, err, sizeof(err)) == NULL);
    CHECK(strstr(err, "mta.relay-tls-ca") != NULL);
    CHECK(mta_tls_client_new(true, key, err, sizeof(err)) == NULL);
    CHECK(strstr(err, "mta.relay-tls-ca") && strstr(err, "no PEM certificate"));
}

/* --- a client thread against a server driven step by step ------------------- */

struct client {
    int fd;
    struct mta_tls_ctx *ctx;
    const char *peer;
    int timeout_ms;
    size_t expect;                /* bytes to read from the server, then echo "ok" */
    bool ok;
    size_t got;
    char err[512];
    char version[16], cipher[64];
    bool verified;
    atomic_int *hold;             /* read only once the server set it */
};

static void *client_main(void *arg)
{
    struct client *c = arg;
    struct timeval tv = { .tv_sec = 10 };
    setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    setsockopt(c->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    struct mta_tls *t = mta_tls_connect(c->ctx, c->fd, c->peer, c->timeout_ms, c->err,
                                        sizeof(c->err));
    if (!t)
        return NULL;
    snprintf(c->version, sizeof(c->version), "%s", mta_tls_version(t));
    snprintf(c->cipher, sizeof(c->cipher), "%s", mta_tls_cipher(t));
    c->verified = mta_tls_verified(t);
    static char buf[65536];
    /* the server's writes first fill the socket: it must wait to write */
    for (int i = 0; c->hold && !atomic_load(c->hold) && i < 1000; i++)
        nanosleep(&(struct timespec){ .tv_nsec = 10000000 }, NULL);
    while (c->got < c->expect) {
        size_t n = 0;
        if (mta_tls_read(t, buf, sizeof(buf), &n) != MTA_TLS_OK)
            break;
        for (size_t i = 0; i < n; i++)
            if (buf[i] != (char)('a' + (c->got + i) % 26))
                goto out;
        c->got += n;
    }
    size_t put = 0;
    c->ok = c->got == c->expect && mta_tls_write(t, "ok\r\n", 4, &put) == MTA_TLS_OK &&
            put == 4;
out:
    mta_tls_close(t);
    return NULL;
}

/* Drives the server's handshake with poll(): the last result. */
static enum mta_tls_rc serve_handshake(struct mta_tls *t, int fd)
{
    enum mta_tls_rc rc;
    while ((rc = mta_tls_handshake(t)) == MTA_TLS_WANT_READ || rc == MTA_TLS_WANT_WRITE) {
        struct pollfd p = { .fd = fd, .events = rc == MTA_TLS_WANT_READ ? POLLIN : POLLOUT };
        if (poll(&p, 1, 10000) <= 0)
            break;
    }
    return rc;
}

static int pair[2];
static pthread_t th;

static void start_client(struct client *c)
{
    REQUIRE(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) == 0);
    fcntl(pair[0], F_SETFL, fcntl(pair[0], F_GETFL) | O_NONBLOCK);
    c->fd = pair[1];
    REQUIRE(pthread_create(&th, NULL, client_main, c) == 0);
}

static void end_client(void)
{
    pthread_join(th, NULL);
    close(pair[0]);
    close(pair[1]);
}

static void test_a_stepped_server_handshake_meets_the_blocking_client(void)
{
    struct mta_tls_ctx *s = mta_tls_server_new(cert, key, warn, sizeof(warn), err, sizeof(err));
    struct mta_tls_ctx *cl = mta_tls_client_new(true, cert, err, sizeof(err));
    REQUIRE(s && cl);
    /* a megabyte, so the non-blocking writes fill the socket and resume
     * from a buffer that has moved */
    atomic_int hold = 0;
    struct client c = { .ctx = cl, .peer = "localhost", .timeout_ms = 10000,
                        .expect = 1 << 20, .hold = &hold };
    start_client(&c);
    struct mta_tls *t = mta_tls_accept(s, pair[0]);
    REQUIRE(t != NULL);
    CHECK_EQ(serve_handshake(t, pair[0]), MTA_TLS_OK);
    CHECK_STR(mta_tls_version(t), "TLS 1.3");
    CHECK(strncmp(mta_tls_cipher(t), "TLS_", 4) == 0);
    size_t total = c.expect, sent = 0, waits = 0;
    char *out = malloc(total);
    REQUIRE(out != NULL);
    for (size_t i = 0; i < total; i++)
        out[i] = (char)('a' + i % 26);
    char *moving = malloc(total);
    REQUIRE(moving != NULL);
    while (sent < total) {
        /* the rest, copied afresh each time: another address */
        memcpy(moving, out + sent, total - sent);
        size_t put = 0;
        enum mta_tls_rc rc = mta_tls_write(t, moving, total - sent, &put);
        if (rc == MTA_TLS_WANT_WRITE || rc == MTA_TLS_WANT_READ) {
            waits++;
            atomic_store(&hold, 1);
            struct pollfd p = { .fd = pair[0], .events = rc == MTA_TLS_WANT_WRITE ? POLLOUT : POLLIN };
            if (poll(&p, 1, 10000) <= 0)
                break;
            continue;
        }
        if (rc != MTA_TLS_OK)
            break;
        sent += put;
    }
    CHECK_EQ(sent, total);
    CHECK(waits > 0); /* the socket did fill up */
    char in[16];
    size_t got = 0, n;
    enum mta_tls_rc rc;
    while (got < 4) {
        rc = mta_tls_read(t, in + got, sizeof(in) - got, &n);
        if (rc == MTA_TLS_WANT_READ) {
            struct pollfd p = { .fd = pair[0], .events = POLLIN };
            if (poll(&p, 1, 10000) <= 0)
                break;
            continue;
        }
        if (rc != MTA_TLS_OK)
            break;
        got += n;
    }
    CHECK_EQ(got, 4);
    CHECK(memcmp(in, "ok\r\n", 4) == 0);
    mta_tls_close(t);
    end_client();
    CHECK(c.ok);
    CHECK_STR(c.version, "TLS 1.3");
    CHECK(c.verified);
    free(out);
    free(moving);
    mta_tls_ctx_free(s);
    mta_tls_ctx_free(cl);
}

/* the client against a name: the server's handshake result and the
 * client's error */
static enum mta_tls_rc against(struct mta_tls_ctx *cl, const char *peer, struct client *c)
{
    struct mta_tls_ctx *s = mta_tls_server_new(cert, key, warn, sizeof(warn), err, sizeof(err));
    memset(c, 0, sizeof(*c));
    c->ctx = cl;
    c->peer = peer;
    c->timeout_ms = 10000;
    start_client(c);
    struct mta_tls *t = mta_tls_accept(s, pair[0]);
    enum mta_tls_rc rc = t ? serve_handshake(t, pair[0]) : MTA_TLS_ERROR;
    if (rc == MTA_TLS_OK) { /* the client says "ok" and goes */
        char in[8];
        size_t n;
        for (int i = 0; i < 100 && mta_tls_read(t, in, sizeof(in), &n) == MTA_TLS_WANT_READ; i++) {
            struct pollfd p = { .fd = pair[0], .events = POLLIN };
            poll(&p, 1, 100);
        }
    }
    mta_tls_close(t);
    end_client();
    mta_tls_ctx_free(s);
    return rc;
}

static void test_the_client_verifies_the_chain_and_the_name_or_address(void)
{
    struct mta_tls_ctx *trusting = mta_tls_client_new(true, cert, err, sizeof(err));
    struct mta_tls_ctx *other_ca = mta_tls_client_new(true, old_cert, err, sizeof(err));
    struct mta_tls_ctx *blind = mta_tls_client_new(false, "", err, sizeof(err));
    REQUIRE(trusting && other_ca && blind);
    struct client c;
    CHECK_EQ(against(trusting, "localhost", &c), MTA_TLS_OK);
    CHECK(c.ok && c.verified);
    CHECK_EQ(against(trusting, "127.0.0.1", &c), MTA_TLS_OK);
    CHECK(c.ok && c.verified);
    CHECK(against(trusting, "mail.example.org", &c) != MTA_TLS_OK);
    CHECK(!c.ok && strstr(c.err, "hostname mismatch"));
    CHECK(against(trusting, "192.0.2.7", &c) != MTA_TLS_OK);
    CHECK(!c.ok && strstr(c.err, "IP address mismatch"));
    CHECK(against(other_ca, "localhost", &c) != MTA_TLS_OK);
    CHECK(!c.ok && strstr(c.err, "certificate verify failed"));
    /* not verifying: anything goes, and it is not called verified */
    CHECK_EQ(against(blind, "mail.example.org", &c), MTA_TLS_OK);
    CHECK(c.ok && !c.verified);
    mta_tls_ctx_free(trusting);
    mta_tls_ctx_free(other_ca);
    mta_tls_ctx_free(blind);
}

static void test_a_silent_next_hop_ends_the_handshake_at_its_deadline(void)
{
    struct mta_tls_ctx *cl = mta_tls_client_new(false, "", err, sizeof(err));
    REQUIRE(cl != NULL);
    struct client c = { .ctx = cl, .peer = "localhost", .timeout_ms = 300 };
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    start_client(&c); /* nobody answers on pair[0] */
    end_client();
    clock_gettime(CLOCK_MONOTONIC, &b);
    double secs = (double)(b.tv_sec - a.tv_sec) + (double)(b.tv_nsec - a.tv_nsec) / 1e9;
    CHECK(!c.ok);
    CHECK(strstr(c.err, "not finished within") != NULL);
    CHECK(secs >= 0.25 && secs < 5);
    mta_tls_ctx_free(cl);
}

static void *old_client(void *arg)
{
    int fd = *(int *)arg;
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
    SSL_CTX_set_security_level(ctx, 0);
    SSL_CTX_set_min_proto_version(ctx, TLS1_VERSION);
    SSL_CTX_set_max_proto_version(ctx, TLS1_1_VERSION);
    SSL_CTX_set_cipher_list(ctx, "DEFAULT:@SECLEVEL=0");
    SSL *ssl = SSL_new(ctx);
    SSL_set_fd(ssl, fd);
    (void)SSL_connect(ssl);
    SSL_free(ssl);
    SSL_CTX_free(ctx);
    shutdown(fd, SHUT_RDWR);
    return NULL;
}

static void test_nothing_older_than_tls_1_2_is_accepted(void)
{
    struct mta_tls_ctx *s = mta_tls_server_new(cert, key, warn, sizeof(warn), err, sizeof(err));
    REQUIRE(s != NULL);
    REQUIRE(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) == 0);
    fcntl(pair[0], F_SETFL, fcntl(pair[0], F_GETFL) | O_NONBLOCK);
    REQUIRE(pthread_create(&th, NULL, old_client, &pair[1]) == 0);
    struct mta_tls *t = mta_tls_accept(s, pair[0]);
    REQUIRE(t != NULL);
    CHECK_EQ(serve_handshake(t, pair[0]), MTA_TLS_ERROR);
    CHECK(strstr(mta_tls_error(t), "TLS handshake") != NULL);
    mta_tls_close(t);
    end_client();
    mta_tls_ctx_free(s);
}

TEST_LIST_FIXTURE(setup, teardown,
                  test_certificates_that_do_not_load_are_refused_with_their_setting,
                  test_a_stepped_server_handshake_meets_the_blocking_client,
                  test_the_client_verifies_the_chain_and_the_name_or_address,
                  test_a_silent_next_hop_ends_the_handshake_at_its_deadline,
                  test_nothing_older_than_tls_1_2_is_accepted)
