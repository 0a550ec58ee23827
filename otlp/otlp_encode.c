/*
 * otlp_encode.c - OTLP protobuf encoding of span, log and metric batches,
 * written straight from the batch into the output buffer, and decoding of
 * Export*ServiceResponse bodies (protobuf-c). See otlp_encode.h.
 *
 * Why not protobuf-c for encoding: it wants a message tree (allocated, with
 * NUL-terminated copies of every string), walks it once to size it and once
 * to pack it; on the production path that was 16.5 % of the CPU, plus the
 * string copies (docs/benchmarks.md). Here each message is written in one
 * pass: a nested message gets a one-byte length placeholder, and when it ends
 * its content is moved right by the few extra bytes a longer length needs.
 * Fields go out in field-number order and proto3 defaults are left out, as
 * protobuf-c does, so the bytes are the same (test_otlp_encode compares them
 * with the reference encoder in tests/unit/otlp_ref.c), except that strings
 * keep their embedded NULs, which protobuf-c's C strings cut off.
 *
 * Field numbers are those of the OpenTelemetry protos in proto/.
 */
#include "otlp_encode.h"

#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <string.h>

#include "otlp_group.h"

#include "logs_service.pb-c.h"
#include "metrics_service.pb-c.h"
#include "trace_service.pb-c.h"

typedef Opentelemetry__Proto__Collector__Trace__V1__ExportTraceServiceResponse pb_trace_resp;
typedef Opentelemetry__Proto__Collector__Logs__V1__ExportLogsServiceResponse pb_logs_resp;
typedef Opentelemetry__Proto__Collector__Metrics__V1__ExportMetricsServiceResponse pb_metrics_resp;

/* Nesting limit for array and kvlist values: a deeper value (only a
 * pathological log body) is sent as an empty AnyValue, like before. */
#define MAX_VALUE_DEPTH 64
#define ARENA_CHUNK (16 * 1024)
#define TEMPORALITY_CUMULATIVE 2 /* AggregationTemporality */

enum { WT_VARINT = 0, WT_I64 = 1, WT_LEN = 2 };

/* The writer: out plus the first error (sticky, so calls chain unchecked). */
struct w {
    struct sp_buf *b;
    int err;
};

static inline void put(struct w *w, const void *p, size_t n)
{
    if (w->err == 0) {
        w->err = sp_buf_add(w->b, p, n);
    }
}

static inline void varint(struct w *w, uint64_t v)
{
    uint8_t t[10];
    size_t n = 0;
    while (v >= 0x80) {
        t[n++] = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    t[n++] = (uint8_t)v;
    put(w, t, n);
}

static inline void tag(struct w *w, uint32_t field, int wt)
{
    varint(w, (uint64_t)field << 3 | (uint64_t)wt);
}

/* Eight bytes, little-endian: fixed64 fields and packed fixed64/double arrays. */
static inline void le64(struct w *w, uint64_t v)
{
    uint8_t t[8];
    for (int i = 0; i < 8; i++) {
        t[i] = (uint8_t)(v >> (8 * i));
    }
    put(w, t, 8);
}

static inline void fixed64(struct w *w, uint32_t field, uint64_t v)
{
    tag(w, field, WT_I64);
    le64(w, v);
}

static inline void f64(struct w *w, uint32_t field, double d)
{
    uint64_t v;
    memcpy(&v, &d, 8);
    fixed64(w, field, v);
}

static inline void bytes(struct w *w, uint32_t field, const void *p, size_t n)
{
    tag(w, field, WT_LEN);
    varint(w, n);
    put(w, p, n);
}

/* proto3: a default (0, empty) is not sent. */
static inline void opt_fixed64(struct w *w, uint32_t field, uint64_t v)
{
    if (v) {
        fixed64(w, field, v);
    }
}

static inline void opt_varint(struct w *w, uint32_t field, uint64_t v)
{
    if (v) {
        tag(w, field, WT_VARINT);
        varint(w, v);
    }
}

static inline void opt_str(struct w *w, uint32_t field, struct sp_str s)
{
    if (s.len) {
        bytes(w, field, s.p, s.len);
    }
}

static bool all_zero(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (p[i] != 0) {
            return false;
        }
    }
    return true;
}

/* Opens a nested message: its tag and a one-byte length placeholder. */
static size_t begin(struct w *w, uint32_t field)
{
    tag(w, field, WT_LEN);
    put(w, "", 1);
    return w->b->len;
}

/* Closes it: the length goes in front, moving the content when it needs more
 * than one byte (only messages of 128 bytes or more). */
static void end(struct w *w, size_t start)
{
    if (w->err) {
        return;
    }
    size_t len = w->b->len - start;
    if (len < 0x80) {
        w->b->p[start - 1] = (char)len;
        return;
    }
    uint8_t t[10];
    size_t n = 0;
    for (uint64_t v = len; v >= 0x80; v >>= 7) {
        t[n++] = (uint8_t)(v | 0x80);
    }
    t[n] = (uint8_t)(len >> (7 * n));
    n++;
    if ((w->err = sp_buf_reserve(w->b, n - 1))) {
        return;
    }
    char *p = w->b->p + start;
    memmove(p + n - 1, p, len);
    memcpy(p - 1, t, n);
    w->b->len += n - 1;
}

/* ---- values and attributes ---- */

static void key_value(struct w *w, const struct sp_attr *a, int depth);

static void any_value(struct w *w, const struct sp_value *v, int depth)
{
    switch (v->type) {
    case SP_VAL_STR:
        bytes(w, 1, v->u.s.p, v->u.s.len); /* a oneof member: sent even when empty */
        break;
    case SP_VAL_BOOL:
        tag(w, 2, WT_VARINT);
        varint(w, v->u.b != 0);
        break;
    case SP_VAL_INT:
        tag(w, 3, WT_VARINT);
        varint(w, (uint64_t)v->u.i);
        break;
    case SP_VAL_DOUBLE:
        f64(w, 4, v->u.d);
        break;
    case SP_VAL_ARRAY:
        if (depth < MAX_VALUE_DEPTH) {
            size_t arr = begin(w, 5);
            for (uint32_t i = 0; i < v->u.arr.n; i++) {
                size_t el = begin(w, 1);
                any_value(w, &v->u.arr.v[i], depth + 1);
                end(w, el);
            }
            end(w, arr);
        }
        break;
    case SP_VAL_KVLIST:
        if (depth < MAX_VALUE_DEPTH) {
            size_t kvl = begin(w, 6);
            for (uint32_t i = 0; i < v->u.kv.n; i++) {
                size_t kv = begin(w, 1);
                key_value(w, &v->u.kv.v[i], depth + 1);
                end(w, kv);
            }
            end(w, kvl);
        }
        break;
    default:
        break; /* SP_VAL_EMPTY: an AnyValue with nothing set */
    }
}

static void key_value(struct w *w, const struct sp_attr *a, int depth)
{
    opt_str(w, 1, a->key);
    size_t val = begin(w, 2);
    any_value(w, &a->val, depth);
    end(w, val);
}

static void attr_list(struct w *w, uint32_t field, const struct sp_attr *v, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++) {
        size_t kv = begin(w, field);
        key_value(w, &v[i], 0);
        end(w, kv);
    }
}

static void attrs(struct w *w, uint32_t field, const struct sp_attrs *a)
{
    attr_list(w, field, a->v, a->n);
}

/* ---- resource and scope ---- */

/* Field 1 of ResourceSpans/Logs/Metrics: the resource. Items received over
 * OTLP (`sc` set) keep the resource they were sent with. */
static int resource_of(struct w *w, struct sp_arena *a, const struct sp_resource_info *res,
                       const struct sp_scope *sc, struct sp_str fn, struct sp_str svc,
                       const struct sp_attrs *own)
{
    if (sc) {
        size_t r = begin(w, 1);
        attrs(w, 1, &sc->resource);
        opt_varint(w, 2, sc->resource.dropped);
        end(w, r);
        opt_str(w, 3, sc->resource_schema_url);
        return 0;
    }
    struct sp_attr *ra =
        sp_arena_alloc(a, sizeof(*ra) * (4 + (size_t)res->extra.n + (own ? own->n : 0)));
    if (ra == NULL) {
        return -ENOMEM;
    }
    uint32_t n = sp_resource_attrs_own(res, fn, svc, own, ra);
    size_t r = begin(w, 1);
    attr_list(w, 1, ra, n);
    opt_varint(w, 2, res->extra.dropped);
    end(w, r);
    return 0;
}

/* Field 2 of ResourceX opened: the ScopeX with its scope (as received, else
 * the one named `name` (a CloudWatch namespace), else spindle's); the caller
 * writes the items and closes it. */
static size_t scope_of(struct w *w, const struct sp_resource_info *res, const struct sp_scope *sc,
                       struct sp_str name)
{
    size_t scope_x = begin(w, 2);
    size_t s = begin(w, 1);
    if (sc) {
        opt_str(w, 1, sc->name);
        opt_str(w, 2, sc->version);
        attrs(w, 3, &sc->attrs);
        opt_varint(w, 4, sc->attrs.dropped);
        end(w, s);
        opt_str(w, 3, sc->schema_url);
        return scope_x;
    }
    if (name.len) {
        opt_str(w, 1, name);
    } else {
        opt_str(w, 1, res->scope_name);
        opt_str(w, 2, res->scope_version);
    }
    end(w, s);
    return scope_x;
}

/* The resource, then field 2 opened: the ScopeX of spindle's (or the
 * received) scope. */
static int resource_and_scope(struct w *w, struct sp_arena *a, const struct sp_resource_info *res,
                              const struct sp_scope *sc, struct sp_str fn, struct sp_str svc,
                              const struct sp_attrs *own, size_t *scope_x)
{
    int rc = resource_of(w, a, res, sc, fn, svc, own);
    if (rc == 0) {
        *scope_x = scope_of(w, res, sc, (struct sp_str){NULL, 0});
    }
    return rc;
}

/* ---- traces ---- */

static void span(struct w *w, const struct sp_span *s)
{
    bytes(w, 1, s->trace_id, sizeof(s->trace_id));
    bytes(w, 2, s->span_id, sizeof(s->span_id));
    if (s->has_parent) {
        bytes(w, 4, s->parent_span_id, sizeof(s->parent_span_id));
    }
    opt_str(w, 5, s->name);
    opt_varint(w, 6, s->kind);
    opt_fixed64(w, 7, s->start_ns);
    opt_fixed64(w, 8, s->end_ns);
    attrs(w, 9, &s->attrs);
    opt_varint(w, 10, s->attrs.dropped);
    for (uint32_t i = 0; i < s->n_events; i++) {
        const struct sp_span_event *ev = &s->events[i];
        size_t e = begin(w, 11);
        opt_fixed64(w, 1, ev->ts_ns);
        opt_str(w, 2, ev->name);
        attrs(w, 3, &ev->attrs);
        opt_varint(w, 4, ev->attrs.dropped);
        end(w, e);
    }
    opt_varint(w, 12, s->dropped_events);
    for (uint32_t i = 0; i < s->n_links; i++) {
        const struct sp_span_link *lk = &s->links[i];
        size_t l = begin(w, 13);
        bytes(w, 1, lk->trace_id, sizeof(lk->trace_id));
        bytes(w, 2, lk->span_id, sizeof(lk->span_id));
        attrs(w, 4, &lk->attrs);
        opt_varint(w, 5, lk->attrs.dropped);
        end(w, l);
    }
    size_t st = begin(w, 15);
    opt_str(w, 2, s->status_message);
    opt_varint(w, 3, s->status);
    end(w, st);
}

/* ---- logs ---- */

static void log_record(struct w *w, const struct sp_logrec *l)
{
    opt_fixed64(w, 1, l->ts_ns); /* 0 means unknown and is not sent */
    opt_varint(w, 2, l->severity_number);
    opt_str(w, 3, l->severity_text);
    /* No body at all says the same as an empty one, in fewer bytes. */
    if (l->body.type != SP_VAL_EMPTY) {
        size_t b = begin(w, 5);
        any_value(w, &l->body, 0);
        end(w, b);
    }
    attrs(w, 6, &l->attrs);
    opt_varint(w, 7, l->attrs.dropped);
    if (l->has_trace) {
        bytes(w, 9, l->trace_id, sizeof(l->trace_id));
        bytes(w, 10, l->span_id, sizeof(l->span_id));
    }
    opt_fixed64(w, 11, l->observed_ns);
    opt_str(w, 12, l->event_name);
}

/* ---- metrics ---- */

static void exemplars(struct w *w, uint32_t field, const struct sp_metric *m)
{
    for (uint32_t i = 0; i < m->n_exemplars; i++) {
        const struct sp_exemplar *ex = &m->exemplars[i];
        size_t e = begin(w, field);
        opt_fixed64(w, 2, ex->ts_ns);
        f64(w, 3, ex->value); /* as_double: a oneof member, sent even when 0 */
        /* An exemplar recorded outside a span has zero ids; all-zero ids are
         * invalid in OTLP, so they are left out rather than sent. */
        if (!all_zero(ex->span_id, sizeof(ex->span_id))) {
            bytes(w, 4, ex->span_id, sizeof(ex->span_id));
        }
        if (!all_zero(ex->trace_id, sizeof(ex->trace_id))) {
            bytes(w, 5, ex->trace_id, sizeof(ex->trace_id));
        }
        attrs(w, 7, &ex->filtered);
        end(w, e);
    }
}

static void number_point(struct w *w, const struct sp_metric *m)
{
    opt_fixed64(w, 2, m->start_ns);
    opt_fixed64(w, 3, m->time_ns);
    f64(w, 4, m->value);
    exemplars(w, 5, m);
    attrs(w, 7, &m->attrs);
}

static void histogram_point(struct w *w, const struct sp_metric *m)
{
    opt_fixed64(w, 2, m->start_ns);
    opt_fixed64(w, 3, m->time_ns);
    opt_fixed64(w, 4, m->count);
    f64(w, 5, m->sum);
    /* Bounds without counts cannot be sent (the counts must number one more),
     * so a point lacking counts goes out with neither. Both packed. */
    if (m->bucket_counts != NULL) {
        uint32_t nb = m->n_bounds + 1;
        tag(w, 6, WT_LEN);
        varint(w, (uint64_t)nb * 8);
        for (uint32_t i = 0; i < nb; i++) {
            le64(w, m->bucket_counts[i]);
        }
        if (m->bounds != NULL && m->n_bounds > 0) {
            tag(w, 7, WT_LEN);
            varint(w, (uint64_t)m->n_bounds * 8);
            for (uint32_t i = 0; i < m->n_bounds; i++) {
                uint64_t v;
                memcpy(&v, &m->bounds[i], 8);
                le64(w, v);
            }
        }
    }
    exemplars(w, 8, m);
    attrs(w, 9, &m->attrs);
    /* NaN: not known (a histogram received without min and max). */
    if (m->count > 0 && !isnan(m->min)) {
        f64(w, 11, m->min);
    }
    if (m->count > 0 && !isnan(m->max)) {
        f64(w, 12, m->max);
    }
}

/* One Metric from the points items[idx[0..n-1]] (same name, unit and kind). */
static void metric(struct w *w, void **items, const uint32_t *idx, uint32_t n)
{
    const struct sp_metric *m0 = items[idx[0]];
    opt_str(w, 1, m0->name);
    opt_str(w, 2, m0->description);
    opt_str(w, 3, m0->unit);
    uint32_t field = m0->kind == SP_METRIC_HISTOGRAM ? 9 : m0->kind == SP_METRIC_COUNTER ? 7 : 5;
    size_t data = begin(w, field);
    for (uint32_t i = 0; i < n; i++) {
        size_t p = begin(w, 1);
        if (m0->kind == SP_METRIC_HISTOGRAM) {
            histogram_point(w, items[idx[i]]);
        } else {
            number_point(w, items[idx[i]]);
        }
        end(w, p);
    }
    if (m0->kind != SP_METRIC_GAUGE) {
        opt_varint(w, 2, TEMPORALITY_CUMULATIVE);
    }
    if (m0->kind == SP_METRIC_COUNTER) {
        opt_varint(w, 3, 1); /* is_monotonic */
    }
    end(w, data);
}

/* ---- requests ---- */

int otlp_encode_pb(const struct sp_batch *b, const struct sp_resource_info *res, struct sp_buf *out)
{
    if (b->signal >= SP_SIG_COUNT) {
        return -EINVAL;
    }
    struct sp_arena a;
    sp_arena_init(&a, ARENA_CHUNK);
    struct otlp_grouped g;
    struct otlp_metric_groups mg;
    struct w w = {.b = out};
    const struct sp_str none = {NULL, 0};
    int rc = otlp_group_by_function(&a, b, &g);
    if (rc == 0 && b->signal == SP_SIG_METRICS) {
        rc = otlp_group_metrics(&a, &g, &mg);
    }
    /* ExportXServiceRequest: field 1, one ResourceX per function. */
    for (uint32_t r = 0; rc == 0 && r < g.nres && w.err == 0; r++) {
        const uint32_t *idx = &g.order[g.start[r]];
        uint32_t n = g.start[r + 1] - g.start[r];
        size_t rx = begin(&w, 1), sx;
        switch (b->signal) {
        case SP_SIG_TRACES: {
            const struct sp_span *s0 = g.items[idx[0]];
            rc = resource_and_scope(&w, &a, res, s0->scope, s0->function, s0->service, NULL, &sx);
            for (uint32_t i = 0; rc == 0 && i < n; i++) {
                size_t s = begin(&w, 2);
                span(&w, g.items[idx[i]]);
                end(&w, s);
            }
            break;
        }
        case SP_SIG_LOGS:
            rc = resource_and_scope(&w, &a, res, ((const struct sp_logrec *)g.items[idx[0]])->scope,
                                    ((const struct sp_logrec *)g.items[idx[0]])->function, none,
                                    &((const struct sp_logrec *)g.items[idx[0]])->res, &sx);
            for (uint32_t i = 0; rc == 0 && i < n; i++) {
                size_t l = begin(&w, 2);
                log_record(&w, g.items[idx[i]]);
                end(&w, l);
            }
            break;
        default: {
            const struct sp_metric *m0 = g.items[idx[0]];
            rc = resource_of(&w, &a, res, m0->scope, m0->function, none, &m0->res);
            /* One ScopeMetrics per scope: spindle's, each EMF namespace. */
            for (uint32_t si = mg.sstart[r]; rc == 0 && si < mg.sstart[r + 1]; si++) {
                uint32_t sc = mg.sorder[si];
                const struct sp_metric *s0 = g.items[mg.sfirst[sc]];
                size_t smx = scope_of(&w, res, s0->scope, s0->scope_name);
                for (uint32_t j = mg.mstart[sc]; j < mg.mstart[sc + 1]; j++) {
                    uint32_t k = mg.morder[j];
                    size_t m = begin(&w, 2);
                    metric(&w, g.items, &mg.porder[mg.pstart[k]], mg.pstart[k + 1] - mg.pstart[k]);
                    end(&w, m);
                }
                end(&w, smx);
            }
            sx = 0;
            break;
        }
        }
        if (rc == 0) {
            if (b->signal != SP_SIG_METRICS) {
                end(&w, sx);
            }
            end(&w, rx);
        }
    }
    sp_arena_free(&a);
    return rc ? rc : w.err;
}

/* ---- responses ---- */

/* Copies s into msg, cut back to a whole UTF-8 character when it does not fit. */
static void copy_msg(const char *s, char *msg, size_t msg_cap)
{
    if (msg == NULL || msg_cap == 0) {
        return;
    }
    size_t n = s != NULL ? strlen(s) : 0;
    if (n >= msg_cap) {
        n = msg_cap - 1;
        while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80) {
            n--;
        }
    }
    if (n > 0) {
        memcpy(msg, s, n);
    }
    msg[n] = '\0';
}

static const ProtobufCMessageDescriptor *const resp_desc[SP_SIG_COUNT] = {
    [SP_SIG_TRACES] =
        &opentelemetry__proto__collector__trace__v1__export_trace_service_response__descriptor,
    [SP_SIG_LOGS] =
        &opentelemetry__proto__collector__logs__v1__export_logs_service_response__descriptor,
    [SP_SIG_METRICS] =
        &opentelemetry__proto__collector__metrics__v1__export_metrics_service_response__descriptor,
};

int otlp_decode_response(int signal, const void *p, size_t n, int64_t *rejected, char *msg,
                         size_t msg_cap)
{
    int64_t rej = 0;
    const char *text = NULL;
    ProtobufCMessage *m = NULL;

    if (signal < 0 || signal >= SP_SIG_COUNT) {
        return -EINVAL;
    }
    /* An empty body is the all-accepted response with every field default. */
    if (n > 0) {
        m = protobuf_c_message_unpack(resp_desc[signal], NULL, n, p);
        if (m == NULL) {
            return -EBADMSG;
        }
        if (signal == SP_SIG_TRACES) {
            const pb_trace_resp *r = (const pb_trace_resp *)m;
            if (r->partial_success != NULL) {
                rej = r->partial_success->rejected_spans;
                text = r->partial_success->error_message;
            }
        } else if (signal == SP_SIG_LOGS) {
            const pb_logs_resp *r = (const pb_logs_resp *)m;
            if (r->partial_success != NULL) {
                rej = r->partial_success->rejected_log_records;
                text = r->partial_success->error_message;
            }
        } else {
            const pb_metrics_resp *r = (const pb_metrics_resp *)m;
            if (r->partial_success != NULL) {
                rej = r->partial_success->rejected_data_points;
                text = r->partial_success->error_message;
            }
        }
    }
    if (rejected != NULL) {
        *rejected = rej;
    }
    copy_msg(text, msg, msg_cap);
    if (m != NULL) {
        protobuf_c_message_free_unpacked(m, NULL);
    }
    return 0;
}
