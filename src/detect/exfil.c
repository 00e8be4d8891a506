/* exfil.c -- logins and uploads to outside servers in the clear (see
 * exfil.h). */
#include "detect/exfil.h"

#include <math.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "flow/flow_table.h"
#include "proto/ftp.h"
#include "proto/mime.h"
#include "proto/smtp.h"

static void begin(struct finding *fd, const struct flow *f, uint64_t now,
                  bool anomaly)
{
    memset(fd, 0, sizeof(*fd));
    fd->kind = FINDING_cleartext_exfil;
    fd->stage = finding_kind_stage[FINDING_cleartext_exfil];
    fd->severity = anomaly ? 3 : 2;
    fd->anomaly = anomaly;
    fd->ip_version = f->key.ip_version;
    fd->host = *flow_addr(f, 0);
    fd->peer = *flow_addr(f, 1);
    fd->has_peer = true;
    fd->port = flow_port(f, 1);
    fd->ts_usec = now;
    fd->flow = f;
    fd->observed = fd->baseline = fd->deviation = NAN;
}

static bool outbound(const struct flow *f, const struct home_net *home)
{
    return home_net_contains(home, f->key.ip_version, flow_addr(f, 0)) &&
           !home_net_contains(home, f->key.ip_version, flow_addr(f, 1));
}

/* The HELO is a bare machine name ("User-PC") and the subject carries it:
 * loot labelled with the victim, not a person's mail. */
static bool machine_in_subject(const struct smtp_tx *tx, const struct email_info *m)
{
    size_t n = strlen(tx->helo);
    return m && n >= 3 && !strchr(tx->helo, '.') && !strchr(tx->helo, '[') &&
           strcasecmp(tx->helo, "localhost") != 0 && strcasestr(m->subject, tx->helo);
}

bool exfil_judge_smtp(const struct flow *f, const struct smtp_tx *tx,
                      const struct email_info *mail, const struct home_net *home,
                      uint64_t now, struct finding *fd)
{
    if (!tx->auth_mech[0] || !tx->has_message || !outbound(f, home))
        return false;
    bool clear = !tx->starttls;
    bool labelled = machine_in_subject(tx, mail);
    bool to_self = tx->n_rcpt == 1 && tx->mail_from[0] &&
                   !strcasecmp(tx->mail_from, tx->rcpt_to[0]);
    begin(fd, f, now, !(clear && (labelled || to_self)));
    fd->observed = (double)tx->message_bytes;
    fd->unit = "bytes";
    snprintf(fd->indicators, sizeof(fd->indicators), "%s%s%s",
             clear ? "smtp_auth_cleartext" : "smtp_submission_outside",
             labelled ? " machine_in_subject" : "", to_self ? " mailed_to_itself" : "");
    size_t o = (size_t)snprintf(fd->detail, sizeof(fd->detail),
        "%s to an outside mail server (AUTH %s%s) and sent %llu bytes from <%.80s> to <%.80s>",
        clear ? "logged in in the clear" : "logged in",
        tx->auth_mech, clear ? ", no STARTTLS" : " after STARTTLS",
        (unsigned long long)tx->message_bytes, tx->mail_from,
        tx->n_rcpt ? tx->rcpt_to[0] : "");
    if (mail && mail->subject[0] && o < sizeof(fd->detail))
        o += (size_t)snprintf(fd->detail + o, sizeof(fd->detail) - o,
                              ", subject \"%.60s\"", mail->subject);
    if (mail && mail->n_attachments && o < sizeof(fd->detail))
        o += (size_t)snprintf(fd->detail + o, sizeof(fd->detail) - o,
                              ", %u attachment%s (%.60s)", mail->n_attachments,
                              mail->n_attachments > 1 ? "s" : "", mail->attachments[0]);
    if (labelled && o < sizeof(fd->detail))
        o += (size_t)snprintf(fd->detail + o, sizeof(fd->detail) - o,
                              "; the subject names the sending machine (HELO %.40s)",
                              tx->helo);
    if (to_self && o < sizeof(fd->detail))
        snprintf(fd->detail + o, sizeof(fd->detail) - o, "; mailed to its own sender");
    return true;
}

bool exfil_judge_ftp(const struct flow *f, const struct ftp_tx *tx,
                     const struct home_net *home, uint64_t now,
                     struct finding *fd)
{
    bool upload = tx->cmd == FTP_CMD_STOR || tx->cmd == FTP_CMD_STOU ||
                  tx->cmd == FTP_CMD_APPE;
    /* 1xx (transfer starting) or 2xx (done): the server took the file */
    bool taken = tx->prelim_code / 100 == 1 || tx->reply_code / 100 == 2;
    if (!upload || !taken || !tx->logged_in || !outbound(f, home))
        return false;
    begin(fd, f, now, false);
    snprintf(fd->indicators, sizeof(fd->indicators), "ftp_login_cleartext ftp_upload");
    snprintf(fd->detail, sizeof(fd->detail),
             "logged in in the clear to an outside FTP server as \"%.60s\" and "
             "uploaded \"%.200s\" (%s, reply %u)", tx->user, tx->arg, tx->command,
             tx->reply_code ? tx->reply_code : tx->prelim_code);
    return true;
}
