/* sink.h -- where EVE records go: a regular file, a unix socket, syslog,
 * Redis or Kafka, with Suricata's eve-log names (filetype regular |
 * unix_dgram | unix_stream | syslog | redis) and nightjar's kafka.
 *
 * The renderer (eve.c) builds each record and hands it over with
 * sink_write; a sink never looks inside. A regular file is written on the
 * caller's thread through stdio, as before there were sinks. Every other
 * sink is a peer that can be slow or gone, so it gets a bounded spool
 * (spool.h) and a writer thread: sink_write copies the record into the
 * spool and returns, the thread sends, reconnects with exponential backoff
 * when the peer goes away, and the spool holds what waits meanwhile. When
 * the spool is full a new record is dropped and counted; the packet path
 * never waits for a peer.
 *
 * Delivery is at least once: a record whose reply was lost with its
 * connection is sent again on the next one.
 *
 * A record may carry a key: the host it is about, as text (the renderer
 * knows it; the sink never parses a record to find it). Kafka uses it as
 * the message key, so that one host's records stay on one partition, in
 * order; every other sink ignores it.
 */
#ifndef NIGHTJAR_SINK_H
#define NIGHTJAR_SINK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

struct json;
struct nj_config;

enum sink_type {
    SINK_REGULAR,
    SINK_UNIX_DGRAM,
    SINK_UNIX_STREAM,
    SINK_SYSLOG,
    SINK_REDIS,
    SINK_KAFKA,
};

/* The longest key a record may carry (an address is at most 45 bytes). */
#define SINK_KEY_MAX 255

enum sink_redis_mode {
    SINK_REDIS_LPUSH,    /* "list" or "lpush", as in Suricata */
    SINK_REDIS_RPUSH,
    SINK_REDIS_PUBLISH,  /* "channel" or "publish" */
    SINK_REDIS_XADD,     /* "stream" or "xadd" */
};

/* The field of a stream entry that holds the record's JSON. */
#define SINK_REDIS_STREAM_FIELD "eve"   /* Suricata's field name */

struct sink_config {
    enum sink_type type;
    const char *path;            /* regular file ("-": stdout), unix socket */
    const char *redis_server;    /* host, address, or a unix socket path */
    unsigned redis_port;
    enum sink_redis_mode redis_mode;
    const char *redis_key;       /* list, channel or stream */
    uint64_t redis_stream_maxlen; /* XADD MAXLEN ~ N; 0: no trimming */
    const char *kafka_brokers;   /* bootstrap list "host:port,host:port" */
    const char *kafka_topic;
    const char *kafka_options;   /* "name=value, ..." librdkafka properties */
    int syslog_facility;         /* LOG_LOCAL0, ... */
    int syslog_level;            /* LOG_INFO, ... */
    const char *syslog_ident;
    const char *syslog_path;     /* "/dev/log"; tests point it elsewhere */
    uint64_t spool_size;         /* bytes of records waiting for a peer */
    unsigned drain_ms;           /* at exit, time to send what waits */
    unsigned backoff_min_ms, backoff_max_ms; /* between connection attempts */
    unsigned io_timeout_ms;      /* one connect, send or reply */
};

/* A regular file (or "-") with every other field at its default. */
void sink_config_file(struct sink_config *sc, const char *path);

/* From the eve-log.* settings. The strings point into c, which must
 * outlive sc (sink_open copies what it keeps). False with a message naming
 * the setting when a value is not one of those allowed. */
bool sink_config_from(struct sink_config *sc, const struct nj_config *c,
                      char *err, size_t errlen);

struct sink;

/* Opens the file, or starts the writer thread of a peer (which connects on
 * its own: a peer that is down is not an error here). NULL and errno when
 * the file cannot be opened or memory or a thread cannot be had. */
struct sink *sink_open(const struct sink_config *sc);

/* One record, ending in '\n' (stream sinks send it as is; datagram, syslog
 * and Redis sinks send it without). False when it could not be written or
 * spooled (then counted in the sink's drops or errors). */
bool sink_write(struct sink *s, const char *rec, size_t len);
/* The same with the record's key (NULL or key_len 0: none; longer than
 * SINK_KEY_MAX: sent without one). */
bool sink_write_keyed(struct sink *s, const char *rec, size_t len,
                      const char *key, size_t key_len);

/* Regular file: stdio's buffer to the kernel. Others: nothing to do (their
 * thread sends as records come). False on a write error. */
bool sink_flush(struct sink *s);

/* SIGHUP: a regular file is closed and opened again by name, so a rotated
 * log is let go (if the new one cannot be opened, writing goes on into the
 * old one and the error is counted). Nothing for the others. */
void sink_reopen(struct sink *s);

/* Stops the writer thread after it sent what it could within drain_ms;
 * what is left is counted as dropped. Idempotent; sink_close calls it. */
void sink_shutdown(struct sink *s);
/* How long a record waits for room in a full spool before it is dropped
 * (0, the default: not at all -- the packet path never blocks). Reading
 * capture files, the sensor waits: no packet is lost by waiting. */
void sink_set_patience(struct sink *s, uint64_t usec);
void sink_close(struct sink *s);

struct sink_stats {
    uint64_t written;      /* records that reached the file or the peer */
    uint64_t dropped;      /* every record given up, the three below too */
    uint64_t dropped_full; /* the spool had no room (or a record was larger) */
    uint64_t dropped_exit; /* still waiting when the drain deadline passed */
    uint64_t rejected;     /* refused by the peer (a Redis error reply,
                            * a datagram too large): not sent again */
    uint64_t delivery_failed; /* kafka: handed to librdkafka, which gave up
                               * on it (message.timeout.ms, a broker error) */
    uint64_t in_flight;    /* kafka: in librdkafka's queue, not yet confirmed */
    uint64_t queue_full;   /* kafka: times librdkafka's queue was full (the
                            * records waited in the spool) */
    uint64_t reconnects;   /* connections made again after one was lost;
                            * for a regular file, reopens */
    uint64_t errors;       /* failed connects, sends, writes, reopens */
    uint64_t spooled;      /* records waiting now */
    uint64_t spool_used;   /* bytes of the spool they take */
    uint64_t spool_size;
};
void sink_stats(struct sink *s, struct sink_stats *out);

/* "sink": {...} for the stats record's "output" section. */
void sink_stats_json(struct sink *s, struct json *j);
/* The same object without its key (a counter registry section). */
void sink_stats_value(struct sink *s, struct json *j);

/* "redis 127.0.0.1:6379 (stream nightjar)", "unix_stream /run/eve.sock" */
void sink_describe(const struct sink *s, char *buf, size_t len);

/* One line for the summary at the end: records written, dropped, ... */
void sink_summary(struct sink *s, FILE *out);

enum sink_type sink_type_of(const struct sink *s);
const char *sink_type_name(enum sink_type t);

/* "<134>May  1 10:00:00 nightjar[42]: " for a syslog message (RFC 3164,
 * as glibc's syslog() writes it; local time). Returns its length, or 0 if
 * buf is too small. */
size_t sink_syslog_header(char *buf, size_t len, int facility, int level,
                          time_t when, const char *ident, long pid);

#endif
