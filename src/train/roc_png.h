/* roc_png.h -- a ROC curve as a PNG a person can look at: two panels, the
 * usual linear one and one with the false-positive rate on a log scale
 * (1e-4 .. 1), where a sensor's operating points live; the AUC and the
 * axis values are written in a small built-in bitmap font. The PNG is
 * written with zlib (no image library): RGB, 8 bits, one IDAT chunk.
 */
#ifndef NIGHTJAR_TRAIN_ROC_PNG_H
#define NIGHTJAR_TRAIN_ROC_PNG_H

#include <stdbool.h>
#include <stddef.h>

#include "train/metrics.h"

bool roc_png_write(const char *path, const struct roc_point *pts, size_t n,
                   double auc, const char *title, char *err, size_t errlen);

#endif
