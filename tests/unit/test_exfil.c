/* test_exfil.c -- authenticated SMTP from an internal client to an outside
 * server: an alert when the login is in the clear and the message is
 * labelled like loot (the subject carries the HELO machine name) or mailed
 * to its own sender; an anomaly for any other such submission; nothing
 * without AUTH, without a message, or not outbound. */
#include <math.h>

#include "detect/exfil.h"
#include "flow/flow.h"
#include "proto/mime.h"
#include "proto/smtp.h"
#include "testing.h"

static struct home_net home;
static struct flow *fl;
static struct smtp_tx tx;
static struct email_info mail;
static struct finding fd;

static void setup(void)
{
    char err[128];
    CHECK(home_net_parse(&home, HOME_NET_DEFAULT, err, sizeof(err)));
    fl = calloc(1, sizeof(struct flow));
}

/* client -> server:587 */
static void endpoints(uint8_t c0, uint8_t c3, uint8_t s0, uint8_t s3)
{
    memset(fl, 0, sizeof(*fl));
    fl->key.ip_version = 4;
    fl->key.proto = 6;
    fl->key.lo.b[0] = c0, fl->key.lo.b[3] = c3;
    fl->key.hi.b[0] = s0, fl->key.hi.b[1] = 51, fl->key.hi.b[2] = 100, fl->key.hi.b[3] = s3;
    if (s0 == 10)
        fl->key.hi.b[1] = fl->key.hi.b[2] = 0;
    fl->key.lo_port = 50000;
    fl->key.hi_port = 587;
    fl->client_is_lo = 1;
}

/* A stealer's report: AUTH LOGIN in the clear from User-PC, subject
 * naming the machine, one recipient, one attachment. */
static void loot(void)
{
    endpoints(10, 5, 198, 7);
    memset(&tx, 0, sizeof(tx));
    memset(&mail, 0, sizeof(mail));
    snprintf(tx.helo, sizeof(tx.helo), "User-PC");
    snprintf(tx.mail_from, sizeof(tx.mail_from), "logs@mail.example.net");
    tx.n_rcpt = 1;
    snprintf(tx.rcpt_to[0], sizeof(tx.rcpt_to[0]), "drop@mail.example.org");
    snprintf(tx.auth_mech, sizeof(tx.auth_mech), "LOGIN");
    tx.has_message = true;
    tx.message_complete = true;
    tx.message_bytes = 2048;
    snprintf(mail.subject, sizeof(mail.subject), "PW_admin/USER-PC");
    mail.n_attachments = 1;
    snprintf(mail.attachments[0], sizeof(mail.attachments[0]), "passwords.txt");
}

static bool judge(void)
{
    memset(&fd, 0xa5, sizeof(fd));
    return exfil_judge_smtp(fl, &tx, &mail, &home, 1700000000000000ull, &fd);
}

static void check_level(int line, bool alert)
{
    bool ok = fd.kind == FINDING_cleartext_exfil && fd.stage == STAGE_EXFIL &&
              fd.severity == (alert ? 2 : 3) && fd.anomaly == !alert && !fd.strong;
    if (!ok) {
        fprintf(stderr, "  %s:%d: %s expected: kind %d severity %u anomaly %d strong %d\n",
                __FILE__, line, alert ? "alert" : "anomaly", fd.kind, fd.severity,
                fd.anomaly, fd.strong);
        t_failed_checks++;
    }
}
#define ALERT() check_level(__LINE__, true)
#define ANOMALY() check_level(__LINE__, false)

static void test_loot_labelled_with_the_machine_in_the_clear(void)
{
    loot();
    CHECK(judge());
    ALERT();
    CHECK_STR(fd.indicators, "smtp_auth_cleartext machine_in_subject");
    CHECK_STR(fd.detail,
              "logged in in the clear to an outside mail server (AUTH LOGIN, no STARTTLS) "
              "and sent 2048 bytes from <logs@mail.example.net> to <drop@mail.example.org>, "
              "subject \"PW_admin/USER-PC\", 1 attachment (passwords.txt); the subject "
              "names the sending machine (HELO User-PC)");
    CHECK_EQ(fd.ip_version, 4);
    CHECK_EQ(fd.host.b[0], 10);
    CHECK_EQ(fd.host.b[3], 5);
    CHECK_EQ(fd.peer.b[0], 198);
    CHECK(fd.has_peer);
    CHECK_EQ(fd.port, 587);
    CHECK(fd.flow == fl);
    CHECK_EQ(fd.ts_usec, 1700000000000000ull);
    CHECK_EQ(fd.observed, 2048);
    CHECK_STR(fd.unit, "bytes");
    CHECK(isnan(fd.baseline) && isnan(fd.deviation));
    /* after STARTTLS the same is only an anomaly */
    tx.starttls = true;
    CHECK(judge());
    ANOMALY();
    CHECK_STR(fd.indicators, "smtp_submission_outside machine_in_subject");
    CHECK(strstr(fd.detail, "logged in to an outside mail server (AUTH LOGIN after STARTTLS)") ==
          fd.detail);
}

static void test_what_a_machine_name_is(void)
{
    /* three characters, then two */
    loot();
    snprintf(tx.helo, sizeof(tx.helo), "PC1");
    snprintf(mail.subject, sizeof(mail.subject), "Recovered from pc1 today");
    CHECK(judge());
    ALERT();
    snprintf(tx.helo, sizeof(tx.helo), "PC");
    snprintf(mail.subject, sizeof(mail.subject), "Recovered from PC today");
    CHECK(judge());
    ANOMALY();
    CHECK_STR(fd.indicators, "smtp_auth_cleartext");
    /* a domain, an address literal, localhost: no machine name */
    snprintf(tx.helo, sizeof(tx.helo), "user-pc.corp.example");
    snprintf(mail.subject, sizeof(mail.subject), "report user-pc.corp.example");
    CHECK(judge());
    ANOMALY();
    snprintf(tx.helo, sizeof(tx.helo), "[10.0.0.5]");
    snprintf(mail.subject, sizeof(mail.subject), "report [10.0.0.5]");
    CHECK(judge());
    ANOMALY();
    snprintf(tx.helo, sizeof(tx.helo), "localhost");
    snprintf(mail.subject, sizeof(mail.subject), "report from localhost");
    CHECK(judge());
    ANOMALY();
    /* the machine named, but not in the subject */
    loot();
    snprintf(mail.subject, sizeof(mail.subject), "Quarterly figures");
    CHECK(judge());
    ANOMALY();
    CHECK_STR(fd.indicators, "smtp_auth_cleartext");
    CHECK(strstr(fd.detail, "HELO") == NULL);
    /* no parsed message headers at all */
    loot();
    CHECK(exfil_judge_smtp(fl, &tx, NULL, &home, 1, &fd));
    ANOMALY();
    CHECK(strstr(fd.detail, "subject") == NULL);
}

static void test_mail_to_its_own_sender(void)
{
    loot();
    snprintf(mail.subject, sizeof(mail.subject), "Quarterly figures");
    snprintf(tx.rcpt_to[0], sizeof(tx.rcpt_to[0]), "LOGS@mail.example.net");
    CHECK(judge());
    ALERT();
    CHECK_STR(fd.indicators, "smtp_auth_cleartext mailed_to_itself");
    CHECK(strstr(fd.detail, "; mailed to its own sender") != NULL);
    /* to itself and someone else: a person's copy */
    tx.n_rcpt = 2;
    snprintf(tx.rcpt_to[1], sizeof(tx.rcpt_to[1]), "boss@example.com");
    CHECK(judge());
    ANOMALY();
    CHECK_STR(fd.indicators, "smtp_auth_cleartext");
    /* both labels */
    loot();
    snprintf(tx.rcpt_to[0], sizeof(tx.rcpt_to[0]), "logs@mail.example.net");
    CHECK(judge());
    ALERT();
    CHECK_STR(fd.indicators, "smtp_auth_cleartext machine_in_subject mailed_to_itself");
    /* no sender given */
    loot();
    snprintf(mail.subject, sizeof(mail.subject), "Quarterly figures");
    tx.mail_from[0] = '\0';
    tx.rcpt_to[0][0] = '\0';
    CHECK(judge());
    ANOMALY();
}

static void test_no_login_no_message_not_outbound(void)
{
    loot();
    tx.auth_mech[0] = '\0';
    CHECK(!judge());
    loot();
    tx.has_message = false;
    CHECK(!judge());
    /* the network's own mail server */
    loot();
    endpoints(10, 5, 10, 25);
    CHECK(!judge());
    /* mail coming in from outside */
    loot();
    endpoints(203, 5, 10, 25);
    CHECK(!judge());
    /* outside to outside */
    loot();
    endpoints(203, 5, 198, 7);
    CHECK(!judge());
    loot();
    CHECK(judge());
}

static void teardown(void)
{
    free(fl);
}

TEST_LIST_FIXTURE(setup, teardown, test_loot_labelled_with_the_machine_in_the_clear, test_what_a_machine_name_is,
          test_mail_to_its_own_sender, test_no_login_no_message_not_outbound)
