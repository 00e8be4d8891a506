/* intel.c -- the indicator set (see intel.h).
 *
 * Layout: all text (values, references, descriptions, feed names) in one
 * arena; metadata in one array; two open-addressing tables of
 * {hash, index} with linear probing at most half full. Building sorts
 * nothing and allocates a handful of times (the arrays double); the built
 * set is never written again.
 */
#include "intel/intel.h"
#include "util/hash.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const char *const type_names[IOC_TYPES] = {
    "ip", "domain", "url", "ja3", "ja3s", "ja4", "cert_sha1", "cert_sha256",
    "cert_subject", "cert_issuer", "file_md5", "file_sha1", "file_sha256",
    "email",
};

const char *ioc_type_name(enum ioc_type t)
{
    return t < IOC_TYPES ? type_names[t] : "?";
}

bool ioc_type_parse(const char *name, enum ioc_type *t)
{
    for (int i = 0; i < IOC_TYPES; i++)
        if (!strcasecmp(name, type_names[i])) {
            *t = (enum ioc_type)i;
            return true;
        }
    return false;
}

struct slot {
    uint64_t hash;   /* 0: empty */
    uint32_t index;  /* into iocs */
};

struct table {
    struct slot *s;
    size_t cap;      /* power of two */
    size_t used;
};

struct intel_set {
    char *text;
    size_t text_len, text_cap;
    struct ioc *iocs;
    size_t n, cap;
    struct table ips, strs;
    uint8_t prefixes[2][129];   /* prefix lengths present, per family */
    uint32_t *feeds;            /* text offsets of feed names */
    size_t n_feeds;
    uint64_t duplicates;
    uint64_t by_type[IOC_TYPES]; /* indicators added, per type */
};

struct intel_builder {
    struct intel_set *s;
    bool oom;
};

/* --- hashing and tables ------------------------------------------------ */

static uint64_t mix(uint64_t h)
{
    h = fmix64(h);
    return h ? h : 1;
}

static uint64_t hash_bytes(uint64_t seed, const void *p, size_t n)
{
    const uint8_t *b = p;
    uint64_t h = seed ^ 0x9e3779b97f4a7c15ull;
    for (size_t i = 0; i < n; i++)
        h = (h ^ b[i]) * 0x100000001b3ull;
    return mix(h);
}

static bool table_grow(struct table *t)
{
    size_t cap = t->cap ? t->cap * 2 : 1024;
    struct slot *s = calloc(cap, sizeof(*s));
    if (!s)
        return false;
    for (size_t i = 0; i < t->cap; i++) {
        if (!t->s[i].hash)
            continue;
        size_t j = t->s[i].hash & (cap - 1);
        while (s[j].hash)
            j = (j + 1) & (cap - 1);
        s[j] = t->s[i];
    }
    free(t->s);
    t->s = s;
    t->cap = cap;
    return true;
}

/* --- the arena --------------------------------------------------------- */

static uint32_t text_add(struct intel_builder *b, const char *t)
{
    struct intel_set *s = b->s;
    size_t n = strlen(t) + 1;
    if (s->text_len + n > s->text_cap) {
        size_t cap = s->text_cap ? s->text_cap * 2 : 65536;
        while (cap < s->text_len + n)
            cap *= 2;
        char *nt = realloc(s->text, cap);
        if (!nt) {
            b->oom = true;
            return 0;
        }
        s->text = nt;
        s->text_cap = cap;
    }
    memcpy(s->text + s->text_len, t, n);
    uint32_t off = (uint32_t)s->text_len;
    s->text_len += n;
    return off;
}

const char *intel_text(const struct intel_set *s, uint32_t off)
{
    return off < s->text_len ? s->text + off : "";
}

struct intel_builder *intel_builder_new(void)
{
    struct intel_builder *b = calloc(1, sizeof(*b));
    if (!b || !(b->s = calloc(1, sizeof(*b->s)))) {
        free(b);
        return NULL;
    }
    text_add(b, ""); /* offset 0 is the empty string */
    return b;
}

void intel_builder_free(struct intel_builder *b)
{
    if (!b)
        return;
    intel_set_free(b->s);
    free(b);
}

uint32_t intel_add_feed(struct intel_builder *b, const char *name)
{
    struct intel_set *s = b->s;
    uint32_t *nf = realloc(s->feeds, (s->n_feeds + 1) * sizeof(*nf));
    if (!nf) {
        b->oom = true;
        return 0;
    }
    s->feeds = nf;
    s->feeds[s->n_feeds] = text_add(b, name);
    return (uint32_t)s->n_feeds++;
}

const char *intel_feed_name(const struct intel_set *s, uint32_t feed)
{
    return feed < s->n_feeds ? intel_text(s, s->feeds[feed]) : "";
}

/* --- normalisation ----------------------------------------------------- */

static void lower(char *p)
{
    for (; *p; p++)
        *p = (char)tolower((unsigned char)*p);
}

static bool is_hex(const char *v, size_t n)
{
    if (strlen(v) != n)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!isxdigit((unsigned char)v[i]))
            return false;
    return true;
}

/* "a.b.c.d", "a.b.c.d/nn", IPv6 with or without "/nn". */
static bool parse_net(const char *v, uint8_t *addr, int *family, int *plen)
{
    char buf[64];
    snprintf(buf, sizeof(buf), "%s", v);
    char *slash = strchr(buf, '/');
    int max;
    if (slash)
        *slash = '\0';
    memset(addr, 0, 16);
    if (inet_pton(AF_INET, buf, addr) == 1) {
        *family = 4;
        max = 32;
    } else if (inet_pton(AF_INET6, buf, addr) == 1) {
        *family = 6;
        max = 128;
    } else {
        return false;
    }
    *plen = max;
    if (slash) {
        char *end;
        long p = strtol(slash + 1, &end, 10);
        if (*end || end == slash + 1 || p < 0 || p > max)
            return false;
        *plen = (int)p;
    }
    for (int i = *plen; i < 128; i++) /* mask the host bits */
        addr[i / 8] &= (uint8_t)~(0x80 >> (i % 8));
    return true;
}

/* addr: 16 bytes, host bits already zero. Two multiply-mix rounds: this
 * runs for every flow end and every address answer. */
static uint64_t ip_key(const uint8_t *addr, int family, int plen)
{
    uint64_t a, b;
    memcpy(&a, addr, 8);
    memcpy(&b, addr + 8, 8);
    return mix(a ^ mix(b ^ ((uint64_t)family << 8 | (uint64_t)plen)));
}

/* Copies addr (4 or 16 bytes) into out[16] keeping the first plen bits. */
static void mask_addr(const uint8_t *addr, int family, int plen, uint8_t *out)
{
    memset(out, 0, 16);
    memcpy(out, addr, family == 4 ? 4 : 16);
    int full = plen / 8, rest = plen % 8;
    if (full < 16) {
        out[full] &= (uint8_t)(0xff00 >> rest);
        memset(out + full + 1, 0, (size_t)(15 - full));
    }
}

static bool unreserved(int c)
{
    return isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~';
}

bool intel_url_normalise(const char *url, char *out, size_t outlen)
{
    const char *p = url;
    while (*p == ' ' || *p == '\t')
        p++;
    const char *sep = strstr(p, "://");
    size_t o = 0;
    if (!sep || sep == p || outlen < 16)
        return false;
    for (const char *q = p; q < sep && o + 1 < outlen; q++)
        out[o++] = (char)tolower((unsigned char)*q);
    bool http = (size_t)(sep - p) == 4 && !strncasecmp(p, "http", 4);
    bool https = (size_t)(sep - p) == 5 && !strncasecmp(p, "https", 5);
    p = sep + 3;
    if (o + 3 < outlen) {
        memcpy(out + o, "://", 3);
        o += 3;
    }
    const char *host_end = p + strcspn(p, "/?#");
    const char *at = memchr(p, '@', (size_t)(host_end - p));
    if (at) /* credentials are not part of what is matched */
        p = at + 1;
    const char *colon = NULL;
    for (const char *q = p; q < host_end; q++)
        if (*q == ':' && !memchr(q, ']', (size_t)(host_end - q)))
            colon = q;
    const char *hend = colon ? colon : host_end;
    for (const char *q = p; q < hend && o + 1 < outlen; q++)
        out[o++] = (char)tolower((unsigned char)*q);
    if (o && out[o - 1] == '.')
        o--;
    if (colon) {
        bool dflt = (http && !strncmp(colon, ":80", (size_t)(host_end - colon)) &&
                     host_end - colon == 3) ||
                    (https && host_end - colon == 4 && !strncmp(colon, ":443", 4));
        if (!dflt)
            for (const char *q = colon; q < host_end && o + 1 < outlen; q++)
                out[o++] = *q;
    }
    const char *path = host_end;
    size_t plen = strcspn(path, "#");
    if (plen == 1 && path[0] == '/')
        plen = 0; /* "http://a/" == "http://a" */
    for (size_t i = 0; i < plen && o + 1 < outlen; i++) {
        char c = path[i];
        if (c == '%' && i + 2 < plen && isxdigit((unsigned char)path[i + 1]) &&
            isxdigit((unsigned char)path[i + 2])) {
            char hx[3] = { path[i + 1], path[i + 2], 0 };
            int v = (int)strtol(hx, NULL, 16);
            if (unreserved(v)) {
                out[o++] = (char)v;
                i += 2;
                continue;
            }
        }
        out[o++] = c;
    }
    out[o] = '\0';
    return o > (size_t)(sep - url) + 3;
}

/* Lower-cases and checks a value; false when it is not valid for t. */
static bool normalise(enum ioc_type t, const char *in, char *out, size_t outlen)
{
    while (*in == ' ' || *in == '\t')
        in++;
    snprintf(out, outlen, "%s", in);
    size_t n = strlen(out);
    while (n && (out[n - 1] == ' ' || out[n - 1] == '\t' || out[n - 1] == '\r'))
        out[--n] = '\0';
    if (!n)
        return false;
    switch (t) {
    case IOC_DOMAIN:
        lower(out);
        if (out[n - 1] == '.')
            out[--n] = '\0';
        if (!n || !strchr(out, '.') || strpbrk(out, "/ :@\"'<>\\"))
            return false; /* a domain has a dot and no URL or address syntax */
        if (!strncmp(out, "*.", 2)) /* a wildcard is the parent itself */
            memmove(out, out + 2, n - 1);
        return out[0] != '\0';
    case IOC_URL: {
        char tmp[2064];
        if (!strstr(out, "://"))
            snprintf(tmp, sizeof(tmp), "http://%s", out);
        else
            snprintf(tmp, sizeof(tmp), "%s", out);
        return intel_url_normalise(tmp, out, outlen);
    }
    case IOC_JA3: case IOC_JA3S: case IOC_FILE_MD5:
        lower(out);
        return is_hex(out, 32);
    case IOC_CERT_SHA1: case IOC_FILE_SHA1: {
        size_t o = 0; /* "AB:CD:..." as well */
        for (size_t i = 0; out[i]; i++)
            if (out[i] != ':')
                out[o++] = (char)tolower((unsigned char)out[i]);
        out[o] = '\0';
        return is_hex(out, 40);
    }
    case IOC_CERT_SHA256: case IOC_FILE_SHA256: {
        size_t o = 0;
        for (size_t i = 0; out[i]; i++)
            if (out[i] != ':')
                out[o++] = (char)tolower((unsigned char)out[i]);
        out[o] = '\0';
        return is_hex(out, 64);
    }
    case IOC_JA4:
        lower(out);
        return n == 36 && out[10] == '_' && out[23] == '_';
    case IOC_EMAIL:
        lower(out);
        return strchr(out, '@') != NULL;
    case IOC_CERT_SUBJECT: case IOC_CERT_ISSUER:
        return true; /* as OpenSSL prints them, case kept */
    default:
        return false;
    }
}

static uint64_t str_key(enum ioc_type t, const char *v)
{
    return hash_bytes((uint64_t)t + 2, v, strlen(v));
}

/* --- building ---------------------------------------------------------- */

static bool push_ioc(struct intel_builder *b, const struct ioc *x)
{
    struct intel_set *s = b->s;
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 4096;
        struct ioc *ni = realloc(s->iocs, cap * sizeof(*ni));
        if (!ni) {
            b->oom = true;
            return false;
        }
        s->iocs = ni;
        s->cap = cap;
    }
    s->iocs[s->n++] = *x;
    if (x->type < IOC_TYPES)
        s->by_type[x->type]++;
    return true;
}

/* Inserts key -> index unless the key is there; the first feed to list an
 * indicator keeps it (the duplicate is counted). */
static bool table_put(struct intel_builder *b, struct table *t, uint64_t key,
                      const struct ioc *x, bool (*same)(const struct intel_set *,
                      uint32_t, const struct ioc *))
{
    if ((t->used + 1) * 2 > t->cap && !table_grow(t)) {
        b->oom = true;
        return false;
    }
    size_t j = key & (t->cap - 1);
    while (t->s[j].hash) {
        if (t->s[j].hash == key && same(b->s, t->s[j].index, x)) {
            b->s->duplicates++;
            return true;
        }
        j = (j + 1) & (t->cap - 1);
    }
    if (!push_ioc(b, x))
        return false;
    t->s[j].hash = key;
    t->s[j].index = (uint32_t)(b->s->n - 1);
    t->used++;
    return true;
}

static bool same_str(const struct intel_set *s, uint32_t i, const struct ioc *x)
{
    return s->iocs[i].type == x->type &&
           !strcmp(intel_text(s, s->iocs[i].value), intel_text(s, x->value));
}

static bool same_ip(const struct intel_set *s, uint32_t i, const struct ioc *x)
{
    return s->iocs[i].type == IOC_IP && s->iocs[i].prefix == x->prefix &&
           !strcmp(intel_text(s, s->iocs[i].value), intel_text(s, x->value));
}

bool intel_add(struct intel_builder *b, uint32_t feed, enum ioc_type type,
               const char *value, uint8_t severity, uint8_t confidence,
               const char *reference, const char *description)
{
    char norm[2048];
    struct ioc x = {
        .feed = feed, .type = (uint8_t)type,
        .severity = severity >= 1 && severity <= 4 ? severity : 2,
        .confidence = confidence <= 100 ? confidence : 100,
    };
    if (type == IOC_IP) {
        uint8_t addr[16];
        int family, plen;
        if (!parse_net(value, addr, &family, &plen))
            return false;
        char a[INET6_ADDRSTRLEN];
        inet_ntop(family == 4 ? AF_INET : AF_INET6, addr, a, sizeof(a));
        if (plen != (family == 4 ? 32 : 128))
            snprintf(norm, sizeof(norm), "%s/%d", a, plen);
        else
            snprintf(norm, sizeof(norm), "%s", a);
        x.prefix = (uint8_t)plen;
        x.value = text_add(b, norm);
        x.reference = reference && *reference ? text_add(b, reference) : 0;
        x.description = description && *description ? text_add(b, description) : 0;
        b->s->prefixes[family == 6][plen] = 1;
        return table_put(b, &b->s->ips, ip_key(addr, family, plen), &x, same_ip) &&
               !b->oom;
    }
    if (!normalise(type, value, norm, sizeof(norm)))
        return false;
    x.value = text_add(b, norm);
    x.reference = reference && *reference ? text_add(b, reference) : 0;
    x.description = description && *description ? text_add(b, description) : 0;
    return table_put(b, &b->s->strs, str_key(type, norm), &x, same_str) && !b->oom;
}

struct intel_set *intel_build(struct intel_builder *b)
{
    struct intel_set *s = b->oom ? NULL : b->s;
    if (!s)
        intel_set_free(b->s);
    free(b);
    if (s && !s->ips.cap && !table_grow(&s->ips)) {
        intel_set_free(s);
        return NULL;
    }
    if (s && !s->strs.cap && !table_grow(&s->strs)) {
        intel_set_free(s);
        return NULL;
    }
    return s;
}

void intel_set_free(struct intel_set *s)
{
    if (!s)
        return;
    free(s->text);
    free(s->iocs);
    free(s->ips.s);
    free(s->strs.s);
    free(s->feeds);
    free(s);
}

size_t intel_count(const struct intel_set *s) { return s->n; }

bool intel_holds(const struct intel_set *s, enum ioc_type t)
{
    return s && t < IOC_TYPES && s->by_type[t] != 0;
}
uint64_t intel_duplicates(const struct intel_set *s) { return s->duplicates; }

size_t intel_memory(const struct intel_set *s)
{
    return sizeof(*s) + s->text_cap + s->cap * sizeof(struct ioc) +
           (s->ips.cap + s->strs.cap) * sizeof(struct slot) +
           s->n_feeds * sizeof(uint32_t);
}

/* --- lookups ----------------------------------------------------------- */

const struct ioc *intel_match_ip(const struct intel_set *s,
                                 const uint8_t *addr, int family)
{
    int max = family == 4 ? 32 : 128;
    const uint8_t *present = s->prefixes[family == 6];
    for (int plen = max; plen >= 0; plen--) {
        if (!present[plen])
            continue;
        uint8_t m[16];
        mask_addr(addr, family, plen, m);
        uint64_t key = ip_key(m, family, plen);
        size_t j = key & (s->ips.cap - 1);
        while (s->ips.s[j].hash) {
            if (s->ips.s[j].hash == key) {
                const struct ioc *x = &s->iocs[s->ips.s[j].index];
                if (x->prefix == plen)
                    return x;
            }
            j = (j + 1) & (s->ips.cap - 1);
        }
    }
    return NULL;
}

static const struct ioc *lookup(const struct intel_set *s, enum ioc_type t,
                                const char *v)
{
    uint64_t key = str_key(t, v);
    size_t j = key & (s->strs.cap - 1);
    while (s->strs.s[j].hash) {
        if (s->strs.s[j].hash == key) {
            const struct ioc *x = &s->iocs[s->strs.s[j].index];
            if (x->type == t && !strcmp(intel_text(s, x->value), v))
                return x;
        }
        j = (j + 1) & (s->strs.cap - 1);
    }
    return NULL;
}

const struct ioc *intel_match(const struct intel_set *s, enum ioc_type t,
                              const char *value)
{
    if (!s || !s->n || !value || !*value)
        return NULL;
    return lookup(s, t, value);
}

const struct ioc *intel_match_domain(const struct intel_set *s,
                                     const char *name, bool *exact)
{
    if (!s || !s->n || !name || !*name)
        return NULL;
    char buf[512];
    snprintf(buf, sizeof(buf), "%s", name);
    lower(buf);
    size_t n = strlen(buf);
    if (n && buf[n - 1] == '.')
        buf[--n] = '\0';
    for (const char *p = buf; p && *p; ) {
        const struct ioc *x = lookup(s, IOC_DOMAIN, p);
        if (x) {
            *exact = p == buf;
            return x;
        }
        p = strchr(p, '.');
        if (p)
            p++;
    }
    return NULL;
}
