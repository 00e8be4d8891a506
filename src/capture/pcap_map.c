/* pcap_map.c -- walks a mapped classic pcap file (see pcap_map.h). The
 * format: a 24-byte file header (magic, version, zone, accuracy, snap
 * length, link type) and records of a 16-byte header (seconds,
 * microseconds or nanoseconds, captured length, wire length) and the
 * captured bytes, every field in the writer's byte order.
 */
#include "capture/pcap_map.h"

#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define RECORD_MAX (256u << 10) /* libpcap's own bound on a record */
#define RELEASE_STEP (8u << 20) /* pages this far behind are let go */
#define PREFETCH_AHEAD 4096     /* every cache line this far ahead is asked for */

struct pcap_map {
    const uint8_t *base;
    size_t size, off;
    bool swapped, nano;
    int linktype;
    uint32_t snaplen;          /* a longer record is cut to it, as libpcap does */
    const char *damage;        /* why the walk stopped short, else NULL */
    size_t released;           /* pages before this are no longer mapped in */
    size_t prefetched;         /* cache lines before this were asked for */
};

static uint32_t u32(const struct pcap_map *m, const uint8_t *p)
{
    uint32_t v;
    memcpy(&v, p, 4);
    return m->swapped ? __builtin_bswap32(v) : v;
}

/* LINKTYPE_ values in the file to the DLT_ values libpcap gives the
 * decoders, where Linux differs: raw IP. */
static int dlt_of(uint32_t linktype)
{
    linktype &= 0xffff;
    return linktype == 101 ? 12 : (int)linktype;
}

struct pcap_map *pcap_map_open(const char *path)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return NULL;
    struct stat st;
    void *base = MAP_FAILED;
    if (!fstat(fd, &st) && S_ISREG(st.st_mode) && st.st_size >= 24)
        base = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
    close(fd);
    if (base == MAP_FAILED)
        return NULL;
    struct pcap_map *m = calloc(1, sizeof(*m));
    if (!m) {
        munmap(base, (size_t)st.st_size);
        return NULL;
    }
    m->base = base;
    m->size = (size_t)st.st_size;
    uint32_t magic;
    memcpy(&magic, m->base, 4);
    switch (magic) {
    case 0xa1b2c3d4: break;
    case 0xa1b23c4d: m->nano = true; break;
    case 0xd4c3b2a1: m->swapped = true; break;
    case 0x4d3cb2a1: m->swapped = m->nano = true; break;
    default: /* pcapng, or not a capture */
        pcap_map_close(m);
        return NULL;
    }
    m->linktype = dlt_of(u32(m, m->base + 20));
    m->snaplen = u32(m, m->base + 16);
    if (!m->snaplen || m->snaplen > RECORD_MAX)
        m->snaplen = RECORD_MAX;
    m->off = 24;
    madvise((void *)m->base, m->size, MADV_SEQUENTIAL);
    return m;
}

/* The pages walked more than a step ago leave this process's resident
 * set (they stay in the page cache): several workers walking one file
 * would otherwise each count the whole file as their memory. A frame is
 * used only until the next one is asked for, and a record is far shorter
 * than a step. */
static void release_behind(struct pcap_map *m)
{
    if (m->off - m->released < 2 * (size_t)RELEASE_STEP)
        return;
    size_t upto = (m->off - RELEASE_STEP) & ~((size_t)RELEASE_STEP - 1);
    if (upto <= m->released)
        return;
    madvise((void *)(m->base + m->released), upto - m->released, MADV_DONTNEED);
    m->released = upto;
}

/* Where a record starts depends on the one before, so each header would
 * be a miss (a chain of loads the hardware cannot run ahead of): every
 * line up to PREFETCH_AHEAD past this record is asked for, once each --
 * the walk then reads from cache, about 1.4x as fast over the bench
 * capture. A prefetch into a page not mapped yet is dropped, not a fault. */
static void prefetch_ahead(struct pcap_map *m)
{
    size_t end = m->off + PREFETCH_AHEAD;
    if (end > m->size)
        end = m->size;
    if (m->prefetched < m->off)
        m->prefetched = m->off & ~(size_t)63;
    for (; m->prefetched < end; m->prefetched += 64)
        __builtin_prefetch(m->base + m->prefetched);
}

bool pcap_map_next(struct pcap_map *m, struct packet *p)
{
    release_behind(m);
    if (m->size - m->off < 16) {
        if (m->off != m->size)
            m->damage = "truncated record header";
        return false;
    }
    const uint8_t *h = m->base + m->off;
    prefetch_ahead(m);
    uint32_t caplen = u32(m, h + 8);
    if (caplen > RECORD_MAX) {
        m->damage = "invalid packet capture length";
        return false;
    }
    if (caplen > m->size - m->off - 16) {
        m->damage = "truncated record";
        return false;
    }
    uint64_t frac = u32(m, h + 4);
    /* seconds are unsigned, as libpcap reads them: 2038 is not an end */
    p->ts_usec = (uint64_t)u32(m, h) * 1000000u + (m->nano ? frac / 1000 : frac);
    p->cap_len = caplen > m->snaplen ? m->snaplen : caplen;
    p->wire_len = u32(m, h + 12);
    p->frame = h + 16;
    p->linktype = m->linktype;
    m->off += 16 + (size_t)caplen;
    return true;
}

const char *pcap_map_damage(const struct pcap_map *m) { return m->damage; }

void pcap_map_close(struct pcap_map *m)
{
    if (!m)
        return;
    munmap((void *)m->base, m->size);
    free(m);
}
