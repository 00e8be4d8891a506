/* icap_proto.c -- ICAP heads, the Encapsulated header and chunked bodies
 * (see icap_proto.h). */
#include "icap/icap_proto.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "util/line.h"
#include "util/text.h"

static const char *const section_names[ICAP_SECTIONS] = {
    "req-hdr", "res-hdr", "req-body", "res-body", "null-body", "opt-body",
};

const char *icap_method_name(enum icap_method m)
{
    static const char *const names[] = { "OPTIONS", "REQMOD", "RESPMOD", "OTHER" };
    return names[m];
}

size_t icap_head_length(const uint8_t *buf, size_t len)
{
    for (size_t i = 0; i + 1 < len; i++) {
        if (buf[i] != '\n')
            continue;
        if (buf[i + 1] == '\n')
            return i + 2;
        if (i + 2 < len && buf[i + 1] == '\r' && buf[i + 2] == '\n')
            return i + 3;
    }
    return 0;
}

static int fail(char *err, size_t errlen, int status, const char *why)
{
    snprintf(err, errlen, "%s", why);
    return status;
}

/* "icap://host[:port]/service[?args]" or "/service": the path. */
static void service_of(const char *uri, char *out, size_t outlen)
{
    const char *p = uri;
    const char *scheme = strstr(uri, "://");
    if (scheme) {
        p = strchr(scheme + 3, '/');
        if (!p)
            p = "/";
    }
    text_copy(out, outlen, p, strcspn(p, "?"));
}

static int request_line(const char *l, struct icap_request *r, char *err,
                        size_t errlen)
{
    const char *sp1 = strchr(l, ' ');
    const char *sp2 = sp1 ? strchr(sp1 + 1, ' ') : NULL;
    if (!sp1 || !sp2 || sp1 == l || sp2 == sp1 + 1 || strchr(sp2 + 1, ' '))
        return fail(err, errlen, 400, "request line is not METHOD URI ICAP/1.0");
    size_t ml = (size_t)(sp1 - l);
    text_copy(r->method_name, sizeof(r->method_name), l, ml);
    r->method = !strcmp(r->method_name, "OPTIONS") ? ICAP_OPTIONS
              : !strcmp(r->method_name, "REQMOD")  ? ICAP_REQMOD
              : !strcmp(r->method_name, "RESPMOD") ? ICAP_RESPMOD : ICAP_OTHER;
    size_t ul = (size_t)(sp2 - sp1 - 1);
    if (ul >= sizeof(r->uri))
        return fail(err, errlen, 400, "request URI too long");
    text_copy(r->uri, sizeof(r->uri), sp1 + 1, ul);
    service_of(r->uri, r->service, sizeof(r->service));
    if (strncmp(sp2 + 1, "ICAP/", 5) != 0)
        return fail(err, errlen, 400, "request line does not end in ICAP/1.0");
    if (strcmp(sp2 + 1, "ICAP/1.0") != 0)
        return fail(err, errlen, 505, "ICAP version not supported (only ICAP/1.0)");
    if (r->method == ICAP_OTHER)
        return fail(err, errlen, 405, "method not allowed (OPTIONS, REQMOD, RESPMOD)");
    return 0;
}

/* "req-hdr=0, res-hdr=137, res-body=296" */
static int encapsulated(const char *v, struct icap_request *r, char *err,
                        size_t errlen)
{
    int64_t last = -1;
    int last_sec = -1;
    int n = 0;
    const char *p = v;
    while (*p) {
        while (*p == ' ' || *p == '\t' || *p == ',')
            p++;
        if (!*p)
            break;
        size_t nl = strcspn(p, "=");
        int sec = -1;
        for (int i = 0; i < ICAP_SECTIONS; i++)
            if (strlen(section_names[i]) == nl && !strncasecmp(p, section_names[i], nl))
                sec = i;
        if (sec < 0 || p[nl] != '=' || !isdigit((unsigned char)p[nl + 1]))
            return fail(err, errlen, 400, "Encapsulated: unknown or malformed entity");
        char *end;
        unsigned long long off = strtoull(p + nl + 1, &end, 10);
        if (off > ICAP_ENCAP_HEAD_MAX || (int64_t)off < last || sec <= last_sec ||
            r->off[sec] >= 0)
            return fail(err, errlen, 400, "Encapsulated: offsets out of order or too large");
        if (last_sec >= ICAP_REQ_BODY)
            return fail(err, errlen, 400, "Encapsulated: a body entity must come last");
        r->off[sec] = (int64_t)off;
        last = (int64_t)off;
        last_sec = sec;
        n++;
        p = end;
        while (*p == ' ' || *p == '\t')
            p++;
        if (*p && *p != ',')
            return fail(err, errlen, 400, "Encapsulated: malformed list");
    }
    if (!n)
        return fail(err, errlen, 400, "Encapsulated: empty");
    r->have_encapsulated = true;
    return 0;
}

static void header(const char *l, struct icap_request *r)
{
    const char *colon = strchr(l, ':');
    if (!colon)
        return;
    size_t n = (size_t)(colon - l);
    const char *v = colon + 1;
    while (*v == ' ' || *v == '\t')
        v++;
    size_t vl = strlen(v);
    while (vl && (v[vl - 1] == ' ' || v[vl - 1] == '\t'))
        vl--;
#define IS(name) (n == sizeof(name) - 1 && !strncasecmp(l, name, n))
    if (IS("Preview")) {
        char *end;
        long long pv = strtoll(v, &end, 10);
        r->preview = end != v && pv >= 0 ? pv : -2; /* -2: malformed */
    } else if (IS("Allow")) {
        for (const char *p = v; (p = strstr(p, "20")) != NULL; p += 2) {
            r->allow_204 |= p[2] == '4';
            r->allow_206 |= p[2] == '6';
        }
    } else if (IS("Connection")) {
        r->close = strncasecmp(v, "close", 5) == 0;
    } else if (IS("X-Client-IP")) {
        text_copy(r->client_ip, sizeof(r->client_ip), v, vl);
    } else if (IS("X-Forwarded-For") && !r->client_ip[0]) {
        text_copy(r->client_ip, sizeof(r->client_ip), v, strcspn(v, ", "));
    } else if (IS("X-Client-Username") || IS("X-Authenticated-User")) {
        text_copy(r->client_user, sizeof(r->client_user), v, vl);
    } else if (IS("Host")) {
        text_copy(r->host, sizeof(r->host), v, vl);
    }
#undef IS
}

/* The sections a method may carry, and which body ends them. */
static int check_sections(struct icap_request *r, char *err, size_t errlen)
{
    const int64_t *o = r->off;
    int bodies = 0;
    for (int s = ICAP_REQ_BODY; s < ICAP_SECTIONS; s++)
        if (o[s] >= 0) {
            bodies++;
            r->body = (enum icap_section)s;
        }
    if (r->method == ICAP_OPTIONS) {
        if (r->have_encapsulated && (bodies != 1 || o[ICAP_REQ_HDR] >= 0 ||
                                     o[ICAP_RES_HDR] >= 0))
            return fail(err, errlen, 400, "OPTIONS: Encapsulated may only be null-body or opt-body");
        r->body = r->have_encapsulated ? r->body : ICAP_NULL_BODY;
        r->heads_len = 0;
        return 0;
    }
    if (!r->have_encapsulated)
        return fail(err, errlen, 400, "missing Encapsulated header");
    if (bodies != 1 || o[ICAP_OPT_BODY] >= 0)
        return fail(err, errlen, 400, "Encapsulated: needs exactly one of req-body, res-body, null-body");
    if (r->method == ICAP_REQMOD &&
        (o[ICAP_REQ_HDR] < 0 || o[ICAP_RES_HDR] >= 0 || o[ICAP_RES_BODY] >= 0))
        return fail(err, errlen, 400, "REQMOD: Encapsulated needs req-hdr and req-body or null-body");
    if (r->method == ICAP_RESPMOD && o[ICAP_REQ_BODY] >= 0)
        return fail(err, errlen, 400, "RESPMOD: Encapsulated cannot carry req-body");
    int first = o[ICAP_REQ_HDR] >= 0 ? ICAP_REQ_HDR : o[ICAP_RES_HDR] >= 0 ? ICAP_RES_HDR
                                                                             : r->body;
    if (o[first] != 0)
        return fail(err, errlen, 400, "Encapsulated: the first entity must start at 0");
    r->heads_len = (size_t)o[r->body];
    if (r->preview == -2)
        return fail(err, errlen, 400, "malformed Preview header");
    return 0;
}

int icap_parse_head(const char *head, size_t len, struct icap_request *r,
                    char *err, size_t errlen)
{
    memset(r, 0, sizeof(*r));
    for (int i = 0; i < ICAP_SECTIONS; i++)
        r->off[i] = -1;
    r->preview = -1;
    r->method = ICAP_OTHER;
    if (memchr(head, '\0', len))
        return fail(err, errlen, 400, "NUL byte in the head");
    char line[ICAP_HEAD_MAX];
    size_t off = 0;
    unsigned n = 0;
    bool cut;
    while (line_next(head, len, &off, line, sizeof(line), &cut)) {
        size_t ll = strlen(line);
        if (cut)
            return fail(err, errlen, 400, "header line too long");
        if (n++ == 0) {
            int st = request_line(line, r, err, errlen);
            if (st)
                return st;
            continue;
        }
        if (!ll)
            break;
        if (!strchr(line, ':') || line[0] == ' ' || line[0] == '\t')
            return fail(err, errlen, 400, "malformed header line");
        if (!strncasecmp(line, "Encapsulated:", 13)) {
            if (r->have_encapsulated)
                return fail(err, errlen, 400, "Encapsulated given twice");
            int st = encapsulated(line + 13, r, err, errlen);
            if (st)
                return st;
            continue;
        }
        header(line, r);
    }
    if (!n)
        return fail(err, errlen, 400, "empty request");
    return check_sections(r, err, errlen);
}

bool icap_section_span(const struct icap_request *r, enum icap_section s,
                       size_t *start, size_t *len)
{
    if (r->off[s] < 0 || s >= ICAP_REQ_BODY)
        return false;
    size_t end = r->heads_len;
    for (int t = s + 1; t < ICAP_SECTIONS; t++)
        if (r->off[t] >= 0) {
            end = (size_t)r->off[t];
            break;
        }
    *start = (size_t)r->off[s];
    *len = end - *start;
    return true;
}

/* --- chunked bodies ---------------------------------------------------- */

void icap_chunks_reset(struct icap_chunks *c)
{
    memset(c, 0, sizeof(*c));
}

/* Takes bytes up to and including LF into c->line; true when complete
 * (CR/LF removed). */
static bool take_line(struct icap_chunks *c, const uint8_t *d, size_t n,
                      size_t *used, bool *too_long)
{
    const uint8_t *lf = memchr(d, '\n', n);
    size_t take = lf ? (size_t)(lf - d) + 1 : n;
    *used = take;
    if (c->line_len + take >= sizeof(c->line)) {
        *too_long = true;
        return false;
    }
    memcpy(c->line + c->line_len, d, take);
    c->line_len += take;
    if (!lf)
        return false;
    size_t l = c->line_len - 1;
    if (l && c->line[l - 1] == '\r')
        l--;
    c->line[l] = '\0';
    c->line_len = 0;
    return true;
}

/* "1a2b[; ext[=v]...]": the size, and whether ieof is among extensions. */
static bool size_line(struct icap_chunks *c, char *err, size_t errlen)
{
    char *end;
    if (!isxdigit((unsigned char)c->line[0])) {
        snprintf(err, errlen, "chunk size is not hexadecimal");
        return false;
    }
    unsigned long long sz = strtoull(c->line, &end, 16);
    if (sz > (1ull << 40)) {
        snprintf(err, errlen, "chunk size too large");
        return false;
    }
    while (*end == ' ' || *end == '\t')
        end++;
    if (*end && *end != ';') {
        snprintf(err, errlen, "junk after the chunk size");
        return false;
    }
    c->left = sz;
    if (sz == 0) {
        c->ieof = strstr(end, "ieof") != NULL;
        c->state = CH_TRAILER;
    } else {
        c->state = CH_DATA;
    }
    return true;
}

ssize_t icap_chunks_feed(struct icap_chunks *c, const uint8_t *d, size_t n,
                         icap_data_fn fn, void *ctx, char *err, size_t errlen)
{
    size_t i = 0;
    while (i < n && c->state != CH_DONE) {
        size_t used = 0;
        bool too_long = false;
        switch (c->state) {
        case CH_SIZE:
            if (take_line(c, d + i, n - i, &used, &too_long) &&
                !size_line(c, err, errlen))
                return -1;
            break;
        case CH_DATA:
            used = n - i < c->left ? n - i : (size_t)c->left;
            fn(ctx, d + i, used);
            c->left -= used;
            c->total += used;
            if (!c->left)
                c->state = CH_DATA_CRLF;
            break;
        case CH_DATA_CRLF:
            if (take_line(c, d + i, n - i, &used, &too_long)) {
                if (c->line[0]) {
                    snprintf(err, errlen, "chunk data longer than its size");
                    return -1;
                }
                c->state = CH_SIZE;
            }
            break;
        case CH_TRAILER: /* trailer lines until the empty one */
            if (take_line(c, d + i, n - i, &used, &too_long) && !c->line[0])
                c->state = CH_DONE;
            break;
        }
        if (too_long) {
            snprintf(err, errlen, "chunk line longer than %d bytes", ICAP_CHUNK_LINE_MAX);
            return -1;
        }
        i += used;
    }
    return (ssize_t)i;
}
