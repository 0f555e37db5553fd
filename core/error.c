/* error.c: status codes, error messages, checked allocation and the thread count. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "rlzero.h"
#ifdef _OPENMP
#include <omp.h>
#endif

int rz_error_set(rz_error *err, int code, const char *fmt, ...)
{
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        err->code = code;
        vsnprintf(err->msg, sizeof err->msg, fmt, ap);
        va_end(ap);
    }
    return code;
}

const char *rz_status_name(int code)
{
    switch (code) {
    case RZ_OK: return "ok";
    case RZ_ERR_NOMEM: return "out of memory";
    case RZ_ERR_ARG: return "bad argument";
    case RZ_ERR_IO: return "i/o error";
    case RZ_ERR_FORMAT: return "bad format";
    case RZ_ERR_NONFINITE: return "non-finite value";
    case RZ_ERR_STATE: return "bad state";
    case RZ_ERR_ILLEGAL: return "illegal move";
    default: return "unknown error";
    }
}

size_t rz_memory_bytes(void)
{
    long pages = sysconf(_SC_PHYS_PAGES), size = sysconf(_SC_PAGE_SIZE);
    if (pages <= 0 || size <= 0) return 0;
    return (size_t)pages * (size_t)size;
}

void *rz_alloc(size_t nbytes, const char *what, rz_error *err)
{
    if (nbytes == 0) nbytes = 1;
    /* Linux overcommits: a request larger than the machine could succeed and the memset below
     * would then get the process killed. Refuse it with its size instead. */
    size_t phys = rz_memory_bytes();
    if (phys && nbytes > phys) {
        rz_error_set(err, RZ_ERR_NOMEM,
                     "cannot allocate %zu bytes (%.1f GiB) for %s: more than the machine's "
                     "%.1f GiB of memory", nbytes, (double)nbytes / (1u << 30), what,
                     (double)phys / (1u << 30));
        return NULL;
    }
    /* aligned_alloc needs a size that is a multiple of the alignment */
    size_t rounded = (nbytes + 63) & ~(size_t)63;
    if (rounded < nbytes) {
        rz_error_set(err, RZ_ERR_NOMEM, "cannot allocate %s: size overflows", what);
        return NULL;
    }
    void *p = aligned_alloc(64, rounded);
    if (!p) {
        rz_error_set(err, RZ_ERR_NOMEM, "cannot allocate %zu bytes (%.1f MiB) for %s", nbytes,
                     (double)nbytes / (1024.0 * 1024.0), what);
        return NULL;
    }
    memset(p, 0, rounded);
    return p;
}

void rz_free(void *p) { free(p); }

int rz_max_threads(void)
{
#ifdef _OPENMP
    return omp_get_max_threads();
#else
    return 1;
#endif
}

int rz_thread_num(void)
{
#ifdef _OPENMP
    return omp_get_thread_num();
#else
    return 0;
#endif
}
