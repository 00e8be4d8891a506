/* correlate_main.c -- `nightjar correlate` (see correlate_main.h).
 *
 * Settings as the sensor reads them (defaults, -c FILE, then --set and the
 * options; frontend/cli.c): where to read from (--from: correlate.from),
 * the stream's settings (eve-log.kafka.*, eve-log.redis.*, the same a
 * sensor's sink uses), the group (correlate.group), the incidents'
 * timeout (anomaly.incident-timeout) and the output (-o, eve-log.*).
 *
 * Each record is read back (eve_findings.h); a finding joins its host's
 * incident, and what that changed -- an incident opened or escalated, the
 * host-compromised alert -- is written at once, stamped with the record's
 * traffic time; then the source is told the record is done (a Kafka
 * offset, a Redis XACK). Every record's time moves the incidents' clock
 * forward (incidents idle for the timeout close). At the end -- a file's
 * end, SIGINT or SIGTERM, or --idle-exit seconds with nothing new -- the
 * open incidents close ("end of input", at the newest time read) and a
 * summary goes to stderr. Never acknowledges a record before its output is
 * written; never writes the sensors' findings again (they are in the
 * stream already).
 */
#include "correlate/correlate_main.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "correlate/eve_findings.h"
#include "correlate/eve_source.h"
#include "correlate/incidents.h"
#include "frontend/cli.h"
#include "output/eve_finding.h"
#include "output/sink.h"
#include "util/clock.h"

#define PROG "nightjar correlate"
#define WAIT_MS 500u
#define INCIDENT_SLOTS 1024     /* as the sensor's pipeline */

struct correlator {
    struct eve *eve;
    struct incidents *in;
    uint16_t seed;
    uint64_t newest_usec;       /* the latest record time read */
    uint64_t records, findings, own, other, malformed;
};

static void usage(FILE *out)
{
    fprintf(out,
"Usage: nightjar correlate --from kafka|redis|FILE [options]\n"
"\n"
"The centre of several sensors (docs/deployment.md): reads the EVE records\n"
"they ship, joins every sensor's alerts and anomalies about a host into one\n"
"incident, and writes the central incident events and host-compromised\n"
"alerts as EVE.\n"
"\n"
"      --from kafka       the topic eve-log.kafka.topic on eve-log.kafka.brokers,\n"
"                         as a member of the consumer group correlate.group\n"
"      --from redis       eve-log.redis.key on eve-log.redis.server, read as\n"
"                         eve-log.redis.mode says (stream: through the group\n"
"                         correlate.group; list, rpush: popped; channel)\n"
"      --from FILE        an EVE file, or - for standard input, to its end\n"
"      --idle-exit SECS   kafka, redis: exit after SECS with no new record\n"
"                         (correlate.idle-exit; default: run until SIGINT or\n"
"                         SIGTERM)\n"
"  -o, --output FILE      the central EVE records (eve-log.filename; the\n"
"                         eve-log.filetype sink when it is not regular)\n"
"  -c, --config FILE      YAML configuration (the sensors' settings)\n"
"  -s, --set NAME=VALUE   one setting, e.g. --set correlate.group=centre\n"
"      --dump-config      every setting with its value, then exit\n"
"  -h, --help             this help\n"
"  -V, --version          the version\n"
"\n"
"Skipped: the sensors' own incident events and host-compromised alerts.\n"
"Records that are not JSON EVE are counted as malformed, never fatal.\n");
}

static const struct cli_flag flags[] = {
    { "from", 0, "correlate.from", NULL },
    { "idle-exit", 0, "correlate.idle-exit", NULL },
};

static void on_closed(void *ctx, const struct incident *inc, const char *reason,
                      uint64_t now)
{
    struct correlator *c = ctx;
    eve_write_incident(c->eve, inc, "closed", reason, NULL, now);
}

/* One record: read back, and joined when it is a finding. True when it
 * made output (written, and flushed, before the source is told). */
static bool handle(struct correlator *c, const char *rec, size_t len)
{
    struct eve_finding ef;
    uint64_t ts = 0, before = eve_records(c->eve);
    enum eve_record_kind k = eve_read_record(rec, len, &ef, &ts);
    c->records++;
    c->findings += k == EVE_RECORD_FINDING;
    c->own += k == EVE_RECORD_OWN;
    c->other += k == EVE_RECORD_OTHER;
    c->malformed += k == EVE_RECORD_MALFORMED;
    if (k != EVE_RECORD_MALFORMED && ts > c->newest_usec) {
        c->newest_usec = ts;
        incidents_tick(c->in, ts);
    }
    if (k == EVE_RECORD_FINDING) {
        struct incident_change ch = incidents_add(c->in, &ef.fd);
        eve_write_change(c->eve, &ef.fd, &ch, c->seed);
    }
    bool wrote = eve_records(c->eve) != before;
    if (wrote)
        eve_flush(c->eve);
    return wrote;
}

/* Reads until the end, a signal, or idle_exit seconds with nothing new.
 * False when a file could not be read on. */
static bool run(struct correlator *c, struct eve_source *src, uint32_t idle_exit)
{
    uint64_t last = mono_usec();
    while (!cli_stop) {
        const char *rec;
        size_t len;
        enum source_result r = src->ops->next(src, &rec, &len, WAIT_MS);
        if (r == SOURCE_END || r == SOURCE_FAILED)
            return r == SOURCE_END;
        if (r == SOURCE_RECORD)
            src->ops->done(src, handle(c, rec, len));
        if (r != SOURCE_IDLE)
            last = mono_usec();
        else if (idle_exit && mono_usec() - last >= idle_exit * 1000000ull)
            break;
    }
    return true;
}

static struct eve_source *open_source(const struct nj_config *cfg)
{
    char err[1024];
    struct sink_config sc;
    const char *from = cfg->correlate.from;
    struct eve_source *src = NULL;
    bool ok = *from != '\0';
    if (!ok)
        snprintf(err, sizeof(err), "--from is required: kafka, redis, or an "
                 "EVE file (- for standard input)");
    else
        ok = sink_config_from(&sc, cfg, err, sizeof(err));
    if (ok && !strcmp(from, "kafka"))
        src = eve_source_kafka(&sc, cfg->correlate.group, err, sizeof(err));
    else if (ok && !strcmp(from, "redis"))
        src = eve_source_redis(&sc, cfg->correlate.group, err, sizeof(err));
    else if (ok)
        src = eve_source_file(from, err, sizeof(err));
    if (!src)
        fprintf(stderr, PROG ": %s\n", err);
    return src;
}

static void summary(const struct correlator *c, const struct eve_source *src,
                    const struct nj_config *cfg)
{
    const struct incidents_stats *st = incidents_stats(c->in);
    fprintf(stderr, PROG ": %s: %llu records read: %llu findings, %llu skipped "
            "(the sensors' own incidents and host-compromised alerts), %llu "
            "other, %llu malformed\n", src->desc,
            (unsigned long long)c->records, (unsigned long long)c->findings,
            (unsigned long long)c->own, (unsigned long long)c->other,
            (unsigned long long)c->malformed);
    fprintf(stderr, "  incidents: %llu opened, %llu high (host compromised), "
            "%llu escalated, %llu closed; %llu EVE records written",
            (unsigned long long)st->opened, (unsigned long long)st->compromised,
            (unsigned long long)st->escalated, (unsigned long long)st->closed,
            (unsigned long long)eve_records(c->eve));
    if (!strcmp(cfg->eve_log.filetype, "regular"))
        fprintf(stderr, " to %s", cfg->eve_path);
    fprintf(stderr, "\n");
    fprintf(stderr, "  incident table (%u slots): %llu closed early to make "
            "room, %llu hosts not added (an incident's host list was full)\n",
            (unsigned)INCIDENT_SLOTS, (unsigned long long)st->closed_early,
            (unsigned long long)st->hosts_over_cap);
    if (strcmp(cfg->eve_log.filetype, "regular"))
        sink_summary(eve_sink(c->eve), stderr);
}

int correlate_main(int argc, char **argv)
{
    static struct nj_config cfg;
    static const struct cli cli = { PROG, usage, flags, sizeof(flags) / sizeof(flags[0]) };
    config_defaults(&cfg);
    int rc = cli_parse(&cli, argc, argv, &cfg);
    if (rc >= 0)
        return rc;
    struct eve_source *src = open_source(&cfg);
    if (!src)
        return 2;
    struct correlator c = { .seed = (uint16_t)cfg.community_id_seed };
    c.eve = cli_open_eve(&cli, &cfg);
    c.in = c.eve ? incidents_new(INCIDENT_SLOTS, cfg.anomaly.incident_timeout,
                                 on_closed, &c) : NULL;
    if (!c.in) {
        if (c.eve)
            fprintf(stderr, PROG ": out of memory\n");
        eve_close(c.eve);
        src->ops->close(src);
        return 2;
    }
    cli_signals();
    bool ok = run(&c, src, cfg.correlate.idle_exit);
    incidents_close_all(c.in, c.newest_usec);
    sink_shutdown(eve_sink(c.eve));
    summary(&c, src, &cfg);
    eve_close(c.eve);
    src->ops->close(src);        /* commits only now that all is written */
    incidents_free(c.in);
    return ok ? 0 : 1;
}
