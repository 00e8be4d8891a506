/* test_decode.c -- what the decoders accept, what they refuse, and how they
 * count it. Every frame is built byte by byte with pktbuild.h. */
#include <pcap/dlt.h>

#include "decode/decode.h"
#include "decode/defrag.h"
#include "pktbuild.h"
#include "testing.h"

static struct decode_stats st;

static enum decode_result decode(const struct pb *b, int lt, struct packet *p)
{
    pb_packet(b, p, lt, 1000000);
    return decode_packet(p, NULL, &st);
}

/* Ethernet / IPv4 / TCP with 5 payload bytes. */
static void build_tcp4(struct pb *b)
{
    memset(b, 0, sizeof(*b));
    pb_eth(b, 0x0800);
    size_t ip = pb_ipv4(b, IP4(10, 0, 0, 1), IP4(10, 0, 0, 2), 6, 1, 0);
    pb_tcp(b, 40000, 443, 1000, 0, TCP_SYN);
    pb_bytes(b, "hello", 5);
    pb_fix_ipv4(b, ip);
}

static void ethernet_ipv4_tcp_is_decoded(void)
{
    struct pb b;
    struct packet p;
    build_tcp4(&b);
    CHECK_EQ(decode(&b, DLT_EN10MB, &p), DECODE_OK);
    CHECK_EQ(p.ip_version, 4);
    CHECK_EQ(p.proto, 6);
    CHECK_EQ(p.sport, 40000);
    CHECK_EQ(p.dport, 443);
    CHECK_EQ(p.tcp_flags, TCP_SYN);
    CHECK_EQ(p.tcp_seq, 1000);
    CHECK_EQ(p.payload_len, 5);
    CHECK_EQ(p.payload_wire_len, 5);
    CHECK(memcmp(p.payload, "hello", 5) == 0);
    CHECK_EQ(p.src.b[3], 1);
    CHECK_EQ(p.dst.b[3], 2);
    CHECK_EQ(p.ip_len, 45);
}

static void ethernet_padding_is_not_payload(void)
{
    struct pb b;
    struct packet p;
    build_tcp4(&b);
    pb_bytes(&b, "\0\0\0\0\0\0", 6); /* link padding after the IP packet */
    CHECK_EQ(decode(&b, DLT_EN10MB, &p), DECODE_OK);
    CHECK_EQ(p.payload_len, 5);
}

static void every_truncation_is_counted_never_read(void)
{
    struct pb b;
    struct packet p;
    build_tcp4(&b);
    size_t full = b.len;
    /* cutting the frame anywhere inside the headers, with the wire length
     * claiming the frame is whole, must be refused and counted */
    for (size_t cut = 0; cut < full - 5; cut++) {
        struct decode_stats before = st;
        pb_packet(&b, &p, DLT_EN10MB, 1);
        p.cap_len = p.wire_len = (uint32_t)cut;
        enum decode_result r = decode_packet(&p, NULL, &st);
        CHECK(r == DECODE_INVALID);
        CHECK_EQ(st.invalid, before.invalid + 1);
    }
}

static void snaplen_cut_payload_is_kept_and_marked(void)
{
    struct pb b;
    struct packet p;
    build_tcp4(&b);
    pb_packet(&b, &p, DLT_EN10MB, 1);
    p.cap_len = (uint32_t)b.len - 3; /* the snap length cut the payload */
    CHECK_EQ(decode_packet(&p, NULL, &st), DECODE_OK);
    CHECK(p.payload_truncated);
    CHECK_EQ(p.payload_len, 2);
    CHECK_EQ(p.payload_wire_len, 5);
}

static void ip_total_length_beyond_frame_is_counted_and_kept(void)
{
    struct pb b;
    struct packet p;
    build_tcp4(&b);
    pb_put16(&b, 14 + 2, 1500);
    uint64_t before = st.err[DECODE_ERR_ipv4_bad_total_len];
    uint64_t invalid = st.invalid;
    CHECK_EQ(decode(&b, DLT_EN10MB, &p), DECODE_OK);
    CHECK_EQ(st.err[DECODE_ERR_ipv4_bad_total_len], before + 1);
    CHECK_EQ(st.invalid, invalid);
    CHECK(p.payload_truncated);
    CHECK_EQ(p.payload_len, 5);
    CHECK_EQ(p.sport, 40000);
}

static void udp_length_lie_is_counted_and_clamped(void)
{
    struct pb b = { .len = 0 };
    struct packet p;
    pb_eth(&b, 0x0800);
    size_t ip = pb_ipv4(&b, IP4(1, 1, 1, 1), IP4(2, 2, 2, 2), 17, 0, 0);
    pb_udp(&b, 1512, 53);
    pb_bytes(&b, "abcdefgh", 8);
    pb_fix_ipv4(&b, ip);
    pb_put16(&b, 14 + 20 + 4, 65535);
    uint64_t before = st.err[DECODE_ERR_udp_bad_len];
    CHECK_EQ(decode(&b, DLT_EN10MB, &p), DECODE_OK);
    CHECK_EQ(st.err[DECODE_ERR_udp_bad_len], before + 1);
    CHECK_EQ(p.payload_len, 8);
    CHECK_EQ(p.dport, 53);
}

/* SCTP: the common header's ports make the flow; a header cut short is
 * counted and dropped, never read past. */
static void sctp_ports_are_decoded(void)
{
    struct pb b = { .len = 0 };
    struct packet p;
    pb_eth(&b, 0x0800);
    size_t ip = pb_ipv4(&b, IP4(10, 0, 0, 1), IP4(10, 0, 0, 2), 132, 0, 0);
    pb_u16(&b, 36412); pb_u16(&b, 80);        /* ports */
    pb_u32(&b, 0x01020304); pb_u32(&b, 0);    /* verification tag, CRC32c */
    pb_u16(&b, 0x0003); pb_u16(&b, 8);       /* one chunk, 8 bytes */
    pb_bytes(&b, "abcd", 4);
    pb_fix_ipv4(&b, ip);
    uint64_t sctp = st.sctp, other = st.other_ip;
    CHECK_EQ(decode(&b, DLT_EN10MB, &p), DECODE_OK);
    CHECK_EQ(p.proto, 132);
    CHECK_EQ(p.sport, 36412);
    CHECK_EQ(p.dport, 80);
    CHECK_EQ(p.payload_len, 8);
    CHECK_EQ(p.payload_wire_len, 8);
    CHECK_EQ(st.sctp, sctp + 1);
    CHECK_EQ(st.other_ip, other);
    b.len = 14 + 20 + 10; /* two bytes short of the common header */
    pb_fix_ipv4(&b, ip);
    uint64_t cut = st.err[DECODE_ERR_sctp_truncated];
    CHECK(decode(&b, DLT_EN10MB, &p) != DECODE_OK);
    CHECK_EQ(st.err[DECODE_ERR_sctp_truncated], cut + 1);
}

static void vlan_and_qinq_tags_are_recorded(void)
{
    struct pb b = { .len = 0 };
    struct packet p;
    pb_eth(&b, 0x88a8);
    pb_u16(&b, 100);
    pb_u16(&b, 0x8100);
    pb_u16(&b, 200);
    pb_u16(&b, 0x0800);
    size_t ip = pb_ipv4(&b, IP4(1, 1, 1, 1), IP4(2, 2, 2, 2), 17, 0, 0);
    size_t u = pb_udp(&b, 53, 5353);
    pb_bytes(&b, "abcd", 4);
    pb_fix_udp(&b, u);
    pb_fix_ipv4(&b, ip);
    CHECK_EQ(decode(&b, DLT_EN10MB, &p), DECODE_OK);
    CHECK_EQ(p.vlan_count, 2);
    CHECK_EQ(p.vlan[0], 100);
    CHECK_EQ(p.vlan[1], 200);
    CHECK_EQ(p.proto, 17);
    CHECK_EQ(p.payload_len, 4);
}

static void mpls_label_stack_then_ipv4(void)
{
    struct pb b = { .len = 0 };
    struct packet p;
    pb_eth(&b, 0x8847);
    pb_u32(&b, (16u << 12) | 64);          /* label 16, not bottom */
    pb_u32(&b, (17u << 12) | 0x100 | 64);  /* label 17, bottom of stack */
    size_t ip = pb_ipv4(&b, IP4(1, 1, 1, 1), IP4(2, 2, 2, 2), 6, 0, 0);
    pb_tcp(&b, 1, 2, 0, 0, TCP_ACK);
    pb_fix_ipv4(&b, ip);
    CHECK_EQ(decode(&b, DLT_EN10MB, &p), DECODE_OK);
    CHECK_EQ(p.sport, 1);
}

static void ipv6_extension_headers_are_walked(void)
{
    struct pb b = { .len = 0 };
    struct packet p;
    pb_eth(&b, 0x86dd);
    size_t ip = pb_ipv6(&b, 1, 2, 0);      /* hop-by-hop first */
    pb_u8(&b, 60); pb_u8(&b, 0); pb_bytes(&b, "\1\4\0\0\0\0", 6);
    pb_u8(&b, 6); pb_u8(&b, 0); pb_bytes(&b, "\1\4\0\0\0\0", 6); /* dst opts */
    pb_tcp(&b, 5555, 22, 7, 0, TCP_SYN);
    pb_fix_ipv6(&b, ip);
    CHECK_EQ(decode(&b, DLT_EN10MB, &p), DECODE_OK);
    CHECK_EQ(p.ip_version, 6);
    CHECK_EQ(p.proto, 6);
    CHECK_EQ(p.dport, 22);
    CHECK_EQ(p.src.b[15], 1);
}

static void ipv6_lying_extension_length_is_invalid(void)
{
    struct pb b = { .len = 0 };
    struct packet p;
    pb_eth(&b, 0x86dd);
    size_t ip = pb_ipv6(&b, 1, 2, 60);
    pb_u8(&b, 6); pb_u8(&b, 200); pb_bytes(&b, "\0\0\0\0\0\0", 6);
    pb_fix_ipv6(&b, ip);
    uint64_t before = st.err[DECODE_ERR_ipv6_bad_ext_header];
    CHECK_EQ(decode(&b, DLT_EN10MB, &p), DECODE_INVALID);
    CHECK_EQ(st.err[DECODE_ERR_ipv6_bad_ext_header], before + 1);
}

/* Two IPv4 fragments of one UDP datagram, delivered last-first. */
static void ipv4_fragments_are_reassembled(void)
{
    struct defrag_config dc = { 4, 30 };
    struct defrag *df = defrag_new(&dc);
    uint8_t udp[8 + 24];
    memset(udp, 'x', sizeof(udp));
    udp[0] = 0x30; udp[1] = 0x39; /* 12345 */
    udp[2] = 0x00; udp[3] = 0x35; /* 53 */
    udp[4] = 0; udp[5] = sizeof(udp);
    udp[6] = udp[7] = 0;
    struct pb f1 = { .len = 0 }, f2 = { .len = 0 };
    pb_eth(&f1, 0x0800);
    size_t i1 = pb_ipv4(&f1, IP4(9, 9, 9, 9), IP4(8, 8, 8, 8), 17, 77, 0x2000);
    pb_bytes(&f1, udp, 16);
    pb_fix_ipv4(&f1, i1);
    pb_eth(&f2, 0x0800);
    size_t i2 = pb_ipv4(&f2, IP4(9, 9, 9, 9), IP4(8, 8, 8, 8), 17, 77, 2);
    pb_bytes(&f2, udp + 16, sizeof(udp) - 16);
    pb_fix_ipv4(&f2, i2);
    struct packet p;
    pb_packet(&f2, &p, DLT_EN10MB, 10);
    CHECK_EQ(decode_packet(&p, df, &st), DECODE_FRAGMENT);
    pb_packet(&f1, &p, DLT_EN10MB, 11);
    CHECK_EQ(decode_packet(&p, df, &st), DECODE_OK);
    CHECK_EQ(p.sport, 12345);
    CHECK_EQ(p.dport, 53);
    CHECK_EQ(p.payload_len, 24);
    CHECK_EQ(p.frag_frames, 2);
    CHECK_EQ(p.frag_bytes, f1.len + f2.len);
    defrag_free(df);
}

static void defrag_overlap_keeps_first_bytes(void)
{
    struct defrag_config dc = { 2, 30 };
    struct defrag *df = defrag_new(&dc);
    struct defrag_key k;
    memset(&k, 0, sizeof(k));
    k.id = 5;
    struct defrag_done done;
    struct decode_stats s;
    memset(&s, 0, sizeof(s));
    CHECK(!defrag_add(df, &k, 1, 0, true, (const uint8_t *)"AAAAAAAA", 8, 60, &s, &done));
    CHECK(!defrag_add(df, &k, 2, 0, true, (const uint8_t *)"BBBBBBBBBBBBBBBB", 16, 60, &s, &done));
    CHECK_EQ(s.err[DECODE_ERR_frag_overlap], 1);
    CHECK(defrag_add(df, &k, 3, 16, false, (const uint8_t *)"CC", 2, 60, &s, &done));
    CHECK_EQ(done.len, 18);
    CHECK(memcmp(done.payload, "AAAAAAAABBBBBBBBCC", 18) == 0);
    defrag_free(df);
}

static void defrag_trackers_are_bounded_and_evictions_counted(void)
{
    struct defrag_config dc = { 2, 30 };
    struct defrag *df = defrag_new(&dc);
    struct defrag_key k;
    memset(&k, 0, sizeof(k));
    struct defrag_done done;
    struct decode_stats s;
    memset(&s, 0, sizeof(s));
    for (uint32_t id = 0; id < 5; id++) {
        k.id = id;
        defrag_add(df, &k, id, 0, true, (const uint8_t *)"AAAAAAAA", 8, 60, &s, &done);
    }
    CHECK_EQ(s.frag_evicted, 3);
    CHECK(defrag_memory(df) <= 2 * 65535 + 4096 + 2 * sizeof(void *) * 64);
    /* a datagram whose tracker timed out starts again */
    k.id = 4;
    CHECK(!defrag_add(df, &k, 100000000, 8, false, (const uint8_t *)"B", 1, 60, &s, &done));
    CHECK(s.frag_timeouts >= 1);
    defrag_free(df);
}

static void build_inner_tcp(struct pb *b)
{
    size_t ip = pb_ipv4(b, IP4(192, 168, 0, 1), IP4(192, 168, 0, 2), 6, 0, 0);
    pb_tcp(b, 1234, 80, 1, 0, TCP_SYN);
    pb_fix_ipv4(b, ip);
}

static void vxlan_inner_flow_is_the_flow(void)
{
    struct pb b = { .len = 0 };
    struct packet p;
    pb_eth(&b, 0x0800);
    size_t ip = pb_ipv4(&b, IP4(172, 16, 0, 1), IP4(172, 16, 0, 2), 17, 0, 0);
    size_t u = pb_udp(&b, 4789, 4790);
    pb_u32(&b, 0x08000000);
    pb_u32(&b, 42u << 8);
    pb_eth(&b, 0x0800);
    build_inner_tcp(&b);
    pb_fix_udp(&b, u);
    pb_fix_ipv4(&b, ip);
    CHECK_EQ(decode(&b, DLT_EN10MB, &p), DECODE_OK);
    CHECK_EQ(p.proto, 6);
    CHECK_EQ(p.dport, 80);
    CHECK_EQ(p.tunnel, TUNNEL_VXLAN);
    CHECK_EQ(p.tunnel_id, 42);
    CHECK_EQ(p.src.b[0], 192);
}

static void udp_on_tunnel_port_that_is_not_a_tunnel_stays_udp(void)
{
    struct pb b = { .len = 0 };
    struct packet p;
    pb_eth(&b, 0x0800);
    size_t ip = pb_ipv4(&b, IP4(172, 16, 0, 1), IP4(172, 16, 0, 2), 17, 0, 0);
    size_t u = pb_udp(&b, 4789, 4789);
    pb_bytes(&b, "not vxlan at all", 16);
    pb_fix_udp(&b, u);
    pb_fix_ipv4(&b, ip);
    CHECK_EQ(decode(&b, DLT_EN10MB, &p), DECODE_OK);
    CHECK_EQ(p.proto, 17);
    CHECK_EQ(p.tunnel, TUNNEL_NONE);
    CHECK_EQ(p.payload_len, 16);
}

static void geneve_with_options(void)
{
    struct pb b = { .len = 0 };
    struct packet p;
    pb_eth(&b, 0x0800);
    size_t ip = pb_ipv4(&b, IP4(172, 16, 0, 1), IP4(172, 16, 0, 2), 17, 0, 0);
    size_t u = pb_udp(&b, 50000, 6081);
    pb_u8(&b, 2);          /* version 0, 2 words of options */
    pb_u8(&b, 0);
    pb_u16(&b, 0x6558);
    pb_u32(&b, 7u << 8);
    pb_u32(&b, 0); pb_u32(&b, 0);
    pb_eth(&b, 0x0800);
    build_inner_tcp(&b);
    pb_fix_udp(&b, u);
    pb_fix_ipv4(&b, ip);
    CHECK_EQ(decode(&b, DLT_EN10MB, &p), DECODE_OK);
    CHECK_EQ(p.tunnel, TUNNEL_GENEVE);
    CHECK_EQ(p.tunnel_id, 7);
    CHECK_EQ(p.dport, 80);
}

static void gre_erspan2_and_gre_ip(void)
{
    struct pb b = { .len = 0 };
    struct packet p;
    pb_eth(&b, 0x0800);
    size_t ip = pb_ipv4(&b, IP4(172, 16, 0, 1), IP4(172, 16, 0, 2), 47, 0, 0);
    pb_u16(&b, 0x1000);     /* sequence present: ERSPAN type II */
    pb_u16(&b, 0x88be);
    pb_u32(&b, 1);
    pb_u16(&b, 0x1000);     /* version 1, vlan 0 */
    pb_u16(&b, 0x0005);     /* session 5 */
    pb_u32(&b, 0);
    pb_eth(&b, 0x0800);
    build_inner_tcp(&b);
    pb_fix_ipv4(&b, ip);
    CHECK_EQ(decode(&b, DLT_EN10MB, &p), DECODE_OK);
    CHECK_EQ(p.tunnel, TUNNEL_ERSPAN);
    CHECK_EQ(p.tunnel_id, 5);
    CHECK_EQ(p.dport, 80);

    struct pb g = { .len = 0 };
    pb_eth(&g, 0x0800);
    ip = pb_ipv4(&g, IP4(172, 16, 0, 1), IP4(172, 16, 0, 2), 47, 0, 0);
    pb_u16(&g, 0x2000);     /* key present */
    pb_u16(&g, 0x0800);
    pb_u32(&g, 99);
    build_inner_tcp(&g);
    pb_fix_ipv4(&g, ip);
    CHECK_EQ(decode(&g, DLT_EN10MB, &p), DECODE_OK);
    CHECK_EQ(p.tunnel, TUNNEL_GRE);
    CHECK_EQ(p.tunnel_id, 99);
}

static void gtpu_gpdu_carries_inner_ip(void)
{
    struct pb b = { .len = 0 };
    struct packet p;
    pb_eth(&b, 0x0800);
    size_t ip = pb_ipv4(&b, IP4(172, 16, 0, 1), IP4(172, 16, 0, 2), 17, 0, 0);
    size_t u = pb_udp(&b, 2152, 2152);
    pb_u8(&b, 0x30);
    pb_u8(&b, 0xff);
    size_t lenat = b.len;
    pb_u16(&b, 0);
    pb_u32(&b, 0xabcdef);
    size_t inner = b.len;
    build_inner_tcp(&b);
    pb_put16(&b, lenat, (uint16_t)(b.len - inner));
    pb_fix_udp(&b, u);
    pb_fix_ipv4(&b, ip);
    CHECK_EQ(decode(&b, DLT_EN10MB, &p), DECODE_OK);
    CHECK_EQ(p.tunnel, TUNNEL_GTPU);
    CHECK_EQ(p.tunnel_id, 0xabcdef);
    CHECK_EQ(p.dport, 80);
}

static void nesting_is_bounded(void)
{
    /* IPv4-in-IPv4 twenty deep: refused as too many layers */
    struct pb b = { .len = 0 };
    struct packet p;
    size_t at[20];
    for (int i = 0; i < 20; i++)
        at[i] = pb_ipv4(&b, IP4(1, 1, 1, 1), IP4(2, 2, 2, 2), 4, 0, 0);
    build_inner_tcp(&b);
    for (int i = 19; i >= 0; i--)
        pb_fix_ipv4(&b, at[i]);
    uint64_t before = st.err[DECODE_ERR_too_many_layers];
    CHECK_EQ(decode(&b, DLT_RAW, &p), DECODE_INVALID);
    CHECK_EQ(st.err[DECODE_ERR_too_many_layers], before + 1);
}

static void cooked_null_and_raw_link_types(void)
{
    struct pb inner = { .len = 0 };
    build_inner_tcp(&inner);
    struct packet p;

    struct pb sll = { .len = 0 };
    pb_u16(&sll, 0); pb_u16(&sll, 1); pb_u16(&sll, 6);
    pb_bytes(&sll, "\0\0\0\0\0\0\0\0", 8);
    pb_u16(&sll, 0x0800);
    pb_bytes(&sll, inner.b, inner.len);
    CHECK_EQ(decode(&sll, DLT_LINUX_SLL, &p), DECODE_OK);
    CHECK_EQ(p.dport, 80);

    struct pb sll2 = { .len = 0 };
    pb_u16(&sll2, 0x0800); pb_u16(&sll2, 0); pb_u32(&sll2, 1);
    pb_u16(&sll2, 1); pb_u8(&sll2, 0); pb_u8(&sll2, 6);
    pb_bytes(&sll2, "\0\0\0\0\0\0\0\0", 8);
    pb_bytes(&sll2, inner.b, inner.len);
    CHECK_EQ(decode(&sll2, 276, &p), DECODE_OK);
    CHECK_EQ(p.dport, 80);

    struct pb null = { .len = 0 };
    pb_bytes(&null, "\2\0\0\0", 4); /* AF_INET, little-endian host */
    pb_bytes(&null, inner.b, inner.len);
    CHECK_EQ(decode(&null, DLT_NULL, &p), DECODE_OK);

    struct pb loop = { .len = 0 };
    pb_u32(&loop, 2);
    pb_bytes(&loop, inner.b, inner.len);
    CHECK_EQ(decode(&loop, DLT_LOOP, &p), DECODE_OK);

    CHECK_EQ(decode(&inner, DLT_RAW, &p), DECODE_OK);
    CHECK_EQ(decode(&inner, 228 /* DLT_IPV4 */, &p), DECODE_OK);
}

static void frame_relay_both_encapsulations_and_nsh(void)
{
    struct pb inner = { .len = 0 };
    build_inner_tcp(&inner);
    struct packet p;
    struct pb fr = { .len = 0 };           /* RFC 2427: control, NLPID */
    pb_u16(&fr, 0x1861); pb_u8(&fr, 0x03); pb_u8(&fr, 0xcc);
    pb_bytes(&fr, inner.b, inner.len);
    CHECK_EQ(decode(&fr, 107 /* DLT_FRELAY */, &p), DECODE_OK);
    CHECK_EQ(p.dport, 80);
    struct pb cisco = { .len = 0 };        /* Cisco: an ethertype */
    pb_u16(&cisco, 0x1861); pb_u16(&cisco, 0x0800);
    pb_bytes(&cisco, inner.b, inner.len);
    CHECK_EQ(decode(&cisco, 107, &p), DECODE_OK);
    CHECK_EQ(p.dport, 80);
    struct pb nsh = { .len = 0 };          /* NSH, 2 words, next IPv4 */
    pb_eth(&nsh, 0x894f);
    pb_u8(&nsh, 0); pb_u8(&nsh, 2); pb_u8(&nsh, 1); pb_u8(&nsh, 1);
    pb_u32(&nsh, 0x00000aff);
    pb_bytes(&nsh, inner.b, inner.len);
    CHECK_EQ(decode(&nsh, DLT_EN10MB, &p), DECODE_OK);
    CHECK_EQ(p.dport, 80);
}

static void arp_is_not_ip_and_not_invalid(void)
{
    struct pb b = { .len = 0 };
    struct packet p;
    pb_eth(&b, 0x0806);
    pb_bytes(&b, "\0\1\10\0\6\4\0\1", 8);
    uint64_t inv = st.invalid;
    CHECK_EQ(decode(&b, DLT_EN10MB, &p), DECODE_NOT_IP);
    CHECK_EQ(st.invalid, inv);
}

static void unknown_link_type_is_refused(void)
{
    CHECK(!decode_linktype_supported(147 /* DLT_USER0 */));
    CHECK(decode_linktype_supported(DLT_EN10MB));
    struct pb b = { .len = 4 };
    struct packet p;
    CHECK_EQ(decode(&b, 147, &p), DECODE_INVALID);
}

static void icmp_type_and_code(void)
{
    struct pb b = { .len = 0 };
    struct packet p;
    size_t ip = pb_ipv4(&b, IP4(1, 1, 1, 1), IP4(2, 2, 2, 2), 1, 0, 0);
    pb_u8(&b, 8); pb_u8(&b, 0); pb_u16(&b, 0); pb_u32(&b, 0x00010001);
    pb_fix_ipv4(&b, ip);
    CHECK_EQ(decode(&b, DLT_RAW, &p), DECODE_OK);
    CHECK_EQ(p.proto, 1);
    CHECK_EQ(p.sport, 8);
    CHECK_EQ(p.dport, 0);
}

TEST_LIST(ethernet_ipv4_tcp_is_decoded, ethernet_padding_is_not_payload,
          every_truncation_is_counted_never_read,
          snaplen_cut_payload_is_kept_and_marked,
          ip_total_length_beyond_frame_is_counted_and_kept,
          udp_length_lie_is_counted_and_clamped, sctp_ports_are_decoded,
          vlan_and_qinq_tags_are_recorded, mpls_label_stack_then_ipv4,
          ipv6_extension_headers_are_walked,
          ipv6_lying_extension_length_is_invalid,
          ipv4_fragments_are_reassembled, defrag_overlap_keeps_first_bytes,
          defrag_trackers_are_bounded_and_evictions_counted,
          vxlan_inner_flow_is_the_flow,
          udp_on_tunnel_port_that_is_not_a_tunnel_stays_udp,
          geneve_with_options, gre_erspan2_and_gre_ip,
          gtpu_gpdu_carries_inner_ip, nesting_is_bounded,
          cooked_null_and_raw_link_types,
          frame_relay_both_encapsulations_and_nsh,
          arp_is_not_ip_and_not_invalid,
          unknown_link_type_is_refused, icmp_type_and_code)
