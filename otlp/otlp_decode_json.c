/*
 * otlp_decode_json.c - OTLP/JSON request bodies into the data model (the
 * OTLP JSON mapping of protobuf: lowerCamelCase keys, trace and span ids as
 * hex, 64-bit integers as decimal strings (numbers accepted too), enums as
 * integers). The same items and the same rules as the protobuf decoder in
 * otlp_decode.c; protobuf's original snake_case keys are accepted as well,
 * as protobuf's JSON parsers do.
 *
 * cJSON (see STACK.md): keys are looked up case-sensitively, integers are
 * read from valuedouble or their string and checked, strings are checked for
 * UTF-8 (cJSON passes invalid UTF-8 through).
 */
#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "caps.h"
#include "ids.h"
#include "json.h"
#include "otlp_decode.h"

struct jd {
    struct sp_arena *a;
    struct otlp_decoded *out;
    void **tail;
    int bad;
    const char *err;
};

static void fail(struct jd *d, const char *why)
{
    if (!d->bad) {
        d->bad = 1;
        d->err = why;
    }
}

static void reject(struct jd *d, uint32_t n, const char *why)
{
    d->out->rejected += n;
    if (d->out->why == NULL) {
        d->out->why = why;
    }
}

static void append(struct jd *d, void *item)
{
    *d->tail = item;
    d->tail = (void **)item;
    d->out->n++;
}

static void *zalloc(struct jd *d, size_t n)
{
    void *p = n ? sp_arena_calloc(d->a, n) : NULL;
    if (n && p == NULL) {
        fail(d, "out of memory");
    }
    return p;
}

/* `camel` or, failing that, `snake` (protobuf's own field name). */
static const cJSON *get(const cJSON *o, const char *camel, const char *snake)
{
    if (!cJSON_IsObject(o)) {
        return NULL;
    }
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, camel);
    if (v == NULL && snake) {
        v = cJSON_GetObjectItemCaseSensitive(o, snake);
    }
    return cJSON_IsNull(v) ? NULL : v;
}

static struct sp_str str(struct jd *d, const cJSON *v)
{
    if (v == NULL) {
        return (struct sp_str){"", 0};
    }
    if (!cJSON_IsString(v)) {
        fail(d, "a string field holds something else");
        return (struct sp_str){"", 0};
    }
    struct sp_str s = {v->valuestring, strlen(v->valuestring)};
    if (s.len && !sp_utf8_valid(s.p, s.len)) {
        fail(d, "a string is not valid UTF-8");
    }
    return s;
}

/* A 64-bit integer: a decimal string (the mapping) or an integral number. */
static int64_t i64(struct jd *d, const cJSON *v)
{
    if (v == NULL) {
        return 0;
    }
    if (cJSON_IsString(v)) {
        char *end;
        errno = 0;
        long long x = strtoll(v->valuestring, &end, 10);
        if (end == v->valuestring || *end || errno) {
            fail(d, "an integer string is not a 64-bit integer");
            return 0;
        }
        return x;
    }
    if (cJSON_IsNumber(v) && v->valuedouble == floor(v->valuedouble) &&
        fabs(v->valuedouble) < 9.3e18) {
        return (int64_t)v->valuedouble;
    }
    fail(d, "an integer field holds something else");
    return 0;
}

static uint64_t u64(struct jd *d, const cJSON *v)
{
    if (v && cJSON_IsString(v)) {
        char *end;
        errno = 0;
        if (v->valuestring[0] == '-') {
            fail(d, "an unsigned integer is negative");
            return 0;
        }
        unsigned long long x = strtoull(v->valuestring, &end, 10);
        if (end == v->valuestring || *end || errno) {
            fail(d, "an integer string is not a 64-bit integer");
            return 0;
        }
        return x;
    }
    int64_t x = i64(d, v);
    if (x < 0) {
        fail(d, "an unsigned integer is negative");
        return 0;
    }
    return (uint64_t)x;
}

static double dbl(struct jd *d, const cJSON *v)
{
    if (v == NULL) {
        return 0;
    }
    if (cJSON_IsNumber(v)) {
        return v->valuedouble;
    }
    if (cJSON_IsString(v)) { /* "NaN", "Infinity", "-Infinity" and numbers as strings */
        if (strcmp(v->valuestring, "NaN") == 0) return NAN;
        if (strcmp(v->valuestring, "Infinity") == 0) return INFINITY;
        if (strcmp(v->valuestring, "-Infinity") == 0) return -INFINITY;
        char *end;
        double x = strtod(v->valuestring, &end);
        if (end != v->valuestring && *end == 0) {
            return x;
        }
    }
    fail(d, "a number field holds something else");
    return 0;
}

/* An id as hex: 1 when valid (and not all zero), 0 when absent or empty,
 * -1 when malformed. */
static int hexid(const cJSON *v, uint8_t *out, size_t len)
{
    if (v == NULL || (cJSON_IsString(v) && v->valuestring[0] == 0)) {
        return 0;
    }
    if (!cJSON_IsString(v) || sp_hex_decode(v->valuestring, strlen(v->valuestring), out, len)) {
        return -1;
    }
    return 1;
}

static const cJSON *arr(struct jd *d, const cJSON *v)
{
    if (v && !cJSON_IsArray(v)) {
        fail(d, "a repeated field is not an array");
        return NULL;
    }
    return v;
}

static void value(struct jd *d, struct sp_value *v, const cJSON *av, unsigned depth);

static void attr_list(struct jd *d, struct sp_attrs *out, const cJSON *kvs, unsigned depth)
{
    kvs = arr(d, kvs);
    int n = kvs ? cJSON_GetArraySize(kvs) : 0;
    out->v = zalloc(d, (size_t)n * sizeof(*out->v));
    out->n = 0;
    const cJSON *kv;
    cJSON_ArrayForEach(kv, kvs)
    {
        if (out->v == NULL || d->bad) {
            return;
        }
        struct sp_attr *a = &out->v[out->n++];
        a->key = str(d, get(kv, "key", NULL));
        value(d, &a->val, get(kv, "value", NULL), depth + 1);
    }
}

static void value(struct jd *d, struct sp_value *v, const cJSON *av, unsigned depth)
{
    memset(v, 0, sizeof(*v));
    if (av == NULL) {
        return;
    }
    if (depth > SP_MAX_JSON_DEPTH) {
        fail(d, "values nested too deep");
        return;
    }
    const cJSON *x;
    if ((x = get(av, "stringValue", "string_value"))) {
        v->type = SP_VAL_STR;
        v->u.s = str(d, x);
    } else if ((x = get(av, "boolValue", "bool_value"))) {
        if (!cJSON_IsBool(x)) {
            fail(d, "boolValue is not a boolean");
        }
        v->type = SP_VAL_BOOL;
        v->u.b = cJSON_IsTrue(x);
    } else if ((x = get(av, "intValue", "int_value"))) {
        v->type = SP_VAL_INT;
        v->u.i = i64(d, x);
    } else if ((x = get(av, "doubleValue", "double_value"))) {
        v->type = SP_VAL_DOUBLE;
        v->u.d = dbl(d, x);
    } else if ((x = get(av, "arrayValue", "array_value"))) {
        const cJSON *vals = arr(d, get(x, "values", NULL));
        int n = vals ? cJSON_GetArraySize(vals) : 0;
        v->type = SP_VAL_ARRAY;
        v->u.arr.v = zalloc(d, (size_t)n * sizeof(*v->u.arr.v));
        const cJSON *e;
        cJSON_ArrayForEach(e, vals)
        {
            if (v->u.arr.v == NULL || d->bad) {
                break;
            }
            value(d, &v->u.arr.v[v->u.arr.n++], e, depth + 1);
        }
    } else if ((x = get(av, "kvlistValue", "kvlist_value"))) {
        struct sp_attrs as = {0};
        attr_list(d, &as, get(x, "values", NULL), depth);
        v->type = SP_VAL_KVLIST;
        v->u.kv.v = as.v;
        v->u.kv.n = as.n;
    } else if ((x = get(av, "bytesValue", "bytes_value"))) {
        v->type = SP_VAL_STR; /* base64, as protobuf bytes are carried (otlp_decode.c) */
        v->u.s = str(d, x);
    }
}

static const struct sp_scope *scope_of(struct jd *d, const cJSON *rx, const cJSON *sx)
{
    struct sp_scope *sc = zalloc(d, sizeof(*sc));
    if (sc == NULL) {
        return NULL;
    }
    const cJSON *r = get(rx, "resource", NULL);
    attr_list(d, &sc->resource, get(r, "attributes", NULL), 0);
    sc->resource.dropped = (uint32_t)u64(d, get(r, "droppedAttributesCount", "dropped_attributes_count"));
    sc->resource_schema_url = str(d, get(rx, "schemaUrl", "schema_url"));
    const cJSON *s = get(sx, "scope", NULL);
    sc->name = str(d, get(s, "name", NULL));
    sc->version = str(d, get(s, "version", NULL));
    attr_list(d, &sc->attrs, get(s, "attributes", NULL), 0);
    sc->attrs.dropped = (uint32_t)u64(d, get(s, "droppedAttributesCount", "dropped_attributes_count"));
    sc->schema_url = str(d, get(sx, "schemaUrl", "schema_url"));
    return sc;
}

/* ---- traces ---- */

static void span(struct jd *d, const struct sp_scope *sc, const cJSON *js)
{
    struct sp_span s0 = {0};
    if (hexid(get(js, "traceId", "trace_id"), s0.trace_id, 16) != 1 ||
        hexid(get(js, "spanId", "span_id"), s0.span_id, 8) != 1) {
        reject(d, 1, "a span without a valid traceId and spanId");
        return;
    }
    int p = hexid(get(js, "parentSpanId", "parent_span_id"), s0.parent_span_id, 8);
    if (p < 0) {
        reject(d, 1, "a span with an invalid parentSpanId");
        return;
    }
    s0.has_parent = p == 1;
    struct sp_span *s = zalloc(d, sizeof(*s));
    if (s == NULL) {
        return;
    }
    *s = s0;
    s->scope = sc;
    s->name = str(d, get(js, "name", NULL));
    int64_t kind = i64(d, get(js, "kind", NULL));
    s->kind = kind >= 0 && kind <= SP_KIND_CONSUMER ? (uint8_t)kind : SP_KIND_UNSPECIFIED;
    s->start_ns = u64(d, get(js, "startTimeUnixNano", "start_time_unix_nano"));
    s->end_ns = u64(d, get(js, "endTimeUnixNano", "end_time_unix_nano"));
    attr_list(d, &s->attrs, get(js, "attributes", NULL), 0);
    s->attrs.dropped = (uint32_t)u64(d, get(js, "droppedAttributesCount", "dropped_attributes_count"));
    const cJSON *st = get(js, "status", NULL);
    if (st) {
        int64_t code = i64(d, get(st, "code", NULL));
        s->status = code >= 0 && code <= SP_STATUS_ERROR ? (uint8_t)code : 0;
        s->status_message = str(d, get(st, "message", NULL));
    }
    const cJSON *evs = arr(d, get(js, "events", NULL));
    s->events = zalloc(d, (size_t)(evs ? cJSON_GetArraySize(evs) : 0) * sizeof(*s->events));
    const cJSON *e;
    cJSON_ArrayForEach(e, evs)
    {
        if (s->events == NULL || d->bad) {
            break;
        }
        struct sp_span_event *ev = &s->events[s->n_events++];
        ev->name = str(d, get(e, "name", NULL));
        ev->ts_ns = u64(d, get(e, "timeUnixNano", "time_unix_nano"));
        attr_list(d, &ev->attrs, get(e, "attributes", NULL), 0);
        ev->attrs.dropped = (uint32_t)u64(d, get(e, "droppedAttributesCount", "dropped_attributes_count"));
    }
    s->dropped_events = (uint32_t)u64(d, get(js, "droppedEventsCount", "dropped_events_count"));
    const cJSON *lks = arr(d, get(js, "links", NULL));
    s->links = zalloc(d, (size_t)((lks ? cJSON_GetArraySize(lks) : 0) + 1) * sizeof(*s->links));
    cJSON_ArrayForEach(e, lks)
    {
        if (s->links == NULL || d->bad) {
            break;
        }
        struct sp_span_link *l = &s->links[s->n_links];
        if (hexid(get(e, "traceId", "trace_id"), l->trace_id, 16) != 1 ||
            hexid(get(e, "spanId", "span_id"), l->span_id, 8) != 1) {
            continue;
        }
        attr_list(d, &l->attrs, get(e, "attributes", NULL), 0);
        s->n_links++;
    }
    append(d, s);
}

/* ---- logs ---- */

static void log_record(struct jd *d, const struct sp_scope *sc, const cJSON *jl)
{
    struct sp_logrec l0 = {0};
    int t = hexid(get(jl, "traceId", "trace_id"), l0.trace_id, 16);
    int s = hexid(get(jl, "spanId", "span_id"), l0.span_id, 8);
    if (t < 0 || s < 0) {
        reject(d, 1, "a log record with a malformed traceId or spanId");
        return;
    }
    l0.has_trace = t == 1;
    struct sp_logrec *l = zalloc(d, sizeof(*l));
    if (l == NULL) {
        return;
    }
    *l = l0;
    l->scope = sc;
    l->ts_ns = u64(d, get(jl, "timeUnixNano", "time_unix_nano"));
    l->observed_ns = u64(d, get(jl, "observedTimeUnixNano", "observed_time_unix_nano"));
    int64_t sev = i64(d, get(jl, "severityNumber", "severity_number"));
    l->severity_number = sev >= 0 && sev <= 24 ? (uint8_t)sev : 0;
    l->severity_text = str(d, get(jl, "severityText", "severity_text"));
    value(d, &l->body, get(jl, "body", NULL), 0);
    attr_list(d, &l->attrs, get(jl, "attributes", NULL), 0);
    l->attrs.dropped = (uint32_t)u64(d, get(jl, "droppedAttributesCount", "dropped_attributes_count"));
    l->event_name = str(d, get(jl, "eventName", "event_name"));
    append(d, l);
}

/* ---- metrics ---- */

static void exemplars(struct jd *d, struct sp_metric *m, const cJSON *exs)
{
    exs = arr(d, exs);
    m->exemplars = zalloc(d, (size_t)((exs ? cJSON_GetArraySize(exs) : 0) + 1) * sizeof(*m->exemplars));
    const cJSON *e;
    cJSON_ArrayForEach(e, exs)
    {
        if (m->exemplars == NULL || d->bad) {
            break;
        }
        struct sp_exemplar *x = &m->exemplars[m->n_exemplars++];
        hexid(get(e, "traceId", "trace_id"), x->trace_id, 16);
        hexid(get(e, "spanId", "span_id"), x->span_id, 8);
        x->ts_ns = u64(d, get(e, "timeUnixNano", "time_unix_nano"));
        const cJSON *ai = get(e, "asInt", "as_int");
        x->value = ai ? (double)i64(d, ai) : dbl(d, get(e, "asDouble", "as_double"));
        attr_list(d, &x->filtered, get(e, "filteredAttributes", "filtered_attributes"), 0);
    }
}

static struct sp_metric *point(struct jd *d, const struct sp_scope *sc, const cJSON *jm, int kind,
                               const cJSON *p)
{
    struct sp_metric *m = zalloc(d, sizeof(*m));
    if (m == NULL) {
        return NULL;
    }
    m->scope = sc;
    m->name = str(d, get(jm, "name", NULL));
    m->unit = str(d, get(jm, "unit", NULL));
    m->description = str(d, get(jm, "description", NULL));
    m->kind = (uint8_t)kind;
    attr_list(d, &m->attrs, get(p, "attributes", NULL), 0);
    m->start_ns = u64(d, get(p, "startTimeUnixNano", "start_time_unix_nano"));
    m->time_ns = u64(d, get(p, "timeUnixNano", "time_unix_nano"));
    return m;
}

static void number_points(struct jd *d, const struct sp_scope *sc, const cJSON *jm, int kind,
                          const cJSON *pts)
{
    const cJSON *p;
    cJSON_ArrayForEach(p, arr(d, pts))
    {
        if (d->bad) {
            return;
        }
        struct sp_metric *m = point(d, sc, jm, kind, p);
        if (m == NULL) {
            return;
        }
        const cJSON *ai = get(p, "asInt", "as_int");
        m->value = ai ? (double)i64(d, ai) : dbl(d, get(p, "asDouble", "as_double"));
        exemplars(d, m, get(p, "exemplars", NULL));
        append(d, m);
    }
}

static void histogram_points(struct jd *d, const struct sp_scope *sc, const cJSON *jm,
                             const cJSON *pts)
{
    const cJSON *p;
    cJSON_ArrayForEach(p, arr(d, pts))
    {
        if (d->bad) {
            return;
        }
        const cJSON *jb = arr(d, get(p, "explicitBounds", "explicit_bounds"));
        const cJSON *jc = arr(d, get(p, "bucketCounts", "bucket_counts"));
        int nb = jb ? cJSON_GetArraySize(jb) : 0, nc = jc ? cJSON_GetArraySize(jc) : 0;
        if (nc != nb + 1) {
            reject(d, 1, "a histogram point whose bucketCounts are not explicitBounds + 1");
            continue;
        }
        struct sp_metric *m = point(d, sc, jm, SP_METRIC_HISTOGRAM, p);
        double *b = zalloc(d, (size_t)nb * sizeof(*b));
        uint64_t *c = zalloc(d, (size_t)nc * sizeof(*c));
        if (m == NULL || (nb && b == NULL) || c == NULL) {
            return;
        }
        int i = 0;
        const cJSON *e;
        cJSON_ArrayForEach(e, jb) { b[i++] = dbl(d, e); }
        i = 0;
        cJSON_ArrayForEach(e, jc) { c[i++] = u64(d, e); }
        m->count = u64(d, get(p, "count", NULL));
        m->sum = dbl(d, get(p, "sum", NULL));
        const cJSON *mn = get(p, "min", NULL), *mx = get(p, "max", NULL);
        m->min = mn ? dbl(d, mn) : NAN;
        m->max = mx ? dbl(d, mx) : NAN;
        m->bounds = b;
        m->n_bounds = (uint32_t)nb;
        m->bucket_counts = c;
        exemplars(d, m, get(p, "exemplars", NULL));
        append(d, m);
    }
}

static uint32_t count_points(const cJSON *data)
{
    const cJSON *pts = get(data, "dataPoints", "data_points");
    return cJSON_IsArray(pts) ? (uint32_t)cJSON_GetArraySize(pts) : 0;
}

static void metric(struct jd *d, const struct sp_scope *sc, const cJSON *jm)
{
    const cJSON *x;
    if ((x = get(jm, "gauge", NULL))) {
        number_points(d, sc, jm, SP_METRIC_GAUGE, get(x, "dataPoints", "data_points"));
    } else if ((x = get(jm, "sum", NULL))) {
        const cJSON *mono = get(x, "isMonotonic", "is_monotonic");
        if (!cJSON_IsTrue(mono) ||
            i64(d, get(x, "aggregationTemporality", "aggregation_temporality")) != 2) {
            reject(d, count_points(x),
                   "only cumulative monotonic sums are taken (delta or non-monotonic sum)");
            return;
        }
        number_points(d, sc, jm, SP_METRIC_COUNTER, get(x, "dataPoints", "data_points"));
    } else if ((x = get(jm, "histogram", NULL))) {
        if (i64(d, get(x, "aggregationTemporality", "aggregation_temporality")) != 2) {
            reject(d, count_points(x), "only cumulative histograms are taken (delta histogram)");
            return;
        }
        histogram_points(d, sc, jm, get(x, "dataPoints", "data_points"));
    } else if ((x = get(jm, "exponentialHistogram", "exponential_histogram"))) {
        reject(d, count_points(x), "exponential histograms are not taken");
    } else if ((x = get(jm, "summary", NULL))) {
        reject(d, count_points(x), "summaries are not taken");
    }
}

/* ---- entry ---- */

static const char *const res_key[][2] = {{"resourceSpans", "resource_spans"},
                                         {"resourceLogs", "resource_logs"},
                                         {"resourceMetrics", "resource_metrics"}};
static const char *const scope_key[][2] = {{"scopeSpans", "scope_spans"},
                                           {"scopeLogs", "scope_logs"},
                                           {"scopeMetrics", "scope_metrics"}};
static const char *const item_key[][2] = {{"spans", NULL},
                                          {"logRecords", "log_records"},
                                          {"metrics", NULL}};

int otlp_decode_json_body(int signal, const uint8_t *p, size_t n, struct sp_arena *a,
                          struct otlp_decoded *out, const char **err);
void otlp_json_free_owner(void *owner);

int otlp_decode_json_body(int signal, const uint8_t *p, size_t n, struct sp_arena *a,
                          struct otlp_decoded *out, const char **err)
{
    struct jd d = {.a = a, .out = out, .tail = &out->head};
    cJSON *root = cJSON_ParseWithLength((const char *)p, n);
    if (!cJSON_IsObject(root)) {
        cJSON_Delete(root);
        *err = "not a JSON object";
        return -EINVAL;
    }
    out->owner = root;
    const cJSON *rx;
    cJSON_ArrayForEach(rx, arr(&d, get(root, res_key[signal][0], res_key[signal][1])))
    {
        const cJSON *sx;
        cJSON_ArrayForEach(sx, arr(&d, get(rx, scope_key[signal][0], scope_key[signal][1])))
        {
            const struct sp_scope *sc = scope_of(&d, rx, sx);
            const cJSON *it;
            cJSON_ArrayForEach(it, arr(&d, get(sx, item_key[signal][0], item_key[signal][1])))
            {
                if (d.bad || sc == NULL) {
                    break;
                }
                if (signal == SP_SIG_TRACES) {
                    span(&d, sc, it);
                } else if (signal == SP_SIG_LOGS) {
                    log_record(&d, sc, it);
                } else {
                    metric(&d, sc, it);
                }
            }
        }
    }
    if (d.bad) {
        *err = d.err;
        cJSON_Delete(root);
        out->owner = NULL;
        out->head = NULL;
        return -EINVAL;
    }
    return 0;
}

void otlp_json_free_owner(void *owner)
{
    cJSON_Delete(owner);
}
