/* incidents.h -- connecting the dots: findings joined per host into
 * incidents with attack stages and a score.
 *
 * Every finding of every detector arrives here. An alert-level finding
 * about a host opens an incident for it (or joins the open one that holds
 * the host); an anomaly joins an open incident but does not open one. A
 * lateral movement from host A to host B puts B into A's incident, so what
 * B does next -- beaconing out, say -- adds to the same incident: one
 * intruder, one incident, across hosts. The score counts each kind of
 * evidence once (an outlier 10, an alert its weight in docs/detection.md),
 * so repeating one kind does not raise it. An incident is "high" -- the
 * host is compromised -- when two independent detectors agree (two kinds
 * of alert-level evidence and a score of 60) or when one strong finding
 * joins (a detector sure on its own: a lying executable download, a C2
 * channel with overwhelming evidence, an ICMP tunnel); anomalies alone
 * never open an incident or make one high. When an incident turns high an
 * EVE `alert` of its own (signature 9500001, "host compromised") names the
 * hosts and the evidence. EVE `incident` events say
 * when an incident opens, escalates (its level rises) and closes (no new
 * finding for the timeout of traffic time -- the record is dated when the
 * timeout ran out --, or the end of input). An incident's id is a hash of
 * its first host and opening time, not a count, so any number of tables
 * (one per worker) give the same ids.
 *
 * The table is fixed-size; when every slot holds an open incident the
 * oldest is closed early (counted). It stamps each finding with its
 * incident's id and says what changed; the caller renders (the output
 * includes this header, never the other way). Never parses traffic, never
 * decides what is a finding.
 */
#ifndef NIGHTJAR_INCIDENTS_H
#define NIGHTJAR_INCIDENTS_H

#include <stdbool.h>
#include <stdint.h>

#include "detect/finding.h"

#define INCIDENT_HOSTS 8

enum incident_level { LEVEL_NONE, LEVEL_LOW, LEVEL_MEDIUM, LEVEL_HIGH };

struct incident {
    uint64_t id;                  /* 0: free slot */
    uint64_t opened_usec, last_usec;
    uint32_t kinds;               /* bit per enum finding_kind */
    uint32_t alert_kinds;         /* ...of those seen as an alert */
    bool strong;                  /* a finding strong on its own joined */
    bool compromised;             /* the host-compromised alert was written */
    uint8_t stages;               /* bit per enum attack_stage */
    uint8_t level;
    uint8_t n_hosts;
    bool open;
    uint32_t score, findings, alerts;
    struct {
        uint8_t v;
        struct ip_addr addr;
    } hosts[INCIDENT_HOSTS];
};

struct incidents_stats {
    uint64_t opened, escalated, closed, closed_early, findings, anomalies;
    uint64_t hosts_over_cap;
    uint64_t compromised;         /* incidents that turned high */
};

struct incidents;

/* An incident closed (reason "timeout", "end of input", "table full"). */
typedef void (*incident_closed_fn)(void *ctx, const struct incident *inc,
                                   const char *reason, uint64_t now_usec);

/* slots: open incidents at once; timeout_sec: traffic time without a new
 * finding before an incident closes; on_close may be NULL. */
struct incidents *incidents_new(uint32_t slots, uint32_t timeout_sec,
                                incident_closed_fn on_close, void *ctx);
void incidents_free(struct incidents *in);

/* What joining a finding changed. */
struct incident_change {
    const struct incident *inc;   /* NULL: an anomaly with no open incident */
    bool opened, escalated;       /* the incident event to write */
    bool compromised;             /* it just turned high: the 9500001 alert */
};

/* Joins a finding to its host's incident (opening one for an alert) and
 * stamps fd->incident_id. */
struct incident_change incidents_add(struct incidents *in, struct finding *fd);

/* Closes incidents idle for the timeout at now (traffic time). */
void incidents_tick(struct incidents *in, uint64_t now_usec);
/* Closes every open incident (end of input). */
void incidents_close_all(struct incidents *in, uint64_t now_usec);

const struct incidents_stats *incidents_stats(const struct incidents *in);
/* Registers the correlator's counters under "anomaly.incidents". */
struct counters;
void incidents_counters(const struct incidents *in, struct counters *r);
uint64_t incidents_memory(const struct incidents *in);

/* Points a kind of evidence adds to a score (docs/anomaly.md). */
uint32_t incident_weight(enum finding_kind k);
const char *incident_level_name(uint8_t level);

/* An observer (the response, src/response/) hears of an incident that
 * turned high -- and again when a host joins it while it is high -- and of
 * every incident that closes, after its EVE records were written. Called
 * on the packet thread, from incidents_add / _tick / _close_all; it must
 * not call back into the correlator, and must not block. */
enum incident_event { INCIDENT_HIGH, INCIDENT_CLOSED };
typedef void (*incidents_observer_fn)(void *ctx, const struct incident *inc,
                                      enum incident_event ev, uint64_t ts_usec);
void incidents_set_observer(struct incidents *in, incidents_observer_fn fn,
                            void *ctx);

/* For tests: the incident holding a host, or NULL. */
const struct incident *incidents_find(const struct incidents *in, uint8_t v,
                                      const struct ip_addr *a);

#endif
