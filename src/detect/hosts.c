/* hosts.c -- host profiles, pairs and the state file (see hosts.h).
 *
 * Profiles are large (~730 bytes) and their table is sparse: a set of
 * HOST_WAYS spans pages. Beside it, a tag a slot (the address's hash, 0:
 * empty) -- 32 bytes a set -- finds a host, an empty slot and the slots
 * to save without reading the profiles: looking up a new host reads two
 * sets' tags, not the pages of sixteen profiles. */
#include "detect/hosts.h"
#include "util/table_mem.h"
#include "util/hash.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <zlib.h>

#include "detect/baseline.h"
#include "util/text.h"

#define WAYS 4          /* pairs */
#define HOST_WAYS 8     /* hosts: two candidate sets of 8 */
#define STATE_MAGIC "NJBASE01"
#define STATE_FILE "baseline.state"

struct hosts {
    struct host_profile *host;
    uint32_t *host_tag;            /* host's address hashes, 0: empty slot */
    struct pair_entry *pair;
    uint32_t host_sets, pair_sets;
    uint32_t epoch;
    uint32_t count;
    struct hosts_stats st;
};

struct hosts *hosts_new(uint32_t n_hosts, uint32_t n_pairs)
{
    struct hosts *h = calloc(1, sizeof(*h));
    if (!h)
        return NULL;
    h->host_sets = (n_hosts + HOST_WAYS - 1) / HOST_WAYS;
    h->pair_sets = (n_pairs + WAYS - 1) / WAYS;
    if (!h->host_sets)
        h->host_sets = 1;
    if (!h->pair_sets)
        h->pair_sets = 1;
    h->host = table_mem_alloc((size_t)h->host_sets * HOST_WAYS, sizeof(*h->host));
    h->host_tag = table_mem_alloc((size_t)h->host_sets * HOST_WAYS, sizeof(*h->host_tag));
    h->pair = table_mem_alloc((size_t)h->pair_sets * WAYS, sizeof(*h->pair));
    if (!h->host || !h->host_tag || !h->pair) {
        hosts_free(h);
        return NULL;
    }
    return h;
}

void hosts_free(struct hosts *h)
{
    if (!h)
        return;
    table_mem_free(h->host, (size_t)h->host_sets * HOST_WAYS, sizeof(*h->host));
    table_mem_free(h->host_tag, (size_t)h->host_sets * HOST_WAYS, sizeof(*h->host_tag));
    table_mem_free(h->pair, (size_t)h->pair_sets * WAYS, sizeof(*h->pair));
    free(h);
}

uint64_t hosts_memory(const struct hosts *h)
{
    return h ? sizeof(*h) +
                   (uint64_t)h->host_sets * HOST_WAYS * (sizeof(*h->host) + sizeof(*h->host_tag)) +
                   (uint64_t)h->pair_sets * WAYS * sizeof(*h->pair)
             : 0;
}

const struct hosts_stats *hosts_stats(const struct hosts *h) { return &h->st; }
uint32_t hosts_count(const struct hosts *h) { return h->count; }
uint32_t hosts_epoch(const struct hosts *h) { return h->epoch; }
void hosts_set_epoch(struct hosts *h, uint32_t t) { h->epoch = t; }

/* Never 0: that tag is an empty slot. */
static uint32_t addr_hash(uint8_t v, const struct ip_addr *a)
{
    uint32_t hash = fnv1a(fnv1a(FNV1A_SEED, &v, 1), a, sizeof(*a));
    return hash ? hash : 1;
}

/* Two candidate sets per address (two-choice hashing): a new host goes to
 * the emptier one, so sets overflow only when the table is nearly full.
 * fmix32 (util/hash.h): every input bit reaches every output bit, so the
 * two set choices are independent. The set's first slot. */
static size_t host_set(const struct hosts *h, uint32_t hash)
{
    return (size_t)(fmix32(hash) % h->host_sets) * HOST_WAYS;
}

static struct host_profile *find_host(struct hosts *h, size_t set,
                                      uint32_t tag, uint8_t v,
                                      const struct ip_addr *a)
{
    for (size_t i = set; i < set + HOST_WAYS; i++)
        if (h->host_tag[i] == tag && h->host[i].v == v &&
            memcmp(&h->host[i].addr, a, sizeof(*a)) == 0)
            return &h->host[i];
    return NULL;
}

/* An empty slot of the set, or its least recently seen entry; *used
 * counts the set's occupied slots. */
static size_t host_victim(const struct hosts *h, size_t set, int *used)
{
    size_t victim = SIZE_MAX;
    *used = 0;
    for (size_t i = set; i < set + HOST_WAYS; i++) {
        if (!h->host_tag[i]) {
            if (victim == SIZE_MAX || h->host_tag[victim])
                victim = i;
            continue;
        }
        (*used)++;
        if (victim == SIZE_MAX ||
            (h->host_tag[victim] && h->host[i].last_seen < h->host[victim].last_seen))
            victim = i;
    }
    return victim;
}

struct host_profile *hosts_get(struct hosts *h, uint8_t v,
                               const struct ip_addr *a, uint32_t now,
                               bool create)
{
    uint32_t hash = addr_hash(v, a);
    size_t s1 = host_set(h, hash);
    size_t s2 = host_set(h, fmix32(hash) ^ 0x9e3779b9u);
    struct host_profile *p = find_host(h, s1, hash, v, a);
    if (!p && s2 != s1)
        p = find_host(h, s2, hash, v, a);
    if (p || !create)
        return p;
    int u1, u2;
    size_t v1 = host_victim(h, s1, &u1), v2 = host_victim(h, s2, &u2);
    size_t slot = u2 < u1 ? v2
                : u1 < u2 ? v1
                : h->host[v2].last_seen < h->host[v1].last_seen ? v2 : v1;
    struct host_profile *victim = &h->host[slot];
    if (h->host_tag[slot])
        h->st.hosts_evicted++;
    else
        h->count++;
    h->st.hosts_new++;
    memset(victim, 0, sizeof(*victim));
    h->host_tag[slot] = hash;
    victim->addr = *a;
    victim->v = v;
    victim->first_seen = victim->last_seen = now;
    victim->cur_hour = now / 3600;
    return victim;
}

void host_roll_hours(struct host_profile *p, uint32_t now, double half_life_days)
{
    uint32_t hour = now / 3600;
    if (hour <= p->cur_hour)
        return;
    /* every hour-of-day bucket is updated once a day: half-life in days */
    double a_day = ewma_alpha(half_life_days);
    double a_hour = ewma_alpha(half_life_days * 24);
    for (uint32_t hr = p->cur_hour; hr < hour && hr < p->cur_hour + 24 * 7; hr++) {
        int b = (int)(hr % 24);
        bool first = !(p->hours_init & (1u << b));
        bool this_hour = hr == p->cur_hour;
        p->conns[b] = ewma_update(p->conns[b], this_hour ? p->hour_conns : 0, a_day, first);
        p->bytes_out[b] = ewma_update(p->bytes_out[b],
                                      this_hour ? (double)p->hour_bytes_out : 0, a_day, first);
        p->bytes_in[b] = ewma_update(p->bytes_in[b],
                                     this_hour ? (double)p->hour_bytes_in : 0, a_day, first);
        p->hours_init |= 1u << b;
        bool first_h = p->hours_init == (1u << b) && this_hour;
        p->new_peers = ewma_update(p->new_peers, this_hour ? p->hour_new_peers : 0,
                                   a_hour, first_h);
        p->dns = ewma_update(p->dns, this_hour ? p->hour_dns : 0, a_hour, first_h);
        if (this_hour && p->hour_dns)
            p->nx_share = ewma_update(p->nx_share, (double)p->hour_nx / p->hour_dns,
                                      a_hour, first_h);
    }
    p->cur_hour = hour;
    p->hour_conns = p->hour_new_peers = p->hour_dns = p->hour_nx = 0;
    p->hour_bytes_out = p->hour_bytes_in = 0;
}

uint32_t host_service_touch(struct host_service *list, int n, uint16_t port,
                            uint8_t proto, uint8_t app)
{
    struct host_service *least = &list[0];
    for (int i = 0; i < n; i++) {
        struct host_service *s = &list[i];
        if (s->count && s->port == port && s->proto == proto) {
            uint32_t before = s->count;
            if (s->count < UINT32_MAX)
                s->count++;
            if (app)
                s->app = app;
            return before;
        }
        if (s->count < least->count)
            least = s;
    }
    *least = (struct host_service){ port, proto, app, 1 };
    return 0;
}

static uint64_t pair_key(uint8_t v, const struct ip_addr *c,
                         const struct ip_addr *s, uint16_t port, uint8_t proto)
{
    uint32_t a = fnv1a(fnv1a(fnv1a(addr_hash(v, c), s, sizeof(*s)), &port,
                             sizeof(port)), &proto, 1);
    uint32_t b = fnv1a(fnv1a(fnv1a(fnv1a(0x9e3779b9u, &v, 1), s, sizeof(*s)),
                             c, sizeof(*c)), &port, sizeof(port));
    uint64_t k = (uint64_t)a << 32 | b;
    return k ? k : 1;
}

static struct pair_entry *pair_slot(struct hosts *h, uint64_t key, bool *was_new)
{
    struct pair_entry *set = &h->pair[(size_t)(key % h->pair_sets) * WAYS];
    struct pair_entry *victim = &set[0];
    for (int i = 0; i < WAYS; i++) {
        if (set[i].key == key) {
            *was_new = false;
            return &set[i];
        }
        if (!set[i].key || (victim->key && set[i].last_seen < victim->last_seen))
            victim = &set[i];
    }
    if (victim->key)
        h->st.pairs_evicted++;
    h->st.pairs_new++;
    memset(victim, 0, sizeof(*victim));
    victim->key = key;
    *was_new = true;
    return victim;
}

struct pair_entry *pairs_touch(struct hosts *h, uint8_t v,
                               const struct ip_addr *client,
                               const struct ip_addr *server, uint16_t port,
                               uint8_t proto, uint32_t now, bool *was_new)
{
    struct pair_entry *e = pair_slot(h, pair_key(v, client, server, port, proto),
                                     was_new);
    if (*was_new)
        e->first_seen = now;
    e->last_seen = now;
    return e;
}

/* ---- the state file ---------------------------------------------------- */

struct state_header {
    char magic[8];
    uint32_t host_size, pair_size;
    uint32_t n_hosts, n_pairs;     /* entries that follow */
    uint32_t epoch, pad;
};

static bool write_all(int fd, const void *p, size_t n, uLong *crc)
{
    *crc = crc32(*crc, p, (uInt)n);
    const char *c = p;
    while (n) {
        ssize_t w = write(fd, c, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return false;
        c += w;
        n -= (size_t)w;
    }
    return true;
}

static bool save_entries(struct hosts *h, int fd, uLong *crc)
{
    struct state_header hd = { STATE_MAGIC, sizeof(struct host_profile),
                               sizeof(struct pair_entry), 0, 0, h->epoch, 0 };
    size_t nh = (size_t)h->host_sets * HOST_WAYS, np = (size_t)h->pair_sets * WAYS;
    for (size_t i = 0; i < nh; i++)
        hd.n_hosts += h->host_tag[i] != 0;
    for (size_t i = 0; i < np; i++)
        hd.n_pairs += h->pair[i].key != 0;
    bool ok = write_all(fd, &hd, sizeof(hd), crc);
    for (size_t i = 0; ok && i < nh; i++)
        if (h->host_tag[i])
            ok = write_all(fd, &h->host[i], sizeof(h->host[i]), crc);
    for (size_t i = 0; ok && i < np; i++)
        if (h->pair[i].key)
            ok = write_all(fd, &h->pair[i], sizeof(h->pair[i]), crc);
    return ok;
}

bool hosts_save(struct hosts *h, const char *dir, char *err, size_t errlen)
{
    char tmp[4096], path[4096];
    snprintf(tmp, sizeof(tmp), "%s/%s.new", dir, STATE_FILE);
    snprintf(path, sizeof(path), "%s/%s", dir, STATE_FILE);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    uLong crc = crc32(0, NULL, 0);
    bool ok = fd >= 0 && save_entries(h, fd, &crc);
    if (ok) {
        uint32_t c = (uint32_t)crc;
        uLong ignored = 0;
        ok = write_all(fd, &c, sizeof(c), &ignored) && fsync(fd) == 0;
    }
    int saved_errno = errno;
    if (fd >= 0 && close(fd) != 0 && ok) {
        ok = false;
        saved_errno = errno;
    }
    if (ok && rename(tmp, path) != 0) {
        ok = false;
        saved_errno = errno;
    }
    if (ok) {
        int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd >= 0) {
            fsync(dfd); /* the rename itself reaches the disk */
            close(dfd);
        }
        h->st.saves++;
        return true;
    }
    unlink(tmp);
    h->st.save_errors++;
    snprintf(err, errlen, "baseline state %s: %s", path, strerror(saved_errno));
    return false;
}

static void insert_host(struct hosts *h, const struct host_profile *p)
{
    struct host_profile *d = hosts_get(h, p->v, &p->addr, p->last_seen, true);
    *d = *p;
    h->st.loaded_hosts++;
}

static void insert_pair(struct hosts *h, const struct pair_entry *p)
{
    bool was_new;
    struct pair_entry *d = pair_slot(h, p->key, &was_new);
    *d = *p;
    h->st.loaded_pairs++;
}

static bool load_entries(struct hosts *h, FILE *fp, const struct state_header *hd,
                         uLong *crc)
{
    struct host_profile hp;
    struct pair_entry pe;
    for (uint32_t i = 0; i < hd->n_hosts; i++) {
        if (fread(&hp, sizeof(hp), 1, fp) != 1 || !hp.v)
            return false;
        *crc = crc32(*crc, (const Bytef *)&hp, sizeof(hp));
        insert_host(h, &hp);
    }
    for (uint32_t i = 0; i < hd->n_pairs; i++) {
        if (fread(&pe, sizeof(pe), 1, fp) != 1 || !pe.key)
            return false;
        *crc = crc32(*crc, (const Bytef *)&pe, sizeof(pe));
        insert_pair(h, &pe);
    }
    return true;
}

bool hosts_load(struct hosts *h, const char *dir, char *err, size_t errlen)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/%s", dir, STATE_FILE);
    FILE *fp = fopen(path, "rb");
    if (!fp) {
        if (errno == ENOENT)
            return true; /* first start: nothing learned yet */
        snprintf(err, errlen, "baseline state %s: %s", path, strerror(errno));
        return false;
    }
    struct state_header hd;
    uLong crc = crc32(0, NULL, 0);
    bool ok = fread(&hd, sizeof(hd), 1, fp) == 1 &&
              memcmp(hd.magic, STATE_MAGIC, 8) == 0 &&
              hd.host_size == sizeof(struct host_profile) &&
              hd.pair_size == sizeof(struct pair_entry);
    if (ok) {
        crc = crc32(crc, (const Bytef *)&hd, sizeof(hd));
        ok = load_entries(h, fp, &hd, &crc);
    }
    uint32_t stored = 0;
    ok = ok && fread(&stored, sizeof(stored), 1, fp) == 1 && stored == (uint32_t)crc;
    fclose(fp);
    if (!ok) {
        snprintf(err, errlen, "baseline state %s is damaged or from another "
                 "nightjar version; move it away to start learning afresh", path);
        return false;
    }
    h->epoch = hd.epoch;
    return true;
}
