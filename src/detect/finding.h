/* finding.h -- what a detector found, in the one shape the correlator and
 * the EVE writer read.
 *
 * Every detector (threat intelligence, the ETA model, host baselines,
 * behaviour models) describes what it saw as a finding: which host, which
 * peer, what kind, which attack stage it points to, how sure, and the
 * evidence -- the observed value, the baseline it was compared with and
 * how far off it is, in words too. A finding is either an alert (evidence
 * of an attack on its own) or an anomaly (an outlier: logged at low
 * severity, never an alert by itself, but counted when it joins other
 * findings in an incident). This header holds no state and no code.
 */
#ifndef NIGHTJAR_FINDING_H
#define NIGHTJAR_FINDING_H

#include <stdbool.h>
#include <stdint.h>

#include "decode/decode.h"

#define FINDING_KINDS(X)                                                    \
    X(intel, "threat intelligence match", STAGE_C2)                         \
    X(eta, "encrypted-traffic model", STAGE_C2)                             \
    X(content, "content signature", STAGE_INITIAL_ACCESS)                   \
    X(new_pair, "never-seen communication pair", STAGE_LATERAL)             \
    X(volume, "volume far above the host's baseline", STAGE_EXFIL)          \
    X(new_port, "port this host never used", STAGE_RECON)                   \
    X(proto_mismatch, "protocol does not match its port", STAGE_C2)         \
    X(beaconing, "regular connections to one destination", STAGE_C2)        \
    X(scan_horizontal, "one port on many hosts", STAGE_RECON)               \
    X(scan_vertical, "many ports on one host", STAGE_RECON)                 \
    X(lateral_movement, "new internal admin connection", STAGE_LATERAL)     \
    X(exfiltration, "outbound volume to a rare destination", STAGE_EXFIL)   \
    X(dga, "many failed lookups of random-looking names", STAGE_C2)         \
    X(dns_tunnel, "long random-looking DNS names or TXT volume", STAGE_EXFIL) \
    X(hourly_volume, "an hour's upload far above that hour's baseline", STAGE_EXFIL) \
    X(fanout, "far more new peers in an hour than usual", STAGE_RECON)       \
    X(delivery, "executable, script or macro document delivered", STAGE_INITIAL_ACCESS) \
    X(c2_channel, "connection that behaves like command and control", STAGE_C2) \
    X(icmp_tunnel, "ICMP echo that carries data", STAGE_C2)                  \
    X(cleartext_exfil, "credentials and data sent out in the clear", STAGE_EXFIL)

enum attack_stage {
    STAGE_INITIAL_ACCESS,
    STAGE_C2,
    STAGE_RECON,
    STAGE_LATERAL,
    STAGE_EXFIL,
    STAGE_COUNT
};

enum finding_kind {
#define X(name, what, stage) FINDING_##name,
    FINDING_KINDS(X)
#undef X
    FINDING_COUNT
};

extern const char *const finding_kind_names[FINDING_COUNT];
extern const char *const finding_kind_what[FINDING_COUNT];
extern const uint8_t finding_kind_stage[FINDING_COUNT];
extern const char *const attack_stage_names[STAGE_COUNT];

struct flow;
struct finding;

/* Where detectors send findings (the pipeline's correlator). */
typedef void (*finding_fn)(void *ctx, const struct finding *fd);

struct finding {
    enum finding_kind kind;
    uint8_t stage;            /* enum attack_stage */
    uint8_t severity;         /* 1 (high) .. 3 (low), as Suricata's */
    bool anomaly;             /* an outlier: an anomaly event, not an alert */
    bool strong;              /* enough on its own to call the host compromised */
    uint8_t ip_version;
    struct ip_addr host;      /* the host the finding is about */
    struct ip_addr peer;      /* the other end, when there is one */
    bool has_peer;
    bool peer_internal;
    uint16_t port;            /* the service port involved, 0 if none */
    uint64_t ts_usec;
    const struct flow *flow;  /* the flow that showed it, or NULL */
    double observed, baseline, deviation; /* NaN when they do not apply */
    const char *unit;         /* of observed/baseline: "bytes", "hosts", ... */
    char detail[512];         /* the evidence in words */
    char indicators[192];     /* what was seen, as space-separated names */
};

#endif
