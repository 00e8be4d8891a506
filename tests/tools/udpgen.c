/* udpgen.c -- a UDP traffic generator for live-capture tests and the
 * capture benchmark: from each source address, FLOWS flows (source ports
 * BASE, BASE+1, ...) to DST:PORT, packets sent round-robin over all flows
 * at RATE packets per second (0: as fast as it can) in sendmmsg batches
 * of up to 32 per flow, until
 * COUNT packets or SECONDS have gone. Prints what it sent. Meant to run
 * inside a network namespace the test made; it sends only to the address
 * it is given.
 *
 * With -i IFACE the same datagrams go out as whole Ethernet frames on
 * IFACE through an AF_PACKET socket that bypasses the qdisc, none through
 * the UDP/IP stack: a sender twice as fast on one core here, for the
 * capture benchmark. Their destination MAC is not the peer's (as on a
 * SPAN port: the peer's stack drops them, its packet sockets see them).
 *
 * -c (with -i): every frame a new flow -- its source port is the next of
 * 60,000 after BASE, in turn over the sources -- the churn of a scan or a
 * flood: every packet makes a flow the sensor must create and later end.
 *
 *   udpgen -s 10.231.0.2,10.231.0.3 -d 10.231.0.1 -P 7 -f 10 -n 1000 -r 0 -l 64
 *   udpgen -i veth0 -s 10.231.0.2 -d 10.231.0.1 -f 200 -t 3 -r 0
 *   udpgen -i veth0 -c -b 5000 -s 10.231.0.2 -d 10.231.0.1 -t 3 -r 100000
 */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_SOCKS 4096
#define BATCH 32

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static int open_flow(const char *src, int port)
{
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
    if (fd < 0 || inet_pton(AF_INET, src, &a.sin_addr) != 1 ||
        bind(fd, (struct sockaddr *)&a, sizeof(a)) != 0) {
        fprintf(stderr, "udpgen: %s:%d: %s\n", src, port, strerror(errno));
        exit(2);
    }
    return fd;
}

/* ---- raw frames (-i) ---------------------------------------------------- */

#define FRAME_MAX (14 + 20 + 8 + 1400)

#define CHURN_PORTS 60000

struct raw_out {
    int fd;
    int churn_base;            /* -c: a new source port a frame, from here; else 0 */
    struct sockaddr_ll to;
    int nframes;
    uint8_t (*frames)[FRAME_MAX]; /* one per flow */
    size_t frame_len;
};

static uint16_t ip_checksum(const uint8_t *h, size_t n)
{
    uint32_t sum = 0;
    for (size_t i = 0; i + 1 < n; i += 2)
        sum += (uint32_t)(h[i] << 8 | h[i + 1]);
    while (sum >> 16)
        sum = (sum & 0xffff) + (sum >> 16);
    return (uint16_t)~sum;
}

/* Ethernet + IPv4 + UDP with len bytes of payload, checksummed (the UDP
 * checksum left 0, which IPv4 allows). */
static void build_frame(uint8_t *f, const uint8_t src_mac[6], struct in_addr src,
                        struct in_addr dst, int sport, int dport, int len)
{
    static const uint8_t not_the_peer[6] = { 0x02, 0x00, 0x5e, 0x10, 0x00, 0x01 };
    memcpy(f, not_the_peer, 6);
    memcpy(f + 6, src_mac, 6);
    f[12] = 0x08;
    f[13] = 0x00;
    uint8_t *ip = f + 14, *udp = ip + 20;
    uint16_t tot = (uint16_t)(20 + 8 + len);
    memset(ip, 0, 20);
    ip[0] = 0x45;
    ip[2] = (uint8_t)(tot >> 8);
    ip[3] = (uint8_t)tot;
    ip[8] = 64;
    ip[9] = 17;
    memcpy(ip + 12, &src, 4);
    memcpy(ip + 16, &dst, 4);
    uint16_t c = ip_checksum(ip, 20);
    ip[10] = (uint8_t)(c >> 8);
    ip[11] = (uint8_t)c;
    udp[0] = (uint8_t)(sport >> 8);
    udp[1] = (uint8_t)sport;
    udp[2] = (uint8_t)(dport >> 8);
    udp[3] = (uint8_t)dport;
    udp[4] = (uint8_t)((8 + len) >> 8);
    udp[5] = (uint8_t)(8 + len);
    udp[6] = udp[7] = 0;
    memset(udp + 8, 'x', (size_t)len);
}

static void raw_open(struct raw_out *r, const char *ifname, char *srcs,
                     const char *dst, int flows, int base, int dport, int len)
{
    r->fd = socket(AF_PACKET, SOCK_RAW, htons(ETH_P_ALL));
    unsigned ifindex = if_nametoindex(ifname);
    struct ifreq ifr;
    memset(&ifr, 0, sizeof(ifr));
    snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
    int one = 1;
    struct in_addr d;
    if (r->fd < 0 || !ifindex || ioctl(r->fd, SIOCGIFHWADDR, &ifr) != 0 ||
        inet_pton(AF_INET, dst, &d) != 1) {
        fprintf(stderr, "udpgen: %s: %s\n", ifname, strerror(errno));
        exit(2);
    }
    setsockopt(r->fd, SOL_PACKET, PACKET_QDISC_BYPASS, &one, sizeof(one));
    memset(&r->to, 0, sizeof(r->to));
    r->to.sll_family = AF_PACKET;
    r->to.sll_ifindex = (int)ifindex;
    r->to.sll_halen = 6;
    r->frames = calloc(MAX_SOCKS, sizeof(*r->frames));
    if (!r->frames)
        exit(2);
    r->frame_len = (size_t)(14 + 20 + 8 + len);
    r->nframes = 0;
    for (char *s = strtok(srcs, ","); s; s = strtok(NULL, ","))
        for (int i = 0; i < flows && r->nframes < MAX_SOCKS; i++) {
            struct in_addr a;
            if (inet_pton(AF_INET, s, &a) != 1) {
                fprintf(stderr, "udpgen: bad source %s\n", s);
                exit(2);
            }
            build_frame(r->frames[r->nframes++], (const uint8_t *)ifr.ifr_hwaddr.sa_data,
                        a, d, base + i, dport, len);
        }
}

/* b frames, of the flows after *turn in turn; what sendmmsg sent. */
static int raw_send(struct raw_out *r, long *turn, int b, long seq)
{
    static uint8_t out[BATCH][FRAME_MAX]; /* a frame a slot: a flow may come twice in a batch */
    struct mmsghdr msgs[BATCH];
    struct iovec iov[BATCH];
    memset(msgs, 0, sizeof(msgs));
    for (int i = 0; i < b; i++) {
        long t = (*turn)++;
        uint8_t *f = out[i];
        memcpy(f, r->frames[t % r->nframes], r->frame_len);
        long q = seq + i;
        if (r->churn_base) { /* the next port of this source */
            int port = r->churn_base + (int)((t / r->nframes) % CHURN_PORTS);
            f[14 + 20] = (uint8_t)(port >> 8);
            f[14 + 20 + 1] = (uint8_t)port;
        }
        memcpy(f + 14 + 20 + 8, &q, sizeof(q)); /* a sequence number */
        iov[i].iov_base = f;
        iov[i].iov_len = r->frame_len;
        msgs[i].msg_hdr.msg_iov = &iov[i];
        msgs[i].msg_hdr.msg_iovlen = 1;
        msgs[i].msg_hdr.msg_name = &r->to;
        msgs[i].msg_hdr.msg_namelen = sizeof(r->to);
    }
    return sendmmsg(r->fd, msgs, (unsigned)b, 0);
}

int main(int argc, char **argv)
{
    char srcs[4096] = "", *dst = NULL, *ifname = NULL;
    bool churn = false;
    int dport = 9, flows = 1, base = 20000, len = 64, opt;
    long count = 1000, rate = 0;
    double seconds = 0;
    while ((opt = getopt(argc, argv, "s:d:P:f:b:n:r:l:t:i:c")) != -1) {
        switch (opt) {
        case 'i': ifname = optarg; break;
        case 'c': churn = true; break;
        case 's': snprintf(srcs, sizeof(srcs), "%s", optarg); break;
        case 'd': dst = optarg; break;
        case 'P': dport = atoi(optarg); break;
        case 'f': flows = atoi(optarg); break;
        case 'b': base = atoi(optarg); break;
        case 'n': count = atol(optarg); break;
        case 'r': rate = atol(optarg); break;
        case 'l': len = atoi(optarg); break;
        case 't': seconds = atof(optarg); break;
        default:
            fprintf(stderr, "usage: udpgen -s SRC[,SRC...] -d DST [-P port] [-f flows] "
                    "[-b base] [-n count] [-r pps] [-l len] [-t seconds] [-i IFACE [-c]]\n");
            return 2;
        }
    }
    if (!dst || !*srcs || flows < 1 || len < 1 || len > 1400) {
        fprintf(stderr, "udpgen: -s and -d are needed (try without arguments)\n");
        return 2;
    }
    static int fds[MAX_SOCKS];
    int n = 0;
    struct raw_out raw = { .fd = -1 };
    if (churn && (!ifname || base < 1 || base + CHURN_PORTS > 65536)) {
        fprintf(stderr, "udpgen: -c needs -i, and -b at most %d\n", 65536 - CHURN_PORTS);
        return 2;
    }
    if (ifname) {
        raw_open(&raw, ifname, srcs, dst, churn ? 1 : flows, base, dport, len);
        raw.churn_base = churn ? base : 0;
        n = raw.nframes;
    } else {
        for (char *s = strtok(srcs, ","); s; s = strtok(NULL, ","))
            for (int i = 0; i < flows && n < MAX_SOCKS; i++)
                fds[n++] = open_flow(s, base + i);
    }
    struct sockaddr_in to = { .sin_family = AF_INET, .sin_port = htons((uint16_t)dport) };
    if (inet_pton(AF_INET, dst, &to.sin_addr) != 1) {
        fprintf(stderr, "udpgen: bad destination %s\n", dst);
        return 2;
    }
    static char payload[BATCH][1400];
    struct mmsghdr msgs[BATCH];
    struct iovec iov[BATCH];
    memset(msgs, 0, sizeof(msgs));
    for (int i = 0; i < BATCH; i++) {
        memset(payload[i], 'x', sizeof(payload[i]));
        iov[i].iov_base = payload[i];
        iov[i].iov_len = (size_t)len;
        msgs[i].msg_hdr.msg_iov = &iov[i];
        msgs[i].msg_hdr.msg_iovlen = 1;
        msgs[i].msg_hdr.msg_name = &to;
        msgs[i].msg_hdr.msg_namelen = sizeof(to);
    }
    long sent = 0, turn = 0;
    double t0 = now();
    while (count ? sent < count : now() - t0 < seconds) {
        long allowed = rate ? (long)((now() - t0) * (double)rate) - sent + 1 : BATCH;
        if (allowed <= 0) {
            usleep(50);
            continue;
        }
        int b = allowed < BATCH ? (int)allowed : BATCH;
        if (count && count - sent < b)
            b = (int)(count - sent);
        int k;
        if (ifname) {
            k = raw_send(&raw, &turn, b, sent);
        } else {
            for (int i = 0; i < b; i++) {
                long seq = sent + i;
                memcpy(payload[i], &seq, sizeof(seq));   /* a sequence number */
            }
            k = sendmmsg(fds[turn++ % n], msgs, (unsigned)b, 0);
        }
        if (k < 0 && errno != ENOBUFS && errno != EAGAIN && errno != ECONNREFUSED) {
            fprintf(stderr, "udpgen: send: %s\n", strerror(errno));
            return 1;
        }
        sent += k > 0 ? k : 0;
        if (k <= 0)
            usleep(10);
    }
    double dt = now() - t0;
    printf("sent %ld packets in %.2f s (%.0f pps) over %d flows\n", sent, dt,
           dt > 0 ? (double)sent / dt : 0.0, n);
    return 0;
}
