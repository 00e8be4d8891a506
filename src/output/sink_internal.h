/* sink_internal.h -- what the sink backends (sink_unix.c, sink_redis.c,
 * sink_kafka.c)
 * share with sink.c, which owns the spool, the writer thread and the
 * counters. A backend only connects, sends and disconnects; it is called
 * from the writer thread alone.
 */
#ifndef NIGHTJAR_SINK_INTERNAL_H
#define NIGHTJAR_SINK_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>

#include "output/sink.h"
#include "output/spool.h"

struct sink_backend {
    /* Makes a connection. False with a reason in err. */
    bool (*connect)(struct sink *s, char *err, size_t errlen);
    /* Sends records from the front of the spool. Returns how many are
     * done with (sent, or refused by the peer: *rejected of them), in
     * order; the rest stay for the next call. *broken when the connection
     * must be dropped (reason in err); a timeout is not broken: the peer is
     * slow, and the next call goes on. */
    size_t (*send)(struct sink *s, const struct spool_rec *recs, size_t n,
                   size_t *rejected, bool *broken, char *err, size_t errlen);
    void (*disconnect)(struct sink *s);
    /* Kafka: records are done when the client library took them; the
     * backend counts written (and delivery failures) itself as the peer
     * confirms them, and is called with idle() at least every 100 ms to
     * hear those confirmations. NULL idle for the others. */
    bool confirms_later;
    void (*idle)(struct sink *s);
};

extern const struct sink_backend sink_unix_backend;   /* dgram, stream, syslog */
extern const struct sink_backend sink_redis_backend;
extern const struct sink_backend sink_kafka_backend;

/* Kafka settings checked without a network: false with a reason naming
 * the setting (a librdkafka property it does not know, a bad value). */
bool sink_kafka_check(const struct sink_config *sc, char *err, size_t errlen);

struct sink {
    struct sink_config cfg;     /* strings point at the copies below */
    char *path, *server, *key, *ident, *syslog_path;
    char *brokers, *topic, *options;
    char desc[256];             /* sink_describe */

    /* regular file */
    FILE *fp;
    bool own_fp;
    char *iobuf;                /* own_fp's stdio buffer (SINK_FILE_BUFFER) */

    /* peers: the spool and the thread that empties it */
    const struct sink_backend *be;
    struct spool spool;
    pthread_t thread;
    bool thread_started, shut;
    uint64_t patience_usec;     /* how long a full spool is waited for */
    atomic_bool stopping;
    struct timespec deadline;   /* CLOCK_MONOTONIC; set before stopping */

    /* backend state, writer thread only */
    bool connected;
    int fd;                     /* unix sockets */
    size_t partial;             /* stream: bytes of the first record sent */
    void *redis;                /* redisContext */
    void *kafka;                /* sink_kafka.c's producer state */
    bool told_rejected;         /* the first refusal was reported */

    atomic_uint_fast64_t written, rejected, reconnects, errors, dropped_exit;
    atomic_uint_fast64_t queue_full;  /* kafka: librdkafka's queue was full */
    atomic_uint_fast64_t delivery_failed, in_flight; /* kafka */
};

/* The record without its final '\n': what a datagram or entry carries. */
static inline size_t sink_rec_len(const struct spool_rec *r)
{
    return r->len && r->data[r->len - 1] == '\n' ? r->len - 1 : r->len;
}

/* A kafka record in the spool is [key length: 1 byte][key][record]: the
 * key travels with its record without a second ring. */
static inline void sink_rec_split(const struct spool_rec *r,
                                  struct spool_rec *key, struct spool_rec *rec)
{
    size_t klen = r->len ? (unsigned char)r->data[0] : 0;
    if (1 + klen > r->len)
        klen = r->len ? r->len - 1 : 0;
    key->data = r->data + (r->len ? 1 : 0);
    key->len = klen;
    rec->data = key->data + klen;
    rec->len = r->len - (r->len ? 1 : 0) - klen;
}

#endif
