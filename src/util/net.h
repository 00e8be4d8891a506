/* net.h -- the sockets the front ends (nightjar-icap, nightjar-mta) share:
 * a non-blocking listening socket on "ADDRESS:PORT" or "[V6]:PORT" (port 0
 * asks the kernel), and a peer's address in words and as an ip_addr.
 * Never reads or writes a connection.
 */
#ifndef NIGHTJAR_NET_H
#define NIGHTJAR_NET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "decode/decode.h"

/* A listening socket (non-blocking, close-on-exec, SO_REUSEADDR, backlog
 * 1024) and the address it got ("127.0.0.1:1344"); -1 with err naming
 * spec when it is no address or cannot be bound. */
int net_listen(const char *spec, char *bound, size_t boundlen, char *err,
               size_t errlen);

/* What an epoll-driven connection waits for: the interest set changes
 * (one epoll_ctl) only when `in` or `out` differ from what cur holds, and
 * cur then holds them. */
struct net_interest {
    bool reading, writing;
};
void net_want(int ep, int fd, void *ptr, struct net_interest *cur, bool in, bool out);

/* "ADDRESS:PORT" of a peer, its IP version (4, 6; 0 other) and address. */
void net_peer(const struct sockaddr_storage *sa, char *name, size_t namelen,
              uint8_t *v, struct ip_addr *addr);

#endif
