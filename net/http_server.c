/*
 * http_server.c - the HTTP/1.1 server of http_server.h on libuv.
 *
 * A connection reads into one fixed buffer (SP_HTTP_READ_BUF_BYTES) and feeds
 * it to the parser (http_parse.h), which stops after each complete request.
 * Every request, answered by a handler or by the server itself (404, 405,
 * 413, 431, 400, 408, 503), takes a place in the connection's queue when its
 * first byte is parsed; answers leave from the head of the queue only, so
 * pipelined requests are answered in arrival order whatever order handlers
 * answer in. When max_pipeline requests wait, or SP_HTTP_MAX_PENDING_WRITE_BYTES
 * of answers are unread by the client, the connection stops parsing at the
 * next request boundary and stops reading: the kernel pushes back on it.
 *
 * Errors that leave the byte stream unframed (malformed, headers or body over
 * the cap, header timeout) are answered, after the answers queued before
 * them, with Connection: close; the server then shuts its side down and
 * reads and discards for up to SP_HTTP_LINGER_MS before closing, so the
 * client's unsent bytes do not turn into a reset that destroys the answer.
 *
 * One timer per connection enforces the header timeout (phase HEADERS, from
 * the request's first byte), and the idle timeout (in a body, or between
 * requests with nothing owed by the server: counted from the last byte read
 * or written). A connection waiting only for its handlers has no timer.
 *
 * Ownership: the server owns listeners and connections (freed in their close
 * callbacks, the server itself when the last one has closed); a connection
 * owns the queued requests except those with a handler, which are the
 * handler's until sp_http_respond(), and those being written, which the write
 * callback frees.
 */
#include "http_server.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "caps.h"
#include "http_parse.h"

struct route {
    char *method;
    char *path;
    unsigned flags;
    size_t max_body;
    sp_http_handler_fn handler;
    void *arg;
};

union stream {
    uv_handle_t h;
    uv_stream_t s;
    uv_tcp_t tcp;
    uv_pipe_t pipe;
};

struct sp_http_listener {
    union stream io;                   /* first: the handle's address is the listener's */
    struct sp_http_server *srv;
    struct sp_http_listener *next;
    int is_unix;
    char *path;                        /* unix: removed on close */
};

enum req_state {
    R_READING,                         /* being parsed */
    R_HANDLER,                         /* with its handler */
    R_ANSWERED,                        /* answer built, waiting for the ones before it */
};

enum hstate { H_URL, H_FIELD, H_VALUE, H_DONE };

struct hoff {
    uint32_t name, name_len, value, value_len; /* offsets into head */
};

struct conn;

struct req {
    struct sp_http_request pub;        /* first: handlers get &pub */
    struct req *next;                  /* in the connection's queue */
    struct conn *conn;                 /* NULL once the connection has gone */
    enum req_state state;
    struct sp_buf head;                /* url NUL, then name NUL value NUL ... */
    struct sp_buf body;                /* cap: the route's body limit + 1 (the NUL) */
    struct hoff hoff[SP_HTTP_MAX_REQUEST_HEADERS];
    size_t n_hdr;
    enum hstate hstate;
    size_t url_len;
    size_t trailer_bytes;              /* counted against the header cap, not stored */
    uint64_t body_seen;                /* for discarded bodies */
    size_t max_body;
    int discard;                       /* answered by the server: the body is not kept */
    int auto_status;                   /* ... with this status */
    enum sp_http_reject why;           /* ... for this reason (counted when answered) */
    int close_after;                   /* the connection closes after this answer */
    int is_head;
    int keep_alive_10;                 /* HTTP/1.0 with keep-alive: say so in the answer */
    int expect_continue;
    struct sp_http_header *hdrs;       /* pub.headers */
    struct sp_buf out;                 /* the answer's bytes */
    uv_write_t wr;
};

enum phase { P_IDLE, P_HEADERS, P_BODY };

struct conn {
    union stream io;                   /* first: the handle's address is the conn's */
    uv_timer_t timer;
    uv_shutdown_t shutdown;
    struct sp_http_server *srv;
    struct conn *prev, *next;
    struct sp_http_parse *parser;
    char in[SP_HTTP_READ_BUF_BYTES];
    size_t in_off;                     /* parsed up to here */
    size_t in_len;                     /* received up to here */
    struct req *head, *tail;           /* unanswered or unwritten requests, arrival order */
    struct req *cur;                   /* the request being parsed (also the tail) */
    unsigned queued;                   /* requests in the queue */
    size_t write_bytes;                /* handed to uv_write, not yet written */
    enum phase phase;
    uint64_t phase_start_ms;           /* when the current request's first byte came */
    uint64_t last_activity_ms;         /* last byte read or written */
    int handles;                       /* open uv handles; the last close frees the conn */
    int reading;
    int closing;
    int stop_parse;                    /* no further requests: close once answered */
    int eof;                           /* the client shut down its side */
    int lingering;
    int shutting;                      /* a uv_shutdown is in flight */
    int in_drive;                      /* inside drive(): never re-entered */
    int any_request;                   /* a request has begun on this connection */
    enum sp_http_reject fail_reason;   /* why a callback stopped the parser */
};

struct sp_http_server {
    uv_loop_t *loop;
    struct sp_http_limits lim;
    struct route routes[SP_HTTP_MAX_ROUTES];
    size_t n_routes;
    struct sp_http_listener *listeners;
    struct conn *conns;
    int paused;
    int closing;
    unsigned handles;                  /* open uv handles of listeners and connections */
    void (*close_cb)(void *arg);
    void *close_arg;
    struct sp_http_server_stats stats;
    time_t date_at;                    /* the second date[] was written for */
    char date[40];
};

static const char *const reject_names[SP_HTTP_REJ__COUNT] = {
    [SP_HTTP_REJ_NOT_FOUND] = "not_found",
    [SP_HTTP_REJ_METHOD] = "method_not_allowed",
    [SP_HTTP_REJ_BODY_TOO_LARGE] = "body_too_large",
    [SP_HTTP_REJ_HEADERS_TOO_LARGE] = "headers_too_large",
    [SP_HTTP_REJ_MALFORMED] = "malformed",
    [SP_HTTP_REJ_PAUSED] = "paused",
    [SP_HTTP_REJ_HEADER_TIMEOUT] = "header_timeout",
    [SP_HTTP_REJ_IDLE_TIMEOUT] = "idle_timeout",
    [SP_HTTP_REJ_CONNECTIONS] = "connections",
};

const char *sp_http_reject_name(enum sp_http_reject r)
{
    return (unsigned)r < SP_HTTP_REJ__COUNT ? reject_names[r] : "unknown";
}

static const char *status_text(int status)
{
    switch (status) {
    case 100: return "Continue";
    case 200: return "OK";
    case 201: return "Created";
    case 202: return "Accepted";
    case 204: return "No Content";
    case 301: return "Moved Permanently";
    case 302: return "Found";
    case 304: return "Not Modified";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 409: return "Conflict";
    case 411: return "Length Required";
    case 413: return "Content Too Large";
    case 415: return "Unsupported Media Type";
    case 429: return "Too Many Requests";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    default: return ""; /* an empty reason phrase is valid */
    }
}

/* ---- requests ---------------------------------------------------------- */

static void req_free(struct req *r)
{
    sp_buf_free(&r->head);
    sp_buf_free(&r->body);
    sp_buf_free(&r->out);
    free(r->hdrs);
    free(r);
}

static struct req *req_new(struct conn *c)
{
    struct req *r = calloc(1, sizeof(*r));
    if (!r) {
        return NULL;
    }
    r->conn = c;
    sp_buf_init(&r->head, c->srv->lim.max_header_bytes);
    sp_buf_init(&r->body, 0);
    sp_buf_init(&r->out, SIZE_MAX);
    r->max_body = c->srv->lim.max_body_bytes;
    if (c->tail) {
        c->tail->next = r;
    } else {
        c->head = r;
    }
    c->tail = r;
    c->queued++;
    return r;
}

const struct sp_http_header *sp_http_request_header(const struct sp_http_request *req,
                                                    const char *name)
{
    size_t n = strlen(name);
    for (size_t i = 0; i < req->n_headers; i++) {
        const struct sp_http_header *h = &req->headers[i];
        if (h->name_len == n && strncasecmp(h->name, name, n) == 0) {
            return h;
        }
    }
    return NULL;
}

/* ---- connection life --------------------------------------------------- */

static void arm_timer(struct conn *c);
static void drive(struct conn *c);
static void flush(struct conn *c);
static void update_reading(struct conn *c);

static void server_handle_closed(struct sp_http_server *s)
{
    if (--s->handles == 0 && s->closing) {
        void (*cb)(void *) = s->close_cb;
        void *arg = s->close_arg;
        for (size_t i = 0; i < s->n_routes; i++) {
            free(s->routes[i].method);
            free(s->routes[i].path);
        }
        free(s);
        if (cb) {
            cb(arg);
        }
    }
}

static void conn_handle_closed(uv_handle_t *h)
{
    struct conn *c = h->data;
    if (--c->handles > 0) {
        return;
    }
    struct sp_http_server *s = c->srv;
    sp_http_parse_free(c->parser);
    free(c);
    server_handle_closed(s);
    server_handle_closed(s);
}

static void conn_close(struct conn *c)
{
    if (c->closing) {
        return;
    }
    c->closing = 1;
    /* Requests with their handler are orphaned (answered later into the
     * void); the rest die with the connection. Those being written are not in
     * the queue: their write callbacks (cancelled) free them. */
    struct req *r = c->head;
    while (r) {
        struct req *next = r->next;
        if (r->state == R_HANDLER) {
            r->conn = NULL;
        } else {
            req_free(r);
        }
        r = next;
    }
    c->head = c->tail = c->cur = NULL;
    c->queued = 0;
    struct sp_http_server *s = c->srv;
    if (c->prev) {
        c->prev->next = c->next;
    } else {
        s->conns = c->next;
    }
    if (c->next) {
        c->next->prev = c->prev;
    }
    s->stats.connections_open--;
    uv_close(&c->io.h, conn_handle_closed);
    uv_close((uv_handle_t *)&c->timer, conn_handle_closed);
}

static void linger_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf)
{
    struct conn *c = h->data;
    *buf = uv_buf_init(c->in, sizeof(c->in));
}

static void linger_read(uv_stream_t *st, ssize_t nread, const uv_buf_t *buf)
{
    struct conn *c = st->data;
    if (nread < 0) {
        conn_close(c); /* the client has read our answer and closed: done */
    }
}

static void shutdown_cb(uv_shutdown_t *req, int status)
{
    struct conn *c = req->data;
    c->shutting = 0;
    if (c->closing) {
        return;
    }
    if (status < 0) {
        conn_close(c);
        return;
    }
    c->lingering = 1;
    if (c->reading) {
        uv_read_stop(&c->io.s);
    }
    c->reading = 1;
    uv_read_start(&c->io.s, linger_alloc, linger_read);
    arm_timer(c);
}

/* Everything owed is written and nothing more will be read as requests. */
static void finish(struct conn *c)
{
    if (c->closing || c->shutting || c->lingering) {
        return;
    }
    if (c->eof) {
        conn_close(c);
        return;
    }
    c->shutting = 1;
    c->shutdown.data = c;
    if (uv_shutdown(&c->shutdown, &c->io.s, shutdown_cb) != 0) {
        c->shutting = 0;
        conn_close(c);
    }
}

static void maybe_finish(struct conn *c)
{
    if (!c->closing && c->stop_parse && !c->head && c->write_bytes == 0) {
        finish(c);
    }
}

/* ---- answers ----------------------------------------------------------- */

static void format_date(struct sp_http_server *s)
{
    static const char days[7][4] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
    static const char months[12][4] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                       "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    time_t now = time(NULL);
    if (now == s->date_at && s->date[0]) {
        return;
    }
    struct tm tm;
    gmtime_r(&now, &tm);
    /* By hand, not strftime: %a and %b follow the locale. */
    snprintf(s->date, sizeof(s->date), "%s, %02d %s %04d %02d:%02d:%02d GMT", days[tm.tm_wday],
             tm.tm_mday, months[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
    s->date_at = now;
}

static int has_crlf(const char *p)
{
    return strpbrk(p, "\r\n") != NULL;
}

/* Headers the server writes itself; a caller's copy would contradict them. */
static int reserved_header(const char *name)
{
    return strcasecmp(name, "Content-Length") == 0 || strcasecmp(name, "Connection") == 0 ||
           strcasecmp(name, "Transfer-Encoding") == 0 || strcasecmp(name, "Date") == 0;
}

static int build_answer(struct sp_http_server *s, struct req *r, int status,
                        const struct sp_http_out_header *h, size_t nh, const void *body,
                        size_t body_len)
{
    struct sp_buf *b = &r->out;
    int no_body = (status >= 100 && status < 200) || status == 204 || status == 304;
    int rc = 0;
    sp_buf_reset(b);
    rc |= sp_buf_adds(b, "HTTP/1.1 ");
    rc |= sp_buf_add_u64(b, (uint64_t)status);
    rc |= sp_buf_addc(b, ' ');
    rc |= sp_buf_adds(b, status_text(status));
    rc |= sp_buf_adds(b, "\r\n");
    for (size_t i = 0; i < nh; i++) {
        if (reserved_header(h[i].name)) {
            continue;
        }
        rc |= sp_buf_adds(b, h[i].name);
        rc |= sp_buf_adds(b, ": ");
        rc |= sp_buf_adds(b, h[i].value);
        rc |= sp_buf_adds(b, "\r\n");
    }
    format_date(s);
    rc |= sp_buf_adds(b, "Date: ");
    rc |= sp_buf_adds(b, s->date);
    rc |= sp_buf_adds(b, "\r\n");
    if (!no_body) {
        rc |= sp_buf_adds(b, "Content-Length: ");
        rc |= sp_buf_add_u64(b, body_len);
        rc |= sp_buf_adds(b, "\r\n");
    }
    if (r->close_after) {
        rc |= sp_buf_adds(b, "Connection: close\r\n");
    } else if (r->keep_alive_10) {
        rc |= sp_buf_adds(b, "Connection: keep-alive\r\n");
    }
    rc |= sp_buf_adds(b, "\r\n");
    if (!no_body && !r->is_head) {
        rc |= sp_buf_add(b, body, body_len);
    }
    return rc ? -ENOMEM : 0;
}

/* An answer the server gives itself; a failure to build it closes the
 * connection (nothing else can be said on it). */
static void answer_auto(struct conn *c, struct req *r)
{
    struct sp_http_server *s = c->srv;
    struct sp_http_out_header h[3];
    size_t nh = 0;
    char allow[256];
    char retry[16];
    const char *text;
    h[nh++] = (struct sp_http_out_header){"Content-Type", "text/plain"};
    switch (r->auto_status) {
    case 404: text = "not found\n"; break;
    case 405: {
        size_t n = 0;
        allow[0] = 0;
        for (size_t i = 0; i < s->n_routes; i++) {
            if (strcmp(s->routes[i].path, r->pub.path) == 0 &&
                n + strlen(s->routes[i].method) + 3 < sizeof(allow)) {
                n += (size_t)snprintf(allow + n, sizeof(allow) - n, "%s%s", n ? ", " : "",
                                      s->routes[i].method);
            }
        }
        h[nh++] = (struct sp_http_out_header){"Allow", allow};
        text = "method not allowed\n";
        break;
    }
    case 408: text = "request timeout\n"; break;
    case 413: text = "request body too large\n"; break;
    case 431: text = "request headers too large\n"; break;
    case 503:
        snprintf(retry, sizeof(retry), "%u", SP_HTTP_RETRY_AFTER_S);
        h[nh++] = (struct sp_http_out_header){"Retry-After", retry};
        text = "paused, retry later\n";
        break;
    default: text = "bad request\n"; break;
    }
    if (r->auto_status != 500) { /* 500: our own failure, not a rejection */
        s->stats.rejected[r->why]++;
    }
    sp_buf_free(&r->head); /* pub.path is not needed past here */
    sp_buf_free(&r->body);
    if (build_answer(s, r, r->auto_status, h, nh, text, strlen(text)) != 0) {
        conn_close(c);
        return;
    }
    r->state = R_ANSWERED;
}

/* Marks r as answered by the server with status. close: the bytes after it
 * cannot be trusted (or are not wanted), so no further request is parsed. */
static void reject(struct conn *c, struct req *r, int status, enum sp_http_reject why, int close)
{
    r->auto_status = status;
    r->why = why;
    r->discard = 1;
    if (close) {
        r->close_after = 1;
        c->stop_parse = 1;
        c->phase = P_IDLE;
        c->cur = NULL;
        answer_auto(c, r);
    }
}

static void write_cb(uv_write_t *wr, int status)
{
    struct req *r = wr->data;
    struct conn *c = r->conn;
    c->write_bytes -= r->out.len;
    req_free(r);
    if (c->closing) {
        return;
    }
    if (status < 0) {
        conn_close(c);
        return;
    }
    c->last_activity_ms = uv_now(c->srv->loop);
    maybe_finish(c);
    if (!c->closing && !c->shutting && !c->lingering) {
        drive(c);
    }
}

/* Writes the answers at the head of the queue, in order, up to the first
 * one not answered yet. */
static void flush(struct conn *c)
{
    while (!c->closing && c->head && c->head->state == R_ANSWERED) {
        struct req *r = c->head;
        c->head = r->next;
        if (!c->head) {
            c->tail = NULL;
        }
        c->queued--;
        r->next = NULL;
        if (r->close_after) {
            c->stop_parse = 1;
        }
        uv_buf_t b = uv_buf_init(r->out.p, (unsigned)r->out.len);
        r->wr.data = r;
        if (uv_write(&r->wr, &c->io.s, &b, 1, write_cb) != 0) {
            req_free(r);
            conn_close(c);
            return;
        }
        c->write_bytes += r->out.len;
        c->srv->stats.responses++;
        if (r->close_after) {
            /* Nothing after it can be queued (parsing stopped), but be sure. */
            struct req *x = c->head;
            while (x) {
                struct req *next = x->next;
                if (x->state == R_HANDLER) {
                    x->conn = NULL;
                } else {
                    req_free(x);
                }
                x = next;
            }
            c->head = c->tail = c->cur = NULL;
            c->queued = 0;
        }
    }
}

int sp_http_respond(struct sp_http_request *req, int status, const struct sp_http_out_header *h,
                    size_t n_headers, const void *body, size_t body_len)
{
    struct req *r = (struct req *)req;
    struct conn *c = r->conn;
    if (!c) {
        req_free(r);
        return -ENOTCONN;
    }
    int rc = 0;
    if (status < 100 || status > 599 || (n_headers && !h)) {
        rc = -EINVAL;
    }
    for (size_t i = 0; rc == 0 && i < n_headers; i++) {
        if (!h[i].name || !h[i].value || !h[i].name[0] || has_crlf(h[i].name) ||
            has_crlf(h[i].value) || strchr(h[i].name, ':')) {
            rc = -EINVAL;
        }
    }
    if (rc == 0) {
        rc = build_answer(c->srv, r, status, h, n_headers, body, body_len);
    }
    if (rc != 0) {
        static const char msg[] = "internal error\n";
        if (build_answer(c->srv, r, 500, NULL, 0, msg, sizeof(msg) - 1) != 0) {
            conn_close(c);
            return rc;
        }
    }
    /* The request's own bytes are no longer needed: free them now rather
     * than when the answer is written. */
    sp_buf_free(&r->head);
    sp_buf_free(&r->body);
    free(r->hdrs);
    r->hdrs = NULL;
    r->state = R_ANSWERED;
    flush(c);
    if (!c->in_drive && !c->closing) {
        drive(c);
    }
    return rc;
}

/* ---- parser callbacks -------------------------------------------------- */

static int on_begin(void *ud)
{
    struct conn *c = ud;
    struct req *r = req_new(c);
    if (!r) {
        c->fail_reason = SP_HTTP_REJ_MALFORMED;
        conn_close(c);
        return -1;
    }
    c->cur = r;
    c->any_request = 1;
    c->phase = P_HEADERS;
    c->phase_start_ms = uv_now(c->srv->loop);
    return 0;
}

static int too_large_headers(struct conn *c)
{
    reject(c, c->cur, 431, SP_HTTP_REJ_HEADERS_TOO_LARGE, 1);
    return -1;
}

static int on_url(void *ud, const char *p, size_t n)
{
    struct conn *c = ud;
    struct req *r = c->cur;
    if (sp_buf_add(&r->head, p, n) != 0) {
        return too_large_headers(c);
    }
    r->url_len += n;
    return 0;
}

static int on_header_field(void *ud, const char *p, size_t n)
{
    struct conn *c = ud;
    struct req *r = c->cur;
    if (c->phase == P_BODY) { /* a trailer: counted, not kept */
        r->trailer_bytes += n;
        return r->trailer_bytes > c->srv->lim.max_header_bytes ? too_large_headers(c) : 0;
    }
    if (r->hstate != H_FIELD) {
        if (r->n_hdr == SP_HTTP_MAX_REQUEST_HEADERS || sp_buf_addc(&r->head, 0) != 0) {
            return too_large_headers(c);
        }
        r->hoff[r->n_hdr].name = (uint32_t)r->head.len;
        r->n_hdr++;
        r->hstate = H_FIELD;
    }
    if (sp_buf_add(&r->head, p, n) != 0) {
        return too_large_headers(c);
    }
    r->hoff[r->n_hdr - 1].name_len += (uint32_t)n;
    return 0;
}

static int on_header_value(void *ud, const char *p, size_t n)
{
    struct conn *c = ud;
    struct req *r = c->cur;
    if (c->phase == P_BODY) {
        r->trailer_bytes += n;
        return r->trailer_bytes > c->srv->lim.max_header_bytes ? too_large_headers(c) : 0;
    }
    if (r->hstate != H_VALUE) {
        if (sp_buf_addc(&r->head, 0) != 0) {
            return too_large_headers(c);
        }
        r->hoff[r->n_hdr - 1].value = (uint32_t)r->head.len;
        r->hstate = H_VALUE;
    }
    if (sp_buf_add(&r->head, p, n) != 0) {
        return too_large_headers(c);
    }
    r->hoff[r->n_hdr - 1].value_len += (uint32_t)n;
    return 0;
}

static const struct route *find_route(const struct sp_http_server *s, const char *method,
                                      const char *path, int *path_known)
{
    *path_known = 0;
    for (size_t i = 0; i < s->n_routes; i++) {
        if (strcmp(s->routes[i].path, path) == 0) {
            *path_known = 1;
            if (strcmp(s->routes[i].method, method) == 0) {
                return &s->routes[i];
            }
        }
    }
    /* Prefix routes ("/api/v1/workflows/" for "/api/v1/workflows/<id>"),
     * after every exact one; the rest of the path must not be empty. */
    for (size_t i = 0; i < s->n_routes && !*path_known; i++) {
        const struct route *rt = &s->routes[i];
        size_t n = strlen(rt->path);
        if ((rt->flags & SP_HTTP_ROUTE_PREFIX) && strncmp(rt->path, path, n) == 0 && path[n] &&
            strcmp(rt->method, method) == 0) {
            return rt;
        }
    }
    return NULL;
}

/* Splits the stored request-target into path and query (NUL-terminated in
 * place). Origin form "/p?q", absolute form "http://host/p?q" (RFC 9112 3.2.2:
 * a server must accept it), asterisk form "*". */
static int split_target(struct req *r)
{
    char *u = r->head.p;
    size_t n = r->url_len;
    char *path = u;
    if (n == 0) {
        return -EINVAL;
    }
    if (u[0] != '/' && !(n == 1 && u[0] == '*')) {
        char *scheme = strstr(u, "://");
        if (!scheme || scheme == u) {
            return -EINVAL;
        }
        path = strchr(scheme + 3, '/');
        if (!path) {
            /* "http://host" or "http://host?q": the path is "/". */
            static char root[] = "/";
            char *q = strchr(scheme + 3, '?');
            r->pub.path = root;
            r->pub.path_len = 1;
            r->pub.query = q ? q + 1 : "";
            r->pub.query_len = q ? strlen(q + 1) : 0;
            return 0;
        }
    }
    char *hash = strchr(path, '#');
    if (hash) {
        *hash = 0;
    }
    char *q = strchr(path, '?');
    if (q) {
        *q = 0;
    }
    r->pub.path = path;
    r->pub.path_len = strlen(path);
    r->pub.query = q ? q + 1 : "";
    r->pub.query_len = q ? strlen(q + 1) : 0;
    return 0;
}

static void continue_written(uv_write_t *wr, int status)
{
    free(wr);
}

static int on_headers(void *ud, const struct sp_http_parse_info *info)
{
    struct conn *c = ud;
    struct sp_http_server *s = c->srv;
    struct req *r = c->cur;
    /* Close the last string; empty header values get no value callback. */
    if (sp_buf_addc(&r->head, 0) != 0) {
        return too_large_headers(c);
    }
    if (r->hstate == H_URL) {
        r->url_len = r->head.len - 1;
    } else if (r->hstate == H_FIELD) {
        r->hoff[r->n_hdr - 1].value = (uint32_t)r->head.len - 1; /* "" : the NUL just added */
    }
    r->hstate = H_DONE;
    c->phase = P_BODY;
    c->last_activity_ms = uv_now(s->loop);
    r->pub.method = info->method;
    r->pub.http_major = info->http_major;
    r->pub.http_minor = info->http_minor;
    r->is_head = strcmp(info->method, "HEAD") == 0;
    r->keep_alive_10 = info->keep_alive && info->http_major == 1 && info->http_minor == 0;
    if (!info->keep_alive || info->upgrade) {
        r->close_after = 1;
    }
    if (r->n_hdr) {
        r->hdrs = calloc(r->n_hdr, sizeof(*r->hdrs));
        if (!r->hdrs) {
            c->fail_reason = SP_HTTP_REJ_MALFORMED;
            conn_close(c);
            return -1;
        }
    }
    for (size_t i = 0; i < r->n_hdr; i++) {
        r->hdrs[i] = (struct sp_http_header){
            .name = r->head.p + r->hoff[i].name,
            .name_len = r->hoff[i].name_len,
            .value = r->head.p + r->hoff[i].value,
            .value_len = r->hoff[i].value_len,
        };
    }
    r->pub.headers = r->hdrs;
    r->pub.n_headers = r->n_hdr;
    const struct sp_http_header *expect = sp_http_request_header(&r->pub, "Expect");
    r->expect_continue =
        expect && expect->value_len == 12 && strncasecmp(expect->value, "100-continue", 12) == 0;

    if (split_target(r) != 0) {
        reject(c, r, 400, SP_HTTP_REJ_MALFORMED, 1);
        return -1;
    }
    int path_known;
    const struct route *rt = find_route(s, info->method, r->pub.path, &path_known);
    if (rt) {
        if (rt->max_body) {
            r->max_body = rt->max_body;
        }
        r->pub.route_arg = rt->arg;
    }
    if (info->has_length && info->content_length > r->max_body) {
        /* The body is not read: the connection cannot go on after it. */
        reject(c, r, 413, SP_HTTP_REJ_BODY_TOO_LARGE, 1);
        return -1;
    }
    int status = 0;
    enum sp_http_reject why = SP_HTTP_REJ_NOT_FOUND;
    if (!rt) {
        status = path_known ? 405 : 404;
        why = path_known ? SP_HTTP_REJ_METHOD : SP_HTTP_REJ_NOT_FOUND;
    } else if (s->paused && (rt->flags & SP_HTTP_ROUTE_TELEMETRY) &&
               !(rt->flags & SP_HTTP_ROUTE_ADMIN)) {
        status = 503;
        why = SP_HTTP_REJ_PAUSED;
    }
    if (status) {
        /* A client that waits for 100-continue would never send the body
         * we would then have to skip: answer and close instead. */
        int close = r->expect_continue && (info->chunked || info->content_length > 0);
        reject(c, r, status, why, close);
        return close ? -1 : 0;
    }
    r->pub.route_arg = rt->arg;
    r->body.cap = r->max_body + 1;
    if (info->has_length && sp_buf_reserve(&r->body, info->content_length + 1) != 0) {
        c->fail_reason = SP_HTTP_REJ_BODY_TOO_LARGE;
        conn_close(c);
        return -1;
    }
    if (r->expect_continue && c->head == r && c->write_bytes == 0) {
        /* Only at the head of the queue: an interim answer must not jump
         * ahead of earlier requests' answers. */
        static char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";
        uv_write_t *wr = malloc(sizeof(*wr));
        uv_buf_t b = uv_buf_init(cont, sizeof(cont) - 1);
        if (wr && uv_write(wr, &c->io.s, &b, 1, continue_written) != 0) {
            free(wr); /* the client sends the body after its own timeout */
        }
    }
    return 0;
}

static int on_body(void *ud, const char *p, size_t n)
{
    struct conn *c = ud;
    struct req *r = c->cur;
    c->last_activity_ms = uv_now(c->srv->loop);
    if (r->discard) {
        r->body_seen += n;
        if (r->body_seen > r->max_body) {
            reject(c, r, 413, SP_HTTP_REJ_BODY_TOO_LARGE, 1);
            return -1;
        }
        return 0;
    }
    /* The +1 of the cap is the NUL: a body may use max_body bytes. */
    if (r->body.len + n > r->max_body || sp_buf_add(&r->body, p, n) != 0) {
        reject(c, r, 413, SP_HTTP_REJ_BODY_TOO_LARGE, 1);
        return -1;
    }
    return 0;
}

static const struct sp_http_parse_cbs parse_cbs = {
    .on_begin = on_begin,
    .on_url = on_url,
    .on_header_field = on_header_field,
    .on_header_value = on_header_value,
    .on_headers = on_headers,
    .on_body = on_body,
};

/* ---- the read side ----------------------------------------------------- */

static void message_done(struct conn *c)
{
    struct req *r = c->cur;
    c->cur = NULL;
    c->phase = P_IDLE;
    c->last_activity_ms = uv_now(c->srv->loop);
    if (r->close_after) {
        c->stop_parse = 1;
    }
    if (r->discard) {
        answer_auto(c, r);
        return;
    }
    int path_known;
    const struct route *rt = find_route(c->srv, r->pub.method, r->pub.path, &path_known);
    if (!rt || sp_buf_addc(&r->body, 0) != 0) {
        /* Cannot happen (the cap leaves room for it); answer rather than hang. */
        r->auto_status = 500;
        answer_auto(c, r);
        return;
    }
    r->body.len--;
    r->pub.body = r->body.p;
    r->pub.body_len = r->body.len;
    r->state = R_HANDLER;
    c->srv->stats.requests++;
    rt->handler(&r->pub);
}

static int may_parse_next(const struct conn *c)
{
    return !c->closing && !c->stop_parse && !c->lingering && c->queued < c->srv->lim.max_pipeline &&
           c->write_bytes < SP_HTTP_MAX_PENDING_WRITE_BYTES;
}

static void drive(struct conn *c)
{
    if (c->in_drive || c->closing) {
        return;
    }
    c->in_drive = 1;
    while (!c->closing && !c->stop_parse && c->in_off < c->in_len &&
           (c->phase != P_IDLE || may_parse_next(c))) {
        size_t used = 0;
        int rc = sp_http_parse_feed(c->parser, c->in + c->in_off, c->in_len - c->in_off, &used);
        c->in_off += used;
        if (rc == SP_HTTP_PARSE_DONE) {
            message_done(c);
        } else if (rc < 0) {
            if (c->closing || c->stop_parse) {
                break; /* a callback decided already */
            }
            struct req *r = c->cur ? c->cur : req_new(c);
            if (!r) {
                conn_close(c);
                break;
            }
            if (rc == SP_HTTP_PARSE_EHEADERS) {
                reject(c, r, 431, SP_HTTP_REJ_HEADERS_TOO_LARGE, 1);
            } else {
                reject(c, r, 400, SP_HTTP_REJ_MALFORMED, 1);
            }
        }
        flush(c);
    }
    if (c->in_off == c->in_len) {
        c->in_off = c->in_len = 0;
    }
    c->in_drive = 0;
    if (c->closing) {
        return;
    }
    flush(c);
    maybe_finish(c);
    update_reading(c);
    arm_timer(c);
}

static void alloc_cb(uv_handle_t *h, size_t hint, uv_buf_t *buf)
{
    struct conn *c = h->data;
    if (c->in_off > 0 && c->in_off < c->in_len) {
        memmove(c->in, c->in + c->in_off, c->in_len - c->in_off);
        c->in_len -= c->in_off;
        c->in_off = 0;
    }
    *buf = uv_buf_init(c->in + c->in_len, (unsigned)(sizeof(c->in) - c->in_len));
}

static void read_cb(uv_stream_t *st, ssize_t nread, const uv_buf_t *buf)
{
    struct conn *c = st->data;
    if (nread == 0 || c->closing) {
        return;
    }
    if (nread < 0) {
        if (nread != UV_EOF || c->phase != P_IDLE) {
            /* A reset, or the end in the middle of a request: nobody is
             * there to read an answer. */
            conn_close(c);
            return;
        }
        c->eof = 1;
        c->stop_parse = 1;
        uv_read_stop(st);
        c->reading = 0;
        drive(c); /* requests already buffered are still answered */
        return;
    }
    c->in_len += (size_t)nread;
    c->last_activity_ms = uv_now(c->srv->loop);
    drive(c);
}

static void update_reading(struct conn *c)
{
    if (c->closing || c->lingering) {
        return;
    }
    int want = !c->eof && !c->stop_parse && c->in_len < sizeof(c->in) &&
               (c->phase != P_IDLE || may_parse_next(c));
    if (want && !c->reading) {
        if (uv_read_start(&c->io.s, alloc_cb, read_cb) == 0) {
            c->reading = 1;
        }
    } else if (!want && c->reading) {
        uv_read_stop(&c->io.s);
        c->reading = 0;
    }
}

/* The deadline the connection is under now, or 0 for none. */
static uint64_t deadline(const struct conn *c, int *kind)
{
    const struct sp_http_limits *l = &c->srv->lim;
    if (c->lingering) {
        *kind = 3;
        return c->last_activity_ms + SP_HTTP_LINGER_MS;
    }
    if (c->phase == P_HEADERS) {
        *kind = 1;
        return c->phase_start_ms + l->header_timeout_ms;
    }
    if (!c->any_request) {
        /* Connected and silent: held to the header timeout too, or a
         * slowloris would hold a connection for the whole idle timeout. */
        *kind = 4;
        return c->last_activity_ms + l->header_timeout_ms;
    }
    if (c->phase == P_BODY) {
        *kind = 2;
        return c->last_activity_ms + l->idle_timeout_ms;
    }
    if (c->head && c->write_bytes == 0) {
        return 0; /* waiting for our own handlers */
    }
    *kind = 0;
    return c->last_activity_ms + l->idle_timeout_ms;
}

static void timer_cb(uv_timer_t *t)
{
    struct conn *c = t->data;
    if (c->closing) {
        return;
    }
    int kind = 0;
    uint64_t d = deadline(c, &kind);
    uint64_t now = uv_now(c->srv->loop);
    if (d == 0) {
        return;
    }
    if (now < d) {
        uv_timer_start(&c->timer, timer_cb, d - now, 0);
        return;
    }
    switch (kind) {
    case 1: /* headers too slow: 408 after the answers before it */
        reject(c, c->cur, 408, SP_HTTP_REJ_HEADER_TIMEOUT, 1);
        flush(c);
        update_reading(c);
        maybe_finish(c);
        break;
    case 2:
        c->srv->stats.rejected[SP_HTTP_REJ_IDLE_TIMEOUT]++;
        conn_close(c);
        break;
    case 3:
        conn_close(c);
        break;
    case 4:
        c->srv->stats.rejected[SP_HTTP_REJ_HEADER_TIMEOUT]++;
        conn_close(c);
        break;
    default:
        c->srv->stats.idle_closed++;
        conn_close(c);
        break;
    }
}

static void arm_timer(struct conn *c)
{
    if (c->closing) {
        return;
    }
    int kind = 0;
    uint64_t d = deadline(c, &kind);
    if (d == 0) {
        uv_timer_stop(&c->timer);
        return;
    }
    uint64_t now = uv_now(c->srv->loop);
    uv_timer_start(&c->timer, timer_cb, d > now ? d - now : 0, 0);
}

/* ---- listeners --------------------------------------------------------- */

static void refused_closed(uv_handle_t *h)
{
    struct sp_http_server *s = h->data;
    free(h);
    server_handle_closed(s);
}

static void on_connection(uv_stream_t *server, int status)
{
    struct sp_http_listener *l = server->data;
    struct sp_http_server *s = l->srv;
    if (status < 0 || s->closing) {
        return;
    }
    if (s->stats.connections_open >= s->lim.max_connections) {
        /* Accept and close at once: left in the backlog, the client would
         * wait for nothing. */
        union stream *tmp = malloc(sizeof(*tmp));
        if (!tmp) {
            return;
        }
        if (l->is_unix) {
            uv_pipe_init(s->loop, &tmp->pipe, 0);
        } else {
            uv_tcp_init(s->loop, &tmp->tcp);
        }
        tmp->h.data = s;
        s->handles++;
        uv_accept(server, &tmp->s);
        uv_close(&tmp->h, refused_closed);
        s->stats.rejected[SP_HTTP_REJ_CONNECTIONS]++;
        return;
    }
    struct conn *c = calloc(1, sizeof(*c));
    if (!c) {
        return;
    }
    c->srv = s;
    if (sp_http_parse_new(&c->parser, &parse_cbs, c) != 0) {
        free(c);
        return;
    }
    if (l->is_unix) {
        uv_pipe_init(s->loop, &c->io.pipe, 0);
    } else {
        uv_tcp_init(s->loop, &c->io.tcp);
    }
    uv_timer_init(s->loop, &c->timer);
    c->io.h.data = c;
    c->timer.data = c;
    c->handles = 2;
    s->handles += 2;
    c->next = s->conns;
    if (s->conns) {
        s->conns->prev = c;
    }
    s->conns = c;
    s->stats.connections_open++;
    if (uv_accept(server, &c->io.s) != 0) {
        conn_close(c);
        return;
    }
    if (!l->is_unix) {
        uv_tcp_nodelay(&c->io.tcp, 1); /* answers are small and must not wait for Nagle */
    }
    s->stats.connections_accepted++;
    c->last_activity_ms = uv_now(s->loop);
    update_reading(c);
    arm_timer(c);
}

static int parse_host_port(const char *spec, struct sockaddr_storage *ss)
{
    const char *colon = strrchr(spec, ':');
    if (!colon || colon == spec || colon[1] == 0) {
        return -EINVAL;
    }
    char *end;
    unsigned long port = strtoul(colon + 1, &end, 10);
    if (*end || port > 65535) {
        return -EINVAL;
    }
    char host[64];
    size_t hl = (size_t)(colon - spec);
    if (spec[0] == '[') {
        if (hl < 3 || spec[hl - 1] != ']') {
            return -EINVAL;
        }
        spec++;
        hl -= 2;
    }
    if (hl >= sizeof(host)) {
        return -EINVAL;
    }
    memcpy(host, spec, hl);
    host[hl] = 0;
    /* Numeric only: a name lookup would block the loop ("localhost" aside). */
    if (strcmp(host, "localhost") == 0) {
        strcpy(host, "127.0.0.1");
    }
    if (uv_ip4_addr(host, (int)port, (struct sockaddr_in *)ss) == 0) {
        return 0;
    }
    if (uv_ip6_addr(host, (int)port, (struct sockaddr_in6 *)ss) == 0) {
        return 0;
    }
    return -EINVAL;
}

/* A socket file nobody accepts on (a crashed predecessor's) is replaced. */
static int stale_socket(const char *path)
{
    struct stat st;
    if (lstat(path, &st) != 0 || !S_ISSOCK(st.st_mode)) {
        return 0;
    }
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    if (strlen(path) >= sizeof(sa.sun_path)) {
        return 0;
    }
    strcpy(sa.sun_path, path);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        return 0;
    }
    int stale = connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 && errno == ECONNREFUSED;
    close(fd);
    return stale;
}

static void listener_closed(uv_handle_t *h)
{
    struct sp_http_listener *l = h->data;
    struct sp_http_server *s = l->srv;
    free(l->path);
    free(l);
    server_handle_closed(s);
}

int sp_http_server_listen(struct sp_http_server *s, const char *spec,
                          struct sp_http_listener **out)
{
    struct sp_http_listener *l = calloc(1, sizeof(*l));
    if (!l) {
        return -ENOMEM;
    }
    l->srv = s;
    int rc;
    if (strncmp(spec, "unix:", 5) == 0) {
        l->is_unix = 1;
        l->path = strdup(spec + 5);
        if (!l->path || !l->path[0]) {
            rc = l->path ? -EINVAL : -ENOMEM;
            free(l->path);
            free(l);
            return rc;
        }
        uv_pipe_init(s->loop, &l->io.pipe, 0);
        rc = uv_pipe_bind(&l->io.pipe, l->path);
        if (rc == UV_EADDRINUSE && stale_socket(l->path)) {
            unlink(l->path);
            rc = uv_pipe_bind(&l->io.pipe, l->path);
        }
        if (rc != 0) {
            free(l->path); /* not ours: not removed on close */
            l->path = NULL;
        }
    } else {
        struct sockaddr_storage ss;
        rc = parse_host_port(spec, &ss);
        if (rc != 0) {
            free(l);
            return rc;
        }
        uv_tcp_init(s->loop, &l->io.tcp);
        rc = uv_tcp_bind(&l->io.tcp, (struct sockaddr *)&ss, 0);
    }
    l->io.h.data = l;
    s->handles++;
    if (rc == 0) {
        rc = uv_listen(&l->io.s, SP_HTTP_LISTEN_BACKLOG, on_connection);
    }
    if (rc != 0) {
        if (l->path) {
            unlink(l->path);
            free(l->path);
            l->path = NULL;
        }
        uv_close(&l->io.h, listener_closed);
        return rc;
    }
    l->next = s->listeners;
    s->listeners = l;
    if (out) {
        *out = l;
    }
    return 0;
}

int sp_http_listener_port(const struct sp_http_listener *l)
{
    if (l->is_unix) {
        return -EINVAL;
    }
    struct sockaddr_storage ss;
    int len = sizeof(ss);
    int rc = uv_tcp_getsockname(&l->io.tcp, (struct sockaddr *)&ss, &len);
    if (rc != 0) {
        return rc;
    }
    return ss.ss_family == AF_INET6 ? ntohs(((struct sockaddr_in6 *)&ss)->sin6_port)
                                    : ntohs(((struct sockaddr_in *)&ss)->sin_port);
}

int sp_http_listener_address(const struct sp_http_listener *l, char *buf, size_t n)
{
    int w;
    if (l->is_unix) {
        w = snprintf(buf, n, "unix:%s", l->path);
    } else {
        struct sockaddr_storage ss;
        int len = sizeof(ss);
        char ip[64];
        int rc = uv_tcp_getsockname(&l->io.tcp, (struct sockaddr *)&ss, &len);
        if (rc != 0) {
            return rc;
        }
        if (ss.ss_family == AF_INET6) {
            uv_ip6_name((struct sockaddr_in6 *)&ss, ip, sizeof(ip));
            w = snprintf(buf, n, "[%s]:%d", ip, ntohs(((struct sockaddr_in6 *)&ss)->sin6_port));
        } else {
            uv_ip4_name((struct sockaddr_in *)&ss, ip, sizeof(ip));
            w = snprintf(buf, n, "%s:%d", ip, ntohs(((struct sockaddr_in *)&ss)->sin_port));
        }
    }
    return w < 0 || (size_t)w >= n ? -ENOSPC : 0;
}

/* ---- the server -------------------------------------------------------- */

int sp_http_server_new(struct sp_http_server **out, uv_loop_t *loop,
                       const struct sp_http_limits *limits)
{
    struct sp_http_server *s = calloc(1, sizeof(*s));
    if (!s) {
        return -ENOMEM;
    }
    s->loop = loop;
    if (limits) {
        s->lim = *limits;
    }
    struct sp_http_limits *l = &s->lim;
    l->max_header_bytes = l->max_header_bytes ? l->max_header_bytes : SP_DEF_HTTP_MAX_HEADER_BYTES;
    l->max_body_bytes = l->max_body_bytes ? l->max_body_bytes : SP_DEF_HTTP_MAX_BODY_BYTES;
    l->max_connections = l->max_connections ? l->max_connections : SP_DEF_HTTP_MAX_CONNECTIONS;
    l->max_pipeline = l->max_pipeline ? l->max_pipeline : SP_DEF_HTTP_MAX_PIPELINE;
    l->header_timeout_ms = l->header_timeout_ms ? l->header_timeout_ms
                                                : SP_DEF_HTTP_HEADER_TIMEOUT_MS;
    l->idle_timeout_ms = l->idle_timeout_ms ? l->idle_timeout_ms : SP_DEF_HTTP_IDLE_TIMEOUT_MS;
    *out = s;
    return 0;
}

int sp_http_server_route(struct sp_http_server *s, const struct sp_http_route *r)
{
    if (!r->method || !r->path || r->path[0] != '/' || !r->handler) {
        return -EINVAL;
    }
    int known;
    if (find_route(s, r->method, r->path, &known)) {
        return -EEXIST;
    }
    if (s->n_routes == SP_HTTP_MAX_ROUTES) {
        return -ENOSPC;
    }
    struct route *rt = &s->routes[s->n_routes];
    rt->method = strdup(r->method);
    rt->path = strdup(r->path);
    if (!rt->method || !rt->path) {
        free(rt->method);
        free(rt->path);
        return -ENOMEM;
    }
    rt->flags = r->flags;
    rt->max_body = r->max_body_bytes;
    rt->handler = r->handler;
    rt->arg = r->arg;
    s->n_routes++;
    return 0;
}

void sp_http_server_pause(struct sp_http_server *s)
{
    s->paused = 1;
}

void sp_http_server_resume(struct sp_http_server *s)
{
    s->paused = 0;
}

int sp_http_server_paused(const struct sp_http_server *s)
{
    return s->paused;
}

const struct sp_http_server_stats *sp_http_server_stats(const struct sp_http_server *s)
{
    return &s->stats;
}

void sp_http_server_close(struct sp_http_server *s, void (*cb)(void *arg), void *arg)
{
    s->closing = 1;
    s->close_cb = cb;
    s->close_arg = arg;
    /* Held by the count while closing, so that it cannot reach 0 (and free
     * the server) half-way through this function. */
    s->handles++;
    while (s->listeners) {
        struct sp_http_listener *l = s->listeners;
        s->listeners = l->next;
        if (l->path) {
            unlink(l->path);
        }
        uv_close(&l->io.h, listener_closed);
    }
    while (s->conns) {
        conn_close(s->conns);
    }
    server_handle_closed(s);
}
