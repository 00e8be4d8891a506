/* test_mta_bounce.c -- the delivery status notification nightjar-mta sends
 * a sender: its headers (from MAILER-DAEMON, Auto-Submitted), the
 * multipart/report with the human part, message/delivery-status (a
 * Status from the reply's enhanced code, 5.0.0 without one, 4.4.7 for an
 * expired mail) and the failed mail's header as text/rfc822-headers
 * (bare LF made CRLF, the body left out); the envelope from the null
 * sender; recipients past the cap counted, reply text kept on one line. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mta/mta_bounce.h"
#include "testing.h"

static char path[64];

static void message(const char *text)
{
    snprintf(path, sizeof(path), "/tmp/nj-bounce-XXXXXX");
    int fd = mkstemp(path);
    REQUIRE(fd >= 0);
    REQUIRE(write(fd, text, strlen(text)) == (ssize_t)strlen(text));
    close(fd);
}

static struct queue_envelope env(void)
{
    struct queue_envelope e;
    memset(&e, 0, sizeof(e));
    snprintf(e.from, sizeof(e.from), "alice@example.org");
    e.n_rcpt = 2;
    snprintf(e.rcpt[0], sizeof(e.rcpt[0]), "bob@example.net");
    snprintf(e.rcpt[1], sizeof(e.rcpt[1]), "carol@example.net");
    e.arrived_usec = 1764583200ull * 1000000u; /* Mon, 01 Dec 2025 10:00:00 */
    return e;
}

static bool has(const struct buf *b, const char *s)
{
    return memmem(b->p, b->len, s, strlen(s)) != NULL;
}

static void test_a_refused_recipient(void)
{
    message("Subject: the report\nFrom: alice@example.org\n\nthe body, never sent back\n");
    struct queue_envelope e = env();
    struct bounce b = { 0 };
    bounce_add(&b, "carol@example.net", "550 5.1.1 <carol@example.net>: no such\r\nuser");
    struct buf out = { 0 };
    REQUIRE(bounce_build(&out, "mx.example.org", "Q123", &e, path, &b,
                         1764586800ull * 1000000u));
    CHECK(has(&out, "From: Mail Delivery System <MAILER-DAEMON@mx.example.org>\r\n"));
    CHECK(has(&out, "To: <alice@example.org>\r\n"));
    CHECK(has(&out, "Auto-Submitted: auto-replied\r\n"));
    CHECK(has(&out, "Date: Mon, 01 Dec 2025 11:00:00 +0000\r\n"));
    CHECK(has(&out, "Content-Type: multipart/report; report-type=delivery-status;\r\n"
                    "\tboundary=\"nj-dsn-Q123\"\r\n"));
    CHECK(has(&out, "Reporting-MTA: dns; mx.example.org\r\n"));
    CHECK(has(&out, "Arrival-Date: Mon, 01 Dec 2025 10:00:00 +0000\r\n"));
    CHECK(has(&out, "\r\nFinal-Recipient: rfc822; carol@example.net\r\nAction: failed\r\n"
                    "Status: 5.1.1\r\nDiagnostic-Code: smtp; 550 5.1.1 "
                    "<carol@example.net>: no such  user\r\n"));
    CHECK(!has(&out, "bob@example.net"));
    CHECK(has(&out, "Content-Type: text/rfc822-headers\r\n\r\nSubject: the report\r\n"
                    "From: alice@example.org\r\n\r\n--nj-dsn-Q123--\r\n"));
    CHECK(!has(&out, "the body"));
    CHECK(out.len > 2 && !memcmp(out.p + out.len - 2, "\r\n", 2));
    buf_free(&out);
    unlink(path);
}

static void test_status_codes_and_expiry(void)
{
    message("Subject: x\r\n\r\nbody\r\n");
    struct queue_envelope e = env();
    struct bounce b = { 0 };
    bounce_add(&b, "bob@example.net", "554 Transaction failed");
    struct buf out = { 0 };
    REQUIRE(bounce_build(&out, "mx", "Q1", &e, path, &b, e.arrived_usec));
    CHECK(has(&out, "Status: 5.0.0\r\n"));
    struct bounce x = { .expired = true };
    bounce_add(&x, "bob@example.net", "undelivered for longer than mta.hold-after (432000 s)");
    REQUIRE(bounce_build(&out, "mx", "Q1", &e, path, &x, e.arrived_usec));
    CHECK(has(&out, "Status: 4.4.7\r\n"));
    CHECK(has(&out, "could not be delivered in time and was given up"));
    buf_free(&out);
    unlink(path);
}

static void test_caps_and_the_envelope(void)
{
    struct bounce b = { 0 };
    for (int i = 0; i < BOUNCE_RCPTS_MAX + 3; i++)
        bounce_add(&b, "r@example.net", "550 5.1.1 no");
    CHECK_EQ(b.n, BOUNCE_RCPTS_MAX);
    CHECK_EQ(b.more, 3);
    message("");
    struct queue_envelope e = env(), be;
    struct buf out = { 0 };
    REQUIRE(bounce_build(&out, "mx", "Q2", &e, path, &b, e.arrived_usec));
    CHECK(has(&out, "  and 3 more recipients\r\n"));
    CHECK(has(&out, "(the message could not be read back)\r\n"));
    bounce_envelope(&be, &e, "mx", 5);
    CHECK_STR(be.from, "");
    CHECK_EQ(be.n_rcpt, 1);
    CHECK_STR(be.rcpt[0], "alice@example.org");
    CHECK_STR(be.verdict, "clean");
    CHECK_EQ(be.arrived_usec, 5);
    buf_free(&out);
    unlink(path);
}

TEST_LIST(test_a_refused_recipient, test_status_codes_and_expiry, test_caps_and_the_envelope);
