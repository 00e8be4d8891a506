/* fuzz_app.c -- libFuzzer target for the cleartext application parsers:
 * DNS messages, HTTP/1.x streams (framing, chunks, gzip/deflate), SMTP
 * sessions and the MIME messages they carry, FTP control channels, and
 * MS-RPC client streams (on TCP, and in SMB1/SMB2 records).
 * Direction 0 is the client's: a conversation the server opens starts
 * with the 0xff marker.
 *
 * The first byte picks the parser; for the stream parsers the rest is cut
 * into chunks at the positions the following bytes choose, alternating
 * directions where a marker byte says so, so the state machines see every
 * split of their input. Small limits make the caps (files, decompression,
 * messages) reachable. Transactions and files are checked for the
 * invariants the callers rely on. In the FTP mode a "PASS <canary>" line
 * is slipped into the client's side at the first turn from client to
 * server that finds the client at a line start; the canary must then be
 * nowhere in the parser's state nor in any transaction.
 *
 * NJ_FUZZ_APP_MODE=dns|http|smtp|mime|ftp|dcerpc|smb keeps every input on
 * one parser.
 */
#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proto/dcerpc.h"
#include "proto/dns.h"
#include "proto/ftp.h"
#include "proto/http.h"
#include "proto/mime.h"
#include "proto/smtp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

#define MODES 7
static int forced_mode = -1;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    static const char *const names[MODES] = { "dns", "http", "smtp", "mime", "ftp",
                                              "dcerpc", "smb" };
    const char *m = getenv("NJ_FUZZ_APP_MODE");
    for (int i = 0; m && i < MODES; i++)
        if (!strcmp(m, names[i]))
            forced_mode = i;
    return 0;
}

static struct file_buffers bufs;
static volatile uint8_t sink;

static void on_file(void *ctx, const struct http_tx *tx, int dir,
                    struct nj_file *f)
{
    (void)ctx;
    (void)dir;
    assert(tx->seq > 0);
    assert(f->len <= f->max);
    struct content_result r;
    file_end(f, NULL, &r);
}

static void on_http_tx(void *ctx, const struct http_tx *tx)
{
    (void)ctx;
    assert(strlen(tx->uri) < sizeof(tx->uri));
    assert(strlen(tx->host) < sizeof(tx->host));
}

static void on_attachment(void *ctx, const char *name, const char *type,
                          const uint8_t *d, size_t n)
{
    (void)ctx;
    (void)type;
    assert(strlen(name) < 256);
    for (size_t i = 0; i < n; i++) /* the buffer must be readable */
        sink ^= d[i];
}

static void on_smtp_tx(void *ctx, const struct smtp_tx *tx, const uint8_t *msg,
                       size_t len)
{
    (void)ctx;
    static struct email_info em;
    static struct mime_stats mst;
    assert(tx->n_rcpt <= SMTP_MAX_RCPT);
    if (msg)
        mime_parse(msg, len, &em, on_attachment, NULL, &mst);
}

/* Feeds data in chunks: a byte 0xff flips the direction, other bytes are
 * data; chunk lengths come from the low bits of the bytes themselves. */
static void chunks(const uint8_t *d, size_t n,
                   void (*feed)(void *, int, const uint8_t *, size_t), void *st)
{
    int dir = 0;
    size_t i = 0;
    while (i < n) {
        if (d[i] == 0xff) {
            dir ^= 1;
            i++;
            continue;
        }
        size_t len = 1 + (d[i] & 0x3f);
        size_t end = i;
        while (end < n && end - i < len && d[end] != 0xff)
            end++;
        feed(st, dir, d + i, end - i);
        i = end;
    }
}

static const struct http_callbacks http_cb = { on_file, on_http_tx };
static struct http_limits lim = { 4096, 1 << 20, 50, &bufs, 0 };
static struct http_stats hst;

static void http_chunk(void *st, int dir, const uint8_t *d, size_t n)
{
    http_feed(st, dir, d, n, 1, &lim, &http_cb, NULL, &hst);
}

static const struct smtp_callbacks smtp_cb = { on_smtp_tx };
static struct smtp_stats sst;

static void smtp_chunk(void *st, int dir, const uint8_t *d, size_t n)
{
    smtp_feed(st, dir, d, n, 1, 8192, &smtp_cb, NULL, &sst);
}

/* --- FTP --------------------------------------------------------------- */

/* with 0xff in it, the canary cannot come from the input: 0xff there is
 * always a direction marker */
#define CANARY "\xffnj-canary\xff-password\xff"
#define CANARY_LEN (sizeof(CANARY) - 1)
static struct ftp_stats fst;

static void on_ftp_tx(void *ctx, const struct ftp_tx *tx)
{
    (void)ctx;
    assert(strlen(tx->command) < FTP_VERB_MAX);
    assert(strlen(tx->arg) < FTP_ARG_MAX);
    assert(strlen(tx->user) < FTP_USER_MAX);
    assert(tx->n_lines <= FTP_REPLY_LINES);
    assert(tx->cmd < FTP_CMD_COUNT);
    assert(tx->cmd != FTP_CMD_PASS || !tx->arg[0]); /* never the password */
    assert(tx->reply_received == (tx->reply_code != 0));
    assert(!tx->reply_code || (tx->reply_code >= 200 && tx->reply_code <= 599));
    assert(!tx->prelim_code || (tx->prelim_code >= 100 && tx->prelim_code < 200));
    for (unsigned i = 0; i < tx->n_lines; i++) {
        assert(strlen(tx->lines[i]) < FTP_REPLY_LINE_MAX);
        assert(!tx->codes[i] || (tx->codes[i] >= 100 && tx->codes[i] <= 599));
    }
    if (tx->data.port)
        assert(tx->data.server_addr ? tx->data.ip_version == 0
                                    : tx->data.ip_version == 4 || tx->data.ip_version == 6);
    assert(!memmem(tx, sizeof(*tx), CANARY, CANARY_LEN));
}

static const struct ftp_callbacks ftp_cb = { on_ftp_tx };

static void ftp_session(const uint8_t *d, size_t n)
{
    static const char pass[] = "PASS " CANARY "\r\n";
    struct ftp_state *s = ftp_state_new();
    int dir = 0;
    bool line_start = true, injected = false, client_spoke = false;
    size_t i = 0;
    uint64_t now = 1;
    while (i < n) {
        if (d[i] == 0xff) {
            dir ^= 1;
            i++;
            if (dir == 1 && client_spoke && line_start && !injected) {
                injected = true;
                ftp_feed(s, 0, (const uint8_t *)pass, sizeof(pass) - 1, now++,
                         &ftp_cb, NULL, &fst);
                assert(!memmem(s, ftp_state_size(), CANARY, CANARY_LEN));
            }
            continue;
        }
        size_t len = 1 + (d[i] & 0x3f);
        size_t end = i;
        while (end < n && end - i < len && d[end] != 0xff)
            end++;
        ftp_feed(s, dir, d + i, end - i, now++, &ftp_cb, NULL, &fst);
        if (!dir) {
            line_start = d[end - 1] == '\n';
            client_spoke = true;
        }
        i = end;
    }
    assert(!memmem(s, ftp_state_size(), CANARY, CANARY_LEN));
    if (n % 3 == 0)
        ftp_gap(s, (int)(n & 1), &ftp_cb, NULL, &fst);
    ftp_finish(s, &ftp_cb, NULL, &fst);
    ftp_state_reset(s);
    ftp_state_free(s);
}

/* --- MS-RPC ------------------------------------------------------------ */

static struct dcerpc_stats rst;

static void on_rpc_call(void *ctx, const struct dcerpc_call *c)
{
    (void)ctx;
    assert(c->iface > RPC_IF_OTHER && c->iface < RPC_IF_COUNT);
    assert(c->op > RPC_OP_NONE && c->op < RPC_OP_COUNT);
}

static void rpc_chunk(void *st, int dir, const uint8_t *d, size_t n)
{
    struct dcerpc_state *s = st;
    if (dir == 0) /* the server's side is never read */
        dcerpc_feed(s, d, n, on_rpc_call, NULL, &rst);
    assert(s->n_ctx <= DCERPC_CONTEXTS);
    assert(s->broken || !s->rec_len || s->got <= s->rec_len);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    uint8_t mode = forced_mode >= 0 ? (uint8_t)forced_mode : data[0] % MODES;
    data++;
    size--;
    if (mode == 0) {
        static struct dns_msg m;
        static struct dns_stats st;
        if (dns_parse(data, size, &m, &st)) {
            assert(m.n_rrs <= DNS_MAX_RRS);
            for (unsigned i = 0; i < m.n_rrs; i++)
                assert(strlen(m.rr[i].name) < DNS_NAME_MAX);
        }
    } else if (mode == 1) {
        struct http_state *h = http_state_new();
        chunks(data, size, http_chunk, h);
        http_gap(h, 1, size % 7, &http_cb, NULL, &hst);
        http_finish(h, &http_cb, NULL, &hst);
        http_state_reset(h);
        http_state_free(h);
    } else if (mode == 2) {
        struct smtp_state *s = smtp_state_new();
        chunks(data, size, smtp_chunk, s);
        smtp_finish(s, &smtp_cb, NULL, &sst);
        smtp_state_free(s);
    } else if (mode == 3) {
        static struct email_info em;
        static struct mime_stats mst;
        mime_parse(data, size, &em, on_attachment, NULL, &mst);
        assert(em.n_urls <= MIME_MAX_URLS);
    } else if (mode == 4) {
        ftp_session(data, size);
    } else {
        static struct dcerpc_state rs;
        dcerpc_init(&rs, mode == 6);
        chunks(data, size, rpc_chunk, &rs);
    }
    return 0;
}
