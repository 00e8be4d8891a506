/* sink_peer.h -- how nightjar reaches a Redis server or Kafka brokers, for
 * both directions: the sink backends that write EVE there (sink_redis.c,
 * sink_kafka.c, which implement these) and the central correlator that
 * reads it back (correlate/eve_source_*.c). One way to connect and one way
 * to read eve-log.kafka.options, so a setting means the same to both.
 * Connects and configures; never sends, reads or retries.
 */
#ifndef NIGHTJAR_SINK_PEER_H
#define NIGHTJAR_SINK_PEER_H

#include <stdbool.h>
#include <stddef.h>

struct redisContext;
struct rd_kafka_conf_s;

/* A connection to server (a host, an address, or a unix socket path when
 * it holds a '/') on port, answering PING, with every read and write
 * bounded by timeout_ms. NULL with a reason in err. */
struct redisContext *sink_redis_dial(const char *server, unsigned port,
                                     unsigned timeout_ms, char *err,
                                     size_t errlen);

/* One librdkafka property; setting names the nightjar setting it comes
 * from, for the message in err. */
bool sink_kafka_conf_set(struct rd_kafka_conf_s *conf, const char *setting,
                         const char *name, const char *value, char *err,
                         size_t errlen);
/* eve-log.kafka.options: "name=value, name=value", each passed to
 * librdkafka as it is. */
bool sink_kafka_conf_options(struct rd_kafka_conf_s *conf, const char *opts,
                             char *err, size_t errlen);

#endif
