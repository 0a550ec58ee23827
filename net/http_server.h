/*
 * http_server.h - a small HTTP/1.1 server on libuv, for spindle's inputs and
 * admin pages (OTLP/HTTP receiver, Lambda Telemetry API listener, /metrics).
 *
 * One server runs on one uv loop, listens on any number of TCP (host:port,
 * port 0 for an ephemeral one) and Unix (unix:PATH) addresses, and serves
 * routes mounted by exact method and path. Connections are kept alive and
 * may pipeline: requests are handed to their handlers as they complete and
 * answered on the wire in the order they arrived, however late (for example
 * after a journal fsync) each handler calls sp_http_respond().
 *
 * Limits (struct sp_http_limits, defaults in caps.h): header bytes, body
 * bytes, connections, requests read ahead per connection, a header timeout
 * (from the first byte of a request to the end of its headers: against
 * slowloris) and an idle timeout (no byte from a client that owes us one).
 * Every rejection is counted by reason in the server's stats.
 *
 * Flow control: sp_http_server_pause() makes the server answer requests to
 * SP_HTTP_ROUTE_TELEMETRY routes with 503 and Retry-After (their bodies are
 * read and discarded) until sp_http_server_resume(); admin routes
 * (SP_HTTP_ROUTE_ADMIN) are always served.
 *
 * Ownership: the server owns its listeners and connections and frees them in
 * their close callbacks; a request handed to a handler belongs to the handler
 * until it calls sp_http_respond() (exactly once), which frees it. A request
 * whose connection has gone still must be answered: the call then only frees it.
 */
#ifndef SP_HTTP_SERVER_H
#define SP_HTTP_SERVER_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

struct sp_http_server;
struct sp_http_listener;

struct sp_http_limits {                /* 0 in a field takes caps.h's default */
    size_t max_header_bytes;           /* request line + headers of one request */
    size_t max_body_bytes;             /* decoded body of one request (routes may lower or raise) */
    unsigned max_connections;          /* open at once; further ones are closed at accept */
    unsigned max_pipeline;             /* requests waiting for an answer before reading stops */
    uint64_t header_timeout_ms;        /* first byte of a request -> end of its headers */
    uint64_t idle_timeout_ms;          /* silence from a client we wait for */
};

/* One request header as received: not NUL-terminated on the wire, but the
 * server stores each name and value with a NUL after it. */
struct sp_http_header {
    const char *name;
    size_t name_len;
    const char *value;
    size_t value_len;
};

struct sp_http_request {
    const char *method;                /* "POST" (static string) */
    const char *path;                  /* before '?', as sent (not percent-decoded) */
    size_t path_len;
    const char *query;                 /* after '?', "" when none */
    size_t query_len;
    unsigned http_major, http_minor;
    const struct sp_http_header *headers;
    size_t n_headers;
    const char *body;                  /* decoded (chunked bodies de-chunked); NUL after it */
    size_t body_len;
    void *route_arg;                   /* the arg given with the route */
};

/* The first header of that name (ASCII case-insensitive), or NULL. */
const struct sp_http_header *sp_http_request_header(const struct sp_http_request *req,
                                                    const char *name);

/* Called once per complete request, in arrival order per connection. The
 * handler must call sp_http_respond() once, now or later. */
typedef void (*sp_http_handler_fn)(struct sp_http_request *req);

enum {
    SP_HTTP_ROUTE_TELEMETRY = 1 << 0,  /* answered 503 while the server is paused */
    SP_HTTP_ROUTE_ADMIN = 1 << 1,      /* never paused */
    SP_HTTP_ROUTE_PREFIX = 1 << 2,     /* path ends in '/' and matches every longer path
                                          under it (exact routes are tried first) */
};

struct sp_http_route {
    const char *method;                /* "GET", "POST", ... (copied) */
    const char *path;                  /* exact match, e.g. "/v1/traces" (copied) */
    unsigned flags;                    /* SP_HTTP_ROUTE_* */
    size_t max_body_bytes;             /* 0: the server's limit */
    sp_http_handler_fn handler;
    void *arg;                         /* given back as req->route_arg */
};

/* A response header: NUL-terminated strings, no CR or LF in them. */
struct sp_http_out_header {
    const char *name;
    const char *value;
};

/* Rejections and closes, by reason (counted in stats.rejected[]). */
enum sp_http_reject {
    SP_HTTP_REJ_NOT_FOUND = 0,         /* 404: no route has that path */
    SP_HTTP_REJ_METHOD,                /* 405: the path has no route for that method */
    SP_HTTP_REJ_BODY_TOO_LARGE,        /* 413 */
    SP_HTTP_REJ_HEADERS_TOO_LARGE,     /* 431 */
    SP_HTTP_REJ_MALFORMED,             /* 400, then close */
    SP_HTTP_REJ_PAUSED,                /* 503 + Retry-After on a telemetry route */
    SP_HTTP_REJ_HEADER_TIMEOUT,        /* 408, then close: headers too slow */
    SP_HTTP_REJ_IDLE_TIMEOUT,          /* closed: silent in the middle of a body */
    SP_HTTP_REJ_CONNECTIONS,           /* closed at accept: max_connections open */
    SP_HTTP_REJ__COUNT
};
const char *sp_http_reject_name(enum sp_http_reject r);

struct sp_http_server_stats {
    uint64_t connections_accepted;
    uint64_t connections_open;         /* gauge */
    uint64_t idle_closed;              /* kept-alive connections closed after the idle timeout */
    uint64_t requests;                 /* handed to a handler */
    uint64_t responses;                /* written, all statuses */
    uint64_t rejected[SP_HTTP_REJ__COUNT];
};

/* 0, or a negative errno. limits may be NULL (all defaults). */
int sp_http_server_new(struct sp_http_server **out, uv_loop_t *loop,
                       const struct sp_http_limits *limits);

/* spec: "HOST:PORT" (numeric IPv4, "[IPv6]", or "localhost"; PORT 0 picks
 * one) or "unix:PATH" (a stale socket file nobody listens on is replaced; the
 * file is removed on close). out (may be NULL) is owned by the server. */
int sp_http_server_listen(struct sp_http_server *s, const char *spec,
                          struct sp_http_listener **out);

/* The bound address: "127.0.0.1:43117", "[::1]:43117" or "unix:PATH". */
int sp_http_listener_address(const struct sp_http_listener *l, char *buf, size_t n);
int sp_http_listener_port(const struct sp_http_listener *l); /* TCP: the port; unix: -EINVAL */

/* -EEXIST for a method+path already mounted, -ENOSPC past SP_HTTP_MAX_ROUTES. */
int sp_http_server_route(struct sp_http_server *s, const struct sp_http_route *r);

void sp_http_server_pause(struct sp_http_server *s);
void sp_http_server_resume(struct sp_http_server *s);
int sp_http_server_paused(const struct sp_http_server *s);

const struct sp_http_server_stats *sp_http_server_stats(const struct sp_http_server *s);

/* Answers req (which is freed). The server adds Content-Length, Date and,
 * when it closes after this answer, Connection: close. Returns 0, -EINVAL
 * (bad header, or status out of 100-599: the request is answered 500
 * instead), -ENOMEM (answered 500 when possible, else the connection is
 * closed), or -ENOTCONN when the connection had gone (req freed all the same). */
int sp_http_respond(struct sp_http_request *req, int status, const struct sp_http_out_header *h,
                    size_t n_headers, const void *body, size_t body_len);

/* Stops listening, closes every connection, and frees the server once every
 * handle is closed; then calls cb (may be NULL). Requests still held by
 * handlers stay valid until answered. */
void sp_http_server_close(struct sp_http_server *s, void (*cb)(void *arg), void *arg);

#endif
