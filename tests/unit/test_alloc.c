/* test_alloc.c -- steady-state packet processing allocates nothing.
 *
 * Linked with --wrap=malloc,calloc,realloc so every allocation the nightjar
 * library makes is counted. A capture is read into memory, run through the
 * pipeline once (pools, tables and buffers grow to their working size), then
 * run again shifted past every timeout, so all flows end and new ones take
 * their place: the second pass must allocate nothing at all -- the
 * application layer included (its per-flow state comes from pools).
 */
#include <pcap/pcap.h>
#include <stdlib.h>

#include "config/config.h"
#include "output/eve.h"
#include "output/sink.h"
#include "sensor/pipeline.h"
#include "testing.h"

static long allocs;
void *__real_malloc(size_t n);
void *__real_calloc(size_t a, size_t b);
void *__real_realloc(void *p, size_t n);
void *__wrap_malloc(size_t n);
void *__wrap_calloc(size_t a, size_t b);
void *__wrap_realloc(void *p, size_t n);
void *__wrap_malloc(size_t n) { allocs++; return __real_malloc(n); }
void *__wrap_calloc(size_t a, size_t b) { allocs++; return __real_calloc(a, b); }
void *__wrap_realloc(void *p, size_t n) { allocs++; return __real_realloc(p, n); }

#define MAX_PKTS 20000

struct frame {
    uint64_t ts;
    uint32_t caplen, len;
    int linktype;
    uint8_t *data;
};
static struct frame frames[MAX_PKTS];
static int nframes;

/* Appends a capture's frames; false if it cannot be read. */
static bool load(const char *path)
{
    char err[PCAP_ERRBUF_SIZE];
    pcap_t *p = pcap_open_offline(path, err);
    if (!p) {
        printf("  %s\n", err);
        return false;
    }
    struct pcap_pkthdr *h;
    const u_char *d;
    while (nframes < MAX_PKTS && pcap_next_ex(p, &h, &d) == 1) {
        struct frame *f = &frames[nframes++];
        f->ts = (uint64_t)h->ts.tv_sec * 1000000u + (uint64_t)h->ts.tv_usec;
        f->caplen = h->caplen;
        f->len = h->len;
        f->linktype = pcap_datalink(p);
        f->data = __real_malloc(h->caplen ? h->caplen : 1);
        memcpy(f->data, d, h->caplen);
    }
    pcap_close(p);
    return true;
}

static void run(struct pipeline *pl, uint64_t shift)
{
    struct packet p;
    for (int i = 0; i < nframes; i++) {
        memset(&p, 0, sizeof(p));
        p.ts_usec = frames[i].ts + shift;
        p.cap_len = frames[i].caplen;
        p.wire_len = frames[i].len;
        p.frame = frames[i].data;
        p.linktype = frames[i].linktype;
        pipeline_packet(pl, &p);
    }
}

static void second_pass_allocates_nothing(void)
{
    REQUIRE(load("samples/demo.pcap"));
    /* when the public corpus is there, add captures with fragments,
     * out-of-order segments, tunnels and many flows; in CI it must be */
    static const char *more[] = { "labelled/benign-dns.pcap",
                                  "arkime/socks5-http-302-frag.pcap",
                                  "ja4/pcap/gre-erspan-vxlan.pcap",
                                  "labelled/hawkeye-01.pcap" /* FTP: a login and an upload */ };
    const char *corpus = getenv("NIGHTJAR_CORPUS");
    if (!corpus || !*corpus)
        corpus = "../shared/corpus";
    const char *ci = getenv("CI");
    bool in_ci = ci && (strcmp(ci, "true") == 0 || strcmp(ci, "1") == 0);
    for (size_t i = 0; i < sizeof(more) / sizeof(more[0]); i++) {
        char path[1024];
        snprintf(path, sizeof(path), "%s/%s", corpus, more[i]);
        bool ok = load(path);
        if (in_ci)
            CHECK(ok);
    }
    CHECK(nframes > 50);
    struct nj_config cfg;
    config_defaults(&cfg);
    /* HTTP, DNS, FTP and the YARA stream windows run; libmagic is off because it
     * allocates inside every call (once per file, never per packet) */
    cfg.content.magic = false;
    struct sink_config sc;
    sink_config_file(&sc, "/dev/null");
    struct eve *eve = eve_open(&sc);
    REQUIRE(eve != NULL);
    char err[256];
    struct pipeline *pl = pipeline_new(&cfg, eve, err, sizeof(err));
    if (!pl)
        fprintf(stderr, "  %s\n", err);
    REQUIRE(pl != NULL);
    uint64_t span = 0;
    for (int i = 0; i < nframes; i++)
        if (frames[i].ts > span)
            span = frames[i].ts;
    span += 86400ull * 1000000; /* past every timeout */
    run(pl, 0);
    long before = allocs;
    run(pl, span);
    long during = allocs - before;
    printf("  %d frames: %ld allocations in the warm-up pass, %ld in the second\n",
           nframes, before, during);
    CHECK_EQ(during, 0);
    pipeline_finish(pl);
    pipeline_free(pl);
    eve_close(eve);
    for (int i = 0; i < nframes; i++)
        free(frames[i].data);
}

TEST_LIST(second_pass_allocates_nothing)
