/* mime.h -- Internet messages (RFC 5322) and MIME (RFC 2045-2049).
 *
 * mime_parse() reads one whole message from a buffer: the top-level
 * headers (unfolded; RFC 2047 encoded words in Subject, From, To, Cc and
 * file names decoded to UTF-8 with iconv; RFC 2231 parameters, continued
 * and percent-encoded, for file names), then the body as a tree of parts:
 * nested multiparts, message/rfc822, base64 and quoted-printable bodies.
 * Attachments are handed to a callback decoded; text and HTML parts are
 * searched for URLs. What is found goes into a struct email_info of fixed
 * size; every cap (depth, parts, addresses, URLs, attachments) is counted
 * when hit.
 *
 * The pieces of that walk -- a header block read into a struct mime_part,
 * the parts of a multipart body one by one, the next URL in a text -- are
 * exposed below for the rewriter (mime_rewrite.h), which must see a
 * message exactly as mime_parse() sees it.
 *
 * This file parses; it never writes output and never judges content. It
 * allocates one decode buffer per part and frees it before returning.
 */
#ifndef NIGHTJAR_MIME_H
#define NIGHTJAR_MIME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MIME_ADDR_MAX 256
#define MIME_MAX_ADDRS 16
#define MIME_MAX_URLS 32
#define MIME_URL_MAX 512
#define MIME_MAX_ATTACHMENTS 16
#define MIME_MAX_DEPTH 10
#define MIME_MAX_PARTS 256
#define MIME_MAX_HEADER_NAMES 32

struct email_info {
    char from[MIME_ADDR_MAX];          /* the address, no display name */
    char subject[1024];                /* decoded, UTF-8 */
    char message_id[256];
    char date[128];
    char user_agent[256];              /* User-Agent or X-Mailer */
    char content_type[256];            /* of the message */
    char mime_version[16];
    unsigned n_to, n_cc;
    char to[MIME_MAX_ADDRS][MIME_ADDR_MAX];
    char cc[MIME_MAX_ADDRS][MIME_ADDR_MAX];
    unsigned n_received;
    unsigned n_headers;                /* distinct names kept, lower case */
    char header_names[MIME_MAX_HEADER_NAMES][32];
    unsigned n_urls;
    char urls[MIME_MAX_URLS][MIME_URL_MAX];
    unsigned n_attachments;
    char attachments[MIME_MAX_ATTACHMENTS][256];
    unsigned parts;
    /* caps hit */
    unsigned addrs_over_cap, urls_over_cap, attachments_over_cap;
    bool depth_over_cap, parts_over_cap;
};

struct mime_stats {
    uint64_t messages, parts, attachments, urls;
    uint64_t depth_over_cap, parts_over_cap, urls_over_cap, addrs_over_cap;
    uint64_t bad_encoding;
};

/* An attachment (or a non-text part), decoded. */
typedef void (*mime_attachment_fn)(void *ctx, const char *filename,
                                   const char *content_type,
                                   const uint8_t *data, size_t len);

void mime_parse(const uint8_t *msg, size_t len, struct email_info *out,
                mime_attachment_fn cb, void *ctx, struct mime_stats *st);

/* Helpers, exposed for the tests and for the HTTP and ICAP front ends. */
size_t mime_base64_decode(const uint8_t *in, size_t len, uint8_t *out);
size_t mime_qp_decode(const uint8_t *in, size_t len, uint8_t *out);
/* RFC 2047 encoded words in in -> UTF-8 in out. */
void mime_decode_words(const char *in, size_t len, char *out, size_t outlen);

/* --- the walk's pieces, for the rewriter -------------------------------- */

#define MIME_HDR_VALUE_MAX 8192        /* an unfolded value past it is cut */

enum mime_cte { MIME_CTE_IDENTITY, MIME_CTE_BASE64, MIME_CTE_QP };

/* What a part's headers say. */
struct mime_part {
    char type[128];      /* "text/plain", lower case; "" when there is none */
    char boundary[128];
    char filename[256];  /* Content-Disposition filename, else Content-Type
                            name; RFC 2047/2231 decoded to UTF-8 */
    uint8_t cte;         /* enum mime_cte: 7bit, 8bit, binary and unknown
                            encodings are all identity */
    bool attachment;     /* Content-Disposition: attachment */
};

/* Each header field with its raw bytes b[start, end) (folded lines and
 * line break included); name lower case, value unfolded. */
typedef void (*mime_header_fn)(void *ctx, const char *name, const char *val,
                               size_t start, size_t end);

/* Reads the header block at the start of b[0, len) into pt, calling fn
 * (when not NULL) for each field; val is scratch of MIME_HDR_VALUE_MAX
 * bytes. Returns where the body starts (past the blank line; len when the
 * block runs to the end). */
size_t mime_headers(const uint8_t *b, size_t len, struct mime_part *pt,
                    char *val, mime_header_fn fn, void *ctx);

/* text/ or no type: searched for URLs. */
bool mime_part_is_text(const struct mime_part *pt);
/* A disposition of attachment, a file name, or not text: handed to the
 * attachment callback. */
bool mime_part_is_attachment(const struct mime_part *pt);

/* The parts of a multipart body, in order: begin, then next() gives each
 * part's bytes body[*start, *stop) (the line break before a delimiter
 * belongs to the delimiter) until the close delimiter or the end. */
struct mime_multipart {
    const uint8_t *b;
    size_t len;
    const char *bound;
    size_t blen;
    const uint8_t *d;    /* the delimiter to read next; NULL: done */
};

void mime_multipart_begin(struct mime_multipart *m, const uint8_t *body,
                          size_t len, const char *boundary);
bool mime_multipart_next(struct mime_multipart *m, size_t *start,
                         size_t *stop);

/* A URL in a text, as mime_parse() finds and records it. */
struct mime_url {
    size_t start, end;        /* d[start, end): the URL's bytes */
    size_t host;              /* where the part after "://" starts */
    char url[MIME_URL_MAX];   /* recorded form: "&amp;" undone, trailing
                                 punctuation off, cut to MIME_URL_MAX - 1 */
    size_t len;               /* strlen(url) */
};

/* The next http:// or https:// URL in d[*pos, n); *pos moves past it.
 * False when there is none. */
bool mime_url_next(const uint8_t *d, size_t n, size_t *pos, struct mime_url *u);

#endif
