/* capture.h -- packets in: pcap and pcapng files, live interfaces.
 *
 * A thin layer over libpcap (files, and live interfaces with
 * capture.method: pcap), over a classic pcap file mapped into memory
 * (pcap_map.c: such a file without a BPF filter), and over an AF_PACKET
 * ring (afpacket.c: live Linux interfaces, the default) that hands out
 * struct packet with timestamp,
 * lengths, link type and bytes, and reports, in words a person can act on,
 * why a source could not be opened or where a damaged file stopped. It knows
 * nothing above the link layer.
 */
#ifndef NIGHTJAR_CAPTURE_H
#define NIGHTJAR_CAPTURE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "decode/decode.h"

enum capture_result {
    CAPTURE_PACKET,     /* *p is filled */
    CAPTURE_TIMEOUT,    /* live: nothing arrived within the read timeout */
    CAPTURE_END,        /* end of file */
    CAPTURE_BROKEN,     /* stopped early: damaged file or interface error */
};

struct capture_stats {
    uint64_t received, dropped, ifdropped; /* live only, from the kernel */
};

struct capture;

struct capture *capture_open_file(const char *path, const char *bpf,
                                  char *err, size_t errlen);
struct capture *capture_open_live(const char *iface, const char *bpf,
                                  uint32_t snaplen, bool promisc, char *err,
                                  size_t errlen);
/* Live capture through an AF_PACKET TPACKET_V3 ring (afpacket.h), with a
 * fanout group when several sockets share an interface. */
struct afpacket_config;
struct capture *capture_open_afpacket(const struct afpacket_config *cfg,
                                      char *err, size_t errlen);
void capture_close(struct capture *c);

/* Checks that a BPF filter compiles (for Ethernet), before any source is
 * opened, so a typo is a usage error rather than a failure per file. */
bool capture_check_filter(const char *bpf, char *err, size_t errlen);

enum capture_result capture_next(struct capture *c, struct packet *p);

/* Why the last CAPTURE_BROKEN happened, with the packet number. */
const char *capture_error(const struct capture *c);
uint64_t capture_packets(const struct capture *c);
bool capture_stats(struct capture *c, struct capture_stats *out);

/* Makes a blocked capture_next return; safe from a signal handler. */
void capture_break(struct capture *c);

#endif
