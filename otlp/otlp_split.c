/*
 * otlp_split.c - halves an encoded OTLP protobuf export request, for a
 * backend that answered 413 (payload too large). The request is unpacked with
 * the generated code, split at the outermost level that has two or more
 * elements (resources, then scopes, then spans / log records / metrics, then
 * one metric's data points), and each half is packed again. The halves are
 * shallow copies of the unpacked tree, so nothing but the two outputs is
 * allocated besides the unpacked request itself.
 */
#include <errno.h>
#include <string.h>

#include "logs_service.pb-c.h"
#include "metrics_service.pb-c.h"
#include "otlp_encode.h"
#include "trace_service.pb-c.h"

static int pack_into(const ProtobufCMessage *m, struct sp_buf *out)
{
    size_t n = protobuf_c_message_get_packed_size(m);
    int rc = sp_buf_reserve(out, n);
    if (rc) {
        return rc;
    }
    out->len += protobuf_c_message_pack(m, (uint8_t *)out->p + out->len);
    return 0;
}

/* Splits array `arr` of `n` pointers: the first half goes to (a1, n1), the
 * second to (a2, n2). Both inputs are read before any output is written: the
 * callers pass the same lvalues as input and as first output. */
#define HALVE(arr, n, a1, n1, a2, n2)                                                           \
    do {                                                                                        \
        __typeof__(arr) arr_ = (arr);                                                           \
        size_t n_ = (n), h_ = n_ / 2;                                                           \
        (a1) = arr_;                                                                            \
        (n1) = h_;                                                                              \
        (a2) = arr_ + h_;                                                                       \
        (n2) = n_ - h_;                                                                         \
    } while (0)

/* Resource -> scope -> items, the same shape for traces and logs. */
#define SPLIT3(ReqT, req_unpack, req_free, res_f, n_res_f, ResT, scope_f, n_scope_f, ScopeT,      \
               items_f, n_items_f, count)                                                       \
    do {                                                                                        \
        ReqT *r = req_unpack(NULL, n, p);                                                       \
        if (r == NULL) {                                                                        \
            return -EBADMSG;                                                                    \
        }                                                                                       \
        ReqT r1 = *r, r2 = *r;                                                                  \
        ResT rs1, rs2, *rp1[1] = {&rs1}, *rp2[1] = {&rs2};                                      \
        ScopeT ss1, ss2, *sp1[1] = {&ss1}, *sp2[1] = {&ss2};                                    \
        int rc = 0;                                                                             \
        if (r->n_res_f >= 2) {                                                                  \
            HALVE(r->res_f, r->n_res_f, r1.res_f, r1.n_res_f, r2.res_f, r2.n_res_f);            \
        } else if (r->n_res_f == 1 && r->res_f[0]->n_scope_f >= 2) {                            \
            rs1 = rs2 = *r->res_f[0];                                                           \
            HALVE(rs1.scope_f, rs1.n_scope_f, rs1.scope_f, rs1.n_scope_f, rs2.scope_f,          \
                  rs2.n_scope_f);                                                               \
            r1.res_f = rp1;                                                                     \
            r2.res_f = rp2;                                                                     \
        } else if (r->n_res_f == 1 && r->res_f[0]->n_scope_f == 1 &&                            \
                   r->res_f[0]->scope_f[0]->n_items_f >= 2) {                                   \
            rs1 = rs2 = *r->res_f[0];                                                           \
            ss1 = ss2 = *rs1.scope_f[0];                                                        \
            HALVE(ss1.items_f, ss1.n_items_f, ss1.items_f, ss1.n_items_f, ss2.items_f,          \
                  ss2.n_items_f);                                                               \
            rs1.scope_f = sp1;                                                                  \
            rs2.scope_f = sp2;                                                                  \
            r1.res_f = rp1;                                                                     \
            r2.res_f = rp2;                                                                     \
        } else {                                                                                \
            rc = -EINVAL; /* a single item: nothing to halve */                                 \
        }                                                                                       \
        if (rc == 0 && (rc = pack_into(&r1.base, a)) == 0) {                                    \
            rc = pack_into(&r2.base, b);                                                        \
            *items_a = count(&r1);                                                              \
            *items_b = count(&r2);                                                              \
        }                                                                                       \
        req_free(r, NULL);                                                                      \
        return rc;                                                                              \
    } while (0)

typedef Opentelemetry__Proto__Collector__Trace__V1__ExportTraceServiceRequest trace_req;
typedef Opentelemetry__Proto__Collector__Logs__V1__ExportLogsServiceRequest logs_req;
typedef Opentelemetry__Proto__Collector__Metrics__V1__ExportMetricsServiceRequest metrics_req;
typedef Opentelemetry__Proto__Metrics__V1__ResourceMetrics res_metrics;
typedef Opentelemetry__Proto__Metrics__V1__ScopeMetrics scope_metrics;
typedef Opentelemetry__Proto__Metrics__V1__Metric metric;

/* Items in a request, for the drop counters of each half. */
static uint32_t count_traces(const trace_req *r)
{
    uint32_t n = 0;
    for (size_t i = 0; i < r->n_resource_spans; i++) {
        for (size_t j = 0; j < r->resource_spans[i]->n_scope_spans; j++) {
            n += (uint32_t)r->resource_spans[i]->scope_spans[j]->n_spans;
        }
    }
    return n;
}

static uint32_t count_logs(const logs_req *r)
{
    uint32_t n = 0;
    for (size_t i = 0; i < r->n_resource_logs; i++) {
        for (size_t j = 0; j < r->resource_logs[i]->n_scope_logs; j++) {
            n += (uint32_t)r->resource_logs[i]->scope_logs[j]->n_log_records;
        }
    }
    return n;
}

static uint32_t points_of(const metric *m)
{
    switch (m->data_case) {
    case OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_GAUGE: return (uint32_t)m->gauge->n_data_points;
    case OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_SUM: return (uint32_t)m->sum->n_data_points;
    case OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_HISTOGRAM:
        return (uint32_t)m->histogram->n_data_points;
    default: return 0;
    }
}

static uint32_t count_metrics(const metrics_req *r)
{
    uint32_t n = 0;
    for (size_t i = 0; i < r->n_resource_metrics; i++) {
        for (size_t j = 0; j < r->resource_metrics[i]->n_scope_metrics; j++) {
            const scope_metrics *sm = r->resource_metrics[i]->scope_metrics[j];
            for (size_t k = 0; k < sm->n_metrics; k++) {
                n += points_of(sm->metrics[k]);
            }
        }
    }
    return n;
}

/* One metric with several data points: two copies of it, each with half.
 * The data message differs by kind (gauge, sum, histogram), not the logic. */
#define SPLIT_POINTS(field, T)                                                                  \
    do {                                                                                        \
        T *x1 = d1, *x2 = d2;                                                                   \
        *x1 = *x2 = *m->field;                                                                  \
        if (x1->n_data_points < 2) {                                                            \
            return -EINVAL;                                                                     \
        }                                                                                       \
        HALVE(x1->data_points, x1->n_data_points, x1->data_points, x1->n_data_points,           \
              x2->data_points, x2->n_data_points);                                              \
        m1->field = x1;                                                                         \
        m2->field = x2;                                                                         \
        return 0;                                                                               \
    } while (0)

static int split_points(const metric *m, metric *m1, metric *m2, void *d1, void *d2)
{
    *m1 = *m2 = *m;
    switch (m->data_case) {
    case OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_GAUGE:
        SPLIT_POINTS(gauge, Opentelemetry__Proto__Metrics__V1__Gauge);
    case OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_SUM:
        SPLIT_POINTS(sum, Opentelemetry__Proto__Metrics__V1__Sum);
    case OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_HISTOGRAM:
        SPLIT_POINTS(histogram, Opentelemetry__Proto__Metrics__V1__Histogram);
    default:
        return -EINVAL;
    }
}

static int split_metrics(const void *p, size_t n, struct sp_buf *a, struct sp_buf *b,
                         uint32_t *items_a, uint32_t *items_b)
{
    metrics_req *r =
        opentelemetry__proto__collector__metrics__v1__export_metrics_service_request__unpack(
            NULL, n, p);
    if (r == NULL) {
        return -EBADMSG;
    }
    metrics_req r1 = *r, r2 = *r;
    res_metrics rs1, rs2, *rp1[1] = {&rs1}, *rp2[1] = {&rs2};
    scope_metrics ss1, ss2, *sp1[1] = {&ss1}, *sp2[1] = {&ss2};
    metric m1, m2, *mp1[1] = {&m1}, *mp2[1] = {&m2};
    union {
        Opentelemetry__Proto__Metrics__V1__Gauge g;
        Opentelemetry__Proto__Metrics__V1__Sum s;
        Opentelemetry__Proto__Metrics__V1__Histogram h;
    } d1, d2;
    int rc = 0;
    if (r->n_resource_metrics >= 2) {
        HALVE(r->resource_metrics, r->n_resource_metrics, r1.resource_metrics,
              r1.n_resource_metrics, r2.resource_metrics, r2.n_resource_metrics);
    } else if (r->n_resource_metrics == 1 && r->resource_metrics[0]->n_scope_metrics >= 2) {
        rs1 = rs2 = *r->resource_metrics[0];
        HALVE(rs1.scope_metrics, rs1.n_scope_metrics, rs1.scope_metrics, rs1.n_scope_metrics,
              rs2.scope_metrics, rs2.n_scope_metrics);
        r1.resource_metrics = rp1;
        r2.resource_metrics = rp2;
    } else if (r->n_resource_metrics == 1 && r->resource_metrics[0]->n_scope_metrics == 1) {
        rs1 = rs2 = *r->resource_metrics[0];
        ss1 = ss2 = *rs1.scope_metrics[0];
        if (ss1.n_metrics >= 2) {
            HALVE(ss1.metrics, ss1.n_metrics, ss1.metrics, ss1.n_metrics, ss2.metrics,
                  ss2.n_metrics);
        } else if (ss1.n_metrics == 1 && split_points(ss1.metrics[0], &m1, &m2, &d1, &d2) == 0) {
            ss1.metrics = mp1;
            ss2.metrics = mp2;
        } else {
            rc = -EINVAL;
        }
        rs1.scope_metrics = sp1;
        rs2.scope_metrics = sp2;
        r1.resource_metrics = rp1;
        r2.resource_metrics = rp2;
    } else {
        rc = -EINVAL;
    }
    if (rc == 0 && (rc = pack_into(&r1.base, a)) == 0) {
        rc = pack_into(&r2.base, b);
        *items_a = count_metrics(&r1);
        *items_b = count_metrics(&r2);
    }
    opentelemetry__proto__collector__metrics__v1__export_metrics_service_request__free_unpacked(
        r, NULL);
    return rc;
}

int otlp_split_pb(int signal, const void *p, size_t n, struct sp_buf *a, struct sp_buf *b,
                  uint32_t *items_a, uint32_t *items_b)
{
    switch (signal) {
    case SP_SIG_TRACES:
        SPLIT3(trace_req,
               opentelemetry__proto__collector__trace__v1__export_trace_service_request__unpack,
               opentelemetry__proto__collector__trace__v1__export_trace_service_request__free_unpacked,
               resource_spans, n_resource_spans, Opentelemetry__Proto__Trace__V1__ResourceSpans,
               scope_spans, n_scope_spans, Opentelemetry__Proto__Trace__V1__ScopeSpans, spans,
               n_spans, count_traces);
    case SP_SIG_LOGS:
        SPLIT3(logs_req,
               opentelemetry__proto__collector__logs__v1__export_logs_service_request__unpack,
               opentelemetry__proto__collector__logs__v1__export_logs_service_request__free_unpacked,
               resource_logs, n_resource_logs, Opentelemetry__Proto__Logs__V1__ResourceLogs,
               scope_logs, n_scope_logs, Opentelemetry__Proto__Logs__V1__ScopeLogs, log_records,
               n_log_records, count_logs);
    case SP_SIG_METRICS:
        return split_metrics(p, n, a, b, items_a, items_b);
    default:
        return -EINVAL;
    }
}
