/* judge.h -- what nightjar makes of what a front end is handed: a web
 * proxy's requests and responses over ICAP, mail in the relay's queue.
 * The sensor's own detectors, run on events without a flow.
 *
 * An HTTP request's URL and host, and a mail's sender, recipients, HELO,
 * headers' addresses and URLs go to threat intelligence (the same feeds,
 * reloaded the same way: SIGHUP or a changed file); a body or attachment,
 * once content detection has looked at it (hashes, type, the YARA rules:
 * icap/icap_scan.h), goes to the file-hash indicators, its rule matches
 * become findings and the delivery rules judge it (a download, or a mail
 * attachment). Each finding names the client (the proxy's browser, the
 * sending MTA) as its host, joins that host's incident in this process's
 * correlator, and is written as EVE with what it changed (alert,
 * incident, compromise), exactly as the sensor writes its own. The
 * verdict blocks what must not get through: an indicator, a YARA match, a
 * delivery strong enough on its own (a lying executable); anomalies and
 * weaker delivery alerts are logged and passed.
 *
 * The generation number changes whenever a feed is reloaded: the ICAP
 * server derives its ISTag from it, so proxies drop cached verdicts.
 *
 * This module decides; it never reads sockets and never speaks a protocol.
 */
#ifndef NIGHTJAR_FRONTEND_JUDGE_H
#define NIGHTJAR_FRONTEND_JUDGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config/config.h"
#include "content/content.h"
#include "detect/finding.h"
#include "output/eve.h"
#include "proto/http.h"
#include "proto/mime.h"
#include "proto/smtp.h"

struct verdict {
    bool block;              /* refuse what carried it */
    bool failed;             /* judging could not finish (reason says why) */
    unsigned findings;       /* alerts and anomalies raised */
    uint32_t sid;            /* the first blocking finding's signature */
    char reason[512];        /* what blocked it, or why judging failed */
};

struct judge_stats {
    uint64_t requests, bodies, findings, blocked, scan_errors;
};

struct judge;

/* Feeds, rules and the correlator from cfg; eve may be NULL. NULL with
 * err set when a feed or the rules cannot be loaded. */
struct judge *judge_new(const struct nj_config *cfg, struct eve *eve,
                        char *err, size_t errlen);
void judge_free(struct judge *j);

/* The request's URL and host (REQMOD, and the request a RESPMOD carries). */
void judge_request(struct judge *j, const struct event_subject *s,
                   uint64_t now, const struct http_tx *tx, struct verdict *v);

/* A body or attachment and what content detection said of it (r): an
 * HTTP upload (dir 0) or download (dir 1) of tx, or a mail attachment
 * (smtp set, tx NULL); size is its whole length. */
struct judged_body {
    const char *name;        /* the file name it came under ("" none) */
    uint64_t size;
    bool truncated;
    int dir;
    const struct smtp_tx *smtp;
};
void judge_body(struct judge *j, const struct event_subject *s,
                uint64_t now, const struct http_tx *tx,
                const struct judged_body *b, const struct content_result *r,
                struct verdict *v);

/* Quiet: findings only weigh in the verdict -- no incident, no EVE, not
 * counted as findings (judging again what a front end rewrote; the
 * requests and bodies judged are counted all the same). */
void judge_set_quiet(struct judge *j, bool quiet);

/* Whether a URL, or its host, is an indicator of a loaded feed (no
 * finding is raised: for rewriting, not for judging). */
bool judge_url_listed(struct judge *j, const char *url);

/* What a part's verdict adds to the whole's: its findings, and its block
 * or failure when the whole had none. */
void verdict_merge(struct verdict *into, const struct verdict *v);

/* A mail's envelope and headers (em may be NULL when it was not parsed). */
void judge_mail(struct judge *j, const struct event_subject *s, uint64_t now,
                const struct smtp_tx *tx, const struct email_info *em,
                struct verdict *v);

/* Between transactions: swaps in reloaded feeds, closes idle incidents. */
void judge_poll(struct judge *j, uint64_t wall_usec);
/* SIGHUP: read the feeds again. */
void judge_request_reload(struct judge *j);
/* Changes whenever what judges changes. */
uint64_t judge_generation(const struct judge *j);

const struct judge_stats *judge_stats(const struct judge *j);
struct counters;
void judge_counters(const struct judge *j, struct counters *r);
/* Ends every incident (shutdown). */
void judge_finish(struct judge *j, uint64_t now);

#endif
