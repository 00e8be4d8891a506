/* smtp.h -- SMTP (RFC 5321) over a reassembled TCP stream.
 *
 * Reads the client's commands and the server's replies (multi-line ones
 * too), pairs them in order (PIPELINING), and follows each mail
 * transaction: HELO/EHLO, MAIL FROM, RCPT TO, then the message after DATA
 * (dot-unstuffed, up to the end-of-data line) or BDAT chunks (RFC 3030).
 * The message is kept, up to a cap, for the MIME parser. AUTH is noted by
 * mechanism only: the lines that carry credentials are skipped, never
 * stored. After a 220 reply to STARTTLS the stream is TLS and parsing
 * stops. A transaction is reported once, when the server answers the end
 * of its message, when a new one starts, or when the flow ends.
 *
 * This file parses SMTP; it never parses the message, never writes output.
 */
#ifndef NIGHTJAR_SMTP_H
#define NIGHTJAR_SMTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SMTP_ADDR_MAX 256
#define SMTP_MAX_RCPT 32
#define SMTP_LINE_MAX 1024

struct smtp_tx {
    uint64_t start_usec;
    char helo[SMTP_ADDR_MAX];
    char mail_from[SMTP_ADDR_MAX];
    unsigned n_rcpt, rcpt_over_cap;
    char rcpt_to[SMTP_MAX_RCPT][SMTP_ADDR_MAX];
    char auth_mech[32];         /* mechanism, never the credentials */
    bool starttls;
    bool has_message;
    bool message_truncated;     /* longer than the cap */
    bool message_complete;      /* end of data seen */
    uint64_t message_bytes;     /* all of it, kept or not */
    uint16_t last_reply;        /* the reply to the end of the message */
    uint16_t rcpt_rejected;     /* RCPT TO answered with 4xx/5xx */
};

#define SMTP_ERRORS(X) \
    X(line_truncated) X(message_over_cap) X(not_smtp) X(bad_reply) \
    X(pipeline_over_cap)

struct smtp_stats {
    uint64_t commands, replies, transactions, messages;
#define SMTP_STAT_FIELD(n) uint64_t n;
    SMTP_ERRORS(SMTP_STAT_FIELD)
#undef SMTP_STAT_FIELD
};

struct smtp_callbacks {
    /* A transaction ended; msg is its message (len bytes kept), or NULL. */
    void (*tx_done)(void *ctx, const struct smtp_tx *tx, const uint8_t *msg,
                    size_t len);
};

struct smtp_state;

struct smtp_state *smtp_state_new(void);
void smtp_state_free(struct smtp_state *s);
/* Back to a new session, keeping the message buffer. */
void smtp_state_reset(struct smtp_state *s);
size_t smtp_state_size(void);

/* Returns false once the stream is no longer parsed (STARTTLS, not SMTP). */
bool smtp_feed(struct smtp_state *s, int dir, const uint8_t *data,
               size_t len, uint64_t now_usec, size_t message_max,
               const struct smtp_callbacks *cb, void *ctx,
               struct smtp_stats *st);
void smtp_gap(struct smtp_state *s, int dir);
void smtp_finish(struct smtp_state *s, const struct smtp_callbacks *cb,
                 void *ctx, struct smtp_stats *st);

#endif
