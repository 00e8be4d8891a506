/* test_typetable.c -- the built-in type table against libmagic, sample by
 * sample: every type the table decides gets libmagic's MIME type exactly,
 * and libmagic's description exactly where the table claims it, else the
 * first clauses of it (up to one of libmagic's ", " separators); the cases
 * it must leave to libmagic (an OLE2 file, a JAR, a shared object, text
 * libmagic would qualify) are left. Through the engine: table hits and
 * libmagic calls are counted apart. */
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
    make_bytes(&s, "", 0);
    check_left(&s, "empty");
}

static void test_engine_counts_table_hits_and_libmagic_calls(void)
{
    struct content_config cfg;
    memset(&cfg, 0, sizeof(cfg));
    cfg.magic = true;
    snprintf(cfg.yara_path, sizeof(cfg.yara_path), "none");
    char err[256] = "";
    struct content_engine *e = content_engine_new(&cfg, err, sizeof(err));
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
    CHECK_EQ(st->type_magic_calls, 1);
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
                  test_archives_and_documents_as_libmagic_names_them,
                  test_images_as_libmagic_names_them,
                  test_scripts_and_pages_only_in_plain_ascii,
                  test_what_the_table_leaves_to_libmagic,
                  test_engine_counts_table_hits_and_libmagic_calls)
