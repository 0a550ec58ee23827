/*
 * lambda.h - the AWS Lambda extension input (README.md beside it).
 */
#ifndef COL_LAMBDA_H
#define COL_LAMBDA_H

#include "input.h"

extern const struct sp_input_ops col_lambda_input;

#endif
