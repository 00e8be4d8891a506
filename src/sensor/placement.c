/* placement.c -- the plan of which worker holds each internal host (see
 * placement.h for why and how). Every table here is open addressing with
 * linear probing, filled to three quarters at most, so a probe always
 * ends; every decision is made in a fixed order (slot order, then load
 * and key), so a plan depends on nothing but what the pass was given.
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

struct pass_host {
    uint64_t key;              /* 0: free */
    uint64_t load;
    uint32_t parent;           /* union-find over slot indices */
    int32_t worker;            /* in the table before this pass, else -1 */
    uint32_t clients;          /* admin clients, when it serves */
};

struct session {
    uint64_t key;              /* 0: free */
    uint32_t client, server;   /* pass_host slots */
};

struct pass {
    struct pass_host *h;
    uint32_t n_hosts;
    struct session *s;
    uint32_t n_sessions;
    uint64_t *group_load;      /* by root slot */
    int32_t *group_worker;     /* by root slot; -1: not yet */
    uint64_t load[PLACE_WORKERS_MAX];
};

struct placement {
    unsigned n;
    struct slot *t;
    struct pass *pass;
    struct placement_stats st;
};

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
    table_mem_free(ps->h, PASS_SLOTS, sizeof(*ps->h));
    table_mem_free(ps->s, SESSION_SLOTS, sizeof(*ps->s));
    table_mem_free(ps->group_load, PASS_SLOTS, sizeof(*ps->group_load));
    table_mem_free(ps->group_worker, PASS_SLOTS, sizeof(*ps->group_worker));
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

/* ---- the pass ------------------------------------------------------------- */

bool placement_begin(struct placement *p)
{
    pass_free(p->pass);
    struct pass *ps = p->pass = calloc(1, sizeof(*ps));
    if (!ps)
        return false;
    ps->h = table_mem_alloc(PASS_SLOTS, sizeof(*ps->h));
    ps->s = table_mem_alloc(SESSION_SLOTS, sizeof(*ps->s));
    ps->group_load = table_mem_alloc(PASS_SLOTS, sizeof(*ps->group_load));
    ps->group_worker = table_mem_alloc(PASS_SLOTS, sizeof(*ps->group_worker));
    if (!ps->h || !ps->s || !ps->group_load || !ps->group_worker) {
        pass_free(ps);
        p->pass = NULL;
        return false;
    }
    return true;
}

/* The pass's entry for key, made when new; NULL when the pass is full. */
static struct pass_host *pass_host(struct placement *p, uint64_t key)
{
    struct pass *ps = p->pass;
    uint64_t k = key ? key : 1;
    uint32_t i = (uint32_t)k & (PASS_SLOTS - 1);
    while (ps->h[i].key && ps->h[i].key != k)
        i = (i + 1) & (PASS_SLOTS - 1);
    struct pass_host *h = &ps->h[i];
    if (h->key)
        return h;
    if (ps->n_hosts >= PASS_MAX)
        return NULL;
    h->key = k;
    h->parent = i;
    const struct slot *s = table_slot(p, k);
    h->worker = s->key ? (int32_t)s->worker : -1;
    ps->n_hosts++;
    return h;
}

void placement_fixed(struct placement *p, unsigned worker, uint32_t load)
{
    if (p->pass && worker < p->n)
        p->pass->load[worker] += load;
}

void placement_host(struct placement *p, uint64_t key, uint32_t load)
{
    if (!p->pass)
        return;
    struct pass_host *h = pass_host(p, key);
    if (h) {
        h->load += load;
    } else { /* past the pass's size: it will go by hash */
        p->st.packets_unkept++;
        placement_fixed(p, (unsigned)(key % p->n), load);
    }
}

void placement_admin(struct placement *p, uint64_t client, uint64_t server)
{
    struct pass *ps = p->pass;
    if (!ps || client == server)
        return;
    struct pass_host *c = pass_host(p, client), *sv = pass_host(p, server);
    if (!c || !sv) {
        p->st.sessions_over_cap++;
        return;
    }
    uint64_t k = (c->key * 0x9e3779b97f4a7c15ull) ^ sv->key;
    k = k ? k : 1;
    uint32_t i = (uint32_t)(k >> 7) & (SESSION_SLOTS - 1);
    while (ps->s[i].key && ps->s[i].key != k)
        i = (i + 1) & (SESSION_SLOTS - 1);
    if (ps->s[i].key)
        return;
    if (ps->n_sessions >= SESSION_MAX) {
        p->st.sessions_over_cap++;
        return;
    }
    ps->s[i] = (struct session){ k, (uint32_t)(c - ps->h), (uint32_t)(sv - ps->h) };
    ps->n_sessions++;
    sv->clients++;
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
    for (uint32_t i = 0; i < PASS_SLOTS; i++)
        if (ps->h[i].key && ps->h[i].clients > BUSY_SERVER)
            p->st.busy_servers++;
    for (uint32_t i = 0; i < SESSION_SLOTS; i++) {
        const struct session *s = &ps->s[i];
        if (!s->key || ps->h[s->server].clients > BUSY_SERVER)
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
 * worker (the first such host's, in slot order). */
static void weigh_groups(struct pass *ps)
{
    for (uint32_t i = 0; i < PASS_SLOTS; i++)
        ps->group_worker[i] = -1;
    for (uint32_t i = 0; i < PASS_SLOTS; i++) {
        if (!ps->h[i].key)
            continue;
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
    for (uint32_t i = 0; i < PASS_SLOTS; i++) {
        if (!ps->h[i].key || root_of(ps->h, i) != i)
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

void placement_end(struct placement *p)
{
    struct pass *ps = p->pass;
    if (!ps)
        return;
    join_groups(p);
    weigh_groups(ps);
    assign_groups(p);
    for (uint32_t i = 0; i < PASS_SLOTS; i++) {
        if (!ps->h[i].key || ps->h[i].worker >= 0)
            continue;
        int32_t w = ps->group_worker[root_of(ps->h, i)];
        if (!table_put(p, ps->h[i].key, (unsigned)w))
            p->st.hosts_over_cap++;
    }
    pass_free(ps);
    p->pass = NULL;
}
