/* der.c -- TLV framing and the rules of a few universal types (see der.h). */
#include "util/der.h"

static bool read_identifier(cursor_t *c, struct der_tlv *t)
{
    uint8_t id = cur_u8(c);
    t->cls = (uint8_t)(id >> 6);
    t->constructed = (id & 0x20) != 0;
    t->tag = id & 0x1f;
    if (t->tag != 0x1f)
        return cur_ok(c);
    /* high tag number form: base-128, at most four octets (28 bits) */
    uint32_t tag = 0;
    for (int i = 0; i < 4; i++) {
        uint8_t b = cur_u8(c);
        if (i == 0 && b == 0x80) {
            cur_fail(c);
            return false;
        }
        tag = (tag << 7) | (b & 0x7f);
        if (!(b & 0x80)) {
            t->tag = tag;
            return cur_ok(c);
        }
    }
    cur_fail(c);
    return false;
}

/* The definite length, checked against what is left in c. */
static bool read_length(cursor_t *c, size_t *len)
{
    uint8_t first = cur_u8(c);
    if (!cur_ok(c))
        return false;
    if (first < 0x80) {
        *len = first;
    } else {
        unsigned n = first & 0x7f;
        if (n == 0 || n > 8) {       /* indefinite, or absurd */
            cur_fail(c);
            return false;
        }
        uint64_t v = 0;
        for (unsigned i = 0; i < n; i++)
            v = (v << 8) | cur_u8(c);
        if (!cur_ok(c) || v > cur_left(c)) {
            cur_fail(c);
            return false;
        }
        *len = (size_t)v;
    }
    if (*len > cur_left(c)) {
        cur_fail(c);
        return false;
    }
    return true;
}

bool der_read(cursor_t *c, struct der_tlv *t)
{
    t->start = c->p;
    size_t len = 0;
    if (!read_identifier(c, t) || !read_length(c, &len))
        return false;
    t->body = cur_sub(c, len);
    t->tlv_len = (size_t)(t->body.end - t->start);
    return cur_ok(c);
}

/* der_expect and der_expect_of: form -1 takes either. */
static bool expect(cursor_t *c, enum der_class cls, int form, uint32_t tag,
                   cursor_t *body)
{
    struct der_tlv t;
    if (!der_read(c, &t))
        return false;
    if (t.cls != cls || (form >= 0 && t.constructed != (form == 1)) || t.tag != tag) {
        cur_fail(c);
        return false;
    }
    *body = t.body;
    return true;
}

bool der_expect(cursor_t *c, enum der_class cls, bool constructed, uint32_t tag,
                cursor_t *body)
{
    return expect(c, cls, constructed, tag, body);
}

bool der_expect_of(cursor_t *c, uint32_t tag, cursor_t *body)
{
    return expect(c, DER_UNIVERSAL, -1, tag, body);
}

bool der_next_is(const cursor_t *c, enum der_class cls, bool constructed,
                 uint32_t tag)
{
    cursor_t look = *c;
    struct der_tlv t;
    return cur_left(&look) && der_read(&look, &t) && t.cls == cls &&
           t.constructed == constructed && t.tag == tag;
}

bool der_oid_valid(cursor_t oid)
{
    size_t n = cur_left(&oid);
    if (!cur_ok(&oid) || n == 0 || (oid.p[n - 1] & 0x80))
        return false;
    for (size_t i = 0; i < n; i++)
        if (oid.p[i] == 0x80 && (i == 0 || !(oid.p[i - 1] & 0x80)))
            return false;
    return true;
}

bool der_oid_is(cursor_t oid, const uint8_t *enc, size_t n)
{
    return cur_left(&oid) == n && memcmp(oid.p, enc, n) == 0;
}

size_t der_integer(cursor_t body, bool *negative, uint8_t *mag, size_t cap)
{
    size_t n = cur_left(&body);
    const uint8_t *p = body.p;
    if (n == 0)
        return 0;
    bool neg = (p[0] & 0x80) != 0;
    *negative = neg;
    size_t pad = 0;
    if (n > 1) {
        if (p[0] == 0x00) {
            pad = 1;
        } else if (p[0] == 0xff) {
            /* 0xFF 0x00...0x00 is the most negative number of its length,
             * not a padded one */
            for (size_t i = 1; i < n && !pad; i++)
                pad = p[i] != 0;
        }
        if (pad && neg == ((p[1] & 0x80) != 0))
            return 0;                   /* redundant padding octet */
    }
    p += pad;
    n -= pad;
    if (!mag)
        return n;
    /* two's complement undone octet by octet: invert, and the +1 carries
     * into an octet only from zero octets after it, so it lands on the
     * last non-zero one */
    size_t last = n;
    if (neg)
        for (last = n; last > 0 && p[last - 1] == 0; last--)
            ;
    for (size_t i = 0; i < n && i < cap; i++) {
        if (!neg)
            mag[i] = p[i];
        else if (i + 1 < last)
            mag[i] = (uint8_t)~p[i];
        else if (i + 1 == last)
            mag[i] = (uint8_t)(~p[i] + 1);
        else
            mag[i] = 0;
    }
    return n;
}

unsigned der_uint_bits(cursor_t body)
{
    size_t n = cur_left(&body);
    const uint8_t *p = body.p;
    while (n && *p == 0) {
        p++;
        n--;
    }
    if (!n)
        return 0;
    unsigned bits = (unsigned)(n - 1) * 8;
    for (uint8_t top = p[0]; top; top >>= 1)
        bits++;
    return bits;
}
