/* eta_model.h -- a trained encrypted-traffic model: its file, and scoring.
 *
 * A model file is JSON (docs/eta.md): format and version, the model's own
 * version name, the feature list it was trained on, the alert threshold,
 * the smallest flow it scores, what it was trained on and how well it did,
 * and the gradient-boosted trees exactly as XGBoost saved them. Loading
 * checks the feature list against this build's (eta_features.h) and refuses
 * a model made for other features, naming the first difference.
 *
 * Scoring walks the trees here, in C, instead of calling XGBoost: the trees
 * are flattened into one array once, a flow's score is a few hundred
 * comparisons and no allocation, and the sensor does not link the C++
 * runtime. A unit test holds it to XGBoost's own predictions. The same walk
 * gives each feature's contribution to the score (the path attribution
 * XGBoost computes with approx_contribs), which alerts report.
 */
#ifndef NIGHTJAR_ETA_MODEL_H
#define NIGHTJAR_ETA_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "eta/eta_features.h"

#define ETA_MODEL_FORMAT "nightjar-eta-model"
#define ETA_MODEL_FORMAT_VERSION 1

struct eta_model;

/* From a file, or from a buffer (origin names it in messages). NULL with a
 * message in err when the file is unreadable, malformed, or made for other
 * features. */
struct eta_model *eta_model_load_file(const char *path, char *err, size_t errlen);
struct eta_model *eta_model_load_buffer(const char *buf, size_t len,
                                        const char *origin, char *err,
                                        size_t errlen);
/* The model built into the sensor (models/eta-default.json): from its
 * packed form (eta_model_pack, made at build time: no JSON to parse at
 * start, 13 ms of a one-packet run) when the binary was linked with it,
 * else from the JSON. */
struct eta_model *eta_model_load_default(char *err, size_t errlen);
/* The model as this build holds it in memory, for eta_model_load_packed:
 * a build artifact, never a file format (native byte order and layout). */
bool eta_model_pack(const struct eta_model *m, FILE *out);
struct eta_model *eta_model_load_packed(const unsigned char *buf, size_t len,
                                        char *err, size_t errlen);
void eta_model_free(struct eta_model *m);

/* The model a sensor scores with (path: a file; empty: the built-in one),
 * loaded once per process however many pipelines use it: a loaded model
 * is never changed, and each worker parsing the same 300 KB of JSON cost
 * it about 13 ms at start. eta_model_close() each one opened; the last
 * close frees it. Thread-safe. */
struct eta_model *eta_model_open(const char *path, char *err, size_t errlen);
void eta_model_close(struct eta_model *m);

const char *eta_model_version(const struct eta_model *m);
double eta_model_threshold(const struct eta_model *m);
uint32_t eta_model_min_packets(const struct eta_model *m);
uint32_t eta_model_trees(const struct eta_model *m);
uint64_t eta_model_memory(const struct eta_model *m);

/* The probability that x is malicious. contrib, when not NULL, receives
 * ETA_NFEATURES + 1 values in margin (log-odds) units: each feature's
 * contribution, then the bias; they sum to the margin. */
double eta_model_score(const struct eta_model *m, const float x[ETA_NFEATURES],
                       float *contrib);

/* The margin (log-odds) of x, which is what XGBoost's output_margin gives. */
double eta_model_margin(const struct eta_model *m, const float x[ETA_NFEATURES]);

#endif
