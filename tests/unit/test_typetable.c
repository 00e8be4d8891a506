/* test_typetable.c -- the built-in type table against libmagic, sample by
 * sample: every type the table decides gets libmagic's MIME type exactly,
 * and libmagic's description exactly where the table claims it, else the
 * first clauses of it (up to one of libmagic's ", " separators); the cases
 * it must leave to libmagic (an OLE2 file, a JAR, a shared object, text
 * libmagic would qualify, a certificate cut short) are left. Through the
 * engine: table hits, libmagic's files and its calls are counted apart. */
#include <magic.h>

#include "content/content.h"
#include "content/typetable.h"
#include "testing.h"

struct sample {
    uint8_t b[1024];
    size_t n;
};

static void put(struct sample *s, const void *d, size_t n)
{
    if (s->n + n > sizeof(s->b))
        abort();
    memcpy(s->b + s->n, d, n);
    s->n += n;
}

static void put_str(struct sample *s, const char *t) { put(s, t, strlen(t)); }

static void set16(struct sample *s, size_t at, uint16_t v)
{
    s->b[at] = (uint8_t)v;
    s->b[at + 1] = (uint8_t)(v >> 8);
}

static void set32(struct sample *s, size_t at, uint32_t v)
{
    set16(s, at, (uint16_t)v);
    set16(s, at + 2, (uint16_t)(v >> 16));
}

/* MZ, a PE header at 0x80, an optional header, one section. */
static void make_pe(struct sample *s, uint16_t machine, bool plus,
                    uint16_t chars, uint16_t subsystem, bool clr)
{
    memset(s, 0, sizeof(*s));
    s->n = 0x400;
    memcpy(s->b, "MZ", 2);
    set32(s, 0x3c, 0x80);
    memcpy(s->b + 0x80, "PE\0\0", 4);
    size_t coff = 0x84, opt = coff + 20;
    uint16_t opt_size = plus ? 0xf0 : 0xe0;
    set16(s, coff, machine);
    set16(s, coff + 2, 1);
    set16(s, coff + 16, opt_size);
    set16(s, coff + 18, chars);
    set16(s, opt, plus ? 0x20b : 0x10b);
    set16(s, opt + 68, subsystem);
    size_t dirs = opt + (plus ? 112 : 96);
    set32(s, dirs - 4, 16);
    if (clr) {
        set32(s, dirs + 14 * 8, 0x2000);
        set32(s, dirs + 14 * 8 + 4, 0x48);
    }
    size_t sec = opt + opt_size;
    memcpy(s->b + sec, ".text", 5);
    set32(s, sec + 8, 0x1000);
    set32(s, sec + 12, 0x1000);
    set32(s, sec + 16, 0x200);
    set32(s, sec + 20, 0x200);
    set32(s, sec + 36, 0x60000020);
}

static void make_elf(struct sample *s, uint16_t type)
{
    memset(s, 0, sizeof(*s));
    s->n = 64;
    memcpy(s->b, "\x7f" "ELF\x02\x01\x01", 7);
    set16(s, 16, type);
    set16(s, 18, 0x3e);
    set32(s, 20, 1);
}

/* An ELF header of a class (1: 32-bit, 2: 64-bit) and byte order (1: LSB,
 * 2: MSB) for a machine. */
static void make_elf_for(struct sample *s, uint8_t cls, uint8_t order, uint16_t type,
                         uint16_t machine)
{
    make_elf(s, type);
    s->b[4] = cls;
    s->b[5] = order;
    if (order == 2) {
        s->b[16] = (uint8_t)(type >> 8), s->b[17] = (uint8_t)type;
        s->b[18] = (uint8_t)(machine >> 8), s->b[19] = (uint8_t)machine;
        s->b[20] = s->b[21] = s->b[22] = 0, s->b[23] = 1;
    } else {
        set16(s, 18, machine);
    }
}

/* A self-signed X.509 v3 certificate (EC P-256, CN=ec, a 20-byte serial)
 * as `openssl req -x509` makes it, DER. */
static const uint8_t der_cert[370] = {
    0x30, 0x82, 0x01, 0x6e, 0x30, 0x82, 0x01, 0x15, 0xa0, 0x03, 0x02, 0x01,
    0x02, 0x02, 0x14, 0x02, 0xc0, 0xe7, 0xee, 0xb6, 0xa4, 0xb7, 0xe4, 0x79,
    0x16, 0xca, 0xa9, 0x24, 0xf8, 0x51, 0x12, 0x74, 0x88, 0xe5, 0xef, 0x30,
    0x0a, 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x02, 0x30,
    0x0d, 0x31, 0x0b, 0x30, 0x09, 0x06, 0x03, 0x55, 0x04, 0x03, 0x0c, 0x02,
    0x65, 0x63, 0x30, 0x1e, 0x17, 0x0d, 0x32, 0x36, 0x31, 0x32, 0x30, 0x31,
    0x31, 0x33, 0x30, 0x38, 0x35, 0x34, 0x5a, 0x17, 0x0d, 0x32, 0x36, 0x31,
    0x32, 0x33, 0x31, 0x31, 0x33, 0x30, 0x38, 0x35, 0x34, 0x5a, 0x30, 0x0d,
    0x31, 0x0b, 0x30, 0x09, 0x06, 0x03, 0x55, 0x04, 0x03, 0x0c, 0x02, 0x65,
    0x63, 0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d,
    0x02, 0x01, 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07,
    0x03, 0x42, 0x00, 0x04, 0xa0, 0xb6, 0xf5, 0xe2, 0x65, 0x9d, 0x7d, 0x91,
    0xdc, 0xc2, 0xea, 0x6a, 0xd1, 0xd1, 0x6b, 0x46, 0x6d, 0x5e, 0x20, 0x72,
    0x96, 0x05, 0x22, 0xf2, 0x6e, 0x4b, 0xe0, 0xc5, 0x14, 0x3b, 0x34, 0x68,
    0x82, 0x1c, 0x2b, 0xfa, 0x63, 0xd2, 0x78, 0x10, 0x06, 0x8c, 0x79, 0x0a,
    0x4f, 0xf1, 0x7c, 0x2c, 0x27, 0x3e, 0x35, 0xb7, 0x0a, 0xac, 0x57, 0x66,
    0x0f, 0x00, 0x60, 0xdb, 0xde, 0xf5, 0x0b, 0x47, 0xa3, 0x53, 0x30, 0x51,
    0x30, 0x1d, 0x06, 0x03, 0x55, 0x1d, 0x0e, 0x04, 0x16, 0x04, 0x14, 0x4e,
    0x19, 0x9f, 0x2d, 0xc7, 0x0f, 0xcd, 0xcb, 0xb0, 0x76, 0x8d, 0x89, 0xc7,
    0x7e, 0x31, 0x77, 0xc0, 0x8b, 0xf1, 0x1e, 0x30, 0x1f, 0x06, 0x03, 0x55,
    0x1d, 0x23, 0x04, 0x18, 0x30, 0x16, 0x80, 0x14, 0x4e, 0x19, 0x9f, 0x2d,
    0xc7, 0x0f, 0xcd, 0xcb, 0xb0, 0x76, 0x8d, 0x89, 0xc7, 0x7e, 0x31, 0x77,
    0xc0, 0x8b, 0xf1, 0x1e, 0x30, 0x0f, 0x06, 0x03, 0x55, 0x1d, 0x13, 0x01,
    0x01, 0xff, 0x04, 0x05, 0x30, 0x03, 0x01, 0x01, 0xff, 0x30, 0x0a, 0x06,
    0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x02, 0x03, 0x47, 0x00,
    0x30, 0x44, 0x02, 0x20, 0x0a, 0x7d, 0x4c, 0x74, 0x34, 0x31, 0x45, 0xa6,
    0xce, 0xed, 0x21, 0xd1, 0xec, 0xa5, 0x20, 0x39, 0x7a, 0x65, 0x62, 0x0c,
    0xac, 0x87, 0xfd, 0x6b, 0xf3, 0x2b, 0x58, 0x61, 0x68, 0x0b, 0x3c, 0x7e,
    0x02, 0x20, 0x0b, 0x77, 0x16, 0x77, 0xfc, 0x11, 0x17, 0xd2, 0xd2, 0x3c,
    0x73, 0x09, 0xbb, 0xed, 0xcc, 0x58, 0x70, 0x70, 0x8b, 0x03, 0x7a, 0xbb,
    0x84, 0xff, 0x7e, 0x1c, 0x04, 0xb5, 0x54, 0x14, 0xa0, 0xe9,
};

/* An icon directory of `count` 16x16 32-bit icons, the first image right
 * after it (at `first`, when not 0). */
static void make_ico(struct sample *s, uint16_t count, uint32_t first)
{
    memset(s, 0, sizeof(*s));
    put(s, "\0\0\1\0", 4);
    uint8_t c[2] = { (uint8_t)count, (uint8_t)(count >> 8) };
    put(s, c, 2);
    for (uint16_t i = 0; i < count; i++) {
        uint8_t e[16] = { 16, 16, 0, 0, 1, 0, 32, 0 };
        put(s, e, sizeof(e));
        set32(s, s->n - 8, 1128);
        set32(s, s->n - 4, (first ? first : 6 + 16u * count) + 1128u * i);
    }
    uint8_t image[40] = { 40 };
    put(s, image, sizeof(image));
}

/* "BM", a file header and a DIB header of `header` bytes for a 128 x 82
 * 32-bit image. */
static void make_bmp(struct sample *s, uint32_t header, int32_t height)
{
    memset(s, 0, sizeof(*s));
    s->n = 14 + header + 64;
    memcpy(s->b, "BM", 2);
    set32(s, 2, (uint32_t)s->n);
    set32(s, 10, 14 + header);
    set32(s, 14, header);
    set32(s, 18, 128);
    set32(s, 22, (uint32_t)height);
    set16(s, 26, 1);
    set16(s, 28, 32);
    set32(s, 38, 2835);
    set32(s, 42, 2835);
}

static void zip_entry(struct sample *s, const char *name, uint16_t method)
{
    static const char body[] = "0123456789";
    uint8_t h[30] = { 'P', 'K', 3, 4, 20, 0 };
    h[8] = (uint8_t)method;
    h[18] = h[22] = sizeof(body) - 1;
    h[26] = (uint8_t)strlen(name);
    put(s, h, sizeof(h));
    put_str(s, name);
    put(s, body, sizeof(body) - 1);
}

static void make_zip(struct sample *s, const char *const *names, uint16_t method)
{
    memset(s, 0, sizeof(*s));
    for (int i = 0; names[i]; i++)
        zip_entry(s, names[i], method);
    put(s, "PK\5\6", 4);
    uint8_t end[18] = { 0 };
    put(s, end, sizeof(end));
}

static void make_png(struct sample *s, uint8_t color, uint8_t interlace)
{
    memset(s, 0, sizeof(*s));
    put(s, "\x89PNG\r\n\x1a\n\0\0\0\x0dIHDR", 16);
    uint8_t ihdr[17] = { 0, 0, 0, 3, 0, 0, 0, 2, 8, color, 0, 0, interlace };
    put(s, ihdr, sizeof(ihdr));
    put(s, "\0\0\0\0IEND\xae\x42\x60\x82", 12);
}

static void make_bytes(struct sample *s, const void *d, size_t n)
{
    memset(s, 0, sizeof(*s));
    put(s, d, n);
    s->n = n < 64 ? 64 : n; /* zero padded, as a real file's body would not be */
}

static void make_text(struct sample *s, const char *t)
{
    memset(s, 0, sizeof(*s));
    put_str(s, t);
}

static magic_t desc, mime;

/* libmagic's words for s, as content.c asks. */
static void ask_libmagic(const struct sample *s, char *d, char *m)
{
    snprintf(d, 256, "%s", magic_buffer(desc, s->b, s->n));
    snprintf(m, 128, "%s", magic_buffer(mime, s->b, s->n));
}

/* The table decides s: the MIME type equals libmagic's; the description
 * equals libmagic's when `exact`, else is libmagic's up to a ", ". */
static void check_decided(const struct sample *s, bool exact, const char *what)
{
    char d[256], m[128], td[160], tm[96];
    ask_libmagic(s, d, m);
    bool decided = typetable_identify(s->b, s->n, td, sizeof(td), tm, sizeof(tm));
    size_t l = strlen(td);
    bool prefix = l && !strncmp(d, td, l) && !strncmp(d + l, ", ", 2);
    if (!decided || strcmp(m, tm) || (exact ? strcmp(d, td) != 0 : !prefix && strcmp(d, td))) {
        fprintf(stderr, "  %s: table %s \"%s\" [%s], libmagic \"%s\" [%s]\n", what,
                decided ? "says" : "leaves it", td, tm, d, m);
        t_failed_checks++;
    }
}

static void check_left(const struct sample *s, const char *what)
{
    char td[160], tm[96];
    if (typetable_identify(s->b, s->n, td, sizeof(td), tm, sizeof(tm))) {
        fprintf(stderr, "  %s: should go to libmagic, table said \"%s\" [%s]\n",
                what, td, tm);
        t_failed_checks++;
    }
    CHECK_STR(td, "");
    CHECK_STR(tm, "");
}

static void test_executables_as_libmagic_names_them(void)
{
    struct sample s;
    make_pe(&s, 0x14c, false, 0x0102, 2, false);
    check_decided(&s, true, "PE32 GUI");
    make_pe(&s, 0x14c, false, 0x0102, 3, false);
    check_decided(&s, true, "PE32 console");
    make_pe(&s, 0x14c, false, 0x2102, 2, false);
    check_decided(&s, true, "PE32 DLL");
    make_pe(&s, 0x14c, false, 0x0102, 3, true);
    check_decided(&s, true, "PE32 .NET");
    make_pe(&s, 0x8664, true, 0x0022, 2, false);
    check_decided(&s, true, "PE32+ GUI");
    make_pe(&s, 0x8664, true, 0x0022, 3, false);
    check_decided(&s, true, "PE32+ console");
    make_pe(&s, 0x8664, true, 0x2022, 2, false);
    check_decided(&s, true, "PE32+ DLL");
    make_pe(&s, 0x14c, false, 0x2102, 2, false);
    set16(&s, 0x86, 5);
    check_decided(&s, true, "PE32 DLL, 5 sections");
    make_elf(&s, 2);
    check_decided(&s, false, "ELF executable");
    make_elf(&s, 1);
    check_decided(&s, false, "ELF relocatable");
    make_bytes(&s, "\xcf\xfa\xed\xfe\x07\0\0\x01\x03\0\0\0\x02\0\0\0", 16);
    check_decided(&s, false, "Mach-O");
}

/* Every class, byte order and kind (object, executable, core) of the
 * machines the table names, as libmagic names them. */
static void test_elf_of_any_class_order_and_machine(void)
{
    static const uint16_t machines[] = { 2, 3, 4, 8, 10, 15, 18, 20, 21, 22, 40, 42,
                                         43, 50, 62, 183, 243, 258 };
    static const uint16_t types[] = { 1, 2, 4 };
    struct sample s;
    char what[64];
    for (size_t m = 0; m < sizeof(machines) / sizeof(machines[0]); m++)
        for (uint8_t cls = 1; cls <= 2; cls++)
            for (uint8_t order = 1; order <= 2; order++)
                for (size_t t = 0; t < 3; t++) {
                    make_elf_for(&s, cls, order, types[t], machines[m]);
                    snprintf(what, sizeof(what), "ELF class %u order %u type %u machine %u",
                             cls, order, types[t], machines[m]);
                    check_decided(&s, false, what);
                }
    /* the MIPS router binary the corpus carries: MIPS32 rel2 flags */
    make_elf_for(&s, 1, 2, 2, 8);
    s.b[36] = 0x70;
    s.b[39] = 0x05;
    check_decided(&s, false, "ELF 32-bit MSB MIPS32 rel2");
    make_elf_for(&s, 2, 2, 2, 0x1234);
    check_left(&s, "ELF of a machine the table does not name");
}

static void test_archives_and_documents_as_libmagic_names_them(void)
{
    struct sample s;
    static const char *const plain[] = { "a.txt", "b.txt", NULL };
    static const char *const docx[] = { "[Content_Types].xml", "_rels/.rels",
                                        "word/document.xml", NULL };
    static const char *const xlsx[] = { "[Content_Types].xml", "_rels/.rels",
                                        "docProps/app.xml", "xl/workbook.xml", NULL };
    static const char *const pptx[] = { "[Content_Types].xml", "_rels/.rels",
                                        "ppt/presentation.xml", NULL };
    static const char *const part_first[] = { "word/document.xml", "x.xml", NULL };
    make_zip(&s, plain, 8);
    check_decided(&s, true, "ZIP deflate");
    make_zip(&s, plain, 0);
    check_decided(&s, true, "ZIP store");
    make_zip(&s, docx, 8);
    check_decided(&s, true, "docx");
    make_zip(&s, xlsx, 8);
    check_decided(&s, true, "xlsx");
    make_zip(&s, pptx, 8);
    check_decided(&s, true, "pptx");
    make_zip(&s, part_first, 8);
    check_decided(&s, true, "OOXML part first");
    make_text(&s, "%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\n%%EOF\n");
    check_decided(&s, true, "PDF 1.4");
    make_text(&s, "%PDF-1.7\n1 0 obj\n<</Type/Catalog>>\nendobj\n");
    check_decided(&s, true, "PDF 1.7");
    make_text(&s, "{\\rtf1\\ansi\\deff0 {\\fonttbl {\\f0 Times;}} hello}\n");
    check_decided(&s, true, "RTF");
    make_bytes(&s, "\x1f\x8b\x08\0\0\0\0\0\x02\x03", 10);
    check_decided(&s, false, "gzip");
    make_bytes(&s, "BZh91AY&SY\x12\x34", 12);
    check_decided(&s, true, "bzip2");
    make_bytes(&s, "\xfd" "7zXZ\0\0\x04\xe6\xd6\xb4\x46", 12);
    check_decided(&s, true, "xz");
    make_bytes(&s, "7z\xbc\xaf\x27\x1c\0\x04", 8);
    check_decided(&s, true, "7-Zip");
    make_bytes(&s, "Rar!\x1a\x07\0\xcf\x90\x73\0\0\x0d\0", 14);
    check_decided(&s, false, "RAR 4");
    make_bytes(&s, "Rar!\x1a\x07\x01\0", 8);
    check_decided(&s, false, "RAR 5");
    make_bytes(&s, "MSCF\0\0\0\0\x64\0\0\0\0\0\0\0\x2c\0\0\0\0\0\0\0\x03\x01\x01\0\x01\0", 30);
    check_decided(&s, false, "CAB");
    make_bytes(&s, "Cr24\x03\0\0\0\x45\x02\0\0\x12\x82\x04\x0a", 16);
    check_decided(&s, true, "Chrome extension v3");
    make_bytes(&s, "Cr24\x02\0\0\0\x26\x01\0\0\0\x01\0\0", 16);
    check_decided(&s, true, "Chrome extension v2");
    make_bytes(&s, "CWS\x09\x4c\x8a\x01\0\x78\xda\xac\xbd\x07\x78\x14\x55", 16);
    check_decided(&s, true, "Flash (compressed) v9");
    make_bytes(&s, "CWS\x0a\x20\x01\0\0\x78\x9c\x63\x60\x60\x60\x00\x00", 16);
    check_decided(&s, true, "Flash (compressed) v10");
    make_bytes(&s, der_cert, sizeof(der_cert));
    s.n = sizeof(der_cert);
    check_decided(&s, true, "DER X.509 v3 certificate");
    /* SEQUENCE { OID signedData, [0] { SEQUENCE {} } } */
    make_bytes(&s, "\x30\x82\0\x0f\x06\x09\x2a\x86\x48\x86\xf7\x0d\x01\x07\x02"
               "\xa0\x02\x30\0", 19);
    s.n = 19;
    check_decided(&s, true, "DER PKCS#7 signed data");
}

static void test_images_as_libmagic_names_them(void)
{
    struct sample s;
    make_png(&s, 6, 0);
    check_decided(&s, true, "PNG RGBA");
    make_png(&s, 2, 1);
    check_decided(&s, true, "PNG RGB interlaced");
    make_png(&s, 0, 0);
    check_decided(&s, true, "PNG grayscale");
    make_png(&s, 3, 0);
    check_decided(&s, true, "PNG colormap");
    make_bytes(&s, "GIF89a\x01\0\x01\0\x80\0\0", 13);
    check_decided(&s, true, "GIF89a");
    make_bytes(&s, "GIF87a\x20\x03\x58\x02\x80\0\0", 13);
    check_decided(&s, true, "GIF87a");
    make_bytes(&s, "\xff\xd8\xff\xe0\0\x10JFIF\0\x01\x01\0\0\x01\0\x01\0\0\xff\xd9", 22);
    check_decided(&s, false, "JPEG");
    make_bytes(&s, "RIFF\x24\0\0\0WEBPVP8 \x18\0\0\0\x30\x01\0\x9d\x01\x2a\x01\0\x01\0", 30);
    check_decided(&s, false, "WebP");
    make_ico(&s, 1, 0);
    check_decided(&s, false, "ICO, 1 icon");
    make_ico(&s, 3, 0);
    check_decided(&s, false, "ICO, 3 icons");
    make_bmp(&s, 40, 82);
    check_decided(&s, false, "BMP Windows 3.x");
    make_bmp(&s, 40, -82);
    check_decided(&s, false, "BMP Windows 3.x, top-down");
    make_bmp(&s, 108, 82);
    check_decided(&s, false, "BMP Windows 95/NT4");
    make_bmp(&s, 124, 82);
    check_decided(&s, false, "BMP Windows 98/2000");
}

/* Bytes that look like what a cipher or compressor makes (xorshift). */
static void put_noise(struct sample *s, size_t n, uint32_t seed)
{
    for (size_t i = 0; i < n; i++) {
        seed ^= seed << 13, seed ^= seed >> 17, seed ^= seed << 5;
        uint8_t c = (uint8_t)seed;
        put(s, &c, 1);
    }
}

static void make_ocsp(struct sample *s, size_t body)
{
    size_t inner = 11 + 4 + body;            /* OID, OCTET STRING header, body */
    uint8_t h[] = { 0x30, 0x82, (uint8_t)((inner + 11) >> 8), (uint8_t)(inner + 11),
                    0x0a, 0x01, 0x00,
                    0xa0, 0x82, (uint8_t)((inner + 4) >> 8), (uint8_t)(inner + 4),
                    0x30, 0x82, (uint8_t)(inner >> 8), (uint8_t)inner,
                    0x06, 0x09, 0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x30, 0x01, 0x01,
                    0x04, 0x82, (uint8_t)(body >> 8), (uint8_t)body };
    memset(s, 0, sizeof(*s));
    put(s, h, sizeof(h));
    put_noise(s, body, 7);
}

/* DER: one TLV at out, the length in the short form or the long one as n
 * asks; returns its size. */
static size_t tlv(uint8_t *out, uint8_t tag, const uint8_t *body, size_t n)
{
    size_t h = 0;
    out[h++] = tag;
    if (n < 0x80) {
        out[h++] = (uint8_t)n;
    } else if (n < 0x100) {
        out[h++] = 0x81;
        out[h++] = (uint8_t)n;
    } else {
        out[h++] = 0x82;
        out[h++] = (uint8_t)(n >> 8);
        out[h++] = (uint8_t)n;
    }
    memmove(out + h, body, n);
    return h + n;
}

/* SEQUENCE { OID, NULL } */
static size_t alg_id(uint8_t *out, const uint8_t *oid, size_t n)
{
    uint8_t b[32];
    size_t k = tlv(b, 0x06, oid, n);
    b[k++] = 0x05, b[k++] = 0;
    return tlv(out, 0x30, b, k);
}

static const uint8_t oid_sha1[] = { 0x2b, 0x0e, 0x03, 0x02, 0x1a };
static const uint8_t oid_sha256[] = { 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01 };
static const uint8_t oid_sha384[] = { 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x02 };
static const uint8_t oid_sha256_rsa[] = { 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0b };

/* An OCSP request for `certs` certificates, their CertIDs hashed with
 * `oid`; a nonce extension, a requestor name ([1], which the table leaves
 * to libmagic) as asked. */
static void make_ocsp_request(struct sample *s, const uint8_t *oid, size_t oid_n,
                              int certs, bool nonce, bool requestor)
{
    uint8_t hash[32], id[160], one[200], list[600], tbs[800], b[800];
    memset(hash, 0x5a, sizeof(hash));
    size_t hn = oid_n == sizeof(oid_sha1) ? 20 : 32, k, l = 0, t = 0;
    for (int i = 0; i < certs; i++) {
        k = alg_id(id, oid, oid_n);
        k += tlv(id + k, 0x04, hash, hn);
        k += tlv(id + k, 0x04, hash, hn);
        uint8_t serial[3] = { 0x10, 0x20, (uint8_t)i };
        k += tlv(id + k, 0x02, serial, sizeof(serial));
        k = tlv(one, 0x30, id, k);               /* CertID */
        l += tlv(list + l, 0x30, one, k);        /* Request */
    }
    if (requestor) {
        static const uint8_t name[] = { 0xa4, 0x02, 0x30, 0x00 }; /* directoryName {} */
        t += tlv(tbs + t, 0xa1, name, sizeof(name));
    }
    t += tlv(tbs + t, 0x30, list, l);
    if (nonce) {
        static const uint8_t ext[] = { 0x30, 0x1d, 0x30, 0x1b, 0x06, 0x09, 0x2b, 0x06, 0x01,
                                       0x05, 0x05, 0x07, 0x30, 0x01, 0x02, 0x04, 0x0e, 0x04,
                                       0x0c, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12 };
        t += tlv(tbs + t, 0xa2, ext, sizeof(ext));
    }
    k = tlv(b, 0x30, tbs, t);
    memset(s, 0, sizeof(*s));
    s->n = tlv(s->b, 0x30, b, k);
}

/* A v2 CRL (revoked: how many entries), or with `validity` a v1
 * certificate's first fields instead: a validity SEQUENCE where the CRL
 * has its thisUpdate. */
static void make_crl(struct sample *s, int revoked, bool validity)
{
    static const uint8_t cn[] = { 0x55, 0x04, 0x03 };
    uint8_t a[64], b[64], rev[500], tbs[800], out[1000];
    size_t t = 0, k;
    static const uint8_t one = 1;
    t += tlv(tbs + t, 0x02, &one, 1);
    t += alg_id(tbs + t, oid_sha256_rsa, sizeof(oid_sha256_rsa));
    k = tlv(a, 0x06, cn, sizeof(cn));
    k += tlv(a + k, 0x13, (const uint8_t *)"Test CA", 7);
    k = tlv(b, 0x30, a, k);
    k = tlv(a, 0x31, b, k);
    t += tlv(tbs + t, 0x30, a, k);                   /* issuer */
    const uint8_t *when = (const uint8_t *)"261202000000Z";
    if (validity) {
        k = tlv(a, 0x17, when, 13);
        k += tlv(a + k, 0x17, when, 13);
        t += tlv(tbs + t, 0x30, a, k);
    } else {
        t += tlv(tbs + t, 0x17, when, 13);           /* thisUpdate */
        t += tlv(tbs + t, 0x17, when, 13);           /* nextUpdate */
        size_t r = 0;
        for (int i = 0; i < revoked; i++) {
            uint8_t serial[2] = { 0x33, (uint8_t)i };
            k = tlv(a, 0x02, serial, sizeof(serial));
            k += tlv(a + k, 0x17, when, 13);
            if (r + k + 2 > sizeof(rev))
                abort();
            r += tlv(rev + r, 0x30, a, k);
        }
        if (r)
            t += tlv(tbs + t, 0x30, rev, r);
    }
    k = tlv(out, 0x30, tbs, t);
    k += alg_id(out + k, oid_sha256_rsa, sizeof(oid_sha256_rsa));
    uint8_t sig[257] = { 0 };
    memset(sig + 1, 0xa5, 256);
    k += tlv(out + k, 0x03, sig, sizeof(sig));
    memset(s, 0, sizeof(*s));
    s->n = tlv(s->b, 0x30, out, k);
}

/* Common protocol bodies libmagic, after every test, calls "data": the
 * table says so at once, and only with their own headers. */
static void test_protocol_bodies_libmagic_calls_data(void)
{
    struct sample s;
    make_ocsp(&s, 400);
    check_decided(&s, true, "OCSP basic response");
    memset(&s, 0, sizeof(s));
    put_str(&s, "--Encrypted Boundary\r\n\tContent-Type: application/HTTP-SPNEGO-"
                "session-encrypted\r\n\tOriginalContent: type=application/soap+xml;"
                "charset=UTF-8;Length=1490\r\n--Encrypted Boundary\r\n\tContent-Type: "
                "application/octet-stream\r\n");
    put_noise(&s, 500, 11);
    check_decided(&s, true, "WinRM encrypted message");
    memset(&s, 0, sizeof(s));
    put(&s, "TNBU\0\0\0\0\x80\x2a\xa8\x11\x22\x33\0\x01\0\0\0\x01", 20);
    put_noise(&s, 400, 13);
    check_decided(&s, true, "UniFi inform");
    /* the same headers cut short, or another DER structure: libmagic's */
    make_ocsp(&s, 400);
    s.b[6] = 0x01;                           /* malformedRequest: no body */
    check_left(&s, "OCSP response of another status");
    memset(&s, 0, sizeof(s));
    put(&s, "TNBU\0\0\0\0", 8);
    check_left(&s, "TNBU, too short to be an inform");
    /* what a browser asks a responder, and what a distribution point
     * serves: short, one-octet and two-octet outer lengths */
    make_ocsp_request(&s, oid_sha1, sizeof(oid_sha1), 1, false, false);
    check_decided(&s, true, "OCSP request, SHA-1");
    make_ocsp_request(&s, oid_sha1, sizeof(oid_sha1), 1, true, false);
    check_decided(&s, true, "OCSP request, SHA-1, nonce");
    make_ocsp_request(&s, oid_sha256, sizeof(oid_sha256), 1, true, false);
    check_decided(&s, true, "OCSP request, SHA-256, nonce");
    make_ocsp_request(&s, oid_sha256, sizeof(oid_sha256), 3, false, false);
    check_decided(&s, true, "OCSP request, three certificates");
    make_crl(&s, 0, false);
    check_decided(&s, true, "CRL, empty");
    make_crl(&s, 2, false);
    check_decided(&s, true, "CRL, two revoked");
    make_crl(&s, 20, false);
    check_decided(&s, true, "CRL, twenty revoked");
    /* other DER: libmagic's */
    make_ocsp_request(&s, oid_sha384, sizeof(oid_sha384), 1, false, false);
    check_left(&s, "OCSP request, SHA-384");
    make_ocsp_request(&s, oid_sha1, sizeof(oid_sha1), 1, false, true);
    check_left(&s, "OCSP request with a requestor name");
    make_crl(&s, 0, true);
    check_left(&s, "a v1 certificate's first fields");
    make_crl(&s, 2, false);
    s.n -= 40;                               /* into the signature: the fields whole */
    check_left(&s, "CRL cut short");
    make_text(&s, "0 errors, 0 warnings\n");
    check_left(&s, "text that starts with a 0");
}

static void test_scripts_and_pages_only_in_plain_ascii(void)
{
    struct sample s;
    make_text(&s, "#!/bin/sh\necho hi\n");
    check_decided(&s, true, "sh");
    make_text(&s, "#!/bin/bash\nfor i in 1 2; do echo $i; done\n");
    check_decided(&s, true, "bash");
    make_text(&s, "#!/usr/bin/env bash\necho hi\n");
    check_decided(&s, true, "env bash");
    make_text(&s, "#!/usr/bin/python3\nprint(1)\n");
    check_decided(&s, true, "python3");
    make_text(&s, "#!/usr/bin/env python3\nimport os\nprint(os.name)\n");
    check_decided(&s, true, "env python3");
    make_text(&s, "<!DOCTYPE html>\n<html><head><title>x</title></head><body>hi</body></html>\n");
    check_decided(&s, true, "HTML doctype");
    make_text(&s, "<html>\n<body>hi</body></html>\n");
    check_decided(&s, true, "HTML");
    /* what libmagic words differently is left to it */
    make_text(&s, "#!/bin/sh\r\necho hi\r\n");
    check_left(&s, "sh with CRLF");
    make_text(&s, "#!/bin/sh -e\necho hi\n");
    check_left(&s, "sh with an argument");
    char line[400];
    memset(line, 'x', sizeof(line) - 2);
    line[sizeof(line) - 2] = '\n';
    line[sizeof(line) - 1] = '\0';
    make_text(&s, "<!doctype html>\n");
    put_str(&s, line);
    check_left(&s, "HTML with a long line");
    make_text(&s, "<html>\n<body>caf\xc3\xa9</body></html>\n");
    check_left(&s, "HTML in UTF-8");
    make_text(&s, "hello world\n");
    check_left(&s, "plain text");
}

static void test_what_the_table_leaves_to_libmagic(void)
{
    struct sample s;
    make_pe(&s, 0x14c, false, 0x0102, 1, false);
    check_left(&s, "PE native subsystem");
    make_pe(&s, 0xaa64, true, 0x0022, 2, false);
    check_left(&s, "PE ARM64");
    make_bytes(&s, "MZ\x90\0\x03\0\0\0\x04\0\0\0\xff\xff", 14);
    check_left(&s, "MS-DOS");
    make_elf(&s, 3);
    check_left(&s, "ELF shared object or PIE");
    make_bytes(&s, "\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", 8);
    check_left(&s, "OLE2");
    static const char *const jar[] = { "META-INF/MANIFEST.MF", "a.class", NULL };
    make_zip(&s, jar, 8);
    check_left(&s, "JAR");
    static const char *const odt[] = { "mimetype", "content.xml", NULL };
    make_zip(&s, odt, 0);
    check_left(&s, "ODF");
    static const char *const ooxml[] = { "[Content_Types].xml", "docProps/app.xml",
                                         "docProps/core.xml", "customXml/a.xml", "word/x.xml", NULL };
    make_zip(&s, ooxml, 8);
    check_left(&s, "OOXML with its part fifth");
    /* libmagic's walk assumes a first name of 19 bytes: this is a ZIP to it */
    static const char *const rels_first[] = { "_rels/.rels", "[Content_Types].xml",
                                              "ppt/presentation.xml", NULL };
    make_zip(&s, rels_first, 8);
    check_left(&s, "OOXML that libmagic calls a ZIP");
    make_bytes(&s, "RIFF\x24\0\0\0WAVEfmt ", 16);
    check_left(&s, "WAVE");
    make_bytes(&s, der_cert, 300);
    check_left(&s, "DER certificate cut short");
    /* a one-byte serial: libmagic reads it as a second version */
    make_bytes(&s, "\x30\x82\0\x20\x30\x82\0\x1c\xa0\x03\x02\x01\x02\x02\x01\x01", 16);
    check_left(&s, "DER certificate with a one-byte serial");
    make_ico(&s, 1, 100);
    check_left(&s, "ICO whose first image is not after the directory");
    make_bmp(&s, 12, 82);
    check_left(&s, "BMP OS/2 1.x");
    make_bytes(&s, "FWS\x0a\x20\x01\0\0", 8);
    check_left(&s, "Flash uncompressed");
    make_bytes(&s, "", 0);
    check_left(&s, "empty");
}

/* A content engine that types files (libmagic on), without YARA. */
static struct content_engine *typing_engine(void)
{
    struct content_config cfg;
    memset(&cfg, 0, sizeof(cfg));
    cfg.magic = true;
    snprintf(cfg.yara_path, sizeof(cfg.yara_path), "none");
    char err[256] = "";
    return content_engine_new(&cfg, err, sizeof(err));
}

static void test_engine_counts_table_hits_and_libmagic_calls(void)
{
    struct content_engine *e = typing_engine();
    REQUIRE(e != NULL);
    struct content_result r;
    struct sample s;
    make_png(&s, 6, 0);
    content_inspect(e, s.b, s.n, NULL, false, &r);
    CHECK_STR(r.mime, "image/png");
    CHECK_STR(r.magic, "PNG image data, 3 x 2, 8-bit/color RGBA, non-interlaced");
    make_bytes(&s, "\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", 8);
    content_inspect(e, s.b, s.n, NULL, false, &r);
    const struct content_stats *st = content_engine_stats(e);
    CHECK_EQ(st->type_table_hits, 1);
    CHECK_EQ(st->type_cache_misses, 1);
    CHECK_EQ(st->type_magic_calls, 2); /* a description and a MIME type */
    content_inspect(e, s.b, s.n, NULL, false, &r);
    CHECK_EQ(st->type_cache_hits, 1);
    CHECK_EQ(st->type_magic_calls, 2);
    content_engine_free(e);
}

/* Random bytes (encrypted or compressed) are "data" without libmagic; a
 * structured binary libmagic has no name for either still goes to it. */
static void test_engine_calls_random_bytes_data_without_libmagic(void)
{
    struct content_engine *e = typing_engine();
    REQUIRE(e != NULL);
    struct content_result r;
    struct sample s;
    memset(&s, 0, sizeof(s));
    uint32_t x = 88172645u;
    for (s.n = 0; s.n < sizeof(s.b); s.n++) {
        x ^= x << 13, x ^= x >> 17, x ^= x << 5;
        s.b[s.n] = (uint8_t)x;
    }
    char d[256], m[128];
    ask_libmagic(&s, d, m);
    CHECK_STR(m, "application/octet-stream"); /* what libmagic says of it */
    content_inspect(e, s.b, s.n, NULL, false, &r);
    CHECK_STR(r.magic, "data");
    CHECK_STR(r.mime, "application/octet-stream");
    const struct content_stats *st = content_engine_stats(e);
    CHECK_EQ(st->type_high_entropy, 1);
    CHECK_EQ(st->type_magic_calls, 0);
    for (size_t i = 0; i < s.n; i += 2) /* every other byte 0x01 */
        s.b[i] = 1;
    content_inspect(e, s.b, s.n, NULL, false, &r);
    CHECK_EQ(st->type_high_entropy, 1);
    CHECK_EQ(st->type_cache_misses, 1);
    CHECK(st->type_magic_calls >= 1);
    content_engine_free(e);
}

static void setup(void)
{
    desc = magic_open(MAGIC_NONE | MAGIC_NO_CHECK_COMPRESS);
    mime = magic_open(MAGIC_MIME_TYPE | MAGIC_NO_CHECK_COMPRESS);
    REQUIRE(desc && mime && !magic_load(desc, NULL) && !magic_load(mime, NULL));
}

static void teardown(void)
{
    magic_close(desc);
    magic_close(mime);
}

TEST_LIST_FIXTURE(setup, teardown, test_executables_as_libmagic_names_them,
                  test_elf_of_any_class_order_and_machine,
                  test_archives_and_documents_as_libmagic_names_them,
                  test_images_as_libmagic_names_them,
                  test_protocol_bodies_libmagic_calls_data,
                  test_scripts_and_pages_only_in_plain_ascii,
                  test_what_the_table_leaves_to_libmagic,
                  test_engine_counts_table_hits_and_libmagic_calls,
                  test_engine_calls_random_bytes_data_without_libmagic)
