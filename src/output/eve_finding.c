/* eve_finding.c -- findings and incidents as EVE (see eve_finding.h). */
#include "output/eve_finding.h"
#include "output/eve_internal.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "correlate/incidents.h"
#include "output/eve_app.h"
#include "output/eve_eta.h"
#include "output/eve_intel.h"
#include "util/text.h"

static const char *const stage_category[STAGE_COUNT] = {
    "Initial access", "Command and control", "Reconnaissance",
    "Lateral movement", "Exfiltration",
};

void eve_finding_fields(struct json *j, const struct finding *fd)
{
    char a[64];
    json_kv_str(j, "finding", finding_kind_names[fd->kind]);
    json_kv_str(j, "stage", attack_stage_names[fd->stage]);
    json_kv_str(j, "host", ip_addr_str(&fd->host, fd->ip_version, a, sizeof(a)));
    if (fd->has_peer)
        json_kv_str(j, "peer", ip_addr_str(&fd->peer, fd->ip_version, a, sizeof(a)));
    if (fd->port)
        json_kv_u64(j, "port", fd->port);
    if (!isnan(fd->observed))
        json_kv_double(j, "observed", fd->observed, 3);
    if (!isnan(fd->baseline))
        json_kv_double(j, "baseline", fd->baseline, 3);
    if (!isnan(fd->deviation))
        json_kv_double(j, "deviation", fd->deviation, 3);
    if (fd->unit)
        json_kv_str(j, "unit", fd->unit);
    json_kv_str(j, "detail", fd->detail);
    if (fd->indicators[0]) {
        json_key(j, "indicators");
        json_arr_open(j);
        for (const char *p = fd->indicators; *p;) {
            size_t n = strcspn(p, " ");
            char tag[64];
            text_copy(tag, sizeof(tag), p, n);
            json_str(j, tag);
            p += n + (p[n] == ' ');
        }
        json_arr_close(j);
    }
    if (fd->strong)
        json_kv_bool(j, "strong", true);
}

static void evidence(struct json *j, const struct finding *fd,
                     uint64_t incident_id)
{
    eve_finding_fields(j, fd);
    if (incident_id)
        json_kv_u64(j, "incident_id", incident_id);
}

/* The common fields: from the flow when there is one, else from the
 * finding's host and peer (an event without a flow). Either way the record
 * is about the finding's host, which is not always the flow's client. */
void eve_begin_finding(struct eve *e, const struct finding *fd, const char *type,
                       uint16_t seed)
{
    char a[64];
    if (fd->flow) {
        eve_begin(e, fd->ts_usec, type, fd->flow, seed);
        if (fd->forwarded) /* the proxied client it is about (Suricata's xff) */
            json_kv_str(&e->j, "xff", ip_addr_str(&fd->host, fd->ip_version, a,
                                                  sizeof(a)));
        eve_set_key(e, &fd->host, fd->ip_version);
        return;
    }
    char ts[64];
    json_reset(&e->j);
    json_obj_open(&e->j);
    eve_format_time(fd->ts_usec, ts, sizeof(ts));
    json_kv_str(&e->j, "timestamp", ts);
    json_kv_str(&e->j, "event_type", type);
    json_kv_str(&e->j, "src_ip", ip_addr_str(&fd->host, fd->ip_version, a, sizeof(a)));
    if (fd->has_peer)
        json_kv_str(&e->j, "dest_ip",
                    ip_addr_str(&fd->peer, fd->ip_version, a, sizeof(a)));
    eve_set_key(e, &fd->host, fd->ip_version);
}

void eve_write_finding(struct eve *e, const struct finding *fd, uint16_t seed)
{
    struct json *j = &e->j;
    uint64_t incident_id = fd->incident_id;
    switch (fd->evidence) {
    case EVIDENCE_INTEL:
        eve_write_intel_alert(e, fd, seed);
        return;
    case EVIDENCE_ETA:
        eve_write_eta_alert(e, fd, seed);
        return;
    case EVIDENCE_CONTENT:
        eve_write_content_alert(e, fd, seed);
        return;
    case EVIDENCE_BEHAVIOUR:
        break;
    }
    if (fd->anomaly) {
        eve_begin_finding(e, fd, "anomaly", seed);
        json_key(j, "anomaly");
        json_obj_open(j);
        json_kv_str(j, "type", "baseline");
        json_kv_str(j, "event", finding_kind_names[fd->kind]);
        json_kv_u64(j, "severity", fd->severity);
        evidence(j, fd, incident_id);
        json_obj_close(j);
        json_obj_close(j);
        eve_emit(e);
        return;
    }
    char sig[160];
    snprintf(sig, sizeof(sig), "nightjar behaviour: %s", finding_kind_what[fd->kind]);
    eve_begin_finding(e, fd, "alert", seed);
    eve_alert_open(j, finding_sid(fd), sig,
                   stage_category[fd->stage], fd->severity, fd->blocked);
    json_obj_close(j);
    json_key(j, "nightjar");
    json_obj_open(j);
    json_key(j, "evidence");
    json_obj_open(j);
    json_kv_str(j, "kind", "behavior");
    evidence(j, fd, incident_id);
    json_obj_close(j);
    json_obj_close(j);
    json_obj_close(j);
    eve_emit(e);
}

void eve_write_incident(struct eve *e, const struct incident *inc,
                        const char *state, const char *reason,
                        const struct finding *latest, uint64_t ts)
{
    struct json *j = &e->j;
    char buf[64];
    json_reset(j);
    json_obj_open(j);
    eve_format_time(ts, buf, sizeof(buf));
    json_kv_str(j, "timestamp", buf);
    json_kv_str(j, "event_type", "incident");
    if (inc->n_hosts > 0)   /* the host it opened on */
        eve_set_key(e, &inc->hosts[0].addr, inc->hosts[0].v);
    json_key(j, "incident");
    json_obj_open(j);
    json_kv_u64(j, "id", inc->id);
    json_kv_str(j, "state", state);
    if (reason)
        json_kv_str(j, "reason", reason);
    json_kv_str(j, "level", incident_level_name(inc->level));
    json_kv_u64(j, "score", inc->score);
    eve_format_time(inc->opened_usec, buf, sizeof(buf));
    json_kv_str(j, "first_seen", buf);
    eve_format_time(inc->last_usec, buf, sizeof(buf));
    json_kv_str(j, "last_seen", buf);
    json_kv_u64(j, "findings", inc->findings);
    json_kv_u64(j, "alerts", inc->alerts);
    json_key(j, "hosts");
    json_arr_open(j);
    for (int i = 0; i < inc->n_hosts; i++)
        json_str(j, ip_addr_str(&inc->hosts[i].addr, inc->hosts[i].v, buf, sizeof(buf)));
    json_arr_close(j);
    json_key(j, "stages");
    json_arr_open(j);
    for (int s = 0; s < STAGE_COUNT; s++)
        if (inc->stages & (1u << s))
            json_str(j, attack_stage_names[s]);
    json_arr_close(j);
    json_key(j, "evidence");
    json_arr_open(j);
    for (int k = 0; k < FINDING_COUNT; k++)
        if (inc->kinds & (1u << k))
            json_str(j, finding_kind_names[k]);
    json_arr_close(j);
    if (latest) {
        json_key(j, "latest");
        json_obj_open(j);
        evidence(j, latest, 0);
        json_obj_close(j);
    }
    json_obj_close(j);
    json_obj_close(j);
    eve_emit(e);
}

static void hosts_array(struct json *j, const struct incident *inc)
{
    char buf[64];
    json_arr_open(j);
    for (int i = 0; i < inc->n_hosts; i++)
        json_str(j, ip_addr_str(&inc->hosts[i].addr, inc->hosts[i].v, buf, sizeof(buf)));
    json_arr_close(j);
}

void eve_write_compromise(struct eve *e, const struct incident *inc,
                          const struct finding *latest, uint64_t ts,
                          uint16_t seed)
{
    struct json *j = &e->j;
    char sig[160], buf[64];
    const char *host = ip_addr_str(&inc->hosts[0].addr, inc->hosts[0].v, buf, sizeof(buf));
    snprintf(sig, sizeof(sig), "nightjar: host %s compromised", host);
    struct finding at = *latest;
    at.ts_usec = ts;
    eve_begin_finding(e, &at, "alert", seed);
    eve_set_key(e, &inc->hosts[0].addr, inc->hosts[0].v);
    eve_alert_open(j, COMPROMISE_SID, sig, "Compromised host", 1, false);
    json_obj_close(j);
    json_key(j, "nightjar");
    json_obj_open(j);
    json_key(j, "evidence");
    json_obj_open(j);
    json_kv_str(j, "kind", "compromise");
    json_kv_str(j, "host", host);
    json_key(j, "hosts");
    hosts_array(j, inc);
    json_kv_u64(j, "incident_id", inc->id);
    json_kv_u64(j, "score", inc->score);
    json_kv_str(j, "reason", inc->strong ? "a strong finding" : "independent detectors agree");
    json_key(j, "detectors");
    json_arr_open(j);
    for (int k = 0; k < FINDING_COUNT; k++)
        if (inc->alert_kinds & (1u << k))
            json_str(j, finding_kind_names[k]);
    json_arr_close(j);
    json_key(j, "stages");
    json_arr_open(j);
    for (int s = 0; s < STAGE_COUNT; s++)
        if (inc->stages & (1u << s))
            json_str(j, attack_stage_names[s]);
    json_arr_close(j);
    json_key(j, "latest");
    json_obj_open(j);
    evidence(j, latest, 0);
    json_obj_close(j);
    json_obj_close(j);
    json_obj_close(j);
    json_obj_close(j);
    eve_emit(e);
}

void eve_write_correlated(struct eve *e, const struct finding *fd,
                          const struct incident_change *ch, uint16_t seed)
{
    eve_write_finding(e, fd, seed);
    eve_write_change(e, fd, ch, seed);
}

void eve_write_change(struct eve *e, const struct finding *fd,
                      const struct incident_change *ch, uint16_t seed)
{
    if (ch->inc && (ch->opened || ch->escalated))
        eve_write_incident(e, ch->inc, ch->opened ? "opened" : "escalated", NULL,
                           fd, fd->ts_usec);
    if (ch->compromised)
        eve_write_compromise(e, ch->inc, fd, fd->ts_usec, seed);
}
