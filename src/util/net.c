/* net.c -- listening sockets and peer names for the front ends (see net.h). */
#include "util/net.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

/* "ADDR:PORT", "[V6]:PORT" */
static bool parse_spec(const char *spec, struct sockaddr_storage *sa,
                       socklen_t *sl, char *err, size_t errlen)
{
    char host[256];
    const char *colon = strrchr(spec, ':');
    if (!colon || colon == spec || !colon[1]) {
        snprintf(err, errlen, "'%s': not ADDRESS:PORT", spec);
        return false;
    }
    size_t hl = (size_t)(colon - spec);
    if (spec[0] == '[' && hl >= 2 && spec[hl - 1] == ']')
        snprintf(host, sizeof(host), "%.*s", (int)(hl - 2), spec + 1);
    else
        snprintf(host, sizeof(host), "%.*s", (int)(hl < 255 ? hl : 255), spec);
    char *end;
    long port = strtol(colon + 1, &end, 10);
    if (*end || port < 0 || port > 65535) {
        snprintf(err, errlen, "'%s': bad port", spec);
        return false;
    }
    memset(sa, 0, sizeof(*sa));
    struct sockaddr_in *in4 = (struct sockaddr_in *)sa;
    struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)sa;
    if (inet_pton(AF_INET, host, &in4->sin_addr) == 1) {
        in4->sin_family = AF_INET;
        in4->sin_port = htons((uint16_t)port);
        *sl = sizeof(*in4);
    } else if (inet_pton(AF_INET6, host, &in6->sin6_addr) == 1) {
        in6->sin6_family = AF_INET6;
        in6->sin6_port = htons((uint16_t)port);
        *sl = sizeof(*in6);
    } else {
        snprintf(err, errlen, "'%s': '%s' is not an IP address", spec, host);
        return false;
    }
    return true;
}

int net_listen(const char *spec, char *bound, size_t boundlen, char *err,
               size_t errlen)
{
    struct sockaddr_storage sa;
    socklen_t sl;
    if (!parse_spec(spec, &sa, &sl, err, errlen))
        return -1;
    int fd = socket(sa.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int one = 1;
    if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
        bind(fd, (struct sockaddr *)&sa, sl) != 0 || listen(fd, 1024) != 0) {
        snprintf(err, errlen, "cannot listen on %s: %s", spec, strerror(errno));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    sl = sizeof(sa);
    getsockname(fd, (struct sockaddr *)&sa, &sl);
    uint8_t v;
    struct ip_addr a;
    net_peer(&sa, bound, boundlen, &v, &a);
    return fd;
}

void net_want(int ep, int fd, void *ptr, struct net_interest *cur, bool in, bool out)
{
    if (out == cur->writing && in == cur->reading)
        return;
    struct epoll_event ev = { .events = (in ? EPOLLIN : 0) | (out ? EPOLLOUT : 0),
                              .data.ptr = ptr };
    epoll_ctl(ep, EPOLL_CTL_MOD, fd, &ev);
    cur->writing = out;
    cur->reading = in;
}

void net_peer(const struct sockaddr_storage *sa, char *name, size_t namelen,
              uint8_t *v, struct ip_addr *addr)
{
    char a[INET6_ADDRSTRLEN] = "?";
    uint16_t port = 0;
    memset(addr, 0, sizeof(*addr));
    *v = 0;
    if (sa->ss_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
        inet_ntop(AF_INET, &in->sin_addr, a, sizeof(a));
        memcpy(addr->b, &in->sin_addr, 4);
        *v = 4;
        port = ntohs(in->sin_port);
        snprintf(name, namelen, "%s:%u", a, port);
    } else if (sa->ss_family == AF_INET6) {
        const struct sockaddr_in6 *in = (const struct sockaddr_in6 *)sa;
        inet_ntop(AF_INET6, &in->sin6_addr, a, sizeof(a));
        memcpy(addr->b, &in->sin6_addr, 16);
        *v = 6;
        port = ntohs(in->sin6_port);
        snprintf(name, namelen, "[%s]:%u", a, port);
    } else {
        snprintf(name, namelen, "?");
    }
}
