/* typetable.h -- the common file types named without libmagic: a table of
 * magic bytes at offsets, each with a few structural checks, that gives
 * the description ("magic") and the MIME type libmagic would give.
 *
 * libmagic costs 0.2 ms a binary file and up to 2 ms a text one; most files
 * on a wire are a handful of types whose signatures are unambiguous (PE,
 * ELF, Mach-O, ZIP and Office Open XML, PDF, RTF, gzip, bzip2, xz, 7-Zip,
 * RAR, CAB, Chrome extensions, compressed Flash, DER certificates and
 * PKCS#7, PNG, GIF, JPEG, WebP, ICO, BMP, HTML pages and shell/Python
 * scripts in plain ASCII). For those the table decides; for everything else, and for
 * every case where libmagic's answer depends on more than the table reads
 * (an OLE2 document's class id and summary, an ELF shared object that may
 * be a PIE, a ZIP whose first entry says JAR/APK/ODF/EPUB, text in another
 * encoding or with long or CRLF lines), it says "not decided" and the
 * caller asks libmagic.
 *
 * The contract, checked by tests/unit/test_typetable.c against libmagic on
 * samples of every type: the MIME type is libmagic's exactly; the
 * description is libmagic's, or libmagic's first clauses up to one of its
 * ", " separators when libmagic goes on with details read from the body
 * (a gzip header's date, a JPEG's segments, an ELF's program headers, a
 * CAB's folder list, an icon's sizes, a bitmap's resolution, an installer
 * stub found in a PE's overlay).
 *
 * A pure function of the buffer: bounded reads through the cursor, no
 * allocation, no state. Never calls libmagic and never judges a file
 * (filetype.h's kinds and flags are what detectors read).
 */
#ifndef NIGHTJAR_TYPETABLE_H
#define NIGHTJAR_TYPETABLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* True when the table decides: magic[magic_len] and mime[mime_len] are
 * filled (NUL-terminated). False: ask libmagic; the outputs are "". */
bool typetable_identify(const uint8_t *buf, size_t len, char *magic,
                        size_t magic_len, char *mime, size_t mime_len);

#endif
