/* pipeline.c -- the glue between capture, decode, flows, reassembly and
 * output (see pipeline.h). Per packet: one decode, one flow lookup, at most
 * one reassembly step and one detection call; nothing is allocated once the
 * pools are warm.
 */
#include "sensor/pipeline.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "app/app_layer.h"
#include "correlate/incidents.h"
#include "detect/anomaly.h"
#include "detect/c2_channel.h"
#include "detect/delivery.h"
#include "detect/exfil.h"
#include "detect/icmp_tunnel.h"
#include "detect/eta_detect.h"
#include "detect/intel_detect.h"
#include "detect/proxy.h"
#include "detect/remote_exec.h"
#include "eta/eta_history.h"
#include "eta/eta_model.h"
#include "intel/intel_feeds.h"
#include "decode/defrag.h"
#include "flow/flow_table.h"
#include "flow/tcp_stream.h"
#include "fingerprint/summary.h"
#include "output/eve_app.h"
#include "output/eve_finding.h"
#include "output/eve_tls.h"
#include "output/sink.h"
#include "proto/app_detect.h"
#include "proto/dcerpc.h"
#include "proto/dns.h"
#include "proto/dtls.h"
#include "proto/ftp.h"
#include "proto/mime.h"
#include "proto/smtp.h"
#include "proto/quic.h"
#include "proto/tls.h"
#include "decrypt/keylog.h"
#include "decrypt/quic_decrypt.h"
#include "decrypt/rsa_keys.h"
#include "decrypt/tls_decrypt.h"
#include "util/clock.h"
#include "util/counters.h"
#include "response/contain.h"

#define TOP_FLOWS 8

struct top_flow {
    char line[200];
    uint64_t bytes;
};

struct pipeline {
    struct nj_config cfg;
    struct eve *eve;
    struct decode_stats dstats;
    struct defrag *defrag;
    struct flow_table *flows;
    struct stream_engine *streams;
    struct tls_pool *tls_pool;
    struct keylog *keylog;             /* secrets: --keylog, pcapng blocks */
    struct rsa_keys *rsa;              /* --rsa-key */
    struct tls_decrypt_engine *decrypt;/* NULL: nothing to decrypt with */
    struct quic_decrypt_engine *qdec;  /* QUIC 1-RTT; NULL without a key log */
    struct app_layer *app;
    struct intel_feeds *intel;
    struct intel_detect *detect;
    struct eta_detect *eta;
    struct eta_history *pairs;         /* connection starts per pair */
    struct anomaly *anomaly;           /* baselines and behaviour models */
    struct c2_channel *c2;             /* C2-channel evidence per pair */
    struct remote_exec *rexec;         /* code run on other internal hosts */
    struct icmp_tunnel *icmp;          /* echo that does not echo */
    struct incidents *incidents;       /* the correlator */
    struct contain *contain;           /* response.contain: NULL when none */
    struct home_net home;              /* anomaly.home-nets: who is "ours" */
    struct proxy_view proxy;           /* trusted proxies, decrypted feed */
    uint64_t last_save_wall;
    pipeline_flow_fn observer;
    void *observer_ctx;
    struct tls_stats tls_stats;
    struct quic_stats quic_stats;
    struct quic_decrypt_stats qdec_stats;
    uint64_t now_usec;                 /* time of the packet being handled */
    uint64_t first_usec, last_usec;
    uint64_t wall_start;
    struct capture_stats cap;
    uint64_t truncated_files;
    uint64_t stun_over_cap;            /* UDP flows still STUN past the cap */
    uint64_t queue_drops;              /* live: packets a full worker ring lost */
    uint64_t app_flows[APP_COUNT];
    uint64_t proto_flows[3]; /* tcp, udp, other */
    struct top_flow top[TOP_FLOWS];
    struct counters *counters;         /* every module's, for the stats record */
    bool driven;                       /* a worker: clock and periodic work
                                          come from the reader (workers.c) */
};

struct sink_ctx {
    struct pipeline *pl;
    struct flow *f;
};

#define DETECT_TCP_BYTES 4096 /* TCP bytes per direction detection looks at */

/* UDP: the first datagram of each direction decides, STUN passed over
 * (ICE checks: what follows on the 5-tuple may be DTLS) up to
 * APP_STUN_DATAGRAMS, counted when exceeded. TCP: every chunk within the
 * first few KiB is tried, so a protocol behind a SOCKS or other preamble
 * is still recognised when it starts. */
static void detect_app(struct pipeline *pl, struct flow *f, int dir,
                       const uint8_t *data, size_t len)
{
    if (f->app_proto != APP_UNKNOWN || (f->app_dir_seen & (1u << dir)))
        return;
    if (f->key.proto == 17 && app_is_stun(data, len)) {
        if (f->dir[dir].payload_pkts <= APP_STUN_DATAGRAMS)
            return;
        pl->stun_over_cap++;
    }
    if (f->key.proto != 6 ||
        f->stream[dir].delivered >= DETECT_TCP_BYTES + (uint64_t)len)
        f->app_dir_seen |= (uint8_t)(1u << dir);
    f->app_proto = (uint8_t)app_detect(f->key.proto, dir, data, len,
                                       flow_port(f, 0), flow_port(f, 1));
}

/* A handshake record with a ClientHello or ServerHello starts the chunk
 * (a capture may have lost the ClientHello). */
static bool starts_tls_hello(const uint8_t *d, size_t n)
{
    return n >= 6 && d[0] == 0x16 && d[1] == 0x03 && d[2] <= 0x04 &&
           (d[5] == 0x01 || d[5] == 0x02);
}

#define TLS_PROBE_BYTES 65536 /* client bytes within which TLS may start */

/* A handshake is told once: the tls/quic record, then the detectors that
 * read handshakes (intel: SNI, fingerprints, certificates; C2 channel). */
static void tls_dispatch(struct pipeline *pl, struct flow *f, uint64_t ts,
                         const struct tls_summary *sum)
{
    f->tls->logged = true;
    if (pl->eve)
        eve_write_tls(pl->eve, f, f->tls, ts, (uint16_t)pl->cfg.community_id_seed);
    intel_on_tls(pl->detect, f, ts, f->tls, sum);
    c2_on_tls(pl->c2, f, f->tls, sum, ts);
}

/* Once the tls event is written, the session is traded for its summary so
 * a long-lived connection holds half a kilobyte, not eleven. */
static void tls_log_if_ready(struct pipeline *pl, struct flow *f)
{
    struct tls_session *t = f->tls;
    if (!t || t->logged || !tls_session_ready(t))
        return;
    /* the summary's fingerprints serve the intel check too */
    struct tls_summary local;
    struct tls_summary *sum = tls_pool_small_get(pl->tls_pool, &pl->tls_stats);
    tls_summarize(t, sum ? sum : &local);
    tls_dispatch(pl, f, pl->now_usec, sum ? sum : &local);
    if (!sum)
        return; /* keep the session: the flow record still gets its summary */
    f->tls_sum = sum;
    tls_session_release(pl->tls_pool, t);
    f->tls = NULL;
}

static void tls_data(struct pipeline *pl, struct flow *f, int dir,
                     const uint8_t *data, size_t len)
{
    if (!pl->cfg.tls_enabled || f->tls_sum) /* disabled, or already done */
        return;
    if (!f->tls) {
        /* TLS from the first byte, or after something else: STARTTLS in
         * SMTP/IMAP/POP3/FTP/LDAP/XMPP/MySQL/PostgreSQL, SOCKS and HTTP
         * CONNECT proxies. A ClientHello record starting a client chunk
         * within the first bytes of the connection is the sign. */
        bool start = f->app_proto == APP_TLS ||
                     (f->stream[dir].delivered <= TLS_PROBE_BYTES + len &&
                      starts_tls_hello(data, len));
        if (!start)
            return;
        if (f->app_proto == APP_UNKNOWN)
            f->app_proto = APP_TLS;
        f->tls = tls_session_new(pl->tls_pool, &pl->tls_stats);
        if (!f->tls)
            return;
    }
    tls_session_feed(pl->tls_pool, f->tls, dir, data, len, &pl->tls_stats);
    tls_log_if_ready(pl, f);
}

/* QUIC and DTLS: only the first datagrams carry the hellos; after a
 * handful, stop looking. QUIC stops once both hellos are in (the rest of
 * its handshake is encrypted: with a key log, the decrypt layer below
 * reads it and every later datagram); DTLS goes on, because the server's
 * certificate follows its hello in clear, often in later datagrams. A
 * flow is not taken up after its first datagrams, which may be STUN
 * (app_detect.h). */
#define QUIC_MAX_DATAGRAMS 16

static void quic_feed(struct pipeline *pl, struct tls_session *t, int dir,
                      const uint8_t *data, size_t len)
{
    quic_datagram(pl->tls_pool, t, dir, data, len, &pl->quic_stats,
                  &pl->tls_stats);
}

static void dtls_feed(struct pipeline *pl, struct tls_session *t, int dir,
                      const uint8_t *data, size_t len)
{
    t->quic.packets++;
    dtls_datagram(pl->tls_pool, t, dir, data, len, &pl->tls_stats);
}

/* The handshakes that travel in datagrams, by the flow's protocol. */
static const struct datagram_handshake {
    enum app_proto proto;
    bool done_at_hellos; /* the rest of its handshake is encrypted */
    void (*feed)(struct pipeline *, struct tls_session *, int dir,
                 const uint8_t *, size_t);
} datagram_handshakes[] = {
    { APP_QUIC, true, quic_feed },
    { APP_DTLS, false, dtls_feed },
};

/* With a key log, a QUIC flow whose ClientHello was read gets a
 * decryption state; what the hellos say (client random, cipher suite,
 * ALPN) is handed over before the session may be traded for its summary.
 * A flow that could not get one (memcap, counted) is not asked again. */
static void quic_learn(struct pipeline *pl, struct flow *f,
                       const struct tls_session *t)
{
    if (!f->qdec && t->have_ch && !f->qdec_refused &&
        !(f->qdec = quic_decrypt_new(pl->qdec))) {
        f->qdec_refused = 1;
        return;
    }
    if (f->qdec)
        quic_decrypt_hello(pl->qdec, f->qdec, t);
}

static void udp_handshake(struct pipeline *pl, struct flow *f, int dir,
                          const uint8_t *data, size_t len)
{
    const struct datagram_handshake *h = NULL;
    for (size_t i = 0; i < sizeof(datagram_handshakes) / sizeof(*h); i++)
        if (datagram_handshakes[i].proto == f->app_proto)
            h = &datagram_handshakes[i];
    if (!h || !pl->cfg.tls_enabled || f->tls_sum)
        return;
    if (!f->tls) {
        if (f->dir[0].payload_pkts + f->dir[1].payload_pkts >
            QUIC_MAX_DATAGRAMS + 2 * APP_STUN_DATAGRAMS)
            return;
        f->tls = tls_session_new(pl->tls_pool, &pl->tls_stats);
        if (!f->tls)
            return;
    }
    struct tls_session *t = f->tls;
    if (t->quic.packets >= QUIC_MAX_DATAGRAMS ||
        (h->done_at_hellos && t->have_ch && t->have_sh))
        return;
    h->feed(pl, t, dir, data, len);
    if (pl->qdec && h->proto == APP_QUIC)
        quic_learn(pl, f, t);
    tls_log_if_ready(pl, f);
}

static void tls_gap(struct pipeline *pl, struct flow *f, int dir, uint64_t len)
{
    (void)len;
    if (f->tls)
        tls_session_gap(pl->tls_pool, f->tls, dir);
}

/* Decryption: a TLS connection whose first chunk is a hello gets a
 * session when the sensor has secrets; what it opens goes to the app
 * layer as the connection's cleartext. */
/* Cleartext of either engine: counted in the flow, then to the app layer
 * with the protocol the server chose. */
static void plain_to_app(struct sink_ctx *s, int dir, const uint8_t *data,
                         size_t len, const char *alpn)
{
    s->f->decrypted = 1;
    s->f->decrypted_bytes[dir & 1] += len;
    app_decrypted_data(s->pl->app, s->f, dir, data, len, alpn, s->pl->now_usec);
}

static void on_plain(void *ctx, int dir, const uint8_t *data, size_t len)
{
    struct sink_ctx *s = ctx;
    plain_to_app(s, dir, data, len, tls_decrypt_alpn(s->f->dec));
}

static void decrypt_stream(struct pipeline *pl, struct flow *f, int dir,
                           const uint8_t *data, size_t len)
{
    if (!pl->decrypt || f->key.proto != 6)
        return;
    if (!f->dec) {
        if (!f->tls || !starts_tls_hello(data, len) || f->tls->have_sh)
            return;
        struct tls_server_id srv;
        memcpy(srv.addr, flow_addr(f, 1)->b, sizeof(srv.addr));
        srv.port = flow_port(f, 1);
        if (!(f->dec = tls_decrypt_new(pl->decrypt, &srv)))
            return;
    }
    struct sink_ctx s = { pl, f };
    tls_decrypt_feed(pl->decrypt, f->dec, dir, data, len, on_plain, &s);
}

/* QUIC: the stream bytes of a 1-RTT packet, in order per stream. HTTP/3
 * never comes here (quic_decrypt.c counts it: QPACK is not parsed). */
static void on_quic_plain(void *ctx, int dir, uint64_t stream_id,
                          const uint8_t *data, size_t len)
{
    (void)stream_id;
    struct sink_ctx *s = ctx;
    plain_to_app(s, dir, data, len, quic_decrypt_alpn(s->f->qdec));
}

/* Only flows that got a QUIC state (a key log, a ClientHello) do any work
 * here: for every other datagram this is one pointer test. */
static void decrypt_dgram(struct pipeline *pl, struct flow *f, int dir,
                          const uint8_t *data, size_t len)
{
    if (!f->qdec)
        return;
    struct sink_ctx s = { pl, f };
    quic_decrypt_datagram(pl->qdec, f->qdec, dir, data, len, on_quic_plain, &s);
    if (quic_decrypt_opened(f->qdec))
        f->decrypted = 1;
}

static void decrypt_gap(struct pipeline *pl, struct flow *f, int dir,
                        uint64_t len)
{
    (void)len;
    if (f->dec)
        tls_decrypt_gap(pl->decrypt, f->dec, dir);
}

static void app_stream(struct pipeline *pl, struct flow *f, int dir,
                       const uint8_t *data, size_t len)
{
    app_stream_data(pl->app, f, dir, data, len, pl->now_usec);
}

static void app_dgram(struct pipeline *pl, struct flow *f, int dir,
                      const uint8_t *data, size_t len)
{
    app_datagram(pl->app, f, dir, data, len, pl->now_usec);
}

static void app_gap(struct pipeline *pl, struct flow *f, int dir, uint64_t len)
{
    app_stream_gap(pl->app, f, dir, len, pl->now_usec);
}

/* The parsers that read a flow's bytes, in two registered layers: the
 * handshakes (TLS on any stream, from its first byte or after STARTTLS or
 * a proxy's preamble; QUIC and DTLS datagrams: the table above) and the
 * app layer (its own parser table: DNS, HTTP, SMTP, FTP). Every chunk of
 * a stream, every gap and every UDP datagram goes to each; each takes
 * what is its own. */
static const struct flow_layer {
    void (*stream)(struct pipeline *, struct flow *, int dir,
                   const uint8_t *, size_t);
    void (*datagram)(struct pipeline *, struct flow *, int dir,
                     const uint8_t *, size_t);
    void (*gap)(struct pipeline *, struct flow *, int dir, uint64_t len);
} flow_layers[] = {
    { tls_data, udp_handshake, tls_gap },
    { decrypt_stream, decrypt_dgram, decrypt_gap },
    { app_stream, app_dgram, app_gap },
};
#define N_LAYERS (sizeof(flow_layers) / sizeof(flow_layers[0]))

static void on_stream_data(void *ctx, int dir, const uint8_t *data, size_t len)
{
    struct sink_ctx *s = ctx;
    detect_app(s->pl, s->f, dir, data, len);
    for (size_t i = 0; i < N_LAYERS; i++)
        flow_layers[i].stream(s->pl, s->f, dir, data, len);
}

static void on_stream_gap(void *ctx, int dir, uint64_t len)
{
    struct sink_ctx *s = ctx;
    for (size_t i = 0; i < N_LAYERS; i++)
        flow_layers[i].gap(s->pl, s->f, dir, len);
}

static void remember_top(struct pipeline *pl, const struct flow *f)
{
    uint64_t bytes = f->dir[0].bytes + f->dir[1].bytes;
    int slot = -1;
    for (int i = 0; i < TOP_FLOWS; i++)
        if (slot < 0 || pl->top[i].bytes < pl->top[slot].bytes)
            slot = i;
    if (pl->top[slot].bytes >= bytes)
        return;
    char a[64], b[64], pbuf[8];
    const char *app = app_proto_name(f->app_proto);
    snprintf(pl->top[slot].line, sizeof(pl->top[slot].line),
             "%-4s %s:%u -> %s:%u  %s  %llu pkts %llu bytes",
             ip_proto_name(f->key.proto, pbuf, sizeof(pbuf)),
             ip_addr_str(flow_addr(f, 0), f->key.ip_version, a, sizeof(a)),
             flow_port(f, 0),
             ip_addr_str(flow_addr(f, 1), f->key.ip_version, b, sizeof(b)),
             flow_port(f, 1), *app ? app : "-",
             (unsigned long long)(f->dir[0].pkts + f->dir[1].pkts),
             (unsigned long long)bytes);
    pl->top[slot].bytes = bytes;
}

static void emit(struct pipeline *pl, struct finding *fd);

/* The passive-DNS name the flow's server was resolved from, "" if none. */
static const char *server_name(const struct pipeline *pl, const struct flow *f)
{
    struct dns_ref ref = { f->name_slot, f->name_gen };
    const struct dns_cache_entry *e =
        f->name_gen ? dns_cache_get(app_layer_dns_cache(pl->app), ref) : NULL;
    return e ? e->name : "";
}

static void on_flow_end(void *ctx, struct flow *f, enum flow_end_reason reason)
{
    struct pipeline *pl = ctx;
    if (f->key.proto == 6) {
        struct sink_ctx s = { pl, f };
        stream_finish(pl->streams, &f->stream[0], 0, &s);
        stream_finish(pl->streams, &f->stream[1], 1, &s);
    }
    app_flow_end(pl->app, f, f->last_usec);
    struct tls_summary end_sum;
    const struct tls_summary *sum = f->tls_sum;
    if (f->tls && (f->tls->have_ch || f->tls->have_sh_first)) {
        tls_summarize(f->tls, &end_sum);
        sum = &end_sum;
        if (!f->tls->logged)
            tls_dispatch(pl, f, f->last_usec, &end_sum);
    }
    pl->app_flows[f->app_proto < APP_COUNT ? f->app_proto : 0]++;
    pl->proto_flows[f->key.proto == 6 ? 0 : f->key.proto == 17 ? 1 : 2]++;
    remember_top(pl, f);
    /* the pair statistics: for the model when it scores this flow, for
     * beaconing once the pair has had enough connections */
    struct eta_pair_stats pair;
    bool eta_wants = eta_detect_qualifies(pl->eta, f, sum);
    uint32_t min = eta_wants ? 0 : pl->anomaly ? pl->cfg.anomaly.beacon_min_conns
                                               : UINT32_MAX;
    if (pl->c2 && min > 4)
        min = 4; /* the C2-channel detector's "periodic" */
    bool have = pl->pairs && eta_history_add(pl->pairs, f, &pair, min);
    const struct eta_result *er = eta_on_flow_end(pl->eta, f, sum,
                                                  have ? &pair : NULL,
                                                  f->last_usec);
    anomaly_on_flow(pl->anomaly, f, have ? &pair : NULL);
    c2_on_flow_end(pl->c2, f, have ? &pair : NULL, server_name(pl, f));
    remote_exec_on_flow_end(pl->rexec, f);

    if (pl->observer)
        pl->observer(pl->observer_ctx, f, er);
    if (pl->eve) {
        struct eve_flow_eta fe = { 0 };
        if (er && er->scored) {
            fe.score = er->score;
            fe.model = eta_model_version(eta_detect_model(pl->eta));
        }
        if (er && er->extracted && pl->cfg.eta.log_features)
            fe.features = er->x;
        eve_write_flow(pl->eve, f, reason, (uint16_t)pl->cfg.community_id_seed,
                       pl->cfg.flow.splt_len, sum, &fe);
    }
    if (f->tls) {
        tls_session_release(pl->tls_pool, f->tls);
        f->tls = NULL;
    }
    if (f->dec) {
        tls_decrypt_free(pl->decrypt, f->dec);
        f->dec = NULL;
    }
    if (f->qdec) {
        quic_decrypt_free(pl->qdec, f->qdec);
        f->qdec = NULL;
    }
    if (f->tls_sum) {
        tls_pool_small_put(pl->tls_pool, f->tls_sum);
        f->tls_sum = NULL;
    }
}

/* ---- findings and incidents -------------------------------------------- */

/* The host a finding is about: the internal end of its flow (the client
 * when both or neither are internal). */
static void finding_hosts(const struct pipeline *pl, struct finding *fd)
{
    const struct flow *f = fd->flow;
    if (fd->ip_version || !f)
        return;
    int end = home_net_contains(&pl->home, f->key.ip_version, flow_addr(f, 0)) ||
              !home_net_contains(&pl->home, f->key.ip_version, flow_addr(f, 1))
                  ? 0 : 1;
    fd->ip_version = f->key.ip_version;
    fd->host = *flow_addr(f, end);
    fd->peer = *flow_addr(f, !end);
    fd->has_peer = true;
    fd->port = flow_port(f, 1);
}

/* A content finding about an HTTP body is about the client its
 * transaction speaks for (a trusted proxy's client); the detectors that
 * read transactions take that client from proxy_http_subject() already. */
static void finding_of_tx(const struct pipeline *pl, struct finding *fd)
{
    const struct file_event *fl = fd->evidence == EVIDENCE_CONTENT
                                      ? fd->ev.content.file : NULL;
    if (fd->ip_version || !fd->flow || !fl || !fl->http)
        return;
    struct event_subject s = proxy_http_subject(&pl->proxy,
                                                (struct flow *)fd->flow,
                                                fl->http, NULL);
    finding_take_subject(fd, &s);
}

/* Every finding of every detector comes here: attributed to the internal
 * end of its flow when it names no host, correlated (the correlator stamps
 * its incident), then written with what it changed. The pipeline owns the
 * flows: an alert marks its flow for the flow record. */
static void emit(struct pipeline *pl, struct finding *fd)
{
    finding_of_tx(pl, fd);
    finding_hosts(pl, fd);
    if (!fd->anomaly) {
        if (fd->flow)
            ((struct flow *)fd->flow)->alerted = 1;
        anomaly_note_alert(pl->anomaly, fd->ip_version, &fd->host, fd->ts_usec);
    }
    struct incident_change ch = incidents_add(pl->incidents, fd);
    if (pl->eve)
        eve_write_correlated(pl->eve, fd, &ch, (uint16_t)pl->cfg.community_id_seed);
    if (!fd->anomaly)
        remote_exec_on_finding(pl->rexec, fd); /* may emit about the other end */
}

static void on_finding(void *ctx, const struct finding *in)
{
    struct finding fd = *in;
    emit(ctx, &fd);
}

static void on_incident_closed(void *ctx, const struct incident *inc,
                               const char *reason, uint64_t now)
{
    struct pipeline *pl = ctx;
    if (pl->eve)
        eve_write_incident(pl->eve, inc, "closed", reason, NULL, now);
}

/* ---- application events: a record, then the detectors that read them -- */

static uint16_t seed_of(const struct pipeline *pl)
{
    return (uint16_t)pl->cfg.community_id_seed;
}

static void on_dns(void *ctx, struct flow *f, const struct dns_msg *m,
                   int64_t latency, uint64_t now)
{
    struct pipeline *pl = ctx;
    if (pl->eve)
        eve_write_dns(pl->eve, f, now, seed_of(pl), m, latency);
    intel_on_dns(pl->detect, f, now, m);
    anomaly_on_dns(pl->anomaly, f, m, now);
    c2_on_dns(pl->c2, f, m, now);
}

static void on_http(void *ctx, struct flow *f, const struct http_tx *tx,
                    uint64_t now)
{
    struct pipeline *pl = ctx;
    if (pl->eve)
        eve_write_http(pl->eve, f, now, seed_of(pl), tx);
    /* the client this transaction speaks for: its findings are about it */
    struct event_subject subj = proxy_http_subject(&pl->proxy, f, tx, &pl->proxy.st);
    intel_check_http(pl->detect, &subj, now, tx);
    c2_on_http(pl->c2, &subj, tx, now);
    remote_exec_on_http(pl->rexec, f, tx, now);
}

static void on_rpc(void *ctx, struct flow *f, const struct dcerpc_call *call,
                   uint64_t now)
{
    struct pipeline *pl = ctx;
    remote_exec_on_rpc(pl->rexec, f, call, now);
}

static void on_file(void *ctx, struct flow *f, const struct file_event *file,
                    uint64_t now)
{
    struct pipeline *pl = ctx;
    if (pl->eve)
        eve_write_fileinfo(pl->eve, f, now, seed_of(pl), file);
    struct event_subject subj = proxy_http_subject(&pl->proxy, f, file->http, NULL);
    intel_check_file(pl->detect, &subj, now, &file->r->h, file->name);
    if (!pl->cfg.detect.delivery)
        return;
    struct delivery_input in = {
        .subj = &subj, .tx = file->http, .r = file->r, .name = file->name,
        .size = file->size, .dir = file->dir, .mail = file->smtp != NULL,
        .inside = home_net_contains(&pl->home, f->key.ip_version, flow_addr(f, 1)),
        .ts_usec = now,
    };
    struct finding fd;
    if (delivery_judge(&in, &fd))
        emit(pl, &fd);
}

static void on_smtp(void *ctx, struct flow *f, const struct smtp_tx *tx,
                    const struct email_info *mail, uint64_t now)
{
    struct pipeline *pl = ctx;
    if (pl->eve)
        eve_write_smtp(pl->eve, f, now, seed_of(pl), tx, mail);
    intel_on_smtp(pl->detect, f, now, tx, mail);
    struct finding fd;
    if (pl->cfg.detect.exfil &&
        exfil_judge_smtp(f, tx, mail, &pl->home, now, &fd))
        emit(pl, &fd);
}

static void on_ftp(void *ctx, struct flow *f, const struct ftp_tx *tx,
                   uint64_t now)
{
    struct pipeline *pl = ctx;
    if (pl->eve)
        eve_write_ftp(pl->eve, f, now, seed_of(pl), tx);
    struct finding fd;
    if (pl->cfg.detect.exfil && exfil_judge_ftp(f, tx, &pl->home, now, &fd))
        emit(pl, &fd);
}

static bool anomaly_setup(struct pipeline *pl, char *err, size_t errlen)
{
    const struct anomaly_settings *s = &pl->cfg.anomaly;
    struct anomaly_config ac;
    anomaly_config_defaults(&ac);
    ac.home = pl->home;
    ac.learning_sec = s->learning;
    ac.half_life_days = s->half_life_days;
    ac.hosts = s->hosts;
    ac.pairs = s->pairs;
    ac.exfil_min_bytes = s->exfil_min;
    ac.scan_min_targets = s->scan_min_targets;
    ac.beacon_min_conns = s->beacon_min_conns;
    pl->anomaly = anomaly_new(&ac, on_finding, pl);
    if (!pl->anomaly) {
        snprintf(err, errlen, "out of memory for anomaly.hosts %u and "
                 "anomaly.pairs %u", s->hosts, s->pairs);
        return false;
    }
    if (s->state_dir[0] &&
        !hosts_load(anomaly_hosts(pl->anomaly), s->state_dir, err, errlen))
        return false;
    pl->last_save_wall = wall_usec();
    return true;
}

static bool correlation_new(struct pipeline *pl, char *err, size_t errlen)
{
    const struct nj_config *cfg = &pl->cfg;
    if (!home_net_parse(&pl->home, cfg->anomaly.home_nets, err, errlen) ||
        !proxy_view_init(&pl->proxy, cfg->anomaly.trusted_proxies,
                         cfg->anomaly.trusted_proxy_header, cfg->decrypted_feed,
                         cfg->decrypted_feed_ports, err, errlen))
        return false;
    pl->incidents = incidents_new(1024, cfg->anomaly.incident_timeout,
                                  on_incident_closed, pl);
    if (!pl->incidents) {
        snprintf(err, errlen, "out of memory");
        return false;
    }
    if (!strcmp(cfg->response.contain, "nftables")) {
        pl->contain = contain_new(&cfg->response, &pl->home, pl->eve, NULL, err,
                                  errlen);
        if (!pl->contain)
            return false;
        incidents_set_observer(pl->incidents, contain_on_incident, pl->contain);
    }
    if (cfg->anomaly.enabled && !anomaly_setup(pl, err, errlen))
        return false;
    if (cfg->detect.c2) {
        struct c2_config cc;
        c2_config_defaults(&cc);
        cc.pairs = cfg->detect.c2_pairs;
        cc.min_score = cfg->detect.c2_min_score;
        cc.strong_score = cfg->detect.c2_strong_score;
        pl->c2 = c2_channel_new(&cc, &pl->home, on_finding, pl);
        if (!pl->c2) {
            snprintf(err, errlen, "out of memory for detect.c2-pairs %u",
                     cfg->detect.c2_pairs);
            return false;
        }
    }
    if (cfg->detect.icmp_tunnel &&
        !(pl->icmp = icmp_tunnel_new(4096, &pl->home, on_finding, pl))) {
        snprintf(err, errlen, "out of memory");
        return false;
    }
    if (cfg->detect.remote_exec &&
        !(pl->rexec = remote_exec_new(&pl->home, on_finding, pl))) {
        snprintf(err, errlen, "out of memory");
        return false;
    }
    static const struct app_observers obs = { .http = on_http, .file = on_file,
                                              .smtp = on_smtp, .ftp = on_ftp,
                                              .dns = on_dns, .rpc = on_rpc };
    app_layer_set_observers(pl->app, &obs, pl);
    intel_detect_set_sink(pl->detect, on_finding, pl);
    app_layer_set_finding_sink(pl->app, on_finding, pl);
    eta_detect_set_sink(pl->eta, on_finding, pl);
    return true;
}

static void save_state(struct pipeline *pl)
{
    char err[512];
    if (pl->anomaly && pl->cfg.anomaly.state_dir[0] &&
        !hosts_save(anomaly_hosts(pl->anomaly), pl->cfg.anomaly.state_dir, err,
                    sizeof(err)))
        fprintf(stderr, "nightjar: %s\n", err);
    pl->last_save_wall = wall_usec();
}

/* The name the flow's server was looked up as, for its records. */
static bool resolve_name(void *ctx, const struct flow *f, struct eve_dest_name *out)
{
    const struct pipeline *pl = ctx;
    if (!f->name_gen)
        return false;
    struct dns_ref ref = { f->name_slot, f->name_gen };
    const struct dns_cache_entry *n = dns_cache_get(app_layer_dns_cache(pl->app), ref);
    if (!n)
        return false;
    out->name = n->name;
    out->resolved_usec = n->seen_usec;
    out->ttl = n->ttl;
    return true;
}

/* The client a trusted proxy's transaction speaks for, for its records. */
static bool forwarded_client(void *ctx, const struct flow *f,
                             const struct http_tx *tx, uint8_t *v,
                             struct ip_addr *out)
{
    const struct pipeline *pl = ctx;
    return proxy_client_of(&pl->proxy, f->key.ip_version, flow_addr(f, 0), tx, v,
                           out, NULL);
}

/* ---- the counter registry: the stats record ---------------------------- */

static uint64_t uptime(const void *ctx)
{
    const struct pipeline *pl = ctx;
    return (wall_usec() - pl->wall_start) / 1000000u;
}

static uint64_t mem_flows(const void *c) { return flow_table_memory(((const struct pipeline *)c)->flows); }
static uint64_t mem_stream(const void *c) { return stream_engine_memory(((const struct pipeline *)c)->streams); }
static uint64_t mem_defrag(const void *c) { return defrag_memory(((const struct pipeline *)c)->defrag); }
static uint64_t mem_tls(const void *c) { return tls_pool_memory(((const struct pipeline *)c)->tls_pool); }
static uint64_t mem_app(const void *c) { return app_layer_memory(((const struct pipeline *)c)->app); }
static uint64_t mem_intel(const void *c) { return intel_feeds_memory(((const struct pipeline *)c)->intel); }

static uint64_t mem_eta(const void *c)
{
    const struct pipeline *pl = c;
    return eta_detect_memory(pl->eta) + eta_history_memory(pl->pairs);
}

static uint64_t mem_anomaly(const void *c)
{
    const struct pipeline *pl = c;
    return anomaly_memory(pl->anomaly) + incidents_memory(pl->incidents) +
           c2_channel_memory(pl->c2) + icmp_tunnel_memory(pl->icmp);
}

static uint64_t mem_decrypt(const void *c)
{
    const struct pipeline *pl = c;
    return (pl->decrypt ? tls_decrypt_engine_memory(pl->decrypt) : 0) +
           quic_decrypt_engine_memory(pl->qdec);
}

static uint64_t mem_total(const void *c)
{
    return mem_flows(c) + mem_stream(c) + mem_defrag(c) + mem_tls(c) + mem_app(c) +
           mem_intel(c) + mem_eta(c) + mem_anomaly(c) + mem_decrypt(c);
}

static uint64_t out_records(const void *c)
{
    const struct pipeline *pl = c;
    return pl->eve ? eve_records(pl->eve) : 0;
}

static uint64_t out_errors(const void *c)
{
    const struct pipeline *pl = c;
    return pl->eve ? eve_write_errors(pl->eve) : 0;
}

static void sink_section(struct json *j, const void *c)
{
    const struct pipeline *pl = c;
    sink_stats_value(eve_sink(pl->eve), j);
}

/* Every module registers what it counts; the order is the record's. */
static bool register_counters(struct pipeline *pl)
{
    struct counters *r = pl->counters = counters_new();
    if (!r)
        return false;
    counters_fn(r, "uptime", uptime, pl);
    counters_u64(r, "capture.kernel_packets", &pl->cap.received);
    counters_u64(r, "capture.kernel_drops", &pl->cap.dropped);
    counters_u64(r, "capture.kernel_ifdrops", &pl->cap.ifdropped);
    counters_u64(r, "capture.truncated_files", &pl->truncated_files);
    counters_u64(r, "capture.worker_queue_drops", &pl->queue_drops);
    counters_u64(r, "app_detect.stun_over_cap", &pl->stun_over_cap);
    decode_counters(&pl->dstats, r);
    flow_table_counters(pl->flows, r);
    stream_counters(pl->streams, r);
    tls_counters(&pl->tls_stats, pl->tls_pool, r);
    if (pl->decrypt)
        tls_decrypt_counters(pl->decrypt, r);
    if (pl->keylog)
        keylog_counters(pl->keylog, r);
    quic_counters(&pl->quic_stats, r);
    quic_decrypt_counters(&pl->qdec_stats, r);
    app_layer_counters(pl->app, r);
    intel_detect_counters(pl->detect, r);
    eta_detect_counters(pl->eta, r);
    if (pl->pairs)
        eta_history_counters(pl->pairs, r);
    if (pl->anomaly)
        anomaly_counters(pl->anomaly, r);
    incidents_counters(pl->incidents, r);
    if (pl->c2)
        c2_channel_counters(pl->c2, r);
    if (pl->rexec)
        remote_exec_counters(pl->rexec, r);
    if (pl->icmp)
        icmp_tunnel_counters(pl->icmp, r);
    if (pl->proxy.trusted.n)
        proxy_counters(&pl->proxy, r);
    counters_fn(r, "memory.flow", mem_flows, pl);
    counters_fn(r, "memory.tcp_reassembly", mem_stream, pl);
    counters_fn(r, "memory.defrag", mem_defrag, pl);
    counters_fn(r, "memory.tls", mem_tls, pl);
    counters_fn(r, "memory.app_layer", mem_app, pl);
    counters_fn(r, "memory.decrypt", mem_decrypt, pl);
    counters_fn(r, "memory.intel", mem_intel, pl);
    counters_fn(r, "memory.eta", mem_eta, pl);
    counters_fn(r, "memory.anomaly", mem_anomaly, pl);
    return counters_fn(r, "memory.total", mem_total, pl) &&
           counters_fn(r, "output.records", out_records, pl) &&
           counters_fn(r, "output.write_errors", out_errors, pl) &&
           (!pl->eve || counters_section(r, "output.sink", sink_section, pl));
}

/* The secrets the sensor decrypts with, and the engine that uses them;
 * none when neither --keylog nor --rsa-key is given (a pcapng file's own
 * secrets make them later, pipeline_add_capture_secrets). */
static bool decrypt_setup(struct pipeline *pl, const struct decrypt_config *dc,
                          char *err, size_t errlen)
{
    if (!dc->n_keylogs && !dc->n_rsa_keys)
        return true;
    if (!(pl->keylog = keylog_new(dc->keylog_entries)) ||
        !(pl->rsa = rsa_keys_new())) {
        snprintf(err, errlen, "out of memory");
        return false;
    }
    for (int i = 0; i < dc->n_keylogs; i++)
        if (!keylog_add_file(pl->keylog, dc->keylogs[i], err, errlen))
            return false;
    for (int i = 0; i < dc->n_rsa_keys; i++)
        if (!rsa_keys_add(pl->rsa, dc->rsa_keys[i], err, errlen))
            return false;
    pl->decrypt = tls_decrypt_engine_new(pl->keylog, pl->rsa, dc->memcap);
    if (dc->n_keylogs)
        pl->qdec = quic_decrypt_engine_new(pl->keylog, dc->memcap,
                                           &pl->qdec_stats);
    if (!pl->decrypt || (dc->n_keylogs && !pl->qdec))
        snprintf(err, errlen, "out of memory");
    return pl->decrypt && (!dc->n_keylogs || pl->qdec);
}

int pipeline_add_capture_secrets(struct pipeline *pl, const char *path)
{
    if (!pl->cfg.decrypt.capture_secrets)
        return 0;
    bool made = !pl->keylog;
    if (made && !(pl->keylog = keylog_new(pl->cfg.decrypt.keylog_entries)))
        return -1;
    int n = keylog_add_pcapng_secrets(pl->keylog, path);
    if (n <= 0 && made) {
        keylog_free(pl->keylog);
        pl->keylog = NULL;
        return n;
    }
    if (!pl->decrypt && n > 0) {
        pl->decrypt = tls_decrypt_engine_new(pl->keylog, pl->rsa,
                                             pl->cfg.decrypt.memcap);
        if (!pl->decrypt)
            return -1;
        tls_decrypt_counters(pl->decrypt, pl->counters);
        keylog_counters(pl->keylog, pl->counters);
    }
    if (!pl->qdec && n > 0 &&
        !(pl->qdec = quic_decrypt_engine_new(pl->keylog, pl->cfg.decrypt.memcap,
                                             &pl->qdec_stats)))
        return -1;
    return n;
}

struct pipeline *pipeline_new(const struct nj_config *cfg, struct eve *eve,
                              char *err, size_t errlen)
{
    struct pipeline *pl = calloc(1, sizeof(*pl));
    if (!pl) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    pl->cfg = *cfg;
    pl->eve = eve;
    pl->wall_start = wall_usec();
    static const struct stream_sink sink = { on_stream_data, on_stream_gap };
    pl->defrag = defrag_new(&cfg->defrag);
    pl->flows = flow_table_new(&cfg->flow, on_flow_end, pl);
    pl->streams = stream_engine_new(&cfg->stream, &sink);
    pl->tls_pool = tls_pool_new(cfg->tls_memcap);
    if (!decrypt_setup(pl, &cfg->decrypt, err, errlen)) {
        pipeline_free(pl);
        return NULL;
    }
    if (cfg->n_intel_feeds || cfg->intel_dir[0]) {
        pl->intel = intel_feeds_new(cfg->intel_feeds, cfg->n_intel_feeds,
                                    cfg->intel_dir,
                                    cfg->worker_quiet ? NULL : stderr, err, errlen);
        if (!pl->intel) {
            pipeline_free(pl);
            return NULL;
        }
    }
    pl->detect = intel_detect_new(pl->intel);
    pl->app = pl->detect ? app_layer_new(cfg, err, errlen) : NULL;
    if (!pl->app) {
        if (!pl->detect)
            snprintf(err, errlen, "out of memory");
        pipeline_free(pl);
        return NULL;
    }
    intel_detect_set_dns(pl->detect, app_layer_dns_cache(pl->app));
    app_layer_follow_feeds(pl->app, pl->intel);
    if (eve) {
        eve_set_resolver(eve, resolve_name, pl);
        eve_set_forwarded(eve, forwarded_client, pl);
    }
    pl->eta = eta_detect_new(&cfg->eta, err, errlen);
    if (!pl->eta) {
        pipeline_free(pl);
        return NULL;
    }
    eta_detect_set_dns(pl->eta, app_layer_dns_cache(pl->app));
    if ((cfg->eta.enabled || cfg->anomaly.enabled) && cfg->eta.pairs) {
        pl->pairs = eta_history_new(cfg->eta.pairs);
        if (!pl->pairs) {
            snprintf(err, errlen, "out of memory for eta.pair-history %u",
                     cfg->eta.pairs);
            pipeline_free(pl);
            return NULL;
        }
    }
    if (!pl->defrag || !pl->flows || !pl->streams || !pl->tls_pool) {
        snprintf(err, errlen, "out of memory setting up the flow table "
                 "(flow.memcap %llu)", (unsigned long long)cfg->flow.memcap);
        pipeline_free(pl);
        return NULL;
    }
    if (!correlation_new(pl, err, errlen) || !register_counters(pl)) {
        if (!err[0])
            snprintf(err, errlen, "out of memory");
        pipeline_free(pl);
        return NULL;
    }
    return pl;
}

void pipeline_free(struct pipeline *pl)
{
    if (!pl)
        return;
    counters_free(pl->counters);
    flow_table_free(pl->flows);
    stream_engine_free(pl->streams);
    tls_pool_free(pl->tls_pool);
    tls_decrypt_engine_free(pl->decrypt);
    quic_decrypt_engine_free(pl->qdec);
    rsa_keys_free(pl->rsa);
    keylog_free(pl->keylog);
    app_layer_free(pl->app);
    intel_detect_free(pl->detect);
    eta_detect_free(pl->eta);
    eta_history_free(pl->pairs);
    anomaly_free(pl->anomaly);
    c2_channel_free(pl->c2);
    remote_exec_free(pl->rexec);
    icmp_tunnel_free(pl->icmp);
    incidents_free(pl->incidents);
    contain_free(pl->contain);
    intel_feeds_free(pl->intel);
    defrag_free(pl->defrag);
    free(pl);
}

/* Every 1024 packets and on idle ticks: feeds, idle incidents, the state
 * file (live capture: every anomaly.save-interval seconds). */
static void periodic(struct pipeline *pl)
{
    uint64_t wall = wall_usec();
    if (pl->intel)
        intel_feeds_poll(pl->intel, wall);
    app_layer_follow_feeds(pl->app, pl->intel);
    incidents_tick(pl->incidents, pl->now_usec);
    if (pl->anomaly && pl->cfg.anomaly.state_dir[0] && pl->cfg.anomaly.save_interval &&
        wall - pl->last_save_wall > pl->cfg.anomaly.save_interval * 1000000ull)
        save_state(pl);
}

void pipeline_packet(struct pipeline *pl, struct packet *p)
{
    if (!pl->first_usec)
        pl->first_usec = p->ts_usec;
    if (p->ts_usec > pl->last_usec)
        pl->last_usec = p->ts_usec;
    pl->now_usec = p->ts_usec;
    contain_poll(pl->contain, p->ts_usec);
    if (decode_packet(p, pl->defrag, &pl->dstats) != DECODE_OK)
        return;
    int dir;
    struct flow *f = flow_table_packet(pl->flows, p, &dir);
    if (!f)
        return;
    if (f->dir[0].pkts + f->dir[1].pkts == 1) {
        f->decrypted_feed = proxy_feed_covers(&pl->proxy, f);
        app_flow_started(pl->app, f, p->ts_usec);
        intel_on_flow_start(pl->detect, f, p->ts_usec);
    }
    if ((pl->dstats.pkts & 1023) == 0 && !pl->driven)
        periodic(pl);
    if (p->proto == 6) {
        struct sink_ctx s = { pl, f };
        stream_segment(pl->streams, &f->stream[dir], dir, &s, p->tcp_flags,
                       p->tcp_seq, p->payload, p->payload_len);
    } else if (p->proto == 1 || p->proto == 58) {
        icmp_tunnel_packet(pl->icmp, f, p);
    } else if (p->proto == 17 && p->payload_len) {
        /* the app layer reads TCP streams and UDP datagrams; the payload
         * of another IP protocol (SCTP chunks, ESP, GRE that did not
         * decode) is counted in the flow, not parsed */
        detect_app(pl, f, dir, p->payload, p->payload_len);
        for (size_t i = 0; i < N_LAYERS; i++)
            flow_layers[i].datagram(pl, f, dir, p->payload, p->payload_len);
    }
}

void pipeline_reload_intel(struct pipeline *pl)
{
    intel_feeds_request_reload(pl->intel);
    intel_feeds_poll(pl->intel, wall_usec());
}

/* An idle moment of a live capture: time goes on without packets --
 * flows and incidents expire by it -- and what was written reaches the
 * file (a live log is read as it grows). */
void pipeline_tick(struct pipeline *pl, uint64_t now_usec)
{
    intel_feeds_poll(pl->intel, wall_usec());
    if (now_usec > pl->now_usec)
        pl->now_usec = now_usec;
    flow_table_expire(pl->flows, now_usec);
    periodic(pl);
    contain_poll(pl->contain, now_usec);
    if (pl->eve)
        eve_flush(pl->eve);
}

void pipeline_capture_stats(struct pipeline *pl, const struct capture_stats *cs)
{
    pl->cap = *cs; /* the kernel's counters are totals since the start */
}

void pipeline_note_truncated_file(struct pipeline *pl) { pl->truncated_files++; }
void pipeline_set_queue_drops(struct pipeline *pl, uint64_t n) { pl->queue_drops = n; }

void pipeline_write_stats(struct pipeline *pl, uint64_t ts_usec)
{
    if (!pl->eve)
        return;
    eve_write_stats(pl->eve, ts_usec ? ts_usec : (pl->last_usec ? pl->last_usec
                                                               : wall_usec()),
                    pl->counters);
}

void pipeline_finish_flows(struct pipeline *pl)
{
    intel_feeds_wait(pl->intel);
    flow_table_flush(pl->flows, FLOW_END_SHUTDOWN);
    incidents_close_all(pl->incidents, pl->last_usec);
    contain_finish(pl->contain, pl->last_usec);
    save_state(pl);
}

void pipeline_finish(struct pipeline *pl)
{
    pipeline_finish_flows(pl);
    pipeline_write_stats(pl, 0);
    eve_flush(pl->eve);
}

uint64_t pipeline_packets(const struct pipeline *pl) { return pl->dstats.pkts; }

void pipeline_set_flow_observer(struct pipeline *pl, pipeline_flow_fn fn,
                                void *ctx)
{
    pl->observer = fn;
    pl->observer_ctx = ctx;
}

static int top_cmp(const void *a, const void *b)
{
    const struct top_flow *x = a, *y = b;
    return x->bytes < y->bytes ? 1 : x->bytes > y->bytes ? -1 : 0;
}

/* What the summary adds up over the pipelines of several workers. */
struct summary_sums {
    uint64_t pkts, bytes, invalid, not_ip, tunnels, fragments;
    uint64_t created, evicted, gaps, queued, records;
    uint64_t first_usec, last_usec;
    uint64_t proto_flows[3], app_flows[APP_COUNT];
    struct top_flow top[TOP_FLOWS * 2];
};

static void summary_add(struct summary_sums *s, const struct pipeline *pl)
{
    const struct decode_stats *d = &pl->dstats;
    const struct flow_table_stats *fs = flow_table_stats(pl->flows);
    const struct stream_stats *ss = stream_engine_stats(pl->streams);
    s->pkts += d->pkts, s->bytes += d->bytes, s->invalid += d->invalid;
    s->not_ip += d->not_ip, s->tunnels += d->tunnels;
    s->fragments += d->fragments;
    s->created += fs->created, s->evicted += fs->evicted;
    s->gaps += ss->gaps, s->queued += ss->queued;
    s->records += pl->eve ? eve_records(pl->eve) : 0;
    if (pl->first_usec && (!s->first_usec || pl->first_usec < s->first_usec))
        s->first_usec = pl->first_usec;
    if (pl->last_usec > s->last_usec)
        s->last_usec = pl->last_usec;
    for (int i = 0; i < 3; i++)
        s->proto_flows[i] += pl->proto_flows[i];
    for (int i = 0; i < APP_COUNT; i++)
        s->app_flows[i] += pl->app_flows[i];
    /* the biggest of what is kept and what this pipeline kept */
    memcpy(s->top + TOP_FLOWS, pl->top, sizeof(pl->top));
    qsort(s->top, TOP_FLOWS * 2, sizeof(s->top[0]), top_cmp);
}

static void summary_print(const struct summary_sums *s, FILE *out)
{
    fprintf(out, "nightjar: %llu packets, %llu bytes, %.3f s of traffic\n",
            (unsigned long long)s->pkts, (unsigned long long)s->bytes,
            s->last_usec > s->first_usec
                ? (s->last_usec - s->first_usec) / 1e6 : 0.0);
    fprintf(out, "  flows: %llu (tcp %llu, udp %llu, other %llu), "
            "%llu evicted for memory\n",
            (unsigned long long)s->created, (unsigned long long)s->proto_flows[0],
            (unsigned long long)s->proto_flows[1],
            (unsigned long long)s->proto_flows[2],
            (unsigned long long)s->evicted);
    fprintf(out, "  application protocols:");
    int any = 0;
    for (int i = 1; i < APP_COUNT; i++)
        if (s->app_flows[i]) {
            fprintf(out, " %s %llu", app_proto_name((enum app_proto)i),
                    (unsigned long long)s->app_flows[i]);
            any = 1;
        }
    fprintf(out, "%s\n", any ? "" : " none recognised");
    fprintf(out, "  decoder: %llu invalid, %llu not IP, %llu tunnelled, "
            "%llu fragments; reassembly: %llu gaps, %llu out-of-order\n",
            (unsigned long long)s->invalid, (unsigned long long)s->not_ip,
            (unsigned long long)s->tunnels, (unsigned long long)s->fragments,
            (unsigned long long)s->gaps, (unsigned long long)s->queued);
    if (s->top[0].bytes)
        fprintf(out, "  largest flows:\n");
    for (int i = 0; i < TOP_FLOWS && s->top[i].bytes; i++)
        fprintf(out, "    %s\n", s->top[i].line);
}

void pipeline_summary_all(struct pipeline *const *pls, int n, FILE *out,
                          const char *eve_path)
{
    static struct summary_sums s; /* the top lines: too big for a stack */
    memset(&s, 0, sizeof(s));
    for (int i = 0; i < n; i++)
        summary_add(&s, pls[i]);
    summary_print(&s, out);
    for (int i = 0; i < n; i++)
        contain_summary(pls[i]->contain, out);
    if (eve_path)
        fprintf(out, "  EVE log: %s (%llu records)\n", eve_path,
                (unsigned long long)s.records);
}

void pipeline_summary(const struct pipeline *pl, FILE *out,
                      const char *eve_path)
{
    struct pipeline *one = (struct pipeline *)pl;
    pipeline_summary_all(&one, 1, out, eve_path);
}

/* ---- a worker's pipeline (sensor/workers.c) ----------------------------- */

void pipeline_set_driven(struct pipeline *pl)
{
    pl->driven = true;
    flow_table_set_external_clock(pl->flows);
}

void pipeline_packet_nth(struct pipeline *pl, struct packet *p, uint64_t nth)
{
    flow_table_set_packet_ordinal(pl->flows, nth);
    pipeline_packet(pl, p);
}

/* Another worker's DNS answer: decoded here without defrag or counting,
 * and only its answers kept (app_dns_learn) -- when the owner reads it as
 * DNS too: app_detect's verdict on a flow this datagram would start (an
 * LLMNR answer from 5355 to an ephemeral port starts a flow that is not
 * DNS, and the owner's cache does not learn it either). */
void pipeline_learn_dns(struct pipeline *pl, struct packet *p)
{
    struct decode_stats uncounted;
    memset(&uncounted, 0, sizeof(uncounted));
    if (decode_packet(p, NULL, &uncounted) == DECODE_OK && p->proto == 17 &&
        p->payload_len &&
        app_detect(17, 0, p->payload, p->payload_len, p->sport, p->dport) == APP_DNS)
        app_dns_learn(pl->app, p->payload, p->payload_len, p->ts_usec);
}

void pipeline_note_server(struct pipeline *pl, uint8_t v,
                          const struct ip_addr *server, uint64_t ts_usec)
{
    anomaly_note_server(pl->anomaly, v, server, ts_usec);
}

/* The reader's checkpoint: packet time reached ts on some worker. */
void pipeline_advance(struct pipeline *pl, uint64_t ts_usec)
{
    pipeline_set_time(pl, ts_usec);
    flow_table_advance(pl->flows, ts_usec);
}

void pipeline_set_time(struct pipeline *pl, uint64_t ts_usec)
{
    if (ts_usec > pl->last_usec)
        pl->last_usec = ts_usec;
    pl->now_usec = ts_usec;
}

/* Every 1024th packet of the whole input, at that packet's time. */
void pipeline_periodic(struct pipeline *pl, uint64_t ts_usec)
{
    pl->now_usec = ts_usec;
    periodic(pl);
}

const struct counters *pipeline_counters(const struct pipeline *pl)
{
    return pl->counters;
}

struct eve *pipeline_eve(const struct pipeline *pl) { return pl->eve; }
