/* eve_finding.h -- EVE output of findings and incidents: an `alert` for a
 * behaviour finding (signature_id 9400000 + kind; nightjar.evidence with the
 * finding, its stage, the baseline, the observed value and how far off it
 * is), an `anomaly` event for an outlier, and an `incident` event when an
 * incident opens, escalates or closes, and the "host compromised" alert
 * (signature_id 9500001) when it turns high. Formats; never decides. */
#ifndef NIGHTJAR_EVE_FINDING_H
#define NIGHTJAR_EVE_FINDING_H

#include <stdint.h>

#include "detect/finding.h"
#include "output/eve.h"

struct incident;

#define FINDING_SID_BASE 9400000u
#define COMPROMISE_SID 9500001u

void eve_write_finding(struct eve *e, const struct finding *fd,
                       uint64_t incident_id, uint16_t cid_seed);
void eve_write_incident(struct eve *e, const struct incident *inc,
                        const char *state, const char *reason,
                        const struct finding *latest, uint64_t ts_usec);
/* The incident turned high: an alert naming its hosts and evidence. */
void eve_write_compromise(struct eve *e, const struct incident *inc,
                          const struct finding *latest, uint64_t ts_usec,
                          uint16_t cid_seed);

#endif
