/*
 * main.c - command line: flags, config loading in precedence order
 * (defaults < file < environment < flags), --check-config, --stats, and the
 * agent's run. Every error before the socket is bound exits 1 with a message
 * a person can act on.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "admin.h"
#include "admin_client.h"
#include "agent.h"
#include "caps.h"
#include "listen_addr.h"
#include "log.h"
#include "otlp.h"
#include "otlp_file.h"
#include "otlp_http.h"
#include "datagram.h"
#include "dogstatsd.h"
#include "lambda.h"
#include "socket.h"

/* The plugins this binary has. The core knows them only through these
 * vtables: a new input or exporter is one line here (and its folder). */
static const struct sp_input_ops *const inputs[] = {&col_socket_input, &col_datagram_input,
                                                     &col_dogstatsd_input, &col_otlp_input,
                                                     &col_lambda_input};
static const struct sp_exporter_ops *const exporters[] = {&exp_otlp_http_ops, &exp_otlp_file_ops,
                                                          NULL};

static const char usage[] =
    "usage: spindle [--config FILE] [--socket PATH] [--otlp-endpoint URL] [--log-level LEVEL]\n"
    "               [--storage-path DIR] [--statsd-socket PATH] [--http-listen ADDR]\n"
    "               [--otlp-listen ADDR]\n"
    "               [--lambda-extension]\n"
    "               [--alertmanager URL]...\n"
    "       spindle --check-config FILE\n"
    "       spindle --stats [--socket PATH]\n"
    "       spindle --print-default-config | --version | --help | -h\n"
    "\n"
    "Observability sidecar for function workloads: takes NDJSON records on a Unix\n"
    "socket, joins them into one trace per workflow, exports OTLP.\n"
    "\n"
    "  --config FILE          YAML configuration (see --print-default-config)\n"
    "  --socket PATH          Unix socket to listen on (socket.path)\n"
    "  --otlp-endpoint URL    OTLP/HTTP base URL, like OTEL_EXPORTER_OTLP_ENDPOINT;\n"
    "                         turns the OTLP exporter on and the file exporter off\n"
    "  --log-level LEVEL      debug, info, warn or error (log.level)\n"
    "  --storage-path DIR     keep a crash-safe journal in DIR (storage.path)\n"
    "  --statsd-socket PATH   take DogStatsD datagrams on this Unix socket (statsd.socket)\n"
    "  --http-listen ADDR     admin listener: /metrics, /healthz, /readyz, /api/v1/,\n"
    "                         the status page (admin.listen; default 127.0.0.1:9464;\n"
    "                         HOST:PORT, unix:PATH, or off)\n"
    "  --otlp-listen ADDR     OTLP/HTTP receiver: HOST:PORT, unix:PATH or off\n"
    "                         (otlp.listen; default 127.0.0.1:4318)\n"
    "  --alertmanager URL     send alerts to this Alertmanager (repeatable: every URL of\n"
    "                         an HA set; added to alerts.alertmanager.urls)\n"
    "  --lambda-extension     run as an AWS Lambda extension (on by itself when\n"
    "                         AWS_LAMBDA_RUNTIME_API is set; lambda.extension)\n"
    "  --check-config FILE    validate FILE and exit 0, or exit 1 naming the bad key\n"
    "  --stats                print a running agent's counters as JSON\n"
    "  --print-default-config print the embedded default configuration\n"
    "\n"
    "Precedence: flags > OTEL_* environment > config file > defaults.\n";


/* --stats over the admin listener, when it is on and answers for the agent
 * of this configuration (Spindle-Socket names its data socket: another agent
 * may hold the default port). 1: asked and printed; 0: not reachable. */
static int stats_via_admin(const struct sp_config *c)
{
    if (strcmp(c->admin_listen, "off") == 0) {
        return 0;
    }
    struct sp_admin_answer a;
    int rc = sp_admin_get(c->admin_listen, "/api/v1/stats", 5000, &a);
    int done = rc == 0 && a.status == 200 && strcmp(a.socket, c->socket_path) == 0;
    if (done) {
        fwrite(a.body.p, 1, a.body.len, stdout);
    }
    sp_buf_free(&a.body);
    return done;
}

/* --stats: ask the running agent over its own socket. */
static int run_stats(const char *path)
{
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
    if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
        fprintf(stderr, "spindle: cannot connect to %s: %s (is the agent running?)\n", path,
                strerror(errno));
        return 1;
    }
    /* A paused agent (backpressure) reads no records, this one included:
     * give up after a while with a message instead of hanging. */
    struct timeval tv = {.tv_sec = 5};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    const char *req = "{\"type\":\"stats\",\"id\":\"cli\"}\n";
    if (write(fd, req, strlen(req)) != (ssize_t)strlen(req)) {
        fprintf(stderr, "spindle: cannot write to %s: %s\n", path, strerror(errno));
        close(fd);
        return 1;
    }
    char buf[65536];
    size_t len = 0;
    while (len < sizeof(buf) - 1) {
        ssize_t n = read(fd, buf + len, sizeof(buf) - 1 - len);
        if (n <= 0) {
            break;
        }
        len += (size_t)n;
        if (memchr(buf, '\n', len)) {
            break;
        }
    }
    close(fd);
    if (len == 0 || !memchr(buf, '\n', len)) {
        fprintf(stderr,
                "spindle: no answer from %s within 5 s (is the agent pausing input because an "
                "export queue is full? its log says so)\n",
                path);
        return 1;
    }
    fwrite(buf, 1, len, stdout);
    return 0;
}

int main(int argc, char **argv)
{
    enum {
        OPT_CONFIG = 1,
        OPT_SOCKET,
        OPT_ENDPOINT,
        OPT_LOGLEVEL,
        OPT_STORAGE,
        OPT_CHECK,
        OPT_STATS,
        OPT_VERSION,
        OPT_HELP,
        OPT_PRINT_DEFAULT,
        OPT_ALERTMANAGER,
        OPT_STATSD_SOCKET,
        OPT_HTTP_LISTEN,
        OPT_OTLP_LISTEN,
        OPT_LAMBDA
    };
    static const struct option opts[] = {
        {"config", required_argument, NULL, OPT_CONFIG},
        {"socket", required_argument, NULL, OPT_SOCKET},
        {"otlp-endpoint", required_argument, NULL, OPT_ENDPOINT},
        {"log-level", required_argument, NULL, OPT_LOGLEVEL},
        {"storage-path", required_argument, NULL, OPT_STORAGE},
        {"check-config", required_argument, NULL, OPT_CHECK},
        {"stats", no_argument, NULL, OPT_STATS},
        {"version", no_argument, NULL, OPT_VERSION},
        {"help", no_argument, NULL, OPT_HELP},
        {"print-default-config", no_argument, NULL, OPT_PRINT_DEFAULT},
        {"alertmanager", required_argument, NULL, OPT_ALERTMANAGER},
        {"statsd-socket", required_argument, NULL, OPT_STATSD_SOCKET},
        {"http-listen", required_argument, NULL, OPT_HTTP_LISTEN},
        {"otlp-listen", required_argument, NULL, OPT_OTLP_LISTEN},
        {"lambda-extension", no_argument, NULL, OPT_LAMBDA},
        {NULL, 0, NULL, 0},
    };
    const char *config = NULL, *sock = NULL, *endpoint = NULL, *level = NULL, *check = NULL;
    const char *storage = NULL, *statsd_socket = NULL, *http_listen = NULL, *otlp_listen = NULL;
    int stats = 0, lambda = 0;
    const char *am[SP_ALERT_MAX_AM_URLS];
    int n_am = 0;
    opterr = 0;
    for (;;) {
        int o = getopt_long(argc, argv, "h", opts, NULL);
        if (o == -1) {
            break;
        }
        switch (o) {
        case OPT_CONFIG: config = optarg; break;
        case OPT_SOCKET: sock = optarg; break;
        case OPT_ENDPOINT: endpoint = optarg; break;
        case OPT_LOGLEVEL: level = optarg; break;
        case OPT_STORAGE: storage = optarg; break;
        case OPT_STATSD_SOCKET: statsd_socket = optarg; break;
        case OPT_OTLP_LISTEN: otlp_listen = optarg; break;
        case OPT_CHECK: check = optarg; break;
        case OPT_HTTP_LISTEN: http_listen = optarg; break;
        case OPT_ALERTMANAGER:
            if (n_am == SP_ALERT_MAX_AM_URLS) {
                fprintf(stderr, "spindle: at most %u --alertmanager URLs\n", SP_ALERT_MAX_AM_URLS);
                return 1;
            }
            am[n_am++] = optarg;
            break;
        case OPT_STATS: stats = 1; break;
        case OPT_LAMBDA: lambda = 1; break;
        case OPT_VERSION: printf("spindle %s\n", SP_VERSION); return 0;
        case 'h':
        case OPT_HELP: fputs(usage, stdout); return 0;
        case OPT_PRINT_DEFAULT: fputs(sp_default_config_yaml, stdout); return 0;
        default:
            /* getopt_long sets optopt to a long option's value when its
             * argument is missing, and to the character of an unknown -x. */
            if (optopt >= OPT_CONFIG && optopt <= OPT_OTLP_LISTEN) {
                fprintf(stderr, "spindle: option '%s' needs a value\n", argv[optind - 1]);
            } else {
                fprintf(stderr, "spindle: unknown option '%s'\n", argv[optind - 1]);
            }
            fputs("Try 'spindle --help'.\n", stderr);
            return 1;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "spindle: unexpected argument '%s'\nTry 'spindle --help'.\n",
                argv[optind]);
        return 1;
    }
    /* URLs from flags are checked here, where the flag can be named; only
     * scheme://host:port is echoed (the rest may hold credentials). */
    for (int i = -1; i < n_am; i++) {
        const char *u = i < 0 ? endpoint : am[i];
        if (u && !sp_url_ok(u)) {
            char o[256];
            sp_url_origin(u, o, sizeof(o));
            fprintf(stderr, "spindle: %s '%s' must start with http:// or https://\n",
                    i < 0 ? "--otlp-endpoint" : "--alertmanager", o);
            return 1;
        }
    }

    if (otlp_listen) {
        struct sp_listen_addr la;
        const char *why;
        if (sp_listen_addr_parse(otlp_listen, &la, &why)) {
            fprintf(stderr, "spindle: --otlp-listen '%s': %s\n", otlp_listen, why);
            return 1;
        }
    }

    char err[1024];
    struct spindle sp;
    memset(&sp, 0, sizeof(sp));

    if (check) {
        sp_config_defaults(&sp.cfg);
        if (sp_config_load_file(&sp.cfg, check, err, sizeof(err)) ||
            sp_config_finish(&sp.cfg, err, sizeof(err))) {
            fprintf(stderr, "spindle: %s\n", err);
            sp_config_free(&sp.cfg);
            return 1;
        }
        printf("%s: ok\n", check);
        sp_config_free(&sp.cfg);
        return 0;
    }
    sp.flags = (struct sp_flags){.config = config, .socket = sock, .endpoint = endpoint,
                                 .level = level, .storage = storage,
                                 .statsd_socket = statsd_socket, .http_listen = http_listen,
                                 .otlp_listen = otlp_listen, .lambda_extension = lambda};
    for (int i = 0; i < n_am; i++) {
        sp.flags.alertmanager[sp.flags.n_alertmanager++] = am[i];
    }
    int rc = 0;
    if (sp_config_build(&sp.cfg, &sp.flags, sp_env_get, err, sizeof(err))) {
        fprintf(stderr, "spindle: %s\n", err);
        return 1;
    }
    if (stats) {
        rc = stats_via_admin(&sp.cfg) ? 0 : run_stats(sp.cfg.socket_path);
        sp_config_free(&sp.cfg);
        return rc;
    }
    sp_log_setup(sp.cfg.log_level, sp.cfg.log_json);

    /* A client that hangs up before reading its ack must cost us an EPIPE on
     * that connection, not the process; likewise a file past RLIMIT_FSIZE is
     * an EFBIG for the file exporter (retried, counted), not a kill. */
    signal(SIGPIPE, SIG_IGN);
    signal(SIGXFSZ, SIG_IGN);
    uv_loop_t loop;
    uv_loop_init(&loop);
    for (size_t i = 0; i < sizeof(inputs) / sizeof(inputs[0]) && rc == 0; i++) {
        rc = sp_agent_add_input(&sp, inputs[i]);
    }
    if (rc || (rc = sp_agent_init(&sp, &loop, exporters)) || (rc = sp_agent_start(&sp))) {
        /* Nothing was accepted yet, so there is nothing to drain: the
         * process exit releases what init built. */
        fprintf(stderr, "spindle: cannot start: %s\n", strerror(rc < 0 ? -rc : rc));
        return 1;
    }
    /* The endpoint as scheme://host:port only: user:password, a path or a
     * query string may carry credentials, and logs travel further than the
     * configuration does. */
    char ep[2048], origin[256] = "off";
    for (int s = 0; s < SP_SIG_COUNT; s++) {
        const char *u = sp_config_signal_url(&sp.cfg, s, ep, sizeof(ep));
        if (u) {
            sp_url_origin(u, origin, sizeof(origin));
            break;
        }
    }
    SP_LOG(SP_LOG_INFO, "spindle ready",
           "version=%s socket=\"%s\" otlp=\"%s\" file=\"%s\" journal=\"%s\" admin=\"%s\"",
           SP_VERSION, sp.cfg.socket_path, origin, sp.cfg.file_enabled ? sp.cfg.file_dir : "off",
           sp.cfg.storage_path[0] ? sp.cfg.storage_path : "off",
           sp_admin_address(&sp) ? sp_admin_address(&sp) : "off");
    uv_run(&loop, UV_RUN_DEFAULT);
    uv_loop_close(&loop);
    sp_agent_free(&sp);
    /* 0, or 1 when a part gave up (a Lambda extension whose registration failed). */
    return sp.exit_code;
}
