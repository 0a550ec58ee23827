/*
 * health.c - what /readyz (and the status API's "ready") decide from: the
 * agent's state, read when asked.
 */
#include <stdio.h>

#include "admin.h"
#include "agent.h"

int sp_admin_ready(const struct spindle *sp, char *why, size_t n)
{
    if (sp->stopping) {
        snprintf(why, n, "shutting down");
        return 0;
    }
    if (sp->n_inputs == 0) {
        snprintf(why, n, "no input is listening");
        return 0;
    }
    if (sp->paused) {
        snprintf(why, n, "input paused by flow control (an export queue, the memory budget or "
                         "the journal is full)");
        return 0;
    }
    static const char *const sig[SP_SIG_COUNT] = {"traces", "logs", "metrics"};
    for (int i = 0; i < sp->n_exporters; i++) {
        for (int s = 0; s < SP_SIG_COUNT; s++) {
            if (sp->exporters[i]->q[s].failing && !sp->journal) {
                snprintf(why, n,
                         "exporter %s is not delivering %s (its last attempt failed) and no "
                         "journal keeps the records",
                         sp->exporters[i]->ops->name, sig[s]);
                return 0;
            }
        }
    }
    snprintf(why, n, "ok");
    return 1;
}
