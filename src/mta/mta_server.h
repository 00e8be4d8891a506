/* mta_server.h -- nightjar-mta's way in: an ESMTP server (RFC 5321) on an
 * epoll event loop that takes mail from the upstream MTA, judges it, and
 * queues it durably for the delivery thread (mta_deliver.h).
 *
 * Sessions are non-blocking and pipelined: commands are answered in order
 * as they are read (PIPELINING). EHLO offers SIZE (mta.max-size), 8BITMIME,
 * SMTPUTF8 and ENHANCEDSTATUSCODES; every refusal carries its code and
 * enhanced status: 500/501/503/552/553/555 for what the client did wrong,
 * 452 for recipients past mta.max-recipients, 421 for a silent session
 * (mta.timeout) or too many sessions. The message after DATA is streamed
 * to the queue's tmp/ as it arrives (memory stays bounded whatever its
 * size), then judged with the front ends' detectors (frontend/judge.h):
 * the whole message and each MIME attachment through content detection
 * (hashes, types, YARA) and the file-hash indicators, the attachments
 * through the delivery rules, the envelope, header addresses and URLs
 * through threat intelligence. Then, for a clean message: committed
 * (fsync'd) and only then "250 2.0.0 queued as ID". For a malicious one,
 * by mta.action: reject ("550 5.7.1" and nothing kept: a before-queue
 * filter), quarantine (250, kept in QUEUE/quarantine) or tag (delivered
 * with X-Nightjar-Verdict: malicious). A message that cannot be judged is
 * delivered tagged "unjudged" (mta.fail-open) or answered 451 so the
 * sender retries; any internal error is a 4xx. Each message is an EVE
 * `smtp` record with an "mta" object; findings are alerts joined into the
 * sending host's incident.
 *
 * With mta.tls-cert and mta.tls-key, EHLO offers STARTTLS (RFC 3207): "220
 * 2.0.0 Ready to start TLS", then nothing more is read in the clear --
 * what the client pipelined after the STARTTLS line is dropped, never run
 * inside TLS (CVE-2011-0411) -- and the handshake runs on the event loop
 * like any other I/O (mta_tls.h), bounded by mta.timeout from the STARTTLS
 * line; a failed one closes the session. Then the session starts over (it
 * must EHLO again) and EHLO no longer offers STARTTLS. With
 * mta.tls-require, everything but EHLO/HELO, STARTTLS, NOOP and QUIT gets
 * "530 5.7.0" before TLS. The smtp record says the session's TLS version
 * and cipher; SIGHUP reads the certificate and key again.
 *
 * The stripping of attachments is not offered yet (the policy has no
 * "strip"). This file owns the sessions; it never delivers, never parses
 * MIME itself and never calls OpenSSL but through mta_tls.h.
 */
#ifndef NIGHTJAR_MTA_SERVER_H
#define NIGHTJAR_MTA_SERVER_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>

#include "config/config.h"
#include "output/eve.h"

struct mta_server;

/* Binds mta.listen, opens the queue (recovering it), loads feeds and
 * rules, starts delivery. NULL with err. eve may be NULL. */
struct mta_server *mta_server_new(const struct nj_config *cfg, struct eve *eve,
                                  char *err, size_t errlen);
/* Stops delivery (after the attempt in progress) and closes sessions. */
void mta_server_free(struct mta_server *s);
const char *mta_server_address(const struct mta_server *s);
/* STARTTLS is offered (mta.tls-cert and mta.tls-key loaded). */
bool mta_server_tls(const struct mta_server *s);
/* Messages found in the queue at start. */
unsigned mta_server_recovered(const struct mta_server *s);

/* Serves until *stop; *reload (SIGHUP) reads feeds again and reopens the
 * log. 0, or 1 when the loop failed. */
int mta_server_run(struct mta_server *s, volatile sig_atomic_t *stop,
                   volatile sig_atomic_t *reload);

#endif
