/*
 * otlp.c - the OTLP/HTTP receiver: an input (agent/input.h) that mounts
 * POST /v1/traces, /v1/logs and /v1/metrics on the HTTP server
 * (net/http_server.h) at otlp.listen, so that functions instrumented with an
 * OpenTelemetry SDK can point OTEL_EXPORTER_OTLP_ENDPOINT at spindle
 * (docs/collectors.md).
 *
 * This file only speaks OTLP/HTTP: media types, Content-Encoding (gzip,
 * decompressed up to otlp.max_request_bytes: a bomb is answered 413; a body
 * bigger than a small one inflates in libuv's thread pool, so a request can
 * reach the door after one that arrived later: the server still answers each
 * connection's requests in order, and OTLP promises no order between
 * requests), and the
 * answers the OTLP/HTTP specification asks for (200 with an empty
 * Export*ServiceResponse or with partial_success, 400 with a google.rpc.Status,
 * 415, 413, and while flow control pauses input the server's 503 with
 * Retry-After: 1). The body itself goes through the one door
 * (sp_door_otlp()), which decodes, counts, journals and routes it. With the
 * journal on, the 200 waits until the journal is durable up to the position
 * the door gave (the input's durable slot), as a socket flush ack does.
 *
 * Ownership: struct col_otlp owns the server (freed in its close callback),
 * the answers waiting for the journal and the gzip bodies waiting for or in
 * the thread pool (each owns its request until it is answered); it is freed
 * only once the pool has given back every body it holds.
 */
#include "otlp.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <zlib.h>

#include "buf.h"
#include "caps.h"
#include "door.h"
#include "http_server.h"
#include "listen_addr.h"
#include "log.h"

/* An answer waiting for the journal to be durable up to `pos`. */
struct held {
    struct held *next;
    struct sp_http_request *req;
    uint64_t pos;
    int json;
    size_t len;
    char body[];
};

/* A gzip body inflating in libuv's thread pool (STYLE: nothing big blocks
 * the loop). It owns its request until after_gunzip() hands it on. */
struct gz_job {
    uv_work_t work;
    struct gz_job *next;     /* waiting for a pool slot (col_otlp.gz_wait) */
    struct col_otlp *o;
    struct sp_http_request *req;
    int signal, json;
    size_t cap;
    int rc;                  /* gunzip()'s, set by the pool thread */
    struct sp_buf plain;     /* written only by the pool thread until after_gunzip() */
};

struct col_otlp {
    struct spindle *sp;
    struct sp_http_server *srv;
    struct sp_input *in;
    int on;                  /* listening */
    int closing;
    struct held *held, **held_tail;
    uv_timer_t stats_timer;  /* mirrors the server's counters into --stats */
    int timer_open;
    int srv_open;            /* the server exists or is closing with server_closed() to come */
    uint64_t seen_rejected[SP_HTTP_REJ__COUNT];
    /* gzip bodies for the pool: at most SP_OTLP_GZIP_INFLIGHT inflate at once
     * (each may grow to otlp.max_request_bytes); the rest wait here in
     * arrival order. The wait is bounded by the server's connections times
     * its pipeline depth, whose bodies are already in memory. */
    struct gz_job *gz_wait, **gz_wait_tail;
    unsigned gz_inflight;    /* queued to the pool, after_gunzip() still to come */
    int stopped;             /* stop_accepting or close: new results are answered 503 */
    uint64_t journal_refused; /* bodies answered 503: the journal's backlog was full */
};

#define STATS_MS 200u

static const char *const paths[SP_SIG_COUNT] = {"/v1/traces", "/v1/logs", "/v1/metrics"};

/* --- answers ---------------------------------------------------------------- */

static const struct sp_http_out_header ct_pb[] = {{"Content-Type", "application/x-protobuf"}};
static const struct sp_http_out_header ct_json[] = {{"Content-Type", "application/json"}};
static const struct sp_http_out_header ct_text[] = {{"Content-Type", "text/plain; charset=utf-8"}};

static void pb_varint(struct sp_buf *b, uint64_t v)
{
    while (v >= 0x80) {
        sp_buf_addc(b, (char)(v | 0x80));
        v >>= 7;
    }
    sp_buf_addc(b, (char)v);
}

static void pb_str(struct sp_buf *b, unsigned field, const char *s)
{
    size_t n = strlen(s);
    pb_varint(b, field << 3 | 2);
    pb_varint(b, n);
    sp_buf_add(b, s, n);
}

/* google.rpc.Status {code = 3 INVALID_ARGUMENT, message}. */
static void status_body(struct sp_buf *b, int json, const char *msg)
{
    if (json) {
        sp_buf_adds(b, "{\"code\":3,\"message\":");
        sp_buf_add_json_str(b, msg, strlen(msg));
        sp_buf_addc(b, '}');
    } else {
        pb_varint(b, 1 << 3 | 0);
        pb_varint(b, 3);
        pb_str(b, 2, msg);
    }
}

static void respond_error(struct sp_http_request *req, int status, int json, const char *msg)
{
    struct sp_buf b;
    sp_buf_init(&b, 64 * 1024);
    status_body(&b, json, msg);
    sp_http_respond(req, status, json ? ct_json : ct_pb, 1, b.p, b.len);
    sp_buf_free(&b);
}

static void respond_text(struct sp_http_request *req, int status, const char *msg)
{
    sp_http_respond(req, status, ct_text, 1, msg, strlen(msg));
}

/* Export*ServiceResponse: empty, or partial_success {rejected_<items>, error_message}. */
static void success_body(struct sp_buf *b, int signal, int json, uint32_t rejected,
                         const char *why)
{
    static const char *const rej_json[] = {"rejectedSpans", "rejectedLogRecords",
                                           "rejectedDataPoints"};
    if (json) {
        if (rejected == 0) {
            sp_buf_adds(b, "{}");
            return;
        }
        sp_buf_printf(b, "{\"partialSuccess\":{\"%s\":\"%u\",\"errorMessage\":", rej_json[signal],
                      rejected);
        sp_buf_add_json_str(b, why, strlen(why));
        sp_buf_adds(b, "}}");
        return;
    }
    if (rejected == 0) {
        return;
    }
    struct sp_buf in;
    sp_buf_init(&in, 64 * 1024);
    pb_varint(&in, 1 << 3 | 0);
    pb_varint(&in, rejected);
    pb_str(&in, 2, why);
    pb_varint(b, 1 << 3 | 2);
    pb_varint(b, in.len);
    sp_buf_add(b, in.p, in.len);
    sp_buf_free(&in);
}

/* --- the request ------------------------------------------------------------ */

/* The media type without parameters, compared case-insensitively. */
static int media_is(const struct sp_http_header *h, const char *type)
{
    if (h == NULL) {
        return 0;
    }
    const char *v = h->value;
    size_t n = strcspn(v, ";");
    while (n && (v[n - 1] == ' ' || v[n - 1] == '\t')) {
        n--;
    }
    while (n && (*v == ' ' || *v == '\t')) {
        v++;
        n--;
    }
    return n == strlen(type) && strncasecmp(v, type, n) == 0;
}

/* 0 and the decompressed body in `out`, -EFBIG past `cap`, -EINVAL when not gzip. */
static int gunzip(const char *p, size_t n, size_t cap, struct sp_buf *out)
{
    z_stream z = {0};
    if (inflateInit2(&z, 16 + MAX_WBITS) != Z_OK) {
        return -ENOMEM;
    }
    z.next_in = (Bytef *)p;
    z.avail_in = (uInt)n;
    int rc = 0;
    for (;;) {
        if (out->alloc - out->len < 64 * 1024 && out->len < cap + 1) {
            size_t want = out->len + 64 * 1024 > cap + 1 ? cap + 1 - out->len : 64 * 1024;
            if (sp_buf_reserve(out, want)) {
                rc = -ENOMEM;
                break;
            }
        }
        size_t room = out->alloc - out->len;
        if (out->len + room > cap + 1) {
            room = cap + 1 - out->len;
        }
        z.next_out = (Bytef *)out->p + out->len;
        z.avail_out = (uInt)room;
        int zr = inflate(&z, Z_NO_FLUSH);
        out->len += room - z.avail_out;
        if (out->len > cap) {
            rc = -EFBIG; /* a bomb: stopped one byte past the cap */
            break;
        }
        if (zr == Z_STREAM_END) {
            /* Concatenated gzip members are legal: go on with the next one. */
            if (z.avail_in == 0) {
                break;
            }
            if (inflateReset(&z) != Z_OK) {
                rc = -EINVAL;
                break;
            }
            continue;
        }
        if (zr != Z_OK && !(zr == Z_BUF_ERROR && z.avail_out == 0)) {
            rc = -EINVAL;
            break;
        }
        if (z.avail_in == 0 && z.avail_out != 0) {
            rc = -EINVAL; /* truncated */
            break;
        }
    }
    inflateEnd(&z);
    return rc;
}

static void freed(struct col_otlp *o);

static void answer(struct col_otlp *o, struct sp_http_request *req, int json, const char *body,
                   size_t len)
{
    uint64_t pos = sp_door_ack_pos(o->sp);
    if (pos == 0) {
        o->sp->stats.otlp_requests++;
        sp_http_respond(req, 200, json ? ct_json : ct_pb, 1, body, len);
        return;
    }
    /* Journaled, not yet durable: the 200 waits, as a flush ack does. */
    struct held *h = malloc(sizeof(*h) + len);
    if (h == NULL) {
        respond_text(req, 503, "out of memory");
        return;
    }
    h->next = NULL;
    h->req = req;
    h->pos = pos;
    h->json = json;
    h->len = len;
    if (len) {
        memcpy(h->body, body, len);
    }
    *o->held_tail = h;
    o->held_tail = &h->next;
}

/* The body, plain, through the door; answers req now or once durable. */
static void door(struct col_otlp *o, struct sp_http_request *req, int signal, int json,
                 const char *body, size_t len)
{
    struct spindle *sp = o->sp;
    struct sp_door_otlp_out r;
    sp_door_otlp(sp, signal, json, (const uint8_t *)body, len, &r);
    if (r.undecodable) {
        respond_error(req, 400, json, r.err ? r.err : "undecodable");
    } else if (r.not_journaled) {
        static const struct sp_http_out_header retry[] = {{"Content-Type", "text/plain"},
                                                          {"Retry-After", "1"}};
        static const char msg[] = "journal backlog full, retry later\n";
        o->journal_refused++; /* in rejected_paused: a pause the server did not see */
        SP_LOG_RL(SP_LOG_WARN, "OTLP request answered 503: the journal's backlog is full",
                  "path=%s bytes=%zu", req->path, len);
        sp_http_respond(req, 503, retry, 2, msg, sizeof(msg) - 1);
    } else {
        struct sp_buf resp;
        sp_buf_init(&resp, 64 * 1024);
        success_body(&resp, signal, json, r.rejected, r.why ? r.why : "");
        answer(o, req, json, resp.p, resp.len);
        sp_buf_free(&resp);
    }
    sp_door_done(sp); /* flow control: memory and queues grew */
}

/* gunzip()'s result: the door, or the 413 / 400 it calls for. */
static void gunzipped(struct col_otlp *o, struct sp_http_request *req, int signal, int json,
                      int rc, const struct sp_buf *plain, size_t cap)
{
    struct spindle *sp = o->sp;
    if (rc == -EFBIG) {
        sp->stats.otlp_rej_decompressed++;
        SP_LOG_RL(SP_LOG_WARN, "OTLP request rejected: decompressed body over the limit",
                  "path=%s max_request_bytes=%zu", req->path, cap);
        respond_error(req, 413, json, "request body over otlp.max_request_bytes once decompressed");
        return;
    }
    if (rc) {
        sp->stats.otlp_rej_gzip++;
        SP_LOG_RL(SP_LOG_WARN, "OTLP request rejected: not valid gzip", "path=%s", req->path);
        respond_error(req, 400, json, "Content-Encoding is gzip but the body is not valid gzip");
        return;
    }
    door(o, req, signal, json, plain->p ? plain->p : "", plain->len);
}

static void gunzip_work(uv_work_t *w)
{
    struct gz_job *j = w->data;
    j->rc = gunzip(j->req->body, j->req->body_len, j->cap, &j->plain);
}

static void gz_start(struct col_otlp *o);

static void after_gunzip(uv_work_t *w, int status)
{
    struct gz_job *j = w->data;
    struct col_otlp *o = j->o;
    o->gz_inflight--;
    if (o->stopped) {
        /* Stopping: the client sends again (nothing was journaled). */
        respond_text(j->req, 503, "shutting down\n");
    } else if (status != 0) {
        respond_text(j->req, 503, "decompression cancelled\n");
    } else {
        gunzipped(o, j->req, j->signal, j->json, j->rc, &j->plain, j->cap);
    }
    sp_buf_free(&j->plain);
    free(j);
    gz_start(o);
    freed(o);
}

/* Hands waiting bodies to the pool while fewer than SP_OTLP_GZIP_INFLIGHT inflate. */
static void gz_start(struct col_otlp *o)
{
    while (o->gz_wait && o->gz_inflight < SP_OTLP_GZIP_INFLIGHT && !o->stopped) {
        struct gz_job *j = o->gz_wait;
        o->gz_wait = j->next;
        if (o->gz_wait == NULL) {
            o->gz_wait_tail = &o->gz_wait;
        }
        if (uv_queue_work(o->sp->loop, &j->work, gunzip_work, after_gunzip) != 0) {
            respond_text(j->req, 503, "cannot queue decompression\n");
            sp_buf_free(&j->plain);
            free(j);
            continue;
        }
        o->gz_inflight++;
    }
}

/* Answers every body still waiting for the pool with a 503 (stopping). */
static void gz_drop_waiting(struct col_otlp *o)
{
    while (o->gz_wait) {
        struct gz_job *j = o->gz_wait;
        o->gz_wait = j->next;
        respond_text(j->req, 503, "shutting down\n");
        sp_buf_free(&j->plain);
        free(j);
    }
    o->gz_wait_tail = &o->gz_wait;
}

static void handle(struct sp_http_request *req)
{
    struct col_otlp *o = req->route_arg;
    struct spindle *sp = o->sp;
    int signal = 0;
    while (signal < SP_SIG_COUNT - 1 && strcmp(req->path, paths[signal]) != 0) {
        signal++;
    }
    const struct sp_http_header *ct = sp_http_request_header(req, "Content-Type");
    int json;
    if (media_is(ct, "application/x-protobuf")) {
        json = 0;
    } else if (media_is(ct, "application/json")) {
        json = 1;
    } else {
        sp->stats.otlp_rej_content_type++;
        SP_LOG_RL(SP_LOG_WARN, "OTLP request rejected: unsupported Content-Type",
                  "path=%s content_type=\"%s\"", req->path, ct ? ct->value : "");
        respond_text(req, 415,
                     "Content-Type must be application/x-protobuf or application/json\n");
        return;
    }
    const struct sp_http_header *ce = sp_http_request_header(req, "Content-Encoding");
    size_t cap = sp->cfg.otlp_max_request_bytes;
    if (sp->journal && cap > SP_OTLP_JOURNAL_MAX_BYTES) {
        cap = SP_OTLP_JOURNAL_MAX_BYTES;
    }
    if (ce && strcasecmp(ce->value, "gzip") == 0) {
        /* A small body inflates here when its output stays small too (a
         * round trip through the pool costs more, see SP_OTLP_GZIP_LOOP_IN);
         * anything bigger, or a small bomb, goes to the pool from the start. */
        if (req->body_len <= SP_OTLP_GZIP_LOOP_IN) {
            size_t loop_cap = cap < SP_OTLP_GZIP_LOOP_OUT ? cap : SP_OTLP_GZIP_LOOP_OUT;
            struct sp_buf plain;
            sp_buf_init(&plain, loop_cap + 1);
            int rc = gunzip(req->body, req->body_len, loop_cap, &plain);
            if (rc != -EFBIG || loop_cap == cap) {
                gunzipped(o, req, signal, json, rc, &plain, cap);
                sp_buf_free(&plain);
                return;
            }
            sp_buf_free(&plain);
        }
        struct gz_job *j = calloc(1, sizeof(*j));
        if (j == NULL) {
            respond_text(req, 503, "out of memory\n");
            return;
        }
        j->work.data = j;
        j->o = o;
        j->req = req;
        j->signal = signal;
        j->json = json;
        j->cap = cap;
        sp_buf_init(&j->plain, cap + 1);
        *o->gz_wait_tail = j;
        o->gz_wait_tail = &j->next;
        gz_start(o);
        return;
    }
    if (ce && strcasecmp(ce->value, "identity") != 0) {
        sp->stats.otlp_rej_encoding++;
        SP_LOG_RL(SP_LOG_WARN, "OTLP request rejected: unsupported Content-Encoding",
                  "path=%s content_encoding=\"%s\"", req->path, ce->value);
        respond_text(req, 415, "Content-Encoding must be gzip or identity\n");
        return;
    }
    if (req->body_len > cap) {
        sp->stats.otlp_rej_decompressed++;
        respond_error(req, 413, json, "request body over otlp.max_request_bytes");
        return;
    }
    door(o, req, signal, json, req->body, req->body_len);
}

/* --- counters ---------------------------------------------------------------- */

static void mirror_stats(struct col_otlp *o)
{
    if (o->srv == NULL) {
        return;
    }
    const struct sp_http_server_stats *hs = sp_http_server_stats(o->srv);
    struct sp_stats *st = &o->sp->stats;
    st->otlp_conn_accepted = hs->connections_accepted;
    st->otlp_conn_open = hs->connections_open;
    uint64_t *dst[SP_HTTP_REJ__COUNT] = {
        [SP_HTTP_REJ_NOT_FOUND] = &st->otlp_rej_not_found,
        [SP_HTTP_REJ_METHOD] = &st->otlp_rej_method,
        [SP_HTTP_REJ_BODY_TOO_LARGE] = &st->otlp_rej_body_too_large,
        [SP_HTTP_REJ_HEADERS_TOO_LARGE] = &st->otlp_rej_malformed,
        [SP_HTTP_REJ_MALFORMED] = &st->otlp_rej_malformed,
        [SP_HTTP_REJ_PAUSED] = &st->otlp_rej_paused,
        [SP_HTTP_REJ_HEADER_TIMEOUT] = &st->otlp_rej_header_timeout,
        [SP_HTTP_REJ_IDLE_TIMEOUT] = &st->otlp_rej_idle_timeout,
        [SP_HTTP_REJ_CONNECTIONS] = &st->otlp_rej_connections,
    };
    st->otlp_rej_malformed = 0;
    st->otlp_rej_paused = o->journal_refused; /* plus the server's, below */
    for (int r = 0; r < SP_HTTP_REJ__COUNT; r++) {
        if (r == SP_HTTP_REJ_MALFORMED || r == SP_HTTP_REJ_HEADERS_TOO_LARGE ||
            r == SP_HTTP_REJ_PAUSED) {
            *dst[r] += hs->rejected[r];
        } else {
            *dst[r] = hs->rejected[r];
        }
        if (hs->rejected[r] > o->seen_rejected[r]) {
            if (r != SP_HTTP_REJ_PAUSED) {
                SP_LOG_RL(SP_LOG_WARN, "OTLP/HTTP request rejected", "reason=%s count=%llu",
                          sp_http_reject_name(r),
                          (unsigned long long)(hs->rejected[r] - o->seen_rejected[r]));
            }
            o->seen_rejected[r] = hs->rejected[r];
        }
    }
}

static void stats_cb(uv_timer_t *t)
{
    mirror_stats(t->data);
}

/* --- slots ------------------------------------------------------------------ */

static int otlp_init(struct sp_input *in)
{
    struct col_otlp *o = calloc(1, sizeof(*o));
    if (o == NULL) {
        return -ENOMEM;
    }
    o->sp = in->sp;
    o->in = in;
    o->held_tail = &o->held;
    o->gz_wait_tail = &o->gz_wait;
    in->priv = o;
    return 0;
}

static int otlp_start(struct sp_input *in)
{
    struct col_otlp *o = in->priv;
    struct spindle *sp = o->sp;
    const char *spec = sp_config_otlp_listen(&sp->cfg);
    int configured = sp->cfg.otlp_listen[0] != 0;
    struct sp_listen_addr la;
    const char *why;
    if (sp_listen_addr_parse(spec, &la, &why)) {
        SP_LOG(SP_LOG_ERROR, "invalid otlp.listen", "listen=%s why=\"%s\"", spec, why);
        return -EINVAL;
    }
    if (la.kind == SP_LISTEN_OFF) {
        SP_LOG(SP_LOG_INFO, "OTLP receiver off", "listen=%s", "off");
        return 0;
    }
    for (int s = -1; !configured && s < SP_SIG_COUNT; s++) {
        const char *u = s < 0 ? sp->cfg.otlp_endpoint : sp->cfg.otlp_signal_endpoint[s];
        if (u[0] && sp_listen_addr_reaches_url(&la, u)) {
            /* Exporting to the default receiver address: a collector listens
             * there (else spindle would loop into itself). */
            SP_LOG(SP_LOG_WARN, "OTLP receiver off: the export endpoint is its default address",
                   "listen=%s hint=\"set otlp.listen (or --otlp-listen) to another address\"",
                   spec);
            return 0;
        }
    }
    struct sp_http_limits lim = {.max_body_bytes = sp->cfg.otlp_max_request_bytes,
                                 .header_timeout_ms = sp->cfg.otlp_header_timeout_ms,
                                 .idle_timeout_ms = sp->cfg.otlp_idle_timeout_ms};
    int rc = sp_http_server_new(&o->srv, sp->loop, &lim);
    if (rc) {
        return rc;
    }
    o->srv_open = 1;
    for (int s = 0; s < SP_SIG_COUNT && rc == 0; s++) {
        struct sp_http_route r = {.method = "POST",
                                  .path = paths[s],
                                  .flags = SP_HTTP_ROUTE_TELEMETRY,
                                  .max_body_bytes = sp->cfg.otlp_max_request_bytes,
                                  .handler = handle,
                                  .arg = o};
        rc = sp_http_server_route(o->srv, &r);
    }
    struct sp_http_listener *l = NULL;
    if (rc == 0) {
        rc = sp_http_server_listen(o->srv, spec, &l);
    }
    if (rc) {
        if (!configured && (rc == -EADDRINUSE || rc == UV_EADDRINUSE || rc == -EACCES)) {
            /* On by default: someone else's port is no reason to stop. */
            SP_LOG(SP_LOG_WARN, "OTLP receiver off: its default address is taken",
                   "listen=%s error=\"%s\" hint=\"set otlp.listen (or --otlp-listen) to another "
                   "address, or off\"",
                   spec, uv_strerror(rc));
            sp_http_server_close(o->srv, NULL, NULL);
            o->srv = NULL;
            o->srv_open = 0;
            return 0;
        }
        SP_LOG(SP_LOG_ERROR, "cannot listen for OTLP/HTTP", "listen=%s error=\"%s\"", spec,
               uv_strerror(rc));
        fprintf(stderr, "spindle: otlp.listen %s: %s\n", spec, uv_strerror(rc));
        sp_http_server_close(o->srv, NULL, NULL);
        o->srv = NULL;
        o->srv_open = 0;
        return rc;
    }
    char addr[160];
    sp_http_listener_address(l, addr, sizeof(addr));
    sp_stats_listener(&sp->stats, "otlp", addr);
    SP_LOG(SP_LOG_INFO, "OTLP receiver listening", "listen=%s", addr);
    o->on = 1;
    uv_timer_init(sp->loop, &o->stats_timer);
    o->stats_timer.data = o;
    uv_timer_start(&o->stats_timer, stats_cb, STATS_MS, STATS_MS);
    uv_unref((uv_handle_t *)&o->stats_timer);
    o->timer_open = 1;
    return 0;
}

static void otlp_pause(struct sp_input *in)
{
    struct col_otlp *o = in->priv;
    if (o->srv) {
        sp_http_server_pause(o->srv);
    }
}

static void otlp_resume(struct sp_input *in)
{
    struct col_otlp *o = in->priv;
    if (o->srv) {
        sp_http_server_resume(o->srv);
    }
}

static void otlp_durable(struct sp_input *in, uint64_t pos)
{
    struct col_otlp *o = in->priv;
    while (o->held && o->held->pos <= pos) {
        struct held *h = o->held;
        o->held = h->next;
        if (o->held == NULL) {
            o->held_tail = &o->held;
        }
        o->sp->stats.otlp_requests++;
        sp_http_respond(h->req, 200, h->json ? ct_json : ct_pb, 1, h->body, h->len);
        free(h);
    }
}

static void freed(struct col_otlp *o)
{
    if (o->closing && !o->timer_open && !o->srv_open && o->gz_inflight == 0) {
        free(o);
    }
}

static void timer_closed(uv_handle_t *h)
{
    struct col_otlp *o = h->data;
    o->timer_open = 0;
    freed(o);
}

static void server_closed(void *arg)
{
    struct col_otlp *o = arg;
    o->srv_open = 0;
    freed(o);
}

static void shut(struct col_otlp *o)
{
    /* gzip bodies not yet inflated are answered 503 now; those in the pool
     * when they come back (after_gunzip), and they keep `o` alive till then. */
    o->stopped = 1;
    gz_drop_waiting(o);
    /* Answers still waiting for the journal: the client sends again (the
     * journal may hold the body too; a duplicate beats a loss). */
    while (o->held) {
        struct held *h = o->held;
        o->held = h->next;
        respond_text(h->req, 503, "shutting down\n");
        free(h);
    }
    o->held_tail = &o->held;
    if (o->srv) {
        mirror_stats(o);
        struct sp_http_server *srv = o->srv;
        o->srv = NULL;
        sp_http_server_close(srv, server_closed, o); /* srv_open until it calls back */
    }
}

static void otlp_stop_accepting(struct sp_input *in)
{
    shut(in->priv);
}

static void otlp_close(struct sp_input *in)
{
    struct col_otlp *o = in->priv;
    in->priv = NULL;
    shut(o);
    o->closing = 1;
    if (o->timer_open) {
        uv_close((uv_handle_t *)&o->stats_timer, timer_closed);
    }
    freed(o);
}

const struct sp_input_ops col_otlp_input = {
    .name = "otlp",
    .init = otlp_init,
    .start = otlp_start,
    .pause = otlp_pause,
    .resume = otlp_resume,
    .durable = otlp_durable,
    .stop_accepting = otlp_stop_accepting,
    .close = otlp_close,
};
