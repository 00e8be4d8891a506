/* mta_main.c -- nightjar-mta: the command line of the mail relay
 * (docs/mta.md), on the front ends' shared command line (frontend/cli.h):
 * its own options, the server and the delivery thread started and run
 * until SIGINT or SIGTERM; SIGHUP reloads feeds and reopens the log. Owns
 * process setup only; never speaks SMTP.
 */
#include <stdio.h>
#include <string.h>

#include "frontend/cli.h"
#include "mta/mta_server.h"

static void usage(FILE *out)
{
    fprintf(out,
"Usage: nightjar-mta --listen ADDR:PORT --relay HOST:PORT --queue DIR [options]\n"
"\n"
"SMTP relay for the mail chain: takes mail from the upstream MTA (ESMTP:\n"
"PIPELINING, SIZE, 8BITMIME, SMTPUTF8, ENHANCEDSTATUSCODES, STARTTLS), judges\n"
"it with nightjar's detectors -- threat-intelligence indicators, YARA rules,\n"
"file hashes and types, the delivery rules -- and queues it durably (250\n"
"only once it is fsync'd) for delivery to the next hop, with retries, over\n"
"STARTTLS when it offers it (mta.relay-tls). Malicious mail is rejected\n"
"with 550 5.7.1, quarantined or tagged (mta.action).\n"
"\n"
"  -l, --listen ADDR:PORT   where to take mail (mta.listen, 127.0.0.1:10025)\n"
"  -r, --relay HOST:PORT    the next hop (mta.relay, 127.0.0.1:10026)\n"
"  -q, --queue DIR          the queue (mta.queue, /var/spool/nightjar-mta)\n"
"      --tls-cert FILE      PEM certificate (and chain) for STARTTLS (mta.tls-cert)\n"
"      --tls-key FILE       its PEM private key (mta.tls-key); with both, EHLO\n"
"                           offers STARTTLS; mta.tls-require: yes makes it a must\n"
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

static const struct cli_flag flags[] = {
    { "listen", 'l', "mta.listen", NULL },
    { "relay", 'r', "mta.relay", NULL },
    { "queue", 'q', "mta.queue", NULL },
    { "tls-cert", 0, "mta.tls-cert", NULL },
    { "tls-key", 0, "mta.tls-key", NULL },
};

int main(int argc, char **argv)
{
    static struct nj_config cfg;
    config_defaults(&cfg);
    snprintf(cfg.eve_path, sizeof(cfg.eve_path), "nightjar-mta-eve.json");
    const struct cli c = { "nightjar-mta", usage, flags, sizeof(flags) / sizeof(flags[0]) };
    int rc = cli_parse(&c, argc, argv, &cfg);
    if (rc >= 0)
        return rc;
    struct eve *eve = cli_open_eve(&c, &cfg);
    if (!eve)
        return 2;
    char err[512];
    struct mta_server *s = mta_server_new(&cfg, eve, err, sizeof(err));
    if (!s) {
        fprintf(stderr, "nightjar-mta: %s\n", err);
        cli_close_eve(eve);
        return 2;
    }
    cli_signals();
    fprintf(stderr, "nightjar-mta: listening on %s (STARTTLS: %s), relaying to %s "
            "(TLS: %s%s), queue %s (%u messages waiting); malicious mail: %s; "
            "internal networks (anomaly.home-nets): %s\n", mta_server_address(s),
            !mta_server_tls(s) ? "not offered" : cfg.mta.tls_require ? "required"
            : "offered", cfg.mta.relay, cfg.mta.relay_tls,
            cfg.mta.relay_tls_verify ? ", verified" : "", cfg.mta.queue,
            mta_server_recovered(s), cfg.mta.action, cfg.anomaly.home_nets);
    rc = mta_server_run(s, &cli_stop, &cli_reload);
    mta_server_free(s);
    cli_close_eve(eve);
    fprintf(stderr, "nightjar-mta: stopped\n");
    return rc;
}
