/* eta_detect.h -- the encrypted-traffic model applied to finished flows.
 *
 * When a flow ends, its feature vector is built (eta_features.h) with the
 * pair history and the passive DNS answer for its server, and -- when the
 * flow had a TLS/QUIC handshake or enough payload packets -- scored with
 * the loaded model. A score at or over the threshold is an EVE alert
 * naming the score, the model version and the features that pushed the
 * score up most. Every flow's start goes into the pair history, scored or
 * not. The result of the last flow is handed back for its flow record and
 * for nightjar-train. One flow at a time; never allocates per flow.
 */
#ifndef NIGHTJAR_ETA_DETECT_H
#define NIGHTJAR_ETA_DETECT_H

#include <stdbool.h>
#include <stdint.h>

#include "config/config.h"
#include "eta/eta_features.h"
#include "flow/flow.h"
#include "output/eve.h"

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
struct eta_detect *eta_detect_new(const struct eta_config *cfg,
                                  struct eve *eve, uint16_t cid_seed,
                                  char *err, size_t errlen);
void eta_detect_free(struct eta_detect *d);

void eta_detect_set_dns(struct eta_detect *d, const struct dns_cache *dns);

/* The flow is finished: features, score, maybe an alert. */
const struct eta_result *eta_on_flow_end(struct eta_detect *d, struct flow *f,
                                         const struct tls_summary *tls,
                                         uint64_t ts_usec);

const struct eta_detect_stats *eta_detect_stats(const struct eta_detect *d);
const struct eta_model *eta_detect_model(const struct eta_detect *d);
uint64_t eta_detect_memory(const struct eta_detect *d);
/* The history's counters (pairs, evictions). */
const struct eta_history_stats *eta_detect_history_stats(const struct eta_detect *d);

#endif
