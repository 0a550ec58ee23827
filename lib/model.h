/*
 * model.h - the telemetry data model: what the correlator and the metric aggregator hand to the
 * exporters: spans, log records and metric points, gathered in batches.
 *
 * Ownership: a batch owns an arena; every item, string and array reachable
 * from a batch lives in that arena and dies with sp_batch_free(). Strings are
 * (pointer, length) pairs, valid UTF-8, not necessarily NUL-terminated.
 * Items of one batch are all of the batch's signal and form a singly linked
 * list in the order they were produced.
 */
#ifndef SP_MODEL_H
#define SP_MODEL_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "arena.h"

struct sp_str {
    const char *p;
    size_t len;
};

static inline int sp_str_eq(struct sp_str a, struct sp_str b)
{
    return a.len == b.len && (a.len == 0 || memcmp(a.p, b.p, a.len) == 0);
}

/* A NUL-terminated string as an sp_str (not copied). */
static inline struct sp_str sp_cstr(const char *s)
{
    struct sp_str r = {s, strlen(s)};
    return r;
}

enum sp_val_type {
    SP_VAL_EMPTY = 0, /* no value (OTLP AnyValue with nothing set) */
    SP_VAL_STR,
    SP_VAL_INT,
    SP_VAL_DOUBLE,
    SP_VAL_BOOL,
    SP_VAL_ARRAY, /* elements are scalars or arrays */
    SP_VAL_KVLIST /* used for a log body that is a JSON object */
};

struct sp_attr;

struct sp_value {
    uint8_t type; /* enum sp_val_type */
    union {
        struct sp_str s;
        int64_t i;
        double d;
        int b;
        struct {
            struct sp_value *v;
            uint32_t n;
        } arr;
        struct {
            struct sp_attr *v;
            uint32_t n;
        } kv;
    } u;
};

struct sp_attr {
    struct sp_str key;
    struct sp_value val;
};

struct sp_attrs {
    struct sp_attr *v;
    uint32_t n;
    uint32_t dropped; /* -> dropped_attributes_count */
};

/* Appends the string attribute k = v when v is not empty; past `cap` (the
 * room in at->v) it is counted dropped instead. v is not copied. */
static inline void sp_attrs_put_str(struct sp_attrs *at, uint32_t cap, const char *k,
                                    struct sp_str v)
{
    if (v.len == 0) {
        return;
    }
    if (at->n >= cap) {
        at->dropped++;
        return;
    }
    struct sp_attr *x = &at->v[at->n++];
    x->key = sp_cstr(k);
    x->val.type = SP_VAL_STR;
    x->val.u.s = v;
}

enum sp_signal { SP_SIG_TRACES = 0, SP_SIG_LOGS = 1, SP_SIG_METRICS = 2, SP_SIG_COUNT = 3 };

/* "traces", "logs", "metrics": OTLP's path segments (/v1/<name>), file names
 * and the `signal` attribute of the self-metrics. */
extern const char *const sp_signal_names[SP_SIG_COUNT];

/* OTLP enum values, so encoders copy them as they are. */
enum sp_span_kind {
    SP_KIND_UNSPECIFIED = 0,
    SP_KIND_INTERNAL = 1,
    SP_KIND_SERVER = 2,
    SP_KIND_CLIENT = 3,
    SP_KIND_PRODUCER = 4,
    SP_KIND_CONSUMER = 5
};
enum sp_status_code { SP_STATUS_UNSET = 0, SP_STATUS_OK = 1, SP_STATUS_ERROR = 2 };

struct sp_span_event {
    struct sp_str name;
    uint64_t ts_ns;
    struct sp_attrs attrs;
};

struct sp_span_link {
    uint8_t trace_id[16];
    uint8_t span_id[8];
    struct sp_attrs attrs;
};

/* Resource and instrumentation scope as a client sent them (the OTLP/HTTP
 * receiver): an item that points at one is encoded with it, not with the
 * resource of its function and spindle's scope. It lives in the item's batch
 * arena; items of one batch pointing at the same sp_scope share one
 * ResourceX/ScopeX. */
struct sp_scope {
    struct sp_attrs resource;          /* .dropped: the resource's dropped_attributes_count */
    struct sp_str resource_schema_url; /* of the ResourceX */
    struct sp_str name, version;
    struct sp_attrs attrs;
    struct sp_str schema_url;          /* of the ScopeX */
};

/* Items that share `function` (and `service`) share one OTLP Resource (see
 * sp_resource_attrs), unless they carry a `scope`. */
struct sp_span {
    struct sp_span *next;
    const struct sp_scope *scope; /* NULL: the function's resource, spindle's scope */
    struct sp_str function; /* len 0: no function known */
    struct sp_str service;  /* no function: service.name unless one is configured
                             * (the workflow span: the workflow's name) */
    uint8_t trace_id[16];
    uint8_t span_id[8];
    uint8_t parent_span_id[8];
    uint8_t has_parent;
    uint8_t kind;   /* enum sp_span_kind */
    uint8_t status; /* enum sp_status_code */
    struct sp_str name;
    struct sp_str status_message;
    uint64_t start_ns;
    uint64_t end_ns;
    struct sp_attrs attrs;
    struct sp_span_event *events;
    uint32_t n_events;
    uint32_t dropped_events;
    struct sp_span_link *links;
    uint32_t n_links;
};

struct sp_logrec {
    struct sp_logrec *next;
    const struct sp_scope *scope; /* NULL: the function's resource, spindle's scope */
    struct sp_str function;
    uint64_t ts_ns;          /* 0: unknown */
    uint64_t observed_ns;    /* when the agent received it */
    uint8_t severity_number; /* OTel 1-24, 0 unspecified */
    struct sp_str severity_text;
    struct sp_value body;
    struct sp_attrs attrs;
    uint8_t has_trace;       /* trace_id/span_id are set */
    uint8_t trace_id[16];
    uint8_t span_id[8];
    struct sp_str event_name; /* an event exported as a log record: its name */
    /* The sender's own resource attributes (DogStatsD's unified service
     * tags: service.name, deployment.environment.name, service.version),
     * which come before the agent's; res_key is them as one string, so that
     * items with equal function and res_key share one Resource. n 0: none. */
    struct sp_attrs res;
    struct sp_str res_key;
};

enum sp_metric_kind { SP_METRIC_COUNTER = 0, SP_METRIC_GAUGE = 1, SP_METRIC_HISTOGRAM = 2 };

struct sp_exemplar {
    uint64_t ts_ns;
    double value;
    uint8_t trace_id[16];
    uint8_t span_id[8];
    struct sp_attrs filtered; /* e.g. spindle.correlation_id */
};

/* One data point of one series at export time. A counter is a cumulative,
 * monotonic sum; a gauge its last value; a histogram has explicit buckets. */
struct sp_metric {
    struct sp_metric *next;
    const struct sp_scope *scope; /* NULL: the function's resource, spindle's scope */
    /* With `scope` NULL: the name of the instrumentation scope the point sits
     * under in its function's resource (a CloudWatch EMF Namespace); empty:
     * spindle's scope. */
    struct sp_str scope_name;
    struct sp_str function;
    struct sp_str name;
    struct sp_str unit;
    struct sp_str description;
    uint8_t kind;            /* enum sp_metric_kind */
    struct sp_attrs attrs;
    uint64_t start_ns;       /* series start (cumulative temporality) */
    uint64_t time_ns;
    double value;            /* counter sum or gauge value */
    uint64_t count;          /* histogram */
    double sum, min, max;    /* histogram; min/max valid when count > 0 */
    const double *bounds;    /* histogram explicit bounds, n_bounds of them */
    uint32_t n_bounds;
    const uint64_t *bucket_counts; /* n_bounds + 1 */
    struct sp_exemplar *exemplars;
    uint32_t n_exemplars;
    /* The sender's own resource attributes (DogStatsD's unified service
     * tags: service.name, deployment.environment.name, service.version),
     * which come before the agent's; res_key is them as one string, so that
     * items with equal function and res_key share one Resource. n 0: none. */
    struct sp_attrs res;
    struct sp_str res_key;
};

struct sp_batch {
    uint8_t signal;   /* enum sp_signal */
    uint8_t agent;    /* items describe the agent itself: encode with its own resource */
    uint32_t count;   /* items */
    size_t bytes;     /* rough encoded size, for batch_max_bytes */
    uint64_t opened_ms; /* loop time when the first item arrived */
    uint64_t jseq;    /* oldest journal segment an item derives from, 0 none */
    void *head;       /* struct sp_span / sp_logrec / sp_metric */
    void **tail;
    struct sp_arena arena;
};

/* The resource every item of a given function maps to. The agent builds it
 * once per function name; encoders look it up by the item's function. */
struct sp_resource_info {
    struct sp_str service_name_default; /* OTEL_SERVICE_NAME, else unknown_function */
    uint8_t service_name_set;           /* the default was configured, not unknown_function */
    struct sp_str host_name;
    struct sp_str instance_id;          /* service.instance.id */
    struct sp_attrs extra;              /* OTEL_RESOURCE_ATTRIBUTES and config */
    struct sp_str scope_name;           /* "spindle" */
    struct sp_str scope_version;
};

/* Fills `out` with the resource attributes of items whose function is `fn`
 * and whose service is `svc` (sp_span.service; empty for other items):
 * service.name (fn, else the configured default, else svc, else
 * unknown_function), faas.name (when fn is known), host.name,
 * service.instance.id, then the extra attributes whose keys are not already
 * present. `out` must have room for 4 + info->extra.n entries. */
uint32_t sp_resource_attrs(const struct sp_resource_info *info, struct sp_str fn,
                           struct sp_str svc, struct sp_attr *out);

/* The same, with the item's own resource attributes first (`own` may be
 * NULL): they win over the agent's, service.name included. `out` must have
 * room for 4 + info->extra.n + own->n entries. */
uint32_t sp_resource_attrs_own(const struct sp_resource_info *info, struct sp_str fn,
                               struct sp_str svc, const struct sp_attrs *own, struct sp_attr *out);

void sp_batch_init(struct sp_batch *b, int signal);
void sp_batch_append(struct sp_batch *b, void *item, size_t approx_bytes);
void sp_batch_free(struct sp_batch *b);

#endif
