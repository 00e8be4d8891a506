/* community_id.c -- Community ID v1 (corelight/community-id-spec).
 *
 * SHA-1 over seed, the two addresses, protocol, a zero pad byte and the two
 * ports (ICMP: type and counter-type or code), ordered so the smaller
 * address:port comes first -- except for one-way ICMP messages, which keep
 * the direction they were sent in, as the reference implementation does.
 * Computed once, when a flow's record is written; never per packet.
 */
#include <string.h>

#include <openssl/evp.h>
#include <openssl/sha.h>

#include "flow/flow_table.h"
#include "util/digest.h"

/* ICMP type -> counter-type for request/response pairs; -1 when one-way. */
static int icmp4_counterpart(uint8_t type)
{
    switch (type) {
    case 8: return 0;   case 0: return 8;    /* echo */
    case 13: return 14; case 14: return 13;  /* timestamp */
    case 15: return 16; case 16: return 15;  /* information */
    case 10: return 9;  case 9: return 10;   /* router solicitation/advert */
    case 17: return 18; case 18: return 17;  /* address mask */
    default: return -1;
    }
}

static int icmp6_counterpart(uint8_t type)
{
    switch (type) {
    case 128: return 129; case 129: return 128; /* echo */
    case 133: return 134; case 134: return 133; /* router */
    case 135: return 136; case 136: return 135; /* neighbor */
    case 130: return 131; case 131: return 130; /* MLD */
    case 139: return 140; case 140: return 139; /* node information */
    case 144: return 145; case 145: return 144; /* home agent discovery */
    default: return -1;
    }
}

/* Maps an ICMP type/code to the pair of "ports" the flow is keyed and hashed
 * on. Returns true when the message is one-way. */
bool icmp_ports(uint8_t proto, uint8_t type, uint8_t code, uint16_t *sport,
                uint16_t *dport)
{
    int peer = proto == 58 ? icmp6_counterpart(type) : icmp4_counterpart(type);
    *sport = type;
    *dport = peer < 0 ? code : (uint16_t)peer;
    return peer < 0;
}

void flow_community_id(const struct flow *f, uint16_t seed, char *out,
                       size_t len)
{
    const struct flow_key *k = &f->key;
    size_t alen = k->ip_version == 6 ? 16 : 4;
    const struct ip_addr *sa = flow_addr(f, 0), *da = flow_addr(f, 1);
    uint16_t sp = flow_port(f, 0), dp = flow_port(f, 1);
    bool has_ports = k->proto == 6 || k->proto == 17 || k->proto == 132 ||
                     k->proto == 1 || k->proto == 58;
    bool one_way = false;
    if (k->proto == 1 || k->proto == 58) {
        uint16_t a, b;
        one_way = icmp_ports(k->proto, (uint8_t)sp, 0, &a, &b);
    }
    int cmp = memcmp(sa->b, da->b, alen);
    if (!one_way && (cmp > 0 || (cmp == 0 && sp > dp))) {
        const struct ip_addr *t = sa;
        sa = da;
        da = t;
        uint16_t tp = sp;
        sp = dp;
        dp = tp;
    }
    uint8_t buf[2 + 32 + 2 + 4];
    size_t n = 0;
    buf[n++] = (uint8_t)(seed >> 8);
    buf[n++] = (uint8_t)seed;
    memcpy(buf + n, sa->b, alen);
    n += alen;
    memcpy(buf + n, da->b, alen);
    n += alen;
    buf[n++] = k->proto;
    buf[n++] = 0;
    if (has_ports) {
        buf[n++] = (uint8_t)(sp >> 8);
        buf[n++] = (uint8_t)sp;
        buf[n++] = (uint8_t)(dp >> 8);
        buf[n++] = (uint8_t)dp;
    }
    uint8_t md[SHA_DIGEST_LENGTH];
    digest(DIGEST_SHA1, buf, n, md);
    if (len < 32) {
        if (len)
            out[0] = 0;
        return;
    }
    memcpy(out, "1:", 2);
    EVP_EncodeBlock((unsigned char *)out + 2, md, SHA_DIGEST_LENGTH);
}
