/* intel_feeds.c -- feed lifecycles and reloading (see intel_feeds.h). */
#include "intel/intel_feeds.h"

#include <dirent.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#define CHECK_USEC 5000000ull   /* how often feed files are stat()ed */

struct feed_slot {
    struct feed_spec spec;
    struct intel_set *set;          /* in use by the packet thread */
    struct intel_set *next;         /* built by the reload thread */
    bool next_failed;
    char next_error[256];
    struct feed_result next_result;
    double next_seconds;
    off_t size;
    int64_t mtime_ns;
    bool changed;                   /* to be re-read by this reload */
    struct intel_feed_status st;
};

struct intel_feeds {
    struct feed_slot feeds[INTEL_MAX_FEEDS];
    int n;
    bool reload_wanted;
    bool running;
    atomic_bool done;
    pthread_t thread;
    uint64_t last_check;
    uint64_t swaps;
    FILE *log;          /* where loads report problems; NULL: nowhere */
};

static double mono(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static bool file_stamp(const char *path, off_t *size, int64_t *mtime)
{
    struct stat sb;
    if (stat(path, &sb) != 0)
        return false;
    *size = sb.st_size;
    *mtime = (int64_t)sb.st_mtim.tv_sec * 1000000000 + sb.st_mtim.tv_nsec;
    return true;
}

/* Reads one feed into slot->next (or the error into next_error). */
static void load_one(struct feed_slot *s)
{
    double t0 = mono();
    struct intel_builder *b = intel_builder_new();
    s->next = NULL;
    s->next_failed = true;
    if (!b) {
        snprintf(s->next_error, sizeof(s->next_error), "out of memory");
        return;
    }
    file_stamp(s->spec.path, &s->size, &s->mtime_ns);
    if (!feed_load(b, &s->spec, &s->next_result, s->next_error,
                   sizeof(s->next_error))) {
        intel_builder_free(b);
        return;
    }
    s->next = intel_build(b);
    if (!s->next) {
        snprintf(s->next_error, sizeof(s->next_error), "out of memory");
        return;
    }
    s->next_failed = false;
    s->next_seconds = mono() - t0;
}

/* The packet thread: the new set goes in, the old one out. */
static void commit(struct intel_feeds *f, struct feed_slot *s, FILE *log)
{
    struct intel_feed_status *st = &s->st;
    st->loads++;
    if (s->next_failed) {
        st->failures++;
        snprintf(st->last_error, sizeof(st->last_error), "%s", s->next_error);
        if (log)
            fprintf(log, "nightjar: intel feed %s: %s; %s\n", st->name, s->next_error,
                    s->set ? "keeping the previous version" : "no indicators");
        return;
    }
    intel_set_free(s->set);
    s->set = s->next;
    s->next = NULL;
    f->swaps++;
    snprintf(st->format, sizeof(st->format), "%s", s->next_result.format);
    st->indicators = intel_count(s->set);
    st->invalid = s->next_result.invalid;
    st->unsupported = s->next_result.unsupported;
    st->duplicates = intel_duplicates(s->set);
    snprintf(st->unsupported_example, sizeof(st->unsupported_example), "%s",
             s->next_result.unsupported_example);
    st->last_error[0] = '\0';
    st->load_seconds = s->next_seconds;
    if (log && (s->next_result.invalid || s->next_result.unsupported))
        fprintf(log, "nightjar: intel feed %s (%s): %llu indicators; %llu lines not "
                "valid (e.g. '%s'); %llu entries of kinds nightjar does not use "
                "(e.g. %s)\n", st->name, st->format,
                (unsigned long long)st->indicators,
                (unsigned long long)s->next_result.invalid,
                s->next_result.invalid_example,
                (unsigned long long)s->next_result.unsupported,
                s->next_result.unsupported_example);
}

static bool add_slot(struct intel_feeds *f, const char *arg, char *err,
                     size_t errlen)
{
    if (f->n == INTEL_MAX_FEEDS) {
        snprintf(err, errlen, "more than %d intel feeds", INTEL_MAX_FEEDS);
        return false;
    }
    struct feed_slot *s = &f->feeds[f->n];
    memset(s, 0, sizeof(*s));
    if (!feed_spec_parse(arg, &s->spec, err, errlen))
        return false;
    memcpy(s->st.name, s->spec.name, sizeof(s->st.name));
    memcpy(s->st.path, s->spec.path, sizeof(s->st.path));
    f->n++;
    return true;
}

static bool add_dir(struct intel_feeds *f, const char *dir, char *err,
                    size_t errlen)
{
    DIR *d = opendir(dir);
    if (!d) {
        snprintf(err, errlen, "intel directory %s: cannot be read", dir);
        return false;
    }
    struct dirent *de;
    bool ok = true;
    while (ok && (de = readdir(d))) {
        if (de->d_name[0] == '.')
            continue;
        char path[FEED_PATH_MAX];
        snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
        struct stat sb;
        if (stat(path, &sb) != 0 || !S_ISREG(sb.st_mode))
            continue;
        char arg[FEED_PATH_MAX + 8];
        snprintf(arg, sizeof(arg), "auto:%s", path);
        ok = add_slot(f, arg, err, errlen);
    }
    closedir(d);
    return ok;
}

struct intel_feeds *intel_feeds_new(const char *const *specs, int n,
                                    const char *dir, FILE *log, char *err,
                                    size_t errlen)
{
    struct intel_feeds *f = calloc(1, sizeof(*f));
    if (!f) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    f->log = log;
    bool ok = true;
    for (int i = 0; ok && i < n; i++)
        ok = add_slot(f, specs[i], err, errlen);
    if (ok && dir && *dir)
        ok = add_dir(f, dir, err, errlen);
    for (int i = 0; ok && i < f->n; i++) {
        load_one(&f->feeds[i]);
        if (f->feeds[i].next_failed) {
            snprintf(err, errlen, "intel feed %s", f->feeds[i].next_error);
            ok = false;
        } else {
            commit(f, &f->feeds[i], f->log);
        }
    }
    if (!ok) {
        intel_feeds_free(f);
        return NULL;
    }
    return f;
}

static void *reload_thread(void *arg)
{
    struct intel_feeds *f = arg;
    for (int i = 0; i < f->n; i++)
        if (f->feeds[i].changed)
            load_one(&f->feeds[i]);
    atomic_store(&f->done, true);
    return NULL;
}

static void finish_reload(struct intel_feeds *f)
{
    pthread_join(f->thread, NULL);
    f->running = false;
    atomic_store(&f->done, false);
    for (int i = 0; i < f->n; i++)
        if (f->feeds[i].changed) {
            f->feeds[i].changed = false;
            commit(f, &f->feeds[i], f->log);
        }
}

static void start_reload(struct intel_feeds *f, bool all)
{
    int changed = 0;
    for (int i = 0; i < f->n; i++) {
        struct feed_slot *s = &f->feeds[i];
        off_t size;
        int64_t mtime;
        bool stamp = file_stamp(s->spec.path, &size, &mtime);
        s->changed = all || !stamp || size != s->size || mtime != s->mtime_ns;
        changed += s->changed;
    }
    if (!changed)
        return;
    atomic_store(&f->done, false);
    if (pthread_create(&f->thread, NULL, reload_thread, f) == 0)
        f->running = true;
}

void intel_feeds_poll(struct intel_feeds *f, uint64_t wall)
{
    if (!f)
        return;
    if (f->running) {
        if (atomic_load_explicit(&f->done, memory_order_acquire))
            finish_reload(f);
        return;
    }
    if (f->reload_wanted) {
        f->reload_wanted = false;
        f->last_check = wall;
        start_reload(f, true);
    } else if (wall >= f->last_check + CHECK_USEC) {
        f->last_check = wall;
        start_reload(f, false);
    }
}

void intel_feeds_request_reload(struct intel_feeds *f)
{
    if (f)
        f->reload_wanted = true;
}

void intel_feeds_wait(struct intel_feeds *f)
{
    if (f && f->running)
        finish_reload(f);
}

void intel_feeds_free(struct intel_feeds *f)
{
    if (!f)
        return;
    if (f->running) {
        pthread_join(f->thread, NULL);
        for (int i = 0; i < f->n; i++)
            intel_set_free(f->feeds[i].next);
    }
    for (int i = 0; i < f->n; i++)
        intel_set_free(f->feeds[i].set);
    free(f);
}

int intel_feeds_count(const struct intel_feeds *f) { return f ? f->n : 0; }

const struct intel_set *intel_feeds_set(const struct intel_feeds *f, int i)
{
    return f->feeds[i].set;
}

const struct intel_feed_status *intel_feeds_status(const struct intel_feeds *f,
                                                   int i)
{
    return &f->feeds[i].st;
}

uint64_t intel_feeds_total(const struct intel_feeds *f)
{
    uint64_t n = 0;
    for (int i = 0; f && i < f->n; i++)
        n += f->feeds[i].set ? intel_count(f->feeds[i].set) : 0;
    return n;
}

uint64_t intel_feeds_memory(const struct intel_feeds *f)
{
    uint64_t n = 0;
    for (int i = 0; f && i < f->n; i++)
        n += f->feeds[i].set ? intel_memory(f->feeds[i].set) : 0;
    return n;
}

uint64_t intel_feeds_swaps(const struct intel_feeds *f) { return f ? f->swaps : 0; }

bool intel_feeds_hold(const struct intel_feeds *f, enum ioc_type t)
{
    for (int i = 0; f && i < f->n; i++)
        if (intel_holds(f->feeds[i].set, t))
            return true;
    return false;
}
