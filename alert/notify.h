/*
 * notify.h - where alerts go: Alertmanager API v2 (every URL of an HA set),
 * a generic webhook in Alertmanager's webhook format signed with HMAC-SHA256,
 * a log line, and an OTLP log record through the exporters.
 *
 * Each notifier is one vtable (struct notifier_ops). The engine hands every
 * alert of one evaluation to notify_alert() and ends the evaluation with
 * notify_flush(): the HTTP notifiers then queue one request each. Delivery
 * never blocks the loop: each HTTP notifier has its own bounded queue (the
 * oldest request is dropped when full), one request in flight, and retries
 * with backoff; every drop is counted with its reason in the stats.
 *
 * Ownership: struct notify owns the notifiers, their queues, the copies of
 * URLs and the secrets (read once at start from a file or the environment,
 * never logged). The HTTP client is the agent's one (sp->http), shared with
 * the OTLP exporter: notify_init() makes it when no one has; the agent
 * closes it after notify_free().
 */
#ifndef SP_NOTIFY_H
#define SP_NOTIFY_H

#include <stdint.h>

#include "model.h"

struct spindle;
struct notify;
struct alert_rule;

enum alert_kind {
    ALERT_FIRING = 0, /* started firing: every notifier */
    ALERT_RESEND,     /* still firing: Alertmanager and webhook only (a workflow alert,
                         until its endsAt: Alertmanager only) */
    ALERT_GREW,       /* a workflow event's count grew: every notifier */
    ALERT_RESOLVED    /* condition cleared: log and OTLP; Alertmanager/webhook only with
                         alerts.explicit_resolve, else the alert lapses at its endsAt */
};

/* One alert as the engine sees it; strings valid during notify_alert(). */
struct alert_msg {
    const struct alert_rule *rule;
    int kind;                /* enum alert_kind */
    struct sp_str scope_key; /* the function, queue or correlation id; "" for the agent */
    struct sp_str function;  /* last contributor (the exemplar) */
    struct sp_str queue;
    struct sp_str cid;
    /* Workflow alerts: the function and queue of the record that raised the
     * alert (labels, fixed for the alert's life), and the workflow's name. */
    struct sp_str label_function;
    struct sp_str label_queue;
    struct sp_str workflow;
    uint8_t trace_id[16];
    uint8_t has_trace;
    uint8_t replayed; /* ALERT_FIRING raised by records replayed from the journal: it may
                         have been sent before the restart (starts_ns is when they came) */
    double value;
    uint64_t starts_ns, ends_ns;
};

int notify_init(struct spindle *sp, struct notify **out);
void notify_alert(struct notify *n, const struct alert_msg *m);
void notify_flush(struct notify *n);
/* Notifier settings are restart-only: a reload that changes them is logged. */
void notify_reload(struct notify *n);
/* Requests in flight are aborted (counted dropped_shutdown). */
void notify_free(struct notify *n);

/* For tests: the rendered text of a template (NUL-terminated, cut at cap). */
void notify_render(const char *tmpl, const struct alert_msg *m, char *out, size_t cap);
/* HMAC-SHA256 over "<timestamp>.<body>", as lowercase hex (65 bytes with NUL). */
int notify_sign(const uint8_t *key, size_t key_len, const char *ts, const char *body,
                size_t body_len, char out[65]);

#endif
