/*
 * fuzz_otlp_decode.c - libFuzzer target for the OTLP request decoders
 * (otlp/otlp_decode.c for protobuf, otlp/otlp_decode_json.c for the JSON
 * mapping), which read whatever a client POSTs to the OTLP/HTTP receiver.
 * The first byte picks the signal (traces, logs, metrics) and the encoding
 * (protobuf or JSON); the rest is the body. Whatever the bytes, the decoder
 * answers 0 or -EINVAL with a reason, and on 0 every item it returns can be
 * walked to its last string byte (the sanitizers catch a pointer out of the
 * body or the arena) and the count it gives is the length of its list. Its
 * corpus replays as the unit test test_replay_otlp_decode.
 *
 * Build and run (clang; the protobuf-c sources are generated into the meson
 * build folder, so build it first):
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -D_GNU_SOURCE -Iotlp -Ilib -Ibuild \
 *     tests/fuzz/fuzz_otlp_decode.c otlp/otlp_decode.c otlp/otlp_decode_json.c lib/arena.c \
 *     lib/json.c lib/ids.c build/{common,resource,trace,logs,metrics}.pb-c.c \
 *     build/{trace,logs,metrics}_service.pb-c.c -lprotobuf-c -lcjson -lcrypto \
 *     -o /tmp/fuzz_otlp_decode
 *   /tmp/fuzz_otlp_decode -max_total_time=60 tests/fuzz/corpus_otlp_decode
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "arena.h"
#include "otlp_decode.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Reads every byte of the string, so that ASan sees it; the sum keeps the
 * reads from being optimised away. */
static volatile unsigned sink;

static void touch_str(const struct sp_str *s)
{
    if (s->len && s->p == NULL) {
        __builtin_trap();
    }
    unsigned x = 0;
    for (size_t i = 0; i < s->len; i++) {
        x += (unsigned char)s->p[i];
    }
    sink += x;
}

static void touch_attrs(const struct sp_attr *v, uint32_t n, int depth);

static void touch_value(const struct sp_value *v, int depth)
{
    if (depth > 200) {
        __builtin_trap(); /* nesting is bounded by the decoder */
    }
    switch (v->type) {
    case SP_VAL_STR:
        touch_str(&v->u.s);
        break;
    case SP_VAL_ARRAY:
        for (uint32_t i = 0; i < v->u.arr.n; i++) {
            touch_value(&v->u.arr.v[i], depth + 1);
        }
        break;
    case SP_VAL_KVLIST:
        touch_attrs(v->u.kv.v, v->u.kv.n, depth + 1);
        break;
    default:
        break;
    }
}

static void touch_attrs(const struct sp_attr *v, uint32_t n, int depth)
{
    for (uint32_t i = 0; i < n; i++) {
        touch_str(&v[i].key);
        touch_value(&v[i].val, depth);
    }
}

static void touch_scope(const struct sp_scope *s)
{
    if (s == NULL) {
        return;
    }
    touch_attrs(s->resource.v, s->resource.n, 0);
    touch_str(&s->resource_schema_url);
    touch_str(&s->name);
    touch_str(&s->version);
    touch_attrs(s->attrs.v, s->attrs.n, 0);
    touch_str(&s->schema_url);
}

static uint32_t walk(const struct otlp_decoded *d)
{
    uint32_t n = 0;
    if (d->signal == SP_SIG_TRACES) {
        for (const struct sp_span *s = d->head; s; s = s->next, n++) {
            touch_scope(s->scope);
            touch_str(&s->name);
            touch_str(&s->status_message);
            touch_attrs(s->attrs.v, s->attrs.n, 0);
            for (uint32_t i = 0; i < s->n_events; i++) {
                touch_str(&s->events[i].name);
                touch_attrs(s->events[i].attrs.v, s->events[i].attrs.n, 0);
            }
            for (uint32_t i = 0; i < s->n_links; i++) {
                touch_attrs(s->links[i].attrs.v, s->links[i].attrs.n, 0);
            }
        }
    } else if (d->signal == SP_SIG_LOGS) {
        for (const struct sp_logrec *l = d->head; l; l = l->next, n++) {
            touch_scope(l->scope);
            touch_str(&l->severity_text);
            touch_value(&l->body, 0);
            touch_attrs(l->attrs.v, l->attrs.n, 0);
            touch_str(&l->event_name);
        }
    } else {
        for (const struct sp_metric *m = d->head; m; m = m->next, n++) {
            touch_scope(m->scope);
            touch_str(&m->name);
            touch_str(&m->unit);
            touch_str(&m->description);
            touch_attrs(m->attrs.v, m->attrs.n, 0);
            if (m->kind == SP_METRIC_HISTOGRAM) {
                double b = 0;
                uint64_t c = 0;
                for (uint32_t i = 0; i < m->n_bounds; i++) {
                    b += m->bounds[i];
                }
                if (m->bucket_counts) {
                    for (uint32_t i = 0; i <= m->n_bounds; i++) {
                        c += m->bucket_counts[i];
                    }
                }
                sink += (unsigned)c + (b == b);
            }
            for (uint32_t i = 0; i < m->n_exemplars; i++) {
                touch_attrs(m->exemplars[i].filtered.v, m->exemplars[i].filtered.n, 0);
            }
        }
    }
    return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0) {
        return 0;
    }
    int signal = data[0] % 3;
    int json = (data[0] / 3) & 1;
    struct sp_arena a;
    sp_arena_init(&a, 64 * 1024);
    struct otlp_decoded d;
    const char *err = NULL;
    int rc = otlp_decode(signal, json, data + 1, size - 1, &a, &d, &err);
    if (rc != 0) {
        /* Undecodable is answered 400 with the reason as the message. */
        if (rc != -EINVAL || err == NULL || err[0] == 0) {
            __builtin_trap();
        }
    } else {
        if (d.signal != signal || walk(&d) != d.n) {
            __builtin_trap();
        }
        if (d.rejected && d.why == NULL) {
            __builtin_trap(); /* partial_success carries an error message */
        }
        otlp_decoded_free(&d);
    }
    sp_arena_free(&a);
    return 0;
}
