/*
 * telemetry_api.c - AWS Lambda Telemetry API batches to protocol records. See
 * telemetry_api.h; docs/lambda.md has the mapping as a table.
 *
 * Correlation: the invocation's correlation id is the one its first function
 * log line names (Powertools' `correlation_id`, or the first key of
 * records.log_correlation_keys present), else the X-Ray root of its
 * platform.start (`tracing.value`, "Root=1-...;Parent=..."), so the
 * workflow's trace id is the X-Ray trace id; else its request id. So
 * platform.start is held in the request's map entry until that line (or the
 * request's runtimeDone / report) arrives. Later events of the request
 * (runtimeDone, report, function log lines) carry only the request id, so
 * the choice is remembered for SP_LAMBDA_REQUEST_MAP requests: open ones
 * (started, no runtimeDone yet) are kept before done ones, and an open one is
 * let go only when that many are open at once (counted requests_evicted; its
 * held start is released keyed by its request id, which its later events
 * fall back to, so that they stay in one workflow).
 * Function log lines without a request id belong to the invocation running
 * (the last platform.start) - except under Lambda Managed Instances, where
 * many run at once and nothing says which one wrote the line: it goes to the
 * environment's own workflow (the function's, as init logs do) and is
 * counted logs_unattributed. (Under LMI the log format is always JSON and
 * the runtimes' loggers add requestId; raw stdout writes, Python's print,
 * carry none.) The init (restore) is shown under the first invocation to
 * start after it, whichever is released first.
 *
 * Ownership: struct sp_tapi owns its copies of ids; records handed to `emit`
 * point into the batch and the caller's scratch arena.
 */
#include "telemetry_api.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "caps.h"
#include "emf.h"
#include "hmap.h"
#include "ids.h"
#include "json.h"

enum init_type { INIT_ON_DEMAND = 0, INIT_PROVISIONED, INIT_SNAP_START, INIT_MANAGED };
static const char *const init_names[] = {"on-demand", "provisioned-concurrency", "snap-start",
                                         "lambda-managed-instances"};


struct req_cid {
    char req[SP_TAPI_MAX_REQUEST_ID + 1];
    char cid[SP_MAX_CORRELATION_ID_BYTES + 1];
    /* platform.start held until the invocation's workflow is known: the
     * first function log line naming a correlation_id, else its end. */
    uint8_t held;
    uint8_t open;              /* started, no runtimeDone yet */
    uint8_t init_here;         /* the first start after an init (a restore): shows it */
    uint8_t restore_here;
    uint8_t has_tp, tp_has_parent;
    uint32_t hash;             /* of req, compared first */
    uint64_t seq;              /* start order */
    uint8_t tp_trace_id[16], tp_parent_id[8];
    uint64_t start_ts;
};

/* An evicted open request whose workflow had been chosen. */
struct req_evicted {
    uint32_t hash;
    char req[SP_TAPI_MAX_REQUEST_ID + 1];
    char cid[SP_MAX_CORRELATION_ID_BYTES + 1];
};

struct sp_tapi {
    char *function;
    int init_pending;          /* an init not yet shown under an invocation */
    int init_type;             /* enum init_type */
    uint64_t init_start_ns;
    uint64_t init_end_ns;      /* initRuntimeDone, 0 before */
    double init_ms;            /* initReport durationMs, < 0 before */
    int init_failed;           /* initRuntimeDone status other than success */
    int restore_pending;
    uint64_t restore_start_ns;
    double restore_ms;
    struct req_cid *map;       /* SP_LAMBDA_REQUEST_MAP entries, map[0..used) in use */
    unsigned used;
    unsigned last;             /* the entry of the last platform.start */
    struct req_evicted *evicted; /* SP_LAMBDA_EVICTED_MAP, a ring */
    unsigned n_evicted;        /* entries written; next at n_evicted % SP_LAMBDA_EVICTED_MAP */
    uint64_t seq;
    /* Attribute limits for the function log lines' own keys: the socket's
     * defaults (the Telemetry API has no per-input settings), and the
     * configured correlation keys (sp_tapi_configure). */
    struct sp_record_limits lim;
    char trigger[16]; /* lambda.trigger: every invocation's faas.trigger, "" unknown */
};

int sp_tapi_new(struct sp_tapi **out, const char *function)
{
    struct sp_tapi *t = calloc(1, sizeof(*t));
    if (t == NULL || (t->function = strdup(function ? function : "")) == NULL ||
        (t->map = calloc(SP_LAMBDA_REQUEST_MAP, sizeof(*t->map))) == NULL ||
        (t->evicted = calloc(SP_LAMBDA_EVICTED_MAP, sizeof(*t->evicted))) == NULL) {
        if (t) {
            free(t->function);
            free(t->map);
        }
        free(t);
        return -ENOMEM;
    }
    t->init_ms = -1;
    t->restore_ms = -1;
    t->lim.max_attributes = SP_DEF_MAX_ATTRIBUTES;
    t->lim.max_attr_value_bytes = SP_DEF_MAX_ATTR_VALUE_BYTES;
    *out = t;
    return 0;
}

void sp_tapi_configure(struct sp_tapi *t, const struct sp_record_limits *keys, const char *trigger)
{
    t->lim.n_cid_keys = keys->n_cid_keys;
    memcpy(t->lim.cid_keys, keys->cid_keys, sizeof(t->lim.cid_keys));
    snprintf(t->trigger, sizeof(t->trigger), "%s", trigger ? trigger : "");
}

void sp_tapi_free(struct sp_tapi *t)
{
    if (t) {
        free(t->function);
        free(t->map);
        free(t->evicted);
        free(t);
    }
}

/* --- helpers ------------------------------------------------------------- */

static struct sp_str jstr(const struct sp_json *o, const char *key)
{
    const struct sp_json *v = o ? sp_json_getn(o, key, strlen(key)) : NULL;
    struct sp_str s = {NULL, 0};
    if (v && v->type == SPJ_STRING) {
        s = v->s;
    }
    return s;
}

static double jnum(const struct sp_json *o, const char *key, double dflt)
{
    const struct sp_json *v = o ? sp_json_getn(o, key, strlen(key)) : NULL;
    return v && v->type == SPJ_NUMBER ? v->d : dflt;
}

static int is(struct sp_str s, const char *lit)
{
    return s.len == strlen(lit) && memcmp(s.p, lit, s.len) == 0;
}

static void copy_id(char *dst, struct sp_str s)
{
    size_t n = s.len < SP_TAPI_MAX_REQUEST_ID ? s.len : SP_TAPI_MAX_REQUEST_ID;
    memcpy(dst, s.p, n);
    dst[n] = '\0';
}

static uint64_t ev_time(const struct sp_json *ev, uint64_t now_ns)
{
    struct sp_str t = jstr(ev, "time");
    uint64_t ns;
    if (t.len && sp_time_parse_rfc3339(t.p, t.len, &ns) == 0) {
        return ns;
    }
    return now_ns;
}

static uint32_t req_hash(struct sp_str req)
{
    return (uint32_t)sp_fnv1a(SP_FNV_OFFSET, req.p, req.len);
}

/* From the last started back: the request asked about is most often a recent one. */
static struct req_cid *entry_of(struct sp_tapi *t, struct sp_str req)
{
    if (req.len == 0 || req.len > SP_TAPI_MAX_REQUEST_ID) {
        return NULL;
    }
    uint32_t h = req_hash(req);
    for (unsigned i = 0; i < t->used; i++) {
        struct req_cid *m = &t->map[(t->last + t->used - i) % t->used];
        if (m->hash == h && strlen(m->req) == req.len && memcmp(m->req, req.p, req.len) == 0) {
            return m;
        }
    }
    return NULL;
}

static const char *cid_of(struct sp_tapi *t, struct sp_str req)
{
    struct req_cid *m = entry_of(t, req);
    if (m) {
        return m->cid;
    }
    if (req.len == 0 || req.len > SP_TAPI_MAX_REQUEST_ID) {
        return NULL;
    }
    /* An evicted request's later events: the workflow it had, newest first. */
    uint32_t h = req_hash(req);
    unsigned n = t->n_evicted < SP_LAMBDA_EVICTED_MAP ? t->n_evicted : SP_LAMBDA_EVICTED_MAP;
    for (unsigned i = 1; i <= n; i++) {
        const struct req_evicted *e = &t->evicted[(t->n_evicted - i) % SP_LAMBDA_EVICTED_MAP];
        if (e->hash == h && strlen(e->req) == req.len && memcmp(e->req, req.p, req.len) == 0) {
            return e->cid;
        }
    }
    return NULL;
}

/* A record of the request `req` (its correlation id as chosen at its start). */
static void rec_init(struct sp_tapi *t, struct sp_record *r, int type, struct sp_str req,
                     uint64_t ts)
{
    memset(r, 0, sizeof(*r));
    r->type = (uint8_t)type;
    r->cold_start = -1;
    r->init_duration_ms = -1;
    r->ts_ns = ts;
    r->function = sp_cstr(t->function);
    r->invocation_id = req;
    const char *cid = req.len ? cid_of(t, req) : NULL;
    r->correlation_id = cid ? sp_cstr(cid) : req;
}

static struct sp_attr *attrs_new(struct sp_arena *a, struct sp_record *r, uint32_t cap)
{
    r->attrs.v = sp_arena_calloc(a, cap * sizeof(struct sp_attr));
    r->attrs.n = 0;
    return r->attrs.v;
}

static void attr_num(struct sp_record *r, const char *key, double d)
{
    struct sp_attr *x = &r->attrs.v[r->attrs.n++];
    x->key = sp_cstr(key);
    if (d == (double)(int64_t)d) {
        x->val.type = SP_VAL_INT;
        x->val.u.i = (int64_t)d;
    } else {
        x->val.type = SP_VAL_DOUBLE;
        x->val.u.d = d;
    }
}

static void attr_str(struct sp_record *r, const char *key, struct sp_str s)
{
    struct sp_attr *x = &r->attrs.v[r->attrs.n++];
    x->key = sp_cstr(key);
    x->val.type = SP_VAL_STR;
    x->val.u.s = s;
}

static uint64_t ms_ns(double ms)
{
    return ms > 0 ? (uint64_t)(ms * 1e6) : 0;
}

/* --- events -------------------------------------------------------------- */

static void release(struct sp_tapi *t, struct req_cid *m, struct sp_arena *a,
                    sp_tapi_emit_fn emit, void *arg);

/* The entry for a platform.start of `req`: its own (a retry keeps the request
 * id), else a free one, else the oldest done one, else (SP_LAMBDA_REQUEST_MAP
 * invocations open at once, under LMI) the oldest open one, let go and
 * counted: a held start is released keyed by its request id, the key its
 * later events fall back to without an entry. */
static struct req_cid *entry_new(struct sp_tapi *t, struct sp_str req, struct sp_arena *a,
                                 sp_tapi_emit_fn emit, void *arg, struct sp_tapi_result *res)
{
    struct req_cid *m = entry_of(t, req);
    if (m == NULL && t->used < SP_LAMBDA_REQUEST_MAP) {
        m = &t->map[t->used++];
    } else if (m == NULL) {
        struct req_cid *done = NULL, *open = NULL;
        for (unsigned i = 0; i < t->used; i++) {
            struct req_cid *x = &t->map[i];
            struct req_cid **o = x->open ? &open : &done;
            if (*o == NULL || x->seq < (*o)->seq) {
                *o = x;
            }
        }
        m = done ? done : open;
        if (m->open) {
            res->requests_evicted++;
            if (m->held) {
                memcpy(m->cid, m->req, sizeof(m->req));
            } else if (strcmp(m->cid, m->req) != 0) {
                /* Its start went to the workflow a log line named: its end
                 * and later lines must find it there too. */
                struct req_evicted *e = &t->evicted[t->n_evicted++ % SP_LAMBDA_EVICTED_MAP];
                e->hash = m->hash;
                memcpy(e->req, m->req, sizeof(e->req));
                memcpy(e->cid, m->cid, sizeof(e->cid));
            }
        }
    }
    release(t, m, a, emit, arg); /* a held start of the entry's last request: never lost */
    t->last = (unsigned)(m - t->map);
    return m;
}

/* platform.start: the invocation begins. Held (the entry keeps what it
 * said) until its workflow is known: see release(). */
static void on_start(struct sp_tapi *t, const struct sp_json *rec, uint64_t ts,
                     struct sp_arena *a, sp_tapi_emit_fn emit, void *arg,
                     struct sp_tapi_result *res)
{
    struct sp_str req = jstr(rec, "requestId");
    if (req.len == 0 || req.len > SP_TAPI_MAX_REQUEST_ID) {
        return;
    }
    struct req_cid *m = entry_new(t, req, a, emit, arg, res);
    memset(m, 0, sizeof(*m));
    copy_id(m->req, req);
    copy_id(m->cid, req);
    m->hash = req_hash(req);
    m->seq = ++t->seq;
    m->open = 1;
    m->held = 1;
    m->start_ts = ts;
    /* The init (restore) goes under the first invocation to start after it,
     * not the first to be released (under LMI a later one may log first). */
    m->init_here = (uint8_t)t->init_pending;
    m->restore_here = (uint8_t)t->restore_pending;
    t->init_pending = 0;
    t->restore_pending = 0;
    const struct sp_json *tr = sp_json_get(rec, "tracing");
    struct sp_str xray = jstr(tr, "value");
    int has_parent = 0;
    if (xray.len && sp_xray_parse(xray.p, xray.len, m->tp_trace_id, m->tp_parent_id,
                                  &has_parent) == 0) {
        /* The X-Ray root ("1-" 8 hex "-" 24 hex) keys the workflow unless a
         * function log line names a correlation id first. */
        const char *root = memmem(xray.p, xray.len, "Root=", 5);
        if (root) {
            root += 5;
            size_t n = 0;
            while (root + n < xray.p + xray.len && root[n] != ';') {
                n++;
            }
            copy_id(m->cid, (struct sp_str){root, n});
        }
        m->has_tp = 1;
        m->tp_has_parent = (uint8_t)has_parent;
    }
}

/* The held platform.start of `m`, now that its workflow is known (m->cid):
 * the invocation's start, and the init (restore) under the first one. */
static void release(struct sp_tapi *t, struct req_cid *m, struct sp_arena *a,
                    sp_tapi_emit_fn emit, void *arg)
{
    if (m == NULL || !m->held) {
        return;
    }
    m->held = 0;
    uint64_t ts = m->start_ts;
    struct sp_str req = sp_cstr(m->req);
    struct sp_record r;
    rec_init(t, &r, SP_REC_EVENT, req, ts);
    if (m->has_tp) {
        memcpy(r.tp_trace_id, m->tp_trace_id, 16);
        memcpy(r.tp_parent_id, m->tp_parent_id, 8);
        r.has_traceparent = 1;
        r.tp_has_parent = m->tp_has_parent;
    }
    r.correlation_id = sp_cstr(m->cid);
    r.event = SP_EV_INVOCATION_START;
    r.name = sp_cstr("invocation_start");
    r.trigger = sp_cstr(t->trigger); /* empty: unknown, no faas.trigger */
    int cold = m->init_here && t->init_type == INIT_ON_DEMAND;
    r.cold_start = (int8_t)cold;
    emit(arg, &r);

    if (m->init_here) {
        /* The init span under the first invocation, whatever the init type. */
        struct sp_record s;
        rec_init(t, &s, SP_REC_SPAN, req, t->init_start_ns);
        s.name = sp_cstr("init");
        s.kind = SP_KIND_INTERNAL;
        s.start_ns = t->init_start_ns;
        s.end_ns = t->init_ms >= 0 ? t->init_start_ns + ms_ns(t->init_ms)
                                   : (t->init_end_ns ? t->init_end_ns : t->init_start_ns);
        s.status = t->init_failed ? SP_STATUS_ERROR : SP_STATUS_UNSET;
        if (attrs_new(a, &s, 2)) {
            attr_str(&s, "faas.init.type", sp_cstr(init_names[t->init_type]));
            if (t->init_ms >= 0) {
                attr_num(&s, "faas.init_duration_ms", t->init_ms);
            }
        }
        emit(arg, &s);
        if (cold) {
            struct sp_record c;
            rec_init(t, &c, SP_REC_EVENT, req, ts);
            c.event = SP_EV_COLD_START;
            c.name = sp_cstr("cold_start");
            c.init_duration_ms = t->init_ms;
            emit(arg, &c);
        }
        m->init_here = 0;
    }
    if (m->restore_here) {
        struct sp_record s;
        rec_init(t, &s, SP_REC_SPAN, req, t->restore_start_ns);
        s.name = sp_cstr("restore");
        s.kind = SP_KIND_INTERNAL;
        s.start_ns = t->restore_start_ns;
        s.end_ns = t->restore_start_ns + ms_ns(t->restore_ms);
        emit(arg, &s);
        /* SnapStart: counted as restores with their duration, not as cold starts. */
        struct sp_record mr;
        rec_init(t, &mr, SP_REC_METRIC, (struct sp_str){NULL, 0}, ts);
        mr.name = sp_cstr("faas.restores");
        mr.metric_kind = SP_METRIC_COUNTER;
        mr.unit = sp_cstr("{restore}");
        mr.value = 1;
        emit(arg, &mr);
        if (t->restore_ms >= 0) {
            mr.name = sp_cstr("faas.restore_duration");
            mr.metric_kind = SP_METRIC_HISTOGRAM;
            mr.unit = sp_cstr("s");
            mr.value = t->restore_ms / 1e3;
            emit(arg, &mr);
        }
        m->restore_here = 0;
    }
}

/* platform.runtimeDone: its spans as children, then the invocation's end. */
static void on_runtime_done(struct sp_tapi *t, const struct sp_json *rec, uint64_t ts,
                            struct sp_arena *a, sp_tapi_emit_fn emit, void *arg,
                            struct sp_tapi_result *res)
{
    struct sp_str req = jstr(rec, "requestId");
    if (req.len == 0 || req.len > SP_TAPI_MAX_REQUEST_ID) {
        return;
    }
    struct req_cid *m = entry_of(t, req);
    release(t, m, a, emit, arg);
    if (m) {
        m->open = 0;
    }
    const struct sp_json *spans = sp_json_get(rec, "spans");
    for (const struct sp_json *sj = spans && spans->type == SPJ_ARRAY ? spans->child : NULL; sj;
         sj = sj->next) {
        struct sp_record s;
        struct sp_str name = jstr(sj, "name");
        struct sp_str start = jstr(sj, "start");
        uint64_t st;
        if (name.len == 0 || start.len == 0 || sp_time_parse_rfc3339(start.p, start.len, &st)) {
            continue;
        }
        rec_init(t, &s, SP_REC_SPAN, req, st);
        s.name = name;
        s.kind = SP_KIND_INTERNAL;
        s.start_ns = st;
        s.end_ns = st + ms_ns(jnum(sj, "durationMs", 0));
        emit(arg, &s);
    }
    struct sp_record r;
    rec_init(t, &r, SP_REC_EVENT, req, ts);
    r.event = SP_EV_INVOCATION_END;
    r.name = sp_cstr("invocation_end");
    struct sp_str status = jstr(rec, "status");
    r.inv_status = is(status, "success")   ? SP_INV_OK
                   : is(status, "timeout") ? SP_INV_TIMEOUT
                                           : SP_INV_ERROR;
    if (r.inv_status == SP_INV_ERROR) {
        struct sp_str et = jstr(rec, "errorType");
        r.error = et.len ? et : status;
    }
    const struct sp_json *mt = sp_json_get(rec, "metrics");
    if (mt && attrs_new(a, &r, 2)) {
        attr_num(&r, "faas.duration_ms", jnum(mt, "durationMs", 0));
        attr_num(&r, "faas.produced_bytes", jnum(mt, "producedBytes", 0));
    }
    emit(arg, &r);
    res->runtime_done++;
    copy_id(res->done_request, req);
}

/* platform.report: the billing figures as an event on the invocation. */
static void on_report(struct sp_tapi *t, const struct sp_json *rec, uint64_t ts,
                      struct sp_arena *a, sp_tapi_emit_fn emit, void *arg)
{
    struct sp_str req = jstr(rec, "requestId");
    const struct sp_json *mt = sp_json_get(rec, "metrics");
    if (req.len == 0 || req.len > SP_TAPI_MAX_REQUEST_ID || mt == NULL) {
        return;
    }
    release(t, entry_of(t, req), a, emit, arg);
    static const char *const keys[][2] = {
        {"durationMs", "faas.duration_ms"},
        {"billedDurationMs", "faas.billed_duration_ms"},
        {"initDurationMs", "faas.init_duration_ms"},
        {"restoreDurationMs", "faas.restore_duration_ms"},
        {"maxMemoryUsedMB", "faas.max_memory_used_mb"},
        {"memorySizeMB", "faas.max_memory_mb"},
    };
    struct sp_record r;
    rec_init(t, &r, SP_REC_EVENT, req, ts);
    r.event = SP_EV_OTHER;
    r.name = sp_cstr("platform.report");
    if (attrs_new(a, &r, 7) == NULL) {
        return;
    }
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
        double v = jnum(mt, keys[i][0], -1);
        if (v >= 0) {
            attr_num(&r, keys[i][1], v);
        }
    }
    struct sp_str status = jstr(rec, "status");
    if (status.len) {
        attr_str(&r, "faas.status", status);
    }
    emit(arg, &r);
}

/* What a function log line's JSON object becomes. */
struct log_emit {
    struct sp_tapi *t;
    sp_tapi_emit_fn emit;
    void *arg;
};

static void emf_emit(void *arg, const struct sp_record *r)
{
    struct log_emit *x = arg;
    x->emit(x->arg, r);
}

/* A function or extension log line: plain text, or a JSON object (Lambda's
 * JSON log format, Powertools; under the Text log format Powertools' line
 * arrives as a string holding the object). An EMF blob becomes metrics only;
 * a line with level and message a log record with its attributes
 * (record.c), in the workflow its correlation key names, when it names one. */
static void on_log(struct sp_tapi *t, const struct sp_json *ev, uint64_t ts, struct sp_arena *a,
                   sp_tapi_emit_fn emit, void *arg, struct sp_tapi_result *res)
{
    int unattributed = 0;
    const struct sp_json *rec = sp_json_get(ev, "record");
    if (rec == NULL) {
        return;
    }
    struct sp_str req = {NULL, 0};
    struct sp_record r;
    const struct sp_json *obj = rec->type == SPJ_OBJECT ? rec : NULL;
    if (rec->type == SPJ_STRING) {
        struct sp_str s = rec->s;
        while (s.len && (s.p[s.len - 1] == '\n' || s.p[s.len - 1] == '\r')) {
            s.len--;
        }
        struct sp_json *j;
        if (s.len > 1 && s.p[0] == '{' && s.p[s.len - 1] == '}' &&
            sp_json_parse(a, s.p, s.len, &j) == SPJ_OK && j->type == SPJ_OBJECT) {
            obj = j;
        }
    }
    if (obj) {
        req = jstr(obj, "requestId");
        if (req.len == 0) {
            req = jstr(obj, "function_request_id");
        }
    }
    if (req.len == 0 || req.len > SP_TAPI_MAX_REQUEST_ID) {
        /* Under LMI many invocations run at once: the last started is a
         * guess, so such a line is the environment's (see the top). */
        unattributed = t->init_type == INIT_MANAGED;
        req = unattributed || t->used == 0 ? (struct sp_str){NULL, 0}
                                           : sp_cstr(t->map[t->last].req);
    }
    struct req_cid *m = entry_of(t, req);
    if (m && m->held) {
        /* The invocation joins the workflow its function logs name
         * (Powertools' correlation_id, or a configured key); the first line
         * without one settles for the X-Ray root (or the request id). */
        struct sp_str cid = obj ? sp_record_log_cid(obj, &t->lim, NULL) : (struct sp_str){NULL, 0};
        if (cid.len && cid.len <= SP_MAX_CORRELATION_ID_BYTES) {
            memcpy(m->cid, cid.p, cid.len);
            m->cid[cid.len] = '\0';
        }
        release(t, m, a, emit, arg);
    }
    rec_init(t, &r, SP_REC_LOG, req, ts);
    if (r.correlation_id.len == 0) {
        /* Before any invocation (init logs): the function's own workflow. */
        r.correlation_id = sp_cstr(t->function[0] ? t->function : "lambda-init");
    }
    if (obj && sp_emf_is(obj)) {
        struct log_emit x = {t, emit, arg};
        r.type = SP_REC_METRIC;
        /* Metrics: exemplars only when the blob names a workflow. */
        r.correlation_id = sp_record_log_cid(obj, &t->lim, NULL);
        sp_emf_each(obj, a, &t->lim, &r, emf_emit, &x);
        return;
    }
    if (unattributed && (obj || rec->type == SPJ_STRING)) {
        res->logs_unattributed++;
    }
    if (obj && sp_record_is_json_log(obj)) {
        struct sp_record l;
        const char *field;
        if (sp_record_json_log(obj, a, &t->lim, ts, r.correlation_id, &l, &field) == SP_R_OK) {
            struct sp_str cid = sp_record_log_cid(obj, &t->lim, NULL);
            l.function = r.function;
            l.invocation_id = req;
            l.correlation_id = cid.len && cid.len <= SP_MAX_CORRELATION_ID_BYTES
                                   ? cid
                                   : r.correlation_id;
            emit(arg, &l);
            return;
        }
    }
    if (rec->type == SPJ_STRING) {
        struct sp_str s = rec->s;
        while (s.len && (s.p[s.len - 1] == '\n' || s.p[s.len - 1] == '\r')) {
            s.len--;
        }
        r.body.type = SP_VAL_STR;
        r.body.u.s = s;
    } else if (obj) {
        struct sp_str msg = jstr(obj, "message");
        r.body.type = SP_VAL_STR;
        r.body.u.s = msg;
        struct sp_str lv = jstr(obj, "level");
        r.severity_text = lv;
        r.severity_number = sp_record_level_severity(lv);
    } else {
        return;
    }
    emit(arg, &r);
}

int sp_tapi_batch(struct sp_tapi *t, const char *p, size_t n, struct sp_arena *scratch,
                  uint64_t now_ns, sp_tapi_emit_fn emit, void *arg, struct sp_tapi_result *res)
{
    memset(res, 0, sizeof(*res));
    struct sp_json *root;
    if (sp_json_parse(scratch, p, n, &root) != SPJ_OK || root->type != SPJ_ARRAY) {
        return -EINVAL;
    }
    for (const struct sp_json *ev = root->child; ev; ev = ev->next) {
        res->events++;
        struct sp_str type = jstr(ev, "type");
        const struct sp_json *rec = sp_json_get(ev, "record");
        uint64_t ts = ev_time(ev, now_ns);
        if (is(type, "platform.initStart")) {
            struct sp_str it = jstr(rec, "initializationType");
            t->init_type = INIT_ON_DEMAND;
            for (int i = 0; i < 4; i++) {
                if (is(it, init_names[i])) {
                    t->init_type = i;
                }
            }
            if (is(jstr(rec, "phase"), "invoke")) {
                /* A re-init after a failure during an invocation: not a new environment. */
                continue;
            }
            t->init_pending = 1;
            t->init_start_ns = ts;
            t->init_end_ns = 0;
            t->init_ms = -1;
            t->init_failed = 0;
        } else if (is(type, "platform.initRuntimeDone")) {
            t->init_end_ns = ts;
            struct sp_str st = jstr(rec, "status");
            t->init_failed = st.len && !is(st, "success");
        } else if (is(type, "platform.initReport")) {
            const struct sp_json *mt = sp_json_get(rec, "metrics");
            t->init_ms = jnum(mt, "durationMs", t->init_ms);
        } else if (is(type, "platform.restoreStart")) {
            t->restore_pending = 1;
            t->restore_start_ns = ts;
            t->restore_ms = -1;
        } else if (is(type, "platform.restoreRuntimeDone")) {
            if (t->restore_ms < 0 && ts > t->restore_start_ns) {
                t->restore_ms = (double)(ts - t->restore_start_ns) / 1e6;
            }
        } else if (is(type, "platform.restoreReport")) {
            const struct sp_json *mt = sp_json_get(rec, "metrics");
            t->restore_ms = jnum(mt, "durationMs", t->restore_ms);
        } else if (is(type, "platform.start")) {
            on_start(t, rec, ts, scratch, emit, arg, res);
        } else if (is(type, "platform.runtimeDone")) {
            on_runtime_done(t, rec, ts, scratch, emit, arg, res);
        } else if (is(type, "platform.report")) {
            on_report(t, rec, ts, scratch, emit, arg);
        } else if (is(type, "platform.logsDropped")) {
            res->logs_dropped += (uint64_t)jnum(rec, "droppedRecords", 0);
        } else if (is(type, "function") || is(type, "extension")) {
            on_log(t, ev, ts, scratch, emit, arg, res);
        } else if (is(type, "platform.telemetrySubscription") || is(type, "platform.extension") ||
                   is(type, "platform.fault")) {
            /* Known; nothing in them belongs to a workflow. */
        } else {
            res->unknown++;
        }
    }
    return 0;
}
