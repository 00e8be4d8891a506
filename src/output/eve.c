/* eve.c -- EVE flow and stats records (field list in docs/eve.md). */
#include "output/eve.h"
#include "output/eve_internal.h"

#include "output/eve_eta.h"
#include "util/counters.h"
#include "util/timefmt.h"


#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "output/eve_tls.h"
#include "output/sink.h"
#include "proto/app_detect.h"

struct eve *eve_open(const struct sink_config *sc)
{
    struct eve *e = calloc(1, sizeof(*e));
    if (!e)
        return NULL;
    e->sink = sink_open(sc);
    if (!e->sink) {
        int saved = errno;
        free(e);
        errno = saved;
        return NULL;
    }
    json_init(&e->j);
    e->owns_sink = true;
    return e;
}

/* Worker threads: each renders into a buffer of its own and hands whole
 * lines to the one sink under one lock, held for a record's write only
 * (a regular file's line goes into stdio's buffer whole, never in parts).
 * The other option, one writer thread fed by a queue per worker, costs a
 * copy of every record and a thread; the lock is held for a memcpy into
 * the stdio buffer (a write(2) when that is full), so it is rarely met. */
struct eve *eve_open_shared(struct eve *owner)
{
    struct eve *e = calloc(1, sizeof(*e));
    if (!e)
        return NULL;
    if (!owner->lock) {
        /* adaptive: a worker that finds the lock held spins a little
         * before it sleeps -- the holder is done in a memcpy, and a sleep
         * and the wake-up cost the two of them far more */
        pthread_mutexattr_t a;
        pthread_mutexattr_init(&a);
        pthread_mutexattr_settype(&a, PTHREAD_MUTEX_ADAPTIVE_NP);
        pthread_mutex_init(&owner->lock_storage, &a);
        pthread_mutexattr_destroy(&a);
        owner->lock = &owner->lock_storage;
    }
    e->sink = owner->sink;
    e->lock = owner->lock;
    e->resolve = owner->resolve, e->resolve_ctx = owner->resolve_ctx;
    e->forwarded = owner->forwarded, e->forwarded_ctx = owner->forwarded_ctx;
    json_init(&e->j);
    return e;
}

static void eve_lock(struct eve *e)
{
    if (e->lock)
        pthread_mutex_lock(e->lock);
}

static void eve_unlock(struct eve *e)
{
    if (e->lock)
        pthread_mutex_unlock(e->lock);
}

void eve_flush(struct eve *e)
{
    if (!e)
        return;
    eve_lock(e);
    if (!sink_flush(e->sink))
        e->write_errors++;
    eve_unlock(e);
}

void eve_reopen(struct eve *e)
{
    eve_lock(e);
    sink_reopen(e->sink);
    eve_unlock(e);
}

uint64_t eve_records(const struct eve *e) { return e->records; }
uint64_t eve_write_errors(const struct eve *e) { return e->write_errors; }
struct sink *eve_sink(const struct eve *e) { return e->sink; }

void eve_close(struct eve *e)
{
    if (!e)
        return;
    eve_flush(e);
    if (e->owns_sink) {
        sink_close(e->sink);
        if (e->lock)
            pthread_mutex_destroy(e->lock);
    }
    json_free(&e->j);
    free(e);
}

void eve_emit(struct eve *e)
{
    if (e->j.oom) {
        e->write_errors++;
        return;
    }
    e->j.buf[e->j.len++] = '\n'; /* reserve() always leaves one byte */
    size_t key_len = e->key_len;
    e->key_len = 0;
    eve_lock(e);
    bool ok = sink_write_keyed(e->sink, e->j.buf, e->j.len, e->key, key_len);
    eve_unlock(e);
    if (ok)
        e->records++;
    else
        e->write_errors++;
}

/* gmtime and strftime are slow next to the rest of a record; flows end in
 * time order, so the text of the last second is kept and reused. */
void eve_format_time(uint64_t usec, char *buf, size_t len)
{
    time_format(usec, buf, len);
}

const char *ip_proto_name(uint8_t proto, char *buf, size_t len)
{
    switch (proto) {
    case 6: return "TCP";
    case 17: return "UDP";
    case 1: return "ICMP";
    case 58: return "IPv6-ICMP";
    case 132: return "SCTP";
    case 47: return "GRE";
    case 50: return "ESP";
    case 51: return "AH";
    case 2: return "IGMP";
    case 89: return "OSPF";
    case 103: return "PIM";
    case 112: return "VRRP";
    default: snprintf(buf, len, "%u", proto); return buf;
    }
}

static const char *tunnel_name(uint8_t t)
{
    static const char *const n[] = { "", "gre", "erspan", "vxlan",
                                     "geneve", "gtpu", "ipip" };
    return t < sizeof(n) / sizeof(n[0]) ? n[t] : "";
}

void eve_common(struct json *j, uint64_t ts_usec, const char *event_type,
                const struct flow *f, uint16_t cid_seed)
{
    char buf[64], a[64];
    eve_format_time(ts_usec, buf, sizeof(buf));
    json_kv_str(j, "timestamp", buf);
    json_kv_u64(j, "flow_id", f->id);
    json_kv_str(j, "event_type", event_type);
    if (f->key.vlan[0]) {
        json_key(j, "vlan");
        json_arr_open(j);
        for (int i = 0; i < DECODE_MAX_VLANS && f->key.vlan[i]; i++)
            json_u64(j, f->key.vlan[i]);
        json_arr_close(j);
    }
    json_kv_str(j, "src_ip", ip_addr_str(flow_addr(f, 0), f->key.ip_version,
                                         a, sizeof(a)));
    bool icmp = f->key.proto == 1 || f->key.proto == 58;
    bool ports = f->key.proto == 6 || f->key.proto == 17 || f->key.proto == 132;
    if (ports)
        json_kv_u64(j, "src_port", flow_port(f, 0));
    json_kv_str(j, "dest_ip", ip_addr_str(flow_addr(f, 1), f->key.ip_version,
                                          a, sizeof(a)));
    if (ports)
        json_kv_u64(j, "dest_port", flow_port(f, 1));
    json_kv_str(j, "proto", ip_proto_name(f->key.proto, buf, sizeof(buf)));
    if (icmp) {
        json_kv_u64(j, "icmp_type", flow_port(f, 0));
        json_kv_u64(j, "icmp_code", flow_port(f, 1));
    }
    if (f->app_proto != APP_UNKNOWN)
        json_kv_str(j, "app_proto", app_proto_name(f->app_proto));
    else if ((f->key.proto == 6 || f->key.proto == 17) &&
             f->dir[0].payload_bytes && f->dir[1].payload_bytes)
        json_kv_str(j, "app_proto", "failed"); /* tried, nothing matched */
    if (f->decrypted)
        json_kv_bool(j, "decrypted", true);
    char cid[40];
    flow_community_id(f, cid_seed, cid, sizeof(cid));
    json_kv_str(j, "community_id", cid);
    if (f->decrypted_feed) /* cleartext of a TLS-terminating box: expected */
        json_kv_bool(j, "decrypted_feed", true);
    if (f->key.tunnel) {
        json_key(j, "tunnel");
        json_obj_open(j);
        json_kv_str(j, "type", tunnel_name(f->key.tunnel));
        json_kv_u64(j, "id", f->key.tunnel_id);
        json_obj_close(j);
    }
}

static void tcp_flags_hex(uint8_t flags, char *buf)
{
    static const char hex[] = "0123456789abcdef";
    buf[0] = hex[flags >> 4];
    buf[1] = hex[flags & 15];
    buf[2] = 0;
}

static void eve_tcp(struct json *j, const struct flow *f)
{
    char hex[4];
    uint8_t all = f->dir[0].tcp_flags | f->dir[1].tcp_flags;
    json_key(j, "tcp");
    json_obj_open(j);
    tcp_flags_hex(all, hex);
    json_kv_str(j, "tcp_flags", hex);
    tcp_flags_hex(f->dir[0].tcp_flags, hex);
    json_kv_str(j, "tcp_flags_ts", hex);
    tcp_flags_hex(f->dir[1].tcp_flags, hex);
    json_kv_str(j, "tcp_flags_tc", hex);
    static const struct { uint8_t bit; const char *name; } names[] = {
        { TCP_SYN, "syn" }, { TCP_FIN, "fin" }, { TCP_RST, "rst" },
        { TCP_PSH, "psh" }, { TCP_ACK, "ack" }, { TCP_URG, "urg" },
        { TCP_ECE, "ecn" }, { TCP_CWR, "cwr" },
    };
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        if (all & names[i].bit)
            json_kv_bool(j, names[i].name, true);
    json_obj_close(j);
}

static void eve_stream_dir(struct json *j, const char *name,
                           const struct tcp_stream *s)
{
    json_key(j, name);
    json_obj_open(j);
    json_kv_u64(j, "delivered", s->delivered);
    json_kv_u64(j, "gaps", s->gaps);
    json_kv_u64(j, "gap_bytes", s->gap_bytes);
    json_kv_bool(j, "midstream", s->flags & STREAM_F_MIDSTREAM);
    json_kv_bool(j, "depth_reached", s->flags & STREAM_F_DEPTH);
    json_obj_close(j);
}

static double mean_of(double sum, uint64_t n) { return n ? sum / n : 0; }

static double std_of(double sum, double sumsq, uint64_t n)
{
    if (n < 2)
        return 0;
    double m = sum / n, v = sumsq / n - m * m;
    return v > 0 ? sqrt(v) : 0;
}

static void eve_features_dir(struct json *j, const char *name,
                             const struct flow_dir *d)
{
    uint64_t iat_n = d->pkts > 1 ? d->pkts - 1 : 0;
    json_key(j, name);
    json_obj_open(j);
    json_kv_u64(j, "ip_bytes", d->ip_bytes);
    json_kv_u64(j, "payload_bytes", d->payload_bytes);
    json_kv_u64(j, "payload_pkts", d->payload_pkts);
    json_kv_u64(j, "size_min", d->pkts ? d->size_min : 0);
    json_kv_u64(j, "size_max", d->size_max);
    json_kv_double(j, "size_mean", mean_of(d->size_sum, d->pkts), 2);
    json_kv_double(j, "size_std", std_of(d->size_sum, d->size_sumsq, d->pkts), 2);
    json_kv_u64(j, "iat_min_us", iat_n ? d->iat_min : 0);
    json_kv_u64(j, "iat_max_us", d->iat_max);
    json_kv_double(j, "iat_mean_us", mean_of(d->iat_sum, iat_n), 1);
    json_kv_double(j, "iat_std_us", std_of(d->iat_sum, d->iat_sumsq, iat_n), 1);
    if (d->pkts) {
        json_kv_u64(j, "init_ttl", d->init_ttl);
    }
    json_obj_close(j);
}

static void eve_tcp_features_dir(struct json *j, const char *name,
                                 const struct flow_dir *d)
{
    char hex[4];
    json_key(j, name);
    json_obj_open(j);
    tcp_flags_hex(d->tcp_flags, hex);
    json_kv_str(j, "flags", hex);
    json_kv_u64(j, "init_win", d->init_win);
    if (d->mss)
        json_kv_u64(j, "mss", d->mss);
    if (d->wscale != 0xff)
        json_kv_u64(j, "wscale", d->wscale);
    json_obj_close(j);
}

static void eve_bytes_dir(struct json *j, const char *name,
                          const struct flow_dir *d)
{
    if (!d->has_entropy)
        return;
    json_key(j, name);
    json_obj_open(j);
    json_kv_double(j, "entropy", d->entropy, 4);
    json_kv_double(j, "printable", d->printable, 4);
    json_kv_u64(j, "bytes", d->entropy_bytes);
    json_obj_close(j);
}

static void eve_splt(struct json *j, const struct flow *f)
{
    json_key(j, "splt_len");
    json_arr_open(j);
    for (uint16_t i = 0; i < f->splt_n; i++)
        json_u64(j, f->splt[i].len);
    json_arr_close(j);
    json_key(j, "splt_dir");
    json_arr_open(j);
    for (uint16_t i = 0; i < f->splt_n; i++)
        json_u64(j, f->splt[i].dir);
    json_arr_close(j);
    json_key(j, "splt_iat_us");
    json_arr_open(j);
    for (uint16_t i = 0; i < f->splt_n; i++)
        json_u64(j, f->splt[i].iat_usec);
    json_arr_close(j);
}

static void eve_rounds(struct json *j, const struct flow *f)
{
    uint32_t n = f->rounds < FLOW_ROUNDS_MAX ? f->rounds : FLOW_ROUNDS_MAX;
    json_kv_u64(j, "rounds", f->rounds);
    if (n)
        json_kv_u64(j, "round_first_dir", f->round[0].dir);
    json_key(j, "round_pkts");
    json_arr_open(j);
    for (uint32_t i = 0; i < n; i++)
        json_u64(j, f->round[i].pkts);
    json_arr_close(j);
    json_key(j, "round_bytes");
    json_arr_open(j);
    for (uint32_t i = 0; i < n; i++)
        json_u64(j, f->round[i].bytes);
    json_arr_close(j);
}

static void eve_features(struct json *j, const struct flow *f,
                         uint32_t splt_len)
{
    json_key(j, "features");
    json_obj_open(j);
    json_kv_u64(j, "version", 1);
    json_kv_double(j, "duration", (f->last_usec - f->first_usec) / 1e6, 6);
    eve_features_dir(j, "toserver", &f->dir[0]);
    eve_features_dir(j, "toclient", &f->dir[1]);
    if (f->key.proto == 6) {
        json_key(j, "tcp");
        json_obj_open(j);
        eve_tcp_features_dir(j, "toserver", &f->dir[0]);
        eve_tcp_features_dir(j, "toclient", &f->dir[1]);
        json_obj_close(j);
    }
    json_kv_u64(j, "splt_max", splt_len);
    eve_splt(j, f);
    eve_rounds(j, f);
    if (f->dir[0].has_entropy || f->dir[1].has_entropy) {
        json_key(j, "byte_dist");
        json_obj_open(j);
        eve_bytes_dir(j, "toserver", &f->dir[0]);
        eve_bytes_dir(j, "toclient", &f->dir[1]);
        json_obj_close(j);
    }
    json_obj_close(j);
}

void eve_alert_open(struct json *j, uint32_t sid, const char *signature,
                    const char *category, uint64_t severity, bool blocked)
{
    json_key(j, "alert");
    json_obj_open(j);
    json_kv_str(j, "action", blocked ? "blocked" : "allowed");
    json_kv_u64(j, "gid", 1);
    json_kv_u64(j, "signature_id", sid);
    json_kv_u64(j, "rev", 1);
    json_kv_str(j, "signature", signature);
    json_kv_str(j, "category", category);
    json_kv_u64(j, "severity", severity);
}

void eve_write_flow(struct eve *e, const struct flow *f,
                    enum flow_end_reason reason, uint16_t cid_seed,
                    uint32_t splt_len, const struct tls_summary *tls,
                    const struct eve_flow_eta *eta)
{
    struct json *j = &e->j;
    char ts[64];
    eve_begin(e, f->first_usec, "flow", f, cid_seed);
    json_key(j, "flow");
    json_obj_open(j);
    json_kv_u64(j, "pkts_toserver", f->dir[0].pkts);
    json_kv_u64(j, "pkts_toclient", f->dir[1].pkts);
    json_kv_u64(j, "bytes_toserver", f->dir[0].bytes);
    json_kv_u64(j, "bytes_toclient", f->dir[1].bytes);
    if (f->decrypted) {
        json_kv_u64(j, "bytes_decrypted_toserver", f->decrypted_bytes[0]);
        json_kv_u64(j, "bytes_decrypted_toclient", f->decrypted_bytes[1]);
    }
    eve_format_time(f->first_usec, ts, sizeof(ts));
    json_kv_str(j, "start", ts);
    eve_format_time(f->last_usec, ts, sizeof(ts));
    json_kv_str(j, "end", ts);
    json_kv_u64(j, "age", (f->last_usec - f->first_usec) / 1000000);
    json_kv_str(j, "state", flow_state_name(f->state));
    json_kv_str(j, "reason", flow_end_reason_name(reason));
    json_kv_bool(j, "alerted", f->alerted != 0);
    json_kv_str(j, "initiator", flow_initiator_name(f->initiator));
    json_obj_close(j);
    if (f->key.proto == 6) {
        eve_tcp(j, f);
        json_key(j, "stream");
        json_obj_open(j);
        eve_stream_dir(j, "toserver", &f->stream[0]);
        eve_stream_dir(j, "toclient", &f->stream[1]);
        json_obj_close(j);
    }
    if (tls)
        eve_tls_summary(j, tls);
    if (eta && (eta->model || eta->features))
        eve_eta_flow(j, eta->score, eta->model, eta->features);
    eve_features(j, f, splt_len);
    json_obj_close(j);
    eve_emit(e);
}

void eve_write_stats(struct eve *e, uint64_t ts_usec, const struct counters *reg)
{
    eve_write_stats_merged(e, ts_usec, &reg, 1);
}

void eve_write_stats_merged(struct eve *e, uint64_t ts_usec,
                            const struct counters *const *regs, unsigned n)
{
    struct json *j = &e->j;
    char ts[64];
    json_reset(j);
    json_obj_open(j);
    eve_format_time(ts_usec, ts, sizeof(ts));
    json_kv_str(j, "timestamp", ts);
    json_kv_str(j, "event_type", "stats");
    json_key(j, "stats");
    json_obj_open(j);
    counters_write_merged(regs, n, j);
    json_obj_close(j);
    json_obj_close(j);
    eve_emit(e);
}

/* "dest_name": {"rrname", "resolved_at", "ttl"} -- the question whose
 * answer gave the server's address, as the source of the events resolved
 * it (the pipeline, from its passive DNS cache): the writer only renders. */
static void dest_name(struct json *j, const struct eve *e, const struct flow *f)
{
    struct eve_dest_name n;
    if (!e->resolve || !e->resolve(e->resolve_ctx, f, &n))
        return;
    char ts[64];
    json_key(j, "dest_name");
    json_obj_open(j);
    json_kv_str(j, "rrname", n.name);
    eve_format_time(n.resolved_usec, ts, sizeof(ts));
    json_kv_str(j, "resolved_at", ts);
    json_kv_u64(j, "ttl", n.ttl);
    json_obj_close(j);
}

void eve_set_key(struct eve *e, const struct ip_addr *host, uint8_t ip_version)
{
    ip_addr_str(host, ip_version, e->key, sizeof(e->key));
    e->key_len = strlen(e->key);
}

void eve_set_resolver(struct eve *e, eve_resolve_fn fn, void *ctx)
{
    e->resolve = fn;
    e->resolve_ctx = ctx;
}

void eve_set_forwarded(struct eve *e, eve_forwarded_fn fn, void *ctx)
{
    e->forwarded = fn;
    e->forwarded_ctx = ctx;
}

void eve_forwarded_client(struct eve *e, const struct flow *f,
                          const struct http_tx *t)
{
    uint8_t v;
    struct ip_addr a;
    char buf[64];
    if (e->forwarded && t && e->forwarded(e->forwarded_ctx, f, t, &v, &a))
        json_kv_str(&e->j, "xff", ip_addr_str(&a, v, buf, sizeof(buf)));
}

void eve_begin(struct eve *e, uint64_t ts_usec, const char *event_type,
               const struct flow *f, uint16_t cid_seed)
{
    struct json *j = &e->j;
    json_reset(j);
    json_obj_open(j);
    eve_common(j, ts_usec, event_type, f, cid_seed);
    dest_name(j, e, f);
    eve_set_key(e, flow_addr(f, 0), f->key.ip_version);
}
