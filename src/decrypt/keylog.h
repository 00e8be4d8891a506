/* keylog.h -- the secrets that open TLS and QUIC sessions: NSS key log
 * files and the Decryption Secrets Blocks of pcapng captures.
 *
 * The NSS key log format is one secret per line, "LABEL <client random
 * hex> <secret hex>": CLIENT_RANDOM (a TLS <= 1.2 master secret), the TLS
 * 1.3 handshake and first traffic secrets of each side, the early traffic
 * secret, and the same labels prefixed "QUIC_" that early QUIC stacks
 * wrote; "RSA <first 8 bytes of the encrypted premaster> <premaster>" as
 * NSS logs RSA key exchanges. Comments (#) and exporter secrets are read
 * and ignored; any other line is counted as bad and named once on stderr.
 *
 * Secrets are kept by client random in an open-addressed table that grows
 * up to decrypt.keylog-max-entries; a secret past that cap is counted, not
 * kept. A key log file is followed as it grows (a browser's SSLKEYLOGFILE
 * during a live capture): keylog_refresh reads only the new complete lines
 * and starts over when the file was truncated. A pcapng file's
 * Decryption Secrets Blocks (type 0x0000000A, secrets type "TLSK") carry
 * the same text and go through the same parser.
 *
 * This file stores secrets; it never derives keys and never decrypts.
 */
#ifndef NIGHTJAR_KEYLOG_H
#define NIGHTJAR_KEYLOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Which secret of a session: the index into keylog_entry.secret. */
enum keylog_secret {
    KL_MASTER,       /* CLIENT_RANDOM: TLS <= 1.2 master secret (48) */
    KL_CLIENT_HS,    /* CLIENT_HANDSHAKE_TRAFFIC_SECRET */
    KL_SERVER_HS,    /* SERVER_HANDSHAKE_TRAFFIC_SECRET */
    KL_CLIENT_AP,    /* CLIENT_TRAFFIC_SECRET_0 */
    KL_SERVER_AP,    /* SERVER_TRAFFIC_SECRET_0 */
    KL_CLIENT_EARLY, /* CLIENT_EARLY_TRAFFIC_SECRET */
    KL_N
};

#define KEYLOG_SECRET_MAX 64

struct keylog_entry {
    uint8_t client_random[32];
    uint8_t have;                    /* 1 << enum keylog_secret */
    uint8_t len[KL_N];
    uint8_t secret[KL_N][KEYLOG_SECRET_MAX];
};

struct keylog_stats {
    uint64_t lines, secrets, bad_lines, entries_over_cap;
    uint64_t rsa_premasters, files_read, reloads, truncations, dsb_blocks;
    uint64_t dsb_over_cap;       /* a secrets block over 16 MiB, skipped */
    uint64_t lookups, hits;
};

struct keylog;

/* max_entries: sessions whose secrets are kept (0: a default of 65536). */
struct keylog *keylog_new(size_t max_entries);
void keylog_free(struct keylog *kl);

/* Follows a key log file: read now, then again by keylog_refresh. False
 * (with the reason in err) when it cannot be opened. */
bool keylog_add_file(struct keylog *kl, const char *path, char *err,
                     size_t errlen);
/* Reads what the followed files gained since the last read. Cheap when
 * nothing changed (one stat per file); at most every 10 ms of wall
 * clock. Returns true when new secrets arrived. */
bool keylog_refresh(struct keylog *kl);

/* Key log text (complete lines; a last line without newline counts too).
 * origin names the source in the one bad-line message. */
void keylog_add_text(struct keylog *kl, const char *text, size_t len,
                     const char *origin);

/* The Decryption Secrets Blocks of a pcapng file, read ahead of its
 * packets. Returns the number of blocks read (0 for a pcap file, one
 * without secrets, or what is not a regular file -- a pipe's bytes can be
 * read only once, by the capture -- and -1 when the file cannot be read). */
int keylog_add_pcapng_secrets(struct keylog *kl, const char *path);

/* The secrets of a client random, or NULL. Valid until the next add or
 * refresh. */
const struct keylog_entry *keylog_find(struct keylog *kl,
                                       const uint8_t client_random[32]);
/* A premaster secret logged by the first 8 bytes of its RSA-encrypted
 * form ("RSA" lines); false when not known. */
bool keylog_find_rsa(const struct keylog *kl, const uint8_t enc_prefix[8],
                     uint8_t premaster[48]);

size_t keylog_count(const struct keylog *kl);
struct counters;
/* Registers "keylog.*". */
void keylog_counters(const struct keylog *kl, struct counters *r);
const struct keylog_stats *keylog_stats(const struct keylog *kl);

#endif
