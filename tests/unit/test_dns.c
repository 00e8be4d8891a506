/* test_dns.c -- DNS messages built byte by byte: compression, the record
 * types nightjar decodes, EDNS, hostile names; and the passive DNS cache. */
#include "app/dns_cache.h"
#include "pktbuild.h"
#include "proto/dns.h"
#include "resident.h"
#include "testing.h"

static struct dns_msg m;
static struct dns_stats st;

static void name(struct pb *b, const char *dotted)
{
    while (*dotted) {
        size_t n = strcspn(dotted, ".");
        pb_u8(b, (uint8_t)n);
        pb_bytes(b, dotted, n);
        dotted += n;
        if (*dotted == '.')
            dotted++;
    }
    pb_u8(b, 0);
}

static void header(struct pb *b, uint16_t id, uint16_t flags, uint16_t qd,
                   uint16_t an, uint16_t ns, uint16_t ar)
{
    pb_u16(b, id); pb_u16(b, flags); pb_u16(b, qd); pb_u16(b, an);
    pb_u16(b, ns); pb_u16(b, ar);
}

/* rr with the owner compressed to the question name at offset 12 */
static void rr_start(struct pb *b, uint16_t type, uint32_t ttl, uint16_t rdlen)
{
    pb_u16(b, 0xc00c); pb_u16(b, type); pb_u16(b, 1); pb_u32(b, ttl);
    pb_u16(b, rdlen);
}

static void test_query_with_edns(void)
{
    struct pb b = { .len = 0 };
    header(&b, 0x1234, 0x0100, 1, 0, 0, 1);
    name(&b, "www.example.com");
    pb_u16(&b, 1); pb_u16(&b, 1);
    pb_u8(&b, 0); pb_u16(&b, 41); pb_u16(&b, 1232); pb_u32(&b, 0x00008000);
    pb_u16(&b, 0);
    CHECK(dns_parse(b.b, b.len, &m, &st));
    CHECK(!m.response);
    CHECK_EQ(m.id, 0x1234);
    CHECK_STR(m.q[0].name, "www.example.com");
    CHECK_EQ(m.q[0].type, 1);
    CHECK(m.edns);
    CHECK_EQ(m.edns_udp_size, 1232);
    CHECK(m.edns_do);
    CHECK_EQ(m.n_rrs, 0); /* OPT is not a record to log */
}

static void test_answer_types(void)
{
    struct pb b = { .len = 0 };
    header(&b, 7, 0x8180, 1, 7, 0, 0);
    name(&b, "example.com");
    pb_u16(&b, 255); pb_u16(&b, 1);
    rr_start(&b, 1, 300, 4); pb_u32(&b, 0x5db8d822);             /* A */
    rr_start(&b, 28, 60, 16);                                      /* AAAA */
    pb_u16(&b, 0x2606); pb_u16(&b, 0x2800); for (int i = 0; i < 5; i++) pb_u16(&b, 0);
    pb_u16(&b, 0x1);
    rr_start(&b, 5, 10, 6); pb_u8(&b, 3); pb_bytes(&b, "www", 3); pb_u16(&b, 0xc00c); /* CNAME */
    rr_start(&b, 15, 10, 9); pb_u16(&b, 10); pb_u8(&b, 4); pb_bytes(&b, "mail", 4); pb_u16(&b, 0xc00c); /* MX */
    rr_start(&b, 16, 10, 12); pb_u8(&b, 5); pb_bytes(&b, "hello", 5); pb_u8(&b, 5); pb_bytes(&b, "world", 5); /* TXT */
    rr_start(&b, 33, 10, 8); pb_u16(&b, 1); pb_u16(&b, 2); pb_u16(&b, 5060); pb_u16(&b, 0xc00c); /* SRV */
    size_t at = b.len;
    rr_start(&b, 6, 10, 0);                                         /* SOA */
    size_t rd = b.len;
    pb_u8(&b, 2); pb_bytes(&b, "ns", 2); pb_u16(&b, 0xc00c);
    pb_u8(&b, 5); pb_bytes(&b, "admin", 5); pb_u16(&b, 0xc00c);
    pb_u32(&b, 2024010101); pb_u32(&b, 7200); pb_u32(&b, 3600); pb_u32(&b, 1209600); pb_u32(&b, 300);
    b.b[at + 10] = (uint8_t)((b.len - rd) >> 8);
    b.b[at + 11] = (uint8_t)(b.len - rd);
    CHECK(dns_parse(b.b, b.len, &m, &st));
    CHECK(m.response);
    CHECK_EQ(m.n_answers, 7);
    CHECK_STR(m.rr[0].data, "93.184.216.34");
    CHECK_EQ(m.rr[0].ttl, 300);
    CHECK_STR(m.rr[1].data, "2606:2800::1");
    CHECK_STR(m.rr[2].data, "www.example.com");
    CHECK_STR(m.rr[3].data, "mail.example.com");
    CHECK_EQ(m.rr[3].num[0], 10);
    CHECK_STR(m.rr[4].data, "helloworld");
    CHECK_STR(m.rr[5].data, "example.com");
    CHECK_EQ(m.rr[5].num[2], 5060);
    CHECK_STR(m.rr[6].data, "ns.example.com");
    CHECK_STR(m.rr[6].name2, "admin.example.com");
    CHECK_EQ(m.rr[6].num[0], 2024010101u);
    CHECK_EQ(m.rr[6].num[4], 300);
    char tb[16];
    CHECK_STR(dns_type_name(65, tb, sizeof(tb)), "HTTPS");
    CHECK_STR(dns_type_name(4242, tb, sizeof(tb)), "4242");
}

static void test_https_record(void)
{
    struct pb b = { .len = 0 };
    header(&b, 9, 0x8180, 1, 1, 0, 0);
    name(&b, "cloudflare.com");
    pb_u16(&b, 65); pb_u16(&b, 1);
    rr_start(&b, 65, 279, 2 + 1 + 10 + 8);
    pb_u16(&b, 1); pb_u8(&b, 0);                                    /* ".", prio 1 */
    pb_u16(&b, 1); pb_u16(&b, 6); pb_u8(&b, 2); pb_bytes(&b, "h3", 2); pb_u8(&b, 2); pb_bytes(&b, "h2", 2);
    pb_u16(&b, 4); pb_u16(&b, 4); pb_u32(&b, 0x68108405);
    CHECK(dns_parse(b.b, b.len, &m, &st));
    CHECK_STR(m.rr[0].data, "1 . alpn=h3,h2 ipv4hint=104.16.132.5");
}

static void test_hostile_names(void)
{
    /* a pointer to itself */
    struct pb b = { .len = 0 };
    header(&b, 1, 0x0100, 1, 0, 0, 0);
    pb_u16(&b, 0xc00c); pb_u16(&b, 1); pb_u16(&b, 1);
    uint64_t loops = st.name_loop;
    CHECK(!dns_parse(b.b, b.len, &m, &st));
    CHECK_EQ(st.name_loop, loops + 1);
    /* a pointer past the end */
    b.len = 0;
    header(&b, 1, 0x0100, 1, 0, 0, 0);
    pb_u16(&b, 0xc0ff); pb_u16(&b, 1); pb_u16(&b, 1);
    uint64_t bad = st.bad_pointer;
    CHECK(!dns_parse(b.b, b.len, &m, &st));
    CHECK_EQ(st.bad_pointer, bad + 1);
    /* a forward pointer loop between two answers' names */
    b.len = 0;
    header(&b, 1, 0x8180, 1, 1, 0, 0);
    name(&b, "a.example");
    pb_u16(&b, 1); pb_u16(&b, 1);
    pb_u16(&b, 0xc000 | (uint16_t)(b.len + 2)); /* points at itself + 2 */
    pb_u16(&b, 0xc000 | (uint16_t)(b.len - 2));
    CHECK(dns_parse(b.b, b.len, &m, &st)); /* the question is fine */
    CHECK_EQ(m.n_rrs, 0);
    /* a name longer than 255 bytes */
    b.len = 0;
    header(&b, 1, 0x0100, 1, 0, 0, 0);
    for (int i = 0; i < 5; i++) {
        pb_u8(&b, 63);
        for (int k = 0; k < 63; k++)
            pb_u8(&b, 'a');
    }
    pb_u8(&b, 0); pb_u16(&b, 1); pb_u16(&b, 1);
    CHECK(!dns_parse(b.b, b.len, &m, &st));
    /* labels with dots and binary are escaped */
    b.len = 0;
    header(&b, 1, 0x0100, 1, 0, 0, 0);
    pb_u8(&b, 3); pb_bytes(&b, "a.\x01", 3); pb_u8(&b, 0); pb_u16(&b, 1); pb_u16(&b, 1);
    CHECK(dns_parse(b.b, b.len, &m, &st));
    CHECK_STR(m.q[0].name, "a\\.\\001");
    /* the longest name, every byte binary: 253 bytes on the wire print
     * as 1,000 characters of \DDD escapes and dots, and are kept whole
     * (DNS tunnels send such names) */
    b.len = 0;
    header(&b, 1, 0x0100, 1, 0, 0, 0);
    for (int i = 0; i < 4; i++) {
        int n = i < 3 ? 63 : 61;
        pb_u8(&b, (uint8_t)n);
        for (int k = 0; k < n; k++)
            pb_u8(&b, 0xff);
    }
    pb_u8(&b, 0); pb_u16(&b, 16); pb_u16(&b, 1);
    uint64_t bad_names = st.bad_name;
    CHECK(dns_parse(b.b, b.len, &m, &st));
    CHECK_EQ(st.bad_name, bad_names);
    CHECK_EQ(strlen(m.q[0].name), 250u * 4 + 3);
    CHECK(strncmp(m.q[0].name, "\\255\\255", 8) == 0);
    /* the root */
    b.len = 0;
    header(&b, 1, 0x0100, 1, 0, 0, 0);
    pb_u8(&b, 0); pb_u16(&b, 2); pb_u16(&b, 1);
    CHECK(dns_parse(b.b, b.len, &m, &st));
    CHECK_STR(m.q[0].name, ".");
}

static void test_truncated_answer_keeps_complete_records(void)
{
    struct pb b = { .len = 0 };
    header(&b, 2, 0x8180, 1, 2, 0, 0);
    name(&b, "example.com");
    pb_u16(&b, 1); pb_u16(&b, 1);
    rr_start(&b, 1, 300, 4); pb_u32(&b, 0x01020304);
    rr_start(&b, 1, 300, 4); pb_u16(&b, 0x0102); /* cut */
    CHECK(dns_parse(b.b, b.len, &m, &st));
    CHECK_EQ(m.n_rrs, 1);
    CHECK(!dns_parse(b.b, 11, &m, &st)); /* shorter than a header */
}

static void test_records_over_cap_are_counted(void)
{
    static struct pb b;
    b.len = 0;
    header(&b, 3, 0x8180, 1, 60, 0, 0);
    name(&b, "example.com");
    pb_u16(&b, 1); pb_u16(&b, 1);
    for (int i = 0; i < 60; i++) {
        rr_start(&b, 1, 300, 4);
        pb_u32(&b, 0x0a000000u + (uint32_t)i);
    }
    CHECK(dns_parse(b.b, b.len, &m, &st));
    CHECK_EQ(m.n_rrs, DNS_MAX_RRS);
    CHECK_EQ(m.rrs_over_cap, 60 - DNS_MAX_RRS);
}

static struct ip_addr v4(uint32_t a)
{
    struct ip_addr x;
    memset(&x, 0, sizeof(x));
    uint8_t *p = (uint8_t *)&x;
    p[0] = (uint8_t)(a >> 24); p[1] = (uint8_t)(a >> 16);
    p[2] = (uint8_t)(a >> 8); p[3] = (uint8_t)a;
    return x;
}

static void test_cache_ttl_and_grace(void)
{
    struct dns_cache *c = dns_cache_new(64, 10);
    struct ip_addr a = v4(0x01020304);
    struct dns_ref ref;
    dns_cache_insert(c, &a, 4, "bad.example", 60, 1, 1000000000ull);
    CHECK(!dns_cache_lookup(c, &a, 4, 999000000ull, &ref)); /* before the answer */
    CHECK(dns_cache_lookup(c, &a, 4, 1000000000ull + 69000000ull, &ref));
    CHECK_STR(dns_cache_get(c, ref)->name, "bad.example");
    CHECK(!dns_cache_lookup(c, &a, 4, 1000000000ull + 71000000ull, &ref));
    /* the same address as IPv6 is another key */
    CHECK(!dns_cache_lookup(c, &a, 6, 1000000000ull, &ref));
    /* a newer name for the address replaces it; old references die */
    CHECK(dns_cache_lookup(c, &a, 4, 1000000000ull, &ref));
    dns_cache_insert(c, &a, 4, "other.example", 60, 1, 1001000000ull);
    CHECK(dns_cache_get(c, ref) == NULL);
    dns_cache_free(c);
}

static void test_cache_is_bounded(void)
{
    struct dns_cache *c = dns_cache_new(16, 0);
    for (uint32_t i = 0; i < 1000; i++) {
        struct ip_addr a = v4(0x0a000000u + i);
        dns_cache_insert(c, &a, 4, "x.example", 3600, 1, 1000000ull);
    }
    CHECK(dns_cache_stats(c)->evicted_fresh >= 1000 - 20);
    CHECK(dns_cache_memory(c) < 32 * sizeof(struct dns_cache_entry));
    struct ip_addr last = v4(0x0a000000u + 999);
    struct dns_ref ref;
    CHECK(dns_cache_lookup(c, &last, 4, 2000000ull, &ref));
    dns_cache_free(c);
}

/* Every new flow's server is looked up; most were never in an answer. On
 * a large table those misses must not read the answers themselves (one
 * new resident page each, spread over tens of MB): the tags answer. */
static void test_cache_misses_stay_in_the_tags(void)
{
    struct dns_cache *c = dns_cache_new(262144, 0);
    struct ip_addr named = v4(0x0a0a0a0au);
    dns_cache_insert(c, &named, 4, "named.example", 3600, 1, 1000000ull);
    long before = resident_kb();
    struct dns_ref ref;
    uint32_t found = 0;
    for (uint32_t i = 0; i < 50000; i++) {
        struct ip_addr a = v4(0xc6000000u + i * 7919u);
        found += dns_cache_lookup(c, &a, 4, 2000000ull, &ref);
    }
    long grown_kb = resident_kb() - before;
    CHECK(found == 0);
    CHECK(dns_cache_lookup(c, &named, 4, 2000000ull, &ref));
    /* the tags: 4 bytes a slot, 1 MiB for this table; the answers: 75 MiB */
    CHECK(TESTS_UNDER_ASAN || grown_kb < 2048);
    dns_cache_free(c);
}

TEST_LIST(test_query_with_edns, test_answer_types, test_https_record,
          test_hostile_names, test_truncated_answer_keeps_complete_records,
          test_records_over_cap_are_counted, test_cache_ttl_and_grace,
          test_cache_is_bounded, test_cache_misses_stay_in_the_tags)
