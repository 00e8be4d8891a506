/* cli.h -- the command line and the process around a front end
 * (nightjar-icap, nightjar-mta): the options they share (-c, -s, -o,
 * --intel, --intel-dir, --yara, --dump-config, -h, -V) and each one's own
 * (a table of long and short names and the setting each sets), the YAML
 * file read before the other options so they win over it, the EVE output
 * opened from the eve-log.* settings, and the signals: SIGINT and SIGTERM
 * stop, SIGHUP reloads, SIGPIPE is ignored. Never serves anything.
 */
#ifndef NIGHTJAR_FRONTEND_CLI_H
#define NIGHTJAR_FRONTEND_CLI_H

#include <signal.h>
#include <stdbool.h>
#include <stdio.h>

#include "config/config.h"
#include "output/eve.h"

/* One of a front end's own options. */
struct cli_flag {
    const char *name;          /* --name */
    int short_opt;             /* -x, or 0 */
    const char *setting;       /* what it sets */
    const char *value;         /* for an option without argument: the value; NULL: it takes one */
};

struct cli {
    const char *prog;          /* "nightjar-mta": every message starts with it */
    void (*usage)(FILE *out);
    const struct cli_flag *flags;
    unsigned n_flags;
};

/* Reads the options into cfg (defaults already in it). -1: go on; else the
 * exit status (0 after --help, --version, --dump-config; 2 on an error,
 * said on stderr). */
int cli_parse(const struct cli *c, int argc, char **argv, struct nj_config *cfg);

/* The EVE output of cfg; NULL, said on stderr, when it cannot be opened. */
struct eve *cli_open_eve(const struct cli *c, const struct nj_config *cfg);
/* Gives a socket, syslog or Redis sink its drain time, then closes. */
void cli_close_eve(struct eve *eve);

/* Installs the handlers; the loop reads these. */
extern volatile sig_atomic_t cli_stop, cli_reload;
void cli_signals(void);

#endif
