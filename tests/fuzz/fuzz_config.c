/*
 * fuzz_config.c - libFuzzer target for the configuration loader, alert rules
 * included (YAML events, rule merging by name, the rule checks). The same
 * entry point replays tests/fuzz/corpus_config/ as a unit test
 * (test_replay_config), so every input the fuzzer kept stays a regression test.
 *
 * Build and run (clang):
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -D_GNU_SOURCE -Iagent -Ilib -Ialert \
 *     tests/fuzz/fuzz_config.c agent/config.c alert/alert_config.c lib/units.c lib/url.c lib/log.c \
 *     -lyaml -lm -o /tmp/fuzz_config
 *   /tmp/fuzz_config -max_total_time=120 tests/fuzz/corpus_config
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "alert.h"
#include "config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct sp_config c;
    char err[512] = "";
    sp_config_defaults(&c);
    int rc = sp_config_load_yaml(&c, "fuzz.yaml", (const char *)data, size, err, sizeof(err));
    if (rc == 0) {
        rc = sp_config_finish(&c, err, sizeof(err));
    }
    /* Invariants the running agent relies on. */
    if (rc != 0 && err[0] == 0) {
        __builtin_trap(); /* every refusal says why */
    }
    if (rc == 0) {
        for (size_t i = 0; i < c.n_alert_rules; i++) {
            const struct alert_rule *r = &c.alert_rules[i];
            if (r->signal < 0 || r->signal >= ALERT_SIG_COUNT || r->scope < 0 ||
                r->scope > ALERT_SCOPE_AGENT || r->cond < 0 || r->cond > ALERT_COND_ANY ||
                r->name == NULL || r->severity == NULL || r->hyst_n > 32 ||
                r->hyst_m > r->hyst_n || (r->cond == ALERT_COND_RATIO && r->denominator < 0) ||
                (r->scope != ALERT_SCOPE_WORKFLOW && r->window_ms == 0)) {
                __builtin_trap();
            }
        }
        if (c.n_alert_rules > 64 || c.n_alertmanager_urls > 8) {
            __builtin_trap();
        }
    }
    sp_config_free(&c);
    return 0;
}
