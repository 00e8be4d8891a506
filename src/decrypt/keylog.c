/* keylog.c -- NSS key log files and pcapng Decryption Secrets Blocks into
 * a table of secrets by client random. See keylog.h. */
#include "decrypt/keylog.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "util/counters.h"

#define KEYLOG_DEFAULT_MAX 65536
#define KEYLOG_MAX_FILES 8
#define KEYLOG_LINE_MAX 512
#define KEYLOG_RSA_MAX 4096
#define REFRESH_NSEC 10000000ll

struct followed {
    char *path;
    long long offset;        /* bytes of the file already parsed */
    char partial[KEYLOG_LINE_MAX];
    size_t partial_len;      /* an unfinished last line, kept for later */
    bool partial_overlong;
};

struct rsa_premaster {
    uint8_t prefix[8];
    uint8_t premaster[48];
};

struct keylog {
    struct keylog_entry *slots;  /* open addressing; empty: have == 0 */
    size_t cap, used, max_entries;
    struct rsa_premaster *rsa;
    size_t n_rsa;
    struct followed files[KEYLOG_MAX_FILES];
    size_t n_files;
    struct timespec last_refresh;
    struct keylog_stats st;
};

struct keylog *keylog_new(size_t max_entries)
{
    struct keylog *kl = calloc(1, sizeof(*kl));
    if (!kl)
        return NULL;
    kl->max_entries = max_entries ? max_entries : KEYLOG_DEFAULT_MAX;
    return kl;
}

void keylog_free(struct keylog *kl)
{
    if (!kl)
        return;
    for (size_t i = 0; i < kl->n_files; i++)
        free(kl->files[i].path);
    free(kl->slots);
    free(kl->rsa);
    free(kl);
}

size_t keylog_count(const struct keylog *kl) { return kl->used; }
const struct keylog_stats *keylog_stats(const struct keylog *kl) { return &kl->st; }

/* --- the table ----------------------------------------------------------- */

static size_t slot_of(const uint8_t cr[32], size_t cap)
{
    uint64_t h;
    memcpy(&h, cr, sizeof(h));  /* client randoms are random */
    return (size_t)(h * 0x9e3779b97f4a7c15ull) & (cap - 1);
}

static struct keylog_entry *probe(struct keylog_entry *slots, size_t cap,
                                  const uint8_t cr[32])
{
    for (size_t i = slot_of(cr, cap);; i = (i + 1) & (cap - 1))
        if (!slots[i].have || !memcmp(slots[i].client_random, cr, 32))
            return &slots[i];
}

static bool grow(struct keylog *kl)
{
    size_t cap = kl->cap ? kl->cap * 2 : 256;
    struct keylog_entry *s = calloc(cap, sizeof(*s));
    if (!s)
        return false;
    for (size_t i = 0; i < kl->cap; i++)
        if (kl->slots[i].have)
            *probe(s, cap, kl->slots[i].client_random) = kl->slots[i];
    free(kl->slots);
    kl->slots = s;
    kl->cap = cap;
    return true;
}

/* The entry of a client random, made when new; NULL past the cap. */
static struct keylog_entry *entry_for(struct keylog *kl, const uint8_t cr[32])
{
    if (kl->cap) {
        struct keylog_entry *e = probe(kl->slots, kl->cap, cr);
        if (e->have)
            return e;
    }
    if (kl->used >= kl->max_entries) {
        kl->st.entries_over_cap++;
        return NULL;
    }
    if ((kl->used + 1) * 4 > kl->cap * 3 && !grow(kl)) {
        kl->st.entries_over_cap++;
        return NULL;
    }
    struct keylog_entry *e = probe(kl->slots, kl->cap, cr);
    memcpy(e->client_random, cr, 32);
    kl->used++;
    return e;
}

const struct keylog_entry *keylog_find(struct keylog *kl,
                                       const uint8_t client_random[32])
{
    kl->st.lookups++;
    if (!kl->cap)
        return NULL;
    struct keylog_entry *e = probe(kl->slots, kl->cap, client_random);
    if (!e->have)
        return NULL;
    kl->st.hits++;
    return e;
}

bool keylog_find_rsa(const struct keylog *kl, const uint8_t enc_prefix[8],
                     uint8_t premaster[48])
{
    for (size_t i = 0; i < kl->n_rsa; i++)
        if (!memcmp(kl->rsa[i].prefix, enc_prefix, 8)) {
            memcpy(premaster, kl->rsa[i].premaster, 48);
            return true;
        }
    return false;
}

/* --- lines --------------------------------------------------------------- */

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Exactly 2*n hex digits into out[n]. */
static bool unhex(const char *s, size_t sl, uint8_t *out, size_t n)
{
    if (sl != 2 * n)
        return false;
    for (size_t i = 0; i < n; i++) {
        int hi = hexval(s[2 * i]), lo = hexval(s[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return false;
        out[i] = (uint8_t)(hi << 4 | lo);
    }
    return true;
}

static const struct {
    const char *label;
    int secret;          /* enum keylog_secret; -1: valid, not used */
} labels[] = {
    { "CLIENT_RANDOM", KL_MASTER },
    { "CLIENT_HANDSHAKE_TRAFFIC_SECRET", KL_CLIENT_HS },
    { "SERVER_HANDSHAKE_TRAFFIC_SECRET", KL_SERVER_HS },
    { "CLIENT_TRAFFIC_SECRET_0", KL_CLIENT_AP },
    { "SERVER_TRAFFIC_SECRET_0", KL_SERVER_AP },
    { "CLIENT_EARLY_TRAFFIC_SECRET", KL_CLIENT_EARLY },
    { "EXPORTER_SECRET", -1 },
    { "CLIENT_TRAFFIC_SECRET_N", -1 },  /* OpenSSL after a KeyUpdate: the */
    { "SERVER_TRAFFIC_SECRET_N", -1 },  /* next secrets are derived here */
    { "EARLY_EXPORTER_SECRET", -1 },
};

static int label_of(const char *s, size_t n)
{
    if (n > 5 && !memcmp(s, "QUIC_", 5)) { /* early QUIC stacks' names */
        s += 5;
        n -= 5;
    }
    for (size_t i = 0; i < sizeof(labels) / sizeof(labels[0]); i++)
        if (strlen(labels[i].label) == n && !memcmp(labels[i].label, s, n))
            return (int)i;
    return -2;
}

/* Splits at spaces into at most 3 fields; false unless exactly 3. */
static bool fields3(const char *l, size_t n, const char *f[3], size_t fl[3])
{
    size_t k = 0, i = 0;
    while (i < n) {
        while (i < n && (l[i] == ' ' || l[i] == '\t'))
            i++;
        if (i == n)
            break;
        if (k == 3)
            return false;
        f[k] = l + i;
        while (i < n && l[i] != ' ' && l[i] != '\t')
            i++;
        fl[k] = (size_t)(l + i - f[k]);
        k++;
    }
    return k == 3;
}

static bool add_rsa(struct keylog *kl, const char *a, size_t al, const char *b,
                    size_t bl)
{
    struct rsa_premaster r;
    if (!unhex(a, al, r.prefix, 8) || !unhex(b, bl, r.premaster, 48))
        return false;
    if (kl->n_rsa >= KEYLOG_RSA_MAX) {
        kl->st.entries_over_cap++;
        return true;
    }
    if (!kl->rsa && !(kl->rsa = calloc(KEYLOG_RSA_MAX, sizeof(*kl->rsa))))
        return true;
    kl->rsa[kl->n_rsa++] = r;
    kl->st.rsa_premasters++;
    return true;
}

static bool add_secret(struct keylog *kl, int secret, const char *cr_hex,
                       size_t crl, const char *sec_hex, size_t sl)
{
    uint8_t cr[32], sec[KEYLOG_SECRET_MAX];
    size_t n = sl / 2;
    if (sl % 2 || n < 16 || n > KEYLOG_SECRET_MAX || !unhex(cr_hex, crl, cr, 32) ||
        !unhex(sec_hex, sl, sec, n))
        return false;
    if (secret == KL_MASTER && n != 48)
        return false;
    struct keylog_entry *e = entry_for(kl, cr);
    if (!e)
        return true;
    memcpy(e->secret[secret], sec, n);
    e->len[secret] = (uint8_t)n;
    e->have |= (uint8_t)(1u << secret);
    kl->st.secrets++;
    return true;
}

static bool parse_line(struct keylog *kl, const char *l, size_t n)
{
    while (n && (l[n - 1] == '\r' || l[n - 1] == ' ' || l[n - 1] == '\t'))
        n--;
    if (n == 0 || l[0] == '#')
        return true;
    const char *f[3];
    size_t fl[3];
    if (!fields3(l, n, f, fl))
        return false;
    if (fl[0] == 3 && !memcmp(f[0], "RSA", 3))
        return add_rsa(kl, f[1], fl[1], f[2], fl[2]);
    int li = label_of(f[0], fl[0]);
    if (li == -2)
        return false;
    if (labels[li].secret < 0) {
        uint8_t cr[32];
        return unhex(f[1], fl[1], cr, 32);
    }
    return add_secret(kl, labels[li].secret, f[1], fl[1], f[2], fl[2]);
}

static void one_line(struct keylog *kl, const char *l, size_t n,
                     const char *origin)
{
    kl->st.lines++;
    if (parse_line(kl, l, n))
        return;
    kl->st.bad_lines++;
    /* once per process: with --workers N every worker reads the file */
    static atomic_bool warned;
    if (!atomic_exchange(&warned, true)) {
        fprintf(stderr, "nightjar: %s: a line is not in the NSS key log format "
                "(counted in keylog.bad_lines; reported once): %.*s\n",
                origin, (int)(n > 80 ? 80 : n), l);
    }
}

void keylog_add_text(struct keylog *kl, const char *text, size_t len,
                     const char *origin)
{
    size_t start = 0;
    for (size_t i = 0; i <= len; i++)
        if (i == len || text[i] == '\n') {
            if (i > start)
                one_line(kl, text + start, i - start, origin);
            start = i + 1;
        }
}

/* --- followed files ------------------------------------------------------ */

/* A chunk of a file: complete lines parsed, the rest kept for later. */
static void file_chunk(struct keylog *kl, struct followed *fw, const char *buf,
                       size_t n)
{
    size_t i = 0;
    while (i < n) {
        const char *nl = memchr(buf + i, '\n', n - i);
        size_t take = nl ? (size_t)(nl - (buf + i)) : n - i;
        if (fw->partial_len + take < sizeof(fw->partial)) {
            memcpy(fw->partial + fw->partial_len, buf + i, take);
            fw->partial_len += take;
        } else {
            fw->partial_overlong = true;
        }
        i += take;
        if (!nl)
            break;
        i++;
        if (fw->partial_overlong) {
            kl->st.lines++;
            kl->st.bad_lines++;
        } else if (fw->partial_len) {
            one_line(kl, fw->partial, fw->partial_len, fw->path);
        }
        fw->partial_len = 0;
        fw->partial_overlong = false;
    }
}

/* Reads from fw->offset to the end; the partial last line waits. */
static bool file_read(struct keylog *kl, struct followed *fw)
{
    struct stat sb;
    if (stat(fw->path, &sb) != 0)
        return false;
    if ((long long)sb.st_size == fw->offset)
        return false;
    if ((long long)sb.st_size < fw->offset) { /* truncated: start over */
        kl->st.truncations++;
        fw->offset = 0;
        fw->partial_len = 0;
        fw->partial_overlong = false;
    }
    FILE *fp = fopen(fw->path, "rb");
    if (!fp)
        return false;
    uint64_t before = kl->st.secrets + kl->st.rsa_premasters;
    if (fseeko(fp, (off_t)fw->offset, SEEK_SET) == 0) {
        char buf[8192];
        size_t n;
        while ((n = fread(buf, 1, sizeof(buf), fp)) > 0) {
            file_chunk(kl, fw, buf, n);
            fw->offset += (long long)n;
        }
    }
    fclose(fp);
    kl->st.files_read++;
    return kl->st.secrets + kl->st.rsa_premasters != before;
}

bool keylog_add_file(struct keylog *kl, const char *path, char *err,
                     size_t errlen)
{
    FILE *fp = fopen(path, "rb");
    if (!fp) {
        snprintf(err, errlen, "cannot open key log %s", path);
        return false;
    }
    fclose(fp);
    if (kl->n_files >= KEYLOG_MAX_FILES) {
        snprintf(err, errlen, "at most %d key log files", KEYLOG_MAX_FILES);
        return false;
    }
    struct followed *fw = &kl->files[kl->n_files];
    memset(fw, 0, sizeof(*fw));
    if (!(fw->path = strdup(path))) {
        snprintf(err, errlen, "out of memory");
        return false;
    }
    kl->n_files++;
    file_read(kl, fw);
    return true;
}

bool keylog_refresh(struct keylog *kl)
{
    if (!kl->n_files)
        return false;
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    long long dt = (long long)(now.tv_sec - kl->last_refresh.tv_sec) * 1000000000ll +
                   (now.tv_nsec - kl->last_refresh.tv_nsec);
    if (kl->last_refresh.tv_sec && dt < REFRESH_NSEC)
        return false;
    kl->last_refresh = now;
    bool got = false;
    for (size_t i = 0; i < kl->n_files; i++)
        if (file_read(kl, &kl->files[i])) {
            kl->st.reloads++;
            got = true;
        }
    return got;
}

/* --- pcapng -------------------------------------------------------------- */

#define PCAPNG_SHB 0x0A0D0D0Au
#define PCAPNG_DSB 0x0000000Au
#define PCAPNG_MAGIC 0x1A2B3C4Du
#define DSB_TLS_KEYLOG 0x544c534bu
#define DSB_MAX (16u << 20)

static uint32_t u32_as(const uint8_t b[4], bool swap)
{
    uint32_t v = (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 |
                 (uint32_t)b[3] << 24;
    return swap ? __builtin_bswap32(v) : v;
}

/* One DSB's body (after type and length): secrets type, length, data. */
static bool dsb_body(struct keylog *kl, FILE *fp, uint32_t body_len, bool swap,
                     const char *path)
{
    uint8_t h[8];
    if (body_len < 8 || fread(h, 1, 8, fp) != 8)
        return false;
    uint32_t type = u32_as(h, swap), n = u32_as(h + 4, swap);
    if (type == DSB_TLS_KEYLOG && n <= body_len - 8 && n > DSB_MAX)
        kl->st.dsb_over_cap++;
    if (type != DSB_TLS_KEYLOG || n > body_len - 8 || n > DSB_MAX)
        return fseeko(fp, (off_t)(body_len - 8), SEEK_CUR) == 0;
    char *text = malloc(n ? n : 1);
    if (!text || fread(text, 1, n, fp) != n) {
        free(text);
        return false;
    }
    keylog_add_text(kl, text, n, path);
    free(text);
    kl->st.dsb_blocks++;
    return fseeko(fp, (off_t)(body_len - 8 - n), SEEK_CUR) == 0;
}

int keylog_add_pcapng_secrets(struct keylog *kl, const char *path)
{
    struct stat sb;
    if (stat(path, &sb) != 0)
        return -1;
    if (!S_ISREG(sb.st_mode))
        return 0;      /* a pipe cannot be read ahead: its packets come once */
    FILE *fp = fopen(path, "rb");
    if (!fp)
        return -1;
    uint8_t h[12];
    bool swap = false, shb = false;
    uint64_t before = kl->st.dsb_blocks;
    while (fread(h, 1, 8, fp) == 8) {
        uint32_t type = u32_as(h, false);
        if (type == PCAPNG_SHB) {
            if (fread(h + 8, 1, 4, fp) != 4)
                break;
            uint32_t magic = u32_as(h + 8, false);
            if (magic != PCAPNG_MAGIC && __builtin_bswap32(magic) != PCAPNG_MAGIC)
                break;
            swap = magic != PCAPNG_MAGIC;
            shb = true;
            uint32_t len = u32_as(h + 4, swap);
            if (len < 16 || len % 4 || fseeko(fp, (off_t)(len - 12), SEEK_CUR))
                break;
            continue;
        }
        if (!shb)
            break;                           /* not pcapng: no SHB first */
        type = u32_as(h, swap);
        uint32_t len = u32_as(h + 4, swap);
        if (len < 12 || len % 4)
            break;
        uint32_t body = len - 12;
        if (type == PCAPNG_DSB) {
            if (!dsb_body(kl, fp, body, swap, path))
                break;
        } else if (fseeko(fp, (off_t)body, SEEK_CUR)) {
            break;
        }
        if (fseeko(fp, 4, SEEK_CUR))         /* trailing block length */
            break;
    }
    fclose(fp);
    return (int)(kl->st.dsb_blocks - before);
}

void keylog_counters(const struct keylog *kl, struct counters *r)
{
    const struct keylog_stats *st = &kl->st;
#define C(n) counters_u64(r, "keylog." #n, &st->n);
    C(lines) C(secrets) C(bad_lines) C(entries_over_cap) C(rsa_premasters)
    C(files_read) C(reloads) C(truncations) C(dsb_blocks) C(dsb_over_cap)
    C(lookups) C(hits)
#undef C
    /* every worker reads the same files: merged, one copy of these (and
     * of reloads: each worker reads a changed file again) */
    static const char *const copies[] = {
        "keylog.lines", "keylog.secrets", "keylog.bad_lines",
        "keylog.entries_over_cap", "keylog.rsa_premasters", "keylog.files_read",
        "keylog.reloads", "keylog.truncations", "keylog.dsb_blocks",
        "keylog.dsb_over_cap",
    };
    for (size_t i = 0; i < sizeof(copies) / sizeof(copies[0]); i++)
        counters_mark_copy(r, copies[i]);
}
