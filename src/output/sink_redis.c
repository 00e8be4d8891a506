/* sink_redis.c -- EVE records into Redis with hiredis, as Suricata's
 * filetype redis does: LPUSH or RPUSH onto a list, PUBLISH on a channel,
 * or XADD to a stream (MAXLEN ~ N, then one field, "event", holding the
 * record's JSON). Each record is one list element, message or entry,
 * without its final newline.
 *
 * A batch of records is pipelined: every command is appended, then the
 * replies are read in order, so a batch costs one round trip. A reply that
 * is an error (a key of another type, out of memory) refuses that record
 * alone: it is counted and not sent again, since it would be refused again.
 * A connection that fails mid-batch leaves the records without a reply in
 * the spool for the next connection: a command the server had carried out
 * before it went away may then be carried out twice (at least once).
 *
 * hiredis' blocking API is enough here: the writer thread owns the
 * connection, and redisSetTimeout bounds every read and write.
 */
#include "output/sink_internal.h"
#include "output/sink_peer.h"

#include <hiredis/hiredis.h>
#include <string.h>

static struct timeval ms_tv(unsigned ms)
{
    struct timeval tv = { (time_t)(ms / 1000), (suseconds_t)(ms % 1000) * 1000 };
    return tv;
}

redisContext *sink_redis_dial(const char *server, unsigned port,
                              unsigned timeout_ms, char *err, size_t errlen)
{
    struct timeval tv = ms_tv(timeout_ms);
    redisContext *c = strchr(server, '/')
                          ? redisConnectUnixWithTimeout(server, tv)
                          : redisConnectWithTimeout(server, (int)port, tv);
    if (!c) {
        snprintf(err, errlen, "cannot allocate a connection");
        return NULL;
    }
    if (c->err) {
        snprintf(err, errlen, "connect: %s", c->errstr);
        redisFree(c);
        return NULL;
    }
    redisSetTimeout(c, tv);
    /* a server that needs AUTH, or is loading its data, says so here */
    redisReply *r = redisCommand(c, "PING");
    if (!r || r->type == REDIS_REPLY_ERROR) {
        snprintf(err, errlen, "PING: %s", r ? r->str : c->errstr);
        if (r)
            freeReplyObject(r);
        redisFree(c);
        return NULL;
    }
    freeReplyObject(r);
    return c;
}

static bool redis_connect(struct sink *s, char *err, size_t errlen)
{
    s->redis = sink_redis_dial(s->cfg.redis_server, s->cfg.redis_port,
                               s->cfg.io_timeout_ms, err, errlen);
    return s->redis != NULL;
}

static void redis_disconnect(struct sink *s)
{
    if (s->redis)
        redisFree(s->redis);
    s->redis = NULL;
}

static int build_argv(const struct sink *s, const struct spool_rec *rec,
                      char *maxlen, size_t maxlen_size, const char **argv,
                      size_t *argvlen)
{
    static const char *const cmd[] = { "LPUSH", "RPUSH", "PUBLISH", "XADD" };
    int n = 0;
    argv[n++] = cmd[s->cfg.redis_mode];
    argv[n++] = s->cfg.redis_key;
    if (s->cfg.redis_mode == SINK_REDIS_XADD) {
        if (s->cfg.redis_stream_maxlen) {
            snprintf(maxlen, maxlen_size, "%llu",
                     (unsigned long long)s->cfg.redis_stream_maxlen);
            argv[n++] = "MAXLEN";
            argv[n++] = "~";
            argv[n++] = maxlen;
        }
        argv[n++] = "*";
        argv[n++] = SINK_REDIS_STREAM_FIELD;
    }
    for (int i = 0; i < n; i++)
        argvlen[i] = strlen(argv[i]);
    argv[n] = rec->data;
    argvlen[n] = sink_rec_len(rec);
    return n + 1;
}

static size_t redis_send(struct sink *s, const struct spool_rec *recs,
                         size_t n, size_t *rejected, bool *broken, char *err,
                         size_t errlen)
{
    redisContext *c = s->redis;
    char maxlen[24];
    const char *argv[8];
    size_t argvlen[8];
    for (size_t i = 0; i < n; i++) {
        int argc = build_argv(s, &recs[i], maxlen, sizeof(maxlen), argv, argvlen);
        if (redisAppendCommandArgv(c, argc, argv, argvlen) != REDIS_OK) {
            *broken = true;
            snprintf(err, errlen, "%s", c->errstr[0] ? c->errstr : "out of memory");
            return 0;
        }
    }
    for (size_t i = 0; i < n; i++) {
        redisReply *r = NULL;
        if (redisGetReply(c, (void **)&r) != REDIS_OK || !r) {
            *broken = true;
            snprintf(err, errlen, "%s", c->errstr[0] ? c->errstr : "no reply");
            return i;
        }
        if (r->type == REDIS_REPLY_ERROR) {
            (*rejected)++;
            if (!s->told_rejected)
                fprintf(stderr, "nightjar: EVE output %s: Redis refused a "
                        "record: %s (such records are counted and dropped)\n",
                        s->desc, r->str);
            s->told_rejected = true;
        }
        freeReplyObject(r);
    }
    return n;
}

const struct sink_backend sink_redis_backend = {
    .connect = redis_connect,
    .send = redis_send,
    .disconnect = redis_disconnect,
};
