/* flow_table.h -- the bidirectional flow table: lookup, timeouts, eviction.
 *
 * One hash table of flows with intrusive chains, and one LRU list per
 * timeout class (TCP new / established / closed, UDP new / established,
 * ICMP, other). Within a class every flow has the same timeout, so the head
 * of its list is always the next to expire: expiry is O(1) per flow, with no
 * timer wheel and no scan. Flows come from a pool sized by the memory cap;
 * when it is exhausted the oldest flow (closed ones first) is evicted, ended
 * with reason "forced" and counted. The table never grows past its cap.
 *
 * The table owns flow lifetime and TCP state. It does not reassemble and
 * does not write output: it calls the end callback, and the owner does.
 */
#ifndef NIGHTJAR_FLOW_TABLE_H
#define NIGHTJAR_FLOW_TABLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "flow/flow.h"

struct flow_config {
    uint64_t memcap;            /* bytes for flow state */
    uint32_t splt_len;          /* SPLT entries kept per flow */
    uint32_t timeout_tcp_new;   /* seconds */
    uint32_t timeout_tcp_established;
    uint32_t timeout_tcp_closed;
    uint32_t timeout_udp_new;
    uint32_t timeout_udp_established;
    uint32_t timeout_icmp;
    uint32_t timeout_other;
};

struct flow_table_stats {
    uint64_t created;
    uint64_t ended;
    uint64_t active;
    uint64_t evicted;           /* ended early because the table was full */
    uint64_t tcp_reuse;
    uint64_t expiry_full_walks; /* expiry looked at every flow of a list
                                   out of time order (time stepped back) */
    uint64_t by_reason[4];      /* enum flow_end_reason */
};

typedef void (*flow_end_fn)(void *ctx, struct flow *f,
                            enum flow_end_reason reason);

struct flow_table;

struct flow_table *flow_table_new(const struct flow_config *cfg,
                                  flow_end_fn on_end, void *ctx);
void flow_table_free(struct flow_table *t);

/* Finds or creates the flow of a decoded packet and updates its counters,
 * state and features. *dir is set to the packet's direction (0 toserver).
 * Returns NULL only if no flow could be had at all (memcap below one flow). */
struct flow *flow_table_packet(struct flow_table *t, const struct packet *p,
                               int *dir);

/* Packet time has reached `now_usec`: once a second of it (the same
 * checkpoints flow_table_packet() makes), the flows past their timeout
 * end. Worker threads (sensor/workers.c) are given these checkpoints by
 * the reader, so every worker expires flows at the times one would. */
void flow_table_advance(struct flow_table *t, uint64_t now_usec);
/* From now on only flow_table_advance() makes checkpoints, not packets. */
void flow_table_set_external_clock(struct flow_table *t);
/* External clock: the number of the packet about to be handled in the
 * whole input, which a flow it creates takes into its id instead of the
 * table's own count of flows (so ids do not depend on the worker). */
void flow_table_set_packet_ordinal(struct flow_table *t, uint64_t n);

/* Ends every flow whose timeout has passed at time `now_usec`. */
void flow_table_expire(struct flow_table *t, uint64_t now_usec);

/* Ends every flow (end of input, signal). */
void flow_table_flush(struct flow_table *t, enum flow_end_reason reason);

const struct flow_table_stats *flow_table_stats(const struct flow_table *t);
uint64_t flow_table_memory(const struct flow_table *t);
size_t flow_size(const struct flow_config *cfg);

/* Community ID v1 of a flow ("1:base64"), seed 0 unless configured. */
void flow_community_id(const struct flow *f, uint16_t seed, char *out,
                       size_t len);

/* Maps ICMP type/code to the "ports" flows are keyed on: type and
 * counter-type for request/response messages, type and code for one-way
 * ones (then returns true). Shared with Community ID so both agree. */
bool icmp_ports(uint8_t proto, uint8_t type, uint8_t code, uint16_t *sport,
                uint16_t *dport);

/* Per-packet feature update (flow_features.c). */
void flow_features_update(struct flow *f, const struct packet *p, int dir,
                          uint32_t splt_cap);

/* The text names EVE uses. */
const char *flow_state_name(enum flow_state s);
const char *flow_end_reason_name(enum flow_end_reason r);
const char *flow_initiator_name(enum flow_initiator i);

/* Addresses and ports of the client (0) or server (1) end. */
const struct ip_addr *flow_addr(const struct flow *f, int end);
uint16_t flow_port(const struct flow *f, int end);

/* The features' constant tables (called by flow_table_new). */
void flow_features_init(void);

struct counters;
/* Registers the table's counters under "flow". */
void flow_table_counters(const struct flow_table *t, struct counters *r);

#endif
