/* intel_detect.c -- matching what traffic shows against the feeds (see
 * intel_detect.h). */
#include "detect/intel_detect.h"

#include <arpa/inet.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "flow/flow_table.h"
#include "util/counters.h"
#include "util/text.h"
#include "util/timefmt.h"

struct intel_detect {
    struct intel_feeds *feeds;
    bool probe;                    /* count matches, raise nothing */
    unsigned probe_hits;
    const struct dns_cache *dns;
    finding_fn sink;
    void *sink_ctx;
    struct intel_detect_stats st;
};

struct intel_detect *intel_detect_new(struct intel_feeds *feeds)
{
    struct intel_detect *d = calloc(1, sizeof(*d));
    if (d)
        d->feeds = feeds;
    return d;
}

/* signature_id: 8,000,000 + a stable number from feed and indicator. */
uint32_t intel_sid(const struct intel_evidence *ev)
{
    uint32_t h = fnv1a_str(FNV1A_SEED, intel_feed_name(ev->set, ev->ioc->feed));
    h = fnv1a_str(fnv1a(h, ":", 1), intel_text(ev->set, ev->ioc->value));
    return 8000000u + h % 1000000u;
}

void intel_detect_free(struct intel_detect *d) { free(d); }

void intel_detect_set_dns(struct intel_detect *d, const struct dns_cache *c)
{
    if (d)
        d->dns = c;
}

const struct intel_detect_stats *intel_detect_stats(const struct intel_detect *d)
{
    return &d->st;
}

/* --- alerting ---------------------------------------------------------- */

static uint32_t hit_key(const struct intel_evidence *ev)
{
    uint32_t h = 2166136261u;
    for (const char *s = intel_feed_name(ev->set, ev->ioc->feed); *s; s++)
        h = (h ^ (uint8_t)*s) * 16777619u;
    for (const char *s = intel_text(ev->set, ev->ioc->value); *s; s++)
        h = (h ^ (uint8_t)*s) * 16777619u;
    return h ? h : 1;
}

static void alert(struct intel_detect *d, const struct event_subject *f, uint64_t now,
                  struct intel_evidence *ev)
{
    d->st.matches++;
    uint32_t key = hit_key(ev);
    if (f->forwarded) /* one proxy connection carries many clients' requests */
        key = fnv1a(key, &f->client, sizeof(f->client)) | 1u;
    struct flow *fl = f->flow;
    for (unsigned i = 0; fl && i < fl->n_intel_hits && i < FLOW_INTEL_HITS; i++)
        if (fl->intel_hits[i] == key) {
            d->st.deduplicated++;
            return;
        }
    if (fl && fl->n_intel_hits < FLOW_INTEL_HITS)
        fl->intel_hits[fl->n_intel_hits++] = key;
    else if (fl)
        d->st.dedup_full++; /* remembered no more: this one may alert again */
    d->st.alerts++;
    if (d->sink) {
        uint8_t sev = ev->ioc->severity;
        struct finding fd = { .kind = FINDING_intel, .stage = STAGE_C2,
                              .severity = sev < 1 ? 1 : sev > 3 ? 3 : sev,
                              .ts_usec = now, .flow = fl, .observed = NAN,
                              .baseline = NAN, .deviation = NAN,
                              .sid = intel_sid(ev), .evidence = EVIDENCE_INTEL };
        fd.ev.intel = *ev;
        /* no flow, or a proxied client: the subject names the ends */
        finding_take_subject(&fd, f);
        snprintf(fd.detail, sizeof(fd.detail), "%s %s of feed %s in %s",
                 ioc_type_name((enum ioc_type)ev->ioc->type),
                 intel_text(ev->set, ev->ioc->value),
                 intel_feed_name(ev->set, ev->ioc->feed), ev->field);
        d->sink(d->sink_ctx, &fd);
    }
}

void intel_detect_set_sink(struct intel_detect *d, finding_fn fn, void *ctx)
{
    if (d) {
        d->sink = fn;
        d->sink_ctx = ctx;
    }
}

/* --- lookups over every feed ------------------------------------------- */

enum query_kind { Q_IP, Q_DOMAIN, Q_STR };

/* One value to look up in every feed, and where it came from. */
struct query {
    enum query_kind kind;
    enum ioc_type type;            /* Q_STR */
    const uint8_t *addr;           /* Q_IP: 4 or 16 bytes */
    int family;
    const char *value;             /* Q_DOMAIN, Q_STR */
    const char *event, *field;
    const struct dns_cache_entry *resolved; /* Q_DOMAIN via the DNS cache */
};

static const struct ioc *lookup_one(const struct intel_set *s,
                                    const struct query *q, bool *exact)
{
    *exact = true;
    switch (q->kind) {
    case Q_IP: {
        const struct ioc *x = intel_match_ip(s, q->addr, q->family);
        *exact = x && x->prefix == (q->family == 4 ? 32 : 128);
        return x;
    }
    case Q_DOMAIN:
        return intel_match_domain(s, q->value, exact);
    default:
        return intel_match(s, q->type, q->value);
    }
}

/* The evidence's value, match kind and path for a hit. */
static void describe(struct intel_evidence *ev, const struct query *q,
                     bool exact, char *text, size_t textlen)
{
    const char *ind = intel_text(ev->set, ev->ioc->value);
    if (q->kind == Q_IP) {
        inet_ntop(q->family == 4 ? AF_INET : AF_INET6, q->addr, text,
                  (socklen_t)textlen);
        ev->value = text;
        ev->how = exact ? "exact" : "network";
        snprintf(ev->path, sizeof(ev->path), exact ? "%s %s is indicator %s"
                 : "%s %s is in network %s", q->field, text, ind);
    } else if (q->resolved) {
        char ts[64];
        time_format(q->resolved->seen_usec, ts, sizeof(ts));
        inet_ntop(q->family == 4 ? AF_INET : AF_INET6, q->addr, text,
                  (socklen_t)textlen);
        ev->value = text;
        ev->how = "resolved";
        snprintf(ev->path, sizeof(ev->path), "%s %s resolved from %s at %s%s%s",
                 q->field, text, q->value, ts,
                 exact ? "" : ", a subdomain of indicator ", exact ? "" : ind);
    } else if (q->kind == Q_DOMAIN) {
        ev->value = q->value;
        ev->how = exact ? "exact" : "subdomain";
        snprintf(ev->path, sizeof(ev->path), exact ? "%s %s is indicator %s"
                 : "%s %s is a subdomain of indicator %s", q->field, q->value, ind);
    } else {
        ev->value = q->value;
        ev->how = "exact";
        snprintf(ev->path, sizeof(ev->path), "%s %s is indicator %s (%s)",
                 q->field, q->value, ind, ioc_type_name(q->type));
    }
}

static void match_all(struct intel_detect *d, const struct event_subject *f, uint64_t now,
                      const struct query *q)
{
    if (q->kind != Q_IP && (!q->value || !*q->value))
        return;
    for (int i = 0; i < intel_feeds_count(d->feeds); i++) {
        const struct intel_set *s = intel_feeds_set(d->feeds, i);
        if (!s)
            continue;
        d->st.lookups++;
        bool exact;
        const struct ioc *x = lookup_one(s, q, &exact);
        if (!x)
            continue;
        if (d->probe) {
            d->probe_hits++;
            continue;
        }
        char text[INET6_ADDRSTRLEN];
        struct intel_evidence ev = { .set = s, .ioc = x, .event = q->event,
                                     .field = q->field };
        describe(&ev, q, exact, text, sizeof(text));
        alert(d, f, now, &ev);
    }
}

static void check_ip(struct intel_detect *d, const struct event_subject *f, uint64_t now,
                     const uint8_t *addr, int family, const char *event,
                     const char *field)
{
    struct query q = { .kind = Q_IP, .addr = addr, .family = family,
                       .event = event, .field = field };
    match_all(d, f, now, &q);
}

static void check_domain(struct intel_detect *d, const struct event_subject *f, uint64_t now,
                         const char *name, const char *event, const char *field)
{
    struct query q = { .kind = Q_DOMAIN, .value = name, .event = event,
                       .field = field };
    match_all(d, f, now, &q);
}

static void check_str(struct intel_detect *d, const struct event_subject *f, uint64_t now,
                      enum ioc_type t, const char *value, const char *event,
                      const char *field)
{
    struct query q = { .kind = Q_STR, .type = t, .value = value, .event = event,
                       .field = field };
    match_all(d, f, now, &q);
}

/* A name that may be an address literal (Host: 1.2.3.4:8080, a URL). */
static void check_host(struct intel_detect *d, const struct event_subject *f, uint64_t now,
                       const char *host, const char *event, const char *field)
{
    char h[256];
    snprintf(h, sizeof(h), "%s", host);
    if (h[0] == '[') {
        char *e = strchr(h, ']');
        if (e)
            *e = '\0';
        memmove(h, h + 1, strlen(h));
    } else {
        char *c = strchr(h, ':');
        if (c && !strchr(c + 1, ':'))
            *c = '\0';
    }
    uint8_t a[16];
    if (inet_pton(AF_INET, h, a) == 1)
        check_ip(d, f, now, a, 4, event, field);
    else if (inet_pton(AF_INET6, h, a) == 1)
        check_ip(d, f, now, a, 6, event, field);
    else
        check_domain(d, f, now, h, event, field);
}

static void check_url(struct intel_detect *d, const struct event_subject *f, uint64_t now,
                      const char *url, const char *event, const char *field)
{
    char norm[2048];
    if (!intel_url_normalise(url, norm, sizeof(norm)))
        return;
    check_str(d, f, now, IOC_URL, norm, event, field);
    const char *host = strstr(norm, "://");
    if (!host)
        return;
    host += 3;
    char h[256];
    snprintf(h, sizeof(h), "%.*s", (int)strcspn(host, "/?#"), host);
    char field2[64];
    snprintf(field2, sizeof(field2), "%s.host", field);
    check_host(d, f, now, h, event, field2);
}

bool intel_detect_url_listed(struct intel_detect *d, const char *url)
{
    if (!d || !intel_feeds_count(d->feeds))
        return false;
    d->probe = true;
    d->probe_hits = 0;
    check_url(d, NULL, 0, url, "smtp", "email.url");
    d->probe = false;
    return d->probe_hits > 0;
}

static void check_email(struct intel_detect *d, const struct event_subject *f, uint64_t now,
                        const char *addr, const char *event, const char *field)
{
    if (!addr || !*addr)
        return;
    char lower[256];
    size_t i = 0;
    for (; addr[i] && i + 1 < sizeof(lower); i++)
        lower[i] = (char)((addr[i] >= 'A' && addr[i] <= 'Z') ? addr[i] + 32 : addr[i]);
    lower[i] = '\0';
    check_str(d, f, now, IOC_EMAIL, lower, event, field);
    const char *at = strrchr(lower, '@');
    if (at) {
        char field2[64];
        snprintf(field2, sizeof(field2), "%s.domain", field);
        check_domain(d, f, now, at + 1, event, field2);
    }
}

static bool active(const struct intel_detect *d)
{
    return d && intel_feeds_count(d->feeds) > 0;
}

/* --- entry points ------------------------------------------------------ */

void intel_on_flow_start(struct intel_detect *d, struct flow *fl, uint64_t now)
{
    if (!active(d))
        return;
    struct event_subject subj = event_subject_of(fl), *f = &subj;
    int fam = fl->key.ip_version == 6 ? 6 : 4;
    check_ip(d, f, now, (const uint8_t *)flow_addr(fl, 0), fam, "flow", "src_ip");
    check_ip(d, f, now, (const uint8_t *)flow_addr(fl, 1), fam, "flow", "dest_ip");
    if (!d->dns || !fl->name_gen)
        return;
    struct dns_ref ref = { fl->name_slot, fl->name_gen };
    const struct dns_cache_entry *n = dns_cache_get(d->dns, ref);
    if (!n)
        return;
    struct query q = { .kind = Q_DOMAIN, .value = n->name, .resolved = n,
                       .addr = (const uint8_t *)flow_addr(fl, 1), .family = fam,
                       .event = "flow", .field = "dest_ip" };
    match_all(d, f, now, &q);
}

static void dns_check(struct intel_detect *d, const struct event_subject *f, uint64_t now,
                  const struct dns_msg *m)
{
    if (!active(d))
        return;
    for (unsigned i = 0; i < m->n_questions; i++)
        check_domain(d, f, now, m->q[i].name, "dns", "dns.rrname");
    for (unsigned i = 0; i < m->n_rrs; i++) {
        const struct dns_rr *rr = &m->rr[i];
        if (rr->section != DNS_SEC_ANSWER || !rr->data[0])
            continue;
        if (rr->type == 1)
            check_ip(d, f, now, rr->addr, 4, "dns", "dns.answers.rdata");
        else if (rr->type == 28)
            check_ip(d, f, now, rr->addr, 6, "dns", "dns.answers.rdata");
        else if (rr->type == 5 || rr->type == 39 || rr->type == 15 ||
                 rr->type == 2 || rr->type == 12)
            check_domain(d, f, now, rr->data, "dns", "dns.answers.rdata");
    }
}

/* "CN=x, O=y" -> "x" */
static void common_name(const char *subject, char *out, size_t len)
{
    out[0] = '\0';
    const char *p = strstr(subject, "CN=");
    if (!p)
        return;
    p += 3;
    snprintf(out, len, "%.*s", (int)strcspn(p, ",/"), p);
}

static void tls_check(struct intel_detect *d, const struct event_subject *f, uint64_t now,
                  const struct tls_session *s, const struct tls_summary *sum)
{
    if (!active(d))
        return;
    const char *ev = s->quic.is_quic ? "quic" : "tls";
    char h[65];
    if (s->have_ch)
        check_domain(d, f, now, s->ch.sni, ev, "tls.sni");
    if (sum->has_ja3)
        check_str(d, f, now, IOC_JA3, sum->ja3, ev, "tls.ja3.hash");
    if (sum->has_ja4)
        check_str(d, f, now, IOC_JA4, sum->ja4, ev, "tls.ja4");
    if (sum->has_ja3s)
        check_str(d, f, now, IOC_JA3S, sum->ja3s, ev, "tls.ja3s.hash");
    for (unsigned i = 0; i < s->n_certs; i++) {
        const struct x509_info *x = &s->certs[i];
        hex_lower(x->sha1, 20, h);
        check_str(d, f, now, IOC_CERT_SHA1, h, ev, "tls.certificates.fingerprint");
        hex_lower(x->sha256, 32, h);
        check_str(d, f, now, IOC_CERT_SHA256, h, ev, "tls.certificates.sha256");
        check_str(d, f, now, IOC_CERT_SUBJECT, x->subject, ev, "tls.certificates.subject");
        check_str(d, f, now, IOC_CERT_ISSUER, x->issuer, ev, "tls.certificates.issuerdn");
        char cn[256];
        common_name(x->subject, cn, sizeof(cn));
        if (cn[0] && cn[0] != '*')
            check_domain(d, f, now, cn, ev, "tls.certificates.subject.CN");
        for (unsigned k = 0; k < x->n_sans; k++)
            check_domain(d, f, now, x->sans[k][0] == '*' ? x->sans[k] + 2 : x->sans[k],
                         ev, "tls.certificates.sans");
    }
    /* certificates beyond those parsed are known by their SHA-1 */
    for (unsigned i = s->n_certs; i < s->chain_len && i < TLS_MAX_CHAIN; i++) {
        hex_lower(s->chain_sha1[i], 20, h);
        check_str(d, f, now, IOC_CERT_SHA1, h, ev, "tls.chain_sha1");
    }
}

void intel_check_http(struct intel_detect *d, const struct event_subject *f, uint64_t now,
                   const struct http_tx *tx)
{
    if (!active(d))
        return;
    if (tx->host[0])
        check_host(d, f, now, tx->host, "http", "http.hostname");
    if (!tx->uri[0])
        return;
    char url[2400];
    if (strstr(tx->uri, "://")) /* a proxy request carries the whole URL */
        snprintf(url, sizeof(url), "%s", tx->uri);
    else if (tx->host[0] && tx->uri[0] == '/')
        snprintf(url, sizeof(url), "http://%s%s", tx->host, tx->uri);
    else
        return;
    char norm[2048];
    if (intel_url_normalise(url, norm, sizeof(norm)))
        check_str(d, f, now, IOC_URL, norm, "http", "http.url");
}

void intel_check_smtp(struct intel_detect *d, const struct event_subject *f, uint64_t now,
                   const struct smtp_tx *tx, const struct email_info *em)
{
    if (!active(d))
        return;
    check_email(d, f, now, tx->mail_from, "smtp", "smtp.mail_from");
    for (unsigned i = 0; i < tx->n_rcpt; i++)
        check_email(d, f, now, tx->rcpt_to[i], "smtp", "smtp.rcpt_to");
    if (tx->helo[0])
        check_domain(d, f, now, tx->helo, "smtp", "smtp.helo");
    if (!em)
        return;
    check_email(d, f, now, em->from, "smtp", "email.from");
    for (unsigned i = 0; i < em->n_to; i++)
        check_email(d, f, now, em->to[i], "smtp", "email.to");
    for (unsigned i = 0; i < em->n_cc; i++)
        check_email(d, f, now, em->cc[i], "smtp", "email.cc");
    for (unsigned i = 0; i < em->n_urls; i++)
        check_url(d, f, now, em->urls[i], "smtp", "email.url");
}

void intel_check_file(struct intel_detect *d, const struct event_subject *f, uint64_t now,
                   const struct file_hashes *h, const char *name)
{
    if (!active(d))
        return;
    (void)name;
    char x[65];
    if (h->mask & (1u << DIGEST_MD5)) {
        hex_lower(h->md5, 16, x);
        check_str(d, f, now, IOC_FILE_MD5, x, "fileinfo", "fileinfo.md5");
    }
    if (h->mask & (1u << DIGEST_SHA1)) {
        hex_lower(h->sha1, 20, x);
        check_str(d, f, now, IOC_FILE_SHA1, x, "fileinfo", "fileinfo.sha1");
    }
    if (h->mask & (1u << DIGEST_SHA256)) {
        hex_lower(h->sha256, 32, x);
        check_str(d, f, now, IOC_FILE_SHA256, x, "fileinfo", "fileinfo.sha256");
    }
}

/* --- the flow's events -------------------------------------------------- */


void intel_on_dns(struct intel_detect *d, struct flow *f, uint64_t now,
                  const struct dns_msg *m)
{
    if (!active(d))
        return;
    struct event_subject s = event_subject_of(f);
    dns_check(d, &s, now, m);
}

void intel_on_tls(struct intel_detect *d, struct flow *f, uint64_t now,
                  const struct tls_session *t, const struct tls_summary *sum)
{
    if (!active(d))
        return;
    struct event_subject s = event_subject_of(f);
    tls_check(d, &s, now, t, sum);
}

void intel_on_http(struct intel_detect *d, struct flow *f, uint64_t now,
                   const struct http_tx *tx)
{
    if (!active(d))
        return;
    struct event_subject s = event_subject_of(f);
    intel_check_http(d, &s, now, tx);
}

void intel_on_smtp(struct intel_detect *d, struct flow *f, uint64_t now,
                   const struct smtp_tx *tx, const struct email_info *em)
{
    if (!active(d))
        return;
    struct event_subject s = event_subject_of(f);
    intel_check_smtp(d, &s, now, tx, em);
}

void intel_on_file(struct intel_detect *d, struct flow *f, uint64_t now,
                   const struct file_hashes *h, const char *name)
{
    if (!active(d))
        return;
    struct event_subject s = event_subject_of(f);
    intel_check_file(d, &s, now, h, name);
}

static uint64_t indicators(const void *ctx) { return intel_feeds_total(ctx); }
static uint64_t swaps(const void *ctx) { return intel_feeds_swaps(ctx); }

/* "feeds": every feed's state */
static void feeds_section(struct json *j, const void *ctx)
{
    const struct intel_feeds *feeds = ctx;
    json_arr_open(j);
    for (int i = 0; i < intel_feeds_count(feeds); i++) {
        const struct intel_feed_status *s = intel_feeds_status(feeds, i);
        json_obj_open(j);
        json_kv_str(j, "name", s->name);
        json_kv_str(j, "path", s->path);
        json_kv_str(j, "format", s->format);
        json_kv_u64(j, "indicators", s->indicators);
        json_kv_u64(j, "invalid", s->invalid);
        json_kv_u64(j, "unsupported", s->unsupported);
        if (s->unsupported_example[0])
            json_kv_str(j, "unsupported_example", s->unsupported_example);
        json_kv_u64(j, "duplicates", s->duplicates);
        json_kv_u64(j, "loads", s->loads);
        json_kv_u64(j, "failures", s->failures);
        if (s->last_error[0])
            json_kv_str(j, "last_error", s->last_error);
        json_kv_double(j, "load_seconds", s->load_seconds, 3);
        json_obj_close(j);
    }
    json_arr_close(j);
}

void intel_detect_counters(const struct intel_detect *d, struct counters *r)
{
    counters_u64(r, "intel.lookups", &d->st.lookups);
    counters_u64(r, "intel.matches", &d->st.matches);
    counters_u64(r, "intel.alerts", &d->st.alerts);
    counters_u64(r, "intel.deduplicated", &d->st.deduplicated);
    counters_u64(r, "intel.dedup_full", &d->st.dedup_full);
    counters_fn(r, "intel.indicators", indicators, d->feeds);
    counters_fn(r, "intel.swaps", swaps, d->feeds);
    counters_mark_copy(r, "intel.indicators");
    counters_mark_copy(r, "intel.swaps");
    counters_section(r, "intel.feeds", feeds_section, d->feeds);
}
