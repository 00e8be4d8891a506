/* decode_ip.c -- IPv4 and IPv6 headers, IPv6 extension headers, fragments.
 *
 * Owns the network layer: checks each header against the bytes present,
 * trims link-layer padding, hands fragments to defrag and continues with the
 * reassembled datagram, then calls the transport decoder. A tunnel below
 * (IP-in-IP, GRE, UDP tunnels) comes back through here, and the innermost
 * header wins: the packet always describes the last IP header decoded.
 */
#include <stdio.h>
#include <string.h>
#include <arpa/inet.h>

#include "decode/decode_internal.h"

/* The payload present after an IP header that declared `declared` bytes of
 * payload. Fewer bytes are there when the snap length cut the frame, or when
 * the header lies; the latter is counted as `lie`, but the packet is kept
 * with what is there (marked truncated), since its addresses and ports still
 * say whose traffic it is -- tshark accounts such packets the same way. */
static cursor_t ip_payload(struct decode_ctx *d, cursor_t *c, uint32_t declared,
                           enum decode_error lie)
{
    size_t left = cur_left(c);
    if (declared <= left)
        return cur_sub(c, declared); /* drops link padding */
    if (!d->capture_cut)
        d->st->err[lie]++;
    d->p->payload_truncated = true;
    return cur_sub(c, left);
}

static enum decode_result ip_fragment(struct decode_ctx *d, cursor_t payload,
                                      uint32_t id, uint32_t offset, bool more,
                                      uint8_t proto)
{
    struct packet *p = d->p;
    if (!d->defrag) {
        d->st->fragments++;
        return DECODE_FRAGMENT;
    }
    struct defrag_key k;
    memset(&k, 0, sizeof(k));
    k.src = p->src;
    k.dst = p->dst;
    k.id = id;
    k.proto = proto;
    k.ip_version = p->ip_version;
    struct defrag_done done;
    size_t len = cur_left(&payload);
    if (p->payload_truncated)
        return decode_fail(d, DECODE_ERR_frag_bad);
    if (!defrag_add(d->defrag, &k, p->ts_usec, offset, more, payload.p,
                    (uint32_t)len, p->wire_len, d->st, &done))
        return DECODE_FRAGMENT;
    p->frag_frames = done.frames;
    p->frag_bytes = done.wire_bytes;
    p->ip_len += done.len - (uint32_t)len;
    d->l4_declared = done.len;
    return decode_transport(d, proto, cur_make(done.payload, done.len));
}

enum decode_result decode_ipv4(struct decode_ctx *d, cursor_t c)
{
    struct packet *p = d->p;
    cursor_t h = c;
    uint8_t vhl = cur_u8(&h);
    cur_skip(&h, 1);
    uint16_t total = cur_u16be(&h);
    uint16_t id = cur_u16be(&h);
    uint16_t frag = cur_u16be(&h);
    uint8_t ttl = cur_u8(&h);
    uint8_t proto = cur_u8(&h);
    cur_skip(&h, 2);
    const uint8_t *src = cur_bytes(&h, 4);
    const uint8_t *dst = cur_bytes(&h, 4);
    if (!cur_ok(&h))
        return decode_fail(d, DECODE_ERR_ipv4_truncated);
    if ((vhl >> 4) != 4)
        return decode_fail(d, DECODE_ERR_ipv4_bad_version);
    uint32_t hlen = (vhl & 0x0f) * 4u;
    if (hlen < 20)
        return decode_fail(d, DECODE_ERR_ipv4_bad_header_len);
    if (total == 0 && cur_left(&c) >= hlen && cur_left(&c) <= 0xffff) {
        /* captured on the sending host before TCP segmentation offload
         * split it: the length is left for the NIC to fill in */
        total = (uint16_t)cur_left(&c);
        d->st->ipv4_tso++;
    }
    if (total < hlen)
        return decode_fail(d, DECODE_ERR_ipv4_bad_total_len);
    cur_skip(&c, hlen);
    if (!cur_ok(&c))
        return decode_fail(d, DECODE_ERR_ipv4_truncated);
    d->st->ipv4++;
    p->ip_version = 4;
    memset(&p->src, 0, sizeof(p->src));
    memset(&p->dst, 0, sizeof(p->dst));
    memcpy(p->src.b, src, 4);
    memcpy(p->dst.b, dst, 4);
    p->ttl = ttl;
    p->proto = proto;
    p->ip_len = total;
    p->payload_truncated = false;
    cursor_t payload = ip_payload(d, &c, total - hlen,
                                  DECODE_ERR_ipv4_bad_total_len);
    uint32_t offset = (frag & 0x1fffu) * 8u;
    bool more = frag & 0x2000;
    d->l4_declared = total - hlen;
    if (offset || more)
        return ip_fragment(d, payload, id, offset, more, proto);
    return decode_transport(d, proto, payload);
}

/* Walks IPv6 extension headers; stops at the first header that is not one.
 * On return *next is the upper-layer protocol and c points at it. */
static enum decode_result ipv6_ext_headers(struct decode_ctx *d, cursor_t *c,
                                           uint8_t *next, bool *is_frag,
                                           uint32_t *frag_id,
                                           uint32_t *frag_off, bool *more)
{
    for (int n = 0; n < 16; n++) {
        switch (*next) {
        case 0:   /* hop-by-hop */
        case 43:  /* routing */
        case 60:  /* destination options */
        case 135: /* mobility */
        case 139: /* HIP */
        case 140: /* shim6 */ {
            uint8_t nh = cur_u8(c);
            uint8_t len = cur_u8(c);
            cur_skip(c, (len + 1u) * 8u - 2u);
            if (!cur_ok(c))
                return decode_fail(d, DECODE_ERR_ipv6_bad_ext_header);
            *next = nh;
            break;
        }
        case 51: { /* AH: length in 4-byte units, minus 2 */
            uint8_t nh = cur_u8(c);
            uint8_t len = cur_u8(c);
            cur_skip(c, (len + 2u) * 4u - 2u);
            if (!cur_ok(c))
                return decode_fail(d, DECODE_ERR_ipv6_bad_ext_header);
            *next = nh;
            break;
        }
        case 44: { /* fragment */
            uint8_t nh = cur_u8(c);
            cur_skip(c, 1);
            uint16_t off = cur_u16be(c);
            uint32_t id = cur_u32be(c);
            if (!cur_ok(c))
                return decode_fail(d, DECODE_ERR_ipv6_bad_ext_header);
            *next = nh;
            *frag_off = (off >> 3) * 8u;
            *more = off & 1;
            *frag_id = id;
            *is_frag = *frag_off != 0 || *more;
            if (*is_frag)
                return DECODE_OK; /* the rest is inside the datagram */
            break; /* an atomic fragment: keep going */
        }
        default:
            return DECODE_OK;
        }
    }
    return decode_fail(d, DECODE_ERR_ipv6_bad_ext_header);
}

enum decode_result decode_ipv6(struct decode_ctx *d, cursor_t c)
{
    struct packet *p = d->p;
    uint32_t vtf = cur_u32be(&c);
    uint16_t plen = cur_u16be(&c);
    uint8_t next = cur_u8(&c);
    uint8_t hlim = cur_u8(&c);
    const uint8_t *src = cur_bytes(&c, 16);
    const uint8_t *dst = cur_bytes(&c, 16);
    if (!cur_ok(&c))
        return decode_fail(d, DECODE_ERR_ipv6_truncated);
    if ((vtf >> 28) != 6)
        return decode_fail(d, DECODE_ERR_ipv6_bad_version);
    d->st->ipv6++;
    p->ip_version = 6;
    memcpy(p->src.b, src, 16);
    memcpy(p->dst.b, dst, 16);
    p->ttl = hlim;
    p->ip_len = 40u + plen;
    p->payload_truncated = false;
    cursor_t payload = ip_payload(d, &c, plen, DECODE_ERR_ipv6_bad_payload_len);
    bool is_frag = false, more = false;
    uint32_t frag_id = 0, frag_off = 0;
    const uint8_t *pstart = payload.p;
    enum decode_result r = ipv6_ext_headers(d, &payload, &next, &is_frag,
                                            &frag_id, &frag_off, &more);
    if (r != DECODE_OK)
        return r;
    p->proto = next;
    d->l4_declared = (uint32_t)(plen - (payload.p - pstart));
    if (is_frag)
        return ip_fragment(d, payload, frag_id, frag_off, more, next);
    return decode_transport(d, next, payload);
}

enum decode_result decode_ip_any(struct decode_ctx *d, cursor_t c)
{
    switch (cur_peek(&c, 0) >> 4) {
    case 4: return decode_ipv4(d, c);
    case 6: return decode_ipv6(d, c);
    default:
        if (cur_left(&c) == 0)
            return decode_fail(d, DECODE_ERR_link_truncated);
        return DECODE_NOT_IP;
    }
}

const char *ip_addr_str(const struct ip_addr *a, uint8_t ip_version,
                        char *buf, size_t len)
{
    if (ip_version != 6 && len >= 16) { /* inet_ntop goes through sprintf */
        char *p = buf;
        for (int i = 0; i < 4; i++) {
            unsigned v = a->b[i];
            if (v >= 100)
                *p++ = (char)('0' + v / 100);
            if (v >= 10)
                *p++ = (char)('0' + v / 10 % 10);
            *p++ = (char)('0' + v % 10);
            *p++ = i < 3 ? '.' : '\0';
        }
        return buf;
    }
    if (!inet_ntop(ip_version == 6 ? AF_INET6 : AF_INET, a->b, buf,
                   (socklen_t)len))
        snprintf(buf, len, "?");
    return buf;
}
