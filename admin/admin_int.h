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

/* A closed workflow as the API shows it, kept after the correlator emptied
 * it: its summary and detail as JSON, rendered at close. */
struct recent_wf {
    char *cid;                 /* malloc'ed, NUL-terminated */
    size_t cid_len;
    char *name;                /* malloc'ed */
    int error;
    char *summary;             /* JSON object without its last field (age_s) and '}' */
    uint64_t first_ns;         /* for age_s */
    char *detail;              /* JSON object, malloc'ed */
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
};

void sp_admin_recent_free(struct sp_admin *ad);
/* The status page (page.c, generated at build time from admin/page/). */
extern const char sp_admin_page_html[];
extern const unsigned sp_admin_page_html_len;

#endif
