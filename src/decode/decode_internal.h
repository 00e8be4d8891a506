/* decode_internal.h -- how the decoder files hand a packet to one another.
 *
 * Each decode_*.c owns one family of headers and calls onward through the
 * functions declared here; the walk carries its state in a struct decode_ctx
 * so that no decoder keeps globals. Only decode/ includes this file.
 */
#ifndef NIGHTJAR_DECODE_INTERNAL_H
#define NIGHTJAR_DECODE_INTERNAL_H

#include "decode/decode.h"
#include "decode/defrag.h"
#include "util/cursor.h"

struct decode_ctx {
    struct packet *p;
    struct defrag *defrag;
    struct decode_stats *st;
    unsigned depth;       /* encapsulation layers walked so far */
    bool capture_cut;     /* the frame was cut by the snap length */
    uint32_t l4_declared; /* transport bytes the IP header declares */
};

/* Counts a decode error and returns DECODE_INVALID. */
static inline enum decode_result decode_fail(struct decode_ctx *d,
                                             enum decode_error e)
{
    d->st->err[e]++;
    return DECODE_INVALID;
}

/* Guards recursion through nested encapsulations. */
static inline bool decode_enter(struct decode_ctx *d)
{
    if (++d->depth > DECODE_MAX_DEPTH) {
        d->st->err[DECODE_ERR_too_many_layers]++;
        return false;
    }
    return true;
}

/* link layers (decode_link.c) */
enum decode_result decode_ethernet(struct decode_ctx *d, cursor_t c);
enum decode_result decode_ethertype(struct decode_ctx *d, uint16_t type,
                                    cursor_t c);
enum decode_result decode_ppp_proto(struct decode_ctx *d, cursor_t c);

/* network layer (decode_ip.c) */
enum decode_result decode_ipv4(struct decode_ctx *d, cursor_t c);
enum decode_result decode_ipv6(struct decode_ctx *d, cursor_t c);
enum decode_result decode_ip_any(struct decode_ctx *d, cursor_t c);

/* transport (decode_transport.c); c covers exactly the IP payload present */
enum decode_result decode_transport(struct decode_ctx *d, uint8_t proto,
                                    cursor_t c);

/* tunnels (decode_tunnel.c) */
enum decode_result decode_gre(struct decode_ctx *d, cursor_t c);

/* Tries the UDP payload as a tunnel; DECODE_NOT_IP when it is not one. */
enum decode_result decode_udp_tunnel(struct decode_ctx *d, uint16_t sport,
                                     uint16_t dport, cursor_t c);

#endif
