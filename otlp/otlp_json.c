/*
 * otlp_json.c - OTLP/JSON encoding of span, log and metric batches as
 * Export{Trace,Logs,Metrics}ServiceRequest objects. See otlp_json.h.
 *
 * Written by hand against the protobuf JSON mapping as the OTLP specification
 * constrains it: ids are lowercase hex instead of base64, 64-bit integers are
 * decimal strings (most JSON parsers keep numbers as doubles and would lose
 * precision past 2^53), enums are integers. Fields at their default value are
 * mostly left out, which the mapping allows and receivers must accept.
 *
 * Errors are sticky: every writer does nothing once an append has failed, so
 * the emitters read as straight-line code and the first sp_buf error is the
 * one returned. On failure the output is cut back to where it started, so a
 * caller never sees half an object.
 */
#include "otlp_json.h"

#include "otlp_group.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Values nested deeper than this are written as {}. Log bodies come from JSON
 * the agent parsed, and the recursion here must not be a way to exhaust the
 * stack, whatever limit the parser has. */
#define MAX_VALUE_DEPTH 64

/* OTLP AggregationTemporality: counters and histograms are cumulative. */
#define TEMPORALITY_CUMULATIVE 2

struct jw {
    struct sp_buf *b;
    int rc; /* first error, 0 while all appends succeeded */
};


static const char *const resource_key[SP_SIG_COUNT] = {"resourceSpans", "resourceLogs",
                                                       "resourceMetrics"};
static const char *const scope_key[SP_SIG_COUNT] = {"scopeSpans", "scopeLogs", "scopeMetrics"};
static const char *const items_key[SP_SIG_COUNT] = {"spans", "logRecords", "metrics"};

/* ---- writers ---- */

/* Always inlined, as put_u64() and put_u32() that pass their key on: the
 * strlen() of the literal then folds to a constant. Left to itself gcc
 * stopped inlining them once the file grew (the ScopeMetrics per namespace),
 * which cost 300 instructions per log record and 450 per span. */
static inline __attribute__((always_inline)) void put_raw(struct jw *w, const char *s)
{
    if (w->rc == 0) {
        w->rc = sp_buf_adds(w->b, s);
    }
}

static void put_str(struct jw *w, struct sp_str s)
{
    if (w->rc) {
        return;
    }
    /* An empty sp_str may have p == NULL; sp_buf_add_json_str would compute
     * p + 0 on it, which C leaves undefined. */
    if (s.len == 0) {
        w->rc = sp_buf_add(w->b, "\"\"", 2);
        return;
    }
    w->rc = sp_buf_add_json_str(w->b, s.p, s.len);
}

/* Writes the key and the id as a quoted hex string. */
static void put_id(struct jw *w, const char *key, const uint8_t *p, size_t n)
{
    put_raw(w, key);
    put_raw(w, "\"");
    if (w->rc == 0) {
        w->rc = sp_buf_add_hex(w->b, p, n);
    }
    put_raw(w, "\"");
}

/* Writes the key and a 64-bit unsigned integer as a decimal string. */
static inline __attribute__((always_inline)) void put_u64(struct jw *w, const char *key, uint64_t v)
{
    put_raw(w, key);
    if (w->rc == 0) {
        w->rc = sp_buf_addc(w->b, '"');
        w->rc |= sp_buf_add_u64(w->b, v);
        w->rc |= sp_buf_addc(w->b, '"');
    }
}

/* Writes the key and a 32-bit integer as a JSON number: the mapping only
 * quotes 64-bit types. */
static inline __attribute__((always_inline)) void put_u32(struct jw *w, const char *key, uint32_t v)
{
    put_raw(w, key);
    if (w->rc == 0) {
        w->rc = sp_buf_add_u64(w->b, v);
    }
}

static void put_double(struct jw *w, double d)
{
    if (isnan(d)) {
        put_raw(w, "\"NaN\"");
        return;
    }
    if (isinf(d)) {
        put_raw(w, d > 0 ? "\"Infinity\"" : "\"-Infinity\"");
        return;
    }
    /* 17 significant digits always round-trip, but make 0.1 look like
     * 0.10000000000000001; take the shortest precision that reads back as the
     * same double. %g may print 3 or 1e+20: both are valid JSON numbers. */
    char tmp[40];
    for (int prec = 15; prec <= 17; prec++) {
        snprintf(tmp, sizeof(tmp), "%.*g", prec, d);
        if (strtod(tmp, NULL) == d) {
            break;
        }
    }
    put_raw(w, tmp);
}

static void put_value(struct jw *w, const struct sp_value *v, int depth);

/* A JSON array of KeyValue objects (attributes, kvlist values). */
static void put_kvs(struct jw *w, const struct sp_attr *a, uint32_t n, int depth)
{
    put_raw(w, "[");
    for (uint32_t i = 0; i < n && w->rc == 0; i++) {
        put_raw(w, i ? ",{\"key\":" : "{\"key\":");
        put_str(w, a[i].key);
        put_raw(w, ",\"value\":");
        put_value(w, &a[i].val, depth + 1);
        put_raw(w, "}");
    }
    put_raw(w, "]");
}

/* An AnyValue object. */
static void put_value(struct jw *w, const struct sp_value *v, int depth)
{
    if (depth > MAX_VALUE_DEPTH) {
        put_raw(w, "{}");
        return;
    }
    switch (v->type) {
    case SP_VAL_STR:
        put_raw(w, "{\"stringValue\":");
        put_str(w, v->u.s);
        put_raw(w, "}");
        break;
    case SP_VAL_INT:
        if (w->rc == 0) {
            w->rc = sp_buf_adds(w->b, "{\"intValue\":\"");
            w->rc |= sp_buf_add_i64(w->b, v->u.i);
            w->rc |= sp_buf_adds(w->b, "\"}");
        }
        break;
    case SP_VAL_DOUBLE:
        put_raw(w, "{\"doubleValue\":");
        put_double(w, v->u.d);
        put_raw(w, "}");
        break;
    case SP_VAL_BOOL:
        put_raw(w, v->u.b ? "{\"boolValue\":true}" : "{\"boolValue\":false}");
        break;
    case SP_VAL_ARRAY:
        put_raw(w, "{\"arrayValue\":{\"values\":[");
        for (uint32_t i = 0; i < v->u.arr.n && w->rc == 0; i++) {
            if (i) {
                put_raw(w, ",");
            }
            put_value(w, &v->u.arr.v[i], depth + 1);
        }
        put_raw(w, "]}}");
        break;
    case SP_VAL_KVLIST:
        put_raw(w, "{\"kvlistValue\":{\"values\":");
        put_kvs(w, v->u.kv.v, v->u.kv.n, depth);
        put_raw(w, "}}");
        break;
    default:
        /* SP_VAL_EMPTY, and anything unknown: an AnyValue with nothing set. */
        put_raw(w, "{}");
        break;
    }
}

/* ,"<key>":[..] when there are attributes; empty lists are the default and
 * left out. */
static void put_attrs(struct jw *w, const char *key, const struct sp_attrs *a)
{
    if (a->n == 0) {
        return;
    }
    put_raw(w, key);
    put_kvs(w, a->v, a->n, 0);
}

static void put_dropped(struct jw *w, const char *key, uint32_t n)
{
    if (n) {
        put_u32(w, key, n);
    }
}

static int all_zero(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (p[i]) {
            return 0;
        }
    }
    return 1;
}

/* ---- items ---- */

static void put_span(struct jw *w, const struct sp_span *s)
{
    put_id(w, "{\"traceId\":", s->trace_id, sizeof(s->trace_id));
    put_id(w, ",\"spanId\":", s->span_id, sizeof(s->span_id));
    if (s->has_parent) {
        put_id(w, ",\"parentSpanId\":", s->parent_span_id, sizeof(s->parent_span_id));
    }
    put_raw(w, ",\"name\":");
    put_str(w, s->name);
    put_u32(w, ",\"kind\":", s->kind);
    put_u64(w, ",\"startTimeUnixNano\":", s->start_ns);
    put_u64(w, ",\"endTimeUnixNano\":", s->end_ns);
    put_attrs(w, ",\"attributes\":", &s->attrs);
    put_dropped(w, ",\"droppedAttributesCount\":", s->attrs.dropped);
    if (s->n_events) {
        put_raw(w, ",\"events\":[");
        for (uint32_t i = 0; i < s->n_events && w->rc == 0; i++) {
            const struct sp_span_event *e = &s->events[i];
            put_u64(w, i ? ",{\"timeUnixNano\":" : "{\"timeUnixNano\":", e->ts_ns);
            put_raw(w, ",\"name\":");
            put_str(w, e->name);
            put_attrs(w, ",\"attributes\":", &e->attrs);
            put_dropped(w, ",\"droppedAttributesCount\":", e->attrs.dropped);
            put_raw(w, "}");
        }
        put_raw(w, "]");
    }
    put_dropped(w, ",\"droppedEventsCount\":", s->dropped_events);
    if (s->n_links) {
        put_raw(w, ",\"links\":[");
        for (uint32_t i = 0; i < s->n_links && w->rc == 0; i++) {
            const struct sp_span_link *l = &s->links[i];
            put_id(w, i ? ",{\"traceId\":" : "{\"traceId\":", l->trace_id, sizeof(l->trace_id));
            put_id(w, ",\"spanId\":", l->span_id, sizeof(l->span_id));
            put_attrs(w, ",\"attributes\":", &l->attrs);
            put_dropped(w, ",\"droppedAttributesCount\":", l->attrs.dropped);
            put_raw(w, "}");
        }
        put_raw(w, "]");
    }
    put_u32(w, ",\"status\":{\"code\":", s->status);
    if (s->status_message.len) {
        put_raw(w, ",\"message\":");
        put_str(w, s->status_message);
    }
    put_raw(w, "}}");
}

static void put_logrec(struct jw *w, const struct sp_logrec *r)
{
    /* observedTimeUnixNano goes first because it is always present, so the
     * optional fields after it can all lead with a comma. */
    put_u64(w, "{\"observedTimeUnixNano\":", r->observed_ns);
    if (r->ts_ns) {
        put_u64(w, ",\"timeUnixNano\":", r->ts_ns);
    }
    put_u32(w, ",\"severityNumber\":", r->severity_number);
    if (r->severity_text.len) {
        put_raw(w, ",\"severityText\":");
        put_str(w, r->severity_text);
    }
    if (r->body.type != SP_VAL_EMPTY) {
        put_raw(w, ",\"body\":");
        put_value(w, &r->body, 0);
    }
    put_attrs(w, ",\"attributes\":", &r->attrs);
    put_dropped(w, ",\"droppedAttributesCount\":", r->attrs.dropped);
    if (r->has_trace) {
        put_id(w, ",\"traceId\":", r->trace_id, sizeof(r->trace_id));
        put_id(w, ",\"spanId\":", r->span_id, sizeof(r->span_id));
    }
    if (r->event_name.len) {
        put_raw(w, ",\"eventName\":");
        put_str(w, r->event_name);
    }
    put_raw(w, "}");
}

static void put_exemplars(struct jw *w, const struct sp_metric *m)
{
    if (m->n_exemplars == 0) {
        return;
    }
    put_raw(w, ",\"exemplars\":[");
    for (uint32_t i = 0; i < m->n_exemplars && w->rc == 0; i++) {
        const struct sp_exemplar *e = &m->exemplars[i];
        put_u64(w, i ? ",{\"timeUnixNano\":" : "{\"timeUnixNano\":", e->ts_ns);
        put_raw(w, ",\"asDouble\":");
        put_double(w, e->value);
        /* The exemplar has no "has trace" flag; an all-zero id is invalid in
         * OTLP, so it means the measurement was taken outside any span. */
        if (!all_zero(e->trace_id, sizeof(e->trace_id))) {
            put_id(w, ",\"traceId\":", e->trace_id, sizeof(e->trace_id));
        }
        if (!all_zero(e->span_id, sizeof(e->span_id))) {
            put_id(w, ",\"spanId\":", e->span_id, sizeof(e->span_id));
        }
        put_attrs(w, ",\"filteredAttributes\":", &e->filtered);
        put_raw(w, "}");
    }
    put_raw(w, "]");
}

static void put_data_point(struct jw *w, const struct sp_metric *m)
{
    put_u64(w, "{\"timeUnixNano\":", m->time_ns);
    /* Cumulative points need their series start; for a gauge it is optional. */
    if (m->kind != SP_METRIC_GAUGE || m->start_ns) {
        put_u64(w, ",\"startTimeUnixNano\":", m->start_ns);
    }
    put_attrs(w, ",\"attributes\":", &m->attrs);
    if (m->kind == SP_METRIC_HISTOGRAM) {
        put_u64(w, ",\"count\":", m->count);
        put_raw(w, ",\"sum\":");
        put_double(w, m->sum);
        if (m->bucket_counts) {
            put_raw(w, ",\"bucketCounts\":[");
            for (uint32_t i = 0; i <= m->n_bounds && w->rc == 0; i++) {
                put_u64(w, i ? "," : "", m->bucket_counts[i]);
            }
            put_raw(w, "],\"explicitBounds\":[");
            for (uint32_t i = 0; i < m->n_bounds && w->rc == 0; i++) {
                if (i) {
                    put_raw(w, ",");
                }
                put_double(w, m->bounds[i]);
            }
            put_raw(w, "]");
        }
        if (m->count && !isnan(m->min)) { /* NaN: not known */
            put_raw(w, ",\"min\":");
            put_double(w, m->min);
        }
        if (m->count && !isnan(m->max)) {
            put_raw(w, ",\"max\":");
            put_double(w, m->max);
        }
    } else {
        put_raw(w, ",\"asDouble\":");
        put_double(w, m->value);
    }
    put_exemplars(w, m);
    put_raw(w, "}");
}

/* Opens the Metric that `m` and the points sharing its name, unit and kind go
 * into; the first point's description stands for all of them. */
static void open_metric(struct jw *w, const struct sp_metric *m)
{
    put_raw(w, "{\"name\":");
    put_str(w, m->name);
    if (m->description.len) {
        put_raw(w, ",\"description\":");
        put_str(w, m->description);
    }
    if (m->unit.len) {
        put_raw(w, ",\"unit\":");
        put_str(w, m->unit);
    }
    switch (m->kind) {
    case SP_METRIC_COUNTER:
        put_raw(w, ",\"sum\":{\"dataPoints\":[");
        break;
    case SP_METRIC_HISTOGRAM:
        put_raw(w, ",\"histogram\":{\"dataPoints\":[");
        break;
    default:
        put_raw(w, ",\"gauge\":{\"dataPoints\":[");
        break;
    }
}

static void close_metric(struct jw *w, const struct sp_metric *m)
{
    switch (m->kind) {
    case SP_METRIC_COUNTER:
        put_u32(w, "],\"aggregationTemporality\":", TEMPORALITY_CUMULATIVE);
        put_raw(w, ",\"isMonotonic\":true}}");
        break;
    case SP_METRIC_HISTOGRAM:
        put_u32(w, "],\"aggregationTemporality\":", TEMPORALITY_CUMULATIVE);
        put_raw(w, "}}");
        break;
    default:
        put_raw(w, "]}}");
        break;
    }
}

/* {"resource":{..} -- the item's resource: as received over OTLP (`sc`),
 * else its function's. */
static void put_resource(struct jw *w, const struct sp_resource_info *res,
                         const struct sp_scope *sc, struct sp_str fn, struct sp_str svc,
                         const struct sp_attrs *own, struct sp_attr *tmp)
{
    if (sc) {
        put_raw(w, "{\"resource\":{\"attributes\":");
        put_kvs(w, sc->resource.v, sc->resource.n, 0);
        put_dropped(w, ",\"droppedAttributesCount\":", sc->resource.dropped);
        put_raw(w, "}");
        if (sc->resource_schema_url.len) {
            put_raw(w, ",\"schemaUrl\":");
            put_str(w, sc->resource_schema_url);
        }
        return;
    }
    uint32_t n = sp_resource_attrs_own(res, fn, svc, own, tmp);
    put_raw(w, "{\"resource\":{\"attributes\":");
    put_kvs(w, tmp, n, 0);
    put_dropped(w, ",\"droppedAttributesCount\":", res->extra.dropped);
    put_raw(w, "}");
}

/* {"scope":{..},"items":[ -- closed by close_scope(). The scope as received
 * (`sc`), else the one named `name` (a CloudWatch namespace), else spindle's. */
static void open_scope(struct jw *w, int signal, const struct sp_resource_info *res,
                       const struct sp_scope *sc, struct sp_str name)
{
    put_raw(w, "{\"scope\":{\"name\":");
    if (sc) {
        put_str(w, sc->name);
        if (sc->version.len) {
            put_raw(w, ",\"version\":");
            put_str(w, sc->version);
        }
        if (sc->attrs.n) {
            put_raw(w, ",\"attributes\":");
            put_kvs(w, sc->attrs.v, sc->attrs.n, 0);
        }
        put_dropped(w, ",\"droppedAttributesCount\":", sc->attrs.dropped);
        put_raw(w, "}");
        if (sc->schema_url.len) {
            put_raw(w, ",\"schemaUrl\":");
            put_str(w, sc->schema_url);
        }
    } else if (name.len) {
        put_str(w, name);
        put_raw(w, "}");
    } else {
        put_str(w, res->scope_name);
        if (res->scope_version.len) {
            put_raw(w, ",\"version\":");
            put_str(w, res->scope_version);
        }
        put_raw(w, "}");
    }
    put_raw(w, ",\"");
    put_raw(w, items_key[signal]);
    put_raw(w, "\":[");
}

static void close_scope(struct jw *w)
{
    put_raw(w, "]}");
}

/* {"resource":{..},"scopeX":[ -- closed by close_resource(). */
static void open_resource(struct jw *w, int signal, const struct sp_resource_info *res,
                          const struct sp_scope *sc, struct sp_str fn, struct sp_str svc,
                          const struct sp_attrs *own, struct sp_attr *tmp)
{
    put_resource(w, res, sc, fn, svc, own, tmp);
    put_raw(w, ",\"");
    put_raw(w, scope_key[signal]);
    put_raw(w, "\":[");
}

static void close_resource(struct jw *w)
{
    put_raw(w, "]}");
}

/* ---- entry point ---- */

int otlp_encode_json(const struct sp_batch *b, const struct sp_resource_info *res,
                     struct sp_buf *out)
{
    /* Not one of the documented errors: a bad signal is a bug in the
     * producer, and writing nothing beats writing a wrong request. */
    if (b->signal >= SP_SIG_COUNT) {
        return -EINVAL;
    }
    int signal = b->signal;
    /* The same grouping as the protobuf writer (otlp_group.c): resources by
     * function and service, ScopeMetrics by scope name, Metrics by (name,
     * unit, kind), first-seen order. */
    struct sp_arena a;
    sp_arena_init(&a, 16 * 1024);
    struct otlp_grouped g;
    struct otlp_metric_groups mg;
    int rc = otlp_group_by_function(&a, b, &g);
    if (rc == 0 && signal == SP_SIG_METRICS) {
        rc = otlp_group_metrics(&a, &g, &mg);
    }
    struct sp_attr *res_attrs =
        rc ? NULL : sp_arena_alloc(&a, (4 + (size_t)res->extra.n) * sizeof(*res_attrs));
    if (rc || res_attrs == NULL) {
        sp_arena_free(&a);
        return rc ? rc : -ENOMEM;
    }

    size_t start = out->len;
    struct jw w = {out, 0};
    put_raw(&w, "{\"");
    put_raw(&w, resource_key[signal]);
    put_raw(&w, "\":[");
    for (uint32_t r = 0; r < g.nres && w.rc == 0; r++) {
        const void *first = g.items[g.order[g.start[r]]];
        put_raw(&w, r ? "," : "");
        const struct sp_attrs *own = otlp_item_res(signal, first);
        struct sp_attr *ra = res_attrs;
        if (own && own->n) {
            ra = sp_arena_alloc(&a, (4 + (size_t)res->extra.n + own->n) * sizeof(*ra));
            if (ra == NULL) {
                w.rc = -ENOMEM;
                break;
            }
        }
        open_resource(&w, signal, res, otlp_item_scope(signal, first), otlp_item_function(signal, first),
                      otlp_item_service(signal, first), own, ra);
        if (signal != SP_SIG_METRICS) {
            open_scope(&w, signal, res, otlp_item_scope(signal, first), (struct sp_str){NULL, 0});
            for (uint32_t k = g.start[r]; k < g.start[r + 1]; k++) {
                put_raw(&w, k > g.start[r] ? "," : "");
                if (signal == SP_SIG_TRACES) {
                    put_span(&w, g.items[g.order[k]]);
                } else {
                    put_logrec(&w, g.items[g.order[k]]);
                }
            }
            close_scope(&w);
        }
        /* One ScopeMetrics per scope: spindle's, each EMF namespace. */
        for (uint32_t si = signal == SP_SIG_METRICS ? mg.sstart[r] : 0;
             signal == SP_SIG_METRICS && si < mg.sstart[r + 1]; si++) {
            uint32_t sc = mg.sorder[si];
            const struct sp_metric *s0 = g.items[mg.sfirst[sc]];
            put_raw(&w, si > mg.sstart[r] ? "," : "");
            open_scope(&w, signal, res, s0->scope, s0->scope_name);
            for (uint32_t mi = mg.mstart[sc]; mi < mg.mstart[sc + 1]; mi++) {
                uint32_t m = mg.morder[mi];
                const struct sp_metric *m0 = g.items[mg.porder[mg.pstart[m]]];
                put_raw(&w, mi > mg.mstart[sc] ? "," : "");
                open_metric(&w, m0);
                for (uint32_t k = mg.pstart[m]; k < mg.pstart[m + 1]; k++) {
                    put_raw(&w, k > mg.pstart[m] ? "," : "");
                    put_data_point(&w, g.items[mg.porder[k]]);
                }
                close_metric(&w, m0);
            }
            close_scope(&w);
        }
        close_resource(&w);
    }
    put_raw(&w, "]}");

    sp_arena_free(&a);
    if (w.rc) {
        out->len = start;
    }
    return w.rc;
}
