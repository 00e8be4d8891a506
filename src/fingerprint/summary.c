/* summary.c -- a session's summary for flow records (see summary.h). */
#include "fingerprint/summary.h"

#include <string.h>

#include "fingerprint/ja3.h"

_Static_assert(sizeof(struct tls_summary) <= TLS_SMALL_OBJ,
               "a summary must fit the pool's small objects");

void tls_summarize(const struct tls_session *s, struct tls_summary *out)
{
    static char str[JA3_STR_MAX];
    memset(out, 0, sizeof(*out));
    memcpy(out->sni, s->ch.sni, sizeof(out->sni));
    out->quic = s->quic.is_quic;
    out->dtls = s->dtls;
    out->complete = s->complete;
    if (s->have_ch) {
        if (!s->ch.sslv2) {
            ja3_client(&s->ch, str, sizeof(str), out->ja3);
            out->has_ja3 = true;
        }
        ja4_client(&s->ch, out->quic ? 'q' : out->dtls ? 'd' : 't', out->ja4);
        out->has_ja4 = true;
    }
    if (s->have_sh_first) {
        ja3_server(&s->sh_first, str, sizeof(str), out->ja3s);
        out->has_ja3s = true;
    }
    if (s->have_sh) {
        out->version = s->sh.selected_version;
        out->cipher = s->sh.cipher;
        out->has_cipher = true;
    } else if (s->have_ch) {
        out->version = s->ch.legacy_version;
    }
    if (s->n_certs) {
        memcpy(out->leaf_sha1, s->certs[0].sha1, 20);
        out->self_signed = s->certs[0].self_signed;
        out->has_leaf = true;
    }
}
