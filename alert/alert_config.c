/*
 * alert_config.c - the `alerts.rules` list of the configuration: YAML events
 * to struct alert_rule, and the checks --check-config runs on them.
 *
 * Rules merge by name: the embedded default configuration defines the
 * default rules, and a file's rule with the same name changes only the fields
 * it gives (so `- {name: WorkflowRetries, condition: count >= 5}` is the
 * whole edit to raise one threshold). `enabled: false` switches one off.
 */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alert.h"
#include "caps.h"

static const char *const signal_names[] = {
#define X(E, s) s,
    ALERT_SIGNALS(X)
#undef X
};

static const char *const scope_names[] = {"workflow", "function", "queue", "agent"};

const char *alert_signal_name(int sig)
{
    return sig >= 0 && sig < ALERT_SIG_COUNT ? signal_names[sig] : "none";
}

const char *alert_scope_name(int scope)
{
    return scope >= 0 && scope <= ALERT_SCOPE_AGENT ? scope_names[scope] : "none";
}

static int signal_parse(const char *s)
{
    for (int i = 0; i < ALERT_SIG_COUNT; i++) {
        if (strcmp(s, signal_names[i]) == 0) {
            return i;
        }
    }
    return ALERT_SIG_NONE;
}

static char *dup_or_null(const char *s)
{
    return s ? strdup(s) : NULL;
}

void alert_rules_free(struct alert_rule *r, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(r[i].name);
        free(r[i].severity);
        free(r[i].summary);
        free(r[i].description);
        free(r[i].trace_url);
        free(r[i].file);
        for (size_t j = 0; j < r[i].n_labels; j++) {
            free(r[i].labels[j].key);
            free(r[i].labels[j].value);
        }
        free(r[i].labels);
    }
    free(r);
}

int alert_rule_copy(struct alert_rule *dst, const struct alert_rule *src)
{
    *dst = *src;
    dst->name = dup_or_null(src->name);
    dst->severity = dup_or_null(src->severity);
    dst->summary = dup_or_null(src->summary);
    dst->description = dup_or_null(src->description);
    dst->trace_url = dup_or_null(src->trace_url);
    dst->file = dup_or_null(src->file);
    dst->labels = NULL;
    dst->n_labels = 0;
    if (src->n_labels) {
        dst->labels = calloc(src->n_labels, sizeof(*dst->labels));
        if (dst->labels == NULL) {
            return -ENOMEM;
        }
        for (size_t j = 0; j < src->n_labels; j++) {
            dst->labels[j].key = strdup(src->labels[j].key);
            dst->labels[j].value = strdup(src->labels[j].value);
            dst->n_labels++;
            if (!dst->labels[j].key || !dst->labels[j].value) {
                return -ENOMEM;
            }
        }
    }
    return 0;
}

/* "count >= 3", "ratio > 0.2", "p95 > 2.5", "increase >= 10", "any". */
static int cond_parse(const char *s, int *cond, double *thr)
{
    static const struct {
        const char *word, *op;
        int cond;
    } forms[] = {{"count", ">=", ALERT_COND_COUNT},
                 {"ratio", ">", ALERT_COND_RATIO},
                 {"p95", ">", ALERT_COND_P95},
                 {"increase", ">=", ALERT_COND_INCREASE}};
    while (isspace((unsigned char)*s)) {
        s++;
    }
    if (strncmp(s, "any", 3) == 0) {
        const char *e = s + 3;
        while (isspace((unsigned char)*e)) {
            e++;
        }
        if (*e == 0) {
            *cond = ALERT_COND_ANY;
            *thr = 0;
            return 0;
        }
        return -EINVAL;
    }
    for (size_t i = 0; i < sizeof(forms) / sizeof(forms[0]); i++) {
        size_t wl = strlen(forms[i].word), ol = strlen(forms[i].op);
        if (strncmp(s, forms[i].word, wl) != 0) {
            continue;
        }
        const char *q = s + wl;
        while (isspace((unsigned char)*q)) {
            q++;
        }
        if (strncmp(q, forms[i].op, ol) != 0 || q[ol] == '=' || (ol == 1 && q[1] == '=')) {
            return -EINVAL;
        }
        q += ol;
        char *end;
        double v = strtod(q, &end);
        if (end == q || !isfinite(v) || v < 0) {
            return -EINVAL;
        }
        while (isspace((unsigned char)*end)) {
            end++;
        }
        if (*end) {
            return -EINVAL;
        }
        *cond = forms[i].cond;
        *thr = v;
        return 0;
    }
    return -EINVAL;
}

/* "3/5": M of the last N evaluations. */
static int hyst_parse(const char *s, uint8_t *m, uint8_t *n)
{
    unsigned a, b;
    char tail;
    if (sscanf(s, "%u/%u%c", &a, &b, &tail) != 2 || a == 0 || b == 0 || a > b ||
        b > SP_ALERT_MAX_HYSTERESIS) {
        return -EINVAL;
    }
    *m = (uint8_t)a;
    *n = (uint8_t)b;
    return 0;
}

static const char *const placeholders[] = {"function", "queue",     "correlation_id", "trace_id",
                                           "value",    "alertname", "severity",       "window"};

int alert_template_check(const char *t, const char **bad, size_t *bad_len)
{
    for (const char *p = t; (p = strstr(p, "{{")) != NULL;) {
        const char *e = strstr(p + 2, "}}");
        if (e == NULL) {
            *bad = p;
            *bad_len = strlen(p);
            return -EINVAL;
        }
        const char *a = p + 2, *b = e;
        while (a < b && *a == ' ') {
            a++;
        }
        while (b > a && b[-1] == ' ') {
            b--;
        }
        int ok = 0;
        for (size_t i = 0; i < sizeof(placeholders) / sizeof(placeholders[0]); i++) {
            if (strlen(placeholders[i]) == (size_t)(b - a) &&
                memcmp(placeholders[i], a, (size_t)(b - a)) == 0) {
                ok = 1;
            }
        }
        if (!ok) {
            *bad = p;
            *bad_len = (size_t)(e + 2 - p);
            return -EINVAL;
        }
        p = e + 2;
    }
    return 0;
}

/* One key: value of a rule mapping while it is read. */
struct field {
    char key[64];
    char *value;
    size_t line;
};

static int set_str(char **dst, const char *v)
{
    char *d = strdup(v);
    if (d == NULL) {
        return -ENOMEM;
    }
    free(*dst);
    *dst = d;
    return 0;
}

static int apply(struct alert_rule *r, const struct field *f, const char *file, char *err,
                 size_t errlen)
{
    const char *k = f->key, *v = f->value;
    const char *hint = NULL;
    uint64_t u;
    if (strcmp(k, "name") == 0) {
        return 0; /* set by the caller */
    } else if (strcmp(k, "enabled") == 0) {
        if (strcmp(v, "true") == 0) {
            r->enabled = 1;
        } else if (strcmp(v, "false") == 0) {
            r->enabled = 0;
        } else {
            hint = "true or false";
        }
    } else if (strcmp(k, "signal") == 0 || strcmp(k, "denominator") == 0) {
        int s = signal_parse(v);
        if (s == ALERT_SIG_NONE) {
            hint = "one of invocations, errors, timeouts, duration, cold_starts, "
                   "init_duration, throttles, retries, dead_letters, dlq_depth, "
                   "export_failures, export_requests, journal_bytes, journal_max_bytes";
        } else if (k[0] == 's') {
            r->signal = s;
        } else {
            r->denominator = s;
        }
    } else if (strcmp(k, "scope") == 0) {
        int s = -1;
        for (int i = 0; i <= ALERT_SCOPE_AGENT; i++) {
            if (strcmp(v, scope_names[i]) == 0) {
                s = i;
            }
        }
        if (s < 0) {
            hint = "workflow, function, queue or agent";
        } else {
            r->scope = s;
        }
    } else if (strcmp(k, "condition") == 0) {
        if (cond_parse(v, &r->cond, &r->threshold)) {
            hint = "one of 'count >= N', 'ratio > X', 'p95 > X', 'increase >= N', 'any'";
        }
    } else if (strcmp(k, "window") == 0 || strcmp(k, "for") == 0 ||
               strcmp(k, "keep_firing_for") == 0) {
        if (sp_parse_duration_ms(v, &u)) {
            hint = "a duration like 500ms, 5s, 1m or 1h";
        } else if (k[0] == 'w') {
            r->window_ms = u;
        } else if (k[0] == 'f') {
            r->for_ms = u;
        } else {
            r->keep_firing_ms = u;
        }
    } else if (strcmp(k, "min_denominator") == 0) {
        char *end;
        double d = strtod(v, &end);
        if (end == v || *end || !(d >= 0) || !isfinite(d)) {
            hint = "a number";
        } else {
            r->min_denominator = d;
        }
    } else if (strcmp(k, "min_samples") == 0) {
        char *end;
        unsigned long long x = strtoull(v, &end, 10);
        if (!isdigit((unsigned char)v[0]) || *end || x > SP_ALERT_SAMPLES) {
            hint = "a whole number no larger than the samples kept per series (64)";
        } else {
            r->min_samples = x;
        }
    } else if (strcmp(k, "hysteresis") == 0) {
        if (hyst_parse(v, &r->hyst_m, &r->hyst_n)) {
            hint = "M/N: at least M of the last N evaluations, N at most 32 (e.g. 3/5)";
        }
    } else if (strcmp(k, "severity") == 0) {
        if (!*v) {
            hint = "a word like critical, warning or info";
        } else {
            return set_str(&r->severity, v);
        }
    } else if (strcmp(k, "summary") == 0 || strcmp(k, "description") == 0 ||
               strcmp(k, "trace_url") == 0) {
        const char *bad;
        size_t bl;
        if (alert_template_check(v, &bad, &bl)) {
            snprintf(err, errlen,
                     "%s:%zu: rule '%s': unknown placeholder '%.*s' in %s (known: {{function}}, "
                     "{{queue}}, {{correlation_id}}, {{trace_id}}, {{value}}, {{alertname}}, "
                     "{{severity}}, {{window}})",
                     file, f->line, r->name, (int)(bl > 60 ? 60 : bl), bad, k);
            return -EINVAL;
        }
        return set_str(k[0] == 's'   ? &r->summary
                       : k[0] == 'd' ? &r->description
                                     : &r->trace_url,
                       v);
    } else {
        snprintf(err, errlen, "%s:%zu: unknown key 'alerts.rules[%s].%s'", file, f->line, r->name,
                 k);
        return -EINVAL;
    }
    if (hint) {
        snprintf(err, errlen, "%s:%zu: rule '%s': bad value '%s' for '%s': expected %s", file,
                 f->line, r->name, v, k, hint);
        return -EINVAL;
    }
    return 0;
}

static void fields_free(struct field *f, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(f[i].value);
    }
}

static int kv_put(struct sp_kv **v, size_t *n, const char *k, const char *val)
{
    for (size_t i = 0; i < *n; i++) {
        if (strcmp((*v)[i].key, k) == 0) {
            return set_str(&(*v)[i].value, val);
        }
    }
    struct sp_kv *nv = realloc(*v, sizeof(**v) * (*n + 1));
    if (nv == NULL) {
        return -ENOMEM;
    }
    *v = nv;
    nv[*n].key = strdup(k);
    nv[*n].value = strdup(val);
    if (!nv[*n].key || !nv[*n].value) {
        free(nv[*n].key);
        free(nv[*n].value);
        return -ENOMEM;
    }
    (*n)++;
    return 0;
}

static int label_name_ok(const char *k)
{
    /* Alertmanager's label names: [a-zA-Z_][a-zA-Z0-9_]* */
    if (!(isalpha((unsigned char)k[0]) || k[0] == '_')) {
        return 0;
    }
    for (const char *p = k; *p; p++) {
        if (!(isalnum((unsigned char)*p) || *p == '_')) {
            return 0;
        }
    }
    return 1;
}

/* Reads one rule's mapping (MAPPING_START already consumed) and merges it. */
static int read_rule(yaml_parser_t *p, struct sp_config *c, const char *file, size_t map_line,
                     char *err, size_t errlen)
{
    struct field f[SP_ALERT_MAX_RULE_KEYS];
    size_t nf = 0;
    struct sp_kv *labels = NULL;
    size_t n_labels = 0, labels_line = 0;
    int have_labels = 0;
    int rc = 0;
    int expect_key = 1;
    char key[64] = "";
    size_t key_line = 0;
    yaml_event_t ev;
    for (;;) {
        if (!yaml_parser_parse(p, &ev)) {
            snprintf(err, errlen, "%s:%zu: YAML syntax error: %s", file, p->problem_mark.line + 1,
                     p->problem ? p->problem : "?");
            rc = -EINVAL;
            goto out;
        }
        size_t line = ev.start_mark.line + 1;
        if (ev.type == YAML_MAPPING_END_EVENT) {
            yaml_event_delete(&ev);
            break;
        }
        if (ev.type == YAML_SCALAR_EVENT && expect_key) {
            snprintf(key, sizeof(key), "%s", (const char *)ev.data.scalar.value);
            key_line = line;
            expect_key = 0;
        } else if (ev.type == YAML_SCALAR_EVENT) {
            if (nf == SP_ALERT_MAX_RULE_KEYS) {
                snprintf(err, errlen, "%s:%zu: too many keys in one rule", file, line);
                rc = -EINVAL;
            } else {
                for (size_t i = 0; i < nf; i++) {
                    if (strcmp(f[i].key, key) == 0) {
                        snprintf(err, errlen, "%s:%zu: key '%s' given twice in one rule", file,
                                 key_line, key);
                        rc = -EINVAL;
                    }
                }
                if (!rc) {
                    snprintf(f[nf].key, sizeof(f[nf].key), "%s", key);
                    f[nf].line = key_line;
                    f[nf].value = strdup((const char *)ev.data.scalar.value);
                    if (f[nf].value == NULL) {
                        rc = -ENOMEM;
                    } else {
                        nf++;
                    }
                }
            }
            expect_key = 1;
        } else if (ev.type == YAML_MAPPING_START_EVENT && !expect_key &&
                   strcmp(key, "labels") == 0) {
            /* labels: a flat mapping of names to strings */
            have_labels = 1;
            labels_line = key_line;
            char lk[128] = "";
            int lexpect = 1;
            for (;;) {
                yaml_event_t le;
                if (!yaml_parser_parse(p, &le)) {
                    snprintf(err, errlen, "%s:%zu: YAML syntax error: %s", file,
                             p->problem_mark.line + 1, p->problem ? p->problem : "?");
                    rc = -EINVAL;
                    break;
                }
                size_t ll = le.start_mark.line + 1;
                if (le.type == YAML_MAPPING_END_EVENT) {
                    yaml_event_delete(&le);
                    break;
                }
                if (le.type != YAML_SCALAR_EVENT) {
                    snprintf(err, errlen, "%s:%zu: rule labels must be names mapped to strings",
                             file, ll);
                    rc = -EINVAL;
                } else if (lexpect) {
                    snprintf(lk, sizeof(lk), "%s", (const char *)le.data.scalar.value);
                    if (!label_name_ok(lk)) {
                        snprintf(err, errlen,
                                 "%s:%zu: label name '%s' is not [a-zA-Z_][a-zA-Z0-9_]*", file, ll,
                                 lk);
                        rc = -EINVAL;
                    }
                    lexpect = 0;
                } else {
                    rc = kv_put(&labels, &n_labels, lk, (const char *)le.data.scalar.value);
                    lexpect = 1;
                }
                yaml_event_delete(&le);
                if (rc) {
                    break;
                }
            }
            expect_key = 1;
        } else {
            snprintf(err, errlen, "%s:%zu: '%s' in a rule takes a single value", file, line,
                     expect_key ? "(key)" : key);
            rc = -EINVAL;
        }
        yaml_event_delete(&ev);
        if (rc) {
            goto out;
        }
    }

    const char *name = NULL;
    for (size_t i = 0; i < nf; i++) {
        if (strcmp(f[i].key, "name") == 0) {
            name = f[i].value;
        }
    }
    if (name == NULL || !label_name_ok(name)) {
        snprintf(err, errlen,
                 "%s:%zu: every rule needs a name like DeadLetter ([a-zA-Z_][a-zA-Z0-9_]*)", file,
                 map_line);
        rc = -EINVAL;
        goto out;
    }
    struct alert_rule *r = NULL;
    for (size_t i = 0; i < c->n_alert_rules; i++) {
        if (strcmp(c->alert_rules[i].name, name) == 0) {
            r = &c->alert_rules[i];
        }
    }
    if (r == NULL) {
        if (c->n_alert_rules >= SP_ALERT_MAX_RULES) {
            snprintf(err, errlen, "%s:%zu: more than %u rules", file, map_line, SP_ALERT_MAX_RULES);
            rc = -EINVAL;
            goto out;
        }
        struct alert_rule *nr = realloc(c->alert_rules, sizeof(*nr) * (c->n_alert_rules + 1));
        if (nr == NULL) {
            rc = -ENOMEM;
            goto out;
        }
        c->alert_rules = nr;
        r = &nr[c->n_alert_rules++];
        memset(r, 0, sizeof(*r));
        r->signal = ALERT_SIG_NONE;
        r->denominator = ALERT_SIG_NONE;
        r->scope = -1;
        r->cond = -1;
        r->enabled = 1;
        r->hyst_m = r->hyst_n = 1;
        r->name = strdup(name);
        r->severity = strdup("warning");
        if (r->name == NULL || r->severity == NULL) {
            rc = -ENOMEM;
            goto out;
        }
    }
    r->line = map_line;
    if ((rc = set_str(&r->file, file))) {
        goto out;
    }
    for (size_t i = 0; i < nf && !rc; i++) {
        rc = apply(r, &f[i], file, err, errlen);
    }
    if (!rc && have_labels) {
        (void)labels_line;
        for (size_t j = 0; j < r->n_labels; j++) {
            free(r->labels[j].key);
            free(r->labels[j].value);
        }
        free(r->labels);
        r->labels = labels;
        r->n_labels = n_labels;
        labels = NULL;
        n_labels = 0;
    }
out:
    fields_free(f, nf);
    for (size_t j = 0; j < n_labels; j++) {
        free(labels[j].key);
        free(labels[j].value);
    }
    free(labels);
    return rc;
}

int alert_rules_yaml(yaml_parser_t *p, struct sp_config *c, const char *file, char *err,
                     size_t errlen)
{
    yaml_event_t ev;
    for (;;) {
        if (!yaml_parser_parse(p, &ev)) {
            snprintf(err, errlen, "%s:%zu: YAML syntax error: %s", file, p->problem_mark.line + 1,
                     p->problem ? p->problem : "?");
            return -EINVAL;
        }
        size_t line = ev.start_mark.line + 1;
        yaml_event_type_t t = ev.type;
        yaml_event_delete(&ev);
        if (t == YAML_SEQUENCE_END_EVENT) {
            return 0;
        }
        if (t != YAML_MAPPING_START_EVENT) {
            snprintf(err, errlen, "%s:%zu: each item of 'alerts.rules' must be a mapping", file,
                     line);
            return -EINVAL;
        }
        int rc = read_rule(p, c, file, line, err, errlen);
        if (rc) {
            return rc;
        }
    }
}

static int is_faas(int s)
{
    return s >= ALERT_SIG_INVOCATIONS && s <= ALERT_SIG_DEAD_LETTERS;
}

static int is_agent(int s)
{
    return s >= ALERT_SIG_EXPORT_FAILURES && s <= ALERT_SIG_JOURNAL_MAX_BYTES;
}

static int has_values(int s)
{
    return s == ALERT_SIG_DURATION || s == ALERT_SIG_INIT_DURATION || s == ALERT_SIG_DLQ_DEPTH ||
           s == ALERT_SIG_JOURNAL_BYTES;
}

int alert_rules_check(const struct sp_config *c, char *err, size_t errlen)
{
    for (size_t i = 0; i < c->n_alert_rules; i++) {
        const struct alert_rule *r = &c->alert_rules[i];
        const char *file = r->file ? r->file : "config";
        const char *why = NULL;
        if (r->signal == ALERT_SIG_NONE) {
            why = "needs a signal";
        } else if (r->scope < 0) {
            why = "needs a scope (workflow, function, queue or agent)";
        } else if (r->cond < 0) {
            why = "needs a condition";
        } else if (r->scope == ALERT_SCOPE_AGENT && !is_agent(r->signal)) {
            why = "scope agent takes export_failures, export_requests, journal_bytes or "
                  "journal_max_bytes";
        } else if (r->scope != ALERT_SCOPE_AGENT && is_agent(r->signal)) {
            why = "this signal is the agent's own: use scope agent";
        } else if (r->scope == ALERT_SCOPE_QUEUE && r->signal != ALERT_SIG_DLQ_DEPTH &&
                   r->signal != ALERT_SIG_DEAD_LETTERS) {
            why = "scope queue takes dlq_depth or dead_letters";
        } else if (r->signal == ALERT_SIG_DLQ_DEPTH && r->scope != ALERT_SCOPE_QUEUE) {
            why = "dlq_depth is per queue: use scope queue";
        } else if (r->scope == ALERT_SCOPE_WORKFLOW &&
                   (r->cond != ALERT_COND_COUNT && r->cond != ALERT_COND_ANY)) {
            why = "workflow rules are events: use 'count >= N' or 'any'";
        } else if (r->scope == ALERT_SCOPE_WORKFLOW && !is_faas(r->signal)) {
            why = "scope workflow takes a lifecycle signal";
        } else if (r->scope != ALERT_SCOPE_WORKFLOW && r->window_ms == 0) {
            why = "needs a window";
        } else if (r->window_ms && r->window_ms < SP_ALERT_BUCKETS) {
            why = "window must be at least 20ms";
        } else if (r->cond == ALERT_COND_RATIO && r->denominator == ALERT_SIG_NONE) {
            why = "'ratio > X' needs a denominator signal (e.g. denominator: invocations)";
        } else if (r->cond == ALERT_COND_RATIO && is_agent(r->denominator) != is_agent(r->signal)) {
            why = "the denominator must be a signal of the same scope";
        } else if (r->cond != ALERT_COND_RATIO && r->denominator != ALERT_SIG_NONE) {
            why = "only 'ratio > X' takes a denominator";
        } else if (r->cond == ALERT_COND_P95 && !has_values(r->signal)) {
            why = "'p95 > X' needs a signal with values (duration, init_duration, dlq_depth, "
                  "journal_bytes)";
        } else if (r->cond == ALERT_COND_INCREASE && r->signal != ALERT_SIG_DLQ_DEPTH &&
                   r->signal != ALERT_SIG_JOURNAL_BYTES) {
            why = "'increase >= N' is for gauges (dlq_depth, journal_bytes)";
        } else if (r->hyst_n > 1 && r->scope == ALERT_SCOPE_WORKFLOW) {
            why = "hysteresis is for condition rules, not workflow events";
        }
        if (why) {
            snprintf(err, errlen, "%s:%zu: rule '%s' %s", file, r->line, r->name, why);
            return -EINVAL;
        }
    }
    for (size_t i = 0; i < c->n_alertmanager_urls; i++) {
        const char *u = c->alertmanager_urls[i];
        if (!sp_url_ok(u)) {
            /* Never the whole URL: it may carry user:password or a token. */
            char o[256];
            sp_url_origin(u, o, sizeof(o));
            snprintf(err, errlen, "Alertmanager URL '%s' must start with http:// or https://", o);
            return -EINVAL;
        }
    }
    if (c->webhook_url[0] && !sp_url_ok(c->webhook_url)) {
        char o[256];
        sp_url_origin(c->webhook_url, o, sizeof(o));
        snprintf(err, errlen, "alerts.webhook.url '%s' must start with http:// or https://", o);
        return -EINVAL;
    }
    if (c->alert_resend_ms < 10 || c->alert_eval_ms < 10) {
        snprintf(err, errlen,
                 "alerts.resend_interval and alerts.evaluation_interval must be at "
                 "least 10ms");
        return -EINVAL;
    }
    return 0;
}
