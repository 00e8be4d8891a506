/*
 * bench/icap_load.c -- load generator for an ICAP server (RFC 3507).
 *
 * Opens --connections persistent (keep-alive) connections and sends
 * RESPMOD transactions back to back on each, one outstanding per
 * connection, from a single epoll thread (it leaves the CPU to the server).
 * Each transaction carries an HTTP GET request header, an HTTP/1.1 200
 * response header (application/octet-stream, Content-Length --body) and
 * the body in ICAP chunked encoding, with "Allow: 204". Without --preview
 * the whole body goes in one chunk; with --preview N the first N bytes go
 * as a preview ("0; ieof" when the body fits) and the rest follows only
 * after "ICAP/1.0 100 Continue".
 *
 * Body bytes are pseudo-random from a fixed seed (they match no signature);
 * the first 8 carry the connection and transaction number so that no two
 * bodies are equal (a server cannot answer from a hash cache).
 *
 * Responses are parsed in full: status line and headers; 100 Continue,
 * 204 (no body) and any final status with an Encapsulated header, whose
 * encapsulated HTTP headers are skipped and whose chunked body is read up
 * to the 0-chunk (an echo service answering 200 with the body is read
 * completely). Latency is from the first byte sent to the last byte of the
 * response. Only transactions started after --warmup count in the figures;
 * errors and unanswered transactions count over the whole run. Unanswered:
 * sent but not answered when their connection closed, or still open 5 s
 * after the end of the run.
 *
 * Prints one human line and one "RESULT name=..." line; exits 1 if there
 * was any error or unanswered transaction, 2 on bad usage.
 *
 *   cc -O2 -o bench/out/icap_load bench/icap_load.c -lpthread -lm
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define INBUF_LEN    65536      /* per-connection receive buffer */
#define MAX_HEAD_LEN 16384      /* largest ICAP header block accepted */
#define MAX_CONNS    4096
#define GRACE_NS     (5 * 1000000000LL)
#define NO_PREVIEW   (-1L)

struct opts {
    const char *host;
    const char *port;
    const char *service;        /* always with a leading '/' */
    const char *name;
    int connections;
    double duration;
    double warmup;
    long body;
    long preview;               /* NO_PREVIEW or bytes */
};

/* The request bytes: part 1 is sent first (the whole request without a
 * preview); part 2, the rest of the body, only after 100 Continue. */
struct request {
    char *buf;
    size_t len;
    size_t part1_len;
    size_t data1_off;           /* first body byte, in part 1 */
    size_t data2_off;           /* first body byte after the preview */
    size_t in_part1;            /* body bytes in part 1 */
};

enum wstate { W_IDLE, W_PART1, W_WAIT_CONTINUE, W_PART2, W_DONE };
enum rstate { R_HEAD, R_SKIP, R_CHUNK_SIZE, R_CHUNK_DATA, R_CHUNK_CRLF, R_TRAILER };

struct conn {
    int id;
    int fd;
    unsigned gen;               /* bumped on every close */
    int connecting;
    int want_out;               /* EPOLLOUT is registered */
    int close_after;            /* the response said Connection: close */
    struct request req;         /* this connection's copy */
    uint64_t seq;
    /* transaction */
    int busy;
    int64_t t_start;
    enum wstate w;
    size_t w_off, w_end;
    enum rstate r;
    long long skip;             /* R_SKIP / R_CHUNK_DATA bytes left */
    enum rstate after_skip;
    int final_seen;
    int status;
    /* receive buffer */
    char in[INBUF_LEN];
    size_t in_start, in_len;
};

struct stats {
    uint32_t *lat_us;
    size_t n, cap;
    long long s204, s200, sother, errors, unanswered, reconnects;
    long long body_bytes_in;
};

static struct opts O;
static struct stats S;
static int epfd;
static struct addrinfo *server;
static int64_t t_measure, t_end;
static int stopping;

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("icap_load: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    exit(2);
}

static void usage(void)
{
    fputs("usage: icap_load [--host 127.0.0.1] [--port 1344] [--service /scan]\n"
          "                 [--connections 16] [--duration 10] [--warmup 2]\n"
          "                 [--body 16384] [--preview N] [--name NAME]\n", stderr);
    exit(2);
}

/* ---- options ---- */

static double num_arg(const char *opt, const char *v, double lo, double hi)
{
    char *end;
    double d = strtod(v, &end);
    if (end == v || *end != '\0' || !(d >= lo && d <= hi))
        die("%s: %s is not a number in [%g, %g]", opt, v, lo, hi);
    return d;
}

static void parse_opts(int argc, char **argv)
{
    static char svc[256];
    static char name[320];
    const char *service = "/scan";
    O.host = "127.0.0.1";
    O.port = "1344";
    O.connections = 16;
    O.duration = 10;
    O.warmup = 2;
    O.body = 16384;
    O.preview = NO_PREVIEW;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (i + 1 >= argc)
            usage();
        const char *v = argv[++i];
        if (!strcmp(a, "--host"))
            O.host = v;
        else if (!strcmp(a, "--port"))
            O.port = v;
        else if (!strcmp(a, "--service"))
            service = v;
        else if (!strcmp(a, "--name"))
            O.name = v;
        else if (!strcmp(a, "--connections"))
            O.connections = (int)num_arg(a, v, 1, MAX_CONNS);
        else if (!strcmp(a, "--duration"))
            O.duration = num_arg(a, v, 0.1, 86400);
        else if (!strcmp(a, "--warmup"))
            O.warmup = num_arg(a, v, 0, 3600);
        else if (!strcmp(a, "--body"))
            O.body = (long)num_arg(a, v, 0, 1 << 30);
        else if (!strcmp(a, "--preview"))
            O.preview = (long)num_arg(a, v, 0, 1 << 30);
        else
            usage();
    }
    snprintf(svc, sizeof svc, "%s%s", service[0] == '/' ? "" : "/", service);
    O.service = svc;
    if (!O.name) {
        snprintf(name, sizeof name, "%s:%s%s", O.host, O.port, O.service);
        O.name = name;
    }
}

/* ---- the request ---- */

static uint64_t xorshift64(uint64_t *s)
{
    uint64_t x = *s;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return *s = x;
}

static void fill_random(char *p, size_t n, uint64_t seed)
{
    uint64_t s = seed;
    for (size_t i = 0; i < n; i++)
        p[i] = (char)(xorshift64(&s) >> 56);
}

/* append printf output to buf[cap], dying if it does not fit */
static void put(char *buf, size_t cap, size_t *len, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf + *len, cap - *len, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= cap - *len)
        die("request headers too long");
    *len += (size_t)n;
}

static void put_bytes(char *buf, size_t cap, size_t *len, const char *p, size_t n)
{
    if (n > cap - *len)
        die("request too long");
    memcpy(buf + *len, p, n);
    *len += n;
}

/* one chunk of n body bytes (none if n == 0); returns its data offset */
static size_t put_chunk(char *buf, size_t cap, size_t *len, const char *data, size_t n)
{
    size_t off = *len;
    if (n == 0)
        return off;
    put(buf, cap, len, "%zx\r\n", n);
    off = *len;
    put_bytes(buf, cap, len, data, n);
    put(buf, cap, len, "\r\n");
    return off;
}

static void build_request(struct request *r)
{
    char http_req[512], http_res[512];
    int req_len = snprintf(http_req, sizeof http_req,
        "GET http://bench.example/files/%ld.bin HTTP/1.1\r\n"
        "Host: bench.example\r\n"
        "User-Agent: icap_load\r\n"
        "Accept: */*\r\n"
        "\r\n", O.body);
    int res_len = snprintf(http_res, sizeof http_res,
        "HTTP/1.1 200 OK\r\n"
        "Date: Mon, 01 Jan 2024 00:00:00 GMT\r\n"
        "Server: bench\r\n"
        "Content-Type: application/octet-stream\r\n"
        "Content-Length: %ld\r\n"
        "\r\n", O.body);
    size_t body = (size_t)O.body;
    char *data = malloc(body ? body : 1);
    size_t cap = body + 4096;
    r->buf = malloc(cap);
    if (!data || !r->buf)
        die("out of memory");
    fill_random(data, body, 0x6e696768746a6172ULL);
    size_t len = 0;
    put(r->buf, cap, &len, "RESPMOD icap://%s:%s%s ICAP/1.0\r\n"
        "Host: %s:%s\r\n"
        "Allow: 204\r\n", O.host, O.port, O.service, O.host, O.port);
    if (O.preview != NO_PREVIEW)
        put(r->buf, cap, &len, "Preview: %ld\r\n", O.preview);
    put(r->buf, cap, &len, "Encapsulated: req-hdr=0, res-hdr=%d, res-body=%d\r\n\r\n",
        req_len, req_len + res_len);
    put_bytes(r->buf, cap, &len, http_req, (size_t)req_len);
    put_bytes(r->buf, cap, &len, http_res, (size_t)res_len);

    int full = O.preview == NO_PREVIEW || (size_t)O.preview >= body;
    r->in_part1 = full ? body : (size_t)O.preview;
    r->data1_off = put_chunk(r->buf, cap, &len, data, r->in_part1);
    put(r->buf, cap, &len, O.preview != NO_PREVIEW && full ? "0; ieof\r\n\r\n" : "0\r\n\r\n");
    r->part1_len = len;
    r->data2_off = put_chunk(r->buf, cap, &len, data + r->in_part1, body - r->in_part1);
    if (!full)
        put(r->buf, cap, &len, "0\r\n\r\n");
    r->len = len;
    free(data);
}

/* write the connection and transaction number over the first body bytes */
static void stamp_body(struct conn *c)
{
    uint64_t v = ((uint64_t)c->id << 48) ^ c->seq;
    size_t n = (size_t)O.body < 8 ? (size_t)O.body : 8;
    for (size_t i = 0; i < n; i++) {
        size_t at = i < c->req.in_part1 ? c->req.data1_off + i
                                         : c->req.data2_off + (i - c->req.in_part1);
        c->req.buf[at] = (char)(v >> (8 * i));
    }
}

/* ---- statistics ---- */

static void record_latency(int64_t ns)
{
    if (S.n == S.cap) {
        S.cap = S.cap ? S.cap * 2 : 65536;
        S.lat_us = realloc(S.lat_us, S.cap * sizeof *S.lat_us);
        if (!S.lat_us)
            die("out of memory");
    }
    int64_t us = ns / 1000;
    S.lat_us[S.n++] = us > UINT32_MAX ? UINT32_MAX : (uint32_t)us;
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return (x > y) - (x < y);
}

/* nearest-rank percentile in ms of the sorted latencies */
static double percentile_ms(double p)
{
    if (S.n == 0)
        return 0;
    size_t rank = (size_t)ceil(p / 100.0 * (double)S.n);
    if (rank < 1)
        rank = 1;
    return S.lat_us[rank - 1] / 1000.0;
}

/* ---- connections ---- */

static void set_events(struct conn *c, int want_out)
{
    struct epoll_event ev = { .events = EPOLLIN | (want_out ? EPOLLOUT : 0u), .data.ptr = c };
    if (epoll_ctl(epfd, EPOLL_CTL_MOD, c->fd, &ev) < 0)
        die("epoll_ctl: %s", strerror(errno));
    c->want_out = want_out;
}

static void resolve(void)
{
    struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM };
    int rc = getaddrinfo(O.host, O.port, &hints, &server);
    if (rc != 0)
        die("%s:%s: %s", O.host, O.port, gai_strerror(rc));
}

/* the first failed connect is worth a message; the others are counted */
static void connect_failed(int err)
{
    static int said;
    if (!said++)
        fprintf(stderr, "icap_load: connect %s:%s: %s\n", O.host, O.port, strerror(err));
    S.errors++;
}

/* start a non-blocking connect; returns 0 or an errno */
static int open_conn(struct conn *c)
{
    c->fd = socket(server->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (c->fd < 0)
        die("socket: %s", strerror(errno));
    int one = 1;
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    int rc = connect(c->fd, server->ai_addr, server->ai_addrlen);
    if (rc < 0 && errno != EINPROGRESS) {
        int err = errno;
        close(c->fd);
        c->fd = -1;
        return err;
    }
    c->connecting = 1;
    c->in_start = c->in_len = 0;
    c->close_after = 0;
    struct epoll_event ev = { .events = EPOLLIN | EPOLLOUT, .data.ptr = c };
    if (epoll_ctl(epfd, EPOLL_CTL_ADD, c->fd, &ev) < 0)
        die("epoll_ctl: %s", strerror(errno));
    c->want_out = 1;
    return 0;
}

static void close_conn(struct conn *c)
{
    if (c->fd >= 0) {
        epoll_ctl(epfd, EPOLL_CTL_DEL, c->fd, NULL);
        close(c->fd);
    }
    c->fd = -1;
    c->busy = 0;
    c->gen++;
}

static void start_tx(struct conn *c)
{
    c->seq++;
    stamp_body(c);
    c->busy = 1;
    c->t_start = now_ns();
    c->w = W_PART1;
    c->w_off = 0;
    c->w_end = c->req.part1_len;
    c->r = R_HEAD;
    c->final_seen = 0;
    c->status = 0;
}

/* Drop the connection. A transaction in flight is unanswered (the server
 * closed or reset under it) unless the cause was a protocol error, which
 * the caller has counted. Reconnect while the run lasts. */
static void drop_conn(struct conn *c, int protocol_error)
{
    if (c->busy && !protocol_error)
        S.unanswered++;
    close_conn(c);
    if (stopping)
        return;
    S.reconnects++;
    int err = open_conn(c);
    if (err)
        connect_failed(err);
}

static void finish_tx(struct conn *c)
{
    int64_t t = now_ns();
    if (c->t_start >= t_measure && c->t_start < t_end)
        record_latency(t - c->t_start);
    if (c->status == 204) {
        S.s204++;
    } else if (c->status == 200) {
        S.s200++;
    } else {
        S.sother++;
        S.errors++;                             /* a 4xx or 5xx answer */
    }
    c->busy = 0;
    if (c->close_after)
        drop_conn(c, 0);
}

static int tx_complete(const struct conn *c)
{
    return c->final_seen && c->r == R_HEAD && c->w == W_DONE;
}

/* ---- response parsing ---- */

static const char *find_crlf(const char *p, size_t n)
{
    const char *q = memchr(p, '\r', n);
    while (q && (size_t)(q - p) + 1 < n && q[1] != '\n')
        q = memchr(q + 1, '\r', n - (size_t)(q + 1 - p));
    return q && (size_t)(q - p) + 1 < n ? q : NULL;
}

/* value of header `name` in the header block [p, p+n), or NULL */
static const char *header_value(const char *p, size_t n, const char *name, size_t *vlen)
{
    size_t nl = strlen(name);
    const char *end = p + n;
    const char *line = find_crlf(p, n);         /* skip the status line */
    while (line && (line += 2) < end) {
        const char *eol = find_crlf(line, (size_t)(end - line));
        if (!eol || eol == line)
            return NULL;
        if ((size_t)(eol - line) > nl && line[nl] == ':' && !strncasecmp(line, name, nl)) {
            const char *v = line + nl + 1;
            while (v < eol && (*v == ' ' || *v == '\t'))
                v++;
            *vlen = (size_t)(eol - v);
            return v;
        }
        line = eol;
    }
    return NULL;
}

/* from "res-hdr=0, res-body=135": the body offset (or -1 for null-body)
 * into *off; returns 0, or -1 if malformed */
static int parse_encapsulated(const char *v, size_t n, long long *off, int *has_body)
{
    char tmp[256];
    if (n >= sizeof tmp)
        return -1;
    memcpy(tmp, v, n);
    tmp[n] = '\0';
    *has_body = -1;
    for (char *save = NULL, *tok = strtok_r(tmp, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        while (*tok == ' ')
            tok++;
        char *eq = strchr(tok, '=');
        if (!eq)
            return -1;
        *eq = '\0';
        char *end;
        long long o = strtoll(eq + 1, &end, 10);
        if (end == eq + 1 || o < 0)
            return -1;
        if (!strcmp(tok, "null-body"))
            *has_body = 0, *off = o;
        else if (!strcmp(tok, "res-body") || !strcmp(tok, "req-body") || !strcmp(tok, "opt-body"))
            *has_body = 1, *off = o;
    }
    return *has_body < 0 ? -1 : 0;
}

/* a complete header block of n bytes at p; returns 0 or -1 (protocol error) */
static int on_head(struct conn *c, const char *p, size_t n)
{
    int status;
    if (n < 12 || strncmp(p, "ICAP/1.0 ", 9) || sscanf(p + 9, "%3d", &status) != 1)
        return -1;
    if (status == 100) {
        if (c->w != W_WAIT_CONTINUE)
            return -1;
        c->w = W_PART2;                         /* the caller sends it */
        c->w_off = c->req.part1_len;
        c->w_end = c->req.len;
        return 0;
    }
    c->status = status;
    c->final_seen = 1;
    if (c->w == W_WAIT_CONTINUE)
        c->w = W_DONE;                          /* answered from the preview */
    size_t vl;
    const char *v = header_value(p, n, "Connection", &vl);
    if (v && vl >= 5 && !strncasecmp(v, "close", 5))
        c->close_after = 1;
    v = header_value(p, n, "Encapsulated", &vl);
    if (!v)
        return status == 204 || status >= 400 ? 0 : -1;
    long long off;
    int has_body;
    if (parse_encapsulated(v, vl, &off, &has_body) < 0)
        return -1;
    c->skip = off;
    c->after_skip = has_body ? R_CHUNK_SIZE : R_HEAD;
    c->r = R_SKIP;
    return 0;
}

/* "1a2f" or "0; ieof": a chunk-size line of ll bytes; returns 0 or -1 */
static int parse_chunk_size(const char *p, size_t ll, unsigned long long *sz)
{
    char line[64];
    if (ll == 0 || ll >= sizeof line || !isxdigit((unsigned char)p[0]))
        return -1;
    memcpy(line, p, ll);
    line[ll] = '\0';
    char *end;
    *sz = strtoull(line, &end, 16);
    return *end == '\0' || *end == ';' || *end == ' ' ? 0 : -1;
}

/* consume what the receive buffer holds; returns 0, or -1 on a protocol
 * error. Stops after a transaction completes (the caller starts the next). */
static int parse_input(struct conn *c)
{
    for (;;) {
        char *p = c->in + c->in_start;
        size_t n = c->in_len;
        if (c->r == R_HEAD) {
            if (n == 0)
                return 0;
            if (!c->busy || c->final_seen)
                return -1;                      /* bytes nobody asked for */
            char *e = memmem(p, n, "\r\n\r\n", 4);
            if (!e)
                return n > MAX_HEAD_LEN ? -1 : 0;
            size_t hl = (size_t)(e - p) + 4;
            c->in_start += hl;
            c->in_len -= hl;
            if (on_head(c, p, hl) < 0)
                return -1;
        } else if (c->r == R_SKIP || c->r == R_CHUNK_DATA) {
            size_t k = (unsigned long long)c->skip < n ? (size_t)c->skip : n;
            if (c->r == R_CHUNK_DATA)
                S.body_bytes_in += (long long)k;
            c->in_start += k;
            c->in_len -= k;
            c->skip -= (long long)k;
            if (c->skip > 0)
                return 0;
            c->r = c->r == R_SKIP ? c->after_skip : R_CHUNK_CRLF;
        } else if (c->r == R_CHUNK_CRLF) {
            if (n < 2)
                return 0;
            if (p[0] != '\r' || p[1] != '\n')
                return -1;
            c->in_start += 2;
            c->in_len -= 2;
            c->r = R_CHUNK_SIZE;
        } else {                                /* R_CHUNK_SIZE, R_TRAILER */
            const char *eol = find_crlf(p, n);
            if (!eol)
                return n > MAX_HEAD_LEN ? -1 : 0;
            size_t ll = (size_t)(eol - p);
            c->in_start += ll + 2;
            c->in_len -= ll + 2;
            if (c->r == R_TRAILER) {
                if (ll == 0)
                    c->r = R_HEAD;              /* end of the response */
            } else {
                unsigned long long sz;
                if (parse_chunk_size(p, ll, &sz) < 0)
                    return -1;
                c->skip = (long long)sz;
                c->r = sz == 0 ? R_TRAILER : R_CHUNK_DATA;
            }
        }
        if (tx_complete(c)) {
            finish_tx(c);
            return 0;
        }
    }
}

/* read and parse what arrived; returns after one transaction completes */
static void recv_some(struct conn *c)
{
    unsigned gen = c->gen;
    for (;;) {
        if (c->in_start > 0 && c->in_len > 0)
            memmove(c->in, c->in + c->in_start, c->in_len);
        c->in_start = 0;
        if (c->in_len == INBUF_LEN) {
            S.errors++;
            drop_conn(c, 1);
            return;
        }
        ssize_t k = recv(c->fd, c->in + c->in_len, INBUF_LEN - c->in_len, 0);
        if (k < 0 && (errno == EAGAIN || errno == EINTR))
            return;
        if (k <= 0) {                           /* closed or reset */
            drop_conn(c, 0);
            return;
        }
        c->in_len += (size_t)k;
        int busy = c->busy;
        int rc = parse_input(c);
        if (c->gen != gen)
            return;                             /* finish_tx closed it */
        if (rc < 0 || (busy && !c->busy && c->in_len > 0)) {
            S.errors++;                         /* malformed, or bytes after the response */
            drop_conn(c, 1);
            return;
        }
        if (!c->busy || (size_t)k < INBUF_LEN / 2)
            return;
    }
}

/* write what the transaction has to write now */
static void send_more(struct conn *c)
{
    while (c->w == W_PART1 || c->w == W_PART2) {
        if (c->w_off == c->w_end) {
            if (c->w == W_PART1 && c->req.part1_len < c->req.len)
                c->w = c->final_seen ? W_DONE : W_WAIT_CONTINUE;
            else
                c->w = W_DONE;
            break;
        }
        ssize_t k = send(c->fd, c->req.buf + c->w_off, c->w_end - c->w_off, MSG_NOSIGNAL);
        if (k < 0 && (errno == EAGAIN || errno == EINTR)) {
            if (!c->want_out)
                set_events(c, 1);
            return;
        }
        if (k < 0) {
            drop_conn(c, 0);
            return;
        }
        c->w_off += (size_t)k;
    }
    if (c->want_out)
        set_events(c, 0);
    if (tx_complete(c))                         /* answered before the request ended */
        finish_tx(c);
}

/* the connect finished: 0 if it succeeded */
static int on_connected(struct conn *c)
{
    int err = 0;
    socklen_t el = sizeof err;
    getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &el);
    if (err) {
        connect_failed(err);
        close_conn(c);
        return -1;
    }
    c->connecting = 0;
    set_events(c, 0);
    return 0;
}

/* one epoll event on c: connect, read, write, and start the next transaction */
static void service(struct conn *c, uint32_t events)
{
    unsigned gen = c->gen;
    if (c->connecting) {
        if (!(events & (EPOLLOUT | EPOLLERR | EPOLLHUP)) || on_connected(c) < 0)
            return;
    } else if (events & (EPOLLIN | EPOLLHUP | EPOLLERR)) {
        recv_some(c);
    }
    if (c->gen != gen || c->fd < 0)
        return;
    if (c->busy && (c->w == W_PART1 || c->w == W_PART2))
        send_more(c);                           /* writable, or 100 Continue came */
    if (c->gen == gen && c->fd >= 0 && !c->busy && !stopping) {
        start_tx(c);
        send_more(c);
    }
}

/* ---- main loop ---- */

static int busy_count(const struct conn *cs, int n)
{
    int b = 0;
    for (int i = 0; i < n; i++)
        b += cs[i].busy;
    return b;
}

static int open_count(const struct conn *cs, int n)
{
    int k = 0;
    for (int i = 0; i < n; i++)
        k += cs[i].fd >= 0;
    return k;
}

static void run(struct conn *cs, int n)
{
    struct epoll_event evs[64];
    int64_t t0 = now_ns();
    t_measure = t0 + (int64_t)(O.warmup * 1e9);
    t_end = t_measure + (int64_t)(O.duration * 1e9);
    for (int i = 0; i < n; i++) {
        int err = open_conn(&cs[i]);
        if (err)
            connect_failed(err);
    }
    for (;;) {
        int64_t t = now_ns();
        if (t >= t_end)
            stopping = 1;
        if (stopping && (busy_count(cs, n) == 0 || t >= t_end + GRACE_NS))
            break;
        if (open_count(cs, n) == 0)
            break;                              /* nothing left to drive */
        int64_t deadline = stopping ? t_end + GRACE_NS : t_end;
        int timeout = (int)((deadline - t) / 1000000) + 1;
        int k = epoll_wait(epfd, evs, 64, timeout);
        if (k < 0 && errno != EINTR)
            die("epoll_wait: %s", strerror(errno));
        for (int i = 0; i < k; i++)
            service(evs[i].data.ptr, evs[i].events);
    }
    for (int i = 0; i < n; i++) {
        if (cs[i].busy)
            S.unanswered++;
        close_conn(&cs[i]);
    }
}

static int report(void)
{
    qsort(S.lat_us, S.n, sizeof *S.lat_us, cmp_u32);
    double tps = (double)S.n / O.duration;
    double p50 = percentile_ms(50), p99 = percentile_ms(99);
    double max = S.n ? S.lat_us[S.n - 1] / 1000.0 : 0;
    char preview[32] = "no preview";
    if (O.preview != NO_PREVIEW)
        snprintf(preview, sizeof preview, "preview %ld", O.preview);
    printf("%s: %d connections, %ld-byte bodies, %s, %.0f s (+%.0f s warm-up): "
           "%zu transactions, %.0f tx/s, latency p50 %.3f ms p99 %.3f ms max %.3f ms; "
           "responses 204: %lld, 200: %lld, other: %lld; %lld body bytes echoed; "
           "%lld reconnects; errors %lld, unanswered %lld\n",
           O.name, O.connections, O.body, preview, O.duration, O.warmup,
           S.n, tps, p50, p99, max, S.s204, S.s200, S.sother, S.body_bytes_in,
           S.reconnects, S.errors, S.unanswered);
    printf("RESULT name=%s transactions=%zu tx_per_s=%.0f p50_ms=%.3f p99_ms=%.3f max_ms=%.3f "
           "unanswered=%lld errors=%lld\n",
           O.name, S.n, tps, p50, p99, max, S.unanswered, S.errors);
    return S.errors || S.unanswered ? 1 : 0;
}

int main(int argc, char **argv)
{
    parse_opts(argc, argv);
    signal(SIGPIPE, SIG_IGN);
    resolve();
    epfd = epoll_create1(EPOLL_CLOEXEC);
    if (epfd < 0)
        die("epoll_create1: %s", strerror(errno));
    struct request tmpl;
    build_request(&tmpl);
    struct conn *cs = calloc((size_t)O.connections, sizeof *cs);
    if (!cs)
        die("out of memory");
    for (int i = 0; i < O.connections; i++) {
        cs[i].id = i;
        cs[i].fd = -1;
        cs[i].req = tmpl;
        cs[i].req.buf = malloc(tmpl.len);
        if (!cs[i].req.buf)
            die("out of memory");
        memcpy(cs[i].req.buf, tmpl.buf, tmpl.len);
    }
    run(cs, O.connections);
    int rc = report();
    for (int i = 0; i < O.connections; i++)
        free(cs[i].req.buf);
    free(cs);
    free(tmpl.buf);
    free(S.lat_us);
    freeaddrinfo(server);
    close(epfd);
    return rc;
}
