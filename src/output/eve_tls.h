/* eve_tls.h -- the EVE `tls` event and the TLS summary of flow records.
 *
 * Suricata's names where it logs the same thing (tls.subject, issuerdn,
 * serial, fingerprint, sni, version, notbefore, notafter, ja3, ja3s, ja4,
 * client_alpns, server_alpns); nightjar's additions are documented in
 * docs/eve.md. Fingerprints are computed here, from the parsed hellos.
 */
#ifndef NIGHTJAR_EVE_TLS_H
#define NIGHTJAR_EVE_TLS_H

#include "fingerprint/summary.h"
#include "output/eve.h"
#include "proto/tls.h"

void eve_write_tls(struct eve *e, const struct flow *f,
                   const struct tls_session *s, uint64_t ts_usec,
                   uint16_t cid_seed);

/* The "tls" (or "quic") object of a flow record. */
void eve_tls_summary(struct json *j, const struct tls_summary *t);

#endif
