/* eve_response.h -- EVE `response` events: what the response did about a
 * compromised host and when it was undone (contain, release,
 * skip-allowlisted, dry-run), with the host, the incident, the nftables
 * set and timeout, and success or the error. Formats; never decides, never
 * acts (src/response/ does). Field list in docs/eve.md and docs/response.md.
 */
#ifndef NIGHTJAR_EVE_RESPONSE_H
#define NIGHTJAR_EVE_RESPONSE_H

#include <stdbool.h>
#include <stdint.h>

#include "output/eve.h"

struct response_event {
    uint64_t ts_usec;
    const char *action;        /* "contain", "release", "skip-allowlisted", "dry-run" */
    uint8_t ip_version;
    const struct ip_addr *host;
    uint64_t incident_id;      /* 0: not said */
    const char *family, *table, *set; /* the nftables set */
    uint32_t timeout_sec;
    uint64_t expires_usec;     /* when the element goes; 0: not said */
    bool dry_run;
    bool success;
    const char *error;         /* what failed (success false) */
    const char *reason;        /* release: timeout, removed; skip: why */
    const char *command;       /* the nftables command run, or that would be */
};

void eve_write_response(struct eve *e, const struct response_event *ev);

#endif
