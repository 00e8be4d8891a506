/* eve_source.h -- where the central correlator reads the sensors' EVE
 * records from: a file or standard input (to its end), a Kafka topic as a
 * member of a consumer group, or Redis -- a stream through a consumer
 * group, a list popped in the order it was pushed, or a channel -- each
 * read back the way the sink (output/sink_*.c) writes it.
 *
 * Each source owns its connection and the acknowledgement of what was
 * handled: the caller says done() once a record's consequences are written,
 * and only then does the source commit it (a Kafka offset, a Redis XACK),
 * so a record is never acknowledged before its output exists (at least
 * once). A source never parses a record, never writes output, and never
 * blocks longer than the wait it is given plus one I/O timeout.
 */
#ifndef NIGHTJAR_EVE_SOURCE_H
#define NIGHTJAR_EVE_SOURCE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct sink_config;

enum source_result {
    SOURCE_RECORD,   /* *rec, *len: one record, valid until the next call */
    SOURCE_IDLE,     /* nothing came within the wait */
    SOURCE_BUSY,     /* nothing to read, but something happened (a Kafka
                      * partition assigned, an error said): not idle */
    SOURCE_END,      /* a file ended */
    SOURCE_FAILED,   /* a file could not be read on: what came before counts */
};

struct eve_source;

struct eve_source_ops {
    enum source_result (*next)(struct eve_source *s, const char **rec,
                               size_t *len, unsigned wait_ms);
    /* The last record is handled; wrote: it made output (now written), so
     * the acknowledgement is sent now rather than with a later one. */
    void (*done)(struct eve_source *s, bool wrote);
    /* Commits what was done, disconnects, frees. */
    void (*close)(struct eve_source *s);
};

struct eve_source {
    const struct eve_source_ops *ops;
    char desc[256];          /* "kafka 127.0.0.1:9092 (topic eve, group g)" */
};

/* path: a file, "-" for standard input. NULL with a reason in err. */
struct eve_source *eve_source_file(const char *path, char *err, size_t errlen);
/* The topic sc->kafka_topic on sc->kafka_brokers (options from
 * sc->kafka_options), as a member of group; a new group starts at the
 * topic's beginning. NULL with a reason when the brokers cannot be reached
 * or the topic does not exist. */
struct eve_source *eve_source_kafka(const struct sink_config *sc,
                                    const char *group, char *err,
                                    size_t errlen);
/* sc->redis_key on sc->redis_server in sc->redis_mode; a stream is read
 * through group (made, from the stream's beginning, if missing). NULL with
 * a reason when the server cannot be reached. */
struct eve_source *eve_source_redis(const struct sink_config *sc,
                                    const char *group, char *err,
                                    size_t errlen);

#endif
