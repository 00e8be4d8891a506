/* test_intel.c -- indicator feeds in their published formats (samples in
 * tests/data/intel/), every indicator type, subdomains, longest-prefix
 * networks, URL normalisation, and reloading while the old set stays in
 * use (a broken feed keeps the old one). */
#include <sys/stat.h>
#include <unistd.h>

#include <arpa/inet.h>

#include "intel/feed.h"
#include "intel/intel_feeds.h"
#include "testing.h"

#define DATA "tests/data/intel/"

static struct intel_set *load(const char *spec, struct feed_result *r)
{
    struct feed_spec fs;
    char err[512] = "";
    struct intel_builder *b = intel_builder_new();
    if (!feed_spec_parse(spec, &fs, err, sizeof(err)) ||
        !feed_load(b, &fs, r, err, sizeof(err))) {
        fprintf(stderr, "  load %s: %s\n", spec, err);
        intel_builder_free(b);
        return NULL;
    }
    return intel_build(b);
}

static const struct ioc *ip(const struct intel_set *s, const char *a)
{
    uint8_t addr[16];
    if (inet_pton(AF_INET, a, addr) == 1)
        return intel_match_ip(s, addr, 4);
    inet_pton(AF_INET6, a, addr);
    return intel_match_ip(s, addr, 6);
}

static void test_plain_list(void)
{
    struct feed_result r;
    struct intel_set *s = load(DATA "plain.txt", &r);
    REQUIRE(s != NULL);
    CHECK_STR(r.format, "list");
    CHECK(ip(s, "203.0.113.7") != NULL);
    CHECK(ip(s, "198.51.100.77") != NULL);
    CHECK(ip(s, "203.0.113.8") == NULL);
    bool exact;
    CHECK(intel_match_domain(s, "a.b.evil.example", &exact) != NULL && !exact);
    CHECK(intel_match_domain(s, "BAD.example.org", &exact) != NULL && exact);
    CHECK(intel_match_domain(s, "notevil.example", &exact) == NULL);
    CHECK(intel_match(s, IOC_URL, "http://dl.evil.example/payload.exe") != NULL);
    CHECK(intel_match(s, IOC_EMAIL, "attacker@evil.example") != NULL);
    /* 32 hex digits: a file MD5 and a JA3 */
    CHECK(intel_match(s, IOC_FILE_MD5, "44d88612fea8a8f36de82e1278abb02f") != NULL);
    CHECK(intel_match(s, IOC_JA3, "44d88612fea8a8f36de82e1278abb02f") != NULL);
    CHECK(intel_match(s, IOC_JA4, "t13d1516h2_8daaf6152771_02713d6af862") != NULL);
    CHECK_EQ(r.invalid, 1); /* "not a valid line at all" */
    intel_set_free(s);
}

static void test_csv_with_mapping(void)
{
    struct feed_result r;
    struct intel_set *s = load("csv,column=1,type-column=2,delimiter=;,header=yes,"
                               "name=local:" DATA "custom.csv", &r);
    REQUIRE(s != NULL);
    bool exact;
    const struct ioc *x = intel_match_domain(s, "c2.example.net", &exact);
    CHECK(x != NULL && exact);
    if (x)
        CHECK_STR(intel_feed_name(s, x->feed), "local");
    CHECK(ip(s, "192.0.2.55") != NULL);
    CHECK(ip(s, "2001:db8:bad:1::5") != NULL);
    CHECK_EQ(r.unsupported, 1);
    CHECK_STR(r.unsupported_example, "nonsense");
    intel_set_free(s);
}

static void test_zeek_intel(void)
{
    struct feed_result r;
    struct intel_set *s = load(DATA "zeek.intel", &r);
    REQUIRE(s != NULL);
    CHECK_STR(r.format, "zeek");
    CHECK_EQ(r.added, 8);
    CHECK_EQ(r.unsupported, 1);
    CHECK_STR(r.unsupported_example, "Intel::SOFTWARE");
    CHECK(ip(s, "10.66.4.4") != NULL);
    const struct ioc *x = ip(s, "192.0.2.99");
    CHECK(x != NULL);
    if (x) {
        CHECK_STR(intel_text(s, x->description), "C2 server");
        CHECK_STR(intel_text(s, x->reference), "https://cti.example/192.0.2.99");
    }
    bool exact;
    CHECK(intel_match_domain(s, "www.zeek-evil.example", &exact) != NULL);
    /* Zeek URLs have no scheme; they match the http:// form */
    CHECK(intel_match(s, IOC_URL, "http://evil.example/login.php") != NULL);
    CHECK(intel_match(s, IOC_EMAIL, "ceo@evil.example") != NULL);
    CHECK(intel_match(s, IOC_CERT_SHA1, "6c3e0a8d6b2ce4b16a8c7e9f8d1b2a3c4d5e6f70") != NULL);
    CHECK(intel_match(s, IOC_FILE_SHA256,
                      "275a021bbfb6489e54d471899f7db9d1663fc695ec2fe2a2c4538aabf651fd0f") != NULL);
    CHECK(intel_match(s, IOC_JA3, "e7d705a3286e19ea42f587b344ee6865") != NULL);
    intel_set_free(s);
}

static void test_abuse_ch(void)
{
    struct feed_result r;
    struct intel_set *s = load(DATA "sslblacklist.csv", &r);
    CHECK(s && !strcmp(r.format, "sslbl") && r.added == 2);
    if (s) {
        const struct ioc *x = intel_match(s, IOC_CERT_SHA1,
                                          "b5d1ed1f5e2f2b5a2a8c3f1b7c6e9d0a1b2c3d4e");
        CHECK(x != NULL);
        if (x) {
            CHECK_STR(intel_text(s, x->description), "AsyncRAT C&C");
            CHECK_EQ(x->severity, 1);
        }
        intel_set_free(s);
    }
    s = load(DATA "ja3_fingerprints.csv", &r);
    CHECK(s && !strcmp(r.format, "ja3bl") && r.added == 2);
    if (s) {
        CHECK(intel_match(s, IOC_JA3, "b386946a5a44d1ddcc843bc75336dfce") != NULL);
        intel_set_free(s);
    }
    s = load(DATA "ipblocklist.csv", &r);
    CHECK(s && !strcmp(r.format, "feodo") && r.added == 2);
    if (s) {
        const struct ioc *x = ip(s, "51.178.161.32");
        CHECK(x != NULL);
        if (x)
            CHECK_STR(intel_text(s, x->description), "Dridex botnet C2 (port 4643, online)");
        intel_set_free(s);
    }
    s = load(DATA "ipblocklist.txt", &r);
    CHECK(s && !strcmp(r.format, "feodo") && r.added == 2);
    if (s) {
        CHECK(ip(s, "162.243.103.246") != NULL);
        intel_set_free(s);
    }
    s = load(DATA "urlhaus.csv", &r);
    CHECK(s && !strcmp(r.format, "urlhaus") && r.added == 2);
    if (s) {
        const struct ioc *x = intel_match(s, IOC_URL, "http://198.51.100.23:48110/i");
        CHECK(x != NULL);
        if (x)
            CHECK_STR(intel_text(s, x->reference), "https://urlhaus.abuse.ch/url/2846013/");
        /* %5F is "_": unreserved, decoded on both sides */
        CHECK(intel_match(s, IOC_URL, "https://files.bad-host.example/Invoice_2024.zip") != NULL);
        intel_set_free(s);
    }
}

static void test_stix_bundle(void)
{
    struct feed_result r;
    struct intel_set *s = load(DATA "bundle.stix.json", &r);
    REQUIRE(s != NULL);
    CHECK_STR(r.format, "stix");
    CHECK_EQ(r.added, 7);
    CHECK_EQ(r.unsupported, 2);
    CHECK(strstr(r.unsupported_example, "AND") != NULL);
    bool exact;
    const struct ioc *x = intel_match_domain(s, "x.stix-c2.example", &exact);
    CHECK(x != NULL);
    if (x) {
        CHECK_EQ(x->confidence, 85);
        CHECK_STR(intel_text(s, x->reference), "https://cti.example/reports/42");
    }
    CHECK(ip(s, "192.0.2.201") != NULL);
    CHECK(ip(s, "192.0.2.204") == NULL);
    CHECK(ip(s, "2001:db8::dead") != NULL);
    CHECK(intel_match(s, IOC_URL, "http://stix-c2.example/gate.php") != NULL);
    CHECK(intel_match(s, IOC_CERT_SHA1, "a1b2c3d4e5f60718293a4b5c6d7e8f9012345678") != NULL);
    CHECK(intel_match(s, IOC_EMAIL, "stix-sender@evil.example") != NULL);
    intel_set_free(s);
}

static void test_misp_event(void)
{
    struct feed_result r;
    struct intel_set *s = load(DATA "event.misp.json", &r);
    REQUIRE(s != NULL);
    CHECK_STR(r.format, "misp");
    CHECK_EQ(r.added, 12);
    CHECK_EQ(r.unsupported, 2); /* the comment (not to_ids) and the mutex */
    const struct ioc *x = ip(s, "203.0.113.51");
    CHECK(x != NULL);
    if (x) {
        CHECK_EQ(x->severity, 1);
        CHECK_STR(intel_text(s, x->description), "Phishing campaign with RAT");
    }
    CHECK(ip(s, "203.0.113.52") != NULL);
    bool exact;
    CHECK(intel_match_domain(s, "misp-dl.example", &exact) != NULL);
    CHECK(intel_match_domain(s, "obj-c2.misp.example", &exact) != NULL);
    CHECK(intel_match(s, IOC_FILE_MD5, "0a1b2c3d4e5f60718293a4b5c6d7e8f9") != NULL);
    CHECK(intel_match(s, IOC_JA3, "e7d705a3286e19ea42f587b344ee6866") != NULL);
    CHECK(intel_match(s, IOC_EMAIL, "hr@misp-c2.example") != NULL);
    intel_set_free(s);
}

static void test_longest_prefix_and_types(void)
{
    struct intel_builder *b = intel_builder_new();
    uint32_t f = intel_add_feed(b, "t");
    CHECK(intel_add(b, f, IOC_IP, "10.0.0.0/8", 3, 0, NULL, "wide"));
    CHECK(intel_add(b, f, IOC_IP, "10.1.0.0/16", 1, 0, NULL, "narrow"));
    CHECK(intel_add(b, f, IOC_IP, "10.1.2.3", 2, 0, NULL, "host"));
    CHECK(intel_add(b, f, IOC_IP, "2001:db8::/32", 2, 0, NULL, "v6"));
    CHECK(!intel_add(b, f, IOC_IP, "10.0.0.0/33", 2, 0, NULL, NULL));
    CHECK(!intel_add(b, f, IOC_FILE_MD5, "xyz", 2, 0, NULL, NULL));
    CHECK(intel_add(b, f, IOC_CERT_SUBJECT, "CN=evil CA, O=Evil", 2, 0, NULL, NULL));
    CHECK(intel_add(b, f, IOC_CERT_SHA256, "AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99:"
                    "AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99", 2, 0, NULL, NULL));
    CHECK(intel_add(b, f, IOC_URL, "HTTP://Evil.Example:80/a%2Db#frag", 2, 0, NULL, NULL));
    CHECK(intel_add(b, f, IOC_DOMAIN, "*.wild.example", 2, 0, NULL, NULL));
    CHECK(intel_add(b, f, IOC_IP, "10.1.2.3", 2, 0, NULL, "again")); /* duplicate */
    struct intel_set *s = intel_build(b);
    const struct ioc *x = ip(s, "10.1.2.3");
    CHECK(x && !strcmp(intel_text(s, x->description), "host"));
    x = ip(s, "10.1.9.9");
    CHECK(x && !strcmp(intel_text(s, x->description), "narrow"));
    x = ip(s, "10.200.0.1");
    CHECK(x && !strcmp(intel_text(s, x->description), "wide"));
    CHECK(ip(s, "11.0.0.1") == NULL);
    CHECK(ip(s, "2001:db8:1::1") != NULL);
    CHECK_EQ(intel_duplicates(s), 1);
    CHECK(intel_match(s, IOC_CERT_SUBJECT, "CN=evil CA, O=Evil") != NULL);
    CHECK(intel_match(s, IOC_CERT_SHA256,
                      "aabbccddeeff00112233445566778899aabbccddeeff00112233445566778899") != NULL);
    char u[256];
    CHECK(intel_url_normalise("http://EVIL.example/a-b", u, sizeof(u)));
    CHECK(intel_match(s, IOC_URL, u) != NULL);
    bool exact;
    CHECK(intel_match_domain(s, "host.wild.example", &exact) != NULL);
    intel_set_free(s);
}

static void write_text(const char *path, const char *text)
{
    FILE *fp = fopen(path, "w");
    fputs(text, fp);
    fclose(fp);
}

static void test_reload_keeps_serving_and_survives_a_bad_feed(void)
{
    char dir[] = "/tmp/nj-intel-XXXXXX", path[128], spec[160], err[256];
    REQUIRE(mkdtemp(dir) != NULL);
    snprintf(path, sizeof(path), "%s/feed.json", dir);
    write_text(path, "{\"type\":\"bundle\",\"objects\":[{\"type\":\"indicator\","
               "\"pattern\":\"[domain-name:value = 'old.example']\",\"pattern_type\":\"stix\"}]}");
    snprintf(spec, sizeof(spec), "%s", path);
    const char *specs[1] = { spec };
    struct intel_feeds *f = intel_feeds_new(specs, 1, "", stderr, err, sizeof(err));
    REQUIRE(f != NULL);
    bool exact;
    CHECK(intel_match_domain(intel_feeds_set(f, 0), "old.example", &exact) != NULL);
    write_text(path, "{\"type\":\"bundle\",\"objects\":[{\"type\":\"indicator\","
               "\"pattern\":\"[domain-name:value = 'new.example']\",\"pattern_type\":\"stix\"}]}");
    intel_feeds_request_reload(f);
    intel_feeds_poll(f, 1);                 /* the reload starts on its thread */
    /* until the swap the old set answers */
    CHECK(intel_match_domain(intel_feeds_set(f, 0), "old.example", &exact) != NULL);
    intel_feeds_wait(f);
    CHECK(intel_match_domain(intel_feeds_set(f, 0), "new.example", &exact) != NULL);
    CHECK(intel_match_domain(intel_feeds_set(f, 0), "old.example", &exact) == NULL);
    CHECK_EQ(intel_feeds_status(f, 0)->loads, 2);
    /* a broken file: the previous version stays, the reason is kept */
    write_text(path, "{\"type\":\"bundle\",\"objects\":[ {\"type\": ");
    intel_feeds_request_reload(f);
    intel_feeds_poll(f, 2);
    intel_feeds_wait(f);
    CHECK(intel_match_domain(intel_feeds_set(f, 0), "new.example", &exact) != NULL);
    CHECK_EQ(intel_feeds_status(f, 0)->failures, 1);
    CHECK(intel_feeds_status(f, 0)->last_error[0] != '\0');
    /* a changed file is noticed without a signal */
    sleep(1); /* a new modification time */
    write_text(path, "{\"type\":\"bundle\",\"objects\":[{\"type\":\"indicator\","
               "\"pattern\":\"[domain-name:value = 'third.example']\",\"pattern_type\":\"stix\"}]}");
    intel_feeds_poll(f, 100000000ull);
    intel_feeds_wait(f);
    CHECK(intel_match_domain(intel_feeds_set(f, 0), "third.example", &exact) != NULL);
    CHECK(intel_feeds_status(f, 0)->last_error[0] == '\0');
    intel_feeds_free(f);
    unlink(path);
    rmdir(dir);
}

static void test_bad_feeds_are_errors_at_start(void)
{
    char err[512];
    const char *missing[1] = { "/nonexistent/feed.txt" };
    CHECK(intel_feeds_new(missing, 1, "", stderr, err, sizeof(err)) == NULL);
    CHECK(strstr(err, "No such file") != NULL);
    const char *badcsv[1] = { "csv:" DATA "custom.csv" };
    CHECK(intel_feeds_new(badcsv, 1, "", stderr, err, sizeof(err)) == NULL);
    CHECK(strstr(err, "column=N") != NULL);
    const char *badtype[1] = { "list,type=banana:" DATA "plain.txt" };
    CHECK(intel_feeds_new(badtype, 1, "", stderr, err, sizeof(err)) == NULL);
    CHECK(strstr(err, "banana") != NULL);
}

/* files.hashes "auto" asks whether MD5/SHA-1 file indicators are loaded */
static void test_holds_tells_which_hash_types_are_loaded(void)
{
    struct intel_builder *b = intel_builder_new();
    uint32_t f = intel_add_feed(b, "t");
    CHECK(intel_add(b, f, IOC_FILE_SHA1, "da39a3ee5e6b4b0d3255bfef95601890afd80709",
                    2, 0, NULL, NULL));
    CHECK(!intel_add(b, f, IOC_FILE_MD5, "not-hex", 2, 0, NULL, NULL));
    struct intel_set *s = intel_build(b);
    REQUIRE(s != NULL);
    CHECK(intel_holds(s, IOC_FILE_SHA1));
    CHECK(!intel_holds(s, IOC_FILE_MD5));
    CHECK(!intel_holds(s, IOC_FILE_SHA256));
    CHECK(!intel_holds(NULL, IOC_FILE_SHA1));
    CHECK(!intel_feeds_hold(NULL, IOC_FILE_SHA1));
    intel_set_free(s);
}

TEST_LIST(test_plain_list, test_csv_with_mapping, test_zeek_intel, test_abuse_ch,
          test_stix_bundle, test_misp_event, test_longest_prefix_and_types,
          test_reload_keeps_serving_and_survives_a_bad_feed,
          test_bad_feeds_are_errors_at_start,
          test_holds_tells_which_hash_types_are_loaded)
