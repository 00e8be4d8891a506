/* queue.c -- the durable mail queue (see queue.h). */
#include "mta/queue.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "util/text.h"

#define PATH_LEN 1400  /* dir (1024) + subdirectory + a 255-byte name */
#define WBUF 65536

static const char *const subdirs[] = { "tmp", "active", "hold", "quarantine" };

struct mta_queue {
    char dir[1024];
    int active_fd;                  /* active/, for fsync */
    uint32_t counter;
};

struct queue_file {
    struct mta_queue *q;
    char id[QUEUE_ID_MAX];
    char path[PATH_LEN];
    int fd;
    bool failed;
    uint64_t size;
    size_t buffered;
    uint8_t buf[WBUF];
};

static void path_of(const struct mta_queue *q, char *out, const char *sub,
                    const char *id, const char *ext)
{
    snprintf(out, PATH_LEN, "%s/%s/%s%s", q->dir, sub, id, ext);
}

static bool fsync_dir(const char *path)
{
    int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return false;
    bool ok = fsync(fd) == 0;
    close(fd);
    return ok;
}

static bool exists(const char *path)
{
    struct stat sb;
    return stat(path, &sb) == 0;
}

/* ID.ext names in a subdirectory */
static bool has_ext(const char *name, const char *ext, char *id, size_t idlen)
{
    size_t n = strlen(name), e = strlen(ext);
    if (n <= e || strcmp(name + n - e, ext) != 0 || n - e >= idlen)
        return false;
    text_copy(id, idlen, name, n - e);
    return true;
}

/* Unfinished work from before a crash: tmp/ emptied; in active/, a
 * message without its envelope removed (its commit never finished), an
 * envelope whose message was being moved aside follows it there. */
static void recover(struct mta_queue *q, unsigned *waiting)
{
    char p[PATH_LEN], other[PATH_LEN], id[QUEUE_ID_MAX];
    snprintf(p, sizeof(p), "%s/tmp", q->dir);
    DIR *d = opendir(p);
    struct dirent *de;
    while (d && (de = readdir(d)))
        if (de->d_name[0] != '.') {
            snprintf(other, sizeof(other), "%s/tmp/%s", q->dir, de->d_name);
            unlink(other);
        }
    if (d)
        closedir(d);
    *waiting = 0;
    snprintf(p, sizeof(p), "%s/active", q->dir);
    if (!(d = opendir(p)))
        return;
    while ((de = readdir(d))) {
        if (has_ext(de->d_name, ".msg", id, sizeof(id))) {
            path_of(q, other, "active", id, ".env");
            if (!exists(other)) {
                path_of(q, other, "active", id, ".msg");
                unlink(other);
            }
        } else if (has_ext(de->d_name, ".env", id, sizeof(id))) {
            path_of(q, other, "active", id, ".msg");
            if (exists(other)) {
                (*waiting)++;
                continue;
            }
            char from[PATH_LEN];
            path_of(q, from, "active", id, ".env");
            for (int s = 2; s < 4; s++) {
                path_of(q, other, subdirs[s], id, ".msg");
                if (exists(other)) {
                    path_of(q, other, subdirs[s], id, ".env");
                    if (rename(from, other) == 0)
                        break;
                }
            }
            unlink(from); /* no message anywhere: nothing to deliver */
        }
    }
    closedir(d);
    fsync(q->active_fd);
}

struct mta_queue *queue_open(const char *dir, unsigned *recovered, char *err,
                             size_t errlen)
{
    struct mta_queue *q = calloc(1, sizeof(*q));
    if (!q) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    snprintf(q->dir, sizeof(q->dir), "%s", dir);
    q->active_fd = -1;
    char p[PATH_LEN];
    if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
        snprintf(err, errlen, "queue %s: %s", dir, strerror(errno));
        free(q);
        return NULL;
    }
    for (int i = 0; i < 4; i++) {
        snprintf(p, sizeof(p), "%s/%s", dir, subdirs[i]);
        if (mkdir(p, 0700) != 0 && errno != EEXIST) {
            snprintf(err, errlen, "queue %s: %s", p, strerror(errno));
            free(q);
            return NULL;
        }
    }
    snprintf(p, sizeof(p), "%s/active", dir);
    q->active_fd = open(p, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (q->active_fd < 0 || access(p, W_OK) != 0) {
        snprintf(err, errlen, "queue %s: %s", p, strerror(errno));
        queue_close(q);
        return NULL;
    }
    unsigned n = 0;
    recover(q, &n);
    if (recovered)
        *recovered = n;
    return q;
}

void queue_close(struct mta_queue *q)
{
    if (!q)
        return;
    if (q->active_fd >= 0)
        close(q->active_fd);
    free(q);
}

const char *queue_dir(const struct mta_queue *q) { return q->dir; }

/* --- receiving --------------------------------------------------------- */

struct queue_file *queue_begin(struct mta_queue *q, char *err, size_t errlen)
{
    struct queue_file *f = malloc(sizeof(*f));
    if (!f) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    snprintf(f->id, sizeof(f->id), "%016" PRIx64 "-%08x-%d",
             (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u,
             q->counter++, (int)getpid());
    f->q = q;
    f->failed = false;
    f->size = 0;
    f->buffered = 0;
    path_of(q, f->path, "tmp", f->id, ".msg");
    f->fd = open(f->path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (f->fd < 0) {
        snprintf(err, errlen, "queue: %s: %s", f->path, strerror(errno));
        free(f);
        return NULL;
    }
    return f;
}

static bool write_all(int fd, const void *d, size_t n)
{
    const uint8_t *p = d;
    while (n) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return false;
        p += w;
        n -= (size_t)w;
    }
    return true;
}

static bool flush(struct queue_file *f)
{
    if (f->buffered && !f->failed && !write_all(f->fd, f->buf, f->buffered))
        f->failed = true;
    f->buffered = 0;
    return !f->failed;
}

bool queue_write(struct queue_file *f, const void *d, size_t n)
{
    if (f->failed)
        return false;
    f->size += n;
    if (f->buffered + n > sizeof(f->buf) && !flush(f))
        return false;
    if (n >= sizeof(f->buf)) {
        if (!write_all(f->fd, d, n))
            f->failed = true;
        return !f->failed;
    }
    memcpy(f->buf + f->buffered, d, n);
    f->buffered += n;
    return true;
}

uint64_t queue_file_size(const struct queue_file *f) { return f->size; }

bool queue_flush(struct queue_file *f) { return flush(f); }

const char *queue_file_path(const struct queue_file *f) { return f->path; }

void queue_abort(struct queue_file *f)
{
    if (!f)
        return;
    close(f->fd);
    unlink(f->path);
    free(f);
}

/* "key value" lines; paths never hold a line break (the parser refuses
 * control characters in them) */
static bool write_envelope(int fd, const struct queue_envelope *e)
{
    char line[SMTP_PATH_MAX + 64];
    int n = snprintf(line, sizeof(line), "nightjar-queue 1\narrived %" PRIu64
                     "\nfrom %s\nhelo %s\nclient %s\nbody %s\nsmtputf8 %d\n",
                     e->arrived_usec, e->from, e->helo, e->client,
                     e->body_8bit ? "8bit" : "7bit", e->smtputf8);
    if (n < 0 || (size_t)n >= sizeof(line) || !write_all(fd, line, (size_t)n))
        return false;
    n = snprintf(line, sizeof(line), "verdict %s\nreason %s\n", e->verdict, e->reason);
    if (n < 0 || (size_t)n >= sizeof(line) || !write_all(fd, line, (size_t)n))
        return false;
    for (unsigned i = 0; i < e->n_rcpt && i < QUEUE_RCPT_MAX; i++) {
        n = snprintf(line, sizeof(line), "rcpt %s\n", e->rcpt[i]);
        if (n < 0 || (size_t)n >= sizeof(line) || !write_all(fd, line, (size_t)n))
            return false;
    }
    return true;
}

bool queue_commit(struct queue_file *f, const struct queue_envelope *env,
                  bool quarantine, char *id, size_t idlen, char *err,
                  size_t errlen)
{
    struct mta_queue *q = f->q;
    const char *where = quarantine ? "quarantine" : "active";
    char env_tmp[PATH_LEN], msg_to[PATH_LEN], env_to[PATH_LEN], dir[PATH_LEN];
    path_of(q, env_tmp, "tmp", f->id, ".env");
    path_of(q, msg_to, where, f->id, ".msg");
    path_of(q, env_to, where, f->id, ".env");
    snprintf(dir, sizeof(dir), "%s/%s", q->dir, where);
    bool ok = flush(f) && fsync(f->fd) == 0;
    int efd = -1;
    if (ok) {
        efd = open(env_tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        ok = efd >= 0 && write_envelope(efd, env) && fsync(efd) == 0;
    }
    if (efd >= 0)
        close(efd);
    ok = ok && rename(f->path, msg_to) == 0;
    ok = ok && rename(env_tmp, env_to) == 0; /* the envelope: committed */
    ok = ok && (quarantine ? fsync_dir(dir) : fsync(q->active_fd) == 0);
    if (!ok) {
        snprintf(err, errlen, "queue: cannot commit %s: %s", f->id, strerror(errno));
        unlink(env_to);
        unlink(msg_to);
        unlink(env_tmp);
    } else {
        text_copy(id, idlen, f->id, strlen(f->id));
    }
    close(f->fd);
    unlink(f->path); /* gone already when committed */
    free(f);
    return ok;
}

/* --- the queued messages ----------------------------------------------- */

static int id_cmp(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

unsigned queue_list(struct mta_queue *q, void (*fn)(void *ctx, const char *id),
                    void *ctx)
{
    char p[PATH_LEN], id[QUEUE_ID_MAX];
    snprintf(p, sizeof(p), "%s/active", q->dir);
    DIR *d = opendir(p);
    if (!d)
        return 0;
    size_t n = 0, cap = 0;
    char **ids = NULL;
    struct dirent *de;
    while ((de = readdir(d))) {
        if (!has_ext(de->d_name, ".env", id, sizeof(id)))
            continue;
        if (n == cap) {
            size_t nc = cap ? cap * 2 : 64;
            char **ni = realloc(ids, nc * sizeof(*ids));
            if (!ni)
                break;
            ids = ni;
            cap = nc;
        }
        if ((ids[n] = strdup(id)))
            n++;
    }
    closedir(d);
    if (n)
        qsort(ids, n, sizeof(*ids), id_cmp);
    for (size_t i = 0; i < n; i++) {
        fn(ctx, ids[i]);
        free(ids[i]);
    }
    free(ids);
    return (unsigned)n;
}

static void envelope_line(struct queue_envelope *e, const char *k, const char *v)
{
    if (!strcmp(k, "arrived"))
        e->arrived_usec = strtoull(v, NULL, 10);
    else if (!strcmp(k, "from"))
        text_copy(e->from, sizeof(e->from), v, strlen(v));
    else if (!strcmp(k, "helo"))
        text_copy(e->helo, sizeof(e->helo), v, strlen(v));
    else if (!strcmp(k, "client"))
        text_copy(e->client, sizeof(e->client), v, strlen(v));
    else if (!strcmp(k, "body"))
        e->body_8bit = !strcmp(v, "8bit");
    else if (!strcmp(k, "smtputf8"))
        e->smtputf8 = v[0] == '1';
    else if (!strcmp(k, "verdict"))
        text_copy(e->verdict, sizeof(e->verdict), v, strlen(v));
    else if (!strcmp(k, "reason"))
        text_copy(e->reason, sizeof(e->reason), v, strlen(v));
    else if (!strcmp(k, "rcpt") && e->n_rcpt < QUEUE_RCPT_MAX) {
        text_copy(e->rcpt[e->n_rcpt], sizeof(e->rcpt[0]), v, strlen(v));
        e->n_rcpt++;
    }
}

bool queue_load(struct mta_queue *q, const char *id, struct queue_envelope *env,
                char *msg_path, size_t pathlen)
{
    char p[PATH_LEN];
    path_of(q, p, "active", id, ".env");
    FILE *f = fopen(p, "re");
    if (!f)
        return false;
    memset(env, 0, sizeof(*env));
    char line[SMTP_PATH_MAX + 64];
    bool magic = fgets(line, sizeof(line), f) && !strcmp(line, "nightjar-queue 1\n");
    while (magic && fgets(line, sizeof(line), f)) {
        line[strcspn(line, "\n")] = '\0';
        char *sp = strchr(line, ' ');
        if (sp) {
            *sp = '\0';
            envelope_line(env, line, sp + 1);
        }
    }
    fclose(f);
    char m[PATH_LEN];
    path_of(q, m, "active", id, ".msg");
    snprintf(msg_path, pathlen, "%s", m);
    return magic && env->n_rcpt > 0;
}

bool queue_remove(struct mta_queue *q, const char *id)
{
    char p[PATH_LEN];
    path_of(q, p, "active", id, ".env");
    bool ok = unlink(p) == 0; /* no longer queued: a crash now leaves a
                                 message without envelope, removed at open */
    path_of(q, p, "active", id, ".msg");
    unlink(p);
    return fsync(q->active_fd) == 0 && ok;
}

bool queue_forget(struct mta_queue *q, const char *id)
{
    char p[PATH_LEN];
    path_of(q, p, "active", id, ".env");
    bool ok = unlink(p) == 0; /* the envelope first, as queue_remove() */
    path_of(q, p, "active", id, ".msg");
    unlink(p);
    return ok;
}

bool queue_sync(struct mta_queue *q) { return fsync(q->active_fd) == 0; }

bool queue_move(struct mta_queue *q, const char *id, const char *where)
{
    char from[PATH_LEN], to[PATH_LEN], dir[PATH_LEN];
    if (strcmp(where, "hold") != 0 && strcmp(where, "quarantine") != 0)
        return false;
    path_of(q, from, "active", id, ".msg");
    path_of(q, to, where, id, ".msg");
    bool ok = rename(from, to) == 0; /* the message first: see recover() */
    path_of(q, from, "active", id, ".env");
    path_of(q, to, where, id, ".env");
    ok = ok && rename(from, to) == 0;
    snprintf(dir, sizeof(dir), "%s/%s", q->dir, where);
    return ok && fsync_dir(dir) && fsync(q->active_fd) == 0;
}
