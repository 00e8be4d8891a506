/* booster.c -- XGBoost training and prediction (see booster.h). */
#include "train/booster.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <xgboost/c_api.h>

#define XGB_OK(call, what)                                                  \
    do {                                                                    \
        if ((call) != 0) {                                                  \
            snprintf(err, errlen, "XGBoost %s: %s", what, XGBGetLastError()); \
            goto out;                                                       \
        }                                                                   \
    } while (0)

const char *booster_version(void)
{
    static char v[32];
    int a, b, c;
    XGBoostVersion(&a, &b, &c);
    snprintf(v, sizeof(v), "%d.%d.%d", a, b, c);
    return v;
}

static bool set_params(BoosterHandle b, const struct booster_params *p,
                       double pos_weight, char *err, size_t errlen)
{
    char depth[16], lr[32], mcw[32], seed[16], spw[32];
    snprintf(depth, sizeof(depth), "%d", p->max_depth);
    snprintf(lr, sizeof(lr), "%.17g", p->learning_rate);
    snprintf(mcw, sizeof(mcw), "%.17g", p->min_child_weight);
    snprintf(seed, sizeof(seed), "%u", p->seed);
    snprintf(spw, sizeof(spw), "%.17g", pos_weight);
    const char *kv[][2] = {
        { "objective", "binary:logistic" }, { "eval_metric", "auc" },
        { "tree_method", "exact" },         { "nthread", "1" },
        { "max_depth", depth },             { "eta", lr },
        { "min_child_weight", mcw },        { "seed", seed },
        { "base_score", "0.5" },            { "scale_pos_weight", spw },
        { "verbosity", "0" },
    };
    for (size_t i = 0; i < sizeof(kv) / sizeof(kv[0]); i++)
        if (XGBoosterSetParam(b, kv[i][0], kv[i][1]) != 0) {
            snprintf(err, errlen, "XGBoost parameter %s: %s", kv[i][0],
                     XGBGetLastError());
            return false;
        }
    return true;
}

/* 1 / rows of the same class and source, rescaled per class to sum to
 * the class's row count. */
static bool source_weights(const struct row *rows, const size_t *idx, size_t n,
                           float *w)
{
    uint32_t max_src = 0;
    for (size_t i = 0; i < n; i++)
        if (rows[idx[i]].source > max_src)
            max_src = rows[idx[i]].source;
    uint32_t *count = calloc(2 * ((size_t)max_src + 1), sizeof(uint32_t));
    if (!count)
        return false;
    for (size_t i = 0; i < n; i++)
        count[2 * rows[idx[i]].source + (rows[idx[i]].label == 1)]++;
    double sum[2] = { 0, 0 }, rows_of[2] = { 0, 0 };
    for (size_t i = 0; i < n; i++) {
        int c = rows[idx[i]].label == 1;
        w[i] = 1.0f / (float)count[2 * rows[idx[i]].source + c];
        sum[c] += w[i];
        rows_of[c] += 1;
    }
    for (size_t i = 0; i < n; i++) {
        int c = rows[idx[i]].label == 1;
        w[i] = (float)(w[i] * rows_of[c] / sum[c]);
    }
    free(count);
    return true;
}

char *booster_train(const struct row *rows, const size_t *idx, size_t n,
                    const struct booster_params *p, char *err, size_t errlen)
{
    float *w = NULL;
    char *json = NULL;
    DMatrixHandle dm = NULL;
    BoosterHandle b = NULL;
    float *x = malloc(n * ETA_NFEATURES * sizeof(float) + 1);
    float *y = malloc(n * sizeof(float) + 1);
    size_t pos = 0;
    if (!x || !y) {
        snprintf(err, errlen, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        memcpy(x + i * ETA_NFEATURES, rows[idx[i]].x, sizeof(rows[0].x));
        y[i] = rows[idx[i]].label == LABEL_MALICIOUS;
        pos += y[i] > 0;
    }
    if (!pos || pos == n) {
        snprintf(err, errlen, "the training rows hold only %s flows",
                 pos ? "malicious" : "benign");
        goto out;
    }
    XGB_OK(XGDMatrixCreateFromMat(x, n, ETA_NFEATURES, NAN, &dm), "data");
    XGB_OK(XGDMatrixSetFloatInfo(dm, "label", y, n), "labels");
    if (p->source_balance) {
        w = malloc(n * sizeof(float) + 1);
        if (!w || !source_weights(rows, idx, n, w)) {
            snprintf(err, errlen, "out of memory");
            goto out;
        }
        XGB_OK(XGDMatrixSetFloatInfo(dm, "weight", w, n), "weights");
    }
    XGB_OK(XGBoosterCreate(&dm, 1, &b), "booster");
    if (!set_params(b, p, (double)(n - pos) / (double)pos, err, errlen))
        goto out;
    for (int it = 0; it < p->rounds; it++)
        XGB_OK(XGBoosterUpdateOneIter(b, it, dm), "training");
    bst_ulong len = 0;
    const char *buf = NULL;
    XGB_OK(XGBoosterSaveModelToBuffer(b, "{\"format\": \"json\"}", &len, &buf),
           "saving");
    json = malloc(len + 1);
    if (json) {
        memcpy(json, buf, len);
        json[len] = 0;
    }
out:
    if (b)
        XGBoosterFree(b);
    if (dm)
        XGDMatrixFree(dm);
    free(x);
    free(y);
    free(w);
    return json;
}

bool booster_predict(const char *model_json, const float *x, size_t n_rows,
                     enum booster_output what, double *out, char *err,
                     size_t errlen)
{
    bool ok = false;
    DMatrixHandle dm = NULL;
    BoosterHandle b = NULL;
    XGB_OK(XGDMatrixCreateFromMat(x, n_rows, ETA_NFEATURES, NAN, &dm), "data");
    XGB_OK(XGBoosterCreate(NULL, 0, &b), "booster");
    XGB_OK(XGBoosterLoadModelFromBuffer(b, model_json, strlen(model_json)),
           "loading");
    bst_ulong const *shape = NULL;
    bst_ulong dim = 0;
    const float *res = NULL;
    char cfg[160];
    snprintf(cfg, sizeof(cfg), "{\"type\": %d, \"training\": false, "
             "\"iteration_begin\": 0, \"iteration_end\": 0, "
             "\"strict_shape\": false}", (int)what);
    XGB_OK(XGBoosterPredictFromDMatrix(b, dm, cfg, &shape, &dim, &res),
           "prediction");
    size_t total = 1;
    for (bst_ulong i = 0; i < dim; i++)
        total *= shape[i];
    for (size_t i = 0; i < total; i++)
        out[i] = res[i];
    ok = true;
out:
    if (b)
        XGBoosterFree(b);
    if (dm)
        XGDMatrixFree(dm);
    return ok;
}
