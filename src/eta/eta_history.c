/* eta_history.c -- per-pair connection history and its periodicity
 * statistics (see eta_history.h).
 *
 * Regularity: for the starts t_1..t_n and a trial period P, the Fourier
 * coefficient of the connection train at frequency 1/P is
 *     R(P) = | sum_k exp(2 pi i t_k / P) | / n,
 * 1 for starts exactly P apart (whatever the phase), about 1/sqrt(n) for
 * random ones. P is tried at the median interval and at 21 points within
 * +-10% of it, so a beacon whose period the median misjudges slightly
 * still peaks; the best R is the score. Missed beacons (a gap of 2P) do not
 * lower it, since every start still falls on the same phase.
 */
#include "eta/eta_history.h"
#include "util/table_mem.h"
#include "util/counters.h"
#include "util/hash.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "flow/flow_table.h"
#include "util/text.h"

#define WAYS 4
#define FIRST_PER_PAIR 4     /* first connections remembered, per pair entry */

struct pair_entry {
    struct ip_addr client, server;
    uint16_t port;
    uint8_t proto;
    uint8_t used;
    uint32_t n;                          /* connections seen (saturating) */
    uint64_t last_use;
    uint64_t start[ETA_HISTORY_CONNS];   /* ring: connection n is at n % N */
    uint32_t bytes[ETA_HISTORY_CONNS];
};

/* A pair's first connection, before the pair has an entry: most pairs
 * connect once (a page's servers, a lookup), and taking an entry for each
 * pushed the pairs that repeat -- a beacon every few minutes -- out of
 * their set. A second connection while its first is still here gives the
 * pair an entry holding both. */
struct first_conn {
    uint32_t tag;                        /* the pair's hash's high half; 0: free */
    uint32_t bytes;
    uint64_t start;
};

struct eta_history {
    struct pair_entry *e;
    uint32_t sets;
    uint64_t clock;
    struct first_conn *first;            /* FIRST_PER_PAIR a pair entry, in sets of WAYS */
    uint32_t n_first;
    struct eta_history_stats st;
};

struct eta_history *eta_history_new(uint32_t pairs)
{
    if (!pairs)
        return NULL;
    struct eta_history *h = calloc(1, sizeof(*h));
    if (!h)
        return NULL;
    h->sets = (pairs + WAYS - 1) / WAYS;
    h->n_first = h->sets * WAYS * FIRST_PER_PAIR;
    h->e = table_mem_alloc((size_t)h->sets * WAYS, sizeof(*h->e));
    h->first = table_mem_alloc(h->n_first, sizeof(*h->first));
    if (!h->e || !h->first) {
        eta_history_free(h);
        return NULL;
    }
    return h;
}

void eta_history_free(struct eta_history *h)
{
    if (!h)
        return;
    if (h->e)
        table_mem_free(h->e, (size_t)h->sets * WAYS, sizeof(*h->e));
    if (h->first)
        table_mem_free(h->first, h->n_first, sizeof(*h->first));
    free(h);
}

uint64_t eta_history_memory(const struct eta_history *h)
{
    return h ? sizeof(*h) + (uint64_t)h->sets * WAYS * sizeof(*h->e) +
                   (uint64_t)h->n_first * sizeof(*h->first)
             : 0;
}

const struct eta_history_stats *eta_history_stats(const struct eta_history *h)
{
    static const struct eta_history_stats none;
    return h ? &h->st : &none;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* fmod(x, p) for x >= 0 and p > 0, bit for bit: the remainder x - q p of
 * the true quotient q is always representable, so one fused multiply-add
 * gives it exactly; x / p rounded can put trunc() one off q, which the
 * sign or size of the remainder shows. glibc's fmod costs about 80 ns
 * (it divides bit by bit), this about 12. */
static double exact_fmod(double x, double p)
{
    double q = trunc(x / p);
    double r = fma(-q, p, x);
    if (r < 0)
        r = fma(-(q - 1), p, x);
    else if (r >= p)
        r = fma(-(q + 1), p, x);
    return r;
}

static double fourier_peak(const uint64_t *t, uint32_t n, double period)
{
    double x[ETA_HISTORY_CONNS]; /* seconds from the first start: one per trial period */
    for (uint32_t i = 0; i < n; i++)
        x[i] = (double)(t[i] - t[0]) / 1e6;
    double best = 0;
    for (int k = -5; k <= 5; k++) {
        double p = period * (1.0 + k * 0.02);
        double re = 0, im = 0;
        for (uint32_t i = 0; i < n; i++) {
            double phase = 2 * M_PI * exact_fmod(x[i], p) / p;
            double sn, cs;
            sincos(phase, &sn, &cs);
            re += cs;
            im += sn;
        }
        double r = sqrt(re * re + im * im) / n;
        if (r > best)
            best = r;
    }
    return best;
}

/* Starts closer than this are one event: a browser opening six parallel
 * connections is one visit, not a period of a few milliseconds. */
#define BURST_USEC 50000

void eta_pair_compute(const uint64_t *starts, const uint32_t *bytes,
                      uint32_t n, struct eta_pair_stats *out)
{
    out->conns = n;
    out->interval_mean = out->interval_cv = NAN;
    out->regularity = out->bytes_cv = NAN;
    if (n > ETA_HISTORY_CONNS)
        n = ETA_HISTORY_CONNS;
    if (n < 2)
        return;
    uint64_t t[ETA_HISTORY_CONNS];
    double gap[ETA_HISTORY_CONNS];
    memcpy(t, starts, n * sizeof(t[0]));
    qsort(t, n, sizeof(t[0]), cmp_u64);
    double bsum = 0, bsumsq = 0;
    for (uint32_t i = 0; i < n; i++) {
        bsum += bytes[i];
        bsumsq += (double)bytes[i] * bytes[i];
    }
    double bm = bsum / n, bv = bsumsq / n - bm * bm;
    out->bytes_cv = bm > 0 ? sqrt(bv > 0 ? bv : 0) / bm : 0;
    uint32_t events = 1; /* t[0..events) become the events' first starts */
    for (uint32_t i = 1; i < n; i++)
        if (t[i] - t[events - 1] >= BURST_USEC)
            t[events++] = t[i];
    if (events < 2)
        return;
    double sum = 0, sumsq = 0;
    for (uint32_t i = 1; i < events; i++) {
        gap[i - 1] = (double)(t[i] - t[i - 1]) / 1e6;
        sum += gap[i - 1];
        sumsq += gap[i - 1] * gap[i - 1];
    }
    double m = sum / (events - 1), v = sumsq / (events - 1) - m * m;
    out->interval_mean = m;
    out->interval_cv = m > 0 ? sqrt(v > 0 ? v : 0) / m : 0;
    if (events < 3)
        return;
    qsort(gap, events - 1, sizeof(gap[0]), cmp_double);
    out->regularity = fourier_peak(t, events, gap[(events - 1) / 2]);
}

static bool same_pair(const struct pair_entry *e, const struct flow *f)
{
    return e->used && e->port == flow_port(f, 1) && e->proto == f->key.proto &&
           memcmp(&e->client, flow_addr(f, 0), sizeof(e->client)) == 0 &&
           memcmp(&e->server, flow_addr(f, 1), sizeof(e->server)) == 0;
}

/* The pair's 64-bit hash (never 0): its set, and its first_conn tag. */
static uint64_t pair_hash(const struct flow *f)
{
    uint64_t a, b, c, d;
    memcpy(&a, flow_addr(f, 0)->b, 8);
    memcpy(&b, flow_addr(f, 0)->b + 8, 8);
    memcpy(&c, flow_addr(f, 1)->b, 8);
    memcpy(&d, flow_addr(f, 1)->b + 8, 8);
    uint64_t x = fmix64(a ^ fmix64(b ^ fmix64(c ^ fmix64(d))));
    x = fmix64(x ^ ((uint64_t)flow_port(f, 1) << 8 | f->key.proto));
    return x ? x : 1;
}

static uint32_t first_tag(uint64_t hash) { return (uint32_t)(hash >> 32) | 1; }

/* The pair's remembered first connection (*found), else the slot for it:
 * a free one of its set, or the set's oldest. */
static struct first_conn *first_of(struct eta_history *h, uint64_t hash, bool *found)
{
    struct first_conn *set = &h->first[(size_t)(hash % (h->n_first / WAYS)) * WAYS];
    uint32_t tag = first_tag(hash);
    struct first_conn *victim = &set[0];
    for (int i = 0; i < WAYS; i++) {
        if (set[i].tag == tag) {
            *found = true;
            return &set[i];
        }
        if (!set[i].tag || (victim->tag && set[i].start < victim->start))
            victim = &set[i];
    }
    *found = false;
    return victim;
}

/* The pair's entry: its own, or a new one when its first connection is
 * remembered (*first: that connection); else NULL -- the flow is the
 * pair's first, and *first the slot to remember it in. */
static struct pair_entry *pair_slot(struct eta_history *h, const struct flow *f,
                                    uint64_t hash, struct first_conn **first)
{
    struct pair_entry *set = &h->e[(size_t)((uint32_t)(hash >> 8) % h->sets) * WAYS];
    struct pair_entry *victim = &set[0];
    for (int i = 0; i < WAYS; i++) {
        if (same_pair(&set[i], f))
            return &set[i];
        if (!set[i].used || (victim->used && set[i].last_use < victim->last_use))
            victim = &set[i];
    }
    bool found;
    *first = first_of(h, hash, &found);
    if (!found) {
        h->st.pairs_new++;
        return NULL;
    }
    if (victim->used)
        h->st.evicted++;
    h->st.pairs_kept++;
    memset(victim, 0, sizeof(*victim));
    victim->used = 1;
    victim->client = *flow_addr(f, 0);
    victim->server = *flow_addr(f, 1);
    victim->port = flow_port(f, 1);
    victim->proto = f->key.proto;
    return victim;
}

static void add_conn(struct pair_entry *e, uint64_t start, uint32_t bytes)
{
    uint32_t at = e->n % ETA_HISTORY_CONNS;
    e->start[at] = start;
    e->bytes[at] = bytes;
    if (e->n < UINT32_MAX)
        e->n++;
}

bool eta_history_add(struct eta_history *h, const struct flow *f,
                     struct eta_pair_stats *out, uint32_t min_conns)
{
    if (!h)
        return false;
    uint64_t hash = pair_hash(f);
    uint64_t b = f->dir[0].payload_bytes;
    uint32_t bytes = b > UINT32_MAX ? UINT32_MAX : (uint32_t)b;
    struct first_conn *first = NULL;
    struct pair_entry *e = pair_slot(h, f, hash, &first);
    h->st.updates++;
    if (!e) {                  /* the first: remembered, the statistics of one */
        struct first_conn *fc = first;
        if (fc->tag)
            h->st.firsts_forgotten++;
        *fc = (struct first_conn){ first_tag(hash), bytes, f->first_usec };
        if (!out || min_conns > 1)
            return false;
        eta_pair_compute(&fc->start, &fc->bytes, 1, out);
        out->conns = 1;
        return true;
    }
    if (first) {               /* the second: the pair's new entry takes both */
        add_conn(e, first->start, first->bytes);
        first->tag = 0;
    }
    e->last_use = ++h->clock;
    add_conn(e, f->first_usec, bytes);
    if (!out || e->n < min_conns)
        return false;
    uint32_t kept = e->n < ETA_HISTORY_CONNS ? e->n : ETA_HISTORY_CONNS;
    eta_pair_compute(e->start, e->bytes, kept, out);
    out->conns = e->n;
    return true;
}

void eta_history_counters(const struct eta_history *h, struct counters *r)
{
    const struct eta_history_stats *s = eta_history_stats(h);
    counters_u64(r, "eta.pairs_new", &s->pairs_new);
    counters_u64(r, "eta.pairs_kept", &s->pairs_kept);
    counters_u64(r, "eta.pairs_evicted", &s->evicted);
    counters_u64(r, "eta.first_connections_forgotten", &s->firsts_forgotten);
}
