/* icap_internal.h -- the ICAP server's state, shared by its two files
 * only: icap_server.c (connections, transactions, the loop) and
 * icap_answer.c (the ISTag, the block page, every answer written). Nothing
 * outside src/icap/ includes this.
 */
#ifndef NIGHTJAR_ICAP_INTERNAL_H
#define NIGHTJAR_ICAP_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "config/config.h"
#include "detect/finding.h"
#include "frontend/judge.h"
#include "icap/icap_proto.h"
#include "icap/icap_scan.h"
#include "output/eve.h"
#include "proto/http.h"
#include "util/buf.h"
#include "util/clock.h"
#include "util/digest.h"
#include "util/net.h"

#define IN_CAP (ICAP_HEAD_MAX + ICAP_ENCAP_HEAD_MAX + 65536)
#define READ_MAX 65536
#define OUT_HIGH (4u << 20)       /* pending answer bytes: stop reading */
#define BODY_KEEP_IDLE (1u << 20) /* body buffer kept between transactions */
#define BLOCK_PAGE_MAX (256u << 10) /* bytes of an operator's block page */

/* where a connection is in its transaction: the ICAP head, the
 * encapsulated HTTP heads, the chunked body */
enum conn_state { C_HEAD, C_HEADS, C_BODY };

struct conn {
    int fd;
    uint8_t state;                /* enum conn_state */
    bool closing;                 /* close once the answer is written */
    struct net_interest io;       /* what epoll waits for */
    char peer[64];
    struct ip_addr peer_addr;
    uint8_t peer_v;
    uint64_t last_usec;           /* monotonic: last byte in or out */
    uint64_t start_usec;          /* the transaction's head arrived */
    struct conn *prev, *next;     /* the active list */
    uint8_t in[IN_CAP];
    size_t in_len;
    struct buf out;
    /* the transaction */
    struct icap_request req;
    struct http_tx tx;
    struct buf heads;             /* the encapsulated HTTP heads, raw */
    struct icap_chunks ch;
    bool in_preview, decided, relay, over_cap, failed;
    struct verdict v;
    char name[FILE_NAME_MAX];     /* the body's file name */
    uint8_t encoding;             /* the body's Content-Encoding */
    struct buf body;              /* kept bytes, up to icap.max-body */
    uint64_t body_size;
    struct digest3 d;             /* streamed once the body outgrows the cap */
    bool d_ready;
    bool scanning;                /* the body is with a scan worker */
    bool zombie;                  /* closed while scanning: freed when done */
    struct icap_scan_job job;
};

struct icap_stats {
    uint64_t connections, refused_max_connections, closed_timeout, closed_idle;
    uint64_t transactions, options, reqmod, respmod;
    uint64_t status_204, status_200_unmodified, status_200_block;
    uint64_t status_100, status_4xx, status_5xx;
    uint64_t blocked, failed, over_cap, relayed, timeouts, read_errors;
    uint64_t closed_while_scanning;
    uint64_t bytes_in, bytes_out;
};

struct icap_server {
    struct nj_config cfg;
    struct eve *eve;
    struct judge *judge;
    struct icap_scan *scan;
    int lfd, ep;
    char addr[80];
    struct conn *active;
    struct conn *free_list;
    struct conn *zombies;         /* closed while scanning */
    uint32_t n_conns;
    char istag[40];
    uint64_t istag_gen;
    uint64_t started_wall;
    char *block_page;             /* template */
    size_t block_page_len;
    struct icap_stats st;
    struct counters *counters;
    uint64_t last_stats_wall;
};

/* icap_answer.c: what is written back */
bool icap_load_block_page(struct icap_server *s, char *err, size_t errlen);
/* "NJ-<start>-<generation>": new whenever feeds or rules change. */
void icap_update_istag(struct icap_server *s);
void icap_status_line(struct icap_server *s, struct conn *c, int status,
                      const char *phrase);
/* An answer without an encapsulated message (204, errors). */
void icap_answer_empty(struct icap_server *s, struct conn *c, int status,
                       const char *phrase);
void icap_answer_options(struct icap_server *s, struct conn *c);
/* 200 with the message unmodified (the client did not allow 204). */
void icap_answer_unmodified(struct icap_server *s, struct conn *c);
/* 200 with an HTTP 403 and the block page. */
void icap_answer_block(struct icap_server *s, struct conn *c);
/* One HTTP head of the request, as it came. */
bool icap_section(const struct conn *c, enum icap_section sec,
                  const uint8_t **p, size_t *n);
/* The message's own HTTP head, then a body entity (the Encapsulated header
 * and the head): what an unmodified or relayed answer starts with. */
void icap_encapsulated_original(struct conn *c, const char *body_kind);
/* One chunk of a chunked body. */
void icap_add_chunk(struct buf *b, const uint8_t *d, size_t n);

#endif
