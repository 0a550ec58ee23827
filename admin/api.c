/*
 * api.c - the JSON API under /api/v1/ (docs/api.md) and the status page's
 * files. Every answer is built when asked from read-only views of the
 * correlator (open and closing workflows) and the alert engine; closed
 * workflows come from a ring of the last SP_ADMIN_RECENT_WORKFLOWS, rendered
 * once when each closes (the correlator empties a workflow as it closes).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admin_int.h"
#include "agent.h"
#include "alert.h"
#include "http_server.h"
#include "log.h"
#include "notify.h"

/* --- small JSON helpers ---------------------------------------------------- */

static void jstr(struct sp_buf *b, struct sp_str s)
{
    sp_buf_add_json_str(b, s.p ? s.p : "", s.p ? s.len : 0);
}

static void jcstr(struct sp_buf *b, const char *s)
{
    sp_buf_add_json_str(b, s, strlen(s));
}

static void jkey(struct sp_buf *b, int *first, const char *k)
{
    sp_buf_adds(b, *first ? "\"" : ",\"");
    *first = 0;
    sp_buf_adds(b, k);
    sp_buf_adds(b, "\":");
}

static void jhex(struct sp_buf *b, const uint8_t *p, size_t n)
{
    sp_buf_addc(b, '"');
    sp_buf_add_hex(b, p, n);
    sp_buf_addc(b, '"');
}

/* Unix milliseconds with a fraction (the page draws sub-millisecond spans). */
static void jms(struct sp_buf *b, uint64_t ns)
{
    if (ns == 0 || ns == UINT64_MAX) {
        sp_buf_adds(b, "null");
    } else {
        sp_buf_printf(b, "%" PRIu64 ".%03u", ns / 1000000u, (unsigned)(ns % 1000000u / 1000u));
    }
}

static void jvalue(struct sp_buf *b, const struct sp_value *v)
{
    switch (v->type) {
    case SP_VAL_STR: jstr(b, v->u.s); break;
    case SP_VAL_INT: sp_buf_printf(b, "%" PRId64, v->u.i); break;
    case SP_VAL_DOUBLE: sp_buf_printf(b, "%.17g", v->u.d); break;
    case SP_VAL_BOOL: sp_buf_adds(b, v->u.b ? "true" : "false"); break;
    default: sp_buf_adds(b, "null"); break;
    }
}

static void jattrs(struct sp_buf *b, const struct sp_attrs *a)
{
    sp_buf_addc(b, '{');
    for (uint32_t i = 0; a && i < a->n; i++) {
        if (i) {
            sp_buf_addc(b, ',');
        }
        jstr(b, a->v[i].key);
        sp_buf_addc(b, ':');
        jvalue(b, &a->v[i].val);
    }
    sp_buf_addc(b, '}');
}

static void jevents(struct sp_buf *b, const struct sp_span_event *ev, uint32_t n)
{
    sp_buf_addc(b, '[');
    for (uint32_t i = 0; i < n; i++) {
        sp_buf_adds(b, i ? ",{\"name\":" : "{\"name\":");
        jstr(b, ev[i].name);
        sp_buf_adds(b, ",\"time_ms\":");
        jms(b, ev[i].ts_ns);
        sp_buf_adds(b, ",\"attributes\":");
        jattrs(b, &ev[i].attrs);
        sp_buf_addc(b, '}');
    }
    sp_buf_addc(b, ']');
}

/* alerts.trace_url with {{trace_id}} and {{correlation_id}} filled in; ""
 * when no template is set. */
static void trace_link(const struct spindle *sp, const uint8_t *trace_id, struct sp_str cid,
                       struct sp_buf *out)
{
    const char *t = sp->cfg.alert_trace_url;
    while (*t) {
        if (strncmp(t, "{{trace_id}}", 12) == 0) {
            sp_buf_add_hex(out, trace_id, 16);
            t += 12;
        } else if (strncmp(t, "{{correlation_id}}", 18) == 0) {
            sp_buf_add(out, cid.p, cid.len);
            t += 18;
        } else {
            sp_buf_addc(out, *t++);
        }
    }
}

/* --- workflows --------------------------------------------------------------- */

static void age_tail(struct sp_buf *b, uint64_t first_ns, uint64_t now_ns)
{
    sp_buf_printf(b, ",\"age_s\":%.3f}",
                  first_ns && now_ns > first_ns ? (double)(now_ns - first_ns) / 1e9 : 0.0);
}

static void wf_summary(struct sp_buf *b, const struct spindle *sp, const struct corr_wf_view *v,
                       uint64_t now_ns)
{
    int f = 1;
    sp_buf_addc(b, '{');
    jkey(b, &f, "correlation_id");
    jstr(b, v->cid);
    jkey(b, &f, "name");
    jstr(b, v->name);
    jkey(b, &f, "trace_id");
    jhex(b, v->trace_id, 16);
    jkey(b, &f, "state");
    jcstr(b, v->state);
    jkey(b, &f, "invocations");
    sp_buf_printf(b, "%u", v->invocations);
    jkey(b, &f, "retries");
    sp_buf_printf(b, "%u", v->retries);
    jkey(b, &f, "throttles");
    sp_buf_printf(b, "%u", v->throttles);
    jkey(b, &f, "cold_starts");
    sp_buf_printf(b, "%u", v->cold_starts);
    jkey(b, &f, "dead_letters");
    sp_buf_printf(b, "%u", v->dead_letters);
    jkey(b, &f, "spans");
    sp_buf_printf(b, "%u", v->n_spans);
    jkey(b, &f, "error");
    sp_buf_adds(b, v->error ? "true" : "false");
    jkey(b, &f, "first_ms");
    jms(b, v->first_ns);
    jkey(b, &f, "last_ms");
    jms(b, v->last_ns);
    jkey(b, &f, "trace_url");
    struct sp_buf link;
    sp_buf_init(&link, 4096);
    trace_link(sp, v->trace_id, v->cid, &link);
    sp_buf_add_json_str(b, link.p ? link.p : "", link.len);
    sp_buf_free(&link);
    age_tail(b, v->first_ns, now_ns);
}

static const char *inv_status_name(uint8_t s)
{
    static const char *const n[] = {"unset", "ok", "error", "timeout"};
    return n[s & 3];
}

struct detail_ctx {
    struct sp_buf *b;
    int first;
};

static void inv_json(void *arg, const struct corr_inv_view *iv)
{
    struct detail_ctx *d = arg;
    struct sp_buf *b = d->b;
    int f = 1;
    sp_buf_adds(b, d->first ? "{" : ",{");
    d->first = 0;
    jkey(b, &f, "invocation_id");
    jstr(b, iv->id);
    jkey(b, &f, "function");
    jstr(b, iv->function);
    jkey(b, &f, "trigger");
    jstr(b, iv->trigger);
    jkey(b, &f, "span_id");
    jhex(b, iv->span_id, 8);
    jkey(b, &f, "start_ms");
    jms(b, iv->has_start ? iv->start_ns : iv->first_ns);
    jkey(b, &f, "end_ms");
    jms(b, iv->has_end ? iv->end_ns : iv->last_ns);
    jkey(b, &f, "ended");
    sp_buf_adds(b, iv->has_end ? "true" : "false");
    jkey(b, &f, "status");
    jcstr(b, inv_status_name(iv->status));
    jkey(b, &f, "error");
    jstr(b, iv->error);
    jkey(b, &f, "cold_start");
    sp_buf_adds(b, iv->cold_start ? "true" : "false");
    jkey(b, &f, "attempt");
    sp_buf_printf(b, "%" PRId64, iv->attempt);
    jkey(b, &f, "events");
    jevents(b, iv->events, iv->n_events);
    sp_buf_addc(b, '}');
}

static void wf_detail(struct sp_buf *b, const struct spindle *sp, const struct corr_wf_view *v,
                      uint64_t now_ns)
{
    wf_summary(b, sp, v, now_ns);
    b->len--; /* reopen the object */
    sp_buf_adds(b, ",\"span_id\":");
    jhex(b, v->root_id, 8);
    sp_buf_adds(b, ",\"start_ms\":");
    jms(b, v->start_ns ? v->start_ns : v->first_ns);
    sp_buf_adds(b, ",\"end_ms\":");
    jms(b, v->end_ns ? v->end_ns : v->last_ns);
    sp_buf_adds(b, ",\"events\":");
    jevents(b, v->events, v->n_events);
    sp_buf_adds(b, ",\"spans_seen\":[");
    for (uint32_t i = 0; i < v->n_spans; i++) {
        const struct corr_span_note *s = &v->spans[i];
        int f = 1;
        sp_buf_adds(b, i ? ",{" : "{");
        jkey(b, &f, "name");
        jstr(b, s->name);
        jkey(b, &f, "function");
        jstr(b, s->function);
        jkey(b, &f, "invocation_id");
        jstr(b, s->invocation_id);
        jkey(b, &f, "span_id");
        if (s->has_span_id) {
            jhex(b, s->span_id, 8);
        } else {
            sp_buf_adds(b, "null");
        }
        jkey(b, &f, "start_ms");
        jms(b, s->start_ns);
        jkey(b, &f, "end_ms");
        jms(b, s->end_ns);
        jkey(b, &f, "status");
        jcstr(b, s->status == SP_STATUS_ERROR ? "error" : s->status == SP_STATUS_OK ? "ok" : "unset");
        sp_buf_addc(b, '}');
    }
    sp_buf_adds(b, "],\"invocations_seen\":[");
    struct detail_ctx d = {b, 1};
    corr_view_invocations(v, inv_json, &d);
    sp_buf_adds(b, "]}");
}

static char *buf_strdup(const struct sp_buf *b)
{
    char *p = malloc(b->len + 1);
    if (p) {
        memcpy(p, b->p, b->len);
        p[b->len] = 0;
    }
    return p;
}

void sp_admin_recent_free(struct sp_admin *ad)
{
    for (uint32_t i = 0; i < SP_ADMIN_RECENT_WORKFLOWS; i++) {
        free(ad->recent[i].detail);
        ad->recent[i].detail = NULL;
    }
}

static int watched(const struct spindle *sp)
{
    const struct sp_admin *ad = sp->admin;
    return ad->watched_ms && uv_now(sp->loop) - ad->watched_ms < SP_ADMIN_WATCH_MS;
}

/* An API or page request: details and span notes are kept from now on. */
static void watch(struct spindle *sp)
{
    sp->admin->watched_ms = uv_now(sp->loop);
    if (sp->admin->watched_ms == 0) {
        sp->admin->watched_ms = 1;
    }
    corr_keep_spans(sp->corr, 1);
}

void sp_admin_workflow_closed(struct spindle *sp, const struct corr_wf_view *v)
{
    struct sp_admin *ad = sp->admin;
    struct recent_wf *r = &ad->recent[ad->head];
    free(r->detail);
    r->detail = NULL;
    r->cid_len = (uint16_t)(v->cid.len < sizeof(r->cid) ? v->cid.len : sizeof(r->cid));
    memcpy(r->cid, v->cid.p, r->cid_len);
    r->name_len = (uint8_t)(v->name.len < sizeof(r->name) ? v->name.len : sizeof(r->name));
    if (r->name_len) {
        memcpy(r->name, v->name.p, r->name_len);
    }
    memcpy(r->trace_id, v->trace_id, 16);
    r->error = v->error;
    r->invocations = v->invocations;
    r->retries = v->retries;
    r->throttles = v->throttles;
    r->cold_starts = v->cold_starts;
    r->dead_letters = v->dead_letters;
    r->spans = v->n_spans;
    r->first_ns = v->first_ns;
    r->last_ns = v->last_ns;
    ad->head = (ad->head + 1) % SP_ADMIN_RECENT_WORKFLOWS;
    if (ad->n_recent < SP_ADMIN_RECENT_WORKFLOWS) {
        ad->n_recent++;
    }
    if (!watched(sp)) {
        corr_keep_spans(sp->corr, 0);
        return;
    }
    struct sp_buf d;
    sp_buf_init(&d, SP_ADMIN_WORKFLOW_JSON_BYTES);
    wf_detail(&d, sp, v, sp_now_ns());
    if (d.len && d.len < d.cap) { /* too large to keep: the summary stands in */
        r->detail = buf_strdup(&d);
    }
    sp_buf_free(&d);
}

/* A remembered workflow as a view (no invocations: the correlator let them go). */
static void recent_view(const struct recent_wf *r, struct corr_wf_view *v)
{
    static const uint8_t zero[8];
    *v = (struct corr_wf_view){
        .cid = {r->cid, r->cid_len}, .name = {r->name, r->name_len}, .trace_id = r->trace_id,
        .root_id = zero, .state = "closed", .first_ns = r->first_ns, .last_ns = r->last_ns,
        .invocations = r->invocations, .retries = r->retries, .throttles = r->throttles,
        .cold_starts = r->cold_starts, .dead_letters = r->dead_letters, .error = r->error,
        .n_spans = r->spans,
    };
}

static const struct recent_wf *recent_at(const struct sp_admin *ad, uint32_t i)
{
    return &ad->recent[(ad->head + SP_ADMIN_RECENT_WORKFLOWS - 1 - i) % SP_ADMIN_RECENT_WORKFLOWS];
}

/* --- requests ---------------------------------------------------------------- */

static int hexval(char c)
{
    return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10
                                          : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

/* Percent-decodes p[0..n) into out (NUL-terminated); '+' is a space in a query. */
static size_t pct_decode(const char *p, size_t n, char *out, size_t cap, int query)
{
    size_t o = 0;
    for (size_t i = 0; i < n && o + 1 < cap; i++) {
        if (p[i] == '%' && i + 2 < n && hexval(p[i + 1]) >= 0 && hexval(p[i + 2]) >= 0) {
            out[o++] = (char)(hexval(p[i + 1]) * 16 + hexval(p[i + 2]));
            i += 2;
        } else if (query && p[i] == '+') {
            out[o++] = ' ';
        } else {
            out[o++] = p[i];
        }
    }
    out[o] = 0;
    return o;
}

/* The decoded value of query parameter `k`, or NULL. */
static const char *query_get(const struct sp_http_request *req, const char *k, char *out,
                             size_t cap)
{
    const char *q = req->query, *end = req->query + req->query_len;
    size_t kl = strlen(k);
    while (q < end) {
        const char *amp = memchr(q, '&', (size_t)(end - q));
        const char *e = amp ? amp : end;
        if ((size_t)(e - q) > kl && memcmp(q, k, kl) == 0 && q[kl] == '=') {
            pct_decode(q + kl + 1, (size_t)(e - q - kl - 1), out, cap, 1);
            return out;
        }
        q = amp ? amp + 1 : end;
    }
    return NULL;
}

/* Spindle-Socket names the agent's data socket: spindlectl checks that the
 * listener it reached belongs to the agent it was configured for. */
static void respond_json(struct sp_http_request *req, int status, struct sp_buf *b)
{
    const struct spindle *sp = req->route_arg;
    const struct sp_http_out_header h[] = {{"Content-Type", "application/json"},
                                           {"Cache-Control", "no-store"},
                                           {"Spindle-Socket", sp->cfg.socket_path}};
    if (b->len >= b->cap) {
        static const char msg[] = "{\"error\":\"answer too large; use ?limit=\"}";
        sp_http_respond(req, 500, h, 3, msg, sizeof(msg) - 1);
        return;
    }
    sp_http_respond(req, status, h, 3, b->p, b->len);
}

static void respond_error(struct sp_http_request *req, int status, const char *msg)
{
    struct sp_buf b;
    sp_buf_init(&b, 1024);
    sp_buf_adds(&b, "{\"error\":");
    jcstr(&b, msg);
    sp_buf_addc(&b, '}');
    respond_json(req, status, &b);
    sp_buf_free(&b);
}

/* GET /api/v1/status */
static void get_status(struct sp_http_request *req)
{
    struct spindle *sp = req->route_arg;
    watch(sp);
    struct sp_buf b;
    sp_buf_init(&b, SP_ADMIN_API_BYTES);
    char why[256];
    int ready = sp_admin_ready(sp, why, sizeof(why));
    uint64_t up = (uv_now(sp->loop) - sp->started_ms) / 1000u;
    sp_buf_adds(&b, "{\"version\":\"" SP_VERSION "\",\"ready\":");
    sp_buf_adds(&b, ready ? "true" : "false");
    sp_buf_adds(&b, ",\"reason\":");
    jcstr(&b, why);
    sp_buf_printf(&b, ",\"uptime_s\":%" PRIu64 ",\"paused\":%s,\"socket\":", up,
                  sp->paused ? "true" : "false");
    jcstr(&b, sp->cfg.socket_path);
    sp_buf_adds(&b, ",\"trace_url\":");
    jcstr(&b, sp->cfg.alert_trace_url);
    uint64_t dropped = 0;
#define X(g, f, n)                                                                              \
    if (strcmp(#g, "dropped") == 0) {                                                           \
        dropped += sp->stats.f;                                                                 \
    }
    SP_STATS_FIELDS(X)
#undef X
    sp_buf_printf(&b, ",\"dropped_total\":%" PRIu64 ",\"memory_limit_bytes\":%" PRIu64, dropped,
                  sp->cfg.max_memory);
    sp_buf_adds(&b, ",\"exporters\":[");
    static const char *const sig[SP_SIG_COUNT] = {"traces", "logs", "metrics"};
    for (int i = 0; i < sp->n_exporters; i++) {
        sp_buf_printf(&b, "%s{\"name\":\"%s\",\"queues\":[", i ? "," : "",
                      sp->exporters[i]->ops->name);
        for (int s = 0; s < SP_SIG_COUNT; s++) {
            const struct sp_queue *q = &sp->exporters[i]->q[s];
            sp_buf_printf(&b,
                          "%s{\"signal\":\"%s\",\"bytes\":%zu,\"requests\":%u,\"failing\":%s}",
                          s ? "," : "", sig[s], q->bytes, (unsigned)q->rq.waiting + q->inflight + q->compressing,
                          q->failing ? "true" : "false");
        }
        sp_buf_adds(&b, "]}");
    }
    sp_buf_adds(&b, "],\"stats\":");
    struct sp_buf st;
    sp_buf_init(&st, 64 * 1024);
    sp_stats_json(&sp->stats, sp_cstr("status"), up, &st);
    sp_buf_add(&b, st.p, st.len);
    sp_buf_free(&st);
    sp_buf_addc(&b, '}');
    respond_json(req, 200, &b);
    sp_buf_free(&b);
}

struct list_ctx {
    struct sp_buf *b;
    const struct spindle *sp;
    uint64_t now;
    const char *state;       /* NULL: any */
    const char *name;        /* NULL: any */
    const char *q;           /* substring of the correlation id */
    int only_errors;
    uint32_t limit, listed, matched;
};

static int matches(const struct list_ctx *c, const char *state, struct sp_str cid,
                   struct sp_str name, int error)
{
    if (c->state && strcmp(c->state, state) != 0) {
        return 0;
    }
    if (c->name && (name.len != strlen(c->name) || memcmp(name.p, c->name, name.len) != 0)) {
        return 0;
    }
    if (c->q && c->q[0] && !memmem(cid.p, cid.len, c->q, strlen(c->q))) {
        return 0;
    }
    return !c->only_errors || error;
}

static void list_live(void *arg, const struct corr_wf_view *v)
{
    struct list_ctx *c = arg;
    if (!matches(c, v->state, v->cid, v->name, v->error)) {
        return;
    }
    c->matched++;
    if (c->listed >= c->limit) {
        return;
    }
    if (c->listed++) {
        sp_buf_addc(c->b, ',');
    }
    wf_summary(c->b, c->sp, v, c->now);
}

/* GET /api/v1/workflows?state=&name=&q=&error=true&limit= */
static void get_workflows(struct sp_http_request *req)
{
    struct spindle *sp = req->route_arg;
    watch(sp);
    struct sp_admin *ad = sp->admin;
    char state[16], name[256], q[256], lim[16], err[8];
    struct list_ctx c = {
        .sp = sp,
        .now = sp_now_ns(),
        .state = query_get(req, "state", state, sizeof(state)),
        .name = query_get(req, "name", name, sizeof(name)),
        .q = query_get(req, "q", q, sizeof(q)),
        .limit = SP_ADMIN_DEFAULT_LIMIT,
    };
    if (c.state && strcmp(c.state, "open") && strcmp(c.state, "closing") &&
        strcmp(c.state, "closed")) {
        respond_error(req, 400, "state: expected open, closing or closed");
        return;
    }
    const char *e = query_get(req, "error", err, sizeof(err));
    c.only_errors = e && strcmp(e, "true") == 0;
    const char *l = query_get(req, "limit", lim, sizeof(lim));
    if (l) {
        char *end;
        long v = strtol(l, &end, 10);
        if (!*l || *end || v < 1 || v > 10000) {
            respond_error(req, 400, "limit: expected a number from 1 to 10000");
            return;
        }
        c.limit = (uint32_t)v;
    }
    struct sp_buf b;
    sp_buf_init(&b, SP_ADMIN_API_BYTES);
    c.b = &b;
    sp_buf_adds(&b, "{\"workflows\":[");
    corr_each_workflow(sp->corr, list_live, &c);
    for (uint32_t i = 0; i < ad->n_recent; i++) {
        struct corr_wf_view v;
        recent_view(recent_at(ad, i), &v);
        list_live(&c, &v);
    }
    sp_buf_printf(&b, "],\"matched\":%u,\"limit\":%u}", c.matched, c.limit);
    respond_json(req, 200, &b);
    sp_buf_free(&b);
}

struct one_ctx {
    struct sp_buf *b;
    const struct spindle *sp;
};

static void one_live(void *arg, const struct corr_wf_view *v)
{
    struct one_ctx *o = arg;
    wf_detail(o->b, o->sp, v, sp_now_ns());
}

/* GET /api/v1/workflows/<correlation id> (percent-encoded) */
static void get_workflow(struct sp_http_request *req)
{
    struct spindle *sp = req->route_arg;
    watch(sp);
    struct sp_admin *ad = sp->admin;
    static const char prefix[] = "/api/v1/workflows/";
    char cid[SP_MAX_CORRELATION_ID_BYTES * 3 + 1];
    size_t n = pct_decode(req->path + sizeof(prefix) - 1, req->path_len - (sizeof(prefix) - 1),
                          cid, sizeof(cid), 0);
    struct sp_buf b;
    sp_buf_init(&b, SP_ADMIN_API_BYTES);
    sp_buf_adds(&b, "{\"workflow\":");
    struct one_ctx o = {&b, sp};
    if (corr_find_workflow(sp->corr, (struct sp_str){cid, n}, one_live, &o) != 0) {
        const struct recent_wf *found = NULL;
        for (uint32_t i = 0; i < ad->n_recent && !found; i++) {
            const struct recent_wf *r = recent_at(ad, i);
            if (r->cid_len == n && memcmp(r->cid, cid, n) == 0) {
                found = r;
            }
        }
        if (found == NULL) {
            sp_buf_free(&b);
            respond_error(req, 404, "no open or recently closed workflow has this correlation id");
            return;
        }
        if (found->detail) {
            sp_buf_adds(&b, found->detail);
        } else {
            /* Closed while nobody watched: what the list shows, and empty lists. */
            struct corr_wf_view v;
            recent_view(found, &v);
            wf_summary(&b, sp, &v, sp_now_ns());
            b.len--;
            sp_buf_adds(&b, ",\"detail\":false,\"events\":[],\"spans_seen\":[],"
                            "\"invocations_seen\":[]}");
        }
    }
    sp_buf_addc(&b, '}');
    respond_json(req, 200, &b);
    sp_buf_free(&b);
}

struct alerts_ctx {
    struct sp_buf *b;
    int n;
};

static void alert_json(void *arg, const struct alert_view *v)
{
    struct alerts_ctx *c = arg;
    struct sp_buf *b = c->b;
    const struct alert_msg *m = v->msg;
    const struct alert_rule *r = m->rule;
    int f = 1;
    sp_buf_adds(b, c->n++ ? ",{" : "{");
    jkey(b, &f, "alertname");
    jcstr(b, r->name);
    jkey(b, &f, "state");
    jcstr(b, v->firing ? "firing" : "pending");
    jkey(b, &f, "severity");
    jcstr(b, r->severity ? r->severity : "");
    jkey(b, &f, "scope");
    jcstr(b, alert_scope_name(r->scope));
    jkey(b, &f, "key");
    jstr(b, m->scope_key);
    jkey(b, &f, "function");
    jstr(b, m->label_function.len ? m->label_function : m->function);
    jkey(b, &f, "queue");
    jstr(b, m->label_queue.len ? m->label_queue : m->queue);
    jkey(b, &f, "correlation_id");
    jstr(b, m->cid);
    jkey(b, &f, "workflow");
    jstr(b, m->workflow);
    jkey(b, &f, "trace_id");
    if (m->has_trace) {
        jhex(b, m->trace_id, 16);
    } else {
        sp_buf_adds(b, "null");
    }
    jkey(b, &f, "value");
    sp_buf_printf(b, "%.17g", m->value);
    jkey(b, &f, "since_ms");
    jms(b, m->starts_ns);
    jkey(b, &f, "summary");
    jcstr(b, v->summary);
    jkey(b, &f, "trace_url");
    jcstr(b, v->trace_url);
    sp_buf_addc(b, '}');
}

/* GET /api/v1/alerts */
static void get_alerts(struct sp_http_request *req)
{
    struct spindle *sp = req->route_arg;
    watch(sp);
    struct sp_buf b;
    sp_buf_init(&b, SP_ADMIN_API_BYTES);
    sp_buf_adds(&b, "{\"alerts\":[");
    struct alerts_ctx c = {&b, 0};
    alert_each_active(sp->alerts, alert_json, &c);
    sp_buf_adds(&b, "]}");
    respond_json(req, 200, &b);
    sp_buf_free(&b);
}

/* --- following accepted records ------------------------------------------- */

static void tail_drop_oldest(struct sp_admin *ad)
{
    size_t i = ad->tail_first % SP_ADMIN_TAIL_RECORDS;
    ad->tail_bytes -= ad->tail[i].n;
    free(ad->tail[i].p);
    ad->tail[i].p = NULL;
    ad->tail[i].n = 0;
    ad->tail_first++;
}

void sp_admin_tail_free(struct sp_admin *ad)
{
    while (ad->tail_first < ad->tail_next) {
        tail_drop_oldest(ad);
    }
}

/* The door's tap: a copy of each accepted line, while followed. */
static void tap(struct spindle *sp, const char *p, size_t n)
{
    struct sp_admin *ad = sp->admin;
    if (uv_now(sp->loop) - ad->tail_polled_ms > SP_ADMIN_TAIL_IDLE_MS) {
        sp->tap = NULL; /* nobody follows any more */
        sp_admin_tail_free(ad);
        return;
    }
    while (n && (p[n - 1] == '\n' || p[n - 1] == '\r' || p[n - 1] == ' ' || p[n - 1] == '\t')) {
        n--;
    }
    if (n > SP_ADMIN_TAIL_BYTES / 4) {
        return; /* too large to keep for followers: not shown */
    }
    while (ad->tail_next - ad->tail_first >= SP_ADMIN_TAIL_RECORDS ||
           (ad->tail_first < ad->tail_next && ad->tail_bytes + n > SP_ADMIN_TAIL_BYTES)) {
        tail_drop_oldest(ad);
    }
    char *c = malloc(n);
    if (c == NULL) {
        return;
    }
    memcpy(c, p, n);
    size_t i = ad->tail_next % SP_ADMIN_TAIL_RECORDS;
    ad->tail[i].p = c;
    ad->tail[i].n = n;
    ad->tail_bytes += n;
    ad->tail_next++;
}

/* GET /api/v1/records?after=N: the accepted records numbered after N (an
 * accepted line is a JSON object: each is given as received). Without
 * `after`, nothing yet and the number to ask from. "missed": records that
 * went before the follower asked (the ring holds SP_ADMIN_TAIL_RECORDS). */
static void get_records(struct sp_http_request *req)
{
    struct spindle *sp = req->route_arg;
    struct sp_admin *ad = sp->admin;
    ad->tail_polled_ms = uv_now(sp->loop);
    if (sp->tap == NULL) {
        sp->tap = tap;
        ad->tail_first = ad->tail_next; /* keep from now */
    }
    char v[32];
    const char *a = query_get(req, "after", v, sizeof(v));
    uint64_t from = ad->tail_next, missed = 0;
    if (a) {
        char *end;
        unsigned long long x = strtoull(a, &end, 10);
        if (!*a || *end) {
            respond_error(req, 400, "after: expected a record number");
            return;
        }
        from = x > ad->tail_next ? ad->tail_next : x;
    }
    if (from < ad->tail_first) {
        missed = ad->tail_first - from;
        from = ad->tail_first;
    }
    struct sp_buf b;
    sp_buf_init(&b, SP_ADMIN_API_BYTES);
    sp_buf_adds(&b, "{\"records\":[");
    uint64_t i = from;
    for (; i < ad->tail_next; i++) {
        const size_t k = i % SP_ADMIN_TAIL_RECORDS;
        if (b.len + ad->tail[k].n + 64 > b.cap) {
            break; /* the rest next time */
        }
        if (i > from) {
            sp_buf_addc(&b, ',');
        }
        sp_buf_add(&b, ad->tail[k].p, ad->tail[k].n);
    }
    sp_buf_printf(&b, "],\"next\":%" PRIu64 ",\"missed\":%" PRIu64 "}", i, missed);
    respond_json(req, 200, &b);
    sp_buf_free(&b);
}

/* GET / : the status page. */
static void get_page(struct sp_http_request *req)
{
    watch(req->route_arg);
    const struct sp_http_out_header h[] = {
        {"Content-Type", "text/html; charset=utf-8"},
        {"Cache-Control", "no-store"},
        /* Everything is in the page itself: no other origin is needed. */
        {"Content-Security-Policy",
         "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; "
         "connect-src 'self'; img-src data:"}};
    sp_http_respond(req, 200, h, 3, sp_admin_page_html, sp_admin_page_html_len);
}

int sp_admin_api_routes(struct sp_http_server *srv, struct spindle *sp)
{
    const struct {
        const char *path;
        sp_http_handler_fn fn;
        unsigned flags;
    } routes[] = {
        {"/", get_page, 0},
        {"/api/v1/status", get_status, 0},
        {"/api/v1/workflows", get_workflows, 0},
        {"/api/v1/workflows/", get_workflow, SP_HTTP_ROUTE_PREFIX},
        {"/api/v1/alerts", get_alerts, 0},
        {"/api/v1/records", get_records, 0},
    };
    int rc = 0;
    for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]) && rc == 0; i++) {
        const struct sp_http_route r = {.method = "GET", .path = routes[i].path,
                                        .flags = SP_HTTP_ROUTE_ADMIN | routes[i].flags,
                                        .handler = routes[i].fn, .arg = sp};
        rc = sp_http_server_route(srv, &r);
    }
    return rc;
}
