/*
 * ids.c - id derivation and parsing. See ids.h.
 *
 * SHA-256 (libcrypto, crypto.h) for the derivation: every language has it, so agents
 * written in anything can agree on a workflow's ids; prefixes keep the three
 * derivations apart and the "v1" pins the function forever.
 */
#include "ids.h"

#include "crypto.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#define PREFIX_TRACE "spindle/v1/trace"
#define PREFIX_WORKFLOW "spindle/v1/workflow"
#define PREFIX_INVOCATION "spindle/v1/invocation"

/* SHA-256 of prefix NUL a [NUL b] (the prefix's own NUL is the first
 * separator), first outlen bytes; all zero (invalid in OTLP) becomes ...01. */
static void derive(const char *prefix, const char *a, size_t an, const char *b, size_t bn,
                   int with_b, uint8_t *out, size_t outlen)
{
    uint8_t md[SP_SHA256_LEN];
    const struct sp_iov parts[] = {
        {prefix, strlen(prefix) + 1}, {a, an}, {"", with_b ? 1 : 0}, {b, with_b ? bn : 0}};
    if (sp_sha256(parts, 4, md) != 0) {
        /* Out of memory, or no libcrypto (the agent does not start without
         * it, see agent.c): the fallback id below. */
        memset(md, 0, sizeof(md));
    }
    memcpy(out, md, outlen);
    if (sp_id_is_zero(out, outlen)) {
        out[outlen - 1] = 1;
    }
}

void sp_id_trace(const char *cid, size_t n, uint8_t out[16])
{
    derive(PREFIX_TRACE, cid, n, NULL, 0, 0, out, 16);
}

void sp_id_workflow_span(const char *cid, size_t n, uint8_t out[8])
{
    derive(PREFIX_WORKFLOW, cid, n, NULL, 0, 0, out, 8);
}

void sp_id_invocation_span(const char *cid, size_t n, const char *inv, size_t m, uint8_t out[8])
{
    derive(PREFIX_INVOCATION, cid, n, inv, m, 1, out, 8);
}

int sp_id_is_zero(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (p[i]) {
            return 0;
        }
    }
    return 1;
}

static int hexval(char c, int lower_only)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    if (!lower_only && c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    return -1;
}

static int hex_into(const char *p, size_t n, uint8_t *out, int lower_only)
{
    for (size_t i = 0; i < n / 2; i++) {
        int hi = hexval(p[2 * i], lower_only), lo = hexval(p[2 * i + 1], lower_only);
        if (hi < 0 || lo < 0) {
            return -EINVAL;
        }
        out[i] = (uint8_t)(hi << 4 | lo);
    }
    return 0;
}

int sp_hex_decode(const char *p, size_t n, uint8_t *out, size_t len)
{
    if (n != 2 * len || hex_into(p, n, out, 0) || sp_id_is_zero(out, len)) {
        return -EINVAL;
    }
    return 0;
}

int sp_traceparent_parse(const char *p, size_t n, uint8_t trace_id[16], uint8_t parent_id[8])
{
    /* version "-" trace-id "-" parent-id "-" flags; later versions may append
     * "-..." fields, which we ignore as the W3C spec asks. */
    uint8_t ver, flags;
    if (n < 55 || p[2] != '-' || p[35] != '-' || p[52] != '-') {
        return -EINVAL;
    }
    if (hex_into(p, 2, &ver, 1) || ver == 0xff) {
        return -EINVAL;
    }
    if ((ver == 0 && n != 55) || (n > 55 && p[55] != '-')) {
        return -EINVAL;
    }
    if (hex_into(p + 3, 32, trace_id, 1) || hex_into(p + 36, 16, parent_id, 1) ||
        hex_into(p + 53, 2, &flags, 1)) {
        return -EINVAL;
    }
    if (sp_id_is_zero(trace_id, 16) || sp_id_is_zero(parent_id, 8)) {
        return -EINVAL;
    }
    return 0;
}

int sp_xray_parse(const char *p, size_t n, uint8_t trace_id[16], uint8_t parent_id[8],
                  int *has_parent)
{
    int have_root = 0;
    *has_parent = 0;
    size_t i = 0;
    while (i < n) {
        size_t j = i;
        while (j < n && p[j] != ';') {
            j++;
        }
        const char *f = p + i;
        size_t fl = j - i;
        while (fl && *f == ' ') {
            f++;
            fl--;
        }
        if (fl > 5 && memcmp(f, "Root=", 5) == 0) {
            /* 1-<8 hex epoch>-<24 hex random> */
            const char *r = f + 5;
            if (fl - 5 != 35 || r[0] != '1' || r[1] != '-' || r[10] != '-') {
                return -EINVAL;
            }
            if (hex_into(r + 2, 8, trace_id, 0) || hex_into(r + 11, 24, trace_id + 4, 0)) {
                return -EINVAL;
            }
            have_root = 1;
        } else if (fl > 7 && memcmp(f, "Parent=", 7) == 0) {
            if (sp_hex_decode(f + 7, fl - 7, parent_id, 8)) {
                return -EINVAL;
            }
            *has_parent = 1;
        }
        i = j + 1;
    }
    if (!have_root || sp_id_is_zero(trace_id, 16)) {
        return -EINVAL;
    }
    return 0;
}

void sp_rng_seed(struct sp_rng *r)
{
    if (getrandom(r->s, sizeof(r->s), 0) != (ssize_t)sizeof(r->s)) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        r->s[0] = (uint64_t)ts.tv_nsec * 0x9E3779B97F4A7C15ull ^ (uint64_t)ts.tv_sec;
        r->s[1] = (uint64_t)(uintptr_t)r ^ 0xD1B54A32D192ED03ull;
    }
    if (r->s[0] == 0 && r->s[1] == 0) {
        r->s[1] = 1;
    }
}

uint64_t sp_rng_next(struct sp_rng *r)
{
    /* xorshift128+: fast, and span ids need uniqueness, not secrecy. */
    uint64_t s1 = r->s[0];
    const uint64_t s0 = r->s[1];
    r->s[0] = s0;
    s1 ^= s1 << 23;
    r->s[1] = s1 ^ s0 ^ (s1 >> 17) ^ (s0 >> 26);
    return r->s[1] + s0;
}

void sp_rng_span_id(struct sp_rng *r, uint8_t out[8])
{
    uint64_t v;
    do {
        v = sp_rng_next(r);
    } while (v == 0);
    memcpy(out, &v, 8);
}
