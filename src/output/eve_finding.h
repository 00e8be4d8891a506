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


/* A record's common fields for a finding: from its flow, or, without one,
 * timestamp, event_type, src_ip (its host) and dest_ip (its peer). */
void eve_begin_finding(struct eve *e, const struct finding *fd, const char *type,
                       uint16_t cid_seed);

/* The fields every finding's record carries in nightjar.evidence (or the
 * anomaly object), whatever its detector: finding (its kind), stage, host,
 * peer, port, observed, baseline, deviation, unit, detail, indicators,
 * strong. What correlate/eve_findings.c reads a finding back from. */
void eve_finding_fields(struct json *j, const struct finding *fd);

/* Any finding: an alert in the shape of its evidence (intel, ETA,
 * content, behaviour) or an anomaly event, with its incident_id. */
void eve_write_finding(struct eve *e, const struct finding *fd, uint16_t cid_seed);
void eve_write_incident(struct eve *e, const struct incident *inc,
                        const char *state, const char *reason,
                        const struct finding *latest, uint64_t ts_usec);
/* The incident turned high: an alert naming its hosts and evidence. */
void eve_write_compromise(struct eve *e, const struct incident *inc,
                          const struct finding *latest, uint64_t ts_usec,
                          uint16_t cid_seed);

/* A finding and what it changed: the finding, then the incident event
 * (opened or escalated), then the compromise alert. */
struct incident_change;
void eve_write_correlated(struct eve *e, const struct finding *fd,
                          const struct incident_change *ch, uint16_t cid_seed);
/* What a finding changed, without the finding: the incident event, then
 * the compromise alert (the central correlator, whose findings are already
 * in the stream it reads). */
void eve_write_change(struct eve *e, const struct finding *fd,
                      const struct incident_change *ch, uint16_t cid_seed);

#endif
