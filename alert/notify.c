/*
 * notify.c - the notifiers of the alert engine (see notify.h): one vtable
 * each, a bounded request queue with retries for the HTTP ones.
 *
 * Alertmanager: POST <url>/api/v2/alerts with a JSON array of alerts (labels,
 * annotations, startsAt, endsAt, generatorURL = the trace link). Labels are
 * the rule's name (alertname), severity, the scope key and the rule's own
 * labels: nothing agent-specific, so the same incident seen by several
 * agents is one alert there.
 * Webhook: Alertmanager's webhook payload (version 4), with
 * X-Spindle-Timestamp (Unix seconds) and X-Spindle-Signature
 * ("sha256=" + hex HMAC-SHA256 of "<timestamp>.<body>") when a secret is set.
 */
#include "notify.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "agent.h"
#include "alert.h"
#include "caps.h"
#include "crypto.h"
#include "hmap.h"
#include "http_client.h"
#include "ids.h"
#include "log.h"
#include "retryq.h"

struct notifier;

struct nreq;

struct notifier_ops {
    const char *name;
    void (*add)(struct notifier *nf, const struct alert_msg *m);
    void (*flush)(struct notifier *nf);
    /* Adds this notifier's own headers (auth, signature) for request r. */
    void (*headers)(struct notifier *nf, const struct nreq *r);
};

/* One request waiting or in flight. */
struct nreq {
    struct sp_retry_item ri; /* attempts, backoff; cost 1 (the bound counts requests) */
    struct sp_buf body;
};

struct notifier {
    const struct notifier_ops *ops;
    struct notify *n;
    char *url;             /* HTTP notifiers: where to POST */
    char origin[256];      /* scheme://host:port of url: what logs show (a webhook's path
                              or query may carry a token, as Slack's do) */
    struct sp_buf pending; /* this evaluation's alerts, encoded */
    uint32_t n_pending;
    uint32_t n_firing; /* webhook: the payload's status */
    struct sp_retryq q;   /* HTTP notifiers: requests waiting; its timer ends backoffs */
    int timer_open;       /* q's timer not yet through its close callback */
    struct nreq *inflight;
    char *hdr[4];     /* headers of the request in flight */
    size_t n_hdr;
};

/* The HTTP notifiers post through the agent's one HTTP client (sp->http),
 * which the OTLP exporter shares: notify_init() makes it if nobody has, and
 * the agent closes it at shutdown, after notify_free(). */
struct notify {
    struct spindle *sp;
    struct notifier *nf[SP_ALERT_MAX_AM_URLS + 3];
    size_t n_nf;
    char *auth_header; /* "Authorization: ..." for Alertmanager, or NULL */
    uint8_t *secret;   /* webhook HMAC key, or NULL */
    size_t secret_len;
    int live_http; /* HTTP notifiers not yet freed (timer open or a request in flight):
                      the last frees this */
    int freeing;
};

/* --- text -------------------------------------------------------------------- */

static void add_value(struct sp_buf *b, double v)
{
    if (v == floor(v) && fabs(v) < 1e15) {
        sp_buf_printf(b, "%.0f", v);
    } else {
        sp_buf_printf(b, "%.4g", v);
    }
}

/* As the configuration writes durations: 5m, 30s, 1h, 250ms. */
static void add_duration(struct sp_buf *b, uint64_t ms)
{
    if (ms == 0) {
        return;
    }
    if (ms % 3600000u == 0) {
        sp_buf_printf(b, "%" PRIu64 "h", ms / 3600000u);
    } else if (ms % 60000u == 0) {
        sp_buf_printf(b, "%" PRIu64 "m", ms / 60000u);
    } else if (ms % 1000u == 0) {
        sp_buf_printf(b, "%" PRIu64 "s", ms / 1000u);
    } else {
        sp_buf_printf(b, "%" PRIu64 "ms", ms);
    }
}

static void render(struct sp_buf *b, const char *t, const struct alert_msg *m)
{
    for (const char *p = t; *p;) {
        const char *o = strstr(p, "{{");
        if (o == NULL) {
            sp_buf_adds(b, p);
            break;
        }
        sp_buf_add(b, p, (size_t)(o - p));
        const char *c = strstr(o + 2, "}}");
        if (c == NULL) {
            sp_buf_adds(b, o);
            break;
        }
        const char *a = o + 2, *z = c;
        while (a < z && *a == ' ') {
            a++;
        }
        while (z > a && z[-1] == ' ') {
            z--;
        }
        size_t n = (size_t)(z - a);
#define IS(w) (n == sizeof(w) - 1 && memcmp(a, w, n) == 0)
        if (IS("function")) {
            sp_buf_add(b, m->function.p, m->function.len);
        } else if (IS("queue")) {
            sp_buf_add(b, m->queue.p, m->queue.len);
        } else if (IS("correlation_id")) {
            sp_buf_add(b, m->cid.p, m->cid.len);
        } else if (IS("trace_id")) {
            if (m->has_trace) {
                sp_buf_add_hex(b, m->trace_id, 16);
            }
        } else if (IS("value")) {
            add_value(b, m->value);
        } else if (IS("alertname")) {
            sp_buf_adds(b, m->rule->name);
        } else if (IS("severity")) {
            sp_buf_adds(b, m->rule->severity);
        } else if (IS("window")) {
            add_duration(b, m->rule->window_ms);
        }
#undef IS
        p = c + 2;
    }
}

void notify_render(const char *tmpl, const struct alert_msg *m, char *out, size_t cap)
{
    struct sp_buf b;
    sp_buf_init(&b, SP_ALERT_MAX_TEXT_BYTES);
    render(&b, tmpl ? tmpl : "", m);
    size_t n = b.len < cap - 1 ? b.len : cap - 1;
    if (n) {
        memcpy(out, b.p, n);
    }
    out[n] = 0;
    sp_buf_free(&b);
}

static const char *trace_tmpl(const struct notify *n, const struct alert_msg *m)
{
    const char *t = m->rule->trace_url ? m->rule->trace_url : n->sp->cfg.alert_trace_url;
    /* A link that needs the trace id is no link without one. */
    if (!t[0] || (!m->has_trace && strstr(t, "trace_id"))) {
        return "";
    }
    return t;
}

static void add_time(struct sp_buf *b, uint64_t ns)
{
    time_t s = (time_t)(ns / 1000000000u);
    struct tm tm;
    gmtime_r(&s, &tm);
    sp_buf_printf(b, "\"%04d-%02d-%02dT%02d:%02d:%02d.%03uZ\"", tm.tm_year + 1900, tm.tm_mon + 1,
                  tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                  (unsigned)(ns % 1000000000u / 1000000u));
}

static void add_kv(struct sp_buf *b, int *first, const char *k, const char *v, size_t vlen)
{
    sp_buf_adds(b, *first ? "" : ",");
    *first = 0;
    sp_buf_add_json_str(b, k, strlen(k));
    sp_buf_addc(b, ':');
    sp_buf_add_json_str(b, v, vlen);
}

static const char *scope_label(int scope)
{
    switch (scope) {
    case ALERT_SCOPE_WORKFLOW:
        return "correlation_id";
    case ALERT_SCOPE_FUNCTION:
        return "function";
    case ALERT_SCOPE_QUEUE:
        return "queue";
    default:
        return NULL;
    }
}

/* Labels are what the alert is about and nothing else: the rule, the scope
 * key and, for a workflow alert, the function and queue of the record that
 * raised it (fixed for the alert's life). All of it comes from that record,
 * so every agent that sees it sends the same label set; workflow state that
 * one agent may know and another not (its name, counts) is an annotation. */
static void add_labels(struct sp_buf *b, const struct alert_msg *m)
{
    const struct alert_rule *r = m->rule;
    int first = 1;
    sp_buf_addc(b, '{');
    add_kv(b, &first, "alertname", r->name, strlen(r->name));
    add_kv(b, &first, "severity", r->severity, strlen(r->severity));
    const char *sl = scope_label(r->scope);
    if (sl) {
        add_kv(b, &first, sl, m->scope_key.p, m->scope_key.len);
    }
    if (m->label_function.len) {
        add_kv(b, &first, "function", m->label_function.p, m->label_function.len);
    }
    if (m->label_queue.len) {
        add_kv(b, &first, "queue", m->label_queue.p, m->label_queue.len);
    }
    for (size_t i = 0; i < r->n_labels; i++) {
        const char *k = r->labels[i].key;
        if (m->label_function.len && strcmp(k, "function") == 0) {
            continue;
        }
        if (m->label_queue.len && strcmp(k, "queue") == 0) {
            continue;
        }
        if (strcmp(k, "alertname") && strcmp(k, "severity") && (!sl || strcmp(k, sl))) {
            add_kv(b, &first, k, r->labels[i].value, strlen(r->labels[i].value));
        }
    }
    sp_buf_addc(b, '}');
}

static void add_annotations(struct notify *n, struct sp_buf *b, const struct alert_msg *m)
{
    struct sp_buf t;
    sp_buf_init(&t, SP_ALERT_MAX_TEXT_BYTES);
    int first = 1;
    sp_buf_addc(b, '{');
    if (m->rule->summary) {
        render(&t, m->rule->summary, m);
        add_kv(b, &first, "summary", t.p ? t.p : "", t.len);
        sp_buf_reset(&t);
    }
    if (m->rule->description) {
        render(&t, m->rule->description, m);
        add_kv(b, &first, "description", t.p ? t.p : "", t.len);
        sp_buf_reset(&t);
    }
    if (m->workflow.len) {
        add_kv(b, &first, "workflow", m->workflow.p, m->workflow.len);
    }
    if (m->has_trace) {
        sp_buf_add_hex(&t, m->trace_id, 16);
        add_kv(b, &first, "trace_id", t.p, t.len);
        sp_buf_reset(&t);
    }
    const char *tu = trace_tmpl(n, m);
    if (tu[0]) {
        render(&t, tu, m);
        add_kv(b, &first, "trace_url", t.p ? t.p : "", t.len);
        sp_buf_reset(&t);
    }
    add_value(&t, m->value);
    add_kv(b, &first, "value", t.p, t.len);
    sp_buf_addc(b, '}');
    sp_buf_free(&t);
}

/* The alert object both formats share. */
static void add_alert(struct notify *n, struct sp_buf *b, const struct alert_msg *m, int webhook)
{
    sp_buf_adds(b, "{\"labels\":");
    add_labels(b, m);
    sp_buf_adds(b, ",\"annotations\":");
    add_annotations(n, b, m);
    sp_buf_adds(b, ",\"startsAt\":");
    add_time(b, m->starts_ns);
    sp_buf_adds(b, ",\"endsAt\":");
    add_time(b, m->ends_ns);
    const char *tu = trace_tmpl(n, m);
    if (tu[0]) {
        struct sp_buf t;
        sp_buf_init(&t, SP_ALERT_MAX_TEXT_BYTES);
        render(&t, tu, m);
        sp_buf_adds(b, ",\"generatorURL\":");
        sp_buf_add_json_str(b, t.p ? t.p : "", t.len);
        sp_buf_free(&t);
    }
    if (webhook) {
        sp_buf_printf(b, ",\"status\":\"%s\"", m->kind == ALERT_RESOLVED ? "resolved" : "firing");
        /* A stable id of the label set, as Alertmanager gives one. */
        struct sp_buf l;
        sp_buf_init(&l, SP_NOTIFY_MAX_BODY_BYTES);
        add_labels(&l, m);
        sp_buf_printf(b, ",\"fingerprint\":\"%016" PRIx64 "\"", sp_hash(l.p, l.len, 7));
        sp_buf_free(&l);
    }
    sp_buf_addc(b, '}');
}

/* --- HTTP queue ------------------------------------------------------------------ */

static void pump(struct notifier *nf);
static void nf_maybe_free(struct notifier *nf);

static void nreq_free(struct nreq *r)
{
    sp_buf_free(&r->body);
    free(r);
}

static struct nreq *nreq_of(struct sp_retry_item *it)
{
    return (struct nreq *)(void *)((char *)it - offsetof(struct nreq, ri));
}

/* Full: the oldest request goes. A newer one carries fresher endsAt values,
 * and condition alerts are re-sent anyway. */
static void drop_oldest(struct sp_retryq *q, struct sp_retry_item *it)
{
    struct notifier *nf = q->owner;
    nreq_free(nreq_of(it));
    nf->n->sp->stats.notify_drop_queue_full++;
    SP_LOG_RL(SP_LOG_WARN, "alert notifier queue full; dropped the oldest request",
              "notifier=%s url=\"%s\"", nf->ops->name, nf->origin);
}

static void enqueue(struct notifier *nf, struct sp_buf *body)
{
    struct notify *n = nf->n;
    struct nreq *r = calloc(1, sizeof(*r));
    if (r == NULL) {
        sp_buf_free(body);
        n->sp->stats.notify_drop_queue_full++;
        return;
    }
    r->body = *body;
    /* alerts.notify_queue_max requests wait; the one in flight is not counted. */
    r->ri.cost = 1;
    sp_retryq_push(&nf->q, &r->ri, n->sp->cfg.notify_queue_max, 0, drop_oldest);
    pump(nf);
}

static void wake(struct sp_retryq *q)
{
    pump(q->owner);
}

static void done(void *arg, const struct sp_http_response *resp)
{
    struct notifier *nf = arg;
    struct notify *n = nf->n;
    struct nreq *r = nf->inflight;
    nf->inflight = NULL;
    for (size_t i = 0; i < nf->n_hdr; i++) {
        free(nf->hdr[i]);
    }
    nf->n_hdr = 0;
    struct sp_stats *st = &n->sp->stats;
    long s = resp->status;
    if (s >= 200 && s < 300) {
        st->notify_sent++;
        nreq_free(r);
    } else if (n->freeing) {
        st->notify_drop_shutdown++;
        nreq_free(r);
    } else if (s >= 400 && s < 500 && s != 408 && s != 429) {
        /* The receiver refused the request itself: sending it again cannot help. */
        st->notify_drop_rejected++;
        SP_LOG_RL(SP_LOG_WARN, "alert notification refused; dropped",
                  "notifier=%s url=\"%s\" status=%ld body=\"%.*s\"", nf->ops->name, nf->origin, s,
                  (int)(resp->body_len > 200 ? 200 : resp->body_len), resp->body ? resp->body : "");
        nreq_free(r);
    } else if (r->ri.attempts >= n->sp->cfg.notify_max_attempts) {
        st->notify_drop_retries_exhausted++;
        SP_LOG_RL(SP_LOG_WARN, "alert notification failed; retries exhausted, dropped",
                  "notifier=%s url=\"%s\" status=%ld error=\"%s\" attempts=%u", nf->ops->name,
                  nf->origin, s, resp->error ? resp->error : "", r->ri.attempts);
        nreq_free(r);
    } else {
        st->notify_retries++;
        /* 250 ms, 500 ms, 1 s ... at most 8 s: short, because an alert late
         * by a minute has lost most of its worth, and without jitter (one
         * request in flight per receiver: no herd to spread), as documented.
         * A Retry-After may lengthen the wait up to that ceiling (capped
         * waits are counted), never shorten it (sp_retry_wait_ms). */
        static const struct sp_retry_policy policy = {
            .initial_ms = SP_NOTIFY_BACKOFF_INITIAL_MS,
            .max_ms = SP_NOTIFY_BACKOFF_MAX_MS,
            .jitter = 0,
        };
        int capped;
        uint64_t wait =
            sp_retry_wait_ms(&policy, r->ri.attempts, resp->retry_after_s, NULL, &capped);
        if (capped) {
            st->notify_retry_after_capped++;
            SP_LOG_RL(SP_LOG_WARN, "receiver's Retry-After is longer than the notifier's 8 s "
                      "backoff ceiling; capped",
                      "notifier=%s url=\"%s\" retry_after_s=%ld", nf->ops->name, nf->origin,
                      resp->retry_after_s);
        }
        sp_retryq_retry(&nf->q, &r->ri, wait);
    }
    if (n->freeing) {
        nf_maybe_free(nf); /* its last request is through: it may go now */
        return;
    }
    pump(nf);
}

static void pump(struct notifier *nf)
{
    struct notify *n = nf->n;
    if (nf->inflight || n->freeing || n->sp->http == NULL) {
        return;
    }
    struct sp_retry_item *it = sp_retryq_next(&nf->q);
    if (it == NULL) {
        return; /* nothing waits, or the timer wakes us when the backoff ends */
    }
    struct nreq *r = nreq_of(it);
    nf->inflight = r;
    nf->hdr[nf->n_hdr++] = strdup("Content-Type: application/json");
    nf->ops->headers(nf, r);
    for (size_t i = 0; i < nf->n_hdr; i++) {
        if (nf->hdr[i] == NULL) {
            nf->n_hdr = i; /* out of memory: send what we have; the receiver decides */
            break;
        }
    }
    struct sp_http_call req = {
        .url = nf->url,
        .headers = (const char *const *)nf->hdr,
        .n_headers = nf->n_hdr,
        .body = r->body.p,
        .body_len = r->body.len,
        .timeout_ms = (long)n->sp->cfg.notify_timeout_ms,
    };
    /* alerts.tls, read per request so that a reload applies it (as notify_timeout). */
    const struct sp_tls_files *t = &n->sp->cfg.alert_tls;
    const struct sp_http_tls tls = {
        .ca_file = t->ca_file, .cert_file = t->cert_file, .key_file = t->key_file};
    req.tls = &tls;
    if (sp_http_post(n->sp->http, &req, done, nf) != 0) {
        struct sp_http_response resp = {
            .status = 0, .transport_error = 1, .error = "cannot start", .retry_after_s = -1};
        done(nf, &resp);
    }
}

/* --- the notifiers --------------------------------------------------------------- */

static int wants(const struct notify *n, const struct alert_msg *m)
{
    return m->kind != ALERT_RESOLVED || n->sp->cfg.alert_explicit_resolve;
}

static void am_flush(struct notifier *nf);
static void wh_flush(struct notifier *nf);

static void am_add(struct notifier *nf, const struct alert_msg *m)
{
    if (!wants(nf->n, m)) {
        return;
    }
    if (nf->pending.len > SP_NOTIFY_SPLIT_BYTES) {
        am_flush(nf); /* many alerts at once: more requests, none over the body cap */
    }
    sp_buf_addc(&nf->pending, nf->n_pending++ ? ',' : '[');
    add_alert(nf->n, &nf->pending, m, 0);
}

static void am_flush(struct notifier *nf)
{
    if (nf->n_pending == 0) {
        return;
    }
    sp_buf_addc(&nf->pending, ']');
    struct sp_buf body = nf->pending;
    sp_buf_init(&nf->pending, SP_NOTIFY_MAX_BODY_BYTES);
    nf->n_pending = 0;
    enqueue(nf, &body);
}

static void wh_add(struct notifier *nf, const struct alert_msg *m)
{
    if (!wants(nf->n, m)) {
        return;
    }
    if (m->kind == ALERT_RESEND && m->rule->scope == ALERT_SCOPE_WORKFLOW) {
        /* Alertmanager merges a workflow alert's re-sends into one alert; a
         * webhook receiver cannot (its endsAt does not move), so it gets the
         * firing and each growth, each retried, and not the re-sends. */
        return;
    }
    if (nf->pending.len > SP_NOTIFY_SPLIT_BYTES) {
        wh_flush(nf);
    }
    if (nf->n_pending++) {
        sp_buf_addc(&nf->pending, ',');
    }
    if (m->kind != ALERT_RESOLVED) {
        nf->n_firing++;
    }
    add_alert(nf->n, &nf->pending, m, 1);
}

static void wh_flush(struct notifier *nf)
{
    if (nf->n_pending == 0) {
        return;
    }
    struct sp_buf body;
    sp_buf_init(&body, SP_NOTIFY_MAX_BODY_BYTES);
    sp_buf_printf(&body,
                  "{\"version\":\"4\",\"groupKey\":\"spindle\",\"truncatedAlerts\":0,"
                  "\"status\":\"%s\",\"receiver\":\"spindle\",\"groupLabels\":{},"
                  "\"commonLabels\":{},\"commonAnnotations\":{},\"externalURL\":\"\","
                  "\"alerts\":[",
                  nf->n_firing ? "firing" : "resolved");
    sp_buf_add(&body, nf->pending.p, nf->pending.len);
    sp_buf_adds(&body, "]}");
    sp_buf_reset(&nf->pending);
    nf->n_pending = 0;
    nf->n_firing = 0;
    enqueue(nf, &body);
}

static int transition(const struct alert_msg *m)
{
    return m->kind != ALERT_RESEND;
}

static const char *kind_word(int kind)
{
    switch (kind) {
    case ALERT_FIRING:
        return "alert firing";
    case ALERT_GREW:
        return "alert count grew";
    case ALERT_RESOLVED:
        return "alert cleared";
    default:
        return "alert";
    }
}

/* Record data ends up in the text: keep the logfmt line one line and parseable. */
static void sanitize(char *s)
{
    for (; *s; s++) {
        if (*s == '"' || *s == '\\' || (unsigned char)*s < 0x20) {
            *s = '_';
        }
    }
}

static void log_add(struct notifier *nf, const struct alert_msg *m)
{
    if (!transition(m)) {
        return;
    }
    char summary[512], key[SP_ALERT_MAX_KEY_BYTES + 1], url[512], tid[33] = "";
    notify_render(m->rule->summary, m, summary, sizeof(summary));
    notify_render(trace_tmpl(nf->n, m), m, url, sizeof(url));
    size_t kl = m->scope_key.len < sizeof(key) - 1 ? m->scope_key.len : sizeof(key) - 1;
    memcpy(key, m->scope_key.p, kl);
    key[kl] = 0;
    sanitize(summary);
    sanitize(key);
    sanitize(url);
    if (m->has_trace) {
        for (int i = 0; i < 16; i++) {
            snprintf(tid + 2 * i, 3, "%02x", m->trace_id[i]);
        }
    }
    int crit = strcmp(m->rule->severity, "critical") == 0;
    const char *sl = scope_label(m->rule->scope);
    char val[32];
    snprintf(val, sizeof(val), "%.4g", m->value);
    sp_logf(m->kind == ALERT_RESOLVED ? SP_LOG_INFO
            : crit                    ? SP_LOG_ERROR
                                      : SP_LOG_WARN,
            NULL, kind_word(m->kind),
            "alertname=%s severity=%s %s%s%s%s value=%s summary=\"%s\" trace_id=%s "
            "trace_url=\"%s\"%s",
            m->rule->name, m->rule->severity, sl ? sl : "", sl ? "=\"" : "", sl ? key : "",
            sl ? "\"" : "", val, summary, tid, url, m->replayed ? " replayed=true" : "");
}

static void otlp_attr(struct sp_arena *a, struct sp_attrs *as, const char *k, struct sp_str v)
{
    struct sp_attr *at = &as->v[as->n++];
    at->key = (struct sp_str){k, strlen(k)};
    at->val.type = SP_VAL_STR;
    at->val.u.s = sp_str_dup(a, v);
}

static void otlp_add(struct notifier *nf, const struct alert_msg *m)
{
    if (!transition(m)) {
        return;
    }
    struct spindle *sp = nf->n->sp;
    /* An alert about the agent itself travels under the agent's own resource
     * (service.name "spindle"), in a batch of its own, like its metrics. */
    int agent = m->rule->scope == ALERT_SCOPE_AGENT;
    if (agent) {
        sp_pipe_seal(sp, SP_SIG_LOGS);
    }
    struct sp_batch *b = sp_pipe_batch(sp, SP_SIG_LOGS);
    if (b == NULL) {
        return;
    }
    if (agent) {
        b->agent = 1;
    }
    struct sp_arena *a = &b->arena;
    struct sp_logrec *l = sp_arena_calloc(a, sizeof(*l));
    struct sp_attr *attrs = sp_arena_calloc(a, sizeof(struct sp_attr) * 10);
    if (l == NULL || attrs == NULL) {
        return;
    }
    char text[SP_ALERT_MAX_TEXT_BYTES];
    notify_render(m->rule->summary ? m->rule->summary : m->rule->name, m, text, sizeof(text));
    l->function = sp_str_dup(a, m->function);
    l->ts_ns = sp_now_ns();
    l->observed_ns = l->ts_ns;
    int crit = strcmp(m->rule->severity, "critical") == 0;
    l->severity_number = crit ? 17 : 13; /* ERROR : WARN */
    l->severity_text = (struct sp_str){crit ? "ERROR" : "WARN", crit ? 5 : 4};
    l->body.type = SP_VAL_STR;
    l->body.u.s = sp_str_dup(a, (struct sp_str){text, strlen(text)});
    l->attrs.v = attrs;
    l->event_name = (struct sp_str){"spindle.alert", 13};
    otlp_attr(a, &l->attrs, "event.name", l->event_name);
    otlp_attr(a, &l->attrs, "alert.name", (struct sp_str){m->rule->name, strlen(m->rule->name)});
    otlp_attr(a, &l->attrs, "alert.severity",
              (struct sp_str){m->rule->severity, strlen(m->rule->severity)});
    const char *st = m->kind == ALERT_RESOLVED ? "resolved" : "firing";
    otlp_attr(a, &l->attrs, "alert.status", (struct sp_str){st, strlen(st)});
    struct sp_attr *v = &l->attrs.v[l->attrs.n++];
    v->key = (struct sp_str){"alert.value", 11};
    v->val.type = SP_VAL_DOUBLE;
    v->val.u.d = m->value;
    if (m->replayed) {
        struct sp_attr *rp = &l->attrs.v[l->attrs.n++];
        rp->key = (struct sp_str){"alert.replayed", 14};
        rp->val.type = SP_VAL_BOOL;
        rp->val.u.b = 1;
    }
    if (m->cid.len) {
        otlp_attr(a, &l->attrs, "spindle.correlation_id", m->cid);
    }
    if (m->queue.len) {
        otlp_attr(a, &l->attrs, "messaging.destination.name", m->queue);
    }
    const char *tu = trace_tmpl(nf->n, m);
    if (tu[0]) {
        notify_render(tu, m, text, sizeof(text));
        otlp_attr(a, &l->attrs, "alert.trace_url", (struct sp_str){text, strlen(text)});
    }
    if (m->has_trace && m->cid.len) {
        /* On the workflow's own span, so the backend shows it in the trace. */
        l->has_trace = 1;
        memcpy(l->trace_id, m->trace_id, 16);
        sp_id_workflow_span(m->cid.p, m->cid.len, l->span_id);
    }
    sp_pipe_commit(sp, SP_SIG_LOGS, l, 256 + strlen(text), 0);
    if (agent) {
        sp_pipe_seal(sp, SP_SIG_LOGS);
    }
}

static void nothing(struct notifier *nf)
{
    (void)nf;
}

static void no_headers(struct notifier *nf, const struct nreq *r)
{
    (void)nf;
    (void)r;
}

/* Alertmanager: the bearer token or basic auth, when configured. */
static void am_headers(struct notifier *nf, const struct nreq *r)
{
    (void)r;
    if (nf->n->auth_header) {
        nf->hdr[nf->n_hdr++] = strdup(nf->n->auth_header);
    }
}

/* Webhook: with a secret, the timestamp and the HMAC of "<timestamp>.<body>". */
static void wh_headers(struct notifier *nf, const struct nreq *r)
{
    struct notify *n = nf->n;
    if (n->secret == NULL) {
        return;
    }
    char ts[32], sig[65], h[128];
    snprintf(ts, sizeof(ts), "%" PRIu64, sp_now_ns() / 1000000000u);
    if (notify_sign(n->secret, n->secret_len, ts, r->body.p, r->body.len, sig) == 0) {
        snprintf(h, sizeof(h), "X-Spindle-Timestamp: %s", ts);
        nf->hdr[nf->n_hdr++] = strdup(h);
        snprintf(h, sizeof(h), "X-Spindle-Signature: sha256=%s", sig);
        nf->hdr[nf->n_hdr++] = strdup(h);
    }
}

static const struct notifier_ops am_ops = {
    .name = "alertmanager", .add = am_add, .flush = am_flush, .headers = am_headers};
static const struct notifier_ops wh_ops = {
    .name = "webhook", .add = wh_add, .flush = wh_flush, .headers = wh_headers};
static const struct notifier_ops log_ops = {
    .name = "log", .add = log_add, .flush = nothing, .headers = no_headers};
static const struct notifier_ops otlp_ops = {
    .name = "otlp", .add = otlp_add, .flush = nothing, .headers = no_headers};

/* --- secrets ---------------------------------------------------------------------- */

/* A secret from `file` or the variable `env` (file first). Trailing newlines
 * go: files written by `echo` have one. Never logged. */
static int read_secret(const char *file, const char *env, const char *what, char **out, size_t *len)
{
    *out = NULL;
    *len = 0;
    char buf[SP_NOTIFY_MAX_SECRET_BYTES + 1];
    size_t n = 0;
    if (file[0]) {
        int fd = open(file, O_RDONLY | O_CLOEXEC);
        if (fd < 0) {
            SP_LOG(SP_LOG_ERROR, "cannot read a secret file", "what=%s file=\"%s\" error=\"%s\"",
                   what, file, strerror(errno));
            return -errno;
        }
        ssize_t r;
        while (n < sizeof(buf) && (r = read(fd, buf + n, sizeof(buf) - n)) > 0) {
            n += (size_t)r;
        }
        close(fd);
        if (n > SP_NOTIFY_MAX_SECRET_BYTES) {
            SP_LOG(SP_LOG_ERROR, "secret file too large", "what=%s file=\"%s\" max_bytes=%u", what,
                   file, SP_NOTIFY_MAX_SECRET_BYTES);
            return -EFBIG;
        }
    } else if (env[0]) {
        const char *v = getenv(env);
        if (v == NULL || !v[0]) {
            SP_LOG(SP_LOG_ERROR, "secret variable not set", "what=%s variable=%s", what, env);
            return -ENOENT;
        }
        n = strlen(v);
        if (n > SP_NOTIFY_MAX_SECRET_BYTES) {
            return -EFBIG;
        }
        memcpy(buf, v, n);
    } else {
        return 0;
    }
    while (n && (buf[n - 1] == '\n' || buf[n - 1] == '\r')) {
        n--;
    }
    *out = malloc(n + 1);
    if (*out == NULL) {
        explicit_bzero(buf, sizeof(buf));
        return -ENOMEM;
    }
    memcpy(*out, buf, n);
    (*out)[n] = 0;
    *len = n;
    explicit_bzero(buf, sizeof(buf));
    return 0;
}

static void secret_free(void *p, size_t n)
{
    if (p) {
        explicit_bzero(p, n);
        free(p);
    }
}

static int auth_setup(struct notify *n)
{
    const struct sp_config *c = &n->sp->cfg;
    char *tok;
    size_t len;
    int rc =
        read_secret(c->am_bearer_token_file, c->am_bearer_token_env, "bearer_token", &tok, &len);
    if (rc) {
        return rc;
    }
    if (tok) {
        size_t cap = len + 32;
        n->auth_header = malloc(cap);
        if (n->auth_header) {
            snprintf(n->auth_header, cap, "Authorization: Bearer %s", tok);
        }
        secret_free(tok, len);
        return n->auth_header ? 0 : -ENOMEM;
    }
    if (!c->am_username[0]) {
        return 0;
    }
    char *pw;
    if ((rc = read_secret(c->am_password_file, c->am_password_env, "password", &pw, &len))) {
        return rc;
    }
    size_t ul = strlen(c->am_username);
    size_t pl = pw ? len : 0;
    char *plain = malloc(ul + 1 + pl + 1);
    size_t cap = 4 * ((ul + 1 + pl + 2) / 3) + 32;
    n->auth_header = malloc(cap);
    if (plain && n->auth_header) {
        memcpy(plain, c->am_username, ul);
        plain[ul] = ':';
        if (pl) {
            memcpy(plain + ul + 1, pw, pl);
        }
        strcpy(n->auth_header, "Authorization: Basic ");
        if (sp_base64(plain, ul + 1 + pl, n->auth_header + 21, cap - 21) != 0) {
            free(n->auth_header); /* never sent half-made */
            n->auth_header = NULL;
        }
    } else {
        free(n->auth_header); /* never sent half-made */
        n->auth_header = NULL;
    }
    secret_free(plain, ul + 1 + pl + 1);
    secret_free(pw, len);
    return n->auth_header ? 0 : -ENOMEM;
}

int notify_sign(const uint8_t *key, size_t key_len, const char *ts, const char *body,
                size_t body_len, char out[65])
{
    uint8_t mac[SP_SHA256_LEN];
    const struct sp_iov parts[] = {{ts, strlen(ts)}, {".", 1}, {body, body_len}};
    int rc = sp_hmac_sha256(key, key_len, parts, 3, mac);
    if (rc) {
        return rc;
    }
    for (int i = 0; i < 32; i++) {
        snprintf(out + 2 * i, 3, "%02x", mac[i]);
    }
    return 0;
}

/* --- lifecycle ---------------------------------------------------------------------- */

/* "https://user:pw@host:8443/path?q" -> "https://host:8443" */
static void url_origin(const char *url, char *out, size_t cap)
{
    const char *p = strstr(url, "://");
    const char *host = p ? p + 3 : url;
    const char *end = host + strcspn(host, "/?#");
    const char *at = memchr(host, '@', (size_t)(end - host));
    if (at) {
        host = at + 1;
    }
    snprintf(out, cap, "%.*s%.*s", p ? (int)(p + 3 - url) : 0, url, (int)(end - host), host);
}

/* An Alertmanager URL in a form two spellings of one endpoint share: scheme
 * and host in lower case, the scheme's default port dropped, trailing
 * slashes of the path dropped (the notifier appends /api/v2/alerts). What
 * cannot be told without a lookup (a name and its address) stays apart. */
static void am_url_key(const char *url, char *out, size_t cap)
{
    struct sp_buf b;
    sp_buf_init(&b, 4096);
    const char *p = strstr(url, "://");
    const char *scheme = p ? url : "http";
    size_t sl = p ? (size_t)(p - url) : 4;
    const char *auth = p ? p + 3 : url;
    for (size_t i = 0; i < sl; i++) {
        sp_buf_addc(&b, (char)(scheme[i] >= 'A' && scheme[i] <= 'Z' ? scheme[i] + 32 : scheme[i]));
    }
    sp_buf_adds(&b, "://");
    const char *end = auth + strcspn(auth, "/?#");
    const char *at = NULL;
    for (const char *q = auth; q < end; q++) {
        if (*q == '@') {
            at = q;
        }
    }
    if (at) {
        sp_buf_add(&b, auth, (size_t)(at + 1 - auth)); /* credentials as given */
        auth = at + 1;
    }
    /* host[:port], the host maybe a bracketed IPv6 address */
    const char *colon = NULL;
    for (const char *q = auth; q < end; q++) {
        if (*q == ']') {
            colon = NULL;
        } else if (*q == ':') {
            colon = q;
        }
    }
    const char *hend = colon ? colon : end;
    for (const char *q = auth; q < hend; q++) {
        sp_buf_addc(&b, (char)(*q >= 'A' && *q <= 'Z' ? *q + 32 : *q));
    }
    if (colon) {
        const char *port = colon + 1;
        size_t pl = (size_t)(end - port);
        int dflt = pl == 0 ||
                   (b.len >= 7 && memcmp(b.p, "http://", 7) == 0 && pl == 2 &&
                    memcmp(port, "80", 2) == 0) ||
                   (b.len >= 8 && memcmp(b.p, "https://", 8) == 0 && pl == 3 &&
                    memcmp(port, "443", 3) == 0);
        if (!dflt) {
            sp_buf_addc(&b, ':');
            sp_buf_add(&b, port, pl);
        }
    }
    const char *path = end;
    size_t plen = strcspn(path, "?#");
    while (plen && path[plen - 1] == '/') {
        plen--;
    }
    sp_buf_add(&b, path, plen);
    sp_buf_adds(&b, path + strcspn(path, "?#"));
    size_t n = b.len < cap - 1 ? b.len : cap - 1;
    if (n) {
        memcpy(out, b.p, n);
    }
    out[n] = 0;
    sp_buf_free(&b);
}

/* The same Alertmanager given twice (in the file and with --alertmanager,
 * spelled alike or not) would get every alert twice: does URL i repeat an
 * earlier one? */
static int am_url_repeated(const struct sp_config *c, size_t i)
{
    char a[2048], b[2048];
    am_url_key(c->alertmanager_urls[i], a, sizeof(a));
    for (size_t j = 0; j < i; j++) {
        am_url_key(c->alertmanager_urls[j], b, sizeof(b));
        if (strcmp(a, b) == 0) {
            return 1;
        }
    }
    return 0;
}

static struct notifier *nf_new(struct notify *n, const struct notifier_ops *ops, const char *url)
{
    struct notifier *nf = calloc(1, sizeof(*nf));
    if (nf == NULL) {
        return NULL;
    }
    nf->ops = ops;
    nf->n = n;
    sp_buf_init(&nf->pending, SP_NOTIFY_MAX_BODY_BYTES);
    if (url) {
        nf->url = strdup(url);
        url_origin(url, nf->origin, sizeof(nf->origin));
        if (nf->url == NULL) {
            free(nf);
            return NULL;
        }
        sp_retryq_init(&nf->q, n->sp->loop, wake, nf);
        nf->timer_open = 1;
        n->live_http++;
    }
    n->nf[n->n_nf++] = nf;
    return nf;
}

int notify_init(struct spindle *sp, struct notify **out)
{
    const struct sp_config *c = &sp->cfg;
    struct notify *n = calloc(1, sizeof(*n));
    if (n == NULL) {
        return -ENOMEM;
    }
    n->sp = sp;
    int rc = 0;
    if (c->alert_log && !nf_new(n, &log_ops, NULL)) {
        rc = -ENOMEM;
    }
    if (!rc && c->alert_otlp_log && !nf_new(n, &otlp_ops, NULL)) {
        rc = -ENOMEM;
    }
    int http = c->n_alertmanager_urls > 0 || c->webhook_url[0];
    if (!rc && http && sp->http == NULL) {
        /* The first part that needs the shared client makes it. */
        rc = sp_http_init(&sp->http, sp->loop, "spindle/" SP_VERSION);
    }
    if (!rc && c->n_alertmanager_urls) {
        rc = auth_setup(n);
    }
    for (size_t i = 0; !rc && i < c->n_alertmanager_urls; i++) {
        char url[2048];
        const char *u = c->alertmanager_urls[i];
        if (am_url_repeated(c, i)) {
            char o[256];
            url_origin(u, o, sizeof(o));
            SP_LOG(SP_LOG_INFO, "Alertmanager URL given twice; alerts go to it once", "url=\"%s\"",
                   o);
            continue;
        }
        size_t l = strlen(u);
        snprintf(url, sizeof(url), "%s%sapi/v2/alerts", u, l && u[l - 1] == '/' ? "" : "/");
        if (!nf_new(n, &am_ops, url)) {
            rc = -ENOMEM;
        }
    }
    if (!rc && c->webhook_url[0]) {
        char *s;
        rc = read_secret(c->webhook_secret_file, c->webhook_secret_env, "webhook secret", &s,
                         &n->secret_len);
        n->secret = (uint8_t *)s;
        if (!rc && !nf_new(n, &wh_ops, c->webhook_url)) {
            rc = -ENOMEM;
        }
    }
    if (rc) {
        n->freeing = 1;
        notify_free(n);
        return rc;
    }
    for (size_t i = 0; i < n->n_nf; i++) {
        if (n->nf[i]->url) {
            SP_LOG(SP_LOG_INFO, "alert notifier ready", "notifier=%s url=\"%s\" signed=%s",
                   n->nf[i]->ops->name, n->nf[i]->origin,
                   n->nf[i]->ops == &wh_ops ? (n->secret ? "true" : "false") : "n/a");
        }
    }
    *out = n;
    return 0;
}

void notify_alert(struct notify *n, const struct alert_msg *m)
{
    for (size_t i = 0; i < n->n_nf; i++) {
        n->nf[i]->ops->add(n->nf[i], m);
    }
}

void notify_flush(struct notify *n)
{
    for (size_t i = 0; i < n->n_nf; i++) {
        n->nf[i]->ops->flush(n->nf[i]);
    }
}

void notify_reload(struct notify *n)
{
    const struct sp_config *c = &n->sp->cfg;
    size_t urls = 0, want = 0;
    int webhook = 0;
    for (size_t i = 0; i < n->n_nf; i++) {
        urls += n->nf[i]->ops == &am_ops;
        webhook |= n->nf[i]->ops == &wh_ops;
    }
    for (size_t i = 0; i < c->n_alertmanager_urls; i++) {
        want += !am_url_repeated(c, i);
    }
    int log = 0, otlp = 0;
    for (size_t i = 0; i < n->n_nf; i++) {
        log |= n->nf[i]->ops == &log_ops;
        otlp |= n->nf[i]->ops == &otlp_ops;
    }
    if (urls != want || webhook != (c->webhook_url[0] != 0) || log != (c->alert_log != 0) ||
        otlp != (c->alert_otlp_log != 0)) {
        SP_LOG(SP_LOG_WARN, "setting changed but needs a restart; keeping the running value",
               "key=%s", "alerts.alertmanager|alerts.webhook|alerts.log|alerts.otlp_log");
    }
}

static void notify_release(struct notify *n)
{
    secret_free(n->secret, n->secret_len);
    if (n->auth_header) {
        secret_free(n->auth_header, strlen(n->auth_header));
    }
    free(n);
}

/* An HTTP notifier goes once notify_free() ran, its timer is closed and its
 * request in flight (if any) had its callback: the shared client outlives
 * notify_free() and aborts that request when the agent closes it. */
static void nf_maybe_free(struct notifier *nf)
{
    struct notify *n = nf->n;
    if (!n->freeing || nf->timer_open || nf->inflight) {
        return;
    }
    free(nf->url);
    free(nf);
    if (--n->live_http == 0) {
        notify_release(n);
    }
}

static void nf_timer_closed(struct sp_retryq *q)
{
    struct notifier *nf = q->owner;
    nf->timer_open = 0;
    nf_maybe_free(nf);
}

void notify_free(struct notify *n)
{
    if (n == NULL) {
        return;
    }
    n->freeing = 1;
    /* Requests in flight get their callbacks when the agent closes the
     * shared client (counted dropped_shutdown there); until then their
     * notifiers stay (nf_maybe_free). */
    int live = n->live_http;
    for (size_t i = 0; i < n->n_nf; i++) {
        struct notifier *nf = n->nf[i];
        sp_buf_free(&nf->pending);
        if (nf->url == NULL) {
            free(nf);
            continue;
        }
        struct sp_retry_item *it;
        while ((it = sp_retryq_shift(&nf->q)) != NULL) {
            nreq_free(nreq_of(it));
            n->sp->stats.notify_drop_shutdown++;
        }
        sp_retryq_close(&nf->q, nf_timer_closed);
    }
    if (live == 0) {
        notify_release(n);
    }
}
