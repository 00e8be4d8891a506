/* fuzz_tls.c -- libFuzzer target for the TLS, DTLS and certificate parsers.
 *
 * The first byte picks what the rest is: a TLS byte stream cut into chunks
 * and fed to both directions of a session (record reassembly, handshake
 * messages, certificates, alerts), a sequence of DTLS datagrams, one DER
 * certificate for x509_parse, or a bare ClientHello body. Sessions come from
 * a small pool so its bound is hit too. Every fingerprint is computed on
 * whatever parsed, so the JA3/JA4 code sees hostile hellos as well.
 */
#include <stdint.h>
#include <string.h>

#include "fingerprint/ja3.h"
#include "fingerprint/ja4.h"
#include "proto/dtls.h"
#include "proto/tls.h"
#include "proto/x509.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fingerprints(const struct tls_session *s)
{
    static char str[JA3_STR_MAX];
    char hash[33], ja4[JA4_LEN];
    if (s->have_ch) {
        ja3_client(&s->ch, str, sizeof(str), hash);
        ja4_client(&s->ch, 't', ja4);
    }
    if (s->have_sh_first)
        ja3_server(&s->sh_first, str, sizeof(str), hash);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct tls_pool *pool;
    static struct tls_stats st;
    if (!pool)
        pool = tls_pool_new(4 * TLS_HS_BUF + 4 * sizeof(struct tls_session));
    if (size < 2)
        return 0;
    uint8_t mode = data[0] % 4;
    data++;
    size--;
    if (mode == 2) {
        struct x509_info x;
        x509_parse(NULL, data, size, &x);
        return 0;
    }
    if (mode == 3) {
        static struct tls_client_hello ch;
        tls_parse_client_hello(cur_make(data, size), &ch, &st);
        dtls_parse_client_hello(cur_make(data, size), &ch, &st);
        return 0;
    }
    struct tls_session *s = tls_session_new(pool, &st);
    if (!s)
        return 0;
    /* chunks: a length byte, then that many bytes, alternating direction */
    size_t off = 0;
    int dir = 0;
    while (off < size) {
        size_t n = data[off++] + 1u;
        if (n > size - off)
            n = size - off;
        if (mode == 0)
            tls_session_feed(pool, s, dir, data + off, n, &st);
        else
            dtls_datagram(pool, s, dir, data + off, n, &st);
        off += n;
        dir ^= (data[off - 1] & 1);
    }
    fingerprints(s);
    tls_session_release(pool, s);
    return 0;
}
