/* test_smtp_command.c -- the MTA's SMTP command parser and DATA reader:
 * every verb, paths and ESMTP parameters, each refusal's code, and the
 * message's end and dot-stuffing however the bytes are cut. */
#include <string.h>

#include "mta/smtp_command.h"
#include "testing.h"

static struct smtp_command c;
static struct smtp_refusal r;

static int parse(const char *line)
{
    return smtp_command_parse(line, strlen(line), false, &c, &r);
}

static void test_verbs_and_domains(void)
{
    CHECK_EQ(parse("EHLO mail.example.org"), 0);
    CHECK_EQ(c.verb, SMTP_V_EHLO);
    CHECK_STR(c.domain, "mail.example.org");
    CHECK_EQ(parse("helo [192.0.2.1]"), 0);
    CHECK_EQ(c.verb, SMTP_V_HELO);
    CHECK_EQ(parse("DATA"), 0);
    CHECK_EQ(c.verb, SMTP_V_DATA);
    CHECK_EQ(parse("quit"), 0);
    CHECK_EQ(parse("NOOP whatever"), 0);
    CHECK_EQ(parse("STARTTLS"), 0);
    CHECK_EQ(c.verb, SMTP_V_STARTTLS);
    CHECK_EQ(parse("EHLO"), 501);
    CHECK_STR(r.status, "5.5.4");
    CHECK_EQ(parse("EHLO bad_name!"), 501);
    CHECK_EQ(parse("EHLO -lead.example"), 501);
    CHECK_EQ(parse("DATA now"), 501);
    CHECK_EQ(parse("FROB x"), 500);
    CHECK_STR(r.status, "5.5.2");
}

static void test_mail_from_paths_and_parameters(void)
{
    CHECK_EQ(parse("MAIL FROM:<alice@example.org> SIZE=20480 BODY=8BITMIME"), 0);
    CHECK_EQ(c.verb, SMTP_V_MAIL);
    CHECK_STR(c.path, "alice@example.org");
    CHECK(c.has_size && c.size == 20480);
    CHECK(c.body_8bit);
    CHECK_EQ(parse("mail from: <bob@[192.0.2.9]>"), 0); /* a space, a literal */
    CHECK_STR(c.path, "bob@[192.0.2.9]");
    CHECK_EQ(parse("MAIL FROM:<>"), 0);                  /* a bounce */
    CHECK(c.null_path);
    CHECK_EQ(parse("MAIL FROM:<\"john doe\"@example.org>"), 0);
    CHECK_EQ(parse("MAIL FROM:<@relay.example:carol@example.org>"), 0);
    CHECK_STR(c.path, "carol@example.org");
    CHECK_EQ(parse("MAIL FROM:<jürgen@exämple.de> SMTPUTF8"), 0);
    CHECK(c.smtputf8);
    CHECK_EQ(parse("MAIL FROM:<jürgen@exämple.de>"), 553); /* UTF-8 needs SMTPUTF8 */
    CHECK_EQ(parse("MAIL FROM:alice@example.org"), 553);   /* no brackets */
    CHECK_EQ(parse("MAIL FROM:<alice>"), 553);
    CHECK_EQ(parse("MAIL FROM:<a..b@example.org>"), 553);
    CHECK_STR(r.status, "5.1.7");
    CHECK_EQ(parse("MAIL TO:<alice@example.org>"), 501);
    CHECK_EQ(parse("MAIL FROM:<alice@example.org> SIZE=lots"), 501);
    CHECK_EQ(parse("MAIL FROM:<alice@example.org> BODY=BINARYMIME"), 501);
    CHECK_EQ(parse("MAIL FROM:<alice@example.org> RET=FULL"), 555);
    CHECK_EQ(parse("MAIL FROM:<alice@example.org>junk"), 501);
}

static void test_rcpt_to(void)
{
    CHECK_EQ(parse("RCPT TO:<postmaster@example.net>"), 0);
    CHECK_EQ(c.verb, SMTP_V_RCPT);
    CHECK_STR(c.path, "postmaster@example.net");
    CHECK_EQ(parse("RCPT TO:<>"), 553); /* only a sender may be null */
    /* a UTF-8 recipient only in a transaction that declared SMTPUTF8 */
    const char *u = "RCPT TO:<jörg@exämple.de>";
    CHECK_EQ(smtp_command_parse(u, strlen(u), false, &c, &r), 553);
    CHECK_EQ(smtp_command_parse(u, strlen(u), true, &c, &r), 0);
    CHECK_STR(c.path, "jörg@exämple.de");
    CHECK_EQ(parse("RCPT TO:<a@example.net> NOTIFY=NEVER"), 555);
    char longest[600];
    memset(longest, 'a', sizeof(longest) - 1);
    longest[sizeof(longest) - 1] = '\0';
    CHECK_EQ(parse(longest), 500);
    CHECK_STR(r.status, "5.5.6");
}

/* --- DATA ------------------------------------------------------------ */

static char out[8192];
static size_t out_len;

static void collect(void *ctx, const uint8_t *d, size_t n)
{
    (void)ctx;
    memcpy(out + out_len, d, n);
    out_len += n;
}

/* feeds in pieces of `piece` bytes; returns the bytes consumed in all */
static size_t feed(struct smtp_data *s, const char *msg, size_t piece)
{
    size_t n = strlen(msg), i = 0;
    while (i < n && !s->done) {
        size_t k = n - i < piece ? n - i : piece;
        i += smtp_data_feed(s, (const uint8_t *)msg + i, k, collect, NULL);
    }
    return i;
}

static void test_data_end_and_dot_stuffing_in_any_pieces(void)
{
    const char *msg = "Subject: x\r\n\r\n..leading dot\r\n.x stuffed too\r\n"
                      "a . in the middle\r\n.\r\nMAIL FROM:<next@example.org>\r\n";
    const char *want = "Subject: x\r\n\r\n.leading dot\r\nx stuffed too\r\n"
                       "a . in the middle\r\n";
    size_t end = strlen(msg) - strlen("MAIL FROM:<next@example.org>\r\n");
    for (size_t piece = 1; piece <= 9; piece++) {
        struct smtp_data s;
        smtp_data_begin(&s);
        out_len = 0;
        CHECK_EQ(feed(&s, msg, piece), end);
        CHECK(s.done);
        CHECK_EQ(out_len, strlen(want));
        CHECK(!memcmp(out, want, strlen(want)));
        CHECK_EQ(s.bytes, strlen(want));
        CHECK(!s.line_too_long);
    }
}

static void test_data_edge_lines(void)
{
    struct smtp_data s;
    /* the empty message */
    smtp_data_begin(&s);
    out_len = 0;
    CHECK_EQ(feed(&s, ".\r\n", 1), 3);
    CHECK(s.done && out_len == 0);
    /* a bare LF ends a line, and ".\n" the message */
    smtp_data_begin(&s);
    out_len = 0;
    feed(&s, "a\nb\n.\n", 2);
    CHECK(s.done);
    CHECK_EQ(out_len, 4);
    /* ".\r" then something else: the dot goes, "\r" and the rest stay */
    smtp_data_begin(&s);
    out_len = 0;
    feed(&s, ".\rx\r\n.\r\n", 1);
    CHECK(s.done);
    CHECK_EQ(out_len, 4);
    CHECK(!memcmp(out, "\rx\r\n", 4));
    /* a 1001-byte line is too long; 1000 is not */
    static char big[2100];
    memset(big, 'y', 998);
    memcpy(big + 998, "\r\n.\r\n", 6);
    smtp_data_begin(&s);
    out_len = 0;
    feed(&s, big, 4096);
    CHECK(!s.line_too_long);
    memset(big, 'y', 999);
    memcpy(big + 999, "\r\n.\r\n", 6);
    smtp_data_begin(&s);
    out_len = 0;
    feed(&s, big, 4096);
    CHECK(s.line_too_long);
}

TEST_LIST(test_verbs_and_domains, test_mail_from_paths_and_parameters,
          test_rcpt_to, test_data_end_and_dot_stuffing_in_any_pieces,
          test_data_edge_lines)
