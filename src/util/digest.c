/* digest.c -- one-shot digests with pre-fetched algorithms (see digest.h). */
#include "util/digest.h"

#include <openssl/evp.h>

void digest(enum digest_alg alg, const void *data, size_t len, uint8_t *out)
{
    static EVP_MD *md[3];
    static const char *const names[3] = { "MD5", "SHA1", "SHA256" };
    if (!md[alg])
        md[alg] = EVP_MD_fetch(NULL, names[alg], NULL);
    unsigned int n = 0;
    EVP_Digest(data, len, out, &n, md[alg] ? md[alg] : EVP_sha256(), NULL);
}
