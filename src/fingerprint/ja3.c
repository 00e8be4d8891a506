/* ja3.c -- JA3/JA3S strings and hashes (see ja3.h). */
#include "fingerprint/ja3.h"

#include <stdio.h>
#include <string.h>

#include "util/digest.h"
#include "util/text.h"

struct sbuf {
    char *p;
    size_t len, used;
};

static void sb_put(struct sbuf *b, const char *s)
{
    size_t n = strlen(s);
    if (b->used + n + 1 > b->len)
        n = b->len > b->used + 1 ? b->len - b->used - 1 : 0;
    memcpy(b->p + b->used, s, n);
    b->used += n;
    b->p[b->used] = 0;
}

/* v in decimal, after sep when sep is not 0. */
static void sb_num(struct sbuf *b, unsigned v, char sep)
{
    char num[16], *end = num + sizeof(num) - 1;
    *end = 0;
    char *p = text_u64(v, end);
    if (sep)
        *--p = sep;
    sb_put(b, p);
}

static void sb_u16_list(struct sbuf *b, const uint16_t *v, size_t n)
{
    bool first = true;
    for (size_t i = 0; i < n; i++) {
        if (tls_is_grease(v[i]))
            continue;
        sb_num(b, v[i], first ? 0 : '-');
        first = false;
    }
}

static void md5_hex(const char *s, char hash[33])
{
    uint8_t md[16];
    digest(DIGEST_MD5, s, strlen(s), md);
    hex_lower(md, sizeof(md), hash);
}

void ja3_client(const struct tls_client_hello *ch, char *str, size_t len,
                char hash[33])
{
    struct sbuf b = { str, len, 0 };
    str[0] = 0;
    sb_num(&b, ch->legacy_version, 0);
    sb_put(&b, ",");
    sb_u16_list(&b, ch->ciphers, ch->n_ciphers);
    sb_put(&b, ",");
    sb_u16_list(&b, ch->exts, ch->n_exts);
    sb_put(&b, ",");
    sb_u16_list(&b, ch->groups, ch->n_groups);
    sb_put(&b, ",");
    for (unsigned i = 0; i < ch->n_ec_formats; i++)
        sb_num(&b, ch->ec_formats[i], i ? '-' : 0);
    md5_hex(str, hash);
}

void ja3_server(const struct tls_server_hello *sh, char *str, size_t len,
                char hash[33])
{
    struct sbuf b = { str, len, 0 };
    str[0] = 0;
    sb_num(&b, sh->legacy_version, 0);
    sb_num(&b, sh->cipher, ',');
    sb_put(&b, ",");
    sb_u16_list(&b, sh->exts, sh->n_exts);
    md5_hex(str, hash);
}
