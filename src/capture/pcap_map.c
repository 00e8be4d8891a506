/* pcap_map.c -- walks a mapped classic pcap file (see pcap_map.h). The
 * format: a 24-byte file header (magic, version, zone, accuracy, snap
 * length, link type) and records of a 16-byte header (seconds,
 * microseconds or nanoseconds, captured length, wire length) and the
 * captured bytes, every field in the writer's byte order.
 *
 * One mapping a file in the process: every handle opened on the same file
 * (device, inode, size and modification time) while another is open walks
 * the same mapping with its own cursor -- several workers reading one file
 * map each page once, not once each, and let it go once. Pages are let go
 * (MADV_DONTNEED: they stay in the page cache) a step behind the slowest
 * walker still walking; a handle that has not asked for a record yet is
 * no walker (one opened only to see that the file reads held every page
 * of the workers' walk back). A walker that others will follow (the
 * placement plan's pass, which reads the file just before the workers)
 * may ask that the first bytes it walks stay mapped for them
 * (pcap_map_keep, until that many more handles walk): mapping a
 * page costs a fault and a TLB entry, and unmapping one a flush on every
 * core the process runs on, so the workers find the plan's pages where it
 * left them rather than mapping them again. A part (pcap_map_open_part:
 * the middle of a file, for a thread that walks it beside another) maps
 * its own and starts where records seem to start (see "parts" below).
 */
#include "capture/pcap_map.h"

#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define RECORD_MAX (256u << 10) /* libpcap's own bound on a record */
#define RELEASE_STEP (8u << 20) /* pages this far behind every walker are let go */
#define CHECK_STEP (1u << 20)   /* a walker says where it is this often */
#define PREFETCH_AHEAD 4096     /* every cache line this far ahead is asked for */
#define WALK_ENDED SIZE_MAX     /* a walker's position once it has walked to its end */
#define SYNC_RECORDS 8          /* a part starts where this many records chain */
#define SYNC_SCAN (16u << 20)   /* how far past its start a part looks for one */
#define SYNC_DRIFT 86400        /* seconds between neighbours in such a chain, at most */

/* A file's mapping, shared by its handles; the fields below refs change
 * under map_lock. */
struct mapping {
    struct mapping *next;      /* every open mapping of the process */
    const uint8_t *base;
    size_t size;
    dev_t dev;
    ino_t ino;
    struct timespec mtime;
    unsigned refs;             /* open handles */
    struct pcap_map *walkers;  /* the handles */
    size_t keep;               /* 0, or bytes from the start kept for followers */
    unsigned followers;        /* the keep holds until this many more handles walk */
    size_t released;           /* every page below was let go */
    size_t kept_released;      /* while keeping: let go from keep up to here */
};

static pthread_mutex_t map_lock = PTHREAD_MUTEX_INITIALIZER;
static struct mapping *mappings;

struct pcap_map {
    struct mapping *map;
    struct pcap_map *next;     /* the mapping's other handles */
    const uint8_t *base;
    size_t origin;             /* the file offset base maps (a part's: > 0) */
    size_t size, off;          /* from base */
    size_t stop;               /* the walk ends at a record from here on */
    _Atomic size_t pos;        /* off, as others see it; WALK_ENDED before the
                                  walk (walking false) and at its end */
    bool walking;              /* has asked for a record, or keeps (pcap_map_keep) */
    size_t next_check;         /* off at which pos is said again */
    bool swapped, nano;
    int linktype;
    uint32_t snaplen;          /* a longer record is cut to it, as libpcap does */
    const char *damage;        /* why the walk stopped short, else NULL */
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

static bool same_file(const struct mapping *mp, const struct stat *st)
{
    return mp->dev == st->st_dev && mp->ino == st->st_ino &&
           mp->size == (size_t)st->st_size &&
           mp->mtime.tv_sec == st->st_mtim.tv_sec &&
           mp->mtime.tv_nsec == st->st_mtim.tv_nsec;
}

/* The process's mapping of the file behind fd, a new one if there is
 * none; its refs counts the caller. Under map_lock. */
static struct mapping *mapping_of(int fd)
{
    struct stat st;
    if (fstat(fd, &st) || !S_ISREG(st.st_mode) || st.st_size < 24)
        return NULL;
    for (struct mapping *mp = mappings; mp; mp = mp->next)
        if (same_file(mp, &st)) {
            mp->refs++;
            return mp;
        }
    struct mapping *mp = calloc(1, sizeof(*mp));
    if (!mp)
        return NULL;
    void *base = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
    if (base == MAP_FAILED) {
        free(mp);
        return NULL;
    }
    madvise(base, (size_t)st.st_size, MADV_SEQUENTIAL);
    mp->base = base;
    mp->size = (size_t)st.st_size;
    mp->dev = st.st_dev;
    mp->ino = st.st_ino;
    mp->mtime = st.st_mtim;
    mp->refs = 1;
    mp->next = mappings;
    mappings = mp;
    return mp;
}

/* One handle fewer; the last unmaps. Under map_lock. */
static void mapping_put(struct mapping *mp)
{
    if (--mp->refs)
        return;
    for (struct mapping **pp = &mappings; *pp; pp = &(*pp)->next)
        if (*pp == mp) {
            *pp = mp->next;
            break;
        }
    munmap((void *)mp->base, mp->size);
    free(mp);
}

/* The file header: byte order, time unit, link type, snap length; false
 * for pcapng and anything else. */
static bool read_header(struct pcap_map *m, const uint8_t *hdr)
{
    uint32_t magic;
    memcpy(&magic, hdr, 4);
    switch (magic) {
    case 0xa1b2c3d4: break;
    case 0xa1b23c4d: m->nano = true; break;
    case 0xd4c3b2a1: m->swapped = true; break;
    case 0x4d3cb2a1: m->swapped = m->nano = true; break;
    default: return false; /* pcapng, or not a capture */
    }
    m->linktype = dlt_of(u32(m, hdr + 20));
    m->snaplen = u32(m, hdr + 16);
    if (!m->snaplen || m->snaplen > RECORD_MAX)
        m->snaplen = RECORD_MAX;
    m->off = 24;
    return true;
}

struct pcap_map *pcap_map_open(const char *path)
{
    /* O_NONBLOCK: a fifo's open would wait for its writer; it is left to
     * libpcap, which has it open already, and a second reader would race
     * it for the data */
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0)
        return NULL;
    struct pcap_map *m = calloc(1, sizeof(*m));
    pthread_mutex_lock(&map_lock);
    struct mapping *mp = m ? mapping_of(fd) : NULL;
    pthread_mutex_unlock(&map_lock);
    close(fd);
    if (!mp) {
        free(m);
        return NULL;
    }
    m->map = mp;
    m->base = mp->base;
    m->size = mp->size;
    m->stop = SIZE_MAX;
    if (!read_header(m, m->base)) {
        pthread_mutex_lock(&map_lock);
        mapping_put(mp);
        pthread_mutex_unlock(&map_lock);
        free(m);
        return NULL;
    }
    atomic_init(&m->pos, WALK_ENDED); /* nothing held back before it walks */
    m->next_check = m->off + CHECK_STEP;
    pthread_mutex_lock(&map_lock);
    m->next = mp->walkers;
    mp->walkers = m;
    pthread_mutex_unlock(&map_lock);
    return m;
}

void pcap_map_keep(struct pcap_map *m, size_t bytes, unsigned followers)
{
    pthread_mutex_lock(&map_lock);
    m->map->keep = followers ? (bytes + RELEASE_STEP - 1) & ~((size_t)RELEASE_STEP - 1) : 0;
    m->map->followers = followers;
    m->map->kept_released = m->map->keep;
    m->walking = true; /* the keeper, not a follower */
    atomic_store_explicit(&m->pos, m->off, memory_order_relaxed);
    pthread_mutex_unlock(&map_lock);
}

/* Where the slowest walker still walking is; WALK_ENDED when none is.
 * Under map_lock. */
static size_t slowest(const struct mapping *mp)
{
    size_t low = WALK_ENDED;
    for (const struct pcap_map *w = mp->walkers; w; w = w->next) {
        size_t at = atomic_load_explicit(&w->pos, memory_order_relaxed);
        if (at < low)
            low = at;
    }
    return low;
}

/* Pages more than a step behind every walker leave the process's
 * resident set (they stay in the page cache): several workers walking one
 * file would otherwise count the whole file as their memory. A frame is
 * used only until the next one is asked for, and a record is far shorter
 * than a step. While a keep holds, the first keep bytes stay. */
static void release_behind(struct mapping *mp)
{
    size_t low = slowest(mp);
    if (low == WALK_ENDED || low < 2 * (size_t)RELEASE_STEP)
        return;
    size_t upto = (low - RELEASE_STEP) & ~((size_t)RELEASE_STEP - 1);
    size_t *from = mp->followers ? &mp->kept_released : &mp->released;
    if (upto <= *from)
        return;
    madvise((void *)(mp->base + *from), upto - *from, MADV_DONTNEED);
    *from = upto;
}

/* Says where this walker is, every CHECK_STEP, and lets go of what every
 * walker has passed. */
static void walked_to(struct pcap_map *m, size_t at)
{
    atomic_store_explicit(&m->pos, at, memory_order_relaxed);
    pthread_mutex_lock(&map_lock);
    release_behind(m->map);
    pthread_mutex_unlock(&map_lock);
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

/* The walk is over (its end, or damage): this walker holds nothing back. */
static bool ended(struct pcap_map *m, const char *damage)
{
    m->damage = damage;
    if (atomic_load_explicit(&m->pos, memory_order_relaxed) != WALK_ENDED)
        walked_to(m, WALK_ENDED);
    return false;
}

/* The first record asked for: from now on this handle holds back the
 * pages ahead of it, and it is one of the followers a keep waits for. A
 * handle opened and never walked (one opened to see that the file can be
 * read) holds nothing. */
static void start_walking(struct pcap_map *m)
{
    pthread_mutex_lock(&map_lock);
    m->walking = true;
    atomic_store_explicit(&m->pos, m->off, memory_order_relaxed);
    if (m->map->followers)
        m->map->followers--;
    pthread_mutex_unlock(&map_lock);
}

bool pcap_map_next(struct pcap_map *m, struct packet *p)
{
    if (!m->walking)
        start_walking(m);
    if (m->off >= m->next_check) {
        walked_to(m, m->off);
        m->next_check = m->off + CHECK_STEP;
    }
    if (m->off >= m->stop)
        return ended(m, NULL);
    if (m->size - m->off < 16)
        return ended(m, m->off != m->size ? "truncated record header" : NULL);
    const uint8_t *h = m->base + m->off;
    prefetch_ahead(m);
    uint32_t caplen = u32(m, h + 8);
    if (caplen > RECORD_MAX)
        return ended(m, "invalid packet capture length");
    if (caplen > m->size - m->off - 16)
        return ended(m, "truncated record");
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

size_t pcap_map_offset(const struct pcap_map *m) { return m->origin + m->off; }

size_t pcap_map_file_size(const struct pcap_map *m) { return m->origin + m->size; }

void pcap_map_stop_at(struct pcap_map *m, size_t offset)
{
    m->stop = offset > m->origin ? offset - m->origin : 0;
    if (m->walking && m->off < m->stop && !m->damage) /* a walk stopped short goes on */
        atomic_store_explicit(&m->pos, m->off, memory_order_relaxed);
}

/* ---- parts ---------------------------------------------------------------
 * A part is walked by a handle of its own (its own mapping, from the page
 * of its start to the end of the file, let go behind it like any other)
 * so that a thread can walk the middle of a file while another walks its
 * start. Where a record starts there can only be found by looking: the
 * first offset where SYNC_RECORDS records chain -- plausible headers (a
 * fraction of a second below a second; a length of 1 to 256 KiB, no more
 * than the record's length on the wire nor than what the file has left),
 * each within a day of the one before, not all with the same time (a run
 * of zeros would chain) -- or the file ends at a record's end. Payload
 * bytes can still pass that, so the caller only trusts a part's start
 * once the walk before it has ended there exactly. */
static bool record_chain_at(const struct pcap_map *m, size_t off)
{
    uint32_t prev = 0, frac_max = m->nano ? 1000000000u : 1000000u;
    uint64_t first = 0;
    bool differ = false;
    for (unsigned i = 0; i < SYNC_RECORDS; i++) {
        if (off == m->size)
            return i > 0 && (differ || i == 1);
        if (m->size - off < 16)
            return false;
        const uint8_t *h = m->base + off;
        uint32_t sec = u32(m, h), frac = u32(m, h + 4);
        uint32_t caplen = u32(m, h + 8), wire = u32(m, h + 12);
        if (frac >= frac_max || !caplen || caplen > RECORD_MAX || caplen > wire ||
            caplen > m->size - off - 16)
            return false;
        if (i && (sec > prev ? sec - prev : prev - sec) > SYNC_DRIFT)
            return false;
        uint64_t t = (uint64_t)sec << 32 | frac;
        if (!i)
            first = t;
        differ |= t != first;
        prev = sec;
        off += 16 + (size_t)caplen;
    }
    return differ;
}

struct pcap_map *pcap_map_open_part(const char *path, size_t from)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0)
        return NULL;
    struct stat st;
    uint8_t hdr[24];
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    size_t origin = from / page * page;
    struct pcap_map *m = calloc(1, sizeof(*m));
    struct mapping *mp = calloc(1, sizeof(*mp));
    void *base = MAP_FAILED;
    if (m && mp && !fstat(fd, &st) && S_ISREG(st.st_mode) &&
        (size_t)st.st_size > from && from >= 24 &&
        pread(fd, hdr, sizeof(hdr), 0) == (ssize_t)sizeof(hdr) && read_header(m, hdr))
        base = mmap(NULL, (size_t)st.st_size - origin, PROT_READ, MAP_PRIVATE, fd,
                    (off_t)origin);
    close(fd);
    if (base == MAP_FAILED) {
        free(m);
        free(mp);
        return NULL;
    }
    madvise(base, (size_t)st.st_size - origin, MADV_SEQUENTIAL);
    /* a mapping of its own, in no list: no other handle shares it */
    mp->base = base;
    mp->size = (size_t)st.st_size - origin;
    mp->refs = 1;
    mp->walkers = m;
    m->map = mp;
    m->base = base;
    m->origin = origin;
    m->size = mp->size;
    m->stop = SIZE_MAX;
    size_t off = from - origin, last = off + SYNC_SCAN;
    while (off < m->size && off < last && !record_chain_at(m, off))
        off++;
    if (off >= m->size || off >= last) {
        pcap_map_close(m);
        return NULL;
    }
    m->off = off;
    atomic_init(&m->pos, WALK_ENDED);
    m->next_check = off + CHECK_STEP;
    return m;
}

void pcap_map_close(struct pcap_map *m)
{
    if (!m)
        return;
    pthread_mutex_lock(&map_lock);
    struct mapping *mp = m->map;
    for (struct pcap_map **pp = &mp->walkers; *pp; pp = &(*pp)->next)
        if (*pp == m) {
            *pp = m->next;
            break;
        }
    release_behind(mp);
    mapping_put(mp);
    pthread_mutex_unlock(&map_lock);
    free(m);
}
