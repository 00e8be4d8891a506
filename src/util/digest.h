/* digest.h -- MD5, SHA-1 and SHA-256 through OpenSSL, with the algorithms
 * fetched once: OpenSSL 3 looks an implicit algorithm up (under a lock) on
 * every call otherwise, which costs more than hashing a handshake. */
#ifndef NIGHTJAR_DIGEST_H
#define NIGHTJAR_DIGEST_H

#include <stddef.h>
#include <stdint.h>

enum digest_alg { DIGEST_MD5, DIGEST_SHA1, DIGEST_SHA256 };

/* Writes the digest (16, 20 or 32 bytes) of data into out. */
void digest(enum digest_alg alg, const void *data, size_t len, uint8_t *out);

#endif
