/*
 * launcher.c - extensions/spindle in the Lambda layer. Lambda starts every
 * file in /opt/extensions with no arguments; this one runs the bundled
 * binary through the bundled loader, so glibc and every library are the
 * layer's own whatever the function's image has (Amazon Linux 2023 has glibc
 * 2.34; the binary is built against Debian 12's 2.36):
 *
 *     <layer>/spindle/lib/ld-linux-x86-64.so.2 --library-path <layer>/spindle/lib
 *         <layer>/spindle/bin/spindle --config ${SPINDLE_CONFIG:-<layer>/spindle/spindle.yaml} ARGS...
 *
 * Why C and static, not a shell script: /bin/sh before the loader cost about
 * 5 ms of the start-up to the register request (docs/lambda.md, "Start-up
 * cost"), which Lambda adds to every cold start; a static binary with no
 * loader of its own goes straight to exec. <layer> is found from
 * /proc/self/exe, so the layer works unpacked anywhere (tests unpack it in a
 * temporary folder). Built by packaging/lambda/build-layer.sh.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_ARGS 256

int main(int argc, char **argv)
{
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
    if (n <= 0) {
        fprintf(stderr, "spindle launcher: /proc/self/exe: %s\n", strerror(errno));
        return 127;
    }
    exe[n] = '\0';
    char *slash = strrchr(exe, '/');
    *slash = '\0'; /* <layer>/extensions */
    char loader[PATH_MAX], libdir[PATH_MAX], bin[PATH_MAX], cfg[PATH_MAX];
    if (snprintf(loader, sizeof(loader), "%s/../spindle/lib/ld-linux-x86-64.so.2", exe) >=
            (int)sizeof(loader) ||
        snprintf(libdir, sizeof(libdir), "%s/../spindle/lib", exe) >= (int)sizeof(libdir) ||
        snprintf(bin, sizeof(bin), "%s/../spindle/bin/spindle", exe) >= (int)sizeof(bin) ||
        snprintf(cfg, sizeof(cfg), "%s/../spindle/spindle.yaml", exe) >= (int)sizeof(cfg)) {
        fprintf(stderr, "spindle launcher: path too long: %s\n", exe);
        return 127;
    }
    const char *conf = getenv("SPINDLE_CONFIG");
    if (argc > MAX_ARGS - 8) {
        fprintf(stderr, "spindle launcher: too many arguments (%d)\n", argc);
        return 127;
    }
    char *args[MAX_ARGS];
    int k = 0;
    args[k++] = loader;
    args[k++] = (char *)"--library-path";
    args[k++] = libdir;
    args[k++] = bin;
    args[k++] = (char *)"--config";
    args[k++] = conf && *conf ? (char *)conf : cfg;
    for (int i = 1; i < argc; i++) {
        args[k++] = argv[i];
    }
    args[k] = NULL;
    execv(loader, args);
    fprintf(stderr, "spindle launcher: %s: %s\n", loader, strerror(errno));
    return 127;
}
