/* filetype.h -- what a file really is, from its bytes: a built-in table of
 * the types that matter for delivery detection (executables, installers,
 * documents that can carry macros, archives that can carry executables,
 * scripts), with the facts that make one suspicious -- a DLL, a PE without
 * an Authenticode signature, an Office document with a VBA project, an
 * archive listing an executable, a JAR.
 *
 * A pure function of a buffer (the first bytes of a file, or all of it):
 * bounded reads through the cursor, no allocation, no libmagic. A file cut
 * short (only its first bytes kept) is typed from what is there; facts
 * that need the end of the file (a ZIP's central directory) fall back to
 * what the beginning shows. Never judges: detect/delivery.c does.
 */
#ifndef NIGHTJAR_FILETYPE_H
#define NIGHTJAR_FILETYPE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define FILE_KINDS(X)                                       \
    X(unknown, "unknown")                                   \
    X(pe, "Windows executable (PE)")                        \
    X(elf, "ELF executable")                                \
    X(macho, "Mach-O executable")                           \
    X(java_class, "Java class")                             \
    X(jar, "Java archive (JAR)")                            \
    X(apk, "Android package (APK)")                         \
    X(msi, "Windows Installer package (MSI)")               \
    X(lnk, "Windows shortcut (LNK)")                        \
    X(script, "script")                                     \
    X(hta, "HTML application (HTA)")                        \
    X(ole, "OLE compound document (Office 97-2003)")        \
    X(ooxml, "Office Open XML document")                    \
    X(rtf, "RTF document")                                  \
    X(pdf, "PDF document")                                  \
    X(zip, "ZIP archive")                                   \
    X(rar, "RAR archive")                                   \
    X(sevenzip, "7-Zip archive")                            \
    X(gzip, "gzip data")                                    \
    X(cab, "Microsoft Cabinet archive")                     \
    X(iso, "ISO 9660 disk image")                           \
    X(image, "image")                                       \
    X(html, "HTML")                                         \
    X(text, "text")

enum file_kind {
#define X(name, what) FILE_KIND_##name,
    FILE_KINDS(X)
#undef X
    FILE_KIND_COUNT
};

/* facts about a file, beyond its kind */
#define FT_DLL          0x0001u  /* PE: a DLL */
#define FT_SIGNED       0x0002u  /* PE: has an Authenticode certificate table */
#define FT_DOTNET       0x0004u  /* PE: a .NET assembly */
#define FT_MACRO        0x0008u  /* OLE/OOXML/RTF: a VBA project or OLE object */
#define FT_HOLDS_EXEC   0x0010u  /* archive/ISO: lists an executable or script */
#define FT_ENCRYPTED    0x0020u  /* archive: entries are encrypted */
#define FT_HIGH_ENTROPY 0x0040u  /* unknown bytes that look encrypted/compressed */

struct file_type {
    enum file_kind kind;
    uint32_t flags;
    char inner[64];            /* archive: the first executable name listed */
};

extern const char *const file_kind_names[FILE_KIND_COUNT];
extern const char *const file_kind_what[FILE_KIND_COUNT];

/* Types buf[0..len). total: the file's whole size when only its beginning
 * is in buf (0: buf is all of it). */
void file_type_sniff(const uint8_t *buf, size_t len, uint64_t total,
                     struct file_type *out);

/* Shannon entropy of buf[0..len), bits per byte (0 for nothing). */
double file_entropy(const uint8_t *buf, size_t len);

/* buf[0..len) has the byte entropy of random bytes of its length, within
 * the spread of the estimate: compressed or encrypted, as far as byte
 * counts can tell. False under 256 bytes (too few to tell). */
bool file_bytes_look_random(const uint8_t *buf, size_t len);

/* Code that runs where it lands: executables, installers, scripts, JARs,
 * shortcuts, macro documents, archives holding any of those. */
bool file_type_is_executable(const struct file_type *t);

/* An executable or script extension (".exe", ".dll", ".ps1", ...) at the
 * end of name (case-insensitive). */
bool file_name_is_executable(const char *name);

/* The extension of name (after the last '.', before '?'), lower-case, into
 * out[n]; "" when there is none. */
void file_name_extension(const char *name, char *out, size_t n);

#endif
