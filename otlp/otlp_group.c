/*
 * otlp_group.c - grouping of a batch's items for OTLP encoding. See otlp_group.h.
 */
#include "otlp_group.h"
#include "hmap.h"

#include <errno.h>
#include <stdbool.h>
#include <string.h>

/* Grouping key: items with equal keys go into one group. */
struct gkey {
    uint32_t parent; /* resource group of a metric, 0 otherwise */
    const void *scope; /* the item's sp_scope (as a client sent it), or NULL */
    uint8_t kind;
    struct sp_str a, b;
};

static void *alloc_n(struct sp_arena *a, size_t n, size_t size)
{
    if (size != 0 && n > SIZE_MAX / size) {
        return NULL;
    }
    return sp_arena_alloc(a, n * size);
}


static uint64_t gkey_hash(const struct gkey *k)
{
    uint64_t h = SP_FNV_OFFSET;
    h = sp_fnv1a(h, &k->parent, sizeof(k->parent));
    h = sp_fnv1a(h, &k->kind, sizeof(k->kind));
    h = sp_fnv1a(h, &k->scope, sizeof(k->scope));
    h = sp_fnv1a(h, &k->a.len, sizeof(k->a.len));
    h = sp_fnv1a(h, k->a.p, k->a.len);
    return sp_fnv1a(h, k->b.p, k->b.len);
}

static bool gkey_eq(const struct gkey *x, const struct gkey *y)
{
    return x->parent == y->parent && x->scope == y->scope && x->kind == y->kind && sp_str_eq(x->a, y->a) && sp_str_eq(x->b, y->b);
}

/*
 * Numbers the distinct keys in first-seen order: gidx[i] is key i's group and
 * first[g] the first key of group g (first needs room for n entries). A hash
 * table keeps this linear even when a batch spans many functions or metrics.
 */
static int group_keys(struct sp_arena *e, const struct gkey *k, uint32_t n, uint32_t *gidx,
                      uint32_t *first, uint32_t *ngroups)
{
    size_t size = 16;
    while (size < 2 * (size_t)n) {
        size *= 2;
    }
    uint32_t *slot = alloc_n(e, size, sizeof(*slot)); /* group + 1, 0 when free */
    if (slot == NULL) {
        return -ENOMEM;
    }
    memset(slot, 0, size * sizeof(*slot));
    uint32_t ng = 0;
    for (uint32_t i = 0; i < n; i++) {
        size_t j = (size_t)gkey_hash(&k[i]) & (size - 1);
        while (slot[j] != 0 && !gkey_eq(&k[first[slot[j] - 1]], &k[i])) {
            j = (j + 1) & (size - 1);
        }
        if (slot[j] == 0) {
            first[ng] = i;
            slot[j] = ++ng;
        }
        gidx[i] = slot[j] - 1;
    }
    *ngroups = ng;
    return 0;
}

/*
 * Stable counting sort of 0..n-1 by gidx: group g's members, in their original
 * order, are order[start[g]] .. order[start[g + 1] - 1].
 */
static int by_group(struct sp_arena *e, const uint32_t *gidx, uint32_t n, uint32_t ngroups,
                    uint32_t **order_out, uint32_t **start_out)
{
    uint32_t *start = alloc_n(e, (size_t)ngroups + 1, sizeof(*start));
    uint32_t *fill = alloc_n(e, (size_t)ngroups + 1, sizeof(*fill));
    uint32_t *order = alloc_n(e, n, sizeof(*order));
    if (start == NULL || fill == NULL || order == NULL) {
        return -ENOMEM;
    }
    memset(start, 0, ((size_t)ngroups + 1) * sizeof(*start));
    for (uint32_t i = 0; i < n; i++) {
        start[gidx[i] + 1]++;
    }
    for (uint32_t g = 0; g < ngroups; g++) {
        start[g + 1] += start[g];
    }
    memcpy(fill, start, ((size_t)ngroups + 1) * sizeof(*fill));
    for (uint32_t i = 0; i < n; i++) {
        order[fill[gidx[i]]++] = i;
    }
    *order_out = order;
    *start_out = start;
    return 0;
}


const struct sp_attrs *otlp_item_res(int signal, const void *item)
{
    switch (signal) {
    case SP_SIG_LOGS:
        return &((const struct sp_logrec *)item)->res;
    case SP_SIG_METRICS:
        return &((const struct sp_metric *)item)->res;
    default:
        return NULL;
    }
}

const struct sp_scope *otlp_item_scope(int signal, const void *item)
{
    switch (signal) {
    case SP_SIG_TRACES:
        return ((const struct sp_span *)item)->scope;
    case SP_SIG_LOGS:
        return ((const struct sp_logrec *)item)->scope;
    default:
        return ((const struct sp_metric *)item)->scope;
    }
}

static void *item_next(int signal, const void *item)
{
    switch (signal) {
    case SP_SIG_TRACES:
        return ((const struct sp_span *)item)->next;
    case SP_SIG_LOGS:
        return ((const struct sp_logrec *)item)->next;
    default:
        return ((const struct sp_metric *)item)->next;
    }
}

/* Metrics of a kind we cannot express would become Metrics without data,
 * which receivers drop or reject, so they are left out up front. */
static bool item_wanted(int signal, const void *item)
{
    if (signal != SP_SIG_METRICS) {
        return true;
    }
    uint8_t kind = ((const struct sp_metric *)item)->kind;
    return kind == SP_METRIC_COUNTER || kind == SP_METRIC_GAUGE || kind == SP_METRIC_HISTOGRAM;
}

int otlp_group_by_function(struct sp_arena *e, const struct sp_batch *b, struct otlp_grouped *g)
{
    /* Count by walking: the list, not b->count, is what gets encoded. */
    uint32_t n = 0;
    for (void *it = b->head; it != NULL; it = item_next(b->signal, it)) {
        n += item_wanted(b->signal, it);
    }
    g->n = n;
    g->items = alloc_n(e, n, sizeof(*g->items));
    struct gkey *keys = alloc_n(e, n, sizeof(*keys));
    uint32_t *first = alloc_n(e, n, sizeof(*first));
    g->rg = alloc_n(e, n, sizeof(*g->rg));
    if (g->items == NULL || keys == NULL || first == NULL || g->rg == NULL) {
        return -ENOMEM;
    }
    uint32_t i = 0;
    for (void *it = b->head; it != NULL; it = item_next(b->signal, it)) {
        if (!item_wanted(b->signal, it)) {
            continue;
        }
        g->items[i] = it;
        keys[i] = (struct gkey){.scope = otlp_item_scope(b->signal, it),
                                .a = otlp_item_function(b->signal, it),
                                .b = otlp_item_service(b->signal, it)};
        i++;
    }
    int rc = group_keys(e, keys, n, g->rg, first, &g->nres);
    if (rc < 0) {
        return rc;
    }
    return by_group(e, g->rg, n, g->nres, &g->order, &g->start);
}

int otlp_group_metrics(struct sp_arena *e, const struct otlp_grouped *g,
                       struct otlp_metric_groups *m)
{
    /* Second level: (resource, scope name) -> one ScopeMetrics. Without a
     * named scope in the batch (every input but CloudWatch EMF) that is the
     * resource itself, without a pass over the points. */
    uint32_t *sg = alloc_n(e, g->n, sizeof(*sg));
    uint32_t *sfirst = alloc_n(e, g->n > g->nres ? g->n : g->nres, sizeof(*sfirst));
    if (sg == NULL || sfirst == NULL) {
        return -ENOMEM;
    }
    bool named = false;
    for (uint32_t i = 0; i < g->n && !named; i++) {
        named = ((const struct sp_metric *)g->items[i])->scope_name.len != 0;
    }
    struct gkey *keys = alloc_n(e, g->n, sizeof(*keys));
    if (keys == NULL) {
        return -ENOMEM;
    }
    int rc;
    if (named) {
        for (uint32_t i = 0; i < g->n; i++) {
            const struct sp_metric *pt = g->items[i];
            keys[i] = (struct gkey){.parent = g->rg[i], .a = pt->scope_name};
        }
        rc = group_keys(e, keys, g->n, sg, sfirst, &m->nscope);
        if (rc < 0) {
            return rc;
        }
    } else {
        memcpy(sg, g->rg, sizeof(*sg) * g->n);
        for (uint32_t r = 0; r < g->nres; r++) {
            sfirst[r] = g->order[g->start[r]];
        }
        m->nscope = g->nres;
    }
    m->sfirst = sfirst;
    uint32_t *sres = alloc_n(e, m->nscope, sizeof(*sres));
    if (sres == NULL) {
        return -ENOMEM;
    }
    for (uint32_t s = 0; s < m->nscope; s++) {
        sres[s] = g->rg[sfirst[s]];
    }
    rc = by_group(e, sres, m->nscope, g->nres, &m->sorder, &m->sstart);
    if (rc < 0) {
        return rc;
    }
    /* Third level: (ScopeMetrics, name, unit, kind) -> one Metric. */
    uint32_t *mg = alloc_n(e, g->n, sizeof(*mg));
    uint32_t *mfirst = alloc_n(e, g->n, sizeof(*mfirst));
    if (mg == NULL || mfirst == NULL) {
        return -ENOMEM;
    }
    for (uint32_t i = 0; i < g->n; i++) {
        const struct sp_metric *pt = g->items[i];
        keys[i] = (struct gkey){.parent = sg[i], .kind = pt->kind, .a = pt->name, .b = pt->unit};
    }
    rc = group_keys(e, keys, g->n, mg, mfirst, &m->nmet);
    if (rc < 0) {
        return rc;
    }
    rc = by_group(e, mg, g->n, m->nmet, &m->porder, &m->pstart);
    if (rc < 0) {
        return rc;
    }
    uint32_t *mscope = alloc_n(e, m->nmet, sizeof(*mscope));
    if (mscope == NULL) {
        return -ENOMEM;
    }
    for (uint32_t k = 0; k < m->nmet; k++) {
        mscope[k] = sg[mfirst[k]];
    }
    return by_group(e, mscope, m->nmet, m->nscope, &m->morder, &m->mstart);
}
