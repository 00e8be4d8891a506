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
 * and the refusal is counted. One alert per rule per flow. This module
 * glues parsers, content detection and output; it never decodes packets
 * and never parses a protocol itself.
 */
#ifndef NIGHTJAR_APP_LAYER_H
#define NIGHTJAR_APP_LAYER_H

#include <stdint.h>

#include "app/dns_cache.h"
#include "config/config.h"
#include "detect/finding.h"
#include "flow/flow.h"
#include "output/eve.h"

struct app_layer;

struct intel_detect;

/* detect: where the fields parsed are checked against indicators. */
struct app_layer *app_layer_new(const struct nj_config *cfg, struct eve *eve,
                                struct intel_detect *detect, char *err,
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

/* Before the flow record is written: finish parsers, scan windows. */
void app_flow_end(struct app_layer *al, struct flow *f, uint64_t now);

/* For the stats record (eve_stats_input.app_stats). */
void app_layer_write_stats(struct json *j, const void *al);
uint64_t app_layer_memory(const struct app_layer *al);
const struct dns_cache *app_layer_dns_cache(const struct app_layer *al);

/* Called with every parsed DNS message (the behaviour models read them). */
struct dns_msg;
typedef void (*app_dns_fn)(void *ctx, const struct flow *f,
                           const struct dns_msg *m, uint64_t now);
void app_layer_set_dns_observer(struct app_layer *al, app_dns_fn fn, void *ctx);

/* Every HTTP transaction, file (HTTP body or mail attachment, judged),
 * mail transaction and FTP command (with its reply; never a password) also
 * go to these, for the detectors that read them; any may be NULL. */
struct http_tx;
struct smtp_tx;
struct ftp_tx;
struct email_info;
struct content_result;
struct app_file {
    const struct http_tx *http;      /* the transaction of an HTTP body */
    const struct smtp_tx *smtp;      /* the mail of an attachment */
    const struct content_result *r;
    const char *name;
    uint64_t size;
    int dir;                         /* 0 to the server, 1 to the client */
};
struct app_observers {
    void (*http)(void *ctx, const struct flow *f, const struct http_tx *tx,
                 uint64_t now);
    void (*file)(void *ctx, const struct flow *f, const struct app_file *file,
                 uint64_t now);
    void (*smtp)(void *ctx, const struct flow *f, const struct smtp_tx *tx,
                 const struct email_info *mail, uint64_t now);
    /* last: callers that set the first three positionally leave it NULL */
    void (*ftp)(void *ctx, const struct flow *f, const struct ftp_tx *tx,
                uint64_t now);
};
void app_layer_set_observers(struct app_layer *al, const struct app_observers *o,
                             void *ctx);

/* Every content (YARA) alert also goes here as a finding, for the
 * correlator. */
void app_layer_set_finding_sink(struct app_layer *al, finding_fn fn, void *ctx);

#endif
