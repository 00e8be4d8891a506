/* placement.h -- which worker holds each internal host, planned from a
 * pass over a file's headers before the workers read it.
 *
 * A worker holds all of one internal host's state (sensor/workers.c). By
 * the hash of its address alone, one busy host or a few make one worker's
 * load while the other waits, and two hosts of which one ran code on the
 * other sit on different workers half the time (with two): the join of a
 * remote execution with the target's later alerts (detect/remote_exec.c)
 * and the incident that takes in both hosts are lost there, and a victim
 * only that join names goes unnamed.
 *
 * The plan, before a file is read: every internal host's load (its
 * packets, weighted by their bytes), and the sessions between two internal
 * hosts over the protocols remote execution uses (SMB, the RPC endpoint
 * mapper, RPC over HTTP, WinRM). Hosts joined by such a session make one
 * group -- but through a server with many such clients (a domain
 * controller, a file server: every host talks to them, and would join
 * them all), whose own group stays apart. Groups then go, the heaviest
 * first, to the worker with the least load so far (what goes by hash
 * counted in). A host keeps the worker it was first given for the whole
 * run: a later file's plan puts new hosts beside it. Hosts past the
 * table's size, and every host when no plan was made (stdin, a pipe, live
 * capture), go by hash -- and are written into the table as they come, so
 * a later plan keeps them where they are.
 *
 * Owns: the table, the tallies and the pass's scratch (allocated for the
 * pass, freed after). Never sees a packet: workers.c reads the headers
 * and hands over keys and loads.
 */
#ifndef NIGHTJAR_PLACEMENT_H
#define NIGHTJAR_PLACEMENT_H

#include <stdbool.h>
#include <stdint.h>

struct placement;

struct placement_stats {
    uint64_t hosts;            /* internal hosts in the table */
    uint64_t groups;           /* hosts joined to another's group by a session */
    uint64_t busy_servers;     /* servers left out of grouping: too many clients */
    uint64_t hosts_over_cap;   /* planned, but the table or the pass was
                                  full: by hash */
    uint64_t packets_unkept;   /* packets of a host neither the pass nor the
                                  table had room for (by hash, not kept) */
    uint64_t sessions_over_cap; /* admin sessions not grouped: the pass's
                                   table of them, or of hosts, was full */
};

struct placement *placement_new(unsigned workers);
void placement_free(struct placement *p);
const struct placement_stats *placement_stats(const struct placement *p);

/* The worker of an internal host (key: nonzero, spread): planned, else
 * by hash, which is then kept unless the table is full. learn: write a
 * hash placement into the table (false while workers read it). */
unsigned placement_worker(struct placement *p, uint64_t key, bool learn);

/* A pass over a file, in tallies: one per thread that walks a part of
 * the file, each fed per packet either host() (an internal host's) or
 * fixed() (one that goes by the hash of an address pair), and admin() for
 * a packet of a session above. placement_plan() then joins the tallies,
 * in the order given -- a host's loads add up, and a session's hosts join
 * even when the session and their loads were seen by different threads --
 * and makes the plan. A tally's memory is its own: one thread each. */
struct placement_tally;
struct placement_tally *placement_tally_new(const struct placement *p);
void placement_tally_free(struct placement_tally *t);
void placement_host(struct placement_tally *t, uint64_t key, uint32_t load);
void placement_fixed(struct placement_tally *t, unsigned worker, uint32_t load);
void placement_admin(struct placement_tally *t, uint64_t client, uint64_t server);
/* No memory for the pass: no plan (hosts go by hash). */
void placement_plan(struct placement *p, struct placement_tally *const *tallies,
                    unsigned n);

#endif
