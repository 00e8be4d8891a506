/* fuzz_icap.c -- libFuzzer target for the ICAP server's request handling:
 * the head parser, Encapsulated, the encapsulated HTTP heads, chunked
 * bodies with previews and 100 Continue, the answers (204, 206, unmodified,
 * relayed past a small icap.max-body, block pages) and the caps.
 *
 * The input is what a client sends on one connection, delivered in pieces
 * whose size the first byte picks, through a real socket pair into the
 * server's own read path (icap_server.c is included to reach it; bodies are
 * scanned in the caller, without worker threads). The
 * server must answer or close; it must never crash, leak or read out of
 * bounds. An indicator for "evil.test" makes REQMOD block too.
 */
#include "../src/icap/icap_server.c"

#include <sys/un.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct icap_server *server;

static struct icap_server *make_server(void)
{
    static struct nj_config cfg;
    char err[512];
    config_defaults(&cfg);
    config_set(&cfg, "icap.max-body", "2kb", err, sizeof(err));
    config_set(&cfg, "yara.rules", "none", err, sizeof(err));
    config_set(&cfg, "files.magic", "no", err, sizeof(err));
    FILE *f = fopen("/tmp/nightjar-fuzz-icap-feed.txt", "w");
    if (f) {
        fputs("evil.test\n", f);
        fclose(f);
        cfg.intel_feeds[cfg.n_intel_feeds++] = "list:/tmp/nightjar-fuzz-icap-feed.txt";
    }
    struct icap_server *s = server_make(&cfg, NULL, 0, err, sizeof(err));
    if (!s) {
        fprintf(stderr, "fuzz_icap: %s\n", err);
        abort();
    }
    return s;
}

static void drain(int fd)
{
    uint8_t sink[65536];
    while (recv(fd, sink, sizeof(sink), MSG_DONTWAIT) > 0)
        ;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!server)
        server = make_server();
    if (size < 1)
        return 0;
    size_t piece = (size_t)data[0] % 64 + 1;
    data++, size--;
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv) != 0)
        return 0;
    struct conn *c = conn_get(server);
    c->fd = sv[0];
    snprintf(c->peer, sizeof(c->peer), "fuzz");
    c->last_usec = mono_usec();
    bool open = true;
    for (size_t off = 0; open && off < size; off += piece) {
        size_t n = size - off < piece ? size - off : piece;
        if (send(sv[1], data + off, n, MSG_NOSIGNAL) < 0)
            break;
        open = read_in(server, c);
        if (open && c->out.len)
            flush_out(server, c);
        drain(sv[1]);
        if (c->closing && !c->out.len)
            break;
    }
    if (open && !c->closing) /* a stalled client meets the timeout path */
        timed_out(server, c);
    flush_out(server, c);
    drain(sv[1]);
    conn_close(server, c); /* closes sv[0] */
    close(sv[1]);
    return 0;
}
