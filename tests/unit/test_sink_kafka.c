/* test_sink_kafka.c -- the Kafka sink, against librdkafka's mock cluster
 * made in this process (no broker is packaged here).
 *
 * The message key is the host the record is about: the flow's client for a
 * flow's records, the finding's host for a finding even when that host is
 * the flow's server, an incident's first host, and no key for a record
 * about no host. One host's records land on one partition, in the order
 * they were written. With no broker to be had, a small spool fills, the
 * overflow is counted, close returns within the drain time, and every
 * record is either written or counted as dropped. Settings are checked
 * before the sensor starts, naming the one at fault.
 * The end-to-end run is tests/e2e/kafka_sink.sh.
 */
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include <time.h>

#include "config/config.h"
#include "correlate/incidents.h"
#include "output/eve.h"
#include "output/eve_finding.h"
#include "output/sink.h"
#include "testing.h"

#define TOPIC "eve"
#define PARTITIONS 4
#define MAX_MSGS 2048

static rd_kafka_t *mock_rk;
static rd_kafka_mock_cluster_t *mock;
static char bootstrap[256];

struct msg {
    int partition;
    char key[64];
    char value[4096];
};
static struct msg got[MAX_MSGS];

static void quiet(const rd_kafka_t *rk, int level, const char *fac,
                  const char *buf)
{
    (void)rk, (void)level, (void)fac, (void)buf;
}

static void setup(void)
{
    char err[256];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    rd_kafka_conf_set_log_cb(conf, quiet);
    mock_rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof(err));
    REQUIRE(mock_rk != NULL);
    mock = rd_kafka_mock_cluster_new(mock_rk, 3);
    REQUIRE(mock != NULL);
    snprintf(bootstrap, sizeof(bootstrap), "%s",
             rd_kafka_mock_cluster_bootstraps(mock));
}

static void teardown(void)
{
    if (mock)
        rd_kafka_mock_cluster_destroy(mock);
    if (mock_rk)
        rd_kafka_destroy(mock_rk);
}

static void kafka_config(struct sink_config *sc, const char *brokers,
                         const char *topic)
{
    sink_config_file(sc, "-");
    sc->type = SINK_KAFKA;
    sc->kafka_brokers = brokers;
    sc->kafka_topic = topic;
    sc->drain_ms = 5000;
}

/* Every message of topic, partition by partition; how many. */
static int read_topic(const char *topic)
{
    char err[256];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    rd_kafka_conf_set_log_cb(conf, quiet);
    rd_kafka_conf_set(conf, "bootstrap.servers", bootstrap, err, sizeof(err));
    rd_kafka_conf_set(conf, "group.id", "test", err, sizeof(err));
    rd_kafka_conf_set(conf, "enable.partition.eof", "true", err, sizeof(err));
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof(err));
    if (!rk)
        return -1;
    rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk, topic, NULL);
    int n = 0;
    for (int p = 0; p < PARTITIONS; p++) {
        rd_kafka_consume_start(rkt, p, RD_KAFKA_OFFSET_BEGINNING);
        for (int idle = 0; idle < 50;) {
            rd_kafka_message_t *m = rd_kafka_consume(rkt, p, 100);
            if (!m) {
                idle++;
                continue;
            }
            bool eof = m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF;
            if (!m->err && n < MAX_MSGS) {
                got[n].partition = p;
                snprintf(got[n].key, sizeof(got[n].key), "%.*s",
                         (int)m->key_len, m->key ? (const char *)m->key : "");
                snprintf(got[n].value, sizeof(got[n].value), "%.*s",
                         (int)m->len, (const char *)m->payload);
                n++;
            }
            rd_kafka_message_destroy(m);
            if (eof)
                break;
        }
        rd_kafka_consume_stop(rkt, p);
    }
    rd_kafka_topic_destroy(rkt);
    rd_kafka_destroy(rk);
    return n;
}

/* The key of the message whose value contains needle; NULL if none. */
static const char *key_of(int n, const char *needle)
{
    for (int i = 0; i < n; i++)
        if (strstr(got[i].value, needle))
            return got[i].key;
    return NULL;
}

static void addr4(struct ip_addr *a, uint8_t b0, uint8_t b1, uint8_t b2,
                  uint8_t b3)
{
    memset(a, 0, sizeof(*a));
    uint8_t *p = (uint8_t *)a;
    p[0] = b0, p[1] = b1, p[2] = b2, p[3] = b3;
}

/* 10.0.0.1 (client) to 198.51.100.9 (server) */
static void flow_init(struct flow *f)
{
    memset(f, 0, sizeof(*f));
    f->key.ip_version = 4;
    f->key.proto = 6;
    addr4(&f->key.lo, 10, 0, 0, 1);
    addr4(&f->key.hi, 198, 51, 100, 9);
    f->client_is_lo = 1;
    f->id = 7;
    f->first_usec = 1000000;
    f->last_usec = 2000000;
}

static void finding_init(struct finding *fd, const struct ip_addr *host,
                         const struct flow *f, const char *detail)
{
    memset(fd, 0, sizeof(*fd));
    fd->kind = (enum finding_kind)0;
    fd->severity = 2;
    fd->ip_version = 4;
    fd->host = *host;
    fd->flow = f;
    fd->ts_usec = 1500000;
    fd->observed = fd->baseline = fd->deviation = 0.0 / 0.0;
    snprintf(fd->detail, sizeof(fd->detail), "%s", detail);
    fd->evidence = EVIDENCE_BEHAVIOUR;
}

static void records_carry_the_host_they_are_about_as_key(void)
{
    REQUIRE(rd_kafka_mock_topic_create(mock, "keys", PARTITIONS, 1) == 0);
    struct sink_config sc;
    kafka_config(&sc, bootstrap, "keys");
    struct eve *e = eve_open(&sc);
    REQUIRE(e != NULL);
    static struct flow f;
    flow_init(&f);
    eve_write_flow(e, &f, FLOW_END_TIMEOUT, 0, 32, NULL, NULL);
    struct ip_addr server, other;
    addr4(&server, 198, 51, 100, 9);
    addr4(&other, 10, 0, 0, 77);
    struct finding fd;
    finding_init(&fd, &server, &f, "about-the-server");  /* the flow's server */
    eve_write_finding(e, &fd, 0);
    finding_init(&fd, &other, NULL, "without-a-flow");
    eve_write_finding(e, &fd, 0);
    static struct incident inc;
    memset(&inc, 0, sizeof(inc));
    inc.id = 42;
    inc.n_hosts = 2;
    inc.hosts[0].v = inc.hosts[1].v = 4;
    inc.hosts[0].addr = other;
    inc.hosts[1].addr = server;
    eve_write_incident(e, &inc, "opened", NULL, NULL, 1600000);
    CHECK(sink_write(eve_sink(e), "{\"event_type\":\"stats\"}\n", 23));
    sink_shutdown(eve_sink(e));
    struct sink_stats st;
    sink_stats(eve_sink(e), &st);
    CHECK_EQ(st.written, 5);
    CHECK_EQ(st.dropped, 0);
    eve_close(e);
    int n = read_topic("keys");
    CHECK_EQ(n, 5);
    CHECK_STR(key_of(n, "\"event_type\":\"flow\""), "10.0.0.1");
    CHECK_STR(key_of(n, "about-the-server"), "198.51.100.9");
    CHECK_STR(key_of(n, "without-a-flow"), "10.0.0.77");
    CHECK_STR(key_of(n, "\"event_type\":\"incident\""), "10.0.0.77");
    CHECK_STR(key_of(n, "\"event_type\":\"stats\""), "");
    /* the newline stays out of the message, as in the other sinks */
    for (int i = 0; i < n; i++)
        CHECK(got[i].value[strlen(got[i].value) - 1] == '}');
}

static void one_host_stays_on_one_partition_in_order(void)
{
    REQUIRE(rd_kafka_mock_topic_create(mock, TOPIC, PARTITIONS, 1) == 0);
    struct sink_config sc;
    kafka_config(&sc, bootstrap, TOPIC);
    struct sink *s = sink_open(&sc);
    REQUIRE(s != NULL);
    enum { HOSTS = 16, PER_HOST = 50 };
    char rec[128], key[32];
    for (int i = 0; i < HOSTS * PER_HOST; i++) {
        int h = i % HOSTS, seq = i / HOSTS;
        int kl = snprintf(key, sizeof(key), "10.1.0.%d", h);
        int n = snprintf(rec, sizeof(rec), "{\"host\":%d,\"seq\":%d}\n", h, seq);
        CHECK(sink_write_keyed(s, rec, (size_t)n, key, (size_t)kl));
    }
    sink_close(s);
    int n = read_topic(TOPIC);
    CHECK_EQ(n, HOSTS * PER_HOST);
    int partition[HOSTS], next[HOSTS], used[PARTITIONS] = { 0 };
    for (int h = 0; h < HOSTS; h++)
        partition[h] = -1, next[h] = 0;
    bool ok = true;
    for (int i = 0; i < n; i++) {
        int h, seq;
        if (sscanf(got[i].value, "{\"host\":%d,\"seq\":%d}", &h, &seq) != 2 ||
            h < 0 || h >= HOSTS) {
            ok = false;
            continue;
        }
        char want[32];
        snprintf(want, sizeof(want), "10.1.0.%d", h);
        if (strcmp(got[i].key, want) != 0)
            ok = false;                       /* the key is the host */
        if (partition[h] < 0)
            partition[h] = got[i].partition;
        if (partition[h] != got[i].partition || seq != next[h])
            ok = false;                       /* one partition, in order */
        next[h] = seq + 1;
        used[got[i].partition] = 1;
    }
    CHECK(ok);
    for (int h = 0; h < HOSTS; h++)
        CHECK_EQ(next[h], PER_HOST);
    CHECK(used[0] + used[1] + used[2] + used[3] > 1); /* keys spread out */
}

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void no_broker_fills_the_spool_and_every_drop_is_counted(void)
{
    struct sink_config sc;
    kafka_config(&sc, "127.0.0.1:1", TOPIC);   /* nothing listens there */
    sc.spool_size = 8192;
    sc.kafka_options = "queue.buffering.max.messages=10, message.timeout.ms=60000";
    sc.drain_ms = 1000;
    struct sink *s = sink_open(&sc);
    REQUIRE(s != NULL);
    enum { N = 500 };
    char rec[200];
    memset(rec, 'x', sizeof(rec));
    rec[0] = '{', rec[sizeof(rec) - 2] = '}', rec[sizeof(rec) - 1] = '\n';
    int accepted = 0;
    for (int i = 0; i < N; i++)
        accepted += sink_write_keyed(s, rec, sizeof(rec), "10.0.0.1", 8);
    CHECK(accepted < N);
    double t0 = now_s();
    sink_shutdown(s);
    CHECK(now_s() - t0 < 3.0);                 /* the drain time, not more */
    struct sink_stats st;
    sink_stats(s, &st);
    CHECK_EQ(st.written, 0);
    CHECK_EQ(st.dropped_full, N - accepted);
    CHECK_EQ(st.dropped, N);                   /* given up, and counted */
    CHECK(st.dropped_exit > 0);
    CHECK_EQ(st.in_flight, 0);
    CHECK(st.queue_full > 0);                  /* librdkafka's 10 were full */
    CHECK(st.errors > 0);                      /* the broker's absence said */
    sink_close(s);
}

static void settings_are_checked_before_the_start(void)
{
    struct nj_config c;
    config_defaults(&c);
    struct sink_config sc;
    char err[512];
    CHECK(config_set(&c, "eve-log.filetype", "kafka", err, sizeof(err)));
    REQUIRE(sink_config_from(&sc, &c, err, sizeof(err)));
    CHECK_EQ(sc.type, SINK_KAFKA);
    CHECK_STR(sc.kafka_brokers, "127.0.0.1:9092");
    CHECK_STR(sc.kafka_topic, "nightjar");
    CHECK(config_set(&c, "eve-log.kafka.options",
                     " compression.codec=lz4 , linger.ms=50", err, sizeof(err)));
    CHECK(config_validate(&c, err, sizeof(err)));
    CHECK(config_set(&c, "eve-log.kafka.options", "compression.codec=zip",
                     err, sizeof(err)));
    CHECK(!config_validate(&c, err, sizeof(err)));
    CHECK(strstr(err, "eve-log.kafka.options") && strstr(err, "compression.codec"));
    CHECK(config_set(&c, "eve-log.kafka.options", "no.such.property=1", err,
                     sizeof(err)));
    CHECK(!config_validate(&c, err, sizeof(err)));
    CHECK(config_set(&c, "eve-log.kafka.options", "linger.ms", err, sizeof(err)));
    CHECK(!config_validate(&c, err, sizeof(err)));
    CHECK(strstr(err, "name=value") != NULL);
    CHECK(config_set(&c, "eve-log.kafka.options", "", err, sizeof(err)));
    CHECK(config_set(&c, "eve-log.kafka.topic", "", err, sizeof(err)));
    CHECK(!config_validate(&c, err, sizeof(err)));
    CHECK(strstr(err, "eve-log.kafka.topic") != NULL);
    /* a regular file does not care about Kafka's settings */
    CHECK(config_set(&c, "eve-log.filetype", "regular", err, sizeof(err)));
    CHECK(config_validate(&c, err, sizeof(err)));
}

TEST_LIST_FIXTURE(setup, teardown,
                  records_carry_the_host_they_are_about_as_key,
                  one_host_stays_on_one_partition_in_order,
                  no_broker_fills_the_spool_and_every_drop_is_counted,
                  settings_are_checked_before_the_start)
