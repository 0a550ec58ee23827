/*
 * test_config.c - defaults, the embedded default YAML, the YAML loader and its
 * error messages, durations and sizes, the OTEL_* environment through a fake
 * getenv, sp_config_finish and sp_config_signal_url, and precedence.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "caps.h"
#include "config.h"
#include "harness.h"
#include "log.h"

/* --- fake environment ------------------------------------------------------ */

static const char *ENV[32][2];
static int N_ENV;

static void env_clear(void)
{
    N_ENV = 0;
}

static void env_set(const char *k, const char *v)
{
    ENV[N_ENV][0] = k;
    ENV[N_ENV][1] = v;
    N_ENV++;
}

static const char *fake_getenv(const char *k)
{
    for (int i = 0; i < N_ENV; i++) {
        if (strcmp(ENV[i][0], k) == 0) {
            return ENV[i][1];
        }
    }
    return NULL;
}

static int contains(const char *hay, const char *needle)
{
    return hay && strstr(hay, needle) != NULL;
}

static const char *kv_get(const struct sp_kv *v, size_t n, const char *k)
{
    for (size_t i = 0; i < n; i++) {
        if (strcmp(v[i].key, k) == 0) {
            return v[i].value;
        }
    }
    return NULL;
}

static int yaml(struct sp_config *c, const char *text, char *err, size_t errlen)
{
    err[0] = 0;
    return sp_config_load_yaml(c, "spindle.yaml", text, strlen(text), err, errlen);
}

#define CHECK_STR(a, b) CHECK((a) != NULL && strcmp((a), (b)) == 0)

/* --- defaults -------------------------------------------------------------- */

static void check_default_values(const struct sp_config *c)
{
    CHECK_EQ_INT(c->log_level, SP_LOG_INFO);
    CHECK_EQ_INT(c->log_json, 0);
    CHECK_EQ_INT(c->socket_mode, 0660);
    CHECK_EQ_INT(c->max_record_bytes, 256 * 1024);
    CHECK_EQ_INT(c->max_connections, 1024);
    CHECK_EQ_INT(c->conn_idle_timeout_ms, 3600000);
    CHECK_EQ_INT(c->max_attributes, 128);
    CHECK_EQ_INT(c->max_attr_value_bytes, 4096);
    CHECK_EQ_INT(c->wf_idle_timeout_ms, 60000);
    CHECK_EQ_INT(c->wf_grace_ms, 2000);
    CHECK_EQ_INT(c->closed_ttl_ms, 600000);
    CHECK_EQ_INT(c->max_open_workflows, 10000);
    CHECK_EQ_INT(c->max_closed_workflows, 100000);
    CHECK_EQ_INT(c->root_without_start, 1);
    CHECK_EQ_INT(c->metrics_interval_ms, 10000);
    CHECK_EQ_INT(c->max_metric_series, 10000);
    CHECK_EQ_INT(c->batch_max_items, 512);
    CHECK_EQ_INT(c->batch_max_bytes, 1024 * 1024);
    CHECK_EQ_INT(c->batch_delay_ms, 1000);
    CHECK_EQ_INT(c->queue_max_bytes, 64 * 1024 * 1024);
    CHECK_EQ_INT(c->shutdown_timeout_ms, 2000);
    CHECK_EQ_INT(c->retry_initial_ms, 1000);
    CHECK_EQ_INT(c->retry_max_ms, 30000);
    CHECK_EQ_INT(c->retry_max_elapsed_ms, 300000);
    CHECK_STR(c->otlp_endpoint, "");
    CHECK_EQ_INT(c->otlp_timeout_ms, 10000);
    CHECK_EQ_INT(c->otlp_gzip, 1);
    CHECK_EQ_INT(c->otlp_protocol, SP_PROTO_HTTP_PROTOBUF);
    CHECK_EQ_INT(c->file_max_bytes, 16 * 1024 * 1024);
    CHECK_EQ_INT(c->file_max_files, 4);
    CHECK_STR(c->file_dir, "./spindle-data");
    CHECK_STR(c->service_name, "");
    CHECK_EQ_INT(c->n_otlp_headers, 0);
    CHECK_EQ_INT(c->n_resource_attrs, 0);
}

static void test_defaults(void)
{
    struct sp_config c;
    sp_config_defaults(&c);
    check_default_values(&c);
    CHECK_EQ_INT(c.file_enabled, -1);
    for (int s = 0; s < SP_SIG_COUNT; s++) {
        CHECK_STR(c.otlp_signal_endpoint[s], "");
    }
    CHECK_STR(c.state_dir, "");
    CHECK_EQ_INT(sp_config_otlp_enabled(&c), 0);
    char buf[256];
    CHECK(sp_config_signal_url(&c, SP_SIG_TRACES, buf, sizeof(buf)) == NULL);
    sp_config_free(&c);
}

static void test_embedded_default(void)
{
    /* The embedded YAML parses by itself and states exactly the defaults. */
    struct sp_config c;
    memset(&c, 0, sizeof(c));
    char err[512] = "";
    int rc = sp_config_load_yaml(&c, "<embedded>", sp_default_config_yaml,
                                 strlen(sp_default_config_yaml), err, sizeof(err));
    CHECK_EQ_INT(rc, 0);
    if (rc) {
        fprintf(stderr, "  %s\n", err);
    }
    c.file_dir = c.file_dir ? c.file_dir : strdup("");
    check_default_values(&c);
    sp_config_free(&c);

    /* and over the defaults it changes nothing */
    sp_config_defaults(&c);
    CHECK_EQ_INT(yaml(&c, sp_default_config_yaml, err, sizeof(err)), 0);
    check_default_values(&c);
    CHECK_EQ_INT(c.file_enabled, -1);
    sp_config_free(&c);
}

/* --- YAML -------------------------------------------------------------------- */

static void test_yaml_nested(void)
{
    struct sp_config c;
    sp_config_defaults(&c);
    char err[512];
    const char *doc = "# a comment\n"
                      "log:\n"
                      "  level: debug\n"
                      "  format: json\n"
                      "socket:\n"
                      "  path: /tmp/x/spindle.sock\n"
                      "  mode: \"0600\"\n"
                      "  max_record_bytes: 64KiB\n"
                      "  max_connections: 512\n"
                      "  idle_timeout: 1m\n"
                      "records:\n"
                      "  max_attributes: 64\n"
                      "  max_attribute_value_bytes: 512\n"
                      "correlation:\n"
                      "  idle_timeout: 5s\n"
                      "  grace_period: 500ms\n"
                      "  closed_ttl: 1h\n"
                      "  max_open_workflows: 7\n"
                      "  root_without_start: false\n"
                      "export:\n"
                      "  batch_delay: 250ms\n"
                      "  batch_max_bytes: 8MiB\n"
                      "  queue_max_bytes: 1GiB\n"
                      "otlp:\n"
                      "  endpoint: http://collector:4318\n"
                      "  headers:\n"
                      "    api-key: secret\n"
                      "    x-tenant: \"t1\"\n"
                      "  timeout: 3s\n"
                      "  compression: none\n"
                      "  protocol: http/json\n"
                      "file:\n"
                      "  enabled: true\n"
                      "  directory: /var/tmp/sp\n"
                      "  max_files: 9\n"
                      "service:\n"
                      "  name: checkout\n"
                      "  resource_attributes:\n"
                      "    deployment.environment: prod\n"
                      "  state_dir: /var/tmp/state\n";
    int rc = yaml(&c, doc, err, sizeof(err));
    CHECK_EQ_INT(rc, 0);
    if (rc) {
        fprintf(stderr, "  %s\n", err);
    }
    CHECK_EQ_INT(c.log_level, SP_LOG_DEBUG);
    CHECK_EQ_INT(c.log_json, 1);
    CHECK_STR(c.socket_path, "/tmp/x/spindle.sock");
    CHECK_EQ_INT(c.socket_mode, 0600);
    CHECK_EQ_INT(c.max_record_bytes, 65536);
    CHECK_EQ_INT(c.max_connections, 512);
    CHECK_EQ_INT(c.conn_idle_timeout_ms, 60000);
    CHECK_EQ_INT(c.max_attributes, 64);
    CHECK_EQ_INT(c.max_attr_value_bytes, 512);
    CHECK_EQ_INT(c.wf_idle_timeout_ms, 5000);
    CHECK_EQ_INT(c.wf_grace_ms, 500);
    CHECK_EQ_INT(c.closed_ttl_ms, 3600000);
    CHECK_EQ_INT(c.max_open_workflows, 7);
    CHECK_EQ_INT(c.root_without_start, 0);
    CHECK_EQ_INT(c.batch_delay_ms, 250);
    CHECK_EQ_INT(c.batch_max_bytes, 8 * 1024 * 1024);
    CHECK_EQ_INT(c.queue_max_bytes, 1024LL * 1024 * 1024);
    CHECK_STR(c.otlp_endpoint, "http://collector:4318");
    CHECK_EQ_INT(c.n_otlp_headers, 2);
    CHECK_STR(kv_get(c.otlp_headers, c.n_otlp_headers, "api-key"), "secret");
    CHECK_STR(kv_get(c.otlp_headers, c.n_otlp_headers, "x-tenant"), "t1");
    /* keys after the headers map still land in otlp */
    CHECK_EQ_INT(c.otlp_timeout_ms, 3000);
    CHECK_EQ_INT(c.otlp_gzip, 0);
    CHECK_EQ_INT(c.otlp_protocol, SP_PROTO_HTTP_JSON);
    CHECK_EQ_INT(c.file_enabled, 1);
    CHECK_STR(c.file_dir, "/var/tmp/sp");
    CHECK_EQ_INT(c.file_max_files, 9);
    CHECK_STR(c.service_name, "checkout");
    CHECK_EQ_INT(c.n_resource_attrs, 1);
    CHECK_STR(kv_get(c.resource_attrs, c.n_resource_attrs, "deployment.environment"), "prod");
    CHECK_STR(c.state_dir, "/var/tmp/state");
    /* untouched keys keep their defaults */
    CHECK_EQ_INT(c.batch_max_items, 512);
    CHECK_EQ_INT(c.max_closed_workflows, 100000);
    CHECK_EQ_INT(c.metrics_interval_ms, 10000);
    sp_config_free(&c);

    /* flow style, and a later file value overrides an earlier one */
    sp_config_defaults(&c);
    rc = yaml(&c, "correlation: {idle_timeout: 2m, grace_period: 1s}\n"
                  "otlp: {headers: {a: b}}\n",
              err, sizeof(err));
    CHECK_EQ_INT(rc, 0);
    CHECK_EQ_INT(c.wf_idle_timeout_ms, 120000);
    CHECK_EQ_INT(c.wf_grace_ms, 1000);
    CHECK_STR(kv_get(c.otlp_headers, c.n_otlp_headers, "a"), "b");
    rc = yaml(&c, "otlp:\n  headers:\n    a: c\n", err, sizeof(err));
    CHECK_EQ_INT(rc, 0);
    CHECK_EQ_INT(c.n_otlp_headers, 1);
    CHECK_STR(kv_get(c.otlp_headers, c.n_otlp_headers, "a"), "c");
    /* an empty document and a comment-only document change nothing */
    CHECK_EQ_INT(yaml(&c, "", err, sizeof(err)), 0);
    CHECK_EQ_INT(yaml(&c, "# nothing here\n", err, sizeof(err)), 0);
    CHECK_EQ_INT(c.wf_idle_timeout_ms, 120000);
    /* bool spellings */
    CHECK_EQ_INT(yaml(&c, "correlation:\n  root_without_start: on\n", err, sizeof(err)), 0);
    CHECK_EQ_INT(c.root_without_start, 1);
    CHECK_EQ_INT(yaml(&c, "correlation:\n  root_without_start: no\n", err, sizeof(err)), 0);
    CHECK_EQ_INT(c.root_without_start, 0);
    sp_config_free(&c);
}

static void test_yaml_errors(void)
{
    struct sp_config c;
    char err[512];

    /* the example of config.h */
    sp_config_defaults(&c);
    int rc = yaml(&c,
                  "correlation:\n"
                  "  grace_period: 2s\n"
                  "  idel_timeout: 5s\n",
                  err, sizeof(err));
    CHECK(rc != 0);
    CHECK(contains(err, "unknown key 'correlation.idel_timeout'"));
    CHECK(contains(err, ":3:"));
    CHECK(contains(err, "spindle.yaml:3: unknown key 'correlation.idel_timeout'"));
    if (!contains(err, "spindle.yaml:3:")) {
        fprintf(stderr, "  message: %s\n", err);
    }
    sp_config_free(&c);

    /* unknown top-level key */
    sp_config_defaults(&c);
    rc = yaml(&c, "log:\n  level: info\nlgo:\n  level: info\n", err, sizeof(err));
    CHECK(rc != 0);
    CHECK(contains(err, "unknown key 'lgo"));
    sp_config_free(&c);
    sp_config_defaults(&c);
    rc = yaml(&c, "\n\nfoo: 1\n", err, sizeof(err));
    CHECK(rc != 0);
    CHECK(contains(err, "unknown key 'foo'"));
    CHECK(contains(err, ":3:"));
    sp_config_free(&c);

    /* an unknown section given as a mapping: the message names the key and its line */
    sp_config_defaults(&c);
    rc = yaml(&c, "otlp:\n  endpoint: http://x:4318\n  bogus:\n    a: 1\n", err, sizeof(err));
    CHECK(rc != 0);
    CHECK(contains(err, "unknown key 'otlp.bogus'"));
    CHECK(contains(err, ":3:"));
    if (!contains(err, ":3:")) {
        fprintf(stderr, "  message: %s\n", err);
    }
    sp_config_free(&c);

    /* bad duration: names the key and the line */
    sp_config_defaults(&c);
    rc = yaml(&c,
              "log:\n"
              "  level: info\n"
              "correlation:\n"
              "  idle_timeout: 5 parsecs\n",
              err, sizeof(err));
    CHECK(rc != 0);
    CHECK(contains(err, "correlation.idle_timeout"));
    CHECK(contains(err, ":4:"));
    CHECK(contains(err, "5 parsecs"));
    CHECK_EQ_INT(c.wf_idle_timeout_ms, 60000); /* unchanged */
    sp_config_free(&c);
    /* a bare number is not a duration */
    sp_config_defaults(&c);
    rc = yaml(&c, "export:\n  batch_delay: 5\n", err, sizeof(err));
    CHECK(rc != 0);
    CHECK(contains(err, "export.batch_delay"));
    CHECK(contains(err, ":2:"));
    sp_config_free(&c);
    /* bad size, bad number, bad enum */
    sp_config_defaults(&c);
    rc = yaml(&c, "socket:\n  max_record_bytes: lots\n", err, sizeof(err));
    CHECK(rc != 0 && contains(err, "socket.max_record_bytes") && contains(err, ":2:"));
    sp_config_free(&c);
    sp_config_defaults(&c);
    rc = yaml(&c, "correlation:\n  max_open_workflows: -3\n", err, sizeof(err));
    CHECK(rc != 0 && contains(err, "correlation.max_open_workflows"));
    sp_config_free(&c);
    sp_config_defaults(&c);
    rc = yaml(&c, "log:\n  level: loud\n", err, sizeof(err));
    CHECK(rc != 0 && contains(err, "log.level"));
    sp_config_free(&c);
    sp_config_defaults(&c);
    rc = yaml(&c, "otlp:\n  protocol: grpc\n", err, sizeof(err));
    CHECK(rc != 0 && contains(err, "otlp.protocol") && contains(err, "grpc"));
    sp_config_free(&c);
    sp_config_defaults(&c);
    rc = yaml(&c, "otlp:\n  compression: zstd\n", err, sizeof(err));
    CHECK(rc != 0 && contains(err, "otlp.compression"));
    sp_config_free(&c);
    sp_config_defaults(&c);
    rc = yaml(&c, "socket:\n  mode: \"0999\"\n", err, sizeof(err));
    CHECK(rc != 0 && contains(err, "socket.mode"));
    sp_config_free(&c);
    sp_config_defaults(&c);
    rc = yaml(&c, "correlation:\n  root_without_start: maybe\n", err, sizeof(err));
    CHECK(rc != 0 && contains(err, "correlation.root_without_start"));
    sp_config_free(&c);

    /* sequences are refused */
    sp_config_defaults(&c);
    rc = yaml(&c, "log:\n  level: [debug, info]\n", err, sizeof(err));
    CHECK(rc != 0);
    CHECK(contains(err, "log.level"));
    CHECK(contains(err, "list"));
    sp_config_free(&c);
    sp_config_defaults(&c);
    rc = yaml(&c, "otlp:\n  headers:\n    - a\n    - b\n", err, sizeof(err));
    CHECK(rc != 0);
    CHECK(contains(err, "otlp.headers"));
    sp_config_free(&c);
    sp_config_defaults(&c);
    rc = yaml(&c, "- a\n- b\n", err, sizeof(err));
    CHECK(rc != 0);
    sp_config_free(&c);
    sp_config_defaults(&c);
    rc = yaml(&c, "otlp:\n  headers:\n    a: [1]\n", err, sizeof(err));
    CHECK(rc != 0);
    sp_config_free(&c);
    /* a mapping where a value belongs */
    sp_config_defaults(&c);
    rc = yaml(&c, "log:\n  level:\n    x: 1\n", err, sizeof(err));
    CHECK(rc != 0);
    sp_config_free(&c);
    /* a scalar document */
    sp_config_defaults(&c);
    rc = yaml(&c, "just a string\n", err, sizeof(err));
    CHECK(rc != 0);
    sp_config_free(&c);
    /* YAML syntax error names the line */
    sp_config_defaults(&c);
    rc = yaml(&c, "log:\n  level: info\n   format: json\n", err, sizeof(err));
    CHECK(rc != 0);
    CHECK(contains(err, "spindle.yaml:"));
    sp_config_free(&c);
}

static void test_load_file(void)
{
    char path[] = "/tmp/spindle-test-config-XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    if (fd < 0) {
        return;
    }
    const char *doc = "correlation:\n  idle_timeout: 90s\n  bogus: 1\n";
    CHECK(write(fd, doc, strlen(doc)) == (ssize_t)strlen(doc));
    close(fd);
    struct sp_config c;
    sp_config_defaults(&c);
    char err[512] = "";
    int rc = sp_config_load_file(&c, path, err, sizeof(err));
    CHECK(rc != 0);
    CHECK(contains(err, path));
    CHECK(contains(err, ":3:"));
    CHECK(contains(err, "correlation.bogus"));
    CHECK_EQ_INT(c.wf_idle_timeout_ms, 90000); /* lines before the error applied */
    sp_config_free(&c);
    unlink(path);

    sp_config_defaults(&c);
    err[0] = 0;
    rc = sp_config_load_file(&c, "/nonexistent/dir/spindle.yaml", err, sizeof(err));
    CHECK(rc != 0);
    CHECK(contains(err, "/nonexistent/dir/spindle.yaml"));
    sp_config_free(&c);
}

/* --- durations and sizes ----------------------------------------------------- */

static void test_durations_sizes(void)
{
    uint64_t v = 12345;
    CHECK(sp_parse_duration_ms("500ms", &v) == 0 && v == 500);
    CHECK(sp_parse_duration_ms("5s", &v) == 0 && v == 5000);
    CHECK(sp_parse_duration_ms("1m", &v) == 0 && v == 60000);
    CHECK(sp_parse_duration_ms("1h", &v) == 0 && v == 3600000);
    CHECK(sp_parse_duration_ms("1.5s", &v) == 0 && v == 1500);
    CHECK(sp_parse_duration_ms("0s", &v) == 0 && v == 0);
    CHECK(sp_parse_duration_ms("10m", &v) == 0 && v == 600000);
    CHECK(sp_parse_duration_ms("60s", &v) == 0 && v == 60000);
    v = 777;
    CHECK(sp_parse_duration_ms("5", &v) != 0);
    CHECK(sp_parse_duration_ms("5x", &v) != 0);
    CHECK(sp_parse_duration_ms("-1s", &v) != 0);
    CHECK(sp_parse_duration_ms("", &v) != 0);
    CHECK(sp_parse_duration_ms("s", &v) != 0);
    CHECK(sp_parse_duration_ms(" 5s", &v) != 0);
    CHECK(sp_parse_duration_ms("5 s", &v) != 0);
    CHECK(sp_parse_duration_ms("5S", &v) != 0);
    CHECK(sp_parse_duration_ms("5sec", &v) != 0);
    CHECK(sp_parse_duration_ms("inf s", &v) != 0);
    CHECK(sp_parse_duration_ms("nans", &v) != 0);
    CHECK_EQ_INT(v, 777); /* failures leave the output alone */

    CHECK(sp_parse_size("64KiB", &v) == 0 && v == 65536);
    CHECK(sp_parse_size("8MiB", &v) == 0 && v == 8388608);
    CHECK(sp_parse_size("512", &v) == 0 && v == 512);
    CHECK(sp_parse_size("1GiB", &v) == 0 && v == 1073741824);
    CHECK(sp_parse_size("256KiB", &v) == 0 && v == 262144);
    CHECK(sp_parse_size("4KiB", &v) == 0 && v == 4096);
    CHECK(sp_parse_size("1.5KiB", &v) == 0 && v == 1536);
    CHECK(sp_parse_size("0", &v) == 0 && v == 0);
    v = 777;
    CHECK(sp_parse_size("0.5", &v) != 0);
    CHECK(sp_parse_size("-1", &v) != 0);
    CHECK(sp_parse_size("64 KiB", &v) != 0);
    CHECK(sp_parse_size("64kib", &v) != 0);
    CHECK(sp_parse_size("64XB", &v) != 0);
    CHECK(sp_parse_size("", &v) != 0);
    CHECK(sp_parse_size("KiB", &v) != 0);
    CHECK_EQ_INT(v, 777);
}

/* --- environment ------------------------------------------------------------ */

static void test_env_endpoints(void)
{
    struct sp_config c;
    char err[512], buf[512];
    sp_config_defaults(&c);
    env_clear();
    env_set("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318");
    env_set("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "http://traces:9999/custom/path");
    CHECK_EQ_INT(sp_config_load_env(&c, fake_getenv, err, sizeof(err)), 0);
    CHECK_EQ_INT(sp_config_finish(&c, err, sizeof(err)), 0);
    CHECK_STR(c.otlp_endpoint, "http://collector:4318");
    /* the per-signal endpoint is used exactly as given */
    CHECK_STR(sp_config_signal_url(&c, SP_SIG_TRACES, buf, sizeof(buf)),
              "http://traces:9999/custom/path");
    CHECK_STR(sp_config_signal_url(&c, SP_SIG_LOGS, buf, sizeof(buf)),
              "http://collector:4318/v1/logs");
    CHECK_STR(sp_config_signal_url(&c, SP_SIG_METRICS, buf, sizeof(buf)),
              "http://collector:4318/v1/metrics");
    CHECK_EQ_INT(sp_config_otlp_enabled(&c), 1);
    CHECK_EQ_INT(c.file_enabled, 0); /* unset -> off with an endpoint */
    sp_config_free(&c);

    /* base only: + "/v1/traces"; a trailing slash is not doubled */
    sp_config_defaults(&c);
    env_clear();
    env_set("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318");
    CHECK_EQ_INT(sp_config_load_env(&c, fake_getenv, err, sizeof(err)), 0);
    CHECK_STR(sp_config_signal_url(&c, SP_SIG_TRACES, buf, sizeof(buf)),
              "http://collector:4318/v1/traces");
    sp_config_free(&c);
    sp_config_defaults(&c);
    env_clear();
    env_set("OTEL_EXPORTER_OTLP_ENDPOINT", "https://collector.example/otlp/");
    CHECK_EQ_INT(sp_config_load_env(&c, fake_getenv, err, sizeof(err)), 0);
    CHECK_STR(sp_config_signal_url(&c, SP_SIG_TRACES, buf, sizeof(buf)),
              "https://collector.example/otlp/v1/traces");
    CHECK_STR(sp_config_signal_url(&c, SP_SIG_METRICS, buf, sizeof(buf)),
              "https://collector.example/otlp/v1/metrics");
    sp_config_free(&c);

    /* a per-signal endpoint alone: that signal only */
    sp_config_defaults(&c);
    env_clear();
    env_set("OTEL_EXPORTER_OTLP_LOGS_ENDPOINT", "http://logs:4318/v1/logs");
    CHECK_EQ_INT(sp_config_load_env(&c, fake_getenv, err, sizeof(err)), 0);
    CHECK_EQ_INT(sp_config_finish(&c, err, sizeof(err)), 0);
    CHECK_STR(sp_config_signal_url(&c, SP_SIG_LOGS, buf, sizeof(buf)), "http://logs:4318/v1/logs");
    CHECK(sp_config_signal_url(&c, SP_SIG_TRACES, buf, sizeof(buf)) == NULL);
    CHECK(sp_config_signal_url(&c, SP_SIG_METRICS, buf, sizeof(buf)) == NULL);
    CHECK_EQ_INT(sp_config_otlp_enabled(&c), 1);
    CHECK_EQ_INT(c.file_enabled, 0);
    sp_config_free(&c);

    /* A client certificate from the environment does not take the file's key
     * (its key may be in the same file): the pair comes from one place. */
    sp_config_defaults(&c);
    {
        const char *doc = "otlp:\n  tls:\n    cert_file: /etc/hostname\n    key_file: /etc/hostname\n";
        CHECK_EQ_INT(sp_config_load_yaml(&c, "t.yaml", doc, strlen(doc), err, sizeof(err)), 0);
    }
    env_clear();
    env_set("OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE", "/etc/passwd");
    CHECK_EQ_INT(sp_config_load_env(&c, fake_getenv, err, sizeof(err)), 0);
    CHECK_STR(c.otlp_tls.cert_file, "/etc/passwd");
    CHECK_STR(c.otlp_tls.key_file, "");
    sp_config_free(&c);
    sp_config_defaults(&c);
    {
        const char *doc = "otlp:\n  tls:\n    cert_file: /etc/hostname\n    key_file: /etc/hostname\n";
        CHECK_EQ_INT(sp_config_load_yaml(&c, "t.yaml", doc, strlen(doc), err, sizeof(err)), 0);
    }
    env_clear();
    env_set("OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE", "/etc/passwd");
    env_set("OTEL_EXPORTER_OTLP_CLIENT_KEY", "/etc/group");
    CHECK_EQ_INT(sp_config_load_env(&c, fake_getenv, err, sizeof(err)), 0);
    CHECK_STR(c.otlp_tls.key_file, "/etc/group");
    sp_config_free(&c);

    /* OTEL_EXPORTER_OTLP_PROTOCOL changes the protocol only: the receiver's
     * settings from the file stay (they were reset to defaults, and
     * otlp.listen: off turned the receiver back on). */
    sp_config_defaults(&c);
    {
        const char *doc = "otlp:\n  listen: \"off\"\n  max_request_bytes: 1MiB\n"
                          "  protocol: http/json\n";
        CHECK_EQ_INT(sp_config_load_yaml(&c, "p.yaml", doc, strlen(doc), err, sizeof(err)), 0);
    }
    env_clear();
    env_set("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf");
    CHECK_EQ_INT(sp_config_load_env(&c, fake_getenv, err, sizeof(err)), 0);
    CHECK_EQ_INT(c.otlp_protocol, SP_PROTO_HTTP_PROTOBUF);
    CHECK_STR(c.otlp_listen, "off");
    CHECK_EQ_INT(c.otlp_max_request_bytes, 1024 * 1024);
    sp_config_free(&c);

    /* empty variables count as unset */
    sp_config_defaults(&c);
    env_clear();
    env_set("OTEL_EXPORTER_OTLP_ENDPOINT", "");
    env_set("OTEL_SERVICE_NAME", "");
    CHECK_EQ_INT(sp_config_load_env(&c, fake_getenv, err, sizeof(err)), 0);
    CHECK_STR(c.otlp_endpoint, "");
    CHECK_EQ_INT(sp_config_otlp_enabled(&c), 0);
    sp_config_free(&c);

    /* an endpoint that is not http(s) is refused naming the variable, and
     * showing host:port only (never the user information) */
    sp_config_defaults(&c);
    env_clear();
    env_set("OTEL_EXPORTER_OTLP_ENDPOINT", "user:hunter2@collector:4317/x?key=k");
    err[0] = 0;
    CHECK(sp_config_load_env(&c, fake_getenv, err, sizeof(err)) != 0);
    CHECK(contains(err, "OTEL_EXPORTER_OTLP_ENDPOINT: 'collector:4317' must start with http://"));
    CHECK(!contains(err, "hunter2") && !contains(err, "key=k"));
    sp_config_free(&c);
    sp_config_defaults(&c);
    env_clear();
    env_set("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT", "grpc://m:4317");
    CHECK(sp_config_load_env(&c, fake_getenv, err, sizeof(err)) != 0);
    CHECK(contains(err, "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT: 'grpc://m:4317'"));
    sp_config_free(&c);
    /* finish still refuses one set otherwise, redacted likewise */
    sp_config_defaults(&c);
    free(c.otlp_endpoint);
    c.otlp_endpoint = strdup("u:hunter2@collector:4317");
    CHECK(sp_config_finish(&c, err, sizeof(err)) != 0);
    CHECK(contains(err, "'collector:4317'") && !contains(err, "hunter2"));
    sp_config_free(&c);

    /* /v1/<signal> goes at the end of the path, before the query string */
    sp_config_defaults(&c);
    env_clear();
    env_set("OTEL_EXPORTER_OTLP_ENDPOINT", "http://c:4318/?api_key=k1");
    CHECK_EQ_INT(sp_config_load_env(&c, fake_getenv, err, sizeof(err)), 0);
    CHECK_STR(sp_config_signal_url(&c, SP_SIG_LOGS, buf, sizeof(buf)),
              "http://c:4318/v1/logs?api_key=k1");
    sp_config_free(&c);
    sp_config_defaults(&c);
    env_clear();
    env_set("OTEL_EXPORTER_OTLP_ENDPOINT", "http://c:4318/otlp?a=1&b=2");
    CHECK_EQ_INT(sp_config_load_env(&c, fake_getenv, err, sizeof(err)), 0);
    CHECK_STR(sp_config_signal_url(&c, SP_SIG_TRACES, buf, sizeof(buf)),
              "http://c:4318/otlp/v1/traces?a=1&b=2");
    sp_config_free(&c);
}

static void test_url_origin(void)
{
    char o[128];
    sp_url_origin("https://user:pw@host:8443/path?q=1#f", o, sizeof(o));
    CHECK_STR(o, "https://host:8443");
    sp_url_origin("http://a@b:c@host/", o, sizeof(o)); /* the last '@' ends the user info */
    CHECK_STR(o, "http://host");
    sp_url_origin("user:pw@am:9093/api?token=t", o, sizeof(o));
    CHECK_STR(o, "am:9093");
    sp_url_origin("notaurl", o, sizeof(o));
    CHECK_STR(o, "notaurl");
    CHECK_EQ_INT(sp_url_ok("http://h"), 1);
    CHECK_EQ_INT(sp_url_ok("https://h:1/x"), 1);
    CHECK_EQ_INT(sp_url_ok("http://"), 0);
    CHECK_EQ_INT(sp_url_ok("http:///x"), 0);
    CHECK_EQ_INT(sp_url_ok("ftp://h"), 0);
    CHECK_EQ_INT(sp_url_ok("h:4318"), 0);
}

/* Header names are case-insensitive: the environment's replaces the file's,
 * whatever the case; a CR or LF in a value, or a name that is not an HTTP
 * token, is refused where it was written. */
static void test_headers(void)
{
    struct sp_config c;
    char err[512];
    sp_config_defaults(&c);
    CHECK_EQ_INT(yaml(&c,
                      "otlp:\n"
                      "  headers:\n"
                      "    authorization: Bearer from-file\n"
                      "    X-Keep: k\n",
                      err, sizeof(err)),
                 0);
    env_clear();
    env_set("OTEL_EXPORTER_OTLP_HEADERS", "Authorization=Bearer%20from-env,x-keep=k2");
    CHECK_EQ_INT(sp_config_load_env(&c, fake_getenv, err, sizeof(err)), 0);
    CHECK_EQ_INT(c.n_otlp_headers, 2);
    CHECK_STR(kv_get(c.otlp_headers, c.n_otlp_headers, "Authorization"), "Bearer from-env");
    CHECK_STR(kv_get(c.otlp_headers, c.n_otlp_headers, "x-keep"), "k2");
    sp_config_free(&c);

    /* resource attributes stay case-sensitive */
    sp_config_defaults(&c);
    env_clear();
    env_set("OTEL_RESOURCE_ATTRIBUTES", "Team=a,team=b");
    CHECK_EQ_INT(sp_config_load_env(&c, fake_getenv, err, sizeof(err)), 0);
    CHECK_EQ_INT(c.n_resource_attrs, 2);
    sp_config_free(&c);

    /* a line break in a value: the file names its line */
    sp_config_defaults(&c);
    CHECK(yaml(&c, "otlp:\n  headers:\n    x-a: \"v\\r\\nX-Injected: 1\"\n", err, sizeof(err)) != 0);
    CHECK(contains(err, "spindle.yaml:3: otlp.headers: header 'x-a' has a line break"));
    sp_config_free(&c);
    sp_config_defaults(&c);
    CHECK(yaml(&c, "otlp:\n  headers:\n    \"x a\": v\n", err, sizeof(err)) != 0);
    CHECK(contains(err, "spindle.yaml:3: otlp.headers: header 'x a' is not a valid header name"));
    sp_config_free(&c);
    sp_config_defaults(&c);
    CHECK(yaml(&c, "otlp:\n  headers:\n    \"x:y\": v\n", err, sizeof(err)) != 0);
    sp_config_free(&c);
    /* ... and the variable names itself (%0A decodes to a line feed) */
    sp_config_defaults(&c);
    env_clear();
    env_set("OTEL_EXPORTER_OTLP_HEADERS", "x-a=v%0D%0AX-Injected: 1");
    CHECK(sp_config_load_env(&c, fake_getenv, err, sizeof(err)) != 0);
    CHECK(contains(err, "OTEL_EXPORTER_OTLP_HEADERS: header 'x-a' has a line break"));
    sp_config_free(&c);
    sp_config_defaults(&c);
    env_clear();
    env_set("OTEL_EXPORTER_OTLP_HEADERS", "x(a)=v");
    CHECK(sp_config_load_env(&c, fake_getenv, err, sizeof(err)) != 0);
    CHECK(contains(err, "header 'x(a)' is not a valid header name"));
    sp_config_free(&c);
    /* a tab and non-ASCII bytes are valid field content */
    sp_config_defaults(&c);
    CHECK_EQ_INT(yaml(&c, "otlp:\n  headers:\n    x-a: \"a\\tb \u00e9\"\n", err, sizeof(err)), 0);
    sp_config_free(&c);
}

/* Every number, duration and size has a range; a value outside it is refused
 * naming the file, the line and the key, with the bound. */
static void test_ranges(void)
{
    static const struct {
        const char *yaml;
        const char *msg;
    } bad[] = {
        {"export:\n  batch_max_bytes: 0\n", "spindle.yaml:2: export.batch_max_bytes must be at least 1KiB"},
        {"records:\n  max_attributes: 0\n", "spindle.yaml:2: records.max_attributes must be at least 1"},
        {"records:\n  max_attributes: 513\n", "spindle.yaml:2: records.max_attributes must be at most 512"},
        {"records:\n  max_attribute_value_bytes: 0\n", "records.max_attribute_value_bytes must be at least 1"},
        {"socket:\n  max_record_bytes: 10\n", "spindle.yaml:2: socket.max_record_bytes must be at least 64"},
        {"socket:\n  max_record_bytes: 17MiB\n", "socket.max_record_bytes must be at most 16MiB"},
        {"socket:\n  max_connections: 0\n", "socket.max_connections must be at least 1"},
        {"socket:\n  idle_timeout: 0s\n", "socket.idle_timeout must be at least 10ms"},
        {"correlation:\n  idle_timeout: 0ms\n", "correlation.idle_timeout must be at least 10ms"},
        {"correlation:\n  max_open_workflows: 0\n", "correlation.max_open_workflows must be at least 1"},
        {"metrics:\n  interval: 1ms\n", "metrics.interval must be at least 10ms"},
        {"metrics:\n  max_series: 0\n", "metrics.max_series must be at least 1"},
        {"export:\n  batch_max_items: 0\n", "export.batch_max_items must be at least 1"},
        {"export:\n  queue_max_bytes: 1000\n", "export.queue_max_bytes must be at least 1KiB"},
        {"export:\n  retry_initial: 0s\n", "export.retry_initial must be at least 10ms"},
        {"export:\n  retry_max: 0s\n", "export.retry_max must be at least 10ms"},
        {"file:\n  max_file_bytes: 0\n", "file.max_file_bytes must be at least 1KiB"},
        {"file:\n  max_files: 1001\n", "file.max_files must be at most 1000"},
        {"limits:\n  max_memory: 1MiB\n", "limits.max_memory must be at least 4MiB"},
        {"storage:\n  max_bytes: 64KiB\n", "storage.max_bytes must be at least 256KiB"},
        {"storage:\n  segment_bytes: 1KiB\n", "storage.segment_bytes must be at least 64KiB"},
        {"alerts:\n  event_hold: 0s\n", "alerts.event_hold must be at least 10ms"},
        {"alerts:\n  max_series: 0\n", "alerts.max_series must be at least 1"},
        {"alerts:\n  notify_timeout: 5ms\n", "alerts.notify_timeout must be at least 10ms"},
        {"otlp:\n  timeout: 9000h\n", "otlp.timeout must be at most 8784h"},
        {"lambda:\n  buffer_timeout: 10ms\n", "spindle.yaml:2: lambda.buffer_timeout must be at least 25ms"},
        {"lambda:\n  buffer_timeout: 31s\n", "lambda.buffer_timeout must be at most 30s"},
        {"lambda:\n  buffer_max_items: 999\n", "lambda.buffer_max_items must be at least 1000"},
        {"lambda:\n  buffer_max_items: 10001\n", "lambda.buffer_max_items must be at most 10000"},
        {"lambda:\n  buffer_max_bytes: 2MiB\n", "lambda.buffer_max_bytes must be at most 1MiB"},
        {"lambda:\n  buffer_max_bytes: 1KiB\n", "lambda.buffer_max_bytes must be at least 256KiB"},
        {"lambda:\n  flush_budget: 0s\n", "lambda.flush_budget must be at least 1ms"},
        {"lambda:\n  extension: maybe\n", "spindle.yaml:2: bad value 'maybe' for 'lambda.extension'"},
        {"alerts:\n  notify_queue_max: 0\n", "alerts.notify_queue_max must be at least 1"},
        {"alerts:\n  notify_max_attempts: 0\n", "alerts.notify_max_attempts must be at least 1"},
        {"alerts:\n  resend_interval: 5ms\n", "alerts.resend_interval must be at least 10ms"},
        {"correlation:\n  closed_ttl: 400d\n", "bad value"},
        {"correlation:\n  closed_ttl: 9000h\n", "correlation.closed_ttl must be at most 8784h"},
        {"otlp:\n  endpoint: u:pw@c:4318\n", "spindle.yaml:2: otlp.endpoint 'c:4318' must start"},
        {"alerts:\n  webhook:\n    url: hooks.example/x\n", "spindle.yaml:3: alerts.webhook.url"},
        {"alerts:\n  alertmanager:\n    urls:\n      - http://am:9093\n      - notaurl\n",
         "spindle.yaml:5: alerts.alertmanager.urls: 'notaurl' must start with http://"},
        {"alerts:\n  alertmanager:\n    urls: [notaurl]\n", "spindle.yaml:3: alerts.alertmanager.urls"},
    };
    struct sp_config c;
    char err[512];
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        sp_config_defaults(&c);
        CHECK(yaml(&c, bad[i].yaml, err, sizeof(err)) != 0);
        if (!contains(err, bad[i].msg)) {
            fprintf(stderr, "  want '%s', got '%s'\n", bad[i].msg, err);
            CHECK(0);
        }
        sp_config_free(&c);
    }
    /* 0 where the docs give it a meaning */
    sp_config_defaults(&c);
    CHECK_EQ_INT(yaml(&c,
                      "correlation:\n  grace_period: 0s\n  closed_ttl: 0s\n"
                      "  max_closed_workflows: 0\n"
                      "export:\n  batch_delay: 0s\n  shutdown_timeout: 0s\n"
                      "  retry_max_elapsed: 0s\nfile:\n  max_files: 0\n",
                      err, sizeof(err)),
                 0);
    sp_config_free(&c);
}

static void test_env_other(void)
{
    struct sp_config c;
    char err[512];

    sp_config_defaults(&c);
    env_clear();
    env_set("OTEL_EXPORTER_OTLP_HEADERS", "a=b,c=d%20e");
    CHECK_EQ_INT(sp_config_load_env(&c, fake_getenv, err, sizeof(err)), 0);
    CHECK_EQ_INT(c.n_otlp_headers, 2);
    CHECK_STR(kv_get(c.otlp_headers, c.n_otlp_headers, "a"), "b");
    CHECK_STR(kv_get(c.otlp_headers, c.n_otlp_headers, "c"), "d e");
    sp_config_free(&c);

    sp_config_defaults(&c);
    env_clear();
    env_set("OTEL_EXPORTER_OTLP_HEADERS", "Authorization=Basic%20dXNlcjpwYXNz, x-b = 1%2C2 ,k=v%3Dw");
    CHECK_EQ_INT(sp_config_load_env(&c, fake_getenv, err, sizeof(err)), 0);
    CHECK_EQ_INT(c.n_otlp_headers, 3);
    CHECK_STR(kv_get(c.otlp_headers, c.n_otlp_headers, "Authorization"), "Basic dXNlcjpwYXNz");
    CHECK_STR(kv_get(c.otlp_headers, c.n_otlp_headers, "k"), "v=w");
    const char *xb = kv_get(c.otlp_headers, c.n_otlp_headers, "x-b");
    CHECK(xb != NULL && strncmp(xb, "1,2", 3) == 0);
    sp_config_free(&c);

    sp_config_defaults(&c);
    env_clear();
    env_set("OTEL_EXPORTER_OTLP_HEADERS", "novalue");
    err[0] = 0;
    CHECK(sp_config_load_env(&c, fake_getenv, err, sizeof(err)) != 0);
    CHECK(contains(err, "OTEL_EXPORTER_OTLP_HEADERS"));
    sp_config_free(&c);

    /* protocol */
    sp_config_defaults(&c);
    env_clear();
    env_set("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc");
    err[0] = 0;
    CHECK(sp_config_load_env(&c, fake_getenv, err, sizeof(err)) != 0);
    CHECK(contains(err, "grpc"));
    sp_config_free(&c);
    sp_config_defaults(&c);
    env_clear();
    env_set("OTEL_EXPORTER_OTLP_PROTOCOL", "http/json");
    CHECK_EQ_INT(sp_config_load_env(&c, fake_getenv, err, sizeof(err)), 0);
    CHECK_EQ_INT(c.otlp_protocol, SP_PROTO_HTTP_JSON);
    env_clear();
    env_set("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf");
    CHECK_EQ_INT(sp_config_load_env(&c, fake_getenv, err, sizeof(err)), 0);
    CHECK_EQ_INT(c.otlp_protocol, SP_PROTO_HTTP_PROTOBUF);
    env_clear();
    env_set("OTEL_EXPORTER_OTLP_PROTOCOL", "thrift");
    err[0] = 0;
    CHECK(sp_config_load_env(&c, fake_getenv, err, sizeof(err)) != 0);
    CHECK(contains(err, "thrift"));
    sp_config_free(&c);

    /* compression */
    sp_config_defaults(&c);
    env_clear();
    env_set("OTEL_EXPORTER_OTLP_COMPRESSION", "none");
    CHECK_EQ_INT(sp_config_load_env(&c, fake_getenv, err, sizeof(err)), 0);
    CHECK_EQ_INT(c.otlp_gzip, 0);
    env_clear();
    env_set("OTEL_EXPORTER_OTLP_COMPRESSION", "gzip");
    CHECK_EQ_INT(sp_config_load_env(&c, fake_getenv, err, sizeof(err)), 0);
    CHECK_EQ_INT(c.otlp_gzip, 1);
    env_clear();
    env_set("OTEL_EXPORTER_OTLP_COMPRESSION", "zstd");
    CHECK(sp_config_load_env(&c, fake_getenv, err, sizeof(err)) != 0);
    sp_config_free(&c);

    /* timeout, in milliseconds */
    sp_config_defaults(&c);
    env_clear();
    env_set("OTEL_EXPORTER_OTLP_TIMEOUT", "2500");
    CHECK_EQ_INT(sp_config_load_env(&c, fake_getenv, err, sizeof(err)), 0);
    CHECK_EQ_INT(c.otlp_timeout_ms, 2500);
    env_clear();
    env_set("OTEL_EXPORTER_OTLP_TIMEOUT", "5s");
    err[0] = 0;
    CHECK(sp_config_load_env(&c, fake_getenv, err, sizeof(err)) != 0);
    CHECK(contains(err, "OTEL_EXPORTER_OTLP_TIMEOUT"));
    CHECK_EQ_INT(c.otlp_timeout_ms, 2500);
    sp_config_free(&c);

    /* service name and resource attributes */
    sp_config_defaults(&c);
    env_clear();
    env_set("OTEL_SERVICE_NAME", "orders");
    env_set("OTEL_RESOURCE_ATTRIBUTES", "deployment.environment=prod,team=core%2Cinfra");
    CHECK_EQ_INT(sp_config_load_env(&c, fake_getenv, err, sizeof(err)), 0);
    CHECK_STR(c.service_name, "orders");
    CHECK_EQ_INT(c.n_resource_attrs, 2);
    CHECK_STR(kv_get(c.resource_attrs, c.n_resource_attrs, "deployment.environment"), "prod");
    CHECK_STR(kv_get(c.resource_attrs, c.n_resource_attrs, "team"), "core,infra");
    sp_config_free(&c);
}

static void test_file_enabled(void)
{
    struct sp_config c;
    char err[512];
    /* unset, no endpoint -> on */
    sp_config_defaults(&c);
    env_clear();
    CHECK_EQ_INT(sp_config_load_env(&c, fake_getenv, err, sizeof(err)), 0);
    CHECK_EQ_INT(sp_config_finish(&c, err, sizeof(err)), 0);
    CHECK_EQ_INT(c.file_enabled, 1);
    CHECK(c.socket_path != NULL && c.socket_path[0] != 0);
    CHECK(contains(c.socket_path, "spindle.sock"));
    CHECK(c.state_dir != NULL && c.state_dir[0] != 0);
    sp_config_free(&c);
    /* unset, endpoint from the file -> off */
    sp_config_defaults(&c);
    CHECK_EQ_INT(yaml(&c, "otlp:\n  endpoint: http://c:4318\n", err, sizeof(err)), 0);
    CHECK_EQ_INT(sp_config_finish(&c, err, sizeof(err)), 0);
    CHECK_EQ_INT(c.file_enabled, 0);
    sp_config_free(&c);
    /* set in the file: kept either way */
    sp_config_defaults(&c);
    CHECK_EQ_INT(yaml(&c, "otlp:\n  endpoint: http://c:4318\nfile:\n  enabled: true\n", err,
                      sizeof(err)),
                 0);
    CHECK_EQ_INT(sp_config_finish(&c, err, sizeof(err)), 0);
    CHECK_EQ_INT(c.file_enabled, 1);
    sp_config_free(&c);
    sp_config_defaults(&c);
    CHECK_EQ_INT(yaml(&c, "file:\n  enabled: false\n", err, sizeof(err)), 0);
    CHECK_EQ_INT(sp_config_finish(&c, err, sizeof(err)), 0);
    CHECK_EQ_INT(c.file_enabled, 0);
    sp_config_free(&c);
    /* an explicit socket path and state dir survive finish */
    sp_config_defaults(&c);
    CHECK_EQ_INT(yaml(&c, "socket:\n  path: /tmp/s.sock\nservice:\n  state_dir: /tmp/st\n", err,
                      sizeof(err)),
                 0);
    CHECK_EQ_INT(sp_config_finish(&c, err, sizeof(err)), 0);
    CHECK_STR(c.socket_path, "/tmp/s.sock");
    CHECK_STR(c.state_dir, "/tmp/st");
    sp_config_free(&c);
}

static void test_precedence(void)
{
    struct sp_config c;
    char err[512], buf[512];
    sp_config_defaults(&c);
    int rc = yaml(&c,
                  "otlp:\n"
                  "  endpoint: http://file:4318\n"
                  "  timeout: 3s\n"
                  "  protocol: http/json\n"
                  "  compression: gzip\n"
                  "  headers:\n"
                  "    shared: from-file\n"
                  "    only-file: f\n"
                  "service:\n"
                  "  name: file-svc\n",
                  err, sizeof(err));
    CHECK_EQ_INT(rc, 0);
    env_clear();
    env_set("OTEL_EXPORTER_OTLP_ENDPOINT", "http://env:4318");
    env_set("OTEL_EXPORTER_OTLP_TIMEOUT", "7000");
    env_set("OTEL_EXPORTER_OTLP_COMPRESSION", "none");
    env_set("OTEL_EXPORTER_OTLP_HEADERS", "shared=from-env,only-env=e");
    env_set("OTEL_SERVICE_NAME", "env-svc");
    CHECK_EQ_INT(sp_config_load_env(&c, fake_getenv, err, sizeof(err)), 0);
    CHECK_EQ_INT(sp_config_finish(&c, err, sizeof(err)), 0);
    /* the environment overrides the file */
    CHECK_STR(c.otlp_endpoint, "http://env:4318");
    CHECK_STR(sp_config_signal_url(&c, SP_SIG_TRACES, buf, sizeof(buf)),
              "http://env:4318/v1/traces");
    CHECK_EQ_INT(c.otlp_timeout_ms, 7000);
    CHECK_EQ_INT(c.otlp_gzip, 0);
    CHECK_STR(c.service_name, "env-svc");
    CHECK_STR(kv_get(c.otlp_headers, c.n_otlp_headers, "shared"), "from-env");
    CHECK_STR(kv_get(c.otlp_headers, c.n_otlp_headers, "only-env"), "e");
    /* what the environment does not set stays as the file said */
    CHECK_STR(kv_get(c.otlp_headers, c.n_otlp_headers, "only-file"), "f");
    CHECK_EQ_INT(c.otlp_protocol, SP_PROTO_HTTP_JSON);
    CHECK_EQ_INT(c.n_otlp_headers, 3);
    sp_config_free(&c);
}

int main(void)
{
    sp_log_setup(SP_LOG_OFF, 0);
    test_defaults();
    test_embedded_default();
    test_yaml_nested();
    test_yaml_errors();
    test_load_file();
    test_durations_sizes();
    test_env_endpoints();
    test_env_other();
    test_url_origin();
    test_headers();
    test_ranges();
    test_file_enabled();
    test_precedence();
    return th_report("test_config");
}
