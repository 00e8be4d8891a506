/* booster.h -- gradient-boosted trees through XGBoost's C API.
 *
 * The only file that talks to XGBoost. Trains binary:logistic trees on a
 * subset of a dataset's rows with explicit class weights (every malicious
 * row weighs n_benign / n_malicious, so the two classes count the same
 * however unbalanced the data), one thread and a fixed seed, so the same
 * rows give the same trees byte for byte; returns the model as XGBoost's
 * JSON, which eta_model.c reads. With source_balance, each row also
 * weighs 1 / (rows of its class in its source), rescaled so a class keeps
 * its total: a capture with 80 C2 connections teaches as much as one
 * with 2, instead of forty times more.
 */
#ifndef NIGHTJAR_TRAIN_BOOSTER_H
#define NIGHTJAR_TRAIN_BOOSTER_H

#include <stddef.h>

#include "train/dataset.h"

struct booster_params {
    int rounds;
    int max_depth;
    double learning_rate;
    double min_child_weight;
    unsigned seed;
    bool source_balance;   /* every source weighs the same within a class */
};

/* A malloc'd NUL-terminated XGBoost JSON model, or NULL with err. */
char *booster_train(const struct row *rows, const size_t *idx, size_t n,
                    const struct booster_params *p, char *err, size_t errlen);

/* XGBoost's own predictions for the rows, to hold the sensor's tree walker
 * to them in tests: probabilities (n_rows values), margins (n_rows), or
 * approximate contributions (n_rows * (ETA_NFEATURES + 1)). */
enum booster_output { BOOSTER_PROB = 0, BOOSTER_MARGIN = 1,
                      BOOSTER_CONTRIB_APPROX = 3 };
bool booster_predict(const char *model_json, const float *x, size_t n_rows,
                     enum booster_output what, double *out, char *err,
                     size_t errlen);

/* "1.7.4" */
const char *booster_version(void);

#endif
