/* ja4.h -- JA4 (FoxIO, BSD 3-Clause), a pure function of a ClientHello.
 *
 * "t13d1516h2_8daaf6152771_e5627efa2ab1": protocol (t TLS over TCP, q QUIC,
 * d DTLS), version, SNI or not, cipher and extension counts, ALPN first and
 * last character; sha256 of the sorted ciphers; sha256 of the sorted
 * extensions (without SNI and ALPN) and the signature algorithms in order.
 * GREASE is ignored throughout. See docs/fingerprints.md.
 */
#ifndef NIGHTJAR_JA4_H
#define NIGHTJAR_JA4_H

#include "proto/tls.h"

#define JA4_LEN 48 /* 36 characters + NUL, with room */

void ja4_client(const struct tls_client_hello *ch, char proto, char out[JA4_LEN]);

#endif
