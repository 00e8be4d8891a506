/* mta_strip.h -- the strip action of nightjar-mta: what made a mail
 * malicious taken out of it, the rest delivered.
 *
 * While a mail is judged, each attachment whose own verdict blocks it is
 * noted by the SHA-256 of its decoded bytes (strip_parts_note). The
 * rewrite (proto/mime_rewrite.h) then replaces every leaf with those bytes
 * by a short text part naming what was removed and why, and defangs, in
 * the text parts, the URLs a loaded feed lists ("hxxp://evil[.]example");
 * every other byte is kept. The caller judges the result again and
 * delivers it only when that finds nothing: an indicator in the envelope
 * or the headers, a rule matching the text itself, or parts past the
 * rewriter's caps cannot be stripped, and the fallback applies
 * (mta.strip-fallback).
 *
 * Builds the rewritten message in memory (bounded by smtp.message-max and
 * a note per part); never touches the queue, never writes output.
 */
#ifndef NIGHTJAR_MTA_STRIP_H
#define NIGHTJAR_MTA_STRIP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto/mime_rewrite.h"
#include "util/buf.h"

#define STRIP_PARTS_MAX 16

struct strip_parts {
    unsigned n, over_cap;
    struct {
        uint8_t sha256[32];
        char reason[200];
    } p[STRIP_PARTS_MAX];
};

struct strip_result {
    enum mime_rewrite_status status;
    unsigned stripped, defanged, urls_defanged;
    bool caps_hit;              /* parts past the rewriter's caps: not all judged */
};

struct judge;

/* A part judged malicious, and why. */
void strip_parts_note(struct strip_parts *b, const uint8_t *data, size_t len,
                      const char *reason);

/* The message rewritten into out (emptied first). False when the rewrite
 * failed (res->status) or changed nothing. */
bool mta_strip(const uint8_t *msg, size_t len, const struct strip_parts *bad,
               struct judge *j, struct buf *out, struct strip_result *res,
               struct mime_rewrite_stats *st);

#endif
