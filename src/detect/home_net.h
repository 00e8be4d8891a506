/* home_net.h -- which addresses are "ours".
 *
 * A list of networks (CIDR, IPv4 and IPv6) parsed once from a setting such
 * as "10.0.0.0/8,172.16.0.0/12,192.168.0.0/16,fc00::/7"; an address inside
 * one is internal, every other address is remote. At most HOME_NET_MAX
 * networks; lookups are a short scan, no allocation.
 */
#ifndef NIGHTJAR_HOME_NET_H
#define NIGHTJAR_HOME_NET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "decode/decode.h"

#define HOME_NET_MAX 64
#define HOME_NET_DEFAULT "10.0.0.0/8,172.16.0.0/12,192.168.0.0/16,fc00::/7"

struct home_net {
    int n;
    struct {
        uint8_t v;             /* 4 or 6 */
        uint8_t prefix;
        struct ip_addr net;    /* masked */
        struct ip_addr mask;   /* the prefix's bits set */
    } e[HOME_NET_MAX];
};

/* Comma- or space-separated networks; a bare address is a /32 or /128.
 * false with a message naming the bad entry. */
bool home_net_parse(struct home_net *h, const char *list, char *err,
                    size_t errlen);
bool home_net_contains(const struct home_net *h, uint8_t ip_version,
                       const struct ip_addr *a);

#endif
