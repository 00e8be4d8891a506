/* mta_bounce.c -- delivery status notifications (see mta_bounce.h). */
#include "mta/mta_bounce.h"

#include <ctype.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "util/text.h"

void bounce_add(struct bounce *b, const char *rcpt, const char *reply)
{
    if (b->n == BOUNCE_RCPTS_MAX) {
        b->more++;
        return;
    }
    text_copy(b->r[b->n].rcpt, sizeof(b->r[b->n].rcpt), rcpt, strlen(rcpt));
    text_copy(b->r[b->n].reply, sizeof(b->r[b->n].reply), reply, strlen(reply));
    for (char *p = b->r[b->n].reply; *p; p++) /* one header line */
        if (*p == '\r' || *p == '\n' || (unsigned char)*p < 0x20 || (unsigned char)*p > 0x7e)
            *p = ' ';
    b->n++;
}

/* RFC 5322 date-time, in UTC. */
static void mail_date(uint64_t usec, char *out, size_t n)
{
    time_t t = (time_t)(usec / 1000000u);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, n, "%a, %d %b %Y %H:%M:%S +0000", &tm);
}

/* The enhanced status code at the start of a reply's text ("550 5.1.1
 * ..."), else the class's generic one. */
static void status_of(const char *reply, bool expired, char *out, size_t n)
{
    if (expired) {
        snprintf(out, n, "4.4.7");
        return;
    }
    const char *p = reply;
    while (isdigit((unsigned char)*p))
        p++;
    while (*p == ' ' || *p == '-')
        p++;
    unsigned a, b, c;
    int used = 0;
    if (sscanf(p, "%1u.%3u.%3u%n", &a, &b, &c, &used) == 3 && used > 0 && (a == 4 || a == 5)) {
        snprintf(out, n, "%u.%u.%u", a, b, c);
        return;
    }
    snprintf(out, n, "5.0.0");
}

/* The failed message's header (up to its blank line), CRLF-terminated
 * lines, at most BOUNCE_HEADER_MAX bytes. */
static bool add_header(struct buf *out, const char *path)
{
    char h[BOUNCE_HEADER_MAX];
    size_t got = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
        ssize_t r;
        while (got < sizeof(h) && (r = read(fd, h + got, sizeof(h) - got)) > 0)
            got += (size_t)r;
        close(fd);
    }
    size_t end = got;
    for (size_t i = 0; i + 1 < got; i++)
        if (h[i] == '\n' && (h[i + 1] == '\n' || (h[i + 1] == '\r' && i + 2 < got &&
                                                  h[i + 2] == '\n'))) {
            end = i + 1;
            break;
        }
    if (!end)
        return buf_printf(out, "(the message could not be read back)\r\n");
    bool ok = true;
    size_t line = 0;
    for (size_t i = 0; i < end && ok; i++) { /* bare LF -> CRLF */
        if (h[i] != '\n')
            continue;
        size_t len = i - line - (i > line && h[i - 1] == '\r');
        ok = buf_add(out, h + line, len) && buf_add(out, "\r\n", 2);
        line = i + 1;
    }
    if (ok && line < end)
        ok = buf_add(out, h + line, end - line) && buf_add(out, "\r\n", 2);
    return ok;
}

void bounce_envelope(struct queue_envelope *out, const struct queue_envelope *e,
                     const char *hostname, uint64_t now_usec)
{
    memset(out, 0, sizeof(*out));
    out->n_rcpt = 1;
    text_copy(out->rcpt[0], sizeof(out->rcpt[0]), e->from, strlen(e->from));
    text_copy(out->helo, sizeof(out->helo), hostname, strlen(hostname));
    snprintf(out->client, sizeof(out->client), "local");
    out->arrived_usec = now_usec;
    out->smtputf8 = e->smtputf8;
    snprintf(out->verdict, sizeof(out->verdict), "clean");
}

bool bounce_build(struct buf *out, const char *hostname, const char *id,
                  const struct queue_envelope *e, const char *msg_path,
                  const struct bounce *b, uint64_t now_usec)
{
    char now[64], arrived[64];
    mail_date(now_usec, now, sizeof(now));
    mail_date(e->arrived_usec ? e->arrived_usec : now_usec, arrived, sizeof(arrived));
    out->len = 0;
    bool ok = buf_printf(out,
        "From: Mail Delivery System <MAILER-DAEMON@%s>\r\n"
        "To: <%s>\r\n"
        "Subject: Undelivered Mail Returned to Sender\r\n"
        "Date: %s\r\n"
        "Message-ID: <%s.dsn@%s>\r\n"
        "Auto-Submitted: auto-replied\r\n"
        "MIME-Version: 1.0\r\n"
        "Content-Type: multipart/report; report-type=delivery-status;\r\n"
        "\tboundary=\"nj-dsn-%s\"\r\n"
        "\r\n"
        "This is a delivery status notification (RFC 3464).\r\n"
        "\r\n"
        "--nj-dsn-%s\r\n"
        "Content-Type: text/plain; charset=us-ascii\r\n"
        "\r\n"
        "This is nightjar-mta at %s. Your message of %s (queue ID %s)\r\n"
        "could not be delivered %s:\r\n"
        "\r\n",
        hostname, e->from, now, id, hostname, id, id, hostname, arrived, id,
        b->expired ? "in time and was given up" : "to these recipients");
    for (unsigned i = 0; ok && i < b->n; i++)
        ok = buf_printf(out, "  <%s>: %s\r\n", b->r[i].rcpt, b->r[i].reply);
    if (ok && b->more)
        ok = buf_printf(out, "  and %u more recipient%s\r\n", b->more, b->more == 1 ? "" : "s");
    ok = ok && buf_printf(out,
        "\r\n"
        "--nj-dsn-%s\r\n"
        "Content-Type: message/delivery-status\r\n"
        "\r\n"
        "Reporting-MTA: dns; %s\r\n"
        "X-Nightjar-Queue-ID: %s\r\n"
        "Arrival-Date: %s\r\n",
        id, hostname, id, arrived);
    for (unsigned i = 0; ok && i < b->n; i++) {
        char st[16];
        status_of(b->r[i].reply, b->expired, st, sizeof(st));
        ok = buf_printf(out,
            "\r\n"
            "Final-Recipient: rfc822; %s\r\n"
            "Action: failed\r\n"
            "Status: %s\r\n"
            "Diagnostic-Code: smtp; %s\r\n",
            b->r[i].rcpt, st, b->r[i].reply);
    }
    ok = ok && buf_printf(out,
        "\r\n"
        "--nj-dsn-%s\r\n"
        "Content-Type: text/rfc822-headers\r\n"
        "\r\n", id);
    ok = ok && add_header(out, msg_path);
    ok = ok && buf_printf(out, "\r\n--nj-dsn-%s--\r\n", id);
    return ok;
}
