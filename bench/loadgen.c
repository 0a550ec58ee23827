/*
 * loadgen.c - drives a running spindle over its socket and reports what each
 * record cost the agent: records/s and CPU microseconds per record, the CPU
 * read from /proc/<pid>/stat (utime + stime) before and after the run.
 *
 * usage: loadgen SOCKET AGENT_PID [RECORDS] [CLIENTS] [MIX]
 *   MIX: logs (default) | spans | metrics | mixed | events (lifecycle: the alert engine's input)
 *        | powertools (lines without a type: Powertools' JSON log format)
 * Each client writes its records in 64 KiB writes, then sends a flush and
 * waits for the ack, so the run ends when the agent has handled everything.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

struct job {
    const char *path;
    long records;
    int id;
    const char *mix;
    long accepted;
};

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double cpu_s(long pid)
{
    char p[64], buf[1024];
    snprintf(p, sizeof(p), "/proc/%ld/stat", pid);
    FILE *f = fopen(p, "r");
    if (f == NULL || fgets(buf, sizeof(buf), f) == NULL) {
        if (f) {
            fclose(f);
        }
        return -1;
    }
    fclose(f);
    char *s = strrchr(buf, ')');
    unsigned long ut = 0, st = 0;
    /* fields after ")": state(3) ... utime(14) stime(15) */
    sscanf(s + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &st);
    return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

static int one(char *dst, size_t cap, const struct job *j, long i)
{
    int wf = (int)(i / 8);
    const char *m = j->mix;
    int kind = strcmp(m, "spans") == 0     ? 1
               : strcmp(m, "metrics") == 0 ? 2
               : strcmp(m, "mixed") == 0   ? (int)(i % 3)
               : strcmp(m, "events") == 0  ? 3
               : strcmp(m, "powertools") == 0 ? 4
                                           : 0;
    switch (kind) {
    case 3: {
        /* Per 8 records: a workflow of two invocations, the second a retry,
         * one throttle; a cold start every 4th workflow. */
        static const char *const ev[8] = {"invocation_start", "cold_start", "invocation_end",
                                          "throttle", "invocation_start", "retry",
                                          "invocation_end", "dead_letter"};
        int k = (int)(i % 8);
        int inv = k < 4 ? 1 : 2;
        if (k == 1 && wf % 4) {
            k = 3; /* no cold start: another throttle */
        }
        if (k == 7 && wf % 64) {
            k = 3; /* a dead letter only now and then */
        }
        return snprintf(dst, cap,
                        "{\"type\":\"event\",\"name\":\"%s\",\"correlation_id\":\"c%d-%d\","
                        "\"invocation_id\":\"i%d-%d\",\"function\":\"fn%d\",\"attempt\":%d,"
                        "\"cold_start\":%s,\"init_duration_ms\":120,\"status\":\"ok\","
                        "\"queue\":\"dlq%d\"}\n",
                        ev[k], j->id, wf, wf, inv, wf % 16, inv, k == 0 && wf % 4 == 0 ? "true" : "false",
                        wf % 4);
    }
    case 4:
        return snprintf(dst, cap,
                        "{\"level\":\"INFO\",\"message\":\"processed item %ld\","
                        "\"timestamp\":\"2025-03-01T12:00:00.010Z\",\"service\":\"orders\","
                        "\"cold_start\":false,\"function_name\":\"fn%d\","
                        "\"function_request_id\":\"i%d\",\"correlation_id\":\"c%d-%d\","
                        "\"item\":%ld}\n",
                        i, wf % 16, wf, j->id, wf, i);
    case 1:
        return snprintf(dst, cap,
                        "{\"type\":\"span\",\"correlation_id\":\"c%d-%d\",\"invocation_id\":\"i%d\","
                        "\"function\":\"fn%d\",\"name\":\"db.query\",\"start\":1700000000.%03ld,"
                        "\"duration_ms\":3.5,\"attributes\":{\"db.system\":\"postgresql\","
                        "\"rows\":%ld}}\n",
                        j->id, wf, wf, wf % 16, i % 1000, i % 100);
    case 2:
        return snprintf(dst, cap,
                        "{\"type\":\"metric\",\"name\":\"orders.total\",\"kind\":\"counter\","
                        "\"value\":1,\"function\":\"fn%d\",\"correlation_id\":\"c%d-%d\","
                        "\"attributes\":{\"region\":\"eu-%ld\"}}\n",
                        wf % 16, j->id, wf, i % 4);
    default:
        return snprintf(dst, cap,
                        "{\"type\":\"log\",\"correlation_id\":\"c%d-%d\",\"invocation_id\":\"i%d\","
                        "\"function\":\"fn%d\",\"severity\":\"info\",\"body\":\"processed item "
                        "%ld of the batch\",\"attributes\":{\"item\":%ld,\"ok\":true}}\n",
                        j->id, wf, wf, wf % 16, i, i);
    }
}

static void write_all(int fd, const char *p, size_t len)
{
    for (size_t off = 0; off < len;) {
        ssize_t w = write(fd, p + off, len - off);
        if (w < 0) {
            perror("write");
            exit(1);
        }
        off += (size_t)w;
    }
}

static void *client(void *arg)
{
    struct job *j = arg;
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", j->path);
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
        perror("connect");
        exit(1);
    }
    static __thread char buf[65536];
    size_t len = 0;
    for (long i = 0; i < j->records; i++) {
        if (len + 1024 > sizeof(buf)) {
            write_all(fd, buf, len);
            len = 0;
        }
        len += (size_t)one(buf + len, sizeof(buf) - len, j, i);
    }
    len += (size_t)snprintf(buf + len, sizeof(buf) - len, "{\"type\":\"flush\",\"id\":\"end\"}\n");
    write_all(fd, buf, len);
    char ack[512];
    ssize_t n = read(fd, ack, sizeof(ack) - 1);
    if (n > 0) {
        ack[n] = 0;
        char *a = strstr(ack, "\"accepted\":");
        j->accepted = a ? atol(a + 11) : -1;
    }
    close(fd);
    return NULL;
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: loadgen SOCKET AGENT_PID [RECORDS] [CLIENTS] [MIX]\n");
        return 2;
    }
    long pid = atol(argv[2]);
    long records = argc > 3 ? atol(argv[3]) : 1000000;
    int clients = argc > 4 ? atoi(argv[4]) : 1;
    const char *mix = argc > 5 ? argv[5] : "logs";
    struct job jobs[64];
    pthread_t th[64];
    if (clients < 1 || clients > 64) {
        return 2;
    }
    double c0 = cpu_s(pid), t0 = now_s();
    for (int i = 0; i < clients; i++) {
        jobs[i] = (struct job){.path = argv[1], .records = records / clients, .id = i, .mix = mix};
        pthread_create(&th[i], NULL, client, &jobs[i]);
    }
    long accepted = 0;
    for (int i = 0; i < clients; i++) {
        pthread_join(th[i], NULL);
        accepted += jobs[i].accepted;
    }
    double t1 = now_s(), c1 = cpu_s(pid);
    long total = (records / clients) * clients;
    printf("mix=%s records=%ld accepted=%ld clients=%d wall_s=%.3f records_per_s=%.0f "
           "agent_cpu_s=%.3f agent_cpu_us_per_record=%.3f\n",
           mix, total, accepted, clients, t1 - t0, (double)total / (t1 - t0), c1 - c0,
           (c1 - c0) * 1e6 / (double)total);
    return accepted == total ? 0 : 1;
}
