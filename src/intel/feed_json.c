/* feed_json.c -- STIX 2.1 bundles and MISP event exports (see feed.h),
 * read with jansson.
 *
 * STIX: every object of type "indicator" whose pattern is STIX patterning
 * made of equality comparisons joined by OR (within or between
 * observation expressions) over ipv4-addr:value, ipv6-addr:value,
 * domain-name:value, url:value, email-addr:value, file:hashes.{MD5,SHA-1,
 * SHA-256} and x509-certificate:hashes.{SHA-1,SHA-256}. AND, other
 * operators, other object paths and qualifiers are counted as
 * unsupported with the first one named.
 *
 * MISP: {"Event": ...}, [{"Event": ...}, ...] or {"response": [...]}; the
 * attributes of the event and of its objects; only attributes meant for
 * detection (to_ids) are used, the others are counted.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

#include "intel/feed.h"

static json_t *parse(const char *text, size_t len, const char *path, char *err,
                     size_t errlen)
{
    json_error_t je;
    json_t *root = json_loadb(text, len, 0, &je);
    if (!root)
        snprintf(err, errlen, "%s:%d: %s", path, je.line, je.text);
    return root;
}

static const char *str(json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);
    return json_is_string(v) ? json_string_value(v) : NULL;
}

/* --- STIX patterns ----------------------------------------------------- */

static int stix_path_type(const char *path)
{
    static const struct { const char *p; int t; } map[] = {
        { "ipv4-addr:value", IOC_IP }, { "ipv6-addr:value", IOC_IP },
        { "domain-name:value", IOC_DOMAIN }, { "url:value", IOC_URL },
        { "email-addr:value", IOC_EMAIL },
        { "file:hashes.MD5", IOC_FILE_MD5 }, { "file:hashes.'MD5'", IOC_FILE_MD5 },
        { "file:hashes.'SHA-1'", IOC_FILE_SHA1 }, { "file:hashes.SHA1", IOC_FILE_SHA1 },
        { "file:hashes.'SHA-256'", IOC_FILE_SHA256 }, { "file:hashes.SHA256", IOC_FILE_SHA256 },
        { "x509-certificate:hashes.'SHA-1'", IOC_CERT_SHA1 },
        { "x509-certificate:hashes.SHA1", IOC_CERT_SHA1 },
        { "x509-certificate:hashes.'SHA-256'", IOC_CERT_SHA256 },
        { "x509-certificate:hashes.SHA256", IOC_CERT_SHA256 },
    };
    for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
        if (!strcmp(path, map[i].p))
            return map[i].t;
    return -1;
}

/* Reads "[a = 'x' OR b = 'y'] OR [c = 'z']" into (type, value) pairs;
 * false when the pattern uses anything else (why says what). */
static bool stix_pattern(const char *p, int *types, char (*vals)[512], int max,
                         int *n, char *why, size_t whylen)
{
    *n = 0;
    int depth = 0;
    while (*p) {
        while (isspace((unsigned char)*p))
            p++;
        if (!*p)
            break;
        if (*p == '[') { depth++; p++; continue; }
        if (*p == ']') { depth--; p++; continue; }
        if (!strncmp(p, "OR", 2) && (isspace((unsigned char)p[2]) || p[2] == '[')) {
            p += 2;
            continue;
        }
        if (depth != 1) {
            snprintf(why, whylen, "qualifier or operator outside [...]: %.60s", p);
            return false;
        }
        char path[128];
        size_t k = 0;
        while (*p && !isspace((unsigned char)*p) && *p != '=' && *p != '!' &&
               k + 1 < sizeof(path))
            path[k++] = *p++;
        path[k] = '\0';
        while (isspace((unsigned char)*p))
            p++;
        if (*p != '=') {
            snprintf(why, whylen, "operator other than '=' after %s", path);
            return false;
        }
        p++;
        while (isspace((unsigned char)*p))
            p++;
        if (*p != '\'') {
            snprintf(why, whylen, "value of %s is not a string", path);
            return false;
        }
        p++;
        char v[512];
        k = 0;
        while (*p && *p != '\'' && k + 1 < sizeof(v)) {
            if (*p == '\\' && p[1])
                p++;
            v[k++] = *p++;
        }
        v[k] = '\0';
        if (*p++ != '\'') {
            snprintf(why, whylen, "unterminated string");
            return false;
        }
        int t = stix_path_type(path);
        if (t < 0) {
            snprintf(why, whylen, "object path %s", path);
            return false;
        }
        if (*n == max) {
            snprintf(why, whylen, "more than %d comparisons in one pattern", max);
            return false;
        }
        types[*n] = t;
        snprintf(vals[*n], 512, "%s", v);
        (*n)++;
        while (isspace((unsigned char)*p))
            p++;
        if (!strncmp(p, "AND", 3)) {
            snprintf(why, whylen, "AND (%s AND ...)", path);
            return false;
        }
    }
    return *n > 0;
}

static void stix_indicator(struct intel_builder *b, uint32_t feed, json_t *o,
                           const struct feed_spec *spec, struct feed_result *r)
{
    const char *pattern = str(o, "pattern");
    const char *ptype = str(o, "pattern_type");
    if (!pattern || (ptype && strcmp(ptype, "stix"))) {
        char what[160];
        snprintf(what, sizeof(what), "pattern_type %s", ptype ? ptype : "(none)");
        feed_unsupported(r, what);
        return;
    }
    int types[16], n;
    char vals[16][512];
    char why[160];
    if (!stix_pattern(pattern, types, vals, 16, &n, why, sizeof(why))) {
        feed_unsupported(r, why);
        return;
    }
    json_t *c = json_object_get(o, "confidence");
    uint8_t conf = json_is_integer(c) ? (uint8_t)json_integer_value(c) : 0;
    const char *desc = str(o, "name") ? str(o, "name") : str(o, "description");
    const char *ref = str(o, "id");
    json_t *refs = json_object_get(o, "external_references");
    if (json_is_array(refs) && json_array_size(refs) &&
        str(json_array_get(refs, 0), "url"))
        ref = str(json_array_get(refs, 0), "url");
    for (int i = 0; i < n; i++)
        feed_add(b, feed, (enum ioc_type)types[i], vals[i], spec, 2, conf, ref, desc, r);
}

bool feed_load_stix(struct intel_builder *b, uint32_t feed, const char *text,
                    size_t len, const struct feed_spec *spec,
                    struct feed_result *r, char *err, size_t errlen)
{
    json_t *root = parse(text, len, spec->path, err, errlen);
    if (!root)
        return false;
    json_t *objects = json_object_get(root, "objects");
    if (!json_is_array(objects)) {
        snprintf(err, errlen, "%s: not a STIX bundle (no \"objects\" array)", spec->path);
        json_decref(root);
        return false;
    }
    size_t i;
    json_t *o;
    json_array_foreach(objects, i, o) {
        const char *type = str(o, "type");
        if (type && !strcmp(type, "indicator"))
            stix_indicator(b, feed, o, spec, r);
    }
    json_decref(root);
    return true;
}

/* --- MISP -------------------------------------------------------------- */

static void misp_attribute(struct intel_builder *b, uint32_t feed, json_t *a,
                           const struct feed_spec *spec, uint8_t sev,
                           const char *desc, const char *ref,
                           struct feed_result *r)
{
    const char *type = str(a, "type"), *value = str(a, "value");
    if (!type || !value)
        return;
    json_t *ids = json_object_get(a, "to_ids");
    bool to_ids = json_is_true(ids) ||
                  (json_is_string(ids) && !strcmp(json_string_value(ids), "1"));
    if (!to_ids) {
        feed_unsupported(r, "attribute not meant for detection (to_ids false)");
        return;
    }
    static const struct { const char *m; int t; } map[] = {
        { "ip-src", IOC_IP }, { "ip-dst", IOC_IP }, { "ip-src|port", IOC_IP },
        { "ip-dst|port", IOC_IP }, { "domain", IOC_DOMAIN }, { "hostname", IOC_DOMAIN },
        { "domain|ip", IOC_DOMAIN }, { "hostname|port", IOC_DOMAIN }, { "url", IOC_URL },
        { "md5", IOC_FILE_MD5 }, { "sha1", IOC_FILE_SHA1 }, { "sha256", IOC_FILE_SHA256 },
        { "filename|md5", IOC_FILE_MD5 }, { "filename|sha1", IOC_FILE_SHA1 },
        { "filename|sha256", IOC_FILE_SHA256 }, { "x509-fingerprint-sha1", IOC_CERT_SHA1 },
        { "x509-fingerprint-sha256", IOC_CERT_SHA256 }, { "ja3-fingerprint-md5", IOC_JA3 },
        { "email", IOC_EMAIL }, { "email-src", IOC_EMAIL }, { "email-dst", IOC_EMAIL },
    };
    int t = -1;
    for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
        if (!strcmp(type, map[i].m))
            t = map[i].t;
    if (t < 0) {
        char what[160];
        snprintf(what, sizeof(what), "MISP attribute type %s", type);
        feed_unsupported(r, what);
        return;
    }
    char v[1024];
    snprintf(v, sizeof(v), "%s", value);
    char *bar = strchr(v, '|');
    if (bar && !strncmp(type, "filename|", 9)) {
        memmove(v, bar + 1, strlen(bar + 1) + 1);          /* the hash */
    } else if (bar && !strcmp(type, "domain|ip")) {
        *bar = '\0';
        feed_add(b, feed, IOC_IP, bar + 1, spec, sev, 0, ref, desc, r);
    } else if (bar) {
        *bar = '\0';                                       /* ip|port, host|port */
    }
    const char *c = str(a, "comment");
    feed_add(b, feed, (enum ioc_type)t, v, spec, sev, 0, ref, c && *c ? c : desc, r);
}

static void misp_attributes(struct intel_builder *b, uint32_t feed, json_t *list,
                            const struct feed_spec *spec, uint8_t sev,
                            const char *desc, const char *ref,
                            struct feed_result *r)
{
    size_t i;
    json_t *a;
    json_array_foreach(list, i, a)
        misp_attribute(b, feed, a, spec, sev, desc, ref, r);
}

static bool misp_event(struct intel_builder *b, uint32_t feed, json_t *ev,
                       const struct feed_spec *spec, struct feed_result *r)
{
    if (!json_is_object(ev))
        return false;
    const char *info = str(ev, "info");
    const char *tl = str(ev, "threat_level_id"); /* 1 high, 2 medium, 3 low, 4 undefined */
    uint8_t sev = tl ? (uint8_t)(atoi(tl) >= 1 && atoi(tl) <= 3 ? atoi(tl) : 3) : 2;
    char ref[128] = "";
    if (str(ev, "uuid"))
        snprintf(ref, sizeof(ref), "misp:event/%s", str(ev, "uuid"));
    misp_attributes(b, feed, json_object_get(ev, "Attribute"), spec, sev, info, ref, r);
    size_t i;
    json_t *obj;
    json_array_foreach(json_object_get(ev, "Object"), i, obj)
        misp_attributes(b, feed, json_object_get(obj, "Attribute"), spec, sev, info, ref, r);
    return true;
}

bool feed_load_misp(struct intel_builder *b, uint32_t feed, const char *text,
                    size_t len, const struct feed_spec *spec,
                    struct feed_result *r, char *err, size_t errlen)
{
    json_t *root = parse(text, len, spec->path, err, errlen);
    if (!root)
        return false;
    json_t *list = json_is_array(root) ? root : json_object_get(root, "response");
    int events = 0;
    if (json_is_object(json_object_get(root, "Event"))) {
        events += misp_event(b, feed, json_object_get(root, "Event"), spec, r);
    } else if (json_is_array(list)) {
        size_t i;
        json_t *e;
        json_array_foreach(list, i, e)
            events += misp_event(b, feed, json_object_get(e, "Event"), spec, r);
    }
    json_decref(root);
    if (!events) {
        snprintf(err, errlen, "%s: no MISP \"Event\" in it", spec->path);
        return false;
    }
    return true;
}
