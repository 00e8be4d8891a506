/* filetype.c -- file types from their bytes (see filetype.h). */
#include "content/filetype.h"

#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <pthread.h>
#include <string.h>
#include <strings.h>

#include "util/cursor.h"
#include "util/text.h"

const char *const file_kind_names[FILE_KIND_COUNT] = {
#define X(name, what) #name,
    FILE_KINDS(X)
#undef X
};

const char *const file_kind_what[FILE_KIND_COUNT] = {
#define X(name, what) what,
    FILE_KINDS(X)
#undef X
};

#define SCAN_BYTES 65536    /* text markers and OLE names are looked for here */
#define ZIP_ENTRIES_MAX 4096

static const char *const exec_ext[] = {
    "exe", "dll", "scr", "com", "pif", "cpl", "sys", "ocx", "msi", "msp",
    "msc", "jar", "js", "jse", "vbs", "vbe", "wsf", "wsh", "hta", "ps1",
    "psm1", "bat", "cmd", "lnk", "reg", "sct", "apk", "elf", "bin", "sh",
    "appx", "msix", "iso", "img", "vhd", "vhdx", "xll", "url", "inf", "chm",
};

void file_name_extension(const char *name, char *out, size_t n)
{
    size_t end = strcspn(name, "?#");
    const char *dot = NULL;
    for (size_t i = 0; i < end; i++) {
        if (name[i] == '/' || name[i] == '\\')
            dot = NULL;
        else if (name[i] == '.')
            dot = name + i;
    }
    if (!dot || !n) {
        if (n)
            out[0] = '\0';
        return;
    }
    size_t len = (size_t)(name + end - dot - 1);
    text_copy(out, n, dot + 1, len);
    for (char *p = out; *p; p++)
        *p = (char)tolower((unsigned char)*p);
}

bool file_name_is_executable(const char *name)
{
    char ext[16];
    file_name_extension(name, ext, sizeof(ext));
    if (!ext[0] || !strcmp(ext, "bin") || !strcmp(ext, "url") ||
        !strcmp(ext, "inf") || !strcmp(ext, "iso") || !strcmp(ext, "img"))
        return false; /* in the table for archives' sake, too common alone */
    for (size_t i = 0; i < sizeof(exec_ext) / sizeof(exec_ext[0]); i++)
        if (!strcmp(ext, exec_ext[i]))
            return true;
    return false;
}

bool file_type_is_executable(const struct file_type *t)
{
    switch (t->kind) {
    case FILE_KIND_pe: case FILE_KIND_elf: case FILE_KIND_macho:
    case FILE_KIND_java_class: case FILE_KIND_jar: case FILE_KIND_apk:
    case FILE_KIND_msi: case FILE_KIND_lnk: case FILE_KIND_script:
    case FILE_KIND_hta:
        return true;
    case FILE_KIND_ole: case FILE_KIND_ooxml: case FILE_KIND_rtf:
        return (t->flags & FT_MACRO) != 0;
    default:
        return (t->flags & FT_HOLDS_EXEC) != 0;
    }
}

/* ---- helpers ------------------------------------------------------------ */

static bool starts(const uint8_t *b, size_t n, const void *sig, size_t m)
{
    return n >= m && memcmp(b, sig, m) == 0;
}

static const uint8_t *find_bytes(const uint8_t *b, size_t n, const void *s,
                                 size_t m)
{
    return m && n >= m ? memmem(b, n, s, m) : NULL;
}

/* Case-insensitive search for an ASCII needle. */
static bool find_nocase(const uint8_t *b, size_t n, const char *needle)
{
    size_t m = strlen(needle);
    if (n < m)
        return false;
    int c0 = tolower((unsigned char)needle[0]);
    for (size_t i = 0; i + m <= n; i++)
        if (tolower(b[i]) == c0 && strncasecmp((const char *)b + i, needle, m) == 0)
            return true;
    return false;
}

/* An ASCII string as UTF-16LE, searched in the buffer. */
static bool find_utf16(const uint8_t *b, size_t n, const char *ascii)
{
    uint8_t w[64];
    size_t m = strlen(ascii);
    if (m * 2 > sizeof(w))
        return false;
    for (size_t i = 0; i < m; i++) {
        w[2 * i] = (uint8_t)ascii[i];
        w[2 * i + 1] = 0;
    }
    return find_bytes(b, n, w, m * 2) != NULL;
}

double file_entropy(const uint8_t *b, size_t n)
{
    uint32_t count[256] = { 0 };
    if (!n)
        return 0;
    for (size_t i = 0; i < n; i++)
        count[b[i]]++;
    double h = 0;
    for (int i = 0; i < 256; i++)
        if (count[i]) {
            double p = (double)count[i] / (double)n;
            h -= p * log2(p);
        }
    return h;
}

/* The byte entropy of n uniform random bytes, as measured (from their
 * counts), falls short of 8 bits by the bias of estimating 256 frequencies
 * from n samples: (K-1)/(2n ln 2) + (K^2-1)/(12 n^2 ln 2) bits for K = 256
 * (Miller-Madow and the next term), with a standard deviation of about
 * sqrt((K-1)/2)/(n ln 2). Within RANDOM_MARGIN deviations of that: random
 * as far as the counts can tell. A small header does not move the entropy
 * of 8 KiB much (32 zero bytes: about 3 deviations), so a format that is a
 * few header bytes before a compressed body (an MP3 without ID3, an MP4
 * whose mdat comes first) can pass too. */
#define RANDOM_MIN_BYTES 256
#define RANDOM_MARGIN 4.0

bool file_bytes_look_random(const uint8_t *b, size_t n)
{
    if (n < RANDOM_MIN_BYTES)
        return false;
    double nn = (double)n;
    double expected = 8.0 - 255.0 / (2.0 * nn * M_LN2) - 65535.0 / (12.0 * nn * nn * M_LN2);
    double sd = sqrt(127.5) / (nn * M_LN2);
    return file_entropy(b, n) >= expected - RANDOM_MARGIN * sd;
}

/* A listed name: what it says about the archive holding it. */
static void archive_name(struct file_type *t, const char *name, size_t len)
{
    char n[256];
    text_copy(n, sizeof(n), name, len);
    if (!strcmp(n, "[Content_Types].xml") && t->kind == FILE_KIND_zip)
        t->kind = FILE_KIND_ooxml;
    size_t l = strlen(n);
    if (l >= 14 && !strcasecmp(n + l - 14, "vbaProject.bin"))
        t->flags |= FT_MACRO;
    if (!strcmp(n, "META-INF/MANIFEST.MF") || (l > 6 && !strcmp(n + l - 6, ".class")))
        t->kind = t->kind == FILE_KIND_apk ? FILE_KIND_apk : FILE_KIND_jar;
    if (!strcmp(n, "classes.dex") || !strcmp(n, "AndroidManifest.xml"))
        t->kind = FILE_KIND_apk;
    if (file_name_is_executable(n) && !(t->flags & FT_HOLDS_EXEC)) {
        t->flags |= FT_HOLDS_EXEC;
        text_copy(t->inner, sizeof(t->inner), n, strlen(n));
    }
}

/* ---- executables -------------------------------------------------------- */

static void sniff_pe(const uint8_t *b, size_t n, struct file_type *t)
{
    cursor_t c = cur_make(b, n);
    cur_skip(&c, 0x3c);
    uint32_t pe = cur_u32le(&c);
    if (!cur_ok(&c) || pe > n || n - pe < 24 || memcmp(b + pe, "PE\0\0", 4) != 0)
        return;
    t->kind = FILE_KIND_pe;
    c = cur_make(b + pe + 4, n - pe - 4);
    cur_skip(&c, 16);                 /* machine .. symbols */
    uint16_t opt_size = cur_u16le(&c);
    uint16_t chars = cur_u16le(&c);
    if (chars & 0x2000)
        t->flags |= FT_DLL;
    cursor_t opt = cur_sub(&c, opt_size);
    uint16_t magic = cur_u16le(&opt);
    size_t skip = magic == 0x20b ? 106 : magic == 0x10b ? 90 : 0;
    if (!skip)
        return;
    cur_skip(&opt, skip);             /* to NumberOfRvaAndSizes */
    uint32_t ndirs = cur_u32le(&opt);
    for (uint32_t i = 0; i < ndirs && i < 16 && cur_ok(&opt); i++) {
        uint32_t va = cur_u32le(&opt), size = cur_u32le(&opt);
        if (!cur_ok(&opt))
            break;
        if (i == 4 && va && size)
            t->flags |= FT_SIGNED;    /* the certificate table */
        if (i == 14 && va && size)
            t->flags |= FT_DOTNET;    /* the CLR header */
    }
}

/* 0xCAFEBABE starts both a Java class and a universal Mach-O binary. */
static void sniff_cafebabe(const uint8_t *b, size_t n, struct file_type *t)
{
    cursor_t c = cur_make(b, n);
    cur_skip(&c, 4);
    uint32_t v = cur_u32be(&c);
    if (cur_ok(&c))
        t->kind = v < 20 ? FILE_KIND_macho : FILE_KIND_java_class;
}

/* ---- archives ----------------------------------------------------------- */

/* The central directory, when the end of the file is there. */
static bool zip_central(const uint8_t *b, size_t n, struct file_type *t)
{
    size_t lo = n > 65557 ? n - 65557 : 0;
    for (size_t i = n >= 22 ? n - 22 : 0; i + 1 > lo; i--) {
        if (memcmp(b + i, "PK\5\6", 4) != 0) {
            if (!i)
                break;
            continue;
        }
        cursor_t e = cur_make(b + i, n - i);
        cur_skip(&e, 10);
        uint16_t entries = cur_u16le(&e);
        uint32_t size = cur_u32le(&e), off = cur_u32le(&e);
        if (!cur_ok(&e) || off > n || size > n - off)
            return false;
        cursor_t cd = cur_make(b + off, size);
        for (unsigned k = 0; k < entries && k < ZIP_ENTRIES_MAX && cur_ok(&cd); k++) {
            if (cur_u32le(&cd) != 0x02014b50)
                break;
            cur_skip(&cd, 4);
            uint16_t flags = cur_u16le(&cd);
            cur_skip(&cd, 18);        /* method, time, date, crc, sizes */
            uint16_t nl = cur_u16le(&cd), xl = cur_u16le(&cd), cl = cur_u16le(&cd);
            cur_skip(&cd, 12);
            const uint8_t *name = cur_bytes(&cd, nl);
            cur_skip(&cd, (size_t)xl + cl);
            if (!cur_ok(&cd))
                break;
            if (flags & 1)
                t->flags |= FT_ENCRYPTED;
            archive_name(t, (const char *)name, nl);
        }
        return true;
    }
    return false;
}

/* Local headers from the start: for a file whose end was not kept. */
static void zip_local(const uint8_t *b, size_t n, struct file_type *t)
{
    cursor_t c = cur_make(b, n);
    for (unsigned k = 0; k < ZIP_ENTRIES_MAX && cur_left(&c) >= 30; k++) {
        if (cur_u32le(&c) != 0x04034b50)
            return;
        cur_skip(&c, 2);
        uint16_t flags = cur_u16le(&c);
        cur_skip(&c, 10);
        uint32_t csize = cur_u32le(&c);
        cur_skip(&c, 4);
        uint16_t nl = cur_u16le(&c), xl = cur_u16le(&c);
        const uint8_t *name = cur_bytes(&c, nl);
        if (!cur_ok(&c))
            return;
        if (flags & 1)
            t->flags |= FT_ENCRYPTED;
        archive_name(t, (const char *)name, nl);
        if ((flags & 8) && !csize)
            return; /* sizes follow the data: cannot skip it */
        cur_skip(&c, (size_t)xl + csize);
    }
}

/* RAR 1.5-4.x blocks; RAR 5 names are only typed, not listed. */
static void rar4(const uint8_t *b, size_t n, struct file_type *t)
{
    cursor_t c = cur_make(b, n);
    cur_skip(&c, 7);
    for (unsigned k = 0; k < ZIP_ENTRIES_MAX && cur_left(&c) >= 7; k++) {
        const uint8_t *start = c.p;
        cur_skip(&c, 2);
        uint8_t type = cur_u8(&c);
        uint16_t flags = cur_u16le(&c), hsize = cur_u16le(&c);
        uint64_t add = (flags & 0x8000) ? cur_u32le(&c) : 0;
        if (!cur_ok(&c) || hsize < 7)
            return;
        if (type == 0x73 && (flags & 0x80)) {
            t->flags |= FT_ENCRYPTED; /* the headers themselves */
            return;
        }
        if (type == 0x74) {
            cursor_t h = cur_make(start + 7, hsize > 7 ? hsize - 7u : 0);
            if (cur_left(&c) + (size_t)(c.p - start) < hsize)
                return;
            cur_skip(&h, 4 + 4 + 1 + 4 + 4 + 1 + 1);
            uint16_t nl = cur_u16le(&h);
            cur_skip(&h, 4 + ((flags & 0x100) ? 8 : 0));
            const uint8_t *name = cur_bytes(&h, nl);
            if (!cur_ok(&h))
                return;
            if (flags & 0x04)
                t->flags |= FT_ENCRYPTED;
            archive_name(t, (const char *)name, strnlen((const char *)name, nl));
        }
        size_t next = (size_t)hsize + (size_t)add;
        if ((size_t)(b + n - start) <= next)
            return;
        c = cur_make(start + next, (size_t)(b + n - start) - next);
    }
}

/* ---- documents and text ------------------------------------------------- */

static void sniff_ole(const uint8_t *b, size_t n, struct file_type *t)
{
    static const uint8_t msi_clsid[16] = { 0x84, 0x10, 0x0c, 0x00, 0, 0, 0, 0,
                                           0xc0, 0, 0, 0, 0, 0, 0, 0x46 };
    t->kind = FILE_KIND_ole;
    if (find_bytes(b, n, msi_clsid, sizeof(msi_clsid)))
        t->kind = FILE_KIND_msi;
    else if (find_utf16(b, n, "_VBA_PROJECT") || find_utf16(b, n, "Macros"))
        t->flags |= FT_MACRO;
}

/* Text markers, all lower case; the first is an HTA's, the rest tell a
 * script (two of them, or a shebang, make one). */
static const char *const text_markers[] = {
    "<hta:application",
    "invoke-expression", "iex(", "iex (", "frombase64string", "downloadstring",
    "downloadfile", "net.webclient", "start-process", "-encodedcommand",
    "-windowstyle hidden", "createobject(", "wscript.shell", "activexobject",
    "shell.application", "adodb.stream", "msxml2.xmlhttp", "winhttp.winhttprequest",
    "scripting.filesystemobject", "@echo off", "cmd /c", "cmd.exe /c",
    "powershell -", "powershell.exe", "regsvr32", "rundll32", "mshta",
    "bitsadmin", "certutil -decode", "/bin/sh", "/bin/bash", "chmod +x",
    "wget http", "curl http",
};
#define N_MARKERS (sizeof(text_markers) / sizeof(text_markers[0]))
_Static_assert(N_MARKERS <= 64, "markers are a 64-bit set");

/* The one-pass search (Wu-Manber, blocks of two bytes) reads a window of
 * a marker's shortest length, MARKER_MIN: a shorter marker is a
 * programming error. */
#define MARKER_MIN 4
static void marker_index_check(size_t len)
{
    if (len < MARKER_MIN)
        abort();
}

/* Bytes folded to lower case, bytes that text is made of, which markers
 * start with a given lower-case byte, and for every folded byte pair how
 * far a window ending in it may move on without passing the start of a
 * marker (0: a marker may start at the window): built once, read-only
 * after. */
static struct {
    uint8_t fold[256];
    uint8_t textish[256];
    uint64_t by_first[256];
    uint8_t shift[65536];
    uint8_t len[N_MARKERS];
} text_index;
static pthread_once_t text_once = PTHREAD_ONCE_INIT;

static void text_index_build(void)
{
    for (unsigned c = 0; c < 256; c++) {
        text_index.fold[c] = (uint8_t)(c >= 'A' && c <= 'Z' ? c | 0x20 : c);
        text_index.textish[c] = (c >= 32 && c < 127) || c == '\n' || c == '\r' ||
                                c == '\t' || c >= 0x80;
    }
    memset(text_index.shift, MARKER_MIN - 1, sizeof(text_index.shift));
    for (size_t k = 0; k < N_MARKERS; k++) {
        const uint8_t *m = (const uint8_t *)text_markers[k];
        marker_index_check(strlen(text_markers[k]));
        text_index.by_first[m[0]] |= 1ull << k;
        text_index.len[k] = (uint8_t)strlen(text_markers[k]);
        for (unsigned j = 1; j < MARKER_MIN; j++) { /* the pair m[j-1], m[j] */
            uint8_t *sh = &text_index.shift[m[j - 1] << 8 | m[j]];
            if (*sh > MARKER_MIN - 1 - j)
                *sh = (uint8_t)(MARKER_MIN - 1 - j);
        }
    }
}

/* The set of markers found in b[0..n), in one pass: the window
 * b[pos-3..pos] moves on by its last pair's shift, and a marker is
 * compared only where the shift is 0. */
static uint64_t find_markers(const uint8_t *b, size_t n)
{
    pthread_once(&text_once, text_index_build);
    const uint8_t *fold = text_index.fold;
    uint64_t found = 0;
    for (size_t pos = MARKER_MIN - 1; pos < n;) {
        unsigned sh = text_index.shift[fold[b[pos - 1]] << 8 | fold[b[pos]]];
        if (sh) {
            pos += sh;
            continue;
        }
        size_t i = pos - (MARKER_MIN - 1);
        for (uint64_t c = text_index.by_first[fold[b[i]]] & ~found; c; c &= c - 1) {
            int k = __builtin_ctzll(c);
            size_t m = text_index.len[k];
            if (i + m <= n && strncasecmp((const char *)b + i, text_markers[k], m) == 0)
                found |= 1ull << k;
        }
        pos++;
    }
    return found;
}

static bool mostly_text(const uint8_t *b, size_t n)
{
    pthread_once(&text_once, text_index_build);
    size_t k = n < 4096 ? n : 4096, ok = 0;
    for (size_t i = 0; i < k; i++)
        ok += text_index.textish[b[i]];
    return k && ok * 100 >= k * 97;
}

/* "<hta:application" anywhere: the tag makes a page an HTML application.
 * memchr finds the candidates, so a page costs what its '<' count does. */
static bool has_hta_tag(const uint8_t *b, size_t n)
{
    static const char tag[] = "<hta:application";
    const size_t m = sizeof(tag) - 1;
    for (const uint8_t *p = b, *end = b + n;
         (size_t)(end - p) >= m && (p = memchr(p, '<', (size_t)(end - p) - m + 1)); p++)
        if (strncasecmp((const char *)p, tag, m) == 0)
            return true;
    return false;
}

static void sniff_text(const uint8_t *b, size_t n, struct file_type *t)
{
    size_t m = n < SCAN_BYTES ? n : SCAN_BYTES;
    size_t i = 0;
    if (m >= 3 && b[0] == 0xef && b[1] == 0xbb && b[2] == 0xbf)
        i = 3;
    while (i < m && isspace(b[i]))
        i++;
    if (i < m && b[i] == '<') { /* markup: an HTA or a page, never a script */
        t->kind = has_hta_tag(b, m) ? FILE_KIND_hta : FILE_KIND_html;
        return;
    }
    uint64_t found = find_markers(b, m);
    if (found & 1) {
        t->kind = FILE_KIND_hta;
        return;
    }
    int hits = __builtin_popcountll(found);
    bool shebang = m - i >= 2 && b[i] == '#' && b[i + 1] == '!';
    t->kind = hits >= 2 || shebang ? FILE_KIND_script : FILE_KIND_text;
}

/* ---- the table ---------------------------------------------------------- */

void file_type_sniff(const uint8_t *b, size_t n, uint64_t total,
                     struct file_type *t)
{
    memset(t, 0, sizeof(*t));
    bool whole = !total || total == n;
    static const uint8_t lnk[20] = { 0x4c, 0, 0, 0, 0x01, 0x14, 0x02, 0, 0, 0, 0, 0,
                                     0xc0, 0, 0, 0, 0, 0, 0, 0x46 };
    if (starts(b, n, "MZ", 2)) {
        sniff_pe(b, n, t);
        if (t->kind == FILE_KIND_pe)
            return;
    }
    if (starts(b, n, "\x7f" "ELF", 4))
        t->kind = FILE_KIND_elf;
    else if (starts(b, n, "\xfe\xed\xfa\xce", 4) || starts(b, n, "\xfe\xed\xfa\xcf", 4) ||
             starts(b, n, "\xce\xfa\xed\xfe", 4) || starts(b, n, "\xcf\xfa\xed\xfe", 4))
        t->kind = FILE_KIND_macho;
    else if (starts(b, n, "\xca\xfe\xba\xbe", 4))
        sniff_cafebabe(b, n, t);
    else if (starts(b, n, lnk, sizeof(lnk)))
        t->kind = FILE_KIND_lnk;
    else if (starts(b, n, "\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", 8))
        sniff_ole(b, n < (1u << 20) ? n : (1u << 20), t);
    else if (starts(b, n, "PK\3\4", 4)) {
        t->kind = FILE_KIND_zip;
        if (!whole || !zip_central(b, n, t))
            zip_local(b, n, t);
    } else if (starts(b, n, "Rar!\x1a\x07\x00", 7)) {
        t->kind = FILE_KIND_rar;
        rar4(b, n, t);
    } else if (starts(b, n, "Rar!\x1a\x07\x01", 7))
        t->kind = FILE_KIND_rar;
    else if (starts(b, n, "7z\xbc\xaf\x27\x1c", 6))
        t->kind = FILE_KIND_sevenzip;
    else if (starts(b, n, "\x1f\x8b", 2))
        t->kind = FILE_KIND_gzip;
    else if (starts(b, n, "MSCF", 4))
        t->kind = FILE_KIND_cab;
    else if (n >= 0x8006 && memcmp(b + 0x8001, "CD001", 5) == 0)
        t->kind = FILE_KIND_iso;
    else if (starts(b, n, "%PDF", 4))
        t->kind = FILE_KIND_pdf;
    else if (starts(b, n, "{\\rtf", 5)) {
        t->kind = FILE_KIND_rtf;
        size_t m = n < (1u << 20) ? n : (1u << 20);
        if (find_nocase(b, m, "\\objdata") || find_nocase(b, m, "\\objupdate"))
            t->flags |= FT_MACRO;
    } else if (starts(b, n, "\x89PNG", 4) || starts(b, n, "\xff\xd8\xff", 3) ||
               starts(b, n, "GIF8", 4) || starts(b, n, "\0\0\1\0", 4) ||
               (starts(b, n, "RIFF", 4) && n >= 12 && !memcmp(b + 8, "WEBP", 4)) ||
               (starts(b, n, "BM", 2) && n >= 26 && b[14] >= 12 && b[14] <= 124 &&
                !b[15] && !b[16] && !b[17]))
        t->kind = FILE_KIND_image;
    else if (n && mostly_text(b, n))
        sniff_text(b, n, t);
    else if (n >= 256 && file_entropy(b, n < 4096 ? n : 4096) > 7.2)
        t->flags |= FT_HIGH_ENTROPY;
}
