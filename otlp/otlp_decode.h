/*
 * otlp_decode.h - the OTLP request decoder: an ExportTrace/Logs/Metrics
 * ServiceRequest body, protobuf (protobuf-c's generated unpack) or the OTLP
 * JSON mapping (lowerCamelCase, hex ids, 64-bit integers as strings; cJSON),
 * into the data model's items (lib/model.h), each pointing at the resource
 * and scope it was sent with (struct sp_scope).
 *
 * Ownership: the items, their scopes and every string they point to live in
 * the arena given and in `owner` (the unpacked message or the JSON tree);
 * all of it dies with otlp_decoded_free() and sp_arena_free/reset.
 */
#ifndef SP_OTLP_DECODE_H
#define SP_OTLP_DECODE_H

#include <stddef.h>
#include <stdint.h>

#include "arena.h"
#include "model.h"

struct otlp_decoded {
    int signal;          /* enum sp_signal */
    void *head;          /* sp_span / sp_logrec / sp_metric, linked by ->next, in request order */
    uint32_t n;
    uint32_t rejected;   /* items left out: partial_success */
    const char *why;     /* the first reason an item was left out (static), or NULL */
    void *owner;         /* what the items' strings point into */
    int json;
};

/* 0 and `out`, or -EINVAL (undecodable: answered 400) with *err a static
 * phrase. `p` must stay valid until otlp_decoded_free() (JSON strings may
 * point into it). */
int otlp_decode(int signal, int json, const uint8_t *p, size_t n, struct sp_arena *a,
                struct otlp_decoded *out, const char **err);
void otlp_decoded_free(struct otlp_decoded *d);

#endif
