/* anomaly.h -- host baselines, the outliers that violate them, and the
 * behaviour models that say whether an outlier is an attack.
 *
 * Every finished flow updates the profiles of its internal ends and its
 * communication pair (hosts.h); every DNS message updates the asking
 * host's DNS habits. After a learning period (per host, from when it was
 * first seen, and for the whole baseline), what departs from a host's
 * profile is an outlier -- a never-seen internal pair, a transfer far above
 * the host's robust baseline, a port the host never used -- logged as a
 * low-severity anomaly. Protocol/port mismatches need no baseline. The
 * behaviour models look for what attacks do and are alerts: beaconing
 * (regular connections to one destination, from the pair history),
 * horizontal and vertical scans (unanswered probes to many hosts or ports,
 * tracked per source in a bounded pool), lateral movement (a new internal
 * connection to an admin service, weighed up when the source was already
 * named), exfiltration (an outlier upload that dwarfs what came back, to a
 * rare destination), and DNS abuse (failed lookups of random-looking names;
 * long random-looking labels or TXT volume). Every finding goes to one
 * sink (the correlator) with its evidence. Never allocates per flow.
 */
#ifndef NIGHTJAR_ANOMALY_H
#define NIGHTJAR_ANOMALY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "detect/finding.h"
#include "detect/home_net.h"
#include "detect/hosts.h"
#include "eta/eta_features.h"
#include "flow/flow.h"

struct dns_msg;

struct anomaly_config {
    struct home_net home;
    uint32_t learning_sec;        /* before outliers are reported */
    double half_life_days;        /* of the per-hour EWMAs */
    uint32_t hosts, pairs;        /* table sizes */
    uint32_t scan_trackers;
    uint32_t scan_window_sec, scan_min_targets;
    uint32_t beacon_min_conns;
    double beacon_min_regularity;
    uint64_t exfil_min_bytes;
    double volume_min_z;          /* robust z of an outlier transfer */
    uint32_t dns_window_sec, dga_min_names, tunnel_min_names;
};

void anomaly_config_defaults(struct anomaly_config *c);


struct anomaly_stats {
    uint64_t flows, dns_messages, findings[FINDING_COUNT];
    uint64_t scan_trackers_evicted, learning_suppressed;
    uint64_t scan_sets_full;   /* a tracker's 64 targets were all taken */
};

struct anomaly;

struct anomaly *anomaly_new(const struct anomaly_config *c, finding_fn sink,
                            void *ctx);
void anomaly_free(struct anomaly *a);

/* A finished flow; pair: its pair statistics from the history, or NULL. */
void anomaly_on_flow(struct anomaly *a, const struct flow *f,
                     const struct eta_pair_stats *pair);
/* A DNS message on flow f (the client asks). */
void anomaly_on_dns(struct anomaly *a, const struct flow *f,
                    const struct dns_msg *m, uint64_t now_usec);
/* Another detector named this host: lateral movement from it weighs more. */
/* N workers: a host of this worker's answered a flow another worker keeps
 * (its client's). Its profile starts here as one pipeline's would have at
 * that flow's end (update_server), so the learning period runs from then
 * on the worker that judges the host as a client. */
void anomaly_note_server(struct anomaly *a, uint8_t v,
                         const struct ip_addr *server, uint64_t now_usec);
void anomaly_note_alert(struct anomaly *a, uint8_t v, const struct ip_addr *host,
                        uint64_t now_usec);

bool anomaly_is_internal(const struct anomaly *a, uint8_t v,
                         const struct ip_addr *addr);
struct hosts *anomaly_hosts(struct anomaly *a);
const struct anomaly_stats *anomaly_stats(const struct anomaly *a);
uint64_t anomaly_memory(const struct anomaly *a);

/* Registers the detector's counters under "anomaly". */
struct counters;
void anomaly_counters(const struct anomaly *a, struct counters *r);

#endif
