/* app_layer.h -- what the sensor does with cleartext application data.
 *
 * The pipeline hands every flow's reassembled TCP bytes, UDP payloads,
 * gaps and its end to this module. By the application protocol the flow
 * was recognised as, it feeds the DNS, HTTP, SMTP and FTP parsers, turns their
 * transactions into EVE events, sends HTTP bodies and mail attachments
 * through content detection (hashes, magic, YARA, file store), scans a
 * window of the first bytes of other cleartext streams with YARA, and
 * keeps the passive DNS cache that names the servers of later flows.
 *
 * Per-flow state is allocated when a flow first needs it and counted
 * against app-layer.memcap; when the cap is reached the flow is not parsed
 * and the refusal is counted. One content finding per rule per flow. This
 * module glues parsers and content detection; it never decodes packets,
 * never parses a protocol itself and never writes output.
 */
#ifndef NIGHTJAR_APP_LAYER_H
#define NIGHTJAR_APP_LAYER_H

#include <stdint.h>

#include "app/dns_cache.h"
#include "config/config.h"
#include "detect/finding.h"
#include "content/file.h"
#include "flow/flow.h"
#include "util/json.h"

struct app_layer;

struct app_layer *app_layer_new(const struct nj_config *cfg, char *err,
                                size_t errlen);
void app_layer_free(struct app_layer *al);

/* A flow's first packet: looks its server up in the passive DNS cache. */
void app_flow_started(struct app_layer *al, struct flow *f, uint64_t now);

void app_stream_data(struct app_layer *al, struct flow *f, int dir,
                     const uint8_t *data, size_t len, uint64_t now);
void app_stream_gap(struct app_layer *al, struct flow *f, int dir,
                    uint64_t len, uint64_t now);
void app_datagram(struct app_layer *al, struct flow *f, int dir,
                  const uint8_t *data, size_t len, uint64_t now);

/* Cleartext that came out of decrypting the flow's TLS (src/decrypt), in
 * order per direction. The parser is the one the server chose by ALPN
 * ("http/1.1", "h2"), else the flow's own protocol (SMTP, IMAP, ... after
 * STARTTLS), else what the first cleartext bytes look like. */
void app_decrypted_data(struct app_layer *al, struct flow *f, int dir,
                        const uint8_t *data, size_t len, const char *alpn,
                        uint64_t now);

/* Before the flow record is written: finish parsers, scan windows. */
void app_flow_end(struct app_layer *al, struct flow *f, uint64_t now);

/* A DNS message (a UDP payload) another worker owns: its answers go into
 * this app layer's passive DNS cache, uncounted, and nothing else happens
 * -- no event, no detection, no flow (sensor/workers.c). */
void app_dns_learn(struct app_layer *al, const uint8_t *d, size_t n,
                   uint64_t now);

/* Registers the parsers' and content detection's counters ("dns",
 * "http", "smtp", "ftp", "content", "app_layer"). */
struct counters;
void app_layer_counters(const struct app_layer *al, struct counters *r);
uint64_t app_layer_memory(const struct app_layer *al);
/* files.hashes "auto": MD5/SHA-1 of files only while a loaded feed holds
 * such indicators. Call once after app_layer_new and after every feed poll
 * (cheap when no set was swapped in); f may be NULL (no feeds). */
struct intel_feeds;
void app_layer_follow_feeds(struct app_layer *al, const struct intel_feeds *f);
const struct dns_cache *app_layer_dns_cache(const struct app_layer *al);

/* The events: every DNS message (latency_usec since its query, -1 none),
 * HTTP transaction, file (an HTTP body or mail attachment, typed, hashed,
 * scanned), mail transaction and FTP command (with its reply; never a
 * password). Any may be NULL. */
struct dns_msg;
struct dcerpc_call;
struct http_tx;
struct smtp_tx;
struct ftp_tx;
struct email_info;
struct app_observers {
    void (*http)(void *ctx, struct flow *f, const struct http_tx *tx, uint64_t now);
    void (*file)(void *ctx, struct flow *f, const struct file_event *file,
                 uint64_t now);
    void (*smtp)(void *ctx, struct flow *f, const struct smtp_tx *tx,
                 const struct email_info *mail, uint64_t now);
    void (*ftp)(void *ctx, struct flow *f, const struct ftp_tx *tx, uint64_t now);
    void (*dns)(void *ctx, struct flow *f, const struct dns_msg *m,
                int64_t latency_usec, uint64_t now);
    void (*rpc)(void *ctx, struct flow *f, const struct dcerpc_call *call,
                uint64_t now);
};
void app_layer_set_observers(struct app_layer *al, const struct app_observers *o,
                             void *ctx);

/* Every content (YARA) match goes here as a finding (content evidence). */
void app_layer_set_finding_sink(struct app_layer *al, finding_fn fn, void *ctx);

#endif
