/*
 * startup.c - time from exec to a connectable socket: forks, execs spindle
 * with the given arguments, and tries to connect every 50 us until it works.
 * usage: startup SOCKET RUNS spindle-binary [args...]; prints the median.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <fcntl.h>
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
        fprintf(stderr, "usage: startup SOCKET RUNS BINARY [ARGS...]\n");
        return 2;
    }
    int runs = atoi(argv[2]);
    double *t = calloc((size_t)runs, sizeof(double));
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", argv[1]);
    for (int i = 0; i < runs; i++) {
        unlink(argv[1]);
        double t0 = now_ms();
        pid_t pid = fork();
        if (pid == 0) {
            int devnull = open("/dev/null", 1);
            dup2(devnull, 2);
            execv(argv[3], argv + 3);
            _exit(127);
        }
        for (;;) {
            int fd = socket(AF_UNIX, SOCK_STREAM, 0);
            if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0) {
                close(fd);
                break;
            }
            close(fd);
            usleep(50);
            if (now_ms() - t0 > 5000) {
                fprintf(stderr, "no socket after 5 s\n");
                return 1;
            }
        }
        t[i] = now_ms() - t0;
        kill(pid, SIGTERM);
        waitpid(pid, NULL, 0);
    }
    qsort(t, (size_t)runs, sizeof(double), cmp);
    printf("exec_to_socket_ms median=%.2f min=%.2f max=%.2f runs=%d\n", t[runs / 2], t[0],
           t[runs - 1], runs);
    return 0;
}
