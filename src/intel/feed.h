/* feed.h -- reading indicator feeds in the formats they are published in.
 *
 * One call reads one file into an intel_builder under the feed's name:
 *   list     one indicator a line, type detected (IP/CIDR, URL, e-mail,
 *            JA4, MD5/SHA-1/SHA-256 hex, else a domain); "#" comments
 *   csv      a column mapping: column=N (1-based), and type=T or
 *            type-column=N, delimiter=C, header=yes to skip the first row
 *   zeek     Zeek intel files as Zeek reads them (#fields with indicator,
 *            indicator_type, meta.*)
 *   sslbl    abuse.ch SSLBL certificate blacklist (Listingdate,SHA1,reason)
 *   ja3bl    abuse.ch SSLBL JA3 fingerprint blacklist
 *   feodo    abuse.ch Feodo Tracker IP blocklist, CSV or plain
 *   urlhaus  abuse.ch URLhaus CSV dump
 *   stix     STIX 2.1 bundles: indicators with simple patterns
 *   misp     MISP JSON event exports
 * "auto" (the default) recognises each of them from the file's first
 * bytes. What a feed holds that nightjar cannot use (an unsupported STIX
 * pattern, a MISP attribute type, a Zeek indicator type) is counted and the
 * first example named, never silently dropped.
 *
 * This file parses feeds; it never matches traffic and never writes EVE.
 */
#ifndef NIGHTJAR_FEED_H
#define NIGHTJAR_FEED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "intel/intel.h"

#define FEED_PATH_MAX 1024

struct feed_spec {
    char path[FEED_PATH_MAX];
    char name[128];           /* default: the file's name */
    char format[16];          /* "auto", "list", "csv", ... */
    int column;               /* csv: 1-based indicator column */
    int type_column;          /* csv: 1-based type column, 0 none */
    int type;                 /* -1: detect; else enum ioc_type */
    char delimiter;
    bool header;
    uint8_t severity;         /* 0: the format's default */
    uint8_t confidence;
};

struct feed_result {
    char format[16];          /* what was read */
    uint64_t added, invalid, unsupported;
    char unsupported_example[160];
    char invalid_example[160];
};

/* "[FORMAT[,key=value...]:]PATH", e.g. "zeek:/x/intel.dat",
 * "csv,column=2,type=domain,header=yes:/x/list.csv", "/x/feed.json". */
bool feed_spec_parse(const char *arg, struct feed_spec *spec, char *err,
                     size_t errlen);

/* Reads the whole file; false (with why) when it cannot be read or is not
 * the format it claims. */
bool feed_load(struct intel_builder *b, const struct feed_spec *spec,
               struct feed_result *r, char *err, size_t errlen);

/* The STIX and MISP readers (feed_json.c). */
bool feed_load_stix(struct intel_builder *b, uint32_t feed, const char *text,
                    size_t len, const struct feed_spec *spec,
                    struct feed_result *r, char *err, size_t errlen);
bool feed_load_misp(struct intel_builder *b, uint32_t feed, const char *text,
                    size_t len, const struct feed_spec *spec,
                    struct feed_result *r, char *err, size_t errlen);

/* Adds one indicator with the spec's overrides of severity and
 * confidence; counts it as added or invalid. */
void feed_add(struct intel_builder *b, uint32_t feed, enum ioc_type t,
              const char *v, const struct feed_spec *spec, uint8_t sev,
              uint8_t conf, const char *ref, const char *desc,
              struct feed_result *r);

/* Notes something a feed holds that nightjar does not use. */
void feed_unsupported(struct feed_result *r, const char *what);
void feed_invalid(struct feed_result *r, const char *what);

#endif
