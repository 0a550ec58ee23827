/*
 * otlp_http.h - the OTLP/HTTP exporter (protobuf or JSON, gzip, retries by the core).
 * Its options are in README.md beside this file; main.c hands its vtable to
 * the core, which never calls it by name.
 */
#ifndef SP_EXP_OTLP_HTTP_H
#define SP_EXP_OTLP_HTTP_H

#include "agent.h"

extern const struct sp_exporter_ops exp_otlp_http_ops;

#endif
