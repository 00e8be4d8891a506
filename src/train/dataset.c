/* dataset.c -- sources to labelled rows (see dataset.h). */
#include "train/dataset.h"

#include <arpa/inet.h>
#include <errno.h>
#include <libgen.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "util/text.h"

/* Makes room for one more element in a growing array (*arr holds n of
 * *cap, each elem bytes), doubling from first. */
static bool grow(void *arr, size_t *cap, size_t n, size_t elem, size_t first)
{
    if (n < *cap)
        return true;
    size_t want = *cap ? *cap * 2 : first;
    void *p = realloc(*(void **)arr, want * elem);
    if (!p)
        return false;
    *(void **)arr = p;
    *cap = want;
    return true;
}

/* ---- labels CSV ------------------------------------------------------- */

/* Splits one CSV line (RFC 4180 quoting) into at most max fields, in
 * place: a field is never longer than its text, so writing stays behind
 * reading. */
static int csv_split(char *line, char **field, int max)
{
    int n = 0;
    char *r = line;
    while (n < max) {
        char *w = r;
        field[n++] = w;
        bool quoted = *r == '"';
        if (quoted)
            r++;
        for (;;) {
            char c = *r;
            if (!c || (!quoted && (c == '\n' || c == '\r'))) {
                *w = 0;
                return n;
            }
            if (quoted && c == '"') {
                if (r[1] == '"') {
                    *w++ = '"';
                    r += 2;
                    continue;
                }
                quoted = false;
                r++;
                continue;
            }
            r++;
            if (!quoted && c == ',') {
                *w = 0;
                break;
            }
            *w++ = c;
        }
    }
    return n;
}

static int column(char **hdr, int n, const char *name)
{
    for (int i = 0; i < n; i++)
        if (strcmp(hdr[i], name) == 0)
            return i;
    return -1;
}

static bool parse_hosts(const char *text, int *n, struct label_host *h,
                        const char *what, char *err, size_t errlen)
{
    char buf[2048];
    text_copy(buf, sizeof(buf), text, strlen(text));
    char *save = NULL;
    for (char *t = strtok_r(buf, "; ", &save); t; t = strtok_r(NULL, "; ", &save)) {
        if (*n >= LABEL_HOSTS_MAX) {
            snprintf(err, errlen, "more than %d %s", LABEL_HOSTS_MAX, what);
            return false;
        }
        struct label_host *x = &h[*n];
        memset(x, 0, sizeof(*x));
        if (inet_pton(AF_INET, t, x->b) == 1)
            x->v = 4;
        else if (inet_pton(AF_INET6, t, x->b) == 1)
            x->v = 6;
        else {
            snprintf(err, errlen, "'%s' in %s is not an IP address", t, what);
            return false;
        }
        (*n)++;
    }
    return true;
}

static bool label_entry(struct source_label *e, char **f, int nf, const int *col,
                        char *err, size_t errlen)
{
    memset(e, 0, sizeof(*e));
    text_copy(e->file, sizeof(e->file), f[col[0]], strlen(f[col[0]]));
    if (col[4] >= 0 && col[4] < nf)
        text_copy(e->family, sizeof(e->family), f[col[4]], strlen(f[col[4]]));
    const char *lab = f[col[1]];
    if (strcmp(lab, "malicious") == 0)
        e->label = LABEL_MALICIOUS;
    else if (strcmp(lab, "benign") == 0)
        e->label = LABEL_BENIGN;
    else {
        snprintf(err, errlen, "%s: label '%s' is neither benign nor malicious",
                 e->file, lab);
        return false;
    }
    if (col[2] >= 0 && col[2] < nf &&
        !parse_hosts(f[col[2]], &e->n_victims, e->victims, "victim_hosts",
                     err, errlen))
        return false;
    if (col[3] >= 0 && col[3] < nf &&
        !parse_hosts(f[col[3]], &e->n_servers, e->servers,
                     "malicious_servers", err, errlen))
        return false;
    return true;
}

bool labels_load(struct labels *l, const char *path, char *err, size_t errlen)
{
    memset(l, 0, sizeof(*l));
    FILE *fp = fopen(path, "r");
    if (!fp) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return false;
    }
    char line[8192], hdrline[8192];
    char *hdr[32], *f[32];
    int nh = fgets(hdrline, sizeof(hdrline), fp) ? csv_split(hdrline, hdr, 32) : 0;
    int col[5] = { column(hdr, nh, "file"), column(hdr, nh, "label"),
                   column(hdr, nh, "victim_hosts"),
                   column(hdr, nh, "malicious_servers"),
                   column(hdr, nh, "family") };
    bool ok = col[0] >= 0 && col[1] >= 0;
    if (!ok)
        snprintf(err, errlen, "%s: the header must name the columns file and "
                 "label", path);
    size_t cap = 0;
    int lineno = 1;
    while (ok && fgets(line, sizeof(line), fp)) {
        lineno++;
        int nf = csv_split(line, f, 32);
        if (nf == 1 && !f[0][0])
            continue;
        if (nf <= col[0] || nf <= col[1]) {
            snprintf(err, errlen, "%s:%d: too few columns", path, lineno);
            ok = false;
            break;
        }
        if (!grow(&l->e, &cap, l->n, sizeof(*l->e), 64)) {
            snprintf(err, errlen, "out of memory");
            ok = false;
            break;
        }
        char msg[512];
        ok = label_entry(&l->e[l->n], f, nf, col, msg, sizeof(msg));
        if (!ok)
            snprintf(err, errlen, "%s:%d: %s", path, lineno, msg);
        else
            l->n++;
    }
    fclose(fp);
    if (!ok)
        labels_free(l);
    return ok;
}

void labels_free(struct labels *l)
{
    free(l->e);
    memset(l, 0, sizeof(*l));
}

const struct source_label *labels_find(const struct labels *l, const char *file)
{
    for (size_t i = 0; l && i < l->n; i++)
        if (strcmp(l->e[i].file, file) == 0)
            return &l->e[i];
    return NULL;
}

static bool listed(int n, const struct label_host *h, uint8_t v,
                   const uint8_t *a)
{
    for (int i = 0; i < n; i++)
        if (h[i].v == v && memcmp(h[i].b, a, v == 4 ? 4 : 16) == 0)
            return true;
    return false;
}

enum label label_flow(const struct source_label *s, uint8_t v,
                      const uint8_t *client, const uint8_t *server,
                      bool unlisted_benign)
{
    if (s->label == LABEL_BENIGN)
        return LABEL_BENIGN;
    if (!s->n_servers) /* a host-level label says nothing of single flows */
        return LABEL_UNKNOWN;
    bool fwd = listed(s->n_victims, s->victims, v, client) &&
               listed(s->n_servers, s->servers, v, server);
    bool rev = listed(s->n_victims, s->victims, v, server) &&
               listed(s->n_servers, s->servers, v, client);
    if (fwd || rev)
        return LABEL_MALICIOUS;
    return unlisted_benign ? LABEL_BENIGN : LABEL_UNKNOWN;
}

/* ---- rows ------------------------------------------------------------- */

bool dataset_add_row(struct dataset *d, const float *x, enum label label,
                     uint32_t source)
{
    if (!grow(&d->rows, &d->cap, d->n, sizeof(*d->rows), 4096))
        return false;
    struct row *r = &d->rows[d->n++];
    memcpy(r->x, x, sizeof(r->x));
    r->label = (int8_t)label;
    r->source = source;
    d->sources[source].rows[label]++;
    return true;
}

/* ---- EVE logs with features ------------------------------------------- */

static bool eve_row(struct collect *c, json_t *rec, const char *path,
                    long lineno, char *err, size_t errlen)
{
    json_t *feat = json_object_get(json_object_get(rec, "eta"), "features");
    if (!json_is_object(feat)) {
        c->d->sources[c->source].too_small++;
        return true;
    }
    float x[ETA_NFEATURES];
    for (int i = 0; i < ETA_NFEATURES; i++) {
        json_t *v = json_object_get(feat, eta_feature_names[i]);
        if (!v) {
            snprintf(err, errlen, "%s:%ld: no feature '%s': the log was written "
                     "by a nightjar with other features (%s expected)", path,
                     lineno, eta_feature_names[i], ETA_FEATURE_SET);
            return false;
        }
        x[i] = json_is_number(v) ? (float)json_number_value(v) : NAN;
    }
    if (json_object_size(feat) != ETA_NFEATURES) {
        snprintf(err, errlen, "%s:%ld: %zu features, this nightjar has %d",
                 path, lineno, json_object_size(feat), ETA_NFEATURES);
        return false;
    }
    enum label l = c->label;
    if (l == LABEL_UNKNOWN) {
        const char *src = json_string_value(json_object_get(rec, "src_ip"));
        const char *dst = json_string_value(json_object_get(rec, "dest_ip"));
        struct label_host a = { 0 }, b = { 0 };
        if (src && dst && inet_pton(AF_INET, src, a.b) == 1 &&
            inet_pton(AF_INET, dst, b.b) == 1)
            a.v = 4;
        else if (src && dst && inet_pton(AF_INET6, src, a.b) == 1 &&
                 inet_pton(AF_INET6, dst, b.b) == 1)
            a.v = 6;
        l = a.v ? label_flow(c->rule, a.v, a.b, b.b, c->unlisted_benign)
                : LABEL_UNKNOWN;
    }
    if (l == LABEL_UNKNOWN) {
        c->d->sources[c->source].skipped++;
        return true;
    }
    if (!dataset_add_row(c->d, x, l, c->source)) {
        snprintf(err, errlen, "out of memory");
        return false;
    }
    return true;
}

static bool read_eve(struct collect *c, FILE *fp, const char *path, char *err,
                     size_t errlen)
{
    char *line = NULL;
    size_t cap = 0;
    long lineno = 0;
    bool ok = true;
    while (ok && getline(&line, &cap, fp) > 0) {
        lineno++;
        json_error_t je;
        json_t *rec = json_loads(line, 0, &je);
        if (!rec) {
            snprintf(err, errlen, "%s:%ld: not JSON: %s", path, lineno, je.text);
            ok = false;
            break;
        }
        const char *type = json_string_value(json_object_get(rec, "event_type"));
        if (type && strcmp(type, "flow") == 0)
            ok = eve_row(c, rec, path, lineno, err, errlen);
        json_decref(rec);
    }
    free(line);
    return ok;
}

static bool is_capture(FILE *fp)
{
    uint8_t m[4];
    bool cap = fread(m, 1, 4, fp) == 4 &&
               ((m[0] == 0xd4 && m[1] == 0xc3 && m[2] == 0xb2 && m[3] == 0xa1) ||
                (m[0] == 0xa1 && m[1] == 0xb2 && m[2] == 0xc3 && m[3] == 0xd4) ||
                (m[0] == 0x4d && m[1] == 0x3c && m[2] == 0xb2 && m[3] == 0xa1) ||
                (m[0] == 0xa1 && m[1] == 0xb2 && m[2] == 0x3c && m[3] == 0x4d) ||
                (m[0] == 0x0a && m[1] == 0x0d && m[2] == 0x0d && m[3] == 0x0a));
    rewind(fp);
    return cap;
}

static struct source_info *new_source(struct dataset *d, const char *path,
                                      bool test)
{
    if (!grow(&d->sources, &d->cap_sources, d->n_sources, sizeof(*d->sources), 64))
        return NULL;
    struct source_info *s = &d->sources[d->n_sources++];
    memset(s, 0, sizeof(*s));
    text_copy(s->path, sizeof(s->path), path, strlen(path));
    char tmp[1024];
    text_copy(tmp, sizeof(tmp), path, strlen(path));
    const char *base = basename(tmp);
    text_copy(s->name, sizeof(s->name), base, strlen(base));
    s->test = test;
    return s;
}

bool dataset_add(struct dataset *d, const char *path, enum label label,
                 const struct labels *csv, bool test,
                 const struct dataset_options *o, char *err, size_t errlen)
{
    FILE *fp = fopen(path, "rb");
    if (!fp) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return false;
    }
    struct source_info *s = new_source(d, path, test);
    if (!s) {
        fclose(fp);
        snprintf(err, errlen, "out of memory");
        return false;
    }
    struct collect c = { .d = d, .source = (uint32_t)(s - d->sources),
                         .label = label,
                         .unlisted_benign = o->unlisted_benign };
    const struct source_label *entry = labels_find(csv, s->name);
    if (entry)
        text_copy(s->family, sizeof(s->family), entry->family,
                  strlen(entry->family));
    s->label = (int8_t)(label != LABEL_UNKNOWN ? label
                        : entry ? entry->label : LABEL_UNKNOWN);
    if (label == LABEL_UNKNOWN) {
        c.rule = entry;
        if (!c.rule) {
            snprintf(err, errlen, "%s: no label: give it as %s:benign or "
                     "%s:malicious, or list %s in the labels CSV", path, path,
                     path, s->name);
            fclose(fp);
            d->n_sources--;
            return false;
        }
    }
    bool ok;
    if (is_capture(fp)) {
        fclose(fp);
        ok = dataset_read_capture(&c, path, o->cfg, err, errlen);
    } else {
        ok = read_eve(&c, fp, path, err, errlen);
        fclose(fp);
    }
    return ok;
}

void dataset_free(struct dataset *d)
{
    free(d->rows);
    free(d->sources);
    memset(d, 0, sizeof(*d));
}
