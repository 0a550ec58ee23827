/*
 * otlp_group.h - the grouping every OTLP encoding of a batch starts with:
 * items by function and service (one ResourceX each, first-seen order), and for metrics,
 * points by (resource, scope name) into one ScopeMetrics each and by (ScopeMetrics, name,
 * unit, kind) into one Metric each. Shared by the
 * encoder and its reference test, so both group alike.
 */
#ifndef SP_OTLP_GROUP_H
#define SP_OTLP_GROUP_H

#include <stdint.h>

#include "arena.h"
#include "model.h"

/*
 * The items as an array, grouped by function. Group g holds
 * items[order[start[g]]] .. items[order[start[g+1]-1]], in batch order.
 */
struct otlp_grouped {
    void **items;
    uint32_t n;
    uint32_t *rg; /* resource group of each item */
    uint32_t nres;
    uint32_t *order;
    uint32_t *start;
};

/* Metrics of one grouped batch: Metric k holds items[porder[pstart[k]]] ..
 * items[porder[pstart[k+1]-1]]; ScopeMetrics s holds Metrics
 * morder[mstart[s]] .. morder[mstart[s+1]-1]; resource r holds ScopeMetrics
 * sorder[sstart[r]] .. sorder[sstart[r+1]-1]; all in first-seen order.
 * items[sfirst[s]] is a point of ScopeMetrics s (its scope_name names it).
 * Without any scope_name in the batch there is one ScopeMetrics per
 * resource, numbered as the resources. */
struct otlp_metric_groups {
    uint32_t nmet;
    uint32_t *porder, *pstart;
    uint32_t nscope;
    uint32_t *sorder, *sstart, *sfirst;
    uint32_t *morder, *mstart;
};

/* An item's function, which with its service picks its resource. */
static inline struct sp_str otlp_item_function(int signal, const void *item)
{
    switch (signal) {
    case SP_SIG_TRACES:
        return ((const struct sp_span *)item)->function;
    case SP_SIG_LOGS:
        return ((const struct sp_logrec *)item)->function;
    default:
        return ((const struct sp_metric *)item)->function;
    }
}

/* The workflow span's resource also depends on its service (model.h); a log
 * record's or data point's on the resource attributes it brought (res_key). */
static inline struct sp_str otlp_item_service(int signal, const void *item)
{
    switch (signal) {
    case SP_SIG_TRACES:
        return ((const struct sp_span *)item)->service;
    case SP_SIG_LOGS:
        return ((const struct sp_logrec *)item)->res_key;
    default:
        return ((const struct sp_metric *)item)->res_key;
    }
}

/* The resource and scope an item was received with, or NULL (model.h). */
const struct sp_scope *otlp_item_scope(int signal, const void *item);

/* Allocations come from `a`. 0 or -ENOMEM. */
int otlp_group_by_function(struct sp_arena *a, const struct sp_batch *b, struct otlp_grouped *g);
int otlp_group_metrics(struct sp_arena *a, const struct otlp_grouped *g,
                       struct otlp_metric_groups *m);

/* The item's own resource attributes (sp_logrec.res, sp_metric.res), or
 * NULL (spans): encoders put them first in the item's Resource. */
const struct sp_attrs *otlp_item_res(int signal, const void *item);

#endif
