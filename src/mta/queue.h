/* queue.h -- nightjar-mta's durable mail queue: a message is acknowledged
 * only once it and its envelope are on disk, and it stays there until the
 * next hop has taken it.
 *
 * A message is streamed into a temporary file as it arrives (memory stays
 * bounded whatever its size); its envelope (sender, recipients, client,
 * HELO, arrival time, the verdict's headers) is written when it ends.
 * Committing fsyncs the message, writes the envelope to a temporary file
 * and fsyncs it, renames the message and then the envelope into the queue
 * directory, and fsyncs the directory: after queue_commit() returns true a
 * crash (kill -9, power loss) cannot lose the message, and only then may
 * the server answer 250. A message without its envelope is a commit that
 * never finished (its sender got no 250) and is removed when the queue is
 * opened; leftovers in tmp/ likewise.
 *
 * Layout under DIR: tmp/ (being written), active/ (ID.msg and ID.env,
 * waiting for delivery), hold/ and quarantine/ (kept aside by policy or
 * after too long), each move a rename followed by a directory fsync. IDs
 * are the arrival time and a counter, so a directory listing is the
 * arrival order. queue_begin() belongs to one thread (the server's loop);
 * queue_commit() of different messages may run on several threads at once
 * (mta_commit.h), and the delivery's calls beside them. Never parses mail
 * and never talks to the network.
 */
#ifndef NIGHTJAR_MTA_QUEUE_H
#define NIGHTJAR_MTA_QUEUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mta/smtp_command.h"

#define QUEUE_ID_MAX 48
#define QUEUE_RCPT_MAX 100          /* RFC 5321 4.5.3.1.8: at least 100 */

struct queue_envelope {
    char from[SMTP_PATH_MAX];       /* "" for the null sender */
    unsigned n_rcpt;
    char rcpt[QUEUE_RCPT_MAX][SMTP_PATH_MAX];
    char helo[SMTP_DOMAIN_MAX];
    char client[64];                /* the sending MTA's address */
    uint64_t arrived_usec;
    bool body_8bit, smtputf8;
    char verdict[16];               /* "clean", "malicious", "unjudged" */
    char reason[256];               /* why, for the trace header */
};

struct mta_queue;
struct queue_file;                  /* a message being received */

/* Opens (creating) DIR and its subdirectories and removes unfinished
 * commits; *recovered counts the messages found waiting. NULL with err. */
struct mta_queue *queue_open(const char *dir, unsigned *recovered, char *err,
                             size_t errlen);
void queue_close(struct mta_queue *q);

/* A new message in tmp/. NULL with err (disk full, permissions). */
struct queue_file *queue_begin(struct mta_queue *q, char *err, size_t errlen);
/* Appends; false on a write error (the message must then be refused 451). */
bool queue_write(struct queue_file *f, const void *d, size_t n);
uint64_t queue_file_size(const struct queue_file *f);
/* Writes out what is buffered, so the file can be read back (judged)
 * before it is committed; false on a write error. */
bool queue_flush(struct queue_file *f);
/* The path of the message being written, for judging it before commit. */
const char *queue_file_path(const struct queue_file *f);
/* Makes it durable (see above) in active/ -- or straight in quarantine/,
 * where delivery never sees it -- and fills id. False with err: nothing
 * was committed and the temporary files are gone. Frees f either way. */
bool queue_commit(struct queue_file *f, const struct queue_envelope *env,
                  bool quarantine, char *id, size_t idlen, char *err,
                  size_t errlen);
/* Throws away a message being received (a refused or broken DATA). */
void queue_abort(struct queue_file *f);

/* The messages waiting in active/, oldest first: fn for each (its id);
 * returns how many. */
unsigned queue_list(struct mta_queue *q, void (*fn)(void *ctx, const char *id),
                    void *ctx);
/* A queued message's envelope, and its message's path. */
bool queue_load(struct mta_queue *q, const char *id, struct queue_envelope *env,
                char *msg_path, size_t pathlen);
/* Delivered: gone for good (unlink, directory fsync). */
bool queue_remove(struct mta_queue *q, const char *id);
/* Delivered, the directory's fsync left to a later queue_sync() (one for
 * many removals): a crash before it may bring the message back, to be
 * delivered again -- at least once, never lost. */
bool queue_forget(struct mta_queue *q, const char *id);
bool queue_sync(struct mta_queue *q);
/* Aside, to "hold" or "quarantine" (rename, directory fsync). */
bool queue_move(struct mta_queue *q, const char *id, const char *where);

const char *queue_dir(const struct mta_queue *q);

#endif
