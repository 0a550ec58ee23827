/*
 * correlator.c - joins records that share a correlation id into one trace
 * per workflow (docs/internals/correlation.md; rules in docs/protocol.md).
 *
 * Span and log records are exported at once: their trace id and parent come
 * from the workflow's state and from ids derived from the correlation id, so
 * nothing waits. Only the workflow span and the invocation spans wait, in
 * per-workflow state, until the invocation ends or the workflow closes.
 *
 * A workflow is in exactly one of three lists, each ordered by its deadline:
 *   open    - by last activity (LRU; the head is the longest idle)
 *   closing - saw workflow_end, waiting out the grace period (FIFO)
 *   closed  - remembered for late records for closed_ttl (FIFO), holding
 *             only its ids and the span ids it already emitted.
 * Ownership: the correlator owns every workflow; a workflow's arena owns its
 * invocations, events and strings and is emptied when the workflow closes.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "agent.h"
#include "alert.h"
#include "caps.h"
#include "hmap.h"
#include "journal.h"
#include "log.h"

enum { WF_OPEN = 0, WF_CLOSING, WF_CLOSED };

struct inv {
    struct inv *next;
    struct sp_str id;
    struct sp_str function;
    struct sp_str trigger;
    struct sp_str error;
    uint8_t span_id[8];
    uint64_t first_ns, last_ns; /* any record of this invocation */
    uint64_t start_ns, end_ns;
    int64_t attempt;
    uint8_t has_start, has_end, emitted;
    uint8_t cold_start;         /* counted once per invocation */
    uint8_t counted;            /* in faas.invocations */
    uint8_t status;             /* enum sp_inv_status */
    uint8_t untracked;          /* past the per-workflow cap: a one-record stand-in */
    struct sp_span_event *events;
    uint32_t n_events, cap_events, dropped_events;
    struct sp_span_link *links;
    uint32_t n_links, cap_links;
};

struct retry_key {
    uint64_t inv_hash; /* 0: workflow-level */
    int64_t attempt;
};

struct wf {
    struct sp_hnode hn;
    struct wf *prev, *next; /* in the list of its state */
    uint8_t state;
    uint8_t saw_start, saw_end, root_emitted, error, has_root_parent;
    uint8_t late;           /* closed once already: every record now is late */
    char *cid;              /* malloc'ed, cid_len bytes + NUL */
    size_t cid_len;
    uint8_t trace_id[16];
    uint8_t root_id[8];
    uint8_t root_parent[8];
    uint64_t first_ns, last_ns, start_ns, end_ns;
    uint64_t deadline_ms;   /* closing: end of grace; closed: forget time */
    uint64_t touched_ms;    /* open: last activity, loop time */
    uint64_t jseq;          /* open: oldest journal segment of its records, 0 none */
    uint32_t n_inv;         /* distinct invocations tracked here (at most the cap) */
    uint32_t n_untracked;   /* invocations past the cap, counted by their invocation_start */
    uint32_t retries, throttles, cold_starts, dead_letters;
    struct sp_str name, function;
    struct inv *invs;
    struct retry_key *retry_keys;
    uint32_t n_retry_keys, cap_retry_keys;
    struct sp_span_event *events;
    uint32_t n_events, cap_events, dropped_events;
    struct corr_span_note *notes; /* the first span records, for the admin API (keep_spans) */
    uint32_t n_notes, cap_notes;
    uint8_t (*emitted)[8];  /* invocation span ids emitted here (kept while closed) */
    uint32_t n_emitted, cap_emitted;
    struct sp_arena arena;
};

struct list {
    struct wf *head, *tail;
    size_t n;
};

struct corr {
    struct spindle *sp;
    /* The journal segment the work being done now derives from (the record
     * being handled, or every record of the workflow being closed): what is
     * committed to a batch meanwhile holds it. 0 outside such work. */
    uint64_t jseq;
    struct sp_origin cur;    /* the record being handled; zero outside corr_record() */
    struct corr_hooks hooks; /* observations and derived points go here */
    struct sp_hmap map;
    struct list open, closing, closed;
    uv_timer_t tick;
    int tick_on;
    int keep_spans;          /* corr_keep_spans(): note span records for the admin API */
};

#define WF_ARENA_CHUNK 2048u
#define EVENT_MAX_EXTRA 4 /* attributes a lifecycle event adds from its own fields */

/* --- lists ----------------------------------------------------------------- */

static void list_push(struct list *l, struct wf *w)
{
    w->next = NULL;
    w->prev = l->tail;
    if (l->tail) {
        l->tail->next = w;
    } else {
        l->head = w;
    }
    l->tail = w;
    l->n++;
}

static void list_del(struct list *l, struct wf *w)
{
    if (w->prev) {
        w->prev->next = w->next;
    } else {
        l->head = w->next;
    }
    if (w->next) {
        w->next->prev = w->prev;
    } else {
        l->tail = w->prev;
    }
    w->prev = w->next = NULL;
    l->n--;
}

static struct list *list_of(struct corr *c, struct wf *w)
{
    return w->state == WF_OPEN ? &c->open : w->state == WF_CLOSING ? &c->closing : &c->closed;
}

/* --- small helpers --------------------------------------------------------- */


static size_t attrs_bytes(const struct sp_attrs *a)
{
    size_t n = 0;
    for (uint32_t i = 0; i < a->n; i++) {
        n += a->v[i].key.len + 16;
        if (a->v[i].val.type == SP_VAL_STR) {
            n += a->v[i].val.u.s.len;
        }
    }
    return n;
}

static void set_str(struct sp_attr *a, const char *k, struct sp_str v)
{
    a->key = sp_cstr(k);
    a->val.type = SP_VAL_STR;
    a->val.u.s = v;
}

static void set_int(struct sp_attr *a, const char *k, int64_t v)
{
    a->key = sp_cstr(k);
    a->val.type = SP_VAL_INT;
    a->val.u.i = v;
}

/* The sender the kernel named (struct sp_origin), on the spans and log
 * records its own records produce; room for two is the caller's. */
static void peer_attrs(const struct corr *c, struct sp_attrs *a)
{
    if (c->cur.has_peer) {
        set_int(&a->v[a->n++], "process.pid", c->cur.pid);
        set_int(&a->v[a->n++], "spindle.peer.uid", c->cur.uid);
    }
}

static void set_bool(struct sp_attr *a, const char *k, int v)
{
    a->key = sp_cstr(k);
    a->val.type = SP_VAL_BOOL;
    a->val.u.b = v;
}

/* Grows an arena-backed array by doubling (old copies stay in the arena until
 * the workflow closes: workflows are short, arrays small). */
static void *grow_array(struct sp_arena *a, void *old, uint32_t n, uint32_t *cap, size_t size)
{
    if (n < *cap) {
        return old;
    }
    uint32_t nc = *cap ? *cap * 2 : 4;
    void *p = sp_arena_alloc(a, nc * size);
    if (p == NULL) {
        return NULL;
    }
    if (n) {
        memcpy(p, old, n * size);
    }
    *cap = nc;
    return p;
}

/* --- derived metrics (OTel FaaS semantic conventions, durations in s) -------- */

/* Explicit bounds for durations in seconds (the OTel semantic conventions'
 * advice for request durations). */
static const double seconds_bounds[] = {0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25,
                                        0.5,   0.75, 1,     2.5,  5,     7.5,  10};

/* Also the alert engine's input: `sig` is the signal the point counts (the
 * rules see the same idempotent counts the metrics do). */
static void derive(struct corr *c, int sig, const char *name, const char *unit, int kind,
                   struct sp_str function, double value, uint64_t ts_ns, struct wf *w,
                   struct sp_str inv, const struct sp_attrs *attrs)
{
    struct alert_obs o = {
        .signal = sig,
        .function = function,
        .cid = {w->cid, w->cid_len},
        .workflow = w->name,
        .trace_id = w->trace_id,
        .value = value,
        .replay_ns = c->cur.replayed ? c->cur.recv_ns : 0,
        .recv_ns = c->cur.replayed ? 0 : c->cur.recv_ns,
    };
    if (sig == ALERT_SIG_DEAD_LETTERS && attrs && attrs->n) {
        o.queue = attrs->v[0].val.u.s;
    }
    c->hooks.observe(c->hooks.arg, &o);
    struct sp_point p = {
        .function = function,
        .name = sp_cstr(name),
        .unit = sp_cstr(unit),
        .kind = (uint8_t)kind,
        .attrs = attrs,
        .value = value,
        .ts_ns = ts_ns,
        .cid = {w->cid, w->cid_len},
        .inv = inv,
        .bounds = seconds_bounds, /* used by the histograms only */
        .n_bounds = sizeof(seconds_bounds) / sizeof(seconds_bounds[0]),
        .derived = 1,
        .jseq = c->jseq,
    };
    c->hooks.point(c->hooks.arg, &p);
}

static void count_invocation(struct corr *c, struct wf *w, struct inv *iv, uint64_t ts_ns)
{
    if (iv->counted) {
        return;
    }
    iv->counted = 1;
    struct sp_attr a;
    struct sp_attrs attrs = {&a, 0, 0};
    if (iv->trigger.len) {
        set_str(&a, "faas.trigger", iv->trigger);
        attrs.n = 1;
    }
    derive(c, ALERT_SIG_INVOCATIONS, "faas.invocations", "{invocation}", SP_METRIC_COUNTER, iv->function, 1, ts_ns, w,
           iv->id, &attrs);
}

/* --- emission -------------------------------------------------------------- */

static struct sp_span *span_new(struct corr *c, struct sp_batch **bp)
{
    struct sp_batch *b = sp_pipe_batch(c->sp, SP_SIG_TRACES);
    if (b == NULL) {
        return NULL;
    }
    *bp = b;
    return sp_arena_calloc(&b->arena, sizeof(struct sp_span));
}

static int events_dup(struct sp_arena *a, struct sp_span *s, const struct sp_span_event *ev,
                      uint32_t n)
{
    if (n == 0) {
        return 0;
    }
    s->events = sp_arena_alloc(a, sizeof(*ev) * n);
    if (s->events == NULL) {
        return -ENOMEM;
    }
    for (uint32_t i = 0; i < n; i++) {
        s->events[i].name = sp_str_dup(a, ev[i].name);
        s->events[i].ts_ns = ev[i].ts_ns;
        if (sp_attrs_dup(a, &s->events[i].attrs, &ev[i].attrs, 0)) {
            return -ENOMEM;
        }
    }
    s->n_events = n;
    return 0;
}

static void emit_invocation_now(struct corr *c, struct wf *w, struct inv *iv)
{
    struct sp_batch *b;
    struct sp_span *s = span_new(c, &b);
    if (s == NULL) {
        return;
    }
    struct sp_arena *a = &b->arena;
    s->function = sp_str_dup(a, iv->function);
    memcpy(s->trace_id, w->trace_id, 16);
    memcpy(s->span_id, iv->span_id, 8);
    memcpy(s->parent_span_id, w->root_id, 8);
    s->has_parent = 1;
    s->kind = SP_KIND_SERVER;
    s->name = iv->function.len ? s->function : sp_cstr("invocation");
    s->start_ns = iv->has_start ? iv->start_ns : iv->first_ns;
    s->end_ns = iv->has_end ? iv->end_ns : iv->last_ns;
    if (s->end_ns < s->start_ns) {
        s->end_ns = s->start_ns;
    }
    s->status = iv->status == SP_INV_OK         ? SP_STATUS_OK
                : iv->status == SP_INV_UNSET    ? SP_STATUS_UNSET
                                                : SP_STATUS_ERROR;
    if (iv->status == SP_INV_TIMEOUT && iv->error.len == 0) {
        s->status_message = sp_cstr("timeout");
    } else {
        s->status_message = sp_str_dup(a, iv->error);
    }
    s->attrs.v = sp_arena_alloc(a, sizeof(struct sp_attr) * 7);
    if (s->attrs.v == NULL) {
        return;
    }
    uint32_t n = 0;
    set_str(&s->attrs.v[n++], "faas.invocation_id", sp_str_dup(a, iv->id));
    if (iv->untracked) {
        set_bool(&s->attrs.v[n++], "spindle.invocation.untracked", 1);
    }
    set_bool(&s->attrs.v[n++], "faas.coldstart", iv->cold_start);
    if (iv->trigger.len) {
        set_str(&s->attrs.v[n++], "faas.trigger", sp_str_dup(a, iv->trigger));
    }
    if (iv->attempt) {
        set_int(&s->attrs.v[n++], "spindle.attempt", iv->attempt);
    }
    set_str(&s->attrs.v[n++], "spindle.correlation_id",
            sp_str_dup(a, (struct sp_str){w->cid, w->cid_len}));
    if (iv->status == SP_INV_TIMEOUT) {
        set_bool(&s->attrs.v[n++], "spindle.timeout", 1);
    }
    s->attrs.n = n;
    events_dup(a, s, iv->events, iv->n_events);
    s->dropped_events = iv->dropped_events;
    if (iv->n_links) {
        s->links = sp_arena_alloc(a, sizeof(struct sp_span_link) * iv->n_links);
        if (s->links) {
            memcpy(s->links, iv->links, sizeof(struct sp_span_link) * iv->n_links);
            s->n_links = iv->n_links;
        }
    }
    iv->emitted = 1;
    sp_pipe_commit(c->sp, SP_SIG_TRACES, s, 128 + iv->id.len + iv->function.len +
                                               iv->n_events * 64u, c->jseq);
    if (iv->untracked) {
        return; /* nothing kept for it: the cap bounds the workflow's memory */
    }
    /* Remember it, so a late record for this invocation never emits it twice. */
    if (w->n_emitted == w->cap_emitted) {
        uint32_t nc = w->cap_emitted ? w->cap_emitted * 2 : 4;
        void *p = realloc(w->emitted, (size_t)nc * 8u);
        if (p == NULL) {
            return;
        }
        w->emitted = p;
        w->cap_emitted = nc;
    }
    memcpy(w->emitted[w->n_emitted++], iv->span_id, 8);
}

static void emit_root_now(struct corr *c, struct wf *w)
{
    struct sp_batch *b;
    struct sp_span *s = span_new(c, &b);
    if (s == NULL) {
        return;
    }
    struct sp_arena *a = &b->arena;
    s->function = sp_str_dup(a, w->function);
    /* A workflow is not a function: without a function on workflow_start and
     * without a configured service.name, its span's resource is named after
     * the workflow rather than unknown_function. */
    if (w->function.len == 0 && !c->sp->res.service_name_set) {
        s->service = sp_str_dup(a, w->name);
    }
    memcpy(s->trace_id, w->trace_id, 16);
    memcpy(s->span_id, w->root_id, 8);
    if (w->has_root_parent) {
        memcpy(s->parent_span_id, w->root_parent, 8);
        s->has_parent = 1;
    }
    s->kind = SP_KIND_INTERNAL;
    s->name = w->name.len ? sp_str_dup(a, w->name) : sp_cstr("workflow");
    s->start_ns = w->saw_start ? w->start_ns : w->first_ns;
    s->end_ns = w->saw_end ? w->end_ns : w->last_ns;
    if (s->end_ns < s->start_ns) {
        s->end_ns = s->start_ns;
    }
    s->status = w->error ? SP_STATUS_ERROR : SP_STATUS_UNSET;
    s->attrs.v = sp_arena_alloc(a, sizeof(struct sp_attr) * 9);
    if (s->attrs.v == NULL) {
        return;
    }
    uint32_t n = 0;
    set_str(&s->attrs.v[n++], "spindle.correlation_id",
            sp_str_dup(a, (struct sp_str){w->cid, w->cid_len}));
    if (w->name.len) {
        set_str(&s->attrs.v[n++], "spindle.workflow", sp_str_dup(a, w->name));
    }
    set_int(&s->attrs.v[n++], "spindle.workflow.invocations", (int64_t)w->n_inv + w->n_untracked);
    if (w->n_untracked) {
        /* Past the cap the count comes from invocation_start records alone. */
        set_int(&s->attrs.v[n++], "spindle.workflow.invocations_untracked", w->n_untracked);
    }
    set_int(&s->attrs.v[n++], "spindle.workflow.retries", w->retries);
    set_int(&s->attrs.v[n++], "spindle.workflow.throttles", w->throttles);
    set_int(&s->attrs.v[n++], "spindle.workflow.cold_starts", w->cold_starts);
    set_int(&s->attrs.v[n++], "spindle.workflow.dead_letters", w->dead_letters);
    s->attrs.n = n;
    events_dup(a, s, w->events, w->n_events);
    s->dropped_events = w->dropped_events;
    w->root_emitted = 1;
    sp_pipe_commit(c->sp, SP_SIG_TRACES, s, 256 + w->cid_len + w->n_events * 64u, c->jseq);
}

/* The deferred spans derive from every record the workflow kept (its jseq),
 * not only from the record that triggers them. */
static void emit_invocation(struct corr *c, struct wf *w, struct inv *iv)
{
    uint64_t outer_jseq = c->jseq;
    sp_jseq_min(&c->jseq, w->jseq);
    emit_invocation_now(c, w, iv);
    c->jseq = outer_jseq;
}

static void emit_root(struct corr *c, struct wf *w)
{
    uint64_t outer_jseq = c->jseq;
    sp_jseq_min(&c->jseq, w->jseq);
    emit_root_now(c, w);
    c->jseq = outer_jseq;
}

/* An event that has no span left to live on here (its span is another
 * agent's, or was emitted here and the workflow span is not this agent's to
 * emit) travels as a log record of the same trace, on that span's id, with
 * the event's attributes and `extra` ones. */
static void event_log(struct corr *c, struct wf *w, struct sp_str function, struct sp_str name,
                      uint64_t ts_ns, const struct sp_attrs *attrs, const struct sp_attr *extra,
                      uint32_t n_extra, struct sp_str inv, const uint8_t span_id[8])
{
    struct sp_batch *b = sp_pipe_batch(c->sp, SP_SIG_LOGS);
    if (b == NULL) {
        return;
    }
    struct sp_arena *a = &b->arena;
    struct sp_logrec *l = sp_arena_calloc(a, sizeof(*l));
    if (l == NULL || sp_attrs_dup(a, &l->attrs, attrs, n_extra + 3)) {
        return;
    }
    l->function = sp_str_dup(a, function);
    l->ts_ns = ts_ns;
    l->observed_ns = sp_now_ns();
    int bad = sp_str_eq(name, sp_cstr("dead_letter")) || sp_str_eq(name, sp_cstr("throttle"));
    l->severity_number = bad ? 13 : 9;
    l->severity_text = sp_cstr(bad ? "WARN" : "INFO");
    l->body.type = SP_VAL_STR;
    l->body.u.s = sp_str_dup(a, name);
    l->event_name = l->body.u.s; /* OTLP LogRecord.event_name; event.name stays for older backends */
    for (uint32_t i = 0; i < n_extra; i++) {
        l->attrs.v[l->attrs.n].key = sp_str_dup(a, extra[i].key);
        sp_value_dup(a, &l->attrs.v[l->attrs.n++].val, &extra[i].val);
    }
    set_str(&l->attrs.v[l->attrs.n++], "event.name", l->body.u.s);
    set_str(&l->attrs.v[l->attrs.n++], "spindle.correlation_id",
            sp_str_dup(a, (struct sp_str){w->cid, w->cid_len}));
    if (inv.len) {
        set_str(&l->attrs.v[l->attrs.n++], "faas.invocation_id", sp_str_dup(a, inv));
    }
    l->has_trace = 1;
    memcpy(l->trace_id, w->trace_id, 16);
    memcpy(l->span_id, span_id, 8);
    sp_pipe_commit(c->sp, SP_SIG_LOGS, l, 96 + name.len + attrs_bytes(attrs), c->jseq);
}

/* --- workflow lifecycle ---------------------------------------------------- */

static void tick_arm(struct corr *c);

static struct wf *wf_find(struct corr *c, struct sp_str cid, uint64_t h)
{
    for (struct sp_hnode *n = sp_hmap_bucket(&c->map, h); n; n = n->next) {
        struct wf *w = (struct wf *)n;
        if (n->hash == h && w->cid_len == cid.len && memcmp(w->cid, cid.p, cid.len) == 0) {
            return w;
        }
    }
    return NULL;
}

static void wf_view(const struct wf *w, const char *state, struct corr_wf_view *v)
{
    *v = (struct corr_wf_view){
        .cid = {w->cid, w->cid_len},
        .name = w->name,
        .function = w->function,
        .trace_id = w->trace_id,
        .root_id = w->root_id,
        .state = state,
        .first_ns = w->first_ns,
        .last_ns = w->last_ns,
        .start_ns = w->start_ns,
        .end_ns = w->end_ns,
        .invocations = w->n_inv + w->n_untracked,
        .retries = w->retries,
        .throttles = w->throttles,
        .cold_starts = w->cold_starts,
        .dead_letters = w->dead_letters,
        .error = w->error,
        .saw_start = w->saw_start,
        .saw_end = w->saw_end,
        .events = w->events,
        .n_events = w->n_events,
        .spans = w->notes,
        .n_spans = w->n_notes,
        .priv = w,
    };
}

void corr_view_invocations(const struct corr_wf_view *v,
                           void (*fn)(void *arg, const struct corr_inv_view *iv), void *arg)
{
    const struct wf *w = v->priv;
    for (const struct inv *iv = w->invs; iv; iv = iv->next) {
        const struct corr_inv_view x = {
            .id = iv->id, .function = iv->function, .trigger = iv->trigger, .error = iv->error,
            .span_id = iv->span_id, .first_ns = iv->first_ns, .last_ns = iv->last_ns,
            .start_ns = iv->start_ns, .end_ns = iv->end_ns, .attempt = iv->attempt,
            .has_start = iv->has_start, .has_end = iv->has_end, .cold_start = iv->cold_start,
            .status = iv->status, .events = iv->events, .n_events = iv->n_events,
        };
        fn(arg, &x);
    }
}

static const char *state_name(const struct wf *w)
{
    return w->state == WF_OPEN ? "open" : w->state == WF_CLOSING ? "closing" : "closed";
}

void corr_each_workflow(const struct corr *c,
                        void (*fn)(void *arg, const struct corr_wf_view *v), void *arg)
{
    /* Closing first (nearest their end), then open from the most recently
     * active: the API lists the newest first. */
    const struct list *lists[] = {&c->closing, &c->open};
    for (int i = 0; i < 2; i++) {
        for (const struct wf *w = lists[i]->tail; w; w = w->prev) {
            struct corr_wf_view v;
            wf_view(w, state_name(w), &v);
            fn(arg, &v);
        }
    }
}

int corr_find_workflow(struct corr *c, struct sp_str cid,
                       void (*fn)(void *arg, const struct corr_wf_view *v), void *arg)
{
    struct wf *w = wf_find(c, cid, sp_hash(cid.p, cid.len, 0));
    if (w == NULL || w->state == WF_CLOSED) {
        return -ENOENT;
    }
    struct corr_wf_view v;
    wf_view(w, state_name(w), &v);
    fn(arg, &v);
    return 0;
}

void corr_keep_spans(struct corr *c, int on)
{
    c->keep_spans = on;
}

static void wf_close(struct corr *c, struct wf *w)
{
    struct spindle *sp = c->sp;
    int whole = sp->cfg.root_without_start;
    /* What closing emits derives from every record the workflow kept. */
    uint64_t outer_jseq = c->jseq;
    c->jseq = w->jseq;
    w->jseq = 0;
    for (struct inv *iv = w->invs; iv; iv = iv->next) {
        /* Rule 3: the agent that saw the end emits (done at the end); at
         * close, the agent that saw the start. An agent told it sees whole
         * workflows (root_without_start) also emits invocations it only
         * knows from their spans and logs, so their parents exist. */
        if (!iv->emitted && (iv->has_start || whole)) {
            emit_invocation(c, w, iv);
        } else if (!iv->emitted) {
            /* Another agent emits this invocation's span: its events still
             * travel, as log records on that span. */
            for (uint32_t i = 0; i < iv->n_events; i++) {
                const struct sp_span_event *ev = &iv->events[i];
                event_log(c, w, iv->function, ev->name, ev->ts_ns, &ev->attrs, NULL, 0, iv->id,
                          iv->span_id);
            }
        }
    }
    if (!w->root_emitted && (w->saw_start || whole)) {
        emit_root(c, w);
    }
    struct corr_wf_view v;
    wf_view(w, "closed", &v);
    c->hooks.closing(c->hooks.arg, &v);
    list_del(list_of(c, w), w);
    sp->stats.wf_open--;
    if (!w->late) {
        sp->stats.wf_closed++; /* distinct workflows: a late reopen closes again uncounted */
    }
    w->state = WF_CLOSED;
    w->invs = NULL;
    w->events = NULL;
    w->n_events = w->cap_events = w->dropped_events = 0;
    w->retry_keys = NULL;
    w->n_retry_keys = w->cap_retry_keys = 0;
    w->notes = NULL;
    w->n_notes = w->cap_notes = 0;
    w->name.len = 0;
    w->function.len = 0;
    sp_arena_free(&w->arena);
    w->deadline_ms = uv_now(sp->loop) + sp->cfg.closed_ttl_ms;
    list_push(&c->closed, w);
    c->jseq = outer_jseq;
}

static void wf_forget(struct corr *c, struct wf *w)
{
    list_del(list_of(c, w), w);
    sp_hmap_remove(&c->map, &w->hn);
    sp_arena_free(&w->arena);
    c->sp->mem.workflows -= sizeof(*w) + w->cid_len + 1;
    free(w->emitted);
    free(w->cid);
    free(w);
}

static void wf_touch(struct corr *c, struct wf *w, uint64_t ts_ns)
{
    if (w->first_ns == 0 || ts_ns < w->first_ns) {
        w->first_ns = ts_ns;
    }
    if (ts_ns > w->last_ns) {
        w->last_ns = ts_ns;
    }
    if (w->state == WF_OPEN) {
        w->touched_ms = uv_now(c->sp->loop);
        if (c->open.tail != w) {
            list_del(&c->open, w);
            list_push(&c->open, w);
        }
    }
}

/* Reopens a closed workflow for a late record: same trace, no second root. */
static void wf_reopen(struct corr *c, struct wf *w)
{
    list_del(&c->closed, w);
    w->state = WF_OPEN;
    w->saw_end = 0;
    sp_arena_init(&w->arena, WF_ARENA_CHUNK);
    sp_arena_account(&w->arena, &c->sp->mem.workflows);
    w->touched_ms = uv_now(c->sp->loop);
    list_push(&c->open, w);
    c->sp->stats.wf_open++;
}

/* Bounded: at the cap the longest-idle open workflow closes early (counted),
 * and the oldest remembered closed one is forgotten. `keep` (a closed
 * workflow about to reopen) is never the one forgotten. */
static void make_room(struct corr *c, struct wf *keep)
{
    struct spindle *sp = c->sp;
    while (c->open.n + c->closing.n >= sp->cfg.max_open_workflows && c->open.head) {
        sp->stats.wf_evicted++;
        SP_LOG_RL(SP_LOG_WARN, "open workflow limit reached, closing the longest idle early",
                  "max_open_workflows=%llu", (unsigned long long)sp->cfg.max_open_workflows);
        wf_close(c, c->open.head);
    }
    while (c->closed.n >= sp->cfg.max_closed_workflows && c->closed.head &&
           c->closed.head != keep) {
        wf_forget(c, c->closed.head);
    }
}

static struct wf *wf_get(struct corr *c, const struct sp_record *r)
{
    struct spindle *sp = c->sp;
    uint64_t h = sp_hash(r->correlation_id.p, r->correlation_id.len, 0);
    struct wf *w = wf_find(c, r->correlation_id, h);
    if (w) {
        if (w->state == WF_CLOSED) {
            make_room(c, w);
            w->late = 1;
            wf_reopen(c, w);
        }
        if (w->late) {
            sp->stats.late_record++;
        }
        return w;
    }
    make_room(c, NULL);
    w = calloc(1, sizeof(*w));
    if (w == NULL) {
        return NULL;
    }
    w->cid = malloc(r->correlation_id.len + 1);
    if (w->cid == NULL) {
        free(w);
        return NULL;
    }
    memcpy(w->cid, r->correlation_id.p, r->correlation_id.len);
    w->cid[r->correlation_id.len] = 0;
    w->cid_len = r->correlation_id.len;
    /* Rule 1: the first record fixes the trace id. */
    if (r->has_traceparent) {
        memcpy(w->trace_id, r->tp_trace_id, 16);
        if (r->tp_has_parent) {
            memcpy(w->root_parent, r->tp_parent_id, 8);
            w->has_root_parent = 1;
        }
    } else {
        sp_id_trace(w->cid, w->cid_len, w->trace_id);
    }
    sp_id_workflow_span(w->cid, w->cid_len, w->root_id);
    sp_arena_init(&w->arena, WF_ARENA_CHUNK);
    sp_arena_account(&w->arena, &sp->mem.workflows);
    sp->mem.workflows += sizeof(*w) + w->cid_len + 1;
    w->hn.hash = h;
    sp_hmap_insert(&c->map, &w->hn);
    w->state = WF_OPEN;
    w->touched_ms = uv_now(sp->loop);
    list_push(&c->open, w);
    sp->stats.wf_opened++;
    sp->stats.wf_open++;
    tick_arm(c);
    return w;
}

/* The record's invocation, NULL when it names none, when its span was
 * emitted already, or (`*untracked` set) when the workflow tracks the cap's
 * worth of invocations already. */
static struct inv *inv_get(struct wf *w, const struct sp_record *r, int *untracked)
{
    *untracked = 0;
    if (r->invocation_id.len == 0) {
        return NULL;
    }
    struct inv *iv;
    for (iv = w->invs; iv; iv = iv->next) {
        if (sp_str_eq(iv->id, r->invocation_id)) {
            break;
        }
    }
    if (iv == NULL) {
        uint8_t sid[8];
        sp_id_invocation_span(w->cid, w->cid_len, r->invocation_id.p, r->invocation_id.len, sid);
        for (uint32_t i = 0; i < w->n_emitted; i++) {
            if (memcmp(w->emitted[i], sid, 8) == 0) {
                return NULL; /* emitted before this workflow closed: never twice */
            }
        }
        if (w->n_inv >= SP_MAX_INVOCATIONS_PER_WORKFLOW) {
            *untracked = 1;
            return NULL;
        }
        iv = sp_arena_calloc(&w->arena, sizeof(*iv));
        if (iv == NULL) {
            return NULL;
        }
        iv->id = sp_str_dup(&w->arena, r->invocation_id);
        memcpy(iv->span_id, sid, 8);
        iv->first_ns = r->ts_ns;
        iv->next = w->invs;
        w->invs = iv;
        w->n_inv++;
    }
    if (iv->function.len == 0 && r->function.len) {
        iv->function = sp_str_dup(&w->arena, r->function);
    }
    if (r->ts_ns < iv->first_ns) {
        iv->first_ns = r->ts_ns;
    }
    if (r->ts_ns > iv->last_ns) {
        iv->last_ns = r->ts_ns;
    }
    return iv;
}

/* Records a span event on the invocation (if still open), else on the root
 * (if this agent emits it), else as a log record. An event of an invocation
 * whose span already went out (a dead_letter after its invocation_end) goes
 * on the root too, naming its invocation, so the trace shows it. `extra`
 * holds at most EVENT_MAX_EXTRA attributes. */
static void add_event(struct corr *c, struct wf *w, struct inv *iv, const struct sp_record *r,
                      const struct sp_attr *extra, uint32_t n_extra)
{
    struct sp_span_event **evp;
    uint32_t *n, *cap, *dropped;
    struct sp_attr more[EVENT_MAX_EXTRA + 1];
    if (iv && !iv->emitted) {
        evp = &iv->events;
        n = &iv->n_events;
        cap = &iv->cap_events;
        dropped = &iv->dropped_events;
    } else if (!w->root_emitted && (w->saw_start || c->sp->cfg.root_without_start)) {
        evp = &w->events;
        n = &w->n_events;
        cap = &w->cap_events;
        dropped = &w->dropped_events;
        if (r->invocation_id.len && n_extra <= EVENT_MAX_EXTRA) {
            memcpy(more, extra, n_extra * sizeof(*extra));
            set_str(&more[n_extra++], "faas.invocation_id", r->invocation_id);
            extra = more;
        }
    } else {
        uint8_t sid[8];
        if (r->invocation_id.len) {
            sp_id_invocation_span(w->cid, w->cid_len, r->invocation_id.p, r->invocation_id.len,
                                  sid);
        } else {
            memcpy(sid, w->root_id, 8);
        }
        event_log(c, w, r->function, r->name, r->ts_ns, &r->attrs, extra, n_extra,
                  r->invocation_id, sid);
        return;
    }
    if (*n >= SP_MAX_SPAN_EVENTS) {
        (*dropped)++;
        return;
    }
    struct sp_span_event *ev = grow_array(&w->arena, *evp, *n, cap, sizeof(**evp));
    if (ev == NULL) {
        (*dropped)++;
        return;
    }
    *evp = ev;
    struct sp_span_event *e = &ev[(*n)++];
    e->name = sp_str_dup(&w->arena, r->name);
    e->ts_ns = r->ts_ns;
    struct sp_attrs tmp;
    if (sp_attrs_dup(&w->arena, &tmp, &r->attrs, n_extra) == 0) {
        for (uint32_t i = 0; i < n_extra; i++) {
            tmp.v[tmp.n].key = extra[i].key;
            sp_value_dup(&w->arena, &tmp.v[tmp.n].val, &extra[i].val);
            tmp.n++;
        }
        e->attrs = tmp;
    }
}

static int retry_seen(struct wf *w, struct sp_str inv, int64_t attempt)
{
    uint64_t h = inv.len ? sp_hash(inv.p, inv.len, 1) | 1u : 0;
    for (uint32_t i = 0; i < w->n_retry_keys; i++) {
        if (w->retry_keys[i].inv_hash == h && w->retry_keys[i].attempt == attempt) {
            return 1;
        }
    }
    struct retry_key *k =
        grow_array(&w->arena, w->retry_keys, w->n_retry_keys, &w->cap_retry_keys, sizeof(*k));
    if (k) {
        w->retry_keys = k;
        k[w->n_retry_keys].inv_hash = h;
        k[w->n_retry_keys].attempt = attempt;
        w->n_retry_keys++;
    }
    return 0;
}

static void count_cold_start(struct corr *c, struct wf *w, struct inv *iv,
                             const struct sp_record *r)
{
    if (iv) {
        if (iv->cold_start) {
            return;
        }
        iv->cold_start = 1;
    }
    w->cold_starts++;
    derive(c, ALERT_SIG_COLD_STARTS, "faas.coldstarts", "{coldstart}", SP_METRIC_COUNTER,
           iv && iv->function.len ? iv->function : r->function, 1, r->ts_ns, w,
           r->invocation_id, NULL);
}

static void on_event(struct corr *c, struct wf *w, struct inv *iv, const struct sp_record *r)
{
    struct sp_attr extra[EVENT_MAX_EXTRA];
    uint32_t n = 0;
    switch (r->event) {
    case SP_EV_WORKFLOW_START:
        if (!w->saw_start || r->ts_ns < w->start_ns) {
            w->start_ns = r->ts_ns;
        }
        w->saw_start = 1;
        if (r->workflow.len && w->name.len == 0) {
            w->name = sp_str_dup(&w->arena, r->workflow);
        }
        if (r->function.len && w->function.len == 0) {
            w->function = sp_str_dup(&w->arena, r->function);
        }
        return;
    case SP_EV_WORKFLOW_END:
        w->saw_end = 1;
        w->end_ns = r->ts_ns;
        if (r->inv_status == SP_INV_ERROR || r->inv_status == SP_INV_TIMEOUT) {
            w->error = 1;
        }
        if (w->state == WF_OPEN) {
            list_del(&c->open, w);
            w->state = WF_CLOSING;
            w->deadline_ms = uv_now(c->sp->loop) + c->sp->cfg.wf_grace_ms;
            list_push(&c->closing, w);
            tick_arm(c);
        }
        return;
    case SP_EV_INVOCATION_START:
        if (iv == NULL) {
            return;
        }
        iv->has_start = 1;
        iv->start_ns = r->ts_ns;
        if (r->trigger.len) {
            iv->trigger = sp_str_dup(&w->arena, r->trigger);
        }
        count_invocation(c, w, iv, r->ts_ns);
        if (r->cold_start == 1) {
            count_cold_start(c, w, iv, r);
        }
        if (r->attempt) {
            iv->attempt = r->attempt;
            if (r->attempt > 1 && !retry_seen(w, r->invocation_id, r->attempt)) {
                w->retries++;
                derive(c, ALERT_SIG_RETRIES, "spindle.retries", "{retry}", SP_METRIC_COUNTER, iv->function, 1,
                       r->ts_ns, w, r->invocation_id, NULL);
            }
        }
        return;
    case SP_EV_INVOCATION_END:
        if (iv == NULL) {
            return;
        }
        iv->has_end = 1;
        iv->end_ns = r->ts_ns;
        iv->status = r->inv_status;
        if (r->error.len) {
            iv->error = sp_str_dup(&w->arena, r->error);
        }
        if (r->inv_status == SP_INV_ERROR || r->inv_status == SP_INV_TIMEOUT) {
            w->error = 1;
        }
        if (!iv->emitted) {
            /* Counted once, by the agent that emits the span. */
            count_invocation(c, w, iv, r->ts_ns);
            if (r->inv_status == SP_INV_ERROR) {
                derive(c, ALERT_SIG_ERRORS, "faas.errors", "{error}", SP_METRIC_COUNTER, iv->function, 1, r->ts_ns,
                       w, iv->id, NULL);
            } else if (r->inv_status == SP_INV_TIMEOUT) {
                derive(c, ALERT_SIG_TIMEOUTS, "faas.timeouts", "{timeout}", SP_METRIC_COUNTER, iv->function, 1,
                       r->ts_ns, w, iv->id, NULL);
            }
            if (iv->has_start && r->ts_ns >= iv->start_ns) {
                derive(c, ALERT_SIG_DURATION, "faas.invoke_duration", "s", SP_METRIC_HISTOGRAM, iv->function,
                       (double)(r->ts_ns - iv->start_ns) / 1e9, r->ts_ns, w, iv->id, NULL);
            }
        }
        /* Rule 3: the agent that saw the end emits the span, now; a repeated
         * invocation_end never emits it twice. */
        if (!iv->emitted) {
            emit_invocation(c, w, iv);
        }
        return;
    case SP_EV_COLD_START:
        count_cold_start(c, w, iv, r);
        if (r->init_duration_ms >= 0) {
            derive(c, ALERT_SIG_INIT_DURATION, "faas.init_duration", "s", SP_METRIC_HISTOGRAM,
                   iv && iv->function.len ? iv->function : r->function, r->init_duration_ms / 1e3,
                   r->ts_ns, w, r->invocation_id, NULL);
            extra[n].key = sp_cstr("faas.init_duration_ms");
            extra[n].val.type = SP_VAL_DOUBLE;
            extra[n++].val.u.d = r->init_duration_ms;
        }
        break;
    case SP_EV_THROTTLE:
        w->throttles++;
        derive(c, ALERT_SIG_THROTTLES, "spindle.throttles", "{throttle}", SP_METRIC_COUNTER,
               iv && iv->function.len ? iv->function : r->function, 1, r->ts_ns, w,
               r->invocation_id, NULL);
        if (r->reason.len) {
            set_str(&extra[n++], "spindle.reason", r->reason);
        }
        break;
    case SP_EV_RETRY:
        if (!retry_seen(w, r->invocation_id, r->attempt)) {
            w->retries++;
            derive(c, ALERT_SIG_RETRIES, "spindle.retries", "{retry}", SP_METRIC_COUNTER,
                   iv && iv->function.len ? iv->function : r->function, 1, r->ts_ns, w,
                   r->invocation_id, NULL);
        }
        set_int(&extra[n++], "spindle.attempt", r->attempt);
        if (r->reason.len) {
            set_str(&extra[n++], "spindle.reason", r->reason);
        }
        break;
    case SP_EV_DEAD_LETTER: {
        w->dead_letters++;
        w->error = 1;
        struct sp_attr qa;
        set_str(&qa, "queue", r->queue);
        struct sp_attrs qattrs = {&qa, 1, 0};
        derive(c, ALERT_SIG_DEAD_LETTERS, "spindle.dead_letters", "{message}", SP_METRIC_COUNTER,
               iv && iv->function.len ? iv->function : r->function, 1, r->ts_ns, w,
               r->invocation_id, &qattrs);
    }
        set_str(&extra[n++], "messaging.destination.name", r->queue);
        if (r->reason.len) {
            set_str(&extra[n++], "spindle.reason", r->reason);
        }
        if (r->message_id.len) {
            set_str(&extra[n++], "messaging.message.id", r->message_id);
        }
        break;
    default:
        break;
    }
    add_event(c, w, iv, r, extra, n);
}

/* The lifecycle of an invocation past SP_MAX_INVOCATIONS_PER_WORKFLOW, from
 * each record alone (nothing is kept for it). Its span is emitted at once
 * from its invocation_start, so that its children's parent exists even if no
 * end comes; it starts and ends at the start (the end is not known yet) and
 * says it is untracked. Its invocation_end becomes a log record on that span
 * with the status, and still counts errors and timeouts and marks the
 * workflow failed. Returns 0 for any other record (handled as usual: events
 * become log records on the invocation's derived span id). */
static int on_untracked(struct corr *c, struct wf *w, const struct sp_record *r)
{
    if (r->type != SP_REC_EVENT) {
        return 0;
    }
    if (r->event == SP_EV_INVOCATION_START) {
        struct inv iv = {.id = r->invocation_id, .function = r->function, .trigger = r->trigger,
                         .first_ns = r->ts_ns, .last_ns = r->ts_ns, .start_ns = r->ts_ns,
                         .has_start = 1, .attempt = r->attempt, .untracked = 1};
        sp_id_invocation_span(w->cid, w->cid_len, r->invocation_id.p, r->invocation_id.len,
                              iv.span_id);
        w->n_untracked++;
        count_invocation(c, w, &iv, r->ts_ns);
        if (r->cold_start == 1) {
            count_cold_start(c, w, &iv, r);
        }
        if (r->attempt > 1 && !retry_seen(w, r->invocation_id, r->attempt)) {
            w->retries++;
            derive(c, ALERT_SIG_RETRIES, "spindle.retries", "{retry}", SP_METRIC_COUNTER,
                   r->function, 1, r->ts_ns, w, r->invocation_id, NULL);
        }
        emit_invocation(c, w, &iv);
        return 1;
    }
    if (r->event == SP_EV_INVOCATION_END) {
        static const char *const names[] = {"unset", "ok", "error", "timeout"};
        struct sp_attr extra[2];
        uint32_t n = 0;
        set_str(&extra[n++], "spindle.invocation.status", sp_cstr(names[r->inv_status & 3]));
        if (r->error.len) {
            set_str(&extra[n++], "spindle.invocation.error", r->error);
        }
        if (r->inv_status == SP_INV_ERROR || r->inv_status == SP_INV_TIMEOUT) {
            w->error = 1;
            derive(c, r->inv_status == SP_INV_ERROR ? ALERT_SIG_ERRORS : ALERT_SIG_TIMEOUTS,
                   r->inv_status == SP_INV_ERROR ? "faas.errors" : "faas.timeouts",
                   r->inv_status == SP_INV_ERROR ? "{error}" : "{timeout}", SP_METRIC_COUNTER,
                   r->function, 1, r->ts_ns, w, r->invocation_id, NULL);
        }
        uint8_t sid[8];
        sp_id_invocation_span(w->cid, w->cid_len, r->invocation_id.p, r->invocation_id.len, sid);
        event_log(c, w, r->function, r->name, r->ts_ns, &r->attrs, extra, n, r->invocation_id,
                  sid);
        return 1;
    }
    return 0;
}

static void conflict_link(struct corr *c, struct wf *w, const struct sp_record *r,
                          struct sp_arena *a, struct sp_span_link **links, uint32_t *n,
                          uint32_t *cap)
{
    if (!r->has_traceparent || memcmp(r->tp_trace_id, w->trace_id, 16) == 0) {
        return;
    }
    c->sp->stats.trace_conflict++;
    if (links == NULL) {
        return;
    }
    struct sp_span_link *l = grow_array(a, *links, *n, cap, sizeof(**links));
    if (l == NULL) {
        return;
    }
    *links = l;
    memset(&l[*n], 0, sizeof(l[*n]));
    memcpy(l[*n].trace_id, r->tp_trace_id, 16);
    memcpy(l[*n].span_id, r->tp_parent_id, 8);
    (*n)++;
}

static void on_span(struct corr *c, struct wf *w, struct inv *iv, const struct sp_record *r)
{
    struct sp_batch *b;
    struct sp_span *s = span_new(c, &b);
    if (s == NULL) {
        return;
    }
    struct sp_arena *a = &b->arena;
    s->function = sp_str_dup(a, r->function);
    memcpy(s->trace_id, w->trace_id, 16);
    if (r->has_span_id) {
        memcpy(s->span_id, r->span_id, 8);
    } else {
        sp_rng_span_id(&c->sp->rng, s->span_id);
    }
    s->has_parent = 1;
    if (r->has_parent_span_id) {
        memcpy(s->parent_span_id, r->parent_span_id, 8);
    } else if (iv) {
        memcpy(s->parent_span_id, iv->span_id, 8); /* derived once per invocation */
    } else if (r->invocation_id.len) {
        /* Rule 4; derived, so it holds even for invocations not tracked here. */
        sp_id_invocation_span(w->cid, w->cid_len, r->invocation_id.p, r->invocation_id.len,
                              s->parent_span_id);
    } else {
        memcpy(s->parent_span_id, w->root_id, 8);
    }
    s->name = sp_str_dup(a, r->name);
    s->kind = r->kind;
    s->status = r->status;
    s->status_message = sp_str_dup(a, r->status_message);
    s->start_ns = r->start_ns;
    s->end_ns = r->end_ns;
    if (sp_attrs_dup(a, &s->attrs, &r->attrs, 4)) {
        return;
    }
    set_str(&s->attrs.v[s->attrs.n++], "spindle.correlation_id",
            sp_str_dup(a, r->correlation_id));
    peer_attrs(c, &s->attrs);
    if (r->invocation_id.len) {
        set_str(&s->attrs.v[s->attrs.n++], "faas.invocation_id", sp_str_dup(a, r->invocation_id));
    }
    events_dup(a, s, r->events, r->n_events);
    s->dropped_events = r->dropped_events;
    uint32_t cap = 0;
    conflict_link(c, w, r, a, &s->links, &s->n_links, &cap);
    sp_pipe_commit(c->sp, SP_SIG_TRACES, s,
                   128 + r->name.len + attrs_bytes(&r->attrs) + r->n_events * 64u, c->jseq);
}

static void on_log(struct corr *c, struct wf *w, struct inv *iv, const struct sp_record *r)
{
    struct sp_batch *b = sp_pipe_batch(c->sp, SP_SIG_LOGS);
    if (b == NULL) {
        return;
    }
    struct sp_arena *a = &b->arena;
    struct sp_logrec *l = sp_arena_calloc(a, sizeof(*l));
    if (l == NULL || sp_attrs_dup(a, &l->attrs, &r->attrs, 4)) {
        return;
    }
    peer_attrs(c, &l->attrs);
    l->function = sp_str_dup(a, r->function);
    l->ts_ns = r->ts_ns;
    l->observed_ns = sp_now_ns();
    l->severity_number = r->severity_number;
    l->severity_text = sp_str_dup(a, r->severity_text);
    if (sp_value_dup(a, &l->body, &r->body)) {
        return;
    }
    set_str(&l->attrs.v[l->attrs.n++], "spindle.correlation_id",
            sp_str_dup(a, r->correlation_id));
    if (r->invocation_id.len) {
        set_str(&l->attrs.v[l->attrs.n++], "faas.invocation_id", sp_str_dup(a, r->invocation_id));
    }
    /* Rule 5. */
    l->has_trace = 1;
    memcpy(l->trace_id, w->trace_id, 16);
    if (r->has_span_id) {
        memcpy(l->span_id, r->span_id, 8);
    } else if (iv) {
        memcpy(l->span_id, iv->span_id, 8); /* derived once per invocation */
    } else if (r->invocation_id.len) {
        sp_id_invocation_span(w->cid, w->cid_len, r->invocation_id.p, r->invocation_id.len,
                              l->span_id);
    } else {
        memcpy(l->span_id, w->root_id, 8);
    }
    size_t body = r->body.type == SP_VAL_STR ? r->body.u.s.len : 256;
    sp_pipe_commit(c->sp, SP_SIG_LOGS, l, 96 + body + attrs_bytes(&r->attrs), c->jseq);
}

static void record_in(struct corr *c, struct wf *w, const struct sp_record *r);

void corr_record(struct corr *c, const struct sp_record *r, const struct sp_origin *o)
{
    struct wf *w = wf_get(c, r);
    if (w == NULL) {
        return;
    }
    c->cur = *o;
    c->jseq = o->jseq;
    /* The workflow keeps its oldest record's journal segment until it
     * closes: what it emits later (emit_invocation, emit_root, event_log)
     * derives from all of them. A span or log record exported at once
     * derives from its own record only. */
    sp_jseq_min(&w->jseq, c->jseq);
    record_in(c, w, r);
    c->jseq = 0;
    c->cur = (struct sp_origin){0};
}

/* What the admin API shows of a span record: its name, ids and times, the
 * first SP_CORR_MAX_SPAN_NOTES of a workflow. */
static void note_span(struct wf *w, const struct sp_record *r)
{
    if (w->state == WF_CLOSED || w->n_notes >= SP_CORR_MAX_SPAN_NOTES) {
        return;
    }
    struct corr_span_note *n = grow_array(&w->arena, w->notes, w->n_notes, &w->cap_notes,
                                          sizeof(*n));
    if (n == NULL) {
        return;
    }
    w->notes = n;
    n = &n[w->n_notes++];
    memset(n, 0, sizeof(*n));
    n->name = sp_str_dup(&w->arena, r->name);
    n->function = sp_str_dup(&w->arena, r->function);
    n->invocation_id = sp_str_dup(&w->arena, r->invocation_id);
    if (r->has_span_id) {
        memcpy(n->span_id, r->span_id, 8);
        n->has_span_id = 1;
    }
    n->start_ns = r->start_ns;
    n->end_ns = r->end_ns;
    n->status = r->status;
}

static void record_in(struct corr *c, struct wf *w, const struct sp_record *r)
{
    wf_touch(c, w, r->type == SP_REC_SPAN ? r->end_ns : r->ts_ns);
    if (r->type == SP_REC_SPAN && r->start_ns < w->first_ns) {
        w->first_ns = r->start_ns;
    }
    if (r->workflow.len && w->name.len == 0) {
        w->name = sp_str_dup(&w->arena, r->workflow);
    }
    int untracked;
    struct inv *iv = inv_get(w, r, &untracked);
    if (untracked && on_untracked(c, w, r)) {
        return;
    }
    if (iv && r->type == SP_REC_SPAN) {
        if (r->start_ns < iv->first_ns) {
            iv->first_ns = r->start_ns;
        }
        if (r->end_ns > iv->last_ns) {
            iv->last_ns = r->end_ns;
        }
    }
    switch (r->type) {
    case SP_REC_SPAN:
        if (c->keep_spans) {
            note_span(w, r);
        }
        on_span(c, w, iv, r);
        break;
    case SP_REC_LOG:
        conflict_link(c, w, r, NULL, NULL, NULL, NULL);
        on_log(c, w, iv, r);
        break;
    case SP_REC_EVENT:
        if (iv && !iv->emitted) {
            conflict_link(c, w, r, &w->arena, &iv->links, &iv->n_links, &iv->cap_links);
        } else {
            conflict_link(c, w, r, NULL, NULL, NULL, NULL);
        }
        on_event(c, w, iv, r);
        break;
    default:
        break;
    }
}

void corr_link(struct corr *c, struct sp_str cid, struct sp_str inv, uint8_t trace_id[16],
               uint8_t span_id[8])
{
    struct wf *w = wf_find(c, cid, sp_hash(cid.p, cid.len, 0));
    if (w) {
        memcpy(trace_id, w->trace_id, 16);
    } else {
        sp_id_trace(cid.p, cid.len, trace_id);
    }
    if (inv.len) {
        sp_id_invocation_span(cid.p, cid.len, inv.p, inv.len, span_id);
    } else {
        sp_id_workflow_span(cid.p, cid.len, span_id);
    }
}

/* A span or log record from outside the protocol (the OTLP receiver) names
 * workflow `cid`: the workflow opens, or is touched, as a record of it would
 * (so its span is emitted when it closes and covers ts_ns), and the ids the
 * item takes come back: the workflow's trace id, and the parent of a root
 * span: the span of invocation `inv` when this workflow tracks it, else the
 * workflow span. Records of the protocol never come here: corr_record()'s
 * path is unchanged. */
void corr_join(struct corr *c, struct sp_str cid, struct sp_str inv, uint64_t ts_ns,
               const struct sp_origin *o, uint8_t trace_id[16], uint8_t parent[8])
{
    struct sp_record r = {.type = SP_REC_SPAN, .correlation_id = cid};
    struct wf *w = wf_get(c, &r);
    if (w == NULL) {
        /* Out of memory: the ids the workflow would have had. */
        sp_id_trace(cid.p, cid.len, trace_id);
        sp_id_workflow_span(cid.p, cid.len, parent);
        return;
    }
    sp_jseq_min(&w->jseq, o->jseq);
    wf_touch(c, w, ts_ns);
    memcpy(trace_id, w->trace_id, 16);
    memcpy(parent, w->root_id, 8);
    for (struct inv *iv = w->invs; inv.len && iv; iv = iv->next) {
        if (sp_str_eq(iv->id, inv)) {
            memcpy(parent, iv->span_id, 8);
            break;
        }
    }
}

/* --- timers ---------------------------------------------------------------- */

static void tick_cb(uv_timer_t *t)
{
    struct corr *c = t->data;
    struct spindle *sp = c->sp;
    uint64_t now = uv_now(sp->loop);
    while (c->open.head && c->open.head->touched_ms + sp->cfg.wf_idle_timeout_ms <= now) {
        wf_close(c, c->open.head);
    }
    while (c->closing.head && c->closing.head->deadline_ms <= now) {
        wf_close(c, c->closing.head);
    }
    while (c->closed.head && c->closed.head->deadline_ms <= now) {
        wf_forget(c, c->closed.head);
    }
    /* What closing freed is seen by flow control's once-per-turn check. */
    if (c->open.n + c->closing.n + c->closed.n == 0) {
        uv_timer_stop(&c->tick);
        c->tick_on = 0;
    }
}

/* A repeating tick while any workflow exists; idle agents do not wake up. */
static void tick_arm(struct corr *c)
{
    if (!c->tick_on) {
        uint64_t every = SP_CORR_TICK_MS;
        if (c->sp->cfg.wf_grace_ms < every * 2 && c->sp->cfg.wf_grace_ms >= 10) {
            every = c->sp->cfg.wf_grace_ms / 2;
        }
        uv_timer_start(&c->tick, tick_cb, every, every);
        c->tick_on = 1;
    }
}

void corr_shed(struct corr *c, size_t target)
{
    struct spindle *sp = c->sp;
    while (sp->mem.workflows > target && c->open.head) {
        sp->stats.wf_evicted++;
        SP_LOG_RL(SP_LOG_WARN, "memory budget reached, closing the longest idle workflow early",
                  "max_memory=%llu", (unsigned long long)sp->cfg.max_memory);
        wf_close(c, c->open.head);
    }
    while (sp->mem.workflows > target && c->closed.head) {
        wf_forget(c, c->closed.head); /* late records for it will open a new entry */
    }
}

uint64_t corr_min_jseq(const struct corr *c)
{
    uint64_t m = 0;
    for (const struct wf *w = c->open.head; w; w = w->next) {
        sp_jseq_min(&m, w->jseq);
    }
    for (const struct wf *w = c->closing.head; w; w = w->next) {
        sp_jseq_min(&m, w->jseq);
    }
    return m;
}

void corr_close_all(struct corr *c)
{
    while (c->closing.head) {
        wf_close(c, c->closing.head);
    }
    while (c->open.head) {
        wf_close(c, c->open.head);
    }
}

int corr_init(struct spindle *sp, const struct corr_hooks *hooks, struct corr **out)
{
    struct corr *c = calloc(1, sizeof(*c));
    if (c == NULL) {
        return -ENOMEM;
    }
    c->sp = sp;
    c->hooks = *hooks;
    if (sp_hmap_init(&c->map, 1024)) {
        free(c);
        return -ENOMEM;
    }
    uv_timer_init(sp->loop, &c->tick);
    c->tick.data = c;
    *out = c;
    return 0;
}

static void corr_closed_cb(uv_handle_t *h)
{
    free(h->data);
}

void corr_free(struct corr *c)
{
    struct list *lists[] = {&c->open, &c->closing, &c->closed};
    for (int i = 0; i < 3; i++) {
        while (lists[i]->head) {
            wf_forget(c, lists[i]->head);
        }
    }
    sp_hmap_free(&c->map);
    uv_close((uv_handle_t *)&c->tick, corr_closed_cb);
}
