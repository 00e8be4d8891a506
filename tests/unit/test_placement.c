/* test_placement.c -- the plan of which worker holds each internal host
 * (sensor/placement.c): the heaviest hosts spread over the workers, hosts
 * joined by an admin session stay together but not through a busy server,
 * a host keeps its worker across plans, and without a plan a host goes by
 * hash and keeps that worker once a plan comes; a pass walked in parts
 * plans as one walk. */
#include "sensor/placement.h"
#include "util/hash.h"
#include "testing.h"

static uint64_t host(unsigned i) { return fmix64(0x1000 + i); }

/* The plan from one tally, as a pass walked by one thread makes it. */
static void plan(struct placement *p, struct placement_tally *t)
{
    placement_plan(p, &t, 1);
    placement_tally_free(t);
}

static void the_heaviest_hosts_go_to_different_workers(void)
{
    struct placement *p = placement_new(2);
    REQUIRE(p);
    struct placement_tally *t = placement_tally_new(p);
    REQUIRE(t);
    /* two heavy hosts and four light ones: longest first, least loaded */
    placement_host(t, host(1), 1000000);
    placement_host(t, host(2), 900000);
    for (unsigned i = 3; i <= 6; i++)
        placement_host(t, host(i), 50000);
    plan(p, t);
    unsigned w1 = placement_worker(p, host(1), false);
    unsigned w2 = placement_worker(p, host(2), false);
    CHECK(w1 != w2);
    uint64_t load[2] = { 0, 0 };
    load[w1] += 1000000;
    load[w2] += 900000;
    for (unsigned i = 3; i <= 6; i++)
        load[placement_worker(p, host(i), false)] += 50000;
    CHECK_EQ(load[0] + load[1], 2100000);
    CHECK(load[0] == 1050000 && load[1] == 1050000);
    CHECK_EQ(placement_stats(p)->hosts, 6);
    placement_free(p);
}

static void what_goes_by_hash_counts_in_the_balance(void)
{
    struct placement *p = placement_new(2);
    REQUIRE(p);
    struct placement_tally *t = placement_tally_new(p);
    REQUIRE(t);
    placement_fixed(t, 0, 500000); /* a busy external pair on worker 0 */
    placement_host(t, host(1), 400000);
    plan(p, t);
    CHECK_EQ(placement_worker(p, host(1), false), 1);
    placement_free(p);
}

static void an_admin_session_keeps_both_hosts_together(void)
{
    struct placement *p = placement_new(2);
    REQUIRE(p);
    for (int round = 0; round < 8; round++) {
        struct placement_tally *t = placement_tally_new(p);
        REQUIRE(t);
        uint64_t a = host(100 + (unsigned)round * 2), b = host(101 + (unsigned)round * 2);
        placement_host(t, a, 700000);
        placement_host(t, b, 600000);
        placement_admin(t, a, b);
        plan(p, t);
        CHECK_EQ(placement_worker(p, a, false), placement_worker(p, b, false));
    }
    CHECK_EQ(placement_stats(p)->groups, 8);
    placement_free(p);
}

static void a_busy_server_joins_no_group(void)
{
    struct placement *p = placement_new(2);
    REQUIRE(p);
    struct placement_tally *t = placement_tally_new(p);
    REQUIRE(t);
    uint64_t dc = host(500);
    placement_host(t, dc, 100);
    for (unsigned i = 0; i < 40; i++) { /* forty hosts talk SMB to the DC */
        placement_host(t, host(i), 100000);
        placement_admin(t, host(i), dc);
    }
    plan(p, t);
    unsigned on[2] = { 0, 0 };
    for (unsigned i = 0; i < 40; i++)
        on[placement_worker(p, host(i), false)]++;
    CHECK_EQ(on[0], 20);
    CHECK_EQ(on[1], 20);
    CHECK_EQ(placement_stats(p)->busy_servers, 1);
    CHECK_EQ(placement_stats(p)->groups, 0);
    placement_free(p);
}

static void a_host_keeps_its_worker_and_draws_its_new_peers(void)
{
    struct placement *p = placement_new(2);
    REQUIRE(p);
    struct placement_tally *t = placement_tally_new(p);
    REQUIRE(t);
    placement_host(t, host(1), 1000);
    plan(p, t);
    unsigned w = placement_worker(p, host(1), false);
    /* the next file: host 1 is now light and host 2 heavy, and host 2 ran
     * code on host 1: both stay where host 1 was */
    t = placement_tally_new(p);
    REQUIRE(t);
    placement_fixed(t, w, 5000000);
    placement_host(t, host(1), 10);
    placement_host(t, host(2), 900000);
    placement_admin(t, host(2), host(1));
    plan(p, t);
    CHECK_EQ(placement_worker(p, host(1), false), w);
    CHECK_EQ(placement_worker(p, host(2), false), w);
    placement_free(p);
}

static void without_a_plan_a_host_goes_by_hash_and_stays(void)
{
    struct placement *p = placement_new(3);
    REQUIRE(p);
    uint64_t k = host(7);
    unsigned w = placement_worker(p, k, false);
    CHECK_EQ(w, (unsigned)(k % 3));
    CHECK_EQ(placement_stats(p)->hosts, 0); /* looking writes nothing */
    CHECK_EQ(placement_worker(p, k, true), w);
    CHECK_EQ(placement_stats(p)->hosts, 1);
    /* a plan that would rather put it elsewhere keeps it */
    struct placement_tally *t = placement_tally_new(p);
    REQUIRE(t);
    placement_fixed(t, w, 9000000);
    placement_host(t, k, 100);
    plan(p, t);
    CHECK_EQ(placement_worker(p, k, false), w);
    placement_free(p);
}

static void a_plan_is_the_same_every_time(void)
{
    unsigned first[64];
    for (int run = 0; run < 2; run++) {
        struct placement *p = placement_new(3);
        REQUIRE(p);
        struct placement_tally *t = placement_tally_new(p);
        REQUIRE(t);
        for (unsigned i = 0; i < 64; i++)
            placement_host(t, host(i), 1000); /* all tie: by key */
        for (unsigned i = 0; i < 64; i += 8)
            placement_admin(t, host(i), host(i + 1));
        plan(p, t);
        for (unsigned i = 0; i < 64; i++) {
            unsigned w = placement_worker(p, host(i), false);
            if (run == 0)
                first[i] = w;
            else
                CHECK_EQ(w, first[i]);
        }
        placement_free(p);
    }
}

/* A pass walked in parts (a tally a thread) plans as one walk would: the
 * loads of a host seen by both parts add up, and a session seen by one
 * part joins hosts whose loads the other part saw. */
static void tallies_of_parts_plan_as_one(void)
{
    unsigned whole[40], parts[40];
    for (int split = 0; split < 2; split++) {
        struct placement *p = placement_new(2);
        REQUIRE(p);
        struct placement_tally *t[2] = { placement_tally_new(p), placement_tally_new(p) };
        REQUIRE(t[0] && t[1]);
        for (unsigned i = 0; i < 40; i++) {
            /* host i's load in two halves, the second on the other part */
            placement_host(t[0], host(i), 1000 + 37 * i);
            placement_host(t[split], host(i), 500 + 11 * i);
        }
        placement_fixed(t[split], 1, 20000);
        /* the heaviest two: joined by a session only the second part saw */
        placement_admin(t[split], host(39), host(38));
        placement_plan(p, t, 2);
        placement_tally_free(t[0]);
        placement_tally_free(t[1]);
        for (unsigned i = 0; i < 40; i++)
            (split ? parts : whole)[i] = placement_worker(p, host(i), false);
        CHECK_EQ(placement_stats(p)->groups, 1);
        placement_free(p);
    }
    for (unsigned i = 0; i < 40; i++)
        CHECK_EQ(parts[i], whole[i]);
    CHECK_EQ(parts[38], parts[39]);
}

TEST_LIST(the_heaviest_hosts_go_to_different_workers,
          what_goes_by_hash_counts_in_the_balance,
          an_admin_session_keeps_both_hosts_together,
          a_busy_server_joins_no_group,
          a_host_keeps_its_worker_and_draws_its_new_peers,
          without_a_plan_a_host_goes_by_hash_and_stays,
          a_plan_is_the_same_every_time,
          tallies_of_parts_plan_as_one)
