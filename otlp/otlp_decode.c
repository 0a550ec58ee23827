/*
 * otlp_decode.c - OTLP protobuf request bodies into the data model. See
 * otlp_decode.h; the JSON mapping is otlp_decode_json.c.
 *
 * What the model cannot carry is left out of the request item by item and
 * counted for partial_success, never silently changed: delta or
 * non-monotonic sums, delta histograms, exponential histograms and
 * summaries (spindle's exporters write cumulative monotonic sums, gauges and
 * explicit-bucket histograms), and spans or log records with malformed ids.
 */
#include "otlp_decode.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "caps.h"
#include "json.h"
#include "logs_service.pb-c.h"
#include "metrics_service.pb-c.h"
#include "trace_service.pb-c.h"

typedef Opentelemetry__Proto__Common__V1__KeyValue KeyValue;
typedef Opentelemetry__Proto__Common__V1__AnyValue AnyValue;
typedef Opentelemetry__Proto__Common__V1__InstrumentationScope Scope;
typedef Opentelemetry__Proto__Resource__V1__Resource Resource;
typedef Opentelemetry__Proto__Metrics__V1__Exemplar Exemplar;

struct dec {
    struct sp_arena *a;
    struct otlp_decoded *out;
    void **tail;
    int bad; /* invalid UTF-8 or out of memory: the whole body is refused */
    const char *err;
};

static void reject(struct dec *d, uint32_t n, const char *why)
{
    d->out->rejected += n;
    if (d->out->why == NULL) {
        d->out->why = why;
    }
}

static void append(struct dec *d, void *item)
{
    *d->tail = item;
    d->tail = (void **)item; /* ->next is every item's first field */
    d->out->n++;
}

static struct sp_str str(struct dec *d, const char *s)
{
    struct sp_str r = {s ? s : "", s ? strlen(s) : 0};
    if (r.len && !sp_utf8_valid(r.p, r.len)) {
        d->bad = 1;
        d->err = "a string is not valid UTF-8";
    }
    return r;
}

static void *zalloc(struct dec *d, size_t n)
{
    void *p = n ? sp_arena_calloc(d->a, n) : NULL;
    if (n && p == NULL) {
        d->bad = 1;
        d->err = "out of memory";
    }
    return p;
}

static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static void value(struct dec *d, struct sp_value *v, const AnyValue *av, unsigned depth);

static void attr_list(struct dec *d, struct sp_attrs *out, KeyValue **kv, size_t n,
                      unsigned depth)
{
    out->v = zalloc(d, n * sizeof(*out->v));
    out->n = 0;
    for (size_t i = 0; i < n && out->v; i++) {
        struct sp_attr *a = &out->v[out->n++];
        a->key = str(d, kv[i]->key);
        value(d, &a->val, kv[i]->value, depth + 1);
    }
}

static void value(struct dec *d, struct sp_value *v, const AnyValue *av, unsigned depth)
{
    memset(v, 0, sizeof(*v));
    if (av == NULL) {
        return;
    }
    if (depth > SP_MAX_JSON_DEPTH) {
        d->bad = 1;
        d->err = "values nested too deep";
        return;
    }
    switch (av->value_case) {
    case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_STRING_VALUE:
        v->type = SP_VAL_STR;
        v->u.s = str(d, av->string_value);
        break;
    case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_BOOL_VALUE:
        v->type = SP_VAL_BOOL;
        v->u.b = av->bool_value != 0;
        break;
    case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_INT_VALUE:
        v->type = SP_VAL_INT;
        v->u.i = av->int_value;
        break;
    case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_DOUBLE_VALUE:
        v->type = SP_VAL_DOUBLE;
        v->u.d = av->double_value;
        break;
    case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_ARRAY_VALUE: {
        const Opentelemetry__Proto__Common__V1__ArrayValue *arr = av->array_value;
        size_t n = arr ? arr->n_values : 0;
        v->type = SP_VAL_ARRAY;
        v->u.arr.v = zalloc(d, n * sizeof(*v->u.arr.v));
        for (size_t i = 0; i < n && v->u.arr.v; i++) {
            value(d, &v->u.arr.v[i], arr->values[i], depth + 1);
            v->u.arr.n++;
        }
        break;
    }
    case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_KVLIST_VALUE: {
        const Opentelemetry__Proto__Common__V1__KeyValueList *kl = av->kvlist_value;
        struct sp_attrs as = {0};
        attr_list(d, &as, kl ? kl->values : NULL, kl ? kl->n_values : 0, depth);
        v->type = SP_VAL_KVLIST;
        v->u.kv.v = as.v;
        v->u.kv.n = as.n;
        break;
    }
    case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_BYTES_VALUE: {
        /* The model has no bytes: they travel as their base64 text, which
         * is also how the OTLP JSON mapping writes them. */
        size_t n = av->bytes_value.len;
        char *o = zalloc(d, 4 * ((n + 2) / 3) + 1);
        size_t k = 0;
        for (size_t i = 0; o && i < n; i += 3) {
            uint32_t x = (uint32_t)av->bytes_value.data[i] << 16;
            if (i + 1 < n) x |= (uint32_t)av->bytes_value.data[i + 1] << 8;
            if (i + 2 < n) x |= av->bytes_value.data[i + 2];
            o[k++] = b64[x >> 18 & 63];
            o[k++] = b64[x >> 12 & 63];
            o[k++] = i + 1 < n ? b64[x >> 6 & 63] : '=';
            o[k++] = i + 2 < n ? b64[x & 63] : '=';
        }
        v->type = SP_VAL_STR;
        v->u.s = (struct sp_str){o ? o : "", k};
        break;
    }
    default:
        break;
    }
}

static const struct sp_scope *scope_of(struct dec *d, const Resource *r, const char *r_schema,
                                       const Scope *s, const char *s_schema)
{
    struct sp_scope *sc = zalloc(d, sizeof(*sc));
    if (sc == NULL) {
        return NULL;
    }
    if (r) {
        attr_list(d, &sc->resource, r->attributes, r->n_attributes, 0);
        sc->resource.dropped = r->dropped_attributes_count;
    }
    sc->resource_schema_url = str(d, r_schema);
    if (s) {
        sc->name = str(d, s->name);
        sc->version = str(d, s->version);
        attr_list(d, &sc->attrs, s->attributes, s->n_attributes, 0);
        sc->attrs.dropped = s->dropped_attributes_count;
    }
    sc->schema_url = str(d, s_schema);
    return sc;
}

/* 1 when `b` is a valid id of `len` bytes (not all zero) and copied. */
static int id(const ProtobufCBinaryData *b, uint8_t *out, size_t len)
{
    if (b->len != len) {
        return 0;
    }
    memcpy(out, b->data, len);
    for (size_t i = 0; i < len; i++) {
        if (out[i]) {
            return 1;
        }
    }
    return 0;
}

/* ---- traces ---- */

static void span(struct dec *d, const struct sp_scope *sc,
                 const Opentelemetry__Proto__Trace__V1__Span *ps)
{
    struct sp_span s0 = {0};
    if (!id(&ps->trace_id, s0.trace_id, 16) || !id(&ps->span_id, s0.span_id, 8)) {
        reject(d, 1, "a span without a valid trace_id and span_id");
        return;
    }
    if (ps->parent_span_id.len) {
        if (!id(&ps->parent_span_id, s0.parent_span_id, 8)) {
            reject(d, 1, "a span with an invalid parent_span_id");
            return;
        }
        s0.has_parent = 1;
    }
    struct sp_span *s = zalloc(d, sizeof(*s));
    if (s == NULL) {
        return;
    }
    *s = s0;
    s->scope = sc;
    s->name = str(d, ps->name);
    s->kind = (int)ps->kind >= 0 && (int)ps->kind <= (int)SP_KIND_CONSUMER ? (uint8_t)ps->kind : SP_KIND_UNSPECIFIED;
    s->start_ns = ps->start_time_unix_nano;
    s->end_ns = ps->end_time_unix_nano;
    attr_list(d, &s->attrs, ps->attributes, ps->n_attributes, 0);
    s->attrs.dropped = ps->dropped_attributes_count;
    if (ps->status) {
        s->status = (int)ps->status->code >= 0 && (int)ps->status->code <= (int)SP_STATUS_ERROR ? (uint8_t)ps->status->code : 0;
        s->status_message = str(d, ps->status->message);
    }
    s->events = zalloc(d, ps->n_events * sizeof(*s->events));
    for (size_t i = 0; s->events && i < ps->n_events; i++) {
        struct sp_span_event *ev = &s->events[s->n_events++];
        ev->name = str(d, ps->events[i]->name);
        ev->ts_ns = ps->events[i]->time_unix_nano;
        attr_list(d, &ev->attrs, ps->events[i]->attributes, ps->events[i]->n_attributes, 0);
        ev->attrs.dropped = ps->events[i]->dropped_attributes_count;
    }
    s->dropped_events = ps->dropped_events_count;
    /* One spare: the receiver may add a link to the span's original trace. */
    s->links = zalloc(d, (ps->n_links + 1) * sizeof(*s->links));
    for (size_t i = 0; s->links && i < ps->n_links; i++) {
        struct sp_span_link *l = &s->links[s->n_links];
        if (!id(&ps->links[i]->trace_id, l->trace_id, 16) ||
            !id(&ps->links[i]->span_id, l->span_id, 8)) {
            continue; /* a link to nothing: dropped, the span kept */
        }
        attr_list(d, &l->attrs, ps->links[i]->attributes, ps->links[i]->n_attributes, 0);
        l->attrs.dropped = ps->links[i]->dropped_attributes_count;
        s->n_links++;
    }
    append(d, s);
}

static void traces(struct dec *d, const Opentelemetry__Proto__Collector__Trace__V1__ExportTraceServiceRequest *rq)
{
    for (size_t r = 0; r < rq->n_resource_spans && !d->bad; r++) {
        const Opentelemetry__Proto__Trace__V1__ResourceSpans *rs = rq->resource_spans[r];
        for (size_t k = 0; k < rs->n_scope_spans && !d->bad; k++) {
            const Opentelemetry__Proto__Trace__V1__ScopeSpans *ss = rs->scope_spans[k];
            const struct sp_scope *sc =
                scope_of(d, rs->resource, rs->schema_url, ss->scope, ss->schema_url);
            for (size_t i = 0; sc && i < ss->n_spans && !d->bad; i++) {
                span(d, sc, ss->spans[i]);
            }
        }
    }
}

/* ---- logs ---- */

static void log_record(struct dec *d, const struct sp_scope *sc,
                       const Opentelemetry__Proto__Logs__V1__LogRecord *pl)
{
    struct sp_logrec l0 = {0};
    if (pl->trace_id.len || pl->span_id.len) {
        /* Both or the span id alone are meaningful; a malformed one is not. */
        int t_ok = pl->trace_id.len == 0 || id(&pl->trace_id, l0.trace_id, 16);
        int s_ok = pl->span_id.len == 0 || id(&pl->span_id, l0.span_id, 8);
        if (!t_ok || !s_ok) {
            reject(d, 1, "a log record with a malformed trace_id or span_id");
            return;
        }
        l0.has_trace = pl->trace_id.len != 0;
    }
    struct sp_logrec *l = zalloc(d, sizeof(*l));
    if (l == NULL) {
        return;
    }
    *l = l0;
    l->scope = sc;
    l->ts_ns = pl->time_unix_nano;
    l->observed_ns = pl->observed_time_unix_nano;
    l->severity_number = (int)pl->severity_number >= 0 && (int)pl->severity_number <= 24 ? (uint8_t)pl->severity_number : 0;
    l->severity_text = str(d, pl->severity_text);
    value(d, &l->body, pl->body, 0);
    attr_list(d, &l->attrs, pl->attributes, pl->n_attributes, 0);
    l->attrs.dropped = pl->dropped_attributes_count;
    l->event_name = str(d, pl->event_name);
    append(d, l);
}

static void logs(struct dec *d, const Opentelemetry__Proto__Collector__Logs__V1__ExportLogsServiceRequest *rq)
{
    for (size_t r = 0; r < rq->n_resource_logs && !d->bad; r++) {
        const Opentelemetry__Proto__Logs__V1__ResourceLogs *rl = rq->resource_logs[r];
        for (size_t k = 0; k < rl->n_scope_logs && !d->bad; k++) {
            const Opentelemetry__Proto__Logs__V1__ScopeLogs *sl = rl->scope_logs[k];
            const struct sp_scope *sc =
                scope_of(d, rl->resource, rl->schema_url, sl->scope, sl->schema_url);
            for (size_t i = 0; sc && i < sl->n_log_records && !d->bad; i++) {
                log_record(d, sc, sl->log_records[i]);
            }
        }
    }
}

/* ---- metrics ---- */

static void exemplars(struct dec *d, struct sp_metric *m, Exemplar **ex, size_t n)
{
    /* One spare: the receiver may add an exemplar pointing at the workflow. */
    m->exemplars = zalloc(d, (n + 1) * sizeof(*m->exemplars));
    for (size_t i = 0; m->exemplars && i < n; i++) {
        struct sp_exemplar *e = &m->exemplars[m->n_exemplars];
        /* An exemplar without a trace still carries its value. */
        id(&ex[i]->trace_id, e->trace_id, 16);
        id(&ex[i]->span_id, e->span_id, 8);
        e->ts_ns = ex[i]->time_unix_nano;
        e->value = ex[i]->value_case == OPENTELEMETRY__PROTO__METRICS__V1__EXEMPLAR__VALUE_AS_INT
                       ? (double)ex[i]->as_int
                       : ex[i]->as_double;
        attr_list(d, &e->filtered, ex[i]->filtered_attributes, ex[i]->n_filtered_attributes, 0);
        m->n_exemplars++;
    }
}

static struct sp_metric *point(struct dec *d, const struct sp_scope *sc,
                               const Opentelemetry__Proto__Metrics__V1__Metric *pm, int kind,
                               KeyValue **attrs, size_t n_attrs, uint64_t start, uint64_t t)
{
    struct sp_metric *m = zalloc(d, sizeof(*m));
    if (m == NULL) {
        return NULL;
    }
    m->scope = sc;
    m->name = str(d, pm->name);
    m->unit = str(d, pm->unit);
    m->description = str(d, pm->description);
    m->kind = (uint8_t)kind;
    attr_list(d, &m->attrs, attrs, n_attrs, 0);
    m->start_ns = start;
    m->time_ns = t;
    return m;
}

static void number_points(struct dec *d, const struct sp_scope *sc,
                          const Opentelemetry__Proto__Metrics__V1__Metric *pm, int kind,
                          Opentelemetry__Proto__Metrics__V1__NumberDataPoint **pts, size_t n)
{
    for (size_t i = 0; i < n && !d->bad; i++) {
        const Opentelemetry__Proto__Metrics__V1__NumberDataPoint *p = pts[i];
        struct sp_metric *m = point(d, sc, pm, kind, p->attributes, p->n_attributes,
                                    p->start_time_unix_nano, p->time_unix_nano);
        if (m == NULL) {
            return;
        }
        m->value = p->value_case == OPENTELEMETRY__PROTO__METRICS__V1__NUMBER_DATA_POINT__VALUE_AS_INT
                       ? (double)p->as_int
                       : p->as_double;
        exemplars(d, m, p->exemplars, p->n_exemplars);
        append(d, m);
    }
}

static void histogram_points(struct dec *d, const struct sp_scope *sc,
                             const Opentelemetry__Proto__Metrics__V1__Metric *pm,
                             const Opentelemetry__Proto__Metrics__V1__Histogram *h)
{
    for (size_t i = 0; i < h->n_data_points && !d->bad; i++) {
        const Opentelemetry__Proto__Metrics__V1__HistogramDataPoint *p = h->data_points[i];
        if (p->n_bucket_counts != p->n_explicit_bounds + 1) {
            reject(d, 1, "a histogram point whose bucket_counts are not explicit_bounds + 1");
            continue;
        }
        struct sp_metric *m = point(d, sc, pm, SP_METRIC_HISTOGRAM, p->attributes,
                                    p->n_attributes, p->start_time_unix_nano, p->time_unix_nano);
        if (m == NULL) {
            return;
        }
        m->count = p->count;
        m->sum = p->sum__case ? p->sum : 0;
        m->min = p->min__case ? p->min : NAN;
        m->max = p->max__case ? p->max : NAN;
        double *b = zalloc(d, p->n_explicit_bounds * sizeof(*b));
        uint64_t *c = zalloc(d, p->n_bucket_counts * sizeof(*c));
        if ((p->n_explicit_bounds && b == NULL) || c == NULL) {
            return;
        }
        if (p->n_explicit_bounds) {
            memcpy(b, p->explicit_bounds, p->n_explicit_bounds * sizeof(*b));
        }
        memcpy(c, p->bucket_counts, p->n_bucket_counts * sizeof(*c));
        m->bounds = b;
        m->n_bounds = (uint32_t)p->n_explicit_bounds;
        m->bucket_counts = c;
        exemplars(d, m, p->exemplars, p->n_exemplars);
        append(d, m);
    }
}

enum { CUMULATIVE = OPENTELEMETRY__PROTO__METRICS__V1__AGGREGATION_TEMPORALITY__AGGREGATION_TEMPORALITY_CUMULATIVE };

static void metric(struct dec *d, const struct sp_scope *sc,
                   const Opentelemetry__Proto__Metrics__V1__Metric *pm)
{
    switch (pm->data_case) {
    case OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_GAUGE:
        number_points(d, sc, pm, SP_METRIC_GAUGE, pm->gauge->data_points, pm->gauge->n_data_points);
        break;
    case OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_SUM:
        if (!pm->sum->is_monotonic || (int)pm->sum->aggregation_temporality != (int)CUMULATIVE) {
            reject(d, (uint32_t)pm->sum->n_data_points,
                   "only cumulative monotonic sums are taken (delta or non-monotonic sum)");
            break;
        }
        number_points(d, sc, pm, SP_METRIC_COUNTER, pm->sum->data_points, pm->sum->n_data_points);
        break;
    case OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_HISTOGRAM:
        if ((int)pm->histogram->aggregation_temporality != (int)CUMULATIVE) {
            reject(d, (uint32_t)pm->histogram->n_data_points,
                   "only cumulative histograms are taken (delta histogram)");
            break;
        }
        histogram_points(d, sc, pm, pm->histogram);
        break;
    case OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_EXPONENTIAL_HISTOGRAM:
        reject(d, (uint32_t)pm->exponential_histogram->n_data_points,
               "exponential histograms are not taken");
        break;
    case OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_SUMMARY:
        reject(d, (uint32_t)pm->summary->n_data_points, "summaries are not taken");
        break;
    default:
        break; /* no data: nothing to take or reject */
    }
}

static void metrics(struct dec *d, const Opentelemetry__Proto__Collector__Metrics__V1__ExportMetricsServiceRequest *rq)
{
    for (size_t r = 0; r < rq->n_resource_metrics && !d->bad; r++) {
        const Opentelemetry__Proto__Metrics__V1__ResourceMetrics *rm = rq->resource_metrics[r];
        for (size_t k = 0; k < rm->n_scope_metrics && !d->bad; k++) {
            const Opentelemetry__Proto__Metrics__V1__ScopeMetrics *sm = rm->scope_metrics[k];
            const struct sp_scope *sc =
                scope_of(d, rm->resource, rm->schema_url, sm->scope, sm->schema_url);
            for (size_t i = 0; sc && i < sm->n_metrics && !d->bad; i++) {
                metric(d, sc, sm->metrics[i]);
            }
        }
    }
}

/* ---- entry points ---- */

int otlp_decode_json_body(int signal, const uint8_t *p, size_t n, struct sp_arena *a,
                          struct otlp_decoded *out, const char **err);

int otlp_decode(int signal, int json, const uint8_t *p, size_t n, struct sp_arena *a,
                struct otlp_decoded *out, const char **err)
{
    memset(out, 0, sizeof(*out));
    out->signal = signal;
    out->json = json;
    *err = NULL;
    if (json) {
        return otlp_decode_json_body(signal, p, n, a, out, err);
    }
    struct dec d = {.a = a, .out = out, .tail = &out->head};
    switch (signal) {
    case SP_SIG_TRACES: {
        Opentelemetry__Proto__Collector__Trace__V1__ExportTraceServiceRequest *rq =
            opentelemetry__proto__collector__trace__v1__export_trace_service_request__unpack(NULL, n, p);
        out->owner = rq;
        if (rq) {
            traces(&d, rq);
        }
        break;
    }
    case SP_SIG_LOGS: {
        Opentelemetry__Proto__Collector__Logs__V1__ExportLogsServiceRequest *rq =
            opentelemetry__proto__collector__logs__v1__export_logs_service_request__unpack(NULL, n, p);
        out->owner = rq;
        if (rq) {
            logs(&d, rq);
        }
        break;
    }
    default: {
        Opentelemetry__Proto__Collector__Metrics__V1__ExportMetricsServiceRequest *rq =
            opentelemetry__proto__collector__metrics__v1__export_metrics_service_request__unpack(NULL, n, p);
        out->owner = rq;
        if (rq) {
            metrics(&d, rq);
        }
        break;
    }
    }
    if (out->owner == NULL) {
        *err = "not a valid protobuf Export*ServiceRequest";
        return -EINVAL;
    }
    if (d.bad) {
        *err = d.err;
        otlp_decoded_free(out);
        return -EINVAL;
    }
    return 0;
}

void otlp_json_free_owner(void *owner);

void otlp_decoded_free(struct otlp_decoded *d)
{
    if (d->owner == NULL) {
        return;
    }
    if (d->json) {
        otlp_json_free_owner(d->owner);
    } else {
        protobuf_c_message_free_unpacked(d->owner, NULL);
    }
    d->owner = NULL;
    d->head = NULL;
}
