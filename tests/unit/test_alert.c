/*
 * test_alert.c - the alert rules' parser and checks (alerts.rules in YAML,
 * merged by name), and the evaluator on a clock the test moves: count, ratio
 * with a minimum denominator, p95, increase, any; for, keep_firing_for, M-of-N;
 * the series cap; the agent's own signals (export failing, journal fill);
 * state across a reload; replayed records filed at their age; the webhook
 * signature and template rendering.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <uv.h>

#include "agent.h"
#include "alert.h"
#include "harness.h"
#include "log.h"
#include "notify.h"

/* Every default rule off, notifiers off: each test adds the rule it checks. */
static const char base_yaml[] = "alerts:\n"
                                "  log: false\n"
                                "  otlp_log: false\n"
                                "  rules:\n"
                                "    - {name: DeadLetter, enabled: false}\n"
                                "    - {name: WorkflowRetries, enabled: false}\n"
                                "    - {name: FunctionThrottled, enabled: false}\n"
                                "    - {name: ColdStartRatioHigh, enabled: false}\n"
                                "    - {name: InitDurationHigh, enabled: false}\n"
                                "    - {name: DeadLetterQueueGrowing, enabled: false}\n"
                                "    - {name: ExportFailing, enabled: false}\n"
                                "    - {name: JournalNearlyFull, enabled: false}\n";

static uint64_t now;

static uint64_t fake_clock(void *arg)
{
    (void)arg;
    return now;
}

struct env {
    uv_loop_t loop;
    struct spindle sp;
};

static int load(struct sp_config *c, const char *extra, char *err, size_t n)
{
    sp_config_defaults(c);
    int rc = sp_config_load_yaml(c, "base.yaml", base_yaml, sizeof(base_yaml) - 1, err, n);
    if (!rc && extra) {
        rc = sp_config_load_yaml(c, "test.yaml", extra, strlen(extra), err, n);
    }
    if (!rc) {
        rc = sp_config_finish(c, err, n);
    }
    return rc;
}

static int start(struct env *v, const char *rules)
{
    memset(v, 0, sizeof(*v));
    uv_loop_init(&v->loop);
    v->sp.loop = &v->loop;
    char err[512];
    if (load(&v->sp.cfg, rules, err, sizeof(err))) {
        fprintf(stderr, "config: %s\n", err);
        return -1;
    }
    now = 1000000;
    if (alert_init(&v->sp, &v->sp.alerts)) {
        return -1;
    }
    alert_set_clock(v->sp.alerts, fake_clock, NULL);
    return 0;
}

static void stop(struct env *v)
{
    alert_free(v->sp.alerts);
    uv_run(&v->loop, UV_RUN_DEFAULT);
    uv_loop_close(&v->loop);
    sp_config_free(&v->sp.cfg);
}

static struct sp_str S(const char *s) {
    return (struct sp_str){s, s ? strlen(s) : 0};
}

static void
obs(struct env *v, int sig, const char *fn, const char *queue, const char *cid, double value)
{
    uint8_t tid[16] = {1, 2, 3};
    struct alert_obs o = {.signal = sig,
                          .function = S(fn),
                          .queue = S(queue),
                          .cid = S(cid),
                          .trace_id = tid,
                          .value = value};
    alert_observe(v->sp.alerts, &o);
}

static void eval(struct env *v)
{
    alert_evaluate(v->sp.alerts, now);
}

static const struct alert_rule *rule(const struct sp_config *c, const char *name)
{
    for (size_t i = 0; i < c->n_alert_rules; i++) {
        if (strcmp(c->alert_rules[i].name, name) == 0) {
            return &c->alert_rules[i];
        }
    }
    return NULL;
}

/* --- parser --------------------------------------------------------------------- */

static void test_defaults_and_merge(void)
{
    struct sp_config c;
    sp_config_defaults(&c);
    CHECK_EQ_INT(c.n_alert_rules, 8);
    const struct alert_rule *r = rule(&c, "WorkflowRetries");
    CHECK(r && r->cond == ALERT_COND_COUNT && r->threshold == 3 &&
          r->scope == ALERT_SCOPE_WORKFLOW);
    r = rule(&c, "ColdStartRatioHigh");
    CHECK(r && r->cond == ALERT_COND_RATIO && fabs(r->threshold - 0.2) < 1e-12 &&
          r->denominator == ALERT_SIG_INVOCATIONS && r->min_denominator == 20 &&
          r->window_ms == 15 * 60000 && r->for_ms == 120000);
    r = rule(&c, "JournalNearlyFull");
    CHECK(r && r->signal == ALERT_SIG_JOURNAL_BYTES &&
          r->denominator == ALERT_SIG_JOURNAL_MAX_BYTES && fabs(r->threshold - 0.8) < 1e-12);
    r = rule(&c, "DeadLetter");
    CHECK(r && strcmp(r->severity, "critical") == 0 && r->cond == ALERT_COND_ANY);

    char err[512] = "";
    const char *y = "alerts:\n"
                    "  rules:\n"
                    "    - name: WorkflowRetries\n"
                    "      condition: count>=5\n"
                    "    - name: FunctionThrottled\n"
                    "      enabled: false\n"
                    "    - name: SlowCharge\n"
                    "      signal: duration\n"
                    "      scope: function\n"
                    "      window: 5m\n"
                    "      condition: p95 > 2.5\n"
                    "      hysteresis: 3/5\n"
                    "      labels:\n"
                    "        team: payments\n";
    CHECK_EQ_INT(sp_config_load_yaml(&c, "f.yaml", y, strlen(y), err, sizeof(err)), 0);
    CHECK_EQ_INT(sp_config_finish(&c, err, sizeof(err)), 0);
    CHECK_EQ_INT(c.n_alert_rules, 9);
    r = rule(&c, "WorkflowRetries");
    CHECK(r && r->threshold == 5 && r->signal == ALERT_SIG_RETRIES && r->summary &&
          strstr(r->summary, "retried") != NULL); /* only the threshold changed */
    r = rule(&c, "FunctionThrottled");
    CHECK(r && !r->enabled && r->window_ms == 300000);
    r = rule(&c, "SlowCharge");
    CHECK(r && r->cond == ALERT_COND_P95 && r->threshold == 2.5 && r->hyst_m == 3 &&
          r->hyst_n == 5 && r->n_labels == 1 && strcmp(r->labels[0].key, "team") == 0 &&
          strcmp(r->labels[0].value, "payments") == 0 && strcmp(r->severity, "warning") == 0);
    sp_config_free(&c);
}

static void expect_error(const char *y, const char *want)
{
    struct sp_config c;
    char err[512] = "";
    sp_config_defaults(&c);
    int rc = sp_config_load_yaml(&c, "bad.yaml", y, strlen(y), err, sizeof(err));
    if (rc == 0) {
        rc = sp_config_finish(&c, err, sizeof(err));
    }
    CHECK(rc != 0);
    CHECK(strstr(err, want) != NULL);
    if (rc == 0 || strstr(err, want) == NULL) {
        fprintf(stderr, "  wanted '%s', got '%s'\n", want, err);
    }
    sp_config_free(&c);
}

static void test_errors(void)
{
    const char *head = "alerts:\n  rules:\n";
    char y[1024];
    static const struct {
        const char *rule, *want;
    } cases[] = {
        {"    - name: A\n      condition: count > 3\n",
         "bad.yaml:4: rule 'A': bad value 'count > 3'"},
        {"    - name: A\n      condition: ratio >= 0.2\n", "bad.yaml:4: rule 'A': bad value"},
        {"    - name: A\n      condition: p99 > 1\n", "bad.yaml:4: rule 'A': bad value"},
        {"    - name: A\n      condition: count >= -1\n", "bad.yaml:4: rule 'A': bad value"},
        {"    - name: A\n      condition: any thing\n", "bad.yaml:4: rule 'A': bad value"},
        {"    - name: A\n      signal: nope\n",
         "bad.yaml:4: rule 'A': bad value 'nope' for 'signal'"},
        {"    - name: A\n      scope: galaxy\n",
         "bad.yaml:4: rule 'A': bad value 'galaxy' for 'scope'"},
        {"    - name: A\n      hysteresis: 4/3\n", "bad.yaml:4: rule 'A': bad value '4/3'"},
        {"    - name: A\n      window: 5\n", "bad.yaml:4: rule 'A': bad value '5' for 'window'"},
        {"    - name: A\n      colour: red\n", "bad.yaml:4: unknown key 'alerts.rules[A].colour'"},
        {"    - name: A\n      name: B\n", "bad.yaml:4: key 'name' given twice"},
        {"    - signal: throttles\n", "bad.yaml:3: every rule needs a name"},
        {"    - name: bad-name\n", "bad.yaml:3: every rule needs a name"},
        {"    - name: A\n      labels:\n        bad-label: x\n",
         "bad.yaml:5: label name 'bad-label'"},
        {"    - name: A\n      summary: \"{{ trace }}\"\n",
         "bad.yaml:4: rule 'A': unknown placeholder '{{ trace }}'"},
        {"    - name: A\n      signal: throttles\n      scope: function\n      condition: count >= "
         "1\n",
         "bad.yaml:3: rule 'A' needs a window"},
        {"    - name: A\n      signal: throttles\n      scope: function\n      window: 1m\n",
         "bad.yaml:3: rule 'A' needs a condition"},
        {"    - name: A\n      signal: throttles\n      scope: workflow\n      condition: p95 > "
         "1\n",
         "workflow rules are events"},
        {"    - name: A\n      signal: dlq_depth\n      scope: function\n      window: 1m\n"
         "      condition: increase >= 1\n",
         "dlq_depth is per queue"},
        {"    - name: A\n      signal: throttles\n      scope: function\n      window: 1m\n"
         "      condition: increase >= 1\n",
         "is for gauges"},
        {"    - name: A\n      signal: throttles\n      scope: function\n      window: 1m\n"
         "      condition: p95 > 1\n",
         "needs a signal with values"},
        {"    - name: A\n      signal: export_failures\n      scope: function\n      window: 1m\n"
         "      condition: any\n",
         "use scope agent"},
        {"    - name: A\n      signal: cold_starts\n      scope: function\n      window: 1m\n"
         "      condition: ratio > 0.1\n",
         "needs a denominator"},
        {"    - name: A\n      signal: cold_starts\n      denominator: invocations\n      scope: "
         "function\n"
         "      window: 1m\n      condition: count >= 1\n",
         "only 'ratio > X' takes a denominator"},
        {"    - 3\n", "bad.yaml:3: each item of 'alerts.rules' must be a mapping"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        snprintf(y, sizeof(y), "%s%s", head, cases[i].rule);
        expect_error(y, cases[i].want);
    }
    expect_error("alerts:\n  webhook:\n    secret: x\n",
                 "bad.yaml:3: 'alerts.webhook.secret': secrets are never kept");
    expect_error("alerts:\n  alertmanager:\n    urls: [ftp://x]\n", "must start with http://");
    expect_error(
        "alerts:\n  alertmanager:\n    urls: {a: b}\n",
        "bad.yaml:3: bad value for 'alerts.alertmanager.urls': expected a list of strings");
    expect_error("alerts:\n  rules: []\n  nope: []\n", "bad.yaml:3: unknown key 'alerts.nope'");
}

static void test_lists(void)
{
    struct sp_config c;
    char err[512] = "";
    sp_config_defaults(&c);
    const char *y =
        "alerts:\n  alertmanager:\n    urls:\n      - http://a:9093\n      - http://b:9093/\n";
    CHECK_EQ_INT(sp_config_load_yaml(&c, "f.yaml", y, strlen(y), err, sizeof(err)), 0);
    CHECK_EQ_INT(c.n_alertmanager_urls, 2);
    CHECK(c.n_alertmanager_urls == 2 && strcmp(c.alertmanager_urls[1], "http://b:9093/") == 0);
    struct sp_flags f = {.alertmanager = {"http://c:9093"}, .n_alertmanager = 1};
    sp_config_free(&c);
    (void)f;
}

/* --- evaluator -------------------------------------------------------------------- */

static void test_count_window_keep(void)
{
    struct env v;
    CHECK_EQ_INT(start(&v, "alerts:\n  rules:\n    - {name: T, signal: throttles, scope: function, "
                           "window: 1s, condition: count >= 3, keep_firing_for: 500ms}\n"),
                 0);
    struct sp_stats *st = &v.sp.stats;
    obs(&v, ALERT_SIG_THROTTLES, "f", NULL, "w1", 1);
    now += 100;
    obs(&v, ALERT_SIG_THROTTLES, "f", NULL, "w2", 1);
    obs(&v, ALERT_SIG_THROTTLES, "g", NULL, "w2", 1); /* another function */
    now += 100;
    eval(&v);
    CHECK_EQ_INT(st->alerts_fired, 0); /* 2 < 3 */
    obs(&v, ALERT_SIG_THROTTLES, "f", NULL, "w3", 1);
    eval(&v);
    CHECK_EQ_INT(st->alerts_fired, 1);
    CHECK_EQ_INT(st->alerts_firing, 1);
    CHECK_EQ_INT(st->alert_series, 2);
    now += 500;
    eval(&v);
    CHECK_EQ_INT(st->alerts_fired, 1); /* still within the window: holds, no second firing */
    CHECK_EQ_INT(st->alerts_firing, 1);
    now += 600; /* the first two left the window */
    eval(&v);
    CHECK_EQ_INT(st->alerts_firing, 1); /* cleared, but kept firing for 500 ms */
    now += 400;
    eval(&v);
    CHECK_EQ_INT(st->alerts_firing, 1);
    now += 200;
    eval(&v);
    CHECK_EQ_INT(st->alerts_firing, 0);
    CHECK_EQ_INT(st->alerts_resolved, 1);
    /* idle longer than window + for + keep: the series go */
    now += 3000;
    eval(&v);
    CHECK_EQ_INT(st->alert_series, 0);
    stop(&v);
}

static void test_for(void)
{
    struct env v;
    CHECK_EQ_INT(start(&v, "alerts:\n  rules:\n    - {name: T, signal: errors, scope: function, "
                           "window: 10s, condition: any, for: 500ms}\n"),
                 0);
    obs(&v, ALERT_SIG_ERRORS, "f", NULL, NULL, 1);
    eval(&v);
    CHECK_EQ_INT(v.sp.stats.alerts_fired, 0);
    now += 400;
    eval(&v);
    CHECK_EQ_INT(v.sp.stats.alerts_fired, 0);
    now += 100;
    eval(&v);
    CHECK_EQ_INT(v.sp.stats.alerts_fired, 1);
    stop(&v);
}

static void test_hysteresis(void)
{
    struct env v;
    CHECK_EQ_INT(start(&v, "alerts:\n  rules:\n    - {name: H, signal: errors, scope: function, "
                           "window: 100ms, condition: any, hysteresis: 2/3}\n"),
                 0);
    struct sp_stats *st = &v.sp.stats;
    obs(&v, ALERT_SIG_ERRORS, "f", NULL, NULL, 1);
    now += 1;
    eval(&v); /* true: 1 of 3 */
    CHECK_EQ_INT(st->alerts_fired, 0);
    now += 200;
    eval(&v); /* false: 1 of 3 */
    CHECK_EQ_INT(st->alerts_fired, 0);
    obs(&v, ALERT_SIG_ERRORS, "f", NULL, NULL, 1);
    now += 1;
    eval(&v); /* true: 2 of 3 */
    CHECK_EQ_INT(st->alerts_fired, 1);
    obs(&v, ALERT_SIG_ERRORS, "f", NULL, NULL, 1);
    now += 1;
    eval(&v); /* true (F T T) */
    now += 200;
    eval(&v); /* false, but 2 of the last 3 were true (T T F): holds */
    CHECK_EQ_INT(st->alerts_firing, 1);
    CHECK_EQ_INT(st->alerts_resolved, 0);
    now += 200;
    eval(&v); /* 1 of 3 (T F F) */
    CHECK_EQ_INT(st->alerts_firing, 0);
    CHECK_EQ_INT(st->alerts_fired, 1);
    stop(&v);
}

static void test_ratio(void)
{
    struct env v;
    CHECK_EQ_INT(start(&v, "alerts:\n  rules:\n    - {name: C, signal: cold_starts, denominator: "
                           "invocations, scope: function, window: 1m, condition: ratio > 0.2, "
                           "min_denominator: 4}\n"),
                 0);
    for (int i = 0; i < 3; i++) {
        obs(&v, ALERT_SIG_INVOCATIONS, "f", NULL, NULL, 1);
        obs(&v, ALERT_SIG_COLD_STARTS, "f", NULL, NULL, 1);
    }
    eval(&v);
    CHECK_EQ_INT(v.sp.stats.alerts_fired, 0); /* 3 < min_denominator */
    obs(&v, ALERT_SIG_INVOCATIONS, "f", NULL, NULL, 1);
    eval(&v);
    CHECK_EQ_INT(v.sp.stats.alerts_fired, 1); /* 3/4 */
    /* a healthy function: 1 of 10 */
    for (int i = 0; i < 10; i++) {
        obs(&v, ALERT_SIG_INVOCATIONS, "g", NULL, NULL, 1);
    }
    obs(&v, ALERT_SIG_COLD_STARTS, "g", NULL, NULL, 1);
    /* exactly the threshold is not over it: 2 of 10 */
    for (int i = 0; i < 10; i++) {
        obs(&v, ALERT_SIG_INVOCATIONS, "h", NULL, NULL, 1);
    }
    obs(&v, ALERT_SIG_COLD_STARTS, "h", NULL, NULL, 2);
    eval(&v);
    CHECK_EQ_INT(v.sp.stats.alerts_fired, 1);
    stop(&v);
}

static void test_p95(void)
{
    struct env v;
    CHECK_EQ_INT(start(&v, "alerts:\n  rules:\n    - {name: P, signal: init_duration, scope: "
                           "function, window: 1m, condition: p95 > 1, min_samples: 5}\n"),
                 0);
    for (int i = 0; i < 19; i++) {
        obs(&v, ALERT_SIG_INIT_DURATION, "fast", NULL, NULL, 0.1);
    }
    obs(&v, ALERT_SIG_INIT_DURATION, "fast", NULL, NULL, 5.0); /* 1 in 20: not the p95 */
    for (int i = 0; i < 4; i++) {
        obs(&v, ALERT_SIG_INIT_DURATION, "slow", NULL, NULL, 2.0);
    }
    eval(&v);
    CHECK_EQ_INT(v.sp.stats.alerts_fired, 0); /* slow has 4 < min_samples */
    obs(&v, ALERT_SIG_INIT_DURATION, "slow", NULL, NULL, 2.0);
    eval(&v);
    CHECK_EQ_INT(v.sp.stats.alerts_fired, 1);
    obs(&v, ALERT_SIG_INIT_DURATION, "fast", NULL, NULL, 5.0); /* 2 in 21: now the p95 */
    eval(&v);
    CHECK_EQ_INT(v.sp.stats.alerts_fired, 2);
    stop(&v);
}

static void test_increase(void)
{
    struct env v;
    CHECK_EQ_INT(start(&v, "alerts:\n  rules:\n    - {name: Q, signal: dlq_depth, scope: queue, "
                           "window: 1s, condition: increase >= 10}\n"),
                 0);
    obs(&v, ALERT_SIG_DLQ_DEPTH, "f", "steady", NULL, 50);
    obs(&v, ALERT_SIG_DLQ_DEPTH, "f", "grow", NULL, 2);
    now += 300;
    obs(&v, ALERT_SIG_DLQ_DEPTH, "f", "steady", NULL, 55);
    obs(&v, ALERT_SIG_DLQ_DEPTH, "f", "grow", NULL, 11);
    eval(&v);
    CHECK_EQ_INT(v.sp.stats.alerts_fired, 0); /* +9, +5 */
    now += 300;
    obs(&v, ALERT_SIG_DLQ_DEPTH, "f", "grow", NULL, 12);
    eval(&v);
    CHECK_EQ_INT(v.sp.stats.alerts_fired, 1); /* +10 */
    /* A queue without a queue attribute has no series. */
    obs(&v, ALERT_SIG_DLQ_DEPTH, "f", NULL, NULL, 100);
    CHECK_EQ_INT(v.sp.stats.alert_series, 2);
    stop(&v);
}

static void test_workflow_events(void)
{
    struct env v;
    CHECK_EQ_INT(start(&v, "alerts:\n  event_hold: 1s\n  rules:\n    - {name: R, signal: retries, "
                           "scope: workflow, condition: count >= 3}\n"),
                 0);
    obs(&v, ALERT_SIG_RETRIES, "f", NULL, "wf-1", 1);
    obs(&v, ALERT_SIG_RETRIES, "f", NULL, "wf-1", 1);
    obs(&v, ALERT_SIG_RETRIES, "f", NULL, "wf-2", 1);
    obs(&v, ALERT_SIG_RETRIES, "f", NULL, NULL, 1); /* no workflow: nothing to count it on */
    eval(&v);
    CHECK_EQ_INT(v.sp.stats.alerts_fired, 0);
    obs(&v, ALERT_SIG_RETRIES, "f", NULL, "wf-1", 1);
    eval(&v);
    CHECK_EQ_INT(v.sp.stats.alerts_fired, 1);
    eval(&v);
    obs(&v, ALERT_SIG_RETRIES, "f", NULL, "wf-1", 1); /* grows: re-sent, not a new firing */
    eval(&v);
    CHECK_EQ_INT(v.sp.stats.alerts_fired, 1);
    CHECK_EQ_INT(v.sp.stats.alert_series, 2);
    now += 1500; /* past event_hold without records: the series go */
    eval(&v);
    CHECK_EQ_INT(v.sp.stats.alert_series, 0);
    CHECK_EQ_INT(v.sp.stats.alerts_firing, 0);
    stop(&v);
}

/* A record replayed from the journal is filed at its age (from its receive
 * time): what had left the window, or lapsed as an event, counts for nothing,
 * and an old one never wipes the newer bucket that shares its ring slot. */
static void replayed(struct env *v, int sig, const char *fn, const char *cid, uint64_t age_ms)
{
    struct alert_obs o = {.signal = sig,
                          .function = S(fn),
                          .cid = S(cid),
                          .value = 1,
                          .replay_ns = sp_now_ns() - age_ms * 1000000u};
    alert_observe(v->sp.alerts, &o);
}

static void test_replayed_at_age(void)
{
    struct env v;
    CHECK_EQ_INT(start(&v, "alerts:\n  event_hold: 1s\n  rules:\n    - {name: T, signal: "
                           "throttles, scope: function, window: 1s, condition: count >= 3}\n"
                           "    - {name: D, signal: dead_letters, scope: workflow, "
                           "condition: any}\n"),
                 0);
    struct sp_stats *st = &v.sp.stats;
    for (int i = 0; i < 5; i++) {
        replayed(&v, ALERT_SIG_THROTTLES, "f", "w", 1500); /* older than the window */
    }
    replayed(&v, ALERT_SIG_DEAD_LETTERS, "f", "old", 2000); /* lapsed event */
    eval(&v);
    CHECK_EQ_INT(st->alerts_fired, 0);
    CHECK_EQ_INT(st->alert_series, 0);
    /* now is a bucket boundary: 999 ms ago is the oldest bucket, in the slot
     * of the newest one, which holds two live throttles. */
    obs(&v, ALERT_SIG_THROTTLES, "f", NULL, "w", 1);
    obs(&v, ALERT_SIG_THROTTLES, "f", NULL, "w", 1);
    replayed(&v, ALERT_SIG_THROTTLES, "f", "w", 999);
    eval(&v);
    CHECK_EQ_INT(st->alerts_fired, 0);
    obs(&v, ALERT_SIG_THROTTLES, "f", NULL, "w", 1);
    eval(&v);
    /* the two live ones were kept */
    CHECK_EQ_INT(st->alerts_fired, 1);
    replayed(&v, ALERT_SIG_DEAD_LETTERS, "f", "recent", 300); /* within event_hold: raised */
    eval(&v);
    CHECK_EQ_INT(st->alerts_fired, 2);
    stop(&v);
}

/* Still growing after event_hold: the alert sent has lapsed where it went (its
 * endsAt passed), so more of it is a new alert, not a re-send that would
 * arrive already ended. event_hold runs on the wall clock. */
static void test_event_lapsed_then_grows(void)
{
    struct env v;
    CHECK_EQ_INT(start(&v, "alerts:\n  event_hold: 200ms\n  rules:\n    - {name: D, signal: "
                           "dead_letters, scope: workflow, condition: any}\n"),
                 0);
    obs(&v, ALERT_SIG_DEAD_LETTERS, "f", "q", "wf", 1);
    eval(&v);
    CHECK_EQ_INT(v.sp.stats.alerts_fired, 1);
    struct timespec pause = {0, 250 * 1000000L};
    nanosleep(&pause, NULL);
    now += 100; /* fed within event_hold of loop time: the series stays */
    obs(&v, ALERT_SIG_DEAD_LETTERS, "f", "q", "wf", 1);
    eval(&v);
    CHECK_EQ_INT(v.sp.stats.alerts_fired, 2);
    CHECK_EQ_INT(v.sp.stats.alerts_firing, 1);
    stop(&v);
}

/* A workflow event is firing until its endsAt (start + event_hold, wall
 * clock), not until its series goes: --stats' alerts.firing says what is
 * live in Alertmanager. */
static void test_event_firing_until_ends(void)
{
    struct env v;
    CHECK_EQ_INT(start(&v, "alerts:\n  event_hold: 200ms\n  rules:\n    - {name: D, signal: "
                           "dead_letters, scope: workflow, condition: any}\n"),
                 0);
    obs(&v, ALERT_SIG_DEAD_LETTERS, "f", "q", "wf", 1);
    eval(&v);
    CHECK_EQ_INT(v.sp.stats.alerts_firing, 1);
    struct timespec pause = {0, 250 * 1000000L};
    nanosleep(&pause, NULL);
    now += 100; /* loop time: fed within event_hold, the series stays */
    eval(&v);
    CHECK_EQ_INT(v.sp.stats.alert_series, 1);
    CHECK_EQ_INT(v.sp.stats.alerts_firing, 0);
    CHECK_EQ_INT(v.sp.stats.alerts_fired, 1);
    stop(&v);
}

static void test_series_cap(void)
{
    struct env v;
    CHECK_EQ_INT(start(&v, "alerts:\n  max_series: 3\n  rules:\n    - {name: T, signal: throttles, "
                           "scope: function, window: 1m, condition: count >= 100}\n"),
                 0);
    const char *fns[] = {"a", "b", "c", "d", "e"};
    for (int i = 0; i < 5; i++) {
        obs(&v, ALERT_SIG_THROTTLES, fns[i], NULL, NULL, 1);
    }
    CHECK_EQ_INT(v.sp.stats.alert_series, 3);
    CHECK_EQ_INT(v.sp.stats.alert_series_evicted, 2);
    stop(&v);
}

static void test_agent_signals(void)
{
    struct env v;
    CHECK_EQ_INT(start(&v, "alerts:\n  rules:\n"
                           "    - {name: ExportFailing, enabled: true, window: 1s, for: 0s}\n"
                           "    - {name: JournalNearlyFull, enabled: true, window: 1s}\n"),
                 0);
    struct sp_stats *st = &v.sp.stats;
    /* healthy: requests succeed, journal off (max 0) */
    st->req_ok += 5;
    eval(&v);
    CHECK_EQ_INT(st->alerts_fired, 0);
    /* journal at 50%, then 90% (the average over the window passes 80% once 90% dominates) */
    st->journal_max_bytes = 1000;
    st->journal_bytes = 500;
    now += 100;
    eval(&v);
    CHECK_EQ_INT(st->alerts_fired, 0);
    st->journal_bytes = 900;
    for (int i = 0; i < 20 && st->alerts_fired == 0; i++) {
        now += 100;
        eval(&v);
    }
    CHECK_EQ_INT(st->alerts_fired, 1);
    CHECK_EQ_INT(st->alerts_firing, 1);
    /* exports failing (and a few ok in the window: not yet) */
    st->req_failed += 3;
    now += 100;
    eval(&v);
    CHECK_EQ_INT(st->alerts_fired, 1);
    now += 1100; /* the ok requests left the window; only failures since */
    st->req_failed += 2;
    eval(&v);
    CHECK_EQ_INT(st->alerts_fired, 2);
    stop(&v);
}

static void test_reload_keeps_state(void)
{
    struct env v;
    const char *rules = "alerts:\n  rules:\n    - {name: T, signal: throttles, scope: function, "
                        "window: 1m, condition: count >= 1}\n";
    CHECK_EQ_INT(start(&v, rules), 0);
    obs(&v, ALERT_SIG_THROTTLES, "f", NULL, NULL, 1);
    eval(&v);
    CHECK_EQ_INT(v.sp.stats.alerts_fired, 1);
    char err[512];
    struct sp_config n;
    CHECK_EQ_INT(load(&n, rules, err, sizeof(err)), 0);
    sp_config_free(&v.sp.cfg);
    v.sp.cfg = n;
    alert_reload(v.sp.alerts);
    eval(&v);
    CHECK_EQ_INT(v.sp.stats.alerts_fired, 1);
    CHECK_EQ_INT(v.sp.stats.alerts_firing, 1);
    CHECK_EQ_INT(v.sp.stats.alert_series, 1);
    /* A changed window is a different rule: its state starts afresh. */
    CHECK_EQ_INT(load(&n,
                      "alerts:\n  rules:\n    - {name: T, signal: throttles, scope: function, "
                      "window: 2m, condition: count >= 1}\n",
                      err, sizeof(err)),
                 0);
    sp_config_free(&v.sp.cfg);
    v.sp.cfg = n;
    alert_reload(v.sp.alerts);
    CHECK_EQ_INT(v.sp.stats.alert_series, 0);
    CHECK_EQ_INT(v.sp.stats.alerts_firing, 0);
    /* A firing rule switched off: its alert no longer counts as firing. */
    obs(&v, ALERT_SIG_THROTTLES, "f", NULL, NULL, 1);
    eval(&v);
    CHECK_EQ_INT(v.sp.stats.alerts_firing, 1);
    CHECK_EQ_INT(load(&n,
                      "alerts:\n  rules:\n    - {name: T, signal: throttles, scope: function, "
                      "window: 2m, condition: count >= 1, enabled: false}\n",
                      err, sizeof(err)),
                 0);
    sp_config_free(&v.sp.cfg);
    v.sp.cfg = n;
    alert_reload(v.sp.alerts);
    eval(&v);
    CHECK_EQ_INT(v.sp.stats.alerts_firing, 0);
    CHECK_EQ_INT(v.sp.stats.alert_series, 0);
    stop(&v);
}

/* --- text and signature ------------------------------------------------------------- */

static void test_render_and_sign(void)
{
    struct alert_rule r = {
        .name = "DeadLetter", .severity = "critical", .scope = ALERT_SCOPE_WORKFLOW};
    struct alert_msg m = {.rule = &r,
                          .function = S("charge"),
                          .queue = S("orders-dlq"),
                          .cid = S("order-7731"),
                          .has_trace = 1,
                          .value = 4};
    for (int i = 0; i < 16; i++) {
        m.trace_id[i] = (uint8_t)(0xa0 + i);
    }
    char out[256];
    notify_render(
        "{{alertname}}/{{severity}}: {{ correlation_id }} {{function}} {{queue}} x{{value}} "
        "http://j/trace/{{trace_id}}",
        &m, out, sizeof(out));
    CHECK(strcmp(out, "DeadLetter/critical: order-7731 charge orders-dlq x4 "
                      "http://j/trace/a0a1a2a3a4a5a6a7a8a9aaabacadaeaf") == 0);
    r.window_ms = 300000;
    notify_render("in {{window}}", &m, out, sizeof(out));
    CHECK(strcmp(out, "in 5m") == 0);
    r.window_ms = 1500;
    notify_render("{{window}}", &m, out, sizeof(out));
    CHECK(strcmp(out, "1500ms") == 0);
    m.value = 0.3333333;
    notify_render("{{value}}", &m, out, sizeof(out));
    CHECK(strcmp(out, "0.3333") == 0);
    notify_render("abcdefghij", &m, out, 5);
    CHECK(strcmp(out, "abcd") == 0);
    const char *bad;
    size_t bl;
    CHECK_EQ_INT(alert_template_check("ok {{function}} {{ value }}", &bad, &bl), 0);
    CHECK(alert_template_check("{{functoin}}", &bad, &bl) != 0 && bl == 12);
    CHECK(alert_template_check("{{function", &bad, &bl) != 0);

    /* Checked against Python's hmac module:
     * hmac.new(b'It is a secret', b'1700000000.{"a":1}', hashlib.sha256).hexdigest() */
    char sig[65];
    const char *key = "It is a secret";
    CHECK_EQ_INT(notify_sign((const uint8_t *)key, strlen(key), "1700000000", "{\"a\":1}", 7, sig),
                 0);
    CHECK(strcmp(sig, "6ef91a8184cca4e6198d522d1ce360755474c3af4fc7c80e1f7c5b870023b941") == 0);
}

int main(void)
{
    sp_log_setup(SP_LOG_OFF, 0);
    test_defaults_and_merge();
    test_errors();
    test_lists();
    test_count_window_keep();
    test_for();
    test_hysteresis();
    test_ratio();
    test_p95();
    test_increase();
    test_workflow_events();
    test_replayed_at_age();
    test_event_lapsed_then_grows();
    test_event_firing_until_ends();
    test_series_cap();
    test_agent_signals();
    test_reload_keeps_state();
    test_render_and_sign();
    return th_report("test_alert");
}
