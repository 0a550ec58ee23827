/*
 * lambda_startup.c - extension mode's start-up cost (issue 12): time from
 * exec to the Extensions API receiving spindle's register request. Listens
 * on a loopback port as the API, forks and execs spindle with
 * AWS_LAMBDA_RUNTIME_API pointing at it, and stamps the moment the request
 * line "POST /2020-01-01/extension/register" has arrived.
 * usage: lambda_startup SOCKET RUNS spindle-binary [args...]; prints the median.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
    if (argc < 4) {
        fprintf(stderr, "usage: lambda_startup SOCKET RUNS spindle [args...]\n");
        return 2;
    }
    int runs = atoi(argv[2]);
    double *t = calloc((size_t)runs, sizeof(double));
    int ls = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t sl = sizeof(sa);
    if (bind(ls, (struct sockaddr *)&sa, sizeof(sa)) || listen(ls, 16) ||
        getsockname(ls, (struct sockaddr *)&sa, &sl)) {
        perror("listen");
        return 1;
    }
    char api[64];
    snprintf(api, sizeof(api), "127.0.0.1:%d", ntohs(sa.sin_port));
    setenv("AWS_LAMBDA_RUNTIME_API", api, 1);
    for (int i = 0; i < runs; i++) {
        unlink(argv[1]);
        double t0 = now_ms();
        pid_t pid = fork();
        if (pid == 0) {
            execv(argv[3], argv + 3);
            _exit(127);
        }
        int c = accept(ls, NULL, NULL);
        char buf[4096];
        size_t len = 0;
        while (len < sizeof(buf) - 1) {
            ssize_t n = read(c, buf + len, sizeof(buf) - 1 - len);
            if (n <= 0) {
                break;
            }
            len += (size_t)n;
            buf[len] = '\0';
            if (strstr(buf, "POST /2020-01-01/extension/register")) {
                break;
            }
        }
        t[i] = now_ms() - t0;
        close(c);
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
    }
    qsort(t, (size_t)runs, sizeof(double), cmp);
    printf("exec -> register request received: median %.2f ms, min %.2f ms, max %.2f ms (%d runs)\n",
           t[runs / 2], t[0], t[runs - 1], runs);
    return 0;
}
