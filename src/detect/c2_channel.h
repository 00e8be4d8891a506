/* c2_channel.h -- does this client-server pair behave like a command and
 * control channel? Evidence accumulates per pair, from every view of it.
 *
 * A bot's channel to its controller differs from what ordinary software
 * does in ways that stay visible when the payload is encrypted or custom:
 * the server is reached by address or through a dynamic DNS name; the
 * protocol is not the one its port is for, or none nightjar knows; the
 * certificate is self-signed, carries OpenSSL's default subject or a name
 * that is no host name, or does not cover the SNI; the HTTP client claims a
 * browser it cannot be (a 2010 Internet Explorer, no User-Agent, none of a
 * browser's headers), reports who the victim is in its User-Agent (the
 * H-worm lineage: "id\computer\user\Windows 10 Pro\antivirus..."), posts
 * to a script and gets next to nothing back, sends the machine's
 * Windows computer name in the URL (bots register their victims by it),
 * hides a blob in the URL, polls the same URL; the client comes back again
 * and again, at regular intervals, or keeps a session of small heartbeats.
 * Each of these alone is ordinary somewhere; several on one pair are not.
 *
 * Every indicator has a weight (C2_INDICATORS below, docs/detection.md says
 * why); a pair whose indicators add up to min_score is a `c2_channel`
 * finding (an alert, its indicators named in the evidence), and one that
 * reaches strong_score is strong: enough on its own for the correlator to
 * call the host compromised. A pair alerts once per level.
 *
 * DNS is a channel too: a server outside the network that the client asks
 * directly and that answers names under top-level domains the real DNS
 * does not have ("116.1.gettasks") is no resolver -- it is a controller
 * speaking DNS (the top-level domains come from the Public Suffix List,
 * through libpsl).
 *
 * Five indicators are about the client rather than the pair: its
 * browser User-Agents claim two Windows versions (a program with a
 * User-Agent written into it, not the machine's browser), it asked
 * several servers for the same script (bots walk a list of fallback
 * controllers), it looked up its own public address (bots report it when
 * they register), this is the only server it speaks an unknown protocol
 * to (a peer-to-peer application speaks its protocol to many), and another
 * outside server already scores 4 or more by how the client reaches it
 * alone, timing and repetition left out (an infection is rarely one
 * channel: a stager's download server and the controller, an address
 * check and the controller -- the dots joined; a scheduled job polling
 * two sites is not).
 *
 * Only pairs whose client is an internal host (the pipeline's home
 * networks) are judged. Pairs and clients live in fixed-size 4-way
 * set-associative tables allocated once; a full set replaces its least
 * recently seen entry (counted). Reads parsed records; never parses, never writes output.
 */
#ifndef NIGHTJAR_C2_CHANNEL_H
#define NIGHTJAR_C2_CHANNEL_H

#include <stdbool.h>
#include <stdint.h>

#include "detect/finding.h"
#include "detect/home_net.h"

/* name, weight, what it means (for the alert, where each follows "this
 * client": the client's deed, never the server's) */
#define C2_INDICATORS(X)                                                          \
    X(unknown_protocol, 2, "speaks a protocol nightjar does not recognise")     \
    X(port_mismatch, 2, "speaks something else than its port is for")           \
    X(odd_port, 1, "uses a port no common service uses")                        \
    X(no_name, 1, "reaches the server by address (no SNI, an address as Host, no DNS answer)") \
    X(dynamic_dns, 2, "reaches a name under a dynamic DNS provider")            \
    X(repeated, 1, "connects again and again (3 or more times)")                \
    X(unanswered, 1, "sends data the server never answers, 3 or more times")   \
    X(periodic, 2, "comes back at steady intervals (4 or more connections, or 6 HTTP check-ins, varying by less than 0.6 of their mean)") \
    X(heartbeat, 1, "keeps a long session of small exchanges")                  \
    X(self_signed, 1, "gets a self-signed certificate")                         \
    X(placeholder_cert, 2, "gets a certificate with a default or non-host-name subject") \
    X(sni_mismatch, 1, "gets a certificate that does not cover the SNI")        \
    X(young_cert, 1, "gets a certificate issued in the last 7 days")            \
    X(legacy_ua, 1, "claims a browser from before 2014")                        \
    X(no_ua, 2, "sends no User-Agent, which browsers and HTTP libraries always send") \
    X(tool_ua, 1, "sends a scripting tool's User-Agent")                        \
    X(identity_ua, 2, "reports the machine's identity in its User-Agent (backslash-separated fields: computer, user, system)") \
    X(identity_url, 2, "reports the machine's name in the URL (a Windows computer name: DESKTOP-XXXXXXX, WIN-XXXXXXXXXXX, NAME-PC)") \
    X(bot_headers, 2, "claims a browser but sends no Accept-Language, which every browser sends") \
    X(two_windows, 2, "claims another Windows version than its other browser User-Agents (one machine runs one)") \
    X(script_post, 1, "posts data to a script and gets little or nothing back") \
    X(encoded_uri, 1, "hides an encoded blob in the URL")                       \
    X(polling, 1, "requests the same URL again and again")                      \
    X(upload, 1, "uploads 256 KiB or more")                                     \
    X(lone_channel, 1, "speaks an unknown protocol to this server only, for a minute or again") \
    X(rotation, 2, "asks 3 or more servers for the same script (a fallback list)") \
    X(ip_check, 1, "looked up its own public address") \
    X(second_channel, 2, "also disguises itself to another outside server (4 or more without timing)") \
    X(fake_tld, 4, "asks a DNS server that answers names under top-level domains that do not exist") \
    X(direct_dns, 1, "asks an outside DNS server directly, not a public resolver")

enum c2_indicator {
#define X(name, weight, what) C2I_##name,
    C2_INDICATORS(X)
#undef X
    C2I_COUNT
};

extern const char *const c2_indicator_names[C2I_COUNT];
extern const uint8_t c2_indicator_weights[C2I_COUNT];

struct c2_config {
    uint32_t pairs;            /* table entries (rounded up to 4) */
    uint32_t min_score;        /* an alert from this score */
    uint32_t strong_score;     /* strong from this score */
};

struct c2_stats {
    uint64_t pairs_new, pairs_evicted, clients_evicted, alerts, strong;
    uint64_t suspects_over_cap;  /* a client's third suspect server, not kept */
    uint64_t raised[C2I_COUNT]; /* pairs that showed each indicator */
};

struct flow;
struct tls_session;
struct tls_summary;
struct http_tx;
struct eta_pair_stats;
struct c2_channel;

void c2_config_defaults(struct c2_config *c);
struct c2_channel *c2_channel_new(const struct c2_config *c,
                                  const struct home_net *home, finding_fn sink,
                                  void *ctx);
void c2_channel_free(struct c2_channel *c);
uint64_t c2_channel_memory(const struct c2_channel *c);
const struct c2_stats *c2_channel_stats(const struct c2_channel *c);
/* Registers the detector's counters under "detect.c2". */
struct counters;
void c2_channel_counters(const struct c2_channel *c, struct counters *r);

/* A TLS handshake (its session, for the certificate) and its summary. */
void c2_on_tls(struct c2_channel *c, const struct flow *f,
               const struct tls_session *t, const struct tls_summary *s,
               uint64_t now_usec);
/* An HTTP transaction: s is its subject (detect/proxy.h: the client a
 * trusted proxy spoke for, or the flow's ends), whose client the
 * transaction's evidence is about. */
void c2_on_http(struct c2_channel *c, const struct event_subject *s,
                const struct http_tx *tx, uint64_t now_usec);
/* A DNS message on flow f. */
struct dns_msg;
void c2_on_dns(struct c2_channel *c, const struct flow *f,
               const struct dns_msg *m, uint64_t now_usec);
/* A finished flow; ps: the pair's connection history (NULL when not
 * computed), server_name: the passive-DNS name of the server ("" none). */
void c2_on_flow_end(struct c2_channel *c, const struct flow *f,
                    const struct eta_pair_stats *ps, const char *server_name);

#endif
