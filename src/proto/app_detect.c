/* app_detect.c -- content-based application protocol detection (see .h). */
#include "proto/app_detect.h"
#include "proto/dcerpc.h"

#include <string.h>

#include "util/cursor.h"

static int starts(const uint8_t *d, size_t n, const char *s)
{
    size_t l = strlen(s);
    return n >= l && memcmp(d, s, l) == 0;
}

static int starts_nocase(const uint8_t *d, size_t n, const char *s)
{
    size_t l = strlen(s);
    if (n < l)
        return 0;
    for (size_t i = 0; i < l; i++) {
        uint8_t c = d[i];
        if (c >= 'a' && c <= 'z')
            c = (uint8_t)(c - 32);
        if (c != (uint8_t)s[i])
            return 0;
    }
    return 1;
}

static int is_tls(const uint8_t *d, size_t n)
{
    if (n >= 3 && d[0] >= 0x14 && d[0] <= 0x18 && d[1] == 0x03 && d[2] <= 0x04)
        return 1;
    /* SSLv2-compatible ClientHello: 2-byte length with the high bit, type 1,
     * version 2.0 or 3.x */
    return n >= 5 && (d[0] & 0x80) && d[2] == 0x01 &&
           (d[3] == 0x03 || (d[3] == 0x00 && d[4] == 0x02));
}

static int is_http_request(const uint8_t *d, size_t n)
{
    static const char *const methods[] = {
        "GET ", "POST ", "HEAD ", "PUT ", "DELETE ", "OPTIONS ", "CONNECT ",
        "PATCH ", "TRACE ", "PROPFIND ", "MKCOL ", "COPY ", "MOVE ", "LOCK ",
        "UNLOCK ", "PROPPATCH ", "SEARCH ", "REPORT ", NULL,
    };
    for (int i = 0; methods[i]; i++)
        if (starts(d, n, methods[i]))
            return 1;
    /* any other token (RPC_IN_DATA, extension methods): "TOKEN /... HTTP/1." */
    size_t t = 0;
    while (t < n && t < 32 && ((d[t] >= 'A' && d[t] <= 'Z') || d[t] == '_' || d[t] == '-'))
        t++;
    if (t < 3 || t >= n || d[t] != ' ')
        return 0;
    const uint8_t *lf = memchr(d, '\n', n < 4096 ? n : 4096);
    size_t line = lf ? (size_t)(lf - d) : (n < 4096 ? n : 4096);
    for (size_t i = t; i + 8 <= line; i++)
        if (!memcmp(d + i, " HTTP/1.", 8))
            return 1;
    return 0;
}

static int banner_has(const uint8_t *d, size_t n, const char *word)
{
    size_t l = strlen(word);
    for (size_t i = 0; i + l <= n && i < 256; i++) {
        if (d[i] == '\n')
            return 0;
        if (starts_nocase(d + i, n - i, word))
            return 1;
    }
    return 0;
}

static int is_dns(const uint8_t *d, size_t n);

/* --- industrial control: the framing, on the registered port ----------- */

static uint16_t be16(const uint8_t *d) { return (uint16_t)(d[0] << 8 | d[1]); }
static uint16_t le16(const uint8_t *d) { return (uint16_t)(d[1] << 8 | d[0]); }

/* Modbus/TCP (502): MBAP header -- protocol id 0, a length that covers the
 * unit id and a PDU of at most 253 bytes, a function code below 0x80 from
 * the client (an exception sets the top bit in answers). */
static bool is_modbus(int dir, const uint8_t *d, size_t n)
{
    if (n < 8 || be16(d + 2) != 0)
        return false;
    size_t len = be16(d + 4);
    return len >= 2 && len <= 254 && 6 + len <= n && (dir == 1 || d[7] < 0x80);
}

/* IEC 60870-5-104 (2404): APCI start 0x68, an APDU length of 4 to 253 that
 * the bytes hold, and the next APDU (if any) starting with 0x68 too. */
static bool is_iec104(const uint8_t *d, size_t n)
{
    if (n < 6 || d[0] != 0x68 || d[1] < 4 || d[1] > 253 || (size_t)d[1] + 2 > n)
        return false;
    size_t next = (size_t)d[1] + 2;
    return next == n || d[next] == 0x68;
}

/* S7comm (102): TPKT version 3 whose length is the segment's, then a COTP
 * connection request, confirm or data TPDU. */
static bool is_s7(const uint8_t *d, size_t n)
{
    return n >= 7 && d[0] == 3 && d[1] == 0 && be16(d + 2) >= 7 &&
           be16(d + 2) <= n && (d[5] == 0xe0 || d[5] == 0xd0 || d[5] == 0xf0);
}

/* DNP3 (20000): the link-layer start bytes 0x05 0x64 and a length of 5 or
 * more. */
static bool is_dnp3(const uint8_t *d, size_t n)
{
    return n >= 10 && d[0] == 0x05 && d[1] == 0x64 && d[2] >= 5;
}

/* EtherNet/IP (44818): a 24-byte encapsulation header with a known command
 * and a length that covers the rest. */
static bool is_enip(const uint8_t *d, size_t n)
{
    static const uint16_t cmds[] = { 0x0004, 0x0063, 0x0064, 0x0065, 0x0066,
                                     0x006f, 0x0070 };
    if (n < 24 || (size_t)le16(d + 2) + 24 > n)
        return false;
    for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
        if (le16(d) == cmds[i])
            return true;
    return false;
}

/* BACnet/IP (UDP 47808): BVLC type 0x81, a known function, the datagram's
 * length. */
static bool is_bacnet(const uint8_t *d, size_t n)
{
    return n >= 4 && d[0] == 0x81 && d[1] <= 0x0c && be16(d + 2) == n;
}

static enum app_proto detect_industrial(int dir, const uint8_t *d, size_t n,
                                        uint16_t sport)
{
    switch (sport) {
    case 502: return is_modbus(dir, d, n) ? APP_MODBUS : APP_UNKNOWN;
    case 2404: return is_iec104(d, n) ? APP_IEC104 : APP_UNKNOWN;
    case 102: return is_s7(d, n) ? APP_S7COMM : APP_UNKNOWN;
    case 20000: return is_dnp3(d, n) ? APP_DNP3 : APP_UNKNOWN;
    case 44818: return is_enip(d, n) ? APP_ENIP : APP_UNKNOWN;
    default: return APP_UNKNOWN;
    }
}

bool app_is_industrial(enum app_proto p)
{
    return p >= APP_MODBUS && p <= APP_BACNET;
}

static enum app_proto detect_tcp(int dir, const uint8_t *d, size_t n,
                                 uint16_t cport, uint16_t sport)
{
    /* DNS over TCP: a length prefix, then a DNS header (either end may be
     * port 53 when the capture starts mid-connection) */
    if ((sport == 53 || cport == 53) &&
        ((n >= 14 && ((size_t)((d[0] << 8) | d[1])) >= 12 && is_dns(d + 2, n - 2)) ||
         (dir == 0 && n == 2))) /* Windows sends the length on its own */
        return APP_DNS;
    /* on any other port: a query whose length prefix is exactly the rest
     * of the chunk, one question, a name that starts like one */
    if (dir == 0 && n >= 19 && (size_t)((d[0] << 8) | d[1]) + 2 == n &&
        is_dns(d + 2, n - 2) && d[6] == 0 && d[7] == 1 && !(d[4] & 0x80) &&
        d[14] >= 1 && d[14] <= 63)
        return APP_DNS;
    if (is_tls(d, n))
        return APP_TLS;
    if (starts(d, n, "SSH-"))
        return APP_SSH;
    if (starts(d, n, "PRI * HTTP/2.0\r\n")) /* h2c with prior knowledge */
        return APP_HTTP2;
    if (is_http_request(d, n)) /* either way: reverse proxies, mid-flow starts */
        return APP_HTTP;
    if (starts(d, n, "HTTP/1.")) /* either way: a capture may start mid-flow */
        return APP_HTTP;
    if (dir == 0 && dcerpc_is_bind(d, n))
        return APP_DCERPC;
    if (n >= 8 && d[0] == 0x00 &&
        (memcmp(d + 4, "\xffSMB", 4) == 0 || memcmp(d + 4, "\xfeSMB", 4) == 0))
        return APP_SMB;
    if (dir == 1) {
        if (starts(d, n, "220")) {
            if (banner_has(d, n, "SMTP") || banner_has(d, n, "MAIL"))
                return APP_SMTP;
            if (banner_has(d, n, "FTP"))
                return APP_FTP;
            return APP_UNKNOWN; /* wait for the client's first command */
        }
        if (starts(d, n, "+OK"))
            return APP_POP3;
        if (starts(d, n, "* OK") || starts(d, n, "* PREAUTH"))
            return APP_IMAP;
    } else {
        if (starts_nocase(d, n, "EHLO ") || starts_nocase(d, n, "HELO "))
            return APP_SMTP;
        if (starts_nocase(d, n, "USER ") || starts_nocase(d, n, "AUTH TLS") ||
            starts_nocase(d, n, "FEAT"))
            return APP_FTP;
        if (starts_nocase(d, n, "CAPA") && sport != 143)
            return APP_POP3;
    }
    return detect_industrial(dir, d, n, sport);
}

/* A DNS header with one question or a plausible answer count. */
static int is_dns(const uint8_t *d, size_t n)
{
    cursor_t c = cur_make(d, n);
    cur_skip(&c, 2);
    uint16_t flags = cur_u16be(&c);
    uint16_t qd = cur_u16be(&c);
    uint16_t an = cur_u16be(&c);
    if (!cur_ok(&c) || cur_left(&c) < 4)
        return 0;
    unsigned opcode = (flags >> 11) & 0xf;
    return opcode <= 6 && qd <= 4 && an <= 256;
}

static int is_quic(const uint8_t *d, size_t n)
{
    if (n < 7 || (d[0] & 0xc0) != 0xc0)
        return 0;
    uint32_t v = ((uint32_t)d[1] << 24) | ((uint32_t)d[2] << 16) |
                 ((uint32_t)d[3] << 8) | d[4];
    return v == 0x00000001 || v == 0x6b3343cf || v == 0 ||
           (v & 0xffffff00) == 0xff000000 || (v & 0x0f0f0f0f) == 0x0a0a0a0a ||
           v == 0x51303433 || v == 0x51303436 || v == 0x51303530;
}

static enum app_proto detect_udp(const uint8_t *d, size_t n, uint16_t cport,
                                 uint16_t sport)
{
    if ((sport == 53 || sport == 5353 || sport == 5355 || cport == 53) &&
        is_dns(d, n))
        return APP_DNS;
    if ((sport == 67 || sport == 68) && n >= 240 && d[236] == 0x63 &&
        d[237] == 0x82 && d[238] == 0x53 && d[239] == 0x63)
        return APP_DHCP;
    if (sport == 123 && n >= 48 && ((d[0] >> 3) & 7) >= 1 &&
        ((d[0] >> 3) & 7) <= 4)
        return APP_NTP;
    if (is_quic(d, n))
        return APP_QUIC;
    /* DTLS record: content type 20-25, version 0xfeff/fefd/fefc */
    if (n >= 13 && d[0] >= 20 && d[0] <= 25 &&
        ((d[1] == 0xfe && (d[2] == 0xff || d[2] == 0xfd || d[2] == 0xfc)) ||
         (d[1] == 0x01 && d[2] == 0x00 && d[3] == 0 && d[4] == 0)))
        return APP_DTLS;
    if ((sport == 47808 || cport == 47808) && is_bacnet(d, n))
        return APP_BACNET;
    return APP_UNKNOWN;
}

enum app_proto app_detect(uint8_t ip_proto, int dir, const uint8_t *data,
                          size_t len, uint16_t client_port,
                          uint16_t server_port)
{
    if (!data || !len)
        return APP_UNKNOWN;
    if (ip_proto == 6)
        return detect_tcp(dir, data, len, client_port, server_port);
    if (ip_proto == 17)
        return detect_udp(data, len, client_port, server_port);
    return APP_UNKNOWN;
}

bool app_is_stun(const uint8_t *d, size_t n)
{
    return n >= 20 && d[0] <= 3 && (d[3] & 3) == 0 &&
           ((size_t)d[2] << 8 | d[3]) + 20 == n && d[4] == 0x21 &&
           d[5] == 0x12 && d[6] == 0xa4 && d[7] == 0x42;
}

const char *app_proto_name(enum app_proto p)
{
    static const char *const n[APP_COUNT] = {
        "", "http", "tls", "ssh", "smtp", "ftp", "pop3", "imap", "smb",
        "dns", "quic", "dhcp", "ntp", "dtls", "modbus", "iec104", "s7comm",
        "dnp3", "enip", "bacnet", "dcerpc", "http2",
    };
    return p < APP_COUNT ? n[p] : "";
}
