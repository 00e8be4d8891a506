/* fuzz_decrypt.c -- libFuzzer target over passive TLS decryption: record
 * framing, the hellos and ClientKeyExchange, key derivation and record
 * opening for every suite, KeyUpdate, resumption.
 *
 * Input: 241 bytes of secrets (the length of the TLS 1.3 secrets, 32 or
 * 48; a TLS <= 1.2 master secret; the client and server handshake and
 * traffic secrets of TLS 1.3 in 48-byte slots),
 * then chunks [dir:1][len:2 big-endian][bytes]. The secrets are logged for
 * the client random the first chunk carries where a ClientHello's sits, so
 * a recorded session (fuzz/seed_decrypt.py) opens as it did live and its
 * mutations reach every layer behind the authentication checks. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "decrypt/keylog.h"
#include "decrypt/tls_decrypt.h"

#define SECRETS 241

static void hex(char *out, const uint8_t *b, size_t n)
{
    for (size_t i = 0; i < n; i++)
        sprintf(out + 2 * i, "%02x", b[i]);
}

static void on_plain(void *ctx, int dir, const uint8_t *d, size_t n)
{
    (void)ctx, (void)dir;
    volatile uint8_t sink = 0;
    for (size_t i = 0; i < n; i++)
        sink ^= d[i];
    (void)sink;
}

static void log_secrets(struct keylog *kl, const uint8_t *sec,
                        const uint8_t cr[32])
{
    static const char *labels[] = { "CLIENT_HANDSHAKE_TRAFFIC_SECRET",
                                    "SERVER_HANDSHAKE_TRAFFIC_SECRET",
                                    "CLIENT_TRAFFIC_SECRET_0",
                                    "SERVER_TRAFFIC_SECRET_0" };
    char line[300], r[65], s[97];
    size_t l13 = sec[0] == 48 ? 48 : 32;
    sec++;
    hex(r, cr, 32);
    hex(s, sec, 48);
    int n = snprintf(line, sizeof(line), "CLIENT_RANDOM %s %s\n", r, s);
    keylog_add_text(kl, line, (size_t)n, "fuzz");
    for (int i = 0; i < 4; i++) {
        hex(s, sec + 48 + 48 * i, l13);
        n = snprintf(line, sizeof(line), "%s %s %s\n", labels[i], r, s);
        keylog_add_text(kl, line, (size_t)n, "fuzz");
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < SECRETS + 3)
        return 0;
    const uint8_t *sec = data;
    data += SECRETS;
    size -= SECRETS;
    struct keylog *kl = keylog_new(16);
    uint16_t first = (uint16_t)(data[1] << 8 | data[2]);
    if (first >= 43 && size >= 3u + 43u)
        log_secrets(kl, sec, data + 3 + 11);
    struct tls_decrypt_engine *e = tls_decrypt_engine_new(kl, NULL, 1 << 22);
    struct tls_server_id srv = { { 127, 0, 0, 1 }, 443 };
    struct tls_decrypt *s = e ? tls_decrypt_new(e, &srv) : NULL;
    while (s && size >= 3) {
        int dir = data[0] & 1;
        size_t n = (size_t)(data[1] << 8 | data[2]);
        data += 3;
        size -= 3;
        if (n > size)
            n = size;
        if (data[-3] & 0x80)
            tls_decrypt_gap(e, s, dir);
        else
            tls_decrypt_feed(e, s, dir, data, n, on_plain, NULL);
        data += n;
        size -= n;
    }
    tls_decrypt_free(e, s);
    tls_decrypt_engine_free(e);
    keylog_free(kl);
    return 0;
}
