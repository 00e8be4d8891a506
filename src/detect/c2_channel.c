/* c2_channel.c -- per-pair evidence of a command and control channel (see
 * c2_channel.h). */
#include "detect/c2_channel.h"
#include "util/table_mem.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <libpsl.h>

#include "detect/indicators.h"
#include "proto/dns.h"
#include "eta/eta_features.h"
#include "fingerprint/summary.h"
#include "flow/flow_table.h"
#include "proto/app_detect.h"
#include "proto/http.h"
#include "proto/tls.h"
#include "util/counters.h"
#include "util/text.h"

#define WAYS 4
#define NAME_LEN 64
#define EXAMPLE_LEN 96

const char *const c2_indicator_names[C2I_COUNT] = {
#define X(name, weight, what) #name,
    C2_INDICATORS(X)
#undef X
};

const uint8_t c2_indicator_weights[C2I_COUNT] = {
#define X(name, weight, what) weight,
    C2_INDICATORS(X)
#undef X
};

static const char *const indicator_what[C2I_COUNT] = {
#define X(name, weight, what) what,
    C2_INDICATORS(X)
#undef X
};

struct c2_pair {
    uint32_t hash;                 /* 0: free */
    uint8_t v, proto;
    uint16_t port;
    struct ip_addr client, server;
    uint32_t last_seen;            /* seconds of traffic time */
    uint32_t conns;                /* flows ended since the pair was made */
    uint32_t ind;                  /* bit per enum c2_indicator */
    uint32_t path_hash;            /* the URL path last requested */
    uint16_t same_path;            /* requests for it in a row */
    uint16_t unanswered;           /* flows whose data got no reply */
    uint16_t checkins;             /* HTTP check-in intervals counted */
    uint32_t req_prev_ms;          /* the last request (traffic time, ms) */
    uint32_t checkin_ms;           /* the first request of the last check-in */
    float checkin_mean, checkin_m2; /* their intervals (Welford), seconds */
    uint8_t alerted;               /* 0, 1 alert, 2 strong */
    char name[NAME_LEN];           /* SNI, Host or DNS name seen */
    char example[EXAMPLE_LEN];     /* a certificate subject, User-Agent, URL */
};

#define ROTATION_PATHS 4
#define ROTATION_SERVERS 3
#define CUSTOM_PEERS 4
#define SUSPECT_SERVERS 2
#define SUSPECT_SCORE 4            /* a server that counts for second_channel */

/* What one internal client did across its pairs. */
struct c2_client {
    uint32_t hash;                 /* 0: free */
    uint8_t v;
    struct ip_addr addr;
    uint32_t last_seen;
    bool ip_check;                 /* looked up its public address */
    uint8_t windows;               /* the Windows version its browser claimed */
    uint8_t n_custom;              /* servers spoken an unknown protocol to */
    uint32_t custom[CUSTOM_PEERS];
    uint32_t suspect[SUSPECT_SERVERS]; /* servers scoring SUSPECT_SCORE alone */
    struct {
        uint32_t path;             /* script path hash (0: free) */
        uint32_t server[ROTATION_SERVERS];
    } rot[ROTATION_PATHS];
};

struct c2_channel {
    struct c2_config cfg;
    struct home_net home;
    struct c2_pair *slot;
    uint32_t sets;
    struct c2_client *clients;
    uint32_t client_sets;
    finding_fn sink;
    void *ctx;
    struct c2_stats st;
    /* the last User-Agent classified: a client repeats its own */
    char last_ua[sizeof(((struct http_tx *)0)->user_agent)];
    enum ua_class last_ua_class;
};

static uint32_t score_of(uint32_t ind);

void c2_config_defaults(struct c2_config *c)
{
    c->pairs = 16384;
    c->min_score = 5;
    c->strong_score = 7;
}

struct c2_channel *c2_channel_new(const struct c2_config *cfg,
                                  const struct home_net *home, finding_fn sink,
                                  void *ctx)
{
    struct c2_channel *c = calloc(1, sizeof(*c));
    if (!c)
        return NULL;
    c->cfg = *cfg;
    c->home = *home;
    c->sink = sink;
    c->ctx = ctx;
    c->sets = (cfg->pairs + WAYS - 1) / WAYS;
    if (!c->sets)
        c->sets = 1;
    c->slot = table_mem_alloc((size_t)c->sets * WAYS, sizeof(*c->slot));
    c->client_sets = c->sets / 4 ? c->sets / 4 : 1;
    c->clients = table_mem_alloc((size_t)c->client_sets * WAYS, sizeof(*c->clients));
    if (!c->slot || !c->clients) {
        c2_channel_free(c);
        return NULL;
    }
    return c;
}

void c2_channel_free(struct c2_channel *c)
{
    if (!c)
        return;
    table_mem_free(c->slot, (size_t)c->sets * WAYS, sizeof(*c->slot));
    table_mem_free(c->clients, (size_t)c->client_sets * WAYS, sizeof(*c->clients));
    free(c);
}

uint64_t c2_channel_memory(const struct c2_channel *c)
{
    return c ? sizeof(*c) + (uint64_t)c->sets * WAYS * sizeof(*c->slot) +
                   (uint64_t)c->client_sets * WAYS * sizeof(*c->clients)
             : 0;
}

const struct c2_stats *c2_channel_stats(const struct c2_channel *c)
{
    return &c->st;
}

/* ---- the pair table ---------------------------------------------------- */

/* Who talks to whom: a flow's ends, or an HTTP transaction's (the client
 * a trusted proxy spoke for, detect/proxy.h). */
struct pair_key {
    uint8_t v, proto;
    uint16_t port;
    struct ip_addr client, server;
};

static struct pair_key key_of_flow(const struct flow *f)
{
    struct pair_key k = { .v = f->key.ip_version, .proto = f->key.proto,
                          .port = flow_port(f, 1), .client = *flow_addr(f, 0),
                          .server = *flow_addr(f, 1) };
    return k;
}

static struct pair_key key_of_subject(const struct event_subject *s)
{
    struct pair_key k = { .v = s->ip_version, .proto = s->flow->key.proto,
                          .port = s->server_port, .client = s->client,
                          .server = s->server };
    return k;
}

static uint32_t pair_hash(const struct pair_key *k)
{
    uint32_t h = fnv1a(FNV1A_SEED, &k->client, sizeof(struct ip_addr));
    h = fnv1a(h, &k->server, sizeof(struct ip_addr));
    h = fnv1a(h, &k->port, sizeof(k->port));
    h = fnv1a(h, &k->proto, 1);
    return h ? h : 1;
}

static bool same_pair(const struct c2_pair *p, const struct pair_key *k)
{
    return p->proto == k->proto && p->v == k->v && p->port == k->port &&
           !memcmp(&p->client, &k->client, sizeof(p->client)) &&
           !memcmp(&p->server, &k->server, sizeof(p->server));
}

/* The pair of flow f; made when create is set (else NULL when absent).
 * Only pairs whose client is internal are kept. */
/* Multicast and broadcast: many listeners, no controller. */
static bool group_address(uint8_t v, const struct ip_addr *a)
{
    if (v == 6)
        return a->b[0] == 0xff;
    return (a->b[0] & 0xf0) == 0xe0 ||
           (a->b[0] == 255 && a->b[1] == 255 && a->b[2] == 255 && a->b[3] == 255);
}

static struct c2_pair *pair_of_key(struct c2_channel *c, const struct pair_key *k,
                                   bool create)
{
    if (!home_net_contains(&c->home, k->v, &k->client) ||
        group_address(k->v, &k->server))
        return NULL;
    uint32_t h = pair_hash(k);
    struct c2_pair *set = &c->slot[(size_t)(h % c->sets) * WAYS];
    struct c2_pair *victim = &set[0];
    for (int i = 0; i < WAYS; i++) {
        if (set[i].hash == h && same_pair(&set[i], k))
            return &set[i];
        if (!set[i].hash || (victim->hash && set[i].last_seen < victim->last_seen))
            victim = &set[i];
    }
    if (!create)
        return NULL;
    if (victim->hash)
        c->st.pairs_evicted++;
    memset(victim, 0, sizeof(*victim));
    victim->hash = h;
    victim->v = k->v;
    victim->proto = k->proto;
    victim->port = k->port;
    victim->client = k->client;
    victim->server = k->server;
    c->st.pairs_new++;
    return victim;
}

static struct c2_pair *pair_of(struct c2_channel *c, const struct flow *f,
                               bool create)
{
    struct pair_key k = key_of_flow(f);
    return pair_of_key(c, &k, create);
}

static struct c2_client *client_of(struct c2_channel *c, uint8_t v,
                                   const struct ip_addr *a, uint32_t now,
                                   bool create)
{
    uint32_t h = fnv1a(FNV1A_SEED, a, sizeof(*a));
    h = h ? h : 1;
    struct c2_client *set = &c->clients[(size_t)(h % c->client_sets) * WAYS];
    struct c2_client *victim = &set[0];
    for (int i = 0; i < WAYS; i++) {
        if (set[i].hash == h && set[i].v == v && !memcmp(&set[i].addr, a, sizeof(*a))) {
            set[i].last_seen = now;
            return &set[i];
        }
        if (!set[i].hash || (victim->hash && set[i].last_seen < victim->last_seen))
            victim = &set[i];
    }
    if (!create)
        return NULL;
    if (victim->hash)
        c->st.clients_evicted++;
    memset(victim, 0, sizeof(*victim));
    victim->hash = h;
    victim->v = v;
    victim->addr = *a;
    victim->last_seen = now;
    return victim;
}

/* Adds x to a small set (0 is never stored); returns the set's size. */
static unsigned set_add(uint32_t *set, unsigned cap, uint32_t x)
{
    x = x ? x : 1;
    unsigned n = 0;
    for (unsigned i = 0; i < cap; i++) {
        if (set[i] == x)
            x = 0;
        n += set[i] != 0;
    }
    for (unsigned i = 0; x && i < cap; i++)
        if (!set[i]) {
            set[i] = x;
            return n + 1;
        }
    return n;
}

/* The client asked this server for this script path: how many servers
 * has it asked for it? */
static unsigned rotation(struct c2_client *cl, uint32_t path, uint32_t server)
{
    int slot = -1;
    for (int i = 0; i < ROTATION_PATHS; i++) {
        if (cl->rot[i].path == path) {
            slot = i;
            break;
        }
        if (slot < 0 && !cl->rot[i].path)
            slot = i;
    }
    if (slot < 0)
        slot = (int)(path % ROTATION_PATHS); /* replace one */
    if (cl->rot[slot].path != path) {
        memset(&cl->rot[slot], 0, sizeof(cl->rot[slot]));
        cl->rot[slot].path = path;
    }
    return set_add(cl->rot[slot].server, ROTATION_SERVERS, server);
}

/* Services that answer a client with its own public address. */
static bool ip_check_name(const char *name)
{
    static const char *const names[] = {
        "api.ipify.org", "api64.ipify.org", "ipinfo.io", "ip-api.com",
        "checkip.amazonaws.com", "checkip.dyndns.org", "checkip.dyndns.com",
        "icanhazip.com", "ipecho.net", "ident.me", "ifconfig.me", "ifconfig.co",
        "wtfismyip.com", "myexternalip.com", "whatismyipaddress.com",
        "bot.whatismyipaddress.com", "ipv4bot.whatismyipaddress.com",
        "myip.opendns.com", "ip.anysrc.net", "api.myip.com", "freegeoip.app",
        "geoplugin.net", "www.geoplugin.net", "ipapi.co", "iplogger.org",
        "api.db-ip.com", "ip-api.io", "l2.io", "curlmyip.net", "ipwho.is",
    };
    int c0 = tolower((unsigned char)name[0]);
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        if (names[i][0] == c0 && !strcasecmp(name, names[i]))
            return true;
    return false;
}

static void note_ip_check_by(struct c2_channel *c, uint8_t v,
                             const struct ip_addr *client, const char *name,
                             uint32_t now)
{
    if (!name || !name[0] || !ip_check_name(name))
        return;
    struct c2_client *cl = client_of(c, v, client, now, true);
    if (cl)
        cl->ip_check = true;
}

static void note_ip_check(struct c2_channel *c, const struct flow *f,
                          const char *name, uint32_t now)
{
    note_ip_check_by(c, f->key.ip_version, flow_addr(f, 0), name, now);
}

static uint32_t server_hash(const struct c2_pair *p)
{
    uint32_t h = fnv1a(FNV1A_SEED, &p->server, sizeof(p->server));
    return h ? h : 1;
}

/* The client-level indicators, for a pair that already has evidence. */
static uint32_t client_indicators(struct c2_channel *c, const struct c2_pair *p,
                                  uint32_t now)
{
    struct c2_client *cl = client_of(c, p->v, &p->client, now, false);
    if (!cl)
        return 0;
    uint32_t ind = cl->ip_check ? 1u << C2I_ip_check : 0;
    uint32_t self = server_hash(p);
    bool outside = !home_net_contains(&c->home, p->v, &p->server);
    for (int i = 0; outside && i < SUSPECT_SERVERS; i++)
        if (cl->suspect[i] && cl->suspect[i] != self)
            ind |= 1u << C2I_second_channel;
    return ind;
}

/* What the client does to reach a server rather than how often: timing
 * and repetition are also what every scheduled job does. */
#define C2_TIMING_INDICATORS                                                    \
    ((1u << C2I_repeated) | (1u << C2I_unanswered) | (1u << C2I_periodic) |    \
     (1u << C2I_heartbeat) | (1u << C2I_polling) | (1u << C2I_second_channel))

/* An outside server that the client reaches with SUSPECT_SCORE of such
 * evidence (its disguise, not its schedule) is one that the client's
 * other outside pairs are judged against. */
static void note_suspect(struct c2_channel *c, const struct c2_pair *p, uint32_t now)
{
    if (score_of(p->ind & ~C2_TIMING_INDICATORS) < SUSPECT_SCORE ||
        home_net_contains(&c->home, p->v, &p->server))
        return;
    struct c2_client *cl = client_of(c, p->v, &p->client, now, true);
    if (!cl)
        return;
    uint32_t h = server_hash(p);
    bool kept = false, full = true;
    for (int i = 0; i < SUSPECT_SERVERS; i++) {
        kept |= cl->suspect[i] == h;
        full &= cl->suspect[i] != 0;
    }
    if (!kept && full)
        c->st.suspects_over_cap++;
    else
        set_add(cl->suspect, SUSPECT_SERVERS, h);
}

static uint32_t score_of(uint32_t ind)
{
    uint32_t s = 0;
    for (int i = 0; i < C2I_COUNT; i++)
        if (ind & (1u << i))
            s += c2_indicator_weights[i];
    return s;
}

/* ---- judging ------------------------------------------------------------ */

static void raise_ind(struct c2_channel *c, struct c2_pair *p, enum c2_indicator i)
{
    if (p->ind & (1u << i))
        return;
    p->ind |= 1u << i;
    c->st.raised[i]++;
}

static void describe(const struct c2_pair *p, uint32_t score, struct finding *fd)
{
    size_t o = 0, oi = 0;
    o += (size_t)snprintf(fd->detail, sizeof(fd->detail), "this client");
    for (int i = 0; i < C2I_COUNT && o < sizeof(fd->detail); i++) {
        if (!(p->ind & (1u << i)))
            continue;
        o += (size_t)snprintf(fd->detail + o, sizeof(fd->detail) - o, "%s %s",
                              o > 11 ? ";" : "", indicator_what[i]);
        if (oi < sizeof(fd->indicators))
            oi += (size_t)snprintf(fd->indicators + oi, sizeof(fd->indicators) - oi,
                                   "%s%s", oi ? " " : "", c2_indicator_names[i]);
    }
    if (o < sizeof(fd->detail) && (p->name[0] || p->example[0]))
        o += (size_t)snprintf(fd->detail + o, sizeof(fd->detail) - o, " (%s%s%s)",
                              p->name, p->name[0] && p->example[0] ? ", " : "",
                              p->example);
    if (o < sizeof(fd->detail))
        snprintf(fd->detail + o, sizeof(fd->detail) - o, "; score %u", score);
}

static void judge(struct c2_channel *c, struct c2_pair *p, const struct flow *f,
                  uint64_t now_usec)
{
    uint32_t more = client_indicators(c, p, (uint32_t)(now_usec / 1000000u));
    if (more & ~p->ind)
        for (int i = 0; i < C2I_COUNT; i++)
            if (more & ~p->ind & (1u << i))
                raise_ind(c, p, (enum c2_indicator)i);
    uint32_t score = score_of(p->ind);
    note_suspect(c, p, (uint32_t)(now_usec / 1000000u));
    uint8_t level = score >= c->cfg.strong_score ? 2 : score >= c->cfg.min_score ? 1 : 0;
    if (level <= p->alerted)
        return;
    c->st.alerts += !p->alerted;
    c->st.strong += level == 2;
    p->alerted = level;
    struct finding fd;
    memset(&fd, 0, sizeof(fd));
    fd.kind = FINDING_c2_channel;
    fd.stage = finding_kind_stage[FINDING_c2_channel];
    fd.severity = level == 2 ? 1 : 2;
    fd.strong = level == 2;
    fd.ip_version = p->v;
    fd.host = p->client;
    fd.peer = p->server;
    fd.has_peer = true;
    fd.peer_internal = home_net_contains(&c->home, p->v, &p->server);
    fd.port = p->port;
    fd.ts_usec = now_usec;
    fd.flow = f;
    /* a pair of a proxied client (c2_on_http) names that client */
    fd.forwarded = f && (p->v != f->key.ip_version ||
                         memcmp(&p->client, flow_addr(f, 0), sizeof(p->client)));
    fd.observed = score;
    fd.baseline = level == 2 ? c->cfg.strong_score : c->cfg.min_score;
    fd.deviation = NAN;
    fd.unit = "score";
    describe(p, score, &fd);
    if (c->sink)
        c->sink(c->ctx, &fd);
}

static void remember(char *dst, size_t n, const char *src)
{
    if (!dst[0] && src && src[0])
        text_copy(dst, n, src, strlen(src));
}

/* ---- DNS ---------------------------------------------------------------- */

/* The big public resolvers people point their machines at by hand. */
static bool public_resolver(uint8_t v, const struct ip_addr *a)
{
    static const char *const v4[] = {
        "8.8.8.8", "8.8.4.4", "1.1.1.1", "1.0.0.1", "9.9.9.9", "149.112.112.112",
        "208.67.222.222", "208.67.220.220", "64.6.64.6", "64.6.65.6",
        "94.140.14.14", "94.140.15.15", "76.76.2.0", "76.76.10.0",
        "185.228.168.9", "185.228.169.9", "8.26.56.26", "8.20.247.20",
        "4.2.2.1", "4.2.2.2", "209.244.0.3", "209.244.0.4", "77.88.8.8",
        "77.88.8.1", "156.154.70.1", "156.154.71.1",
    };
    char buf[64];
    if (v != 4)
        return false;
    ip_addr_str(a, v, buf, sizeof(buf));
    for (size_t i = 0; i < sizeof(v4) / sizeof(v4[0]); i++)
        if (!strcmp(buf, v4[i]))
            return true;
    return false;
}

/* The name's last label is not a top-level domain the DNS root knows. */
static bool tld_unknown(const char *name)
{
    size_t n = strlen(name);
    while (n && name[n - 1] == '.')
        n--;
    if (!n)
        return false;
    const char *tld = name + n;
    while (tld > name && tld[-1] != '.')
        tld--;
    if (tld == name)
        return false; /* a single label: a local name, not ours to judge */
    /* names networks use privately (RFC 6762 appendix G, RFC 8375, and
     * what companies and home routers use), answered over VPNs too */
    static const char *const private_tlds[] = {
        "local", "localdomain", "lan", "home", "corp", "internal", "intranet",
        "private", "priv", "localhost", "test", "invalid", "example", "arpa",
    };
    for (size_t i = 0; i < sizeof(private_tlds) / sizeof(private_tlds[0]); i++)
        if ((size_t)(name + n - tld) == strlen(private_tlds[i]) &&
            !strncasecmp(tld, private_tlds[i], strlen(private_tlds[i])))
            return false;
    char buf[64];
    size_t l = (size_t)(name + n - tld);
    if (l >= sizeof(buf))
        return true;
    memcpy(buf, tld, l);
    buf[l] = '\0';
    const psl_ctx_t *psl = psl_builtin(); /* built in: a constant */
    return psl && !psl_is_public_suffix2(psl, buf, PSL_TYPE_ANY | PSL_TYPE_NO_STAR_RULE);
}

void c2_on_dns(struct c2_channel *c, const struct flow *f,
               const struct dns_msg *m, uint64_t now_usec)
{
    if (!c || !m->n_questions ||
        !home_net_contains(&c->home, f->key.ip_version, flow_addr(f, 0)))
        return;
    uint32_t now = (uint32_t)(now_usec / 1000000u);
    const char *name = m->q[0].name;
    if (!m->response) {
        note_ip_check(c, f, name, now);
        return;
    }
    const struct ip_addr *server = flow_addr(f, 1);
    if (home_net_contains(&c->home, f->key.ip_version, server) || m->rcode ||
        !m->n_answers || !tld_unknown(name))
        return;
    struct c2_pair *p = pair_of(c, f, true);
    if (!p)
        return;
    p->last_seen = now;
    raise_ind(c, p, C2I_fake_tld);
    if (!public_resolver(f->key.ip_version, server))
        raise_ind(c, p, C2I_direct_dns);
    char ex[EXAMPLE_LEN];
    snprintf(ex, sizeof(ex), "answered %.70s", name);
    remember(p->example, sizeof(p->example), ex);
    judge(c, p, f, now_usec);
}

/* ---- TLS ---------------------------------------------------------------- */

void c2_on_tls(struct c2_channel *c, const struct flow *f,
               const struct tls_session *t, const struct tls_summary *s,
               uint64_t now_usec)
{
    if (!c || !s || !s->facts.has_ch)
        return;
    if (home_net_contains(&c->home, f->key.ip_version, flow_addr(f, 0)))
        note_ip_check(c, f, s->sni, (uint32_t)(now_usec / 1000000u));
    bool sni = s->sni[0] != '\0';
    const struct x509_info *leaf = t && t->n_certs ? &t->certs[0] : NULL;
    uint32_t ind = 0;
    /* inside the network, self-signed certificates and bare addresses are
     * how appliances and internal services run: only remote servers are
     * judged by their certificate */
    if (home_net_contains(&c->home, f->key.ip_version, flow_addr(f, 1)))
        return;
    if (!sni && f->key.proto == 6)
        ind |= 1u << C2I_no_name;
    if (sni && name_is_dynamic_dns(s->sni))
        ind |= 1u << C2I_dynamic_dns;
    if (s->self_signed)
        ind |= 1u << C2I_self_signed;
    if (leaf && (cert_subject_placeholder(leaf->subject) ||
                 cert_subject_placeholder(leaf->issuer) ||
                 (!sni && cert_subject_not_hostname(leaf->subject))))
        ind |= 1u << C2I_placeholder_cert;
    if (s->facts.sni_cert_match == 0)
        ind |= 1u << C2I_sni_mismatch;
    int64_t now = (int64_t)(now_usec / 1000000u);
    if (s->facts.has_cert && s->facts.cert_not_before <= now &&
        now - s->facts.cert_not_before < 7 * 86400)
        ind |= 1u << C2I_young_cert;
    if (!ind)
        return;
    struct c2_pair *p = pair_of(c, f, true);
    if (!p)
        return;
    p->last_seen = (uint32_t)now;
    for (int i = 0; i < C2I_COUNT; i++)
        if (ind & (1u << i))
            raise_ind(c, p, (enum c2_indicator)i);
    remember(p->name, sizeof(p->name), s->sni);
    if (leaf) {
        char ex[EXAMPLE_LEN];
        snprintf(ex, sizeof(ex), "certificate %.80s", leaf->subject);
        remember(p->example, sizeof(p->example), ex);
    }
    judge(c, p, f, now_usec);
}

/* ---- HTTP --------------------------------------------------------------- */

static bool ocsp_or_crl(const struct http_tx *tx)
{
    return strcasestr(tx->req_content_type, "ocsp") ||
           strcasestr(tx->resp_content_type, "ocsp") ||
           strcasestr(tx->resp_content_type, "pkix-crl") ||
           strcasestr(tx->resp_content_type, "pkcs7");
}

static enum ua_class classify_ua(struct c2_channel *c, const char *ua)
{
    if (strcmp(ua, c->last_ua) != 0 || !c->last_ua[0]) {
        c->last_ua_class = ua_classify(ua);
        snprintf(c->last_ua, sizeof(c->last_ua), "%s", ua);
    }
    return c->last_ua_class;
}

/* No browser or HTTP library puts a backslash in its User-Agent; a bot
 * registering its victim joins id, computer, user, system and antivirus
 * with them. Three separators: at least four fields. */
static bool ua_reports_identity(const char *ua)
{
    unsigned n = 0;
    for (const char *p = ua; *p; p++)
        n += *p == '\\';
    return n >= 3;
}

/* n characters of [A-Z0-9] at s, then no more of them. */
static bool upper_alnum_run(const char *s, unsigned n)
{
    for (unsigned i = 0; i < n; i++)
        if (!isupper((unsigned char)s[i]) && !isdigit((unsigned char)s[i]))
            return false;
    return !isupper((unsigned char)s[n]) && !isdigit((unsigned char)s[n]) &&
           !islower((unsigned char)s[n]);
}

/* A Windows computer name as Windows makes them up: DESKTOP- and 7
 * characters (10 and 11), LAPTOP- and 8, WIN- and 11 (Server), or a user's
 * name and -PC (7), starting at a word boundary of s. */
static bool windows_name_at(const char *s)
{
    if (!strncmp(s, "DESKTOP-", 8))
        return upper_alnum_run(s + 8, 7);
    if (!strncmp(s, "LAPTOP-", 7))
        return upper_alnum_run(s + 7, 8);
    if (!strncmp(s, "WIN-", 4))
        return upper_alnum_run(s + 4, 11);
    if (!isupper((unsigned char)s[0]))
        return false;
    unsigned n = 1;
    while (n < 15 && isalnum((unsigned char)s[n]))
        n++;
    /* "User-PCfe80::..." (a name glued to what follows) counts too */
    return !strncmp(s + n, "-PC", 3) && !isupper((unsigned char)s[n + 3]) &&
           !isdigit((unsigned char)s[n + 3]);
}

static bool uri_reports_identity(const char *uri)
{
    for (const char *p = uri; *p; p++)
        if ((p == uri || !isalnum((unsigned char)p[-1])) && windows_name_at(p))
            return true;
    return false;
}

static uint32_t http_indicators(struct c2_channel *c, const struct http_tx *tx)
{
    uint32_t ind = 0;
    if (!tx->method[0])
        return 0;
    enum ua_class ua = classify_ua(c, tx->user_agent);
    if (!tx->host[0] || host_is_ip_literal(tx->host))
        ind |= 1u << C2I_no_name;
    if (tx->host[0] && name_is_dynamic_dns(tx->host))
        ind |= 1u << C2I_dynamic_dns;
    if (ua == UA_LEGACY)
        ind |= 1u << C2I_legacy_ua;
    else if (ua == UA_NONE)
        ind |= 1u << C2I_no_ua;
    else if (ua == UA_TOOL)
        ind |= 1u << C2I_tool_ua;
    if (ua_reports_identity(tx->user_agent))
        ind |= 1u << C2I_identity_ua;
    if (uri_reports_identity(tx->uri))
        ind |= 1u << C2I_identity_url;
    if ((ua == UA_BROWSER || ua == UA_LEGACY) &&
        !(tx->req_headers & HTTP_HDR_ACCEPT_LANGUAGE))
        ind |= 1u << C2I_bot_headers;
    bool post = !strcmp(tx->method, "POST");
    if (post && tx->req_body_len && uri_is_script(tx->uri) &&
        (!tx->have_response || tx->resp_body_len <= 256))
        ind |= 1u << C2I_script_post;
    if (uri_has_encoded_blob(tx->uri))
        ind |= 1u << C2I_encoded_uri;
    if (post && tx->req_body_len >= (256u << 10))
        ind |= 1u << C2I_upload;
    return ind;
}

/* "Windows NT 10.0" as 0xa0, "Windows NT 6.1" as 0x61; 0 for none. */
static uint8_t windows_version(const char *ua)
{
    const char *w = strstr(ua, "Windows NT ");
    if (!w)
        return 0;
    w += 11;
    unsigned major = 0, minor = 0;
    while (isdigit((unsigned char)*w) && major < 16)
        major = major * 10 + (unsigned)(*w++ - '0');
    if (*w == '.' && isdigit((unsigned char)w[1]))
        minor = (unsigned)(w[1] - '0');
    return major && major < 16 ? (uint8_t)(major << 4 | minor) : 0;
}

/* A browser User-Agent claiming another Windows version than the first
 * one this client claimed. */
static bool two_windows(struct c2_channel *c, const struct event_subject *s,
                        const struct http_tx *tx, uint32_t now)
{
    enum ua_class ua = classify_ua(c, tx->user_agent);
    uint8_t v = ua == UA_BROWSER || ua == UA_LEGACY ? windows_version(tx->user_agent) : 0;
    if (!v)
        return false;
    struct c2_client *cl = client_of(c, s->ip_version, &s->client, now, true);
    if (!cl)
        return false;
    if (!cl->windows)
        cl->windows = v;
    return cl->windows != v;
}

#define CHECKIN_GAP_MS 1000u       /* requests closer than this: one check-in */
#define CHECKIN_MIN 5              /* intervals before a period is judged */
#define CHECKIN_MIN_MEAN 2.0       /* seconds: a page's own requests are faster */
#define CHECKIN_MAX_CV 0.6         /* as for connections (periodic) */

/* Requests of one pair grouped into check-ins (a burst of requests less
 * than a second apart is one); true when the check-ins come at steady
 * intervals -- a beacon keeping one connection open (or reusing it)
 * shows its period here rather than in its connections. */
static bool checkin_periodic(struct c2_pair *p, uint64_t now_usec)
{
    uint32_t ms = (uint32_t)(now_usec / 1000u);
    bool first = !p->req_prev_ms && !p->checkin_ms;
    uint32_t since_prev = ms - p->req_prev_ms;
    p->req_prev_ms = ms ? ms : 1;
    if (first) {
        p->checkin_ms = p->req_prev_ms;
        return false;
    }
    if (since_prev < CHECKIN_GAP_MS)
        return false;
    double x = (double)(ms - p->checkin_ms) / 1000.0;
    p->checkin_ms = p->req_prev_ms;
    if (p->checkins < UINT16_MAX)
        p->checkins++;
    double d = x - p->checkin_mean;
    p->checkin_mean += (float)(d / p->checkins);
    p->checkin_m2 += (float)(d * (x - p->checkin_mean));
    if (p->checkins < CHECKIN_MIN || p->checkin_mean < CHECKIN_MIN_MEAN)
        return false;
    double sd = sqrt((double)p->checkin_m2 / (p->checkins - 1));
    return sd <= CHECKIN_MAX_CV * p->checkin_mean;
}

void c2_on_http(struct c2_channel *c, const struct event_subject *s,
                const struct http_tx *tx, uint64_t now_usec)
{
    if (!c || !s->flow || !tx->method[0] || ocsp_or_crl(tx))
        return;
    const struct flow *f = s->flow;
    uint32_t now = (uint32_t)(now_usec / 1000000u);
    uint32_t ind = http_indicators(c, tx);
    if (home_net_contains(&c->home, s->ip_version, &s->client)) {
        note_ip_check_by(c, s->ip_version, &s->client, tx->host, now);
        if (two_windows(c, s, tx, now))
            ind |= 1u << C2I_two_windows;
    }
    if (ind && uri_is_script(tx->uri) && strcspn(tx->uri, "?#") > 1 &&
        !home_net_contains(&c->home, f->key.ip_version, flow_addr(f, 1))) {
        struct c2_client *cl = client_of(c, s->ip_version, &s->client, now, true);
        uint32_t path = fnv1a(FNV1A_SEED, tx->uri, strcspn(tx->uri, "?#"));
        uint32_t server = fnv1a(FNV1A_SEED, flow_addr(f, 1), sizeof(struct ip_addr));
        if (cl && rotation(cl, path, server) >= ROTATION_SERVERS)
            ind |= 1u << C2I_rotation;
    }
    struct pair_key k = key_of_subject(s);
    struct c2_pair *p = pair_of_key(c, &k, ind != 0);
    if (!p)
        return;
    p->last_seen = now;
    uint32_t h = fnv1a(FNV1A_SEED, tx->uri, strcspn(tx->uri, "?#"));
    p->same_path = h == p->path_hash && p->same_path < UINT16_MAX ? p->same_path + 1 : 1;
    p->path_hash = h;
    if (p->same_path >= 5 && !home_net_contains(&c->home, p->v, &p->server))
        ind |= 1u << C2I_polling;
    if (checkin_periodic(p, now_usec))
        ind |= 1u << C2I_periodic;
    for (int i = 0; i < C2I_COUNT; i++)
        if (ind & (1u << i))
            raise_ind(c, p, (enum c2_indicator)i);
    remember(p->name, sizeof(p->name), tx->host);
    if (ind) {
        char ex[EXAMPLE_LEN];
        snprintf(ex, sizeof(ex), "%.8s %.40s UA \"%.32s\"", tx->method, tx->uri,
                 tx->user_agent);
        remember(p->example, sizeof(p->example), ex);
    }
    judge(c, p, f, now_usec);
}

/* ---- the finished flow --------------------------------------------------- */

static bool both_spoke(const struct flow *f)
{
    return f->dir[0].payload_pkts && f->dir[1].payload_pkts;
}

/* What the flow's protocol says against its port: only for connections
 * seen from their SYN (a capture that starts mid-stream hides the
 * protocol's first bytes). A protocol on the wrong port is not counted
 * again as unknown. */
static uint32_t protocol_indicators(const struct flow *f)
{
    uint16_t port = flow_port(f, 1);
    uint8_t app = f->app_proto;
    uint32_t ind = 0;
    /* an industrial port is a service when its protocol is spoken on it */
    bool service = port_is_common_service(f->key.proto, port) ||
                   (port_is_industrial(port) && app_is_industrial(app));
    bool client_spoke = f->dir[0].payload_pkts > 0;
    bool answered = f->dir[1].pkts > 0;
    if (f->key.proto != 6 || !client_spoke || !answered || !f->dir[0].syn_seen)
        return 0;
    /* on a decrypted feed, cleartext on a TLS port is what TLS carried */
    bool decrypted = f->decrypted_feed != 0;
    bool http = app == APP_HTTP || app == APP_HTTP2;
    if ((port == 443 && app != APP_TLS && !decrypted) ||
        (port == 80 && !http) ||
        (http && port != 80 && port_is_tls_service(port) && !decrypted))
        ind |= 1u << C2I_port_mismatch;
    else if (app == APP_UNKNOWN && !service)
        ind |= 1u << C2I_unknown_protocol; /* on a service's port: its protocol */
    if (!service && port < 49152)
        ind |= 1u << C2I_odd_port;
    return ind;
}

/* A session of a minute or more whose exchanges are all small. */
static bool heartbeat(const struct flow *f)
{
    uint64_t dur = f->last_usec - f->first_usec;
    if (dur < 60000000u || f->rounds < 6 || !both_spoke(f))
        return false;
    double per = (double)(f->dir[0].payload_bytes + f->dir[1].payload_bytes) /
                 (double)f->rounds;
    return per < 600;
}

void c2_on_flow_end(struct c2_channel *c, const struct flow *f,
                    const struct eta_pair_stats *ps, const char *server_name)
{
    if (!c)
        return;
    /* between internal hosts, proprietary protocols, odd ports and
     * machines polling each other are everyday: only the HTTP view
     * judges those pairs */
    if (home_net_contains(&c->home, f->key.ip_version, flow_addr(f, 1)))
        return;
    uint32_t ind = protocol_indicators(f);
    bool tls_or_http = f->app_proto == APP_TLS || f->app_proto == APP_HTTP ||
                       f->app_proto == APP_HTTP2;
    if (ind && !tls_or_http && (!server_name || !server_name[0]))
        ind |= 1u << C2I_no_name;
    if (server_name && server_name[0] && name_is_dynamic_dns(server_name))
        ind |= 1u << C2I_dynamic_dns;
    if (heartbeat(f) && (ind || f->app_proto == APP_TLS))
        ind |= 1u << C2I_heartbeat;
    struct c2_pair *p = pair_of(c, f, ind != 0);
    if (!p)
        return;
    p->conns++;
    p->last_seen = (uint32_t)(f->last_usec / 1000000u);
    uint32_t conns = ps && ps->conns > p->conns ? ps->conns : p->conns;
    if (conns >= 3)
        ind |= 1u << C2I_repeated;
    /* a person's or an application's bursts vary by as much as their mean
     * or more (CV >= 1); a bot's sleep, even jittered by half, far less */
    if (ps && ps->conns >= 4 && ps->interval_cv <= 0.6 && ps->interval_mean >= 1.0)
        ind |= 1u << C2I_periodic;
    if (f->key.proto == 6 && f->app_proto == APP_UNKNOWN && f->dir[0].payload_pkts &&
        !f->dir[1].payload_pkts && ++p->unanswered >= 3)
        ind |= 1u << C2I_unanswered;
    bool lasting = f->last_usec - f->first_usec >= 60000000u || p->conns >= 2;
    if ((ind & (1u << C2I_unknown_protocol)) && lasting) {
        struct c2_client *cl = client_of(c, p->v, &p->client, p->last_seen, true);
        uint32_t server = fnv1a(FNV1A_SEED, &p->server, sizeof(p->server));
        if (cl && set_add(cl->custom, CUSTOM_PEERS, server) <= 1)
            ind |= 1u << C2I_lone_channel;
    }
    for (int i = 0; i < C2I_COUNT; i++)
        if (ind & (1u << i))
            raise_ind(c, p, (enum c2_indicator)i);
    remember(p->name, sizeof(p->name), server_name);
    judge(c, p, f, f->last_usec);
}

void c2_channel_counters(const struct c2_channel *c, struct counters *r)
{
    counters_u64(r, "detect.c2.pairs_new", &c->st.pairs_new);
    counters_u64(r, "detect.c2.pairs_evicted", &c->st.pairs_evicted);
    counters_u64(r, "detect.c2.clients_evicted", &c->st.clients_evicted);
    counters_u64(r, "detect.c2.alerts", &c->st.alerts);
    counters_u64(r, "detect.c2.strong", &c->st.strong);
    counters_u64(r, "detect.c2.suspects_over_cap", &c->st.suspects_over_cap);
    for (int i = 0; i < C2I_COUNT; i++)
        counters_u64f(r, &c->st.raised[i], "detect.c2.indicators.%s",
                      c2_indicator_names[i]);
}
