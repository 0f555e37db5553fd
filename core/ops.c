/* ops.c: layer functions (forward/backward pairs) for the models and the GRPO objective.
 *
 * Determinism: parallel loops only ever split work whose outputs are disjoint (rows, heads,
 * or column blocks for weight-gradient reductions), and every sum runs in a fixed order,
 * so results are bit-identical for any OMP_NUM_THREADS. No float atomics. */
#include <cblas.h>
#include <math.h>
#include <string.h>

#include "ops.h"

/* ------------------------------------------------------------- log-softmax */

void rz_logprob_forward(float *logp, float *entropy, const float *logits, const int *targets,
                        int N, int V)
{
#pragma omp parallel for schedule(static) if((size_t)N * V >= RZ_PAR_MIN)
    for (int n = 0; n < N; n++) {
        const float *row = logits + (size_t)n * V;
        float mx = -INFINITY;
        for (int i = 0; i < V; i++)
            if (row[i] > mx) mx = row[i];
        if (mx == -INFINITY) { /* every action masked: no distribution to speak of */
            logp[n] = -INFINITY;
            if (entropy) entropy[n] = 0.0f;
            continue;
        }
        double sum = 0.0;
        for (int i = 0; i < V; i++) sum += exp((double)row[i] - mx); /* exp(-inf) = 0 */
        double lse = mx + log(sum);
        logp[n] = (float)(row[targets[n]] - lse);
        if (entropy) {
            /* H = -sum p log p; masked entries have p = 0 and contribute 0 (not 0 * -inf) */
            double h = 0.0;
            for (int i = 0; i < V; i++) {
                if (row[i] == -INFINITY) continue;
                double lp = row[i] - lse;
                h -= exp(lp) * lp;
            }
            entropy[n] = (float)h;
        }
    }
}

void rz_logprob_backward(float *dlogits, const float *dlogp, const float *logits,
                         const int *targets, int N, int V)
{
#pragma omp parallel for schedule(static) if((size_t)N * V >= RZ_PAR_MIN)
    for (int n = 0; n < N; n++) {
        const float *row = logits + (size_t)n * V;
        float *drow = dlogits + (size_t)n * V;
        float g = dlogp[n];
        if (g == 0.0f) continue;
        float mx = -INFINITY;
        for (int i = 0; i < V; i++)
            if (row[i] > mx) mx = row[i];
        if (mx == -INFINITY) continue; /* fully masked row: logp is constant -inf */
        double sum = 0.0;
        for (int i = 0; i < V; i++) sum += exp((double)row[i] - mx);
        double lse = mx + log(sum);
        for (int i = 0; i < V; i++) drow[i] -= g * (float)exp(row[i] - lse);
        drow[targets[n]] += g;
    }
}

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

/* The batch-invariant kernel. Every output element is the same computation wherever it
 * falls in a tile: eight lanes accumulate a[i+j] * b[i+j] for i = 0, 8, 16, ... in order,
 * the lanes are combined in a fixed tree, and the tail (n % 8) is added last in order.
 * Tiles of 2 rows x 4 outputs reuse loads; the 1x4 and 1x1 tiles cover the edges.
 * Floating-point contraction stays off under -std=c11, so the AVX2 clone and the
 * baseline SSE clone give the same bits. */
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

INLINE float hsum8(v8 a)
{
    return ((a[0] + a[1]) + (a[2] + a[3])) + ((a[4] + a[5]) + (a[6] + a[7]));
}

INLINE float tail(float s, const float *a, const float *b, int i, int n)
{
    for (; i < n; i++) s += a[i] * b[i];
    return s;
}

INLINE void tile_1x1(float *y, const float *x, const float *w, int n)
{
    v8 acc = {0};
    int i = 0;
    for (; i + 8 <= n; i += 8) acc += load8(x + i) * load8(w + i);
    *y = tail(hsum8(acc), x, w, i, n);
}

INLINE void tile_1x4(float *y, const float *x, const float *w, int ldw, int n)
{
    v8 a0 = {0}, a1 = {0}, a2 = {0}, a3 = {0};
    const float *w0 = w, *w1 = w + ldw, *w2 = w + 2 * (size_t)ldw, *w3 = w + 3 * (size_t)ldw;
    int i = 0;
    for (; i + 8 <= n; i += 8) {
        v8 xv = load8(x + i);
        a0 += xv * load8(w0 + i);
        a1 += xv * load8(w1 + i);
        a2 += xv * load8(w2 + i);
        a3 += xv * load8(w3 + i);
    }
    y[0] = tail(hsum8(a0), x, w0, i, n);
    y[1] = tail(hsum8(a1), x, w1, i, n);
    y[2] = tail(hsum8(a2), x, w2, i, n);
    y[3] = tail(hsum8(a3), x, w3, i, n);
}

INLINE void tile_2x4(float *y, int ldy, const float *x, int ldx, const float *w, int ldw, int n)
{
    v8 a0 = {0}, a1 = {0}, a2 = {0}, a3 = {0}, b0 = {0}, b1 = {0}, b2 = {0}, b3 = {0};
    const float *x0 = x, *x1 = x + ldx;
    const float *w0 = w, *w1 = w + ldw, *w2 = w + 2 * (size_t)ldw, *w3 = w + 3 * (size_t)ldw;
    int i = 0;
    for (; i + 8 <= n; i += 8) {
        v8 u = load8(x0 + i), v = load8(x1 + i), k;
        k = load8(w0 + i), a0 += u * k, b0 += v * k;
        k = load8(w1 + i), a1 += u * k, b1 += v * k;
        k = load8(w2 + i), a2 += u * k, b2 += v * k;
        k = load8(w3 + i), a3 += u * k, b3 += v * k;
    }
    y[0] = tail(hsum8(a0), x0, w0, i, n);
    y[1] = tail(hsum8(a1), x0, w1, i, n);
    y[2] = tail(hsum8(a2), x0, w2, i, n);
    y[3] = tail(hsum8(a3), x0, w3, i, n);
    y[ldy + 0] = tail(hsum8(b0), x1, w0, i, n);
    y[ldy + 1] = tail(hsum8(b1), x1, w1, i, n);
    y[ldy + 2] = tail(hsum8(b2), x1, w2, i, n);
    y[ldy + 3] = tail(hsum8(b3), x1, w3, i, n);
}

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && defined(__linux__)
#define RZ_CLONES __attribute__((target_clones("avx2", "default")))
#else
#define RZ_CLONES
#endif

/* out[:, o0:o1] for every row. */
RZ_CLONES static void matmul_rows_block(float *out, const float *in, const float *w, int N,
                                        int IC, int OC, int o0, int o1)
{
    int n = 0;
    for (; n + 2 <= N; n += 2) {
        const float *x = in + (size_t)n * IC;
        float *y = out + (size_t)n * OC;
        int o = o0;
        for (; o + 4 <= o1; o += 4) tile_2x4(y + o, OC, x, IC, w + (size_t)o * IC, IC, IC);
        for (; o < o1; o++) {
            tile_1x1(y + o, x, w + (size_t)o * IC, IC);
            tile_1x1(y + OC + o, x + IC, w + (size_t)o * IC, IC);
        }
    }
    for (; n < N; n++) {
        const float *x = in + (size_t)n * IC;
        float *y = out + (size_t)n * OC;
        int o = o0;
        for (; o + 4 <= o1; o += 4) tile_1x4(y + o, x, w + (size_t)o * IC, IC, IC);
        for (; o < o1; o++) tile_1x1(y + o, x, w + (size_t)o * IC, IC);
    }
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

void rz_rmsnorm_forward(float *out, float *rstd, const float *x, const float *w, int N, int C,
                        float eps)
{
#pragma omp parallel for schedule(static) if((size_t)N * C >= RZ_PAR_MIN)
    for (int n = 0; n < N; n++) {
        const float *xr = x + (size_t)n * C;
        float *o = out + (size_t)n * C;
        float ss = 0.0f;
        for (int c = 0; c < C; c++) ss += xr[c] * xr[c];
        float r = 1.0f / sqrtf(ss / C + eps);
        rstd[n] = r;
        for (int c = 0; c < C; c++) o[c] = xr[c] * r * w[c];
    }
}

void rz_rmsnorm_backward(float *dx, float *dw, const float *dout, const float *x, const float *w,
                         const float *rstd, int N, int C)
{
    /* dx_j = r w_j dy_j - x_j r^3 / C * sum_i w_i dy_i x_i */
#pragma omp parallel for schedule(static) if((size_t)N * C >= RZ_PAR_MIN)
    for (int n = 0; n < N; n++) {
        const float *xr = x + (size_t)n * C, *g = dout + (size_t)n * C;
        float *d = dx + (size_t)n * C;
        float r = rstd[n];
        float dot = 0.0f;
        for (int c = 0; c < C; c++) dot += w[c] * g[c] * xr[c];
        float k = dot * r * r * r / C;
        for (int c = 0; c < C; c++) d[c] += r * w[c] * g[c] - k * xr[c];
    }
    enum { CB = 16 };
    int nblocks = (C + CB - 1) / CB;
#pragma omp parallel for schedule(static) if((size_t)N * C >= RZ_PAR_MIN)
    for (int blk = 0; blk < nblocks; blk++) {
        int c0 = blk * CB, c1 = c0 + CB < C ? c0 + CB : C;
        for (int n = 0; n < N; n++) {
            const float *xr = x + (size_t)n * C, *g = dout + (size_t)n * C;
            float r = rstd[n];
            for (int c = c0; c < c1; c++) dw[c] += g[c] * xr[c] * r;
        }
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

void rz_rope_forward(float *out, const float *x, const int *pos, const float *cos_t,
                     const float *sin_t, int N, int NH, int hd)
{
    int half = hd / 2, C = NH * hd;
#pragma omp parallel for schedule(static) if((size_t)N * NH * hd >= RZ_PAR_MIN)
    for (int n = 0; n < N; n++) {
        const float *cs = cos_t + (size_t)pos[n] * half, *sn = sin_t + (size_t)pos[n] * half;
        for (int h = 0; h < NH; h++) {
            const float *xi = x + (size_t)n * C + h * hd;
            float *o = out + (size_t)n * C + h * hd;
            for (int i = 0; i < half; i++) {
                float x1 = xi[i], x2 = xi[i + half];
                o[i] = x1 * cs[i] - x2 * sn[i];
                o[i + half] = x2 * cs[i] + x1 * sn[i];
            }
        }
    }
}

void rz_rope_backward(float *dx, const float *dout, const int *pos, const float *cos_t,
                      const float *sin_t, int N, int NH, int hd)
{
    int half = hd / 2, C = NH * hd;
#pragma omp parallel for schedule(static) if((size_t)N * NH * hd >= RZ_PAR_MIN)
    for (int n = 0; n < N; n++) {
        const float *cs = cos_t + (size_t)pos[n] * half, *sn = sin_t + (size_t)pos[n] * half;
        for (int h = 0; h < NH; h++) {
            const float *g = dout + (size_t)n * C + h * hd;
            float *d = dx + (size_t)n * C + h * hd;
            for (int i = 0; i < half; i++) {
                float g1 = g[i], g2 = g[i + half];
                /* read both before writing: dx may alias dout */
                float d1 = g1 * cs[i] + g2 * sn[i];
                float d2 = g2 * cs[i] - g1 * sn[i];
                if (d == g) {
                    d[i] = d1;
                    d[i + half] = d2;
                } else {
                    d[i] += d1;
                    d[i + half] += d2;
                }
            }
        }
    }
}

/* --------------------------------------------------------------- attention */

/* Scores use the same fixed-order lane dot product as rz_matmul_rows; the full forward and
 * the KV-cache decode both come through here, so their attention agrees bit for bit. */
RZ_CLONES static void attention_row(float *out, float *p, const float *q, const float *k,
                                    const float *v, int stride, int n, int hd)
{
    float scale = 1.0f / sqrtf((float)hd);
    float mx = -INFINITY;
    for (int u = 0; u < n; u++) {
        float s;
        tile_1x1(&s, q, k + (size_t)u * stride, hd);
        s *= scale;
        p[u] = s;
        if (s > mx) mx = s;
    }
    float sum = 0.0f;
    for (int u = 0; u < n; u++) {
        p[u] = expf(p[u] - mx);
        sum += p[u];
    }
    float inv = 1.0f / sum;
    for (int u = 0; u < n; u++) p[u] *= inv;
    /* out in chunks of eight kept in a register across all u (elementwise, so the order of
     * each sum is still u = 0, 1, ...) */
    int i = 0;
    for (; i + 8 <= hd; i += 8) {
        v8 acc = {0};
        for (int u = 0; u < n; u++) acc += p[u] * load8(v + (size_t)u * stride + i);
        memcpy(out + i, &acc, sizeof acc);
    }
    for (; i < hd; i++) {
        float acc = 0.0f;
        for (int u = 0; u < n; u++) acc += p[u] * v[(size_t)u * stride + i];
        out[i] = acc;
    }
}

void rz_attention_row(float *out, float *p, const float *q, const float *k, const float *v,
                      int stride, int n, int hd)
{
    attention_row(out, p, q, k, v, stride, n, hd);
}

void rz_attention_forward(float *out, float *att, const float *q, const float *k, const float *v,
                          int B, int T, int C, int NH)
{
    int hd = C / NH;
#pragma omp parallel for collapse(2) schedule(static) if((size_t)B * T * T * C / 2 >= RZ_PAR_MIN)
    for (int b = 0; b < B; b++)
        for (int h = 0; h < NH; h++) {
            size_t base = (size_t)b * T * C + (size_t)h * hd;
            for (int t = 0; t < T; t++) {
                float *p = att + (((size_t)b * NH + h) * T + t) * T;
                rz_attention_row(out + base + (size_t)t * C, p, q + base + (size_t)t * C, k + base,
                                 v + base, C, t + 1, hd);
            }
        }
}

void rz_attention_backward(float *dq, float *dk, float *dv, float *scratch, const float *dout,
                           const float *att, const float *q, const float *k, const float *v, int B,
                           int T, int C, int NH)
{
    int hd = C / NH;
    float scale = 1.0f / sqrtf((float)hd);
    /* Each (b, h) touches only its own head slice of dq, dk, dv: no two threads share a row. */
#pragma omp parallel for collapse(2) schedule(static) if((size_t)B * T * T * C >= RZ_PAR_MIN)
    for (int b = 0; b < B; b++)
        for (int h = 0; h < NH; h++) {
            size_t base = (size_t)b * T * C + (size_t)h * hd;
            float *dp = scratch + ((size_t)b * NH + h) * T;
            for (int t = 0; t < T; t++) {
                const float *p = att + (((size_t)b * NH + h) * T + t) * T;
                const float *g = dout + base + (size_t)t * C;
                const float *qt = q + base + (size_t)t * C;
                float *dqt = dq + base + (size_t)t * C;
                float s = 0.0f;
                for (int u = 0; u <= t; u++) {
                    const float *vu = v + base + (size_t)u * C;
                    float *dvu = dv + base + (size_t)u * C;
                    float d = 0.0f;
                    for (int i = 0; i < hd; i++) {
                        d += g[i] * vu[i];
                        dvu[i] += p[u] * g[i];
                    }
                    dp[u] = d;
                    s += p[u] * d;
                }
                for (int u = 0; u <= t; u++) {
                    float ds = p[u] * (dp[u] - s) * scale;
                    const float *ku = k + base + (size_t)u * C;
                    float *dku = dk + base + (size_t)u * C;
                    for (int i = 0; i < hd; i++) {
                        dqt[i] += ds * ku[i];
                        dku[i] += ds * qt[i];
                    }
                }
            }
        }
}

/* ------------------------------------------------------------------ swiglu */

void rz_swiglu_forward(float *out, const float *gate, const float *up, size_t n)
{
#pragma omp parallel for schedule(static) if(n >= RZ_PAR_MIN)
    for (size_t i = 0; i < n; i++) {
        float g = gate[i];
        out[i] = g / (1.0f + expf(-g)) * up[i];
    }
}

void rz_swiglu_backward(float *dgate, float *dup, const float *dout, const float *gate,
                        const float *up, size_t n)
{
#pragma omp parallel for schedule(static) if(n >= RZ_PAR_MIN)
    for (size_t i = 0; i < n; i++) {
        float g = gate[i];
        float s = 1.0f / (1.0f + expf(-g));
        float silu = g * s;
        dgate[i] += dout[i] * up[i] * s * (1.0f + g * (1.0f - s));
        dup[i] += dout[i] * silu;
    }
}
