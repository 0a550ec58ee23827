#ifndef SP_COL_OTLP_H
#define SP_COL_OTLP_H

#include "agent.h"

/* The OTLP/HTTP receiver (collectors/otlp/README.md). */
extern const struct sp_input_ops col_otlp_input;

#endif
