/* decode_stats.h -- what the decoders saw and why they refused a packet.
 *
 * One counter per reason, declared once as an X-macro so the counters, their
 * names in the EVE stats event and the docs cannot drift apart. Decoders only
 * increment; output/ reads. Nothing here allocates.
 */
#ifndef NIGHTJAR_DECODE_STATS_H
#define NIGHTJAR_DECODE_STATS_H

#include <stdint.h>

/* X(name) -- name is also the JSON key under stats.decoder.invalid */
#define DECODE_ERRORS(X)          \
    X(link_truncated)             \
    X(link_unsupported)           \
    X(vlan_truncated)             \
    X(mpls_truncated)             \
    X(ppp_truncated)              \
    X(ipv4_truncated)             \
    X(ipv4_bad_version)           \
    X(ipv4_bad_header_len)        \
    X(ipv4_bad_total_len)         \
    X(ipv6_truncated)             \
    X(ipv6_bad_version)           \
    X(ipv6_bad_payload_len)       \
    X(ipv6_bad_ext_header)        \
    X(frag_bad)                   \
    X(frag_overlap)               \
    X(frag_too_big)               \
    X(tcp_truncated)              \
    X(tcp_bad_header_len)         \
    X(udp_truncated)              \
    X(udp_bad_len)                \
    X(sctp_truncated)             \
    X(icmp_truncated)             \
    X(gre_truncated)              \
    X(gre_unsupported)            \
    X(erspan_truncated)           \
    X(vxlan_truncated)            \
    X(geneve_truncated)           \
    X(gtp_truncated)              \
    X(too_many_layers)

enum decode_error {
#define X(n) DECODE_ERR_##n,
    DECODE_ERRORS(X)
#undef X
    DECODE_ERR_COUNT
};

struct decode_stats {
    uint64_t pkts;          /* frames handed to the decoder */
    uint64_t bytes;         /* their wire lengths */
    uint64_t ipv4, ipv6, tcp, udp, sctp, icmp, icmpv6, other_ip;
    uint64_t not_ip;        /* ARP, LLDP, STP, ... : fine, not ours */
    uint64_t vlan, mpls, tunnels;
    uint64_t ipv4_tso;      /* IPv4 total length 0: sized from the capture */
    uint64_t fragments, frag_reassembled, frag_timeouts, frag_evicted;
    uint64_t invalid;       /* sum of the reasons below */
    uint64_t err[DECODE_ERR_COUNT];
};

extern const char *const decode_error_names[DECODE_ERR_COUNT];

struct counters;
/* Registers every counter under "decoder". */
void decode_counters(const struct decode_stats *d, struct counters *r);

#endif
