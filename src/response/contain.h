/* contain.h -- the response: containment of a compromised internal host.
 *
 * When an incident turns high (src/correlate/incidents.h: the host is
 * compromised), each of its hosts inside anomaly.home-nets and not on
 * response.allowlist goes into an nftables set with a timeout
 * (response.contain: nftables): `add element inet nightjar contained4 {
 * 10.0.0.23 timeout 3600s }`. The kernel removes the element when the
 * timeout runs out; nightjar reports that as a release once it sees the
 * element gone. With response.dry-run (the default) nothing is sent to
 * nftables: the events say what would have been done, and the would-be
 * element "expires" in traffic time. docs/response.md says it all.
 *
 * This module owns: the decision (home nets, allowlist, once per host while
 * its element lives), its own nftables objects -- the table, the two sets
 * and, with response.nftables.drop, the chains contain-input,
 * contain-forward and contain-output in that table, created when missing --
 * a worker thread that alone talks to the kernel through libnftables, and
 * the EVE `response` events (output/eve_response.h), written on the packet
 * thread only.
 *
 * It must never: contain a host outside anomaly.home-nets or on the
 * allowlist; add a host already contained while its element lives; add an
 * element without a timeout (the sets also carry response.timeout as their
 * default); touch any table, set or chain but its own; spawn the nft binary
 * or a shell; block the packet thread on netlink (only the setup at start
 * and the drain of at most CONTAIN_QUEUE jobs at the end wait for it); or
 * write EVE from the worker thread.
 *
 * Threading: the packet thread decides and queues a job in a bounded ring
 * (CONTAIN_QUEUE; full: the containment fails, and says so); the worker
 * adds elements and, every CONTAIN_SWEEP_SEC and when an element is due to
 * expire, lists the sets to see which elements are gone; its results come
 * back through a second ring that contain_poll drains on the packet thread.
 */
#ifndef NIGHTJAR_CONTAIN_H
#define NIGHTJAR_CONTAIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "config/config.h"
#include "correlate/incidents.h"
#include "detect/home_net.h"
#include "output/eve.h"

#define CONTAIN_HOSTS 4096     /* hosts contained (or pending) at once */
#define CONTAIN_QUEUE 256      /* jobs waiting for the worker */
#define CONTAIN_SWEEP_SEC 10   /* seconds between looks at the sets */

/* How nftables is spoken to: runs a batch of nft commands as one
 * transaction. json: the output of a list command as JSON. Returns 0 on
 * success; else the message in err. *out (may be NULL) is what the
 * commands printed, valid until the next call. The real one is
 * libnftables (nft_run_cmd_from_buffer); tests put theirs in its place to
 * make nftables fail. Called on one thread at a time. */
struct contain_runner {
    int (*run)(void *ctx, const char *cmds, bool json, const char **out,
               char *err, size_t errlen);
    void *ctx;
};

struct contain_stats {
    uint64_t contained;        /* elements added (or would be: dry-run) */
    uint64_t released;         /* ...seen gone */
    uint64_t allowlisted;      /* skipped: on response.allowlist */
    uint64_t outside;          /* skipped: not inside anomaly.home-nets */
    uint64_t already;          /* skipped: contained already */
    uint64_t errors;           /* nftables failed, queue or table full */
    uint64_t sweeps;           /* looks at the sets */
};

struct contain;

/* rs: the response settings (response.contain is "nftables"); home: the
 * internal networks. With dry-run off the table and sets are set up here
 * (synchronously) and the worker started: NULL with the reason in err when
 * that fails (no privileges, a set of another type). runner: NULL for
 * libnftables. */
struct contain *contain_new(const struct response_settings *rs,
                            const struct home_net *home, struct eve *eve,
                            const struct contain_runner *runner, char *err,
                            size_t errlen);
/* Stops the worker (after its queue) and frees; elements stay in the
 * kernel until their timeouts. */
void contain_free(struct contain *c);

/* The incidents observer (incidents_set_observer(in, contain_on_incident, c)). */
void contain_on_incident(void *ctx, const struct incident *inc,
                         enum incident_event ev, uint64_t ts_usec);

/* On the packet thread, with every packet and idle tick (now: traffic
 * time): writes the events of what the worker did, and, in dry-run, the
 * releases whose time has come. Cheap when there is nothing to do. */
void contain_poll(struct contain *c, uint64_t now_usec);

/* End of input: waits for the queued jobs, writes their events, stops the
 * worker. Elements still alive keep their timeouts in the kernel. */
void contain_finish(struct contain *c, uint64_t now_usec);

const struct contain_stats *contain_stats(const struct contain *c);
/* One line for the summary on stderr. */
void contain_summary(const struct contain *c, FILE *out);

/* For tests: whether a host is contained (or pending) now. */
bool contain_holds(const struct contain *c, uint8_t v, const struct ip_addr *a);

#endif
