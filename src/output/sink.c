/* sink.c -- the sinks' common part: settings, the regular file, and for
 * every other sink the spool and the writer thread that empties it.
 *
 * The writer thread is the only one that talks to the peer. It waits for
 * records, sends them in batches (up to 256 records or 1 MiB, so Redis gets
 * them pipelined and a stream socket in one sendmsg), and takes them out of
 * the spool only once the backend says they are done. When a connection
 * fails, the next attempt comes at once and then after 100 ms, doubling up
 * to 5 s: a restarted Redis is found again within seconds, a dead one costs
 * one connect every 5 s. Connects, sends and replies each time out after
 * io_timeout_ms (1 s), so no wait is longer than that plus the backoff.
 *
 * At exit (sink_shutdown) the thread gets drain_ms (5 s) to send what
 * waits, reconnecting at once if it has to, and what is still there after
 * that is counted as dropped.
 *
 * Kafka differs in one way: librdkafka keeps its own bounded queue and
 * its own connections, so a record is done with once the library took it,
 * and is counted written (or failed) only when a broker confirms it; the
 * thread hears those confirmations (backend idle) at least every 100 ms. The thread blocks every signal, so SIGINT,
 * SIGTERM and SIGHUP reach the packet thread as before.
 */
#include "output/sink_internal.h"

#include "config/config.h"
#include "util/json.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/un.h>
#include <syslog.h>

#define BATCH_RECORDS 256
#define BATCH_BYTES (1u << 20)
/* A regular file's stdio buffer. glibc's setvbuf ignores the size when it
 * is not given the buffer, and its own is 4 KiB: a write(2) every four
 * records or so. */
#define SINK_FILE_BUFFER (1u << 20)

/* ---- settings ------------------------------------------------------------ */

struct name_value {
    const char *name;
    int value;
};

static const struct name_value type_names[] = {
    { "regular", SINK_REGULAR }, { "unix_dgram", SINK_UNIX_DGRAM },
    { "unix_stream", SINK_UNIX_STREAM }, { "syslog", SINK_SYSLOG },
    { "redis", SINK_REDIS }, { "kafka", SINK_KAFKA }, { NULL, 0 },
};

static const struct name_value mode_names[] = {
    { "list", SINK_REDIS_LPUSH }, { "lpush", SINK_REDIS_LPUSH },
    { "rpush", SINK_REDIS_RPUSH }, { "channel", SINK_REDIS_PUBLISH },
    { "publish", SINK_REDIS_PUBLISH }, { "stream", SINK_REDIS_XADD },
    { "xadd", SINK_REDIS_XADD }, { NULL, 0 },
};

/* Suricata's names (util-syslog.c), compared without case */
static const struct name_value facility_names[] = {
    { "auth", LOG_AUTH }, { "authpriv", LOG_AUTHPRIV }, { "cron", LOG_CRON },
    { "daemon", LOG_DAEMON }, { "ftp", LOG_FTP }, { "kern", LOG_KERN },
    { "lpr", LOG_LPR }, { "mail", LOG_MAIL }, { "news", LOG_NEWS },
    { "security", LOG_AUTH }, { "syslog", LOG_SYSLOG }, { "user", LOG_USER },
    { "uucp", LOG_UUCP }, { "local0", LOG_LOCAL0 }, { "local1", LOG_LOCAL1 },
    { "local2", LOG_LOCAL2 }, { "local3", LOG_LOCAL3 },
    { "local4", LOG_LOCAL4 }, { "local5", LOG_LOCAL5 },
    { "local6", LOG_LOCAL6 }, { "local7", LOG_LOCAL7 }, { NULL, 0 },
};

static const struct name_value level_names[] = {
    { "emergency", LOG_EMERG }, { "emerg", LOG_EMERG }, { "alert", LOG_ALERT },
    { "critical", LOG_CRIT }, { "crit", LOG_CRIT }, { "error", LOG_ERR },
    { "err", LOG_ERR }, { "warning", LOG_WARNING }, { "warn", LOG_WARNING },
    { "notice", LOG_NOTICE }, { "info", LOG_INFO }, { "debug", LOG_DEBUG },
    { NULL, 0 },
};

static bool lookup(const struct name_value *t, const char *name, int *out)
{
    for (; t->name; t++)
        if (!strcasecmp(t->name, name)) {
            *out = t->value;
            return true;
        }
    return false;
}

/* "a, b or c" */
static void names_of(const struct name_value *t, char *buf, size_t len)
{
    size_t used = 0;
    buf[0] = 0;
    for (const struct name_value *p = t; p->name; p++) {
        const char *sep = p == t ? "" : p[1].name ? ", " : " or ";
        int n = snprintf(buf + used, len - used, "%s%s", sep, p->name);
        if (n < 0 || (size_t)n >= len - used)
            break;
        used += (size_t)n;
    }
}

static bool pick(const struct name_value *t, const char *setting,
                 const char *value, int *out, char *err, size_t errlen)
{
    if (lookup(t, value, out))
        return true;
    char names[256];
    names_of(t, names, sizeof(names));
    snprintf(err, errlen, "%s: '%s' is not one of %s", setting, value, names);
    return false;
}

const char *sink_type_name(enum sink_type t)
{
    for (const struct name_value *p = type_names; p->name; p++)
        if (p->value == (int)t)
            return p->name;
    return "?";
}

static const char *mode_command(enum sink_redis_mode m)
{
    static const char *const n[] = { "lpush", "rpush", "publish", "xadd" };
    return n[m];
}

void sink_config_file(struct sink_config *sc, const char *path)
{
    memset(sc, 0, sizeof(*sc));
    sc->type = SINK_REGULAR;
    sc->path = path;
    sc->redis_server = "127.0.0.1";
    sc->redis_port = 6379;
    sc->redis_mode = SINK_REDIS_LPUSH;
    sc->redis_key = "nightjar";
    sc->redis_stream_maxlen = 100000;
    sc->kafka_brokers = "127.0.0.1:9092";
    sc->kafka_topic = "nightjar";
    sc->kafka_options = "";
    sc->syslog_facility = LOG_LOCAL0;
    sc->syslog_level = LOG_INFO;
    sc->syslog_ident = "nightjar";
    sc->syslog_path = "/dev/log";
    sc->spool_size = 16u << 20;
    sc->drain_ms = 5000;
    sc->backoff_min_ms = 100;
    sc->backoff_max_ms = 5000;
    sc->io_timeout_ms = 1000;
}

bool sink_config_from(struct sink_config *sc, const struct nj_config *c,
                      char *err, size_t errlen)
{
    const struct eve_log_settings *e = &c->eve_log;
    int type, mode, facility, level;
    sink_config_file(sc, c->eve_path);
    if (!pick(type_names, "eve-log.filetype", e->filetype, &type, err, errlen) ||
        !pick(mode_names, "eve-log.redis.mode", e->redis_mode, &mode, err,
              errlen) ||
        !pick(facility_names, "eve-log.facility", e->facility, &facility, err,
              errlen) ||
        !pick(level_names, "eve-log.level", e->level, &level, err, errlen))
        return false;
    sc->type = (enum sink_type)type;
    sc->redis_mode = (enum sink_redis_mode)mode;
    sc->syslog_facility = facility;
    sc->syslog_level = level;
    sc->syslog_ident = e->identity;
    sc->redis_server = e->redis_server;
    sc->redis_port = e->redis_port;
    sc->redis_key = e->redis_key;
    sc->redis_stream_maxlen = e->redis_stream_maxlen;
    sc->kafka_brokers = e->kafka_brokers;
    sc->kafka_topic = e->kafka_topic;
    sc->kafka_options = e->kafka_options;
    sc->spool_size = e->spool;
    struct sockaddr_un sun;
    if ((sc->type == SINK_UNIX_DGRAM || sc->type == SINK_UNIX_STREAM) &&
        (!*sc->path || !strcmp(sc->path, "-") ||
         strlen(sc->path) >= sizeof(sun.sun_path))) {
        snprintf(err, errlen, "eve-log.filename: '%s' is not a unix socket "
                 "path (1..%zu bytes) for eve-log.filetype %s", sc->path,
                 sizeof(sun.sun_path) - 1, e->filetype);
        return false;
    }
    if (e->redis_port < 1 || e->redis_port > 65535) {
        snprintf(err, errlen, "eve-log.redis.port must be 1..65535");
        return false;
    }
    if (!*e->redis_key || !*e->redis_server) {
        snprintf(err, errlen, "eve-log.redis.server and eve-log.redis.key "
                 "cannot be empty");
        return false;
    }
    if (e->spool < 1024) {
        snprintf(err, errlen, "eve-log.spool must be at least 1kb");
        return false;
    }
    /* librdkafka's settings are checked only when they are used: a
     * regular file must not fail on a Kafka option */
    return sc->type != SINK_KAFKA || sink_kafka_check(sc, err, errlen);
}

/* ---- time ---------------------------------------------------------------- */

static struct timespec mono_now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t;
}

static struct timespec ts_add_ms(struct timespec t, unsigned ms)
{
    t.tv_sec += ms / 1000;
    t.tv_nsec += (long)(ms % 1000) * 1000000L;
    if (t.tv_nsec >= 1000000000L) {
        t.tv_sec++;
        t.tv_nsec -= 1000000000L;
    }
    return t;
}

static bool ts_before(struct timespec a, struct timespec b)
{
    return a.tv_sec < b.tv_sec || (a.tv_sec == b.tv_sec && a.tv_nsec < b.tv_nsec);
}

/* ---- the writer thread --------------------------------------------------- */

static uint64_t ctr(atomic_uint_fast64_t *c)
{
    return atomic_load_explicit(c, memory_order_relaxed);
}

static void ctr_add(atomic_uint_fast64_t *c, uint64_t n)
{
    atomic_fetch_add_explicit(c, n, memory_order_relaxed);
}

static uint64_t spooled(struct sink *s)
{
    struct spool_stats st;
    spool_stats(&s->spool, &st);
    return st.records;
}

/* Connects when it is time to; false while the peer is still away. */
static bool writer_connect(struct sink *s, struct timespec *next_try,
                           unsigned *backoff, bool *ever, bool *down)
{
    char err[256];
    struct timespec now = mono_now();
    if (ts_before(now, *next_try)) {
        struct timespec until = *next_try;
        if (atomic_load(&s->stopping) && ts_before(s->deadline, until))
            until = s->deadline;
        spool_sleep(&s->spool, &until);
        return false;
    }
    if (!s->be->connect(s, err, sizeof(err))) {
        ctr_add(&s->errors, 1);
        if (!*down)
            fprintf(stderr, "nightjar: EVE output %s: %s; records wait in the "
                    "spool (eve-log.spool) while it retries\n", s->desc, err);
        *down = true;
        *next_try = ts_add_ms(now, *backoff);
        *backoff = *backoff * 2 < s->cfg.backoff_max_ms ? *backoff * 2
                                                         : s->cfg.backoff_max_ms;
        return false;
    }
    s->connected = true;
    if (*ever)
        ctr_add(&s->reconnects, 1);
    if (*down)
        fprintf(stderr, "nightjar: EVE output %s: connected\n", s->desc);
    *ever = true;
    *down = false;
    *backoff = s->cfg.backoff_min_ms;
    return true;
}

static void *writer_main(void *arg)
{
    struct sink *s = arg;
    struct spool_rec recs[BATCH_RECORDS];
    struct timespec next_try = mono_now();
    unsigned backoff = s->cfg.backoff_min_ms;
    bool ever = false, down = false, stop_seen = false;
    for (;;) {
        bool stopping = atomic_load(&s->stopping);
        if (stopping && !stop_seen) {
            stop_seen = true;       /* one more attempt at once, not later */
            next_try = mono_now();
        }
        if (stopping && !ts_before(mono_now(), s->deadline))
            break;
        if (!s->connected) {
            if (stopping && spooled(s) == 0)
                break;
            writer_connect(s, &next_try, &backoff, &ever, &down);
            continue;
        }
        size_t n = spool_peek(&s->spool, recs, BATCH_RECORDS, BATCH_BYTES);
        if (n == 0) {
            if (stopping)
                break;
            if (s->be->idle) {
                struct timespec until = ts_add_ms(mono_now(), 100);
                spool_wait(&s->spool, &until);
                s->be->idle(s);
            } else {
                spool_wait(&s->spool, NULL);
            }
            continue;
        }
        char err[256] = "";
        size_t rejected = 0;
        bool broken = false;
        size_t done = s->be->send(s, recs, n, &rejected, &broken, err,
                                  sizeof(err));
        if (done) {
            spool_pop(&s->spool, done);
            if (!s->be->confirms_later)
                ctr_add(&s->written, done - rejected);
            ctr_add(&s->rejected, rejected);
        }
        if (broken) {
            s->be->disconnect(s);
            s->connected = false;
            ctr_add(&s->errors, 1);
            fprintf(stderr, "nightjar: EVE output %s: %s; reconnecting\n",
                    s->desc, err);
            down = true;
            next_try = mono_now();
            backoff = s->cfg.backoff_min_ms;
        }
    }
    if (s->connected) {
        s->be->disconnect(s);
        s->connected = false;
    }
    ctr_add(&s->dropped_exit, spool_clear(&s->spool));
    return NULL;
}

/* ---- open, write, close -------------------------------------------------- */

static char *dup_or_null(const char *p, bool *ok)
{
    if (!p)
        return NULL;
    char *d = strdup(p);
    if (!d)
        *ok = false;
    return d;
}

static void sink_free(struct sink *s)
{
    free(s->path);
    free(s->server);
    free(s->key);
    free(s->ident);
    free(s->syslog_path);
    free(s->brokers);
    free(s->topic);
    free(s->options);
    spool_free(&s->spool);
    free(s);
}

static void describe(struct sink *s)
{
    const struct sink_config *c = &s->cfg;
    switch (c->type) {
    case SINK_REGULAR:
        snprintf(s->desc, sizeof(s->desc), "%s",
                 strcmp(c->path, "-") ? c->path : "standard output");
        break;
    case SINK_UNIX_DGRAM:
    case SINK_UNIX_STREAM:
        snprintf(s->desc, sizeof(s->desc), "%s %s", sink_type_name(c->type),
                 c->path);
        break;
    case SINK_SYSLOG:
        snprintf(s->desc, sizeof(s->desc), "syslog %s", c->syslog_path);
        break;
    case SINK_REDIS:
        if (strchr(c->redis_server, '/'))
            snprintf(s->desc, sizeof(s->desc), "redis %s (%s %s)",
                     c->redis_server, mode_command(c->redis_mode), c->redis_key);
        else
            snprintf(s->desc, sizeof(s->desc), "redis %s:%u (%s %s)",
                     c->redis_server, c->redis_port,
                     mode_command(c->redis_mode), c->redis_key);
        break;
    case SINK_KAFKA:
        snprintf(s->desc, sizeof(s->desc), "kafka %s (topic %s)",
                 c->kafka_brokers, c->kafka_topic);
        break;
    }
}

/* A FILE of ours gets a buffer of ours, freed after it is closed. */
static FILE *open_buffered(const char *path, char **iobuf)
{
    FILE *fp = fopen(path, "a");
    if (!fp)
        return NULL;
    *iobuf = malloc(SINK_FILE_BUFFER);
    if (*iobuf)
        setvbuf(fp, *iobuf, _IOFBF, SINK_FILE_BUFFER);
    return fp;
}

static bool open_regular(struct sink *s)
{
    if (!strcmp(s->path, "-")) {
        s->fp = stdout;
        setvbuf(s->fp, NULL, _IOFBF, 0); /* fully buffered, glibc's size */
        return true;
    }
    if (!(s->fp = open_buffered(s->path, &s->iobuf)))
        return false;
    s->own_fp = true;
    return true;
}

static bool start_writer(struct sink *s)
{
    if (!spool_init(&s->spool, (size_t)s->cfg.spool_size)) {
        errno = ENOMEM;
        return false;
    }
    s->be = s->cfg.type == SINK_REDIS   ? &sink_redis_backend
            : s->cfg.type == SINK_KAFKA ? &sink_kafka_backend
                                        : &sink_unix_backend;
    s->fd = -1;
    /* the thread starts with every signal blocked: they stay the packet
     * thread's, whose capture a signal must interrupt */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &old);
    int rc = pthread_create(&s->thread, NULL, writer_main, s);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc) {
        errno = rc;
        return false;
    }
    s->thread_started = true;
    return true;
}

struct sink *sink_open(const struct sink_config *sc)
{
    struct sink *s = calloc(1, sizeof(*s));
    if (!s)
        return NULL;
    bool ok = true;
    s->cfg = *sc;
    s->path = dup_or_null(sc->path ? sc->path : "-", &ok);
    s->server = dup_or_null(sc->redis_server, &ok);
    s->key = dup_or_null(sc->redis_key, &ok);
    s->ident = dup_or_null(sc->syslog_ident, &ok);
    s->syslog_path = dup_or_null(sc->syslog_path, &ok);
    s->brokers = dup_or_null(sc->kafka_brokers, &ok);
    s->topic = dup_or_null(sc->kafka_topic, &ok);
    s->options = dup_or_null(sc->kafka_options, &ok);
    s->cfg.path = s->path;
    s->cfg.redis_server = s->server;
    s->cfg.redis_key = s->key;
    s->cfg.syslog_ident = s->ident;
    s->cfg.syslog_path = s->syslog_path;
    s->cfg.kafka_brokers = s->brokers;
    s->cfg.kafka_topic = s->topic;
    s->cfg.kafka_options = s->options;
    atomic_init(&s->stopping, false);
    if (ok)
        describe(s);
    if (!ok || (sc->type == SINK_REGULAR ? !open_regular(s) : !start_writer(s))) {
        int saved = ok ? errno : ENOMEM;
        sink_free(s);
        errno = saved;
        return NULL;
    }
    return s;
}

bool sink_write(struct sink *s, const char *rec, size_t len)
{
    return sink_write_keyed(s, rec, len, NULL, 0);
}

bool sink_write_keyed(struct sink *s, const char *rec, size_t len,
                      const char *key, size_t key_len)
{
    if (s->cfg.type == SINK_REGULAR) {
        if (fwrite(rec, 1, len, s->fp) == len)
            return ctr_add(&s->written, 1), true;
        ctr_add(&s->errors, 1);
        return false;
    }
    if (s->shut)
        return false;
    if (s->cfg.type != SINK_KAFKA)
        return spool_push_wait(&s->spool, rec, len, s->patience_usec);
    unsigned char head[1 + SINK_KEY_MAX];
    if (!key || key_len > SINK_KEY_MAX)
        key_len = 0;
    head[0] = (unsigned char)key_len;
    if (key_len)
        memcpy(head + 1, key, key_len);
    return spool_push2_wait(&s->spool, head, 1 + key_len, rec, len,
                            s->patience_usec);
}

void sink_set_patience(struct sink *s, uint64_t usec)
{
    s->patience_usec = usec;
}

bool sink_flush(struct sink *s)
{
    if (s->cfg.type != SINK_REGULAR)
        return true;
    if (fflush(s->fp) == 0)
        return true;
    ctr_add(&s->errors, 1);
    return false;
}

void sink_reopen(struct sink *s)
{
    if (s->cfg.type != SINK_REGULAR || !s->own_fp)
        return;
    char *iobuf = NULL;
    FILE *fp = open_buffered(s->path, &iobuf);
    if (!fp) {
        ctr_add(&s->errors, 1);
        fprintf(stderr, "nightjar: EVE log %s: cannot open it again (%s); "
                "writing on into the old file\n", s->path, strerror(errno));
        return;
    }
    if (fflush(s->fp) != 0)
        ctr_add(&s->errors, 1);
    fclose(s->fp);
    free(s->iobuf);
    s->fp = fp;
    s->iobuf = iobuf;
    ctr_add(&s->reconnects, 1);
}

void sink_shutdown(struct sink *s)
{
    if (!s || s->shut)
        return;
    s->shut = true;
    if (!s->thread_started)
        return;
    s->deadline = ts_add_ms(mono_now(), s->cfg.drain_ms);
    atomic_store(&s->stopping, true);
    spool_wake(&s->spool);
    pthread_join(s->thread, NULL);
    s->thread_started = false;
}

void sink_close(struct sink *s)
{
    if (!s)
        return;
    sink_shutdown(s);
    if (s->own_fp)
        fclose(s->fp);
    else if (s->fp)
        fflush(s->fp);
    free(s->iobuf);
    s->iobuf = NULL;
    sink_free(s);
}

/* ---- counters ------------------------------------------------------------ */

enum sink_type sink_type_of(const struct sink *s) { return s->cfg.type; }

void sink_stats(struct sink *s, struct sink_stats *out)
{
    memset(out, 0, sizeof(*out));
    if (s->cfg.type != SINK_REGULAR) {
        struct spool_stats st;
        spool_stats(&s->spool, &st);
        out->dropped_full = st.dropped;
        out->spooled = st.records;
        out->spool_used = st.used;
        out->spool_size = st.cap;
    }
    out->written = ctr(&s->written);
    out->rejected = ctr(&s->rejected);
    out->dropped_exit = ctr(&s->dropped_exit);
    out->delivery_failed = ctr(&s->delivery_failed);
    out->in_flight = ctr(&s->in_flight);
    out->queue_full = ctr(&s->queue_full);
    out->dropped = out->dropped_full + out->dropped_exit + out->rejected +
                   out->delivery_failed;
    out->reconnects = ctr(&s->reconnects);
    out->errors = ctr(&s->errors);
}

void sink_stats_json(struct sink *s, struct json *j)
{
    json_key(j, "sink");
    sink_stats_value(s, j);
}

void sink_stats_value(struct sink *s, struct json *j)
{
    struct sink_stats st;
    sink_stats(s, &st);
    json_obj_open(j);
    json_kv_str(j, "type", sink_type_name(s->cfg.type));
    json_kv_u64(j, "written", st.written);
    json_kv_u64(j, "dropped", st.dropped);
    json_kv_u64(j, "reconnects", st.reconnects);
    json_kv_u64(j, "errors", st.errors);
    if (s->cfg.type != SINK_REGULAR) {
        json_kv_u64(j, "dropped_spool_full", st.dropped_full);
        json_kv_u64(j, "rejected", st.rejected);
        json_kv_u64(j, "spooled", st.spooled);
        json_kv_u64(j, "spool_used", st.spool_used);
        json_kv_u64(j, "spool_size", st.spool_size);
    }
    if (s->cfg.type == SINK_KAFKA) {
        json_kv_u64(j, "delivery_failed", st.delivery_failed);
        json_kv_u64(j, "in_flight", st.in_flight);
        json_kv_u64(j, "queue_full", st.queue_full);
    }
    json_obj_close(j);
}

void sink_describe(const struct sink *s, char *buf, size_t len)
{
    snprintf(buf, len, "%s", s->desc);
}

void sink_summary(struct sink *s, FILE *out)
{
    struct sink_stats st;
    sink_stats(s, &st);
    fprintf(out, "  EVE output: %s: %llu records written, %llu dropped",
            s->desc, (unsigned long long)st.written,
            (unsigned long long)st.dropped);
    if (st.dropped && s->cfg.type == SINK_KAFKA)
        fprintf(out, " (spool full %llu, left at exit %llu, refused %llu, "
                "delivery failed %llu)", (unsigned long long)st.dropped_full,
                (unsigned long long)st.dropped_exit,
                (unsigned long long)st.rejected,
                (unsigned long long)st.delivery_failed);
    else if (st.dropped)
        fprintf(out, " (spool full %llu, left at exit %llu, refused %llu)",
                (unsigned long long)st.dropped_full,
                (unsigned long long)st.dropped_exit,
                (unsigned long long)st.rejected);
    fprintf(out, ", %llu %s, %llu errors\n", (unsigned long long)st.reconnects,
            s->cfg.type == SINK_REGULAR ? "reopens" : "reconnects",
            (unsigned long long)st.errors);
}
