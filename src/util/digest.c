/* digest.c -- digests with pre-fetched algorithms (see digest.h). */
#include "util/digest.h"

#include <pthread.h>
#include <string.h>
#include <strings.h>

#include <openssl/evp.h>

/* The algorithms, fetched once for the process (pthread_once): read-only
 * afterwards, whichever thread digests. */
static EVP_MD *md[3];
static pthread_once_t md_once = PTHREAD_ONCE_INIT;

static void fetch_all(void)
{
    static const char *const names[3] = { "MD5", "SHA1", "SHA256" };
    for (int i = 0; i < 3; i++)
        md[i] = EVP_MD_fetch(NULL, names[i], NULL);
}

static const EVP_MD *algorithm(enum digest_alg alg)
{
    pthread_once(&md_once, fetch_all);
    return md[alg] ? md[alg] : EVP_sha256();
}

void digest(enum digest_alg alg, const void *data, size_t len, uint8_t *out)
{
    unsigned int n = 0;
    EVP_Digest(data, len, out, &n, algorithm(alg), NULL);
}

unsigned digest_mask_parse(const char *list)
{
    static const char *const names[3] = { "md5", "sha1", "sha256" };
    unsigned mask = 0;
    while (*list) {
        size_t n = strcspn(list, ", ");
        int found = -1;
        for (int i = 0; i < 3; i++)
            if (n == strlen(names[i]) && !strncasecmp(list, names[i], n))
                found = i;
        if (n && found < 0)
            return 0;
        if (found >= 0)
            mask |= 1u << found;
        list += n;
        while (*list == ',' || *list == ' ')
            list++;
    }
    return mask;
}

bool digest3_begin(struct digest3 *d, unsigned mask)
{
    d->mask = mask ? mask : DIGEST_ALL;
    for (int i = 0; i < 3; i++) {
        if (!(d->mask & (1u << i)))
            continue;
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
        if (d->mask & (1u << i))
            EVP_DigestUpdate(d->ctx[i], data, len);
}

void digest3_end(struct digest3 *d, struct file_hashes *out)
{
    uint8_t *dst[3] = { out->md5, out->sha1, out->sha256 };
    static const size_t len[3] = { 16, 20, 32 };
    unsigned int n;
    for (int i = 0; i < 3; i++) {
        if (d->mask & (1u << i))
            EVP_DigestFinal_ex(d->ctx[i], dst[i], &n);
        else
            memset(dst[i], 0, len[i]);
    }
    out->mask = d->mask;
}

void digest3_all(struct digest3 *d, const void *data, size_t len,
                 struct file_hashes *out)
{
    const uint8_t *p = data;
    for (size_t off = 0; off < len; off += 65536)
        digest3_update(d, p + off, len - off < 65536 ? len - off : 65536);
    digest3_end(d, out);
}

/* One digest: one call. Several: one pass (digest3_all). */
void digest3_buffer(unsigned mask, const void *data, size_t len,
                    struct file_hashes *out)
{
    mask = mask ? mask : DIGEST_ALL;
    if (mask & (mask - 1)) {
        struct digest3 d = { { NULL, NULL, NULL }, 0 };
        if (digest3_begin(&d, mask)) {
            digest3_all(&d, data, len, out);
            digest3_free(&d);
            return;
        }
        digest3_free(&d);
    }
    uint8_t *dst[3] = { out->md5, out->sha1, out->sha256 };
    static const size_t n[3] = { 16, 20, 32 };
    out->mask = mask;
    for (int i = 0; i < 3; i++) {
        if (out->mask & (1u << i))
            digest((enum digest_alg)i, data, len, dst[i]);
        else
            memset(dst[i], 0, n[i]);
    }
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
