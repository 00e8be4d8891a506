/* defrag.h -- bounded IPv4/IPv6 fragment reassembly.
 *
 * A fixed number of trackers, each with one 64 KiB datagram buffer allocated
 * the first time the tracker is used and reused after. Overlapping fragments
 * keep the bytes that arrived first (the policy of BSD stacks and of most
 * IDSes' "first" setting); each overlap is counted. A tracker that has not
 * completed within the timeout is dropped; when all trackers are busy the
 * oldest is evicted. Both are counted. This file never touches flows.
 */
#ifndef NIGHTJAR_DEFRAG_H
#define NIGHTJAR_DEFRAG_H

#include <stdbool.h>
#include <stdint.h>

#include "decode/decode.h"

struct defrag_config {
    uint32_t max_trackers;  /* datagrams in reassembly at once */
    uint32_t timeout_sec;   /* give up on a datagram after this */
};

struct defrag_key {
    struct ip_addr src, dst;
    uint32_t id;
    uint8_t proto;
    uint8_t ip_version;
};

/* The datagram a fragment completed. */
struct defrag_done {
    const uint8_t *payload;  /* IP payload, valid until the next defrag_add */
    uint32_t len;
    uint32_t frames;         /* fragments that made it */
    uint64_t wire_bytes;     /* their frame lengths */
};

struct defrag *defrag_new(const struct defrag_config *cfg);
void defrag_free(struct defrag *d);

/* Adds one fragment: `offset` in bytes, `more` the MF flag. Returns true and
 * fills *done when this fragment completed its datagram. */
bool defrag_add(struct defrag *d, const struct defrag_key *k, uint64_t now_usec,
                uint32_t offset, bool more, const uint8_t *data, uint32_t len,
                uint32_t wire_len, struct decode_stats *st,
                struct defrag_done *done);

/* Bytes of memory held by the trackers. */
uint64_t defrag_memory(const struct defrag *d);

#endif
