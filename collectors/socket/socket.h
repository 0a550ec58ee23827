/*
 * socket.h - the Unix stream socket collector (protocol v1, docs/protocol.md),
 * an input behind agent/input.h. Its options are in README.md beside this
 * file; main.c hands its vtable to the core, which never calls it by name.
 */
#ifndef SP_COL_SOCKET_H
#define SP_COL_SOCKET_H

#include "agent.h"

extern const struct sp_input_ops col_socket_input;

#endif
