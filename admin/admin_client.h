/*
 * admin_client.h - a small blocking HTTP/1.0 GET against the admin listener,
 * for `spindle --stats` and spindlectl (command-line tools, never the agent's
 * loop).
 */
#ifndef SP_ADMIN_CLIENT_H
#define SP_ADMIN_CLIENT_H

#include <stddef.h>

#include "buf.h"

struct sp_admin_answer {
    int status;               /* HTTP status */
    struct sp_buf body;
    char socket[256];         /* the Spindle-Socket header, "" when none */
};

/* GET path from addr (HOST:PORT or unix:PATH), within timeout_ms for each of
 * connect, send and every read. 0, or -errno (the connection failed or the
 * answer was not HTTP). Free a->body with sp_buf_free() either way. */
int sp_admin_get(const char *addr, const char *path, int timeout_ms,
                 struct sp_admin_answer *a);

#endif
