/* test_flow.c -- the flow table: one flow per conversation in both
 * directions, who the client is, state, timeouts, FIN/RST and port reuse,
 * the memory cap, Community ID, and the per-flow features. */
#include <pcap/dlt.h>

#include "flow/flow_table.h"
#include "pktbuild.h"
#include "testing.h"

#define MAX_ENDED 64
static struct {
    int n;
    enum flow_end_reason reason[MAX_ENDED];
    uint64_t pkts[MAX_ENDED];
} ended;

static void on_end(void *ctx, struct flow *f, enum flow_end_reason r)
{
    (void)ctx;
    if (ended.n < MAX_ENDED) {
        ended.reason[ended.n] = r;
        ended.pkts[ended.n] = f->dir[0].pkts + f->dir[1].pkts;
    }
    ended.n++;
}

static struct flow_config config(void)
{
    struct flow_config c = {
        .memcap = 1 << 20, .splt_len = 8, .timeout_tcp_new = 30,
        .timeout_tcp_established = 300, .timeout_tcp_closed = 5,
        .timeout_udp_new = 30, .timeout_udp_established = 60,
        .timeout_icmp = 30, .timeout_other = 30,
    };
    return c;
}

/* A decoded TCP packet between 10.0.0.1:port_a and 10.0.0.2:80. */
static struct packet tcp_pkt(int from_client, uint16_t cport, uint8_t flags,
                             uint32_t payload, uint64_t ts)
{
    struct packet p;
    memset(&p, 0, sizeof(p));
    p.ts_usec = ts;
    p.ip_version = 4;
    p.proto = 6;
    p.src.b[0] = 10; p.src.b[3] = from_client ? 1 : 2;
    p.dst.b[0] = 10; p.dst.b[3] = from_client ? 2 : 1;
    p.sport = from_client ? cport : 80;
    p.dport = from_client ? 80 : cport;
    p.tcp_flags = flags;
    p.wire_len = 54 + payload;
    p.frag_frames = 1;
    p.frag_bytes = p.wire_len;
    p.ip_len = 40 + payload;
    p.payload_len = p.payload_wire_len = payload;
    static const uint8_t zeros[2048];
    p.payload = zeros;
    p.ttl = from_client ? 64 : 128;
    p.tcp_wscale = 0xff;
    return p;
}

static void both_directions_are_one_flow_with_syn_client(void)
{
    ended.n = 0;
    struct flow_config c = config();
    struct flow_table *t = flow_table_new(&c, on_end, NULL);
    int dir;
    struct packet p = tcp_pkt(1, 5000, TCP_SYN, 0, 1000);
    struct flow *f = flow_table_packet(t, &p, &dir);
    CHECK_EQ(dir, 0);
    p = tcp_pkt(0, 5000, TCP_SYN | TCP_ACK, 0, 2000);
    CHECK(flow_table_packet(t, &p, &dir) == f);
    CHECK_EQ(dir, 1);
    p = tcp_pkt(1, 5000, TCP_ACK, 100, 3000);
    flow_table_packet(t, &p, &dir);
    CHECK_EQ(f->initiator, INIT_SYN);
    CHECK_EQ(f->state, FLOW_STATE_ESTABLISHED);
    CHECK_EQ(f->dir[0].pkts, 2);
    CHECK_EQ(f->dir[1].pkts, 1);
    CHECK_EQ(f->dir[0].bytes, 54 + 54 + 100);
    CHECK_EQ(flow_port(f, 1), 80);
    CHECK_EQ(flow_addr(f, 0)->b[3], 1);
    CHECK_EQ(flow_table_stats(t)->active, 1);
    flow_table_free(t);
}

static void synack_first_makes_its_receiver_the_client(void)
{
    struct flow_config c = config();
    struct flow_table *t = flow_table_new(&c, on_end, NULL);
    int dir;
    struct packet p = tcp_pkt(0, 5001, TCP_SYN | TCP_ACK, 0, 1000);
    struct flow *f = flow_table_packet(t, &p, &dir);
    CHECK_EQ(f->initiator, INIT_SYNACK);
    CHECK_EQ(dir, 1);
    CHECK_EQ(flow_port(f, 1), 80);
    p = tcp_pkt(0, 5002, TCP_ACK, 10, 1000); /* mid-stream: first packet */
    f = flow_table_packet(t, &p, &dir);
    CHECK_EQ(f->initiator, INIT_FIRST_PACKET);
    CHECK_EQ(flow_port(f, 0), 80);
    flow_table_free(t);
}

static void idle_flows_time_out_by_state(void)
{
    ended.n = 0;
    struct flow_config c = config();
    struct flow_table *t = flow_table_new(&c, on_end, NULL);
    int dir;
    struct packet p = tcp_pkt(1, 6000, TCP_SYN, 0, 1000000);
    flow_table_packet(t, &p, &dir);
    flow_table_expire(t, 1000000 + 29 * 1000000ull);
    CHECK_EQ(ended.n, 0);
    flow_table_expire(t, 1000000 + 31 * 1000000ull);
    CHECK_EQ(ended.n, 1);
    CHECK_EQ(ended.reason[0], FLOW_END_TIMEOUT);
    CHECK_EQ(flow_table_stats(t)->active, 0);
    flow_table_free(t);
}

/* Time steps back (captures concatenated): a flow made after another but
 * at an earlier time still times out when its own time is up, though the
 * flow ahead of it in the list is still active. What expires must not
 * depend on which other flows share the table (a worker holds some). */
static void a_flow_from_a_step_back_in_time_still_expires(void)
{
    ended.n = 0;
    struct flow_config c = config();
    struct flow_table *t = flow_table_new(&c, on_end, NULL);
    int dir;
    struct packet p = tcp_pkt(1, 7000, TCP_SYN, 0, 100 * 1000000ull);
    flow_table_packet(t, &p, &dir);
    p = tcp_pkt(1, 7001, TCP_SYN, 0, 50 * 1000000ull);
    flow_table_packet(t, &p, &dir);
    CHECK_EQ(ended.n, 0);
    flow_table_expire(t, 125 * 1000000ull); /* the second idle 75 s, the first 25 s */
    CHECK_EQ(ended.n, 1);
    CHECK_EQ(ended.reason[0], FLOW_END_TIMEOUT);
    CHECK_EQ(flow_table_stats(t)->expiry_full_walks, 1);
    flow_table_expire(t, 131 * 1000000ull);
    CHECK_EQ(ended.n, 2);
    flow_table_expire(t, 140 * 1000000ull); /* in order again: no walk */
    CHECK_EQ(flow_table_stats(t)->expiry_full_walks, 1);
    flow_table_free(t);
}

static void a_late_packet_never_joins_an_expired_flow(void)
{
    ended.n = 0;
    struct flow_config c = config();
    struct flow_table *t = flow_table_new(&c, on_end, NULL);
    int dir;
    struct packet p = tcp_pkt(1, 6001, TCP_SYN, 0, 1000000);
    struct flow *f1 = flow_table_packet(t, &p, &dir);
    uint64_t id1 = f1->id;
    p = tcp_pkt(1, 6001, TCP_ACK, 5, 1000000 + 100 * 1000000ull);
    struct flow *f2 = flow_table_packet(t, &p, &dir);
    CHECK_EQ(ended.n, 1);
    CHECK(f2->id != id1);
    CHECK_EQ(f2->dir[0].pkts, 1);
    flow_table_free(t);
}

static void fin_fin_closes_and_new_syn_starts_a_new_flow(void)
{
    ended.n = 0;
    struct flow_config c = config();
    struct flow_table *t = flow_table_new(&c, on_end, NULL);
    int dir;
    struct packet p = tcp_pkt(1, 7000, TCP_SYN, 0, 1);
    struct flow *f = flow_table_packet(t, &p, &dir);
    p = tcp_pkt(0, 7000, TCP_SYN | TCP_ACK, 0, 2);
    flow_table_packet(t, &p, &dir);
    p = tcp_pkt(1, 7000, TCP_FIN | TCP_ACK, 0, 3);
    flow_table_packet(t, &p, &dir);
    CHECK_EQ(f->state, FLOW_STATE_ESTABLISHED);
    p = tcp_pkt(0, 7000, TCP_FIN | TCP_ACK, 0, 4);
    flow_table_packet(t, &p, &dir);
    CHECK_EQ(f->state, FLOW_STATE_CLOSED);
    p = tcp_pkt(1, 7000, TCP_ACK, 0, 5); /* the last ACK stays in the flow */
    CHECK(flow_table_packet(t, &p, &dir) == f);
    CHECK_EQ(ended.n, 0);
    p = tcp_pkt(1, 7000, TCP_SYN, 0, 6); /* the same SYN: a retransmission */
    p.tcp_seq = 0;
    CHECK(flow_table_packet(t, &p, &dir) == f);
    CHECK_EQ(ended.n, 0);
    p = tcp_pkt(1, 7000, TCP_SYN, 0, 7); /* a new ISN: port reuse */
    p.tcp_seq = 123456;
    flow_table_packet(t, &p, &dir);
    CHECK_EQ(ended.n, 1);
    CHECK_EQ(ended.reason[0], FLOW_END_TCP_REUSE);
    CHECK_EQ(ended.pkts[0], 6);
    CHECK_EQ(flow_table_stats(t)->tcp_reuse, 1);
    flow_table_free(t);
}

static void rst_closes_and_closed_flows_end_after_linger(void)
{
    ended.n = 0;
    struct flow_config c = config();
    struct flow_table *t = flow_table_new(&c, on_end, NULL);
    int dir;
    struct packet p = tcp_pkt(1, 7100, TCP_SYN, 0, 1000000);
    struct flow *f = flow_table_packet(t, &p, &dir);
    p = tcp_pkt(0, 7100, TCP_RST | TCP_ACK, 0, 1000001);
    flow_table_packet(t, &p, &dir);
    CHECK_EQ(f->state, FLOW_STATE_CLOSED);
    flow_table_expire(t, 1000001 + 6 * 1000000ull);
    CHECK_EQ(ended.n, 1);
    flow_table_free(t);
}

static void full_table_evicts_oldest_and_counts(void)
{
    ended.n = 0;
    struct flow_config c = config();
    c.memcap = 3 * flow_size(&c) + 100; /* room for exactly 3 flows */
    struct flow_table *t = flow_table_new(&c, on_end, NULL);
    int dir;
    for (int i = 0; i < 10; i++) {
        struct packet p = tcp_pkt(1, (uint16_t)(8000 + i), TCP_SYN, 0, 1000 + i);
        CHECK(flow_table_packet(t, &p, &dir) != NULL);
    }
    const struct flow_table_stats *s = flow_table_stats(t);
    CHECK_EQ(s->active, 3);
    CHECK_EQ(s->evicted, 7);
    CHECK_EQ(s->by_reason[FLOW_END_FORCED], 7);
    CHECK(flow_table_memory(t) <= c.memcap + 64 * 1024); /* + bucket array */
    flow_table_flush(t, FLOW_END_SHUTDOWN);
    CHECK_EQ(ended.n, 10);
    CHECK_EQ(ended.reason[9], FLOW_END_SHUTDOWN);
    flow_table_free(t);
}

static void vlan_and_tunnel_keep_flows_apart(void)
{
    struct flow_config c = config();
    struct flow_table *t = flow_table_new(&c, on_end, NULL);
    int dir;
    struct packet p = tcp_pkt(1, 9000, TCP_SYN, 0, 1);
    struct flow *a = flow_table_packet(t, &p, &dir);
    p.vlan_count = 1;
    p.vlan[0] = 10;
    struct flow *b = flow_table_packet(t, &p, &dir);
    p.vlan_count = 0;
    p.vlan[0] = 0;
    p.tunnel = TUNNEL_VXLAN;
    p.tunnel_id = 7;
    struct flow *cf = flow_table_packet(t, &p, &dir);
    CHECK(a != b && b != cf && a != cf);
    CHECK_EQ(flow_table_stats(t)->active, 3);
    flow_table_free(t);
}

static void community_id_matches_the_spec(void)
{
    /* the example of the Community ID spec: 128.232.110.120:34855 ->
     * 66.35.250.204:80 TCP is 1:LQU9qZlK+B5F3KDmev6m5PMibrg= (seed 0) */
    struct flow_config c = config();
    struct flow_table *t = flow_table_new(&c, on_end, NULL);
    struct packet p = tcp_pkt(1, 34855, TCP_SYN, 0, 1);
    const uint8_t s[4] = { 128, 232, 110, 120 }, d[4] = { 66, 35, 250, 204 };
    memset(&p.src, 0, sizeof(p.src));
    memset(&p.dst, 0, sizeof(p.dst));
    memcpy(p.src.b, s, 4);
    memcpy(p.dst.b, d, 4);
    int dir;
    struct flow *f = flow_table_packet(t, &p, &dir);
    char cid[40];
    flow_community_id(f, 0, cid, sizeof(cid));
    CHECK_STR(cid, "1:LQU9qZlK+B5F3KDmev6m5PMibrg=");
    flow_community_id(f, 1, cid, sizeof(cid));
    CHECK_STR(cid, "1:3V71V58M3Ksw/yuFALMcW0LAHvc=");
    flow_table_free(t);
}

static void icmp_echo_request_and_reply_are_one_flow(void)
{
    struct flow_config c = config();
    struct flow_table *t = flow_table_new(&c, on_end, NULL);
    struct packet p = tcp_pkt(1, 0, 0, 8, 1);
    p.proto = 1;
    p.sport = 8; /* echo request */
    p.dport = 0;
    int dir;
    struct flow *f = flow_table_packet(t, &p, &dir);
    struct packet r = tcp_pkt(0, 0, 0, 8, 2);
    r.proto = 1;
    r.sport = 0; /* echo reply */
    r.dport = 0;
    CHECK(flow_table_packet(t, &r, &dir) == f);
    CHECK_EQ(dir, 1);
    flow_table_free(t);
}

static void features_record_splt_rounds_and_statistics(void)
{
    struct flow_config c = config();
    c.splt_len = 4;
    struct flow_table *t = flow_table_new(&c, on_end, NULL);
    int dir;
    struct packet p = tcp_pkt(1, 9100, TCP_SYN, 0, 1000);
    struct flow *f = flow_table_packet(t, &p, &dir);
    p = tcp_pkt(1, 9100, TCP_ACK, 300, 2000);
    flow_table_packet(t, &p, &dir);
    p = tcp_pkt(1, 9100, TCP_ACK, 200, 2500);
    flow_table_packet(t, &p, &dir);
    p = tcp_pkt(0, 9100, TCP_ACK, 1400, 4000);
    flow_table_packet(t, &p, &dir);
    p = tcp_pkt(0, 9100, TCP_ACK, 0, 4100); /* pure ACK: not in SPLT */
    flow_table_packet(t, &p, &dir);
    p = tcp_pkt(1, 9100, TCP_ACK, 50, 5000);
    flow_table_packet(t, &p, &dir);
    p = tcp_pkt(0, 9100, TCP_ACK, 60, 6000); /* beyond the SPLT cap */
    flow_table_packet(t, &p, &dir);
    CHECK_EQ(f->splt_n, 4);
    CHECK_EQ(f->splt[0].len, 300);
    CHECK_EQ(f->splt[0].dir, 0);
    CHECK_EQ(f->splt[1].iat_usec, 500);
    CHECK_EQ(f->splt[2].len, 1400);
    CHECK_EQ(f->splt[2].dir, 1);
    CHECK_EQ(f->splt[2].iat_usec, 1500);
    CHECK_EQ(f->rounds, 4);
    CHECK_EQ(f->round[0].pkts, 2);
    CHECK_EQ(f->round[0].bytes, 500);
    CHECK_EQ(f->round[1].bytes, 1400);
    CHECK_EQ(f->dir[0].size_min, 40);
    CHECK_EQ(f->dir[0].size_max, 340);
    CHECK_EQ(f->dir[0].iat_min, 500);
    CHECK_EQ(f->dir[0].iat_max, 2500);
    CHECK_EQ(f->dir[0].init_ttl, 64);
    CHECK_EQ(f->dir[1].init_ttl, 128);
    CHECK(f->dir[0].has_entropy);
    CHECK(f->dir[0].entropy < 0.01f); /* all-zero payload */
    CHECK_EQ(f->dir[0].payload_bytes, 550);
    flow_table_free(t);
}

TEST_LIST(both_directions_are_one_flow_with_syn_client,
          synack_first_makes_its_receiver_the_client,
          idle_flows_time_out_by_state,
          a_late_packet_never_joins_an_expired_flow,
          a_flow_from_a_step_back_in_time_still_expires,
          fin_fin_closes_and_new_syn_starts_a_new_flow,
          rst_closes_and_closed_flows_end_after_linger,
          full_table_evicts_oldest_and_counts,
          vlan_and_tunnel_keep_flows_apart, community_id_matches_the_spec,
          icmp_echo_request_and_reply_are_one_flow,
          features_record_splt_rounds_and_statistics)
