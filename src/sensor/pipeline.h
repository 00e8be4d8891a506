/* pipeline.h -- one packet's way through the sensor, and what it leaves.
 *
 * decode -> flow table -> TCP reassembly -> application detection, with
 * flow records written as EVE when flows end and a stats record at the end
 * (and periodically when live). The pipeline owns every stage's state and
 * the glue between them; the stages do not know one another. A detector
 * added later reads what the pipeline hands it; it never parses packets.
 */
#ifndef NIGHTJAR_PIPELINE_H
#define NIGHTJAR_PIPELINE_H

#include <stdint.h>
#include <stdio.h>

#include "capture/capture.h"
#include "config/config.h"
#include "output/eve.h"

struct pipeline;

struct pipeline *pipeline_new(const struct nj_config *cfg, struct eve *eve,
                              char *err, size_t errlen);
void pipeline_free(struct pipeline *pl);

void pipeline_packet(struct pipeline *pl, struct packet *p);

/* Reads the intel feeds again (SIGHUP); the new sets go in between two
 * packets once read. */
void pipeline_reload_intel(struct pipeline *pl);

/* Advances time without a packet (live capture, idle link). */
void pipeline_tick(struct pipeline *pl, uint64_t now_usec);

/* The live source's kernel counters (totals) for the next stats record. */
void pipeline_capture_stats(struct pipeline *pl, const struct capture_stats *cs);
void pipeline_note_truncated_file(struct pipeline *pl);
/* Live capture with several workers: the packets the reader dropped
 * because a worker's ring was full, for the stats record. */
void pipeline_set_queue_drops(struct pipeline *pl, uint64_t n);
/* A pcapng file's Decryption Secrets Blocks, read before its packets
 * (decrypt.capture-secrets). Returns the blocks read, 0 none, -1 error. */
int pipeline_add_capture_secrets(struct pipeline *pl, const char *path);

/* Writes a stats record stamped with `ts_usec` (0: the last packet time). */
void pipeline_write_stats(struct pipeline *pl, uint64_t ts_usec);

/* Ends every flow (reason shutdown) and writes the final stats record. */
void pipeline_finish(struct pipeline *pl);

/* pipeline_finish() without the stats record: the flows, incidents and
 * state (a worker's part of the end; workers.c writes one merged record). */
void pipeline_finish_flows(struct pipeline *pl);

/* A short account for a person: packets, flows, protocols, the biggest
 * flows, problems, where the EVE log went. */
void pipeline_summary(const struct pipeline *pl, FILE *out,
                      const char *eve_path);

/* The same account over several workers' pipelines. */
void pipeline_summary_all(struct pipeline *const *pls, int n, FILE *out,
                          const char *eve_path);

uint64_t pipeline_packets(const struct pipeline *pl);

/* ---- a worker's pipeline (sensor/workers.c) ----------------------------
 * A driven pipeline takes its flow-expiry checkpoints and its periodic
 * work from the reader thread, at the packet times one pipeline would
 * have made them, so N workers end the same flows the same way as one. */
void pipeline_set_driven(struct pipeline *pl);
/* pipeline_packet() for the nth packet of the whole input (flow ids). */
void pipeline_packet_nth(struct pipeline *pl, struct packet *p, uint64_t nth);
/* A DNS answer another worker owns: into this pipeline's passive DNS
 * cache only (sensor/workers.c). */
void pipeline_learn_dns(struct pipeline *pl, struct packet *p);
/* Another worker's packet, sent by server, a host of this worker's that
 * answers that worker's client (anomaly_note_server). */
void pipeline_note_server(struct pipeline *pl, uint8_t v,
                          const struct ip_addr *server, uint64_t ts_usec);
/* A flow-expiry checkpoint at packet time ts (flow_table_advance). */
void pipeline_advance(struct pipeline *pl, uint64_t ts_usec);
/* Packet time is ts (the input's last, before pipeline_finish_flows). */
void pipeline_set_time(struct pipeline *pl, uint64_t ts_usec);
/* The work of every 1024th packet, at that packet's time. */
void pipeline_periodic(struct pipeline *pl, uint64_t ts_usec);
struct counters;
const struct counters *pipeline_counters(const struct pipeline *pl);
struct eve *pipeline_eve(const struct pipeline *pl);

/* Called with every finished flow and what the encrypted-traffic model
 * made of it (features when it qualified); nightjar-train listens here. */
struct flow;
struct eta_result;
typedef void (*pipeline_flow_fn)(void *ctx, const struct flow *f,
                                 const struct eta_result *eta);
void pipeline_set_flow_observer(struct pipeline *pl, pipeline_flow_fn fn,
                                void *ctx);

#endif
