/* forwarded.c -- X-Forwarded-For and Forwarded values to a chain of hops
 * (see forwarded.h). Reads only within the given length; a quoted string
 * or an address that runs past its element is cut there, never read on.
 */
#include "proto/forwarded.h"

#include <arpa/inet.h>
#include <string.h>
#include <strings.h>

#define ADDR_TEXT_MAX 64 /* longer than any IPv6 literal with port */

static bool blank(char c) { return c == ' ' || c == '\t'; }

/* Trims blanks at both ends of s[*off .. *off + *len). */
static void trim(const char *s, size_t *off, size_t *len)
{
    while (*len && blank(s[*off])) {
        (*off)++;
        (*len)--;
    }
    while (*len && blank(s[*off + *len - 1]))
        (*len)--;
}

/* Copies an address's text without quotes, brackets and port into out. */
static bool addr_text(const char *s, size_t len, char *out, size_t outlen)
{
    size_t off = 0;
    trim(s, &off, &len);
    if (len >= 2 && s[off] == '"' && s[off + len - 1] == '"') {
        off++;
        len -= 2;
    }
    const char *p = s + off;
    if (len && p[0] == '[') { /* [v6] or [v6]:port */
        const char *close = memchr(p, ']', len);
        if (!close || (close + 1 < p + len && close[1] != ':'))
            return false;
        p++;
        len = (size_t)(close - p);
    } else {
        const char *colon = memchr(p, ':', len);
        /* one colon: v4:port; several: a bare IPv6 address */
        if (colon && !memchr(colon + 1, ':', len - (size_t)(colon - p) - 1))
            len = (size_t)(colon - p);
    }
    if (!len || len >= outlen)
        return false;
    memcpy(out, p, len);
    out[len] = 0;
    return true;
}

bool fwd_parse_addr(const char *s, size_t len, uint8_t *v, struct ip_addr *a)
{
    char text[ADDR_TEXT_MAX];
    memset(a, 0, sizeof(*a));
    if (!addr_text(s, len, text, sizeof(text)))
        return false;
    if (inet_pton(AF_INET, text, a->b) == 1)
        *v = 4;
    else if (inet_pton(AF_INET6, text, a->b) == 1)
        *v = 6;
    else
        return false;
    return true;
}

/* Appends a hop; when full, the leftmost goes (the chain keeps the hops
 * nearest the sensor). */
static void push(struct fwd_chain *c, const struct fwd_hop *h)
{
    if (c->n == FWD_HOPS_MAX) {
        memmove(&c->hop[0], &c->hop[1], sizeof(c->hop[0]) * (FWD_HOPS_MAX - 1));
        c->n--;
        c->over_cap = true;
    }
    c->hop[c->n++] = *h;
}

static void push_addr(struct fwd_chain *c, const char *s, size_t len)
{
    struct fwd_hop h = { .kind = FWD_HOP_HIDDEN };
    if (fwd_parse_addr(s, len, &h.v, &h.addr))
        h.kind = FWD_HOP_ADDR;
    push(c, &h);
}

/* The end of the element starting at off: the next comma outside quotes. */
static size_t element_end(const char *s, size_t len, size_t off, char sep)
{
    bool quoted = false;
    for (size_t i = off; i < len; i++) {
        if (quoted && s[i] == '\\' && i + 1 < len)
            i++;
        else if (s[i] == '"')
            quoted = !quoted;
        else if (!quoted && s[i] == sep)
            return i;
    }
    return len;
}

void fwd_parse_xff(const char *s, size_t len, struct fwd_chain *c)
{
    memset(c, 0, sizeof(*c));
    for (size_t off = 0; off <= len;) {
        size_t end = element_end(s, len, off, ',');
        size_t o = off, n = end - off;
        trim(s, &o, &n);
        if (n) /* "a,,b": an empty entry is no hop */
            push_addr(c, s + o, n);
        off = end + 1;
    }
}

/* One Forwarded element: its for= value, or a hidden hop. */
static void forwarded_element(struct fwd_chain *c, const char *s, size_t len)
{
    for (size_t off = 0; off <= len;) {
        size_t end = element_end(s, len, off, ';');
        size_t o = off, n = end - off;
        trim(s, &o, &n);
        if (n > 4 && !strncasecmp(s + o, "for", 3)) {
            size_t p = o + 3, m = n - 3;
            trim(s, &p, &m);
            if (m && s[p] == '=') {
                push_addr(c, s + p + 1, m - 1);
                return;
            }
        }
        off = end + 1;
    }
    struct fwd_hop h = { .kind = FWD_HOP_HIDDEN };
    push(c, &h);
}

void fwd_parse_forwarded(const char *s, size_t len, struct fwd_chain *c)
{
    memset(c, 0, sizeof(*c));
    for (size_t off = 0; off <= len;) {
        size_t end = element_end(s, len, off, ',');
        size_t o = off, n = end - off;
        trim(s, &o, &n);
        if (n)
            forwarded_element(c, s + o, n);
        off = end + 1;
    }
}
