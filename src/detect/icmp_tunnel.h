/* icmp_tunnel.h -- data hidden in ICMP echo.
 *
 * An operating system answers an echo request by sending its data back,
 * byte for byte: that is what "echo" means, and every ping tool checks it.
 * Tunnels (ptunnel, icmpsh and their kin) use the reply to carry their own
 * data instead. So two hosts whose echo replies do not carry the data of
 * the request they answer -- three or more replies, at least half of them
 * different -- run a tunnel, whatever its sizes or timing. So do two hosts
 * whose echo requests carry new data under a sequence number that never
 * advances (three times or more): ping tools number every request; a
 * backdoor that reads commands from echo requests and leaves the kernel
 * to answer them (Pingback) has no need to. Either is a strong finding
 * (severity 1) about every internal end.
 *
 * State per pair of hosts, across flows (a slow tunnel outlives ICMP flow
 * timeouts): a fixed-size 4-way set-associative table allocated once, the
 * least recently seen pair replaced when a set is full (counted). Never
 * writes output.
 */
#ifndef NIGHTJAR_ICMP_TUNNEL_H
#define NIGHTJAR_ICMP_TUNNEL_H

#include <stdint.h>

#include "decode/decode.h"
#include "detect/finding.h"
#include "detect/home_net.h"
#include "flow/flow.h"

struct icmp_tunnel_stats {
    uint64_t echoes, pairs_evicted, tunnels;
};

struct icmp_tunnel;

struct icmp_tunnel *icmp_tunnel_new(uint32_t pairs, const struct home_net *home,
                                    finding_fn sink, void *ctx);
void icmp_tunnel_free(struct icmp_tunnel *t);
uint64_t icmp_tunnel_memory(const struct icmp_tunnel *t);
const struct icmp_tunnel_stats *icmp_tunnel_stats(const struct icmp_tunnel *t);
/* Registers the detector's counters under "detect.icmp_tunnel". */
struct counters;
void icmp_tunnel_counters(const struct icmp_tunnel *t, struct counters *r);

/* An ICMP or ICMPv6 packet of flow f (only echo is looked at). */
void icmp_tunnel_packet(struct icmp_tunnel *t, const struct flow *f,
                        const struct packet *p);

#endif
