/* mta_deliver.c -- delivery to the next hop (see mta_deliver.h). */
#include "mta/mta_deliver.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "mta/mta_event.h"
#include "output/eve_mta.h"
#include "util/clock.h"
#include "util/text.h"

#define IO_TIMEOUT_SEC 60
#define SCHEDULE_SLOTS 16384          /* messages whose retry time is kept */
#define REPLY_MAX 512

struct slot {                          /* a deferred message's schedule */
    char id[QUEUE_ID_MAX];
    uint64_t next_usec;
    uint32_t attempts;
};

struct mta_deliver {
    struct nj_config cfg;
    struct mta_queue *q;
    struct eve *eve;
    pthread_mutex_t *eve_lock;
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool stopping, woken;
    char host[256], port[16];
    char hostname[256];
    struct slot *slots;                /* open addressing by id */
    struct mta_deliver_stats st;
};

/* One delivery's connection. */
struct hop {
    int fd;
    char buf[4096];
    size_t len, off;
    char reply[REPLY_MAX];            /* the last reply's text */
    bool ext_8bit, ext_utf8;
    uint64_t max_size;
};

/* --- the schedule ----------------------------------------------------- */

static void count(struct mta_deliver *d, uint64_t *field)
{
    pthread_mutex_lock(&d->mu);
    (*field)++;
    pthread_mutex_unlock(&d->mu);
}

#define TOMBSTONE '\001'             /* a forgotten slot: probes go past it */

/* The slot of id, or (make) a new one -- a forgotten slot is reused, so a
 * relay that runs for months does not fill the table with the ids of
 * messages long delivered. NULL when the table is full (counted): that
 * message is then tried on every pass, without backoff. */
static struct slot *slot_of(struct mta_deliver *d, const char *id, bool make)
{
    uint32_t h = fnv1a_str(FNV1A_SEED, id);
    struct slot *reuse = NULL;
    for (uint32_t i = 0; i < SCHEDULE_SLOTS; i++) {
        struct slot *s = &d->slots[(h + i) % SCHEDULE_SLOTS];
        if (!strcmp(s->id, id))
            return s;
        if (s->id[0] == TOMBSTONE && !reuse)
            reuse = s;
        if (!s->id[0])
            break;
    }
    if (!make)
        return NULL;
    if (!reuse) {
        for (uint32_t i = 0; i < SCHEDULE_SLOTS && !reuse; i++) {
            struct slot *s = &d->slots[(h + i) % SCHEDULE_SLOTS];
            if (!s->id[0])
                reuse = s;
        }
    }
    if (!reuse) {
        count(d, &d->st.schedule_full);
        return NULL;
    }
    memset(reuse, 0, sizeof(*reuse));
    text_copy(reuse->id, sizeof(reuse->id), id, strlen(id));
    return reuse;
}

/* Forgets a delivered or held message: a tombstone keeps the probe chains
 * of the others whole and is taken by the next new message. */
static void slot_forget(struct mta_deliver *d, const char *id)
{
    struct slot *s = slot_of(d, id, false);
    if (s) {
        memset(s, 0, sizeof(*s));
        s->id[0] = TOMBSTONE;
    }
}

/* --- talking to the next hop ------------------------------------------ */

static bool send_all(struct hop *h, const void *d, size_t n)
{
    const uint8_t *p = d;
    while (n) {
        ssize_t w = send(h->fd, p, n, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return false;
        p += w;
        n -= (size_t)w;
    }
    return true;
}

static bool read_line(struct hop *h, char *line, size_t n)
{
    size_t o = 0;
    for (;;) {
        if (h->off == h->len) {
            ssize_t r = recv(h->fd, h->buf, sizeof(h->buf), 0);
            if (r < 0 && errno == EINTR)
                continue;
            if (r <= 0)
                return false;
            h->len = (size_t)r;
            h->off = 0;
        }
        char ch = h->buf[h->off++];
        if (ch == '\n')
            break;
        if (o + 1 < n && ch != '\r')
            line[o++] = ch;
    }
    line[o] = '\0';
    return true;
}

/* A whole reply (all its lines): its code, 0 on a broken connection. The
 * EHLO reply's extensions are noted. */
static int read_reply(struct hop *h)
{
    char line[REPLY_MAX];
    for (;;) {
        if (!read_line(h, line, sizeof(line)) || strlen(line) < 3)
            return 0;
        const char *ext = line + 4;
        if (!strncasecmp(ext, "8BITMIME", 8))
            h->ext_8bit = true;
        else if (!strncasecmp(ext, "SMTPUTF8", 8))
            h->ext_utf8 = true;
        else if (!strncasecmp(ext, "SIZE ", 5))
            h->max_size = strtoull(ext + 5, NULL, 10);
        if (line[3] != '-') {
            snprintf(h->reply, sizeof(h->reply), "%s", line);
            return atoi(line);
        }
    }
}

static int command(struct hop *h, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static int command(struct hop *h, const char *fmt, ...)
{
    char line[SMTP_PATH_MAX + 128];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(line, sizeof(line) - 2, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof(line) - 2)
        return 0;
    memcpy(line + n, "\r\n", 2);
    return send_all(h, line, (size_t)n + 2) ? read_reply(h) : 0;
}

static int connect_hop(struct mta_deliver *d, struct hop *h)
{
    struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *res = NULL;
    if (getaddrinfo(d->host, d->port, &hints, &res) != 0 || !res) {
        snprintf(h->reply, sizeof(h->reply), "cannot resolve %s", d->host);
        return -1;
    }
    int fd = -1;
    for (struct addrinfo *a = res; a && fd < 0; a = a->ai_next) {
        fd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
        struct timeval tv = { .tv_sec = IO_TIMEOUT_SEC };
        int one = 1;
        if (fd >= 0) { /* commands and the final dot are small writes */
            setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
            setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
            setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        }
        if (fd >= 0 && connect(fd, a->ai_addr, a->ai_addrlen) != 0) {
            snprintf(h->reply, sizeof(h->reply), "connect %s:%s: %s", d->host,
                     d->port, strerror(errno));
            close(fd);
            fd = -1;
        }
    }
    freeaddrinfo(res);
    return fd;
}

/* The message file, dot-stuffed, ending in CRLF. */
static bool send_message(struct hop *h, const char *path, const struct queue_envelope *e)
{
    char head[512];
    int n = snprintf(head, sizeof(head), "X-Nightjar-Verdict: %s\r\n",
                     e->verdict[0] ? e->verdict : "clean");
    if (e->reason[0] && n > 0 && (size_t)n < sizeof(head))
        n += snprintf(head + n, sizeof(head) - (size_t)n,
                      "X-Nightjar-Reason: %.300s\r\n", e->reason);
    if (n < 0 || !send_all(h, head, strlen(head)))
        return false;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return false;
    uint8_t in[65536], out[2 * 65536];
    bool line_start = true, ok = true;
    uint8_t last = '\n';
    ssize_t r;
    while (ok && (r = read(fd, in, sizeof(in))) > 0) {
        size_t o = 0;
        for (ssize_t i = 0; i < r; i++) {
            if (line_start && in[i] == '.')
                out[o++] = '.';
            out[o++] = in[i];
            line_start = in[i] == '\n';
        }
        last = in[r - 1];
        ok = send_all(h, out, o);
    }
    close(fd);
    if (ok && last != '\n')
        ok = send_all(h, "\r\n", 2);
    return ok && send_all(h, ".\r\n", 3);
}

enum outcome { DELIVERED, DEFERRED, FAILED };

/* One SMTP transaction with the next hop. */
static enum outcome transact(struct mta_deliver *d, struct hop *h,
                             const struct queue_envelope *e, const char *path,
                             uint64_t size)
{
    int c = read_reply(h);
    if (c != 220)
        return c >= 500 ? FAILED : DEFERRED;
    c = command(h, "EHLO %s", d->hostname);
    if (c != 250 && (c = command(h, "HELO %s", d->hostname)) != 250)
        return c >= 500 ? FAILED : DEFERRED;
    if (e->smtputf8 && !h->ext_utf8) {
        snprintf(h->reply, sizeof(h->reply), "the next hop does not offer SMTPUTF8");
        return FAILED;
    }
    if (h->max_size && size > h->max_size) {
        snprintf(h->reply, sizeof(h->reply), "%llu bytes, the next hop takes %llu",
                 (unsigned long long)size, (unsigned long long)h->max_size);
        return FAILED;
    }
    c = command(h, "MAIL FROM:<%s>%s%s", e->from,
                e->body_8bit && h->ext_8bit ? " BODY=8BITMIME" : "",
                e->smtputf8 ? " SMTPUTF8" : "");
    if (c != 250)
        return c >= 500 ? FAILED : DEFERRED;
    unsigned accepted = 0;
    for (unsigned i = 0; i < e->n_rcpt; i++) {
        c = command(h, "RCPT TO:<%s>", e->rcpt[i]);
        if (c >= 200 && c < 300)
            accepted++;
        else if (c < 500) /* a temporary refusal: all of it later */
            return DEFERRED;
    }
    if (!accepted)
        return FAILED;
    c = command(h, "DATA");
    if (c != 354)
        return c >= 500 ? FAILED : DEFERRED;
    if (!send_message(h, path, e))
        return DEFERRED;
    c = read_reply(h);
    if (c >= 200 && c < 300) {
        char accepted_as[REPLY_MAX];
        memcpy(accepted_as, h->reply, sizeof(accepted_as));
        command(h, "QUIT");
        memcpy(h->reply, accepted_as, sizeof(h->reply));
        return DELIVERED;
    }
    return c >= 500 ? FAILED : DEFERRED;
}

static void log_attempt(struct mta_deliver *d, const char *id, const char *status,
                        const char *reply, unsigned attempt, unsigned rcpts,
                        uint64_t arrived)
{
    if (!d->eve)
        return;
    char relay[300];
    snprintf(relay, sizeof(relay), "%s:%s", d->host, d->port);
    uint64_t now = wall_usec();
    struct mta_delivery_event ev = {
        .ts_usec = now, .queue_id = id, .relay = relay, .status = status,
        .reply = reply, .attempt = attempt, .rcpts = rcpts,
        .seconds_queued = now > arrived ? (double)(now - arrived) / 1e6 : 0,
    };
    pthread_mutex_lock(d->eve_lock);
    eve_write_mta_delivery(d->eve, &ev);
    eve_flush(d->eve);
    pthread_mutex_unlock(d->eve_lock);
}


/* Tries one queued message if it is due. */
static void deliver_one(struct mta_deliver *d, const char *id)
{
    uint64_t now = wall_usec();
    struct slot *s = slot_of(d, id, true);
    if (s && s->next_usec > now)
        return;
    struct queue_envelope e;
    char path[1400];
    if (!queue_load(d->q, id, &e, path, sizeof(path)))
        return;
    unsigned attempt = s ? ++s->attempts : 1;
    if (e.arrived_usec && now - e.arrived_usec > (uint64_t)d->cfg.mta.hold_after * 1000000u) {
        queue_move(d->q, id, "hold");
        count(d, &d->st.held);
        log_attempt(d, id, "held", "undelivered for longer than mta.hold-after",
                    attempt, e.n_rcpt, e.arrived_usec);
        slot_forget(d, id);
        return;
    }
    count(d, &d->st.attempts);
    struct hop h = { .fd = -1 };
    h.fd = connect_hop(d, &h);
    struct stat sb;
    uint64_t size = stat(path, &sb) == 0 ? (uint64_t)sb.st_size : 0;
    enum outcome o = h.fd < 0 ? DEFERRED : transact(d, &h, &e, path, size);
    if (h.fd >= 0)
        close(h.fd);
    if (o == DELIVERED) {
        queue_remove(d->q, id);
        count(d, &d->st.delivered);
        log_attempt(d, id, "delivered", h.reply, attempt, e.n_rcpt, e.arrived_usec);
        slot_forget(d, id);
    } else if (o == FAILED) {
        queue_move(d->q, id, "hold");
        count(d, &d->st.failed);
        log_attempt(d, id, "failed", h.reply, attempt, e.n_rcpt, e.arrived_usec);
        slot_forget(d, id);
    } else {
        uint64_t wait = d->cfg.mta.retry_min;
        for (unsigned i = 1; i < attempt && wait < d->cfg.mta.retry_max; i++)
            wait *= 2;
        if (wait > d->cfg.mta.retry_max)
            wait = d->cfg.mta.retry_max;
        if (s)
            s->next_usec = now + wait * 1000000u;
        count(d, &d->st.deferred);
        log_attempt(d, id, "deferred", h.reply, attempt, e.n_rcpt, e.arrived_usec);
    }
}

static void on_queued(void *ctx, const char *id)
{
    struct mta_deliver *d = ctx;
    pthread_mutex_lock(&d->mu);
    bool stop = d->stopping;
    pthread_mutex_unlock(&d->mu);
    if (!stop)
        deliver_one(d, id);
}

static void *deliver_main(void *arg)
{
    struct mta_deliver *d = arg;
    for (;;) {
        pthread_mutex_lock(&d->mu);
        if (!d->woken && !d->stopping) {
            struct timespec until;
            clock_gettime(CLOCK_REALTIME, &until);
            until.tv_sec += 2;
            pthread_cond_timedwait(&d->cv, &d->mu, &until);
        }
        bool stop = d->stopping;
        d->woken = false;
        pthread_mutex_unlock(&d->mu);
        if (stop)
            break;
        queue_list(d->q, on_queued, d);
    }
    return NULL;
}

/* "host:port", "[v6]:port" */
static bool split_relay(const char *spec, char *host, size_t hl, char *port, size_t pl)
{
    const char *colon = strrchr(spec, ':');
    if (!colon || colon == spec || !colon[1])
        return false;
    size_t n = (size_t)(colon - spec);
    if (spec[0] == '[' && n >= 2 && spec[n - 1] == ']')
        text_copy(host, hl, spec + 1, n - 2);
    else
        text_copy(host, hl, spec, n);
    text_copy(port, pl, colon + 1, strlen(colon + 1));
    return true;
}

struct mta_deliver *mta_deliver_new(const struct nj_config *cfg, struct mta_queue *q,
                                    struct eve *eve, pthread_mutex_t *eve_lock,
                                    char *err, size_t errlen)
{
    struct mta_deliver *d = calloc(1, sizeof(*d));
    if (!d || !(d->slots = calloc(SCHEDULE_SLOTS, sizeof(struct slot)))) {
        free(d);
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    d->cfg = *cfg;
    d->q = q;
    d->eve = eve;
    d->eve_lock = eve_lock;
    if (!split_relay(cfg->mta.relay, d->host, sizeof(d->host), d->port, sizeof(d->port))) {
        snprintf(err, errlen, "mta.relay '%s': not HOST:PORT", cfg->mta.relay);
        free(d->slots);
        free(d);
        return NULL;
    }
    if (cfg->mta.hostname[0])
        text_copy(d->hostname, sizeof(d->hostname), cfg->mta.hostname,
                  strlen(cfg->mta.hostname));
    else if (gethostname(d->hostname, sizeof(d->hostname) - 1) != 0)
        snprintf(d->hostname, sizeof(d->hostname), "localhost");
    pthread_mutex_init(&d->mu, NULL);
    pthread_cond_init(&d->cv, NULL);
    if (pthread_create(&d->thread, NULL, deliver_main, d) != 0) {
        snprintf(err, errlen, "cannot start the delivery thread");
        pthread_cond_destroy(&d->cv);
        pthread_mutex_destroy(&d->mu);
        free(d->slots);
        free(d);
        return NULL;
    }
    return d;
}

void mta_deliver_wake(struct mta_deliver *d)
{
    pthread_mutex_lock(&d->mu);
    d->woken = true;
    pthread_cond_signal(&d->cv);
    pthread_mutex_unlock(&d->mu);
}

void mta_deliver_queued(struct mta_deliver *d, const char *id)
{
    (void)id;
    mta_deliver_wake(d);
}

void mta_deliver_free(struct mta_deliver *d)
{
    if (!d)
        return;
    pthread_mutex_lock(&d->mu);
    d->stopping = true;
    pthread_cond_signal(&d->cv);
    pthread_mutex_unlock(&d->mu);
    pthread_join(d->thread, NULL);
    pthread_cond_destroy(&d->cv);
    pthread_mutex_destroy(&d->mu);
    free(d->slots);
    free(d);
}

void mta_deliver_stats(struct mta_deliver *d, struct mta_deliver_stats *out)
{
    pthread_mutex_lock(&d->mu);
    *out = d->st;
    pthread_mutex_unlock(&d->mu);
}
