/* fuzz_packet.c -- libFuzzer target: one input is one captured frame.
 *
 * The first byte picks the link type, the rest is the frame. The frame goes
 * through the whole per-packet path -- decode (all link types, tunnels,
 * fragments), flow table, TCP reassembly, application detection -- with
 * small memory caps so the bounds are hit often, and every so often all
 * flows are ended and written as EVE JSON to /dev/null, so the output path
 * is exercised too. State is kept between inputs, as in a real run.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "config/config.h"
#include "output/eve.h"
#include "output/sink.h"
#include "sensor/pipeline.h"

static const int linktypes[] = {
    1 /* EN10MB */, 113 /* SLL */, 276 /* SLL2 */, 0 /* NULL */, 108 /* LOOP */,
    12 /* RAW */, 228 /* IPV4 */, 229 /* IPV6 */, 239 /* NFLOG */,
    105 /* 802.11 */, 127 /* radiotap */, 107 /* FRELAY */, 9 /* PPP */,
    104 /* C_HDLC */,
};

static struct pipeline *pl;
static struct eve *eve;
static uint64_t ts = 1000000;
static unsigned inputs;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!pl) {
        struct nj_config cfg;
        config_defaults(&cfg);
        cfg.flow.memcap = 64 * 1024;
        cfg.stream.memcap = 64 * 1024;
        cfg.stream.max_queued = 8192;
        cfg.defrag.max_trackers = 4;
        char err[256];
        struct sink_config sc;
        sink_config_file(&sc, "/dev/null");
        eve = eve_open(&sc);
        pl = pipeline_new(&cfg, eve, err, sizeof(err));
        if (!pl)
            return 0;
    }
    if (size < 1)
        return 0;
    struct packet p;
    memset(&p, 0, sizeof(p));
    p.linktype = linktypes[data[0] % (sizeof(linktypes) / sizeof(linktypes[0]))];
    p.frame = data + 1;
    p.cap_len = (uint32_t)(size - 1);
    p.wire_len = p.cap_len + (data[0] & 0x80 ? 100 : 0); /* sometimes cut */
    ts += 1000 + (data[0] & 0x7f) * 100000ull; /* time moves, timeouts fire */
    p.ts_usec = ts;
    pipeline_packet(pl, &p);
    if (++inputs % 4096 == 0)
        pipeline_finish(pl);
    return 0;
}
