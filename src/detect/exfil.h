/* exfil.h -- stolen data leaving in the clear: mail and file uploads from
 * an internal host to a server outside, after a login anyone on the path
 * can read.
 *
 * Information stealers (Agent Tesla, HawkEye, Formbook's kin) ship what
 * they took -- passwords, keystrokes, screenshots -- to a mailbox or an
 * FTP account the operator controls, with the account's credentials built
 * into the malware and very often sent without TLS. A workstation does not
 * log in to an outside mail or FTP server in the clear in a network that
 * has a mail system of its own. So:
 *   - SMTP: an internal client that authenticates (AUTH) to an outside
 *     server without STARTTLS and sends a message labelled like loot -- the
 *     subject carries the machine's name that the client gave as HELO
 *     ("PW_admin/USER-PC" from "User-PC"), or the message goes to the very
 *     mailbox that sent it -- is an alert (severity 2), naming the sender,
 *     recipients, subject and attachments. Any other authenticated
 *     submission straight to an outside server is an anomaly (low: some
 *     mail clients still log in without TLS).
 *   - FTP: an internal client that logs in to an outside server (USER and
 *     PASS in the clear) and uploads a file (STOR/STOU/APPE) is an alert,
 *     naming the file.
 * Stateless; reads parsed transactions; never writes output.
 */
#ifndef NIGHTJAR_EXFIL_H
#define NIGHTJAR_EXFIL_H

#include <stdbool.h>

#include "detect/finding.h"
#include "detect/home_net.h"

struct flow;
struct ftp_tx;
struct smtp_tx;
struct email_info;

/* Fills fd and returns true when the mail transaction is a finding. */
bool exfil_judge_smtp(const struct flow *f, const struct smtp_tx *tx,
                      const struct email_info *mail, const struct home_net *home,
                      uint64_t now_usec, struct finding *fd);

/* Fills fd and returns true when the FTP transaction is a finding: an
 * upload, after a login in the clear, to an outside server. */
bool exfil_judge_ftp(const struct flow *f, const struct ftp_tx *tx,
                     const struct home_net *home, uint64_t now_usec,
                     struct finding *fd);

#endif
