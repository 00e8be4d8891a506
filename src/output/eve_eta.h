/* eve_eta.h -- EVE output of the encrypted-traffic model: the alert for a
 * flow scored over the threshold (Suricata's alert object plus nightjar's
 * evidence: score, threshold, model version, the features that mattered),
 * and the "eta" object of a flow record. Formats; never decides. */
#ifndef NIGHTJAR_EVE_ETA_H
#define NIGHTJAR_EVE_ETA_H

#include <stdint.h>

#include "detect/finding.h"
#include "eta/eta_features.h"
#include "output/eve.h"

/* A model finding (eta evidence) as an alert. */
void eve_write_eta_alert(struct eve *e, const struct finding *fd, uint16_t cid_seed);

/* "eta": {"score", "model", ["features": {name: value}]} in a flow record. */
void eve_eta_flow(struct json *j, double score, const char *model_version,
                  const float *x);

#endif
