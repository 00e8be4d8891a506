/* test_stream.c -- TCP reassembly: in order, out of order, retransmitted,
 * overlapping (first wins), gaps, mid-stream pick-up, and every bound. */
#include "flow/tcp_stream.h"
#include "testing.h"

static char got[1 << 16];
static size_t got_len;
static uint64_t gap_total;
static int gap_calls;

static void on_data(void *ctx, int dir, const uint8_t *d, size_t n)
{
    (void)ctx; (void)dir;
    if (got_len + n <= sizeof(got)) {
        memcpy(got + got_len, d, n);
        got_len += n;
    }
}

static void on_gap(void *ctx, int dir, uint64_t n)
{
    (void)ctx; (void)dir;
    gap_total += n;
    gap_calls++;
    /* show the hole in the delivered text */
    if (got_len < sizeof(got))
        got[got_len++] = '_';
}

static struct stream_engine *engine(uint64_t memcap, uint64_t max_queued,
                                    uint64_t depth)
{
    got_len = 0;
    gap_total = 0;
    gap_calls = 0;
    memset(got, 0, sizeof(got));
    struct stream_config c = { memcap, max_queued, depth };
    struct stream_sink s = { on_data, on_gap };
    return stream_engine_new(&c, &s);
}

#define SEG(e, s, flags, seq, str) \
    stream_segment(e, s, 0, NULL, flags, seq, (const uint8_t *)(str), (uint32_t)strlen(str))

static void in_order_bytes_pass_straight_through(void)
{
    struct stream_engine *e = engine(1 << 20, 1 << 16, 0);
    struct tcp_stream s;
    stream_init(&s);
    SEG(e, &s, 0x02, 99, "");       /* SYN: data starts at 100 */
    SEG(e, &s, 0x10, 100, "hello ");
    SEG(e, &s, 0x10, 106, "world");
    CHECK_EQ(got_len, 11);
    CHECK(memcmp(got, "hello world", 11) == 0);
    CHECK_EQ(stream_engine_stats(e)->queued, 0);
    CHECK(!(s.flags & STREAM_F_MIDSTREAM));
    stream_engine_free(e);
}

static void out_of_order_is_held_until_the_hole_fills(void)
{
    struct stream_engine *e = engine(1 << 20, 1 << 16, 0);
    struct tcp_stream s;
    stream_init(&s);
    SEG(e, &s, 0x02, 0, "");
    SEG(e, &s, 0x10, 7, "CCC");
    SEG(e, &s, 0x10, 4, "BBB");
    CHECK_EQ(got_len, 0);
    SEG(e, &s, 0x10, 1, "AAA");
    CHECK_EQ(got_len, 9);
    CHECK(memcmp(got, "AAABBBCCC", 9) == 0);
    CHECK_EQ(stream_engine_stats(e)->chunks_in_use, 0);
    stream_engine_free(e);
}

static void retransmissions_are_counted_not_redelivered(void)
{
    struct stream_engine *e = engine(1 << 20, 1 << 16, 0);
    struct tcp_stream s;
    stream_init(&s);
    SEG(e, &s, 0x02, 0, "");
    SEG(e, &s, 0x10, 1, "abcdef");
    SEG(e, &s, 0x10, 1, "abcdef");
    SEG(e, &s, 0x10, 4, "defghi"); /* overlaps the delivered tail */
    CHECK_EQ(got_len, 9);
    CHECK(memcmp(got, "abcdefghi", 9) == 0);
    CHECK_EQ(stream_engine_stats(e)->retransmits, 1);
    CHECK_EQ(stream_engine_stats(e)->overlaps, 1);
    stream_engine_free(e);
}

static void overlapping_queued_data_keeps_the_first_bytes(void)
{
    struct stream_engine *e = engine(1 << 20, 1 << 16, 0);
    struct tcp_stream s;
    stream_init(&s);
    SEG(e, &s, 0x02, 0, "");
    SEG(e, &s, 0x10, 5, "XXXX");      /* 5..8 queued first */
    SEG(e, &s, 0x10, 3, "yyYYYYzz");  /* 3..10: 5..8 differ */
    SEG(e, &s, 0x10, 1, "ab");
    CHECK_EQ(got_len, 10);
    CHECK(memcmp(got, "abyyXXXXzz", 10) == 0);
    CHECK_EQ(stream_engine_stats(e)->overlap_mismatch, 1);
    stream_engine_free(e);
}

static void a_hole_at_the_end_is_reported_as_a_gap(void)
{
    struct stream_engine *e = engine(1 << 20, 1 << 16, 0);
    struct tcp_stream s;
    stream_init(&s);
    SEG(e, &s, 0x02, 0, "");
    SEG(e, &s, 0x10, 1, "abc");
    SEG(e, &s, 0x10, 10, "xyz");      /* bytes 4..9 never arrive */
    stream_finish(e, &s, 0, NULL);
    CHECK_EQ(gap_calls, 1);
    CHECK_EQ(gap_total, 6);
    CHECK(memcmp(got, "abc_xyz", 7) == 0);
    CHECK_EQ(s.gaps, 1);
    CHECK_EQ(stream_engine_stats(e)->chunks_in_use, 0);
    stream_engine_free(e);
}

static void midstream_pickup_starts_at_the_first_byte_seen(void)
{
    struct stream_engine *e = engine(1 << 20, 1 << 16, 0);
    struct tcp_stream s;
    stream_init(&s);
    SEG(e, &s, 0x18, 5000, "mid");
    SEG(e, &s, 0x18, 5003, "dle");
    CHECK(s.flags & STREAM_F_MIDSTREAM);
    CHECK_EQ(got_len, 6);
    CHECK_EQ(stream_engine_stats(e)->midstream, 1);
    stream_engine_free(e);
}

static void per_flow_queue_bound_declares_a_gap_and_moves_on(void)
{
    struct stream_engine *e = engine(1 << 20, 8, 0); /* 8 bytes queued max */
    struct tcp_stream s;
    stream_init(&s);
    SEG(e, &s, 0x02, 0, "");
    SEG(e, &s, 0x10, 11, "AAAAAAAA");   /* queued: 8 bytes */
    SEG(e, &s, 0x10, 19, "BBBB");       /* over the bound */
    CHECK(stream_engine_stats(e)->per_flow_cap >= 1);
    CHECK_EQ(gap_total, 10);            /* bytes 1..10 given up */
    CHECK(memcmp(got, "_AAAAAAAA", 9) == 0);
    CHECK(s.ooo_bytes <= 8);
    stream_finish(e, &s, 0, NULL);
    CHECK(memcmp(got, "_AAAAAAAABBBB", 13) == 0);
    stream_engine_free(e);
}

static void global_memcap_bounds_all_flows(void)
{
    /* room for 2 chunks in all */
    struct stream_engine *e = engine(2 * (2048 + 32), 1 << 20, 0);
    struct tcp_stream a, b;
    stream_init(&a);
    stream_init(&b);
    SEG(e, &a, 0x02, 0, "");
    SEG(e, &b, 0x02, 0, "");
    SEG(e, &a, 0x10, 100, "a1");
    SEG(e, &a, 0x10, 200, "a2");
    SEG(e, &b, 0x10, 100, "b1");        /* pool is empty: b gives up its hole */
    CHECK(stream_engine_stats(e)->memcap_hit >= 1);
    CHECK(stream_engine_stats(e)->chunks_allocated <= 2);
    CHECK_EQ(b.gaps, 1);
    stream_finish(e, &a, 0, NULL);
    CHECK_EQ(stream_engine_stats(e)->chunks_in_use, 0);
    stream_engine_free(e);
}

static void depth_stops_delivery_and_queuing(void)
{
    struct stream_engine *e = engine(1 << 20, 1 << 16, 5);
    struct tcp_stream s;
    stream_init(&s);
    SEG(e, &s, 0x02, 0, "");
    SEG(e, &s, 0x10, 1, "abcdefgh");
    CHECK_EQ(got_len, 5);
    CHECK(s.flags & STREAM_F_DEPTH);
    SEG(e, &s, 0x10, 100, "later");
    CHECK_EQ(stream_engine_stats(e)->chunks_in_use, 0);
    CHECK_EQ(stream_engine_stats(e)->depth_reached, 1);
    stream_engine_free(e);
}

static void large_segments_are_split_across_chunks(void)
{
    struct stream_engine *e = engine(1 << 20, 1 << 20, 0);
    struct tcp_stream s;
    stream_init(&s);
    static uint8_t big[10000];
    for (size_t i = 0; i < sizeof(big); i++)
        big[i] = (uint8_t)('a' + i % 26);
    SEG(e, &s, 0x02, 0, "");
    stream_segment(e, &s, 0, NULL, 0x10, 2, big, sizeof(big));
    CHECK(stream_engine_stats(e)->chunks_in_use >= 5);
    SEG(e, &s, 0x10, 1, "!");
    CHECK_EQ(got_len, 1 + sizeof(big));
    CHECK(memcmp(got + 1, big, sizeof(big)) == 0);
    CHECK_EQ(stream_engine_stats(e)->chunks_in_use, 0);
    stream_engine_free(e);
}

static void sequence_numbers_wrap(void)
{
    struct stream_engine *e = engine(1 << 20, 1 << 16, 0);
    struct tcp_stream s;
    stream_init(&s);
    SEG(e, &s, 0x02, 0xfffffffd, "");
    SEG(e, &s, 0x10, 0x00000001, "def");
    SEG(e, &s, 0x10, 0xfffffffe, "abc");
    CHECK_EQ(got_len, 6);
    CHECK(memcmp(got, "abcdef", 6) == 0);
    stream_engine_free(e);
}

TEST_LIST(in_order_bytes_pass_straight_through,
          out_of_order_is_held_until_the_hole_fills,
          retransmissions_are_counted_not_redelivered,
          overlapping_queued_data_keeps_the_first_bytes,
          a_hole_at_the_end_is_reported_as_a_gap,
          midstream_pickup_starts_at_the_first_byte_seen,
          per_flow_queue_bound_declares_a_gap_and_moves_on,
          global_memcap_bounds_all_flows, depth_stops_delivery_and_queuing,
          large_segments_are_split_across_chunks, sequence_numbers_wrap)
