/* content.h -- content detection on a buffer: the one place every front end
 * (the packet sensor's files and streams, and later the ICAP server and the
 * mail relay) sends decoded bytes to be judged.
 *
 * content_inspect() takes a buffer (a whole file, or the first bytes of one
 * that was too big to keep) and fills a struct content_result: the digests
 * files.hashes chooses (SHA-256 always under "auto", MD5 and SHA-1 when a
 * loaded feed holds such indicators or the user lists them), the type as
 * libmagic words it (a description and a MIME type: from the built-in
 * table, typetable.h, for the common types, from libmagic for the rest),
 * the YARA rules that matched with their namespace, tags, meta and the
 * first matching strings, and, when a file store is configured, where the
 * file was stored (by SHA-256, never overwriting). YARA rules are compiled
 * once when the engine is made; a scan has a time limit and the caps on
 * matches are counted. content_scan() is YARA alone, for stream windows.
 *
 * This module judges bytes; it never parses protocols, never writes EVE,
 * and never keeps a pointer to the caller's buffer.
 */
#ifndef NIGHTJAR_CONTENT_H
#define NIGHTJAR_CONTENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "content/filetype.h"
#include "util/digest.h"

#define CONTENT_MAX_MATCHES 8
#define CONTENT_MAX_META 8
#define CONTENT_MAX_STRINGS 4
#define CONTENT_PATH_MAX 1024

struct content_config {
    char yara_path[CONTENT_PATH_MAX];  /* rule file or directory; "" none */
    char filestore[CONTENT_PATH_MAX];  /* directory; "" to store nothing */
    uint32_t scan_timeout_sec;
    bool magic;                        /* identify types with libmagic */
    bool magic_text;                   /* ...also files that look like text */
    char hashes[CONTENT_PATH_MAX];     /* "auto", or "md5,sha1,sha256" or a subset */
};

struct content_match {
    char rule[128];
    char ns[64];
    char tags[256];                    /* space separated */
    unsigned n_meta;
    struct { char key[48]; char value[160]; } meta[CONTENT_MAX_META];
    unsigned n_strings;
    struct { char id[48]; uint64_t offset; uint32_t len; } strings[CONTENT_MAX_STRINGS];
};

struct content_result {
    struct file_hashes h;
    char magic[160];
    char mime[96];
    struct file_type type;             /* from the built-in table */
    bool stored;                       /* this call stored it */
    bool already_stored;               /* it was in the store already */
    bool scanned;                      /* YARA ran over the buffer */
    bool scan_error;                   /* timeout or libyara error */
    unsigned n_matches;
    struct content_match matches[CONTENT_MAX_MATCHES];
};

struct content_stats {
    uint64_t inspected, scanned, bytes_scanned, matches, matches_over_cap;
    uint64_t scan_errors, scan_timeouts, stored, already_stored, store_errors;
    uint64_t rules;
    uint64_t type_table_hits;                     /* typed by typetable.c */
    uint64_t type_high_entropy;                   /* random-looking: "data", no libmagic */
    uint64_t type_cache_hits;                     /* libmagic's answer by SHA-256 */
    uint64_t type_cache_misses;                   /* files libmagic typed (not remembered) */
    uint64_t type_cache_replaced;                 /* ...whose answer took another's slot */
    uint64_t type_magic_calls;                    /* magic_buffer() calls: 1 or 2 a miss */
    uint64_t text_untyped;                        /* text not given to libmagic */
    uint64_t scans_remembered;                    /* files not scanned: these
                                                     bytes were scanned clean */
    uint64_t clean_cache_replaced;                /* a clean file's entry took
                                                     another's slot */
    uint64_t rules_shared;                        /* 1: its rules are another
                                                     engine's, not compiled again */
};

struct content_engine;

/* Loads rules, opens the magic database, checks the file store. NULL with
 * a message naming the file and line when rules do not compile. */
struct content_engine *content_engine_new(const struct content_config *cfg,
                                          char *err, size_t errlen);
void content_engine_free(struct content_engine *e);

bool content_has_rules(const struct content_engine *e);
/* The digests to compute (util/digest.h mask), from content_config.hashes:
 * a list ("md5,sha1,sha256" or a subset) is taken as it is; "auto" (the
 * default) is SHA-256 plus what content_set_feed_hashes() last said. It can
 * change between two files, never within one (file.c reads it at
 * file_begin). */
unsigned content_hash_mask(const struct content_engine *e);
bool content_hashes_auto(const struct content_engine *e);
/* The digests the loaded intel feeds hold indicators of (a util/digest.h
 * mask; only MD5 and SHA-1 matter, SHA-256 is always computed). Changes the
 * mask only under "auto". Until it is called "auto" computes all three. */
void content_set_feed_hashes(struct content_engine *e, unsigned mask);
/* The chosen digests of buf, in one pass, with the engine's contexts. */
void content_digest(struct content_engine *e, const uint8_t *buf, size_t len,
                    struct file_hashes *out);

/* Hashes (unless `known` gives them for a file longer than buf), types,
 * scans and (if `store` and a store is configured) stores buf. */
void content_inspect(struct content_engine *e, const uint8_t *buf,
                     size_t len, const struct file_hashes *known, bool store,
                     struct content_result *r);

/* A file on disk: every byte hashed, the first max_bytes typed, scanned
 * and (if `store`) stored when the whole file fits. False with errno set
 * when the file cannot be read. */
bool content_inspect_file(struct content_engine *e, const char *path,
                          size_t max_bytes, bool store,
                          struct content_result *r);

/* YARA only. */
void content_scan(struct content_engine *e, const uint8_t *buf, size_t len,
                  struct content_result *r);

const struct content_stats *content_engine_stats(const struct content_engine *e);

/* Compiles the rules again from the same path and swaps them in; on an
 * error the old rules stay and err says why. */
bool content_reload_rules(struct content_engine *e, char *err, size_t errlen);
/* Changes when a rule file at path (a file, or the directory's list of
 * them) changes: size, modification time, name. 0 for "" (no YARA). */
uint64_t content_rules_signature(const char *path);
/* The rules in use: a file or directory; "" none. */
const char *content_rules_path(const struct content_engine *e);

/* A rule's "meta" value, or NULL. */
const char *content_match_meta(const struct content_match *m, const char *key);
/* signature_id for a rule: its "sid" meta, or a stable number in
 * 9,000,000..9,999,999 from namespace and name. */
uint32_t content_match_sid(const struct content_match *m);

#endif
