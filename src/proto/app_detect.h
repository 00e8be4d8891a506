/* app_detect.h -- which application protocol a flow speaks, by content.
 *
 * Looks at the first bytes each side sends (the reassembled stream for TCP,
 * the first datagrams for UDP) and recognises the protocol by its shape, on
 * any port: TLS records and SSLv2 hellos, HTTP request and status lines,
 * the HTTP/2 client connection preface (h2c with prior knowledge),
 * SSH banners, SMTP/FTP/POP3/IMAP greetings and commands, SMB over NetBIOS,
 * DNS, QUIC long headers, DTLS records, DHCP and NTP; the industrial
 * protocols Modbus/TCP, IEC 60870-5-104, S7comm (TPKT/COTP), DNP3,
 * EtherNet/IP and BACnet/IP by their framing, and only on their registered
 * ports (their headers are too short to tell on any port); STUN (RFC 8489) is
 * recognised so that the protocol it is multiplexed with (DTLS-SRTP in
 * WebRTC, RFC 7983) can still be found after it. Ports only break ties between
 * protocols whose first bytes look alike (DNS, NTP, DHCP). A pure function:
 * no state, no allocation; it never decides whether anything is malicious.
 */
#ifndef NIGHTJAR_APP_DETECT_H
#define NIGHTJAR_APP_DETECT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum app_proto {
    APP_UNKNOWN = 0, APP_HTTP, APP_TLS, APP_SSH, APP_SMTP, APP_FTP, APP_POP3,
    APP_IMAP, APP_SMB, APP_DNS, APP_QUIC, APP_DHCP, APP_NTP, APP_DTLS,
    /* industrial control, recognised on their registered ports only */
    APP_MODBUS, APP_IEC104, APP_S7COMM, APP_DNP3, APP_ENIP, APP_BACNET,
    APP_DCERPC,                /* MS-RPC on its own port (135, dynamic ones) */
    APP_HTTP2,                 /* h2c: the client connection preface */
    APP_COUNT
};

/* One of the industrial-control protocols above. */
bool app_is_industrial(enum app_proto p);

/* dir: 0 from client, 1 from server. Returns APP_UNKNOWN when unsure. */
enum app_proto app_detect(uint8_t ip_proto, int dir, const uint8_t *data,
                          size_t len, uint16_t client_port,
                          uint16_t server_port);

/* Suricata's name for it ("tls", "http", ...); "" for APP_UNKNOWN. */
const char *app_proto_name(enum app_proto p);

/* A STUN message: a first byte of 0-3 (RFC 7983's demultiplexing rule), a
 * length that is a multiple of 4 and covers the rest of the datagram, the
 * magic cookie (RFC 8489 6). */
bool app_is_stun(const uint8_t *data, size_t len);

/* STUN datagrams a UDP flow may start with before detection gives up on
 * it: ICE connectivity checks precede DTLS on one 5-tuple. */
#define APP_STUN_DATAGRAMS 32

#endif
