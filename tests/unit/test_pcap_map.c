/* test_pcap_map.c -- the in-place walk of a classic pcap file
 * (capture/pcap_map.c) gives what libpcap gives for the same file: every
 * record's time, lengths and bytes, in either byte order, with micro- or
 * nanosecond times, records longer than the snap length cut to it, times
 * past 2038 (unsigned, whichever byte order); a damaged file stops where
 * libpcap stops and says so; pcapng and other files are left to libpcap
 * (NULL); a part opened mid-file starts at a record, proven or shown false
 * by the walk before it. */
#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "capture/pcap_map.h"
#include "resident.h"
#include "testing.h"

struct rec {
    uint32_t sec, frac, caplen, len;
};

static void put32(FILE *f, uint32_t v, bool swap)
{
    if (swap)
        v = __builtin_bswap32(v);
    fwrite(&v, 4, 1, f);
}

/* A pcap file of n records; the bytes of record i are i + j. */
static void write_pcap(const char *path, uint32_t magic, bool swap,
                       uint32_t snaplen, const struct rec *r, int n,
                       size_t cut)
{
    FILE *f = fopen(path, "wb");
    REQUIRE(f);
    put32(f, magic, swap);
    uint16_t ver[2] = { 2, 4 };
    if (swap) {
        ver[0] = __builtin_bswap16(ver[0]);
        ver[1] = __builtin_bswap16(ver[1]);
    }
    fwrite(ver, 2, 2, f);
    put32(f, 0, swap);
    put32(f, 0, swap);
    put32(f, snaplen, swap);
    put32(f, 1, swap); /* Ethernet */
    for (int i = 0; i < n; i++) {
        put32(f, r[i].sec, swap);
        put32(f, r[i].frac, swap);
        put32(f, r[i].caplen, swap);
        put32(f, r[i].len, swap);
        for (uint32_t j = 0; j < r[i].caplen; j++)
            fputc((int)((uint32_t)i + j) & 0xff, f);
    }
    fclose(f);
    if (cut)
        REQUIRE(truncate(path, (off_t)cut) == 0);
}

/* A new empty file named from the template in path (write_pcap fills it). */
static bool temp_file(char *path)
{
    int fd = mkstemp(path);
    if (fd < 0)
        return false;
    close(fd);
    return true;
}

/* Walks path both ways and requires the same records and the same end. */
static void same_as_libpcap(const char *path, int expect_records,
                            bool expect_damage)
{
    char err[PCAP_ERRBUF_SIZE];
    pcap_t *pc = pcap_open_offline_with_tstamp_precision(
        path, PCAP_TSTAMP_PRECISION_MICRO, err);
    REQUIRE(pc);
    struct pcap_map *m = pcap_map_open(path);
    REQUIRE(m);
    int n = 0, rc;
    struct pcap_pkthdr *h;
    const u_char *data;
    while ((rc = pcap_next_ex(pc, &h, &data)) == 1) {
        struct packet p;
        REQUIRE(pcap_map_next(m, &p));
        /* libpcap gives seconds signed from a file in this host's byte
         * order and unsigned from the other: capture.c reads both as the
         * unsigned 32 bits they are */
        uint64_t ts = (uint64_t)(uint32_t)h->ts.tv_sec * 1000000u + (uint64_t)h->ts.tv_usec;
        CHECK_EQ(p.ts_usec, ts);
        CHECK_EQ(p.cap_len, h->caplen);
        CHECK_EQ(p.wire_len, h->len);
        CHECK_EQ(p.linktype, pcap_datalink(pc));
        CHECK(memcmp(p.frame, data, h->caplen) == 0);
        n++;
    }
    struct packet p;
    CHECK(!pcap_map_next(m, &p));
    CHECK_EQ(n, expect_records);
    CHECK_EQ(rc == PCAP_ERROR, expect_damage);
    CHECK_EQ(pcap_map_damage(m) != NULL, expect_damage);
    pcap_map_close(m);
    pcap_close(pc);
}

static const struct rec recs[] = {
    { 1700000000, 123456, 60, 60 },
    { 1700000001, 999999, 100, 1514 }, /* cut on the wire */
    { 1700000002, 0, 0, 0 },
    { 3000000000u, 5, 42, 42 },        /* past 2038 */
};

static void both_byte_orders_and_nanoseconds_read_alike(void)
{
    char path[] = "/tmp/nj-pcap-map-XXXXXX";
    REQUIRE(temp_file(path));
    write_pcap(path, 0xa1b2c3d4, false, 65535, recs, 4, 0);
    same_as_libpcap(path, 4, false);
    write_pcap(path, 0xa1b2c3d4, true, 65535, recs, 4, 0);
    same_as_libpcap(path, 4, false);
    struct rec nano[4];
    memcpy(nano, recs, sizeof(nano));
    for (int i = 0; i < 4; i++)
        nano[i].frac = recs[i].frac * 1000 + 777;
    write_pcap(path, 0xa1b23c4d, false, 65535, nano, 4, 0);
    same_as_libpcap(path, 4, false);
    write_pcap(path, 0xa1b23c4d, true, 65535, nano, 4, 0);
    same_as_libpcap(path, 4, false);
    unlink(path);
}

static void a_record_over_the_snap_length_is_cut_to_it(void)
{
    char path[] = "/tmp/nj-pcap-map-XXXXXX";
    REQUIRE(temp_file(path));
    struct rec r[2] = { { 1, 0, 80, 80 }, { 2, 0, 30, 30 } };
    write_pcap(path, 0xa1b2c3d4, false, 64, r, 2, 0);
    same_as_libpcap(path, 2, false);
    unlink(path);
}

/* A file of n records of 1400 bytes (42 MB for 30,000). */
static void long_file(const char *path, int n)
{
    struct rec *r = calloc((size_t)n, sizeof(*r));
    REQUIRE(r);
    for (int i = 0; i < n; i++)
        r[i] = (struct rec){ 1700000000u + (uint32_t)i, (uint32_t)i, 1400, 1400 };
    write_pcap(path, 0xa1b2c3d4, false, 65535, r, n, 0);
    free(r);
}

/* Past 16 MiB the walk lets go of the pages behind it: the frames after
 * that still read right. */
static void a_long_file_reads_right_to_its_end(void)
{
    char path[] = "/tmp/nj-pcap-map-XXXXXX";
    REQUIRE(temp_file(path));
    enum { N = 30000 };
    long_file(path, N);
    same_as_libpcap(path, N, false);
    unlink(path);
}

static void a_damaged_file_stops_where_libpcap_stops(void)
{
    char path[] = "/tmp/nj-pcap-map-XXXXXX";
    REQUIRE(temp_file(path));
    /* cut inside the second record's bytes, then inside its header */
    write_pcap(path, 0xa1b2c3d4, false, 65535, recs, 4, 24 + 16 + 60 + 16 + 50);
    same_as_libpcap(path, 1, true);
    write_pcap(path, 0xa1b2c3d4, false, 65535, recs, 4, 24 + 16 + 60 + 10);
    same_as_libpcap(path, 1, true);
    struct rec bogus[1] = { { 1, 0, 300000, 300000 } }; /* > 256 KiB */
    write_pcap(path, 0xa1b2c3d4, false, 65535, bogus, 1, 24 + 16 + 100);
    same_as_libpcap(path, 0, true);
    unlink(path);
}

/* Several workers read one file: one mapping, each its own cursor -- the
 * same record is at the same address for both, and neither walk disturbs
 * the other's, however far apart they are. */
static void walkers_of_one_file_share_its_mapping(void)
{
    char path[] = "/tmp/nj-pcap-map-XXXXXX";
    REQUIRE(temp_file(path));
    enum { N = 30000 };
    long_file(path, N);
    struct pcap_map *a = pcap_map_open(path), *b = pcap_map_open(path);
    REQUIRE(a && b);
    struct packet pa, pb;
    int n = 0;
    for (; n < N / 2 && pcap_map_next(a, &pa); n++) /* a well ahead */
        ;
    struct pcap_map *c = pcap_map_open(path);
    REQUIRE(c);
    for (int i = 0; i < N; i++) {
        REQUIRE(pcap_map_next(b, &pb));
        struct packet pc;
        REQUIRE(pcap_map_next(c, &pc));
        CHECK(pb.frame == pc.frame);
        CHECK_EQ(pb.frame[0], (uint8_t)i);
        CHECK_EQ(pb.ts_usec, (1700000000ull + (uint64_t)i) * 1000000u + (uint64_t)i);
        if (i + N / 2 < N) {
            REQUIRE(pcap_map_next(a, &pa));
            CHECK_EQ(pa.frame[0], (uint8_t)(i + N / 2));
        }
    }
    CHECK(!pcap_map_next(a, &pa) && !pcap_map_next(b, &pb));
    CHECK(!pcap_map_damage(a) && !pcap_map_damage(b));
    pcap_map_close(a);
    pcap_map_close(c);
    pcap_map_close(b);
    same_as_libpcap(path, N, false); /* and a handle after them all */
    unlink(path);
}

static void walk_to_end(struct pcap_map *m, int expect)
{
    struct packet p;
    int n = 0;
    while (pcap_map_next(m, &p))
        n++;
    CHECK_EQ(n, expect);
}

/* The plan's pass over path's n records: walked to the end, its first
 * 64 MiB kept for `followers` handles. */
static struct pcap_map *plan_walked(const char *path, int n, unsigned followers)
{
    struct pcap_map *plan = pcap_map_open(path);
    if (plan) {
        pcap_map_keep(plan, 64u << 20, followers);
        walk_to_end(plan, n);
    }
    return plan;
}

/* The plan's pass walks a file just before the workers: what it asks to
 * keep stays mapped until its followers have opened theirs, and is let
 * go behind them as they walk; a walk with no followers lets go of what
 * is more than a step or two behind it. */
static void a_kept_walk_stays_mapped_for_its_followers(void)
{
    char path[] = "/tmp/nj-pcap-map-XXXXXX";
    REQUIRE(temp_file(path));
    enum { N = 30000 };
    long_file(path, N);
    long before = resident_kb();
    struct pcap_map *alone = pcap_map_open(path);
    REQUIRE(alone);
    walk_to_end(alone, N);
    CHECK(resident_kb() - before < 24 * 1024); /* 42 MB walked */
    pcap_map_close(alone);
    before = resident_kb();
    struct pcap_map *plan = plan_walked(path, N, 2);
    REQUIRE(plan);
    CHECK(resident_kb() - before > 36 * 1024);
    struct pcap_map *w1 = pcap_map_open(path), *w2 = pcap_map_open(path);
    REQUIRE(w1 && w2);
    walk_to_end(w1, N);
    CHECK(resident_kb() - before > 36 * 1024); /* w2 has not walked */
    walk_to_end(w2, N);
    pcap_map_close(w1);
    pcap_map_close(w2);
    pcap_map_close(plan);
    CHECK(resident_kb() - before < 4 * 1024);
    unlink(path);
}

/* A handle opened and never walked (the sensor's main thread opened the
 * file to see that it reads, then left it to the workers) neither holds
 * the pages of another's walk back nor counts as a follower of a keep:
 * the whole file stayed mapped behind the workers. */
static void a_handle_that_never_walks_holds_nothing_back(void)
{
    char path[] = "/tmp/nj-pcap-map-XXXXXX";
    REQUIRE(temp_file(path));
    enum { N = 30000 };
    long_file(path, N);
    long before = resident_kb();
    struct pcap_map *plan = plan_walked(path, N, 1);
    REQUIRE(plan);
    struct pcap_map *idle = pcap_map_open(path), *w = pcap_map_open(path);
    REQUIRE(idle && w);
    CHECK(resident_kb() - before > 36 * 1024); /* kept for w, idle or not */
    walk_to_end(w, N);
    CHECK(resident_kb() - before < 24 * 1024); /* 42 MB walked, idle open */
    pcap_map_close(idle);
    pcap_map_close(w);
    pcap_map_close(plan);
    unlink(path);
}

static void pcapng_and_other_files_are_left_to_libpcap(void)
{
    char path[] = "/tmp/nj-pcap-map-XXXXXX";
    int fd = mkstemp(path);
    REQUIRE(fd >= 0);
    /* a pcapng section header block */
    static const uint8_t shb[28] = { 0x0a, 0x0d, 0x0d, 0x0a, 28, 0, 0, 0,
                                     0x4d, 0x3c, 0x2b, 0x1a, 1, 0, 0, 0,
                                     0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
                                     0xff, 0xff, 28, 0, 0, 0 };
    REQUIRE(write(fd, shb, sizeof(shb)) == (ssize_t)sizeof(shb));
    close(fd);
    CHECK(pcap_map_open(path) == NULL);
    REQUIRE(truncate(path, 10) == 0);
    CHECK(pcap_map_open(path) == NULL);
    CHECK(pcap_map_open("/nonexistent/nightjar.pcap") == NULL);
    CHECK(pcap_map_open("/tmp") == NULL);
    unlink(path);
}

/* A fifo is libpcap's to read: opening the map neither waits for a writer
 * (it did, and the sensor hung when the writer had come and gone) nor
 * maps it. */
static void a_fifo_is_left_to_libpcap_without_waiting(void)
{
    char dir[] = "/tmp/nj-pcap-map-XXXXXX", path[64];
    REQUIRE(mkdtemp(dir) != NULL);
    snprintf(path, sizeof(path), "%s/fifo", dir);
    REQUIRE(mkfifo(path, 0600) == 0);
    alarm(10);                  /* a wait would end the test, not hang it */
    CHECK(pcap_map_open(path) == NULL);
    alarm(0);
    unlink(path);
    rmdir(dir);
}

/* A file of records of varied lengths whose payload bytes are random: a
 * part opened anywhere starts at a record, and the walk from the start
 * stopped there ends on it exactly; the two walks together read every
 * record once, the same frames as one walk. */
static void parts_start_at_records_and_join_exactly(void)
{
    char path[] = "/tmp/nj-pcap-map-XXXXXX";
    REQUIRE(temp_file(path));
    enum { N = 20000 };
    struct rec *r = calloc(N, sizeof(*r));
    REQUIRE(r);
    srand(7);
    for (int i = 0; i < N; i++) {
        uint32_t len = 40 + (uint32_t)rand() % 1500;
        r[i] = (struct rec){ 1700000000u + (uint32_t)i / 10, (uint32_t)rand() % 1000000,
                             len, len };
    }
    write_pcap(path, 0xa1b2c3d4, false, 65535, r, N, 0);
    free(r);
    struct stat st;
    REQUIRE(stat(path, &st) == 0);
    for (int cut = 1; cut < 8; cut++) {
        struct pcap_map *whole = pcap_map_open(path), *head = pcap_map_open(path);
        struct pcap_map *tail = pcap_map_open_part(path, (size_t)st.st_size / 8 * (size_t)cut);
        REQUIRE(whole && head && tail);
        CHECK_EQ(pcap_map_file_size(tail), (size_t)st.st_size);
        size_t start = pcap_map_offset(tail);
        CHECK(start >= (size_t)st.st_size / 8 * (size_t)cut);
        pcap_map_stop_at(head, start);
        struct packet pw, pp;
        int n = 0;
        while (pcap_map_next(head, &pp)) {
            REQUIRE(pcap_map_next(whole, &pw));
            CHECK(pw.frame == pp.frame); /* one mapping */
            n++;
        }
        CHECK(!pcap_map_damage(head));
        CHECK_EQ(pcap_map_offset(head), start);
        while (pcap_map_next(tail, &pp)) {
            REQUIRE(pcap_map_next(whole, &pw));
            CHECK_EQ(pp.ts_usec, pw.ts_usec);
            CHECK_EQ(pp.cap_len, pw.cap_len);
            CHECK(memcmp(pp.frame, pw.frame, pp.cap_len) == 0);
            n++;
        }
        CHECK(!pcap_map_next(whole, &pw));
        CHECK_EQ(n, N);
        CHECK(!pcap_map_damage(tail));
        CHECK_EQ(pcap_map_offset(tail), (size_t)st.st_size);
        pcap_map_close(whole);
        pcap_map_close(head);
        pcap_map_close(tail);
    }
    unlink(path);
}

/* Records whose payloads end in what reads as eight more records: a part
 * opened inside one starts there -- a guess -- and the walk before it,
 * stopped at that guess, goes past it, which shows it false; a run of zero
 * bytes (eight empty headers) is not taken for records. */
static void a_false_start_shows_in_the_walk_before(void)
{
    char path[] = "/tmp/nj-pcap-map-XXXXXX";
    REQUIRE(temp_file(path));
    FILE *f = fopen(path, "wb");
    REQUIRE(f);
    uint32_t hdr[6] = { 0xa1b2c3d4, 0x00040002, 0, 0, 65535, 1 };
    fwrite(hdr, 4, 6, f);
    enum { N = 400, FAKE = 8 * (16 + 20) };
    for (int i = 0; i < N; i++) {
        uint32_t h[4] = { 1700000000u + (uint32_t)i, 10, 1000 + FAKE, 1000 + FAKE };
        fwrite(h, 4, 4, f);
        for (int j = 0; j < 1000; j++) /* zeros, then the fake records */
            fputc(0, f);
        for (uint32_t k = 0; k < 8; k++) {
            uint32_t fh[4] = { 1700000000u + (uint32_t)i, 500 + k, 20, 20 };
            fwrite(fh, 4, 4, f);
            for (int j = 0; j < 20; j++)
                fputc(0x45, f);
        }
    }
    fclose(f);
    size_t rec = 16 + 1000 + FAKE;
    /* from inside record 100's zeros: the first chain is its fake one */
    size_t from = 24 + 100 * rec + 16 + 10;
    struct pcap_map *tail = pcap_map_open_part(path, from);
    REQUIRE(tail);
    CHECK_EQ(pcap_map_offset(tail), 24 + 100 * rec + 16 + 1000);
    struct pcap_map *head = pcap_map_open(path);
    REQUIRE(head);
    pcap_map_stop_at(head, pcap_map_offset(tail));
    walk_to_end(head, 101);
    CHECK(!pcap_map_damage(head));
    CHECK_EQ(pcap_map_offset(head), 24 + 101 * rec); /* past the guess */
    /* the walk goes on to the end when its stop is taken away */
    pcap_map_stop_at(head, SIZE_MAX);
    walk_to_end(head, N - 101);
    pcap_map_close(head);
    pcap_map_close(tail);
    /* from a real record's header: that record */
    tail = pcap_map_open_part(path, 24 + 7 * rec);
    REQUIRE(tail);
    CHECK_EQ(pcap_map_offset(tail), 24 + 7 * rec);
    pcap_map_close(tail);
    /* no record starts after the file's end, nor in a file that is not there */
    CHECK(pcap_map_open_part(path, 24 + N * rec) == NULL);
    CHECK(pcap_map_open_part("/nonexistent/nightjar.pcap", 100) == NULL);
    unlink(path);
}

TEST_LIST(both_byte_orders_and_nanoseconds_read_alike,
          a_record_over_the_snap_length_is_cut_to_it,
          a_long_file_reads_right_to_its_end,
          a_damaged_file_stops_where_libpcap_stops,
          walkers_of_one_file_share_its_mapping,
          a_kept_walk_stays_mapped_for_its_followers,
          a_handle_that_never_walks_holds_nothing_back,
          pcapng_and_other_files_are_left_to_libpcap,
          a_fifo_is_left_to_libpcap_without_waiting,
          parts_start_at_records_and_join_exactly,
          a_false_start_shows_in_the_walk_before)
