/* eta_detect.c -- features, score and alert at flow end (see eta_detect.h). */
#include "detect/eta_detect.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "app/dns_cache.h"
#include "detect/finding.h"
#include "eta/eta_model.h"
#include "output/eve_eta.h"

struct eta_detect {
    struct eta_config cfg;
    struct eta_model *model;
    finding_fn sink;
    void *sink_ctx;
    const struct dns_cache *dns;
    struct eve *eve;
    uint16_t cid_seed;
    double threshold;
    uint32_t min_packets;
    struct eta_detect_stats st;
    struct eta_result res;
    float contrib[ETA_NFEATURES + 1];
};

struct eta_detect *eta_detect_new(const struct eta_config *cfg,
                                  struct eve *eve, uint16_t cid_seed,
                                  char *err, size_t errlen)
{
    struct eta_detect *d = calloc(1, sizeof(*d));
    if (!d) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    d->cfg = *cfg;
    d->eve = eve;
    d->cid_seed = cid_seed;
    if (!cfg->enabled)
        return d;
    if (!cfg->features_only) {
        d->model = cfg->model[0] ? eta_model_load_file(cfg->model, err, errlen)
                                 : eta_model_load_default(err, errlen);
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
    eta_model_free(d->model);
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
    f->alerted = 1;
    if (d->eve)
        eve_write_eta_alert(d->eve, f, ts, d->cid_seed, &(struct eta_alert){
            .score = r->score, .threshold = d->threshold,
            .model_version = eta_model_version(d->model),
            .x = r->x, .contrib = d->contrib, .top = d->cfg.top_features });
    if (d->sink) {
        struct finding fd = { .kind = FINDING_eta, .stage = STAGE_C2,
                              .severity = 2, .ts_usec = ts, .flow = f,
                              .observed = r->score, .baseline = d->threshold,
                              .deviation = NAN, .unit = "score" };
        snprintf(fd.detail, sizeof(fd.detail), "model %s scored the flow %.4f",
                 eta_model_version(d->model), r->score);
        d->sink(d->sink_ctx, &fd);
    }
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
