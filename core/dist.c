/* dist.c: data parallelism over MPI, or a world of one process without it.
 *
 * Every rank of MPI_COMM_WORLD runs the same script on the same data; the trainers split
 * each step's work into contiguous shares in rank order (rz_dist_share), gather what every
 * rank needs to agree on (rz_dist_allgather) and sum gradients in one global order
 * (rz_dist_ordered_sum), so that a run's numbers depend on how the work is cut into parts,
 * never on how many processes compute the parts.
 *
 * Built without MPI (or with MPI but not initialised: the test programs, a stock lua5.4
 * loading the module) this is a world of size 1 and every call is local. MPI is called
 * from the main thread only, outside OpenMP regions (MPI_THREAD_FUNNELED). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "config.h"
#include "rlzero.h"

#ifdef RZ_HAVE_MPI
#include <mpi.h>
#endif

int rz_dist_available(void)
{
#ifdef RZ_HAVE_MPI
    return 1;
#else
    return 0;
#endif
}

#ifdef RZ_HAVE_MPI
static int dist_on(void)
{
    int init = 0, fin = 0;
    MPI_Initialized(&init);
    if (init) MPI_Finalized(&fin);
    return init && !fin;
}

static int mpi_fail(rz_error *err, int code, const char *what)
{
    char msg[MPI_MAX_ERROR_STRING];
    int len = 0;
    if (MPI_Error_string(code, msg, &len) != MPI_SUCCESS) snprintf(msg, sizeof msg, "error %d", code);
    return rz_error_set(err, RZ_ERR_IO, "dist: %s failed: %s", what, msg);
}
#endif

int rz_dist_init(int *argc, char ***argv, rz_error *err)
{
#ifdef RZ_HAVE_MPI
    int init = 0;
    MPI_Initialized(&init);
    if (init) return RZ_OK;
    int provided = 0;
    int rc = MPI_Init_thread(argc, argv, MPI_THREAD_FUNNELED, &provided);
    if (rc != MPI_SUCCESS) return rz_error_set(err, RZ_ERR_IO, "dist: MPI_Init_thread failed (%d)", rc);
    /* failures come back as codes, so they reach the caller's rz_error */
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
    return RZ_OK;
#else
    (void)argc, (void)argv, (void)err;
    return RZ_OK;
#endif
}

void rz_dist_finalize(void)
{
#ifdef RZ_HAVE_MPI
    if (dist_on()) MPI_Finalize();
#endif
}

int rz_dist_rank(void)
{
#ifdef RZ_HAVE_MPI
    int r = 0;
    if (dist_on()) MPI_Comm_rank(MPI_COMM_WORLD, &r);
    return r;
#else
    return 0;
#endif
}

int rz_dist_size(void)
{
#ifdef RZ_HAVE_MPI
    int n = 1;
    if (dist_on()) MPI_Comm_size(MPI_COMM_WORLD, &n);
    return n;
#else
    return 1;
#endif
}

void rz_dist_abort(int code)
{
#ifdef RZ_HAVE_MPI
    if (dist_on() && rz_dist_size() > 1) MPI_Abort(MPI_COMM_WORLD, code);
#endif
    (void)code;
}

void rz_dist_share(long n, int rank, int size, long *lo, long *hi)
{
    if (size < 1) size = 1;
    *lo = n * rank / size;
    *hi = n * (rank + 1) / size;
}

int rz_dist_barrier(rz_error *err)
{
#ifdef RZ_HAVE_MPI
    if (rz_dist_size() > 1) {
        int rc = MPI_Barrier(MPI_COMM_WORLD);
        if (rc != MPI_SUCCESS) return mpi_fail(err, rc, "barrier");
    }
#endif
    (void)err;
    return RZ_OK;
}

int rz_dist_bcast(void *buf, size_t bytes, int root, rz_error *err)
{
#ifdef RZ_HAVE_MPI
    if (rz_dist_size() > 1) {
        char *p = buf;
        /* MPI counts are ints: large buffers go in pieces */
        for (size_t off = 0; off < bytes; off += (size_t)1 << 30) {
            size_t n = bytes - off < ((size_t)1 << 30) ? bytes - off : (size_t)1 << 30;
            int rc = MPI_Bcast(p + off, (int)n, MPI_BYTE, root, MPI_COMM_WORLD);
            if (rc != MPI_SUCCESS) return mpi_fail(err, rc, "broadcast");
        }
    }
#endif
    (void)buf, (void)bytes, (void)root, (void)err;
    return RZ_OK;
}

int rz_dist_max_int(int *x, rz_error *err)
{
#ifdef RZ_HAVE_MPI
    if (rz_dist_size() > 1) {
        int rc = MPI_Allreduce(MPI_IN_PLACE, x, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
        if (rc != MPI_SUCCESS) return mpi_fail(err, rc, "all-reduce (max)");
    }
#endif
    (void)x, (void)err;
    return RZ_OK;
}

int rz_dist_allgather(void *buf, long n, size_t item, rz_error *err)
{
#ifdef RZ_HAVE_MPI
    const int N = rz_dist_size();
    if (N > 1 && n > 0) {
        if ((double)n * item > 2147483647.0)
            return rz_error_set(err, RZ_ERR_ARG, "dist: gather of %ld x %zu bytes is too large", n, item);
        int *counts = malloc((size_t)N * 2 * sizeof *counts);
        if (!counts) return rz_error_set(err, RZ_ERR_NOMEM, "dist: cannot allocate %d counts", N);
        for (int r = 0; r < N; r++) {
            long lo, hi;
            rz_dist_share(n, r, N, &lo, &hi);
            counts[r] = (int)((hi - lo) * (long)item);
            counts[N + r] = (int)(lo * (long)item);
        }
        int rc = MPI_Allgatherv(MPI_IN_PLACE, 0, MPI_DATATYPE_NULL, buf, counts, counts + N, MPI_BYTE,
                                MPI_COMM_WORLD);
        free(counts);
        if (rc != MPI_SUCCESS) return mpi_fail(err, rc, "all-gather");
    }
#endif
    (void)buf, (void)n, (void)item, (void)err;
    return RZ_OK;
}

/* out = parts[0] (+ parts[1] ...) in this rank's order, continuing `have` (whether out
 * holds a running sum already). */
static void sum_parts(float *out, int have, const float *parts, int nparts, size_t len)
{
    for (int k = 0; k < nparts; k++) {
        const float *p = parts + (size_t)k * len;
        if (!have) memcpy(out, p, len * sizeof *out);
        else
#pragma omp parallel for schedule(static) if (len >= 65536)
            for (size_t i = 0; i < len; i++) out[i] += p[i];
        have = 1;
    }
}

/* A chain through the ranks, then a broadcast from the last: rank r receives the running
 * sum of every part before its own, adds its own parts one by one and passes the sum on.
 * That is exactly the left-to-right order one process summing every part would use, which
 * a tree or ring all-reduce is not; its cost is N - 1 sequential messages of len floats. */
int rz_dist_ordered_sum(float *out, const float *parts, int nparts, size_t len, int *any,
                        double *seconds, rz_error *err)
{
    double t0 = 0;
    struct timespec ts;
    if (seconds) {
        clock_gettime(CLOCK_MONOTONIC, &ts);
        t0 = (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
    }
    int have = 0;
#ifdef RZ_HAVE_MPI
    const int N = rz_dist_size(), me = rz_dist_rank();
    if (N > 1) {
        if (len > 2147483647u) return rz_error_set(err, RZ_ERR_ARG, "dist: sum of %zu floats is too large", len);
        int rc = MPI_SUCCESS;
        if (me > 0) {
            rc = MPI_Recv(&have, 1, MPI_INT, me - 1, 1, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
            if (rc == MPI_SUCCESS && have)
                rc = MPI_Recv(out, (int)len, MPI_FLOAT, me - 1, 2, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
            if (rc != MPI_SUCCESS) return mpi_fail(err, rc, "ordered sum (receive)");
        }
        sum_parts(out, have, parts, nparts, len);
        have = have || nparts > 0;
        if (me < N - 1) {
            rc = MPI_Send(&have, 1, MPI_INT, me + 1, 1, MPI_COMM_WORLD);
            if (rc == MPI_SUCCESS && have) rc = MPI_Send(out, (int)len, MPI_FLOAT, me + 1, 2, MPI_COMM_WORLD);
            if (rc != MPI_SUCCESS) return mpi_fail(err, rc, "ordered sum (send)");
        }
        rc = MPI_Bcast(&have, 1, MPI_INT, N - 1, MPI_COMM_WORLD);
        if (rc == MPI_SUCCESS && have) rc = MPI_Bcast(out, (int)len, MPI_FLOAT, N - 1, MPI_COMM_WORLD);
        if (rc != MPI_SUCCESS) return mpi_fail(err, rc, "ordered sum (broadcast)");
    } else
#endif
    {
        sum_parts(out, 0, parts, nparts, len);
        have = nparts > 0;
    }
    if (any) *any = have;
    if (seconds) {
        clock_gettime(CLOCK_MONOTONIC, &ts);
        *seconds += (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec - t0;
    }
    return RZ_OK;
}
