/* digest.c -- digests with pre-fetched algorithms (see digest.h). */
#include "util/digest.h"

#include <openssl/evp.h>

static const EVP_MD *algorithm(enum digest_alg alg)
{
    static EVP_MD *md[3];
    static const char *const names[3] = { "MD5", "SHA1", "SHA256" };
    if (!md[alg])
        md[alg] = EVP_MD_fetch(NULL, names[alg], NULL);
    return md[alg] ? md[alg] : EVP_sha256();
}

void digest(enum digest_alg alg, const void *data, size_t len, uint8_t *out)
{
    unsigned int n = 0;
    EVP_Digest(data, len, out, &n, algorithm(alg), NULL);
}

bool digest3_begin(struct digest3 *d)
{
    for (int i = 0; i < 3; i++) {
        if (!d->ctx[i] && !(d->ctx[i] = EVP_MD_CTX_new()))
            return false;
        if (!EVP_DigestInit_ex(d->ctx[i], algorithm((enum digest_alg)i), NULL))
            return false;
    }
    return true;
}

void digest3_update(struct digest3 *d, const void *data, size_t len)
{
    for (int i = 0; i < 3; i++)
        EVP_DigestUpdate(d->ctx[i], data, len);
}

void digest3_end(struct digest3 *d, struct file_hashes *out)
{
    unsigned int n;
    EVP_DigestFinal_ex(d->ctx[0], out->md5, &n);
    EVP_DigestFinal_ex(d->ctx[1], out->sha1, &n);
    EVP_DigestFinal_ex(d->ctx[2], out->sha256, &n);
}

void digest3_free(struct digest3 *d)
{
    for (int i = 0; i < 3; i++) {
        EVP_MD_CTX_free(d->ctx[i]);
        d->ctx[i] = NULL;
    }
}

void hex_lower(const uint8_t *d, size_t n, char *out)
{
    static const char hx[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = hx[d[i] >> 4];
        out[2 * i + 1] = hx[d[i] & 15];
    }
    out[2 * n] = '\0';
}
