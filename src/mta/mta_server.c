/* mta_server.c -- the ESMTP sessions, judging and queueing (see
 * mta_server.h). */
#include "mta/mta_server.h"
#include "mta/mta_strip.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "content/content.h"
#include "frontend/judge.h"
#include "mta/mta_commit.h"
#include "mta/mta_deliver.h"
#include "mta/mta_event.h"
#include "mta/mta_tls.h"
#include "mta/queue.h"
#include "mta/smtp_command.h"
#include "output/eve_mta.h"
#include "output/sink.h"
#include "util/buf.h"
#include "util/clock.h"
#include "util/counters.h"
#include "util/net.h"
#include "util/text.h"
#include "version.h"

#define IN_CAP 65536
#define OUT_HIGH (1u << 20)
#define COMMIT_WORKERS 16            /* commits whose fsyncs run at once */

enum sstate { S_INIT, S_HELO, S_MAIL, S_RCPT, S_DATA };

struct session {
    int fd;
    uint8_t state;                  /* enum sstate */
    bool closing, skipping;         /* skipping: the rest of a too-long line */
    struct net_interest io;         /* what epoll waits for */
    /* STARTTLS: 220 said and being sent (nothing more is read in the
     * clear), then the handshake, then tls up */
    bool tls_starting, tls_handshaking;
    enum mta_tls_rc tls_wait;       /* what the handshake or I/O waits for */
    struct mta_tls *tls;
    char peer[64];
    struct event_subject subj;
    uint64_t last_usec;
    struct session *prev, *next;
    uint8_t in[IN_CAP];
    size_t in_len;
    struct buf out;
    /* the transaction */
    struct queue_envelope env;
    struct smtp_tx tx;              /* the envelope as the detectors read it */
    struct queue_file *qf;
    struct smtp_data data;
    uint64_t size;
    bool over_size, write_failed;
    /* the commit on a worker (mta_commit.h): the session waits for it */
    bool committing, zombie;        /* zombie: closed while committing */
    bool stripped;                  /* the committed message is the stripped one */
    struct mta_commit_job job;
    struct verdict v;               /* the judged message's verdict... */
    struct email_info *email;       /* ...and what its headers say */
    bool parsed;
};

struct mta_stats {
    uint64_t sessions, refused_sessions, timeouts, messages, queued, rejected;
    uint64_t quarantined, tagged, unjudged, too_big, temp_failures, bad_commands;
    uint64_t rcpt_over_cap;
    uint64_t stripped, strip_fallbacks;  /* mta.action strip: done, not possible */
    uint64_t strip_parts_over_cap;  /* blocking parts past STRIP_PARTS_MAX */
    struct mime_rewrite_stats rewrite;
    uint64_t closed_while_committing; /* its 250 never sent: may come again */
    struct {
        uint64_t handshakes_ok, handshakes_failed, handshake_timeouts;
        uint64_t cleartext_discarded;  /* sessions that sent on after STARTTLS */
        uint64_t required_refused;     /* 530: mta.tls-require */
    } tls;
};

struct mta_server {
    struct nj_config cfg;
    struct eve *eve;
    pthread_mutex_t eve_lock;       /* shared with the delivery thread */
    struct judge *judge;
    struct content_engine *content;
    struct mta_queue *q;
    struct mta_deliver *deliver;
    struct mta_tls_ctx *tls;        /* NULL: STARTTLS not offered */
    int lfd, ep;
    char addr[80];
    char hostname[256];
    unsigned recovered;
    struct session *active;
    uint32_t n_sessions;
    struct mta_stats st;
    struct counters *counters;      /* for the stats record */
    uint64_t last_stats_wall;
    uint8_t *msg;                   /* the message being judged */
    size_t msg_cap;
    struct email_info email2;       /* of a stripped message, judged again */
    struct buf stripped;            /* the stripped message */
    struct mta_commit *commits;     /* the commit workers */
};

static void reply(struct session *c, int code, const char *status, const char *text)
{
    buf_printf(&c->out, "%d %s %s\r\n", code, status, text);
}

/* --- sessions ----------------------------------------------------------- */

/* Reading stops while replies pile up (a client that pipelines and never
 * reads) and once STARTTLS is answered; the handshake waits for what TLS
 * asked; TLS inside a session may need the other direction for a read or
 * a write (tls_wait). */
static void want(struct mta_server *s, struct session *c)
{
    bool in, out;
    if (c->tls_handshaking) {
        in = c->tls_wait == MTA_TLS_WANT_READ;
        out = c->tls_wait == MTA_TLS_WANT_WRITE;
    } else {
        in = (!c->closing && !c->tls_starting && !c->committing && c->out.len < OUT_HIGH) ||
             c->tls_wait == MTA_TLS_WANT_READ;
        out = c->out.len > 0 || c->tls_wait == MTA_TLS_WANT_WRITE;
    }
    net_want(s->ep, c->fd, c, &c->io, in, out);
}

/* Ends the transaction; what HELO/EHLO said stays (RSET, a new MAIL). */
static void tx_reset(struct session *c)
{
    if (c->qf)
        queue_abort(c->qf);
    c->qf = NULL;
    char helo[sizeof(c->tx.helo)];
    memcpy(helo, c->tx.helo, sizeof(helo));
    memset(&c->env, 0, sizeof(c->env));
    memset(&c->tx, 0, sizeof(c->tx));
    memcpy(c->tx.helo, helo, sizeof(helo));
    c->size = 0;
    c->over_size = c->write_failed = false;
    if (c->state > S_HELO)
        c->state = S_HELO;
}

/* A session closed while a worker commits its message is kept, out of the
 * active list, until the commit is collected (committed()). */
static void session_close(struct mta_server *s, struct session *c)
{
    epoll_ctl(s->ep, EPOLL_CTL_DEL, c->fd, NULL);
    mta_tls_close(c->tls);
    close(c->fd);
    if (c->prev)
        c->prev->next = c->next;
    else
        s->active = c->next;
    if (c->next)
        c->next->prev = c->prev;
    s->n_sessions--;
    if (c->committing) {
        c->zombie = true;
        s->st.closed_while_committing++;
        c->prev = c->next = NULL;
        return;
    }
    tx_reset(c);
    buf_free(&c->out);
    free(c->email);
    free(c);
}

/* --- judging ------------------------------------------------------------ */

struct judging {
    struct mta_server *s;
    struct session *c;
    struct verdict *v;
    uint64_t now;
    struct strip_parts *bad;        /* attachments that block (strip) */
};

/* A part through content detection and the judge, on a verdict of its
 * own: a part that blocks is noted for the strip action. */
static void judge_part(struct judging *g, const char *name, const uint8_t *d, size_t n,
                       bool attachment)
{
    struct content_result r;
    content_inspect(g->s->content, d, n, NULL, false, &r);
    struct judged_body b = { .name = name, .size = n, .dir = 0, .smtp = &g->c->tx };
    struct verdict pv;
    memset(&pv, 0, sizeof(pv));
    judge_body(g->s->judge, &g->c->subj, g->now, NULL, &b, &r, &pv);
    verdict_merge(g->v, &pv);
    if (pv.block && attachment && g->bad)
        strip_parts_note(g->bad, d, n, pv.reason);
}

static void on_attachment(void *ctx, const char *filename, const char *ctype,
                          const uint8_t *data, size_t len)
{
    (void)ctype;
    judge_part(ctx, filename && filename[0] ? filename : "(unnamed part)", data, len,
               true);
}

/* Reads the received message back (up to smtp.message-max) into s->msg. */
static size_t load_message(struct mta_server *s, const char *path, bool *cut)
{
    size_t max = (size_t)s->cfg.smtp_message_max;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat sb;
    if (fd < 0 || fstat(fd, &sb) != 0) {
        if (fd >= 0)
            close(fd);
        return (size_t)-1;
    }
    size_t want = (size_t)sb.st_size < max ? (size_t)sb.st_size : max;
    *cut = (size_t)sb.st_size > max;
    if (want + 1 > s->msg_cap) {
        uint8_t *m = realloc(s->msg, want + 1);
        if (!m) {
            close(fd);
            return (size_t)-1;
        }
        s->msg = m;
        s->msg_cap = want + 1;
    }
    size_t got = 0;
    while (got < want) {
        ssize_t r = read(fd, s->msg + got, want - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        got += (size_t)r;
    }
    close(fd);
    return got == want ? got : (size_t)-1;
}

/* The message and its parts through the detectors. False when it could
 * not be read back (an internal error). */
/* A message's text, parts, envelope and headers through the detectors. */
static void judge_bytes(struct mta_server *s, struct session *c, const uint8_t *msg,
                        size_t len, struct verdict *v, struct email_info *em,
                        struct strip_parts *bad)
{
    struct judging g = { s, c, v, wall_usec(), bad };
    judge_part(&g, "(message)", msg, len, false); /* rules over the whole text */
    struct mime_stats ms = { 0 };
    memset(em, 0, sizeof(*em));
    mime_parse(msg, len, em, on_attachment, &g, &ms);
    judge_mail(s->judge, &c->subj, g.now, &c->tx, em, v);
}

static bool judge_message(struct mta_server *s, struct session *c,
                          struct verdict *v, struct email_info *em, bool *parsed,
                          size_t *len_out, struct strip_parts *bad)
{
    bool cut = false;
    size_t len = load_message(s, queue_file_path(c->qf), &cut);
    if (len == (size_t)-1)
        return false;
    judge_bytes(s, c, s->msg, len, v, em, bad);
    *parsed = true;
    *len_out = cut ? (size_t)-1 : len;
    if (cut && !v->block) {
        v->failed = true;
        snprintf(v->reason, sizeof(v->reason), "judged on its first %llu bytes "
                 "(smtp.message-max)", (unsigned long long)s->cfg.smtp_message_max);
    }
    return true;
}

/* --- the end of DATA ------------------------------------------------------ */

static void one_line(char *dst, size_t n, const char *src)
{
    text_copy(dst, n, src, strlen(src));
    for (char *p = dst; *p; p++)
        if (*p == '\r' || *p == '\n')
            *p = ' ';
}

static void log_message(struct mta_server *s, struct session *c, const char *verdict,
                        const char *action, const char *reason, const char *id,
                        int code, const struct email_info *em, unsigned findings)
{
    if (!s->eve)
        return;
    c->tx.message_bytes = c->size;
    c->tx.has_message = true;
    c->tx.message_complete = true;
    c->tx.last_reply = (uint16_t)code;
    c->tx.starttls = c->tls != NULL;
    struct mta_event ev = {
        .ts_usec = wall_usec(), .subj = &c->subj, .tx = &c->tx, .em = em,
        .verdict = verdict, .action = action, .reason = reason, .queue_id = id,
        .reply = code, .size = c->size, .findings = findings,
        .tls_version = c->tls ? mta_tls_version(c->tls) : NULL,
        .tls_cipher = c->tls ? mta_tls_cipher(c->tls) : NULL,
    };
    eve_write_mta_message(s->eve, &ev);
}

/* The commit is done (collected from its worker, or run in place): 250
 * only now that the message is durable, else 451. A session closed in
 * the meantime is freed here; its message, committed, goes out all the
 * same. */
static void committed(struct mta_server *s, struct mta_commit_job *job)
{
    struct session *c = job->owner;
    c->committing = false;
    const struct verdict *v = &c->v;
    const struct email_info *emp = c->parsed ? c->email : NULL;
    const char *verdict = c->env.verdict;
    bool quarantine = job->quarantine;
    pthread_mutex_lock(&s->eve_lock);
    if (job->ok) {
        char text[128];
        snprintf(text, sizeof(text), "Ok: queued as %s", job->id);
        reply(c, 250, "2.0.0", text);
        s->st.queued++;
        s->st.quarantined += quarantine;
        s->st.stripped += c->stripped;
        s->st.tagged += v->block && !quarantine && !c->stripped;
        s->st.unjudged += v->failed && !v->block;
        log_message(s, c, verdict, quarantine ? "quarantine" : c->stripped ? "strip"
                    : v->block ? "tag" : "deliver", v->reason, job->id, 250, emp,
                    v->findings);
        if (!quarantine)
            mta_deliver_queued(s->deliver, job->id);
    } else {
        fprintf(stderr, "nightjar-mta: %s\n", job->err);
        s->st.temp_failures++;
        reply(c, 451, "4.3.0", "Requested action aborted: local error in processing");
        log_message(s, c, verdict, "refuse", "the queue could not take it", "",
                    451, emp, v->findings);
    }
    pthread_mutex_unlock(&s->eve_lock);
    tx_reset(c);
    if (c->zombie) {
        buf_free(&c->out);
        free(c->email);
        free(c);
    }
}

/* Hands the message to a commit worker; the session reads nothing more
 * until committed() has answered. */
static void commit_begin(struct mta_server *s, struct session *c, const char *verdict,
                         bool quarantine)
{
    text_copy(c->env.verdict, sizeof(c->env.verdict), verdict, strlen(verdict));
    one_line(c->env.reason, sizeof(c->env.reason), c->v.reason);
    c->env.arrived_usec = wall_usec();
    memset(&c->job, 0, sizeof(c->job));
    c->job.qf = c->qf;
    c->job.env = &c->env;
    c->job.quarantine = quarantine;
    c->job.owner = c;
    c->qf = NULL;
    c->committing = true;
    if (mta_commit_submit(s->commits, &c->job))
        committed(s, &c->job);
}

/* mta.action strip: the malicious parts taken out and the URLs defanged
 * (s->stripped), judged again, quietly -- the findings were written the
 * first time. The stripped message replaces the received one in the
 * queue file to be committed. False when it cannot be done (a cause that
 * is no part, a rewrite that failed or changed nothing, a message cut at
 * smtp.message-max, parts past the caps, the disk): the fallback applies,
 * reason says why. */
static bool strip(struct mta_server *s, struct session *c, size_t len,
                  const struct strip_parts *bad, char *reason, size_t reasonlen)
{
    struct strip_result res;
    if (len == (size_t)-1) {
        snprintf(reason, reasonlen, "longer than smtp.message-max: not all of it was judged");
        return false;
    }
    if (!mta_strip(s->msg, len, bad, s->judge, &s->stripped, &res, &s->st.rewrite) ||
        res.caps_hit) {
        snprintf(reason, reasonlen, "%s", res.caps_hit ? "more parts than can be judged"
                 : res.status != MIME_REWRITE_OK ? mime_rewrite_status_name(res.status)
                 : "nothing in it could be taken out");
        return false;
    }
    struct verdict v2;
    memset(&v2, 0, sizeof(v2));
    judge_set_quiet(s->judge, true);
    judge_bytes(s, c, s->stripped.p, s->stripped.len, &v2, &s->email2, NULL);
    judge_set_quiet(s->judge, false);
    if (v2.block || v2.failed) {
        snprintf(reason, reasonlen, "still malicious without its parts: %.200s", v2.reason);
        return false;
    }
    char err[256];
    struct queue_file *qf = queue_begin(s->q, err, sizeof(err));
    if (!qf || !queue_write(qf, s->stripped.p, s->stripped.len) || !queue_flush(qf)) {
        if (qf)
            queue_abort(qf);
        snprintf(reason, reasonlen, "the queue could not take the stripped message");
        return false;
    }
    queue_abort(c->qf);
    c->qf = qf;
    snprintf(reason, reasonlen, "%u part%s removed, %u URL%s defanged", res.stripped,
             res.stripped == 1 ? "" : "s", res.urls_defanged,
             res.urls_defanged == 1 ? "" : "s");
    return true;
}

static void end_of_data(struct mta_server *s, struct session *c)
{
    s->st.messages++;
    if (c->over_size) {
        s->st.too_big++;
        reply(c, 552, "5.3.4", "Message size exceeds fixed limit");
        log_message(s, c, "unjudged", "refuse", "larger than mta.max-size", "", 552, NULL, 0);
        tx_reset(c);
        return;
    }
    if (c->write_failed || !queue_flush(c->qf)) {
        s->st.temp_failures++;
        reply(c, 451, "4.3.0", "Requested action aborted: local error in processing");
        tx_reset(c);
        return;
    }
    if (!c->email && !(c->email = malloc(sizeof(*c->email)))) {
        s->st.temp_failures++;
        reply(c, 451, "4.3.0", "Requested action aborted: local error in processing");
        tx_reset(c);
        return;
    }
    struct verdict v;
    memset(&v, 0, sizeof(v));
    struct email_info *em = c->email;
    c->parsed = false;
    size_t len = 0;
    struct strip_parts bad = { 0 };
    pthread_mutex_lock(&s->eve_lock); /* findings are written as they come */
    bool read_back = judge_message(s, c, &v, em, &c->parsed, &len, &bad);
    pthread_mutex_unlock(&s->eve_lock);
    const struct email_info *emp = c->parsed ? em : NULL;
    const char *act = s->cfg.mta.action;
    char why[300] = "";
    bool stripped = false;
    if (read_back && v.block && !strcmp(act, "strip")) {
        s->st.strip_parts_over_cap += bad.over_cap;
        stripped = strip(s, c, len, &bad, why, sizeof(why));
        if (!stripped) {
            s->st.strip_fallbacks++;
            act = s->cfg.mta.strip_fallback;
            char r[sizeof(v.reason)];
            snprintf(r, sizeof(r), "%.300s (not stripped: %.180s)", v.reason, why);
            snprintf(v.reason, sizeof(v.reason), "%s", r);
        }
    }
    pthread_mutex_lock(&s->eve_lock);
    if (!read_back || (v.failed && !v.block && !s->cfg.mta.fail_open)) {
        s->st.temp_failures++;
        reply(c, 451, "4.7.1", "Cannot judge the message now, try again later");
        log_message(s, c, "unjudged", "refuse", read_back ? v.reason : "could not read "
                    "the message back", "", 451, emp, v.findings);
        tx_reset(c);
    } else if (v.block && !strcmp(act, "reject")) {
        s->st.rejected++;
        char text[300];
        snprintf(text, sizeof(text), "Message rejected: %.240s", v.reason);
        one_line(text, sizeof(text), text);
        reply(c, 550, "5.7.1", text);
        log_message(s, c, "malicious", "reject", v.reason, "", 550, emp, v.findings);
        tx_reset(c);
    } else {
        pthread_mutex_unlock(&s->eve_lock);
        if (stripped) {
            char r[sizeof(v.reason)];
            snprintf(r, sizeof(r), "%.200s: %.300s", why, v.reason);
            snprintf(v.reason, sizeof(v.reason), "%s", r);
        }
        c->v = v;
        c->stripped = stripped;
        commit_begin(s, c, v.block ? "malicious" : v.failed ? "unjudged" : "clean",
                     v.block && !strcmp(act, "quarantine"));
        return;
    }
    pthread_mutex_unlock(&s->eve_lock);
}

static void on_data(void *ctx, const uint8_t *d, size_t n)
{
    struct session *c = ctx;
    c->size += n;
    if (c->over_size || c->write_failed)
        return;
    if (!queue_write(c->qf, d, n))
        c->write_failed = true;
}

/* --- commands ------------------------------------------------------------- */

static void ehlo(struct mta_server *s, struct session *c, const struct smtp_command *cmd)
{
    tx_reset(c);
    c->state = S_HELO;
    text_copy(c->tx.helo, sizeof(c->tx.helo), cmd->domain, strlen(cmd->domain));
    text_copy(c->env.helo, sizeof(c->env.helo), cmd->domain, strlen(cmd->domain));
    if (cmd->verb == SMTP_V_HELO) {
        buf_printf(&c->out, "250 %s\r\n", s->hostname);
        return;
    }
    buf_printf(&c->out, "250-%s\r\n250-PIPELINING\r\n250-SIZE %llu\r\n"
               "250-8BITMIME\r\n250-SMTPUTF8\r\n%s250 ENHANCEDSTATUSCODES\r\n",
               s->hostname, (unsigned long long)s->cfg.mta.max_size,
               s->tls && !c->tls ? "250-STARTTLS\r\n" : "");
}

/* RFC 3207: 220, then nothing more is read in the clear -- what the client
 * sent after this line is dropped (process()) -- and once the 220 is out
 * the handshake starts (on_event()). */
static void starttls(struct mta_server *s, struct session *c)
{
    if (!s->tls) {
        reply(c, 502, "5.5.1", "STARTTLS not offered");
        return;
    }
    if (c->tls) {
        reply(c, 503, "5.5.1", "TLS already active");
        return;
    }
    if (c->state >= S_MAIL) {
        reply(c, 503, "5.5.1", "Not inside a mail transaction");
        return;
    }
    reply(c, 220, "2.0.0", "Ready to start TLS");
    c->tls_starting = true;
}

/* With mta.tls-require, what may be said before TLS (RFC 3207 4). */
static bool allowed_in_clear(enum smtp_verb v)
{
    return v == SMTP_V_EHLO || v == SMTP_V_HELO || v == SMTP_V_STARTTLS ||
           v == SMTP_V_NOOP || v == SMTP_V_QUIT;
}

static void mail(struct mta_server *s, struct session *c, const struct smtp_command *cmd)
{
    if (c->state == S_INIT) {
        reply(c, 503, "5.5.1", "Send HELO or EHLO first");
        return;
    }
    if (c->state >= S_MAIL) {
        reply(c, 503, "5.5.1", "Nested MAIL command");
        return;
    }
    if (cmd->has_size && cmd->size > s->cfg.mta.max_size) {
        reply(c, 552, "5.3.4", "Message size exceeds fixed limit");
        return;
    }
    tx_reset(c);
    text_copy(c->env.from, sizeof(c->env.from), cmd->path, strlen(cmd->path));
    text_copy(c->tx.mail_from, sizeof(c->tx.mail_from), cmd->path, strlen(cmd->path));
    text_copy(c->env.helo, sizeof(c->env.helo), c->tx.helo, strlen(c->tx.helo));
    text_copy(c->env.client, sizeof(c->env.client), c->peer, strcspn(c->peer, ":"));
    c->env.body_8bit = cmd->body_8bit;
    c->env.smtputf8 = cmd->smtputf8;
    c->state = S_MAIL;
    reply(c, 250, "2.1.0", "Ok");
}

static void rcpt(struct mta_server *s, struct session *c, const struct smtp_command *cmd)
{
    if (c->state != S_MAIL && c->state != S_RCPT) {
        reply(c, 503, "5.5.1", "Need MAIL before RCPT");
        return;
    }
    if (c->env.n_rcpt >= s->cfg.mta.max_recipients) {
        s->st.rcpt_over_cap++;
        reply(c, 452, "4.5.3", "Too many recipients");
        return;
    }
    text_copy(c->env.rcpt[c->env.n_rcpt], sizeof(c->env.rcpt[0]), cmd->path,
              strlen(cmd->path));
    c->env.n_rcpt++;
    if (c->tx.n_rcpt < SMTP_MAX_RCPT) {
        text_copy(c->tx.rcpt_to[c->tx.n_rcpt], sizeof(c->tx.rcpt_to[0]), cmd->path,
                  strlen(cmd->path));
        c->tx.n_rcpt++;
    } else {
        c->tx.rcpt_over_cap++;
    }
    c->state = S_RCPT;
    reply(c, 250, "2.1.5", "Ok");
}

static void data(struct mta_server *s, struct session *c)
{
    if (c->state == S_MAIL) {
        reply(c, 554, "5.5.1", "No valid recipients");
        return;
    }
    if (c->state != S_RCPT) {
        reply(c, 503, "5.5.1", "Need RCPT before DATA");
        return;
    }
    char err[512];
    if (!(c->qf = queue_begin(s->q, err, sizeof(err)))) {
        fprintf(stderr, "nightjar-mta: %s\n", err);
        s->st.temp_failures++;
        reply(c, 451, "4.3.0", "Requested action aborted: local error in processing");
        return;
    }
    smtp_data_begin(&c->data);
    c->state = S_DATA;
    buf_printf(&c->out, "354 End data with <CR><LF>.<CR><LF>\r\n");
}

static void command(struct mta_server *s, struct session *c, const char *line, size_t n)
{
    struct smtp_command cmd;
    struct smtp_refusal r;
    if (smtp_command_parse(line, n, c->state >= S_MAIL && c->env.smtputf8, &cmd, &r)) {
        s->st.bad_commands++;
        reply(c, r.code, r.status, r.text);
        return;
    }
    if (s->cfg.mta.tls_require && !c->tls && !allowed_in_clear(cmd.verb)) {
        s->st.tls.required_refused++;
        reply(c, 530, "5.7.0", "Must issue a STARTTLS command first");
        return;
    }
    switch (cmd.verb) {
    case SMTP_V_HELO:
    case SMTP_V_EHLO: ehlo(s, c, &cmd); return;
    case SMTP_V_MAIL: mail(s, c, &cmd); return;
    case SMTP_V_RCPT: rcpt(s, c, &cmd); return;
    case SMTP_V_DATA: data(s, c); return;
    case SMTP_V_RSET:
        tx_reset(c);
        reply(c, 250, "2.0.0", "Ok");
        return;
    case SMTP_V_NOOP: reply(c, 250, "2.0.0", "Ok"); return;
    case SMTP_V_QUIT:
        c->closing = true;
        reply(c, 221, "2.0.0", "Bye");
        return;
    case SMTP_V_VRFY: reply(c, 252, "2.5.2", "Cannot VRFY user"); return;
    case SMTP_V_HELP: reply(c, 214, "2.0.0", "See RFC 5321"); return;
    case SMTP_V_STARTTLS: starttls(s, c); return;
    default: reply(c, 502, "5.5.1", "Command not implemented"); return;
    }
}

/* --- reading ---------------------------------------------------------------- */

static void process(struct mta_server *s, struct session *c)
{
    size_t off = 0;
    while (!c->closing && !c->tls_starting && !c->committing && off < c->in_len) {
        if (c->state == S_DATA) {
            off += smtp_data_feed(&c->data, c->in + off, c->in_len - off, on_data, c);
            if (c->size > s->cfg.mta.max_size)
                c->over_size = true;
            if (!c->data.done)
                break;
            end_of_data(s, c);
            continue;
        }
        const uint8_t *lf = memchr(c->in + off, '\n', c->in_len - off);
        if (!lf) {
            if (c->in_len - off > SMTP_COMMAND_LINE_MAX) { /* no end in sight */
                if (!c->skipping)
                    reply(c, 500, "5.5.6", "Line too long");
                c->skipping = true;
                off = c->in_len;
            }
            break;
        }
        size_t n = (size_t)(lf - (c->in + off));
        if (c->skipping) {
            c->skipping = false;
        } else {
            size_t ln = n && c->in[off + n - 1] == '\r' ? n - 1 : n;
            command(s, c, (const char *)c->in + off, ln);
        }
        off += n + 1;
    }
    if (c->closing) {
        c->in_len = 0;
    } else if (c->tls_starting) {
        /* CVE-2011-0411: commands pipelined after STARTTLS were sent in
         * the clear; run inside TLS they would be an attacker's. Dropped,
         * and the session counted. */
        s->st.tls.cleartext_discarded += off < c->in_len;
        c->in_len = 0;
    } else if (off) {
        memmove(c->in, c->in + off, c->in_len - off);
        c->in_len -= off;
    }
}

/* The session's bytes in and out, in the clear or through TLS. */
enum io { IO_DONE, IO_AGAIN, IO_END };

static enum io tls_io(struct session *c, enum mta_tls_rc rc, enum mta_tls_rc other)
{
    if (rc == MTA_TLS_OK)
        return IO_DONE;
    if (rc == other) /* a read that must write first, or the reverse */
        c->tls_wait = rc;
    return rc == MTA_TLS_WANT_READ || rc == MTA_TLS_WANT_WRITE ? IO_AGAIN : IO_END;
}

static enum io session_recv(struct session *c, void *p, size_t n, size_t *got)
{
    if (c->tls)
        return tls_io(c, mta_tls_read(c->tls, p, n, got), MTA_TLS_WANT_WRITE);
    for (;;) {
        ssize_t r = recv(c->fd, p, n, 0);
        if (r > 0) {
            *got = (size_t)r;
            return IO_DONE;
        }
        if (r < 0 && errno == EINTR)
            continue;
        return r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) ? IO_AGAIN : IO_END;
    }
}

static enum io session_send(struct session *c, const void *p, size_t n, size_t *put)
{
    if (c->tls)
        return tls_io(c, mta_tls_write(c->tls, p, n, put), MTA_TLS_WANT_READ);
    for (;;) {
        ssize_t w = send(c->fd, p, n, MSG_NOSIGNAL);
        if (w > 0) {
            *put = (size_t)w;
            return IO_DONE;
        }
        if (w < 0 && errno == EINTR)
            continue;
        return w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) ? IO_AGAIN : IO_END;
    }
}

static void flush_out(struct session *c)
{
    size_t done = 0;
    while (done < c->out.len) {
        size_t put = 0;
        enum io r = session_send(c, c->out.p + done, c->out.len - done, &put);
        if (r == IO_AGAIN)
            break;
        if (r == IO_END) {
            c->out.len = 0;
            c->closing = true;
            return;
        }
        done += put;
    }
    memmove(c->out.p, c->out.p + done, c->out.len - done);
    c->out.len -= done;
}

static bool read_in(struct mta_server *s, struct session *c)
{
    for (;;) {
        size_t got = 0;
        enum io r = session_recv(c, c->in + c->in_len, IN_CAP - c->in_len, &got);
        if (r != IO_DONE)
            return r == IO_AGAIN;
        c->in_len += got;
        c->last_usec = mono_usec();
        process(s, c);
        if (c->closing || c->tls_starting || c->committing || c->in_len == IN_CAP)
            return true;
    }
}

/* One step of the handshake: true once TLS is up (the session goes on as
 * a new one, RFC 3207 4.2: HELO/EHLO, MAIL and RCPT forgotten); false while
 * it waits, or when it failed and the session was closed. Its time is
 * bounded by mta.timeout from the STARTTLS line (check_timeouts()). */
static bool handshake(struct mta_server *s, struct session *c)
{
    enum mta_tls_rc rc = mta_tls_handshake(c->tls);
    if (rc == MTA_TLS_WANT_READ || rc == MTA_TLS_WANT_WRITE) {
        c->tls_wait = rc;
        want(s, c);
        return false;
    }
    if (rc != MTA_TLS_OK) {
        s->st.tls.handshakes_failed++;
        session_close(s, c);
        return false;
    }
    s->st.tls.handshakes_ok++;
    c->tls_handshaking = false;
    c->tls_wait = MTA_TLS_OK;
    tx_reset(c);
    memset(c->tx.helo, 0, sizeof(c->tx.helo));
    c->state = S_INIT;
    c->in_len = 0;
    c->skipping = false;
    c->last_usec = mono_usec();
    return true;
}

static void on_event(struct mta_server *s, struct session *c, uint32_t events)
{
    if (c->tls_handshaking) {
        if (!handshake(s, c))
            return;
        events |= EPOLLIN; /* the client may have spoken already */
    }
    enum mta_tls_rc waited = c->tls_wait;
    c->tls_wait = MTA_TLS_OK;
    bool keep = true;
    if (!c->tls_starting && ((events & (EPOLLIN | EPOLLHUP | EPOLLERR)) ||
                             waited == MTA_TLS_WANT_WRITE))
        keep = read_in(s, c);
    if (keep && c->out.len)
        flush_out(c);
    /* decrypted bytes TLS still holds wake no epoll: read them now */
    if (keep && c->tls && !c->closing && c->in_len < IN_CAP && mta_tls_pending(c->tls))
        keep = read_in(s, c);
    if (!keep || (c->closing && !c->out.len)) {
        session_close(s, c);
        return;
    }
    if (c->tls_starting && !c->out.len) { /* the 220 is out */
        c->tls_starting = false;
        c->in_len = 0;
        if (!(c->tls = mta_tls_accept(s->tls, c->fd))) {
            s->st.tls.handshakes_failed++;
            session_close(s, c);
            return;
        }
        c->tls_handshaking = true;
        on_event(s, c, 0);
        return;
    }
    want(s, c);
}

static void on_accept(struct mta_server *s)
{
    for (;;) {
        struct sockaddr_storage sa;
        socklen_t sl = sizeof(sa);
        int fd = accept4(s->lfd, (struct sockaddr *)&sa, &sl, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0)
            return;
        struct session *c = s->n_sessions < s->cfg.mta.max_connections
                                ? calloc(1, sizeof(*c)) : NULL;
        if (!c) {
            static const char busy[] = "421 4.3.2 Too many sessions, try later\r\n";
            ssize_t w = send(fd, busy, sizeof(busy) - 1, MSG_NOSIGNAL);
            (void)w;
            close(fd);
            s->st.refused_sessions++;
            continue;
        }
        c->fd = fd;
        net_peer(&sa, c->peer, sizeof(c->peer), &c->subj.ip_version, &c->subj.client);
        c->subj.client_port = ntohs(((struct sockaddr_in *)&sa)->sin_port);
        c->last_usec = mono_usec();
        c->next = s->active;
        if (s->active)
            s->active->prev = c;
        s->active = c;
        s->n_sessions++;
        s->st.sessions++;
        buf_printf(&c->out, "220 %s ESMTP nightjar-mta %s\r\n", s->hostname,
                   NIGHTJAR_VERSION);
        struct epoll_event ev = { .events = EPOLLIN | EPOLLOUT, .data.ptr = c };
        c->io.reading = c->io.writing = true;
        if (epoll_ctl(s->ep, EPOLL_CTL_ADD, fd, &ev) != 0)
            session_close(s, c);
    }
}

static void check_timeouts(struct mta_server *s)
{
    uint64_t now = mono_usec(), limit = (uint64_t)s->cfg.mta.timeout * 1000000u;
    struct session *next;
    for (struct session *c = s->active; c; c = next) {
        next = c->next;
        if (c->committing || now - c->last_usec < limit)
            continue;
        s->st.timeouts++;
        if (c->tls_handshaking) { /* nothing can be said in the clear now */
            s->st.tls.handshakes_failed++;
            s->st.tls.handshake_timeouts++;
            session_close(s, c);
            continue;
        }
        reply(c, 421, "4.4.2", "Timeout, closing connection");
        flush_out(c);
        session_close(s, c);
    }
}

/* A commit collected from its worker: the session goes on with what came
 * in behind the message. */
static void on_committed(void *ctx, struct mta_commit_job *job)
{
    struct mta_server *s = ctx;
    struct session *c = job->owner;
    bool zombie = c->zombie;
    committed(s, job);
    if (zombie)
        return;
    c->last_usec = mono_usec();
    process(s, c);
    if (c->out.len)
        flush_out(c);
    if (c->closing && !c->out.len && !c->committing) {
        session_close(s, c);
        return;
    }
    want(s, c);
}

/* At stop: the commits in progress are answered, nothing more is read. */
static void on_drained(void *ctx, struct mta_commit_job *job)
{
    struct session *c = job->owner;
    bool zombie = c->zombie;
    committed(ctx, job);
    if (!zombie)
        flush_out(c);
}

/* --- setup and the loop ------------------------------------------------------ */

#define DELIVERY_GETTER(field)                                               \
    static uint64_t get_##field(const void *ctx)                             \
    {                                                                        \
        struct mta_deliver_stats st;                                         \
        mta_deliver_stats(((const struct mta_server *)ctx)->deliver, &st);   \
        return st.field;                                                     \
    }
DELIVERY_GETTER(attempts)
DELIVERY_GETTER(delivered)
DELIVERY_GETTER(deferred)
DELIVERY_GETTER(failed)
DELIVERY_GETTER(held)
DELIVERY_GETTER(schedule_full)
DELIVERY_GETTER(tls_ok)
DELIVERY_GETTER(tls_failed)
DELIVERY_GETTER(tls_not_offered)
DELIVERY_GETTER(bounces)
DELIVERY_GETTER(bounce_errors)
#undef DELIVERY_GETTER

static uint64_t sessions_open(const void *ctx)
{
    return ((const struct mta_server *)ctx)->n_sessions;
}

/* Every cap and refusal, for the stats record ("mta.*", "judge.*", ...). */
static bool register_counters(struct mta_server *s)
{
    struct counters *r = s->counters = counters_new();
    if (!r)
        return false;
    struct mta_stats *t = &s->st;
    counters_fn(r, "mta.sessions_open", sessions_open, s);
#define C(n) counters_u64(r, "mta." #n, &t->n);
    C(sessions) C(refused_sessions) C(timeouts) C(messages) C(queued) C(rejected)
    C(quarantined) C(tagged) C(unjudged) C(too_big) C(temp_failures)
    C(bad_commands) C(rcpt_over_cap) C(closed_while_committing) C(stripped) C(strip_fallbacks) C(strip_parts_over_cap)
    C(rewrite.parts) C(rewrite.stripped) C(rewrite.defanged) C(rewrite.urls_defanged)
    C(rewrite.depth_over_cap) C(rewrite.parts_over_cap) C(rewrite.bad_encoding)
    C(tls.handshakes_ok) C(tls.handshakes_failed) C(tls.handshake_timeouts)
    C(tls.cleartext_discarded) C(tls.required_refused)
#undef C
    counters_fn(r, "mta.delivery.attempts", get_attempts, s);
    counters_fn(r, "mta.delivery.delivered", get_delivered, s);
    counters_fn(r, "mta.delivery.deferred", get_deferred, s);
    counters_fn(r, "mta.delivery.failed", get_failed, s);
    counters_fn(r, "mta.delivery.held", get_held, s);
    counters_fn(r, "mta.delivery.schedule_full", get_schedule_full, s);
    counters_fn(r, "mta.delivery.tls.handshakes_ok", get_tls_ok, s);
    counters_fn(r, "mta.delivery.tls.handshakes_failed", get_tls_failed, s);
    counters_fn(r, "mta.delivery.tls.not_offered", get_tls_not_offered, s);
    counters_fn(r, "mta.delivery.bounces", get_bounces, s);
    counters_fn(r, "mta.delivery.bounce_errors", get_bounce_errors, s);
    judge_counters(s->judge, r);
    return true;
}

/* The stats record (eve_lock held). */
static void write_stats(struct mta_server *s, uint64_t wall)
{
    s->last_stats_wall = wall;
    if (s->eve && s->counters) {
        eve_write_stats(s->eve, wall, s->counters);
        eve_flush(s->eve);
    }
}

struct mta_server *mta_server_new(const struct nj_config *cfg, struct eve *eve,
                                  char *err, size_t errlen)
{
    struct mta_server *s = calloc(1, sizeof(*s));
    if (!s) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    s->cfg = *cfg;
    s->eve = eve;
    s->lfd = s->ep = -1;
    pthread_mutex_init(&s->eve_lock, NULL);
    if (cfg->mta.hostname[0])
        text_copy(s->hostname, sizeof(s->hostname), cfg->mta.hostname,
                  strlen(cfg->mta.hostname));
    else if (gethostname(s->hostname, sizeof(s->hostname) - 1) != 0)
        snprintf(s->hostname, sizeof(s->hostname), "localhost");
    if (cfg->mta.tls_cert[0]) {
        char warn[1200];
        if (!(s->tls = mta_tls_server_new(cfg->mta.tls_cert, cfg->mta.tls_key, warn,
                                          sizeof(warn), err, errlen))) {
            mta_server_free(s);
            return NULL;
        }
        if (warn[0])
            fprintf(stderr, "nightjar-mta: warning: %s\n", warn);
    }
    if (!(s->q = queue_open(cfg->mta.queue, &s->recovered, err, errlen)) ||
        !(s->content = content_engine_new(&cfg->content, err, errlen)) ||
        !(s->judge = judge_new(cfg, eve, err, errlen)) ||
        !(s->commits = mta_commit_new(COMMIT_WORKERS, err, errlen)) ||
        (s->lfd = net_listen(cfg->mta.listen, s->addr, sizeof(s->addr), err, errlen)) < 0 ||
        !(s->deliver = mta_deliver_new(cfg, s->q, eve, &s->eve_lock, err, errlen))) {
        mta_server_free(s);
        return NULL;
    }
    s->ep = epoll_create1(EPOLL_CLOEXEC);
    struct epoll_event ev = { .events = EPOLLIN, .data.ptr = NULL };
    struct epoll_event cev = { .events = EPOLLIN, .data.ptr = s->commits };
    if (s->ep < 0 || epoll_ctl(s->ep, EPOLL_CTL_ADD, s->lfd, &ev) != 0 ||
        epoll_ctl(s->ep, EPOLL_CTL_ADD, mta_commit_fd(s->commits), &cev) != 0) {
        snprintf(err, errlen, "epoll: %s", strerror(errno));
        mta_server_free(s);
        return NULL;
    }
    if (!register_counters(s)) {
        snprintf(err, errlen, "out of memory");
        mta_server_free(s);
        return NULL;
    }
    s->last_stats_wall = wall_usec();
    return s;
}

void mta_server_free(struct mta_server *s)
{
    if (!s)
        return;
    if (s->commits) /* answered before the delivery thread goes */
        mta_commit_drain(s->commits, on_drained, s);
    mta_commit_free(s->commits);
    mta_deliver_free(s->deliver);
    while (s->active)
        session_close(s, s->active);
    if (s->lfd >= 0)
        close(s->lfd);
    if (s->ep >= 0)
        close(s->ep);
    if (s->judge)
        judge_finish(s->judge, wall_usec());
    judge_free(s->judge);
    content_engine_free(s->content);
    queue_close(s->q);
    mta_tls_ctx_free(s->tls);
    pthread_mutex_destroy(&s->eve_lock);
    counters_free(s->counters);
    free(s->msg);
    buf_free(&s->stripped);
    free(s);
}

const char *mta_server_address(const struct mta_server *s) { return s->addr; }
bool mta_server_tls(const struct mta_server *s) { return s->tls != NULL; }
unsigned mta_server_recovered(const struct mta_server *s) { return s->recovered; }

/* SIGHUP: the certificate and key read again (a renewed certificate
 * without a restart); sessions already in TLS keep the old ones. When the
 * files do not load, the ones in use stay, and stderr says why. */
static void reload_tls(struct mta_server *s)
{
    if (!s->tls)
        return;
    char warn[1200], err[1200];
    struct mta_tls_ctx *t = mta_tls_server_new(s->cfg.mta.tls_cert, s->cfg.mta.tls_key,
                                               warn, sizeof(warn), err, sizeof(err));
    if (!t) {
        fprintf(stderr, "nightjar-mta: SIGHUP: %s; the certificate loaded before "
                "stays in use\n", err);
        return;
    }
    if (warn[0])
        fprintf(stderr, "nightjar-mta: warning: %s\n", warn);
    mta_tls_ctx_free(s->tls);
    s->tls = t;
}

int mta_server_run(struct mta_server *s, volatile sig_atomic_t *stop,
                   volatile sig_atomic_t *reload)
{
    struct epoll_event evs[64];
    uint64_t last = 0;
    mta_deliver_wake(s->deliver); /* what was queued before a restart */
    while (!*stop) {
        int n = epoll_wait(s->ep, evs, 64, 500);
        if (n < 0 && errno != EINTR) {
            fprintf(stderr, "nightjar-mta: epoll_wait: %s\n", strerror(errno));
            return 1;
        }
        bool committed_some = false;
        for (int i = 0; i < n; i++) {
            if (!evs[i].data.ptr)
                on_accept(s);
            else if (evs[i].data.ptr == s->commits)
                committed_some = true;
            else
                on_event(s, evs[i].data.ptr, evs[i].events);
        }
        /* after the sessions' events: a session it closes is freed, and
         * must not be one this batch still names */
        if (committed_some)
            mta_commit_collect(s->commits, on_committed, s);
        uint64_t now = mono_usec();
        if (*reload || now - last >= 500000u) {
            last = now;
            pthread_mutex_lock(&s->eve_lock);
            if (*reload) {
                *reload = 0;
                reload_tls(s);
                judge_request_reload(s->judge);
                if (s->eve)
                    sink_reopen(eve_sink(s->eve));
            }
            uint64_t wall = wall_usec();
            judge_poll(s->judge, wall);
            uint64_t every = (uint64_t)s->cfg.stats_interval * 1000000u;
            if (every && wall - s->last_stats_wall >= every)
                write_stats(s, wall);
            else if (s->eve)
                eve_flush(s->eve);
            pthread_mutex_unlock(&s->eve_lock);
            check_timeouts(s);
        }
    }
    mta_commit_drain(s->commits, on_drained, s);
    pthread_mutex_lock(&s->eve_lock);
    write_stats(s, wall_usec());
    pthread_mutex_unlock(&s->eve_lock);
    return 0;
}
