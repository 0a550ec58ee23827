/*
 * model.c - batches and the per-function resource. See model.h.
 */
#include "model.h"

const char *const sp_signal_names[SP_SIG_COUNT] = {"traces", "logs", "metrics"};

#include <string.h>

#define BATCH_ARENA_CHUNK (64u * 1024u)

void sp_batch_init(struct sp_batch *b, int signal)
{
    memset(b, 0, sizeof(*b));
    b->signal = (uint8_t)signal;
    b->tail = &b->head;
    sp_arena_init(&b->arena, BATCH_ARENA_CHUNK);
}

void sp_batch_append(struct sp_batch *b, void *item, size_t approx_bytes)
{
    /* Every item type starts with its `next` pointer. */
    *(void **)item = NULL;
    *b->tail = item;
    b->tail = (void **)item;
    b->count++;
    b->bytes += approx_bytes;
}

void sp_batch_free(struct sp_batch *b)
{
    sp_arena_free(&b->arena);
    b->head = NULL;
    b->tail = &b->head;
    b->count = 0;
    b->bytes = 0;
}

static void put_str(struct sp_attr *a, const char *key, struct sp_str v)
{
    a->key.p = key;
    a->key.len = strlen(key);
    a->val.type = SP_VAL_STR;
    a->val.u.s = v;
}

uint32_t sp_resource_attrs(const struct sp_resource_info *info, struct sp_str fn,
                           struct sp_str svc, struct sp_attr *out)
{
    return sp_resource_attrs_own(info, fn, svc, NULL, out);
}

static int has_key(const struct sp_attr *a, uint32_t n, struct sp_str k)
{
    for (uint32_t j = 0; j < n; j++) {
        if (sp_str_eq(a[j].key, k)) {
            return 1;
        }
    }
    return 0;
}

uint32_t sp_resource_attrs_own(const struct sp_resource_info *info, struct sp_str fn,
                               struct sp_str svc, const struct sp_attrs *own, struct sp_attr *out)
{
    uint32_t n = 0;
    for (uint32_t i = 0; own && i < own->n; i++) {
        out[n++] = own->v[i];
    }
    uint32_t first = n;
    /* A configured service.name names everything without a function; without
     * one, an item that knows better than unknown_function (the workflow span
     * knows its workflow) names its own service. */
    struct sp_str name = fn.len                              ? fn
                         : info->service_name_set || !svc.len ? info->service_name_default
                                                              : svc;
    if (!has_key(out, first, sp_cstr("service.name"))) {
        put_str(&out[n++], "service.name", name);
    }
    if (fn.len) {
        put_str(&out[n++], "faas.name", fn);
    }
    if (info->host_name.len) {
        put_str(&out[n++], "host.name", info->host_name);
    }
    if (info->instance_id.len) {
        put_str(&out[n++], "service.instance.id", info->instance_id);
    }
    for (uint32_t i = 0; i < info->extra.n; i++) {
        const struct sp_attr *e = &info->extra.v[i];
        if (!has_key(out, n, e->key)) {
            out[n++] = *e;
        }
    }
    return n;
}
