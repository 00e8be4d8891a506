/* finding.c -- the names of finding kinds and attack stages (finding.h). */
#include "detect/finding.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "flow/flow_table.h"

const char *const finding_kind_names[FINDING_COUNT] = {
#define X(name, what, stage) #name,
    FINDING_KINDS(X)
#undef X
};

const char *const finding_kind_what[FINDING_COUNT] = {
#define X(name, what, stage) what,
    FINDING_KINDS(X)
#undef X
};

const uint8_t finding_kind_stage[FINDING_COUNT] = {
#define X(name, what, stage) stage,
    FINDING_KINDS(X)
#undef X
};

const char *const attack_stage_names[STAGE_COUNT] = {
    "initial_access", "command_and_control", "reconnaissance",
    "lateral_movement", "exfiltration",
};

uint32_t finding_sid(const struct finding *fd)
{
    return fd->sid ? fd->sid : FINDING_SID_BASE + (uint32_t)fd->kind;
}

struct event_subject event_subject_of(struct flow *f)
{
    struct event_subject s = { .flow = f, .ip_version = f->key.ip_version,
                               .client = *flow_addr(f, 0), .server = *flow_addr(f, 1),
                               .server_known = true,
                               .client_port = flow_port(f, 0),
                               .server_port = flow_port(f, 1) };
    return s;
}

void finding_take_subject(struct finding *fd, const struct event_subject *s)
{
    if (s->flow && !s->forwarded)
        return;
    fd->ip_version = s->ip_version;
    fd->host = s->client;
    fd->peer = s->server;
    fd->has_peer = s->server_known;
    fd->port = s->server_port;
    fd->forwarded = s->forwarded;
}

/* A rule's severity meta (1 high .. 4 low), 2 when absent or wrong. */
static uint8_t rule_severity(const struct content_match *m)
{
    const char *sev = content_match_meta(m, "severity");
    long sv = sev ? atol(sev) : 2;
    return (uint8_t)(sv < 1 || sv > 4 ? 2 : sv);
}

void finding_of_content(struct finding *fd, const struct content_match *m,
                        const struct file_event *fl, int dir, struct flow *f,
                        uint64_t now)
{
    uint8_t sev = rule_severity(m);
    *fd = (struct finding){ .kind = FINDING_content, .stage = STAGE_INITIAL_ACCESS,
                            .severity = sev > 3 ? 3 : sev, .ts_usec = now,
                            .flow = f, .observed = NAN, .baseline = NAN,
                            .deviation = NAN, .sid = content_match_sid(m),
                            .evidence = EVIDENCE_CONTENT };
    fd->ev.content.match = m;
    fd->ev.content.file = fl;
    fd->ev.content.dir = dir;
    snprintf(fd->detail, sizeof(fd->detail), "YARA rule %s matched %s", m->rule,
             fl && fl->name && *fl->name ? fl->name : "the stream");
}
