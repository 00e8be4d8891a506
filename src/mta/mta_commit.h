/* mta_commit.h -- nightjar-mta's queue commits on worker threads.
 *
 * Committing a message (queue_commit: fsync the message, write and fsync
 * its envelope, rename both, fsync the directory) waits for the disk two
 * or three times; on the event loop that wait was paid by every session
 * in turn, one message after another. A pool of threads runs the commits
 * of different sessions at the same time instead, so their fsyncs are in
 * flight together and the disk serves them together (what Postfix gets
 * from its several cleanup processes). The durability rule is unchanged:
 * a session is answered 250 only when its job is done and ok, that is
 * after queue_commit() returned true.
 *
 * The loop submits a job (the message file, handed over; the envelope,
 * which must stay valid until the job is done) and stops reading that
 * session; an eventfd in the loop's epoll set says jobs are done, and the
 * loop collects them (in the order they finished) and answers. With 0
 * workers a job is committed in the caller (tests). Never parses mail,
 * never talks to the network.
 */
#ifndef NIGHTJAR_MTA_COMMIT_H
#define NIGHTJAR_MTA_COMMIT_H

#include <stdbool.h>
#include <stddef.h>

#include "mta/queue.h"

struct mta_commit_job {
    /* in */
    struct queue_file *qf;            /* handed over: freed by the commit */
    const struct queue_envelope *env; /* valid until the job is done */
    bool quarantine;                  /* into quarantine/, not active/ */
    void *owner;                      /* the caller's, handed back */
    /* out */
    bool ok;                          /* durable: the 250 may be sent */
    char id[QUEUE_ID_MAX];
    char err[512];
    struct mta_commit_job *next;
};

struct mta_commit;

/* workers threads (0: commit in the caller). NULL with err set. */
struct mta_commit *mta_commit_new(unsigned workers, char *err, size_t errlen);
/* Commits what is still queued, stops the workers; jobs done and not
 * collected are dropped (their messages are in the queue all the same). */
void mta_commit_free(struct mta_commit *p);

/* The eventfd that becomes readable when jobs are done (-1 without workers). */
int mta_commit_fd(const struct mta_commit *p);

/* Hands a job over. Without workers it is done when this returns, and
 * true is returned: collect it yourself. False: queued. */
bool mta_commit_submit(struct mta_commit *p, struct mta_commit_job *job);
/* Calls fn for every job done since the last call (the loop's thread). */
void mta_commit_collect(struct mta_commit *p,
                        void (*fn)(void *ctx, struct mta_commit_job *job), void *ctx);
/* Waits until every submitted job is done, then collects (at stop). */
void mta_commit_drain(struct mta_commit *p,
                      void (*fn)(void *ctx, struct mta_commit_job *job), void *ctx);
/* Jobs submitted and not yet collected. */
unsigned mta_commit_pending(const struct mta_commit *p);

#endif
