/*
 * metrics.c - aggregates metric records into series and exports one data
 * point per series every metrics.interval (and at shutdown).
 *
 * A series is keyed by function (the resource), instrumentation scope (a
 * CloudWatch EMF namespace, else spindle's), name, unit, kind and the
 * attributes sorted by key; correlation_id and invocation_id never enter the
 * key: they become exemplars (the last SP_MAX_EXEMPLARS_PER_POINT of each
 * interval). Counters are cumulative monotonic sums, gauges keep their last
 * value, histograms count observations into explicit buckets.
 * Ownership: the aggregator owns its series; a series owns its key and copies.
 * The number of series is bounded by metrics.max_series: a record that would
 * create one more is dropped and counted (dropped.metric_series_limit).
 * A series that received nothing for metrics.series_ttl is freed after the
 * export that follows (its last point); a record for it later starts a new
 * series with a new start time. Over limits.max_memory the least recently
 * fed series are shed (sp_metrics_shed), their points not yet exported
 * counted dropped.memory_limit. At most SP_MAX_METRIC_SCOPES scopes besides
 * spindle's are held by the live series (each is a ScopeMetrics in every
 * export); a record of a further one goes to spindle's scope with its
 * namespace as the attribute aws.cloudwatch.namespace, so that it stays a
 * series of its own, counted accepted_with.metric_scope_limit. A scope goes
 * with its last series (series_ttl, shedding).
 */
#include <errno.h>
#include <malloc.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "agent.h"
#include "caps.h"
#include "hmap.h"
#include "journal.h"
#include "log.h"

/* OpenTelemetry SDKs' default explicit bucket boundaries, in the metric's own
 * unit; a user who sends milliseconds gets millisecond buckets. */
static const double default_bounds[] = {0,   5,    10,   25,   50,   75,   100,  250,
                                        500, 750, 1000, 2500, 5000, 7500, 10000};
#define N_BOUNDS (sizeof(default_bounds) / sizeof(default_bounds[0]))

/* The ids are looked up at export, not per record: at most
 * SP_MAX_EXEMPLARS_PER_POINT lookups per series and interval instead of a
 * hash per metric record. */
struct exemplar {
    uint64_t ts_ns;
    double value;
    char *ids;       /* correlation id then invocation id, malloc'ed, reused */
    size_t cid_len;
    size_t inv_len;
    size_t cap;
};

struct series {
    struct sp_hnode hn;
    struct series *next;    /* every series, in creation order */
    char *key;              /* canonical key bytes, malloc'ed */
    size_t key_len;
    struct sp_arena arena;  /* the copies below */
    struct sp_str function, name, unit;
    struct sp_str scope;    /* the name in sp_metrics.scopes[scope_ref - 1]; empty: spindle's */
    uint8_t scope_ref;      /* 0: spindle's scope */
    uint8_t kind;
    struct sp_attrs attrs;
    const double *bounds;   /* histogram upper bounds (static), n_bounds of them */
    uint32_t n_bounds;
    uint64_t start_ns;
    double value;
    uint64_t count;
    double sum, min, max;
    uint64_t buckets[SP_MAX_BOUNDS + 1];
    struct exemplar ex[SP_MAX_EXEMPLARS_PER_POINT];
    uint32_t n_ex, ex_next;
    uint64_t fed_ms;        /* loop time of the last point (series_ttl, shedding) */
    uint64_t pending;       /* records (not derived points) aggregated since the last export */
    int dirty;              /* fed since the last export */
    size_t held;            /* bytes in mem.series besides the arena: struct, key, exemplar ids */
    int doomed;             /* chosen by sp_metrics_shed() */
    uint8_t statsd;         /* counts against statsd.max_series */
    uint8_t distinct;       /* a DogStatsD set: value is the number of members this interval */
    struct sp_attrs res;    /* the sender's resource attributes (sp_metric.res) */
    struct sp_str res_key;
    uint64_t *members;      /* distinct: open addressing, 0 free; malloc'ed, kept for reuse */
    uint32_t n_members, members_cap;
    uint8_t derived;        /* made by the correlator (faas.*, spindle.*), not a user's */
};

/* An instrumentation scope of live series (not spindle's): the name is
 * malloc'ed; it goes when its last series does. */
struct mscope {
    char *name;
    size_t len;
    uint32_t series;
    size_t held;            /* in mem.series */
};

_Static_assert(SP_MAX_METRIC_SCOPES <= 255, "series.scope_ref is a uint8_t");

struct sp_metrics {
    struct spindle *sp;
    struct mscope scopes[SP_MAX_METRIC_SCOPES];
    struct sp_hmap map;
    struct series *all, **tail;
    size_t n;
    size_t n_statsd;        /* series of DogStatsD points */
    struct sp_buf key;      /* scratch for building keys */
    uint64_t jseq;          /* oldest journal segment of a point not yet exported */
    uint64_t export_jseq;   /* while exporting: what the points sent now derive from */
    struct sp_metrics_hooks hooks; /* exemplar links (the correlator's) */
    size_t map_held;        /* the hash map's bucket array, in mem.series */
    int exporting;          /* inside export_all(): series are not freed under it */
};

/* Real allocation sizes: the budget counts what malloc holds, not what was asked. */
static void series_account(struct sp_metrics *m, struct series *s)
{
    size_t now = malloc_usable_size(s) + malloc_usable_size(s->key);
    for (uint32_t i = 0; i < SP_MAX_EXEMPLARS_PER_POINT; i++) {
        now += s->ex[i].ids ? malloc_usable_size(s->ex[i].ids) : 0;
    }
    now += s->members ? malloc_usable_size(s->members) : 0;
    m->sp->mem.series += now;
    m->sp->mem.series -= s->held;
    s->held = now;
}

static void map_account(struct sp_metrics *m)
{
    size_t now = m->map.nb * sizeof(*m->map.b);
    m->sp->mem.series += now;
    m->sp->mem.series -= m->map_held;
    m->map_held = now;
}

/* One series less under scope slot `ref` (index + 1; 0: spindle's scope). */
static void scope_unref(struct sp_metrics *m, uint8_t ref)
{
    if (ref == 0) {
        return;
    }
    struct mscope *x = &m->scopes[ref - 1];
    if (--x->series == 0) {
        m->sp->mem.series -= x->held;
        free(x->name);
        *x = (struct mscope){0};
    }
}

/* Unlinked from the list by the caller. */
static void series_free(struct sp_metrics *m, struct series *s)
{
    sp_hmap_remove(&m->map, &s->hn);
    m->n--;
    m->n_statsd -= s->statsd;
    scope_unref(m, s->scope_ref);
    free(s->members);
    for (uint32_t i = 0; i < SP_MAX_EXEMPLARS_PER_POINT; i++) {
        free(s->ex[i].ids);
    }
    sp_arena_free(&s->arena);
    m->sp->mem.series -= s->held;
    free(s->key);
    free(s);
}

static int attr_cmp(const void *a, const void *b)
{
    const struct sp_attr *x = *(const struct sp_attr *const *)a;
    const struct sp_attr *y = *(const struct sp_attr *const *)b;
    size_t n = x->key.len < y->key.len ? x->key.len : y->key.len;
    int c = memcmp(x->key.p, y->key.p, n);
    return c ? c : (x->key.len > y->key.len) - (x->key.len < y->key.len);
}

static void key_value(struct sp_buf *k, const struct sp_value *v)
{
    sp_buf_addc(k, (char)('0' + v->type));
    switch (v->type) {
    case SP_VAL_STR:
        sp_buf_add(k, &v->u.s.len, sizeof(v->u.s.len));
        sp_buf_add(k, v->u.s.p, v->u.s.len);
        break;
    case SP_VAL_INT:
        sp_buf_add(k, &v->u.i, sizeof(v->u.i));
        break;
    case SP_VAL_DOUBLE:
        sp_buf_add(k, &v->u.d, sizeof(v->u.d));
        break;
    case SP_VAL_BOOL:
        sp_buf_addc(k, (char)v->u.b);
        break;
    case SP_VAL_ARRAY:
        sp_buf_add(k, &v->u.arr.n, sizeof(v->u.arr.n));
        for (uint32_t i = 0; i < v->u.arr.n; i++) {
            key_value(k, &v->u.arr.v[i]);
        }
        break;
    default:
        break;
    }
}

static void key_str(struct sp_buf *k, struct sp_str s)
{
    sp_buf_add(k, &s.len, sizeof(s.len));
    sp_buf_add(k, s.p, s.len);
}

static int build_key(struct sp_metrics *m, const struct sp_point *r)
{
    struct sp_buf *k = &m->key;
    sp_buf_reset(k);
    key_str(k, r->function);
    key_str(k, r->name);
    key_str(k, r->unit);
    sp_buf_addc(k, (char)r->kind);
    sp_buf_addc(k, (char)r->derived); /* derived series never mix with a user's */
    /* The scope only when there is one: every other key stays as it was. */
    sp_buf_addc(k, (char)(r->distinct | r->statsd << 1 | (r->scope.len != 0) << 2));
    key_str(k, r->res_key);
    if (r->scope.len) {
        key_str(k, r->scope);
    }
    const struct sp_attr *sorted[SP_DEF_MAX_ATTRIBUTES * 4];
    uint32_t n = r->attrs->n < SP_DEF_MAX_ATTRIBUTES * 4 ? r->attrs->n : SP_DEF_MAX_ATTRIBUTES * 4;
    for (uint32_t i = 0; i < n; i++) {
        sorted[i] = &r->attrs->v[i];
    }
    qsort(sorted, n, sizeof(sorted[0]), attr_cmp);
    for (uint32_t i = 0; i < n; i++) {
        key_str(k, sorted[i]->key);
        key_value(k, &sorted[i]->val);
    }
    return k->len < k->cap ? 0 : -ENOBUFS;
}

/* The slot (index + 1) of scope `name` for one more series, taking a free
 * one for a new name; 0 when all SP_MAX_METRIC_SCOPES are taken (or out of
 * memory). Only when a series is made, never per record. */
static uint8_t scope_ref(struct sp_metrics *m, struct sp_str name)
{
    struct mscope *free_slot = NULL;
    for (uint32_t i = 0; i < SP_MAX_METRIC_SCOPES; i++) {
        struct mscope *x = &m->scopes[i];
        if (x->name == NULL) {
            free_slot = free_slot ? free_slot : x;
        } else if (x->len == name.len && memcmp(x->name, name.p, name.len) == 0) {
            x->series++;
            return (uint8_t)(i + 1);
        }
    }
    if (free_slot == NULL || (free_slot->name = malloc(name.len)) == NULL) {
        return 0;
    }
    memcpy(free_slot->name, name.p, name.len);
    free_slot->len = name.len;
    free_slot->series = 1;
    free_slot->held = malloc_usable_size(free_slot->name);
    m->sp->mem.series += free_slot->held;
    return (uint8_t)(free_slot - m->scopes + 1);
}

/* NULL: no series for the record (counted); *no_scope set when that is
 * because its scope would be one too many (the caller folds it). */
static struct series *series_get(struct sp_metrics *m, const struct sp_point *r, int *no_scope)
{
    if (build_key(m, r)) {
        return NULL;
    }
    uint64_t h = sp_hash(m->key.p, m->key.len, 7);
    for (struct sp_hnode *n = sp_hmap_bucket(&m->map, h); n; n = n->next) {
        struct series *s = (struct series *)n;
        if (n->hash == h && s->key_len == m->key.len && memcmp(s->key, m->key.p, s->key_len) == 0) {
            return s;
        }
    }
    /* Before the series limits: a folded record may find its series. */
    uint8_t sref = 0;
    if (r->scope.len && (sref = scope_ref(m, r->scope)) == 0) {
        *no_scope = 1;
        return NULL;
    }
    if (r->statsd && m->n_statsd >= m->sp->cfg.statsd_max_series) {
        m->sp->stats.statsd_series_limit++;
        SP_LOG_RL(SP_LOG_WARN, "statsd series limit reached, metric dropped",
                  "name=\"%.*s\" max_series=%zu", (int)r->name.len, r->name.p, m->n_statsd);
        scope_unref(m, sref);
        return NULL;
    }
    if (m->n >= m->sp->cfg.max_metric_series) {
        m->sp->stats.drop_series_limit++;
        SP_LOG_RL(SP_LOG_WARN, "metric series limit reached, record dropped",
                  "name=\"%.*s\" max_series=%zu", (int)r->name.len, r->name.p, m->n);
        scope_unref(m, sref);
        return NULL;
    }
    struct series *s = calloc(1, sizeof(*s));
    s->key = s ? malloc(m->key.len) : NULL;
    if (s == NULL || s->key == NULL) {
        free(s);
        scope_unref(m, sref);
        return NULL;
    }
    memcpy(s->key, m->key.p, m->key.len);
    s->key_len = m->key.len;
    /* The copies below are the key's strings plus the attribute array:
     * sized to them, a small series does not hold a 1 KiB chunk (10,000
     * series of one attribute: 17 MB before, 9 MB after). */
    sp_arena_init(&s->arena, (m->key.len + 128u + 15u) & ~(size_t)15u);
    sp_arena_account(&s->arena, &m->sp->mem.series);
    series_account(m, s);
    s->function = sp_str_dup(&s->arena, r->function);
    s->name = sp_str_dup(&s->arena, r->name);
    s->unit = sp_str_dup(&s->arena, r->unit);
    s->scope_ref = sref;
    if (sref) {
        s->scope = (struct sp_str){m->scopes[sref - 1].name, m->scopes[sref - 1].len};
    }
    s->kind = r->kind;
    s->derived = r->derived;
    s->bounds = r->bounds ? r->bounds : default_bounds;
    s->n_bounds = r->bounds ? r->n_bounds : (uint32_t)N_BOUNDS;
    sp_attrs_dup(&s->arena, &s->attrs, r->attrs, 0);
    if (r->res) {
        sp_attrs_dup(&s->arena, &s->res, r->res, 0);
    }
    s->res_key = sp_str_dup(&s->arena, r->res_key);
    s->statsd = r->statsd;
    s->distinct = r->distinct;
    m->n_statsd += s->statsd;
    s->start_ns = r->ts_ns;
    s->hn.hash = h;
    sp_hmap_insert(&m->map, &s->hn);
    map_account(m);
    *m->tail = s;
    m->tail = &s->next;
    m->n++;
    return s;
}

/* A set's member (a hash; 0 stands for itself as 1) into the series' table
 * for this interval; value is the number of distinct members. At most
 * SP_DSD_MAX_SET_MEMBERS per series and interval: the rest are counted
 * statsd.set_members_capped, and the value stays at the cap. */
static void set_add(struct sp_metrics *m, struct series *s, uint64_t h)
{
    h = h ? h : 1;
    if (s->n_members * 2 >= s->members_cap) {
        if (s->n_members >= SP_DSD_MAX_SET_MEMBERS) {
            m->sp->stats.statsd_set_capped++;
            return;
        }
        uint32_t cap = s->members_cap ? s->members_cap * 2 : 16;
        uint64_t *t = calloc(cap, sizeof(*t));
        if (t == NULL) {
            return;
        }
        for (uint32_t i = 0; i < s->members_cap; i++) {
            uint64_t x = s->members[i];
            if (x) {
                uint32_t j = (uint32_t)x & (cap - 1);
                while (t[j]) {
                    j = (j + 1) & (cap - 1);
                }
                t[j] = x;
            }
        }
        free(s->members);
        s->members = t;
        s->members_cap = cap;
        series_account(m, s);
    }
    uint32_t j = (uint32_t)h & (s->members_cap - 1);
    while (s->members[j] && s->members[j] != h) {
        j = (j + 1) & (s->members_cap - 1);
    }
    if (s->members[j] == 0) {
        s->members[j] = h;
        s->n_members++;
        s->value = s->n_members;
    }
}

/* A record whose scope would be one too many goes to spindle's scope, its
 * namespace an attribute (as before scopes were kept), so that it still
 * differs from the same series of another namespace: pt's attributes become
 * `at`, whose array (returned, to be freed) is the old one plus that. */
static struct sp_attr *fold_scope(struct sp_point *pt, struct sp_attrs *at)
{
    const struct sp_attrs *in = pt->attrs;
    struct sp_attr *v = malloc(sizeof(*v) * ((size_t)in->n + 1));
    if (v == NULL) {
        return NULL;
    }
    if (in->n) {
        memcpy(v, in->v, sizeof(*v) * in->n);
    }
    *at = (struct sp_attrs){.v = v, .n = in->n, .dropped = in->dropped};
    sp_attrs_put_str(at, in->n + 1, "aws.cloudwatch.namespace", pt->scope);
    pt->attrs = at;
    pt->scope = (struct sp_str){NULL, 0};
    return v;
}

void sp_metrics_add(struct sp_metrics *m, const struct sp_point *in)
{
    static const struct sp_attrs none;
    struct sp_point pt = *in;
    if (pt.attrs == NULL) {
        pt.attrs = &none;
    }
    const struct sp_point *r = &pt;
    /* One call of series_get() (it stays inlined), a second pass only for a
     * record to fold. */
    int no_scope = 0;
    struct sp_attr *folded = NULL;
    struct sp_attrs fat;
    struct series *s;
    while ((s = series_get(m, r, &no_scope)) == NULL && no_scope && folded == NULL &&
           (folded = fold_scope(&pt, &fat)) != NULL) {
        no_scope = 0;
    }
    if (folded) {
        if (s) {
            struct sp_str ns = fat.v[fat.n - 1].val.u.s;
            m->sp->stats.metric_scope_limit++;
            SP_LOG_RL(SP_LOG_WARN, "metric scope limit reached, namespace kept as an attribute",
                      "namespace=\"%.*s\" max_scopes=%u", (int)ns.len, ns.p,
                      (unsigned)SP_MAX_METRIC_SCOPES);
        }
        free(folded);
        pt.attrs = &none; /* fat's array is gone; not read below */
    }
    if (s == NULL) {
        return;
    }
    sp_jseq_min(&m->jseq, r->jseq);
    s->fed_ms = uv_now(m->sp->loop);
    s->dirty = 1;
    s->pending += !r->derived;
    if (r->ts_ns < s->start_ns) {
        s->start_ns = r->ts_ns;
    }
    switch (s->kind) {
    case SP_METRIC_COUNTER:
        s->value += r->value;
        break;
    case SP_METRIC_GAUGE:
        if (s->distinct) {
            set_add(m, s, r->member);
        } else {
            s->value = r->value;
        }
        break;
    default: {
        size_t i = 0;
        /* Upper bounds are inclusive, as OTLP defines explicit buckets. */
        while (i < s->n_bounds && r->value > s->bounds[i]) {
            i++;
        }
        s->buckets[i]++;
        if (s->count == 0 || r->value < s->min) {
            s->min = r->value;
        }
        if (s->count == 0 || r->value > s->max) {
            s->max = r->value;
        }
        s->count++;
        s->sum += r->value;
    }
    }
    if (r->cid.len) {
        struct exemplar *e = &s->ex[s->ex_next];
        size_t need = r->cid.len + r->inv.len;
        if (need > e->cap) {
            char *p = realloc(e->ids, need);
            if (p == NULL) {
                return; /* no exemplar this time; the slot keeps its old one */
            }
            e->ids = p;
            e->cap = need;
            series_account(m, s);
        }
        s->ex_next = (s->ex_next + 1) % SP_MAX_EXEMPLARS_PER_POINT;
        if (s->n_ex < SP_MAX_EXEMPLARS_PER_POINT) {
            s->n_ex++;
        }
        e->ts_ns = r->ts_ns;
        e->value = r->value;
        memcpy(e->ids, r->cid.p, r->cid.len);
        if (r->inv.len) {
            memcpy(e->ids + r->cid.len, r->inv.p, r->inv.len);
        }
        e->cid_len = r->cid.len;
        e->inv_len = r->inv.len;
    }
}

void sp_metrics_record(struct sp_metrics *m, const struct sp_record *r, const struct sp_origin *o)
{
    struct sp_point p = {
        .function = r->function,
        .name = r->name,
        .unit = r->unit,
        .scope = r->scope,
        .kind = r->metric_kind,
        .attrs = &r->attrs,
        .value = r->value,
        .ts_ns = r->ts_ns,
        .cid = r->correlation_id,
        .inv = r->invocation_id,
        .jseq = o->jseq,
    };
    sp_metrics_add(m, &p);
}

static void export_agent(struct spindle *sp);

static void export_all(struct sp_metrics *m);

/* The points exported now derive from every record since the last export. */
void sp_metrics_export(struct sp_metrics *m)
{
    m->export_jseq = m->jseq;
    m->jseq = 0;
    export_all(m);
    m->export_jseq = 0;
}

uint64_t sp_metrics_min_jseq(const struct sp_metrics *m)
{
    return m->jseq;
}

/* Series fed last series_ttl ago or earlier go, now that their last point
 * was exported. */
static void expire(struct sp_metrics *m)
{
    uint64_t now = uv_now(m->sp->loop);
    /* Never under two intervals: a series fed once per interval must not
     * restart between its points (metrics.interval may be set far above the
     * default TTL). */
    uint64_t ttl = m->sp->cfg.metrics_series_ttl_ms;
    if (ttl < 2 * m->sp->cfg.metrics_interval_ms) {
        ttl = 2 * m->sp->cfg.metrics_interval_ms;
    }
    struct series **pp = &m->all;
    m->tail = &m->all;
    while (*pp) {
        struct series *s = *pp;
        if (s->fed_ms + ttl <= now && !s->dirty) {
            *pp = s->next;
            series_free(m, s);
            continue;
        }
        m->tail = &s->next;
        pp = &s->next;
    }
}

static int export_one(struct sp_metrics *m, struct series *s, uint64_t now);

static void export_all(struct sp_metrics *m)
{
    struct spindle *sp = m->sp;
    uint64_t now = sp_now_ns();
    m->exporting = 1; /* a commit can reach sp_metrics_shed() through backpressure */
    for (struct series *s = m->all; s; s = s->next) {
        if (export_one(m, s, now)) {
            break;
        }
    }
    m->exporting = 0;
    expire(m);
    export_agent(sp);
}

static int export_one(struct sp_metrics *m, struct series *s, uint64_t now)
{
    struct spindle *sp = m->sp;
    {
        struct sp_batch *b = sp_pipe_batch(sp, SP_SIG_METRICS);
        if (b == NULL) {
            return -ENOMEM;
        }
        struct sp_arena *a = &b->arena;
        struct sp_metric *p = sp_arena_calloc(a, sizeof(*p));
        if (p == NULL || sp_attrs_dup(a, &p->attrs, &s->attrs, 0)) {
            return -ENOMEM;
        }
        p->function = sp_str_dup(a, s->function);
        if (s->res.n && sp_attrs_dup(a, &p->res, &s->res, 0)) {
            return -ENOMEM;
        }
        p->res_key = sp_str_dup(a, s->res_key);
        p->name = sp_str_dup(a, s->name);
        p->unit = sp_str_dup(a, s->unit);
        p->scope_name = sp_str_dup(a, s->scope);
        p->kind = s->kind;
        p->start_ns = s->start_ns;
        p->time_ns = now > s->start_ns ? now : s->start_ns;
        p->value = s->value;
        if (s->kind == SP_METRIC_HISTOGRAM) {
            p->count = s->count;
            p->sum = s->sum;
            p->min = s->min;
            p->max = s->max;
            p->bounds = s->bounds;
            p->n_bounds = s->n_bounds;
            uint64_t *bc = sp_arena_alloc(a, sizeof(uint64_t) * (s->n_bounds + 1));
            if (bc == NULL) {
                return -ENOMEM;
            }
            memcpy(bc, s->buckets, sizeof(uint64_t) * (s->n_bounds + 1));
            p->bucket_counts = bc;
        }
        if (s->n_ex) {
            p->exemplars = sp_arena_calloc(a, sizeof(struct sp_exemplar) * s->n_ex);
            if (p->exemplars) {
                for (uint32_t i = 0; i < s->n_ex; i++) {
                    struct sp_exemplar *x = &p->exemplars[p->n_exemplars++];
                    const struct exemplar *e = &s->ex[i];
                    struct sp_str cid = {e->ids, e->cid_len};
                    struct sp_str inv = {e->ids + e->cid_len, e->inv_len};
                    x->ts_ns = e->ts_ns;
                    x->value = e->value;
                    m->hooks.link(m->hooks.arg, cid, inv, x->trace_id, x->span_id);
                    x->filtered.v = sp_arena_alloc(a, sizeof(struct sp_attr));
                    if (x->filtered.v) {
                        x->filtered.v[0].key.p = "spindle.correlation_id";
                        x->filtered.v[0].key.len = strlen(x->filtered.v[0].key.p);
                        x->filtered.v[0].val.type = SP_VAL_STR;
                        x->filtered.v[0].val.u.s = sp_str_dup(a, cid);
                        x->filtered.n = 1;
                    }
                }
            }
            /* Exemplars describe one interval; the buffers are kept for reuse. */
            s->n_ex = 0;
            s->ex_next = 0;
        }
        s->pending = 0;
        s->dirty = 0;
        if (s->distinct) {
            /* A set counts distinct members per interval: the next starts empty. */
            if (s->members) {
                memset(s->members, 0, sizeof(*s->members) * s->members_cap);
            }
            s->n_members = 0;
            s->value = 0;
        }
        sp_pipe_commit(sp, SP_SIG_METRICS, p,
                       128 + s->name.len + s->attrs.n * 32u +
                           (s->kind == SP_METRIC_HISTOGRAM ? 256u : 0u),
                       m->export_jseq);
    }
    return 0;
}

static int fed_cmp(const void *a, const void *b)
{
    const struct series *x = *(const struct series *const *)a;
    const struct series *y = *(const struct series *const *)b;
    return (x->fed_ms > y->fed_ms) - (x->fed_ms < y->fed_ms);
}

void sp_metrics_shed(struct sp_metrics *m, size_t target)
{
    struct spindle *sp = m->sp;
    if (m->exporting || m->n == 0 || sp->mem.series <= target) {
        return;
    }
    struct series **v = malloc(m->n * sizeof(*v));
    if (v == NULL) {
        return;
    }
    size_t n = 0;
    for (struct series *s = m->all; s; s = s->next) {
        v[n++] = s;
    }
    qsort(v, n, sizeof(*v), fed_cmp);
    uint64_t shed = 0, lost = 0;
    size_t left = sp->mem.series;
    for (size_t i = 0; i < n && left > target; i++) {
        v[i]->doomed = 1;
        lost += v[i]->pending;
        shed++;
        left -= v[i]->held + v[i]->arena.reserved;
    }
    free(v);
    struct series **pp = &m->all;
    m->tail = &m->all;
    while (*pp) {
        struct series *s = *pp;
        if (s->doomed) {
            *pp = s->next;
            series_free(m, s);
            continue;
        }
        m->tail = &s->next;
        pp = &s->next;
    }
    sp->stats.drop_memory_limit += lost;
    SP_LOG_RL(SP_LOG_WARN, "memory budget reached, least recently fed metric series dropped",
              "series=%llu records=%llu max_memory=%llu", (unsigned long long)shed,
              (unsigned long long)lost, (unsigned long long)sp->cfg.max_memory);
}

/* --- the agent's own counters as OTLP metrics (spindle.*) -------------------- */

/* Each point asks for the open batch again: a commit may seal it (batch_max_
 * items) and free it. export_agent() sealed the user's batch first, so an
 * empty open batch here is the agent's. */
static void self_point(struct spindle *sp, const char *name, const char *unit, int kind,
                       const char *label, const char *label_value, uint64_t v, uint64_t now)
{
    struct sp_batch *b = sp_pipe_batch(sp, SP_SIG_METRICS);
    if (b == NULL) {
        return;
    }
    if (b->count == 0) {
        b->agent = 1;
    }
    struct sp_arena *a = &b->arena;
    struct sp_metric *p = sp_arena_calloc(a, sizeof(*p));
    if (p == NULL) {
        return;
    }
    p->name = (struct sp_str){name, strlen(name)};
    p->unit = (struct sp_str){unit, strlen(unit)};
    p->kind = (uint8_t)kind;
    p->start_ns = sp->started_ns;
    p->time_ns = now;
    p->value = (double)v;
    if (label) {
        p->attrs.v = sp_arena_alloc(a, sizeof(struct sp_attr));
        if (p->attrs.v == NULL) {
            return;
        }
        p->attrs.v[0].key = (struct sp_str){label, strlen(label)};
        p->attrs.v[0].val.type = SP_VAL_STR;
        p->attrs.v[0].val.u.s = (struct sp_str){label_value, strlen(label_value)};
        p->attrs.n = 1;
    }
    sp_pipe_commit(sp, SP_SIG_METRICS, p, 96 + strlen(name), 0); /* the agent's own: no record */
}

/* One batch of its own, encoded with the agent's resource (service.name
 * "spindle"): records accepted, rejected by reason, dropped by reason (every
 * record not delivered), export activity, and what is open now. */
static void export_agent(struct spindle *sp)
{
    const struct sp_stats *st = &sp->stats;
    uint64_t now = sp_now_ns();
    sp_pipe_seal(sp, SP_SIG_METRICS); /* the user's points travel apart */
    uint64_t before = sp->stats.exp_points;
    self_point(sp, "spindle.records.accepted", "{record}", SP_METRIC_COUNTER, NULL, NULL,
               st->accepted, now);
    for (int r = 1; r < SP_R_COUNT; r++) {
        self_point(sp, "spindle.records.rejected", "{record}", SP_METRIC_COUNTER, "reason",
                   sp_reason_name(r), st->rejected[r], now);
    }
#define X(g, f, n)                                                                              \
    if (strcmp(#g, "dropped") == 0) {                                                           \
        self_point(sp, "spindle.records.dropped", "{record}", SP_METRIC_COUNTER, "reason", n,  \
                   st->f, now);                                                                 \
    }
    SP_STATS_FIELDS(X)
#undef X
#define X(g, f, n)                                                                              \
    if (strcmp(#g, "otlp_receiver") == 0 && st->f) {                                            \
        self_point(sp, "spindle.receiver.otlp." n, "1", SP_METRIC_COUNTER, NULL, NULL, st->f,   \
                   now);                                                                        \
    }
    SP_STATS_FIELDS(X)
#undef X
    self_point(sp, "spindle.export.items", "{item}", SP_METRIC_COUNTER, "signal", "traces",
               st->exp_spans, now);
    self_point(sp, "spindle.export.items", "{item}", SP_METRIC_COUNTER, "signal", "logs",
               st->exp_logs, now);
    self_point(sp, "spindle.export.items", "{item}", SP_METRIC_COUNTER, "signal", "metrics",
               st->exp_points, now);
    self_point(sp, "spindle.export.requests", "{request}", SP_METRIC_COUNTER, "outcome", "ok",
               st->req_ok, now);
    self_point(sp, "spindle.export.requests", "{request}", SP_METRIC_COUNTER, "outcome",
               "failed", st->req_failed, now);
    self_point(sp, "spindle.export.retries", "{request}", SP_METRIC_COUNTER, NULL, NULL,
               st->retries, now);
    self_point(sp, "spindle.export.splits", "{request}", SP_METRIC_COUNTER, NULL, NULL,
               st->splits, now);
    self_point(sp, "spindle.export.timeouts", "{request}", SP_METRIC_COUNTER, NULL, NULL,
               st->req_timed_out, now);
    self_point(sp, "spindle.export.retry_after_capped", "{wait}", SP_METRIC_COUNTER, NULL, NULL,
               st->retry_after_capped, now);
    self_point(sp, "spindle.alerts.retry_after_capped", "{wait}", SP_METRIC_COUNTER, NULL, NULL,
               st->notify_retry_after_capped, now);
    self_point(sp, "spindle.export.delivered", "{item}", SP_METRIC_COUNTER, NULL, NULL,
               st->delivered, now);
    self_point(sp, "spindle.input.pauses", "{pause}", SP_METRIC_COUNTER, NULL, NULL,
               st->input_pauses, now);
    self_point(sp, "spindle.workflows.open", "{workflow}", SP_METRIC_GAUGE, NULL, NULL,
               st->wf_open, now);
    self_point(sp, "spindle.connections.open", "{connection}", SP_METRIC_GAUGE, NULL, NULL,
               st->conn_open, now);
    self_point(sp, "spindle.memory.used", "By", SP_METRIC_GAUGE, NULL, NULL, sp_memory_used(sp),
               now);
    if (sp->journal) {
        self_point(sp, "spindle.records.journaled", "{record}", SP_METRIC_COUNTER, NULL, NULL,
                   st->journaled, now);
        self_point(sp, "spindle.records.replayed", "{record}", SP_METRIC_COUNTER, NULL, NULL,
                   st->replayed, now);
        self_point(sp, "spindle.journal.used", "By", SP_METRIC_GAUGE, NULL, NULL,
                   st->journal_bytes, now);
        self_point(sp, "spindle.journal.limit", "By", SP_METRIC_GAUGE, NULL, NULL,
                   st->journal_max_bytes, now);
    }
    /* Sealed now: the next item of the signal opens a user batch again. The
     * agent's own points are not counted in export.metric_points. */
    sp_pipe_seal(sp, SP_SIG_METRICS);
    sp->stats.exp_points = before;
}

void sp_metrics_each(const struct sp_metrics *m, int derived_only,
                     void (*fn)(void *arg, const struct sp_series_view *v), void *arg)
{
    for (const struct series *s = m->all; s; s = s->next) {
        if (s->doomed || (derived_only && !s->derived)) {
            continue;
        }
        const struct sp_series_view v = {
            .function = s->function, .name = s->name, .unit = s->unit, .kind = s->kind,
            .attrs = &s->attrs, .value = s->value, .count = s->count, .sum = s->sum,
            .buckets = s->buckets, .bounds = s->bounds, .n_bounds = s->n_bounds,
            .derived = s->derived, .start_ns = s->start_ns,
        };
        fn(arg, &v);
    }
}

int sp_metrics_init(struct spindle *sp, const struct sp_metrics_hooks *hooks,
                    struct sp_metrics **out)
{
    struct sp_metrics *m = calloc(1, sizeof(*m));
    if (m == NULL) {
        return -ENOMEM;
    }
    m->sp = sp;
    m->hooks = *hooks;
    m->tail = &m->all;
    sp_buf_init(&m->key, SP_MAX_RECORD_BYTES);
    if (sp_hmap_init(&m->map, 256)) {
        free(m);
        return -ENOMEM;
    }
    map_account(m);
    *out = m;
    return 0;
}

void sp_metrics_free(struct sp_metrics *m)
{
    struct series *s = m->all;
    while (s) {
        struct series *next = s->next;
        series_free(m, s);
        s = next;
    }
    m->sp->mem.series -= m->map_held;
    sp_hmap_free(&m->map);
    sp_buf_free(&m->key);
    free(m);
}
