/* ja3.h -- JA3 and JA3S (Salesforce), pure functions of parsed hellos.
 *
 * JA3  = MD5("version,ciphers,extensions,groups,point_formats")
 * JA3S = MD5("version,cipher,extensions")
 * decimal values joined by '-', GREASE values left out, in the order sent.
 */
#ifndef NIGHTJAR_JA3_H
#define NIGHTJAR_JA3_H

#include <stddef.h>

#include "proto/tls.h"

#define JA3_STR_MAX 16384

/* Writes the JA3 string and its MD5 (32 hex + NUL). */
void ja3_client(const struct tls_client_hello *ch, char *str, size_t len,
                char hash[33]);
void ja3_server(const struct tls_server_hello *sh, char *str, size_t len,
                char hash[33]);

#endif
