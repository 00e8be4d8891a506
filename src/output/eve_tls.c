/* eve_tls.c -- EVE tls events (see eve_tls.h). */
#include "output/eve_tls.h"
#include "output/eve_internal.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "util/digest.h"

#include "fingerprint/ja3.h"
#include "proto/quic.h"
#include "fingerprint/ja4.h"

static void u16_array(struct json *j, const char *key, const uint16_t *v,
                      size_t n)
{
    json_key(j, key);
    json_arr_open(j);
    for (size_t i = 0; i < n; i++)
        json_u64(j, v[i]);
    json_arr_close(j);
}

/* "2016-11-24T18:12:21", as Suricata writes tls.notbefore/notafter */
static void cert_time(struct json *j, const char *key, int64_t t)
{
    char buf[40];
    time_t tt = (time_t)t;
    struct tm tm;
    if (!gmtime_r(&tt, &tm))
        return;
    strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S", &tm);
    json_kv_str(j, key, buf);
}

static void sha1_lower(const uint8_t *d, char *out, size_t len)
{
    hex_colon(d, 20, out, len);
    for (char *p = out; *p; p++)
        if (*p >= 'A' && *p <= 'F')
            *p = (char)(*p - 'A' + 'a');
}

static void client_alpns(struct json *j, const struct tls_client_hello *ch)
{
    if (!ch->n_alpn)
        return;
    json_key(j, "client_alpns");
    json_arr_open(j);
    for (unsigned i = 0; i < ch->n_alpn; i++)
        json_strn(j, (const char *)ch->alpn[i], ch->alpn_len[i]);
    json_arr_close(j);
}

static void certificate(struct json *j, const struct x509_info *x)
{
    char buf[120];
    json_obj_open(j);
    json_kv_str(j, "subject", x->subject);
    json_kv_str(j, "issuerdn", x->issuer);
    json_kv_str(j, "serial", x->serial);
    cert_time(j, "notbefore", x->not_before);
    cert_time(j, "notafter", x->not_after);
    sha1_lower(x->sha1, buf, sizeof(buf));
    json_kv_str(j, "fingerprint", buf);
    char h[65];
    hex_lower(x->sha256, 32, h);
    json_kv_str(j, "sha256", h);
    json_kv_bool(j, "self_signed", x->self_signed);
    if (x->key_type[0]) {
        json_kv_str(j, "key_type", x->key_type);
        json_kv_u64(j, "key_bits", (uint64_t)(x->key_bits > 0 ? x->key_bits : 0));
    }
    json_key(j, "sans");
    json_arr_open(j);
    for (unsigned i = 0; i < x->n_sans; i++)
        json_str(j, x->sans[i]);
    json_arr_close(j);
    json_kv_u64(j, "san_count", x->total_sans);
    json_obj_close(j);
}

static void client_details(struct json *j, const struct tls_client_hello *ch)
{
    json_key(j, "client");
    json_obj_open(j);
    json_kv_u64(j, "record_version", ch->record_version);
    json_kv_u64(j, "version", ch->legacy_version);
    u16_array(j, "supported_versions", ch->versions, ch->n_versions);
    u16_array(j, "ciphers", ch->ciphers, ch->n_ciphers);
    u16_array(j, "extensions", ch->exts, ch->n_exts);
    u16_array(j, "groups", ch->groups, ch->n_groups);
    json_key(j, "ec_point_formats");
    json_arr_open(j);
    for (unsigned i = 0; i < ch->n_ec_formats; i++)
        json_u64(j, ch->ec_formats[i]);
    json_arr_close(j);
    u16_array(j, "signature_algorithms", ch->sig_algs, ch->n_sig_algs);
    u16_array(j, "key_share_groups", ch->key_shares, ch->n_key_shares);
    json_kv_u64(j, "session_id_length", ch->session_id_len);
    json_kv_bool(j, "session_ticket", ch->has_session_ticket);
    json_kv_bool(j, "psk", ch->has_psk);
    json_kv_bool(j, "early_data", ch->has_early_data);
    if (ch->sslv2)
        json_kv_bool(j, "sslv2_hello", true);
    if (ch->truncated_lists)
        json_kv_bool(j, "lists_truncated", true);
    json_obj_close(j);
}

static void server_details(struct json *j, const struct tls_server_hello *sh)
{
    json_key(j, "server");
    json_obj_open(j);
    json_kv_u64(j, "version", sh->selected_version);
    json_kv_u64(j, "cipher", sh->cipher);
    u16_array(j, "extensions", sh->exts, sh->n_exts);
    json_obj_close(j);
}

static void fingerprints(struct json *j, const struct tls_session *s,
                         bool strings)
{
    char str[JA3_STR_MAX], hash[33];
    if (s->have_ch) {
        if (!s->ch.sslv2) {
            ja3_client(&s->ch, str, sizeof(str), hash);
            json_key(j, "ja3");
            json_obj_open(j);
            json_kv_str(j, "hash", hash);
            if (strings)
                json_kv_str(j, "string", str);
            json_obj_close(j);
        }
        char ja4[JA4_LEN];
        ja4_client(&s->ch, s->quic.is_quic ? 'q' : s->dtls ? 'd' : 't', ja4);
        json_kv_str(j, "ja4", ja4);
    }
    if (s->have_sh_first) {
        ja3_server(&s->sh_first, str, sizeof(str), hash);
        json_key(j, "ja3s");
        json_obj_open(j);
        json_kv_str(j, "hash", hash);
        if (strings)
            json_kv_str(j, "string", str);
        json_obj_close(j);
    }
}

static uint16_t negotiated_version(const struct tls_session *s)
{
    if (s->have_sh)
        return s->sh.selected_version;
    return s->have_ch ? s->ch.legacy_version : 0;
}

void eve_write_tls(struct eve *e, const struct flow *f,
                   const struct tls_session *s, uint64_t ts_usec,
                   uint16_t cid_seed)
{
    struct json *j = &e->j;
    char buf[64];
    bool quic = s->quic.is_quic;
    eve_begin(e, ts_usec, quic ? "quic" : "tls", f, cid_seed);
    json_key(j, quic ? "quic" : "tls");
    json_obj_open(j);
    if (quic && s->quic.version) {
        json_kv_str(j, "version", quic_version_name(s->quic.version, buf, sizeof(buf)));
        json_kv_u64(j, "initial_packets", s->quic.initials);
        json_kv_u64(j, "initial_decrypted", s->quic.decrypted);
    }
    if (s->n_certs) {
        const struct x509_info *leaf = &s->certs[0];
        json_kv_str(j, "subject", leaf->subject);
        json_kv_str(j, "issuerdn", leaf->issuer);
        json_kv_str(j, "serial", leaf->serial);
        char fp[80];
        sha1_lower(leaf->sha1, fp, sizeof(fp));
        json_kv_str(j, "fingerprint", fp);
    }
    if (s->ch.sni[0])
        json_kv_str(j, "sni", s->ch.sni);
    uint16_t v = negotiated_version(s);
    if (v)
        json_kv_str(j, quic ? "tls_version" : "version",
                    tls_version_name(v, buf, sizeof(buf)));
    if (s->n_certs) {
        cert_time(j, "notbefore", s->certs[0].not_before);
        cert_time(j, "notafter", s->certs[0].not_after);
    }
    fingerprints(j, s, true);
    client_alpns(j, &s->ch);
    if (s->have_sh && s->sh.alpn_len) {
        json_key(j, "server_alpns");
        json_arr_open(j);
        json_str(j, s->sh.alpn);
        json_arr_close(j);
    }
    if (s->have_ch)
        client_details(j, &s->ch);
    if (s->have_sh)
        server_details(j, &s->sh);
    if (s->chain_len) {
        json_kv_u64(j, "chain_length", s->chain_len);
        json_key(j, "certificates");
        json_arr_open(j);
        for (unsigned i = 0; i < s->n_certs; i++)
            certificate(j, &s->certs[i]);
        json_arr_close(j);
        json_key(j, "chain_sha1");
        json_arr_open(j);
        for (unsigned i = 0; i < s->chain_len && i < TLS_MAX_CHAIN; i++) {
            char fp[80];
            sha1_lower(s->chain_sha1[i], fp, sizeof(fp));
            json_str(j, fp);
        }
        json_arr_close(j);
    }
    if (s->n_alerts) {
        json_key(j, "alerts");
        json_arr_open(j);
        for (unsigned i = 0; i < s->n_alerts; i++) {
            json_obj_open(j);
            json_kv_str(j, "from", s->alerts[i].dir ? "server" : "client");
            json_kv_u64(j, "level", s->alerts[i].level);
            json_kv_u64(j, "description", s->alerts[i].description);
            json_obj_close(j);
        }
        json_arr_close(j);
    }
    if (s->dtls)
        json_kv_bool(j, "dtls", true);
    json_kv_bool(j, "handshake_complete", s->complete);
    json_obj_close(j);
    json_obj_close(j);
    eve_emit(e);
}

void eve_tls_summary(struct json *j, const struct tls_summary *t)
{
    char buf[64];
    json_key(j, t->quic ? "quic" : "tls");
    json_obj_open(j);
    if (t->sni[0])
        json_kv_str(j, "sni", t->sni);
    if (t->version)
        json_kv_str(j, "version", tls_version_name(t->version, buf, sizeof(buf)));
    if (t->has_ja3) {
        json_key(j, "ja3");
        json_obj_open(j);
        json_kv_str(j, "hash", t->ja3);
        json_obj_close(j);
    }
    if (t->has_ja4)
        json_kv_str(j, "ja4", t->ja4);
    if (t->has_ja3s) {
        json_key(j, "ja3s");
        json_obj_open(j);
        json_kv_str(j, "hash", t->ja3s);
        json_obj_close(j);
    }
    if (t->has_cipher)
        json_kv_u64(j, "cipher", t->cipher);
    if (t->has_leaf) {
        char fp[80];
        sha1_lower(t->leaf_sha1, fp, sizeof(fp));
        json_kv_str(j, "fingerprint", fp);
        json_kv_bool(j, "self_signed", t->self_signed);
    }
    json_kv_bool(j, "handshake_complete", t->complete);
    json_obj_close(j);
}
