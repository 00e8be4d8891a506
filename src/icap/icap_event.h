/* icap_event.h -- one ICAP transaction as it is logged: who asked (the
 * proxy and the client it names), what (method, the HTTP request and
 * response it carried, the body's file), what was answered (the ICAP
 * status, pass or block and why, whether judging failed and the fail mode
 * applied) and how long it took. The server fills it; output/eve_icap.c
 * renders it. Plain data: pointers are valid for the call it is given in.
 */
#ifndef NIGHTJAR_ICAP_EVENT_H
#define NIGHTJAR_ICAP_EVENT_H

#include <stdbool.h>
#include <stdint.h>

#include "content/file.h"
#include "detect/finding.h"
#include "icap/icap_proto.h"
#include "proto/http.h"

struct icap_event {
    uint64_t ts_usec;
    const struct event_subject *subj;  /* client (and server when known) */
    const char *proxy;                 /* the ICAP client's address */
    const struct icap_request *req;    /* NULL: the head was unreadable */
    const struct http_tx *http;        /* NULL: OPTIONS, or no HTTP heads */
    const struct file_event *file;     /* the body judged, or NULL */
    int status;                        /* ICAP status answered */
    const char *verdict;               /* "pass", "block", "error" */
    const char *reason;                /* why blocked, failed or refused */
    bool failed;                       /* judging could not finish */
    const char *fail_mode;             /* "open" or "closed", when failed */
    bool preview;                      /* the client sent a preview */
    bool decided_in_preview;           /* answered without the rest */
    uint64_t body_bytes;               /* encapsulated body bytes read */
    unsigned findings;
    const char *istag;
    uint64_t usec;                     /* head read to answer queued */
};

#endif
