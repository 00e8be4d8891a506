/* der.h -- a bounded reader for DER, the encoding of X.509 certificates.
 *
 * One TLV at a time over a cursor (util/cursor.h): identifier (class,
 * constructed bit, tag number, high-tag form included), then a definite
 * length that is checked against what is left before anything is read, then
 * a cursor cut to exactly the contents. Whatever a caller does with those
 * contents cannot read outside them.
 *
 * Definite lengths only: the indefinite form (0x80) is refused, as are
 * lengths of more than eight octets or larger than what follows. A long-form
 * length that could have been short is accepted (OpenSSL's decoder, which
 * nightjar used to read certificates with, accepts it too).
 *
 * The reader never recurses: it reads one level and returns. How deep a
 * structure is walked is decided by its caller, step by step (x509.c knows
 * its schema and never goes deeper than it), so a "depth bomb" of nested
 * constructions costs one skip of its outer length.
 *
 * This file owns the encoding rules -- TLV framing, the validity of an
 * OBJECT IDENTIFIER's encoding, an INTEGER's sign and padding -- and never
 * allocates, prints, or knows what a certificate is.
 */
#ifndef NIGHTJAR_DER_H
#define NIGHTJAR_DER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/cursor.h"

enum der_class { DER_UNIVERSAL = 0, DER_APPLICATION = 1, DER_CONTEXT = 2, DER_PRIVATE = 3 };

/* universal tag numbers the certificate reader uses */
enum {
    DER_BOOLEAN = 1, DER_INTEGER = 2, DER_BIT_STRING = 3, DER_OCTET_STRING = 4,
    DER_NULL = 5, DER_OID = 6, DER_UTF8_STRING = 12, DER_SEQUENCE = 16,
    DER_SET = 17, DER_NUMERIC_STRING = 18, DER_PRINTABLE_STRING = 19,
    DER_T61_STRING = 20, DER_IA5_STRING = 22, DER_UTC_TIME = 23,
    DER_GENERALIZED_TIME = 24, DER_UNIVERSAL_STRING = 28, DER_BMP_STRING = 30,
};

struct der_tlv {
    uint8_t cls;            /* enum der_class */
    bool constructed;
    uint32_t tag;           /* tag number within its class */
    const uint8_t *start;   /* the identifier's first byte */
    size_t tlv_len;         /* identifier + length + contents */
    cursor_t body;          /* the contents, exactly */
};

/* Reads one TLV off c. On any error c turns invalid and false is returned. */
bool der_read(cursor_t *c, struct der_tlv *t);

/* Reads one TLV off c and requires its class, form and tag; the contents
 * go to *body. On a mismatch c turns invalid. */
bool der_expect(cursor_t *c, enum der_class cls, bool constructed, uint32_t tag,
                cursor_t *body);

/* Reads a SEQUENCE OF or SET OF (tag DER_SEQUENCE or DER_SET) in either
 * form: OpenSSL's template decoder does not check the constructed bit of a
 * SEQUENCE OF / SET OF (though it does of a SEQUENCE), and what it accepted
 * the certificate reader accepts. On a mismatch c turns invalid. */
bool der_expect_of(cursor_t *c, uint32_t tag, cursor_t *body);

/* Whether the next TLV on c has this class, form and tag (c unchanged). */
bool der_next_is(const cursor_t *c, enum der_class cls, bool constructed,
                 uint32_t tag);

/* An OBJECT IDENTIFIER's contents are well formed: not empty, the last
 * octet ends a subidentifier, no subidentifier starts with 0x80. */
bool der_oid_valid(cursor_t oid);

/* The OID's contents equal enc[0..n). */
bool der_oid_is(cursor_t oid, const uint8_t *enc, size_t n);

/* An INTEGER's contents as sign and magnitude: the magnitude (big-endian,
 * two's complement undone, no padding) is n octets, of which the first
 * min(n, cap) go to mag (NULL: only check). Refuses empty contents and a
 * redundant padding octet, as BER's decoders do. Returns n, or 0 when
 * refused. */
size_t der_integer(cursor_t body, bool *negative, uint8_t *mag, size_t cap);

/* Number of significant bits of an unsigned big-endian number. */
unsigned der_uint_bits(cursor_t body);

#endif
