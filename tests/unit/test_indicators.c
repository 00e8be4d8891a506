/* test_indicators.c -- the small facts detectors weigh, each on both sides
 * of its line: IP-literal hosts, dynamic DNS zones, random-looking labels
 * (entropy, vowels, digits, length), User-Agent classes (browser versions
 * at their cut-offs, tools, the system's own agents), encoded blobs in
 * URLs (16 base64 characters, 24 hex digits), script paths, placeholder and
 * non-host-name certificate subjects, and service ports. */
#include "detect/indicators.h"
#include "testing.h"

static void test_host_is_ip_literal(void)
{
    CHECK(host_is_ip_literal("10.0.0.1"));
    CHECK(host_is_ip_literal("198.51.100.7:8080"));
    CHECK(host_is_ip_literal("[2001:db8::1]:443"));
    CHECK(host_is_ip_literal("[::1]"));
    CHECK(host_is_ip_literal("::1"));
    CHECK(host_is_ip_literal("2001:db8::1"));
    CHECK(!host_is_ip_literal("example.com"));
    CHECK(!host_is_ip_literal("example.com:80"));
    CHECK(!host_is_ip_literal("10.0.0"));
    CHECK(!host_is_ip_literal("10.0.0.256"));
    CHECK(!host_is_ip_literal("1.2.3.4.example.com"));
    CHECK(!host_is_ip_literal("[::1"));
    CHECK(!host_is_ip_literal(""));
    /* 79 characters fit the buffer, 80 do not */
    char longhost[100];
    memset(longhost, '1', sizeof(longhost));
    longhost[80] = '\0';
    CHECK(!host_is_ip_literal(longhost));
}

static void test_dynamic_dns_zones_and_their_names(void)
{
    CHECK(name_is_dynamic_dns("evil.duckdns.org"));
    CHECK(name_is_dynamic_dns("RAT.DuckDNS.Org."));
    CHECK(name_is_dynamic_dns("a.b.ddns.net"));
    CHECK(name_is_dynamic_dns("x.ngrok-free.app"));
    /* the zone itself, a look-alike, a zone as a mere label */
    CHECK(!name_is_dynamic_dns("duckdns.org"));
    CHECK(!name_is_dynamic_dns("notduckdns.org"));
    CHECK(!name_is_dynamic_dns("ddns.net.example.com"));
    CHECK(!name_is_dynamic_dns("www.example.com"));
    CHECK(!name_is_dynamic_dns(""));
}

static void test_random_labels(void)
{
    /* 8 distinct consonants: 3.0 bits, no vowel */
    CHECK(label_looks_random("bcdfghjk", 8));
    /* 7 distinct of 8: 2.75 bits */
    CHECK(!label_looks_random("bcdfghjj", 8));
    /* too short, whatever it looks like */
    CHECK(!label_looks_random("bcdfghj", 7));
    /* vowels: fewer than one in five */
    CHECK(label_looks_random("abcdfghjkl", 10));   /* 1 vowel of 10 */
    CHECK(!label_looks_random("abcdefghjk", 10));  /* 2 of 10 */
    /* digits: one in four or more */
    CHECK(label_looks_random("a1e2bcdf", 8));      /* 2 vowels, 2 digits */
    CHECK(!label_looks_random("a1ebcdfg", 8));     /* 2 vowels, 1 digit */
    CHECK(!label_looks_random("facebook", 8));
    CHECK(!label_looks_random("documentation", 13));
    CHECK(label_looks_random("xk7qzw9vbt2mp", 13));
    /* longer than a DNS label can be */
    char l[70];
    for (int i = 0; i < 64; i++)
        l[i] = "bcdfghjklmnpqrstvwxz0123456789"[i % 30];
    CHECK(label_looks_random(l, 63));
    CHECK(!label_looks_random(l, 64));
}

static void test_user_agent_classes(void)
{
    CHECK_EQ(ua_classify(""), UA_NONE);
    CHECK_EQ(ua_classify("   "), UA_NONE);
    CHECK_EQ(ua_classify("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 "
                         "(KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36"),
             UA_BROWSER);
    CHECK_EQ(ua_classify("Opera/9.80 (Windows NT 6.1) Presto/2.12.388 Version/12.16"),
             UA_BROWSER);
    CHECK_EQ(ua_classify("curl/7.88.1"), UA_TOOL);
    CHECK_EQ(ua_classify("Wget/1.21.3"), UA_TOOL);
    CHECK_EQ(ua_classify("python-requests/2.31.0"), UA_TOOL);
    CHECK_EQ(ua_classify("Go-http-client/1.1"), UA_TOOL);
    CHECK_EQ(ua_classify("Microsoft-CryptoAPI/10.0"), UA_SYSTEM);
    CHECK_EQ(ua_classify("Windows-Update-Agent/10.0.10011.16384 Client-Protocol/2.50"),
             UA_SYSTEM);
    /* a system agent whose name holds a tool's token: the system wins */
    CHECK_EQ(ua_classify("WinHttp-Autoproxy-Service/5.1"), UA_SYSTEM);
    CHECK_EQ(ua_classify("MyUpdater/2.1"), UA_OTHER);
    CHECK_STR(ua_class_name(UA_LEGACY), "legacy browser");
    CHECK_STR(ua_class_name(UA_OTHER), "application");
    CHECK_STR(ua_class_name((enum ua_class)9), "?");
}

static void test_windows_powershell_is_a_tool(void)
{
    /* Invoke-WebRequest's default, and a browser preset of PowerShell's
     * (same platform prefix): scripting, not the operating system */
    CHECK_EQ(ua_classify("Mozilla/5.0 (Windows NT; Windows NT 10.0; en-US) "
                         "WindowsPowerShell/5.1.19041.3031"), UA_TOOL);
    CHECK_EQ(ua_classify("Mozilla/5.0 (Windows NT; Windows NT 10.0; en-US) "
                         "AppleWebKit/534.6 (KHTML, like Gecko) Chrome/7.0.500.0 "
                         "Safari/534.6"), UA_TOOL);
}

static void test_legacy_browser_cut_offs(void)
{
    const char *ie8 = "Mozilla/4.0 (compatible; MSIE 8.0; Windows NT 6.1; Trident/4.0)";
    const char *ie9 = "Mozilla/5.0 (compatible; MSIE 9.0; Windows NT 6.1; Trident/5.0)";
    const char *ie9_4 = "Mozilla/4.0 (compatible; MSIE 9.0; Windows NT 6.1)";
    const char *ie10_4 = "Mozilla/4.0 (compatible; MSIE 10.0; Windows NT 6.2)";
    CHECK_EQ(ua_classify(ie8), UA_LEGACY);
    CHECK_EQ(ua_classify(ie9), UA_BROWSER);
    CHECK_EQ(ua_classify(ie9_4), UA_BROWSER);
    CHECK_EQ(ua_classify(ie10_4), UA_BROWSER);
    CHECK_EQ(ua_classify("Mozilla/4.0"), UA_LEGACY);
    CHECK_EQ(ua_classify("Mozilla/5.0 (Windows NT 6.1; rv:19.0) Gecko/20100101 Firefox/19.0"),
             UA_LEGACY);
    CHECK_EQ(ua_classify("Mozilla/5.0 (Windows NT 6.1; rv:20.0) Gecko/20100101 Firefox/20.0"),
             UA_BROWSER);
    CHECK_EQ(ua_classify("Mozilla/5.0 (Windows NT 6.1) AppleWebKit/537.36 (KHTML, like Gecko) "
                         "Chrome/29.0.1547.2 Safari/537.36"), UA_LEGACY);
    CHECK_EQ(ua_classify("Mozilla/5.0 (Windows NT 6.1) AppleWebKit/537.36 (KHTML, like Gecko) "
                         "Chrome/30.0.1599.17 Safari/537.36"), UA_BROWSER);
}

static void test_encoded_blobs_in_urls(void)
{
    CHECK(!uri_has_encoded_blob("/index.html"));
    CHECK(!uri_has_encoded_blob("/"));
    CHECK(!uri_has_encoded_blob(""));
    /* base64: 15 characters, then 16 */
    CHECK(!uri_has_encoded_blob("/gate.php?id=aB3dE5fG7hJ9kLm"));
    CHECK(uri_has_encoded_blob("/gate.php?id=aB3dE5fG7hJ9kLmN"));
    CHECK(uri_has_encoded_blob("/x/aB3dE5fG7hJ9kLmN/y"));
    /* each class twice: one digit, one upper case letter is not enough */
    CHECK(!uri_has_encoded_blob("/q?d=aBcDeFgHiJkLmNo1"));
    CHECK(uri_has_encoded_blob("/q?d=aBcDeFgHiJkLmN12"));
    CHECK(!uri_has_encoded_blob("/q?d=abcdefghijklmN12"));
    /* a character no encoding uses breaks the run */
    CHECK(!uri_has_encoded_blob("/q?d=aB3dE5fG7hJ!9kLmN"));
    CHECK(uri_has_encoded_blob("/q?d=aB3d+E5fG_7hJ-9kLmN"));
    /* hex ids: 23 digits, then 24; at least 4 letters and 4 digits */
    CHECK(!uri_has_encoded_blob("/b/0123456789abcdef0123456"));
    CHECK(uri_has_encoded_blob("/b/0123456789abcdef01234567"));
    CHECK(!uri_has_encoded_blob("/b/012345678901234567890abc"));
    CHECK(uri_has_encoded_blob("/b/0123456789012345678abcd0"));
    CHECK(!uri_has_encoded_blob("/b/abcdefabcdefabcdefabc123")); /* 3 digits */
    CHECK(uri_has_encoded_blob("/b/abcdefabcdefabcdefab1234"));  /* 4 digits */
    CHECK(!uri_has_encoded_blob("/b/abcdefabcdefabcdefag1234")); /* 'g' is no hex */
    /* words */
    CHECK(!uri_has_encoded_blob("/Internationalization/documentation/index.php"));
}

static void test_script_paths(void)
{
    CHECK(uri_is_script("/"));
    CHECK(uri_is_script(""));
    CHECK(uri_is_script("/admin/"));
    CHECK(uri_is_script("/gate.php"));
    CHECK(uri_is_script("/Gate.PHP?id=1"));
    CHECK(uri_is_script("/a/b.aspx#x"));
    CHECK(uri_is_script("/cgi-bin/x.cgi"));
    CHECK(uri_is_script("/x.pl"));
    CHECK(uri_is_script("/login.do"));
    CHECK(!uri_is_script("/index.html"));
    CHECK(!uri_is_script("/img/logo.png?next=/"));
    CHECK(!uri_is_script("/api/v1/tasks"));
    CHECK(!uri_is_script("/php"));
    CHECK(!uri_is_script(".php"));
}

static void test_certificate_subjects(void)
{
    CHECK(cert_subject_placeholder("C=AU, ST=Some-State, O=Internet Widgits Pty Ltd"));
    CHECK(cert_subject_placeholder("C=XX, L=Default City, O=Default Company Ltd"));
    CHECK(cert_subject_placeholder("CN=localhost"));
    CHECK(cert_subject_placeholder("O=Acme Co"));
    CHECK(!cert_subject_placeholder("C=US, O=Let's Encrypt, CN=R3"));
    CHECK(!cert_subject_placeholder("C=US, O=DigiCert Inc, CN=DigiCert TLS RSA SHA256 2020 CA1"));
    CHECK(!cert_subject_placeholder("CN=*.google.com"));
    CHECK(!cert_subject_placeholder(""));
    CHECK(!cert_subject_placeholder(NULL));
    CHECK(cert_subject_not_hostname("CN=AsyncRAT Server"));
    CHECK(cert_subject_not_hostname("CN=DcRat, O=DcRat By qwqdanchun"));
    CHECK(cert_subject_not_hostname("C=US, O=x, CN=server01"));
    CHECK(cert_subject_not_hostname("O=Acme, OU=IT"));   /* no CN at all */
    CHECK(cert_subject_not_hostname("CN="));
    CHECK(!cert_subject_not_hostname("CN=www.example.com"));
    CHECK(!cert_subject_not_hostname("C=US, CN=mail.example.com, O=x"));
    CHECK(!cert_subject_not_hostname("CN=10.1.2.3"));
    CHECK(!cert_subject_not_hostname("CN=2001:db8::1"));
    CHECK(!cert_subject_not_hostname(""));
    CHECK(!cert_subject_not_hostname(NULL));
}

static void test_service_ports(void)
{
    CHECK(port_is_common_service(6, 443));
    /* industrial ports are services only where their protocol is spoken:
     * the C2 detector asks app_is_industrial() too */
    CHECK(!port_is_common_service(6, 502));       /* Modbus */
    CHECK(port_is_industrial(502));
    CHECK(port_is_industrial(2404));              /* IEC 104, Remcos's default */
    CHECK(port_is_industrial(47808));             /* BACnet */
    CHECK(!port_is_industrial(443));
    CHECK(port_is_common_service(6, 8443));
    CHECK(!port_is_common_service(6, 4444));
    CHECK(!port_is_common_service(6, 5353));      /* mDNS is UDP */
    CHECK(port_is_common_service(17, 53));
    CHECK(port_is_common_service(17, 5353));
    CHECK(!port_is_common_service(17, 80));
    CHECK(!port_is_common_service(17, 4444));
    CHECK(port_is_tls_service(443));
    CHECK(port_is_tls_service(993));
    CHECK(port_is_tls_service(8883));
    CHECK(!port_is_tls_service(80));
    CHECK(!port_is_tls_service(8080));
    CHECK(!port_is_tls_service(4444));
}

TEST_LIST(test_host_is_ip_literal, test_dynamic_dns_zones_and_their_names,
          test_random_labels, test_user_agent_classes, test_windows_powershell_is_a_tool,
          test_legacy_browser_cut_offs, test_encoded_blobs_in_urls, test_script_paths,
          test_certificate_subjects, test_service_ports)
