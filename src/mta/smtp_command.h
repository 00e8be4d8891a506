/* smtp_command.h -- the server side of SMTP (RFC 5321) as nightjar-mta
 * reads it: one command line at a time, strictly, with the reply code a
 * refusal must carry, and the message after DATA with its end found and
 * its dot-stuffing undone.
 *
 * smtp_command_parse() reads a complete command line (CRLF removed):
 * the verb, HELO/EHLO's domain, MAIL FROM's reverse-path and its ESMTP
 * parameters (SIZE, BODY=7BIT/8BITMIME, SMTPUTF8), RCPT TO's forward-path.
 * A refusal returns the code to send (500 unknown command, 501 bad
 * arguments, 553 a path that is no address, 555 an unknown parameter) and
 * its enhanced status code (RFC 3463) and words. Paths are checked for
 * their shape (local@domain, quoted local parts, address literals, the
 * null reverse-path), not for existence.
 *
 * The DATA reader takes the message as it arrives in pieces: lines of at
 * most SMTP_DATA_LINE_MAX bytes (RFC 5321 4.5.3.1.6: 1000 with CRLF),
 * "." alone ending it (".\r\n", or ".\n" from a sloppy client), the
 * leading dot of any other line deleted (RFC 5321 4.5.2: dot-stuffing),
 * a bare LF kept as it came. Each line's bytes go to the caller unstuffed, so what is
 * stored is the message itself.
 *
 * Pure functions over caller buffers: never allocates, never does I/O.
 */
#ifndef NIGHTJAR_SMTP_COMMAND_H
#define NIGHTJAR_SMTP_COMMAND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define SMTP_COMMAND_LINE_MAX 512   /* RFC 5321 4.5.3.1.4, with CRLF */
#define SMTP_PATH_MAX 256           /* RFC 5321 4.5.3.1.3 */
#define SMTP_DOMAIN_MAX 256
#define SMTP_DATA_LINE_MAX 1000     /* RFC 5321 4.5.3.1.6, with CRLF */

enum smtp_verb {
    SMTP_V_UNKNOWN, SMTP_V_HELO, SMTP_V_EHLO, SMTP_V_MAIL, SMTP_V_RCPT,
    SMTP_V_DATA, SMTP_V_RSET, SMTP_V_NOOP, SMTP_V_QUIT, SMTP_V_VRFY,
    SMTP_V_HELP, SMTP_V_STARTTLS, SMTP_V_BDAT, SMTP_V_AUTH
};

struct smtp_command {
    enum smtp_verb verb;
    char domain[SMTP_DOMAIN_MAX];   /* HELO/EHLO */
    char path[SMTP_PATH_MAX];       /* MAIL FROM / RCPT TO, without <> */
    bool null_path;                 /* MAIL FROM:<> (bounces) */
    bool has_size;
    uint64_t size;                  /* SIZE= */
    bool body_8bit;                 /* BODY=8BITMIME */
    bool smtputf8;                  /* SMTPUTF8 */
};

/* Why a command was refused: the reply code, RFC 3463's status, words. */
struct smtp_refusal {
    int code;
    const char *status;             /* "5.5.2" */
    char text[160];
};

/* 0, or the reply code of the refusal (r filled). utf8: the transaction
 * declared SMTPUTF8 (RFC 6531), so RCPT TO may carry UTF-8 addresses. */
int smtp_command_parse(const char *line, size_t len, bool utf8,
                       struct smtp_command *c, struct smtp_refusal *r);

/* The verb's name, upper case ("MAIL"). */
const char *smtp_verb_name(enum smtp_verb v);

/* The message after DATA. */
struct smtp_data {
    bool at_line_start;
    bool done;                      /* the "." line was read */
    bool line_too_long;             /* a line passed SMTP_DATA_LINE_MAX */
    size_t line_len;                /* bytes of the line in progress */
    bool dot, dot_cr;               /* a line began "." (then "\r") */
    uint64_t bytes;                 /* message bytes handed out */
};

typedef void (*smtp_data_fn)(void *ctx, const uint8_t *d, size_t n);

void smtp_data_begin(struct smtp_data *s);
/* Reads d[0..n): message bytes go to fn (unstuffed). Returns the bytes
 * consumed: it stops right after the end-of-data line (s->done), so what
 * follows (a pipelined command) is the caller's. */
size_t smtp_data_feed(struct smtp_data *s, const uint8_t *d, size_t n,
                      smtp_data_fn fn, void *ctx);

#endif
