/* test_proxy.c -- the client a proxied request speaks for: X-Forwarded-For
 * and Forwarded values parsed into hop chains (proto/forwarded.c), the
 * rightmost hop that is no trusted proxy taken as the client, headers from
 * untrusted clients ignored (detect/proxy.c), the HTTP parser joining
 * repeated header lines, and which flows a decrypted feed covers. */
#include <arpa/inet.h>

#include "detect/proxy.h"
#include "flow/flow.h"
#include "flow/flow_table.h"
#include "proto/forwarded.h"
#include "proto/http.h"
#include "testing.h"

static struct ip_addr ip(const char *s)
{
    struct ip_addr a;
    memset(&a, 0, sizeof(a));
    if (inet_pton(AF_INET, s, a.b) != 1)
        inet_pton(AF_INET6, s, a.b);
    return a;
}

static const char *hop_str(const struct fwd_chain *c, int i)
{
    static char buf[4][64];
    if (i >= c->n)
        return "(none)";
    if (c->hop[i].kind != FWD_HOP_ADDR)
        return "hidden";
    return ip_addr_str(&c->hop[i].addr, c->hop[i].v, buf[i & 3], sizeof(buf[0]));
}

static void xff(const char *s, struct fwd_chain *c) { fwd_parse_xff(s, strlen(s), c); }
static void fwd(const char *s, struct fwd_chain *c) { fwd_parse_forwarded(s, strlen(s), c); }

static void test_xff_lists_addresses_left_to_right(void)
{
    struct fwd_chain c;
    xff(" 203.0.113.7 ,10.0.0.5, 2001:db8::1", &c);
    CHECK_EQ(c.n, 3);
    CHECK_STR(hop_str(&c, 0), "203.0.113.7");
    CHECK_STR(hop_str(&c, 1), "10.0.0.5");
    CHECK_STR(hop_str(&c, 2), "2001:db8::1");
    CHECK_EQ(c.hop[2].v, 6);
    CHECK(!c.over_cap);
}

static void test_xff_ports_brackets_unknown_and_garbage(void)
{
    struct fwd_chain c;
    xff("198.51.100.9:4711, [2001:db8::2]:443, [2001:db8::3], unknown, ,"
        " not-an-ip, 10.0.0.300", &c);
    CHECK_EQ(c.n, 6); /* the empty entry is no hop */
    CHECK_STR(hop_str(&c, 0), "198.51.100.9");
    CHECK_STR(hop_str(&c, 1), "2001:db8::2");
    CHECK_STR(hop_str(&c, 2), "2001:db8::3");
    CHECK_STR(hop_str(&c, 3), "hidden");
    CHECK_STR(hop_str(&c, 4), "hidden");
    CHECK_STR(hop_str(&c, 5), "hidden");
    xff("", &c);
    CHECK_EQ(c.n, 0);
}

static void test_forwarded_for_quoted_ipv6_obfuscated_and_missing(void)
{
    struct fwd_chain c;
    fwd("for=192.0.2.60;proto=http;by=203.0.113.43, For=\"[2001:db8:cafe::17]:4711\","
        " for=_hidden, for=unknown, proto=https, for=\"198.51.100.17:80\"", &c);
    CHECK_EQ(c.n, 6);
    CHECK_STR(hop_str(&c, 0), "192.0.2.60");
    CHECK_STR(hop_str(&c, 1), "2001:db8:cafe::17");
    CHECK_STR(hop_str(&c, 2), "hidden"); /* obfuscated identifier */
    CHECK_STR(hop_str(&c, 3), "hidden"); /* unknown */
    CHECK_STR(hop_str(&c, 4), "hidden"); /* an element without for= */
    CHECK_STR(hop_str(&c, 5), "198.51.100.17");
}

static void test_forwarded_quotes_hide_separators(void)
{
    struct fwd_chain c;
    /* a comma and a semicolon inside a quoted value split nothing */
    fwd("by=\"a,b;c\";for=192.0.2.1, for=192.0.2.2;host=\"x,y\"", &c);
    CHECK_EQ(c.n, 2);
    CHECK_STR(hop_str(&c, 0), "192.0.2.1");
    CHECK_STR(hop_str(&c, 1), "192.0.2.2");
    /* an unterminated quote ends at the end of the value, not beyond */
    fwd("for=\"[2001:db8::9", &c);
    CHECK_EQ(c.n, 1);
    CHECK_STR(hop_str(&c, 0), "hidden");
}

static void test_chain_over_cap_keeps_the_rightmost_hops(void)
{
    char v[1024] = "";
    for (int i = 1; i <= FWD_HOPS_MAX + 4; i++) {
        char one[32];
        snprintf(one, sizeof(one), "%s10.0.0.%d", i > 1 ? ", " : "", i);
        strcat(v, one);
    }
    struct fwd_chain c;
    xff(v, &c);
    CHECK_EQ(c.n, FWD_HOPS_MAX);
    CHECK(c.over_cap);
    CHECK_STR(hop_str(&c, 0), "10.0.0.5");
    char last[32];
    snprintf(last, sizeof(last), "10.0.0.%d", FWD_HOPS_MAX + 4);
    CHECK_STR(hop_str(&c, FWD_HOPS_MAX - 1), last);
}

/* ---- resolution ---------------------------------------------------------- */

static struct proxy_view pv;
static struct http_tx tx;

static bool view(const char *proxies, const char *header)
{
    char err[256] = "";
    bool ok = proxy_view_init(&pv, proxies, header, false, "", err, sizeof(err));
    if (!ok)
        fprintf(stderr, "  %s\n", err);
    return ok;
}

static void request(const char *x, const char *f)
{
    memset(&tx, 0, sizeof(tx));
    snprintf(tx.method, sizeof(tx.method), "GET");
    snprintf(tx.xff, sizeof(tx.xff), "%s", x);
    snprintf(tx.forwarded, sizeof(tx.forwarded), "%s", f);
}

/* The client named for a request from peer, or "-" when none. */
static const char *client_of(const char *peer, struct proxy_stats *st)
{
    static char buf[64];
    struct ip_addr p = ip(peer), out;
    uint8_t v = strchr(peer, ':') ? 6 : 4, ov = 0;
    if (!proxy_client_of(&pv, v, &p, &tx, &ov, &out, st))
        return "-";
    return ip_addr_str(&out, ov, buf, sizeof(buf));
}

static void test_rightmost_untrusted_hop_is_the_client(void)
{
    REQUIRE(view("10.0.0.1, 10.0.9.0/24", "auto"));
    /* the client forged the first entry; the trusted proxy 10.0.9.5 added
     * 198.51.100.4 (who connected to it); 10.0.0.1 added 10.0.9.5 */
    request("1.2.3.4, 198.51.100.4, 10.0.9.5", "");
    struct proxy_stats st = { 0 };
    CHECK_STR(client_of("10.0.0.1", &st), "198.51.100.4");
    CHECK_EQ(st.resolved, 1);
    /* every hop trusted: the leftmost */
    request("10.0.9.7, 10.0.9.5", "");
    CHECK_STR(client_of("10.0.0.1", NULL), "10.0.9.7");
}

static void test_untrusted_client_header_never_counts(void)
{
    REQUIRE(view("10.0.0.1", "auto"));
    request("10.20.30.40", "for=10.20.30.41");
    struct proxy_stats st = { 0 };
    CHECK_STR(client_of("10.0.0.2", &st), "-");
    CHECK_EQ(st.untrusted, 1);
    CHECK_EQ(st.resolved, 0);
    /* nothing trusted at all: nothing resolved, nothing counted */
    REQUIRE(view("", "auto"));
    memset(&st, 0, sizeof(st));
    CHECK_STR(client_of("10.0.0.1", &st), "-");
    CHECK_EQ(st.untrusted, 0);
}

static void test_hidden_hop_stops_the_walk(void)
{
    REQUIRE(view("10.0.0.1", "auto"));
    /* left of "unknown" was written by a host nobody vouches for */
    request("192.0.2.8, unknown", "");
    struct proxy_stats st = { 0 };
    CHECK_STR(client_of("10.0.0.1", &st), "-");
    CHECK_EQ(st.hidden, 1);
    request("", "for=192.0.2.8, for=_gateway");
    CHECK_STR(client_of("10.0.0.1", NULL), "-");
    request("", "");
    memset(&st, 0, sizeof(st));
    CHECK_STR(client_of("10.0.0.1", &st), "-");
    CHECK_EQ(st.no_header, 1);
}

static void test_header_choice_and_conflicts(void)
{
    REQUIRE(view("10.0.0.1", "auto"));
    request("", "for=\"[2001:db8::7]:5555\"");
    CHECK_STR(client_of("10.0.0.1", NULL), "2001:db8::7");
    /* both: they agree */
    request("192.0.2.8", "for=192.0.2.8");
    CHECK_STR(client_of("10.0.0.1", NULL), "192.0.2.8");
    /* both, disagreeing: a client may add the header its proxy does not
     * write, so neither is believed */
    request("192.0.2.8", "for=192.0.2.99");
    struct proxy_stats st = { 0 };
    CHECK_STR(client_of("10.0.0.1", &st), "-");
    CHECK_EQ(st.conflicts, 1);
    /* pinned to one header, the other is not read */
    REQUIRE(view("10.0.0.1", "x-forwarded-for"));
    CHECK_STR(client_of("10.0.0.1", NULL), "192.0.2.8");
    REQUIRE(view("10.0.0.1", "Forwarded"));
    CHECK_STR(client_of("10.0.0.1", NULL), "192.0.2.99");
    request("192.0.2.8", "");
    CHECK_STR(client_of("10.0.0.1", NULL), "-");
}

static void test_truncated_header_is_not_used(void)
{
    REQUIRE(view("10.0.0.1", "auto"));
    request("192.0.2.8", "");
    tx.xff_truncated = true;
    struct proxy_stats st = { 0 };
    CHECK_STR(client_of("10.0.0.1", &st), "-");
    CHECK_EQ(st.truncated, 1);
}

static void test_ipv6_proxy_and_bad_settings(void)
{
    REQUIRE(view("fd00::/64", "auto"));
    request("10.1.2.3", "");
    CHECK_STR(client_of("fd00::10", NULL), "10.1.2.3");
    CHECK_STR(client_of("fd00:1::10", NULL), "-");
    char err[256];
    CHECK(!proxy_view_init(&pv, "10.0.0.0/33", "auto", false, "", err, sizeof(err)));
    CHECK(strstr(err, "anomaly.trusted-proxies") != NULL);
    CHECK(!proxy_view_init(&pv, "10.0.0.1", "x-real-ip", false, "", err, sizeof(err)));
    CHECK(strstr(err, "anomaly.trusted-proxy-header") != NULL);
    CHECK(!proxy_view_init(&pv, "", "auto", false, "443,70000", err, sizeof(err)));
    CHECK(strstr(err, "capture.decrypted-feed-ports") != NULL);
}

/* ---- subjects and feeds -------------------------------------------------- */

static struct flow *make_flow(const char *client, const char *server,
                              uint16_t port)
{
    static struct flow f;
    memset(&f, 0, sizeof(f));
    f.key.ip_version = strchr(client, ':') ? 6 : 4;
    f.key.proto = 6;
    f.key.lo = ip(client);
    f.key.hi = ip(server);
    f.key.lo_port = 50000;
    f.key.hi_port = port;
    f.client_is_lo = 1;
    return &f;
}

static void test_subject_speaks_for_the_client(void)
{
    REQUIRE(view("10.0.0.1", "auto"));
    struct flow *f = make_flow("10.0.0.1", "10.0.0.80", 8080);
    request("10.5.5.5", "");
    struct event_subject s = proxy_http_subject(&pv, f, &tx, NULL);
    char a[64];
    CHECK(s.forwarded);
    CHECK(s.flow == f);
    CHECK_STR(ip_addr_str(&s.client, s.ip_version, a, sizeof(a)), "10.5.5.5");
    CHECK_STR(ip_addr_str(&s.server, s.ip_version, a, sizeof(a)), "10.0.0.80");
    CHECK_EQ(s.server_port, 8080);
    /* an IPv6 client behind an IPv4 proxy: one family for both ends */
    request("2001:db8::5", "");
    s = proxy_http_subject(&pv, f, &tx, NULL);
    CHECK_EQ(s.ip_version, 6);
    CHECK_STR(ip_addr_str(&s.client, 6, a, sizeof(a)), "2001:db8::5");
    CHECK_STR(ip_addr_str(&s.server, 6, a, sizeof(a)), "::ffff:10.0.0.80");
    /* the proxy's own request, or no transaction: the flow's ends */
    request("", "");
    s = proxy_http_subject(&pv, f, &tx, NULL);
    CHECK(!s.forwarded);
    CHECK_STR(ip_addr_str(&s.client, s.ip_version, a, sizeof(a)), "10.0.0.1");
    s = proxy_http_subject(&pv, f, NULL, NULL);
    CHECK(!s.forwarded);
}

static void test_finding_takes_a_forwarded_subject_only(void)
{
    REQUIRE(view("10.0.0.1", "auto"));
    struct flow *f = make_flow("10.0.0.1", "10.0.0.80", 80);
    struct finding fd;
    memset(&fd, 0, sizeof(fd));
    request("", "");
    struct event_subject s = proxy_http_subject(&pv, f, &tx, NULL);
    finding_take_subject(&fd, &s);
    CHECK_EQ(fd.ip_version, 0); /* a flow's ends: the pipeline decides */
    request("10.5.5.5", "");
    s = proxy_http_subject(&pv, f, &tx, NULL);
    finding_take_subject(&fd, &s);
    char a[64];
    CHECK(fd.forwarded);
    CHECK_STR(ip_addr_str(&fd.host, fd.ip_version, a, sizeof(a)), "10.5.5.5");
    CHECK_STR(ip_addr_str(&fd.peer, fd.ip_version, a, sizeof(a)), "10.0.0.80");
}

static void test_decrypted_feed_covers_all_or_listed_ports(void)
{
    char err[256];
    REQUIRE(proxy_view_init(&pv, "", "auto", false, "443, 8443", err, sizeof(err)));
    CHECK(proxy_feed_covers(&pv, make_flow("10.0.0.2", "10.0.0.3", 443)));
    CHECK(proxy_feed_covers(&pv, make_flow("10.0.0.2", "10.0.0.3", 8443)));
    CHECK(!proxy_feed_covers(&pv, make_flow("10.0.0.2", "10.0.0.3", 80)));
    REQUIRE(proxy_view_init(&pv, "", "auto", true, "", err, sizeof(err)));
    CHECK(proxy_feed_covers(&pv, make_flow("10.0.0.2", "10.0.0.3", 80)));
    REQUIRE(proxy_view_init(&pv, "", "auto", false, "", err, sizeof(err)));
    CHECK(!proxy_feed_covers(&pv, make_flow("10.0.0.2", "10.0.0.3", 443)));
}

/* ---- the HTTP parser keeps both headers, repeated lines joined ----------- */

static struct http_tx seen;
static void on_tx(void *ctx, const struct http_tx *t)
{
    (void)ctx;
    seen = *t;
}

static void test_http_joins_repeated_forwarding_headers(void)
{
    static const char req[] =
        "GET / HTTP/1.1\r\nHost: a\r\nX-Forwarded-For: 1.2.3.4\r\n"
        "X-Forwarded-For: 10.0.0.5\r\nForwarded: for=1.2.3.4\r\n"
        "forwarded: for=\"[2001:db8::1]\"\r\n\r\n";
    static const char resp[] = "HTTP/1.1 204 No Content\r\n\r\n";
    struct http_callbacks cb = { NULL, on_tx };
    struct http_limits lim = { 1 << 20, 100u << 20, 1000, NULL, 0 };
    struct http_stats st = { 0 };
    struct http_state *h = http_state_new();
    REQUIRE(h);
    memset(&seen, 0, sizeof(seen));
    http_feed(h, 0, (const uint8_t *)req, sizeof(req) - 1, 1, &lim, &cb, NULL, &st);
    http_feed(h, 1, (const uint8_t *)resp, sizeof(resp) - 1, 2, &lim, &cb, NULL, &st);
    CHECK_STR(seen.xff, "1.2.3.4, 10.0.0.5");
    CHECK_STR(seen.forwarded, "for=1.2.3.4, for=\"[2001:db8::1]\"");
    CHECK(!seen.xff_truncated);
    /* a chain longer than kept is marked, not cut silently */
    char big[1024];
    int n = snprintf(big, sizeof(big), "GET /2 HTTP/1.1\r\nX-Forwarded-For: ");
    while (n < 400)
        n += snprintf(big + n, sizeof(big) - (size_t)n, "192.0.2.1, ");
    n += snprintf(big + n, sizeof(big) - (size_t)n, "192.0.2.2\r\n\r\n");
    http_feed(h, 0, (const uint8_t *)big, (size_t)n, 3, &lim, &cb, NULL, &st);
    http_feed(h, 1, (const uint8_t *)resp, sizeof(resp) - 1, 4, &lim, &cb, NULL, &st);
    CHECK(seen.xff_truncated);
    http_state_free(h);
}

TEST_LIST(test_xff_lists_addresses_left_to_right,
          test_xff_ports_brackets_unknown_and_garbage,
          test_forwarded_for_quoted_ipv6_obfuscated_and_missing,
          test_forwarded_quotes_hide_separators,
          test_chain_over_cap_keeps_the_rightmost_hops,
          test_rightmost_untrusted_hop_is_the_client,
          test_untrusted_client_header_never_counts,
          test_hidden_hop_stops_the_walk,
          test_header_choice_and_conflicts,
          test_truncated_header_is_not_used,
          test_ipv6_proxy_and_bad_settings,
          test_subject_speaks_for_the_client,
          test_finding_takes_a_forwarded_subject_only,
          test_decrypted_feed_covers_all_or_listed_ports,
          test_http_joins_repeated_forwarding_headers)
