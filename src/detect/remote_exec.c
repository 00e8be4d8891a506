/* remote_exec.c -- remote execution between internal hosts, joined with
 * the alerts of either end (see remote_exec.h). */
#include "detect/remote_exec.h"

#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "flow/flow_table.h"
#include "proto/dcerpc.h"
#include "proto/http.h"
#include "util/counters.h"

#define OPS 512                /* remote operations remembered */
#define ALERTED 256            /* hosts with an alert */
#define CONTROLLERS 64         /* hosts seen serving Kerberos */
#define KERBEROS_PORT 88

enum how {
    HOW_SERVICE, HOW_TASK, HOW_WMI, HOW_DCOM, HOW_WINRM, HOW_REPLICATE, HOW_COUNT
};

static const char *const how_words[HOW_COUNT] = {
    "created or changed a service on it (svcctl)",
    "registered a scheduled task on it (Task Scheduler)",
    "executed a WMI method on it (IWbemServices.ExecMethod)",
    "created a DCOM object on it (RemoteCreateInstance)",
    "opened a WinRM session on it (POST /wsman)",
    "asked it to replicate the directory (DRSGetNCChanges)",
};

static const char *const how_names[HOW_COUNT] = {
    "remote_service", "remote_task", "remote_wmi", "remote_dcom", "winrm", "dcsync",
};

struct host_ref {
    uint8_t v;
    struct ip_addr a;
};

struct op {
    bool used;
    uint8_t how;
    bool anomaly_sent, src_blamed, dst_blamed;
    struct host_ref src, dst;
    uint16_t port;
    uint64_t first_usec, last_usec;
};

struct alerted {
    struct host_ref h;
    uint64_t first_usec;
    uint8_t kind;              /* its first alert's enum finding_kind */
};

struct remote_exec {
    struct home_net home;
    finding_fn sink;
    void *ctx;
    struct op ops[OPS];
    unsigned next_op;
    struct alerted alerted[ALERTED];
    unsigned n_alerted, next_alerted;
    struct host_ref dc[CONTROLLERS];
    unsigned n_dc, next_dc;
    struct remote_exec_stats st;
};

struct remote_exec *remote_exec_new(const struct home_net *home, finding_fn sink,
                                    void *ctx)
{
    struct remote_exec *r = calloc(1, sizeof(*r));
    if (!r)
        return NULL;
    r->home = *home;
    r->sink = sink;
    r->ctx = ctx;
    return r;
}

void remote_exec_free(struct remote_exec *r)
{
    free(r);
}

const struct remote_exec_stats *remote_exec_stats(const struct remote_exec *r)
{
    return &r->st;
}

void remote_exec_counters(const struct remote_exec *r, struct counters *c)
{
    counters_u64(c, "detect.remote_exec.operations", &r->st.operations);
    counters_u64(c, "detect.remote_exec.anomalies", &r->st.anomalies);
    counters_u64(c, "detect.remote_exec.alerts", &r->st.alerts);
    counters_u64(c, "detect.remote_exec.dcsync", &r->st.dcsync);
    counters_u64(c, "detect.remote_exec.replaced", &r->st.replaced);
    counters_u64(c, "detect.remote_exec.alerted_replaced", &r->st.alerted_replaced);
    counters_u64(c, "detect.remote_exec.controllers_replaced", &r->st.controllers_replaced);
}

static bool same(const struct host_ref *x, uint8_t v, const struct ip_addr *a)
{
    return x->v == v && !memcmp(&x->a, a, sizeof(*a));
}

static const struct alerted *alerted_of(const struct remote_exec *r, uint8_t v,
                                        const struct ip_addr *a)
{
    for (unsigned i = 0; i < r->n_alerted; i++)
        if (same(&r->alerted[i].h, v, a))
            return &r->alerted[i];
    return NULL;
}

static bool is_controller(const struct remote_exec *r, uint8_t v, const struct ip_addr *a)
{
    for (unsigned i = 0; i < r->n_dc; i++)
        if (same(&r->dc[i], v, a))
            return true;
    return false;
}

/* ---- findings ----------------------------------------------------------- */

static void finding_about(struct finding *fd, const struct host_ref *host,
                          const struct host_ref *peer, uint16_t port, uint64_t now,
                          bool anomaly, const char *indicators)
{
    memset(fd, 0, sizeof(*fd));
    fd->kind = FINDING_lateral_movement;
    fd->stage = finding_kind_stage[FINDING_lateral_movement];
    fd->anomaly = anomaly;
    fd->severity = anomaly ? 3 : 2;
    fd->ip_version = host->v;
    fd->host = host->a;
    fd->peer = peer->a;
    fd->has_peer = true;
    fd->peer_internal = true;
    fd->port = port;
    fd->ts_usec = now;
    fd->observed = fd->baseline = fd->deviation = NAN;
    snprintf(fd->indicators, sizeof(fd->indicators), "%s", indicators);
}

static void emit_finding(struct remote_exec *r, struct finding *fd)
{
    if (fd->anomaly)
        r->st.anomalies++;
    else
        r->st.alerts++;
    if (r->sink)
        r->sink(r->ctx, fd);
}

static const char *addr(const struct host_ref *h, char *buf, size_t n)
{
    return ip_addr_str(&h->a, h->v, buf, n);
}

/* The operation alone: an anomaly about its source. */
static void report_operation(struct remote_exec *r, struct op *o, const struct flow *f)
{
    char b[64];
    struct finding fd;
    finding_about(&fd, &o->src, &o->dst, o->port, o->first_usec, true, how_names[o->how]);
    fd.flow = f;
    snprintf(fd.detail, sizeof(fd.detail), "ran code on %s from afar: %s",
             addr(&o->dst, b, sizeof(b)), how_words[o->how]);
    o->anomaly_sent = true;
    emit_finding(r, &fd);
}

/* Replication asked by a host that never served Kerberos: an alert when
 * the domain controllers are known (some host served Kerberos), else an
 * anomaly -- nothing to tell a new controller from an intruder by. */
static void report_dcsync(struct remote_exec *r, const struct op *o, const struct flow *f)
{
    char b[64];
    struct finding fd;
    bool known = r->n_dc > 0;
    finding_about(&fd, &o->src, &o->dst, o->port, o->first_usec, !known, "dcsync");
    fd.flow = f;
    snprintf(fd.detail, sizeof(fd.detail), "asked %s to replicate the directory's "
             "secrets (DRSGetNCChanges) and %s: only domain controllers replicate "
             "(DCSync)", addr(&o->dst, b, sizeof(b)),
             known ? "is none of the hosts seen serving Kerberos"
                   : "no domain controller was seen serving Kerberos yet");
    r->st.dcsync += known;
    emit_finding(r, &fd);
}

/* The target of o had an alert after it: the source is blamed. */
static void blame_source(struct remote_exec *r, struct op *o, const struct finding *why)
{
    char b[64];
    struct finding fd;
    o->src_blamed = true;
    finding_about(&fd, &o->src, &o->dst, o->port, why->ts_usec, false, how_names[o->how]);
    snprintf(fd.detail, sizeof(fd.detail), "ran code on %s from afar (%s) %llu s "
             "before an alert on that host (%s): the intrusion came from here",
             addr(&o->dst, b, sizeof(b)), how_words[o->how],
             (unsigned long long)((why->ts_usec - o->first_usec) / 1000000u),
             finding_kind_names[why->kind]);
    emit_finding(r, &fd);
}

/* The source of o had an alert before it: the target is blamed. */
static void blame_target(struct remote_exec *r, struct op *o, const struct alerted *src)
{
    char b[64];
    struct finding fd;
    o->dst_blamed = true;
    finding_about(&fd, &o->dst, &o->src, o->port, o->last_usec, false, how_names[o->how]);
    snprintf(fd.detail, sizeof(fd.detail), "%s, which had an alert (%s) %llu s "
             "before, ran code on this host from afar: %s",
             addr(&o->src, b, sizeof(b)), finding_kind_names[src->kind],
             (unsigned long long)((o->first_usec - src->first_usec) / 1000000u),
             how_words[o->how]);
    emit_finding(r, &fd);
}

/* ---- operations --------------------------------------------------------- */

static struct op *op_of(struct remote_exec *r, const struct flow *f, enum how how,
                        uint64_t now, bool *fresh)
{
    uint8_t v = f->key.ip_version;
    const struct ip_addr *src = flow_addr(f, 0), *dst = flow_addr(f, 1);
    *fresh = false;
    for (unsigned i = 0; i < OPS; i++) {
        struct op *o = &r->ops[i];
        if (o->used && o->how == how && same(&o->src, v, src) && same(&o->dst, v, dst)) {
            o->last_usec = now;
            return o;
        }
    }
    struct op *o = &r->ops[r->next_op];
    r->next_op = (r->next_op + 1) % OPS;
    r->st.replaced += o->used;
    memset(o, 0, sizeof(*o));
    o->used = true;
    o->how = (uint8_t)how;
    o->src = (struct host_ref){ v, *src };
    o->dst = (struct host_ref){ v, *dst };
    o->port = flow_port(f, 1);
    o->first_usec = o->last_usec = now;
    *fresh = true;
    return o;
}

static void operation(struct remote_exec *r, const struct flow *f, enum how how,
                      uint64_t now)
{
    uint8_t v = f->key.ip_version;
    if (!home_net_contains(&r->home, v, flow_addr(f, 0)) ||
        !home_net_contains(&r->home, v, flow_addr(f, 1)))
        return;
    r->st.operations++;
    bool fresh;
    struct op *o = op_of(r, f, how, now, &fresh);
    if (!fresh)
        return;
    if (how == HOW_REPLICATE) {
        if (!is_controller(r, v, flow_addr(f, 0)))
            report_dcsync(r, o, f);
        return; /* between controllers: their everyday work */
    }
    report_operation(r, o, f);
    const struct alerted *src = alerted_of(r, v, flow_addr(f, 0));
    if (src && src->first_usec <= now && !o->dst_blamed)
        blame_target(r, o, src);
}

void remote_exec_on_rpc(struct remote_exec *r, const struct flow *f,
                        const struct dcerpc_call *call, uint64_t now)
{
    static const enum how of_op[RPC_OP_COUNT] = {
        [RPC_OP_SERVICE_CREATE] = HOW_SERVICE, [RPC_OP_TASK_CREATE] = HOW_TASK,
        [RPC_OP_WMI_EXEC] = HOW_WMI, [RPC_OP_DCOM_CREATE] = HOW_DCOM,
        [RPC_OP_REPLICATE] = HOW_REPLICATE,
    };
    if (!r || call->op == RPC_OP_NONE || call->op >= RPC_OP_COUNT)
        return;
    operation(r, f, of_op[call->op], now);
}

void remote_exec_on_http(struct remote_exec *r, const struct flow *f,
                         const struct http_tx *tx, uint64_t now)
{
    if (r && !strcmp(tx->method, "POST") && !strncasecmp(tx->uri, "/wsman", 6) &&
        (tx->uri[6] == '\0' || tx->uri[6] == '?' || tx->uri[6] == '/'))
        operation(r, f, HOW_WINRM, now);
}

void remote_exec_on_flow_end(struct remote_exec *r, const struct flow *f)
{
    if (!r || flow_port(f, 1) != KERBEROS_PORT || !f->dir[1].payload_pkts)
        return;
    uint8_t v = f->key.ip_version;
    const struct ip_addr *server = flow_addr(f, 1);
    if (is_controller(r, v, server))
        return;
    r->st.controllers_replaced += r->n_dc == CONTROLLERS;
    r->dc[r->next_dc] = (struct host_ref){ v, *server };
    r->next_dc = (r->next_dc + 1) % CONTROLLERS;
    if (r->n_dc < CONTROLLERS)
        r->n_dc++;
}

/* ---- the alerts of every detector --------------------------------------- */

void remote_exec_on_finding(struct remote_exec *r, const struct finding *fd)
{
    if (!r || fd->anomaly || !fd->ip_version)
        return;
    if (!alerted_of(r, fd->ip_version, &fd->host)) {
        r->st.alerted_replaced += r->n_alerted == ALERTED;
        struct alerted *a = &r->alerted[r->next_alerted];
        r->next_alerted = (r->next_alerted + 1) % ALERTED;
        if (r->n_alerted < ALERTED)
            r->n_alerted++;
        *a = (struct alerted){ { fd->ip_version, fd->host }, fd->ts_usec, (uint8_t)fd->kind };
    }
    for (unsigned i = 0; i < OPS; i++) {
        struct op *o = &r->ops[i];
        /* (an op whose target was blamed for its source: the source is known) */
        if (!o->used || o->src_blamed || o->dst_blamed || o->how == HOW_REPLICATE ||
            !same(&o->dst, fd->ip_version, &fd->host) || fd->ts_usec < o->first_usec ||
            fd->ts_usec - o->first_usec > REMOTE_EXEC_WINDOW_USEC)
            continue;
        blame_source(r, o, fd); /* may come back here with the source's alert */
    }
}
