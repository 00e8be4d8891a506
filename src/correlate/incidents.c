/* incidents.c -- findings joined into incidents (see incidents.h). */
#include "correlate/incidents.h"
#include "util/counters.h"
#include "util/hash.h"

#include <stdlib.h>
#include <string.h>


struct incidents {
    struct incident *slot;
    uint32_t n;
    uint64_t timeout_usec;
    incident_closed_fn on_close;
    void *ctx;
    struct incidents_stats st;
    incidents_observer_fn observer;
    void *observer_ctx;
};

void incidents_set_observer(struct incidents *in, incidents_observer_fn fn,
                            void *ctx)
{
    in->observer = fn;
    in->observer_ctx = ctx;
}

uint32_t incident_weight(enum finding_kind k)
{
    switch (k) {
    case FINDING_intel: case FINDING_content: case FINDING_delivery:
    case FINDING_c2_channel: case FINDING_icmp_tunnel: return 40;
    case FINDING_cleartext_exfil: return 35;
    case FINDING_lateral_movement: case FINDING_exfiltration: return 35;
    case FINDING_beaconing: case FINDING_dns_tunnel: return 30;
    case FINDING_eta: case FINDING_dga: return 25;
    case FINDING_scan_horizontal: case FINDING_scan_vertical: return 20;
    default: return 10; /* outliers: new_pair, volume, new_port, mismatch, hourly_volume, fanout */
    }
}

const char *incident_level_name(uint8_t level)
{
    static const char *const n[] = { "none", "low", "medium", "high" };
    return level < 4 ? n[level] : "?";
}

struct incidents *incidents_new(uint32_t slots, uint32_t timeout_sec,
                                incident_closed_fn on_close, void *ctx)
{
    struct incidents *in = calloc(1, sizeof(*in));
    if (!in)
        return NULL;
    in->n = slots ? slots : 1;
    in->slot = calloc(in->n, sizeof(*in->slot));
    if (!in->slot) {
        free(in);
        return NULL;
    }
    in->timeout_usec = (uint64_t)timeout_sec * 1000000u;
    in->on_close = on_close;
    in->ctx = ctx;
    return in;
}

void incidents_free(struct incidents *in)
{
    if (!in)
        return;
    free(in->slot);
    free(in);
}

const struct incidents_stats *incidents_stats(const struct incidents *in)
{
    return &in->st;
}

uint64_t incidents_memory(const struct incidents *in)
{
    return in ? sizeof(*in) + (uint64_t)in->n * sizeof(*in->slot) : 0;
}

static bool holds(const struct incident *inc, uint8_t v, const struct ip_addr *a)
{
    for (int i = 0; i < inc->n_hosts; i++)
        if (inc->hosts[i].v == v && memcmp(&inc->hosts[i].addr, a, sizeof(*a)) == 0)
            return true;
    return false;
}

const struct incident *incidents_find(const struct incidents *in, uint8_t v,
                                      const struct ip_addr *a)
{
    const struct incident *best = NULL;
    for (uint32_t i = 0; i < in->n; i++) {
        const struct incident *inc = &in->slot[i];
        if (inc->open && holds(inc, v, a) && (!best || inc->last_usec > best->last_usec))
            best = inc;
    }
    return best;
}

static void add_host(struct incidents *in, struct incident *inc, uint8_t v,
                     const struct ip_addr *a)
{
    if (holds(inc, v, a))
        return;
    if (inc->n_hosts >= INCIDENT_HOSTS) {
        in->st.hosts_over_cap++;
        return;
    }
    inc->hosts[inc->n_hosts].v = v;
    inc->hosts[inc->n_hosts].addr = *a;
    inc->n_hosts++;
}

static uint8_t level_of(const struct incident *inc)
{
    int alert_kinds = 0;
    for (int k = 0; k < FINDING_COUNT; k++)
        alert_kinds += (inc->alert_kinds >> k) & 1u;
    if (inc->strong || (inc->score >= 60 && alert_kinds >= 2))
        return LEVEL_HIGH;
    if (inc->score >= 30)
        return LEVEL_MEDIUM;
    return inc->score ? LEVEL_LOW : LEVEL_NONE;
}

static void close_incident(struct incidents *in, struct incident *inc,
                           const char *reason, uint64_t now)
{
    if (in->on_close)
        in->on_close(in->ctx, inc, reason, now);
    if (in->observer)
        in->observer(in->observer_ctx, inc, INCIDENT_CLOSED, now);
    in->st.closed++;
    memset(inc, 0, sizeof(*inc));
}


static bool id_taken(const struct incidents *in, uint64_t id)
{
    for (uint32_t i = 0; i < in->n; i++)
        if (in->slot[i].open && in->slot[i].id == id)
            return true;
    return false;
}

/* An incident's id names what opened it -- the host and the time of its
 * first alert -- not how many incidents came before: so the sensor gives
 * the same ids whether one pipeline or several workers (each with its own
 * table, sensor/workers.c) saw the traffic, and so does a replay. 53 bits,
 * which a JSON reader keeps exactly; never 0; an id an open incident holds
 * already (a 2^-53 chance) moves on by one. */
static uint64_t incident_id(const struct incidents *in, uint8_t v,
                            const struct ip_addr *host, uint64_t opened)
{
    uint64_t x, y;
    memcpy(&x, host->b, 8);
    memcpy(&y, host->b + 8, 8);
    uint64_t id = fmix64(fmix64(x ^ v) ^ fmix64(y) ^ opened) & ((1ull << 53) - 1);
    while (!id || id_taken(in, id))
        id = (id + 1) & ((1ull << 53) - 1);
    return id;
}

static struct incident *open_incident(struct incidents *in, uint8_t v,
                                      const struct ip_addr *host, uint64_t now)
{
    struct incident *free_slot = NULL, *oldest = NULL;
    for (uint32_t i = 0; i < in->n; i++) {
        struct incident *inc = &in->slot[i];
        if (!inc->open) {
            free_slot = inc;
            break;
        }
        if (!oldest || inc->last_usec < oldest->last_usec)
            oldest = inc;
    }
    if (!free_slot) {
        in->st.closed_early++;
        close_incident(in, oldest, "table full", now);
        free_slot = oldest;
    }
    memset(free_slot, 0, sizeof(*free_slot));
    free_slot->id = incident_id(in, v, host, now);
    free_slot->open = true;
    free_slot->opened_usec = now;
    return free_slot;
}

/* Each kind counts once: as an outlier (10) until it is seen as an
 * alert (its weight). */
static void account(struct incident *inc, const struct finding *fd)
{
    uint32_t bit = 1u << fd->kind;
    if (!(inc->kinds & bit)) {
        inc->kinds |= bit;
        inc->score += 10;
    }
    if (!fd->anomaly && !(inc->alert_kinds & bit)) {
        inc->alert_kinds |= bit;
        uint32_t w = incident_weight(fd->kind);
        inc->score += w > 10 ? w - 10 : 0;
    }
    inc->strong |= fd->strong && !fd->anomaly;
    inc->stages |= (uint8_t)(1u << fd->stage);
    inc->findings++;
    inc->alerts += !fd->anomaly;
    if (fd->ts_usec > inc->last_usec)
        inc->last_usec = fd->ts_usec;
}

struct incident_change incidents_add(struct incidents *in, struct finding *fd)
{
    struct incident_change ch = { 0 };
    in->st.findings++;
    in->st.anomalies += fd->anomaly;
    incidents_tick(in, fd->ts_usec);
    struct incident *inc = (struct incident *)incidents_find(in, fd->ip_version,
                                                             &fd->host);
    if (!inc && !fd->anomaly) {
        inc = open_incident(in, fd->ip_version, &fd->host, fd->ts_usec);
        add_host(in, inc, fd->ip_version, &fd->host);
        ch.opened = true;
        in->st.opened++;
    }
    fd->incident_id = inc ? inc->id : 0;
    if (!inc)
        return ch;
    uint8_t before = inc->level, hosts_before = inc->n_hosts;
    account(inc, fd);
    if (fd->kind == FINDING_lateral_movement && fd->has_peer)
        add_host(in, inc, fd->ip_version, &fd->peer); /* B joins A's incident */
    inc->level = level_of(inc);
    ch.inc = inc;
    ch.escalated = !ch.opened && inc->level > before;
    in->st.escalated += ch.escalated;
    if (inc->level == LEVEL_HIGH && !inc->compromised) {
        inc->compromised = true;
        in->st.compromised++;
        ch.compromised = true;
    }
    if (in->observer && inc->level == LEVEL_HIGH &&
        (before != LEVEL_HIGH || inc->n_hosts > hosts_before))
        in->observer(in->observer_ctx, inc, INCIDENT_HIGH, fd->ts_usec);
    return ch;
}

/* An idle incident closes at the time its timeout ran out, not at the
 * tick that noticed (a later finding, the periodic work): so the record's
 * time does not depend on what else the table holds (sensor/workers.c
 * gives each worker a table of its own). */
void incidents_tick(struct incidents *in, uint64_t now)
{
    for (uint32_t i = 0; i < in->n; i++) {
        struct incident *inc = &in->slot[i];
        if (inc->open && now > inc->last_usec + in->timeout_usec)
            close_incident(in, inc, "timeout", inc->last_usec + in->timeout_usec);
    }
}

void incidents_close_all(struct incidents *in, uint64_t now)
{
    for (uint32_t i = 0; i < in->n; i++)
        if (in->slot[i].open)
            close_incident(in, &in->slot[i], "end of input", now);
}

void incidents_counters(const struct incidents *in, struct counters *r)
{
    const struct incidents_stats *s = &in->st;
    counters_u64(r, "anomaly.incidents.opened", &s->opened);
    counters_u64(r, "anomaly.incidents.escalated", &s->escalated);
    counters_u64(r, "anomaly.incidents.closed", &s->closed);
    counters_u64(r, "anomaly.incidents.closed_early", &s->closed_early);
    counters_u64(r, "anomaly.incidents.findings", &s->findings);
    counters_u64(r, "anomaly.incidents.anomalies", &s->anomalies);
    counters_u64(r, "anomaly.incidents.hosts_over_cap", &s->hosts_over_cap);
    counters_u64(r, "anomaly.incidents.compromised", &s->compromised);
}
