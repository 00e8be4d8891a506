/* finding.c -- the names of finding kinds and attack stages (finding.h). */
#include "detect/finding.h"

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
                               .client_port = flow_port(f, 0),
                               .server_port = flow_port(f, 1) };
    return s;
}
