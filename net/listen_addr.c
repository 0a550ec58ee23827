/*
 * listen_addr.c - listener address syntax. See listen_addr.h.
 */
#include "listen_addr.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

int sp_listen_addr_parse(const char *spec, struct sp_listen_addr *out, const char **why)
{
    memset(out, 0, sizeof(*out));
    const char *ignored;
    if (why == NULL) {
        why = &ignored; /* callers that only want yes or no */
    }
    *why = NULL;
    if (strcmp(spec, "off") == 0) {
        out->kind = SP_LISTEN_OFF;
        return 0;
    }
    if (strncmp(spec, "unix:", 5) == 0) {
        size_t n = strlen(spec + 5);
        if (n == 0 || n >= sizeof(out->path)) {
            *why = n ? "unix: path longer than 107 bytes" : "unix: needs a path";
            return -EINVAL;
        }
        out->kind = SP_LISTEN_UNIX;
        memcpy(out->path, spec + 5, n + 1);
        return 0;
    }
    const char *colon = strrchr(spec, ':');
    if (colon == NULL || colon == spec || colon[1] == 0) {
        *why = "expected HOST:PORT, unix:PATH or off";
        return -EINVAL;
    }
    char *end;
    unsigned long port = strtoul(colon + 1, &end, 10);
    if (*end || port > 65535 || colon[1] == '-' || colon[1] == '+') {
        *why = "the port must be a number from 0 to 65535";
        return -EINVAL;
    }
    const char *h = spec;
    size_t hl = (size_t)(colon - spec);
    if (h[0] == '[') {
        if (hl < 3 || h[hl - 1] != ']') {
            *why = "an IPv6 address goes in brackets: [::1]:4318";
            return -EINVAL;
        }
        h++;
        hl -= 2;
    }
    if (spec[0] != '[' && memchr(h, ':', hl)) {
        *why = "an IPv6 address goes in brackets: [::1]:4318";
        return -EINVAL;
    }
    if (hl >= sizeof(out->host)) {
        *why = "host too long";
        return -EINVAL;
    }
    memcpy(out->host, h, hl);
    out->host[hl] = 0;
    if (strcmp(out->host, "localhost") == 0) {
        strcpy(out->host, "127.0.0.1");
    }
    /* Numeric only: a name lookup at start-up would block the loop. */
    struct sockaddr_in6 s6;
    struct sockaddr_in s4;
    if (uv_ip4_addr(out->host, (int)port, &s4) != 0 && uv_ip6_addr(out->host, (int)port, &s6) != 0) {
        *why = "the host must be a numeric address or localhost";
        return -EINVAL;
    }
    out->kind = SP_LISTEN_TCP;
    out->port = (int)port;
    return 0;
}

static int is_loopback_or_any(const char *h)
{
    return strncmp(h, "127.", 4) == 0 || strcmp(h, "::1") == 0 || strcmp(h, "0.0.0.0") == 0 ||
           strcmp(h, "::") == 0;
}

int sp_listen_addr_reaches(const struct sp_listen_addr *l, const char *host, int port)
{
    if (l->kind != SP_LISTEN_TCP || l->port == 0 || port != l->port) {
        return 0;
    }
    const char *hn = strcmp(host, "localhost") == 0 ? "127.0.0.1" : host;
    if (strcmp(hn, l->host) == 0) {
        return 1;
    }
    int any = strcmp(l->host, "0.0.0.0") == 0 || strcmp(l->host, "::") == 0;
    return any && is_loopback_or_any(hn);
}

int sp_listen_addr_reaches_url(const struct sp_listen_addr *l, const char *url)
{
    int port;
    const char *p;
    if (strncmp(url, "http://", 7) == 0) {
        p = url + 7;
        port = 80;
    } else if (strncmp(url, "https://", 8) == 0) {
        p = url + 8;
        port = 443;
    } else {
        return 0;
    }
    size_t alen = strcspn(p, "/?#");
    const char *at = memchr(p, '@', alen);
    if (at) {
        alen -= (size_t)(at + 1 - p);
        p = at + 1;
    }
    char host[64];
    size_t hl;
    const char *rest;
    if (p[0] == '[') {
        const char *rb = memchr(p, ']', alen);
        if (rb == NULL) {
            return 0;
        }
        hl = (size_t)(rb - p - 1);
        if (hl >= sizeof(host)) {
            return 0;
        }
        memcpy(host, p + 1, hl);
        rest = rb + 1;
    } else {
        const char *c = memchr(p, ':', alen);
        hl = c ? (size_t)(c - p) : alen;
        if (hl >= sizeof(host)) {
            return 0;
        }
        memcpy(host, p, hl);
        rest = p + hl;
    }
    host[hl] = 0;
    if (rest < p + alen && *rest == ':') {
        port = atoi(rest + 1);
    }
    return sp_listen_addr_reaches(l, host, port);
}
