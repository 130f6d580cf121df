#ifndef SUNLEDGER_CJEMALLOC_SHIM_H
#define SUNLEDGER_CJEMALLOC_SHIM_H
/* jemalloc (Debian's libjemalloc-dev), the memory allocator of Sunledger's
   executables: linked into them, it takes the place of the C library's malloc
   for the whole process. Only its control interface is declared here:
   jemalloc/jemalloc.h declares malloc and free as well, which would clash
   with the C library's declarations in Swift. */
#include <stddef.h>

int mallctl(const char *name, void *oldp, size_t *oldlenp, void *newp, size_t newlen);

/* The version of the jemalloc the process runs on, or NULL if it cannot say. */
static inline const char *sunledger_jemalloc_version(void) {
    const char *version = NULL;
    size_t size = sizeof version;
    return mallctl("version", &version, &size, NULL, 0) == 0 ? version : NULL;
}
#endif
