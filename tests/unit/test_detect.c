/* test_detect.c -- the intel detector's wiring: each entry point (flow
 * start, DNS, HTTP, SMTP, file) matches the fields it should, writes one
 * alert per indicator per flow with the evidence, and marks the flow. */
#include <unistd.h>

#include "detect/intel_detect.h"
#include "output/eve_finding.h"
#include "output/sink.h"
#include "testing.h"

static char dir[64], feed[128], evef[128];
static struct intel_feeds *feeds;
static struct eve *eve;
static struct intel_detect *d;

/* Findings are written as the pipeline writes them (which marks their
 * flow alerted). */
static void write_alert(void *ctx, const struct finding *fd)
{
    (void)ctx;
    if (fd->flow)
        ((struct flow *)fd->flow)->alerted = 1;
    eve_write_finding(eve, fd, 0);
}

static void setup(void)
{
    snprintf(dir, sizeof(dir), "/tmp/nj-detect-XXXXXX");
    REQUIRE(mkdtemp(dir) != NULL);
    snprintf(feed, sizeof(feed), "%s/feed.txt", dir);
    FILE *fp = fopen(feed, "w");
    REQUIRE(fp != NULL);
    fputs("evil.example\nhttp://evil.example/x.php\nattacker@mail.example\n"
          "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad\n"
          "198.51.100.0/24\n", fp);
    fclose(fp);
    char err[256];
    const char *specs[1] = { feed };
    feeds = intel_feeds_new(specs, 1, "", stderr, err, sizeof(err));
    REQUIRE(feeds != NULL);
    snprintf(evef, sizeof(evef), "%s/eve.json", dir);
    struct sink_config sc;
    sink_config_file(&sc, evef);
    eve = eve_open(&sc);
    REQUIRE(eve != NULL);
    d = intel_detect_new(feeds);
    CHECK(d != NULL);
    intel_detect_set_sink(d, write_alert, NULL);
}

static int alerts_with(const char *needle)
{
    eve_flush(eve);
    FILE *fp = fopen(evef, "r");
    char line[8192];
    int n = 0;
    while (fp && fgets(line, sizeof(line), fp))
        if (strstr(line, "\"event_type\":\"alert\"") && strstr(line, needle))
            n++;
    if (fp)
        fclose(fp);
    return n;
}

static void flow_init(struct flow *f, uint8_t a3)
{
    memset(f, 0, sizeof(*f));
    f->key.ip_version = 4;
    f->key.proto = 6;
    uint8_t *lo = (uint8_t *)&f->key.lo, *hi = (uint8_t *)&f->key.hi;
    lo[0] = 10; lo[3] = 1;                      /* 10.0.0.1 */
    hi[0] = 198; hi[1] = 51; hi[2] = 100; hi[3] = a3;
    f->client_is_lo = 1;
    f->id = a3;
}

static void test_flow_addresses(void)
{
    static struct flow f;
    flow_init(&f, 9);
    intel_on_flow_start(d, &f, 1000000);
    CHECK_EQ(alerts_with("\"field\":\"dest_ip\""), 1);
    CHECK_EQ(alerts_with("\"match\":\"network\""), 1);
    CHECK(f.alerted);
}

static void test_http_host_and_url(void)
{
    static struct flow f;
    flow_init(&f, 1); /* 198.51.100.1 is in the network too: a third alert */
    static struct http_tx tx;
    memset(&tx, 0, sizeof(tx));
    snprintf(tx.host, sizeof(tx.host), "EVIL.example:80");
    snprintf(tx.uri, sizeof(tx.uri), "/x.php");
    intel_on_http(d, &f, 2000000, &tx);
    CHECK_EQ(alerts_with("\"field\":\"http.hostname\""), 1);
    CHECK_EQ(alerts_with("\"field\":\"http.url\""), 1);
    /* the same indicator again on the same flow: no second alert */
    intel_on_http(d, &f, 2000001, &tx);
    CHECK_EQ(alerts_with("\"field\":\"http.hostname\""), 1);
    CHECK(intel_detect_stats(d)->deduplicated >= 2);
}

/* An event without a flow (an ICAP transaction): the subject names the
 * ends, and every match alerts (nothing to deduplicate on). */
static void test_http_without_a_flow(void)
{
    static struct http_tx tx;
    memset(&tx, 0, sizeof(tx));
    snprintf(tx.host, sizeof(tx.host), "www.evil.example");
    snprintf(tx.uri, sizeof(tx.uri), "/y");
    struct event_subject s = { .flow = NULL, .ip_version = 4, .server_port = 80,
                               .server_known = true };
    uint8_t *c = (uint8_t *)&s.client, *v = (uint8_t *)&s.server;
    c[0] = 10; c[3] = 7;                       /* 10.0.0.7 */
    v[0] = 203; v[1] = 0; v[2] = 113; v[3] = 9; /* 203.0.113.9 */
    int before = alerts_with("\"field\":\"http.hostname\"");
    intel_check_http(d, &s, 4000000, &tx);
    intel_check_http(d, &s, 4000001, &tx);
    CHECK_EQ(alerts_with("\"field\":\"http.hostname\""), before + 2);
    CHECK(alerts_with("\"host\":\"10.0.0.7\"") >= 0);
    CHECK_EQ(alerts_with("\"src_ip\":\"10.0.0.7\",\"dest_ip\":\"203.0.113.9\""), 2);
    /* a URL that names its server by name only: no peer address to log */
    s.server_known = false;
    memset(&s.server, 0, sizeof(s.server));
    intel_check_http(d, &s, 4000002, &tx);
    CHECK_EQ(alerts_with("\"field\":\"http.hostname\""), before + 3);
    CHECK_EQ(alerts_with("\"dest_ip\":\"0.0.0.0\""), 0);
}

static void test_smtp_addresses_and_urls(void)
{
    static struct flow f;
    flow_init(&f, 200); /* outside the listed network */
    static struct smtp_tx tx;
    static struct email_info em;
    memset(&tx, 0, sizeof(tx));
    memset(&em, 0, sizeof(em));
    snprintf(tx.mail_from, sizeof(tx.mail_from), "Attacker@Mail.Example");
    em.n_urls = 1;
    snprintf(em.urls[0], sizeof(em.urls[0]), "HTTP://EVIL.example:80/x.php");
    intel_on_smtp(d, &f, 3000000, &tx, &em);
    CHECK_EQ(alerts_with("\"field\":\"smtp.mail_from\""), 1);
    CHECK_EQ(alerts_with("\"field\":\"email.url\""), 1);
    CHECK_EQ(alerts_with("\"field\":\"email.url.host\""), 1);
}

static void test_file_hash(void)
{
    static struct flow f;
    flow_init(&f, 201);
    struct file_hashes h;
    digest3_buffer(DIGEST_ALL, "abc", 3, &h);
    intel_on_file(d, &f, 4000000, &h, "x.bin");
    CHECK_EQ(alerts_with("\"field\":\"fileinfo.sha256\""), 1);
    CHECK_EQ(alerts_with("\"indicator_type\":\"file_sha256\""), 1);
}

static void test_no_feeds_no_work(void)
{
    struct intel_detect *none = intel_detect_new(NULL);
    static struct flow f;
    flow_init(&f, 9);
    uint64_t before = 0;
    intel_on_flow_start(none, &f, 1);
    CHECK_EQ(intel_detect_stats(none)->lookups, before);
    CHECK(!f.alerted);
    intel_detect_free(none);
}

static void teardown(void)
{
    intel_detect_free(d);
    eve_close(eve);
    intel_feeds_free(feeds);
    unlink(feed);
    unlink(evef);
    rmdir(dir);
}

TEST_LIST_FIXTURE(setup, teardown, test_flow_addresses, test_http_host_and_url, test_http_without_a_flow,
                  test_smtp_addresses_and_urls, test_file_hash,
                  test_no_feeds_no_work)
