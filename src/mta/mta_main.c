/* mta_main.c -- nightjar-mta: the command line of the mail relay
 * (docs/mta.md). Reads the settings (the sensor's YAML and --set, the
 * mta.* settings), opens the EVE output, starts the server and the
 * delivery thread and runs them until SIGINT or SIGTERM; SIGHUP reloads
 * feeds and reopens the log. Owns process setup only; never speaks SMTP.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "mta/mta_server.h"
#include "output/eve.h"
#include "output/sink.h"
#include "version.h"

static volatile sig_atomic_t stop_requested, reload_requested;

static void on_signal(int sig)
{
    if (sig == SIGHUP)
        reload_requested = 1;
    else
        stop_requested = 1;
}

static void usage(FILE *out)
{
    fprintf(out,
"Usage: nightjar-mta --listen ADDR:PORT --relay HOST:PORT --queue DIR [options]\n"
"\n"
"SMTP relay for the mail chain: takes mail from the upstream MTA (ESMTP:\n"
"PIPELINING, SIZE, 8BITMIME, SMTPUTF8, ENHANCEDSTATUSCODES), judges it with\n"
"nightjar's detectors -- threat-intelligence indicators, YARA rules, file\n"
"hashes and types, the delivery rules -- and queues it durably (250 only\n"
"once it is fsync'd) for delivery to the next hop, with retries. Malicious\n"
"mail is rejected with 550 5.7.1, quarantined or tagged (mta.action).\n"
"\n"
"  -l, --listen ADDR:PORT   where to take mail (mta.listen, 127.0.0.1:10025)\n"
"  -r, --relay HOST:PORT    the next hop (mta.relay, 127.0.0.1:10026)\n"
"  -q, --queue DIR          the queue (mta.queue, /var/spool/nightjar-mta)\n"
"      --intel [FORMAT:]FILE  an indicator feed (repeatable; as nightjar's)\n"
"      --intel-dir DIR      every file in DIR is a feed\n"
"      --yara PATH          YARA rules (file or directory); default: the\n"
"                           shipped rules; none: no YARA\n"
"  -o, --output FILE        EVE JSON lines (default nightjar-mta-eve.json)\n"
"  -c, --config FILE        YAML configuration (docs/nightjar.yaml; mta.*)\n"
"  -s, --set NAME=VALUE     one setting (repeatable; wins over the file)\n"
"      --dump-config        print every setting with its value and exit\n"
"  -h, --help               this help\n"
"  -V, --version            the version\n"
"\n"
"SIGHUP reloads feeds and reopens the log; SIGINT and SIGTERM stop after\n"
"the delivery in progress; queued mail waits in the queue for the next\n"
"start. See docs/mta.md.\n");
}

static int set_or_fail(struct nj_config *cfg, const char *name, const char *v)
{
    char err[512];
    if (config_set(cfg, name, v, err, sizeof(err)))
        return 0;
    fprintf(stderr, "nightjar-mta: %s\n", err);
    return 2;
}

static int parse_args(int argc, char **argv, struct nj_config *cfg, bool *dump)
{
    static const struct option longopts[] = {
        { "listen", required_argument, NULL, 'l' },
        { "relay", required_argument, NULL, 'r' },
        { "queue", required_argument, NULL, 'q' },
        { "output", required_argument, NULL, 'o' },
        { "config", required_argument, NULL, 'c' },
        { "set", required_argument, NULL, 's' },
        { "yara", required_argument, NULL, 'Y' },
        { "intel", required_argument, NULL, 'I' },
        { "intel-dir", required_argument, NULL, 'J' },
        { "dump-config", no_argument, NULL, 'D' },
        { "help", no_argument, NULL, 'h' },
        { "version", no_argument, NULL, 'V' },
        { NULL, 0, NULL, 0 },
    };
    char err[512];
    for (int i = 1; i < argc - 1; i++)
        if ((!strcmp(argv[i], "-c") || !strcmp(argv[i], "--config")) &&
            !config_load_yaml(cfg, argv[i + 1], err, sizeof(err))) {
            fprintf(stderr, "nightjar-mta: %s\n", err);
            return 2;
        }
    int c, rc = 0;
    opterr = 0;
    while (!rc && (c = getopt_long(argc, argv, ":l:r:q:o:c:s:hV", longopts, NULL)) != -1) {
        switch (c) {
        case 'l': rc = set_or_fail(cfg, "mta.listen", optarg); break;
        case 'r': rc = set_or_fail(cfg, "mta.relay", optarg); break;
        case 'q': rc = set_or_fail(cfg, "mta.queue", optarg); break;
        case 'o': rc = set_or_fail(cfg, "eve-log.filename", optarg); break;
        case 'c': break; /* read above */
        case 's':
            if (!config_set_assignment(cfg, optarg, err, sizeof(err))) {
                fprintf(stderr, "nightjar-mta: %s\n", err);
                rc = 2;
            }
            break;
        case 'Y': rc = set_or_fail(cfg, "yara.rules", optarg); break;
        case 'J': rc = set_or_fail(cfg, "intel.dir", optarg); break;
        case 'I':
            if (cfg->n_intel_feeds >= 64) {
                fprintf(stderr, "nightjar-mta: at most 64 --intel feeds\n");
                return 2;
            }
            cfg->intel_feeds[cfg->n_intel_feeds++] = optarg;
            break;
        case 'D': *dump = true; break;
        case 'h': usage(stdout); exit(0);
        case 'V': printf("nightjar-mta %s\n", NIGHTJAR_VERSION); exit(0);
        case ':':
            fprintf(stderr, "nightjar-mta: option '%s' needs a value\n", argv[optind - 1]);
            return 2;
        default:
            fprintf(stderr, "nightjar-mta: unknown option '%s' (try --help)\n",
                    argv[optind - 1]);
            return 2;
        }
    }
    if (rc)
        return rc;
    if (optind < argc) {
        fprintf(stderr, "nightjar-mta: unexpected argument '%s' (try --help)\n",
                argv[optind]);
        return 2;
    }
    if (!config_validate(cfg, err, sizeof(err))) {
        fprintf(stderr, "nightjar-mta: %s\n", err);
        return 2;
    }
    return 0;
}

int main(int argc, char **argv)
{
    static struct nj_config cfg;
    config_defaults(&cfg);
    snprintf(cfg.eve_path, sizeof(cfg.eve_path), "nightjar-mta-eve.json");
    bool dump = false;
    int rc = parse_args(argc, argv, &cfg, &dump);
    if (rc)
        return rc;
    if (dump) {
        config_dump(&cfg, stdout);
        return 0;
    }
    char err[512];
    struct sink_config sc;
    if (!sink_config_from(&sc, &cfg, err, sizeof(err))) {
        fprintf(stderr, "nightjar-mta: %s\n", err);
        return 2;
    }
    struct eve *eve = eve_open(&sc);
    if (!eve) {
        fprintf(stderr, "nightjar-mta: cannot write EVE log %s: %s\n",
                cfg.eve_path, strerror(errno));
        return 2;
    }
    struct mta_server *s = mta_server_new(&cfg, eve, err, sizeof(err));
    if (!s) {
        fprintf(stderr, "nightjar-mta: %s\n", err);
        eve_close(eve);
        return 2;
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    fprintf(stderr, "nightjar-mta: listening on %s, relaying to %s, queue %s "
            "(%u messages waiting); malicious mail: %s; internal networks "
            "(anomaly.home-nets): %s\n", mta_server_address(s), cfg.mta.relay,
            cfg.mta.queue, mta_server_recovered(s), cfg.mta.action,
            cfg.anomaly.home_nets);
    rc = mta_server_run(s, &stop_requested, &reload_requested);
    mta_server_free(s);
    sink_shutdown(eve_sink(eve));
    eve_close(eve);
    fprintf(stderr, "nightjar-mta: stopped\n");
    return rc;
}
