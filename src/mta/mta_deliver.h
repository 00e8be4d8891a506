/* mta_deliver.h -- nightjar-mta's way out: threads that deliver every
 * queued message to the next hop (mta.relay) by SMTP and remove it from
 * the queue only once the next hop has answered its end of data with 250.
 *
 * mta.relay-connections threads (4), each with a connection of its own;
 * a message belongs to the thread its id hashes to, so two never try the
 * same one. The server hands each queued id to its thread at once; every
 * thread also looks at the whole queue every 2 s (retries, what was there
 * at start). A connection is opened (EHLO) when needed and kept for the
 * next message -- MAIL straight after the last 250 -- until it has carried
 * nothing for a scan; one the next hop has closed meanwhile is opened
 * again at once, any failure closes it. Before the first MAIL on a
 * connection it says STARTTLS by mta.relay-tls (mta_tls.h) and EHLO again
 * inside TLS: "may" when the next hop offers it, "encrypt" always (a next
 * hop that does not offer it defers the message, the reason logged),
 * "none" never; once offered, a refusal, a failed handshake or
 * (mta.relay-tls-verify) a certificate that does not verify for the
 * relay's name defers the message -- it never falls back to the clear.
 * The socket is blocking, each read and write bounded by 60 s, the
 * handshake as a whole too. For each message the thread gives
 * BODY=8BITMIME and SMTPUTF8 where the message needs them and the next hop
 * offers them, sends the recipients, then the message dot-stuffed, with
 * the verdict's trace headers (X-Nightjar-Verdict, X-Nightjar-Reason)
 * first. A temporary failure (no connection, a 4xx, a timeout) defers the
 * message with a backoff that doubles from mta.retry-min to mta.retry-max; a
 * permanent refusal (5xx), or mta.hold-after seconds without success,
 * moves it to QUEUE/hold with the reason logged -- never dropped -- and
 * (mta.bounce) queues a delivery status notification to its sender for
 * the recipients that failed, those refused one by one included
 * (mta_bounce.h). After a
 * restart everything still queued is tried at once. Each attempt is an
 * EVE mta_delivery record. Delivery is at least once: a crash between the
 * next hop's 250 and the removal sends the message again; so does one
 * before the queue directory's next fsync, which comes with each scan (a
 * removal is not fsync'd on its own).
 *
 * This file talks to the next hop and moves queue entries; it never
 * judges mail, never listens, and calls OpenSSL only through mta_tls.h.
 */
#ifndef NIGHTJAR_MTA_DELIVER_H
#define NIGHTJAR_MTA_DELIVER_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "config/config.h"
#include "mta/queue.h"
#include "output/eve.h"

struct mta_deliver_stats {
    uint64_t attempts, delivered, deferred, failed, held;
    uint64_t schedule_full;      /* a deferred message found no retry slot */
    uint64_t tls_ok, tls_failed; /* STARTTLS to the next hop set up, or not */
    uint64_t tls_not_offered;    /* mta.relay-tls encrypt, and no STARTTLS */
    uint64_t bounces, bounce_errors; /* reports queued for senders, or not */
};

struct mta_deliver;

/* Starts the thread. eve (may be NULL) is shared with the server: every
 * write to it holds eve_lock. NULL with err. */
struct mta_deliver *mta_deliver_new(const struct nj_config *cfg, struct mta_queue *q,
                                    struct eve *eve, pthread_mutex_t *eve_lock,
                                    char *err, size_t errlen);
/* Look at the queue now (at start: what was waiting). */
void mta_deliver_wake(struct mta_deliver *d);
/* The message id was queued: try it now. */
void mta_deliver_queued(struct mta_deliver *d, const char *id);
/* Lets the attempt in progress finish, then stops the thread. */
void mta_deliver_free(struct mta_deliver *d);

/* Counters, read under the thread's lock. */
void mta_deliver_stats(struct mta_deliver *d, struct mta_deliver_stats *out);

#endif
