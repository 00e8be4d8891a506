/* mta_bounce.h -- the delivery status notification (RFC 3464, in a
 * multipart/report of RFC 6522) nightjar-mta sends back to a sender whose
 * mail failed for good: recipients the next hop refused with a 5xx, or a
 * message undelivered past mta.hold-after.
 *
 * The report is a human-readable part naming each recipient and the next
 * hop's answer, the machine-readable message/delivery-status (Reporting-
 * MTA, Arrival-Date, and per recipient Final-Recipient, Action: failed,
 * Status -- the reply's enhanced code, or 4.4.7 for an expired message --
 * and Diagnostic-Code), and the failed message's header as
 * text/rfc822-headers. It goes out from the null sender, so it can never
 * cause a bounce itself; a message from the null sender gets none
 * (RFC 5321 4.5.5).
 *
 * Builds the report in memory; never queues, never talks to a next hop.
 */
#ifndef NIGHTJAR_MTA_BOUNCE_H
#define NIGHTJAR_MTA_BOUNCE_H

#include <stdbool.h>
#include <stdint.h>

#include "mta/queue.h"
#include "util/buf.h"

#define BOUNCE_RCPTS_MAX 16           /* named one by one; the rest counted */
#define BOUNCE_REPLY_MAX 200
#define BOUNCE_HEADER_MAX 16384       /* of the failed message's header kept */

struct bounce_rcpt {
    char rcpt[SMTP_PATH_MAX];
    char reply[BOUNCE_REPLY_MAX];     /* the next hop's answer, or why */
};

struct bounce {
    unsigned n, more;                 /* more: failed past BOUNCE_RCPTS_MAX */
    bool expired;                     /* mta.hold-after, not a refusal */
    struct bounce_rcpt r[BOUNCE_RCPTS_MAX];
};

void bounce_add(struct bounce *b, const char *rcpt, const char *reply);

/* The report for the failed message id (its envelope e, its file at
 * msg_path) into out (emptied first); false when out of memory. */
bool bounce_build(struct buf *out, const char *hostname, const char *id,
                  const struct queue_envelope *e, const char *msg_path,
                  const struct bounce *b, uint64_t now_usec);

/* The envelope of the report: from the null sender to e's sender. */
void bounce_envelope(struct queue_envelope *out, const struct queue_envelope *e,
                     const char *hostname, uint64_t now_usec);

#endif
