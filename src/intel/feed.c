/* feed.c -- text feed formats and format detection (see feed.h). */
#include "intel/feed.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define FEED_MAX_BYTES (2ull << 30) /* a feed file larger than this is refused */
#define MAX_FIELDS 32

void feed_unsupported(struct feed_result *r, const char *what)
{
    if (!r->unsupported++)
        snprintf(r->unsupported_example, sizeof(r->unsupported_example), "%s", what);
}

void feed_invalid(struct feed_result *r, const char *what)
{
    if (!r->invalid++)
        snprintf(r->invalid_example, sizeof(r->invalid_example), "%s", what);
}

void feed_add(struct intel_builder *b, uint32_t feed, enum ioc_type t,
              const char *v, const struct feed_spec *spec, uint8_t sev,
              uint8_t conf, const char *ref, const char *desc,
              struct feed_result *r)
{
    if (intel_add(b, feed, t, v, spec->severity ? spec->severity : sev,
                  spec->confidence ? spec->confidence : conf, ref, desc))
        r->added++;
    else
        feed_invalid(r, v);
}

/* --- spec -------------------------------------------------------------- */

static const char *const formats[] = { "auto", "list", "csv", "zeek", "sslbl",
    "ja3bl", "feodo", "urlhaus", "stix", "misp", NULL };

static bool spec_option(struct feed_spec *s, const char *k, const char *v,
                        char *err, size_t errlen)
{
    if (!strcmp(k, "column"))
        s->column = atoi(v);
    else if (!strcmp(k, "type-column"))
        s->type_column = atoi(v);
    else if (!strcmp(k, "type")) {
        enum ioc_type t;
        if (!ioc_type_parse(v, &t)) {
            snprintf(err, errlen, "feed option type=%s: not a type (ip, domain, "
                     "url, ja3, ja3s, ja4, cert_sha1, cert_sha256, cert_subject, "
                     "cert_issuer, file_md5, file_sha1, file_sha256, email)", v);
            return false;
        }
        s->type = t;
    } else if (!strcmp(k, "delimiter"))
        s->delimiter = !strcmp(v, "tab") ? '\t' : v[0];
    else if (!strcmp(k, "header"))
        s->header = !strcmp(v, "yes") || !strcmp(v, "1") || !strcmp(v, "true");
    else if (!strcmp(k, "name"))
        snprintf(s->name, sizeof(s->name), "%s", v);
    else if (!strcmp(k, "severity"))
        s->severity = (uint8_t)atoi(v);
    else if (!strcmp(k, "confidence"))
        s->confidence = (uint8_t)atoi(v);
    else {
        snprintf(err, errlen, "unknown feed option '%s'", k);
        return false;
    }
    return true;
}

bool feed_spec_parse(const char *arg, struct feed_spec *s, char *err,
                     size_t errlen)
{
    memset(s, 0, sizeof(*s));
    s->type = -1;
    s->delimiter = ',';
    snprintf(s->format, sizeof(s->format), "auto");
    const char *colon = strchr(arg, ':');
    const char *path = arg;
    if (colon) {
        char head[512];
        snprintf(head, sizeof(head), "%.*s", (int)(colon - arg), arg);
        char *save = NULL, *tok = strtok_r(head, ",", &save);
        bool known = false;
        for (int i = 0; tok && formats[i]; i++)
            if (!strcmp(tok, formats[i]))
                known = true;
        if (known) {
            snprintf(s->format, sizeof(s->format), "%s", tok);
            while ((tok = strtok_r(NULL, ",", &save))) {
                char *eq = strchr(tok, '=');
                if (!eq) {
                    snprintf(err, errlen, "feed option '%s' needs a value", tok);
                    return false;
                }
                *eq = '\0';
                if (!spec_option(s, tok, eq + 1, err, errlen))
                    return false;
            }
            path = colon + 1;
        }
    }
    if (!*path || strlen(path) >= sizeof(s->path)) {
        snprintf(err, errlen, "feed '%s': no file name", arg);
        return false;
    }
    snprintf(s->path, sizeof(s->path), "%s", path);
    if (!s->name[0]) {
        const char *base = strrchr(path, '/');
        snprintf(s->name, sizeof(s->name), "%s", base ? base + 1 : path);
    }
    if (!strcmp(s->format, "csv") && s->column < 1) {
        snprintf(err, errlen, "feed %s: csv needs column=N (1-based)", path);
        return false;
    }
    return true;
}

/* --- lines and fields -------------------------------------------------- */

/* Splits a CSV line in place (quotes, "" inside quotes); returns fields. */
static int split_csv(char *line, char delim, char **f, int max)
{
    int n = 0;
    char *p = line;
    while (n < max) {
        while (*p == ' ')
            p++;
        if (*p == '"') {
            char *o = ++p;
            f[n++] = o;
            while (*p) {
                if (*p == '"' && p[1] == '"') {
                    *o++ = '"';
                    p += 2;
                } else if (*p == '"') {
                    p++;
                    break;
                } else {
                    *o++ = *p++;
                }
            }
            *o = '\0';
            while (*p && *p != delim)
                p++;
        } else {
            f[n++] = p;
            while (*p && *p != delim)
                p++;
        }
        if (*p != delim)
            break;
        *p++ = '\0';
    }
    for (int i = 0; i < n; i++) { /* trim trailing blanks */
        size_t l = strlen(f[i]);
        while (l && (f[i][l - 1] == ' ' || f[i][l - 1] == '\r'))
            f[i][--l] = '\0';
    }
    return n;
}

static bool all_hex(const char *v, size_t n)
{
    if (strlen(v) != n)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!isxdigit((unsigned char)v[i]))
            return false;
    return true;
}

/* Plain-list type detection. Hashes are ambiguous: 32 hex digits are a file
 * MD5 or a JA3, 40 a file or certificate SHA-1, 64 a file or certificate
 * SHA-256; an untyped list adds both readings. */
static int detect_types(const char *v, enum ioc_type t[2])
{
    if (strstr(v, "://")) {
        t[0] = IOC_URL;
        return 1;
    }
    if (strchr(v, '@')) {
        t[0] = IOC_EMAIL;
        return 1;
    }
    if (strlen(v) == 36 && v[10] == '_' && v[23] == '_') {
        t[0] = IOC_JA4;
        return 1;
    }
    if (all_hex(v, 32)) {
        t[0] = IOC_FILE_MD5;
        t[1] = IOC_JA3;
        return 2;
    }
    if (all_hex(v, 40)) {
        t[0] = IOC_FILE_SHA1;
        t[1] = IOC_CERT_SHA1;
        return 2;
    }
    if (all_hex(v, 64)) {
        t[0] = IOC_FILE_SHA256;
        t[1] = IOC_CERT_SHA256;
        return 2;
    }
    bool ipish = strchr(v, ':') != NULL;
    if (!ipish) {
        ipish = true;
        for (const char *p = v; *p; p++)
            if (!isdigit((unsigned char)*p) && *p != '.' && *p != '/')
                ipish = false;
    }
    t[0] = ipish ? IOC_IP : IOC_DOMAIN;
    return 1;
}

typedef void (*line_fn)(struct intel_builder *, uint32_t, char *,
                        const struct feed_spec *, struct feed_result *,
                        void *state);

static void each_line(char *text, struct intel_builder *b, uint32_t feed,
                      const struct feed_spec *spec, struct feed_result *r,
                      line_fn fn, void *state)
{
    char *save = NULL;
    for (char *line = strtok_r(text, "\n", &save); line;
         line = strtok_r(NULL, "\n", &save)) {
        size_t l = strlen(line);
        while (l && (line[l - 1] == '\r' || line[l - 1] == ' ' || line[l - 1] == '\t'))
            line[--l] = '\0';
        fn(b, feed, line, spec, r, state);
    }
}

/* --- formats ----------------------------------------------------------- */

static void list_line(struct intel_builder *b, uint32_t feed, char *line,
                      const struct feed_spec *spec, struct feed_result *r,
                      void *state)
{
    (void)state;
    while (*line == ' ' || *line == '\t')
        line++;
    if (!*line || *line == '#' || *line == ';')
        return;
    char *cut = line + strcspn(line, " \t#"); /* "1.2.3.4  # comment" */
    *cut = '\0';
    enum ioc_type t[2];
    int n = spec->type >= 0 ? (t[0] = (enum ioc_type)spec->type, 1)
                            : detect_types(line, t);
    for (int i = 0; i < n; i++)
        feed_add(b, feed, t[i], line, spec, 2, 0, NULL, NULL, r);
}

static void csv_line(struct intel_builder *b, uint32_t feed, char *line,
                     const struct feed_spec *spec, struct feed_result *r,
                     void *state)
{
    bool *first = state;
    if (*first && spec->header) {
        *first = false;
        return;
    }
    *first = false;
    if (!*line || *line == '#')
        return;
    char *f[MAX_FIELDS];
    int n = split_csv(line, spec->delimiter, f, MAX_FIELDS);
    if (spec->column > n) {
        feed_invalid(r, line);
        return;
    }
    const char *v = f[spec->column - 1];
    enum ioc_type t[2];
    int nt;
    if (spec->type >= 0) {
        t[0] = (enum ioc_type)spec->type;
        nt = 1;
    } else if (spec->type_column && spec->type_column <= n) {
        if (!ioc_type_parse(f[spec->type_column - 1], &t[0])) {
            feed_unsupported(r, f[spec->type_column - 1]);
            return;
        }
        nt = 1;
    } else {
        nt = detect_types(v, t);
    }
    for (int i = 0; i < nt; i++)
        feed_add(b, feed, t[i], v, spec, 2, 0, NULL, NULL, r);
}

struct zeek_state {
    int ind, type, source, desc, url, conf;
    char sep;
};

static void zeek_line(struct intel_builder *b, uint32_t feed, char *line,
                      const struct feed_spec *spec, struct feed_result *r,
                      void *state)
{
    struct zeek_state *z = state;
    if (!strncmp(line, "#separator", 10)) {
        const char *v = line + 10;
        while (*v == ' ')
            v++;
        z->sep = !strncmp(v, "\\x09", 4) ? '\t' : !strncmp(v, "\\x2c", 4) ? ',' : *v;
        return;
    }
    char *f[MAX_FIELDS];
    if (!strncmp(line, "#fields", 7)) {
        int n = split_csv(line[7] ? line + 8 : line + 7, z->sep, f, MAX_FIELDS);
        for (int i = 0; i < n; i++) {
            if (!strcmp(f[i], "indicator")) z->ind = i;
            else if (!strcmp(f[i], "indicator_type")) z->type = i;
            else if (!strcmp(f[i], "meta.source")) z->source = i;
            else if (!strcmp(f[i], "meta.desc")) z->desc = i;
            else if (!strcmp(f[i], "meta.url")) z->url = i;
            else if (!strcmp(f[i], "meta.cif_confidence")) z->conf = i;
        }
        return;
    }
    if (!*line || *line == '#')
        return;
    if (z->ind < 0 || z->type < 0) {
        feed_invalid(r, "data before a #fields line naming indicator and indicator_type");
        return;
    }
    int n = split_csv(line, z->sep, f, MAX_FIELDS);
    if (z->ind >= n || z->type >= n) {
        feed_invalid(r, line);
        return;
    }
    static const struct { const char *name; int type; } map[] = {
        { "Intel::ADDR", IOC_IP }, { "Intel::SUBNET", IOC_IP },
        { "Intel::DOMAIN", IOC_DOMAIN }, { "Intel::URL", IOC_URL },
        { "Intel::EMAIL", IOC_EMAIL }, { "Intel::CERT_HASH", IOC_CERT_SHA1 },
        { "Intel::JA3", IOC_JA3 }, { "Intel::FILE_HASH", -2 },
    };
    const char *v = f[z->ind], *tn = f[z->type];
    int t = -1;
    for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
        if (!strcmp(tn, map[i].name))
            t = map[i].type;
    if (t == -2) /* FILE_HASH: MD5, SHA-1 or SHA-256 by length */
        t = strlen(v) == 32 ? IOC_FILE_MD5 : strlen(v) == 40 ? IOC_FILE_SHA1 : IOC_FILE_SHA256;
    if (t < 0) {
        feed_unsupported(r, tn);
        return;
    }
    const char *desc = z->desc >= 0 && z->desc < n && strcmp(f[z->desc], "-") ? f[z->desc]
                     : z->source >= 0 && z->source < n && strcmp(f[z->source], "-") ? f[z->source] : NULL;
    const char *url = z->url >= 0 && z->url < n && strcmp(f[z->url], "-") ? f[z->url] : NULL;
    uint8_t conf = z->conf >= 0 && z->conf < n ? (uint8_t)(atof(f[z->conf]) * 10) : 0;
    feed_add(b, feed, (enum ioc_type)t, v, spec, 2, conf, url, desc, r);
}

/* abuse.ch: "#" comments, then CSV rows. */
struct abuse_state {
    const char *format;
};

static void abuse_line(struct intel_builder *b, uint32_t feed, char *line,
                       const struct feed_spec *spec, struct feed_result *r,
                       void *state)
{
    struct abuse_state *a = state;
    if (!*line || *line == '#')
        return;
    char *f[MAX_FIELDS], ref[256];
    int n = split_csv(line, ',', f, MAX_FIELDS);
    if (!strcmp(a->format, "sslbl")) {           /* Listingdate,SHA1,Listingreason */
        if (n < 3) {
            feed_invalid(r, line);
            return;
        }
        snprintf(ref, sizeof(ref), "https://sslbl.abuse.ch/ssl-certificates/sha1/%s/", f[1]);
        feed_add(b, feed, IOC_CERT_SHA1, f[1], spec, 1, 90, ref, f[2], r);
    } else if (!strcmp(a->format, "ja3bl")) {    /* ja3_md5,Firstseen,Lastseen,Listingreason */
        if (n < 4) {
            feed_invalid(r, line);
            return;
        }
        feed_add(b, feed, IOC_JA3, f[0], spec, 1, 80, "https://sslbl.abuse.ch/ja3-fingerprints/", f[3], r);
    } else if (!strcmp(a->format, "feodo")) {
        if (n == 1) {                            /* the plain list */
            snprintf(ref, sizeof(ref), "https://feodotracker.abuse.ch/browse/host/%s/", f[0]);
            feed_add(b, feed, IOC_IP, f[0], spec, 1, 90, ref, "Feodo Tracker botnet C2", r);
            return;
        }
        if (n < 6 || !strcmp(f[1], "dst_ip"))    /* the header row */
            return;
        snprintf(ref, sizeof(ref), "https://feodotracker.abuse.ch/browse/host/%s/", f[1]);
        char desc[160];
        snprintf(desc, sizeof(desc), "%s botnet C2 (port %s, %s)", f[5], f[2], f[3]);
        feed_add(b, feed, IOC_IP, f[1], spec, 1, 90, ref, desc, r);
    } else {                                     /* urlhaus */
        if (n < 8 || !strcmp(f[2], "url"))
            return;
        char desc[256];
        snprintf(desc, sizeof(desc), "%s%s%s (%s)", f[5], *f[6] ? ": " : "", f[6], f[3]);
        feed_add(b, feed, IOC_URL, f[2], spec, 2, 80, f[7], desc, r);
    }
}

/* --- detection and loading --------------------------------------------- */

static const char *detect_format(const char *t, const struct feed_spec *spec)
{
    char head[4097];
    snprintf(head, sizeof(head), "%s", t);
    const char *p = head;
    while (*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t')
        p++;
    if (*p == '{' || *p == '[') {
        if (strstr(head, "\"bundle\"") || strstr(head, "\"spec_version\""))
            return "stix";
        return "misp";
    }
    if (strstr(head, "#fields"))
        return "zeek";
    if (strstr(head, "ja3_md5"))
        return "ja3bl";
    if (strstr(head, "SSLBL") || strstr(head, "Listingdate,SHA1"))
        return "sslbl";
    if (strstr(head, "URLhaus") || strstr(head, "urlhaus_link"))
        return "urlhaus";
    if (strstr(head, "Feodo") || strstr(head, "\"dst_ip\""))
        return "feodo";
    return spec->column ? "csv" : "list";
}

static char *read_file(const char *path, size_t *len, char *err, size_t errlen)
{
    FILE *fp = fopen(path, "rb");
    if (!fp) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return NULL;
    }
    size_t cap = 65536, n = 0;
    char *buf = malloc(cap + 1);
    while (buf) {
        size_t got = fread(buf + n, 1, cap - n, fp);
        n += got;
        if (n < cap)
            break;
        if (cap >= FEED_MAX_BYTES) {
            snprintf(err, errlen, "%s: larger than 2 GiB", path);
            free(buf);
            buf = NULL;
            break;
        }
        char *nb = realloc(buf, cap * 2 + 1);
        if (!nb) {
            free(buf);
            buf = NULL;
            snprintf(err, errlen, "%s: out of memory", path);
            break;
        }
        buf = nb;
        cap *= 2;
    }
    if (buf && ferror(fp)) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        free(buf);
        buf = NULL;
    }
    fclose(fp);
    if (buf) {
        buf[n] = '\0';
        *len = n;
    }
    return buf;
}

bool feed_load(struct intel_builder *b, const struct feed_spec *spec,
               struct feed_result *r, char *err, size_t errlen)
{
    memset(r, 0, sizeof(*r));
    size_t len = 0;
    char *text = read_file(spec->path, &len, err, errlen);
    if (!text)
        return false;
    const char *fmt = strcmp(spec->format, "auto") ? spec->format
                                                   : detect_format(text, spec);
    snprintf(r->format, sizeof(r->format), "%s", fmt);
    uint32_t feed = intel_add_feed(b, spec->name);
    bool ok = true;
    if (!strcmp(fmt, "stix")) {
        ok = feed_load_stix(b, feed, text, len, spec, r, err, errlen);
    } else if (!strcmp(fmt, "misp")) {
        ok = feed_load_misp(b, feed, text, len, spec, r, err, errlen);
    } else if (!strcmp(fmt, "zeek")) {
        struct zeek_state z = { -1, -1, -1, -1, -1, -1, '\t' };
        each_line(text, b, feed, spec, r, zeek_line, &z);
        if (z.ind < 0 || z.type < 0) {
            snprintf(err, errlen, "%s: no '#fields' line naming indicator and "
                     "indicator_type (not a Zeek intel file?)", spec->path);
            ok = false;
        }
    } else if (!strcmp(fmt, "csv")) {
        bool first = true;
        each_line(text, b, feed, spec, r, csv_line, &first);
    } else if (!strcmp(fmt, "list")) {
        each_line(text, b, feed, spec, r, list_line, NULL);
    } else {
        struct abuse_state a = { fmt };
        each_line(text, b, feed, spec, r, abuse_line, &a);
    }
    free(text);
    if (ok && !r->added && (r->invalid || r->unsupported)) {
        snprintf(err, errlen, "%s: no usable indicator (%llu invalid, e.g. '%s'; "
                 "%llu unsupported, e.g. '%s')", spec->path,
                 (unsigned long long)r->invalid, r->invalid_example,
                 (unsigned long long)r->unsupported, r->unsupported_example);
        ok = false;
    }
    return ok;
}
