/* eve_response.c -- response events (see eve_response.h). */
#include "output/eve_response.h"
#include "output/eve_internal.h"

void eve_write_response(struct eve *e, const struct response_event *ev)
{
    struct json *j = &e->j;
    char buf[64], hbuf[64];
    json_reset(j);
    json_obj_open(j);
    eve_format_time(ev->ts_usec, buf, sizeof(buf));
    json_kv_str(j, "timestamp", buf);
    json_kv_str(j, "event_type", "response");
    const char *host = ip_addr_str(ev->host, ev->ip_version, hbuf, sizeof(hbuf));
    json_kv_str(j, "src_ip", host);
    eve_set_key(e, ev->host, ev->ip_version);
    json_key(j, "response");
    json_obj_open(j);
    json_kv_str(j, "action", ev->action);
    json_kv_str(j, "host", host);
    if (ev->incident_id)
        json_kv_u64(j, "incident_id", ev->incident_id);
    json_kv_str(j, "family", ev->family);
    json_kv_str(j, "table", ev->table);
    json_kv_str(j, "set", ev->set);
    json_kv_u64(j, "timeout", ev->timeout_sec);
    if (ev->expires_usec) {
        eve_format_time(ev->expires_usec, buf, sizeof(buf));
        json_kv_str(j, "expires", buf);
    }
    json_kv_bool(j, "dry_run", ev->dry_run);
    json_kv_bool(j, "success", ev->success);
    if (ev->error)
        json_kv_str(j, "error", ev->error);
    if (ev->reason)
        json_kv_str(j, "reason", ev->reason);
    if (ev->command)
        json_kv_str(j, "command", ev->command);
    json_obj_close(j);
    json_obj_close(j);
    eve_emit(e);
}
