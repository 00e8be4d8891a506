/* x509.c -- certificate facts read from the DER by hand (see x509.h).
 *
 * What it owns: the walk of Certificate and TBSCertificate with the bounded
 * reader of util/der.h, and the rendering of each field exactly as nightjar
 * printed it when OpenSSL decoded the whole certificate (d2i_X509, about
 * 100 us a new certificate, most of it building objects and decoding the
 * public key through OpenSSL 3's provider machinery):
 *   - a Name as X509_NAME_print_ex() with XN_FLAG_ONELINE less the spaces
 *     round '=' and the escaping of bytes over 0x7F, plus UTF-8 conversion:
 *     "C=US, O=\"A, B\", CN=x + UID=y", short names from OpenSSL's table,
 *     values dumped as #hex when they are not strings;
 *   - times as ASN1_TIME_to_tm() reads them (lenient: no seconds, offsets);
 *   - the serial as the magnitude of the INTEGER (sign dropped);
 *   - SANs as the GENERAL_NAMES decoder: one subjectAltName extension,
 *     every entry well formed, or none counted;
 *   - key type and size for RSA (modulus bits), EC on a named curve (the
 *     curve's order bits), Ed25519 and Ed448.
 * It refuses what OpenSSL's decoder refused (bad INTEGER padding or OID
 * encoding, invalid UTF-8/BMP/UniversalString in a name, data after a
 * SEQUENCE's last field, ...), so a certificate that did not parse before
 * does not parse now. BER that is not DER -- indefinite lengths,
 * constructed strings -- OpenSSL accepted and this reader refuses; but a
 * SEQUENCE OF or SET OF in primitive form (der_expect_of), which OpenSSL's
 * template decoder read, it reads.
 *
 * OpenSSL is still used, never on the common path, for: the digests
 * (util/digest.c); the self-signed test, X509_check_issued(), which is not
 * a signature check but compares canonical names, key identifiers, key
 * usage and algorithms -- asked only when issuer and subject may be the
 * same name; object short names it knows and this file's table does not;
 * and keys of other types (DSA, DH, RSA-PSS, X25519, unknown curves,
 * explicit curve parameters), decoded with d2i_PUBKEY over the
 * SubjectPublicKeyInfo alone. An EC point is checked for its form and
 * length, not for lying on its curve (OpenSSL's decoder checked that).
 *
 * It never allocates on the common path, never reads outside the DER it is
 * given, and never trusts a length it has not checked against what is left.
 */
#include "proto/x509.h"
#include "util/table_mem.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "util/der.h"
#include "util/timefmt.h"
#include "util/text.h"
#include "util/digest.h"

void hex_colon(const uint8_t *d, size_t n, char *buf, size_t len)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t o = 0;
    for (size_t i = 0; i < n && o + 3 <= len; i++) {
        if (i)
            buf[o++] = ':';
        buf[o++] = hex[d[i] >> 4];
        buf[o++] = hex[d[i] & 15];
    }
    if (len)
        buf[o < len ? o : len - 1] = 0;
}

/* ---- output: a string cut at its buffer's size, as BIO_read cut it ---- */

struct sbuf {
    char *b;
    size_t cap, n;      /* cap includes the terminating NUL */
};

static void sb_put(struct sbuf *s, const void *p, size_t n)
{
    if (!s)
        return;
    size_t room = s->cap - 1 - s->n;
    if (n > room)
        n = room;
    memcpy(s->b + s->n, p, n);
    s->n += n;
    s->b[s->n] = 0;
}

static void sb_str(struct sbuf *s, const char *str) { sb_put(s, str, strlen(str)); }

static void sb_hex(struct sbuf *s, const uint8_t *p, size_t n)
{
    static const char hex[] = "0123456789ABCDEF";
    for (size_t i = 0; i < n; i++) {
        char h[2] = { hex[p[i] >> 4], hex[p[i] & 15] };
        sb_put(s, h, 2);
    }
}

/* ---- characters of a string value ---- */

/* One character of a string of width 0 (UTF-8), 1, 2 or 4 octets; returns
 * false when the encoding is invalid (what OpenSSL's conversion to UTF-8
 * refuses: overlong forms, surrogates, beyond U+10FFFF). */
static bool next_char(cursor_t *c, int width, uint32_t *cp)
{
    uint32_t v;
    switch (width) {
    case 1: *cp = cur_u8(c); return cur_ok(c);
    case 2: v = cur_u16be(c); break;
    case 4: v = cur_u32be(c); break;
    default: {
        uint8_t b = cur_u8(c);
        int more = b < 0x80 ? 0 : (b & 0xe0) == 0xc0 ? 1 : (b & 0xf0) == 0xe0 ? 2
                 : (b & 0xf8) == 0xf0 ? 3 : -1;
        if (more < 0)
            return false;
        static const uint32_t min[] = { 0, 0x80, 0x800, 0x10000 };
        v = more ? b & (0x3f >> more) : b;
        for (int i = 0; i < more; i++) {
            uint8_t x = cur_u8(c);
            if ((x & 0xc0) != 0x80)
                return false;
            v = (v << 6) | (x & 0x3f);
        }
        if (v < min[more])
            return false;
        break;
    }
    }
    if (!cur_ok(c) || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff))
        return false;
    *cp = v;
    return true;
}

static size_t utf8_put(uint32_t cp, uint8_t *o)
{
    if (cp < 0x80) { o[0] = (uint8_t)cp; return 1; }
    if (cp < 0x800) {
        o[0] = (uint8_t)(0xc0 | cp >> 6);
        o[1] = (uint8_t)(0x80 | (cp & 0x3f));
        return 2;
    }
    if (cp < 0x10000) {
        o[0] = (uint8_t)(0xe0 | cp >> 12);
        o[1] = (uint8_t)(0x80 | ((cp >> 6) & 0x3f));
        o[2] = (uint8_t)(0x80 | (cp & 0x3f));
        return 3;
    }
    o[0] = (uint8_t)(0xf0 | cp >> 18);
    o[1] = (uint8_t)(0x80 | ((cp >> 12) & 0x3f));
    o[2] = (uint8_t)(0x80 | ((cp >> 6) & 0x3f));
    o[3] = (uint8_t)(0x80 | (cp & 0x3f));
    return 4;
}

/* The octets per character of a universal string tag, as OpenSSL's
 * printer reads them: 0 UTF-8, 1, 2, 4; -1 for anything it dumps. */
static int string_width(uint32_t tag)
{
    switch (tag) {
    case DER_UTF8_STRING: return 0;
    case DER_NUMERIC_STRING: case DER_PRINTABLE_STRING:
    case DER_T61_STRING: case DER_IA5_STRING: return 1;
    case DER_UNIVERSAL_STRING: return 4;
    case DER_BMP_STRING: return 2;
    default: return -1;
    }
}

/* ---- a Name's value as X509_NAME_print_ex prints it ---- */

enum { AT_FIRST = 1, AT_LAST = 2 };

/* RFC 2253 escaping with ESC_QUOTE and ESC_CTRL: ",+<>;", and '#' first
 * or ' ' first or last, make the value quoted and stay as they are; '"' and
 * '\\' are escaped with a backslash; control characters as \XX; octets
 * over 0x7F as they are. Sets *quote when the value must be quoted. */
static void esc_octet(struct sbuf *s, uint8_t c, int at, bool *quote)
{
    if (c == '"' || c == '\\') {
        char e[2] = { '\\', (char)c };
        sb_put(s, e, 2);
        return;
    }
    if ((c && strchr(",+<>;", c)) || ((at & AT_FIRST) && (c == '#' || c == ' ')) ||
        ((at & AT_LAST) && c == ' ')) {
        *quote = true;
        sb_put(s, &c, 1);
        return;
    }
    if (c < 0x20 || c == 0x7f) {
        char e[4];
        snprintf(e, sizeof(e), "\\%02X", c);
        sb_put(s, e, 3);
        return;
    }
    sb_put(s, &c, 1);
}

static void print_chars(struct sbuf *s, cursor_t v, int width, bool *quote)
{
    const uint8_t *start = v.p;
    while (cur_left(&v)) {
        bool first = v.p == start;
        uint32_t cp = 0;
        if (width == 0)
            cp = cur_u8(&v);        /* UTF-8 is printed octet by octet */
        else if (!next_char(&v, width, &cp))
            return;
        /* as OpenSSL's do_buf(): the last character is LAST only, even
         * when it is also the first */
        int at = !cur_left(&v) ? AT_LAST : first ? AT_FIRST : 0;
        uint8_t u[4];
        size_t n = width == 0 ? (u[0] = (uint8_t)cp, 1) : utf8_put(cp, u);
        for (size_t i = 0; i < n; i++)
            esc_octet(s, u[i], n == 1 ? at : 0, quote);
    }
}

static void put_der_length(struct sbuf *s, size_t len)
{
    uint8_t h[9];
    size_t n = 0;
    if (len < 0x80) {
        h[n++] = (uint8_t)len;
    } else {
        uint8_t tmp[8];
        size_t k = 0;
        for (size_t l = len; l; l >>= 8)
            tmp[k++] = (uint8_t)l;
        h[n++] = (uint8_t)(0x80 | k);
        while (k)
            h[n++] = tmp[--k];
    }
    sb_hex(s, h, n);
}

/* A value that is not a string: '#' and the hex of its DER as OpenSSL
 * re-encodes it (a BIT STRING with its unused bits cleared). */
static void print_dump(struct sbuf *s, const struct der_tlv *t)
{
    sb_put(s, "#", 1);
    if (t->constructed) {       /* a SEQUENCE is kept as it came */
        sb_hex(s, t->start, t->tlv_len);
        return;
    }
    uint8_t tag = (uint8_t)t->tag;
    size_t n = cur_left(&t->body);
    sb_hex(s, &tag, 1);
    put_der_length(s, n);
    if (t->tag == DER_BIT_STRING && n > 1) {
        sb_hex(s, t->body.p, n - 1);
        uint8_t last = (uint8_t)(t->body.p[n - 1] & (0xff << (t->body.p[0] & 7)));
        sb_hex(s, &last, 1);
        return;
    }
    sb_hex(s, t->body.p, n);
}

static void print_value(struct sbuf *s, const struct der_tlv *t)
{
    int width = string_width(t->tag);
    if (width < 0) {
        print_dump(s, t);
        return;
    }
    bool quote = false;
    print_chars(NULL, t->body, width, &quote);
    if (quote)
        sb_put(s, "\"", 1);
    print_chars(s, t->body, width, &quote);
    if (quote)
        sb_put(s, "\"", 1);
}

/* ---- attribute names ---- */

static const struct attr_name {
    uint8_t len;
    uint8_t oid[10];
    const char *sn;
} attr_names[] = {
    { 3, { 0x55, 0x04, 0x03 }, "CN" },
    { 3, { 0x55, 0x04, 0x06 }, "C" },
    { 3, { 0x55, 0x04, 0x0a }, "O" },
    { 3, { 0x55, 0x04, 0x0b }, "OU" },
    { 3, { 0x55, 0x04, 0x08 }, "ST" },
    { 3, { 0x55, 0x04, 0x07 }, "L" },
    { 3, { 0x55, 0x04, 0x05 }, "serialNumber" },
    { 3, { 0x55, 0x04, 0x04 }, "SN" },
    { 3, { 0x55, 0x04, 0x09 }, "street" },
    { 3, { 0x55, 0x04, 0x0c }, "title" },
    { 3, { 0x55, 0x04, 0x0d }, "description" },
    { 3, { 0x55, 0x04, 0x0f }, "businessCategory" },
    { 3, { 0x55, 0x04, 0x11 }, "postalCode" },
    { 3, { 0x55, 0x04, 0x29 }, "name" },
    { 3, { 0x55, 0x04, 0x2a }, "GN" },
    { 3, { 0x55, 0x04, 0x2b }, "initials" },
    { 3, { 0x55, 0x04, 0x2e }, "dnQualifier" },
    { 3, { 0x55, 0x04, 0x61 }, "organizationIdentifier" },
    { 9, { 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x09, 0x01 }, "emailAddress" },
    { 10, { 0x09, 0x92, 0x26, 0x89, 0x93, 0xf2, 0x2c, 0x64, 0x01, 0x19 }, "DC" },
    { 10, { 0x09, 0x92, 0x26, 0x89, 0x93, 0xf2, 0x2c, 0x64, 0x01, 0x01 }, "UID" },
};

/* The attribute's short name, or for an OID this table lacks, OpenSSL's
 * object table (the name it knows, else the dotted form, as
 * X509_NAME_print_ex printed it). */
static void print_attr(struct sbuf *s, const struct der_tlv *oid)
{
    for (size_t i = 0; i < sizeof(attr_names) / sizeof(attr_names[0]); i++)
        if (der_oid_is(oid->body, attr_names[i].oid, attr_names[i].len)) {
            sb_str(s, attr_names[i].sn);
            return;
        }
    const unsigned char *p = oid->start;
    ASN1_OBJECT *o = d2i_ASN1_OBJECT(NULL, &p, (long)oid->tlv_len);
    if (!o)
        return;
    int nid = OBJ_obj2nid(o);
    if (nid != NID_undef) {
        sb_str(s, OBJ_nid2sn(nid));
    } else {
        char txt[80];
        OBJ_obj2txt(txt, sizeof(txt), o, 1);
        sb_str(s, txt);
    }
    ASN1_OBJECT_free(o);
}

/* ---- a Name: validated, printed, and summarised for the self-signed test ---- */

/* A string's characters with white space dropped and ASCII lower-cased:
 * coarser than OpenSSL's canonical form, so equal canonical names always
 * have equal summaries. */
static uint64_t loose_hash(uint64_t h, const struct der_tlv *v)
{
    int width = string_width(v->tag);
    bool canon = width >= 0 && v->tag != DER_NUMERIC_STRING;
    h = (h ^ (canon ? 0xffu : v->tag)) * 0x100000001b3ull;
    cursor_t c = v->body;
    while (cur_left(&c)) {
        uint32_t cp;
        if (!canon)
            cp = cur_u8(&c);
        else if (!next_char(&c, width, &cp))
            break;
        if (canon && (cp == ' ' || (cp >= 9 && cp <= 13)))
            continue;
        if (canon && cp >= 'A' && cp <= 'Z')
            cp += 'a' - 'A';
        h = (h ^ cp) * 0x100000001b3ull;
    }
    return h;
}

#define NAME_SUMMARY_MAX 24

struct name_walk {
    struct sbuf *out;           /* NULL: validate only */
    uint64_t sum[NAME_SUMMARY_MAX];
    size_t n_sum;               /* > NAME_SUMMARY_MAX: too many to compare */
};

/* What OpenSSL's decoder accepted as an attribute's value (universal
 * strings, BIT STRING, SEQUENCE and the tags it calls unknown), with the
 * checks its conversion to UTF-8 made. */
static bool value_valid(const struct der_tlv *v)
{
    if (v->cls != DER_UNIVERSAL)
        return false;
    if (v->tag == DER_SEQUENCE)
        return v->constructed;
    if (v->constructed)
        return false;
    cursor_t c = v->body;
    switch (v->tag) {
    case DER_BIT_STRING:
        return cur_left(&c) >= 1 && c.p[0] <= 7;
    case 7: case 8: case 9: case 11: case 13: case 14: case 15: case 29:
    case DER_NUMERIC_STRING: case DER_PRINTABLE_STRING: case DER_T61_STRING:
    case DER_IA5_STRING:
        return true;
    case DER_UTF8_STRING: case DER_BMP_STRING: case DER_UNIVERSAL_STRING: {
        int width = string_width(v->tag);
        if (width && cur_left(&c) % (size_t)width)
            return false;
        uint32_t cp;
        while (cur_left(&c))
            if (!next_char(&c, width, &cp))
                return false;
        return true;
    }
    default:
        return false;
    }
}

static bool walk_name(cursor_t name, struct name_walk *w)
{
    bool first = true;
    w->n_sum = 0;
    while (cur_left(&name)) {
        cursor_t rdn;
        if (!der_expect_of(&name, DER_SET, &rdn))
            return false;
        bool first_in_rdn = true;
        while (cur_left(&rdn)) {
            cursor_t ava;
            struct der_tlv oid, val;
            if (!der_expect(&rdn, DER_UNIVERSAL, true, DER_SEQUENCE, &ava) ||
                !der_read(&ava, &oid) || oid.cls != DER_UNIVERSAL ||
                oid.tag != DER_OID || oid.constructed || !der_oid_valid(oid.body) ||
                !der_read(&ava, &val) || cur_left(&ava) || !value_valid(&val))
                return false;
            if (w->out) {
                if (!first)
                    sb_str(w->out, first_in_rdn ? ", " : " + ");
                print_attr(w->out, &oid);
                sb_put(w->out, "=", 1);
                print_value(w->out, &val);
            }
            if (w->n_sum < NAME_SUMMARY_MAX) {
                uint64_t h = 0xcbf29ce484222325ull;
                for (size_t i = 0; i < cur_left(&oid.body); i++)
                    h = (h ^ oid.body.p[i]) * 0x100000001b3ull;
                w->sum[w->n_sum] = loose_hash(h, &val);
            }
            w->n_sum++;
            first = first_in_rdn = false;
        }
    }
    return cur_ok(&name);
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* Whether OpenSSL could find the two names equal (X509_NAME_cmp): the same
 * multiset of loose attribute summaries, or too many to tell. */
static bool may_be_same_name(struct name_walk *a, struct name_walk *b)
{
    if (a->n_sum != b->n_sum)
        return false;
    if (a->n_sum > NAME_SUMMARY_MAX)
        return true;
    qsort(a->sum, a->n_sum, sizeof(uint64_t), cmp_u64);
    qsort(b->sum, b->n_sum, sizeof(uint64_t), cmp_u64);
    return memcmp(a->sum, b->sum, a->n_sum * sizeof(uint64_t)) == 0;
}

/* ---- Time, as ASN1_TIME_to_tm() reads it without the RFC 5280 flag ---- */

static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    unsigned yoe = (unsigned)(y - era * 400);
    unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

static bool two_digits(const uint8_t *a, size_t l, size_t *o, int *n)
{
    if (*o + 2 > l || a[*o] < '0' || a[*o] > '9' || a[*o + 1] < '0' || a[*o + 1] > '9')
        return false;
    *n = (a[*o] - '0') * 10 + a[*o + 1] - '0';
    *o += 2;
    return *o < l;          /* a zone must follow */
}

/* Fields: [century] year month day hour minute [second], then an optional
 * fraction (GeneralizedTime), then 'Z' or +hhmm/-hhmm. 0 when invalid. */
static int64_t time_epoch(const struct der_tlv *t)
{
    static const int lo[9] = { 0, 0, 1, 1, 0, 0, 0, 0, 0 };
    static const int hi[9] = { 99, 99, 12, 31, 23, 59, 59, 12, 59 };
    bool utc = t->tag == DER_UTC_TIME;
    const uint8_t *a = t->body.p;
    size_t l = cur_left(&t->body), o = 0;
    int end = utc ? 6 : 7, btz = utc ? 5 : 6;
    int64_t year = 0;
    int f[9] = { 0 };
    if (l < (utc ? 11u : 13u))
        return 0;
    for (int i = 0; i < end; i++) {
        if (i == btz && (a[o] == 'Z' || a[o] == '+' || a[o] == '-'))
            break;
        int n, i2 = utc ? i + 1 : i;
        if (!two_digits(a, l, &o, &n) || n < lo[i2] || n > hi[i2])
            return 0;
        f[i2] = n;
        if (i2 == 1)
            year = utc ? (n < 50 ? 2000 + n : 1900 + n) : f[0] * 100 + n;
        if (i2 == 3 && n > time_days_in_month(year, f[2]))
            return 0;
    }
    if (!utc && a[o] == '.') {
        size_t d = ++o;
        while (o < l && a[o] >= '0' && a[o] <= '9')
            o++;
        if (o == d || o >= l)
            return 0;
    }
    int64_t offset = 0;
    if (a[o] == '+' || a[o] == '-') {
        int sign = a[o] == '-' ? 1 : -1, hh, mm;
        o++;
        if (o + 4 != l)
            return 0;
        if (a[o] < '0' || a[o] > '9' || a[o + 1] < '0' || a[o + 1] > '9' ||
            a[o + 2] < '0' || a[o + 2] > '9' || a[o + 3] < '0' || a[o + 3] > '9')
            return 0;
        hh = (a[o] - '0') * 10 + a[o + 1] - '0';
        mm = (a[o + 2] - '0') * 10 + a[o + 3] - '0';
        if (hh > 12 || mm > 59)
            return 0;
        offset = sign * (hh * 3600 + mm * 60);
        o += 4;
    } else if (a[o] == 'Z') {
        o++;
    } else {
        return 0;
    }
    if (o != l)
        return 0;
    int64_t secs = days_from_civil(year, (unsigned)f[2], (unsigned)f[3]) * 86400 +
                   f[4] * 3600 + f[5] * 60 + f[6];
    if (offset) {
        /* OPENSSL_gmtime_adj() refuses results outside 1900..9999 */
        secs += offset;
        int64_t lo_s = days_from_civil(1900, 1, 1) * 86400;
        int64_t hi_s = days_from_civil(10000, 1, 1) * 86400;
        if (secs < lo_s || secs >= hi_s)
            return 0;
    }
    return secs;
}

/* ---- subjectAltName ---- */

/* What the GENERAL_NAMES decoder accepted for each CHOICE. */
static bool general_name_valid(const struct der_tlv *g)
{
    cursor_t c = g->body, x;
    struct der_tlv t;
    struct name_walk w = { 0 };
    if (g->cls != DER_CONTEXT)
        return false;
    switch (g->tag) {
    case 0:     /* otherName: type-id, [0] EXPLICIT ANY */
        return g->constructed && der_expect(&c, DER_UNIVERSAL, false, DER_OID, &x) &&
               der_oid_valid(x) && der_expect(&c, DER_CONTEXT, true, 0, &x) &&
               der_read(&x, &t) && !cur_left(&x) && !cur_left(&c);
    case 1: case 2: case 6: case 7:  /* IA5String / OCTET STRING */
        return !g->constructed;
    case 3:     /* x400Address, any SEQUENCE */
        return g->constructed;
    case 4:     /* directoryName: [4] EXPLICIT Name */
        return g->constructed && der_expect_of(&c, DER_SEQUENCE, &x) &&
               !cur_left(&c) && walk_name(x, &w);
    case 5:     /* ediPartyName: [0] DirectoryString OPTIONAL, [1] DirectoryString */
        if (!g->constructed)
            return false;
        if (der_next_is(&c, DER_CONTEXT, true, 0) &&
            !(der_expect(&c, DER_CONTEXT, true, 0, &x) && der_read(&x, &t) &&
              !cur_left(&x) && t.cls == DER_UNIVERSAL && string_width(t.tag) >= 0 &&
              t.tag != DER_NUMERIC_STRING && t.tag != DER_IA5_STRING && value_valid(&t)))
            return false;
        return der_expect(&c, DER_CONTEXT, true, 1, &x) && der_read(&x, &t) &&
               !cur_left(&x) && t.cls == DER_UNIVERSAL && string_width(t.tag) >= 0 &&
               t.tag != DER_NUMERIC_STRING && t.tag != DER_IA5_STRING &&
               value_valid(&t) && !cur_left(&c);
    case 8:     /* registeredID */
        return !g->constructed && der_oid_valid(g->body);
    default:
        return false;
    }
}

static void san_text(const struct der_tlv *g, char *buf, size_t len)
{
    buf[0] = 0;
    size_t n = cur_left(&g->body);
    const uint8_t *p = g->body.p;
    if (g->tag == 2) {          /* "%.*s": up to the first NUL */
        const uint8_t *nul = memchr(p, 0, n);
        if (nul)
            n = (size_t)(nul - p);
        text_copy(buf, len, (const char *)p, n);
    } else if (g->tag == 7 && n == 4) {
        snprintf(buf, len, "%u.%u.%u.%u", p[0], p[1], p[2], p[3]);
    }
}

/* The extension's value: GeneralNames, with anything after it ignored (as
 * d2i ignored it). All entries valid, or none is counted. */
static void parse_sans(cursor_t ext_value, struct x509_info *out)
{
    cursor_t seq, c;
    struct der_tlv g;
    if (!der_expect_of(&ext_value, DER_SEQUENCE, &seq))
        return;
    for (c = seq; cur_left(&c);)
        if (!der_read(&c, &g) || !general_name_valid(&g))
            return;
    for (c = seq; cur_left(&c);) {
        der_read(&c, &g);
        if (g.tag != 2 && g.tag != 7)
            continue;
        char buf[X509_SAN_LEN];
        san_text(&g, buf, sizeof(buf));
        out->total_sans++;
        if (buf[0] && out->n_sans < X509_MAX_SANS)
            memcpy(out->sans[out->n_sans++], buf, sizeof(buf));
    }
}

/* ---- SubjectPublicKeyInfo ---- */

static const uint8_t oid_rsa[] = { 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01 };
static const uint8_t oid_ec[] = { 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01 };
static const uint8_t oid_ed25519[] = { 0x2b, 0x65, 0x70 };
static const uint8_t oid_ed448[] = { 0x2b, 0x65, 0x71 };

static const struct curve {
    uint8_t len;
    uint8_t oid[9];
    int bits;           /* of the group's order, EVP_PKEY_get_bits() */
    unsigned field;     /* octets of a coordinate */
} curves[] = {
    { 8, { 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07 }, 256, 32 },
    { 5, { 0x2b, 0x81, 0x04, 0x00, 0x22 }, 384, 48 },
    { 5, { 0x2b, 0x81, 0x04, 0x00, 0x23 }, 521, 66 },
    { 5, { 0x2b, 0x81, 0x04, 0x00, 0x21 }, 224, 28 },
    { 5, { 0x2b, 0x81, 0x04, 0x00, 0x0a }, 256, 32 },
    { 8, { 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x01 }, 192, 24 },
    { 9, { 0x2b, 0x24, 0x03, 0x03, 0x02, 0x08, 0x01, 0x01, 0x07 }, 256, 32 },
    { 9, { 0x2b, 0x24, 0x03, 0x03, 0x02, 0x08, 0x01, 0x01, 0x0b }, 384, 48 },
    { 9, { 0x2b, 0x24, 0x03, 0x03, 0x02, 0x08, 0x01, 0x01, 0x0d }, 512, 64 },
};

/* The key through OpenSSL, for the types this file does not read. */
static void key_facts_openssl(const struct der_tlv *spki, struct x509_info *out)
{
    const unsigned char *p = spki->start;
    EVP_PKEY *k = d2i_PUBKEY(NULL, &p, (long)spki->tlv_len);
    if (!k)
        return;
    out->key_bits = EVP_PKEY_get_bits(k);
    const char *t;
    switch (EVP_PKEY_get_base_id(k)) {
    case EVP_PKEY_RSA: t = "RSA"; break;
    case EVP_PKEY_EC: t = "EC"; break;
    case EVP_PKEY_DSA: t = "DSA"; break;
    case EVP_PKEY_ED25519: t = "Ed25519"; break;
    case EVP_PKEY_ED448: t = "Ed448"; break;
    default: t = "other"; break;
    }
    snprintf(out->key_type, sizeof(out->key_type), "%s", t);
    EVP_PKEY_free(k);
}

/* RSAPublicKey: SEQUENCE { modulus, publicExponent } (anything after the
 * SEQUENCE ignored, as d2i did); bits of the modulus read unsigned. */
static bool rsa_bits(cursor_t key, int *bits)
{
    cursor_t seq, n, e;
    if (!der_expect(&key, DER_UNIVERSAL, true, DER_SEQUENCE, &seq) ||
        !der_expect(&seq, DER_UNIVERSAL, false, DER_INTEGER, &n) ||
        !der_expect(&seq, DER_UNIVERSAL, false, DER_INTEGER, &e) || cur_left(&seq))
        return false;
    *bits = (int)der_uint_bits(n);
    return true;
}

static bool ec_facts(cursor_t params, cursor_t key, int *bits)
{
    cursor_t curve;
    if (!der_expect(&params, DER_UNIVERSAL, false, DER_OID, &curve) || cur_left(&params))
        return false;
    for (size_t i = 0; i < sizeof(curves) / sizeof(curves[0]); i++) {
        if (!der_oid_is(curve, curves[i].oid, curves[i].len))
            continue;
        size_t n = cur_left(&key), f = curves[i].field;
        uint8_t form = cur_peek(&key, 0);
        if (!((form == 4 && n == 1 + 2 * f) || ((form == 2 || form == 3) && n == 1 + f)))
            return false;
        *bits = curves[i].bits;
        return true;
    }
    return false;
}

/* Reads the key's type and size by hand where it can; false sends the key
 * to OpenSSL. */
static bool key_facts(cursor_t alg, cursor_t params, cursor_t key, struct x509_info *out)
{
    const char *type = NULL;
    int bits = 0;
    size_t n = cur_left(&key);
    if (der_oid_is(alg, oid_rsa, sizeof(oid_rsa))) {
        type = rsa_bits(key, &bits) ? "RSA" : NULL;
    } else if (der_oid_is(alg, oid_ec, sizeof(oid_ec))) {
        type = ec_facts(params, key, &bits) ? "EC" : NULL;
    } else if (der_oid_is(alg, oid_ed25519, sizeof(oid_ed25519))) {
        type = !cur_left(&params) && n == 32 ? "Ed25519" : NULL;
        bits = 256;
    } else if (der_oid_is(alg, oid_ed448, sizeof(oid_ed448))) {
        type = !cur_left(&params) && n == 57 ? "Ed448" : NULL;
        bits = 456;
    }
    if (!type)
        return false;
    snprintf(out->key_type, sizeof(out->key_type), "%s", type);
    out->key_bits = bits;
    return true;
}

/* ---- the certificate ---- */

/* AlgorithmIdentifier: OID, then at most one parameter of any type (its
 * contents checked as the decoder of its universal type checked them). */
static bool any_valid(const struct der_tlv *t)
{
    bool neg;
    if (t->cls != DER_UNIVERSAL)
        return true;
    switch (t->tag) {
    case 0: return false;
    case DER_BOOLEAN: return !t->constructed && cur_left(&t->body) == 1;
    case DER_NULL: return !t->constructed && cur_left(&t->body) == 0;
    case DER_INTEGER: case 10:
        return !t->constructed && der_integer(t->body, &neg, NULL, 0) > 0;
    case DER_OID: return !t->constructed && der_oid_valid(t->body);
    case DER_BIT_STRING:
        return !t->constructed && cur_left(&t->body) >= 1 && t->body.p[0] <= 7;
    case DER_SEQUENCE: case DER_SET: return t->constructed;
    case DER_BMP_STRING: return !t->constructed && cur_left(&t->body) % 2 == 0;
    case DER_UNIVERSAL_STRING: return !t->constructed && cur_left(&t->body) % 4 == 0;
    default: return !t->constructed;
    }
}

static bool read_algorithm(cursor_t *c, cursor_t *oid, cursor_t *params)
{
    cursor_t seq;
    struct der_tlv p;
    if (!der_expect(c, DER_UNIVERSAL, true, DER_SEQUENCE, &seq) ||
        !der_expect(&seq, DER_UNIVERSAL, false, DER_OID, oid) || !der_oid_valid(*oid))
        return false;
    *params = seq;
    if (cur_left(&seq) && (!der_read(&seq, &p) || !any_valid(&p) || cur_left(&seq)))
        return false;
    return true;
}

static bool read_bit_string(cursor_t *c, enum der_class cls, uint32_t tag, cursor_t *bits)
{
    return der_expect(c, cls, false, tag, bits) && cur_left(bits) >= 1 && bits->p[0] <= 7;
}

static bool read_time(cursor_t *c, int64_t *epoch)
{
    struct der_tlv t;
    if (!der_read(c, &t) || t.cls != DER_UNIVERSAL || t.constructed ||
        (t.tag != DER_UTC_TIME && t.tag != DER_GENERALIZED_TIME))
        return false;
    *epoch = time_epoch(&t);
    return true;
}

/* The serial as OpenSSL keeps it, the magnitude without the sign; the
 * 80-character field shows at most 27 octets. */
static bool read_serial(cursor_t *c, struct x509_info *out)
{
    cursor_t body;
    bool neg;
    uint8_t mag[27];
    if (!der_expect(c, DER_UNIVERSAL, false, DER_INTEGER, &body))
        return false;
    size_t n = der_integer(body, &neg, mag, sizeof(mag));
    if (!n)
        return false;
    hex_colon(mag, n < sizeof(mag) ? n : sizeof(mag), out->serial, sizeof(out->serial));
    return true;
}

static const uint8_t oid_san[] = { 0x55, 0x1d, 0x11 };

/* Extensions: SEQUENCE OF { OID, critical BOOLEAN OPTIONAL, OCTET STRING };
 * the values stay unread but for subjectAltName, decoded only when there
 * is exactly one (OpenSSL's lookup gave none for two). */
static bool read_extensions(cursor_t exts, struct x509_info *out)
{
    cursor_t san = { NULL, NULL };
    int n_san = 0;
    while (cur_left(&exts)) {
        cursor_t ext, oid, crit, value;
        if (!der_expect(&exts, DER_UNIVERSAL, true, DER_SEQUENCE, &ext) ||
            !der_expect(&ext, DER_UNIVERSAL, false, DER_OID, &oid) || !der_oid_valid(oid))
            return false;
        if (der_next_is(&ext, DER_UNIVERSAL, false, DER_BOOLEAN) &&
            (!der_expect(&ext, DER_UNIVERSAL, false, DER_BOOLEAN, &crit) ||
             cur_left(&crit) != 1))
            return false;
        if (!der_expect(&ext, DER_UNIVERSAL, false, DER_OCTET_STRING, &value) ||
            cur_left(&ext))
            return false;
        if (der_oid_is(oid, oid_san, sizeof(oid_san))) {
            san = value;
            n_san++;
        }
    }
    if (n_san == 1)
        parse_sans(san, out);
    return cur_ok(&exts);
}

struct tbs {
    cursor_t issuer, subject;
    struct der_tlv spki;
    cursor_t key_alg, key_params, key;
    cursor_t exts;
    bool has_exts;
};

static bool read_version(cursor_t *c)
{
    cursor_t v, i;
    bool neg;
    if (!der_next_is(c, DER_CONTEXT, true, 0))
        return true;
    return der_expect(c, DER_CONTEXT, true, 0, &v) &&
           der_expect(&v, DER_UNIVERSAL, false, DER_INTEGER, &i) && !cur_left(&v) &&
           der_integer(i, &neg, NULL, 0) > 0;
}

static bool read_spki(cursor_t *c, struct tbs *t)
{
    cursor_t spki;
    if (!der_read(c, &t->spki) || t->spki.cls != DER_UNIVERSAL ||
        !t->spki.constructed || t->spki.tag != DER_SEQUENCE)
        return false;
    spki = t->spki.body;
    if (!read_algorithm(&spki, &t->key_alg, &t->key_params) ||
        !read_bit_string(&spki, DER_UNIVERSAL, DER_BIT_STRING, &t->key) || cur_left(&spki))
        return false;
    cur_skip(&t->key, 1);           /* the unused-bits octet, ignored */
    return true;
}

/* TBSCertificate, field by field, in the order RFC 5280 gives them. */
static bool read_tbs(cursor_t c, struct tbs *t, struct x509_info *out)
{
    cursor_t alg, params, validity, uid;
    if (!read_version(&c) || !read_serial(&c, out) || !read_algorithm(&c, &alg, &params) ||
        !der_expect_of(&c, DER_SEQUENCE, &t->issuer) ||
        !der_expect(&c, DER_UNIVERSAL, true, DER_SEQUENCE, &validity) ||
        !read_time(&validity, &out->not_before) || !read_time(&validity, &out->not_after) ||
        cur_left(&validity) ||
        !der_expect_of(&c, DER_SEQUENCE, &t->subject) ||
        !read_spki(&c, t))
        return false;
    if (der_next_is(&c, DER_CONTEXT, false, 1) && !read_bit_string(&c, DER_CONTEXT, 1, &uid))
        return false;
    if (der_next_is(&c, DER_CONTEXT, false, 2) && !read_bit_string(&c, DER_CONTEXT, 2, &uid))
        return false;
    if (der_next_is(&c, DER_CONTEXT, true, 3)) {
        cursor_t wrap;
        t->has_exts = der_expect(&c, DER_CONTEXT, true, 3, &wrap) &&
                      der_expect_of(&wrap, DER_SEQUENCE, &t->exts) &&
                      !cur_left(&wrap);
        if (!t->has_exts)
            return false;
    }
    return cur_ok(&c) && !cur_left(&c);
}

/* X509_check_issued(x, x) as before: names equal in canonical form, key
 * identifiers, key usage and algorithms agreeing. No signature is checked.
 * Asked only when the names may be equal; OpenSSL decodes the whole
 * certificate for it. */
static bool self_issued(const uint8_t *der, size_t len)
{
    const unsigned char *p = der;
    X509 *x = d2i_X509(NULL, &p, (long)len);
    if (!x)
        return false;
    bool ok = X509_check_issued(x, x) == X509_V_OK;
    X509_free(x);
    return ok;
}

static bool parse_der(const uint8_t *der, size_t len, struct x509_info *out)
{
    memset(out, 0, sizeof(*out));
    digest(DIGEST_SHA1, der, len, out->sha1);
    cursor_t c = cur_make(der, len), cert, tbs, alg, params, sig;
    struct tbs t;
    memset(&t, 0, sizeof(t));
    /* anything after the certificate is ignored, as d2i_X509 ignored it */
    bool ok = der_expect(&c, DER_UNIVERSAL, true, DER_SEQUENCE, &cert) &&
              der_expect(&cert, DER_UNIVERSAL, true, DER_SEQUENCE, &tbs) &&
              read_algorithm(&cert, &alg, &params) &&
              read_bit_string(&cert, DER_UNIVERSAL, DER_BIT_STRING, &sig) &&
              !cur_left(&cert) && read_tbs(tbs, &t, out);
    struct name_walk subj = { 0 }, iss = { 0 };
    struct sbuf s_out = { out->subject, sizeof(out->subject), 0 };
    struct sbuf i_out = { out->issuer, sizeof(out->issuer), 0 };
    subj.out = &s_out;
    iss.out = &i_out;
    ok = ok && walk_name(t.subject, &subj) && walk_name(t.issuer, &iss) &&
         (!t.has_exts || read_extensions(t.exts, out));
    if (!ok) {
        uint8_t sha1[20];
        memcpy(sha1, out->sha1, 20);
        memset(out, 0, sizeof(*out));
        memcpy(out->sha1, sha1, 20);
        return false;
    }
    if (!key_facts(t.key_alg, t.key_params, t.key, out))
        key_facts_openssl(&t.spki, out);
    out->self_signed = may_be_same_name(&subj, &iss) && self_issued(der, len);
    return true;
}

/* OpenSSL 3's d2i_X509 cost tens of microseconds a certificate; reading
 * the DER by hand costs a few, but hashing still costs one SHA-1 and the
 * same certificates come back all day (every client of a server gets the
 * same chain), so parsed results are kept in a direct-mapped cache keyed by
 * the SHA-256 of the DER: a repeat costs one hash and one copy. Bounded,
 * allocated once. */
#define X509_CACHE_SLOTS 1024

struct x509_cache {
    struct x509_cache_slot {
        bool used, ok;
        struct x509_info info;
    } slot[X509_CACHE_SLOTS];
    struct x509_cache_stats st;
};

struct x509_cache *x509_cache_new(void)
{
    return table_mem_alloc(1, sizeof(struct x509_cache));
}

void x509_cache_free(struct x509_cache *c)
{
    table_mem_free(c, 1, sizeof(*c));
}

const struct x509_cache_stats *x509_cache_stats(const struct x509_cache *c)
{
    return &c->st;
}

bool x509_parse(struct x509_cache *cache, const uint8_t *der, size_t len,
                struct x509_info *out)
{
    uint8_t sha256[32];
    digest(DIGEST_SHA256, der, len, sha256);
    struct x509_cache_slot *c = NULL;
    if (cache) {
        c = &cache->slot[((uint32_t)sha256[0] << 8 | sha256[1]) % X509_CACHE_SLOTS];
        if (c->used && memcmp(c->info.sha256, sha256, 32) == 0) {
            cache->st.hits++;
            *out = c->info;
            return c->ok;
        }
        cache->st.misses++;
    }
    bool ok = parse_der(der, len, out);
    memcpy(out->sha256, sha256, 32);
    if (c) {
        cache->st.replaced += c->used;
        c->used = true;
        c->ok = ok;
        c->info = *out;
    }
    return ok;
}
