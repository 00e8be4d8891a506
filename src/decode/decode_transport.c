/* decode_transport.c -- TCP, UDP, SCTP, ICMP, ICMPv6, and the hand-off to
 * tunnels.
 *
 * Owns the transport headers: ports, TCP flags, sequence numbers, window and
 * the options the flow features want (MSS, window scale); of SCTP only the
 * common header's ports (RFC 9260 3.1), so that each association is its own
 * flow and Community ID hashes its ports, as the specification says; its
 * chunks are the payload, not parsed. UDP and IP
 * protocols that carry tunnels are passed to decode_tunnel.c; if a UDP
 * payload on a tunnel port does not decode as that tunnel, the packet stays
 * a plain UDP packet, as it would for any other tool.
 */
#include <string.h>

#include "decode/decode_internal.h"

static void tcp_options(struct packet *p, cursor_t o)
{
    while (cur_ok(&o) && cur_left(&o) > 0) {
        uint8_t kind = cur_u8(&o);
        if (kind == 0)
            return;
        if (kind == 1)
            continue;
        uint8_t len = cur_u8(&o);
        if (len < 2)
            return;
        cursor_t v = cur_sub(&o, len - 2u);
        if (kind == 2 && len == 4)
            p->tcp_mss = cur_u16be(&v);
        else if (kind == 3 && len == 3)
            p->tcp_wscale = cur_u8(&v);
    }
}

/* A transport header of HLEN bytes read from HDR (LEN bytes with its
 * payload) whose payload starts at C: the packet's ports (ICMP: type and
 * code), layer-4 bytes and payload. */
static enum decode_result set_l4(struct decode_ctx *d, const uint8_t *hdr,
                                 size_t len, uint32_t hlen, uint16_t sport,
                                 uint16_t dport, cursor_t c)
{
    struct packet *p = d->p;
    p->sport = sport;
    p->dport = dport;
    p->l4 = hdr;
    p->l4_len = (uint32_t)len;
    p->payload = c.p;
    p->payload_len = (uint32_t)cur_left(&c);
    p->payload_wire_len = d->l4_declared > hlen ? d->l4_declared - hlen : 0;
    return DECODE_OK;
}

static enum decode_result decode_tcp(struct decode_ctx *d, cursor_t c)
{
    struct packet *p = d->p;
    const uint8_t *hdr = c.p;
    size_t seg_len = cur_left(&c);
    p->sport = cur_u16be(&c);
    p->dport = cur_u16be(&c);
    p->tcp_seq = cur_u32be(&c);
    p->tcp_ack = cur_u32be(&c);
    uint8_t off = cur_u8(&c);
    p->tcp_flags = cur_u8(&c);
    p->tcp_win = cur_u16be(&c);
    cur_skip(&c, 4);
    if (!cur_ok(&c))
        return decode_fail(d, DECODE_ERR_tcp_truncated);
    uint32_t hlen = (off >> 4) * 4u;
    if (hlen < 20)
        return decode_fail(d, DECODE_ERR_tcp_bad_header_len);
    p->tcp_mss = 0;
    p->tcp_wscale = 0xff;
    cursor_t opts = cur_sub(&c, hlen - 20);
    if (!cur_ok(&opts))
        return decode_fail(d, hlen > seg_len && !p->payload_truncated
                                  ? DECODE_ERR_tcp_bad_header_len
                                  : DECODE_ERR_tcp_truncated);
    tcp_options(p, opts);
    d->st->tcp++;
    return set_l4(d, hdr, seg_len, hlen, p->sport, p->dport, c);
}

static enum decode_result decode_udp(struct decode_ctx *d, cursor_t c)
{
    struct packet *p = d->p;
    const uint8_t *hdr = c.p;
    size_t seg_len = cur_left(&c);
    uint16_t sport = cur_u16be(&c);
    uint16_t dport = cur_u16be(&c);
    uint16_t len = cur_u16be(&c);
    cur_skip(&c, 2);
    if (!cur_ok(&c))
        return decode_fail(d, DECODE_ERR_udp_truncated);
    if (len < 8) /* not even its own header: nothing to trust */
        return decode_fail(d, DECODE_ERR_udp_bad_len);
    if (len > seg_len && !p->payload_truncated) {
        /* a lying length: counted, the packet kept with what is there */
        d->st->err[DECODE_ERR_udp_bad_len]++;
        len = (uint16_t)(seg_len <= 0xffff ? seg_len : 0xffff);
        p->payload_truncated = true;
    }
    d->st->udp++;
    cursor_t payload = cur_sub(&c, len - 8u <= cur_left(&c) ? len - 8u
                                                          : cur_left(&c));
    set_l4(d, hdr, seg_len, 8, sport, dport, payload);
    p->payload_wire_len = len - 8u; /* UDP says, not IP */
    if (!p->payload_truncated && decode_udp_tunnel_port(sport, dport)) {
        /* a tunnel's inner packet replaces this one only if it decodes */
        struct packet outer = *p;
        unsigned depth = d->depth;
        enum decode_result r = decode_udp_tunnel(d, sport, dport, payload);
        if (r == DECODE_OK || r == DECODE_FRAGMENT)
            return r;
        *p = outer;
        d->depth = depth;
    }
    return DECODE_OK;
}

static enum decode_result decode_sctp(struct decode_ctx *d, cursor_t c)
{
    const uint8_t *hdr = c.p;
    size_t len = cur_left(&c);
    uint16_t sport = cur_u16be(&c);
    uint16_t dport = cur_u16be(&c);
    cur_skip(&c, 8); /* verification tag, checksum */
    if (!cur_ok(&c))
        return decode_fail(d, DECODE_ERR_sctp_truncated);
    d->st->sctp++;
    return set_l4(d, hdr, len, 12, sport, dport, c);
}

static enum decode_result decode_icmp(struct decode_ctx *d, cursor_t c,
                                      bool v6)
{
    const uint8_t *hdr = c.p;
    size_t len = cur_left(&c);
    uint8_t type = cur_u8(&c);
    uint8_t code = cur_u8(&c);
    cur_skip(&c, 2);
    if (!cur_ok(&c))
        return decode_fail(d, DECODE_ERR_icmp_truncated);
    if (v6)
        d->st->icmpv6++;
    else
        d->st->icmp++;
    return set_l4(d, hdr, len, 4, type, code, c);
}

enum decode_result decode_transport(struct decode_ctx *d, uint8_t proto,
                                    cursor_t c)
{
    struct packet *p = d->p;
    p->proto = proto;
    switch (proto) {
    case 6: return decode_tcp(d, c);
    case 17: return decode_udp(d, c);
    case 132: return decode_sctp(d, c);
    case 1: return decode_icmp(d, c, false);
    case 58: return decode_icmp(d, c, true);
    case 4:  /* IPv4 in IP */
    case 41: /* IPv6 in IP */ {
        if (!decode_enter(d))
            return DECODE_INVALID;
        d->st->tunnels++;
        p->tunnel = TUNNEL_IPIP;
        p->tunnel_depth++;
        return proto == 4 ? decode_ipv4(d, c) : decode_ipv6(d, c);
    }
    case 47: return decode_gre(d, c);
    default:
        d->st->other_ip++;
        p->sport = p->dport = 0;
        p->l4 = c.p;
        p->l4_len = (uint32_t)cur_left(&c);
        p->payload = c.p;
        p->payload_len = p->l4_len;
        p->payload_wire_len = d->l4_declared;
        return DECODE_OK;
    }
}
