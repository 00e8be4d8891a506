/* workers.c -- the packet threads (see workers.h): N workers, and a
 * reader when they do not read the input themselves.
 *
 * Owns: the threads, one ring per worker (util/spsc.h, WORKER_RING_BYTES),
 * the shard of every packet, the clock every worker is given, the plan's
 * pass over a file (the plan itself: placement.c), and merging what the
 * workers counted. It never looks at a packet past its IP and transport
 * headers, and never touches a worker's pipeline while that worker may
 * run: whatever reads or changes a pipeline from the main thread (stats,
 * SIGHUP, a file's secrets) first waits until every ring is drained
 * (quiesce()), and the workers are then asleep.
 *
 * Two ways in. A regular file is read by every worker itself
 * (workers_read_file, WMSG_FILE): each walks every record with its own
 * handle (a classic pcap in place, capture/pcap_map.c, one mapping for
 * the plan's pass and every worker; else libpcap) and
 * its own copy of the input state (struct input_state:
 * the packet count, the clock, the fragments), fed the same packets in
 * the same order, so every copy shards and ticks alike; a worker handles
 * its own packets, learns the others' DNS answers and notes, from the
 * others' packets, a server of its own answering another worker's
 * internal client (note_server: where the server's profile starts, so it
 * is not still learning when it first acts as a client). Stdin, pipes and
 * live capture go through the reader (the main thread), which copies each
 * frame into its worker's ring.
 *
 * The shard: the outer IP addresses, without a full decode. The key is the
 * internal host when exactly one end is in anomaly.home-nets; between two
 * internal hosts the client's (ports_client; a TCP connection whose SYN
 * came from the lower port, turned_client; UDP on one port at both ends,
 * even_client; a fragment takes its first fragment's, frag_client), else
 * the unordered pair of addresses. So both
 * directions of a flow, its IP fragments, every flow between two hosts (eta pair
 * history, c2_channel pairs, ICMP tunnel pairs) and -- the reason for
 * preferring the internal host to the pair -- everything one internal host
 * does with the outside (its baselines and behaviour models, its C2
 * client-level evidence, its incident) sit on one worker, with no lock and
 * no queue between them. The cost: one busy host is one worker's load; a
 * 5-tuple hash would spread better but would cut every host-level state
 * in N pieces. Which worker an internal host gets is placement.c's plan
 * (load, and hosts joined by an admin session kept together), made from a
 * pass over a file's headers before the workers read it (in parts, a
 * thread each, plan_split), else its hash.
 * Tunnels are sharded by their outer addresses (a UDP tunnel by the pair:
 * its source port differs each way); PPPoE, 802.11 and other link types
 * not read here go to worker 0.
 *
 * The one state that joins hosts on the packet path is the passive DNS
 * cache (a flow is named from any host's answer). Every UDP datagram from
 * or to a DNS port goes to its owner and, as a WMSG_DNS, to every other
 * worker, which only learns its answers (pipeline_learn_dns): in input
 * order on every ring, so each cache holds what the one pipeline's would
 * when a flow looks its server up.
 *
 * Time: one pipeline expires flows at checkpoints made once a second of
 * packet time, and does its periodic work (idle incidents, feeds) every
 * 1024 packets. A worker would make them from its own packets only, at
 * other times, and a flow's end reason would change (timeout with one
 * worker, shutdown with two). So they are made over the whole input
 * (clock_of: the one pipeline's checkpoint rule), by the reader, which
 * sends every worker a CLOCK message at each checkpoint and a PERIODIC one
 * every 1024 packets before the packet that made it, or by each worker's
 * copy of the input state; workers' pipelines are "driven"
 * (pipeline_set_driven) and make none of their own.
 *
 * Waiting: a worker with an empty ring sleeps on a semaphore, after saying
 * so (sleeping = 1, then a second look); the reader rings it after a commit
 * when it sleeps. A full ring makes the reader wait in file mode (nothing
 * is lost by waiting) and drop the packet, counted, when live. While the
 * workers read a file, the main thread sleeps on file_done.
 */
#include "sensor/workers.h"

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <semaphore.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/stat.h>
#include <unistd.h>

#include "capture/pcap_map.h"
#include "detect/home_net.h"
#include "output/sink.h"
#include "sensor/pipeline.h"
#include "sensor/placement.h"
#include "util/clock.h"
#include "util/counters.h"
#include "util/hash.h"
#include "util/spsc.h"
#include "util/table_mem.h"

#define WORKER_RING_BYTES (8u << 20) /* per worker: ~5,000 full-size frames */
#define WORKERS_MAX 64
#define FRAG_SLOTS 1024        /* datagrams in fragments, at once */
#define TURNED_SLOTS 8192      /* connections opened from the lower port */
#define EVEN_SLOTS 1024        /* UDP flows on one port at both ends, at once */
#define SERVERS_NOTED 1024     /* servers each worker remembers noting */
/* What a plan weighs a host's work by, in bytes' worth: each byte, each
 * packet, and each connection it starts (a flow's set-up and end: its
 * EVE record, the model's score, the baselines). Measured per host with
 * one worker on bench/run.sh's capture (cycles in the packet path and at
 * flow end, fitted to the three counts): about 12 cycles a byte, 1,600 a
 * packet, 52,000 a connection. Packets and bytes alone left a host of
 * many short connections (DNS) far heavier than its plan said. (Per flow,
 * a cleartext byte costs more than an encrypted one -- the parsers, the
 * files' digests and YARA -- but weighing the two apart balanced the two
 * workers no better over that capture.) */
#define PACKET_WEIGHT 150
#define CONN_WEIGHT 4000
#define PLAN_CONN_SLOTS 65536  /* connections the plan's pass tells apart */
#define PLAN_KEEP (256u << 20) /* a file's first bytes the plan leaves mapped for the workers */
#define PLAN_PARTS_MAX 8       /* threads that walk a file for its plan, at most */
#define PLAN_PART_MIN (16u << 20) /* bytes a part of the plan's pass, at least */

enum wmsg_kind {
    WMSG_PACKET,    /* a frame follows the header */
    WMSG_DNS,       /* another worker's DNS answer follows: learn it */
    WMSG_SERVER,    /* a packet of another worker's follows, from a server
                       of this worker's answering: note it (note_server) */
    WMSG_CLOCK,     /* a flow-expiry checkpoint at ts */
    WMSG_PERIODIC,  /* the work of every 1024th packet, at ts */
    WMSG_TICK,      /* live, idle: time goes on (wall clock) */
    WMSG_STOP,      /* the input ended at ts: end every flow */
    WMSG_FILE,      /* read ws->job's file, every packet of it */
    WMSG_EXIT,      /* free the pipeline and leave */
};

struct wmsg {
    uint32_t kind;
    int32_t linktype;
    uint64_t ts_usec;
    uint64_t nth;           /* the packet's number in the whole input */
    uint32_t wire_len, cap_len;
};

/* What is kept over the whole input to shard packets and make the one
 * pipeline's clock: the packet count, the checkpoints, fragmented datagrams
 * between internal hosts. The reader keeps it; when every worker reads a
 * file itself (workers_read_file), each keeps a copy, fed the same packets
 * in the same order, so every copy decides the same. */
struct input_state {
    uint64_t nth;              /* packets dispatched */
    uint64_t next_clock;       /* the one pipeline's next checkpoint */
    uint64_t last_usec;
    struct frag_slot {         /* fragmented datagrams between internal hosts */
        uint64_t key;          /* 0: free */
        int8_t client;         /* ports_client() of the first fragment */
    } frags[FRAG_SLOTS];
    uint64_t frags_unplaced;   /* a fragment ahead of its first: by the pair */
    uint64_t frags_displaced;  /* a datagram's slot taken before its last */
    struct turned_slot {       /* TCP between internal hosts opened from the
                                  lower port (turned_client) */
        uint64_t key;          /* the connection's; 0: free */
        uint64_t client;       /* the client's address and port */
    } turned[TURNED_SLOTS];
    uint64_t turned_seen;      /* connections turned round */
    uint64_t turned_displaced; /* a turned connection's slot taken */
    struct even_slot {         /* UDP between internal hosts on one port at
                                  both ends (even_client) */
        uint64_t key;          /* the flow's; 0: free */
        uint64_t client;       /* its first datagram's sender and port */
        uint64_t last_usec;
        bool both;             /* the other end has answered */
    } even[EVEN_SLOTS];
    uint64_t even_seen;        /* such flows */
    uint64_t even_displaced;   /* a live one's slot taken */
};

/* A file every worker reads from start to end (workers_read_file). */
struct file_job {
    const char *path, *bpf;
    const volatile sig_atomic_t *stop;
};

struct worker {
    pthread_t thread;
    unsigned index;
    struct workers *ws;
    bool started;
    struct pipeline *pl;
    struct eve *eve;           /* its own buffer, the shared sink */
    struct spsc ring;
    uint64_t pushed;           /* reader: messages published */
    _Atomic uint64_t done;     /* worker: messages handled */
    _Atomic int sleeping;
    sem_t bell;
    bool bell_made;
    double cpu_sec;            /* the thread's CPU time, when it ended */
    uint64_t read_usec;        /* wall time reading files (WMSG_FILE), all files */
    struct nj_config *cfg;     /* its settings (worker_quiet but the first) */
    char build_error[256];     /* its pipeline could not be made: why */
    struct input_state in;     /* its copy while it reads a file itself */
    uint64_t servers_noted[SERVERS_NOTED]; /* note_server's, by host key */
    unsigned reload_seen;      /* ws->reload_gen acted on */
    uint64_t file_packets;     /* read from the last file */
    bool file_broken;          /* it ended damaged ... */
    char file_error[256];      /* ... so */
};

struct workers {
    unsigned n;
    bool live;
    struct pipeline *single;   /* n == 1: no thread, no ring */
    struct eve *eve;           /* the sink's owner (main's) */
    struct worker *w;
    struct home_net home;
    uint64_t udp_new_usec;     /* the flow table's timeouts: UDP unanswered, */
    uint64_t established_usec[3]; /* and TCP, UDP, other established
                                     (even_client, plan_new_conn) */
    struct placement *place;   /* internal hosts' workers */
    uint64_t servers_noted[SERVERS_NOTED]; /* the reader's note_server */
    struct input_state in;     /* the reader's (a file every worker reads:
                                  worker 0's copy after it) */
    uint64_t drops;            /* live: rings full */
    bool finished;
    struct file_job job;       /* the file every worker reads (WMSG_FILE) */
    sem_t file_done;           /* posted by each worker at a file's end */
    bool file_done_made;
    atomic_uint reload_gen;    /* SIGHUP while the workers read a file */
    pthread_mutex_t build_lock; /* one pipeline made at a time: the
                                   modules' set-up was written for one
                                   thread (libyara's is also locked in
                                   content.c, for the ICAP server) */
    bool build_lock_made;
    char *planned;             /* the file workers_start planned, to read */
    struct pcap_map *plan_map; /* the plan's handle on it, open until the
                                * workers have read it: they walk the pages
                                * it kept mapped (pcap_map_keep) */
    uint64_t plan_usec;        /* wall time of the plans' passes, all files */
    uint64_t plan_parts;       /* parts the plans' passes were walked in, all files */
    uint64_t plan_conns_displaced; /* plans' connections forgotten: the
                                      table was full (counted again) */
};

/* ---- the shard ----------------------------------------------------------- */

static uint16_t be16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }

/* MPLS labels from off to the bottom of the stack, then IPv4 or IPv6 by
 * its version nibble, as decode_link.c reads them; -1: anything else (a
 * pseudowire) or cut short. */
static long mpls_ip(const uint8_t *d, size_t n, size_t off)
{
    for (int i = 0; i < 16 && off + 4 <= n; i++, off += 4)
        if (d[off + 2] & 1) {
            off += 4;
            if (off < n && (d[off] >> 4 == 4 || d[off] >> 4 == 6))
                return (long)off;
            return -1;
        }
    return -1;
}

/* From an EtherType at off (after any VLAN and QinQ tags): where the IP
 * header starts, MPLS labels skipped; -1: IP may be inside but is not read
 * here (PPPoE, NSH, an MPLS pseudowire, ...); -2: no IP (ARP, LLDP, 802.3
 * frames with LLC: STP, ...). */
static long ether_ip(const uint8_t *d, size_t n, size_t off)
{
    while (off + 2 <= n && (be16(d + off) == 0x8100 ||
                            be16(d + off) == 0x88a8 ||
                            be16(d + off) == 0x9100))
        off += 4;
    if (off + 2 > n)
        return -1;
    uint16_t type = be16(d + off);
    if (type == 0x0800 || type == 0x86dd)
        return (long)(off + 2);
    if (type == 0x8847 || type == 0x8848)
        return mpls_ip(d, n, off + 2);
    return type == 0x8864 || type == 0x894f || type == 0x8909
               ? -1 : -2; /* LLC (STP, ...): -2 */
}

/* BSD null (host byte order, either) and loopback (network order): the
 * address family says IPv4 or IPv6 (24, 28 or 30, by BSD). */
static long null_ip(const uint8_t *d, size_t n, bool network_order)
{
    if (n < 4)
        return -1;
    uint32_t fam = network_order
        ? (uint32_t)d[0] << 24 | (uint32_t)d[1] << 16 | (uint32_t)d[2] << 8 | d[3]
        : (uint32_t)d[3] << 24 | (uint32_t)d[2] << 16 | (uint32_t)d[1] << 8 | d[0];
    if (!network_order && (fam & 0xffff) == 0 && fam != 0)
        fam = __builtin_bswap32(fam); /* written on a big-endian host */
    return fam == 2 || fam == 24 || fam == 28 || fam == 30 ? 4 : -2;
}

/* Where the IP header starts, as decode_link.c would find it for the
 * common link types; -1: not read here (IP may be inside: the link types
 * it does not know, GRE in Linux cooked), -2: a frame with no IP. The
 * clock's 1024-packet count (reaches_flows) depends on -2 being right. */
static long ip_offset(const struct packet *p)
{
    const uint8_t *d = p->frame;
    size_t n = p->cap_len;
    switch (p->linktype) {
    case 1: return ether_ip(d, n, 12);               /* Ethernet */
    case 113:                                        /* Linux cooked */
        return n >= 16 && be16(d + 2) == 778 ? -1 : ether_ip(d, n, 14);
    case 276:                                        /* Linux cooked v2 */
        if (n < 20 || be16(d + 8) == 778)
            return -1;
        return be16(d) == 0x0800 || be16(d) == 0x86dd ? 20
             : be16(d) == 0x0806 ? -2 : -1;
    case 0: return null_ip(d, n, false);             /* BSD null */
    case 108: return null_ip(d, n, true);            /* BSD loopback */
    case 12: case 14: case 101: case 228: case 229: return 0; /* raw IP */
    default: return -1;
    }
}

static uint64_t addr_hash(const struct ip_addr *a)
{
    uint64_t x, y;
    memcpy(&x, a->b, 8);
    memcpy(&y, a->b + 8, 8);
    return fmix64(x ^ fmix64(y));
}

/* Between two internal hosts (a workstation and the internal resolver,
 * file server, domain controller), the client is the host whose state
 * matters: its DNS answers name its later flows. The client is the end
 * with the higher TCP or UDP port (ephemeral against well-known), read
 * from the transport header at l4; 0: the source, 1: the destination,
 * -1: cannot tell (equal ports, another protocol, too short). */
static int ports_client(const uint8_t *l4, size_t avail, uint8_t proto)
{
    if ((proto != 6 && proto != 17) || avail < 4)
        return -1;
    uint16_t sp = be16(l4), dp = be16(l4 + 2);
    return sp > dp ? 0 : dp > sp ? 1 : -1;
}

/* An IP fragment: its datagram's key, whether it is the first (offset 0:
 * the transport header at l4) and the last (no more fragments). */
struct frag_info {
    uint64_t key;
    bool first, last;
    size_t l4;
    uint8_t proto;
};

static bool frag_of(const uint8_t *ip, size_t left, uint8_t v,
                    const struct ip_addr *src, const struct ip_addr *dst,
                    struct frag_info *fi)
{
    uint32_t id;
    if (v == 4) {
        uint16_t fo = be16(ip + 6);
        if (!(fo & 0x3fff))
            return false;
        fi->first = (fo & 0x1fff) == 0;
        fi->last = !(fo & 0x2000);
        id = be16(ip + 4);
        fi->proto = ip[9];
        fi->l4 = (size_t)(ip[0] & 15) * 4;
    } else {
        if (ip[6] != 44 || left < 48)
            return false;
        uint16_t fo = be16(ip + 42);
        fi->first = (fo & 0xfff8) == 0;
        fi->last = !(fo & 1);
        id = (uint32_t)be16(ip + 44) << 16 | be16(ip + 46);
        fi->proto = ip[40];
        fi->l4 = 48;
    }
    fi->key = fmix64(addr_hash(src) ^ fmix64(addr_hash(dst)) ^
                     ((uint64_t)id << 8 | fi->proto)) | 1;
    return true;
}

/* A TCP or UDP end (address and port) as one number, and a connection's
 * key from its two ends: the same each way, never 0. */
static uint64_t end_key(const struct ip_addr *x, uint16_t port)
{
    return fmix64(addr_hash(x) ^ port);
}

static uint64_t conn_key(uint64_t end_a, uint64_t end_b) { return (end_a + end_b) | 1; }

/* The flow table's established timeout for a protocol (TCP, UDP, other). */
static uint64_t established_usec(const struct workers *ws, uint8_t proto)
{
    return ws->established_usec[proto == 6 ? 0 : proto == 17 ? 1 : 2];
}

/* The client of a TCP packet between two internal hosts, when the ports
 * would name the wrong end: a connection whose SYN came from the lower
 * port (a client with a low ephemeral port, a server on a high one) is
 * remembered from its SYN, and its every packet after it takes the SYN's
 * sender as the client -- the flow table's client, whose profile the flow
 * belongs to. by_ports: what ports_client said. A connection whose SYN
 * went by is never forgotten but when another takes its slot (counted:
 * its packets after that go by the ports, as before). */
static int turned_client(struct input_state *in, const uint8_t *tcp, size_t avail,
                         const struct ip_addr *src, const struct ip_addr *dst,
                         int by_ports)
{
    if (avail < 14)
        return by_ports;
    uint64_t s = end_key(src, be16(tcp)), d = end_key(dst, be16(tcp + 2));
    uint64_t key = conn_key(s, d);
    struct turned_slot *slot = &in->turned[fmix64(key) & (TURNED_SLOTS - 1)];
    bool syn_only = (tcp[13] & 0x12) == 0x02;
    if (syn_only && by_ports != 0) {
        if (slot->key && slot->key != key)
            in->turned_displaced++;
        if (slot->key != key)
            in->turned_seen++;
        slot->key = key;
        slot->client = s;
        return 0;
    }
    if (slot->key != key)
        return by_ports;
    if (syn_only) {            /* the 4-tuple again, opened the usual way */
        slot->key = 0;
        return by_ports;
    }
    return slot->client == s ? 0 : 1;
}

/* The client of a UDP datagram between two internal hosts with the same
 * port at both ends (NetBIOS 137 and 138, NTP 123, IKE 500): the ports
 * cannot tell, and the flow table's client is the flow's first datagram's
 * sender -- whose profile the flow belongs to. Remembered from that
 * datagram until the flow would have timed out (unanswered past
 * flow.timeouts.udp-new, idle past udp-established); a flow whose slot
 * another took while it lived (counted) is then taken up again by its
 * next datagram's sender. */
static int even_client(const struct workers *ws, struct input_state *in,
                       const struct ip_addr *src, const struct ip_addr *dst,
                       uint16_t port, uint64_t ts_usec)
{
    uint64_t s = end_key(src, port), d = end_key(dst, port);
    uint64_t key = conn_key(s, d);
    struct even_slot *e = &in->even[fmix64(key) & (EVEN_SLOTS - 1)];
    bool live = e->key && ts_usec <= e->last_usec + (e->both ? established_usec(ws, 17)
                                                             : ws->udp_new_usec);
    if (live && e->key == key) {
        e->both |= e->client != s;
        e->last_usec = ts_usec;
        return e->client == s ? 0 : 1;
    }
    in->even_displaced += live;
    in->even_seen++;
    *e = (struct even_slot){ key, s, ts_usec, false };
    return 0;
}

/* The client end of a TCP or UDP packet (or first fragment) between two
 * internal hosts, from its transport header at l4 (avail bytes): by_ports
 * (ports_client), but for a TCP connection whose SYN came from the lower
 * port its SYN's sender (turned_client), and for UDP on one port at both
 * ends its first datagram's sender (even_client); -1: cannot tell. */
static int internal_client(const struct workers *ws, struct input_state *in,
                           const uint8_t *l4, size_t avail, uint8_t proto,
                           const struct ip_addr *src, const struct ip_addr *dst,
                           uint64_t ts_usec, int by_ports)
{
    if (proto == 6)
        return turned_client(in, l4, avail, src, dst, by_ports);
    if (proto == 17 && by_ports < 0 && avail >= 4) {
        uint16_t sp = be16(l4), dp = be16(l4 + 2);
        if (sp == dp && !decode_udp_tunnel_port(sp, dp))
            return even_client(ws, in, src, dst, sp, ts_usec);
    }
    return by_ports;
}

/* The client of a fragmented datagram between two internal hosts: the
 * first fragment has the ports, and is remembered until the last one
 * (FRAG_SLOTS datagrams at once, a newer one taking an older one's slot)
 * so that every fragment goes where the connection's other packets go.
 * A fragment ahead of its first cannot tell (-1: the pair's worker;
 * counted). */
static int frag_client(const struct workers *ws, struct input_state *in,
                       const struct frag_info *fi, const uint8_t *ip, size_t left,
                       const struct ip_addr *src, const struct ip_addr *dst,
                       uint64_t ts_usec)
{
    struct frag_slot *s = &in->frags[fi->key & (FRAG_SLOTS - 1)];
    if (fi->first) {
        int c = left < fi->l4 ? -1 : ports_client(ip + fi->l4, left - fi->l4, fi->proto);
        if (left >= fi->l4)
            c = internal_client(ws, in, ip + fi->l4, left - fi->l4, fi->proto, src, dst,
                                ts_usec, c);
        if (s->key && s->key != fi->key)
            in->frags_displaced++; /* its other fragments now go by the pair */
        s->key = fi->last ? 0 : fi->key;
        s->client = (int8_t)c;
        return c;
    }
    if (s->key != fi->key) {
        in->frags_unplaced++;
        return -1;
    }
    int c = s->client;
    if (fi->last)
        s->key = 0;
    return c;
}

/* The outer IP header of a frame, found once per packet by the reader
 * and read by the shard, the clock and the DNS copy. */
struct ip_view {
    long off;               /* ip_offset() */
    bool ok;                /* an IPv4 or IPv6 header whole at ip */
    const uint8_t *ip;
    size_t left;            /* bytes from ip to the end of the capture */
    uint8_t v;
    size_t hl;              /* ok: the IP header's length (IPv6: 40) */
    uint8_t proto;          /* ok: what follows it (IPv6: the next header) */
};

static void ip_view(const struct packet *p, struct ip_view *o)
{
    memset(o, 0, sizeof(*o));
    o->off = ip_offset(p);
    if (o->off < 0 || (size_t)o->off >= p->cap_len)
        return;
    o->ip = p->frame + o->off;
    o->left = p->cap_len - (size_t)o->off;
    o->v = o->ip[0] >> 4;
    o->ok = (o->v == 4 && o->left >= 20) || (o->v == 6 && o->left >= 40);
    if (o->ok) {
        o->hl = o->v == 4 ? (size_t)(o->ip[0] & 15) * 4 : 40;
        o->proto = o->v == 4 ? o->ip[9] : o->ip[6];
    }
}

/* The outer addresses, source first, zero-padded to 16 bytes (ok). */
static void ip_addrs(const struct ip_view *o, struct ip_addr *src,
                     struct ip_addr *dst)
{
    size_t alen = o->v == 4 ? 4 : 16, at = o->v == 4 ? 12 : 8;
    memset(src, 0, sizeof(*src));
    memset(dst, 0, sizeof(*dst));
    memcpy(src->b, o->ip + at, alen);
    memcpy(dst->b, o->ip + at + alen, alen);
}

/* An IPv4 fragment, the first or a later one (ok). */
static bool ip_fragment(const struct ip_view *o)
{
    return o->v == 4 && (be16(o->ip + 6) & 0x3fff);
}

/* The client end of a packet that is not a fragment (ports_client; -1
 * with an IPv6 extension header, and for a UDP tunnel: its outer source
 * port is a hash of the inner flow, each way its own, so both directions
 * go by the pair, as GRE and IP-in-IP do). */
static int client_end(const struct ip_view *o)
{
    if (o->left < o->hl + 4)
        return -1;
    const uint8_t *l4 = o->ip + o->hl;
    if (o->proto == 17 && decode_udp_tunnel_port(be16(l4), be16(l4 + 2)))
        return -1;
    return ports_client(l4, o->left - o->hl, o->proto);
}

static bool dns_port(uint16_t port)
{
    return port == 53 || port == 5353 || port == 5355; /* DNS, mDNS, LLMNR */
}

/* Whether the frame may be a DNS answer: UDP from or to a DNS port with
 * the QR bit set, not a fragment, no IPv6 extension header. Every worker
 * learns those into its passive DNS cache, in the order of the input, so
 * a flow is named from any host's answer as with one pipeline (tunnelled
 * DNS and DNS over TCP reach the owner's cache only). */
static bool maybe_dns_answer(const struct ip_view *o)
{
    if (!o->ok)
        return false;
    if (o->proto != 17 || o->left < o->hl + 8 + 3 || ip_fragment(o))
        return false;
    const uint8_t *udp = o->ip + o->hl;
    return (dns_port(be16(udp)) || dns_port(be16(udp + 2))) &&
           (udp[8 + 2] & 0x80); /* QR: an answer (a query teaches nothing) */
}

/* What decides a packet's worker: an internal host (of two, the
 * client's), the address pair, or nothing read (worker 0). both_ours: two
 * internal hosts, a and b their keys (a: the source). */
enum key_kind { KEY_NONE, KEY_PAIR, KEY_HOST };

struct shard_key {
    enum key_kind kind;
    uint64_t key;
    bool both_ours;
    uint64_t a, b;
};

static uint64_t host_key(const struct ip_addr *x) { return fmix64(addr_hash(x)); }

static struct shard_key shard_key(const struct workers *ws,
                                  struct input_state *in,
                                  const struct ip_view *o, uint64_t ts_usec)
{
    struct shard_key k = { KEY_NONE, 0, false, 0, 0 };
    if (!o->ok)
        return k;
    const uint8_t *ip = o->ip;
    size_t left = o->left;
    uint8_t v = o->v;
    struct ip_addr a, b;
    ip_addrs(o, &a, &b);
    bool ia = home_net_contains(&ws->home, v, &a);
    bool ib = home_net_contains(&ws->home, v, &b);
    if (ia && ib) { /* both ours: the client's, when the ports say which */
        k.both_ours = true;
        k.a = host_key(&a);
        k.b = host_key(&b);
        struct frag_info fi;
        int c;
        if (frag_of(ip, left, v, &a, &b, &fi))
            c = frag_client(ws, in, &fi, ip, left, &a, &b, ts_usec);
        else if (!ip_fragment(o) && o->left >= o->hl)
            c = internal_client(ws, in, o->ip + o->hl, o->left - o->hl, o->proto, &a, &b,
                                ts_usec, client_end(o));
        else
            c = client_end(o);
        ia = c == 0, ib = c == 1;
    }
    if (ia != ib) {
        k.kind = KEY_HOST;
        k.key = k.both_ours ? (ia ? k.a : k.b) : host_key(ia ? &a : &b);
    } else {
        k.kind = KEY_PAIR;
        k.key = fmix64(addr_hash(&a) + addr_hash(&b)); /* symmetric */
    }
    return k;
}

/* The worker of a packet: an internal host's is the plan's
 * (placement.h), or by hash and then remembered (learn: the reader, not
 * workers that read a file together, which only look); a pair's by hash. */
static unsigned shard_of_key(const struct workers *ws, const struct shard_key *k,
                             bool learn)
{
    switch (k->kind) {
    case KEY_HOST: return placement_worker(ws->place, k->key, learn);
    case KEY_PAIR: return (unsigned)(k->key % ws->n);
    default: return 0;
    }
}

/* Whether a packet from a flow's server says the flow was answered, as
 * anomaly.c's answered() reads a finished flow: a TCP SYN or payload, any
 * UDP or other packet. Not a fragment. */
static bool answers(const struct ip_view *o)
{
    if (ip_fragment(o) || o->left < o->hl + 4)
        return false;
    if (o->proto != 6)
        return true;
    const uint8_t *tcp = o->ip + o->hl;
    if (o->left < o->hl + 20)
        return false;
    size_t ip_len = o->v == 4 ? be16(o->ip + 2) : (size_t)be16(o->ip + 4) + 40;
    size_t th = (size_t)(tcp[12] >> 4) * 4;
    return (tcp[13] & 0x02) || ip_len > o->hl + th;
}

static void note_source(struct pipeline *pl, const struct ip_view *o,
                        uint64_t ts_usec)
{
    struct ip_addr src, dst;
    ip_addrs(o, &src, &dst);
    pipeline_note_server(pl, o->v, &src, ts_usec);
}

/* The worker of the server that sent this packet, when the packet answers
 * an internal client (whose worker keeps the flow) and the server is not
 * in noted[] (then it is put there); else -1. */
static int server_to_note(const struct workers *ws, const struct shard_key *k,
                          const struct ip_view *o, uint64_t *noted)
{
    if (!k->both_ours || k->kind != KEY_HOST || k->key != k->b)
        return -1;
    uint64_t *slot = &noted[k->a % SERVERS_NOTED];
    if (*slot == k->a || !answers(o))
        return -1;
    *slot = k->a;
    return (int)placement_worker(ws->place, k->a, false);
}

/* Another worker's packet between two internal hosts, sent by the server
 * (the client, whose worker keeps the flow, is the destination): when the
 * server is this worker's and the packet answers, its profile starts here
 * (pipeline_note_server) -- with one pipeline the flow's end would have
 * made it. A host once noted is remembered (servers_noted, by key) so a
 * busy server costs a lookup a packet only here; one pushed out of it by
 * another is only noted again (noting is idempotent: nothing is lost). */
static void note_server(struct worker *w, const struct shard_key *k,
                        const struct ip_view *o, uint64_t ts_usec)
{
    if (server_to_note(w->ws, k, o, w->servers_noted) == (int)w->index)
        note_source(w->pl, o, ts_usec);
}

/* WMSG_SERVER, from the reader's note_server. */
static void note_server_of(struct pipeline *pl, const struct packet *p)
{
    struct ip_view o;
    ip_view(p, &o);
    if (o.ok)
        note_source(pl, &o, p->ts_usec);
}

/* Whether the packet can reach the flow table, where one pipeline makes
 * its clock's checkpoints and counts its 1024 packets: not a frame
 * without IP, nor an IP fragment but the last (defrag keeps those). A
 * frame not read here counts as one that can. */
static bool reaches_flows(const struct ip_view *o)
{
    if (o->off == -2)
        return false;
    if (o->off < 0 || o->left < 40)
        return true;
    const uint8_t *ip = o->ip;
    if (ip[0] >> 4 == 4)
        return !(be16(ip + 6) & 0x2000); /* MF */
    if (ip[0] >> 4 == 6 && ip[6] == 44 && o->left >= 48)
        return !(ip[43] & 1);             /* fragment header: M */
    return true;
}

enum { TIME_CLOCK = 1, TIME_PERIODIC = 2 };

/* The one pipeline's clock, kept over the whole input (flow_table.c's
 * checkpoint rule and pipeline.c's every-1024-packets), for the packet
 * just counted in in->nth: what every worker must do before it. */
static unsigned clock_of(struct input_state *in, uint64_t ts,
                         const struct ip_view *o)
{
    if (ts > in->last_usec)
        in->last_usec = ts;
    if (!reaches_flows(o))
        return 0;
    unsigned t = 0;
    if (ts >= in->next_clock || ts + 2000000 < in->next_clock) {
        t |= TIME_CLOCK;
        in->next_clock = ts + 1000000;
    }
    if ((in->nth & 1023) == 0)
        t |= TIME_PERIODIC;
    return t;
}

/* ---- the worker thread --------------------------------------------------- */

static void frame_of(const struct wmsg *m, struct packet *p)
{
    memset(p, 0, sizeof(*p));
    p->ts_usec = m->ts_usec;
    p->wire_len = m->wire_len;
    p->cap_len = m->cap_len;
    p->linktype = m->linktype;
    p->frame = (const uint8_t *)(m + 1);
}

static void read_file(struct worker *w);

static void handle(struct worker *w, const struct wmsg *m)
{
    struct packet p;
    if (!w->pl) { /* never made: workers_start says so, nothing is read */
        if (m->kind == WMSG_FILE)
            sem_post(&w->ws->file_done);
        return;
    }
    struct timespec t;
    switch (m->kind) {
    case WMSG_PACKET:
        frame_of(m, &p);
        pipeline_packet_nth(w->pl, &p, m->nth);
        break;
    case WMSG_DNS:
        frame_of(m, &p);
        pipeline_learn_dns(w->pl, &p);
        break;
    case WMSG_SERVER:
        frame_of(m, &p);
        note_server_of(w->pl, &p);
        break;
    case WMSG_CLOCK: pipeline_advance(w->pl, m->ts_usec); break;
    case WMSG_PERIODIC: pipeline_periodic(w->pl, m->ts_usec); break;
    case WMSG_TICK: pipeline_tick(w->pl, m->ts_usec); break;
    case WMSG_STOP:
        if (m->ts_usec)
            pipeline_set_time(w->pl, m->ts_usec);
        pipeline_finish_flows(w->pl);
        eve_flush(w->eve);
        if (!clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t))
            w->cpu_sec = (double)t.tv_sec + (double)t.tv_nsec / 1e9;
        break;
    case WMSG_EXIT:
        /* each its own, at once: unmapping the tables takes a while */
        pipeline_free(w->pl);
        w->pl = NULL;
        break;
    case WMSG_FILE: {
        uint64_t t0 = mono_usec();
        read_file(w);
        w->read_usec += mono_usec() - t0;
        sem_post(&w->ws->file_done);
        break;
    }
    }
}

/* A SIGHUP while the workers read a file: each reads its feeds again
 * between packets. */
static void reload_if_asked(struct worker *w)
{
    unsigned g = atomic_load_explicit(&w->ws->reload_gen, memory_order_relaxed);
    if (g != w->reload_seen) {
        w->reload_seen = g;
        pipeline_reload_intel(w->pl);
    }
}

/* One packet of a file every worker reads: what the reader would do with
 * it, for this worker only -- the clock first, then the packet if it is
 * this worker's, else its DNS answer if it may hold one and whether it
 * shows a server of this worker's answering (note_server). */
static void file_packet(struct worker *w, struct packet *p)
{
    struct input_state *in = &w->in;
    in->nth++;
    struct ip_view o;
    ip_view(p, &o);
    unsigned t = clock_of(in, p->ts_usec, &o);
    if (t & TIME_CLOCK)
        pipeline_advance(w->pl, p->ts_usec);
    if (t & TIME_PERIODIC)
        pipeline_periodic(w->pl, p->ts_usec);
    struct shard_key k = shard_key(w->ws, in, &o, p->ts_usec);
    if (shard_of_key(w->ws, &k, false) == w->index) {
        pipeline_packet_nth(w->pl, p, in->nth);
    } else {
        if (maybe_dns_answer(&o))
            pipeline_learn_dns(w->pl, p);
        note_server(w, &k, &o, p->ts_usec);
    }
    if ((in->nth & 1023) == 0)
        reload_if_asked(w);
}

/* WMSG_FILE: the whole of ws->job's file, read by this worker with its
 * own handle: a classic pcap walked in place (every worker over the same
 * pages of the page cache, none copying the file), else libpcap. */
static void read_file(struct worker *w)
{
    const struct file_job *job = &w->ws->job;
    w->file_packets = 0;
    w->file_broken = false;
    w->file_error[0] = 0;
    struct capture *c = capture_open_file(job->path, job->bpf, w->file_error,
                                          sizeof(w->file_error));
    if (!c) {
        w->file_broken = true;
        return;
    }
    struct packet p;
    memset(&p, 0, sizeof(p));
    enum capture_result r = CAPTURE_END;
    while (!*job->stop && (r = capture_next(c, &p)) == CAPTURE_PACKET)
        file_packet(w, &p);
    if (!*job->stop && r == CAPTURE_BROKEN) {
        w->file_broken = true;
        snprintf(w->file_error, sizeof(w->file_error), "%s", capture_error(c));
    }
    w->file_packets = capture_packets(c);
    capture_close(c);
}

/* Nothing to do: say so, look once more, then sleep until rung. */
static void wait_for_work(struct worker *w)
{
    for (int i = 0; i < 64; i++) {
        if (!spsc_empty(&w->ring))
            return;
        sched_yield();
    }
    atomic_store(&w->sleeping, 1);
    atomic_thread_fence(memory_order_seq_cst);
    if (!spsc_empty(&w->ring)) {
        atomic_store(&w->sleeping, 0);
        return;
    }
    while (sem_wait(&w->bell) && errno == EINTR)
        ;
}

/* The first thing a worker does: make its pipeline, one worker at a
 * time, while the caller plans the first file (workers_start). It counts
 * as the message workers_new pushed, so quiesce() waits for it. */
static void build_pipeline(struct worker *w)
{
    pthread_mutex_lock(&w->ws->build_lock);
    w->pl = pipeline_new(w->cfg, w->eve, w->build_error, sizeof(w->build_error));
    pthread_mutex_unlock(&w->ws->build_lock);
    if (w->pl)
        pipeline_set_driven(w->pl);
    else if (!w->build_error[0])
        snprintf(w->build_error, sizeof(w->build_error), "worker %u: cannot start",
                 w->index);
    atomic_fetch_add_explicit(&w->done, 1, memory_order_release);
}

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    build_pipeline(w);
    for (;;) {
        size_t len;
        const struct wmsg *m = spsc_peek(&w->ring, &len);
        if (!m) {
            wait_for_work(w);
            continue;
        }
        uint32_t kind = m->kind;
        handle(w, m);
        spsc_release(&w->ring);
        atomic_fetch_add_explicit(&w->done, 1, memory_order_release);
        if (kind == WMSG_EXIT)
            return NULL;
    }
}

/* ---- the reader's side --------------------------------------------------- */

static void ring_bell(struct worker *w)
{
    atomic_thread_fence(memory_order_seq_cst);
    if (atomic_load_explicit(&w->sleeping, memory_order_relaxed) &&
        atomic_exchange(&w->sleeping, 0))
        sem_post(&w->bell);
}

static void pause_briefly(void)
{
    struct timespec ts = { 0, 200000 }; /* 200 us */
    nanosleep(&ts, NULL);
}

/* Copies a message (and its frame) into w's ring. may_drop: live packets,
 * given up when the ring is full; the rest waits for room. */
static bool push(struct workers *ws, struct worker *w, const struct wmsg *h,
                 const uint8_t *data, size_t len, bool may_drop)
{
    size_t n = sizeof(*h) + len;
    if (n > spsc_max_record(&w->ring)) {
        ws->drops++;
        return false;
    }
    uint8_t *rec;
    while (!(rec = spsc_reserve(&w->ring, n))) {
        if (may_drop) {
            ws->drops++;
            return false;
        }
        ring_bell(w);
        pause_briefly();
    }
    memcpy(rec, h, sizeof(*h));
    if (len)
        memcpy(rec + sizeof(*h), data, len);
    spsc_commit(&w->ring);
    w->pushed++;
    ring_bell(w);
    return true;
}

static void broadcast(struct workers *ws, uint32_t kind, uint64_t ts)
{
    struct wmsg h = { .kind = kind, .ts_usec = ts };
    for (unsigned i = 0; i < ws->n; i++)
        push(ws, &ws->w[i], &h, NULL, 0, false);
}

/* Waits until every worker has handled everything sent to it: then they
 * sleep, and their pipelines may be read or changed from here. */
static void quiesce(struct workers *ws)
{
    for (unsigned i = 0; i < ws->n; i++)
        while (atomic_load_explicit(&ws->w[i].done, memory_order_acquire) !=
               ws->w[i].pushed)
            pause_briefly();
}

/* The reader's side of the clock: every worker hears it first. */
static void keep_time(struct workers *ws, const struct packet *p,
                      const struct ip_view *o)
{
    unsigned t = clock_of(&ws->in, p->ts_usec, o);
    if (t & TIME_CLOCK)
        broadcast(ws, WMSG_CLOCK, p->ts_usec);
    if (t & TIME_PERIODIC)
        broadcast(ws, WMSG_PERIODIC, p->ts_usec);
}

void workers_packet(struct workers *ws, struct packet *p)
{
    if (ws->single) {
        pipeline_packet(ws->single, p);
        return;
    }
    ws->in.nth++;
    struct ip_view o;
    ip_view(p, &o);
    keep_time(ws, p, &o);
    struct wmsg h = { .kind = WMSG_PACKET, .linktype = p->linktype,
                      .ts_usec = p->ts_usec, .nth = ws->in.nth,
                      .wire_len = p->wire_len, .cap_len = p->cap_len };
    struct shard_key k = shard_key(ws, &ws->in, &o, p->ts_usec);
    unsigned owner = shard_of_key(ws, &k, true);
    push(ws, &ws->w[owner], &h, p->frame, p->cap_len, ws->live);
    int server = server_to_note(ws, &k, &o, ws->servers_noted);
    if (server >= 0 && (unsigned)server != owner) {
        h.kind = WMSG_SERVER;
        push(ws, &ws->w[server], &h, p->frame, p->cap_len, ws->live);
    }
    if (!maybe_dns_answer(&o))
        return;
    h.kind = WMSG_DNS;
    for (unsigned i = 0; i < ws->n; i++)
        if (i != owner)
            push(ws, &ws->w[i], &h, p->frame, p->cap_len, ws->live);
}

/* The session ports of remote execution (placement.h): SMB, NetBIOS
 * session, the RPC endpoint mapper, RPC over HTTP, WinRM. */
static bool admin_port(uint16_t port)
{
    return port == 445 || port == 139 || port == 135 || port == 593 ||
           port == 5985 || port == 5986;
}

/* The plan's pass: its copy of the input state (fragments place as they
 * will) and the connections it has seen, by hash (a slot a connection,
 * the newest keeps it: a connection pushed out and seen again counts
 * twice), each with when it was last seen: seen again after longer than
 * its protocol's established timeout, it is a new connection, as the flow
 * table will count it (a port used again a day later). */
struct plan_conn {
    uint64_t key;              /* 0: free */
    uint64_t last_usec;
};

struct plan_pass {
    struct input_state in;
    struct plan_conn conns[PLAN_CONN_SLOTS];
    uint64_t conns_displaced;  /* a slot taken from another connection */
};

/* Whether the packet starts a connection for the pass: the unordered
 * addresses, the protocol and, for TCP and UDP not in fragments, the
 * unordered ports, new to it or idle past its timeout. */
static bool plan_new_conn(const struct workers *ws, struct plan_pass *pp,
                          const struct ip_view *o, uint64_t ts_usec)
{
    if (!o->ok)
        return false;
    struct ip_addr a, b;
    ip_addrs(o, &a, &b);
    uint64_t h = addr_hash(&a) + addr_hash(&b) + o->proto;
    if ((o->proto == 6 || o->proto == 17) && !ip_fragment(o) &&
        o->left >= o->hl + 4) {
        uint16_t sp = be16(o->ip + o->hl), dp = be16(o->ip + o->hl + 2);
        h += fmix64((uint64_t)(sp < dp ? sp : dp) << 16 | (sp < dp ? dp : sp));
    }
    h = fmix64(h) | 1;
    struct plan_conn *c = &pp->conns[h & (PLAN_CONN_SLOTS - 1)];
    uint64_t idle = established_usec(ws, o->proto);
    bool fresh = c->key != h || ts_usec > c->last_usec + idle;
    pp->conns_displaced += c->key && c->key != h;
    c->key = h;
    c->last_usec = ts_usec;
    return fresh;
}

/* One packet of the plan's pass: its load to its host or its worker, and
 * a TCP packet between two internal hosts on an admin port to the plan's
 * sessions (client first). */
static void plan_packet(const struct workers *ws, struct plan_pass *pp,
                        struct placement_tally *t, const struct packet *p)
{
    struct ip_view o;
    ip_view(p, &o);
    struct shard_key k = shard_key(ws, &pp->in, &o, p->ts_usec);
    uint32_t load = PACKET_WEIGHT + p->cap_len +
                    (plan_new_conn(ws, pp, &o, p->ts_usec) ? CONN_WEIGHT : 0);
    if (k.kind == KEY_HOST)
        placement_host(t, k.key, load);
    else
        placement_fixed(t, k.kind == KEY_PAIR ? (unsigned)(k.key % ws->n) : 0,
                        load);
    if (!k.both_ours)
        return;
    if (o.proto != 6 || o.left < o.hl + 4 || (o.v == 4 && (be16(o.ip + 6) & 0x1fff)))
        return;
    uint16_t sp = be16(o.ip + o.hl), dp = be16(o.ip + o.hl + 2);
    if (admin_port(dp))
        placement_admin(t, k.a, k.b);
    else if (admin_port(sp))
        placement_admin(t, k.b, k.a);
}

/* A part of the plan's pass: one thread's walk of the records from start
 * to the next part's start (the last: to the end), with its own copy of
 * the input state and connections, into its own tally. */
struct plan_part {
    const struct workers *ws;
    const volatile sig_atomic_t *stop;
    struct pcap_map *m;
    size_t start;
    struct plan_pass *pp;
    struct placement_tally *t;
    pthread_t thread;
    bool threaded;
};

static void plan_walk(struct plan_part *pt)
{
    struct packet p;
    memset(&p, 0, sizeof(p));
    while (!*pt->stop && pcap_map_next(pt->m, &p))
        plan_packet(pt->ws, pt->pp, pt->t, &p);
}

static void *plan_part_main(void *arg)
{
    plan_walk(arg);
    return NULL;
}

static bool plan_part_init(struct plan_part *pt, const struct workers *ws,
                           const volatile sig_atomic_t *stop, struct pcap_map *m)
{
    *pt = (struct plan_part){ .ws = ws, .stop = stop, .m = m,
                              .start = m ? pcap_map_offset(m) : 0 };
    pt->pp = table_mem_alloc(1, sizeof(*pt->pp)); /* conns: read, then written */
    pt->t = placement_tally_new(ws->place);
    if (!pt->pp || !pt->t)
        return false;
    pt->pp->in = ws->in;
    return true;
}

static void plan_part_free(struct plan_part *pt, bool close_map)
{
    if (close_map)
        pcap_map_close(pt->m);
    table_mem_free(pt->pp, 1, sizeof(*pt->pp));
    placement_tally_free(pt->t);
}

/* How many threads walk a mapped file of this size for the plan: one per
 * worker, each a part of PLAN_PART_MIN bytes at least -- a plan that
 * depends on the file and the workers, not on the machine. */
static unsigned plan_threads(const struct workers *ws, size_t size)
{
    unsigned n = ws->n < PLAN_PARTS_MAX ? ws->n : PLAN_PARTS_MAX;
    while (n > 1 && size / n < PLAN_PART_MIN)
        n--;
    return n;
}

/* parts[0] walks m from its start; the others each from the first record
 * found past an equal share of the file (pcap_map_open_part), each
 * stopped at the next one's start. Returns how many parts there are. */
static unsigned plan_split(struct workers *ws, const char *path,
                           const volatile sig_atomic_t *stop, struct pcap_map *m,
                           struct plan_part *parts)
{
    if (!plan_part_init(&parts[0], ws, stop, m)) {
        plan_part_free(&parts[0], false);
        return 0;
    }
    size_t size = pcap_map_file_size(m);
    unsigned want = plan_threads(ws, size), n = 1;
    for (unsigned k = 1; k < want; k++) {
        struct pcap_map *pm = pcap_map_open_part(path, size / want * k);
        if (!pm)
            continue;
        if (pcap_map_offset(pm) <= parts[n - 1].start) { /* found the same start */
            pcap_map_close(pm);
            continue;
        }
        if (!plan_part_init(&parts[n], ws, stop, pm)) {
            plan_part_free(&parts[n], true);
            break;
        }
        pcap_map_stop_at(parts[n - 1].m, parts[n].start);
        n++;
    }
    return n;
}

/* The parts walked, each on a thread of its own but the first (this
 * one's); then how many of them, from the first, are sound: a part's
 * start is proven once the part before ended on it exactly. The last
 * sound part, when the next start proved false (the walk before went past
 * it), is walked on to the end of the file, and the parts after it left
 * out: the tallies then hold every record once, as one walk would. */
static unsigned plan_parts_walk(struct plan_part *parts, unsigned n)
{
    if (!n)
        return 0;
    for (unsigned k = 1; k < n; k++)
        parts[k].threaded = !pthread_create(&parts[k].thread, NULL, plan_part_main,
                                            &parts[k]);
    plan_walk(&parts[0]);
    for (unsigned k = 1; k < n; k++) {
        if (parts[k].threaded)
            pthread_join(parts[k].thread, NULL);
        else
            plan_walk(&parts[k]);
    }
    unsigned good = 1;
    while (good < n && pcap_map_offset(parts[good - 1].m) == parts[good].start)
        good++;
    struct plan_part *last = &parts[good - 1];
    if (good < n && !pcap_map_damage(last->m)) {
        pcap_map_stop_at(last->m, SIZE_MAX);
        plan_walk(last);
    }
    return good;
}

/* The plan's pass over a file's headers, before the workers read it: in
 * place when the file is a classic pcap (pcap_map: no copy, no filter --
 * what a filter drops only weighs on the balance), in parts on as many
 * threads as there are workers, else with libpcap on this thread.
 * Without a filter the workers walk the same mapping next: the first
 * PLAN_KEEP bytes stay mapped for them (the first part's walk maps them;
 * the other parts' own mappings are let go), and the handle stays open in
 * ws->plan_map until they have read the file (the resident set counts
 * those pages of the page cache meanwhile). */
static void plan_file(struct workers *ws, const char *path, const char *bpf,
                      const volatile sig_atomic_t *stop)
{
    pcap_map_close(ws->plan_map);
    ws->plan_map = NULL;
    uint64_t t0 = mono_usec();
    struct plan_part parts[PLAN_PARTS_MAX];
    unsigned n = 0, good = 0;
    struct pcap_map *m = pcap_map_open(path);
    if (m) {
        n = plan_split(ws, path, stop, m, parts);
        if (!bpf || !*bpf)
            pcap_map_keep(m, PLAN_KEEP, ws->n);
        good = plan_parts_walk(parts, n);
        ws->plan_map = m;
    } else if (plan_part_init(&parts[0], ws, stop, NULL)) {
        n = good = 1;
        char err[256];
        struct capture *c = capture_open_file(path, bpf, err, sizeof(err));
        struct packet p;
        memset(&p, 0, sizeof(p));
        while (c && !*stop && capture_next(c, &p) == CAPTURE_PACKET)
            plan_packet(ws, parts[0].pp, parts[0].t, &p);
        capture_close(c);
    } else {
        plan_part_free(&parts[0], false);
    }
    struct placement_tally *tallies[PLAN_PARTS_MAX];
    for (unsigned k = 0; k < good; k++) {
        tallies[k] = parts[k].t;
        ws->plan_conns_displaced += parts[k].pp->conns_displaced;
    }
    if (good)
        placement_plan(ws->place, tallies, good);
    ws->plan_parts += good;
    for (unsigned k = 0; k < n; k++)
        plan_part_free(&parts[k], k > 0);
    ws->plan_usec += mono_usec() - t0;
}

/* Whether every worker can read this input itself: a regular file, more
 * than one worker, no live capture. */
static bool workers_can_read(const struct workers *ws, const char *path)
{
    struct stat st;
    return !ws->single && !ws->live && strcmp(path, "-") && !stat(path, &st) &&
           S_ISREG(st.st_mode);
}

bool workers_start(struct workers *ws, const char *first_file, const char *bpf,
                   const volatile sig_atomic_t *stop, char *err, size_t errlen)
{
    if (ws->single)
        return true;
    if (first_file && workers_can_read(ws, first_file)) {
        plan_file(ws, first_file, bpf, stop);
        ws->planned = strdup(first_file); /* NULL: planned again */
    }
    quiesce(ws); /* every pipeline made, or not */
    for (unsigned i = 0; i < ws->n; i++)
        if (!ws->w[i].pl) {
            snprintf(err, errlen, "%s", ws->w[i].build_error);
            return false;
        }
    return true;
}

bool workers_read_file(struct workers *ws, const char *path, const char *bpf,
                       const volatile sig_atomic_t *stop,
                       volatile sig_atomic_t *reload, uint64_t *packets,
                       const char **damaged)
{
    if (!workers_can_read(ws, path))
        return false;
    if (!ws->planned || strcmp(ws->planned, path))
        plan_file(ws, path, bpf, stop);
    free(ws->planned);
    ws->planned = NULL;
    quiesce(ws);
    for (unsigned i = 0; i < ws->n; i++)
        pipeline_add_capture_secrets(ws->w[i].pl, path);
    ws->job = (struct file_job){ path, bpf, stop };
    struct wmsg h = { .kind = WMSG_FILE };
    for (unsigned i = 0; i < ws->n; i++) {
        ws->w[i].in = ws->in;
        push(ws, &ws->w[i], &h, NULL, 0, false);
    }
    /* asleep until they end (a thread that woke every few hundred
     * microseconds would take the workers' cores from them), but for a
     * SIGHUP, looked at ten times a second */
    bool reopen = false; /* the EVE file, once the workers are done */
    for (unsigned ended = 0; ended < ws->n;) {
        struct timespec t;
        clock_gettime(CLOCK_REALTIME, &t);
        t.tv_nsec += 100000000;
        if (t.tv_nsec >= 1000000000) {
            t.tv_sec++;
            t.tv_nsec -= 1000000000;
        }
        if (!sem_timedwait(&ws->file_done, &t))
            ended++;
        if (*reload) {
            *reload = 0;
            atomic_fetch_add(&ws->reload_gen, 1);
            reopen = true;
        }
    }
    quiesce(ws); /* each has also counted its message done */
    pcap_map_close(ws->plan_map);
    ws->plan_map = NULL;
    ws->in = ws->w[0].in; /* every copy saw the same packets */
    if (reopen)
        eve_reopen(ws->eve);
    *packets = ws->w[0].file_packets;
    *damaged = ws->w[0].file_broken ? ws->w[0].file_error : NULL;
    return true;
}

void workers_tick(struct workers *ws, uint64_t now_usec)
{
    if (ws->single)
        pipeline_tick(ws->single, now_usec);
    else
        broadcast(ws, WMSG_TICK, now_usec);
}

void workers_reload(struct workers *ws)
{
    if (ws->single) {
        pipeline_reload_intel(ws->single);
    } else {
        quiesce(ws);
        for (unsigned i = 0; i < ws->n; i++)
            pipeline_reload_intel(ws->w[i].pl);
    }
    eve_reopen(ws->eve);
}

void workers_capture_stats(struct workers *ws, const struct capture_stats *cs)
{
    struct pipeline *pl = ws->single ? ws->single : ws->w[0].pl;
    if (!ws->single)
        quiesce(ws);
    pipeline_capture_stats(pl, cs); /* the kernel's: counted once */
}

void workers_note_truncated_file(struct workers *ws)
{
    if (!ws->single)
        quiesce(ws);
    pipeline_note_truncated_file(ws->single ? ws->single : ws->w[0].pl);
}

int workers_add_capture_secrets(struct workers *ws, const char *path)
{
    if (ws->single)
        return pipeline_add_capture_secrets(ws->single, path);
    quiesce(ws);
    int n = 0;
    for (unsigned i = 0; i < ws->n; i++)
        n = pipeline_add_capture_secrets(ws->w[i].pl, path);
    return n;
}

static void write_merged_stats(struct workers *ws, uint64_t ts_usec)
{
    const struct counters *regs[WORKERS_MAX];
    /* merged stats sum every worker's counters: the reader's drops go in
     * once, through worker 0 (the workers are quiet here) */
    pipeline_set_queue_drops(ws->w[0].pl, ws->drops);
    for (unsigned i = 0; i < ws->n; i++)
        regs[i] = pipeline_counters(ws->w[i].pl);
    /* the record goes out through worker 0's writer, which sleeps */
    eve_write_stats_merged(pipeline_eve(ws->w[0].pl),
                           ts_usec ? ts_usec : ws->in.last_usec, regs, ws->n);
}

void workers_write_stats(struct workers *ws, uint64_t ts_usec)
{
    if (ws->single) {
        pipeline_write_stats(ws->single, ts_usec);
        return;
    }
    quiesce(ws);
    write_merged_stats(ws, ts_usec);
}

static void join_all(struct workers *ws)
{
    for (unsigned i = 0; ws->w && i < ws->n; i++)
        if (ws->w[i].started) {
            pthread_join(ws->w[i].thread, NULL);
            ws->w[i].started = false;
        }
}

void workers_finish(struct workers *ws)
{
    if (ws->single) {
        pipeline_finish(ws->single);
        return;
    }
    if (ws->finished)
        return;
    ws->finished = true;
    broadcast(ws, WMSG_STOP, ws->in.last_usec);
    quiesce(ws); /* the threads wait for WMSG_EXIT (workers_free) */
    write_merged_stats(ws, 0);
    eve_flush(ws->eve);
}

void workers_summary(const struct workers *ws, FILE *out, const char *eve_path)
{
    if (ws->single) {
        pipeline_summary(ws->single, out, eve_path);
        return;
    }
    struct pipeline *pls[WORKERS_MAX];
    for (unsigned i = 0; i < ws->n; i++)
        pls[i] = ws->w[i].pl;
    pipeline_summary_all(pls, (int)ws->n, out, eve_path);
    fprintf(out, "  workers: %u, packets each:", ws->n);
    for (unsigned i = 0; i < ws->n; i++)
        fprintf(out, " %llu", (unsigned long long)pipeline_packets(ws->w[i].pl));
    fprintf(out, "; CPU seconds each:");
    for (unsigned i = 0; i < ws->n; i++)
        fprintf(out, " %.2f", ws->w[i].cpu_sec);
    if (ws->plan_usec) { /* files: the plan's pass, then every worker reads */
        fprintf(out, "; reading files, seconds each:");
        for (unsigned i = 0; i < ws->n; i++)
            fprintf(out, " %.3f", (double)ws->w[i].read_usec / 1e6);
        fprintf(out, ", after the plans' passes: %.3f (walked in %llu parts)",
                (double)ws->plan_usec / 1e6, (unsigned long long)ws->plan_parts);
    }
    fprintf(out, "; %llu dropped with a worker's queue full; %llu fragments "
            "ahead of their first, %llu datagrams forgotten before their last "
            "(%u at once); %llu internal connections opened from the lower "
            "port, %llu forgotten (%u at once); %llu internal UDP flows on one "
            "port at both ends, %llu forgotten while alive (%u at once)\n",
            (unsigned long long)ws->drops,
            (unsigned long long)ws->in.frags_unplaced,
            (unsigned long long)ws->in.frags_displaced, FRAG_SLOTS,
            (unsigned long long)ws->in.turned_seen,
            (unsigned long long)ws->in.turned_displaced, TURNED_SLOTS,
            (unsigned long long)ws->in.even_seen,
            (unsigned long long)ws->in.even_displaced, EVEN_SLOTS);
    const struct placement_stats *ps = placement_stats(ws->place);
    fprintf(out, "  placement: %llu internal hosts on a worker, %llu joined to "
            "another's by an admin session, %llu busy servers left apart, %llu "
            "past the table by hash, %llu packets of hosts there was no room "
            "for, %llu sessions past the plan's tables, %llu connections "
            "the plan's table forgot (%u at once)\n",
            (unsigned long long)ps->hosts, (unsigned long long)ps->groups,
            (unsigned long long)ps->busy_servers,
            (unsigned long long)ps->hosts_over_cap,
            (unsigned long long)ps->packets_unkept,
            (unsigned long long)ps->sessions_over_cap,
            (unsigned long long)ws->plan_conns_displaced, PLAN_CONN_SLOTS);
}

uint64_t workers_packets(const struct workers *ws)
{
    if (ws->single)
        return pipeline_packets(ws->single);
    uint64_t n = 0;
    for (unsigned i = 0; i < ws->n; i++)
        n += pipeline_packets(ws->w[i].pl);
    return n;
}

unsigned workers_count(const struct workers *ws) { return ws->n; }

/* ---- set-up -------------------------------------------------------------- */

/* 0: one per core, but one when a setting keeps one state for every host
 * (anomaly.state-dir, response.contain: config.c refuses N > 1 with them). */
static unsigned resolve_count(const struct nj_config *cfg)
{
    if (!cfg->workers && (cfg->anomaly.state_dir[0] ||
                          strcmp(cfg->response.contain, "none")))
        return 1;
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    unsigned n = cfg->workers ? cfg->workers : cores > 0 ? (unsigned)cores : 1;
    return n > WORKERS_MAX ? WORKERS_MAX : n;
}

static bool worker_setup(struct workers *ws, struct worker *w,
                         const struct nj_config *cfg, bool first, char *err,
                         size_t errlen)
{
    w->ws = ws;
    w->index = (unsigned)(w - ws->w);
    atomic_init(&w->done, 0);
    atomic_init(&w->sleeping, 0);
    if (!(w->eve = eve_open_shared(ws->eve)) ||
        !spsc_init(&w->ring, WORKER_RING_BYTES) ||
        sem_init(&w->bell, 0, 0)) {
        snprintf(err, errlen, "out of memory for a worker");
        return false;
    }
    w->bell_made = true;
    /* its own copy, kept while the pipeline lives (modules may keep
     * pointers into the settings they were made with) */
    if (!(w->cfg = malloc(sizeof(*w->cfg)))) {
        snprintf(err, errlen, "out of memory for a worker");
        return false;
    }
    *w->cfg = *cfg;
    w->cfg->worker_quiet = !first;
    w->pushed = 1; /* its pipeline, made by its thread (build_pipeline) */
    return true;
}

struct workers *workers_new(const struct nj_config *cfg, struct eve *eve,
                            bool live, char *err, size_t errlen)
{
    struct workers *ws = calloc(1, sizeof(*ws));
    if (!ws) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    ws->n = resolve_count(cfg);
    ws->live = live;
    ws->eve = eve;
    if (ws->n == 1) {
        if (!(ws->single = pipeline_new(cfg, eve, err, errlen)))
            goto err;
        return ws;
    }
    ws->udp_new_usec = (uint64_t)cfg->flow.timeout_udp_new * 1000000u;
    ws->established_usec[0] = (uint64_t)cfg->flow.timeout_tcp_established * 1000000u;
    ws->established_usec[1] = (uint64_t)cfg->flow.timeout_udp_established * 1000000u;
    ws->established_usec[2] = (uint64_t)cfg->flow.timeout_other * 1000000u;
    if (!home_net_parse(&ws->home, cfg->anomaly.home_nets, err, errlen) ||
        !(ws->w = calloc(ws->n, sizeof(*ws->w))) ||
        !(ws->place = placement_new(ws->n)) ||
        sem_init(&ws->file_done, 0, 0))
        goto err;
    ws->file_done_made = true;
    if (pthread_mutex_init(&ws->build_lock, NULL))
        goto err;
    ws->build_lock_made = true;
    for (unsigned i = 0; i < ws->n; i++)
        if (!worker_setup(ws, &ws->w[i], cfg, i == 0, err, errlen))
            goto err;
    for (unsigned i = 0; i < ws->n; i++) {
        if (pthread_create(&ws->w[i].thread, NULL, worker_main, &ws->w[i])) {
            snprintf(err, errlen, "cannot start worker thread %u", i);
            goto err;
        }
        ws->w[i].started = true;
    }
    return ws;
err:
    workers_free(ws);
    return NULL;
}

void workers_free(struct workers *ws)
{
    if (!ws)
        return;
    /* every thread frees its own pipeline, at the same time, and leaves
     * (unfinished, when the set-up failed: nothing was read) */
    struct wmsg h = { .kind = WMSG_EXIT };
    for (unsigned i = 0; ws->w && i < ws->n; i++)
        if (ws->w[i].started)
            push(ws, &ws->w[i], &h, NULL, 0, false);
    join_all(ws);
    for (unsigned i = 0; ws->w && i < ws->n; i++) {
        struct worker *w = &ws->w[i];
        pipeline_free(w->pl); /* a thread that never started */
        free(w->cfg);
        eve_close(w->eve);
        spsc_free(&w->ring);
        if (w->bell_made)
            sem_destroy(&w->bell);
    }
    free(ws->w);
    placement_free(ws->place);
    free(ws->planned);
    pcap_map_close(ws->plan_map);
    if (ws->build_lock_made)
        pthread_mutex_destroy(&ws->build_lock);
    if (ws->file_done_made)
        sem_destroy(&ws->file_done);
    pipeline_free(ws->single);
    free(ws);
}
