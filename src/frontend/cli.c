/* cli.c -- the front ends' command line and process (see cli.h). */
#include "frontend/cli.h"

#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "output/sink.h"
#include "version.h"

#define MAX_OPTS 32

volatile sig_atomic_t cli_stop, cli_reload;

static void on_signal(int sig)
{
    if (sig == SIGHUP)
        cli_reload = 1;
    else
        cli_stop = 1;
}

void cli_signals(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
}

static int set(const struct cli *c, struct nj_config *cfg, const char *name,
               const char *v)
{
    char err[512];
    if (config_set(cfg, name, v, err, sizeof(err)))
        return -1;
    fprintf(stderr, "%s: %s\n", c->prog, err);
    return 2;
}

/* the shared options: long name, getopt value */
static const struct option shared[] = {
    { "output", required_argument, NULL, 'o' },
    { "config", required_argument, NULL, 'c' },
    { "set", required_argument, NULL, 's' },
    { "yara", required_argument, NULL, 'Y' },
    { "intel", required_argument, NULL, 'I' },
    { "intel-dir", required_argument, NULL, 'J' },
    { "dump-config", no_argument, NULL, 'D' },
    { "help", no_argument, NULL, 'h' },
    { "version", no_argument, NULL, 'V' },
};
#define N_SHARED (sizeof(shared) / sizeof(shared[0]))
#define OWN_BASE 1000            /* getopt values of a front end's own options */

/* The YAML file first, so that every other option wins over it. */
static int config_file(const struct cli *c, int argc, char **argv, struct nj_config *cfg)
{
    char err[512];
    for (int i = 1; i < argc - 1; i++)
        if ((!strcmp(argv[i], "-c") || !strcmp(argv[i], "--config")) &&
            !config_load_yaml(cfg, argv[i + 1], err, sizeof(err))) {
            fprintf(stderr, "%s: %s\n", c->prog, err);
            return 2;
        }
    return -1;
}

static int shared_option(const struct cli *c, int opt, struct nj_config *cfg,
                         bool *dump)
{
    char err[512];
    switch (opt) {
    case 'o': return set(c, cfg, "eve-log.filename", optarg);
    case 'c': return -1; /* read first */
    case 'Y': return set(c, cfg, "yara.rules", optarg);
    case 'J': return set(c, cfg, "intel.dir", optarg);
    case 's':
        if (config_set_assignment(cfg, optarg, err, sizeof(err)))
            return -1;
        fprintf(stderr, "%s: %s\n", c->prog, err);
        return 2;
    case 'I':
        if (cfg->n_intel_feeds >= 64) {
            fprintf(stderr, "%s: at most 64 --intel feeds\n", c->prog);
            return 2;
        }
        cfg->intel_feeds[cfg->n_intel_feeds++] = optarg;
        return -1;
    case 'D': *dump = true; return -1;
    case 'h': c->usage(stdout); return 0;
    case 'V': printf("%s %s\n", c->prog, NIGHTJAR_VERSION); return 0;
    default: return 2;
    }
}

int cli_parse(const struct cli *c, int argc, char **argv, struct nj_config *cfg)
{
    struct option longopts[MAX_OPTS + 1];
    char shorts[3 * MAX_OPTS] = ":o:c:s:hV";
    unsigned n = 0;
    for (unsigned i = 0; i < N_SHARED; i++)
        longopts[n++] = shared[i];
    for (unsigned i = 0; i < c->n_flags && n < MAX_OPTS; i++) {
        const struct cli_flag *f = &c->flags[i];
        longopts[n++] = (struct option){ f->name, f->value ? no_argument : required_argument,
                                         NULL, f->short_opt ? f->short_opt : (int)(OWN_BASE + i) };
        if (f->short_opt) {
            size_t l = strlen(shorts);
            shorts[l] = (char)f->short_opt;
            shorts[l + 1] = f->value ? '\0' : ':';
            shorts[l + 2] = '\0';
        }
    }
    longopts[n] = (struct option){ NULL, 0, NULL, 0 };
    int rc = config_file(c, argc, argv, cfg);
    bool dump = false;
    int opt;
    opterr = 0;
    while (rc < 0 && (opt = getopt_long(argc, argv, shorts, longopts, NULL)) != -1) {
        const struct cli_flag *own = NULL;
        for (unsigned i = 0; i < c->n_flags; i++)
            if (opt == (c->flags[i].short_opt ? c->flags[i].short_opt : (int)(OWN_BASE + i)))
                own = &c->flags[i];
        if (own)
            rc = set(c, cfg, own->setting, own->value ? own->value : optarg);
        else if (opt == ':' || opt == '?') {
            fprintf(stderr, opt == ':' ? "%s: option '%s' needs a value\n"
                                       : "%s: unknown option '%s' (try --help)\n",
                    c->prog, argv[optind - 1]);
            rc = 2;
        } else {
            rc = shared_option(c, opt, cfg, &dump);
        }
    }
    if (rc >= 0)
        return rc;
    char err[512];
    if (optind < argc) {
        fprintf(stderr, "%s: unexpected argument '%s' (try --help)\n", c->prog,
                argv[optind]);
        return 2;
    }
    if (!config_validate(cfg, err, sizeof(err))) {
        fprintf(stderr, "%s: %s\n", c->prog, err);
        return 2;
    }
    if (dump) {
        config_dump(cfg, stdout);
        return 0;
    }
    return -1;
}

struct eve *cli_open_eve(const struct cli *c, const struct nj_config *cfg)
{
    char err[512];
    struct sink_config sc;
    if (!sink_config_from(&sc, cfg, err, sizeof(err))) {
        fprintf(stderr, "%s: %s\n", c->prog, err);
        return NULL;
    }
    struct eve *eve = eve_open(&sc);
    if (!eve)
        fprintf(stderr, "%s: cannot write EVE log %s: %s\n", c->prog, cfg->eve_path,
                strerror(errno));
    return eve;
}

void cli_close_eve(struct eve *eve)
{
    sink_shutdown(eve_sink(eve));
    eve_close(eve);
}
