/*
 * alert.c - the alert engine: series per rule and scope key, sliding windows
 * in ring buffers, evaluation on a timer, firing state, and the alerts handed
 * to the notifiers (docs/internals/alerting.md).
 *
 * Hot path: alert_observe() is called per lifecycle event (from the
 * correlator's derived metrics) and per dlq.depth point. It finds the rules
 * of the signal through a per-signal index, hashes the scope key once per
 * rule and adds to one bucket: O(rules of that signal), no allocation except
 * for a new series. Everything else happens on the evaluation timer.
 *
 * Ownership: the engine owns its rule states and their series; a series is
 * in its rule's hash map and LRU list (least recently fed at the head) until
 * it expires or is evicted at the per-rule cap (counted series_evicted).
 */
#include "alert.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent.h"
#include "caps.h"
#include "hmap.h"
#include "log.h"
#include "notify.h"

enum { ST_INACTIVE = 0, ST_PENDING, ST_FIRING };

/* One slice of a window: bucket i covers loop times [epoch*width, (epoch+1)*width). */
struct bucket {
    uint64_t epoch;
    double num, den;
    double first, last; /* gauges: first and last value seen in the slice */
    uint8_t has_gauge;
};

struct sample {
    uint64_t t_ms;
    double v;
};

/* A string the series keeps of the last contribution (bounded, own memory). */
struct kstr {
    char *p;
    uint16_t len, cap;
};

struct series {
    struct sp_hnode hn;
    struct series *prev, *next;       /* LRU of its rule, by last observation */
    struct kstr key;                  /* function, queue or correlation id; "" for the agent */
    struct kstr function, queue, cid; /* last contributing workflow (the exemplar) */
    struct kstr workflow;             /* workflow rules: its name, once known */
    /* Workflow rules. The record that raises an alert (the contribution with
     * which the condition became true) gives its labels (function, queue) and
     * its start (that record's receive time): every agent that sees the record
     * sends the same alert, and a replay of it re-sends that alert unchanged.
     * raise_*: latched for the next firing, until it fires (raise_ns 0: none);
     * lab_*: of the alert firing now. */
    struct kstr raise_function, raise_queue;
    struct kstr lab_function, lab_queue;
    uint64_t raise_ns;
    uint8_t raise_replayed, replayed;
    uint8_t trace_id[16];
    uint8_t has_trace;
    uint64_t last_obs_ms;
    double total;     /* workflow rules: over the workflow's life */
    struct bucket *b; /* window rules: SP_ALERT_BUCKETS */
    struct sample *s; /* p95 rules: SP_ALERT_SAMPLES, a ring */
    uint32_t s_head, s_n;
    /* state */
    uint8_t state;
    uint32_t hist; /* last evaluations, newest in bit 0 */
    uint64_t pending_ms, cleared_ms, sent_ms;
    uint64_t starts_ns;
    double value, sent_value;
};

struct rs {
    const struct alert_rule *rule; /* in sp->cfg; re-bound by alert_reload() */
    /* identity, to keep state across a reload */
    char *name;
    int signal, den, scope, cond;
    uint64_t window_ms;
    struct sp_hmap map;
    struct series *head, *tail;
    size_t n;
};

struct role {
    uint16_t rule;
    uint8_t den; /* this signal is the rule's denominator */
};

struct alert_engine {
    struct spindle *sp;
    struct rs *rs;
    size_t n_rs;
    struct role by_signal[ALERT_SIG_COUNT][SP_ALERT_MAX_RULES * 2];
    uint32_t n_by_signal[ALERT_SIG_COUNT];
    uv_timer_t timer;
    uint64_t timer_ms;
    uint64_t prev_ok, prev_failed;
    struct notify *notify;
    uint64_t (*clock)(void *arg); /* tests only; NULL: the loop's time */
    void *clock_arg;
};

static uint64_t now_ms_of(const struct alert_engine *e)
{
    return e->clock ? e->clock(e->clock_arg) : uv_now(e->sp->loop);
}

void alert_set_clock(struct alert_engine *e, uint64_t (*now_ms)(void *arg), void *arg)
{
    e->clock = now_ms;
    e->clock_arg = arg;
}

/* --- series ------------------------------------------------------------------ */

static int kstr_set(struct kstr *k, struct sp_str s)
{
    size_t n = s.len;
    if (n > SP_ALERT_MAX_KEY_BYTES) {
        /* Cut on a character boundary: the text goes into JSON labels. */
        n = SP_ALERT_MAX_KEY_BYTES;
        while (n && ((unsigned char)s.p[n] & 0xC0) == 0x80) {
            n--;
        }
    }
    if (k->p && k->len == n && memcmp(k->p, s.p, n) == 0) {
        return 0;
    }
    if (k->cap < n + 1) {
        char *np = realloc(k->p, n + 1);
        if (np == NULL) {
            return -ENOMEM;
        }
        k->p = np;
        k->cap = (uint16_t)(n + 1);
    }
    if (n) {
        memcpy(k->p, s.p, n);
    }
    k->p[n] = 0;
    k->len = (uint16_t)n;
    return 0;
}

static struct sp_str kstr_str(const struct kstr *k)
{
    return (struct sp_str){k->p ? k->p : "", k->len};
}

static void series_free(struct series *s)
{
    free(s->key.p);
    free(s->function.p);
    free(s->queue.p);
    free(s->cid.p);
    free(s->workflow.p);
    free(s->raise_function.p);
    free(s->raise_queue.p);
    free(s->lab_function.p);
    free(s->lab_queue.p);
    free(s->b);
    free(s->s);
    free(s);
}

static void lru_unlink(struct rs *r, struct series *s)
{
    if (s->prev) {
        s->prev->next = s->next;
    } else {
        r->head = s->next;
    }
    if (s->next) {
        s->next->prev = s->prev;
    } else {
        r->tail = s->prev;
    }
    s->prev = s->next = NULL;
}

static void lru_push(struct rs *r, struct series *s)
{
    s->prev = r->tail;
    s->next = NULL;
    if (r->tail) {
        r->tail->next = s;
    } else {
        r->head = s;
    }
    r->tail = s;
}

static void series_drop(struct alert_engine *e, struct rs *r, struct series *s)
{
    if (s->state == ST_FIRING) {
        e->sp->stats.alerts_firing--;
    }
    sp_hmap_remove(&r->map, &s->hn);
    lru_unlink(r, s);
    r->n--;
    e->sp->stats.alert_series--;
    series_free(s);
}

static uint64_t key_hash(struct sp_str k)
{
    return sp_hash(k.p, k.len, 0x616c657274ull);
}

static struct series *series_get(struct alert_engine *e, struct rs *r, struct sp_str key,
                                 uint64_t now_ms)
{
    if (key.len > SP_ALERT_MAX_KEY_BYTES) {
        /* Longer keys share a series with their first SP_ALERT_MAX_KEY_BYTES
         * (correlation ids are at most 256 bytes by the protocol anyway). */
        key.len = SP_ALERT_MAX_KEY_BYTES;
        while (key.len && ((unsigned char)key.p[key.len] & 0xC0) == 0x80) {
            key.len--;
        }
    }
    uint64_t h = key_hash(key);
    for (struct sp_hnode *n = sp_hmap_bucket(&r->map, h); n; n = n->next) {
        struct series *s = (struct series *)n;
        if (n->hash == h && s->key.len == key.len && memcmp(s->key.p, key.p, key.len) == 0) {
            if (s != r->tail) {
                lru_unlink(r, s);
                lru_push(r, s);
            }
            return s;
        }
    }
    if (r->n >= e->sp->cfg.alert_max_series && r->head) {
        /* The least recently fed series goes: a burst of new functions or
         * workflows cannot grow the engine without bound. */
        series_drop(e, r, r->head);
        e->sp->stats.alert_series_evicted++;
    }
    struct series *s = calloc(1, sizeof(*s));
    if (s == NULL || kstr_set(&s->key, key)) {
        free(s);
        return NULL;
    }
    if (r->scope != ALERT_SCOPE_WORKFLOW) {
        s->b = calloc(SP_ALERT_BUCKETS, sizeof(*s->b));
        if (s->b == NULL) {
            series_free(s);
            return NULL;
        }
        for (uint32_t i = 0; i < SP_ALERT_BUCKETS; i++) {
            s->b[i].epoch = UINT64_MAX;
        }
    }
    if (r->cond == ALERT_COND_P95) {
        s->s = calloc(SP_ALERT_SAMPLES, sizeof(*s->s));
        if (s->s == NULL) {
            series_free(s);
            return NULL;
        }
    }
    s->hn.hash = h;
    s->last_obs_ms = now_ms;
    sp_hmap_insert(&r->map, &s->hn);
    lru_push(r, s);
    r->n++;
    e->sp->stats.alert_series++;
    return s;
}

static uint64_t bucket_width(const struct rs *r)
{
    uint64_t w = r->window_ms / SP_ALERT_BUCKETS;
    return w ? w : 1;
}

/* Signals whose value is a measurement (a duration, a depth): the count of
 * observations is what `count`/`any` see; the values feed p95 and increase. */
static int is_value_signal(int sig)
{
    return sig == ALERT_SIG_DURATION || sig == ALERT_SIG_INIT_DURATION ||
           sig == ALERT_SIG_DLQ_DEPTH;
}

static void feed(struct rs *r, struct series *s, const struct alert_obs *o, int den,
                 uint64_t now_ms)
{
    if (r->scope == ALERT_SCOPE_WORKFLOW) {
        if (!den) {
            s->total += is_value_signal(o->signal) ? 1 : o->value;
        }
        return;
    }
    uint64_t w = bucket_width(r);
    uint64_t epoch = now_ms / w;
    struct bucket *b = &s->b[epoch % SP_ALERT_BUCKETS];
    if (b->epoch != epoch) {
        if (b->epoch != UINT64_MAX && b->epoch > epoch) {
            return; /* a replayed record older than the slot's data: out of the window */
        }
        memset(b, 0, sizeof(*b));
        b->epoch = epoch;
    }
    if (den) {
        b->den += o->value;
        return;
    }
    b->num += is_value_signal(o->signal) ? 1 : o->value;
    if (!b->has_gauge) {
        b->first = o->value;
        b->has_gauge = 1;
    }
    b->last = o->value;
    if (s->s) {
        s->s[s->s_head] = (struct sample){now_ms, o->value};
        s->s_head = (s->s_head + 1) % SP_ALERT_SAMPLES;
        if (s->s_n < SP_ALERT_SAMPLES) {
            s->s_n++;
        }
    }
}

/* Workflow rules: latches the record that makes the condition true as the
 * raiser of the next alert, unless one is latched already or the alert
 * firing now still runs at the record's time (then the record grows it). */
static void raise_latch(struct alert_engine *e, const struct rs *r, struct series *s,
                        const struct alert_obs *o, uint64_t rx_ns)
{
    const struct alert_rule *rule = r->rule;
    int cond = rule->cond == ALERT_COND_ANY ? s->total > 0 : s->total >= rule->threshold;
    if (!cond || s->raise_ns) {
        return;
    }
    if (s->state == ST_FIRING &&
        rx_ns < s->starts_ns + e->sp->cfg.alert_event_hold_ms * 1000000ull) {
        return;
    }
    kstr_set(&s->raise_function, o->function);
    kstr_set(&s->raise_queue, o->queue);
    s->raise_ns = rx_ns;
    s->raise_replayed = o->replay_ns != 0;
}

void alert_observe(struct alert_engine *e, const struct alert_obs *o)
{
    if (e == NULL || o->signal < 0 || o->signal >= ALERT_SIG_COUNT) {
        return;
    }
    uint32_t n = e->n_by_signal[o->signal];
    if (n == 0) {
        return;
    }
    uint64_t now_ms = now_ms_of(e);
    /* A record replayed from the journal happened `age_ms` ago: it is filed
     * at that age, so a backlog replayed at start-up is not one burst "now"
     * (a false FunctionThrottled) and an old dead letter is not a new
     * incident. What had left a window, or lapsed as an event, is skipped. */
    uint64_t age_ms = 0;
    if (o->replay_ns) {
        uint64_t now_ns = sp_now_ns();
        age_ms = now_ns > o->replay_ns ? (now_ns - o->replay_ns) / 1000000u : 0;
    }
    for (uint32_t i = 0; i < n; i++) {
        struct role ro = e->by_signal[o->signal][i];
        struct rs *r = &e->rs[ro.rule];
        if (age_ms) {
            uint64_t span =
                r->scope == ALERT_SCOPE_WORKFLOW ? e->sp->cfg.alert_event_hold_ms : r->window_ms;
            if (age_ms >= span || age_ms > now_ms) {
                continue;
            }
        }
        struct sp_str key;
        switch (r->scope) {
        case ALERT_SCOPE_WORKFLOW:
            key = o->cid;
            break;
        case ALERT_SCOPE_FUNCTION:
            key = o->function;
            break;
        case ALERT_SCOPE_QUEUE:
            key = o->queue;
            break;
        default:
            key = (struct sp_str){"", 0};
            break;
        }
        if (key.len == 0 && r->scope != ALERT_SCOPE_AGENT) {
            continue; /* the record does not name what this rule is about */
        }
        struct series *s = series_get(e, r, key, now_ms);
        if (s == NULL) {
            continue;
        }
        s->last_obs_ms = now_ms;
        if (!ro.den) {
            /* The most recent contributor is the alert's exemplar. */
            if (o->function.len) {
                kstr_set(&s->function, o->function);
            }
            if (o->queue.len) {
                kstr_set(&s->queue, o->queue);
            }
            if (o->cid.len) {
                kstr_set(&s->cid, o->cid);
            }
            if (o->trace_id) {
                memcpy(s->trace_id, o->trace_id, 16);
                s->has_trace = 1;
            }
        }
        feed(r, s, o, ro.den, now_ms - age_ms);
        if (r->scope == ALERT_SCOPE_WORKFLOW && !ro.den) {
            if (o->workflow.len) {
                kstr_set(&s->workflow, o->workflow);
            }
            /* The receive time: the journal's for a replayed record, the
             * socket's for a live one, so both give the same startsAt. */
            uint64_t rx_ns = o->replay_ns ? o->replay_ns : o->recv_ns ? o->recv_ns : sp_now_ns();
            raise_latch(e, r, s, o, rx_ns);
        }
    }
}

/* --- evaluation ---------------------------------------------------------------- */

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* The rule's condition on the series now; `*value` is what {{value}} shows. */
static int condition(const struct rs *r, const struct alert_rule *rule, struct series *s,
                     uint64_t now_ms, double *value)
{
    if (r->scope == ALERT_SCOPE_WORKFLOW) {
        *value = s->total;
        return r->cond == ALERT_COND_ANY ? s->total > 0 : s->total >= rule->threshold;
    }
    uint64_t w = bucket_width(r);
    uint64_t now_epoch = now_ms / w;
    double num = 0, den = 0, first = 0, last = 0;
    uint64_t first_epoch = UINT64_MAX, last_epoch = 0;
    int gauge = 0;
    for (uint32_t i = 0; i < SP_ALERT_BUCKETS; i++) {
        const struct bucket *b = &s->b[i];
        if (b->epoch == UINT64_MAX || b->epoch > now_epoch ||
            now_epoch - b->epoch >= SP_ALERT_BUCKETS) {
            continue;
        }
        num += b->num;
        den += b->den;
        if (b->has_gauge) {
            if (!gauge || b->epoch < first_epoch) {
                first_epoch = b->epoch;
                first = b->first;
            }
            if (!gauge || b->epoch >= last_epoch) {
                last_epoch = b->epoch;
                last = b->last;
            }
            gauge = 1;
        }
    }
    switch (r->cond) {
    case ALERT_COND_COUNT:
        *value = num;
        return num >= rule->threshold;
    case ALERT_COND_ANY:
        *value = num;
        return num > 0;
    case ALERT_COND_RATIO: {
        double min = rule->min_denominator > 0 ? rule->min_denominator : 1e-300;
        *value = den > 0 ? num / den : 0;
        return den >= min && num / den > rule->threshold;
    }
    case ALERT_COND_INCREASE:
        *value = gauge ? last - first : 0;
        return gauge && last - first >= rule->threshold;
    case ALERT_COND_P95: {
        double v[SP_ALERT_SAMPLES];
        uint32_t n = 0;
        for (uint32_t i = 0; i < s->s_n; i++) {
            if (now_ms - s->s[i].t_ms < r->window_ms) {
                v[n++] = s->s[i].v;
            }
        }
        uint64_t min = rule->min_samples ? rule->min_samples : 1;
        if (n == 0) {
            *value = 0;
            return 0;
        }
        qsort(v, n, sizeof(v[0]), cmp_double);
        /* Nearest rank: the smallest value with at least 95% at or below it. */
        uint32_t rank = (uint32_t)ceil(0.95 * n);
        *value = v[rank ? rank - 1 : 0];
        return n >= min && *value > rule->threshold;
    }
    default:
        return 0;
    }
}

static uint32_t hyst_mask(const struct alert_rule *rule)
{
    return rule->hyst_n >= 32 ? UINT32_MAX : (1u << (rule->hyst_n ? rule->hyst_n : 1)) - 1u;
}

static int hysteresis(const struct alert_rule *rule, struct series *s, int raw)
{
    s->hist = (s->hist << 1) | (raw ? 1u : 0u);
    if (rule->hyst_n <= 1) {
        return raw;
    }
    return (uint32_t)__builtin_popcount(s->hist & hyst_mask(rule)) >= rule->hyst_m;
}

static void emit(struct alert_engine *e, struct rs *r, struct series *s, int kind, uint64_t now_ns)
{
    const struct alert_rule *rule = r->rule;
    struct alert_msg m = {
        .rule = rule,
        .kind = kind,
        .scope_key = kstr_str(&s->key),
        .function = kstr_str(&s->function),
        .queue = kstr_str(&s->queue),
        .cid = kstr_str(&s->cid),
        .has_trace = s->has_trace,
        .value = s->value,
        .starts_ns = s->starts_ns,
        .replayed = kind == ALERT_FIRING && s->replayed,
    };
    if (r->scope == ALERT_SCOPE_WORKFLOW) {
        m.label_function = kstr_str(&s->lab_function);
        m.label_queue = kstr_str(&s->lab_queue);
        m.workflow = kstr_str(&s->workflow);
    }
    memcpy(m.trace_id, s->trace_id, 16);
    uint64_t resend_ns = e->sp->cfg.alert_resend_ms * 1000000ull;
    if (kind == ALERT_RESOLVED) {
        m.ends_ns = now_ns;
    } else if (r->scope == ALERT_SCOPE_WORKFLOW) {
        m.ends_ns = s->starts_ns + e->sp->cfg.alert_event_hold_ms * 1000000ull;
    } else {
        m.ends_ns = now_ns + 4 * resend_ns;
    }
    notify_alert(e->notify, &m);
}

static void fire(struct alert_engine *e, struct rs *r, struct series *s, uint64_t now_ms,
                 uint64_t now_ns)
{
    s->state = ST_FIRING;
    s->starts_ns = now_ns;
    s->replayed = 0;
    if (r->scope == ALERT_SCOPE_WORKFLOW) {
        /* A workflow event starts when the record that raised it was
         * received, live or replayed: a replay re-sends it with that start
         * (and so the same endsAt), merged into the alert the previous run
         * sent instead of paging anew. Without a latched record (a reload
         * lowered the threshold, or growth just before a lapse), the last
         * contribution stands in, starting now. */
        if (s->raise_ns) {
            s->starts_ns = s->raise_ns;
            s->replayed = s->raise_replayed;
            kstr_set(&s->lab_function, kstr_str(&s->raise_function));
            kstr_set(&s->lab_queue, kstr_str(&s->raise_queue));
        } else {
            kstr_set(&s->lab_function, kstr_str(&s->function));
            kstr_set(&s->lab_queue, kstr_str(&s->queue));
        }
        s->raise_ns = 0;
    }
    s->cleared_ms = 0;
    s->sent_ms = now_ms;
    s->sent_value = s->value;
    e->sp->stats.alerts_firing++;
    e->sp->stats.alerts_fired++;
    emit(e, r, s, ALERT_FIRING, now_ns);
}

static void stop_firing(struct alert_engine *e, struct rs *r, struct series *s, uint64_t now_ns)
{
    s->state = ST_INACTIVE;
    s->cleared_ms = 0;
    e->sp->stats.alerts_firing--;
    e->sp->stats.alerts_resolved++;
    emit(e, r, s, ALERT_RESOLVED, now_ns);
}

static void eval_series(struct alert_engine *e, struct rs *r, struct series *s, uint64_t now_ms,
                        uint64_t now_ns)
{
    const struct alert_rule *rule = r->rule;
    double v = 0;
    int raw = condition(r, rule, s, now_ms, &v);
    s->value = v;
    if (r->scope == ALERT_SCOPE_WORKFLOW) {
        /* An event: fired once, sent again when its count grows, and re-sent
         * every resend_interval until its endsAt (as Prometheus re-sends a
         * firing alert), so an Alertmanager that was down when it fired (or
         * restarted since) gets it once it is back. */
        if (s->state == ST_FIRING &&
            now_ns >= s->starts_ns + e->sp->cfg.alert_event_hold_ms * 1000000ull) {
            /* The alert lapsed at its endsAt where it was sent: a re-send
             * with that endsAt would arrive resolved. More of it now is a
             * new event, with a new start (raise_latch saw to that). */
            s->state = ST_INACTIVE;
            e->sp->stats.alerts_firing--;
        }
        if (!raw) {
            return;
        }
        if (s->state != ST_FIRING) {
            if (s->raise_ns || v > s->sent_value) {
                fire(e, r, s, now_ms, now_ns);
            }
        } else if (v > s->sent_value) {
            s->sent_value = v;
            s->sent_ms = now_ms;
            emit(e, r, s, ALERT_GREW, now_ns);
        } else if (now_ms - s->sent_ms >= e->sp->cfg.alert_resend_ms) {
            s->sent_ms = now_ms;
            emit(e, r, s, ALERT_RESEND, now_ns);
        }
        return;
    }
    int cond = hysteresis(rule, s, raw);
    switch (s->state) {
    case ST_INACTIVE:
        if (cond) {
            if (rule->for_ms == 0) {
                fire(e, r, s, now_ms, now_ns);
            } else {
                s->state = ST_PENDING;
                s->pending_ms = now_ms;
            }
        }
        break;
    case ST_PENDING:
        if (!cond) {
            s->state = ST_INACTIVE;
        } else if (now_ms - s->pending_ms >= rule->for_ms) {
            fire(e, r, s, now_ms, now_ns);
        }
        break;
    case ST_FIRING:
        if (cond) {
            s->cleared_ms = 0;
        } else if (s->cleared_ms == 0) {
            s->cleared_ms = now_ms;
        }
        if (s->cleared_ms && now_ms - s->cleared_ms >= rule->keep_firing_ms) {
            stop_firing(e, r, s, now_ns);
        } else if (now_ms - s->sent_ms >= e->sp->cfg.alert_resend_ms) {
            /* Still firing here: keep the alert alive where it is sent
             * (endsAt rolls forward); when we stop, it lapses. */
            s->sent_ms = now_ms;
            emit(e, r, s, ALERT_RESEND, now_ns);
        }
        break;
    }
}

/* Samples of the agent's own counters, once per evaluation. */
static void sample_agent(struct alert_engine *e)
{
    const struct sp_stats *st = &e->sp->stats;
    uint64_t failed = st->req_failed - e->prev_failed;
    uint64_t total = failed + (st->req_ok - e->prev_ok);
    e->prev_failed = st->req_failed;
    e->prev_ok = st->req_ok;
    struct alert_obs o = {0};
    o.signal = ALERT_SIG_EXPORT_FAILURES;
    o.value = (double)failed;
    alert_observe(e, &o);
    o.signal = ALERT_SIG_EXPORT_REQUESTS;
    o.value = (double)total;
    alert_observe(e, &o);
    o.signal = ALERT_SIG_JOURNAL_BYTES;
    o.value = (double)st->journal_bytes;
    alert_observe(e, &o);
    o.signal = ALERT_SIG_JOURNAL_MAX_BYTES;
    o.value = (double)st->journal_max_bytes;
    alert_observe(e, &o);
}

void alert_evaluate(struct alert_engine *e, uint64_t now_ms)
{
    uint64_t now_ns = sp_now_ns();
    sample_agent(e);
    for (size_t i = 0; i < e->n_rs; i++) {
        struct rs *r = &e->rs[i];
        if (!r->rule->enabled) {
            /* Switched off by a reload: no longer fed, so its series would
             * never be evaluated again and its alerts would stay counted as
             * firing. They go; their alerts lapse where they were sent. */
            while (r->head) {
                series_drop(e, r, r->head);
            }
            continue;
        }
        uint64_t idle_max = r->scope == ALERT_SCOPE_WORKFLOW
                                ? e->sp->cfg.alert_event_hold_ms
                                : r->window_ms + r->rule->for_ms + r->rule->keep_firing_ms;
        for (struct series *s = r->head, *next; s; s = next) {
            next = s->next;
            eval_series(e, r, s, now_ms, now_ns);
            /* A series nobody fed for longer than it can matter goes (the
             * agent's one series stays). Firing workflow events lapse by
             * their endsAt, so they can go too. */
            if (r->scope != ALERT_SCOPE_AGENT && s->state != ST_PENDING &&
                (s->state != ST_FIRING || r->scope == ALERT_SCOPE_WORKFLOW) &&
                (s->hist & hyst_mask(r->rule)) == 0 && now_ms - s->last_obs_ms > idle_max) {
                series_drop(e, r, s);
            }
        }
    }
    notify_flush(e->notify);
}

static void timer_cb(uv_timer_t *t)
{
    struct alert_engine *e = t->data;
    alert_evaluate(e, now_ms_of(e));
}

/* --- rules ----------------------------------------------------------------------- */

static void rs_clear(struct alert_engine *e, struct rs *r)
{
    while (r->head) {
        series_drop(e, r, r->head);
    }
    sp_hmap_free(&r->map);
    free(r->name);
}

static int same_identity(const struct rs *r, const struct alert_rule *n)
{
    int den = n->cond == ALERT_COND_RATIO ? n->denominator : ALERT_SIG_NONE;
    return strcmp(r->name, n->name) == 0 && r->signal == n->signal && r->den == den &&
           r->scope == n->scope && r->cond == n->cond && r->window_ms == n->window_ms;
}

/* Binds the configuration's rules, keeping the state of a rule whose
 * identity did not change (moved out of `old`). Failure-atomic: everything
 * that can fail is allocated before anything is moved, so on -ENOMEM `old`
 * is as it was. */
static int rules_bind(struct alert_engine *e, struct rs *old, size_t n_old)
{
    const struct sp_config *c = &e->sp->cfg;
    size_t n = c->n_alert_rules;
    struct rs *rs = calloc(n ? n : 1, sizeof(*rs));
    size_t *from = calloc(n ? n : 1, sizeof(*from)); /* old index + 1, 0: new */
    int rc = rs && from ? 0 : -ENOMEM;
    for (size_t i = 0; rc == 0 && i < n; i++) {
        const struct alert_rule *rule = &c->alert_rules[i];
        for (size_t j = 0; j < n_old; j++) {
            if (old[j].name && same_identity(&old[j], rule)) {
                from[i] = j + 1;
            }
        }
        for (size_t k = 0; k < i && from[i]; k++) {
            if (from[k] == from[i]) {
                from[i] = 0; /* one old state per new rule */
            }
        }
        if (from[i] == 0) {
            struct rs *r = &rs[i];
            r->name = strdup(rule->name);
            r->signal = rule->signal;
            r->den = rule->cond == ALERT_COND_RATIO ? rule->denominator : ALERT_SIG_NONE;
            r->scope = rule->scope;
            r->cond = rule->cond;
            r->window_ms = rule->window_ms;
            if (r->name == NULL || sp_hmap_init(&r->map, 64)) {
                free(r->name);
                r->name = NULL;
                rc = -ENOMEM;
            }
        }
    }
    if (rc) {
        for (size_t i = 0; rs && i < n; i++) {
            if (rs[i].name) {
                sp_hmap_free(&rs[i].map);
                free(rs[i].name);
            }
        }
        free(rs);
        free(from);
        return rc;
    }
    memset(e->n_by_signal, 0, sizeof(e->n_by_signal));
    for (size_t i = 0; i < n; i++) {
        const struct alert_rule *rule = &c->alert_rules[i];
        struct rs *r = &rs[i];
        if (from[i]) {
            *r = old[from[i] - 1];
            memset(&old[from[i] - 1], 0, sizeof(*old)); /* moved */
        }
        r->rule = rule;
        if (!rule->enabled) {
            continue;
        }
        e->by_signal[r->signal][e->n_by_signal[r->signal]++] = (struct role){(uint16_t)i, 0};
        if (r->den != ALERT_SIG_NONE) {
            e->by_signal[r->den][e->n_by_signal[r->den]++] = (struct role){(uint16_t)i, 1};
        }
    }
    free(from);
    for (size_t j = 0; j < n_old; j++) {
        if (old[j].name) {
            rs_clear(e, &old[j]);
        }
    }
    free(old);
    e->rs = rs;
    e->n_rs = n;
    return 0;
}

int alert_init(struct spindle *sp, struct alert_engine **out)
{
    struct alert_engine *e = calloc(1, sizeof(*e));
    if (e == NULL) {
        return -ENOMEM;
    }
    e->sp = sp;
    e->prev_ok = sp->stats.req_ok;
    e->prev_failed = sp->stats.req_failed;
    int rc = rules_bind(e, NULL, 0);
    if (rc == 0) {
        rc = notify_init(sp, &e->notify);
    }
    if (rc) {
        free(e->rs);
        free(e);
        return rc;
    }
    uv_timer_init(sp->loop, &e->timer);
    e->timer.data = e;
    e->timer_ms = sp->cfg.alert_eval_ms;
    uv_timer_start(&e->timer, timer_cb, e->timer_ms, e->timer_ms);
    uv_unref((uv_handle_t *)&e->timer);
    *out = e;
    return 0;
}

void alert_reload(struct alert_engine *e)
{
    if (e == NULL) {
        return;
    }
    struct rs *old = e->rs;
    size_t n_old = e->n_rs;
    e->rs = NULL;
    e->n_rs = 0;
    if (rules_bind(e, old, n_old)) {
        /* The old rules point into the configuration the reload replaced,
         * so they cannot stay: alerting stops until the next reload. */
        SP_LOG(SP_LOG_ERROR, "alert rules dropped: out of memory while reloading them",
               "rules=%zu", n_old);
        for (size_t j = 0; j < n_old; j++) {
            if (old[j].name) {
                rs_clear(e, &old[j]);
            }
        }
        free(old);
        memset(e->n_by_signal, 0, sizeof(e->n_by_signal));
        return;
    }
    notify_reload(e->notify);
    if (e->timer_ms != e->sp->cfg.alert_eval_ms) {
        e->timer_ms = e->sp->cfg.alert_eval_ms;
        uv_timer_start(&e->timer, timer_cb, e->timer_ms, e->timer_ms);
    }
}

void alert_each_active(const struct alert_engine *e,
                       void (*fn)(void *arg, const struct alert_view *v), void *arg)
{
    if (e == NULL) {
        return;
    }
    uint64_t now_ms = now_ms_of(e), now_ns = sp_now_ns();
    for (size_t i = 0; i < e->n_rs; i++) {
        const struct rs *r = &e->rs[i];
        if (r->rule == NULL) {
            continue;
        }
        for (const struct series *s = r->head; s; s = s->next) {
            if (s->state != ST_PENDING && s->state != ST_FIRING) {
                continue;
            }
            int workflow = r->scope == ALERT_SCOPE_WORKFLOW && s->state == ST_FIRING;
            struct alert_msg m = {
                .rule = r->rule,
                .kind = ALERT_FIRING,
                .scope_key = kstr_str(&s->key),
                .function = kstr_str(&s->function),
                .queue = kstr_str(&s->queue),
                .cid = kstr_str(&s->cid),
                .label_function = workflow ? kstr_str(&s->lab_function) : (struct sp_str){0},
                .label_queue = workflow ? kstr_str(&s->lab_queue) : (struct sp_str){0},
                .workflow = kstr_str(&s->workflow),
                .has_trace = s->has_trace,
                .value = s->value,
                .starts_ns = s->starts_ns,
            };
            memcpy(m.trace_id, s->trace_id, 16);
            struct alert_view v = {.msg = &m, .firing = s->state == ST_FIRING};
            if (!v.firing) {
                uint64_t ago = now_ms > s->pending_ms ? now_ms - s->pending_ms : 0;
                m.starts_ns = now_ns - ago * 1000000ull;
            }
            const char *t = r->rule->trace_url ? r->rule->trace_url : e->sp->cfg.alert_trace_url;
            if (t[0] && (s->has_trace || !strstr(t, "trace_id"))) {
                notify_render(t, &m, v.trace_url, sizeof(v.trace_url));
            }
            notify_render(r->rule->summary ? r->rule->summary : r->rule->name, &m, v.summary,
                          sizeof(v.summary));
            fn(arg, &v);
        }
    }
}

uint64_t alert_firing(const struct alert_engine *e)
{
    return e ? e->sp->stats.alerts_firing : 0;
}

static void timer_closed(uv_handle_t *h)
{
    free(h->data);
}

void alert_free(struct alert_engine *e)
{
    if (e == NULL) {
        return;
    }
    for (size_t i = 0; i < e->n_rs; i++) {
        rs_clear(e, &e->rs[i]);
    }
    free(e->rs);
    notify_free(e->notify);
    /* The engine's memory goes with its timer's close callback. */
    e->timer.data = e;
    uv_close((uv_handle_t *)&e->timer, timer_closed);
}
