/* eve_app.h -- EVE dns, http, smtp, ftp, fileinfo and content alert events.
 *
 * Field names follow Suricata 7's EVE where it logs the same thing: dns in
 * its version 2 "detailed" form (one event per query, one per response
 * with an answers array), http with hostname/url/http_user_agent/...,
 * smtp with its email object, ftp with command/command_data/reply/
 * completion_code (a PASS argument is written "***", never as sent),
 * fileinfo with hashes and the transaction it came from, and alert with
 * signature/category/severity/metadata. What is
 * nightjar's own is documented in docs/eve.md. This module formats; it
 * never decides what to log.
 */
#ifndef NIGHTJAR_EVE_APP_H
#define NIGHTJAR_EVE_APP_H

#include <stdint.h>

#include "content/content.h"
#include "content/file.h"
#include "detect/finding.h"
#include "output/eve.h"
#include "proto/dns.h"
#include "proto/ftp.h"
#include "proto/http.h"
#include "proto/mime.h"
#include "proto/smtp.h"

/* latency_usec: time since the matching query, or -1 (no query seen). */
void eve_write_dns(struct eve *e, const struct flow *f, uint64_t ts_usec,
                   uint16_t cid_seed, const struct dns_msg *m,
                   int64_t latency_usec);

void eve_write_http(struct eve *e, const struct flow *f, uint64_t ts_usec,
                    uint16_t cid_seed, const struct http_tx *tx);

void eve_write_fileinfo(struct eve *e, const struct flow *f, uint64_t ts_usec,
                        uint16_t cid_seed, const struct file_event *file);

void eve_write_smtp(struct eve *e, const struct flow *f, uint64_t ts_usec,
                    uint16_t cid_seed, const struct smtp_tx *tx,
                    const struct email_info *em);

/* One FTP command with its replies. */
void eve_write_ftp(struct eve *e, const struct flow *f, uint64_t ts_usec,
                   uint16_t cid_seed, const struct ftp_tx *tx);

/* A content finding (a YARA rule matched a file or a window of a stream,
 * content evidence) as an alert. */
void eve_write_content_alert(struct eve *e, const struct finding *fd,
                             uint16_t cid_seed);

#endif
