/* test_eve_findings.c -- the EVE reader of the central correlator
 * (correlate/eve_findings.c) is the inverse of the writer: findings of
 * every detector (behaviour alerts of every kind, anomalies, intel, ETA,
 * YARA), v4 and v6, rendered by the real output/eve_finding.c into a real
 * EVE file and read back, come back equal field by field; the sensor's own
 * incident events and host-compromised alerts are told apart (skipped by
 * the correlator); other records are "other"; anything malformed is said
 * to be, never a crash; and records of an older sensor that named no kind
 * or host fall back on the signature id and the flow's client. */
#include <math.h>
#include <unistd.h>

#include "correlate/eve_findings.h"
#include "correlate/incidents.h"
#include "intel/intel.h"
#include "output/eve_finding.h"
#include "output/sink.h"
#include "util/timefmt.h"
#include "testing.h"

#define T0 1700000000123456ull

static char dir[64], path[128];
static struct eve *eve;
static int file_no;

static void setup(void)
{
    snprintf(dir, sizeof(dir), "/tmp/nj-evefind-XXXXXX");
    REQUIRE(mkdtemp(dir) != NULL);
}

static void teardown(void)
{
    rmdir(dir);
}

static void start(void)
{
    snprintf(path, sizeof(path), "%s/eve-%d.json", dir, ++file_no);
    struct sink_config sc;
    sink_config_file(&sc, path);
    eve = eve_open(&sc);
    CHECK(eve != NULL);
}

/* The records written since start(), one line each, in lines[]. */
static int finish(char lines[][8192], int max)
{
    eve_close(eve);
    int n = 0;
    FILE *fp = fopen(path, "r");
    while (fp && n < max && fgets(lines[n], 8192, fp))
        n++;
    if (fp)
        fclose(fp);
    unlink(path);
    return n;
}

static struct ip_addr addr(uint8_t v, const char *text)
{
    struct ip_addr a;
    memset(&a, 0, sizeof(a));
    if (v == 4)
        sscanf(text, "%hhu.%hhu.%hhu.%hhu", &a.b[0], &a.b[1], &a.b[2], &a.b[3]);
    else
        for (int i = 0; i < 16; i++)
            a.b[i] = (uint8_t)(0x20 + i); /* 2021:2223:... */
    return a;
}

static struct finding base(enum finding_kind k, uint8_t v)
{
    struct finding fd;
    memset(&fd, 0, sizeof(fd));
    fd.kind = k;
    fd.stage = finding_kind_stage[k];
    fd.severity = 2;
    fd.ip_version = v;
    fd.host = addr(v, "10.0.0.23");
    fd.ts_usec = T0 + k;
    fd.observed = fd.baseline = fd.deviation = NAN;
    fd.evidence = EVIDENCE_BEHAVIOUR;
    snprintf(fd.detail, sizeof(fd.detail), "%s: \"quoted\", tab\t, caf\xc3\xa9",
             finding_kind_names[k]);
    return fd;
}

static bool same_double(double a, double b)
{
    return (isnan(a) && isnan(b)) || a == b;
}

/* Every field the record carries, compared. */
static void same_finding(const struct finding *want, const struct finding *got)
{
    CHECK_EQ(got->kind, want->kind);
    CHECK_EQ(got->stage, want->stage);
    CHECK_EQ(got->severity, want->severity);
    CHECK_EQ(got->anomaly, want->anomaly);
    CHECK_EQ(got->strong, want->strong);
    CHECK_EQ(got->blocked, want->blocked);
    CHECK_EQ(got->forwarded, want->forwarded);
    CHECK_EQ(got->ip_version, want->ip_version);
    CHECK(!memcmp(&got->host, &want->host, sizeof(got->host)));
    CHECK_EQ(got->has_peer, want->has_peer);
    if (want->has_peer)
        CHECK(!memcmp(&got->peer, &want->peer, sizeof(got->peer)));
    CHECK_EQ(got->port, want->port);
    CHECK_EQ(got->ts_usec, want->ts_usec);
    CHECK(got->flow == NULL);
    CHECK(same_double(got->observed, want->observed));
    CHECK(same_double(got->baseline, want->baseline));
    CHECK(same_double(got->deviation, want->deviation));
    CHECK_STR(got->unit ? got->unit : "", want->unit ? want->unit : "");
    CHECK_STR(got->detail, want->detail);
    CHECK_STR(got->indicators, want->indicators);
    CHECK_EQ(finding_sid(got), finding_sid(want));
    CHECK_EQ(got->incident_id, want->incident_id);
    CHECK_EQ(got->evidence, EVIDENCE_BEHAVIOUR);
}

/* Writes fd, reads it back, compares. */
static void round_trip(const struct finding *fd)
{
    static char lines[4][8192];
    start();
    eve_write_finding(eve, fd, 0);
    REQUIRE(finish(lines, 4) == 1);
    struct eve_finding got;
    uint64_t ts = 0;
    CHECK_EQ(eve_read_record(lines[0], strlen(lines[0]), &got, &ts), EVE_RECORD_FINDING);
    CHECK_EQ(ts, fd->ts_usec);
    same_finding(fd, &got.fd);
}

static void test_every_behaviour_kind_comes_back_as_written(void)
{
    for (int k = 0; k < FINDING_COUNT; k++) {
        struct finding fd = base((enum finding_kind)k, k % 2 ? 6 : 4);
        fd.has_peer = k % 3 != 0;
        fd.peer = addr(fd.ip_version, "198.51.100.7");
        fd.port = (uint16_t)(k * 1000 + 22);
        fd.severity = (uint8_t)(1 + k % 2);
        fd.strong = k % 4 == 0;
        fd.blocked = k % 5 == 0;
        fd.incident_id = (uint64_t)k + 1;
        if (k % 2) {
            fd.observed = 12.5 * k, fd.baseline = 3.25, fd.deviation = 4.125;
            fd.unit = "bytes";
        }
        if (k % 3 == 1)
            snprintf(fd.indicators, sizeof(fd.indicators), "no_user_agent raw_ip_host");
        round_trip(&fd);
    }
}

static void test_an_anomaly_comes_back_as_an_anomaly(void)
{
    struct finding fd = base(FINDING_new_port, 4);
    fd.anomaly = true;
    fd.severity = 3;
    fd.port = 4444;
    fd.observed = 1, fd.baseline = 0, fd.deviation = 9.5;
    fd.unit = "ports";
    round_trip(&fd);
}

static void test_an_eta_alert_comes_back(void)
{
    struct finding fd = base(FINDING_eta, 4);
    fd.evidence = EVIDENCE_ETA;
    fd.sid = ETA_ALERT_SID;
    fd.ev.eta.score = 0.9991, fd.ev.eta.threshold = 0.99;
    fd.ev.eta.model = "eta-test";
    fd.observed = 1, fd.baseline = 1, fd.unit = "score";
    fd.has_peer = true;
    fd.peer = addr(4, "203.0.113.9");
    fd.port = 443;
    round_trip(&fd);
}

static void test_a_yara_alert_comes_back(void)
{
    static struct content_match m;
    memset(&m, 0, sizeof(m));
    snprintf(m.rule, sizeof(m.rule), "EICAR_test");
    snprintf(m.ns, sizeof(m.ns), "default");
    struct finding fd;
    finding_of_content(&fd, &m, NULL, 1, NULL, T0);
    fd.ip_version = 4;
    fd.host = addr(4, "192.168.1.5");
    round_trip(&fd);
}

static void test_an_intel_alert_comes_back(void)
{
    struct intel_builder *b = intel_builder_new();
    REQUIRE(b != NULL);
    uint32_t feed = intel_add_feed(b, "testfeed");
    CHECK(intel_add(b, feed, IOC_DOMAIN, "evil.example", 4, 80, "ref-1", "a bad domain"));
    struct intel_set *set = intel_build(b);
    REQUIRE(set != NULL);
    const struct ioc *x = intel_match(set, IOC_DOMAIN, "evil.example");
    REQUIRE(x != NULL);
    struct finding fd = base(FINDING_intel, 4);
    fd.evidence = EVIDENCE_INTEL;
    fd.sid = 8001234;
    fd.severity = 3;              /* the feed's 4, as the detector clamps it */
    fd.ev.intel = (struct intel_evidence){ .set = set, .ioc = x, .event = "dns",
                                           .field = "dns.rrname",
                                           .value = "evil.example", .how = "exact" };
    round_trip(&fd);
    intel_set_free(set);
}

/* The sensor's incident events and compromise alert are its own: the
 * correlator must skip them, or it would join a sensor's verdicts as if
 * they were evidence. */
static void test_the_sensors_own_incident_records_are_told_apart(void)
{
    static char lines[8][8192];
    struct incidents *in = incidents_new(4, 3600, NULL, NULL);
    REQUIRE(in != NULL);
    start();
    struct finding fd = base(FINDING_icmp_tunnel, 4);
    fd.strong = true;
    struct incident_change ch = incidents_add(in, &fd);
    CHECK(ch.opened && ch.compromised);
    eve_write_correlated(eve, &fd, &ch, 0);
    eve_write_incident(eve, ch.inc, "closed", "end of input", NULL, T0 + 60);
    int n = finish(lines, 8);
    CHECK_EQ(n, 4);    /* the finding, opened, the compromise alert, closed */
    enum eve_record_kind want[4] = { EVE_RECORD_FINDING, EVE_RECORD_OWN,
                                     EVE_RECORD_OWN, EVE_RECORD_OWN };
    for (int i = 0; i < n && i < 4; i++) {
        struct eve_finding got;
        uint64_t ts = 0;
        CHECK_EQ(eve_read_record(lines[i], strlen(lines[i]), &got, &ts), want[i]);
        CHECK(ts >= fd.ts_usec);
    }
    incidents_free(in);
}

static enum eve_record_kind read_text(const char *text, uint64_t *ts)
{
    struct eve_finding got;
    return eve_read_record(text, strlen(text), &got, ts);
}

static void test_other_records_are_other_and_keep_their_time(void)
{
    uint64_t ts = 0;
    CHECK_EQ(read_text("{\"timestamp\":\"2023-11-14T22:13:20.5+0000\","
                       "\"flow_id\":1,\"event_type\":\"flow\",\"src_ip\":\"10.0.0.1\"}\n", &ts),
             EVE_RECORD_OTHER);
    CHECK_EQ(ts, 1700000000500000ull);
    /* an alert of another tool (no nightjar evidence) is not ours to join */
    CHECK_EQ(read_text("{\"timestamp\":\"2023-11-14T22:13:20Z\",\"event_type\":\"alert\","
                       "\"src_ip\":\"10.0.0.1\",\"alert\":{\"signature_id\":2010935}}", &ts),
             EVE_RECORD_OTHER);
    CHECK_EQ(ts, 1700000000000000ull);
}

static void test_malformed_records_are_said_to_be(void)
{
    static const char *const bad[] = {
        "",
        "not json",
        "[1, 2, 3]",
        "{\"event_type\":\"flow\"}",                               /* no time */
        "{\"timestamp\":\"yesterday\",\"event_type\":\"flow\"}",
        "{\"timestamp\":\"2023-11-14T22:13:20+0000\"}",           /* no type */
        "{\"timestamp\":\"2023-11-14T22:13:20+0000\",\"event_type\":\"alert\","
        "\"alert\":{\"signature_id\":1},\"nightjar\":{\"evidence\":{\"kind\":\"behavior\","
        "\"finding\":\"no_such_kind\",\"host\":\"10.0.0.1\"}}}",
        "{\"timestamp\":\"2023-11-14T22:13:20+0000\",\"event_type\":\"anomaly\","
        "\"anomaly\":{\"finding\":\"new_port\"}}",                 /* no host */
        "{\"timestamp\":\"2023-11-14T22:13:20+0000\",\"event_type\":\"anomaly\","
        "\"anomaly\":{\"finding\":\"new_port\",\"host\":\"10.0.0.999\"}}",
        "{\"timestamp\":\"2023-11-14T22:13:20+0000\",\"event_type\":\"anomaly\"}",
        "{\"timestamp\":\"2023-11-14T22:13:20+0000\",\"event_type\":\"alert\",\"alert\":",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        uint64_t ts = 0;
        enum eve_record_kind k = read_text(bad[i], &ts);
        if (k != EVE_RECORD_MALFORMED)
            fprintf(stderr, "  not malformed: %s\n", bad[i]);
        CHECK_EQ(k, EVE_RECORD_MALFORMED);
    }
    /* a record cut short inside its buffer: len is honoured, no overread */
    const char *rec = "{\"timestamp\":\"2023-11-14T22:13:20+0000\",\"event_type\":\"flow\"}";
    struct eve_finding got;
    uint64_t ts;
    CHECK_EQ(eve_read_record(rec, strlen(rec) - 1, &got, &ts), EVE_RECORD_MALFORMED);
}

/* A record of a sensor before every alert named its kind and host: the
 * behaviour signature id gives the kind, the proxied client (xff) or the
 * flow's client the host; wrong-typed fields count as absent. */
static void test_older_records_fall_back_on_the_signature_and_the_client(void)
{
    struct eve_finding got;
    uint64_t ts;
    const char *old = "{\"timestamp\":\"2023-11-14T22:13:20+0100\",\"event_type\":\"alert\","
                      "\"src_ip\":\"10.0.0.5\",\"dest_ip\":\"10.0.0.6\",\"alert\":{\"action\":"
                      "\"blocked\",\"signature_id\":9400008,\"severity\":9},\"nightjar\":"
                      "{\"evidence\":{\"kind\":\"behavior\",\"port\":\"22\",\"detail\":17}}}";
    CHECK_EQ(eve_read_record(old, strlen(old), &got, &ts), EVE_RECORD_FINDING);
    CHECK_EQ(got.fd.kind, FINDING_scan_horizontal);
    CHECK_EQ(got.fd.stage, STAGE_RECON);
    CHECK_EQ(got.fd.severity, 3);
    CHECK(got.fd.blocked);
    CHECK_EQ(got.fd.sid, 0);
    CHECK_EQ(got.fd.port, 0);
    CHECK_STR(got.fd.detail, "");
    CHECK_EQ(got.fd.host.b[3], 5);
    CHECK_EQ(ts, 1700000000000000ull - 3600000000ull);
    const char *xff = "{\"timestamp\":\"2023-11-14T22:13:20.000001+0000\",\"event_type\":\"alert\","
                      "\"src_ip\":\"10.9.9.9\",\"xff\":\"192.0.2.44\",\"alert\":{\"signature_id\":9300001,"
                      "\"severity\":1},\"nightjar\":{\"evidence\":{\"kind\":\"eta\"}}}";
    CHECK_EQ(eve_read_record(xff, strlen(xff), &got, &ts), EVE_RECORD_FINDING);
    CHECK_EQ(got.fd.kind, FINDING_eta);
    CHECK(got.fd.forwarded);
    CHECK_EQ(got.fd.host.b[3], 44);
    CHECK_EQ(got.fd.sid, ETA_ALERT_SID);
    CHECK_EQ(got.fd.ts_usec, 1700000000000001ull);
}

static void test_timestamps_parse_as_they_are_written(void)
{
    char buf[64];
    uint64_t us = 0;
    time_format(T0, buf, sizeof(buf));
    CHECK(time_parse(buf, &us));
    CHECK_EQ(us, T0);
    CHECK(time_parse("1970-01-01T00:00:00Z", &us));
    CHECK_EQ(us, 0);
    CHECK(time_parse("2023-11-14T23:13:20.25+01:00", &us));
    CHECK_EQ(us, 1700000000250000ull);
    CHECK(!time_parse("2023-11-14 22:13:20+0000", &us));
    CHECK(!time_parse("2023-11-14T22:13:20", &us));
    CHECK(!time_parse("2023-13-14T22:13:20+0000", &us));
    CHECK(!time_parse("2023-11-14T22:13:20+0000junk", &us));
    CHECK(!time_parse("1969-12-31T23:59:59+0000", &us));
    /* signs, spaces and days a month does not have are not times */
    CHECK(!time_parse("2023-11-14T-1:13:20+0000", &us));
    CHECK(!time_parse("2023-11-14T 2:13:20+0000", &us));
    CHECK(!time_parse("2023-+1-14T22:13:20+0000", &us));
    CHECK(!time_parse("2023-02-29T22:13:20+0000", &us));
    CHECK(!time_parse("2023-04-31T22:13:20+0000", &us));
    CHECK(time_parse("2024-02-29T22:13:20+0000", &us));
    CHECK(!time_parse("2023-11-1", &us));
}

TEST_LIST_FIXTURE(setup, teardown,
                  test_every_behaviour_kind_comes_back_as_written,
                  test_an_anomaly_comes_back_as_an_anomaly,
                  test_an_eta_alert_comes_back,
                  test_a_yara_alert_comes_back,
                  test_an_intel_alert_comes_back,
                  test_the_sensors_own_incident_records_are_told_apart,
                  test_other_records_are_other_and_keep_their_time,
                  test_malformed_records_are_said_to_be,
                  test_older_records_fall_back_on_the_signature_and_the_client,
                  test_timestamps_parse_as_they_are_written)
