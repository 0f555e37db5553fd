/* simd.h: the eight-lane vector helpers the kernels share (internal; not installed).
 *
 * Vectors are GCC's generic vectors of eight floats, so one source serves every clone
 * (SSE, AVX2, AVX-512 registers) with the same lanes: a sum's order is fixed by the code,
 * never by the instruction set. */
#ifndef RZ_SIMD_H
#define RZ_SIMD_H

#include <string.h>

typedef float v8 __attribute__((vector_size(32)));

/* The helpers below are always inlined, so the 32-byte-vector calling convention GCC
 * warns about never applies. */
#pragma GCC diagnostic ignored "-Wpsabi"

#define INLINE static inline __attribute__((always_inline))

INLINE v8 load8(const float *p)
{
    v8 v;
    memcpy(&v, p, sizeof v);
    return v;
}

/* Lane by lane: GCC builds the initializer {x, x, ...} with eight inserts inside the
 * target clones (and a shuffle the same way), this loop with one broadcast; the splats sit
 * in the attention's inner loops. */
INLINE v8 splat8(float x)
{
    v8 v;
    for (int j = 0; j < 8; j++) v[j] = x;
    return v;
}

/* The lanes' fixed tree: h_j = a_j + a_{j+4}, then (h0 + h1) + (h2 + h3). */
INLINE float hsum8(v8 a)
{
    return ((a[0] + a[4]) + (a[1] + a[5])) + ((a[2] + a[6]) + (a[3] + a[7]));
}

typedef int v8i __attribute__((vector_size(32)));

/* hsum8 of four vectors at once, the same tree in vector form (shuffles instead of
 * scalar extractions): r[j] = hsum8 of the j-th argument, bit for bit. */
INLINE void hsum8x4(float *r, v8 a, v8 b, v8 c, v8 d)
{
#if defined(__clang__)
    /* clang spells the same shuffles with constant indices: the sums are identical */
#define SHUF(x, y, ...) __builtin_shufflevector(x, y, __VA_ARGS__)
    v8 x = SHUF(a, b, 0, 1, 2, 3, 8, 9, 10, 11) + SHUF(a, b, 4, 5, 6, 7, 12, 13, 14, 15);
    v8 y = SHUF(c, d, 0, 1, 2, 3, 8, 9, 10, 11) + SHUF(c, d, 4, 5, 6, 7, 12, 13, 14, 15);
    v8 p = SHUF(x, y, 0, 2, 8, 10, 4, 6, 12, 14) + SHUF(x, y, 1, 3, 9, 11, 5, 7, 13, 15);
    v8 q = SHUF(p, p, 0, 4, 2, 6, 0, 4, 2, 6) + SHUF(p, p, 1, 5, 3, 7, 1, 5, 3, 7);
#undef SHUF
#else
    const v8i lo = {0, 1, 2, 3, 8, 9, 10, 11}, hi = {4, 5, 6, 7, 12, 13, 14, 15};
    const v8i ev = {0, 2, 8, 10, 4, 6, 12, 14}, od = {1, 3, 9, 11, 5, 7, 13, 15};
    const v8i e2 = {0, 4, 2, 6, 0, 4, 2, 6}, o2 = {1, 5, 3, 7, 1, 5, 3, 7};
    v8 x = __builtin_shuffle(a, b, lo) + __builtin_shuffle(a, b, hi); /* h(a), h(b) */
    v8 y = __builtin_shuffle(c, d, lo) + __builtin_shuffle(c, d, hi); /* h(c), h(d) */
    /* (h0 + h1, h2 + h3) of a, c in the low half and of b, d in the high half */
    v8 p = __builtin_shuffle(x, y, ev) + __builtin_shuffle(x, y, od);
    v8 q = __builtin_shuffle(p, e2) + __builtin_shuffle(p, o2); /* a, b, c, d */
#endif
    memcpy(r, &q, 4 * sizeof(float));
}

/* s plus the products a[k] b[k] for k in [i, n), one at a time in order: the elements
 * past the last whole vector. */
INLINE float tail(float s, const float *a, const float *b, int i, int n)
{
    for (; i < n; i++) s += a[i] * b[i];
    return s;
}

/* The kernels' clones: x86-64-v4 for its 32 vector registers, v3 for AVX2, the baseline
 * for the rest; the vectors stay eight wide in all of them, so a sum's order is the same.
 * The kernels' files are compiled with floating-point contraction (-ffp-contract=fast):
 * each a += x * y becomes one fused multiply-add in the v3 and v4 clones, which halves the
 * arithmetic instructions of the inner loops. Each kernel contracts the same statements
 * wherever it runs, so its results stay independent of the thread count and of the other
 * rows of a batch; the baseline clone rounds the same sums twice, so bits may differ
 * between machines with and without FMA, as BLAS results do. */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && defined(__linux__)
#define RZ_CLONES \
    __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define RZ_CLONES
#endif

#endif
