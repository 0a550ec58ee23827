/*
 * retryq.h - the retry queue that the export pipeline and the alert notifiers
 * share: a bounded FIFO of requests, each with its attempt count and the loop
 * time before which it may not be sent again, one uv timer that wakes the
 * owner when the head's backoff ends, and the one retry policy (exponential
 * backoff, optionally with full jitter, a Retry-After capped at the ceiling
 * and never shorter than the backoff).
 *
 * What it does not do, because the owners differ there: send (the owner pops
 * the due head and sends it), limit what is in flight, decide when to give up
 * (the pipeline by elapsed time or the journal, the notifiers by attempts),
 * count (every drop is handed to the owner's callback, which counts it with
 * its reason and frees the request).
 *
 * Ownership: the owner allocates each request with a struct sp_retry_item
 * inside and frees it; the queue only links the items it holds. An item is
 * either waiting in the queue or taken out (in flight, dropped, finished).
 * The timer is the queue's: sp_retryq_close() closes it, and the queue's
 * memory (usually inside the owner's struct) must live until its callback.
 * Single-threaded: everything runs on the loop's thread.
 */
#ifndef SP_RETRYQ_H
#define SP_RETRYQ_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

struct sp_rng;

struct sp_retry_item {
    struct sp_retry_item *next;
    uint64_t cost;          /* what it counts against the bound: bytes, or 1; set before push */
    uint32_t attempts;      /* sends started (sp_retryq_next counts them) */
    uint64_t first_try_ms;  /* loop time of the first send, 0 before it */
    uint64_t not_before_ms; /* backoff: not sent before this loop time */
};

struct sp_retryq;
typedef void (*sp_retryq_cb)(struct sp_retryq *q);
typedef void (*sp_retryq_drop_cb)(struct sp_retryq *q, struct sp_retry_item *it);

struct sp_retryq {
    struct sp_retry_item *head, **tail;
    size_t waiting;       /* items in the queue */
    uint64_t cost;        /* sum of their costs */
    uv_timer_t timer;     /* wakes the owner when the head's backoff ends */
    sp_retryq_cb wake;    /* the timer fired: the owner sends what is due */
    sp_retryq_cb closed;  /* sp_retryq_close() is through */
    void *owner;          /* for the callbacks */
};

/* The backoff and how a Retry-After bends it. */
struct sp_retry_policy {
    uint64_t initial_ms; /* backoff after the first attempt; doubles after each */
    uint64_t max_ms;     /* ceiling of the backoff, and of a Retry-After */
    int jitter;          /* 1: full jitter, uniform in [0, backoff); 0: the backoff itself */
};

/*
 * The wait before the next attempt of a request sent `attempts` times (1 or
 * more): the backoff min(max, initial * 2^(attempts-1)), drawn uniformly
 * below it with jitter; or the Retry-After (seconds, -1 when absent) when
 * that asks for longer. A Retry-After never shortens the wait ("0", a date in
 * the past, or one that overflowed would retry in a tight loop) and never
 * lengthens it past max_ms (a year-9999 date would stop the queue until a
 * restart): *capped is set to 1 when it asked for more, else 0. `rng` is used
 * only with jitter.
 */
uint64_t sp_retry_wait_ms(const struct sp_retry_policy *p, uint32_t attempts, long retry_after_s,
                          struct sp_rng *rng, int *capped);

/* Inits the queue and its timer on `loop`. wake and closed may be NULL. */
void sp_retryq_init(struct sp_retryq *q, uv_loop_t *loop, sp_retryq_cb wake, void *owner);

/*
 * Appends `it` (with it->cost set; a fresh request: no attempts, no backoff).
 * Bounded: while the waiting items' cost plus `held` (what the owner keeps
 * outside the queue that counts against the same bound, such as requests in
 * flight; 0 for none) plus the new item's cost exceeds `limit`, the oldest
 * waiting item is dropped: unlinked and handed to drop(), which counts and
 * frees it. The new item always goes in. Returns how many were dropped.
 */
size_t sp_retryq_push(struct sp_retryq *q, struct sp_retry_item *it, uint64_t limit, uint64_t held,
                      sp_retryq_drop_cb drop);

/* Puts `it` at the head, ahead of everything waiting, with no bound: a request
 * that must keep its place (the halves of a split one). */
void sp_retryq_push_front(struct sp_retryq *q, struct sp_retry_item *it);

/* A request that failed goes back to the head (order is kept) and waits
 * wait_ms, at least 1 ms: a retry always goes through the timer, so a send
 * that fails synchronously can never spin the loop. */
void sp_retryq_retry(struct sp_retryq *q, struct sp_retry_item *it, uint64_t wait_ms);

/* The head if its backoff has ended: taken out, its attempts counted and its
 * first try stamped. NULL when nothing waits, or when the head must wait,
 * and then the timer is armed to call wake() when it may go. */
struct sp_retry_item *sp_retryq_next(struct sp_retryq *q);

/* The head whether due or not (to drop everything), or NULL. */
struct sp_retry_item *sp_retryq_shift(struct sp_retryq *q);

/* Takes out every waiting item for which take() returns non-zero; take()
 * owns it from then on (it may free it at once). Returns how many. */
size_t sp_retryq_remove_if(struct sp_retryq *q, int (*take)(struct sp_retry_item *it, void *arg),
                           void *arg);

/* Closes the timer; closed() (if set) runs from its close callback. Items
 * still waiting are the owner's to take out first (sp_retryq_shift). */
void sp_retryq_close(struct sp_retryq *q, sp_retryq_cb closed);

#endif
