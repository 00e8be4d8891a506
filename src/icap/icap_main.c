/* icap_main.c -- nightjar-icap: the command line of the ICAP service
 * (docs/icap.md), on the front ends' shared command line (frontend/cli.h):
 * its own options, the server started and run until SIGINT or SIGTERM;
 * SIGHUP reloads feeds and rules and reopens the log. Owns process setup
 * only; never speaks ICAP itself.
 */
#include <stdio.h>
#include <string.h>

#include "frontend/cli.h"
#include "icap/icap_server.h"

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

static const struct cli_flag flags[] = {
    { "listen", 'l', "icap.listen", NULL },
    { "fail-closed", 0, "icap.fail-open", "no" },
};

int main(int argc, char **argv)
{
    static struct nj_config cfg;
    config_defaults(&cfg);
    snprintf(cfg.eve_path, sizeof(cfg.eve_path), "nightjar-icap-eve.json");
    /* libmagic's description costs more than hashing and YARA together
     * (about 0.25 ms a body); the built-in type table still types every
     * body for the delivery rules. --set files.magic=yes for descriptions. */
    cfg.content.magic = false;
    const struct cli c = { "nightjar-icap", usage, flags, sizeof(flags) / sizeof(flags[0]) };
    int rc = cli_parse(&c, argc, argv, &cfg);
    if (rc >= 0)
        return rc;
    struct eve *eve = cli_open_eve(&c, &cfg);
    if (!eve)
        return 2;
    char err[512];
    struct icap_server *s = icap_server_new(&cfg, eve, err, sizeof(err));
    if (!s) {
        fprintf(stderr, "nightjar-icap: %s\n", err);
        cli_close_eve(eve);
        return 2;
    }
    cli_signals();
    fprintf(stderr, "nightjar-icap: listening on %s, service icap://%s%s; fail %s; "
            "internal networks (anomaly.home-nets): %s\n", icap_server_address(s),
            icap_server_address(s), cfg.icap.service,
            cfg.icap.fail_open ? "open (what cannot be judged passes)"
                               : "closed (what cannot be judged is blocked)",
            cfg.anomaly.home_nets);
    rc = icap_server_run(s, &cli_stop, &cli_reload);
    icap_server_free(s);
    cli_close_eve(eve);
    fprintf(stderr, "nightjar-icap: stopped\n");
    return rc;
}
