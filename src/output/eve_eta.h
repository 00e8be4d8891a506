/* eve_eta.h -- EVE output of the encrypted-traffic model: the alert for a
 * flow scored over the threshold (Suricata's alert object plus nightjar's
 * evidence: score, threshold, model version, the features that mattered),
 * and the "eta" object of a flow record. Formats; never decides. */
#ifndef NIGHTJAR_EVE_ETA_H
#define NIGHTJAR_EVE_ETA_H

#include <stdint.h>

#include "eta/eta_features.h"
#include "output/eve.h"

#define ETA_ALERT_SID 9300001u

struct eta_alert {
    double score, threshold;
    const char *model_version;
    const float *x;          /* ETA_NFEATURES values */
    const float *contrib;    /* ETA_NFEATURES + 1 (bias last) */
    uint32_t top;            /* features to name */
};

void eve_write_eta_alert(struct eve *e, const struct flow *f, uint64_t ts_usec,
                         uint16_t cid_seed, const struct eta_alert *a);

/* "eta": {"score", "model", ["features": {name: value}]} in a flow record. */
void eve_eta_flow(struct json *j, double score, const char *model_version,
                  const float *x);

#endif
