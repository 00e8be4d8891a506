/* decode_tunnel.c -- GRE (with ERSPAN I/II/III and PPTP's enhanced GRE),
 * VXLAN, VXLAN-GPE, Geneve and GTP-U.
 *
 * A tunnel's inner packet is what the flow table keys on; the outer headers
 * only leave their mark as packet->tunnel and tunnel_id (VNI, GRE key,
 * ERSPAN session, TEID), so the same inner 5-tuple in two tunnels stays two
 * flows. Never allocates; nesting is bounded by decode_enter().
 */
#include "decode/decode_internal.h"

#define GRE_CSUM 0x8000
#define GRE_ROUTING 0x4000
#define GRE_KEY 0x2000
#define GRE_SEQ 0x1000
#define GRE_ACK 0x0080 /* version 1 only */

static enum decode_result tunnel_begin(struct decode_ctx *d,
                                       enum tunnel_kind kind, uint32_t id)
{
    if (!decode_enter(d))
        return DECODE_INVALID;
    d->st->tunnels++;
    d->p->tunnel = (uint8_t)kind;
    d->p->tunnel_id = id;
    d->p->tunnel_depth++;
    return DECODE_OK;
}

/* ERSPAN type II (8-byte header) and type III (12, plus an 8-byte platform
 * subheader when the O bit is set), then an Ethernet frame. */
static enum decode_result decode_erspan(struct decode_ctx *d, cursor_t c,
                                        bool type3)
{
    cur_skip(&c, 2); /* version, VLAN */
    uint16_t session = cur_u16be(&c) & 0x03ff;
    if (type3) {
        cur_skip(&c, 6);
        uint16_t flags = cur_u16be(&c);
        if (flags & 0x0001)
            cur_skip(&c, 8);
    } else {
        cur_skip(&c, 4);
    }
    if (!cur_ok(&c))
        return decode_fail(d, DECODE_ERR_erspan_truncated);
    if (tunnel_begin(d, TUNNEL_ERSPAN, session) != DECODE_OK)
        return DECODE_INVALID;
    return decode_ethernet(d, c);
}

enum decode_result decode_gre(struct decode_ctx *d, cursor_t c)
{
    uint16_t flags = cur_u16be(&c);
    uint16_t proto = cur_u16be(&c);
    if (!cur_ok(&c))
        return decode_fail(d, DECODE_ERR_gre_truncated);
    unsigned version = flags & 7;
    if ((flags & GRE_ROUTING) || version > 1)
        return decode_fail(d, DECODE_ERR_gre_unsupported);
    uint32_t key = 0;
    if (flags & GRE_CSUM)
        cur_skip(&c, 4);
    if (flags & GRE_KEY)
        key = cur_u32be(&c);
    if (flags & GRE_SEQ)
        cur_skip(&c, 4);
    if (version == 1 && (flags & GRE_ACK))
        cur_skip(&c, 4);
    if (!cur_ok(&c))
        return decode_fail(d, DECODE_ERR_gre_truncated);
    if (version == 1) /* PPTP: key is payload length + call id */
        key &= 0xffff;
    switch (proto) {
    case 0x88be:
        if (!(flags & GRE_SEQ)) { /* ERSPAN type I: no header */
            if (tunnel_begin(d, TUNNEL_ERSPAN, 0) != DECODE_OK)
                return DECODE_INVALID;
            return decode_ethernet(d, c);
        }
        return decode_erspan(d, c, false);
    case 0x22eb: return decode_erspan(d, c, true);
    case 0x6558: /* transparent Ethernet bridging */
        if (tunnel_begin(d, TUNNEL_GRE, key) != DECODE_OK)
            return DECODE_INVALID;
        return decode_ethernet(d, c);
    case 0x880b: /* PPP */
        if (tunnel_begin(d, TUNNEL_GRE, key) != DECODE_OK)
            return DECODE_INVALID;
        if (cur_peek(&c, 0) == 0xff && cur_peek(&c, 1) == 0x03)
            cur_skip(&c, 2);
        return decode_ppp_proto(d, c);
    case 0x0800:
    case 0x86dd:
    case 0x8847:
    case 0x8100:
        if (tunnel_begin(d, TUNNEL_GRE, key) != DECODE_OK)
            return DECODE_INVALID;
        return decode_ethertype(d, proto, c);
    default:
        d->st->err[DECODE_ERR_gre_unsupported]++;
        return DECODE_NOT_IP;
    }
}

static enum decode_result decode_vxlan(struct decode_ctx *d, cursor_t c)
{
    uint8_t flags = cur_u8(&c);
    cur_skip(&c, 3);
    uint32_t vni = cur_u32be(&c) >> 8;
    if (!cur_ok(&c))
        return decode_fail(d, DECODE_ERR_vxlan_truncated);
    if (!(flags & 0x08))
        return DECODE_NOT_IP; /* VNI not valid: not VXLAN as we know it */
    if (tunnel_begin(d, TUNNEL_VXLAN, vni) != DECODE_OK)
        return DECODE_INVALID;
    return decode_ethernet(d, c);
}

/* VXLAN-GPE (draft-ietf-nvo3-vxlan-gpe): VXLAN with a next-protocol field. */
static enum decode_result decode_vxlan_gpe(struct decode_ctx *d, cursor_t c)
{
    uint8_t flags = cur_u8(&c);
    cur_skip(&c, 2);
    uint8_t next = cur_u8(&c);
    uint32_t vni = cur_u32be(&c) >> 8;
    if (!cur_ok(&c))
        return decode_fail(d, DECODE_ERR_vxlan_truncated);
    if (!(flags & 0x08) || next < 1 || next > 3)
        return DECODE_NOT_IP;
    if (tunnel_begin(d, TUNNEL_VXLAN, vni) != DECODE_OK)
        return DECODE_INVALID;
    if (next == 1)
        return decode_ipv4(d, c);
    if (next == 2)
        return decode_ipv6(d, c);
    return decode_ethernet(d, c);
}

static enum decode_result decode_geneve(struct decode_ctx *d, cursor_t c)
{
    uint8_t ver_optlen = cur_u8(&c);
    cur_skip(&c, 1);
    uint16_t proto = cur_u16be(&c);
    uint32_t vni = cur_u32be(&c) >> 8;
    cur_skip(&c, (ver_optlen & 0x3fu) * 4u);
    if (!cur_ok(&c))
        return decode_fail(d, DECODE_ERR_geneve_truncated);
    if ((ver_optlen >> 6) != 0)
        return DECODE_NOT_IP;
    if (tunnel_begin(d, TUNNEL_GENEVE, vni) != DECODE_OK)
        return DECODE_INVALID;
    if (proto == 0x6558)
        return decode_ethernet(d, c);
    return decode_ethertype(d, proto, c);
}

/* GTP-U (3GPP TS 29.281): only G-PDUs (type 255) carry user IP packets. */
static enum decode_result decode_gtpu(struct decode_ctx *d, cursor_t c)
{
    uint8_t flags = cur_u8(&c);
    uint8_t type = cur_u8(&c);
    uint16_t len = cur_u16be(&c);
    uint32_t teid = cur_u32be(&c);
    if (!cur_ok(&c))
        return decode_fail(d, DECODE_ERR_gtp_truncated);
    if ((flags >> 5) != 1 || !(flags & 0x10) || type != 0xff)
        return DECODE_NOT_IP;
    c = cur_sub(&c, len <= cur_left(&c) ? len : cur_left(&c));
    if (flags & 0x07) {
        cur_skip(&c, 3); /* sequence number, N-PDU number */
        uint8_t next = cur_u8(&c);
        while (next && cur_ok(&c)) {
            uint8_t units = cur_u8(&c);
            if (units == 0)
                return decode_fail(d, DECODE_ERR_gtp_truncated);
            cur_skip(&c, units * 4u - 2u);
            next = cur_u8(&c);
        }
    }
    if (!cur_ok(&c))
        return decode_fail(d, DECODE_ERR_gtp_truncated);
    if (tunnel_begin(d, TUNNEL_GTPU, teid) != DECODE_OK)
        return DECODE_INVALID;
    return decode_ip_any(d, c);
}

enum decode_result decode_udp_tunnel(struct decode_ctx *d, uint16_t sport,
                                     uint16_t dport, cursor_t c)
{
    if (dport == 4789 || sport == 4789)
        return decode_vxlan(d, c);
    if (dport == 4790 || sport == 4790)
        return decode_vxlan_gpe(d, c);
    if (dport == 6081 || sport == 6081)
        return decode_geneve(d, c);
    if (dport == 2152 || sport == 2152)
        return decode_gtpu(d, c);
    return DECODE_NOT_IP;
}
