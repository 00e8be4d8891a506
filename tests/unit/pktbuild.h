/* pktbuild.h -- builds test frames header by header, for the unit tests.
 *
 * A frame is a byte buffer with an explicit length; each pb_* call appends
 * one header in network byte order. Lengths that depend on what follows
 * (IP total length, UDP length) are patched by pb_fix_* once the payload is
 * in. Test code only: nothing here is careful about overflow beyond the
 * PB_MAX bytes of the buffer.
 */
#ifndef NIGHTJAR_PKTBUILD_H
#define NIGHTJAR_PKTBUILD_H

#include <stdint.h>
#include <string.h>

#include "decode/decode.h"

#define PB_MAX 4096

struct pb {
    uint8_t b[PB_MAX];
    size_t len;
};

static inline void pb_bytes(struct pb *p, const void *d, size_t n)
{
    memcpy(p->b + p->len, d, n);
    p->len += n;
}
static inline void pb_u8(struct pb *p, uint8_t v) { p->b[p->len++] = v; }
static inline void pb_u16(struct pb *p, uint16_t v)
{
    pb_u8(p, (uint8_t)(v >> 8));
    pb_u8(p, (uint8_t)v);
}
static inline void pb_u32(struct pb *p, uint32_t v)
{
    pb_u16(p, (uint16_t)(v >> 16));
    pb_u16(p, (uint16_t)v);
}
static inline void pb_put16(struct pb *p, size_t at, uint16_t v)
{
    p->b[at] = (uint8_t)(v >> 8);
    p->b[at + 1] = (uint8_t)v;
}

static inline void pb_eth(struct pb *p, uint16_t type)
{
    static const uint8_t macs[12] = { 0, 1, 2, 3, 4, 5, 0, 1, 2, 3, 4, 6 };
    pb_bytes(p, macs, 12);
    pb_u16(p, type);
}

/* Returns the offset of the header, for pb_fix_ipv4. */
static inline size_t pb_ipv4(struct pb *p, uint32_t src, uint32_t dst,
                             uint8_t proto, uint16_t id, uint16_t frag)
{
    size_t at = p->len;
    pb_u8(p, 0x45);
    pb_u8(p, 0);
    pb_u16(p, 0); /* total length, fixed later */
    pb_u16(p, id);
    pb_u16(p, frag);
    pb_u8(p, 64);
    pb_u8(p, proto);
    pb_u16(p, 0);
    pb_u32(p, src);
    pb_u32(p, dst);
    return at;
}

static inline void pb_fix_ipv4(struct pb *p, size_t at)
{
    pb_put16(p, at + 2, (uint16_t)(p->len - at));
}

static inline size_t pb_ipv6(struct pb *p, uint8_t last_src, uint8_t last_dst,
                             uint8_t next)
{
    size_t at = p->len;
    pb_u32(p, 0x60000000);
    pb_u16(p, 0);
    pb_u8(p, next);
    pb_u8(p, 64);
    uint8_t a[16] = { 0x20, 0x01, 0x0d, 0xb8 };
    a[15] = last_src;
    pb_bytes(p, a, 16);
    a[15] = last_dst;
    pb_bytes(p, a, 16);
    return at;
}

static inline void pb_fix_ipv6(struct pb *p, size_t at)
{
    pb_put16(p, at + 4, (uint16_t)(p->len - at - 40));
}

static inline void pb_tcp(struct pb *p, uint16_t sport, uint16_t dport,
                          uint32_t seq, uint32_t ack, uint8_t flags)
{
    pb_u16(p, sport);
    pb_u16(p, dport);
    pb_u32(p, seq);
    pb_u32(p, ack);
    pb_u8(p, 0x50);
    pb_u8(p, flags);
    pb_u16(p, 65535);
    pb_u16(p, 0);
    pb_u16(p, 0);
}

static inline size_t pb_udp(struct pb *p, uint16_t sport, uint16_t dport)
{
    size_t at = p->len;
    pb_u16(p, sport);
    pb_u16(p, dport);
    pb_u16(p, 0);
    pb_u16(p, 0);
    return at;
}

static inline void pb_fix_udp(struct pb *p, size_t at)
{
    pb_put16(p, at + 4, (uint16_t)(p->len - at));
}

static inline void pb_packet(const struct pb *b, struct packet *p, int linktype,
                             uint64_t ts)
{
    memset(p, 0, sizeof(*p));
    p->frame = b->b;
    p->cap_len = p->wire_len = (uint32_t)b->len;
    p->linktype = linktype;
    p->ts_usec = ts;
}

#define IP4(a, b, c, d) \
    (((uint32_t)(a) << 24) | ((uint32_t)(b) << 16) | ((uint32_t)(c) << 8) | (d))

#endif
