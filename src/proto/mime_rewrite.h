/* mime_rewrite.h -- a message's MIME parts rewritten for nightjar-mta: an
 * attachment stripped (a short note in its place), the bad URLs of a text
 * part defanged, every other byte as it came in.
 *
 * mime_rewrite() walks a whole message held in memory exactly as
 * mime_parse() does (the same header reading, boundaries, caps and URL
 * finding: the pieces mime.h exposes), asks the decide callback about each
 * leaf part with its decoded content, and writes the message through the
 * write callback as it goes, so the caller can stream it to a queue file.
 * What is kept is copied byte for byte -- headers, bodies, delimiters,
 * preamble, epilogue and whatever malformed bytes lie between them -- so a
 * message whose parts are all kept comes out identical to the input.
 *
 * STRIP: the part becomes a text/plain; charset=utf-8 part (7bit, or
 * quoted-printable when the note is not plain ASCII) saying what was
 * removed -- name, type, decoded size, SHA-256 of the decoded content --
 * and why. When the part is the whole body of a message (the top level or
 * an attached message/rfc822), that message's other header fields stay as
 * they were and only Content-Type, Content-Transfer-Encoding and
 * Content-Disposition are replaced (MIME-Version added if missing).
 *
 * DEFANG (text parts only, see struct mime_leaf): each URL mime_parse()
 * would find in the decoded content is offered to bad_url; each bad one is
 * rewritten "http://evil.example/x" -> "hxxp://evil[.]example/x" (scheme
 * and the dots of the host, in HTML inside href="" alike), and the content
 * is encoded again the way it came: base64 (lines of 76), quoted-printable
 * (soft breaks, lines of at most 76), or 7bit/8bit as it is -- then
 * quoted-printable instead, and its Content-Transfer-Encoding field
 * replaced, if a line would pass 998 bytes. The other fields stay as they
 * were; the charset is left alone. A part none of whose URLs is bad is
 * kept byte for byte; one whose base64 or quoted-printable did not decode
 * cleanly is encoded again from what decoded (what mime_parse() saw). No
 * line of quoted-printable written here starts with '-' or '.' (=2D, =2E),
 * so re-wrapped text can never read as a delimiter or end SMTP's DATA.
 *
 * Line breaks written are the part's own (CRLF in, CRLF out). Past a cap
 * (mime.h's depth and part caps, as mime_parse() has them) the rest is
 * copied unchanged and the cap is counted: the caller should take such a
 * message as not fully inspected.
 *
 * This file rewrites; it never judges content (the callbacks do) and never
 * does I/O itself. It allocates, per call, a header scratch and an output
 * buffer, one decode buffer per base64 or quoted-printable leaf (freed
 * before the next), and the list of a part's bad URLs while it is
 * defanged; all are freed before it returns.
 */
#ifndef NIGHTJAR_MIME_REWRITE_H
#define NIGHTJAR_MIME_REWRITE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto/mime.h"

enum mime_action { MIME_KEEP, MIME_STRIP, MIME_DEFANG };

/* A leaf part as the decide callback sees it; valid during the call. */
struct mime_leaf {
    unsigned index;            /* leaves in document order, from 0 */
    unsigned depth;            /* 0: the message's own body */
    const char *content_type;  /* lower case, no parameters; "" if none */
    const char *filename;      /* decoded as mime_parse() does; "" if none */
    const char *cte;           /* Content-Transfer-Encoding as written,
                                  lower case; "" if none */
    enum mime_cte encoding;    /* how data was decoded */
    bool text;                 /* text/plain, text/html, or no type */
    bool html;                 /* text/html */
    bool defangable;           /* text/ or no type: what mime_parse()
                                  searches for URLs; DEFANG applies */
    bool attachment;           /* mime_parse() hands it to its attachment
                                  callback: the n-th such leaf here is its
                                  n-th call */
    bool bad_encoding;         /* base64 or quoted-printable that does not
                                  decode cleanly (data is what decodes) */
    const uint8_t *data;       /* the decoded content */
    size_t len;
};

struct mime_decision {
    enum mime_action action;   /* DEFANG on a part that is not defangable
                                  keeps it */
    const char *reason;        /* STRIP: why, for the note (NULL: none);
                                  copied before decide's caller goes on */
};

struct mime_rewrite_ops {
    /* The rewritten message, in order; false aborts the rewrite. */
    bool (*write)(void *ctx, const uint8_t *p, size_t n);
    /* NULL keeps everything. */
    struct mime_decision (*decide)(void *ctx, const struct mime_leaf *leaf);
    /* DEFANG: is this URL (as mime_parse() records it: "&amp;" undone,
     * trailing punctuation off; NUL-terminated) to be defanged? NULL: no
     * URL is. */
    bool (*bad_url)(void *ctx, const char *url, size_t len);
    void *ctx;
};

enum mime_rewrite_status {
    MIME_REWRITE_OK,
    MIME_REWRITE_WRITE_FAILED,  /* write said false; the output is cut */
    MIME_REWRITE_NO_MEMORY,     /* the output is cut */
};

/* What one call did. */
struct mime_rewrite_result {
    unsigned parts;            /* entities walked, containers too, as
                                  mime_parse() counts them */
    unsigned leaves;           /* decisions asked */
    unsigned stripped;
    unsigned defanged;         /* parts with at least one URL defanged */
    unsigned urls_defanged;
    unsigned bad_encoding;     /* leaves that did not decode cleanly */
    bool depth_over_cap, parts_over_cap;
    bool changed;              /* the output differs from the input */
    uint64_t bytes_out;
};

/* Running totals over calls, for the counters. */
struct mime_rewrite_stats {
    uint64_t messages, parts, stripped, defanged, urls_defanged;
    uint64_t depth_over_cap, parts_over_cap, bad_encoding;
    uint64_t write_failed, no_memory;
};

enum mime_rewrite_status mime_rewrite(const uint8_t *msg, size_t len,
                                      const struct mime_rewrite_ops *ops,
                                      struct mime_rewrite_result *res,
                                      struct mime_rewrite_stats *st);

const char *mime_rewrite_status_name(enum mime_rewrite_status s);

#endif
