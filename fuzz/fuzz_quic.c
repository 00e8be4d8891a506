/* fuzz_quic.c -- libFuzzer target for QUIC Initial parsing.
 *
 * Random bytes never pass AES-GCM authentication, so the frame parser and
 * CRYPTO reassembly could not be reached through quic_datagram alone. This
 * target includes quic.c to reach its static functions: each input is split
 * in two, the first part goes through quic_datagram (long-header parsing,
 * coalescing, key derivation from whatever DCID it carries) and the second
 * straight to the frame parser as if it had decrypted, which drives CRYPTO
 * reassembly by offset and the ClientHello parser behind it.
 */
#include "../src/proto/quic.c"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct tls_pool *pool;
    static struct tls_stats tst;
    static struct quic_stats qst;
    if (!pool)
        pool = tls_pool_new(4 * TLS_HS_BUF + 4 * sizeof(struct tls_session));
    if (size < 2)
        return 0;
    struct tls_session *s = tls_session_new(pool, &tst);
    if (!s)
        return 0;
    size_t cut = data[0] % size;
    quic_datagram(pool, s, 0, data + 1, cut, &qst, &tst);
    int dir = data[0] & 1;
    frames(pool, s, dir, cur_make(data + 1 + cut, size - 1 - cut), &qst, &tst);
    tls_session_release(pool, s);
    return 0;
}
