/* ops.c: layer functions (forward/backward pairs) for the transformer.
 *
 * Determinism: parallel loops only ever split work whose outputs are disjoint (rows, heads,
 * or column blocks for weight-gradient reductions), and every sum runs in a fixed order,
 * so results are bit-identical for any OMP_NUM_THREADS. No float atomics. */
#include <cblas.h>
#include <math.h>
#include <string.h>

#include "ops.h"
#include "simd.h"

/* ------------------------------------------------------------------ matmul */

void rz_matmul_forward(float *out, const float *in, const float *w, int N, int IC, int OC)
{
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, N, OC, IC, 1.0f, in, IC, w, IC, 0.0f,
                out, OC);
}

void rz_matmul_backward(float *din, float *dw, const float *dout, const float *in,
                        const float *w, int N, int IC, int OC)
{
    if (din)
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, N, IC, OC, 1.0f, dout, OC, w, IC,
                    1.0f, din, IC);
    if (dw)
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, OC, IC, N, 1.0f, dout, OC, in, IC,
                    1.0f, dw, IC);
}

/* --------------------------------------------------------------- embedding */

void rz_embedding_forward(float *out, const int *tokens, const float *wte, int N, int C)
{
#pragma omp parallel for schedule(static) if((size_t)N * C >= RZ_PAR_MIN)
    for (int n = 0; n < N; n++)
        memcpy(out + (size_t)n * C, wte + (size_t)tokens[n] * C, (size_t)C * sizeof(float));
}

void rz_embedding_backward(float *dwte, const float *dout, const int *tokens, int N, int C)
{
    /* Rows sharing a token would race; split by columns instead, rows in order. */
    enum { CB = 16 };
    int nblocks = (C + CB - 1) / CB;
#pragma omp parallel for schedule(static) if((size_t)N * C >= RZ_PAR_MIN)
    for (int blk = 0; blk < nblocks; blk++) {
        int c0 = blk * CB, c1 = c0 + CB < C ? c0 + CB : C;
        for (int n = 0; n < N; n++) {
            float *d = dwte + (size_t)tokens[n] * C;
            const float *g = dout + (size_t)n * C;
            for (int c = c0; c < c1; c++) d[c] += g[c];
        }
    }
}

/* ----------------------------------------------------------------- rmsnorm */

/* Sums over a row's C channels run in eight lanes combined by hsum8, the tail (C % 8)
 * last in order, as in the matmul kernel: a row's result depends on that row alone. */
RZ_CLONES static void rmsnorm_row(float *o, float *rstd, const float *x, const float *w, int C,
                                  float eps)
{
    v8 acc = {0};
    int c = 0;
    for (; c + 8 <= C; c += 8) acc += load8(x + c) * load8(x + c);
    float ss = tail(hsum8(acc), x, x, c, C);
    float r = 1.0f / sqrtf(ss / C + eps);
    *rstd = r;
    for (c = 0; c + 8 <= C; c += 8) {
        v8 y = load8(x + c) * r * load8(w + c);
        memcpy(o + c, &y, sizeof y);
    }
    for (; c < C; c++) o[c] = x[c] * r * w[c];
}

void rz_rmsnorm_forward(float *out, float *rstd, const float *x, const float *w, int N, int C,
                        float eps)
{
#pragma omp parallel for schedule(static) if((size_t)N * C >= RZ_PAR_MIN)
    for (int n = 0; n < N; n++)
        rmsnorm_row(out + (size_t)n * C, rstd + n, x + (size_t)n * C, w, C, eps);
}

/* dx_j += r w_j dy_j - x_j r^3 / C * sum_i w_i dy_i x_i for one row. */
RZ_CLONES static void rmsnorm_bwd_row(float *d, const float *g, const float *x, const float *w,
                                      float r, int C)
{
    v8 acc = {0};
    int c = 0;
    for (; c + 8 <= C; c += 8) acc += load8(w + c) * load8(g + c) * load8(x + c);
    float dot = hsum8(acc);
    for (int i = c; i < C; i++) dot += w[i] * g[i] * x[i];
    float k = dot * r * r * r / C;
    for (c = 0; c + 8 <= C; c += 8) {
        v8 y = load8(d + c) + (r * load8(w + c) * load8(g + c) - k * load8(x + c));
        memcpy(d + c, &y, sizeof y);
    }
    for (; c < C; c++) d[c] += r * w[c] * g[c] - k * x[c];
}

/* dw[c0, c1) += sum_n dy[n, c] x[n, c] r_n, n in order; c1 - c0 <= 64. */
RZ_CLONES static void rmsnorm_dw_block(float *dw, const float *dout, const float *x,
                                       const float *rstd, int N, int C, int c0, int c1)
{
    if (c1 - c0 < 64) {
        for (int n = 0; n < N; n++) {
            const float *xr = x + (size_t)n * C, *g = dout + (size_t)n * C;
            float r = rstd[n];
            for (int c = c0; c < c1; c++) dw[c] += g[c] * xr[c] * r;
        }
        return;
    }
    v8 a[8];
    for (int j = 0; j < 8; j++) a[j] = load8(dw + c0 + 8 * j);
    for (int n = 0; n < N; n++) {
        const float *xr = x + (size_t)n * C + c0, *g = dout + (size_t)n * C + c0;
        v8 r = splat8(rstd[n]);
#pragma GCC unroll 8
        for (int j = 0; j < 8; j++) a[j] += load8(g + 8 * j) * load8(xr + 8 * j) * r;
    }
    for (int j = 0; j < 8; j++) memcpy(dw + c0 + 8 * j, &a[j], sizeof(v8));
}

void rz_rmsnorm_backward(float *dx, float *dw, const float *dout, const float *x, const float *w,
                         const float *rstd, int N, int C)
{
#pragma omp parallel for schedule(static) if((size_t)N * C >= RZ_PAR_MIN)
    for (int n = 0; n < N; n++)
        rmsnorm_bwd_row(dx + (size_t)n * C, dout + (size_t)n * C, x + (size_t)n * C, w, rstd[n], C);
    enum { CB = 64 };
    int nblocks = (C + CB - 1) / CB;
#pragma omp parallel for schedule(static) if((size_t)N * C >= RZ_PAR_MIN)
    for (int blk = 0; blk < nblocks; blk++) {
        int c0 = blk * CB, c1 = c0 + CB < C ? c0 + CB : C;
        rmsnorm_dw_block(dw, dout, x, rstd, N, C, c0, c1);
    }
}

/* -------------------------------------------------------------------- rope */

void rz_rope_table(float *cos_t, float *sin_t, int P, int hd, float theta)
{
    int half = hd / 2;
    for (int p = 0; p < P; p++)
        for (int i = 0; i < half; i++) {
            double inv_freq = pow((double)theta, -2.0 * i / hd);
            double a = p * inv_freq;
            cos_t[(size_t)p * half + i] = (float)cos(a);
            sin_t[(size_t)p * half + i] = (float)sin(a);
        }
}

/* One row of NH heads: the pairs (x[i], x[i + hd/2]) rotated by (cs[i], sn[i]), forward
 * (o1 = x1 c - x2 s, o2 = x2 c + x1 s) or backward (the inverse rotation, added to d
 * unless d is the input itself). Eight pairs at a time where hd/2 allows; same formulas,
 * same bits. */
RZ_CLONES static void rope_row(float *o, const float *x, const float *cs, const float *sn, int NH,
                               int hd, int back)
{
    int half = hd / 2, add = back && o != x;
    for (int h = 0; h < NH; h++) {
        const float *xi = x + (size_t)h * hd;
        float *oi = o + (size_t)h * hd;
        int i = 0;
        for (; i + 8 <= half; i += 8) {
            v8 x1 = load8(xi + i), x2 = load8(xi + i + half), c = load8(cs + i), sv = load8(sn + i);
            v8 y1, y2;
            if (!back)
                y1 = x1 * c - x2 * sv, y2 = x2 * c + x1 * sv;
            else
                y1 = x1 * c + x2 * sv, y2 = x2 * c - x1 * sv;
            if (add) y1 = load8(oi + i) + y1, y2 = load8(oi + i + half) + y2;
            memcpy(oi + i, &y1, sizeof y1);
            memcpy(oi + i + half, &y2, sizeof y2);
        }
        for (; i < half; i++) {
            float x1 = xi[i], x2 = xi[i + half], y1, y2;
            if (!back)
                y1 = x1 * cs[i] - x2 * sn[i], y2 = x2 * cs[i] + x1 * sn[i];
            else
                y1 = x1 * cs[i] + x2 * sn[i], y2 = x2 * cs[i] - x1 * sn[i];
            if (add) y1 = oi[i] + y1, y2 = oi[i + half] + y2;
            oi[i] = y1;
            oi[i + half] = y2;
        }
    }
}

void rz_rope_forward(float *out, const float *x, const int *pos, const float *cos_t,
                     const float *sin_t, int N, int NH, int hd)
{
    int half = hd / 2, C = NH * hd;
#pragma omp parallel for schedule(static) if((size_t)N * NH * hd >= RZ_PAR_MIN)
    for (int n = 0; n < N; n++)
        rope_row(out + (size_t)n * C, x + (size_t)n * C, cos_t + (size_t)pos[n] * half,
                 sin_t + (size_t)pos[n] * half, NH, hd, 0);
}

void rz_rope_backward(float *dx, const float *dout, const int *pos, const float *cos_t,
                      const float *sin_t, int N, int NH, int hd)
{
    int half = hd / 2, C = NH * hd;
#pragma omp parallel for schedule(static) if((size_t)N * NH * hd >= RZ_PAR_MIN)
    for (int n = 0; n < N; n++)
        rope_row(dx + (size_t)n * C, dout + (size_t)n * C, cos_t + (size_t)pos[n] * half,
                 sin_t + (size_t)pos[n] * half, NH, hd, 1);
}

/* ------------------------------------------------------- vector helpers */

typedef unsigned v8u __attribute__((vector_size(32)));


INLINE v8 select8(v8i mask, v8 a, v8 b) { return (v8)(((v8i)a & mask) | ((v8i)b & ~mask)); }

/* Lanes [0, m) of p (m in 0..8), `fill` in the others. Unrolled lane by lane rather than
 * a memcpy of m floats, which is a call into libc (and a spill of every live vector
 * register around it) in the middle of the attention's loops. */
INLINE v8 load_part(const float *p, int m, float fill)
{
    v8 v = splat8(fill);
#pragma GCC unroll 8
    for (int j = 0; j < 8; j++)
        if (j < m) v[j] = p[j];
    return v;
}

INLINE void store_part(float *p, v8 v, int m)
{
#pragma GCC unroll 8
    for (int j = 0; j < 8; j++)
        if (j < m) p[j] = v[j];
}

INLINE float max8(v8 a)
{
    float m = a[0];
    for (int j = 1; j < 8; j++) m = a[j] > m ? a[j] : m;
    return m;
}

/* e^x in every lane: Cephes' expf (x = n ln2 + r with ln 2 in two parts, a degree-5
 * polynomial in r, then scale by 2^n), within about 1 ulp of expf. Only +, -, * (fused
 * where the clone has FMA, see simd.h) and bit operations, lane by lane, so a value gives
 * the same bits in whichever lane it falls. Below -87.33 (under FLT_MIN) it gives 0, -inf
 * included; above 88 it saturates at e^88; NaN stays NaN. */
INLINE v8 exp8(v8 x)
{
    v8i tiny = x < splat8(-87.33f);
    x = select8(x > splat8(88.0f), splat8(88.0f), x);
    /* round to nearest through the 1.5 * 2^23 trick */
    v8 fx = (x * 1.44269504088896341f + 12582912.0f) - 12582912.0f;
    v8 r = x - fx * 0.693359375f;
    r = r - fx * -2.12194440e-4f;
    v8 y = splat8(1.9875691500e-4f);
    y = y * r + 1.3981999507e-3f;
    y = y * r + 8.3334519073e-3f;
    y = y * r + 4.1665795894e-2f;
    y = y * r + 1.6666665459e-1f;
    y = y * r + 5.0000001201e-1f;
    y = y * (r * r);
    y = y + r;
    y = y + 1.0f;
    v8i n = __builtin_convertvector(fx, v8i);
    v8 pow2 = (v8)(((v8u)n + 127u) << 23);
    return (v8)((v8i)(y * pow2) & ~tiny);
}

/* --------------------------------------------------------------- attention */

/* The attention kernels keep every sum in an order fixed by the sizes alone:
 *   dots_t:   s[u] = sum_i x[i] k[u, i], i = 0, 1, ... in order, eight keys u per vector
 *             (keys come transposed in tiles of eight, so no horizontal sums);
 *   wsum:     out[i] = sum_u w[u] x[u, i], u = 0, 1, ... in order, eight i per vector;
 *   softmax:  max and sum over eight lanes then a fixed tree, exponentials from exp8.
 * The KV-cache decode and the full forward share attention_row, and a decode row's
 * result depends only on its own query, keys and values. */

/* s[u] for u < n. kt holds the keys in tiles of eight, `tile` floats apart: element i of
 * key u is at kt[(u / 8) * tile + 8i + u % 8]; the tiles up to n rounded up to 8 must be
 * readable. */
INLINE void dots_t(float *s, const float *x, const float *kt, int n, int d, size_t tile)
{
    int u = 0;
    for (; u + 32 <= n; u += 32) { /* four independent chains hide the add latency */
        v8 a0 = {0}, a1 = {0}, a2 = {0}, a3 = {0};
        const float *r = kt + (size_t)(u / 8) * tile;
        for (int i = 0; i < d; i++, r += 8) {
            v8 xi = splat8(x[i]);
            a0 += xi * load8(r);
            a1 += xi * load8(r + tile);
            a2 += xi * load8(r + 2 * tile);
            a3 += xi * load8(r + 3 * tile);
        }
        memcpy(s + u, &a0, sizeof a0);
        memcpy(s + u + 8, &a1, sizeof a1);
        memcpy(s + u + 16, &a2, sizeof a2);
        memcpy(s + u + 24, &a3, sizeof a3);
    }
    for (; u < n; u += 8) {
        v8 a = {0};
        const float *r = kt + (size_t)(u / 8) * tile;
        for (int i = 0; i < d; i++) a += splat8(x[i]) * load8(r + 8 * i);
        store_part(s + u, a, n - u < 8 ? n - u : 8);
    }
}

/* out[i] (= or +=) sum_{u < n} w[u * ldw] x[u * ldx + i] for i < d. */
INLINE void wsum(float *out, const float *w, size_t ldw, const float *x, size_t ldx, int n, int d,
                 int accumulate)
{
    int i = 0;
    for (; i + 32 <= d; i += 32) {
        v8 a0 = {0}, a1 = {0}, a2 = {0}, a3 = {0};
        for (int u = 0; u < n; u++) {
            v8 wu = splat8(w[u * ldw]);
            const float *r = x + u * ldx + i;
            a0 += wu * load8(r);
            a1 += wu * load8(r + 8);
            a2 += wu * load8(r + 16);
            a3 += wu * load8(r + 24);
        }
        if (accumulate) {
            a0 += load8(out + i), a1 += load8(out + i + 8);
            a2 += load8(out + i + 16), a3 += load8(out + i + 24);
        }
        memcpy(out + i, &a0, sizeof a0);
        memcpy(out + i + 8, &a1, sizeof a1);
        memcpy(out + i + 16, &a2, sizeof a2);
        memcpy(out + i + 24, &a3, sizeof a3);
    }
    for (; i + 8 <= d; i += 8) {
        v8 a = {0};
        for (int u = 0; u < n; u++) a += splat8(w[u * ldw]) * load8(x + u * ldx + i);
        if (accumulate) a += load8(out + i);
        memcpy(out + i, &a, sizeof a);
    }
    for (; i < d; i++) {
        float a = 0.0f;
        for (int u = 0; u < n; u++) a += w[u * ldw] * x[u * ldx + i];
        out[i] = accumulate ? out[i] + a : a;
    }
}

/* p = softmax(scale * p) over n entries. */
INLINE void softmax_scaled(float *p, int n, float scale)
{
    v8 mx8 = splat8(-INFINITY);
    int u = 0;
    for (; u + 8 <= n; u += 8) {
        v8 s = load8(p + u) * scale;
        memcpy(p + u, &s, sizeof s);
        mx8 = select8(s > mx8, s, mx8);
    }
    int m = n - u;
    v8 tail_s = load_part(p + u, m, -INFINITY) * scale;
    mx8 = select8(tail_s > mx8, tail_s, mx8);
    float mx = max8(mx8);
    v8 sum8 = {0};
    for (u = 0; u + 8 <= n; u += 8) {
        v8 e = exp8(load8(p + u) - mx);
        memcpy(p + u, &e, sizeof e);
        sum8 += e;
    }
    v8 tail_e = exp8(tail_s - mx); /* lanes past n give e^-inf = 0 */
    sum8 += tail_e;
    float inv = 1.0f / hsum8(sum8);
    for (u = 0; u + 8 <= n; u += 8) {
        v8 e = load8(p + u) * inv;
        memcpy(p + u, &e, sizeof e);
    }
    store_part(p + u, tail_e * inv, m);
}

RZ_CLONES static void attention_row(float *out, float *p, const float *q, const float *kt,
                                    const float *v, size_t ldv, int n, int hd)
{
    dots_t(p, q, kt, n, hd, (size_t)8 * hd);
    softmax_scaled(p, n, 1.0f / sqrtf((float)hd));
    wsum(out, p, 1, v, ldv, n, hd, 0);
}

/* out[i] = c[i] + sum_{u < n} w[u] x[u * ldx + i] for i < d, the sum continuing from
 * c = out (carry) or from zero, one term at a time: wsum over a range of u cut in pieces
 * gives the bits of wsum over the whole range. */
INLINE void wsum_carry(float *out, const float *w, const float *x, size_t ldx, int n, int d,
                       int carry)
{
    int i = 0;
    for (; i + 32 <= d; i += 32) {
        v8 a0 = {0}, a1 = {0}, a2 = {0}, a3 = {0};
        if (carry) {
            a0 = load8(out + i), a1 = load8(out + i + 8);
            a2 = load8(out + i + 16), a3 = load8(out + i + 24);
        }
        for (int u = 0; u < n; u++) {
            v8 wu = splat8(w[u]);
            const float *r = x + u * ldx + i;
            a0 += wu * load8(r);
            a1 += wu * load8(r + 8);
            a2 += wu * load8(r + 16);
            a3 += wu * load8(r + 24);
        }
        memcpy(out + i, &a0, sizeof a0);
        memcpy(out + i + 8, &a1, sizeof a1);
        memcpy(out + i + 16, &a2, sizeof a2);
        memcpy(out + i + 24, &a3, sizeof a3);
    }
    for (; i + 8 <= d; i += 8) {
        v8 a = {0};
        if (carry) a = load8(out + i);
        for (int u = 0; u < n; u++) a += splat8(w[u]) * load8(x + u * ldx + i);
        memcpy(out + i, &a, sizeof a);
    }
    for (; i < d; i++) {
        float a = carry ? out[i] : 0.0f;
        for (int u = 0; u < n; u++) a += w[u] * x[u * ldx + i];
        out[i] = a;
    }
}

/* Asks for part j of `parts` of the bytes [0, nb) at a to be brought into L2. A hint:
 * nothing computed depends on it. */
INLINE void prefetch_part(const void *a, size_t nb, int j, int parts)
{
    size_t per = ((nb + parts - 1) / parts + 63) & ~(size_t)63;
    const char *c = a;
    for (size_t off = (size_t)j * per, e = off + per; off < e && off < nb; off += 64)
        __builtin_prefetch(c + off, 0, 1);
}

/* The bytes of the keys (or values) of positions [u, min(u + G, n)), rounded up to a
 * whole tile of eight keys. */
INLINE size_t group_bytes(int u, int n, int G, size_t C)
{
    int m = n - u < G ? n - u : G;
    return (size_t)((m + 7) & ~7) * C * sizeof(float);
}

/* Heads [h0, h1) of one decode row, position-major so that the row's keys and values
 * stream through memory once: the scores of 32 keys for every head in turn, then the
 * softmax of each head, then the values 32 positions at a time for every head in turn,
 * each head's sums carried in out. Every score, probability and output element is the
 * computation attention_row does, in the same order: the same bits.
 *
 * A batch's cache outgrows the caches, so a row's keys and values come from memory, each
 * head reading its slice of every group with a stride the hardware prefetcher follows
 * only in part. With all the heads and at least one whole group (shorter rows stay in
 * L3), each group asks for the next one while it computes, a share at each head: the
 * keys' next group, then the first values; the values' next group, then the next row's
 * first keys (kn, the first nn positions; NULL for none). */
RZ_CLONES static void attention_decode(float *out, float *p, size_t ldp, const float *q,
                                       const float *kc, const float *vc, int n, int h0, int h1,
                                       int NH, int hd, const float *kn, int nn)
{
    enum { G = 32 };
    size_t C = (size_t)NH * hd, tile = 8 * C, htile = (size_t)8 * hd;
    int ahead = h0 == 0 && h1 == NH && n >= G, parts = h1 - h0;
    for (int u = 0; u < n; u += G) {
        int more = u + G < n;
        const float *next = more ? kc + ((u + G) / 8) * tile : vc;
        size_t nb = more ? group_bytes(u + G, n, G, C) : group_bytes(0, n, G, C);
        for (int h = h0; h < h1; h++) {
            if (ahead) prefetch_part(next, nb, h, parts);
            float *ph = p + h * ldp + u;
            const float *kh = kc + (u / 8) * tile + h * htile;
            if (n - u >= G) /* a whole group, a constant length: the 32-key kernel, no tail */
                dots_t(ph, q + h * hd, kh, G, hd, tile);
            else
                dots_t(ph, q + h * hd, kh, n - u, hd, tile);
        }
    }
    float scale = 1.0f / sqrtf((float)hd);
    for (int h = h0; h < h1; h++) softmax_scaled(p + h * ldp, n, scale);
    for (int u = 0; u < n; u += G) {
        int m = n - u < G ? n - u : G, more = u + G < n;
        const float *next = more ? vc + (size_t)(u + G) * C : kn;
        size_t nb = more ? group_bytes(u + G, n, G, C) : kn ? group_bytes(0, nn, G, C) : 0;
        for (int h = h0; h < h1; h++) {
            if (ahead && next) prefetch_part(next, nb, h, parts);
            wsum_carry(out + h * hd, p + h * ldp + u, vc + u * C + h * hd, C, m, hd, u > 0);
        }
    }
}

void rz_attention_decode(float *out, float *p, size_t ldp, const float *q, const float *kc,
                         const float *vc, int n, int h0, int h1, int NH, int hd,
                         const float *kn, int nn)
{
    attention_decode(out, p, ldp, q, kc, vc, n, h0, h1, NH, hd, kn, nn);
}

void rz_attention_row(float *out, float *p, const float *q, const float *kt, const float *v,
                      size_t ldv, int n, int hd)
{
    attention_row(out, p, q, kt, v, ldv, n, hd);
}

#if defined(__clang__)
#define SHUF2(a, b, ...) __builtin_shufflevector(a, b, __VA_ARGS__)
#else
#define SHUF2(a, b, ...) __builtin_shuffle(a, b, (v8i){__VA_ARGS__})
#endif

/* The 8x8 block of floats at x (rows ldx apart) transposed into eight vectors at t, eight
 * floats apart: three rounds of two-vector shuffles. */
INLINE void transpose8(float *t, const float *x, size_t ldx)
{
    v8 r[8], a[8], b[8];
    for (int j = 0; j < 8; j++) r[j] = load8(x + j * ldx);
    for (int j = 0; j < 8; j += 2) {
        a[j] = SHUF2(r[j], r[j + 1], 0, 8, 1, 9, 2, 10, 3, 11);
        a[j + 1] = SHUF2(r[j], r[j + 1], 4, 12, 5, 13, 6, 14, 7, 15);
    }
    for (int j = 0; j < 8; j += 4) {
        b[j] = SHUF2(a[j], a[j + 2], 0, 1, 8, 9, 2, 3, 10, 11);
        b[j + 1] = SHUF2(a[j], a[j + 2], 4, 5, 12, 13, 6, 7, 14, 15);
        b[j + 2] = SHUF2(a[j + 1], a[j + 3], 0, 1, 8, 9, 2, 3, 10, 11);
        b[j + 3] = SHUF2(a[j + 1], a[j + 3], 4, 5, 12, 13, 6, 7, 14, 15);
    }
    for (int j = 0; j < 4; j++) {
        v8 lo = SHUF2(b[j], b[j + 4], 0, 1, 2, 3, 8, 9, 10, 11);
        v8 hi = SHUF2(b[j], b[j + 4], 4, 5, 6, 7, 12, 13, 14, 15);
        memcpy(t + 16 * j, &lo, sizeof lo);
        memcpy(t + 16 * j + 8, &hi, sizeof hi);
    }
}

/* xt = the n rows of x (d wide, ldx apart) in the transposed tiles dots_t reads, the
 * rows past n up to a multiple of 8 zero. */
INLINE void transpose_tiles(float *xt, const float *x, size_t ldx, int n, int d)
{
    int np = (n + 7) & ~7;
    for (int u0 = 0; u0 < np; u0 += 8) {
        float *t = xt + (size_t)u0 * d;
        int i = 0;
        if (u0 + 8 <= n)
            for (; i + 8 <= d; i += 8) transpose8(t + 8 * i, x + u0 * ldx + i, ldx);
        for (int j = 0; j < 8; j++) {
            int u = u0 + j;
            for (int k = i; k < d; k++) t[8 * k + j] = u < n ? x[u * ldx + k] : 0.0f;
        }
    }
}

/* One workspace of `per` floats for each thread the next parallel region may use. */
static float *thread_ws(size_t per, int *nthreads)
{
    const int nt = rz_max_threads();
    *nthreads = nt;
    return rz_alloc((size_t)nt * per * sizeof(float), "attention workspace", NULL);
}

/* The training attention takes four query rows (or four key columns) at a time, so that
 * each key, value or query row loaded serves four sums: the kernels below are dots_t and
 * wsum for four rows whose lengths differ by one, each element the same computation in
 * the same order as the one-row kernels (the forward stays bit-identical to the decode). */

/* p[0, m) = v's lanes, m clipped to 0..8. */
INLINE void store_clip(float *p, v8 v, int m)
{
    if (m >= 8)
        memcpy(p, &v, sizeof v);
    else if (m > 0)
        store_part(p, v, m);
}

/* Row r < 4 of s (lds apart): dots_t of x's row r (ldx apart) against the first n0 + r
 * keys; entries past each row's length are left alone. */
INLINE void dots4_t(float *s, size_t lds, const float *x, size_t ldx, const float *kt, int n0,
                    int d, size_t tile)
{
    const float *x0 = x, *x1 = x + ldx, *x2 = x + 2 * ldx, *x3 = x + 3 * ldx;
    float *s0 = s, *s1 = s + lds, *s2 = s + 2 * lds, *s3 = s + 3 * lds;
    int n3 = n0 + 3, u = 0;
    for (; u + 8 < n3; u += 16) { /* two tiles: eight chains */
        v8 a0 = {0}, a1 = {0}, a2 = {0}, a3 = {0}, b0 = {0}, b1 = {0}, b2 = {0}, b3 = {0};
        const float *ra = kt + (size_t)(u / 8) * tile, *rb = ra + tile;
        for (int i = 0; i < d; i++) {
            v8 ka = load8(ra + 8 * i), kb = load8(rb + 8 * i), xi;
            xi = splat8(x0[i]), a0 += xi * ka, b0 += xi * kb;
            xi = splat8(x1[i]), a1 += xi * ka, b1 += xi * kb;
            xi = splat8(x2[i]), a2 += xi * ka, b2 += xi * kb;
            xi = splat8(x3[i]), a3 += xi * ka, b3 += xi * kb;
        }
        store_clip(s0 + u, a0, n0 - u), store_clip(s0 + u + 8, b0, n0 - u - 8);
        store_clip(s1 + u, a1, n0 + 1 - u), store_clip(s1 + u + 8, b1, n0 + 1 - u - 8);
        store_clip(s2 + u, a2, n0 + 2 - u), store_clip(s2 + u + 8, b2, n0 + 2 - u - 8);
        store_clip(s3 + u, a3, n3 - u), store_clip(s3 + u + 8, b3, n3 - u - 8);
    }
    if (u < n3) {
        v8 a0 = {0}, a1 = {0}, a2 = {0}, a3 = {0};
        const float *ra = kt + (size_t)(u / 8) * tile;
        for (int i = 0; i < d; i++) {
            v8 ka = load8(ra + 8 * i);
            a0 += splat8(x0[i]) * ka, a1 += splat8(x1[i]) * ka;
            a2 += splat8(x2[i]) * ka, a3 += splat8(x3[i]) * ka;
        }
        store_clip(s0 + u, a0, n0 - u), store_clip(s1 + u, a1, n0 + 1 - u);
        store_clip(s2 + u, a2, n0 + 2 - u), store_clip(s3 + u, a3, n3 - u);
    }
}

/* o[0..32) = (or += when accumulate) the four vectors of a: one output row of a 32-wide
 * tile of wsum4 / wsum4_cols. */
INLINE void store32(float *o, const v8 *a, int accumulate)
{
#pragma GCC unroll 4
    for (int k = 0; k < 4; k++) {
        v8 r = a[k];
        if (accumulate) r += load8(o + 8 * k);
        memcpy(o + 8 * k, &r, sizeof(v8));
    }
}

/* Row r < 4 of out (ldo apart) = (or += when accumulate) wsum of w's row r (ldw apart)
 * over its first n0 + r terms: sum_{u < n0 + r} w[r][u] x[u * ldx + i], i < d. */
INLINE void wsum4(float *out, size_t ldo, const float *w, size_t ldw, const float *x, size_t ldx,
                  int n0, int d, int accumulate)
{
    int i = 0;
    for (; i + 32 <= d; i += 32) {
        v8 a[4][4] = {{{0}}};
        for (int u = 0; u < n0 + 3; u++) {
            const float *r = x + u * ldx + i;
            v8 x0 = load8(r), x1 = load8(r + 8), x2 = load8(r + 16), x3 = load8(r + 24);
#pragma GCC unroll 4
            for (int q = 0; q < 4; q++)
                if (u < n0 + q) { /* always, but for the last three terms */
                    v8 wq = splat8(w[q * ldw + u]);
                    a[q][0] += wq * x0, a[q][1] += wq * x1, a[q][2] += wq * x2, a[q][3] += wq * x3;
                }
        }
#pragma GCC unroll 4
        for (int q = 0; q < 4; q++) store32(out + q * ldo + i, a[q], accumulate);
    }
    for (; i + 8 <= d; i += 8) {
        v8 a[4] = {{0}};
        for (int u = 0; u < n0 + 3; u++) {
            v8 xu = load8(x + u * ldx + i);
#pragma GCC unroll 4
            for (int q = 0; q < 4; q++)
                if (u < n0 + q) a[q] += splat8(w[q * ldw + u]) * xu;
        }
#pragma GCC unroll 4
        for (int q = 0; q < 4; q++) {
            if (accumulate) a[q] += load8(out + q * ldo + i);
            memcpy(out + q * ldo + i, &a[q], sizeof(v8));
        }
    }
    for (int q = 0; q < 4; q++)
        if (i < d) wsum(out + q * ldo + i, w + q * ldw, 1, x + i, ldx, n0 + q, d - i, accumulate);
}

/* Column c < 4 of the lower triangle: out row c (ldo apart) = (or += when accumulate)
 * sum_{c <= t < n} w[t * ldw + c] x[t * ldx + i], i < d, t in order: wsum of the column
 * from its diagonal entry down. n >= 4. */
INLINE void wsum4_cols(float *out, size_t ldo, const float *w, size_t ldw, const float *x,
                       size_t ldx, int n, int d, int accumulate)
{
    int i = 0;
    for (; i + 32 <= d; i += 32) {
        v8 a[4][4] = {{{0}}};
        for (int t = 0; t < n; t++) {
            const float *r = x + t * ldx + i, *wt = w + t * ldw;
            v8 x0 = load8(r), x1 = load8(r + 8), x2 = load8(r + 16), x3 = load8(r + 24);
#pragma GCC unroll 4
            for (int c = 0; c < 4; c++)
                if (c <= t) { /* always, but for the first three rows */
                    v8 wc = splat8(wt[c]);
                    a[c][0] += wc * x0, a[c][1] += wc * x1, a[c][2] += wc * x2, a[c][3] += wc * x3;
                }
        }
#pragma GCC unroll 4
        for (int c = 0; c < 4; c++) store32(out + c * ldo + i, a[c], accumulate);
    }
    for (; i + 8 <= d; i += 8) {
        v8 a[4] = {{0}};
        for (int t = 0; t < n; t++) {
            v8 xt = load8(x + t * ldx + i);
#pragma GCC unroll 4
            for (int c = 0; c < 4; c++)
                if (c <= t) a[c] += splat8(w[t * ldw + c]) * xt;
        }
#pragma GCC unroll 4
        for (int c = 0; c < 4; c++) {
            if (accumulate) a[c] += load8(out + c * ldo + i);
            memcpy(out + c * ldo + i, &a[c], sizeof(v8));
        }
    }
    for (int c = 0; c < 4; c++)
        if (i < d)
            wsum(out + c * ldo + i, w + c * ldw + c, ldw, x + c * ldx + i, ldx, n - c, d - i,
                 accumulate);
}

/* dS = P (dP - sum_u P dP) scale over one row of n entries, in place over dP. */
INLINE void dsoftmax_row(float *d, const float *p, int n, float scale)
{
    int u = 0;
    v8 s8 = {0};
    for (; u + 8 <= n; u += 8) s8 += load8(p + u) * load8(d + u);
    int m = n - u;
    s8 += load_part(p + u, m, 0.0f) * load_part(d + u, m, 0.0f);
    float s = hsum8(s8);
    for (u = 0; u + 8 <= n; u += 8) {
        v8 r = load8(p + u) * (load8(d + u) - s) * scale;
        memcpy(d + u, &r, sizeof r);
    }
    store_part(d + u, load_part(p + u, m, 0.0f) * (load_part(d + u, m, 0.0f) - s) * scale, m);
}

RZ_CLONES static void attention_forward_head(float *out, float *att, const float *q,
                                             const float *k, const float *v, float *kt, int T,
                                             int C, int hd)
{
    transpose_tiles(kt, k, C, T, hd);
    size_t tile = (size_t)8 * hd;
    float scale = 1.0f / sqrtf((float)hd);
    int t = 0;
    for (; t + 4 <= T; t += 4) {
        float *p = att + (size_t)t * T;
        dots4_t(p, T, q + (size_t)t * C, C, kt, t + 1, hd, tile);
        for (int r = 0; r < 4; r++) softmax_scaled(p + (size_t)r * T, t + 1 + r, scale);
        wsum4(out + (size_t)t * C, C, p, T, v, C, t + 1, hd, 0);
    }
    for (; t < T; t++)
        attention_row(out + (size_t)t * C, att + (size_t)t * T, q + (size_t)t * C, kt, v, C, t + 1,
                      hd);
}

int rz_attention_forward(float *out, float *att, const float *q, const float *k, const float *v,
                         int B, int T, int C, int NH)
{
    int hd = C / NH, nt;
    size_t Tp = ((size_t)T + 7) & ~(size_t)7, per = (size_t)hd * Tp;
    float *ws = thread_ws(per, &nt);
    if (!ws) return RZ_ERR_NOMEM;
#pragma omp parallel for collapse(2) schedule(static) num_threads(nt) \
    if((size_t)B * T * T * C / 2 >= RZ_PAR_MIN)
    for (int b = 0; b < B; b++)
        for (int h = 0; h < NH; h++) {
            size_t base = (size_t)b * T * C + (size_t)h * hd;
            attention_forward_head(out + base, att + ((size_t)b * NH + h) * T * T, q + base,
                                   k + base, v + base, ws + (size_t)rz_thread_num() * per, T, C, hd);
        }
    rz_free(ws);
    return RZ_OK;
}

/* One (b, h): row pass for dP, dS and dQ, then a column pass for dK and dV, so every
 * gradient element is one register-held sum in a fixed order. */
RZ_CLONES static void attention_backward_head(float *dq, float *dk, float *dv, const float *dout,
                                              const float *att, const float *q, const float *k,
                                              const float *v, float *ws, int T, int C, int hd,
                                              int acc)
{
    size_t Tp = ((size_t)T + 7) & ~(size_t)7, tile = (size_t)8 * hd;
    float scale = 1.0f / sqrtf((float)hd);
    float *vt = ws, *ds = ws + (size_t)hd * Tp; /* (Tp / 8, hd, 8) tiles, (T, Tp) */
    transpose_tiles(vt, v, C, T, hd);
    int t = 0;
    for (; t + 4 <= T; t += 4) {
        float *d = ds + (size_t)t * Tp;
        dots4_t(d, Tp, dout + (size_t)t * C, C, vt, t + 1, hd, tile); /* dP[t, u] = g_t . v_u */
        for (int r = 0; r < 4; r++)
            dsoftmax_row(d + (size_t)r * Tp, att + (size_t)(t + r) * T, t + 1 + r, scale);
        wsum4(dq + (size_t)t * C, C, d, Tp, k, C, t + 1, hd, acc);
    }
    for (; t < T; t++) {
        float *d = ds + (size_t)t * Tp;
        dots_t(d, dout + (size_t)t * C, vt, t + 1, hd, tile);
        dsoftmax_row(d, att + (size_t)t * T, t + 1, scale);
        wsum(dq + (size_t)t * C, d, 1, k, C, t + 1, hd, acc);
    }
    int u = 0;
    for (; u + 4 <= T; u += 4) {
        wsum4_cols(dk + (size_t)u * C, C, ds + (size_t)u * Tp + u, Tp, q + (size_t)u * C, C, T - u,
                   hd, acc);
        wsum4_cols(dv + (size_t)u * C, C, att + (size_t)u * T + u, T, dout + (size_t)u * C, C,
                   T - u, hd, acc);
    }
    for (; u < T; u++) {
        wsum(dk + (size_t)u * C, ds + (size_t)u * Tp + u, Tp, q + (size_t)u * C, C, T - u, hd, acc);
        wsum(dv + (size_t)u * C, att + (size_t)u * T + u, T, dout + (size_t)u * C, C, T - u, hd,
             acc);
    }
}

static int attention_backward(float *dq, float *dk, float *dv, const float *dout, const float *att,
                              const float *q, const float *k, const float *v, int B, int T, int C,
                              int NH, int acc)
{
    int hd = C / NH, nt;
    size_t Tp = ((size_t)T + 7) & ~(size_t)7, per = (size_t)(hd + T) * Tp;
    float *ws = thread_ws(per, &nt);
    if (!ws) return RZ_ERR_NOMEM;
    /* Each (b, h) touches only its own head slice of dq, dk, dv: no two threads share a row. */
#pragma omp parallel for collapse(2) schedule(static) num_threads(nt) \
    if((size_t)B * T * T * C >= RZ_PAR_MIN)
    for (int b = 0; b < B; b++)
        for (int h = 0; h < NH; h++) {
            size_t base = (size_t)b * T * C + (size_t)h * hd;
            attention_backward_head(dq + base, dk + base, dv + base, dout + base,
                                    att + ((size_t)b * NH + h) * T * T, q + base, k + base,
                                    v + base, ws + (size_t)rz_thread_num() * per, T, C, hd, acc);
        }
    rz_free(ws);
    return RZ_OK;
}

int rz_attention_backward(float *dq, float *dk, float *dv, float *scratch, const float *dout,
                          const float *att, const float *q, const float *k, const float *v, int B,
                          int T, int C, int NH)
{
    (void)scratch; /* the kernels now need (hd + T) x T per thread and allocate it */
    return attention_backward(dq, dk, dv, dout, att, q, k, v, B, T, C, NH, 1);
}

int rz_attention_backward_set(float *dq, float *dk, float *dv, const float *dout, const float *att,
                              const float *q, const float *k, const float *v, int B, int T, int C,
                              int NH)
{
    return attention_backward(dq, dk, dv, dout, att, q, k, v, B, T, C, NH, 0);
}

/* ------------------------------------------------------------------ swiglu */

/* silu(g) = g / (1 + e^-g) with exp8; the tail goes through the same lanes, so an element's
 * bits do not depend on where it falls (decode rows stay batch-invariant). */
RZ_CLONES static void swiglu_fwd(float *out, const float *gate, const float *up, size_t n)
{
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        v8 g = load8(gate + i);
        v8 r = g / (1.0f + exp8(-g)) * load8(up + i);
        memcpy(out + i, &r, sizeof r);
    }
    if (i < n) {
        int m = (int)(n - i);
        v8 g = load_part(gate + i, m, 0.0f);
        store_part(out + i, g / (1.0f + exp8(-g)) * load_part(up + i, m, 0.0f), m);
    }
}

INLINE void swiglu_bwd8(v8 *dg, v8 *du, v8 d, v8 g, v8 u)
{
    v8 s = 1.0f / (1.0f + exp8(-g));
    *dg += d * u * s * (1.0f + g * (1.0f - s));
    *du += d * (g * s);
}

RZ_CLONES static void swiglu_bwd(float *dgate, float *dup, const float *dout, const float *gate,
                                 const float *up, size_t n, int acc)
{
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        v8 dg = {0}, du = {0};
        if (acc) dg = load8(dgate + i), du = load8(dup + i);
        swiglu_bwd8(&dg, &du, load8(dout + i), load8(gate + i), load8(up + i));
        memcpy(dgate + i, &dg, sizeof dg);
        memcpy(dup + i, &du, sizeof du);
    }
    if (i < n) {
        int m = (int)(n - i);
        v8 dg = {0}, du = {0};
        if (acc) dg = load_part(dgate + i, m, 0.0f), du = load_part(dup + i, m, 0.0f);
        swiglu_bwd8(&dg, &du, load_part(dout + i, m, 0.0f), load_part(gate + i, m, 0.0f),
                    load_part(up + i, m, 0.0f));
        store_part(dgate + i, dg, m);
        store_part(dup + i, du, m);
    }
}

void rz_swiglu_forward(float *out, const float *gate, const float *up, size_t n)
{
    enum { CH = 4096 }; /* chunks of whole vectors: the split never moves a lane boundary */
    size_t nch = (n + CH - 1) / CH;
#pragma omp parallel for schedule(static) if(n >= RZ_PAR_MIN)
    for (size_t c = 0; c < nch; c++) {
        size_t i0 = c * CH, i1 = i0 + CH < n ? i0 + CH : n;
        swiglu_fwd(out + i0, gate + i0, up + i0, i1 - i0);
    }
}

static void swiglu_backward(float *dgate, float *dup, const float *dout, const float *gate,
                            const float *up, size_t n, int acc)
{
    enum { CH = 4096 };
    size_t nch = (n + CH - 1) / CH;
#pragma omp parallel for schedule(static) if(n >= RZ_PAR_MIN)
    for (size_t c = 0; c < nch; c++) {
        size_t i0 = c * CH, i1 = i0 + CH < n ? i0 + CH : n;
        swiglu_bwd(dgate + i0, dup + i0, dout + i0, gate + i0, up + i0, i1 - i0, acc);
    }
}

void rz_swiglu_backward(float *dgate, float *dup, const float *dout, const float *gate,
                        const float *up, size_t n)
{
    swiglu_backward(dgate, dup, dout, gate, up, n, 1);
}

void rz_swiglu_backward_set(float *dgate, float *dup, const float *dout, const float *gate,
                            const float *up, size_t n)
{
    swiglu_backward(dgate, dup, dout, gate, up, n, 0);
}
