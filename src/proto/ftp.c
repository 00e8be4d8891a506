/* ftp.c -- FTP control-channel parser (see ftp.h).
 *
 * Owns one flow's FTP state: the line being assembled in each direction,
 * the queue of commands waiting for their replies and the lines of the
 * reply being read. Every buffer is a fixed array with an explicit length;
 * nothing is allocated after ftp_state_new(). It must never keep a PASS
 * argument: the line that carried it is wiped once read, and the password
 * is never copied anywhere, not even to the stack.
 */
#include "proto/ftp.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "util/line.h"
#include "util/text.h"

/* consecutive lines that are not FTP before the stream is given up on */
#define BAD_RUN_MAX 8

/* A command waiting for its final reply. */
struct pending {
    uint64_t id, start_usec;
    uint8_t cmd;                /* enum ftp_cmd */
    bool arg_truncated, password_in_clear;
    char verb[FTP_VERB_MAX];
    char arg[FTP_ARG_MAX];
    struct ftp_data_chan data;  /* PORT/EPRT */
};

/* The lines of the replies to the command at the head of the queue. */
struct reply_acc {
    unsigned n, over;
    unsigned final_start;       /* first line of the reply being read */
    bool truncated;
    uint16_t codes[FTP_REPLY_LINES];
    char lines[FTP_REPLY_LINES][FTP_REPLY_LINE_MAX];
};

struct ftp_state {
    struct ftp_tx tx;                     /* the one being reported */
    struct reply_acc acc;
    struct pending q[FTP_PENDING_MAX];
    unsigned q_head, q_count;
    unsigned dropped;           /* reported unqueued: their replies follow
                                 * those of the queue */
    uint64_t next_id;
    uint16_t prelim_code;       /* of the head */
    uint16_t multi_code;        /* a multi-line reply in progress */
    bool stopped;
    bool confirmed;             /* the server sent a well-formed reply */
    bool greeted;
    bool any_command;
    bool logged_in;
    bool cut[2];                /* the line in progress was truncated */
    unsigned bad_run[2];
    char user[FTP_USER_MAX];
    struct line lp[2];
    char line[2][FTP_LINE_MAX];
};

static const char *const cmd_names[FTP_CMD_COUNT] = {
    "",
#define FTP_CMD_NAME(n) #n,
    FTP_COMMANDS(FTP_CMD_NAME)
#undef FTP_CMD_NAME
};

const char *ftp_cmd_name(enum ftp_cmd c)
{
    return (unsigned)c < FTP_CMD_COUNT ? cmd_names[c] : "";
}

struct ftp_state *ftp_state_new(void)
{
    return calloc(1, sizeof(struct ftp_state));
}

size_t ftp_state_size(void) { return sizeof(struct ftp_state); }

void ftp_state_reset(struct ftp_state *s)
{
    explicit_bzero(s, sizeof(*s));
}

void ftp_state_free(struct ftp_state *s)
{
    if (!s)
        return;
    explicit_bzero(s, sizeof(*s));
    free(s);
}

/* --- data-connection announcements ------------------------------------ */

/* Up to 3 digits as a number 0..255; *p moves past them. -1 if none. */
static int byte_num(const char **p)
{
    const char *s = *p;
    int v = 0, n = 0;
    while (n < 3 && isdigit((unsigned char)s[n]))
        v = v * 10 + (s[n++] - '0');
    if (!n || isdigit((unsigned char)s[n]) || v > 255)
        return -1;
    *p = s + n;
    return v;
}

static bool hostport_at(const char *s, struct ftp_data_chan *d)
{
    int v[6];
    for (int i = 0; i < 6; i++) {
        if (i && *s++ != ',')
            return false;
        while (*s == ' ')
            s++;
        if ((v[i] = byte_num(&s)) < 0)
            return false;
    }
    uint16_t port = (uint16_t)(v[4] * 256 + v[5]);
    if (!port)
        return false;
    memset(d, 0, sizeof(*d));
    d->ip_version = 4;
    for (int i = 0; i < 4; i++)
        d->addr[i] = (uint8_t)v[i];
    d->port = port;
    return true;
}

bool ftp_parse_hostport(const char *s, struct ftp_data_chan *d)
{
    for (const char *p = s; *p; p++)
        if (isdigit((unsigned char)*p) && (p == s || !isdigit((unsigned char)p[-1])) &&
            hostport_at(p, d))
            return true;
    return false;
}

static bool port_num(const char **p, char delim, uint16_t *port)
{
    const char *s = *p;
    unsigned long v = 0;
    int n = 0;
    while (n < 6 && isdigit((unsigned char)s[n]))
        v = v * 10 + (unsigned long)(s[n++] - '0');
    if (!n || s[n] != delim || v == 0 || v > 65535)
        return false;
    *port = (uint16_t)v;
    *p = s + n + 1;
    return true;
}

/* EPRT <d><af><d><address><d><port><d> (RFC 2428 section 2) */
bool ftp_parse_eprt(const char *s, struct ftp_data_chan *d)
{
    while (*s == ' ')
        s++;
    char delim = *s;
    if (delim < 33 || delim > 126 || isdigit((unsigned char)delim))
        return false;
    s++;
    int af = *s == '1' ? 4 : *s == '2' ? 6 : 0;
    if (!af || s[1] != delim)
        return false;
    s += 2;
    const char *end = strchr(s, delim);
    char addr[64];
    if (!end || (size_t)(end - s) >= sizeof(addr))
        return false;
    text_copy(addr, sizeof(addr), s, (size_t)(end - s));
    struct ftp_data_chan r;
    memset(&r, 0, sizeof(r));
    if (inet_pton(af == 4 ? AF_INET : AF_INET6, addr, r.addr) != 1)
        return false;
    s = end + 1;
    if (!port_num(&s, delim, &r.port))
        return false;
    r.ip_version = (uint8_t)af;
    *d = r;
    return true;
}

/* 229 Entering Extended Passive Mode (<d><d><d><port><d>) */
bool ftp_parse_epsv(const char *s, struct ftp_data_chan *d)
{
    const char *p = strchr(s, '(');
    p = p ? p + 1 : s;
    while (*p == ' ')
        p++;
    char delim = *p;
    if (delim < 33 || delim > 126 || isdigit((unsigned char)delim) ||
        p[1] != delim || p[2] != delim)
        return false;
    p += 3;
    struct ftp_data_chan r;
    memset(&r, 0, sizeof(r));
    if (!port_num(&p, delim, &r.port))
        return false;
    r.server_addr = true;
    *d = r;
    return true;
}

/* --- transactions ------------------------------------------------------ */

static void acc_clear(struct reply_acc *a)
{
    a->n = a->over = a->final_start = 0;
    a->truncated = false;
}

static void acc_add(struct reply_acc *a, uint16_t code, const char *text,
                    size_t n, bool cut, struct ftp_stats *st)
{
    if (a->n == FTP_REPLY_LINES) {
        if (!a->over++)
            st->reply_lines_over_cap++;
        a->truncated = true;
        return;
    }
    a->codes[a->n] = code;
    text_copy(a->lines[a->n], FTP_REPLY_LINE_MAX, text, n);
    if (cut || n >= FTP_REPLY_LINE_MAX)
        a->truncated = true;
    a->n++;
}

static void report(struct ftp_state *s, const struct pending *p, bool with_acc,
                   bool queue_full, uint16_t code, uint64_t now,
                   const struct ftp_callbacks *cb, void *ctx,
                   struct ftp_stats *st)
{
    struct ftp_tx *t = &s->tx;
    t->id = p->id;
    t->start_usec = p->start_usec;
    t->end_usec = code ? now : 0;
    t->cmd = (enum ftp_cmd)p->cmd;
    memcpy(t->command, p->verb, sizeof(t->command));
    memcpy(t->arg, p->arg, sizeof(t->arg));
    t->arg_truncated = p->arg_truncated;
    t->password_in_clear = p->password_in_clear;
    t->reply_received = code != 0;
    t->queue_full = queue_full;
    t->reply_code = code;
    t->prelim_code = with_acc ? s->prelim_code : 0;
    t->n_lines = t->lines_over_cap = 0;
    t->reply_truncated = false;
    if (with_acc) {
        t->n_lines = s->acc.n;
        t->lines_over_cap = s->acc.over;
        t->reply_truncated = s->acc.truncated;
        memcpy(t->codes, s->acc.codes, sizeof(t->codes[0]) * s->acc.n);
        memcpy(t->lines, s->acc.lines, sizeof(t->lines[0]) * s->acc.n);
    }
    t->logged_in = s->logged_in;
    memcpy(t->user, s->user, sizeof(t->user));
    t->data = p->data;
    st->transactions++;
    if (!code)
        st->unanswered++;
    cb->tx_done(ctx, t);
}

/* Every command still waiting is reported unanswered (the head with the
 * preliminary replies it had). */
static void flush(struct ftp_state *s, uint64_t now,
                  const struct ftp_callbacks *cb, void *ctx,
                  struct ftp_stats *st)
{
    for (unsigned i = 0; i < s->q_count && s->confirmed; i++)
        report(s, &s->q[(s->q_head + i) % FTP_PENDING_MAX], i == 0, false, 0,
               now, cb, ctx, st);
    s->q_head = s->q_count = 0;
    s->dropped = 0;
    s->prelim_code = s->multi_code = 0;
    acc_clear(&s->acc);
}

static enum ftp_cmd lookup(const char *verb)
{
    for (int c = 1; c < FTP_CMD_COUNT; c++)
        if (!strcmp(verb, cmd_names[c]))
            return (enum ftp_cmd)c;
    return FTP_CMD_OTHER;
}

static bool is_login(uint16_t code) { return code == 230 || code == 232; }

/* The effects of a command's final reply on the session. */
static void completed(struct ftp_state *s, struct pending *p, uint16_t code,
                      const char *last, struct ftp_stats *st)
{
    switch ((enum ftp_cmd)p->cmd) {
    case FTP_CMD_USER:
        s->logged_in = is_login(code);
        st->logins += s->logged_in;
        break;
    case FTP_CMD_PASS:
    case FTP_CMD_ACCT:
        if (is_login(code)) {
            s->logged_in = true;
            st->logins++;
        } else if (code == 530) {
            s->logged_in = false;
        }
        break;
    case FTP_CMD_REIN:
        if (code < 300) {
            s->logged_in = false;
            s->user[0] = '\0';
        }
        break;
    case FTP_CMD_PASV:
    case FTP_CMD_EPSV: {
        if (code != (p->cmd == FTP_CMD_PASV ? 227 : 229))
            break;
        bool ok = false;
        /* the reply's own lines, or the line that ended it */
        for (unsigned i = s->acc.final_start; i < s->acc.n && !ok; i++)
            ok = p->cmd == FTP_CMD_PASV ? ftp_parse_hostport(s->acc.lines[i], &p->data)
                                        : ftp_parse_epsv(s->acc.lines[i], &p->data);
        if (!ok)
            ok = p->cmd == FTP_CMD_PASV ? ftp_parse_hostport(last, &p->data)
                                        : ftp_parse_epsv(last, &p->data);
        st->bad_data_address += !ok;
        break;
    }
    case FTP_CMD_STOR:
    case FTP_CMD_STOU:
    case FTP_CMD_APPE:
        st->uploads += code >= 200 && code < 300;
        break;
    case FTP_CMD_RETR:
        st->downloads += code >= 200 && code < 300;
        break;
    case FTP_CMD_AUTH:
        if (code == 234) {
            st->tls_upgrades++;
            s->stopped = true; /* TLS from here on: the TLS probe reads it */
        }
        break;
    default:
        break;
    }
}

/* A whole reply (its last line) with that code. */
static void reply_end(struct ftp_state *s, uint16_t code, const char *last,
                      uint64_t now, const struct ftp_callbacks *cb, void *ctx,
                      struct ftp_stats *st)
{
    st->replies++;
    s->confirmed = true;
    if (!s->greeted) {
        if (code == 120) { /* "ready in nnn minutes": a 220 follows */
            acc_clear(&s->acc);
            return;
        }
        s->greeted = true;
        if (code == 220) { /* the greeting, even if the client already spoke */
            acc_clear(&s->acc);
            return;
        }
    }
    if (!s->q_count) {
        if (s->dropped && code >= 200)
            s->dropped--; /* the answer to a command reported unqueued */
        else if (!s->dropped)
            st->reply_without_command++;
        acc_clear(&s->acc);
        return;
    }
    if (code < 200) { /* preliminary: the final reply is still to come */
        s->prelim_code = code;
        return;
    }
    struct pending *p = &s->q[s->q_head];
    completed(s, p, code, last, st);
    report(s, p, true, false, code, now, cb, ctx, st);
    s->q_head = (s->q_head + 1) % FTP_PENDING_MAX;
    s->q_count--;
    s->prelim_code = 0;
    acc_clear(&s->acc);
}

/* --- lines ------------------------------------------------------------- */

/* "123 text", "123-text" or "123": the code (100..599), else 0. */
static uint16_t reply_code(const char *l, size_t n)
{
    if (n < 3 || l[0] < '1' || l[0] > '5' || !isdigit((unsigned char)l[1]) ||
        !isdigit((unsigned char)l[2]) || (n > 3 && l[3] != ' ' && l[3] != '-'))
        return 0;
    return (uint16_t)((l[0] - '0') * 100 + (l[1] - '0') * 10 + (l[2] - '0'));
}

static bool server_line(struct ftp_state *s, const char *l, size_t n, bool cut,
                        uint64_t now, const struct ftp_callbacks *cb, void *ctx,
                        struct ftp_stats *st)
{
    uint16_t code = reply_code(l, n);
    size_t skip = code ? (n > 3 ? 4 : 3) : 0;
    if (s->multi_code) { /* inside a multi-line reply: any text goes */
        acc_add(&s->acc, code, l + skip, n - skip, cut, st);
        if (code == s->multi_code && (n == 3 || l[3] == ' ')) {
            s->multi_code = 0;
            reply_end(s, code, l + skip, now, cb, ctx, st);
        }
        return true;
    }
    if (!code) {
        st->bad_reply++;
        if (!s->confirmed || ++s->bad_run[1] > BAD_RUN_MAX) {
            st->not_ftp++;
            return false;
        }
        return true;
    }
    s->bad_run[1] = 0;
    s->acc.final_start = s->acc.n;
    acc_add(&s->acc, code, l + skip, n - skip, cut, st);
    if (n > 3 && l[3] == '-') {
        s->multi_code = code;
        return true;
    }
    reply_end(s, code, l + skip, now, cb, ctx, st);
    return true;
}

/* A command line: queued, or, with the queue full, reported at once. */
static void command(struct ftp_state *s, const char *l, size_t n, size_t vl,
                    bool cut, uint64_t now, const struct ftp_callbacks *cb,
                    void *ctx, struct ftp_stats *st)
{
    bool full = s->dropped || s->q_count == FTP_PENDING_MAX;
    struct pending local, *p = full ? &local
                                    : &s->q[(s->q_head + s->q_count) % FTP_PENDING_MAX];
    memset(p, 0, sizeof(*p));
    p->id = s->next_id++;
    p->start_usec = now;
    size_t k = vl < FTP_VERB_MAX - 1 ? vl : FTP_VERB_MAX - 1;
    for (size_t i = 0; i < k; i++)
        p->verb[i] = (char)toupper((unsigned char)l[i]);
    p->cmd = (uint8_t)lookup(p->verb);
    const char *arg = l + vl;
    size_t an = n - vl;
    if (an && *arg == ' ') {
        arg++;
        an--;
    }
    if (p->cmd == FTP_CMD_PASS) {
        /* only that one was sent; the caller wipes the line */
        p->password_in_clear = an > 0;
        st->passwords_in_clear += an > 0;
    } else {
        p->arg_truncated = cut || an >= FTP_ARG_MAX;
        st->arg_truncated += p->arg_truncated;
        text_copy(p->arg, sizeof(p->arg), arg, an);
    }
    switch ((enum ftp_cmd)p->cmd) {
    case FTP_CMD_USER:
        text_copy(s->user, sizeof(s->user), arg, an);
        break;
    case FTP_CMD_PORT:
    case FTP_CMD_EPRT:
        if (p->cmd == FTP_CMD_PORT ? ftp_parse_hostport(p->arg, &p->data)
                                   : ftp_parse_eprt(p->arg, &p->data))
            p->data.active = true;
        else
            st->bad_data_address++;
        break;
    default:
        break;
    }
    if (!full) {
        s->q_count++;
        return;
    }
    st->pending_over_cap++;
    s->dropped++;
    if (s->confirmed)
        report(s, p, false, true, 0, now, cb, ctx, st);
    explicit_bzero(&local, sizeof(local));
}

static bool client_line(struct ftp_state *s, const char *l, size_t n, bool cut,
                        uint64_t now, const struct ftp_callbacks *cb, void *ctx,
                        struct ftp_stats *st)
{
    /* Telnet commands before a command (IAC IP, IAC DM before ABOR) */
    while (n >= 2 && (uint8_t)l[0] == 0xff) {
        size_t k = (uint8_t)l[1] >= 0xfb && (uint8_t)l[1] <= 0xfe ? 3 : 2;
        if (k > n)
            k = n;
        l += k;
        n -= k;
    }
    if (!n)
        return true; /* an empty line: nothing to answer */
    size_t vl = 0;
    while (vl < n && l[vl] != ' ')
        vl++;
    bool word = vl >= 3 && vl <= 4;
    for (size_t i = 0; i < vl && word; i++)
        word = isalpha((unsigned char)l[i]);
    if (!word) {
        st->bad_command++;
        if (!s->any_command || ++s->bad_run[0] > BAD_RUN_MAX) {
            st->not_ftp++;
            return false;
        }
        /* still queued: the server answers it ("500 Unknown command") */
    } else {
        s->any_command = true;
        s->bad_run[0] = 0;
    }
    st->commands++;
    command(s, l, n, vl, cut, now, cb, ctx, st);
    return true;
}

bool ftp_feed(struct ftp_state *s, int dir, const uint8_t *d, size_t len,
              uint64_t now, const struct ftp_callbacks *cb, void *ctx,
              struct ftp_stats *st)
{
    dir = dir ? 1 : 0;
    while (len && !s->stopped) {
        size_t used, n;
        bool cut;
        bool done = line_take(&s->lp[dir], s->line[dir], FTP_LINE_MAX, d, len,
                              &used, &cut, &n);
        d += used;
        len -= used;
        if (cut) {
            st->line_truncated++;
            s->cut[dir] = true;
        }
        if (!done)
            continue;
        bool was_cut = s->cut[dir];
        s->cut[dir] = false;
        bool ok = dir ? server_line(s, s->line[1], n, was_cut, now, cb, ctx, st)
                      : client_line(s, s->line[0], n, was_cut, now, cb, ctx, st);
        if (!dir) /* a PASS line, among others: gone once read */
            explicit_bzero(s->line[0], n + 2 < FTP_LINE_MAX ? n + 2 : FTP_LINE_MAX);
        if (!ok) {
            s->stopped = true;
            flush(s, now, cb, ctx, st);
        }
    }
    return !s->stopped;
}

void ftp_gap(struct ftp_state *s, int dir, const struct ftp_callbacks *cb,
             void *ctx, struct ftp_stats *st)
{
    dir = dir ? 1 : 0;
    st->gaps++;
    explicit_bzero(s->line[dir], sizeof(s->line[dir]));
    s->lp[dir].len = 0;
    if (s->stopped)
        return;
    flush(s, 0, cb, ctx, st);
    s->stopped = true;
}

void ftp_finish(struct ftp_state *s, const struct ftp_callbacks *cb,
                void *ctx, struct ftp_stats *st)
{
    flush(s, 0, cb, ctx, st);
}
