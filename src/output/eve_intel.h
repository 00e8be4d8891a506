/* eve_intel.h -- EVE alerts for threat-intelligence matches: Suricata's
 * alert object plus nightjar's evidence (which indicator of which feed,
 * which field of which event, and how it matched). Formats; never decides. */
#ifndef NIGHTJAR_EVE_INTEL_H
#define NIGHTJAR_EVE_INTEL_H

#include <stdint.h>

#include "detect/finding.h"
#include "intel/intel.h"
#include "output/eve.h"

/* A threat-intelligence finding (intel evidence) as an alert. */
void eve_write_intel_alert(struct eve *e, const struct finding *fd, uint16_t cid_seed);

#endif
