/* file.h -- one file being carried by a protocol (an HTTP body, a mail
 * attachment): hashed as it arrives, kept up to a size cap for typing,
 * YARA and the file store, then handed to content_inspect() when it ends.
 *
 * Bytes past the cap are still hashed (so the hashes are those of the whole
 * file) but not kept; such a file is marked truncated, scanned on its
 * first bytes and never stored. A gap in the stream marks it incomplete.
 * The kept bytes live in buffers of a few size classes (16 KiB doubling up
 * to the cap) from a struct file_buffers shared by all open files: a file
 * takes a buffer while it is open and gives it back when it ends, so
 * steady traffic allocates nothing. Digest contexts are made once per
 * struct nj_file and reused.
 */
#ifndef NIGHTJAR_FILE_H
#define NIGHTJAR_FILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "content/content.h"
#include "util/digest.h"

#define FILE_NAME_MAX 256

#define FILE_BUF_CLASSES 18   /* 16 KiB << 17 = 2 GiB: past any cap */
#define FILE_BUF_IDLE 32      /* idle buffers kept per class */

struct file_buffers {
    uint8_t *idle[FILE_BUF_CLASSES][FILE_BUF_IDLE];
    unsigned n[FILE_BUF_CLASSES];
    uint64_t idle_bytes, used_bytes;
};

void file_buffers_free(struct file_buffers *b);

struct nj_file {
    char name[FILE_NAME_MAX];
    uint64_t size;           /* bytes seen, kept or not */
    size_t max;              /* bytes kept */
    uint8_t *buf;
    size_t len, cap;
    struct file_buffers *bufs;
    bool truncated;          /* bigger than max */
    bool gap;                /* bytes were missing */
    bool open;
    struct digest3 d;
};

/* A file as a protocol hands it over (an HTTP body, a mail attachment),
 * with what content detection said of it: the event every later stage --
 * detectors, output -- reads. Pointers are valid for the call it is given
 * in. */
struct http_tx;
struct smtp_tx;
struct file_event {
    const char *name;
    uint64_t size;
    bool truncated, gap;
    int dir;                         /* 0 toserver, 1 toclient */
    uint64_t tx_id;
    const struct content_result *r;
    const struct http_tx *http;      /* the transaction, if HTTP */
    const struct smtp_tx *smtp;      /* the mail transaction, if SMTP */
};

/* hash_mask: which digests (util/digest.h); 0 for all. */
void file_begin(struct nj_file *f, const char *name, size_t max,
                struct file_buffers *bufs, unsigned hash_mask);
void file_write(struct nj_file *f, const uint8_t *data, size_t len);
/* Finishes the hashes and runs content detection (if e is not NULL).
 * Stores only a complete file. The buffer goes back to the pool. */
void file_end(struct nj_file *f, struct content_engine *e,
              struct content_result *r);
/* Makes the digest contexts now, so a later file_begin allocates nothing. */
bool file_prepare(struct nj_file *f);
void file_free(struct nj_file *f);

#endif
