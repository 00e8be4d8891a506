/* icap_judge.h -- what nightjar makes of what a web proxy hands it over
 * ICAP: the sensor's own detectors, run on an HTTP request and its body,
 * or a response and its body, without a flow.
 *
 * The request's URL and host go to threat intelligence (the same feeds,
 * reloaded the same way: SIGHUP or a changed file); a body, once content
 * detection has looked at it (hashes, type, the YARA rules: icap_scan.h),
 * goes to the file-hash indicators, its rule matches become findings and,
 * for a download, the delivery rules judge it. Each finding names the proxy's client as
 * its host, joins that host's incident in this process's correlator, and
 * is written as EVE with what it changed (alert, incident, compromise),
 * exactly as the sensor writes its own. The verdict blocks what a user
 * must not get: an indicator's URL, domain or file hash, a YARA match, a
 * delivery strong enough on its own (a lying executable); anomalies and
 * weaker delivery alerts are logged and passed.
 *
 * The generation number changes whenever a feed is reloaded: the server
 * derives its ISTag from it (and the rules' generation), so proxies drop
 * cached verdicts.
 *
 * This module decides; it never reads sockets and never speaks ICAP.
 */
#ifndef NIGHTJAR_ICAP_JUDGE_H
#define NIGHTJAR_ICAP_JUDGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config/config.h"
#include "content/content.h"
#include "detect/finding.h"
#include "output/eve.h"
#include "proto/http.h"

struct icap_verdict {
    bool block;              /* refuse the request or replace the response */
    bool failed;             /* judging could not finish (reason says why) */
    unsigned findings;       /* alerts and anomalies raised */
    uint32_t sid;            /* the first blocking finding's signature */
    char reason[512];        /* what blocked it, or why judging failed */
};

struct icap_judge_stats {
    uint64_t requests, bodies, findings, blocked, scan_errors;
};

struct icap_judge;

/* Feeds, rules and the correlator from cfg; eve may be NULL. NULL with
 * err set when a feed or the rules cannot be loaded. */
struct icap_judge *icap_judge_new(const struct nj_config *cfg, struct eve *eve,
                                  char *err, size_t errlen);
void icap_judge_free(struct icap_judge *j);

/* The request's URL and host (REQMOD, and the request a RESPMOD carries). */
void icap_judge_request(struct icap_judge *j, const struct event_subject *s,
                        uint64_t now, const struct http_tx *tx,
                        struct icap_verdict *v);

/* A body (dir 0: the request's upload, 1: the response) and what content
 * detection said of it (r): kept[0..len) are its first bytes, size its
 * whole length. */
struct icap_body {
    const char *name;        /* the file name it came under ("" none) */
    uint64_t size;
    bool truncated;
    int dir;
};
void icap_judge_body(struct icap_judge *j, const struct event_subject *s,
                     uint64_t now, const struct http_tx *tx,
                     const struct icap_body *b, const struct content_result *r,
                     struct icap_verdict *v);

/* Between transactions: swaps in reloaded feeds, closes idle incidents. */
void icap_judge_poll(struct icap_judge *j, uint64_t wall_usec);
/* SIGHUP: read the feeds again. */
void icap_judge_request_reload(struct icap_judge *j);
/* Changes whenever what judges changes. */
uint64_t icap_judge_generation(const struct icap_judge *j);

const struct icap_judge_stats *icap_judge_stats(const struct icap_judge *j);
struct counters;
void icap_judge_counters(const struct icap_judge *j, struct counters *r);
/* Ends every incident (shutdown). */
void icap_judge_finish(struct icap_judge *j, uint64_t now);

#endif
