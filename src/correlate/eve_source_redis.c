/* eve_source_redis.c -- EVE records from Redis, read back the way the sink
 * writes them (see eve_source.h, output/sink_redis.c):
 *
 * - stream (XADD): XREADGROUP through the consumer group correlate.group
 *   (made at the stream's beginning, MKSTREAM, when missing), as consumer
 *   <hostname>; first the entries this consumer was given and never
 *   acknowledged (a run that stopped in the middle), then new ones. Each
 *   entry is XACKed once handled: at least once. The record is the entry's
 *   "eve" field.
 * - list (LPUSH) and rpush (RPUSH): popped from the other end (BRPOP,
 *   BLPOP), so records come in the order they were pushed. A popped record
 *   is gone from Redis: a correlator that dies with it loses it (at most
 *   once).
 * - channel (PUBLISH): SUBSCRIBE; what is published while no correlator
 *   listens is lost.
 *
 * Owns the connection and the replies it hands records out of. A
 * connection that fails is made again (at most once a second) without
 * losing a stream's place, since the group keeps it. Never writes to the
 * key.
 */
#include "correlate/eve_source.h"

#include <hiredis/hiredis.h>

#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "output/sink.h"
#include "output/sink_peer.h"
#include "util/clock.h"

#define STREAM_BATCH "256"
#define RETRY_USEC 1000000u

struct redis_source {
    struct eve_source base;
    redisContext *c;
    struct sink_config cfg;       /* strings point at the copies below */
    char server[256], key[256], group[256], consumer[256];
    unsigned wait_ms;             /* the longest wait the caller asks for */
    redisReply *reply;            /* what the records handed out are in */
    size_t next;                  /* stream: the next entry of reply */
    char last_id[64];             /* stream: the entry handed out, to XACK */
    bool backlog;                 /* stream: reading our unacknowledged ones */
    uint64_t retry_at;            /* monotonic usec of the next connect */
    bool told_down;
};

static void drop_reply(struct redis_source *r)
{
    if (r->reply)
        freeReplyObject(r->reply);
    r->reply = NULL;
    r->next = 0;
}

static void say_down(struct redis_source *r, const char *why)
{
    if (!r->told_down)
        fprintf(stderr, "nightjar correlate: %s: %s; connecting again\n",
                r->base.desc, why);
    r->told_down = true;
}

static void disconnect(struct redis_source *r, const char *why)
{
    say_down(r, why);
    drop_reply(r);
    if (r->c)
        redisFree(r->c);
    r->c = NULL;
    r->retry_at = mono_usec() + RETRY_USEC;
}

/* A command whose reply is not an error (BUSYGROUP, the group exists,
 * counts as fine when ok_error names it). */
static bool command_ok(redisContext *c, const char *ok_error, char *err,
                       size_t errlen, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    redisReply *rep = redisvCommand(c, fmt, ap);
    va_end(ap);
    bool ok = rep && (rep->type != REDIS_REPLY_ERROR ||
                      (ok_error && !strncmp(rep->str, ok_error, strlen(ok_error))));
    if (!ok)
        snprintf(err, errlen, "%s", rep ? rep->str : c->errstr);
    if (rep)
        freeReplyObject(rep);
    return ok;
}

/* Connects and sets the key up for reading (the group, the subscription). */
static bool redis_open(struct redis_source *r, char *err, size_t errlen)
{
    const struct sink_config *sc = &r->cfg;
    redisContext *c = sink_redis_dial(sc->redis_server, sc->redis_port,
                                      sc->io_timeout_ms + r->wait_ms, err, errlen);
    if (!c)
        return false;
    bool ok = true;
    if (sc->redis_mode == SINK_REDIS_XADD)
        ok = command_ok(c, "BUSYGROUP", err, errlen, "XGROUP CREATE %s %s 0 MKSTREAM",
                        r->key, r->group);
    else if (sc->redis_mode == SINK_REDIS_PUBLISH)
        ok = command_ok(c, NULL, err, errlen, "SUBSCRIBE %s", r->key);
    if (!ok) {
        redisFree(c);
        return false;
    }
    r->c = c;
    r->backlog = true;
    if (r->told_down)
        fprintf(stderr, "nightjar correlate: %s: connected\n", r->base.desc);
    r->told_down = false;
    return true;
}

/* ---- stream --------------------------------------------------------------- */

/* The record of entry [id, [field, value, ...]]: its "eve" field. */
static bool entry_record(const redisReply *e, const char **rec, size_t *len,
                         char *id, size_t idlen)
{
    if (e->type != REDIS_REPLY_ARRAY || e->elements != 2 ||
        e->element[0]->type != REDIS_REPLY_STRING)
        return false;
    snprintf(id, idlen, "%s", e->element[0]->str);
    const redisReply *f = e->element[1];
    for (size_t i = 0; f->type == REDIS_REPLY_ARRAY && i + 1 < f->elements; i += 2)
        if (f->element[i]->type == REDIS_REPLY_STRING &&
            !strcmp(f->element[i]->str, SINK_REDIS_STREAM_FIELD) &&
            f->element[i + 1]->type == REDIS_REPLY_STRING) {
            *rec = f->element[i + 1]->str;
            *len = f->element[i + 1]->len;
            return true;
        }
    *rec = "";       /* trimmed away, or not ours: malformed, acknowledged */
    *len = 0;
    return true;
}

/* The entries of an XREADGROUP reply [[key, [entry, ...]]], or NULL. */
static const redisReply *stream_entries(const redisReply *rep)
{
    if (!rep || rep->type != REDIS_REPLY_ARRAY || rep->elements < 1)
        return NULL;
    const redisReply *k = rep->element[0];
    if (k->type != REDIS_REPLY_ARRAY || k->elements != 2 ||
        k->element[1]->type != REDIS_REPLY_ARRAY)
        return NULL;
    return k->element[1];
}

static bool stream_read(struct redis_source *r, unsigned wait_ms)
{
    char block[24];
    snprintf(block, sizeof(block), "%u", wait_ms);
    drop_reply(r);
    r->reply = redisCommand(r->c, "XREADGROUP GROUP %s %s COUNT " STREAM_BATCH
                            " BLOCK %s STREAMS %s %s", r->group, r->consumer,
                            block, r->key, r->backlog ? "0" : ">");
    if (!r->reply) {
        disconnect(r, r->c->errstr);
        return false;
    }
    if (r->reply->type == REDIS_REPLY_ERROR) {   /* the group was deleted */
        char why[256];
        snprintf(why, sizeof(why), "%s", r->reply->str);
        disconnect(r, why);
        return false;
    }
    const redisReply *es = stream_entries(r->reply);
    if (r->backlog && (!es || es->elements == 0))
        r->backlog = false;       /* our backlog is done: new entries now */
    return true;
}

static enum source_result stream_next(struct redis_source *r, const char **rec,
                                      size_t *len, unsigned wait_ms)
{
    const redisReply *es = stream_entries(r->reply);
    if (!es || r->next >= es->elements) {
        bool backlog = r->backlog;
        if (!stream_read(r, wait_ms))
            return SOURCE_BUSY;
        es = stream_entries(r->reply);
        if (!es || es->elements == 0)
            return backlog ? SOURCE_BUSY : SOURCE_IDLE;
    }
    if (!entry_record(es->element[r->next++], rec, len, r->last_id,
                      sizeof(r->last_id)))
        return SOURCE_BUSY;
    return SOURCE_RECORD;
}

/* ---- list and channel ----------------------------------------------------- */

static enum source_result list_next(struct redis_source *r, const char **rec,
                                    size_t *len, unsigned wait_ms)
{
    char secs[24];
    snprintf(secs, sizeof(secs), "%u.%03u", wait_ms / 1000, wait_ms % 1000);
    drop_reply(r);
    /* LPUSH puts the newest at the head: the oldest is at the tail */
    r->reply = redisCommand(r->c, "%s %s %s",
                            r->cfg.redis_mode == SINK_REDIS_LPUSH ? "BRPOP" : "BLPOP",
                            r->key, secs);
    if (!r->reply || r->reply->type == REDIS_REPLY_ERROR) {
        disconnect(r, r->reply ? r->reply->str : r->c->errstr);
        return SOURCE_BUSY;
    }
    if (r->reply->type != REDIS_REPLY_ARRAY || r->reply->elements != 2)
        return SOURCE_IDLE;       /* nil: the wait passed */
    *rec = r->reply->element[1]->str ? r->reply->element[1]->str : "";
    *len = r->reply->element[1]->len;
    return SOURCE_RECORD;
}

/* A published message ["message", channel, record], waiting at most
 * wait_ms for it to arrive without tripping the connection's timeout. */
static enum source_result channel_next(struct redis_source *r, const char **rec,
                                       size_t *len, unsigned wait_ms)
{
    void *rep = NULL;
    drop_reply(r);
    if (redisGetReplyFromReader(r->c, &rep) != REDIS_OK)
        goto broken;
    if (!rep) {
        struct pollfd p = { .fd = r->c->fd, .events = POLLIN };
        if (poll(&p, 1, (int)wait_ms) <= 0)
            return SOURCE_IDLE;
        if (redisBufferRead(r->c) != REDIS_OK ||
            redisGetReplyFromReader(r->c, &rep) != REDIS_OK)
            goto broken;
        if (!rep)
            return SOURCE_BUSY;   /* part of a message: the rest comes */
    }
    r->reply = rep;
    if (r->reply->type != REDIS_REPLY_ARRAY || r->reply->elements != 3 ||
        r->reply->element[2]->type != REDIS_REPLY_STRING)
        return SOURCE_BUSY;       /* a subscription's confirmation */
    *rec = r->reply->element[2]->str;
    *len = r->reply->element[2]->len;
    return SOURCE_RECORD;
broken:
    disconnect(r, r->c->errstr[0] ? r->c->errstr : "connection lost");
    return SOURCE_BUSY;
}

/* ---- the source ----------------------------------------------------------- */

static enum source_result redis_next(struct eve_source *s, const char **rec,
                                     size_t *len, unsigned wait_ms)
{
    struct redis_source *r = (struct redis_source *)s;
    if (wait_ms > r->wait_ms)
        wait_ms = r->wait_ms;
    if (!r->c) {
        /* the next attempt is due at retry_at: only a failed one moves it
         * (moving it on every wait would put it off for ever) */
        char err[256];
        if (mono_usec() < r->retry_at) {
            usleep(wait_ms * 1000u);
            return SOURCE_IDLE;
        }
        if (!redis_open(r, err, sizeof(err))) {
            r->retry_at = mono_usec() + RETRY_USEC;
            usleep(wait_ms * 1000u);
            return SOURCE_IDLE;
        }
    }
    switch (r->cfg.redis_mode) {
    case SINK_REDIS_XADD: return stream_next(r, rec, len, wait_ms);
    case SINK_REDIS_PUBLISH: return channel_next(r, rec, len, wait_ms);
    default: return list_next(r, rec, len, wait_ms);
    }
}

static void redis_done(struct eve_source *s, bool wrote)
{
    struct redis_source *r = (struct redis_source *)s;
    (void)wrote;              /* every entry is acknowledged as it is done */
    if (r->cfg.redis_mode != SINK_REDIS_XADD || !r->c || !r->last_id[0])
        return;
    char err[256];
    if (!command_ok(r->c, NULL, err, sizeof(err), "XACK %s %s %s", r->key,
                    r->group, r->last_id))
        disconnect(r, err);   /* unacknowledged: read again (at least once) */
    r->last_id[0] = '\0';
}

static void redis_close(struct eve_source *s)
{
    struct redis_source *r = (struct redis_source *)s;
    drop_reply(r);
    if (r->c)
        redisFree(r->c);
    free(r);
}

static const struct eve_source_ops redis_ops = {
    .next = redis_next, .done = redis_done, .close = redis_close,
};

static void copy_config(struct redis_source *r, const struct sink_config *sc,
                        const char *group)
{
    r->cfg = *sc;
    snprintf(r->server, sizeof(r->server), "%s", sc->redis_server);
    snprintf(r->key, sizeof(r->key), "%s", sc->redis_key);
    snprintf(r->group, sizeof(r->group), "%s", group);
    r->cfg.redis_server = r->server;
    r->cfg.redis_key = r->key;
    if (gethostname(r->consumer, sizeof(r->consumer)) != 0 || !r->consumer[0])
        snprintf(r->consumer, sizeof(r->consumer), "nightjar");
    r->consumer[sizeof(r->consumer) - 1] = '\0';
}

struct eve_source *eve_source_redis(const struct sink_config *sc,
                                    const char *group, char *err, size_t errlen)
{
    struct redis_source *r = calloc(1, sizeof(*r));
    if (!r) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    copy_config(r, sc, group);
    r->wait_ms = 500;
    static const char *const how[] = { "list", "rpush", "channel", "stream" };
    snprintf(r->base.desc, sizeof(r->base.desc), "redis %.80s:%u (%s %.80s%s%.64s)",
             r->server, sc->redis_port, how[sc->redis_mode], r->key,
             sc->redis_mode == SINK_REDIS_XADD ? ", group " : "",
             sc->redis_mode == SINK_REDIS_XADD ? r->group : "");
    r->base.ops = &redis_ops;
    char why[256];
    if (!redis_open(r, why, sizeof(why))) {
        snprintf(err, errlen, "%s: %s", r->base.desc, why);
        free(r);
        return NULL;
    }
    return &r->base;
}
