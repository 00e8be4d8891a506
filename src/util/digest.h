/* digest.h -- MD5, SHA-1 and SHA-256 through OpenSSL, with the algorithms
 * fetched once: OpenSSL 3 looks an implicit algorithm up (under a lock) on
 * every call otherwise, which costs more than hashing a handshake.
 * One-shot for handshakes; streaming (all three at once) for files. */
#ifndef NIGHTJAR_DIGEST_H
#define NIGHTJAR_DIGEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum digest_alg { DIGEST_MD5, DIGEST_SHA1, DIGEST_SHA256 };

/* Writes the digest (16, 20 or 32 bytes) of data into out. */
void digest(enum digest_alg alg, const void *data, size_t len, uint8_t *out);

#define DIGEST_ALL 7u   /* a mask of (1 << enum digest_alg) */

struct file_hashes {
    uint8_t md5[16], sha1[20], sha256[32];
    unsigned mask;      /* which of them were computed */
};

/* "md5,sha1,sha256" (any of them, in any order) -> a mask; 0 if a name is
 * not one of those. */
unsigned digest_mask_parse(const char *list);

/* The digests of a file chosen by a mask, fed in pieces. The contexts are
 * made once and reset for every file. */
struct digest3 {
    void *ctx[3];
    unsigned mask;
};

bool digest3_begin(struct digest3 *d, unsigned mask);
void digest3_update(struct digest3 *d, const void *data, size_t len);
void digest3_end(struct digest3 *d, struct file_hashes *out);
void digest3_free(struct digest3 *d);
/* The whole of data after digest3_begin, then digest3_end: in 64 KiB
 * slices, each given to every digest while it is in the cache, rather than
 * the buffer read once per digest. */
void digest3_all(struct digest3 *d, const void *data, size_t len,
                 struct file_hashes *out);

/* The chosen digests of one buffer. */
void digest3_buffer(unsigned mask, const void *data, size_t len,
                    struct file_hashes *out);

void hex_lower(const uint8_t *d, size_t n, char *out); /* out: 2n+1 */

#endif
