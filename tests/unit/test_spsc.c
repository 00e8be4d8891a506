/* test_spsc.c -- the single-producer/single-consumer ring (util/spsc.h):
 * records come out whole and in order, a full ring refuses rather than
 * overwrites, records never straddle the end, and two threads passing a
 * million records lose, repeat and reorder none (run it under ASan; a
 * TSan build: cc -fsanitize=thread -Isrc -Itests/unit ... test_spsc.c). */
#include <pthread.h>

#include "util/spsc.h"
#include "testing.h"

static void a_new_ring_is_empty(void)
{
    struct spsc r;
    REQUIRE(spsc_init(&r, 4096));
    size_t len = 99;
    CHECK(spsc_peek(&r, &len) == NULL);
    CHECK(spsc_empty(&r));
    CHECK_EQ(r.cap, 4096);
    spsc_free(&r);
}

static void capacity_rounds_up_to_a_power_of_two(void)
{
    struct spsc r;
    REQUIRE(spsc_init(&r, 5000));
    CHECK_EQ(r.cap, 8192);
    CHECK_EQ(spsc_max_record(&r), 4096 - 8);
    spsc_free(&r);
}

static void a_record_is_seen_only_after_commit(void)
{
    struct spsc r;
    REQUIRE(spsc_init(&r, 4096));
    char *p = spsc_reserve(&r, 5);
    REQUIRE(p);
    memcpy(p, "hello", 5);
    size_t len;
    CHECK(spsc_peek(&r, &len) == NULL);
    spsc_commit(&r);
    const char *q = spsc_peek(&r, &len);
    REQUIRE(q);
    CHECK_EQ(len, 5);
    CHECK(!memcmp(q, "hello", 5));
    spsc_release(&r);
    CHECK(spsc_peek(&r, &len) == NULL);
    spsc_free(&r);
}

static void a_full_ring_refuses_and_takes_again_once_read(void)
{
    struct spsc r;
    REQUIRE(spsc_init(&r, 4096));
    int n = 0;
    while (spsc_reserve(&r, 100)) /* 8 + 104 bytes each */
        n++;
    spsc_commit(&r);
    CHECK_EQ(n, 4096 / 112);
    CHECK(spsc_reserve(&r, 100) == NULL);
    size_t len;
    CHECK(spsc_peek(&r, &len) != NULL);
    spsc_release(&r);
    CHECK(spsc_reserve(&r, 100) != NULL);
    spsc_free(&r);
}

static void a_record_over_half_the_ring_is_refused(void)
{
    struct spsc r;
    REQUIRE(spsc_init(&r, 4096));
    CHECK(spsc_reserve(&r, 4096 / 2) == NULL);
    CHECK(spsc_reserve(&r, spsc_max_record(&r)) != NULL);
    spsc_free(&r);
}

/* Lengths that do not divide the ring: records reach its end at every
 * offset and must start again at 0, whole. */
static void records_wrap_around_whole_and_in_order(void)
{
    struct spsc r;
    REQUIRE(spsc_init(&r, 4096));
    uint8_t buf[1500];
    for (uint32_t i = 0; i < 20000; i++) {
        size_t n = 1 + (i * 37) % 1400;
        uint8_t *p = spsc_reserve(&r, n);
        REQUIRE(p);
        for (size_t k = 0; k < n; k++)
            p[k] = (uint8_t)(i + k);
        spsc_commit(&r);
        size_t len;
        const uint8_t *q = spsc_peek(&r, &len);
        REQUIRE(q);
        CHECK_EQ(len, n);
        memcpy(buf, q, len);
        spsc_release(&r);
        for (size_t k = 0; k < n; k++)
            if (buf[k] != (uint8_t)(i + k)) {
                CHECK(buf[k] == (uint8_t)(i + k));
                return;
            }
    }
    CHECK(spsc_empty(&r));
    spsc_free(&r);
}

#define N_ITEMS 1000000u

static void *consume(void *arg)
{
    struct spsc *r = arg;
    uintptr_t bad = 0;
    for (uint32_t want = 0; want < N_ITEMS;) {
        size_t len;
        const uint8_t *q = spsc_peek(r, &len);
        if (!q)
            continue;
        uint32_t got;
        memcpy(&got, q, sizeof(got));
        if (got != want || len != 4 + got % 61 ||
            (len > 4 && q[len - 1] != (uint8_t)got))
            bad++;
        spsc_release(r);
        want++;
    }
    return (void *)bad;
}

static void two_threads_pass_every_record_in_order(void)
{
    struct spsc r;
    REQUIRE(spsc_init(&r, 1 << 14));
    pthread_t t;
    REQUIRE(pthread_create(&t, NULL, consume, &r) == 0);
    for (uint32_t i = 0; i < N_ITEMS; i++) {
        size_t n = 4 + i % 61;
        uint8_t *p;
        while (!(p = spsc_reserve(&r, n)))
            spsc_commit(&r); /* full: what waits must be seen first */
        memcpy(p, &i, sizeof(i));
        if (n > 4)
            p[n - 1] = (uint8_t)i;
        if (i % 3 == 0 || i + 1 == N_ITEMS)
            spsc_commit(&r); /* batches of up to three */
    }
    void *bad;
    pthread_join(t, &bad);
    CHECK_EQ((uintptr_t)bad, 0);
    CHECK(spsc_empty(&r));
    spsc_free(&r);
}

TEST_LIST(a_new_ring_is_empty, capacity_rounds_up_to_a_power_of_two,
          a_record_is_seen_only_after_commit,
          a_full_ring_refuses_and_takes_again_once_read,
          a_record_over_half_the_ring_is_refused,
          records_wrap_around_whole_and_in_order,
          two_threads_pass_every_record_in_order)
