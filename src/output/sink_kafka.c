/* sink_kafka.c -- EVE records into a Kafka topic through librdkafka
 * (eve-log.filetype kafka). Each record is one message, without its final
 * newline; the message key is the host the record is about (the renderer
 * names it, sink.h), so with Kafka's key partitioning one host's records
 * land on one partition and stay in order there.
 *
 * This file owns the producer handle and its callbacks; sink.c still owns
 * the spool, the writer thread and the counters, as for Redis. The
 * difference is that librdkafka has its own queue and its own broker
 * threads, reconnecting by itself: "connect" only makes the producer, a
 * record is done with once librdkafka took a copy of it, and whether it
 * arrived is learnt later, from the delivery report. So:
 *
 * - librdkafka's queue is bounded too (queue.buffering.max.kbytes = the
 *   spool's size, 100000 messages). When it is full the record stays in
 *   the spool and the thread waits for delivery reports; the spool then
 *   fills and drops as for every other peer (dropped_spool_full). Counting
 *   a full library queue as a drop at once was the cheaper option not
 *   taken: it would make the spool useless during a broker restart.
 * - A delivery report with an error (message.timeout.ms, 5 min, passed
 *   while no broker was reachable; a broker refused the message) is counted
 *   as delivery_failed, a drop. A message librdkafka refuses at once (too
 *   large, an unknown partition) is counted as rejected, as Redis refusals.
 * - The producer is idempotent by default (enable.idempotence): librdkafka's
 *   retries can then neither reorder one partition's messages nor write
 *   them twice. Keys are hashed as Java clients hash them
 *   (partitioner murmur2_random), so other producers agree on a host's
 *   partition. eve-log.kafka.options can change any of this.
 * - At exit, librdkafka is flushed until the drain deadline; what it still
 *   holds then is purged and counted as left at exit.
 *
 * It never parses a record, never blocks the packet thread (only the
 * writer thread calls librdkafka), and never lets librdkafka write to
 * stderr: its log lines are dropped, its errors are said once per outage.
 */
#include "output/sink_internal.h"
#include "output/sink_peer.h"

#include <librdkafka/rdkafka.h>

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

struct kafka {
    rd_kafka_t *rk;
    rd_kafka_topic_t *rkt;
    bool told_down;        /* an error was said; "connected" when one arrives */
    bool told_failed;      /* the first failed delivery was said */
    bool fatal;            /* the producer cannot go on: make a new one */
};

#define KAFKA_QUEUE_MESSAGES "100000"

/* ---- settings ------------------------------------------------------------ */

bool sink_kafka_conf_set(rd_kafka_conf_t *conf, const char *setting,
                         const char *name, const char *value, char *err,
                         size_t errlen)
{
    char why[256];
    if (rd_kafka_conf_set(conf, name, value, why, sizeof(why)) ==
        RD_KAFKA_CONF_OK)
        return true;
    snprintf(err, errlen, "%s: %s=%s: %s", setting, name, value, why);
    return false;
}

/* Copies [p, p+n) without the blanks around it. */
static void trimmed(char *out, size_t outlen, const char *p, size_t n)
{
    while (n && isspace((unsigned char)*p))
        p++, n--;
    while (n && isspace((unsigned char)p[n - 1]))
        n--;
    if (n >= outlen)
        n = outlen - 1;
    memcpy(out, p, n);
    out[n] = 0;
}

/* "name=value, name=value": each passed to librdkafka as it is. */
bool sink_kafka_conf_options(rd_kafka_conf_t *conf, const char *opts,
                             char *err, size_t errlen)
{
    const char *setting = "eve-log.kafka.options";
    for (const char *p = opts; *p;) {
        size_t n = strcspn(p, ",");
        char item[512], name[256];
        trimmed(item, sizeof(item), p, n);
        p += n + (p[n] == ',');
        if (!item[0])
            continue;
        char *eq = strchr(item, '=');
        if (!eq || eq == item) {
            snprintf(err, errlen, "%s: '%s' is not name=value", setting, item);
            return false;
        }
        trimmed(name, sizeof(name), item, (size_t)(eq - item));
        char *value = eq + 1;
        while (isspace((unsigned char)*value))
            value++;
        if (!sink_kafka_conf_set(conf, setting, name, value, err, errlen))
            return false;
    }
    return true;
}

/* The producer's configuration: nightjar's defaults, then the options. */
static rd_kafka_conf_t *build_conf(const struct sink_config *sc, char *err,
                                   size_t errlen)
{
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    char kbytes[32];
    uint64_t kb = sc->spool_size / 1024;
    snprintf(kbytes, sizeof(kbytes), "%llu",
             (unsigned long long)(kb ? (kb < 2097151 ? kb : 2097151) : 1));
    const char *k = "eve-log.kafka";
    if (!sink_kafka_conf_set(conf, "eve-log.kafka.brokers", "bootstrap.servers",
                             sc->kafka_brokers, err, errlen) ||
        !sink_kafka_conf_set(conf, k, "client.id", "nightjar", err, errlen) ||
        !sink_kafka_conf_set(conf, "eve-log.spool", "queue.buffering.max.kbytes",
                             kbytes, err, errlen) ||
        !sink_kafka_conf_set(conf, k, "queue.buffering.max.messages",
                             KAFKA_QUEUE_MESSAGES, err, errlen) ||
        !sink_kafka_conf_set(conf, k, "enable.idempotence", "true", err, errlen) ||
        !sink_kafka_conf_set(conf, k, "partitioner", "murmur2_random", err, errlen) ||
        !sink_kafka_conf_options(conf, sc->kafka_options, err, errlen)) {
        rd_kafka_conf_destroy(conf);
        return NULL;
    }
    return conf;
}

bool sink_kafka_check(const struct sink_config *sc, char *err, size_t errlen)
{
    if (!sc->kafka_brokers[0] || !sc->kafka_topic[0]) {
        snprintf(err, errlen, "eve-log.kafka.brokers and eve-log.kafka.topic "
                 "cannot be empty");
        return false;
    }
    rd_kafka_conf_t *conf = build_conf(sc, err, errlen);
    if (!conf)
        return false;
    rd_kafka_conf_destroy(conf);
    return true;
}

/* ---- callbacks (writer thread, from rd_kafka_poll) ----------------------- */

static void ctr_add(atomic_uint_fast64_t *c, uint64_t n)
{
    atomic_fetch_add_explicit(c, n, memory_order_relaxed);
}

static void ctr_sub(atomic_uint_fast64_t *c, uint64_t n)
{
    atomic_fetch_sub_explicit(c, n, memory_order_relaxed);
}

static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m,
                        void *opaque)
{
    (void)rk;
    struct sink *s = opaque;
    struct kafka *k = s->kafka;
    ctr_sub(&s->in_flight, 1);
    if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
        ctr_add(&s->written, 1);
        if (k->told_down)
            fprintf(stderr, "nightjar: EVE output %s: connected\n", s->desc);
        k->told_down = false;
        return;
    }
    if (m->err == RD_KAFKA_RESP_ERR__PURGE_QUEUE ||
        m->err == RD_KAFKA_RESP_ERR__PURGE_INFLIGHT) {
        /* purged: the drain time was up, or the producer was given up */
        ctr_add(atomic_load(&s->stopping) ? &s->dropped_exit
                                          : &s->delivery_failed, 1);
        return;
    }
    ctr_add(&s->delivery_failed, 1);
    if (!k->told_failed)
        fprintf(stderr, "nightjar: EVE output %s: a record was not delivered: "
                "%s (such records are counted and dropped)\n", s->desc,
                rd_kafka_err2str(m->err));
    k->told_failed = true;
}

static void on_error(rd_kafka_t *rk, int err, const char *reason, void *opaque)
{
    struct sink *s = opaque;
    struct kafka *k = s->kafka;
    char fatal[256];
    ctr_add(&s->errors, 1);
    if (err == RD_KAFKA_RESP_ERR__FATAL) {
        rd_kafka_fatal_error(rk, fatal, sizeof(fatal));
        reason = fatal;
        k->fatal = true;
    }
    if (!k->told_down)
        fprintf(stderr, "nightjar: EVE output %s: %s; records wait in "
                "librdkafka's queue and the spool (eve-log.spool) while it "
                "retries\n", s->desc, reason);
    k->told_down = true;
}

/* librdkafka's own log lines would go to stderr on every retry; the error
 * callback says what matters, once per outage. */
static void on_log(const rd_kafka_t *rk, int level, const char *fac,
                   const char *buf)
{
    (void)rk, (void)level, (void)fac, (void)buf;
}

/* ---- the backend --------------------------------------------------------- */

static bool kafka_connect(struct sink *s, char *err, size_t errlen)
{
    struct kafka *k = calloc(1, sizeof(*k));
    rd_kafka_conf_t *conf = k ? build_conf(&s->cfg, err, errlen) : NULL;
    if (!conf) {
        if (!k)
            snprintf(err, errlen, "out of memory");
        free(k);
        return false;
    }
    rd_kafka_conf_set_opaque(conf, s);
    rd_kafka_conf_set_dr_msg_cb(conf, on_delivery);
    rd_kafka_conf_set_error_cb(conf, on_error);
    rd_kafka_conf_set_log_cb(conf, on_log);
    char why[512];
    k->rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, why, sizeof(why));
    if (!k->rk) {
        rd_kafka_conf_destroy(conf);     /* not taken on failure */
        snprintf(err, errlen, "cannot make a producer: %s", why);
        free(k);
        return false;
    }
    k->rkt = rd_kafka_topic_new(k->rk, s->cfg.kafka_topic, NULL);
    if (!k->rkt) {
        snprintf(err, errlen, "topic %s: %s", s->cfg.kafka_topic,
                 rd_kafka_err2str(rd_kafka_last_error()));
        rd_kafka_destroy(k->rk);
        free(k);
        return false;
    }
    s->kafka = k;
    return true;
}

/* Flushes until the drain deadline (at exit) or for one I/O timeout (a
 * producer given up after a fatal error), then purges: what is left is
 * reported through on_delivery, or, if it never is, counted here. */
static void kafka_disconnect(struct sink *s)
{
    struct kafka *k = s->kafka;
    if (!k)
        return;
    int ms = (int)s->cfg.io_timeout_ms;
    if (atomic_load(&s->stopping)) {
        struct timespec now;
        clock_gettime(CLOCK_MONOTONIC, &now);
        long long left = (long long)(s->deadline.tv_sec - now.tv_sec) * 1000 +
                         (s->deadline.tv_nsec - now.tv_nsec) / 1000000;
        ms = left > 0 ? (int)left : 0;
    }
    rd_kafka_flush(k->rk, ms);
    rd_kafka_purge(k->rk, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
    rd_kafka_poll(k->rk, 0);             /* the purged messages' reports */
    rd_kafka_topic_destroy(k->rkt);
    rd_kafka_destroy(k->rk);
    uint64_t lost = atomic_exchange(&s->in_flight, 0);
    if (atomic_load(&s->stopping))
        ctr_add(&s->dropped_exit, lost);
    else
        ctr_add(&s->delivery_failed, lost);
    free(k);
    s->kafka = NULL;
}

static size_t kafka_send(struct sink *s, const struct spool_rec *recs,
                         size_t n, size_t *rejected, bool *broken, char *err,
                         size_t errlen)
{
    struct kafka *k = s->kafka;
    size_t i = 0;
    for (; i < n && !k->fatal; i++) {
        struct spool_rec key, rec;
        sink_rec_split(&recs[i], &key, &rec);
        size_t len = sink_rec_len(&rec);
        /* RD_KAFKA_MSG_F_COPY: the spool takes the bytes back once this
         * batch is popped, before the message is sent */
        if (rd_kafka_produce(k->rkt, RD_KAFKA_PARTITION_UA, RD_KAFKA_MSG_F_COPY,
                             (void *)rec.data, len,
                             key.len ? key.data : NULL, key.len, NULL) == 0) {
            ctr_add(&s->in_flight, 1);
            continue;
        }
        rd_kafka_resp_err_t e = rd_kafka_last_error();
        if (e == RD_KAFKA_RESP_ERR__QUEUE_FULL) {
            /* the rest waits in the spool; reports make room */
            ctr_add(&s->queue_full, 1);
            rd_kafka_poll(k->rk, 100);
            break;
        }
        if (e == RD_KAFKA_RESP_ERR__FATAL) {
            k->fatal = true;
            break;
        }
        (*rejected)++;
        if (!s->told_rejected)
            fprintf(stderr, "nightjar: EVE output %s: librdkafka refused a "
                    "record: %s (such records are counted and dropped)\n",
                    s->desc, rd_kafka_err2str(e));
        s->told_rejected = true;
    }
    rd_kafka_poll(k->rk, 0);
    if (k->fatal) {
        *broken = true;
        snprintf(err, errlen, "the producer failed for good");
    }
    return i;
}

static void kafka_idle(struct sink *s)
{
    struct kafka *k = s->kafka;
    if (k)
        rd_kafka_poll(k->rk, 0);
}

const struct sink_backend sink_kafka_backend = {
    .connect = kafka_connect,
    .send = kafka_send,
    .disconnect = kafka_disconnect,
    .confirms_later = true,
    .idle = kafka_idle,
};
