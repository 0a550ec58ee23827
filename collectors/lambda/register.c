/*
 * register.c - the register request over a plain socket (see register.h).
 * Synchronous on purpose: it runs in the input's start slot, before the
 * loop (and libcurl) exist for the rest; connecting to a loopback address
 * completes at once, and the request fits any socket buffer.
 */
#include "register.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

/* "1.2.3.4:9001" or "[::1]:9001" into a socket address. 0 or -EAFNOSUPPORT. */
static int parse_api(const char *api, struct sockaddr_storage *ss, socklen_t *len)
{
    char host[64];
    const char *colon = strrchr(api, ':');
    const char *h = api;
    size_t hl = colon ? (size_t)(colon - api) : 0;
    if (colon == NULL || hl == 0) {
        return -EAFNOSUPPORT;
    }
    if (h[0] == '[' && h[hl - 1] == ']') {
        h++;
        hl -= 2;
    }
    char *end;
    unsigned long port = strtoul(colon + 1, &end, 10);
    if (hl >= sizeof(host) || *end != '\0' || port == 0 || port > 65535) {
        return -EAFNOSUPPORT;
    }
    memcpy(host, h, hl);
    host[hl] = '\0';
    memset(ss, 0, sizeof(*ss));
    struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
    struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;
    if (inet_pton(AF_INET, host, &s4->sin_addr) == 1) {
        s4->sin_family = AF_INET;
        s4->sin_port = htons((uint16_t)port);
        *len = sizeof(*s4);
        return 0;
    }
    if (inet_pton(AF_INET6, host, &s6->sin6_addr) == 1) {
        s6->sin6_family = AF_INET6;
        s6->sin6_port = htons((uint16_t)port);
        *len = sizeof(*s6);
        return 0;
    }
    return -EAFNOSUPPORT;
}

int lambda_register_send(const char *api, int shutdown_only, int timeout_ms)
{
    struct sockaddr_storage ss;
    socklen_t sl;
    int rc = parse_api(api, &ss, &sl);
    if (rc) {
        return rc;
    }
    char body[64];
    int bl = snprintf(body, sizeof(body), "{\"events\":[%s\"SHUTDOWN\"]}",
                      shutdown_only ? "" : "\"INVOKE\",");
    char req[512];
    /* Accept-Feature: accountId is harmless where unknown and gives the
     * account id where it is. Connection: close: the answer's end is then
     * the end of the stream, and the later calls go through libcurl. */
    int n = snprintf(req, sizeof(req),
                     "POST /2020-01-01/extension/register HTTP/1.1\r\n"
                     "Host: %s\r\n"
                     "Lambda-Extension-Name: spindle\r\n"
                     "Lambda-Extension-Accept-Feature: accountId\r\n"
                     "Content-Type: application/json\r\n"
                     "Content-Length: %d\r\n"
                     "Connection: close\r\n\r\n%s",
                     api, bl, body);
    if (n < 0 || (size_t)n >= sizeof(req)) {
        return -ENAMETOOLONG;
    }
    int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        return -errno;
    }
    if (connect(fd, (struct sockaddr *)&ss, sl) != 0) {
        if (errno != EINPROGRESS) {
            rc = -errno;
            close(fd);
            return rc;
        }
        struct pollfd p = {.fd = fd, .events = POLLOUT};
        int err = 0;
        socklen_t el = sizeof(err);
        int pr;
        while ((pr = poll(&p, 1, timeout_ms)) < 0 && errno == EINTR) {
        }
        if (pr == 0) {
            close(fd);
            return -ETIMEDOUT;
        }
        if (pr < 0 || getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &el) != 0 || err != 0) {
            rc = pr < 0 ? -errno : err ? -err : -EIO;
            close(fd);
            return rc;
        }
    }
    ssize_t w;
    while ((w = send(fd, req, (size_t)n, MSG_NOSIGNAL)) < 0 && errno == EINTR) {
    }
    if (w != n) {
        /* A fresh socket's buffer holds half a kilobyte; anything else is an error. */
        rc = w < 0 ? -errno : -EIO;
        close(fd);
        return rc;
    }
    return fd;
}

int lambda_register_parse(const char *buf, size_t n, long *status, char *id, size_t idlen)
{
    const char *end = NULL;
    for (size_t i = 0; i + 3 < n; i++) {
        if (memcmp(buf + i, "\r\n\r\n", 4) == 0) {
            end = buf + i + 2; /* just past the last header line's CRLF */
            break;
        }
    }
    if (n >= 5 && memcmp(buf, "HTTP/", 5) != 0) {
        return -EBADMSG;
    }
    if (end == NULL) {
        return 0;
    }
    /* "HTTP/1.1 200 OK\r\n" */
    if (n < 12 || memcmp(buf, "HTTP/1.", 7) != 0 || buf[8] != ' ') {
        return -EBADMSG;
    }
    long st = 0;
    for (int i = 9; i < 12; i++) {
        if (buf[i] < '0' || buf[i] > '9') {
            return -EBADMSG;
        }
        st = st * 10 + (buf[i] - '0');
    }
    *status = st;
    if (idlen) {
        id[0] = '\0';
    }
    static const char key[] = "Lambda-Extension-Identifier:";
    const char *line = memchr(buf, '\n', (size_t)(end - buf));
    while (line && ++line < end) {
        const char *eol = memchr(line, '\n', (size_t)(end - line));
        if (eol == NULL) {
            break;
        }
        size_t ll = (size_t)(eol - line);
        if (ll > sizeof(key) - 1 && strncasecmp(line, key, sizeof(key) - 1) == 0) {
            const char *v = line + sizeof(key) - 1;
            const char *ve = eol;
            while (v < ve && (*v == ' ' || *v == '\t')) {
                v++;
            }
            while (ve > v && (ve[-1] == '\r' || ve[-1] == ' ' || ve[-1] == '\t')) {
                ve--;
            }
            if ((size_t)(ve - v) >= idlen) {
                return -EBADMSG;
            }
            memcpy(id, v, (size_t)(ve - v));
            id[ve - v] = '\0';
        }
        line = eol;
    }
    return 1;
}
