/* test_smtp_mime.c -- SMTP sessions (pipelining, AUTH, dot-stuffing, BDAT,
 * STARTTLS, refusals) and the MIME messages they carry (nesting, encodings,
 * RFC 2047 / 2231 names, URLs, caps). */
#include "proto/mime.h"
#include "proto/smtp.h"
#include "testing.h"

static struct smtp_stats st;
static struct smtp_tx txs[4];
static char msgs[4][4096];
static size_t msg_lens[4];
static int ntx;

static void on_tx(void *ctx, const struct smtp_tx *tx, const uint8_t *msg,
                  size_t len)
{
    (void)ctx;
    if (ntx >= 4)
        return;
    txs[ntx] = *tx;
    msg_lens[ntx] = msg ? len : 0;
    if (msg && len < sizeof(msgs[0]))
        memcpy(msgs[ntx], msg, len);
    ntx++;
}

static const struct smtp_callbacks cb = { on_tx };

static bool say(struct smtp_state *s, int dir, const char *text)
{
    return smtp_feed(s, dir, (const uint8_t *)text, strlen(text), 1, 1 << 20,
                     &cb, NULL, &st);
}

static void test_session_with_pipelining_auth_and_dots(void)
{
    ntx = 0;
    struct smtp_state *s = smtp_state_new();
    say(s, 1, "220 mx.example ESMTP\r\n");
    say(s, 0, "EHLO client.example\r\n");
    say(s, 1, "250-mx.example\r\n250-PIPELINING\r\n250 AUTH PLAIN LOGIN\r\n");
    say(s, 0, "AUTH LOGIN\r\n");
    say(s, 1, "334 VXNlcm5hbWU6\r\n");
    say(s, 0, "c2VjcmV0LXVzZXI=\r\n");
    say(s, 1, "334 UGFzc3dvcmQ6\r\n");
    say(s, 0, "c2VjcmV0LXBhc3M=\r\n");
    say(s, 1, "235 ok\r\n");
    say(s, 0, "MAIL FROM:<a@example.com> SIZE=100\r\nRCPT TO:<b@example.org>\r\n"
              "RCPT TO:<nobody@example.org>\r\nDATA\r\n");
    say(s, 1, "250 ok\r\n250 ok\r\n550 no such user\r\n354 go\r\n");
    say(s, 0, "Subject: hi\r\n\r\n..leading dot\r\nline\r\n.\r\n");
    say(s, 1, "250 queued\r\n");
    say(s, 0, "QUIT\r\n");
    say(s, 1, "221 bye\r\n");
    smtp_finish(s, &cb, NULL, &st);
    CHECK_EQ(ntx, 1);
    CHECK_STR(txs[0].helo, "client.example");
    CHECK_STR(txs[0].mail_from, "a@example.com");
    CHECK_EQ(txs[0].n_rcpt, 2);
    CHECK_STR(txs[0].rcpt_to[1], "nobody@example.org");
    CHECK_EQ(txs[0].rcpt_rejected, 1);
    CHECK_STR(txs[0].auth_mech, "LOGIN");
    CHECK_EQ(txs[0].last_reply, 250);
    CHECK(txs[0].message_complete);
    CHECK_EQ(msg_lens[0], strlen("Subject: hi\r\n\r\n.leading dot\r\nline\r\n"));
    CHECK(memcmp(msgs[0], "Subject: hi\r\n\r\n.leading dot\r\n", 29) == 0);
    /* the credentials are nowhere in what is kept */
    CHECK(memmem(s, smtp_state_size(), "c2VjcmV0", 8) == NULL);
    CHECK(memmem(&txs[0], sizeof(txs[0]), "c2VjcmV0", 8) == NULL);
    smtp_state_free(s);
}

static void test_refused_data_and_rset(void)
{
    ntx = 0;
    struct smtp_state *s = smtp_state_new();
    say(s, 1, "220 mx\r\n");
    say(s, 0, "HELO c\r\n");
    say(s, 1, "250 mx\r\n");
    say(s, 0, "MAIL FROM:<x@y>\r\nRCPT TO:<z@w>\r\nDATA\r\n");
    say(s, 1, "250 ok\r\n250 ok\r\n521 no mail here\r\n");
    say(s, 0, "RSET\r\nMAIL FROM:<x2@y>\r\n");
    say(s, 1, "250 ok\r\n250 ok\r\n");
    smtp_finish(s, &cb, NULL, &st);
    smtp_state_free(s);
    CHECK_EQ(ntx, 2);
    CHECK(!txs[0].has_message);
    CHECK_STR(txs[1].mail_from, "x2@y");
}

static void test_bdat_and_starttls(void)
{
    ntx = 0;
    struct smtp_state *s = smtp_state_new();
    say(s, 1, "220 mx\r\n");
    say(s, 0, "EHLO c\r\nMAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\nBDAT 10\r\n0123456789BDAT 3 LAST\r\nabc");
    say(s, 1, "250 mx\r\n250 ok\r\n250 ok\r\n250 10 bytes\r\n250 done\r\n");
    CHECK_EQ(ntx, 1);
    CHECK_EQ(msg_lens[0], 13);
    CHECK(memcmp(msgs[0], "0123456789abc", 13) == 0);
    say(s, 0, "STARTTLS\r\n");
    say(s, 1, "220 go ahead\r\n");
    CHECK(!say(s, 0, "\x16\x03\x01\x02\x00")); /* TLS: parsing stops */
    smtp_state_free(s);
}

static void test_decrypted_starttls_and_impatient_client(void)
{
    ntx = 0;
    struct smtp_state *s = smtp_state_new();
    say(s, 1, "220 mx\r\n");
    say(s, 0, "EHLO c\r\nSTARTTLS\r\n");
    say(s, 1, "250 mx\r\n220 ready\r\n");
    /* a capture of the decrypted session goes on in the clear; this client
     * sends its message without waiting for the 354 */
    CHECK(say(s, 0, "EHLO c2\r\nMAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\nDATA\r\n"
                    "Subject: s\r\n\r\nbody\r\n.\r\n"));
    say(s, 1, "250 mx\r\n250 ok\r\n250 ok\r\n354 go\r\n250 queued\r\n");
    CHECK_EQ(ntx, 1);
    CHECK(txs[0].starttls);
    CHECK_STR(txs[0].helo, "c2");
    CHECK_EQ(msg_lens[0], strlen("Subject: s\r\n\r\nbody\r\n"));
    smtp_state_free(s);
    /* a session that only says hello and upgrades still gets a record */
    ntx = 0;
    s = smtp_state_new();
    say(s, 1, "220 mx\r\n");
    say(s, 0, "EHLO only.example\r\nSTARTTLS\r\n");
    say(s, 1, "250 mx\r\n220 ready\r\n");
    say(s, 0, "\x16\x03\x01\x00\x05hello");
    smtp_finish(s, &cb, NULL, &st);
    CHECK_EQ(ntx, 1);
    CHECK_STR(txs[0].helo, "only.example");
    CHECK(txs[0].starttls);
    smtp_state_free(s);
}

static struct mime_stats mst;
static struct email_info em;
static char att_names[8][64];
static size_t att_lens[8];
static char att_data[8][64];
static int natt;

static void on_att(void *ctx, const char *name, const char *type,
                   const uint8_t *d, size_t n)
{
    (void)ctx;
    (void)type;
    if (natt >= 8)
        return;
    snprintf(att_names[natt], 64, "%s", name);
    att_lens[natt] = n;
    memcpy(att_data[natt], d, n < 63 ? n : 63);
    natt++;
}

static const char nested[] =
    "From: \"Doe, John\" <john@example.com>\r\n"
    "To: a@example.org, \"B\" <b@example.org>\r\n"
    "Cc: c@example.net\r\n"
    "Subject: =?ISO-8859-1?Q?Caf=E9?= =?UTF-8?B?IOKCrA==?=\r\n"
    " folded\r\n"
    "Message-ID: <id-1@example.com>\r\n"
    "X-Mailer: unit\r\n"
    "MIME-Version: 1.0\r\n"
    "Content-Type: multipart/mixed; boundary=\"outer\"\r\n"
    "\r\n"
    "preamble\r\n"
    "--outer\r\n"
    "Content-Type: multipart/alternative; boundary=inner\r\n"
    "\r\n"
    "--inner\r\n"
    "Content-Type: text/plain; charset=us-ascii\r\n"
    "Content-Transfer-Encoding: quoted-printable\r\n"
    "\r\n"
    "Visit http://evil.example/path?a=3D1 now.=\r\n"
    "\r\n"
    "--inner\r\n"
    "Content-Type: text/html\r\n"
    "\r\n"
    "<a href=\"https://x.example/q?a=1&amp;b=2\">x</a>\r\n"
    "--inner--\r\n"
    "--outer\r\n"
    "Content-Type: application/octet-stream; name=\"ignored.bin\"\r\n"
    "Content-Disposition: attachment;\r\n"
    " filename*0*=UTF-8''r%C3%A9sum;\r\n"
    " filename*1=\"e.pdf\"\r\n"
    "Content-Transfer-Encoding: base64\r\n"
    "\r\n"
    "aGVsbG8g\r\n"
    "d29ybGQ=\r\n"
    "--outer\r\n"
    "Content-Type: message/rfc822\r\n"
    "\r\n"
    "Subject: inner mail\r\n"
    "Content-Type: application/zip; name=\"=?UTF-8?Q?a=5Fb.zip?=\"\r\n"
    "\r\n"
    "PK\x03\x04zip\r\n"
    "--outer--\r\n"
    "epilogue\r\n";

static void test_nested_message(void)
{
    natt = 0;
    mime_parse((const uint8_t *)nested, sizeof(nested) - 1, &em, on_att, NULL, &mst);
    CHECK_STR(em.from, "john@example.com");
    CHECK_EQ(em.n_to, 2);
    CHECK_STR(em.to[0], "a@example.org");
    CHECK_STR(em.to[1], "b@example.org");
    CHECK_EQ(em.n_cc, 1);
    CHECK_STR(em.subject, "Caf\xc3\xa9 \xe2\x82\xac folded");
    CHECK_STR(em.message_id, "id-1@example.com");
    CHECK_STR(em.user_agent, "unit");
    CHECK_EQ(em.n_urls, 2);
    CHECK_STR(em.urls[0], "http://evil.example/path?a=1");
    CHECK_STR(em.urls[1], "https://x.example/q?a=1&b=2");
    CHECK_EQ(natt, 2);
    CHECK_STR(att_names[0], "r\xc3\xa9sume.pdf");
    CHECK_EQ(att_lens[0], 11);
    CHECK(memcmp(att_data[0], "hello world", 11) == 0);
    CHECK_STR(att_names[1], "a_b.zip");
    CHECK_EQ(em.n_attachments, 2);
}

static void test_depth_cap(void)
{
    static char deep[8192];
    size_t n = 0;
    for (int i = 0; i < 20; i++)
        n += (size_t)snprintf(deep + n, sizeof(deep) - n,
                              "Content-Type: multipart/mixed; boundary=b%d\r\n\r\n--b%d\r\n",
                              i, i);
    n += (size_t)snprintf(deep + n, sizeof(deep) - n, "Content-Type: text/plain\r\n\r\nx\r\n");
    uint64_t before = mst.depth_over_cap;
    mime_parse((const uint8_t *)deep, n, &em, NULL, NULL, &mst);
    CHECK(em.depth_over_cap);
    CHECK_EQ(mst.depth_over_cap, before + 1);
}

static void test_decoders(void)
{
    uint8_t out[64];
    CHECK_EQ(mime_base64_decode((const uint8_t *)"TWFu\r\nTQ==", 10, out), 4);
    CHECK(memcmp(out, "ManM", 4) == 0);
    size_t n = mime_qp_decode((const uint8_t *)"a=3Db=\r\nc==", 11, out);
    CHECK_EQ(n, 6);
    CHECK(memcmp(out, "a=bc==", 6) == 0);
    char w[64];
    mime_decode_words("=?gb2312?B?1tDOxA==?=", 21, w, sizeof(w));
    CHECK_STR(w, "\xe4\xb8\xad\xe6\x96\x87");
    mime_decode_words("plain =?bogus?Q?x?= end", 23, w, sizeof(w));
    CHECK_STR(w, "plain x end");
}

TEST_LIST(test_session_with_pipelining_auth_and_dots, test_refused_data_and_rset,
          test_bdat_and_starttls, test_decrypted_starttls_and_impatient_client,
          test_nested_message, test_depth_cap,
          test_decoders)
