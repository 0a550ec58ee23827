/*
 * test_http_client.c - net/http_client.c against net/http_server.c on one uv
 * loop over loopback: what the Lambda Extensions API needs from the client
 * (GET and PUT, a long poll with no client timeout, response headers and
 * bodies) and that a plain POST is what it was. The server side is in
 * http_client_peer.c: http_server.h and http_client.h both name a struct
 * sp_http_request, so they cannot meet in one file.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <uv.h>

#include "harness.h"
#include "http_client.h"
#include "http_client_peer.h"

struct got {
    int done;
    long status;
    int transport_error;
    char body[512];
    char ident[128];
    int ident_rc;
    uint64_t at_ms;
};

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void on_resp(void *arg, const struct sp_http_response *r)
{
    struct got *g = arg;
    g->done = 1;
    g->status = r->status;
    g->transport_error = r->transport_error;
    snprintf(g->body, sizeof(g->body), "%.*s", (int)r->body_len, r->body ? r->body : "");
    g->ident_rc = sp_http_response_header(r, "lambda-extension-IDENTIFIER", g->ident,
                                          sizeof(g->ident));
    g->at_ms = now_ms();
}

static void wait_for(uv_loop_t *loop, struct got *g, int ms)
{
    uint64_t end = now_ms() + (uint64_t)ms;
    while (!g->done && now_ms() < end) {
        uv_run(loop, UV_RUN_ONCE);
    }
}

static void closed(void *arg)
{
    (*(int *)arg)++;
}

int main(void)
{
    uv_loop_t loop;
    uv_loop_init(&loop);
    int port = 0;
    CHECK_EQ_INT(peer_start(&loop, &port), 0);
    struct sp_http *cli;
    CHECK_EQ_INT(sp_http_init(&cli, &loop, "test"), 0);
    char url[128];
    const char *hdr[] = {"Lambda-Extension-Name: spindle", "Content-Type: application/json"};
    const char body[] = "{\"events\":[\"INVOKE\",\"SHUTDOWN\"]}";

    /* POST with headers kept: status, body, the identifier header (trimmed). */
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/register", port);
    struct sp_http_call req = {.url = url, .headers = hdr, .n_headers = 2, .body = body,
                                  .body_len = sizeof(body) - 1, .timeout_ms = 2000};
    struct got g1 = {0};
    CHECK_EQ_INT(sp_http_send(cli, "POST", &req, SP_HTTP_KEEP_HEADERS, on_resp, &g1), 0);
    wait_for(&loop, &g1, 3000);
    CHECK(g1.done);
    CHECK_EQ_INT(g1.status, 200);
    CHECK(strcmp(g1.body, "POST /register|{\"events\":[\"INVOKE\",\"SHUTDOWN\"]}|spindle") == 0);
    CHECK_EQ_INT(g1.ident_rc, 7);
    CHECK(strcmp(g1.ident, "id-1234") == 0);

    /* The plain POST of the exporters is unchanged: no headers handed over. */
    struct got g2 = {0};
    CHECK_EQ_INT(sp_http_post(cli, &req, on_resp, &g2), 0);
    wait_for(&loop, &g2, 3000);
    CHECK_EQ_INT(g2.status, 200);
    CHECK_EQ_INT(g2.ident_rc, -ENOENT);
    CHECK(strncmp(g2.body, "POST /register|", 15) == 0);

    /* PUT sends its body under PUT (the server routes by method). */
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/telemetry", port);
    struct got g3 = {0};
    CHECK_EQ_INT(sp_http_send(cli, "PUT", &req, 0, on_resp, &g3), 0);
    wait_for(&loop, &g3, 3000);
    CHECK_EQ_INT(g3.status, 200);
    CHECK(strncmp(g3.body, "PUT /telemetry|{\"events\"", 24) == 0);

    /* A long poll with no client timeout: answered after 1.5 s, well past any default a
     * short-request client would use, and a GET carries no body. */
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/next", port);
    struct sp_http_call poll_req = {.url = url, .headers = hdr, .n_headers = 1,
                                       .timeout_ms = 0};
    struct got g4 = {0};
    uint64_t t0 = now_ms();
    CHECK_EQ_INT(sp_http_send(cli, "GET", &poll_req, SP_HTTP_KEEP_HEADERS, on_resp, &g4), 0);
    wait_for(&loop, &g4, 5000);
    CHECK(g4.done);
    CHECK_EQ_INT(g4.status, 200);
    CHECK_EQ_INT(g4.transport_error, 0);
    CHECK(g4.at_ms - t0 >= 1400);
    CHECK(strcmp(g4.body, "{\"eventType\":\"SHUTDOWN\"}") == 0);

    /* Only the methods the client knows. */
    struct got g5 = {0};
    CHECK_EQ_INT(sp_http_send(cli, "DELETE", &req, 0, on_resp, &g5), -EINVAL);
    CHECK_EQ_INT(sp_http_send(cli, NULL, &req, 0, on_resp, &g5), -EINVAL);

    int n_closed = 0;
    sp_http_close(cli, closed, &n_closed);
    peer_close(closed, &n_closed);
    uint64_t end = now_ms() + 2000;
    while (n_closed < 2 && now_ms() < end) {
        uv_run(&loop, UV_RUN_NOWAIT);
    }
    CHECK_EQ_INT(n_closed, 2);
    uv_run(&loop, UV_RUN_NOWAIT);
    CHECK_EQ_INT(uv_loop_close(&loop), 0);
    return th_report("test_http_client");
}
