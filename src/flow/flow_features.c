/* flow_features.c -- per-packet update of a flow's encrypted-traffic features.
 *
 * Reads only headers, lengths and times -- and, once per direction, the
 * first payload packet's byte distribution (entropy and printable share),
 * which says "encrypted or compressed" without reading what the bytes say.
 * SPLT (sequence of packet lengths and times) and rounds count only packets
 * that carry payload: pure ACKs have no shape of their own. Constant work
 * per packet; never allocates.
 */
#include <math.h>
#include <pthread.h>
#include <string.h>

#include "flow/flow_table.h"

/* c * log2(c) for every count a histogram of ENTROPY_BYTES can hold, so
 * entropy is sums and one log2: H = log2(n) - sum(c log2 c) / n. Filled
 * once, when the first flow table is made (pthread_once): read-only on the
 * packet path. */
static float clogc[ENTROPY_BYTES + 1];
static pthread_once_t clogc_once = PTHREAD_ONCE_INIT;

static void clogc_fill(void)
{
    for (int c = 2; c <= ENTROPY_BYTES; c++)
        clogc[c] = (float)(c * log2((double)c));
}

void flow_features_init(void)
{
    pthread_once(&clogc_once, clogc_fill);
}

static void byte_summary(struct flow_dir *d, const uint8_t *b, uint32_t n)
{
    if (n > ENTROPY_BYTES)
        n = ENTROPY_BYTES;
    uint16_t hist[256];
    memset(hist, 0, sizeof(hist));
    for (uint32_t i = 0; i < n; i++)
        hist[b[i]]++;
    uint32_t printable = hist['\t'] + hist['\n'] + hist['\r'];
    for (int i = 0x20; i < 0x7f; i++)
        printable += hist[i];
    double sum = 0;
    for (int i = 0; i < 256; i++)
        sum += clogc[hist[i]];
    double h = log2((double)n) - sum / n;
    d->entropy = (float)(h > 0 ? h : 0);
    d->printable = (float)printable / (float)n;
    d->entropy_bytes = (uint16_t)n;
    d->has_entropy = 1;
}

static void splt_add(struct flow *f, const struct packet *p, int dir,
                     uint32_t cap)
{
    if (f->splt_n >= cap)
        return;
    struct splt_entry *e = &f->splt[f->splt_n++];
    uint64_t gap = f->last_payload_usec && p->ts_usec > f->last_payload_usec
                       ? p->ts_usec - f->last_payload_usec
                       : 0;
    e->len = p->payload_wire_len > UINT16_MAX ? UINT16_MAX
                                              : (uint16_t)p->payload_wire_len;
    e->dir = (uint8_t)dir;
    e->iat_usec = gap > UINT32_MAX ? UINT32_MAX : (uint32_t)gap;
}

static void round_add(struct flow *f, const struct packet *p, int dir)
{
    if (f->rounds == 0 || f->round_dir != dir) {
        f->rounds++;
        f->round_dir = (uint8_t)dir;
        if (f->rounds <= FLOW_ROUNDS_MAX)
            f->round[f->rounds - 1].dir = (uint8_t)dir;
    }
    if (f->rounds <= FLOW_ROUNDS_MAX) {
        struct flow_round *r = &f->round[f->rounds - 1];
        if (r->pkts < UINT16_MAX)
            r->pkts++;
        r->bytes += p->payload_wire_len;
    }
}

void flow_features_update(struct flow *f, const struct packet *p, int dir,
                          uint32_t splt_cap)
{
    struct flow_dir *d = &f->dir[dir];
    if (d->pkts == 0) {
        d->init_ttl = p->ttl;
        if (p->proto == 6)
            d->init_win = p->tcp_win;
    } else if (p->ts_usec >= d->last_usec) {
        uint64_t gap = p->ts_usec - d->last_usec;
        uint32_t g = gap > UINT32_MAX ? UINT32_MAX : (uint32_t)gap;
        if (g < d->iat_min)
            d->iat_min = g;
        if (g > d->iat_max)
            d->iat_max = g;
        d->iat_sum += g;
        d->iat_sumsq += (double)g * g;
    }
    if (p->ts_usec > d->last_usec)
        d->last_usec = p->ts_usec;
    d->pkts += p->frag_frames;
    d->bytes += p->frag_bytes;
    d->ip_bytes += p->ip_len;
    if (p->ip_len < d->size_min)
        d->size_min = p->ip_len;
    if (p->ip_len > d->size_max)
        d->size_max = p->ip_len;
    d->size_sum += p->ip_len;
    d->size_sumsq += (double)p->ip_len * p->ip_len;
    if (p->proto == 6) {
        d->tcp_flags |= p->tcp_flags;
        if (p->tcp_flags & TCP_SYN) {
            if (!d->syn_seen) {
                d->syn_seen = 1;
                d->syn_seq = p->tcp_seq;
            }
            if (p->tcp_mss)
                d->mss = p->tcp_mss;
            d->wscale = p->tcp_wscale;
        }
    }
    if (p->payload_wire_len == 0)
        return;
    d->payload_bytes += p->payload_wire_len;
    d->payload_pkts++;
    if (!d->has_entropy && p->payload_len)
        byte_summary(d, p->payload, p->payload_len);
    splt_add(f, p, dir, splt_cap);
    round_add(f, p, dir);
    f->last_payload_usec = p->ts_usec;
}
