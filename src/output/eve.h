/* eve.h -- EVE JSON lines: the sensor's contract with the outside world.
 *
 * Field names are Suricata's wherever nightjar logs the same thing
 * (timestamp, flow_id, event_type, src_ip, ..., the flow object); what only
 * nightjar logs is documented in docs/eve.md, next to these names. One
 * writer per output; each record is built in a reused buffer and handed
 * whole to the sink (a file, socket, syslog or Redis: output/sink.h), so a
 * record is never interleaved or half-written by us. This module formats;
 * it never decides what to log, nor how a record travels.
 */
#ifndef NIGHTJAR_EVE_H
#define NIGHTJAR_EVE_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "decode/decode_stats.h"
#include "flow/flow_table.h"
#include "flow/tcp_stream.h"
#include "util/json.h"
#include "proto/quic.h"
#include "proto/tls.h"

/* The name a flow's server was looked up as, given by whoever knows it. */
struct eve_dest_name {
    const char *name;
    uint64_t resolved_usec;
    uint32_t ttl;
};
typedef bool (*eve_resolve_fn)(void *ctx, const struct flow *f,
                               struct eve_dest_name *out);

/* The client a trusted proxy's HTTP transaction speaks for (the
 * pipeline's detect/proxy.h), given by whoever knows the proxies. */
struct http_tx;
typedef bool (*eve_forwarded_fn)(void *ctx, const struct flow *f,
                                 const struct http_tx *tx, uint8_t *v,
                                 struct ip_addr *out);

struct sink;
struct sink_config;

/* Opaque outside output/: renderers reach the record being built through
 * output/eve_internal.h; everyone else asks the accessors below. */
struct eve;

/* Opens the sink: a file for appending ("-" is stdout; sink_config_file),
 * or a socket, syslog or Redis (sink_config_from). NULL + errno on failure. */
struct eve *eve_open(const struct sink_config *sc);
/* A writer of its own (buffer, counts) for a worker thread, handing its
 * records to owner's sink under a lock shared with owner and every other
 * such writer; it takes owner's resolver and forwarded callbacks (set them
 * on it after). Closing it leaves the sink open; owner closes last. */
struct eve *eve_open_shared(struct eve *owner);
/* sink_reopen() under the shared lock (SIGHUP: log rotation). */
void eve_reopen(struct eve *e);
/* Flushes, then closes the sink (a peer's is given its drain time). */
void eve_close(struct eve *e);
void eve_flush(struct eve *e);

/* Who names the servers of flows (the pipeline, from its passive DNS
 * cache): asked for every record about a flow. */
void eve_set_resolver(struct eve *e, eve_resolve_fn fn, void *ctx);
/* Who names the real clients behind trusted proxies: asked for every http
 * and fileinfo record of an HTTP transaction ("xff": the address). */
void eve_set_forwarded(struct eve *e, eve_forwarded_fn fn, void *ctx);

/* Hands the record built in the writer's buffer to the sink as one line. */
void eve_emit(struct eve *e);

/* Records handed to the sink (written or spooled) and records that could
 * not be built, written or spooled; the sink, for its own controls
 * (reopen on SIGHUP, patience, shutdown, summary). */
uint64_t eve_records(const struct eve *e);
uint64_t eve_write_errors(const struct eve *e);
struct sink *eve_sink(const struct eve *e);

/* "2024-05-01T10:00:00.123456+0000" */
void eve_format_time(uint64_t usec, char *buf, size_t len);

/* The fields every event shares, up to and including community_id. */
void eve_common(struct json *j, uint64_t ts_usec, const char *event_type,
                const struct flow *f, uint16_t cid_seed);

/* Starts a record: the common fields, then, when the passive DNS cache
 * knows the server's address, the name it was looked up as. */
void eve_begin(struct eve *e, uint64_t ts_usec, const char *event_type,
               const struct flow *f, uint16_t cid_seed);

/* The "alert" object with the fields every alert shares, in Suricata's
 * order (action -- "blocked" when a front end refused what carried it,
 * else "allowed" --, gid, signature_id, rev, signature, category, severity);
 * left open for metadata: the caller closes it. */
void eve_alert_open(struct json *j, uint32_t sid, const char *signature,
                    const char *category, uint64_t severity, bool blocked);

struct tls_summary;

/* What the encrypted-traffic model said of a flow, for its record. */
struct eve_flow_eta {
    double score;
    const char *model;       /* NULL: not scored */
    const float *features;   /* NULL: not logged */
};

/* tls: the flow's handshake summary, or NULL; eta likewise. */
void eve_write_flow(struct eve *e, const struct flow *f,
                    enum flow_end_reason reason, uint16_t cid_seed,
                    uint32_t splt_len, const struct tls_summary *tls,
                    const struct eve_flow_eta *eta);

/* The stats record: every counter of the registry (util/counters.h). */
struct counters;
void eve_write_stats(struct eve *e, uint64_t ts_usec, const struct counters *reg);
/* One stats record over several registries (worker threads) that hold the
 * same names: util/counters.h, counters_write_merged(). */
void eve_write_stats_merged(struct eve *e, uint64_t ts_usec,
                            const struct counters *const *regs, unsigned n);

const char *ip_proto_name(uint8_t proto, char *buf, size_t len);

#endif
