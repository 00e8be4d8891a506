/* fanout_check.c -- checks how an AF_PACKET fanout group spreads traffic:
 * opens N sockets on IFACE in one group (mode hash or pair, through
 * src/capture/afpacket.c), reads all of them for SECONDS, and for every
 * IPv4 packet notes which socket had it. Prints the packets per socket, how
 * many connections (5-tuples, both directions as one) and how many address
 * pairs were seen on more than one socket, and exits 0. A test decides
 * what it expects from those numbers.
 *
 *   fanout_check IFACE hash|pair N SECONDS
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "capture/afpacket.h"

#define KEYS 65536

struct seen {
    uint64_t key;
    uint32_t sockets;      /* bit per socket */
    bool used;
};

static struct seen conns[KEYS], pairs[KEYS];

static void note(struct seen *t, uint64_t key, int sock)
{
    for (uint64_t i = key * 0x9e3779b97f4a7c15ull >> 48;; i = (i + 1) % KEYS) {
        if (!t[i].used) {
            t[i].used = true;
            t[i].key = key;
        }
        if (t[i].key == key) {
            t[i].sockets |= 1u << sock;
            return;
        }
    }
}

static int spread(const struct seen *t)
{
    int n = 0;
    for (int i = 0; i < KEYS; i++)
        if (t[i].used && (t[i].sockets & (t[i].sockets - 1)))
            n++;
    return n;
}

static int count(const struct seen *t)
{
    int n = 0;
    for (int i = 0; i < KEYS; i++)
        n += t[i].used;
    return n;
}

/* Ethernet + IPv4 + UDP/TCP: the unordered connection and address pair. */
static void classify(const struct packet *p, int sock)
{
    const uint8_t *d = p->frame;
    if (p->cap_len < 14 + 20 || d[12] != 0x08 || d[13] != 0x00)
        return;
    const uint8_t *ip = d + 14;
    uint32_t a, b;
    memcpy(&a, ip + 12, 4);
    memcpy(&b, ip + 16, 4);
    unsigned ihl = (ip[0] & 15u) * 4;
    uint32_t pa = 0, pb = 0;
    if ((ip[9] == 6 || ip[9] == 17) && p->cap_len >= 14 + ihl + 4) {
        pa = (uint32_t)ip[ihl] << 8 | ip[ihl + 1];
        pb = (uint32_t)ip[ihl + 2] << 8 | ip[ihl + 3];
    }
    uint64_t ea = (uint64_t)a << 16 | pa, eb = (uint64_t)b << 16 | pb;
    uint64_t lo = ea < eb ? ea : eb, hi = ea < eb ? eb : ea;
    note(conns, lo * 1000003u ^ hi ^ ip[9], sock);
    note(pairs, (uint64_t)(a < b ? a : b) << 32 | (a < b ? b : a), sock);
}

int main(int argc, char **argv)
{
    if (argc != 5) {
        fprintf(stderr, "usage: fanout_check IFACE hash|pair N SECONDS\n");
        return 2;
    }
    int n = atoi(argv[3]);
    if (n < 1 || n > 16)
        return 2;
    struct afpacket *s[16];
    uint64_t got[16] = { 0 };
    char err[512];
    for (int i = 0; i < n; i++) {
        struct afpacket_config c = {
            .iface = argv[1], .snaplen = 256, .ring_mb = 4, .timeout_ms = 5,
            .fanout = !strcmp(argv[2], "pair") ? AFP_FANOUT_PAIR : AFP_FANOUT_HASH,
            .fanout_group = 4242,
        };
        if (!(s[i] = afpacket_open(&c, err, sizeof(err)))) {
            fprintf(stderr, "fanout_check: %s\n", err);
            return 1;
        }
    }
    printf("ready\n");
    fflush(stdout);
    time_t end = time(NULL) + atoi(argv[4]);
    struct packet p;
    while (time(NULL) < end)
        for (int i = 0; i < n; i++)
            while (afpacket_next(s[i], &p) == CAPTURE_PACKET) {
                got[i]++;
                classify(&p, i);
            }
    for (int i = 0; i < n; i++) {
        printf("socket %d: %llu packets\n", i, (unsigned long long)got[i]);
        afpacket_close(s[i]);
    }
    printf("connections %d split %d\npairs %d split %d\n", count(conns), spread(conns),
           count(pairs), spread(pairs));
    return 0;
}
