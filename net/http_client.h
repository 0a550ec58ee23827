/*
 * http_client.h - asynchronous HTTP client (POST; GET and PUT for the Lambda Extensions API): libcurl's multi interface driven by
 * the agent's one libuv loop (CURLMOPT_SOCKETFUNCTION + uv_poll_t,
 * CURLMOPT_TIMERFUNCTION + uv_timer_t). No thread per request, no polling.
 *
 * Ownership: the caller owns the request's url, headers and body and must keep
 * them alive until its callback ran. The client owns everything else. Every
 * request started with sp_http_post() or sp_http_send() gets exactly one callback, also when the
 * client is closed while it is in flight (status 0, error "aborted").
 */
#ifndef SP_HTTP_H
#define SP_HTTP_H

#include <stddef.h>
#include <uv.h>

struct sp_http;

struct sp_http_response {
    long status;          /* HTTP status; 0 when no response was received */
    int transport_error;  /* 1 for connect failures, resets, timeouts */
    int timed_out;        /* 1 when the request's timeout_ms passed (a transport error) */
    const char *error;    /* curl's message when status is 0, else NULL */
    long retry_after_s;   /* Retry-After in seconds (both header forms), -1 if absent */
    const char *body;     /* response body, not NUL-terminated; valid during the callback */
    size_t body_len;      /* capped at SP_HTTP_MAX_RESPONSE_BYTES */
    /* The final response's header lines as received ("Name: value\r\n"...), only for requests
     * sent with SP_HTTP_KEEP_HEADERS (else NULL, 0); valid during the callback. Read one with
     * sp_http_response_header(). Capped at SP_HTTP_MAX_RESPONSE_HEADER_BYTES. */
    const char *headers;
    size_t headers_len;
};

typedef void (*sp_http_cb)(void *arg, const struct sp_http_response *resp);

/* TLS files for one request (https:// only); NULL or "" fields are not set. */
struct sp_http_tls {
    const char *ca_file;   /* PEM bundle: the only CAs trusted to verify the server */
    const char *cert_file; /* PEM client certificate (mTLS); may hold the key too */
    const char *key_file;  /* PEM private key of cert_file */
};

/* One outgoing request (the server's incoming one is struct sp_http_request,
 * net/http_server.h). */
struct sp_http_call {
    const char *url;
    const char *const *headers; /* "Name: value" strings */
    size_t n_headers;
    const void *body;
    size_t body_len;
    long timeout_ms;            /* whole-request timeout */
    /* NULL or no ca_file: libcurl's compiled-in CA bundle, or, where that file is missing, the
     * system bundle found when libcurl was loaded (SSL_CERT_FILE first, then the usual places:
     * docs/configuration.md). The strings are copied by the call. */
    const struct sp_http_tls *tls;
};

/* 0 or a negative errno. user_agent is copied. */
int sp_http_init(struct sp_http **out, uv_loop_t *loop, const char *user_agent);
int sp_http_post(struct sp_http *h, const struct sp_http_call *req, sp_http_cb cb, void *arg);
/* The same with a method: "GET" (no body sent), "PUT" or "POST" (the body as sp_http_post sends
 * it). A timeout_ms of 0 is no client timeout at all: a long poll (the Lambda Extensions API's
 * event/next blocks until the next event) waits as long as the server holds it. flags:
 * SP_HTTP_KEEP_HEADERS hands the response's headers to the callback. -EINVAL for another method. */
#define SP_HTTP_KEEP_HEADERS 1u
int sp_http_send(struct sp_http *h, const char *method, const struct sp_http_call *req,
                 unsigned flags, sp_http_cb cb, void *arg);
/* Copies the value of the response header `name` (ASCII case-insensitive; the first of that
 * name, surrounding blanks trimmed) into out, NUL-terminated. Its length, -ENOENT when absent,
 * -ENOSPC when it does not fit. */
int sp_http_response_header(const struct sp_http_response *resp, const char *name, char *out,
                            size_t n);
size_t sp_http_inflight(const struct sp_http *h);
/* Aborts what is in flight (each gets its callback), then frees the client once
 * every uv handle is closed; on_closed (may be NULL) runs after that. */
void sp_http_close(struct sp_http *h, void (*on_closed)(void *arg), void *arg);

#endif
