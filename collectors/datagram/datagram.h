/* datagram.h - the protocol's datagram socket, <socket path>.dgram. See datagram.c. */
#ifndef COL_DATAGRAM_H
#define COL_DATAGRAM_H

#include "input.h"

extern const struct sp_input_ops col_datagram_input;

#endif
