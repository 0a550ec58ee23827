/*
 * api.c - the JSON API under /api/v1/ (docs/api.md).
 */
#include "admin.h"

#include "agent.h"
#include "http_server.h"

int sp_admin_api_routes(struct sp_http_server *srv, struct spindle *sp)
{
    (void)srv;
    (void)sp;
    return 0;
}
