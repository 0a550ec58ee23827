/*
 * otlp_ref.h - the reference protobuf-c encoder the tests compare the direct
 * writer against (otlp_ref.c).
 */
#ifndef SP_OTLP_REF_H
#define SP_OTLP_REF_H

#include "buf.h"
#include "model.h"

int otlp_ref_encode_pb(const struct sp_batch *b, const struct sp_resource_info *res,
                       struct sp_buf *out);

#endif
