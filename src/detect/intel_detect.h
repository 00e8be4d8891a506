/* intel_detect.h -- every connection checked against the indicator feeds.
 *
 * The pipeline and the application layer call in with what they saw: a
 * flow's two addresses when it starts (and the name the passive DNS cache
 * ties to its server), each DNS message, each TLS/QUIC handshake, each
 * HTTP transaction, each mail transaction and each extracted file. Each
 * value is looked up in every feed's set -- addresses by longest prefix,
 * names as themselves and as subdomains of an indicator, URLs normalised,
 * hashes, fingerprints and certificate names exactly -- and a match is an
 * EVE alert carrying the indicator, the feed, the field that matched and
 * how (exact, subdomain, resolved from), sent to the finding sink (the
 * correlator, then the output). One alert per indicator per flow.
 *
 * This module decides what matched; it never parses traffic or feeds and
 * never writes output.
 */
#ifndef NIGHTJAR_INTEL_DETECT_H
#define NIGHTJAR_INTEL_DETECT_H

#include <stdint.h>

#include "app/dns_cache.h"
#include "detect/finding.h"
#include "flow/flow.h"
#include "intel/intel_feeds.h"
#include "proto/dns.h"
#include "proto/http.h"
#include "proto/mime.h"
#include "proto/smtp.h"
#include "proto/tls.h"
#include "fingerprint/summary.h"
#include "util/digest.h"

struct intel_detect_stats {
    uint64_t lookups, matches, alerts, deduplicated;
    uint64_t dedup_full;  /* a flow matched more indicators than it remembers */
};

struct intel_detect;

/* feeds may be NULL (no feeds: every call returns at once). */
struct intel_detect *intel_detect_new(struct intel_feeds *feeds);
/* signature_id of a match: 8,000,000 + a number from feed and indicator. */
uint32_t intel_sid(const struct intel_evidence *ev);
void intel_detect_free(struct intel_detect *d);
void intel_detect_set_dns(struct intel_detect *d, const struct dns_cache *c);

/* Every match goes here as a finding (intel evidence). */
void intel_detect_set_sink(struct intel_detect *d, finding_fn fn, void *ctx);

void intel_on_flow_start(struct intel_detect *d, struct flow *f, uint64_t now);
void intel_on_dns(struct intel_detect *d, struct flow *f, uint64_t now,
                  const struct dns_msg *m);
/* sum: the handshake's summary (its fingerprints are not computed again). */
void intel_on_tls(struct intel_detect *d, struct flow *f, uint64_t now,
                  const struct tls_session *s, const struct tls_summary *sum);
void intel_on_http(struct intel_detect *d, struct flow *f, uint64_t now,
                   const struct http_tx *tx);
void intel_on_smtp(struct intel_detect *d, struct flow *f, uint64_t now,
                   const struct smtp_tx *tx, const struct email_info *em);
void intel_on_file(struct intel_detect *d, struct flow *f, uint64_t now,
                   const struct file_hashes *h, const char *name);

/* The same checks for events without a flow (ICAP transactions, relayed
 * mail): the subject names the client and server; nothing is
 * deduplicated (there is no flow to remember matches in). */
void intel_check_http(struct intel_detect *d, const struct event_subject *s,
                      uint64_t now, const struct http_tx *tx);
void intel_check_smtp(struct intel_detect *d, const struct event_subject *s,
                      uint64_t now, const struct smtp_tx *tx,
                      const struct email_info *em);
void intel_check_file(struct intel_detect *d, const struct event_subject *s,
                      uint64_t now, const struct file_hashes *h, const char *name);

const struct intel_detect_stats *intel_detect_stats(const struct intel_detect *d);
/* Registers the matcher's counters and the feeds' state under "intel". */
struct counters;
void intel_detect_counters(const struct intel_detect *d, struct counters *r);

/* Whether a URL or its host is an indicator of a loaded feed; raises no
 * finding (a front end deciding what to rewrite). */
bool intel_detect_url_listed(struct intel_detect *d, const char *url);

#endif
