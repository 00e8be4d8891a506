/* typetable.c -- the built-in type table (see typetable.h).
 *
 * Each entry is a signature (bytes at an offset) and a function that
 * checks the structure behind it and writes libmagic's words for it, or
 * gives up. The first entry whose signature matches decides: an entry that
 * gives up sends the file to libmagic, it never lets a later entry guess.
 * The words are libmagic 5.x's (its "msdos", "elf", "mach", "zip",
 * "msooxml", "pdf", "rtf", "compress", "archive", "images", "riff",
 * "flash", "der", "sgml" and "commands" magic); the test compares them
 * with the libmagic the build links.
 */
#include "content/typetable.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "util/cursor.h"
#include "util/der.h"

#define TEXT_BYTES 8192     /* what libmagic is given, so what it judges */
#define TEXT_LINE_MAX 250   /* libmagic says "with very long lines" past 300 */

struct answer {
    char *magic;
    size_t magic_len;
    const char *mime;
};

static bool say(struct answer *a, const char *mime, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static bool say(struct answer *a, const char *mime, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(a->magic, a->magic_len, fmt, ap);
    va_end(ap);
    a->mime = mime;
    return true;
}

static bool starts(const uint8_t *b, size_t n, const char *s, size_t m)
{
    return n >= m && memcmp(b, s, m) == 0;
}

/* ---- executables -------------------------------------------------------- */

/* "PE32 executable (DLL) (GUI) Intel 80386 Mono/.Net assembly, for MS
 * Windows, 5 sections" (an installer or packer libmagic finds in the body
 * comes after that, as ", Nullsoft Installer ..."): the kinds of machine and subsystem most files have; others
 * (native, EFI, ARM, ...) go to libmagic. */
static bool pe(const uint8_t *b, size_t n, struct answer *a)
{
    cursor_t c = cur_make(b, n);
    cur_skip(&c, 0x3c);
    uint32_t off = cur_u32le(&c);
    if (!cur_ok(&c) || off > n || n - off < 24 || memcmp(b + off, "PE\0\0", 4))
        return false;
    c = cur_make(b + off + 4, n - off - 4);
    uint16_t machine = cur_u16le(&c), sections = cur_u16le(&c);
    cur_skip(&c, 12);
    uint16_t opt_size = cur_u16le(&c), chars = cur_u16le(&c);
    cursor_t opt = cur_sub(&c, opt_size);
    uint16_t magic = cur_u16le(&opt);
    cur_skip(&opt, 66);
    uint16_t subsystem = cur_u16le(&opt);
    cur_skip(&opt, magic == 0x20b ? 38 : 22);
    uint32_t ndirs = cur_u32le(&opt);
    cur_skip(&opt, 14 * 8);
    uint32_t clr_va = cur_u32le(&opt), clr_size = cur_u32le(&opt);
    bool clr = cur_ok(&opt) && ndirs > 14 && clr_va && clr_size;
    const char *mach = machine == 0x14c ? "Intel 80386" : machine == 0x8664 ? "x86-64" : NULL;
    const char *sub = subsystem == 2 ? "(GUI)" : subsystem == 3 ? "(console)" : NULL;
    if (!cur_ok(&c) || !mach || !sub || (magic != 0x10b && magic != 0x20b) ||
        (chars & 0x0200)) /* libmagic notes "(stripped to external PDB)" */
        return false;
    char count[32] = "";
    if (sections > 1) /* libmagic counts them from two on */
        snprintf(count, sizeof(count), ", %u sections", sections);
    return say(a, "application/vnd.microsoft.portable-executable",
               "PE32%s executable %s%s %s%s, for MS Windows%s",
               magic == 0x20b ? "+" : "", chars & 0x2000 ? "(DLL) " : "", sub,
               mach, clr ? " Mono/.Net assembly" : "", count);
}

/* libmagic's names of the machines an ELF file is most often built for
 * (its "elf" magic; the same for either class and byte order). */
static const struct {
    uint16_t machine;
    const char *name;
} elf_machines[] = {
    { 2, "SPARC" }, { 3, "Intel 80386" }, { 4, "Motorola m68k" }, { 8, "MIPS" },
    { 10, "MIPS" }, { 15, "PA-RISC" }, { 18, "SPARC32PLUS" },
    { 20, "PowerPC or cisco 4500" }, { 21, "64-bit PowerPC or cisco 7500" },
    { 22, "IBM S/390" }, { 40, "ARM" }, { 42, "Renesas SH" }, { 43, "SPARC V9" },
    { 50, "IA-64" }, { 62, "x86-64" }, { 183, "ARM aarch64" }, { 243, "UCB RISC-V" },
    { 258, "LoongArch" },
};

static const char *elf_machine(uint16_t machine)
{
    for (size_t i = 0; i < sizeof(elf_machines) / sizeof(elf_machines[0]); i++)
        if (elf_machines[i].machine == machine)
            return elf_machines[i].name;
    return NULL;
}

/* An executable, an object file or a core dump, of either class and byte
 * order; a shared object may be a PIE, which libmagic tells from the
 * dynamic section: it decides those. */
static bool elf(const uint8_t *b, size_t n, struct answer *a)
{
    if (n < 20 || (b[4] != 1 && b[4] != 2) || (b[5] != 1 && b[5] != 2) || b[6] != 1)
        return false;
    cursor_t c = cur_make(b + 16, n - 16);
    uint16_t type = b[5] == 1 ? cur_u16le(&c) : cur_u16be(&c);
    uint16_t machine = b[5] == 1 ? cur_u16le(&c) : cur_u16be(&c);
    static const struct {
        const char *what, *mime;
    } types[5] = { { NULL, NULL }, { "relocatable", "application/x-object" },
                   { "executable", "application/x-executable" }, { NULL, NULL },
                   { "core file", "application/x-coredump" } };
    const char *mach = elf_machine(machine);
    if (!cur_ok(&c) || type >= 5 || !types[type].what || !mach)
        return false;
    return say(a, types[type].mime, "ELF %s-bit %cSB %s, %s", b[4] == 2 ? "64" : "32",
               b[5] == 1 ? 'L' : 'M', types[type].what, mach);
}

static bool macho(const uint8_t *b, size_t n, struct answer *a)
{
    cursor_t c = cur_make(b + 4, n >= 4 ? n - 4 : 0);
    uint32_t cpu = cur_u32le(&c);
    cur_skip(&c, 4);
    uint32_t type = cur_u32le(&c);
    const char *name = cpu == 0x01000007 ? "x86_64" : cpu == 0x0100000c ? "arm64" : NULL;
    if (!cur_ok(&c) || !name || type != 2)
        return false;
    return say(a, "application/x-mach-binary", "Mach-O 64-bit %s executable", name);
}

/* ---- archives and documents --------------------------------------------- */

/* The name of the local file header at b[off], or NULL. */
static const uint8_t *zip_entry(const uint8_t *b, size_t n, size_t off,
                                size_t *name_len, size_t *next)
{
    if (off > n)
        return NULL;
    cursor_t c = cur_make(b + off, n - off);
    if (cur_u32le(&c) != 0x04034b50)
        return NULL;
    cur_skip(&c, 14);
    uint32_t csize = cur_u32le(&c);
    cur_skip(&c, 4);
    uint16_t nl = cur_u16le(&c), xl = cur_u16le(&c);
    const uint8_t *name = cur_bytes(&c, nl);
    if (!cur_ok(&c))
        return NULL;
    *name_len = nl;
    *next = off + 30 + nl + xl + csize;
    return name;
}

static bool name_is(const uint8_t *name, size_t len, const char *s)
{
    return len == strlen(s) && !memcmp(name, s, len);
}

static bool name_starts(const uint8_t *name, size_t len, const char *s)
{
    return len >= strlen(s) && !memcmp(name, s, strlen(s));
}

/* An Office Open XML part's folder names the application. */
static bool ooxml_part(const uint8_t *name, size_t len, struct answer *a)
{
    if (name_starts(name, len, "word/"))
        return say(a, "application/vnd.openxmlformats-officedocument."
                   "wordprocessingml.document", "Microsoft Word 2007+");
    if (name_starts(name, len, "xl/"))
        return say(a, "application/vnd.openxmlformats-officedocument."
                   "spreadsheetml.sheet", "Microsoft Excel 2007+");
    if (name_starts(name, len, "ppt/"))
        return say(a, "application/vnd.openxmlformats-officedocument."
                   "presentationml.presentation", "Microsoft PowerPoint 2007+");
    return false;
}

/* The next local header signature at or after `from`, within libmagic's
 * search window of 6000 bytes; SIZE_MAX when there is none. */
static size_t next_header(const uint8_t *b, size_t n, size_t from)
{
    if (from >= n)
        return SIZE_MAX;
    size_t w = n - from < 6000 + 3 ? n - from : 6000 + 3;
    const uint8_t *p = memmem(b + from, w, "PK\3\4", 4);
    return p ? (size_t)(p - b) : SIZE_MAX;
}

/* The part name of the local header at `at` (its name field), if whole. */
static bool part_at(const uint8_t *b, size_t n, size_t at, struct answer *a)
{
    if (at == SIZE_MAX || at > n || n - at < 30)
        return false;
    size_t len = (size_t)(b[at + 26] | b[at + 27] << 8);
    return n - at - 30 >= len && ooxml_part(b + at + 30, len, a);
}

/* [Content_Types].xml or _rels/.rels first: libmagic's "msooxml" searches
 * for a header from the first entry's compressed size + 49 (as if the first
 * name were [Content_Types].xml and had no extra field), then for the next
 * one, and reads that one's folder, else the folder of the one after. The
 * same walk here, so the answer is libmagic's; no part where it looks: to
 * libmagic (it says "Microsoft OOXML" or "Zip archive data"). */
static bool ooxml(const uint8_t *b, size_t n, struct answer *a)
{
    size_t csize = (size_t)b[18] | (size_t)b[19] << 8 | (size_t)b[20] << 16 |
                   (size_t)b[21] << 24;
    size_t second = next_header(b, n, csize + 49);
    if (second == SIZE_MAX)
        return false;
    size_t third = next_header(b, n, second + 30);
    if (part_at(b, n, third, a))
        return true;
    return third != SIZE_MAX && part_at(b, n, next_header(b, n, third + 30), a);
}

/* First entries libmagic reads as another format built on ZIP (ODF and
 * EPUB, JAR, APK, KMZ, XPI, iOS apps, ...): those go to libmagic. */
static bool zip_special(const uint8_t *name, size_t len)
{
    static const char *const prefixes[] = {
        "mimetype", "META-INF", "AndroidManifest", "classes.dex", "doc.kml",
        "Payload/", "install.rdf", "chrome.manifest", "manifest.json",
        "content.xml", "AppxManifest", "[trash]", NULL,
    };
    for (int i = 0; prefixes[i]; i++)
        if (name_starts(name, len, prefixes[i]))
            return true;
    return len >= 6 && !memcmp(name + len - 6, ".class", 6);
}

static bool zip(const uint8_t *b, size_t n, struct answer *a)
{
    size_t len, next;
    const uint8_t *name = zip_entry(b, n, 0, &len, &next);
    if (!name)
        return false;
    if (name_is(name, len, "[Content_Types].xml") || name_is(name, len, "_rels/.rels"))
        return ooxml(b, n, a);
    if (ooxml_part(name, len, a))
        return true;
    if (zip_special(name, len))
        return false;
    unsigned version = (unsigned)(b[4] | b[5] << 8);
    unsigned method = (unsigned)(b[8] | b[9] << 8);
    const char *m = method == 0 ? "store" : method == 8 ? "deflate" : NULL;
    if (version >= 100)
        return false;
    if (!m)
        return say(a, "application/zip", "Zip archive data, at least v%u.%u to extract",
                   version / 10, version % 10);
    return say(a, "application/zip",
               "Zip archive data, at least v%u.%u to extract, compression method=%s",
               version / 10, version % 10, m);
}

static bool pdf(const uint8_t *b, size_t n, struct answer *a)
{
    if (n < 8 || b[5] < '0' || b[5] > '9' || b[6] != '.' || b[7] < '0' || b[7] > '9')
        return false;
    return say(a, "application/pdf", "PDF document, version %c.%c", b[5], b[7]);
}

static bool rtf(const uint8_t *b, size_t n, struct answer *a)
{
    if (n < 6 || b[5] < '0' || b[5] > '9')
        return false;
    bool ansi = n >= 11 && !memcmp(b + 6, "\\ansi", 5);
    return say(a, "text/rtf", "Rich Text Format data, version %c%s", b[5],
               ansi ? ", ANSI" : "");
}

static bool gzip(const uint8_t *b, size_t n, struct answer *a)
{
    if (n < 10 || b[2] != 8)
        return false;
    return say(a, "application/gzip", "gzip compressed data");
}

static bool bzip2(const uint8_t *b, size_t n, struct answer *a)
{
    if (n < 10 || b[3] < '1' || b[3] > '9' || memcmp(b + 4, "1AY&SY", 6))
        return false;
    return say(a, "application/x-bzip2", "bzip2 compressed data, block size = %c00k", b[3]);
}

static bool xz(const uint8_t *b, size_t n, struct answer *a)
{
    if (n < 8 || b[6] != 0)
        return false;
    const char *sum = b[7] == 1 ? ", checksum CRC32" : b[7] == 4 ? ", checksum CRC64" : "";
    return say(a, "application/x-xz", "XZ compressed data%s", sum);
}

static bool sevenzip(const uint8_t *b, size_t n, struct answer *a)
{
    if (n < 8 || b[6] > 9 || b[7] > 9)
        return false;
    return say(a, "application/x-7z-compressed", "7-zip archive data, version %u.%u",
               b[6], b[7]);
}

static bool rar(const uint8_t *b, size_t n, struct answer *a)
{
    if (n >= 8 && b[6] == 1 && b[7] == 0)
        return say(a, "application/x-rar", "RAR archive data, v5");
    if (n >= 7 && b[6] == 0)
        return say(a, "application/x-rar", "RAR archive data");
    return false;
}

static bool cab(const uint8_t *b, size_t n, struct answer *a)
{
    (void)b;
    if (n < 36)
        return false;
    return say(a, "application/vnd.ms-cab-compressed", "Microsoft Cabinet archive data");
}

/* "Cr24", a version, then a ZIP: libmagic names the version whatever it is. */
static bool crx(const uint8_t *b, size_t n, struct answer *a)
{
    cursor_t c = cur_make(b + 4, n >= 4 ? n - 4 : 0);
    uint32_t version = cur_u32le(&c);
    if (!cur_ok(&c))
        return false;
    return say(a, "application/x-chrome-extension", "Google Chrome extension, version %u",
               version);
}

/* A compressed Flash movie: "CWS", a version libmagic takes below 32, the
 * uncompressed length and a zlib stream; libmagic wants the zlib header and
 * a length past the header. FWS and ZWS (lzma) go to libmagic. */
static bool swf(const uint8_t *b, size_t n, struct answer *a)
{
    cursor_t c = cur_make(b + 4, n >= 4 ? n - 4 : 0);
    uint32_t length = cur_u32le(&c);
    uint8_t zlib = cur_u8(&c);
    if (!cur_ok(&c) || b[3] == 0 || b[3] >= 32 || length < 20 || zlib != 0x78)
        return false;
    return say(a, "application/x-shockwave-flash",
               "Macromedia Flash data (compressed), version %u", b[3]);
}

/* ---- bodies libmagic calls "data" ---------------------------------------
 *
 * Protocol bodies that are common on the wire and that libmagic, after
 * trying every test it has (0.15-0.2 ms), calls "data": answered the same
 * here without asking it. Each is told by a header of its own. */

static bool data(struct answer *a)
{
    return say(a, "application/octet-stream", "data");
}

/* An OCSP response that holds a basic response (RFC 6960 4.2.1):
 * SEQUENCE { ENUMERATED 0, [0] { SEQUENCE { OID 1.3.6.1.5.5.7.48.1.1, ...
 * with two-byte lengths -- what a responder sends for a certificate. */
static bool ocsp_response(const uint8_t *b, size_t n, struct answer *a)
{
    static const uint8_t basic[11] = { 0x06, 0x09, 0x2b, 0x06, 0x01, 0x05,
                                       0x05, 0x07, 0x30, 0x01, 0x01 };
    if (n < 26 || b[4] != 0x0a || b[5] != 0x01 || b[6] != 0x00 ||
        b[7] != 0xa0 || b[8] != 0x82 || b[11] != 0x30 || b[12] != 0x82 ||
        memcmp(b + 15, basic, sizeof(basic)))
        return false;
    return data(a);
}

/* The next TLV on c is a SEQUENCE (its contents to *body, when asked). */
static bool der_seq(cursor_t *c, cursor_t *body)
{
    cursor_t b;
    return der_expect(c, DER_UNIVERSAL, true, DER_SEQUENCE, body ? body : &b);
}

/* A CRL (RFC 5280 5.1): SEQUENCE { SEQUENCE { INTEGER 1 (v2), SEQUENCE
 * algorithm, SEQUENCE issuer, UTCTime or GeneralizedTime thisUpdate, ...
 * -- what a CA's distribution point serves over HTTP. A certificate has
 * a [0] version there or, v1, a validity SEQUENCE after the issuer. */
static bool crl(const uint8_t *b, size_t n, struct answer *a)
{
    cursor_t c = cur_make(b, n), list, tbs, version;
    if (!der_seq(&c, &list) || !der_seq(&list, &tbs) ||
        !der_expect(&tbs, DER_UNIVERSAL, false, DER_INTEGER, &version) ||
        cur_left(&version) != 1 || cur_u8(&version) != 1 ||
        !der_seq(&tbs, NULL) || !der_seq(&tbs, NULL) ||
        !(der_next_is(&tbs, DER_UNIVERSAL, false, DER_UTC_TIME) ||
          der_next_is(&tbs, DER_UNIVERSAL, false, DER_GENERALIZED_TIME)))
        return false;
    return data(a);
}

/* An OCSP request (RFC 6960 4.1.1) as clients send it: SEQUENCE {
 * SEQUENCE tbsRequest { SEQUENCE requestList { SEQUENCE { SEQUENCE
 * CertID { SEQUENCE { OID SHA-1 or SHA-256, ... }, OCTET STRING,
 * OCTET STRING, INTEGER } ... -- no version, no requestor name. */
static bool ocsp_request(const uint8_t *b, size_t n, struct answer *a)
{
    static const uint8_t sha1[5] = { 0x2b, 0x0e, 0x03, 0x02, 0x1a };
    static const uint8_t sha256[9] = { 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01 };
    cursor_t c = cur_make(b, n), req, tbs, list, one, id, alg, oid, h;
    if (!der_seq(&c, &req) || !der_seq(&req, &tbs) || !der_seq(&tbs, &list) ||
        !der_seq(&list, &one) || !der_seq(&one, &id) || !der_seq(&id, &alg) ||
        !der_expect(&alg, DER_UNIVERSAL, false, DER_OID, &oid) ||
        !(der_oid_is(oid, sha1, sizeof(sha1)) || der_oid_is(oid, sha256, sizeof(sha256))) ||
        !der_expect(&id, DER_UNIVERSAL, false, DER_OCTET_STRING, &h) ||
        !der_expect(&id, DER_UNIVERSAL, false, DER_OCTET_STRING, &h) ||
        !der_next_is(&id, DER_UNIVERSAL, false, DER_INTEGER))
        return false;
    return data(a);
}

/* The DER bodies above whatever form their outer length takes (a short
 * or one-octet one: the table's "0" entry; two octets: der()). */
static bool der_bodies(const uint8_t *b, size_t n, struct answer *a)
{
    return crl(b, n, a) || ocsp_request(b, n, a);
}

/* WinRM's encrypted message (MS-WSMV 2.2.9.1): a multipart body whose
 * first line is its boundary. */
static bool winrm(const uint8_t *b, size_t n, struct answer *a)
{
    (void)b, (void)n;
    return data(a);
}

/* A UniFi device's "inform" to its controller: "TNBU", a version, the
 * device's MAC, then an encrypted payload. */
static bool unifi_inform(const uint8_t *b, size_t n, struct answer *a)
{
    (void)b;
    return n >= 40 ? data(a) : false;
}

/* DER: an X.509 v3 certificate (SEQUENCE { SEQUENCE { [0] { INTEGER 2 },
 * INTEGER serial, ...) or PKCS#7 signed data (SEQUENCE { OID
 * 1.2.840.113549.1.7.2, ...), whole in the buffer -- libmagic's "der" magic
 * reads neither when cut short. A one-byte serial libmagic also reads as a
 * version ("Certificate, Version=3 Certificate, Version=01"): to libmagic.
 * libmagic gives no MIME type for either. Else the bodies it calls "data":
 * an OCSP response, a CRL, an OCSP request. */
static bool der(const uint8_t *b, size_t n, struct answer *a)
{
    static const uint8_t v3_cert[10] = { 0x30, 0x82, 0, 0, 0xa0, 0x03, 0x02, 0x01, 0x02,
                                         0x02 };
    static const uint8_t signed_data[11] = { 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7,
                                             0x0d, 0x01, 0x07, 0x02 };
    if (n < 15 || (size_t)(b[2] << 8 | b[3]) > n - 4)
        return false;
    if (!memcmp(b + 4, v3_cert, 2) && !memcmp(b + 8, v3_cert + 4, 6) && b[14] >= 2 &&
        b[14] < 0x80)
        return say(a, "application/octet-stream", "Certificate, Version=3");
    if (!memcmp(b + 4, signed_data, sizeof(signed_data)))
        return say(a, "application/octet-stream", "DER Encoded PKCS#7 Signed Data");
    return ocsp_response(b, n, a) || der_bodies(b, n, a);
}

/* ---- images ------------------------------------------------------------- */

static bool png(const uint8_t *b, size_t n, struct answer *a)
{
    cursor_t c = cur_make(b + 8, n >= 8 ? n - 8 : 0);
    uint32_t len = cur_u32be(&c);
    const uint8_t *type = cur_bytes(&c, 4);
    uint32_t w = cur_u32be(&c), h = cur_u32be(&c);
    uint8_t depth = cur_u8(&c), color = cur_u8(&c);
    cur_skip(&c, 2);
    uint8_t interlace = cur_u8(&c);
    static const char *const colors[7] = { "grayscale", NULL, "/color RGB",
                                           "colormap", "gray+alpha", NULL, "/color RGBA" };
    if (!cur_ok(&c) || len != 13 || memcmp(type, "IHDR", 4) || color > 6 ||
        !colors[color] || interlace > 1)
        return false;
    return say(a, "image/png", "PNG image data, %u x %u, %u-bit%s%s, %s", w, h, depth,
               colors[color][0] == '/' ? "" : " ", colors[color],
               interlace ? "interlaced" : "non-interlaced");
}

static bool gif(const uint8_t *b, size_t n, struct answer *a)
{
    if (n < 10 || (b[4] != '7' && b[4] != '9') || b[5] != 'a')
        return false;
    return say(a, "image/gif", "GIF image data, version 8%ca, %u x %u", b[4],
               (unsigned)(b[6] | b[7] << 8), (unsigned)(b[8] | b[9] << 8));
}

static bool jpeg(const uint8_t *b, size_t n, struct answer *a)
{
    (void)b;
    if (n < 4)
        return false;
    return say(a, "image/jpeg", "JPEG image data");
}

static bool webp(const uint8_t *b, size_t n, struct answer *a)
{
    if (n < 16 || memcmp(b + 8, "WEBPVP8", 7))
        return false;
    return say(a, "image/webp", "RIFF (little-endian) data, Web/P image");
}

/* An icon directory: a count, then 16-byte entries. libmagic wants the
 * first entry's reserved byte 0 (or 0xff) and its image where most icons
 * have it, right after the directory (elsewhere libmagic may say "data"),
 * and four bytes of it; it goes on with each icon's size and depth. */
static bool ico(const uint8_t *b, size_t n, struct answer *a)
{
    cursor_t c = cur_make(b + 4, n >= 4 ? n - 4 : 0);
    uint16_t count = cur_u16le(&c);
    cur_skip(&c, 3);
    uint8_t reserved = cur_u8(&c);
    cur_skip(&c, 8);
    uint32_t first = cur_u32le(&c);
    size_t dir_end = 6 + 16 * (size_t)count;
    if (!cur_ok(&c) || count == 0 || count > 64 || (reserved != 0 && reserved != 0xff) ||
        first != dir_end || n < dir_end + 4)
        return false;
    return say(a, "image/vnd.microsoft.icon", "MS Windows icon resource - %u icon%s",
               count, count > 1 ? "s" : "");
}

/* "BM" and a Windows DIB header (of 40, 108 or 124 bytes): libmagic names
 * the header's version, then width x height x depth (signed, as libmagic
 * prints them), then the details. */
static bool bmp(const uint8_t *b, size_t n, struct answer *a)
{
    cursor_t c = cur_make(b + 14, n >= 14 ? n - 14 : 0);
    uint32_t header = cur_u32le(&c);
    int32_t w = (int32_t)cur_u32le(&c), h = (int32_t)cur_u32le(&c);
    cur_skip(&c, 2);
    int16_t depth = (int16_t)cur_u16le(&c);
    const char *version = header == 40 ? "Windows 3.x format"
                        : header == 108 ? "Windows 95/NT4 and newer format"
                        : header == 124 ? "Windows 98/2000 and newer format" : NULL;
    if (!cur_ok(&c) || !version)
        return false;
    return say(a, "image/bmp", "PC bitmap, %s, %d x %d x %d", version, (int)w, (int)h,
               (int)depth);
}

/* ---- text --------------------------------------------------------------- */

/* Text libmagic calls "ASCII text" with nothing after it: printable ASCII,
 * tabs and LF only, at least one line end, no line over TEXT_LINE_MAX. CR,
 * escapes, long lines or any other byte: libmagic's words would differ. */
static bool plain_ascii(const uint8_t *b, size_t n)
{
    size_t m = n < TEXT_BYTES ? n : TEXT_BYTES, line = 0;
    bool lf = false;
    for (size_t i = 0; i < m; i++) {
        uint8_t c = b[i];
        if (c == '\n') {
            lf = true;
            line = 0;
        } else if ((c < 0x20 && c != '\t') || c > 0x7e || ++line > TEXT_LINE_MAX) {
            return false;
        }
    }
    return lf;
}

/* The interpreter lines libmagic names, exactly as written (with no
 * arguments: "#!/bin/sh -e" and the like go to libmagic). */
static const struct {
    const char *line, *what, *mime;
} interpreters[] = {
    { "#!/bin/sh\n", "POSIX shell script", "text/x-shellscript" },
    { "#!/bin/bash\n", "Bourne-Again shell script", "text/x-shellscript" },
    { "#!/usr/bin/env bash\n", "Bourne-Again shell script", "text/x-shellscript" },
    { "#!/usr/bin/python3\n", "Python script", "text/x-script.python" },
    { "#!/usr/bin/env python3\n", "Python script", "text/x-script.python" },
    { "#!/usr/bin/python\n", "Python script", "text/x-script.python" },
    { "#!/usr/bin/env python\n", "Python script", "text/x-script.python" },
};

static bool script(const uint8_t *b, size_t n, struct answer *a)
{
    for (size_t i = 0; i < sizeof(interpreters) / sizeof(interpreters[0]); i++)
        if (starts(b, n, interpreters[i].line, strlen(interpreters[i].line)))
            return plain_ascii(b, n) &&
                   say(a, interpreters[i].mime, "%s, ASCII text executable",
                       interpreters[i].what);
    return false;
}

/* A page that says so in its first bytes: "<!DOCTYPE html" or "<html". */
static bool html(const uint8_t *b, size_t n, struct answer *a)
{
    bool page = (n >= 14 && !strncasecmp((const char *)b, "<!doctype html", 14)) ||
                (n >= 6 && !strncasecmp((const char *)b, "<html", 5) &&
                 (b[5] == '>' || b[5] == ' '));
    return page && plain_ascii(b, n) && say(a, "text/html", "HTML document, ASCII text");
}

/* ---- the table ---------------------------------------------------------- */

typedef bool (*type_fn)(const uint8_t *b, size_t n, struct answer *a);

static const struct {
    uint16_t off;
    uint8_t len;
    const char *sig;
    type_fn fn;
} table[] = {
    { 0, 2, "MZ", pe },
    { 0, 4, "\x7f" "ELF", elf },
    { 0, 4, "\xcf\xfa\xed\xfe", macho },
    { 0, 4, "PK\3\4", zip },
    { 0, 5, "%PDF-", pdf },
    { 0, 5, "{\\rtf", rtf },
    { 0, 2, "\x1f\x8b", gzip },
    { 0, 3, "BZh", bzip2 },
    { 0, 6, "\xfd" "7zXZ", xz },
    { 0, 6, "7z\xbc\xaf\x27\x1c", sevenzip },
    { 0, 6, "Rar!\x1a\x07", rar },
    { 0, 8, "MSCF\0\0\0\0", cab },
    { 0, 4, "Cr24", crx },
    { 0, 3, "CWS", swf },
    { 0, 2, "\x30\x82", der },
    { 0, 1, "\x30", der_bodies },
    { 0, 8, "\x89PNG\r\n\x1a\n", png },
    { 0, 4, "GIF8", gif },
    { 0, 3, "\xff\xd8\xff", jpeg },
    { 0, 4, "RIFF", webp },
    { 0, 4, "\0\0\1\0", ico },
    { 0, 2, "BM", bmp },
    { 0, 2, "#!", script },
    { 0, 22, "--Encrypted Boundary\r\n", winrm },
    { 0, 4, "TNBU", unifi_inform },
    { 0, 1, "<", html },
};

bool typetable_identify(const uint8_t *buf, size_t len, char *magic,
                        size_t magic_len, char *mime, size_t mime_len)
{
    struct answer a = { magic, magic_len, NULL };
    if (magic_len)
        magic[0] = '\0';
    if (mime_len)
        mime[0] = '\0';
    for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++) {
        size_t off = table[i].off, n = table[i].len;
        if (len < off + n || memcmp(buf + off, table[i].sig, n))
            continue;
        if (!table[i].fn(buf, len, &a)) {
            if (magic_len)
                magic[0] = '\0';
            return false;
        }
        snprintf(mime, mime_len, "%s", a.mime);
        return true;
    }
    return false;
}
