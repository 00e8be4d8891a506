/* eve_internal.h -- the EVE writer's state, for the renderers in output/
 * only: each builds its record in e->j between eve_begin() and eve_emit().
 * Nothing outside output/ includes this file; the rest of the sensor holds
 * a struct eve * and the accessors of eve.h.
 */
#ifndef NIGHTJAR_EVE_INTERNAL_H
#define NIGHTJAR_EVE_INTERNAL_H

#include "output/eve.h"

struct eve {
    struct sink *sink;            /* where records go (output/sink.h) */
    eve_resolve_fn resolve;       /* names of servers, NULL: none */
    void *resolve_ctx;
    struct json j;
    uint64_t records;             /* handed to the sink: written or spooled */
    uint64_t write_errors;        /* not built, written or spooled */
};

/* The "http" and "fileinfo" objects, for every record that carries one
 * (eve_app.c renders them). */
struct http_tx;
struct file_event;
void eve_http_object(struct json *j, const struct http_tx *t);
void eve_fileinfo_object(struct json *j, const struct file_event *fl);

#endif
