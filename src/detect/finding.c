/* finding.c -- the names of finding kinds and attack stages (finding.h). */
#include "detect/finding.h"

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
