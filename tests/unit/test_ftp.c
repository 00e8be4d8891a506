/* test_ftp.c -- the FTP control channel: every command kind, multi-line
 * replies, pipelining, the data connections PASV/EPSV/PORT/EPRT announce,
 * the stop after AUTH TLS, the caps (line, reply lines, queue), streams
 * that are not FTP, and that a password is never kept anywhere. */
#include "app/app_layer.h"
#include "util/json.h"
#include "proto/app_detect.h"
#include "proto/ftp.h"
#include "util/counters.h"
#include "testing.h"

#define MAX_TX 64

static struct ftp_stats st;
static struct ftp_tx txs[MAX_TX];
static int ntx;

static void on_tx(void *ctx, const struct ftp_tx *tx)
{
    (void)ctx;
    if (ntx < MAX_TX)
        txs[ntx] = *tx;
    ntx++;
}

static const struct ftp_callbacks cb = { on_tx };

static bool say(struct ftp_state *s, int dir, const char *text)
{
    return ftp_feed(s, dir, (const uint8_t *)text, strlen(text), 1000, &cb,
                    NULL, &st);
}

/* the same text one byte at a time: every split of a line */
static bool trickle(struct ftp_state *s, int dir, const char *text)
{
    bool ok = true;
    for (size_t i = 0; text[i] && ok; i++)
        ok = ftp_feed(s, dir, (const uint8_t *)text + i, 1, 1000, &cb, NULL, &st);
    return ok;
}

static struct ftp_state *fresh(void)
{
    ntx = 0;
    memset(&st, 0, sizeof(st));
    memset(txs, 0, sizeof(txs));
    return ftp_state_new();
}

static bool nowhere(const struct ftp_state *s, const char *secret)
{
    size_t n = strlen(secret);
    if (memmem(s, ftp_state_size(), secret, n))
        return false;
    for (int i = 0; i < ntx && i < MAX_TX; i++)
        if (memmem(&txs[i], sizeof(txs[i]), secret, n))
            return false;
    return true;
}

static void test_login_and_upload_session(void)
{
    struct ftp_state *s = fresh();
    CHECK(say(s, 1, "220---------- Welcome to Pure-FTPd [privsep] [TLS] ----------\r\n"
                    "220-You are user number 2 of 150 allowed.\r\n"
                    "220 You will be disconnected after 5 minutes of inactivity.\r\n"));
    say(s, 0, "USER exfil@example.net\r\n");
    say(s, 1, "331 User exfil@example.net OK. Password required\r\n");
    say(s, 0, "PASS s3cr3t-Pa55(!\r\n");
    CHECK(nowhere(s, "s3cr3t"));
    CHECK(nowhere(s, "Pa55(!"));
    say(s, 1, "230 OK. Current restricted directory is /\r\n");
    say(s, 0, "TYPE I\r\n");
    say(s, 1, "200 TYPE is now 8-bit binary\r\n");
    say(s, 0, "PASV\r\n");
    say(s, 1, "227 Entering Passive Mode (204,11,58,87,234,246)\r\n");
    say(s, 0, "STOR Passwords-admin-PC.txt\r\n");
    say(s, 1, "150 Accepted data connection\r\n");
    CHECK_EQ(ntx, 4); /* STOR waits for its final reply */
    say(s, 1, "226-File successfully transferred\r\n226 0.147 seconds\r\n");
    say(s, 0, "QUIT\r\n");
    say(s, 1, "221-Goodbye.\r\n221 Logout.\r\n");
    ftp_finish(s, &cb, NULL, &st);
    CHECK_EQ(ntx, 6);
    CHECK_EQ(st.transactions, 6);
    CHECK_EQ(st.unanswered, 0);
    CHECK_EQ(st.logins, 1);
    CHECK_EQ(st.uploads, 1);
    CHECK_EQ(st.passwords_in_clear, 1);
    CHECK_EQ(st.reply_without_command, 0);
    CHECK_EQ(txs[0].cmd, FTP_CMD_USER);
    CHECK_STR(txs[0].arg, "exfil@example.net");
    CHECK_EQ(txs[0].reply_code, 331);
    CHECK(!txs[0].logged_in);
    CHECK_EQ(txs[1].cmd, FTP_CMD_PASS);
    CHECK_STR(txs[1].command, "PASS");
    CHECK_STR(txs[1].arg, "");
    CHECK(txs[1].password_in_clear);
    CHECK(txs[1].logged_in);
    CHECK_STR(txs[1].user, "exfil@example.net");
    CHECK_EQ(txs[3].cmd, FTP_CMD_PASV);
    CHECK_EQ(txs[3].data.ip_version, 4);
    CHECK(memcmp(txs[3].data.addr, "\xcc\x0b\x3a\x57", 4) == 0);
    CHECK_EQ(txs[3].data.port, 234 * 256 + 246);
    CHECK(!txs[3].data.active);
    CHECK_EQ(txs[4].cmd, FTP_CMD_STOR);
    CHECK_STR(txs[4].arg, "Passwords-admin-PC.txt");
    CHECK_EQ(txs[4].id, 4);
    CHECK(txs[4].reply_received);
    CHECK_EQ(txs[4].prelim_code, 150);
    CHECK_EQ(txs[4].reply_code, 226);
    CHECK_EQ(txs[4].n_lines, 3);
    CHECK_STR(txs[4].lines[0], "Accepted data connection");
    CHECK_STR(txs[4].lines[2], "0.147 seconds");
    CHECK_EQ(txs[4].codes[1], 226);
    CHECK(txs[4].logged_in);
    CHECK_EQ(txs[5].cmd, FTP_CMD_QUIT);
    CHECK_EQ(txs[5].reply_code, 221);
    CHECK(nowhere(s, "s3cr3t"));
    ftp_state_free(s);
}

static void test_every_command_kind(void)
{
    static const struct { const char *line; enum ftp_cmd cmd; const char *verb, *arg; } c[] = {
        { "USER bob", FTP_CMD_USER, "USER", "bob" },
        { "PASS x", FTP_CMD_PASS, "PASS", "" },
        { "ACCT acc", FTP_CMD_ACCT, "ACCT", "acc" },
        { "STOR a.bin", FTP_CMD_STOR, "STOR", "a.bin" },
        { "STOU", FTP_CMD_STOU, "STOU", "" },
        { "APPE log.txt", FTP_CMD_APPE, "APPE", "log.txt" },
        { "RETR /etc/passwd", FTP_CMD_RETR, "RETR", "/etc/passwd" },
        { "LIST -la", FTP_CMD_LIST, "LIST", "-la" },
        { "NLST", FTP_CMD_NLST, "NLST", "" },
        { "MLSD /", FTP_CMD_MLSD, "MLSD", "/" },
        { "CWD /pub/with space", FTP_CMD_CWD, "CWD", "/pub/with space" },
        { "CDUP", FTP_CMD_CDUP, "CDUP", "" },
        { "PORT 10,0,0,5,4,1", FTP_CMD_PORT, "PORT", "10,0,0,5,4,1" },
        { "EPRT |2|2001:db8::7|5282|", FTP_CMD_EPRT, "EPRT", "|2|2001:db8::7|5282|" },
        { "PASV", FTP_CMD_PASV, "PASV", "" },
        { "EPSV", FTP_CMD_EPSV, "EPSV", "" },
        { "AUTH GSSAPI", FTP_CMD_AUTH, "AUTH", "GSSAPI" },
        { "ABOR", FTP_CMD_ABOR, "ABOR", "" },
        { "DELE x", FTP_CMD_DELE, "DELE", "x" },
        { "RNFR a", FTP_CMD_RNFR, "RNFR", "a" },
        { "RNTO b", FTP_CMD_RNTO, "RNTO", "b" },
        { "MKD d", FTP_CMD_MKD, "MKD", "d" },
        { "RMD d", FTP_CMD_RMD, "RMD", "d" },
        { "site chmod 777 x", FTP_CMD_OTHER, "SITE", "chmod 777 x" },
        { "Syst", FTP_CMD_OTHER, "SYST", "" },
        { "\xff\xf4\xff\xf2" "ABOR", FTP_CMD_ABOR, "ABOR", "" }, /* Telnet IP, DM */
        { "REIN", FTP_CMD_REIN, "REIN", "" },
        { "QUIT", FTP_CMD_QUIT, "QUIT", "" },
    };
    size_t n = sizeof(c) / sizeof(c[0]);
    struct ftp_state *s = fresh();
    say(s, 1, "220 ready\r\n");
    for (size_t i = 0; i < n; i++) {
        char line[128];
        snprintf(line, sizeof(line), "%s\r\n", c[i].line);
        CHECK(say(s, 0, line));
        CHECK(say(s, 1, "200 ok\r\n"));
    }
    CHECK_EQ(ntx, (int)n);
    for (size_t i = 0; i < n && (int)i < ntx; i++) {
        CHECK_EQ(txs[i].cmd, c[i].cmd);
        CHECK_STR(txs[i].command, c[i].verb);
        CHECK_STR(txs[i].arg, c[i].arg);
        CHECK_EQ(txs[i].reply_code, 200);
        CHECK_STR(ftp_cmd_name(c[i].cmd), c[i].cmd ? c[i].verb : "");
    }
    CHECK(txs[12].data.active);
    CHECK_EQ(txs[12].data.port, 1025);
    CHECK(txs[13].data.active);
    CHECK_EQ(txs[13].data.ip_version, 6);
    CHECK_EQ(txs[13].data.port, 5282);
    ftp_state_free(s);
}

static void test_multiline_replies(void)
{
    struct ftp_state *s = fresh();
    /* a greeting in pieces, text lines without a code, a line that starts
     * with another code, and the end only at "211 " */
    CHECK(trickle(s, 1, "220-first\r\n220-second\r\n220 third\r\n"));
    say(s, 0, "FEAT\r\n");
    CHECK(trickle(s, 1, "211-Extensions supported:\r\n EPRT\r\n 211 not the end\r\n"
                        "230 not the end either\r\n211 End\r\n"));
    CHECK_EQ(ntx, 1);
    CHECK_EQ(txs[0].reply_code, 211);
    CHECK_EQ(txs[0].n_lines, 5);
    CHECK_STR(txs[0].lines[0], "Extensions supported:");
    CHECK_STR(txs[0].lines[1], " EPRT");
    CHECK_EQ(txs[0].codes[1], 0);
    CHECK_STR(txs[0].lines[2], " 211 not the end");
    CHECK_EQ(txs[0].codes[3], 230);
    CHECK_STR(txs[0].lines[4], "End");
    CHECK_EQ(st.replies, 2);
    /* bare LF line ends and a code with no text */
    say(s, 0, "NOOP\n");
    say(s, 1, "200\n");
    CHECK_EQ(ntx, 2);
    CHECK_EQ(txs[1].reply_code, 200);
    CHECK_STR(txs[1].lines[0], "");
    ftp_state_free(s);
}

static void test_pipelined_commands_pair_in_order(void)
{
    struct ftp_state *s = fresh();
    say(s, 1, "220 hi\r\n");
    CHECK(say(s, 0, "USER anonymous\r\nPASS guest@\r\nSYST\r\nPWD\r\n"));
    CHECK_EQ(ntx, 0);
    CHECK(trickle(s, 1, "331 send password\r\n230-Welcome\r\n230 Logged in\r\n"
                        "215 UNIX Type: L8\r\n257 \"/\"\r\n"));
    CHECK_EQ(ntx, 4);
    CHECK_STR(txs[0].command, "USER");
    CHECK_EQ(txs[0].reply_code, 331);
    CHECK_STR(txs[1].command, "PASS");
    CHECK_EQ(txs[1].reply_code, 230);
    CHECK_EQ(txs[1].n_lines, 2);
    CHECK(txs[1].logged_in);
    CHECK_STR(txs[2].command, "SYST");
    CHECK_STR(txs[2].lines[0], "UNIX Type: L8");
    CHECK_STR(txs[3].command, "PWD");
    CHECK_EQ(txs[3].reply_code, 257);
    for (int i = 0; i < 4; i++)
        CHECK_EQ(txs[i].id, (uint64_t)i);
    CHECK(nowhere(s, "guest@"));
    /* a transfer goes on while the client sends the next command: the 1yz
     * and the final reply stay with RETR, the next reply with NOOP */
    say(s, 0, "RETR big.iso\r\nNOOP\r\n");
    say(s, 1, "150 Opening\r\n226 Done\r\n200 NOOP ok\r\n");
    CHECK_EQ(ntx, 6);
    CHECK_EQ(txs[4].prelim_code, 150);
    CHECK_EQ(txs[4].reply_code, 226);
    CHECK_EQ(txs[5].reply_code, 200);
    CHECK_EQ(st.downloads, 1);
    /* a reply nobody asked for is counted, not paired */
    say(s, 1, "421 Timeout.\r\n");
    CHECK_EQ(st.reply_without_command, 1);
    CHECK_EQ(ntx, 6);
    ftp_state_free(s);
}

static void test_data_connection_announcements(void)
{
    struct ftp_data_chan d;
    CHECK(ftp_parse_hostport("Entering Passive Mode (192,168,1,2,19,137).", &d));
    CHECK_EQ(d.ip_version, 4);
    CHECK(memcmp(d.addr, "\xc0\xa8\x01\x02", 4) == 0);
    CHECK_EQ(d.port, 19 * 256 + 137);
    CHECK(ftp_parse_hostport("Entering Passive Mode 10,1,2,3,0,21", &d));
    CHECK_EQ(d.port, 21);
    CHECK(ftp_parse_hostport("=127,0,0,1,200,1", &d));
    CHECK(!ftp_parse_hostport("Passive (256,1,1,1,1,1)", &d));
    CHECK(!ftp_parse_hostport("Passive (1,1,1,1,1)", &d));
    CHECK(!ftp_parse_hostport("(1,1,1,1,0,0)", &d)); /* port 0 */
    CHECK(!ftp_parse_hostport("(1111,1,1,1,1,1)", &d));
    CHECK(ftp_parse_eprt("|1|132.235.1.2|6275|", &d));
    CHECK_EQ(d.ip_version, 4);
    CHECK_EQ(d.port, 6275);
    CHECK(memcmp(d.addr, "\x84\xeb\x01\x02", 4) == 0);
    CHECK(ftp_parse_eprt("!2!1080::8:800:200C:417A!5282!", &d));
    CHECK_EQ(d.ip_version, 6);
    CHECK_EQ(d.addr[0], 0x10);
    CHECK_EQ(d.addr[15], 0x7a);
    CHECK(!ftp_parse_eprt("|3|1.2.3.4|5|", &d));
    CHECK(!ftp_parse_eprt("|1|1.2.3|5|", &d));
    CHECK(!ftp_parse_eprt("|1|1.2.3.4|70000|", &d));
    CHECK(!ftp_parse_eprt("|1|1.2.3.4|5", &d));
    CHECK(ftp_parse_epsv("Entering Extended Passive Mode (|||6446|)", &d));
    CHECK(d.server_addr);
    CHECK_EQ(d.ip_version, 0);
    CHECK_EQ(d.port, 6446);
    CHECK(!ftp_parse_epsv("Entering Extended Passive Mode (||6446|)", &d));
    CHECK(!ftp_parse_epsv("Entering Extended Passive Mode (|||port|)", &d));

    struct ftp_state *s = fresh();
    say(s, 1, "220 hi\r\n");
    say(s, 0, "EPSV\r\nPORT 10,0,0,9,200,10\r\nEPRT |2|::1|40000|\r\nPASV\r\nPORT bogus\r\n");
    say(s, 1, "229 Entering Extended Passive Mode (|||50001|)\r\n200 PORT ok\r\n"
              "200 EPRT ok\r\n227 Entering Passive Mode (10,0,0,1,195,80)\r\n501 bad\r\n");
    CHECK_EQ(ntx, 5);
    CHECK(txs[0].data.server_addr);
    CHECK_EQ(txs[0].data.port, 50001);
    CHECK(txs[1].data.active);
    CHECK_EQ(txs[1].data.port, 200 * 256 + 10);
    CHECK(memcmp(txs[1].data.addr, "\x0a\x00\x00\x09", 4) == 0);
    CHECK(txs[2].data.active);
    CHECK_EQ(txs[2].data.ip_version, 6);
    CHECK_EQ(txs[2].data.addr[15], 1);
    CHECK_EQ(txs[3].data.port, 195 * 256 + 80);
    CHECK(!txs[3].data.active);
    CHECK_EQ(txs[4].data.port, 0);
    CHECK_EQ(st.bad_data_address, 1);
    /* a refused PASV announces nothing */
    say(s, 0, "PASV\r\n");
    say(s, 1, "500 no (1,2,3,4,5,6)\r\n");
    CHECK_EQ(txs[5].data.port, 0);
    ftp_state_free(s);
}

static void test_auth_tls_stops_parsing(void)
{
    struct ftp_state *s = fresh();
    say(s, 1, "220 hi\r\n");
    say(s, 0, "AUTH TLS\r\n");
    CHECK(!say(s, 1, "234 AUTH TLS OK.\r\n"));
    CHECK_EQ(ntx, 1);
    CHECK_EQ(txs[0].cmd, FTP_CMD_AUTH);
    CHECK_STR(txs[0].arg, "TLS");
    CHECK_EQ(txs[0].reply_code, 234);
    CHECK_EQ(st.tls_upgrades, 1);
    CHECK(!say(s, 0, "\x16\x03\x01\x00\x05hello"));
    ftp_finish(s, &cb, NULL, &st);
    CHECK_EQ(ntx, 1);
    ftp_state_free(s);
    /* refused: still in the clear */
    s = fresh();
    say(s, 1, "220 hi\r\n");
    say(s, 0, "AUTH SSL\r\n");
    CHECK(say(s, 1, "534 not available\r\n"));
    CHECK(say(s, 0, "USER u\r\n"));
    CHECK(say(s, 1, "331 pw\r\n"));
    CHECK_EQ(ntx, 2);
    CHECK_EQ(st.tls_upgrades, 0);
    ftp_state_free(s);
}

static void test_caps_are_hit_and_counted(void)
{
    struct ftp_state *s = fresh();
    say(s, 1, "220 hi\r\n");
    /* a line past FTP_LINE_MAX keeps its start */
    static char longl[3 * FTP_LINE_MAX];
    memcpy(longl, "STOR ", 5);
    memset(longl + 5, 'a', sizeof(longl) - 8);
    memcpy(longl + sizeof(longl) - 3, "\r\n", 3);
    CHECK(say(s, 0, longl));
    say(s, 1, "150 go\r\n226 ok\r\n");
    CHECK_EQ(ntx, 1);
    CHECK_EQ(st.line_truncated, 1);
    CHECK_EQ(st.arg_truncated, 1);
    CHECK(txs[0].arg_truncated);
    CHECK_EQ(strlen(txs[0].arg), FTP_ARG_MAX - 1);
    /* more reply lines than kept */
    say(s, 0, "HELP\r\n");
    say(s, 1, "214-The following commands are recognized.\r\n");
    for (int i = 0; i < FTP_REPLY_LINES + 4; i++)
        say(s, 1, " ABOR ACCT ALLO APPE CDUP CWD DELE EPRT EPSV FEAT HELP LIST\r\n");
    say(s, 1, "214 Help OK.\r\n");
    CHECK_EQ(ntx, 2);
    CHECK_EQ(txs[1].n_lines, FTP_REPLY_LINES);
    CHECK_EQ(txs[1].lines_over_cap, 6);
    CHECK(txs[1].reply_truncated);
    CHECK_EQ(st.reply_lines_over_cap, 1);
    /* a reply line longer than kept */
    say(s, 0, "STAT\r\n");
    static char longr[FTP_LINE_MAX];
    memcpy(longr, "211 ", 4);
    memset(longr + 4, 'x', 600);
    memcpy(longr + 604, "\r\n", 3);
    say(s, 1, longr);
    CHECK_EQ(ntx, 3);
    CHECK(txs[2].reply_truncated);
    CHECK_EQ(strlen(txs[2].lines[0]), FTP_REPLY_LINE_MAX - 1);
    ftp_state_free(s);

    /* the queue: commands past it are reported at once, unanswered, and
     * their replies are recognised as theirs (pairing stays right) */
    s = fresh();
    say(s, 1, "220 hi\r\n");
    for (int i = 0; i < FTP_PENDING_MAX + 4; i++) {
        char l[32];
        snprintf(l, sizeof(l), "MKD d%d\r\n", i);
        say(s, 0, l);
    }
    CHECK_EQ(st.pending_over_cap, 4);
    CHECK_EQ(ntx, 4);
    CHECK(txs[0].queue_full);
    CHECK(!txs[0].reply_received);
    CHECK_STR(txs[0].arg, "d16");
    CHECK_EQ(txs[0].id, 16);
    for (int i = 0; i < FTP_PENDING_MAX + 4; i++) {
        char l[32];
        snprintf(l, sizeof(l), "257 \"d%d\" created\r\n", i);
        say(s, 1, l);
    }
    CHECK_EQ(ntx, 4 + FTP_PENDING_MAX);
    CHECK_STR(txs[4].arg, "d0");
    CHECK_STR(txs[4].lines[0], "\"d0\" created");
    CHECK_STR(txs[4 + FTP_PENDING_MAX - 1].arg, "d15");
    CHECK_STR(txs[4 + FTP_PENDING_MAX - 1].lines[0], "\"d15\" created");
    CHECK_EQ(st.reply_without_command, 0);
    say(s, 0, "PWD\r\n");
    say(s, 1, "257 \"/\"\r\n");
    CHECK_EQ(ntx, 5 + FTP_PENDING_MAX);
    CHECK_STR(txs[4 + FTP_PENDING_MAX].command, "PWD");
    CHECK(txs[4 + FTP_PENDING_MAX].reply_received);
    ftp_state_free(s);
}

static void test_streams_that_are_not_ftp(void)
{
    /* binary from the client */
    struct ftp_state *s = fresh();
    static const uint8_t hello[] = "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n";
    CHECK(!ftp_feed(s, 0, hello, sizeof(hello) - 1, 1, &cb, NULL, &st));
    CHECK_EQ(st.not_ftp, 1);
    ftp_state_free(s);
    /* a server that does not answer with replies (HTTP) */
    s = fresh();
    CHECK(say(s, 0, "GET / HTTP/1.1\r\nHost: x\r\n\r\n"));
    CHECK(!say(s, 1, "HTTP/1.1 200 OK\r\n"));
    ftp_finish(s, &cb, NULL, &st);
    CHECK_EQ(ntx, 0);
    ftp_state_free(s);
    /* IRC also says USER; its server's lines are not replies */
    s = fresh();
    say(s, 0, "NICK johndoe\r\nUSER johndoe 0 * :John Doe\r\nJOIN #sec\r\n");
    CHECK(!say(s, 1, ":irc.example.net 001 johndoe :Welcome\r\n"));
    ftp_finish(s, &cb, NULL, &st);
    CHECK_EQ(ntx, 0);
    ftp_state_free(s);
    /* no answer at all: nothing is taken for FTP */
    s = fresh();
    say(s, 0, "USER a\r\nPASS b\r\nQUIT\r\n");
    ftp_finish(s, &cb, NULL, &st);
    CHECK_EQ(ntx, 0);
    ftp_state_free(s);
    /* garbage after a real start: tolerated for a while, then given up */
    s = fresh();
    say(s, 1, "220 hi\r\n");
    say(s, 0, "USER a\r\n");
    say(s, 1, "331 pw\r\n");
    bool ok = true;
    for (int i = 0; i < 20 && ok; i++)
        ok = say(s, 0, "\x01\x02\x03\x04\x05\r\n");
    CHECK(!ok);
    CHECK(st.bad_command > 8);
    ftp_finish(s, &cb, NULL, &st);
    CHECK_EQ(ntx, 1 + 8); /* USER, and the garbage lines queued before */
    CHECK(!txs[1].reply_received);
    ftp_state_free(s);
}

static void test_password_never_kept(void)
{
    struct ftp_state *s = fresh();
    say(s, 1, "220 hi\r\n");
    say(s, 0, "USER alice\r\n");
    say(s, 1, "331 pw\r\n");
    /* in pieces, lower case, pipelined with the next command */
    CHECK(trickle(s, 0, "pass Tr0ub4dor&3\r\n"));
    CHECK(nowhere(s, "Tr0ub4dor"));
    CHECK(trickle(s, 0, "SYST\r\n"));
    CHECK(nowhere(s, "ub4dor&3"));
    say(s, 1, "530 Login incorrect.\r\n215 UNIX\r\n");
    CHECK_EQ(ntx, 3);
    CHECK_EQ(txs[1].cmd, FTP_CMD_PASS);
    CHECK(txs[1].password_in_clear);
    CHECK(!txs[1].logged_in);
    CHECK_EQ(txs[1].reply_code, 530);
    CHECK(nowhere(s, "Tr0ub4dor"));
    CHECK(nowhere(s, "ub4dor"));
    /* a password longer than a line */
    static char longp[2 * FTP_LINE_MAX];
    memcpy(longp, "PASS ", 5);
    for (size_t i = 5; i < sizeof(longp) - 3; i++)
        longp[i] = (char)('A' + i % 7);
    memcpy(longp + sizeof(longp) - 3, "\r\n", 3);
    say(s, 0, longp);
    CHECK(nowhere(s, "ABCDEFGABCDEFG"));
    say(s, 1, "230 ok\r\n");
    CHECK(nowhere(s, "ABCDEFGABCDEFG"));
    CHECK(txs[3].logged_in);
    /* a PASS line cut by a gap is wiped too */
    say(s, 0, "PASS hunter2-partial");
    ftp_gap(s, 0, &cb, NULL, &st);
    CHECK(nowhere(s, "hunter2"));
    /* and one the flow ended in: the state goes back to the pool wiped */
    ftp_state_reset(s);
    say(s, 1, "220 hi\r\n");
    say(s, 0, "PASS correct-horse");
    ftp_state_reset(s);
    CHECK(nowhere(s, "correct-horse"));
    ftp_state_free(s);
    /* an empty PASS: no password crossed */
    s = fresh();
    say(s, 1, "220 hi\r\n");
    say(s, 0, "USER anonymous\r\nPASS\r\n");
    say(s, 1, "331 pw\r\n230 ok\r\n");
    CHECK_EQ(ntx, 2);
    CHECK(!txs[1].password_in_clear);
    CHECK_EQ(st.passwords_in_clear, 0);
    ftp_state_free(s);
}

static void test_login_state(void)
{
    struct ftp_state *s = fresh();
    say(s, 1, "220 hi\r\n");
    say(s, 0, "USER anonymous\r\n");
    say(s, 1, "230 no password needed\r\n");
    CHECK(txs[0].logged_in);
    say(s, 0, "REIN\r\n");
    say(s, 1, "220 again\r\n");
    CHECK(!txs[1].logged_in);
    CHECK_STR(txs[1].user, "");
    say(s, 0, "USER bob\r\n");
    say(s, 1, "331 pw\r\n");
    say(s, 0, "PASS x\r\n");
    say(s, 1, "332 need account\r\n");
    say(s, 0, "ACCT acme\r\n");
    say(s, 1, "230 in\r\n");
    CHECK_EQ(ntx, 5);
    CHECK(!txs[3].logged_in);
    CHECK(txs[4].logged_in);
    CHECK_STR(txs[4].user, "bob");
    CHECK_EQ(st.logins, 2);
    ftp_state_free(s);
}

static void test_gap_and_end_report_what_waits(void)
{
    struct ftp_state *s = fresh();
    say(s, 1, "220 hi\r\n");
    say(s, 0, "STOR a\r\nSTOR b\r\n");
    say(s, 1, "150 go\r\n");
    ftp_finish(s, &cb, NULL, &st);
    CHECK_EQ(ntx, 2);
    CHECK(!txs[0].reply_received);
    CHECK_EQ(txs[0].prelim_code, 150); /* the transfer had started */
    CHECK_STR(txs[0].lines[0], "go");
    CHECK_STR(txs[1].arg, "b");
    CHECK_EQ(txs[1].n_lines, 0);
    CHECK_EQ(st.unanswered, 2);
    ftp_state_free(s);
    /* a gap: what waits is reported, then parsing stops */
    s = fresh();
    say(s, 1, "220 hi\r\n");
    say(s, 0, "RETR x\r\n");
    ftp_gap(s, 1, &cb, NULL, &st);
    CHECK_EQ(ntx, 1);
    CHECK_EQ(st.gaps, 1);
    CHECK(!say(s, 1, "226 done\r\n"));
    ftp_finish(s, &cb, NULL, &st);
    CHECK_EQ(ntx, 1);
    /* a reset state is a new session */
    ftp_state_reset(s);
    ntx = 0;
    CHECK(say(s, 1, "220 hi\r\n"));
    CHECK(say(s, 0, "NOOP\r\n"));
    CHECK(say(s, 1, "200 ok\r\n"));
    CHECK_EQ(ntx, 1);
    CHECK_EQ(txs[0].id, 0);
    ftp_state_free(s);
}

static void test_missed_greeting_and_service_delay(void)
{
    /* detection on the client's USER: the greeting was never fed */
    struct ftp_state *s = fresh();
    say(s, 0, "USER u\r\n");
    say(s, 1, "331 pw\r\n");
    CHECK_EQ(ntx, 1);
    CHECK_EQ(txs[0].reply_code, 331);
    ftp_state_free(s);
    /* "120 ready in 2 minutes", then the greeting */
    s = fresh();
    say(s, 1, "120 ready in 2 minutes\r\n");
    say(s, 1, "220 ready\r\n");
    say(s, 0, "USER u\r\n");
    say(s, 1, "331 pw\r\n");
    CHECK_EQ(ntx, 1);
    CHECK_EQ(st.reply_without_command, 0);
    ftp_state_free(s);
}

/* --- the application layer: pool, stats, the observer ----------------- */

static int obs_calls;
static char obs_last[FTP_VERB_MAX], obs_stor[FTP_ARG_MAX];
static const struct flow *obs_flow;
static void *obs_ctx;

static void on_ftp_observed(void *ctx, struct flow *f,
                            const struct ftp_tx *tx, uint64_t now)
{
    (void)now;
    obs_calls++;
    obs_ctx = ctx;
    obs_flow = f;
    snprintf(obs_last, sizeof(obs_last), "%s", tx->command);
    if (tx->cmd == FTP_CMD_STOR)
        snprintf(obs_stor, sizeof(obs_stor), "%s", tx->arg);
}

static void feed_session(struct app_layer *al, struct flow *f)
{
    static const char *const conv[][2] = {
        { "1", "220 FTP ready\r\n" }, { "0", "USER u\r\n" },
        { "1", "331 pw\r\n" }, { "0", "PASS pw-in-clear\r\n" },
        { "1", "230 ok\r\n" }, { "0", "STOR loot.zip\r\n" },
        { "1", "150 go\r\n226 done\r\n" },
    };
    for (size_t i = 0; i < sizeof(conv) / sizeof(conv[0]); i++)
        app_stream_data(al, f, conv[i][0][0] - '0', (const uint8_t *)conv[i][1],
                        strlen(conv[i][1]), 10 + i);
}

static void test_app_layer_hands_transactions_to_the_observer(void)
{
    struct nj_config c;
    config_defaults(&c);
    c.content.magic = false;
    char err[256];
    struct app_layer *al = app_layer_new(&c, err, sizeof(err));
    CHECK(al != NULL);
    if (!al)
        return;
    int marker;
    struct app_observers o = { .ftp = on_ftp_observed };
    app_layer_set_observers(al, &o, &marker);
    struct flow *f = calloc(1, sizeof(*f));
    f->app_proto = APP_FTP;
    obs_calls = 0;
    feed_session(al, f);
    CHECK_EQ(obs_calls, 3);
    CHECK_STR(obs_stor, "loot.zip");
    CHECK(obs_flow == f);
    CHECK(obs_ctx == &marker);
    uint64_t mem = app_layer_memory(al);
    CHECK(mem >= ftp_state_size());
    app_flow_end(al, f, 20);
    CHECK(f->app == NULL);
    /* the second flow takes the pooled state: no more memory */
    f->app_proto = APP_FTP;
    feed_session(al, f);
    CHECK_EQ(obs_calls, 6);
    CHECK_EQ(app_layer_memory(al), mem);
    app_flow_end(al, f, 30);
    struct json j;
    json_init(&j);
    json_obj_open(&j);
    struct counters *reg = counters_new();
    app_layer_counters(al, reg);
    counters_write(reg, &j);
    counters_free(reg);
    json_obj_close(&j);
    CHECK(j.buf && strstr(j.buf, "\"ftp\":{\"commands\":6,\"replies\":10,\"transactions\":6"));
    CHECK(j.buf && strstr(j.buf, "\"uploads\":2"));
    CHECK(j.buf && !strstr(j.buf, "pw-in-clear"));
    json_free(&j);
    app_layer_free(al);
    /* app-layer.ftp.enabled=no: not parsed */
    CHECK(config_set_assignment(&c, "app-layer.ftp.enabled=no", err, sizeof(err)));
    al = app_layer_new(&c, err, sizeof(err));
    app_layer_set_observers(al, &o, &marker);
    f->app_proto = APP_FTP;
    feed_session(al, f);
    CHECK_EQ(obs_calls, 6);
    app_flow_end(al, f, 40);
    app_layer_free(al);
    free(f);
}

TEST_LIST(test_login_and_upload_session, test_every_command_kind,
          test_multiline_replies, test_pipelined_commands_pair_in_order,
          test_data_connection_announcements, test_auth_tls_stops_parsing,
          test_caps_are_hit_and_counted, test_streams_that_are_not_ftp,
          test_password_never_kept, test_login_state,
          test_gap_and_end_report_what_waits,
          test_missed_greeting_and_service_delay,
          test_app_layer_hands_transactions_to_the_observer)
