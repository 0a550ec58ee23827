/*
 * dgram.c - datagram receivers on the loop. See dgram.h.
 */
#include "dgram.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "caps.h"
#include "log.h"

struct sp_dgram {
    uv_poll_t poll;
    int fd;
    int is_unix;
    char *path;                  /* Unix: removed on close */
    struct sockaddr_storage bound;
    struct sp_dgram_counts counts;
    uint32_t ovfl_seen;          /* SO_RXQ_OVFL is the socket's running total */
    sp_dgram_cb cb;
    void *arg;
    char buf[SP_DGRAM_MAX_BYTES + 1]; /* one byte more tells a cut datagram */
};

/* Up to this many datagrams per wake-up, so that one busy socket does not
 * starve the rest of the loop. */
#define READS_PER_WAKE 64

static void add(uint64_t *c, uint64_t n)
{
    if (c) {
        *c += n;
    }
}

static void poll_cb(uv_poll_t *h, int status, int events)
{
    struct sp_dgram *d = h->data;
    (void)events;
    if (status < 0) {
        SP_LOG_RL(SP_LOG_WARN, "datagram socket error", "error=%s", uv_strerror(status));
        return;
    }
    for (int i = 0; i < READS_PER_WAKE; i++) {
        char ctl[CMSG_SPACE(sizeof(struct ucred)) + CMSG_SPACE(sizeof(uint32_t))];
        struct iovec iov = {d->buf, sizeof(d->buf)};
        struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl,
                            .msg_controllen = sizeof(ctl)};
        ssize_t n = recvmsg(d->fd, &mh, MSG_DONTWAIT | MSG_TRUNC);
        if (n < 0) {
            if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
                SP_LOG_RL(SP_LOG_WARN, "datagram read failed", "error=\"%s\"", strerror(errno));
            }
            return;
        }
        struct sp_dgram_peer peer = {-1, -1, -1};
        for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
            if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_CREDENTIALS) {
                struct ucred cr;
                memcpy(&cr, CMSG_DATA(c), sizeof(cr));
                peer = (struct sp_dgram_peer){cr.pid, cr.uid, cr.gid};
            } else if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SO_RXQ_OVFL) {
                uint32_t total;
                memcpy(&total, CMSG_DATA(c), sizeof(total));
                add(d->counts.kernel_dropped, (uint32_t)(total - d->ovfl_seen));
                d->ovfl_seen = total;
            }
        }
        add(d->counts.received, 1);
        if ((size_t)n > SP_DGRAM_MAX_BYTES || (mh.msg_flags & MSG_TRUNC)) {
            add(d->counts.truncated, 1);
            SP_LOG_RL(SP_LOG_WARN, "datagram over the size limit dropped",
                      "bytes=%zd max=%u pid=%ld", n, SP_DGRAM_MAX_BYTES, peer.pid);
            continue;
        }
        d->cb(d->arg, d->buf, (size_t)n, &peer);
    }
}

static void closed_cb(uv_handle_t *h)
{
    struct sp_dgram *d = h->data;
    close(d->fd);
    free(d->path);
    free(d);
}

static int start(uv_loop_t *loop, struct sp_dgram *d)
{
    int rc = uv_poll_init(loop, &d->poll, d->fd);
    if (rc) {
        return rc;
    }
    d->poll.data = d;
    return uv_poll_start(&d->poll, UV_READABLE, poll_cb);
}

static struct sp_dgram *dgram_new(const struct sp_dgram_counts *counts, sp_dgram_cb cb,
                                  void *arg)
{
    struct sp_dgram *d = calloc(1, sizeof(*d));
    if (d) {
        d->fd = -1;
        d->counts = *counts;
        d->cb = cb;
        d->arg = arg;
    }
    return d;
}

/* A socket file nobody receives on is stale; a live one is another agent's. */
static int unix_stale(const char *path)
{
    struct stat st;
    if (lstat(path, &st) != 0) {
        return errno == ENOENT ? 0 : -errno;
    }
    if (!S_ISSOCK(st.st_mode)) {
        return -EEXIST;
    }
    int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
    int rc = fd < 0 ? -1 : connect(fd, (struct sockaddr *)&sa, sizeof(sa));
    int err = errno;
    if (fd >= 0) {
        close(fd);
    }
    if (rc == 0) {
        return -EADDRINUSE;
    }
    if (err == ECONNREFUSED) {
        return unlink(path) == 0 ? 0 : -errno;
    }
    return -err;
}

int sp_dgram_open_unix(uv_loop_t *loop, const char *path, unsigned mode,
                       const struct sp_dgram_counts *counts, sp_dgram_cb cb, void *arg,
                       struct sp_dgram **out)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    if (strlen(path) >= sizeof(sa.sun_path)) {
        return -ENAMETOOLONG;
    }
    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
    int rc = unix_stale(path);
    if (rc) {
        return rc;
    }
    struct sp_dgram *d = dgram_new(counts, cb, arg);
    if (d == NULL || (d->path = strdup(path)) == NULL) {
        free(d);
        return -ENOMEM;
    }
    d->is_unix = 1;
    int one = 1;
    d->fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (d->fd < 0 || setsockopt(d->fd, SOL_SOCKET, SO_PASSCRED, &one, sizeof(one)) ||
        bind(d->fd, (struct sockaddr *)&sa, sizeof(sa)) || chmod(path, mode)) {
        rc = -errno;
        if (d->fd >= 0) {
            close(d->fd);
        }
        free(d->path);
        free(d);
        return rc;
    }
    if ((rc = start(loop, d))) {
        unlink(path);
        close(d->fd);
        free(d->path);
        free(d);
        return rc;
    }
    *out = d;
    return 0;
}

int sp_dgram_open_udp(uv_loop_t *loop, const struct sockaddr_storage *addr,
                      const struct sp_dgram_counts *counts, sp_dgram_cb cb, void *arg,
                      struct sp_dgram **out)
{
    struct sp_dgram *d = dgram_new(counts, cb, arg);
    if (d == NULL) {
        return -ENOMEM;
    }
    socklen_t len = addr->ss_family == AF_INET6 ? sizeof(struct sockaddr_in6)
                                                : sizeof(struct sockaddr_in);
    int one = 1, rc;
    d->fd = socket(addr->ss_family, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (d->fd < 0 || setsockopt(d->fd, SOL_SOCKET, SO_RXQ_OVFL, &one, sizeof(one)) ||
        bind(d->fd, (const struct sockaddr *)addr, len)) {
        rc = -errno;
        goto fail;
    }
    len = sizeof(d->bound);
    getsockname(d->fd, (struct sockaddr *)&d->bound, &len);
    if ((rc = start(loop, d)) == 0) {
        *out = d;
        return 0;
    }
fail:
    if (d->fd >= 0) {
        close(d->fd);
    }
    free(d);
    return rc;
}

void sp_dgram_address(const struct sp_dgram *d, char *buf, size_t n)
{
    if (d->is_unix) {
        snprintf(buf, n, "%s", d->path);
        return;
    }
    char host[INET6_ADDRSTRLEN] = "?";
    if (d->bound.ss_family == AF_INET6) {
        const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)&d->bound;
        inet_ntop(AF_INET6, &a->sin6_addr, host, sizeof(host));
        snprintf(buf, n, "[%s]:%u", host, ntohs(a->sin6_port));
    } else {
        const struct sockaddr_in *a = (const struct sockaddr_in *)&d->bound;
        inet_ntop(AF_INET, &a->sin_addr, host, sizeof(host));
        snprintf(buf, n, "%s:%u", host, ntohs(a->sin_port));
    }
}

void sp_dgram_close(struct sp_dgram *d)
{
    uv_poll_stop(&d->poll);
    if (d->path) {
        unlink(d->path);
    }
    uv_close((uv_handle_t *)&d->poll, closed_cb);
}

int sp_dgram_addr_parse(const char *s, struct sockaddr_storage *out)
{
    if (strcmp(s, "off") == 0) {
        return 1;
    }
    const char *colon = strrchr(s, ':');
    if (colon == NULL || colon == s || colon[1] == 0) {
        return -EINVAL;
    }
    char *end;
    unsigned long port = strtoul(colon + 1, &end, 10);
    if (*end || port > 65535 || colon[1] < '0' || colon[1] > '9') {
        return -EINVAL;
    }
    char host[64];
    size_t hn = (size_t)(colon - s);
    if (s[0] == '[') {
        if (hn < 3 || s[hn - 1] != ']' || hn - 2 >= sizeof(host)) {
            return -EINVAL;
        }
        memcpy(host, s + 1, hn - 2);
        host[hn - 2] = 0;
        struct sockaddr_in6 *a = (struct sockaddr_in6 *)out;
        memset(out, 0, sizeof(*out));
        a->sin6_family = AF_INET6;
        a->sin6_port = htons((uint16_t)port);
        return inet_pton(AF_INET6, host, &a->sin6_addr) == 1 ? 0 : -EINVAL;
    }
    if (hn >= sizeof(host)) {
        return -EINVAL;
    }
    memcpy(host, s, hn);
    host[hn] = 0;
    struct sockaddr_in *a = (struct sockaddr_in *)out;
    memset(out, 0, sizeof(*out));
    a->sin_family = AF_INET;
    a->sin_port = htons((uint16_t)port);
    if (strcmp(host, "localhost") == 0) {
        a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        return 0;
    }
    return inet_pton(AF_INET, host, &a->sin_addr) == 1 ? 0 : -EINVAL;
}
