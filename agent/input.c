/*
 * input.c - the defaults an input uses for the slots it has no use for. See
 * input.h.
 */
#include "input.h"

int sp_input_init_none(struct sp_input *in)
{
    (void)in;
    return 0;
}

void sp_input_nop(struct sp_input *in)
{
    (void)in;
}

void sp_input_durable_none(struct sp_input *in, uint64_t pos)
{
    (void)in;
    (void)pos;
}
