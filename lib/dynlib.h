/*
 * dynlib.h - a shared library loaded on demand, with its function table.
 *
 * Why: libcurl (28 libraries) and libcrypto (its relocations and
 * constructor) cost milliseconds each at exec, and in Lambda the register
 * request must leave before them (docs/lambda.md, "Start-up cost"). A part
 * that needs one names the symbols it uses and loads them when first needed.
 */
#ifndef SPINDLE_DYNLIB_H
#define SPINDLE_DYNLIB_H

#include <stddef.h>

struct sp_dynsym {
    const char *name;
    void **slot; /* where the address goes */
};

/* dlopen()s `soname` and fills every slot. 0 and *handle set, or -ELIBACC
 * with the reason in `err` (nothing is kept loaded then). */
int sp_dynlib_load(const char *soname, const struct sp_dynsym *syms, size_t n, void **handle,
                   char *err, size_t errlen);

#endif
