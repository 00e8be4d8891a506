/* model_file.h -- writing a nightjar ETA model file (the reader is
 * src/eta/eta_model.c; the format is in docs/eta.md): a JSON header the
 * sensor checks (format, version, features, threshold) and the training
 * record, then XGBoost's model verbatim under "booster". Nothing in it
 * depends on the time or the machine, so the same training run writes the
 * same bytes.
 */
#ifndef NIGHTJAR_TRAIN_MODEL_FILE_H
#define NIGHTJAR_TRAIN_MODEL_FILE_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

/* A malloc'd model file text. training is borrowed; version NULL or ""
 * names the model after the booster's SHA-256. */
char *model_file_build(const char *booster_json, const char *version,
                       double threshold, uint32_t min_packets,
                       json_t *training);

#endif
