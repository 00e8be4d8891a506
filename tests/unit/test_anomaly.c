/* test_anomaly.c -- host baselines, outliers, behaviour models and
 * incidents on hand-made event sequences: robust statistics, home
 * networks, profiles and pairs with their state file, a regular beacon
 * against human browsing, a 1 GB upload against a normal day, a /24 sweep,
 * a first-time SMB connection, DGA and tunnelling lookups, a protocol on
 * the wrong port, and incidents that join hosts. */
#include <math.h>
#include <sys/stat.h>
#include <unistd.h>

#include "resident.h"
#include "testing.h"

#include "correlate/incidents.h"
#include "detect/anomaly.h"
#include "detect/baseline.h"
#include "detect/home_net.h"
#include "detect/hosts.h"
#include "eta/eta_history.h"
#include "proto/app_detect.h"
#include "proto/dns.h"

#define NEAR(a, b, eps) (fabs((double)(a) - (double)(b)) <= (eps))

/* ---- statistics -------------------------------------------------------- */

static void test_robust_statistics(void)
{
    const uint32_t v[] = { 10, 12, 11, 13, 1000, 12, 11 };
    double med, mad;
    median_mad(v, 7, &med, &mad);
    CHECK(NEAR(med, 12, 1e-9));
    CHECK(NEAR(mad, 1, 1e-9)); /* the 1000 does not move either */
    CHECK(NEAR(robust_z(12 + 1.4826 * 3, med, mad, 0), 3, 1e-9));
    /* all alike: the floor keeps one byte more from being an outlier */
    const uint32_t same[] = { 500, 500, 500, 500 };
    median_mad(same, 4, &med, &mad);
    CHECK(NEAR(mad, 0, 1e-9));
    CHECK(robust_z(501, med, mad, 0.5) < 0.01);
    CHECK(robust_z(500 * 20, med, mad, 0.5) > 6);
    median_mad(v, 0, &med, &mad);
    CHECK(med == 0 && mad == 0);
    CHECK(NEAR(ewma_alpha(1), 0.5, 1e-12));
    double x = 0, a = ewma_alpha(7);
    for (int i = 0; i < 7; i++)
        x = ewma_update((float)x, 100, a, 0);
    CHECK(NEAR(x, 50, 0.01)); /* half way after one half-life */
}

static void test_home_networks(void)
{
    struct home_net h;
    char err[256];
    CHECK(home_net_parse(&h, HOME_NET_DEFAULT, err, sizeof(err)));
    CHECK_EQ(h.n, 4);
    struct ip_addr a = { { 192, 168, 7, 9 } }, b = { { 8, 8, 8, 8 } },
                   c = { { 172, 31, 255, 1 } }, d = { { 172, 32, 0, 1 } },
                   u = { { 0xfd, 0x12 } };
    CHECK(home_net_contains(&h, 4, &a));
    CHECK(!home_net_contains(&h, 4, &b));
    CHECK(home_net_contains(&h, 4, &c));
    CHECK(!home_net_contains(&h, 4, &d));
    CHECK(home_net_contains(&h, 6, &u));
    CHECK(home_net_parse(&h, "203.0.113.7 2001:db8::/32", err, sizeof(err)));
    struct ip_addr e = { { 203, 0, 113, 7 } }, g = { { 203, 0, 113, 8 } };
    CHECK(home_net_contains(&h, 4, &e) && !home_net_contains(&h, 4, &g));
    /* an IPv4 address is its first 4 bytes, whatever follows them */
    struct ip_addr junk = { { 203, 0, 113, 7, 0xde, 0xad, 0xbe, 0xef, 9, 9 } };
    CHECK(home_net_contains(&h, 4, &junk));
    CHECK(!home_net_contains(&h, 6, &e)); /* the version is part of it */
    /* a prefix that ends in the address's second half; a /128 */
    CHECK(home_net_parse(&h, "2001:db8:0:0:1200::/72, 2001:db8::1", err, sizeof(err)));
    struct ip_addr in72 = { { 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0x12, 0x34, 9 } },
                   out72 = { { 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0x13 } },
                   one = { { 0x20, 0x01, 0x0d, 0xb8, [15] = 1 } },
                   two = { { 0x20, 0x01, 0x0d, 0xb8, [15] = 2 } };
    CHECK(home_net_contains(&h, 6, &in72) && !home_net_contains(&h, 6, &out72));
    CHECK(home_net_contains(&h, 6, &one) && !home_net_contains(&h, 6, &two));
    CHECK(!home_net_parse(&h, "10.0.0.0/33", err, sizeof(err)));
    CHECK(strstr(err, "10.0.0.0/33") != NULL);
    CHECK(!home_net_parse(&h, "intranet", err, sizeof(err)));
}

/* ---- flows ------------------------------------------------------------- */

static struct flow *flows[512];
static int n_flows;

static struct ip_addr v4(uint8_t a, uint8_t b, uint8_t c, uint8_t d)
{
    struct ip_addr x;
    memset(&x, 0, sizeof(x));
    x.b[0] = a, x.b[1] = b, x.b[2] = c, x.b[3] = d;
    return x;
}

/* A finished TCP flow client -> server:port at t seconds; answered means
 * the server's SYN-ACK was seen. */
static struct flow *tcp_flow(struct ip_addr client, struct ip_addr server,
                             uint16_t port, double t, uint64_t out, uint64_t in,
                             bool answered, uint8_t app)
{
    struct flow *f = calloc(1, sizeof(struct flow) + 32 * sizeof(struct splt_entry));
    free(flows[n_flows % 512]); /* detectors keep no flow: the slot is free */
    flows[n_flows++ % 512] = f;
    f->key.ip_version = 4;
    f->key.proto = 6;
    f->key.lo = client;
    f->key.hi = server;
    f->key.lo_port = 40000;
    f->key.hi_port = port;
    f->client_is_lo = 1;
    f->app_proto = app;
    f->first_usec = (uint64_t)(t * 1e6);
    f->last_usec = f->first_usec + 1000;
    f->dir[0].pkts = 3 + (out > 0);
    f->dir[0].syn_seen = 1;
    f->dir[0].payload_bytes = out;
    f->dir[0].payload_pkts = out ? 1 + (uint32_t)(out / 1448) : 0;
    if (answered) {
        f->dir[1].syn_seen = 1;
        f->dir[1].pkts = 2 + (in > 0);
        f->dir[1].payload_bytes = in;
        f->dir[1].payload_pkts = in ? 1 + (uint32_t)(in / 1448) : 0;
    }
    return f;
}

static void free_flows(void)
{
    for (int i = 0; i < 512; i++) {
        free(flows[i]);
        flows[i] = NULL;
    }
    n_flows = 0;
}

/* ---- a sink that remembers findings ------------------------------------- */

static struct finding seen[256];
static int n_seen;

static void sink(void *ctx, const struct finding *fd)
{
    (void)ctx;
    if (n_seen < 256)
        seen[n_seen++] = *fd;
}

static int count_kind(enum finding_kind k)
{
    int n = 0;
    for (int i = 0; i < n_seen; i++)
        n += seen[i].kind == k;
    return n;
}

static const struct finding *first_kind(enum finding_kind k)
{
    for (int i = 0; i < n_seen; i++)
        if (seen[i].kind == k)
            return &seen[i];
    return NULL;
}

static struct anomaly *new_detector(uint32_t learning)
{
    struct anomaly_config c;
    anomaly_config_defaults(&c);
    c.learning_sec = learning;
    n_seen = 0;
    return anomaly_new(&c, sink, NULL);
}

#define T0 1700000000.0
static const struct ip_addr *none;

/* A normal working day for 10.0.0.5: web fetches of a few KB to a handful
 * of remote servers, mail, DNS. */
static void normal_day(struct anomaly *a, double start, double hours)
{
    struct ip_addr me = v4(10, 0, 0, 5);
    for (double t = start; t < start + hours * 3600; t += 97) {
        uint8_t srv = (uint8_t)(1 + ((int)t / 97) % 6);
        anomaly_on_flow(a, tcp_flow(me, v4(93, 184, 216, srv), 443, t,
                                    600 + ((int)t % 7) * 100, 20000, true, APP_TLS),
                        NULL);
        if (((int)t / 97) % 10 == 0)
            anomaly_on_flow(a, tcp_flow(me, v4(10, 0, 0, 25), 587, t + 1, 3000,
                                        400, true, APP_SMTP), NULL);
    }
}

static void test_one_gigabyte_upload_vs_a_normal_day(void)
{
    struct anomaly *a = new_detector(3600);
    normal_day(a, T0, 8);
    CHECK_EQ(n_seen, 0); /* learning, then a day like the others: quiet */
    normal_day(a, T0 + 8 * 3600, 4);
    CHECK_EQ(n_seen, 0);
    /* 1 GB to a server it never used, almost nothing back */
    anomaly_on_flow(a, tcp_flow(v4(10, 0, 0, 5), v4(198, 51, 100, 77), 443,
                                T0 + 12 * 3600 + 5, 1000000000ull, 4000, true,
                                APP_TLS), NULL);
    const struct finding *x = first_kind(FINDING_exfiltration);
    CHECK(x != NULL);
    if (x) {
        CHECK(!x->anomaly);
        CHECK_EQ(x->stage, STAGE_EXFIL);
        CHECK(NEAR(x->observed, 1e9, 1));
        CHECK(x->baseline > 500 && x->baseline < 2000);
        CHECK(x->deviation > 100);
        CHECK(strstr(x->detail, "never used before") != NULL);
    }
    /* a large download is not an upload */
    n_seen = 0;
    anomaly_on_flow(a, tcp_flow(v4(10, 0, 0, 5), v4(198, 51, 100, 78), 443,
                                T0 + 12 * 3600 + 60, 2000, 1000000000ull, true,
                                APP_TLS), NULL);
    CHECK_EQ(n_seen, 0);
    anomaly_free(a);
    free_flows();
}

static void test_an_hour_far_above_that_hours_baseline(void)
{
    struct anomaly *a = new_detector(3600);
    normal_day(a, T0, 30); /* every hour of the day learned */
    CHECK_EQ(n_seen, 0);
    /* one hour: 200 uploads of 1 MB to servers it knows (no single one an
     * outlier against 1 MB transfers), and 80 new peers */
    struct ip_addr me = v4(10, 0, 0, 5);
    double t = T0 + 31 * 3600;
    for (int i = 0; i < 200; i++)
        anomaly_on_flow(a, tcp_flow(me, v4(93, 184, 216, (uint8_t)(1 + i % 6)), 443,
                                    t + i * 10, 1 << 20, 2000, true, APP_TLS), NULL);
    for (int i = 0; i < 80; i++)
        anomaly_on_flow(a, tcp_flow(me, v4(100, 64, (uint8_t)(i / 200), (uint8_t)i), 443,
                                    t + 2000 + i * 10, 500, 2000, true, APP_TLS), NULL);
    int before = count_kind(FINDING_hourly_volume) + count_kind(FINDING_fanout);
    CHECK_EQ(before, 0); /* judged when the hour ends */
    anomaly_on_flow(a, tcp_flow(me, v4(93, 184, 216, 1), 443, t + 3600 + 5, 600, 2000,
                                true, APP_TLS), NULL);
    const struct finding *x = first_kind(FINDING_hourly_volume);
    CHECK(x && x->anomaly && x->observed >= 200.0 * (1 << 20) && x->deviation > 10);
    x = first_kind(FINDING_fanout);
    CHECK(x && x->observed >= 80);
    anomaly_free(a);
    free_flows();
}

static void test_nothing_is_an_outlier_while_learning(void)
{
    struct anomaly *a = new_detector(86400);
    normal_day(a, T0, 2);
    anomaly_on_flow(a, tcp_flow(v4(10, 0, 0, 5), v4(198, 51, 100, 77), 443,
                                T0 + 7300, 1000000000ull, 4000, true, APP_TLS), NULL);
    anomaly_on_flow(a, tcp_flow(v4(10, 0, 0, 5), v4(10, 0, 0, 9), 445, T0 + 7400,
                                500, 500, true, APP_SMB), NULL);
    CHECK_EQ(n_seen, 0);
    CHECK(anomaly_stats(a)->learning_suppressed > 0);
    anomaly_free(a);
    free_flows();
}

static void test_first_time_smb_connection(void)
{
    struct anomaly *a = new_detector(3600);
    normal_day(a, T0, 2);
    struct ip_addr src = v4(10, 0, 0, 5), dst = v4(10, 0, 0, 9);
    anomaly_on_flow(a, tcp_flow(src, dst, 445, T0 + 7300, 900, 700, true, APP_SMB), NULL);
    const struct finding *x = first_kind(FINDING_lateral_movement);
    CHECK(x != NULL);
    if (x) {
        CHECK_EQ(x->severity, 2);
        CHECK(x->peer_internal);
        CHECK(strstr(x->detail, "SMB") != NULL);
    }
    /* the second time it is not new; an unanswered attempt is not movement */
    n_seen = 0;
    anomaly_on_flow(a, tcp_flow(src, dst, 445, T0 + 7400, 900, 700, true, APP_SMB), NULL);
    anomaly_on_flow(a, tcp_flow(src, v4(10, 0, 0, 10), 445, T0 + 7500, 0, 0, false, 0), NULL);
    CHECK_EQ(count_kind(FINDING_lateral_movement), 0);
    /* right after another detector named the source: higher severity */
    anomaly_note_alert(a, 4, &src, (uint64_t)((T0 + 7550) * 1e6));
    anomaly_on_flow(a, tcp_flow(src, v4(10, 0, 0, 11), 3389, T0 + 7600, 900, 700, true, 0), NULL);
    x = first_kind(FINDING_lateral_movement);
    CHECK(x && x->severity == 1 && strstr(x->detail, "RDP"));
    /* a new internal pair on an ordinary port is only an anomaly */
    n_seen = 0;
    anomaly_on_flow(a, tcp_flow(src, v4(10, 0, 0, 12), 8080, T0 + 7700, 900, 700, true,
                                APP_HTTP), NULL);
    x = first_kind(FINDING_new_pair);
    CHECK(x && x->anomaly);
    anomaly_free(a);
    free_flows();
}

/* N workers: a server whose answers another worker kept (its clients')
 * learns from its first answer, as with one pipeline -- not from its first
 * flow as a client, which would keep it learning a day longer. */
static void test_a_server_noted_elsewhere_has_learned(void)
{
    struct ip_addr server = v4(10, 0, 0, 9), peer = v4(10, 0, 0, 20);
    for (int noted = 0; noted <= 1; noted++) {
        struct anomaly *a = new_detector(3600);
        if (noted)
            anomaly_note_server(a, 4, &server, (uint64_t)(T0 * 1e6));
        normal_day(a, T0, 2);
        anomaly_on_flow(a, tcp_flow(server, peer, 8080, T0 + 7300, 900, 700, true,
                                    APP_HTTP), NULL);
        CHECK_EQ(count_kind(FINDING_new_pair), noted);
        anomaly_free(a);
        free_flows();
    }
    /* an address outside the home networks makes no profile */
    struct anomaly *a = new_detector(3600);
    struct ip_addr outside = v4(198, 51, 100, 7);
    anomaly_note_server(a, 4, &outside, (uint64_t)(T0 * 1e6));
    CHECK(hosts_get(anomaly_hosts(a), 4, &outside, (uint32_t)T0, false) == NULL);
    CHECK(hosts_get(anomaly_hosts(a), 4, &server, (uint32_t)T0, false) == NULL);
    anomaly_note_server(a, 4, &server, (uint64_t)(T0 * 1e6));
    CHECK(hosts_get(anomaly_hosts(a), 4, &server, (uint32_t)T0, false) != NULL);
    anomaly_free(a);
}

static void test_a_slash_24_sweep(void)
{
    struct anomaly *a = new_detector(3600);
    for (int i = 1; i < 255; i++)
        anomaly_on_flow(a, tcp_flow(v4(10, 0, 0, 66), v4(10, 0, 1, (uint8_t)i), 445,
                                    T0 + i * 0.05, 0, 0, i == 9, 0), NULL);
    CHECK_EQ(count_kind(FINDING_scan_horizontal), 1); /* once, not 235 times */
    const struct finding *x = first_kind(FINDING_scan_horizontal);
    CHECK(x && x->port == 445 && x->observed >= 20 && !x->anomaly);
    CHECK_EQ(count_kind(FINDING_scan_vertical), 0);
    /* many ports of one host */
    n_seen = 0;
    for (int p = 1; p <= 100; p++)
        anomaly_on_flow(a, tcp_flow(v4(10, 0, 0, 67), v4(10, 0, 2, 1), (uint16_t)p,
                                    T0 + 100 + p * 0.01, 0, 0, false, 0), NULL);
    CHECK_EQ(count_kind(FINDING_scan_vertical), 1);
    /* a client whose connections are answered and carry data is no scanner */
    n_seen = 0;
    for (int i = 1; i < 60; i++)
        anomaly_on_flow(a, tcp_flow(v4(10, 0, 0, 68), v4(10, 0, 3, (uint8_t)i), 443,
                                    T0 + 200 + i, 500, 5000, true, APP_TLS), NULL);
    CHECK_EQ(count_kind(FINDING_scan_horizontal), 0);
    anomaly_free(a);
    free_flows();
}

static void test_regular_beacon_vs_human_browsing(void)
{
    struct anomaly *a = new_detector(3600);
    struct eta_history *h = eta_history_new(1024);
    struct eta_pair_stats ps;
    /* every 300 s with a few seconds of jitter, the same size */
    for (int i = 0; i < 12; i++) {
        struct flow *f = tcp_flow(v4(10, 0, 0, 5), v4(203, 0, 113, 50), 443,
                                  T0 + 300 * i + (i % 3), 310, 1200, true, APP_TLS);
        bool have = eta_history_add(h, f, &ps, 8);
        anomaly_on_flow(a, f, have ? &ps : NULL);
    }
    CHECK_EQ(count_kind(FINDING_beaconing), 1);
    const struct finding *x = first_kind(FINDING_beaconing);
    CHECK(x && x->observed > 0.9 && strstr(x->detail, "every 30"));
    /* a person: irregular gaps, varied sizes, same server */
    n_seen = 0;
    double t = T0 + 10000;
    const double gaps[] = { 5, 140, 9, 600, 33, 2, 1300, 75, 12, 400, 61, 7, 900 };
    for (int i = 0; i < 13; i++) {
        t += gaps[i];
        struct flow *f = tcp_flow(v4(10, 0, 0, 6), v4(203, 0, 113, 51), 443, t,
                                  300 + 700 * (uint64_t)(i % 5), 50000, true, APP_TLS);
        bool have = eta_history_add(h, f, &ps, 8);
        anomaly_on_flow(a, f, have ? &ps : NULL);
    }
    CHECK_EQ(count_kind(FINDING_beaconing), 0);
    eta_history_free(h);
    anomaly_free(a);
    free_flows();
}

static void test_protocol_on_the_wrong_port(void)
{
    struct anomaly *a = new_detector(3600);
    anomaly_on_flow(a, tcp_flow(v4(10, 0, 0, 5), v4(203, 0, 113, 9), 443, T0, 300,
                                900, true, APP_HTTP), NULL);
    anomaly_on_flow(a, tcp_flow(v4(10, 0, 0, 5), v4(203, 0, 113, 9), 4444, T0 + 1, 300,
                                900, true, APP_TLS), NULL);
    anomaly_on_flow(a, tcp_flow(v4(10, 0, 0, 5), v4(203, 0, 113, 9), 443, T0 + 2, 300,
                                900, true, APP_TLS), NULL);
    anomaly_on_flow(a, tcp_flow(v4(10, 0, 0, 5), v4(203, 0, 113, 9), 443, T0 + 3, 300,
                                900, true, APP_UNKNOWN), NULL);
    CHECK_EQ(count_kind(FINDING_proto_mismatch), 3);
    CHECK(strstr(seen[0].detail, "http on TCP port 443") != NULL);
    CHECK(strstr(seen[1].detail, "TLS on TCP port 4444") != NULL);
    CHECK(strstr(seen[2].detail, "unrecognised protocol") != NULL);
    CHECK(seen[0].anomaly);
    anomaly_free(a);
    free_flows();
}

static void dns_query(struct anomaly *a, struct flow *f, const char *name,
                      uint16_t type, int rcode, double t)
{
    static struct dns_msg m;
    memset(&m, 0, sizeof(m));
    m.n_questions = 1;
    snprintf(m.q[0].name, sizeof(m.q[0].name), "%s", name);
    m.q[0].type = type;
    anomaly_on_dns(a, f, &m, (uint64_t)(t * 1e6));
    m.response = true;
    m.rcode = (uint8_t)rcode;
    anomaly_on_dns(a, f, &m, (uint64_t)((t + 0.01) * 1e6));
}

static void test_dga_and_tunnel_lookups(void)
{
    struct anomaly *a = new_detector(3600);
    struct flow *f = tcp_flow(v4(10, 0, 0, 5), v4(10, 0, 0, 53), 53, T0, 40, 80, true,
                              APP_DNS);
    /* ordinary names, some failing: nothing */
    const char *normal[] = { "www.example.com", "mail.google.com", "intranet.corp",
                             "printer.local", "cdn.jsdelivr.net", "wpad.corp" };
    for (int i = 0; i < 60; i++)
        dns_query(a, f, normal[i % 6], 1, i % 3 ? 0 : 3, T0 + i);
    CHECK_EQ(n_seen, 0);
    /* generated names that do not exist */
    const char *dga[] = { "xkqjzvbtrw.com", "qpwzrtxlmn.net", "zzkvbqwxtp.org",
                          "mvnqrtzxkw.info", "tqbzkwxvrm.biz", "wxqzvkrtbm.com",
                          "bzqxkvtwmr.net", "kqzwxvbtmr.org", "rzxqwkvbtm.com",
                          "vqkzxwbrtm.net", "pqxzwvkbtr.org" };
    for (int i = 0; i < 11; i++)
        dns_query(a, f, dga[i], 1, 3, T0 + 100 + i);
    CHECK_EQ(count_kind(FINDING_dga), 1);
    const struct finding *x = first_kind(FINDING_dga);
    CHECK(x && x->observed >= 10 && !x->anomaly);
    /* a tunnel: long random-looking labels */
    char name[128];
    for (int i = 0; i < 25; i++) {
        snprintf(name, sizeof(name), "a%08x9f3kq7zx2m4p1v8w6b5n0c7y3t2r%02d.t.evil.example",
                 i * 2654435761u, i);
        dns_query(a, f, name, 16, 0, T0 + 200 + i);
    }
    CHECK_EQ(count_kind(FINDING_dns_tunnel), 1);
    anomaly_free(a);
    free_flows();
}

/* A base32-looking label of n characters, different for each i. */
static const char *encoded(unsigned i, unsigned n)
{
    static char buf[64];
    static const char alphabet[] = "abcdefghijklmnopqrstuvwxyz234567";
    uint32_t x = 2166136261u ^ (i * 2654435761u);
    for (unsigned k = 0; k < n && k < sizeof(buf) - 1; k++) {
        x = x * 1664525u + 1013904223u;
        buf[k] = alphabet[(x >> 27) & 31];
    }
    buf[n < sizeof(buf) - 1 ? n : sizeof(buf) - 1] = '\0';
    return buf;
}

/* Tunnels with few queries: encoded first labels under one parent. */
static void test_tunnel_with_few_queries(void)
{
    struct anomaly *a = new_detector(3600);
    struct flow *f = tcp_flow(v4(10, 0, 0, 5), v4(10, 0, 0, 53), 53, T0, 40, 80, true,
                              APP_DNS);
    char name[128];
    /* 7 distinct encoded TXT names under one parent: one short */
    for (int i = 0; i < 7; i++) {
        snprintf(name, sizeof(name), "%s.tunnel.example.com", encoded(i, 14));
        dns_query(a, f, name, 16, 0, T0 + i);
    }
    /* asking the same names again brings no new data */
    for (int i = 0; i < 7; i++) {
        snprintf(name, sizeof(name), "%s.tunnel.example.com", encoded(i, 14));
        dns_query(a, f, name, 16, 0, T0 + 10 + i);
    }
    /* words, however many, are no encoding; neither are short A names */
    const char *words[] = { "www", "mail", "images", "support", "download", "account",
                            "calendar", "documents", "analytics", "marketing" };
    for (int i = 0; i < 10; i++) {
        snprintf(name, sizeof(name), "%s.example.org", words[i]);
        dns_query(a, f, name, 16, 0, T0 + 20 + i);
        snprintf(name, sizeof(name), "%s.cloudfront.net", encoded(100 + i, 14));
        dns_query(a, f, name, 1, 0, T0 + 20 + i);
    }
    CHECK_EQ(count_kind(FINDING_dns_tunnel), 0);
    /* the eighth distinct encoded TXT name */
    snprintf(name, sizeof(name), "%s.tunnel.example.com", encoded(7, 14));
    dns_query(a, f, name, 16, 0, T0 + 40);
    CHECK_EQ(count_kind(FINDING_dns_tunnel), 1);
    const struct finding *x = first_kind(FINDING_dns_tunnel);
    CHECK(x && x->observed == 8 && !x->anomaly);
    CHECK(x && strstr(x->detail, "under example.com") != NULL);
    CHECK_STR(x->indicators, "encoded_labels_txt_null_cname_mx");
    anomaly_free(a);
    free_flows();
}

/* Joins a finding; its incident's id (0: none). */
static uint64_t add_finding(struct incidents *in, struct finding *fd)
{
    incidents_add(in, fd);
    return fd->incident_id;
}

/* ---- profiles, pairs and the state file -------------------------------- */

static void test_profiles_pairs_and_eviction(void)
{
    struct hosts *h = hosts_new(8, 8); /* one set of eight hosts */
    struct ip_addr x;
    for (int i = 0; i < 9; i++) {
        x = v4(10, 0, 0, (uint8_t)(i + 1));
        CHECK(hosts_get(h, 4, &x, 1000 + (uint32_t)i, true) != NULL);
    }
    CHECK_EQ(hosts_count(h), 8);
    CHECK_EQ(hosts_stats(h)->hosts_evicted, 1);
    x = v4(10, 0, 0, 1); /* the least recently seen went */
    CHECK(hosts_get(h, 4, &x, 2000, false) == NULL);
    struct host_profile *p = hosts_get(h, 4, &x, 2000, true);
    CHECK_EQ(host_service_touch(p->used, HOST_SERVICES_USED, 443, 6, APP_TLS), 0);
    CHECK_EQ(host_service_touch(p->used, HOST_SERVICES_USED, 443, 6, APP_TLS), 1);
    CHECK_EQ(host_service_touch(p->used, HOST_SERVICES_USED, 443, 17, APP_QUIC), 0);
    bool was_new;
    struct ip_addr s = v4(8, 8, 8, 8);
    pairs_touch(h, 4, &x, &s, 53, 17, 2000, &was_new);
    CHECK(was_new);
    pairs_touch(h, 4, &x, &s, 53, 17, 2001, &was_new);
    CHECK(!was_new);
    pairs_touch(h, 4, &x, &s, 853, 6, 2002, &was_new);
    CHECK(was_new);
    /* hour counters roll into the hour-of-day EWMAs */
    p->hour_conns = 10;
    p->hour_bytes_out = 5000;
    host_roll_hours(p, 2000 + 3600, 7);
    int b = (int)((2000 / 3600) % 24);
    CHECK(NEAR(p->conns[b], 10, 1e-6));
    CHECK(NEAR(p->bytes_out[b], 5000, 1e-3));
    CHECK_EQ(p->hour_conns, 0);
    hosts_free(h);
}

static void test_state_file_round_trip_and_damage(void)
{
    char dir[] = "/tmp/nj-state-XXXXXX";
    REQUIRE(mkdtemp(dir) != NULL);
    struct hosts *h = hosts_new(64, 256);
    hosts_set_epoch(h, 12345);
    struct ip_addr a = v4(10, 1, 2, 3), s = v4(1, 1, 1, 1);
    struct host_profile *p = hosts_get(h, 4, &a, 5000, true);
    p->out_n = 3;
    p->out_bytes[2] = 777;
    host_service_touch(p->offered, HOST_SERVICES_OFFERED, 22, 6, APP_SSH);
    bool was_new;
    pairs_touch(h, 4, &a, &s, 443, 6, 5000, &was_new);
    char err[512] = "";
    CHECK(hosts_save(h, dir, err, sizeof(err)));
    /* a crash while writing leaves a .new file behind: the state is intact */
    char junk[600];
    snprintf(junk, sizeof(junk), "%s/baseline.state.new", dir);
    FILE *fp = fopen(junk, "w");
    fputs("half a file", fp);
    fclose(fp);
    struct hosts *h2 = hosts_new(16, 64); /* another size: entries re-inserted */
    CHECK(hosts_load(h2, dir, err, sizeof(err)));
    CHECK_EQ(hosts_epoch(h2), 12345);
    struct host_profile *q = hosts_get(h2, 4, &a, 6000, false);
    CHECK(q && q->out_n == 3 && q->out_bytes[2] == 777 && q->offered[0].port == 22);
    pairs_touch(h2, 4, &a, &s, 443, 6, 6000, &was_new);
    CHECK(!was_new);
    CHECK_EQ(hosts_stats(h2)->loaded_hosts, 1);
    /* a damaged file is refused with a message */
    char path[600];
    snprintf(path, sizeof(path), "%s/baseline.state", dir);
    fp = fopen(path, "r+b");
    fseek(fp, 40, SEEK_SET);
    fputc(0x5a, fp);
    fclose(fp);
    struct hosts *h3 = hosts_new(16, 64);
    CHECK(!hosts_load(h3, dir, err, sizeof(err)));
    CHECK(strstr(err, "damaged") != NULL);
    /* no file: a first start */
    unlink(path);
    CHECK(hosts_load(h3, dir, err, sizeof(err)));
    unlink(junk);
    rmdir(dir);
    hosts_free(h);
    hosts_free(h2);
    hosts_free(h3);
}

/* A sensor's profile table is sized for every host it may meet (~730
 * bytes a profile) and holds a few: looking a new host up and saving the
 * state read the slots' tags, not the profiles' pages. */
static void test_a_sparse_profile_table_is_read_where_used(void)
{
    char dir[] = "/tmp/nj-state-XXXXXX";
    REQUIRE(mkdtemp(dir) != NULL);
    struct hosts *h = hosts_new(65536, 4); /* 47 MB of profiles */
    REQUIRE(h);
    long before = resident_kb();
    for (int i = 0; i < 500; i++) {
        struct ip_addr a = v4(10, 9, (uint8_t)(i >> 8), (uint8_t)i);
        CHECK(hosts_get(h, 4, &a, 1000, false) == NULL);
        REQUIRE(hosts_get(h, 4, &a, 1000, true) != NULL);
    }
    char err[512] = "";
    CHECK(hosts_save(h, dir, err, sizeof(err)));
    /* ~1 page a new profile, 256 KiB of tags; reading every profile: 47 MB */
    CHECK(TESTS_UNDER_ASAN || resident_kb() - before < 6 * 1024);
    struct hosts *h2 = hosts_new(1024, 4);
    CHECK(hosts_load(h2, dir, err, sizeof(err)));
    CHECK_EQ(hosts_count(h2), 500);
    char path[600];
    snprintf(path, sizeof(path), "%s/baseline.state", dir);
    unlink(path);
    rmdir(dir);
    hosts_free(h);
    hosts_free(h2);
}

/* ---- incidents ----------------------------------------------------------- */

static struct finding make(enum finding_kind k, struct ip_addr host, double t,
                           bool anomaly)
{
    struct finding fd;
    memset(&fd, 0, sizeof(fd));
    fd.kind = k;
    fd.stage = finding_kind_stage[k];
    fd.anomaly = anomaly;
    fd.severity = anomaly ? 3 : 2;
    fd.ip_version = 4;
    fd.host = host;
    fd.ts_usec = (uint64_t)(t * 1e6);
    fd.observed = fd.baseline = fd.deviation = NAN;
    return fd;
}

static void test_incidents_connect_the_dots(void)
{
    struct incidents *in = incidents_new(16, 3600, NULL, NULL);
    struct ip_addr a = v4(10, 0, 0, 5), b = v4(10, 0, 0, 9), c = v4(10, 0, 0, 77);
    /* an outlier alone opens nothing */
    struct finding fd = make(FINDING_new_port, c, T0, true);
    CHECK_EQ(add_finding(in, &fd), 0);
    CHECK(incidents_find(in, 4, &c) == NULL);
    /* a scan opens an incident: low */
    fd = make(FINDING_scan_horizontal, a, T0 + 10, false);
    uint64_t id = add_finding(in, &fd);
    CHECK(id != 0);
    const struct incident *inc = incidents_find(in, 4, &a);
    CHECK(inc && inc->level == LEVEL_LOW && inc->score == 20);
    /* a second scan adds nothing to the score */
    fd = make(FINDING_scan_horizontal, a, T0 + 20, false);
    add_finding(in, &fd);
    CHECK_EQ(inc->score, 20);
    /* A moves to B: B joins A's incident */
    fd = make(FINDING_lateral_movement, a, T0 + 30, false);
    fd.peer = b;
    fd.has_peer = true;
    CHECK_EQ(add_finding(in, &fd), id);
    CHECK(incidents_find(in, 4, &b) == inc);
    CHECK_EQ(inc->level, LEVEL_MEDIUM);
    /* then B beacons out: the same incident, now high */
    fd = make(FINDING_beaconing, b, T0 + 40, false);
    CHECK_EQ(add_finding(in, &fd), id);
    CHECK_EQ(inc->level, LEVEL_HIGH);
    CHECK(inc->stages & (1u << STAGE_RECON));
    CHECK(inc->stages & (1u << STAGE_LATERAL));
    CHECK(inc->stages & (1u << STAGE_C2));
    CHECK_EQ(inc->n_hosts, 2);
    CHECK_EQ(incidents_stats(in)->opened, 1);
    CHECK(incidents_stats(in)->escalated >= 2);
    /* one kind of evidence, however strong, is not high */
    struct ip_addr d = v4(10, 0, 0, 88);
    fd = make(FINDING_intel, d, T0 + 50, false);
    add_finding(in, &fd);
    fd = make(FINDING_new_pair, d, T0 + 51, true);
    add_finding(in, &fd);
    CHECK(incidents_find(in, 4, &d)->level == LEVEL_MEDIUM);
    /* quiet for longer than the timeout: closed */
    incidents_tick(in, (uint64_t)((T0 + 51 + 3601) * 1e6));
    CHECK(incidents_find(in, 4, &a) == NULL);
    CHECK(incidents_find(in, 4, &d) == NULL);
    CHECK_EQ(incidents_stats(in)->closed, 2);
    incidents_free(in);
}

static void test_incident_table_is_bounded(void)
{
    struct incidents *in = incidents_new(2, 3600, NULL, NULL);
    for (int i = 0; i < 5; i++) {
        struct finding fd = make(FINDING_intel, v4(10, 9, 0, (uint8_t)i), T0 + i, false);
        CHECK(add_finding(in, &fd) != 0);
    }
    CHECK_EQ(incidents_stats(in)->closed_early, 3);
    incidents_close_all(in, (uint64_t)(T0 * 1e6) + 100);
    CHECK_EQ(incidents_stats(in)->closed, 5);
    (void)none;
    incidents_free(in);
}

TEST_LIST(test_robust_statistics, test_home_networks,
          test_a_server_noted_elsewhere_has_learned,
          test_one_gigabyte_upload_vs_a_normal_day,
          test_an_hour_far_above_that_hours_baseline,
          test_nothing_is_an_outlier_while_learning, test_first_time_smb_connection,
          test_a_slash_24_sweep, test_regular_beacon_vs_human_browsing,
          test_protocol_on_the_wrong_port, test_dga_and_tunnel_lookups,
          test_tunnel_with_few_queries,
          test_profiles_pairs_and_eviction, test_state_file_round_trip_and_damage,
          test_a_sparse_profile_table_is_read_where_used,
          test_incidents_connect_the_dots, test_incident_table_is_bounded)
