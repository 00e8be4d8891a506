/* fuzz_smtp_command.c -- libFuzzer target for nightjar-mta's SMTP side:
 * the first byte picks a command line for smtp_command_parse() (its
 * refusals must carry a 4xx/5xx code and a status) or a message for the
 * DATA reader, delivered in pieces of the size the second byte says; the
 * reader must never hand out more bytes than it consumed, and must stop
 * right after the end-of-data line.
 */
#include <stdlib.h>
#include <string.h>

#include "mta/smtp_command.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static size_t handed;

static void count(void *ctx, const uint8_t *d, size_t n)
{
    (void)ctx;
    (void)d;
    handed += n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    uint8_t mode = data[0], piece = (uint8_t)(data[1] % 32 + 1);
    data += 2, size -= 2;
    if (mode & 1) {
        struct smtp_command c;
        struct smtp_refusal r;
        int rc = smtp_command_parse((const char *)data, size, mode & 2, &c, &r);
        if (rc && (rc < 400 || rc > 599 || !r.status))
            abort();
        return 0;
    }
    struct smtp_data s;
    smtp_data_begin(&s);
    handed = 0;
    size_t i = 0;
    while (i < size && !s.done) {
        size_t k = size - i < piece ? size - i : piece;
        size_t used = smtp_data_feed(&s, data + i, k, count, NULL);
        if (used > k || (!used && !s.done))
            abort();
        i += used;
    }
    if (handed > i || s.bytes != handed)
        abort();
    return 0;
}
