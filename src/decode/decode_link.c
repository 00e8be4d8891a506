/* decode_link.c -- link layers: from a captured frame to an ethertype.
 *
 * Owns Ethernet (with 802.3/LLC/SNAP), 802.1Q and 802.1ad VLAN tags, MPLS,
 * PPPoE, PPP and Cisco HDLC, Linux cooked capture v1 and v2, BSD null and
 * loopback, raw IP, Linux NFLOG, Frame Relay and 802.11 data frames (with or
 * without radiotap). It ends by calling the network layer; it never looks
 * above it and never allocates.
 */
#include <pcap/dlt.h>

#include "decode/decode_internal.h"

#ifndef DLT_LINUX_SLL2
#define DLT_LINUX_SLL2 276
#endif
#ifndef DLT_IPV4
#define DLT_IPV4 228
#endif
#ifndef DLT_IPV6
#define DLT_IPV6 229
#endif
#ifndef DLT_NFLOG
#define DLT_NFLOG 239
#endif

#define ETH_IPV4 0x0800
#define ETH_ARP 0x0806
#define ETH_VLAN 0x8100
#define ETH_QINQ 0x88a8
#define ETH_QINQ_OLD 0x9100
#define ETH_IPV6 0x86dd
#define ETH_MPLS_UC 0x8847
#define ETH_MPLS_MC 0x8848
#define ETH_PPPOE_SESS 0x8864
#define ETH_NSH 0x894f
#define ETH_CISCO_META 0x8909

#define MPLS_MAX_LABELS 16

static enum decode_result decode_vlan(struct decode_ctx *d, cursor_t c)
{
    uint16_t tci = cur_u16be(&c);
    uint16_t type = cur_u16be(&c);
    if (!cur_ok(&c))
        return decode_fail(d, DECODE_ERR_vlan_truncated);
    struct packet *p = d->p;
    d->st->vlan++;
    if (p->vlan_count < DECODE_MAX_VLANS)
        p->vlan[p->vlan_count++] = tci & 0x0fff;
    if (!decode_enter(d))
        return DECODE_INVALID;
    return decode_ethertype(d, type, c);
}

/* MPLS: labels until bottom of stack, then guess the payload the way every
 * other tool does: IPv4/IPv6 by version nibble, else an Ethernet pseudowire
 * behind a zero control word. */
static enum decode_result decode_mpls(struct decode_ctx *d, cursor_t c)
{
    d->st->mpls++;
    for (int i = 0; i < MPLS_MAX_LABELS; i++) {
        uint32_t label = cur_u32be(&c);
        if (!cur_ok(&c))
            return decode_fail(d, DECODE_ERR_mpls_truncated);
        if (label & 0x100)
            goto bottom;
    }
    return decode_fail(d, DECODE_ERR_too_many_layers);
bottom:
    switch (cur_peek(&c, 0) >> 4) {
    case 4: return decode_ipv4(d, c);
    case 6: return decode_ipv6(d, c);
    case 0:
        cur_skip(&c, 4); /* pseudowire control word */
        if (!cur_ok(&c))
            return decode_fail(d, DECODE_ERR_mpls_truncated);
        if (!decode_enter(d))
            return DECODE_INVALID;
        return decode_ethernet(d, c);
    default: return DECODE_NOT_IP;
    }
}

/* A PPP protocol field (1 or 2 bytes: protocol field compression). */
enum decode_result decode_ppp_proto(struct decode_ctx *d, cursor_t c)
{
    uint16_t proto = cur_u8(&c);
    if (!(proto & 1))
        proto = (uint16_t)((proto << 8) | cur_u8(&c));
    if (!cur_ok(&c))
        return decode_fail(d, DECODE_ERR_ppp_truncated);
    switch (proto) {
    case 0x0021: return decode_ipv4(d, c);
    case 0x0057: return decode_ipv6(d, c);
    default: return DECODE_NOT_IP;
    }
}

/* PPP in HDLC-like framing: optional FF 03 address/control. */
static enum decode_result decode_ppp_hdlc(struct decode_ctx *d, cursor_t c)
{
    if (cur_peek(&c, 0) == 0xff && cur_peek(&c, 1) == 0x03)
        cur_skip(&c, 2);
    return decode_ppp_proto(d, c);
}

static enum decode_result decode_pppoe(struct decode_ctx *d, cursor_t c)
{
    cur_skip(&c, 6); /* ver/type, code, session id, length */
    if (!cur_ok(&c))
        return decode_fail(d, DECODE_ERR_ppp_truncated);
    return decode_ppp_proto(d, c);
}

/* Network Service Header (RFC 8300): length in 4-byte words, then the
 * next protocol (1 IPv4, 2 IPv6, 3 Ethernet). */
static enum decode_result decode_nsh(struct decode_ctx *d, cursor_t c)
{
    cursor_t h = c;
    cur_skip(&h, 1);
    uint8_t len_words = cur_u8(&h) & 0x3f;
    cur_skip(&h, 1);
    uint8_t next = cur_u8(&h);
    cur_skip(&c, len_words * 4u);
    if (!cur_ok(&h) || !cur_ok(&c) || len_words < 2)
        return decode_fail(d, DECODE_ERR_link_truncated);
    if (!decode_enter(d))
        return DECODE_INVALID;
    switch (next) {
    case 1: return decode_ipv4(d, c);
    case 2: return decode_ipv6(d, c);
    case 3: return decode_ethernet(d, c);
    default: return DECODE_NOT_IP;
    }
}

/* Cisco MetaData (security group tag): 6 bytes, then an ethertype. */
static enum decode_result decode_cisco_meta(struct decode_ctx *d, cursor_t c)
{
    cur_skip(&c, 6);
    uint16_t type = cur_u16be(&c);
    if (!cur_ok(&c))
        return decode_fail(d, DECODE_ERR_link_truncated);
    if (!decode_enter(d))
        return DECODE_INVALID;
    return decode_ethertype(d, type, c);
}

enum decode_result decode_ethertype(struct decode_ctx *d, uint16_t type,
                                    cursor_t c)
{
    switch (type) {
    case ETH_IPV4: return decode_ipv4(d, c);
    case ETH_IPV6: return decode_ipv6(d, c);
    case ETH_VLAN:
    case ETH_QINQ:
    case ETH_QINQ_OLD: return decode_vlan(d, c);
    case ETH_MPLS_UC:
    case ETH_MPLS_MC: return decode_mpls(d, c);
    case ETH_PPPOE_SESS: return decode_pppoe(d, c);
    case ETH_NSH: return decode_nsh(d, c);
    case ETH_CISCO_META: return decode_cisco_meta(d, c);
    default: return DECODE_NOT_IP;
    }
}

/* 802.2 LLC with a SNAP header carries an ethertype; anything else is not
 * IP for us. */
static enum decode_result decode_llc(struct decode_ctx *d, cursor_t c)
{
    if (cur_peek(&c, 0) != 0xaa || cur_peek(&c, 1) != 0xaa ||
        cur_peek(&c, 2) != 0x03)
        return DECODE_NOT_IP;
    cur_skip(&c, 6);
    uint16_t type = cur_u16be(&c);
    if (!cur_ok(&c))
        return decode_fail(d, DECODE_ERR_link_truncated);
    return decode_ethertype(d, type, c);
}

enum decode_result decode_ethernet(struct decode_ctx *d, cursor_t c)
{
    cur_skip(&c, 12);
    uint16_t type = cur_u16be(&c);
    if (!cur_ok(&c))
        return decode_fail(d, DECODE_ERR_link_truncated);
    if (type <= 1500) /* 802.3 length field */
        return decode_llc(d, cur_sub(&c, type < cur_left(&c) ? type : cur_left(&c)));
    return decode_ethertype(d, type, c);
}

static enum decode_result decode_sll(struct decode_ctx *d, cursor_t c)
{
    cur_skip(&c, 2);                 /* packet type */
    uint16_t hatype = cur_u16be(&c); /* ARPHRD_ */
    cur_skip(&c, 10);                /* address length + address */
    uint16_t proto = cur_u16be(&c);
    if (!cur_ok(&c))
        return decode_fail(d, DECODE_ERR_link_truncated);
    if (hatype == 778 /* ARPHRD_IPGRE */)
        return decode_gre(d, c);
    if (proto == 0x0004) /* 802.2 frames */
        return decode_llc(d, c);
    return decode_ethertype(d, proto, c);
}

static enum decode_result decode_sll2(struct decode_ctx *d, cursor_t c)
{
    uint16_t proto = cur_u16be(&c);
    cur_skip(&c, 6);                 /* reserved, interface index */
    uint16_t hatype = cur_u16be(&c);
    cur_skip(&c, 10);                /* pkttype, addr len, addr */
    if (!cur_ok(&c))
        return decode_fail(d, DECODE_ERR_link_truncated);
    if (hatype == 778)
        return decode_gre(d, c);
    if (proto == 0x0004)
        return decode_llc(d, c);
    return decode_ethertype(d, proto, c);
}

/* BSD null (host byte order) and loopback (network order): an address
 * family. IPv6 is 24, 28 or 30 depending on which BSD wrote the file. */
static enum decode_result decode_null(struct decode_ctx *d, cursor_t c,
                                      bool network_order)
{
    uint32_t fam = network_order ? cur_u32be(&c) : cur_u32le(&c);
    if (!cur_ok(&c))
        return decode_fail(d, DECODE_ERR_link_truncated);
    if (!network_order && (fam & 0xffff) == 0 && fam != 0)
        fam = __builtin_bswap32(fam); /* written on a big-endian host */
    switch (fam) {
    case 2: return decode_ipv4(d, c);
    case 24:
    case 28:
    case 30: return decode_ipv6(d, c);
    default: return DECODE_NOT_IP;
    }
}

/* NFLOG: a small header, then TLVs in host byte order (little-endian on
 * every host that writes them in practice); type 9 is the packet. */
static enum decode_result decode_nflog(struct decode_ctx *d, cursor_t c)
{
    uint8_t family = cur_u8(&c);
    cur_skip(&c, 3);
    while (cur_ok(&c) && cur_left(&c) >= 4) {
        uint16_t len = cur_u16le(&c);
        uint16_t type = cur_u16le(&c);
        if (len < 4)
            return decode_fail(d, DECODE_ERR_link_truncated);
        cursor_t v = cur_sub(&c, len - 4u);
        if (!cur_ok(&v))
            return decode_fail(d, DECODE_ERR_link_truncated);
        cur_skip(&c, ((len + 3u) & ~3u) - len); /* padding */
        if ((type & 0x7fff) == 9) {
            if (family == 2)
                return decode_ipv4(d, v);
            if (family == 10)
                return decode_ipv6(d, v);
            return decode_ip_any(d, v);
        }
    }
    return DECODE_NOT_IP;
}

/* 802.11 data frame: header of 24, 30 (4 addresses) or +2 (QoS) +4 (HT
 * control), then LLC/SNAP. Protected frames are not ours to read. */
static enum decode_result decode_ieee80211(struct decode_ctx *d, cursor_t c,
                                           bool fcs_at_end)
{
    if (fcs_at_end) {
        if (cur_left(&c) < 4)
            return decode_fail(d, DECODE_ERR_link_truncated);
        if (!d->capture_cut)
            c.end -= 4;
    }
    uint16_t fc = cur_u16le(&c);
    if (!cur_ok(&c))
        return decode_fail(d, DECODE_ERR_link_truncated);
    unsigned type = (fc >> 2) & 3, subtype = (fc >> 4) & 0xf;
    if (type != 2 || (subtype & 0x4) || (fc & 0x4000))
        return DECODE_NOT_IP; /* not data, null data, or protected */
    size_t hlen = 24;
    if ((fc & 0x0300) == 0x0300)
        hlen += 6;
    if (subtype & 0x8) {
        hlen += 2;
        if (fc & 0x8000)
            hlen += 4;
    }
    cur_skip(&c, hlen - 2);
    if (!cur_ok(&c))
        return decode_fail(d, DECODE_ERR_link_truncated);
    return decode_llc(d, c);
}

/* Radiotap: we only need its length and whether an FCS trails the frame
 * (the Flags field, present bit 1, after an 8-byte aligned TSFT). */
static enum decode_result decode_radiotap(struct decode_ctx *d, cursor_t c)
{
    cursor_t h = c;
    cur_skip(&h, 2);
    uint16_t len = cur_u16le(&h);
    uint32_t present = cur_u32le(&h);
    if (!cur_ok(&h) || len < 8)
        return decode_fail(d, DECODE_ERR_link_truncated);
    cursor_t fields = cur_sub(&c, len);
    if (!cur_ok(&fields))
        return decode_fail(d, DECODE_ERR_link_truncated);
    size_t off = 8;
    for (uint32_t w = present; w & 0x80000000u; off += 4)
        w = ((uint32_t)cur_peek(&fields, off + 3) << 24) |
            ((uint32_t)cur_peek(&fields, off + 2) << 16) |
            ((uint32_t)cur_peek(&fields, off + 1) << 8) | cur_peek(&fields, off);
    bool fcs = false;
    if (present & 0x2) {
        if (present & 0x1)
            off = ((off + 7) & ~(size_t)7) + 8; /* TSFT */
        fcs = off < len && (cur_peek(&fields, off) & 0x10);
    }
    return decode_ieee80211(d, c, fcs);
}

/* Frame Relay: Q.922 address, then either RFC 2427 (control 0x03, NLPID)
 * or Cisco's encapsulation (an ethertype right after the address). */
static enum decode_result decode_frelay(struct decode_ctx *d, cursor_t c)
{
    cur_skip(&c, 2);
    uint8_t control = cur_peek(&c, 0), nlpid = cur_peek(&c, 1);
    if (!cur_ok(&c) || cur_left(&c) < 2)
        return decode_fail(d, DECODE_ERR_link_truncated);
    cur_skip(&c, 2);
    if (control != 0x03) /* Cisco: an ethertype */
        return decode_ethertype(d, (uint16_t)(control << 8 | nlpid), c);
    if (nlpid == 0xcc)
        return decode_ipv4(d, c);
    if (nlpid == 0x8e)
        return decode_ipv6(d, c);
    return DECODE_NOT_IP;
}

static enum decode_result decode_chdlc(struct decode_ctx *d, cursor_t c)
{
    cur_skip(&c, 2);
    uint16_t type = cur_u16be(&c);
    if (!cur_ok(&c))
        return decode_fail(d, DECODE_ERR_link_truncated);
    return decode_ethertype(d, type, c);
}

bool decode_linktype_supported(int lt)
{
    switch (lt) {
    case DLT_EN10MB: case DLT_LINUX_SLL: case DLT_LINUX_SLL2: case DLT_NULL:
    case DLT_LOOP: case DLT_RAW: case 14 /* DLT_RAW on OpenBSD */:
    case 101 /* LINKTYPE_RAW */: case DLT_IPV4: case DLT_IPV6: case DLT_NFLOG:
    case DLT_IEEE802_11: case DLT_IEEE802_11_RADIO: case DLT_FRELAY:
    case DLT_PPP: case DLT_PPP_SERIAL: case DLT_C_HDLC:
        return true;
    default:
        return false;
    }
}

static enum decode_result decode_link(struct decode_ctx *d, cursor_t c)
{
    switch (d->p->linktype) {
    case DLT_EN10MB: return decode_ethernet(d, c);
    case DLT_LINUX_SLL: return decode_sll(d, c);
    case DLT_LINUX_SLL2: return decode_sll2(d, c);
    case DLT_NULL: return decode_null(d, c, false);
    case DLT_LOOP: return decode_null(d, c, true);
    case DLT_RAW: case 14: case 101: case DLT_IPV4: case DLT_IPV6:
        return decode_ip_any(d, c);
    case DLT_NFLOG: return decode_nflog(d, c);
    case DLT_IEEE802_11: return decode_ieee80211(d, c, false);
    case DLT_IEEE802_11_RADIO: return decode_radiotap(d, c);
    case DLT_FRELAY: return decode_frelay(d, c);
    case DLT_PPP: case DLT_PPP_SERIAL: return decode_ppp_hdlc(d, c);
    case DLT_C_HDLC: return decode_chdlc(d, c);
    default: return decode_fail(d, DECODE_ERR_link_unsupported);
    }
}

enum decode_result decode_packet(struct packet *p, struct defrag *defrag,
                                 struct decode_stats *st)
{
    struct decode_ctx d = { p, defrag, st, 0, p->cap_len < p->wire_len, 0 };
    p->ip_version = 0;
    p->proto = 0;
    p->vlan_count = 0;
    p->tunnel = TUNNEL_NONE;
    p->tunnel_depth = 0;
    p->tunnel_id = 0;
    p->sport = p->dport = 0;
    p->tcp_flags = 0;
    p->payload = NULL;
    p->payload_len = 0;
    p->payload_truncated = false;
    p->frag_frames = 1;
    p->frag_bytes = p->wire_len;
    st->pkts++;
    st->bytes += p->wire_len;
    enum decode_result r = decode_link(&d, cur_make(p->frame, p->cap_len));
    switch (r) {
    case DECODE_INVALID: st->invalid++; break;
    case DECODE_NOT_IP: st->not_ip++; break;
    default: break;
    }
    return r;
}
