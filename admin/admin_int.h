/*
 * admin_int.h - what the admin part's files share (not for other parts).
 */
#ifndef SP_ADMIN_INT_H
#define SP_ADMIN_INT_H

#include <stdint.h>

#include "admin.h"
#include "caps.h"

struct sp_http_server;
struct sp_http_request;

/* A closed workflow as the API lists it, copied as it closes into a slot
 * of fixed size (no allocation, a few hundred instructions per workflow:
 * the bench's one-record workflows close at the record rate). Its detail
 * (invocations, spans, events) is rendered only while someone watches the
 * API (SP_ADMIN_WATCH_MS), the only time it costs more. */
struct recent_wf {
    char cid[SP_MAX_CORRELATION_ID_BYTES];
    uint16_t cid_len;
    char name[64];                /* cut at 64 bytes */
    uint8_t name_len;
    uint8_t error;
    uint8_t trace_id[16];
    uint32_t invocations, retries, throttles, cold_starts, dead_letters, spans;
    uint64_t first_ns, last_ns;
    char *detail;                 /* JSON object, malloc'ed, or NULL */
};

struct sp_admin {
    struct spindle *sp;
    struct sp_http_server *srv;
    char address[160];
    /* The last SP_ADMIN_RECENT_WORKFLOWS closed workflows, a ring: the
     * newest at (head - 1). Owned here; bounded by count and by
     * SP_ADMIN_WORKFLOW_JSON_BYTES each. */
    struct recent_wf recent[SP_ADMIN_RECENT_WORKFLOWS];
    uint32_t head, n_recent;
    uint64_t watched_ms;             /* loop time of the last API or page request, 0 none */
    /* Accepted records for followers (GET /api/v1/records, spindlectl
     * tail): a ring of copies, bounded by count and bytes, filled only
     * while someone polled within SP_ADMIN_TAIL_IDLE_MS. Record number
     * tail_seq is at tail[tail_seq % SP_ADMIN_TAIL_RECORDS]. */
    struct {
        char *p;
        size_t n;
    } tail[SP_ADMIN_TAIL_RECORDS];
    uint64_t tail_first, tail_next;  /* records kept: [tail_first, tail_next) */
    size_t tail_bytes;
    uint64_t tail_polled_ms;         /* loop time of the last poll */
};

void sp_admin_recent_free(struct sp_admin *ad);
void sp_admin_tail_free(struct sp_admin *ad);
/* The status page (page.c, generated at build time from admin/page/). */
extern const char sp_admin_page_html[];
extern const unsigned sp_admin_page_html_len;

#endif
