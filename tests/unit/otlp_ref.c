/*
 * otlp_ref.c - the reference OTLP protobuf encoder for the tests: builds the
 * protobuf-c message tree of a request and packs it. This was spindle's
 * encoder until the direct writer (otlp/otlp_encode.c)
 * replaced it; test_otlp_encode checks the two agree byte for byte.
 */
#include "otlp_ref.h"


#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include "otlp_group.h"
#include "logs_service.pb-c.h"
#include "metrics_service.pb-c.h"
#include "trace_service.pb-c.h"

typedef Opentelemetry__Proto__Common__V1__AnyValue pb_any;
typedef Opentelemetry__Proto__Common__V1__ArrayValue pb_array;
typedef Opentelemetry__Proto__Common__V1__KeyValueList pb_kvlist;
typedef Opentelemetry__Proto__Common__V1__KeyValue pb_kv;
typedef Opentelemetry__Proto__Common__V1__InstrumentationScope pb_scope;
typedef Opentelemetry__Proto__Resource__V1__Resource pb_resource;

typedef Opentelemetry__Proto__Trace__V1__ResourceSpans pb_rspans;
typedef Opentelemetry__Proto__Trace__V1__ScopeSpans pb_sspans;
typedef Opentelemetry__Proto__Trace__V1__Span pb_span;
typedef Opentelemetry__Proto__Trace__V1__Span__Event pb_event;
typedef Opentelemetry__Proto__Trace__V1__Span__Link pb_link;
typedef Opentelemetry__Proto__Trace__V1__Status pb_status;

typedef Opentelemetry__Proto__Logs__V1__ResourceLogs pb_rlogs;
typedef Opentelemetry__Proto__Logs__V1__ScopeLogs pb_slogs;
typedef Opentelemetry__Proto__Logs__V1__LogRecord pb_logrec;

typedef Opentelemetry__Proto__Metrics__V1__ResourceMetrics pb_rmetrics;
typedef Opentelemetry__Proto__Metrics__V1__ScopeMetrics pb_smetrics;
typedef Opentelemetry__Proto__Metrics__V1__Metric pb_metric;
typedef Opentelemetry__Proto__Metrics__V1__Sum pb_sum;
typedef Opentelemetry__Proto__Metrics__V1__Gauge pb_gauge;
typedef Opentelemetry__Proto__Metrics__V1__Histogram pb_hist;
typedef Opentelemetry__Proto__Metrics__V1__NumberDataPoint pb_ndp;
typedef Opentelemetry__Proto__Metrics__V1__HistogramDataPoint pb_hdp;
typedef Opentelemetry__Proto__Metrics__V1__Exemplar pb_exemplar;

typedef Opentelemetry__Proto__Collector__Trace__V1__ExportTraceServiceRequest pb_trace_req;
typedef Opentelemetry__Proto__Collector__Logs__V1__ExportLogsServiceRequest pb_logs_req;
typedef Opentelemetry__Proto__Collector__Metrics__V1__ExportMetricsServiceRequest pb_metrics_req;

/* Nesting limit for array and kvlist values. Both building and packing the
 * tree recurse, so a deeper value (only a pathological log body) is cut off
 * and sent as an empty value rather than risking the stack. */
#define MAX_VALUE_DEPTH 64

#define ARENA_CHUNK (64 * 1024)

#define TEMPORALITY_CUMULATIVE                                                                     \
    OPENTELEMETRY__PROTO__METRICS__V1__AGGREGATION_TEMPORALITY__AGGREGATION_TEMPORALITY_CUMULATIVE

/*
 * protobuf-c skips a string member of a oneof whose pointer equals the field's
 * default (protobuf_c_empty_string), which would turn an empty string value
 * into an empty AnyValue. Our own empty string has a different address.
 */
static const char k_empty[1] = "";

struct enc {
    struct sp_arena arena;
    const struct sp_resource_info *res;
    pb_scope *scope; /* shared by every ScopeX of the request */
};


static void *alloc_n(struct enc *e, size_t n, size_t size)
{
    if (size != 0 && n > SIZE_MAX / size) {
        return NULL;
    }
    return sp_arena_alloc(&e->arena, n * size);
}

static char *str(struct enc *e, struct sp_str s)
{
    if (s.len == 0) {
        return (char *)k_empty;
    }
    return sp_arena_strndup(&e->arena, s.p, s.len);
}

static ProtobufCBinaryData bytes(const uint8_t *p, size_t n)
{
    /* protobuf-c only reads through the pointer; the cast drops const. */
    ProtobufCBinaryData d = {.len = n, .data = (uint8_t *)p};
    return d;
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

/* ---- values and attributes ---- */

static int kv_list(struct enc *e, const struct sp_attr *v, uint32_t n, pb_kv ***out, size_t *n_out,
                   int depth);

static int any_value(struct enc *e, const struct sp_value *v, pb_any *out, int depth)
{
    *out = (pb_any)OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__INIT;
    switch (v->type) {
    case SP_VAL_STR:
        out->string_value = str(e, v->u.s);
        if (out->string_value == NULL) {
            return -ENOMEM;
        }
        out->value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_STRING_VALUE;
        return 0;
    case SP_VAL_INT:
        out->int_value = v->u.i;
        out->value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_INT_VALUE;
        return 0;
    case SP_VAL_DOUBLE:
        out->double_value = v->u.d;
        out->value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_DOUBLE_VALUE;
        return 0;
    case SP_VAL_BOOL:
        out->bool_value = v->u.b != 0;
        out->value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_BOOL_VALUE;
        return 0;
    case SP_VAL_ARRAY: {
        if (depth >= MAX_VALUE_DEPTH) {
            return 0;
        }
        pb_array *av = alloc_n(e, 1, sizeof(*av));
        if (av == NULL) {
            return -ENOMEM;
        }
        *av = (pb_array)OPENTELEMETRY__PROTO__COMMON__V1__ARRAY_VALUE__INIT;
        uint32_t n = v->u.arr.n;
        if (n > 0) {
            pb_any *vals = alloc_n(e, n, sizeof(*vals));
            pb_any **ptrs = alloc_n(e, n, sizeof(*ptrs));
            if (vals == NULL || ptrs == NULL) {
                return -ENOMEM;
            }
            for (uint32_t i = 0; i < n; i++) {
                int rc = any_value(e, &v->u.arr.v[i], &vals[i], depth + 1);
                if (rc < 0) {
                    return rc;
                }
                ptrs[i] = &vals[i];
            }
            av->values = ptrs;
            av->n_values = n;
        }
        out->array_value = av;
        out->value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_ARRAY_VALUE;
        return 0;
    }
    case SP_VAL_KVLIST: {
        if (depth >= MAX_VALUE_DEPTH) {
            return 0;
        }
        pb_kvlist *kl = alloc_n(e, 1, sizeof(*kl));
        if (kl == NULL) {
            return -ENOMEM;
        }
        *kl = (pb_kvlist)OPENTELEMETRY__PROTO__COMMON__V1__KEY_VALUE_LIST__INIT;
        int rc = kv_list(e, v->u.kv.v, v->u.kv.n, &kl->values, &kl->n_values, depth + 1);
        if (rc < 0) {
            return rc;
        }
        out->kvlist_value = kl;
        out->value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_KVLIST_VALUE;
        return 0;
    }
    default:
        /* SP_VAL_EMPTY (and anything unknown): an AnyValue with nothing set. */
        return 0;
    }
}

static int kv_list(struct enc *e, const struct sp_attr *v, uint32_t n, pb_kv ***out, size_t *n_out,
                   int depth)
{
    *out = NULL;
    *n_out = 0;
    if (n == 0) {
        return 0;
    }
    pb_kv *kvs = alloc_n(e, n, sizeof(*kvs));
    pb_any *vals = alloc_n(e, n, sizeof(*vals));
    pb_kv **ptrs = alloc_n(e, n, sizeof(*ptrs));
    if (kvs == NULL || vals == NULL || ptrs == NULL) {
        return -ENOMEM;
    }
    for (uint32_t i = 0; i < n; i++) {
        kvs[i] = (pb_kv)OPENTELEMETRY__PROTO__COMMON__V1__KEY_VALUE__INIT;
        kvs[i].key = str(e, v[i].key);
        if (kvs[i].key == NULL) {
            return -ENOMEM;
        }
        int rc = any_value(e, &v[i].val, &vals[i], depth);
        if (rc < 0) {
            return rc;
        }
        kvs[i].value = &vals[i];
        ptrs[i] = &kvs[i];
    }
    *out = ptrs;
    *n_out = n;
    return 0;
}

static int attrs(struct enc *e, const struct sp_attrs *a, pb_kv ***out, size_t *n_out)
{
    return kv_list(e, a->v, a->n, out, n_out, 0);
}

/* ---- resource and scope ---- */

static int make_resource(struct enc *e, struct sp_str fn, struct sp_str svc, pb_resource **out)
{
    const struct sp_resource_info *res = e->res;
    struct sp_attr *ra = alloc_n(e, 4 + (size_t)res->extra.n, sizeof(*ra));
    pb_resource *r = alloc_n(e, 1, sizeof(*r));
    if (ra == NULL || r == NULL) {
        return -ENOMEM;
    }
    *r = (pb_resource)OPENTELEMETRY__PROTO__RESOURCE__V1__RESOURCE__INIT;
    uint32_t n = sp_resource_attrs(res, fn, svc, ra);
    int rc = kv_list(e, ra, n, &r->attributes, &r->n_attributes, 0);
    if (rc < 0) {
        return rc;
    }
    r->dropped_attributes_count = res->extra.dropped;
    *out = r;
    return 0;
}

static int make_scope(struct enc *e)
{
    pb_scope *s = alloc_n(e, 1, sizeof(*s));
    if (s == NULL) {
        return -ENOMEM;
    }
    *s = (pb_scope)OPENTELEMETRY__PROTO__COMMON__V1__INSTRUMENTATION_SCOPE__INIT;
    s->name = str(e, e->res->scope_name);
    s->version = str(e, e->res->scope_version);
    if (s->name == NULL || s->version == NULL) {
        return -ENOMEM;
    }
    e->scope = s;
    return 0;
}

/* ---- packing ---- */

static int pack(const ProtobufCMessage *m, struct sp_buf *out)
{
    size_t size = protobuf_c_message_get_packed_size(m);
    if (size == 0) {
        return 0;
    }
    int rc = sp_buf_reserve(out, size);
    if (rc < 0) {
        return rc;
    }
    protobuf_c_message_pack(m, (uint8_t *)out->p + out->len);
    out->len += size;
    return 0;
}

/* ---- traces ---- */

static int make_span(struct enc *e, const struct sp_span *s, pb_span *ps)
{
    *ps = (pb_span)OPENTELEMETRY__PROTO__TRACE__V1__SPAN__INIT;
    ps->trace_id = bytes(s->trace_id, sizeof(s->trace_id));
    ps->span_id = bytes(s->span_id, sizeof(s->span_id));
    if (s->has_parent) {
        ps->parent_span_id = bytes(s->parent_span_id, sizeof(s->parent_span_id));
    }
    ps->name = str(e, s->name);
    if (ps->name == NULL) {
        return -ENOMEM;
    }
    ps->kind = (Opentelemetry__Proto__Trace__V1__Span__SpanKind)s->kind;
    ps->start_time_unix_nano = s->start_ns;
    ps->end_time_unix_nano = s->end_ns;
    int rc = attrs(e, &s->attrs, &ps->attributes, &ps->n_attributes);
    if (rc < 0) {
        return rc;
    }
    ps->dropped_attributes_count = s->attrs.dropped;

    if (s->n_events > 0) {
        pb_event *ev = alloc_n(e, s->n_events, sizeof(*ev));
        pb_event **evp = alloc_n(e, s->n_events, sizeof(*evp));
        if (ev == NULL || evp == NULL) {
            return -ENOMEM;
        }
        for (uint32_t i = 0; i < s->n_events; i++) {
            const struct sp_span_event *se = &s->events[i];
            ev[i] = (pb_event)OPENTELEMETRY__PROTO__TRACE__V1__SPAN__EVENT__INIT;
            ev[i].time_unix_nano = se->ts_ns;
            ev[i].name = str(e, se->name);
            if (ev[i].name == NULL) {
                return -ENOMEM;
            }
            rc = attrs(e, &se->attrs, &ev[i].attributes, &ev[i].n_attributes);
            if (rc < 0) {
                return rc;
            }
            ev[i].dropped_attributes_count = se->attrs.dropped;
            evp[i] = &ev[i];
        }
        ps->events = evp;
        ps->n_events = s->n_events;
    }
    ps->dropped_events_count = s->dropped_events;

    if (s->n_links > 0) {
        pb_link *lk = alloc_n(e, s->n_links, sizeof(*lk));
        pb_link **lkp = alloc_n(e, s->n_links, sizeof(*lkp));
        if (lk == NULL || lkp == NULL) {
            return -ENOMEM;
        }
        for (uint32_t i = 0; i < s->n_links; i++) {
            const struct sp_span_link *sl = &s->links[i];
            lk[i] = (pb_link)OPENTELEMETRY__PROTO__TRACE__V1__SPAN__LINK__INIT;
            lk[i].trace_id = bytes(sl->trace_id, sizeof(sl->trace_id));
            lk[i].span_id = bytes(sl->span_id, sizeof(sl->span_id));
            rc = attrs(e, &sl->attrs, &lk[i].attributes, &lk[i].n_attributes);
            if (rc < 0) {
                return rc;
            }
            lk[i].dropped_attributes_count = sl->attrs.dropped;
            lkp[i] = &lk[i];
        }
        ps->links = lkp;
        ps->n_links = s->n_links;
    }

    pb_status *st = alloc_n(e, 1, sizeof(*st));
    if (st == NULL) {
        return -ENOMEM;
    }
    *st = (pb_status)OPENTELEMETRY__PROTO__TRACE__V1__STATUS__INIT;
    st->code = (Opentelemetry__Proto__Trace__V1__Status__StatusCode)s->status;
    st->message = str(e, s->status_message);
    if (st->message == NULL) {
        return -ENOMEM;
    }
    ps->status = st;
    return 0;
}

static int encode_traces(struct enc *e, const struct otlp_grouped *g, struct sp_buf *out)
{
    pb_span *sv = alloc_n(e, g->n, sizeof(*sv));
    pb_span **sp = alloc_n(e, g->n, sizeof(*sp));
    pb_rspans *rs = alloc_n(e, g->nres, sizeof(*rs));
    pb_rspans **rsp = alloc_n(e, g->nres, sizeof(*rsp));
    pb_sspans *ss = alloc_n(e, g->nres, sizeof(*ss));
    pb_sspans **ssp = alloc_n(e, g->nres, sizeof(*ssp));
    if (sv == NULL || sp == NULL || rs == NULL || rsp == NULL || ss == NULL || ssp == NULL) {
        return -ENOMEM;
    }
    /* Spans in resource order, so each ScopeSpans takes a slice of sp. */
    for (uint32_t i = 0; i < g->n; i++) {
        int rc = make_span(e, g->items[g->order[i]], &sv[i]);
        if (rc < 0) {
            return rc;
        }
        sp[i] = &sv[i];
    }
    for (uint32_t r = 0; r < g->nres; r++) {
        const struct sp_span *s0 = g->items[g->order[g->start[r]]];
        rs[r] = (pb_rspans)OPENTELEMETRY__PROTO__TRACE__V1__RESOURCE_SPANS__INIT;
        int rc = make_resource(e, s0->function, s0->service, &rs[r].resource);
        if (rc < 0) {
            return rc;
        }
        ss[r] = (pb_sspans)OPENTELEMETRY__PROTO__TRACE__V1__SCOPE_SPANS__INIT;
        ss[r].scope = e->scope;
        ss[r].spans = &sp[g->start[r]];
        ss[r].n_spans = g->start[r + 1] - g->start[r];
        ssp[r] = &ss[r];
        rs[r].scope_spans = &ssp[r];
        rs[r].n_scope_spans = 1;
        rsp[r] = &rs[r];
    }
    pb_trace_req req =
        OPENTELEMETRY__PROTO__COLLECTOR__TRACE__V1__EXPORT_TRACE_SERVICE_REQUEST__INIT;
    req.resource_spans = rsp;
    req.n_resource_spans = g->nres;
    return pack(&req.base, out);
}

/* ---- logs ---- */

static int make_logrec(struct enc *e, const struct sp_logrec *l, pb_logrec *pl)
{
    *pl = (pb_logrec)OPENTELEMETRY__PROTO__LOGS__V1__LOG_RECORD__INIT;
    pl->time_unix_nano = l->ts_ns; /* 0 means unknown and is not sent */
    pl->observed_time_unix_nano = l->observed_ns;
    pl->severity_number = (Opentelemetry__Proto__Logs__V1__SeverityNumber)l->severity_number;
    pl->severity_text = str(e, l->severity_text);
    if (pl->severity_text == NULL) {
        return -ENOMEM;
    }
    /* No body at all says the same as an empty one, in fewer bytes. */
    if (l->body.type != SP_VAL_EMPTY) {
        pb_any *body = alloc_n(e, 1, sizeof(*body));
        if (body == NULL) {
            return -ENOMEM;
        }
        int rc = any_value(e, &l->body, body, 0);
        if (rc < 0) {
            return rc;
        }
        pl->body = body;
    }
    int rc = attrs(e, &l->attrs, &pl->attributes, &pl->n_attributes);
    if (rc < 0) {
        return rc;
    }
    pl->dropped_attributes_count = l->attrs.dropped;
    if (l->has_trace) {
        pl->trace_id = bytes(l->trace_id, sizeof(l->trace_id));
        pl->span_id = bytes(l->span_id, sizeof(l->span_id));
    }
    pl->event_name = str(e, l->event_name);
    if (pl->event_name == NULL) {
        return -ENOMEM;
    }
    return 0;
}

static int encode_logs(struct enc *e, const struct otlp_grouped *g, struct sp_buf *out)
{
    pb_logrec *lv = alloc_n(e, g->n, sizeof(*lv));
    pb_logrec **lp = alloc_n(e, g->n, sizeof(*lp));
    pb_rlogs *rl = alloc_n(e, g->nres, sizeof(*rl));
    pb_rlogs **rlp = alloc_n(e, g->nres, sizeof(*rlp));
    pb_slogs *sl = alloc_n(e, g->nres, sizeof(*sl));
    pb_slogs **slp = alloc_n(e, g->nres, sizeof(*slp));
    if (lv == NULL || lp == NULL || rl == NULL || rlp == NULL || sl == NULL || slp == NULL) {
        return -ENOMEM;
    }
    for (uint32_t i = 0; i < g->n; i++) {
        int rc = make_logrec(e, g->items[g->order[i]], &lv[i]);
        if (rc < 0) {
            return rc;
        }
        lp[i] = &lv[i];
    }
    for (uint32_t r = 0; r < g->nres; r++) {
        const struct sp_logrec *l0 = g->items[g->order[g->start[r]]];
        rl[r] = (pb_rlogs)OPENTELEMETRY__PROTO__LOGS__V1__RESOURCE_LOGS__INIT;
        int rc = make_resource(e, l0->function, (struct sp_str){NULL, 0}, &rl[r].resource);
        if (rc < 0) {
            return rc;
        }
        sl[r] = (pb_slogs)OPENTELEMETRY__PROTO__LOGS__V1__SCOPE_LOGS__INIT;
        sl[r].scope = e->scope;
        sl[r].log_records = &lp[g->start[r]];
        sl[r].n_log_records = g->start[r + 1] - g->start[r];
        slp[r] = &sl[r];
        rl[r].scope_logs = &slp[r];
        rl[r].n_scope_logs = 1;
        rlp[r] = &rl[r];
    }
    pb_logs_req req = OPENTELEMETRY__PROTO__COLLECTOR__LOGS__V1__EXPORT_LOGS_SERVICE_REQUEST__INIT;
    req.resource_logs = rlp;
    req.n_resource_logs = g->nres;
    return pack(&req.base, out);
}

/* ---- metrics ---- */

static int exemplars(struct enc *e, const struct sp_metric *m, pb_exemplar ***out, size_t *n_out)
{
    *out = NULL;
    *n_out = 0;
    if (m->n_exemplars == 0) {
        return 0;
    }
    pb_exemplar *ex = alloc_n(e, m->n_exemplars, sizeof(*ex));
    pb_exemplar **exp = alloc_n(e, m->n_exemplars, sizeof(*exp));
    if (ex == NULL || exp == NULL) {
        return -ENOMEM;
    }
    for (uint32_t i = 0; i < m->n_exemplars; i++) {
        const struct sp_exemplar *se = &m->exemplars[i];
        ex[i] = (pb_exemplar)OPENTELEMETRY__PROTO__METRICS__V1__EXEMPLAR__INIT;
        ex[i].time_unix_nano = se->ts_ns;
        ex[i].as_double = se->value;
        ex[i].value_case = OPENTELEMETRY__PROTO__METRICS__V1__EXEMPLAR__VALUE_AS_DOUBLE;
        /* An exemplar recorded outside a span has zero ids; all-zero ids are
         * invalid in OTLP, so they are left out rather than sent. */
        if (!all_zero(se->trace_id, sizeof(se->trace_id))) {
            ex[i].trace_id = bytes(se->trace_id, sizeof(se->trace_id));
        }
        if (!all_zero(se->span_id, sizeof(se->span_id))) {
            ex[i].span_id = bytes(se->span_id, sizeof(se->span_id));
        }
        int rc = attrs(e, &se->filtered, &ex[i].filtered_attributes, &ex[i].n_filtered_attributes);
        if (rc < 0) {
            return rc;
        }
        exp[i] = &ex[i];
    }
    *out = exp;
    *n_out = m->n_exemplars;
    return 0;
}

static int make_ndp(struct enc *e, const struct sp_metric *m, pb_ndp *p)
{
    *p = (pb_ndp)OPENTELEMETRY__PROTO__METRICS__V1__NUMBER_DATA_POINT__INIT;
    p->start_time_unix_nano = m->start_ns;
    p->time_unix_nano = m->time_ns;
    p->as_double = m->value;
    p->value_case = OPENTELEMETRY__PROTO__METRICS__V1__NUMBER_DATA_POINT__VALUE_AS_DOUBLE;
    int rc = attrs(e, &m->attrs, &p->attributes, &p->n_attributes);
    if (rc < 0) {
        return rc;
    }
    return exemplars(e, m, &p->exemplars, &p->n_exemplars);
}

static int make_hdp(struct enc *e, const struct sp_metric *m, pb_hdp *p)
{
    *p = (pb_hdp)OPENTELEMETRY__PROTO__METRICS__V1__HISTOGRAM_DATA_POINT__INIT;
    p->start_time_unix_nano = m->start_ns;
    p->time_unix_nano = m->time_ns;
    p->count = m->count;
    p->sum = m->sum;
    p->sum__case = OPENTELEMETRY__PROTO__METRICS__V1__HISTOGRAM_DATA_POINT__SUM__SUM;
    /* Bounds without counts cannot be sent (the counts must number one more),
     * so a point lacking counts goes out with neither. */
    if (m->bucket_counts != NULL) {
        p->bucket_counts = (uint64_t *)m->bucket_counts;
        p->n_bucket_counts = (size_t)m->n_bounds + 1;
        p->explicit_bounds = (double *)m->bounds;
        p->n_explicit_bounds = m->bounds != NULL ? m->n_bounds : 0;
    }
    if (m->count > 0) {
        p->min = m->min;
        p->min__case = OPENTELEMETRY__PROTO__METRICS__V1__HISTOGRAM_DATA_POINT__MIN__MIN;
        p->max = m->max;
        p->max__case = OPENTELEMETRY__PROTO__METRICS__V1__HISTOGRAM_DATA_POINT__MAX__MAX;
    }
    int rc = attrs(e, &m->attrs, &p->attributes, &p->n_attributes);
    if (rc < 0) {
        return rc;
    }
    return exemplars(e, m, &p->exemplars, &p->n_exemplars);
}

/* Fills pm from the points items[idx[0..n-1]], which share name, unit and kind. */
static int make_metric(struct enc *e, void **items, const uint32_t *idx, uint32_t n, pb_metric *pm)
{
    const struct sp_metric *m0 = items[idx[0]];
    *pm = (pb_metric)OPENTELEMETRY__PROTO__METRICS__V1__METRIC__INIT;
    pm->name = str(e, m0->name);
    pm->unit = str(e, m0->unit);
    pm->description = str(e, m0->description);
    if (pm->name == NULL || pm->unit == NULL || pm->description == NULL) {
        return -ENOMEM;
    }

    if (m0->kind == SP_METRIC_HISTOGRAM) {
        pb_hist *h = alloc_n(e, 1, sizeof(*h));
        pb_hdp *dp = alloc_n(e, n, sizeof(*dp));
        pb_hdp **dpp = alloc_n(e, n, sizeof(*dpp));
        if (h == NULL || dp == NULL || dpp == NULL) {
            return -ENOMEM;
        }
        for (uint32_t i = 0; i < n; i++) {
            int rc = make_hdp(e, items[idx[i]], &dp[i]);
            if (rc < 0) {
                return rc;
            }
            dpp[i] = &dp[i];
        }
        *h = (pb_hist)OPENTELEMETRY__PROTO__METRICS__V1__HISTOGRAM__INIT;
        h->data_points = dpp;
        h->n_data_points = n;
        h->aggregation_temporality = TEMPORALITY_CUMULATIVE;
        pm->histogram = h;
        pm->data_case = OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_HISTOGRAM;
        return 0;
    }

    pb_ndp *dp = alloc_n(e, n, sizeof(*dp));
    pb_ndp **dpp = alloc_n(e, n, sizeof(*dpp));
    if (dp == NULL || dpp == NULL) {
        return -ENOMEM;
    }
    for (uint32_t i = 0; i < n; i++) {
        int rc = make_ndp(e, items[idx[i]], &dp[i]);
        if (rc < 0) {
            return rc;
        }
        dpp[i] = &dp[i];
    }
    if (m0->kind == SP_METRIC_COUNTER) {
        pb_sum *s = alloc_n(e, 1, sizeof(*s));
        if (s == NULL) {
            return -ENOMEM;
        }
        *s = (pb_sum)OPENTELEMETRY__PROTO__METRICS__V1__SUM__INIT;
        s->data_points = dpp;
        s->n_data_points = n;
        s->aggregation_temporality = TEMPORALITY_CUMULATIVE;
        s->is_monotonic = 1;
        pm->sum = s;
        pm->data_case = OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_SUM;
    } else {
        pb_gauge *ga = alloc_n(e, 1, sizeof(*ga));
        if (ga == NULL) {
            return -ENOMEM;
        }
        *ga = (pb_gauge)OPENTELEMETRY__PROTO__METRICS__V1__GAUGE__INIT;
        ga->data_points = dpp;
        ga->n_data_points = n;
        pm->gauge = ga;
        pm->data_case = OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_GAUGE;
    }
    return 0;
}

static int encode_metrics(struct enc *e, const struct otlp_grouped *g, struct sp_buf *out)
{
    struct otlp_metric_groups mgs;
    int rc = otlp_group_metrics(&e->arena, g, &mgs);
    if (rc < 0) {
        return rc;
    }
    uint32_t nmet = mgs.nmet;
    uint32_t *porder = mgs.porder, *pstart = mgs.pstart, *morder = mgs.morder,
             *mstart = mgs.mstart;
    pb_metric *mv = alloc_n(e, nmet, sizeof(*mv));
    pb_metric **mp = alloc_n(e, nmet, sizeof(*mp));
    pb_rmetrics *rm = alloc_n(e, g->nres, sizeof(*rm));
    pb_rmetrics **rmp = alloc_n(e, g->nres, sizeof(*rmp));
    pb_smetrics *sm = alloc_n(e, mgs.nscope, sizeof(*sm));
    pb_smetrics **smp = alloc_n(e, mgs.nscope, sizeof(*smp));
    if (mv == NULL || mp == NULL || rm == NULL || rmp == NULL || sm == NULL || smp == NULL) {
        return -ENOMEM;
    }
    for (uint32_t j = 0; j < nmet; j++) {
        uint32_t k = morder[j];
        rc = make_metric(e, g->items, &porder[pstart[k]], pstart[k + 1] - pstart[k], &mv[j]);
        if (rc < 0) {
            return rc;
        }
        mp[j] = &mv[j];
    }
    /* ScopeMetrics in resource order (sorder), each with its Metrics. */
    for (uint32_t j = 0; j < mgs.nscope; j++) {
        uint32_t s = mgs.sorder[j];
        const struct sp_metric *s0 = g->items[mgs.sfirst[s]];
        sm[j] = (pb_smetrics)OPENTELEMETRY__PROTO__METRICS__V1__SCOPE_METRICS__INIT;
        sm[j].scope = e->scope;
        if (s0->scope_name.len) {
            pb_scope *named = alloc_n(e, 1, sizeof(*named));
            if (named == NULL) {
                return -ENOMEM;
            }
            *named = (pb_scope)OPENTELEMETRY__PROTO__COMMON__V1__INSTRUMENTATION_SCOPE__INIT;
            named->name = str(e, s0->scope_name);
            if (named->name == NULL) {
                return -ENOMEM;
            }
            sm[j].scope = named;
        }
        sm[j].metrics = &mp[mstart[s]];
        sm[j].n_metrics = mstart[s + 1] - mstart[s];
        smp[j] = &sm[j];
    }
    for (uint32_t r = 0; r < g->nres; r++) {
        const struct sp_metric *m0 = g->items[g->order[g->start[r]]];
        rm[r] = (pb_rmetrics)OPENTELEMETRY__PROTO__METRICS__V1__RESOURCE_METRICS__INIT;
        rc = make_resource(e, m0->function, (struct sp_str){NULL, 0}, &rm[r].resource);
        if (rc < 0) {
            return rc;
        }
        rm[r].scope_metrics = &smp[mgs.sstart[r]];
        rm[r].n_scope_metrics = mgs.sstart[r + 1] - mgs.sstart[r];
        rmp[r] = &rm[r];
    }
    pb_metrics_req req =
        OPENTELEMETRY__PROTO__COLLECTOR__METRICS__V1__EXPORT_METRICS_SERVICE_REQUEST__INIT;
    req.resource_metrics = rmp;
    req.n_resource_metrics = g->nres;
    return pack(&req.base, out);
}

int otlp_ref_encode_pb(const struct sp_batch *b, const struct sp_resource_info *res,
                       struct sp_buf *out)
{
    if (b->signal >= SP_SIG_COUNT) {
        return -EINVAL;
    }
    struct enc e = {.res = res};
    sp_arena_init(&e.arena, ARENA_CHUNK);
    struct otlp_grouped g;
    int rc = make_scope(&e);
    if (rc == 0) {
        rc = otlp_group_by_function(&e.arena, b, &g);
    }
    if (rc == 0) {
        switch (b->signal) {
        case SP_SIG_TRACES:
            rc = encode_traces(&e, &g, out);
            break;
        case SP_SIG_LOGS:
            rc = encode_logs(&e, &g, out);
            break;
        default:
            rc = encode_metrics(&e, &g, out);
            break;
        }
    }
    sp_arena_free(&e.arena);
    return rc;
}
