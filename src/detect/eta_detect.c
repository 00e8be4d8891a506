/* eta_detect.c -- features, score and alert at flow end (see eta_detect.h). */
#include "detect/eta_detect.h"
#include "util/counters.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "app/dns_cache.h"
#include "detect/finding.h"
#include "eta/eta_model.h"

struct eta_detect {
    struct eta_config cfg;
    struct eta_model *model;
    finding_fn sink;
    void *sink_ctx;
    const struct dns_cache *dns;
    double threshold;
    uint32_t min_packets;
    struct eta_detect_stats st;
    struct eta_result res;
    float contrib[ETA_NFEATURES + 1];
};

struct eta_detect *eta_detect_new(const struct eta_config *cfg, char *err,
                                  size_t errlen)
{
    struct eta_detect *d = calloc(1, sizeof(*d));
    if (!d) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    d->cfg = *cfg;
    if (!cfg->enabled)
        return d;
    if (!cfg->features_only) {
        d->model = eta_model_open(cfg->model, err, errlen);
        if (!d->model) {
            free(d);
            return NULL;
        }
        d->threshold = cfg->threshold > 0 ? cfg->threshold
                                          : eta_model_threshold(d->model);
        d->min_packets = eta_model_min_packets(d->model);
    }
    if (cfg->min_packets)
        d->min_packets = cfg->min_packets;
    if (!d->min_packets)
        d->min_packets = 1;
    return d;
}

void eta_detect_free(struct eta_detect *d)
{
    if (!d)
        return;
    eta_model_close(d->model);
    free(d);
}

void eta_detect_set_dns(struct eta_detect *d, const struct dns_cache *dns)
{
    if (d)
        d->dns = dns;
}

static uint64_t nsec_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

bool eta_detect_qualifies(const struct eta_detect *d, const struct flow *f,
                          const struct tls_summary *tls)
{
    if (!d || !d->cfg.enabled)
        return false;
    uint64_t payload = f->dir[0].payload_pkts + f->dir[1].payload_pkts;
    return payload && (tls || payload >= d->min_packets);
}

static void context_of(const struct eta_detect *d, const struct flow *f,
                       struct eta_context *ctx)
{
    if (!d->dns || !f->name_gen)
        return;
    struct dns_ref ref = { f->name_slot, f->name_gen };
    const struct dns_cache_entry *e = dns_cache_get(d->dns, ref);
    if (!e)
        return;
    ctx->dns_known = 1;
    ctx->dns_ttl = e->ttl;
    ctx->dns_addrs = e->n_addrs;
}

/* The features with the largest positive contributions, largest first. */
static uint32_t top_features(const float *contrib, uint32_t want, int *idx)
{
    uint32_t n = 0;
    for (int i = 0; i < ETA_NFEATURES; i++) {
        if (!(contrib[i] > 0))
            continue;
        uint32_t at = n < want ? n++ : want;
        if (at == want && contrib[i] <= contrib[idx[want - 1]])
            continue;
        if (at == want)
            at = want - 1;
        while (at > 0 && contrib[idx[at - 1]] < contrib[i]) {
            idx[at] = idx[at - 1];
            at--;
        }
        idx[at] = i;
    }
    return n;
}

static void score(struct eta_detect *d, struct flow *f, uint64_t ts)
{
    struct eta_result *r = &d->res;
    uint64_t t0 = nsec_now();
    r->score = eta_model_score(d->model, r->x, NULL);
    d->st.score_nsec += nsec_now() - t0;
    r->scored = true;
    d->st.scored++;
    if (r->score < d->threshold)
        return;
    /* the walk again, with contributions, only for the rare alert */
    eta_model_score(d->model, r->x, d->contrib);
    r->alert = true;
    d->st.alerts++;
    if (!d->sink)
        return;
    struct finding fd = { .kind = FINDING_eta, .stage = STAGE_C2,
                          .severity = r->score >= 0.5 + d->threshold / 2 ? 1 : 2,
                          .ts_usec = ts, .flow = f,
                          .observed = r->score, .baseline = d->threshold,
                          .deviation = NAN, .unit = "score",
                          .sid = ETA_ALERT_SID, .evidence = EVIDENCE_ETA };
    struct eta_evidence *e = &fd.ev.eta;
    e->score = r->score;
    e->threshold = d->threshold;
    e->model = eta_model_version(d->model);
    int idx[ETA_TOP_MAX];
    uint32_t want = d->cfg.top_features < ETA_TOP_MAX ? d->cfg.top_features : ETA_TOP_MAX;
    e->n_top = (uint8_t)(want ? top_features(d->contrib, want, idx) : 0);
    for (unsigned i = 0; i < e->n_top; i++) {
        e->top[i].feature = (uint16_t)idx[i];
        e->top[i].value = r->x[idx[i]];
        e->top[i].contribution = d->contrib[idx[i]];
    }
    snprintf(fd.detail, sizeof(fd.detail), "model %s scored the flow %.4f",
             e->model, r->score);
    d->sink(d->sink_ctx, &fd);
}

void eta_detect_set_sink(struct eta_detect *d, finding_fn fn, void *ctx)
{
    if (d) {
        d->sink = fn;
        d->sink_ctx = ctx;
    }
}

const struct eta_result *eta_on_flow_end(struct eta_detect *d, struct flow *f,
                                         const struct tls_summary *tls,
                                         const struct eta_pair_stats *pair,
                                         uint64_t ts_usec)
{
    if (!d || !d->cfg.enabled)
        return NULL;
    struct eta_result *r = &d->res;
    r->extracted = r->scored = r->alert = false;
    d->st.flows++;
    struct eta_context ctx = { .tls = tls, .pair = pair };
    if (!eta_detect_qualifies(d, f, tls)) {
        d->st.too_small++;
        return r;
    }
    context_of(d, f, &ctx);
    eta_features_extract(f, &ctx, r->x);
    r->extracted = true;
    d->st.extracted++;
    if (d->model)
        score(d, f, ts_usec);
    return r;
}

const struct eta_detect_stats *eta_detect_stats(const struct eta_detect *d)
{
    static const struct eta_detect_stats none;
    return d ? &d->st : &none;
}

const struct eta_model *eta_detect_model(const struct eta_detect *d)
{
    return d ? d->model : NULL;
}

uint64_t eta_detect_memory(const struct eta_detect *d)
{
    return d ? sizeof(*d) + eta_model_memory(d->model) : 0;
}

static double score_usec_mean(const void *ctx)
{
    const struct eta_detect_stats *s = ctx;
    return s->scored ? s->score_nsec / 1e3 / (double)s->scored : 0;
}

void eta_detect_counters(const struct eta_detect *d, struct counters *r)
{
    const struct eta_detect_stats *s = eta_detect_stats(d);
    counters_u64(r, "eta.flows", &s->flows);
    counters_u64(r, "eta.too_small", &s->too_small);
    counters_u64(r, "eta.extracted", &s->extracted);
    counters_u64(r, "eta.scored", &s->scored);
    counters_u64(r, "eta.alerts", &s->alerts);
    counters_double(r, "eta.score_usec_mean", score_usec_mean, s);
}
