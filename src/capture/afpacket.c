/* afpacket.c -- AF_PACKET TPACKET_V3 capture with fanout (see afpacket.h). */
#include "capture/afpacket.h"

#include <arpa/inet.h>
#include <errno.h>
#include <linux/filter.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <net/if_arp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include <pcap/pcap.h>

#define BLOCK_SIZE (1u << 20)
#define FRAME_SIZE 2048u
#define RETIRE_MS 50

struct afpacket {
    int fd;
    uint8_t *ring;
    size_t ring_len;
    uint32_t n_blocks;
    uint32_t block;              /* the block being read */
    uint32_t left;               /* its frames not yet handed out */
    struct tpacket3_hdr *next;   /* the next of them */
    bool holding;                /* the current block is ours */
    int linktype;
    bool loopback;               /* lo: each packet is seen leaving too */
    int timeout_ms;
    uint32_t snaplen;
    volatile sig_atomic_t stop;
    struct capture_stats total;  /* PACKET_STATISTICS resets when read */
    uint8_t *vlan_buf;           /* a frame with its 802.1Q tag put back */
};

static bool fail(char *err, size_t errlen, const char *iface, const char *what)
{
    snprintf(err, errlen, "%s: %s: %s", iface, what, strerror(errno));
    return false;
}

/* DLT of the interface, from its ARP hardware type; -1 when unsupported. */
static int linktype_of(int fd, const char *iface, bool *loopback)
{
    struct ifreq ifr;
    memset(&ifr, 0, sizeof(ifr));
    snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", iface);
    if (ioctl(fd, SIOCGIFHWADDR, &ifr) != 0)
        return -1;
    *loopback = ifr.ifr_hwaddr.sa_family == ARPHRD_LOOPBACK;
    switch (ifr.ifr_hwaddr.sa_family) {
    case ARPHRD_ETHER:
    case ARPHRD_LOOPBACK:
        return DLT_EN10MB;
    case ARPHRD_NONE:
        return DLT_RAW;
    default:
        return -1;
    }
}

static bool attach_filter(struct afpacket *a, const struct afpacket_config *c,
                          char *err, size_t errlen)
{
    if (!c->bpf || !*c->bpf)
        return true;
    pcap_t *dead = pcap_open_dead(a->linktype, (int)a->snaplen);
    struct bpf_program prog;
    if (!dead || pcap_compile(dead, &prog, c->bpf, 1, PCAP_NETMASK_UNKNOWN) != 0) {
        snprintf(err, errlen, "bad BPF filter '%s': %s", c->bpf,
                 dead ? pcap_geterr(dead) : "out of memory");
        if (dead)
            pcap_close(dead);
        return false;
    }
    struct sock_fprog fp = { (unsigned short)prog.bf_len,
                             (struct sock_filter *)prog.bf_insns };
    int rc = setsockopt(a->fd, SOL_SOCKET, SO_ATTACH_FILTER, &fp, sizeof(fp));
    pcap_freecode(&prog);
    pcap_close(dead);
    return rc == 0 || fail(err, errlen, c->iface, "cannot attach the BPF filter");
}

/* A fanout program that returns a symmetric hash of the IP address pair
 * (IPv4: src ^ dst; IPv6: the eight words xored), folded; the kernel takes
 * it modulo the group's size. Other packets go to the first socket. */
static const struct sock_filter pair_prog[] = {
#define LDW(off) BPF_STMT(BPF_LD | BPF_W | BPF_ABS, SKF_NET_OFF + (off))
    BPF_STMT(BPF_LD | BPF_H | BPF_ABS, SKF_AD_OFF + SKF_AD_PROTOCOL),
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, ETH_P_IP, 0, 5),
    LDW(12), BPF_STMT(BPF_MISC | BPF_TAX, 0), LDW(16),
    BPF_STMT(BPF_ALU | BPF_XOR | BPF_X, 0),
    BPF_JUMP(BPF_JMP | BPF_JA, 24, 0, 0),   /* to the fold */
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, ETH_P_IPV6, 1, 0),
    BPF_STMT(BPF_RET | BPF_K, 0),
    LDW(8), BPF_STMT(BPF_MISC | BPF_TAX, 0),
    LDW(12), BPF_STMT(BPF_ALU | BPF_XOR | BPF_X, 0), BPF_STMT(BPF_MISC | BPF_TAX, 0),
    LDW(16), BPF_STMT(BPF_ALU | BPF_XOR | BPF_X, 0), BPF_STMT(BPF_MISC | BPF_TAX, 0),
    LDW(20), BPF_STMT(BPF_ALU | BPF_XOR | BPF_X, 0), BPF_STMT(BPF_MISC | BPF_TAX, 0),
    LDW(24), BPF_STMT(BPF_ALU | BPF_XOR | BPF_X, 0), BPF_STMT(BPF_MISC | BPF_TAX, 0),
    LDW(28), BPF_STMT(BPF_ALU | BPF_XOR | BPF_X, 0), BPF_STMT(BPF_MISC | BPF_TAX, 0),
    LDW(32), BPF_STMT(BPF_ALU | BPF_XOR | BPF_X, 0), BPF_STMT(BPF_MISC | BPF_TAX, 0),
    LDW(36), BPF_STMT(BPF_ALU | BPF_XOR | BPF_X, 0),
    /* fold: A ^= A >> 16 */
    BPF_STMT(BPF_MISC | BPF_TAX, 0),
    BPF_STMT(BPF_ALU | BPF_RSH | BPF_K, 16),
    BPF_STMT(BPF_ALU | BPF_XOR | BPF_X, 0),
    BPF_STMT(BPF_RET | BPF_A, 0),
#undef LDW
};

static bool join_fanout(struct afpacket *a, const struct afpacket_config *c,
                        char *err, size_t errlen)
{
    if (c->fanout == AFP_FANOUT_NONE)
        return true;
    int mode = c->fanout == AFP_FANOUT_HASH
                   ? PACKET_FANOUT_HASH | PACKET_FANOUT_FLAG_DEFRAG
                   : PACKET_FANOUT_CBPF;
    int arg = (int)c->fanout_group | mode << 16;
    if (setsockopt(a->fd, SOL_PACKET, PACKET_FANOUT, &arg, sizeof(arg)) != 0)
        return fail(err, errlen, c->iface, "cannot join the fanout group");
    if (c->fanout != AFP_FANOUT_PAIR)
        return true;
    struct sock_fprog fp = { sizeof(pair_prog) / sizeof(pair_prog[0]),
                             (struct sock_filter *)pair_prog };
    return setsockopt(a->fd, SOL_PACKET, PACKET_FANOUT_DATA, &fp, sizeof(fp)) == 0 ||
           fail(err, errlen, c->iface, "cannot set the fanout program");
}

static bool setup_ring(struct afpacket *a, const struct afpacket_config *c,
                       char *err, size_t errlen)
{
    int v = TPACKET_V3;
    if (setsockopt(a->fd, SOL_PACKET, PACKET_VERSION, &v, sizeof(v)) != 0)
        return fail(err, errlen, c->iface, "TPACKET_V3 is not available");
    a->n_blocks = c->ring_mb ? c->ring_mb : 64;
    struct tpacket_req3 req;
    memset(&req, 0, sizeof(req));
    req.tp_block_size = BLOCK_SIZE;
    req.tp_block_nr = a->n_blocks;
    req.tp_frame_size = FRAME_SIZE;
    req.tp_frame_nr = (BLOCK_SIZE / FRAME_SIZE) * a->n_blocks;
    req.tp_retire_blk_tov = RETIRE_MS;
    if (setsockopt(a->fd, SOL_PACKET, PACKET_RX_RING, &req, sizeof(req)) != 0)
        return fail(err, errlen, c->iface, "cannot set up the capture ring");
    a->ring_len = (size_t)BLOCK_SIZE * a->n_blocks;
    a->ring = mmap(NULL, a->ring_len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_LOCKED,
                   a->fd, 0);
    if (a->ring == MAP_FAILED)      /* locked memory may be limited */
        a->ring = mmap(NULL, a->ring_len, PROT_READ | PROT_WRITE, MAP_SHARED, a->fd, 0);
    if (a->ring == MAP_FAILED) {
        a->ring = NULL;
        return fail(err, errlen, c->iface, "cannot map the capture ring");
    }
    return true;
}

static bool bind_iface(struct afpacket *a, const struct afpacket_config *c,
                       char *err, size_t errlen)
{
    unsigned idx = if_nametoindex(c->iface);
    if (!idx)
        return fail(err, errlen, c->iface, "no such interface");
    struct sockaddr_ll sll;
    memset(&sll, 0, sizeof(sll));
    sll.sll_family = AF_PACKET;
    sll.sll_protocol = htons(ETH_P_ALL);
    sll.sll_ifindex = (int)idx;
    if (bind(a->fd, (struct sockaddr *)&sll, sizeof(sll)) != 0)
        return fail(err, errlen, c->iface, "cannot bind");
    if (!c->promisc)
        return true;
    struct packet_mreq mr;
    memset(&mr, 0, sizeof(mr));
    mr.mr_ifindex = (int)idx;
    mr.mr_type = PACKET_MR_PROMISC;
    return setsockopt(a->fd, SOL_PACKET, PACKET_ADD_MEMBERSHIP, &mr, sizeof(mr)) == 0 ||
           fail(err, errlen, c->iface, "cannot set promiscuous mode");
}

struct afpacket *afpacket_open(const struct afpacket_config *c, char *err,
                               size_t errlen)
{
    struct afpacket *a = calloc(1, sizeof(*a));
    if (!a) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    a->snaplen = c->snaplen ? c->snaplen : 262144;
    a->timeout_ms = c->timeout_ms ? c->timeout_ms : 200;
    /* the filter and the ring first, bound last: no packet before both */
    a->fd = socket(AF_PACKET, SOCK_RAW, 0);
    bool ok = a->fd >= 0 || fail(err, errlen, c->iface, "cannot open a packet socket");
    if (ok && (a->linktype = linktype_of(a->fd, c->iface, &a->loopback)) < 0) {
        snprintf(err, errlen, "%s: not an Ethernet, loopback or raw IP interface "
                 "(capture.method: pcap reads the others)", c->iface);
        ok = false;
    }
    ok = ok && attach_filter(a, c, err, errlen) && setup_ring(a, c, err, errlen) &&
         bind_iface(a, c, err, errlen) && join_fanout(a, c, err, errlen);
    if (ok && !(a->vlan_buf = malloc(a->snaplen + 4))) {
        snprintf(err, errlen, "out of memory");
        ok = false;
    }
    if (!ok) {
        afpacket_close(a);
        return NULL;
    }
    return a;
}

void afpacket_close(struct afpacket *a)
{
    if (!a)
        return;
    if (a->ring)
        munmap(a->ring, a->ring_len);
    if (a->fd >= 0)
        close(a->fd);
    free(a->vlan_buf);
    free(a);
}

int afpacket_linktype(const struct afpacket *a) { return a->linktype; }
void afpacket_break(struct afpacket *a) { a->stop = 1; }

static struct tpacket_block_desc *block_at(struct afpacket *a, uint32_t i)
{
    return (struct tpacket_block_desc *)(a->ring + (size_t)i * BLOCK_SIZE);
}

/* Hands the block read back to the kernel and moves to the next one. */
static void release_block(struct afpacket *a)
{
    if (!a->holding)
        return;
    __atomic_store_n(&block_at(a, a->block)->hdr.bh1.block_status,
                     TP_STATUS_KERNEL, __ATOMIC_RELEASE);
    a->holding = false;
    a->block = (a->block + 1) % a->n_blocks;
}

/* Takes the current block when the kernel has filled it. */
static bool take_block(struct afpacket *a)
{
    struct tpacket_block_desc *b = block_at(a, a->block);
    if (!(__atomic_load_n(&b->hdr.bh1.block_status, __ATOMIC_ACQUIRE) & TP_STATUS_USER))
        return false;
    a->holding = true;
    a->left = b->hdr.bh1.num_pkts;
    a->next = (struct tpacket3_hdr *)((uint8_t *)b + b->hdr.bh1.offset_to_first_pkt);
    return true;
}

/* An 802.1Q tag the kernel took off, put back after the MAC addresses. */
static const uint8_t *with_vlan(struct afpacket *a, const struct tpacket3_hdr *h,
                                const uint8_t *frame, uint32_t *caplen,
                                uint32_t *wirelen)
{
    if (!(h->tp_status & TP_STATUS_VLAN_VALID) || a->linktype != DLT_EN10MB ||
        *caplen < 12 || *caplen > a->snaplen)   /* vlan_buf: snaplen + 4 */
        return frame;
    uint16_t tpid = (h->tp_status & TP_STATUS_VLAN_TPID_VALID) ? h->hv1.tp_vlan_tpid
                                                               : ETH_P_8021Q;
    uint8_t *o = a->vlan_buf;
    memcpy(o, frame, 12);
    o[12] = (uint8_t)(tpid >> 8);
    o[13] = (uint8_t)tpid;
    o[14] = (uint8_t)(h->hv1.tp_vlan_tci >> 8);
    o[15] = (uint8_t)h->hv1.tp_vlan_tci;
    memcpy(o + 16, frame + 12, *caplen - 12);
    *caplen += 4;
    *wirelen += 4;
    return o;
}

/* On the loopback device a packet is seen going out and coming in: the
 * outgoing copy is skipped, as libpcap does. */
static bool duplicate(const struct afpacket *a, const struct tpacket3_hdr *h)
{
    if (!a->loopback)
        return false;
    const struct sockaddr_ll *sll =
        (const struct sockaddr_ll *)((const uint8_t *)h +
                                     TPACKET_ALIGN(sizeof(struct tpacket3_hdr)));
    return sll->sll_pkttype == PACKET_OUTGOING;
}

static void skip(struct afpacket *a)
{
    struct tpacket3_hdr *h = a->next;
    a->left--;
    a->next = (struct tpacket3_hdr *)((uint8_t *)h + h->tp_next_offset);
}

static void fill(struct afpacket *a, struct packet *p)
{
    struct tpacket3_hdr *h = a->next;
    uint32_t caplen = h->tp_snaplen, wirelen = h->tp_len;
    const uint8_t *frame = (const uint8_t *)h + h->tp_mac;
    p->frame = with_vlan(a, h, frame, &caplen, &wirelen);
    p->cap_len = caplen;
    p->wire_len = wirelen;
    p->ts_usec = (uint64_t)h->tp_sec * 1000000u + h->tp_nsec / 1000u;
    p->linktype = a->linktype;
    skip(a);
}

/* A frame ready to read at a->next (the block taken, frames left). */
static enum capture_result next_frame(struct afpacket *a)
{
    if (a->holding && a->left == 0)
        release_block(a);
    while (!a->holding) {
        if (a->stop)
            return CAPTURE_TIMEOUT;
        if (take_block(a)) {
            if (a->left)
                break;
            release_block(a);        /* an empty block the timer retired */
            continue;
        }
        struct pollfd pfd = { a->fd, POLLIN, 0 };
        int rc = poll(&pfd, 1, a->timeout_ms);
        if (rc < 0 && errno != EINTR)
            return CAPTURE_BROKEN;
        if (rc <= 0)
            return CAPTURE_TIMEOUT;     /* idle, or a signal arrived */
    }
    return CAPTURE_PACKET;
}

enum capture_result afpacket_next(struct afpacket *a, struct packet *p)
{
    for (;;) {
        enum capture_result r = next_frame(a);
        if (r != CAPTURE_PACKET)
            return r;
        if (!duplicate(a, a->next))
            break;
        skip(a);
    }
    fill(a, p);
    return CAPTURE_PACKET;
}

bool afpacket_stats(struct afpacket *a, struct capture_stats *out)
{
    struct tpacket_stats_v3 st;
    socklen_t len = sizeof(st);
    if (getsockopt(a->fd, SOL_PACKET, PACKET_STATISTICS, &st, &len) != 0)
        return false;
    /* tp_packets counts the dropped ones too */
    a->total.received += st.tp_packets;
    a->total.dropped += st.tp_drops;
    *out = a->total;
    return true;
}
