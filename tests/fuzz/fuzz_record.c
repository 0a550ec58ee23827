/*
 * fuzz_record.c - libFuzzer target for the record parser (JSON, UTF-8,
 * acceptance table). The same entry point replays tests/fuzz/corpus_record/
 * as a unit test (replay_record.c), so every input the fuzzer ever found
 * interesting stays a regression test.
 *
 * Build and run (clang):
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -D_GNU_SOURCE -Iagent -Ilib -Ialert \
 *     tests/fuzz/fuzz_record.c agent/record.c lib/json.c lib/ids.c lib/arena.c \
 *     -lcrypto -lm -o /tmp/fuzz_record
 *   /tmp/fuzz_record -max_total_time=60 tests/fuzz/corpus_record
 */
#include <stddef.h>
#include <stdint.h>

#include "arena.h"
#include "record.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const struct sp_record_limits lim = {.max_attributes = 8, .max_attr_value_bytes = 64};
    struct sp_arena a;
    struct sp_record r;
    const char *field;
    sp_arena_init(&a, 4096);
    int rc = sp_record_parse((const char *)data, size, &a, &lim, 1, &r, &field);
    /* Invariants a caller relies on. */
    if (rc < 0 || rc >= SP_R_COUNT) {
        __builtin_trap();
    }
    if (rc == SP_R_OK && r.attrs.n > lim.max_attributes) {
        __builtin_trap();
    }
    if (rc == SP_R_OK && r.type == SP_REC_SPAN && r.end_ns < r.start_ns) {
        __builtin_trap();
    }
    sp_arena_free(&a);
    return 0;
}
