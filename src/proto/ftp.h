/* ftp.h -- the FTP control channel (RFC 959, RFC 2428, RFC 4217) over a
 * reassembled TCP stream.
 *
 * Reads the client's commands (any verb; the ones detectors care about are
 * recognised: USER, PASS, STOR, STOU, APPE, RETR, LIST, NLST, CWD, PORT,
 * EPRT, PASV, EPSV, AUTH, QUIT, ...) and the server's replies, multi-line
 * ones too ("123-" ... "123 "), and pairs every command with its replies in
 * order, so pipelined commands are safe: a bounded queue holds the commands
 * waiting for an answer. A preliminary reply (1yz) stays with its command
 * until the final one (2yz-5yz) completes the transaction. The data
 * connection a transaction announces is parsed: PORT and EPRT arguments,
 * the 227 reply to PASV and the 229 reply to EPSV. After a 234 reply to
 * AUTH TLS/SSL the channel is TLS and parsing stops (the TLS probe reads
 * it).
 *
 * This file owns the control-channel state of one flow. It never stores a
 * password: a PASS argument is noted only as "a password crossed in clear"
 * and the bytes of its line are wiped as soon as the line is read. It never
 * follows data connections, never writes output, never allocates after
 * ftp_state_new().
 */
#ifndef NIGHTJAR_FTP_H
#define NIGHTJAR_FTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define FTP_LINE_MAX 1024       /* bytes of one line kept, each direction */
#define FTP_VERB_MAX 16         /* bytes of a command verb kept */
#define FTP_ARG_MAX 512         /* bytes of a command argument kept */
#define FTP_USER_MAX 128        /* bytes of the USER name kept */
#define FTP_REPLY_LINES 16      /* reply lines kept per transaction */
#define FTP_REPLY_LINE_MAX 256  /* bytes of one reply line kept */
#define FTP_PENDING_MAX 16      /* commands waiting for their reply */

/* The commands told apart; every other verb is FTP_CMD_OTHER (and kept as
 * sent in ftp_tx.command). */
#define FTP_COMMANDS(X) \
    X(USER) X(PASS) X(ACCT) X(STOR) X(STOU) X(APPE) X(RETR) X(LIST) \
    X(NLST) X(MLSD) X(CWD) X(CDUP) X(PORT) X(EPRT) X(PASV) X(EPSV) \
    X(AUTH) X(REIN) X(QUIT) X(ABOR) X(DELE) X(RNFR) X(RNTO) X(MKD) X(RMD)

enum ftp_cmd {
    FTP_CMD_OTHER = 0,
#define FTP_CMD_ENUM(n) FTP_CMD_##n,
    FTP_COMMANDS(FTP_CMD_ENUM)
#undef FTP_CMD_ENUM
    FTP_CMD_COUNT
};

/* The data connection a transaction announced. */
struct ftp_data_chan {
    uint8_t ip_version;         /* 4 or 6; 0: no address in the announcement */
    bool server_addr;           /* EPSV: the control connection's server
                                 * address (ip_version 0, addr unset) */
    bool active;                /* PORT/EPRT: the server connects to it */
    uint8_t addr[16];           /* network order; IPv4 in the first 4 */
    uint16_t port;              /* 0: nothing announced */
};

struct ftp_tx {
    uint64_t id;                /* transactions of the flow, from 0 */
    uint64_t start_usec;        /* the command */
    uint64_t end_usec;          /* its final reply (0: none) */
    enum ftp_cmd cmd;
    char command[FTP_VERB_MAX]; /* the verb, upper-cased */
    char arg[FTP_ARG_MAX];      /* the argument; always "" for PASS */
    bool arg_truncated;
    bool password_in_clear;     /* PASS with an argument (never kept) */
    bool reply_received;        /* a final reply completed it */
    bool queue_full;            /* reported unanswered: the queue was full */
    uint16_t reply_code;        /* the final reply (0: none) */
    uint16_t prelim_code;       /* a 1yz reply before it (0: none) */
    /* the lines of its replies, preliminary and final, in order: the code
     * removed, codes[i] = 0 for a line without one (inside a multi-line
     * reply); lines[0] is the first reply line */
    unsigned n_lines;
    unsigned lines_over_cap;    /* lines beyond FTP_REPLY_LINES, not kept */
    bool reply_truncated;       /* a line cut, or lines not kept */
    uint16_t codes[FTP_REPLY_LINES];
    char lines[FTP_REPLY_LINES][FTP_REPLY_LINE_MAX];
    bool logged_in;             /* the session had a 230/232 login by then */
    char user[FTP_USER_MAX];    /* the session's last USER name */
    struct ftp_data_chan data;  /* PORT/EPRT argument, 227/229 reply */
};

#define FTP_ERRORS(X) \
    X(line_truncated) X(arg_truncated) X(reply_lines_over_cap) \
    X(pending_over_cap) X(not_ftp) X(bad_command) X(bad_reply) \
    X(reply_without_command) X(bad_data_address) X(gaps)

struct ftp_stats {
    uint64_t commands, replies, transactions, unanswered, logins;
    uint64_t passwords_in_clear, uploads, downloads, tls_upgrades;
#define FTP_STAT_FIELD(n) uint64_t n;
    FTP_ERRORS(FTP_STAT_FIELD)
#undef FTP_STAT_FIELD
};

struct ftp_callbacks {
    /* A transaction completed (its final reply), or is given up on
     * (queue full, gap, end of the flow: reply_received false). Nothing
     * is reported before the server has sent one well-formed reply: a
     * stream whose other side never answers like FTP (IRC also says
     * "USER") is not taken for FTP. */
    void (*tx_done)(void *ctx, const struct ftp_tx *tx);
};

struct ftp_state;

struct ftp_state *ftp_state_new(void);
/* Wipes and frees. */
void ftp_state_free(struct ftp_state *s);
/* Back to a new session (wiped). */
void ftp_state_reset(struct ftp_state *s);
size_t ftp_state_size(void);

/* dir 0: client bytes, 1: server bytes, each direction in order. Returns
 * false once the stream is no longer parsed (not FTP, or TLS after AUTH). */
bool ftp_feed(struct ftp_state *s, int dir, const uint8_t *data, size_t len,
              uint64_t now_usec, const struct ftp_callbacks *cb, void *ctx,
              struct ftp_stats *st);
/* Bytes of direction dir were lost: which reply answers which command can
 * no longer be known, so the commands waiting are reported unanswered and
 * parsing stops (as SMTP does). */
void ftp_gap(struct ftp_state *s, int dir, const struct ftp_callbacks *cb,
             void *ctx, struct ftp_stats *st);
/* The flow ended: commands still waiting are reported unanswered. */
void ftp_finish(struct ftp_state *s, const struct ftp_callbacks *cb,
                void *ctx, struct ftp_stats *st);

/* "USER", "STOR", ...; "" for FTP_CMD_OTHER. */
const char *ftp_cmd_name(enum ftp_cmd c);

/* Parsers of the announcements, for tests and tools: "h1,h2,h3,h4,p1,p2"
 * anywhere in s (PORT argument, 227 reply), "|af|addr|port|" with any
 * delimiter (EPRT), "(|||port|)" (229 reply). True when well formed. */
bool ftp_parse_hostport(const char *s, struct ftp_data_chan *d);
bool ftp_parse_eprt(const char *s, struct ftp_data_chan *d);
bool ftp_parse_epsv(const char *s, struct ftp_data_chan *d);

#endif
