/* rsa_keys.h -- servers' RSA private keys, for TLS <= 1.2 sessions whose
 * premaster secret travels encrypted with the server's public key (RSA key
 * exchange).
 *
 * --rsa-key FILE[:ADDR:PORT] adds a PEM (or DER) private key, used for
 * every server or only for ADDR:PORT (an IPv6 address in brackets:
 * key.pem:[2001:db8::1]:443). A file name cannot hold ':'. Decryption is
 * PKCS#1 v1.5 through OpenSSL; a key whose modulus does not match the
 * ciphertext's length is not tried. This file never sees traffic; it
 * turns an encrypted premaster into a premaster or says it cannot.
 */
#ifndef NIGHTJAR_RSA_KEYS_H
#define NIGHTJAR_RSA_KEYS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "decrypt/tls_decrypt.h"

struct rsa_keys;

struct rsa_keys *rsa_keys_new(void);
void rsa_keys_free(struct rsa_keys *k);
/* FILE[:ADDR:PORT]; false with the reason in err. */
bool rsa_keys_add(struct rsa_keys *k, const char *spec, char *err,
                  size_t errlen);
size_t rsa_keys_count(const struct rsa_keys *k);
/* Some key may serve this server. */
bool rsa_keys_for(const struct rsa_keys *k, const struct tls_server_id *srv);
/* The 48-byte premaster from its encrypted form, with a key bound to srv
 * or to any server; false when no key opens it. */
bool rsa_keys_decrypt(const struct rsa_keys *k, const struct tls_server_id *srv,
                      const uint8_t *enc, size_t len, uint8_t pms[48]);

#endif
