/*
 * alert.h - the alert engine (docs/internals/alerting.md): rules from the
 * configuration, per-series sliding windows fed by the correlator, the metric
 * aggregator and the agent's own counters, evaluation on a timer, and the
 * alerts handed to the notifiers (alert/notify.h).
 *
 * Ownership: a struct sp_config owns its rules (alert_rules_free()). The
 * engine (struct alert_engine, owned by struct spindle) owns its series and
 * keeps pointers to the running configuration's rules only between reloads:
 * alert_reload() re-binds them by name, so state survives a SIGHUP.
 */
#ifndef SP_ALERT_H
#define SP_ALERT_H

#include <stddef.h>
#include <stdint.h>
#include <yaml.h>

#include "config.h"
#include "model.h"

struct spindle;
struct alert_engine;

/* What a rule counts. Per function: the FaaS lifecycle; per queue: the
 * dlq.depth gauge; per workflow: its lifecycle events; per agent: samples
 * of its own counters taken at each evaluation. */
#define ALERT_SIGNALS(X)                                                                           \
    X(INVOCATIONS, "invocations")                                                                  \
    X(ERRORS, "errors")                                                                            \
    X(TIMEOUTS, "timeouts")                                                                        \
    X(DURATION, "duration")                                                                        \
    X(COLD_STARTS, "cold_starts")                                                                  \
    X(INIT_DURATION, "init_duration")                                                              \
    X(THROTTLES, "throttles")                                                                      \
    X(RETRIES, "retries")                                                                          \
    X(DEAD_LETTERS, "dead_letters")                                                                \
    X(DLQ_DEPTH, "dlq_depth")                                                                      \
    X(EXPORT_FAILURES, "export_failures")                                                          \
    X(EXPORT_REQUESTS, "export_requests")                                                          \
    X(JOURNAL_BYTES, "journal_bytes")                                                              \
    X(JOURNAL_MAX_BYTES, "journal_max_bytes")

enum alert_signal {
#define X(E, s) ALERT_SIG_##E,
    ALERT_SIGNALS(X)
#undef X
        ALERT_SIG_COUNT,
    ALERT_SIG_NONE = -1
};

enum alert_scope {
    ALERT_SCOPE_WORKFLOW = 0,
    ALERT_SCOPE_FUNCTION,
    ALERT_SCOPE_QUEUE,
    ALERT_SCOPE_AGENT
};

/* The closed list of conditions. */
enum alert_cond {
    ALERT_COND_COUNT = 0, /* count >= N: sum of the signal in the window */
    ALERT_COND_RATIO,     /* ratio > X: signal / denominator, with a minimum denominator */
    ALERT_COND_P95,       /* p95 > X: of the values in the window, with a minimum of samples */
    ALERT_COND_INCREASE,  /* increase >= N: newest gauge value minus the oldest in the window */
    ALERT_COND_ANY        /* any: at least one occurrence */
};

struct alert_rule {
    char *name;
    int signal;      /* enum alert_signal */
    int denominator; /* ALERT_COND_RATIO only; enum alert_signal */
    int scope;       /* enum alert_scope */
    int cond;        /* enum alert_cond */
    double threshold;
    double min_denominator; /* ratio: below this many, the condition is false */
    uint64_t min_samples;   /* p95: below this many samples, false */
    uint64_t window_ms;     /* 0 for workflow rules: the workflow's whole life */
    uint64_t for_ms;
    uint64_t keep_firing_ms;
    uint8_t hyst_m, hyst_n; /* true when at least M of the last N evaluations were (1/1: off) */
    int enabled;
    char *severity;
    struct sp_kv *labels;
    size_t n_labels;
    char *summary;
    char *description;
    char *trace_url;
    char *file; /* where the rule was (last) defined, for messages */
    size_t line;
};

const char *alert_signal_name(int sig);
const char *alert_scope_name(int scope);

/* Parses the sequence under alerts.rules (its SEQUENCE_START already read):
 * a rule whose name exists already is updated field by field, so a file can
 * change one threshold of a default rule. Errors name FILE:LINE. */
int alert_rules_yaml(yaml_parser_t *p, struct sp_config *c, const char *name, char *err,
                     size_t errlen);
/* Cross-field checks (ratio needs a denominator, templates are known...). */
int alert_rules_check(const struct sp_config *c, char *err, size_t errlen);
void alert_rules_free(struct alert_rule *r, size_t n);
/* Deep copy, for sp_config_build's copy of the defaults. */
int alert_rule_copy(struct alert_rule *dst, const struct alert_rule *src);

/* One observation from the data path: O(1) per matching rule. */
struct alert_obs {
    int signal;
    struct sp_str function;
    struct sp_str queue;
    struct sp_str cid;       /* the workflow, when known */
    struct sp_str workflow;  /* the workflow's name, when known (an annotation) */
    const uint8_t *trace_id; /* 16 bytes or NULL */
    double value;            /* 1 for counts; seconds for durations; the gauge value */
    uint64_t replay_ns;      /* replayed from the journal: when it was first received (wall
                                clock); 0 for a live record */
    uint64_t recv_ns;        /* a live record: when the agent received it (wall clock); 0:
                                unknown, the time of the call stands in */
};

int alert_init(struct spindle *sp, struct alert_engine **out);
void alert_observe(struct alert_engine *e, const struct alert_obs *o);
/* Evaluates every rule now (the timer calls it; tests call it directly with
 * a loop time of their choosing). */
void alert_evaluate(struct alert_engine *e, uint64_t now_ms);
/* After a reload: rules of the same name (and signal, scope, condition and
 * window) keep their series and firing state; others start afresh. */
void alert_reload(struct alert_engine *e);
/* Tests: the loop time observations are filed under (default uv_now). */
void alert_set_clock(struct alert_engine *e, uint64_t (*now_ms)(void *arg), void *arg);
/* An alert pending or firing now, for the admin listener (read-only). msg
 * carries the rule, labels, value and start (a pending alert's: when it
 * became pending); the texts are rendered. */
struct alert_msg;
struct alert_view {
    const struct alert_msg *msg;
    int firing;              /* 0: pending (the condition holds, `for` not yet over) */
    char summary[512];
    char trace_url[1024];    /* "" without a trace_url template (or without a trace) */
};
/* Calls fn for every pending or firing alert. O(series of every rule):
 * for an occasional query, never the data path. */
void alert_each_active(const struct alert_engine *e,
                       void (*fn)(void *arg, const struct alert_view *v), void *arg);
/* Alerts firing now (for tests and stats). */
uint64_t alert_firing(const struct alert_engine *e);
void alert_free(struct alert_engine *e);

/* The template placeholders: function, queue, correlation_id, trace_id,
 * value, alertname, severity, window. Unknown ones are a config error. */
int alert_template_check(const char *t, const char **bad, size_t *bad_len);

#endif
