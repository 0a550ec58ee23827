/*
 * dynlib.c - a shared library loaded on demand. See dynlib.h.
 */
#include "dynlib.h"

#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>

int sp_dynlib_load(const char *soname, const struct sp_dynsym *syms, size_t n, void **handle,
                   char *err, size_t errlen)
{
    /* RTLD_LOCAL: its symbols stay out of the global namespace, so a second
     * copy loaded by another library (libcurl's own libcrypto) is the same
     * object by soname, not a clash. RTLD_NOW: a missing symbol fails here,
     * not at the first call. */
    void *lib = dlopen(soname, RTLD_NOW | RTLD_LOCAL);
    if (lib == NULL) {
        snprintf(err, errlen, "%s", dlerror());
        return -ELIBACC;
    }
    for (size_t i = 0; i < n; i++) {
        if ((*syms[i].slot = dlsym(lib, syms[i].name)) == NULL) {
            snprintf(err, errlen, "%s has no %s", soname, syms[i].name);
            dlclose(lib);
            return -ELIBACC;
        }
    }
    *handle = lib;
    return 0;
}
