/* test_contain.c -- the response's decisions, read back from a real EVE
 * file: a host of a high incident inside anomaly.home-nets is contained
 * once while its element lives (dry-run: the event says what would be run,
 * nothing reaches nftables), a host outside the home nets never and an
 * allowlisted one never (skip-allowlisted, once per incident); the
 * would-be element expires in traffic time (a release) and the host can be
 * contained again; a host joining a high incident is contained too. With
 * dry-run off, nftables is replaced by a runner that fails: the contain
 * event carries the error and the command, the host is not held, and a
 * setup that fails stops the sensor from starting. The real nftables path
 * runs in tests/e2e/containment.sh. And the settings' checks. */
#include <jansson.h>
#include <math.h>
#include <unistd.h>

#include "config/config.h"
#include "correlate/incidents.h"
#include "response/contain.h"
#include "output/eve_finding.h"
#include "output/sink.h"
#include "testing.h"

#define T0 1700000000.0

static char dir[64], path[128];
static struct eve *eve;
static struct contain *ct;
static struct incidents *in;
static struct home_net home;
static int test_no;

static struct ip_addr v4(uint8_t a, uint8_t b, uint8_t c, uint8_t d)
{
    struct ip_addr x;
    memset(&x, 0, sizeof(x));
    x.b[0] = a, x.b[1] = b, x.b[2] = c, x.b[3] = d;
    return x;
}

static uint64_t usec(double t) { return (uint64_t)(t * 1e6); }

static void setup(void)
{
    snprintf(dir, sizeof(dir), "/tmp/nj-contain-XXXXXX");
    CHECK(mkdtemp(dir) != NULL);
    char err[256];
    CHECK(home_net_parse(&home, "10.0.0.0/8,fd00::/8", err, sizeof(err)));
}

static void teardown(void) { rmdir(dir); }

static void settings(struct response_settings *rs, bool dry_run,
                     const char *allow)
{
    struct nj_config cfg;
    config_defaults(&cfg);
    *rs = cfg.response;
    snprintf(rs->contain, sizeof(rs->contain), "nftables");
    rs->dry_run = dry_run;
    rs->timeout = 60;
    snprintf(rs->allowlist, sizeof(rs->allowlist), "%s", allow);
}

/* A fresh EVE file, a containment (runner NULL: dry-run only), and a
 * correlator that tells it of high incidents. */
static bool start(bool dry_run, const char *allow,
                  const struct contain_runner *runner)
{
    snprintf(path, sizeof(path), "%s/eve-%d.json", dir, ++test_no);
    struct sink_config sc;
    sink_config_file(&sc, path);
    eve = eve_open(&sc);
    struct response_settings rs;
    settings(&rs, dry_run, allow);
    char err[512];
    ct = contain_new(&rs, &home, eve, runner, err, sizeof(err));
    if (!ct)
        printf("  contain_new: %s\n", err);
    in = incidents_new(16, 3600, NULL, NULL);
    if (in && ct)
        incidents_set_observer(in, contain_on_incident, ct);
    return eve && ct && in;
}

static void stop(void)
{
    incidents_free(in);
    contain_free(ct);
    eve_close(eve);
    unlink(path);
    in = NULL, ct = NULL, eve = NULL;
}

/* A finding about host at t: strong (alone makes the incident high) or not. */
static uint64_t finding(enum finding_kind k, struct ip_addr host, double t,
                        bool strong)
{
    struct finding fd;
    memset(&fd, 0, sizeof(fd));
    fd.kind = k;
    fd.stage = finding_kind_stage[k];
    fd.strong = strong;
    fd.severity = strong ? 1 : 2;
    fd.ip_version = 4;
    fd.host = host;
    fd.ts_usec = usec(t);
    fd.observed = fd.baseline = fd.deviation = NAN;
    snprintf(fd.detail, sizeof(fd.detail), "%s evidence", finding_kind_names[k]);
    struct incident_change ch = incidents_add(in, &fd);
    if (eve)
        eve_write_correlated(eve, &fd, &ch, 0);
    return fd.incident_id;
}

/* Host a moves laterally to b: b joins a's incident. */
static void lateral(struct ip_addr a, struct ip_addr b, double t)
{
    struct finding fd;
    memset(&fd, 0, sizeof(fd));
    fd.kind = FINDING_lateral_movement;
    fd.stage = finding_kind_stage[fd.kind];
    fd.severity = 2;
    fd.ip_version = 4;
    fd.host = a;
    fd.peer = b;
    fd.has_peer = true;
    fd.ts_usec = usec(t);
    fd.observed = fd.baseline = fd.deviation = NAN;
    snprintf(fd.detail, sizeof(fd.detail), "lateral");
    struct incident_change ch = incidents_add(in, &fd);
    if (eve)
        eve_write_correlated(eve, &fd, &ch, 0);
}

/* The response events written so far, in order. */
static json_t *responses(void)
{
    eve_flush(eve);
    json_t *all = json_array();
    FILE *fp = fopen(path, "r");
    char line[16384];
    while (fp && fgets(line, sizeof(line), fp)) {
        json_t *r = json_loads(line, 0, NULL);
        CHECK(r != NULL);
        const char *type = json_string_value(json_object_get(r, "event_type"));
        json_t *resp = json_object_get(r, "response");
        if (type && !strcmp(type, "response") && resp) {
            json_object_set(resp, "timestamp", json_object_get(r, "timestamp"));
            json_array_append(all, resp);
        }
        json_decref(r);
    }
    if (fp)
        fclose(fp);
    return all;
}

static const char *s_at(json_t *all, size_t i, const char *k)
{
    const char *s = json_string_value(json_object_get(json_array_get(all, i), k));
    return s ? s : "";
}

static long long n_at(json_t *all, size_t i, const char *k)
{
    return json_integer_value(json_object_get(json_array_get(all, i), k));
}

static bool b_at(json_t *all, size_t i, const char *k)
{
    return json_is_true(json_object_get(json_array_get(all, i), k));
}

static void dry_run_contains_once_and_says_what_it_would_run(void)
{
    REQUIRE(start(true, "", NULL));
    struct ip_addr h = v4(10, 0, 0, 23);
    uint64_t id = finding(FINDING_delivery, h, T0, true);
    CHECK(id != 0);
    CHECK(contain_holds(ct, 4, &h));
    json_t *r = responses();
    CHECK_EQ(json_array_size(r), 1);
    CHECK_STR(s_at(r, 0, "action"), "dry-run");
    CHECK_STR(s_at(r, 0, "host"), "10.0.0.23");
    CHECK_EQ(n_at(r, 0, "incident_id"), id);
    CHECK_STR(s_at(r, 0, "family"), "inet");
    CHECK_STR(s_at(r, 0, "table"), "nightjar");
    CHECK_STR(s_at(r, 0, "set"), "contained4");
    CHECK_EQ(n_at(r, 0, "timeout"), 60);
    CHECK(b_at(r, 0, "dry_run"));
    CHECK(b_at(r, 0, "success"));
    CHECK_STR(s_at(r, 0, "command"),
              "add element inet nightjar contained4 { 10.0.0.23 timeout 60s }");
    CHECK_STR(s_at(r, 0, "timestamp"), "2023-11-14T22:13:20.000000+0000");
    CHECK_STR(s_at(r, 0, "expires"), "2023-11-14T22:14:20.000000+0000");
    json_decref(r);
    CHECK_EQ(contain_stats(ct)->contained, 1);
    stop();
}

static void a_host_is_contained_once_while_its_element_lives(void)
{
    REQUIRE(start(true, "", NULL));
    struct ip_addr h = v4(10, 0, 0, 23);
    finding(FINDING_delivery, h, T0, true);
    incidents_close_all(in, usec(T0 + 1));
    /* a second incident, high again, 30 s later: the element still lives */
    uint64_t second = finding(FINDING_c2_channel, h, T0 + 30, true);
    CHECK(second != 0);
    contain_poll(ct, usec(T0 + 59));
    json_t *r = responses();
    CHECK_EQ(json_array_size(r), 1);
    json_decref(r);
    CHECK_EQ(contain_stats(ct)->already, 1);
    /* traffic time passes the timeout: released, and containable again */
    contain_poll(ct, usec(T0 + 60));
    CHECK(!contain_holds(ct, 4, &h));
    incidents_close_all(in, usec(T0 + 61));
    uint64_t third = finding(FINDING_icmp_tunnel, h, T0 + 70, true);
    r = responses();
    REQUIRE(json_array_size(r) == 3);
    CHECK_STR(s_at(r, 1, "action"), "release");
    CHECK_STR(s_at(r, 1, "reason"), "timeout");
    CHECK(b_at(r, 1, "dry_run"));
    CHECK_STR(s_at(r, 1, "timestamp"), "2023-11-14T22:14:20.000000+0000");
    CHECK_STR(s_at(r, 2, "action"), "dry-run");
    CHECK_EQ(n_at(r, 2, "incident_id"), third);
    json_decref(r);
    CHECK_EQ(contain_stats(ct)->released, 1);
    CHECK_EQ(contain_stats(ct)->contained, 2);
    stop();
}

static void hosts_outside_the_home_nets_are_never_contained(void)
{
    REQUIRE(start(true, "", NULL));
    struct ip_addr out = v4(198, 51, 100, 9);
    CHECK(finding(FINDING_delivery, out, T0, true) != 0);
    CHECK(!contain_holds(ct, 4, &out));
    json_t *r = responses();
    CHECK_EQ(json_array_size(r), 0);
    json_decref(r);
    CHECK_EQ(contain_stats(ct)->outside, 1);
    CHECK_EQ(contain_stats(ct)->contained, 0);
    stop();
}

static void allowlisted_hosts_are_skipped_once_per_incident(void)
{
    REQUIRE(start(true, "10.0.5.0/24, 10.9.9.9", NULL));
    struct ip_addr a = v4(10, 0, 5, 7), b = v4(10, 9, 9, 9), c = v4(10, 0, 0, 31);
    uint64_t id = finding(FINDING_delivery, a, T0, true);
    /* the incident is high already: b and then c join it */
    lateral(a, b, T0 + 1);
    lateral(a, c, T0 + 2);
    CHECK(!contain_holds(ct, 4, &a));
    CHECK(!contain_holds(ct, 4, &b));
    CHECK(contain_holds(ct, 4, &c));
    json_t *r = responses();
    REQUIRE(json_array_size(r) == 3);
    CHECK_STR(s_at(r, 0, "action"), "skip-allowlisted");
    CHECK_STR(s_at(r, 0, "host"), "10.0.5.7");
    CHECK_EQ(n_at(r, 0, "incident_id"), id);
    CHECK(b_at(r, 0, "success"));
    CHECK_STR(s_at(r, 0, "command"), "");
    CHECK_STR(s_at(r, 1, "action"), "skip-allowlisted");
    CHECK_STR(s_at(r, 1, "host"), "10.9.9.9");
    CHECK_STR(s_at(r, 2, "action"), "dry-run");
    CHECK_STR(s_at(r, 2, "host"), "10.0.0.31");
    CHECK_EQ(n_at(r, 2, "incident_id"), id);
    json_decref(r);
    CHECK_EQ(contain_stats(ct)->allowlisted, 2);
    stop();
}

static void nothing_happens_before_an_incident_is_high(void)
{
    REQUIRE(start(true, "", NULL));
    struct ip_addr h = v4(10, 0, 0, 23);
    finding(FINDING_scan_horizontal, h, T0, false);   /* 20: low */
    finding(FINDING_beaconing, h, T0 + 1, false);     /* 50: medium */
    CHECK(!contain_holds(ct, 4, &h));
    finding(FINDING_dga, h, T0 + 2, false);           /* 75, three detectors: high */
    CHECK(contain_holds(ct, 4, &h));
    json_t *r = responses();
    CHECK_EQ(json_array_size(r), 1);
    json_decref(r);
    stop();
}

/* nftables, replaced: setup succeeds, every "add element" fails */
struct fake {
    int setups, adds;
    char last[256];
    bool fail_setup;
};

static int fake_run(void *ctx, const char *cmds, bool json, const char **out,
                    char *err, size_t errlen)
{
    struct fake *f = ctx;
    (void)json;
    if (out)
        *out = "";
    if (!strncmp(cmds, "add table ", 10)) {
        f->setups++;
        if (f->fail_setup) {
            snprintf(err, errlen, "Could not process rule: Operation not permitted");
            return -1;
        }
        return 0;
    }
    if (!strncmp(cmds, "add element ", 12)) {
        f->adds++;
        snprintf(f->last, sizeof(f->last), "%s", cmds);
        snprintf(err, errlen, "Could not process rule: No buffer space available");
        return -1;
    }
    return 0;
}

static void a_failed_add_is_an_error_event_and_the_host_stays_free(void)
{
    static struct fake f;
    memset(&f, 0, sizeof(f));
    const struct contain_runner runner = { fake_run, &f };
    REQUIRE(start(false, "", &runner));
    CHECK_EQ(f.setups, 1);
    struct ip_addr h = v4(10, 0, 0, 23);
    uint64_t id = finding(FINDING_delivery, h, T0, true);
    contain_finish(ct, usec(T0 + 1)); /* the worker's queue done, its events written */
    CHECK_EQ(f.adds, 2);              /* once more after setting up again */
    CHECK_EQ(f.setups, 2);
    CHECK_STR(f.last, "add element inet nightjar contained4 { 10.0.0.23 timeout 60s }");
    CHECK(!contain_holds(ct, 4, &h));
    json_t *r = responses();
    REQUIRE(json_array_size(r) == 1);
    CHECK_STR(s_at(r, 0, "action"), "contain");
    CHECK(!b_at(r, 0, "success"));
    CHECK(!b_at(r, 0, "dry_run"));
    CHECK_STR(s_at(r, 0, "error"), "Could not process rule: No buffer space available");
    CHECK_STR(s_at(r, 0, "command"), f.last);
    CHECK_EQ(n_at(r, 0, "incident_id"), id);
    CHECK_STR(s_at(r, 0, "expires"), "");
    json_decref(r);
    CHECK_EQ(contain_stats(ct)->errors, 1);
    CHECK_EQ(contain_stats(ct)->contained, 0);
    stop();
}

static void a_setup_that_fails_stops_the_start(void)
{
    static struct fake f;
    memset(&f, 0, sizeof(f));
    f.fail_setup = true;
    const struct contain_runner runner = { fake_run, &f };
    struct response_settings rs;
    settings(&rs, false, "");
    char err[512] = "";
    struct contain *c = contain_new(&rs, &home, NULL, &runner, err, sizeof(err));
    CHECK(c == NULL);
    contain_free(c);
    CHECK(strstr(err, "cannot set up table inet nightjar") != NULL);
    CHECK(strstr(err, "Operation not permitted") != NULL);
}

static void an_ipv6_host_needs_a_family_with_its_set(void)
{
    snprintf(path, sizeof(path), "%s/eve-%d.json", dir, ++test_no);
    struct sink_config sc;
    sink_config_file(&sc, path);
    eve = eve_open(&sc);
    REQUIRE(eve != NULL);
    struct response_settings rs;
    settings(&rs, true, "");
    snprintf(rs.nft_family, sizeof(rs.nft_family), "ip");
    char err[512];
    ct = contain_new(&rs, &home, eve, NULL, err, sizeof(err));
    REQUIRE(ct != NULL);
    struct incident inc;
    memset(&inc, 0, sizeof(inc));
    inc.id = 7;
    inc.level = LEVEL_HIGH;
    inc.n_hosts = 2;
    inc.hosts[0].v = 6;
    inc.hosts[0].addr.b[0] = 0xfd, inc.hosts[0].addr.b[15] = 0x23;
    inc.hosts[1].v = 4;
    inc.hosts[1].addr = v4(10, 0, 0, 9);
    contain_on_incident(ct, &inc, INCIDENT_HIGH, usec(T0));
    json_t *r = responses();
    REQUIRE(json_array_size(r) == 2);
    CHECK_STR(s_at(r, 0, "host"), "fd00::23");
    CHECK_STR(s_at(r, 0, "action"), "contain");
    CHECK(!b_at(r, 0, "success"));
    CHECK_STR(s_at(r, 0, "error"), "response.nftables.family ip has no set for IPv6 hosts");
    CHECK_STR(s_at(r, 1, "host"), "10.0.0.9");
    CHECK_STR(s_at(r, 1, "action"), "dry-run");
    json_decref(r);
    /* the incident closes, then its id is told again: considered afresh,
     * and the IPv4 host is contained already */
    contain_on_incident(ct, &inc, INCIDENT_CLOSED, usec(T0 + 1));
    contain_on_incident(ct, &inc, INCIDENT_HIGH, usec(T0 + 2));
    CHECK_EQ(contain_stats(ct)->already, 1);
    CHECK_EQ(contain_stats(ct)->errors, 2);
    contain_free(ct);
    ct = NULL;
    eve_close(eve);
    eve = NULL;
    unlink(path);
}

struct heard {
    int high, closed;
    uint8_t hosts_at_high[4];
};

static void listen(void *ctx, const struct incident *inc, enum incident_event ev,
                   uint64_t ts)
{
    struct heard *h = ctx;
    (void)ts;
    if (ev == INCIDENT_HIGH && h->high < 4)
        h->hosts_at_high[h->high++] = inc->n_hosts;
    else if (ev == INCIDENT_CLOSED)
        h->closed++;
}

/* The correlator's observer: high once, again when a host joins, closed. */
static void the_correlator_tells_of_high_and_closed_incidents(void)
{
    static struct heard h;
    memset(&h, 0, sizeof(h));
    in = incidents_new(16, 3600, NULL, 0);
    REQUIRE(in != NULL);
    incidents_set_observer(in, listen, &h);
    struct ip_addr a = v4(10, 0, 0, 23), b = v4(10, 0, 0, 24), c = v4(10, 0, 0, 25);
    finding(FINDING_beaconing, a, T0, false);
    CHECK_EQ(h.high, 0);
    finding(FINDING_delivery, a, T0 + 1, true);
    CHECK_EQ(h.high, 1);
    finding(FINDING_dga, a, T0 + 2, false);       /* nothing new for the response */
    CHECK_EQ(h.high, 1);
    lateral(a, b, T0 + 3);
    CHECK_EQ(h.high, 2);
    CHECK_EQ(h.hosts_at_high[1], 2);
    finding(FINDING_delivery, c, T0 + 4, false);  /* another incident, not high */
    CHECK_EQ(h.closed, 0);
    incidents_close_all(in, usec(T0 + 5));
    CHECK_EQ(h.closed, 2);
    CHECK_EQ(h.high, 2);
    incidents_free(in);
    in = NULL;
}

static void response_settings_are_checked(void)
{
    static const char *const bad[][2] = {
        { "response.contain", "iptables" },
        { "response.nftables.family", "bridge" },
        { "response.nftables.table", "x; flush ruleset" },
        { "response.nftables.table", "" },
        { "response.nftables.set4", "4set" },
        { "response.nftables.set6", "contained4" },
        { "response.timeout", "0" },
        { "response.timeout", "604801" },
    };
    char err[512];
    struct nj_config cfg;
    config_defaults(&cfg);
    CHECK(config_validate(&cfg, err, sizeof(err)));
    CHECK_STR(cfg.response.contain, "none");
    CHECK(cfg.response.dry_run);
    CHECK_EQ(cfg.response.timeout, 3600);
    CHECK_STR(cfg.response.nft_family, "inet");
    CHECK_STR(cfg.response.nft_table, "nightjar");
    CHECK_STR(cfg.response.nft_set4, "contained4");
    CHECK_STR(cfg.response.nft_set6, "contained6");
    CHECK_STR(cfg.response.allowlist, "");
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        config_defaults(&cfg);
        CHECK(config_set(&cfg, bad[i][0], bad[i][1], err, sizeof(err)));
        bool ok = config_validate(&cfg, err, sizeof(err));
        if (ok)
            printf("  %s=%s was accepted\n", bad[i][0], bad[i][1]);
        CHECK(!ok);
        CHECK(strstr(err, bad[i][0]) != NULL || strstr(err, "set4 and set6") != NULL);
    }
    config_defaults(&cfg);
    CHECK(config_set(&cfg, "response.contain", "nftables", err, sizeof(err)));
    CHECK(config_set(&cfg, "response.nftables.table", "fw-main_2.x", err, sizeof(err)));
    CHECK(config_validate(&cfg, err, sizeof(err)));
    /* a bad allowlist stops the start, naming the setting */
    struct response_settings rs;
    settings(&rs, true, "10.0.0.0/33");
    CHECK(contain_new(&rs, &home, NULL, NULL, err, sizeof(err)) == NULL);
    CHECK(strstr(err, "response.allowlist") != NULL);
}

TEST_LIST_FIXTURE(setup, teardown,
                  dry_run_contains_once_and_says_what_it_would_run,
                  a_host_is_contained_once_while_its_element_lives,
                  hosts_outside_the_home_nets_are_never_contained,
                  allowlisted_hosts_are_skipped_once_per_incident,
                  nothing_happens_before_an_incident_is_high,
                  a_failed_add_is_an_error_event_and_the_host_stays_free,
                  a_setup_that_fails_stops_the_start,
                  an_ipv6_host_needs_a_family_with_its_set,
                  the_correlator_tells_of_high_and_closed_incidents,
                  response_settings_are_checked)
