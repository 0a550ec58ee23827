/*
 * otlp_file.h - the OTLP/JSON file exporter (one export request per line, rotated).
 * Its options are in README.md beside this file; main.c hands its vtable to
 * the core, which never calls it by name.
 */
#ifndef SP_EXP_OTLP_FILE_H
#define SP_EXP_OTLP_FILE_H

#include "agent.h"

extern const struct sp_exporter_ops exp_otlp_file_ops;

#endif
