/* eta_detect.h -- the encrypted-traffic model applied to finished flows.
 *
 * When a flow ends, its feature vector is built (eta_features.h) with the
 * pair statistics the pipeline's history gives (eta_history.h) and the
 * passive DNS answer for its server, and -- when the
 * flow had a TLS/QUIC handshake or enough payload packets -- scored with
 * the loaded model. A score at or over the threshold is a finding (eta
 * evidence: the score, the model version and the features that pushed the
 * score up most, ranked here) for the finding sink; this module never
 * writes output. The result of the last flow is handed back for its flow
 * record and for nightjar-train. One flow at a time; never allocates per
 * flow.
 */
#ifndef NIGHTJAR_ETA_DETECT_H
#define NIGHTJAR_ETA_DETECT_H

#include <stdbool.h>
#include <stdint.h>

#include "config/config.h"
#include "detect/finding.h"
#include "eta/eta_features.h"
#include "flow/flow.h"

struct dns_cache;
struct tls_summary;
struct eta_model;

struct eta_result {
    bool extracted;       /* the flow qualified: x holds its features */
    bool scored;          /* and a model scored it */
    bool alert;
    double score;
    float x[ETA_NFEATURES];
};

struct eta_detect_stats {
    uint64_t flows, extracted, scored, alerts, too_small;
    uint64_t score_nsec;  /* time spent scoring, for the stats record */
};

struct eta_detect;

/* NULL with a message in err when the model cannot be used. With
 * cfg->enabled false, returns a detector that does nothing. */
struct eta_detect *eta_detect_new(const struct eta_config *cfg, char *err,
                                  size_t errlen);
void eta_detect_free(struct eta_detect *d);

void eta_detect_set_dns(struct eta_detect *d, const struct dns_cache *dns);

/* The flow is finished: features, score, maybe an alert. pair: the
 * statistics of this client's connections to this server and port, this
 * one included (NULL: none kept). */
const struct eta_result *eta_on_flow_end(struct eta_detect *d, struct flow *f,
                                         const struct tls_summary *tls,
                                         const struct eta_pair_stats *pair,
                                         uint64_t ts_usec);

/* Which flows the model scores: a handshake, or enough payload packets. */
bool eta_detect_qualifies(const struct eta_detect *d, const struct flow *f,
                          const struct tls_summary *tls);

const struct eta_detect_stats *eta_detect_stats(const struct eta_detect *d);
const struct eta_model *eta_detect_model(const struct eta_detect *d);
uint64_t eta_detect_memory(const struct eta_detect *d);
/* Registers the model's counters under "eta". */
struct counters;
void eta_detect_counters(const struct eta_detect *d, struct counters *r);

/* Called with every alert, for the correlator. */
void eta_detect_set_sink(struct eta_detect *d, finding_fn fn, void *ctx);

#endif
