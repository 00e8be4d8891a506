/* dns.c -- DNS message parser (see dns.h). */
#include "proto/dns.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include "util/cursor.h"

#define DNS_MAX_JUMPS 32

/* Appends one label in presentation form: dots and backslashes escaped,
 * bytes outside printable ASCII as \DDD (as dig writes them). */
static bool put_label(char *out, size_t outlen, size_t *pos,
                      const uint8_t *lab, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        uint8_t ch = lab[i];
        char tmp[5];
        size_t tl;
        if (ch == '.' || ch == '\\') {
            tmp[0] = '\\';
            tmp[1] = (char)ch;
            tl = 2;
        } else if (ch <= 0x20 || ch >= 0x7f) {
            snprintf(tmp, sizeof(tmp), "\\%03u", ch);
            tl = 4;
        } else {
            tmp[0] = (char)ch;
            tl = 1;
        }
        if (*pos + tl >= outlen)
            return false;
        memcpy(out + *pos, tmp, tl);
        *pos += tl;
    }
    return true;
}

size_t dns_read_name(const uint8_t *msg, size_t len, size_t off, char *out,
                     size_t outlen, const char **why)
{
    size_t pos = 0, end_off = 0, wire_len = 0;
    size_t floor = off; /* a pointer must point before the current label */
    int jumps = 0;
    out[0] = '\0';
    for (;;) {
        if (off >= len) {
            *why = "truncated_message";
            return 0;
        }
        uint8_t l = msg[off];
        if ((l & 0xc0) == 0xc0) {
            if (off + 1 >= len) {
                *why = "truncated_message";
                return 0;
            }
            size_t target = ((size_t)(l & 0x3f) << 8) | msg[off + 1];
            if (!end_off)
                end_off = off + 2;
            if (target >= floor) {
                *why = target >= len ? "bad_pointer" : "name_loop";
                return 0;
            }
            if (++jumps > DNS_MAX_JUMPS) {
                *why = "name_loop";
                return 0;
            }
            off = floor = target;
            continue;
        }
        if (l & 0xc0) { /* 0x40/0x80: extended label types, obsolete */
            *why = "bad_name";
            return 0;
        }
        if (l == 0) {
            if (!end_off)
                end_off = off + 1;
            break;
        }
        if (off + 1 + l > len) {
            *why = "truncated_message";
            return 0;
        }
        wire_len += l + 1u;
        if (wire_len > 255) {
            *why = "bad_name";
            return 0;
        }
        if (pos && pos + 1 < outlen)
            out[pos++] = '.';
        if (!put_label(out, outlen, &pos, msg + off + 1, l)) {
            *why = "bad_name";
            return 0;
        }
        off += 1u + l;
    }
    if (pos == 0 && outlen > 1) { /* the root */
        out[0] = '.';
        pos = 1;
    }
    out[pos] = '\0';
    return end_off;
}

static const struct { uint16_t type; const char *name; } rrtypes[] = {
    { 1, "A" }, { 2, "NS" }, { 5, "CNAME" }, { 6, "SOA" }, { 10, "NULL" },
    { 12, "PTR" }, { 13, "HINFO" }, { 15, "MX" }, { 16, "TXT" },
    { 17, "RP" }, { 24, "SIG" }, { 25, "KEY" }, { 28, "AAAA" },
    { 29, "LOC" }, { 33, "SRV" }, { 35, "NAPTR" }, { 39, "DNAME" },
    { 41, "OPT" }, { 43, "DS" }, { 46, "RRSIG" }, { 47, "NSEC" },
    { 48, "DNSKEY" }, { 50, "NSEC3" }, { 51, "NSEC3PARAM" }, { 52, "TLSA" },
    { 64, "SVCB" }, { 65, "HTTPS" }, { 99, "SPF" }, { 249, "TKEY" },
    { 250, "TSIG" }, { 251, "IXFR" }, { 252, "AXFR" }, { 255, "ANY" },
    { 256, "URI" }, { 257, "CAA" },
};

const char *dns_type_name(uint16_t type, char *buf, size_t len)
{
    for (size_t i = 0; i < sizeof(rrtypes) / sizeof(rrtypes[0]); i++)
        if (rrtypes[i].type == type)
            return rrtypes[i].name;
    snprintf(buf, len, "%u", type);
    return buf;
}

const char *dns_rcode_name(uint8_t rcode, char *buf, size_t len)
{
    static const char *const names[] = {
        "NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP", "REFUSED",
        "YXDOMAIN", "YXRRSET", "NXRRSET", "NOTAUTH", "NOTZONE",
    };
    if (rcode < sizeof(names) / sizeof(names[0]))
        return names[rcode];
    if (rcode == 16)
        return "BADVERS";
    snprintf(buf, len, "%u", rcode);
    return buf;
}

static void count_error(struct dns_stats *st, const char *why)
{
#define DNS_COUNT(n) if (strcmp(why, #n) == 0) { st->n++; return; }
    DNS_ERRORS(DNS_COUNT)
#undef DNS_COUNT
}

/* Character-strings (TXT, HINFO) joined: several strings of one record are
 * written one after another, as SPF and DKIM readers concatenate them. */
static bool txt_data(cursor_t c, char *out, size_t outlen)
{
    size_t pos = 0;
    while (cur_left(&c)) {
        uint8_t n = cur_u8(&c);
        const uint8_t *s = cur_bytes(&c, n);
        if (!s)
            return false;
        for (size_t i = 0; i < n && pos + 1 < outlen; i++)
            out[pos++] = (char)s[i];
    }
    out[pos] = '\0';
    return true;
}

static size_t appendf(char *out, size_t outlen, size_t pos, const char *s)
{
    size_t n = strlen(s);
    if (pos + n >= outlen)
        n = pos < outlen ? outlen - pos - 1 : 0;
    memcpy(out + pos, s, n);
    out[pos + n] = '\0';
    return pos + n;
}

/* SVCB/HTTPS parameters in presentation form (RFC 9460 section 2.1). */
static bool svcb_params(cursor_t c, char *out, size_t outlen, size_t pos)
{
    static const char *const keys[] = { "mandatory", "alpn", "no-default-alpn",
                                        "port", "ipv4hint", "ech", "ipv6hint" };
    while (cur_left(&c)) {
        uint16_t key = cur_u16be(&c);
        uint16_t vlen = cur_u16be(&c);
        cursor_t v = cur_sub(&c, vlen);
        if (!cur_ok(&v))
            return false;
        char tmp[64];
        if (key < sizeof(keys) / sizeof(keys[0]))
            snprintf(tmp, sizeof(tmp), " %s", keys[key]);
        else
            snprintf(tmp, sizeof(tmp), " key%u", key);
        pos = appendf(out, outlen, pos, tmp);
        if (key == 1) { /* alpn: length-prefixed ids */
            char sep = '=';
            while (cur_left(&v)) {
                uint8_t n = cur_u8(&v);
                const uint8_t *id = cur_bytes(&v, n);
                if (!id)
                    return false;
                tmp[0] = sep;
                size_t k = n < sizeof(tmp) - 2 ? n : sizeof(tmp) - 2;
                memcpy(tmp + 1, id, k);
                tmp[1 + k] = '\0';
                pos = appendf(out, outlen, pos, tmp);
                sep = ',';
            }
        } else if (key == 3 && vlen == 2) {
            snprintf(tmp, sizeof(tmp), "=%u", cur_u16be(&v));
            pos = appendf(out, outlen, pos, tmp);
        } else if ((key == 4 && vlen % 4 == 0) || (key == 6 && vlen % 16 == 0)) {
            int af = key == 4 ? AF_INET : AF_INET6;
            size_t alen = key == 4 ? 4 : 16;
            char sep = '=';
            while (cur_left(&v)) {
                char a[INET6_ADDRSTRLEN];
                inet_ntop(af, cur_bytes(&v, alen), a, sizeof(a));
                snprintf(tmp, sizeof(tmp), "%c%s", sep, a);
                pos = appendf(out, outlen, pos, tmp);
                sep = ',';
            }
        }
    }
    return true;
}

/* Fills rr->data (and the structured fields) from the rdata at off. */
static bool parse_rdata(const uint8_t *msg, size_t len, size_t off,
                        struct dns_rr *rr, const char **why)
{
    cursor_t c = cur_make(msg + off, rr->rdlength);
    (void)len; /* names in rdata end with the rdata; pointers go backwards */
    char *d = rr->data;
    size_t dl = sizeof(rr->data);
    d[0] = '\0';
    switch (rr->type) {
    case 1:
        if (rr->rdlength != 4)
            break;
        memcpy(rr->addr, msg + off, 4);
        inet_ntop(AF_INET, rr->addr, d, (socklen_t)dl);
        return true;
    case 28:
        if (rr->rdlength != 16)
            break;
        memcpy(rr->addr, msg + off, 16);
        inet_ntop(AF_INET6, rr->addr, d, (socklen_t)dl);
        return true;
    case 2: case 5: case 12: case 39:
        return dns_read_name(msg, off + rr->rdlength, off, d, dl, why) != 0;
    case 15:
        if (rr->rdlength < 3)
            break;
        rr->num[0] = cur_u16be(&c);
        return dns_read_name(msg, off + rr->rdlength, off + 2, d, dl, why) != 0;
    case 33: {
        if (rr->rdlength < 7)
            break;
        rr->num[0] = cur_u16be(&c);
        rr->num[1] = cur_u16be(&c);
        rr->num[2] = cur_u16be(&c);
        return dns_read_name(msg, off + rr->rdlength, off + 6, d, dl, why) != 0;
    }
    case 6: {
        size_t p = dns_read_name(msg, off + rr->rdlength, off, d, dl, why);
        if (!p)
            return false;
        p = dns_read_name(msg, off + rr->rdlength, p, rr->name2,
                          sizeof(rr->name2), why);
        if (!p || p + 20 > off + rr->rdlength)
            break;
        cursor_t n = cur_make(msg + p, 20);
        for (int i = 0; i < 5; i++)
            rr->num[i] = cur_u32be(&n);
        return true;
    }
    case 16: case 13: case 99:
        if (txt_data(c, d, dl))
            return true;
        break;
    case 64: case 65: {
        if (rr->rdlength < 3)
            break;
        rr->num[0] = cur_u16be(&c);
        char target[DNS_NAME_MAX];
        size_t p = dns_read_name(msg, off + rr->rdlength, off + 2, target,
                                 sizeof(target), why);
        if (!p)
            return false;
        size_t pos = (size_t)snprintf(d, dl, "%u %s", rr->num[0], target);
        if (pos >= dl)
            pos = dl - 1;
        if (svcb_params(cur_make(msg + p, off + rr->rdlength - p), d, dl, pos))
            return true;
        break;
    }
    default:
        return true; /* logged by type number and length only */
    }
    *why = "bad_rdata";
    return false;
}

static void parse_opt(struct dns_msg *m, uint16_t rclass, uint32_t ttl)
{
    m->edns = true;
    m->edns_udp_size = rclass;
    m->rcode = (uint8_t)(m->rcode | ((ttl >> 24) << 4));
    m->edns_version = (uint8_t)(ttl >> 16);
    m->edns_do = (ttl & 0x8000) != 0;
}

static size_t parse_rr(const uint8_t *msg, size_t len, size_t off,
                       struct dns_msg *m, int section, struct dns_stats *st)
{
    const char *why = NULL;
    struct dns_rr tmp, *rr = m->n_rrs < DNS_MAX_RRS ? &m->rr[m->n_rrs] : &tmp;
    size_t p = dns_read_name(msg, len, off, rr->name, sizeof(rr->name), &why);
    if (!p || p + 10 > len) {
        count_error(st, why ? why : "truncated_message");
        return 0;
    }
    cursor_t c = cur_make(msg + p, 10);
    rr->type = cur_u16be(&c);
    rr->rclass = cur_u16be(&c);
    rr->ttl = cur_u32be(&c);
    rr->rdlength = cur_u16be(&c);
    rr->section = (uint8_t)section;
    p += 10;
    if (p + rr->rdlength > len) {
        st->truncated_message++;
        return 0;
    }
    if (rr->type == 41) {
        parse_opt(m, rr->rclass, rr->ttl);
        return p + rr->rdlength;
    }
    if (rr == &tmp) {
        m->rrs_over_cap++;
        st->rrs_over_cap++;
        return p + rr->rdlength;
    }
    if (!parse_rdata(msg, len, p, rr, &why)) {
        count_error(st, why ? why : "bad_rdata");
        rr->data[0] = '\0';
    }
    m->n_rrs++;
    if (section == DNS_SEC_ANSWER)
        m->n_answers++;
    return p + rr->rdlength;
}

bool dns_parse(const uint8_t *msg, size_t len, struct dns_msg *m,
               struct dns_stats *st)
{
    if (len < 12) {
        st->not_dns++;
        return false;
    }
    cursor_t c = cur_make(msg, 12);
    m->id = cur_u16be(&c);
    m->flags = cur_u16be(&c);
    m->qdcount = cur_u16be(&c);
    m->ancount = cur_u16be(&c);
    m->nscount = cur_u16be(&c);
    m->arcount = cur_u16be(&c);
    m->response = (m->flags & 0x8000) != 0;
    m->opcode = (uint8_t)((m->flags >> 11) & 0xf);
    m->rcode = (uint8_t)(m->flags & 0xf);
    m->n_questions = m->n_rrs = m->n_answers = m->rrs_over_cap = 0;
    m->edns = m->edns_do = false;
    if (m->qdcount > 64 || m->opcode > 6) {
        st->not_dns++;
        return false;
    }
    size_t off = 12;
    for (unsigned i = 0; i < m->qdcount; i++) {
        const char *why = NULL;
        struct dns_question tmpq, *q = i < DNS_MAX_QUESTIONS ? &m->q[i] : &tmpq;
        size_t p = dns_read_name(msg, len, off, q->name, sizeof(q->name), &why);
        if (!p || p + 4 > len) {
            count_error(st, why ? why : "truncated_message");
            return false;
        }
        cursor_t qc = cur_make(msg + p, 4);
        q->type = cur_u16be(&qc);
        q->qclass = cur_u16be(&qc);
        if (q != &tmpq)
            m->n_questions++;
        off = p + 4;
    }
    st->messages++;
    if (m->response)
        st->responses++;
    else
        st->queries++;
    unsigned counts[3] = { m->ancount, m->nscount, m->arcount };
    for (int s = 0; s < 3; s++)
        for (unsigned i = 0; i < counts[s]; i++) {
            size_t p = parse_rr(msg, len, off, m, s, st);
            if (!p)
                return true; /* keep what was complete */
            off = p;
        }
    return true;
}
