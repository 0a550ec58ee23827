/* dogstatsd.h - the DogStatsD input (Unix datagram socket and UDP). See dogstatsd.c. */
#ifndef COL_DOGSTATSD_H
#define COL_DOGSTATSD_H

#include "input.h"

extern const struct sp_input_ops col_dogstatsd_input;

#endif
