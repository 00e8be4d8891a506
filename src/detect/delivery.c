/* delivery.c -- executables and other code arriving (see delivery.h). */
#include "detect/delivery.h"

#include <math.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "detect/indicators.h"
#include "flow/flow_table.h"
#include "proto/http.h"

/* Extensions that promise something that is not code. */
static const char *const inert_ext[] = {
    "png", "jpg", "jpeg", "gif", "bmp", "ico", "webp", "svg", "txt", "log",
    "csv", "xml", "json", "html", "htm", "css", "pdf", "doc", "xls", "ppt",
    "docx", "xlsx", "pptx", "rtf", "zip", "rar", "7z", "gz", "tar", "cab",
    "dat", "tmp", "mp3", "mp4", "avi", "wav", "mov", "flv", "woff", "ttf",
    "php", "asp", "aspx", "jsp",
};

/* Content-Types that promise something that is not code. */
static const char *const inert_type[] = {
    "image/", "text/html", "text/css", "text/plain", "text/xml", "audio/",
    "video/", "font/", "application/pdf", "application/json",
    "application/xml", "application/zip", "application/x-zip",
    "application/x-rar", "application/vnd.rar", "application/x-7z",
    "application/gzip", "application/x-gzip",
};

static const char *const exec_type[] = {
    "application/x-msdownload", "application/x-dosexec",
    "application/x-msdos-program", "application/x-executable",
    "application/x-ms-installer", "application/x-msi",
    "application/vnd.microsoft.portable-executable", "application/x-sharedlib",
    "application/java-archive", "application/x-java-archive",
};

static bool in_list(const char *s, const char *const *list, size_t n, bool prefix)
{
    for (size_t i = 0; i < n; i++)
        if (prefix ? !strncasecmp(s, list[i], strlen(list[i]))
                   : !strcasecmp(s, list[i]))
            return true;
    return false;
}
#define IN(s, list, prefix) in_list((s), (list), sizeof(list) / sizeof((list)[0]), (prefix))

static bool native_code(enum file_kind k)
{
    return k == FILE_KIND_pe || k == FILE_KIND_elf || k == FILE_KIND_macho;
}

/* The name promises something else than what the bytes are. */
static bool name_lies(const struct file_type *t, const char *name, bool signed_pe)
{
    char ext[16];
    file_name_extension(name, ext, sizeof(ext));
    if (ext[0] && IN(ext, inert_ext, false))
        return t->kind != FILE_KIND_zip && t->kind != FILE_KIND_rar &&
               t->kind != FILE_KIND_ooxml && t->kind != FILE_KIND_ole &&
               t->kind != FILE_KIND_rtf && !(t->kind == FILE_KIND_script &&
                                             (!strcmp(ext, "txt") || !strcmp(ext, "php")));
    /* a Windows executable with no executable name at all */
    return t->kind == FILE_KIND_pe && !signed_pe && !file_name_is_executable(name);
}

static bool type_lies(const struct file_type *t, const char *ctype)
{
    if (!ctype || !ctype[0] || !native_code(t->kind))
        return false;
    return IN(ctype, inert_type, true);
}

static void fill(struct finding *fd, const struct delivery_input *in, uint8_t sev,
          bool strong)
{
    memset(fd, 0, sizeof(*fd));
    fd->kind = FINDING_delivery;
    fd->stage = finding_kind_stage[FINDING_delivery];
    fd->severity = sev;
    fd->anomaly = sev >= 3;
    fd->strong = strong;
    fd->flow = in->subj ? in->subj->flow : NULL;
    fd->ts_usec = in->ts_usec;
    fd->observed = (double)in->size;
    fd->baseline = fd->deviation = NAN;
    fd->unit = "bytes";
    if (in->subj && !in->mail) {  /* the client downloaded it */
        fd->ip_version = in->subj->ip_version;
        fd->host = in->subj->client;
        fd->peer = in->subj->server;
        fd->has_peer = in->subj->server_known;
        fd->port = in->subj->server_port;
        fd->forwarded = in->subj->forwarded;
    }
}

static void add(struct finding *fd, size_t *o, size_t *oi, const char *tag,
                const char *words)
{
    if (*o < sizeof(fd->detail))
        *o += (size_t)snprintf(fd->detail + *o, sizeof(fd->detail) - *o, "; %s", words);
    if (*oi < sizeof(fd->indicators))
        *oi += (size_t)snprintf(fd->indicators + *oi, sizeof(fd->indicators) - *oi,
                                "%s%s", *oi ? " " : "", tag);
}

bool delivery_judge(const struct delivery_input *in, struct finding *fd)
{
    const struct content_result *r = in->r;
    const struct file_type *t = &r->type;
    const struct http_tx *tx = in->tx;
    if (!in->mail && in->dir != 1)
        return false;
    const char *ctype = tx ? tx->resp_content_type : "";
    const char *name = in->name ? in->name : "";
    enum ua_class ua = tx ? ua_classify(tx->user_agent) : UA_OTHER;
    bool exec = file_type_is_executable(t);
    /* a script only counts as code to run when it came as a file: with a
     * script's name, or not to a browser (which runs JavaScript sandboxed) */
    if (t->kind == FILE_KIND_script && tx && ua == UA_BROWSER && !tx->filename[0])
        exec = false;
    bool encrypted = !exec && (t->flags & FT_HIGH_ENTROPY) &&
                     IN(ctype, exec_type, true) && in->size >= 10240;
    if (!exec && !encrypted)
        return false;
    bool signed_pe = t->kind == FILE_KIND_pe && (t->flags & FT_SIGNED);
    bool lies_name = exec && name_lies(t, name, signed_pe);
    bool lies_type = exec && type_lies(t, ctype);
    bool by_address = tx && (!tx->host[0] || host_is_ip_literal(tx->host));
    bool scripted = tx && (ua == UA_NONE || ua == UA_TOOL || ua == UA_LEGACY);
    bool dyndns = tx && name_is_dynamic_dns(tx->host);
    bool risky_kind = (t->flags & (FT_MACRO | FT_HOLDS_EXEC)) ||
                      t->kind == FILE_KIND_hta || t->kind == FILE_KIND_lnk ||
                      t->kind == FILE_KIND_script || t->kind == FILE_KIND_jar;
    /* software shares inside the network are often reached by address:
     * there an unsigned executable by address is an alert, not proof */
    bool outside = !in->mail && !in->inside;
    bool strong = lies_name || lies_type || encrypted ||
                  (by_address && !signed_pe && outside);
    /* Linux and macOS binaries carry no Authenticode, and their package
     * tools fetch with wget or curl: for them only the strong facts count */
    bool unsigned_win = !signed_pe && !native_code(t->kind) ? true
                        : t->kind == FILE_KIND_pe && !signed_pe;
    /* a signature says who built the file, not who fetches it how: an
     * executable asked for by address by a client that is no browser (a
     * stager's download, signed with a bought or stolen certificate) is
     * an alert all the same */
    bool alert = strong || in->mail || (by_address && (!signed_pe || scripted)) ||
                 (unsigned_win && (scripted || dyndns || risky_kind));
    fill(fd, in, strong ? 1 : alert ? 2 : 3, strong);
    size_t o = 0, oi = 0;
    o += (size_t)snprintf(fd->detail, sizeof(fd->detail), "%s%s%s %s \"%.80s\" (%llu bytes%s%s)",
                          encrypted ? "encrypted bytes labelled as an executable"
                                    : file_kind_what[t->kind],
                          t->flags & FT_DLL ? " (DLL)" : "",
                          t->flags & FT_MACRO ? " with macros or embedded objects" : "",
                          in->mail ? "attached to mail as" : "downloaded as",
                          name, (unsigned long long)in->size,
                          t->flags & FT_HOLDS_EXEC ? ", holding " : "",
                          t->flags & FT_HOLDS_EXEC ? t->inner : "");
    if (t->kind == FILE_KIND_pe)
        add(fd, &o, &oi, signed_pe ? "signed" : "unsigned",
            signed_pe ? "it carries an Authenticode signature" : "it is not signed");
    if (lies_name)
        add(fd, &o, &oi, "name_lies", "its name does not say it is code");
    if (lies_type)
        add(fd, &o, &oi, "type_lies", "its Content-Type says it is not code");
    if (encrypted)
        add(fd, &o, &oi, "encrypted_payload", "the bytes look encrypted");
    if (by_address)
        add(fd, &o, &oi, "by_address", "the server was asked for by address");
    if (dyndns)
        add(fd, &o, &oi, "dynamic_dns", "from a dynamic DNS name");
    if (scripted) {
        char w[96];
        snprintf(w, sizeof(w), "fetched by %s (User-Agent \"%.40s\")",
                 ua == UA_NONE ? "a client with no User-Agent" : ua_class_name(ua),
                 tx->user_agent);
        add(fd, &o, &oi, "not_a_browser", w);
    }
    if (risky_kind)
        add(fd, &o, &oi, "risky_kind", "a type that runs when opened");
    if (tx && tx->host[0] && o < sizeof(fd->detail))
        snprintf(fd->detail + o, sizeof(fd->detail) - o, "; from %.80s%.80s",
                 tx->host, tx->uri);
    return true;
}
