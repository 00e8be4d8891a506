/* eve_icap.h -- the EVE `icap` event: one per ICAP transaction (see
 * icap/icap_event.h; fields in docs/eve.md). Formats; never decides. */
#ifndef NIGHTJAR_EVE_ICAP_H
#define NIGHTJAR_EVE_ICAP_H

#include "icap/icap_event.h"
#include "output/eve.h"

void eve_write_icap(struct eve *e, const struct icap_event *ev);

#endif
