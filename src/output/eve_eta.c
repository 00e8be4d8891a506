/* eve_eta.c -- encrypted-traffic model alerts and flow fields (see eve_eta.h). */
#include "output/eve_eta.h"

#include <stdio.h>

static void kv_feature(struct json *j, const char *key, float v)
{
    json_key(j, key);
    json_float(j, v);
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

void eve_write_eta_alert(struct eve *e, const struct flow *f, uint64_t ts,
                         uint16_t seed, const struct eta_alert *a)
{
    struct json *j = &e->j;
    char sig[160];
    snprintf(sig, sizeof(sig),
             "nightjar ETA: flow shape scored malicious (%.4f >= %.4f)",
             a->score, a->threshold);
    eve_begin(e, ts, "alert", f, seed);
    eve_alert_open(j, ETA_ALERT_SID, sig, "Encrypted traffic analysis",
                   a->score >= 0.5 + a->threshold / 2 ? 1 : 2);
    json_obj_close(j);
    json_key(j, "nightjar");
    json_obj_open(j);
    json_key(j, "evidence");
    json_obj_open(j);
    json_kv_str(j, "kind", "eta");
    json_kv_double(j, "score", a->score, 6);
    json_kv_double(j, "threshold", a->threshold, 6);
    json_kv_str(j, "model", a->model_version);
    json_key(j, "top_features");
    json_arr_open(j);
    int idx[64];
    uint32_t want = a->top < 64 ? a->top : 64;
    uint32_t n = want ? top_features(a->contrib, want, idx) : 0;
    for (uint32_t i = 0; i < n; i++) {
        json_obj_open(j);
        json_kv_str(j, "name", eta_feature_names[idx[i]]);
        kv_feature(j, "value", a->x[idx[i]]);
        json_kv_double(j, "contribution", a->contrib[idx[i]], 4);
        json_obj_close(j);
    }
    json_arr_close(j);
    json_obj_close(j);
    json_obj_close(j);
    json_obj_close(j);
    eve_emit(e);
}

void eve_eta_flow(struct json *j, double score, const char *model_version,
                  const float *x)
{
    json_key(j, "eta");
    json_obj_open(j);
    if (model_version) {
        json_kv_double(j, "score", score, 6);
        json_kv_str(j, "model", model_version);
    }
    if (x) {
        json_key(j, "features");
        json_obj_open(j);
        for (int i = 0; i < ETA_NFEATURES; i++)
            kv_feature(j, eta_feature_names[i], x[i]);
        json_obj_close(j);
    }
    json_obj_close(j);
}
