/* decode_stats.c -- the names of the decoder's error counters, for output. */
#include "decode/decode_stats.h"

#include "util/counters.h"

const char *const decode_error_names[DECODE_ERR_COUNT] = {
#define X(n) #n,
    DECODE_ERRORS(X)
#undef X
};

void decode_counters(const struct decode_stats *d, struct counters *r)
{
    counters_u64(r, "decoder.pkts", &d->pkts);
    counters_u64(r, "decoder.bytes", &d->bytes);
    counters_u64(r, "decoder.ipv4", &d->ipv4);
    counters_u64(r, "decoder.ipv6", &d->ipv6);
    counters_u64(r, "decoder.tcp", &d->tcp);
    counters_u64(r, "decoder.udp", &d->udp);
    counters_u64(r, "decoder.sctp", &d->sctp);
    counters_u64(r, "decoder.icmpv4", &d->icmp);
    counters_u64(r, "decoder.icmpv6", &d->icmpv6);
    counters_u64(r, "decoder.other_ip", &d->other_ip);
    counters_u64(r, "decoder.not_ip", &d->not_ip);
    counters_u64(r, "decoder.vlan", &d->vlan);
    counters_u64(r, "decoder.mpls", &d->mpls);
    counters_u64(r, "decoder.tunnels", &d->tunnels);
    counters_u64(r, "decoder.ipv4_tso", &d->ipv4_tso);
    counters_u64(r, "decoder.defrag.fragments", &d->fragments);
    counters_u64(r, "decoder.defrag.reassembled", &d->frag_reassembled);
    counters_u64(r, "decoder.defrag.timeouts", &d->frag_timeouts);
    counters_u64(r, "decoder.defrag.evicted", &d->frag_evicted);
    counters_u64(r, "decoder.invalid", &d->invalid);
    for (int i = 0; i < DECODE_ERR_COUNT; i++)
        counters_u64f(r, &d->err[i], "decoder.errors.%s", decode_error_names[i]);
}
