/*
 * stats.c - counters as one JSON object. See stats.h.
 */
#include "stats.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "caps.h"

int sp_stats_json(const struct sp_stats *s, struct sp_str id, uint64_t uptime_s,
                  struct sp_buf *out)
{
    int rc = 0;
    rc |= sp_buf_adds(out, "{\"stats\":");
    rc |= sp_buf_add_json_str(out, id.p, id.len);
    rc |= sp_buf_printf(out,
                        ",\"version\":\"%s\",\"uptime_s\":%" PRIu64 ",\"records\":{\"accepted\":%" PRIu64
                        ",\"rejected\":%" PRIu64 "},\"rejected\":{",
                        SP_VERSION, uptime_s, s->accepted, s->rejected_total);
    for (int r = 1; r < SP_R_COUNT; r++) {
        rc |= sp_buf_printf(out, "%s\"%s\":%" PRIu64, r > 1 ? "," : "", sp_reason_name(r),
                            s->rejected[r]);
    }
    rc |= sp_buf_addc(out, '}');
    const char *group = NULL;
#define X(g, f, n)                                                                              \
    if (group == NULL || strcmp(group, #g) != 0) {                                              \
        rc |= sp_buf_printf(out, "%s\"%s\":{", group ? "}," : ",", #g);                         \
        group = #g;                                                                             \
    } else {                                                                                    \
        rc |= sp_buf_addc(out, ',');                                                            \
    }                                                                                           \
    rc |= sp_buf_printf(out, "\"%s\":%" PRIu64, n, s->f);
    SP_STATS_FIELDS(X)
#undef X
    rc |= sp_buf_addc(out, '}');
    if (s->admin_address) {
        rc |= sp_buf_adds(out, ",\"admin\":");
        rc |= sp_buf_add_json_str(out, s->admin_address, strlen(s->admin_address));
    }
    rc |= sp_buf_adds(out, ",\"listeners\":{");
    for (int i = 0; i < s->n_listeners; i++) {
        rc |= sp_buf_printf(out, "%s\"%s\":", i ? "," : "", s->listeners[i].name);
        rc |= sp_buf_add_json_str(out, s->listeners[i].addr, strlen(s->listeners[i].addr));
    }
    rc |= sp_buf_adds(out, "}}");
    return rc ? -ENOBUFS : 0;
}

void sp_stats_listener(struct sp_stats *s, const char *name, const char *addr)
{
    int i = 0;
    while (i < s->n_listeners && strcmp(s->listeners[i].name, name) != 0) {
        i++;
    }
    if (i == SP_STATS_MAX_LISTENERS) {
        return;
    }
    snprintf(s->listeners[i].name, sizeof(s->listeners[i].name), "%s", name);
    snprintf(s->listeners[i].addr, sizeof(s->listeners[i].addr), "%s", addr);
    if (i == s->n_listeners) {
        s->n_listeners++;
    }
}
