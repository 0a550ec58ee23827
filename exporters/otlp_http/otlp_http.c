/*
 * otlp_http.c - the OTLP/HTTP exporter: encodes a batch (protobuf, or JSON
 * for http/json), gzips it, and POSTs it to /v1/<signal> through the agent's
 * libcurl-multi client on the loop. It classifies each response for the core,
 * which owns queues, retries and drop counters (agent/pipeline.c):
 *   2xx                          -> OK (partial_success rejected counted)
 *   413                          -> SPLIT (halved, both halves sent)
 *   429 502 503 504, no response -> RETRY (Retry-After honoured)
 *   anything else                -> ERROR (dropped, counted, body logged)
 * gzip runs on libuv's thread pool (the core calls `compress` there between
 * encode and send), so the loop thread never spends a batch's worth of
 * deflate; only the rare 413 split re-compresses on the loop.
 * Ownership: the exporter owns its URLs and header strings; a request's body
 * belongs to its struct sp_req, which outlives the HTTP transfer.
 */
#include <cjson/cJSON.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "otlp_http.h"

#include "agent.h"
#include "caps.h"
#include "http_client.h"
#include "log.h"
#include "otlp_encode.h"
#include "otlp_json.h"

struct otlp_http {
    char *url[SP_SIG_COUNT];
    char *headers[SP_MAX_HEADERS];
    size_t n_headers;
};

struct inflight {
    struct sp_exporter *e;
    struct sp_req *r;
};

static int add_header(struct otlp_http *h, const char *name, const char *value)
{
    if (h->n_headers >= SP_MAX_HEADERS) {
        return -E2BIG;
    }
    size_t n = strlen(name) + strlen(value) + 3;
    char *s = malloc(n);
    if (s == NULL) {
        return -ENOMEM;
    }
    snprintf(s, n, "%s: %s", name, value);
    h->headers[h->n_headers++] = s;
    return 0;
}

static int init(struct sp_exporter *e)
{
    struct spindle *sp = e->sp;
    struct otlp_http *h = calloc(1, sizeof(*h));
    if (h == NULL) {
        return -ENOMEM;
    }
    e->priv = h;
    e->compress = sp->cfg.otlp_gzip;
    for (int s = 0; s < SP_SIG_COUNT; s++) {
        char buf[2048];
        const char *u = sp_config_signal_url(&sp->cfg, s, buf, sizeof(buf));
        h->url[s] = u ? strdup(u) : NULL;
    }
    int rc = add_header(h, "Content-Type",
                        sp->cfg.otlp_protocol == SP_PROTO_HTTP_JSON ? "application/json"
                                                                    : "application/x-protobuf");
    if (sp->cfg.otlp_gzip) {
        rc |= add_header(h, "Content-Encoding", "gzip");
    }
    for (size_t i = 0; i < sp->cfg.n_otlp_headers; i++) {
        rc |= add_header(h, sp->cfg.otlp_headers[i].key, sp->cfg.otlp_headers[i].value);
    }
    return rc ? -EINVAL : 0;
}

/* gzip level 1: several times cheaper than the default 6 for a modestly
 * larger body. Thread-safe (the `compress` op runs on the thread pool). */
static int gzip_into(const struct sp_buf *in, struct sp_buf *out)
{
    z_stream z;
    memset(&z, 0, sizeof(z));
    if (deflateInit2(&z, 1, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
        return -ENOMEM;
    }
    size_t bound = deflateBound(&z, in->len);
    int rc = sp_buf_reserve(out, bound);
    if (rc) {
        deflateEnd(&z);
        return rc;
    }
    z.next_in = (Bytef *)in->p;
    z.avail_in = (uInt)in->len;
    z.next_out = (Bytef *)out->p + out->len;
    z.avail_out = (uInt)bound;
    int zr = deflate(&z, Z_FINISH);
    if (zr != Z_STREAM_END) {
        deflateEnd(&z);
        return -EIO;
    }
    out->len += bound - z.avail_out;
    deflateEnd(&z);
    return 0;
}

static int encode(struct sp_exporter *e, const struct sp_batch *b, struct sp_buf *out)
{
    struct spindle *sp = e->sp;
    const struct sp_resource_info *res = sp_batch_resource(sp, b);
    return sp->cfg.otlp_protocol == SP_PROTO_HTTP_JSON ? otlp_encode_json(b, res, out)
                                                       : otlp_encode_pb(b, res, out);
}

/* partial_success of a JSON response ({"partialSuccess":{"rejectedSpans":"3",...}}). */
static void json_partial(int signal, const char *p, size_t n, int64_t *rejected, char *msg,
                         size_t cap)
{
    static const char *keys[] = {"rejectedSpans", "rejectedLogRecords", "rejectedDataPoints"};
    *rejected = 0;
    msg[0] = 0;
    cJSON *root = cJSON_ParseWithLength(p, n);
    const cJSON *ps = cJSON_GetObjectItemCaseSensitive(root, "partialSuccess");
    const cJSON *r = cJSON_GetObjectItemCaseSensitive(ps, keys[signal]);
    if (cJSON_IsNumber(r)) {
        /* Converted only when in range: casting 1e300 (or NaN) to int64 is
         * undefined. Past the range is "more than any batch", below 0 or
         * not a whole number is nonsense (-1); the core clamps both. */
        double d = r->valuedouble;
        if (d >= 0x1p63) {
            *rejected = INT64_MAX;
        } else if (d >= 0 && (double)(int64_t)d == d) {
            *rejected = (int64_t)d;
        } else {
            *rejected = -1;
        }
    } else if (cJSON_IsString(r)) {
        /* strtoll saturates at INT64_MAX/MIN (ERANGE): defined, and clamped later. */
        char *end;
        long long v = strtoll(r->valuestring, &end, 10);
        *rejected = end != r->valuestring && *end == 0 ? v : -1;
    }
    const cJSON *m = cJSON_GetObjectItemCaseSensitive(ps, "errorMessage");
    if (cJSON_IsString(m)) {
        snprintf(msg, cap, "%s", m->valuestring);
    }
    cJSON_Delete(root);
}

static void on_response(void *arg, const struct sp_http_response *resp)
{
    struct inflight *f = arg;
    struct sp_exporter *e = f->e;
    struct sp_req *r = f->r;
    free(f);
    struct sp_send_result res = {.retry_after_s = resp->retry_after_s, .status = resp->status};
    char msg[512] = "";
    long st = resp->status;
    if (st >= 200 && st < 300) {
        res.outcome = SP_SEND_OK;
        if (resp->body_len) {
            if (e->sp->cfg.otlp_protocol == SP_PROTO_HTTP_JSON) {
                json_partial(r->q->signal, resp->body, resp->body_len, &res.rejected, msg,
                             sizeof(msg));
            } else if (otlp_decode_response(r->q->signal, resp->body, resp->body_len,
                                            &res.rejected, msg, sizeof(msg))) {
                SP_LOG_RL(SP_LOG_WARN, "backend answered 2xx with an undecodable body",
                          "status=%ld bytes=%zu", st, resp->body_len);
            }
            res.detail = msg;
            res.detail_len = strlen(msg);
        }
    } else if (st == 413) {
        res.outcome = SP_SEND_SPLIT;
        res.detail = resp->body;
        res.detail_len = resp->body_len;
    } else if (st == 429 || st == 502 || st == 503 || st == 504 || st == 0) {
        /* st == 0: no response (connect failure, reset, timeout, abort). */
        res.outcome = SP_SEND_RETRY;
        res.timed_out = st == 0 && resp->timed_out;
        res.detail = st ? resp->body : resp->error;
        res.detail_len = st ? resp->body_len : (resp->error ? strlen(resp->error) : 0);
    } else {
        res.outcome = SP_SEND_ERROR;
        res.detail = resp->body;
        res.detail_len = resp->body_len;
    }
    sp_exporter_done(e, r, &res);
}

static void send_req(struct sp_exporter *e, struct sp_req *r)
{
    struct otlp_http *h = e->priv;
    struct spindle *sp = e->sp;
    int signal = r->q->signal;
    struct sp_send_result fail = {.outcome = SP_SEND_ERROR, .retry_after_s = -1};
    if (h->url[signal] == NULL) {
        fail.detail = "no endpoint for this signal";
        fail.detail_len = strlen(fail.detail);
        sp_exporter_done(e, r, &fail);
        return;
    }
    struct inflight *f = malloc(sizeof(*f));
    if (f == NULL) {
        fail.outcome = SP_SEND_RETRY;
        sp_exporter_done(e, r, &fail);
        return;
    }
    f->e = e;
    f->r = r;
    struct sp_http_call req = {
        .url = h->url[signal],
        .headers = (const char *const *)h->headers,
        .n_headers = h->n_headers,
        .body = r->body.p,
        .body_len = r->body.len,
        .timeout_ms = (long)sp->cfg.otlp_timeout_ms,
    };
    /* Read from the running configuration per request: a reload applies new TLS files (a
     * rotated client certificate under a new name) without a restart. */
    struct sp_tls_files t;
    sp_config_signal_tls(&sp->cfg, signal, &t);
    const struct sp_http_tls tls = {
        .ca_file = t.ca_file, .cert_file = t.cert_file, .key_file = t.key_file};
    req.tls = &tls;
    int rc = sp_http_post(sp->http, &req, on_response, f);
    if (rc) {
        free(f);
        fail.outcome = SP_SEND_RETRY;
        fail.detail = "cannot start the request";
        fail.detail_len = strlen(fail.detail);
        sp_exporter_done(e, r, &fail);
    }
}

static int gunzip_into(const struct sp_buf *in, struct sp_buf *out)
{
    z_stream z;
    memset(&z, 0, sizeof(z));
    if (inflateInit2(&z, 15 + 16) != Z_OK) {
        return -ENOMEM;
    }
    z.next_in = (Bytef *)in->p;
    z.avail_in = (uInt)in->len;
    int zr = Z_OK, rc = 0;
    while (zr != Z_STREAM_END) {
        if ((rc = sp_buf_reserve(out, in->len * 4 + 4096))) {
            break;
        }
        z.next_out = (Bytef *)out->p + out->len;
        z.avail_out = (uInt)(out->alloc - out->len);
        size_t before = z.avail_out;
        zr = inflate(&z, Z_NO_FLUSH);
        out->len += before - z.avail_out;
        if (zr != Z_OK && zr != Z_STREAM_END) {
            rc = -EBADMSG;
            break;
        }
    }
    inflateEnd(&z);
    return rc;
}

/* 413: protobuf requests are halved (JSON ones are not: their numbers would
 * have to be re-read exactly, which cJSON cannot do). */
static int split(struct sp_exporter *e, const struct sp_req *r, struct sp_buf *a,
                 struct sp_buf *b, uint32_t *items_a, uint32_t *items_b)
{
    struct spindle *sp = e->sp;
    if (sp->cfg.otlp_protocol != SP_PROTO_HTTP_PROTOBUF) {
        return -ENOTSUP;
    }
    if (!sp->cfg.otlp_gzip) {
        return otlp_split_pb(r->q->signal, r->body.p, r->body.len, a, b, items_a, items_b);
    }
    struct sp_buf plain, pa, pb;
    /* Telemetry compresses far better than 16:1 at times: size by the
     * request ceiling, not by a ratio. */
    sp_buf_init(&plain, SP_MAX_REQUEST_BYTES);
    sp_buf_init(&pa, SP_MAX_REQUEST_BYTES);
    sp_buf_init(&pb, SP_MAX_REQUEST_BYTES);
    int rc = gunzip_into(&r->body, &plain);
    if (rc == 0) {
        rc = otlp_split_pb(r->q->signal, plain.p, plain.len, &pa, &pb, items_a, items_b);
    }
    if (rc == 0 && (rc = gzip_into(&pa, a)) == 0) {
        rc = gzip_into(&pb, b);
    }
    sp_buf_free(&plain);
    sp_buf_free(&pa);
    sp_buf_free(&pb);
    return rc;
}

static void close_exp(struct sp_exporter *e)
{
    struct otlp_http *h = e->priv;
    if (h == NULL) {
        return;
    }
    for (int s = 0; s < SP_SIG_COUNT; s++) {
        free(h->url[s]);
    }
    for (size_t i = 0; i < h->n_headers; i++) {
        free(h->headers[i]);
    }
    free(h);
    e->priv = NULL;
}

const struct sp_exporter_ops exp_otlp_http_ops = {
    .name = "otlp_http",
    .init = init,
    .encode = encode,
    .compress = gzip_into,
    .send = send_req,
    .split = split,
    .close = close_exp,
};
