/*
 * listen_addr.h - the one syntax of every address spindle listens on
 * (docs/configuration.md, "Listener addresses"):
 *
 *     HOST:PORT   numeric IPv4, [IPv6] or localhost; PORT 0 binds an ephemeral port
 *     unix:PATH   a Unix stream socket
 *     off         no listener
 *
 * Parsed here, apart from any server, so that the configuration checks every
 * listener the same way (--check-config names the key) and an export
 * endpoint that would loop back into one of spindle's own listeners can be
 * recognised and refused.
 */
#ifndef SP_LISTEN_ADDR_H
#define SP_LISTEN_ADDR_H

#include <stddef.h>

enum sp_listen_kind { SP_LISTEN_OFF = 0, SP_LISTEN_TCP, SP_LISTEN_UNIX };

struct sp_listen_addr {
    int kind;        /* enum sp_listen_kind */
    char host[64];   /* TCP: numeric, without brackets ("localhost" reads as 127.0.0.1) */
    int port;        /* TCP: 0-65535 */
    char path[108];  /* unix: the socket file (sun_path's size) */
};

/* 0 and *out, or -EINVAL with *why (a static phrase for the error message;
 * `why` may be NULL). */
int sp_listen_addr_parse(const char *spec, struct sp_listen_addr *out, const char **why);

/* Whether a client connecting to host:port (an export URL's authority; host
 * "localhost" or numeric) would reach listener `l`: same port, and the same
 * address, or `l` bound to every address (0.0.0.0, ::) and host a loopback or
 * wildcard one. Port 0 (ephemeral) never matches a configured endpoint. */
int sp_listen_addr_reaches(const struct sp_listen_addr *l, const char *host, int port);

/* The same for an http(s):// URL (the default port of its scheme when none). */
int sp_listen_addr_reaches_url(const struct sp_listen_addr *l, const char *url);

#endif
