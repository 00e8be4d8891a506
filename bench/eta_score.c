/* eta_score.c -- what scoring a flow with the ETA model costs. Not a test.
 *
 * Reads captures through the sensor's pipeline to get real flows' feature
 * vectors, then scores them again and again with: the sensor's tree walker
 * (eta_model.c), the walker with per-feature contributions (what an alert
 * costs), XGBoost's C API one flow at a time (what calling XGBoost from
 * the sensor would cost), and XGBoost on all flows in one batch. Prints
 * flows per second and each one's time as a ratio to the walker's, measured
 * in the same run.
 *     eta_score MODEL CAPTURE...
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <xgboost/c_api.h>
#include <jansson.h>

#include "eta/eta_model.h"
#include "train/dataset.h"

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static volatile double sink;

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: eta_score MODEL CAPTURE...\n");
        return 2;
    }
    char err[1024];
    struct eta_model *m = eta_model_load_file(argv[1], err, sizeof(err));
    if (!m) {
        fprintf(stderr, "eta_score: %s\n", err);
        return 1;
    }
    struct nj_config cfg;
    config_defaults(&cfg);
    cfg.eta.min_packets = eta_model_min_packets(m);
    struct dataset ds = { 0 };
    struct dataset_options o = { .cfg = &cfg };
    for (int i = 2; i < argc; i++)
        if (!dataset_add(&ds, argv[i], LABEL_BENIGN, NULL, false, &o, err, sizeof(err)))
            fprintf(stderr, "eta_score: %s (skipped)\n", err);
    if (!ds.n) {
        fprintf(stderr, "eta_score: no flows to score\n");
        return 1;
    }
    size_t n = ds.n;
    float c[ETA_NFEATURES + 1];
    /* the walker, without and with contributions: at least 0.5 s each */
    double t0 = now(), walk, contrib;
    size_t reps = 0;
    do {
        for (size_t i = 0; i < n; i++)
            sink += eta_model_score(m, ds.rows[i].x, NULL);
        reps++;
    } while (now() - t0 < 0.5);
    walk = (now() - t0) / (double)(reps * n);
    t0 = now();
    reps = 0;
    do {
        for (size_t i = 0; i < n; i++)
            sink += eta_model_score(m, ds.rows[i].x, c);
        reps++;
    } while (now() - t0 < 0.5);
    contrib = (now() - t0) / (double)(reps * n);
    /* XGBoost, from the booster inside the model file */
    FILE *fp = fopen(argv[1], "rb");
    json_t *root = fp ? json_loadf(fp, 0, NULL) : NULL;
    if (fp)
        fclose(fp);
    char *booster = root ? json_dumps(json_object_get(root, "booster"), JSON_COMPACT) : NULL;
    json_decref(root);
    BoosterHandle b = NULL;
    if (!booster || XGBoosterCreate(NULL, 0, &b) ||
        XGBoosterLoadModelFromBuffer(b, booster, strlen(booster))) {
        fprintf(stderr, "eta_score: XGBoost cannot load the model\n");
        return 1;
    }
    XGBoosterSetParam(b, "nthread", "1");
    const char *cfgs = "{\"type\": 0, \"training\": false, \"iteration_begin\": 0, "
                       "\"iteration_end\": 0, \"strict_shape\": false}";
    bst_ulong const *shape;
    bst_ulong dim;
    const float *res;
    size_t one = n < 2000 ? n : 2000;
    t0 = now();
    for (size_t i = 0; i < one; i++) {
        DMatrixHandle dm;
        XGDMatrixCreateFromMat(ds.rows[i].x, 1, ETA_NFEATURES, NAN, &dm);
        XGBoosterPredictFromDMatrix(b, dm, cfgs, &shape, &dim, &res);
        sink += res[0];
        XGDMatrixFree(dm);
    }
    double xgb_one = (now() - t0) / (double)one;
    float *x = malloc(n * sizeof(ds.rows[0].x));
    for (size_t i = 0; i < n; i++)
        memcpy(x + i * ETA_NFEATURES, ds.rows[i].x, sizeof(ds.rows[0].x));
    t0 = now();
    DMatrixHandle dm;
    XGDMatrixCreateFromMat(x, n, ETA_NFEATURES, NAN, &dm);
    XGBoosterPredictFromDMatrix(b, dm, cfgs, &shape, &dim, &res);
    double xgb_batch = (now() - t0) / (double)n;
    XGDMatrixFree(dm);
    printf("ETA scoring: %zu real flows, model %s (%u trees, %llu bytes in memory)\n",
           n, eta_model_version(m), eta_model_trees(m),
           (unsigned long long)eta_model_memory(m));
    printf("  %-44s %9.3f us/flow %12.0f flows/s  %7.2fx\n", "nightjar tree walker (the sensor)",
           walk * 1e6, 1 / walk, 1.0);
    printf("  %-44s %9.3f us/flow %12.0f flows/s  %7.2fx\n", "  with contributions (an alert)",
           contrib * 1e6, 1 / contrib, contrib / walk);
    printf("  %-44s %9.3f us/flow %12.0f flows/s  %7.2fx\n", "XGBoost C API, one flow at a time",
           xgb_one * 1e6, 1 / xgb_one, xgb_one / walk);
    printf("  %-44s %9.3f us/flow %12.0f flows/s  %7.2fx\n", "XGBoost C API, all flows in one batch",
           xgb_batch * 1e6, 1 / xgb_batch, xgb_batch / walk);
    XGBoosterFree(b);
    free(booster);
    free(x);
    dataset_free(&ds);
    eta_model_free(m);
    return 0;
}
