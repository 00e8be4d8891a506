/* eve_source_kafka.c -- EVE records from a Kafka topic, as a member of a
 * consumer group (see eve_source.h).
 *
 * Owns the consumer handle. The group shares the topic's partitions among
 * its members; since a sensor keys every record by the host it is about, a
 * member holds every record of the hosts on its partitions. A group with
 * no committed offset starts at the topic's beginning
 * (auto.offset.reset=earliest). Offsets are stored only once a record is
 * handled (enable.auto.offset.store=false) and committed when a record
 * made output (at once, asynchronously), every auto.commit.interval.ms
 * (5 s) and at close: a restart reads again at most what was handled but
 * not yet committed, never skips what was not handled (at least once).
 * eve-log.kafka.options go to the consumer as they go to the producer
 * (producer-only properties are ignored by librdkafka), but for the two
 * these guarantees rest on: group.id (correlate.group's) and
 * enable.auto.offset.store, which the options may not change.
 *
 * Never lets librdkafka write to stderr; says an error once, until a
 * record arrives again.
 */
#include "correlate/eve_source.h"

#include <librdkafka/rdkafka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "output/sink.h"
#include "output/sink_peer.h"

#define KAFKA_REACH_MS 5000     /* how long the brokers have to answer at start */

struct kafka_source {
    struct eve_source base;
    rd_kafka_t *rk;
    rd_kafka_message_t *msg;    /* the record handed out, until the next call */
    bool rebalanced;            /* partitions came or went since the last call */
    bool joined;                /* the group gave this member its share */
    bool told_error;
};

static void quiet_log(const rd_kafka_t *rk, int level, const char *fac,
                      const char *buf)
{
    (void)rk, (void)level, (void)fac, (void)buf;
}

/* Takes what the group gives, eagerly or cooperatively as it was set. */
static void on_rebalance(rd_kafka_t *rk, rd_kafka_resp_err_t err,
                         rd_kafka_topic_partition_list_t *parts, void *opaque)
{
    struct kafka_source *k = opaque;
    bool cooperative = !strcmp(rd_kafka_rebalance_protocol(rk), "COOPERATIVE");
    bool assign = err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS;
    if (cooperative) {
        rd_kafka_error_t *e = assign ? rd_kafka_incremental_assign(rk, parts)
                                     : rd_kafka_incremental_unassign(rk, parts);
        if (e)
            rd_kafka_error_destroy(e);
    } else {
        rd_kafka_assign(rk, assign ? parts : NULL);
    }
    k->rebalanced = true;
    k->joined |= assign;
}

/* What the correlator's delivery rests on, whatever eve-log.kafka.options
 * (shared with the sensors' producer) say: a property it sets that the
 * options changed stops the start, saying why. */
static bool kept(rd_kafka_conf_t *conf, const char *name, const char *want,
                 const char *why, char *err, size_t errlen)
{
    char v[256];
    size_t n = sizeof(v);
    if (rd_kafka_conf_get(conf, name, v, &n) != RD_KAFKA_CONF_OK || !strcmp(v, want))
        return true;
    snprintf(err, errlen, "eve-log.kafka.options: %s=%s cannot be used by "
             "nightjar correlate: %s", name, v, why);
    return false;
}

static rd_kafka_conf_t *consumer_conf(const struct sink_config *sc,
                                      const char *group, void *opaque,
                                      char *err, size_t errlen)
{
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    const char *c = "correlate";
    if (!sink_kafka_conf_set(conf, "eve-log.kafka.brokers", "bootstrap.servers",
                             sc->kafka_brokers, err, errlen) ||
        !sink_kafka_conf_set(conf, "correlate.group", "group.id", group, err, errlen) ||
        !sink_kafka_conf_set(conf, c, "client.id", "nightjar-correlate", err, errlen) ||
        !sink_kafka_conf_set(conf, c, "auto.offset.reset", "earliest", err, errlen) ||
        !sink_kafka_conf_set(conf, c, "enable.auto.offset.store", "false", err, errlen) ||
        !sink_kafka_conf_options(conf, sc->kafka_options, err, errlen) ||
        !kept(conf, "group.id", group, "the consumer group is correlate.group "
              "(--set correlate.group=NAME)", err, errlen) ||
        !kept(conf, "enable.auto.offset.store", "false", "an offset is stored "
              "only once its record is handled (at least once)", err, errlen)) {
        rd_kafka_conf_destroy(conf);
        return NULL;
    }
    rd_kafka_conf_set_opaque(conf, opaque);
    rd_kafka_conf_set_log_cb(conf, quiet_log);
    rd_kafka_conf_set_rebalance_cb(conf, on_rebalance);
    return conf;
}

/* The brokers answer, and know the topic. */
static bool reach(rd_kafka_t *rk, const char *brokers, const char *topic,
                  char *err, size_t errlen)
{
    rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk, topic, NULL);
    const struct rd_kafka_metadata *md = NULL;
    rd_kafka_resp_err_t e = rkt ? rd_kafka_metadata(rk, 0, rkt, &md, KAFKA_REACH_MS)
                                : rd_kafka_last_error();
    if (!e && md->topic_cnt == 1)
        e = md->topics[0].err;
    if (e == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART)
        snprintf(err, errlen, "kafka %s: no topic %s (eve-log.kafka.topic)",
                 brokers, topic);
    else if (e)
        snprintf(err, errlen, "kafka %s: cannot reach the brokers "
                 "(eve-log.kafka.brokers): %s", brokers, rd_kafka_err2str(e));
    if (md)
        rd_kafka_metadata_destroy(md);
    if (rkt)
        rd_kafka_topic_destroy(rkt);
    return !e;
}

static bool subscribe(rd_kafka_t *rk, const char *topic, char *err, size_t errlen)
{
    rd_kafka_topic_partition_list_t *t = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(t, topic, RD_KAFKA_PARTITION_UA);
    rd_kafka_resp_err_t e = rd_kafka_subscribe(rk, t);
    rd_kafka_topic_partition_list_destroy(t);
    if (e)
        snprintf(err, errlen, "kafka: cannot subscribe to %s: %s", topic,
                 rd_kafka_err2str(e));
    return !e;
}

static void release(struct kafka_source *k)
{
    if (k->msg)
        rd_kafka_message_destroy(k->msg);
    k->msg = NULL;
}

static enum source_result kafka_next(struct eve_source *s, const char **rec,
                                     size_t *len, unsigned wait_ms)
{
    struct kafka_source *k = (struct kafka_source *)s;
    release(k);
    rd_kafka_message_t *m = rd_kafka_consumer_poll(k->rk, (int)wait_ms);
    bool rebalanced = k->rebalanced;
    k->rebalanced = false;
    if (!m)   /* joining the group (seconds) is not being idle */
        return rebalanced || !k->joined ? SOURCE_BUSY : SOURCE_IDLE;
    if (m->err) {
        if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF && !k->told_error)
            fprintf(stderr, "nightjar correlate: %s: %s; retrying\n", s->desc,
                    rd_kafka_message_errstr(m));
        k->told_error |= m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF;
        rd_kafka_message_destroy(m);
        return SOURCE_BUSY;
    }
    k->told_error = false;
    k->msg = m;
    *rec = m->payload ? m->payload : "";
    *len = m->len;
    return SOURCE_RECORD;
}

static void kafka_done(struct eve_source *s, bool wrote)
{
    struct kafka_source *k = (struct kafka_source *)s;
    if (!k->msg)
        return;
    rd_kafka_topic_partition_list_t *t = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(t, rd_kafka_topic_name(k->msg->rkt),
                                      k->msg->partition)->offset = k->msg->offset + 1;
    rd_kafka_offsets_store(k->rk, t);
    rd_kafka_topic_partition_list_destroy(t);
    if (wrote)
        rd_kafka_commit(k->rk, NULL, 1);
}

static void kafka_close(struct eve_source *s)
{
    struct kafka_source *k = (struct kafka_source *)s;
    release(k);
    rd_kafka_consumer_close(k->rk);     /* commits the stored offsets */
    rd_kafka_destroy(k->rk);
    free(k);
}

static const struct eve_source_ops kafka_ops = {
    .next = kafka_next, .done = kafka_done, .close = kafka_close,
};

struct eve_source *eve_source_kafka(const struct sink_config *sc,
                                    const char *group, char *err, size_t errlen)
{
    if (!*sc->kafka_brokers || !*sc->kafka_topic || !*group) {
        snprintf(err, errlen, "eve-log.kafka.brokers, eve-log.kafka.topic and "
                 "correlate.group cannot be empty");
        return NULL;
    }
    struct kafka_source *k = calloc(1, sizeof(*k));
    rd_kafka_conf_t *conf = k ? consumer_conf(sc, group, k, err, errlen) : NULL;
    char why[512];
    if (conf && !(k->rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, why, sizeof(why)))) {
        rd_kafka_conf_destroy(conf);   /* not taken on failure */
        snprintf(err, errlen, "kafka: cannot make a consumer: %s", why);
    }
    if (!k || !k->rk) {
        if (!k)
            snprintf(err, errlen, "out of memory");
        free(k);
        return NULL;
    }
    k->base.ops = &kafka_ops;
    snprintf(k->base.desc, sizeof(k->base.desc), "kafka %s (topic %s, group %s)",
             sc->kafka_brokers, sc->kafka_topic, group);
    rd_kafka_poll_set_consumer(k->rk);
    if (!reach(k->rk, sc->kafka_brokers, sc->kafka_topic, err, errlen) ||
        !subscribe(k->rk, sc->kafka_topic, err, errlen)) {
        rd_kafka_destroy(k->rk);
        free(k);
        return NULL;
    }
    return &k->base;
}
