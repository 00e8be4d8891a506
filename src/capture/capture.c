/* capture.c -- libpcap files and live capture (see capture.h).
 *
 * Files: libpcap opens pcap and pcapng (any byte order, micro- or
 * nanosecond) and reads them -- but a classic pcap without a BPF filter,
 * which is walked in place (pcap_map.c: no copy of every byte into stdio's
 * buffer and again into libpcap's, a quarter of a flows-only run). A link
 * type the decoders do not know is refused at open, by name, rather than
 * producing a run of "invalid" packets. A damaged file stops at the first
 * record that cannot be read; what came before counts.
 */
#include "capture/capture.h"
#include "capture/afpacket.h"
#include "capture/pcap_map.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <sys/stat.h>
#include <unistd.h>

#include <pcap/pcap.h>

#define FILE_BUFFER (1u << 20) /* stdio's own is 4 KiB: a read(2) every 4 KiB */

struct capture {
    pcap_t *pcap;
    char *iobuf;           /* a file's stdio buffer, FILE_BUFFER bytes */
    struct pcap_map *map;  /* instead of pcap: a classic pcap walked in place */
    struct afpacket *af;   /* instead of pcap: an AF_PACKET ring */
    bool live;
    int fd;             /* live: selectable descriptor, -1 if none */
    int linktype;
    int tstamp_nano;
    uint64_t packets;
    char error[PCAP_ERRBUF_SIZE + 128];
};

static bool apply_filter(struct capture *c, const char *bpf, char *err,
                         size_t errlen)
{
    if (!bpf || !*bpf)
        return true;
    struct bpf_program prog;
    if (pcap_compile(c->pcap, &prog, bpf, 1, PCAP_NETMASK_UNKNOWN) != 0) {
        snprintf(err, errlen, "bad BPF filter '%s': %s", bpf,
                 pcap_geterr(c->pcap));
        return false;
    }
    int rc = pcap_setfilter(c->pcap, &prog);
    pcap_freecode(&prog);
    if (rc != 0) {
        snprintf(err, errlen, "cannot apply BPF filter: %s",
                 pcap_geterr(c->pcap));
        return false;
    }
    return true;
}

bool capture_check_filter(const char *bpf, char *err, size_t errlen)
{
    if (!bpf || !*bpf)
        return true;
    pcap_t *dead = pcap_open_dead(DLT_EN10MB, 65535);
    if (!dead) {
        snprintf(err, errlen, "out of memory");
        return false;
    }
    struct bpf_program prog;
    bool ok = pcap_compile(dead, &prog, bpf, 1, PCAP_NETMASK_UNKNOWN) == 0;
    if (ok)
        pcap_freecode(&prog);
    else
        snprintf(err, errlen, "bad BPF filter '%s': %s", bpf, pcap_geterr(dead));
    pcap_close(dead);
    return ok;
}

static bool check_linktype(struct capture *c, const char *src, char *err,
                           size_t errlen)
{
    c->linktype = pcap_datalink(c->pcap);
    if (decode_linktype_supported(c->linktype))
        return true;
    const char *name = pcap_datalink_val_to_name(c->linktype);
    snprintf(err, errlen, "%s: link type %d (%s) carries no IP nightjar can "
             "decode", src, c->linktype, name ? name : "unknown");
    return false;
}

/* "-" is standard input (as for tcpdump -r -), read through libpcap. */
static FILE *open_input(const char *path)
{
    if (strcmp(path, "-"))
        return fopen(path, "rb");
    int fd = dup(STDIN_FILENO);
    FILE *fp = fd >= 0 ? fdopen(fd, "rb") : NULL;
    if (!fp && fd >= 0)
        close(fd);
    return fp;
}

struct capture *capture_open_file(const char *path, const char *bpf,
                                  char *err, size_t errlen)
{
    bool is_stdin = !strcmp(path, "-");
    struct stat sb;
    if (is_stdin ? fstat(STDIN_FILENO, &sb) != 0 : stat(path, &sb) != 0) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return NULL;
    }
    if (S_ISDIR(sb.st_mode)) {
        snprintf(err, errlen, "%s: is a directory, not a capture file", path);
        return NULL;
    }
    struct capture *c = calloc(1, sizeof(*c));
    if (!c) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    char perr[PCAP_ERRBUF_SIZE] = "";
    FILE *fp = open_input(path);
    if (!fp) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        free(c);
        return NULL;
    }
    if ((c->iobuf = malloc(FILE_BUFFER)))
        setvbuf(fp, c->iobuf, _IOFBF, FILE_BUFFER);
    c->pcap = pcap_fopen_offline_with_tstamp_precision(
        fp, PCAP_TSTAMP_PRECISION_MICRO, perr); /* owns fp from here */
    if (!c->pcap) {
        fclose(fp);
        free(c->iobuf);
        snprintf(err, errlen, "%s: not a capture nightjar can read (%s)",
                 path, perr);
        free(c);
        return NULL;
    }
    if (!check_linktype(c, path, err, errlen) ||
        !apply_filter(c, bpf, err, errlen)) {
        capture_close(c);
        return NULL;
    }
    if ((!bpf || !*bpf) && !is_stdin && (c->map = pcap_map_open(path))) {
        pcap_close(c->pcap); /* it said what the file is; the map reads it */
        c->pcap = NULL;
        free(c->iobuf);
        c->iobuf = NULL;
    }
    return c;
}

struct capture *capture_open_live(const char *iface, const char *bpf,
                                  uint32_t snaplen, bool promisc, char *err,
                                  size_t errlen)
{
    struct capture *c = calloc(1, sizeof(*c));
    if (!c) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    char perr[PCAP_ERRBUF_SIZE] = "";
    c->live = true;
    c->fd = -1;
    c->pcap = pcap_create(iface, perr);
    if (!c->pcap) {
        snprintf(err, errlen, "%s: %s", iface, perr);
        free(c);
        return NULL;
    }
    pcap_set_snaplen(c->pcap, (int)snaplen);
    pcap_set_promisc(c->pcap, promisc);
    pcap_set_timeout(c->pcap, 200);
    pcap_set_buffer_size(c->pcap, 64 << 20);
    int rc = pcap_activate(c->pcap);
    if (rc < 0) {
        snprintf(err, errlen, "%s: cannot capture: %s", iface,
                 rc == PCAP_ERROR ? pcap_geterr(c->pcap) : pcap_statustostr(rc));
        capture_close(c);
        return NULL;
    }
    if (!check_linktype(c, iface, err, errlen) ||
        !apply_filter(c, bpf, err, errlen)) {
        capture_close(c);
        return NULL;
    }
    /* Linux TPACKET_V3 only times out once a packet has arrived, so an idle
     * link would block a read for ever: read non-blocking and wait in
     * poll() with our own timeout instead. */
    c->fd = pcap_get_selectable_fd(c->pcap);
    if (c->fd >= 0 && pcap_setnonblock(c->pcap, 1, perr) != 0)
        c->fd = -1;
    return c;
}

struct capture *capture_open_afpacket(const struct afpacket_config *cfg,
                                      char *err, size_t errlen)
{
    struct capture *c = calloc(1, sizeof(*c));
    if (!c) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    c->live = true;
    c->fd = -1;
    if (!(c->af = afpacket_open(cfg, err, errlen))) {
        free(c);
        return NULL;
    }
    c->linktype = afpacket_linktype(c->af);
    return c;
}

void capture_close(struct capture *c)
{
    if (!c)
        return;
    if (c->pcap)
        pcap_close(c->pcap);     /* closes a file's FILE before its buffer goes */
    pcap_map_close(c->map);
    afpacket_close(c->af);
    free(c->iobuf);
    free(c);
}

static enum capture_result map_next(struct capture *c, struct packet *p)
{
    if (pcap_map_next(c->map, p)) {
        c->packets++;
        p->linktype = c->linktype;
        return CAPTURE_PACKET;
    }
    if (!pcap_map_damage(c->map))
        return CAPTURE_END;
    snprintf(c->error, sizeof(c->error), "stopped after packet %llu: %s",
             (unsigned long long)c->packets, pcap_map_damage(c->map));
    return CAPTURE_BROKEN;
}

enum capture_result capture_next(struct capture *c, struct packet *p)
{
    if (c->map)
        return map_next(c, p);
    if (c->af) {
        enum capture_result r = afpacket_next(c->af, p);
        if (r == CAPTURE_PACKET)
            c->packets++;
        return r;
    }
    struct pcap_pkthdr *h;
    const u_char *data;
    int rc = pcap_next_ex(c->pcap, &h, &data);
    if (rc == 0 && c->live && c->fd >= 0) {
        struct pollfd pfd = { .fd = c->fd, .events = POLLIN, .revents = 0 };
        if (poll(&pfd, 1, 200) <= 0)
            return CAPTURE_TIMEOUT; /* idle, or a signal arrived */
        rc = pcap_next_ex(c->pcap, &h, &data);
    }
    switch (rc) {
    case 1:
        c->packets++;
        /* a pcap file's seconds are 32 bits, unsigned (2038 is not an
         * end); libpcap hands them over signed from a file in this host's
         * byte order and unsigned from the other, so read them as what
         * they are, the same as capture/pcap_map.c */
        p->ts_usec = (uint64_t)(uint32_t)h->ts.tv_sec * 1000000u + (uint64_t)h->ts.tv_usec;
        p->wire_len = h->len;
        p->cap_len = h->caplen;
        p->frame = data;
        p->linktype = c->linktype;
        return CAPTURE_PACKET;
    case 0:
        return CAPTURE_TIMEOUT;
    case PCAP_ERROR_BREAK:
        return c->live ? CAPTURE_TIMEOUT : CAPTURE_END;
    default:
        snprintf(c->error, sizeof(c->error), "stopped after packet %llu: %s",
                 (unsigned long long)c->packets, pcap_geterr(c->pcap));
        return CAPTURE_BROKEN;
    }
}

const char *capture_error(const struct capture *c) { return c->error; }
uint64_t capture_packets(const struct capture *c) { return c->packets; }

bool capture_stats(struct capture *c, struct capture_stats *out)
{
    memset(out, 0, sizeof(*out));
    if (!c->live)
        return false;
    if (c->af)
        return afpacket_stats(c->af, out);
    struct pcap_stat ps;
    if (pcap_stats(c->pcap, &ps) != 0)
        return false;
    out->received = ps.ps_recv;
    out->dropped = ps.ps_drop;
    out->ifdropped = ps.ps_ifdrop;
    return true;
}

void capture_break(struct capture *c)
{
    if (c && c->pcap)
        pcap_breakloop(c->pcap);
    if (c && c->af)
        afpacket_break(c->af);
}
