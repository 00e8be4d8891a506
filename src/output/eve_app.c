/* eve_app.c -- application-layer EVE events (see eve_app.h). */
#include "output/eve_app.h"
#include "output/eve_internal.h"

#include <stdio.h>

#include "output/eve_finding.h"
#include <stdlib.h>
#include <string.h>

#include "flow/flow_table.h"
#include "util/digest.h"
#include "util/text.h"

/* --- dns --------------------------------------------------------------- */

static void dns_flags(struct json *j, const struct dns_msg *m)
{
    char hex[8];
    snprintf(hex, sizeof(hex), "%04x", m->flags);
    json_kv_str(j, "flags", hex);
    if (m->response)
        json_kv_bool(j, "qr", true);
    if (m->flags & 0x0400)
        json_kv_bool(j, "aa", true);
    if (m->flags & 0x0200)
        json_kv_bool(j, "tc", true);
    if (m->flags & 0x0100)
        json_kv_bool(j, "rd", true);
    if (m->flags & 0x0080)
        json_kv_bool(j, "ra", true);
    if (m->flags & 0x0020)
        json_kv_bool(j, "z", true);
}

static void dns_rr(struct json *j, const struct dns_rr *rr)
{
    char tb[16];
    json_obj_open(j);
    json_kv_str(j, "rrname", rr->name);
    json_kv_str(j, "rrtype", dns_type_name(rr->type, tb, sizeof(tb)));
    json_kv_u64(j, "ttl", rr->ttl);
    switch (rr->type) {
    case 6:
        json_key(j, "soa");
        json_obj_open(j);
        json_kv_str(j, "mname", rr->data);
        json_kv_str(j, "rname", rr->name2);
        json_kv_u64(j, "serial", rr->num[0]);
        json_kv_u64(j, "refresh", rr->num[1]);
        json_kv_u64(j, "retry", rr->num[2]);
        json_kv_u64(j, "expire", rr->num[3]);
        json_kv_u64(j, "minimum", rr->num[4]);
        json_obj_close(j);
        break;
    case 33:
        json_key(j, "srv");
        json_obj_open(j);
        json_kv_u64(j, "priority", rr->num[0]);
        json_kv_u64(j, "weight", rr->num[1]);
        json_kv_u64(j, "port", rr->num[2]);
        json_kv_str(j, "name", rr->data);
        json_obj_close(j);
        break;
    case 15:
        json_kv_str(j, "rdata", rr->data);
        json_kv_u64(j, "preference", rr->num[0]);
        break;
    default:
        if (rr->data[0])
            json_kv_str(j, "rdata", rr->data);
        else
            json_kv_u64(j, "rdlength", rr->rdlength);
    }
    json_obj_close(j);
}

static void dns_section(struct json *j, const char *key,
                        const struct dns_msg *m, int section)
{
    bool open = false;
    for (unsigned i = 0; i < m->n_rrs; i++) {
        if (m->rr[i].section != section)
            continue;
        if (!open) {
            json_key(j, key);
            json_arr_open(j);
            open = true;
        }
        dns_rr(j, &m->rr[i]);
    }
    if (open)
        json_arr_close(j);
}

void eve_write_dns(struct eve *e, const struct flow *f, uint64_t ts,
                   uint16_t seed, const struct dns_msg *m, int64_t latency)
{
    struct json *j = &e->j;
    char tb[16];
    eve_begin(e, ts, "dns", f, seed);
    json_key(j, "dns");
    json_obj_open(j);
    json_kv_u64(j, "version", 2);
    json_kv_str(j, "type", m->response ? "answer" : "query");
    json_kv_u64(j, "id", m->id);
    dns_flags(j, m);
    json_kv_u64(j, "opcode", m->opcode);
    if (m->n_questions) {
        json_kv_str(j, "rrname", m->q[0].name);
        json_kv_str(j, "rrtype", dns_type_name(m->q[0].type, tb, sizeof(tb)));
    }
    if (m->n_questions > 1) {
        json_key(j, "queries");
        json_arr_open(j);
        for (unsigned i = 0; i < m->n_questions; i++) {
            json_obj_open(j);
            json_kv_str(j, "rrname", m->q[i].name);
            json_kv_str(j, "rrtype", dns_type_name(m->q[i].type, tb, sizeof(tb)));
            json_obj_close(j);
        }
        json_arr_close(j);
    }
    if (m->response) {
        json_kv_str(j, "rcode", dns_rcode_name(m->rcode, tb, sizeof(tb)));
        dns_section(j, "answers", m, DNS_SEC_ANSWER);
        dns_section(j, "authorities", m, DNS_SEC_AUTHORITY);
        dns_section(j, "additionals", m, DNS_SEC_ADDITIONAL);
        if (latency >= 0)
            json_kv_u64(j, "latency_usec", (uint64_t)latency);
    }
    if (m->edns) {
        json_key(j, "edns");
        json_obj_open(j);
        json_kv_u64(j, "version", m->edns_version);
        json_kv_u64(j, "udp_payload_size", m->edns_udp_size);
        json_kv_bool(j, "do", m->edns_do);
        json_obj_close(j);
    }
    if (m->rrs_over_cap)
        json_kv_u64(j, "records_not_logged", m->rrs_over_cap);
    json_obj_close(j);
    json_obj_close(j);
    eve_emit(e);
}

/* --- http -------------------------------------------------------------- */

static void kv_nonempty(struct json *j, const char *k, const char *v)
{
    if (v && v[0])
        json_kv_str(j, k, v);
}

/* RFC 9113 7 error codes as Suricata names them; others as numbers. */
static void h2_error_code(struct json *j, uint32_t code)
{
    static const char *const names[] = {
        "NOERROR", "PROTOCOLERROR", "INTERNALERROR", "FLOWCONTROLERROR",
        "SETTINGSTIMEOUT", "STREAMCLOSED", "FRAMESIZEERROR", "REFUSEDSTREAM",
        "CANCEL", "COMPRESSIONERROR", "CONNECTERROR", "ENHANCEYOURCALM",
        "INADEQUATESECURITY", "HTTP11REQUIRED",
    };
    char num[16];
    if (code < sizeof(names) / sizeof(names[0])) {
        json_kv_str(j, "error_code", names[code]);
    } else {
        snprintf(num, sizeof(num), "%u", code);
        json_kv_str(j, "error_code", num);
    }
}

/* Suricata's http.http2 object: the stream, and per side what reset it;
 * the priority weight with the request. */
static void h2_object(struct json *j, const struct http_tx *t)
{
    json_key(j, "http2");
    json_obj_open(j);
    json_kv_u64(j, "stream_id", t->stream_id);
    static const char *const side[2] = { "request", "response" };
    for (int d = 0; d < 2; d++) {
        json_key(j, side[d]);
        json_obj_open(j);
        if (t->h2_rst[d])
            h2_error_code(j, t->h2_error[d]);
        if (d == 0 && t->h2_weight)
            json_kv_u64(j, "priority", t->h2_weight);
        json_obj_close(j);
    }
    json_obj_close(j);
}

void eve_http_object(struct json *j, const struct http_tx *t)
{
    json_key(j, "http");
    json_obj_open(j);
    kv_nonempty(j, "hostname", t->host);
    kv_nonempty(j, "url", t->uri);
    kv_nonempty(j, "http_user_agent", t->user_agent);
    kv_nonempty(j, "xff", t->xff);
    kv_nonempty(j, "forwarded", t->forwarded);
    kv_nonempty(j, "http_content_type", t->resp_content_type);
    kv_nonempty(j, "http_request_content_type", t->req_content_type);
    kv_nonempty(j, "http_refer", t->referer);
    kv_nonempty(j, "http_method", t->method);
    kv_nonempty(j, "protocol", t->protocol);
    if (t->have_response)
        json_kv_u64(j, "status", t->status);
    kv_nonempty(j, "redirect", t->location);
    kv_nonempty(j, "server", t->server);
    json_kv_u64(j, "length", t->resp_body_len);
    json_kv_u64(j, "request_body_length", t->req_body_len);
    if (t->headers_truncated)
        json_kv_bool(j, "headers_truncated", true);
    if (t->http2) {
        json_kv_str(j, "version", "2");
        h2_object(j, t);
    }
    json_obj_close(j);
}

void eve_write_http(struct eve *e, const struct flow *f, uint64_t ts,
                    uint16_t seed, const struct http_tx *tx)
{
    struct json *j = &e->j;
    eve_begin(e, ts, "http", f, seed);
    json_kv_u64(j, "tx_id", tx->seq - 1);
    eve_forwarded_client(e, f, tx);
    eve_http_object(j, tx);
    json_obj_close(j);
    eve_emit(e);
}

/* --- smtp / email ------------------------------------------------------ */

static void str_array(struct json *j, const char *key, const char *base,
                      size_t stride, unsigned n)
{
    json_key(j, key);
    json_arr_open(j);
    for (unsigned i = 0; i < n; i++)
        json_str(j, base + (size_t)i * stride);
    json_arr_close(j);
}

void eve_smtp_object(struct json *j, const struct smtp_tx *t)
{
    json_key(j, "smtp");
    json_obj_open(j);
    kv_nonempty(j, "helo", t->helo);
    kv_nonempty(j, "mail_from", t->mail_from);
    str_array(j, "rcpt_to", t->rcpt_to[0], sizeof(t->rcpt_to[0]), t->n_rcpt);
    kv_nonempty(j, "auth_mechanism", t->auth_mech);
    if (t->starttls)
        json_kv_bool(j, "starttls", true);
    if (t->last_reply)
        json_kv_u64(j, "reply_to_message", t->last_reply);
    if (t->rcpt_rejected)
        json_kv_u64(j, "rcpt_rejected", t->rcpt_rejected);
    json_obj_close(j);
}

void eve_email_object(struct json *j, const struct smtp_tx *t,
                         const struct email_info *m)
{
    json_key(j, "email");
    json_obj_open(j);
    json_kv_str(j, "status", !t->has_message ? "NO_MESSAGE"
                : t->message_truncated ? "PARSE_TRUNCATED"
                : !t->message_complete ? "PARSE_INCOMPLETE" : "PARSE_DONE");
    if (m) {
        kv_nonempty(j, "from", m->from);
        str_array(j, "to", m->to[0], sizeof(m->to[0]), m->n_to);
        if (m->n_cc)
            str_array(j, "cc", m->cc[0], sizeof(m->cc[0]), m->n_cc);
        kv_nonempty(j, "subject", m->subject);
        kv_nonempty(j, "message_id", m->message_id);
        kv_nonempty(j, "date", m->date);
        kv_nonempty(j, "x_mailer", m->user_agent);
        kv_nonempty(j, "content_type", m->content_type);
        if (m->n_attachments)
            str_array(j, "attachment", m->attachments[0],
                      sizeof(m->attachments[0]), m->n_attachments);
        if (m->n_urls)
            str_array(j, "url", m->urls[0], sizeof(m->urls[0]), m->n_urls);
        json_kv_u64(j, "received", m->n_received);
        json_kv_u64(j, "parts", m->parts);
        if (m->urls_over_cap || m->attachments_over_cap ||
            m->addrs_over_cap || m->depth_over_cap || m->parts_over_cap)
            json_kv_bool(j, "caps_hit", true);
    }
    json_kv_u64(j, "message_bytes", t->message_bytes);
    json_obj_close(j);
}

void eve_write_smtp(struct eve *e, const struct flow *f, uint64_t ts,
                    uint16_t seed, const struct smtp_tx *tx,
                    const struct email_info *em)
{
    struct json *j = &e->j;
    eve_begin(e, ts, "smtp", f, seed);
    eve_smtp_object(j, tx);
    eve_email_object(j, tx, em);
    json_obj_close(j);
    eve_emit(e);
}

/* --- ftp -------------------------------------------------------------- */

static void ftp_object(struct json *j, const struct flow *f,
                       const struct ftp_tx *t)
{
    json_key(j, "ftp");
    json_obj_open(j);
    json_kv_str(j, "command", t->command);
    if (t->cmd == FTP_CMD_PASS) {
        if (t->password_in_clear)
            json_kv_str(j, "command_data", "***"); /* never the password */
    } else if (t->arg[0]) {
        json_kv_str(j, "command_data", t->arg);
    }
    if (t->arg[0] || t->password_in_clear)
        json_kv_bool(j, "command_truncated", t->arg_truncated);
    if (t->n_lines) {
        json_key(j, "reply");
        json_arr_open(j);
        for (unsigned i = 0; i < t->n_lines; i++)
            json_str(j, t->lines[i]);
        json_arr_close(j);
        bool open = false;
        for (unsigned i = 0; i < t->n_lines; i++) {
            char code[8];
            if (!t->codes[i])
                continue;
            if (!open) {
                json_key(j, "completion_code");
                json_arr_open(j);
                open = true;
            }
            snprintf(code, sizeof(code), "%u", t->codes[i]);
            json_str(j, code);
        }
        if (open)
            json_arr_close(j);
    }
    const struct ftp_data_chan *d = &t->data;
    if (d->port) {
        json_kv_u64(j, "dynamic_port", d->port);
        json_kv_str(j, "mode", d->active ? "active" : "passive");
        char a[64];
        if (d->ip_version) {
            struct ip_addr ip;
            memcpy(ip.b, d->addr, sizeof(ip.b));
            json_kv_str(j, "dynamic_ip", ip_addr_str(&ip, d->ip_version, a, sizeof(a)));
        } else if (d->server_addr) {
            json_kv_str(j, "dynamic_ip", ip_addr_str(flow_addr(f, 1),
                                                     f->key.ip_version, a, sizeof(a)));
        }
    }
    json_kv_str(j, "reply_received", t->reply_received ? "yes" : "no");
    json_kv_bool(j, "reply_truncated", t->reply_truncated);
    if (t->logged_in)
        json_kv_bool(j, "logged_in", true);
    kv_nonempty(j, "user", t->user);
    if (t->queue_full)
        json_kv_bool(j, "queue_full", true);
    json_obj_close(j);
}

void eve_write_ftp(struct eve *e, const struct flow *f, uint64_t ts,
                   uint16_t seed, const struct ftp_tx *tx)
{
    struct json *j = &e->j;
    eve_begin(e, ts, "ftp", f, seed);
    json_kv_u64(j, "tx_id", tx->id);
    ftp_object(j, f, tx);
    json_obj_close(j);
    eve_emit(e);
}

/* --- files ------------------------------------------------------------- */

void eve_fileinfo_object(struct json *j, const struct file_event *fl)
{
    char hex[65];
    const struct content_result *r = fl->r;
    json_key(j, "fileinfo");
    json_obj_open(j);
    json_kv_str(j, "filename", fl->name ? fl->name : "");
    if (r->magic[0])
        json_kv_str(j, "magic", r->magic);
    if (r->mime[0])
        json_kv_str(j, "mime_type", r->mime);
    json_kv_bool(j, "gaps", fl->gap);
    json_kv_str(j, "state", fl->gap ? "TRUNCATED" : "CLOSED");
    const uint8_t *d[3] = { r->h.md5, r->h.sha1, r->h.sha256 };
    static const char *const key[3] = { "md5", "sha1", "sha256" };
    static const size_t len[3] = { 16, 20, 32 };
    for (int i = 0; i < 3; i++) {
        if (!(r->h.mask & (1u << i)))
            continue;
        hex_lower(d[i], len[i], hex);
        json_key_(j, key[i]);
        json_str(j, hex);
    }
    json_kv_bool(j, "stored", r->stored || r->already_stored);
    json_kv_u64(j, "size", fl->size);
    if (fl->truncated)
        json_kv_bool(j, "kept_truncated", true);
    json_kv_u64(j, "tx_id", fl->tx_id);
    json_kv_str(j, "direction", fl->dir ? "to_client" : "to_server");
    if (r->scanned)
        json_kv_u64(j, "yara_matches", r->n_matches);
    json_obj_close(j);
}

void eve_write_fileinfo(struct eve *e, const struct flow *f, uint64_t ts,
                        uint16_t seed, const struct file_event *fl)
{
    struct json *j = &e->j;
    eve_begin(e, ts, "fileinfo", f, seed);
    eve_forwarded_client(e, f, fl->http);
    if (fl->http)
        eve_http_object(j, fl->http);
    if (fl->smtp)
        eve_smtp_object(j, fl->smtp);
    eve_fileinfo_object(j, fl);
    json_obj_close(j);
    eve_emit(e);
}

/* --- alerts ------------------------------------------------------------ */


static void alert_metadata(struct json *j, const struct content_match *m)
{
    json_key(j, "metadata");
    json_obj_open(j);
    if (m->tags[0]) {
        json_key(j, "tags");
        json_arr_open(j);
        const char *p = m->tags;
        while (*p) {
            size_t n = strcspn(p, " ");
            json_strn(j, p, n);
            p += n;
            while (*p == ' ')
                p++;
        }
        json_arr_close(j);
    }
    for (unsigned i = 0; i < m->n_meta; i++) {
        json_key(j, m->meta[i].key);
        json_arr_open(j);
        json_str(j, m->meta[i].value);
        json_arr_close(j);
    }
    json_obj_close(j);
}

static void content_evidence(struct json *j, const struct finding *fd)
{
    const struct content_match *m = fd->ev.content.match;
    const struct file_event *fl = fd->ev.content.file;
    int dir = fd->ev.content.dir;
    char hex[65];
    json_key(j, "nightjar");
    json_obj_open(j);
    json_key(j, "evidence");
    json_obj_open(j);
    json_kv_str(j, "kind", "yara");
    eve_finding_fields(j, fd);
    json_kv_str(j, "source", fl ? "file" : "stream");
    json_kv_str(j, "direction", dir ? "to_client" : "to_server");
    json_kv_str(j, "rule", m->rule);
    json_kv_str(j, "namespace", m->ns);
    json_key(j, "strings");
    json_arr_open(j);
    for (unsigned i = 0; i < m->n_strings; i++) {
        json_obj_open(j);
        json_kv_str(j, "id", m->strings[i].id);
        json_kv_u64(j, "offset", m->strings[i].offset);
        json_kv_u64(j, "length", m->strings[i].len);
        json_obj_close(j);
    }
    json_arr_close(j);
    if (fl) {
        json_key(j, "file");
        json_obj_open(j);
        json_kv_str(j, "filename", fl->name ? fl->name : "");
        if (fl->r->h.mask & (1u << DIGEST_SHA256)) {
            hex_lower(fl->r->h.sha256, 32, hex);
            json_kv_str(j, "sha256", hex);
        }
        json_kv_u64(j, "size", fl->size);
        if (fl->r->mime[0])
            json_kv_str(j, "mime_type", fl->r->mime);
        json_obj_close(j);
    }
    if (fd->incident_id)
        json_kv_u64(j, "incident_id", fd->incident_id);
    json_obj_close(j);
    json_obj_close(j);
}

void eve_write_content_alert(struct eve *e, const struct finding *fd, uint16_t seed)
{
    struct json *j = &e->j;
    const struct content_match *m = fd->ev.content.match;
    const struct file_event *fl = fd->ev.content.file;
    char sig[320];
    const char *desc = content_match_meta(m, "description");
    const char *cat = content_match_meta(m, "category");
    const char *sev = content_match_meta(m, "severity");
    long sv = sev ? atol(sev) : 2;
    if (sv < 1 || sv > 4)
        sv = 2;
    snprintf(sig, sizeof(sig), "YARA %s%s%s", m->rule, desc ? ": " : "",
             desc ? desc : "");
    eve_begin_finding(e, fd, "alert", seed);
    eve_alert_open(j, finding_sid(fd), sig,
                   cat ? cat : "Content matched a YARA rule", (uint64_t)sv, fd->blocked);
    alert_metadata(j, m);
    json_obj_close(j);
    if (fl && fl->http)
        eve_http_object(j, fl->http);
    if (fl && fl->smtp)
        eve_smtp_object(j, fl->smtp);
    if (fl)
        eve_fileinfo_object(j, fl);
    content_evidence(j, fd);
    json_obj_close(j);
    eve_emit(e);
}
