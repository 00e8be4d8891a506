/* eta_features.c -- a flow and its context to the model's feature vector
 * (see eta_features.h for the contract, docs/eta.md for each feature).
 * Called once per finished flow; constant work, no allocation.
 */
#include "eta/eta_features.h"

#include <arpa/inet.h>
#include <math.h>
#include <string.h>

#include "fingerprint/summary.h"
#include "flow/flow_table.h"

const char *const eta_feature_names[ETA_NFEATURES] = {
#define X(name, doc) #name,
    ETA_FEATURES(X)
#undef X
};

const char *const eta_feature_docs[ETA_NFEATURES] = {
#define X(name, doc) doc,
    ETA_FEATURES(X)
#undef X
};

#define F(name) out[ETA_F_##name]

/* A TCP segment longer than an Ethernet frame's payload is an artefact of
 * where it was captured (segmentation offload on the sending host, GRO on
 * the receiving one, loopback's 64 KiB MTU), not of the application: the
 * model sees it as one full-size packet, so captures made at a tap and on
 * a host look alike. */
#define ETA_MAX_PACKET 1500

static float packet_len(uint32_t len)
{
    return (float)(len > ETA_MAX_PACKET ? ETA_MAX_PACKET : len);
}

static double mean_of(double sum, uint64_t n) { return n ? sum / (double)n : NAN; }

static double std_of(double sum, double sumsq, uint64_t n)
{
    if (n < 2)
        return n ? 0 : NAN;
    double m = sum / (double)n;
    double v = sumsq / (double)n - m * m;
    return v > 0 ? sqrt(v) : 0;
}

static void direction_stats(const struct flow_dir *d, float *size_mean,
                            float *size_std, float *size_max, float *iat_mean,
                            float *iat_std, float *iat_max)
{
    *size_mean = (float)mean_of(d->size_sum, d->pkts);
    *size_std = (float)std_of(d->size_sum, d->size_sumsq, d->pkts);
    *size_max = d->pkts ? packet_len(d->size_max) : NAN;
    uint64_t gaps = d->pkts > 1 ? d->pkts - 1 : 0;
    *iat_mean = (float)(mean_of(d->iat_sum, gaps) / 1000.0);
    *iat_std = (float)(std_of(d->iat_sum, d->iat_sumsq, gaps) / 1000.0);
    *iat_max = gaps ? (float)(d->iat_max / 1000.0) : NAN;
}

static void shape_features(const struct flow *f, float *out)
{
    const struct flow_dir *c = &f->dir[0], *s = &f->dir[1];
    F(duration) = (float)((f->last_usec - f->first_usec) / 1e6);
    F(pkts_out) = (float)c->pkts;
    F(pkts_in) = (float)s->pkts;
    F(bytes_out) = (float)c->payload_bytes;
    F(bytes_in) = (float)s->payload_bytes;
    F(payload_pkts_out) = (float)c->payload_pkts;
    F(payload_pkts_in) = (float)s->payload_pkts;
    uint64_t total = c->payload_bytes + s->payload_bytes;
    F(bytes_out_share) = total ? (float)((double)c->payload_bytes / total) : NAN;
    direction_stats(c, &F(size_mean_out), &F(size_std_out), &F(size_max_out),
                    &F(iat_mean_out), &F(iat_std_out), &F(iat_max_out));
    direction_stats(s, &F(size_mean_in), &F(size_std_in), &F(size_max_in),
                    &F(iat_mean_in), &F(iat_std_in), &F(iat_max_in));
    F(rounds) = (float)f->rounds;
    for (uint32_t i = 0; i < ETA_ROUNDS_N; i++) {
        float *pk = &out[ETA_F_round_pkts_1 + 2 * i];
        if (i >= f->rounds || i >= FLOW_ROUNDS_MAX) {
            pk[0] = pk[1] = NAN;
            continue;
        }
        const struct flow_round *r = &f->round[i];
        pk[0] = (float)r->pkts;
        pk[1] = r->dir ? -(float)r->bytes : (float)r->bytes;
    }
    for (uint32_t i = 0; i < ETA_SPLT_N; i++) {
        float *e = &out[ETA_F_splt_len_1 + 2 * i];
        if (i >= f->splt_n) {
            e[0] = e[1] = NAN;
            continue;
        }
        float len = packet_len(f->splt[i].len);
        e[0] = f->splt[i].dir ? -len : len;
        e[1] = i ? (float)(f->splt[i].iat_usec / 1000.0) : NAN;
    }
    F(entropy_out) = c->has_entropy ? c->entropy : NAN;
    F(entropy_in) = s->has_entropy ? s->entropy : NAN;
    F(printable_out) = c->has_entropy ? c->printable : NAN;
    F(printable_in) = s->has_entropy ? s->printable : NAN;
}

static void transport_features(const struct flow *f, float *out)
{
    uint16_t port = flow_port(f, 1);
    F(transport) = f->key.proto;
    F(app_proto) = f->app_proto;
    F(server_port_class) = port < 1024 ? 0 : port < 49152 ? 1 : 2;
    bool tcp = f->key.proto == 6;
    F(tcp_rst) = tcp ? (float)(f->tcp_rst != 0) : NAN;
    F(tcp_handshake) = tcp ? (float)(f->dir[0].syn_seen && f->dir[1].syn_seen)
                           : NAN;
}

double eta_text_entropy(const char *s)
{
    unsigned hist[256] = { 0 };
    size_t n = 0;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++, n++)
        hist[*p]++;
    double h = 0;
    for (int i = 0; i < 256; i++)
        if (hist[i]) {
            double q = (double)hist[i] / (double)n;
            h -= q * log2(q);
        }
    return h;
}

static void sni_features(const char *sni, int8_t cert_match, float *out)
{
    size_t n = strlen(sni);
    F(sni_present) = n > 0;
    if (!n) {
        F(sni_len) = F(sni_entropy) = F(sni_digit_share) = F(sni_labels) = NAN;
        F(sni_is_address) = F(sni_cert_match) = NAN;
        return;
    }
    size_t digits = 0, labels = 1;
    for (size_t i = 0; i < n; i++) {
        digits += sni[i] >= '0' && sni[i] <= '9';
        labels += sni[i] == '.';
    }
    uint8_t addr[16];
    F(sni_len) = (float)n;
    F(sni_entropy) = (float)eta_text_entropy(sni);
    F(sni_digit_share) = (float)digits / (float)n;
    F(sni_labels) = (float)labels;
    F(sni_is_address) = inet_pton(AF_INET, sni, addr) == 1 ||
                        inet_pton(AF_INET6, sni, addr) == 1;
    F(sni_cert_match) = cert_match < 0 ? NAN : (float)cert_match;
}

static float minor_version(uint16_t v)
{
    return v >= 0x0300 && v <= 0x03ff ? (float)(v - 0x0300) : NAN;
}

static float days(int64_t seconds) { return (float)(seconds / 86400.0); }

static void cert_features(const struct flow *f, const struct tls_summary *t,
                          float *out)
{
    const struct tls_facts *k = &t->facts;
    F(cert_present) = k->has_cert;
    if (!k->has_cert) {
        F(cert_self_signed) = F(cert_validity_days) = F(cert_age_days) = NAN;
        F(cert_days_left) = F(cert_sans) = F(cert_chain_len) = NAN;
        F(cert_key_bits) = NAN;
        return;
    }
    int64_t start = (int64_t)(f->first_usec / 1000000u);
    F(cert_self_signed) = t->self_signed;
    F(cert_validity_days) = days(k->cert_not_after - k->cert_not_before);
    F(cert_age_days) = days(start - k->cert_not_before);
    F(cert_days_left) = days(k->cert_not_after - start);
    F(cert_sans) = k->cert_sans;
    F(cert_chain_len) = k->chain_len;
    F(cert_key_bits) = k->cert_key_bits;
}

static void client_hello_features(const struct tls_facts *k, float *out)
{
    if (!k->has_ch) {
        for (int i = ETA_F_tls_client_max_version; i <= ETA_F_tls_session_id_len; i++)
            out[i] = NAN;
        return;
    }
    F(tls_client_max_version) = minor_version(k->client_max_version);
    F(tls_ciphers) = k->n_ciphers;
    F(tls_weak_ciphers) = k->weak_ciphers;
    F(tls_extensions) = k->n_exts;
    F(tls_groups) = k->n_groups;
    F(tls_sig_algs) = k->n_sig_algs;
    F(tls_alpn) = k->n_alpn;
    F(tls_alpn_h2) = k->alpn_h2;
    F(tls_alpn_http11) = k->alpn_http11;
    F(tls_ext_session_ticket) = !!(k->ext_flags & TLS_EXT_FLAG_SESSION_TICKET);
    F(tls_ext_supported_versions) = !!(k->ext_flags & TLS_EXT_FLAG_SUPPORTED_VERS);
    F(tls_ext_key_share) = !!(k->ext_flags & TLS_EXT_FLAG_KEY_SHARE);
    F(tls_ext_status_request) = !!(k->ext_flags & TLS_EXT_FLAG_STATUS_REQUEST);
    F(tls_ext_ems) = !!(k->ext_flags & TLS_EXT_FLAG_EXT_MASTER);
    F(tls_ext_renegotiation) = !!(k->ext_flags & TLS_EXT_FLAG_RENEGOTIATION);
    F(tls_ext_grease) = !!(k->ext_flags & TLS_EXT_FLAG_GREASE);
    F(tls_ext_padding) = !!(k->ext_flags & TLS_EXT_FLAG_PADDING);
    F(tls_ext_ech) = !!(k->ext_flags & TLS_EXT_FLAG_ECH);
    F(tls_session_id_len) = k->session_id_len;
}

static void tls_features(const struct flow *f, const struct tls_summary *t,
                         float *out)
{
    F(tls) = t != NULL;
    if (!t) {
        for (int i = ETA_F_tls_quic; i <= ETA_F_sni_cert_match; i++)
            out[i] = NAN;
        return;
    }
    const struct tls_facts *k = &t->facts;
    F(tls_quic) = t->quic;
    F(tls_version) = k->has_sh ? minor_version(t->version) : NAN;
    client_hello_features(k, out);
    F(tls_cipher_aead) = k->has_sh ? (float)k->cipher_aead : NAN;
    F(tls_cipher_fs) = k->has_sh ? (float)k->cipher_fs : NAN;
    F(tls_complete) = t->complete;
    cert_features(f, t, out);
    sni_features(t->sni, k->sni_cert_match, out);
}

static void context_features(const struct eta_context *ctx, float *out)
{
    const struct eta_pair_stats *p = ctx ? ctx->pair : NULL;
    F(pair_conns) = p ? (float)p->conns : NAN;
    F(pair_interval_mean) = p ? (float)p->interval_mean : NAN;
    F(pair_interval_cv) = p ? (float)p->interval_cv : NAN;
    F(pair_regularity) = p ? (float)p->regularity : NAN;
    F(pair_bytes_cv) = p ? (float)p->bytes_cv : NAN;
    bool dns = ctx && ctx->dns_known;
    F(dns_known) = dns;
    F(dns_ttl) = dns ? (float)ctx->dns_ttl : NAN;
    F(dns_addrs) = dns ? (float)ctx->dns_addrs : NAN;
}

void eta_features_extract(const struct flow *f, const struct eta_context *ctx,
                          float out[ETA_NFEATURES])
{
    shape_features(f, out);
    transport_features(f, out);
    tls_features(f, ctx ? ctx->tls : NULL, out);
    context_features(ctx, out);
}
