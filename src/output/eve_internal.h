/* eve_internal.h -- the EVE writer's state, for the renderers in output/
 * only: each builds its record in e->j between eve_begin() and eve_emit().
 * Nothing outside output/ includes this file; the rest of the sensor holds
 * a struct eve * and the accessors of eve.h.
 */
#ifndef NIGHTJAR_EVE_INTERNAL_H
#define NIGHTJAR_EVE_INTERNAL_H

#include <pthread.h>

#include "output/eve.h"

struct eve {
    struct sink *sink;            /* where records go (output/sink.h) */
    eve_resolve_fn resolve;       /* names of servers, NULL: none */
    void *resolve_ctx;
    eve_forwarded_fn forwarded;   /* real clients behind proxies, NULL: none */
    void *forwarded_ctx;
    struct json j;
    uint64_t records;             /* handed to the sink: written or spooled */
    uint64_t write_errors;        /* not built, written or spooled */
    char key[64];                 /* the host the record is about (text) */
    size_t key_len;               /* 0: none; eve_emit clears it */
    pthread_mutex_t *lock;        /* sink shared by worker threads, else NULL */
    pthread_mutex_t lock_storage; /* the writer that owns the sink holds it */
    bool owns_sink;
};

/* Names the host the record being built is about: the sink's message key
 * (Kafka partitions by it). eve_begin names the flow's client; a renderer
 * whose record is about another host names that one after it. A record
 * about no host (stats, an MTA delivery) has none. */
void eve_set_key(struct eve *e, const struct ip_addr *host, uint8_t ip_version);

/* The objects of the application records, for every record that carries
 * one (eve_app.c renders them). */
struct http_tx;
struct file_event;
struct smtp_tx;
struct email_info;
void eve_http_object(struct json *j, const struct http_tx *t);
/* "xff": the client a trusted proxy's transaction speaks for, at the top
 * level of the record (Suricata's xff extra-data); nothing when none. */
void eve_forwarded_client(struct eve *e, const struct flow *f,
                          const struct http_tx *t);
void eve_fileinfo_object(struct json *j, const struct file_event *fl);
/* The "smtp" and "email" objects (em may be NULL). */
void eve_smtp_object(struct json *j, const struct smtp_tx *t);
void eve_email_object(struct json *j, const struct smtp_tx *t,
                      const struct email_info *em);

#endif
