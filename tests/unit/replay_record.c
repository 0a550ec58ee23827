/*
 * replay_record.c - runs every file of a fuzz corpus (CORPUS_DIR) through
 * the fuzz target's entry point linked in (which traps on a broken
 * invariant); under the sanitizer build it also catches memory errors. A
 * regression test per input the fuzzer kept. Built once per target:
 * REPLAY_NAME names the test (test_replay_record, test_replay_config).
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

/* One replay program serves every fuzz target: the build names the corpus,
 * the report and how many inputs the corpus must at least hold. */
#ifndef REPORT_NAME
#define REPORT_NAME "test_replay_record"
#endif
#ifndef MIN_INPUTS
#define MIN_INPUTS 10
#endif

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

int main(int argc, char **argv)
{
    const char *dir = argc > 1 ? argv[1] : CORPUS_DIR;
    DIR *d = opendir(dir);
    CHECK(d != NULL);
    if (d == NULL) {
        return th_report(REPORT_NAME);
    }
    struct dirent *e;
    int n = 0;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.') {
            continue;
        }
        char path[4096];
        snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
        FILE *f = fopen(path, "rb");
        if (f == NULL) {
            continue;
        }
        static unsigned char buf[1 << 20];
        size_t len = fread(buf, 1, sizeof(buf), f);
        fclose(f);
        LLVMFuzzerTestOneInput(buf, len);
        n++;
        CHECK(1); /* reached: the input neither trapped nor crashed */
    }
    closedir(d);
    CHECK(n >= MIN_INPUTS);
    return th_report(REPORT_NAME);
}
