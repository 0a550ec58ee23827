/*
 * config.c - defaults, YAML file (libyaml event API), OTEL_* environment.
 *
 * The schema is one table: dotted key, kind, offset. Every leaf of the file
 * must be in it; anything else is an error naming the key and its line. The
 * embedded default configuration is parsed by the same code at start-up, so
 * what --print-default-config shows is what runs.
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yaml.h>

#include "alert.h"
#include "caps.h"
#include "dgram.h"
#include "listen_addr.h"
#include "log.h"

const char sp_default_config_yaml[] =
    "# spindle's embedded default configuration (spindle --print-default-config).\n"
    "# Every key is optional; a file given with --config overrides these values,\n"
    "# the OTEL_* environment overrides the file, and flags override everything.\n"
    "log:\n"
    "  level: info            # debug | info | warn | error\n"
    "  format: logfmt         # logfmt | json (lines on stderr)\n"
    "socket:\n"
    "  # path: default /run/spindle/spindle.sock as root, else\n"
    "  #       $XDG_RUNTIME_DIR/spindle.sock, else /tmp/spindle-$UID/spindle.sock\n"
    "  mode: \"0660\"\n"
    "  max_record_bytes: 256KiB\n"
    "  max_connections: 1024\n"
    "  idle_timeout: 1h       # a client silent this long is disconnected\n"
    "  datagram: true         # also <path>.dgram, NDJSON datagrams (docs/protocol.md)\n"
    "  allowed_uids: []       # only these senders' uids (SO_PEERCRED); [] = anyone who can connect\n"
    "statsd:\n"
    "  socket: \"\"             # DogStatsD Unix datagram socket (--statsd-socket); \"\" = off\n"
    "  listen: \"off\"          # DogStatsD over UDP, HOST:PORT (e.g. 127.0.0.1:8125) or off\n"
    "  max_series: 10000      # DogStatsD series; more are dropped (counted statsd.series_limit)\n"
    "  allowed_uids: []       # only these senders' uids on the Unix socket; [] = anyone\n"
    "records:\n"
    "  max_attributes: 128\n"
    "  max_attribute_value_bytes: 4KiB\n"
    "  # lines without a type (Powertools, Lambda JSON logs; socket and Telemetry API):\n"
    "  # the top-level keys naming the workflow, the first with a non-empty string wins\n"
    "  log_correlation_keys: [correlation_id]\n"
    "limits:\n"
    "  max_memory: 256MiB     # connection buffers, open workflows, batches, queues\n"
    "correlation:\n"
    "  idle_timeout: 60s      # a workflow with no records this long closes\n"
    "  grace_period: 2s       # after workflow_end, for late records\n"
    "  closed_ttl: 10m        # closed workflows remembered for late records\n"
    "  max_open_workflows: 10000\n"
    "  max_closed_workflows: 100000\n"
    "  root_without_start: true\n"
    "metrics:\n"
    "  interval: 10s\n"
    "  max_series: 10000\n"
    "  series_ttl: 5m         # a series fed nothing this long is freed after its last export\n"
    "export:\n"
    "  batch_max_items: 512\n"
    "  batch_max_bytes: 1MiB\n"
    "  batch_delay: 1s\n"
    "  queue_max_bytes: 64MiB\n"
    "  shutdown_timeout: 2s\n"
    "  retry_initial: 1s\n"
    "  retry_max: 30s\n"
    "  retry_max_elapsed: 5m\n"
    "otlp:\n"
    "  endpoint: \"\"           # base URL, e.g. http://collector:4318 (turns OTLP/HTTP on)\n"
    "  timeout: 10s\n"
    "  compression: gzip      # gzip | none\n"
    "  protocol: http/protobuf # http/protobuf | http/json\n"
    "  # listen: 127.0.0.1:4318  # the OTLP/HTTP receiver (--otlp-listen): HOST:PORT, unix:PATH\n"
    "  #                         # or off; the default stays off, with a warning, if taken\n"
    "  max_request_bytes: 16MiB # a request body after gunzip; larger ones are answered 413\n"
    "  header_timeout: 10s    # a request's headers must arrive within this (slowloris: 408)\n"
    "  idle_timeout: 60s      # a receiver connection silent this long is closed\n"
    "  correlation_keys: [correlation_id, app.correlation_id, messaging.message.conversation_id]\n"
    "  tls:                   # for an https:// endpoint; each a PEM file, \"\" = not set\n"
    "    ca_file: \"\"          # trust only this CA bundle (OTEL_EXPORTER_OTLP_CERTIFICATE);\n"
    "                         # \"\" = the system's bundle, found at start (docs/configuration.md)\n"
    "    cert_file: \"\"        # client certificate, mTLS (OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE)\n"
    "    key_file: \"\"         # its key (OTEL_EXPORTER_OTLP_CLIENT_KEY); \"\" = in cert_file\n"
    "  # traces_tls, logs_tls, metrics_tls: the same keys for one signal\n"
    "  #   (OTEL_EXPORTER_OTLP_TRACES_CERTIFICATE, ..._LOGS_CLIENT_KEY, ...)\n"
    "file:\n"
    "  # enabled: on when no OTLP endpoint is configured, unless set here\n"
    "  directory: ./spindle-data\n"
    "  max_file_bytes: 16MiB\n"
    "  max_files: 4\n"
    "service:\n"
    "  name: \"\"               # default service.name (else OTEL_SERVICE_NAME)\n"
    "lambda:\n"
    "  # extension: on when AWS_LAMBDA_RUNTIME_API is set (or --lambda-extension), unless set here\n"
    "  flush_budget: 100ms    # after an invocation's runtimeDone, export it before event/next\n"
    "  buffer_timeout: 25ms   # Telemetry API buffering (AWS: 25ms..30s)\n"
    "  buffer_max_items: 1000 # (AWS: 1000..10000)\n"
    "  buffer_max_bytes: 256KiB # (AWS: 256KiB..1MiB)\n"
    "  trigger: \"\"            # faas.trigger of the invocations: http | pubsub | datasource |\n"
    "                         # timer | other; \"\" = unknown (no faas.trigger)\n"
    "storage:\n"
    "  path: \"\"               # journal folder (--storage-path); \"\" = no journal\n"
    "  fsync: batch           # always | batch | never (docs/internals/journal.md)\n"
    "  max_bytes: 256MiB      # when full, the oldest segments go (counted journal_full)\n"
    "  segment_bytes: 8MiB\n"
    "admin:\n"
    "  listen: 127.0.0.1:9464 # /metrics, /healthz, /readyz, the JSON API and the status page\n"
    "                         # (--http-listen); HOST:PORT, unix:PATH or off\n"
    "alerts:\n"
    "  evaluation_interval: 1s # rules are evaluated this often (event rules fire within 2 s)\n"
    "  resend_interval: 30s   # a firing alert is re-sent this often (a condition's endsAt = now + 4x;\n"
    "                         # a workflow alert's, to Alertmanager, until its endsAt)\n"
    "  event_hold: 1h         # a workflow alert (an event) ends at its start + this\n"
    "  explicit_resolve: false # true: send a resolve when a condition clears (one agent only)\n"
    "  max_series: 5000       # per rule; the least recently fed series is evicted (counted)\n"
    "  log: true              # a log line per alert on stderr\n"
    "  otlp_log: true         # an OTLP log record per alert, on the workflow's trace\n"
    "  dlq_depth_metric: dlq.depth # the gauge, by attribute queue, of dead-letter queue depth\n"
    "  trace_url: \"\"          # link for rules without their own, e.g.\n"
    "                         # http://jaeger:16686/trace/{{trace_id}}\n"
    "  notify_timeout: 5s\n"
    "  notify_queue_max: 256  # requests waiting per notifier; the oldest is dropped (counted)\n"
    "  notify_max_attempts: 5\n"
    "  alertmanager:\n"
    "    urls: []             # every URL of an HA set; also --alertmanager URL (repeatable)\n"
    "    # bearer_token_file, bearer_token_env, or username + password_file / password_env\n"
    "  webhook:\n"
    "    url: \"\"              # Alertmanager webhook payload, HMAC-SHA256 signed with a secret\n"
    "    # secret_file: /run/secrets/spindle-webhook   (or secret_env: SPINDLE_WEBHOOK_SECRET)\n"
    "  tls:                   # for https:// Alertmanager and webhook URLs, as otlp.tls\n"
    "    ca_file: \"\"          # \"\" = the system's bundle\n"
    "    cert_file: \"\"\n"
    "    key_file: \"\"\n"
    "  # Rules merge by name: a file's rule with one of these names changes only the\n"
    "  # fields it gives; `enabled: false` switches a rule off.\n"
    "  rules:\n"
    "    - name: DeadLetter\n"
    "      signal: dead_letters\n"
    "      scope: workflow\n"
    "      condition: any\n"
    "      severity: critical\n"
    "      summary: \"workflow {{correlation_id}} ended in dead-letter queue {{queue}}\"\n"
    "      description: \"{{function}} sent a message of workflow {{correlation_id}} to\n"
    "        {{queue}} ({{value}} so far); trace {{trace_id}}\"\n"
    "    - name: WorkflowRetries\n"
    "      signal: retries\n"
    "      scope: workflow\n"
    "      condition: count >= 3\n"
    "      severity: warning\n"
    "      summary: \"workflow {{correlation_id}} retried {{value}} times\"\n"
    "      description: \"last retried in {{function}}; trace {{trace_id}}\"\n"
    "    - name: FunctionThrottled\n"
    "      signal: throttles\n"
    "      scope: function\n"
    "      window: 5m\n"
    "      condition: count >= 5\n"
    "      keep_firing_for: 1m\n"
    "      severity: warning\n"
    "      summary: \"{{function}} was throttled {{value}} times in {{window}}\"\n"
    "      description: \"most recent workflow {{correlation_id}}, trace {{trace_id}}\"\n"
    "    - name: ColdStartRatioHigh\n"
    "      signal: cold_starts\n"
    "      denominator: invocations\n"
    "      scope: function\n"
    "      window: 15m\n"
    "      condition: ratio > 0.2\n"
    "      min_denominator: 20\n"
    "      for: 2m\n"
    "      keep_firing_for: 2m\n"
    "      severity: warning\n"
    "      summary: \"{{function}}: {{value}} of invocations were cold starts ({{window}})\"\n"
    "      description: \"most recent workflow {{correlation_id}}, trace {{trace_id}}\"\n"
    "    - name: InitDurationHigh\n"
    "      signal: init_duration\n"
    "      scope: function\n"
    "      window: 15m\n"
    "      condition: p95 > 1\n"
    "      min_samples: 5\n"
    "      keep_firing_for: 2m\n"
    "      severity: warning\n"
    "      summary: \"{{function}}: p95 init duration {{value}} s ({{window}})\"\n"
    "      description: \"most recent workflow {{correlation_id}}, trace {{trace_id}}\"\n"
    "    - name: DeadLetterQueueGrowing\n"
    "      signal: dlq_depth\n"
    "      scope: queue\n"
    "      window: 10m\n"
    "      condition: increase >= 10\n"
    "      keep_firing_for: 2m\n"
    "      severity: warning\n"
    "      summary: \"dead-letter queue {{queue}} grew by {{value}} in {{window}}\"\n"
    "      description: \"most recent workflow {{correlation_id}}, trace {{trace_id}}\"\n"
    "    - name: ExportFailing\n"
    "      signal: export_failures\n"
    "      denominator: export_requests\n"
    "      scope: agent\n"
    "      window: 1m\n"
    "      condition: ratio > 0.99\n"
    "      min_denominator: 1\n"
    "      for: 1m\n"
    "      severity: critical\n"
    "      summary: \"spindle cannot export: every request failed for a minute\"\n"
    "    - name: JournalNearlyFull\n"
    "      signal: journal_bytes\n"
    "      denominator: journal_max_bytes\n"
    "      scope: agent\n"
    "      window: 1m\n"
    "      condition: ratio > 0.8\n"
    "      min_denominator: 1\n"
    "      severity: warning\n"
    "      summary: \"spindle's journal is over 80% full\"\n";

enum kind {
    K_DUR,
    K_TIMEOUT, /* a K_DUR above zero: libcurl reads 0 as "no timeout at all" */
    K_SIZE,
    K_UINT,
    K_BOOL,
    K_TRIBOOL,
    K_STR,
    K_FILE, /* a K_STR naming a file that must be readable when set */
    K_LEVEL,
    K_LOGFMT,
    K_MODE,
    K_COMPRESSION,
    K_PROTOCOL,
    K_FSYNC,
    K_MAP,
    K_RULES, /* alerts.rules: a list of mappings (alert_config.c) */
    K_LIST,  /* a list of strings: off = the array, off2 = its count */
    K_LISTEN /* a listener address (net/listen_addr.h): HOST:PORT, unix:PATH or off; off2, when
                set, = its "was set" int */
};

struct key {
    const char *path;
    uint8_t kind;
    size_t off;
    size_t off2; /* K_MAP: offset of the count */
    uint64_t max;
};

#define O(f) offsetof(struct sp_config, f)
#define TLS_KEYS(prefix, field)                                                                    \
    {prefix ".ca_file", K_FILE, O(field.ca_file), 0, 0},                                          \
    {prefix ".cert_file", K_FILE, O(field.cert_file), 0, 0},                                      \
    {prefix ".key_file", K_FILE, O(field.key_file), 0, 0}
static const struct key keys[] = {
    {"log.level", K_LEVEL, O(log_level), 0, 0},
    {"log.format", K_LOGFMT, O(log_json), 0, 0},
    {"socket.path", K_STR, O(socket_path), 0, 0},
    {"socket.mode", K_MODE, O(socket_mode), 0, 0},
    {"socket.max_record_bytes", K_SIZE, O(max_record_bytes), 0, SP_MAX_RECORD_BYTES},
    {"socket.max_connections", K_UINT, O(max_connections), 0, 1000000},
    {"socket.idle_timeout", K_DUR, O(conn_idle_timeout_ms), 0, 0},
    {"socket.datagram", K_BOOL, O(socket_datagram), 0, 0},
    {"socket.allowed_uids", K_LIST, O(socket_allowed_uids), O(n_socket_allowed_uids),
     SP_MAX_ALLOWED_UIDS},
    {"statsd.socket", K_STR, O(statsd_socket), 0, 0},
    {"statsd.listen", K_STR, O(statsd_listen), 0, 0},
    {"statsd.max_series", K_UINT, O(statsd_max_series), 0, 10000000},
    {"statsd.allowed_uids", K_LIST, O(statsd_allowed_uids), O(n_statsd_allowed_uids),
     SP_MAX_ALLOWED_UIDS},
    {"records.max_attributes", K_UINT, O(max_attributes), 0, SP_DEF_MAX_ATTRIBUTES * 4},
    {"records.max_attribute_value_bytes", K_SIZE, O(max_attr_value_bytes), 0,
     SP_MAX_RECORD_BYTES},
    {"records.log_correlation_keys", K_LIST, O(log_correlation_keys), O(n_log_correlation_keys),
     SP_MAX_LOG_CORRELATION_KEYS},
    {"limits.max_memory", K_SIZE, O(max_memory), 0, 0},
    {"correlation.idle_timeout", K_DUR, O(wf_idle_timeout_ms), 0, 0},
    {"correlation.grace_period", K_DUR, O(wf_grace_ms), 0, 0},
    {"correlation.closed_ttl", K_DUR, O(closed_ttl_ms), 0, 0},
    {"correlation.max_open_workflows", K_UINT, O(max_open_workflows), 0, 100000000},
    {"correlation.max_closed_workflows", K_UINT, O(max_closed_workflows), 0, 100000000},
    {"correlation.root_without_start", K_BOOL, O(root_without_start), 0, 0},
    {"metrics.interval", K_DUR, O(metrics_interval_ms), 0, 0},
    {"metrics.max_series", K_UINT, O(max_metric_series), 0, 10000000},
    {"metrics.series_ttl", K_DUR, O(metrics_series_ttl_ms), 0, 0},
    {"export.batch_max_items", K_UINT, O(batch_max_items), 0, 1000000},
    {"export.batch_max_bytes", K_SIZE, O(batch_max_bytes), 0, 64u * 1024u * 1024u},
    {"export.batch_delay", K_DUR, O(batch_delay_ms), 0, 0},
    {"export.queue_max_bytes", K_SIZE, O(queue_max_bytes), 0, 0},
    {"export.shutdown_timeout", K_DUR, O(shutdown_timeout_ms), 0, 0},
    {"export.retry_initial", K_DUR, O(retry_initial_ms), 0, 0},
    {"export.retry_max", K_DUR, O(retry_max_ms), 0, 0},
    {"export.retry_max_elapsed", K_DUR, O(retry_max_elapsed_ms), 0, 0},
    {"otlp.endpoint", K_STR, O(otlp_endpoint), 0, 0},
    {"otlp.traces_endpoint", K_STR, O(otlp_signal_endpoint[SP_SIG_TRACES]), 0, 0},
    {"otlp.logs_endpoint", K_STR, O(otlp_signal_endpoint[SP_SIG_LOGS]), 0, 0},
    {"otlp.metrics_endpoint", K_STR, O(otlp_signal_endpoint[SP_SIG_METRICS]), 0, 0},
    {"otlp.headers", K_MAP, O(otlp_headers), O(n_otlp_headers), 0},
    {"otlp.timeout", K_TIMEOUT, O(otlp_timeout_ms), 0, 0},
    {"otlp.compression", K_COMPRESSION, O(otlp_gzip), 0, 0},
    {"otlp.protocol", K_PROTOCOL, O(otlp_protocol), 0, 0},
    {"otlp.listen", K_LISTEN, O(otlp_listen), 0, 0},
    {"otlp.max_request_bytes", K_SIZE, O(otlp_max_request_bytes), 0, SP_MAX_OTLP_REQUEST_BYTES},
    {"otlp.header_timeout", K_DUR, O(otlp_header_timeout_ms), 0, 0},
    {"otlp.idle_timeout", K_DUR, O(otlp_idle_timeout_ms), 0, 0},
    {"otlp.correlation_keys", K_LIST, O(otlp_correlation_keys), O(n_otlp_correlation_keys),
     SP_MAX_OTLP_CORRELATION_KEYS},
    TLS_KEYS("otlp.tls", otlp_tls),
    TLS_KEYS("otlp.traces_tls", otlp_signal_tls[SP_SIG_TRACES]),
    TLS_KEYS("otlp.logs_tls", otlp_signal_tls[SP_SIG_LOGS]),
    TLS_KEYS("otlp.metrics_tls", otlp_signal_tls[SP_SIG_METRICS]),
    TLS_KEYS("alerts.tls", alert_tls),
    {"file.enabled", K_TRIBOOL, O(file_enabled), 0, 0},
    {"file.directory", K_STR, O(file_dir), 0, 0},
    {"file.max_file_bytes", K_SIZE, O(file_max_bytes), 0, 0},
    {"file.max_files", K_UINT, O(file_max_files), 0, 1000},
    {"service.name", K_STR, O(service_name), 0, 0},
    {"service.resource_attributes", K_MAP, O(resource_attrs), O(n_resource_attrs), 0},
    {"service.state_dir", K_STR, O(state_dir), 0, 0},
    {"lambda.extension", K_TRIBOOL, O(lambda_extension), 0, 0},
    {"lambda.flush_budget", K_DUR, O(lambda_flush_budget_ms), 0, 0},
    {"lambda.buffer_timeout", K_DUR, O(lambda_buffer_timeout_ms), 0, SP_LAMBDA_MAX_BUFFER_TIMEOUT_MS},
    {"lambda.buffer_max_items", K_UINT, O(lambda_buffer_max_items), 0, SP_LAMBDA_MAX_BUFFER_ITEMS},
    {"lambda.buffer_max_bytes", K_SIZE, O(lambda_buffer_max_bytes), 0, SP_LAMBDA_MAX_BUFFER_BYTES},
    {"lambda.trigger", K_STR, O(lambda_trigger), 0, 0},
    {"storage.path", K_STR, O(storage_path), 0, 0},
    {"storage.fsync", K_FSYNC, O(storage_fsync), 0, 0},
    {"storage.max_bytes", K_SIZE, O(storage_max_bytes), 0, 0},
    {"storage.segment_bytes", K_SIZE, O(storage_segment_bytes), 0, SP_MAX_JOURNAL_SEGMENT_BYTES},
    {"alerts.evaluation_interval", K_DUR, O(alert_eval_ms), 0, 0},
    {"alerts.resend_interval", K_DUR, O(alert_resend_ms), 0, 0},
    {"alerts.event_hold", K_DUR, O(alert_event_hold_ms), 0, 0},
    {"alerts.explicit_resolve", K_BOOL, O(alert_explicit_resolve), 0, 0},
    {"alerts.max_series", K_UINT, O(alert_max_series), 0, 1000000},
    {"alerts.log", K_BOOL, O(alert_log), 0, 0},
    {"alerts.otlp_log", K_BOOL, O(alert_otlp_log), 0, 0},
    {"alerts.trace_url", K_STR, O(alert_trace_url), 0, 0},
    {"alerts.dlq_depth_metric", K_STR, O(dlq_depth_metric), 0, 0},
    {"alerts.notify_timeout", K_TIMEOUT, O(notify_timeout_ms), 0, 0},
    {"alerts.notify_queue_max", K_UINT, O(notify_queue_max), 0, 1000000},
    {"alerts.notify_max_attempts", K_UINT, O(notify_max_attempts), 0, 1000},
    {"alerts.rules", K_RULES, O(alert_rules), O(n_alert_rules), 0},
    {"alerts.alertmanager.urls", K_LIST, O(alertmanager_urls), O(n_alertmanager_urls),
     SP_ALERT_MAX_AM_URLS},
    {"alerts.alertmanager.bearer_token_file", K_STR, O(am_bearer_token_file), 0, 0},
    {"alerts.alertmanager.bearer_token_env", K_STR, O(am_bearer_token_env), 0, 0},
    {"alerts.alertmanager.username", K_STR, O(am_username), 0, 0},
    {"alerts.alertmanager.password_file", K_STR, O(am_password_file), 0, 0},
    {"alerts.alertmanager.password_env", K_STR, O(am_password_env), 0, 0},
    {"alerts.webhook.url", K_STR, O(webhook_url), 0, 0},
    {"alerts.webhook.secret_file", K_STR, O(webhook_secret_file), 0, 0},
    {"alerts.webhook.secret_env", K_STR, O(webhook_secret_env), 0, 0},
    {"admin.listen", K_LISTEN, O(admin_listen), O(admin_listen_set), 0},
};

/* Keys a person may reach for that would put a secret in the file in clear. */
static const char *const secret_keys[] = {"alerts.webhook.secret", "alerts.alertmanager.password",
                                          "alerts.alertmanager.bearer_token"};
#undef TLS_KEYS
#undef O

/* The smallest value of each number, duration and size that can work (the
 * largest is `max` in keys[], else SP_MAX_DURATION_MS for durations, else
 * only what the parser takes). Checked as each value is read, so the error
 * names the file and line. Keys not listed here take 0, and 0 means what
 * docs/configuration.md says for them (no grace period, nothing kept, ...).
 * Ten milliseconds is the floor of every timer: below it a timer fires on
 * every turn of the loop. */
#define SP_MAX_DURATION_MS (366ull * 24 * 3600 * 1000) /* ns values stay far from 2^64 */
static const struct {
    const char *path;
    uint64_t min;
} key_min[] = {
    {"socket.max_record_bytes", 64},
    {"socket.max_connections", 1},
    {"socket.idle_timeout", 10},
    {"records.max_attributes", 1},
    {"records.max_attribute_value_bytes", 1},
    {"limits.max_memory", SP_MIN_MAX_MEMORY},
    {"correlation.idle_timeout", 10},
    {"correlation.max_open_workflows", 1},
    {"metrics.interval", 10},
    {"metrics.max_series", 1},
    {"statsd.max_series", 1},
    {"export.batch_max_items", 1},
    {"export.batch_max_bytes", 1024},
    {"export.queue_max_bytes", 1024},
    {"export.retry_initial", 10},
    {"export.retry_max", 10},
    {"otlp.max_request_bytes", 1024},
    {"otlp.header_timeout", 10},
    {"otlp.idle_timeout", 10},
    {"file.max_file_bytes", 1024},
    {"lambda.flush_budget", 1},
    {"lambda.buffer_timeout", SP_LAMBDA_MIN_BUFFER_TIMEOUT_MS},
    {"lambda.buffer_max_items", SP_LAMBDA_MIN_BUFFER_ITEMS},
    {"lambda.buffer_max_bytes", SP_LAMBDA_MIN_BUFFER_BYTES},
    {"storage.max_bytes", 4u * SP_MIN_JOURNAL_SEGMENT_BYTES},
    {"storage.segment_bytes", SP_MIN_JOURNAL_SEGMENT_BYTES},
    {"alerts.evaluation_interval", 10},
    {"alerts.resend_interval", 10},
    {"alerts.event_hold", 10},
    {"alerts.max_series", 1},
    {"alerts.notify_timeout", 10},
    {"alerts.notify_queue_max", 1},
    {"alerts.notify_max_attempts", 1},
};

/* Keys that hold an http(s) URL ("" = off). */
static const char *const url_keys[] = {"otlp.endpoint", "otlp.traces_endpoint",
                                       "otlp.logs_endpoint", "otlp.metrics_endpoint",
                                       "alerts.webhook.url"};

static const char *kind_hint(int kind)
{
    switch (kind) {
    case K_DUR: return "a duration like 500ms, 5s, 1m or 1h";
    case K_TIMEOUT: return "a duration above zero like 500ms or 10s (0 would mean no timeout)";
    case K_SIZE: return "a size like 512, 64KiB or 8MiB";
    case K_UINT: return "a whole number";
    case K_BOOL: return "true or false";
    case K_TRIBOOL: return "true or false";
    case K_LEVEL: return "debug, info, warn or error";
    case K_LOGFMT: return "logfmt or json";
    case K_MODE: return "an octal file mode like \"0660\"";
    case K_COMPRESSION: return "gzip or none";
    case K_PROTOCOL: return "http/protobuf or http/json (grpc is not supported)";
    case K_FSYNC: return "always, batch or never";
    case K_MAP: return "a mapping of names to strings";
    case K_RULES: return "a list of rules";
    case K_LIST: return "a list of strings";
    case K_FILE: return "the path of a readable file";
    case K_LISTEN: return "HOST:PORT (numeric or localhost; port 0: any free port), unix:PATH or off";
    default: return "a string";
    }
}

static int set_str_field(char **dst, const char *v)
{
    char *d = strdup(v);
    if (d == NULL) {
        return -ENOMEM;
    }
    free(*dst);
    *dst = d;
    return 0;
}

/* Adds or replaces `k`. HTTP header names are case-insensitive (`nocase`):
 * a later source's `authorization` replaces an earlier `Authorization`, name
 * and value, rather than both being sent. */
static int map_put(struct sp_kv **v, size_t *n, const char *k, const char *val, int nocase)
{
    for (size_t i = 0; i < *n; i++) {
        if ((nocase ? strcasecmp : strcmp)((*v)[i].key, k) == 0) {
            int rc = set_str_field(&(*v)[i].value, val);
            return rc ? rc : set_str_field(&(*v)[i].key, k);
        }
    }
    struct sp_kv *nv = realloc(*v, sizeof(**v) * (*n + 1));
    if (nv == NULL) {
        return -ENOMEM;
    }
    *v = nv;
    nv[*n].key = strdup(k);
    nv[*n].value = strdup(val);
    if (nv[*n].key == NULL || nv[*n].value == NULL) {
        free(nv[*n].key);
        free(nv[*n].value);
        return -ENOMEM;
    }
    (*n)++;
    return 0;
}

/* 0, or -EINVAL with the hint left for the caller's message. */
static int set_value(struct sp_config *c, const struct key *k, const char *v)
{
    char *base = (char *)c;
    uint64_t u;
    switch (k->kind) {
    case K_DUR:
    case K_TIMEOUT:
        if (sp_parse_duration_ms(v, &u) || (k->kind == K_TIMEOUT && u == 0)) {
            return -EINVAL;
        }
        *(uint64_t *)(base + k->off) = u;
        return 0;
    case K_SIZE:
        if (sp_parse_size(v, &u)) {
            return -EINVAL;
        }
        *(uint64_t *)(base + k->off) = u;
        return 0;
    case K_UINT: {
        char *end;
        errno = 0;
        unsigned long long x = strtoull(v, &end, 10);
        if (!isdigit((unsigned char)v[0]) || *end || errno) {
            return -EINVAL;
        }
        *(uint64_t *)(base + k->off) = x;
        return 0;
    }
    case K_BOOL:
    case K_TRIBOOL:
        if (strcmp(v, "true") == 0 || strcmp(v, "on") == 0 || strcmp(v, "yes") == 0) {
            *(int *)(base + k->off) = 1;
        } else if (strcmp(v, "false") == 0 || strcmp(v, "off") == 0 || strcmp(v, "no") == 0) {
            *(int *)(base + k->off) = 0;
        } else {
            return -EINVAL;
        }
        return 0;
    case K_STR:
    case K_FILE:
        return set_str_field((char **)(base + k->off), v);
    case K_LISTEN: {
        struct sp_listen_addr la;
        const char *why;
        if (sp_listen_addr_parse(v, &la, &why)) {
            return -EINVAL;
        }
        if (k->off2) {
            *(int *)(base + k->off2) = 1;
        }
        return set_str_field((char **)(base + k->off), v);
    }
    case K_LEVEL: {
        int l = sp_log_level_parse(v);
        if (l < 0) {
            return -EINVAL;
        }
        *(int *)(base + k->off) = l;
        return 0;
    }
    case K_LOGFMT:
        if (strcmp(v, "logfmt") && strcmp(v, "json")) {
            return -EINVAL;
        }
        *(int *)(base + k->off) = strcmp(v, "json") == 0;
        return 0;
    case K_MODE: {
        char *end;
        unsigned long m = strtoul(v, &end, 8);
        if (!*v || *end || m > 0777) {
            return -EINVAL;
        }
        *(uint32_t *)(base + k->off) = (uint32_t)m;
        return 0;
    }
    case K_COMPRESSION:
        if (strcmp(v, "gzip") && strcmp(v, "none")) {
            return -EINVAL;
        }
        *(int *)(base + k->off) = strcmp(v, "gzip") == 0;
        return 0;
    case K_FSYNC:
        if (strcmp(v, "always") == 0) {
            *(int *)(base + k->off) = SP_FSYNC_ALWAYS;
        } else if (strcmp(v, "batch") == 0) {
            *(int *)(base + k->off) = SP_FSYNC_BATCH;
        } else if (strcmp(v, "never") == 0) {
            *(int *)(base + k->off) = SP_FSYNC_NEVER;
        } else {
            return -EINVAL;
        }
        return 0;
    case K_PROTOCOL:
        if (strcmp(v, "http/protobuf") == 0) {
            *(int *)(base + k->off) = SP_PROTO_HTTP_PROTOBUF;
        } else if (strcmp(v, "http/json") == 0) {
            *(int *)(base + k->off) = SP_PROTO_HTTP_JSON;
        } else {
            return -EINVAL;
        }
        return 0;
    default:
        return -EINVAL;
    }
}

static const struct key *find_key(const char *path)
{
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
        if (strcmp(keys[i].path, path) == 0) {
            return &keys[i];
        }
    }
    return NULL;
}

/* Is `path` a prefix section ("correlation") of some key? */
static int is_section(const char *path)
{
    size_t n = strlen(path);
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
        if (strncmp(keys[i].path, path, n) == 0 && keys[i].path[n] == '.') {
            return 1;
        }
    }
    return 0;
}

static int is_secret_key(const char *path)
{
    for (size_t i = 0; i < sizeof(secret_keys) / sizeof(secret_keys[0]); i++) {
        if (strcmp(secret_keys[i], path) == 0) {
            return 1;
        }
    }
    return 0;
}

/* "1KiB", "10ms", "512": a bound as the docs write it. */
static void fmt_amount(int kind, uint64_t v, char *buf, size_t n)
{
    static const struct {
        uint64_t unit;
        const char *name;
    } dur[] = {{3600000, "h"}, {60000, "m"}, {1000, "s"}, {1, "ms"}},
      size[] = {{1u << 30, "GiB"}, {1u << 20, "MiB"}, {1u << 10, "KiB"}, {1, ""}};
    int d = kind == K_DUR || kind == K_TIMEOUT;
    for (size_t i = 0; kind != K_UINT && i < 4; i++) {
        uint64_t u = d ? dur[i].unit : size[i].unit;
        if (v && v % u == 0) {
            snprintf(buf, n, "%llu%s", (unsigned long long)(v / u), d ? dur[i].name : size[i].name);
            return;
        }
    }
    snprintf(buf, n, "%llu", (unsigned long long)v);
}

/* NULL when `path` opens for reading and is not a folder, else why not (in
 * `buf`). Checked where the path is read, so that a typo in a CA or key path
 * stops start-up (and --check-config) naming the key, instead of every export
 * failing later with a TLS error. */
static const char *file_problem(const char *path, char *buf, size_t n)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0) {
        snprintf(buf, n, "%s", strerror(errno));
        return buf;
    }
    struct stat st;
    int dir = fstat(fd, &st) == 0 && S_ISDIR(st.st_mode);
    close(fd);
    return dir ? "is a folder, not a file" : NULL;
}

/* After set_value(): the range of a number, a URL's scheme. 0, or -EINVAL
 * with FILE:LINE and the key in `err`. A URL is shown as scheme://host:port
 * only: the rest may hold a password or an API key. */
static int check_value(const struct sp_config *c, const struct key *k, const char *v,
                       const char *file, size_t line, char *err, size_t errlen)
{
    char a[32];
    int dur = k->kind == K_DUR || k->kind == K_TIMEOUT;
    if (dur || k->kind == K_SIZE || k->kind == K_UINT) {
        uint64_t x = *(const uint64_t *)((const char *)c + k->off);
        uint64_t max = k->max ? k->max : dur ? SP_MAX_DURATION_MS : 0;
        for (size_t i = 0; i < sizeof(key_min) / sizeof(key_min[0]); i++) {
            if (strcmp(key_min[i].path, k->path) == 0 && x < key_min[i].min) {
                fmt_amount(k->kind, key_min[i].min, a, sizeof(a));
                snprintf(err, errlen, "%s:%zu: %s must be at least %s", file, line, k->path, a);
                return -EINVAL;
            }
        }
        if (max && x > max) {
            fmt_amount(k->kind, max, a, sizeof(a));
            snprintf(err, errlen, "%s:%zu: %s must be at most %s", file, line, k->path, a);
            return -EINVAL;
        }
    }
    struct sockaddr_storage ss;
    if (strcmp(k->path, "statsd.listen") == 0 && sp_dgram_addr_parse(v, &ss) < 0) {
        snprintf(err, errlen, "%s:%zu: statsd.listen '%.64s' must be HOST:PORT (e.g. 127.0.0.1:8125) or off",
                 file, line, v);
        return -EINVAL;
    }
    char wb[128];
    const char *why;
    if (k->kind == K_FILE && v[0] && (why = file_problem(v, wb, sizeof(wb))) != NULL) {
        snprintf(err, errlen, "%s:%zu: %s '%.200s': %s", file, line, k->path, v, why);
        return -EINVAL;
    }
    if (strcmp(k->path, "lambda.trigger") == 0 && v[0] && strcmp(v, "http") &&
        strcmp(v, "pubsub") && strcmp(v, "datasource") && strcmp(v, "timer") &&
        strcmp(v, "other")) {
        snprintf(err, errlen,
                 "%s:%zu: lambda.trigger '%.32s' must be http, pubsub, datasource, timer, other "
                 "or \"\" (unknown)",
                 file, line, v);
        return -EINVAL;
    }
    for (size_t i = 0; k->kind == K_STR && i < sizeof(url_keys) / sizeof(url_keys[0]); i++) {
        if (strcmp(url_keys[i], k->path) == 0 && v[0] && !sp_url_ok(v)) {
            char o[256];
            sp_url_origin(v, o, sizeof(o));
            snprintf(err, errlen, "%s:%zu: %s '%s' must start with http:// or https://", file,
                     line, k->path, o);
            return -EINVAL;
        }
    }
    return 0;
}

/* NULL when `name: value` can go out as one HTTP header line, else why not.
 * A CR or LF in the value would end the line early and start another header
 * of the value's choosing. */
static const char *header_problem(const char *name, const char *value)
{
    if (!name[0]) {
        return "has an empty name";
    }
    for (const unsigned char *p = (const unsigned char *)name; *p; p++) {
        if (!isalnum(*p) && !strchr("!#$%&'*+-.^_`|~", *p)) {
            return "is not a valid header name (letters, digits and !#$%&'*+-.^_`|~ only)";
        }
    }
    for (const unsigned char *p = (const unsigned char *)value; *p; p++) {
        if (*p == '\r' || *p == '\n') {
            return "has a line break in its value";
        }
        if ((*p < 0x20 && *p != '\t') || *p == 0x7f) {
            return "has a control character in its value";
        }
    }
    return NULL;
}

/* A header name fit for a message: what is not printable becomes '?'. */
static const char *printable(const char *s, char *buf, size_t n)
{
    size_t i = 0;
    for (; s[i] && i + 1 < n; i++) {
        buf[i] = isprint((unsigned char)s[i]) ? s[i] : '?';
    }
    buf[i] = 0;
    return buf;
}

static void list_free(char **v, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(v[i]);
    }
    free(v);
}

/* A user id as allowed_uids takes it: digits, below 2^32 - 1. */
static int uid_ok(const char *v)
{
    char *end;
    errno = 0;
    unsigned long long u = strtoull(v, &end, 10);
    return isdigit((unsigned char)v[0]) && *end == 0 && errno == 0 && u < 0xffffffffull;
}

/* A list of strings (SEQUENCE_START read): replaces the value, as YAML reads. */
static int read_list(yaml_parser_t *p, struct sp_config *c, const struct key *k, const char *file,
                     size_t line, char *err, size_t errlen)
{
    char **v = NULL;
    size_t n = 0;
    int rc = 0;
    for (;;) {
        yaml_event_t ev;
        if (!yaml_parser_parse(p, &ev)) {
            snprintf(err, errlen, "%s:%zu: YAML syntax error: %s", file, p->problem_mark.line + 1,
                     p->problem ? p->problem : "?");
            rc = -EINVAL;
            break;
        }
        yaml_event_type_t t = ev.type;
        if (t == YAML_SEQUENCE_END_EVENT) {
            yaml_event_delete(&ev);
            break;
        }
        if (t != YAML_SCALAR_EVENT) {
            snprintf(err, errlen, "%s:%zu: '%s' is a list of strings", file,
                     ev.start_mark.line + 1, k->path);
            rc = -EINVAL;
        } else if (k->max && n >= k->max) {
            snprintf(err, errlen, "%s:%zu: '%s' takes at most %llu items", file, line, k->path,
                     (unsigned long long)k->max);
            rc = -EINVAL;
        } else if (!sp_url_ok((const char *)ev.data.scalar.value) &&
                   strcmp(k->path, "alerts.alertmanager.urls") == 0) {
            char o[256];
            sp_url_origin((const char *)ev.data.scalar.value, o, sizeof(o));
            snprintf(err, errlen, "%s:%zu: %s: '%s' must start with http:// or https://", file,
                     ev.start_mark.line + 1, k->path, o);
            rc = -EINVAL;
        } else if (strstr(k->path, "allowed_uids") &&
                   !uid_ok((const char *)ev.data.scalar.value)) {
            snprintf(err, errlen, "%s:%zu: %s: '%.32s' is not a numeric user id", file,
                     ev.start_mark.line + 1, k->path, (const char *)ev.data.scalar.value);
            rc = -EINVAL;
        } else if (strcmp(k->path, "records.log_correlation_keys") == 0 &&
                   (ev.data.scalar.length == 0 ||
                    ev.data.scalar.length != strlen((const char *)ev.data.scalar.value))) {
            snprintf(err, errlen, "%s:%zu: %s: a key must be a non-empty name", file,
                     ev.start_mark.line + 1, k->path);
            rc = -EINVAL;
        } else {
            char **nv = realloc(v, sizeof(*v) * (n + 1));
            if (nv == NULL || (nv[n] = strdup((const char *)ev.data.scalar.value)) == NULL) {
                v = nv ? nv : v;
                rc = -ENOMEM;
            } else {
                v = nv;
                n++;
            }
        }
        yaml_event_delete(&ev);
        if (rc) {
            break;
        }
    }
    if (rc == 0 && n == 0 && strcmp(k->path, "records.log_correlation_keys") == 0) {
        snprintf(err, errlen, "%s:%zu: %s: give at least one key (the default is [correlation_id])",
                 file, line, k->path);
        rc = -EINVAL;
    }
    if (rc) {
        list_free(v, n);
        return rc;
    }
    char *base = (char *)c;
    list_free(*(char ***)(base + k->off), *(size_t *)(base + k->off2));
    *(char ***)(base + k->off) = v;
    *(size_t *)(base + k->off2) = n;
    return 0;
}

const char *sp_config_otlp_listen(const struct sp_config *c)
{
    return c->otlp_listen[0] ? c->otlp_listen : SP_DEF_OTLP_LISTEN;
}

static void tls_files_init(struct sp_tls_files *t)
{
    t->ca_file = strdup("");
    t->cert_file = strdup("");
    t->key_file = strdup("");
}

static void tls_files_free(struct sp_tls_files *t)
{
    free(t->ca_file);
    free(t->cert_file);
    free(t->key_file);
}

void sp_config_defaults(struct sp_config *c)
{
    memset(c, 0, sizeof(*c));
    c->log_level = SP_LOG_INFO;
    c->socket_mode = SP_DEF_SOCKET_MODE;
    c->max_record_bytes = SP_DEF_MAX_RECORD_BYTES;
    c->max_connections = SP_DEF_MAX_CONNECTIONS;
    c->conn_idle_timeout_ms = SP_DEF_CONN_IDLE_TIMEOUT_MS;
    c->max_attributes = SP_DEF_MAX_ATTRIBUTES;
    c->max_attr_value_bytes = SP_DEF_MAX_ATTR_VALUE_BYTES;
    c->max_memory = SP_DEF_MAX_MEMORY;
    c->wf_idle_timeout_ms = SP_DEF_WF_IDLE_TIMEOUT_MS;
    c->wf_grace_ms = SP_DEF_WF_GRACE_MS;
    c->closed_ttl_ms = SP_DEF_CLOSED_TTL_MS;
    c->max_open_workflows = SP_DEF_MAX_OPEN_WORKFLOWS;
    c->max_closed_workflows = SP_DEF_MAX_CLOSED_WORKFLOWS;
    c->root_without_start = 1;
    c->metrics_interval_ms = SP_DEF_METRICS_INTERVAL_MS;
    c->max_metric_series = SP_DEF_MAX_METRIC_SERIES;
    c->metrics_series_ttl_ms = SP_DEF_METRICS_SERIES_TTL_MS;
    c->batch_max_items = SP_DEF_BATCH_MAX_ITEMS;
    c->batch_max_bytes = SP_DEF_BATCH_MAX_BYTES;
    c->batch_delay_ms = SP_DEF_BATCH_DELAY_MS;
    c->queue_max_bytes = SP_DEF_QUEUE_MAX_BYTES;
    c->shutdown_timeout_ms = SP_DEF_SHUTDOWN_TIMEOUT_MS;
    c->retry_initial_ms = SP_DEF_RETRY_INITIAL_MS;
    c->retry_max_ms = SP_DEF_RETRY_MAX_MS;
    c->retry_max_elapsed_ms = SP_DEF_RETRY_MAX_ELAPSED_MS;
    c->otlp_endpoint = strdup("");
    for (int s = 0; s < SP_SIG_COUNT; s++) {
        c->otlp_signal_endpoint[s] = strdup("");
    }
    c->otlp_timeout_ms = SP_DEF_EXPORT_TIMEOUT_MS;
    c->otlp_gzip = 1;
    c->otlp_protocol = SP_PROTO_HTTP_PROTOBUF;
    c->otlp_listen = strdup("");
    c->otlp_max_request_bytes = SP_DEF_OTLP_MAX_REQUEST_BYTES;
    c->otlp_header_timeout_ms = SP_DEF_HTTP_HEADER_TIMEOUT_MS;
    c->otlp_idle_timeout_ms = SP_DEF_HTTP_IDLE_TIMEOUT_MS;
    tls_files_init(&c->otlp_tls);
    for (int s = 0; s < SP_SIG_COUNT; s++) {
        tls_files_init(&c->otlp_signal_tls[s]);
    }
    tls_files_init(&c->alert_tls);
    c->file_enabled = -1;
    c->file_dir = strdup("./spindle-data");
    c->file_max_bytes = SP_DEF_FILE_MAX_BYTES;
    c->file_max_files = SP_DEF_FILE_MAX_FILES;
    c->service_name = strdup("");
    c->state_dir = strdup("");
    c->socket_path = strdup("");
    c->storage_path = strdup("");
    c->statsd_socket = strdup("");
    c->statsd_listen = strdup("off");
    c->statsd_max_series = SP_DEF_STATSD_MAX_SERIES;
    c->socket_datagram = 1;
    c->lambda_extension = -1;
    c->lambda_flush_budget_ms = SP_DEF_LAMBDA_FLUSH_BUDGET_MS;
    c->lambda_buffer_timeout_ms = SP_LAMBDA_MIN_BUFFER_TIMEOUT_MS;
    c->lambda_buffer_max_items = SP_LAMBDA_MIN_BUFFER_ITEMS;
    c->lambda_buffer_max_bytes = SP_LAMBDA_MIN_BUFFER_BYTES;
    c->storage_fsync = SP_FSYNC_BATCH;
    c->storage_max_bytes = SP_DEF_JOURNAL_MAX_BYTES;
    c->storage_segment_bytes = SP_DEF_JOURNAL_SEGMENT_BYTES;
    c->alert_eval_ms = SP_DEF_ALERT_EVAL_MS;
    c->alert_resend_ms = SP_DEF_ALERT_RESEND_MS;
    c->alert_event_hold_ms = SP_DEF_ALERT_EVENT_HOLD_MS;
    c->alert_max_series = SP_DEF_ALERT_MAX_SERIES;
    c->alert_log = 1;
    c->alert_otlp_log = 1;
    c->notify_timeout_ms = SP_DEF_NOTIFY_TIMEOUT_MS;
    c->notify_queue_max = SP_DEF_NOTIFY_QUEUE_MAX;
    c->notify_max_attempts = SP_DEF_NOTIFY_MAX_ATTEMPTS;
    c->alert_trace_url = strdup("");
    c->dlq_depth_metric = strdup("dlq.depth");
    c->am_bearer_token_file = strdup("");
    c->am_bearer_token_env = strdup("");
    c->am_username = strdup("");
    c->am_password_file = strdup("");
    c->am_password_env = strdup("");
    c->webhook_url = strdup("");
    c->webhook_secret_file = strdup("");
    c->webhook_secret_env = strdup("");
    c->admin_listen = strdup(SP_DEF_ADMIN_LISTEN);
    char err[256];
    /* The embedded default states the same values in YAML; parsing it here
     * keeps the two from drifting (a unit test also checks it parses). */
    if (sp_config_load_yaml(c, "<embedded default>", sp_default_config_yaml,
                            sizeof(sp_default_config_yaml) - 1, err, sizeof(err))) {
        fprintf(stderr, "spindle: bug: %s\n", err);
        abort();
    }
    c->admin_listen_set = 0; /* the embedded default states it; it was not chosen */
}

int sp_config_load_yaml(struct sp_config *c, const char *name, const char *text, size_t len,
                        char *err, size_t errlen)
{
    yaml_parser_t p;
    yaml_event_t ev;
    char path[256] = "";
    size_t depth_len[8]; /* length of `path` before each nesting level */
    int depth = 0;       /* mapping nesting */
    int expect_key = 0;
    int rc = 0;
    const struct key *map_key = NULL; /* inside a K_MAP value */
    char map_item[256] = "";
    int map_expect_key = 1;
    size_t key_line = 0; /* line of the key whose value comes next */

    if (!yaml_parser_initialize(&p)) {
        snprintf(err, errlen, "%s: cannot initialise the YAML parser", name);
        return -ENOMEM;
    }
    yaml_parser_set_input_string(&p, (const unsigned char *)text, len);
    for (;;) {
        if (!yaml_parser_parse(&p, &ev)) {
            snprintf(err, errlen, "%s:%zu: YAML syntax error: %s", name, p.problem_mark.line + 1,
                     p.problem ? p.problem : "?");
            rc = -EINVAL;
            break;
        }
        size_t line = ev.start_mark.line + 1;
        yaml_event_type_t t = ev.type;
        if (t == YAML_STREAM_END_EVENT) {
            yaml_event_delete(&ev);
            break;
        }
        if (map_key) {
            /* Inside otlp.headers or service.resource_attributes. */
            if (t == YAML_MAPPING_END_EVENT) {
                map_key = NULL;
                expect_key = 1;
            } else if (t == YAML_SCALAR_EVENT) {
                const char *v = (const char *)ev.data.scalar.value;
                if (map_expect_key) {
                    snprintf(map_item, sizeof(map_item), "%s", v);
                    map_expect_key = 0;
                } else {
                    char *base = (char *)c;
                    int hdr = strcmp(map_key->path, "otlp.headers") == 0;
                    const char *why = hdr ? header_problem(map_item, v) : NULL;
                    char pn[64];
                    if (why) {
                        snprintf(err, errlen, "%s:%zu: %s: header '%s' %s", name, line,
                                 map_key->path, printable(map_item, pn, sizeof(pn)), why);
                        rc = -EINVAL;
                    } else {
                        rc = map_put((struct sp_kv **)(base + map_key->off),
                                     (size_t *)(base + map_key->off2), map_item, v, hdr);
                    }
                    map_expect_key = 1;
                }
            } else {
                snprintf(err, errlen, "%s:%zu: '%s.%s' must be a string", name, line,
                         map_key->path, map_item);
                rc = -EINVAL;
            }
        } else if (t == YAML_MAPPING_START_EVENT) {
            if (depth == 0 && path[0] == 0 && !expect_key) {
                depth = 1; /* the document's root mapping */
                depth_len[0] = 0;
                expect_key = 1;
            } else {
                const struct key *k = find_key(path);
                if (k && k->kind == K_MAP) {
                    map_key = k;
                    map_expect_key = 1;
                } else if (k) {
                    snprintf(err, errlen, "%s:%zu: bad value for '%s': expected %s", name,
                             key_line, path, kind_hint(k->kind));
                    rc = -EINVAL;
                } else if (!is_section(path)) {
                    /* The mapping starts on the line after its key: name the key's. */
                    snprintf(err, errlen, "%s:%zu: unknown key '%s'", name, key_line, path);
                    rc = -EINVAL;
                } else if (depth >= 7) {
                    snprintf(err, errlen, "%s:%zu: nested too deep at '%s'", name, line, path);
                    rc = -EINVAL;
                } else {
                    depth_len[depth++] = strlen(path);
                    expect_key = 1;
                }
            }
        } else if (t == YAML_MAPPING_END_EVENT) {
            depth--;
            if (depth > 0) {
                /* Back to the parent's key list: depth_len[depth - 1] is the
                 * parent's own path, without the finished key. */
                path[depth_len[depth - 1]] = 0;
            }
            expect_key = 1;
        } else if (t == YAML_SCALAR_EVENT) {
            const char *v = (const char *)ev.data.scalar.value;
            if (depth == 0) {
                if (v[0]) {
                    snprintf(err, errlen, "%s:%zu: the configuration must be a mapping", name,
                             line);
                    rc = -EINVAL;
                }
            } else if (expect_key) {
                size_t base_len = depth_len[depth - 1];
                path[base_len] = 0;
                size_t need = base_len + (base_len ? 1 : 0) + strlen(v);
                if (need >= sizeof(path)) {
                    snprintf(err, errlen, "%s:%zu: key too long", name, line);
                    rc = -EINVAL;
                } else {
                    if (base_len) {
                        strcat(path, ".");
                    }
                    strcat(path, v);
                    expect_key = 0;
                    key_line = line;
                }
            } else {
                const struct key *k = find_key(path);
                if (k == NULL && is_secret_key(path)) {
                    snprintf(err, errlen,
                             "%s:%zu: '%s': secrets are never kept in the configuration in "
                             "clear; use '%s_file' or '%s_env'",
                             name, line, path, path, path);
                    rc = -EINVAL;
                } else if (k == NULL) {
                    snprintf(err, errlen, "%s:%zu: unknown key '%s'", name, line, path);
                    rc = -EINVAL;
                } else if (k->kind == K_RULES || k->kind == K_LIST) {
                    snprintf(err, errlen, "%s:%zu: bad value for '%s': expected %s", name, line,
                             path, kind_hint(k->kind));
                    rc = -EINVAL;
                } else if (k->kind == K_MAP) {
                    if (v[0]) {
                        snprintf(err, errlen, "%s:%zu: bad value for '%s': expected %s", name,
                                 line, path, kind_hint(k->kind));
                        rc = -EINVAL;
                    }
                } else if (set_value(c, k, v)) {
                    snprintf(err, errlen, "%s:%zu: bad value '%s' for '%s': expected %s", name,
                             line, v, path, kind_hint(k->kind));
                    rc = -EINVAL;
                } else {
                    rc = check_value(c, k, v, name, line, err, errlen);
                }
                path[depth_len[depth - 1]] = 0;
                expect_key = 1;
            }
        } else if (t == YAML_SEQUENCE_START_EVENT && depth > 0 && !expect_key &&
                   find_key(path) && find_key(path)->kind == K_RULES) {
            rc = alert_rules_yaml(&p, c, name, err, errlen);
            path[depth_len[depth - 1]] = 0;
            expect_key = 1;
        } else if (t == YAML_SEQUENCE_START_EVENT && depth > 0 && !expect_key &&
                   find_key(path) && find_key(path)->kind == K_LIST) {
            rc = read_list(&p, c, find_key(path), name, line, err, errlen);
            path[depth_len[depth - 1]] = 0;
            expect_key = 1;
        } else if (t == YAML_SEQUENCE_START_EVENT && depth > 0 && !expect_key &&
                   find_key(path) == NULL && !is_section(path)) {
            snprintf(err, errlen, "%s:%zu: unknown key '%s'", name, key_line, path);
            rc = -EINVAL;
        } else if (t == YAML_SEQUENCE_START_EVENT) {
            snprintf(err, errlen, "%s:%zu: '%s' does not take a list", name, line,
                     path[0] ? path : "(top level)");
            rc = -EINVAL;
        } else if (t == YAML_ALIAS_EVENT) {
            snprintf(err, errlen, "%s:%zu: YAML aliases are not supported", name, line);
            rc = -EINVAL;
        }
        yaml_event_delete(&ev);
        if (rc) {
            break;
        }
    }
    yaml_parser_delete(&p);
    return rc;
}

int sp_config_load_file(struct sp_config *c, const char *path, char *err, size_t errlen)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        snprintf(err, errlen, "%s: cannot open: %s", path, strerror(errno));
        return -errno;
    }
    char *buf = NULL;
    size_t len = 0, cap = 0;
    for (;;) {
        if (len == cap) {
            cap = cap ? cap * 2 : 4096;
            if (cap > 16u * 1024u * 1024u) {
                free(buf);
                fclose(f);
                snprintf(err, errlen, "%s: larger than 16 MiB", path);
                return -EFBIG;
            }
            char *nb = realloc(buf, cap);
            if (nb == NULL) {
                free(buf);
                fclose(f);
                return -ENOMEM;
            }
            buf = nb;
        }
        size_t n = fread(buf + len, 1, cap - len, f);
        len += n;
        if (n == 0) {
            break;
        }
    }
    fclose(f);
    int rc = sp_config_load_yaml(c, path, buf, len, err, errlen);
    free(buf);
    return rc;
}

static int hexv(int ch)
{
    return ch >= '0' && ch <= '9'   ? ch - '0'
           : ch >= 'a' && ch <= 'f' ? ch - 'a' + 10
           : ch >= 'A' && ch <= 'F' ? ch - 'A' + 10
                                    : -1;
}

/* "k=v,k2=v2" with %XX decoding, as the OTel spec defines both variables. */
static int parse_kv_list(const char *s, struct sp_kv **v, size_t *n, const char *var, int headers,
                         char *err, size_t errlen)
{
    char *copy = strdup(s);
    if (copy == NULL) {
        return -ENOMEM;
    }
    int rc = 0;
    char *save = NULL;
    for (char *item = strtok_r(copy, ",", &save); item; item = strtok_r(NULL, ",", &save)) {
        char *eq = strchr(item, '=');
        if (eq == NULL) {
            snprintf(err, errlen, "%s: '%s' is not key=value", var, item);
            rc = -EINVAL;
            break;
        }
        *eq = 0;
        char *k = item, *val = eq + 1;
        while (*k == ' ') {
            k++;
        }
        char *ke = k + strlen(k);
        while (ke > k && ke[-1] == ' ') {
            *--ke = 0;
        }
        /* percent-decode the value in place */
        char *w = val;
        for (char *r = val; *r; r++) {
            if (*r == '%' && hexv(r[1]) >= 0 && hexv(r[2]) >= 0) {
                *w++ = (char)(hexv(r[1]) * 16 + hexv(r[2]));
                r += 2;
            } else {
                *w++ = *r;
            }
        }
        *w = 0;
        while (*val == ' ') {
            val++;
        }
        if (*k == 0) {
            continue;
        }
        const char *why = headers ? header_problem(k, val) : NULL;
        if (why) {
            char pn[64];
            snprintf(err, errlen, "%s: header '%s' %s", var, printable(k, pn, sizeof(pn)), why);
            rc = -EINVAL;
            break;
        }
        if ((rc = map_put(v, n, k, val, headers))) {
            break;
        }
    }
    free(copy);
    return rc;
}

static int bad_url_var(const char *var, const char *v, char *err, size_t errlen)
{
    char o[256];
    sp_url_origin(v, o, sizeof(o));
    snprintf(err, errlen, "%s: '%s' must start with http:// or https://", var, o);
    return -EINVAL;
}

int sp_config_load_env(struct sp_config *c, const char *(*getenv_fn)(const char *), char *err,
                       size_t errlen)
{
    static const char *sig_vars[] = {"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
                                     "OTEL_EXPORTER_OTLP_LOGS_ENDPOINT",
                                     "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT"};
    const char *v;
    int rc;
    if ((v = getenv_fn("OTEL_EXPORTER_OTLP_ENDPOINT")) && *v) {
        if (!sp_url_ok(v)) {
            return bad_url_var("OTEL_EXPORTER_OTLP_ENDPOINT", v, err, errlen);
        }
        if ((rc = set_str_field(&c->otlp_endpoint, v))) {
            return rc;
        }
    }
    for (int s = 0; s < SP_SIG_COUNT; s++) {
        if ((v = getenv_fn(sig_vars[s])) && *v) {
            if (!sp_url_ok(v)) {
                return bad_url_var(sig_vars[s], v, err, errlen);
            }
            if ((rc = set_str_field(&c->otlp_signal_endpoint[s], v))) {
                return rc;
            }
        }
    }
    /* The exporter spec's TLS variables: the general three, then each
     * signal's, which win over them (sp_config_signal_tls). */
    static const char *const tls_vars[SP_SIG_COUNT + 1][3] = {
        {"OTEL_EXPORTER_OTLP_CERTIFICATE", "OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE",
         "OTEL_EXPORTER_OTLP_CLIENT_KEY"},
        {"OTEL_EXPORTER_OTLP_TRACES_CERTIFICATE", "OTEL_EXPORTER_OTLP_TRACES_CLIENT_CERTIFICATE",
         "OTEL_EXPORTER_OTLP_TRACES_CLIENT_KEY"},
        {"OTEL_EXPORTER_OTLP_LOGS_CERTIFICATE", "OTEL_EXPORTER_OTLP_LOGS_CLIENT_CERTIFICATE",
         "OTEL_EXPORTER_OTLP_LOGS_CLIENT_KEY"},
        {"OTEL_EXPORTER_OTLP_METRICS_CERTIFICATE", "OTEL_EXPORTER_OTLP_METRICS_CLIENT_CERTIFICATE",
         "OTEL_EXPORTER_OTLP_METRICS_CLIENT_KEY"}};
    for (int s = 0; s <= SP_SIG_COUNT; s++) {
        struct sp_tls_files *t = s == 0 ? &c->otlp_tls : &c->otlp_signal_tls[s - 1];
        char **dst[3] = {&t->ca_file, &t->cert_file, &t->key_file};
        for (int f = 0; f < 3; f++) {
            char wb[128];
            const char *why;
            if ((v = getenv_fn(tls_vars[s][f])) == NULL || !*v) {
                continue;
            }
            if ((why = file_problem(v, wb, sizeof(wb))) != NULL) {
                snprintf(err, errlen, "%s: '%.200s': %s", tls_vars[s][f], v, why);
                return -EINVAL;
            }
            if ((rc = set_str_field(dst[f], v))) {
                return rc;
            }
            /* A client certificate from the environment comes with the
             * environment's key or none (the key in the same file), never the
             * file's key for another certificate. */
            const char *k = getenv_fn(tls_vars[s][2]);
            if (f == 1 && (k == NULL || !*k) && (rc = set_str_field(&t->key_file, ""))) {
                return rc;
            }
        }
    }
    if ((v = getenv_fn("OTEL_EXPORTER_OTLP_HEADERS")) && *v) {
        if ((rc = parse_kv_list(v, &c->otlp_headers, &c->n_otlp_headers,
                                "OTEL_EXPORTER_OTLP_HEADERS", 1, err, errlen))) {
            return rc;
        }
    }
    if ((v = getenv_fn("OTEL_EXPORTER_OTLP_TIMEOUT")) && *v) {
        char *end;
        unsigned long long ms = strtoull(v, &end, 10);
        if (*end || !isdigit((unsigned char)v[0])) {
            snprintf(err, errlen,
                     "OTEL_EXPORTER_OTLP_TIMEOUT: '%s' is not a number of milliseconds", v);
            return -EINVAL;
        }
        if (ms == 0) {
            /* libcurl reads 0 as "no timeout": one silent backend would hold
             * its queue for ever. */
            snprintf(err, errlen,
                     "OTEL_EXPORTER_OTLP_TIMEOUT: 0 would mean no timeout at all; give a number "
                     "of milliseconds above zero (default 10000)");
            return -EINVAL;
        }
        if (ms > 1000000000000000ull) {
            /* The file's bound on a duration (sp_parse_duration_ms); past
             * LONG_MAX the value would reach libcurl negative and every
             * request would fail to start. strtoull saturates, so overflow
             * lands here too. */
            snprintf(err, errlen, "OTEL_EXPORTER_OTLP_TIMEOUT: '%s' is too large", v);
            return -EINVAL;
        }
        c->otlp_timeout_ms = ms;
    }
    if ((v = getenv_fn("OTEL_EXPORTER_OTLP_COMPRESSION")) && *v) {
        if (strcmp(v, "gzip") && strcmp(v, "none")) {
            snprintf(err, errlen, "OTEL_EXPORTER_OTLP_COMPRESSION: '%s': expected gzip or none",
                     v);
            return -EINVAL;
        }
        c->otlp_gzip = strcmp(v, "gzip") == 0;
    }
    if ((v = getenv_fn("OTEL_EXPORTER_OTLP_PROTOCOL")) && *v) {
        if (strcmp(v, "http/protobuf") == 0) {
            c->otlp_protocol = SP_PROTO_HTTP_PROTOBUF;
        } else if (strcmp(v, "http/json") == 0) {
            c->otlp_protocol = SP_PROTO_HTTP_JSON;
        } else if (strcmp(v, "grpc") == 0) {
            snprintf(err, errlen,
                     "OTEL_EXPORTER_OTLP_PROTOCOL=grpc is not supported: spindle exports "
                     "OTLP over HTTP; use http/protobuf (port 4318) or http/json");
            return -EINVAL;
        } else {
            snprintf(err, errlen,
                     "OTEL_EXPORTER_OTLP_PROTOCOL: '%s': expected http/protobuf or http/json", v);
            return -EINVAL;
        }
    }
    if ((v = getenv_fn("OTEL_RESOURCE_ATTRIBUTES")) && *v) {
        if ((rc = parse_kv_list(v, &c->resource_attrs, &c->n_resource_attrs,
                                "OTEL_RESOURCE_ATTRIBUTES", 0, err, errlen))) {
            return rc;
        }
    }
    if ((v = getenv_fn("OTEL_SERVICE_NAME")) && *v) {
        if ((rc = set_str_field(&c->service_name, v))) {
            return rc;
        }
    }
    return 0;
}

int sp_config_otlp_enabled(const struct sp_config *c)
{
    if (c->otlp_endpoint[0]) {
        return 1;
    }
    for (int s = 0; s < SP_SIG_COUNT; s++) {
        if (c->otlp_signal_endpoint[s][0]) {
            return 1;
        }
    }
    return 0;
}

const char *sp_config_signal_url(const struct sp_config *c, int signal, char *buf, size_t n)
{
    static const char *paths[] = {"v1/traces", "v1/logs", "v1/metrics"};
    if (c->otlp_signal_endpoint[signal][0]) {
        return c->otlp_signal_endpoint[signal];
    }
    if (!c->otlp_endpoint[0]) {
        return NULL;
    }
    /* The signal's path goes at the end of the URL's path, before any query
     * string (an API key in `?api_key=...` stays a query parameter). */
    const char *e = c->otlp_endpoint;
    size_t l = strcspn(e, "?#");
    snprintf(buf, n, "%.*s%s%s%s", (int)l, e, l && e[l - 1] == '/' ? "" : "/", paths[signal],
             e + l);
    return buf;
}

void sp_config_signal_tls(const struct sp_config *c, int signal, struct sp_tls_files *out)
{
    const struct sp_tls_files *g = &c->otlp_tls, *s = &c->otlp_signal_tls[signal];
    out->ca_file = s->ca_file[0] ? s->ca_file : g->ca_file;
    /* A signal's own key with the general certificate (or the reverse) would
     * never match: the pair comes from one place. */
    const struct sp_tls_files *pair = s->cert_file[0] || s->key_file[0] ? s : g;
    out->cert_file = pair->cert_file;
    out->key_file = pair->key_file;
}

int sp_config_finish(struct sp_config *c, char *err, size_t errlen)
{
    int rc;
    /* Each key's own range was checked as it was read (key_min[]). */
    /* Eviction works a segment at a time: a journal holds at least four. */
    if (c->storage_segment_bytes > c->storage_max_bytes / 4) {
        c->storage_segment_bytes = c->storage_max_bytes / 4;
    }
    /* The file, the environment and the flags check their URLs as they are
     * read, naming where each came from; this is the last word for a
     * configuration built otherwise, showing only scheme://host:port. */
    for (int s = -1; s < SP_SIG_COUNT; s++) {
        const char *u = s < 0 ? c->otlp_endpoint : c->otlp_signal_endpoint[s];
        if (u[0] && !sp_url_ok(u)) {
            char o[256];
            sp_url_origin(u, o, sizeof(o));
            snprintf(err, errlen, "OTLP endpoint '%s' must start with http:// or https://", o);
            return -EINVAL;
        }
    }
    /* A key alone cannot authenticate: say so now rather than send requests
     * without the client certificate the user meant to present. (A
     * certificate alone is fine: its file may hold the key too.) */
    static const char *const tls_names[SP_SIG_COUNT + 2] = {"otlp.tls", "otlp.traces_tls",
                                                            "otlp.logs_tls", "otlp.metrics_tls",
                                                            "alerts.tls"};
    for (int s = 0; s < SP_SIG_COUNT + 2; s++) {
        const struct sp_tls_files *t = s == 0                  ? &c->otlp_tls
                                       : s <= SP_SIG_COUNT ? &c->otlp_signal_tls[s - 1]
                                                           : &c->alert_tls;
        if (t->key_file[0] && !t->cert_file[0]) {
            snprintf(err, errlen, "%s.key_file%s is set without %s.cert_file%s: a client key "
                     "needs its certificate", tls_names[s],
                     s <= SP_SIG_COUNT ? " (or OTEL_EXPORTER_OTLP_*CLIENT_KEY)" : "",
                     tls_names[s],
                     s <= SP_SIG_COUNT ? " (or OTEL_EXPORTER_OTLP_*CLIENT_CERTIFICATE)" : "");
            return -EINVAL;
        }
    }
    if (c->file_enabled < 0) {
        c->file_enabled = !sp_config_otlp_enabled(c);
    }
    if ((rc = alert_rules_check(c, err, errlen))) {
        return rc;
    }
    /* An exporter pointed at spindle's own receiver would send every span
     * back in again, forever. Only a listener the user set is checked here:
     * an endpoint at the default address is a collector already listening
     * there, and the receiver stays off at start (collectors/otlp). */
    struct sp_listen_addr la;
    const char *why;
    if (c->otlp_listen[0] && sp_listen_addr_parse(c->otlp_listen, &la, &why) == 0) {
        for (int s = -1; s < SP_SIG_COUNT; s++) {
            const char *u = s < 0 ? c->otlp_endpoint : c->otlp_signal_endpoint[s];
            if (u[0] && sp_listen_addr_reaches_url(&la, u)) {
                char o[256];
                sp_url_origin(u, o, sizeof(o));
                snprintf(err, errlen,
                         "OTLP endpoint '%s' is spindle's own OTLP receiver (otlp.listen %s): "
                         "it would loop; point it at a collector or set otlp.listen",
                         o, c->otlp_listen);
                return -EINVAL;
            }
        }
    }
    if (c->socket_path[0] == 0) {
        char p[512];
        const char *xdg = getenv("XDG_RUNTIME_DIR");
        if (geteuid() == 0) {
            snprintf(p, sizeof(p), "/run/spindle/spindle.sock");
        } else if (xdg && xdg[0] == '/') {
            snprintf(p, sizeof(p), "%s/spindle.sock", xdg);
        } else {
            snprintf(p, sizeof(p), "/tmp/spindle-%u/spindle.sock", (unsigned)getuid());
        }
        if (set_str_field(&c->socket_path, p)) {
            return -ENOMEM;
        }
    }
    if (c->state_dir[0] == 0) {
        char p[512];
        const char *xdg = getenv("XDG_STATE_HOME");
        const char *home = getenv("HOME");
        if (geteuid() == 0) {
            snprintf(p, sizeof(p), "/var/lib/spindle");
        } else if (xdg && xdg[0] == '/') {
            snprintf(p, sizeof(p), "%s/spindle", xdg);
        } else if (home && home[0] == '/') {
            snprintf(p, sizeof(p), "%s/.local/state/spindle", home);
        } else {
            snprintf(p, sizeof(p), "/tmp/spindle-%u/state", (unsigned)getuid());
        }
        if (set_str_field(&c->state_dir, p)) {
            return -ENOMEM;
        }
    }
    return 0;
}

static void kv_free(struct sp_kv *v, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(v[i].key);
        free(v[i].value);
    }
    free(v);
}

void sp_config_free(struct sp_config *c)
{
    free(c->socket_path);
    free(c->otlp_endpoint);
    for (int s = 0; s < SP_SIG_COUNT; s++) {
        free(c->otlp_signal_endpoint[s]);
    }
    kv_free(c->otlp_headers, c->n_otlp_headers);
    tls_files_free(&c->otlp_tls);
    for (int s = 0; s < SP_SIG_COUNT; s++) {
        tls_files_free(&c->otlp_signal_tls[s]);
    }
    tls_files_free(&c->alert_tls);
    free(c->otlp_listen);
    list_free(c->otlp_correlation_keys, c->n_otlp_correlation_keys);
    list_free(c->log_correlation_keys, c->n_log_correlation_keys);
    free(c->lambda_trigger);
    kv_free(c->resource_attrs, c->n_resource_attrs);
    free(c->file_dir);
    free(c->service_name);
    free(c->state_dir);
    free(c->storage_path);
    free(c->statsd_socket);
    free(c->statsd_listen);
    list_free(c->socket_allowed_uids, c->n_socket_allowed_uids);
    list_free(c->statsd_allowed_uids, c->n_statsd_allowed_uids);
    alert_rules_free(c->alert_rules, c->n_alert_rules);
    list_free(c->alertmanager_urls, c->n_alertmanager_urls);
    free(c->alert_trace_url);
    free(c->dlq_depth_metric);
    free(c->am_bearer_token_file);
    free(c->am_bearer_token_env);
    free(c->am_username);
    free(c->am_password_file);
    free(c->am_password_env);
    free(c->webhook_url);
    free(c->webhook_secret_file);
    free(c->webhook_secret_env);
    free(c->admin_listen);
    memset(c, 0, sizeof(*c));
}

static int set_flag(char **dst, const char *v)
{
    return v ? set_str_field(dst, v) : 0;
}

int sp_config_build(struct sp_config *c, const struct sp_flags *f,
                    const char *(*getenv_fn)(const char *), char *err, size_t errlen)
{
    int rc;
    sp_config_defaults(c);
    if ((f->config && (rc = sp_config_load_file(c, f->config, err, errlen))) ||
        (rc = sp_config_load_env(c, getenv_fn, err, errlen))) {
        goto fail;
    }
    if ((rc = set_flag(&c->socket_path, f->socket)) ||
        (rc = set_flag(&c->otlp_listen, f->otlp_listen)) ||
        (rc = set_flag(&c->otlp_endpoint, f->endpoint)) ||
        (rc = set_flag(&c->storage_path, f->storage)) ||
        (rc = set_flag(&c->statsd_socket, f->statsd_socket)) ||
        (rc = set_flag(&c->admin_listen, f->http_listen))) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    if (f->lambda_extension) {
        c->lambda_extension = 1;
    }
    for (int i = 0; i < f->n_alertmanager; i++) {
        if (c->n_alertmanager_urls >= SP_ALERT_MAX_AM_URLS) {
            snprintf(err, errlen, "at most %u Alertmanager URLs", SP_ALERT_MAX_AM_URLS);
            rc = -EINVAL;
            goto fail;
        }
        char **nv = realloc(c->alertmanager_urls, sizeof(*nv) * (c->n_alertmanager_urls + 1));
        if (nv == NULL || (nv[c->n_alertmanager_urls] = strdup(f->alertmanager[i])) == NULL) {
            c->alertmanager_urls = nv ? nv : c->alertmanager_urls;
            snprintf(err, errlen, "out of memory");
            rc = -ENOMEM;
            goto fail;
        }
        c->alertmanager_urls = nv;
        c->n_alertmanager_urls++;
    }
    if (f->http_listen) {
        struct sp_listen_addr la;
        const char *why = "";
        if (sp_listen_addr_parse(f->http_listen, &la, &why)) {
            snprintf(err, errlen, "--http-listen '%s': %s", f->http_listen, why);
            rc = -EINVAL;
            goto fail;
        }
        c->admin_listen_set = 1;
    }
    if (f->level) {
        int l = sp_log_level_parse(f->level);
        if (l < 0) {
            snprintf(err, errlen, "--log-level '%s': expected debug, info, warn or error",
                     f->level);
            rc = -EINVAL;
            goto fail;
        }
        c->log_level = l;
    }
    if ((rc = sp_config_finish(c, err, errlen))) {
        goto fail;
    }
    return 0;
fail:
    sp_config_free(c);
    return rc;
}
