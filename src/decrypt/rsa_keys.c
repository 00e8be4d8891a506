/* rsa_keys.c -- RSA server keys for TLS <= 1.2 RSA key exchange. See
 * rsa_keys.h. */
#include "decrypt/rsa_keys.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#define RSA_KEYS_MAX 32

struct rsa_key {
    EVP_PKEY *pkey;
    size_t modulus_len;
    bool any_server;
    struct tls_server_id server;
};

struct rsa_keys {
    struct rsa_key key[RSA_KEYS_MAX];
    size_t n;
};

struct rsa_keys *rsa_keys_new(void) { return calloc(1, sizeof(struct rsa_keys)); }

void rsa_keys_free(struct rsa_keys *k)
{
    if (!k)
        return;
    for (size_t i = 0; i < k->n; i++)
        EVP_PKEY_free(k->key[i].pkey);
    free(k);
}

size_t rsa_keys_count(const struct rsa_keys *k) { return k ? k->n : 0; }

static EVP_PKEY *read_key(const char *path)
{
    FILE *fp = fopen(path, "rb");
    if (!fp)
        return NULL;
    EVP_PKEY *pk = PEM_read_PrivateKey(fp, NULL, NULL, NULL);
    if (!pk) {
        rewind(fp);
        pk = d2i_PrivateKey_fp(fp, NULL);
    }
    fclose(fp);
    ERR_clear_error();
    return pk;
}

/* "ADDR:PORT" or "[V6]:PORT" into srv. */
static bool parse_server(const char *s, struct tls_server_id *srv)
{
    char host[64];
    const char *colon = strrchr(s, ':');
    if (!colon || colon == s)
        return false;
    size_t hl = (size_t)(colon - s);
    if (s[0] == '[') {
        if (hl < 3 || s[hl - 1] != ']')
            return false;
        s++;
        hl -= 2;
    }
    if (hl >= sizeof(host))
        return false;
    memcpy(host, s, hl);
    host[hl] = 0;
    char *end;
    long port = strtol(colon + 1, &end, 10);
    if (*end || port < 1 || port > 65535)
        return false;
    memset(srv, 0, sizeof(*srv));
    srv->port = (uint16_t)port;
    if (inet_pton(AF_INET, host, srv->addr) == 1)
        return true;
    return inet_pton(AF_INET6, host, srv->addr) == 1;
}

bool rsa_keys_add(struct rsa_keys *k, const char *spec, char *err,
                  size_t errlen)
{
    char path[4096];
    const char *colon = strchr(spec, ':');
    size_t pl = colon ? (size_t)(colon - spec) : strlen(spec);
    if (pl == 0 || pl >= sizeof(path)) {
        snprintf(err, errlen, "--rsa-key %s: expected FILE[:ADDR:PORT]", spec);
        return false;
    }
    if (k->n >= RSA_KEYS_MAX) {
        snprintf(err, errlen, "--rsa-key: at most %d keys", RSA_KEYS_MAX);
        return false;
    }
    memcpy(path, spec, pl);
    path[pl] = 0;
    struct rsa_key *key = &k->key[k->n];
    memset(key, 0, sizeof(*key));
    key->any_server = !colon;
    if (colon && !parse_server(colon + 1, &key->server)) {
        snprintf(err, errlen, "--rsa-key %s: '%s' is not ADDR:PORT", spec,
                 colon + 1);
        return false;
    }
    key->pkey = read_key(path);
    if (!key->pkey) {
        snprintf(err, errlen, "--rsa-key %s: no private key could be read "
                 "from %s", spec, path);
        return false;
    }
    if (EVP_PKEY_get_base_id(key->pkey) != EVP_PKEY_RSA) {
        EVP_PKEY_free(key->pkey);
        snprintf(err, errlen, "--rsa-key %s: not an RSA key", spec);
        return false;
    }
    key->modulus_len = (size_t)EVP_PKEY_get_size(key->pkey);
    k->n++;
    return true;
}

static bool serves(const struct rsa_key *key, const struct tls_server_id *srv)
{
    return key->any_server ||
           (key->server.port == srv->port &&
            !memcmp(key->server.addr, srv->addr, sizeof(srv->addr)));
}

bool rsa_keys_for(const struct rsa_keys *k, const struct tls_server_id *srv)
{
    for (size_t i = 0; k && i < k->n; i++)
        if (serves(&k->key[i], srv))
            return true;
    return false;
}

static bool try_key(const struct rsa_key *key, const uint8_t *enc, size_t len,
                    uint8_t pms[48])
{
    uint8_t out[1024];
    size_t ol = sizeof(out);
    EVP_PKEY_CTX *c = EVP_PKEY_CTX_new(key->pkey, NULL);
    bool ok = c && EVP_PKEY_decrypt_init(c) == 1 &&
              EVP_PKEY_CTX_set_rsa_padding(c, RSA_PKCS1_PADDING) == 1 &&
              EVP_PKEY_decrypt(c, out, &ol, enc, len) == 1 && ol == 48;
    EVP_PKEY_CTX_free(c);
    ERR_clear_error();
    if (ok)
        memcpy(pms, out, 48);
    return ok;
}

bool rsa_keys_decrypt(const struct rsa_keys *k, const struct tls_server_id *srv,
                      const uint8_t *enc, size_t len, uint8_t pms[48])
{
    for (size_t i = 0; k && i < k->n; i++) {
        const struct rsa_key *key = &k->key[i];
        if (serves(key, srv) && key->modulus_len == len &&
            try_key(key, enc, len, pms))
            return true;
    }
    return false;
}
