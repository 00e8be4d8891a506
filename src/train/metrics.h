/* metrics.h -- how well scores separate labels: ROC AUC, the ROC curve,
 * true-positive rate at a fixed false-positive rate, and the confusion
 * matrix with precision, recall and F1 at a threshold. Pure functions of
 * (score, label) pairs; nothing here knows about flows or models.
 */
#ifndef NIGHTJAR_TRAIN_METRICS_H
#define NIGHTJAR_TRAIN_METRICS_H

#include <stddef.h>
#include <stdint.h>

struct metrics {
    size_t n_pos, n_neg;
    double auc;                 /* NaN when a class is empty */
    double threshold;
    uint64_t tp, fp, tn, fn;
    double precision, recall, f1, fpr;
    double tpr_at_fpr_1e3, tpr_at_fpr_1e4;
};

struct roc_point {
    double fpr, tpr, threshold;
};

/* label: 1 malicious, 0 benign. A score at or over threshold is positive. */
void metrics_compute(const double *score, const int8_t *label, size_t n,
                     double threshold, struct metrics *m);

/* The ROC curve, one point per distinct score (plus (0,0)), into out
 * (at most max points; ties merged). Returns the number of points. */
size_t metrics_roc(const double *score, const int8_t *label, size_t n,
                   struct roc_point *out, size_t max);

/* The highest true-positive rate whose false-positive rate is <= target. */
double metrics_tpr_at_fpr(const double *score, const int8_t *label, size_t n,
                          double target);

/* The lowest threshold whose false-positive rate is <= target. */
double metrics_threshold_for_fpr(const double *score, const int8_t *label,
                                 size_t n, double target);

#endif
