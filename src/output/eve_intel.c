/* eve_intel.c -- threat-intelligence alerts (see eve_intel.h). */
#include "output/eve_intel.h"
#include "output/eve_internal.h"

#include <stdio.h>

#include "output/eve_finding.h"
#include <string.h>

#include "util/text.h"

static void meta_array(struct json *j, const char *key, const char *v)
{
    if (!v || !*v)
        return;
    json_key_(j, key);
    json_arr_open(j);
    json_str(j, v);
    json_arr_close(j);
}

void eve_write_intel_alert(struct eve *e, const struct finding *fd, uint16_t seed)
{
    struct json *j = &e->j;
    const struct intel_evidence *ev = &fd->ev.intel;
    const struct ioc *x = ev->ioc;
    const char *feed = intel_feed_name(ev->set, x->feed);
    const char *value = intel_text(ev->set, x->value);
    const char *desc = intel_text(ev->set, x->description);
    const char *ref = intel_text(ev->set, x->reference);
    char sig[512];
    snprintf(sig, sizeof(sig), "nightjar intel: %s %s in %s%s%s",
             ioc_type_name((enum ioc_type)x->type), value, feed,
             *desc ? " - " : "", desc);
    eve_begin_finding(e, fd, "alert", seed);
    eve_alert_open(j, finding_sid(fd), sig, "Threat intelligence match",
                   x->severity, fd->blocked);
    json_key(j, "metadata");
    json_obj_open(j);
    meta_array(j, "feed", feed);
    meta_array(j, "indicator_type", ioc_type_name((enum ioc_type)x->type));
    meta_array(j, "reference", ref);
    if (x->confidence) {
        char c[8];
        snprintf(c, sizeof(c), "%u", x->confidence);
        meta_array(j, "confidence", c);
    }
    json_obj_close(j);
    json_obj_close(j);
    json_key(j, "nightjar");
    json_obj_open(j);
    json_key(j, "evidence");
    json_obj_open(j);
    json_kv_str(j, "kind", "intel");
    eve_finding_fields(j, fd);
    json_kv_str(j, "indicator", value);
    json_kv_str(j, "indicator_type", ioc_type_name((enum ioc_type)x->type));
    json_kv_str(j, "feed", feed);
    if (*desc)
        json_kv_str(j, "description", desc);
    if (*ref)
        json_kv_str(j, "reference", ref);
    if (x->confidence)
        json_kv_u64(j, "confidence", x->confidence);
    json_kv_str(j, "event", ev->event);
    json_kv_str(j, "field", ev->field);
    json_kv_str(j, "value", ev->value);
    json_kv_str(j, "match", ev->how);
    json_kv_str(j, "path", ev->path);
    if (fd->incident_id)
        json_kv_u64(j, "incident_id", fd->incident_id);
    json_obj_close(j);
    json_obj_close(j);
    json_obj_close(j);
    eve_emit(e);
}
