/*
 * pipeline.c - batches to exporters: one open batch per signal, sealed by
 * count, bytes or delay; each exporter encodes a sealed batch once into a
 * request and queues it per signal; the core owns delivery: in-flight limits,
 * retries with exponential backoff and full jitter, Retry-After, and the
 * counters of every drop (the reason is the counter's name).
 *
 * Ownership: struct spindle owns the open batches (freed when sealed, after
 * every exporter encoded them) and the exporters; a queue owns its requests.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent.h"
#include "caps.h"
#include "journal.h"
#include "log.h"

static const char *signal_name(int s)
{
    return sp_signal_names[s];
}

/* --- copies into a batch arena ------------------------------------------- */

struct sp_str sp_str_dup(struct sp_arena *a, struct sp_str s)
{
    struct sp_str d = {"", 0};
    if (s.len) {
        char *p = sp_arena_strndup(a, s.p, s.len);
        if (p) {
            d.p = p;
            d.len = s.len;
        }
    }
    return d;
}

int sp_value_dup(struct sp_arena *a, struct sp_value *dst, const struct sp_value *src)
{
    *dst = *src;
    switch (src->type) {
    case SP_VAL_STR:
        dst->u.s = sp_str_dup(a, src->u.s);
        return 0;
    case SP_VAL_ARRAY:
        dst->u.arr.v = sp_arena_alloc(a, sizeof(struct sp_value) * (src->u.arr.n + 1));
        if (dst->u.arr.v == NULL) {
            return -ENOMEM;
        }
        for (uint32_t i = 0; i < src->u.arr.n; i++) {
            if (sp_value_dup(a, &dst->u.arr.v[i], &src->u.arr.v[i])) {
                return -ENOMEM;
            }
        }
        return 0;
    case SP_VAL_KVLIST:
        dst->u.kv.v = sp_arena_alloc(a, sizeof(struct sp_attr) * (src->u.kv.n + 1));
        if (dst->u.kv.v == NULL) {
            return -ENOMEM;
        }
        for (uint32_t i = 0; i < src->u.kv.n; i++) {
            dst->u.kv.v[i].key = sp_str_dup(a, src->u.kv.v[i].key);
            if (sp_value_dup(a, &dst->u.kv.v[i].val, &src->u.kv.v[i].val)) {
                return -ENOMEM;
            }
        }
        return 0;
    default:
        return 0;
    }
}

int sp_attrs_dup(struct sp_arena *a, struct sp_attrs *dst, const struct sp_attrs *src,
                 uint32_t extra)
{
    uint32_t n = src ? src->n : 0;
    dst->n = 0;
    dst->dropped = src ? src->dropped : 0;
    dst->v = sp_arena_alloc(a, sizeof(struct sp_attr) * (n + extra + 1));
    if (dst->v == NULL) {
        return -ENOMEM;
    }
    for (uint32_t i = 0; i < n; i++) {
        dst->v[i].key = sp_str_dup(a, src->v[i].key);
        if (sp_value_dup(a, &dst->v[i].val, &src->v[i].val)) {
            return -ENOMEM;
        }
    }
    dst->n = n;
    return 0;
}

/* --- queues and delivery ------------------------------------------------- */

/* A request holds the oldest journal segment its items derive from until it
 * is delivered or counted as dropped. */
static struct sp_req *req_new(struct spindle *sp, uint64_t jseq)
{
    struct sp_req *r = calloc(1, sizeof(*r));
    if (r && jseq && sp->journal) {
        /* Derived from a segment evicted since (journal full): the data is
         * in memory now, and the oldest segment left is what it can hold. */
        r->jseq = sp_journal_clamp(sp->journal, jseq);
        sp_journal_hold(sp->journal, r->jseq);
    }
    return r;
}

static void req_free(struct spindle *sp, struct sp_req *r)
{
    if (r->jseq && sp->journal) {
        sp_journal_release(sp->journal, r->jseq);
    }
    sp_buf_free(&r->body);
    sp_buf_free(&r->zbody);
    free(r);
}

/* Undelivered at shutdown: with the journal the items stay there for the
 * next start (not lost, so not counted); without it they are dropped. */
static void count_left(struct spindle *sp, const struct sp_req *r, int signal)
{
    if (sp->journal) {
        SP_LOG_RL(SP_LOG_INFO, "export batch left in the journal for the next start",
                  "signal=%s items=%u", signal_name(signal), r->items);
        return;
    }
    sp->stats.drop_shutdown_deadline += r->items;
    SP_LOG_RL(SP_LOG_WARN, "export batch dropped", "signal=%s items=%u reason=%s",
              signal_name(signal), r->items, "shutdown_deadline");
}

static void count_drop(uint64_t *counter, const struct sp_req *r, int signal, const char *reason)
{
    *counter += r->items;
    SP_LOG_RL(SP_LOG_WARN, "export batch dropped", "signal=%s items=%u reason=%s",
              signal_name(signal), r->items, reason);
}

static void queue_pump(struct sp_queue *q);

static struct sp_req *req_of(struct sp_retry_item *it)
{
    return (struct sp_req *)(void *)((char *)it - offsetof(struct sp_req, ri));
}

static struct sp_queue *queue_of(struct sp_retryq *rq)
{
    return (struct sp_queue *)(void *)((char *)rq - offsetof(struct sp_queue, rq));
}

static void queue_wake(struct sp_retryq *rq)
{
    queue_pump(queue_of(rq));
}

/* Starts as many waiting requests as the in-flight limit allows. Requests
 * whose backoff has not ended wait for the queue timer. */
static void queue_pump(struct sp_queue *q)
{
    struct sp_exporter *e = q->e;
    if (q->pumping) {
        return; /* a synchronous completion inside send(): the loop below goes on */
    }
    q->pumping = 1;
    struct sp_retry_item *it;
    while (q->inflight < e->max_inflight && (it = sp_retryq_next(&q->rq)) != NULL) {
        q->inflight++;
        req_of(it)->try_ns = uv_hrtime();
        e->ops->send(e, req_of(it));
    }
    q->pumping = 0;
}

/* The wait before retry number `attempts`: the backoff with full jitter, or
 * the backend's Retry-After when that asks for longer, up to
 * export.retry_max (sp_retry_wait_ms); capped waits are counted. */
static uint64_t retry_wait_ms(struct spindle *sp, uint32_t attempts, long retry_after_s)
{
    const struct sp_retry_policy p = {.initial_ms = sp->cfg.retry_initial_ms,
                                      .max_ms = sp->cfg.retry_max_ms,
                                      .jitter = 1};
    int capped;
    uint64_t wait = sp_retry_wait_ms(&p, attempts, retry_after_s, &sp->rng, &capped);
    if (capped) {
        sp->stats.retry_after_capped++;
        SP_LOG_RL(SP_LOG_WARN, "backend's Retry-After is longer than export.retry_max; capped",
                  "retry_after_s=%ld retry_max_ms=%" PRIu64, retry_after_s, sp->cfg.retry_max_ms);
    }
    return wait;
}

static void drop_non_retryable(struct sp_exporter *e, struct sp_queue *q, struct sp_req *r,
                               const struct sp_send_result *res)
{
    struct spindle *sp = e->sp;
    SP_LOG_RL(SP_LOG_WARN, "export failed permanently, batch dropped",
              "exporter=%s signal=%s status=%ld items=%u body=\"%.*s\"", e->ops->name,
              signal_name(q->signal), res->status, r->items,
              (int)(res->detail_len > 200 ? 200 : res->detail_len), res->detail ? res->detail : "");
    sp->stats.drop_non_retryable += r->items;
    q->bytes -= r->body.len;
    req_free(sp, r);
}

/* 413: the request goes back to the head of its queue as two halves, first
 * half first, each with a fresh retry budget. 0, or an error when it cannot
 * be halved (then the caller drops it). */
static int split_req(struct sp_exporter *e, struct sp_queue *q, struct sp_req *r)
{
    struct spindle *sp = e->sp;
    struct sp_req *h1 = req_new(sp, r->jseq), *h2 = req_new(sp, r->jseq);
    int rc = -ENOMEM;
    if (h1 && h2) {
        sp_buf_init(&h1->body, r->body.cap);
        sp_buf_init(&h2->body, r->body.cap);
        rc = e->ops->split(e, r, &h1->body, &h2->body, &h1->items, &h2->items);
    }
    if (rc) {
        SP_LOG_RL(SP_LOG_WARN, "backend says the request is too large and it cannot be halved",
                  "exporter=%s signal=%s items=%u error=%d", e->ops->name, signal_name(q->signal),
                  r->items, rc);
        if (h1) {
            req_free(sp, h1);
        }
        if (h2) {
            req_free(sp, h2);
        }
        return rc;
    }
    sp->stats.splits++;
    SP_LOG_RL(SP_LOG_INFO, "request too large for the backend: sending it in two halves",
              "exporter=%s signal=%s items=%u bytes=%zu", e->ops->name, signal_name(q->signal),
              r->items, r->body.len);
    h1->q = h2->q = q;
    h1->ri.cost = h1->body.len;
    h2->ri.cost = h2->body.len;
    sp_retryq_push_front(&q->rq, &h2->ri);
    sp_retryq_push_front(&q->rq, &h1->ri);
    q->bytes += h1->body.len + h2->body.len;
    q->bytes -= r->body.len;
    req_free(sp, r);
    return 0;
}

/* The derived duration histograms' bounds (agent/correlator.c), so one panel
 * can put export and invocation latencies side by side. */
const double sp_export_latency_bounds[SP_ADMIN_LATENCY_BUCKETS] = {
    0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10};

static void observe_latency(struct sp_queue *q, uint64_t try_ns)
{
    double s = (double)(uv_hrtime() - try_ns) / 1e9;
    uint32_t i = 0;
    while (i < SP_ADMIN_LATENCY_BUCKETS && s > sp_export_latency_bounds[i]) {
        i++;
    }
    q->lat_buckets[i]++;
    q->lat_count++;
    q->lat_sum_s += s;
}

void sp_exporter_done(struct sp_exporter *e, struct sp_req *r, const struct sp_send_result *res)
{
    struct sp_queue *q = r->q;
    struct spindle *sp = e->sp;
    q->inflight--;
    if (r->try_ns) {
        observe_latency(q, r->try_ns);
    }
    /* /readyz: is this exporter delivering? (SPLIT is the backend working.) */
    q->failing = res->outcome == SP_SEND_RETRY || res->outcome == SP_SEND_ERROR;
    switch (res->outcome) {
    case SP_SEND_OK: {
        sp->stats.req_ok++;
        /* The count comes from the backend: more than the request held, or
         * below zero, is nonsense that must not reach the counters (one such
         * answer would add 2^63, two would wrap). It is taken as "all" or
         * "none" and logged. */
        uint64_t rejected = res->rejected > 0 ? (uint64_t)res->rejected : 0;
        if (res->rejected < 0 || rejected > r->items) {
            SP_LOG_RL(SP_LOG_WARN, "backend's partial_success count makes no sense; clamped",
                      "exporter=%s signal=%s rejected=%" PRId64 " items=%u", e->ops->name,
                      signal_name(q->signal), res->rejected, r->items);
            rejected = rejected > r->items ? r->items : 0;
        }
        sp->stats.delivered += r->items - rejected;
        sp->stats.delivered_by_signal[q->signal] += r->items - rejected;
        if (rejected > 0) {
            sp->stats.drop_partial_success += rejected;
            SP_LOG_RL(SP_LOG_WARN, "backend rejected part of a batch",
                      "exporter=%s signal=%s rejected=%" PRIu64 " error=\"%.*s\"",
                      e->ops->name, signal_name(q->signal), rejected,
                      (int)(res->detail_len > 200 ? 200 : res->detail_len),
                      res->detail ? res->detail : "");
        }
        q->bytes -= r->body.len;
        req_free(sp, r);
        break;
    }
    case SP_SEND_RETRY: {
        sp->stats.req_failed++;
        sp->stats.req_timed_out += res->timed_out ? 1 : 0;
        uint64_t now = uv_now(sp->loop);
        uint64_t wait = retry_wait_ms(sp, r->ri.attempts, res->retry_after_s);
        if (sp->stopping && sp->abandoning) {
            count_left(sp, r, q->signal);
            q->bytes -= r->body.len;
            req_free(sp, r);
            break;
        }
        if (sp->journal && r->jseq && sp_journal_evicted(sp->journal, r->jseq)) {
            /* Its segment went while it was in flight: it goes too. */
            count_drop(&sp->stats.drop_journal_full, r, q->signal, "journal_full");
            q->bytes -= r->body.len;
            req_free(sp, r);
            break;
        }
        /* With the journal, data waits until delivered or evicted by size. */
        if (!sp->journal && now + wait - r->ri.first_try_ms > sp->cfg.retry_max_elapsed_ms) {
            count_drop(&sp->stats.drop_retries_exhausted, r, q->signal,
                       "retries_exhausted");
            q->bytes -= r->body.len;
            req_free(sp, r);
            break;
        }
        sp->stats.retries++;
        if (res->timed_out) {
            /* The backend may have taken the batch and answered too late:
             * the retry can deliver it twice (README, "Reliability"). */
            SP_LOG_RL(SP_LOG_WARN,
                      "export timed out: the backend answers slower than otlp.timeout; will "
                      "retry with backoff (a duplicate may follow if it took the batch)",
                      "exporter=%s signal=%s timeout_ms=%" PRIu64 " wait_ms=%" PRIu64,
                      e->ops->name, signal_name(q->signal), sp->cfg.otlp_timeout_ms, wait);
        } else {
            SP_LOG_RL(SP_LOG_WARN, "export failed, will retry",
                      "exporter=%s signal=%s status=%ld wait_ms=%" PRIu64 " error=\"%.*s\"",
                      e->ops->name, signal_name(q->signal), res->status, wait,
                      (int)(res->detail_len > 200 ? 200 : res->detail_len),
                      res->detail ? res->detail : "");
        }
        /* Back at the head (order within a signal is kept), for at least
         * 1 ms: never a spin when the send fails synchronously. */
        sp_retryq_retry(&q->rq, &r->ri, wait);
        break;
    }
    case SP_SEND_SPLIT:
        sp->stats.req_failed++;
        if (split_req(e, q, r) != 0) {
            drop_non_retryable(e, q, r, res); /* a single item too large for the backend */
        }
        break;
    default:
        sp->stats.req_failed++;
        drop_non_retryable(e, q, r, res);
    }
    sp->pressure(sp); /* queues changed: flow control decides */
    queue_pump(q);
}

static void drop_queue_full(struct sp_retryq *rq, struct sp_retry_item *it)
{
    struct sp_queue *q = queue_of(rq);
    struct sp_req *old = req_of(it);
    struct spindle *sp = q->e->sp;
    q->bytes -= old->body.len;
    count_drop(&sp->stats.drop_queue_full, old, q->signal, "queue_full");
    req_free(sp, old);
}

static void queue_push(struct spindle *sp, struct sp_queue *q, struct sp_req *r)
{
    /* Input pauses at queue_max_bytes; what is still in flight inside the
     * agent then (open batches, a metrics export) may pass it. The hard bound
     * is twice that, over all the queue's bytes (in flight and being
     * compressed too): past it the oldest waiting request goes, counted. */
    r->q = q;
    r->ri.cost = r->body.len;
    sp_retryq_push(&q->rq, &r->ri, 2 * sp->cfg.queue_max_bytes, q->bytes - q->rq.cost,
                   drop_queue_full);
    q->bytes += r->body.len;
    sp->pressure(sp); /* queues changed: flow control decides */
    queue_pump(q);
}

/* --- compression on the thread pool ----------------------------------------- */

int sp_exporter_no_compress(const struct sp_buf *in, struct sp_buf *out)
{
    (void)in;
    (void)out;
    return -ENOTSUP;
}

static void exporter_free_if_done(struct sp_exporter *e);

static void compress_work(uv_work_t *w)
{
    struct sp_req *r = w->data;
    /* Only the request's own buffers: the loop thread does not touch them
     * until compress_done(). */
    r->zrc = r->q->e->ops->compress(&r->body, &r->zbody);
    /* gzip writes into a buffer of deflateBound() (about the uncompressed
     * size), the queue counts the compressed length: without this, a queued
     * request held several times the bytes it counts (16 MB of 35 MB at the peak of
     * a 16 MiB budget, measured with massif). Shrunk on this thread, in the
     * allocator arena it came from. */
    sp_buf_fit(&r->zbody);
}

static void compress_done(uv_work_t *w, int status);
static void compress_pop(struct spindle *sp, struct sp_queue *q);

/* Starts the next waiting request of the queue's compression list while
 * fewer than SP_MAX_COMPRESS_JOBS of its jobs run. The cap keeps threads of
 * libuv's pool (4) free for the journal's syncs, which acks wait for, and
 * keeps one output buffer per job in memory, not one per queued batch. The
 * list is in seal order and jobs start in that order, so the unstarted ones
 * are a suffix of it. */
static void compress_kick(struct spindle *sp, struct sp_queue *q)
{
    struct sp_req *r = q->zhead;
    while (q->zrunning < SP_MAX_COMPRESS_JOBS) {
        while (r && r->submitted) {
            r = r->next;
        }
        if (r == NULL) {
            return;
        }
        r->submitted = 1;
        int rc = uv_queue_work(sp->loop, &r->work, compress_work, compress_done);
        if (rc != 0) {
            /* Only a broken call fails (libuv checks its arguments); the
             * request is dropped as an encoding failure, in order. */
            r->zrc = rc;
            r->compressed = 1;
            continue;
        }
        q->zrunning++;
        q->e->open_handles++;
    }
    if (q->zhead && q->zhead->compressed) {
        compress_pop(sp, q);
    }
}

/* Requests leave the compression list in seal order, whatever order the
 * pool finishes them in, so a signal's batches are sent in order. */
static void compress_done(uv_work_t *w, int status)
{
    struct sp_req *r = w->data;
    struct sp_queue *q = r->q;
    struct sp_exporter *e = q->e;
    struct spindle *sp = e->sp;
    r->compressed = 1;
    if (status) {
        r->zrc = status;
    }
    e->open_handles--;
    q->zrunning--;
    if (r->orphaned) {
        /* Counted and unlinked by sp_pipe_abandon() or the journal's eviction:
         * only the memory is left. */
        req_free(sp, r);
        if (sp->stopping == 2) {
            exporter_free_if_done(e);
        } else {
            compress_kick(sp, q);
        }
        return;
    }
    compress_pop(sp, q);
    compress_kick(sp, q);
    sp->pressure(sp); /* queues changed: flow control decides */
}

/* Hands the finished head of the compression list to the send queue. */
static void compress_pop(struct spindle *sp, struct sp_queue *q)
{
    struct sp_exporter *e = q->e;
    while (q->zhead && q->zhead->compressed) {
        struct sp_req *x = q->zhead;
        q->zhead = x->next;
        if (q->zhead == NULL) {
            q->ztail = &q->zhead;
        }
        q->compressing--;
        q->bytes -= x->body.len; /* queue_push() counts the compressed size */
        if (x->zrc) {
            SP_LOG_RL(SP_LOG_ERROR, "cannot compress batch", "exporter=%s signal=%s error=%d",
                      e->ops->name, signal_name(q->signal), x->zrc);
            sp->stats.drop_memory_limit += x->items;
            req_free(sp, x);
            continue;
        }
        sp_buf_free(&x->body);
        x->body = x->zbody;
        sp_buf_init(&x->zbody, 0);
        queue_push(sp, q, x);
    }
}

/* Hands an encoded request to the thread pool (now, or when a job of its
 * queue ends); its bytes count in the queue (and the memory budget)
 * meanwhile. */
static void compress_start(struct spindle *sp, struct sp_queue *q, struct sp_req *r)
{
    r->q = q;
    r->next = NULL;
    r->compressed = 0;
    r->submitted = 0;
    sp_buf_init(&r->zbody, SP_MAX_REQUEST_BYTES);
    r->work.data = r;
    *q->ztail = r;
    q->ztail = &r->next;
    q->compressing++;
    q->bytes += r->body.len;
    compress_kick(sp, q);
}

/* Takes `r` out of the compression list's accounting for a drop: freed now
 * unless its job is running, in which case compress_done() frees it (and a
 * job not yet picked up by a thread is cancelled). */
static void compress_drop(struct spindle *sp, struct sp_queue *q, struct sp_req *r)
{
    q->compressing--;
    q->bytes -= r->body.len;
    if (!r->submitted || r->compressed) {
        req_free(sp, r);
    } else {
        r->orphaned = 1;
        uv_cancel((uv_req_t *)&r->work);
    }
}

/* --- batches --------------------------------------------------------------- */

static void seal(struct spindle *sp, int signal)
{
    struct sp_batch *b = sp->open[signal];
    if (b == NULL) {
        return;
    }
    sp->open[signal] = NULL;
    uint64_t *sent = signal == SP_SIG_TRACES ? &sp->stats.exp_spans
                     : signal == SP_SIG_LOGS ? &sp->stats.exp_logs
                                             : &sp->stats.exp_points;
    *sent += b->count;
    for (int i = 0; i < sp->n_exporters; i++) {
        struct sp_exporter *e = sp->exporters[i];
        struct sp_req *r = req_new(sp, b->jseq);
        if (r == NULL) {
            sp->stats.drop_memory_limit += b->count;
            continue;
        }
        sp_buf_init(&r->body, SP_MAX_REQUEST_BYTES);
        r->items = b->count;
        int rc = e->ops->encode(e, b, &r->body);
        if (rc) {
            SP_LOG_RL(SP_LOG_ERROR, "cannot encode batch", "exporter=%s signal=%s error=%d",
                      e->ops->name, signal_name(signal), rc);
            sp->stats.drop_memory_limit += b->count; /* -ENOMEM or the buffer cap */
            req_free(sp, r);
            continue;
        }
        sp_buf_fit(&r->body); /* the doubling's unused tail: up to half of it */
        if (e->compress) {
            compress_start(sp, &e->q[signal], r);
        } else {
            queue_push(sp, &e->q[signal], r);
        }
    }
    sp_batch_free(b);
    free(b);
}

static void batch_timer_cb(uv_timer_t *t);

static void arm_batch_timer(struct spindle *sp)
{
    uint64_t first = UINT64_MAX;
    for (int s = 0; s < SP_SIG_COUNT; s++) {
        if (sp->open[s] && sp->open[s]->opened_ms < first) {
            first = sp->open[s]->opened_ms;
        }
    }
    if (first == UINT64_MAX) {
        uv_timer_stop(&sp->batch_timer);
        return;
    }
    uint64_t now = uv_now(sp->loop);
    uint64_t due = first + sp->cfg.batch_delay_ms;
    uv_timer_start(&sp->batch_timer, batch_timer_cb, due > now ? due - now : 0, 0);
}

static void batch_timer_cb(uv_timer_t *t)
{
    struct spindle *sp = t->data;
    uint64_t now = uv_now(sp->loop);
    for (int s = 0; s < SP_SIG_COUNT; s++) {
        if (sp->open[s] && sp->open[s]->opened_ms + sp->cfg.batch_delay_ms <= now) {
            seal(sp, s);
        }
    }
    arm_batch_timer(sp);
}

struct sp_batch *sp_pipe_batch(struct spindle *sp, int signal)
{
    struct sp_batch *b = sp->open[signal];
    if (b) {
        return b;
    }
    b = malloc(sizeof(*b));
    if (b == NULL) {
        return NULL;
    }
    sp_batch_init(b, signal);
    sp_arena_account(&b->arena, &sp->mem.batches);
    b->opened_ms = uv_now(sp->loop);
    sp->open[signal] = b;
    arm_batch_timer(sp);
    return b;
}

void sp_pipe_commit(struct spindle *sp, int signal, void *item, size_t approx_bytes,
                    uint64_t jseq)
{
    struct sp_batch *b = sp->open[signal];
    sp_jseq_min(&b->jseq, jseq);
    sp_batch_append(b, item, approx_bytes);
    if (b->count >= sp->cfg.batch_max_items || b->bytes >= sp->cfg.batch_max_bytes) {
        seal(sp, signal);
        arm_batch_timer(sp);
    }
}

void sp_pipe_seal(struct spindle *sp, int signal)
{
    seal(sp, signal);
    arm_batch_timer(sp);
}

const struct sp_resource_info *sp_batch_resource(const struct spindle *sp, const struct sp_batch *b)
{
    return b->agent ? &sp->res_agent : &sp->res;
}

void sp_pipe_flush(struct spindle *sp)
{
    for (int s = 0; s < SP_SIG_COUNT; s++) {
        seal(sp, s);
    }
    arm_batch_timer(sp);
}

size_t sp_pipe_pending(const struct spindle *sp)
{
    size_t n = 0;
    for (int i = 0; i < sp->n_exporters; i++) {
        for (int s = 0; s < SP_SIG_COUNT; s++) {
            n += sp->exporters[i]->q[s].rq.waiting + sp->exporters[i]->q[s].inflight +
                 sp->exporters[i]->q[s].compressing;
        }
    }
    return n;
}

struct journal_drop {
    struct sp_queue *q;
    uint64_t seq;
    uint64_t items;
};

/* sp_retryq_remove_if(): takes (and drops) a waiting request derived from a
 * segment up to d->seq. */
static int take_evicted(struct sp_retry_item *it, void *arg)
{
    struct journal_drop *d = arg;
    struct sp_req *r = req_of(it);
    struct spindle *sp = d->q->e->sp;
    if (r->jseq == 0 || r->jseq > d->seq) {
        return 0;
    }
    d->q->bytes -= r->body.len;
    d->items += r->items;
    sp->stats.drop_journal_full += r->items;
    req_free(sp, r);
    return 1;
}

uint64_t sp_pipe_drop_journal(struct spindle *sp, uint64_t seq)
{
    uint64_t items = 0;
    for (int i = 0; i < sp->n_exporters; i++) {
        for (int s = 0; s < SP_SIG_COUNT; s++) {
            struct sp_queue *q = &sp->exporters[i]->q[s];
            struct journal_drop d = {.q = q, .seq = seq};
            sp_retryq_remove_if(&q->rq, take_evicted, &d);
            items += d.items;
            /* Being compressed: dropped alike; a job still running frees
             * its request when it ends (compress_done). */
            struct sp_req **pp;
            for (pp = &q->zhead; *pp;) {
                struct sp_req *r = *pp;
                if (r->jseq == 0 || r->jseq > seq) {
                    pp = &r->next;
                    continue;
                }
                *pp = r->next;
                items += r->items;
                sp->stats.drop_journal_full += r->items;
                compress_drop(sp, q, r);
            }
            q->ztail = &q->zhead;
            while (*q->ztail) {
                q->ztail = &(*q->ztail)->next;
            }
        }
    }
    return items;
}

void sp_pipe_abandon(struct spindle *sp)
{
    for (int i = 0; i < sp->n_exporters; i++) {
        for (int s = 0; s < SP_SIG_COUNT; s++) {
            struct sp_queue *q = &sp->exporters[i]->q[s];
            struct sp_retry_item *it;
            while ((it = sp_retryq_shift(&q->rq)) != NULL) {
                struct sp_req *r = req_of(it);
                q->bytes -= r->body.len;
                count_left(sp, r, s);
                req_free(sp, r);
            }
            /* Being compressed: counted now (the journal still decides how),
             * freed here when done, else by compress_done(). */
            while (q->zhead) {
                struct sp_req *r = q->zhead;
                q->zhead = r->next;
                count_left(sp, r, s);
                compress_drop(sp, q, r);
            }
            q->ztail = &q->zhead;
            uv_timer_stop(&q->rq.timer);
        }
    }
}

int sp_pipe_init(struct spindle *sp)
{
    uv_timer_init(sp->loop, &sp->batch_timer);
    sp->batch_timer.data = sp;
    return 0;
}

/* The last queue timer to close, or compression job to end, frees the
 * exporter (after sp_pipe_close(), which sets `closed`). */
static void exporter_free_if_done(struct sp_exporter *e)
{
    if (e->open_handles == 0 && e->closed) {
        free(e);
    }
}

static void exporter_closed(struct sp_retryq *rq)
{
    struct sp_exporter *e = queue_of(rq)->e;
    e->open_handles--;
    exporter_free_if_done(e);
}

void sp_pipe_close(struct spindle *sp)
{
    for (int s = 0; s < SP_SIG_COUNT; s++) {
        if (sp->open[s]) {
            sp_batch_free(sp->open[s]);
            free(sp->open[s]);
            sp->open[s] = NULL;
        }
    }
    uv_close((uv_handle_t *)&sp->batch_timer, NULL);
    for (int i = 0; i < sp->n_exporters; i++) {
        struct sp_exporter *e = sp->exporters[i];
        e->ops->close(e);
        e->closed = 1;
        for (int s = 0; s < SP_SIG_COUNT; s++) {
            struct sp_queue *q = &e->q[s];
            struct sp_retry_item *it;
            while ((it = sp_retryq_shift(&q->rq)) != NULL) {
                req_free(sp, req_of(it));
            }
            sp_retryq_close(&q->rq, exporter_closed);
        }
    }
    sp->n_exporters = 0;
}

/* Used by agent.c to create an exporter with its queues. */
int sp_exporter_new(struct spindle *sp, const struct sp_exporter_ops *ops)
{
    struct sp_exporter *e = calloc(1, sizeof(*e));
    if (e == NULL) {
        return -ENOMEM;
    }
    e->ops = ops;
    e->sp = sp;
    e->max_inflight = SP_DEF_MAX_INFLIGHT;
    for (int s = 0; s < SP_SIG_COUNT; s++) {
        e->q[s].e = e;
        e->q[s].signal = s;
        e->q[s].ztail = &e->q[s].zhead;
        sp_retryq_init(&e->q[s].rq, sp->loop, queue_wake, &e->q[s]);
        e->open_handles++;
    }
    int rc = ops->init(e);
    if (rc) {
        e->closed = 1;
        for (int s = 0; s < SP_SIG_COUNT; s++) {
            sp_retryq_close(&e->q[s].rq, exporter_closed);
        }
        return rc;
    }
    sp->exporters[sp->n_exporters++] = e;
    return 0;
}
