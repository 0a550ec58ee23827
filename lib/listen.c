/*
 * listen.c - parses listen addresses. See listen.h.
 */
#include "listen.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

static int fail(const char **why, const char *msg)
{
    if (why) {
        *why = msg;
    }
    return -EINVAL;
}

int sp_listen_parse(const char *s, struct sp_listen_addr *out, const char **why)
{
    memset(out, 0, sizeof(*out));
    if (strcmp(s, "off") == 0) {
        out->kind = SP_LISTEN_OFF;
        return 0;
    }
    if (strncmp(s, "unix:", 5) == 0) {
        size_t n = strlen(s + 5);
        if (n == 0) {
            return fail(why, "unix: needs a path");
        }
        if (n >= sizeof(out->path)) {
            return fail(why, "socket path too long (at most 107 bytes)");
        }
        out->kind = SP_LISTEN_UNIX;
        memcpy(out->path, s + 5, n + 1);
        return 0;
    }
    const char *colon = strrchr(s, ':');
    if (colon == NULL) {
        return fail(why, "expected HOST:PORT, unix:PATH or off");
    }
    const char *h = s;
    size_t hl = (size_t)(colon - s);
    if (hl >= 2 && h[0] == '[' && h[hl - 1] == ']') {
        h++;
        hl -= 2;
    } else if (memchr(h, ':', hl)) {
        return fail(why, "an IPv6 address goes in brackets: [::1]:9464");
    }
    if (hl == 0 || hl >= sizeof(out->host)) {
        return fail(why, "expected HOST:PORT with a numeric address or localhost");
    }
    memcpy(out->host, h, hl);
    out->host[hl] = 0;
    unsigned char tmp[16];
    if (strcmp(out->host, "localhost") != 0 && inet_pton(AF_INET, out->host, tmp) != 1 &&
        inet_pton(AF_INET6, out->host, tmp) != 1) {
        return fail(why, "the host must be a numeric address or localhost");
    }
    const char *p = colon + 1;
    char *end;
    long port = strtol(p, &end, 10);
    if (*p < '0' || *p > '9' || *end || port < 0 || port > 65535) {
        return fail(why, "the port must be a number from 0 to 65535");
    }
    out->kind = SP_LISTEN_TCP;
    out->port = (int)port;
    return 0;
}
