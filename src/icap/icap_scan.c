/* icap_scan.c -- content detection on worker threads (see icap_scan.h). */
#include "icap/icap_scan.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <zlib.h>

#include "proto/http.h"
#include "util/counters.h"
#include "util/digest.h"

#define MAX_WORKERS 64
#define RULES_CHECK_USEC 5000000u /* how often rule files are looked at */

/* A worker's inflate state and output buffer, kept between jobs. */
struct inflater {
    z_stream z;
    bool ready;
    uint8_t *buf;
    size_t cap, len;
    uint64_t total;          /* inflated bytes, kept or not */
};

struct worker {
    struct icap_scan *pool;
    struct inflater inf;
    pthread_t thread;
    struct content_engine *e;
    uint64_t gen;                  /* the reload generation its rules have */
    struct content_stats snap;     /* e's counters after its last job */
};

struct icap_scan {
    struct content_config cfg;
    unsigned n;
    struct worker w[MAX_WORKERS];
    struct content_engine *inline_e; /* no workers: scans in the caller */
    struct inflater inline_inf;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    struct icap_scan_job *head, *tail; /* pending */
    struct icap_scan_job *done, *done_tail;
    unsigned queued;
    bool stopping;
    uint64_t want_gen;             /* reloads asked for */
    uint64_t generation;           /* reloads that compiled */
    int efd;
    char path[CONTENT_PATH_MAX];   /* the rules in use, for change checks */
    uint64_t rules_sig, rules_checked;
    struct icap_scan_stats st;
};

static bool keep_inflated(struct inflater *f, const uint8_t *d, size_t n, size_t max)
{
    f->total += n;
    size_t room = f->len < max ? max - f->len : 0;
    if (n > room)
        n = room;
    if (f->len + n > f->cap) {
        size_t cap = f->cap ? f->cap : 65536;
        while (cap < f->len + n)
            cap *= 2;
        uint8_t *b = realloc(f->buf, cap);
        if (!b)
            return false;
        f->buf = b;
        f->cap = cap;
    }
    memcpy(f->buf + f->len, d, n);
    f->len += n;
    return true;
}

/* Inflates j's bytes into f->buf (gzip or zlib by header; "deflate" also
 * raw, as some servers send it). True when the stream ended cleanly. */
static bool inflate_body(struct inflater *f, const struct icap_scan_job *j)
{
    int wbits = j->encoding == HTTP_ENC_DEFLATE ? 15 : 15 + 32;
    f->len = 0;
    f->total = 0;
    if (!f->ready)
        f->ready = inflateInit2(&f->z, wbits) == Z_OK;
    else if (inflateReset2(&f->z, wbits) != Z_OK)
        return false;
    if (!f->ready)
        return false;
    uint8_t out[16384];
    bool raw_tried = false;
    f->z.next_in = (Bytef *)(uintptr_t)j->buf;
    f->z.avail_in = (uInt)j->len;
    for (;;) {
        f->z.next_out = out;
        f->z.avail_out = sizeof(out);
        int rc = inflate(&f->z, Z_NO_FLUSH);
        size_t got = sizeof(out) - f->z.avail_out;
        if (rc == Z_DATA_ERROR && j->encoding == HTTP_ENC_DEFLATE && !raw_tried &&
            !f->total && !got) {
            raw_tried = true;
            inflateReset2(&f->z, -15);
            f->z.next_in = (Bytef *)(uintptr_t)j->buf;
            f->z.avail_in = (uInt)j->len;
            continue;
        }
        if (got && !keep_inflated(f, out, got, j->decoded_max))
            return false;
        if (rc == Z_STREAM_END)
            return true;
        if ((rc != Z_OK && rc != Z_BUF_ERROR) || (rc == Z_BUF_ERROR && !got))
            return false; /* corrupt, or the input (a cut body) ran out */
        if (f->total > j->decoded_max + sizeof(out))
            return false; /* past the cap: what was kept is judged */
    }
}

static void run_job(struct content_engine *e, struct inflater *f,
                    struct icap_scan_job *j)
{
    const uint8_t *buf = j->buf;
    size_t len = j->len;
    uint64_t size = j->size;
    bool cut = j->truncated;
    j->decoded = j->decode_cut = false;
    if (j->encoding != HTTP_ENC_NONE) {
        bool whole = inflate_body(f, j);
        if (f->len) {
            j->decoded = true;
            j->decode_cut = !whole || f->total > f->len;
            buf = f->buf;
            len = f->len;
            size = f->total;
            cut = cut || j->decode_cut;
        }
    }
    j->file_size = size;
    struct file_hashes h;
    if (j->have_hashes && !(j->decoded && !cut))
        h = j->hashes;                 /* streamed over the bytes as sent */
    else if (j->decoded && cut)
        digest3_buffer(content_hash_mask(e), j->buf, j->len, &h);
    else
        digest3_buffer(content_hash_mask(e), buf, len, &h);
    content_inspect(e, buf, len, &h, !cut, &j->r);
    if (cut) /* typed from its beginning only */
        file_type_sniff(buf, len, size, &j->r.type);
}

static void inflater_free(struct inflater *f)
{
    if (f->ready)
        inflateEnd(&f->z);
    free(f->buf);
    memset(f, 0, sizeof(*f));
}

/* In the worker, before a job: the rules again when a reload was asked. */
static void maybe_reload(struct worker *w, uint64_t want)
{
    if (w->gen == want)
        return;
    w->gen = want;
    char err[512];
    bool ok = content_reload_rules(w->e, err, sizeof(err));
    struct icap_scan *p = w->pool;
    pthread_mutex_lock(&p->mu);
    if (!ok)
        p->st.rule_reload_failures++;
    else if (w == &p->w[0]) { /* one report and one new generation per reload */
        p->st.rule_reloads++;
        p->generation++;
    }
    pthread_mutex_unlock(&p->mu);
    if (!ok)
        fprintf(stderr, "nightjar-icap: YARA rules not reloaded, the previous ones "
                "stay: %s\n", err);
    else if (w == &p->w[0])
        fprintf(stderr, "nightjar-icap: YARA rules reloaded from %s\n", p->path);
}

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    struct icap_scan *p = w->pool;
    pthread_mutex_lock(&p->mu);
    for (;;) {
        while (!p->head && !p->stopping && w->gen == p->want_gen)
            pthread_cond_wait(&p->cv, &p->mu);
        uint64_t want = p->want_gen;
        if (w->gen != want) {
            pthread_mutex_unlock(&p->mu);
            maybe_reload(w, want);
            pthread_mutex_lock(&p->mu);
            continue;
        }
        struct icap_scan_job *j = p->head;
        if (!j) /* stopping, nothing left */
            break;
        p->head = j->next;
        if (!p->head)
            p->tail = NULL;
        p->queued--;
        pthread_mutex_unlock(&p->mu);
        run_job(w->e, &w->inf, j);
        pthread_mutex_lock(&p->mu);
        w->snap = *content_engine_stats(w->e);
        j->next = NULL;
        if (p->done_tail)
            p->done_tail->next = j;
        else
            p->done = j;
        p->done_tail = j;
        uint64_t one = 1;
        ssize_t r = write(p->efd, &one, sizeof(one));
        (void)r; /* an eventfd counter cannot overflow here */
    }
    pthread_mutex_unlock(&p->mu);
    return NULL;
}

struct icap_scan *icap_scan_new(const struct content_config *cfg, unsigned workers,
                                char *err, size_t errlen)
{
    struct icap_scan *p = calloc(1, sizeof(*p));
    if (!p) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    p->cfg = *cfg;
    p->efd = -1;
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->cv, NULL);
    if (workers > MAX_WORKERS)
        workers = MAX_WORKERS;
    if (!workers) {
        if (!(p->inline_e = content_engine_new(cfg, err, errlen)))
            goto fail;
        snprintf(p->path, sizeof(p->path), "%s", content_rules_path(p->inline_e));
    } else if ((p->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) < 0) {
        snprintf(err, errlen, "eventfd: out of file descriptors");
        goto fail;
    }
    for (unsigned i = 0; i < workers; i++) {
        struct worker *w = &p->w[i];
        w->pool = p;
        if (!(w->e = content_engine_new(cfg, err, errlen)))
            goto fail;
        if (pthread_create(&w->thread, NULL, worker_main, w) != 0) {
            content_engine_free(w->e);
            w->e = NULL;
            snprintf(err, errlen, "cannot start scan thread %u", i);
            goto fail;
        }
        p->n++;
        if (!i)
            snprintf(p->path, sizeof(p->path), "%s", content_rules_path(w->e));
    }
    p->rules_sig = content_rules_signature(p->path);
    return p;
fail:
    icap_scan_free(p);
    return NULL;
}

void icap_scan_free(struct icap_scan *p)
{
    if (!p)
        return;
    pthread_mutex_lock(&p->mu);
    p->stopping = true;
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
    for (unsigned i = 0; i < p->n; i++)
        pthread_join(p->w[i].thread, NULL);
    for (unsigned i = 0; i < MAX_WORKERS; i++) {
        content_engine_free(p->w[i].e);
        inflater_free(&p->w[i].inf);
    }
    inflater_free(&p->inline_inf);
    content_engine_free(p->inline_e);
    if (p->efd >= 0)
        close(p->efd);
    pthread_cond_destroy(&p->cv);
    pthread_mutex_destroy(&p->mu);
    free(p);
}

int icap_scan_fd(const struct icap_scan *p) { return p->efd; }
unsigned icap_scan_workers(const struct icap_scan *p) { return p->n; }

bool icap_scan_submit(struct icap_scan *p, struct icap_scan_job *job)
{
    p->st.jobs++;
    if (!p->n) {
        run_job(p->inline_e, &p->inline_inf, job);
        return true;
    }
    job->next = NULL;
    pthread_mutex_lock(&p->mu);
    if (p->tail)
        p->tail->next = job;
    else
        p->head = job;
    p->tail = job;
    if (++p->queued > p->st.queued_max)
        p->st.queued_max = p->queued;
    pthread_cond_signal(&p->cv);
    pthread_mutex_unlock(&p->mu);
    return false;
}

void icap_scan_collect(struct icap_scan *p,
                       void (*fn)(void *ctx, struct icap_scan_job *job), void *ctx)
{
    if (!p->n)
        return;
    uint64_t count;
    ssize_t r = read(p->efd, &count, sizeof(count));
    (void)r; /* EAGAIN: nothing new, the list says so too */
    pthread_mutex_lock(&p->mu);
    struct icap_scan_job *j = p->done;
    p->done = p->done_tail = NULL;
    pthread_mutex_unlock(&p->mu);
    while (j) {
        struct icap_scan_job *next = j->next;
        fn(ctx, j);
        j = next;
    }
}

void icap_scan_poll(struct icap_scan *p, uint64_t wall, bool reload)
{
    if (!reload && wall - p->rules_checked < RULES_CHECK_USEC)
        return;
    p->rules_checked = wall;
    uint64_t sig = content_rules_signature(p->path);
    if (!reload && sig == p->rules_sig)
        return;
    p->rules_sig = sig;
    if (!p->path[0])
        return;
    if (!p->n) {
        char err[512];
        if (content_reload_rules(p->inline_e, err, sizeof(err))) {
            p->st.rule_reloads++;
            p->generation++;
        } else {
            p->st.rule_reload_failures++;
            fprintf(stderr, "nightjar-icap: YARA rules not reloaded: %s\n", err);
        }
        return;
    }
    pthread_mutex_lock(&p->mu);
    p->want_gen++;
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
}

uint64_t icap_scan_generation(const struct icap_scan *p)
{
    pthread_mutex_t *mu = (pthread_mutex_t *)&p->mu;
    pthread_mutex_lock(mu);
    uint64_t g = p->generation;
    pthread_mutex_unlock(mu);
    return g;
}

unsigned icap_scan_hash_mask(const struct icap_scan *p)
{
    return content_hash_mask(p->n ? p->w[0].e : p->inline_e);
}

/* --- counters summed over the engines ------------------------------------ */

static struct content_stats sum(struct icap_scan *p)
{
    struct content_stats s = { 0 };
    if (!p->n)
        return *content_engine_stats(p->inline_e);
    pthread_mutex_lock(&p->mu);
    for (unsigned i = 0; i < p->n; i++) {
        const struct content_stats *w = &p->w[i].snap;
        s.scanned += w->scanned;
        s.bytes_scanned += w->bytes_scanned;
        s.scans_remembered += w->scans_remembered;
        s.clean_cache_replaced += w->clean_cache_replaced;
        s.matches += w->matches;
        s.matches_over_cap += w->matches_over_cap;
        s.scan_errors += w->scan_errors;
        s.scan_timeouts += w->scan_timeouts;
        s.rules = w->rules;
    }
    pthread_mutex_unlock(&p->mu);
    return s;
}

#define GETTER(field)                                                       \
    static uint64_t get_##field(const void *ctx)                            \
    {                                                                       \
        return sum((struct icap_scan *)ctx).field;                          \
    }
GETTER(rules)
GETTER(scanned)
GETTER(bytes_scanned)
GETTER(scans_remembered)
GETTER(clean_cache_replaced)
GETTER(matches)
GETTER(matches_over_cap)
GETTER(scan_errors)
GETTER(scan_timeouts)
#undef GETTER

/* written by the workers under the pool's lock: read under it too */
static uint64_t locked(struct icap_scan *p, const uint64_t *v)
{
    pthread_mutex_lock(&p->mu);
    uint64_t x = *v;
    pthread_mutex_unlock(&p->mu);
    return x;
}

static uint64_t get_rule_reloads(const void *ctx)
{
    struct icap_scan *p = (struct icap_scan *)ctx;
    return locked(p, &p->st.rule_reloads);
}

static uint64_t get_rule_reload_failures(const void *ctx)
{
    struct icap_scan *p = (struct icap_scan *)ctx;
    return locked(p, &p->st.rule_reload_failures);
}

void icap_scan_counters(struct icap_scan *p, struct counters *r)
{
    counters_fn(r, "content.yara_rules", get_rules, p);
    counters_fn(r, "content.scans", get_scanned, p);
    counters_fn(r, "content.bytes_scanned", get_bytes_scanned, p);
    counters_fn(r, "content.scans_remembered", get_scans_remembered, p);
    counters_fn(r, "content.clean_cache_replaced", get_clean_cache_replaced, p);
    counters_fn(r, "content.matches", get_matches, p);
    counters_fn(r, "content.matches_over_cap", get_matches_over_cap, p);
    counters_fn(r, "content.scan_errors", get_scan_errors, p);
    counters_fn(r, "content.scan_timeouts", get_scan_timeouts, p);
    counters_u64(r, "icap.scan.jobs", &p->st.jobs);
    counters_u64(r, "icap.scan.queued_max", &p->st.queued_max);
    counters_fn(r, "icap.scan.rule_reloads", get_rule_reloads, p);
    counters_fn(r, "icap.scan.rule_reload_failures", get_rule_reload_failures, p);
}
