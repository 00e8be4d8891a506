/* eve_icap.c -- the EVE icap event (see eve_icap.h). */
#include "output/eve_icap.h"

#include "output/eve_internal.h"

static void icap_object(struct json *j, const struct icap_event *ev)
{
    const struct icap_request *r = ev->req;
    json_key(j, "icap");
    json_obj_open(j);
    if (r) {
        json_kv_str(j, "method", r->method_name);
        json_kv_str(j, "service", r->service);
        if (r->client_ip[0])
            json_kv_str(j, "client_ip", r->client_ip);
        if (r->client_user[0])
            json_kv_str(j, "client_user", r->client_user);
    }
    if (ev->proxy)
        json_kv_str(j, "proxy", ev->proxy);
    const struct http_tx *t = ev->http;
    if (t && t->uri[0]) {
        if (t->method[0])
            json_kv_str(j, "http_method", t->method);
        json_kv_str(j, "url", t->uri);
        if (t->have_response)
            json_kv_u64(j, "http_status", t->status);
    }
    json_kv_u64(j, "status", (uint64_t)ev->status);
    json_kv_str(j, "verdict", ev->verdict);
    if (ev->reason && ev->reason[0])
        json_kv_str(j, "reason", ev->reason);
    if (ev->failed) {
        json_kv_bool(j, "failed", true);
        json_kv_str(j, "fail_mode", ev->fail_mode);
    }
    if (ev->preview)
        json_kv_bool(j, "decided_in_preview", ev->decided_in_preview);
    json_kv_u64(j, "body_bytes", ev->body_bytes);
    if (ev->file)
        json_kv_str(j, "file_type", file_kind_names[ev->file->r->type.kind]);
    json_kv_u64(j, "findings", ev->findings);
    if (ev->istag)
        json_kv_str(j, "istag", ev->istag);
    json_kv_double(j, "time_ms", (double)ev->usec / 1000.0, 3);
    json_obj_close(j);
}

void eve_write_icap(struct eve *e, const struct icap_event *ev)
{
    struct json *j = &e->j;
    char ts[64], a[64];
    json_reset(j);
    json_obj_open(j);
    eve_format_time(ev->ts_usec, ts, sizeof(ts));
    json_kv_str(j, "timestamp", ts);
    json_kv_str(j, "event_type", "icap");
    const struct event_subject *s = ev->subj;
    json_kv_str(j, "src_ip", ip_addr_str(&s->client, s->ip_version, a, sizeof(a)));
    eve_set_key(e, &s->client, s->ip_version);
    if (s->server_known) {
        json_kv_str(j, "dest_ip", ip_addr_str(&s->server, s->ip_version, a, sizeof(a)));
        json_kv_u64(j, "dest_port", s->server_port);
    }
    icap_object(j, ev);
    if (ev->http && ev->http->uri[0])
        eve_http_object(j, ev->http);
    if (ev->file)
        eve_fileinfo_object(j, ev->file);
    json_obj_close(j);
    eve_emit(e);
}
