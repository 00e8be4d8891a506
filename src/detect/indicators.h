/* indicators.h -- small facts about names, clients and certificates that
 * several detectors weigh: is this Host an IP literal, is this name under
 * a dynamic DNS provider, is this User-Agent a browser, a stale browser, a
 * tool or absent, does this URI carry an encoded blob, is this certificate
 * subject a placeholder (OpenSSL's defaults, "localhost", a name that is
 * not a host name), is this a port some well-known service uses.
 *
 * Pure functions of their arguments: no state, no allocation, nothing
 * about a particular capture -- each describes how attackers' tools and
 * infrastructure usually differ from ordinary software (docs/detection.md
 * says where each comes from).
 */
#ifndef NIGHTJAR_INDICATORS_H
#define NIGHTJAR_INDICATORS_H

#include <stdbool.h>
#include <stdint.h>

/* "10.0.0.1", "10.0.0.1:8080", "[::1]:80", "::1" -> true. */
bool host_is_ip_literal(const char *host);

/* The name, or one of its parents, is a dynamic DNS provider's zone
 * (duckdns.org, ddns.net, no-ip, ...): a name anyone can point anywhere in
 * minutes, free, and the classic home of RAT controllers. */
bool name_is_dynamic_dns(const char *name);

/* The first label looks machine-made: long, high entropy, few vowels or
 * many digits (a DGA or a tunnel's label). */
bool label_looks_random(const char *label, unsigned len);

enum ua_class {
    UA_NONE,          /* no User-Agent header, or an empty one */
    UA_BROWSER,       /* a current browser's */
    UA_LEGACY,        /* a browser's from before 2014 (MSIE <= 8, "Mozilla/4.0
                       * (compatible; MSIE ...)", Firefox < 20): what droppers
                       * hard-code */
    UA_TOOL,          /* curl, wget, python, Go, Java, PowerShell, WinHTTP, ... */
    UA_SYSTEM,        /* the operating system's own agents: updates, CRL/OCSP
                       * fetchers, connectivity checks */
    UA_OTHER,         /* an application's own */
};
enum ua_class ua_classify(const char *ua);
const char *ua_class_name(enum ua_class c);

/* The path or a query value holds a run of >= 16 base64 characters with
 * upper, lower and digits mixed, or >= 24 hex digits: an encoded payload
 * or a bot id rather than a word. */
bool uri_has_encoded_blob(const char *uri);

/* The path names a server-side script (.php, .asp(x), .jsp, .cgi, .pl) or
 * is "/" or a bare directory: where a bot's gate lives. */
bool uri_is_script(const char *uri);

/* OpenSSL's, Go's and other tools' default certificate subjects, "localhost"
 * and friends. */
bool cert_subject_placeholder(const char *dn);

/* The subject's CN (or, without one, the whole subject) is not a host name:
 * no dot, not an address ("AsyncRAT Server", "DcRat"). */
bool cert_subject_not_hostname(const char *dn);

/* A TCP or UDP port some well-known service listens on (IANA system ports
 * in use today, and the common registered ones: databases, mail, proxies,
 * remote access, directory, VoIP, ...). */
bool port_is_common_service(uint8_t proto, uint16_t port);

/* A port of an industrial-control protocol (Modbus, S7, DNP3, IEC 104,
 * EtherNet/IP, OPC UA, BACnet, ...): a service only where that protocol
 * is what is spoken -- remote-access malware likes these ports (Remcos's
 * default is IEC 104's 2404). */
bool port_is_industrial(uint16_t port);

/* A port where TLS is customary (HTTPS, the TLS variants of mail, LDAP,
 * IRC, XMPP, databases, ...). */
bool port_is_tls_service(uint16_t port);

#endif
