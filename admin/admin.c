/*
 * admin.c - the admin listener: binds, mounts the routes, answers /metrics,
 * /healthz, /readyz and /api/v1/stats. See admin.h; the names /metrics
 * serves are in docs/metrics.md, the JSON in docs/api.md.
 */
#include "admin_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent.h"
#include "caps.h"
#include "http_server.h"
#include "listen_addr.h"
#include "log.h"

static void respond_text(struct sp_http_request *req, int status, const char *ctype,
                         const void *body, size_t len)
{
    const struct sp_http_out_header h[] = {{"Content-Type", ctype},
                                           {"Cache-Control", "no-store"}};
    sp_http_respond(req, status, h, 2, body, len);
}

/* Does the Accept header ask for OpenMetrics? Prometheus 2.x sends
 * "application/openmetrics-text;version=1.0.0,...;q=0.75,text/plain;...". */
static int wants_openmetrics(const struct sp_http_request *req)
{
    const struct sp_http_header *a = sp_http_request_header(req, "Accept");
    return a && memmem(a->value, a->value_len, "application/openmetrics-text", 28) != NULL;
}

static void get_metrics(struct sp_http_request *req)
{
    struct sp_admin *ad = req->route_arg;
    int om = wants_openmetrics(req);
    struct sp_buf b;
    sp_buf_init(&b, SP_ADMIN_METRICS_BYTES);
    if (sp_admin_prom(ad->sp, om, &b) != 0) {
        SP_LOG_RL(SP_LOG_WARN, "/metrics answer too large or out of memory", "limit=%u",
                  SP_ADMIN_METRICS_BYTES);
        respond_text(req, 500, "text/plain; charset=utf-8", "metrics too large\n", 18);
    } else {
        respond_text(req, 200,
                     om ? "application/openmetrics-text; version=1.0.0; charset=utf-8"
                        : "text/plain; version=0.0.4; charset=utf-8",
                     b.p, b.len);
    }
    sp_buf_free(&b);
}

static void get_healthz(struct sp_http_request *req)
{
    /* Answered from the loop thread: an answer is the proof that it turns. */
    respond_text(req, 200, "text/plain; charset=utf-8", "ok\n", 3);
}

static void get_readyz(struct sp_http_request *req)
{
    struct sp_admin *ad = req->route_arg;
    char why[256], body[300];
    int ok = sp_admin_ready(ad->sp, why, sizeof(why));
    int len = snprintf(body, sizeof(body), "%s\n", why);
    respond_text(req, ok ? 200 : 503, "text/plain; charset=utf-8", body, (size_t)len);
}

/* The counters of `spindle --stats`, for a client that asks the admin
 * listener. Spindle-Socket names the data socket, so a client can tell
 * whether the agent answering is the one it was configured for. */
static void get_stats(struct sp_http_request *req)
{
    struct sp_admin *ad = req->route_arg;
    struct spindle *sp = ad->sp;
    struct sp_buf b;
    sp_buf_init(&b, 64 * 1024);
    uint64_t up = (uv_now(sp->loop) - sp->started_ms) / 1000u;
    if (sp_stats_json(&sp->stats, sp_cstr("cli"), up, &b) == 0 && sp_buf_addc(&b, '\n') == 0) {
        const struct sp_http_out_header h[] = {{"Content-Type", "application/json"},
                                               {"Cache-Control", "no-store"},
                                               {"Spindle-Socket", sp->cfg.socket_path}};
        sp_http_respond(req, 200, h, 3, b.p, b.len);
    } else {
        respond_text(req, 500, "text/plain; charset=utf-8", "out of memory\n", 14);
    }
    sp_buf_free(&b);
}

static void server_closed(void *arg)
{
    sp_admin_recent_free(arg);
    sp_admin_tail_free(arg);
    free(arg);
}

int sp_admin_start(struct spindle *sp)
{
    struct sp_listen_addr la;
    const char *why = "";
    if (sp_listen_addr_parse(sp->cfg.admin_listen, &la, &why)) {
        SP_LOG(SP_LOG_ERROR, "bad admin listen address", "admin.listen=\"%s\" error=\"%s\"",
               sp->cfg.admin_listen, why);
        return -EINVAL;
    }
    if (la.kind == SP_LISTEN_OFF) {
        return 0;
    }
    struct sp_admin *ad = calloc(1, sizeof(*ad));
    if (ad == NULL) {
        return -ENOMEM;
    }
    ad->sp = sp;
    const struct sp_http_limits lim = {.max_connections = SP_ADMIN_MAX_CONNECTIONS,
                                       .max_body_bytes = SP_ADMIN_MAX_BODY_BYTES};
    int rc = sp_http_server_new(&ad->srv, sp->loop, &lim);
    if (rc) {
        free(ad);
        return rc;
    }
    const struct {
        const char *path;
        sp_http_handler_fn fn;
    } routes[] = {
        {"/metrics", get_metrics},
        {"/healthz", get_healthz},
        {"/readyz", get_readyz},
        {"/api/v1/stats", get_stats},
    };
    for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]) && rc == 0; i++) {
        const struct sp_http_route r = {.method = "GET", .path = routes[i].path,
                                        .flags = SP_HTTP_ROUTE_ADMIN, .handler = routes[i].fn,
                                        .arg = ad};
        rc = sp_http_server_route(ad->srv, &r);
    }
    if (rc == 0) {
        rc = sp_admin_api_routes(ad->srv, sp);
    }
    struct sp_http_listener *l = NULL;
    if (rc == 0) {
        rc = sp_http_server_listen(ad->srv, sp->cfg.admin_listen, &l);
    }
    if (rc) {
        sp_http_server_close(ad->srv, server_closed, ad);
        if (!sp->cfg.admin_listen_set) {
            SP_LOG(SP_LOG_WARN,
                   "admin listener off: cannot listen on its default address (another agent "
                   "there? set --http-listen or admin.listen)",
                   "address=\"%s\" error=\"%s\"", sp->cfg.admin_listen, strerror(-rc));
            return 0;
        }
        SP_LOG(SP_LOG_ERROR, "cannot listen on the admin address",
               "admin.listen=\"%s\" error=\"%s\"", sp->cfg.admin_listen, strerror(-rc));
        return rc;
    }
    sp_http_listener_address(l, ad->address, sizeof(ad->address));
    sp->admin = ad;
    sp->stats.admin_address = ad->address;
    return 0;
}

const char *sp_admin_address(const struct spindle *sp)
{
    return sp->admin ? sp->admin->address : NULL;
}

void sp_admin_close(struct spindle *sp)
{
    if (sp->admin == NULL) {
        return;
    }
    sp->stats.admin_address = NULL;
    sp->tap = NULL;
    sp_http_server_close(sp->admin->srv, server_closed, sp->admin);
    sp->admin = NULL;
}
