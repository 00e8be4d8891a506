/* judge.c -- the sensor's detectors on what a front end is handed (see
 * judge.h). */
#include "frontend/judge.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "correlate/incidents.h"
#include "detect/delivery.h"
#include "detect/home_net.h"
#include "detect/intel_detect.h"
#include "intel/intel_feeds.h"
#include "output/eve_finding.h"
#include "util/counters.h"

struct judge {
    struct nj_config cfg;
    struct eve *eve;
    struct intel_feeds *feeds;
    struct intel_detect *intel;
    struct incidents *incidents;
    struct home_net home;
    uint64_t generation;
    uint64_t feed_swaps;           /* intel_feeds_swaps() last seen */
    const struct event_subject *subj; /* of the transaction being judged */
    struct verdict *v;        /* ...and its verdict */
    bool quiet;               /* weigh findings only: no incident, no EVE */
    struct judge_stats st;
};

static void on_incident_closed(void *ctx, const struct incident *inc,
                               const char *reason, uint64_t now)
{
    struct judge *j = ctx;
    if (j->eve)
        eve_write_incident(j->eve, inc, "closed", reason, NULL, now);
}

/* Whether a finding is a reason to refuse what carried it: an indicator,
 * a content rule, a delivery that is proof on its own. */
static bool blocks(const struct finding *fd)
{
    if (fd->anomaly)
        return false;
    return fd->kind == FINDING_intel || fd->kind == FINDING_content ||
           (fd->kind == FINDING_delivery && fd->strong);
}

/* A finding in the verdict: counted, and the first that blocks names why. */
static void weigh(struct verdict *v, const struct finding *fd)
{
    if (!v)
        return;
    v->findings++;
    if (fd->blocked && !v->block) {
        v->block = true;
        v->sid = finding_sid(fd);
        snprintf(v->reason, sizeof(v->reason), "%s", fd->detail);
    }
}

/* Every finding of a transaction: named after the proxy's client,
 * correlated, written with what it changed (not when quiet), and weighed
 * for the verdict. */
static void on_finding(void *ctx, const struct finding *in)
{
    struct judge *j = ctx;
    struct finding fd = *in;
    const struct event_subject *s = j->subj;
    if (!fd.ip_version && s) {
        fd.ip_version = s->ip_version;
        fd.host = s->client;
        fd.port = s->server_port;
    }
    fd.blocked = j->v && blocks(&fd);
    if (!j->quiet) {
        struct incident_change ch = incidents_add(j->incidents, &fd);
        if (j->eve)
            eve_write_correlated(j->eve, &fd, &ch, (uint16_t)j->cfg.community_id_seed);
        j->st.findings++;
    }
    weigh(j->v, &fd);
}

struct judge *judge_new(const struct nj_config *cfg, struct eve *eve,
                                  char *err, size_t errlen)
{
    struct judge *j = calloc(1, sizeof(*j));
    if (!j) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    j->cfg = *cfg;
    j->eve = eve;
    j->generation = 1;
    if (!home_net_parse(&j->home, cfg->anomaly.home_nets, err, errlen))
        goto fail;
    if (cfg->n_intel_feeds || cfg->intel_dir[0]) {
        j->feeds = intel_feeds_new(cfg->intel_feeds, cfg->n_intel_feeds,
                                   cfg->intel_dir, stderr, err, errlen);
        if (!j->feeds)
            goto fail;
    }
    j->intel = intel_detect_new(j->feeds);
    j->incidents = incidents_new(1024, cfg->anomaly.incident_timeout,
                                 on_incident_closed, j);
    if (!j->intel || !j->incidents) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    intel_detect_set_sink(j->intel, on_finding, j);
    j->feed_swaps = j->feeds ? intel_feeds_swaps(j->feeds) : 0;
    return j;
fail:
    judge_free(j);
    return NULL;
}

void judge_free(struct judge *j)
{
    if (!j)
        return;
    incidents_free(j->incidents);
    intel_detect_free(j->intel);
    intel_feeds_free(j->feeds);
    free(j);
}

static void begin(struct judge *j, const struct event_subject *s,
                  struct verdict *v)
{
    j->subj = s;
    j->v = v;
}

static void end(struct judge *j)
{
    if (j->v && j->v->block)
        j->st.blocked++;
    j->subj = NULL;
    j->v = NULL;
}

void judge_request(struct judge *j, const struct event_subject *s,
                   uint64_t now, const struct http_tx *tx, struct verdict *v)
{
    j->st.requests++;
    begin(j, s, v);
    intel_check_http(j->intel, s, now, tx);
    end(j);
}

/* A content rule's match: its finding, about the client. */
static void content_findings(struct judge *j, uint64_t now,
                             const struct content_result *r,
                             const struct file_event *fl)
{
    for (unsigned i = 0; i < r->n_matches; i++) {
        struct finding fd;
        finding_of_content(&fd, &r->matches[i], fl, fl->dir, NULL, now);
        on_finding(j, &fd);
    }
}

void judge_body(struct judge *j, const struct event_subject *s,
                uint64_t now, const struct http_tx *tx,
                const struct judged_body *b, const struct content_result *r,
                struct verdict *v)
{
    j->st.bodies++;
    if (r->scan_error) {
        j->st.scan_errors++;
        v->failed = true;
        snprintf(v->reason, sizeof(v->reason), "YARA scan did not finish "
                 "(time limit or libyara error)");
    }
    const char *name = b->name ? b->name : "";
    struct file_event fl = { .name = name, .size = b->size,
                             .truncated = b->truncated, .dir = b->dir,
                             .r = r, .http = tx, .smtp = b->smtp };
    begin(j, s, v);
    intel_check_file(j->intel, s, now, &r->h, name);
    content_findings(j, now, r, &fl);
    bool mail = b->smtp != NULL;
    if (j->cfg.detect.delivery && (b->dir == 1 || mail)) {
        struct delivery_input in = {
            .subj = s, .tx = mail ? NULL : tx, .r = r, .name = name,
            .size = b->size, .dir = b->dir, .mail = mail, .ts_usec = now,
            .inside = home_net_contains(&j->home, s->ip_version, &s->server),
        };
        struct finding fd;
        if (delivery_judge(&in, &fd))
            on_finding(j, &fd);
    }
    end(j);
}

void judge_mail(struct judge *j, const struct event_subject *s, uint64_t now,
                const struct smtp_tx *tx, const struct email_info *em,
                struct verdict *v)
{
    j->st.requests++;
    begin(j, s, v);
    intel_check_smtp(j->intel, s, now, tx, em);
    end(j);
}

void judge_set_quiet(struct judge *j, bool quiet)
{
    j->quiet = quiet;
}

bool judge_url_listed(struct judge *j, const char *url)
{
    return intel_detect_url_listed(j->intel, url);
}

void verdict_merge(struct verdict *into, const struct verdict *v)
{
    into->findings += v->findings;
    if (v->failed && !into->failed && !into->block) {
        into->failed = true;
        snprintf(into->reason, sizeof(into->reason), "%s", v->reason);
    }
    if (v->block && !into->block) {
        into->block = true;
        into->sid = v->sid;
        snprintf(into->reason, sizeof(into->reason), "%s", v->reason);
    }
}

void judge_poll(struct judge *j, uint64_t wall_usec)
{
    if (j->feeds) {
        intel_feeds_poll(j->feeds, wall_usec);
        uint64_t swaps = intel_feeds_swaps(j->feeds);
        if (swaps != j->feed_swaps) {
            j->feed_swaps = swaps;
            j->generation++;
        }
    }
    incidents_tick(j->incidents, wall_usec);
}

void judge_request_reload(struct judge *j)
{
    if (j->feeds)
        intel_feeds_request_reload(j->feeds);
}

uint64_t judge_generation(const struct judge *j) { return j->generation; }

const struct judge_stats *judge_stats(const struct judge *j)
{
    return &j->st;
}

void judge_counters(const struct judge *j, struct counters *r)
{
    counters_u64(r, "judge.requests", &j->st.requests);
    counters_u64(r, "judge.bodies", &j->st.bodies);
    counters_u64(r, "judge.findings", &j->st.findings);
    counters_u64(r, "judge.blocked", &j->st.blocked);
    counters_u64(r, "judge.scan_errors", &j->st.scan_errors);
    intel_detect_counters(j->intel, r);
    incidents_counters(j->incidents, r);
}

void judge_finish(struct judge *j, uint64_t now)
{
    incidents_close_all(j->incidents, now);
}
