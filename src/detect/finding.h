/* finding.h -- what a detector found, in the one shape the correlator and
 * the output read.
 *
 * Every detector (threat intelligence, content rules, the ETA model, host
 * baselines, behaviour models, delivery, C2 channels, tunnels, exfiltration)
 * describes what it saw as a finding: which host, which peer, what kind,
 * which attack stage it points to, how sure, its signature id (decided
 * here, in detect/), and the evidence -- a tagged union: the indicator and
 * feed that matched (intel), the rule and the file (content), the score
 * and the features that raised it (eta), or the observed value, the
 * baseline and how far off it is with the indicators seen (behaviour). A
 * finding is an alert or an anomaly (an outlier: logged at low severity,
 * never an alert by itself, counted when it joins an incident). The
 * correlator stamps incident_id; the output renders every kind.
 *
 * Detectors only emit findings; they never write output. Pointers in the
 * evidence are valid for the call the finding is handed in.
 */
#ifndef NIGHTJAR_FINDING_H
#define NIGHTJAR_FINDING_H

#include <stdbool.h>
#include <stdint.h>

#include "content/content.h"
#include "content/file.h"
#include "decode/decode.h"
#include "intel/intel.h"

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
    X(lateral_movement, "another internal host reached or run from afar", STAGE_LATERAL) \
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

/* signature ids: behaviour findings 9,400,000 + kind; the ETA model's,
 * intel's (8,000,000 + feed and indicator) and content rules' (their sid
 * meta, or 9,000,000 + a hash) are given by their detectors */
#define FINDING_SID_BASE 9400000u
#define ETA_ALERT_SID 9300001u
#define COMPROMISE_SID 9500001u

enum evidence_kind { EVIDENCE_BEHAVIOUR, EVIDENCE_INTEL, EVIDENCE_ETA, EVIDENCE_CONTENT };

/* An indicator of a feed matched a field of an event. */
struct intel_evidence {
    const struct intel_set *set;
    const struct ioc *ioc;
    const char *event;      /* "flow", "dns", "tls", "http", "smtp", "fileinfo" */
    const char *field;      /* "dest_ip", "tls.sni", ... */
    const char *value;      /* what the traffic showed */
    const char *how;        /* "exact", "subdomain", "network", "resolved" */
    char path[768];         /* the match in words */
};

/* The model scored a flow over its threshold; the features that raised
 * the score most, largest contribution first. */
#define ETA_TOP_MAX 16
struct eta_evidence {
    double score, threshold;
    const char *model;      /* version name */
    uint8_t n_top;
    struct {
        uint16_t feature;   /* index into eta_feature_names */
        float value, contribution;
    } top[ETA_TOP_MAX];
};

/* A content rule matched a file (file != NULL) or a stream window. */
struct content_evidence {
    const struct content_match *match;
    const struct file_event *file;
    int dir;
};

struct flow;
struct finding;

/* What an event is about: a flow's two ends, or -- for an event without a
 * flow (an ICAP transaction, a relayed mail) -- the client and server the
 * front end knows. flow is NULL then. */
struct event_subject {
    struct flow *flow;
    uint8_t ip_version;
    struct ip_addr client, server;
    bool server_known;        /* server is the server's address (a flow's
                                 always is; a URL may only name it) */
    bool forwarded;           /* client is the client a trusted proxy spoke
                                 for (detect/proxy.h), not the flow's */
    uint16_t client_port, server_port;
};
/* A flow's subject. */
struct event_subject event_subject_of(struct flow *f);

/* Where detectors send findings (the pipeline's correlator). */
typedef void (*finding_fn)(void *ctx, const struct finding *fd);

struct finding {
    enum finding_kind kind;
    uint8_t stage;            /* enum attack_stage */
    uint8_t severity;         /* 1 (high) .. 3 (low), as Suricata's */
    bool anomaly;             /* an outlier: an anomaly event, not an alert */
    bool strong;              /* enough on its own to call the host compromised */
    bool blocked;             /* a front end (ICAP, MTA) refused what carried it */
    bool forwarded;           /* host is the client a trusted proxy spoke for */
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
    uint32_t sid;             /* 0: the behaviour sid of its kind */
    uint64_t incident_id;     /* stamped by the correlator (0: none) */
    enum evidence_kind evidence;
    union {
        struct intel_evidence intel;
        struct eta_evidence eta;
        struct content_evidence content;
    } ev;
};

/* The finding is about what subject s names: its client and server when
 * it has no flow or speaks for a proxied client (forwarded); a flow's own
 * ends are left to the pipeline, which picks the internal one. */
void finding_take_subject(struct finding *fd, const struct event_subject *s);

/* The signature id of a finding. */
uint32_t finding_sid(const struct finding *fd);

/* A content rule's match as a finding (severity from the rule's
 * "severity" meta): about a file (fl) or a stream window (fl NULL) of flow
 * f, or of no flow (an ICAP transaction: the caller names the host). */
void finding_of_content(struct finding *fd, const struct content_match *m,
                        const struct file_event *fl, int dir, struct flow *f,
                        uint64_t now);

#endif
