/*
 * agent.c - wires the parts together on one libuv loop and runs the
 * shutdown sequence: on SIGTERM/SIGINT stop accepting, close every open
 * workflow, export the metrics, seal the batches, and let the exporters
 * deliver until nothing is pending or export.shutdown_timeout passes; what is
 * left then stays in the journal for the next start, or without a journal is
 * counted as dropped (shutdown_deadline). Exit code 0.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "admin.h"
#include "agent.h"
#include "alert.h"
#include "caps.h"
#include "crypto.h"
#include "http_client.h"
#include "door.h"
#include "flow.h"
#include "journal.h"
#include "log.h"
#include "rss.h"
#include "telemetry_api.h"

const char *sp_env_get(const char *name)
{
    return getenv(name);
}

/* --- hooks: how the parts below reach each other without calling up ------ */

static void corr_observe(void *arg, const struct alert_obs *o)
{
    struct spindle *sp = arg;
    alert_observe(sp->alerts, o);
}

static void corr_point(void *arg, const struct sp_point *p)
{
    struct spindle *sp = arg;
    sp_metrics_add(sp->metrics, p);
}

static void corr_closing(void *arg, const struct corr_wf_view *v)
{
    struct spindle *sp = arg;
    if (sp->admin) {
        sp_admin_workflow_closed(sp, v);
    }
}

static void metrics_link(void *arg, struct sp_str cid, struct sp_str inv, uint8_t trace_id[16],
                         uint8_t span_id[8])
{
    struct spindle *sp = arg;
    corr_link(sp->corr, cid, inv, trace_id, span_id);
}

static void journal_durable(void *arg, uint64_t pos)
{
    struct spindle *sp = arg;
    for (int i = 0; i < sp->n_inputs; i++) {
        sp->inputs[i].ops->durable(&sp->inputs[i], pos);
    }
}

/* The oldest segment the workflows, the metric series and the open batches
 * derive from (requests hold theirs in the journal themselves). */
static uint64_t journal_oldest_held(void *arg)
{
    struct spindle *sp = arg;
    uint64_t w = 0;
    if (sp->corr) {
        sp_jseq_min(&w, corr_min_jseq(sp->corr));
    }
    if (sp->metrics) {
        sp_jseq_min(&w, sp_metrics_min_jseq(sp->metrics));
    }
    for (int s = 0; s < SP_SIG_COUNT; s++) {
        if (sp->open[s]) {
            sp_jseq_min(&w, sp->open[s]->jseq);
        }
    }
    return w;
}

static uint64_t journal_drop_upto(void *arg, uint64_t seq)
{
    return sp_pipe_drop_journal(arg, seq);
}

static void journal_replay(void *arg, const struct sp_jentry *e, uint64_t jseq, int rejournal)
{
    sp_door_replay(arg, e, jseq, rejournal);
}

static int journal_hold_replay(void *arg)
{
    struct spindle *sp = arg;
    return sp->paused || sp->stopping;
}

/* service.instance.id: a random UUID kept in the state directory, so the same
 * agent keeps its identity across restarts. */
static void load_instance_id(struct spindle *sp, char out[37])
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/instance-id", sp->cfg.state_dir);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
        ssize_t n = read(fd, out, 36);
        close(fd);
        if (n == 36) {
            out[36] = 0;
            return;
        }
    }
    uint8_t b[16];
    uint64_t a = sp_rng_next(&sp->rng), c = sp_rng_next(&sp->rng);
    memcpy(b, &a, 8);
    memcpy(b + 8, &c, 8);
    b[6] = (uint8_t)((b[6] & 0x0f) | 0x40); /* UUID version 4 */
    b[8] = (uint8_t)((b[8] & 0x3f) | 0x80);
    snprintf(out, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0],
             b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13],
             b[14], b[15]);
    if (sp_mkdirs(sp->cfg.state_dir, 0700) == 0) {
        fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (fd >= 0) {
            ssize_t w = write(fd, out, 36);
            close(fd);
            if (w == 36) {
                return;
            }
        }
    }
    SP_LOG(SP_LOG_WARN, "cannot keep service.instance.id in the state directory; using a new one",
           "state_dir=\"%s\"", sp->cfg.state_dir);
}

static struct sp_str arena_str(struct sp_arena *a, const char *s)
{
    struct sp_str r = {sp_arena_strndup(a, s, strlen(s)), strlen(s)};
    return r;
}

/* Keys the configuration already gives (OTEL_RESOURCE_ATTRIBUTES,
 * service.resource_attributes) win over what the environment says. */
static int extra_has(const struct sp_attrs *x, const char *key)
{
    for (uint32_t i = 0; i < x->n; i++) {
        if (sp_str_eq(x->v[i].key, sp_cstr(key))) {
            return 1;
        }
    }
    return 0;
}

/* In extension mode, the OTel semantic conventions' cloud.* and faas.*
 * resource attributes from the variables Lambda sets (issue 12); the
 * extension's own on/off rule (collectors/lambda/lambda.c), repeated here
 * because the resource is built before the inputs. */
#define SP_LAMBDA_RES_ATTRS 6
static void lambda_resource(struct spindle *sp, struct sp_arena *a, struct sp_attrs *x,
                            const char *prefix)
{
    const char *api = getenv("AWS_LAMBDA_RUNTIME_API");
    if (sp->cfg.lambda_extension == 0 ||
        (sp->cfg.lambda_extension != 1 && (api == NULL || *api == '\0'))) {
        return;
    }
    static const struct {
        const char *key, *env;
    } m[] = {
        {"cloud.provider", NULL},
        {"cloud.region", "AWS_REGION"},
        {"faas.name", "AWS_LAMBDA_FUNCTION_NAME"},
        {"faas.version", "AWS_LAMBDA_FUNCTION_VERSION"},
        {"faas.instance", "AWS_LAMBDA_LOG_STREAM_NAME"},
        {"faas.max_memory", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE"},
    };
    for (size_t i = 0; i < sizeof(m) / sizeof(m[0]); i++) {
        const char *v = m[i].env ? getenv(m[i].env) : "aws";
        if (strncmp(m[i].key, prefix, strlen(prefix)) != 0 || v == NULL || *v == '\0' ||
            extra_has(x, m[i].key)) {
            continue;
        }
        struct sp_attr *at = &x->v[x->n];
        at->key = arena_str(a, m[i].key);
        if (strcmp(m[i].key, "faas.max_memory") == 0) {
            /* Lambda gives MB; the convention wants bytes, as an int. */
            char *end;
            unsigned long long mb = strtoull(v, &end, 10);
            if (*end != '\0' || mb == 0 || mb > (1ULL << 30)) {
                continue;
            }
            at->val.type = SP_VAL_INT;
            at->val.u.i = (int64_t)(mb * 1024 * 1024);
        } else {
            at->val.type = SP_VAL_STR;
            at->val.u.s = arena_str(a, v);
        }
        x->n++;
    }
}

static int build_resource(struct spindle *sp)
{
    struct sp_arena *a = &sp->res_arena;
    sp_arena_init(a, 4096);
    struct sp_resource_info *res = &sp->res;
    const char *svc = sp->cfg.service_name;
    for (size_t i = 0; !svc[0] && i < sp->cfg.n_resource_attrs; i++) {
        if (strcmp(sp->cfg.resource_attrs[i].key, "service.name") == 0) {
            svc = sp->cfg.resource_attrs[i].value;
        }
    }
    res->service_name_default = arena_str(a, svc[0] ? svc : "unknown_function");
    res->service_name_set = svc[0] != 0;
    char host[256] = "";
    gethostname(host, sizeof(host) - 1);
    res->host_name = arena_str(a, host);
    char id[37];
    load_instance_id(sp, id);
    res->instance_id = arena_str(a, id);
    res->scope_name = arena_str(a, "spindle");
    res->scope_version = arena_str(a, SP_VERSION);
    res->extra.v = sp_arena_alloc(a, sizeof(struct sp_attr) *
                                         (sp->cfg.n_resource_attrs + 1 + SP_LAMBDA_RES_ATTRS));
    if (res->extra.v == NULL) {
        return -ENOMEM;
    }
    for (size_t i = 0; i < sp->cfg.n_resource_attrs; i++) {
        struct sp_attr *at = &res->extra.v[res->extra.n++];
        at->key = arena_str(a, sp->cfg.resource_attrs[i].key);
        at->val.type = SP_VAL_STR;
        at->val.u.s = arena_str(a, sp->cfg.resource_attrs[i].value);
    }
    lambda_resource(sp, a, &res->extra, "cloud.");
    uint32_t n_agent = res->extra.n;
    lambda_resource(sp, a, &res->extra, "faas.");
    /* The agent's own telemetry: same host, instance and extra attributes,
     * service.name "spindle" (items carry no function, so no faas.name). */
    sp->res_agent = *res;
    sp->res_agent.extra.n = n_agent;
    sp->res_agent.service_name_default = arena_str(a, "spindle");
    sp->res_agent.service_name_set = 1;
    return 0;
}

static void metrics_tick(uv_timer_t *t)
{
    struct spindle *sp = t->data;
    sp_metrics_export(sp->metrics);
}

static void finish(struct spindle *sp);

static void shutdown_tick(uv_timer_t *t)
{
    struct spindle *sp = t->data;
    if (sp_pipe_pending(sp) == 0) {
        finish(sp);
    }
}

static void shutdown_deadline(uv_timer_t *t)
{
    struct spindle *sp = t->data;
    sp->abandoning = 1;
    size_t left = sp_pipe_pending(sp);
    SP_LOG(SP_LOG_WARN, "shutdown deadline reached with exports pending",
           "pending_requests=%zu shutdown_timeout_ms=%llu", left,
           (unsigned long long)sp->cfg.shutdown_timeout_ms);
    finish(sp);
}

static void close_walk(uv_handle_t *h, void *arg)
{
    (void)arg;
    if (!uv_is_closing(h)) {
        uv_close(h, NULL);
    }
}

static void http_closed(void *arg)
{
    (void)arg;
}

/* Everything is delivered or counted: release the parts and let uv_run end. */
static void finish(struct spindle *sp)
{
    if (sp->stopping == 2) {
        return;
    }
    sp->stopping = 2;
    sp->abandoning = 1;
    int all_delivered = sp_pipe_pending(sp) == 0;
    if (sp->journal) {
        /* Segments already delivered go now; the rest stay for the next
         * start (the requests freed below no longer hold them). */
        sp_journal_collect(sp->journal);
    }
    sp_pipe_abandon(sp);
    /* The notifiers let go of their queues before the HTTP client they share
     * with the exporter closes, so that their requests aborted by the close
     * count as dropped at shutdown, not as failures to retry. */
    alert_free(sp->alerts);
    sp->alerts = NULL;
    if (sp->http) {
        /* In-flight requests get their callbacks now: the exporter's counted
         * shutdown_deadline, the notifiers' alerts.dropped_shutdown. */
        sp_http_close(sp->http, http_closed, NULL);
        sp->http = NULL;
    }
    SP_LOG(SP_LOG_INFO, "spindle stopped",
           "accepted=%llu rejected=%llu spans=%llu logs=%llu metric_points=%llu "
           "dropped_shutdown=%llu",
           (unsigned long long)sp->stats.accepted, (unsigned long long)sp->stats.rejected_total,
           (unsigned long long)sp->stats.exp_spans, (unsigned long long)sp->stats.exp_logs,
           (unsigned long long)sp->stats.exp_points,
           (unsigned long long)sp->stats.drop_shutdown_deadline);
    sp_admin_close(sp);
    corr_free(sp->corr);
    sp->corr = NULL;
    sp_metrics_free(sp->metrics);
    sp->metrics = NULL;
    sp_pipe_close(sp);
    if (sp->journal) {
        sp_journal_close(sp->journal, all_delivered);
        sp->journal = NULL;
    }
    uv_walk(sp->loop, close_walk, NULL);
}

void sp_agent_stop(struct spindle *sp)
{
    if (sp->stopping) {
        return;
    }
    sp->stopping = 1;
    SP_LOG(SP_LOG_INFO, "shutting down", "shutdown_timeout_ms=%llu",
           (unsigned long long)sp->cfg.shutdown_timeout_ms);
    /* Detached first: records still buffered are handled while closing,
     * and no backpressure may pause an input that is going away. */
    int n = sp->n_inputs;
    sp->n_inputs = 0;
    for (int i = 0; i < n; i++) {
        sp->inputs[i].ops->close(&sp->inputs[i]);
    }
    uv_timer_stop(&sp->metrics_timer);
    corr_close_all(sp->corr);
    sp_metrics_export(sp->metrics);
    sp_pipe_flush(sp);
    uv_signal_stop(&sp->sig_term);
    uv_signal_stop(&sp->sig_int);
    uv_timer_start(&sp->shutdown_timer, shutdown_deadline, sp->cfg.shutdown_timeout_ms, 0);
    uv_timer_start(&sp->drain_timer, shutdown_tick, 0, 10);
}

static void on_signal(uv_signal_t *s, int signum)
{
    struct spindle *sp = s->data;
    if (signum == SIGHUP) {
        /* Still handled while draining (the default action would kill us). */
        if (!sp->stopping) {
            sp_agent_reload(sp);
        }
        return;
    }
    sp_agent_stop(sp);
}

/* Moves a setting that only a restart can change from the running
 * configuration into the new one, warning when the file asked otherwise. */
static void warn_restart(int changed, const char *key)
{
    if (changed) {
        SP_LOG(SP_LOG_WARN, "setting changed but needs a restart; keeping the running value",
               "key=%s", key);
    }
}

static void keep_str(char **old, char **neu, const char *key)
{
    warn_restart(strcmp(*old, *neu) != 0, key);
    free(*neu);
    *neu = *old;
    *old = NULL;
}

static int kv_equal(const struct sp_kv *a, size_t na, const struct sp_kv *b, size_t nb)
{
    if (na != nb) {
        return 0;
    }
    for (size_t i = 0; i < na; i++) {
        if (strcmp(a[i].key, b[i].key) || strcmp(a[i].value, b[i].value)) {
            return 0;
        }
    }
    return 1;
}

int sp_agent_reload(struct spindle *sp)
{
    char err[1024];
    struct sp_config n;
    int rc = sp_config_build(&n, &sp->flags, sp_env_get, err, sizeof(err));
    if (rc) {
        SP_LOG(SP_LOG_ERROR, "reload failed; keeping the running configuration", "error=\"%s\"",
               err);
        return rc;
    }
    struct sp_config *o = &sp->cfg;
    /* The socket, the exporters and the resource are built once: they keep
     * their running values until a restart. Everything else applies now. */
    keep_str(&o->socket_path, &n.socket_path, "socket.path");
    /* Connection buffers are sized at accept, and the correlator's closing
     * and closed lists are ordered by a constant grace and TTL. */
    warn_restart(n.max_record_bytes != o->max_record_bytes, "socket.max_record_bytes");
    warn_restart(n.wf_grace_ms != o->wf_grace_ms, "correlation.grace_period");
    warn_restart(n.closed_ttl_ms != o->closed_ttl_ms, "correlation.closed_ttl");
    n.max_record_bytes = o->max_record_bytes;
    n.wf_grace_ms = o->wf_grace_ms;
    n.closed_ttl_ms = o->closed_ttl_ms;
    keep_str(&o->otlp_endpoint, &n.otlp_endpoint, "otlp.endpoint");
    static const char *const sig_keys[SP_SIG_COUNT] = {
        "otlp.traces_endpoint", "otlp.logs_endpoint", "otlp.metrics_endpoint"};
    for (int s = 0; s < SP_SIG_COUNT; s++) {
        keep_str(&o->otlp_signal_endpoint[s], &n.otlp_signal_endpoint[s], sig_keys[s]);
    }
    keep_str(&o->file_dir, &n.file_dir, "file.directory");
    keep_str(&o->service_name, &n.service_name, "service.name");
    keep_str(&o->state_dir, &n.state_dir, "service.state_dir");
    keep_str(&o->storage_path, &n.storage_path, "storage.path");
    /* Datagram receivers are bound once (allowed_uids and max_series apply now). */
    keep_str(&o->statsd_socket, &n.statsd_socket, "statsd.socket");
    keep_str(&o->statsd_listen, &n.statsd_listen, "statsd.listen");
    warn_restart(n.socket_datagram != o->socket_datagram, "socket.datagram");
    n.socket_datagram = o->socket_datagram;
    warn_restart(n.storage_fsync != o->storage_fsync, "storage.fsync");
    warn_restart(n.storage_max_bytes != o->storage_max_bytes, "storage.max_bytes");
    warn_restart(n.storage_segment_bytes != o->storage_segment_bytes, "storage.segment_bytes");
    n.storage_fsync = o->storage_fsync;
    n.storage_max_bytes = o->storage_max_bytes;
    n.storage_segment_bytes = o->storage_segment_bytes;
    warn_restart(n.socket_mode != o->socket_mode, "socket.mode");
    warn_restart(n.otlp_gzip != o->otlp_gzip, "otlp.compression");
    warn_restart(n.otlp_protocol != o->otlp_protocol, "otlp.protocol");
    warn_restart(!kv_equal(n.otlp_headers, n.n_otlp_headers, o->otlp_headers, o->n_otlp_headers),
                 "otlp.headers");
    warn_restart(n.file_enabled != o->file_enabled, "file.enabled");
    warn_restart(
        !kv_equal(n.resource_attrs, n.n_resource_attrs, o->resource_attrs, o->n_resource_attrs),
        "service.resource_attributes");
    n.socket_mode = o->socket_mode;
    n.otlp_gzip = o->otlp_gzip;
    n.otlp_protocol = o->otlp_protocol;
    n.file_enabled = o->file_enabled;
    struct sp_kv *h = n.otlp_headers, *ra = n.resource_attrs;
    size_t nh = n.n_otlp_headers, nra = n.n_resource_attrs;
    n.otlp_headers = o->otlp_headers;
    n.n_otlp_headers = o->n_otlp_headers;
    n.resource_attrs = o->resource_attrs;
    n.n_resource_attrs = o->n_resource_attrs;
    o->otlp_headers = h;
    o->n_otlp_headers = nh;
    o->resource_attrs = ra;
    o->n_resource_attrs = nra;
    uint64_t old_interval = o->metrics_interval_ms;
    sp_config_free(o);
    sp->cfg = n;
    sp->limits.max_attributes = (uint32_t)n.max_attributes;
    sp->limits.max_attr_value_bytes = (uint32_t)n.max_attr_value_bytes;
    sp_record_limits_keys(&sp->limits, n.log_correlation_keys, n.n_log_correlation_keys);
    sp_log_setup(n.log_level, n.log_json);
    alert_reload(sp->alerts);
    if (n.metrics_interval_ms != old_interval && !sp->stopping) {
        uv_timer_start(&sp->metrics_timer, metrics_tick, n.metrics_interval_ms,
                       n.metrics_interval_ms);
    }
    SP_LOG(SP_LOG_INFO, "configuration reloaded", "config=\"%s\"",
           sp->flags.config ? sp->flags.config : "<embedded default>");
    return 0;
}

static int init_rest(struct spindle *sp, uv_loop_t *loop);

int sp_agent_add_input(struct spindle *sp, const struct sp_input_ops *ops)
{
    if (sp->n_inputs >= (int)SP_MAX_INPUTS) {
        return -ENOSPC;
    }
    sp->inputs[sp->n_inputs++] = (struct sp_input){.ops = ops, .sp = sp};
    return 0;
}

static const struct sp_exporter_ops *exporter_named(const struct spindle *sp, const char *name)
{
    for (const struct sp_exporter_ops *const *o = sp->exporter_ops; o && *o; o++) {
        if (strcmp((*o)->name, name) == 0) {
            return *o;
        }
    }
    SP_LOG(SP_LOG_ERROR, "exporter not built in", "exporter=%s", name);
    return NULL;
}

/* Starts the configured exporters among those main.c handed over. */
static int start_exporters(struct spindle *sp)
{
    const char *want[2];
    int n = 0;
    if (sp_config_otlp_enabled(&sp->cfg)) {
        want[n++] = "otlp_http";
    }
    if (sp->cfg.file_enabled) {
        want[n++] = "otlp_file";
    }
    for (int i = 0; i < n; i++) {
        const struct sp_exporter_ops *ops = exporter_named(sp, want[i]);
        int rc = ops ? sp_exporter_new(sp, ops) : -ENOENT;
        if (rc) {
            return rc;
        }
    }
    return 0;
}

int sp_agent_init(struct spindle *sp, uv_loop_t *loop,
                  const struct sp_exporter_ops *const *exporters)
{
    sp->exporter_ops = exporters;
    sp->loop = loop;
    sp->started_ms = uv_now(loop);
    sp->started_ns = sp_now_ns();
    sp_rng_seed(&sp->rng);
    sp->limits.max_attributes = (uint32_t)sp->cfg.max_attributes;
    sp->limits.max_attr_value_bytes = (uint32_t)sp->cfg.max_attr_value_bytes;
    sp_record_limits_keys(&sp->limits, sp->cfg.log_correlation_keys,
                          sp->cfg.n_log_correlation_keys);
    int rc = build_resource(sp);
    if (rc) {
        return rc;
    }
    const struct corr_hooks ch = {.arg = sp, .observe = corr_observe, .point = corr_point,
                                  .closing = corr_closing};
    const struct sp_metrics_hooks mh = {.arg = sp, .link = metrics_link};
    sp->pressure = sp_flow_check;
    sp_arena_init(&sp->replay_arena, 16384);
    if ((rc = corr_init(sp, &ch, &sp->corr)) || (rc = sp_metrics_init(sp, &mh, &sp->metrics)) ||
        (rc = sp_pipe_init(sp))) {
        return rc;
    }
    for (int i = 0; i < sp->n_inputs; i++) {
        if ((rc = sp->inputs[i].ops->init(&sp->inputs[i]))) {
            return rc;
        }
    }
    /* What the configuration can make fail (exporters, the journal's folder
     * and lock) comes before the socket listens, so that a connectable socket
     * means an agent that is starting, not one about to exit. */
    if ((rc = start_exporters(sp))) {
        return rc;
    }
    const struct sp_journal_hooks jh = {.arg = sp,
                                        .durable = journal_durable,
                                        .oldest_held = journal_oldest_held,
                                        .drop_upto = journal_drop_upto,
                                        .replay = journal_replay,
                                        .hold_replay = journal_hold_replay};
    if (sp->cfg.storage_path[0] && (rc = sp_journal_open(sp, &jh, &sp->journal))) {
        return rc;
    }
    sp_flow_init(sp);
    uv_timer_init(loop, &sp->metrics_timer);
    sp->metrics_timer.data = sp;
    uv_timer_init(loop, &sp->shutdown_timer);
    sp->shutdown_timer.data = sp;
    uv_timer_init(loop, &sp->drain_timer);
    sp->drain_timer.data = sp;
    /* Signals are caught from before the socket is connectable: a client or
     * supervisor that sees the socket may signal at once, and the default
     * action would kill the agent. libuv holds them until the loop runs. */
    uv_signal_init(loop, &sp->sig_term);
    sp->sig_term.data = sp;
    uv_signal_init(loop, &sp->sig_int);
    sp->sig_int.data = sp;
    uv_signal_init(loop, &sp->sig_hup);
    sp->sig_hup.data = sp;
    uv_signal_start(&sp->sig_term, on_signal, SIGTERM);
    uv_signal_start(&sp->sig_int, on_signal, SIGINT);
    uv_signal_start(&sp->sig_hup, on_signal, SIGHUP);
    /* Listening before the slow part (loading libcurl takes milliseconds)
     * makes the socket connectable sooner: clients' first records wait in
     * the kernel until the loop runs. A failure from here on (libcurl
     * missing, a notifier's secret file unreadable) removes the socket again. */
    int started = 0;
    while (started < sp->n_inputs && (rc = sp->inputs[started].ops->start(&sp->inputs[started])) == 0) {
        started++;
    }
    if (rc == 0) {
        rc = init_rest(sp, loop);
    }
    if (rc) {
        for (int i = 0; i < started; i++) {
            sp->inputs[i].ops->stop_accepting(&sp->inputs[i]);
        }
    }
    return rc;
}

/* What sp_agent_init() sets up once the socket listens: the parts that load
 * libraries. libcrypto first (every derived id needs it: loaded here, not at
 * the first record, so that the first record does not wait for it and an
 * agent without it does not start). The OTLP exporter and the alert
 * notifiers share one HTTP client (sp->http), made by the first of them that
 * needs it; with neither, libcurl is never loaded. */
static int init_rest(struct spindle *sp, uv_loop_t *loop)
{
    char err[256];
    int rc = sp_crypto_load(err, sizeof(err));
    if (rc) {
        SP_LOG(SP_LOG_ERROR, "cannot load libcrypto, which derives every id", "error=\"%s\"", err);
        return rc;
    }
    rc = alert_init(sp, &sp->alerts);
    if (rc == 0) {
        rc = sp_admin_start(sp);
    }
    if (rc == 0 && sp_config_otlp_enabled(&sp->cfg) && sp->http == NULL) {
        rc = sp_http_init(&sp->http, loop, "spindle/" SP_VERSION);
    }
    return rc;
}

int sp_agent_start(struct spindle *sp)
{
    sp->mem.rss_base = sp_rss_anon(); /* libraries loaded, nothing received yet */
    if (sp->journal) {
        /* New records are taken (and journaled) while the old ones replay. */
        sp_journal_replay_start(sp->journal);
    }
    uv_timer_start(&sp->metrics_timer, metrics_tick, sp->cfg.metrics_interval_ms,
                   sp->cfg.metrics_interval_ms);
    return 0;
}

void sp_agent_free(struct spindle *sp)
{
    sp_door_otlp_free(sp);
    sp_tapi_free(sp->tapi);
    sp->tapi = NULL;
    sp_arena_free(&sp->replay_arena);
    sp_arena_free(&sp->res_arena);
    sp_config_free(&sp->cfg);
}
