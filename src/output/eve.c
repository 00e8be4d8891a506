/* eve.c -- EVE flow and stats records (field list in docs/eve.md). */
#include "output/eve.h"

#include "app/dns_cache.h"
#include "correlate/incidents.h"
#include "detect/anomaly.h"
#include "detect/eta_detect.h"
#include "detect/intel_detect.h"
#include "eta/eta_history.h"
#include "output/eve_eta.h"
#include "intel/intel_feeds.h"

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
    return e;
}

void eve_flush(struct eve *e)
{
    if (e && !sink_flush(e->sink))
        e->write_errors++;
}

void eve_close(struct eve *e)
{
    if (!e)
        return;
    eve_flush(e);
    sink_close(e->sink);
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
    if (sink_write(e->sink, e->j.buf, e->j.len))
        e->records++;
    else
        e->write_errors++;
}

/* gmtime and strftime are slow next to the rest of a record; flows end in
 * time order, so the text of the last second is kept and reused. */
void eve_format_time(uint64_t usec, char *buf, size_t len)
{
    static __thread time_t cached_secs = -1;
    static __thread char cached[32];
    time_t secs = (time_t)(usec / 1000000);
    if (secs != cached_secs) {
        struct tm tm;
        gmtime_r(&secs, &tm);
        strftime(cached, sizeof(cached), "%Y-%m-%dT%H:%M:%S", &tm);
        cached_secs = secs;
    }
    unsigned us = (unsigned)(usec % 1000000);
    size_t n = strlen(cached);
    if (len < n + 13) { /* "." + 6 digits + "+0000" + NUL */
        if (len)
            buf[0] = 0;
        return;
    }
    memcpy(buf, cached, n);
    buf[n++] = '.';
    for (int i = 5; i >= 0; i--) {
        buf[n + (size_t)i] = (char)('0' + us % 10);
        us /= 10;
    }
    memcpy(buf + n + 6, "+0000", 6);
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
    else if (f->dir[0].payload_bytes && f->dir[1].payload_bytes)
        json_kv_str(j, "app_proto", "failed");
    char cid[40];
    flow_community_id(f, cid_seed, cid, sizeof(cid));
    json_kv_str(j, "community_id", cid);
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
                    const char *category, uint64_t severity)
{
    json_key(j, "alert");
    json_obj_open(j);
    json_kv_str(j, "action", "allowed");
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

static void stats_decoder(struct json *j, const struct decode_stats *d)
{
    json_key(j, "decoder");
    json_obj_open(j);
    json_kv_u64(j, "pkts", d->pkts);
    json_kv_u64(j, "bytes", d->bytes);
    json_kv_u64(j, "ipv4", d->ipv4);
    json_kv_u64(j, "ipv6", d->ipv6);
    json_kv_u64(j, "tcp", d->tcp);
    json_kv_u64(j, "udp", d->udp);
    json_kv_u64(j, "icmpv4", d->icmp);
    json_kv_u64(j, "icmpv6", d->icmpv6);
    json_kv_u64(j, "other_ip", d->other_ip);
    json_kv_u64(j, "not_ip", d->not_ip);
    json_kv_u64(j, "vlan", d->vlan);
    json_kv_u64(j, "mpls", d->mpls);
    json_kv_u64(j, "tunnels", d->tunnels);
    json_kv_u64(j, "ipv4_tso", d->ipv4_tso);
    json_key(j, "defrag");
    json_obj_open(j);
    json_kv_u64(j, "fragments", d->fragments);
    json_kv_u64(j, "reassembled", d->frag_reassembled);
    json_kv_u64(j, "timeouts", d->frag_timeouts);
    json_kv_u64(j, "evicted", d->frag_evicted);
    json_obj_close(j);
    json_kv_u64(j, "invalid", d->invalid);
    json_key(j, "errors");
    json_obj_open(j);
    for (int i = 0; i < DECODE_ERR_COUNT; i++)
        json_kv_u64(j, decode_error_names[i], d->err[i]);
    json_obj_close(j);
    json_obj_close(j);
}

static void stats_flow(struct json *j, const struct flow_table_stats *f)
{
    json_key(j, "flow");
    json_obj_open(j);
    json_kv_u64(j, "created", f->created);
    json_kv_u64(j, "ended", f->ended);
    json_kv_u64(j, "active", f->active);
    json_kv_u64(j, "evicted", f->evicted);
    json_kv_u64(j, "tcp_reuse", f->tcp_reuse);
    json_key(j, "end_reason");
    json_obj_open(j);
    for (int i = 0; i < 4; i++)
        json_kv_u64(j, flow_end_reason_name((enum flow_end_reason)i),
                    f->by_reason[i]);
    json_obj_close(j);
    json_obj_close(j);
}

static void stats_stream(struct json *j, const struct stream_stats *s)
{
    json_key(j, "tcp_reassembly");
    json_obj_open(j);
    json_kv_u64(j, "segments", s->segments);
    json_kv_u64(j, "in_order", s->in_order);
    json_kv_u64(j, "queued", s->queued);
    json_kv_u64(j, "retransmits", s->retransmits);
    json_kv_u64(j, "overlaps", s->overlaps);
    json_kv_u64(j, "overlap_mismatch", s->overlap_mismatch);
    json_kv_u64(j, "gaps", s->gaps);
    json_kv_u64(j, "per_flow_cap", s->per_flow_cap);
    json_kv_u64(j, "memcap_hit", s->memcap_hit);
    json_kv_u64(j, "depth_reached", s->depth_reached);
    json_kv_u64(j, "midstream", s->midstream);
    json_kv_u64(j, "chunks_in_use", s->chunks_in_use);
    json_obj_close(j);
}

static void stats_tls(struct json *j, const struct tls_stats *t)
{
    json_key(j, "tls");
    json_obj_open(j);
    json_kv_u64(j, "sessions", t->sessions);
    json_kv_u64(j, "client_hellos", t->client_hellos);
    json_kv_u64(j, "server_hellos", t->server_hellos);
    json_kv_u64(j, "certificates", t->certificates);
    json_kv_u64(j, "handshakes_complete", t->handshakes_complete);
    json_kv_u64(j, "alerts", t->alerts);
    json_kv_u64(j, "certificate_cache_hits", x509_cache_stats()->hits);
    json_kv_u64(j, "certificate_cache_misses", x509_cache_stats()->misses);
    json_key(j, "errors");
    json_obj_open(j);
    for (int i = 0; i < TLS_ERR_COUNT; i++)
        json_kv_u64(j, tls_error_names[i], t->err[i]);
    json_obj_close(j);
    json_obj_close(j);
}

static void stats_quic(struct json *j, const struct quic_stats *q)
{
    json_key(j, "quic");
    json_obj_open(j);
    json_kv_u64(j, "datagrams", q->datagrams);
    json_kv_u64(j, "long_packets", q->long_packets);
    json_kv_u64(j, "short_packets", q->short_packets);
    json_kv_u64(j, "initials", q->initials);
    json_kv_u64(j, "decrypted", q->decrypted);
    json_kv_u64(j, "auth_failed", q->auth_failed);
    json_kv_u64(j, "unknown_version", q->unknown_version);
    json_kv_u64(j, "retry", q->retry);
    json_kv_u64(j, "version_negotiation", q->version_negotiation);
    json_kv_u64(j, "malformed", q->malformed);
    json_kv_u64(j, "crypto_out_of_window", q->crypto_out_of_window);
    json_obj_close(j);
}

/* "intel": the detector's counters and every feed's state */
static void stats_intel(struct json *j, const struct eve_stats_input *in)
{
    json_key(j, "intel");
    json_obj_open(j);
    if (in->detect) {
        const struct intel_detect_stats *d = intel_detect_stats(in->detect);
        json_kv_u64(j, "lookups", d->lookups);
        json_kv_u64(j, "matches", d->matches);
        json_kv_u64(j, "alerts", d->alerts);
        json_kv_u64(j, "deduplicated", d->deduplicated);
        json_kv_u64(j, "dedup_full", d->dedup_full);
    }
    json_kv_u64(j, "indicators", intel_feeds_total(in->intel));
    json_kv_u64(j, "swaps", intel_feeds_swaps(in->intel));
    json_key(j, "feeds");
    json_arr_open(j);
    for (int i = 0; i < intel_feeds_count(in->intel); i++) {
        const struct intel_feed_status *s = intel_feeds_status(in->intel, i);
        json_obj_open(j);
        json_kv_str(j, "name", s->name);
        json_kv_str(j, "path", s->path);
        json_kv_str(j, "format", s->format);
        json_kv_u64(j, "indicators", s->indicators);
        json_kv_u64(j, "invalid", s->invalid);
        json_kv_u64(j, "unsupported", s->unsupported);
        if (s->unsupported_example[0])
            json_kv_str(j, "unsupported_example", s->unsupported_example);
        json_kv_u64(j, "duplicates", s->duplicates);
        json_kv_u64(j, "loads", s->loads);
        json_kv_u64(j, "failures", s->failures);
        if (s->last_error[0])
            json_kv_str(j, "last_error", s->last_error);
        json_kv_double(j, "load_seconds", s->load_seconds, 3);
        json_obj_close(j);
    }
    json_arr_close(j);
    json_obj_close(j);
}

/* "eta": flows scored by the encrypted-traffic model, and its history */
static void stats_eta(struct json *j, const struct eta_detect *d,
                      const struct eta_history_stats *h)
{
    const struct eta_detect_stats *s = eta_detect_stats(d);
    json_key(j, "eta");
    json_obj_open(j);
    json_kv_u64(j, "flows", s->flows);
    json_kv_u64(j, "too_small", s->too_small);
    json_kv_u64(j, "extracted", s->extracted);
    json_kv_u64(j, "scored", s->scored);
    json_kv_u64(j, "alerts", s->alerts);
    json_kv_double(j, "score_usec_mean",
                   s->scored ? s->score_nsec / 1e3 / (double)s->scored : 0, 3);
    json_kv_u64(j, "pairs_new", h->pairs_new);
    json_kv_u64(j, "pairs_evicted", h->evicted);
    json_obj_close(j);
}

/* "anomaly": profiles, pairs, findings by kind, incidents */
static void stats_anomaly(struct json *j, const struct eve_stats_input *in)
{
    json_key(j, "anomaly");
    json_obj_open(j);
    if (in->anomaly) {
        const struct anomaly_stats *a = anomaly_stats(in->anomaly);
        const struct hosts_stats *h = hosts_stats(anomaly_hosts((struct anomaly *)in->anomaly));
        json_kv_u64(j, "flows", a->flows);
        json_kv_u64(j, "dns_messages", a->dns_messages);
        json_kv_u64(j, "hosts", hosts_count(anomaly_hosts((struct anomaly *)in->anomaly)));
        json_kv_u64(j, "hosts_evicted", h->hosts_evicted);
        json_kv_u64(j, "pairs_new", h->pairs_new);
        json_kv_u64(j, "pairs_evicted", h->pairs_evicted);
        json_kv_u64(j, "scan_trackers_evicted", a->scan_trackers_evicted);
        json_kv_u64(j, "scan_sets_full", a->scan_sets_full);
        json_kv_u64(j, "learning_suppressed", a->learning_suppressed);
        json_kv_u64(j, "state_saves", h->saves);
        json_kv_u64(j, "state_save_errors", h->save_errors);
        json_kv_u64(j, "state_loaded_hosts", h->loaded_hosts);
        json_kv_u64(j, "state_loaded_pairs", h->loaded_pairs);
        json_key(j, "findings");
        json_obj_open(j);
        for (int k = 0; k < FINDING_COUNT; k++)
            json_kv_u64(j, finding_kind_names[k], a->findings[k]);
        json_obj_close(j);
    }
    const struct incidents_stats *s = incidents_stats(in->incidents);
    json_key(j, "incidents");
    json_obj_open(j);
    json_kv_u64(j, "opened", s->opened);
    json_kv_u64(j, "escalated", s->escalated);
    json_kv_u64(j, "closed", s->closed);
    json_kv_u64(j, "closed_early", s->closed_early);
    json_kv_u64(j, "findings", s->findings);
    json_kv_u64(j, "anomalies", s->anomalies);
    json_kv_u64(j, "hosts_over_cap", s->hosts_over_cap);
    json_obj_close(j);
    json_obj_close(j);
}

void eve_write_stats(struct eve *e, const struct eve_stats_input *in)
{
    struct json *j = &e->j;
    char ts[64];
    json_reset(j);
    json_obj_open(j);
    eve_format_time(in->ts_usec, ts, sizeof(ts));
    json_kv_str(j, "timestamp", ts);
    json_kv_str(j, "event_type", "stats");
    json_key(j, "stats");
    json_obj_open(j);
    json_kv_u64(j, "uptime", in->uptime_sec);
    json_key(j, "capture");
    json_obj_open(j);
    json_kv_u64(j, "kernel_packets", in->capture_received);
    json_kv_u64(j, "kernel_drops", in->capture_dropped);
    json_kv_u64(j, "kernel_ifdrops", in->capture_ifdropped);
    json_kv_u64(j, "truncated_files", in->capture_truncated_files);
    json_obj_close(j);
    stats_decoder(j, in->decode);
    stats_flow(j, in->flows);
    stats_stream(j, in->stream);
    if (in->tls)
        stats_tls(j, in->tls);
    if (in->quic)
        stats_quic(j, in->quic);
    if (in->app_stats)
        in->app_stats(j, in->app_ctx);
    stats_intel(j, in);
    if (in->eta)
        stats_eta(j, in->eta, in->pairs);
    if (in->incidents)
        stats_anomaly(j, in);
    json_key(j, "memory");
    json_obj_open(j);
    json_kv_u64(j, "flow", in->mem_flows);
    json_kv_u64(j, "tcp_reassembly", in->mem_stream);
    json_kv_u64(j, "defrag", in->mem_defrag);
    json_kv_u64(j, "tls", in->mem_tls);
    json_kv_u64(j, "app_layer", in->mem_app);
    json_kv_u64(j, "intel", in->mem_intel);
    json_kv_u64(j, "eta", in->mem_eta);
    json_kv_u64(j, "anomaly", in->mem_anomaly);
    json_kv_u64(j, "total", in->mem_flows + in->mem_stream + in->mem_defrag +
                                in->mem_tls + in->mem_app + in->mem_intel +
                                in->mem_eta + in->mem_anomaly);
    json_obj_close(j);
    json_key(j, "output");
    json_obj_open(j);
    json_kv_u64(j, "records", e->records);
    json_kv_u64(j, "write_errors", e->write_errors);
    sink_stats_json(e->sink, j);
    json_obj_close(j);
    json_obj_close(j);
    json_obj_close(j);
    eve_emit(e);
}

/* "dest_name": {"rrname", "resolved_at", "ttl"} -- the question whose
 * answer gave the server's address (see app/dns_cache.h). */
static void dest_name(struct json *j, const struct eve *e, const struct flow *f)
{
    if (!e->dns || !f->name_gen)
        return;
    struct dns_ref ref = { f->name_slot, f->name_gen };
    const struct dns_cache_entry *n = dns_cache_get(e->dns, ref);
    if (!n)
        return;
    char ts[64];
    json_key(j, "dest_name");
    json_obj_open(j);
    json_kv_str(j, "rrname", n->name);
    eve_format_time(n->seen_usec, ts, sizeof(ts));
    json_kv_str(j, "resolved_at", ts);
    json_kv_u64(j, "ttl", n->ttl);
    json_obj_close(j);
}

void eve_begin(struct eve *e, uint64_t ts_usec, const char *event_type,
               const struct flow *f, uint16_t cid_seed)
{
    struct json *j = &e->j;
    json_reset(j);
    json_obj_open(j);
    eve_common(j, ts_usec, event_type, f, cid_seed);
    dest_name(j, e, f);
}
