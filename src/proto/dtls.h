/* dtls.h -- DTLS 1.0/1.2/1.3 handshakes over UDP (RFC 6347, RFC 9147).
 *
 * Reads the clear-text epoch-0 records of each datagram, reassembles
 * handshake messages from their fragments (message_seq, fragment_offset,
 * fragment_length) and hands ClientHello and ServerHello to the TLS parser,
 * so DTLS sessions get the same record, JA3 and JA4 ("d") as TLS. Encrypted
 * records are skipped; malformed ones are counted and end the datagram.
 */
#ifndef NIGHTJAR_DTLS_H
#define NIGHTJAR_DTLS_H

#include <stddef.h>
#include <stdint.h>

#include "proto/tls.h"

void dtls_datagram(struct tls_pool *p, struct tls_session *s, int dir,
                   const uint8_t *data, size_t len, struct tls_stats *st);

#endif
