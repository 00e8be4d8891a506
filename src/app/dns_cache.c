/* dns_cache.c -- passive DNS cache (see dns_cache.h).
 *
 * A set-associative table of answers (WAYS slots a set) beside an array of
 * tags: a slot's address hash, 0 when empty. Most lookups are for
 * addresses no answer named (every new flow's server is looked up), and
 * the tags -- 16 bytes a set -- answer them without reading the answers,
 * ~300 bytes a slot spread over a table of tens of MB: a miss no longer
 * brings a page of that table into memory, which on a sparse table was a
 * page fault a new address. */
#include "app/dns_cache.h"
#include "util/table_mem.h"

#include <stdlib.h>
#include <string.h>

#include "util/text.h"

#define WAYS 4

struct dns_cache {
    struct dns_cache_entry *e;
    uint32_t *tag;                 /* e's address hashes, 0: empty slot */
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
    c->tag = table_mem_alloc((size_t)c->sets * WAYS, sizeof(*c->tag));
    if (!c->e || !c->tag) {
        dns_cache_free(c);
        return NULL;
    }
    return c;
}

void dns_cache_free(struct dns_cache *c)
{
    if (!c)
        return;
    table_mem_free(c->e, (size_t)c->sets * WAYS, sizeof(*c->e));
    table_mem_free(c->tag, (size_t)c->sets * WAYS, sizeof(*c->tag));
    free(c);
}

static bool same(const struct dns_cache_entry *e, const struct ip_addr *a,
                 uint8_t v)
{
    return e->ip_version == v && memcmp(&e->addr, a, sizeof(*a)) == 0;
}

/* Never 0: that tag is an empty slot. */
static uint32_t addr_hash(const struct ip_addr *a, uint8_t v)
{
    uint32_t h = fnv1a(FNV1A_SEED ^ v, a, sizeof(*a));
    return h ? h : 1;
}

/* The slot of (a, v) in the set at base, or -1; reads an answer only
 * when its tag is the address's hash. */
static int find(const struct dns_cache *c, size_t base, uint32_t h,
                const struct ip_addr *a, uint8_t v)
{
    for (int i = 0; i < WAYS; i++)
        if (c->tag[base + (size_t)i] == h && same(&c->e[base + (size_t)i], a, v))
            return i;
    return -1;
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
    uint32_t h = addr_hash(a, v);
    size_t base = (size_t)(h % c->sets) * WAYS;
    struct dns_cache_entry *set = &c->e[base];
    int at = find(c, base, h, a, v);
    struct dns_cache_entry *slot = at >= 0 ? &set[at] : NULL;
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
            if (!c->tag[base + (size_t)i]) {
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
    c->tag[base + (size_t)(slot - set)] = h;
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
    uint32_t h = addr_hash(a, v);
    size_t base = (size_t)(h % c->sets) * WAYS;
    int i = find(c, base, h, a, v);
    if (i < 0)
        return false;
    const struct dns_cache_entry *e = &c->e[base + (size_t)i];
    if (expiry(c, e) < now || e->seen_usec > now) {
        c->st.expired++;
        return false;
    }
    c->st.hits++;
    ref->slot = (uint32_t)(base + (size_t)i);
    ref->gen = e->gen;
    return true;
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
    return (uint64_t)c->sets * WAYS * (sizeof(*c->e) + sizeof(*c->tag));
}
