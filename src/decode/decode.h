/* decode.h -- the packet as the decoders leave it, and the decoder entry.
 *
 * decode_packet() walks a captured frame from its link layer down to the
 * innermost transport header: Ethernet, 802.1Q/802.1ad, MPLS, PPP, Linux
 * SLL/SLL2, BSD loopback, raw IP, NFLOG, 802.11 data frames, IPv4 (with
 * fragments), IPv6 (extension headers, fragments), GRE (incl. ERSPAN I/II/III),
 * VXLAN, Geneve, GTP-U, IP-in-IP, TCP, UDP, ICMP and ICMPv6.
 * When a packet carries a tunnel, the inner flow is the flow: the decoder
 * keeps going and the packet describes the innermost IP and transport header.
 *
 * Every length is checked against the bytes really captured (through the
 * cursor type). A malformed packet is counted by reason in decode_stats and
 * never trusted further. The decoders never allocate: a packet is decoded in
 * place, into a struct packet the caller owns. IP fragments are the one thing
 * that needs memory; that lives in defrag.c, which hands back a reassembled
 * datagram from its own bounded pool.
 */
#ifndef NIGHTJAR_DECODE_H
#define NIGHTJAR_DECODE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "decode/decode_stats.h"

struct defrag;

/* One IP address of either family; v4 addresses sit in the first 4 bytes
 * and the rest is zero, so comparisons and hashing are family-blind. */
struct ip_addr {
    uint8_t b[16];
};

enum tunnel_kind {
    TUNNEL_NONE = 0,
    TUNNEL_GRE,
    TUNNEL_ERSPAN,
    TUNNEL_VXLAN,
    TUNNEL_GENEVE,
    TUNNEL_GTPU,
    TUNNEL_IPIP,
};

#define DECODE_MAX_VLANS 2
#define DECODE_MAX_DEPTH 8 /* encapsulation layers before we give up */

/* TCP flag bits, as on the wire. */
#define TCP_FIN 0x01
#define TCP_SYN 0x02
#define TCP_RST 0x04
#define TCP_PSH 0x08
#define TCP_ACK 0x10
#define TCP_URG 0x20
#define TCP_ECE 0x40
#define TCP_CWR 0x80

struct packet {
    /* set by the capture layer */
    uint64_t ts_usec;       /* capture time, microseconds since the epoch */
    uint32_t wire_len;      /* frame length on the wire (pcap len) */
    uint32_t cap_len;       /* bytes captured (pcap caplen) */
    const uint8_t *frame;   /* cap_len bytes */
    int linktype;           /* DLT_* of the capture */

    /* set by decode_packet() */
    uint8_t ip_version;     /* 4 or 6 of the innermost IP header, 0 if none */
    uint8_t proto;          /* IPPROTO_* of the innermost transport */
    uint8_t ttl;            /* TTL / hop limit of the innermost IP header */
    uint8_t vlan_count;
    uint16_t vlan[DECODE_MAX_VLANS];
    uint8_t tunnel;         /* enum tunnel_kind of the innermost tunnel */
    uint8_t tunnel_depth;
    uint32_t tunnel_id;     /* VNI, GRE key, ERSPAN session, TEID; 0 if none */
    struct ip_addr src, dst;
    uint16_t sport, dport;  /* ports; ICMP: type, code */
    uint32_t ip_len;        /* innermost IP header + payload, as declared */
    const uint8_t *l4;      /* transport header */
    uint32_t l4_len;        /* transport header + payload bytes present */

    /* TCP */
    uint8_t tcp_flags;
    uint32_t tcp_seq, tcp_ack;
    uint16_t tcp_win;
    uint8_t tcp_wscale;     /* 0xff when the option is absent */
    uint16_t tcp_mss;       /* 0 when absent */

    /* transport payload (bytes present; may be short of declared when the
     * capture was cut, see payload_truncated) */
    const uint8_t *payload;
    uint32_t payload_len;
    uint32_t payload_wire_len; /* payload length the headers declare */
    bool payload_truncated;

    /* IP fragments: frames and bytes of every fragment that made this
     * datagram (1 and wire_len for an ordinary packet) */
    uint32_t frag_frames;
    uint64_t frag_bytes;
};

enum decode_result {
    DECODE_OK = 0,      /* an IP packet with a transport we track */
    DECODE_NOT_IP,      /* fine, but nothing for the flow table (ARP, ...) */
    DECODE_FRAGMENT,    /* a fragment was stored; no packet yet */
    DECODE_INVALID,     /* malformed; counted in decode_stats */
};

/* Decodes p->frame as link type p->linktype. `defrag` may be NULL (no
 * reassembly: fragments are counted and dropped). When a datagram is
 * completed by this frame, the packet points into defrag's buffer, which
 * stays valid until the next call. */
enum decode_result decode_packet(struct packet *p, struct defrag *defrag,
                                 struct decode_stats *st);

/* true when the link type is one decode_packet() knows. */
bool decode_linktype_supported(int linktype);

/* Text form of an address ("192.0.2.1" / "2001:db8::1"); buf >= 46 bytes. */
const char *ip_addr_str(const struct ip_addr *a, uint8_t ip_version,
                        char *buf, size_t len);

/* UDP ports that carry tunnels: VXLAN, VXLAN-GPE, Geneve, GTP-U (the
 * decoder looks inside; the worker shard keeps both directions together). */
static inline bool decode_udp_tunnel_port(uint16_t sport, uint16_t dport)
{
    return sport == 4789 || dport == 4789 || sport == 4790 || dport == 4790 ||
           sport == 6081 || dport == 6081 || sport == 2152 || dport == 2152;
}

#endif
