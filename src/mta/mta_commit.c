/* mta_commit.c -- queue commits on worker threads (see mta_commit.h). */
#include "mta/mta_commit.h"

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#define MAX_WORKERS 64

struct mta_commit {
    unsigned n;
    pthread_t threads[MAX_WORKERS];
    pthread_mutex_t mu;
    pthread_cond_t cv;              /* a job queued, or stopping */
    pthread_cond_t idle;            /* a job done (for drain) */
    struct mta_commit_job *head, *tail; /* queued */
    struct mta_commit_job *done, *done_tail;
    unsigned outstanding;           /* submitted, not yet collected */
    bool stopping;
    int efd;
};

static void run(struct mta_commit_job *j)
{
    j->ok = queue_commit(j->qf, j->env, j->quarantine, j->id, sizeof(j->id), j->err,
                         sizeof(j->err));
    j->qf = NULL;
}

static void *worker(void *arg)
{
    struct mta_commit *p = arg;
    pthread_mutex_lock(&p->mu);
    for (;;) {
        while (!p->head && !p->stopping)
            pthread_cond_wait(&p->cv, &p->mu);
        struct mta_commit_job *j = p->head;
        if (!j)
            break; /* stopping, and nothing left to commit */
        p->head = j->next;
        if (!p->head)
            p->tail = NULL;
        pthread_mutex_unlock(&p->mu);
        run(j);
        pthread_mutex_lock(&p->mu);
        j->next = NULL;
        if (p->done_tail)
            p->done_tail->next = j;
        else
            p->done = j;
        p->done_tail = j;
        pthread_cond_broadcast(&p->idle);
        uint64_t one = 1;
        ssize_t w = write(p->efd, &one, sizeof(one));
        (void)w; /* the counter cannot overflow: the loop reads it */
    }
    pthread_mutex_unlock(&p->mu);
    return NULL;
}

struct mta_commit *mta_commit_new(unsigned workers, char *err, size_t errlen)
{
    struct mta_commit *p = calloc(1, sizeof(*p));
    if (!p) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    p->efd = -1;
    if (workers > MAX_WORKERS)
        workers = MAX_WORKERS;
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->cv, NULL);
    pthread_cond_init(&p->idle, NULL);
    if (workers && (p->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) < 0) {
        snprintf(err, errlen, "eventfd: %s", strerror(errno));
        mta_commit_free(p);
        return NULL;
    }
    for (; p->n < workers; p->n++) {
        if (pthread_create(&p->threads[p->n], NULL, worker, p) != 0) {
            snprintf(err, errlen, "cannot start a commit thread");
            mta_commit_free(p);
            return NULL;
        }
    }
    return p;
}

void mta_commit_free(struct mta_commit *p)
{
    if (!p)
        return;
    pthread_mutex_lock(&p->mu);
    p->stopping = true;
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
    for (unsigned i = 0; i < p->n; i++)
        pthread_join(p->threads[i], NULL);
    if (p->efd >= 0)
        close(p->efd);
    pthread_cond_destroy(&p->idle);
    pthread_cond_destroy(&p->cv);
    pthread_mutex_destroy(&p->mu);
    free(p);
}

int mta_commit_fd(const struct mta_commit *p) { return p->efd; }

unsigned mta_commit_pending(const struct mta_commit *p) { return p->outstanding; }

bool mta_commit_submit(struct mta_commit *p, struct mta_commit_job *job)
{
    job->next = NULL;
    job->ok = false;
    job->id[0] = job->err[0] = '\0';
    if (!p->n) {
        run(job);
        return true;
    }
    p->outstanding++;
    pthread_mutex_lock(&p->mu);
    if (p->tail)
        p->tail->next = job;
    else
        p->head = job;
    p->tail = job;
    pthread_cond_signal(&p->cv);
    pthread_mutex_unlock(&p->mu);
    return false;
}

void mta_commit_collect(struct mta_commit *p,
                        void (*fn)(void *ctx, struct mta_commit_job *job), void *ctx)
{
    uint64_t n;
    if (p->efd >= 0) {
        ssize_t r = read(p->efd, &n, sizeof(n));
        (void)r; /* EAGAIN: nothing was signalled since the last read */
    }
    pthread_mutex_lock(&p->mu);
    struct mta_commit_job *j = p->done;
    p->done = p->done_tail = NULL;
    pthread_mutex_unlock(&p->mu);
    while (j) {
        struct mta_commit_job *next = j->next; /* fn may reuse j */
        p->outstanding--;
        fn(ctx, j);
        j = next;
    }
}

void mta_commit_drain(struct mta_commit *p,
                      void (*fn)(void *ctx, struct mta_commit_job *job), void *ctx)
{
    for (;;) {
        mta_commit_collect(p, fn, ctx);
        if (!p->outstanding)
            return;
        pthread_mutex_lock(&p->mu);
        while (!p->done)
            pthread_cond_wait(&p->idle, &p->mu);
        pthread_mutex_unlock(&p->mu);
    }
}
