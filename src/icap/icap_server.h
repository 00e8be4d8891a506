/* icap_server.h -- nightjar as an ICAP service (RFC 3507) for web proxies.
 *
 * One thread runs an epoll event loop over a listening socket and every
 * client connection; connections are persistent and non-blocking, so many
 * proxies' connections share the loop and a slow one holds up nobody.
 * Per connection, a transaction is read in steps -- the ICAP head, the
 * encapsulated HTTP heads, the chunked body (a preview first when the
 * client sends one, then "100 Continue" for the rest) -- and judged by
 * frontend/judge.h (the sensor's detectors). The answer:
 *   - OPTIONS: Methods, ISTag, Allow: 204, Preview, Transfer-*,
 *     Options-TTL, Max-Connections;
 *   - clean: 204 when the client allows it (or within a preview), else the
 *     message unmodified. 206 is never sent: a nightjar verdict never
 *     changes part of a message, and where Squid would take a 206 (only
 *     alongside Allow: 204) the 204 says the same for less;
 *   - blocked: a 403 HTTP response with the block page (RESPMOD replaces
 *     the response; REQMOD answers the request before it leaves);
 *   - not judged (body over icap.max-body, a stalled client, a scan error):
 *     the fail mode -- open passes (an over-size body is streamed back as it
 *     arrives when 204 is not allowed), closed blocks -- logged
 *     as failed either way.
 * Malformed requests get 400 (405 method, 404 service, 505 version) and
 * the connection is closed; a head, the encapsulated heads and chunk lines
 * have size caps; every cap and refusal is counted. The ISTag changes when
 * the feeds or rules are reloaded. Each transaction is an EVE `icap` event.
 *
 * This file owns sockets and the ICAP exchange; it never judges content.
 */
#ifndef NIGHTJAR_ICAP_SERVER_H
#define NIGHTJAR_ICAP_SERVER_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>

#include "config/config.h"
#include "output/eve.h"

struct icap_server;

/* Binds cfg->icap.listen. NULL with err set (address, bind, rules, feeds,
 * block page). eve may be NULL. */
struct icap_server *icap_server_new(const struct nj_config *cfg, struct eve *eve,
                                    char *err, size_t errlen);
void icap_server_free(struct icap_server *s);

/* The address actually bound ("127.0.0.1:1344"; port 0 asks the kernel). */
const char *icap_server_address(const struct icap_server *s);

/* Serves until *stop is set (a signal handler); *reload set asks for the
 * feeds and rules to be read again and is cleared. Returns 0, or 1 when
 * the loop failed. */
int icap_server_run(struct icap_server *s, volatile sig_atomic_t *stop,
                    volatile sig_atomic_t *reload);

#endif
