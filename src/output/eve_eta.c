/* eve_eta.c -- encrypted-traffic model alerts and flow fields (see eve_eta.h). */
#include "output/eve_eta.h"
#include "output/eve_internal.h"

#include <stdio.h>

#include "output/eve_finding.h"

static void kv_feature(struct json *j, const char *key, float v)
{
    json_key(j, key);
    json_float(j, v);
}

void eve_write_eta_alert(struct eve *e, const struct finding *fd, uint16_t seed)
{
    struct json *j = &e->j;
    const struct eta_evidence *a = &fd->ev.eta;
    char sig[160];
    snprintf(sig, sizeof(sig),
             "nightjar ETA: flow shape scored malicious (%.4f >= %.4f)",
             a->score, a->threshold);
    eve_begin_finding(e, fd, "alert", seed);
    eve_alert_open(j, finding_sid(fd), sig, "Encrypted traffic analysis", fd->severity, fd->blocked);
    json_obj_close(j);
    json_key(j, "nightjar");
    json_obj_open(j);
    json_key(j, "evidence");
    json_obj_open(j);
    json_kv_str(j, "kind", "eta");
    eve_finding_fields(j, fd);
    json_kv_double(j, "score", a->score, 6);
    json_kv_double(j, "threshold", a->threshold, 6);
    json_kv_str(j, "model", a->model);
    json_key(j, "top_features");
    json_arr_open(j);
    for (unsigned i = 0; i < a->n_top; i++) {
        json_obj_open(j);
        json_kv_str(j, "name", eta_feature_names[a->top[i].feature]);
        kv_feature(j, "value", a->top[i].value);
        json_kv_double(j, "contribution", a->top[i].contribution, 4);
        json_obj_close(j);
    }
    json_arr_close(j);
    if (fd->incident_id)
        json_kv_u64(j, "incident_id", fd->incident_id);
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
