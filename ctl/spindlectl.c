/*
 * spindlectl - asks a running spindle what it sees, and sends it a record.
 *
 *   spindlectl [--config FILE] [--socket PATH] [--http-listen ADDR] [--json] COMMAND
 *     status | workflows [--state S] [--name N] [--limit N] [--errors] | workflow ID |
 *     alerts | emit TYPE key=value... | tail [--count N] [--for DURATION] | demo [--count N]
 *
 * It finds the agent the way `spindle --stats` does: the same configuration
 * (defaults < file < OTEL_* environment < flags), the admin listener when it
 * is on and answers for the same data socket, the data socket otherwise
 * (status and emit work over it; the other commands need the listener).
 * Exit status: 0 done, 1 no agent answered or it refused, 2 usage.
 * The man page is docs/spindlectl.1.
 */
#include <cjson/cJSON.h>
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "admin_client.h"
#include "agent.h"
#include "units.h"

static const char usage[] =
    "usage: spindlectl [--config FILE] [--socket PATH] [--http-listen ADDR] [--json] COMMAND\n"
    "\n"
    "commands:\n"
    "  status                      health, counters, exporters, alerts\n"
    "  workflows [--state open|closing|closed] [--name NAME] [--limit N] [--errors]\n"
    "                              open and recently closed workflows\n"
    "  workflow ID                 one workflow: its invocations, spans and events\n"
    "  alerts                      alerts firing and pending\n"
    "  emit TYPE key=value...      send one record (key:=JSON for a number, true, an object)\n"
    "  tail [--count N] [--for DURATION]\n"
    "                              print accepted records as they arrive (NDJSON)\n"
    "  demo [--count N]            send a simulated order workflow set, repeating\n"
    "                              (what ./run.sh starts in demo mode)\n"
    "\n"
    "  --config FILE               the agent's configuration (to find its socket and listener)\n"
    "  --socket PATH               its data socket (socket.path)\n"
    "  --http-listen ADDR          its admin listener (admin.listen)\n"
    "  --json                      print the agent's JSON answers as they are\n"
    "\n"
    "See spindlectl(1).\n";

struct ctl {
    struct sp_config cfg;
    int json;
    const char *admin; /* NULL: off */
};

static volatile sig_atomic_t interrupted;

static void on_sigint(int s)
{
    (void)s;
    interrupted = 1;
}

/* --- talking to the agent ----------------------------------------------------- */

/* GET path from the admin listener as JSON. 0, or 1 after printing why. */
static int api(const struct ctl *c, const char *path, cJSON **out, int *status)
{
    *out = NULL;
    if (c->admin == NULL) {
        fprintf(stderr,
                "spindlectl: the admin listener is off (admin.listen: off); this command needs "
                "it (start spindle with --http-listen ADDR)\n");
        return 1;
    }
    struct sp_admin_answer a;
    int rc = sp_admin_get(c->admin, path, 5000, &a);
    if (rc) {
        fprintf(stderr,
                "spindlectl: no agent answers on the admin listener %s: %s (is spindle running? "
                "started with another --http-listen or --config?)\n",
                c->admin, strerror(-rc));
        sp_buf_free(&a.body);
        return 1;
    }
    if (strcmp(a.socket, c->cfg.socket_path) != 0) {
        fprintf(stderr,
                "spindlectl: the admin listener %s belongs to the agent of socket %s, not %s "
                "(pass the --http-listen or --config of the agent you mean)\n",
                c->admin, a.socket[0] ? a.socket : "(unknown)", c->cfg.socket_path);
        sp_buf_free(&a.body);
        return 1;
    }
    *status = a.status;
    *out = cJSON_ParseWithLength(a.body.p ? a.body.p : "", a.body.len);
    sp_buf_free(&a.body);
    if (*out == NULL) {
        fprintf(stderr, "spindlectl: %s answered %d without JSON\n", path, a.status);
        return 1;
    }
    if (a.status != 200) {
        const cJSON *e = cJSON_GetObjectItemCaseSensitive(*out, "error");
        fprintf(stderr, "spindlectl: %s\n", cJSON_IsString(e) ? e->valuestring : "error");
        cJSON_Delete(*out);
        *out = NULL;
        return 1;
    }
    return 0;
}

static int connect_socket(const char *path)
{
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
    if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
        fprintf(stderr, "spindlectl: no agent answers on %s: %s (is spindle running?)\n", path,
                strerror(errno));
        if (fd >= 0) {
            close(fd);
        }
        return -1;
    }
    struct timeval tv = {.tv_sec = 5};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    return fd;
}

/* Writes `req` to the data socket and reads one answer line into buf. */
static int socket_exchange(const char *path, const char *req, char *buf, size_t cap)
{
    int fd = connect_socket(path);
    if (fd < 0) {
        return 1;
    }
    size_t len = strlen(req), off = 0;
    while (off < len) {
        ssize_t n = write(fd, req + off, len - off);
        if (n <= 0) {
            fprintf(stderr, "spindlectl: cannot write to %s: %s\n", path, strerror(errno));
            close(fd);
            return 1;
        }
        off += (size_t)n;
    }
    size_t got = 0;
    while (got < cap - 1 && !memchr(buf, '\n', got)) {
        ssize_t n = read(fd, buf + got, cap - 1 - got);
        if (n <= 0) {
            break;
        }
        got += (size_t)n;
    }
    close(fd);
    buf[got] = 0;
    if (!memchr(buf, '\n', got)) {
        fprintf(stderr,
                "spindlectl: no answer from %s within 5 s (is the agent pausing input? its log "
                "says so)\n",
                path);
        return 1;
    }
    return 0;
}

/* --- printing ------------------------------------------------------------------ */

static double num(const cJSON *o, const char *k)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsNumber(v) ? v->valuedouble : 0;
}

static const char *str(const cJSON *o, const char *k)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsString(v) ? v->valuestring : "";
}

static int flag(const cJSON *o, const char *k)
{
    return cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, k));
}

static const cJSON *obj(const cJSON *o, const char *k)
{
    return cJSON_GetObjectItemCaseSensitive(o, k);
}

static void print_json(const cJSON *j)
{
    char *s = cJSON_PrintUnformatted(j);
    if (s) {
        puts(s);
        free(s);
    }
}

static void fmt_age(double s, char *out, size_t n)
{
    if (s < 1) {
        snprintf(out, n, "%.0fms", s * 1000);
    } else if (s < 120) {
        snprintf(out, n, "%.1fs", s);
    } else if (s < 7200) {
        snprintf(out, n, "%.0fm", s / 60);
    } else {
        snprintf(out, n, "%.0fh", s / 3600);
    }
}

static void fmt_bytes(double b, char *out, size_t n)
{
    if (b >= 1048576) {
        snprintf(out, n, "%.1f MiB", b / 1048576);
    } else if (b >= 1024) {
        snprintf(out, n, "%.1f KiB", b / 1024);
    } else {
        snprintf(out, n, "%.0f B", b);
    }
}

static void print_stats_human(const cJSON *st)
{
    const cJSON *rec = obj(st, "records"), *wf = obj(st, "workflows"), *ex = obj(st, "export"),
                *al = obj(st, "alerts"), *dr = obj(st, "dropped"), *mem = obj(st, "memory");
    double dropped = 0;
    for (const cJSON *d = dr ? dr->child : NULL; d; d = d->next) {
        dropped += cJSON_IsNumber(d) ? d->valuedouble : 0;
    }
    char m[32];
    fmt_bytes(num(mem, "used_bytes"), m, sizeof(m));
    printf("records    accepted %.0f  rejected %.0f  dropped %.0f\n", num(rec, "accepted"),
           num(rec, "rejected"), dropped);
    printf("workflows  open %.0f  closed %.0f  evicted %.0f\n", num(wf, "open"), num(wf, "closed"),
           num(wf, "evicted"));
    printf("export     spans %.0f  logs %.0f  metric points %.0f  delivered %.0f  failed requests "
           "%.0f  retries %.0f\n",
           num(ex, "spans"), num(ex, "logs"), num(ex, "metric_points"), num(ex, "delivered"),
           num(ex, "requests_failed"), num(ex, "retries"));
    printf("alerts     firing %.0f  fired %.0f  resolved %.0f\n", num(al, "firing"),
           num(al, "fired"), num(al, "resolved"));
    printf("memory     %s\n", m);
}

static int cmd_status(const struct ctl *c)
{
    cJSON *j = NULL;
    int status;
    if (c->admin) {
        struct sp_admin_answer probe;
        int rc = sp_admin_get(c->admin, "/api/v1/status", 5000, &probe);
        int ours = rc == 0 && strcmp(probe.socket, c->cfg.socket_path) == 0;
        sp_buf_free(&probe.body);
        if (ours) {
            if (api(c, "/api/v1/status", &j, &status)) {
                return 1;
            }
            if (c->json) {
                print_json(j);
            } else {
                char up[32];
                fmt_age(num(j, "uptime_s"), up, sizeof(up));
                printf("spindle %s  %s  up %s  socket %s  admin %s\n", str(j, "version"),
                       flag(j, "ready") ? "ready" : "NOT READY", up, str(j, "socket"), c->admin);
                if (!flag(j, "ready")) {
                    printf("reason     %s\n", str(j, "reason"));
                }
                print_stats_human(obj(j, "stats"));
                const cJSON *exps = obj(j, "exporters");
                for (const cJSON *e = exps ? exps->child : NULL; e; e = e->next) {
                    printf("exporter   %s:", str(e, "name"));
                    const cJSON *qs = obj(e, "queues");
                    for (const cJSON *q = qs ? qs->child : NULL; q; q = q->next) {
                        char b[32];
                        fmt_bytes(num(q, "bytes"), b, sizeof(b));
                        printf("  %s %s%s", str(q, "signal"), b, flag(q, "failing") ? " FAILING" : "");
                    }
                    printf("\n");
                }
            }
            cJSON_Delete(j);
            return 0;
        }
    }
    /* No listener (or another agent's): the counters over the data socket. */
    char buf[65536];
    if (socket_exchange(c->cfg.socket_path, "{\"type\":\"stats\",\"id\":\"spindlectl\"}\n", buf,
                        sizeof(buf))) {
        return 1;
    }
    j = cJSON_Parse(buf);
    if (j == NULL) {
        fprintf(stderr, "spindlectl: the agent's answer is not JSON\n");
        return 1;
    }
    if (c->json) {
        print_json(j);
    } else {
        char up[32];
        fmt_age(num(j, "uptime_s"), up, sizeof(up));
        printf("spindle %s  up %s  socket %s  admin off\n", str(j, "version"), up,
               c->cfg.socket_path);
        print_stats_human(j);
    }
    cJSON_Delete(j);
    return 0;
}

static int cmd_workflows(const struct ctl *c, const char *query)
{
    char path[1024];
    snprintf(path, sizeof(path), "/api/v1/workflows%s%s", query[0] ? "?" : "", query);
    cJSON *j;
    int status;
    if (api(c, path, &j, &status)) {
        return 1;
    }
    if (c->json) {
        print_json(j);
        cJSON_Delete(j);
        return 0;
    }
    const cJSON *ws = obj(j, "workflows");
    printf("%-36s %-16s %-8s %4s %4s %5s %4s %7s\n", "CORRELATION ID", "WORKFLOW", "STATE", "INV",
           "COLD", "RETRY", "DLQ", "AGE");
    for (const cJSON *w = ws ? ws->child : NULL; w; w = w->next) {
        char age[32];
        fmt_age(num(w, "age_s"), age, sizeof(age));
        printf("%-36s %-16s %-8s %4.0f %4.0f %5.0f %4.0f %7s%s\n", str(w, "correlation_id"),
               str(w, "name"), str(w, "state"), num(w, "invocations"), num(w, "cold_starts"),
               num(w, "retries"), num(w, "dead_letters"), age, flag(w, "error") ? "  failed" : "");
    }
    printf("(%d shown, %.0f matched)\n", cJSON_GetArraySize(ws), num(j, "matched"));
    cJSON_Delete(j);
    return 0;
}

static void pct_encode(const char *s, char *out, size_t n)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t o = 0;
    for (; *s && o + 4 < n; s++) {
        unsigned char ch = (unsigned char)*s;
        if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
            ch == '-' || ch == '_' || ch == '.' || ch == '~') {
            out[o++] = (char)ch;
        } else {
            out[o++] = '%';
            out[o++] = hex[ch >> 4];
            out[o++] = hex[ch & 15];
        }
    }
    out[o] = 0;
}

static void print_events(const cJSON *evs, double t0, const char *indent)
{
    for (const cJSON *e = evs ? evs->child : NULL; e; e = e->next) {
        printf("%s+%.1fms  event %s\n", indent, num(e, "time_ms") - t0, str(e, "name"));
    }
}

static int cmd_workflow(const struct ctl *c, const char *id)
{
    char enc[1024], path[1200];
    pct_encode(id, enc, sizeof(enc));
    snprintf(path, sizeof(path), "/api/v1/workflows/%s", enc);
    cJSON *j;
    int status;
    if (api(c, path, &j, &status)) {
        return 1;
    }
    if (c->json) {
        print_json(j);
        cJSON_Delete(j);
        return 0;
    }
    const cJSON *w = obj(j, "workflow");
    double t0 = num(w, "start_ms");
    printf("workflow   %s  %s  %s%s\n", str(w, "correlation_id"), str(w, "name"), str(w, "state"),
           flag(w, "error") ? "  failed" : "");
    printf("trace      %s%s%s\n", str(w, "trace_id"), str(w, "trace_url")[0] ? "  " : "",
           str(w, "trace_url"));
    printf("counts     invocations %.0f  cold starts %.0f  retries %.0f  throttles %.0f  dead "
           "letters %.0f\n",
           num(w, "invocations"), num(w, "cold_starts"), num(w, "retries"), num(w, "throttles"),
           num(w, "dead_letters"));
    print_events(obj(w, "events"), t0, "  ");
    const cJSON *invs = obj(w, "invocations_seen");
    int n = cJSON_GetArraySize(invs);
    for (int i = n - 1; i >= 0; i--) { /* the API lists the newest first */
        const cJSON *iv = cJSON_GetArrayItem(invs, i);
        double s = num(iv, "start_ms"), e = num(iv, "end_ms");
        printf("  +%.1fms  %s %s  %s  %s%s", s - t0, str(iv, "function"), str(iv, "invocation_id"),
               str(iv, "status"), flag(iv, "ended") ? "" : "running ",
               flag(iv, "cold_start") ? "cold start " : "");
        if (num(iv, "attempt") > 1) {
            printf("retry #%.0f ", num(iv, "attempt"));
        }
        if (flag(iv, "ended")) {
            printf("%.1fms", e - s);
        }
        printf("\n");
        print_events(obj(iv, "events"), t0, "      ");
    }
    const cJSON *spans = obj(w, "spans_seen");
    for (const cJSON *s = spans ? spans->child : NULL; s; s = s->next) {
        printf("  +%.1fms  span %s  %.1fms  %s\n", num(s, "start_ms") - t0, str(s, "name"),
               num(s, "end_ms") - num(s, "start_ms"), str(s, "status"));
    }
    cJSON_Delete(j);
    return 0;
}

static int cmd_alerts(const struct ctl *c)
{
    cJSON *j;
    int status;
    if (api(c, "/api/v1/alerts", &j, &status)) {
        return 1;
    }
    if (c->json) {
        print_json(j);
        cJSON_Delete(j);
        return 0;
    }
    const cJSON *as = obj(j, "alerts");
    if (cJSON_GetArraySize(as) == 0) {
        printf("no alert is firing or pending\n");
    }
    for (const cJSON *a = as ? as->child : NULL; a; a = a->next) {
        printf("%-8s %-24s %-9s %-24s %s%s%s\n", str(a, "state"), str(a, "alertname"),
               str(a, "severity"), str(a, "key")[0] ? str(a, "key") : "(agent)", str(a, "summary"),
               str(a, "trace_url")[0] ? "  " : "", str(a, "trace_url"));
    }
    cJSON_Delete(j);
    return 0;
}

/* emit TYPE key=value... : key=value is a string, key:=JSON any JSON value. */
static int cmd_emit(const struct ctl *c, int argc, char **argv)
{
    cJSON *rec = cJSON_CreateObject();
    cJSON_AddStringToObject(rec, "type", argv[0]);
    for (int i = 1; i < argc; i++) {
        char *eq = strchr(argv[i], '=');
        if (eq == NULL || eq == argv[i]) {
            fprintf(stderr, "spindlectl: emit: '%s': expected key=value or key:=JSON\n", argv[i]);
            cJSON_Delete(rec);
            return 2;
        }
        int raw = eq > argv[i] && eq[-1] == ':';
        char key[256];
        size_t kl = (size_t)(eq - argv[i]) - (raw ? 1 : 0);
        if (kl == 0 || kl >= sizeof(key)) {
            fprintf(stderr, "spindlectl: emit: '%s': bad key\n", argv[i]);
            cJSON_Delete(rec);
            return 2;
        }
        memcpy(key, argv[i], kl);
        key[kl] = 0;
        cJSON *v = raw ? cJSON_Parse(eq + 1) : cJSON_CreateString(eq + 1);
        if (v == NULL) {
            fprintf(stderr, "spindlectl: emit: '%s': the value after := is not JSON\n", argv[i]);
            cJSON_Delete(rec);
            return 2;
        }
        cJSON_DeleteItemFromObjectCaseSensitive(rec, key);
        cJSON_AddItemToObject(rec, key, v);
    }
    char *line = cJSON_PrintUnformatted(rec);
    cJSON_Delete(rec);
    if (line == NULL) {
        return 1;
    }
    size_t need = strlen(line) + 64;
    char *req = malloc(need);
    if (req == NULL) {
        free(line);
        return 1;
    }
    snprintf(req, need, "%s\n{\"type\":\"flush\",\"id\":\"spindlectl\"}\n", line);
    free(line);
    char ack[4096];
    int rc = socket_exchange(c->cfg.socket_path, req, ack, sizeof(ack));
    free(req);
    if (rc) {
        return 1;
    }
    cJSON *a = cJSON_Parse(ack);
    if (a == NULL) {
        fprintf(stderr, "spindlectl: the agent's answer is not JSON: %s", ack);
        return 1;
    }
    int accepted = num(a, "accepted") == 1;
    if (c->json) {
        print_json(a);
    } else if (accepted) {
        printf("accepted\n");
    } else {
        const char *why = str(a, "first_error");
        fprintf(stderr, "spindlectl: rejected: %s (docs/protocol.md, the acceptance table)\n",
                why[0] ? why : "unknown");
    }
    cJSON_Delete(a);
    return accepted ? 0 : 1;
}

static int cmd_tail(const struct ctl *c, long count, uint64_t for_ms)
{
    signal(SIGINT, on_sigint);
    signal(SIGTERM, on_sigint);
    cJSON *j;
    int status;
    if (api(c, "/api/v1/records", &j, &status)) {
        return 1;
    }
    double next = num(j, "next");
    cJSON_Delete(j);
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    long printed = 0;
    while (!interrupted && (count <= 0 || printed < count)) {
        struct timespec now;
        clock_gettime(CLOCK_MONOTONIC, &now);
        uint64_t ms = (uint64_t)(now.tv_sec - t0.tv_sec) * 1000u +
                      (uint64_t)((now.tv_nsec - t0.tv_nsec) / 1000000);
        if (for_ms && ms >= for_ms) {
            break;
        }
        char path[128];
        snprintf(path, sizeof(path), "/api/v1/records?after=%.0f", next);
        if (api(c, path, &j, &status)) {
            return 1;
        }
        if (num(j, "missed") > 0) {
            fprintf(stderr, "spindlectl: %.0f records went by too fast to show\n",
                    num(j, "missed"));
        }
        const cJSON *rs = obj(j, "records");
        for (const cJSON *r = rs ? rs->child : NULL; r && (count <= 0 || printed < count);
             r = r->next) {
            print_json(r);
            printed++;
        }
        fflush(stdout);
        next = num(j, "next");
        cJSON_Delete(j);
        usleep(200 * 1000);
    }
    return 0;
}

/* --- demo: a simulated order workflow set --------------------------------- */

/* One connection to the data socket, records written as they happen. */
struct demo {
    int fd;
    unsigned long n;
};

static int demo_send(struct demo *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int demo_send(struct demo *d, const char *fmt, ...)
{
    char line[2048];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(line, sizeof(line) - 1, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof(line) - 1) {
        return -1;
    }
    line[n++] = '\n';
    return write(d->fd, line, (size_t)n) == n ? 0 : -1;
}

static void demo_sleep(int ms)
{
    if (!interrupted) {
        usleep((useconds_t)ms * 1000u);
    }
}

/* One invocation: start (maybe cold), a span of its work, a log, end. */
static int demo_invocation(struct demo *d, const char *cid, const char *fn, const char *trigger,
                           int cold, int attempt, const char *work, int work_ms, const char *status,
                           const char *error)
{
    char inv[96];
    snprintf(inv, sizeof(inv), "%s-%s-%d", cid, fn, attempt);
    int rc = demo_send(d,
                       "{\"type\":\"event\",\"name\":\"invocation_start\",\"correlation_id\":\"%s\","
                       "\"invocation_id\":\"%s\",\"function\":\"%s\",\"trigger\":\"%s\","
                       "\"cold_start\":%s,\"attempt\":%d}",
                       cid, inv, fn, trigger, cold ? "true" : "false", attempt);
    if (cold) {
        rc |= demo_send(d,
                        "{\"type\":\"event\",\"name\":\"cold_start\",\"correlation_id\":\"%s\","
                        "\"invocation_id\":\"%s\",\"function\":\"%s\",\"init_duration_ms\":%d}",
                        cid, inv, fn, 180 + (int)(d->n % 7) * 20);
        demo_sleep(120);
    }
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    double start = (double)ts.tv_sec + ts.tv_nsec / 1e9 + 0.002;
    demo_sleep(work_ms);
    clock_gettime(CLOCK_REALTIME, &ts);
    double end = (double)ts.tv_sec + ts.tv_nsec / 1e9 - 0.001;
    rc |= demo_send(d,
                    "{\"type\":\"span\",\"correlation_id\":\"%s\",\"invocation_id\":\"%s\","
                    "\"function\":\"%s\",\"name\":\"%s\",\"kind\":\"client\",\"start\":%.6f,"
                    "\"end\":%.6f,\"status\":\"%s\"}",
                    cid, inv, fn, work, start, end, strcmp(status, "ok") ? "error" : "ok");
    rc |= demo_send(d,
                    "{\"type\":\"log\",\"correlation_id\":\"%s\",\"invocation_id\":\"%s\","
                    "\"function\":\"%s\",\"severity\":\"%s\",\"body\":\"%s %s\"}",
                    cid, inv, fn, strcmp(status, "ok") ? "error" : "info", work,
                    strcmp(status, "ok") ? error : "done");
    demo_sleep(5);
    if (strcmp(status, "ok") == 0) {
        rc |= demo_send(d,
                        "{\"type\":\"event\",\"name\":\"invocation_end\",\"correlation_id\":\"%s\","
                        "\"invocation_id\":\"%s\",\"function\":\"%s\",\"status\":\"ok\"}",
                        cid, inv, fn);
    } else {
        rc |= demo_send(d,
                        "{\"type\":\"event\",\"name\":\"invocation_end\",\"correlation_id\":\"%s\","
                        "\"invocation_id\":\"%s\",\"function\":\"%s\",\"status\":\"%s\","
                        "\"error\":\"%s\"}",
                        cid, inv, fn, status, error);
    }
    d->n++;
    return rc;
}

/* One order: api -> validate -> reserve-stock (throttled and retried every
 * third order) -> charge-card (declined three times and dead-lettered every
 * fifth) -> send-confirmation. The first order starts every function cold,
 * and every fourth validate-order scales out (a cold start). */
static int demo_order(struct demo *d, unsigned long k)
{
    char cid[64];
    snprintf(cid, sizeof(cid), "order-%05lu", 1000 + k);
    int cold = k == 0;
    int rc = demo_send(d,
                       "{\"type\":\"event\",\"name\":\"workflow_start\",\"correlation_id\":\"%s\","
                       "\"workflow\":\"place-order\"}",
                       cid);
    rc |= demo_invocation(d, cid, "order-api", "http", cold, 1, "POST /orders", 40, "ok", "");
    rc |= demo_invocation(d, cid, "validate-order", "other", cold || k % 4 == 3, 1,
                          "SELECT customers", 25, "ok", "");
    if (k % 3 == 1) {
        rc |= demo_send(d,
                        "{\"type\":\"event\",\"name\":\"throttle\",\"correlation_id\":\"%s\","
                        "\"function\":\"reserve-stock\",\"reason\":\"concurrency limit\"}",
                        cid);
        demo_sleep(150);
        rc |= demo_send(d,
                        "{\"type\":\"event\",\"name\":\"retry\",\"correlation_id\":\"%s\","
                        "\"invocation_id\":\"%s-reserve-stock-2\",\"function\":\"reserve-stock\","
                        "\"attempt\":2,\"reason\":\"throttled\"}",
                        cid, cid);
        rc |= demo_invocation(d, cid, "reserve-stock", "pubsub", 0, 2, "UPDATE stock", 60, "ok", "");
    } else {
        rc |= demo_invocation(d, cid, "reserve-stock", "pubsub", cold, 1, "UPDATE stock", 60, "ok",
                              "");
    }
    int failed = k % 5 == 2;
    if (failed) {
        for (int attempt = 1; attempt <= 3 && rc == 0; attempt++) {
            rc |= demo_invocation(d, cid, "charge-card", "pubsub", cold && attempt == 1, attempt,
                                  "POST /v1/charges", 90, "error", "card declined");
            if (attempt < 3) {
                rc |= demo_send(d,
                                "{\"type\":\"event\",\"name\":\"retry\",\"correlation_id\":\"%s\","
                                "\"invocation_id\":\"%s-charge-card-%d\",\"function\":\"charge-card\","
                                "\"attempt\":%d,\"reason\":\"card declined\"}",
                                cid, cid, attempt + 1, attempt + 1);
                demo_sleep(100);
            }
        }
        rc |= demo_send(d,
                        "{\"type\":\"event\",\"name\":\"dead_letter\",\"correlation_id\":\"%s\","
                        "\"function\":\"charge-card\",\"queue\":\"orders-dlq\","
                        "\"reason\":\"card declined 3 times\",\"message_id\":\"m-%lu\"}",
                        cid, k);
        rc |= demo_send(d,
                        "{\"type\":\"metric\",\"name\":\"dlq.depth\",\"kind\":\"gauge\","
                        "\"value\":%lu,\"attributes\":{\"queue\":\"orders-dlq\"}}",
                        k / 5 + 1);
        rc |= demo_send(d,
                        "{\"type\":\"event\",\"name\":\"workflow_end\",\"correlation_id\":\"%s\","
                        "\"status\":\"error\"}",
                        cid);
        return rc;
    }
    rc |= demo_invocation(d, cid, "charge-card", "pubsub", cold, 1, "POST /v1/charges", 90, "ok",
                          "");
    rc |= demo_invocation(d, cid, "send-confirmation", "pubsub", cold, 1, "POST /v3/mail/send", 35,
                          "ok", "");
    rc |= demo_send(d,
                    "{\"type\":\"metric\",\"function\":\"charge-card\",\"name\":\"orders.amount\","
                    "\"kind\":\"histogram\",\"unit\":\"{EUR}\",\"value\":%lu,"
                    "\"correlation_id\":\"%s\"}",
                    20 + (k * 37) % 180, cid);
    rc |= demo_send(d,
                    "{\"type\":\"event\",\"name\":\"workflow_end\",\"correlation_id\":\"%s\","
                    "\"status\":\"ok\"}",
                    cid);
    return rc;
}

/* Runs orders until interrupted, --count orders were sent, or the agent goes. */
static int cmd_demo(const struct ctl *c, long count)
{
    signal(SIGINT, on_sigint);
    signal(SIGTERM, on_sigint);
    signal(SIGPIPE, SIG_IGN);
    struct demo d = {.fd = connect_socket(c->cfg.socket_path)};
    if (d.fd < 0) {
        return 1;
    }
    for (unsigned long k = 0; !interrupted && (count <= 0 || (long)k < count); k++) {
        if (demo_order(&d, k) != 0) {
            break; /* the agent went away */
        }
        demo_sleep(400);
    }
    close(d.fd);
    return 0;
}

int main(int argc, char **argv)
{
    enum { O_CONFIG = 1, O_SOCKET, O_LISTEN, O_JSON, O_STATE, O_NAME, O_LIMIT, O_ERRORS, O_COUNT,
           O_FOR, O_HELP };
    static const struct option opts[] = {
        {"config", required_argument, NULL, O_CONFIG},
        {"socket", required_argument, NULL, O_SOCKET},
        {"http-listen", required_argument, NULL, O_LISTEN},
        {"json", no_argument, NULL, O_JSON},
        {"state", required_argument, NULL, O_STATE},
        {"name", required_argument, NULL, O_NAME},
        {"limit", required_argument, NULL, O_LIMIT},
        {"errors", no_argument, NULL, O_ERRORS},
        {"count", required_argument, NULL, O_COUNT},
        {"for", required_argument, NULL, O_FOR},
        {"help", no_argument, NULL, O_HELP},
        {NULL, 0, NULL, 0},
    };
    struct ctl c;
    memset(&c, 0, sizeof(c));
    struct sp_flags f = {0};
    char query[900] = "";
    long count = 0;
    uint64_t for_ms = 0;
    opterr = 0;
    /* "+": options stop at the command's arguments (emit's key=value). */
    for (;;) {
        int o = getopt_long(argc, argv, "+h", opts, NULL);
        if (o == -1) {
            break;
        }
        size_t ql = strlen(query);
        switch (o) {
        case O_CONFIG: f.config = optarg; break;
        case O_SOCKET: f.socket = optarg; break;
        case O_LISTEN: f.http_listen = optarg; break;
        case O_JSON: c.json = 1; break;
        case O_STATE:
        case O_NAME:
        case O_LIMIT: {
            char enc[400];
            pct_encode(optarg, enc, sizeof(enc));
            snprintf(query + ql, sizeof(query) - ql, "%s%s=%s", ql ? "&" : "",
                     o == O_STATE ? "state" : o == O_NAME ? "name" : "limit", enc);
            break;
        }
        case O_ERRORS: snprintf(query + ql, sizeof(query) - ql, "%serror=true", ql ? "&" : ""); break;
        case O_COUNT: count = atol(optarg); break;
        case O_FOR:
            if (sp_parse_duration_ms(optarg, &for_ms)) {
                fprintf(stderr, "spindlectl: --for '%s': expected a duration (10s, 1m)\n", optarg);
                return 2;
            }
            break;
        case 'h':
        case O_HELP: fputs(usage, stdout); return 0;
        default:
            fprintf(stderr, "spindlectl: unknown option or missing value: '%s'\n%s",
                    argv[optind - 1], usage);
            return 2;
        }
    }
    if (optind >= argc) {
        fputs(usage, stderr);
        return 2;
    }
    const char *cmd = argv[optind++];
    /* Options may also follow the command (workflows --state open); emit's
     * arguments are all key=value. */
    for (int i = optind; i < argc;) {
        if (strncmp(argv[i], "--", 2) != 0 || strcmp(cmd, "emit") == 0) {
            i++;
            continue;
        }
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        size_t ql = strlen(query);
        int took = 2;
        if (strcmp(a, "--json") == 0) {
            c.json = 1;
            took = 1;
        } else if (strcmp(a, "--errors") == 0) {
            snprintf(query + ql, sizeof(query) - ql, "%serror=true", ql ? "&" : "");
            took = 1;
        } else if (v && (strcmp(a, "--state") == 0 || strcmp(a, "--name") == 0 ||
                         strcmp(a, "--limit") == 0)) {
            char enc[400];
            pct_encode(v, enc, sizeof(enc));
            snprintf(query + ql, sizeof(query) - ql, "%s%s=%s", ql ? "&" : "", a + 2, enc);
        } else if (v && strcmp(a, "--count") == 0) {
            count = atol(v);
        } else if (v && strcmp(a, "--for") == 0) {
            if (sp_parse_duration_ms(v, &for_ms)) {
                fprintf(stderr, "spindlectl: --for '%s': expected a duration (10s, 1m)\n", v);
                return 2;
            }
        } else if (v && (strcmp(a, "--socket") == 0 || strcmp(a, "--config") == 0 ||
                         strcmp(a, "--http-listen") == 0)) {
            if (a[2] == 's') {
                f.socket = v;
            } else if (a[2] == 'c') {
                f.config = v;
            } else {
                f.http_listen = v;
            }
        } else {
            fprintf(stderr, "spindlectl: %s: unknown option or missing value '%s'\n", cmd, a);
            return 2;
        }
        memmove(&argv[i], &argv[i + took], sizeof(char *) * (size_t)(argc - i - took));
        argc -= took;
    }
    char err[1024];
    if (sp_config_build(&c.cfg, &f, sp_env_get, err, sizeof(err))) {
        fprintf(stderr, "spindlectl: %s\n", err);
        return 2;
    }
    c.admin = strcmp(c.cfg.admin_listen, "off") == 0 ? NULL : c.cfg.admin_listen;
    int rest = argc - optind;
    int rc;
    if (strcmp(cmd, "status") == 0 && rest == 0) {
        rc = cmd_status(&c);
    } else if (strcmp(cmd, "workflows") == 0 && rest == 0) {
        rc = cmd_workflows(&c, query);
    } else if (strcmp(cmd, "workflow") == 0 && rest == 1) {
        rc = cmd_workflow(&c, argv[optind]);
    } else if (strcmp(cmd, "alerts") == 0 && rest == 0) {
        rc = cmd_alerts(&c);
    } else if (strcmp(cmd, "emit") == 0 && rest >= 1) {
        rc = cmd_emit(&c, rest, argv + optind);
    } else if (strcmp(cmd, "tail") == 0 && rest == 0) {
        rc = cmd_tail(&c, count, for_ms);
    } else if (strcmp(cmd, "demo") == 0 && rest == 0) {
        rc = cmd_demo(&c, count);
    } else {
        fprintf(stderr, "spindlectl: '%s': unknown command or wrong arguments\n%s", cmd, usage);
        rc = 2;
    }
    sp_config_free(&c.cfg);
    return rc;
}
