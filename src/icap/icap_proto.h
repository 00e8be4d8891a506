/* icap_proto.h -- the ICAP protocol (RFC 3507) as a server reads it: the
 * request head, the Encapsulated header, and chunked bodies with previews.
 *
 * icap_parse_head() reads a complete head (the request line and headers up
 * to the empty line) into a struct icap_request and checks what a server
 * must check before reading on: the method, the version, a well-formed and
 * ordered Encapsulated header whose sections fit the method, a Preview
 * size. Any refusal comes back as the ICAP status to answer (400, 405,
 * 505) with the reason in words. The chunk reader takes a body as it
 * arrives in pieces, hands out the data bytes, and tells a preview's end
 * ("0\r\n\r\n": more may follow) from the body's end ("0; ieof").
 *
 * Pure functions over caller buffers: never allocates, never does I/O,
 * never judges content.
 */
#ifndef NIGHTJAR_ICAP_PROTO_H
#define NIGHTJAR_ICAP_PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define ICAP_HEAD_MAX 16384        /* bytes of an ICAP head */
#define ICAP_ENCAP_HEAD_MAX 65536  /* bytes of the encapsulated HTTP heads */
#define ICAP_CHUNK_LINE_MAX 256    /* a chunk-size line with its extensions */

enum icap_method { ICAP_OPTIONS, ICAP_REQMOD, ICAP_RESPMOD, ICAP_OTHER };

/* Encapsulated sections, in the order they may appear. */
enum icap_section {
    ICAP_REQ_HDR, ICAP_RES_HDR, ICAP_REQ_BODY, ICAP_RES_BODY, ICAP_NULL_BODY,
    ICAP_OPT_BODY, ICAP_SECTIONS
};

struct icap_request {
    enum icap_method method;
    char method_name[16];
    char uri[1024];
    char service[256];         /* the URI's path: "/scan" */
    bool have_encapsulated;
    int64_t off[ICAP_SECTIONS];/* byte offsets; -1 when absent */
    enum icap_section body;    /* which body section ends the list */
    size_t heads_len;          /* bytes of encapsulated HTTP heads */
    int64_t preview;           /* Preview: N; -1 when absent */
    bool allow_204, allow_206;
    bool close;                /* Connection: close */
    char client_ip[64];        /* X-Client-IP, else X-Forwarded-For's first */
    char client_user[128];     /* X-Client-Username / X-Authenticated-User */
    char host[256];
};

/* The head's length including its empty line, or 0 while it is not all
 * in buf[0..len). */
size_t icap_head_length(const uint8_t *buf, size_t len);

/* Parses a complete head. Returns 0, or the ICAP status to answer
 * (400 malformed, 405 method, 505 version) with err saying why. */
int icap_parse_head(const char *head, size_t len, struct icap_request *r,
                    char *err, size_t errlen);

/* The encapsulated HTTP head of a section (ICAP_REQ_HDR or ICAP_RES_HDR)
 * within heads[0..r->heads_len): *start and *len; false when absent. */
bool icap_section_span(const struct icap_request *r, enum icap_section s,
                       size_t *start, size_t *len);

/* A chunked body being read. */
enum icap_chunk_state { CH_SIZE, CH_DATA, CH_DATA_CRLF, CH_TRAILER, CH_DONE };
struct icap_chunks {
    uint8_t state;             /* enum icap_chunk_state */
    bool ieof;                 /* the last chunk said ieof: the body ended */
    uint64_t left;             /* data bytes left in the chunk */
    uint64_t total;            /* data bytes handed out */
    size_t line_len;
    char line[ICAP_CHUNK_LINE_MAX];
};

typedef void (*icap_data_fn)(void *ctx, const uint8_t *d, size_t n);

void icap_chunks_reset(struct icap_chunks *c);
/* Reads d[0..n): data goes to fn. Returns bytes consumed (stops right
 * after the last chunk's empty line: state CH_DONE), or -1 when the
 * framing is malformed (err says how). */
ssize_t icap_chunks_feed(struct icap_chunks *c, const uint8_t *d, size_t n,
                         icap_data_fn fn, void *ctx, char *err, size_t errlen);

const char *icap_method_name(enum icap_method m);

#endif
