/*
 * config.h - spindle's configuration: defaults, the YAML file, the standard
 * OpenTelemetry environment variables and the command-line flags, applied in
 * that order so that flags > environment > file > defaults.
 *
 * Ownership: a struct sp_config owns every string it points to; free it with
 * sp_config_free(). Errors are written into `err` as one line a person can act
 * on ("file.yaml:3: unknown key 'correlation.idel_timeout'").
 */
#ifndef SP_CONFIG_H
#define SP_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#include "model.h"
#include "units.h"
#include "url.h"

enum sp_protocol { SP_PROTO_HTTP_PROTOBUF = 0, SP_PROTO_HTTP_JSON = 1 };
/* storage.fsync: what an ack waits for (docs/internals/journal.md). */
enum sp_fsync { SP_FSYNC_BATCH = 0, SP_FSYNC_ALWAYS = 1, SP_FSYNC_NEVER = 2 };

struct alert_rule; /* alert.h */

struct sp_kv {
    char *key;
    char *value;
};

/* TLS files for one kind of destination, handed to libcurl; "" = not set. */
struct sp_tls_files {
    char *ca_file;   /* PEM CA bundle: the only trust used to verify the server */
    char *cert_file; /* PEM client certificate (mTLS); may hold the key too */
    char *key_file;  /* PEM private key of cert_file ("" = in cert_file) */
};

struct sp_config {
    /* log */
    int log_level;          /* enum sp_log_level */
    int log_json;
    /* socket */
    char *socket_path;      /* resolved at load: never NULL after sp_config_finish() */
    uint32_t socket_mode;
    uint64_t max_record_bytes;
    uint64_t max_connections;
    uint64_t conn_idle_timeout_ms;
    int socket_datagram;    /* <socket path>.dgram (docs/protocol.md) */
    char **socket_allowed_uids; /* digits only; none: every sender */
    size_t n_socket_allowed_uids;
    /* statsd (collectors/dogstatsd/) */
    char *statsd_socket;    /* Unix datagram socket path, "" = off */
    char *statsd_listen;    /* UDP HOST:PORT or "off" */
    uint64_t statsd_max_series;
    char **statsd_allowed_uids;
    size_t n_statsd_allowed_uids;
    /* records */
    uint64_t max_attributes;
    uint64_t max_attr_value_bytes;
    /* limits */
    uint64_t max_memory;
    /* correlation */
    uint64_t wf_idle_timeout_ms;
    uint64_t wf_grace_ms;
    uint64_t closed_ttl_ms;
    uint64_t max_open_workflows;
    uint64_t max_closed_workflows;
    int root_without_start;
    /* metrics */
    uint64_t metrics_interval_ms;
    uint64_t max_metric_series;
    uint64_t metrics_series_ttl_ms; /* a series fed nothing this long is freed */
    /* OTLP/HTTP receiver (collectors/otlp) */
    char *otlp_listen;      /* "": the default (SP_DEF_OTLP_LISTEN, off with a warning if taken) */
    uint64_t otlp_max_request_bytes; /* a body after gunzip */
    uint64_t otlp_header_timeout_ms; /* the HTTP server's limits (net/http_server.h) */
    uint64_t otlp_idle_timeout_ms;
    char **log_correlation_keys;     /* lines without a type: keys that name a workflow */
    size_t n_log_correlation_keys;
    char **otlp_correlation_keys;    /* attributes that name a workflow, in order */
    size_t n_otlp_correlation_keys;
    /* export */
    uint64_t batch_max_items;
    uint64_t batch_max_bytes;
    uint64_t batch_delay_ms;
    uint64_t queue_max_bytes;
    uint64_t shutdown_timeout_ms;
    uint64_t retry_initial_ms;
    uint64_t retry_max_ms;
    uint64_t retry_max_elapsed_ms;
    /* otlp */
    char *otlp_endpoint;                 /* base URL, "" = none */
    char *otlp_signal_endpoint[SP_SIG_COUNT]; /* used as-is, "" = derived from the base */
    struct sp_kv *otlp_headers;
    size_t n_otlp_headers;
    uint64_t otlp_timeout_ms;
    int otlp_gzip;
    int otlp_protocol;                   /* enum sp_protocol */
    struct sp_tls_files otlp_tls;        /* otlp.tls.*, OTEL_EXPORTER_OTLP_{CERTIFICATE,...} */
    struct sp_tls_files otlp_signal_tls[SP_SIG_COUNT]; /* otlp.<signal>_tls.*: win per field
                                                          group over otlp_tls (see below) */
    struct sp_tls_files alert_tls;       /* alerts.tls.*: Alertmanager and webhook URLs */
    /* file */
    int file_enabled;                    /* -1: unset (on iff no endpoint), 0, 1 */
    char *file_dir;
    uint64_t file_max_bytes;
    uint64_t file_max_files;
    /* service */
    char *service_name;                  /* "" = none given */
    struct sp_kv *resource_attrs;
    size_t n_resource_attrs;
    char *state_dir;                     /* "" = default */
    /* lambda (collectors/lambda) */
    int lambda_extension;                /* -1: on iff AWS_LAMBDA_RUNTIME_API is set, 0, 1 */
    uint64_t lambda_flush_budget_ms;
    uint64_t lambda_buffer_timeout_ms;   /* Telemetry API subscription buffering */
    uint64_t lambda_buffer_max_items;
    uint64_t lambda_buffer_max_bytes;
    char *lambda_trigger;                /* every invocation's faas.trigger; NULL or "" unknown */
    /* storage (the journal) */
    char *storage_path;                  /* "" = no journal */
    int storage_fsync;                   /* enum sp_fsync */
    uint64_t storage_max_bytes;
    uint64_t storage_segment_bytes;
    /* alerts (alert/alert.h, alert/notify.h) */
    struct alert_rule *alert_rules;      /* merged by name: defaults, then the file */
    size_t n_alert_rules;
    uint64_t alert_eval_ms;
    uint64_t alert_resend_ms;
    uint64_t alert_event_hold_ms;
    int alert_explicit_resolve;
    uint64_t alert_max_series;
    int alert_log;
    int alert_otlp_log;
    char *alert_trace_url;               /* for rules without their own trace_url */
    char *dlq_depth_metric;              /* the gauge (by `queue`) the dlq_depth signal reads */
    uint64_t notify_timeout_ms;
    uint64_t notify_queue_max;
    uint64_t notify_max_attempts;
    char **alertmanager_urls;
    size_t n_alertmanager_urls;
    char *am_bearer_token_file;          /* credentials: file or environment, never inline */
    char *am_bearer_token_env;
    char *am_username;
    char *am_password_file;
    char *am_password_env;
    /* admin listener (admin/admin.h) */
    char *admin_listen;                  /* HOST:PORT, unix:PATH or off (lib/listen.h) */
    int admin_listen_set;                /* given by a file or --http-listen, not the default:
                                            then failing to bind stops start-up */
    char *webhook_url;
    char *webhook_secret_file;
    char *webhook_secret_env;
};

/* What the command line says about the configuration (pointers into argv). */
struct sp_flags {
    const char *config;   /* --config FILE */
    const char *socket;   /* --socket PATH */
    const char *endpoint; /* --otlp-endpoint URL */
    const char *level;    /* --log-level LEVEL */
    const char *storage;  /* --storage-path DIR */
    const char *statsd_socket; /* --statsd-socket PATH */
    const char *http_listen; /* --http-listen ADDR */
    const char *otlp_listen; /* --otlp-listen ADDR */
    const char *alertmanager[8]; /* --alertmanager URL, repeatable (SP_ALERT_MAX_AM_URLS) */
    int n_alertmanager;
    int lambda_extension; /* --lambda-extension */
};

/* The whole load order in one place, for start-up and for SIGHUP: defaults,
 * then the file, then the environment, then the flags, then
 * sp_config_finish(). On error `c` is freed and `err` says why. */
int sp_config_build(struct sp_config *c, const struct sp_flags *f,
                    const char *(*getenv_fn)(const char *), char *err, size_t errlen);

/* The embedded default configuration, printed by --print-default-config. */
extern const char sp_default_config_yaml[];

void sp_config_defaults(struct sp_config *c);
/* Applies a YAML document (file contents); `name` is used in messages. */
int sp_config_load_yaml(struct sp_config *c, const char *name, const char *text, size_t len,
                        char *err, size_t errlen);
int sp_config_load_file(struct sp_config *c, const char *path, char *err, size_t errlen);
/* Applies OTEL_* variables from `getenv_fn` (getenv in production). */
int sp_config_load_env(struct sp_config *c, const char *(*getenv_fn)(const char *), char *err,
                       size_t errlen);
/* The TLS files a signal's requests use: the CA from the signal's own
 * setting else the general one; the client certificate and key as a pair, the
 * signal's when it sets either, else the general pair. Pointers into `c`. */
void sp_config_signal_tls(const struct sp_config *c, int signal, struct sp_tls_files *out);
/* Resolves derived values (socket path, file exporter on/off). */
int sp_config_finish(struct sp_config *c, char *err, size_t errlen);
/* URL the exporter posts `signal` to, or NULL when OTLP export is off for it. */
const char *sp_config_signal_url(const struct sp_config *c, int signal, char *buf, size_t n);
int sp_config_otlp_enabled(const struct sp_config *c);
/* otlp.listen as configured, or the default address when it was not set. */
const char *sp_config_otlp_listen(const struct sp_config *c);
void sp_config_free(struct sp_config *c);

#endif
