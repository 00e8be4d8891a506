/* mime.c -- message and MIME parser (see mime.h). */
#include "proto/mime.h"

#include <ctype.h>
#include <errno.h>
#include <iconv.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "util/text.h"

struct walk {
    struct email_info *info;
    mime_attachment_fn cb;
    void *ctx;
    struct mime_stats *st;
};

/* --- transfer encodings ------------------------------------------------ */

/* A base64 digit's value plus one; 0 for a byte that is none. */
static const uint8_t b64_plus1[256] = {
    ['A'] = 1, ['B'] = 2, ['C'] = 3, ['D'] = 4, ['E'] = 5, ['F'] = 6,
    ['G'] = 7, ['H'] = 8, ['I'] = 9, ['J'] = 10, ['K'] = 11, ['L'] = 12,
    ['M'] = 13, ['N'] = 14, ['O'] = 15, ['P'] = 16, ['Q'] = 17, ['R'] = 18,
    ['S'] = 19, ['T'] = 20, ['U'] = 21, ['V'] = 22, ['W'] = 23, ['X'] = 24,
    ['Y'] = 25, ['Z'] = 26, ['a'] = 27, ['b'] = 28, ['c'] = 29, ['d'] = 30,
    ['e'] = 31, ['f'] = 32, ['g'] = 33, ['h'] = 34, ['i'] = 35, ['j'] = 36,
    ['k'] = 37, ['l'] = 38, ['m'] = 39, ['n'] = 40, ['o'] = 41, ['p'] = 42,
    ['q'] = 43, ['r'] = 44, ['s'] = 45, ['t'] = 46, ['u'] = 47, ['v'] = 48,
    ['w'] = 49, ['x'] = 50, ['y'] = 51, ['z'] = 52, ['0'] = 53, ['1'] = 54,
    ['2'] = 55, ['3'] = 56, ['4'] = 57, ['5'] = 58, ['6'] = 59, ['7'] = 60,
    ['8'] = 61, ['9'] = 62, ['+'] = 63, ['/'] = 64,
};

size_t mime_base64_decode(const uint8_t *in, size_t len, uint8_t *out)
{
    uint32_t acc = 0;
    int bits = 0;
    size_t o = 0;
    for (size_t i = 0; i < len; i++) {
        if (in[i] == '=')
            break;
        int v = b64_plus1[in[i]] - 1;
        if (v < 0)
            continue; /* line breaks and stray characters */
        acc = (acc << 6) | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[o++] = (uint8_t)(acc >> bits);
        }
    }
    return o;
}

static int hexval(uint8_t c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c = (uint8_t)(c | 0x20);
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

size_t mime_qp_decode(const uint8_t *in, size_t len, uint8_t *out)
{
    size_t o = 0;
    for (size_t i = 0; i < len; i++) {
        if (in[i] != '=') {
            out[o++] = in[i];
            continue;
        }
        if (i + 1 < len && in[i + 1] == '\n') { /* soft break */
            i += 1;
        } else if (i + 2 < len && in[i + 1] == '\r' && in[i + 2] == '\n') {
            i += 2;
        } else if (i + 2 < len && hexval(in[i + 1]) >= 0 && hexval(in[i + 2]) >= 0) {
            out[o++] = (uint8_t)(hexval(in[i + 1]) * 16 + hexval(in[i + 2]));
            i += 2;
        } else {
            out[o++] = '=';
        }
    }
    return o;
}

/* --- RFC 2047 ---------------------------------------------------------- */

/* Converts n bytes in charset to UTF-8 at out+*o. */
static void to_utf8(const char *charset, const char *in, size_t n, char *out,
                    size_t outlen, size_t *o)
{
    iconv_t cd = iconv_open("UTF-8", charset);
    if (cd == (iconv_t)-1) { /* unknown charset: keep the bytes */
        size_t k = n < outlen - 1 - *o ? n : outlen - 1 - *o;
        memcpy(out + *o, in, k);
        *o += k;
        return;
    }
    char *ip = (char *)(uintptr_t)in, *op = out + *o;
    size_t il = n, ol = outlen - 1 - *o;
    while (il && ol) {
        if (iconv(cd, &ip, &il, &op, &ol) != (size_t)-1)
            break;
        if (errno == EILSEQ || errno == EINVAL) {
            ip++; /* skip a byte that does not convert */
            il--;
        } else {
            break;
        }
    }
    *o = (size_t)(op - out);
    iconv_close(cd);
}

/* "=?charset?B|Q?text?=" words; whitespace between two words is dropped
 * (RFC 2047 section 6.2), other text is kept as it is. */
void mime_decode_words(const char *in, size_t len, char *out, size_t outlen)
{
    size_t o = 0, i = 0;
    while (i < len && o + 1 < outlen) {
        if (in[i] == '=' && i + 1 < len && in[i + 1] == '?') {
            const char *cs = in + i + 2;
            const char *q1 = memchr(cs, '?', len - (size_t)(cs - in));
            const char *q2 = q1 && q1 + 2 < in + len && q1[2] == '?' ? q1 + 2 : NULL;
            const char *endw = NULL;
            if (q2)
                for (const char *p = q2 + 1; p + 1 < in + len; p++)
                    if (p[0] == '?' && p[1] == '=') {
                        endw = p;
                        break;
                    }
            if (endw) {
                char charset[64];
                text_copy(charset, sizeof(charset), cs, (size_t)(q1 - cs));
                char *star = strchr(charset, '*'); /* RFC 2231 language */
                if (star)
                    *star = '\0';
                char enc = (char)toupper((unsigned char)q1[1]);
                const uint8_t *text = (const uint8_t *)q2 + 1;
                size_t tl = (size_t)(endw - (const char *)text);
                uint8_t dec[1024];
                size_t dl = 0;
                if (tl > sizeof(dec))
                    tl = sizeof(dec);
                if (enc == 'B') {
                    dl = mime_base64_decode(text, tl, dec);
                } else {
                    for (size_t k = 0; k < tl; k++)
                        dec[dl++] = text[k] == '_' ? ' ' : text[k];
                    dl = mime_qp_decode(dec, dl, dec);
                }
                to_utf8(charset, (const char *)dec, dl, out, outlen, &o);
                i = (size_t)(endw - in) + 2;
                /* drop whitespace up to a following encoded word */
                size_t k = i;
                while (k < len && (in[k] == ' ' || in[k] == '\t' ||
                                   in[k] == '\r' || in[k] == '\n'))
                    k++;
                if (k + 1 < len && in[k] == '=' && in[k + 1] == '?')
                    i = k;
                continue;
            }
        }
        out[o++] = in[i++];
    }
    out[o] = '\0';
}

/* --- headers and parameters -------------------------------------------- */

/* Reads one header field at *pos: name and unfolded value. False at the
 * blank line that ends the headers (pos moves past it) or at the end. */
static bool next_header(const uint8_t *b, size_t len, size_t *pos,
                        char *name, size_t nlen, char *val, size_t vlen)
{
    size_t p = *pos;
    if (p >= len)
        return false;
    if (b[p] == '\n' || (b[p] == '\r' && p + 1 < len && b[p + 1] == '\n')) {
        *pos = p + (b[p] == '\r' ? 2 : 1);
        return false;
    }
    size_t n = 0, v = 0;
    while (p < len && b[p] != ':' && b[p] != '\n') {
        if (n + 1 < nlen)
            name[n++] = (char)tolower(b[p]);
        p++;
    }
    name[n] = '\0';
    if (p < len && b[p] == ':')
        p++;
    while (p < len && (b[p] == ' ' || b[p] == '\t'))
        p++;
    for (;;) {
        while (p < len && b[p] != '\n') {
            if (b[p] != '\r' && v + 1 < vlen)
                val[v++] = (char)b[p];
            p++;
        }
        if (p < len)
            p++; /* the LF */
        if (p < len && (b[p] == ' ' || b[p] == '\t')) {
            continue; /* folded: the line break goes, the blank stays */
        }
        break;
    }
    while (v && (val[v - 1] == ' ' || val[v - 1] == '\t'))
        v--;
    val[v] = '\0';
    *pos = p;
    return true;
}

/* Percent-decodes an RFC 2231 extended value piece into out at *o. */
static void pct_decode(const char *s, size_t n, char *out, size_t outlen,
                       size_t *o)
{
    for (size_t i = 0; i < n && *o + 1 < outlen; i++) {
        if (s[i] == '%' && i + 2 < n + 1 && hexval((uint8_t)s[i + 1]) >= 0 &&
            hexval((uint8_t)s[i + 2]) >= 0) {
            out[(*o)++] = (char)(hexval((uint8_t)s[i + 1]) * 16 +
                                 hexval((uint8_t)s[i + 2]));
            i += 2;
        } else {
            out[(*o)++] = s[i];
        }
    }
}

/* The value of parameter `key` in a Content-Type or Content-Disposition
 * value: plain, quoted, RFC 2231 extended (key*=charset'lang'%xx) and
 * continued (key*0, key*1*, ...), decoded to UTF-8. */
static bool get_param(const char *hv, const char *key, char *out,
                      size_t outlen)
{
    size_t klen = strlen(key), o = 0;
    char raw[1024], charset[64] = "";
    bool found = false, extended = false;
    out[0] = '\0';
    for (int section = 0; section < 32; section++) {
        bool got = false;
        for (const char *p = strchr(hv, ';'); p; p = strchr(p + 1, ';')) {
            const char *k = p + 1;
            while (*k == ' ' || *k == '\t')
                k++;
            if (strncasecmp(k, key, klen) != 0)
                continue;
            const char *r = k + klen;
            bool ext = false;
            int sec = -1;
            if (*r == '*') {
                r++;
                if (isdigit((unsigned char)*r)) {
                    sec = (int)strtol(r, (char **)&r, 10);
                    if (*r == '*') {
                        ext = true;
                        r++;
                    }
                } else {
                    ext = true;
                }
            }
            while (*r == ' ')
                r++;
            if (*r != '=' || (sec >= 0 ? sec != section : section != 0))
                continue;
            r++;
            while (*r == ' ')
                r++;
            size_t n = 0;
            if (*r == '"') {
                for (r++; *r && *r != '"' && n + 1 < sizeof(raw); r++) {
                    if (*r == '\\' && r[1])
                        r++;
                    raw[n++] = *r;
                }
            } else {
                for (; *r && *r != ';' && *r != ' ' && n + 1 < sizeof(raw); r++)
                    raw[n++] = *r;
            }
            raw[n] = '\0';
            const char *val = raw;
            if (ext && section == 0) { /* charset'language'value */
                const char *a = strchr(raw, '\''), *b = a ? strchr(a + 1, '\'') : NULL;
                if (a && b) {
                    text_copy(charset, sizeof(charset), raw, (size_t)(a - raw));
                    val = b + 1;
                }
                extended = true;
            }
            if (ext)
                pct_decode(val, strlen(val), out, outlen, &o);
            else
                for (size_t i = 0; val[i] && o + 1 < outlen; i++)
                    out[o++] = val[i];
            out[o] = '\0';
            got = found = true;
            if (sec < 0)
                section = 32; /* not continued */
            break;
        }
        if (!got)
            break;
    }
    if (found && extended && charset[0] && strcasecmp(charset, "utf-8")) {
        char conv[512];
        size_t co = 0;
        to_utf8(charset, out, o, conv, sizeof(conv), &co);
        conv[co] = '\0';
        text_copy(out, outlen, conv, co);
    } else if (found && strstr(out, "=?")) {
        char dec[512];
        mime_decode_words(out, strlen(out), dec, sizeof(dec));
        text_copy(out, outlen, dec, strlen(dec));
    }
    return found;
}

static void part_header(struct mime_part *pt, const char *name, const char *val)
{
    if (!strcmp(name, "content-type")) {
        size_t n = strcspn(val, "; \t");
        text_copy(pt->type, sizeof(pt->type), val, n);
        for (char *c = pt->type; *c; c++)
            *c = (char)tolower((unsigned char)*c);
        get_param(val, "boundary", pt->boundary, sizeof(pt->boundary));
        if (!pt->filename[0])
            get_param(val, "name", pt->filename, sizeof(pt->filename));
    } else if (!strcmp(name, "content-transfer-encoding")) {
        if (!strncasecmp(val, "base64", 6))
            pt->cte = MIME_CTE_BASE64;
        else if (!strncasecmp(val, "quoted-printable", 16))
            pt->cte = MIME_CTE_QP;
    } else if (!strcmp(name, "content-disposition")) {
        pt->attachment = !strncasecmp(val, "attachment", 10);
        char fn[256];
        if (get_param(val, "filename", fn, sizeof(fn)))
            text_copy(pt->filename, sizeof(pt->filename), fn, strlen(fn));
    }
}

size_t mime_headers(const uint8_t *b, size_t len, struct mime_part *pt,
                    char *val, mime_header_fn fn, void *ctx)
{
    memset(pt, 0, sizeof(*pt));
    size_t pos = 0, start = 0;
    char name[64];
    while (next_header(b, len, &pos, name, sizeof(name), val, MIME_HDR_VALUE_MAX)) {
        part_header(pt, name, val);
        if (fn)
            fn(ctx, name, val, start, pos);
        start = pos;
    }
    return pos;
}

bool mime_part_is_text(const struct mime_part *pt)
{
    return !strncmp(pt->type, "text/", 5) || !pt->type[0];
}

bool mime_part_is_attachment(const struct mime_part *pt)
{
    return pt->attachment || pt->filename[0] || !mime_part_is_text(pt);
}

/* --- addresses --------------------------------------------------------- */

/* Splits an address list ("A <a@x>, b@y, "Doe, J" <j@z>") into addr-specs. */
static void addresses(const char *v, char (*out)[MIME_ADDR_MAX], unsigned *n,
                      unsigned max, unsigned *over)
{
    const char *p = v;
    while (*p) {
        const char *start = p;
        bool quoted = false;
        int angle = 0;
        for (; *p; p++) {
            if (*p == '"')
                quoted = !quoted;
            else if (!quoted && *p == '<')
                angle++;
            else if (!quoted && *p == '>')
                angle--;
            else if (!quoted && angle <= 0 && *p == ',')
                break;
        }
        const char *end = p;
        if (*p)
            p++;
        const char *lt = NULL, *gt = NULL;
        for (const char *q = start; q < end; q++)
            if (*q == '<') {
                lt = q;
                gt = NULL;
            } else if (*q == '>' && lt && !gt) {
                gt = q;
            }
        if (lt && gt) {
            start = lt + 1;
            end = gt;
        }
        while (start < end && isspace((unsigned char)*start))
            start++;
        while (end > start && isspace((unsigned char)end[-1]))
            end--;
        if (end == start || !memchr(start, '@', (size_t)(end - start)))
            continue;
        if (*n >= max) {
            (*over)++;
            continue;
        }
        text_copy(out[*n], MIME_ADDR_MAX, start, (size_t)(end - start));
        (*n)++;
    }
}

static bool utf8_valid(const char *s)
{
    const uint8_t *p = (const uint8_t *)s;
    while (*p) {
        int n = *p < 0x80 ? 0 : (*p & 0xe0) == 0xc0 ? 1 : (*p & 0xf0) == 0xe0 ? 2
              : (*p & 0xf8) == 0xf0 ? 3 : -1;
        if (n < 0)
            return false;
        p++;
        for (int i = 0; i < n; i++, p++)
            if ((*p & 0xc0) != 0x80)
                return false;
    }
    return true;
}

/* Encoded words decoded; raw 8-bit text that is not UTF-8 is read as
 * Windows-1252, the de-facto charset of unlabelled mail headers. */
static void decode_header_text(const char *val, char *out, size_t outlen)
{
    char tmp[2048];
    if (!utf8_valid(val)) {
        size_t o = 0;
        to_utf8("CP1252", val, strlen(val), tmp, sizeof(tmp), &o);
        tmp[o] = '\0';
        val = tmp;
    }
    mime_decode_words(val, strlen(val), out, outlen);
}

static void top_header(struct walk *w, const char *name, const char *val)
{
    struct email_info *e = w->info;
    bool seen = false;
    for (unsigned i = 0; i < e->n_headers; i++)
        if (!strcmp(e->header_names[i], name))
            seen = true;
    if (!seen && e->n_headers < MIME_MAX_HEADER_NAMES)
        text_copy(e->header_names[e->n_headers++], sizeof(e->header_names[0]),
                 name, strlen(name));
    if (!strcmp(name, "from")) {
        char from[1][MIME_ADDR_MAX];
        unsigned nf = 0, over = 0;
        addresses(val, from, &nf, 1, &over);
        if (nf)
            text_copy(e->from, sizeof(e->from), from[0], strlen(from[0]));
    } else if (!strcmp(name, "to")) {
        addresses(val, e->to, &e->n_to, MIME_MAX_ADDRS, &e->addrs_over_cap);
    } else if (!strcmp(name, "cc")) {
        addresses(val, e->cc, &e->n_cc, MIME_MAX_ADDRS, &e->addrs_over_cap);
    } else if (!strcmp(name, "subject")) {
        decode_header_text(val, e->subject, sizeof(e->subject));
    } else if (!strcmp(name, "message-id")) {
        size_t s = val[0] == '<' ? 1 : 0, n = strcspn(val + s, ">");
        text_copy(e->message_id, sizeof(e->message_id), val + s, n);
    } else if (!strcmp(name, "date")) {
        text_copy(e->date, sizeof(e->date), val, strlen(val));
    } else if (!strcmp(name, "user-agent") || !strcmp(name, "x-mailer")) {
        text_copy(e->user_agent, sizeof(e->user_agent), val, strlen(val));
    } else if (!strcmp(name, "content-type")) {
        text_copy(e->content_type, sizeof(e->content_type), val, strlen(val));
    } else if (!strcmp(name, "mime-version")) {
        text_copy(e->mime_version, sizeof(e->mime_version), val, strlen(val));
    } else if (!strcmp(name, "received")) {
        e->n_received++;
    }
}

/* --- URLs -------------------------------------------------------------- */

static bool url_char(uint8_t c)
{
    return c > 0x20 && c < 0x7f && c != '"' && c != '\'' && c != '<' &&
           c != '>' && c != '`' && c != '{' && c != '}' && c != '|' &&
           c != '\\' && c != '^';
}

/* The URL as it is recorded: "&amp;" (from HTML) undone, cut to
 * MIME_URL_MAX - 1 bytes, trailing punctuation off. */
static size_t url_clean(const char *u, size_t n, char *clean)
{
    size_t o = 0;
    for (size_t i = 0; i < n && o + 1 < MIME_URL_MAX; i++) {
        if (i + 5 <= n && !memcmp(u + i, "&amp;", 5)) {
            clean[o++] = '&';
            i += 4;
        } else {
            clean[o++] = u[i];
        }
    }
    while (o && strchr(".,;:!?)]", clean[o - 1]))
        o--;
    clean[o] = '\0';
    return o;
}

bool mime_url_next(const uint8_t *d, size_t n, size_t *pos, struct mime_url *u)
{
    for (size_t i = *pos; i + 7 < n; i++) {
        if ((d[i] | 0x20) != 'h')
            continue;
        size_t skip = 0;
        if (!strncasecmp((const char *)d + i, "http://", 7))
            skip = 7;
        else if (i + 8 < n && !strncasecmp((const char *)d + i, "https://", 8))
            skip = 8;
        if (!skip)
            continue;
        size_t e = i + skip;
        while (e < n && url_char(d[e]))
            e++;
        size_t o = url_clean((const char *)d + i, e - i, u->url);
        if (o <= 8) { /* "http://" and a byte: not worth keeping */
            i = e;    /* d[e] is no URL byte: the next URL starts later */
            continue;
        }
        u->start = i;
        u->host = i + skip;
        u->end = e;
        u->len = o;
        *pos = e;
        return true;
    }
    *pos = n;
    return false;
}

static void add_url(struct walk *w, const char *clean, size_t o)
{
    struct email_info *e = w->info;
    for (unsigned i = 0; i < e->n_urls; i++)
        if (!strcmp(e->urls[i], clean))
            return;
    if (e->n_urls >= MIME_MAX_URLS) {
        e->urls_over_cap++;
        w->st->urls_over_cap++;
        return;
    }
    text_copy(e->urls[e->n_urls++], MIME_URL_MAX, clean, o);
    w->st->urls++;
}

static void find_urls(struct walk *w, const uint8_t *d, size_t n)
{
    struct mime_url u;
    size_t pos = 0;
    while (mime_url_next(d, n, &pos, &u))
        add_url(w, u.url, u.len);
}

/* --- the part tree ----------------------------------------------------- */

static void entity(struct walk *w, const uint8_t *b, size_t len, int depth,
                   bool top);

static const uint8_t *find_delim(const uint8_t *b, size_t len,
                                 const char *bound, size_t blen, size_t from)
{
    for (size_t i = from; i + 2 + blen <= len; i++) {
        if (b[i] != '-' || b[i + 1] != '-' || (i > 0 && b[i - 1] != '\n'))
            continue;
        if (memcmp(b + i + 2, bound, blen))
            continue;
        /* the boundary must end there: "--", blanks or the line end */
        size_t k = i + 2 + blen;
        if (k + 1 < len && b[k] == '-' && b[k + 1] == '-')
            return b + i;
        while (k < len && (b[k] == ' ' || b[k] == '\t'))
            k++;
        if (k == len || b[k] == '\r' || b[k] == '\n')
            return b + i;
    }
    return NULL;
}

void mime_multipart_begin(struct mime_multipart *m, const uint8_t *body,
                          size_t len, const char *boundary)
{
    m->b = body;
    m->len = len;
    m->bound = boundary;
    m->blen = strlen(boundary);
    m->d = find_delim(body, len, boundary, m->blen, 0);
}

bool mime_multipart_next(struct mime_multipart *m, size_t *start, size_t *stop)
{
    const uint8_t *b = m->b, *end = m->b + m->len, *d = m->d;
    if (!d)
        return false;
    m->d = NULL;
    const uint8_t *after = d + 2 + m->blen;
    if (after + 1 < end && after[0] == '-' && after[1] == '-')
        return false; /* close delimiter */
    const uint8_t *nl = memchr(after, '\n', (size_t)(end - after));
    if (!nl)
        return false;
    const uint8_t *s = nl + 1;
    const uint8_t *next = find_delim(b, m->len, m->bound, m->blen, (size_t)(s - b));
    const uint8_t *e = next ? next : end;
    /* the line break before the delimiter belongs to it */
    if (next && e > s && e[-1] == '\n')
        e--;
    if (next && e > s && e[-1] == '\r')
        e--;
    m->d = next;
    *start = (size_t)(s - b);
    *stop = (size_t)(e - b);
    return true;
}

static void multipart(struct walk *w, const uint8_t *b, size_t len,
                      const char *bound, int depth)
{
    struct mime_multipart m;
    size_t start, stop;
    mime_multipart_begin(&m, b, len, bound);
    while (mime_multipart_next(&m, &start, &stop)) {
        if (w->info->parts >= MIME_MAX_PARTS) {
            if (!w->info->parts_over_cap)
                w->st->parts_over_cap++;
            w->info->parts_over_cap = true;
            return;
        }
        entity(w, b + start, stop - start, depth + 1, false);
    }
}

static void leaf(struct walk *w, const struct mime_part *pt, const uint8_t *b,
                 size_t len)
{
    uint8_t *dec = malloc(len ? len : 1);
    if (!dec)
        return;
    size_t n = len;
    if (pt->cte == MIME_CTE_BASE64)
        n = mime_base64_decode(b, len, dec);
    else if (pt->cte == MIME_CTE_QP)
        n = mime_qp_decode(b, len, dec);
    else
        memcpy(dec, b, len);
    bool text = mime_part_is_text(pt);
    if (mime_part_is_attachment(pt)) {
        struct email_info *e = w->info;
        if (e->n_attachments < MIME_MAX_ATTACHMENTS)
            text_copy(e->attachments[e->n_attachments++],
                     sizeof(e->attachments[0]), pt->filename,
                     strlen(pt->filename));
        else
            e->attachments_over_cap++;
        w->st->attachments++;
        if (w->cb)
            w->cb(w->ctx, pt->filename, pt->type[0] ? pt->type : "text/plain",
                  dec, n);
    }
    if (text)
        find_urls(w, dec, n);
    free(dec);
}

static void on_top_header(void *ctx, const char *name, const char *val,
                          size_t start, size_t end)
{
    (void)start;
    (void)end;
    top_header(ctx, name, val);
}

static void entity(struct walk *w, const uint8_t *b, size_t len, int depth,
                   bool top)
{
    if (depth > MIME_MAX_DEPTH) {
        if (!w->info->depth_over_cap)
            w->st->depth_over_cap++;
        w->info->depth_over_cap = true;
        return;
    }
    w->info->parts++;
    w->st->parts++;
    struct mime_part pt;
    char *val = malloc(MIME_HDR_VALUE_MAX);
    if (!val)
        return;
    size_t pos = mime_headers(b, len, &pt, val, top ? on_top_header : NULL, w);
    free(val);
    const uint8_t *body = b + pos;
    size_t blen = pos <= len ? len - pos : 0;
    if (!strncmp(pt.type, "multipart/", 10) && pt.boundary[0])
        multipart(w, body, blen, pt.boundary, depth);
    else if (!strcmp(pt.type, "message/rfc822"))
        entity(w, body, blen, depth + 1, false);
    else
        leaf(w, &pt, body, blen);
}

void mime_parse(const uint8_t *msg, size_t len, struct email_info *out,
                mime_attachment_fn cb, void *ctx, struct mime_stats *st)
{
    memset(out, 0, sizeof(*out));
    struct walk w = { out, cb, ctx, st };
    st->messages++;
    entity(&w, msg, len, 0, true);
    st->addrs_over_cap += out->addrs_over_cap;
}
