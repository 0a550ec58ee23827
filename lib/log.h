/*
 * log.h - the agent's own log: structured lines on stderr (logfmt or JSON),
 * levels, and per-call-site rate limiting of repeats.
 *
 * The logger is the one process-wide object in spindle: stderr is too. Its
 * settings are written once at start-up (and on reload) from the loop thread.
 *
 * Callers give a message and a logfmt fragment of fields ("reason=%s pid=%d");
 * in JSON mode the fragment is rewritten as JSON members.
 */
#ifndef SP_LOG_H
#define SP_LOG_H

#include <stdint.h>

enum sp_log_level { SP_LOG_DEBUG = 0, SP_LOG_INFO, SP_LOG_WARN, SP_LOG_ERROR, SP_LOG_OFF };

/* Per call site: at most SP_LOG_RATE_BURST lines per SP_LOG_RATE_WINDOW_MS,
 * then suppressed and counted; the next line that passes reports the count. */
struct sp_ratelimit {
    uint64_t window_start_ms;
    uint32_t in_window;
    uint32_t suppressed;
};

void sp_log_setup(int level, int json);
int sp_log_level_parse(const char *s); /* -1 when unknown */
int sp_log_enabled(int level);
void sp_logf(int level, struct sp_ratelimit *rl, const char *msg, const char *fields, ...)
    __attribute__((format(printf, 4, 5)));

#define SP_LOG(level, msg, ...) sp_logf((level), NULL, (msg), __VA_ARGS__)
/* Rate-limited: one limiter per expansion site. */
#define SP_LOG_RL(level, msg, ...)                                                              \
    do {                                                                                        \
        static struct sp_ratelimit rl_;                                                         \
        sp_logf((level), &rl_, (msg), __VA_ARGS__);                                             \
    } while (0)

#endif
