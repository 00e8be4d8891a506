/* test_content.c -- content detection as a library: rules compiled once
 * from a file or a directory, matches with their meta, tags and strings,
 * types by magic, hashes of files longer than what is kept, the file store
 * that never overwrites, and clear errors for broken rules. */
#include <sys/stat.h>
#include <unistd.h>

#include "content/content.h"
#include "content/file.h"
#include "testing.h"
#include "util/digest.h"

static char dir[64];

static void write_file(const char *path, const char *text)
{
    FILE *fp = fopen(path, "w");
    fputs(text, fp);
    fclose(fp);
}

static const char rules[] =
    "rule Has_Marker : tagA tagB {\n"
    "  meta: description = \"marker\" severity = 1 sid = 42 score = 7 flag = true\n"
    "  strings: $m = \"NIGHTJAR-MARKER\"\n"
    "  condition: $m }\n";

static struct content_engine *engine(const char *yara, const char *store)
{
    struct content_config cfg;
    memset(&cfg, 0, sizeof(cfg));
    snprintf(cfg.yara_path, sizeof(cfg.yara_path), "%s", yara);
    snprintf(cfg.filestore, sizeof(cfg.filestore), "%s", store);
    cfg.scan_timeout_sec = 5;
    cfg.magic = true;
    char err[256] = "";
    struct content_engine *e = content_engine_new(&cfg, err, sizeof(err));
    if (!e)
        fprintf(stderr, "  engine: %s\n", err);
    return e;
}

static struct content_result r;

/* rules written to dir/name (kept in path for a later rewrite), and an
 * engine of them */
static struct content_engine *engine_of(const char *name, const char *text,
                                        char *path, size_t n)
{
    snprintf(path, n, "%s/%s", dir, name);
    write_file(path, text);
    return engine(path, "");
}

static void test_match_with_meta_tags_and_offsets(void)
{
    char path[128];
    struct content_engine *e = engine_of("one.yar", rules, path, sizeof(path));
    REQUIRE(e != NULL);
    const char data[] = "some bytes then NIGHTJAR-MARKER and more";
    content_inspect(e, (const uint8_t *)data, sizeof(data) - 1, NULL, false, &r);
    CHECK(r.scanned);
    CHECK_EQ(r.n_matches, 1);
    CHECK_STR(r.matches[0].rule, "Has_Marker");
    CHECK_STR(r.matches[0].ns, "one.yar");
    CHECK_STR(r.matches[0].tags, "tagA tagB");
    CHECK_EQ(r.matches[0].n_meta, 5);
    CHECK_STR(r.matches[0].meta[1].key, "severity");
    CHECK_STR(r.matches[0].meta[1].value, "1");
    CHECK_STR(r.matches[0].meta[4].value, "true");
    CHECK_EQ(r.matches[0].n_strings, 1);
    CHECK_EQ(r.matches[0].strings[0].offset, 16);
    CHECK_EQ(r.matches[0].strings[0].len, 15);
    CHECK_STR(r.mime, "text/plain");
    content_inspect(e, (const uint8_t *)"clean", 5, NULL, false, &r);
    CHECK_EQ(r.n_matches, 0);
    CHECK_EQ(content_engine_stats(e)->rules, 1);
    content_engine_free(e);
}

/* The shipped rules, with several strings of one rule matching (libyara's
 * matches need not be aligned: read under UBSan here), and a reload that
 * picks up a changed file and keeps the old rules when the new ones break. */
static void test_shipped_rules_and_reload(void)
{
    struct content_engine *e = engine("rules/default.yar", "");
    REQUIRE(e != NULL);
    const char mimi[] = "mimikatz 2.2 by gentilkiwi\nsekurlsa::logonpasswords\n";
    content_inspect(e, (const uint8_t *)mimi, sizeof(mimi) - 1, NULL, false, &r);
    CHECK_EQ(r.n_matches, 1);
    CHECK_STR(r.matches[0].rule, "Mimikatz_Strings");
    CHECK(r.matches[0].n_strings >= 3);
    content_engine_free(e);

    char path[128];
    e = engine_of("live.yar", rules, path, sizeof(path));
    REQUIRE(e != NULL);
    uint64_t sig = content_rules_signature(path);
    char err[256];
    write_file(path, "rule Other { strings: $o = \"OTHER-MARKER\" condition: $o }\n"
                     "rule Second { condition: false }\n");
    CHECK(content_rules_signature(path) != sig);
    CHECK(content_reload_rules(e, err, sizeof(err)));
    CHECK_EQ(content_engine_stats(e)->rules, 2);
    content_inspect(e, (const uint8_t *)"xx OTHER-MARKER", 15, NULL, false, &r);
    CHECK_EQ(r.n_matches, 1);
    write_file(path, "rule Broken { condition: \n");
    CHECK(!content_reload_rules(e, err, sizeof(err)));
    CHECK(strstr(err, "live.yar") != NULL);
    content_inspect(e, (const uint8_t *)"xx OTHER-MARKER", 15, NULL, false, &r);
    CHECK_EQ(r.n_matches, 1); /* the previous rules stay */
    CHECK_EQ(content_rules_signature(""), 0);
    content_engine_free(e);
}

/* Bytes the rules found nothing in are not scanned again (the same
 * SHA-256 and length), by any engine of the same rules; a match is, each
 * time, with its strings; changed rules, reloaded, scan again. */
static void test_clean_files_remembered(void)
{
    char path[128];
    struct content_engine *e = engine_of("remember.yar", rules, path, sizeof(path));
    REQUIRE(e != NULL);
    const struct content_stats *st = content_engine_stats(e);
    const uint8_t clean[] = "an ordinary page, nothing to see";
    const uint8_t bad[] = "xx NIGHTJAR-MARKER xx";
    content_inspect(e, clean, sizeof(clean) - 1, NULL, false, &r);
    CHECK(r.scanned && r.n_matches == 0);
    uint64_t bytes = st->bytes_scanned;
    content_inspect(e, clean, sizeof(clean) - 1, NULL, false, &r);
    CHECK(r.scanned && r.n_matches == 0);
    CHECK_EQ(st->scans_remembered, 1);
    CHECK_EQ(st->bytes_scanned, bytes);
    /* a prefix of the same file (another length) is scanned */
    content_inspect(e, clean, 10, NULL, false, &r);
    CHECK_EQ(st->scans_remembered, 1);
    /* another engine of the same rules (another worker's) knows it too;
     * one of other rules does not */
    struct content_engine *e2 = engine(path, "");
    REQUIRE(e2 != NULL);
    content_inspect(e2, clean, sizeof(clean) - 1, NULL, false, &r);
    CHECK_EQ(content_engine_stats(e2)->scans_remembered, 1);
    content_engine_free(e2);
    char other[128];
    e2 = engine_of("other.yar", rules, other, sizeof(other));
    REQUIRE(e2 != NULL);
    content_inspect(e2, clean, sizeof(clean) - 1, NULL, false, &r);
    CHECK_EQ(content_engine_stats(e2)->scans_remembered, 0);
    content_engine_free(e2);
    for (int i = 0; i < 2; i++) {
        content_inspect(e, bad, sizeof(bad) - 1, NULL, false, &r);
        CHECK_EQ(r.n_matches, 1);
        CHECK_EQ(r.matches[0].n_strings, 1);
        CHECK_EQ(r.matches[0].strings[0].offset, 3);
    }
    CHECK_EQ(st->scans_remembered, 1);
    /* rules that find something in the once-clean bytes */
    write_file(path, "rule Ordinary { strings: $o = \"ordinary\" condition: $o }\n");
    char err[256];
    CHECK(content_reload_rules(e, err, sizeof(err)));
    content_inspect(e, clean, sizeof(clean) - 1, NULL, false, &r);
    CHECK_EQ(r.n_matches, 1);
    CHECK_STR(r.matches[0].rule, "Ordinary");
    CHECK_EQ(st->scans_remembered, 1);
    content_engine_free(e);
}

/* Engines of the same rules (every worker's) share one compiled copy,
 * each scanning with its own scanner; it lives until the last engine that
 * uses it is freed. A reload compiles anew; other rules are compiled
 * apart. */
static void test_rules_compiled_once(void)
{
    char path[128], other[128];
    struct content_engine *a = engine_of("shared.yar", rules, path, sizeof(path));
    REQUIRE(a != NULL);
    struct content_engine *b = engine(path, "");
    REQUIRE(b != NULL);
    CHECK_EQ(content_engine_stats(a)->rules_shared, 0);
    CHECK_EQ(content_engine_stats(b)->rules_shared, 1);
    struct content_engine *c = engine_of("apart.yar", rules, other, sizeof(other));
    REQUIRE(c != NULL);
    CHECK_EQ(content_engine_stats(c)->rules_shared, 0);
    content_engine_free(c);
    const uint8_t bad[] = "xx NIGHTJAR-MARKER xx";
    content_engine_free(a); /* b's rules stay */
    content_inspect(b, bad, sizeof(bad) - 1, NULL, false, &r);
    CHECK_EQ(r.n_matches, 1);
    char err[256];
    CHECK(content_reload_rules(b, err, sizeof(err)));
    CHECK_EQ(content_engine_stats(b)->rules_shared, 0);
    a = engine(path, "");
    REQUIRE(a != NULL);
    CHECK_EQ(content_engine_stats(a)->rules_shared, 1);
    content_engine_free(b);
    content_inspect(a, bad, sizeof(bad) - 1, NULL, false, &r);
    CHECK_EQ(r.n_matches, 1);
    CHECK_STR(r.matches[0].rule, "Has_Marker");
    content_engine_free(a);
}

static void test_directory_of_rules_and_errors(void)
{
    char sub[128], path[160];
    snprintf(sub, sizeof(sub), "%s/rules", dir);
    mkdir(sub, 0700);
    snprintf(path, sizeof(path), "%s/a.yar", sub);
    write_file(path, rules);
    snprintf(path, sizeof(path), "%s/b.yara", sub);
    write_file(path, "rule Other { strings: $x = \"zzz\" condition: $x }\n");
    snprintf(path, sizeof(path), "%s/readme.txt", sub);
    write_file(path, "not a rule file");
    struct content_engine *e = engine(sub, "");
    CHECK(e != NULL);
    if (e) {
        CHECK_EQ(content_engine_stats(e)->rules, 2);
        content_engine_free(e);
    }
    /* a syntax error names the file and the line */
    snprintf(path, sizeof(path), "%s/bad.yar", dir);
    write_file(path, "rule Ok { condition: true }\nrule Broken { condition: $nope }\n");
    struct content_config cfg;
    memset(&cfg, 0, sizeof(cfg));
    snprintf(cfg.yara_path, sizeof(cfg.yara_path), "%s", path);
    char err[256] = "";
    CHECK(content_engine_new(&cfg, err, sizeof(err)) == NULL);
    CHECK(strstr(err, "bad.yar:2") != NULL);
    snprintf(cfg.yara_path, sizeof(cfg.yara_path), "%s/none", dir);
    CHECK(content_engine_new(&cfg, err, sizeof(err)) == NULL);
    CHECK(strstr(err, "No such file") != NULL);
}

static void test_filestore_never_overwrites(void)
{
    char store[128], path[256];
    snprintf(store, sizeof(store), "%s/store", dir);
    struct content_engine *e = engine("", store);
    REQUIRE(e != NULL);
    const uint8_t pdf[] = "%PDF-1.4\n1 0 obj\n<<>>\nendobj\n";
    content_inspect(e, pdf, sizeof(pdf) - 1, NULL, true, &r);
    CHECK(r.stored);
    CHECK_STR(r.mime, "application/pdf");
    char hex[65];
    hex_lower(r.h.sha256, 32, hex);
    snprintf(path, sizeof(path), "%s/%.2s/%s", store, hex, hex);
    struct stat sb;
    CHECK(stat(path, &sb) == 0 && sb.st_size == (off_t)(sizeof(pdf) - 1));
    /* a file already there is left alone, even if it was changed */
    write_file(path, "tampered");
    content_inspect(e, pdf, sizeof(pdf) - 1, NULL, true, &r);
    CHECK(!r.stored);
    CHECK(r.already_stored);
    CHECK(stat(path, &sb) == 0 && sb.st_size == 8);
    content_engine_free(e);
}

static void test_inspect_a_file_on_disk(void)
{
    char path[128];
    snprintf(path, sizeof(path), "%s/one.yar", dir);
    struct content_engine *e = engine(path, "");
    REQUIRE(e != NULL);
    char sample[160];
    snprintf(sample, sizeof(sample), "%s/sample.txt", dir);
    FILE *fp = fopen(sample, "w");
    for (int i = 0; i < 10000; i++)
        fputs("padding ", fp);
    fputs("NIGHTJAR-MARKER", fp);
    fclose(fp);
    CHECK(content_inspect_file(e, sample, 1 << 20, false, &r));
    CHECK_EQ(r.n_matches, 1);
    /* only the first bytes are scanned when the file is longer than asked */
    CHECK(content_inspect_file(e, sample, 1000, false, &r));
    CHECK_EQ(r.n_matches, 0);
    CHECK(!content_inspect_file(e, "/nonexistent/file", 1000, false, &r));
    content_engine_free(e);
}

static void test_hash_choice(void)
{
    CHECK_EQ(digest_mask_parse("md5,sha1,sha256"), DIGEST_ALL);
    CHECK_EQ(digest_mask_parse("sha256"), 1u << DIGEST_SHA256);
    CHECK_EQ(digest_mask_parse("SHA1, md5"), (1u << DIGEST_SHA1) | (1u << DIGEST_MD5));
    CHECK_EQ(digest_mask_parse("sha512"), 0);
    struct content_config cfg;
    memset(&cfg, 0, sizeof(cfg));
    snprintf(cfg.hashes, sizeof(cfg.hashes), "sha256");
    char err[256];
    struct content_engine *e = content_engine_new(&cfg, err, sizeof(err));
    CHECK(e != NULL);
    if (e) {
        content_inspect(e, (const uint8_t *)"abc", 3, NULL, false, &r);
        CHECK_EQ(r.h.mask, 1u << DIGEST_SHA256);
        CHECK_EQ(r.h.md5[0] | r.h.md5[15], 0);
        content_engine_free(e);
    }
    /* auto: all three until the feeds are known, then SHA-256 plus what
     * they hold; a list is never changed by the feeds */
    snprintf(cfg.hashes, sizeof(cfg.hashes), "auto");
    e = content_engine_new(&cfg, err, sizeof(err));
    REQUIRE(e != NULL);
    CHECK(content_hashes_auto(e));
    CHECK_EQ(content_hash_mask(e), DIGEST_ALL);
    content_set_feed_hashes(e, 0);
    content_inspect(e, (const uint8_t *)"abc", 3, NULL, false, &r);
    CHECK_EQ(r.h.mask, 1u << DIGEST_SHA256);
    content_set_feed_hashes(e, 1u << DIGEST_MD5);
    content_inspect(e, (const uint8_t *)"abc", 3, NULL, false, &r);
    CHECK_EQ(r.h.mask, (1u << DIGEST_SHA256) | (1u << DIGEST_MD5));
    CHECK_EQ(r.h.md5[0], 0x90); /* md5("abc") = 900150983cd24fb0... */
    CHECK_EQ(r.h.sha256[0], 0xba); /* sha256("abc") = ba7816bf... */
    content_engine_free(e);
    snprintf(cfg.hashes, sizeof(cfg.hashes), "sha1,sha256");
    e = content_engine_new(&cfg, err, sizeof(err));
    REQUIRE(e != NULL);
    content_set_feed_hashes(e, 0);
    CHECK_EQ(content_hash_mask(e), (1u << DIGEST_SHA1) | (1u << DIGEST_SHA256));
    content_engine_free(e);
    snprintf(cfg.hashes, sizeof(cfg.hashes), "crc32");
    CHECK(content_engine_new(&cfg, err, sizeof(err)) == NULL);
    CHECK(strstr(err, "files.hashes") != NULL);
    snprintf(cfg.hashes, sizeof(cfg.hashes), "md5");
    snprintf(cfg.filestore, sizeof(cfg.filestore), "%s/store2", dir);
    CHECK(content_engine_new(&cfg, err, sizeof(err)) == NULL);
    CHECK(strstr(err, "sha256") != NULL);
}

static void test_file_longer_than_kept(void)
{
    struct content_engine *e = engine("", "");
    REQUIRE(e != NULL);
    struct nj_file f;
    static struct file_buffers bufs;
    memset(&f, 0, sizeof(f));
    file_begin(&f, "big.bin", 1000, &bufs, 0);
    static uint8_t data[5000];
    for (size_t i = 0; i < sizeof(data); i++)
        data[i] = (uint8_t)(i * 7);
    for (size_t i = 0; i < sizeof(data); i += 300)
        file_write(&f, data + i, sizeof(data) - i < 300 ? sizeof(data) - i : 300);
    CHECK(f.truncated);
    CHECK_EQ(f.len, 1000);
    CHECK_EQ(f.size, 5000);
    file_end(&f, e, &r);
    uint8_t want[32];
    digest(DIGEST_SHA256, data, sizeof(data), want);
    CHECK(memcmp(r.h.sha256, want, 32) == 0); /* the whole file's hash */
    CHECK(f.buf == NULL);            /* given back when the file ended */
    CHECK_EQ(bufs.idle_bytes, 1000);
    /* the next file of that size takes the same buffer */
    file_begin(&f, "again", 1000, &bufs, 0);
    file_write(&f, data, 900);
    CHECK_EQ(bufs.idle_bytes, 0);
    CHECK_EQ(f.cap, 1000);
    file_end(&f, e, &r);
    file_free(&f);
    file_buffers_free(&bufs);
    content_engine_free(e);
}

static void setup(void)
{
    snprintf(dir, sizeof(dir), "/tmp/nj-content-XXXXXX");
    REQUIRE(mkdtemp(dir) != NULL);
}

static void teardown(void)
{
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    CHECK(system(cmd) == 0);
}

/* Several digests of a buffer in one pass (64 KiB slices) are each the
 * digest of the whole buffer; one digest is one call; the others zero. */
static void test_digests_of_a_buffer_in_one_pass(void)
{
    size_t len = 200000;                    /* three slices and a part */
    uint8_t *b = malloc(len);
    CHECK(b != NULL);
    if (!b)
        return;
    for (size_t i = 0; i < len; i++)
        b[i] = (uint8_t)(i * 131 + (i >> 9));
    struct file_hashes all, one;
    uint8_t md5[16], sha1[20], sha256[32], zero[32] = { 0 };
    digest3_buffer(DIGEST_ALL, b, len, &all);
    digest(DIGEST_MD5, b, len, md5);
    digest(DIGEST_SHA1, b, len, sha1);
    digest(DIGEST_SHA256, b, len, sha256);
    CHECK(!memcmp(all.md5, md5, 16) && !memcmp(all.sha1, sha1, 20) &&
          !memcmp(all.sha256, sha256, 32));
    CHECK_EQ(all.mask, DIGEST_ALL);
    digest3_buffer(1u << DIGEST_SHA256, b, len, &one);
    CHECK(!memcmp(one.sha256, sha256, 32) && !memcmp(one.md5, zero, 16) &&
          !memcmp(one.sha1, zero, 20));
    free(b);
}

TEST_LIST_FIXTURE(setup, teardown, test_match_with_meta_tags_and_offsets,
                  test_shipped_rules_and_reload,
                  test_directory_of_rules_and_errors,
                  test_filestore_never_overwrites, test_inspect_a_file_on_disk,
                  test_hash_choice, test_file_longer_than_kept,
                  test_clean_files_remembered,
                  test_rules_compiled_once,
                  test_digests_of_a_buffer_in_one_pass)
