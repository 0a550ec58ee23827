/*
 * otlp_in.c - the door for OTLP request bodies (door.h: sp_door_otlp()):
 * decode (otlp/otlp_decode.c), count, journal the body as received, then
 * join each item to the workflow it names and commit it to the pipeline with
 * the resource and scope it was sent with. Replay of SP_CODEC_OTLP_* entries
 * comes through here from door.c, with the same steps.
 *
 * Joining (docs/collectors.md): an item names a workflow when one of
 * otlp.correlation_keys is a non-empty string attribute of the item, else of
 * its resource. A joined span keeps its span id and attributes, takes the
 * workflow's trace id, and links to (its old trace id, its own span id); if
 * it is a root in its request (no parent, or a parent the request does not
 * hold) it hangs under its invocation's span (faas.invocation_id, when the
 * workflow tracks it) or else the workflow span. Every other span of the same
 * original trace follows: within the request always, in later requests while
 * the original trace is remembered here (SP_DEF_OTLP_MAX_TRACES, the least
 * recently used forgotten first, counted traces_forgotten). Spans of traces
 * never joined pass through unchanged. Log records take the trace id the
 * same way and keep their span id; a data point naming a workflow gets an
 * exemplar pointing at it.
 *
 * Ownership: struct sp_otlp_in (the remembered traces) belongs to struct
 * spindle (sp->otlp_in), made on first use, freed by sp_door_otlp_free().
 */
#include "otlp_in.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "agent.h"
#include "door.h"
#include "flow.h"
#include "hmap.h"
#include "journal.h"
#include "log.h"
#include "otlp_decode.h"

/* One original trace that joined a workflow. */
struct joined {
    struct sp_hnode hn;
    struct joined *prev, *next; /* LRU: head is the least recently used */
    uint8_t old_id[16];
    uint8_t new_id[16];
};

struct sp_otlp_in {
    struct sp_hmap map;
    struct joined *head, *tail;
    size_t n;
    struct sp_arena scratch; /* one request's decoded items */
};

#define SCRATCH_CHUNK (64u * 1024u)

static struct sp_otlp_in *state(struct spindle *sp)
{
    if (sp->otlp_in == NULL) {
        struct sp_otlp_in *s = calloc(1, sizeof(*s));
        if (s == NULL || sp_hmap_init(&s->map, 1024)) {
            free(s);
            return NULL;
        }
        sp_arena_init(&s->scratch, SCRATCH_CHUNK);
        sp->otlp_in = s;
    }
    return sp->otlp_in;
}

void sp_door_otlp_free(struct spindle *sp)
{
    struct sp_otlp_in *s = sp->otlp_in;
    if (s == NULL) {
        return;
    }
    for (struct joined *j = s->head, *nx; j; j = nx) {
        nx = j->next;
        free(j);
    }
    sp->mem.workflows -= s->n * sizeof(struct joined);
    sp_hmap_free(&s->map);
    sp_arena_free(&s->scratch);
    free(s);
    sp->otlp_in = NULL;
}

/* --- remembered traces ------------------------------------------------------ */

static void lru_del(struct sp_otlp_in *s, struct joined *j)
{
    *(j->prev ? &j->prev->next : &s->head) = j->next;
    *(j->next ? &j->next->prev : &s->tail) = j->prev;
    j->prev = j->next = NULL;
}

static void lru_push(struct sp_otlp_in *s, struct joined *j)
{
    j->prev = s->tail;
    j->next = NULL;
    *(s->tail ? &s->tail->next : &s->head) = j;
    s->tail = j;
}

static struct joined *remembered(struct sp_otlp_in *s, const uint8_t old_id[16])
{
    uint64_t h = sp_hash(old_id, 16, 0);
    for (struct sp_hnode *n = sp_hmap_bucket(&s->map, h); n; n = n->next) {
        struct joined *j = (struct joined *)n;
        if (n->hash == h && memcmp(j->old_id, old_id, 16) == 0) {
            lru_del(s, j);
            lru_push(s, j);
            return j;
        }
    }
    return NULL;
}

static void remember(struct spindle *sp, struct sp_otlp_in *s, const uint8_t old_id[16],
                     const uint8_t new_id[16])
{
    struct joined *j = remembered(s, old_id);
    if (j) {
        memcpy(j->new_id, new_id, 16);
        return;
    }
    while (s->n >= SP_DEF_OTLP_MAX_TRACES && s->head) {
        struct joined *old = s->head;
        lru_del(s, old);
        sp_hmap_remove(&s->map, &old->hn);
        free(old);
        s->n--;
        sp->mem.workflows -= sizeof(*old);
        sp->stats.otlp_traces_forgotten++;
    }
    j = calloc(1, sizeof(*j));
    if (j == NULL) {
        return;
    }
    memcpy(j->old_id, old_id, 16);
    memcpy(j->new_id, new_id, 16);
    j->hn.hash = sp_hash(old_id, 16, 0);
    sp_hmap_insert(&s->map, &j->hn);
    lru_push(s, j);
    s->n++;
    sp->mem.workflows += sizeof(*j);
}

/* --- correlation attributes ------------------------------------------------- */

static int str_attr(const struct sp_attrs *a, const char *key, struct sp_str *out)
{
    size_t kl = strlen(key);
    for (uint32_t i = 0; a && i < a->n; i++) {
        const struct sp_attr *x = &a->v[i];
        if (x->key.len == kl && memcmp(x->key.p, key, kl) == 0 && x->val.type == SP_VAL_STR &&
            x->val.u.s.len > 0 && x->val.u.s.len <= SP_MAX_CORRELATION_ID_BYTES) {
            *out = x->val.u.s;
            return 1;
        }
    }
    return 0;
}

/* The workflow an item names: its own attributes first, then its resource's,
 * each in the order of otlp.correlation_keys. */
static int find_cid(const struct spindle *sp, const struct sp_attrs *own,
                    const struct sp_scope *sc, struct sp_str *cid)
{
    const struct sp_config *c = &sp->cfg;
    for (size_t k = 0; k < c->n_otlp_correlation_keys; k++) {
        if (str_attr(own, c->otlp_correlation_keys[k], cid)) {
            return 1;
        }
    }
    for (size_t k = 0; sc && k < c->n_otlp_correlation_keys; k++) {
        if (str_attr(&sc->resource, c->otlp_correlation_keys[k], cid)) {
            return 1;
        }
    }
    return 0;
}

static struct sp_str invocation_of(const struct sp_attrs *own, const struct sp_scope *sc)
{
    struct sp_str inv = {"", 0};
    if (!str_attr(own, "faas.invocation_id", &inv) && sc) {
        str_attr(&sc->resource, "faas.invocation_id", &inv);
    }
    return inv;
}

/* --- copies into the pipeline's batches ---------------------------------- */

/* The scope copied into the batch being filled: once per batch and scope.
 * Forgotten as soon as that batch is sealed (a later batch may be allocated
 * at the same address). */
struct scope_cache {
    const struct sp_batch *batch;
    const struct sp_scope *src;
    struct sp_scope *copy;
};

static const struct sp_scope *scope_in(struct scope_cache *sc, struct sp_batch *b,
                                       const struct sp_scope *src)
{
    if (sc->batch == b && sc->src == src && sc->copy) {
        return sc->copy;
    }
    struct sp_arena *a = &b->arena;
    struct sp_scope *c = sp_arena_calloc(a, sizeof(*c));
    if (c == NULL || sp_attrs_dup(a, &c->resource, &src->resource, 0) ||
        sp_attrs_dup(a, &c->attrs, &src->attrs, 0)) {
        return NULL;
    }
    c->resource_schema_url = sp_str_dup(a, src->resource_schema_url);
    c->name = sp_str_dup(a, src->name);
    c->version = sp_str_dup(a, src->version);
    c->schema_url = sp_str_dup(a, src->schema_url);
    sc->batch = b;
    sc->src = src;
    sc->copy = c;
    return c;
}

static void sealed(struct spindle *sp, struct scope_cache *c, int signal,
                   const struct sp_batch *b)
{
    if (sp->open[signal] != b) {
        c->batch = NULL;
        c->copy = NULL;
    }
}

static size_t attrs_size(const struct sp_attrs *a)
{
    size_t n = 0;
    for (uint32_t i = 0; i < a->n; i++) {
        n += 16 + a->v[i].key.len + (a->v[i].val.type == SP_VAL_STR ? a->v[i].val.u.s.len : 8);
    }
    return n;
}

static void commit_span(struct spindle *sp, struct scope_cache *cache, const struct sp_span *in,
                        const struct sp_origin *o)
{
    struct sp_batch *b = sp_pipe_batch(sp, SP_SIG_TRACES);
    if (b == NULL) {
        return;
    }
    struct sp_arena *a = &b->arena;
    const struct sp_scope *sc = scope_in(cache, b, in->scope);
    struct sp_span *s = sp_arena_calloc(a, sizeof(*s));
    if (sc == NULL || s == NULL) {
        return;
    }
    *s = *in;
    s->next = NULL;
    s->scope = sc;
    s->name = sp_str_dup(a, in->name);
    s->status_message = sp_str_dup(a, in->status_message);
    if (sp_attrs_dup(a, &s->attrs, &in->attrs, 0)) {
        return;
    }
    s->events = in->n_events ? sp_arena_alloc(a, in->n_events * sizeof(*s->events)) : NULL;
    for (uint32_t i = 0; s->events && i < in->n_events; i++) {
        s->events[i].name = sp_str_dup(a, in->events[i].name);
        s->events[i].ts_ns = in->events[i].ts_ns;
        if (sp_attrs_dup(a, &s->events[i].attrs, &in->events[i].attrs, 0)) {
            return;
        }
    }
    s->links = in->n_links ? sp_arena_alloc(a, in->n_links * sizeof(*s->links)) : NULL;
    for (uint32_t i = 0; s->links && i < in->n_links; i++) {
        memcpy(s->links[i].trace_id, in->links[i].trace_id, 16);
        memcpy(s->links[i].span_id, in->links[i].span_id, 8);
        if (sp_attrs_dup(a, &s->links[i].attrs, &in->links[i].attrs, 0)) {
            return;
        }
    }
    sp_pipe_commit(sp, SP_SIG_TRACES, s,
                   128 + in->name.len + attrs_size(&in->attrs) + in->n_events * 64u +
                       in->n_links * 48u,
                   o->jseq);
    sealed(sp, cache, SP_SIG_TRACES, b);
}

static void commit_log(struct spindle *sp, struct scope_cache *cache, const struct sp_logrec *in,
                       const struct sp_origin *o)
{
    struct sp_batch *b = sp_pipe_batch(sp, SP_SIG_LOGS);
    if (b == NULL) {
        return;
    }
    struct sp_arena *a = &b->arena;
    const struct sp_scope *sc = scope_in(cache, b, in->scope);
    struct sp_logrec *l = sp_arena_calloc(a, sizeof(*l));
    if (sc == NULL || l == NULL) {
        return;
    }
    *l = *in;
    l->next = NULL;
    l->scope = sc;
    l->severity_text = sp_str_dup(a, in->severity_text);
    l->event_name = sp_str_dup(a, in->event_name);
    if (l->observed_ns == 0) {
        l->observed_ns = o->recv_ns;
    }
    if (sp_value_dup(a, &l->body, &in->body) || sp_attrs_dup(a, &l->attrs, &in->attrs, 0)) {
        return;
    }
    size_t body = in->body.type == SP_VAL_STR ? in->body.u.s.len : 256;
    sp_pipe_commit(sp, SP_SIG_LOGS, l, 96 + body + attrs_size(&in->attrs), o->jseq);
    sealed(sp, cache, SP_SIG_LOGS, b);
}

static void commit_point(struct spindle *sp, struct scope_cache *cache, const struct sp_metric *in,
                         const struct sp_origin *o)
{
    struct sp_batch *b = sp_pipe_batch(sp, SP_SIG_METRICS);
    if (b == NULL) {
        return;
    }
    struct sp_arena *a = &b->arena;
    const struct sp_scope *sc = scope_in(cache, b, in->scope);
    struct sp_metric *m = sp_arena_calloc(a, sizeof(*m));
    if (sc == NULL || m == NULL) {
        return;
    }
    *m = *in;
    m->next = NULL;
    m->scope = sc;
    m->name = sp_str_dup(a, in->name);
    m->unit = sp_str_dup(a, in->unit);
    m->description = sp_str_dup(a, in->description);
    if (sp_attrs_dup(a, &m->attrs, &in->attrs, 0)) {
        return;
    }
    if (in->n_bounds) {
        double *bd = sp_arena_alloc(a, in->n_bounds * sizeof(*bd));
        if (bd == NULL) {
            return;
        }
        memcpy(bd, in->bounds, in->n_bounds * sizeof(*bd));
        m->bounds = bd;
    }
    if (in->bucket_counts) {
        uint64_t *bc = sp_arena_alloc(a, (in->n_bounds + 1) * sizeof(*bc));
        if (bc == NULL) {
            return;
        }
        memcpy(bc, in->bucket_counts, (in->n_bounds + 1) * sizeof(*bc));
        m->bucket_counts = bc;
    }
    m->exemplars = in->n_exemplars ? sp_arena_alloc(a, in->n_exemplars * sizeof(*m->exemplars))
                                   : NULL;
    for (uint32_t i = 0; m->exemplars && i < in->n_exemplars; i++) {
        m->exemplars[i] = in->exemplars[i];
        if (sp_attrs_dup(a, &m->exemplars[i].filtered, &in->exemplars[i].filtered, 0)) {
            return;
        }
    }
    sp_pipe_commit(sp, SP_SIG_METRICS, m, 96 + in->name.len + attrs_size(&in->attrs) +
                                              in->n_bounds * 16u, o->jseq);
    sealed(sp, cache, SP_SIG_METRICS, b);
}

/* --- one request ------------------------------------------------------------ */

/* Open-addressed sets of one request's trace ids (-> the workflow's) and span
 * ids, in the scratch arena: linear however many spans a request holds. */
struct req_traces {
    uint8_t (*old_id)[16];
    uint8_t (*new_id)[16];
    uint8_t (*parent)[8]; /* the joined root's parent */
    uint8_t *used;
    size_t size;
};

static size_t slot_of(const struct req_traces *t, const uint8_t id[16])
{
    size_t j = (size_t)sp_hash(id, 16, 0) & (t->size - 1);
    while (t->used[j] && memcmp(t->old_id[j], id, 16) != 0) {
        j = (j + 1) & (t->size - 1);
    }
    return j;
}

struct span_set {
    uint8_t (*id)[8];
    uint8_t *used;
    size_t size;
};

static size_t sslot(const struct span_set *s, const uint8_t id[8])
{
    size_t j = (size_t)sp_hash(id, 8, 0) & (s->size - 1);
    while (s->used[j] && memcmp(s->id[j], id, 8) != 0) {
        j = (j + 1) & (s->size - 1);
    }
    return j;
}

static void route_traces(struct spindle *sp, struct sp_otlp_in *st, struct otlp_decoded *d,
                         const struct sp_origin *o)
{
    size_t size = 16;
    while (size < 2 * (size_t)d->n) {
        size *= 2;
    }
    struct sp_arena *a = &st->scratch;
    struct req_traces t = {.size = size};
    struct span_set ss = {.size = size};
    t.old_id = sp_arena_alloc(a, size * 16);
    t.new_id = sp_arena_alloc(a, size * 16);
    t.parent = sp_arena_alloc(a, size * 8);
    t.used = sp_arena_calloc(a, size);
    ss.id = sp_arena_alloc(a, size * 8);
    ss.used = sp_arena_calloc(a, size);
    if (!t.old_id || !t.new_id || !t.parent || !t.used || !ss.id || !ss.used) {
        return;
    }
    /* First the spans that name a workflow: their traces join it. */
    for (struct sp_span *s = d->head; s; s = s->next) {
        size_t k = sslot(&ss, s->span_id);
        ss.used[k] = 1;
        memcpy(ss.id[k], s->span_id, 8);
        struct sp_str cid;
        if (!find_cid(sp, &s->attrs, s->scope, &cid)) {
            continue;
        }
        uint8_t trace[16], parent[8];
        corr_join(sp->corr, cid, invocation_of(&s->attrs, s->scope), s->end_ns, o, trace,
                  parent);
        size_t j = slot_of(&t, s->trace_id);
        if (!t.used[j]) {
            t.used[j] = 1;
            memcpy(t.old_id[j], s->trace_id, 16);
            memcpy(t.new_id[j], trace, 16);
            memcpy(t.parent[j], parent, 8);
            remember(sp, st, s->trace_id, trace);
        }
        s->has_parent |= 2; /* marks "joined" for the pass below (bit 1) */
    }
    struct scope_cache cache = {0};
    for (struct sp_span *s = d->head; s; s = s->next) {
        int joined = (s->has_parent & 2) != 0;
        s->has_parent &= 1;
        size_t j = slot_of(&t, s->trace_id);
        const uint8_t *new_id = NULL;
        if (t.used[j]) {
            new_id = t.new_id[j];
        } else {
            struct joined *r = remembered(st, s->trace_id);
            new_id = r ? r->new_id : NULL;
        }
        if (new_id) {
            if (joined) {
                /* The decoder left room for this link. */
                struct sp_span_link *l = &s->links[s->n_links++];
                memset(l, 0, sizeof(*l));
                memcpy(l->trace_id, s->trace_id, 16);
                memcpy(l->span_id, s->span_id, 8);
                int root = !s->has_parent || !ss.used[sslot(&ss, s->parent_span_id)];
                if (root && t.used[j]) {
                    memcpy(s->parent_span_id, t.parent[j], 8);
                    s->has_parent = 1;
                }
                sp->stats.otlp_joined++;
            } else {
                sp->stats.otlp_followed++;
            }
            memcpy(s->trace_id, new_id, 16);
        }
        commit_span(sp, &cache, s, o);
    }
}

static void route_logs(struct spindle *sp, struct sp_otlp_in *st, struct otlp_decoded *d,
                       const struct sp_origin *o)
{
    struct scope_cache cache = {0};
    for (struct sp_logrec *l = d->head; l; l = l->next) {
        struct sp_str cid;
        if (find_cid(sp, &l->attrs, l->scope, &cid)) {
            uint8_t trace[16], parent[8];
            corr_join(sp->corr, cid, invocation_of(&l->attrs, l->scope), l->ts_ns ? l->ts_ns : o->recv_ns,
                      o, trace, parent);
            if (!l->has_trace && sp_id_is_zero(l->span_id, 8)) {
                memcpy(l->span_id, parent, 8); /* no span of its own: its invocation's */
            } else if (l->has_trace) {
                remember(sp, st, l->trace_id, trace);
            }
            memcpy(l->trace_id, trace, 16);
            l->has_trace = 1;
            sp->stats.otlp_joined++;
        } else if (l->has_trace) {
            struct joined *r = remembered(st, l->trace_id);
            if (r) {
                memcpy(l->trace_id, r->new_id, 16);
                sp->stats.otlp_followed++;
            }
        }
        commit_log(sp, &cache, l, o);
    }
}

static void route_metrics(struct spindle *sp, struct otlp_decoded *d, const struct sp_origin *o)
{
    struct scope_cache cache = {0};
    for (struct sp_metric *m = d->head; m; m = m->next) {
        struct sp_str cid;
        if (find_cid(sp, &m->attrs, m->scope, &cid) && m->exemplars) {
            /* The decoder left room for this exemplar. Looked up, not joined:
             * a metric alone does not open a workflow. */
            struct sp_exemplar *e = &m->exemplars[m->n_exemplars++];
            memset(e, 0, sizeof(*e));
            corr_link(sp->corr, cid, invocation_of(&m->attrs, m->scope), e->trace_id, e->span_id);
            e->ts_ns = m->time_ns;
            e->value = m->kind == SP_METRIC_HISTOGRAM ? (m->count ? m->sum / (double)m->count : 0)
                                                      : m->value;
            sp->stats.otlp_joined++;
        }
        commit_point(sp, &cache, m, o);
    }
}

static void route(struct spindle *sp, struct sp_otlp_in *st, struct otlp_decoded *d,
                  const struct sp_origin *o)
{
    switch (d->signal) {
    case SP_SIG_TRACES:
        route_traces(sp, st, d, o);
        break;
    case SP_SIG_LOGS:
        route_logs(sp, st, d, o);
        break;
    default:
        route_metrics(sp, d, o);
        break;
    }
}

static void count_items(struct spindle *sp, int signal, uint64_t n)
{
    if (signal == SP_SIG_TRACES) {
        sp->stats.otlp_spans += n;
    } else if (signal == SP_SIG_LOGS) {
        sp->stats.otlp_logs += n;
    } else {
        sp->stats.otlp_points += n;
    }
}

void sp_door_otlp(struct spindle *sp, int signal, int json, const uint8_t *body, size_t n,
                  struct sp_door_otlp_out *out)
{
    memset(out, 0, sizeof(*out));
    struct sp_otlp_in *st = state(sp);
    if (st == NULL) {
        out->undecodable = 1;
        out->err = "out of memory";
        return;
    }
    sp_arena_reset(&st->scratch);
    struct otlp_decoded d;
    uint64_t now_ns = sp_now_ns();
    if (otlp_decode(signal, json, body, n, &st->scratch, &d, &out->err)) {
        out->undecodable = 1;
        sp->stats.otlp_rej_undecodable++;
        SP_LOG_RL(SP_LOG_WARN, "OTLP request rejected: undecodable", "signal=%s json=%d why=\"%s\"",
                  sp_signal_names[signal], json, out->err);
        return;
    }
    out->items = d.n;
    out->rejected = d.rejected;
    out->why = d.why;
    struct sp_origin o = {.recv_ns = now_ns};
    if (sp->journal && d.n) {
        unsigned codec = SP_CODEC_OTLP_FIRST + (json ? 3u : 0u) + (unsigned)signal;
        int rc = sp_journal_append(sp->journal, codec, (const char *)body, n, now_ns);
        if (rc < 0) {
            /* Bodies inflated in the pool can land together after flow control
             * paused input and overrun the journal's backlog. Taken without
             * its entry, the body would be answered 200 as durable: it is not
             * taken at all, and the client sends it again (503). */
            out->not_journaled = 1;
            out->items = 0;
            otlp_decoded_free(&d);
            sp_arena_reset(&st->scratch);
            return;
        }
        if (rc > 0) {
            sp_flow_check(sp);
        }
        o.jseq = sp_journal_seq(sp->journal);
    }
    count_items(sp, signal, d.n);
    if (d.rejected) {
        sp->stats.otlp_items_rejected += d.rejected;
        SP_LOG_RL(SP_LOG_WARN, "OTLP items left out", "signal=%s rejected=%u why=\"%s\"",
                  sp_signal_names[signal], d.rejected, d.why);
    }
    route(sp, st, &d, &o);
    otlp_decoded_free(&d);
    sp_arena_reset(&st->scratch);
}

void sp_door_otlp_replay(struct spindle *sp, const struct sp_jentry *e, uint64_t jseq,
                         int rejournal)
{
    struct sp_otlp_in *st = state(sp);
    if (st == NULL) {
        return;
    }
    unsigned k = e->codec - SP_CODEC_OTLP_FIRST;
    int json = k >= 3, signal = (int)(k % 3);
    sp_arena_reset(&st->scratch);
    struct otlp_decoded d;
    const char *err;
    if (otlp_decode(signal, json, (const uint8_t *)e->line, e->len, &st->scratch, &d, &err)) {
        sp->stats.drop_journal_corrupt++;
        SP_LOG_RL(SP_LOG_WARN, "journaled OTLP request undecodable; not replayed", "why=\"%s\"",
                  err);
        return;
    }
    struct sp_origin o = {.jseq = jseq, .recv_ns = e->recv_ns, .replayed = 1};
    if (rejournal) {
        sp_journal_append(sp->journal, e->codec, e->line, e->len, e->recv_ns);
        o.jseq = sp_journal_seq(sp->journal);
    }
    sp->stats.replayed += d.n;
    route(sp, st, &d, &o);
    otlp_decoded_free(&d);
    sp_arena_reset(&st->scratch);
}
