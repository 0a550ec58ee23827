/*
 * agent.h - struct spindle, the one context every part receives (no globals
 * for state, so tests can run two agents in one process), and the contracts
 * between the parts: collector -> correlator/metrics -> pipeline -> exporters.
 *
 * Ownership: struct spindle owns every part. Parts keep a back pointer to it
 * and never free each other.
 */
#ifndef SP_AGENT_H
#define SP_AGENT_H

#include <stdint.h>
#include <uv.h>

#include "buf.h"
#include "caps.h"
#include "clock.h"
#include "fs.h"
#include "config.h"
#include "ids.h"
#include "input.h"
#include "record.h"
#include "retryq.h"
#include "stats.h"
#include "model.h"

struct spindle;
struct corr;
struct sp_metrics;
struct sp_http;
struct sp_journal;
struct sp_otlp_in;
struct alert_engine;
struct sp_tapi;

/* --- exporters ----------------------------------------------------------- */

enum sp_send_outcome {
    SP_SEND_OK = 0,
    SP_SEND_RETRY = 1, /* try the same request again later */
    SP_SEND_ERROR = 2, /* never again: drop, counted */
    SP_SEND_SPLIT = 3  /* too large (413): halve it and send both halves */
};

/* One encoded export request waiting in, or travelling from, a queue. */
struct sp_req {
    struct sp_req *next;      /* the compression list */
    struct sp_retry_item ri;  /* the send queue: attempts, backoff (cost: body bytes) */
    struct sp_queue *q;
    struct sp_buf body;       /* wire bytes, owned */
    uint32_t items;           /* spans / log records / data points inside */
    uint64_t try_ns;          /* uv_hrtime() when the current attempt was handed over */
    uint64_t jseq;            /* oldest journal segment its items derive from, 0 none */
    uint8_t submitted;        /* its compression job was handed to the thread pool */
    uint8_t compressed;       /* the thread pool finished with it */
    uint8_t orphaned;         /* dropped (shutdown, journal full) while compressing: compress_done frees it */
    uv_work_t work;           /* compression job */
    struct sp_buf zbody;      /* the compressed body, filled on the thread pool */
    int zrc;
};

struct sp_send_result {
    int outcome;              /* enum sp_send_outcome */
    long retry_after_s;       /* -1: none given */
    int64_t rejected;         /* partial_success rejected items */
    long status;              /* HTTP status or 0 */
    int timed_out;            /* no answer within otlp.timeout (RETRY) */
    const char *detail;       /* for the log line; may be NULL */
    size_t detail_len;
};

struct sp_exporter;

/* A plugin: the core never looks inside `priv` and never NULL-checks a slot. */
struct sp_exporter_ops {
    const char *name;
    int (*init)(struct sp_exporter *e);
    /* Appends the wire form of the batch to `out`. */
    int (*encode)(struct sp_exporter *e, const struct sp_batch *b, struct sp_buf *out);
    /* Compresses an encoded body into `out`. Runs on the thread pool: it may
     * touch nothing but its arguments. Called only when the exporter set
     * e->compress in init(). */
    int (*compress)(const struct sp_buf *in, struct sp_buf *out);
    /* Starts delivering `r`; completes exactly once with sp_exporter_done(),
     * possibly before returning. */
    void (*send)(struct sp_exporter *e, struct sp_req *r);
    /* Halves r's body into a and b (SP_SEND_SPLIT), counting each half's
     * items; -EINVAL when there is nothing to halve, -ENOTSUP when the
     * exporter cannot. */
    int (*split)(struct sp_exporter *e, const struct sp_req *r, struct sp_buf *a,
                 struct sp_buf *b, uint32_t *items_a, uint32_t *items_b);
    void (*close)(struct sp_exporter *e);
};

/* Per exporter and signal: a bounded queue, so a failing traces endpoint
 * never holds logs or metrics back. */
struct sp_queue {
    struct sp_exporter *e;
    int signal;
    struct sp_retryq rq;      /* waiting to be sent, oldest first; its timer ends backoffs */
    struct sp_req *zhead, **ztail; /* being compressed, in seal order */
    uint32_t compressing;     /* requests in the compression list */
    uint32_t zrunning;        /* ... of which handed to the thread pool, not done */
    size_t bytes;             /* encoded bytes waiting + in flight + being compressed */
    uint32_t inflight;
    int pumping;              /* inside queue_pump(): no re-entry */
    /* Send attempts by duration (spindle_export_duration_seconds): counts per
     * upper bound of sp_export_latency_bounds[], the last one +Inf. */
    uint64_t lat_buckets[SP_ADMIN_LATENCY_BUCKETS + 1];
    uint64_t lat_count;
    double lat_sum_s;
    uint8_t failing;          /* the last attempt was answered RETRY or ERROR (/readyz) */
};

struct sp_exporter {
    const struct sp_exporter_ops *ops;
    struct spindle *sp;
    void *priv;
    struct sp_queue q[SP_SIG_COUNT];
    uint32_t max_inflight;
    int compress;             /* set by init(): bodies go through ops->compress */
    int closed;               /* sp_pipe_close() ran: freed when open_handles reaches 0 */
    int open_handles;         /* queue timers and compression jobs not yet done; the last frees this */
};

/* Creates an exporter with its queues and registers it with the pipeline. */
int sp_exporter_new(struct spindle *sp, const struct sp_exporter_ops *ops);

void sp_exporter_done(struct sp_exporter *e, struct sp_req *r, const struct sp_send_result *res);
/* The upper bounds (seconds) of each queue's send-duration histogram. */
extern const double sp_export_latency_bounds[SP_ADMIN_LATENCY_BUCKETS];
/* The `compress` slot of exporters that do not compress. */
int sp_exporter_no_compress(const struct sp_buf *in, struct sp_buf *out);


/* --- pipeline (agent/pipeline.c) ----------------------------------------- */

/* The open batch of a signal, to allocate an item from its arena; never NULL
 * unless memory is exhausted. Commit the item with sp_pipe_commit(). */
struct sp_batch *sp_pipe_batch(struct spindle *sp, int signal);
/* `jseq`: the oldest journal segment the item derives from (0 none); the
 * batch, and the request made of it, hold that segment until delivered. */
void sp_pipe_commit(struct spindle *sp, int signal, void *item, size_t approx_bytes,
                    uint64_t jseq);
/* Seals every open batch and hands it to the exporters now. */
void sp_pipe_flush(struct spindle *sp);
/* Seals the open batch of one signal, if any. */
void sp_pipe_seal(struct spindle *sp, int signal);
/* The resource a batch's items are encoded with. */
const struct sp_resource_info *sp_batch_resource(const struct spindle *sp, const struct sp_batch *b);
/* Bytes and requests still queued or in flight in all exporters. */
size_t sp_pipe_pending(const struct spindle *sp);
int sp_pipe_init(struct spindle *sp);
void sp_pipe_close(struct spindle *sp);
/* At the shutdown deadline: counts everything undelivered as dropped (or,
 * with the journal, leaves it there for the next start). */
void sp_pipe_abandon(struct spindle *sp);
/* Journal full: drops the waiting requests built from segments <= seq,
 * counted journal_full; returns the items dropped. */
uint64_t sp_pipe_drop_journal(struct spindle *sp, uint64_t seq);

/* Copies into `a`: strings, attribute lists, values. */
struct sp_str sp_str_dup(struct sp_arena *a, struct sp_str s);
int sp_attrs_dup(struct sp_arena *a, struct sp_attrs *dst, const struct sp_attrs *src,
                 uint32_t extra);
int sp_value_dup(struct sp_arena *a, struct sp_value *dst, const struct sp_value *src);

/* --- correlator (agent/correlator.c) ------------------------------------- */

struct alert_obs;
struct sp_point;

/* Read-only views of the correlator's state for the admin API: valid during
 * the callback only. Off the data path (the API asks, the correlator
 * answers), except the span notes, kept only after corr_keep_spans(). */
struct corr_span_note {
    struct sp_str name, function, invocation_id;
    uint8_t span_id[8];
    uint8_t has_span_id;
    uint8_t status;          /* enum of the record's status */
    uint64_t start_ns, end_ns;
};
struct corr_inv_view {
    struct sp_str id, function, trigger, error;
    const uint8_t *span_id;  /* 8 bytes */
    uint64_t first_ns, last_ns, start_ns, end_ns;
    int64_t attempt;
    uint8_t has_start, has_end, cold_start, status; /* status: enum sp_inv_status */
    const struct sp_span_event *events;
    uint32_t n_events;
};
struct corr_wf_view {
    struct sp_str cid, name, function;
    const uint8_t *trace_id; /* 16 bytes */
    const uint8_t *root_id;  /* 8 bytes: the workflow span */
    const char *state;       /* "open", "closing", "closed" */
    uint64_t first_ns, last_ns, start_ns, end_ns;
    uint32_t invocations, retries, throttles, cold_starts, dead_letters;
    uint8_t error, saw_start, saw_end;
    const struct sp_span_event *events; /* workflow-level lifecycle events */
    uint32_t n_events;
    const struct corr_span_note *spans;
    uint32_t n_spans;
    const void *priv;        /* the workflow, for corr_view_invocations() */
};
/* Where the correlator's observations go, given at init: it calls nothing
 * above it by name. */
struct corr_hooks {
    void *arg;
    /* A lifecycle count for the alert rules (alert_observe()). */
    void (*observe)(void *arg, const struct alert_obs *o);
    /* A derived metric point (faas.*, spindle.*) for the aggregator. */
    void (*point)(void *arg, const struct sp_point *p);
    /* A workflow closes (after its spans were emitted): the view is valid
     * during the call only. Once per workflow, never per record. */
    void (*closing)(void *arg, const struct corr_wf_view *v);
};

int corr_init(struct spindle *sp, const struct corr_hooks *hooks, struct corr **out);
/* Takes one accepted record (not metrics). */
void corr_record(struct corr *c, const struct sp_record *r, const struct sp_origin *o);
/* For a metric's exemplar: the workflow's trace id, and the span a point with
 * this correlation (and invocation) id belongs to. */
void corr_link(struct corr *c, struct sp_str cid, struct sp_str inv, uint8_t trace_id[16],
               uint8_t span_id[8]);
/* An item received over OTLP names workflow `cid` (and invocation `inv`, may
 * be empty): opens or touches it; *trace_id is the workflow's, *parent the
 * span a root item hangs under (the invocation's when tracked, else the
 * workflow's). */
void corr_join(struct corr *c, struct sp_str cid, struct sp_str inv, uint64_t ts_ns,
               const struct sp_origin *o, uint8_t trace_id[16], uint8_t parent[8]);
/* Closes every open workflow now (shutdown). */
void corr_close_all(struct corr *c);
/* The admin API's queries: every open and closing workflow (closing first,
 * then open ones newest first); one workflow by correlation id (-ENOENT when
 * not open or closing); its invocations. */
void corr_each_workflow(const struct corr *c,
                        void (*fn)(void *arg, const struct corr_wf_view *v), void *arg);
int corr_find_workflow(struct corr *c, struct sp_str cid,
                       void (*fn)(void *arg, const struct corr_wf_view *v), void *arg);
void corr_view_invocations(const struct corr_wf_view *v,
                           void (*fn)(void *arg, const struct corr_inv_view *iv), void *arg);
/* Note the first span records of each workflow for the API (the admin
 * listener turns it on). */
void corr_keep_spans(struct corr *c, int on);
/* Memory budget: closes the longest-idle open workflows early (counted
 * evicted) until the workflows hold at most `target` bytes. */
void corr_shed(struct corr *c, size_t target);
/* The oldest journal segment an open workflow derives from, 0 none. */
uint64_t corr_min_jseq(const struct corr *c);
void corr_free(struct corr *c);

/* --- metrics (agent/metrics.c) ------------------------------------------- */

/* One observation for the aggregator. A derived point (faas.*, spindle.*
 * counts the correlator makes) never shares a series with a user's metric of
 * the same name. `bounds` NULL: the default histogram buckets. */
struct sp_point {
    struct sp_str function;  /* the resource */
    struct sp_str name;
    struct sp_str unit;
    struct sp_str scope;     /* instrumentation scope's name; empty: spindle's (part of the series) */
    uint8_t kind;            /* enum sp_metric_kind */
    const struct sp_attrs *attrs;
    double value;
    uint64_t ts_ns;
    struct sp_str cid;       /* exemplar: the workflow ... */
    struct sp_str inv;       /* ... and the invocation, when known */
    const double *bounds;
    uint32_t n_bounds;       /* at most SP_MAX_BOUNDS */
    uint8_t derived;
    uint64_t jseq;           /* the journal segment it derives from, 0 none */
    /* DogStatsD (door.c): its own series cap (statsd.max_series), resource
     * attributes (sp_metric.res), and sets: a gauge of the distinct
     * `member`s (hashes) seen per interval. */
    uint8_t statsd;
    uint8_t distinct;
    uint64_t member;
    const struct sp_attrs *res;
    struct sp_str res_key;
};

/* How the aggregator finds an exemplar's span, given at init (the
 * correlator's corr_link(), which the aggregator never names). */
struct sp_metrics_hooks {
    void *arg;
    void (*link)(void *arg, struct sp_str cid, struct sp_str inv, uint8_t trace_id[16],
                 uint8_t span_id[8]);
};

int sp_metrics_init(struct spindle *sp, const struct sp_metrics_hooks *hooks,
                    struct sp_metrics **out);
void sp_metrics_record(struct sp_metrics *m, const struct sp_record *r, const struct sp_origin *o);
void sp_metrics_add(struct sp_metrics *m, const struct sp_point *p);
/* Emits every series as a data point now (interval tick and shutdown). */
void sp_metrics_export(struct sp_metrics *m);
/* The oldest journal segment a point not yet exported derives from, 0 none. */
uint64_t sp_metrics_min_jseq(const struct sp_metrics *m);
/* Memory budget: drops the least recently fed series (their records not yet
 * exported counted dropped.memory_limit) until the series hold at most
 * `target` bytes. Does nothing during an export. */
void sp_metrics_shed(struct sp_metrics *m, size_t target);
void sp_metrics_free(struct sp_metrics *m);
/* A series as it stands (read-only, for the admin listener's /metrics):
 * counters cumulative since start_ns, histograms' buckets per upper bound
 * (n_bounds + 1, the last +Inf), not cumulative. */
struct sp_series_view {
    struct sp_str function, name, unit;
    uint8_t kind;
    const struct sp_attrs *attrs;
    double value;
    uint64_t count;
    double sum;
    const uint64_t *buckets;
    const double *bounds;
    uint32_t n_bounds;
    uint8_t derived;
    uint64_t start_ns;
};
/* Calls fn for every series (only the derived ones when derived_only); the
 * view is valid during the call. Off the data path: O(series) per call. */
void sp_metrics_each(const struct sp_metrics *m, int derived_only,
                     void (*fn)(void *arg, const struct sp_series_view *v), void *arg);

/* --- the agent ----------------------------------------------------------- */

struct spindle {
    uv_loop_t *loop;
    struct sp_flags flags;         /* the command line, kept for SIGHUP */
    struct sp_config cfg;
    struct sp_stats stats;
    struct sp_record_limits limits;
    struct sp_resource_info res;
    struct sp_resource_info res_agent; /* for spindle.* metrics: service.name "spindle" */
    struct sp_arena res_arena;     /* owns res's and res_agent's strings */
    struct sp_rng rng;
    uint64_t started_ms;           /* loop time at start */
    uint64_t started_ns;           /* wall time at start: start of the spindle.* sums */

    struct corr *corr;
    struct sp_metrics *metrics;
    /* The inputs main.c handed over (sp_agent_add_input()), in that order. */
    struct sp_input inputs[SP_MAX_INPUTS];
    int n_inputs;
    const struct sp_exporter_ops *const *exporter_ops; /* main.c's table, NULL-terminated */
    struct sp_arena replay_arena;  /* the door's scratch for replayed entries */
    struct sp_http *http;          /* the one HTTP client, shared by the OTLP exporter and the
                                      notifiers: made by the first that needs it (NULL while none
                                      does: libcurl is loaded only then), closed in finish() */
    struct sp_journal *journal;    /* NULL unless storage.path is set */
    struct sp_otlp_in *otlp_in;    /* the door's OTLP state (traces joined), made on first use */
    struct alert_engine *alerts;
    struct sp_admin *admin;        /* the admin listener (admin/admin.h); NULL when off */
    /* Called by the door with each accepted NDJSON line while someone
     * follows them (spindlectl tail); NULL otherwise, so the data path pays
     * one test per record. Set and cleared by the admin listener. */
    void (*tap)(struct spindle *sp, const char *p, size_t n);
    struct sp_tapi *tapi;          /* the Lambda Telemetry API codec's state (door.c), lazily */

    /* pipeline */
    struct sp_batch *open[SP_SIG_COUNT]; /* batch being filled per signal */
    uv_timer_t batch_timer;
    struct sp_exporter *exporters[2];
    int n_exporters;

    uv_timer_t metrics_timer;
    uv_timer_t shutdown_timer;     /* the shutdown deadline */
    uv_timer_t drain_timer;        /* checks whether exports are done while draining */
    uv_signal_t sig_term, sig_int, sig_hup;
    int paused;                    /* input stopped: an export queue or memory is full */
    int in_backpressure;           /* inside sp_flow_check(): no re-entry */
    /* Queues grew or shrank: the pipeline's hook into flow control, set by
     * the agent to sp_flow_check (the pipeline never calls it by name). */
    void (*pressure)(struct spindle *sp);
    uv_check_t flow_turn;          /* flow control once per loop turn (flow.c) */
    struct {
        size_t conns;              /* connection read buffers */
        size_t batches;            /* open batch arenas */
        size_t workflows;          /* workflow state and arenas */
        size_t series;             /* metric series */
        size_t journal;            /* the journal's append buffer (bytes not yet written) */
        size_t rss_base;           /* anonymous resident bytes at start (sp_agent_start) */
        size_t rss;                /* last sample of anonymous resident bytes above rss_base */
        size_t over;               /* how far rss exceeded the accounting at that sample */
        uint64_t rss_ms;           /* loop time of that sample */
        uint64_t trim_ms;          /* loop time of the last malloc_trim() */
    } mem;                         /* what limits.max_memory covers, with the queues */
    int stopping;                  /* SIGTERM seen: draining */
    int abandoning;                /* the shutdown deadline passed */
    int exit_code;
};

/* Bytes limits.max_memory covers: the parts' accounts plus every export
 * queue. Inline (fields only), so every part may read it without depending
 * on flow control. */
static inline size_t sp_memory_used(const struct spindle *sp)
{
    size_t n = sp->mem.conns + sp->mem.batches + sp->mem.workflows + sp->mem.series +
               sp->mem.journal;
    for (int i = 0; i < sp->n_exporters; i++) {
        for (int s = 0; s < SP_SIG_COUNT; s++) {
            n += sp->exporters[i]->q[s].bytes;
        }
    }
    return n;
}

/* getenv, as the config loader wants it (main.c). */
const char *sp_env_get(const char *name);
/* SIGHUP: rebuilds the configuration; a bad one keeps the old. 0 or -errno. */
int sp_agent_reload(struct spindle *sp);

/* The top names the plugins: inputs are added (before sp_agent_init(), in
 * the order they start) and the exporters' table is given, NULL-terminated;
 * the configuration chooses among them by name ("otlp_http", "otlp_file"). */
int sp_agent_add_input(struct spindle *sp, const struct sp_input_ops *ops);
int sp_agent_init(struct spindle *sp, uv_loop_t *loop,
                  const struct sp_exporter_ops *const *exporters);
int sp_agent_start(struct spindle *sp);
void sp_agent_stop(struct spindle *sp);
void sp_agent_free(struct spindle *sp);

#endif
