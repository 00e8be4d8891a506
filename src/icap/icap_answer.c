/* icap_answer.c -- what nightjar-icap writes back: the ISTag, OPTIONS,
 * 204s and errors, the message unmodified, and the 403 block page (built
 * in, or the operator's with {{url}}, {{reason}} and {{client}} filled in,
 * HTML-escaped). Writes into a connection's output buffer; never reads a
 * socket and never decides a verdict.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "icap/icap_internal.h"
#include "version.h"

/* "NJ-<start>-<generation>": new whenever feeds or rules change. */
void icap_update_istag(struct icap_server *s)
{
    uint64_t gen = judge_generation(s->judge) + icap_scan_generation(s->scan);
    if (gen == s->istag_gen && s->istag[0])
        return;
    s->istag_gen = gen;
    snprintf(s->istag, sizeof(s->istag), "\"NJ-%llx-%llu\"",
             (unsigned long long)(s->started_wall / 1000000u),
             (unsigned long long)gen);
}

static const char default_page[] =
    "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\">"
    "<title>Blocked</title></head>\n<body>\n<h1>This content was blocked by "
    "nightjar</h1>\n<p>The address <code>{{url}}</code> was blocked because: "
    "{{reason}}</p>\n<p>If you think this is a mistake, tell your security "
    "team; quote this page.</p>\n</body></html>\n";

bool icap_load_block_page(struct icap_server *s, char *err, size_t errlen)
{
    const char *path = s->cfg.icap.block_page;
    if (!path[0]) {
        s->block_page = strdup(default_page);
        s->block_page_len = strlen(default_page);
        return s->block_page != NULL;
    }
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(err, errlen, "icap.block-page %s: %s", path, strerror(errno));
        return false;
    }
    s->block_page = malloc(BLOCK_PAGE_MAX + 1);
    size_t n = s->block_page ? fread(s->block_page, 1, BLOCK_PAGE_MAX + 1, f) : 0;
    fclose(f);
    if (!s->block_page || n > BLOCK_PAGE_MAX || n == 0) {
        snprintf(err, errlen, "icap.block-page %s: empty, unreadable or over "
                 "%u bytes", path, BLOCK_PAGE_MAX);
        return false;
    }
    s->block_page[n] = '\0';
    s->block_page_len = n;
    return true;
}

/* HTML-escaped text into b */
static void add_escaped(struct buf *b, const char *t)
{
    for (; *t; t++) {
        switch (*t) {
        case '<': buf_add(b, "&lt;", 4); break;
        case '>': buf_add(b, "&gt;", 4); break;
        case '&': buf_add(b, "&amp;", 5); break;
        case '"': buf_add(b, "&quot;", 6); break;
        default: buf_add(b, t, 1);
        }
    }
}

/* The page with {{url}}, {{reason}} and {{client}} filled in. */
static void render_page(const struct icap_server *s, const struct conn *c,
                        struct buf *page)
{
    const char *p = s->block_page;
    while (*p) {
        const char *m = strstr(p, "{{");
        if (!m) {
            buf_add(page, p, strlen(p));
            break;
        }
        buf_add(page, p, (size_t)(m - p));
        if (!strncmp(m, "{{url}}", 7)) {
            add_escaped(page, c->tx.uri);
            p = m + 7;
        } else if (!strncmp(m, "{{reason}}", 10)) {
            add_escaped(page, c->v.reason);
            p = m + 10;
        } else if (!strncmp(m, "{{client}}", 10)) {
            add_escaped(page, c->req.client_ip[0] ? c->req.client_ip : c->peer);
            p = m + 10;
        } else {
            buf_add(page, "{{", 2);
            p = m + 2;
        }
    }
}

/* --- answers --------------------------------------------------------------- */

void icap_status_line(struct icap_server *s, struct conn *c, int status,
                             const char *phrase)
{
    icap_update_istag(s);
    buf_printf(&c->out, "ICAP/1.0 %d %s\r\nServer: nightjar-icap/%s\r\n"
               "ISTag: %s\r\n%s", status, phrase, NIGHTJAR_VERSION, s->istag,
               c->closing ? "Connection: close\r\n" : "");
}

/* An answer without an encapsulated message (204, errors). */
void icap_answer_empty(struct icap_server *s, struct conn *c, int status,
                         const char *phrase)
{
    icap_status_line(s, c, status, phrase);
    buf_printf(&c->out, "Encapsulated: null-body=0\r\n\r\n");
    if (status >= 500)
        s->st.status_5xx++;
    else if (status >= 400)
        s->st.status_4xx++;
}

void icap_answer_options(struct icap_server *s, struct conn *c)
{
    const struct icap_settings *k = &s->cfg.icap;
    icap_status_line(s, c, 200, "OK");
    buf_printf(&c->out, "Methods: RESPMOD, REQMOD\r\nService: nightjar-icap/%s "
               "content and threat-intelligence scanning\r\nService-ID: nightjar\r\n"
               "Max-Connections: %u\r\nOptions-TTL: %u\r\nAllow: 204\r\n"
               "Preview: %u\r\nTransfer-Preview: *\r\n", NIGHTJAR_VERSION,
               k->max_connections, k->options_ttl, k->preview);
    if (k->transfer_ignore[0])
        buf_printf(&c->out, "Transfer-Ignore: %s\r\n", k->transfer_ignore);
    if (k->transfer_complete[0])
        buf_printf(&c->out, "Transfer-Complete: %s\r\n", k->transfer_complete);
    buf_printf(&c->out, "Encapsulated: null-body=0\r\n\r\n");
}

/* One HTTP head of the request, as it came. */
bool icap_section(const struct conn *c, enum icap_section sec,
                    const uint8_t **p, size_t *n)
{
    size_t start, len;
    if (!icap_section_span(&c->req, sec, &start, &len) || start + len > c->heads.len)
        return false;
    *p = c->heads.p + start;
    *n = len;
    return true;
}

/* The message as it came: its HTTP head, then a body entity. */
void icap_encapsulated_original(struct conn *c, const char *body_kind)
{
    bool resp = c->req.method == ICAP_RESPMOD;
    const uint8_t *h;
    size_t n = 0;
    if (!icap_section(c, resp ? ICAP_RES_HDR : ICAP_REQ_HDR, &h, &n)) {
        buf_printf(&c->out, "Encapsulated: null-body=0\r\n\r\n");
        return;
    }
    bool has_body = c->req.body != ICAP_NULL_BODY;
    buf_printf(&c->out, "Encapsulated: %s=0, %s=%zu\r\n\r\n",
               resp ? "res-hdr" : "req-hdr",
               has_body ? body_kind : "null-body", n);
    buf_add(&c->out, h, n);
}

void icap_add_chunk(struct buf *b, const uint8_t *d, size_t n)
{
    if (!n)
        return;
    buf_printf(b, "%zx\r\n", n);
    buf_add(b, d, n);
    buf_add(b, "\r\n", 2);
}

/* 200 with the message unmodified (the client did not allow 204). */
void icap_answer_unmodified(struct icap_server *s, struct conn *c)
{
    icap_status_line(s, c, 200, "OK");
    bool resp = c->req.method == ICAP_RESPMOD;
    icap_encapsulated_original(c, resp ? "res-body" : "req-body");
    if (c->req.body != ICAP_NULL_BODY) {
        icap_add_chunk(&c->out, c->body.p, c->body.len);
        buf_add(&c->out, "0\r\n\r\n", 5);
    }
    s->st.status_200_unmodified++;
}

void icap_answer_block(struct icap_server *s, struct conn *c)
{
    struct buf page = { 0 };
    render_page(s, c, &page);
    char head[512];
    int hn = snprintf(head, sizeof(head), "HTTP/1.1 403 Forbidden\r\n"
                      "Content-Type: text/html; charset=utf-8\r\n"
                      "Content-Length: %zu\r\nCache-Control: no-store\r\n"
                      "X-Nightjar-Verdict: blocked\r\n\r\n", page.len);
    icap_status_line(s, c, 200, "OK");
    buf_printf(&c->out, "Encapsulated: res-hdr=0, res-body=%d\r\n\r\n", hn);
    buf_add(&c->out, head, (size_t)hn);
    icap_add_chunk(&c->out, page.p, page.len);
    buf_add(&c->out, "0\r\n\r\n", 5);
    buf_free(&page);
    s->st.status_200_block++;
}
