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

#include "mta/mta_bounce.h"
#include "mta/mta_event.h"
#include "mta/mta_tls.h"
#include "output/eve_mta.h"
#include "util/clock.h"
#include "util/text.h"

#define IO_TIMEOUT_SEC 60
#define SCHEDULE_SLOTS 16384          /* messages whose retry time is kept */
#define REPLY_MAX 512
#define WORKERS_MAX 64
#define HANDED_MAX 4096               /* ids handed to a worker, not yet tried */
#define SCAN_USEC 2000000u            /* a worker looks at the queue this often */

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
    pthread_mutex_t mu;                /* the workers' rings and flags, st */
    bool stopping;
    char host[256], port[16];
    char hostname[256];
    enum { RELAY_TLS_NONE, RELAY_TLS_MAY, RELAY_TLS_ENCRYPT } relay_tls;
    struct mta_tls_ctx *tls;           /* NULL with mta.relay-tls none */
    unsigned n;
    struct worker *w;                  /* n of them */
    struct mta_deliver_stats st;
};

/* One delivery's connection. */
struct hop {
    int fd;
    struct mta_tls *tls;              /* after STARTTLS */
    char buf[4096];
    size_t len, off;
    char reply[REPLY_MAX];            /* the last reply's text */
    bool ext_8bit, ext_utf8, ext_starttls;
    uint64_t max_size;
    char tls_version[16], tls_cipher[64];  /* kept for the record */
    bool tls_verified;
    bool greeted;                     /* greeting and EHLO done: MAIL next */
    bool reused, stale;               /* stale: a kept connection had gone */
};

/* A delivery thread: the messages whose id hashes to it, one at a time,
 * over its connection; so a message is never tried by two at once. */
struct worker {
    struct mta_deliver *d;
    pthread_t thread;
    bool started;
    pthread_cond_t cv;
    bool rescan;                       /* look at the whole queue */
    char (*handed)[QUEUE_ID_MAX];      /* ring of ids queued since */
    unsigned head, count;
    struct slot *slots;                /* open addressing by id */
    struct hop h;
    bool used;                         /* h carried a mail since the last scan */
    bool unsynced;                     /* removals the directory may not have */
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
static struct slot *slot_of(struct worker *w, const char *id, bool make)
{
    struct mta_deliver *d = w->d;
    uint32_t h = fnv1a_str(FNV1A_SEED, id);
    struct slot *reuse = NULL;
    for (uint32_t i = 0; i < SCHEDULE_SLOTS; i++) {
        struct slot *s = &w->slots[(h + i) % SCHEDULE_SLOTS];
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
            struct slot *s = &w->slots[(h + i) % SCHEDULE_SLOTS];
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
static void slot_forget(struct worker *w, const char *id)
{
    struct slot *s = slot_of(w, id, false);
    if (s) {
        memset(s, 0, sizeof(*s));
        s->id[0] = TOMBSTONE;
    }
}

/* --- talking to the next hop ------------------------------------------ */

/* A TLS read or write that did not complete: the connection is done (a
 * want-read/-write on this blocking socket is its timeout). */
static bool tls_broke(struct hop *h, enum mta_tls_rc rc)
{
    if (rc == MTA_TLS_WANT_READ || rc == MTA_TLS_WANT_WRITE)
        snprintf(h->reply, sizeof(h->reply), "TLS: the next hop was silent for %d s",
                 IO_TIMEOUT_SEC);
    else
        snprintf(h->reply, sizeof(h->reply), "%s", mta_tls_error(h->tls));
    return false;
}

static bool send_all(struct hop *h, const void *d, size_t n)
{
    const uint8_t *p = d;
    while (n) {
        if (h->tls) {
            size_t put = 0;
            enum mta_tls_rc rc = mta_tls_write(h->tls, p, n, &put);
            if (rc != MTA_TLS_OK)
                return tls_broke(h, rc);
            p += put;
            n -= put;
            continue;
        }
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
        if (h->off == h->len && h->tls) {
            size_t got = 0;
            enum mta_tls_rc rc = mta_tls_read(h->tls, h->buf, sizeof(h->buf), &got);
            if (rc != MTA_TLS_OK)
                return tls_broke(h, rc);
            h->len = got;
            h->off = 0;
        } else if (h->off == h->len) {
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
        const char *ext = strlen(line) > 4 ? line + 4 : "";
        if (!strncasecmp(ext, "8BITMIME", 8))
            h->ext_8bit = true;
        else if (!strncasecmp(ext, "SMTPUTF8", 8))
            h->ext_utf8 = true;
        else if (!strncasecmp(ext, "SIZE ", 5))
            h->max_size = strtoull(ext + 5, NULL, 10);
        else if (!strcasecmp(ext, "STARTTLS"))
            h->ext_starttls = true;
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

/* STARTTLS with the next hop by mta.relay-tls, then EHLO again (RFC 3207
 * 4.2: what it offered in the clear is forgotten). True to go on (over
 * TLS, or in the clear when it offers no STARTTLS and TLS is only "may");
 * false with *o and the reason in h->reply. Once STARTTLS is offered
 * nothing falls back to the clear: a refused STARTTLS, a failed handshake
 * or certificate defers the message. */
static bool start_tls(struct mta_deliver *d, struct hop *h, enum outcome *o)
{
    *o = DEFERRED;
    if (d->relay_tls == RELAY_TLS_NONE)
        return true;
    if (!h->ext_starttls) {
        if (d->relay_tls == RELAY_TLS_MAY)
            return true;
        count(d, &d->st.tls_not_offered);
        snprintf(h->reply, sizeof(h->reply), "the next hop does not offer STARTTLS "
                 "(mta.relay-tls: encrypt)");
        return false;
    }
    int c = command(h, "STARTTLS");
    if (c != 220) {
        count(d, &d->st.tls_failed);
        char said[REPLY_MAX];
        memcpy(said, c ? h->reply : "no reply", c ? sizeof(said) : sizeof("no reply"));
        snprintf(h->reply, sizeof(h->reply), "STARTTLS refused: %.*s",
                 REPLY_MAX - 32, said);
        return false;
    }
    if (h->off < h->len) { /* replies before TLS, read as if inside it */
        count(d, &d->st.tls_failed);
        snprintf(h->reply, sizeof(h->reply), "the next hop sent more after its 220 to "
                 "STARTTLS (a response injection?)");
        return false;
    }
    char err[REPLY_MAX - 64];
    if (!(h->tls = mta_tls_connect(d->tls, h->fd, d->host, IO_TIMEOUT_SEC * 1000,
                                   err, sizeof(err)))) {
        count(d, &d->st.tls_failed);
        snprintf(h->reply, sizeof(h->reply), "STARTTLS: %s", err);
        return false;
    }
    count(d, &d->st.tls_ok);
    snprintf(h->tls_version, sizeof(h->tls_version), "%s", mta_tls_version(h->tls));
    snprintf(h->tls_cipher, sizeof(h->tls_cipher), "%s", mta_tls_cipher(h->tls));
    h->tls_verified = mta_tls_verified(h->tls);
    h->ext_8bit = h->ext_utf8 = h->ext_starttls = false;
    h->max_size = 0;
    if ((c = command(h, "EHLO %s", d->hostname)) != 250) {
        *o = c >= 500 ? FAILED : DEFERRED;
        return false;
    }
    return true;
}

/* One SMTP transaction with the next hop. */
static enum outcome transact(struct mta_deliver *d, struct hop *h,
                             const struct queue_envelope *e, const char *path,
                             uint64_t size, struct bounce *refused)
{
    int c;
    if (!h->greeted) {
        c = read_reply(h);
        if (c != 220)
            return c >= 500 ? FAILED : DEFERRED;
        c = command(h, "EHLO %s", d->hostname);
        if (c != 250 && (c = command(h, "HELO %s", d->hostname)) != 250)
            return c >= 500 ? FAILED : DEFERRED;
        enum outcome o;
        if (!start_tls(d, h, &o))
            return o;
        h->greeted = true;
    }
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
    if (c != 250) {
        h->stale = h->reused && (c == 0 || c == 421); /* closed while kept */
        return c >= 500 ? FAILED : DEFERRED;
    }
    unsigned accepted = 0;
    for (unsigned i = 0; i < e->n_rcpt; i++) {
        c = command(h, "RCPT TO:<%s>", e->rcpt[i]);
        if (c >= 200 && c < 300)
            accepted++;
        else if (c < 500) /* a temporary refusal: all of it later */
            return DEFERRED;
        else
            bounce_add(refused, e->rcpt[i], h->reply);
    }
    if (!accepted)
        return FAILED;
    c = command(h, "DATA");
    if (c != 354)
        return c >= 500 ? FAILED : DEFERRED;
    if (!send_message(h, path, e))
        return DEFERRED;
    c = read_reply(h);
    if (c >= 200 && c < 300)
        return DELIVERED; /* the connection stays for the next message */
    return c >= 500 ? FAILED : DEFERRED;
}

/* h: the connection of the attempt (its TLS), NULL when there was none */
static void log_attempt(struct mta_deliver *d, const struct hop *h, const char *id,
                        const char *status, const char *reply, unsigned attempt,
                        unsigned rcpts, uint64_t arrived)
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
        .tls_version = h && h->tls_version[0] ? h->tls_version : NULL,
        .tls_cipher = h ? h->tls_cipher : NULL,
        .tls_verified = h && h->tls_verified,
    };
    pthread_mutex_lock(d->eve_lock);
    eve_write_mta_delivery(d->eve, &ev);
    eve_flush(d->eve);
    pthread_mutex_unlock(d->eve_lock);
}


/* --- the kept connection ------------------------------------------------ */

static void hop_close(struct hop *h)
{
    mta_tls_close(h->tls);
    if (h->fd >= 0)
        close(h->fd);
    memset(h, 0, sizeof(*h));
    h->fd = -1;
}

/* QUIT, then closed: the worker is idle or stopping. */
static void hop_quit(struct hop *h)
{
    if (h->fd >= 0 && h->greeted)
        command(h, "QUIT");
    hop_close(h);
}

/* One message over the worker's connection, opened when there is none.
 * A kept connection the next hop has closed meanwhile (no answer, or 421,
 * to MAIL: nothing was taken) is opened again once. Any outcome but
 * delivered closes it: the next message starts on a clean one. */
static enum outcome deliver_via(struct worker *w, const struct queue_envelope *e,
                                const char *path, uint64_t size, struct bounce *refused)
{
    struct mta_deliver *d = w->d;
    struct hop *h = &w->h;
    for (int round = 0; round < 2; round++) {
        h->reused = h->fd >= 0;
        h->stale = false;
        if (h->fd < 0 && (h->fd = connect_hop(d, h)) < 0) {
            char why[REPLY_MAX];
            memcpy(why, h->reply, sizeof(why));
            hop_close(h);
            memcpy(h->reply, why, sizeof(h->reply));
            return DEFERRED;
        }
        refused->n = refused->more = 0;
        enum outcome o = transact(d, h, e, path, size, refused);
        if (o == DELIVERED) {
            w->used = true;
            return o;
        }
        bool again = h->stale;
        char why[REPLY_MAX];
        memcpy(why, h->reply, sizeof(why));
        hop_close(h);
        memcpy(h->reply, why, sizeof(h->reply));
        if (!again)
            return o;
    }
    return DEFERRED;
}

/* --- the workers ---------------------------------------------------------- */

/* The report of what failed for good back to the sender (mta.bounce),
 * queued as a message of its own from the null sender; never for a
 * message from the null sender. Called before the failed message moves
 * to hold (its header is read from path). */
static void send_bounce(struct worker *w, const char *id, const struct queue_envelope *e,
                        const char *path, const struct bounce *b)
{
    struct mta_deliver *d = w->d;
    if (!d->cfg.mta.bounce || !e->from[0] || (!b->n && !b->more))
        return;
    uint64_t now = wall_usec();
    struct buf out = { 0 };
    struct queue_envelope be;
    bounce_envelope(&be, e, d->hostname, now);
    char err[256] = "out of memory", nid[QUEUE_ID_MAX];
    struct queue_file *qf = NULL;
    bool ok = bounce_build(&out, d->hostname, id, e, path, b, now) &&
              (qf = queue_begin(d->q, err, sizeof(err))) != NULL;
    if (ok && !(queue_write(qf, out.p, out.len) && queue_flush(qf))) {
        queue_abort(qf);
        snprintf(err, sizeof(err), "writing the bounce failed");
        ok = false;
    }
    ok = ok && queue_commit(qf, &be, false, nid, sizeof(nid), err, sizeof(err));
    buf_free(&out);
    if (!ok) {
        count(d, &d->st.bounce_errors);
        fprintf(stderr, "nightjar-mta: no bounce for %s: %s\n", id, err);
        return;
    }
    count(d, &d->st.bounces);
    mta_deliver_queued(d, nid);
}

/* Tries one queued message if it is due. */
static void deliver_one(struct worker *w, const char *id)
{
    struct mta_deliver *d = w->d;
    uint64_t now = wall_usec();
    struct slot *s = slot_of(w, id, false);
    if (s && s->next_usec > now)
        return;
    struct queue_envelope e;
    char path[1400];
    if (!queue_load(d->q, id, &e, path, sizeof(path))) {
        slot_forget(w, id); /* delivered or moved since it was listed */
        return;
    }
    if (!s)
        s = slot_of(w, id, true);
    unsigned attempt = s ? ++s->attempts : 1;
    if (e.arrived_usec && now - e.arrived_usec > (uint64_t)d->cfg.mta.hold_after * 1000000u) {
        struct bounce b = { .expired = true };
        char why[BOUNCE_REPLY_MAX];
        snprintf(why, sizeof(why), "undelivered for longer than mta.hold-after (%u s)",
                 d->cfg.mta.hold_after);
        for (unsigned i = 0; i < e.n_rcpt; i++)
            bounce_add(&b, e.rcpt[i], why);
        send_bounce(w, id, &e, path, &b);
        queue_move(d->q, id, "hold");
        count(d, &d->st.held);
        log_attempt(d, NULL, id, "held", "undelivered for longer than mta.hold-after",
                    attempt, e.n_rcpt, e.arrived_usec);
        slot_forget(w, id);
        return;
    }
    count(d, &d->st.attempts);
    struct stat sb;
    uint64_t size = stat(path, &sb) == 0 ? (uint64_t)sb.st_size : 0;
    struct bounce refused = { 0 };
    enum outcome o = deliver_via(w, &e, path, size, &refused);
    const char *reply = w->h.reply;
    if (o == FAILED && !refused.n) /* refused as a whole: every recipient */
        for (unsigned i = 0; i < e.n_rcpt; i++)
            bounce_add(&refused, e.rcpt[i], reply);
    if (o != DEFERRED)
        send_bounce(w, id, &e, path, &refused);
    if (o == DELIVERED) {
        queue_forget(d->q, id); /* the directory's fsync: at the next scan */
        w->unsynced = true;
        count(d, &d->st.delivered);
        log_attempt(d, &w->h, id, "delivered", reply, attempt, e.n_rcpt, e.arrived_usec);
        slot_forget(w, id);
    } else if (o == FAILED) {
        queue_move(d->q, id, "hold");
        count(d, &d->st.failed);
        log_attempt(d, &w->h, id, "failed", reply, attempt, e.n_rcpt, e.arrived_usec);
        slot_forget(w, id);
    } else {
        uint64_t wait = d->cfg.mta.retry_min;
        for (unsigned i = 1; i < attempt && wait < d->cfg.mta.retry_max; i++)
            wait *= 2;
        if (wait > d->cfg.mta.retry_max)
            wait = d->cfg.mta.retry_max;
        if (s)
            s->next_usec = now + wait * 1000000u;
        count(d, &d->st.deferred);
        log_attempt(d, &w->h, id, "deferred", reply, attempt, e.n_rcpt, e.arrived_usec);
    }
}

/* The hash's bits above a slot index: the workers' tables fill evenly. */
static unsigned owner_of(const struct mta_deliver *d, const char *id)
{
    return fnv1a_str(FNV1A_SEED, id) / SCHEDULE_SLOTS % d->n;
}

static void on_listed(void *ctx, const char *id)
{
    struct worker *w = ctx;
    struct mta_deliver *d = w->d;
    if (owner_of(d, id) != (unsigned)(w - d->w))
        return;
    pthread_mutex_lock(&d->mu);
    bool stop = d->stopping;
    pthread_mutex_unlock(&d->mu);
    if (!stop)
        deliver_one(w, id);
}

/* The whole queue, for what is due (retries, what was there at start, ids
 * that found the ring full); removals made since are fsync'd first, so a
 * crash repeats at most a scan's worth of deliveries. A connection that
 * carried nothing since the last scan is closed. */
static void scan(struct worker *w)
{
    struct mta_deliver *d = w->d;
    if (w->unsynced) {
        queue_sync(d->q);
        w->unsynced = false;
    }
    if (!w->used)
        hop_quit(&w->h);
    w->used = false;
    queue_list(d->q, on_listed, w);
}

/* Takes the ids handed over, oldest first, and looks at the whole queue
 * every SCAN_USEC (sooner when asked), until stopped. */
static void *worker_main(void *arg)
{
    struct worker *w = arg;
    struct mta_deliver *d = w->d;
    uint64_t last_scan = 0;
    char id[QUEUE_ID_MAX];
    pthread_mutex_lock(&d->mu);
    for (;;) {
        if (!w->count && !w->rescan && !d->stopping) {
            uint64_t next = last_scan + SCAN_USEC, now = mono_usec();
            if (next > now) {
                struct timespec until;
                clock_gettime(CLOCK_REALTIME, &until);
                uint64_t ns = (uint64_t)until.tv_nsec + (next - now) * 1000u;
                until.tv_sec += (time_t)(ns / 1000000000u);
                until.tv_nsec = (long)(ns % 1000000000u);
                pthread_cond_timedwait(&w->cv, &d->mu, &until);
                continue;
            }
        }
        if (d->stopping)
            break;
        bool scanning = w->rescan || mono_usec() - last_scan >= SCAN_USEC;
        if (scanning) {
            w->rescan = false;
        } else {
            memcpy(id, w->handed[w->head], QUEUE_ID_MAX);
            w->head = (w->head + 1) % HANDED_MAX;
            w->count--;
        }
        pthread_mutex_unlock(&d->mu);
        if (scanning) {
            scan(w);
            last_scan = mono_usec();
        } else {
            deliver_one(w, id);
        }
        pthread_mutex_lock(&d->mu);
    }
    pthread_mutex_unlock(&d->mu);
    hop_quit(&w->h);
    if (w->unsynced)
        queue_sync(d->q);
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
    if (!d) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    d->cfg = *cfg;
    d->q = q;
    d->eve = eve;
    d->eve_lock = eve_lock;
    d->n = cfg->mta.relay_connections;
    if (d->n < 1)
        d->n = 1;
    if (d->n > WORKERS_MAX)
        d->n = WORKERS_MAX;
    pthread_mutex_init(&d->mu, NULL);
    if (!(d->w = calloc(d->n, sizeof(*d->w)))) {
        snprintf(err, errlen, "out of memory");
        pthread_mutex_destroy(&d->mu);
        free(d);
        return NULL;
    }
    if (!split_relay(cfg->mta.relay, d->host, sizeof(d->host), d->port, sizeof(d->port))) {
        snprintf(err, errlen, "mta.relay '%s': not HOST:PORT", cfg->mta.relay);
        mta_deliver_free(d);
        return NULL;
    }
    d->relay_tls = !strcmp(cfg->mta.relay_tls, "none") ? RELAY_TLS_NONE
                   : !strcmp(cfg->mta.relay_tls, "encrypt") ? RELAY_TLS_ENCRYPT
                   : RELAY_TLS_MAY;
    if (d->relay_tls != RELAY_TLS_NONE &&
        !(d->tls = mta_tls_client_new(cfg->mta.relay_tls_verify, cfg->mta.relay_tls_ca,
                                      err, errlen))) {
        mta_deliver_free(d);
        return NULL;
    }
    if (cfg->mta.hostname[0])
        text_copy(d->hostname, sizeof(d->hostname), cfg->mta.hostname,
                  strlen(cfg->mta.hostname));
    else if (gethostname(d->hostname, sizeof(d->hostname) - 1) != 0)
        snprintf(d->hostname, sizeof(d->hostname), "localhost");
    for (unsigned i = 0; i < d->n; i++) {
        struct worker *w = &d->w[i];
        w->d = d;
        w->h.fd = -1;
        pthread_cond_init(&w->cv, NULL);
        if (!(w->slots = calloc(SCHEDULE_SLOTS, sizeof(struct slot))) ||
            !(w->handed = calloc(HANDED_MAX, QUEUE_ID_MAX))) {
            snprintf(err, errlen, "out of memory");
            mta_deliver_free(d);
            return NULL;
        }
    }
    for (unsigned i = 0; i < d->n; i++) {
        if (pthread_create(&d->w[i].thread, NULL, worker_main, &d->w[i]) != 0) {
            snprintf(err, errlen, "cannot start a delivery thread");
            mta_deliver_free(d);
            return NULL;
        }
        d->w[i].started = true;
    }
    return d;
}

void mta_deliver_wake(struct mta_deliver *d)
{
    pthread_mutex_lock(&d->mu);
    for (unsigned i = 0; i < d->n; i++) {
        d->w[i].rescan = true;
        pthread_cond_signal(&d->w[i].cv);
    }
    pthread_mutex_unlock(&d->mu);
}

void mta_deliver_queued(struct mta_deliver *d, const char *id)
{
    struct worker *w = &d->w[owner_of(d, id)];
    pthread_mutex_lock(&d->mu);
    if (w->count < HANDED_MAX) {
        text_copy(w->handed[(w->head + w->count) % HANDED_MAX], QUEUE_ID_MAX, id,
                  strlen(id));
        w->count++;
    } else {
        w->rescan = true; /* the scan finds it */
    }
    pthread_cond_signal(&w->cv);
    pthread_mutex_unlock(&d->mu);
}

void mta_deliver_free(struct mta_deliver *d)
{
    if (!d)
        return;
    pthread_mutex_lock(&d->mu);
    d->stopping = true;
    for (unsigned i = 0; i < d->n; i++)
        if (d->w[i].started)
            pthread_cond_signal(&d->w[i].cv);
    pthread_mutex_unlock(&d->mu);
    for (unsigned i = 0; i < d->n; i++) {
        struct worker *w = &d->w[i];
        if (w->started)
            pthread_join(w->thread, NULL);
        if (w->d)
            pthread_cond_destroy(&w->cv);
        free(w->slots);
        free(w->handed);
    }
    pthread_mutex_destroy(&d->mu);
    mta_tls_ctx_free(d->tls);
    free(d->w);
    free(d);
}

void mta_deliver_stats(struct mta_deliver *d, struct mta_deliver_stats *out)
{
    pthread_mutex_lock(&d->mu);
    *out = d->st;
    pthread_mutex_unlock(&d->mu);
}
