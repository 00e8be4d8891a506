/* test_c2_channel.c -- C2-channel evidence per client/server pair, from
 * hand-made flows, TLS summaries, HTTP transactions, DNS messages and pair
 * statistics. Every indicator is shown on both sides of its line, and a
 * pair's score one indicator short of min_score (no finding) and at it (an
 * alert naming each indicator), then at strong_score (a strong finding);
 * each level alerts once. Internal servers are not judged by transport or
 * certificate, outside clients and group addresses never. */
#include <math.h>

#include "detect/c2_channel.h"
#include "eta/eta_features.h"
#include "fingerprint/summary.h"
#include "flow/flow.h"
#include "proto/app_detect.h"
#include "proto/dns.h"
#include "proto/http.h"
#include "proto/tls.h"
#include "testing.h"

#define T0 1700000000ull
#define SEC(t) ((uint64_t)((T0 + (t)) * 1000000ull))

/* ---- findings ------------------------------------------------------------ */

static struct finding seen[64];
static int n_seen;

static void sink(void *ctx, const struct finding *fd)
{
    (void)ctx;
    if (n_seen < 64)
        seen[n_seen++] = *fd;
}

static struct home_net home;

static struct c2_channel *new_c2(void)
{
    struct c2_config cfg;
    c2_config_defaults(&cfg);
    CHECK_EQ(cfg.min_score, 5);
    CHECK_EQ(cfg.strong_score, 7);
    cfg.pairs = 256;
    char err[128];
    CHECK(home_net_parse(&home, HOME_NET_DEFAULT, err, sizeof(err)));
    n_seen = 0;
    struct c2_channel *c = c2_channel_new(&cfg, &home, sink, NULL);
    CHECK(c != NULL);
    return c;
}

static uint64_t raised(const struct c2_channel *c, enum c2_indicator i)
{
    return c2_channel_stats(c)->raised[i];
}

/* ---- flows --------------------------------------------------------------- */

static struct flow *flows[256];
static int n_flows;

static struct ip_addr v4(uint8_t a, uint8_t b, uint8_t c, uint8_t d)
{
    struct ip_addr x;
    memset(&x, 0, sizeof(x));
    x.b[0] = a, x.b[1] = b, x.b[2] = c, x.b[3] = d;
    return x;
}

/* A flow client -> server:port that started with its SYN at t seconds and
 * lasted 1 ms; both sides sent a payload. */
static struct flow *flow(struct ip_addr client, struct ip_addr server, uint16_t port,
                         uint8_t proto, uint8_t app, double t)
{
    struct flow *f = calloc(1, sizeof(struct flow));
    if (n_flows < 256)
        flows[n_flows++] = f;
    f->key.ip_version = 4;
    f->key.proto = proto;
    f->key.lo = client;
    f->key.hi = server;
    f->key.lo_port = 50000;
    f->key.hi_port = port;
    f->client_is_lo = 1;
    f->app_proto = app;
    f->first_usec = SEC(t);
    f->last_usec = f->first_usec + 1000;
    f->rounds = 2;
    f->dir[0].syn_seen = f->dir[1].syn_seen = 1;
    f->dir[0].pkts = 4;
    f->dir[0].payload_pkts = 1;
    f->dir[0].payload_bytes = 300;
    f->dir[1].pkts = 3;
    f->dir[1].payload_pkts = 1;
    f->dir[1].payload_bytes = 900;
    return f;
}

static void free_flows(void)
{
    for (int i = 0; i < n_flows; i++)
        free(flows[i]);
    n_flows = 0;
}

/* ---- TLS ----------------------------------------------------------------- */

static struct tls_session ts;
static struct tls_summary sum;

#define PLACEHOLDER "C=AU, ST=Some-State, O=Internet Widgits Pty Ltd"

/* A handshake with one certificate; match: the summary's sni_cert_match. */
static void tls_prepare(const char *sni, const char *subject, const char *issuer,
                        bool self_signed, int match, int64_t not_before)
{
    memset(&ts, 0, sizeof(ts));
    memset(&sum, 0, sizeof(sum));
    ts.have_ch = ts.have_sh = true;
    ts.n_certs = 1;
    snprintf(ts.certs[0].subject, sizeof(ts.certs[0].subject), "%s", subject);
    snprintf(ts.certs[0].issuer, sizeof(ts.certs[0].issuer), "%s", issuer);
    ts.certs[0].self_signed = self_signed;
    ts.certs[0].not_before = not_before;
    snprintf(sum.sni, sizeof(sum.sni), "%s", sni);
    sum.self_signed = self_signed;
    sum.facts.has_ch = sum.facts.has_sh = sum.facts.has_cert = true;
    sum.facts.sni_cert_match = (int8_t)match;
    sum.facts.cert_not_before = not_before;
}

static void tls(struct c2_channel *c, struct flow *f, double t)
{
    c2_on_tls(c, f, &ts, &sum, SEC(t));
}

#define OLD_CERT ((int64_t)T0 - 90 * 86400)

static void test_tls_placeholder_cert_on_an_odd_port_alerts_once_per_level(void)
{
    struct c2_channel *c = new_c2();
    struct ip_addr me = v4(10, 0, 0, 5), srv = v4(198, 51, 100, 10);
    /* no SNI, self-signed, OpenSSL's default subject: 1 + 1 + 2 = 4 */
    tls_prepare("", PLACEHOLDER, PLACEHOLDER, true, -1, OLD_CERT);
    struct flow *f = flow(me, srv, 8843, 6, APP_TLS, 0);
    tls(c, f, 0);
    CHECK_EQ(n_seen, 0);
    CHECK_EQ(c2_channel_stats(c)->pairs_new, 1);
    CHECK_EQ(raised(c, C2I_no_name), 1);
    CHECK_EQ(raised(c, C2I_self_signed), 1);
    CHECK_EQ(raised(c, C2I_placeholder_cert), 1);
    /* the flow ends: a port no service uses, 5: an alert */
    c2_on_flow_end(c, f, NULL, "");
    CHECK_EQ(n_seen, 1);
    const struct finding *x = &seen[0];
    CHECK_EQ(x->kind, FINDING_c2_channel);
    CHECK_EQ(x->stage, STAGE_C2);
    CHECK_EQ(x->severity, 2);
    CHECK(!x->strong);
    CHECK(!x->anomaly);
    CHECK_EQ(x->ip_version, 4);
    CHECK(!memcmp(&x->host, &me, sizeof(me)));
    CHECK(!memcmp(&x->peer, &srv, sizeof(srv)));
    CHECK(x->has_peer);
    CHECK(!x->peer_internal);
    CHECK_EQ(x->port, 8843);
    CHECK(x->flow == f);
    CHECK_EQ(x->ts_usec, f->last_usec);
    CHECK_EQ(x->observed, 5);
    CHECK_EQ(x->baseline, 5);
    CHECK(isnan(x->deviation));
    CHECK_STR(x->unit, "score");
    CHECK_STR(x->indicators, "odd_port no_name self_signed placeholder_cert");
    CHECK_STR(x->detail,
              "this client uses a port no common service uses; reaches the server "
              "by address (no SNI, an address as Host, no DNS answer); gets a "
              "self-signed certificate; gets a certificate with a default or "
              "non-host-name subject (certificate " PLACEHOLDER "); score 5");
    /* a second connection: the same level, no second alert */
    c2_on_flow_end(c, flow(me, srv, 8843, 6, APP_TLS, 60), NULL, "");
    CHECK_EQ(n_seen, 1);
    /* a third: repeated, 6, still one alert */
    c2_on_flow_end(c, flow(me, srv, 8843, 6, APP_TLS, 120), NULL, "");
    CHECK_EQ(n_seen, 1);
    CHECK_EQ(raised(c, C2I_repeated), 1);
    /* a certificate made an hour ago: 7, strong */
    tls_prepare("", PLACEHOLDER, PLACEHOLDER, true, -1, (int64_t)T0 + 180 - 3600);
    tls(c, flow(me, srv, 8843, 6, APP_TLS, 180), 180);
    CHECK_EQ(n_seen, 2);
    x = &seen[1];
    CHECK_EQ(x->severity, 1);
    CHECK(x->strong);
    CHECK_EQ(x->observed, 7);
    CHECK_EQ(x->baseline, 7);
    CHECK_STR(x->indicators,
              "odd_port no_name repeated self_signed placeholder_cert young_cert");
    CHECK(strstr(x->detail, "; gets a certificate issued in the last 7 days (") != NULL);
    CHECK(strstr(x->detail, "; score 7") != NULL);
    /* strong is the last level */
    c2_on_flow_end(c, flow(me, srv, 8843, 6, APP_TLS, 240), NULL, "");
    tls(c, flow(me, srv, 8843, 6, APP_TLS, 300), 300);
    CHECK_EQ(n_seen, 2);
    CHECK_EQ(c2_channel_stats(c)->alerts, 1);
    CHECK_EQ(c2_channel_stats(c)->strong, 1);
    CHECK_EQ(c2_channel_stats(c)->pairs_new, 1);
    c2_channel_free(c);
    free_flows();
}

static void test_tls_to_an_internal_server_or_between_outsiders_is_not_judged(void)
{
    struct c2_channel *c = new_c2();
    tls_prepare("", PLACEHOLDER, PLACEHOLDER, true, -1, (int64_t)T0 - 60);
    /* the same handshake and flows to an appliance inside */
    for (int i = 0; i < 4; i++) {
        struct flow *f = flow(v4(10, 0, 0, 5), v4(10, 0, 0, 9), 8843, 6, APP_TLS, i * 60);
        tls(c, f, i * 60);
        c2_on_flow_end(c, f, NULL, "");
    }
    CHECK_EQ(n_seen, 0);
    CHECK_EQ(c2_channel_stats(c)->pairs_new, 0);
    /* an outside client to an outside server (transit) */
    for (int i = 0; i < 4; i++) {
        struct flow *f = flow(v4(203, 0, 113, 5), v4(198, 51, 100, 10), 8843, 6,
                              APP_TLS, i * 60);
        tls(c, f, i * 60);
        c2_on_flow_end(c, f, NULL, "");
    }
    CHECK_EQ(n_seen, 0);
    CHECK_EQ(c2_channel_stats(c)->pairs_new, 0);
    /* no ClientHello seen: nothing to judge */
    tls_prepare("", PLACEHOLDER, PLACEHOLDER, true, -1, (int64_t)T0 - 60);
    sum.facts.has_ch = false;
    tls(c, flow(v4(10, 0, 0, 5), v4(198, 51, 100, 10), 8843, 6, APP_TLS, 0), 0);
    CHECK_EQ(c2_channel_stats(c)->pairs_new, 0);
    c2_channel_free(c);
    free_flows();
}

static void test_tls_on_a_service_port_needs_a_third_connection(void)
{
    struct c2_channel *c = new_c2();
    struct ip_addr me = v4(10, 0, 0, 5), srv = v4(198, 51, 100, 11);
    tls_prepare("", PLACEHOLDER, PLACEHOLDER, true, -1, OLD_CERT);
    struct flow *f = flow(me, srv, 443, 6, APP_TLS, 0);
    tls(c, f, 0);
    c2_on_flow_end(c, f, NULL, "");               /* 4: one short */
    c2_on_flow_end(c, flow(me, srv, 443, 6, APP_TLS, 60), NULL, "");
    CHECK_EQ(n_seen, 0);
    CHECK_EQ(raised(c, C2I_odd_port), 0);
    c2_on_flow_end(c, flow(me, srv, 443, 6, APP_TLS, 120), NULL, "");
    CHECK_EQ(n_seen, 1);
    CHECK_EQ(seen[0].severity, 2);
    CHECK_EQ(seen[0].port, 443);
    CHECK_STR(seen[0].indicators, "no_name repeated self_signed placeholder_cert");
    CHECK(strstr(seen[0].detail, "connects again and again (3 or more times)") != NULL);
    c2_channel_free(c);
    free_flows();
}

/* One handshake to a fresh server; returns the indicators raised. */
static uint32_t tls_ind(struct c2_channel *c, uint8_t last, const char *sni,
                        const char *subject, const char *issuer, bool self_signed,
                        int match, int64_t not_before, uint8_t proto)
{
    uint64_t before[C2I_COUNT];
    for (int i = 0; i < C2I_COUNT; i++)
        before[i] = raised(c, (enum c2_indicator)i);
    tls_prepare(sni, subject, issuer, self_signed, match, not_before);
    tls(c, flow(v4(10, 0, 0, last), v4(198, 51, 100, last), 443, proto,
                proto == 17 ? APP_QUIC : APP_TLS, 0), 0);
    uint32_t ind = 0;
    for (int i = 0; i < C2I_COUNT; i++)
        if (raised(c, (enum c2_indicator)i) != before[i])
            ind |= 1u << i;
    return ind;
}

#define BIT(x) (1u << C2I_##x)
#define GOOD "CN=www.example.com"
#define CA "C=US, O=Let's Encrypt, CN=R3"

static void test_tls_certificate_indicators_at_their_lines(void)
{
    struct c2_channel *c = new_c2();
    int64_t now = (int64_t)T0;
    /* an ordinary handshake raises nothing and makes no pair */
    CHECK_EQ(tls_ind(c, 20, "www.example.com", GOOD, CA, false, 1, OLD_CERT, 6), 0);
    CHECK_EQ(c2_channel_stats(c)->pairs_new, 0);
    /* issued 7 days ago less a second: young; 7 days ago: not; not yet valid: not */
    CHECK_EQ(tls_ind(c, 21, "www.example.com", GOOD, CA, false, 1, now - 7 * 86400 + 1, 6),
             BIT(young_cert));
    CHECK_EQ(tls_ind(c, 22, "www.example.com", GOOD, CA, false, 1, now - 7 * 86400, 6), 0);
    CHECK_EQ(tls_ind(c, 23, "www.example.com", GOOD, CA, false, 1, now + 10, 6), 0);
    /* the certificate does not cover the SNI (0); unknown (-1) is no mismatch */
    CHECK_EQ(tls_ind(c, 24, "www.example.com", "CN=other.example.net", CA, false, 0,
                     OLD_CERT, 6), BIT(sni_mismatch));
    CHECK_EQ(tls_ind(c, 25, "www.example.com", "CN=other.example.net", CA, false, -1,
                     OLD_CERT, 6), 0);
    /* a subject that is no host name counts only when no SNI named a host */
    CHECK_EQ(tls_ind(c, 26, "www.example.com", "CN=AsyncRAT Server", "CN=AsyncRAT Server",
                     true, 1, OLD_CERT, 6), BIT(self_signed));
    CHECK_EQ(tls_ind(c, 27, "", "CN=AsyncRAT Server", "CN=AsyncRAT Server", true, -1,
                     OLD_CERT, 6), BIT(no_name) | BIT(self_signed) | BIT(placeholder_cert));
    /* a placeholder issuer is enough */
    CHECK_EQ(tls_ind(c, 28, "www.example.com", GOOD, PLACEHOLDER, false, 1, OLD_CERT, 6),
             BIT(placeholder_cert));
    /* a dynamic DNS name as SNI */
    CHECK_EQ(tls_ind(c, 29, "c2.duckdns.org", "CN=c2.duckdns.org", CA, false, 1, OLD_CERT, 6),
             BIT(dynamic_dns));
    /* over UDP (QUIC) a missing SNI is not counted */
    CHECK_EQ(tls_ind(c, 30, "", GOOD, CA, false, -1, OLD_CERT, 17), 0);
    CHECK_EQ(n_seen, 0);
    c2_channel_free(c);
    free_flows();
}

/* ---- HTTP ---------------------------------------------------------------- */

static struct http_tx tx;

#define CHROME "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 " \
               "(KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36"

static void http_prepare(const char *method, const char *host, const char *uri,
                         const char *ua, uint16_t headers, uint64_t req_body,
                         uint64_t resp_body)
{
    memset(&tx, 0, sizeof(tx));
    snprintf(tx.method, sizeof(tx.method), "%s", method);
    snprintf(tx.host, sizeof(tx.host), "%s", host);
    snprintf(tx.uri, sizeof(tx.uri), "%s", uri);
    snprintf(tx.user_agent, sizeof(tx.user_agent), "%s", ua);
    tx.req_headers = headers;
    tx.req_body_len = req_body;
    tx.resp_body_len = resp_body;
    tx.have_response = true;
    tx.status = 200;
}

static void http(struct c2_channel *c, struct ip_addr client, struct ip_addr server,
                 double t)
{
    struct event_subject s = event_subject_of(flow(client, server, 80, 6, APP_HTTP, t));
    c2_on_http(c, &s, &tx, SEC(t));
}

#define NO_LANG (HTTP_HDR_ACCEPT | HTTP_HDR_ACCEPT_ENCODING | HTTP_HDR_CONNECTION)

static void test_http_browser_without_accept_language_posting_to_a_script(void)
{
    struct c2_channel *c = new_c2();
    struct ip_addr me = v4(10, 0, 0, 5);
    /* by address, a browser's User-Agent without Accept-Language, a post to
     * a script answered with nothing: 1 + 2 + 1 = 4, one short */
    http_prepare("POST", "198.51.100.20", "/gate.php", CHROME, NO_LANG, 120, 0);
    http(c, me, v4(198, 51, 100, 20), 0);
    CHECK_EQ(n_seen, 0);
    CHECK_EQ(raised(c, C2I_bot_headers), 1);
    CHECK_EQ(raised(c, C2I_script_post), 1);
    /* the same with an encoded blob in the URL: 5 */
    http_prepare("POST", "198.51.100.21", "/gate.php?id=aB3dE5fG7hJ9kLmN", CHROME, NO_LANG,
                 120, 0);
    http(c, v4(10, 0, 0, 6), v4(198, 51, 100, 21), 1);
    CHECK_EQ(n_seen, 1);
    const struct finding *x = &seen[0];
    CHECK_EQ(x->severity, 2);
    CHECK(!x->strong);
    CHECK_EQ(x->port, 80);
    CHECK_EQ(x->observed, 5);
    CHECK_STR(x->indicators, "no_name bot_headers script_post encoded_uri");
    CHECK_STR(x->detail,
              "this client reaches the server by address (no SNI, an address as Host, "
              "no DNS answer); claims a browser but sends no Accept-Language, which "
              "every browser sends; posts data to a script and gets little or nothing "
              "back; hides an encoded blob in the URL (198.51.100.21, POST "
              "/gate.php?id=aB3dE5fG7hJ9kLmN UA \"Mozilla/5.0 (Windows NT 10.0; Wi\"); "
              "score 5");
    /* the first pair's next request adds what it lacked: 5 */
    http_prepare("POST", "198.51.100.20", "/gate.php?id=aB3dE5fG7hJ9kLmN", CHROME, NO_LANG,
                 120, 0);
    http(c, me, v4(198, 51, 100, 20), 2);
    CHECK_EQ(n_seen, 2);
    CHECK(!memcmp(&seen[1].peer, &(struct ip_addr){ { 198, 51, 100, 20 } }, 4));
    /* a real browser sends Accept-Language: 1 + 1 + 1 = 3 */
    http_prepare("POST", "198.51.100.22", "/post.php?id=aB3dE5fG7hJ9kLmN", CHROME,
                 NO_LANG | HTTP_HDR_ACCEPT_LANGUAGE, 120, 0);
    http(c, v4(10, 0, 0, 7), v4(198, 51, 100, 22), 3);
    CHECK_EQ(n_seen, 2);
    CHECK_EQ(raised(c, C2I_bot_headers), 2);
    CHECK_EQ(raised(c, C2I_rotation), 0);
    c2_channel_free(c);
    free_flows();
}

/* each case from its own client to its own server */
static void one(struct c2_channel *c, uint8_t *s)
{
    http(c, v4(10, 0, 1, *s), v4(198, 51, 100, *s), 0);
    (*s)++;
}

static void test_http_script_post_and_upload_lines(void)
{
    struct c2_channel *c = new_c2();
    uint8_t s = 40;
    /* 256 bytes back: little; 257: an answer */
    http_prepare("POST", "a.example.com", "/gate.php", "curl/8.0", 0, 50, 256);
    one(c, &s);
    CHECK_EQ(raised(c, C2I_script_post), 1);
    http_prepare("POST", "a.example.com", "/gate.php", "curl/8.0", 0, 50, 257);
    one(c, &s);
    CHECK_EQ(raised(c, C2I_script_post), 1);
    /* no response at all: little */
    http_prepare("POST", "a.example.com", "/gate.php", "curl/8.0", 0, 50, 9999);
    tx.have_response = false;
    one(c, &s);
    CHECK_EQ(raised(c, C2I_script_post), 2);
    /* an empty post, a GET, a post to a file */
    http_prepare("POST", "a.example.com", "/gate.php", "curl/8.0", 0, 0, 0);
    one(c, &s);
    http_prepare("GET", "a.example.com", "/gate.php", "curl/8.0", 0, 50, 0);
    one(c, &s);
    http_prepare("POST", "a.example.com", "/img/logo.png", "curl/8.0", 0, 50, 0);
    one(c, &s);
    CHECK_EQ(raised(c, C2I_script_post), 2);
    CHECK_EQ(raised(c, C2I_tool_ua), 6);
    /* uploads: 256 KiB less a byte, then 256 KiB */
    http_prepare("POST", "a.example.com", "/upload/x.png", "curl/8.0", 0, 262143, 10);
    one(c, &s);
    CHECK_EQ(raised(c, C2I_upload), 0);
    http_prepare("POST", "a.example.com", "/upload/x.png", "curl/8.0", 0, 262144, 10);
    one(c, &s);
    CHECK_EQ(raised(c, C2I_upload), 1);
    /* a legacy browser, no User-Agent */
    http_prepare("GET", "a.example.com", "/a.css",
                 "Mozilla/4.0 (compatible; MSIE 8.0; Windows NT 6.1)", HTTP_HDR_ACCEPT_LANGUAGE,
                 0, 100);
    one(c, &s);
    CHECK_EQ(raised(c, C2I_legacy_ua), 1);
    CHECK_EQ(raised(c, C2I_bot_headers), 0);
    http_prepare("GET", "a.example.com", "/a.css", "", 0, 0, 100);
    one(c, &s);
    CHECK_EQ(raised(c, C2I_no_ua), 1);
    /* the victim's identity in the User-Agent (vjw0rm's registration):
     * three backslashes, not two (a path-like "a\b\c" stays ordinary) */
    http_prepare("POST", "a.example.com", "/Vre",
                 "BIZ 2_A830F973\\DESKTOP-PU389HQ\\ian\\Microsoft Windows 10 Pro", 0, 10, 10);
    one(c, &s);
    CHECK_EQ(raised(c, C2I_identity_ua), 1);
    http_prepare("POST", "a.example.com", "/Vre", "agent\\x86\\v2", 0, 10, 10);
    one(c, &s);
    CHECK_EQ(raised(c, C2I_identity_ua), 1);
    /* a named host with a browser's headers: nothing, no pair */
    uint64_t pairs = c2_channel_stats(c)->pairs_new;
    http_prepare("GET", "www.example.com", "/index.html", CHROME,
                 NO_LANG | HTTP_HDR_ACCEPT_LANGUAGE, 0, 5000);
    one(c, &s);
    CHECK_EQ(c2_channel_stats(c)->pairs_new, pairs);
    /* OCSP without a User-Agent is the system's certificate check: ignored */
    http_prepare("POST", "198.51.100.99", "/", "", 0, 80, 1500);
    snprintf(tx.req_content_type, sizeof(tx.req_content_type), "application/ocsp-request");
    one(c, &s);
    CHECK_EQ(c2_channel_stats(c)->pairs_new, pairs);
    CHECK_EQ(raised(c, C2I_rotation), 0);
    CHECK_EQ(n_seen, 0);
    c2_channel_free(c);
    free_flows();
}

static void test_http_rotation_across_three_servers(void)
{
    struct c2_channel *c = new_c2();
    struct ip_addr me = v4(10, 0, 0, 6);
    /* by address, curl, a post to a script answered with nothing: 3 each */
    for (uint8_t i = 0; i < 2; i++) {
        char host[32];
        snprintf(host, sizeof(host), "198.51.100.%u", 60 + i);
        http_prepare("POST", host, "/api.php?k=1", "curl/8.0", 0, 50, 10);
        http(c, me, v4(198, 51, 100, (uint8_t)(60 + i)), i);
    }
    CHECK_EQ(raised(c, C2I_rotation), 0);
    CHECK_EQ(n_seen, 0);
    /* a server inside asked for it too: not a fallback controller */
    http_prepare("POST", "10.0.0.80", "/api.php", "curl/8.0", 0, 50, 10);
    http(c, me, v4(10, 0, 0, 80), 2);
    CHECK_EQ(raised(c, C2I_rotation), 0);
    /* the third outside server: rotation, 5 */
    http_prepare("POST", "198.51.100.62", "/api.php", "curl/8.0", 0, 50, 10);
    http(c, me, v4(198, 51, 100, 62), 3);
    CHECK_EQ(raised(c, C2I_rotation), 1);
    CHECK_EQ(n_seen, 1);
    CHECK_STR(seen[0].indicators, "no_name tool_ua script_post rotation");
    CHECK(strstr(seen[0].detail,
                 "asks 3 or more servers for the same script (a fallback list)") != NULL);
    /* another client asking the same servers starts its own count */
    http_prepare("POST", "198.51.100.62", "/api.php", "curl/8.0", 0, 50, 10);
    http(c, v4(10, 0, 0, 7), v4(198, 51, 100, 62), 4);
    CHECK_EQ(raised(c, C2I_rotation), 1);
    /* "/" is no script path to rotate on */
    for (uint8_t i = 0; i < 3; i++) {
        http_prepare("POST", "198.51.100.70", "/", "curl/8.0", 0, 50, 10);
        http(c, v4(10, 0, 0, 8), v4(198, 51, 100, (uint8_t)(70 + i)), 5 + i);
    }
    CHECK_EQ(raised(c, C2I_rotation), 1);
    c2_channel_free(c);
    free_flows();
}

static void test_http_polling_the_same_path_five_times(void)
{
    struct c2_channel *c = new_c2();
    struct ip_addr me = v4(10, 0, 0, 5), srv = v4(198, 51, 100, 90);
    char uri[64];
    for (int i = 0; i < 4; i++) {
        snprintf(uri, sizeof(uri), "/news.php?t=%d", i);
        http_prepare("GET", "news.example.com", uri, "curl/8.0", 0, 0, 900);
        http(c, me, srv, i * 30);
    }
    CHECK_EQ(raised(c, C2I_polling), 0);
    /* another path restarts the count */
    http_prepare("GET", "news.example.com", "/other.php", "curl/8.0", 0, 0, 900);
    http(c, me, srv, 130);
    for (int i = 0; i < 4; i++) {
        http_prepare("GET", "news.example.com", "/news.php", "curl/8.0", 0, 0, 900);
        http(c, me, srv, 140 + i * 30);
    }
    CHECK_EQ(raised(c, C2I_polling), 0);
    http_prepare("GET", "news.example.com", "/news.php", "curl/8.0", 0, 0, 900);
    http(c, me, srv, 400);
    CHECK_EQ(raised(c, C2I_polling), 1);
    /* polling an internal server is how intranets work */
    for (int i = 0; i < 6; i++) {
        http_prepare("GET", "intranet", "/status.php", "curl/8.0", 0, 0, 900);
        http(c, me, v4(10, 0, 0, 90), i * 30);
    }
    CHECK_EQ(raised(c, C2I_polling), 1);
    CHECK_EQ(n_seen, 0);
    c2_channel_free(c);
    free_flows();
}

/* ---- the client's own evidence -------------------------------------------- */

static struct dns_msg dm;

static void dns_prepare(const char *name, bool response, uint8_t rcode, unsigned answers)
{
    memset(&dm, 0, sizeof(dm));
    dm.n_questions = 1;
    snprintf(dm.q[0].name, sizeof(dm.q[0].name), "%s", name);
    dm.q[0].type = 1;
    dm.response = response;
    dm.rcode = rcode;
    dm.n_answers = answers;
    dm.n_rrs = answers;
}

static void test_a_client_that_looked_up_its_public_address(void)
{
    struct c2_channel *c = new_c2();
    struct ip_addr a = v4(10, 0, 0, 5), b = v4(10, 0, 0, 6);
    /* both clients: 4 on a TLS pair */
    tls_prepare("", PLACEHOLDER, PLACEHOLDER, true, -1, OLD_CERT);
    struct flow *fa = flow(a, v4(198, 51, 100, 30), 443, 6, APP_TLS, 0);
    struct flow *fb = flow(b, v4(198, 51, 100, 30), 443, 6, APP_TLS, 0);
    tls(c, fa, 0);
    tls(c, fb, 0);
    /* A asks for its public address */
    dns_prepare("api.ipify.org", false, 0, 0);
    c2_on_dns(c, flow(a, v4(10, 0, 0, 53), 53, 17, APP_DNS, 5), &dm, SEC(5));
    CHECK_EQ(n_seen, 0);
    c2_on_flow_end(c, fa, NULL, "");
    c2_on_flow_end(c, fb, NULL, "");
    CHECK_EQ(n_seen, 1);
    CHECK(!memcmp(&seen[0].host, &a, sizeof(a)));
    CHECK_STR(seen[0].indicators, "no_name self_signed placeholder_cert ip_check");
    CHECK(strstr(seen[0].detail, "; looked up its own public address (") != NULL);
    /* the same through a TLS SNI */
    struct ip_addr d = v4(10, 0, 0, 7);
    tls_prepare("", PLACEHOLDER, PLACEHOLDER, true, -1, OLD_CERT);
    struct flow *fd = flow(d, v4(198, 51, 100, 31), 443, 6, APP_TLS, 10);
    tls(c, fd, 10);
    CHECK_EQ(n_seen, 1);
    tls_prepare("icanhazip.com", "CN=icanhazip.com", CA, false, 1, OLD_CERT);
    tls(c, flow(d, v4(104, 16, 184, 241), 443, 6, APP_TLS, 11), 11);
    c2_on_flow_end(c, fd, NULL, "");
    CHECK_EQ(n_seen, 2);
    CHECK(!memcmp(&seen[1].host, &d, sizeof(d)));
    c2_channel_free(c);
    free_flows();
}

static void test_a_second_server_that_scores_on_its_own(void)
{
    struct c2_channel *c = new_c2();
    struct ip_addr a = v4(10, 0, 0, 5), b = v4(10, 0, 0, 6);
    /* A's first server: by address, no Accept-Language, an encoded blob:
     * 1 + 2 + 1 = 4, one short of an alert, but a suspect server now */
    http_prepare("GET", "198.51.100.40", "/t1?id=aB3dE5fG7hJ9kLmN", CHROME, NO_LANG, 0, 4096);
    http(c, a, v4(198, 51, 100, 40), 0);
    CHECK_EQ(n_seen, 0);
    /* B alone: a server scoring 3 stays silent */
    http_prepare("POST", "c2.example.net", "/docs/s.php", CHROME, NO_LANG, 120, 0);
    http(c, b, v4(198, 51, 100, 41), 1);
    CHECK_EQ(n_seen, 0);
    /* the same to A: 2 + 1 + 2 (the other server) = 5 */
    http(c, a, v4(198, 51, 100, 41), 2);
    CHECK_EQ(n_seen, 1);
    CHECK(!memcmp(&seen[0].host, &a, sizeof(a)));
    CHECK_STR(seen[0].indicators, "bot_headers script_post second_channel");
    CHECK(strstr(seen[0].detail, "; also disguises itself to another outside server "
                                 "(4 or more without timing) (") != NULL);
    CHECK_EQ(raised(c, C2I_second_channel), 1);
    /* the suspect server's own pair does not count itself: still 4 */
    http_prepare("GET", "198.51.100.40", "/t1?id=aB3dE5fG7hJ9kLmN", CHROME, NO_LANG, 0, 4096);
    http(c, a, v4(198, 51, 100, 40), 3);
    CHECK_EQ(n_seen, 1);
    c2_channel_free(c);
    free_flows();
}

#define FIREFOX_WIN7 "Mozilla/5.0 (Windows NT 6.1; rv:31.0) Gecko/20100101 Firefox/31.0"
#define EDGE_WIN10 "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 " \
                   "(KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36 Edg/120.0.0.0"

static void test_a_client_claiming_two_windows_versions(void)
{
    struct c2_channel *c = new_c2();
    struct ip_addr a = v4(10, 0, 0, 5), b = v4(10, 0, 0, 6);
    /* A's browsers: Chrome and Edge on Windows 10, with Accept-Language */
    http_prepare("GET", "www.example.com", "/", CHROME, NO_LANG | HTTP_HDR_ACCEPT_LANGUAGE, 0, 900);
    http(c, a, v4(198, 51, 100, 80), 0);
    http_prepare("GET", "www.example.org", "/", EDGE_WIN10, NO_LANG | HTTP_HDR_ACCEPT_LANGUAGE,
                 0, 900);
    http(c, a, v4(198, 51, 100, 81), 1);
    CHECK_EQ(raised(c, C2I_two_windows), 0);
    /* then something on A posts claiming Windows 7 with no Accept-Language:
     * 2 + 2 + 1 (a script) = 5 */
    http_prepare("POST", "gate.example.net", "/api/gate.php", FIREFOX_WIN7, NO_LANG, 4096, 1);
    http(c, a, v4(198, 51, 100, 82), 2);
    CHECK_EQ(n_seen, 1);
    CHECK_STR(seen[0].indicators, "bot_headers two_windows script_post");
    /* the same post from B, whose only browser says Windows 7: 3 */
    http(c, b, v4(198, 51, 100, 82), 3);
    CHECK_EQ(n_seen, 1);
    CHECK_EQ(raised(c, C2I_two_windows), 1);
    c2_channel_free(c);
    free_flows();
}

static void test_a_windows_computer_name_in_the_url(void)
{
    struct c2_channel *c = new_c2();
    uint8_t k = 100;
    /* no User-Agent (2) and a computer name (2), a script's post (1): 5 */
    static const char *const names[] = {
        "/gate.php?b=DESKTOP-PU389HQ_Standard%20PC&os=10.0",
        "/write2.php?info=User-PCfe80::a179:b3ff",
        "/man6/WIN-RH3LM0VSFDG_W617601.73AD/81/",
        "/r.php?h=LAPTOP-7QK2M9XA&u=alice",
    };
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        http_prepare("POST", "gate.example.net", names[i], "", 0, 64, 0);
        http(c, v4(10, 0, 1, k), v4(198, 51, 100, k), 0);
        k++;
        CHECK_EQ(n_seen, i + 1);
        CHECK(strstr(seen[i].indicators, "identity_url") != NULL);
    }
    /* not a made-up Windows name: a product page, a name cut short or run
     * on, lower case, no name at all -- 3 each */
    static const char *const others[] = {
        "/shop/gaming-pc.php?id=7", "/x.php?b=DESKTOP-PU389H", "/x.php?b=DESKTOP-PU389HQX",
        "/x.php?b=desktop-pu389hq", "/x.php?b=WIN-RH3LM0VSFD", "/x.php?b=MYDESKTOP-PU389HQ",
        "/x.php?b=USER-PC2",
    };
    for (size_t i = 0; i < sizeof(others) / sizeof(others[0]); i++) {
        http_prepare("POST", "gate.example.net", others[i], "", 0, 64, 0);
        http(c, v4(10, 0, 1, k), v4(198, 51, 100, k), 0);
        k++;
    }
    CHECK_EQ(n_seen, 4);
    CHECK_EQ(raised(c, C2I_identity_url), 4);
    c2_channel_free(c);
    free_flows();
}

static void test_http_check_ins_at_steady_intervals(void)
{
    struct c2_channel *c = new_c2();
    struct ip_addr a = v4(10, 0, 0, 5), b = v4(10, 0, 0, 6), d = v4(10, 0, 0, 7);
    /* by address, no Accept-Language: 3; a check-in every 5 s (+/- 0.4),
     * each a burst of two requests 0.3 s apart: the sixth makes it 5 */
    static const double jitter[] = { 0, 0.4, -0.3, 0.2, -0.4, 0.1 };
    for (int i = 0; i < 6; i++) {
        double t = i * 5.0 + jitter[i];
        http_prepare("GET", "198.51.100.60", i % 2 ? "/news.php" : "/admin/get.php", CHROME,
                     NO_LANG, 0, 900);
        http(c, a, v4(198, 51, 100, 60), t);
        http(c, a, v4(198, 51, 100, 60), t + 0.3);
        CHECK_EQ(n_seen, i == 5);
    }
    CHECK_STR(seen[0].indicators, "no_name periodic bot_headers");
    CHECK_EQ(raised(c, C2I_periodic), 1);
    /* (a scheduled job's timing makes no server a suspect: 3 without it) */
    http_prepare("GET", "198.51.100.63", "/x.php?id=aB3dE5fG7hJ9kLmN", CHROME, NO_LANG, 0, 900);
    http(c, a, v4(198, 51, 100, 63), 40);
    CHECK_EQ(n_seen, 1);
    CHECK_EQ(raised(c, C2I_second_channel), 0);
    /* the same count of check-ins at irregular intervals: no period */
    static const double at[] = { 0, 2, 12, 14, 40, 41.5 };
    for (int i = 0; i < 6; i++) {
        http_prepare("GET", "198.51.100.61", i % 2 ? "/news.php" : "/admin/get.php", CHROME,
                     NO_LANG, 0, 900);
        http(c, b, v4(198, 51, 100, 61), at[i]);
    }
    CHECK_EQ(n_seen, 1);
    /* steady but faster than every 2 s: a page's own requests */
    for (int i = 0; i < 10; i++)
        http(c, d, v4(198, 51, 100, 62), i * 1.5);
    CHECK_EQ(n_seen, 1);
    CHECK_EQ(raised(c, C2I_periodic), 1);
    c2_channel_free(c);
    free_flows();
}

/* ---- flow ends and pair statistics ----------------------------------------- */

static void test_periodic_and_repeated_from_pair_statistics(void)
{
    struct c2_channel *c = new_c2();
    struct ip_addr me = v4(10, 0, 0, 5);
    /* something unknown on port 443, to a name: port_mismatch (2) */
    struct eta_pair_stats ps = { .conns = 4, .interval_mean = 300, .interval_cv = 0.6 };
    c2_on_flow_end(c, flow(me, v4(198, 51, 100, 41), 443, 6, APP_UNKNOWN, 0), &ps,
                   "cdn.example.net");
    CHECK_EQ(n_seen, 1);
    CHECK_STR(seen[0].indicators, "port_mismatch repeated periodic");
    CHECK_EQ(seen[0].observed, 5);
    CHECK(strstr(seen[0].detail, "(cdn.example.net); score 5") != NULL);
    /* the cases below from other clients (the first one's server at 5
     * would make each of them a second channel) */
    me = v4(10, 0, 0, 6);
    /* intervals varying by more than 0.6 of their mean */
    ps.interval_cv = 0.61;
    c2_on_flow_end(c, flow(me, v4(198, 51, 100, 42), 443, 6, APP_UNKNOWN, 0), &ps,
                   "cdn.example.net");
    /* under a second apart */
    ps.interval_cv = 0.1;
    ps.interval_mean = 0.99;
    c2_on_flow_end(c, flow(me, v4(198, 51, 100, 43), 443, 6, APP_UNKNOWN, 0), &ps,
                   "cdn.example.net");
    /* three connections: repeated, too few for a period */
    ps.interval_mean = 300;
    ps.conns = 3;
    c2_on_flow_end(c, flow(me, v4(198, 51, 100, 44), 443, 6, APP_UNKNOWN, 0), &ps,
                   "cdn.example.net");
    /* two: neither */
    ps.conns = 2;
    c2_on_flow_end(c, flow(me, v4(198, 51, 100, 45), 443, 6, APP_UNKNOWN, 0), &ps,
                   "cdn.example.net");
    CHECK_EQ(raised(c, C2I_periodic), 1);
    CHECK_EQ(raised(c, C2I_repeated), 4);
    CHECK_EQ(raised(c, C2I_port_mismatch), 5);
    CHECK_EQ(raised(c, C2I_unknown_protocol), 0); /* not counted twice */
    CHECK_EQ(n_seen, 1);
    /* a pair without other evidence is not made for its statistics */
    ps.conns = 10;
    ps.interval_cv = 0.05;
    uint64_t pairs = c2_channel_stats(c)->pairs_new;
    c2_on_flow_end(c, flow(me, v4(198, 51, 100, 46), 443, 6, APP_TLS, 0), &ps,
                   "www.example.com");
    CHECK_EQ(c2_channel_stats(c)->pairs_new, pairs);
    c2_channel_free(c);
    free_flows();
}

static void test_unknown_protocol_lone_channel_and_unanswered(void)
{
    struct c2_channel *c = new_c2();
    struct ip_addr me = v4(10, 0, 0, 5);
    /* a short single session: not (yet) a channel, lone or not */
    c2_on_flow_end(c, flow(v4(10, 0, 0, 7), v4(198, 51, 100, 49), 4444, 6, APP_UNKNOWN, 0),
                   NULL, "");
    CHECK_EQ(raised(c, C2I_lone_channel), 0);
    CHECK_EQ(n_seen, 0);
    /* an unknown protocol on an odd port, to a name, for a minute and a
     * half: 2 + 1, and the only such server this client has: + 1 = 4 */
    struct flow *lf = flow(me, v4(198, 51, 100, 50), 4444, 6, APP_UNKNOWN, 0);
    lf->last_usec = lf->first_usec + 90000000u;
    c2_on_flow_end(c, lf, NULL, "vpn.example.org");
    CHECK_EQ(n_seen, 0);
    CHECK_EQ(raised(c, C2I_lone_channel), 1);
    /* the same by address (no DNS name for it): 5 */
    lf = flow(v4(10, 0, 0, 6), v4(198, 51, 100, 51), 4444, 6, APP_UNKNOWN, 0);
    lf->last_usec = lf->first_usec + 90000000u;
    c2_on_flow_end(c, lf, NULL, "");
    CHECK_EQ(n_seen, 1);
    CHECK_STR(seen[0].indicators, "unknown_protocol odd_port no_name lone_channel");
    CHECK(strstr(seen[0].detail, "speaks an unknown protocol to this server only") != NULL);
    /* a second such server for the first client: not lone (and the
     * first, at 4, makes it a second channel: alerts) */
    lf = flow(me, v4(198, 51, 100, 52), 4444, 6, APP_UNKNOWN, 0);
    lf->last_usec = lf->first_usec + 90000000u;
    c2_on_flow_end(c, lf, NULL, "vpn2.example.org");
    CHECK_EQ(raised(c, C2I_lone_channel), 2);
    CHECK_EQ(raised(c, C2I_unknown_protocol), 4);
    CHECK_EQ(n_seen, 2);
    CHECK_STR(seen[1].indicators, "unknown_protocol odd_port second_channel");
    /* seen from its middle (no SYN), or on a port above 49151 */
    struct flow *f = flow(v4(10, 0, 0, 8), v4(198, 51, 100, 53), 4444, 6, APP_UNKNOWN, 0);
    f->dir[0].syn_seen = 0;
    c2_on_flow_end(c, f, NULL, "");
    CHECK_EQ(raised(c, C2I_unknown_protocol), 4);
    c2_on_flow_end(c, flow(v4(10, 0, 0, 8), v4(198, 51, 100, 54), 50123, 6, APP_UNKNOWN, 0),
                   NULL, "x.org");
    CHECK_EQ(raised(c, C2I_unknown_protocol), 5);
    CHECK_EQ(raised(c, C2I_odd_port), 4);
    /* data the server never answers (its SYN-ACK only), a third time */
    struct ip_addr u = v4(10, 0, 0, 9), s = v4(198, 51, 100, 55);
    for (int i = 0; i < 3; i++) {
        f = flow(u, s, 7777, 6, APP_UNKNOWN, i * 10);
        f->dir[1].pkts = 2;
        f->dir[1].payload_pkts = 0;
        f->dir[1].payload_bytes = 0;
        c2_on_flow_end(c, f, NULL, "sink.example.org");
        CHECK_EQ(raised(c, C2I_unanswered), i == 2);
    }
    /* unknown + odd + lone + repeated + unanswered: 6 */
    CHECK_EQ(n_seen, 3);
    CHECK_STR(seen[2].indicators,
              "unknown_protocol odd_port repeated unanswered lone_channel");
    CHECK_EQ(seen[2].observed, 6);
    c2_channel_free(c);
    free_flows();
}

/* An industrial port is a service only when its protocol is spoken there:
 * Modbus on 502 is nothing; something unknown on IEC 104's 2404 (Remcos's
 * default port) is an unknown protocol on an odd port. */
static void test_industrial_ports_need_their_protocol(void)
{
    struct c2_channel *c = new_c2();
    struct ip_addr me = v4(10, 0, 0, 5);
    c2_on_flow_end(c, flow(me, v4(198, 51, 100, 60), 502, 6, APP_MODBUS, 0), NULL, "");
    CHECK_EQ(raised(c, C2I_odd_port), 0);
    CHECK_EQ(raised(c, C2I_unknown_protocol), 0);
    c2_on_flow_end(c, flow(me, v4(198, 51, 100, 61), 2404, 6, APP_IEC104, 0), NULL, "");
    CHECK_EQ(raised(c, C2I_odd_port), 0);
    c2_on_flow_end(c, flow(me, v4(198, 51, 100, 62), 2404, 6, APP_UNKNOWN, 0), NULL, "");
    CHECK_EQ(raised(c, C2I_odd_port), 1);
    CHECK_EQ(raised(c, C2I_unknown_protocol), 1);
    c2_channel_free(c);
    free_flows();
}

static void test_port_mismatch(void)
{
    struct c2_channel *c = new_c2();
    struct ip_addr me = v4(10, 0, 0, 5);
    c2_on_flow_end(c, flow(me, v4(198, 51, 100, 1), 443, 6, APP_HTTP, 0), NULL, "a.org");
    c2_on_flow_end(c, flow(me, v4(198, 51, 100, 2), 80, 6, APP_TLS, 0), NULL, "a.org");
    c2_on_flow_end(c, flow(me, v4(198, 51, 100, 3), 993, 6, APP_HTTP, 0), NULL, "a.org");
    CHECK_EQ(raised(c, C2I_port_mismatch), 3);
    /* each protocol on its port; HTTP on a port that is not TLS's */
    c2_on_flow_end(c, flow(me, v4(198, 51, 100, 4), 443, 6, APP_TLS, 0), NULL, "a.org");
    c2_on_flow_end(c, flow(me, v4(198, 51, 100, 5), 80, 6, APP_HTTP, 0), NULL, "a.org");
    c2_on_flow_end(c, flow(me, v4(198, 51, 100, 6), 8080, 6, APP_HTTP, 0), NULL, "a.org");
    CHECK_EQ(raised(c, C2I_port_mismatch), 3);
    CHECK_EQ(c2_channel_stats(c)->pairs_new, 3);
    /* a dynamic DNS name as the server's passive-DNS name */
    c2_on_flow_end(c, flow(me, v4(198, 51, 100, 7), 443, 6, APP_TLS, 0), NULL,
                   "home.ddns.net");
    CHECK_EQ(raised(c, C2I_dynamic_dns), 1);
    CHECK_EQ(n_seen, 0);
    c2_channel_free(c);
    free_flows();
}

/* The decrypted side of an interception box: cleartext on TLS ports is
 * what TLS carried, no mismatch; non-TLS on 80 still is one. */
static void test_no_port_mismatch_on_a_decrypted_feed(void)
{
    struct c2_channel *c = new_c2();
    struct ip_addr me = v4(10, 0, 0, 5);
    struct flow *f = flow(me, v4(198, 51, 100, 1), 443, 6, APP_HTTP, 0);
    f->decrypted_feed = 1;
    c2_on_flow_end(c, f, NULL, "a.org");
    f = flow(me, v4(198, 51, 100, 3), 8443, 6, APP_HTTP, 0);
    f->decrypted_feed = 1;
    c2_on_flow_end(c, f, NULL, "a.org");
    CHECK_EQ(raised(c, C2I_port_mismatch), 0);
    f = flow(me, v4(198, 51, 100, 2), 80, 6, APP_TLS, 0);
    f->decrypted_feed = 1;
    c2_on_flow_end(c, f, NULL, "a.org");
    CHECK_EQ(raised(c, C2I_port_mismatch), 1);
    c2_channel_free(c);
    free_flows();
}

/* A trusted proxy's transaction is about the client it forwards for: the
 * pair, and the finding, are that client's. */
static void test_http_of_a_proxied_client_is_that_clients_pair(void)
{
    struct c2_channel *c = new_c2();
    struct ip_addr proxy = v4(10, 0, 0, 1), client = v4(10, 0, 0, 77);
    struct ip_addr server = v4(198, 51, 100, 9);
    /* by address, no User-Agent, a script POST: 4 points; periodic makes 6 */
    http_prepare("POST", "198.51.100.9", "/gate.php", "", 0, 1024, 0);
    for (int i = 0; i < 6; i++) {
        struct event_subject s = event_subject_of(flow(proxy, server, 80, 6, APP_HTTP, i * 30));
        s.client = client;
        s.forwarded = true;
        c2_on_http(c, &s, &tx, SEC(i * 30));
    }
    REQUIRE(n_seen >= 1);
    char a[64];
    CHECK_STR(ip_addr_str(&seen[0].host, 4, a, sizeof(a)), "10.0.0.77");
    CHECK(seen[0].forwarded);
    c2_channel_free(c);
    free_flows();
}

static struct flow *long_flow(uint8_t last, uint8_t app, uint16_t port, double dur,
                              uint32_t rounds, uint64_t out, uint64_t in)
{
    struct flow *f = flow(v4(10, 0, 0, 5), v4(198, 51, 100, last), port, 6, app, 0);
    f->last_usec = f->first_usec + (uint64_t)(dur * 1e6);
    f->rounds = rounds;
    f->dir[0].payload_bytes = out;
    f->dir[1].payload_bytes = in;
    return f;
}

static void test_heartbeat_sessions(void)
{
    struct c2_channel *c = new_c2();
    /* a minute, 6 rounds, 599 bytes a round, over TLS */
    c2_on_flow_end(c, long_flow(100, APP_TLS, 443, 60, 6, 1800, 1794), NULL, "a.org");
    CHECK_EQ(raised(c, C2I_heartbeat), 1);
    /* 600 bytes a round; a second short of a minute; 5 rounds */
    c2_on_flow_end(c, long_flow(101, APP_TLS, 443, 60, 6, 1800, 1800), NULL, "a.org");
    c2_on_flow_end(c, long_flow(102, APP_TLS, 443, 59.999999, 6, 1800, 1794), NULL, "a.org");
    c2_on_flow_end(c, long_flow(103, APP_TLS, 443, 60, 5, 1500, 1494), NULL, "a.org");
    CHECK_EQ(raised(c, C2I_heartbeat), 1);
    /* only one side spoke */
    struct flow *f = long_flow(104, APP_TLS, 443, 600, 6, 1800, 0);
    f->dir[1].payload_pkts = 0;
    c2_on_flow_end(c, f, NULL, "a.org");
    CHECK_EQ(raised(c, C2I_heartbeat), 1);
    /* SSH on its port: no other evidence, not TLS: not counted */
    c2_on_flow_end(c, long_flow(105, APP_SSH, 22, 600, 12, 3000, 3000), NULL, "a.org");
    CHECK_EQ(raised(c, C2I_heartbeat), 1);
    /* an unknown protocol's small session is */
    c2_on_flow_end(c, long_flow(106, APP_UNKNOWN, 4444, 600, 12, 3000, 3000), NULL, "a.org");
    CHECK_EQ(raised(c, C2I_heartbeat), 2);
    c2_channel_free(c);
    free_flows();
}

/* ---- DNS ------------------------------------------------------------------ */

static void dns_answer(struct c2_channel *c, struct ip_addr client, struct ip_addr server,
                       const char *name, uint8_t rcode, unsigned answers, double t)
{
    dns_prepare(name, true, rcode, answers);
    c2_on_dns(c, flow(client, server, 53, 17, APP_DNS, t), &dm, SEC(t));
}

static void test_dns_server_answering_names_under_tlds_that_do_not_exist(void)
{
    struct c2_channel *c = new_c2();
    struct ip_addr me = v4(10, 0, 0, 5), srv = v4(203, 0, 113, 53);
    /* real names: nothing, no pair */
    dns_answer(c, me, srv, "www.example.com", 0, 1, 0);
    dns_answer(c, me, srv, "example.co.uk.", 0, 1, 0);
    CHECK_EQ(c2_channel_stats(c)->pairs_new, 0);
    /* a name under a top-level domain that does not exist */
    dns_answer(c, me, srv, "116.1.gettasks", 0, 1, 1);
    CHECK_EQ(n_seen, 1);
    const struct finding *x = &seen[0];
    CHECK_EQ(x->severity, 2);
    CHECK(!x->strong);
    CHECK_EQ(x->port, 53);
    CHECK_EQ(x->observed, 5);
    CHECK(!memcmp(&x->peer, &srv, sizeof(srv)));
    CHECK_STR(x->indicators, "fake_tld direct_dns");
    CHECK_STR(x->detail,
              "this client asks a DNS server that answers names under top-level domains "
              "that do not exist; asks an outside DNS server directly, not a public "
              "resolver (answered 116.1.gettasks); score 5");
    /* a public resolver: 4, no alert */
    dns_answer(c, v4(10, 0, 0, 6), v4(8, 8, 8, 8), "116.1.gettasks.", 0, 1, 2);
    CHECK_EQ(n_seen, 1);
    CHECK_EQ(raised(c, C2I_fake_tld), 2);
    CHECK_EQ(raised(c, C2I_direct_dns), 1);
    /* no answer, an error, a single label, a query: nothing */
    uint64_t pairs = c2_channel_stats(c)->pairs_new;
    dns_answer(c, v4(10, 0, 0, 7), srv, "116.1.gettasks", 0, 0, 3);
    dns_answer(c, v4(10, 0, 0, 7), srv, "116.1.gettasks", 3, 1, 3);
    dns_answer(c, v4(10, 0, 0, 7), srv, "gettasks", 0, 1, 3);
    dns_prepare("116.1.gettasks", false, 0, 0);
    c2_on_dns(c, flow(v4(10, 0, 0, 7), srv, 53, 17, APP_DNS, 3), &dm, SEC(3));
    /* the network's own resolver */
    dns_answer(c, v4(10, 0, 0, 7), v4(10, 0, 0, 53), "printer.corp", 0, 1, 3);
    /* multicast DNS and broadcast: many listeners, no controller */
    dns_answer(c, v4(10, 0, 0, 7), v4(224, 0, 0, 251), "printer.local", 0, 1, 3);
    dns_answer(c, v4(10, 0, 0, 7), v4(255, 255, 255, 255), "printer.local", 0, 1, 3);
    CHECK_EQ(c2_channel_stats(c)->pairs_new, pairs);
    CHECK_EQ(n_seen, 1);
    c2_channel_free(c);
    free_flows();
}

static void test_dns_over_ipv6_and_ipv6_multicast(void)
{
    struct c2_channel *c = new_c2();
    struct ip_addr me, srv, mc;
    memset(&me, 0, sizeof(me));
    memset(&srv, 0, sizeof(srv));
    memset(&mc, 0, sizeof(mc));
    me.b[0] = 0xfd, me.b[15] = 5;                           /* fd00::5 */
    srv.b[0] = 0x20, srv.b[1] = 0x01, srv.b[2] = 0x0d, srv.b[3] = 0xb8, srv.b[15] = 0x53;
    mc.b[0] = 0xff, mc.b[1] = 0x02, mc.b[15] = 0xfb;        /* ff02::fb */
    dns_prepare("printer.local", true, 0, 1);
    struct flow *f = flow(me, mc, 5353, 17, APP_DNS, 0);
    f->key.ip_version = 6;
    c2_on_dns(c, f, &dm, SEC(0));
    CHECK_EQ(c2_channel_stats(c)->pairs_new, 0);
    dns_prepare("cmd.x.gettasks", true, 0, 1);
    f = flow(me, srv, 53, 17, APP_DNS, 1);
    f->key.ip_version = 6;
    c2_on_dns(c, f, &dm, SEC(1));
    CHECK_EQ(n_seen, 1);
    CHECK_EQ(seen[0].ip_version, 6);
    CHECK_STR(seen[0].indicators, "fake_tld direct_dns");
    c2_channel_free(c);
    free_flows();
}

static void test_pair_table_is_bounded(void)
{
    struct c2_config cfg;
    c2_config_defaults(&cfg);
    cfg.pairs = 4;                                /* one set of four */
    char err[128];
    CHECK(home_net_parse(&home, HOME_NET_DEFAULT, err, sizeof(err)));
    n_seen = 0;
    struct c2_channel *c = c2_channel_new(&cfg, &home, sink, NULL);
    CHECK(c2_channel_memory(c) > 0);
    http_prepare("GET", "a.example.com", "/a.css", "", 0, 0, 100);
    for (uint8_t i = 0; i < 5; i++)
        http(c, v4(10, 0, 0, 5), v4(198, 51, 100, i), i);
    CHECK_EQ(c2_channel_stats(c)->pairs_new, 5);
    CHECK_EQ(c2_channel_stats(c)->pairs_evicted, 1);
    c2_channel_free(c);
    free_flows();
    /* calls without a detector do nothing */
    c2_on_flow_end(NULL, NULL, NULL, NULL);
    c2_on_tls(NULL, NULL, NULL, NULL, 0);
}

TEST_LIST(test_tls_placeholder_cert_on_an_odd_port_alerts_once_per_level,
          test_a_second_server_that_scores_on_its_own,
          test_http_check_ins_at_steady_intervals,
          test_a_client_claiming_two_windows_versions,
          test_a_windows_computer_name_in_the_url,
          test_tls_to_an_internal_server_or_between_outsiders_is_not_judged,
          test_tls_on_a_service_port_needs_a_third_connection,
          test_tls_certificate_indicators_at_their_lines,
          test_http_browser_without_accept_language_posting_to_a_script,
          test_http_script_post_and_upload_lines, test_http_rotation_across_three_servers,
          test_http_polling_the_same_path_five_times,
          test_a_client_that_looked_up_its_public_address,
          test_periodic_and_repeated_from_pair_statistics,
          test_unknown_protocol_lone_channel_and_unanswered,
          test_industrial_ports_need_their_protocol, test_port_mismatch,
          test_no_port_mismatch_on_a_decrypted_feed,
          test_http_of_a_proxied_client_is_that_clients_pair,
          test_heartbeat_sessions, test_dns_server_answering_names_under_tlds_that_do_not_exist,
          test_dns_over_ipv6_and_ipv6_multicast, test_pair_table_is_bounded)
