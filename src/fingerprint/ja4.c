/* ja4.c -- JA4 of a ClientHello (see ja4.h). */
#include "fingerprint/ja4.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/digest.h"
#include "util/text.h"

static const char *version_code(uint16_t v)
{
    switch (v) {
    case 0x0304: return "13";
    case 0x0303: return "12";
    case 0x0302: return "11";
    case 0x0301: return "10";
    case 0x0300: return "s3";
    case 0x0002: return "s2";
    case 0xfeff: return "d1";
    case 0xfefd: return "d2";
    case 0xfefc: return "d3";
    default: return "00";
    }
}

static int cmp_u16(const void *a, const void *b)
{
    uint16_t x = *(const uint16_t *)a, y = *(const uint16_t *)b;
    return x < y ? -1 : x > y;
}

/* The first 12 hex characters of sha256(s). */
static void sha256_12(const char *s, size_t n, char out[13])
{
    uint8_t md[32];
    digest(DIGEST_SHA256, s, n, md);
    hex_lower(md, 6, out);
}

/* Appends "xxxx,xxxx,..." of the values; returns the new length. */
static size_t hex_list(char *buf, size_t used, size_t cap, const uint16_t *v,
                       size_t n)
{
    for (size_t i = 0; i < n && used + 6 < cap; i++) {
        if (i)
            buf[used++] = ',';
        const uint8_t be[2] = { (uint8_t)(v[i] >> 8), (uint8_t)v[i] };
        hex_lower(be, 2, buf + used); /* four digits and the NUL */
        used += 4;
    }
    return used;
}

/* First and last character of the first ALPN value. FoxIO's reference
 * implementation, which produced the expected values we test against,
 * reads them from tshark's text of the value: a byte outside ASCII shows
 * as a replacement character and becomes '9', and a one-character value
 * has no last character ('0'). The written spec differs in both corners
 * (hex digits; the character twice); docs/fingerprints.md says so. */
static void alpn_code(const struct tls_client_hello *ch, char out[3])
{
    out[0] = out[1] = '0';
    out[2] = 0;
    if (ch->n_alpn == 0 || ch->alpn0_full_len == 0)
        return;
    uint8_t first = ch->alpn[0][0], last = ch->alpn0_last;
    out[0] = first < 0x80 ? (char)first : '9';
    if (ch->alpn0_full_len > 1)
        out[1] = last < 0x80 ? (char)last : '9';
}

void ja4_client(const struct tls_client_hello *ch, char proto, char out[JA4_LEN])
{
    uint16_t version = 0;
    for (unsigned i = 0; i < ch->n_versions; i++)
        if (!tls_is_grease(ch->versions[i]) && ch->versions[i] > version)
            version = ch->versions[i];
    if (!version)
        version = ch->legacy_version;

    uint16_t ciphers[TLS_MAX_LIST], exts[TLS_MAX_LIST], sigs[TLS_MAX_LIST];
    size_t nc = 0, ne = 0, ns = 0, ne_all = 0;
    for (unsigned i = 0; i < ch->n_ciphers; i++)
        if (!tls_is_grease(ch->ciphers[i]))
            ciphers[nc++] = ch->ciphers[i];
    for (unsigned i = 0; i < ch->n_exts; i++) {
        uint16_t e = ch->exts[i];
        if (tls_is_grease(e))
            continue;
        ne_all++;
        if (e != 0x0000 && e != 0x0010)
            exts[ne++] = e;
    }
    for (unsigned i = 0; i < ch->n_sig_algs; i++)
        if (!tls_is_grease(ch->sig_algs[i]))
            sigs[ns++] = ch->sig_algs[i];
    qsort(ciphers, nc, sizeof(ciphers[0]), cmp_u16);
    qsort(exts, ne, sizeof(exts[0]), cmp_u16);

    char alpn[3];
    alpn_code(ch, alpn);
    char a[16];
    snprintf(a, sizeof(a), "%c%s%c%02u%02u%s", proto, version_code(version),
             ch->has_sni ? 'd' : 'i', (unsigned)(nc > 99 ? 99 : nc),
             (unsigned)(ne_all > 99 ? 99 : ne_all), alpn);

    char list[TLS_MAX_LIST * 5 * 2 + 8];
    char b[13] = "000000000000", c[13] = "000000000000";
    if (nc) {
        size_t n = hex_list(list, 0, sizeof(list), ciphers, nc);
        sha256_12(list, n, b);
    }
    if (ne) {
        size_t n = hex_list(list, 0, sizeof(list), exts, ne);
        if (ns) {
            list[n++] = '_';
            n = hex_list(list, n, sizeof(list), sigs, ns);
        }
        sha256_12(list, n, c);
    }
    snprintf(out, JA4_LEN, "%s_%s_%s", a, b, c);
}
