/*
 * listen.h - the listen-address syntax every listener of spindle takes:
 * "HOST:PORT" (numeric IPv4, "[IPv6]" or "localhost"; PORT 0 picks an
 * ephemeral port), "unix:PATH", or "off".
 *
 * A small stand-in, kept apart so that the collectors' shared parser can
 * replace it: callers only use sp_listen_parse() and struct sp_listen_addr.
 */
#ifndef SP_LISTEN_H
#define SP_LISTEN_H

#include <stddef.h>

enum sp_listen_kind { SP_LISTEN_OFF = 0, SP_LISTEN_TCP, SP_LISTEN_UNIX };

struct sp_listen_addr {
    int kind;        /* enum sp_listen_kind */
    char host[64];   /* TCP: "127.0.0.1", "::1" (no brackets), "localhost" */
    int port;        /* TCP: 0-65535 */
    char path[108];  /* unix: the socket file (sun_path's size) */
};

/* 0, or -EINVAL with a reason in why (may be NULL): what a person should fix. */
int sp_listen_parse(const char *s, struct sp_listen_addr *out, const char **why);

#endif
