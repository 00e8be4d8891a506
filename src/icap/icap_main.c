/* icap_main.c -- nightjar-icap: the command line of the ICAP service
 * (docs/icap.md). Reads the settings (the sensor's YAML and --set, the
 * icap.* settings), opens the EVE output, starts the server and runs it
 * until SIGINT or SIGTERM; SIGHUP reloads feeds and rules and reopens the
 * log. Owns process setup only; never speaks ICAP itself.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "icap/icap_server.h"
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
"Usage: nightjar-icap --listen ADDRESS:PORT [options]\n"
"\n"
"ICAP service (RFC 3507) for web proxies: judges the requests and responses\n"
"a proxy hands over (REQMOD, RESPMOD at icap://ADDRESS:PORT/scan) with\n"
"nightjar's detectors -- threat-intelligence indicators, YARA rules, file\n"
"hashes and types, the delivery rules -- and answers pass (204), or block\n"
"(a 403 page). Every transaction is an EVE `icap` event; findings join the\n"
"client's incident.\n"
"\n"
"  -l, --listen ADDR:PORT   where to listen (icap.listen, default\n"
"                           127.0.0.1:1344; [::1]:1344 for IPv6)\n"
"      --intel [FORMAT:]FILE  an indicator feed (repeatable; as nightjar's)\n"
"      --intel-dir DIR      every file in DIR is a feed\n"
"      --yara PATH          YARA rules (file or directory); default: the\n"
"                           shipped rules; none: no YARA\n"
"      --fail-closed        block what cannot be judged (too big, stalled,\n"
"                           a scan error); default: pass it (fail open)\n"
"  -o, --output FILE        EVE JSON lines (default nightjar-icap-eve.json;\n"
"                           \"-\" is stdout; eve-log.* settings for sockets,\n"
"                           syslog, Redis)\n"
"  -c, --config FILE        YAML configuration (docs/nightjar.yaml; icap.*)\n"
"  -s, --set NAME=VALUE     one setting (repeatable; wins over the file)\n"
"      --dump-config        print every setting with its value and exit\n"
"  -h, --help               this help\n"
"  -V, --version            the version\n"
"\n"
"SIGHUP (or a changed feed or rule file) reloads feeds and rules: the\n"
"ISTag changes. SIGINT and SIGTERM stop. See docs/icap.md.\n");
}

static int set_or_fail(struct nj_config *cfg, const char *name, const char *v)
{
    char err[512];
    if (config_set(cfg, name, v, err, sizeof(err)))
        return 0;
    fprintf(stderr, "nightjar-icap: %s\n", err);
    return 2;
}

static int parse_args(int argc, char **argv, struct nj_config *cfg, bool *dump)
{
    static const struct option longopts[] = {
        { "listen", required_argument, NULL, 'l' },
        { "output", required_argument, NULL, 'o' },
        { "config", required_argument, NULL, 'c' },
        { "set", required_argument, NULL, 's' },
        { "yara", required_argument, NULL, 'Y' },
        { "intel", required_argument, NULL, 'I' },
        { "intel-dir", required_argument, NULL, 'J' },
        { "fail-closed", no_argument, NULL, 'C' },
        { "dump-config", no_argument, NULL, 'D' },
        { "help", no_argument, NULL, 'h' },
        { "version", no_argument, NULL, 'V' },
        { NULL, 0, NULL, 0 },
    };
    char err[512];
    for (int i = 1; i < argc - 1; i++)
        if ((!strcmp(argv[i], "-c") || !strcmp(argv[i], "--config")) &&
            !config_load_yaml(cfg, argv[i + 1], err, sizeof(err))) {
            fprintf(stderr, "nightjar-icap: %s\n", err);
            return 2;
        }
    int c, rc = 0;
    opterr = 0;
    while (!rc && (c = getopt_long(argc, argv, ":l:o:c:s:hV", longopts, NULL)) != -1) {
        switch (c) {
        case 'l': rc = set_or_fail(cfg, "icap.listen", optarg); break;
        case 'o': rc = set_or_fail(cfg, "eve-log.filename", optarg); break;
        case 'c': break; /* read above */
        case 's':
            if (!config_set_assignment(cfg, optarg, err, sizeof(err))) {
                fprintf(stderr, "nightjar-icap: %s\n", err);
                rc = 2;
            }
            break;
        case 'Y': rc = set_or_fail(cfg, "yara.rules", optarg); break;
        case 'J': rc = set_or_fail(cfg, "intel.dir", optarg); break;
        case 'C': rc = set_or_fail(cfg, "icap.fail-open", "no"); break;
        case 'I':
            if (cfg->n_intel_feeds >= 64) {
                fprintf(stderr, "nightjar-icap: at most 64 --intel feeds\n");
                return 2;
            }
            cfg->intel_feeds[cfg->n_intel_feeds++] = optarg;
            break;
        case 'D': *dump = true; break;
        case 'h': usage(stdout); exit(0);
        case 'V': printf("nightjar-icap %s\n", NIGHTJAR_VERSION); exit(0);
        case ':':
            fprintf(stderr, "nightjar-icap: option '%s' needs a value\n", argv[optind - 1]);
            return 2;
        default:
            fprintf(stderr, "nightjar-icap: unknown option '%s' (try --help)\n",
                    argv[optind - 1]);
            return 2;
        }
    }
    if (rc)
        return rc;
    if (optind < argc) {
        fprintf(stderr, "nightjar-icap: unexpected argument '%s' (try --help)\n",
                argv[optind]);
        return 2;
    }
    if (!config_validate(cfg, err, sizeof(err))) {
        fprintf(stderr, "nightjar-icap: %s\n", err);
        return 2;
    }
    return 0;
}

int main(int argc, char **argv)
{
    static struct nj_config cfg;
    config_defaults(&cfg);
    snprintf(cfg.eve_path, sizeof(cfg.eve_path), "nightjar-icap-eve.json");
    /* libmagic's description costs more than hashing and YARA together
     * (about 0.25 ms a body); the built-in type table still types every
     * body for the delivery rules. --set files.magic=yes for descriptions. */
    cfg.content.magic = false;
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
        fprintf(stderr, "nightjar-icap: %s\n", err);
        return 2;
    }
    struct eve *eve = eve_open(&sc);
    if (!eve) {
        fprintf(stderr, "nightjar-icap: cannot write EVE log %s: %s\n",
                cfg.eve_path, strerror(errno));
        return 2;
    }
    struct icap_server *s = icap_server_new(&cfg, eve, err, sizeof(err));
    if (!s) {
        fprintf(stderr, "nightjar-icap: %s\n", err);
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
    fprintf(stderr, "nightjar-icap: listening on %s, service icap://%s%s; fail %s; "
            "internal networks (anomaly.home-nets): %s\n", icap_server_address(s),
            icap_server_address(s), cfg.icap.service,
            cfg.icap.fail_open ? "open (what cannot be judged passes)"
                               : "closed (what cannot be judged is blocked)",
            cfg.anomaly.home_nets);
    rc = icap_server_run(s, &stop_requested, &reload_requested);
    icap_server_free(s);
    sink_shutdown(eve_sink(eve));
    eve_close(eve);
    fprintf(stderr, "nightjar-icap: stopped\n");
    return rc;
}
