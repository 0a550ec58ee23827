/* http_client_peer.h - the loopback server test_http_client talks to. */
#ifndef HTTP_CLIENT_PEER_H
#define HTTP_CLIENT_PEER_H

#include <uv.h>

/* Serves POST /register and PUT /telemetry (echo, with a
 * Lambda-Extension-Identifier header) and GET /next (held 1.5 s). */
int peer_start(uv_loop_t *loop, int *port);
void peer_close(void (*cb)(void *arg), void *arg);

#endif
