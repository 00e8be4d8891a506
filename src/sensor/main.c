/* main.c -- the nightjar sensor's command line.
 *
 * Reads settings (defaults, then -c FILE, then --set and the short options,
 * in that order, so the command line wins), opens the EVE output and every
 * source, runs packets through the pipeline -- one, or one per worker
 * thread (sensor/workers.h) -- and prints a summary. Sources
 * are read one after another into the same flow table, so a capture split
 * over several files gives the same flows as one file. Exit status: 0 when
 * something was read, 1 when nothing could be, 2 for a usage or
 * configuration error.
 */
#include <errno.h>
#include <getopt.h>
#include <magic.h>
#include <yara.h>
#include <zlib.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/opensslv.h>
#include <pcap/pcap.h>
#include <yaml.h>

#include "capture/capture.h"
#include "capture/afpacket.h"
#include "config/config.h"
#include "correlate/correlate_main.h"
#include "output/eve.h"
#include "output/sink.h"
#include "sensor/workers.h"
#include "util/clock.h"
#include "version.h"

#define MAX_FILES 4096

static volatile sig_atomic_t stop_requested;
static struct capture *volatile current_capture;

static volatile sig_atomic_t reload_requested;

static void on_signal(int sig)
{
    if (sig == SIGHUP) {
        reload_requested = 1;
        return;
    }
    stop_requested = 1;
    capture_break(current_capture);
}

/* Between packets: a SIGHUP asks the feeds to be read again and a
 * regular EVE file to be opened again by name (log rotation). */
static void check_reload(struct workers *ws)
{
    if (reload_requested) {
        reload_requested = 0;
        workers_reload(ws);
    }
}

static void usage(FILE *out)
{
    fprintf(out,
"Usage: nightjar [options] -r FILE [-r FILE ...]\n"
"       nightjar [options] -i IFACE\n"
"       nightjar correlate --from kafka|redis|FILE [options]  (the centre of\n"
"                         several sensors: docs/deployment.md; --help)\n"
"\n"
"Network detection and response sensor: reads packets, tracks flows with\n"
"their encrypted-traffic features, parses TLS/QUIC, DNS, HTTP, SMTP and FTP,\n"
"extracts files and scans them with YARA, and writes EVE JSON.\n"
"\n"
"Sources:\n"
"  -r, --read FILE        read a pcap or pcapng file, - for standard input\n"
"                         (repeatable; read in order into one flow table)\n"
"  -i, --interface IFACE  capture live from IFACE (AF_PACKET ring; libpcap\n"
"                         with --set capture.method=pcap)\n"
"  -f, --filter BPF       only packets matching this BPF filter\n"
"      --workers N        packet threads, sharded by host (capture.workers;\n"
"                         default 0: one per core)\n"
"\n"
"Threat intelligence:\n"
"      --intel [FORMAT[,OPT=V...]:]FILE  an indicator feed (repeatable):\n"
"                         list, csv (column=N, type=T...), zeek, sslbl, ja3bl,\n"
"                         feodo, urlhaus, stix, misp; detected when not given\n"
"      --intel-dir DIR    every file in DIR is a feed (intel.dir)\n"
"                         SIGHUP, or a changed file, reloads them live\n"
"\n"
"Content detection:\n"
"      --yara PATH        YARA rules: a .yar file or a directory of them\n"
"                         (yara.rules); default: the shipped rules;\n"
"                         --yara none: no YARA\n"
"      --filestore DIR    store extracted files in DIR by SHA-256\n"
"                         (files.filestore)\n"
"\n"
"Decryption (docs/decryption.md):\n"
"      --keylog FILE      TLS/QUIC secrets in the NSS key log format\n"
"                         (SSLKEYLOGFILE), followed as it grows (repeatable);\n"
"                         a pcapng file's own secrets are used without it\n"
"      --rsa-key FILE[:ADDR:PORT]  an RSA server key for TLS <= 1.2 RSA key\n"
"                         exchange, for every server or one (repeatable)\n"
"\n"
"Encrypted traffic analysis:\n"
"      --model FILE       score finished flows with this model from\n"
"                         nightjar-train (eta.model); default: the built-in\n"
"                         model (docs/eta.md); --set eta.enabled=no: off\n"
"\n"
"Baselines and incidents:\n"
"      --state DIR        keep the host baselines in DIR: loaded at start,\n"
"                         saved at the end and every 5 minutes when live\n"
"                         (anomaly.state-dir; docs/anomaly.md)\n"
"\n"
"Output:\n"
"  -o, --output FILE      EVE JSON lines to FILE (\"-\" is stdout);\n"
"                         default: nightjar-eve.json (eve-log.filename);\n"
"                         SIGHUP opens it again (log rotation)\n"
"      --set eve-log.filetype=unix_dgram|unix_stream|syslog|redis\n"
"                         records to a socket, syslog or Redis instead\n"
"                         (eve-log.redis.*; docs/eve.md, Outputs)\n"
"  -q, --quiet            no summary on stderr at the end\n"
"\n"
"Settings:\n"
"  -c, --config FILE      YAML configuration (see docs/nightjar.yaml)\n"
"  -s, --set NAME=VALUE   set one setting, e.g. --set flow.memcap=64mb\n"
"                         (repeatable; wins over the config file)\n"
"      --dump-config      print every setting with its value and exit\n"
"\n"
"  -h, --help             this help\n"
"  -V, --version          version and the libraries it was built with\n"
"\n"
"SIGINT and SIGTERM stop cleanly: every open flow is written out.\n"
"See nightjar(8) and docs/eve.md for the output fields.\n");
}

static void version(void)
{
    printf("nightjar %s\n", NIGHTJAR_VERSION);
    printf("  %s\n", pcap_lib_version());
    printf("  %s\n", OPENSSL_VERSION_TEXT);
    printf("  libyaml %s\n", yaml_get_version_string());
    printf("  libyara %s, libmagic %d, zlib %s\n", YR_VERSION,
           magic_version(), zlibVersion());
}

struct options {
    const char *files[MAX_FILES];
    int nfiles;
    const char *iface;
    bool quiet;
    bool dump_config;
};

static int parse_args(int argc, char **argv, struct options *o,
                      struct nj_config *cfg)
{
    static const struct option longopts[] = {
        { "read", required_argument, NULL, 'r' },
        { "interface", required_argument, NULL, 'i' },
        { "filter", required_argument, NULL, 'f' },
        { "output", required_argument, NULL, 'o' },
        { "config", required_argument, NULL, 'c' },
        { "set", required_argument, NULL, 's' },
        { "quiet", no_argument, NULL, 'q' },
        { "dump-config", no_argument, NULL, 'D' },
        { "yara", required_argument, NULL, 'Y' },
        { "intel", required_argument, NULL, 'I' },
        { "intel-dir", required_argument, NULL, 'J' },
        { "filestore", required_argument, NULL, 'F' },
        { "model", required_argument, NULL, 'M' },
        { "state", required_argument, NULL, 'S' },
        { "keylog", required_argument, NULL, 'K' },
        { "rsa-key", required_argument, NULL, 'R' },
        { "workers", required_argument, NULL, 'W' },
        { "help", no_argument, NULL, 'h' },
        { "version", no_argument, NULL, 'V' },
        { NULL, 0, NULL, 0 },
    };
    char err[512];
    const char *config_file = NULL;
    /* first pass: the config file, so the command line can override it */
    for (int i = 1; i < argc - 1; i++)
        if (!strcmp(argv[i], "-c") || !strcmp(argv[i], "--config"))
            config_file = argv[i + 1];
    for (int i = 1; i < argc; i++)
        if (!strncmp(argv[i], "--config=", 9))
            config_file = argv[i] + 9;
    if (config_file && !config_load_yaml(cfg, config_file, err, sizeof(err))) {
        fprintf(stderr, "nightjar: %s\n", err);
        return 2;
    }
    int c;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":r:i:f:o:c:s:qhV", longopts,
                            NULL)) != -1) {
        switch (c) {
        case 'r':
            if (o->nfiles >= MAX_FILES) {
                fprintf(stderr, "nightjar: at most %d files\n", MAX_FILES);
                return 2;
            }
            o->files[o->nfiles++] = optarg;
            break;
        case 'i': o->iface = optarg; break;
        case 'f': snprintf(cfg->bpf, sizeof(cfg->bpf), "%s", optarg); break;
        case 'o':
            snprintf(cfg->eve_path, sizeof(cfg->eve_path), "%s", optarg);
            break;
        case 'c': break; /* read above */
        case 's':
            if (!config_set_assignment(cfg, optarg, err, sizeof(err))) {
                fprintf(stderr, "nightjar: %s\n", err);
                return 2;
            }
            break;
        case 'I':
            if (cfg->n_intel_feeds >= 64) {
                fprintf(stderr, "nightjar: at most 64 --intel feeds\n");
                return 2;
            }
            cfg->intel_feeds[cfg->n_intel_feeds++] = optarg;
            break;
        case 'K':
            if (cfg->decrypt.n_keylogs >= 8) {
                fprintf(stderr, "nightjar: at most 8 --keylog files\n");
                return 2;
            }
            cfg->decrypt.keylogs[cfg->decrypt.n_keylogs++] = optarg;
            break;
        case 'R':
            if (cfg->decrypt.n_rsa_keys >= 32) {
                fprintf(stderr, "nightjar: at most 32 --rsa-key keys\n");
                return 2;
            }
            cfg->decrypt.rsa_keys[cfg->decrypt.n_rsa_keys++] = optarg;
            break;
        case 'J':
            snprintf(cfg->intel_dir, sizeof(cfg->intel_dir), "%s", optarg);
            break;
        case 'W':
            if (!config_set(cfg, "capture.workers", optarg, err, sizeof(err))) {
                fprintf(stderr, "nightjar: %s\n", err);
                return 2;
            }
            break;
        case 'Y':
        case 'F':
        case 'M':
        case 'S':
            if (!config_set(cfg, c == 'Y' ? "yara.rules" : c == 'F'
                                ? "files.filestore" : c == 'M' ? "eta.model"
                                : "anomaly.state-dir",
                            optarg, err, sizeof(err))) {
                fprintf(stderr, "nightjar: %s\n", err);
                return 2;
            }
            break;
        case 'q': o->quiet = true; break;
        case 'D': o->dump_config = true; break;
        case 'h': usage(stdout); exit(0);
        case 'V': version(); exit(0);
        case ':':
            fprintf(stderr, "nightjar: option '%s' needs a value\n",
                    argv[optind - 1]);
            return 2;
        default:
            fprintf(stderr, "nightjar: unknown option '%s' (try --help)\n",
                    argv[optind - 1]);
            return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "nightjar: unexpected argument '%s' (files are read "
                "with -r; try --help)\n", argv[optind]);
        return 2;
    }
    if (!config_validate(cfg, err, sizeof(err))) {
        fprintf(stderr, "nightjar: %s\n", err);
        return 2;
    }
    if (o->dump_config)
        return 0;
    if (!capture_check_filter(cfg->bpf, err, sizeof(err))) {
        fprintf(stderr, "nightjar: %s\n", err);
        return 2;
    }
    if (!o->nfiles && !o->iface) {
        fprintf(stderr, "nightjar: nothing to read: give -r FILE or -i IFACE "
                "(try --help)\n");
        return 2;
    }
    if (o->nfiles && o->iface) {
        fprintf(stderr, "nightjar: -r and -i cannot be used together\n");
        return 2;
    }
    return 0;
}

static void report_damaged(struct workers *ws, const char *path,
                           const char *why)
{
    fprintf(stderr, "nightjar: %s: damaged capture, %s; the packets before "
            "were processed\n", path, why);
    workers_note_truncated_file(ws);
}

/* Reads one file to its end: every worker reads it itself when it can
 * (workers_read_file), else this thread reads it and hands each packet
 * on. Returns packets read, or -1 if unopenable. */
static long long run_file(struct workers *ws, const char *path, const char *bpf)
{
    char err[1024];
    struct capture *c = capture_open_file(path, bpf, err, sizeof(err));
    if (!c) {
        fprintf(stderr, "nightjar: %s\n", err);
        return -1;
    }
    uint64_t read;
    const char *damaged;
    if (workers_read_file(ws, path, bpf, &stop_requested, &reload_requested,
                          &read, &damaged)) {
        capture_close(c);
        if (!stop_requested && damaged)
            report_damaged(ws, path, damaged);
        return (long long)read;
    }
    workers_add_capture_secrets(ws, path);
    current_capture = c;
    struct packet p;
    memset(&p, 0, sizeof(p));
    enum capture_result r = CAPTURE_END;
    while (!stop_requested && (r = capture_next(c, &p)) == CAPTURE_PACKET) {
        workers_packet(ws, &p);
        check_reload(ws);
    }
    if (!stop_requested && r == CAPTURE_BROKEN)
        report_damaged(ws, path, capture_error(c));
    long long n = (long long)capture_packets(c);
    current_capture = NULL;
    capture_close(c);
    return n;
}

/* AF_PACKET where it works (capture.method: afpacket), libpcap otherwise
 * or when asked; an interface AF_PACKET cannot read falls back to libpcap
 * with a note. */
static struct capture *open_live(const char *iface, const struct nj_config *cfg,
                                 char *err, size_t errlen)
{
    if (!strcmp(cfg->capture_method, "afpacket")) {
        struct afpacket_config ac = {
            .iface = iface, .bpf = cfg->bpf, .snaplen = cfg->snaplen,
            .promisc = cfg->promiscuous, .ring_mb = cfg->capture_ring_mb,
        };
        struct capture *c = capture_open_afpacket(&ac, err, errlen);
        if (c)
            return c;
        fprintf(stderr, "nightjar: %s; reading it with libpcap\n", err);
    }
    return capture_open_live(iface, cfg->bpf, cfg->snaplen, cfg->promiscuous,
                             err, errlen);
}

static int run_live(struct workers *ws, const char *iface,
                    const struct nj_config *cfg)
{
    char err[1024];
    struct capture *c = open_live(iface, cfg, err, sizeof(err));
    if (!c) {
        fprintf(stderr, "nightjar: %s\n", err);
        return -1;
    }
    current_capture = c;
    uint64_t next_stats = wall_usec() + cfg->stats_interval * 1000000ull;
    struct packet p;
    memset(&p, 0, sizeof(p));
    int rc = 0;
    while (!stop_requested) {
        enum capture_result r = capture_next(c, &p);
        if (r == CAPTURE_PACKET)
            workers_packet(ws, &p);
        else if (r == CAPTURE_BROKEN) {
            fprintf(stderr, "nightjar: %s: %s\n", iface, capture_error(c));
            rc = -1;
            break;
        }
        uint64_t now = wall_usec();
        check_reload(ws);
        if (r == CAPTURE_TIMEOUT)
            workers_tick(ws, now);
        if (cfg->stats_interval && now >= next_stats) {
            struct capture_stats cs;
            if (capture_stats(c, &cs))
                workers_capture_stats(ws, &cs);
            workers_write_stats(ws, now);
            next_stats = now + cfg->stats_interval * 1000000ull;
        }
    }
    struct capture_stats cs;
    if (capture_stats(c, &cs))
        workers_capture_stats(ws, &cs);
    current_capture = NULL;
    capture_close(c);
    return rc;
}

int main(int argc, char **argv)
{
    if (argc > 1 && !strcmp(argv[1], "correlate"))
        return correlate_main(argc - 1, argv + 1);
    static struct options o;
    static struct nj_config cfg;
    config_defaults(&cfg);
    int rc = parse_args(argc, argv, &o, &cfg);
    if (rc)
        return rc;
    if (o.dump_config) {
        config_dump(&cfg, stdout);
        return 0;
    }
    char err[512];
    struct sink_config sc;
    if (!sink_config_from(&sc, &cfg, err, sizeof(err))) { /* validated */
        fprintf(stderr, "nightjar: %s\n", err);
        return 2;
    }
    struct eve *eve = eve_open(&sc);
    if (!eve) {
        fprintf(stderr, "nightjar: cannot write EVE log %s: %s\n",
                sc.type == SINK_REGULAR ? cfg.eve_path
                                        : sink_type_name(sc.type),
                strerror(errno));
        return 2;
    }
    struct workers *ws = workers_new(&cfg, eve, o.iface != NULL, err,
                                     sizeof(err));
    if (!ws) {
        fprintf(stderr, "nightjar: %s\n", err);
        eve_close(eve);
        return 2;
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL); /* a blocked read ends: the input stops */
    sigaction(SIGTERM, &sa, NULL);
    /* a reload or a log rotation must not end a read from a pipe: the
     * read goes on, and the reload is done at the next packet */
    sa.sa_flags = SA_RESTART;
    sigaction(SIGHUP, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    if (!workers_start(ws, o.nfiles ? o.files[0] : NULL, cfg.bpf,
                       &stop_requested, err, sizeof(err))) {
        fprintf(stderr, "nightjar: %s\n", err);
        workers_free(ws);
        eve_close(eve);
        return 2;
    }
    if (!o.quiet)
        fprintf(stderr, "nightjar: internal networks (anomaly.home-nets): %s; "
                "detection is about the hosts inside them\n",
                cfg.anomaly.home_nets);

    int opened = 0;
    if (o.iface) {
        opened = run_live(ws, o.iface, &cfg) == 0;
    } else {
        /* a file loses no packet by waiting: a network sink's full spool
         * is waited for (up to 30 s a record) rather than dropped */
        sink_set_patience(eve_sink(eve), 30000000u);
        for (int i = 0; i < o.nfiles && !stop_requested; i++)
            if (run_file(ws, o.files[i], cfg.bpf) >= 0)
                opened++;
    }
    workers_finish(ws);
    /* a socket or Redis gets a few seconds to take what waits in the
     * spool; the summary then counts what it could not */
    sink_shutdown(eve_sink(eve));
    bool read_any = workers_packets(ws) > 0 || opened > 0;
    bool regular = sc.type == SINK_REGULAR;
    if (!o.quiet) {
        workers_summary(ws, stderr, regular && strcmp(cfg.eve_path, "-")
                                        ? cfg.eve_path : NULL);
        if (!regular)
            sink_summary(eve_sink(eve), stderr);
    }
    workers_free(ws);
    eve_close(eve);
    return read_any ? 0 : 1;
}
