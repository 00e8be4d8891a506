/* eve_mta.c -- EVE records of nightjar-mta (see eve_mta.h). */
#include "output/eve_mta.h"

#include "output/eve_internal.h"

static void begin(struct eve *e, uint64_t ts, const char *type)
{
    char t[64];
    json_reset(&e->j);
    json_obj_open(&e->j);
    eve_format_time(ts, t, sizeof(t));
    json_kv_str(&e->j, "timestamp", t);
    json_kv_str(&e->j, "event_type", type);
}

/* "tls": the session's TLS after STARTTLS (absent: it was in the clear);
 * version in the tls record's words */
static void tls_object(struct json *j, const char *version, const char *cipher,
                       const bool *verified)
{
    if (!version)
        return;
    json_key(j, "tls");
    json_obj_open(j);
    json_kv_str(j, "version", version);
    if (cipher && cipher[0])
        json_kv_str(j, "cipher", cipher);
    if (verified)
        json_kv_bool(j, "verified", *verified);
    json_obj_close(j);
}

void eve_write_mta_message(struct eve *e, const struct mta_event *ev)
{
    struct json *j = &e->j;
    char a[64];
    begin(e, ev->ts_usec, "smtp");
    const struct event_subject *s = ev->subj;
    json_kv_str(j, "src_ip", ip_addr_str(&s->client, s->ip_version, a, sizeof(a)));
    eve_set_key(e, &s->client, s->ip_version);
    json_kv_u64(j, "src_port", s->client_port);
    json_kv_str(j, "app_proto", "smtp");
    eve_smtp_object(j, ev->tx);
    eve_email_object(j, ev->tx, ev->em);
    tls_object(j, ev->tls_version, ev->tls_cipher, NULL);
    json_key(j, "mta");
    json_obj_open(j);
    json_kv_str(j, "verdict", ev->verdict);
    json_kv_str(j, "action", ev->action);
    if (ev->reason && ev->reason[0])
        json_kv_str(j, "reason", ev->reason);
    if (ev->queue_id && ev->queue_id[0])
        json_kv_str(j, "queue_id", ev->queue_id);
    json_kv_u64(j, "reply", (uint64_t)ev->reply);
    json_kv_u64(j, "size", ev->size);
    json_kv_u64(j, "findings", ev->findings);
    json_obj_close(j);
    json_obj_close(j);
    eve_emit(e);
}

void eve_write_mta_delivery(struct eve *e, const struct mta_delivery_event *ev)
{
    struct json *j = &e->j;
    begin(e, ev->ts_usec, "mta_delivery");
    json_key(j, "mta_delivery");
    json_obj_open(j);
    json_kv_str(j, "queue_id", ev->queue_id);
    json_kv_str(j, "relay", ev->relay);
    json_kv_str(j, "status", ev->status);
    if (ev->reply && ev->reply[0])
        json_kv_str(j, "reply", ev->reply);
    json_kv_u64(j, "attempt", ev->attempt);
    json_kv_u64(j, "recipients", ev->rcpts);
    json_kv_double(j, "seconds_queued", ev->seconds_queued, 3);
    tls_object(j, ev->tls_version, ev->tls_cipher, &ev->tls_verified);
    json_obj_close(j);
    json_obj_close(j);
    eve_emit(e);
}
