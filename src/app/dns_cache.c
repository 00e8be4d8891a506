/* dns_cache.c -- passive DNS cache (see dns_cache.h). */
#include "app/dns_cache.h"
#include "util/table_mem.h"

#include <stdlib.h>
#include <string.h>

#include "util/text.h"

#define WAYS 4

struct dns_cache {
    struct dns_cache_entry *e;
    uint32_t sets;
    uint32_t grace_sec;
    uint32_t next_gen;
    struct dns_cache_stats st;
};

struct dns_cache *dns_cache_new(uint32_t entries, uint32_t grace_sec)
{
    struct dns_cache *c = calloc(1, sizeof(*c));
    if (!c)
        return NULL;
    c->sets = entries / WAYS + 1;
    c->grace_sec = grace_sec;
    c->e = table_mem_alloc((size_t)c->sets * WAYS, sizeof(*c->e));
    if (!c->e) {
        free(c);
        return NULL;
    }
    return c;
}

void dns_cache_free(struct dns_cache *c)
{
    if (!c)
        return;
    table_mem_free(c->e, (size_t)c->sets * WAYS, sizeof(*c->e));
    free(c);
}

static uint32_t addr_hash(const struct ip_addr *a, uint8_t v)
{
    return fnv1a(FNV1A_SEED ^ v, a, sizeof(*a));
}

static bool same(const struct dns_cache_entry *e, const struct ip_addr *a,
                 uint8_t v)
{
    return e->ip_version == v && memcmp(&e->addr, a, sizeof(*a)) == 0;
}

static uint64_t expiry(const struct dns_cache *c,
                       const struct dns_cache_entry *e)
{
    return e->seen_usec + ((uint64_t)e->ttl + c->grace_sec) * 1000000u;
}

static void insert(struct dns_cache *c, const struct ip_addr *a, uint8_t v,
                   const char *name, uint32_t ttl, uint8_t n_addrs,
                   uint64_t now, bool counted)
{
    struct dns_cache_entry *set = &c->e[(size_t)(addr_hash(a, v) % c->sets) * WAYS];
    struct dns_cache_entry *slot = NULL;
    for (int i = 0; i < WAYS; i++)
        if (same(&set[i], a, v)) {
            slot = &set[i];
            break;
        }
    if (slot && strcmp(slot->name, name) == 0) {
        c->st.updates += counted; /* same answer again: refresh in place */
        slot->seen_usec = now;
        slot->ttl = ttl;
        slot->n_addrs = n_addrs;
        return;
    }
    if (!slot) {
        slot = &set[0];
        for (int i = 0; i < WAYS; i++) {
            if (!set[i].ip_version) {
                slot = &set[i];
                break;
            }
            if (expiry(c, &set[i]) < expiry(c, slot))
                slot = &set[i];
        }
        if (slot->ip_version && expiry(c, slot) > now)
            c->st.evicted_fresh += counted;
    }
    c->st.inserts += counted;
    slot->addr = *a;
    slot->ip_version = v;
    slot->ttl = ttl;
    slot->n_addrs = n_addrs;
    slot->seen_usec = now;
    slot->gen = ++c->next_gen;
    size_t n = strlen(name);
    if (n >= sizeof(slot->name))
        n = sizeof(slot->name) - 1;
    memcpy(slot->name, name, n);
    slot->name[n] = '\0';
}

void dns_cache_insert(struct dns_cache *c, const struct ip_addr *a,
                      uint8_t v, const char *name, uint32_t ttl,
                      uint8_t n_addrs, uint64_t now)
{
    insert(c, a, v, name, ttl, n_addrs, now, true);
}

void dns_cache_learn(struct dns_cache *c, const struct ip_addr *a,
                     uint8_t v, const char *name, uint32_t ttl,
                     uint8_t n_addrs, uint64_t now)
{
    insert(c, a, v, name, ttl, n_addrs, now, false);
}

bool dns_cache_lookup(struct dns_cache *c, const struct ip_addr *a,
                      uint8_t v, uint64_t now, struct dns_ref *ref)
{
    c->st.lookups++;
    size_t base = (size_t)(addr_hash(a, v) % c->sets) * WAYS;
    for (int i = 0; i < WAYS; i++) {
        struct dns_cache_entry *e = &c->e[base + (size_t)i];
        if (!same(e, a, v))
            continue;
        if (expiry(c, e) < now || e->seen_usec > now) {
            c->st.expired++;
            return false;
        }
        c->st.hits++;
        ref->slot = (uint32_t)(base + (size_t)i);
        ref->gen = e->gen;
        return true;
    }
    return false;
}

const struct dns_cache_entry *dns_cache_get(const struct dns_cache *c,
                                            struct dns_ref ref)
{
    if (!ref.gen || ref.slot >= c->sets * WAYS || c->e[ref.slot].gen != ref.gen)
        return NULL;
    return &c->e[ref.slot];
}

const struct dns_cache_stats *dns_cache_stats(const struct dns_cache *c)
{
    return &c->st;
}

uint64_t dns_cache_memory(const struct dns_cache *c)
{
    return (uint64_t)c->sets * WAYS * sizeof(*c->e);
}
