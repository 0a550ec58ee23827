/*
 * otlp_group.h - the grouping every OTLP encoding of a batch starts with:
 * items by function and service (one ResourceX each, first-seen order), and for metrics,
 * points by (resource, name, unit, kind) into one Metric each. Shared by the
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
 * items[porder[pstart[k+1]-1]]; resource r holds Metrics morder[mstart[r]] ..
 * morder[mstart[r+1]-1], first-seen order. */
struct otlp_metric_groups {
    uint32_t nmet;
    uint32_t *porder, *pstart;
    uint32_t *morder, *mstart;
};

/* The resource and scope an item was received with, or NULL (model.h). */
const struct sp_scope *otlp_item_scope(int signal, const void *item);

/* Allocations come from `a`. 0 or -ENOMEM. */
int otlp_group_by_function(struct sp_arena *a, const struct sp_batch *b, struct otlp_grouped *g);
int otlp_group_metrics(struct sp_arena *a, const struct otlp_grouped *g,
                       struct otlp_metric_groups *m);

#endif
