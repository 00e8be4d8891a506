/* afpacket.h -- live capture from a Linux interface through an AF_PACKET
 * socket with a TPACKET_V3 ring: the kernel fills blocks of frames in
 * memory shared with the sensor, the sensor reads them in place and hands
 * each block back when it is done, with no copy and no system call per
 * packet.
 *
 * Several sockets (one per worker) join one fanout group so the kernel
 * spreads packets over them: PACKET_FANOUT_HASH (the kernel's symmetric
 * flow hash, both directions of a connection on one socket, IP fragments
 * reassembled first so they follow their flow) or "pair" (a classic BPF
 * fanout program on the unordered pair of IP addresses, so every
 * connection between two hosts lands on one socket). Kernel drops come
 * from PACKET_STATISTICS. A BPF filter is compiled with libpcap and
 * attached to the socket. 802.1Q tags the kernel took off are put back in
 * front of the payload, as on the wire.
 *
 * This file reads frames; it never decodes above the link layer.
 */
#ifndef NIGHTJAR_AFPACKET_H
#define NIGHTJAR_AFPACKET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "capture/capture.h"

enum afpacket_fanout { AFP_FANOUT_NONE, AFP_FANOUT_HASH, AFP_FANOUT_PAIR };

struct afpacket_config {
    const char *iface;
    const char *bpf;            /* "" or NULL: everything */
    uint32_t snaplen;
    bool promisc;
    uint32_t ring_mb;           /* ring size (blocks of 1 MiB); 0: 64 */
    enum afpacket_fanout fanout;
    uint16_t fanout_group;      /* same id: same group (with fanout) */
    int timeout_ms;             /* capture_next gives up after; 0: 200 */
};

struct afpacket;

struct afpacket *afpacket_open(const struct afpacket_config *cfg, char *err,
                               size_t errlen);
void afpacket_close(struct afpacket *a);

/* The next frame; it stays valid until the next call. */
enum capture_result afpacket_next(struct afpacket *a, struct packet *p);
/* Kernel counters since the socket opened. */
bool afpacket_stats(struct afpacket *a, struct capture_stats *out);
/* Makes a waiting afpacket_next return; safe from a signal handler. */
void afpacket_break(struct afpacket *a);
int afpacket_linktype(const struct afpacket *a);

#endif
