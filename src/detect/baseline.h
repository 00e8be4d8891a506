/* baseline.h -- the statistics host baselines are made of: exponentially
 * weighted means with a half-life (a baseline that adapts slowly, so a
 * network that drifts does not drown in alerts), and median / MAD (median
 * absolute deviation) of a small sample, the robust pair that one huge
 * transfer cannot drag along the way a mean and a standard deviation are.
 * Pure functions on caller-owned memory.
 */
#ifndef NIGHTJAR_BASELINE_H
#define NIGHTJAR_BASELINE_H

#include <stdint.h>

/* The weight of a new sample for a half-life of `half_life` samples:
 * after that many updates an old value counts half. */
double ewma_alpha(double half_life);

static inline float ewma_update(float old, double x, double alpha, int first)
{
    return first ? (float)x : (float)(old + alpha * (x - old));
}

/* Median and MAD of n values (n <= 256); both 0 when n is 0. */
void median_mad(const uint32_t *v, uint32_t n, double *median, double *mad);

/* How many robust standard deviations x is above the median: (x - median)
 * / (1.4826 * MAD), with the MAD floored at floor_frac * median (and 1),
 * so a host whose transfers are all the same size does not flag the
 * first one a byte larger. */
double robust_z(double x, double median, double mad, double floor_frac);

#endif
