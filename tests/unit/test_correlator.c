/*
 * test_correlator.c - the real correlator, metrics aggregator and pipeline in
 * process: records go through the one door (sp_door_ndjson), as every
 * input's do; a capture exporter copies what the pipeline encodes, and
 * the tests check the exported spans, logs and points against the
 * correlation rules of docs/protocol.md.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <uv.h>

#include "agent.h"
#include "door.h"
#include "harness.h"
#include "ids.h"
#include "log.h"
#include "record.h"

/* --- capture --------------------------------------------------------------- */

#define MAX_ATTRS 24
#define MAX_EVENTS 8
#define MAX_LINKS 4

struct cap_attr {
    char key[64];
    int type;
    int64_t i;
    double d;
    int b;
    char s[128];
};

struct cap_attrs {
    struct cap_attr v[MAX_ATTRS];
    uint32_t n;
    uint32_t dropped;
};

struct cap_span {
    char function[64];
    char service[64];
    uint8_t trace_id[16], span_id[8], parent[8];
    int has_parent;
    int kind, status;
    char name[128], status_message[128];
    uint64_t start_ns, end_ns;
    struct cap_attrs attrs;
    uint32_t n_events, dropped_events;
    char event_names[MAX_EVENTS][64];
    struct cap_attrs event_attrs[MAX_EVENTS];
    uint32_t n_links;
    uint8_t link_trace[MAX_LINKS][16], link_span[MAX_LINKS][8];
};

struct cap_log {
    char function[64];
    char event_name[64];
    int has_trace;
    uint8_t trace_id[16], span_id[8];
    int severity_number;
    char severity_text[32];
    int body_type;
    char body[128];
    uint64_t ts_ns;
    struct cap_attrs attrs;
};

struct cap_metric {
    char function[64], name[64], unit[32], scope[64];
    int kind;
    struct cap_attrs attrs;
    double value;
    uint64_t count;
    double sum, min, max;
    uint32_t n_bounds;
    double bounds[32];
    uint64_t buckets[33];
    uint32_t n_ex;
    uint8_t ex_trace[4][16], ex_span[4][8];
    double ex_value[4];
    char ex_cid[4][128];
};

#define MAX_CAP 512
static struct cap_span SPANS[MAX_CAP];
static int N_SPANS;
static struct cap_log LOGS[MAX_CAP];
static int N_LOGS;
static struct cap_metric METRICS[MAX_CAP];
static int N_METRICS;

static void cpy(char *dst, size_t cap, struct sp_str s)
{
    size_t n = s.len < cap - 1 ? s.len : cap - 1;
    if (n) {
        memcpy(dst, s.p, n);
    }
    dst[n] = 0;
}

static void cap_attrs(struct cap_attrs *out, const struct sp_attrs *in)
{
    memset(out, 0, sizeof(*out));
    out->dropped = in->dropped;
    for (uint32_t i = 0; i < in->n && out->n < MAX_ATTRS; i++) {
        struct cap_attr *a = &out->v[out->n++];
        cpy(a->key, sizeof(a->key), in->v[i].key);
        a->type = in->v[i].val.type;
        switch (a->type) {
        case SP_VAL_STR:
            cpy(a->s, sizeof(a->s), in->v[i].val.u.s);
            break;
        case SP_VAL_INT:
            a->i = in->v[i].val.u.i;
            break;
        case SP_VAL_DOUBLE:
            a->d = in->v[i].val.u.d;
            break;
        case SP_VAL_BOOL:
            a->b = in->v[i].val.u.b;
            break;
        default:
            break;
        }
    }
}

static int cap_init(struct sp_exporter *e)
{
    (void)e;
    return 0;
}

static int cap_encode(struct sp_exporter *e, const struct sp_batch *b, struct sp_buf *out)
{
    /* The agent's own spindle.* metrics travel in batches of their own;
     * these tests look at what the correlator and the aggregator made. */
    if (b->agent) {
        return sp_buf_addc(out, 'a');
    }
    (void)e;
    if (b->signal == SP_SIG_TRACES) {
        for (const struct sp_span *s = b->head; s; s = s->next) {
            if (N_SPANS >= MAX_CAP) {
                break;
            }
            struct cap_span *c = &SPANS[N_SPANS++];
            memset(c, 0, sizeof(*c));
            cpy(c->function, sizeof(c->function), s->function);
            cpy(c->service, sizeof(c->service), s->service);
            memcpy(c->trace_id, s->trace_id, 16);
            memcpy(c->span_id, s->span_id, 8);
            memcpy(c->parent, s->parent_span_id, 8);
            c->has_parent = s->has_parent;
            c->kind = s->kind;
            c->status = s->status;
            cpy(c->name, sizeof(c->name), s->name);
            cpy(c->status_message, sizeof(c->status_message), s->status_message);
            c->start_ns = s->start_ns;
            c->end_ns = s->end_ns;
            cap_attrs(&c->attrs, &s->attrs);
            c->n_events = s->n_events;
            c->dropped_events = s->dropped_events;
            for (uint32_t i = 0; i < s->n_events && i < MAX_EVENTS; i++) {
                cpy(c->event_names[i], sizeof(c->event_names[i]), s->events[i].name);
                cap_attrs(&c->event_attrs[i], &s->events[i].attrs);
            }
            c->n_links = s->n_links;
            for (uint32_t i = 0; i < s->n_links && i < MAX_LINKS; i++) {
                memcpy(c->link_trace[i], s->links[i].trace_id, 16);
                memcpy(c->link_span[i], s->links[i].span_id, 8);
            }
        }
    } else if (b->signal == SP_SIG_LOGS) {
        for (const struct sp_logrec *l = b->head; l; l = l->next) {
            if (N_LOGS >= MAX_CAP) {
                break;
            }
            struct cap_log *c = &LOGS[N_LOGS++];
            memset(c, 0, sizeof(*c));
            cpy(c->function, sizeof(c->function), l->function);
            cpy(c->event_name, sizeof(c->event_name), l->event_name);
            c->has_trace = l->has_trace;
            memcpy(c->trace_id, l->trace_id, 16);
            memcpy(c->span_id, l->span_id, 8);
            c->severity_number = l->severity_number;
            cpy(c->severity_text, sizeof(c->severity_text), l->severity_text);
            c->body_type = l->body.type;
            if (l->body.type == SP_VAL_STR) {
                cpy(c->body, sizeof(c->body), l->body.u.s);
            }
            c->ts_ns = l->ts_ns;
            cap_attrs(&c->attrs, &l->attrs);
        }
    } else {
        for (const struct sp_metric *m = b->head; m; m = m->next) {
            if (N_METRICS >= MAX_CAP) {
                break;
            }
            struct cap_metric *c = &METRICS[N_METRICS++];
            memset(c, 0, sizeof(*c));
            cpy(c->function, sizeof(c->function), m->function);
            cpy(c->name, sizeof(c->name), m->name);
            cpy(c->unit, sizeof(c->unit), m->unit);
            cpy(c->scope, sizeof(c->scope), m->scope_name);
            c->kind = m->kind;
            cap_attrs(&c->attrs, &m->attrs);
            c->value = m->value;
            c->count = m->count;
            c->sum = m->sum;
            c->min = m->min;
            c->max = m->max;
            c->n_bounds = m->n_bounds;
            for (uint32_t i = 0; i < m->n_bounds && i < 32; i++) {
                c->bounds[i] = m->bounds[i];
            }
            if (m->bucket_counts) {
                for (uint32_t i = 0; i <= m->n_bounds && i < 33; i++) {
                    c->buckets[i] = m->bucket_counts[i];
                }
            }
            c->n_ex = m->n_exemplars;
            for (uint32_t i = 0; i < m->n_exemplars && i < 4; i++) {
                memcpy(c->ex_trace[i], m->exemplars[i].trace_id, 16);
                memcpy(c->ex_span[i], m->exemplars[i].span_id, 8);
                c->ex_value[i] = m->exemplars[i].value;
                for (uint32_t j = 0; j < m->exemplars[i].filtered.n; j++) {
                    const struct sp_attr *fa = &m->exemplars[i].filtered.v[j];
                    if (fa->key.len == strlen("spindle.correlation_id") &&
                        memcmp(fa->key.p, "spindle.correlation_id", fa->key.len) == 0 &&
                        fa->val.type == SP_VAL_STR) {
                        cpy(c->ex_cid[i], sizeof(c->ex_cid[i]), fa->val.u.s);
                    }
                }
            }
        }
    }
    return sp_buf_addc(out, 'x');
}

static void cap_send(struct sp_exporter *e, struct sp_req *r)
{
    sp_exporter_done(e, r, &(struct sp_send_result){.outcome = SP_SEND_OK, .retry_after_s = -1});
}

static void cap_close(struct sp_exporter *e)
{
    (void)e;
}

static const struct sp_exporter_ops capture_ops = {
    .name = "capture",
    .init = cap_init,
    .encode = cap_encode,
    .send = cap_send,
    .close = cap_close,
};

/* --- the agent under test ---------------------------------------------------- */

static uv_loop_t LOOP;
static struct spindle SP;
static char DIR_[64];
static int UP;

struct tweak {
    uint64_t idle_ms;        /* 0: 50 */
    uint64_t max_open;       /* 0: default */
    int no_root_without_start;
};

static void agent_up(const struct tweak *t)
{
    N_SPANS = N_LOGS = N_METRICS = 0;
    memset(&SP, 0, sizeof(SP));
    sp_config_defaults(&SP.cfg);
    SP.cfg.wf_grace_ms = 20;
    SP.cfg.wf_idle_timeout_ms = t && t->idle_ms ? t->idle_ms : 50;
    SP.cfg.batch_delay_ms = 5;
    SP.cfg.file_enabled = 0;
    if (t && t->max_open) {
        SP.cfg.max_open_workflows = t->max_open;
    }
    if (t && t->no_root_without_start) {
        SP.cfg.root_without_start = 0;
    }
    snprintf(DIR_, sizeof(DIR_), "/tmp/spindle-corr-XXXXXX");
    CHECK(mkdtemp(DIR_) != NULL);
    free(SP.cfg.state_dir);
    SP.cfg.state_dir = strdup(DIR_);
    char err[256] = "";
    int rc = sp_config_finish(&SP.cfg, err, sizeof(err));
    CHECK_EQ_INT(rc, 0);
    CHECK_EQ_INT(uv_loop_init(&LOOP), 0);
    static const struct sp_exporter_ops *const none[] = {NULL};
    rc = sp_agent_init(&SP, &LOOP, none);
    CHECK_EQ_INT(rc, 0);
    rc = sp_exporter_new(&SP, &capture_ops);
    CHECK_EQ_INT(rc, 0);
    CHECK_EQ_INT(SP.n_exporters, 1);
    UP = 1;
}

static void agent_down(void)
{
    if (!UP) {
        return;
    }
    sp_agent_stop(&SP);
    uv_run(&LOOP, UV_RUN_DEFAULT);
    CHECK_EQ_INT(uv_loop_close(&LOOP), 0);
    sp_agent_free(&SP);
    char p[128];
    snprintf(p, sizeof(p), "%s/instance-id", DIR_);
    unlink(p);
    rmdir(DIR_);
    UP = 0;
}

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* Parses one record (with ' for ") and hands it to the agent. */
static int feed_at(int ln, const char *json)
{
    size_t n = strlen(json);
    char *line = malloc(n + 1);
    for (size_t i = 0; i <= n; i++) {
        line[i] = json[i] == '\'' ? '"' : json[i];
    }
    struct sp_arena a;
    sp_arena_init(&a, 4096);
    uv_update_time(&LOOP);
    /* Through the one door, as every input's records go. */
    struct sp_peer peer = {.pid = -1};
    struct sp_door_out out;
    sp_door_ndjson(&SP, &peer, &a, line, n, &out);
    int rc = out.reason;
    if (rc != SP_R_OK) {
        th_failed++;
        fprintf(stderr, "FAIL %s:%d: record rejected (%s, field %s): %s\n", __FILE__, ln,
                sp_reason_name(rc), out.field ? out.field : "-", json);
    }
    /* the agent must have copied what it keeps: poison the line and arena */
    memset(line, '#', n);
    sp_arena_free(&a);
    free(line);
    return rc;
}
#define FEED(json) feed_at(__LINE__, (json))

typedef int (*pred_fn)(const void *arg);

/* Runs the loop until pred holds (bounded: 2 s). */
static int run_until(pred_fn pred, const void *arg)
{
    for (int i = 0; i < 1000; i++) {
        uv_run(&LOOP, UV_RUN_NOWAIT);
        if (pred(arg)) {
            return 1;
        }
        sleep_ms(2);
    }
    return 0;
}

static void run_for(int ms)
{
    uv_update_time(&LOOP);
    uint64_t end = uv_now(&LOOP) + (uint64_t)ms;
    while (uv_now(&LOOP) < end) {
        uv_run(&LOOP, UV_RUN_NOWAIT);
        sleep_ms(2);
        uv_update_time(&LOOP);
    }
    uv_run(&LOOP, UV_RUN_NOWAIT);
}

/* --- lookups ----------------------------------------------------------------- */

static void tid(const char *cid, uint8_t out[16])
{
    sp_id_trace(cid, strlen(cid), out);
}

static void wid(const char *cid, uint8_t out[8])
{
    sp_id_workflow_span(cid, strlen(cid), out);
}

static void iid(const char *cid, const char *inv, uint8_t out[8])
{
    sp_id_invocation_span(cid, strlen(cid), inv, strlen(inv), out);
}

static void hexid(const char *hex, uint8_t *out, size_t n)
{
    if (sp_hex_decode(hex, strlen(hex), out, n)) {
        memset(out, 0xEE, n);
    }
}

static int count_span_id(const uint8_t id[8])
{
    int n = 0;
    for (int i = 0; i < N_SPANS; i++) {
        n += memcmp(SPANS[i].span_id, id, 8) == 0;
    }
    return n;
}

static struct cap_span *span_by_id(const uint8_t id[8])
{
    for (int i = 0; i < N_SPANS; i++) {
        if (memcmp(SPANS[i].span_id, id, 8) == 0) {
            return &SPANS[i];
        }
    }
    return NULL;
}

static struct cap_span *span_by_name(const char *name)
{
    for (int i = 0; i < N_SPANS; i++) {
        if (strcmp(SPANS[i].name, name) == 0) {
            return &SPANS[i];
        }
    }
    return NULL;
}

static struct cap_log *log_by_body(const char *body)
{
    for (int i = 0; i < N_LOGS; i++) {
        if (strcmp(LOGS[i].body, body) == 0) {
            return &LOGS[i];
        }
    }
    return NULL;
}

static const struct cap_attr *cattr(const struct cap_attrs *a, const char *key)
{
    for (uint32_t i = 0; i < a->n; i++) {
        if (strcmp(a->v[i].key, key) == 0) {
            return &a->v[i];
        }
    }
    return NULL;
}

static int64_t int_attr(const struct cap_attrs *a, const char *key)
{
    const struct cap_attr *x = cattr(a, key);
    return x && x->type == SP_VAL_INT ? x->i : -999;
}

static int str_attr_is(const struct cap_attrs *a, const char *key, const char *v)
{
    const struct cap_attr *x = cattr(a, key);
    return x && x->type == SP_VAL_STR && strcmp(x->s, v) == 0;
}

static int bool_attr_is(const struct cap_attrs *a, const char *key, int v)
{
    const struct cap_attr *x = cattr(a, key);
    return x && x->type == SP_VAL_BOOL && !!x->b == !!v;
}

static int count_events(const struct cap_span *s, const char *name)
{
    int n = 0;
    for (uint32_t i = 0; i < s->n_events && i < MAX_EVENTS; i++) {
        n += strcmp(s->event_names[i], name) == 0;
    }
    return n;
}

/* predicates */
static int p_span_id(const void *arg)
{
    return span_by_id(arg) != NULL;
}

static int p_span_name(const void *arg)
{
    return span_by_name(arg) != NULL;
}

static int p_log_body(const void *arg)
{
    return log_by_body(arg) != NULL;
}

static int p_n_spans(const void *arg)
{
    return N_SPANS >= *(const int *)arg;
}

static int p_n_metrics(const void *arg)
{
    return N_METRICS >= *(const int *)arg;
}

#define TP_TRACE "4bf92f3577b34da6a3ce929d0e0e4736"
#define TP_PARENT "00f067aa0ba902b7"
#define TP "00-" TP_TRACE "-" TP_PARENT "-01"
#define TP2_TRACE "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define TP2_PARENT "bbbbbbbbbbbbbbbb"
#define TP2 "00-" TP2_TRACE "-" TP2_PARENT "-01"

/* --- rule 1 ---------------------------------------------------------------------- */

static void test_rule1_derived(void)
{
    agent_up(NULL);
    const char *cid = "wf-derived";
    uint8_t t[16], w[8];
    tid(cid, t);
    wid(cid, w);
    FEED("{'type':'event','name':'workflow_start','correlation_id':'wf-derived'}");
    FEED("{'type':'log','correlation_id':'wf-derived','body':'first log'}");
    CHECK(run_until(p_log_body, "first log"));
    struct cap_log *l = log_by_body("first log");
    CHECK(l && l->has_trace && memcmp(l->trace_id, t, 16) == 0);
    CHECK(l && memcmp(l->span_id, w, 8) == 0);
    FEED("{'type':'event','name':'workflow_end','correlation_id':'wf-derived'}");
    CHECK(run_until(p_span_id, w));
    struct cap_span *root = span_by_id(w);
    CHECK(root && memcmp(root->trace_id, t, 16) == 0);
    CHECK(root && root->has_parent == 0);
    CHECK(SP.stats.trace_conflict == 0);
    agent_down();
}

static void test_rule1_traceparent(void)
{
    agent_up(NULL);
    const char *cid = "wf-tp";
    uint8_t tpt[16], tpp[8], t2[16], p2[8], w[8], derived[16], i1[8];
    hexid(TP_TRACE, tpt, 16);
    hexid(TP_PARENT, tpp, 8);
    hexid(TP2_TRACE, t2, 16);
    hexid(TP2_PARENT, p2, 8);
    wid(cid, w);
    tid(cid, derived);
    iid(cid, "i1", i1);
    /* the first record fixes the trace */
    FEED("{'type':'event','name':'workflow_start','correlation_id':'wf-tp','traceparent':'" TP "'}");
    FEED("{'type':'event','name':'invocation_start','correlation_id':'wf-tp','invocation_id':'i1'}");
    /* same traceparent again: no conflict */
    FEED("{'type':'log','correlation_id':'wf-tp','body':'same tp','traceparent':'" TP "'}");
    CHECK_EQ_INT(SP.stats.trace_conflict, 0);
    /* a conflicting one on a span: the span stays in the workflow's trace, with a link */
    FEED("{'type':'span','correlation_id':'wf-tp','name':'conflicting','start':1740830400,"
         "'end':1740830401,'traceparent':'" TP2 "'}");
    CHECK_EQ_INT(SP.stats.trace_conflict, 1);
    /* and on a log: counted, same trace */
    FEED("{'type':'log','correlation_id':'wf-tp','body':'conflict log','traceparent':'" TP2 "'}");
    CHECK_EQ_INT(SP.stats.trace_conflict, 2);
    /* X-Ray naming yet another trace on an invocation event: link on the invocation span */
    FEED("{'type':'event','name':'invocation_end','correlation_id':'wf-tp','invocation_id':'i1',"
         "'status':'ok','traceparent':'" TP2 "'}");
    CHECK_EQ_INT(SP.stats.trace_conflict, 3);
    /* a bad traceparent is ignored: no conflict */
    FEED("{'type':'log','correlation_id':'wf-tp','body':'bad tp','traceparent':'00-xyz'}");
    CHECK_EQ_INT(SP.stats.trace_conflict, 3);
    FEED("{'type':'event','name':'workflow_end','correlation_id':'wf-tp'}");
    CHECK(run_until(p_span_id, w));

    struct cap_span *root = span_by_id(w);
    CHECK(root && memcmp(root->trace_id, tpt, 16) == 0);
    CHECK(root && root->has_parent == 1 && memcmp(root->parent, tpp, 8) == 0);
    struct cap_span *s = span_by_name("conflicting");
    CHECK(s != NULL);
    if (s) {
        CHECK(memcmp(s->trace_id, tpt, 16) == 0);
        CHECK_EQ_INT(s->n_links, 1);
        CHECK(s->n_links >= 1 && memcmp(s->link_trace[0], t2, 16) == 0);
        CHECK(s->n_links >= 1 && memcmp(s->link_span[0], p2, 8) == 0);
    }
    struct cap_span *inv = span_by_id(i1);
    CHECK(inv != NULL);
    if (inv) {
        CHECK(memcmp(inv->trace_id, tpt, 16) == 0);
        CHECK_EQ_INT(inv->n_links, 1);
        CHECK(inv->n_links >= 1 && memcmp(inv->link_trace[0], t2, 16) == 0);
    }
    int logs_ok = N_LOGS >= 3;
    for (int i = 0; i < N_LOGS; i++) {
        logs_ok &= memcmp(LOGS[i].trace_id, tpt, 16) == 0;
    }
    CHECK(logs_ok);
    CHECK(log_by_body("conflict log") != NULL);
    CHECK(log_by_body("bad tp") != NULL);
    /* nothing in the derived trace */
    int derived_seen = 0;
    for (int i = 0; i < N_SPANS; i++) {
        derived_seen |= memcmp(SPANS[i].trace_id, derived, 16) == 0;
    }
    CHECK(!derived_seen);
    agent_down();

    /* X-Ray on the first record fixes the trace too */
    agent_up(NULL);
    wid("wf-xray", w);
    uint8_t xt[16], xp[8];
    hexid("5759e988bd862e3fe1be46a994272793", xt, 16);
    hexid("53995c3f42cd8ad8", xp, 8);
    FEED("{'type':'event','name':'workflow_start','correlation_id':'wf-xray','xray_trace_id':"
         "'Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1'}");
    FEED("{'type':'event','name':'workflow_end','correlation_id':'wf-xray'}");
    CHECK(run_until(p_span_id, w));
    root = span_by_id(w);
    CHECK(root && memcmp(root->trace_id, xt, 16) == 0);
    CHECK(root && root->has_parent && memcmp(root->parent, xp, 8) == 0);
    agent_down();

    /* a traceparent first seen on a later record does not change the trace */
    agent_up(NULL);
    wid("wf-late-tp", w);
    tid("wf-late-tp", derived);
    FEED("{'type':'event','name':'workflow_start','correlation_id':'wf-late-tp'}");
    FEED("{'type':'log','correlation_id':'wf-late-tp','body':'late tp','traceparent':'" TP "'}");
    CHECK_EQ_INT(SP.stats.trace_conflict, 1);
    FEED("{'type':'event','name':'workflow_end','correlation_id':'wf-late-tp'}");
    CHECK(run_until(p_span_id, w));
    root = span_by_id(w);
    CHECK(root && memcmp(root->trace_id, derived, 16) == 0);
    CHECK(root && root->has_parent == 0);
    struct cap_log *l = log_by_body("late tp");
    CHECK(l && memcmp(l->trace_id, derived, 16) == 0);
    agent_down();
}

/* --- rule 2 ------------------------------------------------------------------------ */

static void test_rule2_counts(void)
{
    struct tweak tw = {.idle_ms = 5000};
    agent_up(&tw);
    const char *cid = "wf-counts";
    uint8_t w[8], t[16], i1[8], i2[8];
    wid(cid, w);
    tid(cid, t);
    iid(cid, "inv-1", i1);
    iid(cid, "inv-2", i2);
    FEED("{'type':'event','name':'workflow_start','correlation_id':'wf-counts','workflow':'checkout',"
         "'function':'orchestrator','ts':1740830400}");
    /* inv-1: cold start reported twice (flag and event), counted once */
    FEED("{'type':'event','name':'invocation_start','correlation_id':'wf-counts','invocation_id':'inv-1',"
         "'cold_start':true,'trigger':'http'}");
    FEED("{'type':'event','name':'cold_start','correlation_id':'wf-counts','invocation_id':'inv-1',"
         "'init_duration_ms':312.4}");
    FEED("{'type':'event','name':'invocation_end','correlation_id':'wf-counts','invocation_id':'inv-1',"
         "'status':'ok'}");
    /* inv-2: attempt 2 reported twice (retry event and invocation_start), counted once */
    FEED("{'type':'event','name':'retry','correlation_id':'wf-counts','invocation_id':'inv-2','attempt':2}");
    FEED("{'type':'event','name':'invocation_start','correlation_id':'wf-counts','invocation_id':'inv-2',"
         "'attempt':2,'cold_start':false}");
    /* a cold start known only from the event */
    FEED("{'type':'event','name':'cold_start','correlation_id':'wf-counts','invocation_id':'inv-2'}");
    FEED("{'type':'event','name':'cold_start','correlation_id':'wf-counts','invocation_id':'inv-2'}");
    /* attempt 3, twice by retry event: once */
    FEED("{'type':'event','name':'retry','correlation_id':'wf-counts','invocation_id':'inv-2','attempt':3}");
    FEED("{'type':'event','name':'retry','correlation_id':'wf-counts','invocation_id':'inv-2','attempt':3}");
    FEED("{'type':'event','name':'invocation_end','correlation_id':'wf-counts','invocation_id':'inv-2',"
         "'status':'ok'}");
    /* two throttles of the workflow */
    FEED("{'type':'event','name':'throttle','correlation_id':'wf-counts','reason':'rate'}");
    FEED("{'type':'event','name':'throttle','correlation_id':'wf-counts'}");
    FEED("{'type':'event','name':'workflow_end','correlation_id':'wf-counts','status':'ok',"
         "'ts':1740830401.5}");
    CHECK(run_until(p_span_id, w));
    run_for(60); /* nothing more may come */
    CHECK_EQ_INT(count_span_id(w), 1);
    struct cap_span *root = span_by_id(w);
    CHECK(root != NULL);
    if (root) {
        CHECK(memcmp(root->trace_id, t, 16) == 0);
        CHECK_EQ_INT(int_attr(&root->attrs, "spindle.workflow.invocations"), 2);
        CHECK_EQ_INT(int_attr(&root->attrs, "spindle.workflow.retries"), 2);
        CHECK_EQ_INT(int_attr(&root->attrs, "spindle.workflow.cold_starts"), 2);
        CHECK_EQ_INT(int_attr(&root->attrs, "spindle.workflow.throttles"), 2);
        CHECK_EQ_INT(int_attr(&root->attrs, "spindle.workflow.dead_letters"), 0);
        CHECK(root->status != SP_STATUS_ERROR);
        CHECK(strcmp(root->name, "checkout") == 0);
        CHECK(root->start_ns == UINT64_C(1740830400000000000));
        CHECK(root->end_ns == UINT64_C(1740830401500000000));
        CHECK_EQ_INT(count_events(root, "throttle"), 2);
        CHECK(str_attr_is(&root->attrs, "spindle.correlation_id", "wf-counts"));
    }
    struct cap_span *s1 = span_by_id(i1), *s2 = span_by_id(i2);
    CHECK(s1 && bool_attr_is(&s1->attrs, "faas.coldstart", 1));
    CHECK(s2 && bool_attr_is(&s2->attrs, "faas.coldstart", 1));
    /* cold_start and retry events are span events on their invocation span */
    CHECK(s1 && count_events(s1, "cold_start") == 1);
    if (s1 && s1->n_events >= 1) {
        const struct cap_attr *d = cattr(&s1->event_attrs[0], "faas.init_duration_ms");
        CHECK(d && d->type == SP_VAL_DOUBLE && d->d == 312.4);
    }
    CHECK(s2 && count_events(s2, "retry") >= 1);
    CHECK_EQ_INT(SP.stats.wf_opened, 1);
    CHECK_EQ_INT(SP.stats.wf_closed, 1);
    CHECK_EQ_INT(SP.stats.wf_open, 0);
    agent_down();
}

static void test_rule2_errors(void)
{
    /* a dead letter makes the workflow span an error */
    agent_up(NULL);
    uint8_t w[8];
    wid("wf-dlq", w);
    FEED("{'type':'event','name':'workflow_start','correlation_id':'wf-dlq'}");
    FEED("{'type':'event','name':'invocation_start','correlation_id':'wf-dlq','invocation_id':'i'}");
    FEED("{'type':'event','name':'invocation_end','correlation_id':'wf-dlq','invocation_id':'i','status':'ok'}");
    FEED("{'type':'event','name':'dead_letter','correlation_id':'wf-dlq','queue':'orders-dlq',"
         "'reason':'declined','message_id':'m-1'}");
    FEED("{'type':'event','name':'workflow_end','correlation_id':'wf-dlq','status':'ok'}");
    CHECK(run_until(p_span_id, w));
    struct cap_span *root = span_by_id(w);
    CHECK(root && root->status == SP_STATUS_ERROR);
    CHECK(root && int_attr(&root->attrs, "spindle.workflow.dead_letters") == 1);
    CHECK(root && count_events(root, "dead_letter") == 1);
    if (root && root->n_events >= 1) {
        CHECK(str_attr_is(&root->event_attrs[0], "messaging.destination.name", "orders-dlq"));
    }
    agent_down();

    /* a failed invocation makes both spans errors */
    agent_up(NULL);
    uint8_t inv[8];
    wid("wf-fail", w);
    iid("wf-fail", "i", inv);
    FEED("{'type':'event','name':'workflow_start','correlation_id':'wf-fail'}");
    FEED("{'type':'event','name':'invocation_start','correlation_id':'wf-fail','invocation_id':'i'}");
    FEED("{'type':'event','name':'invocation_end','correlation_id':'wf-fail','invocation_id':'i',"
         "'status':'error','error':'IssuerUnavailable'}");
    FEED("{'type':'event','name':'workflow_end','correlation_id':'wf-fail'}");
    CHECK(run_until(p_span_id, w));
    root = span_by_id(w);
    CHECK(root && root->status == SP_STATUS_ERROR);
    struct cap_span *is = span_by_id(inv);
    CHECK(is && is->status == SP_STATUS_ERROR);
    CHECK(is && strcmp(is->status_message, "IssuerUnavailable") == 0);
    agent_down();

    /* all ok: not an error */
    agent_up(NULL);
    wid("wf-ok", w);
    FEED("{'type':'event','name':'workflow_start','correlation_id':'wf-ok'}");
    FEED("{'type':'event','name':'invocation_start','correlation_id':'wf-ok','invocation_id':'i'}");
    FEED("{'type':'event','name':'invocation_end','correlation_id':'wf-ok','invocation_id':'i','status':'ok'}");
    FEED("{'type':'event','name':'workflow_end','correlation_id':'wf-ok','status':'ok'}");
    CHECK(run_until(p_span_id, w));
    root = span_by_id(w);
    CHECK(root && root->status != SP_STATUS_ERROR);
    CHECK(root && int_attr(&root->attrs, "spindle.workflow.invocations") == 1);
    agent_down();
}

/* --- rule 3 ------------------------------------------------------------------------ */

static void test_rule3_invocation(void)
{
    struct tweak tw = {.idle_ms = 5000};
    agent_up(&tw);
    const char *cid = "wf-inv";
    uint8_t w[8], t[16], i1[8], i2[8];
    wid(cid, w);
    tid(cid, t);
    iid(cid, "inv-1", i1);
    iid(cid, "inv-open", i2);
    FEED("{'type':'event','name':'workflow_start','correlation_id':'wf-inv'}");
    FEED("{'type':'event','name':'invocation_start','correlation_id':'wf-inv','invocation_id':'inv-1',"
         "'function':'charge-card','trigger':'pubsub','cold_start':true,'ts':1740830400.25}");
    FEED("{'type':'event','name':'invocation_start','correlation_id':'wf-inv','invocation_id':'inv-open',"
         "'function':'other-fn','trigger':'timer'}");
    FEED("{'type':'event','name':'invocation_end','correlation_id':'wf-inv','invocation_id':'inv-1',"
         "'status':'ok','ts':1740830400.75}");
    /* emitted at invocation_end, while the workflow is still open */
    CHECK(run_until(p_span_id, i1));
    CHECK(span_by_id(w) == NULL);
    CHECK(span_by_id(i2) == NULL);
    struct cap_span *s = span_by_id(i1);
    CHECK(s != NULL);
    if (s) {
        CHECK(memcmp(s->trace_id, t, 16) == 0);
        CHECK(s->has_parent && memcmp(s->parent, w, 8) == 0);
        CHECK(bool_attr_is(&s->attrs, "faas.coldstart", 1));
        CHECK(str_attr_is(&s->attrs, "faas.trigger", "pubsub"));
        CHECK(str_attr_is(&s->attrs, "faas.invocation_id", "inv-1"));
        CHECK(strcmp(s->function, "charge-card") == 0);
        CHECK(s->start_ns == UINT64_C(1740830400250000000));
        CHECK(s->end_ns == UINT64_C(1740830400750000000));
        CHECK(s->status == SP_STATUS_OK);
    }
    /* started but not ended: emitted when the workflow closes */
    FEED("{'type':'event','name':'workflow_end','correlation_id':'wf-inv'}");
    CHECK(run_until(p_span_id, w));
    CHECK(run_until(p_span_id, i2));
    s = span_by_id(i2);
    CHECK(s && s->has_parent && memcmp(s->parent, w, 8) == 0);
    CHECK(s && bool_attr_is(&s->attrs, "faas.coldstart", 0));
    CHECK(s && str_attr_is(&s->attrs, "faas.trigger", "timer"));
    CHECK(s && memcmp(s->trace_id, t, 16) == 0);
    CHECK_EQ_INT(count_span_id(i1), 1);
    CHECK_EQ_INT(count_span_id(i2), 1);
    agent_down();
}

static void test_rule3_duplicate_end(void)
{
    /* an invocation_end sent twice (say, a client retrying its write) must not
     * emit the same invocation span twice */
    struct tweak tw = {.idle_ms = 5000};
    agent_up(&tw);
    uint8_t w[8], i1[8];
    wid("wf-dup", w);
    iid("wf-dup", "inv-1", i1);
    FEED("{'type':'event','name':'workflow_start','correlation_id':'wf-dup'}");
    FEED("{'type':'event','name':'invocation_start','correlation_id':'wf-dup','invocation_id':'inv-1'}");
    FEED("{'type':'event','name':'invocation_end','correlation_id':'wf-dup','invocation_id':'inv-1','status':'ok'}");
    FEED("{'type':'event','name':'invocation_end','correlation_id':'wf-dup','invocation_id':'inv-1','status':'ok'}");
    FEED("{'type':'event','name':'workflow_end','correlation_id':'wf-dup'}");
    CHECK(run_until(p_span_id, w));
    run_for(30);
    CHECK_EQ_INT(count_span_id(i1), 1);
    agent_down();
}

/* --- rules 4 and 5 -------------------------------------------------------------------- */

static void test_rule4_5_parents(void)
{
    struct tweak tw = {.idle_ms = 5000};
    agent_up(&tw);
    const char *cid = "wf-par";
    uint8_t w[8], t[16], i1[8], i9[8], sid[8], psid[8];
    wid(cid, w);
    tid(cid, t);
    iid(cid, "inv-1", i1);
    iid(cid, "inv-9", i9);
    hexid("5f1c0a2b3c4d5e6f", sid, 8);
    hexid("0102030405060708", psid, 8);
    FEED("{'type':'event','name':'workflow_start','correlation_id':'wf-par'}");
    FEED("{'type':'event','name':'invocation_start','correlation_id':'wf-par','invocation_id':'inv-1'}");
    FEED("{'type':'span','correlation_id':'wf-par','invocation_id':'inv-1','name':'under-inv',"
         "'start':1740830400,'end':1740830401,'span_id':'5f1c0a2b3c4d5e6f','kind':'client',"
         "'status':'error','status_message':'502','attributes':{'http':{'status_code':502}}}");
    FEED("{'type':'span','correlation_id':'wf-par','name':'under-root','start':1740830400,'duration_ms':5}");
    FEED("{'type':'span','correlation_id':'wf-par','invocation_id':'inv-1','name':'explicit',"
         "'start':1740830400,'end':1740830400.5,'parent_span_id':'0102030405060708'}");
    /* an invocation this agent never saw start: parent still derived */
    FEED("{'type':'span','correlation_id':'wf-par','invocation_id':'inv-9','name':'foreign-inv',"
         "'start':1740830400,'end':1740830401}");
    /* logs: own span id, invocation, workflow */
    FEED("{'type':'log','correlation_id':'wf-par','invocation_id':'inv-1','span_id':'5f1c0a2b3c4d5e6f',"
         "'severity':'error','msg':'own span'}");
    FEED("{'type':'log','correlation_id':'wf-par','invocation_id':'inv-1','body':'inv span','severity':'WARN'}");
    FEED("{'type':'log','correlation_id':'wf-par','body':'root span','severity':9}");
    int want = 4;
    CHECK(run_until(p_n_spans, &want));
    CHECK(run_until(p_log_body, "root span"));

    struct cap_span *s = span_by_name("under-inv");
    CHECK(s != NULL);
    if (s) {
        CHECK(memcmp(s->trace_id, t, 16) == 0);
        CHECK(memcmp(s->span_id, sid, 8) == 0);
        CHECK(s->has_parent && memcmp(s->parent, i1, 8) == 0);
        CHECK_EQ_INT(s->kind, SP_KIND_CLIENT);
        CHECK_EQ_INT(s->status, SP_STATUS_ERROR);
        CHECK(strcmp(s->status_message, "502") == 0);
        CHECK(s->start_ns == UINT64_C(1740830400000000000));
        CHECK(s->end_ns == UINT64_C(1740830401000000000));
        CHECK_EQ_INT(int_attr(&s->attrs, "http.status_code"), 502);
    }
    s = span_by_name("under-root");
    CHECK(s != NULL);
    if (s) {
        CHECK(memcmp(s->trace_id, t, 16) == 0);
        CHECK(s->has_parent && memcmp(s->parent, w, 8) == 0);
        CHECK(!sp_id_is_zero(s->span_id, 8));
        CHECK(memcmp(s->span_id, w, 8) != 0 && memcmp(s->span_id, i1, 8) != 0);
        CHECK(s->end_ns == UINT64_C(1740830400005000000));
        CHECK_EQ_INT(s->kind, SP_KIND_INTERNAL);
    }
    s = span_by_name("explicit");
    CHECK(s && s->has_parent && memcmp(s->parent, psid, 8) == 0);
    s = span_by_name("foreign-inv");
    CHECK(s && s->has_parent && memcmp(s->parent, i9, 8) == 0);

    struct cap_log *l = log_by_body("own span");
    CHECK(l && l->has_trace && memcmp(l->trace_id, t, 16) == 0 && memcmp(l->span_id, sid, 8) == 0);
    CHECK(l && l->severity_number == 17);
    l = log_by_body("inv span");
    CHECK(l && memcmp(l->trace_id, t, 16) == 0 && memcmp(l->span_id, i1, 8) == 0);
    CHECK(l && l->severity_number == 13);
    l = log_by_body("root span");
    CHECK(l && memcmp(l->trace_id, t, 16) == 0 && memcmp(l->span_id, w, 8) == 0);
    CHECK(l && l->severity_number == 9);

    /* the user spans are not held back, and neither the root nor the open
     * invocation has been emitted yet */
    CHECK(span_by_id(w) == NULL);
    CHECK(span_by_id(i1) == NULL);
    corr_close_all(SP.corr);
    CHECK(run_until(p_span_id, w));
    CHECK(run_until(p_span_id, i1));
    agent_down();
}

/* --- rule 6 ------------------------------------------------------------------------ */

static void test_rule6_close_on_end(void)
{
    /* idle timeout far away: only workflow_end + grace can close it */
    struct tweak tw = {.idle_ms = 10000};
    agent_up(&tw);
    uint8_t w[8];
    wid("wf-end", w);
    FEED("{'type':'event','name':'workflow_start','correlation_id':'wf-end'}");
    run_for(10);
    CHECK(span_by_id(w) == NULL);
    FEED("{'type':'event','name':'workflow_end','correlation_id':'wf-end'}");
    /* a straggler within the grace period is not late */
    FEED("{'type':'log','correlation_id':'wf-end','body':'straggler'}");
    CHECK(run_until(p_span_id, w));
    CHECK_EQ_INT(SP.stats.late_record, 0);
    CHECK_EQ_INT(SP.stats.wf_closed, 1);
    agent_down();
}

static void test_rule6_idle_and_late(void)
{
    agent_up(NULL); /* idle 50 ms */
    const char *cid = "wf-idle";
    uint8_t w[8], tpt[16], i1[8];
    wid(cid, w);
    iid(cid, "inv-1", i1);
    hexid(TP_TRACE, tpt, 16);
    FEED("{'type':'event','name':'workflow_start','correlation_id':'wf-idle','traceparent':'" TP "'}");
    FEED("{'type':'event','name':'invocation_start','correlation_id':'wf-idle','invocation_id':'inv-1'}");
    FEED("{'type':'event','name':'invocation_end','correlation_id':'wf-idle','invocation_id':'inv-1','status':'ok'}");
    /* no workflow_end: closes after the idle timeout */
    CHECK(run_until(p_span_id, w));
    CHECK_EQ_INT(SP.stats.wf_closed, 1);
    CHECK_EQ_INT(SP.stats.wf_open, 0);
    CHECK_EQ_INT(SP.stats.late_record, 0);
    struct cap_span *root = span_by_id(w);
    CHECK(root && memcmp(root->trace_id, tpt, 16) == 0);

    /* late records: same trace, parented as before, counted, no second root */
    FEED("{'type':'log','correlation_id':'wf-idle','body':'late log'}");
    CHECK_EQ_INT(SP.stats.late_record, 1);
    FEED("{'type':'span','correlation_id':'wf-idle','name':'late span','start':1740830400,'end':1740830401}");
    FEED("{'type':'span','correlation_id':'wf-idle','invocation_id':'inv-1','name':'late inv span',"
         "'start':1740830400,'end':1740830401}");
    /* a late invocation_end of an invocation already emitted: not emitted twice */
    FEED("{'type':'event','name':'invocation_end','correlation_id':'wf-idle','invocation_id':'inv-1','status':'ok'}");
    FEED("{'type':'event','name':'workflow_end','correlation_id':'wf-idle'}");
    CHECK(run_until(p_log_body, "late log"));
    CHECK(run_until(p_span_name, "late inv span"));
    run_for(150); /* past grace and idle timeout of the reopened workflow */
    struct cap_log *l = log_by_body("late log");
    CHECK(l && memcmp(l->trace_id, tpt, 16) == 0 && memcmp(l->span_id, w, 8) == 0);
    struct cap_span *s = span_by_name("late span");
    CHECK(s && memcmp(s->trace_id, tpt, 16) == 0 && s->has_parent && memcmp(s->parent, w, 8) == 0);
    s = span_by_name("late inv span");
    CHECK(s && memcmp(s->trace_id, tpt, 16) == 0 && memcmp(s->parent, i1, 8) == 0);
    CHECK_EQ_INT(count_span_id(w), 1);
    CHECK_EQ_INT(count_span_id(i1), 1);
    CHECK(SP.stats.late_record >= 1);
    CHECK_EQ_INT(SP.stats.wf_opened, 1);
    agent_down();
}

static void test_rule6_eviction(void)
{
    struct tweak tw = {.idle_ms = 10000, .max_open = 2};
    agent_up(&tw);
    uint8_t wa[8], wb[8], wc[8];
    wid("wf-A", wa);
    wid("wf-B", wb);
    wid("wf-C", wc);
    FEED("{'type':'event','name':'workflow_start','correlation_id':'wf-A'}");
    FEED("{'type':'event','name':'workflow_start','correlation_id':'wf-B'}");
    /* touching B again keeps A the longest idle */
    FEED("{'type':'log','correlation_id':'wf-B','body':'b'}");
    CHECK_EQ_INT(SP.stats.wf_evicted, 0);
    FEED("{'type':'event','name':'workflow_start','correlation_id':'wf-C'}");
    CHECK_EQ_INT(SP.stats.wf_evicted, 1);
    CHECK_EQ_INT(SP.stats.wf_opened, 3);
    CHECK_EQ_INT(SP.stats.wf_open, 2);
    CHECK_EQ_INT(SP.stats.wf_closed, 1);
    CHECK(run_until(p_span_id, wa));
    run_for(20);
    CHECK(span_by_id(wb) == NULL);
    CHECK(span_by_id(wc) == NULL);
    /* LRU: A touched again would have been kept; here B and C stay open.
     * Shutting down closes them. */
    corr_close_all(SP.corr);
    CHECK(run_until(p_span_id, wb));
    CHECK(run_until(p_span_id, wc));
    CHECK_EQ_INT(count_span_id(wa), 1);
    CHECK_EQ_INT(SP.stats.wf_open, 0);
    agent_down();

    /* LRU order: the one touched most recently survives */
    agent_up(&tw);
    FEED("{'type':'event','name':'workflow_start','correlation_id':'wf-A'}");
    FEED("{'type':'event','name':'workflow_start','correlation_id':'wf-B'}");
    FEED("{'type':'log','correlation_id':'wf-A','body':'a again'}");
    FEED("{'type':'event','name':'workflow_start','correlation_id':'wf-C'}");
    CHECK(run_until(p_span_id, wb));
    run_for(20);
    CHECK(span_by_id(wa) == NULL);
    agent_down();
}

static void test_rule2_no_root_without_start(void)
{
    struct tweak tw = {.no_root_without_start = 1}; /* idle 50 ms */
    agent_up(&tw);
    const char *cid = "wf-nostart";
    uint8_t w[8], t[16], i1[8], i2[8], i3[8];
    wid(cid, w);
    tid(cid, t);
    iid(cid, "inv-1", i1);
    iid(cid, "inv-2", i2);
    iid(cid, "inv-3", i3);
    FEED("{'type':'event','name':'invocation_start','correlation_id':'wf-nostart','invocation_id':'inv-1'}");
    FEED("{'type':'event','name':'invocation_end','correlation_id':'wf-nostart','invocation_id':'inv-1','status':'ok'}");
    FEED("{'type':'event','name':'invocation_start','correlation_id':'wf-nostart','invocation_id':'inv-2'}");
    FEED("{'type':'span','correlation_id':'wf-nostart','invocation_id':'inv-3','name':'other agents inv',"
         "'start':1740830400,'end':1740830401}");
    FEED("{'type':'span','correlation_id':'wf-nostart','name':'no inv','start':1740830400,'end':1740830401}");
    /* free-form event with no span of this agent to live on: a log record */
    FEED("{'type':'event','name':'cache_miss','correlation_id':'wf-nostart','attributes':{'key':'k'}}");
    CHECK(run_until(p_span_id, i1));
    CHECK(run_until(p_span_id, i2)); /* at close (idle timeout) */
    run_for(80);
    CHECK_EQ_INT(SP.stats.wf_closed, 1);
    CHECK(span_by_id(w) == NULL);
    CHECK(span_by_id(i3) == NULL);
    struct cap_span *s = span_by_id(i1);
    CHECK(s && memcmp(s->trace_id, t, 16) == 0 && s->has_parent && memcmp(s->parent, w, 8) == 0);
    s = span_by_id(i2);
    CHECK(s && s->has_parent && memcmp(s->parent, w, 8) == 0);
    s = span_by_name("other agents inv");
    CHECK(s && memcmp(s->parent, i3, 8) == 0);
    s = span_by_name("no inv");
    CHECK(s && memcmp(s->parent, w, 8) == 0);
    int found = 0;
    for (int i = 0; i < N_LOGS; i++) {
        if (str_attr_is(&LOGS[i].attrs, "event.name", "cache_miss")) {
            found = 1;
            CHECK(memcmp(LOGS[i].trace_id, t, 16) == 0);
            /* OTLP LogRecord.event_name, beside the attribute */
            CHECK(strcmp(LOGS[i].event_name, "cache_miss") == 0);
        }
    }
    CHECK(found);
    agent_down();
}

static void test_close_all(void)
{
    struct tweak tw = {.idle_ms = 10000};
    agent_up(&tw);
    uint8_t w1[8], w2[8], w3[8], i1[8];
    wid("wf-1", w1);
    wid("wf-2", w2);
    wid("wf-3", w3);
    iid("wf-2", "open-inv", i1);
    FEED("{'type':'event','name':'workflow_start','correlation_id':'wf-1'}");
    FEED("{'type':'event','name':'workflow_start','correlation_id':'wf-2'}");
    FEED("{'type':'event','name':'invocation_start','correlation_id':'wf-2','invocation_id':'open-inv'}");
    FEED("{'type':'log','correlation_id':'wf-3','body':'only a log'}"); /* root_without_start on */
    FEED("{'type':'event','name':'workflow_end','correlation_id':'wf-1'}"); /* closing */
    run_for(10);
    CHECK(span_by_id(w2) == NULL && span_by_id(w3) == NULL);
    corr_close_all(SP.corr);
    CHECK_EQ_INT(SP.stats.wf_open, 0);
    CHECK_EQ_INT(SP.stats.wf_closed, 3);
    int want = 4;
    CHECK(run_until(p_n_spans, &want));
    CHECK_EQ_INT(count_span_id(w1), 1);
    CHECK_EQ_INT(count_span_id(w2), 1);
    CHECK_EQ_INT(count_span_id(w3), 1);
    CHECK_EQ_INT(count_span_id(i1), 1);
    run_for(60);
    CHECK_EQ_INT(N_SPANS, 4);
    agent_down();
}

static struct cap_metric *metric_named_(const char *name)
{
    for (int i = N_METRICS - 1; i >= 0; i--) {
        if (strcmp(METRICS[i].name, name) == 0) {
            return &METRICS[i];
        }
    }
    return NULL;
}

/* The complete example of docs/protocol.md, end to end. */
static void test_docs_example(void)
{
    struct tweak tw = {.idle_ms = 10000};
    agent_up(&tw);
    FEED("{'type':'event','name':'workflow_start','correlation_id':'order-7731','workflow':'checkout','ts':'2025-03-01T12:00:00Z'}");
    FEED("{'type':'event','name':'invocation_start','correlation_id':'order-7731','invocation_id':'inv-0001','function':'charge-card','trigger':'http','cold_start':true,'ts':'2025-03-01T12:00:00.010Z'}");
    FEED("{'type':'event','name':'cold_start','correlation_id':'order-7731','invocation_id':'inv-0001','function':'charge-card','init_duration_ms':312.4,'ts':'2025-03-01T12:00:00.010Z'}");
    FEED("{'type':'span','correlation_id':'order-7731','invocation_id':'inv-0001','function':'charge-card','name':'POST /v1/charges','kind':'client','start':'2025-03-01T12:00:00.120Z','end':'2025-03-01T12:00:00.204Z','status':'error','status_message':'502 from issuer','span_id':'5f1c0a2b3c4d5e6f'}");
    FEED("{'type':'log','correlation_id':'order-7731','invocation_id':'inv-0001','function':'charge-card','span_id':'5f1c0a2b3c4d5e6f','severity':'error','msg':'issuer returned 502','ts':'2025-03-01T12:00:00.205Z'}");
    FEED("{'type':'event','name':'invocation_end','correlation_id':'order-7731','invocation_id':'inv-0001','function':'charge-card','status':'error','error':'IssuerUnavailable','ts':'2025-03-01T12:00:00.250Z'}");
    FEED("{'type':'event','name':'retry','correlation_id':'order-7731','invocation_id':'inv-0002','function':'charge-card','attempt':2,'reason':'IssuerUnavailable','ts':'2025-03-01T12:00:00.900Z'}");
    FEED("{'type':'event','name':'invocation_start','correlation_id':'order-7731','invocation_id':'inv-0002','function':'charge-card','trigger':'http','attempt':2,'ts':'2025-03-01T12:00:01Z'}");
    FEED("{'type':'metric','function':'charge-card','name':'charges.amount','kind':'histogram','unit':'{EUR}','value':42.5,'correlation_id':'order-7731','ts':'2025-03-01T12:00:01.100Z'}");
    FEED("{'type':'event','name':'invocation_end','correlation_id':'order-7731','invocation_id':'inv-0002','function':'charge-card','status':'ok','ts':'2025-03-01T12:00:01.400Z'}");
    FEED("{'type':'event','name':'workflow_end','correlationId':'order-7731','status':'ok','ts':1740830401.5}");
    sp_metrics_export(SP.metrics);

    uint8_t trace[16], root_id[8], inv1[8], inv2[8], post[8];
    hexid("0e5b073b0ebc6fd35dba979f58beeee3", trace, 16);
    hexid("b77d3f462ad75805", root_id, 8);
    hexid("5f1c0a2b3c4d5e6f", post, 8);
    iid("order-7731", "inv-0001", inv1);
    iid("order-7731", "inv-0002", inv2);
    CHECK(run_until(p_span_id, root_id));
    int one = 1;
    CHECK(run_until(p_n_metrics, &one));
    CHECK(run_until(p_log_body, "issuer returned 502"));
    run_for(30);

    CHECK_EQ_INT(N_SPANS, 4);
    for (int i = 0; i < N_SPANS; i++) {
        CHECK(memcmp(SPANS[i].trace_id, trace, 16) == 0);
    }
    struct cap_span *root = span_by_id(root_id);
    CHECK(root != NULL);
    if (root) {
        CHECK_EQ_INT(root->status, SP_STATUS_ERROR);
        CHECK_EQ_INT(int_attr(&root->attrs, "spindle.workflow.invocations"), 2);
        CHECK_EQ_INT(int_attr(&root->attrs, "spindle.workflow.retries"), 1);
        CHECK_EQ_INT(int_attr(&root->attrs, "spindle.workflow.cold_starts"), 1);
        CHECK(root->start_ns == UINT64_C(1740830400000000000));
        CHECK(root->end_ns == UINT64_C(1740830401500000000));
        CHECK(!root->has_parent);
        /* no function on workflow_start, no service.name configured */
        CHECK(strcmp(root->function, "") == 0 && strcmp(root->service, "checkout") == 0);
    }
    struct cap_span *s1 = span_by_id(inv1), *s2 = span_by_id(inv2), *p = span_by_id(post);
    /* Every record has its time: the durations the docs give. */
    CHECK(s1 && s1->end_ns - s1->start_ns == UINT64_C(240000000));
    CHECK(s2 && s2->end_ns - s2->start_ns == UINT64_C(400000000));
    CHECK(s1 && memcmp(s1->parent, root_id, 8) == 0 && s1->status == SP_STATUS_ERROR);
    CHECK(s2 && memcmp(s2->parent, root_id, 8) == 0 && s2->status == SP_STATUS_OK);
    CHECK(p && memcmp(p->parent, inv1, 8) == 0);
    CHECK(p && strcmp(p->function, "charge-card") == 0);
    struct cap_log *l = log_by_body("issuer returned 502");
    CHECK(l && memcmp(l->span_id, post, 8) == 0 && memcmp(l->trace_id, trace, 16) == 0);
    /* The user's metric (derived faas.* series are exported beside it). */
    struct cap_metric *m = NULL;
    for (int i = 0; i < N_METRICS; i++) {
        if (strcmp(METRICS[i].name, "charges.amount") == 0) {
            m = &METRICS[i];
        }
    }
    CHECK(m && strcmp(m->name, "charges.amount") == 0 && m->kind == SP_METRIC_HISTOGRAM);
    CHECK(m && m->n_ex == 1 && memcmp(m->ex_trace[0], trace, 16) == 0);
    struct cap_metric *d = metric_named_("faas.invoke_duration");
    CHECK(d && d->count == 2 && d->sum > 0.639 && d->sum < 0.641);
    agent_down();
}

/* --- metrics ---------------------------------------------------------------------- */

static struct cap_metric *metric_named(const char *name, int nth)
{
    for (int i = 0; i < N_METRICS; i++) {
        if (strcmp(METRICS[i].name, name) == 0 && nth-- == 0) {
            return &METRICS[i];
        }
    }
    return NULL;
}

static int count_metric(const char *name)
{
    int n = 0;
    for (int i = 0; i < N_METRICS; i++) {
        n += strcmp(METRICS[i].name, name) == 0;
    }
    return n;
}

static void test_metrics(void)
{
    struct tweak tw = {.idle_ms = 10000};
    agent_up(&tw);
    uint8_t tpt[16], w[8], inv[8], derived[16];
    hexid(TP_TRACE, tpt, 16);
    wid("wf-m", w);
    iid("wf-m", "inv-7", inv);
    tid("wf-unknown", derived);
    /* the workflow's trace comes from its traceparent */
    FEED("{'type':'event','name':'workflow_start','correlation_id':'wf-m','traceparent':'" TP "'}");

    FEED("{'type':'metric','name':'requests','kind':'counter','value':1,'unit':'{request}'}");
    FEED("{'type':'metric','name':'requests','kind':'counter','value':2,'unit':'{request}'}");
    FEED("{'type':'metric','name':'requests','kind':'counter','value':3.5,'unit':'{request}'}");
    FEED("{'type':'metric','name':'depth','kind':'gauge','value':5}");
    FEED("{'type':'metric','name':'depth','kind':'gauge','value':3}");
    FEED("{'type':'metric','name':'depth','kind':'gauge','value':-1}");
    FEED("{'type':'metric','name':'lat','kind':'histogram','value':0,'unit':'ms'}");
    FEED("{'type':'metric','name':'lat','kind':'histogram','value':5,'unit':'ms'}");
    FEED("{'type':'metric','name':'lat','kind':'histogram','value':7,'unit':'ms'}");
    FEED("{'type':'metric','name':'lat','kind':'histogram','value':100,'unit':'ms'}");
    FEED("{'type':'metric','name':'lat','kind':'histogram','value':20000,'unit':'ms'}");
    /* two correlation ids, same series; attribute order does not matter */
    FEED("{'type':'metric','name':'charges','kind':'counter','value':1,'correlation_id':'wf-m',"
         "'attributes':{'currency':'EUR','region':'eu'}}");
    FEED("{'type':'metric','name':'charges','kind':'counter','value':1,'correlation_id':'wf-unknown',"
         "'attributes':{'region':'eu','currency':'EUR'}}");
    FEED("{'type':'metric','name':'charges','kind':'counter','value':1,'correlation_id':'wf-m',"
         "'invocation_id':'inv-7','attributes':{'currency':'EUR','region':'eu'}}");
    /* different attributes / function: different series */
    FEED("{'type':'metric','name':'charges','kind':'counter','value':10,'attributes':{'currency':'USD','region':'eu'}}");
    FEED("{'type':'metric','name':'charges','kind':'counter','value':100,'function':'fn-b',"
         "'attributes':{'currency':'EUR','region':'eu'}}");
    sp_metrics_export(SP.metrics);
    int want = 6;
    CHECK(run_until(p_n_metrics, &want));
    run_for(20);
    CHECK_EQ_INT(N_METRICS, 6);

    struct cap_metric *m = metric_named("requests", 0);
    CHECK(m && m->kind == SP_METRIC_COUNTER && m->value == 6.5);
    CHECK(m && strcmp(m->unit, "{request}") == 0);
    CHECK(m && m->n_ex == 0);
    m = metric_named("depth", 0);
    CHECK(m && m->kind == SP_METRIC_GAUGE && m->value == -1.0);
    m = metric_named("lat", 0);
    CHECK(m && m->kind == SP_METRIC_HISTOGRAM);
    if (m) {
        CHECK_EQ_INT(m->count, 5);
        CHECK(m->sum == 20112.0);
        CHECK(m->min == 0.0);
        CHECK(m->max == 20000.0);
        CHECK_EQ_INT(m->n_bounds, 15);
        CHECK(m->n_bounds == 15 && m->bounds[0] == 0 && m->bounds[1] == 5 && m->bounds[14] == 10000);
        /* upper bounds inclusive: 0 -> (-inf,0], 5 -> (0,5], 7 -> (5,10],
         * 100 -> (75,100], 20000 -> (10000,+inf) */
        uint64_t want_b[16] = {1, 1, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 1};
        int ok = 1;
        uint64_t total = 0;
        for (int i = 0; i < 16; i++) {
            ok &= m->buckets[i] == want_b[i];
            total += m->buckets[i];
        }
        CHECK(ok);
        CHECK_EQ_INT(total, 5);
    }
    CHECK_EQ_INT(count_metric("charges"), 3);
    /* the EUR series of the unnamed function */
    struct cap_metric *eur = NULL, *usd = NULL, *fnb = NULL;
    for (int i = 0; i < 3; i++) {
        struct cap_metric *c = metric_named("charges", i);
        if (!c) {
            continue;
        }
        if (strcmp(c->function, "fn-b") == 0) {
            fnb = c;
        } else if (str_attr_is(&c->attrs, "currency", "USD")) {
            usd = c;
        } else {
            eur = c;
        }
    }
    CHECK(eur && usd && fnb);
    if (eur) {
        CHECK(eur->value == 3.0);
        CHECK_EQ_INT(eur->attrs.n, 2);
        CHECK(cattr(&eur->attrs, "correlation_id") == NULL);
        CHECK(cattr(&eur->attrs, "spindle.correlation_id") == NULL);
        CHECK(cattr(&eur->attrs, "invocation_id") == NULL);
        CHECK(cattr(&eur->attrs, "faas.invocation_id") == NULL);
        CHECK_EQ_INT(eur->n_ex, 3);
        if (eur->n_ex == 3) {
            /* wf-m: the workflow's (traceparent) trace, its root span */
            CHECK(memcmp(eur->ex_trace[0], tpt, 16) == 0);
            CHECK(memcmp(eur->ex_span[0], w, 8) == 0);
            CHECK(strcmp(eur->ex_cid[0], "wf-m") == 0);
            /* a workflow the correlator does not know: the derived trace */
            CHECK(memcmp(eur->ex_trace[1], derived, 16) == 0);
            CHECK(strcmp(eur->ex_cid[1], "wf-unknown") == 0);
            /* with an invocation: its invocation span */
            CHECK(memcmp(eur->ex_trace[2], tpt, 16) == 0);
            CHECK(memcmp(eur->ex_span[2], inv, 8) == 0);
        }
    }
    CHECK(usd && usd->value == 10.0 && usd->n_ex == 0);
    CHECK(fnb && fnb->value == 100.0);

    /* counters are cumulative across exports; exemplars describe one interval */
    int before = N_METRICS;
    FEED("{'type':'metric','name':'requests','kind':'counter','value':0.5,'unit':'{request}'}");
    sp_metrics_export(SP.metrics);
    want = before + 6;
    CHECK(run_until(p_n_metrics, &want));
    struct cap_metric *r2 = metric_named("requests", 1);
    CHECK(r2 && r2->value == 7.0);
    struct cap_metric *eur2 = NULL;
    for (int i = before; i < N_METRICS; i++) {
        if (strcmp(METRICS[i].name, "charges") == 0 && METRICS[i].function[0] == 0 &&
            str_attr_is(&METRICS[i].attrs, "currency", "EUR")) {
            eur2 = &METRICS[i];
        }
    }
    CHECK(eur2 && eur2->value == 3.0 && eur2->n_ex == 0);
    agent_down();
}

static void test_rule6_reopen_respects_cap(void)
{
    /* A late record reopens a closed workflow: the open-workflow cap still
     * holds (the longest idle closes early, counted). */
    struct tweak tw = {.idle_ms = 10000, .max_open = 2};
    agent_up(&tw);
    uint8_t wa[8], wb[8];
    wid("wf-A", wa);
    wid("wf-B", wb);
    FEED("{'type':'event','name':'workflow_start','correlation_id':'wf-A'}");
    FEED("{'type':'event','name':'workflow_end','correlation_id':'wf-A'}");
    CHECK(run_until(p_span_id, wa)); /* A closed after the grace period */
    FEED("{'type':'event','name':'workflow_start','correlation_id':'wf-B'}");
    FEED("{'type':'event','name':'workflow_start','correlation_id':'wf-C'}");
    CHECK_EQ_INT(SP.stats.wf_open, 2);
    CHECK_EQ_INT(SP.stats.wf_evicted, 0);
    FEED("{'type':'log','correlation_id':'wf-A','body':'late for A'}");
    CHECK_EQ_INT(SP.stats.late_record, 1);
    CHECK(SP.stats.wf_open <= 2);
    CHECK_EQ_INT(SP.stats.wf_evicted, 1);
    CHECK(run_until(p_log_body, "late for A"));
    agent_down();
}

static void test_event_not_lost_without_root(void)
{
    /* root_without_start off, no workflow_start, no invocation_start: a
     * free-form event naming an invocation must still be exported somewhere
     * (a span event on a span this agent emits, else a log record). */
    struct tweak tw = {.no_root_without_start = 1}; /* idle 50 ms */
    agent_up(&tw);
    uint8_t t[16];
    tid("wf-ev", t);
    FEED("{'type':'event','name':'cache_miss','correlation_id':'wf-ev','invocation_id':'inv-x',"
         "'attributes':{'key':'customer:88'}}");
    FEED("{'type':'log','correlation_id':'wf-ev','invocation_id':'inv-x','body':'marker'}");
    CHECK(run_until(p_log_body, "marker"));
    run_for(150); /* past the idle timeout */
    CHECK_EQ_INT(SP.stats.wf_closed, 1);
    int found = 0;
    for (int i = 0; i < N_LOGS; i++) {
        if (str_attr_is(&LOGS[i].attrs, "event.name", "cache_miss") ||
            strcmp(LOGS[i].body, "cache_miss") == 0) {
            found = 1;
            CHECK(memcmp(LOGS[i].trace_id, t, 16) == 0);
        }
    }
    for (int i = 0; i < N_SPANS; i++) {
        found |= count_events(&SPANS[i], "cache_miss") > 0;
    }
    CHECK(found);
    agent_down();
}

/* An event of an invocation whose span already went out (a dead_letter after
 * invocation_end) lands on the workflow span this agent will emit, naming its
 * invocation: the trace opened from a DeadLetter alert shows it. */
static void test_event_after_invocation_end(void)
{
    agent_up(NULL);
    uint8_t w[8], i1[8];
    wid("wf-dl", w);
    iid("wf-dl", "inv-1", i1);
    FEED("{'type':'event','name':'workflow_start','correlation_id':'wf-dl','workflow':'orders'}");
    FEED("{'type':'event','name':'invocation_start','correlation_id':'wf-dl','invocation_id':'inv-1','function':'ship'}");
    FEED("{'type':'event','name':'invocation_end','correlation_id':'wf-dl','invocation_id':'inv-1','function':'ship','status':'error'}");
    CHECK(run_until(p_span_id, i1));
    FEED("{'type':'event','name':'dead_letter','correlation_id':'wf-dl','invocation_id':'inv-1','function':'ship',"
         "'queue':'orders-dlq','reason':'gave up','message_id':'m-1'}");
    FEED("{'type':'event','name':'cache_miss','correlation_id':'wf-dl','invocation_id':'inv-1','attributes':{'key':'k'}}");
    FEED("{'type':'event','name':'workflow_end','correlation_id':'wf-dl'}");
    CHECK(run_until(p_span_id, w));
    run_for(30);
    struct cap_span *root = span_by_id(w);
    CHECK(root && count_events(root, "dead_letter") == 1 && count_events(root, "cache_miss") == 1);
    for (uint32_t i = 0; root && i < root->n_events && i < MAX_EVENTS; i++) {
        const struct cap_attrs *ea = &root->event_attrs[i];
        CHECK(str_attr_is(ea, "faas.invocation_id", "inv-1"));
        if (strcmp(root->event_names[i], "dead_letter") == 0) {
            CHECK(str_attr_is(ea, "messaging.destination.name", "orders-dlq"));
            CHECK(str_attr_is(ea, "spindle.reason", "gave up"));
            CHECK(str_attr_is(ea, "messaging.message.id", "m-1"));
        } else {
            CHECK(str_attr_is(ea, "key", "k"));
        }
    }
    CHECK(root && int_attr(&root->attrs, "spindle.workflow.dead_letters") == 1);
    CHECK(root && root->status == SP_STATUS_ERROR);
    CHECK_EQ_INT(count_span_id(i1), 1);
    for (int i = 0; i < N_LOGS; i++) {
        CHECK(strcmp(LOGS[i].body, "dead_letter") != 0 && strcmp(LOGS[i].body, "cache_miss") != 0);
    }
    agent_down();
}

static void test_workflow_level_counts(void)
{
    agent_up(NULL);
    uint8_t w[8];
    wid("wf-wl", w);
    FEED("{'type':'event','name':'workflow_start','correlation_id':'wf-wl'}");
    /* retries without an invocation: per (workflow, attempt) */
    FEED("{'type':'event','name':'retry','correlation_id':'wf-wl','attempt':2}");
    FEED("{'type':'event','name':'retry','correlation_id':'wf-wl','attempt':2}");
    FEED("{'type':'event','name':'retry','correlation_id':'wf-wl','attempt':3}");
    /* the same attempt number on an invocation is another pair */
    FEED("{'type':'event','name':'retry','correlation_id':'wf-wl','invocation_id':'i','attempt':2}");
    FEED("{'type':'event','name':'throttle','correlation_id':'wf-wl'}");
    FEED("{'type':'event','name':'dead_letter','correlation_id':'wf-wl','queue':'q'}");
    FEED("{'type':'event','name':'dead_letter','correlation_id':'wf-wl','queue':'q'}");
    FEED("{'type':'event','name':'workflow_end','correlation_id':'wf-wl'}");
    CHECK(run_until(p_span_id, w));
    struct cap_span *root = span_by_id(w);
    CHECK(root && int_attr(&root->attrs, "spindle.workflow.retries") == 3);
    CHECK(root && int_attr(&root->attrs, "spindle.workflow.throttles") == 1);
    CHECK(root && int_attr(&root->attrs, "spindle.workflow.dead_letters") == 2);
    CHECK(root && int_attr(&root->attrs, "spindle.workflow.invocations") == 1);
    CHECK(root && root->status == SP_STATUS_ERROR);
    CHECK(root && strcmp(root->name, "workflow") == 0);
    agent_down();
}

static void test_metric_series_limit(void)
{
    agent_up(NULL);
    SP.cfg.max_metric_series = 2;
    FEED("{'type':'metric','name':'a','kind':'counter','value':1}");
    FEED("{'type':'metric','name':'b','kind':'counter','value':1}");
    FEED("{'type':'metric','name':'c','kind':'counter','value':1}");
    FEED("{'type':'metric','name':'a','kind':'counter','value':1}");
    CHECK_EQ_INT(SP.stats.drop_series_limit, 1);
    sp_metrics_export(SP.metrics);
    int want = 2;
    CHECK(run_until(p_n_metrics, &want));
    run_for(20);
    CHECK_EQ_INT(N_METRICS, 2);
    CHECK_EQ_INT(count_metric("c"), 0);
    struct cap_metric *a = metric_named("a", 0);
    CHECK(a && a->value == 2.0);
    agent_down();
}

/* An EMF blob of one Count metric `name` = v in namespace `ns`, env=prod. */
static void feed_emf(int ln, const char *ns, const char *name, int v)
{
    char line[512];
    snprintf(line, sizeof(line),
             "{'_aws':{'CloudWatchMetrics':[{'Namespace':'%s','Dimensions':[['env']],"
             "'Metrics':[{'Name':'%s','Unit':'Count'}]}]},'env':'prod','%s':%d}",
             ns, name, name, v);
    feed_at(ln, line);
}

static struct cap_metric *metric_in(const char *scope, const char *name)
{
    for (int i = 0; i < N_METRICS; i++) {
        if (strcmp(METRICS[i].name, name) == 0 && strcmp(METRICS[i].scope, scope) == 0) {
            return &METRICS[i];
        }
    }
    return NULL;
}

/* CloudWatch EMF: the namespace is the points' scope and part of the
 * series: `orders` in Shop and in Billing are two series. Past
 * SP_MAX_METRIC_SCOPES namespaces a further one folds into spindle's scope
 * with its namespace as an attribute (still a series of its own), counted;
 * a scope goes with its last series (series_ttl), making room again. */
static void test_emf_scopes(void)
{
    agent_up(NULL);
    feed_emf(__LINE__, "Shop", "orders", 1);
    feed_emf(__LINE__, "Billing", "orders", 5);
    feed_emf(__LINE__, "Shop", "orders", 2);
    sp_metrics_export(SP.metrics);
    int want = 2;
    CHECK(run_until(p_n_metrics, &want));
    struct cap_metric *shop = metric_in("Shop", "orders");
    struct cap_metric *bill = metric_in("Billing", "orders");
    CHECK(shop && shop->value == 3.0);
    CHECK(bill && bill->value == 5.0);
    CHECK(shop && cattr(&shop->attrs, "aws.cloudwatch.namespace") == NULL);
    CHECK(shop && str_attr_is(&shop->attrs, "env", "prod"));
    CHECK_EQ_INT(SP.stats.metric_scope_limit, 0);
    agent_down();

    agent_up(NULL);
    SP.cfg.metrics_series_ttl_ms = 1;
    SP.cfg.metrics_interval_ms = 1;
    char ns[32];
    for (unsigned i = 0; i < SP_MAX_METRIC_SCOPES; i++) {
        snprintf(ns, sizeof(ns), "NS%u", i);
        feed_emf(__LINE__, ns, "m", 1);
    }
    CHECK_EQ_INT(SP.stats.metric_scope_limit, 0);
    feed_emf(__LINE__, "Over1", "m", 7);
    feed_emf(__LINE__, "Over2", "m", 9);
    feed_emf(__LINE__, "Over1", "m", 1);
    CHECK_EQ_INT(SP.stats.metric_scope_limit, 3);
    feed_emf(__LINE__, "NS3", "m", 1); /* a held scope still takes points */
    CHECK_EQ_INT(SP.stats.metric_scope_limit, 3);
    sp_metrics_export(SP.metrics);
    want = (int)SP_MAX_METRIC_SCOPES + 2;
    CHECK(run_until(p_n_metrics, &want));
    run_for(20);
    CHECK_EQ_INT(N_METRICS, (int)SP_MAX_METRIC_SCOPES + 2);
    CHECK(metric_in("Over1", "m") == NULL);
    int folded = 0;
    for (int i = 0; i < N_METRICS; i++) {
        if (strcmp(METRICS[i].name, "m") == 0 && METRICS[i].scope[0] == '\0') {
            folded++;
            CHECK(str_attr_is(&METRICS[i].attrs, "aws.cloudwatch.namespace", "Over1") ||
                  str_attr_is(&METRICS[i].attrs, "aws.cloudwatch.namespace", "Over2"));
            CHECK(METRICS[i].value ==
                  (str_attr_is(&METRICS[i].attrs, "aws.cloudwatch.namespace", "Over1") ? 8.0 : 9.0));
        }
    }
    CHECK_EQ_INT(folded, 2);
    struct cap_metric *ns3 = metric_in("NS3", "m");
    CHECK(ns3 && ns3->value == 2.0);
    /* Nothing fed since: the series expire after the next export, and
     * their scopes with them. */
    run_for(10);
    sp_metrics_export(SP.metrics);
    run_for(10);
    N_METRICS = 0;
    feed_emf(__LINE__, "Fresh", "m", 4);
    CHECK_EQ_INT(SP.stats.metric_scope_limit, 3);
    sp_metrics_export(SP.metrics);
    want = 1;
    CHECK(run_until(p_n_metrics, &want));
    struct cap_metric *fresh = metric_in("Fresh", "m");
    CHECK(fresh && fresh->value == 4.0);
    agent_down();
}

int main(void)
{
    sp_log_setup(SP_LOG_OFF, 0);
    test_rule1_derived();
    test_rule1_traceparent();
    test_rule2_counts();
    test_rule2_errors();
    test_rule2_no_root_without_start();
    test_rule3_invocation();
    test_rule3_duplicate_end();
    test_rule4_5_parents();
    test_rule6_close_on_end();
    test_rule6_idle_and_late();
    test_rule6_eviction();
    test_close_all();
    test_docs_example();
    test_metrics();
    test_rule6_reopen_respects_cap();
    test_event_not_lost_without_root();
    test_event_after_invocation_end();
    test_workflow_level_counts();
    test_metric_series_limit();
    test_emf_scopes();
    return th_report("test_correlator");
}
