/*
 * http_client.h - asynchronous HTTP POST client: libcurl's multi interface driven by
 * the agent's one libuv loop (CURLMOPT_SOCKETFUNCTION + uv_poll_t,
 * CURLMOPT_TIMERFUNCTION + uv_timer_t). No thread per request, no polling.
 *
 * Ownership: the caller owns the request's url, headers and body and must keep
 * them alive until its callback ran. The client owns everything else. Every
 * request started with sp_http_post() gets exactly one callback, also when the
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
};

typedef void (*sp_http_cb)(void *arg, const struct sp_http_response *resp);

struct sp_http_request {
    const char *url;
    const char *const *headers; /* "Name: value" strings */
    size_t n_headers;
    const void *body;
    size_t body_len;
    long timeout_ms;            /* whole-request timeout */
};

/* 0 or a negative errno. user_agent is copied. */
int sp_http_init(struct sp_http **out, uv_loop_t *loop, const char *user_agent);
int sp_http_post(struct sp_http *h, const struct sp_http_request *req, sp_http_cb cb, void *arg);
size_t sp_http_inflight(const struct sp_http *h);
/* Aborts what is in flight (each gets its callback), then frees the client once
 * every uv handle is closed; on_closed (may be NULL) runs after that. */
void sp_http_close(struct sp_http *h, void (*on_closed)(void *arg), void *arg);

#endif
