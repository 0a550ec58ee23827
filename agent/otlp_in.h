/*
 * otlp_in.h - the door's OTLP half (otlp_in.c): what sp_door_otlp() and the
 * replay of SP_CODEC_OTLP_* journal entries do. Only door.c calls the replay.
 */
#ifndef SP_OTLP_IN_H
#define SP_OTLP_IN_H

#include <stdint.h>

#include "jformat.h"

struct spindle;

void sp_door_otlp_replay(struct spindle *sp, const struct sp_jentry *e, uint64_t jseq,
                         int rejournal);

#endif
