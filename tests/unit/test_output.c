/* test_output.c -- the JSON writer (escaping, nesting, numbers) and the EVE
 * timestamp format, and application detection by content. */
#include "output/eve.h"
#include "util/json.h"
#include "proto/app_detect.h"
#include "testing.h"

static void json_nesting_and_commas(void)
{
    struct json j;
    json_init(&j);
    json_obj_open(&j);
    json_kv_u64(&j, "a", 1);
    json_key(&j, "b");
    json_arr_open(&j);
    json_u64(&j, 2);
    json_str(&j, "x");
    json_obj_open(&j);
    json_obj_close(&j);
    json_arr_close(&j);
    json_kv_bool(&j, "c", true);
    json_obj_close(&j);
    CHECK_STR(j.buf, "{\"a\":1,\"b\":[2,\"x\",{}],\"c\":true}");
    json_free(&j);
}

static void json_strings_are_always_valid(void)
{
    struct json j;
    json_init(&j);
    json_strn(&j, "q\"\\\n\x01\xff\xc3\xa9", 8);
    CHECK_STR(j.buf, "\"q\\\"\\\\\\n\\u0001\\u00ff\xc3\xa9\"");
    json_reset(&j);
    json_double(&j, 1.0 / 0.0, 3);
    CHECK_STR(j.buf, "null");
    json_reset(&j);
    json_double(&j, 2.5, 3);
    CHECK_STR(j.buf, "2.5");
    json_free(&j);
}

static void eve_time_is_iso8601_with_microseconds(void)
{
    char b[64];
    eve_format_time(1700000000123456ull, b, sizeof(b));
    CHECK_STR(b, "2023-11-14T22:13:20.123456+0000");
}

static void app_detection_by_content_on_any_port(void)
{
    const uint8_t tls[] = { 0x16, 0x03, 0x01, 0x02, 0x00, 0x01 };
    CHECK_EQ(app_detect(6, 0, tls, sizeof(tls), 5555, 8081), APP_TLS);
    const char *get = "GET / HTTP/1.1\r\n";
    CHECK_EQ(app_detect(6, 0, (const uint8_t *)get, strlen(get), 1, 2), APP_HTTP);
    const char *ssh = "SSH-2.0-OpenSSH_9.2\r\n";
    CHECK_EQ(app_detect(6, 1, (const uint8_t *)ssh, strlen(ssh), 1, 2222), APP_SSH);
    const char *smtp = "220 mx.example.com ESMTP Postfix\r\n";
    CHECK_EQ(app_detect(6, 1, (const uint8_t *)smtp, strlen(smtp), 1, 25), APP_SMTP);
    const char *plain220 = "220 welcome\r\n";
    CHECK_EQ(app_detect(6, 1, (const uint8_t *)plain220, strlen(plain220), 1, 2), APP_UNKNOWN);
    const char *ehlo = "EHLO client\r\n";
    CHECK_EQ(app_detect(6, 0, (const uint8_t *)ehlo, strlen(ehlo), 1, 2), APP_SMTP);
    const uint8_t quic[] = { 0xc3, 0, 0, 0, 1, 8, 1, 2, 3 };
    CHECK_EQ(app_detect(17, 0, quic, sizeof(quic), 5000, 443), APP_QUIC);
    const uint8_t dns[] = { 0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0, 3, 'c', 'o', 'm', 0 };
    CHECK_EQ(app_detect(17, 0, dns, sizeof(dns), 5000, 53), APP_DNS);
    const uint8_t junk[] = { 0x42, 0x42, 0x42 };
    CHECK_EQ(app_detect(6, 0, junk, sizeof(junk), 1, 443), APP_UNKNOWN);
    CHECK_STR(app_proto_name(APP_TLS), "tls");
}

/* STUN is recognised (so DTLS after it on one 5-tuple is still found), and
 * only with its magic cookie and a length that covers the datagram. */
static void stun_is_recognised_by_cookie_and_length(void)
{
    uint8_t m[28] = { 0x00, 0x01, 0x00, 0x08, 0x21, 0x12, 0xa4, 0x42 };
    m[20] = 0x00; m[21] = 0x24; m[22] = 0x00; m[23] = 0x04; /* PRIORITY */
    CHECK(app_is_stun(m, sizeof(m)));
    CHECK(!app_is_stun(m, sizeof(m) - 4));  /* length says 8 more bytes */
    CHECK(!app_is_stun(m, 19));
    m[7] = 0x43;                            /* not the magic cookie */
    CHECK(!app_is_stun(m, sizeof(m)));
    m[7] = 0x42;
    m[0] = 0x16;                            /* a DTLS record's first byte */
    CHECK(!app_is_stun(m, sizeof(m)));
    const uint8_t dtls[] = { 22, 0xfe, 0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1 };
    CHECK(!app_is_stun(dtls, sizeof(dtls)));
    CHECK_EQ(app_detect(17, 0, dtls, sizeof(dtls), 5000, 4433), APP_DTLS);
}

/* Industrial protocols: their framing, on their registered port only. */
static void industrial_protocols_by_framing_on_their_port(void)
{
    /* Modbus read holding registers: MBAP (tid 1, pid 0, len 6, unit 1), fc 3 */
    const uint8_t mb[] = { 0, 1, 0, 0, 0, 6, 1, 3, 0, 0, 0, 10 };
    CHECK_EQ(app_detect(6, 0, mb, sizeof(mb), 50000, 502), APP_MODBUS);
    CHECK_EQ(app_detect(6, 0, mb, sizeof(mb), 50000, 5020), APP_UNKNOWN);
    const uint8_t mb_bad[] = { 0, 1, 0, 7, 0, 6, 1, 3, 0, 0, 0, 10 }; /* pid 7 */
    CHECK_EQ(app_detect(6, 0, mb_bad, sizeof(mb_bad), 50000, 502), APP_UNKNOWN);
    /* IEC 104 STARTDT act; a Remcos-like registration on 2404 is not */
    const uint8_t iec[] = { 0x68, 4, 7, 0, 0, 0 };
    CHECK_EQ(app_detect(6, 0, iec, sizeof(iec), 50000, 2404), APP_IEC104);
    const uint8_t rat[] = { 0x24, 0x04, 0xff, 0x00, 0x91, 0x02, 0, 0, 0x11, 0x22 };
    CHECK_EQ(app_detect(6, 0, rat, sizeof(rat), 50000, 2404), APP_UNKNOWN);
    const uint8_t iec_short[] = { 0x68, 40, 7, 0, 0, 0 }; /* claims 40 bytes */
    CHECK_EQ(app_detect(6, 0, iec_short, sizeof(iec_short), 50000, 2404), APP_UNKNOWN);
    /* S7: TPKT + COTP connection request */
    const uint8_t s7[] = { 3, 0, 0, 22, 17, 0xe0, 0, 0, 0, 1, 0, 0xc0, 1, 10,
                           0xc1, 2, 1, 0, 0xc2, 2, 1, 2 };
    CHECK_EQ(app_detect(6, 0, s7, sizeof(s7), 50000, 102), APP_S7COMM);
    CHECK_EQ(app_detect(6, 0, s7, sizeof(s7), 50000, 3389), APP_UNKNOWN);
    const uint8_t dnp3[] = { 0x05, 0x64, 0x05, 0xc9, 1, 0, 2, 0, 0x0c, 0x7f };
    CHECK_EQ(app_detect(6, 0, dnp3, sizeof(dnp3), 50000, 20000), APP_DNP3);
    uint8_t enip[28] = { 0x65, 0, 4, 0 };             /* RegisterSession, 4 bytes */
    CHECK_EQ(app_detect(6, 0, enip, sizeof(enip), 50000, 44818), APP_ENIP);
    enip[0] = 0x99;
    CHECK_EQ(app_detect(6, 0, enip, sizeof(enip), 50000, 44818), APP_UNKNOWN);
    const uint8_t bac[] = { 0x81, 0x0b, 0, 8, 1, 0x20, 0xff, 0xff };
    CHECK_EQ(app_detect(17, 0, bac, sizeof(bac), 47808, 47808), APP_BACNET);
    CHECK_STR(app_proto_name(APP_IEC104), "iec104");
    CHECK(app_is_industrial(APP_MODBUS) && !app_is_industrial(APP_DTLS));
}

TEST_LIST(json_nesting_and_commas, json_strings_are_always_valid,
          eve_time_is_iso8601_with_microseconds,
          app_detection_by_content_on_any_port,
          industrial_protocols_by_framing_on_their_port,
          stun_is_recognised_by_cookie_and_length)
