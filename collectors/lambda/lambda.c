/*
 * lambda.c - spindle as an AWS Lambda extension: the Extensions API client
 * and the lifecycle. README.md beside it lists the options; docs/lambda.md
 * the whole story.
 *
 * On when AWS_LAMBDA_RUNTIME_API is set (or --lambda-extension, or
 * lambda.extension: true); otherwise every slot does nothing. In order:
 *   1. start: POST /2020-01-01/extension/register, written over a plain
 *      socket before anything else (register.c: Lambda waits for it, and
 *      libcurl takes milliseconds to load), then the Telemetry API listener
 *      binds (listener.c) and libcurl loads while Lambda answers. Events
 *      INVOKE and SHUTDOWN (SHUTDOWN only under Lambda Managed Instances,
 *      which have no INVOKE events); Lambda-Extension-Identifier is kept;
 *   2. PUT /2022-07-01/telemetry subscribes the listener (platform and
 *      function events); a failure is reported to /extension/init/error;
 *   3. GET /2020-01-01/extension/event/next, a long poll with no timeout.
 *      INVOKE: the function runs; once its platform.runtimeDone went through
 *      the door, what it made is exported (metrics export, every batch
 *      sealed) and the next event is asked for when nothing is pending or
 *      lambda.flush_budget passed, whichever comes first: Lambda freezes the
 *      environment only after every extension asked for the next event, so
 *      nothing waits in a frozen environment. SHUTDOWN: the agent stops with
 *      the event's deadline (minus SP_LAMBDA_SHUTDOWN_MARGIN_MS) as its
 *      shutdown timeout; exit 0.
 * A failed event/next is reported to /extension/exit/error and the agent
 * stops with exit code 1.
 *
 * Ownership: struct col_lambda (in->priv) owns the register connection,
 * the HTTP client, the listener, the timer (register timeout, flush polling,
 * the SHUTDOWN wait) and the scratch arena; it is freed once every one of
 * those handles has closed (close slot).
 */
#include "lambda.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <unistd.h>

#include "agent.h"
#include "http_client.h"
#include "json.h"
#include "listener.h"
#include "log.h"
#include "register.h"
#include "telemetry_api.h"

enum lstate {
    L_REGISTERING = 0,
    L_SUBSCRIBING,
    L_WAITING,   /* event/next in flight */
    L_INVOKED,   /* the function runs: waiting for its runtimeDone */
    L_FLUSHING,  /* exporting what the invocation made, within the budget */
    L_STOPPING
};

struct col_lambda {
    struct spindle *sp;
    enum lstate st;
    int managed;                     /* Lambda Managed Instances: no INVOKE events */
    char base[320];                  /* http://$AWS_LAMBDA_RUNTIME_API */
    char url[400];
    char id_hdr[200];                /* "Lambda-Extension-Identifier: ..." */
    char type_hdr[160];              /* "Lambda-Extension-Function-Error-Type: ..." */
    const char *hdrs[3];
    char body[640];
    struct sp_http *http;
    struct lambda_listener *lis;
    int port;
    char request[SP_TAPI_MAX_REQUEST_ID + 1];   /* the INVOKE being served */
    char last_done[SP_TAPI_MAX_REQUEST_ID + 1]; /* the last runtimeDone's request */
    uv_timer_t timer;                /* flush polling, then the SHUTDOWN wait */
    uint64_t flush_start_ms;
    uint64_t shutdown_ms;            /* what is left of the SHUTDOWN deadline */
    struct sp_arena scratch;
    uv_tcp_t reg;                    /* the register request's plain connection */
    int reg_open;                    /* reg is initialised and not yet closed */
    char reg_buf[2048];              /* its answer's head */
    size_t reg_len;
    int open;                        /* handles not yet closed: http, listener, timer, reg */
};

static uint64_t wall_ms(void)
{
    struct timeval tv;
    gettimeofday(&tv, NULL);
    return (uint64_t)tv.tv_sec * 1000 + (uint64_t)tv.tv_usec / 1000;
}

static int lambda_on(const struct spindle *sp)
{
    const char *api = getenv("AWS_LAMBDA_RUNTIME_API");
    if (sp->cfg.lambda_extension == 0) {
        return 0;
    }
    return sp->cfg.lambda_extension == 1 || (api && *api);
}

static void next_event(struct col_lambda *l);

static void one_closed(void *arg)
{
    struct col_lambda *l = arg;
    if (--l->open == 0) {
        sp_arena_free(&l->scratch);
        free(l);
    }
}

static void fatal(struct col_lambda *l, const char *what)
{
    if (l->st == L_STOPPING) {
        return;
    }
    l->st = L_STOPPING;
    l->sp->exit_code = 1;
    sp_agent_stop(l->sp);
    (void)what;
}

static void on_error_reported(void *arg, const struct sp_http_response *r)
{
    struct col_lambda *l = arg;
    if (r->status != 202 && r->status != 200) {
        SP_LOG(SP_LOG_WARN, "Lambda did not take the error report", "status=%ld", r->status);
    }
    fatal(l, "reported");
}

/* /extension/init/error or /extension/exit/error, then stop (exit 1). */
static void report_error(struct col_lambda *l, const char *kind, const char *type,
                         const char *msg)
{
    SP_LOG(SP_LOG_ERROR, "Lambda extension failed", "phase=%s error_type=%s message=\"%s\"", kind,
           type, msg);
    if (l->id_hdr[0] == '\0' || l->http == NULL) {
        fatal(l, msg);
        return;
    }
    char *type_hdr = l->type_hdr;
    snprintf(l->type_hdr, sizeof(l->type_hdr), "Lambda-Extension-Function-Error-Type: %s", type);
    snprintf(l->url, sizeof(l->url), "%s/2020-01-01/extension/%s/error", l->base, kind);
    snprintf(l->body, sizeof(l->body), "{\"errorMessage\":\"%s\",\"errorType\":\"%s\"}", msg, type);
    l->hdrs[0] = l->id_hdr;
    l->hdrs[1] = type_hdr;
    l->hdrs[2] = "Content-Type: application/json";
    struct sp_http_call req = {.url = l->url, .headers = l->hdrs, .n_headers = 3,
                                  .body = l->body, .body_len = strlen(l->body),
                                  .timeout_ms = SP_LAMBDA_TIMEOUT_MS};
    if (sp_http_send(l->http, "POST", &req, 0, on_error_reported, l) != 0) {
        fatal(l, msg);
    }
}

/* --- flush in step with the lifecycle ------------------------------------ */

static void flush_poll(uv_timer_t *t)
{
    struct col_lambda *l = t->data;
    if (l->st != L_FLUSHING) {
        uv_timer_stop(t);
        return;
    }
    uint64_t spent = uv_now(l->sp->loop) - l->flush_start_ms;
    if (sp_pipe_pending(l->sp) == 0 || spent >= l->sp->cfg.lambda_flush_budget_ms) {
        if (sp_pipe_pending(l->sp) != 0) {
            /* The rest goes on after the thaw (and stays in the journal, when on). */
            l->sp->stats.lambda_flush_over_budget++;
            SP_LOG_RL(SP_LOG_INFO, "invocation not exported within lambda.flush_budget",
                      "request_id=%s pending_requests=%zu", l->request, sp_pipe_pending(l->sp));
        }
        uv_timer_stop(t);
        next_event(l);
    }
}

static void begin_flush(struct col_lambda *l)
{
    l->st = L_FLUSHING;
    l->flush_start_ms = uv_now(l->sp->loop);
    sp_metrics_export(l->sp->metrics);
    sp_pipe_flush(l->sp);
    /* Deliveries complete on the loop; polling each millisecond costs
     * nothing next to the function's duration and needs no hook from the
     * pipeline. */
    uv_timer_start(&l->timer, flush_poll, 0, 1);
}

static void on_batch(void *arg, const struct sp_tapi_result *res)
{
    struct col_lambda *l = arg;
    if (res->runtime_done == 0 || l->managed) {
        /* Under LMI there is no INVOKE to step with and no freeze to beat:
         * batches go out on export.batch_delay like anywhere else. */
        return;
    }
    snprintf(l->last_done, sizeof(l->last_done), "%s", res->done_request);
    if (l->st == L_INVOKED && strcmp(l->last_done, l->request) == 0) {
        begin_flush(l);
    }
}

/* --- SHUTDOWN ------------------------------------------------------------ */

static void shutdown_now(uv_timer_t *t)
{
    struct col_lambda *l = t->data;
    struct spindle *sp = l->sp;
    uint64_t waited = uv_now(sp->loop) - l->flush_start_ms;
    /* The deadline wins over export.shutdown_timeout. */
    uint64_t left = l->shutdown_ms > waited ? l->shutdown_ms - waited : 1;
    sp->cfg.shutdown_timeout_ms = left;
    sp_agent_stop(sp);
}

static void on_shutdown(struct col_lambda *l, const struct sp_json *ev)
{
    const struct sp_json *d = sp_json_get(ev, "deadlineMs");
    uint64_t now = wall_ms();
    uint64_t left = l->sp->cfg.shutdown_timeout_ms;
    if (d && d->type == SPJ_NUMBER && d->d > (double)now) {
        left = (uint64_t)d->d - now;
    }
    left = left > SP_LAMBDA_SHUTDOWN_MARGIN_MS ? left - SP_LAMBDA_SHUTDOWN_MARGIN_MS : 1;
    const struct sp_json *reason = sp_json_get(ev, "shutdownReason");
    SP_LOG(SP_LOG_INFO, "Lambda SHUTDOWN", "reason=%.*s deadline_in_ms=%" PRIu64,
           reason && reason->type == SPJ_STRING ? (int)reason->s.len : 1,
           reason && reason->type == SPJ_STRING ? reason->s.p : "-", left);
    l->st = L_STOPPING;
    l->shutdown_ms = left;
    l->flush_start_ms = uv_now(l->sp->loop);
    /* The last invocation's telemetry may still be on its way (Lambda sends
     * it after SHUTDOWN): the listener stays open for two buffering
     * windows, at most a quarter of the time left, before everything stops. */
    uint64_t wait = 2 * l->sp->cfg.lambda_buffer_timeout_ms;
    if (wait > left / 4) {
        wait = left / 4;
    }
    uv_timer_start(&l->timer, shutdown_now, wait, 0);
}

/* --- event/next ---------------------------------------------------------- */

static void on_event(void *arg, const struct sp_http_response *r)
{
    struct col_lambda *l = arg;
    if (l->st == L_STOPPING) {
        return; /* aborted by the close slot */
    }
    if (r->status != 200) {
        char msg[200];
        snprintf(msg, sizeof(msg), "event/next failed: status %ld", r->status);
        report_error(l, "exit", "Extension.EventNextFailed", msg);
        return;
    }
    struct sp_json *ev;
    sp_arena_reset(&l->scratch);
    if (sp_json_parse(&l->scratch, r->body, r->body_len, &ev) != SPJ_OK ||
        ev->type != SPJ_OBJECT) {
        report_error(l, "exit", "Extension.BadEvent", "event/next answered no JSON object");
        return;
    }
    const struct sp_json *type = sp_json_get(ev, "eventType");
    if (type && type->type == SPJ_STRING && type->s.len == 8 &&
        memcmp(type->s.p, "SHUTDOWN", 8) == 0) {
        on_shutdown(l, ev);
        return;
    }
    const struct sp_json *req = sp_json_get(ev, "requestId");
    l->sp->stats.lambda_invokes++;
    snprintf(l->request, sizeof(l->request), "%.*s",
             req && req->type == SPJ_STRING ? (int)req->s.len : 0,
             req && req->type == SPJ_STRING ? req->s.p : "");
    l->st = L_INVOKED;
    if (strcmp(l->last_done, l->request) == 0) {
        begin_flush(l); /* its runtimeDone came first */
    }
}

static void next_event(struct col_lambda *l)
{
    l->st = L_WAITING;
    snprintf(l->url, sizeof(l->url), "%s/2020-01-01/extension/event/next", l->base);
    l->hdrs[0] = l->id_hdr;
    struct sp_http_call req = {.url = l->url, .headers = l->hdrs, .n_headers = 1,
                                  .timeout_ms = 0 /* a long poll: until the next event */};
    if (sp_http_send(l->http, "GET", &req, 0, on_event, l) != 0) {
        report_error(l, "exit", "Extension.EventNextFailed", "cannot send event/next");
    }
}

/* --- register and subscribe ---------------------------------------------- */

static void on_subscribed(void *arg, const struct sp_http_response *r)
{
    struct col_lambda *l = arg;
    if (l->st == L_STOPPING) {
        return;
    }
    if (r->status != 200) {
        char msg[200];
        snprintf(msg, sizeof(msg), "Telemetry API subscription failed: status %ld", r->status);
        report_error(l, "init", "Extension.TelemetrySubscriptionFailed", msg);
        return;
    }
    next_event(l);
}

static void subscribe(struct col_lambda *l)
{
    const struct sp_config *c = &l->sp->cfg;
    l->st = L_SUBSCRIBING;
    snprintf(l->url, sizeof(l->url), "%s/2022-07-01/telemetry", l->base);
    snprintf(l->body, sizeof(l->body),
             "{\"schemaVersion\":\"2025-01-29\",\"types\":[\"platform\",\"function\"],"
             "\"buffering\":{\"maxItems\":%" PRIu64 ",\"maxBytes\":%" PRIu64
             ",\"timeoutMs\":%" PRIu64 "},"
             "\"destination\":{\"protocol\":\"HTTP\",\"URI\":\"http://sandbox.localdomain:%d%s\"}}",
             c->lambda_buffer_max_items, c->lambda_buffer_max_bytes, c->lambda_buffer_timeout_ms,
             l->port, COL_LAMBDA_TELEMETRY_PATH);
    l->hdrs[0] = l->id_hdr;
    l->hdrs[1] = "Content-Type: application/json";
    struct sp_http_call req = {.url = l->url, .headers = l->hdrs, .n_headers = 2,
                                  .body = l->body, .body_len = strlen(l->body),
                                  .timeout_ms = SP_LAMBDA_TIMEOUT_MS};
    if (sp_http_send(l->http, "PUT", &req, 0, on_subscribed, l) != 0) {
        report_error(l, "init", "Extension.TelemetrySubscriptionFailed", "cannot send");
    }
}

/* The register answer, from either path: status, identifier ("" if none). */
static void registered(struct col_lambda *l, long status, const char *id, const char *error)
{
    if (l->st == L_STOPPING) {
        return;
    }
    if (status != 200 || id[0] == '\0') {
        /* Without an identifier there is nobody to report the failure to. */
        SP_LOG(SP_LOG_ERROR, "Lambda extension registration failed", "status=%ld error=\"%s\"",
               status, error ? error : "no Lambda-Extension-Identifier");
        fatal(l, "register");
        return;
    }
    snprintf(l->id_hdr, sizeof(l->id_hdr), "Lambda-Extension-Identifier: %s", id);
    SP_LOG(SP_LOG_INFO, "registered as a Lambda extension", "telemetry_port=%d managed=%d",
           l->port, l->managed);
    subscribe(l);
}

static void on_registered(void *arg, const struct sp_http_response *r)
{
    struct col_lambda *l = arg;
    char id[160] = "";
    if (r->status == 200 &&
        sp_http_response_header(r, "Lambda-Extension-Identifier", id, sizeof(id)) <= 0) {
        id[0] = '\0';
    }
    registered(l, r->status, id, r->error);
}

/* --- the register request over the plain socket (register.h) -------------- */

static void reg_closed(uv_handle_t *h)
{
    struct col_lambda *l = h->data;
    one_closed(l);
}

static void reg_close(struct col_lambda *l)
{
    if (l->reg_open) {
        l->reg_open = 0;
        uv_close((uv_handle_t *)&l->reg, reg_closed);
    }
}

static void reg_timeout(uv_timer_t *t)
{
    struct col_lambda *l = t->data;
    reg_close(l);
    registered(l, 0, "", "timed out");
}

static void reg_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf)
{
    struct col_lambda *l = h->data;
    (void)hint;
    buf->base = l->reg_buf + l->reg_len;
    buf->len = sizeof(l->reg_buf) - 1 - l->reg_len;
}

static void reg_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
    struct col_lambda *l = s->data;
    (void)buf;
    if (n == 0) {
        return;
    }
    long status = 0;
    char id[160] = "";
    int rc;
    if (n < 0) {
        rc = -EPIPE; /* closed (or failed) before the head was complete */
    } else {
        l->reg_len += (size_t)n;
        rc = lambda_register_parse(l->reg_buf, l->reg_len, &status, id, sizeof(id));
        if (rc == 0 && l->reg_len == sizeof(l->reg_buf) - 1) {
            rc = -EMSGSIZE; /* a head this long is no register answer */
        }
    }
    if (rc == 0) {
        return;
    }
    uv_timer_stop(&l->timer);
    reg_close(l);
    registered(l, rc > 0 ? status : 0, id, rc > 0 ? NULL : "no HTTP answer to register");
}
/* --- the input's slots ---------------------------------------------------- */

static int lambda_init(struct sp_input *in)
{
    in->priv = NULL;
    if (!lambda_on(in->sp)) {
        return 0;
    }
    struct col_lambda *l = calloc(1, sizeof(*l));
    if (l == NULL) {
        return -ENOMEM;
    }
    const char *api = getenv("AWS_LAMBDA_RUNTIME_API");
    if (api == NULL || *api == '\0') {
        SP_LOG(SP_LOG_ERROR, "Lambda extension mode needs AWS_LAMBDA_RUNTIME_API", "%s", "");
        free(l);
        return -EINVAL;
    }
    snprintf(l->base, sizeof(l->base), "http://%s", api);
    const char *it = getenv("AWS_LAMBDA_INITIALIZATION_TYPE");
    l->managed = it && strcmp(it, "lambda-managed-instances") == 0;
    l->sp = in->sp;
    sp_arena_init(&l->scratch, 4096);
    in->priv = l;
    return 0;
}

static int lambda_start(struct sp_input *in)
{
    struct col_lambda *l = in->priv;
    if (l == NULL) {
        return 0;
    }
    uv_timer_init(l->sp->loop, &l->timer);
    l->timer.data = l;
    l->open++;
    /* Lambda goes on with the function's init only once every extension
     * has registered: the request goes out before anything else here, over
     * a plain socket, and libcurl loads while Lambda answers. */
    int fd = lambda_register_send(getenv("AWS_LAMBDA_RUNTIME_API"), l->managed,
                                  SP_LAMBDA_TIMEOUT_MS);
    if (fd >= 0) {
        int rc = uv_tcp_init(l->sp->loop, &l->reg);
        if (rc == 0) {
            l->reg.data = l;
            l->reg_open = 1;
            l->open++;
            rc = uv_tcp_open(&l->reg, fd);
            if (rc) {
                close(fd); /* not the handle's: uv_close leaves it open */
            } else {
                rc = uv_read_start((uv_stream_t *)&l->reg, reg_alloc, reg_read);
            }
        } else {
            close(fd);
        }
        if (rc) {
            return rc;
        }
        uv_timer_start(&l->timer, reg_timeout, SP_LAMBDA_TIMEOUT_MS, 0);
    } else if (fd != -EAFNOSUPPORT) {
        SP_LOG(SP_LOG_ERROR, "cannot send the Lambda register request", "api=%s error=\"%s\"",
               getenv("AWS_LAMBDA_RUNTIME_API"), strerror(-fd));
        return fd;
    }
    int rc = lambda_listener_start(l->sp, on_batch, l, &l->lis, &l->port);
    if (rc) {
        return rc;
    }
    l->open++;
    if ((rc = sp_http_init(&l->http, l->sp->loop, "spindle/" SP_VERSION)) != 0) {
        return rc;
    }
    l->open++;
    if (fd >= 0) {
        return 0;
    }
    /* A host name in AWS_LAMBDA_RUNTIME_API (never so in Lambda): libcurl
     * resolves it and registers. */
    snprintf(l->url, sizeof(l->url), "%s/2020-01-01/extension/register", l->base);
    /* Lambda Managed Instances have no INVOKE events to register for. */
    snprintf(l->body, sizeof(l->body), "{\"events\":[%s\"SHUTDOWN\"]}",
             l->managed ? "" : "\"INVOKE\",");
    l->hdrs[0] = "Lambda-Extension-Name: spindle";
    l->hdrs[1] = "Content-Type: application/json";
    /* Accept-Feature: accountId is harmless where unknown and gives the
     * account id for cloud.account.id where it is. */
    l->hdrs[2] = "Lambda-Extension-Accept-Feature: accountId";
    struct sp_http_call req = {.url = l->url, .headers = l->hdrs, .n_headers = 3,
                                  .body = l->body, .body_len = strlen(l->body),
                                  .timeout_ms = SP_LAMBDA_TIMEOUT_MS};
    return sp_http_send(l->http, "POST", &req, SP_HTTP_KEEP_HEADERS, on_registered, l);
}

static void lambda_pause(struct sp_input *in)
{
    struct col_lambda *l = in->priv;
    if (l && l->lis) {
        lambda_listener_pause(l->lis);
    }
}

static void lambda_resume(struct sp_input *in)
{
    struct col_lambda *l = in->priv;
    if (l && l->lis) {
        lambda_listener_resume(l->lis);
    }
}


static void timer_closed(uv_handle_t *h)
{
    one_closed(h->data);
}

static void lambda_close(struct sp_input *in)
{
    struct col_lambda *l = in->priv;
    if (l == NULL) {
        return;
    }
    in->priv = NULL;
    l->st = L_STOPPING;
    int pending = l->open;
    if (pending == 0) {
        sp_arena_free(&l->scratch);
        free(l);
        return;
    }
    /* Each close below ends with one_closed(); the last frees l. */
    if (l->http) {
        struct sp_http *h = l->http;
        l->http = NULL;
        sp_http_close(h, one_closed, l);
    }
    if (l->lis) {
        struct lambda_listener *lis = l->lis;
        l->lis = NULL;
        lambda_listener_close(lis, one_closed, l);
    }
    reg_close(l);
    uv_close((uv_handle_t *)&l->timer, timer_closed);
}

const struct sp_input_ops col_lambda_input = {
    .name = "lambda",
    .init = lambda_init,
    .start = lambda_start,
    .pause = lambda_pause,
    .resume = lambda_resume,
    .durable = sp_input_durable_none,
    .stop_accepting = sp_input_nop,
    .close = lambda_close,
};
