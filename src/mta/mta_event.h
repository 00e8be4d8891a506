/* mta_event.h -- what nightjar-mta logs: a message received and what was
 * done with it (its envelope and headers, the verdict, the action, the
 * reply the sender got, the queue id), and each delivery attempt to the
 * next hop. The server and the delivery thread fill these; output/eve_mta.c
 * renders them. Plain data: pointers are valid for the call.
 */
#ifndef NIGHTJAR_MTA_EVENT_H
#define NIGHTJAR_MTA_EVENT_H

#include <stdbool.h>
#include <stdint.h>

#include "detect/finding.h"
#include "proto/mime.h"
#include "proto/smtp.h"

struct mta_event {
    uint64_t ts_usec;
    const struct event_subject *subj;  /* the sending MTA */
    const struct smtp_tx *tx;          /* envelope: HELO, MAIL FROM, RCPT TO */
    const struct email_info *em;       /* headers, URLs, attachments; or NULL */
    const char *verdict;               /* "clean", "malicious", "unjudged" */
    const char *action;                /* "deliver", "reject", "quarantine", "tag", "refuse" */
    const char *reason;
    const char *queue_id;              /* "" when not queued */
    int reply;                         /* the code the sender got */
    uint64_t size;
    unsigned findings;
    const char *tls_version;           /* after STARTTLS ("TLS 1.3"); NULL: clear */
    const char *tls_cipher;
};

struct mta_delivery_event {
    uint64_t ts_usec;
    const char *queue_id;
    const char *relay;
    const char *status;                /* "delivered", "deferred", "failed", "held" */
    const char *reply;                 /* the next hop's last reply, or the error */
    unsigned attempt;
    unsigned rcpts;
    double seconds_queued;
    const char *tls_version;           /* the delivery went over TLS; NULL: clear */
    const char *tls_cipher;
    bool tls_verified;                 /* the next hop's certificate and name checked */
};

#endif
