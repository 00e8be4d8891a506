/* intel_lookup.c -- the cost of one indicator lookup in a large set, which
 * the whole-run timing on this shared machine cannot resolve: loads a feed
 * and times millions of address and domain lookups (hits and misses).
 * Usage: intel_lookup FEED   (bench/intel.sh runs it). Not a test. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "intel/feed.h"
#include "intel/intel.h"

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: intel_lookup FEED\n");
        return 2;
    }
    struct feed_spec spec;
    struct feed_result r;
    char err[512];
    struct intel_builder *b = intel_builder_new();
    if (!feed_spec_parse(argv[1], &spec, err, sizeof(err)) ||
        !feed_load(b, &spec, &r, err, sizeof(err))) {
        fprintf(stderr, "intel_lookup: %s\n", err);
        return 1;
    }
    struct intel_set *s = intel_build(b);
    enum { N = 4000000 };
    uint32_t seed = 12345, hits = 0;
    double t0 = now();
    for (int i = 0; i < N; i++) {
        seed = seed * 1103515245u + 12345u;
        uint8_t a[4] = { (uint8_t)(seed >> 24), (uint8_t)(seed >> 16),
                         (uint8_t)(seed >> 8), (uint8_t)seed };
        hits += intel_match_ip(s, a, 4) != NULL;
    }
    double t_ip = (now() - t0) / N;
    static char names[1024][64];
    for (int i = 0; i < 1024; i++)
        snprintf(names[i], sizeof(names[i]), "www.host%d.example-%d.com", i, i * 7);
    bool exact;
    t0 = now();
    for (int i = 0; i < N; i++)
        hits += intel_match_domain(s, names[i & 1023], &exact) != NULL;
    double t_dom = (now() - t0) / N;
    printf("  lookups in a set of %zu: %.0f ns an IPv4 address (random, %u hits in all), "
           "%.0f ns a 4-label domain (misses walk every parent)\n",
           intel_count(s), t_ip * 1e9, hits, t_dom * 1e9);
    intel_set_free(s);
    return 0;
}
