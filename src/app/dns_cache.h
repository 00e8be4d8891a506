/* dns_cache.h -- passive DNS: which name an address was looked up as.
 *
 * Every A/AAAA answer seen on the wire is remembered as address -> the name
 * the client asked for (the question, not the end of a CNAME chain), with
 * the time it was seen and its TTL. A flow to that address started while
 * the answer was fresh (TTL plus a configurable grace, because clients keep
 * answers longer than they should) carries the name in its records, so an
 * indicator on a domain catches a connection that only shows an address.
 *
 * The cache is a fixed-size, 4-way set-associative table allocated once:
 * lookups and inserts touch one set, an insert into a full set replaces the
 * stalest entry, and a replaced entry that was still fresh is counted.
 * When one address answers for several names, the latest answer wins.
 * Never allocates after dns_cache_new; never does I/O.
 */
#ifndef NIGHTJAR_DNS_CACHE_H
#define NIGHTJAR_DNS_CACHE_H

#include <stdbool.h>
#include <stdint.h>

#include "decode/decode.h"

#define DNS_CACHE_NAME_MAX 256

struct dns_cache_entry {
    struct ip_addr addr;
    uint8_t ip_version;       /* 0: empty */
    uint8_t n_addrs;          /* A/AAAA records in the answer (context) */
    uint32_t ttl;
    uint32_t gen;             /* bumped on every reuse of the slot */
    uint64_t seen_usec;
    char name[DNS_CACHE_NAME_MAX];
};

struct dns_cache_stats {
    uint64_t inserts, updates, lookups, hits, expired, evicted_fresh;
};

struct dns_cache;

/* entries: rounded up to a multiple of 4; grace_sec added to every TTL. */
struct dns_cache *dns_cache_new(uint32_t entries, uint32_t grace_sec);
void dns_cache_free(struct dns_cache *c);

void dns_cache_insert(struct dns_cache *c, const struct ip_addr *a,
                      uint8_t ip_version, const char *name, uint32_t ttl,
                      uint8_t n_addrs, uint64_t now_usec);

/* The same, uncounted: an answer another worker's cache counted already
 * (sensor/workers.c copies every DNS answer to every worker). */
void dns_cache_learn(struct dns_cache *c, const struct ip_addr *a,
                     uint8_t ip_version, const char *name, uint32_t ttl,
                     uint8_t n_addrs, uint64_t now_usec);

/* A reference to the entry for a, fresh at now_usec, or false. The
 * reference stays valid until the slot is reused (dns_cache_get checks). */
struct dns_ref { uint32_t slot, gen; };
bool dns_cache_lookup(struct dns_cache *c, const struct ip_addr *a,
                      uint8_t ip_version, uint64_t now_usec,
                      struct dns_ref *ref);
const struct dns_cache_entry *dns_cache_get(const struct dns_cache *c,
                                            struct dns_ref ref);

const struct dns_cache_stats *dns_cache_stats(const struct dns_cache *c);
uint64_t dns_cache_memory(const struct dns_cache *c);

#endif
