/* matmul_rows.c: the batch-invariant matrix product of the KV-cache decode (ops.h,
 * rz_matmul_rows).
 *
 * Every output element is the same computation wherever it falls in a tile: eight lanes
 * accumulate a[i+j] * b[i+j] for i = 0, 8, 16, ... in order, the lanes are combined in a
 * fixed tree (hsum8, or hsum8x4 for four outputs at once, which gives the same bits), and
 * the tail (n % 8) is added last in order. Tiles of 4 or 2 rows x 4 outputs reuse loads;
 * the 1x4 and 1x1 tiles cover the edges. So a row's result never depends on the other
 * rows, and a sequence decodes to the same bits alone or in any batch, with fused
 * multiply-adds or without (simd.h). */
#include "ops.h"
#include "simd.h"

INLINE void tile_1x1(float *y, const float *x, const float *w, int n)
{
    v8 acc = {0};
    int i = 0;
    for (; i + 8 <= n; i += 8) acc += load8(x + i) * load8(w + i);
    *y = tail(hsum8(acc), x, w, i, n);
}

/* Touches the four rows of W after the tile's, one cache line of each every 16 floats:
 * the weights stream from L3 or memory (they outgrow L2), and the hardware prefetcher
 * alone leaves a tile waiting on them. */
INLINE void prefetch4(const float *next, int ldw, int i, int pf)
{
    if (pf && (i & 15) == 0) {
        __builtin_prefetch(next + i);
        __builtin_prefetch(next + ldw + i);
        __builtin_prefetch(next + 2 * (size_t)ldw + i);
        __builtin_prefetch(next + 3 * (size_t)ldw + i);
    }
}

INLINE void tile_1x4(float *y, const float *x, const float *w, int ldw, int n, int pf)
{
    v8 a0 = {0}, a1 = {0}, a2 = {0}, a3 = {0};
    const float *w0 = w, *w1 = w + ldw, *w2 = w + 2 * (size_t)ldw, *w3 = w + 3 * (size_t)ldw;
    int i = 0;
    for (; i + 8 <= n; i += 8) {
        prefetch4(w + 4 * (size_t)ldw, ldw, i, pf);
        v8 xv = load8(x + i);
        a0 += xv * load8(w0 + i);
        a1 += xv * load8(w1 + i);
        a2 += xv * load8(w2 + i);
        a3 += xv * load8(w3 + i);
    }
    float r[4];
    hsum8x4(r, a0, a1, a2, a3);
    y[0] = tail(r[0], x, w0, i, n);
    y[1] = tail(r[1], x, w1, i, n);
    y[2] = tail(r[2], x, w2, i, n);
    y[3] = tail(r[3], x, w3, i, n);
}

INLINE void tile_2x4(float *y, int ldy, const float *x, int ldx, const float *w, int ldw, int n,
                     int pf)
{
    v8 a0 = {0}, a1 = {0}, a2 = {0}, a3 = {0}, b0 = {0}, b1 = {0}, b2 = {0}, b3 = {0};
    const float *x0 = x, *x1 = x + ldx;
    const float *w0 = w, *w1 = w + ldw, *w2 = w + 2 * (size_t)ldw, *w3 = w + 3 * (size_t)ldw;
    int i = 0;
    for (; i + 8 <= n; i += 8) {
        prefetch4(w + 4 * (size_t)ldw, ldw, i, pf);
        v8 u = load8(x0 + i), v = load8(x1 + i), k;
        k = load8(w0 + i), a0 += u * k, b0 += v * k;
        k = load8(w1 + i), a1 += u * k, b1 += v * k;
        k = load8(w2 + i), a2 += u * k, b2 += v * k;
        k = load8(w3 + i), a3 += u * k, b3 += v * k;
    }
    float r[4], t[4];
    hsum8x4(r, a0, a1, a2, a3);
    hsum8x4(t, b0, b1, b2, b3);
    y[0] = tail(r[0], x0, w0, i, n);
    y[1] = tail(r[1], x0, w1, i, n);
    y[2] = tail(r[2], x0, w2, i, n);
    y[3] = tail(r[3], x0, w3, i, n);
    y[ldy + 0] = tail(t[0], x1, w0, i, n);
    y[ldy + 1] = tail(t[1], x1, w1, i, n);
    y[ldy + 2] = tail(t[2], x1, w2, i, n);
    y[ldy + 3] = tail(t[3], x1, w3, i, n);
}

/* Four rows by four outputs: sixteen accumulators, which only the 32 vector registers of
 * the x86-64-v4 clone hold without spilling (the v3 clone spills, to the same bits). */
INLINE void tile_4x4(float *y, int ldy, const float *x, int ldx, const float *w, int ldw, int n,
                     int pf)
{
    v8 a[4][4] = {{{0}}};
    const float *w0 = w, *w1 = w + ldw, *w2 = w + 2 * (size_t)ldw, *w3 = w + 3 * (size_t)ldw;
    const float *x0 = x, *x1 = x + ldx, *x2 = x + 2 * (size_t)ldx, *x3 = x + 3 * (size_t)ldx;
    int i = 0;
    for (; i + 8 <= n; i += 8) {
        prefetch4(w + 4 * (size_t)ldw, ldw, i, pf);
        v8 u0 = load8(x0 + i), u1 = load8(x1 + i), u2 = load8(x2 + i), u3 = load8(x3 + i), k;
        k = load8(w0 + i), a[0][0] += u0 * k, a[1][0] += u1 * k, a[2][0] += u2 * k, a[3][0] += u3 * k;
        k = load8(w1 + i), a[0][1] += u0 * k, a[1][1] += u1 * k, a[2][1] += u2 * k, a[3][1] += u3 * k;
        k = load8(w2 + i), a[0][2] += u0 * k, a[1][2] += u1 * k, a[2][2] += u2 * k, a[3][2] += u3 * k;
        k = load8(w3 + i), a[0][3] += u0 * k, a[1][3] += u1 * k, a[2][3] += u2 * k, a[3][3] += u3 * k;
    }
    const float *xr[4] = {x0, x1, x2, x3}, *wr[4] = {w0, w1, w2, w3};
    /* unrolled, so that a stays in registers */
#pragma GCC unroll 4
    for (int r = 0; r < 4; r++) {
        float t[4];
        hsum8x4(t, a[r][0], a[r][1], a[r][2], a[r][3]);
#pragma GCC unroll 4
        for (int j = 0; j < 4; j++) y[(size_t)r * ldy + j] = tail(t[j], xr[r], wr[j], i, n);
    }
}

/* out[:, o0:o1] for every row: four outputs at a time, all the rows passing by while
 * their four rows of W sit in L1; the first group of rows prefetches the next four. */
RZ_CLONES static void matmul_rows_block(float *out, const float *in, const float *w, int N,
                                        int IC, int OC, int o0, int o1)
{
    int o = o0;
    for (; o + 4 <= o1; o += 4) {
        const float *wo = w + (size_t)o * IC;
        int pf = o + 8 <= o1, n = 0; /* the next tile's rows exist */
        for (; n + 4 <= N; n += 4, pf = 0)
            tile_4x4(out + (size_t)n * OC + o, OC, in + (size_t)n * IC, IC, wo, IC, IC, pf);
        for (; n + 2 <= N; n += 2, pf = 0)
            tile_2x4(out + (size_t)n * OC + o, OC, in + (size_t)n * IC, IC, wo, IC, IC, pf);
        for (; n < N; n++, pf = 0)
            tile_1x4(out + (size_t)n * OC + o, in + (size_t)n * IC, wo, IC, IC, pf);
    }
    for (; o < o1; o++)
        for (int n = 0; n < N; n++)
            tile_1x1(out + (size_t)n * OC + o, in + (size_t)n * IC, w + (size_t)o * IC, IC);
}

void rz_matmul_rows(float *out, const float *in, const float *w, int N, int IC, int OC)
{
    /* blocks of output channels keep a slice of W in cache while every row passes by */
    enum { OB = 32 };
    int nblocks = (OC + OB - 1) / OB;
#pragma omp parallel for schedule(static) if((size_t)N * IC * OC / 2 >= RZ_PAR_MIN)
    for (int blk = 0; blk < nblocks; blk++) {
        int o0 = blk * OB, o1 = o0 + OB < OC ? o0 + OB : OC;
        matmul_rows_block(out, in, w, N, IC, OC, o0, o1);
    }
}
