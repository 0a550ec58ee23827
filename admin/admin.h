/*
 * admin.h - the admin listener (--http-listen, admin.listen): /metrics,
 * /healthz, /readyz, the JSON API under /api/v1/ and the status page, served
 * on the HTTP server of net/http_server.h on routes marked
 * SP_HTTP_ROUTE_ADMIN, which flow control never pauses. It carries no
 * telemetry: everything it answers is read from the agent when asked.
 *
 * Ownership: struct spindle owns the admin part (sp->admin); the admin part
 * owns its HTTP server.
 */
#ifndef SP_ADMIN_H
#define SP_ADMIN_H

#include <stddef.h>

#include "buf.h"

struct spindle;

/* Listens on sp->cfg.admin_listen ("off": does nothing). A default address
 * that cannot be bound is logged and left off (0); a configured one is an
 * error (-errno, logged naming the address). */
int sp_admin_start(struct spindle *sp);
/* The bound address ("127.0.0.1:43117", "unix:/run/x.sock"), or NULL when off. */
const char *sp_admin_address(const struct spindle *sp);
void sp_admin_close(struct spindle *sp);

/* The /metrics body (prom.c): Prometheus text 0.0.4, or OpenMetrics 1.0.0. */
int sp_admin_prom(const struct spindle *sp, int openmetrics, struct sp_buf *out);

/* Mounts /api/v1/status, /api/v1/workflows[/ID], /api/v1/alerts (api.c)
 * and the status page (page.c). */
struct sp_http_server;
int sp_admin_api_routes(struct sp_http_server *srv, struct spindle *sp);

/* A workflow closes (the correlator's `closing` hook, through the agent):
 * remembered for the API. */
struct corr_wf_view;
void sp_admin_workflow_closed(struct spindle *sp, const struct corr_wf_view *v);

/* /readyz: 1 when ready; else 0 with the reason in why. */
int sp_admin_ready(const struct spindle *sp, char *why, size_t n);

#endif
