/*
 * retryq.c - the retry queue shared by the export pipeline and the alert
 * notifiers. See retryq.h.
 *
 * Ownership: the owner's requests embed a struct sp_retry_item; the queue
 * links those waiting and owns only its timer.
 */
#include "retryq.h"

#include "ids.h"

uint64_t sp_retry_wait_ms(const struct sp_retry_policy *p, uint32_t attempts, long retry_after_s,
                          struct sp_rng *rng, int *capped)
{
    /* Doubling stops at the ceiling, so the product cannot overflow. */
    uint64_t cap = p->initial_ms;
    for (uint32_t i = 1; i < attempts && cap < p->max_ms; i++) {
        cap *= 2;
    }
    if (cap > p->max_ms) {
        cap = p->max_ms;
    }
    uint64_t wait = cap;
    if (p->jitter) {
        wait = cap ? sp_rng_next(rng) % cap : 0;
    }
    *capped = 0;
    if (retry_after_s < 0) {
        return wait;
    }
    uint64_t ra;
    /* Compared in seconds first: the product can overflow (2^63 - 1 s). */
    if ((uint64_t)retry_after_s > p->max_ms / 1000u ||
        (uint64_t)retry_after_s * 1000u > p->max_ms) {
        ra = p->max_ms;
        *capped = 1;
    } else {
        ra = (uint64_t)retry_after_s * 1000u;
    }
    return ra > wait ? ra : wait;
}

static void timer_cb(uv_timer_t *t)
{
    struct sp_retryq *q = t->data;
    if (q->wake != NULL) {
        q->wake(q);
    }
}

static void timer_closed(uv_handle_t *h)
{
    struct sp_retryq *q = h->data;
    if (q->closed != NULL) {
        q->closed(q);
    }
}

void sp_retryq_init(struct sp_retryq *q, uv_loop_t *loop, sp_retryq_cb wake, void *owner)
{
    q->head = NULL;
    q->tail = &q->head;
    q->waiting = 0;
    q->cost = 0;
    q->wake = wake;
    q->closed = NULL;
    q->owner = owner;
    uv_timer_init(loop, &q->timer);
    q->timer.data = q;
}

static struct sp_retry_item *unlink_head(struct sp_retryq *q)
{
    struct sp_retry_item *it = q->head;
    if (it == NULL) {
        return NULL;
    }
    q->head = it->next;
    if (q->head == NULL) {
        q->tail = &q->head;
    }
    it->next = NULL;
    q->waiting--;
    q->cost -= it->cost;
    return it;
}

static void link_head(struct sp_retryq *q, struct sp_retry_item *it)
{
    it->next = q->head;
    q->head = it;
    if (q->tail == &q->head) {
        q->tail = &it->next;
    }
    q->waiting++;
    q->cost += it->cost;
}

size_t sp_retryq_push(struct sp_retryq *q, struct sp_retry_item *it, uint64_t limit, uint64_t held,
                      sp_retryq_drop_cb drop)
{
    size_t dropped = 0;
    /* Full: the oldest goes, not the new one. For both owners the newest
     * request is worth the most (fresher data, later endsAt values). */
    while (q->head != NULL && q->cost + held + it->cost > limit) {
        drop(q, unlink_head(q));
        dropped++;
    }
    it->next = NULL;
    it->attempts = 0;
    it->first_try_ms = 0;
    it->not_before_ms = 0;
    *q->tail = it;
    q->tail = &it->next;
    q->waiting++;
    q->cost += it->cost;
    return dropped;
}

void sp_retryq_push_front(struct sp_retryq *q, struct sp_retry_item *it)
{
    it->attempts = 0;
    it->first_try_ms = 0;
    it->not_before_ms = 0;
    link_head(q, it);
}

void sp_retryq_retry(struct sp_retryq *q, struct sp_retry_item *it, uint64_t wait_ms)
{
    it->not_before_ms = uv_now(q->timer.loop) + (wait_ms ? wait_ms : 1);
    link_head(q, it);
}

struct sp_retry_item *sp_retryq_next(struct sp_retryq *q)
{
    struct sp_retry_item *it = q->head;
    if (it == NULL) {
        return NULL;
    }
    uint64_t now = uv_now(q->timer.loop);
    if (it->not_before_ms > now) {
        uv_timer_start(&q->timer, timer_cb, it->not_before_ms - now, 0);
        return NULL;
    }
    unlink_head(q);
    if (it->first_try_ms == 0) {
        it->first_try_ms = now;
    }
    it->attempts++;
    return it;
}

struct sp_retry_item *sp_retryq_shift(struct sp_retryq *q)
{
    return unlink_head(q);
}

size_t sp_retryq_remove_if(struct sp_retryq *q, int (*take)(struct sp_retry_item *it, void *arg),
                           void *arg)
{
    size_t n = 0;
    struct sp_retry_item **pp = &q->head;
    while (*pp != NULL) {
        struct sp_retry_item *it = *pp;
        struct sp_retry_item *next = it->next;
        uint64_t cost = it->cost;
        /* take() may free it: nothing of it is read afterwards. */
        if (!take(it, arg)) {
            pp = &it->next;
            continue;
        }
        *pp = next;
        q->waiting--;
        q->cost -= cost;
        n++;
    }
    q->tail = pp;
    return n;
}

void sp_retryq_close(struct sp_retryq *q, sp_retryq_cb closed)
{
    q->closed = closed;
    uv_close((uv_handle_t *)&q->timer, timer_closed);
}
