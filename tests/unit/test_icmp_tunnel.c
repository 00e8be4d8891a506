/* test_icmp_tunnel.c -- echo that does not echo: replies that do not carry
 * their request's identifier, sequence and data (three replies, half of
 * them different), and requests with new data under a sequence number that
 * never advances (three times), each just short of its line and at it;
 * one strong finding per internal end, once per pair; ICMPv6 too. Packets
 * are struct packet as the decoder fills them: the type in sport, the
 * payload from the identifier on. */
#include <math.h>

#include "detect/icmp_tunnel.h"
#include "testing.h"

static struct finding seen[16];
static int n_seen;

static void sink(void *ctx, const struct finding *fd)
{
    (void)ctx;
    if (n_seen < 16)
        seen[n_seen++] = *fd;
}

static struct home_net home;
static struct flow *fl;

static struct icmp_tunnel *new_detector(uint32_t pairs)
{
    char err[128];
    CHECK(home_net_parse(&home, HOME_NET_DEFAULT, err, sizeof(err)));
    n_seen = 0;
    if (!fl)
        fl = calloc(1, sizeof(struct flow));
    struct icmp_tunnel *t = icmp_tunnel_new(pairs, &home, sink, NULL);
    CHECK(t != NULL);
    return t;
}

static struct ip_addr v4(uint8_t a, uint8_t b, uint8_t c, uint8_t d)
{
    struct ip_addr x;
    memset(&x, 0, sizeof(x));
    x.b[0] = a, x.b[1] = b, x.b[2] = c, x.b[3] = d;
    return x;
}

static uint8_t payload[256];
static double clock_s = 1700000000.0;

/* An echo request (8) or reply (0) src -> dst: identifier, sequence, then
 * data_len bytes of data filled with fill. */
static void echo(struct icmp_tunnel *t, uint8_t type, struct ip_addr src, struct ip_addr dst,
                 uint16_t id, uint16_t seq, uint8_t fill, size_t data_len)
{
    struct packet p;
    memset(&p, 0, sizeof(p));
    p.ip_version = 4;
    p.proto = 1;
    p.src = src;
    p.dst = dst;
    p.sport = type;
    payload[0] = (uint8_t)(id >> 8), payload[1] = (uint8_t)id;
    payload[2] = (uint8_t)(seq >> 8), payload[3] = (uint8_t)seq;
    for (size_t i = 0; i < data_len; i++)
        payload[4 + i] = (uint8_t)(fill + i);
    p.payload = payload;
    p.payload_len = (uint32_t)(4 + data_len);
    p.payload_wire_len = p.payload_len;
    clock_s += 1;
    p.ts_usec = (uint64_t)(clock_s * 1e6);
    icmp_tunnel_packet(t, fl, &p);
}

#define REQ 8
#define REP 0

static const struct ip_addr me_addr = { { 10, 0, 0, 5 } };
#define ME me_addr
#define FAR v4(198, 51, 100, 9)

static void test_a_ping_is_no_tunnel(void)
{
    struct icmp_tunnel *t = new_detector(64);
    for (uint16_t s = 1; s <= 20; s++) {
        echo(t, REQ, ME, FAR, 0x1234, s, 0x10, 56);
        echo(t, REP, FAR, ME, 0x1234, s, 0x10, 56);
    }
    /* a retransmitted request (same sequence, same data) is no new data */
    echo(t, REQ, ME, FAR, 0x1234, 20, 0x10, 56);
    echo(t, REQ, ME, FAR, 0x1234, 20, 0x10, 56);
    echo(t, REQ, ME, FAR, 0x1234, 20, 0x10, 56);
    echo(t, REQ, ME, FAR, 0x1234, 20, 0x10, 56);
    CHECK_EQ(n_seen, 0);
    CHECK_EQ(icmp_tunnel_stats(t)->echoes, 44);
    CHECK_EQ(icmp_tunnel_stats(t)->tunnels, 0);
    icmp_tunnel_free(t);
}

static void test_replies_that_do_not_echo_their_requests(void)
{
    struct icmp_tunnel *t = new_detector(64);
    /* 3 replies, 1 different: less than half */
    echo(t, REQ, ME, FAR, 7, 1, 0x20, 56);
    echo(t, REP, FAR, ME, 7, 1, 0x20, 56);
    echo(t, REQ, ME, FAR, 7, 2, 0x20, 56);
    echo(t, REP, FAR, ME, 7, 2, 0x99, 56);     /* other data */
    echo(t, REQ, ME, FAR, 7, 3, 0x20, 56);
    echo(t, REP, FAR, ME, 7, 3, 0x20, 56);
    CHECK_EQ(n_seen, 0);
    /* a 4th, different: 2 of 4, half */
    echo(t, REQ, ME, FAR, 7, 4, 0x20, 56);
    echo(t, REP, FAR, ME, 7, 4, 0x20, 40);     /* shorter */
    CHECK_EQ(n_seen, 1);
    const struct finding *x = &seen[0];
    CHECK_EQ(x->kind, FINDING_icmp_tunnel);
    CHECK_EQ(x->stage, STAGE_C2);
    CHECK_EQ(x->severity, 1);
    CHECK(x->strong);
    CHECK(!x->anomaly);
    CHECK_EQ(x->ip_version, 4);
    CHECK(!memcmp(&x->host, &ME, sizeof(struct ip_addr)));
    struct ip_addr far = FAR;
    CHECK(!memcmp(&x->peer, &far, sizeof(far)));
    CHECK(x->has_peer);
    CHECK(!x->peer_internal);
    CHECK(x->flow == fl);
    CHECK_EQ(x->ts_usec, (uint64_t)(clock_s * 1e6));
    CHECK_EQ(x->observed, 2);
    CHECK_EQ(x->baseline, 4);
    CHECK(isnan(x->deviation));
    CHECK_STR(x->unit, "replies");
    CHECK_STR(x->indicators, "echo_mismatch");
    CHECK_STR(x->detail, "2 of 4 echo replies do not carry the data of their request; "
                         "0 requests carry new data under an unchanged sequence number "
                         "(4 requests, up to 56 bytes of data): a ping never does either, "
                         "a tunnel does");
    /* once per pair */
    for (uint16_t s = 5; s < 10; s++) {
        echo(t, REQ, ME, FAR, 7, s, 0x20, 56);
        echo(t, REP, FAR, ME, 7, s, 0x77, 56);
    }
    CHECK_EQ(n_seen, 1);
    CHECK_EQ(icmp_tunnel_stats(t)->tunnels, 1);
    icmp_tunnel_free(t);
}

static void test_three_replies_are_needed(void)
{
    struct icmp_tunnel *t = new_detector(64);
    echo(t, REQ, ME, FAR, 7, 1, 0x20, 56);
    echo(t, REP, FAR, ME, 7, 1, 0x55, 56);
    echo(t, REQ, ME, FAR, 7, 2, 0x20, 56);
    echo(t, REP, FAR, ME, 7, 2, 0x55, 56);
    CHECK_EQ(n_seen, 0);                       /* 2 of 2, but only 2 */
    echo(t, REQ, ME, FAR, 7, 3, 0x20, 56);
    echo(t, REP, FAR, ME, 7, 3, 0x55, 200);  /* longer */
    CHECK_EQ(n_seen, 1);
    CHECK_EQ(seen[0].observed, 3);
    CHECK_EQ(seen[0].baseline, 3);
    CHECK(strstr(seen[0].detail, "(3 requests, up to 200 bytes of data)") != NULL);
    icmp_tunnel_free(t);
}

static void test_replies_to_requests_never_seen_are_no_evidence(void)
{
    struct icmp_tunnel *t = new_detector(64);
    /* the capture saw only the replies */
    for (uint16_t s = 1; s <= 6; s++)
        echo(t, REP, FAR, ME, 9, s, (uint8_t)s, 56);
    CHECK_EQ(n_seen, 0);
    /* late replies to any of the last 8 requests still match; the 9th
     * request back has left the ring */
    struct ip_addr other = v4(198, 51, 100, 10);
    for (uint16_t s = 1; s <= 9; s++)
        echo(t, REQ, ME, other, 3, s, 0x40, 56);
    for (uint16_t s = 1; s <= 9; s++)
        echo(t, REP, other, ME, 3, s, 0x40, 56);
    CHECK_EQ(n_seen, 0);                       /* 1 of 9 */
    icmp_tunnel_free(t);
}

static void test_new_data_under_a_stuck_sequence_number(void)
{
    struct icmp_tunnel *t = new_detector(64);
    /* the kernel answers each one faithfully; the requests carry commands */
    echo(t, REQ, FAR, ME, 0x0100, 1, 0x01, 32);
    echo(t, REP, ME, FAR, 0x0100, 1, 0x01, 32);
    echo(t, REQ, FAR, ME, 0x0100, 1, 0x02, 32);
    echo(t, REP, ME, FAR, 0x0100, 1, 0x02, 32);
    echo(t, REQ, FAR, ME, 0x0100, 1, 0x03, 48);
    echo(t, REP, ME, FAR, 0x0100, 1, 0x03, 48);
    echo(t, REQ, FAR, ME, 0x0100, 1, 0x03, 48);   /* a retransmission */
    CHECK_EQ(n_seen, 0);                           /* 2 */
    echo(t, REQ, FAR, ME, 0x0100, 1, 0x04, 16);
    CHECK_EQ(n_seen, 1);
    const struct finding *x = &seen[0];
    CHECK_EQ(x->severity, 1);
    CHECK(x->strong);
    CHECK(!memcmp(&x->host, &ME, sizeof(struct ip_addr)));
    CHECK_EQ(x->observed, 3);
    CHECK_EQ(x->baseline, 5);
    CHECK_STR(x->unit, "requests");
    CHECK_STR(x->indicators, "sequence_stuck");
    CHECK_STR(x->detail, "0 of 3 echo replies do not carry the data of their request; "
                         "3 requests carry new data under an unchanged sequence number "
                         "(5 requests, up to 48 bytes of data): a ping never does either, "
                         "a tunnel does");
    icmp_tunnel_free(t);
    /* the last request is kept per sender: two hosts that each repeat
     * their own request under the same numbers send no new data */
    t = new_detector(64);
    for (int i = 0; i < 6; i++) {
        echo(t, REQ, FAR, ME, 1, 1, 0x11, 32);
        echo(t, REQ, ME, FAR, 1, 1, 0x22, 32);
    }
    CHECK_EQ(n_seen, 0);
    icmp_tunnel_free(t);
    /* an advancing sequence with new data each time: a ping with a pattern */
    t = new_detector(64);
    for (uint16_t s = 1; s <= 10; s++)
        echo(t, REQ, ME, FAR, 1, s, (uint8_t)(s * 7), 32);
    CHECK_EQ(n_seen, 0);
    icmp_tunnel_free(t);
}

static void test_which_ends_are_named(void)
{
    /* both ends inside: one finding each */
    struct icmp_tunnel *t = new_detector(64);
    struct ip_addr a = v4(10, 0, 0, 5), b = v4(10, 0, 0, 9);
    for (int i = 0; i < 4; i++)
        echo(t, REQ, a, b, 1, 1, (uint8_t)i, 32);
    CHECK_EQ(n_seen, 2);
    CHECK(!memcmp(&seen[0].host, &a, sizeof(a)) && !memcmp(&seen[0].peer, &b, sizeof(b)));
    CHECK(!memcmp(&seen[1].host, &b, sizeof(b)) && !memcmp(&seen[1].peer, &a, sizeof(a)));
    CHECK(seen[0].peer_internal && seen[1].peer_internal);
    icmp_tunnel_free(t);
    /* the internal end has the higher address */
    t = new_detector(64);
    a = v4(8, 8, 4, 4), b = v4(192, 168, 1, 5);
    for (int i = 0; i < 4; i++)
        echo(t, REQ, b, a, 1, 1, (uint8_t)i, 32);
    CHECK_EQ(n_seen, 1);
    CHECK(!memcmp(&seen[0].host, &b, sizeof(b)));
    CHECK(!seen[0].peer_internal);
    icmp_tunnel_free(t);
    /* neither inside: the first (lower) end */
    t = new_detector(64);
    a = v4(198, 51, 100, 9), b = v4(203, 0, 113, 5);
    for (int i = 0; i < 4; i++)
        echo(t, REQ, b, a, 1, 1, (uint8_t)i, 32);
    CHECK_EQ(n_seen, 1);
    CHECK(!memcmp(&seen[0].host, &a, sizeof(a)));
    CHECK(!memcmp(&seen[0].peer, &b, sizeof(b)));
    icmp_tunnel_free(t);
}

static void test_icmpv6_echo(void)
{
    struct icmp_tunnel *t = new_detector(64);
    struct packet p;
    struct ip_addr a, b;
    memset(&a, 0, sizeof(a));
    memset(&b, 0, sizeof(b));
    a.b[0] = 0xfd, a.b[15] = 5;                              /* fd00::5 */
    b.b[0] = 0x20, b.b[1] = 0x01, b.b[2] = 0x0d, b.b[3] = 0xb8, b.b[15] = 9;
    for (int i = 0; i < 4; i++) {
        memset(&p, 0, sizeof(p));
        p.ip_version = 6;
        p.proto = 58;
        p.src = i % 2 ? b : a;
        p.dst = i % 2 ? a : b;
        p.sport = 128;                                      /* echo request */
        memset(payload, 0, 4);
        payload[3] = 1;
        memset(payload + 4, 0x30 + i, 24);
        p.payload = payload;
        p.payload_len = 28;
        p.ts_usec = 1700000000000000ull + (uint64_t)i;
        icmp_tunnel_packet(t, fl, &p);
    }
    CHECK_EQ(n_seen, 0);                          /* per sender: 1 each */
    /* replies (129) that carry other data than the requests (128) */
    for (int i = 0; i < 3; i++) {
        memset(&p, 0, sizeof(p));
        p.ip_version = 6;
        p.proto = 58;
        p.src = b;
        p.dst = a;
        p.sport = 129;
        memset(payload, 0, 4);
        memset(payload + 4, 0x70 + i, 24);
        p.payload = payload;
        p.payload_len = 28;
        p.ts_usec = 1700000000000100ull + (uint64_t)i;
        icmp_tunnel_packet(t, fl, &p);
    }
    CHECK_EQ(n_seen, 1);
    CHECK_EQ(seen[0].ip_version, 6);
    CHECK(!memcmp(&seen[0].host, &a, sizeof(a)));
    CHECK_STR(seen[0].indicators, "echo_mismatch");
    /* IPv4's echo types mean nothing in ICMPv6 */
    CHECK_EQ(icmp_tunnel_stats(t)->echoes, 7);
    p.sport = 8;
    icmp_tunnel_packet(t, fl, &p);
    CHECK_EQ(icmp_tunnel_stats(t)->echoes, 7);
    icmp_tunnel_free(t);
}

static void test_what_is_not_looked_at(void)
{
    struct icmp_tunnel *t = new_detector(64);
    /* destination unreachable, and echo with under 4 bytes or cut short */
    echo(t, 3, ME, FAR, 1, 1, 0, 32);
    struct packet p;
    memset(&p, 0, sizeof(p));
    p.ip_version = 4;
    p.proto = 1;
    p.src = ME;
    p.dst = FAR;
    p.sport = 8;
    p.payload = payload;
    p.payload_len = 3;
    icmp_tunnel_packet(t, fl, &p);
    p.payload_len = 40;
    p.payload_truncated = true;
    icmp_tunnel_packet(t, fl, &p);
    CHECK_EQ(icmp_tunnel_stats(t)->echoes, 0);
    p.payload_truncated = false;
    icmp_tunnel_packet(t, fl, &p);
    CHECK_EQ(icmp_tunnel_stats(t)->echoes, 1);
    icmp_tunnel_packet(NULL, fl, &p);
    icmp_tunnel_free(t);
}

static void test_pair_table_is_bounded(void)
{
    struct icmp_tunnel *t = new_detector(4);          /* one set of four */
    CHECK(icmp_tunnel_memory(t) > 0);
    for (uint8_t i = 1; i <= 5; i++)
        echo(t, REQ, ME, v4(198, 51, 100, i), 1, 1, 0, 8);
    CHECK_EQ(icmp_tunnel_stats(t)->pairs_evicted, 1);
    icmp_tunnel_free(t);
    free(fl);
    fl = NULL;
}

TEST_LIST(test_a_ping_is_no_tunnel, test_replies_that_do_not_echo_their_requests,
          test_three_replies_are_needed, test_replies_to_requests_never_seen_are_no_evidence,
          test_new_data_under_a_stuck_sequence_number, test_which_ends_are_named,
          test_icmpv6_echo, test_what_is_not_looked_at, test_pair_table_is_bounded)
