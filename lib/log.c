/*
 * log.c - structured stderr logging with per-site rate limits. See log.h.
 */
#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "caps.h"

static int log_level = SP_LOG_INFO;
static int log_json;

void sp_log_setup(int level, int json)
{
    log_level = level;
    log_json = json;
}

int sp_log_enabled(int level)
{
    return level >= log_level;
}

int sp_log_level_parse(const char *s)
{
    static const char *names[] = {"debug", "info", "warn", "error", "off"};
    for (int i = 0; i < 5; i++) {
        if (strcasecmp(s, names[i]) == 0) {
            return i;
        }
    }
    if (strcasecmp(s, "warning") == 0) {
        return SP_LOG_WARN;
    }
    return -1;
}

static uint64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static size_t put(char *dst, size_t off, size_t cap, const char *s, size_t n)
{
    if (off + n >= cap) {
        n = off < cap - 1 ? cap - 1 - off : 0;
    }
    memcpy(dst + off, s, n);
    return off + n;
}

/* JSON string body (no quotes) of a logfmt value. */
static size_t put_json_esc(char *dst, size_t off, size_t cap, const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        char esc[8];
        size_t el = 1;
        esc[0] = c;
        if (c == '"' || c == '\\') {
            esc[0] = '\\';
            esc[1] = c;
            el = 2;
        } else if ((unsigned char)c < 0x20) {
            el = (size_t)snprintf(esc, sizeof(esc), "\\u%04x", (unsigned char)c);
        }
        off = put(dst, off, cap, esc, el);
    }
    return off;
}

/* Rewrites `k=v k2="v 2"` as `,"k":"v","k2":"v 2"`. Values stay strings:
 * readers of agent logs parse numbers themselves. */
static size_t fields_to_json(char *dst, size_t off, size_t cap, const char *f)
{
    const char *p = f;
    while (*p) {
        while (*p == ' ') {
            p++;
        }
        const char *k = p;
        while (*p && *p != '=' && *p != ' ') {
            p++;
        }
        size_t kl = (size_t)(p - k);
        if (kl == 0) {
            break;
        }
        const char *v = p;
        size_t vl = 0;
        int quoted = 0;
        if (*p == '=') {
            p++;
            if (*p == '"') {
                quoted = 1;
                v = ++p;
                while (*p && !(*p == '"' && p[-1] != '\\')) {
                    p++;
                }
                vl = (size_t)(p - v);
                if (*p) {
                    p++;
                }
            } else {
                v = p;
                while (*p && *p != ' ') {
                    p++;
                }
                vl = (size_t)(p - v);
            }
        }
        off = put(dst, off, cap, ",\"", 2);
        off = put_json_esc(dst, off, cap, k, kl);
        off = put(dst, off, cap, "\":\"", 3);
        if (quoted) {
            /* Undo logfmt's \" escapes before JSON-escaping. */
            for (size_t i = 0; i < vl; i++) {
                if (v[i] == '\\' && i + 1 < vl && v[i + 1] == '"') {
                    continue;
                }
                off = put_json_esc(dst, off, cap, v + i, 1);
            }
        } else {
            off = put_json_esc(dst, off, cap, v, vl);
        }
        off = put(dst, off, cap, "\"", 1);
    }
    return off;
}

void sp_logf(int level, struct sp_ratelimit *rl, const char *msg, const char *fields, ...)
{
    static const char *names[] = {"debug", "info", "warn", "error"};
    if (level < log_level || level >= SP_LOG_OFF) {
        return;
    }
    uint32_t suppressed = 0;
    if (rl) {
        uint64_t now = mono_ms();
        if (rl->window_start_ms == 0 || now - rl->window_start_ms >= SP_LOG_RATE_WINDOW_MS) {
            rl->window_start_ms = now;
            rl->in_window = 0;
        }
        if (rl->in_window >= SP_LOG_RATE_BURST) {
            rl->suppressed++;
            return;
        }
        rl->in_window++;
        suppressed = rl->suppressed;
        rl->suppressed = 0;
    }

    char fbuf[SP_LOG_LINE_MAX];
    fbuf[0] = 0;
    if (fields && *fields) {
        va_list ap;
        va_start(ap, fields);
        vsnprintf(fbuf, sizeof(fbuf), fields, ap);
        va_end(ap);
    }

    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    char tbuf[64];
    snprintf(tbuf, sizeof(tbuf), "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ", tm.tm_year + 1900,
             tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000);

    char line[SP_LOG_LINE_MAX + 256];
    size_t cap = sizeof(line) - 1; /* room for the newline */
    size_t off = 0;
    if (log_json) {
        off = put(line, off, cap, "{\"ts\":\"", 7);
        off = put(line, off, cap, tbuf, strlen(tbuf));
        off = put(line, off, cap, "\",\"level\":\"", 11);
        off = put(line, off, cap, names[level], strlen(names[level]));
        off = put(line, off, cap, "\",\"msg\":\"", 9);
        off = put_json_esc(line, off, cap, msg, strlen(msg));
        off = put(line, off, cap, "\"", 1);
        off = fields_to_json(line, off, cap, fbuf);
        if (suppressed) {
            char s[48];
            int n = snprintf(s, sizeof(s), ",\"suppressed\":\"%u\"", suppressed);
            off = put(line, off, cap, s, (size_t)n);
        }
        off = put(line, off, cap, "}", 1);
    } else {
        char head[128];
        int n = snprintf(head, sizeof(head), "ts=%s level=%s msg=\"", tbuf, names[level]);
        off = put(line, off, cap, head, (size_t)n);
        for (const char *m = msg; *m; m++) {
            if (*m == '"' || *m == '\\') {
                off = put(line, off, cap, "\\", 1);
            }
            off = put(line, off, cap, m, 1);
        }
        off = put(line, off, cap, "\"", 1);
        if (fbuf[0]) {
            off = put(line, off, cap, " ", 1);
            off = put(line, off, cap, fbuf, strlen(fbuf));
        }
        if (suppressed) {
            char s[48];
            n = snprintf(s, sizeof(s), " suppressed=%u", suppressed);
            off = put(line, off, cap, s, (size_t)n);
        }
    }
    line[off++] = '\n';
    /* One write per line so concurrent writers to the same stderr do not interleave. */
    ssize_t w = write(STDERR_FILENO, line, off);
    (void)w;
}
