/* anomaly_hosts.c -- what host baselines cost at 100,000 hosts. Not a test.
 *
 * Builds the anomaly detector with room for 100,000 hosts (anomaly.hosts =
 * 133,333: a third of headroom, as docs/anomaly.md advises) and the
 * default pair table, then feeds it flows from 100,000 internal
 * hosts to 2,000 remote servers (ten flows each: 1,000,000 flows) and
 * prints the bytes per profile, the tables' memory, the process's peak RSS,
 * and the time per flow against a loop that only builds the same flows
 * (the baseline, measured in the same run).
 *     anomaly_hosts [HOSTS]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "detect/anomaly.h"
#include "proto/app_detect.h"

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void make_flow(struct flow *f, uint32_t host, uint32_t i)
{
    memset(f, 0, sizeof(*f));
    f->key.ip_version = 4;
    f->key.proto = 6;
    f->key.lo.b[0] = 10;
    f->key.lo.b[1] = (uint8_t)(host >> 16);
    f->key.lo.b[2] = (uint8_t)(host >> 8);
    f->key.lo.b[3] = (uint8_t)host;
    uint32_t srv = (host * 7 + i * 13) % 2000;
    f->key.hi.b[0] = 198;
    f->key.hi.b[1] = 51;
    f->key.hi.b[2] = (uint8_t)(srv >> 8);
    f->key.hi.b[3] = (uint8_t)srv;
    f->key.lo_port = 40000;
    f->key.hi_port = 443;
    f->client_is_lo = 1;
    f->app_proto = APP_TLS;
    f->first_usec = (1700000000ull + i * 360 + host % 300) * 1000000ull;
    f->last_usec = f->first_usec + 2000000;
    f->dir[0].pkts = 12;
    f->dir[0].syn_seen = 1;
    f->dir[0].payload_pkts = 6;
    f->dir[0].payload_bytes = 1200 + host % 900;
    f->dir[1].pkts = 20;
    f->dir[1].syn_seen = 1;
    f->dir[1].payload_pkts = 14;
    f->dir[1].payload_bytes = 30000;
}

static volatile uint64_t sink;

int main(int argc, char **argv)
{
    uint32_t hosts = argc > 1 ? (uint32_t)atoi(argv[1]) : 100000;
    struct anomaly_config c;
    anomaly_config_defaults(&c);
    c.hosts = hosts + hosts / 3; /* the headroom docs/anomaly.md advises */
    c.learning_sec = 0;
    struct anomaly *a = anomaly_new(&c, NULL, NULL);
    if (!a) {
        fprintf(stderr, "anomaly_hosts: out of memory\n");
        return 1;
    }
    struct flow *f = calloc(1, sizeof(struct flow) + 32 * sizeof(struct splt_entry));
    double t0 = now();
    for (uint32_t i = 0; i < 10; i++)
        for (uint32_t h = 0; h < hosts; h++) {
            make_flow(f, h, i);
            sink += f->dir[0].payload_bytes;
        }
    double base = now() - t0;
    t0 = now();
    for (uint32_t i = 0; i < 10; i++)
        for (uint32_t h = 0; h < hosts; h++) {
            make_flow(f, h, i);
            anomaly_on_flow(a, f, NULL);
        }
    double run = now() - t0;
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    uint64_t n = 10ull * hosts;
    printf("host baselines: %u hosts, %llu flows\n", hosts_count(anomaly_hosts(a)),
           (unsigned long long)n);
    printf("  profile: %zu bytes per host; pair entry: %zu bytes\n",
           sizeof(struct host_profile), sizeof(struct pair_entry));
    printf("  tables: %.1f MB (anomaly.hosts %u: %.1f MB of profiles; %u pairs: "
           "%.1f MB; scan trackers), %llu hosts evicted\n",
           anomaly_memory(a) / 1048576.0, c.hosts,
           (double)c.hosts * sizeof(struct host_profile) / 1048576.0, c.pairs,
           (double)c.pairs * sizeof(struct pair_entry) / 1048576.0,
           (unsigned long long)hosts_stats(anomaly_hosts(a))->hosts_evicted);
    printf("  peak RSS %.1f MB\n", ru.ru_maxrss / 1024.0);
    printf("  %.3f us per flow (%.0f flows/s); building the flows alone: %.3f us (%.1fx)\n",
           run / n * 1e6, n / run, base / n * 1e6, run / (base > 0 ? base : 1e-9));
    free(f);
    anomaly_free(a);
    return 0;
}
