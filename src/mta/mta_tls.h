/* mta_tls.h -- nightjar-mta's TLS (STARTTLS, RFC 3207) over OpenSSL: the
 * two contexts and one connection's TLS, for the server and the delivery
 * thread alike.
 *
 * The server's context holds mta.tls-cert and mta.tls-key (PEM: the
 * certificate, then its chain; the private key), checked against each
 * other at start so a wrong file is an error before the first session.
 * The delivery client's context verifies the next hop when asked
 * (mta.relay-tls-verify: the chain against mta.relay-tls-ca or the
 * system's CAs, and the name the relay was given as -- its DNS name or its
 * address). Both speak TLS 1.2 and 1.3 only, with OpenSSL's default cipher
 * lists, no compression and no renegotiation.
 *
 * A connection is a socket the caller owns, handed over after the
 * cleartext "220 Ready to start TLS": mta_tls_accept() for the server's
 * non-blocking sockets, driven by the event loop through
 * mta_tls_handshake() (each step says whether it waits to read or to
 * write); mta_tls_connect() for the delivery thread's blocking socket, its
 * whole handshake bounded by a deadline whatever the peer does. Reads and
 * writes then go through mta_tls_read()/mta_tls_write(), which say the
 * same as the handshake; a blocking socket whose SO_RCVTIMEO/SO_SNDTIMEO
 * expire reads as MTA_TLS_WANT_READ/WRITE, which its caller takes for a
 * failure. Nothing the caller read from the socket before the handshake
 * is ever given to TLS (OpenSSL reads the socket itself), which is what
 * keeps cleartext pipelined after STARTTLS out of the session
 * (CVE-2011-0411): the caller drops its own buffer.
 *
 * This file owns the OpenSSL objects and frees them on every path; it
 * never speaks SMTP, never logs, and never closes the socket.
 */
#ifndef NIGHTJAR_MTA_TLS_H
#define NIGHTJAR_MTA_TLS_H

#include <stdbool.h>
#include <stddef.h>

struct mta_tls_ctx;
struct mta_tls;

/* The server's context from a PEM certificate (chain) and key; NULL with
 * err naming the file and OpenSSL's reason. An expired certificate is
 * taken, with a warning in warn (else warn[0] is 0). */
struct mta_tls_ctx *mta_tls_server_new(const char *cert, const char *key,
                                       char *warn, size_t warnlen,
                                       char *err, size_t errlen);
/* The delivery client's context. verify: the next hop's chain and name
 * are checked; ca: a PEM file of trusted CAs ("" the system's). NULL with
 * err when ca cannot be read. */
struct mta_tls_ctx *mta_tls_client_new(bool verify, const char *ca,
                                       char *err, size_t errlen);
void mta_tls_ctx_free(struct mta_tls_ctx *ctx);

enum mta_tls_rc {
    MTA_TLS_OK,
    MTA_TLS_WANT_READ,      /* try again when the socket is readable */
    MTA_TLS_WANT_WRITE,     /* ... writable */
    MTA_TLS_CLOSED,         /* the peer closed (close_notify or EOF) */
    MTA_TLS_ERROR,          /* mta_tls_error() says what */
};

/* Server side on a non-blocking socket; the handshake is not started.
 * NULL when out of memory. */
struct mta_tls *mta_tls_accept(struct mta_tls_ctx *ctx, int fd);
/* One step of the server's handshake: OK once it is complete. */
enum mta_tls_rc mta_tls_handshake(struct mta_tls *t);

/* Client side on a blocking socket: the whole handshake, within
 * timeout_ms, with SNI and (when the context verifies) the name or
 * address peer checked. NULL with err on any failure. */
struct mta_tls *mta_tls_connect(struct mta_tls_ctx *ctx, int fd, const char *peer,
                                int timeout_ms, char *err, size_t errlen);

/* Up to n bytes; *done says how many moved (only with MTA_TLS_OK). */
enum mta_tls_rc mta_tls_read(struct mta_tls *t, void *buf, size_t n, size_t *done);
enum mta_tls_rc mta_tls_write(struct mta_tls *t, const void *buf, size_t n,
                              size_t *done);
/* Bytes decrypted and waiting inside TLS (the socket may be empty). */
bool mta_tls_pending(const struct mta_tls *t);

/* The negotiated version in the sensor's words ("TLS 1.3") and the
 * cipher's standard name ("TLS_AES_256_GCM_SHA384"). */
const char *mta_tls_version(const struct mta_tls *t);
const char *mta_tls_cipher(const struct mta_tls *t);
/* The next hop's certificate was checked (chain and name) and passed. */
bool mta_tls_verified(const struct mta_tls *t);
/* Why the last call failed, one line. */
const char *mta_tls_error(const struct mta_tls *t);

/* Sends close_notify when the session is up (without waiting for the
 * peer's) and frees everything; the socket stays open. NULL is fine. */
void mta_tls_close(struct mta_tls *t);

#endif
