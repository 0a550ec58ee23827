/*
 * test_retryq.c - the retry queue the export pipeline and the notifiers share
 * (net/retryq.c): backoff bounds, the full-jitter range, Retry-After capped at
 * the ceiling and floored at the backoff, the bound with its drops counted,
 * order, and the timer that ends a backoff (on a real libuv loop).
 */
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <uv.h>

#include "harness.h"
#include "ids.h"
#include "retryq.h"

/* --- policy -------------------------------------------------------------------- */

static uint64_t wait_of(const struct sp_retry_policy *p, uint32_t attempts, long ra, int *capped)
{
    struct sp_rng rng;
    sp_rng_seed(&rng);
    return sp_retry_wait_ms(p, attempts, ra, &rng, capped);
}

static void test_backoff_bounds(void)
{
    /* The notifiers' documented sequence: 250 ms doubling, at most 8 s. */
    const struct sp_retry_policy p = {.initial_ms = 250, .max_ms = 8000, .jitter = 0};
    const uint64_t want[] = {250, 250, 500, 1000, 2000, 4000, 8000, 8000, 8000};
    int capped = -1;
    for (uint32_t a = 0; a < sizeof(want) / sizeof(want[0]); a++) {
        CHECK_EQ_INT(wait_of(&p, a, -1, &capped), want[a]);
        CHECK_EQ_INT(capped, 0);
    }
    /* Many attempts: still the ceiling (doubling stops there, no overflow). */
    CHECK_EQ_INT(wait_of(&p, UINT32_MAX, -1, &capped), 8000);
    /* A ceiling that is not a doubling of the start. */
    const struct sp_retry_policy q = {.initial_ms = 1000, .max_ms = 3000, .jitter = 0};
    CHECK_EQ_INT(wait_of(&q, 2, -1, &capped), 2000);
    CHECK_EQ_INT(wait_of(&q, 3, -1, &capped), 3000);
    /* The initial wait above the ceiling is cut to it. */
    const struct sp_retry_policy r = {.initial_ms = 5000, .max_ms = 3000, .jitter = 0};
    CHECK_EQ_INT(wait_of(&r, 1, -1, &capped), 3000);
}

static void test_jitter_range(void)
{
    /* Full jitter: uniform in [0, backoff). 4000 draws per attempt: every one
     * below the backoff, and they cover it (both ends and the middle). */
    const struct sp_retry_policy p = {.initial_ms = 100, .max_ms = 1000, .jitter = 1};
    struct sp_rng rng;
    sp_rng_seed(&rng);
    const uint64_t caps[] = {100, 200, 400, 800, 1000, 1000};
    for (uint32_t a = 1; a <= 6; a++) {
        uint64_t cap = caps[a - 1], lo = UINT64_MAX, hi = 0, sum = 0;
        int capped = -1, outside = 0;
        const int n = 4000;
        for (int i = 0; i < n; i++) {
            uint64_t w = sp_retry_wait_ms(&p, a, -1, &rng, &capped);
            outside += w >= cap;
            lo = w < lo ? w : lo;
            hi = w > hi ? w : hi;
            sum += w;
        }
        CHECK_EQ_INT(outside, 0);
        CHECK_EQ_INT(capped, 0);
        CHECK(lo <= cap / 20);         /* reaches down near 0 */
        CHECK(hi >= cap - cap / 20);   /* and up near the backoff */
        double mean = (double)sum / n; /* uniform: about half the backoff */
        CHECK(mean > 0.45 * (double)cap && mean < 0.55 * (double)cap);
    }
    /* A zero backoff jitters to 0, not a division by zero. */
    const struct sp_retry_policy z = {.initial_ms = 0, .max_ms = 0, .jitter = 1};
    int capped;
    CHECK_EQ_INT(sp_retry_wait_ms(&z, 3, -1, &rng, &capped), 0);
}

static void test_retry_after(void)
{
    const struct sp_retry_policy p = {.initial_ms = 1000, .max_ms = 30000, .jitter = 0};
    int capped = -1;
    /* Absent: the backoff. */
    CHECK_EQ_INT(wait_of(&p, 3, -1, &capped), 4000);
    CHECK_EQ_INT(capped, 0);
    /* Floored at the backoff: "0" (or a date in the past) and anything
     * shorter never shorten the wait. */
    CHECK_EQ_INT(wait_of(&p, 3, 0, &capped), 4000);
    CHECK_EQ_INT(capped, 0);
    CHECK_EQ_INT(wait_of(&p, 3, 2, &capped), 4000);
    CHECK_EQ_INT(capped, 0);
    /* Longer than the backoff, within the ceiling: as asked. */
    CHECK_EQ_INT(wait_of(&p, 3, 7, &capped), 7000);
    CHECK_EQ_INT(capped, 0);
    CHECK_EQ_INT(wait_of(&p, 1, 30, &capped), 30000);
    CHECK_EQ_INT(capped, 0);
    /* Past the ceiling: the ceiling, and said so. */
    CHECK_EQ_INT(wait_of(&p, 1, 31, &capped), 30000);
    CHECK_EQ_INT(capped, 1);
    /* A year-9999 date or an overflowing value: the ceiling, not a wrap. */
    CHECK_EQ_INT(wait_of(&p, 1, LONG_MAX, &capped), 30000);
    CHECK_EQ_INT(capped, 1);
    /* Its product in ms wraps to 384 in 64 bits: compared in seconds first. */
    CHECK_EQ_INT(wait_of(&p, 1, (long)(UINT64_MAX / 1000u + 1), &capped), 30000);
    CHECK_EQ_INT(capped, 1);
    /* A sub-second ceiling: any Retry-After of a second or more is capped. */
    const struct sp_retry_policy s = {.initial_ms = 200, .max_ms = 300, .jitter = 0};
    CHECK_EQ_INT(wait_of(&s, 1, 1, &capped), 300);
    CHECK_EQ_INT(capped, 1);
    CHECK_EQ_INT(wait_of(&s, 1, 0, &capped), 200);
    CHECK_EQ_INT(capped, 0);
    /* With jitter the Retry-After is still the floor: never below it. */
    const struct sp_retry_policy j = {.initial_ms = 1000, .max_ms = 30000, .jitter = 1};
    struct sp_rng rng;
    sp_rng_seed(&rng);
    int below = 0;
    for (int i = 0; i < 1000; i++) {
        below += sp_retry_wait_ms(&j, 1, 2, &rng, &capped) != 2000; /* jitter < 1000 */
    }
    CHECK_EQ_INT(below, 0);
}

/* --- the queue ----------------------------------------------------------------- */

struct item {
    struct sp_retry_item ri; /* first: the queue hands back this pointer */
    int id;
    int freed;
};

struct owner {
    int dropped_ids[16];
    int n_dropped;
    int wakes;
    int closed;
    uint64_t woke_at;
    uv_loop_t *loop;
};

static void on_drop(struct sp_retryq *q, struct sp_retry_item *it)
{
    struct owner *o = q->owner;
    struct item *x = (struct item *)it;
    x->freed = 1;
    o->dropped_ids[o->n_dropped++] = x->id;
}

static void on_wake(struct sp_retryq *q)
{
    struct owner *o = q->owner;
    o->wakes++;
    o->woke_at = uv_now(o->loop);
}

static void on_closed(struct sp_retryq *q)
{
    struct owner *o = q->owner;
    o->closed++;
}

static int order_is(struct sp_retryq *q, const int *ids, size_t n)
{
    size_t i = 0;
    for (struct sp_retry_item *it = q->head; it; it = it->next, i++) {
        if (i >= n || ((struct item *)it)->id != ids[i]) {
            return 0;
        }
    }
    return i == n && q->waiting == n;
}

static void test_bound(void)
{
    uv_loop_t loop;
    uv_loop_init(&loop);
    struct owner o = {.loop = &loop};
    struct sp_retryq q;
    sp_retryq_init(&q, &loop, on_wake, &o);
    struct item it[8];
    memset(it, 0, sizeof(it));

    /* Counted requests (the notifiers): at most 3 wait; the oldest go, each
     * handed to the drop callback once, and the newest always goes in. */
    size_t dropped = 0;
    for (int i = 0; i < 5; i++) {
        it[i].id = i;
        it[i].ri.cost = 1;
        dropped += sp_retryq_push(&q, &it[i].ri, 3, 0, on_drop);
    }
    CHECK_EQ_INT(dropped, 2);
    CHECK_EQ_INT(o.n_dropped, 2);
    CHECK_EQ_INT(o.dropped_ids[0], 0);
    CHECK_EQ_INT(o.dropped_ids[1], 1);
    CHECK(it[0].freed && it[1].freed && !it[2].freed);
    CHECK(order_is(&q, (const int[]){2, 3, 4}, 3));
    CHECK_EQ_INT(q.cost, 3);
    /* Taken out (in flight): no longer counted, so one more fits. */
    struct sp_retry_item *x = sp_retryq_next(&q);
    CHECK(x == &it[2].ri);
    CHECK_EQ_INT(x->attempts, 1);
    it[5].id = 5;
    it[5].ri.cost = 1;
    CHECK_EQ_INT(sp_retryq_push(&q, &it[5].ri, 3, 0, on_drop), 0);
    CHECK(order_is(&q, (const int[]){3, 4, 5}, 3));
    while (sp_retryq_shift(&q)) {
    }
    CHECK_EQ_INT(q.waiting, 0);
    CHECK_EQ_INT(q.cost, 0);

    /* Bytes with some held outside (the pipeline's requests in flight): the
     * bound covers both, and only waiting requests are dropped. */
    o.n_dropped = 0;
    it[0] = (struct item){.id = 10, .ri.cost = 30};
    it[1] = (struct item){.id = 11, .ri.cost = 30};
    it[2] = (struct item){.id = 12, .ri.cost = 200};
    CHECK_EQ_INT(sp_retryq_push(&q, &it[0].ri, 100, 60, on_drop), 0); /* 30 + 60 fits */
    CHECK_EQ_INT(sp_retryq_push(&q, &it[1].ri, 100, 60, on_drop), 1); /* 120: 10 goes */
    CHECK_EQ_INT(o.dropped_ids[0], 10);
    CHECK(order_is(&q, (const int[]){11}, 1));
    /* Larger than the bound alone: everything waiting goes, it stays. */
    CHECK_EQ_INT(sp_retryq_push(&q, &it[2].ri, 100, 0, on_drop), 1);
    CHECK(order_is(&q, (const int[]){12}, 1));
    CHECK_EQ_INT(q.cost, 200);
    sp_retryq_shift(&q);

    sp_retryq_close(&q, on_closed);
    uv_run(&loop, UV_RUN_DEFAULT);
    CHECK_EQ_INT(o.closed, 1);
    CHECK_EQ_INT(uv_loop_close(&loop), 0);
}

static int take_even(struct sp_retry_item *it, void *arg)
{
    int *n = arg;
    if (((struct item *)it)->id % 2 == 0) {
        ++*n;
        return 1;
    }
    return 0;
}

static void test_order_and_timer(void)
{
    uv_loop_t loop;
    uv_loop_init(&loop);
    struct owner o = {.loop = &loop};
    struct sp_retryq q;
    sp_retryq_init(&q, &loop, on_wake, &o);
    struct item it[8];
    memset(it, 0, sizeof(it));
    for (int i = 0; i < 4; i++) {
        it[i].id = i;
        it[i].ri.cost = 1;
        sp_retryq_push(&q, &it[i].ri, 100, 0, on_drop);
    }
    /* A failed request goes back to the head and waits out its backoff:
     * nothing behind it overtakes it. */
    struct sp_retry_item *x = sp_retryq_next(&q);
    CHECK(x == &it[0].ri);
    uint64_t t0 = uv_now(&loop);
    CHECK_EQ_INT(x->first_try_ms, t0);
    sp_retryq_retry(&q, x, 50);
    CHECK(order_is(&q, (const int[]){0, 1, 2, 3}, 4));
    CHECK(sp_retryq_next(&q) == NULL); /* not due: the timer is armed */
    CHECK(uv_is_active((uv_handle_t *)&q.timer));
    uv_run(&loop, UV_RUN_ONCE);
    CHECK_EQ_INT(o.wakes, 1);
    CHECK(o.woke_at >= t0 + 50);
    x = sp_retryq_next(&q);
    CHECK(x == &it[0].ri);
    CHECK_EQ_INT(x->attempts, 2);
    CHECK_EQ_INT(x->first_try_ms, t0); /* the first try is kept */
    /* A zero wait is 1 ms: a synchronous failure cannot spin. */
    sp_retryq_retry(&q, x, 0);
    CHECK(sp_retryq_next(&q) == NULL);
    uv_run(&loop, UV_RUN_ONCE);
    CHECK_EQ_INT(o.wakes, 2);
    CHECK(sp_retryq_next(&q) == &it[0].ri);

    /* Split halves go first, in order, with a fresh budget. */
    it[4] = (struct item){.id = 4, .ri = {.cost = 1, .attempts = 7, .not_before_ms = 1}};
    it[5] = (struct item){.id = 5, .ri.cost = 1};
    sp_retryq_push_front(&q, &it[5].ri);
    sp_retryq_push_front(&q, &it[4].ri);
    CHECK(order_is(&q, (const int[]){4, 5, 1, 2, 3}, 5));
    CHECK_EQ_INT(it[4].ri.attempts, 0);
    CHECK_EQ_INT(it[4].ri.not_before_ms, 0);

    /* Taken out by a predicate (journal eviction); the tail stays right. */
    int n = 0;
    CHECK_EQ_INT(sp_retryq_remove_if(&q, take_even, &n), 2);
    CHECK_EQ_INT(n, 2);
    CHECK(order_is(&q, (const int[]){5, 1, 3}, 3));
    CHECK_EQ_INT(q.cost, 3);
    it[6] = (struct item){.id = 6, .ri.cost = 1};
    sp_retryq_push(&q, &it[6].ri, 100, 0, on_drop);
    CHECK(order_is(&q, (const int[]){5, 1, 3, 6}, 4));
    CHECK_EQ_INT(sp_retryq_remove_if(&q, take_even, &n), 1); /* the last one */
    it[7] = (struct item){.id = 7, .ri.cost = 1};
    sp_retryq_push(&q, &it[7].ri, 100, 0, on_drop);
    CHECK(order_is(&q, (const int[]){5, 1, 3, 7}, 4));
    while (sp_retryq_shift(&q)) {
    }
    CHECK(sp_retryq_next(&q) == NULL);
    CHECK_EQ_INT(o.n_dropped, 0);

    sp_retryq_close(&q, on_closed);
    uv_run(&loop, UV_RUN_DEFAULT);
    CHECK_EQ_INT(o.closed, 1);
    CHECK_EQ_INT(uv_loop_close(&loop), 0);
}

int main(void)
{
    test_backoff_bounds();
    test_jitter_range();
    test_retry_after();
    test_bound();
    test_order_and_timer();
    return th_report("test_retryq");
}
