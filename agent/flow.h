/*
 * flow.h - flow control: when input pauses and resumes (flow.c).
 */
#ifndef SP_FLOW_H
#define SP_FLOW_H

struct spindle;

/* Pauses every input when an export queue holds export.queue_max_bytes,
 * memory passes limits.max_memory or the journal falls SP_JOURNAL_MAX_BACKLOG
 * behind; resumes them below half, three quarters and half. Over the budget it
 * first sheds idle workflows and metric series. Cheap: safe to call often. */
void sp_flow_check(struct spindle *sp);
/* Starts the once-per-loop-turn check. */
void sp_flow_init(struct spindle *sp);

#endif
