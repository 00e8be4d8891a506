/* smtp.c -- SMTP command/reply parser (see smtp.h). */
#include "proto/smtp.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "util/line.h"
#include "util/text.h"

enum cmd {
    CMD_OTHER, CMD_HELO, CMD_MAIL, CMD_RCPT, CMD_DATA, CMD_BDAT, CMD_RSET,
    CMD_QUIT, CMD_STARTTLS, CMD_AUTH, CMD_END_OF_DATA
};

#define PENDING_MAX 32

struct smtp_state {
    struct smtp_tx tx;
    bool tx_open, tx_logged;
    bool any_logged;            /* a transaction of this session was reported */
    bool replied;               /* the server has answered something */
    bool stopped;
    bool tls_next;              /* 220 to STARTTLS: TLS follows, unless the
                                 * capture holds the decrypted session */
    bool in_data;               /* client bytes are the message */
    bool in_auth;               /* client lines are credentials */
    bool line_start;            /* data: at the start of a line */
    uint64_t bdat_left;
    bool bdat_last;
    uint8_t pending[PENDING_MAX]; /* commands waiting for replies */
    unsigned p_head, p_count;
    uint8_t *msg;
    size_t msg_len, msg_cap;
    struct line lp[2];          /* the line in progress, each direction */
    char line[2][SMTP_LINE_MAX];
};

struct smtp_state *smtp_state_new(void)
{
    struct smtp_state *s = calloc(1, sizeof(*s));
    if (s)
        s->line_start = true;
    return s;
}

size_t smtp_state_size(void) { return sizeof(struct smtp_state); }

void smtp_state_reset(struct smtp_state *s)
{
    uint8_t *msg = s->msg;
    size_t cap = s->msg_cap;
    memset(s, 0, sizeof(*s));
    s->msg = msg;
    s->msg_cap = cap;
    s->line_start = true;
}

void smtp_state_free(struct smtp_state *s)
{
    if (!s)
        return;
    free(s->msg);
    free(s);
}

static void tx_end(struct smtp_state *s, const struct smtp_callbacks *cb,
                   void *ctx, struct smtp_stats *st)
{
    if (s->tx_open && !s->tx_logged &&
        (s->tx.mail_from[0] || s->tx.n_rcpt || s->tx.has_message)) {
        st->transactions++;
        s->any_logged = true;
        cb->tx_done(ctx, &s->tx, s->tx.has_message ? s->msg : NULL,
                    s->tx.has_message ? s->msg_len : 0);
    }
    s->tx_logged = true;
}

/* A new transaction keeps the session's HELO, AUTH and STARTTLS facts. */
static void tx_begin(struct smtp_state *s, uint64_t now,
                     const struct smtp_callbacks *cb, void *ctx,
                     struct smtp_stats *st)
{
    tx_end(s, cb, ctx, st);
    char helo[SMTP_ADDR_MAX], mech[32];
    memcpy(helo, s->tx.helo, sizeof(helo));
    memcpy(mech, s->tx.auth_mech, sizeof(mech));
    bool tls = s->tx.starttls;
    memset(&s->tx, 0, sizeof(s->tx));
    s->tx.starttls = tls;
    memcpy(s->tx.helo, helo, sizeof(helo));
    memcpy(s->tx.auth_mech, mech, sizeof(mech));
    s->tx.start_usec = now;
    s->tx_open = true;
    s->tx_logged = false;
    s->msg_len = 0;
}

static void push_cmd(struct smtp_state *s, enum cmd c, struct smtp_stats *st)
{
    if (s->p_count == PENDING_MAX) {
        st->pipeline_over_cap++;
        return;
    }
    s->pending[(s->p_head + s->p_count++) % PENDING_MAX] = (uint8_t)c;
}

static enum cmd pop_cmd(struct smtp_state *s)
{
    if (!s->p_count)
        return CMD_OTHER;
    enum cmd c = (enum cmd)s->pending[s->p_head];
    s->p_head = (s->p_head + 1) % PENDING_MAX;
    s->p_count--;
    return c;
}

/* "<a@b> SIZE=10" or "a@b": the address between the angle brackets. */
static void path_arg(const char *arg, char *out, size_t n)
{
    while (*arg == ' ')
        arg++;
    const char *lt = strchr(arg, '<');
    if (lt) {
        const char *gt = strchr(lt, '>');
        text_copy(out, n, lt + 1, gt ? (size_t)(gt - lt - 1) : strlen(lt + 1));
    } else {
        text_copy(out, n, arg, strcspn(arg, " "));
    }
}

static void message_append(struct smtp_state *s, const uint8_t *d, size_t n,
                           size_t max, struct smtp_stats *st)
{
    s->tx.message_bytes += n;
    size_t room = s->msg_len < max ? max - s->msg_len : 0;
    if (n > room) {
        if (!s->tx.message_truncated)
            st->message_over_cap++;
        s->tx.message_truncated = true;
        n = room;
    }
    if (!n)
        return;
    if (s->msg_len + n > s->msg_cap) {
        size_t cap = s->msg_cap ? s->msg_cap : 16384;
        while (cap < s->msg_len + n)
            cap *= 2;
        if (cap > max)
            cap = max;
        uint8_t *nb = realloc(s->msg, cap);
        if (!nb) {
            s->tx.message_truncated = true;
            return;
        }
        s->msg = nb;
        s->msg_cap = cap;
    }
    memcpy(s->msg + s->msg_len, d, n);
    s->msg_len += n;
}

static void data_done(struct smtp_state *s, struct smtp_stats *st)
{
    s->in_data = false;
    s->tx.message_complete = true;
    st->messages++;
    push_cmd(s, CMD_END_OF_DATA, st);
}

/* Client bytes while in DATA: lines, with "." alone ending the message
 * and a leading ".." standing for ".". */
static size_t data_bytes(struct smtp_state *s, const uint8_t *d, size_t len,
                         size_t max, struct smtp_stats *st)
{
    size_t *ll = &s->lp[0].len;
    char *line = s->line[0];
    size_t i = 0;
    while (i < len && s->in_data) {
        const uint8_t *lf = memchr(d + i, '\n', len - i);
        size_t n = lf ? (size_t)(lf - (d + i)) + 1 : len - i;
        size_t room = SMTP_LINE_MAX - *ll;
        if (n > room) { /* a long line: pass its start through */
            size_t off = (s->line_start && *ll && line[0] == '.') ? 1 : 0;
            message_append(s, (const uint8_t *)line + off, *ll - off, max, st);
            *ll = 0;
            s->line_start = false;
            message_append(s, d + i, n, max, st);
            if (lf)
                s->line_start = true;
            i += n;
            continue;
        }
        memcpy(line + *ll, d + i, n);
        *ll += n;
        i += n;
        if (!lf)
            break;
        bool end = s->line_start &&
                   ((*ll == 3 && !memcmp(line, ".\r\n", 3)) ||
                    (*ll == 2 && !memcmp(line, ".\n", 2)));
        if (end) {
            *ll = 0;
            data_done(s, st);
            break;
        }
        size_t off = (s->line_start && line[0] == '.') ? 1 : 0;
        message_append(s, (const uint8_t *)line + off, *ll - off, max, st);
        *ll = 0;
        s->line_start = true;
    }
    return i;
}

static enum cmd command(struct smtp_state *s, const char *l, uint64_t now,
                        const struct smtp_callbacks *cb, void *ctx,
                        struct smtp_stats *st)
{
    size_t vl = strcspn(l, " ");
    const char *arg = l + vl;
    if (*arg)
        arg++;
#define IS(v) (vl == strlen(v) && !strncasecmp(l, v, vl))
    if (IS("HELO") || IS("EHLO")) {
        text_copy(s->tx.helo, sizeof(s->tx.helo), arg, strcspn(arg, " "));
        return CMD_HELO;
    }
    if (IS("MAIL") && !strncasecmp(arg, "FROM:", 5)) {
        tx_begin(s, now, cb, ctx, st);
        path_arg(arg + 5, s->tx.mail_from, sizeof(s->tx.mail_from));
        return CMD_MAIL;
    }
    if (IS("RCPT") && !strncasecmp(arg, "TO:", 3)) {
        if (!s->tx_open)
            tx_begin(s, now, cb, ctx, st);
        if (s->tx.n_rcpt < SMTP_MAX_RCPT)
            path_arg(arg + 3, s->tx.rcpt_to[s->tx.n_rcpt++], SMTP_ADDR_MAX);
        else
            s->tx.rcpt_over_cap++;
        return CMD_RCPT;
    }
    if (IS("DATA")) {
        /* the message may follow before the 354 is seen (clients that do
         * not wait); a refusal of DATA takes it back */
        if (!s->tx_open)
            tx_begin(s, now, cb, ctx, st);
        s->in_data = true;
        s->line_start = true;
        s->lp[0].len = 0;
        s->tx.has_message = true;
        s->msg_len = 0;
        return CMD_DATA;
    }
    if (IS("BDAT")) {
        char *end;
        s->bdat_left = strtoull(arg, &end, 10);
        s->bdat_last = strcasestr(end, "LAST") != NULL;
        if (!s->tx_open)
            tx_begin(s, now, cb, ctx, st);
        s->tx.has_message = true;
        return CMD_BDAT;
    }
    if (IS("RSET")) {
        tx_end(s, cb, ctx, st);
        s->tx_open = false;
        return CMD_RSET;
    }
    if (IS("QUIT"))
        return CMD_QUIT;
    if (IS("STARTTLS"))
        return CMD_STARTTLS;
    if (IS("AUTH")) {
        text_copy(s->tx.auth_mech, sizeof(s->tx.auth_mech), arg,
                 strcspn(arg, " "));
        return CMD_AUTH;
    }
#undef IS
    return CMD_OTHER;
}

static bool looks_like_command(const char *l)
{
    size_t n = 0;
    while (isalpha((unsigned char)l[n]))
        n++;
    return n >= 4 && (l[n] == ' ' || l[n] == '\0');
}

/* A whole reply (the last line of a multi-line one). */
static bool reply(struct smtp_state *s, unsigned code,
                  const struct smtp_callbacks *cb, void *ctx,
                  struct smtp_stats *st)
{
    st->replies++;
    bool first = !s->replied;
    s->replied = true;
    if (first && code == 220)
        return true; /* the greeting, even if the client already spoke */
    if (s->in_auth && code == 334)
        return true; /* the client sends another credential line */
    s->in_auth = false;
    enum cmd c = pop_cmd(s);
    switch (c) {
    case CMD_DATA:
        if (code != 354) { /* refused: what looked like a message is not */
            s->in_data = false;
            s->tx.has_message = s->tx.message_complete = false;
            s->tx.message_bytes = 0;
            s->msg_len = 0;
        }
        break;
    case CMD_END_OF_DATA:
        s->tx.last_reply = (uint16_t)code;
        tx_end(s, cb, ctx, st);
        break;
    case CMD_BDAT:
        if (s->bdat_last && !s->bdat_left) {
            s->tx.last_reply = (uint16_t)code;
            s->tx.message_complete = true;
            st->messages++;
            tx_end(s, cb, ctx, st);
        }
        break;
    case CMD_RCPT:
        if (code >= 400)
            s->tx.rcpt_rejected++;
        break;
    case CMD_STARTTLS:
        if (code == 220) {
            s->tx.starttls = true;
            s->tls_next = true;
        }
        break;
    default:
        break;
    }
    return true;
}

static bool server_line(struct smtp_state *s, const char *l,
                        const struct smtp_callbacks *cb, void *ctx,
                        struct smtp_stats *st)
{
    if (!isdigit((unsigned char)l[0]) || !isdigit((unsigned char)l[1]) ||
        !isdigit((unsigned char)l[2]) || (l[3] && l[3] != ' ' && l[3] != '-')) {
        st->bad_reply++;
        return st->replies > 0; /* the first line must be a reply */
    }
    if (l[3] == '-')
        return true; /* more lines of this reply follow */
    unsigned code = (unsigned)((l[0] - '0') * 100 + (l[1] - '0') * 10 + (l[2] - '0'));
    return reply(s, code, cb, ctx, st);
}

static bool client_line(struct smtp_state *s, const char *l, uint64_t now,
                        const struct smtp_callbacks *cb, void *ctx,
                        struct smtp_stats *st)
{
    if (s->in_auth)
        return true; /* a credential: skipped, never kept */
    if (!looks_like_command(l)) {
        st->not_smtp += st->commands == 0;
        return st->commands > 0;
    }
    st->commands++;
    enum cmd c = command(s, l, now, cb, ctx, st);
    if (c == CMD_AUTH) {
        /* "AUTH PLAIN <initial response>" carries the secret inline */
        s->in_auth = true;
    }
    push_cmd(s, c, st);
    return true;
}

/* Takes one line of direction dir; true when complete (CRLF removed). */
static bool take_line(struct smtp_state *s, int dir, const uint8_t *d,
                      size_t len, size_t *used, struct smtp_stats *st)
{
    bool cut;
    size_t n;
    bool done = line_take(&s->lp[dir], s->line[dir], SMTP_LINE_MAX, d, len,
                          used, &cut, &n);
    st->line_truncated += cut;
    return done;
}

static bool data_is_tls(const uint8_t *d, size_t n)
{
    return n >= 3 && d[0] == 0x16 && d[1] == 0x03;
}

bool smtp_feed(struct smtp_state *s, int dir, const uint8_t *d, size_t len,
               uint64_t now, size_t max, const struct smtp_callbacks *cb,
               void *ctx, struct smtp_stats *st)
{
    if (s->tls_next && dir == 0 && len) {
        s->tls_next = false;
        if (data_is_tls(d, len)) {
            s->stopped = true; /* TLS from here on: the TLS parser reads it */
            return false;
        }
        /* a capture of the decrypted session: SMTP goes on */
    }
    while (len && !s->stopped) {
        size_t used;
        if (dir == 0 && s->bdat_left) {
            used = len < s->bdat_left ? len : (size_t)s->bdat_left;
            message_append(s, d, used, max, st);
            s->bdat_left -= used;
        } else if (dir == 0 && s->in_data) {
            used = data_bytes(s, d, len, max, st);
        } else if (take_line(s, dir, d, len, &used, st)) {
            bool ok = dir ? server_line(s, s->line[1], cb, ctx, st)
                          : client_line(s, s->line[0], now, cb, ctx, st);
            if (!ok)
                s->stopped = true;
        }
        d += used;
        len -= used;
    }
    return !s->stopped;
}

void smtp_gap(struct smtp_state *s, int dir)
{
    if (dir == 0 && (s->in_data || s->bdat_left))
        s->tx.message_truncated = true; /* the message has a hole */
    else
        s->stopped = true;
}

void smtp_finish(struct smtp_state *s, const struct smtp_callbacks *cb,
                 void *ctx, struct smtp_stats *st)
{
    tx_end(s, cb, ctx, st);
    if (!s->any_logged && s->tx.helo[0]) {
        /* a session without a mail transaction in the clear (STARTTLS,
         * a refused sender, AUTH only): still one record with what it said */
        st->transactions++;
        s->any_logged = true;
        cb->tx_done(ctx, &s->tx, NULL, 0);
    }
}
