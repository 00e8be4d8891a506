/* eve_intel.h -- EVE alerts for threat-intelligence matches: Suricata's
 * alert object plus nightjar's evidence (which indicator of which feed,
 * which field of which event, and how it matched). Formats; never decides. */
#ifndef NIGHTJAR_EVE_INTEL_H
#define NIGHTJAR_EVE_INTEL_H

#include <stdint.h>

#include "intel/intel.h"
#include "output/eve.h"

struct intel_evidence {
    const struct intel_set *set;
    const struct ioc *ioc;
    const char *event;      /* "flow", "dns", "tls", "http", "smtp", "fileinfo" */
    const char *field;      /* "dest_ip", "tls.sni", ... */
    const char *value;      /* what the traffic showed */
    const char *how;        /* "exact", "subdomain", "network", "resolved" */
    char path[768];         /* the match in words */
};

/* signature_id: 8,000,000 + a stable number from feed and indicator. */
uint32_t eve_intel_sid(const struct intel_evidence *ev);

void eve_write_intel_alert(struct eve *e, const struct flow *f,
                           uint64_t ts_usec, uint16_t cid_seed,
                           const struct intel_evidence *ev);

#endif
