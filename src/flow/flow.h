/* flow.h -- a bidirectional flow and its encrypted-traffic features.
 *
 * A flow is keyed by the normalised 5-tuple plus VLAN ids and the innermost
 * tunnel id, so the same conversation seen on two VLANs or in two tunnels is
 * two flows. Direction 0 is client to server ("toserver"), 1 the reverse.
 *
 * Everything here is metadata that stays readable when the payload is
 * encrypted: counts, sizes, timing, TCP header facts and a byte-distribution
 * summary of the first payload bytes. The per-flow features are fixed-size
 * (the SPLT array is sized once, at start, from the configuration) so a flow
 * never allocates after it is created. The size of a flow is in docs/eve.md.
 */
#ifndef NIGHTJAR_FLOW_H
#define NIGHTJAR_FLOW_H

#include <stdbool.h>
#include <stdint.h>

#include "decode/decode.h"
#include "flow/tcp_stream.h"

struct tls_session;
struct tls_summary;
struct app_flow;
struct tls_decrypt;
struct quic_decrypt;

struct flow_key {
    struct ip_addr lo, hi;  /* the two ends, lower (address, port) first */
    uint16_t lo_port, hi_port;
    uint32_t tunnel_id;
    uint16_t vlan[DECODE_MAX_VLANS];
    uint8_t proto;
    uint8_t ip_version;
    uint8_t tunnel;
    uint8_t pad;            /* always zero: keys are compared with memcmp */
};

enum flow_state { FLOW_STATE_NEW, FLOW_STATE_ESTABLISHED, FLOW_STATE_CLOSED };

enum flow_end_reason {
    FLOW_END_TIMEOUT,       /* idle for the timeout of its state */
    FLOW_END_FORCED,        /* evicted because the table was full */
    FLOW_END_SHUTDOWN,      /* end of input or a stop signal */
    FLOW_END_TCP_REUSE,     /* a new SYN on an established or closed connection */
};

/* How the client end was chosen. */
enum flow_initiator { INIT_SYN, INIT_SYNACK, INIT_FIRST_PACKET };

#define FLOW_ROUNDS_MAX 16  /* rounds whose packets and bytes are kept */
#define ENTROPY_BYTES 1024  /* payload bytes summarised per direction */

struct flow_dir {
    uint64_t pkts;
    uint64_t bytes;         /* whole frames, as Suricata and tshark count */
    uint64_t ip_bytes;      /* IP header + payload */
    uint64_t payload_bytes; /* transport payload */
    uint64_t payload_pkts;  /* packets with a transport payload */
    uint32_t size_min, size_max;  /* IP lengths */
    double size_sum, size_sumsq;
    uint32_t iat_min, iat_max;    /* microseconds, same direction */
    double iat_sum, iat_sumsq;
    uint64_t last_usec;
    uint8_t tcp_flags;
    uint8_t syn_seen;       /* a SYN was seen: syn_seq is its sequence */
    uint32_t syn_seq;
    uint8_t init_ttl;       /* TTL of the first packet */
    uint16_t init_win;      /* TCP window of the first packet */
    uint16_t mss;
    uint8_t wscale;         /* 0xff when absent */
    uint8_t has_entropy;
    float entropy;          /* bits per byte over the first payload bytes */
    float printable;        /* share of printable ASCII in those bytes */
    uint16_t entropy_bytes;
};

struct flow_round {
    uint8_t dir;
    uint16_t pkts;
    uint32_t bytes;         /* payload bytes */
};

struct splt_entry {
    uint16_t len;           /* payload length */
    uint8_t dir;
    uint32_t iat_usec;      /* since the previous entry, either direction */
};

struct flow {
    struct flow *hnext;                 /* hash chain */
    struct flow *lprev, *lnext;         /* timeout list */
    struct flow_key key;
    uint64_t id;                        /* EVE flow_id */
    uint32_t hash;
    uint8_t client_is_lo;               /* direction 0 starts at key.lo */
    uint8_t initiator;                  /* enum flow_initiator */
    uint8_t state;                      /* enum flow_state */
    uint8_t tclass;                     /* timeout class (flow_table.c) */
    uint8_t tcp_fin[2];                 /* FIN seen from each side */
    uint8_t tcp_rst;
    uint8_t app_proto;                  /* enum app_proto */
    uint8_t app_dir_seen;               /* directions app detection saw */
    uint64_t first_usec, last_usec;
    uint64_t last_payload_usec;         /* for SPLT inter-arrival times */
    struct flow_dir dir[2];
    uint32_t rounds;                    /* direction changes + 1 */
    uint8_t round_dir;                  /* direction of the current round */
    struct flow_round round[FLOW_ROUNDS_MAX];
    struct tcp_stream stream[2];
    struct tls_session *tls;            /* TLS state while handshaking */
    struct tls_summary *tls_sum;        /* what is kept once it is logged */
    struct app_flow *app;               /* HTTP/SMTP/DNS state (app_layer.c) */
    struct tls_decrypt *dec;            /* passive decryption (src/decrypt) */
    struct quic_decrypt *qdec;          /* the same for QUIC 1-RTT */
    uint8_t decrypted;                  /* cleartext came out of decryption */
    uint64_t decrypted_bytes[2];        /* that cleartext, per direction */
    uint8_t qdec_refused;               /* no QUIC state to be had (memcap) */
    uint32_t name_slot, name_gen;       /* passive DNS name of the server */
#define FLOW_INTEL_HITS 8
    uint32_t intel_hits[FLOW_INTEL_HITS]; /* indicators already alerted on */
    uint8_t n_intel_hits;
    uint8_t alerted;                    /* an alert named this flow */
    uint8_t decrypted_feed;             /* on a decrypted feed: cleartext on a
                                           TLS port is expected (detect/proxy.h) */
    uint16_t splt_n;                    /* entries used */
    struct splt_entry splt[];           /* flow_config.splt_len entries */
};

#endif
