/*
 * dsd_parse.h - the DogStatsD line format, parsed in place: metrics
 * (`name:value|type|@rate|#tag:v,tag`), events (`_e{len,len}:title|text|...`)
 * and service checks (`_sc|name|status|...`). A leaf: it depends only on lib/,
 * so the door (agent/door.c) can read a journaled datagram again on replay.
 *
 * Strings point into the line, or into the caller's arena (tag lists); both
 * must outlive the result.
 */
#ifndef DSD_PARSE_H
#define DSD_PARSE_H

#include <stddef.h>
#include <stdint.h>

#include "arena.h"
#include "model.h"

/* Why a line was refused; counted as statsd.<name> in --stats. */
#define DSD_REASONS(X)                                                                          \
    X(BAD_LINE, bad_line)         /* no name, no value, no type: not DogStatsD */               \
    X(UNKNOWN_TYPE, unknown_type) /* a metric type other than c g ms h d s */                   \
    X(BAD_VALUE, bad_value)       /* not a finite number (or a bad sample rate) */              \
    X(BAD_UTF8, bad_utf8)         /* a name, tag or text that is not UTF-8 */

enum dsd_reason {
    DSD_OK = 0,
#define X(E, s) DSD_R_##E,
    DSD_REASONS(X)
#undef X
    DSD_R_COUNT
};

const char *dsd_reason_name(int reason);

enum dsd_kind { DSD_METRIC, DSD_EVENT, DSD_SERVICE_CHECK };
enum dsd_type { DSD_COUNTER, DSD_GAUGE, DSD_TIMER, DSD_HISTOGRAM, DSD_DISTRIBUTION, DSD_SET };

struct dsd_line {
    uint8_t kind;           /* enum dsd_kind */
    uint8_t type;           /* enum dsd_type (metrics) */
    struct sp_str name;     /* metric name, event title, service check name */
    double value;           /* metrics except sets */
    struct sp_str member;   /* a set's member, as sent */
    double rate;            /* sample rate, (0, 1]; 1 when not sent */
    struct sp_attrs tags;   /* attributes: every tag but the ones below */
    /* Unified service tags (the resource) and the workflow link. */
    struct sp_str service, env, version, cid;
    /* events and service checks */
    struct sp_str text;     /* event text, service check message (m:) */
    struct sp_str alert_type; /* event t: (info, warning, error, success) */
    struct sp_str priority, host, source;
    int status;             /* service check: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN */
    int64_t ts_s;           /* d: timestamp, seconds; 0 none */
};

/* One line without its newline. `max_tags` caps the attributes (the excess
 * is counted in tags.dropped). A tag `process.pid` is dropped: the pid is
 * never a metric dimension. DSD_OK or a reason. */
int dsd_parse_line(const char *p, size_t n, struct sp_arena *a, uint32_t max_tags,
                   struct dsd_line *out);

#endif
