/* model_file.c -- model file text (see model_file.h). */
#include "train/model_file.h"

#include <stdlib.h>
#include <string.h>

#include "eta/eta_features.h"
#include "eta/eta_model.h"
#include "util/digest.h"

char *model_file_build(const char *booster_json, const char *version,
                       double threshold, uint32_t min_packets,
                       json_t *training)
{
    char name[128];
    if (version && *version) {
        snprintf(name, sizeof(name), "%s", version);
    } else {
        uint8_t d[32];
        char hex[65];
        digest(DIGEST_SHA256, booster_json, strlen(booster_json), d);
        hex_lower(d, 6, hex);
        snprintf(name, sizeof(name), "eta-%s", hex);
    }
    json_t *h = json_object();
    json_object_set_new(h, "format", json_string(ETA_MODEL_FORMAT));
    json_object_set_new(h, "format_version", json_integer(ETA_MODEL_FORMAT_VERSION));
    json_object_set_new(h, "model_version", json_string(name));
    json_object_set_new(h, "feature_set", json_string(ETA_FEATURE_SET));
    json_t *f = json_array();
    for (int i = 0; i < ETA_NFEATURES; i++)
        json_array_append_new(f, json_string(eta_feature_names[i]));
    json_object_set_new(h, "features", f);
    json_object_set_new(h, "threshold", json_real(threshold));
    json_object_set_new(h, "min_payload_packets", json_integer(min_packets));
    if (training)
        json_object_set(h, "training", training);
    char *head = json_dumps(h, JSON_INDENT(1) | JSON_PRESERVE_ORDER |
                                   JSON_REAL_PRECISION(17));
    json_decref(h);
    if (!head)
        return NULL;
    /* the header without its closing brace, then the booster verbatim */
    char *end = strrchr(head, '}');
    if (end)
        *end = 0;
    size_t n = strlen(head) + strlen(booster_json) + 32;
    char *out = malloc(n);
    if (out)
        snprintf(out, n, "%s,\n \"booster\": %s\n}\n", head, booster_json);
    free(head);
    return out;
}
