/* test_incidents.c -- the correlator's levels and the host-compromised
 * alert, read back from a real EVE file: a strong finding alone makes an
 * incident high and writes exactly one "host compromised" alert (signature
 * 9500001) naming the hosts and the evidence; two alert kinds make it high
 * from a score of 60 (59 is not enough, nor 60 from one alert kind and
 * anomalies); anomalies never open an incident, strong or not, and count
 * 10 per kind until that kind is seen as an alert. */
#include <jansson.h>
#include <math.h>
#include <unistd.h>

#include "correlate/incidents.h"
#include "output/eve_finding.h"
#include "output/sink.h"
#include "testing.h"

#define T0 1700000000.0

static char dir[64], path[128];
static struct eve *eve;
static struct incidents *in;
static int test_no;

static struct ip_addr v4(uint8_t a, uint8_t b, uint8_t c, uint8_t d)
{
    struct ip_addr x;
    memset(&x, 0, sizeof(x));
    x.b[0] = a, x.b[1] = b, x.b[2] = c, x.b[3] = d;
    return x;
}

static void setup(void)
{
    snprintf(dir, sizeof(dir), "/tmp/nj-incidents-XXXXXX");
    CHECK(mkdtemp(dir) != NULL);
}

/* Closed incidents are written as the pipeline writes them. */
static void closed(void *ctx, const struct incident *inc, const char *reason,
                   uint64_t now)
{
    (void)ctx;
    eve_write_incident(eve, inc, "closed", reason, NULL, now);
}

/* A fresh correlator writing to a fresh EVE file. */
static void start(void)
{
    snprintf(path, sizeof(path), "%s/eve-%d.json", dir, ++test_no);
    struct sink_config sc;
    sink_config_file(&sc, path);
    eve = eve_open(&sc);
    CHECK(eve != NULL);
    in = incidents_new(16, 3600, closed, NULL);
}

static void stop(void)
{
    incidents_free(in);
    eve_close(eve);
    unlink(path);
}

static struct finding make(enum finding_kind k, struct ip_addr host, double t,
                           bool anomaly, bool strong)
{
    struct finding fd;
    memset(&fd, 0, sizeof(fd));
    fd.kind = k;
    fd.stage = finding_kind_stage[k];
    fd.anomaly = anomaly;
    fd.strong = strong;
    fd.severity = anomaly ? 3 : strong ? 1 : 2;
    fd.ip_version = 4;
    fd.host = host;
    fd.ts_usec = (uint64_t)(t * 1e6);
    fd.observed = fd.baseline = fd.deviation = NAN;
    snprintf(fd.detail, sizeof(fd.detail), "%s evidence", finding_kind_names[k]);
    return fd;
}

static uint64_t add(enum finding_kind k, struct ip_addr host, double t, bool anomaly,
                    bool strong)
{
    struct finding fd = make(k, host, t, anomaly, strong);
    struct incident_change ch = incidents_add(in, &fd);
    eve_write_correlated(eve, &fd, &ch, 0);
    return fd.incident_id;
}

/* The EVE records written so far, as a JSON array. */
static json_t *records(void)
{
    eve_flush(eve);
    json_t *all = json_array();
    FILE *fp = fopen(path, "r");
    char line[16384];
    while (fp && fgets(line, sizeof(line), fp)) {
        json_t *r = json_loads(line, 0, NULL);
        CHECK(r != NULL);
        if (r)
            json_array_append_new(all, r);
    }
    if (fp)
        fclose(fp);
    return all;
}

static const char *str_at(json_t *o, const char *a, const char *b, const char *c)
{
    json_t *x = json_object_get(o, a);
    if (b)
        x = json_object_get(x, b);
    if (c)
        x = json_object_get(x, c);
    return json_string_value(x) ? json_string_value(x) : "";
}

static long long int_at(json_t *o, const char *a, const char *b)
{
    return json_integer_value(json_object_get(json_object_get(o, a), b));
}

/* Records of event_type type (and, for alerts, signature sid; 0 any). */
static int count(json_t *all, const char *type, uint32_t sid)
{
    int n = 0;
    size_t i;
    json_t *r;
    json_array_foreach(all, i, r) {
        if (strcmp(str_at(r, "event_type", NULL, NULL), type) != 0)
            continue;
        if (sid && int_at(r, "alert", "signature_id") != sid)
            continue;
        n++;
    }
    return n;
}

static json_t *first(json_t *all, const char *type, uint32_t sid)
{
    size_t i;
    json_t *r;
    json_array_foreach(all, i, r)
        if (!strcmp(str_at(r, "event_type", NULL, NULL), type) &&
            (!sid || int_at(r, "alert", "signature_id") == sid))
            return r;
    return NULL;
}

static void check_strings(int line, json_t *arr, const char *const *want, size_t n)
{
    bool ok = json_is_array(arr) && json_array_size(arr) == n;
    for (size_t i = 0; ok && i < n; i++)
        ok = json_string_value(json_array_get(arr, i)) &&
             !strcmp(json_string_value(json_array_get(arr, i)), want[i]);
    if (!ok) {
        char *s = arr ? json_dumps(arr, JSON_COMPACT) : NULL;
        fprintf(stderr, "  %s:%d: array %s, %zu expected\n", __FILE__, line,
                s ? s : "(none)", n);
        free(s);
        t_failed_checks++;
    }
}
#define STRINGS(arr, ...)                                                  \
    do {                                                                   \
        static const char *const w_[] = { __VA_ARGS__ };                   \
        check_strings(__LINE__, (arr), w_, sizeof(w_) / sizeof(w_[0]));    \
    } while (0)

static void test_a_strong_finding_alone_makes_the_host_compromised(void)
{
    start();
    struct ip_addr a = v4(10, 0, 0, 5);
    uint64_t id = add(FINDING_c2_channel, a, T0, false, true);
    CHECK(id != 0);
    const struct incident *inc = incidents_find(in, 4, &a);
    CHECK(inc != NULL);
    if (!inc) {
        stop();
        return;
    }
    CHECK_EQ(inc->level, LEVEL_HIGH);
    CHECK(inc->strong);
    CHECK(inc->compromised);
    CHECK_EQ(inc->score, 40);
    CHECK_EQ(incidents_stats(in)->compromised, 1);
    json_t *all = records();
    CHECK_EQ(json_array_size(all), 3);        /* the alert, the incident, the verdict */
    CHECK_EQ(count(all, "alert", FINDING_SID_BASE + FINDING_c2_channel), 1);
    CHECK_EQ(count(all, "incident", 0), 1);
    CHECK_EQ(count(all, "alert", COMPROMISE_SID), 1);
    json_t *o = first(all, "incident", 0);
    CHECK_STR(str_at(o, "incident", "state", NULL), "opened");
    CHECK_STR(str_at(o, "incident", "level", NULL), "high");
    json_t *x = first(all, "alert", COMPROMISE_SID);
    CHECK_EQ(int_at(x, "alert", "signature_id"), 9500001);
    CHECK_STR(str_at(x, "alert", "signature", NULL), "nightjar: host 10.0.0.5 compromised");
    CHECK_STR(str_at(x, "alert", "category", NULL), "Compromised host");
    CHECK_EQ(int_at(x, "alert", "severity"), 1);
    CHECK_STR(str_at(x, "src_ip", NULL, NULL), "10.0.0.5");
    json_t *ev = json_object_get(json_object_get(x, "nightjar"), "evidence");
    CHECK_STR(str_at(ev, "kind", NULL, NULL), "compromise");
    CHECK_STR(str_at(ev, "host", NULL, NULL), "10.0.0.5");
    STRINGS(json_object_get(ev, "hosts"), "10.0.0.5");
    CHECK_EQ(json_integer_value(json_object_get(ev, "incident_id")), (long long)id);
    CHECK_EQ(json_integer_value(json_object_get(ev, "score")), 40);
    CHECK_STR(str_at(ev, "reason", NULL, NULL), "a strong finding");
    STRINGS(json_object_get(ev, "detectors"), "c2_channel");
    STRINGS(json_object_get(ev, "stages"), "command_and_control");
    CHECK_STR(str_at(ev, "latest", "finding", NULL), "c2_channel");
    CHECK_STR(str_at(ev, "latest", "detail", NULL), "c2_channel evidence");
    CHECK(json_is_true(json_object_get(json_object_get(ev, "latest"), "strong")));
    json_decref(all);
    /* more evidence, strong or not: the verdict is not written again */
    add(FINDING_delivery, a, T0 + 10, false, true);
    add(FINDING_beaconing, a, T0 + 20, false, false);
    all = records();
    CHECK_EQ(count(all, "alert", COMPROMISE_SID), 1);
    CHECK_EQ(incidents_stats(in)->compromised, 1);
    json_decref(all);
    stop();
}

static void test_a_strong_anomaly_is_not_strong(void)
{
    start();
    struct ip_addr a = v4(10, 0, 0, 6);
    CHECK(add(FINDING_scan_horizontal, a, T0, false, false) != 0);
    add(FINDING_delivery, a, T0 + 1, true, true);   /* an outlier marked strong */
    const struct incident *inc = incidents_find(in, 4, &a);
    CHECK(inc && !inc->strong && inc->level == LEVEL_MEDIUM && inc->score == 30);
    json_t *all = records();
    CHECK_EQ(count(all, "alert", COMPROMISE_SID), 0);
    CHECK_EQ(count(all, "anomaly", 0), 1);
    json_decref(all);
    stop();
}

static void test_two_alert_kinds_from_a_score_of_60(void)
{
    start();
    /* scan (20) and delivery (40): 60 from two detectors: high */
    struct ip_addr a = v4(10, 0, 0, 7);
    add(FINDING_scan_horizontal, a, T0, false, false);
    const struct incident *inc = incidents_find(in, 4, &a);
    CHECK(inc && inc->level == LEVEL_LOW && inc->score == 20);
    add(FINDING_delivery, a, T0 + 1, false, false);
    CHECK(inc && inc->level == LEVEL_HIGH && inc->score == 60 && !inc->strong);
    json_t *all = records();
    CHECK_EQ(count(all, "alert", COMPROMISE_SID), 1);
    json_t *x = first(all, "alert", COMPROMISE_SID);
    json_t *ev = json_object_get(json_object_get(x, "nightjar"), "evidence");
    CHECK_STR(str_at(ev, "reason", NULL, NULL), "independent detectors agree");
    STRINGS(json_object_get(ev, "detectors"), "scan_horizontal", "delivery");
    STRINGS(json_object_get(ev, "stages"), "initial_access", "reconnaissance");
    CHECK_EQ(json_integer_value(json_object_get(ev, "score")), 60);
    CHECK_STR(str_at(ev, "latest", "finding", NULL), "delivery");
    json_decref(all);
    /* scan (20) and cleartext exfiltration (35): 55, two detectors: medium */
    struct ip_addr b = v4(10, 0, 0, 8);
    add(FINDING_scan_horizontal, b, T0 + 2, false, false);
    add(FINDING_cleartext_exfil, b, T0 + 3, false, false);
    inc = incidents_find(in, 4, &b);
    CHECK(inc && inc->level == LEVEL_MEDIUM && inc->score == 55);
    all = records();
    CHECK_EQ(count(all, "alert", COMPROMISE_SID), 1);
    json_decref(all);
    /* an outlier of a third kind adds 10: 65, high */
    add(FINDING_new_port, b, T0 + 4, true, false);
    CHECK(inc && inc->level == LEVEL_HIGH && inc->score == 65);
    all = records();
    CHECK_EQ(count(all, "alert", COMPROMISE_SID), 2);
    json_decref(all);
    /* one alert kind (40) and two outliers: 60, but one detector: medium */
    struct ip_addr c = v4(10, 0, 0, 9);
    add(FINDING_intel, c, T0 + 5, false, false);
    add(FINDING_new_pair, c, T0 + 6, true, false);
    add(FINDING_new_port, c, T0 + 7, true, false);
    inc = incidents_find(in, 4, &c);
    CHECK(inc && inc->level == LEVEL_MEDIUM && inc->score == 60);
    all = records();
    CHECK_EQ(count(all, "alert", COMPROMISE_SID), 2);
    json_decref(all);
    CHECK_EQ(incidents_stats(in)->compromised, 2);
    stop();
}

static void test_anomalies_alone_never_open_an_incident(void)
{
    start();
    struct ip_addr a = v4(10, 0, 0, 10);
    const enum finding_kind kinds[] = { FINDING_new_port, FINDING_new_pair, FINDING_volume,
                                        FINDING_proto_mismatch, FINDING_delivery,
                                        FINDING_c2_channel, FINDING_cleartext_exfil,
                                        FINDING_fanout };
    for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
        CHECK_EQ(add(kinds[i], a, T0 + (double)i, true, i % 2 == 0), 0);
    CHECK(incidents_find(in, 4, &a) == NULL);
    CHECK_EQ(incidents_stats(in)->opened, 0);
    CHECK_EQ(incidents_stats(in)->compromised, 0);
    CHECK_EQ(incidents_stats(in)->anomalies, 8);
    json_t *all = records();
    CHECK_EQ(count(all, "anomaly", 0), 8);
    CHECK_EQ(count(all, "alert", 0), 0);
    CHECK_EQ(count(all, "incident", 0), 0);
    json_decref(all);
    /* the first alert opens one; the outliers before it are not counted */
    CHECK(add(FINDING_scan_vertical, a, T0 + 20, false, false) != 0);
    const struct incident *inc = incidents_find(in, 4, &a);
    CHECK(inc && inc->score == 20 && inc->level == LEVEL_LOW);
    stop();
}

static void test_an_outlier_counts_10_until_its_kind_alerts(void)
{
    start();
    struct ip_addr a = v4(10, 0, 0, 11);
    add(FINDING_intel, a, T0, false, false);
    const struct incident *inc = incidents_find(in, 4, &a);
    CHECK(inc && inc->score == 40 && inc->level == LEVEL_MEDIUM);
    if (!inc) {
        stop();
        return;
    }
    add(FINDING_delivery, a, T0 + 1, true, false);
    CHECK_EQ(inc->score, 50);
    add(FINDING_delivery, a, T0 + 2, true, false);   /* the same kind again */
    CHECK_EQ(inc->score, 50);
    CHECK_EQ(inc->level, LEVEL_MEDIUM);
    /* now as an alert: its full weight (40 in all), two detectors: high */
    add(FINDING_delivery, a, T0 + 3, false, false);
    CHECK_EQ(inc->score, 80);
    CHECK_EQ(inc->level, LEVEL_HIGH);
    add(FINDING_delivery, a, T0 + 4, false, false);
    add(FINDING_delivery, a, T0 + 5, true, false);
    CHECK_EQ(inc->score, 80);
    CHECK_EQ(inc->findings, 6);
    CHECK_EQ(inc->alerts, 3);
    json_t *all = records();
    CHECK_EQ(count(all, "alert", COMPROMISE_SID), 1);
    CHECK_EQ(count(all, "incident", 0), 2);   /* opened (medium), escalated (high) */
    json_decref(all);
    stop();
}

static void teardown(void)
{
    rmdir(dir);
}

TEST_LIST_FIXTURE(setup, teardown, test_a_strong_finding_alone_makes_the_host_compromised,
          test_a_strong_anomaly_is_not_strong, test_two_alert_kinds_from_a_score_of_60,
          test_anomalies_alone_never_open_an_incident,
          test_an_outlier_counts_10_until_its_kind_alerts)
