/* contain.c -- containment through nftables sets with timeouts (see
 * contain.h for what it owns and what it must never do). */
#include "response/contain.h"

#include <jansson.h>
#include <nftables/libnftables.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <arpa/inet.h>

#include "output/eve_response.h"
#include "util/clock.h"

#define SEEN_MAX 1024           /* high incidents whose hosts were considered */
#define CHAINS 3

static const char *const chain_name[CHAINS] = {
    "contain-input", "contain-forward", "contain-output",
};
static const char *const chain_hook[CHAINS] = { "input", "forward", "output" };

enum host_state { H_FREE, H_PENDING, H_CONTAINED };

/* A host contained (or on its way), on the packet thread. */
struct host {
    uint8_t state, v;
    struct ip_addr addr;
    uint64_t incident;
    uint64_t since_usec;        /* traffic time it was decided */
    uint64_t expires_usec;      /* dry-run: traffic time; else the kernel's (wall) */
};

/* A high incident and how many of its hosts were considered already. */
struct seen {
    uint64_t id;
    uint8_t handled;
};

struct job {
    uint8_t v;
    struct ip_addr addr;
};

enum result_kind { R_ADDED, R_FAILED, R_GONE };

struct result {
    uint8_t kind, v;
    bool early;                 /* R_GONE: before its timeout (removed) */
    struct ip_addr addr;
    uint64_t wall;              /* when it was done or seen */
    uint64_t expires_wall;      /* R_ADDED: when the kernel drops it */
    char err[200];              /* R_FAILED */
};

/* An element the worker added and has not yet seen gone. */
struct alive {
    uint8_t v;
    struct ip_addr addr;
    uint64_t expires_wall;
};

/* the settings it uses; names are at most 64 bytes (config_validate) */
struct names {
    char family[8], table[65], set4[65], set6[65];
    uint32_t timeout;
    bool drop;
};

struct contain {
    struct names rs;
    struct home_net home, allow;
    struct eve *eve;
    bool dry_run, v4, v6;
    struct contain_runner runner;
    struct nft_ctx *nft;        /* the libnftables runner's */
    struct contain_stats st;

    /* packet thread */
    struct host *hosts;
    uint32_t n_hosts;           /* not free */
    struct seen seen[SEEN_MAX];
    uint64_t now;               /* latest traffic time */
    uint64_t next_due;          /* dry-run: the earliest expiry */
    uint32_t outstanding;       /* jobs queued, in work, or results not drained */

    /* between the threads, under mu */
    pthread_mutex_t mu;
    pthread_cond_t wake;        /* the worker: a job, or stop */
    struct job jobs[CONTAIN_QUEUE];
    uint32_t job_head, job_n;
    struct result *results;     /* CONTAIN_QUEUE + CONTAIN_HOSTS: never full */
    uint32_t res_head, res_n;
    atomic_uint res_ready;      /* res_n, read without the lock */
    bool stop, running;
    pthread_t thread;

    /* worker thread */
    struct alive *alive;
    uint32_t n_alive;
    uint64_t next_sweep;        /* wall */
    atomic_ulong sweeps;
};

static const char *set_of(const struct contain *c, uint8_t v)
{
    return v == 6 ? c->rs.set6 : c->rs.set4;
}

static void add_command(const struct contain *c, uint8_t v,
                        const struct ip_addr *a, char *buf, size_t len)
{
    char s[64];
    snprintf(buf, len, "add element %s %s %s { %s timeout %us }",
             c->rs.family, c->rs.table, set_of(c, v),
             ip_addr_str(a, v, s, sizeof(s)), c->rs.timeout);
}

/* ---- libnftables ---------------------------------------------------------- */

/* "Error: Could not process rule: File exists\nadd set ...\n    ^^^" ->
 * "Could not process rule: File exists (add set ...)" */
static void first_error(const char *e, char *err, size_t errlen)
{
    if (!e || !*e) {
        snprintf(err, errlen, "nftables refused the command");
        return;
    }
    if (!strncmp(e, "Error: ", 7))
        e += 7;
    size_t n = strcspn(e, "\n");
    const char *next = e[n] ? e + n + 1 : "";
    size_t m = strcspn(next, "\n");
    if (m && next[0] != ' ' && next[0] != '\t')
        snprintf(err, errlen, "%.*s (%.*s)", (int)n, e, (int)m, next);
    else
        snprintf(err, errlen, "%.*s", (int)n, e);
}

static int nft_lib_run(void *ctx, const char *cmds, bool json, const char **out,
                       char *err, size_t errlen)
{
    struct nft_ctx *n = ctx;
    unsigned flags = nft_ctx_output_get_flags(n);
    nft_ctx_output_set_flags(n, json ? flags | NFT_CTX_OUTPUT_JSON
                                     : flags & ~(unsigned)NFT_CTX_OUTPUT_JSON);
    int rc = nft_run_cmd_from_buffer(n, cmds);
    const char *o = nft_ctx_get_output_buffer(n);
    const char *e = nft_ctx_get_error_buffer(n);
    if (out)
        *out = o;
    if (rc)
        first_error(e, err, errlen);
    return rc ? -1 : 0;
}

/* The table, the sets (their default timeout kept at response.timeout) and
 * the drop chains, refilled, or taken away with response.nftables.drop: no.
 * One transaction: all of it or nothing. */
static int setup(struct contain *c, char *err, size_t errlen)
{
    const struct names *r = &c->rs;
    const char *f = r->family, *t = r->table;
    size_t cap = 4096, len = 0;
    char *b = malloc(cap);
    if (!b) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
#define PUT(...) (len += (size_t)snprintf(b + len, len < cap ? cap - len : 0, __VA_ARGS__))
    PUT("add table %s %s\n", f, t);
    if (c->v4)
        PUT("add set %s %s %s { type ipv4_addr; flags timeout; timeout %us; }\n",
            f, t, r->set4, r->timeout);
    if (c->v6)
        PUT("add set %s %s %s { type ipv6_addr; flags timeout; timeout %us; }\n",
            f, t, r->set6, r->timeout);
    for (int i = 0; i < CHAINS; i++) {
        PUT("add chain %s %s %s { type filter hook %s priority -10; policy accept; }\n",
            f, t, chain_name[i], chain_hook[i]);
        PUT("flush chain %s %s %s\n", f, t, chain_name[i]);
        if (!r->drop) {
            PUT("delete chain %s %s %s\n", f, t, chain_name[i]);
            continue;
        }
        for (int v = 4; v <= 6; v += 2) {
            if ((v == 4 && !c->v4) || (v == 6 && !c->v6))
                continue;
            const char *ip = v == 4 ? "ip" : "ip6", *set = set_of(c, (uint8_t)v);
            if (i != 2) /* input, forward: from a contained host */
                PUT("add rule %s %s %s %s saddr @%s drop\n", f, t, chain_name[i], ip, set);
            if (i != 0) /* forward, output: to one */
                PUT("add rule %s %s %s %s daddr @%s drop\n", f, t, chain_name[i], ip, set);
        }
    }
#undef PUT
    int rc;
    if (len >= cap) {
        snprintf(err, errlen, "nftables setup too long");
        rc = -1;
    } else {
        rc = c->runner.run(c->runner.ctx, b, false, NULL, err, errlen);
    }
    free(b);
    return rc;
}

/* ---- the worker ----------------------------------------------------------- */

/* Hands a result to the packet thread (the ring cannot be full: see
 * struct contain). */
static void post(struct contain *c, const struct result *r)
{
    pthread_mutex_lock(&c->mu);
    uint32_t cap = CONTAIN_QUEUE + CONTAIN_HOSTS;
    if (c->res_n < cap) {
        c->results[(c->res_head + c->res_n) % cap] = *r;
        c->res_n++;
        atomic_store(&c->res_ready, c->res_n);
    }
    pthread_mutex_unlock(&c->mu);
}

static void schedule_sweep(struct contain *c, uint64_t wall)
{
    uint64_t next = wall + CONTAIN_SWEEP_SEC * 1000000ull;
    for (uint32_t i = 0; i < c->n_alive; i++) {
        /* just after the kernel should have dropped it; one still there
         * past its time (a clock apart) is looked at again in a second */
        uint64_t due = c->alive[i].expires_wall + 200000u;
        if (due <= wall)
            due = wall + 1000000u;
        if (due < next)
            next = due;
    }
    c->next_sweep = next;
}

static void do_add(struct contain *c, const struct job *j)
{
    char cmd[256];
    struct result r;
    memset(&r, 0, sizeof(r));
    r.v = j->v;
    r.addr = j->addr;
    add_command(c, j->v, &j->addr, cmd, sizeof(cmd));
    int rc = c->runner.run(c->runner.ctx, cmd, false, NULL, r.err, sizeof(r.err));
    if (rc) {
        /* the table or set may have been deleted under us: once more */
        char e2[200];
        if (setup(c, e2, sizeof(e2)) == 0)
            rc = c->runner.run(c->runner.ctx, cmd, false, NULL, r.err, sizeof(r.err));
    }
    uint64_t wall = wall_usec();
    r.wall = wall;
    if (rc) {
        r.kind = R_FAILED;
    } else {
        r.kind = R_ADDED;
        r.expires_wall = wall + (uint64_t)c->rs.timeout * 1000000u;
        uint32_t i = 0;
        while (i < c->n_alive && !(c->alive[i].v == j->v &&
               !memcmp(&c->alive[i].addr, &j->addr, sizeof(j->addr))))
            i++;
        if (i == c->n_alive && c->n_alive < CONTAIN_HOSTS)
            c->n_alive++;
        if (i < c->n_alive)
            c->alive[i] = (struct alive){ j->v, j->addr, r.expires_wall };
        schedule_sweep(c, wall);
    }
    post(c, &r);
}

static int addr_cmp(const void *x, const void *y)
{
    return memcmp(x, y, sizeof(struct ip_addr));
}

/* The addresses in one set's JSON listing, sorted. NULL + n 0 for none. */
static struct ip_addr *present_in(const char *json, uint8_t v, size_t *n)
{
    *n = 0;
    json_error_t jerr;
    json_t *root = json ? json_loads(json, 0, &jerr) : NULL;
    json_t *items = json_object_get(root, "nftables");
    struct ip_addr *out = NULL;
    size_t cap = 0;
    for (size_t i = 0; i < json_array_size(items); i++) {
        json_t *elems = json_object_get(json_object_get(json_array_get(items, i), "set"),
                                        "elem");
        for (size_t k = 0; k < json_array_size(elems); k++) {
            json_t *e = json_array_get(elems, k);
            if (json_is_object(e))
                e = json_object_get(json_object_get(e, "elem"), "val");
            const char *s = json_string_value(e);
            struct ip_addr a;
            memset(&a, 0, sizeof(a));
            if (!s || inet_pton(v == 6 ? AF_INET6 : AF_INET, s, a.b) != 1)
                continue;
            if (*n == cap) {
                size_t nc = cap ? 2 * cap : 64;
                struct ip_addr *p = realloc(out, nc * sizeof(*p));
                if (!p)
                    break;
                out = p, cap = nc;
            }
            out[(*n)++] = a;
        }
    }
    json_decref(root);
    if (*n)
        qsort(out, *n, sizeof(*out), addr_cmp);
    return out;
}

/* Lists the sets; every element added and no longer there is gone:
 * expired (its timeout passed) or removed by someone else. */
static void sweep(struct contain *c)
{
    atomic_fetch_add(&c->sweeps, 1);
    for (uint8_t v = 4; v <= 6; v += 2) {
        bool any = false;
        for (uint32_t i = 0; i < c->n_alive && !any; i++)
            any = c->alive[i].v == v;
        if (!any)
            continue;
        char cmd[256], err[200];
        const char *out = NULL;
        snprintf(cmd, sizeof(cmd), "list set %s %s %s", c->rs.family,
                 c->rs.table, set_of(c, v));
        size_t n = 0;
        struct ip_addr *present = NULL;
        if (c->runner.run(c->runner.ctx, cmd, true, &out, err, sizeof(err))) {
            if (!strstr(err, "No such file or directory"))
                continue; /* cannot tell: look again later */
            /* the set is gone, and every element with it */
        } else {
            present = present_in(out, v, &n);
            if (!present && out && strstr(out, "\"elem\""))
                continue; /* out of memory: cannot tell */
        }
        uint64_t wall = wall_usec();
        for (uint32_t i = 0; i < c->n_alive;) {
            struct alive *a = &c->alive[i];
            if (a->v != v || (n && bsearch(&a->addr, present, n, sizeof(*present),
                                           addr_cmp))) {
                i++;
                continue;
            }
            struct result r;
            memset(&r, 0, sizeof(r));
            r.kind = R_GONE;
            r.wall = wall;
            r.v = v;
            r.addr = a->addr;
            r.early = wall + 1000000u < a->expires_wall;
            post(c, &r);
            *a = c->alive[--c->n_alive];
        }
        free(present);
    }
    schedule_sweep(c, wall_usec());
}

static void *worker(void *arg)
{
    struct contain *c = arg;
    pthread_mutex_lock(&c->mu);
    for (;;) {
        if (c->job_n) {
            struct job j = c->jobs[c->job_head];
            c->job_head = (c->job_head + 1) % CONTAIN_QUEUE;
            c->job_n--;
            pthread_mutex_unlock(&c->mu);
            do_add(c, &j);
            pthread_mutex_lock(&c->mu);
            continue;
        }
        if (c->stop)
            break;
        if (!c->n_alive) {
            pthread_cond_wait(&c->wake, &c->mu);
            continue;
        }
        uint64_t due = c->next_sweep;
        if (wall_usec() >= due) {
            pthread_mutex_unlock(&c->mu);
            sweep(c);
            pthread_mutex_lock(&c->mu);
            continue;
        }
        struct timespec at = { (time_t)(due / 1000000u), (long)(due % 1000000u) * 1000 };
        pthread_cond_timedwait(&c->wake, &c->mu, &at);
    }
    pthread_mutex_unlock(&c->mu);
    return NULL;
}

/* ---- the packet thread ---------------------------------------------------- */

/* When the worker did something at wall time `wall`: live, that moment;
 * reading a capture (the clock far ahead of the traffic), the traffic time
 * it was learnt at. Never before `since`, the traffic time it was decided. */
static uint64_t done_time(const struct contain *c, uint64_t since, uint64_t wall)
{
    uint64_t t = wall > since ? wall : since;
    return c->now && t > c->now ? c->now : t;
}

static void event(struct contain *c, uint64_t ts, const char *action, uint8_t v,
                  const struct ip_addr *a, uint64_t incident, uint64_t expires,
                  const char *error, const char *reason, bool with_command)
{
    if (!c->eve)
        return;
    char cmd[256];
    if (with_command)
        add_command(c, v, a, cmd, sizeof(cmd));
    struct response_event ev = {
        .ts_usec = ts ? ts : c->now ? c->now : wall_usec(), .action = action,
        .ip_version = v, .host = a, .incident_id = incident, .family = c->rs.family,
        .table = c->rs.table, .set = set_of(c, v),
        .timeout_sec = c->rs.timeout, .expires_usec = expires,
        .dry_run = c->dry_run, .success = error == NULL, .error = error,
        .reason = reason, .command = with_command ? cmd : NULL,
    };
    eve_write_response(c->eve, &ev);
    eve_flush(c->eve); /* rare, and someone is waiting to read it */
}

static struct host *find_host(const struct contain *c, uint8_t v,
                              const struct ip_addr *a)
{
    if (!c->n_hosts)
        return NULL;
    for (uint32_t i = 0; i < CONTAIN_HOSTS; i++) {
        struct host *h = &c->hosts[i];
        if (h->state != H_FREE && h->v == v && !memcmp(&h->addr, a, sizeof(*a)))
            return h;
    }
    return NULL;
}

static void free_host(struct contain *c, struct host *h)
{
    h->state = H_FREE;
    c->n_hosts--;
}

static void consider(struct contain *c, uint8_t v, const struct ip_addr *a,
                     uint64_t incident, uint64_t ts)
{
    if (!home_net_contains(&c->home, v, a)) {
        c->st.outside++;
        return;
    }
    if (home_net_contains(&c->allow, v, a)) {
        c->st.allowlisted++;
        event(c, ts, "skip-allowlisted", v, a, incident, 0, NULL,
              "on response.allowlist", false);
        return;
    }
    if (find_host(c, v, a)) {
        c->st.already++;
        return;
    }
    const char *why = NULL;
    if ((v == 4 && !c->v4) || (v == 6 && !c->v6))
        why = v == 4 ? "response.nftables.family ip6 has no set for IPv4 hosts"
                     : "response.nftables.family ip has no set for IPv6 hosts";
    else if (c->n_hosts >= CONTAIN_HOSTS)
        why = "too many hosts contained at once";
    else if (!c->dry_run && c->outstanding >= CONTAIN_QUEUE)
        why = "the queue to nftables is full";
    if (why) {
        c->st.errors++;
        event(c, ts, "contain", v, a, incident, 0, why, NULL, true);
        return;
    }
    struct host *h = c->hosts;
    while (h->state != H_FREE)
        h++;
    *h = (struct host){ .v = v, .addr = *a, .incident = incident, .since_usec = ts };
    c->n_hosts++;
    if (c->dry_run) {
        h->state = H_CONTAINED;
        h->expires_usec = ts + (uint64_t)c->rs.timeout * 1000000u;
        if (c->next_due == 0 || h->expires_usec < c->next_due)
            c->next_due = h->expires_usec;
        c->st.contained++;
        event(c, ts, "dry-run", v, a, incident, h->expires_usec, NULL, NULL, true);
        return;
    }
    h->state = H_PENDING;
    c->outstanding++;
    pthread_mutex_lock(&c->mu);
    c->jobs[(c->job_head + c->job_n) % CONTAIN_QUEUE] = (struct job){ v, *a };
    c->job_n++;
    pthread_cond_signal(&c->wake);
    pthread_mutex_unlock(&c->mu);
}

void contain_on_incident(void *ctx, const struct incident *inc,
                         enum incident_event ev, uint64_t ts)
{
    struct contain *c = ctx;
    if (!c)
        return;
    if (ts > c->now)
        c->now = ts;
    struct seen *slot = NULL, *free_slot = NULL;
    for (int i = 0; i < SEEN_MAX && !slot; i++) {
        if (c->seen[i].id == inc->id)
            slot = &c->seen[i];
        else if (!c->seen[i].id && !free_slot)
            free_slot = &c->seen[i];
    }
    if (ev == INCIDENT_CLOSED) {
        if (slot)
            slot->id = 0;
        return;
    }
    if (!slot && free_slot) {
        slot = free_slot;
        *slot = (struct seen){ inc->id, 0 };
    }
    for (int i = slot ? slot->handled : 0; i < inc->n_hosts; i++)
        consider(c, inc->hosts[i].v, &inc->hosts[i].addr, inc->id, ts);
    if (slot)
        slot->handled = inc->n_hosts;
}

static void handle(struct contain *c, const struct result *r)
{
    struct host *h = find_host(c, r->v, &r->addr);
    switch (r->kind) {
    case R_ADDED:
        c->outstanding--;
        if (!h)
            return;
        h->state = H_CONTAINED;
        h->expires_usec = r->expires_wall;
        c->st.contained++;
        event(c, done_time(c, h->since_usec, r->wall), "contain", r->v, &r->addr,
              h->incident, r->expires_wall, NULL, NULL, true);
        return;
    case R_FAILED:
        c->outstanding--;
        c->st.errors++;
        event(c, done_time(c, h ? h->since_usec : 0, r->wall), "contain", r->v,
              &r->addr, h ? h->incident : 0, 0, r->err, NULL, true);
        if (h)
            free_host(c, h);
        return;
    case R_GONE:
        if (!h || h->state != H_CONTAINED)
            return;
        c->st.released++;
        event(c, done_time(c, h->since_usec, r->wall), "release", r->v, &r->addr,
              h->incident, h->expires_usec, NULL, r->early ? "removed" : "timeout",
              false);
        free_host(c, h);
        return;
    }
}

static void drain(struct contain *c)
{
    const uint32_t cap = CONTAIN_QUEUE + CONTAIN_HOSTS;
    for (;;) {
        pthread_mutex_lock(&c->mu);
        if (!c->res_n) {
            atomic_store(&c->res_ready, 0);
            pthread_mutex_unlock(&c->mu);
            return;
        }
        struct result r = c->results[c->res_head];
        c->res_head = (c->res_head + 1) % cap;
        c->res_n--;
        atomic_store(&c->res_ready, c->res_n);
        pthread_mutex_unlock(&c->mu);
        handle(c, &r);
    }
}

/* Dry-run: would-be elements whose timeout passed in traffic time. */
static void expire_dry(struct contain *c)
{
    c->next_due = 0;
    for (uint32_t i = 0; i < CONTAIN_HOSTS && c->n_hosts; i++) {
        struct host *h = &c->hosts[i];
        if (h->state != H_CONTAINED)
            continue;
        if (h->expires_usec <= c->now) {
            c->st.released++;
            event(c, h->expires_usec, "release", h->v, &h->addr, h->incident,
                  h->expires_usec, NULL, "timeout", false);
            free_host(c, h);
        } else if (!c->next_due || h->expires_usec < c->next_due) {
            c->next_due = h->expires_usec;
        }
    }
}

void contain_poll(struct contain *c, uint64_t now)
{
    if (!c)
        return;
    if (now > c->now)
        c->now = now;
    if (atomic_load_explicit(&c->res_ready, memory_order_relaxed))
        drain(c);
    if (c->dry_run && c->n_hosts && c->next_due && c->now >= c->next_due)
        expire_dry(c);
}

static void stop_worker(struct contain *c)
{
    if (!c->running)
        return;
    pthread_mutex_lock(&c->mu);
    c->stop = true;
    pthread_cond_signal(&c->wake);
    pthread_mutex_unlock(&c->mu);
    pthread_join(c->thread, NULL);
    c->running = false;
}

void contain_finish(struct contain *c, uint64_t now)
{
    if (!c)
        return;
    stop_worker(c); /* after the jobs queued */
    contain_poll(c, now);
    c->st.sweeps = atomic_load(&c->sweeps);
}

struct contain *contain_new(const struct response_settings *rs,
                            const struct home_net *home, struct eve *eve,
                            const struct contain_runner *runner, char *err,
                            size_t errlen)
{
    struct contain *c = calloc(1, sizeof(*c));
    if (!c) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    snprintf(c->rs.family, sizeof(c->rs.family), "%.7s", rs->nft_family);
    snprintf(c->rs.table, sizeof(c->rs.table), "%.64s", rs->nft_table);
    snprintf(c->rs.set4, sizeof(c->rs.set4), "%.64s", rs->nft_set4);
    snprintf(c->rs.set6, sizeof(c->rs.set6), "%.64s", rs->nft_set6);
    c->rs.timeout = rs->timeout;
    c->rs.drop = rs->nft_drop;
    c->home = *home;
    c->eve = eve;
    c->dry_run = rs->dry_run;
    c->v4 = strcmp(rs->nft_family, "ip6") != 0;
    c->v6 = strcmp(rs->nft_family, "ip") != 0;
    pthread_mutex_init(&c->mu, NULL);
    pthread_cond_init(&c->wake, NULL);
    char msg[256];
    if (!home_net_parse(&c->allow, rs->allowlist, msg, sizeof(msg))) {
        snprintf(err, errlen, "response.allowlist: %s", msg);
        contain_free(c);
        return NULL;
    }
    c->hosts = calloc(CONTAIN_HOSTS, sizeof(*c->hosts));
    if (!c->hosts) {
        snprintf(err, errlen, "out of memory");
        contain_free(c);
        return NULL;
    }
    if (c->dry_run)
        return c; /* nothing is sent to nftables: no worker */
    c->results = calloc(CONTAIN_QUEUE + CONTAIN_HOSTS, sizeof(*c->results));
    c->alive = calloc(CONTAIN_HOSTS, sizeof(*c->alive));
    if (!c->results || !c->alive) {
        snprintf(err, errlen, "out of memory");
        contain_free(c);
        return NULL;
    }
    if (runner) {
        c->runner = *runner;
    } else {
        c->nft = nft_ctx_new(NFT_CTX_DEFAULT);
        if (!c->nft || nft_ctx_buffer_output(c->nft) || nft_ctx_buffer_error(c->nft)) {
            snprintf(err, errlen, "response.contain: nftables: libnftables did not start");
            contain_free(c);
            return NULL;
        }
        c->runner = (struct contain_runner){ nft_lib_run, c->nft };
    }
    if (setup(c, msg, sizeof(msg))) {
        snprintf(err, errlen, "response.contain: nftables: cannot set up table %s %s: "
                 "%s (needs root or CAP_NET_ADMIN; response.dry-run: yes only "
                 "logs)", rs->nft_family, rs->nft_table, msg);
        contain_free(c);
        return NULL;
    }
    if (pthread_create(&c->thread, NULL, worker, c)) {
        snprintf(err, errlen, "response.contain: cannot start its thread");
        contain_free(c);
        return NULL;
    }
    c->running = true;
    return c;
}

void contain_free(struct contain *c)
{
    if (!c)
        return;
    stop_worker(c);
    if (c->nft)
        nft_ctx_free(c->nft);
    pthread_cond_destroy(&c->wake);
    pthread_mutex_destroy(&c->mu);
    free(c->hosts);
    free(c->results);
    free(c->alive);
    free(c);
}

const struct contain_stats *contain_stats(const struct contain *c)
{
    return &c->st;
}

bool contain_holds(const struct contain *c, uint8_t v, const struct ip_addr *a)
{
    return find_host(c, v, a) != NULL;
}

void contain_summary(const struct contain *c, FILE *out)
{
    if (!c)
        return;
    const struct contain_stats *s = &c->st;
    if (c->dry_run)
        fprintf(out, "  response (dry run, nothing sent to nftables): %llu hosts "
                "would have been contained, %llu released in traffic time, "
                "%llu allowlisted, %llu errors\n",
                (unsigned long long)s->contained, (unsigned long long)s->released,
                (unsigned long long)s->allowlisted, (unsigned long long)s->errors);
    else
        fprintf(out, "  response: %llu hosts contained in %s %s, %llu released, "
                "%llu still there until their timeouts, %llu allowlisted, "
                "%llu errors\n", (unsigned long long)s->contained,
                c->rs.family, c->rs.table, (unsigned long long)s->released,
                (unsigned long long)c->n_hosts, (unsigned long long)s->allowlisted,
                (unsigned long long)s->errors);
}
