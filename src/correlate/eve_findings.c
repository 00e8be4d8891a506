/* eve_findings.c -- EVE records read back into findings (see
 * eve_findings.h). Every field is looked up by name and checked for its
 * type; a value of the wrong type is treated as absent, and a finding
 * without a kind or a host is malformed.
 */
#include "correlate/eve_findings.h"

#include <jansson.h>
#include <math.h>
#include <string.h>

#include "proto/forwarded.h"
#include "util/text.h"
#include "util/timefmt.h"

/* The string at key, or NULL. */
static const char *str_at(const json_t *o, const char *key)
{
    return json_string_value(json_object_get(o, key));
}

static int index_of(const char *const *names, int n, const char *name)
{
    for (int i = 0; name && i < n; i++)
        if (!strcmp(names[i], name))
            return i;
    return -1;
}

static bool addr_at(const json_t *o, const char *key, uint8_t *v,
                    struct ip_addr *a)
{
    const char *s = str_at(o, key);
    return s && fwd_parse_addr(s, strlen(s), v, a);
}

/* The kind: the evidence's "finding", else what its detector implies
 * (a record from a sensor before every alert named it), else the
 * behaviour signature id. -1: none. */
static int kind_of(const json_t *ev, uint32_t sid)
{
    int k = index_of(finding_kind_names, FINDING_COUNT, str_at(ev, "finding"));
    if (k >= 0)
        return k;
    const char *detector = str_at(ev, "kind");
    if (detector && !strcmp(detector, "intel"))
        return FINDING_intel;
    if (detector && !strcmp(detector, "eta"))
        return FINDING_eta;
    if (detector && !strcmp(detector, "yara"))
        return FINDING_content;
    if (sid >= FINDING_SID_BASE && sid < FINDING_SID_BASE + FINDING_COUNT)
        return (int)(sid - FINDING_SID_BASE);
    return -1;
}

static double number_at(const json_t *o, const char *key)
{
    const json_t *v = json_object_get(o, key);
    return json_is_number(v) ? json_number_value(v) : NAN;
}

/* "indicators": ["a", "b"] back into "a b". */
static void indicators_of(const json_t *ev, char *out, size_t outlen)
{
    const json_t *arr = json_object_get(ev, "indicators");
    size_t used = 0, i;
    const json_t *tag;
    out[0] = '\0';
    json_array_foreach(arr, i, tag) {
        const char *s = json_string_value(tag);
        size_t n = s ? strlen(s) : 0;
        if (!n || used + (used > 0) + n >= outlen)
            continue;
        if (used)
            out[used++] = ' ';
        memcpy(out + used, s, n);
        used += n;
        out[used] = '\0';
    }
}

/* host (else the proxied client, else the flow's client) and peer. */
static bool ends_of(const json_t *rec, const json_t *ev, struct finding *fd)
{
    uint8_t pv = 0;
    fd->forwarded = json_object_get(rec, "xff") != NULL;
    if (!addr_at(ev, "host", &fd->ip_version, &fd->host) &&
        !addr_at(rec, "xff", &fd->ip_version, &fd->host) &&
        !addr_at(rec, "src_ip", &fd->ip_version, &fd->host))
        return false;
    fd->has_peer = addr_at(ev, "peer", &pv, &fd->peer) && pv == fd->ip_version;
    if (!fd->has_peer)
        memset(&fd->peer, 0, sizeof(fd->peer));
    return true;
}

/* The fields eve_finding_fields() writes, from the evidence object. */
static bool fields_of(const json_t *rec, const json_t *ev, uint32_t sid,
                      struct eve_finding *out)
{
    struct finding *fd = &out->fd;
    int kind = kind_of(ev, sid);
    if (kind < 0 || !ends_of(rec, ev, fd))
        return false;
    fd->kind = (enum finding_kind)kind;
    int stage = index_of(attack_stage_names, STAGE_COUNT, str_at(ev, "stage"));
    fd->stage = stage >= 0 ? (uint8_t)stage : finding_kind_stage[kind];
    json_int_t port = json_integer_value(json_object_get(ev, "port"));
    fd->port = port > 0 && port <= 65535 ? (uint16_t)port : 0;
    fd->observed = number_at(ev, "observed");
    fd->baseline = number_at(ev, "baseline");
    fd->deviation = number_at(ev, "deviation");
    const char *unit = str_at(ev, "unit");
    if (unit) {
        text_copy(out->unit, sizeof(out->unit), unit, strlen(unit));
        fd->unit = out->unit;
    }
    const char *detail = str_at(ev, "detail");
    if (detail)
        text_copy(fd->detail, sizeof(fd->detail), detail, strlen(detail));
    indicators_of(ev, fd->indicators, sizeof(fd->indicators));
    fd->strong = json_is_true(json_object_get(ev, "strong"));
    json_int_t id = json_integer_value(json_object_get(ev, "incident_id"));
    fd->incident_id = id > 0 ? (uint64_t)id : 0;
    return true;
}

static uint8_t severity_of(const json_t *o)
{
    json_int_t s = json_integer_value(json_object_get(o, "severity"));
    return (uint8_t)(s < 1 ? 3 : s > 3 ? 3 : s);
}

/* An alert: a finding of a detector, the sensor's own compromise alert,
 * or an alert of something else. */
static enum eve_record_kind read_alert(const json_t *rec, struct eve_finding *out)
{
    const json_t *alert = json_object_get(rec, "alert");
    const json_t *ev = json_object_get(json_object_get(rec, "nightjar"), "evidence");
    json_int_t sid = json_integer_value(json_object_get(alert, "signature_id"));
    const char *detector = str_at(ev, "kind");
    if (sid == COMPROMISE_SID || (detector && !strcmp(detector, "compromise")))
        return EVE_RECORD_OWN;
    if (!json_is_object(alert) || !json_is_object(ev))
        return EVE_RECORD_OTHER;
    uint32_t usid = sid > 0 && sid <= UINT32_MAX ? (uint32_t)sid : 0;
    if (!fields_of(rec, ev, usid, out))
        return EVE_RECORD_MALFORMED;
    struct finding *fd = &out->fd;
    fd->severity = severity_of(alert);
    const char *action = str_at(alert, "action");
    fd->blocked = action && !strcmp(action, "blocked");
    fd->sid = usid == FINDING_SID_BASE + (uint32_t)fd->kind ? 0 : usid;
    return EVE_RECORD_FINDING;
}

static enum eve_record_kind read_anomaly(const json_t *rec, struct eve_finding *out)
{
    const json_t *an = json_object_get(rec, "anomaly");
    if (!json_is_object(an) || !fields_of(rec, an, 0, out))
        return EVE_RECORD_MALFORMED;
    out->fd.anomaly = true;
    out->fd.severity = severity_of(an);
    return EVE_RECORD_FINDING;
}

static enum eve_record_kind read_object(const json_t *rec, struct eve_finding *out,
                                        uint64_t *ts_usec)
{
    const char *type = str_at(rec, "event_type");
    const char *ts = str_at(rec, "timestamp");
    if (!type || !ts || !time_parse(ts, ts_usec))
        return EVE_RECORD_MALFORMED;
    if (!strcmp(type, "incident"))
        return EVE_RECORD_OWN;
    if (strcmp(type, "alert") && strcmp(type, "anomaly"))
        return EVE_RECORD_OTHER;
    memset(out, 0, sizeof(*out));
    out->fd.ts_usec = *ts_usec;
    out->fd.evidence = EVIDENCE_BEHAVIOUR;
    return !strcmp(type, "alert") ? read_alert(rec, out) : read_anomaly(rec, out);
}

enum eve_record_kind eve_read_record(const char *text, size_t len,
                                     struct eve_finding *out,
                                     uint64_t *ts_usec)
{
    json_error_t jerr;
    json_t *rec = json_loadb(text, len, 0, &jerr);
    if (!rec)
        return EVE_RECORD_MALFORMED;
    enum eve_record_kind k = json_is_object(rec) ? read_object(rec, out, ts_usec)
                                                 : EVE_RECORD_MALFORMED;
    json_decref(rec);
    return k;
}
