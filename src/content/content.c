/* content.c -- hashes, types, YARA and the file store (see content.h).
 *
 * Types: the built-in table (typetable.c) first; then plain text and bytes
 * as random as compressed or encrypted data ("data", no libmagic needed);
 * libmagic only for what is left, with its answers remembered by SHA-256. Digests: the ones
 * files.hashes chooses ("auto": SHA-256, plus MD5/SHA-1 while a loaded
 * feed holds such indicators), all in one pass over the bytes. */
#include "content/content.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <magic.h>

#include "content/typetable.h"
#include "util/table_mem.h"
#include "util/text.h"
#include <yara.h>

/* libmagic costs a quarter to two milliseconds a call on text; the same
 * file (a site's script, an update) comes by again and again, so types
 * are remembered by SHA-256 in a small direct-mapped table. */
#define TYPE_CACHE 1024
#define MAGIC_BYTES 8192 /* what libmagic looks at: headers, not bodies */
/* Files the rules found nothing in, by SHA-256 and length: the same bytes
 * come by again (an update, a library every page loads, one payload to
 * every victim), and the same rules find nothing in them again. One table
 * for the process (every worker's engine, the ICAP server's), under a
 * lock taken once a file; an entry names the rules it was scanned with
 * (their path and content_rules_signature when loaded), so other rules,
 * or the same ones changed and reloaded, scan again. Only a clean, whole
 * scan is remembered: a match is scanned again, so its alert has its
 * strings. */
#define CLEAN_CACHE 16384
/* Both tables are read before they are written (a lookup, then the answer
 * put in its slot), so they come from table_mem_alloc, as the sensor's
 * other such tables do: as calloc'd or static memory every first write to
 * a page would interrupt every other worker (util/table_mem.h). */

/* libyara's set-up and tear-down (yr_initialize's count, the compiler,
 * yr_finalize) are not thread-safe, and engines are made and freed on
 * several threads (each worker its own); scanning with one's own rules
 * and scanner is. */
static pthread_mutex_t yara_lock = PTHREAD_MUTEX_INITIALIZER;

struct type_entry {
    uint8_t sha256[32];
    bool used;
    char magic[160];
    char mime[96];
};

struct clean_entry {
    uint8_t sha256[32];
    uint64_t len;              /* 0: empty slot (nothing to scan in 0 bytes) */
    uint64_t rules_id;         /* the engine's when it scanned them */
};

static struct clean_entry *clean_cache; /* while engines exist */
static unsigned clean_users;           /* engines */
static pthread_mutex_t clean_lock = PTHREAD_MUTEX_INITIALIZER;

struct scan_ctx {
    struct content_engine *e;
    struct content_result *r;          /* the scan's result */
};

struct content_engine {
    struct content_config cfg;
    struct type_entry *types;          /* TYPE_CACHE */
    bool holds_clean;                  /* counted in clean_users */
    YR_RULES *rules;
    uint64_t rules_id;                 /* what clean_cache knows them by */
    YR_SCANNER *scanner;               /* made once per rules, reused by every scan */
    struct scan_ctx scan;              /* the scanner's callback data */
    unsigned hash_mask;                /* what content_hash_mask() says */
    bool hash_auto;                    /* files.hashes "auto" */
    struct digest3 digests;            /* contexts for content_digest() */
    magic_t magic_desc, magic_mime;
    struct content_stats st;
};

struct compile_ctx {
    char *err;
    size_t errlen;
    int errors;
};

static void compile_cb(int level, const char *file, int line,
                       const YR_RULE *rule, const char *msg, void *ud)
{
    struct compile_ctx *c = ud;
    (void)rule;
    if (level != YARA_ERROR_LEVEL_ERROR || c->errors++)
        return;
    snprintf(c->err, c->errlen, "YARA rules: %s:%d: %s",
             file ? file : "?", line, msg);
}

static bool is_rule_file(const char *name)
{
    const char *dot = strrchr(name, '.');
    return dot && (!strcmp(dot, ".yar") || !strcmp(dot, ".yara"));
}

static int name_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static bool add_rule_file(YR_COMPILER *cc, const char *path,
                          struct compile_ctx *ctx)
{
    FILE *fp = fopen(path, "r");
    if (!fp) {
        snprintf(ctx->err, ctx->errlen, "YARA rules: %s: %s", path,
                 strerror(errno));
        return false;
    }
    /* the namespace is the file name, so rules of two files may share names */
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    int errors = yr_compiler_add_file(cc, fp, base, path);
    fclose(fp);
    return errors == 0;
}

/* A directory: every *.yar / *.yara in it, in name order. */
static bool add_rule_dir(YR_COMPILER *cc, const char *dir,
                         struct compile_ctx *ctx, unsigned *files)
{
    DIR *d = opendir(dir);
    if (!d) {
        snprintf(ctx->err, ctx->errlen, "YARA rules: %s: %s", dir, strerror(errno));
        return false;
    }
    char *names[1024];
    size_t n = 0;
    struct dirent *de;
    while ((de = readdir(d)) && n < 1024)
        if (is_rule_file(de->d_name))
            names[n++] = strdup(de->d_name);
    closedir(d);
    qsort(names, n, sizeof(names[0]), name_cmp);
    bool ok = true;
    for (size_t i = 0; i < n; i++) {
        char path[CONTENT_PATH_MAX * 2];
        snprintf(path, sizeof(path), "%s/%s", dir, names[i] ? names[i] : "");
        if (ok && names[i])
            ok = add_rule_file(cc, path, ctx);
        free(names[i]);
    }
    *files = (unsigned)n;
    return ok;
}

/* Compiles the rules at e->cfg.yara_path into *out. */
static bool compile_rules(struct content_engine *e, YR_RULES **out, char *err,
                          size_t errlen)
{
    struct compile_ctx ctx = { err, errlen, 0 };
    YR_COMPILER *cc = NULL;
    if (yr_compiler_create(&cc) != ERROR_SUCCESS) {
        snprintf(err, errlen, "YARA: cannot create a compiler");
        return false;
    }
    yr_compiler_set_callback(cc, compile_cb, &ctx);
    struct stat sb;
    bool ok;
    unsigned files = 1;
    if (stat(e->cfg.yara_path, &sb) != 0) {
        snprintf(err, errlen, "YARA rules: %s: %s", e->cfg.yara_path,
                 strerror(errno));
        ok = false;
    } else if (S_ISDIR(sb.st_mode)) {
        ok = add_rule_dir(cc, e->cfg.yara_path, &ctx, &files);
        if (ok && !files) {
            snprintf(err, errlen, "YARA rules: no *.yar or *.yara file in %s",
                     e->cfg.yara_path);
            ok = false;
        }
    } else {
        ok = add_rule_file(cc, e->cfg.yara_path, &ctx);
    }
    if (ok && yr_compiler_get_rules(cc, out) != ERROR_SUCCESS) {
        snprintf(err, errlen, "YARA: out of memory compiling rules");
        ok = false;
    }
    yr_compiler_destroy(cc);
    return ok;
}

static int scan_cb(YR_SCAN_CONTEXT *ctx, int message, void *data, void *ud);

/* One scanner for the engine's rules: yr_rules_scan_mem() would make and
 * free one (its match arrays, its object table) on every scan. An engine
 * is used by one thread at a time, and so is its scanner. The flags: fast
 * mode (a string's first match is enough), and no try/catch -- with it,
 * libyara installs a SIGSEGV/SIGBUS handler around every scan (sigaction
 * and pthread_sigmask each call) to survive a memory-mapped file that
 * shrinks under it; every buffer scanned here is our own heap memory
 * (read, decoded or reassembled into it), never a mapped file. */
static YR_SCANNER *make_scanner(struct content_engine *e, YR_RULES *rules)
{
    YR_SCANNER *sc = NULL;
    if (yr_scanner_create(rules, &sc) != ERROR_SUCCESS)
        return NULL;
    yr_scanner_set_flags(sc, SCAN_FLAGS_FAST_MODE | SCAN_FLAGS_NO_TRYCATCH);
    yr_scanner_set_timeout(sc, (int)e->cfg.scan_timeout_sec);
    yr_scanner_set_callback(sc, scan_cb, &e->scan);
    return sc;
}

/* Compiled rules, shared by the engines that load the same ones (every
 * worker's): compiled once and scanned by each engine with its own
 * scanner, which libyara allows -- with many rules, compiling them is
 * most of an engine's start. Engines made later find them by path and
 * signature; a reload compiles anew (an included file may have changed
 * under an unchanged signature). Under yara_lock. */
struct shared_rules {
    struct shared_rules *next;
    YR_RULES *rules;
    uint64_t id;
    char path[CONTENT_PATH_MAX];
    unsigned refs;
};

static struct shared_rules *shared_rules;

/* One user fewer of rules from this list; the last destroys them. */
static void rules_put(YR_RULES *rules)
{
    for (struct shared_rules **pp = &shared_rules; *pp; pp = &(*pp)->next) {
        struct shared_rules *sr = *pp;
        if (sr->rules != rules)
            continue;
        if (--sr->refs)
            return;
        *pp = sr->next;
        yr_rules_destroy(sr->rules);
        free(sr);
        return;
    }
}

/* e's rules: the ones another engine loaded from the same path with the
 * same signature (share), else compiled now. Under yara_lock. */
static bool load_rules(struct content_engine *e, bool share, char *err, size_t errlen)
{
    /* before they are read: a change while compiling is a new signature
     * at the next reload, never a table entry of the old rules' */
    uint64_t id = (content_rules_signature(e->cfg.yara_path) ^
                   fnv1a_str(FNV1A_SEED, e->cfg.yara_path)) | 1;
    struct shared_rules *sr = shared_rules;
    while (share && sr && (sr->id != id || strcmp(sr->path, e->cfg.yara_path)))
        sr = sr->next;
    bool shared = share && sr;
    if (!shared) {
        YR_RULES *rules = NULL;
        if (!(sr = calloc(1, sizeof(*sr)))) {
            snprintf(err, errlen, "out of memory");
            return false;
        }
        if (!compile_rules(e, &rules, err, errlen)) {
            free(sr);
            return false;
        }
        *sr = (struct shared_rules){ shared_rules, rules, id, "", 0 };
        snprintf(sr->path, sizeof(sr->path), "%s", e->cfg.yara_path);
        shared_rules = sr;
    }
    sr->refs++;
    YR_SCANNER *sc = make_scanner(e, sr->rules);
    if (!sc) {
        rules_put(sr->rules);
        snprintf(err, errlen, "YARA: out of memory making a scanner");
        return false;
    }
    if (e->scanner)
        yr_scanner_destroy(e->scanner);
    if (e->rules)
        rules_put(e->rules);
    e->rules = sr->rules;
    e->scanner = sc;
    e->rules_id = id;
    e->st.rules_shared = shared;
    e->st.rules = 0;
    YR_RULE *r;
    yr_rules_foreach(e->rules, r) e->st.rules++;
    return true;
}

bool content_reload_rules(struct content_engine *e, char *err, size_t errlen)
{
    if (!e->cfg.yara_path[0])
        return true;
    pthread_mutex_lock(&yara_lock);
    bool ok = load_rules(e, false, err, errlen);
    pthread_mutex_unlock(&yara_lock);
    return ok;
}

/* size, modification time and name of one file, folded into h */
static uint64_t fold_stat(uint64_t h, const char *path, const char *name)
{
    struct stat sb;
    if (stat(path, &sb) != 0)
        return h * 31 + 7;
    h = (h ^ (uint64_t)sb.st_size) * 1099511628211ull;
    h = (h ^ (uint64_t)sb.st_mtim.tv_sec) * 1099511628211ull;
    h = (h ^ (uint64_t)sb.st_mtim.tv_nsec) * 1099511628211ull;
    return (h ^ fnv1a_str(FNV1A_SEED, name)) * 1099511628211ull;
}

uint64_t content_rules_signature(const char *path)
{
    if (!path[0])
        return 0;
    uint64_t h = fold_stat(1469598103934665603ull, path, "");
    DIR *d = opendir(path);
    if (!d)
        return h;
    struct dirent *de;
    while ((de = readdir(d)))
        if (is_rule_file(de->d_name)) {
            char f[CONTENT_PATH_MAX * 2];
            snprintf(f, sizeof(f), "%s/%s", path, de->d_name);
            h += fold_stat(0, f, de->d_name); /* any order */
        }
    closedir(d);
    return h;
}

const char *content_rules_path(const struct content_engine *e)
{
    return e->cfg.yara_path;
}

static bool open_magic(struct content_engine *e, char *err, size_t errlen)
{
    e->magic_desc = magic_open(MAGIC_NONE | MAGIC_NO_CHECK_COMPRESS);
    e->magic_mime = magic_open(MAGIC_MIME_TYPE | MAGIC_NO_CHECK_COMPRESS);
    if (!e->magic_desc || !e->magic_mime || magic_load(e->magic_desc, NULL) ||
        magic_load(e->magic_mime, NULL)) {
        snprintf(err, errlen, "libmagic: cannot load the magic database: %s",
                 e->magic_desc ? magic_error(e->magic_desc) : "out of memory");
        return false;
    }
    return true;
}

static bool check_store(const char *dir, char *err, size_t errlen)
{
    if (mkdir(dir, 0750) != 0 && errno != EEXIST) {
        snprintf(err, errlen, "file store %s: %s", dir, strerror(errno));
        return false;
    }
    if (access(dir, W_OK | X_OK) != 0) {
        snprintf(err, errlen, "file store %s: not writable: %s", dir,
                 strerror(errno));
        return false;
    }
    return true;
}

#ifndef NIGHTJAR_RULES_DIR
#define NIGHTJAR_RULES_DIR "/usr/local/share/nightjar/rules"
#endif

/* "default" found no rules: said once a process, on stderr -- a sensor
 * installed without its rules, or a binary copied away from its tree,
 * would otherwise scan nothing and say nothing. */
static void no_default_rules(const char *beside)
{
    static bool said;
    pthread_mutex_lock(&yara_lock);
    if (!said)
        fprintf(stderr, "nightjar: yara.rules default: no rules in %s nor in %s: "
                "YARA is off (--yara DIR, or --yara none to say so)\n",
                NIGHTJAR_RULES_DIR, beside);
    said = true;
    pthread_mutex_unlock(&yara_lock);
}

/* yara.rules "default": the installed rules (NIGHTJAR_RULES_DIR), else the
 * rules/ directory of the source tree whose build/ the program runs from;
 * none found: no YARA, and a warning. "none" or "": no YARA. Anything
 * else: that path. */
static void rules_path(const char *setting, char *out, size_t n)
{
    struct stat sb;
    out[0] = '\0';
    if (!setting[0] || !strcmp(setting, "none"))
        return;
    if (strcmp(setting, "default") != 0) {
        snprintf(out, n, "%s", setting);
        return;
    }
    if (stat(NIGHTJAR_RULES_DIR, &sb) == 0) {
        snprintf(out, n, "%s", NIGHTJAR_RULES_DIR);
        return;
    }
    char exe[CONTENT_PATH_MAX - 16];
    ssize_t len = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
    char *slash = NULL;
    if (len > 0) {
        exe[len] = '\0';
        slash = strrchr(exe, '/');
    }
    if (!slash) {
        no_default_rules("the program's directory (unknown)");
        return;
    }
    *slash = '\0';
    char dir[CONTENT_PATH_MAX];
    snprintf(dir, sizeof(dir), "%s/../rules", exe);
    if (stat(dir, &sb) == 0 && S_ISDIR(sb.st_mode))
        snprintf(out, n, "%s", dir);
    else
        no_default_rules(dir);
}

/* The engine's type cache, and a hold on the process's clean_cache (made
 * by the first engine, freed with the last). */
static bool tables_new(struct content_engine *e)
{
    e->types = table_mem_alloc(TYPE_CACHE, sizeof(*e->types));
    pthread_mutex_lock(&clean_lock);
    if (!clean_cache)
        clean_cache = table_mem_alloc(CLEAN_CACHE, sizeof(*clean_cache));
    e->holds_clean = clean_cache != NULL;
    clean_users += e->holds_clean;
    pthread_mutex_unlock(&clean_lock);
    return e->types && e->holds_clean;
}

static void tables_free(struct content_engine *e)
{
    table_mem_free(e->types, TYPE_CACHE, sizeof(*e->types));
    e->types = NULL;
    pthread_mutex_lock(&clean_lock);
    if (e->holds_clean && !--clean_users) {
        table_mem_free(clean_cache, CLEAN_CACHE, sizeof(*clean_cache));
        clean_cache = NULL;
    }
    e->holds_clean = false;
    pthread_mutex_unlock(&clean_lock);
}

struct content_engine *content_engine_new(const struct content_config *cfg,
                                          char *err, size_t errlen)
{
    struct content_engine *e = calloc(1, sizeof(*e));
    if (!e) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    e->cfg = *cfg;
    rules_path(cfg->yara_path, e->cfg.yara_path, sizeof(e->cfg.yara_path));
    /* "auto" (or unset): SHA-256, and MD5/SHA-1 as content_set_feed_hashes()
     * says; until a front end says, all three (ICAP and the mail relay
     * never say: they keep every digest) */
    e->hash_auto = !cfg->hashes[0] || !strcasecmp(cfg->hashes, "auto");
    e->hash_mask = e->hash_auto ? DIGEST_ALL : digest_mask_parse(cfg->hashes);
    if (!e->hash_mask) {
        snprintf(err, errlen, "files.hashes: '%s' is not auto or a list of "
                 "md5, sha1, sha256", cfg->hashes);
        free(e);
        return NULL;
    }
    if (!tables_new(e)) {
        snprintf(err, errlen, "out of memory");
        tables_free(e);
        free(e);
        return NULL;
    }
    pthread_mutex_lock(&yara_lock);
    if (yr_initialize() != ERROR_SUCCESS) {
        pthread_mutex_unlock(&yara_lock);
        snprintf(err, errlen, "YARA: cannot initialise libyara");
        tables_free(e);
        free(e);
        return NULL;
    }
    bool ok = true;
    if (e->cfg.yara_path[0])
        ok = load_rules(e, true, err, errlen);
    pthread_mutex_unlock(&yara_lock);
    if (ok && cfg->magic)
        ok = open_magic(e, err, errlen);
    if (ok && cfg->filestore[0] && !(e->hash_mask & (1u << DIGEST_SHA256))) {
        snprintf(err, errlen, "the file store names files by SHA-256: "
                 "files.hashes must include sha256");
        ok = false;
    }
    if (ok && cfg->filestore[0])
        ok = check_store(cfg->filestore, err, errlen);
    if (!ok) {
        content_engine_free(e);
        return NULL;
    }
    return e;
}

void content_engine_free(struct content_engine *e)
{
    if (!e)
        return;
    if (e->magic_desc)
        magic_close(e->magic_desc);
    if (e->magic_mime)
        magic_close(e->magic_mime);
    digest3_free(&e->digests);
    pthread_mutex_lock(&yara_lock);
    if (e->scanner)
        yr_scanner_destroy(e->scanner);
    if (e->rules)
        rules_put(e->rules);
    yr_finalize();
    pthread_mutex_unlock(&yara_lock);
    tables_free(e);
    free(e);
}

bool content_has_rules(const struct content_engine *e)
{
    return e && e->rules;
}

unsigned content_hash_mask(const struct content_engine *e)
{
    return e->hash_mask;
}

bool content_hashes_auto(const struct content_engine *e)
{
    return e->hash_auto;
}

void content_set_feed_hashes(struct content_engine *e, unsigned mask)
{
    if (e->hash_auto)
        e->hash_mask = (1u << DIGEST_SHA256) |
                       (mask & ((1u << DIGEST_MD5) | (1u << DIGEST_SHA1)));
}

/* One pass over buf (digest3_all), with contexts made once for the engine
 * (a one-shot EVP_Digest per algorithm would read buf once per digest and
 * make a context each time). */
void content_digest(struct content_engine *e, const uint8_t *buf, size_t len,
                    struct file_hashes *out)
{
    if (!digest3_begin(&e->digests, e->hash_mask)) {
        digest3_buffer(e->hash_mask, buf, len, out);
        return;
    }
    digest3_all(&e->digests, buf, len, out);
}

const struct content_stats *content_engine_stats(const struct content_engine *e)
{
    return &e->st;
}

static void copy_str(char *dst, size_t n, const char *src)
{
    snprintf(dst, n, "%s", src ? src : "");
}

/* libyara keeps matches in an arena where a YR_MATCH need not be aligned
 * (UBSan says so on Mimikatz_Strings): each is copied out before it is read,
 * instead of yr_string_matches_foreach's direct reads. */
static void record_strings(YR_SCAN_CONTEXT *ctx, YR_RULE *rule,
                           struct content_match *m)
{
    YR_STRING *s;
    yr_rule_strings_foreach(rule, s) {
        const YR_MATCH *p = ctx->matches[s->idx].head;
        while (p) {
            YR_MATCH match;
            memcpy(&match, p, sizeof(match));
            p = match.next;
            if (match.is_private)
                continue;
            if (m->n_strings >= CONTENT_MAX_STRINGS)
                return;
            copy_str(m->strings[m->n_strings].id,
                     sizeof(m->strings[0].id), s->identifier);
            m->strings[m->n_strings].offset = (uint64_t)match.offset;
            m->strings[m->n_strings].len = (uint32_t)match.match_length;
            m->n_strings++;
            break; /* the first match of each string is evidence enough */
        }
    }
}

static void record_meta(YR_RULE *rule, struct content_match *m)
{
    YR_META *meta;
    yr_rule_metas_foreach(rule, meta) {
        if (m->n_meta >= CONTENT_MAX_META)
            break;
        copy_str(m->meta[m->n_meta].key, sizeof(m->meta[0].key),
                 meta->identifier);
        if (meta->type == META_TYPE_STRING)
            copy_str(m->meta[m->n_meta].value, sizeof(m->meta[0].value),
                     meta->string);
        else if (meta->type == META_TYPE_BOOLEAN)
            copy_str(m->meta[m->n_meta].value, sizeof(m->meta[0].value),
                     meta->integer ? "true" : "false");
        else
            snprintf(m->meta[m->n_meta].value, sizeof(m->meta[0].value),
                     "%lld", (long long)meta->integer);
        m->n_meta++;
    }
}

static int scan_cb(YR_SCAN_CONTEXT *ctx, int message, void *data, void *ud)
{
    struct scan_ctx *s = ud;
    if (message == CALLBACK_MSG_TOO_MANY_MATCHES) {
        s->e->st.matches_over_cap++;
        return CALLBACK_CONTINUE;
    }
    if (message != CALLBACK_MSG_RULE_MATCHING)
        return CALLBACK_CONTINUE;
    s->e->st.matches++;
    if (s->r->n_matches >= CONTENT_MAX_MATCHES) {
        s->e->st.matches_over_cap++;
        return CALLBACK_CONTINUE;
    }
    YR_RULE *rule = data;
    struct content_match *m = &s->r->matches[s->r->n_matches++];
    memset(m, 0, sizeof(*m));
    copy_str(m->rule, sizeof(m->rule), rule->identifier);
    copy_str(m->ns, sizeof(m->ns), rule->ns ? rule->ns->name : "");
    const char *tag;
    size_t pos = 0;
    yr_rule_tags_foreach(rule, tag) {
        int w = snprintf(m->tags + pos, sizeof(m->tags) - pos, "%s%s",
                         pos ? " " : "", tag);
        if (w < 0 || (size_t)w >= sizeof(m->tags) - pos)
            break;
        pos += (size_t)w;
    }
    record_meta(rule, m);
    record_strings(ctx, rule, m);
    return CALLBACK_CONTINUE;
}

void content_scan(struct content_engine *e, const uint8_t *buf, size_t len,
                  struct content_result *r)
{
    r->n_matches = 0;
    r->scanned = r->scan_error = false;
    if (!e->scanner)
        return;
    e->scan = (struct scan_ctx){ e, r };
    int rc = yr_scanner_scan_mem(e->scanner, buf, len);
    r->scanned = true;
    e->st.scanned++;
    e->st.bytes_scanned += len;
    if (rc != ERROR_SUCCESS) {
        r->scan_error = true;
        e->st.scan_errors++;
        if (rc == ERROR_SCAN_TIMEOUT)
            e->st.scan_timeouts++;
    }
}

/* DIR/ab/ab12...: written to a temporary file, then linked into place, so
 * a file of that hash already there is never overwritten and a reader never
 * sees half a file. */
static void store(struct content_engine *e, const uint8_t *buf, size_t len,
                  struct content_result *r)
{
    char hex[65], sub[CONTENT_PATH_MAX + 8], path[CONTENT_PATH_MAX + 80],
        tmp[CONTENT_PATH_MAX + 32];
    hex_lower(r->h.sha256, 32, hex);
    snprintf(sub, sizeof(sub), "%s/%.2s", e->cfg.filestore, hex);
    snprintf(path, sizeof(path), "%s/%s", sub, hex);
    if (access(path, F_OK) == 0) {
        r->already_stored = true;
        e->st.already_stored++;
        return;
    }
    if (mkdir(sub, 0750) != 0 && errno != EEXIST) {
        e->st.store_errors++;
        return;
    }
    snprintf(tmp, sizeof(tmp), "%s/.tmp.XXXXXX", e->cfg.filestore);
    int fd = mkstemp(tmp);
    if (fd < 0) {
        e->st.store_errors++;
        return;
    }
    size_t off = 0;
    while (off < len) {
        ssize_t w = write(fd, buf + off, len - off);
        if (w <= 0 && errno != EINTR)
            break;
        if (w > 0)
            off += (size_t)w;
    }
    bool ok = off == len && close(fd) == 0;
    if (ok && link(tmp, path) == 0) {
        r->stored = true;
        e->st.stored++;
    } else if (ok && errno == EEXIST) {
        r->already_stored = true;
        e->st.already_stored++;
    } else {
        e->st.store_errors++;
    }
    unlink(tmp);
}

/* Plain text: no control bytes but the usual blanks in the first 4 KiB,
 * and none of the text-based formats whose type matters (PDF, RTF,
 * PostScript, scripts with #!, PHP, mail). libmagic spends up to two
 * milliseconds on such a file running its text regexes; the danger magic
 * is there for (an executable served as text) does not look like this. */
static bool looks_text(const uint8_t *b, size_t n, bool *ascii)
{
    /* text-based formats whose type matters are still asked about */
    static const char *const typed[] = { "%PDF-", "{\\rtf", "%!", "#!", "<?php",
                                         "MIME-Version:", NULL };
    for (int i = 0; typed[i]; i++) {
        size_t l = strlen(typed[i]);
        if (n >= l && !memcmp(b, typed[i], l))
            return false;
    }
    size_t m = n < 4096 ? n : 4096;
    *ascii = true;
    for (size_t i = 0; i < m; i++) {
        uint8_t c = b[i];
        if (c >= 0x80)
            *ascii = false;
        else if (c < 0x20 && c != '\t' && c != '\n' && c != '\r' &&
                 c != '\f' && c != 0x1b)
            return false;
    }
    return true;
}

/* The answer remembered for r's SHA-256, or NULL; *slot is where to
 * remember a new one (NULL without a SHA-256). */
static const struct type_entry *cached_type(struct content_engine *e,
                                            const struct content_result *r,
                                            struct type_entry **slot)
{
    *slot = NULL;
    if (!(r->h.mask & (1u << DIGEST_SHA256)))
        return NULL;
    uint32_t k;
    memcpy(&k, r->h.sha256, sizeof(k));
    struct type_entry *t = &e->types[k % TYPE_CACHE];
    if (t->used && !memcmp(t->sha256, r->h.sha256, 32))
        return t;
    *slot = t;
    return NULL;
}

static void ask_libmagic(struct content_engine *e, const uint8_t *buf, size_t n,
                         struct content_result *r)
{
    e->st.type_magic_calls++;
    copy_str(r->magic, sizeof(r->magic), magic_buffer(e->magic_desc, buf, n));
    /* nothing known: the MIME call would run every test again to say so */
    if (!strcmp(r->magic, "data")) {
        copy_str(r->mime, sizeof(r->mime), "application/octet-stream");
        return;
    }
    e->st.type_magic_calls++;
    copy_str(r->mime, sizeof(r->mime), magic_buffer(e->magic_mime, buf, n));
}

/* The table, then what needs no libmagic (plain text, random bytes), then
 * libmagic's answers by SHA-256, then libmagic. */
static void identify(struct content_engine *e, const uint8_t *buf, size_t len,
                     struct content_result *r)
{
    r->magic[0] = r->mime[0] = '\0';
    if (!e->magic_desc || !len)
        return;
    size_t n = len < MAGIC_BYTES ? len : MAGIC_BYTES;
    if (typetable_identify(buf, n, r->magic, sizeof(r->magic), r->mime,
                           sizeof(r->mime))) {
        e->st.type_table_hits++;
        return;
    }
    bool ascii;
    if (!e->cfg.magic_text && looks_text(buf, len, &ascii)) {
        e->st.text_untyped++;
        copy_str(r->magic, sizeof(r->magic), ascii ? "ASCII text" : "text");
        copy_str(r->mime, sizeof(r->mime), "text/plain");
        return;
    }
    /* compressed or encrypted: libmagic has nothing to read in it */
    if (file_bytes_look_random(buf, n)) {
        e->st.type_high_entropy++;
        copy_str(r->magic, sizeof(r->magic), "data");
        copy_str(r->mime, sizeof(r->mime), "application/octet-stream");
        return;
    }
    struct type_entry *slot;
    const struct type_entry *t = cached_type(e, r, &slot);
    if (t) {
        e->st.type_cache_hits++;
        memcpy(r->magic, t->magic, sizeof(r->magic));
        memcpy(r->mime, t->mime, sizeof(r->mime));
        return;
    }
    e->st.type_cache_misses++;
    ask_libmagic(e, buf, n, r);
    if (slot) {
        e->st.type_cache_replaced += slot->used;
        memcpy(slot->sha256, r->h.sha256, 32);
        memcpy(slot->magic, r->magic, sizeof(slot->magic));
        memcpy(slot->mime, r->mime, sizeof(slot->mime));
        slot->used = true;
    }
}

bool content_inspect_file(struct content_engine *e, const char *path,
                          size_t max_bytes, bool st, struct content_result *r)
{
    FILE *fp = fopen(path, "rb");
    if (!fp)
        return false;
    struct digest3 d = { { NULL, NULL, NULL }, 0 };
    uint8_t *buf = malloc(max_bytes ? max_bytes : 1);
    bool ok = buf && digest3_begin(&d, e->hash_mask);
    size_t kept = 0;
    uint64_t total = 0;
    uint8_t chunk[65536];
    size_t n;
    while (ok && (n = fread(chunk, 1, sizeof(chunk), fp)) > 0) {
        digest3_update(&d, chunk, n);
        size_t k = kept < max_bytes ? max_bytes - kept : 0;
        if (k > n)
            k = n;
        memcpy(buf + kept, chunk, k);
        kept += k;
        total += n;
    }
    ok = ok && !ferror(fp);
    fclose(fp);
    if (ok) {
        struct file_hashes h;
        digest3_end(&d, &h);
        content_inspect(e, buf, kept, &h, st && kept == total, r);
        if (kept < total) /* typed from its beginning only */
            file_type_sniff(buf, kept, total, &r->type);
    }
    digest3_free(&d);
    free(buf);
    return ok;
}

/* r's file's slot in clean_cache, or NULL (no SHA-256, nothing to scan,
 * no rules). */
static struct clean_entry *clean_slot(const struct content_engine *e,
                                      const struct content_result *r,
                                      size_t len)
{
    if (!e->scanner || !len || !(r->h.mask & (1u << DIGEST_SHA256)))
        return NULL;
    uint32_t k;
    memcpy(&k, r->h.sha256 + 4, sizeof(k));
    return &clean_cache[k % CLEAN_CACHE];
}

static bool clean_before(const struct content_engine *e, struct clean_entry *c,
                         const struct content_result *r, size_t len)
{
    pthread_mutex_lock(&clean_lock);
    bool hit = c->len == len && c->rules_id == e->rules_id &&
               !memcmp(c->sha256, r->h.sha256, 32);
    pthread_mutex_unlock(&clean_lock);
    return hit;
}

static void remember_clean(struct content_engine *e, struct clean_entry *c,
                           const struct content_result *r, size_t len)
{
    pthread_mutex_lock(&clean_lock);
    e->st.clean_cache_replaced += c->len != 0; /* another file's slot */
    memcpy(c->sha256, r->h.sha256, 32);
    c->len = len;
    c->rules_id = e->rules_id;
    pthread_mutex_unlock(&clean_lock);
}

/* content_scan, unless these bytes were scanned clean before. */
static void scan_file(struct content_engine *e, const uint8_t *buf, size_t len,
                      struct content_result *r)
{
    struct clean_entry *c = clean_slot(e, r, len);
    if (c && clean_before(e, c, r, len)) {
        r->n_matches = 0;
        r->scanned = true;
        r->scan_error = false;
        e->st.scans_remembered++;
        return;
    }
    uint64_t over_cap = e->st.matches_over_cap;
    content_scan(e, buf, len, r);
    if (c && r->scanned && !r->scan_error && !r->n_matches &&
        e->st.matches_over_cap == over_cap)
        remember_clean(e, c, r, len);
}

void content_inspect(struct content_engine *e, const uint8_t *buf,
                     size_t len, const struct file_hashes *known, bool st,
                     struct content_result *r)
{
    e->st.inspected++;
    r->stored = r->already_stored = false;
    if (known)
        r->h = *known;
    else
        content_digest(e, buf, len, &r->h);
    identify(e, buf, len, r);
    file_type_sniff(buf, len, 0, &r->type);
    scan_file(e, buf, len, r);
    if (st && e->cfg.filestore[0])
        store(e, buf, len, r);
}

const char *content_match_meta(const struct content_match *m, const char *k)
{
    for (unsigned i = 0; i < m->n_meta; i++)
        if (!strcmp(m->meta[i].key, k))
            return m->meta[i].value;
    return NULL;
}

uint32_t content_match_sid(const struct content_match *m)
{
    const char *sid = content_match_meta(m, "sid");
    if (sid && atol(sid) > 0)
        return (uint32_t)atol(sid);
    uint32_t h = fnv1a_str(fnv1a(fnv1a_str(FNV1A_SEED, m->ns), ":", 1), m->rule);
    return 9000000u + h % 1000000u;
}
