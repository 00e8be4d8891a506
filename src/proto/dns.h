/* dns.h -- DNS messages (RFC 1035 and the record types that matter today).
 *
 * dns_parse() reads one message -- a UDP payload, or one length-prefixed
 * message of a TCP stream -- into a caller-owned struct dns_msg of fixed
 * size: the header, the questions, and the answer/authority/additional
 * records with their data in presentation form (addresses, names, TXT
 * strings, SOA/SRV/MX/SVCB fields). Names are decompressed with every
 * pointer required to point backwards, before the label that holds it, so a
 * loop or a pointer outside the message cannot be followed; such a message
 * is rejected with the reason counted. Records past the caps are counted,
 * not stored. EDNS (the OPT record) is read into its own fields.
 *
 * This file parses; it never keeps state between messages, never
 * allocates, and never decides what a name means.
 */
#ifndef NIGHTJAR_DNS_H
#define NIGHTJAR_DNS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A name in presentation form: at most 253 bytes of labels on the wire,
 * each of which may print as a four-byte \DDD escape, plus the dots. */
#define DNS_NAME_MAX 1024
#define DNS_DATA_MAX 512     /* rdata in presentation form, truncated */
#define DNS_MAX_QUESTIONS 4
#define DNS_MAX_RRS 48       /* answers + authorities + additionals kept */

enum dns_section { DNS_SEC_ANSWER, DNS_SEC_AUTHORITY, DNS_SEC_ADDITIONAL };

struct dns_question {
    char name[DNS_NAME_MAX];
    uint16_t type, qclass;
};

struct dns_rr {
    char name[DNS_NAME_MAX];
    char data[DNS_DATA_MAX];  /* presentation form; "" if not decoded */
    uint16_t type, rclass;
    uint32_t ttl;
    uint16_t rdlength;
    uint8_t section;          /* enum dns_section */
    uint8_t addr[16];         /* A / AAAA: the address, network order */
    /* MX preference, SRV priority, SVCB priority; SRV weight and port;
     * SOA serial, refresh, retry, expire, minimum */
    uint32_t num[5];
    char name2[DNS_NAME_MAX]; /* SOA rname */
};

struct dns_msg {
    uint16_t id, flags;
    uint8_t opcode, rcode;    /* rcode includes EDNS extended bits */
    bool response;
    uint16_t qdcount, ancount, nscount, arcount;
    unsigned n_questions, n_rrs;
    unsigned n_answers;       /* of n_rrs, in the answer section */
    unsigned rrs_over_cap;    /* records not stored */
    bool edns;
    uint16_t edns_udp_size;
    uint8_t edns_version;
    bool edns_do;
    struct dns_question q[DNS_MAX_QUESTIONS];
    struct dns_rr rr[DNS_MAX_RRS];
};

#define DNS_ERRORS(X) \
    X(truncated_message) X(bad_name) X(name_loop) X(bad_pointer) \
    X(bad_rdata) X(rrs_over_cap) X(not_dns)

struct dns_stats {
    uint64_t messages, queries, responses;
#define DNS_STAT_FIELD(n) uint64_t n;
    DNS_ERRORS(DNS_STAT_FIELD)
#undef DNS_STAT_FIELD
};

/* Parses msg. False when the message is not usable (the reason counted);
 * a message cut short after its questions still returns true with the
 * records that were complete. */
bool dns_parse(const uint8_t *msg, size_t len, struct dns_msg *out,
               struct dns_stats *st);

/* "A", "AAAA", ... or the number in decimal, into buf. */
const char *dns_type_name(uint16_t type, char *buf, size_t len);
/* "NOERROR", "NXDOMAIN", ... or the number. */
const char *dns_rcode_name(uint8_t rcode, char *buf, size_t len);

/* Reads one name at off of msg into out (presentation form, lower case
 * kept as sent). Returns the offset after the name, or 0 on error with
 * *why set to the stat that explains it. Exposed for the tests. */
size_t dns_read_name(const uint8_t *msg, size_t len, size_t off, char *out,
                     size_t outlen, const char **why);

#endif
