/* kafka_mock.c -- a Kafka cluster for the tests, from librdkafka's built-in
 * mock (rdkafka_mock.h), since no broker is packaged here; and a reader of
 * what was written to it.
 *
 *   kafka_mock serve BROKERS TOPIC PARTITIONS
 *       starts a mock cluster of BROKERS brokers on 127.0.0.1, creates
 *       TOPIC with PARTITIONS partitions, prints its bootstrap address
 *       ("127.0.0.1:port,...") on a line of its own, and serves until it
 *       gets SIGTERM or SIGINT, or its standard input ends.
 *   kafka_mock consume BOOTSTRAP TOPIC
 *       reads every partition of TOPIC from its start to its end, and
 *       prints one line per message: partition, offset, key ("-" when
 *       none) and value, separated by tabs, partition by partition in
 *       offset order. Exit 0; 1 when it could not read the topic.
 *
 * It exits 77 with "skipped: ..." when librdkafka cannot make a mock
 * cluster. It never touches a real broker unless one is named.
 */
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_PARTITIONS 256

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
    (void)sig;
    stop = 1;
}

static void quiet_log(const rd_kafka_t *rk, int level, const char *fac,
                      const char *buf)
{
    (void)rk, (void)fac;
    if (level <= 3)
        fprintf(stderr, "kafka_mock: %s\n", buf);
}

static int serve(int brokers, const char *topic, int partitions)
{
    char err[512];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    rd_kafka_conf_set_log_cb(conf, quiet_log);
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof(err));
    if (!rk) {
        fprintf(stderr, "kafka_mock: %s\n", err);
        return 1;
    }
    rd_kafka_mock_cluster_t *mc = rd_kafka_mock_cluster_new(rk, brokers);
    if (!mc) {
        printf("skipped: librdkafka could not make a mock cluster\n");
        rd_kafka_destroy(rk);
        return 77;
    }
    rd_kafka_resp_err_t e = rd_kafka_mock_topic_create(mc, topic, partitions, 1);
    if (e) {
        fprintf(stderr, "kafka_mock: topic %s: %s\n", topic, rd_kafka_err2str(e));
        rd_kafka_mock_cluster_destroy(mc);
        rd_kafka_destroy(rk);
        return 1;
    }
    printf("%s\n", rd_kafka_mock_cluster_bootstraps(mc));
    fflush(stdout);
    signal(SIGTERM, on_signal);
    signal(SIGINT, on_signal);
    struct pollfd p = { .fd = 0, .events = POLLIN };
    char buf[256];
    while (!stop) {
        int n = poll(&p, 1, 200);
        if (n > 0 && read(0, buf, sizeof(buf)) <= 0)
            break;                 /* stdin ended: whoever started us is gone */
    }
    rd_kafka_mock_cluster_destroy(mc);
    rd_kafka_destroy(rk);
    return 0;
}

/* Partitions of the topic, from the cluster's metadata; -1 on failure. */
static int partitions_of(rd_kafka_t *rk, const char *topic)
{
    rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk, topic, NULL);
    const struct rd_kafka_metadata *md = NULL;
    int n = -1;
    if (rd_kafka_metadata(rk, 0, rkt, &md, 10000) == RD_KAFKA_RESP_ERR_NO_ERROR &&
        md->topic_cnt == 1 && !md->topics[0].err)
        n = md->topics[0].partition_cnt;
    if (md)
        rd_kafka_metadata_destroy(md);
    rd_kafka_topic_destroy(rkt);
    return n;
}

static void print_message(const rd_kafka_message_t *m)
{
    printf("%d\t%lld\t", (int)m->partition, (long long)m->offset);
    if (m->key_len)
        fwrite(m->key, 1, m->key_len, stdout);
    else
        fputs("-", stdout);
    putchar('\t');
    fwrite(m->payload, 1, m->len, stdout);
    putchar('\n');
}

/* Reads one partition from its start to its end. */
static int consume_partition(rd_kafka_t *rk, rd_kafka_topic_t *rkt, int p)
{
    if (rd_kafka_consume_start(rkt, p, RD_KAFKA_OFFSET_BEGINNING) != 0) {
        fprintf(stderr, "kafka_mock: partition %d: %s\n", p,
                rd_kafka_err2str(rd_kafka_last_error()));
        return -1;
    }
    int rc = -1;
    for (int idle = 0; idle < 100;) {      /* 100 x 100 ms without anything */
        rd_kafka_message_t *m = rd_kafka_consume(rkt, p, 100);
        if (!m) {
            idle++;
            continue;
        }
        idle = 0;
        rd_kafka_resp_err_t e = m->err;
        if (!e)
            print_message(m);
        else if (e != RD_KAFKA_RESP_ERR__PARTITION_EOF)
            fprintf(stderr, "kafka_mock: partition %d: %s\n", p,
                    rd_kafka_err2str(e));
        rd_kafka_message_destroy(m);
        if (e == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
            rc = 0;
            break;
        }
    }
    rd_kafka_consume_stop(rkt, p);
    (void)rk;
    return rc;
}

static int consume(const char *bootstrap, const char *topic)
{
    char err[512];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    rd_kafka_conf_set_log_cb(conf, quiet_log);
    if (rd_kafka_conf_set(conf, "bootstrap.servers", bootstrap, err, sizeof(err)) ||
        rd_kafka_conf_set(conf, "group.id", "kafka_mock", err, sizeof(err)) ||
        rd_kafka_conf_set(conf, "enable.partition.eof", "true", err, sizeof(err))) {
        fprintf(stderr, "kafka_mock: %s\n", err);
        rd_kafka_conf_destroy(conf);
        return 1;
    }
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof(err));
    if (!rk) {
        fprintf(stderr, "kafka_mock: %s\n", err);
        return 1;
    }
    int n = partitions_of(rk, topic), rc = 0;
    if (n < 1 || n > MAX_PARTITIONS) {
        fprintf(stderr, "kafka_mock: no topic %s at %s\n", topic, bootstrap);
        rc = 1;
    }
    rd_kafka_topic_t *rkt = rc ? NULL : rd_kafka_topic_new(rk, topic, NULL);
    for (int p = 0; rkt && p < n; p++)
        if (consume_partition(rk, rkt, p) != 0)
            rc = 1;
    if (rkt)
        rd_kafka_topic_destroy(rkt);
    rd_kafka_destroy(rk);
    return rc;
}

int main(int argc, char **argv)
{
    if (argc == 5 && !strcmp(argv[1], "serve"))
        return serve(atoi(argv[2]), argv[3], atoi(argv[4]));
    if (argc == 4 && !strcmp(argv[1], "consume"))
        return consume(argv[2], argv[3]);
    fprintf(stderr, "usage: kafka_mock serve BROKERS TOPIC PARTITIONS\n"
                    "       kafka_mock consume BOOTSTRAP TOPIC\n");
    return 2;
}
