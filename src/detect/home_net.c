/* home_net.c -- the internal networks (see home_net.h). */
#include "detect/home_net.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/text.h"

static void mask(struct ip_addr *a, uint8_t prefix, int bytes)
{
    for (int i = 0; i < bytes; i++) {
        int bits = prefix - 8 * i;
        uint8_t m = bits >= 8 ? 0xff : bits <= 0 ? 0 : (uint8_t)(0xff << (8 - bits));
        a->b[i] &= m;
    }
    for (int i = bytes; i < 16; i++)
        a->b[i] = 0;
}

static bool parse_one(struct home_net *h, char *tok, char *err, size_t errlen)
{
    if (h->n >= HOME_NET_MAX) {
        snprintf(err, errlen, "more than %d home networks", HOME_NET_MAX);
        return false;
    }
    char *slash = strchr(tok, '/');
    if (slash)
        *slash = 0;
    struct ip_addr a;
    memset(&a, 0, sizeof(a));
    uint8_t v = inet_pton(AF_INET, tok, a.b) == 1 ? 4
              : inet_pton(AF_INET6, tok, a.b) == 1 ? 6 : 0;
    int max = v == 4 ? 32 : 128;
    char *end = NULL;
    long prefix = slash ? strtol(slash + 1, &end, 10) : max;
    if (!v || prefix < 0 || prefix > max || (slash && (end == slash + 1 || *end))) {
        snprintf(err, errlen, "'%s%s%s' is not a network (like 10.0.0.0/8 or "
                 "fc00::/7)", tok, slash ? "/" : "", slash ? slash + 1 : "");
        return false;
    }
    mask(&a, (uint8_t)prefix, v == 4 ? 4 : 16);
    memset(&h->e[h->n].mask, 0xff, sizeof(h->e[h->n].mask));
    mask(&h->e[h->n].mask, (uint8_t)prefix, v == 4 ? 4 : 16);
    h->e[h->n].v = v;
    h->e[h->n].prefix = (uint8_t)prefix;
    h->e[h->n].net = a;
    h->n++;
    return true;
}

bool home_net_parse(struct home_net *h, const char *list, char *err,
                    size_t errlen)
{
    memset(h, 0, sizeof(*h));
    char buf[2048];
    if (strlen(list) >= sizeof(buf)) {
        snprintf(err, errlen, "home network list too long");
        return false;
    }
    text_copy(buf, sizeof(buf), list, strlen(list));
    char *save = NULL;
    for (char *t = strtok_r(buf, ", \t", &save); t; t = strtok_r(NULL, ", \t", &save))
        if (!parse_one(h, t, err, errlen))
            return false;
    return true;
}

bool home_net_contains(const struct home_net *h, uint8_t v,
                       const struct ip_addr *a)
{
    /* two words at a time: past an IPv4 network's 4 bytes its mask and
     * net are 0 (mask()), so whatever the address holds there drops out */
    uint64_t a0, a1;
    memcpy(&a0, a->b, 8);
    memcpy(&a1, a->b + 8, 8);
    for (int i = 0; i < h->n; i++) {
        if (h->e[i].v != v)
            continue;
        uint64_t m0, m1, n0, n1;
        memcpy(&m0, h->e[i].mask.b, 8);
        memcpy(&m1, h->e[i].mask.b + 8, 8);
        memcpy(&n0, h->e[i].net.b, 8);
        memcpy(&n1, h->e[i].net.b + 8, 8);
        if ((((a0 & m0) ^ n0) | ((a1 & m1) ^ n1)) == 0)
            return true;
    }
    return false;
}
