/* icap_server.c -- the ICAP event loop, connections and transactions (see
 * icap_server.h); the answers are written by icap_answer.c. */
#include "icap/icap_server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "icap/icap_event.h"
#include "icap/icap_internal.h"
#include "output/eve_icap.h"
#include "output/sink.h"
#include "util/counters.h"
#include "util/net.h"

/* --- connections ------------------------------------------------------------ */

static void want(struct icap_server *s, struct conn *c)
{
    net_want(s->ep, c->fd, c, &c->io, !c->closing && !c->scanning &&
             c->out.len < OUT_HIGH, c->out.len > 0);
}

static void tx_reset(struct conn *c)
{
    c->state = C_HEAD;
    c->heads.len = 0;
    c->in_preview = c->decided = c->relay = c->over_cap = c->failed = false;
    memset(&c->v, 0, sizeof(c->v));
    memset(&c->tx, 0, sizeof(c->tx));
    c->name[0] = '\0';
    c->encoding = HTTP_ENC_NONE;
    c->body_size = 0;
    if (c->body.cap > BODY_KEEP_IDLE)
        buf_free(&c->body);
    c->body.len = 0;
}

/* A connection closed while its body is with a worker waits, out of the
 * active list, until the worker is done with its buffers. */
static void conn_close(struct icap_server *s, struct conn *c)
{
    epoll_ctl(s->ep, EPOLL_CTL_DEL, c->fd, NULL);
    close(c->fd);
    if (c->prev)
        c->prev->next = c->next;
    else
        s->active = c->next;
    if (c->next)
        c->next->prev = c->prev;
    s->n_conns--;
    if (c->scanning) {
        c->zombie = true;
        s->st.closed_while_scanning++;
        c->prev = NULL;
        c->next = s->zombies;
        if (s->zombies)
            s->zombies->prev = c;
        s->zombies = c;
        return;
    }
    c->out.len = 0;
    if (c->out.cap > BODY_KEEP_IDLE)
        buf_free(&c->out);
    tx_reset(c);
    c->next = s->free_list;
    s->free_list = c;
}

static struct conn *conn_get(struct icap_server *s)
{
    struct conn *c = s->free_list;
    if (c) {
        s->free_list = c->next;
    } else {
        c = calloc(1, sizeof(*c));
        if (!c)
            return NULL;
        if (!digest3_begin(&c->d, DIGEST_ALL)) {
            free(c);
            return NULL;
        }
    }
    c->in_len = 0;
    c->closing = false;
    c->prev = NULL;
    c->next = s->active;
    if (s->active)
        s->active->prev = c;
    s->active = c;
    s->n_conns++;
    tx_reset(c);
    return c;
}

/* --- the transaction ---------------------------------------------------------- */

/* The client the proxy names (X-Client-IP), else the proxy itself; the
 * server when the URL names it by address. */
static void subject_of(const struct conn *c, struct event_subject *subj)
{
    memset(subj, 0, sizeof(*subj));
    const char *ip = c->req.client_ip;
    if (ip[0] && inet_pton(AF_INET, ip, subj->client.b) == 1)
        subj->ip_version = 4;
    else if (ip[0] && inet_pton(AF_INET6, ip, subj->client.b) == 1)
        subj->ip_version = 6;
    else {
        subj->ip_version = c->peer_v;
        subj->client = c->peer_addr;
    }
    char host[256];
    snprintf(host, sizeof(host), "%s", c->tx.host);
    bool https = !strncmp(c->tx.uri, "https:", 6) || !strcmp(c->tx.method, "CONNECT");
    subj->server_port = https ? 443 : 80;
    char *colon = strrchr(host, ':');
    if (host[0] == '[') {
        char *rb = strchr(host, ']');
        if (rb && rb[1] == ':')
            subj->server_port = (uint16_t)atoi(rb + 2);
        if (rb)
            *rb = '\0';
        memmove(host, host + 1, strlen(host));
    } else if (colon && strchr(host, ':') == colon) {
        subj->server_port = (uint16_t)atoi(colon + 1);
        *colon = '\0';
    }
    struct ip_addr a = { 0 };
    int v = inet_pton(AF_INET, host, a.b) == 1 ? 4
          : inet_pton(AF_INET6, host, a.b) == 1 ? 6 : 0;
    if (v && v == subj->ip_version) {
        subj->server = a;
        subj->server_known = true;
    }
}

static void log_tx(struct icap_server *s, struct conn *c, int status,
                   const char *verdict, const struct file_event *fl)
{
    if (!s->eve)
        return;
    struct event_subject subj;
    subject_of(c, &subj);
    struct icap_event ev = {
        .ts_usec = wall_usec(), .subj = &subj,
        .proxy = c->peer, .req = &c->req,
        .http = c->req.method == ICAP_OPTIONS ? NULL : &c->tx, .file = fl,
        .status = status, .verdict = verdict, .reason = c->v.reason,
        .failed = c->failed, .fail_mode = s->cfg.icap.fail_open ? "open" : "closed",
        .preview = c->req.preview >= 0,
        .decided_in_preview = c->req.preview >= 0 && !c->ch.ieof && c->in_preview,
        .body_bytes = c->body_size, .findings = c->v.findings, .istag = s->istag,
        .usec = mono_usec() - c->start_usec,
    };
    eve_write_icap(s->eve, &ev);
}

/* Judging could not finish: the fail mode decides, and says so. */
static void not_judged(struct icap_server *s, struct conn *c, const char *why)
{
    if (!c->failed) {
        c->failed = true;
        s->st.failed++;
    }
    if (!c->v.reason[0] || !c->v.block)
        snprintf(c->v.reason, sizeof(c->v.reason), "not judged: %s (fail %s)",
                 why, s->cfg.icap.fail_open ? "open: passed" : "closed: blocked");
    if (!s->cfg.icap.fail_open)
        c->v.block = true;
}

/* The answer to a judged transaction; the EVE event; ready for the next. */
static void finish(struct icap_server *s, struct conn *c,
                   const struct file_event *fl)
{
    int status;
    const char *verdict = "pass";
    if (c->v.block) {
        if (c->relay) { /* the message is already on its way: cut it */
            c->closing = true;
            status = 200;
        } else {
            icap_answer_block(s, c);
            status = 200;
        }
        verdict = "block";
        s->st.blocked++;
    } else if (c->relay) {
        buf_add(&c->out, "0\r\n\r\n", 5);
        status = 200;
    } else if (c->req.allow_204 || c->in_preview) {
        icap_answer_empty(s, c, 204, "No Content");
        s->st.status_204++;
        status = 204;
    } else {
        icap_answer_unmodified(s, c);
        status = 200;
    }
    s->st.transactions++;
    log_tx(s, c, status, verdict, fl);
    if (c->req.close)
        c->closing = true;
    tx_reset(c);
}

/* Content detection is done: the verdict, the answer, the next request. */
static void scanned(struct icap_server *s, struct conn *c)
{
    struct event_subject subj;
    subject_of(c, &subj);
    int dir = c->req.method == ICAP_RESPMOD ? 1 : 0;
    struct judged_body b = { .name = c->name, .size = c->job.file_size,
                           .truncated = c->over_cap || c->job.decode_cut, .dir = dir };
    const struct content_result *r = &c->job.r;
    judge_body(s->judge, &subj, wall_usec(), &c->tx, &b, r, &c->v);
    if (c->v.failed)
        not_judged(s, c, "the scan did not finish");
    if (c->over_cap)
        not_judged(s, c, "the body is larger than icap.max-body");
    struct file_event fl = { .name = c->name, .size = c->job.file_size,
                             .truncated = b.truncated, .dir = dir, .r = r,
                             .http = &c->tx };
    finish(s, c, &fl);
}

/* The body goes to a scan worker (or is scanned here without workers). */
static void scan_body(struct icap_server *s, struct conn *c)
{
    static const uint8_t none[1];
    struct icap_scan_job *j = &c->job;
    j->buf = c->body.p ? c->body.p : none;
    j->len = c->body.len;
    j->size = c->body_size;
    j->truncated = c->over_cap;
    j->encoding = c->encoding;
    j->decoded_max = (size_t)s->cfg.icap.max_body;
    j->have_hashes = c->d_ready;
    if (c->d_ready)
        digest3_end(&c->d, &j->hashes);
    c->d_ready = false;
    j->owner = c;
    if (icap_scan_submit(s->scan, j)) {
        scanned(s, c);
        return;
    }
    c->scanning = true;
    want(s, c);
}

/* The body is complete (or the preview held all of it). */
static void body_done(struct icap_server *s, struct conn *c)
{
    if (c->decided) {
        finish(s, c, NULL);
        return;
    }
    scan_body(s, c);
}

/* Past icap.max-body: keep hashing; decide how the message goes back. */
static void went_over_cap(struct icap_server *s, struct conn *c)
{
    c->over_cap = true;
    s->st.over_cap++;
    if (!s->cfg.icap.fail_open || c->req.allow_204 || c->in_preview)
        return; /* answered at the end: the block page, or 204 */
    /* fail open and the client wants the message back: stream it */
    c->relay = true;
    s->st.relayed++;
    icap_status_line(s, c, 200, "OK");
    icap_encapsulated_original(c, c->req.method == ICAP_RESPMOD ? "res-body" : "req-body");
    icap_add_chunk(&c->out, c->body.p, c->body.len);
}

struct body_ctx {
    struct icap_server *s;
    struct conn *c;
};

static void on_body_data(void *ctx, const uint8_t *d, size_t n)
{
    struct body_ctx *b = ctx;
    struct conn *c = b->c;
    c->body_size += n;
    if (c->decided)
        return;
    if (c->d_ready) /* past the cap: the digests are streamed */
        digest3_update(&c->d, d, n);
    if (c->relay) {
        icap_add_chunk(&c->out, d, n);
        return;
    }
    if (c->over_cap)
        return;
    uint64_t max = b->s->cfg.icap.max_body;
    size_t keep = c->body.len + n <= max ? n : (size_t)(max - c->body.len);
    if (!buf_add(&c->body, d, keep)) {
        keep = 0;
        not_judged(b->s, c, "out of memory for the body");
    }
    if (keep < n) {
        c->d_ready = digest3_begin(&c->d, icap_scan_hash_mask(b->s->scan));
        if (c->d_ready)
            digest3_update(&c->d, c->body.p, c->body.len);
        if (c->d_ready)
            digest3_update(&c->d, d + keep, n - keep);
        went_over_cap(b->s, c);
        if (c->relay) /* what did not fit follows what was kept */
            icap_add_chunk(&c->out, d + keep, n - keep);
    }
}

/* --- reading a transaction ------------------------------------------------ */

/* A request that cannot be read on: answered, then the connection closes. */
static void refuse(struct icap_server *s, struct conn *c, int status,
                   const char *phrase, const char *why)
{
    c->closing = true;
    snprintf(c->v.reason, sizeof(c->v.reason), "%s", why);
    icap_answer_empty(s, c, status, phrase);
    log_tx(s, c, status, "error", NULL);
    c->in_len = 0;
}

static const char *phrase_of(int status)
{
    switch (status) {
    case 400: return "Bad Request";
    case 404: return "ICAP Service Not Found";
    case 405: return "Method Not Allowed For Service";
    case 408: return "Request Timeout";
    case 505: return "ICAP Version Not Supported";
    default: return "Server Error";
    }
}

static void start_body(struct icap_server *s, struct conn *c)
{
    icap_chunks_reset(&c->ch);
    (void)s;
    c->in_preview = c->req.preview >= 0;
    c->d_ready = false;
    c->state = C_BODY;
}

/* The ICAP head is in: parse, answer OPTIONS, or go on to the heads. */
static size_t read_head(struct icap_server *s, struct conn *c, const uint8_t *head,
                        size_t hl)
{
    char err[256];
    c->start_usec = mono_usec();
    int st = icap_parse_head((const char *)head, hl, &c->req, err, sizeof(err));
    if (!st && strcmp(c->req.service, s->cfg.icap.service) != 0) {
        st = 404;
        snprintf(err, sizeof(err), "no service %.100s (this server's is %.40s)",
                 c->req.service, s->cfg.icap.service);
    }
    if (st) {
        refuse(s, c, st, phrase_of(st), err);
        return 0;
    }
    if (c->req.method == ICAP_OPTIONS) {
        s->st.options++;
        if (c->req.body == ICAP_OPT_BODY) /* no use for one: answer, close */
            c->closing = true;
        icap_answer_options(s, c);
        log_tx(s, c, 200, "pass", NULL);
        if (c->req.close)
            c->closing = true;
        return c->closing ? 0 : hl;
    }
    c->req.method == ICAP_REQMOD ? s->st.reqmod++ : s->st.respmod++;
    c->state = C_HEADS;
    return hl;
}

/* A proxy's request carries the whole URL: the host comes from it when
 * there is no Host header; the body's file name is the one the response
 * gives (Content-Disposition), else the URL path's last part. */
static void complete_tx(struct conn *c)
{
    struct http_tx *t = &c->tx;
    const char *path = t->uri;
    const char *u = strstr(t->uri, "://");
    if (u && strcspn(t->uri, "/?#") >= (size_t)(u - t->uri)) {
        const char *auth = u + 3;
        size_t al = strcspn(auth, "/?#");
        path = auth + al;
        const char *at = memchr(auth, '@', al);
        if (at) { /* user:password@ is never a host */
            al -= (size_t)(at + 1 - auth);
            auth = at + 1;
        }
        if (!t->host[0])
            snprintf(t->host, sizeof(t->host), "%.*s", (int)(al < 255 ? al : 255), auth);
    }
    size_t pl = strcspn(path, "?#");
    const char *base = path;
    for (size_t i = 0; i < pl; i++)
        if (path[i] == '/')
            base = path + i + 1;
    size_t bl = (size_t)(path + pl - base);
    snprintf(c->name, sizeof(c->name), "%s", t->filename);
    if (!c->name[0])
        snprintf(c->name, sizeof(c->name), "%.*s",
                 (int)(bl < sizeof(c->name) - 1 ? bl : sizeof(c->name) - 1), base);
}

/* The encapsulated HTTP heads are in: parse them, check the request. */
static void read_heads(struct icap_server *s, struct conn *c)
{
    struct http_framing fr = { 0 };
    struct http_stats hs = { 0 };
    const uint8_t *h;
    size_t n;
    bool ok = true;
    if (icap_section(c, ICAP_REQ_HDR, &h, &n))
        ok = http_head_parse(&c->tx, 0, (const char *)h, n, &fr, &hs);
    if (ok && icap_section(c, ICAP_RES_HDR, &h, &n))
        ok = http_head_parse(&c->tx, 1, (const char *)h, n, &fr, &hs);
    if (!ok) {
        refuse(s, c, 400, "Bad Request", "an encapsulated HTTP head is not HTTP");
        return;
    }
    c->encoding = fr.enc; /* of the last head: the one whose body follows */
    complete_tx(c);
    struct event_subject subj;
    subject_of(c, &subj);
    judge_request(s->judge, &subj, wall_usec(), &c->tx, &c->v);
    c->decided = c->v.block;
    if (c->req.body == ICAP_NULL_BODY) { /* nothing more to judge */
        finish(s, c, NULL);
        return;
    }
    start_body(s, c);
}

/* Body bytes: data goes to the body; at a preview's end either the answer
 * (decided, or the preview was all) or 100 Continue. */
static size_t feed_body(struct icap_server *s, struct conn *c, const uint8_t *d,
                        size_t n)
{
    char err[160];
    struct body_ctx ctx = { s, c };
    ssize_t used = icap_chunks_feed(&c->ch, d, n, on_body_data, &ctx, err, sizeof(err));
    if (used < 0) {
        if (c->relay) { /* half an answer is out: only closing is left */
            c->closing = true;
            c->in_len = 0;
            return 0;
        }
        refuse(s, c, 400, "Bad Request", err);
        return 0;
    }
    if (c->ch.state != CH_DONE)
        return (size_t)used;
    if (c->in_preview && !c->ch.ieof && !c->decided) {
        c->in_preview = false;
        icap_chunks_reset(&c->ch);
        buf_add(&c->out, "ICAP/1.0 100 Continue\r\n\r\n", 25);
        s->st.status_100++;
        return (size_t)used;
    }
    body_done(s, c);
    return (size_t)used;
}

/* Consumes what the input holds, step by step. */
static void process(struct icap_server *s, struct conn *c)
{
    size_t off = 0;
    while (!c->closing && !c->scanning && off < c->in_len) {
        size_t used = 0;
        if (c->state == C_HEAD) {
            size_t hl = icap_head_length(c->in + off, c->in_len - off);
            if (!hl) {
                if (c->in_len - off >= ICAP_HEAD_MAX)
                    refuse(s, c, 400, "Bad Request", "ICAP head too long");
                break;
            }
            used = read_head(s, c, c->in + off, hl);
        } else if (c->state == C_HEADS) {
            size_t need = c->req.heads_len;
            if (c->in_len - off < need)
                break;
            buf_add(&c->heads, c->in + off, need);
            used = need;
            off += used;
            read_heads(s, c);
            continue;
        } else {
            used = feed_body(s, c, c->in + off, c->in_len - off);
        }
        if (!used)
            break;
        off += used;
    }
    if (c->closing)
        c->in_len = 0;
    else if (off) {
        memmove(c->in, c->in + off, c->in_len - off);
        c->in_len -= off;
    }
}

/* --- I/O ------------------------------------------------------------------------- */

static void flush_out(struct icap_server *s, struct conn *c)
{
    size_t done = 0;
    while (done < c->out.len) {
        ssize_t w = send(c->fd, c->out.p + done, c->out.len - done, MSG_NOSIGNAL);
        if (w > 0) {
            done += (size_t)w;
            continue;
        }
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            break;
        c->out.len = 0; /* the client went away */
        c->closing = true;
        done = 0;
        break;
    }
    if (done) {
        s->st.bytes_out += done;
        memmove(c->out.p, c->out.p + done, c->out.len - done);
        c->out.len -= done;
        c->last_usec = mono_usec();
    }
}

/* Reads what there is; false when the connection is to be closed now. */
static bool read_in(struct icap_server *s, struct conn *c)
{
    for (;;) {
        size_t room = IN_CAP - c->in_len;
        if (!room)
            return true;
        ssize_t r = recv(c->fd, c->in + c->in_len, room < READ_MAX ? room : READ_MAX, 0);
        if (r > 0) {
            /* a client that writes a message in pieces waits for our ACK
             * of each (Nagle): acknowledge at once, not 40 ms later */
            int one = 1;
            setsockopt(c->fd, IPPROTO_TCP, TCP_QUICKACK, &one, sizeof(one));
            c->in_len += (size_t)r;
            s->st.bytes_in += (uint64_t)r;
            c->last_usec = mono_usec();
            process(s, c);
            if (c->closing)
                return true;
            continue;
        }
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return true;
        if (r < 0)
            s->st.read_errors++;
        return false; /* closed by the client, or an error */
    }
}

static void on_conn_event(struct icap_server *s, struct conn *c, uint32_t events)
{
    bool keep = true;
    if (events & (EPOLLIN | EPOLLHUP | EPOLLERR))
        keep = read_in(s, c);
    if (keep && c->out.len)
        flush_out(s, c);
    if (!keep || (c->closing && !c->out.len)) {
        conn_close(s, c);
        return;
    }
    want(s, c);
}

/* A worker finished a body: the transaction goes on where it stopped. */
static void on_scanned(void *ctx, struct icap_scan_job *job)
{
    struct icap_server *s = ctx;
    struct conn *c = job->owner;
    c->scanning = false;
    if (c->zombie) { /* its connection is gone: now it can be reused */
        if (c->prev)
            c->prev->next = c->next;
        else
            s->zombies = c->next;
        if (c->next)
            c->next->prev = c->prev;
        c->zombie = false;
        c->out.len = 0;
        tx_reset(c);
        c->next = s->free_list;
        s->free_list = c;
        return;
    }
    scanned(s, c);
    process(s, c); /* requests that came in behind it */
    if (c->out.len)
        flush_out(s, c);
    if (c->closing && !c->out.len && !c->scanning) {
        conn_close(s, c);
        return;
    }
    want(s, c);
}


/* Over Max-Connections: a 503 written straight away, then closed. */
static void refuse_connection(struct icap_server *s, int fd)
{
    static const char busy[] = "ICAP/1.0 503 Service Unavailable\r\n"
                               "Connection: close\r\nEncapsulated: null-body=0\r\n\r\n";
    ssize_t w = send(fd, busy, sizeof(busy) - 1, MSG_NOSIGNAL);
    (void)w;
    close(fd);
    s->st.refused_max_connections++;
}

static void on_accept(struct icap_server *s)
{
    for (;;) {
        struct sockaddr_storage sa;
        socklen_t sl = sizeof(sa);
        int fd = accept4(s->lfd, (struct sockaddr *)&sa, &sl, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0)
            return; /* EAGAIN, or a transient error: epoll tells again */
        if (s->n_conns >= s->cfg.icap.max_connections) {
            refuse_connection(s, fd);
            continue;
        }
        struct conn *c = conn_get(s);
        if (!c) {
            refuse_connection(s, fd);
            continue;
        }
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        c->fd = fd;
        net_peer(&sa, c->peer, sizeof(c->peer), &c->peer_v, &c->peer_addr);
        c->last_usec = mono_usec();
        c->io.reading = true;
        c->io.writing = false;
        struct epoll_event ev = { .events = EPOLLIN, .data.ptr = c };
        if (epoll_ctl(s->ep, EPOLL_CTL_ADD, fd, &ev) != 0) {
            conn_close(s, c);
            continue;
        }
        s->st.connections++;
    }
}

/* --- timeouts ------------------------------------------------------------------ */

/* A transaction stalled: answered by the fail mode, then closed. */
static void timed_out(struct icap_server *s, struct conn *c)
{
    s->st.timeouts++;
    s->st.closed_timeout++;
    if (c->state == C_HEAD || c->relay) {
        if (c->state == C_HEAD)
            refuse(s, c, 408, "Request Timeout", "the request head did not arrive in time");
        c->closing = true;
        return;
    }
    c->closing = true;
    not_judged(s, c, "the client stalled past icap.timeout");
    if (c->v.block) {
        icap_answer_block(s, c);
        s->st.blocked++;
    } else if (c->req.allow_204 || c->in_preview) {
        icap_answer_empty(s, c, 204, "No Content");
        s->st.status_204++;
    } else {
        icap_answer_empty(s, c, 500, "Server Error");
    }
    s->st.transactions++;
    log_tx(s, c, c->v.block ? 200 : 204, c->v.block ? "block" : "pass", NULL);
}

static void check_timeouts(struct icap_server *s, uint64_t now)
{
    uint64_t tmo = (uint64_t)s->cfg.icap.timeout * 1000000u;
    uint64_t idle = (uint64_t)s->cfg.icap.idle_timeout * 1000000u;
    struct conn *next;
    for (struct conn *c = s->active; c; c = next) {
        next = c->next;
        if (c->scanning) /* the scan's own time limit applies */
            continue;
        uint64_t quiet = now - c->last_usec;
        bool midway = c->state != C_HEAD || c->in_len > 0 || c->out.len > 0;
        if (!midway && quiet >= idle) {
            s->st.closed_idle++;
            conn_close(s, c);
        } else if (midway && quiet >= tmo) {
            timed_out(s, c);
            flush_out(s, c);
            conn_close(s, c);
        }
    }
}

/* --- setup and the loop -------------------------------------------------------- */

static bool open_listener(struct icap_server *s, char *err, size_t errlen)
{
    s->lfd = net_listen(s->cfg.icap.listen, s->addr, sizeof(s->addr), err, errlen);
    if (s->lfd < 0)
        return false;
    s->ep = epoll_create1(EPOLL_CLOEXEC);
    struct epoll_event ev = { .events = EPOLLIN, .data.ptr = NULL };
    if (s->ep < 0 || epoll_ctl(s->ep, EPOLL_CTL_ADD, s->lfd, &ev) != 0) {
        snprintf(err, errlen, "epoll: %s", strerror(errno));
        return false;
    }
    return true;
}

static uint64_t active_connections(const void *ctx)
{
    return ((const struct icap_server *)ctx)->n_conns;
}

static bool register_counters(struct icap_server *s)
{
    struct counters *r = s->counters = counters_new();
    if (!r)
        return false;
    struct icap_stats *t = &s->st;
    counters_fn(r, "icap.connections_open", active_connections, s);
#define C(n) counters_u64(r, "icap." #n, &t->n);
    C(connections) C(refused_max_connections) C(closed_timeout) C(closed_idle)
    C(transactions) C(options) C(reqmod) C(respmod) C(status_204)
    C(status_200_unmodified) C(status_200_block) C(status_100) C(status_4xx)
    C(status_5xx) C(blocked) C(failed) C(over_cap) C(relayed) C(timeouts)
    C(read_errors) C(bytes_in) C(bytes_out) C(closed_while_scanning)
#undef C
    judge_counters(s->judge, r);
    icap_scan_counters(s->scan, r);
    return true;
}

/* Everything but the sockets: block page, judge, scan workers, counters. */
static struct icap_server *server_make(const struct nj_config *cfg, struct eve *eve,
                                       unsigned workers, char *err, size_t errlen)
{
    struct icap_server *s = calloc(1, sizeof(*s));
    if (!s) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    s->cfg = *cfg;
    s->eve = eve;
    s->lfd = s->ep = -1;
    s->started_wall = s->last_stats_wall = wall_usec();
    if (!icap_load_block_page(s, err, errlen) ||
        !(s->judge = judge_new(cfg, eve, err, errlen)) ||
        !(s->scan = icap_scan_new(&cfg->content, workers, err, errlen))) {
        icap_server_free(s);
        return NULL;
    }
    if (!register_counters(s)) {
        snprintf(err, errlen, "out of memory");
        icap_server_free(s);
        return NULL;
    }
    icap_update_istag(s);
    return s;
}

struct icap_server *icap_server_new(const struct nj_config *cfg, struct eve *eve,
                                    char *err, size_t errlen)
{
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    unsigned workers = cfg->icap.workers ? cfg->icap.workers
                                         : (unsigned)(cpus > 0 ? cpus : 1);
    struct icap_server *s = server_make(cfg, eve, workers, err, errlen);
    if (!s)
        return NULL;
    if (!open_listener(s, err, errlen)) {
        icap_server_free(s);
        return NULL;
    }
    struct epoll_event ev = { .events = EPOLLIN, .data.ptr = s->scan };
    if (epoll_ctl(s->ep, EPOLL_CTL_ADD, icap_scan_fd(s->scan), &ev) != 0) {
        snprintf(err, errlen, "epoll: %s", strerror(errno));
        icap_server_free(s);
        return NULL;
    }
    return s;
}

static void conn_free(struct conn *c)
{
    buf_free(&c->out);
    buf_free(&c->heads);
    buf_free(&c->body);
    digest3_free(&c->d);
    free(c);
}

void icap_server_free(struct icap_server *s)
{
    if (!s)
        return;
    icap_scan_free(s->scan); /* workers done: no buffer is in use */
    s->scan = NULL;
    while (s->active) {
        s->active->scanning = false;
        conn_close(s, s->active);
    }
    for (struct conn *c = s->zombies, *n; c; c = n) {
        n = c->next;
        conn_free(c);
    }
    for (struct conn *c = s->free_list, *n; c; c = n) {
        n = c->next;
        conn_free(c);
    }
    if (s->lfd >= 0)
        close(s->lfd);
    if (s->ep >= 0)
        close(s->ep);
    if (s->judge)
        judge_finish(s->judge, wall_usec());
    judge_free(s->judge);
    counters_free(s->counters);
    free(s->block_page);
    free(s);
}

const char *icap_server_address(const struct icap_server *s) { return s->addr; }

static void write_stats(struct icap_server *s, uint64_t wall)
{
    s->last_stats_wall = wall;
    if (s->eve) {
        eve_write_stats(s->eve, wall, s->counters);
        eve_flush(s->eve);
    }
}

/* Once a second or so: reloads, timeouts, stats, the log flushed. */
static void housekeeping(struct icap_server *s, volatile sig_atomic_t *reload)
{
    uint64_t wall = wall_usec();
    bool reloading = *reload;
    if (*reload) {
        *reload = 0;
        fprintf(stderr, "nightjar-icap: SIGHUP: reading the feeds and rules again\n");
        judge_request_reload(s->judge);
        if (s->eve)
            sink_reopen(eve_sink(s->eve));
    }
    judge_poll(s->judge, wall);
    icap_scan_poll(s->scan, wall, reloading);
    icap_update_istag(s);
    check_timeouts(s, mono_usec());
    uint64_t every = (uint64_t)s->cfg.stats_interval * 1000000u;
    if (every && wall - s->last_stats_wall >= every)
        write_stats(s, wall);
    else if (s->eve)
        eve_flush(s->eve);
}

int icap_server_run(struct icap_server *s, volatile sig_atomic_t *stop,
                    volatile sig_atomic_t *reload)
{
    struct epoll_event evs[64];
    uint64_t last = 0;
    while (!*stop) {
        int n = epoll_wait(s->ep, evs, 64, 250);
        if (n < 0 && errno != EINTR) {
            fprintf(stderr, "nightjar-icap: epoll_wait: %s\n", strerror(errno));
            return 1;
        }
        for (int i = 0; i < n; i++) {
            if (!evs[i].data.ptr)
                on_accept(s);
            else if (evs[i].data.ptr == s->scan)
                icap_scan_collect(s->scan, on_scanned, s);
            else
                on_conn_event(s, evs[i].data.ptr, evs[i].events);
        }
        uint64_t now = mono_usec();
        if (*reload || now - last >= 250000u) {
            last = now;
            housekeeping(s, reload);
        }
    }
    write_stats(s, wall_usec());
    return 0;
}
