/* mta_tls.c -- nightjar-mta's TLS over OpenSSL (see mta_tls.h).
 *
 * OpenSSL reads and writes the socket itself (SSL_set_fd), so what the
 * caller had already read in cleartext never reaches TLS. Its error queue
 * is per thread and outlives a call: every call here clears it first and
 * turns what it holds after a failure into one line of text for the
 * caller, so a stale error never makes a later call look failed.
 */
#include "mta/mta_tls.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "proto/tls.h"
#include "util/clock.h"

struct mta_tls_ctx {
    SSL_CTX *ctx;
    bool verify;                    /* client: the next hop is checked */
};

struct mta_tls {
    SSL *ssl;
    bool up;                        /* the handshake completed */
    bool fatal;                     /* a fatal error: no close_notify then */
    bool verified;
    char version[16];
    char err[256];
};

/* --- errors ----------------------------------------------------------- */

/* "what: OpenSSL's reason" from the thread's queue (emptied), or "what:
 * fallback" when it holds nothing. */
static void openssl_reason(char *out, size_t n, const char *what, const char *fallback)
{
    unsigned long e, last = 0;
    while ((e = ERR_get_error()) != 0)
        if (!last)
            last = e;   /* the first is the cause; later ones say who saw it */
    if (!last) {
        snprintf(out, n, "%s: %s", what, fallback);
        return;
    }
    const char *r = ERR_reason_error_string(last);
    if (r) {
        snprintf(out, n, "%s: %s", what, r);
    } else {
        char buf[160];
        ERR_error_string_n(last, buf, sizeof(buf));
        snprintf(out, n, "%s: %s", what, buf);
    }
}

/* What an SSL_* call that returned ret means; on a failure t->err says it. */
static enum mta_tls_rc result(struct mta_tls *t, int ret, const char *what)
{
    int saved = errno;
    int e = SSL_get_error(t->ssl, ret);
    switch (e) {
    case SSL_ERROR_WANT_READ:
        return MTA_TLS_WANT_READ;
    case SSL_ERROR_WANT_WRITE:
        return MTA_TLS_WANT_WRITE;
    case SSL_ERROR_ZERO_RETURN:
        snprintf(t->err, sizeof(t->err), "%s: the peer closed TLS", what);
        ERR_clear_error();
        return t->up ? MTA_TLS_CLOSED : MTA_TLS_ERROR;
    case SSL_ERROR_SYSCALL:
        t->fatal = true;
        if (!ERR_peek_error()) {
            if (saved)
                snprintf(t->err, sizeof(t->err), "%s: %s", what, strerror(saved));
            else
                snprintf(t->err, sizeof(t->err), "%s: the peer closed the "
                         "connection", what);
            return t->up && !saved ? MTA_TLS_CLOSED : MTA_TLS_ERROR;
        }
        openssl_reason(t->err, sizeof(t->err), what, "system error");
        return MTA_TLS_ERROR;
    default:
        t->fatal = true;
        openssl_reason(t->err, sizeof(t->err), what, "error");
        if (e == SSL_ERROR_SSL && SSL_get_verify_result(t->ssl) != X509_V_OK) {
            size_t l = strlen(t->err);
            snprintf(t->err + l, sizeof(t->err) - l, " (%s)",
                     X509_verify_cert_error_string(SSL_get_verify_result(t->ssl)));
        }
        return MTA_TLS_ERROR;
    }
}

/* --- contexts ------------------------------------------------------------ */

/* TLS 1.2 and 1.3, OpenSSL's default ciphers, no compression, no
 * renegotiation. The output buffer may move and be written in parts
 * between retries (the server's grows and shifts); idle sessions give
 * their buffers back. SMTP says itself where a message ends (the dot,
 * QUIT), so a peer that closes without close_notify -- many MTAs do --
 * is an end, not an error. */
static bool ctx_common(SSL_CTX *c)
{
    SSL_CTX_set_options(c, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION |
                           SSL_OP_IGNORE_UNEXPECTED_EOF);
    SSL_CTX_set_mode(c, SSL_MODE_ENABLE_PARTIAL_WRITE |
                        SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER | SSL_MODE_RELEASE_BUFFERS);
    return SSL_CTX_set_min_proto_version(c, TLS1_2_VERSION) == 1 &&
           SSL_CTX_set_max_proto_version(c, TLS1_3_VERSION) == 1;
}

static bool readable(const char *setting, const char *path, char *err, size_t errlen)
{
    if (access(path, R_OK) == 0)
        return true;
    snprintf(err, errlen, "%s %s: %s", setting, path, strerror(errno));
    return false;
}

struct mta_tls_ctx *mta_tls_server_new(const char *cert, const char *key,
                                       char *warn, size_t warnlen,
                                       char *err, size_t errlen)
{
    warn[0] = '\0';
    ERR_clear_error();
    if (!readable("mta.tls-cert", cert, err, errlen) ||
        !readable("mta.tls-key", key, err, errlen))
        return NULL;
    struct mta_tls_ctx *t = calloc(1, sizeof(*t));
    if (!t || !(t->ctx = SSL_CTX_new(TLS_server_method())) || !ctx_common(t->ctx)) {
        openssl_reason(err, errlen, "TLS", "out of memory");
        goto err;
    }
    SSL_CTX_set_options(t->ctx, SSL_OP_CIPHER_SERVER_PREFERENCE);
    SSL_CTX_set_dh_auto(t->ctx, 1);
    char what[1200];
    if (SSL_CTX_use_certificate_chain_file(t->ctx, cert) != 1) {
        snprintf(what, sizeof(what), "mta.tls-cert %s: not a PEM certificate", cert);
        openssl_reason(err, errlen, what, "unreadable");
        goto err;
    }
    if (SSL_CTX_use_PrivateKey_file(t->ctx, key, SSL_FILETYPE_PEM) != 1) {
        snprintf(what, sizeof(what), "mta.tls-key %s: not the PEM private key of "
                 "mta.tls-cert %s", key, cert);
        openssl_reason(err, errlen, what, "unreadable");
        goto err;
    }
    if (SSL_CTX_check_private_key(t->ctx) != 1) {
        snprintf(what, sizeof(what), "mta.tls-key %s does not match mta.tls-cert %s",
                 key, cert);
        openssl_reason(err, errlen, what, "key values mismatch");
        goto err;
    }
    X509 *x = SSL_CTX_get0_certificate(t->ctx);
    if (x && X509_cmp_current_time(X509_get0_notAfter(x)) < 0)
        snprintf(warn, warnlen, "mta.tls-cert %s has expired: clients that "
                 "check it will not send mail over TLS", cert);
    else if (x && X509_cmp_current_time(X509_get0_notBefore(x)) > 0)
        snprintf(warn, warnlen, "mta.tls-cert %s is not valid yet", cert);
    return t;
err:
    mta_tls_ctx_free(t);
    ERR_clear_error();
    return NULL;
}

struct mta_tls_ctx *mta_tls_client_new(bool verify, const char *ca,
                                       char *err, size_t errlen)
{
    ERR_clear_error();
    if (ca[0] && !readable("mta.relay-tls-ca", ca, err, errlen))
        return NULL;
    struct mta_tls_ctx *t = calloc(1, sizeof(*t));
    if (!t || !(t->ctx = SSL_CTX_new(TLS_client_method())) || !ctx_common(t->ctx)) {
        openssl_reason(err, errlen, "TLS", "out of memory");
        goto err;
    }
    t->verify = verify;
    if (ca[0] && SSL_CTX_load_verify_locations(t->ctx, ca, NULL) != 1) {
        char what[1100];
        snprintf(what, sizeof(what), "mta.relay-tls-ca %s: no PEM certificate", ca);
        openssl_reason(err, errlen, what, "unreadable");
        goto err;
    }
    if (!ca[0] && verify && SSL_CTX_set_default_verify_paths(t->ctx) != 1) {
        openssl_reason(err, errlen, "the system's CA certificates", "unreadable");
        goto err;
    }
    SSL_CTX_set_verify(t->ctx, verify ? SSL_VERIFY_PEER : SSL_VERIFY_NONE, NULL);
    X509_VERIFY_PARAM_set_hostflags(SSL_CTX_get0_param(t->ctx),
                                    X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
    return t;
err:
    mta_tls_ctx_free(t);
    ERR_clear_error();
    return NULL;
}

void mta_tls_ctx_free(struct mta_tls_ctx *t)
{
    if (!t)
        return;
    SSL_CTX_free(t->ctx); /* sessions still open keep their reference */
    free(t);
}

/* --- connections ------------------------------------------------------------ */

static struct mta_tls *conn_new(struct mta_tls_ctx *ctx, int fd)
{
    struct mta_tls *t = calloc(1, sizeof(*t));
    if (!t)
        return NULL;
    ERR_clear_error();
    if (!(t->ssl = SSL_new(ctx->ctx)) || SSL_set_fd(t->ssl, fd) != 1) {
        SSL_free(t->ssl);
        free(t);
        ERR_clear_error();
        return NULL;
    }
    return t;
}

static void up(struct mta_tls *t)
{
    t->up = true;
    const char *v = tls_version_name((uint16_t)SSL_version(t->ssl), t->version,
                                     sizeof(t->version));
    if (v != t->version)
        snprintf(t->version, sizeof(t->version), "%s", v);
}

struct mta_tls *mta_tls_accept(struct mta_tls_ctx *ctx, int fd)
{
    struct mta_tls *t = conn_new(ctx, fd);
    if (t)
        SSL_set_accept_state(t->ssl);
    return t;
}

enum mta_tls_rc mta_tls_handshake(struct mta_tls *t)
{
    ERR_clear_error();
    errno = 0;
    int r = SSL_do_handshake(t->ssl);
    if (r == 1) {
        up(t);
        return MTA_TLS_OK;
    }
    return result(t, r, "TLS handshake");
}

static bool is_address(const char *peer)
{
    unsigned char a[16];
    return inet_pton(AF_INET, peer, a) == 1 || inet_pton(AF_INET6, peer, a) == 1;
}

struct mta_tls *mta_tls_connect(struct mta_tls_ctx *ctx, int fd, const char *peer,
                                int timeout_ms, char *err, size_t errlen)
{
    struct mta_tls *t = conn_new(ctx, fd);
    if (!t) {
        snprintf(err, errlen, "TLS: out of memory");
        return NULL;
    }
    SSL_set_connect_state(t->ssl);
    bool addr = is_address(peer);
    if (!addr) /* RFC 6066: a name, never an address */
        SSL_set_tlsext_host_name(t->ssl, peer);
    if (ctx->verify) {
        int ok = addr ? X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(t->ssl), peer)
                      : SSL_set1_host(t->ssl, peer);
        if (ok != 1) {
            snprintf(err, errlen, "TLS: cannot check the name %s", peer);
            mta_tls_close(t);
            return NULL;
        }
    }
    /* the handshake non-blocking under poll(), so a next hop that stalls
     * cannot hold the delivery thread past the deadline */
    int fl = fcntl(fd, F_GETFL);
    if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) != 0) {
        snprintf(err, errlen, "TLS: %s", strerror(errno));
        mta_tls_close(t);
        return NULL;
    }
    uint64_t end = mono_usec() + (uint64_t)timeout_ms * 1000u;
    enum mta_tls_rc rc;
    while ((rc = mta_tls_handshake(t)) == MTA_TLS_WANT_READ || rc == MTA_TLS_WANT_WRITE) {
        uint64_t now = mono_usec();
        struct pollfd p = { .fd = fd, .events = rc == MTA_TLS_WANT_READ ? POLLIN : POLLOUT };
        int n = now < end ? poll(&p, 1, (int)((end - now + 999) / 1000)) : 0;
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            snprintf(t->err, sizeof(t->err), "TLS handshake: %s within %d s",
                     n < 0 ? strerror(errno) : "not finished", timeout_ms / 1000);
            t->fatal = true;
            rc = MTA_TLS_ERROR;
            break;
        }
    }
    if (fcntl(fd, F_SETFL, fl) != 0 && rc == MTA_TLS_OK) {
        snprintf(t->err, sizeof(t->err), "TLS: %s", strerror(errno));
        rc = MTA_TLS_ERROR;
    }
    if (rc != MTA_TLS_OK) {
        snprintf(err, errlen, "%s", t->err);
        mta_tls_close(t);
        return NULL;
    }
    t->verified = ctx->verify && SSL_get0_peer_certificate(t->ssl) &&
                  SSL_get_verify_result(t->ssl) == X509_V_OK;
    if (ctx->verify && !t->verified) { /* SSL_VERIFY_PEER should have failed it */
        snprintf(err, errlen, "TLS: the next hop's certificate was not verified");
        mta_tls_close(t);
        return NULL;
    }
    return t;
}

enum mta_tls_rc mta_tls_read(struct mta_tls *t, void *buf, size_t n, size_t *done)
{
    *done = 0;
    ERR_clear_error();
    errno = 0;
    int r = SSL_read_ex(t->ssl, buf, n, done);
    return r == 1 ? MTA_TLS_OK : result(t, r, "TLS read");
}

enum mta_tls_rc mta_tls_write(struct mta_tls *t, const void *buf, size_t n, size_t *done)
{
    *done = 0;
    ERR_clear_error();
    errno = 0;
    int r = SSL_write_ex(t->ssl, buf, n, done);
    return r == 1 ? MTA_TLS_OK : result(t, r, "TLS write");
}

bool mta_tls_pending(const struct mta_tls *t) { return SSL_pending(t->ssl) > 0; }
const char *mta_tls_version(const struct mta_tls *t) { return t->version; }
bool mta_tls_verified(const struct mta_tls *t) { return t->verified; }
const char *mta_tls_error(const struct mta_tls *t) { return t->err; }

const char *mta_tls_cipher(const struct mta_tls *t)
{
    const SSL_CIPHER *c = SSL_get_current_cipher(t->ssl);
    const char *name = c ? SSL_CIPHER_standard_name(c) : NULL;
    return name ? name : c ? SSL_CIPHER_get_name(c) : "";
}

void mta_tls_close(struct mta_tls *t)
{
    if (!t)
        return;
    if (t->up && !t->fatal) {
        ERR_clear_error();
        (void)SSL_shutdown(t->ssl); /* close_notify, not waiting for the peer's */
    }
    SSL_free(t->ssl);
    ERR_clear_error();
    free(t);
}
