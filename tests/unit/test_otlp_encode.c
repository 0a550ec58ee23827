/*
 * test_otlp_encode.c - the direct OTLP protobuf writer (exporters/otlp_http/
 * otlp_encode.c) against the protobuf-c reference encoder (otlp_ref.c): the
 * same bytes for hand-built batches that reach every field, nested values
 * past the depth limit and lengths past one and two varint bytes, and for
 * 300 random batches of each signal. Plus: the output unpacks with the
 * generated protobuf-c code, and an embedded NUL survives (which the
 * reference cannot do, so it is checked on its own).
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "harness.h"
#include "otlp_encode.h"
#include "json.h"
#include "otlp_json.h"
#include "otlp_ref.h"

#include "logs_service.pb-c.h"
#include "metrics_service.pb-c.h"
#include "trace_service.pb-c.h"

static uint64_t rng = 0x9e3779b97f4a7c15ull;

static uint64_t rnd(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

static uint32_t below(uint32_t n)
{
    return n ? (uint32_t)(rnd() % n) : 0;
}

static struct sp_str s_(struct sp_arena *a, const char *s)
{
    size_t n = strlen(s);
    char *p = sp_arena_alloc(a, n + 1);
    memcpy(p, s, n + 1);
    return (struct sp_str){p, n};
}

static struct sp_str rstr(struct sp_arena *a)
{
    static const size_t lens[] = {0, 1, 5, 17, 127, 128, 300, 16383, 16384, 20000};
    size_t n = lens[below(sizeof(lens) / sizeof(lens[0]))];
    if (below(3) != 0 && n > 40) {
        n = below(40);
    }
    char *p = sp_arena_alloc(a, n + 1);
    for (size_t i = 0; i < n; i++) {
        p[i] = (char)('a' + below(26));
    }
    p[n] = 0;
    return (struct sp_str){p, n};
}

static void rvalue(struct sp_arena *a, struct sp_value *v, int depth);

static void rattrs(struct sp_arena *a, struct sp_attrs *at, uint32_t max)
{
    at->n = below(max + 1);
    at->dropped = below(3) == 0 ? below(5) : 0;
    at->v = sp_arena_alloc(a, sizeof(struct sp_attr) * (at->n + 1));
    for (uint32_t i = 0; i < at->n; i++) {
        at->v[i].key = rstr(a);
        rvalue(a, &at->v[i].val, 0);
    }
}

static void rvalue(struct sp_arena *a, struct sp_value *v, int depth)
{
    memset(v, 0, sizeof(*v));
    int t = (int)below(depth > 3 ? 5 : 7);
    v->type = (uint8_t)t;
    switch (t) {
    case SP_VAL_STR: v->u.s = rstr(a); break;
    case SP_VAL_INT: v->u.i = (int64_t)rnd() >> below(64); break;
    case SP_VAL_DOUBLE: v->u.d = below(4) == 0 ? 0.0 : (double)(int64_t)rnd() / 7.0; break;
    case SP_VAL_BOOL: v->u.b = (int)below(2); break;
    case SP_VAL_ARRAY:
        v->u.arr.n = below(4);
        v->u.arr.v = sp_arena_alloc(a, sizeof(struct sp_value) * (v->u.arr.n + 1));
        for (uint32_t i = 0; i < v->u.arr.n; i++) {
            rvalue(a, &v->u.arr.v[i], depth + 1);
        }
        break;
    case SP_VAL_KVLIST:
        v->u.kv.n = below(4);
        v->u.kv.v = sp_arena_alloc(a, sizeof(struct sp_attr) * (v->u.kv.n + 1));
        for (uint32_t i = 0; i < v->u.kv.n; i++) {
            v->u.kv.v[i].key = rstr(a);
            rvalue(a, &v->u.kv.v[i].val, depth + 1);
        }
        break;
    default: break;
    }
}

static void rid(uint8_t *p, size_t n)
{
    int zero = below(4) == 0;
    for (size_t i = 0; i < n; i++) {
        p[i] = zero ? 0 : (uint8_t)rnd();
    }
}

static const char *const fns[] = {"", "checkout", "charge-card", "ship"};

static void rbatch(struct sp_batch *b, int signal, uint32_t n)
{
    sp_batch_init(b, signal);
    struct sp_arena *a = &b->arena;
    static const double bounds[] = {0, 5, 10, 25, 50};
    for (uint32_t i = 0; i < n; i++) {
        if (signal == SP_SIG_TRACES) {
            struct sp_span *s = sp_arena_calloc(a, sizeof(*s));
            s->function = s_(a, fns[below(4)]);
            s->service = s_(a, below(3) ? "" : fns[below(4)]); /* a workflow span's */
            rid(s->trace_id, 16);
            rid(s->span_id, 8);
            s->has_parent = (uint8_t)below(2);
            rid(s->parent_span_id, 8);
            s->kind = (uint8_t)below(6);
            s->status = (uint8_t)below(3);
            s->name = rstr(a);
            s->status_message = below(2) ? rstr(a) : (struct sp_str){"", 0};
            s->start_ns = below(3) ? rnd() : 0;
            s->end_ns = below(3) ? rnd() : 0;
            rattrs(a, &s->attrs, 6);
            s->n_events = below(3);
            s->events = sp_arena_calloc(a, sizeof(*s->events) * (s->n_events + 1));
            for (uint32_t k = 0; k < s->n_events; k++) {
                s->events[k].name = rstr(a);
                s->events[k].ts_ns = below(2) ? rnd() : 0;
                rattrs(a, &s->events[k].attrs, 3);
            }
            s->dropped_events = below(2);
            s->n_links = below(3);
            s->links = sp_arena_calloc(a, sizeof(*s->links) * (s->n_links + 1));
            for (uint32_t k = 0; k < s->n_links; k++) {
                rid(s->links[k].trace_id, 16);
                rid(s->links[k].span_id, 8);
                rattrs(a, &s->links[k].attrs, 2);
            }
            sp_batch_append(b, s, 100);
        } else if (signal == SP_SIG_LOGS) {
            struct sp_logrec *l = sp_arena_calloc(a, sizeof(*l));
            l->function = s_(a, fns[below(4)]);
            l->ts_ns = below(3) ? rnd() : 0;
            l->observed_ns = below(5) ? rnd() : 0;
            l->severity_number = (uint8_t)below(25);
            l->severity_text = below(2) ? rstr(a) : (struct sp_str){"", 0};
            rvalue(a, &l->body, 0);
            rattrs(a, &l->attrs, 5);
            l->has_trace = (uint8_t)below(2);
            rid(l->trace_id, 16);
            rid(l->span_id, 8);
            l->event_name = below(3) ? (struct sp_str){"", 0} : rstr(a);
            sp_batch_append(b, l, 100);
        } else {
            struct sp_metric *m = sp_arena_calloc(a, sizeof(*m));
            m->function = s_(a, fns[below(4)]);
            static const char *const scopes[] = {"", "", "Shop", "Billing"};
            m->scope_name = s_(a, scopes[below(4)]); /* CloudWatch EMF namespaces */
            static const char *const names[] = {"requests", "latency", "dlq.depth", ""};
            m->name = s_(a, names[below(4)]);
            m->unit = s_(a, below(2) ? "ms" : "");
            m->description = s_(a, below(3) ? "" : "what it counts");
            m->kind = (uint8_t)below(3);
            rattrs(a, &m->attrs, 3);
            m->start_ns = below(3) ? rnd() : 0;
            m->time_ns = below(4) ? rnd() : 0;
            m->value = below(3) ? (double)below(1000) / 3.0 : (below(2) ? 0.0 : -0.0);
            m->count = below(3) ? below(100) : 0;
            m->sum = (double)below(1000);
            m->min = (double)below(10);
            m->max = (double)below(10000);
            if (below(4)) {
                m->n_bounds = below(6);
                m->bounds = below(5) ? bounds : NULL;
                uint64_t *bc = sp_arena_alloc(a, sizeof(uint64_t) * (m->n_bounds + 1));
                for (uint32_t k = 0; k <= m->n_bounds; k++) {
                    bc[k] = below(3) ? rnd() >> below(64) : 0;
                }
                m->bucket_counts = bc;
            }
            m->n_exemplars = below(3);
            m->exemplars = sp_arena_calloc(a, sizeof(*m->exemplars) * (m->n_exemplars + 1));
            for (uint32_t k = 0; k < m->n_exemplars; k++) {
                m->exemplars[k].ts_ns = below(2) ? rnd() : 0;
                m->exemplars[k].value = (double)below(50);
                rid(m->exemplars[k].trace_id, 16);
                rid(m->exemplars[k].span_id, 8);
                rattrs(a, &m->exemplars[k].filtered, 2);
            }
            sp_batch_append(b, m, 100);
        }
    }
}

static struct sp_resource_info res_info(struct sp_arena *a)
{
    struct sp_resource_info r = {0};
    r.service_name_default = s_(a, "unknown_function");
    r.host_name = s_(a, "host-1");
    r.instance_id = s_(a, "0b0e6f0e-8c8a-4f6e-9d3e-2a1c1b4e5f60");
    r.scope_name = s_(a, "spindle");
    r.scope_version = s_(a, "0.1.0");
    r.extra.n = 2;
    r.extra.dropped = 1;
    r.extra.v = sp_arena_calloc(a, sizeof(struct sp_attr) * 2);
    r.extra.v[0].key = s_(a, "deployment.environment");
    r.extra.v[0].val.type = SP_VAL_STR;
    r.extra.v[0].val.u.s = s_(a, "test");
    r.extra.v[1].key = s_(a, "host.name"); /* a duplicate: left out */
    r.extra.v[1].val.type = SP_VAL_STR;
    r.extra.v[1].val.u.s = s_(a, "other");
    return r;
}

static int same(const struct sp_batch *b, const struct sp_resource_info *r, int *unpacks)
{
    struct sp_buf x, y;
    sp_buf_init(&x, 1u << 28);
    sp_buf_init(&y, 1u << 28);
    int rx = otlp_encode_pb(b, r, &x);
    int ry = otlp_ref_encode_pb(b, r, &y);
    int ok = rx == 0 && ry == 0 && x.len == y.len && (x.len == 0 || memcmp(x.p, y.p, x.len) == 0);
    if (!ok) {
        fprintf(stderr, "  signal %d: rc %d/%d, %zu vs %zu bytes\n", b->signal, rx, ry, x.len, y.len);
        for (size_t i = 0; i < x.len && i < y.len; i++) {
            if (x.p[i] != y.p[i]) {
                fprintf(stderr, "  first difference at byte %zu\n", i);
                break;
            }
        }
    }
    static const ProtobufCMessageDescriptor *const d[] = {
        &opentelemetry__proto__collector__trace__v1__export_trace_service_request__descriptor,
        &opentelemetry__proto__collector__logs__v1__export_logs_service_request__descriptor,
        &opentelemetry__proto__collector__metrics__v1__export_metrics_service_request__descriptor,
    };
    ProtobufCMessage *m = protobuf_c_message_unpack(d[b->signal], NULL, x.len, (uint8_t *)x.p);
    *unpacks = m != NULL;
    if (m) {
        protobuf_c_message_free_unpacked(m, NULL);
    }
    sp_buf_free(&x);
    sp_buf_free(&y);
    return ok;
}

/* A value nested deeper than the writer's limit (64): both cut it alike. */
static void deep_value(struct sp_arena *a, struct sp_value *v, int depth)
{
    memset(v, 0, sizeof(*v));
    if (depth == 70) {
        v->type = SP_VAL_STR;
        v->u.s = s_(a, "bottom");
        return;
    }
    v->type = depth % 2 ? SP_VAL_ARRAY : SP_VAL_KVLIST;
    if (v->type == SP_VAL_ARRAY) {
        v->u.arr.n = 1;
        v->u.arr.v = sp_arena_alloc(a, sizeof(struct sp_value));
        deep_value(a, &v->u.arr.v[0], depth + 1);
    } else {
        v->u.kv.n = 1;
        v->u.kv.v = sp_arena_alloc(a, sizeof(struct sp_attr));
        v->u.kv.v[0].key = s_(a, "k");
        deep_value(a, &v->u.kv.v[0].val, depth + 1);
    }
}

/* Occurrences of `needle` in the first n bytes of p. */
static int count_of(const char *p, size_t n, const char *needle)
{
    int c = 0;
    size_t k = strlen(needle);
    for (size_t i = 0; i + k <= n; i++) {
        c += memcmp(p + i, needle, k) == 0;
    }
    return c;
}

/* CloudWatch EMF namespaces (sp_metric.scope_name): one ScopeMetrics per
 * namespace in the function's ResourceMetrics, next to spindle's own scope,
 * first-seen order; the same metric name under two namespaces is two
 * Metrics. Both writers group alike. */
static void test_scope_names(const struct sp_resource_info *res)
{
    static const struct {
        const char *fn, *scope, *name;
    } pts[] = {{"checkout", "", "requests"}, {"checkout", "Shop", "orders"},
               {"checkout", "Billing", "orders"}, {"checkout", "Shop", "latency"},
               {"checkout", "Shop", "orders"}, {"ship", "Shop", "orders"}};
    struct sp_batch b;
    sp_batch_init(&b, SP_SIG_METRICS);
    for (size_t i = 0; i < sizeof(pts) / sizeof(pts[0]); i++) {
        struct sp_metric *m = sp_arena_calloc(&b.arena, sizeof(*m));
        m->function = s_(&b.arena, pts[i].fn);
        m->scope_name = s_(&b.arena, pts[i].scope);
        m->name = s_(&b.arena, pts[i].name);
        m->value = (double)i;
        sp_batch_append(&b, m, 100);
    }
    struct sp_buf out;
    sp_buf_init(&out, 1u << 20);
    CHECK(otlp_encode_pb(&b, res, &out) == 0);
    Opentelemetry__Proto__Collector__Metrics__V1__ExportMetricsServiceRequest *req =
        opentelemetry__proto__collector__metrics__v1__export_metrics_service_request__unpack(
            NULL, out.len, (uint8_t *)out.p);
    CHECK(req != NULL);
    if (req) {
        CHECK_EQ_INT(req->n_resource_metrics, 2);
        const Opentelemetry__Proto__Metrics__V1__ResourceMetrics *r0 = req->resource_metrics[0];
        CHECK_EQ_INT(r0->n_scope_metrics, 3);
        if (r0->n_scope_metrics == 3) {
            CHECK(strcmp(r0->scope_metrics[0]->scope->name, "spindle") == 0);
            CHECK(strcmp(r0->scope_metrics[0]->scope->version, "0.1.0") == 0);
            CHECK_EQ_INT(r0->scope_metrics[0]->n_metrics, 1);
            CHECK(strcmp(r0->scope_metrics[1]->scope->name, "Shop") == 0);
            CHECK(strcmp(r0->scope_metrics[1]->scope->version, "") == 0);
            CHECK_EQ_INT(r0->scope_metrics[1]->n_metrics, 2); /* orders (2 points), latency */
            CHECK(strcmp(r0->scope_metrics[1]->metrics[0]->name, "orders") == 0);
            CHECK_EQ_INT(r0->scope_metrics[1]->metrics[0]->sum->n_data_points, 2);
            CHECK(strcmp(r0->scope_metrics[2]->scope->name, "Billing") == 0);
            CHECK_EQ_INT(r0->scope_metrics[2]->n_metrics, 1);
            CHECK(strcmp(r0->scope_metrics[2]->metrics[0]->name, "orders") == 0);
        }
        const Opentelemetry__Proto__Metrics__V1__ResourceMetrics *r1 = req->resource_metrics[1];
        CHECK_EQ_INT(r1->n_scope_metrics, 1);
        CHECK(strcmp(r1->scope_metrics[0]->scope->name, "Shop") == 0);
        opentelemetry__proto__collector__metrics__v1__export_metrics_service_request__free_unpacked(
            req, NULL);
    }
    int unpacks;
    CHECK(same(&b, res, &unpacks));
    sp_buf_reset(&out);
    CHECK(otlp_encode_json(&b, res, &out) == 0);
    CHECK_EQ_INT(count_of(out.p, out.len, "\"scopeMetrics\":["), 2);
    CHECK_EQ_INT(count_of(out.p, out.len, "{\"scope\":{\"name\":\"spindle\",\"version\":\"0.1.0\"},\"metrics\":["), 1);
    CHECK_EQ_INT(count_of(out.p, out.len, "{\"scope\":{\"name\":\"Shop\"},\"metrics\":["), 2);
    CHECK_EQ_INT(count_of(out.p, out.len, "{\"scope\":{\"name\":\"Billing\"},\"metrics\":["), 1);
    /* In the first resource: spindle's, Shop, Billing, in that order. */
    const char *a = strstr(out.p, "\"name\":\"spindle\"");
    const char *sh = strstr(out.p, "\"name\":\"Shop\"");
    const char *bi = strstr(out.p, "\"name\":\"Billing\"");
    CHECK(a && sh && bi && a < sh && sh < bi);
    struct sp_arena ja;
    sp_arena_init(&ja, 1 << 16);
    struct sp_json *j;
    CHECK(sp_json_parse(&ja, out.p, out.len, &j) == SPJ_OK);
    sp_arena_free(&ja);
    sp_buf_free(&out);
    sp_batch_free(&b);
}

int main(void)
{
    struct sp_arena ra;
    sp_arena_init(&ra, 4096);
    struct sp_resource_info res = res_info(&ra);
    int unpacks;

    /* Random batches of every signal, sizes 0..40 items. */
    int all_same = 1, all_unpack = 1;
    for (int sig = 0; sig < SP_SIG_COUNT; sig++) {
        for (int i = 0; i < 300; i++) {
            struct sp_batch b;
            rbatch(&b, sig, below(41));
            all_same &= same(&b, &res, &unpacks);
            all_unpack &= unpacks;
            sp_batch_free(&b);
        }
    }
    CHECK(all_same);
    CHECK(all_unpack);

    /* A log body nested past the depth limit. */
    struct sp_batch b;
    sp_batch_init(&b, SP_SIG_LOGS);
    struct sp_logrec *l = sp_arena_calloc(&b.arena, sizeof(*l));
    l->function = s_(&b.arena, "deep");
    deep_value(&b.arena, &l->body, 0);
    sp_batch_append(&b, l, 100);
    CHECK(same(&b, &res, &unpacks));
    CHECK(unpacks);
    sp_batch_free(&b);

    /* An empty batch: nothing at all. */
    sp_batch_init(&b, SP_SIG_TRACES);
    struct sp_buf out;
    sp_buf_init(&out, 1024);
    CHECK(otlp_encode_pb(&b, &res, &out) == 0);
    CHECK_EQ_INT(out.len, 0);
    sp_batch_free(&b);

    /* An embedded NUL in a log body survives (a C-string encoder cuts it). */
    sp_batch_init(&b, SP_SIG_LOGS);
    l = sp_arena_calloc(&b.arena, sizeof(*l));
    l->body.type = SP_VAL_STR;
    l->body.u.s = (struct sp_str){"a\0b", 3};
    sp_batch_append(&b, l, 100);
    sp_buf_reset(&out);
    CHECK(otlp_encode_pb(&b, &res, &out) == 0);
    int found = 0;
    for (size_t i = 0; i + 5 <= out.len; i++) {
        found |= memcmp(out.p + i, "\x0a\x03" "a\0b", 5) == 0; /* AnyValue.string_value, 3 bytes */
    }
    CHECK(found);
    sp_batch_free(&b);

    /* The cap: a batch larger than the buffer may hold fails with -ENOBUFS. */
    sp_batch_init(&b, SP_SIG_TRACES);
    rbatch(&b, SP_SIG_TRACES, 50);
    struct sp_buf small;
    sp_buf_init(&small, 64);
    CHECK(otlp_encode_pb(&b, &res, &small) == -ENOBUFS);
    sp_buf_free(&small);
    sp_batch_free(&b);

    test_scope_names(&res);

    sp_buf_free(&out);
    sp_arena_free(&ra);
    return th_report("test_otlp_encode");
}
