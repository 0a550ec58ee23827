/*
 * prom.c - GET /metrics: the agent's counters and gauges, the export
 * latency histograms and the derived workflow metrics, in the Prometheus
 * text format 0.0.4 or OpenMetrics 1.0.0. The names are a published
 * interface: docs/metrics.md lists every one.
 *
 * Everything is read when the scrape arrives, from the loop thread: nothing
 * is kept between scrapes and nothing is added to the data path. Samples of a
 * family are written together (both formats require it), so the derived
 * series, which the aggregator keeps in creation order, are sorted by name
 * first.
 */
#include "admin.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "agent.h"
#include "alert.h"
#include "caps.h"
#include "notify.h"

struct w {
    struct sp_buf *b;
    int om; /* OpenMetrics */
    int rc;
};

/* `name` is the sample name; a counter's family (OpenMetrics) drops "_total". */
static void family(struct w *w, const char *name, size_t name_len, const char *type,
                   const char *help)
{
    size_t fl = name_len;
    if (w->om && strcmp(type, "counter") == 0 && fl > 6 &&
        memcmp(name + fl - 6, "_total", 6) == 0) {
        fl -= 6;
    }
    w->rc |= sp_buf_printf(w->b, "# HELP %.*s %s\n# TYPE %.*s %s\n", (int)fl, name, help,
                           (int)fl, name, type);
}

static void label_value(struct w *w, const char *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        char c = p[i];
        if (c == '\\' || c == '"') {
            w->rc |= sp_buf_addc(w->b, '\\');
            w->rc |= sp_buf_addc(w->b, c);
        } else if (c == '\n') {
            w->rc |= sp_buf_adds(w->b, "\\n");
        } else {
            w->rc |= sp_buf_addc(w->b, c);
        }
    }
}

/* An OTLP name or attribute key as a Prometheus name: every character but
 * [a-zA-Z0-9_:] becomes '_' (labels: ':' too), a leading digit gets a '_'. */
static void sanitized(struct w *w, const char *p, size_t n, int label)
{
    if (n && p[0] >= '0' && p[0] <= '9') {
        w->rc |= sp_buf_addc(w->b, '_');
    }
    for (size_t i = 0; i < n; i++) {
        char c = p[i];
        int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                 c == '_' || (c == ':' && !label);
        w->rc |= sp_buf_addc(w->b, ok ? c : '_');
    }
}

static void value(struct w *w, double v)
{
    if (isnan(v)) {
        w->rc |= sp_buf_adds(w->b, "NaN");
    } else if (isinf(v)) {
        w->rc |= sp_buf_adds(w->b, v > 0 ? "+Inf" : "-Inf");
    } else if (v == floor(v) && fabs(v) < 1e15) {
        w->rc |= sp_buf_printf(w->b, "%.0f", v);
    } else {
        w->rc |= sp_buf_printf(w->b, "%.17g", v);
    }
}

/* name{k="v",...} value: labels as NULL-terminated pairs. */
static void sample(struct w *w, const char *name, const char *const *labels, double v)
{
    w->rc |= sp_buf_adds(w->b, name);
    if (labels && labels[0]) {
        w->rc |= sp_buf_addc(w->b, '{');
        for (int i = 0; labels[i]; i += 2) {
            w->rc |= sp_buf_printf(w->b, "%s%s=\"", i ? "," : "", labels[i]);
            label_value(w, labels[i + 1], strlen(labels[i + 1]));
            w->rc |= sp_buf_addc(w->b, '"');
        }
        w->rc |= sp_buf_addc(w->b, '}');
    }
    w->rc |= sp_buf_addc(w->b, ' ');
    value(w, v);
    w->rc |= sp_buf_addc(w->b, '\n');
}

static void one(struct w *w, const char *name, const char *type, const char *help, double v)
{
    family(w, name, strlen(name), type, help);
    sample(w, name, NULL, v);
}

/* --- the agent's own ------------------------------------------------------ */

static void fill_cumulative(const uint64_t *per, uint32_t n_bounds, uint64_t *cum)
{
    uint64_t run = 0;
    for (uint32_t i = 0; i <= n_bounds; i++) {
        run += per[i];
        cum[i] = run;
    }
}

static void le_str(char *out, size_t n, double bound)
{
    snprintf(out, n, "%g", bound);
}

static void export_latency(struct w *w, const struct spindle *sp)
{
    static const char name[] = "spindle_export_duration_seconds";
    family(w, name, sizeof(name) - 1, "histogram",
           "Export send attempts by duration, from hand-over to the exporter to its answer.");
    static const char *const sig[SP_SIG_COUNT] = {"traces", "logs", "metrics"};
    for (int i = 0; i < sp->n_exporters; i++) {
        const struct sp_exporter *e = sp->exporters[i];
        for (int s = 0; s < SP_SIG_COUNT; s++) {
            const struct sp_queue *q = &e->q[s];
            uint64_t cum[SP_ADMIN_LATENCY_BUCKETS + 1];
            fill_cumulative(q->lat_buckets, SP_ADMIN_LATENCY_BUCKETS, cum);
            for (uint32_t b = 0; b <= SP_ADMIN_LATENCY_BUCKETS; b++) {
                char le[32];
                if (b < SP_ADMIN_LATENCY_BUCKETS) {
                    le_str(le, sizeof(le), sp_export_latency_bounds[b]);
                } else {
                    strcpy(le, "+Inf");
                }
                const char *l[] = {"exporter", e->ops->name, "signal", sig[s], "le", le, NULL};
                sample(w, "spindle_export_duration_seconds_bucket", l, (double)cum[b]);
            }
            const char *l[] = {"exporter", e->ops->name, "signal", sig[s], NULL};
            sample(w, "spindle_export_duration_seconds_sum", l, q->lat_sum_s);
            sample(w, "spindle_export_duration_seconds_count", l, (double)q->lat_count);
        }
    }
}

struct rule_count {
    const char *name;
    const char *severity;
    uint64_t firing;
};

struct alert_count {
    struct rule_count *r;
    size_t n;
};

static void count_firing(void *arg, const struct alert_view *v)
{
    struct alert_count *c = arg;
    if (!v->firing) {
        return;
    }
    for (size_t i = 0; i < c->n; i++) {
        if (strcmp(c->r[i].name, v->msg->rule->name) == 0) {
            c->r[i].firing++;
            return;
        }
    }
}

static void alerts_by_rule(struct w *w, const struct spindle *sp)
{
    struct rule_count rc[SP_ALERT_MAX_RULES];
    struct alert_count c = {rc, 0};
    for (size_t i = 0; i < sp->cfg.n_alert_rules && c.n < SP_ALERT_MAX_RULES; i++) {
        const struct alert_rule *r = &sp->cfg.alert_rules[i];
        if (r->enabled) {
            rc[c.n++] = (struct rule_count){r->name, r->severity ? r->severity : "", 0};
        }
    }
    alert_each_active(sp->alerts, count_firing, &c);
    static const char name[] = "spindle_alerts_firing";
    family(w, name, sizeof(name) - 1, "gauge", "Alerts firing now, by rule.");
    for (size_t i = 0; i < c.n; i++) {
        const char *l[] = {"alertname", rc[i].name, "severity", rc[i].severity, NULL};
        sample(w, name, l, (double)rc[i].firing);
    }
}

static void agent_metrics(struct w *w, const struct spindle *sp)
{
    const struct sp_stats *st = &sp->stats;
    {
        family(w, "spindle_build_info", 18, "gauge", "The running spindle's version (always 1).");
        const char *l[] = {"version", SP_VERSION, NULL};
        sample(w, "spindle_build_info", l, 1);
    }
    one(w, "spindle_start_time_seconds", "gauge", "When the agent started, Unix seconds.",
        (double)(sp->started_ns / 1000000000ull));
    one(w, "spindle_records_accepted_total", "counter", "Records accepted.", (double)st->accepted);
    family(w, "spindle_records_rejected_total", 30, "counter", "Records rejected, by reason.");
    for (int r = 1; r < SP_R_COUNT; r++) {
        const char *l[] = {"reason", sp_reason_name(r), NULL};
        sample(w, "spindle_records_rejected_total", l, (double)st->rejected[r]);
    }
    family(w, "spindle_records_accepted_with_total", 35, "counter",
           "Records accepted with a condition worth knowing, by condition.");
#define X(g, f, n)                                                                              \
    if (strcmp(#g, "accepted_with") == 0) {                                                     \
        const char *l[] = {"condition", n, NULL};                                               \
        sample(w, "spindle_records_accepted_with_total", l, (double)st->f);                     \
    }
    SP_STATS_FIELDS(X)
#undef X
    family(w, "spindle_records_dropped_total", 29, "counter",
           "Records (or the items made of them) not delivered, by reason.");
#define X(g, f, n)                                                                              \
    if (strcmp(#g, "dropped") == 0) {                                                           \
        const char *l[] = {"reason", n, NULL};                                                  \
        sample(w, "spindle_records_dropped_total", l, (double)st->f);                           \
    }
    SP_STATS_FIELDS(X)
#undef X
    one(w, "spindle_records_journaled_total", "counter", "Records appended to the journal.",
        (double)st->journaled);
    one(w, "spindle_records_replayed_total", "counter", "Records replayed from the journal.",
        (double)st->replayed);
    one(w, "spindle_connections_accepted_total", "counter", "Socket connections accepted.",
        (double)st->conn_accepted);
    one(w, "spindle_connections_open", "gauge", "Socket connections open.",
        (double)st->conn_open);
    one(w, "spindle_connections_closed_idle_total", "counter",
        "Socket connections closed after socket.idle_timeout.", (double)st->conn_closed_idle);
    one(w, "spindle_connections_refused_limit_total", "counter",
        "Socket connections refused at socket.max_connections.", (double)st->conn_refused_limit);
    one(w, "spindle_input_pauses_total", "counter", "Times flow control paused input.",
        (double)st->input_pauses);
    one(w, "spindle_input_paused", "gauge", "1 while flow control pauses input.",
        sp->paused ? 1 : 0);
    one(w, "spindle_workflows_opened_total", "counter", "Workflows opened.",
        (double)st->wf_opened);
    one(w, "spindle_workflows_open", "gauge", "Workflows open.", (double)st->wf_open);
    one(w, "spindle_workflows_closed_total", "counter", "Workflows closed.",
        (double)st->wf_closed);
    one(w, "spindle_workflows_evicted_total", "counter",
        "Workflows closed early (max_open_workflows or the memory budget).",
        (double)st->wf_evicted);
    family(w, "spindle_export_items_total", 26, "counter",
           "Items (spans, log records, metric points) handed to the exporters, by signal.");
    {
        const char *t[] = {"signal", "traces", NULL}, *l[] = {"signal", "logs", NULL},
                   *m[] = {"signal", "metrics", NULL};
        sample(w, "spindle_export_items_total", t, (double)st->exp_spans);
        sample(w, "spindle_export_items_total", l, (double)st->exp_logs);
        sample(w, "spindle_export_items_total", m, (double)st->exp_points);
    }
    family(w, "spindle_export_requests_total", 29, "counter", "Export requests, by outcome.");
    {
        const char *ok[] = {"outcome", "ok", NULL}, *f[] = {"outcome", "failed", NULL};
        sample(w, "spindle_export_requests_total", ok, (double)st->req_ok);
        sample(w, "spindle_export_requests_total", f, (double)st->req_failed);
    }
    one(w, "spindle_export_retries_total", "counter", "Export requests retried.",
        (double)st->retries);
    one(w, "spindle_export_splits_total", "counter", "Export requests halved after a 413.",
        (double)st->splits);
    one(w, "spindle_export_timeouts_total", "counter", "Export requests timed out.",
        (double)st->req_timed_out);
    one(w, "spindle_export_retry_after_capped_total", "counter",
        "Retry-After waits capped at export.retry_max.", (double)st->retry_after_capped);
    static const char *const sig[SP_SIG_COUNT] = {"traces", "logs", "metrics"};
    family(w, "spindle_export_delivered_total", 30, "counter",
           "Items the backends accepted, by signal.");
    for (int s = 0; s < SP_SIG_COUNT; s++) {
        const char *l[] = {"signal", sig[s], NULL};
        sample(w, "spindle_export_delivered_total", l, (double)st->delivered_by_signal[s]);
    }
    family(w, "spindle_export_queue_bytes", 26, "gauge",
           "Encoded bytes waiting, in flight or being compressed, by exporter and signal.");
    for (int i = 0; i < sp->n_exporters; i++) {
        for (int s = 0; s < SP_SIG_COUNT; s++) {
            const char *l[] = {"exporter", sp->exporters[i]->ops->name, "signal", sig[s], NULL};
            sample(w, "spindle_export_queue_bytes", l, (double)sp->exporters[i]->q[s].bytes);
        }
    }
    family(w, "spindle_export_queue_requests", 29, "gauge",
           "Requests waiting or in flight, by exporter and signal.");
    for (int i = 0; i < sp->n_exporters; i++) {
        for (int s = 0; s < SP_SIG_COUNT; s++) {
            const struct sp_queue *q = &sp->exporters[i]->q[s];
            const char *l[] = {"exporter", sp->exporters[i]->ops->name, "signal", sig[s], NULL};
            sample(w, "spindle_export_queue_requests", l,
                   (double)(q->rq.waiting + q->inflight + q->compressing));
        }
    }
    export_latency(w, sp);
    size_t queues = 0;
    for (int i = 0; i < sp->n_exporters; i++) {
        for (int s = 0; s < SP_SIG_COUNT; s++) {
            queues += sp->exporters[i]->q[s].bytes;
        }
    }
    one(w, "spindle_memory_used_bytes", "gauge", "Memory limits.max_memory covers, in use.",
        (double)sp_memory_used(sp));
    one(w, "spindle_memory_limit_bytes", "gauge", "limits.max_memory.",
        (double)sp->cfg.max_memory);
    family(w, "spindle_memory_part_bytes", 25, "gauge",
           "The parts of spindle_memory_used_bytes (they sum to it).");
    {
        const struct {
            const char *part;
            size_t v;
        } parts[] = {{"connections", sp->mem.conns}, {"batches", sp->mem.batches},
                     {"workflows", sp->mem.workflows}, {"series", sp->mem.series},
                     {"journal", sp->mem.journal},    {"queues", queues}};
        for (size_t i = 0; i < sizeof(parts) / sizeof(parts[0]); i++) {
            const char *l[] = {"part", parts[i].part, NULL};
            sample(w, "spindle_memory_part_bytes", l, (double)parts[i].v);
        }
    }
    if (sp->journal) {
        one(w, "spindle_journal_used_bytes", "gauge", "Bytes in the journal folder.",
            (double)st->journal_bytes);
        one(w, "spindle_journal_limit_bytes", "gauge", "storage.max_bytes.",
            (double)st->journal_max_bytes);
        one(w, "spindle_journal_segments", "gauge", "Journal segment files.",
            (double)st->journal_segments);
        one(w, "spindle_journal_torn_tails_total", "counter",
            "Torn segment tails cut at start-up.", (double)st->journal_truncated);
        one(w, "spindle_journal_segments_set_aside_total", "counter",
            "Corrupt segments set aside.", (double)st->journal_quarantined);
    }
    alerts_by_rule(w, sp);
    one(w, "spindle_alerts_fired_total", "counter", "Alerts that started firing.",
        (double)st->alerts_fired);
    one(w, "spindle_alerts_resolved_total", "counter", "Alerts that stopped firing.",
        (double)st->alerts_resolved);
    one(w, "spindle_alerts_series", "gauge", "Series the alert rules keep.",
        (double)st->alert_series);
    one(w, "spindle_alerts_series_evicted_total", "counter",
        "Alert series evicted at alerts.max_series.", (double)st->alert_series_evicted);
    one(w, "spindle_alerts_notifications_sent_total", "counter", "Notifications delivered.",
        (double)st->notify_sent);
    one(w, "spindle_alerts_notification_retries_total", "counter", "Notifications retried.",
        (double)st->notify_retries);
    family(w, "spindle_alerts_notifications_dropped_total", 42, "counter",
           "Notifications dropped, by reason.");
    {
        const struct {
            const char *reason;
            uint64_t v;
        } d[] = {{"queue_full", st->notify_drop_queue_full},
                 {"rejected", st->notify_drop_rejected},
                 {"retries_exhausted", st->notify_drop_retries_exhausted},
                 {"shutdown", st->notify_drop_shutdown}};
        for (size_t i = 0; i < sizeof(d) / sizeof(d[0]); i++) {
            const char *l[] = {"reason", d[i].reason, NULL};
            sample(w, "spindle_alerts_notifications_dropped_total", l, (double)d[i].v);
        }
    }
    one(w, "spindle_alerts_retry_after_capped_total", "counter",
        "Notifier Retry-After waits capped.", (double)st->notify_retry_after_capped);
}

/* --- the derived workflow metrics ---------------------------------------- */

struct derived {
    struct sp_series_view *v;
    size_t n, cap;
    int oom;
};

static void collect(void *arg, const struct sp_series_view *v)
{
    struct derived *d = arg;
    if (d->n == d->cap) {
        size_t cap = d->cap ? d->cap * 2 : 64;
        struct sp_series_view *nv = realloc(d->v, cap * sizeof(*nv));
        if (nv == NULL) {
            d->oom = 1;
            return;
        }
        d->v = nv;
        d->cap = cap;
    }
    d->v[d->n++] = *v;
}

static int view_cmp(const void *a, const void *b)
{
    const struct sp_series_view *x = a, *y = b;
    size_t n = x->name.len < y->name.len ? x->name.len : y->name.len;
    int c = memcmp(x->name.p, y->name.p, n);
    if (c) {
        return c;
    }
    if (x->name.len != y->name.len) {
        return x->name.len < y->name.len ? -1 : 1;
    }
    return (int)x->kind - (int)y->kind;
}

static const char *unit_suffix(struct sp_str u)
{
    if (u.len == 1 && u.p[0] == 's') {
        return "_seconds";
    }
    if (u.len == 2 && memcmp(u.p, "By", 2) == 0) {
        return "_bytes";
    }
    if (u.len == 2 && memcmp(u.p, "ms", 2) == 0) {
        return "_milliseconds";
    }
    return ""; /* "{invocation}", "1": annotations, no suffix */
}

/* The family name of a series into `out` (NUL-terminated). */
static void derived_name(const struct sp_series_view *v, struct sp_buf *out)
{
    struct w tw = {out, 0, 0};
    sp_buf_reset(out);
    sanitized(&tw, v->name.p, v->name.len, 0);
    sp_buf_adds(out, unit_suffix(v->unit));
    if (v->kind == SP_METRIC_COUNTER) {
        sp_buf_adds(out, "_total");
    }
    sp_buf_addc(out, 0);
}

static void attr_value_str(const struct sp_value *v, char *out, size_t n, const char **p,
                           size_t *len)
{
    switch (v->type) {
    case SP_VAL_STR: *p = v->u.s.p; *len = v->u.s.len; return;
    case SP_VAL_INT: snprintf(out, n, "%" PRId64, v->u.i); break;
    case SP_VAL_DOUBLE: snprintf(out, n, "%g", v->u.d); break;
    case SP_VAL_BOOL: snprintf(out, n, "%s", v->u.b ? "true" : "false"); break;
    default: out[0] = 0; break;
    }
    *p = out;
    *len = strlen(out);
}

/* name{faas_name="..",attr="..",extra="x"} */
static void series_labels(struct w *w, const struct sp_series_view *v, const char *extra_k,
                          const char *extra_v)
{
    w->rc |= sp_buf_adds(w->b, "{faas_name=\"");
    label_value(w, v->function.p, v->function.len);
    w->rc |= sp_buf_addc(w->b, '"');
    for (uint32_t i = 0; i < v->attrs->n; i++) {
        const struct sp_attr *a = &v->attrs->v[i];
        char tmp[64];
        const char *p;
        size_t len;
        attr_value_str(&a->val, tmp, sizeof(tmp), &p, &len);
        w->rc |= sp_buf_addc(w->b, ',');
        sanitized(w, a->key.p, a->key.len, 1);
        w->rc |= sp_buf_adds(w->b, "=\"");
        label_value(w, p, len);
        w->rc |= sp_buf_addc(w->b, '"');
    }
    if (extra_k) {
        w->rc |= sp_buf_printf(w->b, ",%s=\"%s\"", extra_k, extra_v);
    }
    w->rc |= sp_buf_adds(w->b, "} ");
}

static void derived_series(struct w *w, const char *name, const struct sp_series_view *v)
{
    if (v->kind != SP_METRIC_HISTOGRAM) {
        w->rc |= sp_buf_adds(w->b, name);
        series_labels(w, v, NULL, NULL);
        value(w, v->value);
        w->rc |= sp_buf_addc(w->b, '\n');
        return;
    }
    uint64_t cum[SP_MAX_BOUNDS + 1];
    fill_cumulative(v->buckets, v->n_bounds, cum);
    for (uint32_t b = 0; b <= v->n_bounds; b++) {
        char le[32];
        if (b < v->n_bounds) {
            le_str(le, sizeof(le), v->bounds[b]);
        } else {
            strcpy(le, "+Inf");
        }
        w->rc |= sp_buf_printf(w->b, "%s_bucket", name);
        series_labels(w, v, "le", le);
        value(w, (double)cum[b]);
        w->rc |= sp_buf_addc(w->b, '\n');
    }
    w->rc |= sp_buf_printf(w->b, "%s_sum", name);
    series_labels(w, v, NULL, NULL);
    value(w, v->sum);
    w->rc |= sp_buf_printf(w->b, "\n%s_count", name);
    series_labels(w, v, NULL, NULL);
    value(w, (double)v->count);
    w->rc |= sp_buf_addc(w->b, '\n');
}

static void derived_metrics(struct w *w, const struct spindle *sp)
{
    struct derived d = {0};
    if (sp->metrics) {
        sp_metrics_each(sp->metrics, 1, collect, &d);
    }
    qsort(d.v, d.n, sizeof(*d.v), view_cmp);
    struct sp_buf name, prev;
    sp_buf_init(&name, 512);
    sp_buf_init(&prev, 512);
    for (size_t i = 0; i < d.n; i++) {
        derived_name(&d.v[i], &name);
        if (name.p == NULL) {
            continue;
        }
        if (prev.len == 0 || strcmp(prev.p, name.p) != 0) {
            static const char *const type[] = {"counter", "gauge", "histogram"};
            char help[256];
            snprintf(help, sizeof(help), "The workflow metric %.*s, by function.",
                     (int)d.v[i].name.len, d.v[i].name.p);
            family(w, name.p, name.len - 1, type[d.v[i].kind % 3], help);
            sp_buf_reset(&prev);
            sp_buf_add(&prev, name.p, name.len);
        }
        derived_series(w, name.p, &d.v[i]);
    }
    sp_buf_free(&name);
    sp_buf_free(&prev);
    free(d.v);
    if (d.oom) {
        w->rc |= -ENOMEM;
    }
}

int sp_admin_prom(const struct spindle *sp, int openmetrics, struct sp_buf *out)
{
    struct w w = {out, openmetrics, 0};
    agent_metrics(&w, sp);
    derived_metrics(&w, sp);
    if (openmetrics) {
        w.rc |= sp_buf_adds(out, "# EOF\n");
    }
    return w.rc ? -ENOBUFS : 0;
}
