/* anomaly.c -- baselines, outliers and behaviour models (see anomaly.h).
 *
 * Thresholds (docs/anomaly.md explains each): an outlier transfer is at
 * least volume_min_z robust standard deviations above the host's median
 * of its last 32 remote transfers and at least 1 MiB; exfiltration is such
 * a transfer of at least exfil_min_bytes, ten times what came back, to a
 * destination this host had not used before the transfer (or used at most
 * twice); a scan is scan_min_targets distinct hosts on one port (or ports
 * on one host) within scan_window_sec, at least half of them unanswered;
 * beaconing is beacon_min_conns connections from one client to one
 * server:port whose starts have a Fourier regularity of at least
 * beacon_min_regularity (tolerates jitter and missed check-ins), whose
 * intervals vary by less than half their mean and client byte counts by
 * less than their mean; DGA is dga_min_names
 * NXDOMAIN answers for random-looking names within dns_window_sec; a DNS
 * tunnel is tunnel_min_names names with a long random-looking label, or
 * five times that many TXT queries, in the same window.
 */
#include "detect/anomaly.h"
#include "util/table_mem.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpsl.h>

#include "detect/baseline.h"
#include "util/counters.h"
#include "eta/eta_features.h"
#include "flow/flow_table.h"
#include "proto/app_detect.h"
#include "proto/dns.h"
#include "util/text.h"

#define SCAN_SET 64
#define WAYS 4

struct scan_tracker {
    uint64_t key;                  /* 0: free */
    uint32_t window_start, last_seen;
    uint16_t distinct, failed, total;
    uint8_t kind;                  /* 0 horizontal, 1 vertical */
    uint8_t alerted;
    uint8_t v;
    uint16_t port;                 /* horizontal: the port */
    struct ip_addr src, dst;       /* vertical: the target */
    uint32_t seen[SCAN_SET];       /* target hashes (0: empty) */
};

/* Names one host asked under one parent domain, for tunnels that need few
 * queries: distinct encoded-looking first labels in the window. */
#define PARENT_NAMES 16
struct dns_parent {
    uint32_t key;                  /* host and parent hash; 0: free */
    uint32_t window, last_seen;
    uint16_t encoded, rare;        /* distinct encoded names; of them TXT/NULL/CNAME/MX */
    uint8_t alerted;
    uint32_t names[PARENT_NAMES];  /* hashes of the names counted */
};

struct anomaly {
    struct anomaly_config cfg;
    struct hosts *hosts;
    struct scan_tracker *scan;
    uint32_t scan_sets;
    struct dns_parent *parents;
    uint32_t parent_sets;
    finding_fn sink;
    void *ctx;
    struct anomaly_stats st;
};

void anomaly_config_defaults(struct anomaly_config *c)
{
    memset(c, 0, sizeof(*c));
    char err[128];
    home_net_parse(&c->home, HOME_NET_DEFAULT, err, sizeof(err));
    c->learning_sec = 86400;
    c->half_life_days = 7;
    c->hosts = 65536;
    c->pairs = 1u << 20;
    c->scan_trackers = 4096;
    c->scan_window_sec = 300;
    c->scan_min_targets = 20;
    c->beacon_min_conns = 8;
    c->beacon_min_regularity = 0.85;
    c->exfil_min_bytes = 8u << 20;
    c->volume_min_z = 6;
    c->dns_window_sec = 600;
    c->dga_min_names = 10;
    c->tunnel_min_names = 20;
}

struct anomaly *anomaly_new(const struct anomaly_config *c, finding_fn sink,
                            void *ctx)
{
    struct anomaly *a = calloc(1, sizeof(*a));
    if (!a)
        return NULL;
    a->cfg = *c;
    a->sink = sink;
    a->ctx = ctx;
    a->hosts = hosts_new(c->hosts, c->pairs);
    a->scan_sets = (c->scan_trackers + WAYS - 1) / WAYS;
    if (!a->scan_sets)
        a->scan_sets = 1;
    a->scan = table_mem_alloc((size_t)a->scan_sets * WAYS, sizeof(*a->scan));
    a->parent_sets = a->scan_sets;
    a->parents = table_mem_alloc((size_t)a->parent_sets * WAYS, sizeof(*a->parents));
    if (!a->hosts || !a->scan || !a->parents) {
        anomaly_free(a);
        return NULL;
    }
    return a;
}

void anomaly_free(struct anomaly *a)
{
    if (!a)
        return;
    hosts_free(a->hosts);
    table_mem_free(a->scan, (size_t)a->scan_sets * WAYS, sizeof(*a->scan));
    table_mem_free(a->parents, (size_t)a->parent_sets * WAYS, sizeof(*a->parents));
    free(a);
}

struct hosts *anomaly_hosts(struct anomaly *a) { return a->hosts; }
const struct anomaly_stats *anomaly_stats(const struct anomaly *a) { return &a->st; }

uint64_t anomaly_memory(const struct anomaly *a)
{
    return a ? sizeof(*a) + hosts_memory(a->hosts) +
                   (uint64_t)a->scan_sets * WAYS * sizeof(*a->scan) +
                   (uint64_t)a->parent_sets * WAYS * sizeof(*a->parents)
             : 0;
}

bool anomaly_is_internal(const struct anomaly *a, uint8_t v,
                         const struct ip_addr *addr)
{
    return home_net_contains(&a->cfg.home, v, addr);
}

/* ---- findings ---------------------------------------------------------- */

static void report(struct anomaly *a, struct finding *fd,
                   struct host_profile *p)
{
    fd->stage = finding_kind_stage[fd->kind];
    a->st.findings[fd->kind]++;
    if (p && !fd->anomaly)
        p->last_alert_usec = fd->ts_usec;
    if (a->sink)
        a->sink(a->ctx, fd);
}

static void finding_init(struct finding *fd, enum finding_kind kind,
                         const struct flow *f, bool anomaly, uint8_t sev)
{
    memset(fd, 0, sizeof(*fd));
    fd->kind = kind;
    fd->anomaly = anomaly;
    fd->severity = sev;
    fd->flow = f;
    fd->observed = fd->baseline = fd->deviation = NAN;
    if (f) {
        fd->ip_version = f->key.ip_version;
        fd->host = *flow_addr(f, 0);
        fd->peer = *flow_addr(f, 1);
        fd->has_peer = true;
        fd->port = flow_port(f, 1);
        fd->ts_usec = f->first_usec;
    }
}

/* ---- outliers and behaviour on a finished flow -------------------------- */

static bool answered(const struct flow *f)
{
    if (f->key.proto == 6)
        return f->dir[1].syn_seen || f->dir[1].payload_pkts > 0;
    return f->dir[1].pkts > 0;
}

static bool admin_port(uint16_t p)
{
    return p == 22 || p == 135 || p == 139 || p == 445 || p == 3389 ||
           p == 5985 || p == 5986 || p == 5900;
}

static bool learned(const struct anomaly *a, const struct host_profile *p,
                    uint32_t now)
{
    uint32_t epoch = hosts_epoch(a->hosts);
    return now >= epoch + a->cfg.learning_sec &&
           now >= p->first_seen + a->cfg.learning_sec;
}

static void check_new_pair(struct anomaly *a, const struct flow *f,
                           struct host_profile *p, bool peer_internal)
{
    uint16_t port = flow_port(f, 1);
    struct finding fd;
    if (peer_internal && admin_port(port)) {
        bool after = p->last_alert_usec &&
                     f->first_usec - p->last_alert_usec < 3600ull * 1000000;
        finding_init(&fd, FINDING_lateral_movement, f, false, after ? 1 : 2);
        fd.peer_internal = true;
        snprintf(fd.detail, sizeof(fd.detail),
                 "first connection from this host to an internal %s service "
                 "(port %u)%s", port == 3389 ? "RDP" : port == 22 ? "SSH"
                 : port == 445 || port == 139 ? "SMB" : port == 135 ? "RPC"
                 : port == 5900 ? "VNC" : "WinRM", port,
                 after ? ", within an hour of another finding on it" : "");
        report(a, &fd, p);
        return;
    }
    if (!peer_internal)
        return; /* new remote peers are every day's business */
    finding_init(&fd, FINDING_new_pair, f, true, 3);
    fd.peer_internal = true;
    snprintf(fd.detail, sizeof(fd.detail),
             "these two internal hosts never talked on port %u before", port);
    report(a, &fd, p);
}

static void check_volume(struct anomaly *a, const struct flow *f,
                         struct host_profile *p, const struct pair_entry *pe,
                         bool pair_new)
{
    uint64_t out = f->dir[0].payload_bytes, in = f->dir[1].payload_bytes;
    uint32_t n = p->out_n < HOST_OUT_SAMPLES ? p->out_n : HOST_OUT_SAMPLES;
    if (n < 8 || out < (1u << 20))
        return;
    double med, mad;
    median_mad(p->out_bytes, n, &med, &mad);
    double z = robust_z((double)out, med, mad, 0.5);
    if (z < a->cfg.volume_min_z)
        return;
    struct finding fd;
    bool exfil = out >= a->cfg.exfil_min_bytes && out >= 10 * (in + 1) &&
                 (pair_new || pe->flows <= 2);
    finding_init(&fd, exfil ? FINDING_exfiltration : FINDING_volume, f, !exfil,
                 exfil ? 2 : 3);
    fd.observed = (double)out;
    fd.baseline = med;
    fd.deviation = z;
    fd.unit = "bytes";
    snprintf(fd.detail, sizeof(fd.detail),
             "%llu bytes out (%llu back) against a median of %.0f over its "
             "last %u remote transfers: %.1f robust deviations%s",
             (unsigned long long)out, (unsigned long long)in, med, n, z,
             exfil ? (pair_new ? ", to a destination it never used before"
                               : ", to a destination it rarely uses")
                   : "");
    report(a, &fd, p);
}

static void check_new_port(struct anomaly *a, const struct flow *f,
                           struct host_profile *p, uint32_t before)
{
    uint16_t port = flow_port(f, 1);
    int known = 0;
    for (int i = 0; i < HOST_SERVICES_USED; i++)
        known += p->used[i].count > 0;
    if (before || known < 4 || port >= 49152)
        return;
    struct finding fd;
    finding_init(&fd, FINDING_new_port, f, true, 3);
    fd.observed = port;
    fd.unit = "port";
    snprintf(fd.detail, sizeof(fd.detail),
             "first use of %s port %u by this host (it uses %d others)",
             f->key.proto == 6 ? "TCP" : f->key.proto == 17 ? "UDP" : "IP",
             port, known - 1);
    report(a, &fd, p);
}

static bool tls_port(uint16_t p)
{
    static const uint16_t ports[] = { 443, 465, 563, 636, 853, 989, 990, 992,
                                      993, 994, 995, 1433, 3269, 3306, 3389,
                                      5061, 5223, 5432, 5986, 6697, 8443, 8883,
                                      9443, 25, 110, 143, 389, 587, 5222, 21 };
    for (size_t i = 0; i < sizeof(ports) / sizeof(ports[0]); i++)
        if (ports[i] == p)
            return true;
    return false;
}

/* What does not belong on its port: non-TLS on 443, TLS or SSH elsewhere
 * than usual, DNS off 53 or something else on 53. NULL when it fits. */
static const char *mismatch(const struct flow *f, char *buf, size_t n)
{
    uint16_t port = flow_port(f, 1);
    uint8_t app = f->app_proto;
    bool both = f->dir[0].payload_pkts && f->dir[1].payload_pkts;
    const char *name = app_proto_name((enum app_proto)app);
    if (!both)
        return NULL;
    /* on a decrypted feed the cleartext inside TLS is what is seen */
    bool decrypted = f->decrypted_feed != 0;
    if (f->key.proto == 6 && port == 443 && app != APP_TLS && !decrypted)
        snprintf(buf, n, "%s on TCP port 443, where TLS is expected",
                 app ? name : "an unrecognised protocol");
    else if (app == APP_TLS && !tls_port(port) && port < 49152)
        snprintf(buf, n, "TLS on TCP port %u", port);
    else if (app == APP_SSH && port != 22 && port != 2222)
        snprintf(buf, n, "SSH on port %u", port);
    else if (app == APP_DNS && port != 53 && port != 5353 && port != 5355)
        snprintf(buf, n, "DNS on port %u", port);
    else if (port == 53 && app != APP_DNS)
        snprintf(buf, n, "%s on port 53, where DNS is expected",
                 app ? name : "an unrecognised protocol");
    else
        return NULL;
    return buf;
}

static void check_mismatch(struct anomaly *a, const struct flow *f,
                           struct host_profile *p)
{
    struct finding fd;
    char what[160];
    if (!mismatch(f, what, sizeof(what)))
        return;
    finding_init(&fd, FINDING_proto_mismatch, f, true, 3);
    snprintf(fd.detail, sizeof(fd.detail), "%s", what);
    report(a, &fd, p);
}

static void check_beacon(struct anomaly *a, const struct flow *f,
                         struct host_profile *p, struct pair_entry *pe,
                         const struct eta_pair_stats *ps, bool peer_internal)
{
    uint16_t port = flow_port(f, 1);
    uint32_t now = (uint32_t)(f->first_usec / 1000000u);
    if (!ps || peer_internal || ps->conns < a->cfg.beacon_min_conns ||
        !(ps->regularity >= a->cfg.beacon_min_regularity) ||
        !(ps->interval_cv <= 0.5) || !(ps->bytes_cv < 1.0) ||
        !(ps->interval_mean >= 0.2) ||
        (f->key.proto == 17 && (port == 53 || port == 123)))
        return;
    if (pe->beacon_alerted && now - pe->beacon_alerted < 3600)
        return; /* once an hour per pair */
    pe->beacon_alerted = now ? now : 1;
    struct finding fd;
    finding_init(&fd, FINDING_beaconing, f, false, 2);
    fd.observed = ps->regularity;
    fd.baseline = a->cfg.beacon_min_regularity;
    fd.deviation = ps->interval_cv;
    fd.unit = "regularity";
    snprintf(fd.detail, sizeof(fd.detail),
             "%u connections to this server and port, every %.1f s on "
             "average (interval CV %.2f, Fourier regularity %.2f, client "
             "bytes CV %.2f)", ps->conns, ps->interval_mean, ps->interval_cv,
             ps->regularity, ps->bytes_cv);
    report(a, &fd, p);
}

/* ---- scans ---------------------------------------------------------------- */

static struct scan_tracker *tracker(struct anomaly *a, uint64_t key)
{
    struct scan_tracker *set = &a->scan[(size_t)((key >> 32) % a->scan_sets) * WAYS];
    struct scan_tracker *victim = &set[0];
    for (int i = 0; i < WAYS; i++) {
        if (set[i].key == key)
            return &set[i];
        if (!set[i].key || (victim->key && set[i].last_seen < victim->last_seen))
            victim = &set[i];
    }
    if (victim->key)
        a->st.scan_trackers_evicted++;
    memset(victim, 0, sizeof(*victim));
    victim->key = key;
    return victim;
}

static bool add_target(struct anomaly *a, struct scan_tracker *t, uint32_t h)
{
    h = h ? h : 1;
    for (uint32_t i = 0; i < SCAN_SET; i++) {
        uint32_t *s = &t->seen[(h + i) % SCAN_SET];
        if (*s == h)
            return false;
        if (!*s) {
            *s = h;
            return true;
        }
    }
    a->st.scan_sets_full++; /* count it as new: it is past any threshold */
    return true;
}

static void scan_probe(struct anomaly *a, const struct flow *f, int kind,
                       struct host_profile *p)
{
    uint8_t v = f->key.ip_version;
    uint16_t port = flow_port(f, 1);
    const struct ip_addr *src = flow_addr(f, 0), *dst = flow_addr(f, 1);
    uint32_t now = (uint32_t)(f->first_usec / 1000000u);
    uint32_t h = fnv1a(FNV1A_SEED, src, sizeof(*src));
    h = fnv1a(h, &kind, sizeof(kind));
    h = kind ? fnv1a(h, dst, sizeof(*dst)) : fnv1a(h, &port, sizeof(port));
    uint64_t key = ((uint64_t)h << 32) | (uint32_t)(f->key.proto + 1);
    struct scan_tracker *t = tracker(a, key);
    if (!t->window_start || now - t->window_start > a->cfg.scan_window_sec) {
        uint64_t k = t->key;
        memset(t, 0, sizeof(*t));
        t->key = k;
        t->window_start = now;
        t->kind = (uint8_t)kind;
        t->v = v;
        t->src = *src;
        t->dst = *dst;
        t->port = port;
    }
    t->last_seen = now;
    t->total++;
    t->failed += !answered(f);
    uint32_t target = kind ? fnv1a(FNV1A_SEED, &port, sizeof(port))
                           : fnv1a(FNV1A_SEED, dst, sizeof(*dst));
    if (add_target(a, t, target) && t->distinct < UINT16_MAX)
        t->distinct++;
    if (t->alerted || t->distinct < a->cfg.scan_min_targets ||
        t->failed * 2 < t->total)
        return;
    t->alerted = 1;
    struct finding fd;
    finding_init(&fd, kind ? FINDING_scan_vertical : FINDING_scan_horizontal, f,
                 false, 2);
    fd.has_peer = kind == 1;
    fd.port = kind ? 0 : port;
    fd.observed = t->distinct;
    fd.baseline = a->cfg.scan_min_targets;
    fd.unit = kind ? "ports" : "hosts";
    char dbuf[64];
    if (kind)
        snprintf(fd.detail, sizeof(fd.detail),
                 "%u ports of %s probed within %u s, %u of %u probes unanswered",
                 t->distinct, ip_addr_str(dst, v, dbuf, sizeof(dbuf)),
                 now - t->window_start, t->failed, t->total);
    else
        snprintf(fd.detail, sizeof(fd.detail),
                 "%u hosts probed on %s port %u within %u s, %u of %u probes "
                 "unanswered", t->distinct,
                 f->key.proto == 6 ? "TCP" : f->key.proto == 17 ? "UDP" : "ICMP",
                 port, now - t->window_start, t->failed, t->total);
    report(a, &fd, p);
}

/* A probe: the client sent nothing (TCP) or got nothing back (UDP, ICMP). */
static void check_scan(struct anomaly *a, const struct flow *f,
                       struct host_profile *p)
{
    bool probe = f->key.proto == 6 ? f->dir[0].payload_pkts == 0
                                   : f->dir[1].pkts == 0;
    /* UDP from a service port to an ephemeral one is a service's answer
     * whose question the capture missed (a DNS server's replies), not a
     * probe */
    if (f->key.proto == 17 && flow_port(f, 0) < 1024 && flow_port(f, 1) >= 1024)
        return;
    if (!probe)
        return;
    scan_probe(a, f, 0, p);
    if (f->key.proto == 6 || f->key.proto == 17)
        scan_probe(a, f, 1, p);
}

/* ---- the hour that ends -------------------------------------------------- */

/* Before a profile's hour rolls into its baselines: an hour whose upload is
 * ten times that hour-of-day's baseline (and at least 50 MB), or whose new
 * peers are ten times the usual (and at least 50), is an outlier. */
static void check_hour(struct anomaly *a, struct host_profile *p, uint32_t now,
                       const struct flow *f)
{
    if (now / 3600 <= p->cur_hour || !learned(a, p, now))
        return;
    int b = (int)(p->cur_hour % 24);
    struct finding fd;
    if ((p->hours_init & (1u << b)) && p->hour_bytes_out >= (50ull << 20) &&
        p->hour_bytes_out > 10.0 * p->bytes_out[b]) {
        finding_init(&fd, FINDING_hourly_volume, f, true, 3);
        fd.has_peer = false;
        fd.port = 0;
        fd.observed = (double)p->hour_bytes_out;
        fd.baseline = p->bytes_out[b];
        fd.deviation = p->bytes_out[b] > 0 ? p->hour_bytes_out / p->bytes_out[b] : NAN;
        fd.unit = "bytes";
        snprintf(fd.detail, sizeof(fd.detail),
                 "%llu bytes sent in the hour from %02d:00 UTC, against %.0f "
                 "usually at that hour", (unsigned long long)p->hour_bytes_out,
                 b, p->bytes_out[b]);
        report(a, &fd, p);
    }
    if (p->hour_new_peers >= 50 && p->hour_new_peers > 10.0 * p->new_peers) {
        finding_init(&fd, FINDING_fanout, f, true, 3);
        fd.has_peer = false;
        fd.port = 0;
        fd.observed = p->hour_new_peers;
        fd.baseline = p->new_peers;
        fd.unit = "peers";
        snprintf(fd.detail, sizeof(fd.detail),
                 "%u new peers in an hour, against %.1f usually",
                 p->hour_new_peers, p->new_peers);
        report(a, &fd, p);
    }
}

/* ---- the flow ---------------------------------------------------------- */

static void update_server(struct anomaly *a, const struct flow *f, uint32_t now)
{
    uint8_t v = f->key.ip_version;
    if (!anomaly_is_internal(a, v, flow_addr(f, 1)) || !answered(f))
        return;
    struct host_profile *s = hosts_get(a->hosts, v, flow_addr(f, 1), now, true);
    host_roll_hours(s, now, a->cfg.half_life_days);
    s->last_seen = now > s->last_seen ? now : s->last_seen;
    host_service_touch(s->offered, HOST_SERVICES_OFFERED, flow_port(f, 1),
                       f->key.proto, f->app_proto);
}

void anomaly_on_flow(struct anomaly *a, const struct flow *f,
                     const struct eta_pair_stats *ps)
{
    if (!a)
        return;
    a->st.flows++;
    uint8_t v = f->key.ip_version;
    uint32_t now = (uint32_t)(f->first_usec / 1000000u);
    if (!hosts_epoch(a->hosts))
        hosts_set_epoch(a->hosts, now ? now : 1);
    update_server(a, f, now);
    const struct ip_addr *client = flow_addr(f, 0), *server = flow_addr(f, 1);
    if (!anomaly_is_internal(a, v, client)) {
        check_scan(a, f, NULL); /* scans from outside are recon against us */
        return;
    }
    bool peer_internal = anomaly_is_internal(a, v, server);
    struct host_profile *p = hosts_get(a->hosts, v, client, now, true);
    check_hour(a, p, now, f);
    host_roll_hours(p, now, a->cfg.half_life_days);
    if (now > p->last_seen)
        p->last_seen = now;
    bool pair_new;
    struct pair_entry *pe = pairs_touch(a->hosts, v, client, server,
                                        flow_port(f, 1), f->key.proto, now,
                                        &pair_new);
    uint64_t out = f->dir[0].payload_bytes;
    p->hour_conns++;
    p->hour_bytes_out += out;
    p->hour_bytes_in += f->dir[1].payload_bytes;
    p->hour_new_peers += pair_new;
    p->flows++;
    uint32_t before = answered(f) ? host_service_touch(p->used, HOST_SERVICES_USED,
                                                       flow_port(f, 1),
                                                       f->key.proto, f->app_proto)
                                  : 1;
    check_scan(a, f, p);
    check_beacon(a, f, p, pe, ps, peer_internal);
    check_mismatch(a, f, p);
    if (learned(a, p, now)) {
        if (pair_new && answered(f))
            check_new_pair(a, f, p, peer_internal);
        if (!peer_internal)
            check_volume(a, f, p, pe, pair_new);
        check_new_port(a, f, p, before);
    } else {
        a->st.learning_suppressed++;
    }
    pe->flows++;
    pe->bytes_out = ewma_update(pe->bytes_out, (double)out, 0.2, pe->flows == 1);
    if (!peer_internal && out) {
        p->out_bytes[p->out_n % HOST_OUT_SAMPLES] =
            out > UINT32_MAX ? UINT32_MAX : (uint32_t)out;
        p->out_n++;
    }
}

void anomaly_note_server(struct anomaly *a, uint8_t v,
                         const struct ip_addr *server, uint64_t now_usec)
{
    if (a && anomaly_is_internal(a, v, server))
        hosts_get(a->hosts, v, server, (uint32_t)(now_usec / 1000000u), true);
}

void anomaly_note_alert(struct anomaly *a, uint8_t v, const struct ip_addr *host,
                        uint64_t now_usec)
{
    if (!a)
        return;
    struct host_profile *p = hosts_get(a->hosts, v, host,
                                       (uint32_t)(now_usec / 1000000u), false);
    if (p)
        p->last_alert_usec = now_usec;
}

/* ---- DNS ------------------------------------------------------------------ */

/* A label that looks generated: long enough, high entropy, few vowels. */
static bool random_label(const char *label, size_t n, size_t min_len,
                         double min_entropy)
{
    if (n < min_len || n > 63)
        return false;
    char buf[64];
    memcpy(buf, label, n);
    buf[n] = 0;
    return eta_text_entropy(buf) >= min_entropy;
}

static bool dga_name(const char *name)
{
    size_t n = strcspn(name, ".");
    if (!name[n])
        return false; /* a bare label */
    unsigned vowels = 0, digits = 0;
    for (size_t i = 0; i < n; i++) {
        char c = (char)(name[i] | 0x20);
        vowels += c == 'a' || c == 'e' || c == 'i' || c == 'o' || c == 'u';
        digits += name[i] >= '0' && name[i] <= '9';
    }
    return random_label(name, n, 8, 3.0) && (vowels * 5 < n || digits * 4 >= n);
}

static bool tunnel_name(const char *name)
{
    for (const char *l = name; *l;) {
        size_t n = strcspn(l, ".");
        if (random_label(l, n, 32, 3.8))
            return true;
        l += n + (l[n] == '.');
    }
    return false;
}

static void dns_finding(struct anomaly *a, const struct flow *f,
                        struct host_profile *p, enum finding_kind kind,
                        uint32_t count, const char *example, uint64_t now)
{
    struct finding fd;
    finding_init(&fd, kind, f, false, 2);
    fd.ts_usec = now;
    fd.has_peer = true;
    fd.observed = count;
    fd.baseline = kind == FINDING_dga ? a->cfg.dga_min_names : a->cfg.tunnel_min_names;
    fd.unit = "names";
    snprintf(fd.detail, sizeof(fd.detail),
             kind == FINDING_dga
                 ? "%u NXDOMAIN answers for random-looking names within %u s, "
                   "e.g. %.120s"
                 : "%u queries with long random-looking labels or TXT within "
                   "%u s, e.g. %.120s",
             count, a->cfg.dns_window_sec, example);
    report(a, &fd, p);
}

/* The parent a name's first label hangs under: its registrable domain
 * (Public Suffix List), or its last two labels when it has none. */
static const char *parent_of(const char *name)
{
    const psl_ctx_t *psl = psl_builtin(); /* built in: a constant */
    const char *first = strchr(name, '.');
    if (!first || !first[1])
        return NULL;
    const char *reg = psl ? psl_registrable_domain(psl, name) : NULL;
    if (reg && reg != name)
        return reg;
    size_t n = strlen(name);
    int dots = 0;
    for (size_t i = n; i-- > 0;)
        if (name[i] == '.' && ++dots == 2)
            return name + i + 1;
    return first + 1;
}

/* A first label that carries data, not words: base64 (upper and lower
 * case mixed: DNS ignores case, an encoding does not), base32 or hex
 * (digits among letters), or letters too varied and too poor in vowels
 * for a word. */
static bool encoded_label(const char *label, size_t n, size_t min_len)
{
    if (n < min_len || n > 63)
        return false;
    char buf[64];
    unsigned vowels = 0, digits = 0, upper = 0, lower = 0;
    for (size_t i = 0; i < n; i++) {
        char c = label[i];
        buf[i] = c;
        upper += c >= 'A' && c <= 'Z';
        lower += c >= 'a' && c <= 'z';
        digits += c >= '0' && c <= '9';
        c = (char)(c | 0x20);
        vowels += c == 'a' || c == 'e' || c == 'i' || c == 'o' || c == 'u';
    }
    buf[n] = 0;
    double h = eta_text_entropy(buf);
    if (upper >= 2 && lower >= 2 && h >= 2.8)
        return true;
    if (digits >= 2 && digits < n && h >= 2.8)
        return true;
    return vowels * 10 < n * 3 && h >= 0.8 * log2((double)n);
}

static struct dns_parent *parent_entry(struct anomaly *a, uint32_t key, uint32_t now)
{
    struct dns_parent *set = &a->parents[(size_t)(key % a->parent_sets) * WAYS];
    struct dns_parent *victim = &set[0];
    for (int i = 0; i < WAYS; i++) {
        if (set[i].key == key)
            return &set[i];
        if (!set[i].key || (victim->key && set[i].last_seen < victim->last_seen))
            victim = &set[i];
    }
    memset(victim, 0, sizeof(*victim));
    victim->key = key;
    victim->window = now;
    return victim;
}

/* Tunnels with few queries: under one parent, 8 distinct names whose first
 * label is encoded data asked as TXT/NULL/CNAME/MX (the records a tunnel
 * reads its answers from), or 12 with labels of 24 characters or more of
 * any type. */
static void check_parent(struct anomaly *a, const struct flow *f,
                         struct host_profile *p, const struct dns_msg *m,
                         uint32_t now, uint64_t now_usec)
{
    const char *name = m->q[0].name;
    uint16_t type = m->q[0].type;
    const char *parent = parent_of(name);
    if (!parent)
        return;
    size_t first = strcspn(name, ".");
    bool rare = type == 16 || type == 10 || type == 5 || type == 15;
    if (!encoded_label(name, first, rare ? 8 : 24))
        return;
    uint32_t key = fnv1a(fnv1a(FNV1A_SEED, flow_addr(f, 0), sizeof(struct ip_addr)),
                         parent, strlen(parent));
    key = key ? key : 1;
    struct dns_parent *e = parent_entry(a, key, now);
    e->last_seen = now;
    if (now - e->window > a->cfg.dns_window_sec) {
        memset(e->names, 0, sizeof(e->names));
        e->encoded = e->rare = 0;
        e->window = now;
        e->alerted = 0;
    }
    uint32_t h = fnv1a(FNV1A_SEED, name, strlen(name)) | 1u;
    for (int i = 0; i < PARENT_NAMES; i++)
        if (e->names[i] == h)
            return; /* asked before: no new data */
    e->names[(e->encoded + e->rare) % PARENT_NAMES] = h;
    if (rare)
        e->rare += e->rare < UINT16_MAX;
    else
        e->encoded += e->encoded < UINT16_MAX;
    if (e->alerted || (e->rare < 8 && e->encoded < 12))
        return;
    e->alerted = 1;
    if (p->dns_alerted & 2)
        return; /* the volume rule said it already */
    p->dns_alerted |= 2;
    struct finding fd;
    finding_init(&fd, FINDING_dns_tunnel, f, false, 2);
    fd.ts_usec = now_usec;
    fd.observed = e->rare >= 8 ? e->rare : e->encoded;
    fd.baseline = e->rare >= 8 ? 8 : 12;
    fd.unit = "names";
    snprintf(fd.indicators, sizeof(fd.indicators), "%s",
             e->rare >= 8 ? "encoded_labels_txt_null_cname_mx" : "encoded_labels");
    snprintf(fd.detail, sizeof(fd.detail),
             "%u distinct names under %.80s whose first label is encoded data, "
             "%u of them asked as TXT, NULL, CNAME or MX, within %u s, e.g. %.120s",
             e->rare + e->encoded, parent, e->rare, now - e->window, name);
    report(a, &fd, p);
}

void anomaly_on_dns(struct anomaly *a, const struct flow *f,
                    const struct dns_msg *m, uint64_t now_usec)
{
    if (!a || !m->n_questions || !anomaly_is_internal(a, f->key.ip_version,
                                                      flow_addr(f, 0)))
        return;
    a->st.dns_messages++;
    uint32_t now = (uint32_t)(now_usec / 1000000u);
    struct host_profile *p = hosts_get(a->hosts, f->key.ip_version,
                                       flow_addr(f, 0), now, true);
    host_roll_hours(p, now, a->cfg.half_life_days);
    if (!p->dns_window || now - p->dns_window > a->cfg.dns_window_sec) {
        p->dns_window = now;
        p->dga_names = p->tunnel_names = p->txt_queries = 0;
        p->dns_alerted = 0;
    }
    const char *name = m->q[0].name;
    if (!m->response) {
        p->hour_dns++;
        check_parent(a, f, p, m, now, now_usec);
        if (m->q[0].type == 16 && p->txt_queries < UINT16_MAX)
            p->txt_queries++;
        if (tunnel_name(name) && p->tunnel_names < UINT16_MAX)
            p->tunnel_names++;
        if (!(p->dns_alerted & 2) && (p->tunnel_names >= a->cfg.tunnel_min_names ||
                                      p->txt_queries >= 5 * a->cfg.tunnel_min_names)) {
            p->dns_alerted |= 2;
            dns_finding(a, f, p, FINDING_dns_tunnel,
                        p->tunnel_names > p->txt_queries / 5 ? p->tunnel_names
                                                             : p->txt_queries,
                        name, now_usec);
        }
        return;
    }
    if (m->rcode != 3)
        return;
    p->hour_nx++;
    if (dga_name(name) && p->dga_names < UINT16_MAX)
        p->dga_names++;
    if (!(p->dns_alerted & 1) && p->dga_names >= a->cfg.dga_min_names) {
        p->dns_alerted |= 1;
        dns_finding(a, f, p, FINDING_dga, p->dga_names, name, now_usec);
    }
}

static uint64_t host_count(const void *ctx) { return hosts_count((struct hosts *)ctx); }

void anomaly_counters(const struct anomaly *a, struct counters *r)
{
    const struct hosts_stats *h = hosts_stats(a->hosts);
    counters_u64(r, "anomaly.flows", &a->st.flows);
    counters_u64(r, "anomaly.dns_messages", &a->st.dns_messages);
    counters_fn(r, "anomaly.hosts", host_count, a->hosts);
    counters_u64(r, "anomaly.hosts_evicted", &h->hosts_evicted);
    counters_u64(r, "anomaly.pairs_new", &h->pairs_new);
    counters_u64(r, "anomaly.pairs_evicted", &h->pairs_evicted);
    counters_u64(r, "anomaly.scan_trackers_evicted", &a->st.scan_trackers_evicted);
    counters_u64(r, "anomaly.scan_sets_full", &a->st.scan_sets_full);
    counters_u64(r, "anomaly.learning_suppressed", &a->st.learning_suppressed);
    counters_u64(r, "anomaly.state_saves", &h->saves);
    counters_u64(r, "anomaly.state_save_errors", &h->save_errors);
    counters_u64(r, "anomaly.state_loaded_hosts", &h->loaded_hosts);
    counters_u64(r, "anomaly.state_loaded_pairs", &h->loaded_pairs);
    for (int k = 0; k < FINDING_COUNT; k++)
        counters_u64f(r, &a->st.findings[k], "anomaly.findings.%s",
                      finding_kind_names[k]);
}
