/* test_sink.c -- the EVE sinks and their spool.
 *
 * The spool keeps records whole and in order, wraps around its buffer, and
 * when full refuses a record and counts it. Every sink that needs no
 * daemon is driven against sockets the test makes: a regular file is let
 * go on SIGHUP (reopen), unix_stream delivers lines and comes back after
 * its reader restarts, unix_dgram sends one datagram per record, syslog
 * prefixes each with the RFC 3164 header; a peer that is down fills the
 * spool, the overflow is counted, and what is left at exit is counted as
 * dropped within the drain deadline. Redis is tested end to end against a
 * real server (tests/e2e/redis_sink.sh).
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "config/config.h"
#include "util/json.h"
#include "output/sink.h"
#include "output/spool.h"
#include "testing.h"

static char dir[64];

static void setup(void)
{
    snprintf(dir, sizeof(dir), "/tmp/nj-sink-XXXXXX");
    REQUIRE(mkdtemp(dir) != NULL);
}

static void teardown(void)
{
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    CHECK(system(cmd) == 0);
}

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* ---- spool --------------------------------------------------------------- */

static void spool_keeps_records_whole_and_in_order(void)
{
    struct spool s;
    REQUIRE(spool_init(&s, 4096));
    char rec[100];
    for (int i = 0; i < 20; i++) {
        int n = snprintf(rec, sizeof(rec), "record %d %.*s", i, i, "xxxxxxxxxxxxxxxxxxxxxx");
        CHECK(spool_push(&s, rec, (size_t)n));
    }
    struct spool_rec out[32];
    size_t n = spool_peek(&s, out, 32, SIZE_MAX);
    CHECK_EQ(n, 20);
    for (size_t i = 0; i < n; i++) {
        int len = snprintf(rec, sizeof(rec), "record %zu %.*s", i, (int)i,
                           "xxxxxxxxxxxxxxxxxxxxxx");
        CHECK_EQ(out[i].len, len);
        CHECK(memcmp(out[i].data, rec, (size_t)len) == 0);
    }
    /* peeking takes nothing out; popping does, from the front */
    CHECK_EQ(spool_peek(&s, out, 32, SIZE_MAX), 20);
    spool_pop(&s, 5);
    CHECK_EQ(spool_peek(&s, out, 1, SIZE_MAX), 1);
    CHECK(out[0].len >= 8 && memcmp(out[0].data, "record 5", 8) == 0);
    struct spool_stats st;
    spool_stats(&s, &st);
    CHECK_EQ(st.records, 15);
    CHECK_EQ(st.pushed, 20);
    CHECK_EQ(st.dropped, 0);
    spool_free(&s);
}

static void spool_full_refuses_and_counts_then_takes_again(void)
{
    struct spool s;
    REQUIRE(spool_init(&s, 256));   /* a 40-byte record takes 48 */
    char rec[40];
    memset(rec, 'a', sizeof(rec));
    int accepted = 0;
    for (int i = 0; i < 10; i++)
        accepted += spool_push(&s, rec, sizeof(rec));
    CHECK_EQ(accepted, 5);
    struct spool_stats st;
    spool_stats(&s, &st);
    CHECK_EQ(st.dropped, 5);
    CHECK_EQ(st.records, 5);
    CHECK(!spool_push(&s, rec, sizeof(rec)));
    spool_stats(&s, &st);
    CHECK_EQ(st.dropped, 6);
    /* room made at the front is used by wrapping round */
    spool_pop(&s, 2);
    CHECK(spool_push(&s, rec, sizeof(rec)));
    CHECK(spool_push(&s, rec, sizeof(rec)));
    CHECK(!spool_push(&s, rec, sizeof(rec)));
    spool_stats(&s, &st);
    CHECK_EQ(st.records, 5);
    CHECK_EQ(st.dropped, 7);
    /* a record larger than the whole ring is refused, never wedged */
    char big[300];
    memset(big, 'b', sizeof(big));
    spool_pop(&s, 5);
    CHECK(!spool_push(&s, big, sizeof(big)));
    CHECK(spool_push(&s, rec, sizeof(rec)));
    spool_free(&s);
}

/* Many records of every size through a small ring: every one comes out
 * whole, in order, whatever the wrap-around and skipped tails. */
static void spool_wraps_around_keeping_order(void)
{
    struct spool s;
    REQUIRE(spool_init(&s, 1000));   /* rounds down to 1000 - 1000 % 8 */
    unsigned seed = 12345, next_in = 0, next_out = 0, refused = 0;
    char rec[400];
    struct spool_rec out[16];
    bool ok = true;
    for (int round = 0; round < 20000 && ok; round++) {
        seed = seed * 1103515245u + 12345u;
        size_t len = 8 + (seed >> 16) % 300;
        memset(rec, 'a' + (int)(next_in % 26), len);
        memcpy(rec, &next_in, sizeof(next_in));
        if (spool_push(&s, rec, len))
            next_in++;
        else
            refused++;
        if ((seed >> 8) % 3 == 0 || refused > 0) {
            size_t n = spool_peek(&s, out, 1 + (seed >> 4) % 4, SIZE_MAX);
            for (size_t i = 0; i < n; i++) {
                unsigned id;
                memcpy(&id, out[i].data, sizeof(id));
                char want = (char)('a' + (int)(next_out % 26));
                if (id != next_out || out[i].data[out[i].len - 1] != want) {
                    ok = false;
                    break;
                }
                next_out++;
            }
            spool_pop(&s, n);
            refused = 0;
        }
    }
    CHECK(ok);
    CHECK(next_in > 10000);
    /* and the rest drains in order */
    size_t n;
    while (ok && (n = spool_peek(&s, out, 16, SIZE_MAX)) > 0) {
        for (size_t i = 0; i < n; i++) {
            unsigned id;
            memcpy(&id, out[i].data, sizeof(id));
            if (id != next_out++)
                ok = false;
        }
        spool_pop(&s, n);
    }
    CHECK(ok);
    CHECK_EQ(next_out, next_in);
    struct spool_stats st;
    spool_stats(&s, &st);
    CHECK_EQ(st.records, 0);
    CHECK_EQ(st.used, 0);
    spool_free(&s);
}

static void spool_peek_keeps_to_its_byte_budget(void)
{
    struct spool s;
    REQUIRE(spool_init(&s, 4096));
    char rec[100] = { 0 };
    for (int i = 0; i < 10; i++)
        CHECK(spool_push(&s, rec, sizeof(rec)));
    struct spool_rec out[16];
    CHECK_EQ(spool_peek(&s, out, 16, 350), 3);
    CHECK_EQ(spool_peek(&s, out, 16, 10), 1);   /* the first, whatever size */
    CHECK_EQ(spool_peek(&s, out, 4, SIZE_MAX), 4);
    CHECK_EQ(spool_clear(&s), 10);
    CHECK_EQ(spool_peek(&s, out, 16, SIZE_MAX), 0);
    spool_free(&s);
}

/* ---- sinks --------------------------------------------------------------- */

static void fast(struct sink_config *sc, enum sink_type t, const char *path)
{
    sink_config_file(sc, path);
    sc->type = t;
    sc->backoff_min_ms = 10;
    sc->backoff_max_ms = 50;
    sc->io_timeout_ms = 200;
    sc->drain_ms = 2000;
}

static int listen_unix(const char *path, int type)
{
    int fd = socket(AF_UNIX, type, 0);
    struct sockaddr_un a;
    memset(&a, 0, sizeof(a));
    a.sun_family = AF_UNIX;
    snprintf(a.sun_path, sizeof(a.sun_path), "%s", path);
    unlink(path);
    if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) != 0 ||
        (type == SOCK_STREAM && listen(fd, 4) != 0)) {
        if (fd >= 0)
            close(fd);
        return -1;
    }
    return fd;
}

/* accept within 5 s, or -1 */
static int accept_within(int lfd)
{
    struct pollfd p = { lfd, POLLIN, 0 };
    if (poll(&p, 1, 5000) != 1)
        return -1;
    return accept(lfd, NULL, NULL);
}

/* Reads until `want` lines came or 5 s passed; returns them joined. */
static size_t read_lines(int fd, char *buf, size_t cap, int want)
{
    size_t got = 0;
    int lines = 0;
    double end = now_s() + 5;
    while (lines < want && now_s() < end && got < cap) {
        struct pollfd p = { fd, POLLIN, 0 };
        if (poll(&p, 1, 100) != 1)
            continue;
        ssize_t n = read(fd, buf + got, cap - got);
        if (n <= 0)
            break;
        for (ssize_t i = 0; i < n; i++)
            lines += buf[got + (size_t)i] == '\n';
        got += (size_t)n;
    }
    return got;
}

static int count_lines(const char *path)
{
    FILE *fp = fopen(path, "r");
    if (!fp)
        return -1;
    int n = 0, c;
    while ((c = fgetc(fp)) != EOF)
        n += c == '\n';
    fclose(fp);
    return n;
}

static void regular_file_is_opened_again_on_sighup(void)
{
    char path[128], rotated[128];
    snprintf(path, sizeof(path), "%s/eve.json", dir);
    snprintf(rotated, sizeof(rotated), "%s/eve.json.1", dir);
    struct sink_config sc;
    sink_config_file(&sc, path);
    struct sink *s = sink_open(&sc);
    REQUIRE(s != NULL);
    CHECK(sink_write(s, "{\"a\":1}\n", 8));
    CHECK(sink_write(s, "{\"a\":2}\n", 8));
    CHECK(sink_flush(s));
    CHECK(rename(path, rotated) == 0);      /* logrotate moves it ... */
    sink_reopen(s);                          /* ... and sends SIGHUP */
    for (int i = 0; i < 3; i++)
        CHECK(sink_write(s, "{\"b\":1}\n", 8));
    struct sink_stats st;
    sink_stats(s, &st);
    CHECK_EQ(st.written, 5);
    CHECK_EQ(st.reconnects, 1);
    CHECK_EQ(st.dropped, 0);
    sink_close(s);
    CHECK_EQ(count_lines(rotated), 2);
    CHECK_EQ(count_lines(path), 3);
}

static void unix_stream_delivers_every_record_as_a_line(void)
{
    char path[128];
    snprintf(path, sizeof(path), "%s/eve.sock", dir);
    int lfd = listen_unix(path, SOCK_STREAM);
    REQUIRE(lfd >= 0);
    struct sink_config sc;
    fast(&sc, SINK_UNIX_STREAM, path);
    struct sink *s = sink_open(&sc);
    REQUIRE(s != NULL);
    /* 400 records of 3 kB: more than the socket holds, so sends are cut
     * and finished later */
    enum { N = 400, LEN = 3000 };
    static char rec[LEN];
    int accepted = 0;
    for (int i = 0; i < N; i++) {
        int h = snprintf(rec, sizeof(rec), "{\"n\":%d,\"pad\":\"", i);
        memset(rec + h, 'x', LEN - (size_t)h - 3);
        memcpy(rec + LEN - 3, "\"}\n", 3);
        accepted += sink_write(s, rec, LEN);
    }
    CHECK_EQ(accepted, N);
    int fd = accept_within(lfd);
    REQUIRE(fd >= 0);
    static char got[N * LEN + 1];
    size_t n = read_lines(fd, got, sizeof(got) - 1, N);
    CHECK_EQ(n, (size_t)N * LEN);
    got[n] = 0;
    bool in_order = true;
    for (int i = 0; i < N && (size_t)(i + 1) * LEN <= n; i++) {
        char want[32];
        int w = snprintf(want, sizeof(want), "{\"n\":%d,", i);
        if (memcmp(got + (size_t)i * LEN, want, (size_t)w) != 0 ||
            got[(size_t)(i + 1) * LEN - 1] != '\n')
            in_order = false;
    }
    CHECK(in_order);
    sink_shutdown(s);
    struct sink_stats st;
    sink_stats(s, &st);
    CHECK_EQ(st.written, N);
    CHECK_EQ(st.dropped, 0);
    CHECK_EQ(st.reconnects, 0);
    sink_close(s);
    close(fd);
    close(lfd);
}

/* wait until the sink has written `n` records, up to 5 s */
static bool written_reaches(struct sink *s, uint64_t n)
{
    double end = now_s() + 5;
    struct sink_stats st;
    do {
        sink_stats(s, &st);
        if (st.written >= n)
            return true;
        usleep(10000);
    } while (now_s() < end);
    return false;
}

static void unix_stream_reconnects_when_its_reader_comes_back(void)
{
    char path[128];
    snprintf(path, sizeof(path), "%s/eve.sock", dir);
    int lfd = listen_unix(path, SOCK_STREAM);
    REQUIRE(lfd >= 0);
    struct sink_config sc;
    fast(&sc, SINK_UNIX_STREAM, path);
    struct sink *s = sink_open(&sc);
    REQUIRE(s != NULL);
    int fd = accept_within(lfd);
    REQUIRE(fd >= 0);
    for (int i = 0; i < 10; i++)
        CHECK(sink_write(s, "{\"before\":1}\n", 13));
    char buf[4096];
    CHECK_EQ(read_lines(fd, buf, sizeof(buf), 10), 130);
    CHECK(written_reaches(s, 10));
    /* the reader goes away; records written meanwhile wait */
    close(fd);
    close(lfd);
    unlink(path);
    for (int i = 0; i < 10; i++)
        CHECK(sink_write(s, "{\"during\":1}\n", 13));
    usleep(200000);
    struct sink_stats st;
    sink_stats(s, &st);
    CHECK_EQ(st.written, 10);
    CHECK(st.errors >= 1);
    CHECK_EQ(st.spooled, 10);
    /* it comes back: they arrive, then the later ones */
    lfd = listen_unix(path, SOCK_STREAM);
    REQUIRE(lfd >= 0);
    fd = accept_within(lfd);
    REQUIRE(fd >= 0);
    for (int i = 0; i < 5; i++)
        CHECK(sink_write(s, "{\"after\":1}\n", 12));
    size_t n = read_lines(fd, buf, sizeof(buf) - 1, 15);
    CHECK_EQ(n, 10 * 13 + 5 * 12);
    buf[n] = 0;
    CHECK(strncmp(buf, "{\"during\":1}\n", 13) == 0);
    CHECK(strstr(buf, "{\"during\":1}\n{\"after\":1}\n") != NULL);
    sink_shutdown(s);
    sink_stats(s, &st);
    CHECK_EQ(st.written, 25);
    CHECK_EQ(st.reconnects, 1);
    CHECK_EQ(st.dropped, 0);
    sink_close(s);
    close(fd);
    close(lfd);
}

static void unix_dgram_sends_one_datagram_per_record(void)
{
    char path[128];
    snprintf(path, sizeof(path), "%s/eve.dgram", dir);
    int rfd = listen_unix(path, SOCK_DGRAM);
    REQUIRE(rfd >= 0);
    struct sink_config sc;
    fast(&sc, SINK_UNIX_DGRAM, path);
    struct sink *s = sink_open(&sc);
    REQUIRE(s != NULL);
    char rec[64];
    for (int i = 0; i < 50; i++) {
        int n = snprintf(rec, sizeof(rec), "{\"n\":%d}\n", i);
        CHECK(sink_write(s, rec, (size_t)n));
    }
    bool all = true;
    for (int i = 0; i < 50 && all; i++) {
        struct pollfd p = { rfd, POLLIN, 0 };
        char got[128], want[64];
        if (poll(&p, 1, 5000) != 1) {
            all = false;
            break;
        }
        ssize_t n = recv(rfd, got, sizeof(got), 0);
        int w = snprintf(want, sizeof(want), "{\"n\":%d}", i); /* no newline */
        all = n == w && memcmp(got, want, (size_t)w) == 0;
    }
    CHECK(all);
    sink_close(s);
    close(rfd);
}

static void syslog_header_is_rfc3164_as_glibc_writes_it(void)
{
    setenv("TZ", "UTC", 1);
    tzset();
    char h[128];
    size_t n = sink_syslog_header(h, sizeof(h), LOG_LOCAL5, LOG_WARNING, 0,
                                  "nightjar", 42);
    CHECK_STR(h, "<172>Jan  1 00:00:00 nightjar[42]: ");
    CHECK_EQ(n, strlen("<172>Jan  1 00:00:00 nightjar[42]: "));
    n = sink_syslog_header(h, sizeof(h), LOG_LOCAL0, LOG_INFO, 1700000000,
                           "x", 7);
    CHECK_STR(h, "<134>Nov 14 22:13:20 x[7]: ");
    CHECK_EQ(sink_syslog_header(h, 10, LOG_LOCAL0, LOG_INFO, 0, "x", 7), 0);
}

static void syslog_sends_one_message_per_record(void)
{
    char path[128];
    snprintf(path, sizeof(path), "%s/log", dir);
    int rfd = listen_unix(path, SOCK_DGRAM);   /* stands in for /dev/log */
    REQUIRE(rfd >= 0);
    struct sink_config sc;
    fast(&sc, SINK_SYSLOG, "unused");
    sc.syslog_path = path;
    sc.syslog_facility = LOG_DAEMON;
    sc.syslog_level = LOG_NOTICE;
    sc.syslog_ident = "nj-test";
    struct sink *s = sink_open(&sc);
    REQUIRE(s != NULL);
    CHECK(sink_write(s, "{\"event_type\":\"flow\"}\n", 22));
    CHECK(sink_write(s, "{\"event_type\":\"stats\"}\n", 23));
    char got[2][512];
    for (int i = 0; i < 2; i++) {
        struct pollfd p = { rfd, POLLIN, 0 };
        got[i][0] = 0;
        if (poll(&p, 1, 5000) == 1) {
            ssize_t n = recv(rfd, got[i], sizeof(got[i]) - 1, 0);
            got[i][n > 0 ? n : 0] = 0;
        }
    }
    char tail[64];
    snprintf(tail, sizeof(tail), " nj-test[%ld]: {\"event_type\":\"flow\"}",
             (long)getpid());
    CHECK(strncmp(got[0], "<29>", 4) == 0);   /* daemon (3) * 8 + notice (5) */
    size_t gl = strlen(got[0]), tl = strlen(tail);
    CHECK(gl > tl && strcmp(got[0] + gl - tl, tail) == 0);
    CHECK(strstr(got[1], "]: {\"event_type\":\"stats\"}") != NULL);
    CHECK(strlen(got[1]) > 0 && got[1][strlen(got[1]) - 1] == '}'); /* no newline */
    sink_close(s);
    close(rfd);
}

static void peer_down_spool_full_drops_are_counted(void)
{
    char path[128];
    snprintf(path, sizeof(path), "%s/nobody.sock", dir);
    struct sink_config sc;
    fast(&sc, SINK_UNIX_STREAM, path);
    sc.spool_size = 4096;
    sc.drain_ms = 300;
    struct sink *s = sink_open(&sc);
    REQUIRE(s != NULL);
    char rec[100];
    memset(rec, 'r', sizeof(rec));
    rec[99] = '\n';
    int accepted = 0;
    for (int i = 0; i < 100; i++)
        accepted += sink_write(s, rec, sizeof(rec));
    CHECK_EQ(accepted, 4096 / 104);         /* a 100-byte record takes 104 */
    struct sink_stats st;
    sink_stats(s, &st);
    CHECK_EQ(st.dropped_full, 100 - accepted);
    CHECK_EQ(st.spooled, accepted);
    CHECK_EQ(st.written, 0);
    double t0 = now_s();
    sink_shutdown(s);                       /* nobody to drain to */
    double took = now_s() - t0;
    CHECK(took >= 0.25 && took < 2);
    sink_stats(s, &st);
    CHECK_EQ(st.dropped_exit, accepted);
    CHECK_EQ(st.dropped, 100);
    CHECK_EQ(st.spooled, 0);
    CHECK(st.errors >= 1);
    /* the stats record reports it */
    struct json j;
    json_init(&j);
    json_obj_open(&j);
    sink_stats_json(s, &j);
    json_obj_close(&j);
    j.buf[j.len] = 0;
    CHECK(strstr(j.buf, "\"type\":\"unix_stream\"") != NULL);
    CHECK(strstr(j.buf, "\"dropped\":100") != NULL);
    CHECK(strstr(j.buf, "\"dropped_spool_full\":") != NULL);
    json_free(&j);
    sink_close(s);
}

struct slow_reader {
    int lfd;
    size_t bytes;
};

static void *slow_read(void *arg)
{
    struct slow_reader *r = arg;
    usleep(300000);   /* after shutdown began */
    int fd = accept_within(r->lfd);
    if (fd < 0)
        return NULL;
    char buf[65536];
    ssize_t n;
    struct pollfd p = { fd, POLLIN, 0 };
    while (poll(&p, 1, 3000) == 1 && (n = read(fd, buf, sizeof(buf))) > 0)
        r->bytes += (size_t)n;
    close(fd);
    return NULL;
}

static void shutdown_drains_what_waits_before_the_deadline(void)
{
    char path[128];
    snprintf(path, sizeof(path), "%s/late.sock", dir);
    struct sink_config sc;
    fast(&sc, SINK_UNIX_STREAM, path);
    sc.drain_ms = 3000;
    struct sink *s = sink_open(&sc);
    REQUIRE(s != NULL);
    static char rec[2000];
    memset(rec, 'd', sizeof(rec));
    rec[sizeof(rec) - 1] = '\n';
    for (int i = 0; i < 500; i++)          /* 1 MB: more than a socket holds */
        CHECK(sink_write(s, rec, sizeof(rec)));
    struct slow_reader r = { listen_unix(path, SOCK_STREAM), 0 };
    REQUIRE(r.lfd >= 0);
    pthread_t t;
    REQUIRE(pthread_create(&t, NULL, slow_read, &r) == 0);
    sink_shutdown(s);
    struct sink_stats st;
    sink_stats(s, &st);
    CHECK_EQ(st.written, 500);
    CHECK_EQ(st.dropped, 0);
    sink_close(s);   /* the reader sees the end of the stream */
    pthread_join(t, NULL);
    CHECK_EQ(r.bytes, 500 * sizeof(rec));
    close(r.lfd);
}

static void settings_take_suricatas_names(void)
{
    struct nj_config c;
    config_defaults(&c);
    struct sink_config sc;
    char err[256];
    REQUIRE(sink_config_from(&sc, &c, err, sizeof(err)));
    CHECK_EQ(sc.type, SINK_REGULAR);
    CHECK_STR(sc.path, "nightjar-eve.json");
    CHECK_EQ(sc.redis_mode, SINK_REDIS_LPUSH);
    CHECK_STR(sc.redis_key, "nightjar");
    CHECK_EQ(sc.redis_port, 6379);
    CHECK_EQ(sc.redis_stream_maxlen, 100000);
    CHECK_EQ(sc.syslog_facility, LOG_LOCAL0);
    CHECK_EQ(sc.syslog_level, LOG_INFO);
    CHECK_EQ(sc.spool_size, 16u << 20);
    static const struct { const char *mode; enum sink_redis_mode m; } modes[] = {
        { "list", SINK_REDIS_LPUSH }, { "lpush", SINK_REDIS_LPUSH },
        { "rpush", SINK_REDIS_RPUSH }, { "channel", SINK_REDIS_PUBLISH },
        { "publish", SINK_REDIS_PUBLISH }, { "stream", SINK_REDIS_XADD },
        { "xadd", SINK_REDIS_XADD },
    };
    for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
        CHECK(config_set(&c, "eve-log.redis.mode", modes[i].mode, err, sizeof(err)));
        CHECK(sink_config_from(&sc, &c, err, sizeof(err)));
        CHECK_EQ(sc.redis_mode, modes[i].m);
    }
    CHECK(config_set(&c, "eve-log.filetype", "redis", err, sizeof(err)));
    CHECK(config_set(&c, "eve-log.level", "Warning", err, sizeof(err)));
    CHECK(config_set(&c, "eve-log.facility", "local5", err, sizeof(err)));
    CHECK(config_validate(&c, err, sizeof(err)));
    CHECK(sink_config_from(&sc, &c, err, sizeof(err)));
    CHECK_EQ(sc.type, SINK_REDIS);
    CHECK_EQ(sc.syslog_level, LOG_WARNING);
    CHECK_EQ(sc.syslog_facility, LOG_LOCAL5);
    /* what is refused, and the message names the setting */
    CHECK(config_set(&c, "eve-log.filetype", "kinesis", err, sizeof(err)));
    CHECK(!config_validate(&c, err, sizeof(err)));
    CHECK(strstr(err, "eve-log.filetype") && strstr(err, "unix_stream"));
    CHECK(config_set(&c, "eve-log.filetype", "unix_dgram", err, sizeof(err)));
    CHECK(config_set(&c, "eve-log.filename", "-", err, sizeof(err)));
    CHECK(!config_validate(&c, err, sizeof(err)));
    CHECK(strstr(err, "eve-log.filename") != NULL);
    CHECK(config_set(&c, "eve-log.filetype", "regular", err, sizeof(err)));
    CHECK(config_set(&c, "eve-log.redis.mode", "queue", err, sizeof(err)));
    CHECK(!config_validate(&c, err, sizeof(err)));
    CHECK(config_set(&c, "eve-log.redis.mode", "stream", err, sizeof(err)));
    CHECK(config_set(&c, "eve-log.redis.port", "70000", err, sizeof(err)));
    CHECK(!config_validate(&c, err, sizeof(err)));
    CHECK(config_set(&c, "eve-log.redis.port", "6390", err, sizeof(err)));
    CHECK(config_set(&c, "eve-log.spool", "10", err, sizeof(err)));
    CHECK(!config_validate(&c, err, sizeof(err)));
    CHECK(config_set(&c, "eve-log.spool", "64kb", err, sizeof(err)));
    CHECK(config_validate(&c, err, sizeof(err)));
}

TEST_LIST_FIXTURE(setup, teardown,
                  spool_keeps_records_whole_and_in_order,
                  spool_full_refuses_and_counts_then_takes_again,
                  spool_wraps_around_keeping_order,
                  spool_peek_keeps_to_its_byte_budget,
                  regular_file_is_opened_again_on_sighup,
                  unix_stream_delivers_every_record_as_a_line,
                  unix_stream_reconnects_when_its_reader_comes_back,
                  unix_dgram_sends_one_datagram_per_record,
                  syslog_header_is_rfc3164_as_glibc_writes_it,
                  syslog_sends_one_message_per_record,
                  peer_down_spool_full_drops_are_counted,
                  shutdown_drains_what_waits_before_the_deadline,
                  settings_take_suricatas_names)
