/* metrics.c -- ROC and confusion-matrix statistics (see metrics.h).
 * Everything is computed from the scores sorted high to low once; tied
 * scores move together (a threshold cannot split them), which is what makes
 * the AUC the Mann-Whitney statistic with ties counted half. */
#include "train/metrics.h"

#include <math.h>
#include <stdbool.h>
#include <stdlib.h>

struct pair {
    double s;
    int8_t l;
};

static int by_score_desc(const void *a, const void *b)
{
    double x = ((const struct pair *)a)->s, y = ((const struct pair *)b)->s;
    return x > y ? -1 : x < y;
}

static struct pair *sorted(const double *score, const int8_t *label, size_t n,
                           size_t *pos, size_t *neg)
{
    struct pair *p = malloc((n ? n : 1) * sizeof(*p));
    *pos = *neg = 0;
    if (!p)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        p[i].s = score[i];
        p[i].l = label[i];
        *pos += label[i] == 1;
        *neg += label[i] != 1;
    }
    qsort(p, n, sizeof(*p), by_score_desc);
    return p;
}

size_t metrics_roc(const double *score, const int8_t *label, size_t n,
                   struct roc_point *out, size_t max)
{
    size_t pos, neg, k = 0;
    struct pair *p = sorted(score, label, n, &pos, &neg);
    if (!p || !max || !pos || !neg) {
        free(p);
        return 0;
    }
    out[k++] = (struct roc_point){ 0, 0, INFINITY };
    size_t tp = 0, fp = 0;
    for (size_t i = 0; i < n;) {
        double s = p[i].s;
        for (; i < n && p[i].s == s; i++) {
            tp += p[i].l == 1;
            fp += p[i].l != 1;
        }
        struct roc_point pt = { (double)fp / neg, (double)tp / pos, s };
        if (k < max)
            out[k++] = pt;
        else
            out[max - 1] = pt; /* keep the end point */
    }
    free(p);
    return k;
}

static double auc_of(const struct roc_point *r, size_t k)
{
    double a = 0;
    for (size_t i = 1; i < k; i++)
        a += (r[i].fpr - r[i - 1].fpr) * (r[i].tpr + r[i - 1].tpr) / 2;
    return a;
}

double metrics_tpr_at_fpr(const double *score, const int8_t *label, size_t n,
                          double target)
{
    struct roc_point *r = malloc((n + 1) * sizeof(*r));
    if (!r)
        return NAN;
    size_t k = metrics_roc(score, label, n, r, n + 1);
    double best = k ? 0 : NAN;
    for (size_t i = 0; i < k; i++)
        if (r[i].fpr <= target && r[i].tpr > best)
            best = r[i].tpr;
    free(r);
    return best;
}

double metrics_threshold_for_fpr(const double *score, const int8_t *label,
                                 size_t n, double target)
{
    struct roc_point *r = malloc((n + 1) * sizeof(*r));
    if (!r)
        return NAN;
    size_t k = metrics_roc(score, label, n, r, n + 1);
    double t = 1;
    for (size_t i = 1; i < k && r[i].fpr <= target; i++)
        t = r[i].threshold;
    free(r);
    return t;
}

void metrics_compute(const double *score, const int8_t *label, size_t n,
                     double threshold, struct metrics *m)
{
    *m = (struct metrics){ .threshold = threshold };
    for (size_t i = 0; i < n; i++) {
        bool pos = score[i] >= threshold, mal = label[i] == 1;
        m->tp += pos && mal;
        m->fp += pos && !mal;
        m->tn += !pos && !mal;
        m->fn += !pos && mal;
    }
    m->n_pos = m->tp + m->fn;
    m->n_neg = m->tn + m->fp;
    m->precision = m->tp + m->fp ? (double)m->tp / (m->tp + m->fp) : NAN;
    m->recall = m->n_pos ? (double)m->tp / m->n_pos : NAN;
    m->f1 = m->precision + m->recall > 0
                ? 2 * m->precision * m->recall / (m->precision + m->recall)
                : NAN;
    m->fpr = m->n_neg ? (double)m->fp / m->n_neg : NAN;
    struct roc_point *r = malloc((n + 1) * sizeof(*r));
    size_t k = r ? metrics_roc(score, label, n, r, n + 1) : 0;
    m->auc = k ? auc_of(r, k) : NAN;
    free(r);
    m->tpr_at_fpr_1e3 = metrics_tpr_at_fpr(score, label, n, 1e-3);
    m->tpr_at_fpr_1e4 = metrics_tpr_at_fpr(score, label, n, 1e-4);
}
