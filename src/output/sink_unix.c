/* sink_unix.c -- EVE records over unix sockets: unix_dgram (one record per
 * datagram), unix_stream (records as lines, as in the file) and syslog
 * (one record per message to /dev/log, with the header glibc's syslog()
 * would write).
 *
 * syslog is written here instead of through syslog(3) so that it goes
 * through the spool like the other peers: syslog(3) blocks when the
 * daemon's queue is full, and gives no way to count what it lost. Like
 * glibc, it connects to /dev/log as a datagram socket; a /dev/log that
 * only takes streams (rare today) is reported and retried.
 *
 * Sends time out after io_timeout_ms (SO_SNDTIMEO): a reader that stopped
 * reading makes records wait in the spool, never the packet path. A
 * stream record cut by a timeout is finished by the next send; one cut by
 * a broken connection is sent whole on the next connection.
 */
#include "output/sink_internal.h"

#include <errno.h>
#include <limits.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <unistd.h>

size_t sink_syslog_header(char *buf, size_t len, int facility, int level,
                          time_t when, const char *ident, long pid)
{
    struct tm tm;
    char ts[32];
    if (!localtime_r(&when, &tm) ||
        !strftime(ts, sizeof(ts), "%b %e %H:%M:%S", &tm))
        return 0;
    int n = snprintf(buf, len, "<%d>%s %s[%ld]: ", facility | level, ts, ident,
                     pid);
    return n > 0 && (size_t)n < len ? (size_t)n : 0;
}

static bool unix_connect(struct sink *s, char *err, size_t errlen)
{
    const char *path = s->cfg.type == SINK_SYSLOG ? s->cfg.syslog_path
                                                   : s->cfg.path;
    int type = s->cfg.type == SINK_UNIX_STREAM ? SOCK_STREAM : SOCK_DGRAM;
    struct sockaddr_un a;
    memset(&a, 0, sizeof(a));
    a.sun_family = AF_UNIX;
    if (strlen(path) >= sizeof(a.sun_path)) {
        snprintf(err, errlen, "socket path too long");
        return false;
    }
    memcpy(a.sun_path, path, strlen(path));
    int fd = socket(AF_UNIX, type | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        snprintf(err, errlen, "socket: %s", strerror(errno));
        return false;
    }
    struct timeval tv = { (time_t)(s->cfg.io_timeout_ms / 1000),
                          (suseconds_t)(s->cfg.io_timeout_ms % 1000) * 1000 };
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    if (connect(fd, (struct sockaddr *)&a, sizeof(a)) != 0) {
        int e = errno;
        snprintf(err, errlen, "connect: %s%s", strerror(e),
                 e == EPROTOTYPE ? (type == SOCK_DGRAM
                                        ? " (not a datagram socket)"
                                        : " (not a stream socket)")
                                 : "");
        close(fd);
        return false;
    }
    s->fd = fd;
    s->partial = 0;
    return true;
}

static void unix_disconnect(struct sink *s)
{
    if (s->fd >= 0)
        close(s->fd);
    s->fd = -1;
    s->partial = 0;
}

static bool timed_out(int e)
{
    return e == EAGAIN || e == EWOULDBLOCK || e == ENOBUFS || e == EINTR;
}

/* Datagrams and syslog messages: one record each. */
static size_t send_dgrams(struct sink *s, const struct spool_rec *recs,
                          size_t n, size_t *rejected, bool *broken, char *err,
                          size_t errlen)
{
    char hdr[256];
    size_t hlen = 0;
    if (s->cfg.type == SINK_SYSLOG)
        hlen = sink_syslog_header(hdr, sizeof(hdr), s->cfg.syslog_facility,
                                  s->cfg.syslog_level, time(NULL),
                                  s->cfg.syslog_ident, (long)getpid());
    size_t i;
    for (i = 0; i < n; i++) {
        struct iovec iov[2] = {
            { hdr, hlen },
            { (void *)recs[i].data, sink_rec_len(&recs[i]) },
        };
        struct msghdr m;
        memset(&m, 0, sizeof(m));
        m.msg_iov = hlen ? iov : iov + 1;
        m.msg_iovlen = hlen ? 2 : 1;
        if (sendmsg(s->fd, &m, MSG_NOSIGNAL) >= 0)
            continue;
        int e = errno;
        if (e == EMSGSIZE) {   /* larger than the socket takes: never will */
            (*rejected)++;
            if (!s->told_rejected)
                fprintf(stderr, "nightjar: EVE output %s: a record of %zu "
                        "bytes is too large for a datagram: dropped (and "
                        "counted as refused)\n", s->desc, recs[i].len);
            s->told_rejected = true;
            continue;
        }
        if (!timed_out(e)) {
            *broken = true;
            snprintf(err, errlen, "send: %s", strerror(e));
        }
        break;
    }
    return i;
}

/* Stream: as many whole records as one sendmsg takes. */
static size_t send_stream(struct sink *s, const struct spool_rec *recs,
                          size_t n, size_t *rejected, bool *broken, char *err,
                          size_t errlen)
{
    (void)rejected;
    struct iovec iov[64];
    size_t k = n < 64 ? n : 64;
    for (size_t i = 0; i < k; i++) {
        size_t skip = i == 0 ? s->partial : 0;
        iov[i].iov_base = (void *)(recs[i].data + skip);
        iov[i].iov_len = recs[i].len - skip;
    }
    struct msghdr m;
    memset(&m, 0, sizeof(m));
    m.msg_iov = iov;
    m.msg_iovlen = k;
    ssize_t sent = sendmsg(s->fd, &m, MSG_NOSIGNAL);
    if (sent < 0) {
        if (!timed_out(errno)) {
            *broken = true;
            snprintf(err, errlen, "send: %s", strerror(errno));
        }
        return 0;
    }
    size_t left = (size_t)sent, done = 0;
    while (done < k && left >= iov[done].iov_len) {
        left -= iov[done].iov_len;
        done++;
        s->partial = 0;
    }
    if (done < k)
        s->partial += left; /* the rest of that record goes next time */
    return done;
}

static size_t unix_send(struct sink *s, const struct spool_rec *recs,
                        size_t n, size_t *rejected, bool *broken, char *err,
                        size_t errlen)
{
    if (s->cfg.type == SINK_UNIX_STREAM)
        return send_stream(s, recs, n, rejected, broken, err, errlen);
    return send_dgrams(s, recs, n, rejected, broken, err, errlen);
}

const struct sink_backend sink_unix_backend = {
    .connect = unix_connect,
    .send = unix_send,
    .disconnect = unix_disconnect,
};
