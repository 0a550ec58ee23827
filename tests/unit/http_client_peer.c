/*
 * http_client_peer.c - the server side of test_http_client: net/http_server.c
 * on the test's loop, with the routes the client is checked against.
 */
#include <stdio.h>
#include <string.h>

#include "http_client_peer.h"
#include "http_server.h"

static struct {
    struct sp_http_server *srv;
    struct sp_http_request *held; /* the long poll the server holds */
    uv_timer_t release;
} P;

/* Answers "METHOD PATH|BODY|Lambda-Extension-Name" with an identifier header. */
static void echo(struct sp_http_request *req)
{
    char out[512];
    const struct sp_http_header *h = sp_http_request_header(req, "lambda-extension-name");
    int n = snprintf(out, sizeof(out), "%s %s|%.*s|%s", req->method, req->path,
                     (int)req->body_len, req->body, h ? h->value : "-");
    struct sp_http_out_header hd[] = {{"Content-Type", "text/plain"},
                                      {"Lambda-Extension-Identifier", "  id-1234  "}};
    sp_http_respond(req, 200, hd, 2, out, (size_t)n);
}

static void on_release(uv_timer_t *t)
{
    
    const char ev[] = "{\"eventType\":\"SHUTDOWN\"}";
    sp_http_respond(P.held, 200, NULL, 0, ev, sizeof(ev) - 1);
    P.held = NULL;
}

/* Holds the request 1.5 s, like event/next until the next event. */
static void hold(struct sp_http_request *req)
{
    P.held = req;
    uv_timer_start(&P.release, on_release, 1500, 0);
}

int peer_start(uv_loop_t *loop, int *port)
{
    struct sp_http_listener *l;
    int rc = sp_http_server_new(&P.srv, loop, NULL);
    if (rc == 0) {
        rc = sp_http_server_listen(P.srv, "127.0.0.1:0", &l);
    }
    if (rc) {
        return rc;
    }
    *port = sp_http_listener_port(l);
    uv_timer_init(loop, &P.release);
    struct sp_http_route routes[] = {
        {.method = "POST", .path = "/register", .handler = echo},
        {.method = "PUT", .path = "/telemetry", .handler = echo},
        {.method = "GET", .path = "/next", .handler = hold},
    };
    for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
        if ((rc = sp_http_server_route(P.srv, &routes[i]))) {
            return rc;
        }
    }
    return 0;
}

void peer_close(void (*cb)(void *arg), void *arg)
{
    uv_close((uv_handle_t *)&P.release, NULL);
    sp_http_server_close(P.srv, cb, arg);
}
