/* app_layer.c -- application-layer glue (see app_layer.h). */
#include "app/app_layer.h"
#include "util/counters.h"

#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "content/content.h"
#include "content/file.h"
#include "intel/intel_feeds.h"
#include "proto/app_detect.h"
#include "proto/dcerpc.h"
#include "proto/dns.h"
#include "proto/ftp.h"
#include "proto/http.h"
#include "proto/http2.h"
#include "proto/mime.h"
#include "proto/smtp.h"

#define DNS_PENDING_MAX 8
#define DNS_TCP_MAX 65537
#define ALERTED_MAX 16
#define POOL_MAX 1024   /* idle objects kept per kind for reuse */

/* Objects of one kind that flows gave back, reused before allocating. */
struct pool {
    void *item[POOL_MAX];
    unsigned n;
};

static void *pool_take(struct pool *p)
{
    return p->n ? p->item[--p->n] : NULL;
}

static bool pool_give(struct pool *p, void *x)
{
    if (p->n == POOL_MAX)
        return false;
    p->item[p->n++] = x;
    return true;
}

struct dns_pending {
    uint16_t id;
    uint64_t usec;
};

struct app_flow {
    struct http_state *http;
    struct http2_state *http2;
    struct smtp_state *smtp;
    struct ftp_state *ftp;
    struct dcerpc_state *rpc;
    bool http_off, http2_off, smtp_off, ftp_off, dns_off, rpc_off;
    uint8_t inner;                 /* parser of decrypted data; 0 unknown */
    bool inner_tried;
    unsigned n_pend;
    struct dns_pending pend[DNS_PENDING_MAX];
    uint8_t *dns_buf[2];           /* TCP DNS: a message across segments */
    uint32_t dns_len[2];
    uint8_t *win[2];               /* YARA stream windows */
    uint32_t win_len[2];
    bool win_done[2];
    unsigned n_alerted;
    uint32_t alerted[ALERTED_MAX]; /* signature ids already alerted */
    size_t mem;                    /* counted against the memcap */
};

struct app_stats {
    uint64_t flows_parsed, memcap_refused, windows_scanned, alerts;
    uint64_t window_body_bytes;   /* HTTP/1 body bytes left to their files */
    uint64_t alerts_deduplicated, alerts_dedup_full, dns_unanswered;
    uint64_t dns_pending_over_cap;
    uint64_t files;
};

struct app_parser;
struct app_layer;
static void parsers_register(struct app_layer *al);

struct app_layer {
    struct nj_config cfg;
    const struct app_parser *by_proto[APP_COUNT]; /* enabled parsers */
    struct app_observers obs;
    void *obs_ctx;
    finding_fn finding_sink;
    void *finding_ctx;
    struct content_engine *content;
    struct dns_cache *dns_cache;
    struct http_limits http_lim;
    bool feeds_seen;                 /* app_layer_follow_feeds() ran */
    uint64_t feed_swaps;             /* ... and saw this many swaps */
    struct dns_msg dns;            /* the message being handled */
    struct email_info email;       /* the mail being handled */
    struct content_result result;  /* the file being judged */
    struct file_buffers bufs;      /* kept bytes of open files */
    uint64_t mem_used;
    struct pool flows, https, http2s, smtps, ftps, rpcs, dnsbufs, windows;
    uint64_t mem_pooled;
    struct dns_stats dns_st;
    struct http_stats http_st;
    struct http2_stats http2_st;
    uint64_t h2c_upgrades;
    struct smtp_stats smtp_st;
    struct ftp_stats ftp_st;
    struct dcerpc_stats rpc_st;
    struct mime_stats mime_st;
    struct app_stats st;
};

/* what the parser callbacks get */
struct app_ctx {
    struct app_layer *al;
    struct flow *f;
    uint64_t now;
};

struct app_layer *app_layer_new(const struct nj_config *cfg, char *err,
                                size_t errlen)
{
    struct app_layer *al = calloc(1, sizeof(*al));
    if (!al) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    al->cfg = *cfg;
    parsers_register(al);
    al->http_lim.file_max = cfg->file_max;
    al->http_lim.decompress_max = cfg->http_decompress_max;
    al->http_lim.decompress_ratio = cfg->http_decompress_ratio;
    al->http_lim.bufs = &al->bufs;
    al->content = content_engine_new(&cfg->content, err, errlen);
    if (al->content)
        al->http_lim.hash_mask = content_hash_mask(al->content);
    al->dns_cache = dns_cache_new(cfg->dns_cache_entries, cfg->dns_cache_grace);
    if (!al->content || !al->dns_cache) {
        if (al->content && !al->dns_cache)
            snprintf(err, errlen, "out of memory for the DNS cache");
        app_layer_free(al);
        return NULL;
    }
    return al;
}

static void pool_drain(struct pool *p, void (*release)(void *))
{
    while (p->n)
        release(p->item[--p->n]);
}

static void http_release(void *x) { http_state_free(x); }
static void http2_release(void *x) { http2_state_free(x); }
static void smtp_release(void *x) { smtp_state_free(x); }
static void ftp_release(void *x) { ftp_state_free(x); }

void app_layer_free(struct app_layer *al)
{
    if (!al)
        return;
    pool_drain(&al->flows, free);
    pool_drain(&al->https, http_release);
    pool_drain(&al->http2s, http2_release);
    pool_drain(&al->smtps, smtp_release);
    pool_drain(&al->ftps, ftp_release);
    pool_drain(&al->rpcs, free);
    pool_drain(&al->dnsbufs, free);
    pool_drain(&al->windows, free);
    file_buffers_free(&al->bufs);
    content_engine_free(al->content);
    dns_cache_free(al->dns_cache);
    free(al);
}

void app_layer_follow_feeds(struct app_layer *al, const struct intel_feeds *f)
{
    uint64_t swaps = intel_feeds_swaps(f);
    if (al->feeds_seen && swaps == al->feed_swaps)
        return;
    al->feeds_seen = true;
    al->feed_swaps = swaps;
    unsigned mask = (intel_feeds_hold(f, IOC_FILE_MD5) ? 1u << DIGEST_MD5 : 0) |
                    (intel_feeds_hold(f, IOC_FILE_SHA1) ? 1u << DIGEST_SHA1 : 0);
    content_set_feed_hashes(al->content, mask);
    al->http_lim.hash_mask = content_hash_mask(al->content);
}

const struct dns_cache *app_layer_dns_cache(const struct app_layer *al)
{
    return al->dns_cache;
}

uint64_t app_layer_memory(const struct app_layer *al)
{
    return al->mem_used + al->mem_pooled + al->bufs.used_bytes +
           al->bufs.idle_bytes + dns_cache_memory(al->dns_cache);
}

/* --- per-flow state ---------------------------------------------------- */

static bool charge(struct app_layer *al, struct app_flow *a, size_t n)
{
    if (al->mem_used + n > al->cfg.app_memcap) {
        al->st.memcap_refused++;
        return false;
    }
    al->mem_used += n;
    a->mem += n;
    return true;
}

static struct app_flow *app_of(struct app_layer *al, struct flow *f)
{
    if (f->app)
        return f->app;
    if (al->mem_used + sizeof(struct app_flow) > al->cfg.app_memcap) {
        al->st.memcap_refused++;
        return NULL;
    }
    struct app_flow *a = pool_take(&al->flows);
    if (a) {
        memset(a, 0, sizeof(*a));
        al->mem_pooled -= sizeof(*a);
    } else if (!(a = calloc(1, sizeof(*a)))) {
        return NULL;
    }
    a->mem = sizeof(*a);
    al->mem_used += a->mem;
    f->app = a;
    return a;
}

static void give_back(struct app_layer *al, struct pool *p, void *x,
                      size_t size, void (*release)(void *))
{
    if (pool_give(p, x))
        al->mem_pooled += size;
    else
        release(x);
}

/* Takes an idle object of a kind; the caller charges it. */
static void *reuse(struct app_layer *al, struct pool *p, size_t size)
{
    void *x = pool_take(p);
    if (x)
        al->mem_pooled -= size;
    return x;
}

static void *new_http(void) { return http_state_new(); }
static void *new_http2(void) { return http2_state_new(); }
static void *new_smtp(void) { return smtp_state_new(); }
static void *new_ftp(void) { return ftp_state_new(); }
static void *new_rpc(void) { return malloc(sizeof(struct dcerpc_state)); }

/* A flow's parser state: an idle one from the pool, else a new one,
 * charged to the memcap. NULL when refused. */
static void *parser_state(struct app_layer *al, struct app_flow *a,
                          struct pool *p, size_t size, void *(*make)(void))
{
    if (!charge(al, a, size))
        return NULL;
    void *x = reuse(al, p, size);
    if (!x)
        x = make();
    if (x)
        al->st.flows_parsed++;
    return x;
}

static void app_free(struct app_layer *al, struct flow *f)
{
    struct app_flow *a = f->app;
    if (!a)
        return;
    al->mem_used -= a->mem;
    if (a->http) {
        http_state_reset(a->http);
        give_back(al, &al->https, a->http, http_state_size(), http_release);
    }
    if (a->http2) {
        http2_state_reset(a->http2);
        give_back(al, &al->http2s, a->http2, http2_state_size(), http2_release);
    }
    if (a->smtp) {
        smtp_state_reset(a->smtp);
        give_back(al, &al->smtps, a->smtp, smtp_state_size(), smtp_release);
    }
    if (a->ftp) {
        ftp_state_reset(a->ftp); /* wiped: nothing of the session stays */
        give_back(al, &al->ftps, a->ftp, ftp_state_size(), ftp_release);
    }
    if (a->rpc)
        give_back(al, &al->rpcs, a->rpc, sizeof(*a->rpc), free);
    for (int d = 0; d < 2; d++) {
        if (a->dns_buf[d])
            give_back(al, &al->dnsbufs, a->dns_buf[d], DNS_TCP_MAX, free);
        if (a->win[d])
            give_back(al, &al->windows, a->win[d],
                      (size_t)al->cfg.yara_stream_window, free);
    }
    f->app = NULL;
    give_back(al, &al->flows, a, sizeof(*a), free);
}

void app_flow_started(struct app_layer *al, struct flow *f, uint64_t now)
{
    if (!al->cfg.dns_enabled)
        return;
    struct dns_ref ref;
    if (dns_cache_lookup(al->dns_cache, flow_addr(f, 1), f->key.ip_version,
                         now, &ref)) {
        f->name_slot = ref.slot;
        f->name_gen = ref.gen;
    }
}

/* --- alerts and files -------------------------------------------------- */

static bool first_alert(struct app_layer *al, struct app_flow *a, uint32_t sid)
{
    if (!a)
        return true;
    for (unsigned i = 0; i < a->n_alerted; i++)
        if (a->alerted[i] == sid) {
            al->st.alerts_deduplicated++;
            return false;
        }
    if (a->n_alerted < ALERTED_MAX)
        a->alerted[a->n_alerted++] = sid;
    else
        al->st.alerts_dedup_full++; /* remembered no more: may alert again */
    return true;
}

/* Each rule that matched is a content finding, once per rule per flow. */
static void alerts(struct app_layer *al, struct flow *f, uint64_t now,
                   const struct content_result *r, const struct file_event *fl,
                   int dir)
{
    for (unsigned i = 0; i < r->n_matches; i++) {
        const struct content_match *m = &r->matches[i];
        uint32_t sid = content_match_sid(m);
        if (!first_alert(al, f->app, sid))
            continue;
        al->st.alerts++;
        if (!al->finding_sink)
            continue;
        struct finding fd;
        finding_of_content(&fd, m, fl, dir, f, now);
        al->finding_sink(al->finding_ctx, &fd);
    }
}

void app_layer_set_observers(struct app_layer *al, const struct app_observers *o,
                             void *ctx)
{
    al->obs = *o;
    al->obs_ctx = ctx;
}

void app_layer_set_finding_sink(struct app_layer *al, finding_fn fn, void *ctx)
{
    al->finding_sink = fn;
    al->finding_ctx = ctx;
}

/* A file is complete and typed: the event first (its record, the
 * detectors that read files), then its content findings. */
static void file_judged(struct app_layer *al, struct flow *f, uint64_t now,
                        struct file_event *fl)
{
    al->st.files++;
    if (al->obs.file)
        al->obs.file(al->obs_ctx, f, fl, now);
    alerts(al, f, now, fl->r, fl, fl->dir);
}

/* --- HTTP -------------------------------------------------------------- */

static void http_file_done(void *ctx, const struct http_tx *tx, int dir,
                           struct nj_file *file)
{
    struct app_ctx *c = ctx;
    struct app_layer *al = c->al;
    file_end(file, al->content, &al->result);
    struct file_event fl = {
        .name = file->name, .size = file->size, .truncated = file->truncated,
        .gap = file->gap, .dir = dir, .tx_id = tx->seq - 1,
        .r = &al->result, .http = tx,
    };
    file_judged(al, c->f, c->now, &fl);
}

static void http_tx_done(void *ctx, const struct http_tx *tx)
{
    struct app_ctx *c = ctx;
    if (c->al->obs.http)
        c->al->obs.http(c->al->obs_ctx, c->f, tx, c->now);
}

static const struct http_callbacks http_cb = { http_file_done, http_tx_done };

static void h2c_switch(struct app_layer *al, struct flow *f,
                       struct app_flow *a, int dir, const uint8_t *d,
                       size_t n, uint64_t now);

static void http_data(struct app_layer *al, struct flow *f,
                      struct app_flow *a, int dir, const uint8_t *d,
                      size_t n, uint64_t now)
{
    if (a->http_off)
        return;
    if (!a->http &&
        !(a->http = parser_state(al, a, &al->https, http_state_size(), new_http))) {
        a->http_off = true;
        return;
    }
    struct app_ctx c = { al, f, now };
    if (!http_feed(a->http, dir, d, n, now, &al->http_lim, &http_cb, &c,
                   &al->http_st)) {
        a->http_off = true;
        h2c_switch(al, f, a, dir, d, n, now);
    }
}

/* --- HTTP/2 ------------------------------------------------------------ */

/* HTTP/2 on any flow: h2c found by its preface, the rest of an upgraded
 * HTTP/1.1 connection, or (through this row of the parser table) the
 * plaintext of a TLS session whose ALPN was "h2". */
static void http2_data(struct app_layer *al, struct flow *f,
                       struct app_flow *a, int dir, const uint8_t *d,
                       size_t n, uint64_t now)
{
    if (a->http2_off)
        return;
    if (!a->http2 &&
        !(a->http2 = parser_state(al, a, &al->http2s, http2_state_size(),
                                  new_http2))) {
        a->http2_off = true;
        return;
    }
    struct app_ctx c = { al, f, now };
    if (!http2_feed(a->http2, dir, d, n, now, &al->http_lim, &http_cb, &c,
                    &al->http2_st))
        a->http2_off = true;
}

/* The HTTP/1 parser stopped at a 101 that took an h2c upgrade: stream 1
 * is its request, the flow is HTTP/2 from here on, and the bytes of this
 * chunk after the 101's headers are the first HTTP/2 ones. */
static void h2c_switch(struct app_layer *al, struct flow *f,
                       struct app_flow *a, int dir, const uint8_t *d,
                       size_t n, uint64_t now)
{
    size_t rest = 0;
    int server_dir = dir;
    const struct http_tx *up = http_h2c_upgrade(a->http, &rest, &server_dir);
    if (!up || rest > n || !al->by_proto[APP_HTTP2] || a->http2)
        return;
    if (!(a->http2 = parser_state(al, a, &al->http2s, http2_state_size(),
                                  new_http2)))
        return;
    http2_upgrade(a->http2, up, server_dir, now, &al->http2_st);
    al->h2c_upgrades++;
    if (a->inner)
        a->inner = APP_HTTP2;         /* inside decrypted TLS */
    else
        f->app_proto = APP_HTTP2;
    if (rest)
        http2_data(al, f, a, dir, d + n - rest, rest, now);
}

/* --- SMTP -------------------------------------------------------------- */

struct smtp_file_ctx {
    struct app_ctx *c;
    const struct smtp_tx *tx;
    unsigned n;
};

static void smtp_attachment(void *ctx, const char *name, const char *ctype,
                            const uint8_t *data, size_t len)
{
    struct smtp_file_ctx *s = ctx;
    struct app_layer *al = s->c->al;
    (void)ctype;
    size_t keep = len < al->cfg.file_max ? len : (size_t)al->cfg.file_max;
    struct file_hashes h;
    content_digest(al->content, data, len, &h);
    content_inspect(al->content, data, keep, &h, keep == len, &al->result);
    if (keep < len) /* typed from its beginning only */
        file_type_sniff(data, keep, len, &al->result.type);
    struct file_event fl = {
        .name = name, .size = len, .truncated = keep < len,
        .gap = s->tx->message_truncated, .dir = 0, .tx_id = s->n++,
        .r = &al->result, .smtp = s->tx,
    };
    file_judged(al, s->c->f, s->c->now, &fl);
}

static void smtp_tx_done(void *ctx, const struct smtp_tx *tx,
                         const uint8_t *msg, size_t len)
{
    struct app_ctx *c = ctx;
    struct app_layer *al = c->al;
    struct smtp_file_ctx fc = { c, tx, 0 };
    if (msg)
        mime_parse(msg, len, &al->email, smtp_attachment, &fc, &al->mime_st);
    if (al->obs.smtp)
        al->obs.smtp(al->obs_ctx, c->f, tx, msg ? &al->email : NULL, c->now);
}

static const struct smtp_callbacks smtp_cb = { smtp_tx_done };

static void smtp_data(struct app_layer *al, struct flow *f,
                      struct app_flow *a, int dir, const uint8_t *d,
                      size_t n, uint64_t now)
{
    if (a->smtp_off)
        return;
    if (!a->smtp &&
        !(a->smtp = parser_state(al, a, &al->smtps, smtp_state_size(), new_smtp))) {
        a->smtp_off = true;
        return;
    }
    struct app_ctx c = { al, f, now };
    if (!smtp_feed(a->smtp, dir, d, n, now, (size_t)al->cfg.smtp_message_max,
                   &smtp_cb, &c, &al->smtp_st))
        a->smtp_off = true;
}

/* --- FTP -------------------------------------------------------------- */

static void ftp_tx_done(void *ctx, const struct ftp_tx *tx)
{
    struct app_ctx *c = ctx;
    struct app_layer *al = c->al;
    if (al->obs.ftp)
        al->obs.ftp(al->obs_ctx, c->f, tx, c->now);
}

static const struct ftp_callbacks ftp_cb = { ftp_tx_done };

static void ftp_data(struct app_layer *al, struct flow *f, struct app_flow *a,
                     int dir, const uint8_t *d, size_t n, uint64_t now)
{
    if (a->ftp_off)
        return;
    if (!a->ftp &&
        !(a->ftp = parser_state(al, a, &al->ftps, ftp_state_size(), new_ftp))) {
        a->ftp_off = true;
        return;
    }
    struct app_ctx c = { al, f, now };
    if (!ftp_feed(a->ftp, dir, d, n, now, &ftp_cb, &c, &al->ftp_st))
        a->ftp_off = true;
}

/* --- MS-RPC (its own port, or SMB2 pipes) -------------------------------- */

static void rpc_call(void *ctx, const struct dcerpc_call *call)
{
    struct app_ctx *c = ctx;
    struct app_layer *al = c->al;
    if (al->obs.rpc)
        al->obs.rpc(al->obs_ctx, c->f, call, c->now);
}

static void rpc_data(struct app_layer *al, struct flow *f, struct app_flow *a,
                     int dir, const uint8_t *d, size_t n, uint64_t now)
{
    if (dir != 0 || a->rpc_off)
        return; /* the client's calls only */
    if (!a->rpc) {
        a->rpc = parser_state(al, a, &al->rpcs, sizeof(*a->rpc), new_rpc);
        if (!a->rpc) {
            a->rpc_off = true;
            return;
        }
        dcerpc_init(a->rpc, f->app_proto == APP_SMB);
    }
    struct app_ctx c = { al, f, now };
    dcerpc_feed(a->rpc, d, n, rpc_call, &c, &al->rpc_st);
}

static void rpc_hole(struct app_layer *al, struct flow *f, struct app_flow *a,
                     int dir, uint64_t len, uint64_t now)
{
    (void)al, (void)f, (void)len, (void)now;
    if (dir == 0 && a->rpc)
        dcerpc_gap(a->rpc);
}


/* --- DNS --------------------------------------------------------------- */

static int64_t dns_pair(struct app_layer *al, struct app_flow *a,
                        const struct dns_msg *m, uint64_t now)
{
    if (!a)
        return -1;
    if (!m->response) {
        if (a->n_pend == DNS_PENDING_MAX) { /* oldest query gave up on */
            memmove(a->pend, a->pend + 1, sizeof(a->pend[0]) * --a->n_pend);
            al->st.dns_pending_over_cap++;
        }
        a->pend[a->n_pend].id = m->id;
        a->pend[a->n_pend++].usec = now;
        return -1;
    }
    for (unsigned i = 0; i < a->n_pend; i++)
        if (a->pend[i].id == m->id) {
            int64_t lat = now >= a->pend[i].usec ? (int64_t)(now - a->pend[i].usec) : 0;
            memmove(a->pend + i, a->pend + i + 1,
                    sizeof(a->pend[0]) * (a->n_pend - i - 1));
            a->n_pend--;
            return lat;
        }
    return -1;
}

/* counted: false for an answer another worker counts (app_dns_learn) */
static void dns_remember(struct app_layer *al, const struct dns_msg *m,
                         uint64_t now, bool counted)
{
    if (!m->response || !m->n_questions || m->rcode != 0)
        return;
    unsigned n_addrs = 0;
    for (unsigned i = 0; i < m->n_rrs; i++)
        n_addrs += m->rr[i].section == DNS_SEC_ANSWER &&
                   (m->rr[i].type == 1 || m->rr[i].type == 28);
    for (unsigned i = 0; i < m->n_rrs; i++) {
        const struct dns_rr *rr = &m->rr[i];
        if (rr->section != DNS_SEC_ANSWER || (rr->type != 1 && rr->type != 28) ||
            !rr->data[0])
            continue;
        struct ip_addr a;
        memset(&a, 0, sizeof(a));
        memcpy(&a, rr->addr, rr->type == 1 ? 4 : 16);
        (counted ? dns_cache_insert : dns_cache_learn)(
            al->dns_cache, &a, rr->type == 1 ? 4 : 6, m->q[0].name, rr->ttl,
            (uint8_t)(n_addrs > 255 ? 255 : n_addrs), now);
    }
}

static void dns_message(struct app_layer *al, struct flow *f,
                        const uint8_t *d, size_t n, uint64_t now)
{
    if (!dns_parse(d, n, &al->dns, &al->dns_st))
        return;
    int64_t lat = dns_pair(al, app_of(al, f), &al->dns, now);
    dns_remember(al, &al->dns, now, true);
    if (al->obs.dns)
        al->obs.dns(al->obs_ctx, f, &al->dns, lat, now);
}


void app_dns_learn(struct app_layer *al, const uint8_t *d, size_t n,
                   uint64_t now)
{
    struct dns_stats uncounted;
    memset(&uncounted, 0, sizeof(uncounted));
    if (al->by_proto[APP_DNS] && dns_parse(d, n, &al->dns, &uncounted))
        dns_remember(al, &al->dns, now, false);
}

/* DNS over TCP: two length bytes, then the message (RFC 1035 4.2.2). */
static void dns_tcp(struct app_layer *al, struct flow *f, struct app_flow *a,
                    int dir, const uint8_t *d, size_t n, uint64_t now)
{
    while (n && !a->dns_off) {
        if (!a->dns_len[dir] && n >= 2 && n >= 2u + ((d[0] << 8) | d[1])) {
            size_t m = (size_t)((d[0] << 8) | d[1]);
            dns_message(al, f, d + 2, m, now); /* whole in this chunk */
            d += 2 + m;
            n -= 2 + m;
            continue;
        }
        if (!a->dns_buf[dir]) {
            if (!charge(al, a, DNS_TCP_MAX) ||
                !((a->dns_buf[dir] = reuse(al, &al->dnsbufs, DNS_TCP_MAX)) ||
                  (a->dns_buf[dir] = malloc(DNS_TCP_MAX)))) {
                a->dns_off = true;
                return;
            }
        }
        uint8_t *b = a->dns_buf[dir];
        uint32_t *bl = &a->dns_len[dir];
        size_t need = *bl < 2 ? 2 - *bl : 2u + ((b[0] << 8) | b[1]) - *bl;
        size_t k = n < need ? n : need;
        memcpy(b + *bl, d, k);
        *bl += (uint32_t)k;
        d += k;
        n -= k;
        if (*bl >= 2 && *bl == 2u + ((b[0] << 8) | b[1])) {
            dns_message(al, f, b + 2, *bl - 2u, now);
            *bl = 0;
        }
    }
}

/* --- stream windows ---------------------------------------------------- */

static bool cleartext(const struct flow *f)
{
    return !f->tls && !f->tls_sum && f->app_proto != APP_TLS &&
           f->app_proto != APP_SSH && f->app_proto != APP_QUIC &&
           f->app_proto != APP_DTLS;
}

static void window_scan(struct app_layer *al, struct flow *f,
                        struct app_flow *a, int dir, uint64_t now)
{
    a->win_done[dir] = true;
    if (!a->win_len[dir])
        return;
    al->st.windows_scanned++;
    content_scan(al->content, a->win[dir], a->win_len[dir], &al->result);
    alerts(al, f, now, &al->result, NULL, dir);
}

/* Cleartext bytes only: the callers decide (a flow's own bytes when it is
 * cleartext, or what came out of decrypting it). */
static void window_add(struct app_layer *al, struct flow *f,
                       struct app_flow *a, int dir, const uint8_t *d,
                       size_t n, uint64_t now)
{
    size_t cap = (size_t)al->cfg.yara_stream_window;
    if (a->win_done[dir] || !cap)
        return;
    /* an HTTP/1 body is scanned as the file it makes (dechunked, decoded):
     * the window takes what is around bodies -- request lines, headers --
     * by where the parser stands when a chunk arrives: the rest of a
     * Content-Length body is skipped and what follows it taken */
    uint64_t body = a->http ? http_body_ahead(a->http, dir) : 0;
    if (body) {
        size_t skip = body < n ? (size_t)body : n;
        al->st.window_body_bytes += skip;
        d += skip;
        n -= skip;
        if (!n)
            return;
    }
    if (!a->win[dir]) {
        if (!charge(al, a, cap) ||
            !((a->win[dir] = reuse(al, &al->windows, cap)) ||
              (a->win[dir] = malloc(cap)))) {
            a->win_done[dir] = true;
            return;
        }
    }
    size_t k = n < cap - a->win_len[dir] ? n : cap - a->win_len[dir];
    memcpy(a->win[dir] + a->win_len[dir], d, k);
    a->win_len[dir] += (uint32_t)k;
    if (a->win_len[dir] == cap)
        window_scan(al, f, a, dir, now);
}

/* --- the parser table ---------------------------------------------------- */

/* What happens to each protocol's state when a direction has a hole, when
 * the flow ends, and when its state goes back to the pool. */
static void http_hole(struct app_layer *al, struct flow *f, struct app_flow *a,
                      int dir, uint64_t len, uint64_t now)
{
    struct app_ctx c = { al, f, now };
    if (a->http)
        http_gap(a->http, dir, len, &http_cb, &c, &al->http_st);
}

static void http2_hole(struct app_layer *al, struct flow *f,
                       struct app_flow *a, int dir, uint64_t len, uint64_t now)
{
    struct app_ctx c = { al, f, now };
    if (a->http2)
        http2_gap(a->http2, dir, len, &http_cb, &c, &al->http2_st);
}

static void smtp_hole(struct app_layer *al, struct flow *f, struct app_flow *a,
                      int dir, uint64_t len, uint64_t now)
{
    (void)al, (void)f, (void)len, (void)now;
    if (a->smtp)
        smtp_gap(a->smtp, dir);
}

static void ftp_hole(struct app_layer *al, struct flow *f, struct app_flow *a,
                     int dir, uint64_t len, uint64_t now)
{
    (void)len;
    struct app_ctx c = { al, f, now };
    if (a->ftp && !a->ftp_off) {
        ftp_gap(a->ftp, dir, &ftp_cb, &c, &al->ftp_st);
        a->ftp_off = true;
    }
}

static void dns_hole(struct app_layer *al, struct flow *f, struct app_flow *a,
                     int dir, uint64_t len, uint64_t now)
{
    (void)al, (void)f, (void)len, (void)now;
    a->dns_off = true;  /* a message's bytes are gone: framing is lost */
    a->dns_len[dir] = 0;
}

static void http_end(struct app_layer *al, struct flow *f, struct app_flow *a,
                     uint64_t now)
{
    struct app_ctx c = { al, f, now };
    if (a->http)
        http_finish(a->http, &http_cb, &c, &al->http_st);
}

static void http2_end(struct app_layer *al, struct flow *f,
                      struct app_flow *a, uint64_t now)
{
    struct app_ctx c = { al, f, now };
    if (a->http2)
        http2_finish(a->http2, &http_cb, &c, &al->http2_st);
}

static void smtp_end(struct app_layer *al, struct flow *f, struct app_flow *a,
                     uint64_t now)
{
    struct app_ctx c = { al, f, now };
    if (a->smtp)
        smtp_finish(a->smtp, &smtp_cb, &c, &al->smtp_st);
}

static void ftp_end(struct app_layer *al, struct flow *f, struct app_flow *a,
                    uint64_t now)
{
    struct app_ctx c = { al, f, now };
    if (a->ftp)
        ftp_finish(a->ftp, &ftp_cb, &c, &al->ftp_st);
}

static void dns_end(struct app_layer *al, struct flow *f, struct app_flow *a,
                    uint64_t now)
{
    (void)f, (void)now;
    al->st.dns_unanswered += a->n_pend;
}

static void dns_datagram(struct app_layer *al, struct flow *f, int dir,
                         const uint8_t *d, size_t n, uint64_t now)
{
    (void)dir;
    dns_message(al, f, d, n, now);
}

/* Every application parser, registered once: which protocol it reads,
 * the setting that turns it on, and its entry points. Adding a parser is a
 * row here (and its glue above); nothing else dispatches by protocol. */
struct app_parser {
    enum app_proto proto;
    size_t enabled;    /* offsetof the bool in struct nj_config */
    void (*stream)(struct app_layer *, struct flow *, struct app_flow *, int dir,
                   const uint8_t *, size_t, uint64_t now);
    void (*datagram)(struct app_layer *, struct flow *, int dir, const uint8_t *,
                     size_t, uint64_t now);
    void (*gap)(struct app_layer *, struct flow *, struct app_flow *, int dir,
                uint64_t len, uint64_t now);
    void (*end)(struct app_layer *, struct flow *, struct app_flow *,
                uint64_t now);  /* NULL: nothing held to flush */
};

static const struct app_parser parsers[] = {
    { APP_HTTP, offsetof(struct nj_config, http_enabled), http_data, NULL,
      http_hole, http_end },
    { APP_HTTP2, offsetof(struct nj_config, http2_enabled), http2_data, NULL,
      http2_hole, http2_end },
    { APP_SMTP, offsetof(struct nj_config, smtp_enabled), smtp_data, NULL,
      smtp_hole, smtp_end },
    { APP_FTP, offsetof(struct nj_config, ftp_enabled), ftp_data, NULL,
      ftp_hole, ftp_end },
    { APP_DNS, offsetof(struct nj_config, dns_enabled), dns_tcp, dns_datagram,
      dns_hole, dns_end },
    { APP_SMB, offsetof(struct nj_config, dcerpc_enabled), rpc_data, NULL,
      rpc_hole, NULL },
    { APP_DCERPC, offsetof(struct nj_config, dcerpc_enabled), rpc_data, NULL,
      rpc_hole, NULL },
};
#define N_PARSERS (sizeof(parsers) / sizeof(parsers[0]))

static bool parser_enabled(const struct app_layer *al, const struct app_parser *p)
{
    return *(const bool *)((const char *)&al->cfg + p->enabled);
}

/* The enabled parser of a protocol, or NULL. */
static const struct app_parser *parser_of(const struct app_layer *al, uint8_t proto)
{
    return proto < APP_COUNT ? al->by_proto[proto] : NULL;
}

static void parsers_register(struct app_layer *al)
{
    for (size_t i = 0; i < N_PARSERS; i++)
        if (parser_enabled(al, &parsers[i]))
            al->by_proto[parsers[i].proto] = &parsers[i];
}

/* --- entry points ------------------------------------------------------ */

void app_stream_data(struct app_layer *al, struct flow *f, int dir,
                     const uint8_t *data, size_t len, uint64_t now)
{
    const struct app_parser *p = parser_of(al, f->app_proto);
    bool scan = content_has_rules(al->content) && al->cfg.yara_stream_window &&
                cleartext(f) && (!f->app || !f->app->win_done[dir]);
    if (!p && !scan)
        return;
    struct app_flow *a = app_of(al, f);
    if (!a)
        return;
    if (scan)
        window_add(al, f, a, dir, data, len, now);
    if (p)
        p->stream(al, f, a, dir, data, len, now);
}

/* The protocol of a TLS connection's cleartext. */
static uint8_t inner_proto(const struct flow *f, int dir, const uint8_t *data,
                           size_t len, const char *alpn)
{
    if (!strcmp(alpn, "http/1.1") || !strcmp(alpn, "http/1.0"))
        return APP_HTTP;
    if (!strcmp(alpn, "h2"))
        return APP_HTTP2;
    if (f->app_proto != APP_TLS && f->app_proto != APP_QUIC &&
        f->app_proto != APP_UNKNOWN)
        return f->app_proto;          /* STARTTLS: the same protocol goes on */
    /* TLS and QUIC streams: by their first bytes, as a TCP stream would be */
    enum app_proto p = app_detect(6, dir, data, len, flow_port(f, 0),
                                  flow_port(f, 1));
    return p == APP_TLS ? APP_UNKNOWN : (uint8_t)p;
}

void app_decrypted_data(struct app_layer *al, struct flow *f, int dir,
                        const uint8_t *data, size_t len, const char *alpn,
                        uint64_t now)
{
    struct app_flow *a = app_of(al, f);
    if (!a)
        return;
    if (!a->inner && !a->inner_tried) {
        a->inner = inner_proto(f, dir, data, len, alpn);
        a->inner_tried = a->inner != APP_UNKNOWN || dir == 0;
    }
    if (content_has_rules(al->content))
        window_add(al, f, a, dir, data, len, now);
    const struct app_parser *p = parser_of(al, a->inner);
    if (p)
        p->stream(al, f, a, dir, data, len, now);
}

void app_stream_gap(struct app_layer *al, struct flow *f, int dir,
                    uint64_t len, uint64_t now)
{
    struct app_flow *a = f->app;
    if (!a)
        return;
    for (size_t i = 0; i < N_PARSERS; i++)
        parsers[i].gap(al, f, a, dir, len, now);
}

void app_datagram(struct app_layer *al, struct flow *f, int dir,
                  const uint8_t *data, size_t len, uint64_t now)
{
    const struct app_parser *p = parser_of(al, f->app_proto);
    if (p && p->datagram)
        p->datagram(al, f, dir, data, len, now);
}

void app_flow_end(struct app_layer *al, struct flow *f, uint64_t now)
{
    struct app_flow *a = f->app;
    if (!a)
        return;
    for (size_t i = 0; i < N_PARSERS; i++)
        if (parsers[i].end)
            parsers[i].end(al, f, a, now);
    for (int d = 0; d < 2; d++)
        if (a->win[d] && !a->win_done[d])
            window_scan(al, f, a, d, now);
    app_free(al, f);
}

/* --- stats ------------------------------------------------------------- */

void app_layer_counters(const struct app_layer *al, struct counters *r)
{
    counters_u64(r, "dns.messages", &al->dns_st.messages);
    counters_u64(r, "dns.queries", &al->dns_st.queries);
    counters_u64(r, "dns.responses", &al->dns_st.responses);
    counters_u64(r, "dns.unanswered", &al->st.dns_unanswered);
    counters_u64(r, "dns.pending_over_cap", &al->st.dns_pending_over_cap);
#define DNS_W(n) counters_u64(r, "dns." #n, &al->dns_st.n);
    DNS_ERRORS(DNS_W)
#undef DNS_W
    const struct dns_cache_stats *cs = dns_cache_stats(al->dns_cache);
    counters_u64(r, "dns.cache.inserts", &cs->inserts);
    counters_u64(r, "dns.cache.updates", &cs->updates);
    counters_u64(r, "dns.cache.lookups", &cs->lookups);
    counters_u64(r, "dns.cache.hits", &cs->hits);
    counters_u64(r, "dns.cache.expired", &cs->expired);
    counters_u64(r, "dns.cache.evicted_fresh", &cs->evicted_fresh);
    counters_u64(r, "http.requests", &al->http_st.requests);
    counters_u64(r, "http.responses", &al->http_st.responses);
    counters_u64(r, "http.bodies", &al->http_st.bodies);
#define HTTP_W(n) counters_u64(r, "http." #n, &al->http_st.n);
    HTTP_ERRORS(HTTP_W)
#undef HTTP_W
    counters_u64(r, "http2.frames", &al->http2_st.frames);
    counters_u64(r, "http2.streams", &al->http2_st.streams);
    counters_u64(r, "http2.requests", &al->http2_st.requests);
    counters_u64(r, "http2.responses", &al->http2_st.responses);
    counters_u64(r, "http2.bodies", &al->http2_st.bodies);
    counters_u64(r, "http2.settings", &al->http2_st.settings);
    counters_u64(r, "http2.rst_streams", &al->http2_st.rst_streams);
    counters_u64(r, "http2.goaways", &al->http2_st.goaways);
    counters_u64(r, "http2.push_promises", &al->http2_st.push_promises);
    counters_u64(r, "http2.h2c_upgrades", &al->h2c_upgrades);
#define HTTP2_W(n) counters_u64(r, "http2." #n, &al->http2_st.n);
    HTTP2_ERRORS(HTTP2_W)
#undef HTTP2_W
    counters_u64(r, "http2.decompress_errors", &al->http2_st.body.decompress_errors);
    counters_u64(r, "http2.decompression_bombs", &al->http2_st.body.decompression_bombs);
    counters_u64(r, "http2.decompress_over_cap", &al->http2_st.body.decompress_over_cap);
    counters_u64(r, "smtp.commands", &al->smtp_st.commands);
    counters_u64(r, "smtp.replies", &al->smtp_st.replies);
    counters_u64(r, "smtp.transactions", &al->smtp_st.transactions);
    counters_u64(r, "smtp.messages", &al->smtp_st.messages);
#define SMTP_W(n) counters_u64(r, "smtp." #n, &al->smtp_st.n);
    SMTP_ERRORS(SMTP_W)
#undef SMTP_W
    counters_u64(r, "smtp.mime.parts", &al->mime_st.parts);
    counters_u64(r, "smtp.mime.attachments", &al->mime_st.attachments);
    counters_u64(r, "smtp.mime.urls", &al->mime_st.urls);
    counters_u64(r, "smtp.mime.depth_over_cap", &al->mime_st.depth_over_cap);
    counters_u64(r, "smtp.mime.parts_over_cap", &al->mime_st.parts_over_cap);
    counters_u64(r, "smtp.mime.urls_over_cap", &al->mime_st.urls_over_cap);
    counters_u64(r, "smtp.mime.addrs_over_cap", &al->mime_st.addrs_over_cap);
    counters_u64(r, "dcerpc.pdus", &al->rpc_st.pdus);
    counters_u64(r, "dcerpc.binds", &al->rpc_st.binds);
    counters_u64(r, "dcerpc.requests", &al->rpc_st.requests);
    counters_u64(r, "dcerpc.remote_calls", &al->rpc_st.calls);
    counters_u64(r, "dcerpc.smb_records", &al->rpc_st.smb_records);
    counters_u64(r, "dcerpc.smb_skipped", &al->rpc_st.smb_skipped);
    counters_u64(r, "dcerpc.bad", &al->rpc_st.bad);
    counters_u64(r, "dcerpc.contexts_over_cap", &al->rpc_st.contexts_over_cap);
    counters_u64(r, "ftp.commands", &al->ftp_st.commands);
    counters_u64(r, "ftp.replies", &al->ftp_st.replies);
    counters_u64(r, "ftp.transactions", &al->ftp_st.transactions);
    counters_u64(r, "ftp.unanswered", &al->ftp_st.unanswered);
    counters_u64(r, "ftp.logins", &al->ftp_st.logins);
    counters_u64(r, "ftp.passwords_in_clear", &al->ftp_st.passwords_in_clear);
    counters_u64(r, "ftp.uploads", &al->ftp_st.uploads);
    counters_u64(r, "ftp.downloads", &al->ftp_st.downloads);
    counters_u64(r, "ftp.tls_upgrades", &al->ftp_st.tls_upgrades);
#define FTP_W(n) counters_u64(r, "ftp." #n, &al->ftp_st.n);
    FTP_ERRORS(FTP_W)
#undef FTP_W
    const struct content_stats *ct = content_engine_stats(al->content);
    counters_u64(r, "content.files", &al->st.files);
    counters_u64(r, "content.type_table_hits", &ct->type_table_hits);
    counters_u64(r, "content.type_high_entropy", &ct->type_high_entropy);
    counters_u64(r, "content.type_magic_calls", &ct->type_magic_calls);
    counters_u64(r, "content.type_cache_hits", &ct->type_cache_hits);
    counters_u64(r, "content.type_cache_misses", &ct->type_cache_misses);
    counters_u64(r, "content.type_cache_replaced", &ct->type_cache_replaced);
    counters_u64(r, "content.text_untyped", &ct->text_untyped);
    counters_u64(r, "content.yara_rules", &ct->rules);
    counters_mark_copy(r, "content.yara_rules");
    counters_u64(r, "content.yara_rules_shared", &ct->rules_shared);
    counters_u64(r, "content.scans", &ct->scanned);
    counters_u64(r, "content.bytes_scanned", &ct->bytes_scanned);
    counters_u64(r, "content.scans_remembered", &ct->scans_remembered);
    counters_u64(r, "content.clean_cache_replaced", &ct->clean_cache_replaced);
    counters_u64(r, "content.stream_windows_scanned", &al->st.windows_scanned);
    counters_u64(r, "content.stream_window_body_bytes", &al->st.window_body_bytes);
    counters_u64(r, "content.matches", &ct->matches);
    counters_u64(r, "content.matches_over_cap", &ct->matches_over_cap);
    counters_u64(r, "content.scan_errors", &ct->scan_errors);
    counters_u64(r, "content.scan_timeouts", &ct->scan_timeouts);
    counters_u64(r, "content.alerts", &al->st.alerts);
    counters_u64(r, "content.alerts_deduplicated", &al->st.alerts_deduplicated);
    counters_u64(r, "content.alerts_dedup_full", &al->st.alerts_dedup_full);
    counters_u64(r, "content.stored", &ct->stored);
    counters_u64(r, "content.already_stored", &ct->already_stored);
    counters_u64(r, "content.store_errors", &ct->store_errors);
    counters_u64(r, "app_layer.flows_parsed", &al->st.flows_parsed);
    counters_u64(r, "app_layer.memcap_refused", &al->st.memcap_refused);
}
