/* hosts.h -- host profiles and communication pairs: the baselines the
 * anomaly and behaviour detectors compare traffic with, and their state
 * file.
 *
 * A profile is kept for every internal address (home_net.h) that starts or
 * answers a connection: when it was first and last seen; per hour of day,
 * exponentially weighted connections, bytes out and bytes in; new peers,
 * DNS lookups and the NXDOMAIN share per hour; the client bytes of its
 * last 32 flows to remote hosts (median/MAD: the exfiltration baseline);
 * the services it uses and offers (port, transport, detected application
 * and how often). A pair is (client, server, server port, transport) with
 * when it was first and last seen, its flows and its EWMA of client bytes.
 *
 * Both tables are fixed-size and allocated once. Pairs are 4-way
 * set-associative; a host has two candidate sets of 8 and goes to the
 * emptier (100,000 hosts in 133,333 slots: none evicted). A full set gives
 * up its least recently seen entry (counted). Profiles and
 * pairs are plain data, so the state file (hosts_save/hosts_load) is the
 * tables' entries behind a header and a CRC, written to a new file that
 * is renamed over the old one: a crash mid-write leaves the last complete
 * state. Loading re-inserts entries, so a table of another size loads too.
 * Never allocates after hosts_new; only hosts_save/hosts_load do I/O.
 */
#ifndef NIGHTJAR_HOSTS_H
#define NIGHTJAR_HOSTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "decode/decode.h"

#define HOST_SERVICES_USED 16
#define HOST_SERVICES_OFFERED 8
#define HOST_OUT_SAMPLES 32

struct host_service {
    uint16_t port;
    uint8_t proto;            /* IP protocol */
    uint8_t app;              /* enum app_proto seen on it */
    uint32_t count;
};

struct host_profile {
    struct ip_addr addr;
    uint8_t v;                /* 0: empty slot */
    uint8_t pad[3];
    uint32_t first_seen, last_seen;   /* seconds, traffic time */
    uint32_t cur_hour;                /* hour (since the epoch) being counted */
    uint32_t hours_init;              /* bit h: the hour-of-day h has a value */
    uint32_t hour_conns, hour_new_peers, hour_dns, hour_nx;
    uint64_t hour_bytes_out, hour_bytes_in;
    float conns[24], bytes_out[24], bytes_in[24]; /* EWMA per hour of day */
    float new_peers, dns, nx_share;   /* EWMA per hour */
    uint32_t flows;                   /* as a client */
    uint32_t out_n;                   /* remote flows sampled */
    uint32_t out_bytes[HOST_OUT_SAMPLES];
    struct host_service used[HOST_SERVICES_USED];
    struct host_service offered[HOST_SERVICES_OFFERED];
    uint64_t last_alert_usec;         /* when a finding last named it */
    uint32_t dns_window;              /* start of the DNS abuse window */
    uint16_t dga_names, tunnel_names, txt_queries;
    uint8_t dns_alerted;              /* bit 0 dga, bit 1 tunnel: this window */
    uint8_t pad2;
};

struct pair_entry {
    uint64_t key;             /* 0: empty */
    uint32_t first_seen, last_seen;
    uint32_t flows;
    float bytes_out;          /* EWMA of client bytes */
    uint32_t beacon_alerted;  /* when beaconing was last reported */
    uint32_t pad;
};

struct hosts_stats {
    uint64_t hosts_new, hosts_evicted, pairs_new, pairs_evicted;
    uint64_t saves, save_errors, loaded_hosts, loaded_pairs;
};

struct hosts;

/* n_hosts: rounded up to a multiple of 8; n_pairs: of 4. */
struct hosts *hosts_new(uint32_t n_hosts, uint32_t n_pairs);
void hosts_free(struct hosts *h);
uint64_t hosts_memory(const struct hosts *h);
const struct hosts_stats *hosts_stats(const struct hosts *h);
uint32_t hosts_count(const struct hosts *h);

/* The profile of a, created when missing (NULL only when create is false
 * and there is none). now: seconds. */
struct host_profile *hosts_get(struct hosts *h, uint8_t v,
                               const struct ip_addr *a, uint32_t now,
                               bool create);

/* Rolls the profile's hour counters into its per-hour EWMAs when `now` is
 * in a later hour (half_life in days). */
void host_roll_hours(struct host_profile *p, uint32_t now, double half_life_days);

/* Records a service (used or offered); returns its count before this one
 * (0: never seen). A full list gives up its least used entry. */
uint32_t host_service_touch(struct host_service *list, int n, uint16_t port,
                            uint8_t proto, uint8_t app);

/* The pair's entry, created when missing; *was_new tells which. */
struct pair_entry *pairs_touch(struct hosts *h, uint8_t v,
                               const struct ip_addr *client,
                               const struct ip_addr *server, uint16_t port,
                               uint8_t proto, uint32_t now, bool *was_new);

/* When the baseline started learning (seconds; 0 until the first flow). */
uint32_t hosts_epoch(const struct hosts *h);
void hosts_set_epoch(struct hosts *h, uint32_t t);

/* dir/baseline.state, written atomically; loaded if present. false with a
 * message on error (a missing file is not an error for load). */
bool hosts_save(struct hosts *h, const char *dir, char *err, size_t errlen);
bool hosts_load(struct hosts *h, const char *dir, char *err, size_t errlen);

#endif
