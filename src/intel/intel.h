/* intel.h -- a set of indicators of compromise and the lookups that match
 * traffic against it.
 *
 * An intel_set is built once from the indicators of every feed (an
 * intel_builder collects them) and is then read-only: lookups never lock,
 * never allocate and never change it, so a new set can be built beside the
 * one in use and swapped in between two packets. Addresses and networks
 * live in one hash table keyed by (family, prefix length, masked address);
 * a lookup tries the prefix lengths the set holds from the longest down, so
 * the most specific network wins. Every other indicator (domain, URL,
 * hashes, fingerprints, certificate names, e-mail addresses) is a
 * normalised string in a second table keyed by (type, string); a domain
 * matches itself and every name below it. Each entry points at its
 * metadata: feed, type, severity, confidence, reference and description.
 *
 * This file stores and finds indicators; it never reads feeds, never looks
 * at packets and never writes output.
 */
#ifndef NIGHTJAR_INTEL_H
#define NIGHTJAR_INTEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum ioc_type {
    IOC_IP, IOC_DOMAIN, IOC_URL, IOC_JA3, IOC_JA3S, IOC_JA4,
    IOC_CERT_SHA1, IOC_CERT_SHA256, IOC_CERT_SUBJECT, IOC_CERT_ISSUER,
    IOC_FILE_MD5, IOC_FILE_SHA1, IOC_FILE_SHA256, IOC_EMAIL,
    IOC_TYPES
};

/* "ip", "domain", "url", "ja3", ... (the names feeds and docs use). */
const char *ioc_type_name(enum ioc_type t);
bool ioc_type_parse(const char *name, enum ioc_type *t);

struct ioc {
    uint32_t feed;          /* index into the set's feed names */
    uint8_t type;           /* enum ioc_type */
    uint8_t severity;       /* 1 (high) .. 4 (low) */
    uint8_t confidence;     /* 0..100; 0 when the feed does not say */
    uint8_t prefix;         /* IOC_IP: prefix length */
    uint32_t value;         /* offsets into the set's text: the indicator */
    uint32_t reference;     /* as the feed wrote it, a reference URL or id */
    uint32_t description;   /* ... and what the feed says it is */
};

struct intel_set;
struct intel_builder;

struct intel_builder *intel_builder_new(void);
void intel_builder_free(struct intel_builder *b);

/* A feed's name; returns its index for intel_add. */
uint32_t intel_add_feed(struct intel_builder *b, const char *name);

/* Adds one indicator. The value is normalised here (domains and hashes to
 * lower case, a trailing dot dropped, URLs as intel_url_normalise says,
 * "a.b.c.d/nn" and "x::/nn" as networks). False (and nothing added) when
 * the value is not valid for its type. */
bool intel_add(struct intel_builder *b, uint32_t feed, enum ioc_type type,
               const char *value, uint8_t severity, uint8_t confidence,
               const char *reference, const char *description);

/* Consumes the builder. NULL only when out of memory. */
struct intel_set *intel_build(struct intel_builder *b);
void intel_set_free(struct intel_set *s);

size_t intel_count(const struct intel_set *s);
/* Whether the set holds any indicator of type t (so that, say, file MD5s
 * need computing at all). */
bool intel_holds(const struct intel_set *s, enum ioc_type t);
size_t intel_memory(const struct intel_set *s);
uint64_t intel_duplicates(const struct intel_set *s);
const char *intel_text(const struct intel_set *s, uint32_t off);
const char *intel_feed_name(const struct intel_set *s, uint32_t feed);

/* The most specific network holding addr (4 or 16 bytes), or NULL. */
const struct ioc *intel_match_ip(const struct intel_set *s,
                                 const uint8_t *addr, int family);

/* Exact match of a normalised value of type t (not for IOC_IP). */
const struct ioc *intel_match(const struct intel_set *s, enum ioc_type t,
                              const char *value);

/* A domain or any of its parents ("a.b.example.com" finds "example.com").
 * *exact says which. */
const struct ioc *intel_match_domain(const struct intel_set *s,
                                     const char *name, bool *exact);

/* URL as matched: scheme and host lower-cased, default port, fragment
 * and a trailing "/" on an empty path removed, "%xx" of unreserved
 * characters decoded. Writes at most outlen bytes; false if not a URL. */
bool intel_url_normalise(const char *url, char *out, size_t outlen);

#endif
