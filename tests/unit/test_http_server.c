/*
 * test_http_server.c - net/http_server.c over real loopback sockets.
 *
 * The server runs on a uv loop in this thread; the client is plain
 * non-blocking sockets written and read between turns of the loop, so every
 * byte boundary and every pause of the client is under the test's control.
 * What is checked is what a client sees (status lines, headers, bodies, the
 * connection closing) and the server's counters.
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>
#include <uv.h>

#include "harness.h"
#include "http_server.h"

/* ---- the test's side of the server ------------------------------------- */

#define MAX_HELD 32

struct fx {
    uv_loop_t loop;
    struct sp_http_server *srv;
    struct sp_http_listener *l;
    int port;
    struct sp_http_request *held[MAX_HELD]; /* requests the hold handler kept */
    int n_held;
    int closed;                             /* the server's close callback ran */
};

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Answers "METHOD PATH?QUERY|BODY|x-test header" at once. */
static void echo(struct sp_http_request *req)
{
    char out[4096];
    const struct sp_http_header *h = sp_http_request_header(req, "x-TEST");
    int n = snprintf(out, sizeof(out), "%s %s?%s|%.*s|%s", req->method, req->path, req->query,
                     (int)req->body_len, req->body, h ? h->value : "-");
    struct sp_http_out_header hd[] = {{"Content-Type", "text/plain"}};
    sp_http_respond(req, 200, hd, 1, out, (size_t)n);
}

static void hold(struct sp_http_request *req)
{
    struct fx *f = req->route_arg;
    if (f->n_held < MAX_HELD) {
        f->held[f->n_held++] = req;
    } else {
        sp_http_respond(req, 500, NULL, 0, "", 0);
    }
}

static void answer_held(struct fx *f, int i, const char *body)
{
    sp_http_respond(f->held[i], 200, NULL, 0, body, strlen(body));
    f->held[i] = NULL;
}

static void fx_start(struct fx *f, const struct sp_http_limits *lim)
{
    memset(f, 0, sizeof(*f));
    uv_loop_init(&f->loop);
    CHECK_EQ_INT(sp_http_server_new(&f->srv, &f->loop, lim), 0);
    CHECK_EQ_INT(sp_http_server_listen(f->srv, "127.0.0.1:0", &f->l), 0);
    f->port = sp_http_listener_port(f->l);
    CHECK(f->port > 0);
    struct sp_http_route routes[] = {
        {.method = "GET", .path = "/a", .handler = echo},
        {.method = "POST", .path = "/a", .handler = echo},
        {.method = "GET", .path = "/b", .handler = echo},
        {.method = "GET", .path = "/c", .handler = echo},
        {.method = "POST", .path = "/v1/traces", .flags = SP_HTTP_ROUTE_TELEMETRY,
         .handler = echo},
        {.method = "GET", .path = "/metrics", .flags = SP_HTTP_ROUTE_ADMIN, .handler = echo},
        {.method = "POST", .path = "/small", .max_body_bytes = 8, .handler = echo},
        {.method = "GET", .path = "/hold", .handler = hold, .arg = f},
        {.method = "POST", .path = "/hold", .handler = hold, .arg = f},
    };
    for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
        CHECK_EQ_INT(sp_http_server_route(f->srv, &routes[i]), 0);
    }
}

static void on_closed(void *arg)
{
    ((struct fx *)arg)->closed = 1;
}

static void fx_stop(struct fx *f)
{
    sp_http_server_close(f->srv, on_closed, f);
    uint64_t end = now_ms() + 2000;
    while (!f->closed && now_ms() < end) {
        uv_run(&f->loop, UV_RUN_NOWAIT);
    }
    CHECK(f->closed);
    /* Requests still held are answered into the void: that only frees them. */
    for (int i = 0; i < f->n_held; i++) {
        if (f->held[i]) {
            CHECK_EQ_INT(sp_http_respond(f->held[i], 200, NULL, 0, "", 0), -ENOTCONN);
        }
    }
    uv_run(&f->loop, UV_RUN_NOWAIT);
    CHECK_EQ_INT(uv_loop_close(&f->loop), 0);
}

/* Turns the loop for about ms milliseconds. */
static void pump(struct fx *f, int ms)
{
    uint64_t end = now_ms() + (uint64_t)ms;
    do {
        uv_run(&f->loop, UV_RUN_NOWAIT);
        poll(NULL, 0, 1);
    } while (now_ms() < end);
}

/* ---- the client -------------------------------------------------------- */

static int cli_connect(struct fx *f)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)f->port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    /* The kernel completes the handshake from the listen backlog. */
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
        close(fd);
        return -1;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    fcntl(fd, F_SETFL, O_NONBLOCK);
    pump(f, 2); /* let the server accept */
    return fd;
}

/* Sends all of it, turning the loop when the socket is full (the server
 * reads only while the loop turns). Returns 0, or -1 on error or 3 s. */
static int cli_send(struct fx *f, int fd, const void *p, size_t n)
{
    const char *c = p;
    uint64_t end = now_ms() + 3000;
    while (n) {
        ssize_t w = send(fd, c, n, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (w > 0) {
            c += w;
            n -= (size_t)w;
        } else if (w < 0 && errno != EAGAIN) {
            return -1;
        } else if (now_ms() > end) {
            return -1;
        }
        uv_run(&f->loop, UV_RUN_NOWAIT);
    }
    uv_run(&f->loop, UV_RUN_NOWAIT);
    return 0;
}

static int cli_sends(struct fx *f, int fd, const char *s)
{
    return cli_send(f, fd, s, strlen(s));
}

struct resp {
    int status;
    char headers[2048]; /* the header block, NUL-terminated */
    char body[4096];
    size_t body_len;
};

struct reader {
    char buf[65536];
    size_t len;
    int eof; /* the server closed (FIN or reset) */
};

/* One complete response from the front of rd, or 0. 1xx are skipped. */
static int take_response(struct reader *rd, struct resp *out)
{
    for (;;) {
        char *end = memmem(rd->buf, rd->len, "\r\n\r\n", 4);
        if (!end) {
            return 0;
        }
        size_t head_len = (size_t)(end - rd->buf) + 4;
        int status = atoi(rd->buf + 9);
        size_t cl = 0;
        char *h = rd->buf;
        while ((h = memmem(h, head_len - (size_t)(h - rd->buf), "\r\n", 2)) && h < end) {
            h += 2;
            if (strncasecmp(h, "Content-Length:", 15) == 0) {
                cl = strtoul(h + 15, NULL, 10);
            }
        }
        if (status >= 100 && status < 200) {
            memmove(rd->buf, rd->buf + head_len, rd->len - head_len);
            rd->len -= head_len;
            continue;
        }
        if (rd->len < head_len + cl) {
            return 0;
        }
        out->status = status;
        size_t hl = head_len < sizeof(out->headers) ? head_len : sizeof(out->headers) - 1;
        memcpy(out->headers, rd->buf, hl);
        out->headers[hl] = 0;
        out->body_len = cl < sizeof(out->body) - 1 ? cl : sizeof(out->body) - 1;
        memcpy(out->body, rd->buf + head_len, out->body_len);
        out->body[out->body_len] = 0;
        memmove(rd->buf, rd->buf + head_len + cl, rd->len - head_len - cl);
        rd->len -= head_len + cl;
        return 1;
    }
}

static void cli_read_some(int fd, struct reader *rd)
{
    for (;;) {
        if (rd->len == sizeof(rd->buf)) {
            rd->len = 0; /* the test reads no more than this that it cares about */
        }
        ssize_t n = recv(fd, rd->buf + rd->len, sizeof(rd->buf) - rd->len, MSG_DONTWAIT);
        if (n > 0) {
            rd->len += (size_t)n;
        } else if (n == 0 || (n < 0 && errno != EAGAIN)) {
            rd->eof = 1;
            return;
        } else {
            return;
        }
    }
}

/* Waits up to ms for n responses; returns how many came. */
static int cli_wait(struct fx *f, int fd, struct reader *rd, struct resp *out, int n, int ms)
{
    int got = 0;
    uint64_t end = now_ms() + (uint64_t)ms;
    while (got < n) {
        uv_run(&f->loop, UV_RUN_NOWAIT);
        cli_read_some(fd, rd);
        while (got < n && take_response(rd, &out[got])) {
            got++;
        }
        if (got == n || rd->eof || now_ms() > end) {
            break;
        }
        poll(NULL, 0, 1);
    }
    return got;
}

/* 1 when the server has closed the connection within ms. */
static int cli_closed(struct fx *f, int fd, struct reader *rd, int ms)
{
    uint64_t end = now_ms() + (uint64_t)ms;
    while (!rd->eof && now_ms() < end) {
        uv_run(&f->loop, UV_RUN_NOWAIT);
        cli_read_some(fd, rd);
        poll(NULL, 0, 1);
    }
    return rd->eof;
}

static int has_header(const struct resp *r, const char *line)
{
    return strcasestr(r->headers, line) != NULL;
}

/* One request, one response on a fresh connection. */
static int roundtrip(struct fx *f, const char *req, struct resp *out)
{
    static struct reader rd;
    memset(&rd, 0, sizeof(rd));
    int fd = cli_connect(f);
    cli_sends(f, fd, req);
    int got = cli_wait(f, fd, &rd, out, 1, 3000);
    close(fd);
    return got;
}

static const struct sp_http_server_stats *stats(struct fx *f)
{
    return sp_http_server_stats(f->srv);
}

/* ---- tests ------------------------------------------------------------- */

static void test_keepalive(void)
{
    struct fx f;
    fx_start(&f, NULL);
    struct reader rd = {0};
    struct resp r[2];
    int fd = cli_connect(&f);
    cli_sends(&f, fd, "GET /a?x=1 HTTP/1.1\r\nHost: t\r\nX-Test: one\r\n\r\n");
    CHECK_EQ_INT(cli_wait(&f, fd, &rd, r, 1, 3000), 1);
    CHECK_EQ_INT(r[0].status, 200);
    CHECK(strcmp(r[0].body, "GET /a?x=1||one") == 0);
    CHECK(!has_header(&r[0], "Connection: close"));
    CHECK(has_header(&r[0], "Content-Type: text/plain\r\n"));
    CHECK(has_header(&r[0], "\r\nDate: "));
    cli_sends(&f, fd, "POST /a HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n\r\nhello");
    CHECK_EQ_INT(cli_wait(&f, fd, &rd, r + 1, 1, 3000), 1);
    CHECK(strcmp(r[1].body, "POST /a?|hello|-") == 0);
    CHECK(!rd.eof);
    CHECK_EQ_INT(stats(&f)->connections_accepted, 1);
    CHECK_EQ_INT(stats(&f)->requests, 2);
    CHECK_EQ_INT(stats(&f)->responses, 2);
    close(fd);
    fx_stop(&f);
}

static void test_pipelined(void)
{
    struct fx f;
    fx_start(&f, NULL);
    struct reader rd = {0};
    struct resp r[3];
    int fd = cli_connect(&f);
    cli_sends(&f, fd,
              "GET /a HTTP/1.1\r\nHost: t\r\n\r\n"
              "GET /b HTTP/1.1\r\nHost: t\r\n\r\n"
              "GET /c HTTP/1.1\r\nHost: t\r\n\r\n");
    CHECK_EQ_INT(cli_wait(&f, fd, &rd, r, 3, 3000), 3);
    CHECK(strcmp(r[0].body, "GET /a?||-") == 0);
    CHECK(strcmp(r[1].body, "GET /b?||-") == 0);
    CHECK(strcmp(r[2].body, "GET /c?||-") == 0);
    CHECK_EQ_INT(rd.len, 0); /* nothing else was written */
    close(fd);
    fx_stop(&f);
}

/* Two pipelined requests (one with a chunked body) split at every byte. */
static void test_split_everywhere(void)
{
    struct fx f;
    fx_start(&f, NULL);
    static const char req[] = "POST /a HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n"
                              "X-Test: v\r\n\r\n3\r\nabc\r\n2;ext=1\r\nde\r\n0\r\nTrailer: x\r\n\r\n"
                              "GET /b?q HTTP/1.1\r\nHost: t\r\n\r\n";
    size_t n = sizeof(req) - 1;
    int ok = 0;
    for (size_t k = 1; k < n; k++) {
        struct reader rd = {0};
        struct resp r[2];
        int fd = cli_connect(&f);
        cli_send(&f, fd, req, k);
        pump(&f, 1);
        cli_send(&f, fd, req + k, n - k);
        if (cli_wait(&f, fd, &rd, r, 2, 3000) == 2 && strcmp(r[0].body, "POST /a?|abcde|v") == 0 &&
            strcmp(r[1].body, "GET /b?q||-") == 0) {
            ok++;
        } else {
            fprintf(stderr, "split at %zu failed\n", k);
        }
        close(fd);
    }
    CHECK_EQ_INT(ok, (long long)(n - 1));

    /* And one byte per write, the loop turning in between. */
    struct reader rd = {0};
    struct resp r[2];
    int fd = cli_connect(&f);
    for (size_t i = 0; i < n; i++) {
        cli_send(&f, fd, req + i, 1);
        uv_run(&f.loop, UV_RUN_NOWAIT);
    }
    CHECK_EQ_INT(cli_wait(&f, fd, &rd, r, 2, 3000), 2);
    CHECK(strcmp(r[0].body, "POST /a?|abcde|v") == 0);
    CHECK(strcmp(r[1].body, "GET /b?q||-") == 0);
    close(fd);
    fx_stop(&f);
}

static void test_routes(void)
{
    struct fx f;
    fx_start(&f, NULL);
    struct reader rd = {0};
    struct resp r[4];
    int fd = cli_connect(&f);
    /* 404 and 405 discard the body and keep the connection. */
    cli_sends(&f, fd,
              "POST /nope HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\n\r\nxyz"
              "DELETE /a HTTP/1.1\r\nHost: t\r\nContent-Length: 2\r\n\r\nzz"
              "GET /a HTTP/1.1\r\nHost: t\r\n\r\n");
    CHECK_EQ_INT(cli_wait(&f, fd, &rd, r, 3, 3000), 3);
    CHECK_EQ_INT(r[0].status, 404);
    CHECK_EQ_INT(r[1].status, 405);
    CHECK(has_header(&r[1], "\r\nAllow: GET, POST\r\n"));
    CHECK_EQ_INT(r[2].status, 200);
    CHECK(!rd.eof);
    CHECK_EQ_INT(stats(&f)->rejected[SP_HTTP_REJ_NOT_FOUND], 1);
    CHECK_EQ_INT(stats(&f)->rejected[SP_HTTP_REJ_METHOD], 1);
    /* Absolute-form target. */
    cli_sends(&f, fd, "GET http://example.com/b?z=2 HTTP/1.1\r\nHost: example.com\r\n\r\n");
    CHECK_EQ_INT(cli_wait(&f, fd, &rd, r + 3, 1, 3000), 1);
    CHECK(strcmp(r[3].body, "GET /b?z=2||-") == 0);
    close(fd);
    /* Mounting twice is refused. */
    struct sp_http_route dup = {.method = "GET", .path = "/a", .handler = echo};
    CHECK_EQ_INT(sp_http_server_route(f.srv, &dup), -EEXIST);
    fx_stop(&f);
}

static void test_malformed(void)
{
    struct fx f;
    fx_start(&f, NULL);
    struct resp r[2];
    struct reader rd = {0};
    int fd = cli_connect(&f);
    /* The good request before the bad one is answered first. */
    cli_sends(&f, fd, "GET /a HTTP/1.1\r\nHost: t\r\n\r\nGET /a HTTP/1.1\r\nBad Header\r\n\r\n");
    CHECK_EQ_INT(cli_wait(&f, fd, &rd, r, 2, 3000), 2);
    CHECK_EQ_INT(r[0].status, 200);
    CHECK_EQ_INT(r[1].status, 400);
    CHECK(has_header(&r[1], "Connection: close"));
    CHECK(cli_closed(&f, fd, &rd, 3000));
    close(fd);
    CHECK_EQ_INT(roundtrip(&f, "\x01\x02 garbage\r\n\r\n", r), 1);
    CHECK_EQ_INT(r[0].status, 400);
    /* Content-Length with chunked: a smuggling shape. */
    CHECK_EQ_INT(roundtrip(&f,
                           "POST /a HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\n"
                           "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
                           r),
                 1);
    CHECK_EQ_INT(r[0].status, 400);
    CHECK_EQ_INT(stats(&f)->rejected[SP_HTTP_REJ_MALFORMED], 3);
    fx_stop(&f);
}

static void test_caps(void)
{
    struct fx f;
    struct sp_http_limits lim = {.max_header_bytes = 1024, .max_body_bytes = 100};
    fx_start(&f, &lim);
    struct resp r[1];
    char big[4096];

    /* Headers over the cap: 431 and closed. */
    int n = snprintf(big, sizeof(big), "GET /a HTTP/1.1\r\nHost: t\r\nX-Pad: %01500d\r\n\r\n", 7);
    struct reader rd = {0};
    int fd = cli_connect(&f);
    cli_send(&f, fd, big, (size_t)n);
    CHECK_EQ_INT(cli_wait(&f, fd, &rd, r, 1, 3000), 1);
    CHECK_EQ_INT(r[0].status, 431);
    CHECK(cli_closed(&f, fd, &rd, 3000));
    close(fd);
    /* Just under the cap passes. */
    n = snprintf(big, sizeof(big), "GET /a HTTP/1.1\r\nHost: t\r\nX-Pad: %0900d\r\n\r\n", 7);
    CHECK_EQ_INT(roundtrip(&f, big, r), 1);
    CHECK_EQ_INT(r[0].status, 200);
    /* Too many header lines. */
    n = snprintf(big, sizeof(big), "GET /a HTTP/1.1\r\n");
    for (int i = 0; i < 70; i++) {
        n += snprintf(big + n, sizeof(big) - (size_t)n, "H%d: v\r\n", i);
    }
    snprintf(big + n, sizeof(big) - (size_t)n, "\r\n");
    CHECK_EQ_INT(roundtrip(&f, big, r), 1);
    CHECK_EQ_INT(r[0].status, 431);
    CHECK_EQ_INT(stats(&f)->rejected[SP_HTTP_REJ_HEADERS_TOO_LARGE], 2);

    /* Body over the cap by Content-Length: 413 at once, and closed. */
    memset(&rd, 0, sizeof(rd));
    fd = cli_connect(&f);
    cli_sends(&f, fd, "POST /a HTTP/1.1\r\nHost: t\r\nContent-Length: 101\r\n\r\n");
    CHECK_EQ_INT(cli_wait(&f, fd, &rd, r, 1, 3000), 1);
    CHECK_EQ_INT(r[0].status, 413);
    CHECK(has_header(&r[0], "Connection: close"));
    CHECK(cli_closed(&f, fd, &rd, 3000));
    close(fd);
    /* Exactly the cap passes. */
    n = snprintf(big, sizeof(big), "POST /a HTTP/1.1\r\nHost: t\r\nContent-Length: 100\r\n\r\n");
    memset(big + n, 'b', 100);
    big[n + 100] = 0;
    CHECK_EQ_INT(roundtrip(&f, big, r), 1);
    CHECK_EQ_INT(r[0].status, 200);
    CHECK_EQ_INT(r[0].body_len, strlen("POST /a?||-") + 100);
    /* A chunked body that grows past the cap. */
    n = snprintf(big, sizeof(big),
                 "POST /a HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n");
    for (int i = 0; i < 3; i++) {
        n += snprintf(big + n, sizeof(big) - (size_t)n, "28\r\n%040d\r\n", i);
    }
    snprintf(big + n, sizeof(big) - (size_t)n, "0\r\n\r\n");
    CHECK_EQ_INT(roundtrip(&f, big, r), 1);
    CHECK_EQ_INT(r[0].status, 413);
    /* A route's own body cap (8). */
    CHECK_EQ_INT(roundtrip(&f, "POST /small HTTP/1.1\r\nHost: t\r\nContent-Length: 9\r\n\r\n123456789",
                           r),
                 1);
    CHECK_EQ_INT(r[0].status, 413);
    CHECK_EQ_INT(stats(&f)->rejected[SP_HTTP_REJ_BODY_TOO_LARGE], 3);
    fx_stop(&f);
}

static void test_header_timeout(void)
{
    struct fx f;
    struct sp_http_limits lim = {.header_timeout_ms = 200, .idle_timeout_ms = 5000};
    fx_start(&f, &lim);
    struct resp r[1];
    memset(r, 0, sizeof(r));
    struct reader rd = {0};
    int fd = cli_connect(&f);
    /* A slowloris: a header line every 50 ms, never the end. Bytes coming
     * do not extend the header timeout: the server answers 408 and closes
     * while the client is still trickling (within 2 s, for a loaded machine). */
    uint64_t t0 = now_ms();
    cli_sends(&f, fd, "GET /a HTTP/1.1\r\n");
    int got = 0;
    while (!got && !rd.eof && now_ms() - t0 < 2000) {
        pump(&f, 50);
        cli_sends(&f, fd, "X-A: b\r\n");
        got = cli_wait(&f, fd, &rd, r, 1, 0);
    }
    uint64_t took = now_ms() - t0;
    CHECK_EQ_INT(got, 1);
    CHECK_EQ_INT(r[0].status, 408);
    CHECK(took >= 190 && took < 2000);
    CHECK(cli_closed(&f, fd, &rd, 3000));
    close(fd);
    /* Connected and silent: closed after the header timeout, not the idle one. */
    memset(&rd, 0, sizeof(rd));
    fd = cli_connect(&f);
    t0 = now_ms();
    CHECK(cli_closed(&f, fd, &rd, 3000));
    CHECK(now_ms() - t0 < 3000);
    close(fd);
    CHECK_EQ_INT(stats(&f)->rejected[SP_HTTP_REJ_HEADER_TIMEOUT], 2);
    CHECK_EQ_INT(stats(&f)->connections_open, 0);
    fx_stop(&f);
}

static void test_idle_timeout(void)
{
    struct fx f;
    struct sp_http_limits lim = {.header_timeout_ms = 5000, .idle_timeout_ms = 300};
    fx_start(&f, &lim);
    struct resp r[1];
    struct reader rd = {0};
    int fd = cli_connect(&f);
    cli_sends(&f, fd, "GET /a HTTP/1.1\r\nHost: t\r\n\r\n");
    CHECK_EQ_INT(cli_wait(&f, fd, &rd, r, 1, 3000), 1);
    /* Still open before the timeout ... */
    pump(&f, 100);
    cli_read_some(fd, &rd);
    CHECK(!rd.eof);
    /* ... closed after it. */
    CHECK(cli_closed(&f, fd, &rd, 3000));
    close(fd);
    CHECK_EQ_INT(stats(&f)->idle_closed, 1);
    /* Silent in the middle of a body. */
    memset(&rd, 0, sizeof(rd));
    fd = cli_connect(&f);
    cli_sends(&f, fd, "POST /a HTTP/1.1\r\nHost: t\r\nContent-Length: 10\r\n\r\nabc");
    CHECK(cli_closed(&f, fd, &rd, 3000));
    close(fd);
    CHECK_EQ_INT(stats(&f)->rejected[SP_HTTP_REJ_IDLE_TIMEOUT], 1);
    /* A handler that takes longer than the idle timeout is not a reason to close. */
    memset(&rd, 0, sizeof(rd));
    fd = cli_connect(&f);
    cli_sends(&f, fd, "GET /hold HTTP/1.1\r\nHost: t\r\n\r\n");
    pump(&f, 600);
    CHECK_EQ_INT(f.n_held, 1);
    answer_held(&f, 0, "late");
    CHECK_EQ_INT(cli_wait(&f, fd, &rd, r, 1, 3000), 1);
    CHECK(strcmp(r[0].body, "late") == 0);
    close(fd);
    fx_stop(&f);
}

static void test_pause(void)
{
    struct fx f;
    fx_start(&f, NULL);
    struct resp r[4];
    struct reader rd = {0};
    int fd = cli_connect(&f);
    sp_http_server_pause(f.srv);
    CHECK(sp_http_server_paused(f.srv));
    cli_sends(&f, fd,
              "POST /v1/traces HTTP/1.1\r\nHost: t\r\nContent-Length: 4\r\n\r\nspan"
              "GET /metrics HTTP/1.1\r\nHost: t\r\n\r\n"
              "GET /a HTTP/1.1\r\nHost: t\r\n\r\n");
    CHECK_EQ_INT(cli_wait(&f, fd, &rd, r, 3, 3000), 3);
    CHECK_EQ_INT(r[0].status, 503);
    CHECK(has_header(&r[0], "\r\nRetry-After: 1\r\n"));
    CHECK_EQ_INT(r[1].status, 200); /* admin: never paused */
    CHECK_EQ_INT(r[2].status, 200); /* unmarked routes: served */
    CHECK_EQ_INT(stats(&f)->rejected[SP_HTTP_REJ_PAUSED], 1);
    sp_http_server_resume(f.srv);
    cli_sends(&f, fd, "POST /v1/traces HTTP/1.1\r\nHost: t\r\nContent-Length: 4\r\n\r\nspan");
    CHECK_EQ_INT(cli_wait(&f, fd, &rd, r + 3, 1, 3000), 1);
    CHECK_EQ_INT(r[3].status, 200);
    CHECK(strcmp(r[3].body, "POST /v1/traces?|span|-") == 0);
    CHECK(!rd.eof);
    close(fd);
    fx_stop(&f);
}

static void test_async_order(void)
{
    struct fx f;
    fx_start(&f, NULL);
    struct resp r[3];
    struct reader rd = {0};
    int fd = cli_connect(&f);
    cli_sends(&f, fd,
              "GET /hold HTTP/1.1\r\nHost: t\r\n\r\n"
              "POST /hold HTTP/1.1\r\nHost: t\r\nContent-Length: 2\r\n\r\nb2"
              "GET /hold?third HTTP/1.1\r\nHost: t\r\n\r\n");
    pump(&f, 20);
    CHECK_EQ_INT(f.n_held, 3);
    CHECK(f.n_held == 3 && strcmp(f.held[1]->body, "b2") == 0);
    CHECK(f.n_held == 3 && strcmp(f.held[2]->query, "third") == 0);
    /* Answered last first: nothing may leave before the first one. */
    answer_held(&f, 2, "three");
    answer_held(&f, 1, "two");
    CHECK_EQ_INT(cli_wait(&f, fd, &rd, r, 1, 200), 0);
    answer_held(&f, 0, "one");
    CHECK_EQ_INT(cli_wait(&f, fd, &rd, r, 3, 3000), 3);
    CHECK(strcmp(r[0].body, "one") == 0);
    CHECK(strcmp(r[1].body, "two") == 0);
    CHECK(strcmp(r[2].body, "three") == 0);
    close(fd);

    /* A client that leaves (a reset) before its answer: answering only
     * frees it. (A plain close looks like a half-close, which still gets
     * its answers.) */
    fd = cli_connect(&f);
    cli_sends(&f, fd, "GET /hold HTTP/1.1\r\nHost: t\r\n\r\n");
    pump(&f, 20);
    CHECK_EQ_INT(f.n_held, 4);
    struct linger lg = {.l_onoff = 1, .l_linger = 0};
    setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
    close(fd);
    pump(&f, 20);
    CHECK_EQ_INT(stats(&f)->connections_open, 0);
    CHECK_EQ_INT(sp_http_respond(f.held[3], 200, NULL, 0, "x", 1), -ENOTCONN);
    f.held[3] = NULL;
    fx_stop(&f);
}

static void test_pipeline_cap(void)
{
    struct fx f;
    struct sp_http_limits lim = {.max_pipeline = 2};
    fx_start(&f, &lim);
    struct resp r[4];
    struct reader rd = {0};
    int fd = cli_connect(&f);
    cli_sends(&f, fd,
              "GET /hold?1 HTTP/1.1\r\nHost: t\r\n\r\nGET /hold?2 HTTP/1.1\r\nHost: t\r\n\r\n"
              "GET /hold?3 HTTP/1.1\r\nHost: t\r\n\r\nGET /hold?4 HTTP/1.1\r\nHost: t\r\n\r\n");
    pump(&f, 20);
    CHECK_EQ_INT(f.n_held, 2); /* the rest waits, unparsed */
    answer_held(&f, 0, "1");
    answer_held(&f, 1, "2");
    pump(&f, 20);
    CHECK_EQ_INT(f.n_held, 4);
    if (f.n_held == 4) {
        CHECK(strcmp(f.held[3]->query, "4") == 0);
        answer_held(&f, 3, "4");
        answer_held(&f, 2, "3");
    }
    CHECK_EQ_INT(cli_wait(&f, fd, &rd, r, 4, 3000), 4);
    CHECK(strcmp(r[0].body, "1") == 0 && strcmp(r[3].body, "4") == 0);
    close(fd);
    fx_stop(&f);
}

static void test_connection_cap(void)
{
    struct fx f;
    struct sp_http_limits lim = {.max_connections = 2};
    fx_start(&f, &lim);
    struct resp r[1];
    static struct reader rd[3];
    memset(rd, 0, sizeof(rd));
    int fd[3];
    for (int i = 0; i < 3; i++) {
        fd[i] = cli_connect(&f);
    }
    pump(&f, 20);
    CHECK(cli_closed(&f, fd[2], &rd[2], 3000));
    CHECK_EQ_INT(stats(&f)->rejected[SP_HTTP_REJ_CONNECTIONS], 1);
    CHECK_EQ_INT(stats(&f)->connections_open, 2);
    for (int i = 0; i < 2; i++) {
        cli_sends(&f, fd[i], "GET /a HTTP/1.1\r\nHost: t\r\n\r\n");
        CHECK_EQ_INT(cli_wait(&f, fd[i], &rd[i], r, 1, 3000), 1);
        CHECK_EQ_INT(r[0].status, 200);
    }
    close(fd[2]);
    close(fd[0]);
    pump(&f, 20);
    /* A place is free again. */
    CHECK_EQ_INT(roundtrip(&f, "GET /a HTTP/1.1\r\nHost: t\r\n\r\n", r), 1);
    CHECK_EQ_INT(r[0].status, 200);
    close(fd[1]);
    fx_stop(&f);
}

static void test_close_and_http10(void)
{
    struct fx f;
    fx_start(&f, NULL);
    struct resp r[2];
    struct reader rd = {0};
    int fd = cli_connect(&f);
    cli_sends(&f, fd, "GET /a HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"
                      "GET /b HTTP/1.1\r\nHost: t\r\n\r\n");
    CHECK_EQ_INT(cli_wait(&f, fd, &rd, r, 2, 1000), 1); /* nothing after the close */
    CHECK(has_header(&r[0], "Connection: close"));
    CHECK(cli_closed(&f, fd, &rd, 3000));
    close(fd);

    /* HTTP/1.0 closes by default ... */
    memset(&rd, 0, sizeof(rd));
    fd = cli_connect(&f);
    cli_sends(&f, fd, "GET /a HTTP/1.0\r\n\r\n");
    CHECK_EQ_INT(cli_wait(&f, fd, &rd, r, 1, 3000), 1);
    CHECK_EQ_INT(r[0].status, 200);
    CHECK(cli_closed(&f, fd, &rd, 3000));
    close(fd);
    /* ... and stays with keep-alive. */
    memset(&rd, 0, sizeof(rd));
    fd = cli_connect(&f);
    cli_sends(&f, fd, "GET /a HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
    CHECK_EQ_INT(cli_wait(&f, fd, &rd, r, 1, 3000), 1);
    CHECK(has_header(&r[0], "Connection: keep-alive"));
    cli_sends(&f, fd, "GET /b HTTP/1.0\r\n\r\n");
    CHECK_EQ_INT(cli_wait(&f, fd, &rd, r + 1, 1, 3000), 1);
    CHECK(strcmp(r[1].body, "GET /b?||-") == 0);
    CHECK(cli_closed(&f, fd, &rd, 3000));
    close(fd);

    /* A client half-closes after its requests: they are still answered. */
    memset(&rd, 0, sizeof(rd));
    fd = cli_connect(&f);
    cli_sends(&f, fd, "GET /a HTTP/1.1\r\nHost: t\r\n\r\nGET /b HTTP/1.1\r\nHost: t\r\n\r\n");
    shutdown(fd, SHUT_WR);
    CHECK_EQ_INT(cli_wait(&f, fd, &rd, r, 2, 3000), 2);
    CHECK(cli_closed(&f, fd, &rd, 3000));
    close(fd);
    fx_stop(&f);
}

static void test_listeners(void)
{
    struct fx f;
    fx_start(&f, NULL);
    char addr[128];
    CHECK_EQ_INT(sp_http_listener_address(f.l, addr, sizeof(addr)), 0);
    char want[64];
    snprintf(want, sizeof(want), "127.0.0.1:%d", f.port);
    CHECK(strcmp(addr, want) == 0);
    CHECK_EQ_INT(sp_http_server_listen(f.srv, "nohost", NULL), -EINVAL);
    CHECK_EQ_INT(sp_http_server_listen(f.srv, "example.com:80", NULL), -EINVAL);

    char path[108];
    snprintf(path, sizeof(path), "/tmp/sp_http_test_%d.sock", (int)getpid());
    char spec[128];
    snprintf(spec, sizeof(spec), "unix:%s", path);
    /* A stale file from a crashed run is replaced. */
    int stale = socket(AF_UNIX, SOCK_STREAM, 0);
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    strcpy(sa.sun_path, path);
    unlink(path);
    CHECK_EQ_INT(bind(stale, (struct sockaddr *)&sa, sizeof(sa)), 0);
    close(stale);
    struct sp_http_listener *ul = NULL;
    CHECK_EQ_INT(sp_http_server_listen(f.srv, spec, &ul), 0);
    if (ul) {
        CHECK_EQ_INT(sp_http_listener_address(ul, addr, sizeof(addr)), 0);
        CHECK(strcmp(addr, spec) == 0);
    }
    /* A live one is not. */
    CHECK_EQ_INT(sp_http_server_listen(f.srv, spec, NULL), UV_EADDRINUSE);
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    CHECK_EQ_INT(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    fcntl(fd, F_SETFL, O_NONBLOCK);
    struct reader rd = {0};
    struct resp r[1];
    cli_sends(&f, fd, "GET /c HTTP/1.1\r\nHost: t\r\n\r\n");
    CHECK_EQ_INT(cli_wait(&f, fd, &rd, r, 1, 3000), 1);
    CHECK(strcmp(r[0].body, "GET /c?||-") == 0);
    close(fd);
    fx_stop(&f);
    CHECK(access(path, F_OK) != 0); /* removed on close */
}

static void test_bad_response(void)
{
    struct fx f;
    fx_start(&f, NULL);
    struct resp r[2];
    struct reader rd = {0};
    int fd = cli_connect(&f);
    cli_sends(&f, fd, "GET /hold HTTP/1.1\r\nHost: t\r\n\r\nGET /hold HTTP/1.1\r\nHost: t\r\n\r\n");
    pump(&f, 20);
    CHECK_EQ_INT(f.n_held, 2);
    /* A header that would split the response is refused: 500 instead. */
    struct sp_http_out_header evil[] = {{"X-A", "b\r\nSet-Cookie: x"}};
    CHECK_EQ_INT(sp_http_respond(f.held[0], 200, evil, 1, "", 0), -EINVAL);
    f.held[0] = NULL;
    struct sp_http_out_header cl[] = {{"Content-Length", "99"}};
    CHECK_EQ_INT(sp_http_respond(f.held[1], 204, cl, 1, "", 0), 0);
    f.held[1] = NULL;
    CHECK_EQ_INT(cli_wait(&f, fd, &rd, r, 2, 3000), 2);
    CHECK_EQ_INT(r[0].status, 500);
    CHECK(!has_header(&r[0], "Set-Cookie"));
    CHECK_EQ_INT(r[1].status, 204);
    CHECK(!has_header(&r[1], "Content-Length"));
    close(fd);
    fx_stop(&f);
}

int main(void)
{
    test_keepalive();
    test_pipelined();
    test_split_everywhere();
    test_routes();
    test_malformed();
    test_caps();
    test_header_timeout();
    test_idle_timeout();
    test_pause();
    test_async_order();
    test_pipeline_cap();
    test_connection_cap();
    test_close_and_http10();
    test_listeners();
    test_bad_response();
    return th_report("test_http_server");
}
