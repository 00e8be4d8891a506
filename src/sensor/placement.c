/* placement.c -- the plan of which worker holds each internal host (see
 * placement.h for why and how). Every table here is open addressing with
 * linear probing, filled to three quarters at most, so a probe always
 * ends. A tally's and the pass's entries sit in dense arrays in the order
 * they came, found through an index of slots (struct dense): what the
 * plan goes over is then as long as what was seen, not as the tables'
 * caps. Every decision is made in a fixed order (the order entries came,
 * then load and key), so a plan depends on nothing but what the pass was
 * given.
 */
#include "sensor/placement.h"

#include <stdlib.h>
#include <string.h>

#include "util/table_mem.h"

#define TABLE_SLOTS (1u << 17)              /* hosts of the whole run */
#define TABLE_MAX (TABLE_SLOTS / 4 * 3)
#define PASS_SLOTS (1u << 17)               /* hosts of one file */
#define PASS_MAX (PASS_SLOTS / 4 * 3)
#define SESSION_SLOTS (1u << 16)            /* admin sessions of one file */
#define SESSION_MAX (SESSION_SLOTS / 4 * 3)
#define BUSY_SERVER 16  /* a server with more admin clients joins no group */
#define PLACE_WORKERS_MAX 64

struct slot {
    uint64_t key;              /* 0: free */
    uint32_t worker;
};

/* An index over a dense array of entries whose first field is their
 * 64-bit key: slot -> 1 + the entry's number, 0 free. */
struct dense {
    uint32_t *slot;
    uint32_t mask;
};

struct pass_host {
    uint64_t key;
    uint64_t load;
    uint32_t parent;           /* union-find over entry numbers */
    int32_t worker;            /* in the table before this pass, else -1 */
    uint32_t clients;          /* admin clients, when it serves */
};

struct session {
    uint64_t key;
    uint32_t client, server;   /* pass_host entries */
};

struct pass {
    struct dense hi, si;
    struct pass_host *h;       /* PASS_MAX */
    uint32_t n_hosts;
    struct session *s;         /* SESSION_MAX */
    uint32_t n_sessions;
    uint64_t *group_load;      /* by root entry */
    int32_t *group_worker;     /* by root entry; -1: not yet */
    uint64_t load[PLACE_WORKERS_MAX];
};

struct placement {
    unsigned n;
    struct slot *t;
    struct pass *pass;
    struct placement_stats st;
};

/* A share of a pass's counts, as one thread made them: each host's load,
 * the admin sessions by their hosts' keys, what goes by hash. */
struct tally_host {
    uint64_t key;
    uint64_t load;
};

struct tally_session {
    uint64_t key;              /* session_key(client, server) */
    uint64_t client, server;
};

struct placement_tally {
    unsigned n;
    struct dense hi, si;
    struct tally_host *h;      /* PASS_MAX */
    uint32_t n_hosts;
    struct tally_session *s;   /* SESSION_MAX */
    uint32_t n_sessions;
    uint64_t load[PLACE_WORKERS_MAX];
    uint64_t packets_unkept, sessions_over_cap;
};

static bool dense_new(struct dense *d, uint32_t slots)
{
    d->mask = slots - 1;
    return (d->slot = table_mem_alloc(slots, sizeof(*d->slot))) != NULL;
}

static void dense_free(struct dense *d)
{
    table_mem_free(d->slot, (size_t)d->mask + 1, sizeof(*d->slot));
}

/* The index of hosts and the index of sessions, a tally's or the pass's:
 * both tried, so both are freed alike when one could not be made. */
static bool indexes_new(struct dense *hi, struct dense *si)
{
    bool ok = dense_new(hi, PASS_SLOTS);
    return dense_new(si, SESSION_SLOTS) && ok;
}

static void indexes_free(struct dense *hi, struct dense *si)
{
    dense_free(hi);
    dense_free(si);
}

/* The entry of key (nonzero) among n in base (stride bytes each), or n
 * when it has none -- its slot is then *claim, to be set to n + 1 when the
 * caller adds it as entry n. */
static uint32_t dense_find(const struct dense *d, const void *base, size_t stride,
                           uint64_t key, uint32_t n, uint32_t **claim)
{
    for (uint32_t i = (uint32_t)(key ^ key >> 29) & d->mask;; i = (i + 1) & d->mask) {
        uint32_t e = d->slot[i];
        if (!e) {
            *claim = &d->slot[i];
            return n;
        }
        uint64_t k;
        memcpy(&k, (const char *)base + (size_t)(e - 1) * stride, sizeof(k));
        if (k == key)
            return e - 1;
    }
}

struct placement *placement_new(unsigned workers)
{
    struct placement *p = calloc(1, sizeof(*p));
    if (!p)
        return NULL;
    p->n = workers ? workers : 1;
    if (p->n > PLACE_WORKERS_MAX)
        p->n = PLACE_WORKERS_MAX;
    if (!(p->t = table_mem_alloc(TABLE_SLOTS, sizeof(*p->t)))) {
        free(p);
        return NULL;
    }
    return p;
}

static void pass_free(struct pass *ps)
{
    if (!ps)
        return;
    indexes_free(&ps->hi, &ps->si);
    table_mem_free(ps->h, PASS_MAX, sizeof(*ps->h));
    table_mem_free(ps->s, SESSION_MAX, sizeof(*ps->s));
    table_mem_free(ps->group_load, PASS_MAX, sizeof(*ps->group_load));
    table_mem_free(ps->group_worker, PASS_MAX, sizeof(*ps->group_worker));
    free(ps);
}

void placement_free(struct placement *p)
{
    if (!p)
        return;
    pass_free(p->pass);
    table_mem_free(p->t, TABLE_SLOTS, sizeof(*p->t));
    free(p);
}

const struct placement_stats *placement_stats(const struct placement *p)
{
    return &p->st;
}

/* The slot holding key, or the free slot where it would go. */
static struct slot *table_slot(const struct placement *p, uint64_t key)
{
    uint32_t i = (uint32_t)key & (TABLE_SLOTS - 1);
    while (p->t[i].key && p->t[i].key != key)
        i = (i + 1) & (TABLE_SLOTS - 1);
    return &p->t[i];
}

static bool table_put(struct placement *p, uint64_t key, unsigned worker)
{
    struct slot *s = table_slot(p, key);
    if (s->key)
        return true;
    if (p->st.hosts >= TABLE_MAX)
        return false;
    s->key = key;
    s->worker = worker;
    p->st.hosts++;
    return true;
}

unsigned placement_worker(struct placement *p, uint64_t key, bool learn)
{
    unsigned by_hash = (unsigned)(key % p->n);
    uint64_t k = key ? key : 1;
    const struct slot *s = table_slot(p, k);
    if (s->key)
        return s->worker;
    if (learn && !table_put(p, k, by_hash))
        p->st.packets_unkept++;
    return by_hash;
}

/* ---- a tally: one thread's counts --------------------------------------- */

struct placement_tally *placement_tally_new(const struct placement *p)
{
    struct placement_tally *t = calloc(1, sizeof(*t));
    if (!t)
        return NULL;
    t->n = p->n;
    bool ok = indexes_new(&t->hi, &t->si);
    t->h = table_mem_alloc(PASS_MAX, sizeof(*t->h));
    t->s = table_mem_alloc(SESSION_MAX, sizeof(*t->s));
    if (!ok || !t->h || !t->s) {
        placement_tally_free(t);
        return NULL;
    }
    return t;
}

void placement_tally_free(struct placement_tally *t)
{
    if (!t)
        return;
    indexes_free(&t->hi, &t->si);
    table_mem_free(t->h, PASS_MAX, sizeof(*t->h));
    table_mem_free(t->s, SESSION_MAX, sizeof(*t->s));
    free(t);
}

void placement_fixed(struct placement_tally *t, unsigned worker, uint32_t load)
{
    if (worker < t->n)
        t->load[worker] += load;
}

void placement_host(struct placement_tally *t, uint64_t key, uint32_t load)
{
    uint64_t k = key ? key : 1;
    uint32_t *claim = NULL;
    uint32_t e = dense_find(&t->hi, t->h, sizeof(*t->h), k, t->n_hosts, &claim);
    if (e == t->n_hosts) {
        if (t->n_hosts >= PASS_MAX) { /* past the pass's size: by hash */
            t->packets_unkept++;
            placement_fixed(t, (unsigned)(key % t->n), load);
            return;
        }
        t->h[e].key = k;
        *claim = ++t->n_hosts;
    }
    t->h[e].load += load;
}

static uint64_t session_key(uint64_t client, uint64_t server)
{
    uint64_t k = (client * 0x9e3779b97f4a7c15ull) ^ server;
    return k ? k : 1;
}

void placement_admin(struct placement_tally *t, uint64_t client, uint64_t server)
{
    uint64_t c = client ? client : 1, sv = server ? server : 1;
    if (c == sv)
        return;
    uint64_t k = session_key(c, sv);
    uint32_t *claim = NULL;
    uint32_t e = dense_find(&t->si, t->s, sizeof(*t->s), k, t->n_sessions, &claim);
    if (e < t->n_sessions)
        return;
    if (t->n_sessions >= SESSION_MAX) {
        t->sessions_over_cap++;
        return;
    }
    t->s[e] = (struct tally_session){ k, c, sv };
    *claim = ++t->n_sessions;
}

/* ---- the pass: the tallies joined, then the plan --------------------------- */

static bool pass_begin(struct placement *p)
{
    pass_free(p->pass);
    struct pass *ps = p->pass = calloc(1, sizeof(*ps));
    if (!ps)
        return false;
    bool ok = indexes_new(&ps->hi, &ps->si);
    ps->h = table_mem_alloc(PASS_MAX, sizeof(*ps->h));
    ps->s = table_mem_alloc(SESSION_MAX, sizeof(*ps->s));
    ps->group_load = table_mem_alloc(PASS_MAX, sizeof(*ps->group_load));
    ps->group_worker = table_mem_alloc(PASS_MAX, sizeof(*ps->group_worker));
    if (!ok || !ps->h || !ps->s || !ps->group_load || !ps->group_worker) {
        pass_free(ps);
        p->pass = NULL;
        return false;
    }
    return true;
}

/* The pass's entry for key (nonzero), made when new; NULL when the pass
 * is full. */
static struct pass_host *pass_host(struct placement *p, uint64_t key)
{
    struct pass *ps = p->pass;
    uint32_t *claim = NULL;
    uint32_t e = dense_find(&ps->hi, ps->h, sizeof(*ps->h), key, ps->n_hosts, &claim);
    if (e < ps->n_hosts)
        return &ps->h[e];
    if (ps->n_hosts >= PASS_MAX)
        return NULL;
    const struct slot *s = table_slot(p, key);
    ps->h[e] = (struct pass_host){ .key = key, .parent = e,
                                   .worker = s->key ? (int32_t)s->worker : -1 };
    *claim = ++ps->n_hosts;
    return &ps->h[e];
}

/* A session into the pass: once for each client and server, whichever
 * tallies saw it. */
static void pass_session(struct placement *p, const struct tally_session *ts)
{
    struct pass *ps = p->pass;
    struct pass_host *c = pass_host(p, ts->client), *sv = pass_host(p, ts->server);
    if (!c || !sv) {
        p->st.sessions_over_cap++;
        return;
    }
    uint32_t *claim = NULL;
    uint32_t e = dense_find(&ps->si, ps->s, sizeof(*ps->s), ts->key, ps->n_sessions,
                            &claim);
    if (e < ps->n_sessions)
        return;
    if (ps->n_sessions >= SESSION_MAX) {
        p->st.sessions_over_cap++;
        return;
    }
    ps->s[e] = (struct session){ ts->key, (uint32_t)(c - ps->h), (uint32_t)(sv - ps->h) };
    *claim = ++ps->n_sessions;
    sv->clients++;
}

/* One tally into the pass: its hosts' loads, its sessions, what went by
 * hash; a host the pass has no room for goes by hash. */
static void pass_add(struct placement *p, const struct placement_tally *t)
{
    struct pass *ps = p->pass;
    for (unsigned w = 0; w < p->n && w < t->n; w++)
        ps->load[w] += t->load[w];
    for (uint32_t i = 0; i < t->n_hosts; i++) {
        struct pass_host *h = pass_host(p, t->h[i].key);
        if (h) {
            h->load += t->h[i].load;
        } else {
            ps->load[t->h[i].key % p->n] += t->h[i].load;
            p->st.hosts_over_cap++;
        }
    }
    for (uint32_t i = 0; i < t->n_sessions; i++)
        pass_session(p, &t->s[i]);
    p->st.packets_unkept += t->packets_unkept;
    p->st.sessions_over_cap += t->sessions_over_cap;
}

static uint32_t root_of(struct pass_host *h, uint32_t i)
{
    while (h[i].parent != i) {
        h[i].parent = h[h[i].parent].parent;
        i = h[i].parent;
    }
    return i;
}

/* Admin sessions make groups, but not through a busy server. */
static void join_groups(struct placement *p)
{
    struct pass *ps = p->pass;
    for (uint32_t i = 0; i < ps->n_hosts; i++)
        if (ps->h[i].clients > BUSY_SERVER)
            p->st.busy_servers++;
    for (uint32_t i = 0; i < ps->n_sessions; i++) {
        const struct session *s = &ps->s[i];
        if (ps->h[s->server].clients > BUSY_SERVER)
            continue;
        uint32_t a = root_of(ps->h, s->client), b = root_of(ps->h, s->server);
        if (a == b)
            continue;
        if (b < a) {
            uint32_t t = a;
            a = b;
            b = t;
        }
        ps->h[b].parent = a;
        p->st.groups++;
    }
}

struct group {
    uint64_t load, key;
    uint32_t root;
};

static int heavier_first(const void *x, const void *y)
{
    const struct group *a = x, *b = y;
    if (a->load != b->load)
        return a->load > b->load ? -1 : 1;
    return a->key < b->key ? -1 : a->key > b->key;
}

/* Each group's load and, when one of its hosts already has a worker, that
 * worker (the first such host's, in the order they came). */
static void weigh_groups(struct pass *ps)
{
    for (uint32_t i = 0; i < ps->n_hosts; i++)
        ps->group_worker[i] = -1;
    for (uint32_t i = 0; i < ps->n_hosts; i++) {
        uint32_t r = root_of(ps->h, i);
        ps->group_load[r] += ps->h[i].load;
        if (ps->h[i].worker >= 0 && ps->group_worker[r] < 0)
            ps->group_worker[r] = ps->h[i].worker;
    }
}

static unsigned least_loaded(const struct pass *ps, unsigned n)
{
    unsigned best = 0;
    for (unsigned w = 1; w < n; w++)
        if (ps->load[w] < ps->load[best])
            best = w;
    return best;
}

/* Longest processing time first: the groups with no worker yet, heaviest
 * first, each to the worker with the least load so far. */
static void assign_groups(struct placement *p)
{
    struct pass *ps = p->pass;
    struct group *g = malloc(sizeof(*g) * (ps->n_hosts ? ps->n_hosts : 1));
    uint32_t ng = 0;
    for (uint32_t i = 0; i < ps->n_hosts; i++) {
        if (root_of(ps->h, i) != i)
            continue;
        if (ps->group_worker[i] >= 0)
            ps->load[ps->group_worker[i]] += ps->group_load[i];
        else if (g)
            g[ng++] = (struct group){ ps->group_load[i], ps->h[i].key, i };
        else /* no memory to sort: by hash */
            ps->group_worker[i] = (int32_t)(ps->h[i].key % p->n);
    }
    if (g)
        qsort(g, ng, sizeof(*g), heavier_first);
    for (uint32_t j = 0; j < ng; j++) {
        unsigned w = least_loaded(ps, p->n);
        ps->group_worker[g[j].root] = (int32_t)w;
        ps->load[w] += g[j].load;
    }
    free(g);
}

void placement_plan(struct placement *p, struct placement_tally *const *tallies,
                    unsigned n)
{
    if (!pass_begin(p))
        return; /* no memory for a plan: every host by hash */
    for (unsigned i = 0; i < n; i++)
        if (tallies[i])
            pass_add(p, tallies[i]);
    struct pass *ps = p->pass;
    join_groups(p);
    weigh_groups(ps);
    assign_groups(p);
    for (uint32_t i = 0; i < ps->n_hosts; i++) {
        if (ps->h[i].worker >= 0)
            continue;
        int32_t w = ps->group_worker[root_of(ps->h, i)];
        if (!table_put(p, ps->h[i].key, (unsigned)w))
            p->st.hosts_over_cap++;
    }
    pass_free(ps);
    p->pass = NULL;
}
