/*
 * socket.h - the Unix stream socket collector (protocol v1, docs/protocol.md).
 * Its API is declared in agent/agent.h (col_socket_*); this header only names
 * the file's contract for readers.
 */
#ifndef SP_COL_SOCKET_H
#define SP_COL_SOCKET_H

#include "agent.h"

#endif
