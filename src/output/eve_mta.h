/* eve_mta.h -- EVE records of nightjar-mta: `smtp` for a message received
 * (Suricata's smtp and email objects, and an "mta" object with the verdict
 * and what was done), `mta_delivery` for each delivery attempt (fields in
 * docs/eve.md); either says, in "tls", the version and cipher of a
 * session that went over STARTTLS. Formats; never decides. */
#ifndef NIGHTJAR_EVE_MTA_H
#define NIGHTJAR_EVE_MTA_H

#include "mta/mta_event.h"
#include "output/eve.h"

void eve_write_mta_message(struct eve *e, const struct mta_event *ev);
void eve_write_mta_delivery(struct eve *e, const struct mta_delivery_event *ev);

#endif
