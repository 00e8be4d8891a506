/* baseline.c -- EWMA weights and robust statistics (see baseline.h). */
#include "detect/baseline.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

double ewma_alpha(double half_life)
{
    return half_life > 0 ? 1.0 - pow(0.5, 1.0 / half_life) : 1.0;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double median_of(double *d, uint32_t n)
{
    qsort(d, n, sizeof(*d), cmp_double);
    return n % 2 ? d[n / 2] : (d[n / 2 - 1] + d[n / 2]) / 2;
}

void median_mad(const uint32_t *v, uint32_t n, double *median, double *mad)
{
    *median = *mad = 0;
    if (!n)
        return;
    if (n > 256)
        n = 256;
    double d[256];
    for (uint32_t i = 0; i < n; i++)
        d[i] = v[i];
    double m = median_of(d, n);
    for (uint32_t i = 0; i < n; i++)
        d[i] = fabs((double)v[i] - m);
    *median = m;
    *mad = median_of(d, n);
}

double robust_z(double x, double median, double mad, double floor_frac)
{
    double floor_v = floor_frac * median;
    if (floor_v < 1)
        floor_v = 1;
    double s = 1.4826 * (mad > floor_v ? mad : floor_v);
    return (x - median) / s;
}
