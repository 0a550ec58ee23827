/*
 * listener.c - the Telemetry API listener. See listener.h.
 *
 * Ownership: struct lambda_listener owns its server and its scratch arena;
 * a batch is handed to the door and answered before the handler returns.
 */
#include "listener.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent.h"
#include "door.h"
#include "http_server.h"
#include "log.h"
#include "telemetry_api.h"

struct lambda_listener {
    struct spindle *sp;
    struct sp_http_server *srv;
    struct sp_arena scratch;
    lambda_batch_fn fn;
    void *arg;
    void (*done)(void *arg);
    void *done_arg;
};

/* Lambda defines sandbox.localdomain in /etc/hosts. Reading the file instead
 * of calling the resolver keeps a DNS query (which can hang where there is
 * no network) off the start-up path. */
int lambda_sandbox_resolves(void)
{
    FILE *f = fopen("/etc/hosts", "re");
    if (f == NULL) {
        return 0;
    }
    char line[512];
    int found = 0;
    while (!found && fgets(line, sizeof(line), f)) {
        char *hash = strchr(line, '#');
        if (hash) {
            *hash = '\0';
        }
        for (char *tok = strtok(line, " \t\r\n"); tok; tok = strtok(NULL, " \t\r\n")) {
            if (strcmp(tok, "sandbox.localdomain") == 0) {
                found = 1;
            }
        }
    }
    fclose(f);
    return found;
}

static void on_batch(struct sp_http_request *req)
{
    struct lambda_listener *l = req->route_arg;
    struct sp_tapi_result res;
    int rc = sp_door_lambda(l->sp, &l->scratch, req->body, req->body_len, &res);
    /* A batch that is not JSON would fail again if retried: 400, not 5xx. */
    sp_http_respond(req, rc == 0 ? 200 : 400, NULL, 0, "", 0);
    sp_door_done(l->sp);
    if (rc == 0) {
        l->fn(l->arg, &res);
    }
}

int lambda_listener_start(struct spindle *sp, lambda_batch_fn fn, void *arg,
                          struct lambda_listener **out, int *port)
{
    struct lambda_listener *l = calloc(1, sizeof(*l));
    if (l == NULL) {
        return -ENOMEM;
    }
    l->sp = sp;
    l->fn = fn;
    l->arg = arg;
    sp_arena_init(&l->scratch, 16384);
    struct sp_http_limits lim = {.max_body_bytes = SP_LAMBDA_MAX_BATCH_BYTES};
    struct sp_http_listener *hl;
    const char *bind = lambda_sandbox_resolves() ? "0.0.0.0:0" : "127.0.0.1:0";
    int rc = sp_http_server_new(&l->srv, sp->loop, &lim);
    if (rc == 0 && (rc = sp_http_server_listen(l->srv, bind, &hl)) == 0) {
        const struct sp_http_route r = {.method = "POST",
                                        .path = COL_LAMBDA_TELEMETRY_PATH,
                                        .flags = SP_HTTP_ROUTE_TELEMETRY,
                                        .handler = on_batch,
                                        .arg = l};
        rc = sp_http_server_route(l->srv, &r);
        *port = sp_http_listener_port(hl);
    }
    if (rc) {
        SP_LOG(SP_LOG_ERROR, "cannot start the Telemetry API listener", "bind=%s error=\"%s\"",
               bind, strerror(-rc));
        if (l->srv) {
            sp_http_server_close(l->srv, NULL, NULL);
        }
        sp_arena_free(&l->scratch);
        free(l);
        return rc;
    }
    *out = l;
    return 0;
}

void lambda_listener_pause(struct lambda_listener *l)
{
    sp_http_server_pause(l->srv);
}

void lambda_listener_resume(struct lambda_listener *l)
{
    sp_http_server_resume(l->srv);
}

static void on_server_closed(void *arg)
{
    struct lambda_listener *l = arg;
    void (*done)(void *) = l->done;
    void *done_arg = l->done_arg;
    sp_arena_free(&l->scratch);
    free(l);
    if (done) {
        done(done_arg);
    }
}

void lambda_listener_close(struct lambda_listener *l, void (*done)(void *arg), void *arg)
{
    l->done = done;
    l->done_arg = arg;
    sp_http_server_close(l->srv, on_server_closed, l);
}
