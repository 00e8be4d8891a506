/* smtp_command.c -- SMTP commands and the DATA stream, server side (see
 * smtp_command.h). */
#include "mta/smtp_command.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "util/text.h"

static const char *const verb_names[] = {
    "", "HELO", "EHLO", "MAIL", "RCPT", "DATA", "RSET", "NOOP", "QUIT", "VRFY",
    "HELP", "STARTTLS", "BDAT", "AUTH",
};

const char *smtp_verb_name(enum smtp_verb v)
{
    return verb_names[v];
}

static int refuse(struct smtp_refusal *r, int code, const char *status,
                  const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static int refuse(struct smtp_refusal *r, int code, const char *status,
                  const char *fmt, ...)
{
    r->code = code;
    r->status = status;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->text, sizeof(r->text), fmt, ap);
    va_end(ap);
    return code;
}

/* --- addresses --------------------------------------------------------- */

static bool atext(unsigned char ch, bool utf8)
{
    return isalnum(ch) || strchr("!#$%&'*+-/=?^_`{|}~", ch) || (utf8 && ch >= 0x80);
}

/* sub-domain *("." sub-domain), or an address literal "[...]" */
static bool domain_ok(const char *d, size_t n, bool utf8)
{
    if (!n || n >= SMTP_DOMAIN_MAX)
        return false;
    if (d[0] == '[')
        return n >= 3 && d[n - 1] == ']' && !memchr(d + 1, '[', n - 2) &&
               !memchr(d + 1, ']', n - 2);
    size_t label = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)d[i];
        if (ch == '.') {
            if (!label || d[i - 1] == '-')
                return false;
            label = 0;
        } else if (isalnum(ch) || (utf8 && ch >= 0x80) || (ch == '-' && label)) {
            if (++label > 63)
                return false;
        } else {
            return false;
        }
    }
    return label && d[n - 1] != '-';
}

/* Dot-string or Quoted-string */
static bool local_ok(const char *l, size_t n, bool utf8)
{
    if (!n || n > 64 * 4)
        return false;
    if (l[0] == '"') {
        if (n < 2 || l[n - 1] != '"')
            return false;
        for (size_t i = 1; i + 1 < n; i++) {
            unsigned char ch = (unsigned char)l[i];
            if (ch == '\\' && i + 2 < n)
                i++;
            else if (ch == '"' || ch < 32 || ch == 127 || (ch >= 0x80 && !utf8))
                return false;
        }
        return true;
    }
    if (l[0] == '.' || l[n - 1] == '.')
        return false;
    for (size_t i = 0; i < n; i++)
        if (!(atext((unsigned char)l[i], utf8) || (l[i] == '.' && l[i - 1] != '.')))
            return false;
    return true;
}

/* "<[@route,...:]local@domain>" or "<>": the mailbox into out. Returns the
 * bytes of line the path took, 0 when it is malformed. */
static size_t read_path(const char *p, bool allow_null, bool utf8, char *out,
                        size_t outlen, bool *null_path)
{
    *null_path = false;
    if (*p != '<')
        return 0;
    const char *gt = strchr(p, '>');
    if (!gt)
        return 0;
    const char *box = p + 1;
    size_t n = (size_t)(gt - box);
    if (!n) {
        *null_path = true;
        out[0] = '\0';
        return allow_null ? 2 : 0;
    }
    if (*box == '@') { /* an obsolete source route: skipped (RFC 5321 C) */
        const char *colon = memchr(box, ':', n);
        if (!colon)
            return 0;
        n -= (size_t)(colon + 1 - box);
        box = colon + 1;
    }
    const char *at = NULL;
    for (size_t i = n; i-- > 0;)
        if (box[i] == '@') {
            at = box + i;
            break;
        }
    if (!at || n >= outlen || n >= SMTP_PATH_MAX ||
        !local_ok(box, (size_t)(at - box), utf8) ||
        !domain_ok(at + 1, (size_t)(box + n - at - 1), utf8))
        return 0;
    text_copy(out, outlen, box, n);
    return (size_t)(gt - p) + 1;
}

/* --- ESMTP parameters ---------------------------------------------------- */

static int mail_params(const char *p, struct smtp_command *c, struct smtp_refusal *r)
{
    while (*p) {
        while (*p == ' ')
            p++;
        if (!*p)
            break;
        size_t n = strcspn(p, " ");
        char kv[128];
        text_copy(kv, sizeof(kv), p, n);
        char *eq = strchr(kv, '=');
        const char *v = eq ? eq + 1 : "";
        if (eq)
            *eq = '\0';
        if (!strcasecmp(kv, "SIZE") && eq) {
            char *end;
            unsigned long long sz = strtoull(v, &end, 10);
            if (end == v || *end || !isdigit((unsigned char)v[0]))
                return refuse(r, 501, "5.5.4", "SIZE needs a number");
            c->has_size = true;
            c->size = sz;
        } else if (!strcasecmp(kv, "BODY") && eq) {
            if (!strcasecmp(v, "8BITMIME"))
                c->body_8bit = true;
            else if (strcasecmp(v, "7BIT"))
                return refuse(r, 501, "5.5.4", "BODY is 7BIT or 8BITMIME");
        } else if (!strcasecmp(kv, "SMTPUTF8") && !eq) {
            c->smtputf8 = true;
        } else {
            return refuse(r, 555, "5.5.4", "parameter %.40s not recognised", kv);
        }
        p += n;
    }
    return 0;
}

/* "FROM:<path> params" / "TO:<path>" */
static int path_command(const char *arg, const char *word, bool utf8_declared,
                        struct smtp_command *c, struct smtp_refusal *r)
{
    size_t wl = strlen(word);
    if (strncasecmp(arg, word, wl) != 0)
        return refuse(r, 501, "5.5.4", "syntax: %s %s<address>",
                      smtp_verb_name(c->verb), word);
    const char *p = arg + wl;
    while (*p == ' ') /* "MAIL FROM: <a@b>", as many clients send it */
        p++;
    bool mail = c->verb == SMTP_V_MAIL;
    /* SMTPUTF8 may follow the path: look for it first */
    bool utf8 = mail ? strcasestr(p, " SMTPUTF8") != NULL : utf8_declared;
    size_t used = read_path(p, mail, utf8, c->path, sizeof(c->path), &c->null_path);
    if (!used)
        return refuse(r, 553, "5.1.7", "%s address is not valid",
                      mail ? "sender" : "recipient");
    p += used;
    if (*p && *p != ' ')
        return refuse(r, 501, "5.5.4", "junk after the address");
    if (!mail)
        return *p && strspn(p, " ") != strlen(p)
                   ? refuse(r, 555, "5.5.4", "no RCPT parameters are supported")
                   : 0;
    return mail_params(p, c, r);
}

int smtp_command_parse(const char *line, size_t len, bool utf8,
                       struct smtp_command *c, struct smtp_refusal *r)
{
    memset(c, 0, sizeof(*c));
    if (len + 2 > SMTP_COMMAND_LINE_MAX)
        return refuse(r, 500, "5.5.6", "line too long");
    if (memchr(line, '\0', len))
        return refuse(r, 500, "5.5.2", "NUL in the command");
    char buf[SMTP_COMMAND_LINE_MAX];
    text_copy(buf, sizeof(buf), line, len);
    size_t vl = strcspn(buf, " ");
    const char *arg = buf + vl;
    while (*arg == ' ')
        arg++;
    for (size_t i = 1; i < sizeof(verb_names) / sizeof(verb_names[0]); i++)
        if (strlen(verb_names[i]) == vl && !strncasecmp(buf, verb_names[i], vl))
            c->verb = (enum smtp_verb)i;
    switch (c->verb) {
    case SMTP_V_UNKNOWN:
        return refuse(r, 500, "5.5.2", "command not recognised");
    case SMTP_V_HELO:
    case SMTP_V_EHLO: {
        size_t n = strcspn(arg, " ");
        if (!n || !domain_ok(arg, n, true))
            return refuse(r, 501, "5.5.4", "%s needs a domain or address literal",
                          smtp_verb_name(c->verb));
        text_copy(c->domain, sizeof(c->domain), arg, n);
        return 0;
    }
    case SMTP_V_MAIL:
        return path_command(arg, "FROM:", false, c, r);
    case SMTP_V_RCPT:
        return path_command(arg, "TO:", utf8, c, r);
    case SMTP_V_DATA:
    case SMTP_V_RSET:
    case SMTP_V_QUIT:
    case SMTP_V_STARTTLS:
        if (*arg)
            return refuse(r, 501, "5.5.4", "%s takes no argument", smtp_verb_name(c->verb));
        return 0;
    default: /* NOOP, HELP, VRFY, BDAT, AUTH: the session decides */
        return 0;
    }
}

/* --- the message after DATA ---------------------------------------------- */

void smtp_data_begin(struct smtp_data *s)
{
    memset(s, 0, sizeof(*s));
    s->at_line_start = true;
}

/* Bytes of one line (no LF inside), handed out unless they overflow it. */
static void line_bytes(struct smtp_data *s, const uint8_t *d, size_t n,
                       smtp_data_fn fn, void *ctx)
{
    s->line_len += n;
    if (s->line_len > SMTP_DATA_LINE_MAX)
        s->line_too_long = true;
    s->bytes += n;
    fn(ctx, d, n);
}

size_t smtp_data_feed(struct smtp_data *s, const uint8_t *d, size_t n,
                      smtp_data_fn fn, void *ctx)
{
    size_t i = 0;
    while (i < n && !s->done) {
        uint8_t ch = d[i];
        if (s->dot_cr) { /* ".\r" began the line */
            s->dot_cr = false;
            if (ch == '\n') {
                i++;
                s->done = true;
                break;
            }
            line_bytes(s, (const uint8_t *)"\r", 1, fn, ctx); /* ".\rX": "\rX" */
            continue;
        }
        if (s->dot) { /* "." began the line */
            s->dot = false;
            if (ch == '\r') {
                s->dot_cr = true;
                i++;
            } else if (ch == '\n') {
                i++;
                s->done = true;
                break;
            } /* else the dot was stuffing: the line goes on from ch */
            continue;
        }
        if (s->at_line_start) {
            s->at_line_start = false;
            if (ch == '.') {
                s->dot = true;
                i++;
                continue;
            }
        }
        const uint8_t *lf = memchr(d + i, '\n', n - i);
        size_t take = lf ? (size_t)(lf - (d + i)) + 1 : n - i;
        line_bytes(s, d + i, take, fn, ctx);
        i += take;
        if (lf) {
            s->at_line_start = true;
            s->line_len = 0;
        }
    }
    return i;
}
