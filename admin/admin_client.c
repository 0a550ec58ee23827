/*
 * admin_client.c - blocking GET for the command-line tools. See admin_client.h.
 */
#include "admin_client.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "listen_addr.h"

static int connect_to(const struct sp_listen_addr *la, int timeout_ms)
{
    int fd = -1;
    struct timeval tv = {.tv_sec = timeout_ms / 1000, .tv_usec = (timeout_ms % 1000) * 1000};
    if (la->kind == SP_LISTEN_UNIX) {
        struct sockaddr_un sa = {.sun_family = AF_UNIX};
        snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", la->path);
        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0) {
            return -errno;
        }
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
        if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
            int e = errno;
            close(fd);
            return -e;
        }
        return fd;
    }
    const char *host = strcmp(la->host, "localhost") == 0 ? "127.0.0.1" : la->host;
    struct sockaddr_storage ss = {0};
    socklen_t sl;
    struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
    struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
    if (inet_pton(AF_INET, host, &s4->sin_addr) == 1) {
        s4->sin_family = AF_INET;
        s4->sin_port = htons((uint16_t)la->port);
        sl = sizeof(*s4);
    } else if (inet_pton(AF_INET6, host, &s6->sin6_addr) == 1) {
        s6->sin6_family = AF_INET6;
        s6->sin6_port = htons((uint16_t)la->port);
        sl = sizeof(*s6);
    } else {
        return -EINVAL;
    }
    /* A wildcard listener is reached on loopback. */
    if (s4->sin_family == AF_INET && s4->sin_addr.s_addr == htonl(INADDR_ANY)) {
        s4->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    }
    fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        return -errno;
    }
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    if (connect(fd, (struct sockaddr *)&ss, sl) != 0) {
        int e = errno;
        close(fd);
        return -e;
    }
    return fd;
}

int sp_admin_get(const char *addr, const char *path, int timeout_ms, struct sp_admin_answer *a)
{
    memset(a, 0, sizeof(*a));
    sp_buf_init(&a->body, 16u * 1024u * 1024u);
    struct sp_listen_addr la;
    if (sp_listen_addr_parse(addr, &la, NULL) || la.kind == SP_LISTEN_OFF) {
        return -EINVAL;
    }
    int fd = connect_to(&la, timeout_ms);
    if (fd < 0) {
        return fd;
    }
    char req[1024];
    int n = snprintf(req, sizeof(req),
                     "GET %s HTTP/1.0\r\nHost: spindle\r\nUser-Agent: spindle-cli\r\n"
                     "Accept: */*\r\n\r\n",
                     path);
    if (n < 0 || (size_t)n >= sizeof(req) || write(fd, req, (size_t)n) != n) {
        close(fd);
        return -EIO;
    }
    struct sp_buf raw;
    sp_buf_init(&raw, 16u * 1024u * 1024u);
    char chunk[16384];
    int rc = 0;
    for (;;) {
        ssize_t r = read(fd, chunk, sizeof(chunk));
        if (r == 0) {
            break;
        }
        if (r < 0) {
            rc = errno == EAGAIN || errno == EWOULDBLOCK ? -ETIMEDOUT : -errno;
            break;
        }
        if (sp_buf_add(&raw, chunk, (size_t)r)) {
            rc = -ENOBUFS;
            break;
        }
    }
    close(fd);
    if (rc == 0) {
        rc = -EPROTO;
        const char *end = raw.p ? memmem(raw.p, raw.len, "\r\n\r\n", 4) : NULL;
        if (end && raw.len > 12 && memcmp(raw.p, "HTTP/1.", 7) == 0) {
            a->status = atoi(raw.p + 9);
            /* headers: find Spindle-Socket */
            const char *p = memchr(raw.p, '\n', (size_t)(end - raw.p));
            while (p && p < end) {
                p++;
                const char *eol = memchr(p, '\r', (size_t)(end + 2 - p));
                if (eol == NULL) {
                    break;
                }
                if ((size_t)(eol - p) > 15 && strncasecmp(p, "Spindle-Socket:", 15) == 0) {
                    const char *v = p + 15;
                    while (v < eol && *v == ' ') {
                        v++;
                    }
                    size_t vl = (size_t)(eol - v);
                    if (vl < sizeof(a->socket)) {
                        memcpy(a->socket, v, vl);
                        a->socket[vl] = 0;
                    }
                }
                p = eol + 1;
            }
            const char *body = end + 4;
            rc = sp_buf_add(&a->body, body, (size_t)(raw.p + raw.len - body)) ? -ENOBUFS : 0;
            sp_buf_addc(&a->body, 0);
            if (a->body.len) {
                a->body.len--; /* NUL kept after the body */
            }
        }
    }
    sp_buf_free(&raw);
    return rc;
}
