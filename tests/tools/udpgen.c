/* udpgen.c -- a UDP traffic generator for live-capture tests and the
 * capture benchmark: from each source address, FLOWS flows (source ports
 * BASE, BASE+1, ...) to DST:PORT, packets sent round-robin over all flows
 * at RATE packets per second (0: as fast as it can) in sendmmsg batches
 * of up to 32 per flow, until
 * COUNT packets or SECONDS have gone. Prints what it sent. Meant to run
 * inside a network namespace the test made; it sends only to the address
 * it is given.
 *
 *   udpgen -s 10.231.0.2,10.231.0.3 -d 10.231.0.1 -P 7 -f 10 -n 1000 -r 0 -l 64
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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

int main(int argc, char **argv)
{
    char srcs[4096] = "", *dst = NULL;
    int dport = 9, flows = 1, base = 20000, len = 64, opt;
    long count = 1000, rate = 0;
    double seconds = 0;
    while ((opt = getopt(argc, argv, "s:d:P:f:b:n:r:l:t:")) != -1) {
        switch (opt) {
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
                    "[-b base] [-n count] [-r pps] [-l len] [-t seconds]\n");
            return 2;
        }
    }
    if (!dst || !*srcs || flows < 1 || len < 1 || len > 1400) {
        fprintf(stderr, "udpgen: -s and -d are needed (try without arguments)\n");
        return 2;
    }
    static int fds[MAX_SOCKS];
    int n = 0;
    for (char *s = strtok(srcs, ","); s; s = strtok(NULL, ","))
        for (int i = 0; i < flows && n < MAX_SOCKS; i++)
            fds[n++] = open_flow(s, base + i);
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
        for (int i = 0; i < b; i++) {
            long seq = sent + i;
            memcpy(payload[i], &seq, sizeof(seq));   /* a sequence number */
        }
        int k = sendmmsg(fds[turn++ % n], msgs, (unsigned)b, 0);
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
